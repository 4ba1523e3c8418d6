/*
 * server/cmd-transfer.c: the transfer-* commands a client drives to move a
 * file through the server ("loopsy cp" in client/cp.c, and peers later):
 * transfer-put, MSG_DATA frames and transfer-finish to push; transfer-get to
 * pull; transfer-mkdir for "cp -r"; transfer-status for where a push is.
 * A local push passes its open source with transfer-put -F and the server
 * copies it (no data frames).  A sender that learns the size only at the
 * end (the API's push) gives the most it can be to transfer-put and the
 * size to transfer-finish -s; one that never resumes (the API again) says
 * transfer-put -N, and an unfinished part is removed.  The work is in
 * transfer.c.
 */
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#include "server.h"

static enum cmd_retval	cmd_transfer_put(struct cmd_ctx *);
static enum cmd_retval	cmd_transfer_finish(struct cmd_ctx *);
static enum cmd_retval	cmd_transfer_status(struct cmd_ctx *);
static enum cmd_retval	cmd_transfer_get(struct cmd_ctx *);
static enum cmd_retval	cmd_transfer_mkdir(struct cmd_ctx *);

const struct cmd_def cmd_transfer_put_def = {
	.name = "transfer-put",
	.flags = "FNRk:l:m:M:n:s:S:X:",
	.min_args = 1, .max_args = 1,
	.usage = "[-FNR] [-k key] [-l length] [-m mode] [-M mtime] [-n name] "
	    "[-s size] "
	    "[-S source] [-X offset] path",
	.run = cmd_transfer_put
};

const struct cmd_def cmd_transfer_finish_def = {
	.name = "transfer-finish",
	.flags = "s:",
	.min_args = 1, .max_args = 1,
	.usage = "[-s size] sha256",
	.run = cmd_transfer_finish
};

const struct cmd_def cmd_transfer_status_def = {
	.name = "transfer-status",
	.flags = "w:",
	.min_args = 0, .max_args = 0,
	.usage = "[-w milliseconds]",
	.run = cmd_transfer_status
};

const struct cmd_def cmd_transfer_get_def = {
	.name = "transfer-get",
	.flags = "o:",
	.min_args = 1, .max_args = 1,
	.usage = "[-o offset] path",
	.run = cmd_transfer_get
};

const struct cmd_def cmd_transfer_mkdir_def = {
	.name = "transfer-mkdir",
	.flags = "fm:n:",
	.min_args = 1, .max_args = 1,
	.usage = "[-f] [-m mode] [-n name] path",
	.run = cmd_transfer_mkdir
};

/* -m as octal permission bits. */
static int
cmd_transfer_mode(struct cmd_ctx *ctx, mode_t dflt, mode_t *mode)
{
	const char	*s = args_get(ctx->args, 'm');
	char		*end;
	unsigned long	 v;

	*mode = dflt;
	if (s == NULL)
		return (0);
	v = strtoul(s, &end, 8);
	if (*s == '\0' || *end != '\0' || v > 07777) {
		cmd_error(ctx, "usage", "-m %s: not an octal mode", s);
		return (-1);
	}
	*mode = v;
	return (0);
}

/*
 * The sender reads -S itself, but it reads it as a server command; *resolved
 * is where it is, for the descriptor -F passes to be checked against.
 */
static int
cmd_transfer_source(struct cmd_ctx *ctx, char **resolved)
{
	const char	*src = args_get(ctx->args, 'S');
	char		*cause = NULL;

	*resolved = NULL;
	if (src == NULL)
		return (0);
	if ((*resolved = policy_path_check(src, ctx->cwd, &cause)) == NULL) {
		cmd_error(ctx, "refused", "%s", cause);
		free(cause);
		return (-1);
	}
	return (0);
}

/*
 * -l (copy no more than this now) and -X (flip the byte at this offset of
 * the copy once written) are for tests of resume and of the checksum.
 */
static enum cmd_retval
cmd_transfer_put(struct cmd_ctx *ctx)
{
	struct transfer_file	 f;
	char			*cause = NULL, *source = NULL, *end;
	const char		*s;
	enum cmd_retval		 rv = CMD_USAGE;

	if (transfer_rate(ctx) != 0 || cmd_transfer_source(ctx, &source) != 0) {
		if (args_has(ctx->args, 'F'))
			transfer_drop_descriptor(ctx->c);
		return (CMD_ERROR);
	}
	f.path = ctx->args->argv[0];
	f.name = args_get(ctx->args, 'n');
	f.key = args_get(ctx->args, 'k') != NULL ? args_get(ctx->args, 'k') :
	    "";
	f.restart = args_has(ctx->args, 'R');
	f.noresume = args_has(ctx->args, 'N');
	f.local = args_has(ctx->args, 'F');
	f.source = source;
	f.size = args_number(ctx->args, 's', 0, 0, (1LL << 62), &cause);
	if (cause == NULL)
		f.limit = args_number(ctx->args, 'l', 0, 0, (1LL << 62),
		    &cause);
	if (cause == NULL)
		f.corrupt = args_number(ctx->args, 'X', -1, -1, (1LL << 62),
		    &cause);
	if (cause != NULL) {
		cmd_error(ctx, "usage", "%s", cause);
		free(cause);
		goto out;
	}
	if (cmd_transfer_mode(ctx, 0644, &f.mode) != 0)
		goto out;
	f.mtime.tv_sec = 0;
	f.mtime.tv_nsec = UTIME_OMIT;
	if ((s = args_get(ctx->args, 'M')) != NULL) {
		/* SECONDS[.NANOSECONDS], as cp sends the source's. */
		errno = 0;
		f.mtime.tv_sec = strtoll(s, &end, 10);
		f.mtime.tv_nsec = 0;
		if (*end == '.')
			f.mtime.tv_nsec = strtol(end + 1, &end, 10);
		if (errno != 0 || end == s || *end != '\0' ||
		    f.mtime.tv_nsec < 0 || f.mtime.tv_nsec > 999999999) {
			cmd_error(ctx, "usage", "-M %s: not SECONDS.NANOSECONDS",
			    s);
			rv = CMD_USAGE;
			goto out;
		}
	}
	rv = transfer_put(ctx, &f);
out:
	if (rv == CMD_USAGE && f.local)
		transfer_drop_descriptor(ctx->c);
	free(source);
	return (rv);
}

/* -s: the size, if the sender learned it only at the end. */
static enum cmd_retval
cmd_transfer_finish(struct cmd_ctx *ctx)
{
	char		*cause = NULL;
	long long	 size;

	size = args_number(ctx->args, 's', -1, 0, (1LL << 62), &cause);
	if (cause != NULL) {
		cmd_error(ctx, "usage", "%s", cause);
		free(cause);
		return (CMD_USAGE);
	}
	return (transfer_finish(ctx, ctx->args->argv[0], size));
}

static enum cmd_retval
cmd_transfer_status(struct cmd_ctx *ctx)
{
	char		*cause = NULL;
	long long	 ms;

	ms = args_number(ctx->args, 'w', -1, 0, INT_MAX, &cause);
	if (cause != NULL) {
		cmd_error(ctx, "usage", "%s", cause);
		free(cause);
		return (CMD_USAGE);
	}
	return (transfer_status(ctx, ms));
}

static enum cmd_retval
cmd_transfer_get(struct cmd_ctx *ctx)
{
	char		*cause = NULL;
	long long	 offset;

	if (transfer_rate(ctx) != 0)
		return (CMD_ERROR);
	offset = args_number(ctx->args, 'o', 0, 0, (1LL << 62), &cause);
	if (cause != NULL) {
		cmd_error(ctx, "usage", "%s", cause);
		free(cause);
		return (CMD_USAGE);
	}
	return (transfer_get(ctx, ctx->args->argv[0], offset));
}

static enum cmd_retval
cmd_transfer_mkdir(struct cmd_ctx *ctx)
{
	mode_t	 mode;

	if (transfer_rate(ctx) != 0)
		return (CMD_ERROR);
	if (cmd_transfer_mode(ctx, 0755, &mode) != 0)
		return (CMD_USAGE);
	return (transfer_mkdir(ctx, ctx->args->argv[0],
	    args_get(ctx->args, 'n'), mode, args_has(ctx->args, 'f')));
}

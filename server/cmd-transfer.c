/*
 * server/cmd-transfer.c: the transfer-* commands a client drives to move a
 * file through the server ("loopsy cp" in client/cp.c, and peers later):
 * transfer-put, MSG_DATA frames and transfer-finish to push; transfer-get to
 * pull; transfer-mkdir for "cp -r"; transfer-status for where a push is.
 * The work is in transfer.c.
 */
#include <stdlib.h>

#include "server.h"

static enum cmd_retval	cmd_transfer_put(struct cmd_ctx *);
static enum cmd_retval	cmd_transfer_finish(struct cmd_ctx *);
static enum cmd_retval	cmd_transfer_status(struct cmd_ctx *);
static enum cmd_retval	cmd_transfer_get(struct cmd_ctx *);
static enum cmd_retval	cmd_transfer_mkdir(struct cmd_ctx *);

const struct cmd_def cmd_transfer_put_def = {
	.name = "transfer-put",
	.flags = "Rk:m:n:s:S:",
	.min_args = 1, .max_args = 1,
	.usage = "[-R] [-k key] [-m mode] [-n name] [-s size] [-S source] "
	    "path",
	.run = cmd_transfer_put
};

const struct cmd_def cmd_transfer_finish_def = {
	.name = "transfer-finish",
	.flags = "",
	.min_args = 1, .max_args = 1,
	.usage = "sha256",
	.run = cmd_transfer_finish
};

const struct cmd_def cmd_transfer_status_def = {
	.name = "transfer-status",
	.flags = "",
	.min_args = 0, .max_args = 0,
	.usage = "",
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

/* The sender reads -S itself, but it reads it as a server command. */
static int
cmd_transfer_source(struct cmd_ctx *ctx)
{
	const char	*src = args_get(ctx->args, 'S');
	char		*resolved, *cause = NULL;

	if (src == NULL)
		return (0);
	if ((resolved = policy_path_check(src, ctx->cwd, &cause)) == NULL) {
		cmd_error(ctx, "refused", "%s", cause);
		free(cause);
		return (-1);
	}
	free(resolved);
	return (0);
}

static enum cmd_retval
cmd_transfer_put(struct cmd_ctx *ctx)
{
	struct transfer_file	 f;
	char			*cause = NULL;

	if (transfer_rate(ctx) != 0 || cmd_transfer_source(ctx) != 0)
		return (CMD_ERROR);
	f.path = ctx->args->argv[0];
	f.name = args_get(ctx->args, 'n');
	f.key = args_get(ctx->args, 'k') != NULL ? args_get(ctx->args, 'k') :
	    "";
	f.restart = args_has(ctx->args, 'R');
	f.size = args_number(ctx->args, 's', 0, 0, (1LL << 62), &cause);
	if (cause != NULL) {
		cmd_error(ctx, "usage", "%s", cause);
		free(cause);
		return (CMD_USAGE);
	}
	if (cmd_transfer_mode(ctx, 0644, &f.mode) != 0)
		return (CMD_USAGE);
	return (transfer_put(ctx, &f));
}

static enum cmd_retval
cmd_transfer_finish(struct cmd_ctx *ctx)
{
	return (transfer_finish(ctx, ctx->args->argv[0]));
}

static enum cmd_retval
cmd_transfer_status(struct cmd_ctx *ctx)
{
	return (transfer_status(ctx));
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

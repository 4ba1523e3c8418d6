/*
 * server/cmd-context-set.c: set a key of the context store, with an optional
 * TTL.  A value of "-" is read from standard input by the client (argv
 * cannot carry 1 MiB) and sent in its place.  Keys and values are UTF-8
 * text, checked here, which every way in (CLI, peers, MCP, HTTP) goes
 * through: so --json output and context.json are always valid JSON.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server.h"

static enum cmd_retval	cmd_context_set(struct cmd_ctx *);

const struct cmd_def cmd_context_set_def = {
	.name = "context-set",
	.flags = "t:",
	.longs = "ttl:",
	.min_args = 2, .max_args = -1,
	.usage = "[-t host] [--ttl seconds] key value|-",
	.start_server = 1,
	.client_words = 1,
	.rate = RATE_CONTEXT,
	.run = cmd_context_set
};

/* 0 if key and value are UTF-8 text; else -1 with ctx's error set. */
static int
cmd_context_set_text(struct cmd_ctx *ctx, const char *key, const char *value)
{
	size_t	 bad;
	char	*s;

	if (!utf8_valid(key, strlen(key), &bad)) {
		s = utf8_escape(key);
		cmd_error(ctx, "usage", "key %s is not UTF-8 (byte 0x%02x at "
		    "offset %zu): keys are UTF-8 text", s, (u_char)key[bad],
		    bad);
		free(s);
		return (-1);
	}
	if (!utf8_valid(value, strlen(value), &bad)) {
		s = utf8_escape(key);
		cmd_error(ctx, "usage", "value for %s is not UTF-8 (byte 0x%02x "
		    "at offset %zu): values are UTF-8 text", s,
		    (u_char)value[bad], bad);
		free(s);
		return (-1);
	}
	return (0);
}

static enum cmd_retval
cmd_context_set(struct cmd_ctx *ctx)
{
	const char	*key, *value, *ttl_s;
	char		*cause = NULL, *end;
	long long	 ttl = 0;

	if (msg_args_tail(ctx, 2) != 0)
		return (CMD_USAGE);
	key = ctx->args->argv[0];	/* after a "--" between them went */
	value = ctx->args->argv[1];
	ttl_s = args_get_long(ctx->args, "ttl");
	free(ctx->audit_target);
	ctx->audit_target = xstrdup(key);	/* the key, never the value */
	if (msg_check_host(ctx, args_get(ctx->args, 't')) != 0)
		return (CMD_ERROR);
	if (ttl_s != NULL) {
		errno = 0;
		ttl = strtoll(ttl_s, &end, 10);
		if (*ttl_s == '\0' || *end != '\0' || errno != 0 || ttl < 1 ||
		    ttl > CONTEXT_MAX_TTL) {
			cmd_error(ctx, "usage", "--ttl %s: not a number of "
			    "seconds from 1 to %d", ttl_s, CONTEXT_MAX_TTL);
			return (CMD_USAGE);
		}
	}
	if (cmd_context_set_text(ctx, key, value) != 0)
		return (CMD_ERROR);
	if (context_check(key, strlen(value), &cause) != 0) {
		cmd_error(ctx, "limit", "%s", cause);
		free(cause);
		return (CMD_ERROR);
	}
	if (context_set(key, value, strlen(value), ttl, &cause) != 0) {
		cmd_error(ctx, "io", "%s", cause);
		free(cause);
		return (CMD_ERROR);
	}
	return (CMD_OK);
}

/*
 * In the client: "context set key -" reads the value from standard input
 * and puts it in argv; more than the limit is refused here, before it is
 * sent.  Returns 0 (argv possibly changed) or -1 with *cause.
 */
int
context_client_argv(const struct cmd_def *def, int argc, char **argv,
    char **cause)
{
	const struct cmd_def	*d;
	struct args		*args;
	struct buf		 b;
	char			*why = NULL, tmp[65536];
	size_t			 n;
	int			 i, dash, words;

	if (strcmp(def->name, "context-set") != 0)
		return (0);
	if ((words = cmd_lookup(argc, argv, &d, &why)) == 0) {
		free(why);
		return (0);
	}
	args = args_parse(def->flags, def->longs, argc - words, argv + words,
	    &why);
	dash = args != NULL && args->argc >= 2 &&
	    strcmp(args->argv[1], "-") == 0;
	args_free(args);
	free(why);
	if (!dash)
		return (0);
	buf_init(&b);
	while (b.len <= CONTEXT_MAX_VALUE &&
	    (n = fread(tmp, 1, sizeof tmp, stdin)) > 0)
		buf_add(&b, tmp, n);
	if (ferror(stdin)) {
		xasprintf(cause, "cannot read the value from standard input: "
		    "%s", strerror(errno));
		buf_free(&b);
		return (-1);
	}
	if (b.len > CONTEXT_MAX_VALUE) {
		xasprintf(cause, "value too large: more than %u bytes on "
		    "standard input (the limit is %u bytes, 1 MiB)",
		    CONTEXT_MAX_VALUE, CONTEXT_MAX_VALUE);
		buf_free(&b);
		return (-1);
	}
	if (b.len != 0 && memchr(b.data, '\0', b.len) != NULL) {
		xasprintf(cause, "the value on standard input holds a NUL "
		    "byte: values are text");
		buf_free(&b);
		return (-1);
	}
	buf_add(&b, "", 1);
	for (i = argc - 1; i > 0; i--) {
		if (strcmp(argv[i], "-") == 0) {
			argv[i] = b.data;	/* lives until exit */
			break;
		}
	}
	return (0);
}

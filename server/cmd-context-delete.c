/* server/cmd-context-delete.c: remove one key from the context store. */

#include <stdlib.h>

#include "server.h"

static enum cmd_retval	cmd_context_delete(struct cmd_ctx *);

const struct cmd_def cmd_context_delete_def = {
	.name = "context-delete",
	.flags = "t:",
	.longs = "",
	.min_args = 1, .max_args = -1,
	.usage = "[-t host] key",
	.start_server = 1,
	.client_words = 1,
	.rate = RATE_CONTEXT,
	.run = cmd_context_delete
};

static enum cmd_retval
cmd_context_delete(struct cmd_ctx *ctx)
{
	const char	*key = ctx->args->argv[0];
	char		*cause = NULL;

	if (msg_args_tail(ctx, 1) != 0)
		return (CMD_USAGE);
	free(ctx->audit_target);
	ctx->audit_target = xstrdup(key);
	if (msg_check_host(ctx, args_get(ctx->args, 't')) != 0)
		return (CMD_ERROR);
	context_purge();
	switch (context_delete(key, &cause)) {
	case 0:
		return (CMD_OK);
	case 1:
		cmd_error(ctx, "no-key", "no such key: %s", key);
		return (CMD_ERROR);
	default:
		cmd_error(ctx, "io", "%s", cause);
		free(cause);
		return (CMD_ERROR);
	}
}

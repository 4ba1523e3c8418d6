/* server/cmd-copy-mode.c: scroll back through a session's history (-u: a page up). */

#include "server.h"

static enum cmd_retval	cmd_copy_mode(struct cmd_ctx *);

const struct cmd_def cmd_copy_mode_def = {
	.name = "copy-mode",
	.alias = NULL,
	.flags = "u",
	.longs = "",
	.min_args = 0, .max_args = 0,
	.usage = "[-u]",
	.run = cmd_copy_mode
};

static enum cmd_retval
cmd_copy_mode(struct cmd_ctx *ctx)
{
	struct client	*c = cmd_current_client(ctx);

	if (c == NULL) {
		cmd_error(ctx, "no-client", "no current client");
		return (CMD_ERROR);
	}
	mode_copy_enter(c, args_has(ctx->args, 'u'));
	return (CMD_OK);
}

/* server/cmd-has-session.c: exit 0 if a session exists, 1 if not. */

#include "server.h"

static enum cmd_retval	cmd_has_session(struct cmd_ctx *);

const struct cmd_def cmd_has_session_def = {
	.name = "has-session",
	.alias = "has",
	.flags = "t:",
	.longs = "",
	.min_args = 0, .max_args = 0,
	.usage = "[-t target-session]",
	.run = cmd_has_session
};

static enum cmd_retval
cmd_has_session(struct cmd_ctx *ctx)
{
	if (cmd_find_session(ctx, args_get(ctx->args, 't'), 0) == NULL)
		return (CMD_ERROR);
	return (CMD_OK);
}

/* server/cmd-send-prefix.c: type the prefix key itself into the session. */

#include "server.h"

static enum cmd_retval	cmd_send_prefix(struct cmd_ctx *);

const struct cmd_def cmd_send_prefix_def = {
	.name = "send-prefix",
	.alias = NULL,
	.flags = "t:",
	.longs = "",
	.min_args = 0, .max_args = 0,
	.usage = "[-t target-session]",
	.run = cmd_send_prefix
};

static enum cmd_retval
cmd_send_prefix(struct cmd_ctx *ctx)
{
	struct session	*s;

	if ((s = cmd_find_live_session(ctx, args_get(ctx->args, 't'))) == NULL)
		return (CMD_ERROR);
	screen_key(s->screen, config.prefix);
	return (CMD_OK);
}

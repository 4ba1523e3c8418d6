/* server/cmd-choose-session.c: pick a session from a list with a live preview. */

#include "server.h"

static enum cmd_retval	cmd_choose_session(struct cmd_ctx *);

const struct cmd_def cmd_choose_session_def = {
	.name = "choose-session",
	.alias = "choose-tree",
	.flags = "",
	.longs = "",
	.min_args = 0, .max_args = 0,
	.usage = "",
	.run = cmd_choose_session
};

static enum cmd_retval
cmd_choose_session(struct cmd_ctx *ctx)
{
	struct client	*c = cmd_current_client(ctx);

	if (c == NULL) {
		cmd_error(ctx, "no-client", "no current client");
		return (CMD_ERROR);
	}
	mode_choose_enter(c);
	return (CMD_OK);
}

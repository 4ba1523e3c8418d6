/* server/cmd-refresh-client.c: redraw an attached client from scratch. */

#include "server.h"

static enum cmd_retval	cmd_refresh_client(struct cmd_ctx *);

const struct cmd_def cmd_refresh_client_def = {
	.name = "refresh-client",
	.alias = "refresh",
	.flags = "",
	.longs = "",
	.min_args = 0, .max_args = 0,
	.usage = "",
	.run = cmd_refresh_client
};

static enum cmd_retval
cmd_refresh_client(struct cmd_ctx *ctx)
{
	struct client	*c = cmd_current_client(ctx);

	if (c == NULL) {
		cmd_error(ctx, "no-client", "no current client");
		return (CMD_ERROR);
	}
	server_client_redraw(c);
	return (CMD_OK);
}

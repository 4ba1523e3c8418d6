/* server/cmd-kill-server.c: end every session and stop the server. */

#include "server.h"

static enum cmd_retval	cmd_kill_server(struct cmd_ctx *);

const struct cmd_def cmd_kill_server_def = {
	.name = "kill-server",
	.alias = "stop",
	.flags = "",
	.longs = "",
	.min_args = 0, .max_args = 0,
	.usage = "",
	.run = cmd_kill_server,
	.local_only = 1
};

static enum cmd_retval
cmd_kill_server(struct cmd_ctx *ctx __unused)
{
	server_shutdown("server exited");
	return (CMD_OK);
}

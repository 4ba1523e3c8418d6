/*
 * server/cmd-start.c: make sure a server runs and keeps running with no
 * sessions.  The client forks it (or runs it in the foreground with -F).
 * --lan records that the peer listener binds 0.0.0.0 for this run.
 */
#include "server.h"

static enum cmd_retval	cmd_start(struct cmd_ctx *);

const struct cmd_def cmd_start_def = {
	.name = "start",
	.alias = "start-server",
	.flags = "F",
	.longs = "lan",
	.min_args = 0, .max_args = 0,
	.usage = "[--lan] [-F]",
	.start_server = 1,
	.run = cmd_start,
	.local_only = 1
};

static enum cmd_retval
cmd_start(struct cmd_ctx *ctx)
{
	server_exit_when_empty = 0;
	if (args_has_long(ctx->args, "lan"))
		server_lan = 1;
	return (CMD_OK);
}

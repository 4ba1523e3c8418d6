/*
 * server/cmd-start.c: make sure a server runs and keeps running with no
 * sessions.  The client forks it (or runs it in the foreground with -F).
 * --lan binds the peer listener to 0.0.0.0 for this run: the client sets
 * server_lan before the server starts, so a server already running without
 * it refuses --lan rather than claim a bind it does not have.
 */
#include <unistd.h>

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
	if (args_has_long(ctx->args, "lan") && !server_lan) {
		cmd_error(ctx, "start", "server already running (pid %ld); "
		    "--lan takes effect only when the server starts: stop it "
		    "first", (long)getpid());
		return (CMD_ERROR);
	}
	server_exit_when_empty = 0;
	return (CMD_OK);
}

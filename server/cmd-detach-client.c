/* server/cmd-detach-client.c: detach a client, or every client of a session. */

#include "server.h"

static enum cmd_retval	cmd_detach_client(struct cmd_ctx *);

const struct cmd_def cmd_detach_client_def = {
	.name = "detach-client",
	.alias = "detach",
	.flags = "as:",
	.longs = "",
	.min_args = 0, .max_args = 0,
	.usage = "[-a] [-s target-session]",
	.run = cmd_detach_client
};

static enum cmd_retval
cmd_detach_client(struct cmd_ctx *ctx)
{
	struct client	*c, *c1, *current;
	struct session	*s;

	if (args_has(ctx->args, 's')) {
		s = cmd_find_session(ctx, args_get(ctx->args, 's'), 0);
		if (s == NULL)
			return (CMD_ERROR);
		TAILQ_FOREACH_SAFE(c, &clients, entry, c1) {
			if (c->session == s)
				server_client_detach(c, "detached");
		}
		return (CMD_OK);
	}
	if ((current = cmd_current_client(ctx)) == NULL) {
		cmd_error(ctx, "no-client", "no current client");
		return (CMD_ERROR);
	}
	if (args_has(ctx->args, 'a')) {
		TAILQ_FOREACH_SAFE(c, &clients, entry, c1) {
			if (c != current && (c->flags & CLIENT_ATTACHED))
				server_client_detach(c, "detached");
		}
		return (CMD_OK);
	}
	server_client_detach(current, "detached");
	return (CMD_OK);
}

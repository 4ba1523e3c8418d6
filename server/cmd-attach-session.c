/* server/cmd-attach-session.c: attach the asking terminal to a session. */

#include <stdlib.h>

#include "server.h"

static enum cmd_retval	cmd_attach_session(struct cmd_ctx *);

const struct cmd_def cmd_attach_session_def = {
	.name = "attach-session",
	.alias = "attach",
	.flags = "drt:",
	.longs = "",
	.min_args = 0, .max_args = 0,
	.usage = "[-dr] [-t target-session]",
	.run = cmd_attach_session
};

static enum cmd_retval
cmd_attach_session(struct cmd_ctx *ctx)
{
	struct session	*s;
	struct client	*c;
	char		*why;

	if ((s = cmd_find_session(ctx, args_get(ctx->args, 't'), 0)) == NULL)
		return (CMD_ERROR);
	if (s->dead) {
		why = session_status_string(s);
		cmd_error(ctx, "session-ended", "session %s has ended (%s)",
		    s->name, why);
		free(why);
		return (CMD_ERROR);
	}
	if (ctx->attached != NULL) {
		server_client_switch(ctx->attached, s);
		return (CMD_OK);
	}
	if (ctx->c == NULL || !ctx->has_tty) {
		cmd_error(ctx, "no-terminal", "attach-session: not a terminal");
		return (CMD_ERROR);
	}
	if (args_has(ctx->args, 'd')) {
		TAILQ_FOREACH(c, &clients, entry) {
			if (c->session == s && c != ctx->c)
				server_client_detach(c, "detached by another "
				    "client");
		}
	}
	if (args_has(ctx->args, 'r'))
		ctx->c->flags |= CLIENT_READONLY;
	server_client_attach(ctx->c, s);
	return (CMD_ATTACH);
}

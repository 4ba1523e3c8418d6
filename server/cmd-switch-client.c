/* server/cmd-switch-client.c: show another session in an attached client. */

#include "server.h"

static enum cmd_retval	cmd_switch_client(struct cmd_ctx *);

const struct cmd_def cmd_switch_client_def = {
	.name = "switch-client",
	.alias = "switchc",
	.flags = "lnpt:",
	.longs = "",
	.min_args = 0, .max_args = 0,
	.usage = "[-lnp] [-t target-session]",
	.run = cmd_switch_client
};

/* The next or previous session that is still running. */
static struct session *
cmd_switch_client_step(struct session *from, int next)
{
	struct session	*s = from;

	do {
		s = next ? session_next(s) : session_previous(s);
	} while (s != from && s->dead);
	return (s);
}

static enum cmd_retval
cmd_switch_client(struct cmd_ctx *ctx)
{
	struct client	*c;
	struct session	*s;

	if ((c = cmd_current_client(ctx)) == NULL) {
		cmd_error(ctx, "no-client", "no current client");
		return (CMD_ERROR);
	}
	if (args_has(ctx->args, 'n'))
		s = cmd_switch_client_step(c->session, 1);
	else if (args_has(ctx->args, 'p'))
		s = cmd_switch_client_step(c->session, 0);
	else if (args_has(ctx->args, 'l')) {
		if ((s = c->last_session) == NULL) {
			cmd_error(ctx, "no-session", "no last session");
			return (CMD_ERROR);
		}
	} else if ((s = cmd_find_session(ctx, args_get(ctx->args, 't'),
	    0)) == NULL)
		return (CMD_ERROR);
	if (s->dead) {
		cmd_error(ctx, "session-ended", "session %s has ended",
		    s->name);
		return (CMD_ERROR);
	}
	server_client_switch(c, s);
	return (CMD_OK);
}

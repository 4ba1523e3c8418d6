/* server/cmd-kill-session.c: end a session (or all others with -a). */

#include "server.h"

static enum cmd_retval	cmd_kill_session(struct cmd_ctx *);

const struct cmd_def cmd_kill_session_def = {
	.name = "kill-session",
	.alias = NULL,
	.flags = "at:",
	.longs = "",
	.min_args = 0, .max_args = 0,
	.usage = "[-a] [-t target-session]",
	.run = cmd_kill_session
};

static enum cmd_retval
cmd_kill_session(struct cmd_ctx *ctx)
{
	struct session	*s, *s1, *keep;

	if ((keep = cmd_find_session(ctx, args_get(ctx->args, 't'), 0)) == NULL)
		return (CMD_ERROR);
	if (!args_has(ctx->args, 'a')) {
		session_destroy(keep);
		return (CMD_OK);
	}
	TAILQ_FOREACH_SAFE(s, &sessions, entry, s1) {
		if (s != keep)
			session_destroy(s);
	}
	return (CMD_OK);
}

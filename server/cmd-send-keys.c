/*
 * server/cmd-send-keys.c: type keys into a session as if from a keyboard:
 * tmux key names ("Enter", "C-c", "Up") or, with -l, literal text.
 */
#include <stdlib.h>
#include <string.h>

#include "server.h"

static enum cmd_retval	cmd_send_keys(struct cmd_ctx *);

const struct cmd_def cmd_send_keys_def = {
	.name = "send-keys",
	.alias = "send",
	.flags = "lt:",
	.longs = "",
	.min_args = 0, .max_args = -1,
	.usage = "[-l] [-t target-session] key ...",
	.run = cmd_send_keys
};

/* A live session for commands that need a running program. */
struct session *
cmd_find_live_session(struct cmd_ctx *ctx, const char *target)
{
	struct session	*s;
	char		*why;

	if ((s = cmd_find_session(ctx, target, 0)) == NULL)
		return (NULL);
	if (s->dead) {
		why = session_status_string(s);
		cmd_error(ctx, "session-ended", "session %s has ended (%s)",
		    s->name, why);
		free(why);
		return (NULL);
	}
	return (s);
}

static enum cmd_retval
cmd_send_keys(struct cmd_ctx *ctx)
{
	struct args	*a = ctx->args;
	struct session	*s;
	key_code	 key;
	int		 i;

	if ((s = cmd_find_live_session(ctx, args_get(a, 't'))) == NULL)
		return (CMD_ERROR);
	for (i = 0; i < a->argc; i++) {
		if (args_has(a, 'l') ||
		    (key = key_from_string(a->argv[i])) == KEYC_NONE) {
			session_write(s, a->argv[i], strlen(a->argv[i]));
			continue;
		}
		screen_key(s->screen, key);
	}
	s->input_ms = now_ms();
	return (CMD_OK);
}

/* server/cmd-resize-window.c: fix a session's size, or (-A) let clients size it. */

#include <stdlib.h>

#include "server.h"

static enum cmd_retval	cmd_resize_window(struct cmd_ctx *);

const struct cmd_def cmd_resize_window_def = {
	.name = "resize-window",
	.alias = "resizew",
	.flags = "At:x:y:",
	.longs = "",
	.min_args = 0, .max_args = 0,
	.usage = "[-A] [-t target-session] [-x width] [-y height]",
	.run = cmd_resize_window
};

static enum cmd_retval
cmd_resize_window(struct cmd_ctx *ctx)
{
	struct session	*s;
	char		*cause = NULL;
	long long	 x, y;

	if ((s = cmd_find_session(ctx, args_get(ctx->args, 't'), 0)) == NULL)
		return (CMD_ERROR);
	if (args_has(ctx->args, 'A')) {
		s->manual_cols = s->manual_rows = 0;
		session_update_size(s);
		return (CMD_OK);
	}
	x = args_number(ctx->args, 'x', screen_cols(s->screen), 1,
	    SCREEN_MAX_SIZE,
	    &cause);
	if (cause == NULL)
		y = args_number(ctx->args, 'y', screen_rows(s->screen), 1,
		    SCREEN_MAX_SIZE, &cause);
	if (cause != NULL) {
		cmd_error(ctx, "usage", "resize-window: %s", cause);
		free(cause);
		return (CMD_USAGE);
	}
	s->manual_cols = x;
	s->manual_rows = y;
	session_update_size(s);
	return (CMD_OK);
}

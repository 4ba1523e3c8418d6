/*
 * server/cmd-capture-pane.c: print a session's screen, or a range of it and
 * its scrollback, as text (-e keeps colours, -J joins wrapped lines).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "server.h"

static enum cmd_retval	cmd_capture_pane(struct cmd_ctx *);

const struct cmd_def cmd_capture_pane_def = {
	.name = "capture-pane",
	.alias = "capturep",
	.flags = "eJpNS:E:t:",
	.longs = "json",
	.min_args = 0, .max_args = 0,
	.usage = "[-eJp] [-S start-line] [-E end-line] [-t target-session] "
	    "[--json]",
	.run = cmd_capture_pane
};

static int
cmd_capture_pane_line(struct cmd_ctx *ctx, char flag, int dflt, int dash,
    int *out)
{
	const char	*s = args_get(ctx->args, flag);
	char		*end;
	long		 v;

	*out = dflt;
	if (s == NULL)
		return (0);
	if (strcmp(s, "-") == 0) {
		*out = dash;
		return (0);
	}
	errno = 0;
	v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || v < -100000000 ||
	    v > 100000000) {
		cmd_error(ctx, "usage", "capture-pane: -%c %s: not a line "
		    "number", flag, s);
		return (-1);
	}
	*out = v;
	return (0);
}

static enum cmd_retval
cmd_capture_pane(struct cmd_ctx *ctx)
{
	struct session	*s;
	struct buf	 text;
	int		 start, end, flags = 0;
	u_int		 cx, cy;
	cJSON		*j;

	if ((s = cmd_find_session(ctx, args_get(ctx->args, 't'), 0)) == NULL)
		return (CMD_ERROR);
	if (cmd_capture_pane_line(ctx, 'S', 0, CAPTURE_START_HISTORY,
	    &start) != 0 || cmd_capture_pane_line(ctx, 'E',
	    screen_rows(s->screen) - 1, CAPTURE_END_VISIBLE, &end) != 0)
		return (CMD_USAGE);
	if (args_has(ctx->args, 'e'))
		flags |= CAPTURE_ESCAPES;
	if (args_has(ctx->args, 'J'))
		flags |= CAPTURE_JOIN;
	if (!args_has_long(ctx->args, "json")) {
		screen_capture(s->screen, start, end, flags, &ctx->out);
		return (CMD_OK);
	}
	buf_init(&text);
	screen_capture(s->screen, start, end, flags, &text);
	buf_add(&text, "", 1);
	screen_cursor(s->screen, &cx, &cy);
	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "session", s->name);
	cJSON_AddStringToObject(j, "text", text.data);
	cJSON_AddNumberToObject(j, "width", screen_cols(s->screen));
	cJSON_AddNumberToObject(j, "height", screen_rows(s->screen));
	cJSON_AddNumberToObject(j, "cursor_x", cx);
	cJSON_AddNumberToObject(j, "cursor_y", cy);
	cJSON_AddNumberToObject(j, "history", screen_history_size(s->screen));
	cmd_print_json(ctx, j);
	buf_free(&text);
	return (CMD_OK);
}

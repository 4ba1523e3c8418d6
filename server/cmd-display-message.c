/* server/cmd-display-message.c: expand a format; print it (-p) or show it. */

#include <stdlib.h>

#include "server.h"

static enum cmd_retval	cmd_display_message(struct cmd_ctx *);

const struct cmd_def cmd_display_message_def = {
	.name = "display-message",
	.alias = "display",
	.flags = "pt:",
	.longs = "",
	.min_args = 0, .max_args = 1,
	.usage = "[-p] [-t target-session] [message]",
	.run = cmd_display_message
};

#define DISPLAY_FORMAT "[#{session_name}] #{host}"

static enum cmd_retval
cmd_display_message(struct cmd_ctx *ctx)
{
	struct session	*s;
	struct client	*c = cmd_current_client(ctx);
	const char	*fmt = DISPLAY_FORMAT;
	char		*msg;

	if ((s = cmd_find_session(ctx, args_get(ctx->args, 't'), 0)) == NULL)
		return (CMD_ERROR);
	if (ctx->args->argc != 0)
		fmt = ctx->args->argv[0];
	msg = format_expand(fmt, s, c);
	if (args_has(ctx->args, 'p') || c == NULL)
		cmd_print(ctx, "%s\n", msg);
	else
		server_client_message(c, "%s", msg);
	free(msg);
	return (CMD_OK);
}

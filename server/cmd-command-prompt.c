/*
 * server/cmd-command-prompt.c: read a line on the status line and run it as
 * a command, or run a template with %% replaced by what was typed.
 */
#include <stdlib.h>

#include "server.h"

static enum cmd_retval	cmd_command_prompt(struct cmd_ctx *);

const struct cmd_def cmd_command_prompt_def = {
	.name = "command-prompt",
	.alias = NULL,
	.flags = "I:p:",
	.longs = "",
	.min_args = 0, .max_args = 1,
	.usage = "[-I initial-text] [-p prompt] [template]",
	.run = cmd_command_prompt
};

static enum cmd_retval
cmd_command_prompt(struct cmd_ctx *ctx)
{
	struct client	*c = cmd_current_client(ctx);
	const char	*initial = args_get(ctx->args, 'I');
	char		*expanded = NULL;

	if (c == NULL) {
		cmd_error(ctx, "no-client", "no current client");
		return (CMD_ERROR);
	}
	if (initial != NULL)
		expanded = format_expand(initial, c->session, c);
	prompt_enter(c, args_get(ctx->args, 'p'), expanded,
	    ctx->args->argc != 0 ? ctx->args->argv[0] : NULL);
	free(expanded);
	return (CMD_OK);
}

/* server/cmd-rename-session.c: give a session a new name. */

#include <stdlib.h>
#include <string.h>

#include "server.h"

static enum cmd_retval	cmd_rename_session(struct cmd_ctx *);

const struct cmd_def cmd_rename_session_def = {
	.name = "rename-session",
	.alias = "rename",
	.flags = "t:",
	.longs = "",
	.min_args = 1, .max_args = 1,
	.usage = "[-t target-session] new-name",
	.run = cmd_rename_session
};

static enum cmd_retval
cmd_rename_session(struct cmd_ctx *ctx)
{
	struct session	*s;
	const char	*name = ctx->args->argv[0];
	char		*cause;
	struct client	*c;

	if ((s = cmd_find_session(ctx, args_get(ctx->args, 't'), 0)) == NULL)
		return (CMD_ERROR);
	if (strcmp(s->name, name) == 0)
		return (CMD_OK);
	if (session_check_name(name, &cause) != 0) {
		cmd_error(ctx, "bad-name", "%s", cause);
		free(cause);
		return (CMD_ERROR);
	}
	session_rename(s, name);
	TAILQ_FOREACH(c, &clients, entry)
		server_client_schedule(c);
	return (CMD_OK);
}

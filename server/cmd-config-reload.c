/*
 * server/cmd-config-reload.c: loopsy config reload: read config.yaml again,
 * as SIGHUP does.  Sessions are kept either way; a bad file keeps the old
 * config and the command fails with the reason.
 */
#include <stdlib.h>

#include "server.h"

static enum cmd_retval	cmd_config_reload(struct cmd_ctx *);

const struct cmd_def cmd_config_reload_def = {
	.name = "config-reload",
	.alias = NULL,
	.flags = "",
	.longs = "",
	.min_args = 0, .max_args = 0,
	.usage = "",
	.client_words = 1,
	.run = cmd_config_reload,
	.local_only = 1
};

static enum cmd_retval
cmd_config_reload(struct cmd_ctx *ctx)
{
	char	*cause = NULL, *path;

	if (server_reload_config(&cause) != 0) {
		cmd_error(ctx, "config", "%s", cause);
		free(cause);
		return (CMD_ERROR);
	}
	path = config_path();
	cmd_print(ctx, "reloaded %s\n", path);
	free(path);
	return (CMD_OK);
}

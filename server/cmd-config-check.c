/*
 * server/cmd-config-check.c: loopsy config check [--file F]: parse
 * config.yaml (or F) as the server would and say "ok" or exactly where it
 * is wrong (file:line:column: message).  Runs in the client.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server.h"

static enum cmd_retval	cmd_config_check(struct cmd_ctx *);

const struct cmd_def cmd_config_check_def = {
	.name = "config-check",
	.alias = NULL,
	.flags = "",
	.longs = "file:",
	.min_args = 0, .max_args = 0,
	.usage = "[--file path]",
	.client = 1,
	.client_words = 1,
	.run = cmd_config_check,
	.local_only = 1
};

static enum cmd_retval
cmd_config_check(struct cmd_ctx *ctx)
{
	const char	*file = args_get_long(ctx->args, "file");
	struct config	 c;
	char		*path, *cause = NULL;
	enum cmd_retval	 rv = CMD_ERROR;

	path = file != NULL ? xstrdup(file) : config_path();
	config_defaults(&c);
	if (access(path, F_OK) != 0)
		cmd_error(ctx, "config", "%s: %s%s", path, strerror(errno),
		    file == NULL ? " (loopsy init writes one)" : "");
	else if (config_load(path, &c, &cause) != 0)
		cmd_error(ctx, "config", "%s", cause);
	else {
		cmd_print(ctx, "%s: ok\n", path);
		rv = CMD_OK;
	}
	config_clear(&c);
	free(cause);
	free(path);
	return (rv);
}

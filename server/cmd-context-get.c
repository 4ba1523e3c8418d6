/* server/cmd-context-get.c: read one key from the context store. */

#include <stdlib.h>

#include <cjson/cJSON.h>

#include "server.h"

static enum cmd_retval	cmd_context_get(struct cmd_ctx *);

const struct cmd_def cmd_context_get_def = {
	.name = "context-get",
	.flags = "t:",			/* -t host */
	.longs = "json",
	.min_args = 1, .max_args = -1,
	.usage = "[-t host] [--json] key",
	.start_server = 1,
	.client_words = 1,
	.rate = RATE_CONTEXT,
	.run = cmd_context_get
};

static enum cmd_retval
cmd_context_get(struct cmd_ctx *ctx)
{
	const char			*key = ctx->args->argv[0];
	const struct context_entry	*ce;

	if (msg_args_tail(ctx, 1) != 0)
		return (CMD_USAGE);
	free(ctx->audit_target);
	ctx->audit_target = xstrdup(key);
	if (msg_check_host(ctx, args_get(ctx->args, 't')) != 0)
		return (CMD_ERROR);
	if (context_unavailable() != NULL) {
		cmd_error(ctx, "unavailable", "%s", context_unavailable());
		return (CMD_ERROR);
	}
	context_purge();
	if ((ce = context_get(key)) == NULL) {
		cmd_error(ctx, "no-key", "no such key: %s", key);
		return (CMD_ERROR);
	}
	if (args_has_long(ctx->args, "json"))
		cmd_print_json(ctx, context_entry_to_json(ce, 1));
	else {
		buf_add(&ctx->out, ce->value, ce->len);
		buf_add(&ctx->out, "\n", 1);
	}
	return (CMD_OK);
}

/* server/cmd-msg-acked.c: the last message id a host acknowledged to us. */

#include <stdlib.h>

#include "server.h"

static enum cmd_retval	cmd_msg_acked(struct cmd_ctx *);

const struct cmd_def cmd_msg_acked_def = {
	.name = "msg-acked",
	.flags = "",
	.longs = "",
	.min_args = 1, .max_args = -1,
	.usage = "host",
	.start_server = 1,
	.client_words = 1,
	.rate = RATE_CONTEXT,
	.run = cmd_msg_acked
};

static enum cmd_retval
cmd_msg_acked(struct cmd_ctx *ctx)
{
	const char			*host = ctx->args->argv[0];
	const struct context_entry	*ce;
	char				*key;

	if (msg_args_tail(ctx, 1) != 0)
		return (CMD_USAGE);
	if (msg_check_host(ctx, host) != 0)
		return (CMD_ERROR);
	xasprintf(&key, "ack:%s", msg_hostname());
	free(ctx->audit_target);
	ctx->audit_target = xstrdup(key);
	context_purge();
	if ((ce = context_get(key)) == NULL) {
		cmd_error(ctx, "no-ack", "no acknowledgement from %s", host);
		free(key);
		return (CMD_ERROR);
	}
	cmd_print(ctx, "%s\n", ce->value);
	free(key);
	return (CMD_OK);
}

/*
 * server/cmd-msg-acked.c: the last message id a host acknowledged to us.
 * Acknowledgements are kept by the sender, so this reads ack:<host> here
 * (ack:<our hostname> for this machine) and never asks the host.
 */

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
	const char			*host;
	const struct context_entry	*ce;
	char				*key;
	enum cmd_retval			 rv = CMD_ERROR;

	if (msg_args_tail(ctx, 1) != 0)
		return (CMD_USAGE);
	host = ctx->args->argv[0];
	if (msg_is_self(host))
		xasprintf(&key, "ack:%s", msg_hostname());
	else
		xasprintf(&key, "ack:%s", host);
	free(ctx->audit_target);
	ctx->audit_target = xstrdup(key);
	context_purge();
	if ((ce = context_get(key)) != NULL) {
		cmd_print(ctx, "%s\n", ce->value);
		rv = CMD_OK;
	} else if (msg_is_self(host) || msg_is_peer(host))
		cmd_error(ctx, "no-ack", "no acknowledgement from %s", host);
	else
		cmd_error(ctx, "no-peer", "unknown peer: %s (no acknowledgement "
		    "from it here either; loopsy peers list shows the peers)",
		    host);
	free(key);
	return (rv);
}

/*
 * server/cmd-msg-ack.c: acknowledge a message: ack:<me> = its id on the
 * sender (for MSG_ACK_TTL seconds), then the inbox entry is removed.  In
 * that order, so a crash between the two leaves a message acked twice, never
 * one dropped without an ack.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "server.h"

static enum cmd_retval	cmd_msg_ack(struct cmd_ctx *);

const struct cmd_def cmd_msg_ack_def = {
	.name = "msg-ack",
	.flags = "",
	.longs = "",
	.min_args = 1, .max_args = -1,
	.usage = "id",
	.start_server = 1,
	.client_words = 1,
	.rate = RATE_CONTEXT,
	.run = cmd_msg_ack
};

static enum cmd_retval
cmd_msg_ack(struct cmd_ctx *ctx)
{
	const char			*id = ctx->args->argv[0];
	const char			*me = msg_hostname();
	const struct context_entry	*ce;
	cJSON				*j = NULL, *from;
	char				*key, *ack, *cause = NULL;
	enum cmd_retval			 rv = CMD_ERROR;

	if (msg_args_tail(ctx, 1) != 0)
		return (CMD_USAGE);
	xasprintf(&key, "inbox:%s:%s", me, id);
	xasprintf(&ack, "ack:%s", me);
	free(ctx->audit_target);
	ctx->audit_target = xstrdup(key);
	context_purge();
	if ((ce = context_get(key)) == NULL) {
		cmd_error(ctx, "no-message", "no such message: %s", id);
		goto out;
	}
	j = cJSON_Parse(ce->value);
	from = cJSON_GetObjectItem(j, "from");
	if (!cJSON_IsString(from)) {
		cmd_error(ctx, "bad-message", "%s is not a message envelope",
		    key);
		goto out;
	}
	if (msg_check_host(ctx, from->valuestring) != 0)
		goto out;
	if (context_set(ack, id, strlen(id), MSG_ACK_TTL, &cause) != 0 ||
	    context_delete(key, &cause) < 0) {
		cmd_error(ctx, "io", "%s", cause);
		goto out;
	}
	rv = CMD_OK;
out:
	cJSON_Delete(j);
	free(cause);
	free(ack);
	free(key);
	return (rv);
}

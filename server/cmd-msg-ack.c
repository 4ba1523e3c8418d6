/*
 * server/cmd-msg-ack.c: acknowledge a message: ack:<acker> = its id, kept
 * by the sender for MSG_ACK_TTL seconds, then the inbox entry is removed.
 * In that order, so a crash between the two leaves a message acked twice,
 * never one dropped without an ack.  For a message from this machine the
 * server does both.  For one from a peer the client (client/remote.c) has
 * the peer run "msg-ack --record ID", which keeps the ack under the name it
 * knows us by (msg_sender()), and then removes the inbox entry here.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "server.h"

static enum cmd_retval	cmd_msg_ack(struct cmd_ctx *);

const struct cmd_def cmd_msg_ack_def = {
	.name = "msg-ack",
	.flags = "",
	.longs = "record,from:",
	.min_args = 1, .max_args = -1,
	.usage = "id",
	.start_server = 1,
	.client_words = 1,
	.rate = RATE_CONTEXT,
	.run = cmd_msg_ack
};

/* On the sender: keep who asked's acknowledgement of id. */
static enum cmd_retval
cmd_msg_ack_record(struct cmd_ctx *ctx, const char *id)
{
	char		*ack, *cause = NULL;
	enum cmd_retval	 rv = CMD_ERROR;

	xasprintf(&ack, "ack:%s", msg_sender(ctx));
	free(ctx->audit_target);
	ctx->audit_target = xstrdup(ack);
	if (*id == '\0') {
		cmd_error(ctx, "usage", "msg-ack --record: the id is empty");
		rv = CMD_USAGE;
	} else if (context_check(ack, strlen(id), &cause) != 0)
		cmd_error(ctx, "limit", "%s", cause);
	else if (context_set(ack, id, strlen(id), MSG_ACK_TTL, &cause) != 0)
		cmd_error(ctx, "io", "%s", cause);
	else
		rv = CMD_OK;
	free(cause);
	free(ack);
	return (rv);
}

static enum cmd_retval
cmd_msg_ack(struct cmd_ctx *ctx)
{
	const char			*id, *me = msg_hostname();
	const struct context_entry	*ce;
	cJSON				*j = NULL, *from;
	char				*key, *ack, *cause = NULL;
	enum cmd_retval			 rv = CMD_ERROR;

	if (msg_args_tail(ctx, 1) != 0)
		return (CMD_USAGE);
	id = ctx->args->argv[0];
	if (args_has_long(ctx->args, "record"))
		return (cmd_msg_ack_record(ctx, id));
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
	if (!msg_is_self(from->valuestring)) {
		/* The client sends it to the peer; this came some other way. */
		cmd_error(ctx, "no-peer", "message %s is from %s: its "
		    "acknowledgement is kept there, and only the loopsy command "
		    "line (loopsy msg ack %s) sends it", id, from->valuestring,
		    id);
		goto out;
	}
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

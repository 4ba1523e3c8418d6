/*
 * server/cmd-msg-send.c: send a message to a host: the envelope
 * {from, to, ts, id, type, body} goes to the recipient's inbox:<to>:<id> and
 * the sender's outbox:<id>, both for MSG_TTL seconds.  The recipient is this
 * machine: "msg send PEER" is sent to the peer by the client, which keeps
 * the outbox copy on its own machine; a message to this machine is both.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "server.h"

static enum cmd_retval	cmd_msg_send(struct cmd_ctx *);

const struct cmd_def cmd_msg_send_def = {
	.name = "msg-send",
	.flags = "",
	.longs = "type:,from:",
	.min_args = 2, .max_args = -1,
	.usage = "[--type chat|request|response|broadcast] host text",
	.start_server = 1,
	.client_words = 1,
	.rate = RATE_CONTEXT,
	.run = cmd_msg_send
};

static const char *cmd_msg_types[] = {
	"chat", "request", "response", "broadcast"
};

static int
cmd_msg_send_type(struct cmd_ctx *ctx, const char *type)
{
	u_int	 i;

	for (i = 0; i < nitems(cmd_msg_types); i++) {
		if (strcmp(type, cmd_msg_types[i]) == 0)
			return (0);
	}
	cmd_error(ctx, "usage", "unknown message type: %s (one of chat, "
	    "request, response, broadcast)", type);
	return (-1);
}

static enum cmd_retval
cmd_msg_send(struct cmd_ctx *ctx)
{
	const char	*host, *body, *type, *from;
	const char	*me = msg_hostname();
	char		 id[128], *inbox, *outbox, *env, *cause = NULL;
	size_t		 bad;
	uint64_t	 ts = context_now();
	cJSON		*j;
	enum cmd_retval	 rv = CMD_ERROR;
	int		 remote;

	if (msg_args_tail(ctx, 2) != 0)
		return (CMD_USAGE);
	host = ctx->args->argv[0];	/* after a "--" between them went */
	body = ctx->args->argv[1];
	type = args_get_long(ctx->args, "type");
	if (type == NULL)
		type = "chat";
	if (cmd_msg_send_type(ctx, type) != 0)
		return (CMD_USAGE);
	if (msg_check_host(ctx, host) != 0)
		return (CMD_ERROR);
	if (!utf8_valid(body, strlen(body), &bad)) {
		cmd_error(ctx, "usage", "message is not UTF-8 (byte 0x%02x at "
		    "offset %zu): messages are UTF-8 text", (u_char)body[bad],
		    bad);
		return (CMD_ERROR);
	}
	/*
	 * Over a peer link the sender is the peer, named as msg_sender() says
	 * (--from is the hostname its client adds when it routes "msg send").
	 */
	from = msg_sender(ctx);
	snprintf(id, sizeof id, "%llu-%s-%04x", (unsigned long long)ts, me,
	    (u_int)arc4random_uniform(0x10000));
	xasprintf(&inbox, "inbox:%s:%s", me, id);
	xasprintf(&outbox, "outbox:%s", id);
	free(ctx->audit_target);
	ctx->audit_target = xstrdup(inbox);

	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "from", from);
	cJSON_AddStringToObject(j, "to", me);
	cJSON_AddNumberToObject(j, "ts", (double)ts);
	cJSON_AddStringToObject(j, "id", id);
	cJSON_AddStringToObject(j, "type", type);
	cJSON_AddStringToObject(j, "body", body);
	env = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);

	/* From a peer: its outbox is on its machine. */
	remote = ctx->c != NULL && (ctx->c->flags & CLIENT_REMOTE);
	if (context_check(inbox, strlen(env), &cause) != 0 ||
	    (!remote && context_check(outbox, strlen(env), &cause) != 0)) {
		cmd_error(ctx, "limit", "%s", cause);
		goto out;
	}
	if (context_set(inbox, env, strlen(env), MSG_TTL, &cause) != 0) {
		cmd_error(ctx, "io", "%s", cause);
		goto out;
	}
	if (!remote &&
	    context_set(outbox, env, strlen(env), MSG_TTL, &cause) != 0) {
		cmd_error(ctx, "io", "%s", cause);
		free(cause);
		cause = NULL;
		context_delete(inbox, &cause);	/* not sent after all */
		goto out;
	}
	cmd_print(ctx, "%s\n", id);
	rv = CMD_OK;
out:
	free(cause);
	free(env);
	free(inbox);
	free(outbox);
	return (rv);
}

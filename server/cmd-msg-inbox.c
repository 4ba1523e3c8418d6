/*
 * server/cmd-msg-inbox.c: the messages to this machine not yet acknowledged
 * (inbox:<me>:<id> keys), oldest first.  Values that are not envelopes are
 * skipped: anyone with the store can write any key.  Their text is someone
 * else's, so one line each, with control characters escaped (utf8_escape).
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "server.h"

static enum cmd_retval	cmd_msg_inbox(struct cmd_ctx *);

const struct cmd_def cmd_msg_inbox_def = {
	.name = "msg-inbox",
	.flags = "",
	.longs = "json",
	.min_args = 0, .max_args = -1,
	.usage = "[--json]",
	.start_server = 1,
	.client_words = 1,
	.rate = RATE_CONTEXT,
	.run = cmd_msg_inbox
};

/* The envelope in ce, checked, or NULL. */
static cJSON *
cmd_msg_inbox_parse(const struct context_entry *ce)
{
	static const char	*strings[] = { "from", "to", "id", "type",
				    "body" };
	cJSON			*j;
	u_int			 i;

	if ((j = cJSON_Parse(ce->value)) == NULL || !cJSON_IsObject(j))
		goto bad;
	for (i = 0; i < nitems(strings); i++) {
		if (!cJSON_IsString(cJSON_GetObjectItem(j, strings[i])))
			goto bad;
	}
	if (!cJSON_IsNumber(cJSON_GetObjectItem(j, "ts")))
		goto bad;
	cJSON_AddStringToObject(j, "key", ce->key);
	return (j);
bad:
	log_debug("%s: %s is not a message envelope", __func__, ce->key);
	cJSON_Delete(j);
	return (NULL);
}

static int
cmd_msg_inbox_cmp(const void *a0, const void *b0)
{
	cJSON	*a = *(cJSON * const *)a0, *b = *(cJSON * const *)b0;
	double	 ta = cJSON_GetObjectItem(a, "ts")->valuedouble;
	double	 tb = cJSON_GetObjectItem(b, "ts")->valuedouble;

	if (ta != tb)
		return (ta < tb ? -1 : 1);
	return (strcmp(cJSON_GetObjectItem(a, "id")->valuestring,
	    cJSON_GetObjectItem(b, "id")->valuestring));
}

#define S(j, n) (cJSON_GetObjectItem(j, n)->valuestring)

/* One message as a line, safe to print. */
static void
cmd_msg_inbox_print(struct cmd_ctx *ctx, cJSON *m)
{
	static const char	*fields[] = { "id", "from", "type", "body" };
	char			*s[nitems(fields)];
	u_int			 i;

	for (i = 0; i < nitems(fields); i++)
		s[i] = utf8_escape(S(m, fields[i]));
	cmd_print(ctx, "%s %s [%s] %s\n", s[0], s[1], s[2], s[3]);
	for (i = 0; i < nitems(fields); i++)
		free(s[i]);
}

static enum cmd_retval
cmd_msg_inbox(struct cmd_ctx *ctx)
{
	const struct context_entry	**v;
	cJSON				**m, *a;
	char				 *prefix;
	u_int				  i, n, nm = 0;

	if (msg_args_tail(ctx, 0) != 0)
		return (CMD_USAGE);
	xasprintf(&prefix, "inbox:%s:", msg_hostname());
	free(ctx->audit_target);
	ctx->audit_target = xstrdup(prefix);
	if (context_unavailable() != NULL) {
		cmd_error(ctx, "unavailable", "%s", context_unavailable());
		return (CMD_ERROR);
	}
	context_purge();
	n = context_list(prefix, &v);
	m = xcalloc(n + 1, sizeof *m);
	for (i = 0; i < n; i++) {
		if ((m[nm] = cmd_msg_inbox_parse(v[i])) != NULL)
			nm++;
	}
	qsort(m, nm, sizeof *m, cmd_msg_inbox_cmp);
	if (args_has_long(ctx->args, "json")) {
		a = cJSON_CreateArray();
		for (i = 0; i < nm; i++)
			cJSON_AddItemToArray(a, m[i]);
		cmd_print_json(ctx, a);
	} else {
		for (i = 0; i < nm; i++) {
			cmd_msg_inbox_print(ctx, m[i]);
			cJSON_Delete(m[i]);
		}
	}
	free(m);
	free(v);
	free(prefix);
	return (CMD_OK);
}

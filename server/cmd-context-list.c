/*
 * server/cmd-context-list.c: the keys of the context store, with sizes and
 * time to live, control characters in keys escaped (utf8_escape); --json
 * gives whole entries, values included.
 */
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "server.h"

static enum cmd_retval	cmd_context_list(struct cmd_ctx *);

const struct cmd_def cmd_context_list_def = {
	.name = "context-list",
	.flags = "t:",
	.longs = "prefix:,json",
	.min_args = 0, .max_args = -1,
	.usage = "[-t host] [--prefix prefix] [--json]",
	.start_server = 1,
	.client_words = 1,
	.rate = RATE_CONTEXT,
	.run = cmd_context_list
};

static enum cmd_retval
cmd_context_list(struct cmd_ctx *ctx)
{
	const struct context_entry	**v;
	const char			 *prefix;
	cJSON				 *j, *a;
	char				 *key;
	uint64_t			  now = context_now(), left;
	u_int				  i, n;

	if (msg_args_tail(ctx, 0) != 0)
		return (CMD_USAGE);
	prefix = args_get_long(ctx->args, "prefix");
	if (prefix != NULL) {
		free(ctx->audit_target);
		ctx->audit_target = xstrdup(prefix);
	}
	if (msg_check_host(ctx, args_get(ctx->args, 't')) != 0)
		return (CMD_ERROR);
	if (context_unavailable() != NULL) {
		cmd_error(ctx, "unavailable", "%s", context_unavailable());
		return (CMD_ERROR);
	}
	context_purge();
	n = context_list(prefix, &v);
	if (args_has_long(ctx->args, "json")) {
		j = cJSON_CreateObject();
		a = cJSON_AddArrayToObject(j, "entries");
		for (i = 0; i < n; i++)
			cJSON_AddItemToArray(a, context_entry_to_json(v[i], 1));
		cmd_print_json(ctx, j);
	} else {
		for (i = 0; i < n; i++) {
			key = utf8_escape(v[i]->key);
			cmd_print(ctx, "%s %zu", key, v[i]->len);
			free(key);
			if (v[i]->expires != 0) {
				left = v[i]->expires > now ?
				    v[i]->expires - now : 0;
				cmd_print(ctx, " ttl=%llus",
				    (unsigned long long)(left + 999) / 1000);
			}
			cmd_print(ctx, "\n");
		}
	}
	free(v);
	return (CMD_OK);
}

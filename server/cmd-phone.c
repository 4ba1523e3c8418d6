/*
 * server/cmd-phone.c: loopsy phone list|revoke|grant|revoke-grant, the
 * owner's view of the phones paired through the relay.  Only on this
 * machine: never over a peer link or from a phone.  A revoke deletes the
 * phone's key here (so it cannot connect again whatever the relay does),
 * closes its connections at once and tells the relay, now or when the link
 * is back.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "server.h"

#define CMD_PHONE_REVOKE_WAIT	5	/* s for the relay to confirm */

static enum cmd_retval	cmd_phone_list(struct cmd_ctx *);
static enum cmd_retval	cmd_phone_revoke(struct cmd_ctx *);
static enum cmd_retval	cmd_phone_grant(struct cmd_ctx *);
static enum cmd_retval	cmd_phone_revoke_grant(struct cmd_ctx *);

const struct cmd_def cmd_phone_list_def = {
	.name = "phone-list",
	.longs = "json",
	.min_args = 0, .max_args = 0,
	.usage = "[--json]",
	.start_server = 1,
	.client_words = 1,
	.local_only = 1,
	.run = cmd_phone_list
};

const struct cmd_def cmd_phone_revoke_def = {
	.name = "phone-revoke",
	.min_args = 1, .max_args = 1,
	.usage = "PHONE-ID",
	.start_server = 1,
	.client_words = 1,
	.local_only = 1,
	.run = cmd_phone_revoke
};

const struct cmd_def cmd_phone_grant_def = {
	.name = "phone-grant",
	.min_args = 2, .max_args = 2,
	.usage = "PHONE-ID auto-approve",
	.start_server = 1,
	.client_words = 1,
	.local_only = 1,
	.run = cmd_phone_grant
};

const struct cmd_def cmd_phone_revoke_grant_def = {
	.name = "phone-revoke-grant",
	.min_args = 2, .max_args = 2,
	.usage = "PHONE-ID auto-approve",
	.start_server = 1,
	.client_words = 1,
	.local_only = 1,
	.run = cmd_phone_revoke_grant
};

/* Print the phones; at is the relay's list (NULL: not asked, or no answer). */
static enum cmd_retval
cmd_phone_print(struct cmd_ctx *ctx, cJSON *at)
{
	struct phone	*v;
	char		*cause = NULL, when[32];
	const char	*id, *rs;
	cJSON		*j, *arr, *o, *g, *e, *only;
	u_int		 n, i, k, known;
	struct buf	 grants;

	if (phone_list(&v, &n, &cause) != 0) {
		cmd_error(ctx, "phones", "%s", cause);
		free(cause);
		return (CMD_ERROR);
	}
	j = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(j, "phones");
	only = cJSON_AddArrayToObject(j, "relayOnly");
	for (i = 0; i < n; i++) {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "id", v[i].id);
		cJSON_AddStringToObject(o, "label", v[i].label);
		cJSON_AddNumberToObject(o, "paired", (double)v[i].paired);
		cJSON_AddNumberToObject(o, "online",
		    phone_channel_count(v[i].id));
		g = cJSON_AddArrayToObject(o, "grants");
		for (k = 0; k < v[i].grants.n; k++)
			cJSON_AddItemToArray(g,
			    cJSON_CreateString(v[i].grants.v[k]));
		known = 0;
		cJSON_ArrayForEach(e, at) {
			id = cJSON_GetStringValue(cJSON_GetObjectItem(e, "id"));
			if (id != NULL && strcmp(id, v[i].id) == 0)
				known = 1;
		}
		if (at != NULL)
			cJSON_AddBoolToObject(o, "atRelay", known);
		else
			cJSON_AddNullToObject(o, "atRelay");
		cJSON_AddItemToArray(arr, o);
	}
	cJSON_ArrayForEach(e, at) {
		id = cJSON_GetStringValue(cJSON_GetObjectItem(e, "id"));
		for (i = 0; id != NULL && i < n; i++) {
			if (strcmp(id, v[i].id) == 0)
				break;
		}
		if (id != NULL && i == n)
			cJSON_AddItemToArray(only, cJSON_CreateString(id));
	}
	if (args_has_long(ctx->args, "json")) {
		cmd_print_json(ctx, cJSON_DetachItemFromObject(j, "phones"));
		cJSON_Delete(j);
		goto out;
	}
	if (n == 0)
		cmd_print(ctx, "no phones paired (loopsy mobile pair pairs "
		    "one)\n");
	else
		cmd_print(ctx, "%-23s  %-20s  %-16s  %-6s  %-5s  %s\n", "ID",
		    "LABEL", "PAIRED", "ONLINE", "RELAY", "GRANTS");
	for (i = 0; i < n; i++) {
		strftime(when, sizeof when, "%Y-%m-%d %H:%M",
		    localtime(&v[i].paired));
		buf_init(&grants);
		for (k = 0; k < v[i].grants.n; k++)
			buf_printf(&grants, "%s%s", k != 0 ? "," : "",
			    v[i].grants.v[k]);
		buf_add(&grants, "", 1);
		o = cJSON_GetArrayItem(arr, i);
		e = cJSON_GetObjectItem(o, "atRelay");
		rs = cJSON_IsNull(e) ? "?" : cJSON_IsTrue(e) ? "yes" : "no";
		cmd_print(ctx, "%-23s  %-20.20s  %-16s  %-6u  %-5s  %s\n",
		    v[i].id, v[i].label, when, phone_channel_count(v[i].id), rs,
		    v[i].grants.n != 0 ? grants.data : "-");
		buf_free(&grants);
	}
	if (cJSON_GetArraySize(only) != 0)
		cmd_print(ctx, "phones the relay lists that are not paired "
		    "here: %d (they cannot connect: no key here)\n",
		    cJSON_GetArraySize(only));
	cJSON_Delete(j);
out:
	for (i = 0; i < n; i++)
		phone_clear(&v[i]);
	free(v);
	return (CMD_OK);
}

static void
cmd_phone_listed(cJSON *reply, const char *error, void *arg)
{
	struct cmd_ctx	*ctx = arg;
	cJSON		*at = cJSON_GetObjectItem(reply, "phones");

	if (error != NULL || !cJSON_IsArray(at))
		at = NULL;
	cmd_finish(ctx, cmd_phone_print(ctx, at));
}

/* With the relay connected, its list too: which phones it knows. */
static enum cmd_retval
cmd_phone_list(struct cmd_ctx *ctx)
{
	char	*cause = NULL;
	cJSON	*j;

	if (!relay_link_connected())
		return (cmd_phone_print(ctx, NULL));
	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "t", "phones");
	if (relay_link_request(j, CMD_PHONE_REVOKE_WAIT, cmd_phone_listed,
	    ctx, &cause) != 0) {
		free(cause);
		return (cmd_phone_print(ctx, NULL));
	}
	return (CMD_WAIT);
}

/* The relay answered the revoke (or did not, in time). */
static void
cmd_phone_revoked(cJSON *reply, const char *error, void *arg)
{
	struct cmd_ctx	*ctx = arg;
	const char	*id = ctx->args->argv[0];
	const char	*t = cJSON_GetStringValue(cJSON_GetObjectItem(reply,
			    "t"));
	const char	*code = cJSON_GetStringValue(cJSON_GetObjectItem(reply,
			    "code"));
	char		*cause = NULL, *why;

	if (error == NULL || (t != NULL && strcmp(t, "error") == 0 &&
	    code != NULL && strcmp(code, "not_found") == 0)) {
		relay_conf_pending_revoke(id, 0, &cause);
		cmd_print(ctx, "the relay was told: it closed the phone's "
		    "connections there too\n");
	} else {
		if (relay_conf_pending_revoke(id, 1, &cause) != 0)
			cmd_print(ctx, "warning: %s\n", cause);
		why = relay_safe_text(error, RELAY_TEXT_MAX);
		cmd_print(ctx, "the relay could not be told now (%s): it will "
		    "be when the link is back; the phone is cut off here "
		    "anyway\n", why);
		free(why);
	}
	free(cause);
	cmd_finish(ctx, CMD_OK);
}

static enum cmd_retval
cmd_phone_revoke(struct cmd_ctx *ctx)
{
	const char	*id = ctx->args->argv[0];
	struct phone	 p;
	char		*cause = NULL;
	cJSON		*j;
	u_int		 n;
	int		 rv;

	free(ctx->audit_target);
	ctx->audit_target = xstrdup(id);
	if ((rv = phone_load(id, &p, &cause)) != 0) {
		if (rv == 1)
			cmd_error(ctx, "no-phone", "no phone %s here (loopsy "
			    "phone list shows them)", id);
		else
			cmd_error(ctx, "no-phone", "%s", cause);
		free(cause);
		return (CMD_ERROR);
	}
	if (phone_remove(id, &cause) == -1) {
		cmd_error(ctx, "phones", "%s", cause);
		free(cause);
		phone_clear(&p);
		return (CMD_ERROR);
	}
	n = phone_channel_revoke(id);
	log_info("phone %s revoked", id);
	cmd_print(ctx, "revoked %s (%s): its key is deleted here, %u "
	    "connections closed\n", id, p.label, n);
	phone_clear(&p);
	if (!relay_link_configured())
		return (CMD_OK);
	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "t", "revoke");
	cJSON_AddStringToObject(j, "phone", id);
	if (relay_link_request(j, CMD_PHONE_REVOKE_WAIT, cmd_phone_revoked,
	    ctx, &cause) == 0)
		return (CMD_WAIT);
	free(cause);
	cause = NULL;
	if (relay_conf_pending_revoke(id, 1, &cause) != 0) {
		cmd_print(ctx, "warning: %s\n", cause);
		free(cause);
	}
	cmd_print(ctx, "the relay is not connected: it will be told when the "
	    "link is back (now: %s); the phone is cut off here anyway\n",
	    relay_link_state());
	return (CMD_OK);
}

/* Add or take away a grant. */
static enum cmd_retval
cmd_phone_grant_set(struct cmd_ctx *ctx, int add)
{
	const char	*id = ctx->args->argv[0], *grant = ctx->args->argv[1];
	struct phone	 p;
	char		*cause = NULL;
	u_int		 i, found = 0;
	int		 rv;

	xasprintf(&cause, "%s %s", id, grant);
	free(ctx->audit_target);
	ctx->audit_target = cause;
	cause = NULL;
	if (!phone_valid_grant(grant)) {
		cmd_error(ctx, "usage", "unknown grant %s: the only one is %s",
		    grant, PHONE_GRANT_AUTO);
		return (CMD_USAGE);
	}
	if ((rv = phone_load(id, &p, &cause)) != 0) {
		if (rv == 1)
			cmd_error(ctx, "no-phone", "no phone %s here (loopsy "
			    "phone list shows them)", id);
		else
			cmd_error(ctx, "no-phone", "%s", cause);
		free(cause);
		return (CMD_ERROR);
	}
	for (i = 0; i < p.grants.n; i++) {
		if (strcmp(p.grants.v[i], grant) != 0)
			continue;
		found = 1;
		if (!add) {
			free(p.grants.v[i]);
			memmove(p.grants.v + i, p.grants.v + i + 1,
			    (p.grants.n - i - 1) * sizeof *p.grants.v);
			p.grants.n--;
			break;
		}
	}
	if (add && !found) {
		p.grants.v = xreallocarray(p.grants.v, p.grants.n + 1,
		    sizeof *p.grants.v);
		p.grants.v[p.grants.n++] = xstrdup(grant);
	}
	if (add != (int)found && phone_save(&p, &cause) != 0) {
		cmd_error(ctx, "phones", "%s", cause);
		free(cause);
		phone_clear(&p);
		return (CMD_ERROR);
	}
	if (add)
		cmd_print(ctx, "%s %s to %s (%s): it may launch agents with "
		    "their skip-permission flags (loopsy phone revoke-grant "
		    "%s %s takes it back)\n", found ? "already granted" :
		    "granted", grant, id, p.label, id, grant);
	else
		cmd_print(ctx, "%s %s of %s (%s)\n", found ? "took back" :
		    "there was no", grant, id, p.label);
	phone_clear(&p);
	return (CMD_OK);
}

static enum cmd_retval
cmd_phone_grant(struct cmd_ctx *ctx)
{
	return (cmd_phone_grant_set(ctx, 1));
}

static enum cmd_retval
cmd_phone_revoke_grant(struct cmd_ctx *ctx)
{
	return (cmd_phone_grant_set(ctx, 0));
}

/*
 * relay/api.c: the routes of relay/PROTOCOL.md ("HTTP endpoints"): health,
 * device registration, pair issue and redeem (pair.c does the work), the
 * phone list and revocation, /app (web.c), and the two WebSocket upgrades
 * handed to the splice.  Credentials are checked here; conn.c reads them.
 */
#include <sys/types.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>

#include "common/crypto.h"
#include "relay.h"

struct api_route {
	int		 method;
	const char	*path;
	int		 prefix;	/* path is a prefix; the rest is an id */
	void		(*fn)(struct rconn *, const char *);
};

static void	api_health(struct rconn *, const char *);
static void	api_root(struct rconn *, const char *);
static void	api_register(struct rconn *, const char *);
static void	api_pair_issue(struct rconn *, const char *);
static void	api_pair_redeem(struct rconn *, const char *);
static void	api_phones(struct rconn *, const char *);
static void	api_phone_delete(struct rconn *, const char *);
static void	api_phone_self(struct rconn *, const char *);
static void	api_needs_upgrade(struct rconn *, const char *);

static const struct api_route api_routes[] = {
	{ HTTP_GET, "/health", 0, api_health },
	{ HTTP_GET, "/", 0, api_root },
	{ HTTP_POST, "/device/register", 0, api_register },
	{ HTTP_POST, "/pair/issue", 0, api_pair_issue },
	{ HTTP_POST, "/pair/redeem", 0, api_pair_redeem },
	{ HTTP_GET, "/device/phones", 0, api_phones },
	{ HTTP_DELETE, "/device/phones/", 1, api_phone_delete },
	{ HTTP_DELETE, "/phone/self", 0, api_phone_self },
	{ HTTP_GET, "/device/ws", 0, api_needs_upgrade },
	{ HTTP_GET, "/phone/ws", 0, api_needs_upgrade },
};

/*
 * The device a request's credentials name, in id (RELAY_ID_LEN + 1); -1
 * after an answer (429 while the address is refused, or a delayed 401).
 */
static int
api_device_auth(struct rconn *c, char *id, void (*refused)(struct rconn *))
{
	uint8_t	 hash[RELAY_HASH_LEN];
	u_int	 retry;

	if (addr_empty(c->addr, LIMIT_BADAUTH, &retry)) {
		conn_limited(c, retry, "too many bad credentials from this "
		    "address");
		return (-1);
	}
	if (conn_bearer(c, 'd', id, hash) != 0 ||
	    !store_device_check(relay_store, id, hash)) {
		conn_refuse(c, refused);
		return (-1);
	}
	return (0);
}

/* A phone's credentials: 1 and *device if good, 0 unknown phone, -1 bad
 * (already answered). */
static int
api_phone_auth(struct rconn *c, char *id, char **device)
{
	uint8_t	 hash[RELAY_HASH_LEN];
	u_int	 retry;
	int	 rc;

	*device = NULL;
	if (addr_empty(c->addr, LIMIT_BADAUTH, &retry)) {
		conn_limited(c, retry, "too many bad credentials from this "
		    "address");
		return (-1);
	}
	if (conn_bearer(c, 'p', id, hash) != 0) {
		conn_refuse(c, NULL);
		return (-1);
	}
	rc = store_phone_check(relay_store, id, hash, device);
	if (rc == 1)
		return (1);
	if (rc == -1)
		return (0);
	conn_refuse(c, NULL);
	return (-1);
}

static void
api_health(struct rconn *c, const char *rest __unused)
{
	cJSON	*j = cJSON_CreateObject();

	cJSON_AddBoolToObject(j, "ok", 1);
	cJSON_AddStringToObject(j, "service", "loopsy-relay");
	cJSON_AddStringToObject(j, "version", PACKAGE_VERSION);
	conn_reply_json(c, 200, j, NULL);
}

static void
api_root(struct rconn *c, const char *rest __unused)
{
	static const char	 body[] = "see /app/\n";

	conn_reply(c, 302, "text/plain; charset=utf-8", body,
	    strlen(body), "Location: /app/\r\n");
}

static void
api_needs_upgrade(struct rconn *c, const char *rest __unused)
{
	conn_error(c, 426, "bad_request", "%s is a WebSocket: send an "
	    "upgrade request", c->shown);
}

/* X-Registration-Secret against --registration-secret-file, if any. */
static int
api_registration_open(struct rconn *c)
{
	const char	*s = conn_header(c, "X-Registration-Secret");
	uint8_t		 hash[RELAY_HASH_LEN];

	if (!relay_opts.has_reg_secret)
		return (1);
	if (s == NULL)
		return (0);
	crypto_sha256(s, strlen(s), hash);
	return (crypto_equal(hash, relay_opts.reg_secret, sizeof hash));
}

static void
api_register(struct rconn *c, const char *rest __unused)
{
	uint8_t	 hash[RELAY_HASH_LEN];
	char	*id, *secret;
	cJSON	*j;
	u_int	 retry;

	if (addr_take(c->addr, LIMIT_REGISTER, &retry) != 0) {
		conn_limited(c, retry, "too many registrations from this "
		    "address");
		return;
	}
	if (!api_registration_open(c)) {
		log_warnx("%s: registration refused: %s registration secret",
		    c->addr, conn_header(c, "X-Registration-Secret") == NULL ?
		    "no" : "wrong");
		conn_error(c, 403, "registration_closed", "this relay needs "
		    "its registration secret (X-Registration-Secret)");
		return;
	}
	id = cred_new_id('d');
	secret = cred_new_secret(hash);
	if (store_device_add(relay_store, id, hash, time(NULL)) != 0) {
		conn_error(c, 500, "internal", "cannot store the device");
		goto out;
	}
	log_info("%s: registered device %s", c->addr, id);
	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "device_id", id);
	cJSON_AddStringToObject(j, "device_secret", secret);
	conn_reply_json(c, 201, j, NULL);
out:
	crypto_cleanse(secret, strlen(secret));
	free(secret);
	free(id);
}

static void
api_pair_issue(struct rconn *c, const char *rest __unused)
{
	char	 id[RELAY_ID_LEN + 1], *token, *cause;
	cJSON	*body = NULL, *ttl, *j;
	long	 seconds = 1800;
	time_t	 expires;
	u_int	 retry;

	if (api_device_auth(c, id, NULL) != 0)
		return;
	if (c->body != NULL && evbuffer_get_length(c->body) != 0) {
		if ((body = conn_body_json(c)) == NULL)
			return;
		ttl = cJSON_GetObjectItemCaseSensitive(body, "ttl");
		if (ttl != NULL && !cJSON_IsNumber(ttl)) {
			conn_error(c, 400, "bad_request",
			    "ttl must be a number of seconds");
			goto out;
		}
		if (ttl != NULL)
			seconds = ttl->valuedouble == (long)ttl->valuedouble ?
			    (long)ttl->valuedouble : -1;
	}
	switch (pair_issue(id, seconds, &token, &expires, &cause, &retry)) {
	case PAIR_ISSUED:
		break;
	case PAIR_BAD_TTL:
		conn_error(c, 400, "bad_request", "%s", cause);
		free(cause);
		goto out;
	case PAIR_LIMITED:
		free(cause);
		conn_limited(c, retry, "too many pair links from this device");
		goto out;
	default:
		conn_error(c, 500, "internal", "%s", cause);
		free(cause);
		goto out;
	}
	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "token", token);
	cJSON_AddNumberToObject(j, "expires", (double)expires);
	conn_reply_json(c, 200, j, NULL);
	free(token);
out:
	cJSON_Delete(body);
}

static void
api_pair_redeem(struct rconn *c, const char *rest __unused)
{
	pair_redeem(c);
}

cJSON *
api_phones_json(const char *device)
{
	struct store_phone	*list;
	u_int			 n, i;
	cJSON			*j, *a, *p;

	j = cJSON_CreateObject();
	a = cJSON_AddArrayToObject(j, "phones");
	if (store_phone_list(relay_store, device, &list, &n) != 0)
		return (j);
	for (i = 0; i < n; i++) {
		p = cJSON_CreateObject();
		cJSON_AddStringToObject(p, "id", list[i].id);
		cJSON_AddStringToObject(p, "label", list[i].label);
		cJSON_AddNumberToObject(p, "created", (double)list[i].created);
		cJSON_AddBoolToObject(p, "online",
		    splice_phone_online(list[i].id));
		cJSON_AddItemToArray(a, p);
	}
	store_phone_list_free(list, n);
	return (j);
}

static void
api_phones(struct rconn *c, const char *rest __unused)
{
	char	 id[RELAY_ID_LEN + 1];

	if (api_device_auth(c, id, NULL) != 0)
		return;
	conn_reply_json(c, 200, api_phones_json(id), NULL);
}

static void
api_phone_delete(struct rconn *c, const char *phone)
{
	char	 id[RELAY_ID_LEN + 1];

	if (api_device_auth(c, id, NULL) != 0)
		return;
	if (store_phone_delete(relay_store, id, phone) != 1) {
		conn_error(c, 404, "not_found", "this device has no phone "
		    "with that id");
		return;
	}
	log_info("%s: device %s revoked phone %s", c->addr, id, phone);
	splice_revoke(id, phone, -1);
	conn_reply(c, 204, "application/json", NULL, 0, NULL);
}

static void
api_phone_self(struct rconn *c, const char *rest __unused)
{
	char	 id[RELAY_ID_LEN + 1], *device;
	int	 rc;

	if ((rc = api_phone_auth(c, id, &device)) == -1)
		return;
	if (rc == 0) {
		conn_refuse(c, NULL);
		return;
	}
	store_phone_delete(relay_store, device, id);
	log_info("%s: phone %s forgot itself", c->addr, id);
	splice_revoke(device, id, -1);
	free(device);
	conn_reply(c, 204, "application/json", NULL, 0, NULL);
}

void
api_request(struct rconn *c)
{
	const struct api_route	*r;
	size_t			 len;
	u_int			 i;
	int			 path_known = 0;

	if (strcmp(c->path, "/app") == 0 || strncmp(c->path, "/app/", 5) == 0) {
		if (c->head.method != HTTP_GET && c->head.method != HTTP_HEAD)
			conn_error(c, 405, "bad_request", "/app takes GET");
		else if (c->path[4] == '\0') {
			/* The app's assets are relative to /app/. */
			api_root(c, NULL);
		} else
			web_serve(c, c->path + 4);
		return;
	}
	for (i = 0; i < nitems(api_routes); i++) {
		r = &api_routes[i];
		len = strlen(r->path);
		if (r->prefix ? strncmp(c->path, r->path, len) != 0 ||
		    c->path[len] == '\0' || strchr(c->path + len, '/') != NULL :
		    strcmp(c->path, r->path) != 0)
			continue;
		path_known = 1;
		if (r->method != (int)c->head.method)
			continue;
		r->fn(c, c->path + len);
		return;
	}
	if (path_known)
		conn_error(c, 405, "bad_request", "%s does not take %s",
		    c->shown, http_method_str(c->head.method));
	else
		conn_error(c, 404, "not_found", "no route for %s %s",
		    http_method_str(c->head.method), c->shown);
}

/* The subprotocol to answer with, or -1 after a 400. */
static int
api_subprotocol(struct rconn *c, const char **protocol)
{
	const char	*list = conn_header(c, "Sec-WebSocket-Protocol");

	*protocol = NULL;
	if (list == NULL)
		return (0);
	if (!http_has_token(list, RELAY_SUBPROTOCOL, NULL)) {
		conn_error(c, 400, "bad_request", "offer the %s subprotocol",
		    RELAY_SUBPROTOCOL);
		return (-1);
	}
	*protocol = RELAY_SUBPROTOCOL;
	return (0);
}

static void
api_upgrade_device(struct rconn *c, const char *protocol)
{
	char	 id[RELAY_ID_LEN + 1];
	char	*addr;

	if (api_device_auth(c, id, NULL) != 0)
		return;
	addr = xstrdup(c->addr);
	splice_device(conn_upgrade(c, protocol), id, addr);
	free(addr);
}

/* A phone the relay does not know: open, then close with 4004. */
static void
api_phone_unknown(struct rconn *c)
{
	const char	*protocol;
	char		*addr;

	if (api_subprotocol(c, &protocol) != 0)
		return;
	addr = xstrdup(c->addr);
	splice_phone_unknown(conn_upgrade(c, protocol), addr);
	free(addr);
}

static void
api_upgrade_phone(struct rconn *c, const char *protocol)
{
	char	 id[RELAY_ID_LEN + 1], *device, *addr;
	int	 rc;

	if ((rc = api_phone_auth(c, id, &device)) == -1)
		return;
	if (rc == 0) {
		conn_refuse(c, api_phone_unknown);
		return;
	}
	addr = xstrdup(c->addr);
	splice_phone(conn_upgrade(c, protocol), id, device, addr);
	free(addr);
	free(device);
}

void
api_upgrade(struct rconn *c)
{
	const char	*upgrade = conn_header(c, "Upgrade");
	const char	*version = conn_header(c, "Sec-WebSocket-Version");
	const char	*protocol;
	char		*origin;
	int		 device;

	if (strcmp(c->path, "/device/ws") == 0)
		device = 1;
	else if (strcmp(c->path, "/phone/ws") == 0)
		device = 0;
	else {
		conn_error(c, 404, "not_found", "no WebSocket at %s",
		    c->shown);
		return;
	}
	if (c->head.method != HTTP_GET || upgrade == NULL ||
	    strcasecmp(upgrade, "websocket") != 0 ||
	    conn_header(c, "Sec-WebSocket-Key") == NULL ||
	    version == NULL || strcmp(version, "13") != 0) {
		conn_error(c, 400, "bad_request", "a WebSocket upgrade needs "
		    "GET, Upgrade: websocket, Sec-WebSocket-Key and "
		    "Sec-WebSocket-Version: 13");
		return;
	}
	if (!conn_origin_ok(c)) {
		origin = text_clean(conn_header(c, "Origin"), 200);
		log_warnx("%s: %s from origin %s refused", c->addr, c->shown,
		    origin);
		free(origin);
		conn_error(c, 403, "forbidden_origin", "WebSocket connections "
		    "from this origin are not allowed");
		return;
	}
	if (api_subprotocol(c, &protocol) != 0)
		return;
	if (device)
		api_upgrade_device(c, protocol);
	else
		api_upgrade_phone(c, protocol);
}

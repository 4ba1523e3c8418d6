/*
 * server/api.c: the original Loopsy's HTTP routes under /api/v1 (ORIGINAL.md
 * section b), with the same JSON shapes and numeric error codes, so existing
 * scripts and Loopsy's own MCP server can drive loopsy.  Bearer auth on every
 * route but health.  A route that does something runs the same command a
 * local client would, through a client of our own joined by a socketpair, so
 * policy, rate limits, maxConcurrent and the audit log (with the key's actor)
 * are the commands' and not repeated here.  The HTTP side (TLS, parsing,
 * keys) is listen.c's; transfer/push, which streams a multipart body, is
 * api-push.c's.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <openssl/rand.h>

#include "common/proto.h"
#include "server.h"
#include "api.h"

#define API_ONLINE_MS		(5 * 60 * 1000)	/* a peer seen this recently */

static const struct api_map api_map_exec[] = {
	{ "denied", 400, API_EXEC_DENIED },
	{ "timeout", 400, API_EXEC_TIMEOUT },
	{ "busy", 400, API_EXEC_BUSY },
	{ NULL, 400, API_EXEC_FAILED }
};
const struct api_map api_map_transfer[] = {
	{ "refused", 400, API_PATH_DENIED },
	{ "not-found", 400, API_FILE_NOT_FOUND },
	{ "not-file", 400, API_FILE_NOT_FOUND },
	{ "too-large", 400, API_TOO_LARGE },
	{ "checksum", 400, API_CHECKSUM },
	{ NULL, 400, API_TRANSFER_FAILED }
};
static const struct api_map api_map_context[] = {
	{ "no-key", 404, API_KEY_NOT_FOUND },
	{ "limit", 400, API_VALUE_TOO_LARGE },
	{ NULL, 500, API_INTERNAL }
};

static u_int	api_jobs;	/* /execute requests running, for status */

/* Errors. */

void
api_error_retry(struct hconn *h, int status, int code, u_int retry,
    const char *msg)
{
	cJSON	*j, *e;
	char	*s, extra[64];

	j = cJSON_CreateObject();
	e = cJSON_AddObjectToObject(j, "error");
	cJSON_AddNumberToObject(e, "code", code);
	cJSON_AddStringToObject(e, "message", msg);
	s = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	if (retry != 0)
		snprintf(extra, sizeof extra, "Retry-After: %u\r\n", retry);
	http_reply(h, status, "application/json", s, strlen(s),
	    retry != 0 ? extra : NULL);
	free(s);
}

/* {"error":{"code":N,"message":...}}, as the original answers. */
void
api_error(struct hconn *h, int status, int code, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;

	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	api_error_retry(h, status, code, 0, msg);
	free(msg);
}

/* A refused key, for listen.c: 1 if the request was ours. */
int
api_refuse(struct hconn *h, int status, const char *extra)
{
	u_int	 retry = 60;

	if (h->url == NULL || strncmp(h->url, API_PREFIX,
	    strlen(API_PREFIX)) != 0)
		return (0);
	if (status == 429) {
		if (extra != NULL)
			sscanf(extra, "Retry-After: %u", &retry);
		api_error_retry(h, 429, API_RATE_LIMITED, retry,
		    "too many bad keys from this address; wait a minute");
	} else if (h->auth == NULL || strncasecmp(h->auth, "Bearer ", 7) != 0)
		api_error(h, 401, API_AUTH_MISSING, "missing API key: send "
		    "Authorization: Bearer KEY");
	else
		api_error(h, 401, API_AUTH_INVALID, "invalid API key");
	return (1);
}

/* What a command's {code, message} becomes: status, code, Retry-After. */
static void
api_map_error(const struct api_map *map, const char *from, const char *msg,
    int *status, int *code, u_int *retry)
{
	const char	*p;

	*retry = 0;
	if (strcmp(from, "rate-limited") == 0) {
		*status = 429;
		*code = API_RATE_LIMITED;
		if ((p = strstr(msg, "retry in ")) == NULL ||
		    sscanf(p, "retry in %u", retry) != 1 || *retry == 0)
			*retry = 1;
		return;
	}
	if (strcmp(from, "usage") == 0) {
		*status = 400;
		*code = API_INVALID;
		return;
	}
	for (; map->from != NULL; map++) {
		if (strcmp(map->from, from) == 0)
			break;
	}
	*status = map->status;
	*code = map->code;
	/* context_check's one code covers three of the original's. */
	if (*code == API_VALUE_TOO_LARGE && strstr(msg, "store full") != NULL)
		*code = API_MAX_ENTRIES;
	else if (*code == API_VALUE_TOO_LARGE && strncmp(msg, "value", 5) != 0)
		*code = API_INVALID;
	/* transfer-get cannot open it: "io", with errno's words. */
	if (*code == API_TRANSFER_FAILED && strstr(msg, strerror(ENOENT)))
		*code = API_FILE_NOT_FOUND;
}

/*
 * A failed reply's {code, message} in the original's terms: status, code
 * and Retry-After; the message, or msg if it has none.
 */
const char *
api_reply_error(const struct api_map *map, cJSON *r, const char *msg,
    int *status, int *code, u_int *retry)
{
	cJSON		*e = cJSON_GetObjectItem(r, "error");
	const char	*from = "error";

	if (cJSON_IsString(cJSON_GetObjectItem(e, "code")))
		from = cJSON_GetObjectItem(e, "code")->valuestring;
	if (cJSON_IsString(cJSON_GetObjectItem(e, "message")))
		msg = cJSON_GetObjectItem(e, "message")->valuestring;
	api_map_error(map, from, msg, status, code, retry);
	return (msg);
}

/* A failed reply: the command's error, in the original's terms. */
static void
api_reply_failed(struct api_call *a, cJSON *r)
{
	const char	*msg;
	int		 status, code;
	u_int		 retry;

	msg = api_reply_error(a->map, r, "command failed", &status, &code,
	    &retry);
	a->done = 1;
	api_error_retry(a->h, status, code, retry, msg);
}

/* The answer: j, with 200. */
void
api_reply_json(struct api_call *a, cJSON *j)
{
	a->done = 1;
	http_reply_json(a->h, 200, j);
}

int
api_reply_ok(cJSON *r)
{
	return (cJSON_IsTrue(cJSON_GetObjectItem(r, "ok")));
}

/* What a command printed, as JSON, or NULL. */
cJSON *
api_out_json(struct evbuffer *out)
{
	size_t	 len = evbuffer_get_length(out);

	if (len == 0)
		return (NULL);
	return (cJSON_ParseWithLength((char *)evbuffer_pullup(out, len),
	    len));
}

/* The internal client. */

static void
api_call_free(struct hconn *h)
{
	struct api_call	*a = h->api;

	if (a == NULL)
		return;
	if (a->job)
		api_jobs--;
	if (a->bev != NULL)
		bufferevent_free(a->bev);	/* the server drops the client */
	evbuffer_free(a->out);
	if (a->push != NULL)
		api_push_free(a->push);
	free(a->name);
	free(a->key);
	free(a);
	h->api = NULL;
}

static void	api_frame(struct api_call *, uint8_t, char *, size_t);

static void
api_read_cb(struct bufferevent *bev, void *arg)
{
	struct api_call	*a = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);
	uint8_t		 type;
	char		*data, *cause = NULL;
	size_t		 len;
	int		 rc;

	while ((rc = proto_take(in, &type, &data, &len, &cause)) == 1) {
		if (!a->done)
			api_frame(a, type, data, len);
		free(data);
	}
	if (rc == -1) {
		log_warnx("%s: %s", __func__, cause);
		if (!a->done) {
			a->done = 1;
			api_error(a->h, 500, API_INTERNAL, "%s", cause);
		}
		free(cause);
		bufferevent_disable(bev, EV_READ);
	}
}

/* Our frames went out: a push may send more. */
static void
api_write_cb(struct bufferevent *bev __unused, void *arg)
{
	struct api_call	*a = arg;
	struct hconn	*h = a->h;

	if (a->push != NULL && !h->complete && !h->replied && !h->freeing &&
	    h->delay == NULL)
		bufferevent_enable(h->bev, EV_READ);
}

static void
api_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct api_call	*a = arg;

	if (!(what & (BEV_EVENT_EOF|BEV_EVENT_ERROR)))
		return;
	bufferevent_disable(bev, EV_READ|EV_WRITE);
	if (a->done)
		return;
	a->done = 1;
	if (a->started)
		http_close(a->h);	/* a stream cut short */
	else
		api_error(a->h, 500, API_INTERNAL, "the server dropped the "
		    "request");
}

/* The HTTP client took what we sent: read more output for it. */
static void
api_drained(struct hconn *h)
{
	struct api_call	*a = h->api;

	if (a != NULL && a->bev != NULL && !a->done)
		bufferevent_enable(a->bev, EV_READ);
}

/* Too much queued for the HTTP client: stop reading output until it drains. */
static void
api_throttle(struct api_call *a)
{
	if (evbuffer_get_length(bufferevent_get_output(a->h->bev)) >
	    API_HIGH_WATER)
		bufferevent_disable(a->bev, EV_READ);
}

struct api_call *
api_call_new(struct hconn *h, const struct api_map *map)
{
	struct api_call	*a;
	int		 pair[2];

	if (socketpair(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC, 0, pair) != 0) {
		api_error(h, 503, API_INTERNAL, "socketpair: %s",
		    strerror(errno));
		return (NULL);
	}
	set_nonblock(pair[0]);
	set_nonblock(pair[1]);
	server_client_accept_remote(pair[0], h->actor, h->addr);

	a = xcalloc(1, sizeof *a);
	a->h = h;
	a->map = map;
	a->out = evbuffer_new();
	a->started_ms = now_ms();
	a->bev = bufferevent_socket_new(server_base, pair[1],
	    BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(a->bev, api_read_cb, api_write_cb, api_event_cb, a);
	bufferevent_setwatermark(a->bev, EV_WRITE, API_HIGH_WATER / 2, 0);
	bufferevent_enable(a->bev, EV_READ|EV_WRITE);
	proto_add_hello(bufferevent_get_output(a->bev));
	h->api = a;
	h->api_free = api_call_free;
	h->drained_cb = api_drained;
	return (a);
}

/* Send a command; fn gets its reply and what it printed. */
void
api_command(struct api_call *a, api_reply_fn fn, int argc, char **argv)
{
	cJSON	*j;

	if (a->id >= API_NCMDS)
		fatalx("%s: too many commands", __func__);
	j = proto_command_new(++a->id, argc, argv);
	a->reply[a->id] = fn;
	proto_add_cjson(bufferevent_get_output(a->bev), MSG_COMMAND, j);
}

static void	api_stream_output(struct api_call *, int, const char *,
		    size_t);
static void	api_pull_data(struct api_call *, const char *, size_t);

static void
api_frame(struct api_call *a, uint8_t type, char *data, size_t len)
{
	cJSON		*r, *id;
	api_reply_fn	 fn = NULL;

	switch (type) {
	case MSG_STDOUT:
	case MSG_STDERR:
		if (a->sse)
			api_stream_output(a, type == MSG_STDERR, data, len);
		else if (type == MSG_STDOUT)
			evbuffer_add(a->out, data, len);
		break;
	case MSG_DATA:
		api_pull_data(a, data, len);
		break;
	case MSG_REPLY:
		if ((r = cJSON_Parse(data)) == NULL)
			break;
		id = cJSON_GetObjectItem(r, "id");
		if (cJSON_IsNumber(id) && id->valueint >= 0 &&
		    id->valueint <= API_NCMDS)
			fn = a->reply[id->valueint];
		if (fn != NULL) {
			if (id->valueint != 0)
				a->reply[id->valueint] = NULL;
			fn(a, r, a->out);
		}
		evbuffer_drain(a->out, evbuffer_get_length(a->out));
		cJSON_Delete(r);
		break;
	case MSG_HELLO:
		if ((r = cJSON_Parse(data)) != NULL &&
		    cJSON_GetObjectItem(r, "error") != NULL) {
			a->done = 1;
			api_error(a->h, 500, API_INTERNAL, "hello refused");
		}
		cJSON_Delete(r);
		break;
	}
}

/* Requests. */

/* The body as a JSON object, or NULL having answered 400. */
static cJSON *
api_body(struct hconn *h)
{
	cJSON	*j;
	size_t	 len;

	if (h->body == NULL || (len = evbuffer_get_length(h->body)) == 0) {
		api_error(h, 400, API_INVALID, "missing JSON body");
		return (NULL);
	}
	j = cJSON_ParseWithLength((char *)evbuffer_pullup(h->body, len), len);
	if (j == NULL || !cJSON_IsObject(j)) {
		cJSON_Delete(j);
		api_error(h, 400, API_INVALID, "malformed JSON body: expected "
		    "an object");
		return (NULL);
	}
	return (j);
}

/* A string member: NULL if missing; -1 and answered if not a string. */
static int
api_string(struct hconn *h, cJSON *j, const char *name, const char **s)
{
	cJSON	*v = cJSON_GetObjectItem(j, name);

	*s = NULL;
	if (v == NULL || cJSON_IsNull(v))
		return (0);
	if (!cJSON_IsString(v)) {
		api_error(h, 400, API_INVALID, "%s: expected a string", name);
		return (-1);
	}
	*s = v->valuestring;
	return (0);
}

/* %XX decoding; NULL if malformed or it holds a NUL. */
static char *
api_unescape(const char *s, size_t len, int plus)
{
	char	*out = xmalloc(len + 1), *o = out;
	size_t	 i;
	u_int	 c;

	for (i = 0; i < len; i++) {
		if (s[i] == '%') {
			if (i + 2 >= len) {
				free(out);
				return (NULL);
			}
			if (!isxdigit((u_char)s[i + 1]) ||
			    !isxdigit((u_char)s[i + 2]) ||
			    sscanf(s + i + 1, "%2x", &c) != 1 || c == 0) {
				free(out);
				return (NULL);
			}
			*o++ = c;
			i += 2;
		} else if (plus && s[i] == '+')
			*o++ = ' ';
		else
			*o++ = s[i];
	}
	*o = '\0';
	return (out);
}

/* A query parameter, decoded, or NULL. */
static char *
api_query(const char *url, const char *name)
{
	const char	*q = strchr(url, '?'), *p, *e;
	size_t		 n = strlen(name);

	for (p = q; p != NULL; p = strchr(p, '&')) {
		p++;
		e = p + strcspn(p, "&#");
		if ((size_t)(e - p) > n && strncmp(p, name, n) == 0 &&
		    p[n] == '=')
			return (api_unescape(p + n + 1, e - p - n - 1, 1));
	}
	return (NULL);
}

static void
api_uuid(char *out, size_t len)
{
	u_char	 b[16];
	u_int	 i;

	if (RAND_bytes(b, sizeof b) != 1)
		fatalx("%s: RAND_bytes", __func__);
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	*out = '\0';
	for (i = 0; i < 16; i++) {
		snprintf(out + strlen(out), len - strlen(out), "%02x%s", b[i],
		    (i == 3 || i == 5 || i == 7 || i == 9) ? "-" : "");
	}
}

static double
api_wall_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((double)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

static const char *
api_platform(void)
{
	static char	 name[64];
	struct utsname	 u;
	size_t		 i;

	if (*name == '\0') {
		if (uname(&u) != 0)
			strlcpy(name, "unknown", sizeof name);
		else
			strlcpy(name, u.sysname, sizeof name);
		for (i = 0; name[i] != '\0'; i++)
			name[i] = tolower((u_char)name[i]);
	}
	return (name);
}

/* Health, identity, status, peers: from what the server knows. */

static void
api_health(struct hconn *h, const char *rest __unused)
{
	cJSON	*j = cJSON_CreateObject();

	cJSON_AddStringToObject(j, "status", "ok");
	cJSON_AddStringToObject(j, "nodeId", msg_hostname());
	cJSON_AddNumberToObject(j, "uptime",
	    (double)(time(NULL) - server_started) * 1000);
	cJSON_AddStringToObject(j, "version", PACKAGE_VERSION);
	http_reply_json(h, 200, j);
}

static cJSON *
api_identity_json(void)
{
	cJSON	*j = cJSON_CreateObject();

	cJSON_AddStringToObject(j, "nodeId", msg_hostname());
	cJSON_AddStringToObject(j, "hostname", msg_hostname());
	cJSON_AddStringToObject(j, "platform", api_platform());
	cJSON_AddStringToObject(j, "version", PACKAGE_VERSION);
	return (j);
}

static void
api_identity(struct hconn *h, const char *rest __unused)
{
	cJSON	*j = api_identity_json(), *a;

	cJSON_AddNumberToObject(j, "port", listen_port());
	a = cJSON_AddArrayToObject(j, "capabilities");
	cJSON_AddItemToArray(a, cJSON_CreateString("execute"));
	cJSON_AddItemToArray(a, cJSON_CreateString("transfer"));
	cJSON_AddItemToArray(a, cJSON_CreateString("context"));
	http_reply_json(h, 200, j);
}

/* online, offline, or unknown (never reached), from peers.json. */
static const char *
api_peer_status(const struct peer *p, uint64_t now)
{
	if (p->seen_ms == 0)
		return ("unknown");
	if (now - p->seen_ms < API_ONLINE_MS)
		return ("online");
	return ("offline");
}

static void
api_status(struct hconn *h, const char *rest __unused)
{
	struct peers	 ps;
	struct session	*s;
	cJSON		*j = api_identity_json(), *o;
	char		*cause = NULL;
	uint64_t	 now = api_wall_ms();
	u_int		 i, online = 0, n = 0, running = 0;

	if (peers_load(&ps, &cause) == 0) {
		for (i = 0; i < ps.n; i++) {
			if (strcmp(api_peer_status(&ps.v[i], now),
			    "online") == 0)
				online++;
		}
		n = ps.n;
		peers_clear(&ps);
	}
	free(cause);
	TAILQ_FOREACH(s, &sessions, entry) {
		if (!s->dead)
			running++;
	}
	cJSON_AddNumberToObject(j, "uptime",
	    (double)(time(NULL) - server_started) * 1000);
	o = cJSON_AddObjectToObject(j, "peers");
	cJSON_AddNumberToObject(o, "total", n);
	cJSON_AddNumberToObject(o, "online", online);
	cJSON_AddNumberToObject(o, "offline", n - online);
	o = cJSON_AddObjectToObject(j, "jobs");
	cJSON_AddNumberToObject(o, "active", api_jobs);
	cJSON_AddNumberToObject(o, "total", 0);
	o = cJSON_AddObjectToObject(j, "context");
	context_purge();
	cJSON_AddNumberToObject(o, "entries", context_count());
	o = cJSON_AddObjectToObject(j, "sessions");
	cJSON_AddNumberToObject(o, "total", session_count());
	cJSON_AddNumberToObject(o, "running", running);
	http_reply_json(h, 200, j);
}

/* PeerInfo for each peer of peers.json; never a key. */
static void
api_peers(struct hconn *h, const char *rest __unused)
{
	struct peers	 ps;
	struct peer	*p;
	cJSON		*j, *a, *o;
	char		*cause = NULL;
	uint64_t	 now = api_wall_ms();
	u_int		 i;

	if (peers_load(&ps, &cause) != 0) {
		api_error(h, 500, API_INTERNAL, "%s", cause);
		free(cause);
		return;
	}
	j = cJSON_CreateObject();
	a = cJSON_AddArrayToObject(j, "peers");
	for (i = 0; i < ps.n; i++) {
		p = &ps.v[i];
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "nodeId", p->name);
		cJSON_AddStringToObject(o, "hostname", p->name);
		cJSON_AddStringToObject(o, "address", p->host);
		cJSON_AddNumberToObject(o, "port", p->port);
		cJSON_AddStringToObject(o, "platform", "unknown");
		cJSON_AddStringToObject(o, "version", "unknown");
		cJSON_AddArrayToObject(o, "capabilities");
		cJSON_AddStringToObject(o, "status", api_peer_status(p, now));
		cJSON_AddNumberToObject(o, "lastSeen", (double)p->seen_ms);
		cJSON_AddNumberToObject(o, "failureCount", 0);
		cJSON_AddBoolToObject(o, "trusted", p->fingerprint != NULL);
		cJSON_AddBoolToObject(o, "manuallyAdded", p->how == NULL ||
		    strcmp(p->how, "paired") != 0);
		cJSON_AddItemToArray(a, o);
	}
	peers_clear(&ps);
	http_reply_json(h, 200, j);
}

/* execute and execute/stream: the exec command. */

static void
api_argv_free(int argc, char **argv)
{
	while (argc > 0)
		free(argv[--argc]);
	free(argv);
}

/* exec's argv from {command, args, cwd, env, timeout}; NULL if answered. */
static char **
api_exec_argv(struct hconn *h, cJSON *j, int json, int *argcp)
{
	cJSON		*args, *env, *timeout, *v;
	const char	*command, *cwd;
	char		**argv, s[64];
	int		 argc = 0, n;

	if (api_string(h, j, "command", &command) != 0 ||
	    api_string(h, j, "cwd", &cwd) != 0)
		return (NULL);
	if (command == NULL || *command == '\0') {
		api_error(h, 400, API_INVALID, "missing command");
		return (NULL);
	}
	args = cJSON_GetObjectItem(j, "args");
	env = cJSON_GetObjectItem(j, "env");
	timeout = cJSON_GetObjectItem(j, "timeout");
	if (args != NULL && !cJSON_IsNull(args) && !cJSON_IsArray(args)) {
		api_error(h, 400, API_INVALID, "args: expected an array");
		return (NULL);
	}
	if (env != NULL && !cJSON_IsNull(env) && !cJSON_IsObject(env)) {
		api_error(h, 400, API_INVALID, "env: expected an object");
		return (NULL);
	}
	if (timeout != NULL && !cJSON_IsNull(timeout) &&
	    (!cJSON_IsNumber(timeout) || !(timeout->valuedouble > 0) ||
	    timeout->valuedouble > 1e10)) {
		api_error(h, 400, API_INVALID, "timeout: expected a positive "
		    "number of milliseconds");
		return (NULL);
	}
	n = 8 + cJSON_GetArraySize(args) + 2 * cJSON_GetArraySize(env);
	argv = xcalloc(n + 1, sizeof *argv);
	argv[argc++] = xstrdup("exec");
	if (json)
		argv[argc++] = xstrdup("--json");
	if (cwd != NULL) {
		argv[argc++] = xstrdup("--cwd");
		argv[argc++] = xstrdup(cwd);
	}
	if (cJSON_IsNumber(timeout)) {
		snprintf(s, sizeof s, "%.3f", timeout->valuedouble / 1000);
		argv[argc++] = xstrdup("--timeout");
		argv[argc++] = xstrdup(s);
	}
	cJSON_ArrayForEach(v, env) {
		if (!cJSON_IsString(v))
			goto bad_env;
		argv[argc++] = xstrdup("--env");
		xasprintf(&argv[argc++], "%s=%s", v->string, v->valuestring);
	}
	argv[argc++] = xstrdup("--");
	argv[argc++] = xstrdup(command);
	cJSON_ArrayForEach(v, args) {
		if (!cJSON_IsString(v)) {
			api_error(h, 400, API_INVALID, "args: expected "
			    "strings");
			goto fail;
		}
		argv[argc++] = xstrdup(v->valuestring);
	}
	*argcp = argc;
	return (argv);
bad_env:
	api_error(h, 400, API_INVALID, "env: expected string values");
fail:
	api_argv_free(argc, argv);
	return (NULL);
}

/* exec --json's result as {jobId, exitCode, stdout, stderr, ...}. */
static void
api_execute_done(struct api_call *a, cJSON *r, struct evbuffer *out)
{
	cJSON	*e = api_out_json(out), *j, *v, *t;
	int	 killed;

	if (e == NULL || cJSON_GetObjectItem(e, "exit") == NULL) {
		cJSON_Delete(e);
		api_reply_failed(a, r);
		return;
	}
	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "jobId", a->jobid);
	v = cJSON_GetObjectItem(e, "exit");
	if (cJSON_IsNumber(v))
		cJSON_AddNumberToObject(j, "exitCode", v->valuedouble);
	else
		cJSON_AddNullToObject(j, "exitCode");
	v = cJSON_GetObjectItem(e, "stdout");
	cJSON_AddStringToObject(j, "stdout", cJSON_IsString(v) ?
	    v->valuestring : "");
	v = cJSON_GetObjectItem(e, "stderr");
	cJSON_AddStringToObject(j, "stderr", cJSON_IsString(v) ?
	    v->valuestring : "");
	v = cJSON_GetObjectItem(e, "duration_ms");
	cJSON_AddNumberToObject(j, "duration", cJSON_IsNumber(v) ?
	    (double)(long long)(v->valuedouble + 0.5) : 0);
	killed = cJSON_IsString(cJSON_GetObjectItem(e, "signal")) ||
	    cJSON_IsTrue(cJSON_GetObjectItem(e, "timed_out"));
	cJSON_AddBoolToObject(j, "killed", killed);
	cJSON_AddBoolToObject(j, "timedOut",
	    cJSON_IsTrue(cJSON_GetObjectItem(e, "timed_out")));
	t = cJSON_GetObjectItem(e, "truncated");
	cJSON_AddBoolToObject(j, "truncated",
	    cJSON_IsTrue(cJSON_GetObjectItem(t, "stdout")) ||
	    cJSON_IsTrue(cJSON_GetObjectItem(t, "stderr")));
	cJSON_Delete(e);
	api_reply_json(a, j);
}

/* The HTTP client hanging up ends the program: read to see it go. */
void
api_watch_hangup(struct hconn *h)
{
	struct timeval	 tv = { 30, 0 };

	bufferevent_set_timeouts(h->bev, NULL, &tv);
	bufferevent_enable(h->bev, EV_READ);
}

/*
 * Valid UTF-8 for JSON: a sequence split between frames is kept for the
 * next one; bad bytes and NUL become U+FFFD.
 */
static char *
api_utf8(struct api_call *a, int i, const char *data, size_t len, int last)
{
	struct buf	 in, o;
	const u_char	*p;
	size_t		 k, n, j, want;
	uint32_t	 c;
	char		*s;

	buf_init(&in);
	buf_init(&o);
	buf_add(&in, a->carry[i], a->ncarry[i]);
	buf_add(&in, data, len);
	a->ncarry[i] = 0;
	p = (const u_char *)in.data;
	for (k = 0; k < in.len; k += n) {
		if ((n = utf8_next(p + k, in.len - k, &c)) != 0 && c != 0) {
			buf_add(&o, p + k, n);
			continue;
		}
		/* A sequence cut by the end of the read: the rest comes. */
		want = p[k] >= 0xc2 && p[k] < 0xe0 ? 2 : p[k] >= 0xe0 &&
		    p[k] < 0xf0 ? 3 : p[k] >= 0xf0 && p[k] < 0xf5 ? 4 : 0;
		for (j = 1; j < in.len - k && (p[k + j] & 0xc0) == 0x80; j++)
			;
		if (!last && want != 0 && k + want > in.len &&
		    k + j == in.len) {
			a->ncarry[i] = in.len - k;
			memcpy(a->carry[i], p + k, a->ncarry[i]);
			break;
		}
		buf_add(&o, "\xef\xbf\xbd", 3);
		n = 1;
	}
	buf_add(&o, "", 1);
	s = xstrdup(o.data);
	buf_free(&o);
	buf_free(&in);
	return (s);
}

static void
api_sse_start(struct api_call *a)
{
	struct hconn	*h = a->h;

	if (a->started)
		return;
	a->started = 1;
	h->replied = 1;
	h->status = 200;
	evbuffer_add_printf(bufferevent_get_output(h->bev),
	    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
	    "Cache-Control: no-cache\r\nConnection: close\r\n\r\n");
	bufferevent_enable(h->bev, EV_WRITE);
}

/* One event: data: {"type", "data", "jobId", "timestamp"}. */
static void
api_sse_event(struct api_call *a, const char *type, const char *data)
{
	cJSON	*j = cJSON_CreateObject();
	char	*s;

	api_sse_start(a);
	cJSON_AddStringToObject(j, "type", type);
	cJSON_AddStringToObject(j, "data", data);
	cJSON_AddStringToObject(j, "jobId", a->jobid);
	cJSON_AddNumberToObject(j, "timestamp", api_wall_ms());
	s = cJSON_PrintUnformatted(j);
	evbuffer_add_printf(bufferevent_get_output(a->h->bev), "data: %s\n\n",
	    s);
	free(s);
	cJSON_Delete(j);
}

static void
api_stream_output(struct api_call *a, int i, const char *data, size_t len)
{
	char	*s = api_utf8(a, i, data, len, 0);

	if (*s != '\0')
		api_sse_event(a, i == 0 ? "stdout" : "stderr", s);
	free(s);
	api_throttle(a);
}

/* The program ended (or never started): the last events, or an error. */
static void
api_stream_done(struct api_call *a, cJSON *r, struct evbuffer *out __unused)
{
	cJSON		*e = cJSON_GetObjectItem(r, "error");
	cJSON		*code = cJSON_GetObjectItem(e, "code");
	cJSON		*msg = cJSON_GetObjectItem(e, "message");
	cJSON		*x = cJSON_GetObjectItem(r, "exit");
	struct hconn	*h = a->h;
	char		 s[32], *rest;
	int		 i, ran;

	/* Refused before it ran: an HTTP error, as for execute. */
	ran = a->started || e == NULL || (cJSON_IsString(code) &&
	    (strcmp(code->valuestring, "timeout") == 0 ||
	    strcmp(code->valuestring, "server-exited") == 0));
	if (!ran) {
		api_reply_failed(a, r);
		return;
	}
	for (i = 0; i < 2; i++) {
		rest = api_utf8(a, i, "", 0, 1);
		if (*rest != '\0')
			api_sse_event(a, i == 0 ? "stdout" : "stderr", rest);
		free(rest);
	}
	if (cJSON_IsString(msg))
		api_sse_event(a, "error", msg->valuestring);
	snprintf(s, sizeof s, "%d", cJSON_IsNumber(x) ? x->valueint : 0);
	api_sse_event(a, "exit", s);
	a->done = 1;
	h->close_after = 1;
}

/*
 * Both execute routes: exec --json answered as one object, or (sse) its
 * output streamed as server-sent events.
 */
static void
api_exec_start(struct hconn *h, int sse)
{
	struct api_call	*a;
	cJSON		*j;
	char		**argv;
	int		 argc;

	if ((j = api_body(h)) == NULL)
		return;
	argv = api_exec_argv(h, j, !sse, &argc);
	cJSON_Delete(j);
	if (argv == NULL || (a = api_call_new(h, api_map_exec)) == NULL)
		goto out;
	if (sse) {
		snprintf(a->jobid, sizeof a->jobid, "stream-%.0f",
		    api_wall_ms());
		a->sse = 1;
	} else {
		api_uuid(a->jobid, sizeof a->jobid);
		a->job = 1;
		api_jobs++;
	}
	api_command(a, sse ? api_stream_done : api_execute_done, argc, argv);
	api_watch_hangup(h);
out:
	if (argv != NULL)
		api_argv_free(argc, argv);
}

static void
api_execute(struct hconn *h, const char *rest __unused)
{
	api_exec_start(h, 0);
}

static void
api_execute_stream(struct hconn *h, const char *rest __unused)
{
	api_exec_start(h, 1);
}

/*
 * Run "cmd [--json] -- arg" for the route, arg kept in a->key; fn gets the
 * reply.  The call, or NULL having answered.
 */
static struct api_call *
api_command_on(struct hconn *h, const struct api_map *map, api_reply_fn fn,
    const char *cmd, int json, char *arg)
{
	struct api_call	*a;
	char		*argv[4];
	int		 argc = 0;

	if ((a = api_call_new(h, map)) == NULL)
		return (NULL);
	a->key = xstrdup(arg);
	argv[argc++] = (char *)cmd;
	if (json)
		argv[argc++] = "--json";
	argv[argc++] = "--";
	argv[argc++] = arg;
	api_command(a, fn, argc, argv);
	return (a);
}

/* context: context-set, -get, -delete and -list. */

static char *
api_context_key(struct hconn *h, const char *rest)
{
	char	*key;

	key = api_unescape(rest, strcspn(rest, "?#"), 0);
	if (key == NULL || *key == '\0') {
		free(key);
		api_error(h, 400, API_INVALID, "bad key in the URL");
		return (NULL);
	}
	return (key);
}

/* ContextEntry: {key, value, fromNodeId, createdAt, updatedAt, ...}. */
static cJSON *
api_context_entry(struct api_call *a, cJSON *e)
{
	cJSON	*v;

	cJSON_AddStringToObject(e, "fromNodeId", a->h->actor);
	if ((v = cJSON_GetObjectItem(e, "expiresAt")) != NULL &&
	    cJSON_IsNumber(cJSON_GetObjectItem(e, "updatedAt")))
		cJSON_AddNumberToObject(e, "ttl", (double)(long long)
		    ((v->valuedouble - cJSON_GetObjectItem(e,
		    "updatedAt")->valuedouble) / 1000 + 0.5));
	return (e);
}


/* The key was set: answer with its entry, read from the store. */
static void
api_context_set_done(struct api_call *a, cJSON *r,
    struct evbuffer *out __unused)
{
	const struct context_entry	*ce;

	if (!api_reply_ok(r)) {
		api_reply_failed(a, r);
		return;
	}
	a->done = 1;
	if ((ce = context_get(a->key)) == NULL) {
		api_error(a->h, 404, API_KEY_NOT_FOUND, "key '%s' not found",
		    a->key);
		return;
	}
	api_reply_json(a, api_context_entry(a, context_entry_to_json(ce, 1)));
}

static void
api_context_got(struct api_call *a, cJSON *r, struct evbuffer *out)
{
	cJSON	*e;

	if (!api_reply_ok(r) || (e = api_out_json(out)) == NULL) {
		api_reply_failed(a, r);
		return;
	}
	api_reply_json(a, api_context_entry(a, e));
}

static void
api_context_deleted(struct api_call *a, cJSON *r,
    struct evbuffer *out __unused)
{
	cJSON	*j;

	if (!api_reply_ok(r)) {
		api_reply_failed(a, r);
		return;
	}
	j = cJSON_CreateObject();
	cJSON_AddBoolToObject(j, "success", 1);
	cJSON_AddStringToObject(j, "key", a->key);
	api_reply_json(a, j);
}

static void
api_context_listed(struct api_call *a, cJSON *r, struct evbuffer *out)
{
	cJSON	*j, *e;

	if (!api_reply_ok(r) || (j = api_out_json(out)) == NULL) {
		api_reply_failed(a, r);
		return;
	}
	cJSON_ArrayForEach(e, cJSON_GetObjectItem(j, "entries"))
		api_context_entry(a, e);
	api_reply_json(a, j);
}

static void
api_context_put(struct hconn *h, const char *rest)
{
	struct api_call	*a;
	cJSON		*j, *ttl;
	const char	*value;
	char		*key = NULL, s[32], *argv[7];
	int		 argc = 0;

	if ((j = api_body(h)) == NULL)
		return;
	if (api_string(h, j, "value", &value) != 0)
		goto out;
	if (value == NULL || *value == '\0') {
		api_error(h, 400, API_INVALID, "missing value");
		goto out;
	}
	ttl = cJSON_GetObjectItem(j, "ttl");
	if (ttl != NULL && !cJSON_IsNull(ttl) && (!cJSON_IsNumber(ttl) ||
	    ttl->valuedouble < 1 || ttl->valuedouble > CONTEXT_MAX_TTL ||
	    ttl->valuedouble != (double)(long long)ttl->valuedouble)) {
		api_error(h, 400, API_INVALID, "ttl: expected whole seconds "
		    "from 1 to %d", CONTEXT_MAX_TTL);
		goto out;
	}
	if ((key = api_context_key(h, rest)) == NULL ||
	    (a = api_call_new(h, api_map_context)) == NULL)
		goto out;
	a->key = xstrdup(key);
	argv[argc++] = "context-set";
	if (cJSON_IsNumber(ttl)) {
		snprintf(s, sizeof s, "%.0f", ttl->valuedouble);
		argv[argc++] = "--ttl";
		argv[argc++] = s;
	}
	argv[argc++] = "--";
	argv[argc++] = key;
	argv[argc++] = (char *)value;
	api_command(a, api_context_set_done, argc, argv);
out:
	free(key);
	cJSON_Delete(j);
}

static void
api_context_get(struct hconn *h, const char *rest)
{
	char	*key;

	if ((key = api_context_key(h, rest)) == NULL)
		return;
	api_command_on(h, api_map_context, api_context_got, "context-get", 1,
	    key);
	free(key);
}

static void
api_context_delete(struct hconn *h, const char *rest)
{
	char	*key;

	if ((key = api_context_key(h, rest)) == NULL)
		return;
	api_command_on(h, api_map_context, api_context_deleted,
	    "context-delete", 0, key);
	free(key);
}

static void
api_context_list(struct hconn *h, const char *rest __unused)
{
	struct api_call	*a;
	char		*prefix = api_query(h->url, "prefix"), *argv[4];
	int		 argc = 0;

	if ((a = api_call_new(h, api_map_context)) != NULL) {
		argv[argc++] = "context-list";
		argv[argc++] = "--json";
		if (prefix != NULL && *prefix != '\0') {
			argv[argc++] = "--prefix";
			argv[argc++] = prefix;
		}
		api_command(a, api_context_listed, argc, argv);
	}
	free(prefix);
}

/* transfer/list: ls-files. */

static void
api_list_done(struct api_call *a, cJSON *r, struct evbuffer *out)
{
	static const char	*same[] = { "name", "path", "type", "size" };
	cJSON			*in, *j, *files, *e, *f, *m;
	struct tm		 tm;
	u_int			 i;

	if (!api_reply_ok(r) || (in = api_out_json(out)) == NULL) {
		api_reply_failed(a, r);
		return;
	}
	j = cJSON_CreateObject();
	files = cJSON_AddArrayToObject(j, "files");
	cJSON_ArrayForEach(e, in) {
		f = cJSON_CreateObject();
		for (i = 0; i < nitems(same); i++) {
			cJSON_AddItemToObject(f, same[i],
			    cJSON_DetachItemFromObject(e, same[i]));
		}
		m = cJSON_GetObjectItem(e, "modified");
		memset(&tm, 0, sizeof tm);
		if (cJSON_IsString(m) && strptime(m->valuestring,
		    "%Y-%m-%dT%H:%M:%SZ", &tm) != NULL)
			cJSON_AddNumberToObject(f, "modified",
			    (double)timegm(&tm) * 1000);
		else
			cJSON_AddNumberToObject(f, "modified", 0);
		cJSON_AddItemToArray(files, f);
	}
	cJSON_Delete(in);
	api_reply_json(a, j);
}

/* {sourcePath} or {path}: the path, or NULL having answered. */
static char *
api_path_member(struct hconn *h, const char *name)
{
	cJSON		*j;
	const char	*s;
	char		*path = NULL;

	if ((j = api_body(h)) == NULL)
		return (NULL);
	if (api_string(h, j, name, &s) == 0) {
		if (s == NULL || *s == '\0')
			api_error(h, 400, API_INVALID, "missing %s", name);
		else
			path = xstrdup(s);
	}
	cJSON_Delete(j);
	return (path);
}

static void
api_list(struct hconn *h, const char *rest __unused)
{
	char	*path;

	if ((path = api_path_member(h, "path")) == NULL)
		return;
	api_command_on(h, api_map_transfer, api_list_done, "ls-files", 1, path);
	free(path);
}

/* transfer/pull: transfer-get, its frames sent on as a chunked body. */

static void
api_pull_start(struct api_call *a)
{
	struct hconn	*h = a->h;
	struct evbuffer	*out = bufferevent_get_output(h->bev);
	struct stat	 sb;
	char		*resolved, *cause = NULL, *p;

	if (a->started)
		return;
	a->started = 1;
	h->replied = 1;
	h->status = 200;
	for (p = a->name; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\' || (u_char)*p < 0x20)
			*p = '_';
	}
	evbuffer_add_printf(out, "HTTP/1.1 200 OK\r\n"
	    "Content-Type: application/octet-stream\r\n"
	    "Content-Disposition: attachment; filename=\"%s\"\r\n", a->name);
	/* The size transfer-get is sending (it checked the path already). */
	if ((resolved = policy_path_check(a->key, NULL, &cause)) != NULL &&
	    stat(resolved, &sb) == 0 && S_ISREG(sb.st_mode))
		evbuffer_add_printf(out, "X-Loopsy-File-Size: %lld\r\n",
		    (long long)sb.st_size);
	free(resolved);
	free(cause);
	evbuffer_add_printf(out, "Transfer-Encoding: chunked\r\n"
	    "Cache-Control: no-store\r\nConnection: close\r\n\r\n");
	bufferevent_enable(h->bev, EV_WRITE);
}

static void
api_pull_data(struct api_call *a, const char *data, size_t len)
{
	struct evbuffer	*out = bufferevent_get_output(a->h->bev);

	if (a->name == NULL || len == 0)
		return;
	api_pull_start(a);
	evbuffer_add_printf(out, "%zx\r\n", len);
	evbuffer_add(out, data, len);
	evbuffer_add(out, "\r\n", 2);
	api_throttle(a);
}

static void
api_pull_done(struct api_call *a, cJSON *r, struct evbuffer *out __unused)
{
	if (!api_reply_ok(r)) {
		if (a->started) {
			/* No last chunk: the client sees it cut short. */
			a->done = 1;
			http_close(a->h);
		} else
			api_reply_failed(a, r);
		return;
	}
	api_pull_start(a);
	evbuffer_add(bufferevent_get_output(a->h->bev), "0\r\n\r\n", 5);
	a->done = 1;
	a->h->close_after = 1;
}

static void
api_pull(struct hconn *h, const char *rest __unused)
{
	struct api_call	*a;
	char		*path, *slash;

	if ((path = api_path_member(h, "sourcePath")) == NULL)
		return;
	a = api_command_on(h, api_map_transfer, api_pull_done, "transfer-get",
	    0, path);
	if (a != NULL) {
		/* Frames come back only from the event loop: in time. */
		slash = strrchr(path, '/');
		a->name = xstrdup(slash != NULL && slash[1] != '\0' ?
		    slash + 1 : "file");
		api_watch_hangup(h);
	}
	free(path);
}

int
api_discard(struct hconn *h __unused, const char *at __unused,
    size_t len __unused)
{
	return (0);
}

/* Routing. */

static const struct api_route {
	int		 method;
	const char	*path;
	int		 key;		/* /path/KEY */
	void		(*fn)(struct hconn *, const char *);
} api_routes[] = {
	{ HTTP_GET, "/api/v1/health", 0, api_health },
	{ HTTP_GET, "/api/v1/identity", 0, api_identity },
	{ HTTP_GET, "/api/v1/status", 0, api_status },
	{ HTTP_GET, "/api/v1/peers", 0, api_peers },
	{ HTTP_POST, "/api/v1/execute", 0, api_execute },
	{ HTTP_POST, "/api/v1/execute/stream", 0, api_execute_stream },
	{ HTTP_GET, "/api/v1/context", 0, api_context_list },
	{ HTTP_PUT, "/api/v1/context/", 1, api_context_put },
	{ HTTP_GET, "/api/v1/context/", 1, api_context_get },
	{ HTTP_DELETE, "/api/v1/context/", 1, api_context_delete },
	{ HTTP_POST, "/api/v1/transfer/push", 0, api_push },
	{ HTTP_POST, "/api/v1/transfer/pull", 0, api_pull },
	{ HTTP_POST, "/api/v1/transfer/list", 0, api_list },
};

/* The route for the URL; *other if the path is known but not the method. */
static const struct api_route *
api_route(struct hconn *h, const char **rest, int *other)
{
	const struct api_route	*r;
	size_t			 n = strcspn(h->url, "?#"), len;
	u_int			 i;

	*other = 0;
	for (i = 0; i < nitems(api_routes); i++) {
		r = &api_routes[i];
		len = strlen(r->path);
		if (r->key ? (n <= len || strncmp(h->url, r->path, len) != 0) :
		    (n != len || strncmp(h->url, r->path, n) != 0))
			continue;
		if (r->method != h->method) {
			*other = 1;
			continue;
		}
		*rest = h->url + len;
		return (r);
	}
	return (NULL);
}

/* At the end of the head (listen.c): the key, and a push's streaming. */
void
api_headers(struct hconn *h)
{
	const struct api_route	*r;
	const char		*rest;
	int			 other;

	if (h->url == NULL || strncmp(h->url, API_PREFIX,
	    strlen(API_PREFIX)) != 0)
		return;
	r = api_route(h, &rest, &other);
	if (r != NULL && r->fn == api_health)
		return;
	if (http_authorize(h) != 0) {
		h->body_cb = api_discard;	/* the answer is 401 */
		return;
	}
	if (r != NULL && r->fn == api_push)
		api_push_start(h);
}

/* A whole request: 1 if it is ours (answered, or being answered). */
int
api_request(struct hconn *h)
{
	const struct api_route	*r;
	const char		*rest = NULL;
	int			 other;

	if (strncmp(h->url, API_PREFIX, strlen(API_PREFIX)) != 0)
		return (0);
	r = api_route(h, &rest, &other);
	if (r == NULL || r->fn != api_health) {
		if (h->actor == NULL || h->delay != NULL)
			return (1);	/* refused at the head */
		if (h->api != NULL && (r == NULL || r->fn != api_push))
			return (1);	/* running already */
	}
	if (r != NULL) {
		r->fn(h, rest);
		return (1);
	}
	if (other) {
		api_error(h, 405, API_INVALID, "%s is not allowed on %.*s",
		    http_method_str(h->method), (int)strcspn(h->url, "?#"),
		    h->url);
	} else {
		api_error(h, 404, API_INVALID, "no route for %s %.*s",
		    http_method_str(h->method), (int)strcspn(h->url, "?#"),
		    h->url);
	}
	return (1);
}

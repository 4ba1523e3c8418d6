/*
 * server/relay-conf.c: what the relay link and its commands share: the
 * relay's URL, ~/.loopsy/relay.json (this machine's registration: device id
 * and secret, a pinned certificate, revokes not yet told; 0600, written
 * atomically under an flock the server never waits for), base64url, the
 * cleaning of text a relay or a phone sends before it reaches a terminal
 * or a file, a small HTTP answer reader and the check of the relay's TLS
 * certificate (the system's CAs and the host name, or a pinned
 * fingerprint).  The link itself is relay-link.c.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <event2/event.h>
#include <http_parser.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/crypto.h"
#include "common/ws.h"
#include "server.h"

#define RELAY_CONF_MAX		(256 * 1024)
#define RELAY_REPLY_BODY_MAX	(64 * 1024)
#define RELAY_REPLY_HEAD_MAX	(16 * 1024)

/* ------------------------------------------------------------ base64url */

static const char relay_b64u_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *
relay_b64u_encode(const uint8_t *in, size_t len)
{
	char		*out, *p;
	uint32_t	 v;
	size_t		 i;

	out = p = xmalloc((len + 2) / 3 * 4 + 1);
	for (i = 0; i + 2 < len; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
		    in[i + 2];
		*p++ = relay_b64u_chars[v >> 18 & 63];
		*p++ = relay_b64u_chars[v >> 12 & 63];
		*p++ = relay_b64u_chars[v >> 6 & 63];
		*p++ = relay_b64u_chars[v & 63];
	}
	if (len - i == 1) {
		v = (uint32_t)in[i] << 16;
		*p++ = relay_b64u_chars[v >> 18 & 63];
		*p++ = relay_b64u_chars[v >> 12 & 63];
	} else if (len - i == 2) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		*p++ = relay_b64u_chars[v >> 18 & 63];
		*p++ = relay_b64u_chars[v >> 12 & 63];
		*p++ = relay_b64u_chars[v >> 6 & 63];
	}
	*p = '\0';
	return (out);
}

/*
 * Decode base64url without padding into out (at most max bytes): 0 and
 * *outlen, or -1 for a character outside the alphabet, padding, a length
 * no encoding has, or too much data.
 */
int
relay_b64u_decode(const char *in, uint8_t *out, size_t max, size_t *outlen)
{
	const char	*c;
	uint32_t	 v = 0;
	size_t		 n = 0, bits = 0, len = strlen(in);

	if (len % 4 == 1)
		return (-1);
	for (; *in != '\0'; in++) {
		if ((c = strchr(relay_b64u_chars, *in)) == NULL)
			return (-1);
		v = v << 6 | (uint32_t)(c - relay_b64u_chars);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n == max)
				return (-1);
			out[n++] = v >> bits;
			v &= (1U << bits) - 1;
		}
	}
	if (v != 0)		/* nonzero leftover bits: not canonical */
		return (-1);
	*outlen = n;
	return (0);
}

/* Exactly len bytes of base64url. */
int
relay_b64u_decode_exact(const char *in, uint8_t *out, size_t len)
{
	size_t	 n;

	if (in == NULL || relay_b64u_decode(in, out, len, &n) != 0 || n != len)
		return (-1);
	return (0);
}

/* "d" or "p" and 22 base64url characters (16 random bytes). */
int
relay_valid_id(const char *s, char kind)
{
	uint8_t	 raw[16];

	if (s == NULL || s[0] != kind || strlen(s) != 23)
		return (0);
	return (relay_b64u_decode_exact(s + 1, raw, sizeof raw) == 0);
}

/* ----------------------------------------------------------------- text */

/*
 * Text from a relay or a phone, safe to print to a terminal or store:
 * valid UTF-8 only (each byte of an invalid sequence becomes '?'),
 * control characters (C0, DEL, C1, bidirectional overrides) removed, at
 * most max bytes of whole characters.  NULL gives "".
 */
char *
relay_safe_text(const char *in, size_t max)
{
	const u_char	*s = (const u_char *)(in != NULL ? in : "");
	size_t		 n = strlen((const char *)s), len, used = 0;
	uint32_t	 c;
	char		*out = xmalloc(max + 1);

	while (n > 0) {
		if ((len = utf8_next(s, n, &c)) == 0) {
			if (used + 1 > max)
				break;
			out[used++] = '?';
			s++;
			n--;
			continue;
		}
		if (!utf8_is_control(c)) {
			if (used + len > max)
				break;
			memcpy(out + used, s, len);
			used += len;
		}
		s += len;
		n -= len;
	}
	out[used] = '\0';
	return (out);
}

/* ------------------------------------------------------------------ URL */

void
relay_url_free(struct relay_url *u)
{
	free(u->host);
	free(u->base);
	free(u->text);
	memset(u, 0, sizeof *u);
}

/*
 * http://host[:port][/prefix] or https://...; no user, query or fragment.
 * text is the URL without a trailing slash, base the prefix (may be "").
 */
int
relay_url_parse(const char *s, struct relay_url *u, char **cause)
{
	struct http_parser_url	 pu;
	size_t			 len = strlen(s), n;
	const char		*p;
	int			 v6;

	memset(u, 0, sizeof *u);
	if (len == 0 || len > 2048) {
		xasprintf(cause, "relay URL must be 1 to 2048 characters");
		return (-1);
	}
	for (p = s; *p != '\0'; p++) {
		if ((u_char)*p <= ' ' || *p == 0x7f) {
			xasprintf(cause, "relay URL has a space or control "
			    "character: %s", s);
			return (-1);
		}
	}
	http_parser_url_init(&pu);
	if (http_parser_parse_url(s, len, 0, &pu) != 0 ||
	    !(pu.field_set & (1 << UF_SCHEMA)) ||
	    !(pu.field_set & (1 << UF_HOST))) {
		xasprintf(cause, "not a URL: %s (expected https://HOST[:PORT]"
		    "[/PATH] or http://...)", s);
		return (-1);
	}
	n = pu.field_data[UF_SCHEMA].len;
	p = s + pu.field_data[UF_SCHEMA].off;
	if (n == 5 && strncasecmp(p, "https", 5) == 0)
		u->tls = 1;
	else if (!(n == 4 && strncasecmp(p, "http", 4) == 0)) {
		xasprintf(cause, "relay URL must be https:// or http://, not "
		    "%.*s://", (int)n, p);
		return (-1);
	}
	if (pu.field_set & ((1 << UF_QUERY) | (1 << UF_FRAGMENT) |
	    (1 << UF_USERINFO))) {
		xasprintf(cause, "relay URL must not have a user, a query or "
		    "a fragment: %s", s);
		return (-1);
	}
	u->host = xstrndup(s + pu.field_data[UF_HOST].off,
	    pu.field_data[UF_HOST].len);
	u->port = (pu.field_set & (1 << UF_PORT)) ? pu.port :
	    (u->tls ? 443 : 80);
	if (u->port == 0) {
		xasprintf(cause, "relay URL has port 0: %s", s);
		relay_url_free(u);
		return (-1);
	}
	if (pu.field_set & (1 << UF_PATH)) {
		u->base = xstrndup(s + pu.field_data[UF_PATH].off,
		    pu.field_data[UF_PATH].len);
		n = strlen(u->base);
		while (n > 0 && u->base[n - 1] == '/')
			u->base[--n] = '\0';
	} else
		u->base = xstrdup("");
	v6 = strchr(u->host, ':') != NULL;
	if (pu.field_set & (1 << UF_PORT))
		xasprintf(&u->text, "%s://%s%s%s:%u%s", u->tls ? "https" :
		    "http", v6 ? "[" : "", u->host, v6 ? "]" : "", u->port,
		    u->base);
	else
		xasprintf(&u->text, "%s://%s%s%s%s", u->tls ? "https" : "http",
		    v6 ? "[" : "", u->host, v6 ? "]" : "", u->base);
	return (0);
}

/* The Host header's value. */
char *
relay_url_hostport(const struct relay_url *u)
{
	char	*s;
	int	 v6 = strchr(u->host, ':') != NULL;

	if (u->port == (u->tls ? 443u : 80u))
		xasprintf(&s, "%s%s%s", v6 ? "[" : "", u->host, v6 ? "]" : "");
	else
		xasprintf(&s, "%s%s%s:%u", v6 ? "[" : "", u->host,
		    v6 ? "]" : "", u->port);
	return (s);
}

/* ----------------------------------------------------------- relay.json */

char *
relay_conf_path(void)
{
	return (loopsy_path("relay.json"));
}

void
relay_conf_clear(struct relay_conf *rc)
{
	u_int	 i;

	free(rc->url);
	free(rc->device_id);
	if (rc->device_secret != NULL)
		crypto_cleanse(rc->device_secret, strlen(rc->device_secret));
	free(rc->device_secret);
	free(rc->fingerprint);
	for (i = 0; i < rc->pending_revokes.n; i++)
		free(rc->pending_revokes.v[i]);
	free(rc->pending_revokes.v);
	memset(rc, 0, sizeof *rc);
}

static char *
relay_conf_string(cJSON *j, const char *name)
{
	const char	*s = cJSON_GetStringValue(cJSON_GetObjectItem(j, name));

	return (s != NULL && *s != '\0' ? xstrdup(s) : NULL);
}

/*
 * Read relay.json: 1 with rc filled, 0 if there is none (this machine is
 * not registered), -1 with *cause for a file that is there but bad.
 */
int
relay_conf_load(struct relay_conf *rc, char **cause)
{
	char		*path = relay_conf_path(), *data, *why = NULL;
	struct relay_url u;
	uint8_t		 secret[32];
	cJSON		*j, *a, *e;
	int		 rv = -1;

	memset(rc, 0, sizeof *rc);
	if ((data = file_read(path, RELAY_CONF_MAX, NULL, &why)) == NULL) {
		if (why == NULL) {
			free(path);
			return (0);
		}
		xasprintf(cause, "%s", why);
		free(why);
		free(path);
		return (-1);
	}
	j = cJSON_Parse(data);
	crypto_cleanse(data, strlen(data));	/* it holds the secret */
	free(data);
	if (!cJSON_IsObject(j)) {
		xasprintf(cause, "%s: not a JSON object", path);
		goto out;
	}
	rc->url = relay_conf_string(j, "url");
	rc->device_id = relay_conf_string(j, "device_id");
	rc->device_secret = relay_conf_string(j, "device_secret");
	rc->fingerprint = relay_conf_string(j, "fingerprint");
	if (rc->url == NULL || relay_url_parse(rc->url, &u, &why) != 0) {
		xasprintf(cause, "%s: bad or missing url%s%s", path,
		    why != NULL ? ": " : "", why != NULL ? why : "");
		free(why);
		goto out;
	}
	relay_url_free(&u);
	if (!relay_valid_id(rc->device_id, 'd')) {
		xasprintf(cause, "%s: bad or missing device_id", path);
		goto out;
	}
	if (rc->device_secret == NULL || relay_b64u_decode_exact(
	    rc->device_secret, secret, sizeof secret) != 0) {
		xasprintf(cause, "%s: bad or missing device_secret", path);
		goto out;
	}
	crypto_cleanse(secret, sizeof secret);
	a = cJSON_GetObjectItem(j, "pending_revokes");
	cJSON_ArrayForEach(e, a) {
		if (!relay_valid_id(cJSON_GetStringValue(e), 'p'))
			continue;
		rc->pending_revokes.v = xreallocarray(rc->pending_revokes.v,
		    rc->pending_revokes.n + 1, sizeof *rc->pending_revokes.v);
		rc->pending_revokes.v[rc->pending_revokes.n++] =
		    xstrdup(e->valuestring);
	}
	rv = 1;
out:
	if (rv != 1)
		relay_conf_clear(rc);
	cJSON_Delete(j);
	free(path);
	return (rv);
}

int
relay_conf_save(const struct relay_conf *rc, char **cause)
{
	cJSON	*j, *a;
	char	*s, *path, *why = NULL;
	u_int	 i;
	int	 rv;

	if (loopsy_mkdir(NULL, &why) != 0) {
		xasprintf(cause, "%s", why);
		free(why);
		return (-1);
	}
	j = cJSON_CreateObject();
	cJSON_AddNumberToObject(j, "version", 1);
	cJSON_AddStringToObject(j, "url", rc->url);
	cJSON_AddStringToObject(j, "device_id", rc->device_id);
	cJSON_AddStringToObject(j, "device_secret", rc->device_secret);
	if (rc->fingerprint != NULL)
		cJSON_AddStringToObject(j, "fingerprint", rc->fingerprint);
	a = cJSON_AddArrayToObject(j, "pending_revokes");
	for (i = 0; i < rc->pending_revokes.n; i++)
		cJSON_AddItemToArray(a,
		    cJSON_CreateString(rc->pending_revokes.v[i]));
	s = cJSON_Print(j);
	cJSON_Delete(j);
	path = relay_conf_path();
	rv = file_write_atomic(path, s, strlen(s), 0600, &why);
	crypto_cleanse(s, strlen(s));
	free(s);
	if (rv != 0) {
		xasprintf(cause, "%s", why);
		free(why);
	}
	free(path);
	return (rv);
}

/*
 * Serialise changes to relay.json: the CLI (relay configure, forget) and the
 * server (pending revokes) both write it.  Whoever holds the lock holds it
 * only to read, change and write the file, never across network I/O.
 */
#define RELAY_CONF_LOCK_WAIT	10000	/* ms the CLI waits for the lock */
#define RELAY_CONF_RETRY_MS	100	/* the server tries again after */

/* The lock's fd; -1 with *cause; -2 (no cause) if wait is 0 and it is held. */
static int
relay_conf_lock_try(int wait, char **cause)
{
	char		*path, *why = NULL;
	uint64_t	 end = now_ms() + RELAY_CONF_LOCK_WAIT;
	int		 fd, failed = 0;

	if (loopsy_mkdir(NULL, &why) != 0) {
		xasprintf(cause, "%s", why);
		free(why);
		return (-1);
	}
	path = loopsy_path("relay.json.lock");
	if ((fd = open(path, O_RDWR|O_CREAT|O_CLOEXEC, 0600)) == -1) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		free(path);
		return (-1);
	}
	while (flock(fd, LOCK_EX|LOCK_NB) != 0) {
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK) {
			xasprintf(cause, "%s: %s", path, strerror(errno));
			failed = 1;
			break;
		}
		if (!wait) {
			close(fd);
			free(path);
			return (-2);
		}
		if (now_ms() >= end) {
			xasprintf(cause, "%s is held by another loopsy "
			    "(relay configure?) for over %d seconds", path,
			    RELAY_CONF_LOCK_WAIT / 1000);
			failed = 1;
			break;
		}
		poll(NULL, 0, 50);
	}
	if (failed) {
		close(fd);
		fd = -1;
	}
	free(path);
	return (fd);
}

/* For the CLI: wait a while for the lock.  Its fd (close to unlock), or -1. */
int
relay_conf_lock(char **cause)
{
	return (relay_conf_lock_try(1, cause));
}

/*
 * The server never waits for the lock in its event loop: pending-revoke
 * changes queue here, in order, and are written when the lock is free
 * (at once, or on a timer while the CLI holds it).
 */
struct relay_conf_change {
	char				*id;
	int				 add;
	TAILQ_ENTRY(relay_conf_change)	 entry;
};
static TAILQ_HEAD(, relay_conf_change) relay_conf_changes =
    TAILQ_HEAD_INITIALIZER(relay_conf_changes);
static struct event	*relay_conf_timer;

static void
relay_conf_change_free(struct relay_conf_change *c)
{
	TAILQ_REMOVE(&relay_conf_changes, c, entry);
	free(c->id);
	free(c);
}

/* Apply one change to the list; 1 if it changed. */
static int
relay_conf_apply(struct strlist *l, const char *id, int add)
{
	u_int	 i;

	for (i = 0; i < l->n; i++) {
		if (strcmp(l->v[i], id) != 0)
			continue;
		if (add)
			return (0);
		free(l->v[i]);
		memmove(l->v + i, l->v + i + 1, (l->n - i - 1) * sizeof *l->v);
		l->n--;
		return (1);
	}
	if (!add)
		return (0);
	l->v = xreallocarray(l->v, l->n + 1, sizeof *l->v);
	l->v[l->n++] = xstrdup(id);
	return (1);
}

static void	relay_conf_retry_cb(int, short, void *);

/*
 * Write the queued changes if the lock can be had now: 0 written (or
 * nothing to write, or queued for later), -1 with *cause (they are
 * dropped: a relay.json that cannot be read or written will not be better
 * on the next try).
 */
static int
relay_conf_flush(char **cause)
{
	struct relay_conf		 rc;
	struct relay_conf_change	*c;
	struct timeval			 tv = { 0, RELAY_CONF_RETRY_MS * 1000 };
	int				 lock, rv = 0, changed = 0;

	if (TAILQ_EMPTY(&relay_conf_changes))
		return (0);
	if ((lock = relay_conf_lock_try(server_base == NULL, cause)) == -2) {
		if (relay_conf_timer == NULL)
			relay_conf_timer = evtimer_new(server_base,
			    relay_conf_retry_cb, NULL);
		if (!evtimer_pending(relay_conf_timer, NULL)) {
			log_debug("%s: relay.json is locked; trying again",
			    __func__);
			evtimer_add(relay_conf_timer, &tv);
		}
		return (0);
	}
	if (lock != -1) {
		switch (relay_conf_load(&rc, cause)) {
		case -1:
			rv = -1;
			break;
		case 1:
			TAILQ_FOREACH(c, &relay_conf_changes, entry) {
				if (relay_conf_apply(&rc.pending_revokes,
				    c->id, c->add))
					changed = 1;
			}
			if (changed)
				rv = relay_conf_save(&rc, cause);
			relay_conf_clear(&rc);
			break;
		}		/* 0: no relay, nobody to tell */
		close(lock);
	} else
		rv = -1;
	while ((c = TAILQ_FIRST(&relay_conf_changes)) != NULL)
		relay_conf_change_free(c);
	return (rv);
}

static void
relay_conf_retry_cb(int fd __unused, short events __unused,
    void *arg __unused)
{
	char	*cause = NULL;

	if (relay_conf_flush(&cause) != 0) {
		log_warnx("relay: %s", cause);
		free(cause);
	}
}

/*
 * Add (add != 0) or remove a phone id in relay.json's pending revokes: now
 * if the lock is free, else a little later, in order.  0, or -1 with *cause.
 */
int
relay_conf_pending_revoke(const char *id, int add, char **cause)
{
	struct relay_conf_change	*c;

	c = xcalloc(1, sizeof *c);
	c->id = xstrdup(id);
	c->add = add;
	TAILQ_INSERT_TAIL(&relay_conf_changes, c, entry);
	if (relay_conf_timer != NULL && evtimer_pending(relay_conf_timer,
	    NULL))
		return (0);	/* behind the ones waiting */
	return (relay_conf_flush(cause));
}

/* ------------------------------------------------------- HTTP answers */

static void
relay_reply_append(char **s, const char *at, size_t len)
{
	size_t	 have = *s != NULL ? strlen(*s) : 0;

	*s = xreallocarray(*s, have + len + 1, 1);
	memcpy(*s + have, at, len);
	(*s)[have + len] = '\0';
}

static void
relay_reply_header_done(struct relay_reply *r)
{
	char	**to = NULL;

	if (r->field != NULL && r->value != NULL) {
		if (strcasecmp(r->field, "Sec-WebSocket-Accept") == 0)
			to = &r->accept;
		else if (strcasecmp(r->field, "Sec-WebSocket-Protocol") == 0)
			to = &r->protocol;
		else if (strcasecmp(r->field, "Retry-After") == 0)
			r->retry_after = atoi(r->value);
	}
	if (to != NULL) {
		free(*to);
		*to = r->value;
		r->value = NULL;
	}
	free(r->field);
	free(r->value);
	r->field = r->value = NULL;
}

static int
relay_reply_on_field(http_parser *p, const char *at, size_t len)
{
	struct relay_reply	*r = p->data;

	if ((r->head_bytes += len) > RELAY_REPLY_HEAD_MAX)
		return (-1);
	if (r->value != NULL)
		relay_reply_header_done(r);
	relay_reply_append(&r->field, at, len);
	return (0);
}

static int
relay_reply_on_value(http_parser *p, const char *at, size_t len)
{
	struct relay_reply	*r = p->data;

	if ((r->head_bytes += len) > RELAY_REPLY_HEAD_MAX)
		return (-1);
	relay_reply_append(&r->value, at, len);
	return (0);
}

static int
relay_reply_on_headers(http_parser *p)
{
	struct relay_reply	*r = p->data;

	relay_reply_header_done(r);
	r->status = p->status_code;
	r->headers_done = 1;
	if (p->status_code == 101) {
		r->done = 1;
		return (2);	/* the WebSocket follows: stop here */
	}
	return (0);
}

static int
relay_reply_on_body(http_parser *p, const char *at, size_t len)
{
	struct relay_reply	*r = p->data;

	if (r->body.len + len > RELAY_REPLY_BODY_MAX)
		return (-1);
	buf_add(&r->body, at, len);
	return (0);
}

static int
relay_reply_on_complete(http_parser *p)
{
	((struct relay_reply *)p->data)->done = 1;
	http_parser_pause(p, 1);
	return (0);
}

static const http_parser_settings relay_reply_settings = {
	.on_header_field = relay_reply_on_field,
	.on_header_value = relay_reply_on_value,
	.on_headers_complete = relay_reply_on_headers,
	.on_body = relay_reply_on_body,
	.on_message_complete = relay_reply_on_complete
};

void
relay_reply_init(struct relay_reply *r)
{
	memset(r, 0, sizeof *r);
	buf_init(&r->body);
	http_parser_init(&r->parser, HTTP_RESPONSE);
	r->parser.data = r;
}

void
relay_reply_free(struct relay_reply *r)
{
	free(r->field);
	free(r->value);
	free(r->accept);
	free(r->protocol);
	buf_free(&r->body);
	memset(r, 0, sizeof *r);
}

/*
 * Feed bytes of the answer: returns how many were used (the rest, after a
 * 101, is the WebSocket's), or -1 if it is not HTTP or is too big.  An
 * answer ended by the connection closing is finished by relay_reply_eof.
 */
ssize_t
relay_reply_feed(struct relay_reply *r, const char *data, size_t len)
{
	size_t	 n;

	if (r->done)
		return (0);
	n = http_parser_execute(&r->parser, &relay_reply_settings, data, len);
	if (r->done)
		return (n);
	if (HTTP_PARSER_ERRNO(&r->parser) != HPE_OK)
		return (-1);
	return (n);
}

void
relay_reply_eof(struct relay_reply *r)
{
	if (!r->done && r->headers_done) {
		http_parser_execute(&r->parser, &relay_reply_settings, NULL, 0);
		r->done = 1;
	}
}

/* The relay's {"error":{"code","message"}}, cleaned, or NULL. */
char *
relay_reply_error(struct relay_reply *r, char **code)
{
	cJSON		*j, *e;
	const char	*m, *c;
	char		*s = NULL;

	if (code != NULL)
		*code = NULL;
	buf_add(&r->body, "", 1);
	r->body.len--;
	if ((j = cJSON_Parse(r->body.data)) == NULL)
		return (NULL);
	e = cJSON_GetObjectItem(j, "error");
	m = cJSON_GetStringValue(cJSON_GetObjectItem(e, "message"));
	c = cJSON_GetStringValue(cJSON_GetObjectItem(e, "code"));
	if (m != NULL)
		s = relay_safe_text(m, RELAY_TEXT_MAX);
	if (code != NULL && c != NULL)
		*code = relay_safe_text(c, RELAY_TEXT_MAX);
	cJSON_Delete(j);
	return (s);
}

/* ------------------------------------------------------------------ TLS */

/*
 * Is the relay's certificate good?  With a pin, its fingerprint must be
 * that one; without, it must chain to the system's CAs and name the host.
 * On failure *cause says why; *fp (if not NULL) gets the fingerprint.
 */
int
relay_tls_check(struct ssl_st *ssl, const char *host, const char *pin,
    char **fp, char **cause)
{
	X509_STORE	*store = NULL;
	X509_STORE_CTX	*vctx = NULL;
	X509_VERIFY_PARAM *param;
	X509		*leaf;
	struct in6_addr	 a6;
	struct in_addr	 a4;
	char		*got;
	int		 rv = -1, e;

	got = tls_peer_fingerprint(ssl);
	if (fp != NULL)
		*fp = got != NULL ? xstrdup(got) : NULL;
	if (got == NULL) {
		xasprintf(cause, "the relay %s showed no certificate", host);
		return (-1);
	}
	if (pin != NULL) {
		if (strcasecmp(got, pin) == 0)
			rv = 0;
		else
			xasprintf(cause, "the relay's certificate has changed "
			    "(pinned %s, now %s); refusing to connect.  If it "
			    "was replaced on purpose, run loopsy relay "
			    "configure URL --fingerprint NEW", pin, got);
		free(got);
		return (rv);
	}
	if ((leaf = SSL_get0_peer_certificate(ssl)) == NULL) {
		xasprintf(cause, "the relay %s showed no certificate", host);
		goto out;
	}
	store = X509_STORE_new();
	vctx = X509_STORE_CTX_new();
	if (store == NULL || vctx == NULL ||
	    X509_STORE_set_default_paths(store) != 1 ||
	    X509_STORE_CTX_init(vctx, store, leaf,
	    SSL_get_peer_cert_chain(ssl)) != 1) {
		xasprintf(cause, "cannot check the relay's certificate: no "
		    "CA store");
		goto out;
	}
	param = X509_STORE_CTX_get0_param(vctx);
	X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_SSL_SERVER);
	if (inet_pton(AF_INET, host, &a4) == 1 ||
	    inet_pton(AF_INET6, host, &a6) == 1)
		X509_VERIFY_PARAM_set1_ip_asc(param, host);
	else
		X509_VERIFY_PARAM_set1_host(param, host, 0);
	if (X509_verify_cert(vctx) == 1)
		rv = 0;
	else {
		e = X509_STORE_CTX_get_error(vctx);
		xasprintf(cause, "the relay's certificate is not trusted for "
		    "%s: %s", host, X509_verify_cert_error_string(e));
	}
out:
	X509_STORE_CTX_free(vctx);
	X509_STORE_free(store);
	free(got);
	return (rv);
}

/* A fingerprint as the user may type it: "sha256:" and 32 hex pairs. */
int
relay_valid_fingerprint(const char *s)
{
	u_int	 i;

	if (strncasecmp(s, "sha256:", 7) != 0 || strlen(s) != 7 + 32 * 3 - 1)
		return (0);
	for (i = 0; i < 32; i++) {
		if (!isxdigit((u_char)s[7 + i * 3]) ||
		    !isxdigit((u_char)s[8 + i * 3]) ||
		    (i != 31 && s[9 + i * 3] != ':'))
			return (0);
	}
	return (1);
}

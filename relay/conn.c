/*
 * relay/conn.c: one HTTP/1.1 request per connection, plain or TLS, parsed
 * by http-parser into a head (common/http.c) and a small body, then handed
 * to a route (api.c) or, for a WebSocket upgrade, answered with the 101 and
 * given to the splice.  Deadlines, size caps and the per-address connection
 * caps are enforced here (connections still without a request head are
 * counted by their TCP peer from the accept, so no one address can hold
 * every slot); so is the slowdown after bad credentials: each is
 * answered after a random delay, and an address past its allowance gets
 * 429 until its bucket refills.  Bearer tokens are read from Authorization
 * or Sec-WebSocket-Protocol only, never from the URL.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "common/crypto.h"
#include "common/ws.h"
#include "relay.h"

#define CONN_HEAD_WAIT		10		/* seconds for TLS and the head */
#define CONN_IDLE		30		/* seconds without progress */
#define CONN_BODY_MAX		(64 * 1024)	/* JSON bodies */
#define CONN_MAX		4096		/* not yet WebSockets */
#define CONN_REFUSE_MS		200		/* up to this, at random */
#define CONN_SHOWN_MAX		200		/* bytes of a path in messages */

static TAILQ_HEAD(, rconn) conns = TAILQ_HEAD_INITIALIZER(conns);
static u_int		   nconns;
static http_parser_settings conn_settings;

static void	conn_read_cb(struct bufferevent *, void *);
static void	conn_write_cb(struct bufferevent *, void *);
static void	conn_event_cb(struct bufferevent *, short, void *);

/* The connection has its request head (or is going): no longer pending. */
static void
conn_unpend(struct rconn *c)
{
	if (c->pending) {
		addr_pending_del(c->peer);
		c->pending = 0;
	}
}

static void
conn_free(struct rconn *c)
{
	TAILQ_REMOVE(&conns, c, entry);
	nconns--;
	conn_unpend(c);
	if (c->wait != NULL)
		pair_conn_gone(c);
	if (c->counted)
		addr_conn_del(c->addr);
	if (c->deadline != NULL)
		event_free(c->deadline);
	if (c->delay != NULL)
		event_free(c->delay);
	if (c->free_ev != NULL)
		event_free(c->free_ev);
	free(c->path);
	free(c->shown);
	free(c->addr);
	free(c->peer);
	http_head_free(&c->head);
	if (c->body != NULL)
		evbuffer_free(c->body);
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	free(c);
}

static void
conn_free_cb(int fd __unused, short events __unused, void *arg)
{
	conn_free(arg);
}

/* Free from inside a callback of this connection: once the loop is back. */
static void
conn_defer_free(struct rconn *c)
{
	struct timeval	 tv = { 0, 0 };

	if (c->freeing)
		return;
	c->freeing = 1;
	conn_unpend(c);
	if (c->bev != NULL)
		bufferevent_disable(c->bev, EV_READ|EV_WRITE);
	c->free_ev = evtimer_new(relay_base, conn_free_cb, c);
	evtimer_add(c->free_ev, &tv);
}

static void
conn_deadline_cb(int fd __unused, short events __unused, void *arg)
{
	struct rconn	*c = arg;

	log_debug("%s: no request within %us", c->addr, CONN_HEAD_WAIT);
	conn_defer_free(c);
}

const char *
conn_header(struct rconn *c, const char *name)
{
	return (http_head_get(&c->head, name));
}

/* Headers on every answer. */
static void
conn_common_headers(struct rconn *c, struct evbuffer *b)
{
	evbuffer_add_printf(b, "X-Content-Type-Options: nosniff\r\n"
	    "Referrer-Policy: no-referrer\r\n");
	if (c->tls)
		evbuffer_add_printf(b, "Strict-Transport-Security: "
		    "max-age=31536000\r\n");
}

void
conn_reply(struct rconn *c, int status, const char *type, const void *body,
    size_t len, const char *extra)
{
	struct evbuffer	*hdr;
	char		*all;
	size_t		 n;

	if (c->replied || c->bev == NULL)
		return;
	c->replied = 1;
	hdr = evbuffer_new();
	conn_common_headers(c, hdr);
	if (extra != NULL)
		evbuffer_add(hdr, extra, strlen(extra));
	n = evbuffer_get_length(hdr);
	all = xmalloc(n + 1);
	evbuffer_remove(hdr, all, n);
	all[n] = '\0';
	evbuffer_free(hdr);
	http_write_reply(bufferevent_get_output(c->bev), status, type, body,
	    len, all);
	free(all);
	log_debug("%s: %s %s -> %d", c->addr, http_method_str(c->head.method),
	    c->shown != NULL ? c->shown : "?", status);
	c->close_after = 1;
	/* Reading goes on (and is thrown away) so that closing with unread
	 * bytes does not reset the connection before the answer is read. */
	bufferevent_enable(c->bev, EV_WRITE);
}

void
conn_reply_json(struct rconn *c, int status, cJSON *j, const char *extra)
{
	char	*s = cJSON_PrintUnformatted(j);

	conn_reply(c, status, "application/json", s, strlen(s), extra);
	free(s);
	cJSON_Delete(j);
}

void
conn_error(struct rconn *c, int status, const char *code, const char *fmt,
    ...)
{
	char	*msg, *body;
	va_list	 ap;

	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	body = http_error_body(code, msg);
	conn_reply(c, status, "application/json", body, strlen(body), NULL);
	free(body);
	free(msg);
}

/* 429 rate_limited with Retry-After. */
void
conn_limited(struct rconn *c, u_int retry, const char *what)
{
	char	*body, *msg, extra[64];

	xasprintf(&msg, "%s; try again in %u seconds", what, retry);
	body = http_error_body("rate_limited", msg);
	snprintf(extra, sizeof extra, "Retry-After: %u\r\n", retry);
	conn_reply(c, 429, "application/json", body, strlen(body), extra);
	free(body);
	free(msg);
}

/* The body as a JSON object, or NULL after a 400 naming the problem. */
cJSON *
conn_body_json(struct rconn *c)
{
	const char	*end = NULL;
	size_t		 len = c->body != NULL ? evbuffer_get_length(c->body) : 0;
	char		*p;
	cJSON		*j;

	if (len == 0) {
		conn_error(c, 400, "bad_request", "expected a JSON object body");
		return (NULL);
	}
	p = (char *)evbuffer_pullup(c->body, -1);
	j = cJSON_ParseWithLengthOpts(p, len, &end, 0);
	if (j == NULL) {
		conn_error(c, 400, "bad_request", "malformed JSON body at "
		    "byte %zu", end != NULL && end >= p ? (size_t)(end - p) :
		    (size_t)0);
		return (NULL);
	}
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		conn_error(c, 400, "bad_request",
		    "the body must be a JSON object");
		return (NULL);
	}
	return (j);
}

/*
 * ID.SECRET of the given kind from "Authorization: Bearer" or the
 * "bearer." entry of Sec-WebSocket-Protocol; -1 if neither holds one.
 */
int
conn_bearer(struct rconn *c, char prefix, char *id, uint8_t *hash)
{
	const char	*auth = conn_header(c, "Authorization");
	const char	*list = conn_header(c, "Sec-WebSocket-Protocol");
	const char	*v;
	int		 n;

	if (auth != NULL && strncasecmp(auth, "Bearer ", 7) == 0) {
		v = auth + 7;
		while (*v == ' ')
			v++;
		return (cred_parse(v, strcspn(v, " \t"), prefix, id, hash));
	}
	if (list != NULL &&
	    (n = http_has_token(list, RELAY_BEARER_PREFIX, &v)) > 0)
		return (cred_parse(v, n, prefix, id, hash));
	return (-1);
}

static void
conn_refuse_cb(int fd __unused, short events __unused, void *arg)
{
	struct rconn	*c = arg;

	event_free(c->delay);
	c->delay = NULL;
	if (c->refuse_cb != NULL)
		c->refuse_cb(c);
	else
		conn_error(c, 401, "unauthorized",
		    "missing or invalid credentials");
}

/*
 * Bad credentials: count them against the address, and answer (with cb,
 * or 401) after a random delay; past the allowance, 429 at once.
 */
void
conn_refuse(struct rconn *c, void (*cb)(struct rconn *))
{
	struct timeval	 tv;
	uint32_t	 r;
	u_int		 retry;

	if (addr_take(c->addr, LIMIT_BADAUTH, &retry) != 0) {
		log_warnx("%s: too many bad credentials", c->addr);
		conn_limited(c, retry, "too many bad credentials from this "
		    "address");
		return;
	}
	log_info("%s: bad credentials for %s", c->addr, c->shown);
	if (RAND_bytes((uint8_t *)&r, sizeof r) != 1)
		r = 0;
	tv.tv_sec = 0;
	tv.tv_usec = 50000 + r % (CONN_REFUSE_MS * 1000);
	c->refuse_cb = cb;
	bufferevent_disable(c->bev, EV_READ);
	c->delay = evtimer_new(relay_base, conn_refuse_cb, c);
	evtimer_add(c->delay, &tv);
}

/* No Origin (a program), our own Host, or one of --allow-origin. */
int
conn_origin_ok(struct rconn *c)
{
	const char	*origin = conn_header(c, "Origin");
	const char	*host = conn_header(c, "Host"), *rest;
	u_int		 i;

	if (origin == NULL)
		return (1);
	for (i = 0; i < relay_opts.norigins; i++) {
		if (strcasecmp(origin, relay_opts.origins[i]) == 0)
			return (1);
	}
	if (strncasecmp(origin, "https://", 8) == 0)
		rest = origin + 8;
	else if (strncasecmp(origin, "http://", 7) == 0)
		rest = origin + 7;
	else
		return (0);
	return (host != NULL && *host != '\0' && strcasecmp(rest, host) == 0);
}

/*
 * Answer a WebSocket upgrade with its 101 and give up the bufferevent (and
 * the address's connection count) to the caller.
 */
struct bufferevent *
conn_upgrade(struct rconn *c, const char *protocol)
{
	struct bufferevent	*bev = c->bev;
	struct evbuffer		*extra = evbuffer_new();
	char			*s;
	size_t			 n;

	conn_common_headers(c, extra);
	n = evbuffer_get_length(extra);
	s = xmalloc(n + 1);
	evbuffer_remove(extra, s, n);
	s[n] = '\0';
	evbuffer_free(extra);
	http_write_upgrade(bufferevent_get_output(bev),
	    conn_header(c, "Sec-WebSocket-Key"), protocol, s);
	free(s);
	c->replied = 1;
	c->counted = 0;
	c->bev = NULL;
	evtimer_del(c->deadline);
	bufferevent_setcb(bev, NULL, NULL, NULL, NULL);
	conn_defer_free(c);
	return (bev);
}

/* The client's address: the TCP peer, or X-Forwarded-For's last hop. */
static void
conn_client_addr(struct rconn *c)
{
	const char	*xff, *last;
	size_t		 n;

	if (!relay_opts.trust_proxy ||
	    (xff = conn_header(c, "X-Forwarded-For")) == NULL)
		return;
	last = strrchr(xff, ',');
	last = last != NULL ? last + 1 : xff;
	last += strspn(last, " \t");
	n = strcspn(last, " \t");
	/* An address, nothing else: it keys the limits and goes in logs. */
	if (n == 0 || n > 64 || strspn(last, "0123456789abcdefABCDEF.:") != n)
		return;
	free(c->addr);
	c->addr = xstrndup(last, n);
}

static int
conn_on_headers_complete(http_parser *p)
{
	struct rconn	*c = http_owner(p);
	const char	*url;

	http_head_end(&c->head, p->method);
	c->headers_done = 1;
	conn_unpend(c);
	url = c->head.url != NULL ? c->head.url : "";
	c->path = xstrndup(url, strcspn(url, "?#"));
	c->shown = text_clean(c->path, CONN_SHOWN_MAX);
	conn_client_addr(c);
	addr_conn_add(c->addr);
	c->counted = 1;
	c->body_max = p->method == HTTP_POST ? CONN_BODY_MAX : 0;
	if (p->content_length != (uint64_t)-1 &&
	    p->content_length > c->body_max)
		c->too_big = 1;
	return (0);
}

static int
conn_on_body(http_parser *p, const char *at, size_t len)
{
	struct rconn	*c = http_owner(p);

	if (http_body_add(&c->body, c->body_max, at, len) != 0) {
		c->too_big = 1;
		return (-1);
	}
	return (0);
}

/* The head is in: refuse what no route takes before reading a body. */
static int
conn_head_refused(struct rconn *c)
{
	if (addr_conns(c->addr) > relay_opts.max_per_ip) {
		log_warnx("%s: over %u connections", c->addr,
		    relay_opts.max_per_ip);
		conn_error(c, 503, "too_many", "too many connections from "
		    "this address (at most %u)", relay_opts.max_per_ip);
		return (1);
	}
	if (c->too_big) {
		conn_error(c, 413, "too_large", "request body over %u bytes",
		    c->body_max != 0 ? (u_int)c->body_max : 0);
		return (1);
	}
	return (0);
}

static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct rconn	*c = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);
	enum http_errno	 e;
	size_t		 len, n;
	char		*p;

	if (c->replied || c->head.complete || c->freeing) {
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	while ((len = evbuffer_get_length(in)) != 0) {
		p = (char *)evbuffer_pullup(in, len);
		n = http_parser_execute(&c->parser, &conn_settings, p, len);
		e = HTTP_PARSER_ERRNO(&c->parser);
		if (e != HPE_OK && e != HPE_PAUSED) {
			evbuffer_drain(in, len);
			if (c->too_big)
				conn_head_refused(c);
			else if (http_head_over(&c->head))
				conn_error(c, 431, "bad_request", "request "
				    "line and headers over %u bytes",
				    HTTP_HEAD_MAX);
			else
				conn_error(c, 400, "bad_request",
				    "malformed HTTP request: %s",
				    http_errno_description(e));
			return;
		}
		evbuffer_drain(in, n);
		if (c->headers_done && (c->parser.upgrade || c->too_big ||
		    c->head.complete)) {
			evtimer_del(c->deadline);
			if (conn_head_refused(c))
				return;
			if (c->parser.upgrade)
				api_upgrade(c);
			else if (c->head.complete)
				break;
			return;
		}
		if (n == 0)
			break;
	}
	if (!c->head.complete)
		return;
	bufferevent_disable(bev, EV_READ);
	api_request(c);
}

static void
conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct rconn	*c = arg;

	if (c->close_after &&
	    evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		conn_defer_free(c);
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct rconn	*c = arg;

	if (!(what & (BEV_EVENT_EOF|BEV_EVENT_ERROR|BEV_EVENT_TIMEOUT)))
		return;
	if (what & BEV_EVENT_ERROR)
		log_debug("%s: %s", c->addr, tls_error(bev));
	conn_defer_free(c);
}

/*
 * One address has too many connections without a request head: close its
 * oldest (a client that sends its request at once is never the oldest for
 * long; idle sockets are).
 */
static void
conn_pending_cap(struct rconn *c)
{
	struct rconn	*o;

	TAILQ_FOREACH(o, &conns, entry) {
		if (o != c && o->pending && strcmp(o->peer, c->peer) == 0)
			break;
	}
	if (o == NULL)
		return;
	log_warnx("%s: over %u connections without a request; closed the "
	    "oldest", c->peer, relay_opts.max_pending);
	conn_defer_free(o);
}

/*
 * Who a connection without a head counts against: its IPv4 address, or
 * the /64 of its IPv6 one (one host is given a whole /64).
 */
static char *
conn_peer_key(const struct sockaddr *sa, const char *addr)
{
	struct sockaddr_in6	 sin6;
	char			 host[INET6_ADDRSTRLEN], *key;

	if (sa->sa_family != AF_INET6)
		return (xstrdup(addr));
	memcpy(&sin6, sa, sizeof sin6);
	if (IN6_IS_ADDR_V4MAPPED(&sin6.sin6_addr))
		return (xstrdup(addr));
	memset(&sin6.sin6_addr.s6_addr[8], 0, 8);
	if (inet_ntop(AF_INET6, &sin6.sin6_addr, host, sizeof host) == NULL)
		return (xstrdup(addr));
	xasprintf(&key, "%s/64", host);
	return (key);
}

void
conn_accept(int fd, struct sockaddr *sa, struct ssl_ctx_st *ctx)
{
	struct timeval	 idle = { CONN_IDLE, 0 };
	struct timeval	 head = { CONN_HEAD_WAIT, 0 };
	struct rconn	*c;
	SSL		*ssl = NULL;
	int		 one = 1;

	if (nconns >= CONN_MAX || relay_exiting ||
	    (ctx != NULL && (ssl = SSL_new(ctx)) == NULL)) {
		close(fd);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	c = xcalloc(1, sizeof *c);
	c->addr = http_peer_addr(sa);
	c->peer = conn_peer_key(sa, c->addr);
	c->tls = ssl != NULL;
	if (ssl != NULL)
		c->bev = bufferevent_openssl_socket_new(relay_base, fd, ssl,
		    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	else
		c->bev = bufferevent_socket_new(relay_base, fd,
		    BEV_OPT_CLOSE_ON_FREE);
	http_parser_init(&c->parser, HTTP_REQUEST);
	c->parser.data = &c->head;
	c->head.owner = c;
	if (conn_settings.on_url == NULL)
		http_settings(&conn_settings, conn_on_headers_complete,
		    conn_on_body, NULL);
	c->deadline = evtimer_new(relay_base, conn_deadline_cb, c);
	evtimer_add(c->deadline, &head);
	bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb,
	    c);
	bufferevent_set_timeouts(c->bev, &idle, &idle);
	bufferevent_enable(c->bev, EV_READ|EV_WRITE);
	TAILQ_INSERT_TAIL(&conns, c, entry);
	nconns++;
	if (relay_opts.max_pending != 0) {
		c->pending = 1;
		if (addr_pending_add(c->peer) > relay_opts.max_pending)
			conn_pending_cap(c);
	}
}

void
conn_shutdown(void)
{
	struct rconn	*c;

	while ((c = TAILQ_FIRST(&conns)) != NULL)
		conn_free(c);
}

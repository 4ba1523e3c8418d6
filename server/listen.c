/*
 * server/listen.c: the TCP listener for peers (SPEC.md section 5).  TLS with
 * this machine's certificate (~/.loopsy/tls), HTTP/1.1 parsed by http-parser,
 * then either a WebSocket that carries the frames of the Unix socket (joined
 * to an ordinary client through a socketpair, so a remote command or attach
 * runs the code a local one runs) or an HTTP request for /api/v1 (api.c).
 *
 * Keys travel in headers only: "Authorization: Bearer KEY" for HTTP and
 * "Sec-WebSocket-Protocol: loopsy.1, key.KEY" for the WebSocket.  A key is
 * this machine's auth.apiKey, a key of auth.allowedKeys or one a paired peer
 * was given; each names an actor for the audit log and the rate limits.  A
 * wrong key costs a random delay, and too many from one address within a
 * minute are refused outright.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <netdb.h>
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
#include <event2/listener.h>
#include <http_parser.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "common/crypto.h"
#include "common/http.h"
#include "common/proto.h"
#include "common/ws.h"
#include "server.h"

#define LISTEN_BODY_MAX		(16 * 1024 * 1024)
#define LISTEN_SMALL_BODY	(64 * 1024)	/* /pair and the rest */
#define LISTEN_IDLE		30		/* seconds for a request */
#define LISTEN_FAIL_MAX		10		/* bad keys per address a minute */
#define LISTEN_FAIL_DELAY_MS	200		/* up to this much, at random */
#define LISTEN_CONN_MAX		256		/* not yet links */
#define LISTEN_LINK_MAX		256		/* WebSocket links */
#define LISTEN_PER_ADDR		32		/* either, from one address */
#define LISTEN_HEAD_WAIT	10		/* seconds for TLS + request */

#define LISTEN_LIMITED	"{\"error\":{\"code\":\"RATE_LIMITED\",\"message\":" \
	"\"too many bad keys from this address; wait a minute\"}}"

static struct evconnlistener	*listen_lev;
static SSL_CTX			*listen_ctx;
static struct stat		 listen_cert_sb; /* the files it was made of */
static struct stat		 listen_key_sb;
static char			*listen_why;	/* why there is no listener */
static char			*listen_addr;	/* host:port we listen on */
static u_short			 listen_bound_port;
static u_int			 listen_nconns;
static u_int			 listen_nlinks;

/*
 * Bad keys by address, for the limit: a bucket of LISTEN_FAIL_MAX that
 * fills again over a minute; a bad key when it is empty blocks the address
 * for a minute.
 */
struct listen_fail {
	char			*addr;
	double			 tokens;
	uint64_t		 last;		/* ms, when tokens was right */
	uint64_t		 blocked;	/* ms, refused until then */
	TAILQ_ENTRY(listen_fail) entry;
};
static TAILQ_HEAD(, listen_fail) listen_fails =
    TAILQ_HEAD_INITIALIZER(listen_fails);

static TAILQ_HEAD(, hconn) hconns = TAILQ_HEAD_INITIALIZER(hconns);

static void	listen_read_cb(struct bufferevent *, void *);
static void	listen_write_cb(struct bufferevent *, void *);
static void	listen_event_cb(struct bufferevent *, short, void *);
static void	listen_request(struct hconn *);

const char *
listen_state(void)
{
	static char	*s;

	free(s);
	if (listen_lev != NULL)
		s = xstrdup(listen_addr);
	else
		xasprintf(&s, "off: %s", listen_why != NULL ? listen_why :
		    "not started");
	return (s);
}

u_short
listen_port(void)
{
	return (listen_lev != NULL ? listen_bound_port : 0);
}

static void
listen_set_why(const char *fmt, ...)
{
	va_list	 ap;

	free(listen_why);
	va_start(ap, fmt);
	xvasprintf(&listen_why, fmt, ap);
	va_end(ap);
	log_warnx("peer listener off: %s", listen_why);
}

void
hconn_free(struct hconn *h)
{
	if (h->dead)
		return;
	h->dead = 1;
	TAILQ_REMOVE(&hconns, h, entry);
	if (h->linked)
		listen_nlinks--;
	else
		listen_nconns--;
	if (h->deadline != NULL)
		event_free(h->deadline);
	if (h->free_ev != NULL)
		event_free(h->free_ev);
	if (h->api_free != NULL)
		h->api_free(h);
	if (h->delay != NULL)
		event_free(h->delay);
	if (h->ws != NULL)
		ws_free(h->ws);		/* frees the bufferevent too */
	else if (h->bev != NULL)
		bufferevent_free(h->bev);
	http_head_free(&h->head);
	free(h->actor);
	if (h->body != NULL)
		evbuffer_free(h->body);
	free(h->addr);
	free(h);
}

/* Free a connection from a callback of its own: after the loop comes back. */
static void
hconn_free_cb(int fd __unused, short events __unused, void *arg)
{
	hconn_free(arg);
}

static void
hconn_defer_free(struct hconn *h)
{
	struct timeval	 tv = { 0, 0 };

	if (h->dead || h->freeing)
		return;
	h->freeing = 1;
	if (h->bev != NULL && h->ws == NULL)
		bufferevent_disable(h->bev, EV_READ|EV_WRITE);
	h->free_ev = evtimer_new(server_base, hconn_free_cb, h);
	evtimer_add(h->free_ev, &tv);
}

/* TLS and the request head get this long, however slowly they trickle. */
static void
hconn_deadline_cb(int fd __unused, short events __unused, void *arg)
{
	struct hconn	*h = arg;

	log_debug("peer %s: no request within %us", h->addr, LISTEN_HEAD_WAIT);
	hconn_defer_free(h);
}

/* Close without (more of) an answer: a stream cut short. */
void
http_close(struct hconn *h)
{
	hconn_defer_free(h);
}

/* Answer and close once the answer is out. */
void
http_reply(struct hconn *h, int status, const char *type, const char *body,
    size_t len, const char *extra)
{
	if (h->replied)
		return;
	h->replied = 1;
	h->status = status;
	http_write_reply(bufferevent_get_output(h->bev), status, type, body, len,
	    extra);
	h->close_after = 1;
	bufferevent_enable(h->bev, EV_WRITE);
}

void
http_reply_json(struct hconn *h, int status, cJSON *j)
{
	char	*s = cJSON_PrintUnformatted(j);

	http_reply(h, status, "application/json", s, strlen(s), NULL);
	free(s);
	cJSON_Delete(j);
}

/* {"error":{"code":...,"message":...}}, as the original Loopsy answers. */
void
http_reply_error(struct hconn *h, int status, const char *code,
    const char *fmt, ...)
{
	char	*msg, *body;
	va_list	 ap;

	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	body = http_error_body(code, msg);
	free(msg);
	http_reply(h, status, "application/json", body, strlen(body), NULL);
	free(body);
}

/* The actor a key stands for, or NULL.  Every key is compared, in full. */
char *
listen_key_actor(const char *key)
{
	char		*actor = NULL, *name;
	size_t		 len;
	u_int		 i;

	if (key == NULL || (len = strlen(key)) == 0)
		return (NULL);
	if (config.api_key != NULL && strlen(config.api_key) == len &&
	    crypto_equal(config.api_key, key, len))
		actor = xstrdup("apikey");
	for (i = 0; i < config.nallowed_keys; i++) {
		if (strlen(config.allowed_keys[i].value) != len ||
		    !crypto_equal(config.allowed_keys[i].value, key, len))
			continue;
		if (actor == NULL)
			xasprintf(&actor, "peer:%s",
			    config.allowed_keys[i].name);
	}
	if ((name = peers_accepts(key)) != NULL) {
		if (actor == NULL)
			xasprintf(&actor, "peer:%s", name);
		free(name);
	}
	return (actor);
}

static struct listen_fail *
listen_fail_find(const char *addr, int create)
{
	struct listen_fail	*f, *f1, *found = NULL;
	uint64_t		 now = now_ms();

	TAILQ_FOREACH_SAFE(f, &listen_fails, entry, f1) {
		f->tokens += (double)(now - f->last) * LISTEN_FAIL_MAX / 60000;
		f->last = now;
		if (f->tokens > LISTEN_FAIL_MAX)
			f->tokens = LISTEN_FAIL_MAX;
		if (f->tokens == LISTEN_FAIL_MAX && now >= f->blocked) {
			TAILQ_REMOVE(&listen_fails, f, entry);
			free(f->addr);
			free(f);
			continue;
		}
		if (strcmp(f->addr, addr) == 0)
			found = f;
	}
	if (found != NULL || !create)
		return (found);
	f = xcalloc(1, sizeof *f);
	f->addr = xstrdup(addr);
	f->tokens = LISTEN_FAIL_MAX;
	f->last = now;
	TAILQ_INSERT_TAIL(&listen_fails, f, entry);
	return (f);
}

/* Seconds an address is still refused for. */
static u_int
listen_retry_after(struct hconn *h)
{
	struct listen_fail	*f = listen_fail_find(h->addr, 0);
	uint64_t		 now = now_ms();

	if (f == NULL || f->blocked <= now)
		return (1);
	return ((f->blocked - now + 999) / 1000);
}

static void
listen_refuse_cb(int fd __unused, short events __unused, void *arg)
{
	struct hconn	*h = arg;
	char		 extra[64];

	event_free(h->delay);
	h->delay = NULL;
	if (h->refuse_status == 429)
		snprintf(extra, sizeof extra, "Retry-After: %u\r\n",
		    listen_retry_after(h));
	if (api_refuse(h, h->refuse_status, extra))
		return;			/* in the original's words */
	if (h->refuse_status == 429) {
		http_reply(h, 429, "application/json", LISTEN_LIMITED,
		    strlen(LISTEN_LIMITED), extra);
	} else
		http_reply_error(h, 401, "UNAUTHORIZED",
		    "missing or invalid API key");
}

/* A bad key: count it, then answer after a random delay. */
static void
listen_refuse(struct hconn *h)
{
	struct listen_fail	*f = listen_fail_find(h->addr, 1);
	struct timeval		 tv;
	uint32_t		 r;

	if (now_ms() < f->blocked)
		h->refuse_status = 429;
	else if ((f->tokens -= 1) < 0) {
		f->blocked = now_ms() + 60000;
		h->refuse_status = 429;
	} else
		h->refuse_status = 401;
	log_warnx("peer %s: %s%s", h->addr, h->auth == NULL && h->ws_protocol
	    == NULL ? "no key" : "wrong key", h->refuse_status == 429 ?
	    " (refused for a minute: too many)" : "");
	if (RAND_bytes((uint8_t *)&r, sizeof r) != 1)
		r = 0;
	tv.tv_sec = 0;
	tv.tv_usec = 50000 + r % (LISTEN_FAIL_DELAY_MS * 1000);
	bufferevent_disable(h->bev, EV_READ);
	h->delay = evtimer_new(server_base, listen_refuse_cb, h);
	evtimer_add(h->delay, &tv);
}

/* Is this address refused for too many bad keys already? */
static int
listen_blocked(struct hconn *h)
{
	struct listen_fail	*f = listen_fail_find(h->addr, 0);

	return (f != NULL && now_ms() < f->blocked);
}

/* Check the key of a request; 0 and h->actor set if good. */
int
http_authorize(struct hconn *h)
{
	const char	*key = NULL;

	if (listen_blocked(h)) {
		listen_refuse(h);
		return (-1);
	}
	if (h->auth != NULL && strncasecmp(h->auth, "Bearer ", 7) == 0)
		key = h->auth + 7;
	free(h->actor);
	if ((h->actor = listen_key_actor(key)) == NULL) {
		listen_refuse(h);
		return (-1);
	}
	return (0);
}

/* http-parser callbacks (the URL and headers: common/http.c). */
/* The headers this listener and its routes use. */
static void
listen_header_done(struct hconn *h)
{
	const char	*v;

	h->url = h->head.url;
	h->auth = http_head_get(&h->head, "Authorization");
	h->ws_key = http_head_get(&h->head, "Sec-WebSocket-Key");
	h->ws_protocol = http_head_get(&h->head, "Sec-WebSocket-Protocol");
	h->upgrade = http_head_get(&h->head, "Upgrade");
	h->content_type = http_head_get(&h->head, "Content-Type");
	v = http_head_get(&h->head, "Sec-WebSocket-Version");
	h->ws_version = v != NULL ? atoi(v) : 0;
}

static int
listen_on_headers_complete(http_parser *p)
{
	struct hconn	*h = http_owner(p);

	http_head_end(&h->head, p->method);
	listen_header_done(h);
	h->method = p->method;
	h->headers_done = 1;
	if (!p->upgrade)
		api_headers(h);		/* may take the body as it comes */
	evtimer_del(h->deadline);	/* a body may take its time */
	/* Only /api/v1 (its key is checked first) may send a big body. */
	if (h->url != NULL && strncmp(h->url, "/api/v1/", 8) == 0)
		h->body_max = LISTEN_BODY_MAX;
	else if (h->url != NULL && strncmp(h->url, "/pair/", 6) == 0)
		h->body_max = LISTEN_SMALL_BODY;
	else
		h->body_max = 0;
	if (p->content_length != (uint64_t)-1 &&
	    p->content_length > h->body_max && h->body_cb == NULL)
		h->too_big = 1;
	/* An upgrade has no body; http-parser stops after the head. */
	return (0);
}

static int
listen_on_body(http_parser *p, const char *at, size_t len)
{
	struct hconn	*h = http_owner(p);

	if (h->too_big)
		return (0);
	if (h->body_cb != NULL)
		return (h->body_cb(h, at, len));
	if (http_body_add(&h->body, h->body_max, at, len) != 0)
		h->too_big = 1;
	return (0);
}

static int
listen_on_message_complete(http_parser *p)
{
	struct hconn	*h = http_owner(p);

	h->complete = 1;
	http_parser_pause(p, 1);
	return (0);
}

static http_parser_settings listen_settings;

/* The WebSocket's frames go to and from a client of our own. */
static void
listen_ws_done(void *arg, const char *why)
{
	struct hconn	*h = arg;

	log_debug("peer %s (%s): link closed: %s", h->addr, h->actor, why);
	h->ws = NULL;		/* freed by itself */
	h->bev = NULL;
	hconn_defer_free(h);
}

static void
listen_upgrade(struct hconn *h)
{
	struct evbuffer	*out = bufferevent_get_output(h->bev);
	const char	*kv;
	char		*key;
	int		 n, pair[2];

	if (strcmp(h->url, WS_PATH) != 0) {
		http_reply_error(h, 404, "NOT_FOUND", "no WebSocket at %s",
		    h->url);
		return;
	}
	if (h->method != HTTP_GET || h->ws_key == NULL || h->upgrade == NULL ||
	    strcasecmp(h->upgrade, "websocket") != 0 || h->ws_version != 13) {
		http_reply_error(h, 400, "BAD_REQUEST",
		    "a WebSocket upgrade needs GET, Upgrade: websocket, "
		    "Sec-WebSocket-Key and Sec-WebSocket-Version: 13");
		return;
	}
	if (h->ws_protocol == NULL ||
	    !http_has_token(h->ws_protocol, WS_PROTOCOL, NULL)) {
		http_reply_error(h, 400, "BAD_REQUEST",
		    "the WebSocket must offer the %s subprotocol", WS_PROTOCOL);
		return;
	}
	if (listen_blocked(h)) {
		listen_refuse(h);
		return;
	}
	key = NULL;
	if ((n = http_has_token(h->ws_protocol, WS_KEY_PREFIX, &kv)) > 0)
		key = xstrndup(kv, n);
	h->actor = listen_key_actor(key);
	if (key != NULL) {
		crypto_cleanse(key, strlen(key));
		free(key);
	}
	if (h->actor == NULL) {
		listen_refuse(h);
		return;
	}
	if (listen_nlinks >= LISTEN_LINK_MAX) {
		http_reply_error(h, 503, "UNAVAILABLE", "too many links");
		return;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC, 0, pair) != 0) {
		http_reply_error(h, 503, "UNAVAILABLE", "socketpair: %s",
		    strerror(errno));
		return;
	}
	http_write_upgrade(out, h->ws_key, WS_PROTOCOL, NULL);
	h->replied = 1;
	h->status = 101;
	evtimer_del(h->deadline);
	h->linked = 1;
	listen_nconns--;
	listen_nlinks++;
	log_info("peer %s: link as %s", h->addr, h->actor);
	set_nonblock(pair[0]);
	set_nonblock(pair[1]);
	server_client_accept_remote(pair[0], h->actor, h->addr);
	h->ws = ws_new(h->bev, 1, PROTO_MAX_FRAME, NULL, NULL);
	ws_bridge(h->ws, pair[1], listen_ws_done, h);
}

static void
listen_read_cb(struct bufferevent *bev, void *arg)
{
	struct hconn	*h = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);
	size_t		 len, n;
	char		*p;

	if (h->replied || h->complete || h->dead || h->freeing) {
		/* Past the request: only EOF matters now; keep nothing. */
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	while ((len = evbuffer_get_length(in)) != 0 && !h->complete) {
		p = (char *)evbuffer_pullup(in, len);
		n = http_parser_execute(&h->parser, &listen_settings, p, len);
		if (h->dead || h->freeing)
			return;
		if (HTTP_PARSER_ERRNO(&h->parser) != HPE_OK &&
		    HTTP_PARSER_ERRNO(&h->parser) != HPE_PAUSED) {
			evbuffer_drain(in, len);
			if (http_head_over(&h->head))
				http_reply_error(h, 431, "BAD_REQUEST",
				    "request headers over %u bytes",
				    HTTP_HEAD_MAX);
			else
				http_reply_error(h, 400, "BAD_REQUEST",
				    "malformed HTTP request: %s",
				    http_errno_description(
				    HTTP_PARSER_ERRNO(&h->parser)));
			return;
		}
		evbuffer_drain(in, n);
		if (h->parser.upgrade && h->headers_done) {
			listen_upgrade(h);
			return;
		}
		if (h->too_big && h->headers_done) {
			/* Said in the head: answer now, read none of it. */
			h->complete = 1;
			break;
		}
		if (n == 0)
			break;
	}
	if (!h->complete)
		return;
	evtimer_del(h->deadline);
	bufferevent_disable(bev, EV_READ);
	if (h->too_big && h->body_max == 0) {
		http_reply_error(h, 404, "NOT_FOUND", "no route for %s %s",
		    http_method_str(h->method), h->url);
		return;
	}
	if (h->too_big) {
		http_reply_error(h, 413, "PAYLOAD_TOO_LARGE",
		    "request body over %zu bytes", h->body_max);
		return;
	}
	listen_request(h);
}

static void
listen_write_cb(struct bufferevent *bev, void *arg)
{
	struct hconn	*h = arg;

	if (h->drained_cb != NULL)
		h->drained_cb(h);
	if (h->close_after &&
	    evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		hconn_defer_free(h);
}

static void
listen_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct hconn	*h = arg;

	if (what & BEV_EVENT_CONNECTED)
		return;
	if (what & BEV_EVENT_TIMEOUT)
		log_debug("peer %s: idle, closed", h->addr);
	else if (what & BEV_EVENT_ERROR)
		log_debug("peer %s: %s", h->addr, tls_error(bev));
	hconn_defer_free(h);
}

/* Routes that are not the WebSocket. */
static void
listen_request(struct hconn *h)
{
	if (pair_request(h))
		return;
	if (api_request(h))
		return;
	http_reply_error(h, 404, "NOT_FOUND", "no route for %s %s",
	    http_method_str(h->method), h->url);
}

static void
listen_accept_cb(struct evconnlistener *lev __unused, evutil_socket_t fd,
    struct sockaddr *sa, int salen __unused, void *arg __unused)
{
	struct hconn	*h, *h1;
	struct timeval	 tv = { LISTEN_IDLE, 0 };
	struct timeval	 head = { LISTEN_HEAD_WAIT, 0 };
	SSL		*ssl;
	char		*addr;
	u_int		 n = 0;
	int		 one = 1;

	if (listen_nconns >= LISTEN_CONN_MAX || server_is_exiting()) {
		close(fd);
		return;
	}
	addr = http_peer_addr(sa);
	TAILQ_FOREACH(h1, &hconns, entry) {
		if (strcmp(h1->addr, addr) == 0)
			n++;
	}
	if (n >= LISTEN_PER_ADDR) {
		log_warnx("peer %s: over %u connections, refused", addr,
		    LISTEN_PER_ADDR);
		free(addr);
		close(fd);
		return;
	}
	if ((ssl = SSL_new(listen_ctx)) == NULL) {
		free(addr);
		close(fd);
		return;
	}
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
	/* Small frames (keys, echoes, replies) must not wait for an ACK. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	h = xcalloc(1, sizeof *h);
	h->addr = addr;
	h->deadline = evtimer_new(server_base, hconn_deadline_cb, h);
	evtimer_add(h->deadline, &head);
	h->bev = bufferevent_openssl_socket_new(server_base, fd, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	http_parser_init(&h->parser, HTTP_REQUEST);
	h->parser.data = &h->head;
	h->head.owner = h;
	bufferevent_setcb(h->bev, listen_read_cb, listen_write_cb,
	    listen_event_cb, h);
	bufferevent_set_timeouts(h->bev, &tv, &tv);
	bufferevent_enable(h->bev, EV_READ|EV_WRITE);
	TAILQ_INSERT_TAIL(&hconns, h, entry);
	listen_nconns++;
}

static void
listen_error_cb(struct evconnlistener *lev __unused, void *arg __unused)
{
	log_warnx("peer listener: accept: %s",
	    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
}

/* Is path not what sb says it was (or gone)? */
static int
listen_file_changed(const char *path, const struct stat *was)
{
	struct stat	 sb;

	if (stat(path, &sb) != 0)
		return (1);
	return (sb.st_dev != was->st_dev || sb.st_ino != was->st_ino ||
	    sb.st_size != was->st_size ||
	    sb.st_mtim.tv_sec != was->st_mtim.tv_sec ||
	    sb.st_mtim.tv_nsec != was->st_mtim.tv_nsec);
}

/*
 * Make listen_ctx from tls/cert.pem and tls/key.pem if there is none yet or
 * either file changed since it was made: 1 if made, 0 if kept, -1 with
 * *cause if the files are bad (listen_ctx is then untouched).  The files
 * are looked at before they are read, so a change while reading is seen
 * next time.  Connections made keep the context they have (each SSL holds
 * a reference); only new ones get the new certificate.
 */
static int
listen_tls_update(char **cause)
{
	struct stat	 csb, ksb;
	SSL_CTX		*ctx;
	char		*cert = loopsy_path("tls/cert.pem");
	char		*key = loopsy_path("tls/key.pem");
	int		 rc = 0;

	if (listen_ctx != NULL && !listen_file_changed(cert, &listen_cert_sb) &&
	    !listen_file_changed(key, &listen_key_sb))
		goto out;
	if (stat(cert, &csb) != 0)
		memset(&csb, 0, sizeof csb);
	if (stat(key, &ksb) != 0)
		memset(&ksb, 0, sizeof ksb);
	if ((ctx = tls_server_ctx(cert, key, cause)) == NULL) {
		rc = -1;
		goto out;
	}
	if (listen_ctx != NULL) {
		SSL_CTX_free(listen_ctx);
		log_info("new TLS certificate for new peer connections");
	}
	listen_ctx = ctx;
	listen_cert_sb = csb;
	listen_key_sb = ksb;
	rc = 1;
out:
	free(cert);
	free(key);
	return (rc);
}

/*
 * On reload: the certificate and key again, if they changed.  1 if the
 * certificate is new, 0 if not (or there is no listener: listen_start
 * reads them), -1 with *cause if the new pair is bad and the old is kept.
 */
int
listen_reload_tls(char **cause)
{
	if (listen_ctx == NULL)
		return (0);
	return (listen_tls_update(cause));
}

/* Listen on server.host:server.port, or say why not. */
void
listen_start(void)
{
	struct addrinfo		 hints, *ai = NULL;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen = sizeof ss;
	char			 port[16], *cause = NULL;
	char			 host[NI_MAXHOST];
	const char		*bind_host;
	int			 error;

	listen_stop();
	http_settings(&listen_settings, listen_on_headers_complete,
	    listen_on_body, listen_on_message_complete);
	bind_host = server_lan ? "0.0.0.0" : config.server_host;
	if (config.api_key == NULL || *config.api_key == '\0') {
		listen_set_why("no auth.apiKey in config.yaml "
		    "(run loopsy init)");
		listen_stop_tls();
		return;
	}
	if (listen_tls_update(&cause) == -1) {
		listen_stop_tls();
		listen_set_why("no TLS certificate (run loopsy init): %s",
		    cause);
		free(cause);
		return;
	}
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE|AI_NUMERICSERV;
	snprintf(port, sizeof port, "%u", config.server_port);
	if ((error = getaddrinfo(bind_host, port, &hints, &ai)) != 0) {
		listen_set_why("server.host %s: %s", bind_host,
		    gai_strerror(error));
		listen_stop_tls();
		return;
	}
	listen_lev = evconnlistener_new_bind(server_base, listen_accept_cb,
	    NULL, LEV_OPT_CLOSE_ON_FREE|LEV_OPT_REUSEABLE|LEV_OPT_CLOSE_ON_EXEC,
	    128, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	if (listen_lev == NULL) {
		listen_set_why("cannot listen on %s port %u: %s",
		    bind_host, config.server_port, strerror(errno));
		listen_stop_tls();
		return;
	}
	evconnlistener_set_error_cb(listen_lev, listen_error_cb);
	getsockname(evconnlistener_get_fd(listen_lev), (struct sockaddr *)&ss,
	    &sslen);
	listen_bound_port = ntohs(ss.ss_family == AF_INET6 ?
	    ((struct sockaddr_in6 *)&ss)->sin6_port :
	    ((struct sockaddr_in *)&ss)->sin_port);
	if (getnameinfo((struct sockaddr *)&ss, sslen, host, sizeof host,
	    NULL, 0, NI_NUMERICHOST) != 0)
		strlcpy(host, bind_host, sizeof host);
	free(listen_addr);
	xasprintf(&listen_addr, "%s%s%s:%u", strchr(host, ':') ? "[" : "",
	    host, strchr(host, ':') ? "]" : "", listen_bound_port);
	free(listen_why);
	listen_why = NULL;
	log_info("listening for peers on %s", listen_addr);
}

void
listen_stop_tls(void)
{
	if (listen_ctx != NULL)
		SSL_CTX_free(listen_ctx);
	listen_ctx = NULL;
}

/* Stop listening; links already made stay. */
void
listen_stop(void)
{
	if (listen_lev != NULL)
		evconnlistener_free(listen_lev);
	listen_lev = NULL;
	listen_bound_port = 0;
}

/* At shutdown: every connection goes too. */
void
listen_shutdown(void)
{
	struct hconn	*h, *h1;

	listen_stop();
	TAILQ_FOREACH_SAFE(h, &hconns, entry, h1) {
		/* Links end with their clients; the rest go now. */
		if (h->ws == NULL && !h->linked)
			hconn_free(h);
	}
	listen_stop_tls();
}

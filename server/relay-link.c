/*
 * server/relay-link.c: the server's one outbound WebSocket to its relay
 * (relay/PROTOCOL.md, "The device's WebSocket"), on the server's event loop
 * and never blocking it: the host is resolved in a thread, the connect, TLS
 * (the relay's certificate checked against the system's CAs, or pinned)
 * and the HTTP upgrade are bufferevent callbacks, all within a deadline;
 * then common/ws.c runs the WebSocket, pings and notices a dead relay.  A
 * link that fails or drops is tried again after a backoff with jitter.
 *
 * Control messages are dispatched here; channel bytes go to
 * phone-channel.c, pairing to phone-pair.c.  Requests this side makes
 * (pair-issue, phones, revoke) carry an id and wait with a deadline.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "common/crypto.h"
#include "common/proto.h"
#include "common/ws.h"
#include "server.h"

#define RELAY_BACKOFF_MIN	250		/* ms */
#define RELAY_BACKOFF_MAX	30000		/* ms */
#define RELAY_STABLE_MS		30000		/* a link this long resets it */
#define RELAY_DEADLINE		15		/* s to connect and upgrade */
#define RELAY_MAX_MSG		(1024 * 1024)
#define RELAY_REQUEST_MAX	64

enum relay_state {
	RELAY_OFF,		/* not configured, or stopped */
	RELAY_RESOLVING,
	RELAY_CONNECTING,	/* TCP, then TLS */
	RELAY_UPGRADING,	/* the HTTP upgrade is out */
	RELAY_CONNECTED,
	RELAY_WAITING		/* to try again */
};

/* A host name being resolved in a thread of its own. */
struct relay_resolve {
	char			*host;
	char			 port[8];
	int			 pipe[2];
	struct addrinfo		*ai;
	int			 error;
	struct event		*ev;
	int			 abandoned;
};

/* One attempt: its connection, from connect to the end of its WebSocket. */
struct relay_conn {
	struct bufferevent	*bev;
	SSL			*ssl;
	struct ws		*ws;
	struct relay_reply	 reply;
	char			*ws_key;
	int			 dead;		/* abandoned: free on close */
};

struct relay_request {
	uint32_t		 id;
	char			*type;
	char			*phone;		/* revoke: which */
	relay_reply_cb		 cb;
	void			*arg;
	struct event		*timer;
	TAILQ_ENTRY(relay_request) entry;
};
static TAILQ_HEAD(, relay_request) relay_requests =
    TAILQ_HEAD_INITIALIZER(relay_requests);

static struct {
	int			 configured;
	char			*conf_error;	/* relay.json is bad */
	struct relay_conf	 conf;
	struct relay_url	 url;
	enum relay_state	 state;
	char			*error;		/* why the last try failed */
	time_t			 since;		/* connected, wall clock */
	uint64_t		 up_ms;		/* connected, monotonic */
	uint64_t		 retry_ms;	/* the next try, monotonic */
	u_int			 backoff;	/* ms */
	u_int			 failures;	/* tries since the last link */
	struct event		*retry_ev;
	struct event		*deadline_ev;
	struct relay_resolve	*resolve;
	struct addrinfo		*ai0;
	struct addrinfo		*ai;
	SSL_CTX			*ssl_ctx;
	struct relay_conn	*conn;
	uint32_t		 next_id;
	u_int			 nrequests;
} rl;

static void	relay_link_connect(void);
static void	relay_link_next_address(void);
static void	relay_link_fail(const char *, ...) __printflike(1, 2);

/* -------------------------------------------------------------- state */

int
relay_link_configured(void)
{
	return (rl.configured);
}

int
relay_link_connected(void)
{
	return (rl.state == RELAY_CONNECTED);
}

const char *
relay_link_url(void)
{
	return (rl.configured ? rl.url.text : NULL);
}

static const char *
relay_link_state_name(void)
{
	switch (rl.state) {
	case RELAY_OFF:
		return ("off");
	case RELAY_RESOLVING:
	case RELAY_CONNECTING:
	case RELAY_UPGRADING:
		return ("connecting");
	case RELAY_CONNECTED:
		return ("connected");
	case RELAY_WAITING:
		return ("retrying");
	}
	return ("?");
}

/* One line for status, doctor and the errors of commands that need it. */
const char *
relay_link_state(void)
{
	static char	*s;
	char		 when[32];
	uint64_t	 now = now_ms();

	free(s);
	s = NULL;
	if (rl.conf_error != NULL)
		xasprintf(&s, "off: %s", rl.conf_error);
	else if (!rl.configured)
		xasprintf(&s, "not configured (loopsy relay configure URL)");
	else switch (rl.state) {
	case RELAY_OFF:
		xasprintf(&s, "off");
		break;
	case RELAY_RESOLVING:
	case RELAY_CONNECTING:
	case RELAY_UPGRADING:
		xasprintf(&s, "connecting to %s%s%s%s", rl.url.text,
		    rl.error != NULL ? " (last error: " : "",
		    rl.error != NULL ? rl.error : "",
		    rl.error != NULL ? ")" : "");
		break;
	case RELAY_CONNECTED:
		strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S",
		    localtime(&rl.since));
		xasprintf(&s, "connected to %s since %s", rl.url.text, when);
		break;
	case RELAY_WAITING:
		xasprintf(&s, "retrying in %.1f s (last error: %s)",
		    rl.retry_ms > now ? (rl.retry_ms - now) / 1000.0 : 0.0,
		    rl.error != NULL ? rl.error : "none");
		break;
	}
	return (s);
}

cJSON *
relay_link_json(void)
{
	cJSON		*j = cJSON_CreateObject();
	struct phone	*v;
	char		*cause = NULL;
	uint64_t	 now = now_ms();
	u_int		 n = 0, i;

	cJSON_AddBoolToObject(j, "configured", rl.configured);
	cJSON_AddStringToObject(j, "state", relay_link_state_name());
	cJSON_AddStringToObject(j, "text", relay_link_state());
	if (rl.configured) {
		cJSON_AddStringToObject(j, "url", rl.url.text);
		cJSON_AddStringToObject(j, "device", rl.conf.device_id);
		if (rl.conf.fingerprint != NULL)
			cJSON_AddStringToObject(j, "fingerprint",
			    rl.conf.fingerprint);
	}
	if (rl.state == RELAY_CONNECTED) {
		cJSON_AddNumberToObject(j, "since", (double)rl.since);
		cJSON_AddNumberToObject(j, "up", (now - rl.up_ms) / 1000.0);
	}
	if (rl.state == RELAY_WAITING)
		cJSON_AddNumberToObject(j, "retryIn", rl.retry_ms > now ?
		    (rl.retry_ms - now) / 1000.0 : 0.0);
	if (rl.conf_error != NULL)
		cJSON_AddStringToObject(j, "error", rl.conf_error);
	else if (rl.error != NULL)
		cJSON_AddStringToObject(j, "error", rl.error);
	cJSON_AddNumberToObject(j, "failures", rl.failures);
	cJSON_AddNumberToObject(j, "backoff", rl.backoff / 1000.0);
	if (phone_list(&v, &n, &cause) != 0)
		free(cause);
	for (i = 0; i < n; i++)
		phone_clear(&v[i]);
	free(v);
	cJSON_AddNumberToObject(j, "phones", n);
	cJSON_AddNumberToObject(j, "channels", phone_channel_count(NULL));
	cJSON_AddNumberToObject(j, "pendingPairs", phone_pair_pending());
	cJSON_AddNumberToObject(j, "pendingRevokes",
	    rl.conf.pending_revokes.n);
	return (j);
}

/* ----------------------------------------------------------- requests */

static void
relay_request_free(struct relay_request *r)
{
	TAILQ_REMOVE(&relay_requests, r, entry);
	rl.nrequests--;
	event_free(r->timer);
	free(r->type);
	free(r->phone);
	free(r);
}

/* Answer a request (reply or error) and forget it. */
static void
relay_request_done(struct relay_request *r, cJSON *reply, const char *error)
{
	relay_reply_cb	 cb = r->cb;
	void		*arg = r->arg;

	relay_request_free(r);
	if (cb != NULL)
		cb(reply, error, arg);
}

static void
relay_request_timeout_cb(int fd __unused, short events __unused, void *arg)
{
	struct relay_request	*r = arg;

	relay_request_done(r, NULL, "the relay did not answer in time");
}

static void
relay_requests_fail(const char *why)
{
	struct relay_request	*r;

	while ((r = TAILQ_FIRST(&relay_requests)) != NULL)
		relay_request_done(r, NULL, why);
}

/* Requests of this owner go without an answer (the owner has gone). */
void
relay_link_cancel(void *arg)
{
	struct relay_request	*r, *r1;

	TAILQ_FOREACH_SAFE(r, &relay_requests, entry, r1) {
		if (r->arg == arg)
			relay_request_free(r);
	}
}

/*
 * Send a control message that the relay answers (an "id" is added) and
 * call cb with the answer, or with an error: not connected (then -1 and
 * *cause, and cb is not called), timed out, or the link went down.
 */
int
relay_link_request(cJSON *msg, u_int timeout, relay_reply_cb cb, void *arg,
    char **cause)
{
	struct relay_request	*r;
	struct timeval		 tv = { timeout, 0 };
	const char		*t, *phone;

	if (rl.state != RELAY_CONNECTED) {
		xasprintf(cause, "the relay is not connected: %s",
		    relay_link_state());
		cJSON_Delete(msg);
		return (-1);
	}
	if (rl.nrequests >= RELAY_REQUEST_MAX) {
		xasprintf(cause, "too many requests waiting for the relay");
		cJSON_Delete(msg);
		return (-1);
	}
	r = xcalloc(1, sizeof *r);
	r->id = ++rl.next_id;
	t = cJSON_GetStringValue(cJSON_GetObjectItem(msg, "t"));
	r->type = xstrdup(t != NULL ? t : "");
	if ((phone = cJSON_GetStringValue(cJSON_GetObjectItem(msg,
	    "phone"))) != NULL)
		r->phone = xstrdup(phone);
	r->cb = cb;
	r->arg = arg;
	r->timer = evtimer_new(server_base, relay_request_timeout_cb, r);
	evtimer_add(r->timer, &tv);
	TAILQ_INSERT_TAIL(&relay_requests, r, entry);
	rl.nrequests++;
	cJSON_AddNumberToObject(msg, "id", r->id);
	if (relay_link_send_json(msg) != 0) {
		relay_request_free(r);
		xasprintf(cause, "the relay link is closing");
		return (-1);
	}
	return (0);
}

static struct relay_request *
relay_request_find(cJSON *msg)
{
	struct relay_request	*r;
	cJSON			*id = cJSON_GetObjectItem(msg, "id");

	if (!cJSON_IsNumber(id))
		return (NULL);
	TAILQ_FOREACH(r, &relay_requests, entry) {
		if (r->id == (uint32_t)id->valuedouble)
			return (r);
	}
	return (NULL);
}

/* ------------------------------------------------------------ sending */

int
relay_link_send_json(cJSON *j)
{
	char	*s;
	int	 rv = -1;

	if (rl.state == RELAY_CONNECTED && rl.conn != NULL &&
	    rl.conn->ws != NULL) {
		s = cJSON_PrintUnformatted(j);
		rv = ws_send(rl.conn->ws, 0, s, strlen(s));
		free(s);
	}
	cJSON_Delete(j);
	return (rv);
}

int
relay_link_send_channel(uint32_t ch, const void *data, size_t len)
{
	static struct buf	 b;
	uint8_t			 hdr[4];

	if (rl.state != RELAY_CONNECTED || rl.conn == NULL ||
	    rl.conn->ws == NULL)
		return (-1);
	proto_put32(hdr, ch);
	buf_reset(&b);
	buf_add(&b, hdr, sizeof hdr);
	buf_add(&b, data, len);
	return (ws_send(rl.conn->ws, 1, b.data, b.len));
}

size_t
relay_link_queued(void)
{
	if (rl.state != RELAY_CONNECTED || rl.conn == NULL ||
	    rl.conn->ws == NULL)
		return (0);
	return (ws_queued(rl.conn->ws));
}

void
relay_link_close_channel(uint32_t ch, u_int code, const char *reason)
{
	cJSON	*j = cJSON_CreateObject();

	cJSON_AddStringToObject(j, "t", "close");
	cJSON_AddNumberToObject(j, "ch", ch);
	cJSON_AddNumberToObject(j, "code", code);
	cJSON_AddStringToObject(j, "reason", reason);
	relay_link_send_json(j);
}

/* --------------------------------------------------------- control in */

/* The relay says a phone is gone (revoked elsewhere, or it left). */
static void
relay_link_revoked(const char *phone)
{
	char	*cause = NULL;
	int	 rv;

	if (!relay_valid_id(phone, 'p'))
		return;
	if (relay_conf_pending_revoke(phone, 0, &cause) != 0) {
		log_warnx("relay: %s", cause);
		free(cause);
		cause = NULL;
	}
	phone_channel_revoke(phone);
	if ((rv = phone_remove(phone, &cause)) == -1) {
		log_warnx("relay: %s", cause);
		free(cause);
	} else if (rv == 0) {
		log_info("relay: phone %s was revoked at the relay", phone);
		audit_log("relay", "phone-revoked", phone, "ok", 0, 0);
	}
}

static void
relay_link_revoke_cb(cJSON *reply, const char *error, void *arg)
{
	char		*phone = arg, *cause = NULL;
	const char	*t;

	t = cJSON_GetStringValue(cJSON_GetObjectItem(reply, "t"));
	if (error == NULL && t != NULL && strcmp(t, "revoked") == 0) {
		if (relay_conf_pending_revoke(phone, 0, &cause) != 0) {
			log_warnx("relay: %s", cause);
			free(cause);
		}
		log_info("relay: told of the revoke of %s", phone);
	} else
		log_warnx("relay: revoke of %s: %s", phone, error != NULL ?
		    error : "refused");
	free(phone);
}

/* After hello: tell the relay of revokes made while it was away. */
static void
relay_link_send_pending(void)
{
	struct relay_conf	 rc;
	cJSON			*j;
	char			*cause = NULL, *id;
	u_int			 i;

	if (relay_conf_load(&rc, &cause) != 1) {
		free(cause);
		return;
	}
	for (i = 0; i < rc.pending_revokes.n; i++) {
		j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "t", "revoke");
		cJSON_AddStringToObject(j, "phone", rc.pending_revokes.v[i]);
		id = xstrdup(rc.pending_revokes.v[i]);
		if (relay_link_request(j, 10, relay_link_revoke_cb, id,
		    &cause) != 0) {
			free(id);
			free(cause);
			cause = NULL;
		}
	}
	relay_conf_clear(&rc);
}

static int
relay_link_channel(cJSON *j, uint32_t *ch)
{
	cJSON	*c = cJSON_GetObjectItem(j, "ch");

	if (!cJSON_IsNumber(c) || c->valuedouble < 0 ||
	    c->valuedouble > 4294967295.0)
		return (-1);
	*ch = (uint32_t)c->valuedouble;
	return (0);
}

static void
relay_link_control(const uint8_t *data, size_t len)
{
	cJSON			*j;
	struct relay_request	*r, *r1;
	const char		*t, *s;
	uint32_t		 ch;
	char			*t2;

	if ((j = cJSON_ParseWithLength((const char *)data, len)) == NULL ||
	    (t = cJSON_GetStringValue(cJSON_GetObjectItem(j, "t"))) == NULL) {
		log_warnx("relay: a control message that is not JSON");
		cJSON_Delete(j);
		return;
	}
	log_debug("relay: control %s", t);
	if (strcmp(t, "hello") == 0) {
		s = cJSON_GetStringValue(cJSON_GetObjectItem(j, "device"));
		if (s != NULL && strcmp(s, rl.conf.device_id) != 0) {
			t2 = relay_safe_text(s, 64);
			log_warnx("relay: hello names device %s, not ours", t2);
			free(t2);
		}
		relay_link_send_pending();
	} else if (strcmp(t, "open") == 0) {
		s = cJSON_GetStringValue(cJSON_GetObjectItem(j, "phone"));
		if (relay_link_channel(j, &ch) == 0)
			phone_channel_open(ch, s != NULL ? s : "");
	} else if (strcmp(t, "close") == 0) {
		if (relay_link_channel(j, &ch) == 0)
			phone_channel_closed(ch);
	} else if (strcmp(t, "pause") == 0 || strcmp(t, "resume") == 0) {
		if (relay_link_channel(j, &ch) == 0)
			phone_channel_pause(ch, strcmp(t, "pause") == 0);
	} else if (strcmp(t, "pair-redeem") == 0)
		phone_pair_redeem(j);
	else if ((r = relay_request_find(j)) != NULL) {
		/* pair-token, phones, revoked, error: an answer. */
		if (strcmp(t, "error") == 0) {
			s = cJSON_GetStringValue(cJSON_GetObjectItem(j,
			    "message"));
			relay_request_done(r, j, s != NULL ? s :
			    "the relay refused");
		} else
			relay_request_done(r, j, NULL);
		if (strcmp(t, "revoked") == 0 && (s = cJSON_GetStringValue(
		    cJSON_GetObjectItem(j, "phone"))) != NULL)
			relay_link_revoked(s);
	} else if (strcmp(t, "revoked") == 0) {
		s = cJSON_GetStringValue(cJSON_GetObjectItem(j, "phone"));
		TAILQ_FOREACH_SAFE(r, &relay_requests, entry, r1) {
			if (s != NULL && r->phone != NULL &&
			    strcmp(r->type, "revoke") == 0 &&
			    strcmp(r->phone, s) == 0)
				relay_request_done(r, j, NULL);
		}
		if (s != NULL)
			relay_link_revoked(s);
	} else if (strcmp(t, "error") == 0) {
		s = cJSON_GetStringValue(cJSON_GetObjectItem(j, "message"));
		t2 = relay_safe_text(s != NULL ? s : "?", RELAY_TEXT_MAX);
		log_warnx("relay: error: %s", t2);
		free(t2);
	} else
		log_debug("relay: ignored control message %s", t);
	cJSON_Delete(j);
}

/* --------------------------------------------------------- WebSocket */

static void	relay_link_lost(const char *);

static void
relay_link_msg_cb(struct ws *ws __unused, int binary, const uint8_t *data,
    size_t len, void *arg)
{
	struct relay_conn	*conn = arg;

	if (conn->dead || conn != rl.conn)
		return;
	if (!binary)
		relay_link_control(data, len);
	else if (len < 4)
		log_warnx("relay: a binary message of %zu bytes", len);
	else
		phone_channel_data(proto_get32(data), data + 4, len - 4);
}

static void
relay_link_drained_cb(struct ws *ws __unused, void *arg)
{
	struct relay_conn	*conn = arg;

	if (!conn->dead && conn == rl.conn)
		phone_channel_drained();
}

static void
relay_conn_free(struct relay_conn *conn)
{
	if (conn->ws == NULL && conn->bev != NULL)
		bufferevent_free(conn->bev);	/* frees the SSL too */
	else if (conn->ws == NULL && conn->ssl != NULL)
		SSL_free(conn->ssl);
	relay_reply_free(&conn->reply);
	free(conn->ws_key);
	free(conn);
}

static void
relay_link_closed_cb(struct ws *ws __unused, const char *why, void *arg)
{
	struct relay_conn	*conn = arg;

	conn->ws = NULL;	/* freed by ws.c when this returns */
	conn->bev = NULL;
	conn->ssl = NULL;
	if (conn->dead || conn != rl.conn) {
		relay_conn_free(conn);
		return;
	}
	relay_link_lost(why);
}

static const struct ws_cb relay_link_ws_cb = {
	relay_link_msg_cb,
	relay_link_drained_cb,
	relay_link_closed_cb
};

/* ------------------------------------------------------ connection */

static void
relay_link_set_error(const char *why)
{
	free(rl.error);
	/* It may quote the relay: keep it fit for a terminal. */
	rl.error = why != NULL ? relay_safe_text(why, RELAY_TEXT_MAX) : NULL;
}

static void
relay_link_retry_cb(int fd __unused, short events __unused,
    void *arg __unused)
{
	relay_link_connect();
}

/* Wait, then try again: 250 ms doubling to 30 s, +-25% at random. */
static void
relay_link_schedule(void)
{
	struct timeval	 tv;
	uint32_t	 r;
	u_int		 delay;

	if (RAND_bytes((uint8_t *)&r, sizeof r) != 1)
		r = 0;
	delay = rl.backoff * 3 / 4 + (uint64_t)rl.backoff / 2 * r /
	    UINT32_MAX;
	rl.backoff = rl.backoff * 2 > RELAY_BACKOFF_MAX ? RELAY_BACKOFF_MAX :
	    rl.backoff * 2;
	rl.state = RELAY_WAITING;
	rl.retry_ms = now_ms() + delay;
	tv.tv_sec = delay / 1000;
	tv.tv_usec = (delay % 1000) * 1000;
	if (rl.retry_ev == NULL)
		rl.retry_ev = evtimer_new(server_base, relay_link_retry_cb,
		    NULL);
	evtimer_add(rl.retry_ev, &tv);
	log_debug("relay: next try in %u ms", delay);
}

/* End the attempt or the link in progress; channels go with it. */
static void
relay_link_drop(void)
{
	struct relay_conn	*conn = rl.conn;

	rl.conn = NULL;
	rl.state = RELAY_OFF;	/* nothing is sent from here on */
	if (rl.deadline_ev != NULL)
		evtimer_del(rl.deadline_ev);
	if (rl.resolve != NULL) {
		rl.resolve->abandoned = 1;	/* its thread still runs */
		rl.resolve = NULL;
	}
	if (rl.ai0 != NULL)
		freeaddrinfo(rl.ai0);
	rl.ai0 = rl.ai = NULL;
	if (conn != NULL) {
		if (conn->ws != NULL) {
			conn->dead = 1;
			ws_close(conn->ws, 1001, "going away");
		} else
			relay_conn_free(conn);
	}
	phone_channel_drop_all("the relay link went down");
	relay_requests_fail("the relay link went down");
}

static void
relay_link_fail(const char *fmt, ...)
{
	va_list	 ap;
	char	*why;

	va_start(ap, fmt);
	xvasprintf(&why, fmt, ap);
	va_end(ap);
	log_warnx("relay: %s", why);
	relay_link_set_error(why);
	free(why);
	rl.failures++;
	relay_link_drop();
	relay_link_schedule();
}

/* The WebSocket ended. */
static void
relay_link_lost(const char *why)
{
	int	 replaced = strstr(why, "(4001") != NULL;

	log_warnx("relay: link lost: %s", why);
	if (now_ms() - rl.up_ms >= RELAY_STABLE_MS)
		rl.backoff = RELAY_BACKOFF_MIN;
	if (replaced) {
		/* Another server with this registration took over. */
		rl.backoff = RELAY_BACKOFF_MAX;
		relay_link_set_error("replaced by another connection of this "
		    "device (another loopsy server with the same relay.json?)");
	} else {
		char	*s;

		xasprintf(&s, "link lost: %s", why);
		relay_link_set_error(s);
		free(s);
	}
	relay_link_drop();
	relay_link_schedule();
}

static void
relay_link_deadline_cb(int fd __unused, short events __unused,
    void *arg __unused)
{
	relay_link_fail("no link to %s within %d seconds", rl.url.text,
	    RELAY_DEADLINE);
}

/* The answer to the upgrade has come: a WebSocket, or why not. */
static void
relay_link_upgraded(struct relay_conn *conn)
{
	struct evbuffer	*in = bufferevent_get_input(conn->bev);
	char		*want, *msg, *code;
	int		 status = conn->reply.status;

	if (status != 101) {
		msg = relay_reply_error(&conn->reply, &code);
		if (status == 401)
			relay_link_fail("the relay does not know this device "
			    "(401%s%s): register again with loopsy relay "
			    "configure %s --force", msg != NULL ? ": " : "",
			    msg != NULL ? msg : "", rl.url.text);
		else
			relay_link_fail("the relay refused the link: %d%s%s",
			    status, msg != NULL ? ": " : "",
			    msg != NULL ? msg : "");
		free(msg);
		free(code);
		return;
	}
	want = ws_accept_key(conn->ws_key);
	if (conn->reply.accept == NULL || strcmp(conn->reply.accept,
	    want) != 0 || conn->reply.protocol == NULL ||
	    strcmp(conn->reply.protocol, RELAY_SUBPROTOCOL) != 0) {
		free(want);
		relay_link_fail("%s answered the upgrade wrongly (not a "
		    "loopsy relay?)", rl.url.text);
		return;
	}
	free(want);
	evtimer_del(rl.deadline_ev);
	rl.state = RELAY_CONNECTED;
	rl.since = time(NULL);
	rl.up_ms = now_ms();
	rl.failures = 0;
	relay_link_set_error(NULL);
	log_info("relay: connected to %s as %s", rl.url.text,
	    rl.conf.device_id);
	conn->ws = ws_new(conn->bev, 0, RELAY_MAX_MSG, &relay_link_ws_cb,
	    conn);
	ws_keepalive(conn->ws, 20, 60);	/* the relay's: PROTOCOL.md */
	/* The relay's hello may have come with the answer. */
	if (evbuffer_get_length(in) != 0)
		bufferevent_trigger(conn->bev, EV_READ,
		    BEV_TRIG_DEFER_CALLBACKS);
}

static void
relay_link_read_cb(struct bufferevent *bev, void *arg)
{
	struct relay_conn	*conn = arg;
	struct evbuffer		*in = bufferevent_get_input(bev);
	size_t			 len;
	ssize_t			 n;

	if (conn != rl.conn || rl.state != RELAY_UPGRADING)
		return;
	while ((len = evbuffer_get_length(in)) != 0 && !conn->reply.done) {
		n = relay_reply_feed(&conn->reply,
		    (char *)evbuffer_pullup(in, len), len);
		if (n < 0) {
			relay_link_fail("%s did not answer with HTTP (not a "
			    "loopsy relay?)", rl.url.text);
			return;
		}
		evbuffer_drain(in, n);
		if (n == 0)
			break;
	}
	if (conn->reply.done)
		relay_link_upgraded(conn);
}

/* Connected (and TLS done): check the certificate, ask for the upgrade. */
static void
relay_link_connected_cb(struct relay_conn *conn)
{
	struct evbuffer	*out = bufferevent_get_output(conn->bev);
	char		*cause = NULL, *host;
	int		 one = 1;

	if (rl.url.tls && relay_tls_check(conn->ssl, rl.url.host,
	    rl.conf.fingerprint, NULL, &cause) != 0) {
		relay_link_fail("%s", cause);
		free(cause);
		return;
	}
	setsockopt(bufferevent_getfd(conn->bev), IPPROTO_TCP, TCP_NODELAY,
	    &one, sizeof one);
	rl.state = RELAY_UPGRADING;
	conn->ws_key = ws_new_key();
	relay_reply_init(&conn->reply);
	host = relay_url_hostport(&rl.url);
	evbuffer_add_printf(out, "GET %s/device/ws HTTP/1.1\r\nHost: %s\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
	    "Sec-WebSocket-Protocol: %s\r\n"
	    "Authorization: Bearer %s.%s\r\n"
	    "User-Agent: loopsy/%s\r\n\r\n", rl.url.base, host,
	    conn->ws_key, RELAY_SUBPROTOCOL, rl.conf.device_id,
	    rl.conf.device_secret, PACKAGE_VERSION);
	free(host);
	bufferevent_enable(conn->bev, EV_READ|EV_WRITE);
}

static void
relay_link_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct relay_conn	*conn = arg;
	char			 host[NI_MAXHOST], err[256];
	unsigned long		 e;

	if (conn != rl.conn)
		return;
	if (what & BEV_EVENT_CONNECTED) {
		if (rl.state == RELAY_CONNECTING)
			relay_link_connected_cb(conn);
		return;
	}
	if (!(what & (BEV_EVENT_EOF|BEV_EVENT_ERROR|BEV_EVENT_TIMEOUT)))
		return;
	if (rl.state == RELAY_UPGRADING) {
		relay_reply_eof(&conn->reply);
		if (conn->reply.done && conn->reply.status != 0) {
			relay_link_upgraded(conn);
			return;
		}
		relay_link_fail("%s closed the connection during the upgrade%s"
		    "%s", rl.url.text, (what & BEV_EVENT_ERROR) ? ": " : "",
		    (what & BEV_EVENT_ERROR) ? tls_error(bev) : "");
		return;
	}
	/* Connecting: try the host's next address, if it has one. */
	if (rl.ai != NULL && rl.ai->ai_next != NULL) {
		rl.ai = rl.ai->ai_next;
		rl.conn = NULL;
		relay_conn_free(conn);
		relay_link_next_address();
		return;
	}
	if (getnameinfo(rl.ai->ai_addr, rl.ai->ai_addrlen, host, sizeof host,
	    NULL, 0, NI_NUMERICHOST) != 0)
		strlcpy(host, rl.url.host, sizeof host);
	if (rl.url.tls && (e = bufferevent_get_openssl_error(bev)) != 0) {
		ERR_error_string_n(e, err, sizeof err);
		relay_link_fail("TLS with %s failed: %s", rl.url.host, err);
	} else
		relay_link_fail("cannot connect to %s port %u: %s", host,
		    rl.url.port, (what & BEV_EVENT_EOF) ? "connection closed" :
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
}

/* Connect to rl.ai (and the addresses after it, as each fails). */
static void
relay_link_next_address(void)
{
	struct relay_conn	*conn;
	char			*cause = NULL;

	rl.state = RELAY_CONNECTING;
	conn = xcalloc(1, sizeof *conn);
	rl.conn = conn;
	if (rl.url.tls) {
		if (rl.ssl_ctx == NULL &&
		    (rl.ssl_ctx = tls_client_ctx(&cause)) == NULL) {
			relay_link_fail("%s", cause);
			free(cause);
			return;
		}
		conn->ssl = SSL_new(rl.ssl_ctx);
		SSL_set_tlsext_host_name(conn->ssl, rl.url.host);
		conn->bev = bufferevent_openssl_socket_new(server_base, -1,
		    conn->ssl, BUFFEREVENT_SSL_CONNECTING,
		    BEV_OPT_CLOSE_ON_FREE);
	} else
		conn->bev = bufferevent_socket_new(server_base, -1,
		    BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(conn->bev, relay_link_read_cb, NULL,
	    relay_link_event_cb, conn);
	if (bufferevent_socket_connect(conn->bev, rl.ai->ai_addr,
	    rl.ai->ai_addrlen) != 0) {
		/* The event callback has said why (or will). */
		if (rl.conn == conn && rl.state == RELAY_CONNECTING)
			relay_link_event_cb(conn->bev, BEV_EVENT_ERROR, conn);
	}
}

static void
relay_link_resolved(struct addrinfo *ai, int error)
{
	if (error != 0) {
		relay_link_fail("cannot resolve %s: %s", rl.url.host,
		    gai_strerror(error));
		return;
	}
	rl.ai0 = rl.ai = ai;
	relay_link_next_address();
}

static void *
relay_resolve_thread(void *arg)
{
	struct relay_resolve	*r = arg;
	struct addrinfo		 hints;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV|AI_ADDRCONFIG;
	r->error = getaddrinfo(r->host, r->port, &hints, &r->ai);
	if (write(r->pipe[1], "", 1) != 1)
		log_warnx("relay: resolver pipe: %s", strerror(errno));
	return (NULL);
}

static void
relay_resolve_free(struct relay_resolve *r)
{
	if (r->ai != NULL)
		freeaddrinfo(r->ai);
	event_free(r->ev);
	close(r->pipe[0]);
	close(r->pipe[1]);
	free(r->host);
	free(r);
}

static void
relay_resolve_cb(int fd __unused, short events __unused, void *arg)
{
	struct relay_resolve	*r = arg;
	struct addrinfo		*ai = r->ai;
	int			 error = r->error;

	if (r->abandoned) {
		relay_resolve_free(r);
		return;
	}
	rl.resolve = NULL;
	r->ai = NULL;
	relay_resolve_free(r);
	relay_link_resolved(ai, error);
}

/* Resolve in a thread: a slow DNS server must not stop the server. */
static void
relay_link_resolve(void)
{
	struct relay_resolve	*r;
	struct addrinfo		 hints, *ai;
	pthread_attr_t		 attr;
	pthread_t		 t;
	sigset_t		 all, old;
	char			 port[8];
	int			 error;

	snprintf(port, sizeof port, "%u", rl.url.port);
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV|AI_NUMERICHOST;
	if (getaddrinfo(rl.url.host, port, &hints, &ai) == 0) {
		relay_link_resolved(ai, 0);
		return;
	}
	rl.state = RELAY_RESOLVING;
	r = xcalloc(1, sizeof *r);
	r->host = xstrdup(rl.url.host);
	strlcpy(r->port, port, sizeof r->port);
	if (pipe2(r->pipe, O_CLOEXEC) != 0) {
		free(r->host);
		free(r);
		relay_link_fail("pipe: %s", strerror(errno));
		return;
	}
	r->ev = event_new(server_base, r->pipe[0], EV_READ, relay_resolve_cb,
	    r);
	event_add(r->ev, NULL);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	error = pthread_create(&t, &attr, relay_resolve_thread, r);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (error != 0) {
		relay_resolve_free(r);
		relay_link_fail("cannot start a resolver: %s",
		    strerror(error));
		return;
	}
	rl.resolve = r;
}

static void
relay_link_connect(void)
{
	struct timeval	 tv = { RELAY_DEADLINE, 0 };

	if (!rl.configured || server_is_exiting())
		return;
	log_debug("relay: connecting to %s", rl.url.text);
	if (rl.deadline_ev == NULL)
		rl.deadline_ev = evtimer_new(server_base,
		    relay_link_deadline_cb, NULL);
	evtimer_add(rl.deadline_ev, &tv);
	rl.state = RELAY_CONNECTING;
	relay_link_resolve();
}

/* -------------------------------------------------------- start, stop */

void
relay_link_stop(void)
{
	if (rl.retry_ev != NULL)
		evtimer_del(rl.retry_ev);
	relay_link_drop();
	relay_conf_clear(&rl.conf);
	relay_url_free(&rl.url);
	relay_link_set_error(NULL);
	free(rl.conf_error);
	rl.conf_error = NULL;
	rl.configured = 0;
	rl.state = RELAY_OFF;
	rl.failures = 0;
	if (rl.ssl_ctx != NULL)
		SSL_CTX_free(rl.ssl_ctx);
	rl.ssl_ctx = NULL;
}

/* Read relay.json and connect if this machine is registered; again on
 * reload (configure, forget). */
void
relay_link_start(void)
{
	char	*cause = NULL;

	relay_link_stop();
	switch (relay_conf_load(&rl.conf, &cause)) {
	case -1:
		rl.conf_error = cause;
		log_warnx("relay: %s", cause);
		return;
	case 0:
		log_debug("relay: not configured");
		return;
	}
	if (relay_url_parse(rl.conf.url, &rl.url, &cause) != 0) {
		rl.conf_error = cause;
		relay_conf_clear(&rl.conf);
		return;
	}
	rl.configured = 1;
	rl.backoff = RELAY_BACKOFF_MIN;
	relay_link_connect();
}

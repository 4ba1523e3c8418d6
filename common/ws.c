/*
 * common/ws.c: a WebSocket (wslay's event API) on a bufferevent, plain or
 * TLS, for both ends of a peer link, and the bridge that turns its messages
 * into the frames of a stream socket and back.  Also the TLS contexts and
 * the fingerprint peers pin.  See DEPS.md sections 4 and 5 for the library
 * gotchas handled here: wslay sends control frames ahead of queued data (so
 * a close waits for the queue to empty), an SSL bufferevent reports
 * BEV_EVENT_CONNECTED to the event callback, and OpenSSL 3 reports a close
 * without close_notify as an error unless told not to.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <wslay/wslay.h>

#include "common.h"
#include "crypto.h"
#include "proto.h"
#include "ws.h"

#define WS_GUID		"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WS_CLOSE_WAIT	3	/* seconds for the other side's close */
#define WS_PING_EVERY	15	/* seconds between pings */
#define WS_DEAD_AFTER	45000	/* ms without a byte from the other side */
#define WS_DRAIN_WAIT	3	/* seconds for the last bytes to go out */
/* The throttle (below): answers that make it, and where it ends. */
#define WS_ANSWERS_MAX	(WS_HIGH_WATER / 2)
#define WS_LOW_WATER	(WS_HIGH_WATER / 2)
#define WS_MSG_COST	64	/* a queued message beyond its payload */
int	tls_timeout_ms = 10000;	/* to connect, and each step after */

struct ws {
	struct bufferevent	*bev;
	wslay_event_context_ptr	 ctx;
	const struct ws_cb	*cb;
	void			*arg;
	int			 busy;	/* inside a callback of ours */
	int			 dead;	/* free when no longer busy */
	char			*why;
	int			 closing;
	uint16_t		 close_code;
	char			*close_reason;
	int			 close_queued;
	int			 paused;	/* ws_pause(): the owner's */
	int			 throttled;	/* ours: too much to send */
	int			 reading;	/* inside ws_read_cb */
	size_t			 read_base;	/* ws_backlog() as it began */
	size_t			 answers;	/* of ws_backlog(), at most */
	struct event		*close_timer;
	struct event		*ping_timer;
	uint64_t		 last_rx;	/* ms, anything from the other side */
	uint64_t		 dead_after;	/* ms of silence that end it */
};

static void	ws_read_cb(struct bufferevent *, void *);
static void	ws_write_cb(struct bufferevent *, void *);
static void	ws_event_cb(struct bufferevent *, short, void *);

/*
 * The throttle.  Answers (wslay's pong to every ping, and whatever the
 * owner sends back while it handles a message: a pong, an error) are made
 * from what is read, so a peer that sends and never reads would grow the
 * queue without end.  So reading stops while more than WS_HIGH_WATER waits
 * to go out and over WS_ANSWERS_MAX of it was queued while reading this
 * ws, and goes on once below WS_LOW_WATER.  What the owner forwards from
 * elsewhere (a bridge's stream, another connection) is not counted: its
 * owner has backpressure of its own, and two ends that each stopped reading
 * for their own output could wait for each other for ever.  The throttle is
 * separate from ws_pause(): reading goes on only when neither holds it.
 *
 * What waits counts wslay's queue, each message with a little more than its
 * payload (an empty pong costs an allocation all the same), and the
 * bufferevent's output.
 */
static size_t
ws_backlog(struct ws *ws)
{
	return (ws_queued(ws) +
	    wslay_event_get_queued_msg_count(ws->ctx) * WS_MSG_COST);
}

/* Of what waits, how much (at most) are answers. */
static size_t
ws_answers(struct ws *ws, size_t backlog)
{
	size_t	 n = ws->answers;

	if (ws->reading && backlog > ws->read_base)
		n += backlog - ws->read_base;
	return (n < backlog ? n : backlog);
}

/* Read or not, as the owner's pause and the throttle say. */
static void
ws_reading(struct ws *ws)
{
	if (ws->paused || ws->throttled) {
		bufferevent_disable(ws->bev, EV_READ);
		return;
	}
	bufferevent_enable(ws->bev, EV_READ);
	/* Bytes read before the stop are waiting. */
	if (evbuffer_get_length(bufferevent_get_input(ws->bev)) != 0)
		bufferevent_trigger(ws->bev, EV_READ, BEV_TRIG_DEFER_CALLBACKS);
}

/* Throttle if too many answers wait; 1 if throttled. */
static int
ws_throttle(struct ws *ws)
{
	size_t	 backlog;

	if (ws->throttled)
		return (1);
	backlog = ws_backlog(ws);
	if (backlog > WS_HIGH_WATER &&
	    ws_answers(ws, backlog) > WS_ANSWERS_MAX) {
		ws->throttled = 1;
		bufferevent_disable(ws->bev, EV_READ);
	}
	return (ws->throttled);
}

/* Read again once enough has gone. */
static void
ws_unthrottle(struct ws *ws)
{
	if (ws->throttled && ws_backlog(ws) <= WS_LOW_WATER) {
		ws->throttled = 0;
		ws_reading(ws);
	}
}

static ssize_t
ws_recv_cb(wslay_event_context_ptr ctx, uint8_t *data, size_t len,
    int flags __unused, void *arg)
{
	struct ws	*ws = arg;
	size_t		 n;

	/* Nothing more in while too much waits to go out. */
	if (ws_throttle(ws)) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return (-1);
	}
	n = evbuffer_remove(bufferevent_get_input(ws->bev), data, len);
	if (n == 0 || n == (size_t)-1) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return (-1);
	}
	ws->last_rx = now_ms();
	return (n);
}

static ssize_t
ws_send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len,
    int flags __unused, void *arg)
{
	struct ws	*ws = arg;

	if (evbuffer_get_length(bufferevent_get_output(ws->bev)) >
	    WS_HIGH_WATER) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return (-1);
	}
	if (bufferevent_write(ws->bev, data, len) != 0) {
		wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
		return (-1);
	}
	return (len);
}

static int
ws_genmask_cb(wslay_event_context_ptr ctx __unused, uint8_t *buf, size_t len,
    void *arg __unused)
{
	if (RAND_bytes(buf, len) != 1)
		return (-1);
	return (0);
}

/* The other side's close reason, printable ASCII only: it goes in logs and
 * in messages a terminal prints. */
static char *
ws_close_text(const uint8_t *p, size_t len)
{
	char	*s;
	size_t	 i;

	s = xmalloc(len + 1);
	for (i = 0; i < len; i++)
		s[i] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '?';
	s[len] = '\0';
	return (s);
}

static void
ws_msg_cb(wslay_event_context_ptr ctx __unused,
    const struct wslay_event_on_msg_recv_arg *m, void *arg)
{
	struct ws	*ws = arg;
	char		*reason;

	if (ws->dead)
		return;
	switch (m->opcode) {
	case WSLAY_TEXT_FRAME:
	case WSLAY_BINARY_FRAME:
		if (ws->cb->msg != NULL)
			ws->cb->msg(ws, m->opcode == WSLAY_BINARY_FRAME,
			    m->msg, m->msg_length, ws->arg);
		break;
	case WSLAY_CONNECTION_CLOSE:
		if (ws->why != NULL)
			break;
		reason = ws_close_text(m->msg + (m->msg_length > 2 ? 2 : 0),
		    m->msg_length > 2 ? m->msg_length - 2 : 0);
		xasprintf(&ws->why, "closed by the other side (%u%s%s)",
		    m->status_code, *reason != '\0' ? ": " : "", reason);
		free(reason);
		break;
	}
}

static const struct wslay_event_callbacks ws_callbacks = {
	ws_recv_cb,
	ws_send_cb,
	ws_genmask_cb,
	NULL,
	NULL,
	NULL,
	ws_msg_cb
};

/* Free a bufferevent once what it has queued is out (or after a while). */
static void
ws_drain_write_cb(struct bufferevent *bev, void *arg __unused)
{
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		bufferevent_free(bev);
}

static void
ws_drain_event_cb(struct bufferevent *bev, short what __unused,
    void *arg __unused)
{
	bufferevent_free(bev);
}

static void
ws_free_drained(struct bufferevent *bev)
{
	struct timeval	 tv = { WS_DRAIN_WAIT, 0 };

	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
		bufferevent_free(bev);
		return;
	}
	bufferevent_disable(bev, EV_READ);
	bufferevent_setcb(bev, NULL, ws_drain_write_cb, ws_drain_event_cb,
	    NULL);
	bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
	bufferevent_set_timeouts(bev, NULL, &tv);
	bufferevent_enable(bev, EV_WRITE);
}

static void	ws_end(struct ws *, const char *);
static void	ws_done(struct ws *);
static void	ws_flush(struct ws *);

/* Ping now and then; a link that says nothing for too long is dead (a
 * laptop asleep, a cable pulled: no FIN ever comes). */
static void
ws_ping_cb(int fd __unused, short events __unused, void *arg)
{
	struct ws			*ws = arg;
	struct wslay_event_msg		 m = { WSLAY_PING, NULL, 0 };
	char				 why[64];

	if (ws->dead)
		return;
	ws->busy++;
	if (now_ms() - ws->last_rx > ws->dead_after) {
		snprintf(why, sizeof why, "no answer for %llu seconds",
		    (unsigned long long)ws->dead_after / 1000);
		ws_end(ws, why);
	} else if (!ws->closing && wslay_event_queue_msg(ws->ctx, &m) == 0)
		ws_flush(ws);
	ws->busy--;
	ws_done(ws);
}

struct ws *
ws_new(struct bufferevent *bev, int server, u_int max_msg,
    const struct ws_cb *cb, void *arg)
{
	struct timeval	 tv = { WS_PING_EVERY, 0 };
	int		 one = 1;
	struct ws	*ws;
	int		 r;

	ws = xcalloc(1, sizeof *ws);
	ws->bev = bev;
	ws->cb = cb;
	ws->arg = arg;
	if (server)
		r = wslay_event_context_server_init(&ws->ctx, &ws_callbacks, ws);
	else
		r = wslay_event_context_client_init(&ws->ctx, &ws_callbacks, ws);
	if (r != 0)
		fatalx("%s: wslay context: %d", __func__, r);
	wslay_event_config_set_max_recv_msg_length(ws->ctx, max_msg);
	bufferevent_setcb(bev, ws_read_cb, ws_write_cb, ws_event_cb, ws);
	bufferevent_setwatermark(bev, EV_WRITE, WS_HIGH_WATER / 4, 0);
	bufferevent_set_timeouts(bev, NULL, NULL);
	bufferevent_enable(bev, EV_READ|EV_WRITE);
	setsockopt(bufferevent_getfd(bev), SOL_SOCKET, SO_KEEPALIVE, &one,
	    sizeof one);
	ws->last_rx = now_ms();
	ws->dead_after = WS_DEAD_AFTER;
	ws->ping_timer = event_new(bufferevent_get_base(bev), -1, EV_PERSIST,
	    ws_ping_cb, ws);
	evtimer_add(ws->ping_timer, &tv);
	return (ws);
}

/* Ping every ping_s seconds; end after dead_s seconds of silence. */
void
ws_keepalive(struct ws *ws, u_int ping_s, u_int dead_s)
{
	struct timeval	 tv = { ping_s, 0 };

	ws->dead_after = (uint64_t)dead_s * 1000;
	evtimer_add(ws->ping_timer, &tv);
}

struct bufferevent *
ws_bufferevent(struct ws *ws)
{
	return (ws->bev);
}

void
ws_free(struct ws *ws)
{
	if (ws == NULL)
		return;
	if (ws->busy) {
		ws->dead = 1;
		return;
	}
	if (ws->close_timer != NULL)
		event_free(ws->close_timer);
	if (ws->ping_timer != NULL)
		event_free(ws->ping_timer);
	wslay_event_context_free(ws->ctx);
	ws_free_drained(ws->bev);	/* a close reply may be queued */
	free(ws->why);
	free(ws->close_reason);
	free(ws);
}

/* The connection is over: tell the owner once, then free. */
static void
ws_end(struct ws *ws, const char *why)
{
	if (ws->dead)
		return;
	if (ws->why == NULL)
		ws->why = xstrdup(why);
	ws->dead = 1;
	ws->busy++;
	if (ws->cb->closed != NULL)
		ws->cb->closed(ws, ws->why, ws->arg);
	ws->busy--;
}

/* After our own callbacks: free if asked to while inside them. */
static void
ws_done(struct ws *ws)
{
	if (ws->busy == 0 && ws->dead) {
		ws->dead = 0;
		ws_free(ws);
	}
}

static void
ws_close_timer_cb(int fd __unused, short events __unused, void *arg)
{
	struct ws	*ws = arg;

	ws_end(ws, "closed");
	ws_done(ws);
}

/* Send what wslay has; queue a pending close once the data is out. */
static void
ws_flush(struct ws *ws)
{
	if (ws->closing && !ws->close_queued &&
	    wslay_event_get_queued_msg_count(ws->ctx) == 0) {
		wslay_event_queue_close(ws->ctx, ws->close_code,
		    (const uint8_t *)ws->close_reason,
		    ws->close_reason != NULL ? strlen(ws->close_reason) : 0);
		ws->close_queued = 1;
	}
	if (wslay_event_send(ws->ctx) != 0) {
		ws_end(ws, "write failed");
		return;
	}
	if (ws->closing && ws->close_queued &&
	    wslay_event_get_queued_msg_count(ws->ctx) == 0 &&
	    !wslay_event_want_write(ws->ctx) &&
	    evbuffer_get_length(bufferevent_get_output(ws->bev)) == 0 &&
	    !wslay_event_want_read(ws->ctx))
		ws_end(ws, "closed");
}

static void
ws_read_cb(struct bufferevent *bev __unused, void *arg)
{
	struct ws	*ws = arg;

	size_t		 backlog;

	ws->busy++;
	/* A deferred read may come after a pause or the throttle. */
	if (ws->dead || ws->paused || ws_throttle(ws))
		goto out;
	ws->reading = 1;
	ws->read_base = ws_backlog(ws);
	if (wslay_event_recv(ws->ctx) != 0)
		ws_end(ws, "protocol error or message too big");
	else if (!ws->dead)
		ws_flush(ws);
	if (!ws->dead) {
		/* What this read added to the queue answers the other side. */
		backlog = ws_backlog(ws);
		ws->answers = ws_answers(ws, backlog);
		ws->reading = 0;
		if (!wslay_event_want_read(ws->ctx) &&
		    !wslay_event_want_write(ws->ctx))
			ws_end(ws, ws->why != NULL ? ws->why : "closed");
		else if (ws_throttle(ws))
			ws_unthrottle(ws);	/* if it all fit in the output */
	}
	ws->reading = 0;
out:
	ws->busy--;
	ws_done(ws);
}

static void
ws_write_cb(struct bufferevent *bev, void *arg)
{
	struct ws	*ws = arg;

	ws->busy++;
	/* Some has gone: answers are no more than what is left. */
	ws->answers = ws_answers(ws, ws_backlog(ws));
	ws_flush(ws);
	if (!ws->dead && ws->throttled) {
		/*
		 * Output left (this runs when it is below a quarter of
		 * WS_HIGH_WATER): the other side reads, so it is alive though
		 * we do not read what it says meanwhile.
		 */
		ws->last_rx = now_ms();
		ws_unthrottle(ws);
	}
	if (!ws->dead && ws->cb->drained != NULL &&
	    evbuffer_get_length(bufferevent_get_output(bev)) < WS_HIGH_WATER)
		ws->cb->drained(ws, ws->arg);
	ws->busy--;
	ws_done(ws);
}

static void
ws_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct ws	*ws = arg;
	char		*why;

	if (!(what & (BEV_EVENT_EOF|BEV_EVENT_ERROR|BEV_EVENT_TIMEOUT)))
		return;
	ws->busy++;
	if (what & BEV_EVENT_EOF)
		ws_end(ws, ws->why != NULL ? ws->why : "connection closed");
	else {
		xasprintf(&why, "connection lost: %s", tls_error(bev));
		ws_end(ws, why);
		free(why);
	}
	ws->busy--;
	ws_done(ws);
}

int
ws_send(struct ws *ws, int binary, const void *data, size_t len)
{
	struct wslay_event_msg	m;

	if (ws->dead || ws->closing)
		return (-1);
	m.opcode = binary ? WSLAY_BINARY_FRAME : WSLAY_TEXT_FRAME;
	m.msg = data;
	m.msg_length = len;
	if (wslay_event_queue_msg(ws->ctx, &m) != 0)
		return (-1);
	ws->busy++;
	ws_flush(ws);
	ws->busy--;
	ws_done(ws);
	return (0);
}

size_t
ws_queued(struct ws *ws)
{
	return (wslay_event_get_queued_msg_length(ws->ctx) +
	    evbuffer_get_length(bufferevent_get_output(ws->bev)));
}

void
ws_pause(struct ws *ws, int pause)
{
	if (pause == ws->paused)
		return;
	ws->paused = pause;
	ws_reading(ws);
}

void
ws_close(struct ws *ws, uint16_t code, const char *reason)
{
	struct timeval	 tv = { WS_CLOSE_WAIT, 0 };

	if (ws->closing || ws->dead)
		return;
	ws->closing = 1;
	/* However slowly the other side reads, this ends. */
	ws->close_timer = evtimer_new(bufferevent_get_base(ws->bev),
	    ws_close_timer_cb, ws);
	evtimer_add(ws->close_timer, &tv);
	ws->close_code = code;
	ws->close_reason = reason != NULL ? xstrdup(reason) : NULL;
	wslay_event_shutdown_read(ws->ctx);
	ws->busy++;
	ws_flush(ws);
	ws->busy--;
	ws_done(ws);
}

/* The bridge: WebSocket messages <-> frames on a stream socket. */
struct ws_bridge {
	struct ws		*ws;
	struct bufferevent	*sbev;
	void			(*done)(void *, const char *);
	void			*arg;
	int			 ending;
	int			 busy;
};

static void
ws_bridge_end(struct ws_bridge *b, const char *why)
{
	if (b->ending)
		return;
	b->ending = 1;
	ws_free_drained(b->sbev);	/* the last frames may be queued */
	b->sbev = NULL;
	if (b->done != NULL)
		b->done(b->arg, why);
	if (!b->busy)
		free(b);
}

/* Frames from the stream side become messages. */
static void
ws_bridge_sread_cb(struct bufferevent *bev, void *arg)
{
	struct ws_bridge	*b = arg;
	struct evbuffer		*in = bufferevent_get_input(bev);
	uint8_t			 hdr[4], *p;
	uint32_t		 n;

	b->busy++;
	while (!b->ending && evbuffer_get_length(in) >= 4) {
		if (ws_queued(b->ws) > WS_HIGH_WATER) {
			bufferevent_disable(bev, EV_READ);
			break;
		}
		evbuffer_copyout(in, hdr, 4);
		n = proto_get32(hdr);
		if (n == 0 || n > PROTO_MAX_FRAME) {
			bufferevent_disable(bev, EV_READ);
			ws_close(b->ws, 1011, "bad frame");
			break;
		}
		if (evbuffer_get_length(in) < 4 + (size_t)n)
			break;
		p = evbuffer_pullup(in, 4 + n);
		if (ws_send(b->ws, 1, p + 4, n) != 0)
			break;
		evbuffer_drain(in, 4 + n);
	}
	if (--b->busy == 0 && b->ending)
		free(b);
}

static void
ws_bridge_swrite_cb(struct bufferevent *bev __unused, void *arg)
{
	struct ws_bridge	*b = arg;

	if (!b->ending)
		ws_pause(b->ws, 0);
}

static void
ws_bridge_sevent_cb(struct bufferevent *bev __unused, short what, void *arg)
{
	struct ws_bridge	*b = arg;

	if (!b->ending && (what & (BEV_EVENT_EOF|BEV_EVENT_ERROR))) {
		bufferevent_disable(b->sbev, EV_READ|EV_WRITE);
		ws_close(b->ws, 1000, "bye");
	}
}

/* Messages from the WebSocket become frames. */
static void
ws_bridge_msg_cb(struct ws *ws, int binary, const uint8_t *data, size_t len,
    void *arg)
{
	struct ws_bridge	*b = arg;
	struct evbuffer		*out = bufferevent_get_output(b->sbev);
	uint8_t			 hdr[4];

	if (b->ending)
		return;
	if (!binary || len == 0 || len > PROTO_MAX_FRAME) {
		ws_close(ws, 1003, "expected binary frames");
		return;
	}
	proto_put32(hdr, len);
	evbuffer_add(out, hdr, 4);
	evbuffer_add(out, data, len);
	if (evbuffer_get_length(out) > WS_HIGH_WATER)
		ws_pause(ws, 1);
}

static void
ws_bridge_drained_cb(struct ws *ws __unused, void *arg)
{
	struct ws_bridge	*b = arg;

	if (!b->ending && !(bufferevent_get_enabled(b->sbev) & EV_READ)) {
		bufferevent_enable(b->sbev, EV_READ);
		ws_bridge_sread_cb(b->sbev, b);
	}
}

static void
ws_bridge_closed_cb(struct ws *ws __unused, const char *why, void *arg)
{
	ws_bridge_end(arg, why);
}

static const struct ws_cb ws_bridge_cb = {
	ws_bridge_msg_cb,
	ws_bridge_drained_cb,
	ws_bridge_closed_cb
};

void
ws_bridge(struct ws *ws, int fd, void (*done)(void *, const char *),
    void *arg)
{
	struct ws_bridge	*b;

	b = xcalloc(1, sizeof *b);
	b->ws = ws;
	b->done = done;
	b->arg = arg;
	b->sbev = bufferevent_socket_new(bufferevent_get_base(ws_bufferevent(ws)),
	    fd, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(b->sbev, ws_bridge_sread_cb, ws_bridge_swrite_cb,
	    ws_bridge_sevent_cb, b);
	bufferevent_setwatermark(b->sbev, EV_WRITE, WS_HIGH_WATER / 4, 0);
	bufferevent_enable(b->sbev, EV_READ|EV_WRITE);
	ws->cb = &ws_bridge_cb;
	ws->arg = b;
	/* Messages may already be waiting in the input. */
	if (evbuffer_get_length(bufferevent_get_input(ws->bev)) != 0)
		bufferevent_trigger(ws->bev, EV_READ, BEV_TRIG_DEFER_CALLBACKS);
}

char *
ws_accept_key(const char *key)
{
	uint8_t		 md[SHA_DIGEST_LENGTH];
	char		*s, out[4 * ((SHA_DIGEST_LENGTH + 2) / 3) + 1];

	xasprintf(&s, "%s%s", key, WS_GUID);
	SHA1((const uint8_t *)s, strlen(s), md);
	free(s);
	EVP_EncodeBlock((uint8_t *)out, md, sizeof md);
	return (xstrdup(out));
}

char *
ws_new_key(void)
{
	uint8_t	 raw[16];
	char	 out[25];

	if (RAND_bytes(raw, sizeof raw) != 1)
		fatalx("%s: no random bytes", __func__);
	EVP_EncodeBlock((uint8_t *)out, raw, sizeof raw);
	return (xstrdup(out));
}

/* Connect with a deadline; a blocking socket on success. */
static int
tls_tcp(const char *host, u_int port, char **cause)
{
	struct addrinfo	 hints, *ai0, *ai;
	struct pollfd	 pfd;
	char		 sport[16];
	int		 fd = -1, error, one = 1;
	socklen_t	 len;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(sport, sizeof sport, "%u", port);
	if ((error = getaddrinfo(host, sport, &hints, &ai0)) != 0) {
		xasprintf(cause, "cannot resolve %s: %s", host,
		    gai_strerror(error));
		return (-1);
	}
	error = 0;
	for (ai = ai0; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype|SOCK_CLOEXEC|
		    SOCK_NONBLOCK, ai->ai_protocol);
		if (fd == -1) {
			error = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 &&
		    errno != EINPROGRESS) {
			error = errno;
			close(fd);
			fd = -1;
			continue;
		}
		pfd.fd = fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, tls_timeout_ms) != 1) {
			error = ETIMEDOUT;
			close(fd);
			fd = -1;
			continue;
		}
		len = sizeof error;
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len);
		if (error != 0) {
			close(fd);
			fd = -1;
			continue;
		}
		break;
	}
	freeaddrinfo(ai0);
	if (fd == -1) {
		xasprintf(cause, "cannot connect to %s port %u: %s", host,
		    port, strerror(error != 0 ? error : ECONNREFUSED));
		return (-1);
	}
	/* Nonblocking still: every step after waits in tls_wait's poll. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
	return (fd);
}

/* The same connect without TLS (a relay on http://): nonblocking fd. */
int
tcp_dial(const char *host, u_int port, char **cause)
{
	return (tls_tcp(host, port, cause));
}

/* SSL_read or SSL_write with the deadline of a poll. */
int
tls_wait(struct ssl_st *ssl, int fd, int r)
{
	struct pollfd	 pfd;

	switch (SSL_get_error(ssl, r)) {
	case SSL_ERROR_WANT_READ:
		pfd.events = POLLIN;
		break;
	case SSL_ERROR_WANT_WRITE:
		pfd.events = POLLOUT;
		break;
	default:
		return (-1);
	}
	pfd.fd = fd;
	if (poll(&pfd, 1, tls_timeout_ms) != 1)
		return (-1);
	return (0);
}

void
tls_cause_ssl(char **cause, const char *what, const char *host)
{
	unsigned long	 e = ERR_get_error();
	char		 buf[256];

	if (e != 0)
		ERR_error_string_n(e, buf, sizeof buf);
	else
		strlcpy(buf, "connection closed", sizeof buf);
	xasprintf(cause, "%s with %s failed: %s", what, host, buf);
	ERR_clear_error();
}

/*
 * Blocking TCP connect and TLS handshake with a deadline, for the client: a
 * context and connection that verify nothing (the caller pins the peer's
 * fingerprint before sending anything).
 */
int
tls_dial(const char *host, u_int port, struct ssl_ctx_st **ctxp,
    struct ssl_st **sslp, int *fdp, char **cause)
{
	SSL_CTX	*ctx;
	SSL	*ssl;
	int	 fd, rv;

	if ((fd = tls_tcp(host, port, cause)) == -1)
		return (-1);
	if ((ctx = tls_client_ctx(cause)) == NULL) {
		close(fd);
		return (-1);
	}
	ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	SSL_set_tlsext_host_name(ssl, host);
	while ((rv = SSL_connect(ssl)) != 1) {
		if (tls_wait(ssl, fd, rv) != 0) {
			tls_cause_ssl(cause, "TLS handshake", host);
			SSL_free(ssl);
			SSL_CTX_free(ctx);
			close(fd);
			return (-1);
		}
	}
	*ctxp = ctx;
	*sslp = ssl;
	*fdp = fd;
	return (0);
}

static void
tls_cause(char **cause, const char *what)
{
	unsigned long	 e = ERR_get_error();
	char		 buf[256];

	if (e != 0) {
		ERR_error_string_n(e, buf, sizeof buf);
		xasprintf(cause, "%s: %s", what, buf);
	} else
		xasprintf(cause, "%s failed", what);
	ERR_clear_error();
}

struct ssl_ctx_st *
tls_server_ctx(const char *cert, const char *key, char **cause)
{
	SSL_CTX	*ctx;

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		tls_cause(cause, "TLS context");
		return (NULL);
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		tls_cause(cause, cert);
		SSL_CTX_free(ctx);
		return (NULL);
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		tls_cause(cause, key);
		SSL_CTX_free(ctx);
		return (NULL);
	}
	return (ctx);
}

struct ssl_ctx_st *
tls_client_ctx(char **cause)
{
	SSL_CTX	*ctx;

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		tls_cause(cause, "TLS context");
		return (NULL);
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	/* Self-signed certificates: the fingerprint is checked instead. */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	return (ctx);
}

char *
tls_peer_fingerprint(struct ssl_st *ssl)
{
	X509	*x;
	char	*fp;

	if ((x = SSL_get1_peer_certificate(ssl)) == NULL)
		return (NULL);
	fp = crypto_x509_fingerprint(x);
	X509_free(x);
	return (fp);
}

const char *
tls_error(struct bufferevent *bev)
{
	static char	 buf[256];
	unsigned long	 e;

	if (bufferevent_openssl_get_ssl(bev) != NULL &&
	    (e = bufferevent_get_openssl_error(bev)) != 0) {
		ERR_error_string_n(e, buf, sizeof buf);
		return (buf);
	}
	if (EVUTIL_SOCKET_ERROR() != 0)
		return (evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	return ("unknown error");
}

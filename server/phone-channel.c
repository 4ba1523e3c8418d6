/*
 * server/phone-channel.c: one phone's WebSocket as the server sees it
 * through the relay (relay/PROTOCOL.md, "Inside a channel").  A channel
 * starts with the Noise KK handshake, the phone initiating, against the
 * key it paired with; only then is it joined, through a socketpair, to an
 * ordinary remote client (actor phone:ID), so a phone runs the commands and
 * the attach code every other client runs.  The client's bytes are sealed
 * in Noise transport messages of at most NOISE_MAX_PLAIN bytes; the
 * phone's are opened and written to the socketpair.  A failure of the
 * phone's keys or messages (unknown phone, a handshake or a message that
 * does not decrypt) ends the channel with close code 4005, which the phone
 * takes as final; a failure on this side (its files, its key, its
 * resources) with 4006 and the cause, after which the phone tries again.
 *
 * Backpressure: when the relay says pause, or the link has more than
 * WS_HIGH_WATER queued, the socketpair is not read, so the client's own
 * queue fills and it skips frames as it does for any slow client.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "common/crypto.h"
#include "common/noise.h"
#include "common/ws.h"
#include "server.h"

#define PHONE_CHANNEL_MAX	64
#define PHONE_KEY_MISMATCH	"this phone's key does not match; pair it again"
#define PHONE_CLOSE_KEY		4005	/* the phone's key or messages */
#define PHONE_CLOSE_LAPTOP	4006	/* this side failed: the phone retries */
#define PHONE_REASON_MAX	123	/* what a close frame carries */

struct phone_channel {
	uint32_t		 ch;
	char			*phone;
	struct noise		*noise;
	struct bufferevent	*sbev;		/* our end of the socketpair */
	int			 paused;	/* the relay said pause */
	u_int			 stale;		/* messages before message 1 */
	TAILQ_ENTRY(phone_channel) entry;
};
static TAILQ_HEAD(, phone_channel) phone_channels =
    TAILQ_HEAD_INITIALIZER(phone_channels);
static u_int	phone_nchannels;

static uint8_t	phone_channel_buf[4 + NOISE_MAX_MSG + 96];

/* Handshake message 1 with its empty payload; how many other messages a
 * new channel lets go by first. */
#define PHONE_MSG1_LEN		(NOISE_KEY_LEN + NOISE_TAG_LEN)
#define PHONE_STALE_MAX		256

static struct phone_channel *
phone_channel_find(uint32_t ch)
{
	struct phone_channel	*pc;

	TAILQ_FOREACH(pc, &phone_channels, entry) {
		if (pc->ch == ch)
			return (pc);
	}
	return (NULL);
}

static void
phone_channel_free(struct phone_channel *pc)
{
	TAILQ_REMOVE(&phone_channels, pc, entry);
	phone_nchannels--;
	if (pc->sbev != NULL)
		bufferevent_free(pc->sbev);	/* the client sees EOF */
	noise_free(pc->noise);
	free(pc->phone);
	free(pc);
}

/* End a channel from this side, telling the relay to close it. */
static void
phone_channel_end(struct phone_channel *pc, u_int code, const char *reason)
{
	relay_link_close_channel(pc->ch, code, reason);
	phone_channel_free(pc);
}

/*
 * A failure on this side, for the phone: what, the cause without this
 * machine's state directory (the relay forwards the reason), cut to what a
 * close frame holds at a character boundary.
 */
static char *
phone_channel_laptop_reason(const char *what, const char *cause)
{
	char	*home = loopsy_home(), *r, *at;
	size_t	 hlen = strlen(home), n;

	xasprintf(&r, "%s: %s", what, cause);
	while (hlen > 1 && (at = strstr(r, home)) != NULL) {
		n = hlen;
		if (at[n] == '/')
			n++;
		memmove(at, at + n, strlen(at + n) + 1);
	}
	free(home);
	if ((n = strlen(r)) > PHONE_REASON_MAX) {
		n = PHONE_REASON_MAX;
		while (n > 0 && ((u_char)r[n] & 0xc0) == 0x80)
			n--;
		r[n] = '\0';
	}
	return (r);
}

/* Close channel ch for a failure on this side, logging the whole cause. */
static void
phone_channel_laptop_error(uint32_t ch, const char *phone, const char *what,
    const char *cause)
{
	char	*reason;

	log_warnx("phone %s: %s: %s", phone, what, cause);
	reason = phone_channel_laptop_reason(what, cause);
	relay_link_close_channel(ch, PHONE_CLOSE_LAPTOP, reason);
	free(reason);
}

u_int
phone_channel_count(const char *phone)
{
	struct phone_channel	*pc;
	u_int			 n = 0;

	TAILQ_FOREACH(pc, &phone_channels, entry) {
		if (phone == NULL || strcmp(pc->phone, phone) == 0)
			n++;
	}
	return (n);
}

/* The relay: a phone connected on channel ch. */
void
phone_channel_open(uint32_t ch, const char *phone)
{
	struct phone_channel	*pc;
	struct noise_keypair	 kp;
	struct phone		 p;
	char			*cause = NULL;
	int			 rv;

	if ((pc = phone_channel_find(ch)) != NULL)
		phone_channel_free(pc);		/* the relay reused it */
	if (phone_nchannels >= PHONE_CHANNEL_MAX) {
		log_warnx("phone %s: over %u channels, refused", phone,
		    PHONE_CHANNEL_MAX);
		relay_link_close_channel(ch, 4009, "too many connections");
		return;
	}
	if ((rv = phone_load(phone, &p, &cause)) == 1) {
		log_warnx("phone %s: not paired here", phone);
		relay_link_close_channel(ch, PHONE_CLOSE_KEY,
		    PHONE_KEY_MISMATCH);
		return;
	}
	if (rv != 0) {
		phone_channel_laptop_error(ch, phone,
		    "the laptop cannot read this phone's file", cause);
		free(cause);
		return;
	}
	if (phone_key_load(0, kp.priv, kp.pub, &cause) != 0) {
		phone_channel_laptop_error(ch, phone,
		    "the laptop cannot read its phone key", cause);
		free(cause);
		phone_clear(&p);
		return;
	}
	pc = xcalloc(1, sizeof *pc);
	pc->ch = ch;
	pc->phone = xstrdup(phone);
	pc->noise = noise_new_kk(0, &kp, p.pub, NOISE_PROLOGUE,
	    strlen(NOISE_PROLOGUE));
	crypto_cleanse(&kp, sizeof kp);
	phone_clear(&p);
	TAILQ_INSERT_TAIL(&phone_channels, pc, entry);
	phone_nchannels++;
	log_debug("phone %s: channel %u open", phone, ch);
}

/* The relay: that phone went away. */
void
phone_channel_closed(uint32_t ch)
{
	struct phone_channel	*pc;

	if ((pc = phone_channel_find(ch)) != NULL) {
		log_debug("phone %s: channel %u closed", pc->phone, ch);
		phone_channel_free(pc);
	}
}

/* Seal what the client wrote and send it, while the link can take it. */
static void
phone_channel_read_cb(struct bufferevent *bev, void *arg)
{
	struct phone_channel	*pc = arg;
	struct evbuffer		*in = bufferevent_get_input(bev);
	size_t			 len;
	char			*cause = NULL;

	while ((len = evbuffer_get_length(in)) != 0) {
		if (pc->paused || relay_link_queued() > WS_HIGH_WATER) {
			bufferevent_disable(bev, EV_READ);
			return;
		}
		if (len > NOISE_MAX_PLAIN)
			len = NOISE_MAX_PLAIN;
		if (noise_encrypt(pc->noise, evbuffer_pullup(in, len), len,
		    phone_channel_buf, &cause) != 0) {
			phone_channel_laptop_error(pc->ch, pc->phone,
			    "the laptop could not encrypt", cause);
			free(cause);
			phone_channel_free(pc);
			return;
		}
		evbuffer_drain(in, len);
		if (relay_link_send_channel(pc->ch, phone_channel_buf,
		    len + NOISE_TAG_LEN) != 0) {
			phone_channel_free(pc);	/* the link is going */
			return;
		}
	}
}

static void
phone_channel_event_cb(struct bufferevent *bev __unused, short what,
    void *arg)
{
	struct phone_channel	*pc = arg;

	if (!(what & (BEV_EVENT_EOF|BEV_EVENT_ERROR)))
		return;
	log_debug("phone %s: the server's side of channel %u closed",
	    pc->phone, pc->ch);
	phone_channel_end(pc, 1000, "the server closed the connection");
}

/* The handshake's first message: answer it and join a client. */
static void
phone_channel_handshake(struct phone_channel *pc, const uint8_t *data,
    size_t len)
{
	uint8_t	 payload[NOISE_MAX_MSG];
	size_t	 n;
	char	*cause = NULL, *actor;
	int	 pair[2];

	/*
	 * Message 1 (e, and an empty payload's tag) is 48 bytes.  Anything
	 * else is the phone's old session, sent before it heard of this
	 * channel (the laptop's link was replaced): not ours to judge.
	 */
	if (len != PHONE_MSG1_LEN) {
		if (++pc->stale > PHONE_STALE_MAX) {
			log_warnx("phone %s: no handshake in %u messages",
			    pc->phone, pc->stale);
			phone_channel_end(pc, PHONE_CLOSE_KEY,
			    PHONE_KEY_MISMATCH);
		} else
			log_debug("phone %s: a %zu-byte message before the "
			    "handshake, dropped", pc->phone, len);
		return;
	}
	/* Reading message 1 is where the phone's keys are checked. */
	if (len > NOISE_MAX_MSG || noise_read_handshake(pc->noise, data, len,
	    payload, &n, &cause) != 0) {
		log_warnx("phone %s: handshake failed: %s", pc->phone,
		    cause != NULL ? cause : "message too long");
		free(cause);
		phone_channel_end(pc, PHONE_CLOSE_KEY, PHONE_KEY_MISMATCH);
		return;
	}
	if (noise_write_handshake(pc->noise, NULL, 0, phone_channel_buf, &n,
	    &cause) != 0 || !noise_ready(pc->noise)) {
		phone_channel_laptop_error(pc->ch, pc->phone,
		    "the laptop could not answer the handshake", cause !=
		    NULL ? cause : "not ready");
		free(cause);
		phone_channel_free(pc);
		return;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC, 0, pair) != 0) {
		phone_channel_laptop_error(pc->ch, pc->phone,
		    "the laptop is out of resources", strerror(errno));
		phone_channel_free(pc);
		return;
	}
	if (relay_link_send_channel(pc->ch, phone_channel_buf, n) != 0) {
		close(pair[0]);
		close(pair[1]);
		phone_channel_free(pc);
		return;
	}
	set_nonblock(pair[0]);
	set_nonblock(pair[1]);
	xasprintf(&actor, "phone:%s", pc->phone);
	server_client_accept_remote(pair[0], actor, "relay");
	free(actor);
	pc->sbev = bufferevent_socket_new(server_base, pair[1],
	    BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(pc->sbev, phone_channel_read_cb, NULL,
	    phone_channel_event_cb, pc);
	bufferevent_enable(pc->sbev, pc->paused ? EV_WRITE :
	    EV_READ|EV_WRITE);
	log_info("phone %s: connected (channel %u)", pc->phone, pc->ch);
}

/* A binary message on a channel: the handshake, then transport. */
void
phone_channel_data(uint32_t ch, const uint8_t *data, size_t len)
{
	struct phone_channel	*pc;
	uint8_t			 plain[NOISE_MAX_MSG];
	char			*cause = NULL, *reason;

	if ((pc = phone_channel_find(ch)) == NULL) {
		log_debug("relay: data for channel %u, which is not open", ch);
		return;
	}
	if (pc->sbev == NULL) {
		phone_channel_handshake(pc, data, len);
		return;
	}
	if (len < NOISE_TAG_LEN || len > NOISE_MAX_MSG ||
	    noise_decrypt(pc->noise, data, len, plain, &cause) != 0) {
		xasprintf(&reason, "a message did not decrypt: %s", cause !=
		    NULL ? cause : "bad length");
		log_warnx("phone %s: %s; channel %u closed", pc->phone,
		    reason, ch);
		phone_channel_end(pc, PHONE_CLOSE_KEY, reason);
		free(reason);
		free(cause);
		return;
	}
	bufferevent_write(pc->sbev, plain, len - NOISE_TAG_LEN);
	crypto_cleanse(plain, len - NOISE_TAG_LEN);
}

void
phone_channel_pause(uint32_t ch, int pause)
{
	struct phone_channel	*pc;

	if ((pc = phone_channel_find(ch)) == NULL)
		return;
	log_debug("phone %s: channel %u %s", pc->phone, ch, pause ?
	    "paused" : "resumed");
	pc->paused = pause;
	if (pc->sbev == NULL)
		return;
	if (pause)
		bufferevent_disable(pc->sbev, EV_READ);
	else {
		bufferevent_enable(pc->sbev, EV_READ);
		phone_channel_read_cb(pc->sbev, pc);
	}
}

/* The link can take more: read the channels that waited for it. */
void
phone_channel_drained(void)
{
	struct phone_channel	*pc, *pc1;

	TAILQ_FOREACH_SAFE(pc, &phone_channels, entry, pc1) {
		if (relay_link_queued() > WS_HIGH_WATER)
			break;
		if (pc->sbev == NULL || pc->paused ||
		    (bufferevent_get_enabled(pc->sbev) & EV_READ))
			continue;
		bufferevent_enable(pc->sbev, EV_READ);
		phone_channel_read_cb(pc->sbev, pc);
	}
}

/* The link went down: every channel goes (the clients keep resume tokens). */
void
phone_channel_drop_all(const char *why)
{
	struct phone_channel	*pc;

	if (!TAILQ_EMPTY(&phone_channels))
		log_info("phones: %u channels closed: %s", phone_nchannels,
		    why);
	while ((pc = TAILQ_FIRST(&phone_channels)) != NULL)
		phone_channel_free(pc);
}

/* A phone was revoked: its channels close now.  Returns how many. */
u_int
phone_channel_revoke(const char *phone)
{
	struct phone_channel	*pc, *pc1;
	u_int			 n = 0;

	TAILQ_FOREACH_SAFE(pc, &phone_channels, entry, pc1) {
		if (strcmp(pc->phone, phone) != 0)
			continue;
		phone_channel_end(pc, 4003, "this phone was revoked");
		n++;
	}
	return (n);
}

/*
 * relay/splice.c: the WebSockets of devices and phones (PROTOCOL.md, "The
 * device's WebSocket" and "The phone's WebSocket").  Each device has at
 * most one connection and any number of phone connections (up to
 * --max-phones), each a channel: a phone's binary message goes to the
 * device as channel || payload, and the device's binary messages go back by
 * channel, never looked into.  Backpressure instead of buffers: a phone
 * holding more than 1 MiB makes the device pause that channel (resume below
 * 256 KiB, closed 4008 past 8 MiB), and a device holding more than 1 MiB
 * stops the relay reading from all its phones until it drains.  The
 * device's control messages (pairing, phone list, revoke, close) are
 * answered here with pair.c and the store.
 *
 * A WebSocket may end inside any ws_send() (a write fails): its closed
 * callback only forgets the ws (the pointer is NULL from then on) and the
 * rest (channels, lists, frees) happens in a reap from the event loop, so no
 * list changes under a loop that sends.
 */
#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "common/ws.h"
#include "relay.h"

#define SPLICE_PAUSE_AT		(1024 * 1024)
#define SPLICE_RESUME_AT	(256 * 1024)
#define SPLICE_DROP_AT		(8 * 1024 * 1024)
#define SPLICE_PING		20	/* seconds */
#define SPLICE_DEAD		60
#define SPLICE_REASON_MAX	123	/* a close frame's reason */

struct devconn;

struct phconn {
	struct ws		*ws;	/* NULL once closed */
	struct dev		*dev;	/* NULL if never admitted */
	char			*phone;
	char			*addr;
	uint32_t		 ch;	/* 0 while the device is offline */
	int			 paused;	/* the device was told pause */
	TAILQ_ENTRY(phconn)	 entry;
};

struct dev {
	char			*id;
	struct devconn		*conn;	/* NULL while offline */
	TAILQ_HEAD(, phconn)	 phones;
	u_int			 nphones;
	TAILQ_ENTRY(dev)	 entry;
};

struct devconn {
	struct ws		*ws;	/* NULL once closed */
	struct dev		*dev;	/* NULL once replaced */
	char			*addr;
	uint32_t		 next_ch;
	int			 phones_paused;
};

static TAILQ_HEAD(, dev) devs = TAILQ_HEAD_INITIALIZER(devs);
static uint8_t		*splice_buf;	/* ch || payload, reused */
static size_t		 splice_bufsize;

static struct dev *
dev_find(const char *id, int create)
{
	struct dev	*d;

	TAILQ_FOREACH(d, &devs, entry) {
		if (strcmp(d->id, id) == 0)
			return (d);
	}
	if (!create)
		return (NULL);
	d = xcalloc(1, sizeof *d);
	d->id = xstrdup(id);
	TAILQ_INIT(&d->phones);
	TAILQ_INSERT_TAIL(&devs, d, entry);
	return (d);
}

static void
dev_maybe_free(struct dev *d)
{
	if (d->conn != NULL || !TAILQ_EMPTY(&d->phones))
		return;
	TAILQ_REMOVE(&devs, d, entry);
	free(d->id);
	free(d);
}

/* The device's WebSocket, or NULL while it is offline. */
static struct ws *
dev_ws(struct dev *d)
{
	return (d->conn != NULL ? d->conn->ws : NULL);
}

/* A JSON message as text; j is freed. */
static int
splice_send_json(struct ws *ws, cJSON *j)
{
	char	*s;
	int	 rc = -1;

	if (ws == NULL) {
		cJSON_Delete(j);
		return (-1);
	}
	s = cJSON_PrintUnformatted(j);
	rc = ws_send(ws, 0, s, strlen(s));
	free(s);
	cJSON_Delete(j);
	return (rc);
}

static cJSON *
splice_msg(const char *type)
{
	cJSON	*j = cJSON_CreateObject();

	cJSON_AddStringToObject(j, "t", type);
	return (j);
}

/* {"t":TYPE,"ch":C} to the device. */
static void
splice_tell_ch(struct dev *d, const char *type, uint32_t ch)
{
	cJSON	*j;

	if (dev_ws(d) == NULL || ch == 0)
		return;
	j = splice_msg(type);
	cJSON_AddNumberToObject(j, "ch", ch);
	splice_send_json(dev_ws(d), j);
}

static void
splice_tell_online(struct phconn *p, int online)
{
	cJSON	*j = splice_msg("device");

	cJSON_AddBoolToObject(j, "online", online);
	splice_send_json(p->ws, j);	/* NULL: dropped */
}

int
splice_send_device(const char *device, cJSON *j)
{
	struct dev	*d = dev_find(device, 0);

	if (d == NULL) {
		cJSON_Delete(j);
		return (-1);
	}
	return (splice_send_json(dev_ws(d), j));
}

/* Give a phone a channel on the device's connection. */
static void
splice_open(struct phconn *p)
{
	struct devconn	*dc = p->dev->conn;
	cJSON		*j;

	p->ch = ++dc->next_ch;
	p->paused = 0;
	j = splice_msg("open");
	cJSON_AddNumberToObject(j, "ch", p->ch);
	cJSON_AddStringToObject(j, "phone", p->phone);
	splice_send_json(dc->ws, j);
	if (dc->phones_paused && p->ws != NULL)
		ws_pause(p->ws, 1);
}

/* End a phone's connection now for the device: its channel closes. */
static void
splice_phone_end(struct phconn *p, uint16_t code, const char *reason)
{
	if (p->dev != NULL) {
		splice_tell_ch(p->dev, "close", p->ch);
		p->ch = 0;
	}
	if (p->ws != NULL)
		ws_close(p->ws, code, reason);
}

static void
splice_phones_pause(struct devconn *dc, int pause)
{
	struct phconn	*p;

	dc->phones_paused = pause;
	TAILQ_FOREACH(p, &dc->dev->phones, entry) {
		if (p->ws != NULL)
			ws_pause(p->ws, pause);
	}
}

static void
splice_phone_msg(struct ws *ws, int binary, const uint8_t *data,
    size_t len, void *arg)
{
	struct phconn	*p = arg;
	struct devconn	*dc = p->dev != NULL ? p->dev->conn : NULL;
	struct ws	*to;
	cJSON		*j, *t;

	if (!binary) {
		j = cJSON_ParseWithLength((const char *)data, len);
		t = cJSON_GetObjectItemCaseSensitive(j, "t");
		if (cJSON_IsString(t) && strcmp(t->valuestring, "ping") == 0)
			splice_send_json(ws, splice_msg("pong"));
		else
			log_debug("phone %s: text message ignored", p->phone);
		cJSON_Delete(j);
		return;
	}
	/* No channel open: the bytes belong to no handshake; dropped. */
	if (dc == NULL || (to = dc->ws) == NULL || p->ch == 0) {
		log_debug("phone %s: %zu bytes while it has no channel",
		    p->phone, len);
		return;
	}
	if (splice_bufsize < len + 4) {
		splice_bufsize = len + 4;
		splice_buf = xreallocarray(splice_buf, 1, splice_bufsize);
	}
	splice_buf[0] = p->ch >> 24;
	splice_buf[1] = p->ch >> 16;
	splice_buf[2] = p->ch >> 8;
	splice_buf[3] = p->ch;
	memcpy(splice_buf + 4, data, len);
	if (ws_send(to, 1, splice_buf, len + 4) != 0)
		return;
	relay_tap(data, len);
	if (dc->ws != NULL && !dc->phones_paused &&
	    ws_queued(dc->ws) > SPLICE_PAUSE_AT)
		splice_phones_pause(dc, 1);
}

static void
splice_phone_drained(struct ws *ws, void *arg)
{
	struct phconn	*p = arg;

	if (p->paused && ws_queued(ws) <= SPLICE_RESUME_AT) {
		p->paused = 0;
		if (p->dev != NULL)
			splice_tell_ch(p->dev, "resume", p->ch);
	}
}

static void
splice_phone_reap(int fd __unused, short events __unused, void *arg)
{
	struct phconn	*p = arg;
	struct dev	*d = p->dev;

	if (d != NULL) {
		splice_tell_ch(d, "close", p->ch);
		TAILQ_REMOVE(&d->phones, p, entry);
		d->nphones--;
		dev_maybe_free(d);
	}
	free(p->phone);
	free(p->addr);
	free(p);
}

static void
splice_phone_closed(struct ws *ws __unused, const char *why, void *arg)
{
	struct phconn	*p = arg;
	struct timeval	 tv = { 0, 0 };

	log_info("phone %s (%s): closed: %s", p->phone, p->addr, why);
	addr_conn_del(p->addr);
	p->ws = NULL;
	event_base_once(relay_base, -1, EV_TIMEOUT, splice_phone_reap, p, &tv);
}

static const struct ws_cb splice_phone_cb = {
	splice_phone_msg,
	splice_phone_drained,
	splice_phone_closed
};

/* Take over an upgraded bufferevent as a WebSocket. */
static struct ws *
splice_ws(struct bufferevent *bev, u_int max, const struct ws_cb *cb,
    void *arg)
{
	struct ws	*ws;

	ws = ws_new(bev, 1, max, cb, arg);
	ws_keepalive(ws, SPLICE_PING, SPLICE_DEAD);
	/* Frames sent right behind the upgrade are in the input already. */
	if (evbuffer_get_length(bufferevent_get_input(bev)) != 0)
		bufferevent_trigger(bev, EV_READ, BEV_TRIG_DEFER_CALLBACKS);
	return (ws);
}

void
splice_phone(struct bufferevent *bev, const char *phone, const char *device,
    const char *addr)
{
	struct phconn	*p;
	struct dev	*d;

	p = xcalloc(1, sizeof *p);
	p->phone = xstrdup(phone);
	p->addr = xstrdup(addr);
	p->ws = splice_ws(bev, relay_opts.max_frame, &splice_phone_cb, p);
	d = dev_find(device, 1);
	if (d->nphones >= relay_opts.max_phones) {
		log_warnx("phone %s (%s): device %s has %u connections already",
		    phone, addr, device, d->nphones);
		dev_maybe_free(d);
		ws_close(p->ws, 4009, "too many connections for this device");
		return;
	}
	p->dev = d;
	TAILQ_INSERT_TAIL(&d->phones, p, entry);
	d->nphones++;
	log_info("phone %s (%s): connected to device %s", phone, addr, device);
	splice_tell_online(p, dev_ws(d) != NULL);
	if (dev_ws(d) != NULL)
		splice_open(p);
}

void
splice_phone_unknown(struct bufferevent *bev, const char *addr)
{
	struct phconn	*p;

	p = xcalloc(1, sizeof *p);
	p->phone = xstrdup("(unknown)");
	p->addr = xstrdup(addr);
	p->ws = splice_ws(bev, 1024, &splice_phone_cb, p);
	ws_close(p->ws, 4004, "unknown phone; pair it again");
}

static struct phconn *
splice_channel(struct dev *d, uint32_t ch)
{
	struct phconn	*p;

	if (ch == 0)
		return (NULL);
	TAILQ_FOREACH(p, &d->phones, entry) {
		if (p->ch == ch)
			return (p);
	}
	return (NULL);
}

/* A binary message from the device: payload to a channel's phone. */
static void
splice_device_data(struct devconn *dc, const uint8_t *data, size_t len)
{
	struct phconn	*p;
	uint32_t	 ch;
	size_t		 q;

	if (len < 4) {
		log_debug("device %s: binary message of %zu bytes",
		    dc->dev->id, len);
		return;
	}
	ch = (uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 |
	    (uint32_t)data[2] << 8 | data[3];
	if ((p = splice_channel(dc->dev, ch)) == NULL || p->ws == NULL) {
		log_debug("device %s: no channel %u", dc->dev->id, ch);
		return;
	}
	if (ws_send(p->ws, 1, data + 4, len - 4) != 0)
		return;
	relay_tap(data + 4, len - 4);
	if (p->ws == NULL)
		return;
	q = ws_queued(p->ws);
	if (q > SPLICE_DROP_AT) {
		log_warnx("phone %s: over %u bytes waiting, closed",
		    p->phone, SPLICE_DROP_AT);
		splice_phone_end(p, 4008, "too slow");
	} else if (q > SPLICE_PAUSE_AT && !p->paused) {
		p->paused = 1;
		splice_tell_ch(dc->dev, "pause", ch);
	}
}

/* {"t":"error","id":N,"code","message"} to the device. */
static void
splice_refuse(struct devconn *dc, cJSON *id, const char *code,
    const char *message)
{
	cJSON	*j = splice_msg("error");

	if (cJSON_IsNumber(id))
		cJSON_AddNumberToObject(j, "id", id->valuedouble);
	cJSON_AddStringToObject(j, "code", code);
	cJSON_AddStringToObject(j, "message", message);
	splice_send_json(dc->ws, j);
}

static void
splice_ctl_issue(struct devconn *dc, cJSON *m, cJSON *id)
{
	cJSON	*ttl = cJSON_GetObjectItemCaseSensitive(m, "ttl"), *j;
	long	 seconds = 1800;
	char	*token, *cause;
	time_t	 expires;
	u_int	 retry;

	if (ttl != NULL && !cJSON_IsNumber(ttl)) {
		splice_refuse(dc, id, "bad_request", "ttl must be a number");
		return;
	}
	if (ttl != NULL)
		seconds = ttl->valuedouble == (long)ttl->valuedouble ?
		    (long)ttl->valuedouble : -1;
	switch (pair_issue(dc->dev->id, seconds, &token, &expires, &cause,
	    &retry)) {
	case PAIR_ISSUED:
		break;
	case PAIR_BAD_TTL:
		splice_refuse(dc, id, "bad_request", cause);
		free(cause);
		return;
	case PAIR_LIMITED:
		splice_refuse(dc, id, "rate_limited", cause);
		free(cause);
		return;
	default:
		splice_refuse(dc, id, "internal", cause);
		free(cause);
		return;
	}
	j = splice_msg("pair-token");
	if (cJSON_IsNumber(id))
		cJSON_AddNumberToObject(j, "id", id->valuedouble);
	cJSON_AddStringToObject(j, "token", token);
	cJSON_AddNumberToObject(j, "expires", (double)expires);
	splice_send_json(dc->ws, j);
	free(token);
}

static void
splice_ctl_phones(struct devconn *dc, cJSON *m __unused, cJSON *id)
{
	cJSON	*j = api_phones_json(dc->dev->id);

	cJSON_AddStringToObject(j, "t", "phones");
	if (cJSON_IsNumber(id))
		cJSON_AddNumberToObject(j, "id", id->valuedouble);
	splice_send_json(dc->ws, j);
}

static void
splice_ctl_revoke(struct devconn *dc, cJSON *m, cJSON *id)
{
	cJSON	*phone = cJSON_GetObjectItemCaseSensitive(m, "phone");

	if (!cJSON_IsString(phone)) {
		splice_refuse(dc, id, "bad_request", "phone: expected an id");
		return;
	}
	if (store_phone_delete(relay_store, dc->dev->id,
	    phone->valuestring) != 1) {
		splice_refuse(dc, id, "not_found",
		    "this device has no phone with that id");
		return;
	}
	log_info("device %s: revoked phone %s", dc->dev->id,
	    phone->valuestring);
	splice_revoke(dc->dev->id, phone->valuestring,
	    cJSON_IsNumber(id) ? (long)id->valuedouble : -1);
}

static void
splice_ctl_close(struct devconn *dc, cJSON *m, cJSON *id)
{
	cJSON		*ch = cJSON_GetObjectItemCaseSensitive(m, "ch");
	cJSON		*code = cJSON_GetObjectItemCaseSensitive(m, "code");
	cJSON		*reason = cJSON_GetObjectItemCaseSensitive(m, "reason");
	struct phconn	*p;
	char		*why;
	uint16_t	 c = 4000;

	if (!cJSON_IsNumber(ch) || (p = splice_channel(dc->dev,
	    (uint32_t)ch->valuedouble)) == NULL) {
		splice_refuse(dc, id, "not_found", "no such channel");
		return;
	}
	if (cJSON_IsNumber(code) && code->valuedouble >= 4000 &&
	    code->valuedouble <= 4999)
		c = code->valuedouble;
	/* The phone shows it: whole characters, no controls. */
	why = text_clean(cJSON_IsString(reason) ? reason->valuestring : "",
	    SPLICE_REASON_MAX);
	p->ch = 0;		/* the device knows */
	if (p->ws != NULL)
		ws_close(p->ws, c, why);
	free(why);
}

static const struct {
	const char	*type;
	void		(*fn)(struct devconn *, cJSON *, cJSON *);
} splice_ctls[] = {
	{ "pair-issue", splice_ctl_issue },
	{ "phones", splice_ctl_phones },
	{ "revoke", splice_ctl_revoke },
	{ "close", splice_ctl_close },
};

static void
splice_device_ctl(struct devconn *dc, const uint8_t *data, size_t len)
{
	cJSON	*m, *t, *id;
	u_int	 i;

	m = cJSON_ParseWithLength((const char *)data, len);
	t = cJSON_GetObjectItemCaseSensitive(m, "t");
	id = cJSON_GetObjectItemCaseSensitive(m, "id");
	if (!cJSON_IsString(t)) {
		splice_refuse(dc, id, "bad_request", m == NULL ?
		    "malformed JSON" : "expected {\"t\": TYPE, ...}");
		goto out;
	}
	if (strcmp(t->valuestring, "pair-result") == 0) {
		pair_result(dc->dev->id, m);
		goto out;
	}
	for (i = 0; i < nitems(splice_ctls); i++) {
		if (strcmp(t->valuestring, splice_ctls[i].type) == 0) {
			splice_ctls[i].fn(dc, m, id);
			goto out;
		}
	}
	splice_refuse(dc, id, "bad_request", "unknown message type");
out:
	cJSON_Delete(m);
}

static void
splice_device_msg(struct ws *ws __unused, int binary, const uint8_t *data,
    size_t len, void *arg)
{
	struct devconn	*dc = arg;

	if (dc->dev == NULL || dc->ws == NULL)
		return;		/* replaced: closing */
	if (binary)
		splice_device_data(dc, data, len);
	else
		splice_device_ctl(dc, data, len);
}

static void
splice_device_drained(struct ws *ws, void *arg)
{
	struct devconn	*dc = arg;

	if (dc->dev != NULL && dc->phones_paused &&
	    ws_queued(ws) <= SPLICE_RESUME_AT)
		splice_phones_pause(dc, 0);
}

/* The device's phones lose their channels (it went, or was replaced). */
static void
splice_device_detach(struct devconn *dc, int tell)
{
	struct dev	*d = dc->dev;
	struct phconn	*p;

	TAILQ_FOREACH(p, &d->phones, entry) {
		p->ch = 0;
		p->paused = 0;
		if (p->ws != NULL)
			ws_pause(p->ws, 0);
		if (tell)
			splice_tell_online(p, 0);
	}
	d->conn = NULL;
	dc->dev = NULL;
}

static void
splice_device_reap(int fd __unused, short events __unused, void *arg)
{
	struct devconn	*dc = arg;
	struct dev	*d = dc->dev;

	if (d != NULL) {
		splice_device_detach(dc, 1);
		pair_device_gone(d->id);
		dev_maybe_free(d);
	}
	free(dc->addr);
	free(dc);
}

static void
splice_device_closed(struct ws *ws __unused, const char *why, void *arg)
{
	struct devconn	*dc = arg;
	struct timeval	 tv = { 0, 0 };

	log_info("device %s (%s): closed: %s", dc->dev != NULL ?
	    dc->dev->id : "(replaced)", dc->addr, why);
	addr_conn_del(dc->addr);
	dc->ws = NULL;
	event_base_once(relay_base, -1, EV_TIMEOUT, splice_device_reap, dc,
	    &tv);
}

static const struct ws_cb splice_device_cb = {
	splice_device_msg,
	splice_device_drained,
	splice_device_closed
};

void
splice_device(struct bufferevent *bev, const char *device, const char *addr)
{
	struct devconn	*dc, *old;
	struct dev	*d = dev_find(device, 1);
	struct phconn	*p;
	cJSON		*j;

	if ((old = d->conn) != NULL) {
		log_info("device %s: a new connection replaces the one from "
		    "%s", device, old->addr);
		splice_device_detach(old, 0);
		pair_device_gone(device);
		if (old->ws != NULL)
			ws_close(old->ws, 4001,
			    "replaced by a new connection");
	}
	dc = xcalloc(1, sizeof *dc);
	dc->dev = d;
	dc->addr = xstrdup(addr);
	dc->ws = splice_ws(bev, relay_opts.max_frame + 4, &splice_device_cb,
	    dc);
	d->conn = dc;
	log_info("device %s (%s): connected", device, addr);
	j = splice_msg("hello");
	cJSON_AddStringToObject(j, "device", device);
	splice_send_json(dc->ws, j);
	/*
	 * Each phone gets a new channel, and is told so even if the old
	 * connection was only replaced: its Noise session was with the old
	 * channel, and online:true makes it start a fresh handshake.
	 */
	TAILQ_FOREACH(p, &d->phones, entry) {
		if (p->ws == NULL)
			continue;
		splice_tell_online(p, 1);
		splice_open(p);
	}
}

int
splice_phone_online(const char *phone)
{
	struct dev	*d;
	struct phconn	*p;

	TAILQ_FOREACH(d, &devs, entry) {
		TAILQ_FOREACH(p, &d->phones, entry) {
			if (p->ws != NULL && strcmp(p->phone, phone) == 0)
				return (1);
		}
	}
	return (0);
}

/* A phone is no longer paired: close its connections, tell the device. */
void
splice_revoke(const char *device, const char *phone, long id)
{
	struct dev	*d = dev_find(device, 0);
	struct phconn	*p;
	cJSON		*j;

	if (d == NULL)
		return;
	TAILQ_FOREACH(p, &d->phones, entry) {
		if (strcmp(p->phone, phone) == 0)
			splice_phone_end(p, 4003, "revoked");
	}
	j = splice_msg("revoked");
	if (id >= 0)
		cJSON_AddNumberToObject(j, "id", id);
	cJSON_AddStringToObject(j, "phone", phone);
	splice_send_json(dev_ws(d), j);
}

void
splice_shutdown(void)
{
	struct dev	*d;
	struct phconn	*p;

	TAILQ_FOREACH(d, &devs, entry) {
		TAILQ_FOREACH(p, &d->phones, entry) {
			if (p->ws != NULL)
				ws_close(p->ws, 1001, "relay shutting down");
		}
		if (dev_ws(d) != NULL)
			ws_close(dev_ws(d), 1001, "relay shutting down");
	}
}

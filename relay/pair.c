/*
 * relay/pair.c: pairing as PROTOCOL.md ("Pairing") tells it: a device asks
 * for a signed single-use token; a phone redeems it with a proof only the
 * device can check, so the relay forwards the redeem to the device's
 * WebSocket, waits (10 s) for its pair-result, and then stores the phone or
 * counts the wrong code (five burn the link).  The nonce records are the
 * store's; the token format is token.c's.
 *
 * Once the device says ok it has stored the phone, so the relay stores it
 * too even if the phone's request is gone (it went, or was answered 503
 * because the device was slow or went away): the laptop's phone list and
 * revoke then agree with the relay's.  A redeem is kept PAIR_LATE seconds
 * after its 503 for that.
 */
#include <sys/types.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <openssl/rand.h>

#include "common/crypto.h"
#include "relay.h"

#define PAIR_TTL_MIN		60
#define PAIR_TTL_MAX		86400
#define PAIR_WAIT		10	/* seconds for the device's answer */
#define PAIR_LATE		60	/* seconds more for a late answer */
#define PAIR_LABEL_MAX		100
#define PAIR_TOKEN_MAX		200

/* A redeem waiting for the device's pair-result. */
struct redeem {
	u_int			 id;
	char			*device;
	uint8_t			 nonce[TOKEN_NONCE_LEN];
	char			*phone;
	char			*label;
	struct rconn		*c;	/* NULL once the phone has gone */
	int			 late;	/* answered 503 already */
	struct event		*timer;
	TAILQ_ENTRY(redeem)	 entry;
};
static TAILQ_HEAD(, redeem) redeems = TAILQ_HEAD_INITIALIZER(redeems);
static u_int		    redeem_next = 1;

/*
 * A pair token for a device, at most PAIR_ISSUE_RATE a minute; of its
 * links, the newest PAIR_WAITING_MAX unused ones stay good and older ones
 * are dropped (a laptop that restarted forgot its own; nobody is locked
 * out while they expire).  The cause is for the device's error.
 */
enum pair_issue_error
pair_issue(const char *device, long ttl, char **token, time_t *expires,
    char **cause, u_int *retry)
{
	uint8_t	 nonce[TOKEN_NONCE_LEN];
	time_t	 now = time(NULL);
	int	 n;

	if (ttl < PAIR_TTL_MIN || ttl > PAIR_TTL_MAX) {
		xasprintf(cause, "ttl must be a whole number of seconds from "
		    "%d to %d", PAIR_TTL_MIN, PAIR_TTL_MAX);
		return (PAIR_BAD_TTL);
	}
	if (addr_take(device, LIMIT_ISSUE, retry) != 0) {
		log_warnx("device %s: over %d pair links a minute", device,
		    PAIR_ISSUE_RATE);
		xasprintf(cause, "too many pair links from this device (at "
		    "most %d a minute); try again in %u seconds",
		    PAIR_ISSUE_RATE, *retry);
		return (PAIR_LIMITED);
	}
	if (RAND_bytes(nonce, sizeof nonce) != 1)
		fatalx("%s: no random bytes", __func__);
	*expires = now + ttl;
	if (store_nonce_add(relay_store, nonce, device, *expires) != 0) {
		*cause = xstrdup("cannot store the pair nonce");
		return (PAIR_FAILED);
	}
	if ((n = store_nonce_cap(relay_store, device, now,
	    PAIR_WAITING_MAX)) > 0)
		log_info("device %s: %d older pair links dropped (%d wait at "
		    "most)", device, n, PAIR_WAITING_MAX);
	*token = token_sign(relay_key, nonce, *expires);
	log_info("device %s: pair token issued for %lds", device, ttl);
	return (PAIR_ISSUED);
}

static void
redeem_free(struct redeem *r)
{
	TAILQ_REMOVE(&redeems, r, entry);
	if (r->c != NULL)
		r->c->wait = NULL;
	event_free(r->timer);
	free(r->device);
	free(r->phone);
	free(r->label);
	free(r);
}

/*
 * Tell the phone 503 (why) but keep the redeem a while: the device may
 * still answer, and if it said ok it has stored the phone.
 */
static void
redeem_give_up(struct redeem *r, const char *why)
{
	struct timeval	 tv = { PAIR_LATE, 0 };

	if (r->c != NULL) {
		conn_error(r->c, 503, "device_offline", "%s", why);
		r->c->wait = NULL;
		r->c = NULL;
	}
	r->late = 1;
	evtimer_add(r->timer, &tv);
}

static void
redeem_timeout_cb(int fd __unused, short events __unused, void *arg)
{
	struct redeem	*r = arg;

	if (r->late) {
		redeem_free(r);
		return;
	}
	redeem_give_up(r, "the laptop did not answer; is loopsy running "
	    "there?");
}

/* A string field of at most max bytes, or NULL after a 400. */
static const char *
pair_field(struct rconn *c, cJSON *body, const char *name, size_t max)
{
	cJSON	*f = cJSON_GetObjectItemCaseSensitive(body, name);

	if (!cJSON_IsString(f)) {
		conn_error(c, 400, "bad_request", "%s: expected a string",
		    name);
		return (NULL);
	}
	if (strlen(f->valuestring) > max) {
		conn_error(c, 400, "bad_request", "%s: longer than %zu bytes",
		    name, max);
		return (NULL);
	}
	return (f->valuestring);
}

/* A b64u field of exactly 32 bytes, or -1 after a 400. */
static int
pair_key_field(struct rconn *c, const char *name, const char *s)
{
	uint8_t	 raw[32];
	size_t	 n;

	if (b64u_decode(s, strlen(s), raw, sizeof raw, &n) != 0 ||
	    n != sizeof raw) {
		conn_error(c, 400, "bad_request", "%s: expected 32 bytes in "
		    "base64url without padding", name);
		return (-1);
	}
	return (0);
}

static void
pair_token_refused(struct rconn *c, enum token_state ts)
{
	switch (ts) {
	case TOKEN_EXPIRED:
		conn_error(c, 401, "expired", "this pair link has expired; "
		    "make a new one with loopsy mobile pair");
		break;
	case TOKEN_USED:
		conn_error(c, 410, "link_used", "this pair link was used "
		    "already; make a new one with loopsy mobile pair");
		break;
	case TOKEN_BURNED:
		conn_error(c, 410, "link_burned", "too many wrong codes: this "
		    "pair link no longer works; make a new one");
		break;
	case TOKEN_DROPPED:
		conn_error(c, 401, "expired", "this pair link was replaced by "
		    "newer ones (at most %d wait at once); make a new one with "
		    "loopsy mobile pair", PAIR_WAITING_MAX);
		break;
	default:
		conn_error(c, 401, "bad_token", "this is not a pair link of "
		    "this relay");
		break;
	}
}

/* Send the device the redeem; the answer comes in pair_result(). */
static void
pair_forward(struct rconn *c, const char *device, const uint8_t *nonce,
    const char *phone_pub, const char *label, const char *proof)
{
	struct timeval	 tv = { PAIR_WAIT, 0 };
	struct redeem	*r;
	cJSON		*m;
	char		*n;

	r = xcalloc(1, sizeof *r);
	r->id = redeem_next++;
	r->device = xstrdup(device);
	memcpy(r->nonce, nonce, sizeof r->nonce);
	r->phone = cred_new_id('p');
	/* The phone chose it; the laptop and the relay show it. */
	r->label = text_clean(label, PAIR_LABEL_MAX);
	if (*r->label == '\0') {
		free(r->label);
		r->label = xstrdup("phone");
	}
	m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "t", "pair-redeem");
	cJSON_AddNumberToObject(m, "id", r->id);
	n = b64u_encode(nonce, TOKEN_NONCE_LEN);
	cJSON_AddStringToObject(m, "nonce", n);
	free(n);
	cJSON_AddStringToObject(m, "phone", r->phone);
	cJSON_AddStringToObject(m, "phone_pub", phone_pub);
	cJSON_AddStringToObject(m, "label", r->label);
	cJSON_AddStringToObject(m, "proof", proof);
	if (splice_send_device(device, m) != 0) {
		conn_error(c, 503, "device_offline", "the laptop is not "
		    "connected to the relay; is loopsy running there?");
		free(r->device);
		free(r->phone);
		free(r->label);
		free(r);
		return;
	}
	r->c = c;
	c->wait = r;
	r->timer = evtimer_new(relay_base, redeem_timeout_cb, r);
	evtimer_add(r->timer, &tv);
	TAILQ_INSERT_TAIL(&redeems, r, entry);
	/* Read on (bytes are thrown away) to see the phone go. */
	bufferevent_enable(c->bev, EV_READ);
}

void
pair_redeem(struct rconn *c)
{
	const char		*token, *phone_pub, *label = "phone", *proof;
	uint8_t			 nonce[TOKEN_NONCE_LEN];
	enum token_state	 ts;
	char			*device = NULL;
	cJSON			*body;
	u_int			 retry;

	if (addr_take(c->addr, LIMIT_REDEEM, &retry) != 0) {
		conn_limited(c, retry, "too many pairing attempts from this "
		    "address");
		return;
	}
	if ((body = conn_body_json(c)) == NULL)
		return;
	if ((token = pair_field(c, body, "token", PAIR_TOKEN_MAX)) == NULL ||
	    (phone_pub = pair_field(c, body, "phone_pub", 64)) == NULL ||
	    pair_key_field(c, "phone_pub", phone_pub) != 0 ||
	    (proof = pair_field(c, body, "proof", 64)) == NULL ||
	    pair_key_field(c, "proof", proof) != 0)
		goto out;
	if (cJSON_GetObjectItemCaseSensitive(body, "label") != NULL &&
	    (label = pair_field(c, body, "label", PAIR_LABEL_MAX)) == NULL)
		goto out;
	ts = token_check(relay_store, relay_key, token, time(NULL), nonce,
	    &device);
	if (ts != TOKEN_OK) {
		log_info("%s: pair redeem refused (%d)", c->addr, ts);
		pair_token_refused(c, ts);
		goto out;
	}
	pair_forward(c, device, nonce, phone_pub, label, proof);
out:
	free(device);
	cJSON_Delete(body);
}

/* The device said yes: store the phone and give it its credentials. */
static void
pair_accept(struct redeem *r)
{
	uint8_t	 hash[RELAY_HASH_LEN];
	char	*secret;
	cJSON	*j;

	if (store_nonce_use(relay_store, r->nonce) != 1) {
		if (r->c != NULL)
			conn_error(r->c, 410, "link_used", "this pair link "
			    "was used already");
		return;
	}
	/* The device has stored the phone: so does the relay, always. */
	secret = cred_new_secret(hash);
	if (store_phone_add(relay_store, r->phone, r->device, hash, r->label,
	    time(NULL)) != 0) {
		log_warnx("device %s: cannot store phone %s", r->device,
		    r->phone);
		if (r->c != NULL)
			conn_error(r->c, 500, "internal",
			    "cannot store the phone");
	} else if (r->c == NULL) {
		log_warnx("device %s: paired phone %s, but the phone's request "
		    "had gone: it has no credentials (the laptop lists it; "
		    "revoke it there)", r->device, r->phone);
	} else {
		log_info("device %s: paired phone %s", r->device, r->phone);
		j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "device_id", r->device);
		cJSON_AddStringToObject(j, "phone_id", r->phone);
		cJSON_AddStringToObject(j, "phone_secret", secret);
		conn_reply_json(r->c, 200, j, NULL);
	}
	crypto_cleanse(secret, strlen(secret));
	free(secret);
}

/* A wrong code: count it; the fifth burns the link. */
static void
pair_wrong(struct redeem *r)
{
	int	 n = store_nonce_wrong(relay_store, r->nonce);
	char	*body;
	cJSON	*j, *e;

	log_info("device %s: wrong pair code (%d)", r->device, n);
	if (r->c == NULL)
		return;
	if (n < 0 || n >= TOKEN_WRONG_MAX) {
		pair_token_refused(r->c, TOKEN_BURNED);
		return;
	}
	j = cJSON_CreateObject();
	e = cJSON_AddObjectToObject(j, "error");
	cJSON_AddStringToObject(e, "code", "wrong_code");
	xasprintf(&body, "wrong code: %d tries left", TOKEN_WRONG_MAX - n);
	cJSON_AddStringToObject(e, "message", body);
	free(body);
	cJSON_AddNumberToObject(e, "tries_left", TOKEN_WRONG_MAX - n);
	conn_reply_json(r->c, 401, j, NULL);
}

/* {"t":"pair-result","id":N,"ok":...} from a device. */
void
pair_result(const char *device, cJSON *m)
{
	cJSON		*id = cJSON_GetObjectItemCaseSensitive(m, "id");
	cJSON		*ok = cJSON_GetObjectItemCaseSensitive(m, "ok");
	cJSON		*reason = cJSON_GetObjectItemCaseSensitive(m, "reason");
	struct redeem	*r;

	if (!cJSON_IsNumber(id))
		return;
	TAILQ_FOREACH(r, &redeems, entry) {
		if (r->id == (u_int)id->valuedouble &&
		    strcmp(r->device, device) == 0)
			break;
	}
	if (r == NULL) {
		log_debug("device %s: pair-result for no redeem", device);
		return;
	}
	if (cJSON_IsTrue(ok))
		pair_accept(r);
	else if (cJSON_IsString(reason) &&
	    strcmp(reason->valuestring, "wrong_code") == 0)
		pair_wrong(r);
	else {
		store_nonce_burn(relay_store, r->nonce);
		if (r->c != NULL)
			pair_token_refused(r->c, TOKEN_BURNED);
	}
	redeem_free(r);
}

/*
 * The device's connection went (or was replaced): its phones waiting are
 * told 503; the redeems stay a while for an answer its next connection may
 * still bring.
 */
void
pair_device_gone(const char *device)
{
	struct redeem	*r;

	TAILQ_FOREACH(r, &redeems, entry) {
		if (strcmp(r->device, device) == 0 && !r->late)
			redeem_give_up(r, "the laptop went offline");
	}
}

/* The phone's HTTP connection went: keep the redeem for its result. */
void
pair_conn_gone(struct rconn *c)
{
	struct redeem	*r = c->wait;

	log_info("%s: the phone went before its laptop answered", c->addr);
	r->c = NULL;
	c->wait = NULL;
}

/*
 * server/phone-pair.c: pair links waiting for a phone (relay/PROTOCOL.md,
 * "Pairing").  loopsy mobile pair asks the relay for a token, then keeps
 * here, in memory only, the pair secret S and a 4-digit code for it; the
 * link the user scans holds the token, this server's public key and S in
 * its fragment, never the code.  The phone proves it knows S and the code
 * (an HMAC over the token and its own public key); five wrong proofs or
 * one right one burn the link.  S and the code are never logged.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <event2/event.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "common/crypto.h"
#include "common/noise.h"
#include "common/proto.h"
#include "server.h"

#define PHONE_PAIR_WRONG_MAX	5
#define PHONE_PAIR_PENDING_MAX	16
#define PHONE_PAIR_LABEL_MAX	64
#define PHONE_PAIR_ISSUE_WAIT	10	/* s for the relay's token */
#define PHONE_PAIR_CONTEXT	"loopsy-pair-1"
/* A link waits at most the ttl asked for and this slack (clock skew)... */
#define PHONE_PAIR_SLACK	60
/* ...and a token that claims to last beyond this past it is no token. */
#define PHONE_PAIR_ABSURD	86400

struct phone_pair {
	uint8_t			 nonce[16];
	char			*token;
	uint8_t			 secret[32];	/* S */
	char			 code[5];
	time_t			 expires;
	u_int			 wrong;
	struct cmd_ctx		*ctx;		/* mobile pair waiting, if any */
	struct event		*timer;
	TAILQ_ENTRY(phone_pair)	 entry;
};
static TAILQ_HEAD(, phone_pair) phone_pairs =
    TAILQ_HEAD_INITIALIZER(phone_pairs);
static u_int	phone_npairs;

/* A pair-issue the relay has not answered yet: what was asked. */
struct phone_pair_ask {
	struct cmd_ctx			*ctx;
	time_t				 latest;  /* asked + ttl + slack */
	TAILQ_ENTRY(phone_pair_ask)	 entry;
};
static TAILQ_HEAD(, phone_pair_ask) phone_pair_asks =
    TAILQ_HEAD_INITIALIZER(phone_pair_asks);

u_int
phone_pair_pending(void)
{
	return (phone_npairs);
}

static void
phone_pair_free(struct phone_pair *pp)
{
	TAILQ_REMOVE(&phone_pairs, pp, entry);
	phone_npairs--;
	event_free(pp->timer);
	if (pp->token != NULL)
		crypto_cleanse(pp->token, strlen(pp->token));
	free(pp->token);
	crypto_cleanse(pp, sizeof *pp);
	free(pp);
}

/* A JSON line to the waiting loopsy mobile pair (never to a log). */
static void
phone_pair_tell(struct cmd_ctx *ctx, cJSON *j)
{
	char	*s;

	if (ctx == NULL) {
		cJSON_Delete(j);
		return;
	}
	s = cJSON_PrintUnformatted(j);
	cmd_stream(ctx, 1, s, strlen(s));
	cmd_stream(ctx, 1, "\n", 1);
	crypto_cleanse(s, strlen(s));
	free(s);
	cJSON_Delete(j);
}

/* The wait ends (the pair may stay, if it is still good). */
static void
phone_pair_finish(struct phone_pair *pp, enum cmd_retval rv)
{
	struct cmd_ctx	*ctx = pp->ctx;

	pp->ctx = NULL;
	if (ctx != NULL)
		cmd_finish(ctx, rv);
}

static void
phone_pair_expire_cb(int fd __unused, short events __unused, void *arg)
{
	struct phone_pair	*pp = arg;

	log_info("mobile pair: a link expired unused");
	if (pp->ctx != NULL) {
		cmd_error(pp->ctx, "expired", "the link expired; nobody "
		    "paired (loopsy mobile pair makes a new one)");
		phone_pair_finish(pp, CMD_ERROR);
	}
	phone_pair_free(pp);
}

/* A uniform 4-digit code. */
static void
phone_pair_code(char code[5])
{
	uint32_t	 r;

	do {
		if (RAND_bytes((uint8_t *)&r, sizeof r) != 1)
			fatalx("%s: RAND_bytes", __func__);
	} while (r >= 4294960000U);	/* a multiple of 10^4: no bias */
	snprintf(code, 5, "%04u", r % 10000);
	r = 0;
}

/* The nonce and expiry inside a token: b64u(nonce[16] || exp[8]) "." MAC. */
static int
phone_pair_parse_token(const char *token, uint8_t nonce[16], time_t *exp)
{
	const char	*dot = strchr(token, '.');
	uint8_t		 raw[24];
	char		*head;
	int		 rv;

	if (dot == NULL || strlen(token) > 256)
		return (-1);
	head = xstrndup(token, dot - token);
	rv = relay_b64u_decode_exact(head, raw, sizeof raw);
	free(head);
	if (rv != 0)
		return (-1);
	memcpy(nonce, raw, 16);
	*exp = (time_t)proto_get64(raw + 16);
	return (0);
}

/* The relay answered pair-issue: make S and the code, show the link. */
static void
phone_pair_issued(cJSON *reply, const char *error, void *arg)
{
	struct phone_pair_ask	*ask = arg;
	struct cmd_ctx		*ctx = ask->ctx;
	struct phone_pair	*pp;
	struct timeval		 tv;
	const char		*token, *t;
	uint8_t			 priv[32], pub[32];
	char			*cause = NULL, *k, *s, *link;
	time_t			 exp, now = time(NULL), latest = ask->latest;
	cJSON			*j;

	TAILQ_REMOVE(&phone_pair_asks, ask, entry);
	free(ask);
	t = cJSON_GetStringValue(cJSON_GetObjectItem(reply, "t"));
	token = cJSON_GetStringValue(cJSON_GetObjectItem(reply, "token"));
	if (error != NULL || t == NULL || strcmp(t, "pair-token") != 0 ||
	    token == NULL) {
		s = relay_safe_text(error != NULL ? error : "a wrong answer",
		    RELAY_TEXT_MAX);
		cmd_error(ctx, "relay", "the relay gave no pair link: %s", s);
		free(s);
		cmd_finish(ctx, CMD_ERROR);
		return;
	}
	pp = xcalloc(1, sizeof *pp);
	if (phone_pair_parse_token(token, pp->nonce, &exp) != 0 ||
	    exp <= now || exp > latest + PHONE_PAIR_ABSURD ||
	    strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-_.") != strlen(token)) {
		free(pp);
		cmd_error(ctx, "relay", "the relay's pair token is not one "
		    "(or its expiry is already past or far beyond the %lld "
		    "seconds asked: is this machine's clock right?)",
		    (long long)(latest - PHONE_PAIR_SLACK - now));
		cmd_finish(ctx, CMD_ERROR);
		return;
	}
	/* The relay's word is not enough: never longer than was asked. */
	if (exp > latest)
		exp = latest;
	if (phone_key_load(1, priv, pub, &cause) != 0) {
		free(pp);
		cmd_error(ctx, "phone-key", "%s", cause);
		free(cause);
		cmd_finish(ctx, CMD_ERROR);
		return;
	}
	crypto_cleanse(priv, sizeof priv);
	if (RAND_bytes(pp->secret, sizeof pp->secret) != 1)
		fatalx("%s: RAND_bytes", __func__);
	phone_pair_code(pp->code);
	pp->token = xstrdup(token);
	pp->expires = exp;
	pp->ctx = ctx;
	tv.tv_sec = exp - now;
	tv.tv_usec = 0;
	pp->timer = evtimer_new(server_base, phone_pair_expire_cb, pp);
	evtimer_add(pp->timer, &tv);
	TAILQ_INSERT_TAIL(&phone_pairs, pp, entry);
	phone_npairs++;

	k = relay_b64u_encode(pub, sizeof pub);
	s = relay_b64u_encode(pp->secret, sizeof pp->secret);
	xasprintf(&link, "%s/app/#p1/%s/%s/%s", relay_link_url(), token, k,
	    s);
	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "link", link);
	cJSON_AddStringToObject(j, "code", pp->code);
	cJSON_AddNumberToObject(j, "expires", (double)exp);
	phone_pair_tell(ctx, j);
	crypto_cleanse(link, strlen(link));
	crypto_cleanse(s, strlen(s));
	free(link);
	free(s);
	free(k);
	log_info("mobile pair: a link waits for a phone for %lld seconds",
	    (long long)(exp - now));
}

/* loopsy mobile pair's server side: ask for a token, then wait. */
enum cmd_retval
phone_pair_wait(struct cmd_ctx *ctx, u_int ttl)
{
	struct phone_pair_ask	*ask;
	uint8_t			 priv[32], pub[32];
	char			*cause = NULL;
	cJSON			*j;

	if (!relay_link_configured()) {
		if (relay_link_url() == NULL && strncmp(relay_link_state(),
		    "off: ", 5) == 0)
			cmd_error(ctx, "no-relay", "the relay is %s",
			    relay_link_state());
		else
			cmd_error(ctx, "no-relay", "no relay configured: run "
			    "loopsy relay configure URL");
		return (CMD_ERROR);
	}
	if (!relay_link_connected()) {
		cmd_error(ctx, "relay-down", "the relay is not connected: %s",
		    relay_link_state());
		return (CMD_ERROR);
	}
	if (phone_npairs >= PHONE_PAIR_PENDING_MAX) {
		cmd_error(ctx, "busy", "%u pair links are waiting already; "
		    "let one expire first", phone_npairs);
		return (CMD_ERROR);
	}
	/* The key first: a link must not be issued if it cannot be made. */
	if (phone_key_load(1, priv, pub, &cause) != 0) {
		cmd_error(ctx, "phone-key", "%s", cause);
		free(cause);
		return (CMD_ERROR);
	}
	crypto_cleanse(priv, sizeof priv);
	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "t", "pair-issue");
	cJSON_AddNumberToObject(j, "ttl", ttl);
	ask = xcalloc(1, sizeof *ask);
	ask->ctx = ctx;
	ask->latest = time(NULL) + ttl + PHONE_PAIR_SLACK;
	if (relay_link_request(j, PHONE_PAIR_ISSUE_WAIT, phone_pair_issued,
	    ask, &cause) != 0) {
		free(ask);
		cmd_error(ctx, "relay-down", "%s", cause);
		free(cause);
		return (CMD_ERROR);
	}
	TAILQ_INSERT_TAIL(&phone_pair_asks, ask, entry);
	return (CMD_WAIT);
}

/* mobile pair's client went (Ctrl-C, --no-wait): the link stays good. */
void
phone_pair_cancel(struct cmd_ctx *ctx)
{
	struct phone_pair	*pp;
	struct phone_pair_ask	*ask, *ask1;

	relay_link_cancel(ctx);		/* a revoke, a list */
	TAILQ_FOREACH_SAFE(ask, &phone_pair_asks, entry, ask1) {
		if (ask->ctx != ctx)
			continue;
		relay_link_cancel(ask);
		TAILQ_REMOVE(&phone_pair_asks, ask, entry);
		free(ask);
	}
	TAILQ_FOREACH(pp, &phone_pairs, entry) {
		if (pp->ctx == ctx)
			pp->ctx = NULL;
	}
}

void
phone_pair_clear(void)
{
	struct phone_pair	*pp;
	struct phone_pair_ask	*ask;

	while ((ask = TAILQ_FIRST(&phone_pair_asks)) != NULL) {
		relay_link_cancel(ask);
		TAILQ_REMOVE(&phone_pair_asks, ask, entry);
		free(ask);
	}
	while ((pp = TAILQ_FIRST(&phone_pairs)) != NULL) {
		pp->ctx = NULL;
		phone_pair_free(pp);
	}
}

static void
phone_pair_result(cJSON *msg, const char *reason)
{
	cJSON	*j = cJSON_CreateObject(), *id = cJSON_GetObjectItem(msg, "id");

	cJSON_AddStringToObject(j, "t", "pair-result");
	if (cJSON_IsNumber(id))
		cJSON_AddNumberToObject(j, "id", id->valuedouble);
	cJSON_AddBoolToObject(j, "ok", reason == NULL);
	if (reason != NULL)
		cJSON_AddStringToObject(j, "reason", reason);
	relay_link_send_json(j);
}

/* The phone's name for itself, safe to print (relay_safe_text). */
static char *
phone_pair_label(const char *s)
{
	char	*out = relay_safe_text(s, PHONE_PAIR_LABEL_MAX);

	if (*out == '\0') {
		free(out);
		out = xstrdup("phone");
	}
	return (out);
}

/* proof = HMAC-SHA256(S, "loopsy-pair-1" 0 token 0 phone_pub code). */
static int
phone_pair_proof_ok(struct phone_pair *pp, const uint8_t pub[32],
    const char *proof)
{
	uint8_t		 want[32], got[32];
	unsigned int	 len = sizeof want;
	struct buf	 m;
	int		 ok;

	if (proof == NULL ||
	    relay_b64u_decode_exact(proof, got, sizeof got) != 0)
		return (0);
	buf_init(&m);
	buf_add(&m, PHONE_PAIR_CONTEXT, strlen(PHONE_PAIR_CONTEXT) + 1);
	buf_add(&m, pp->token, strlen(pp->token) + 1);
	buf_add(&m, pub, 32);
	buf_add(&m, pp->code, 4);
	HMAC(EVP_sha256(), pp->secret, sizeof pp->secret,
	    (const uint8_t *)m.data, m.len, want, &len);
	crypto_cleanse(m.data, m.len);
	buf_free(&m);
	ok = crypto_equal(want, got, sizeof want);
	crypto_cleanse(want, sizeof want);
	return (ok);
}

/* The relay: a phone redeems a link.  Check its proof and answer. */
void
phone_pair_redeem(cJSON *msg)
{
	struct phone_pair	*pp;
	struct phone		 p;
	uint8_t			 nonce[16], pub[32];
	const char		*id, *s;
	char			*cause = NULL;
	cJSON			*j;
	int			 pub_ok;

	s = cJSON_GetStringValue(cJSON_GetObjectItem(msg, "nonce"));
	if (s == NULL || relay_b64u_decode_exact(s, nonce, sizeof nonce) != 0) {
		phone_pair_result(msg, "unknown");
		return;
	}
	TAILQ_FOREACH(pp, &phone_pairs, entry) {
		if (memcmp(pp->nonce, nonce, sizeof nonce) == 0)
			break;
	}
	if (pp == NULL || time(NULL) >= pp->expires) {
		log_info("mobile pair: a redeem for a link that is not "
		    "waiting");
		phone_pair_result(msg, "unknown");
		return;
	}
	id = cJSON_GetStringValue(cJSON_GetObjectItem(msg, "phone"));
	pub_ok = relay_b64u_decode_exact(cJSON_GetStringValue(
	    cJSON_GetObjectItem(msg, "phone_pub")), pub, sizeof pub) == 0;
	if (!relay_valid_id(id, 'p') || !pub_ok ||
	    !phone_pair_proof_ok(pp, pub, cJSON_GetStringValue(
	    cJSON_GetObjectItem(msg, "proof")))) {
		pp->wrong++;
		log_info("mobile pair: a wrong code (%u of %u)", pp->wrong,
		    PHONE_PAIR_WRONG_MAX);
		if (pp->wrong >= PHONE_PAIR_WRONG_MAX) {
			phone_pair_result(msg, "burned");
			j = cJSON_CreateObject();
			cJSON_AddBoolToObject(j, "burned", 1);
			phone_pair_tell(pp->ctx, j);
			if (pp->ctx != NULL)
				cmd_error(pp->ctx, "burned", "%u wrong codes: "
				    "this link is burned",
				    PHONE_PAIR_WRONG_MAX);
			phone_pair_finish(pp, CMD_ERROR);
			audit_log("relay", "phone-pair", "", "burned", 0, 0);
			phone_pair_free(pp);
			return;
		}
		phone_pair_result(msg, "wrong_code");
		j = cJSON_CreateObject();
		cJSON_AddNumberToObject(j, "wrong", pp->wrong);
		cJSON_AddNumberToObject(j, "triesLeft",
		    PHONE_PAIR_WRONG_MAX - pp->wrong);
		phone_pair_tell(pp->ctx, j);
		return;
	}

	memset(&p, 0, sizeof p);
	p.id = xstrdup(id);
	p.label = phone_pair_label(cJSON_GetStringValue(
	    cJSON_GetObjectItem(msg, "label")));
	memcpy(p.pub, pub, sizeof p.pub);
	p.paired = time(NULL);
	if (phone_save(&p, &cause) != 0) {
		log_warnx("mobile pair: %s", cause);
		phone_pair_result(msg, "unknown");
		if (pp->ctx != NULL)
			cmd_error(pp->ctx, "store", "the phone could not be "
			    "stored: %s", cause);
		free(cause);
		phone_pair_finish(pp, CMD_ERROR);
		phone_pair_free(pp);
		phone_clear(&p);
		return;
	}
	phone_pair_result(msg, NULL);
	log_info("mobile pair: paired phone %s", p.id);
	audit_log("relay", "phone-pair", p.id, "ok", 0, 0);
	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "paired", p.id);
	cJSON_AddStringToObject(j, "label", p.label);
	phone_pair_tell(pp->ctx, j);
	if (pp->ctx != NULL) {
		free(pp->ctx->audit_target);
		pp->ctx->audit_target = xstrdup(p.id);
	}
	phone_pair_finish(pp, CMD_OK);
	phone_pair_free(pp);		/* a link works once */
	phone_clear(&p);
}

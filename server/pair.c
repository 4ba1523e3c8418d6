/*
 * server/pair.c: pairing two machines (loopsy pair).  Owns the key agreement
 * both sides run (pair_kx_*: ECDH P-256, HKDF, HMAC, AES-256-GCM, all
 * OpenSSL EVP) and the waiting side's half: the /pair routes of the
 * listener, which answer only while "loopsy pair" waits here.  The joining
 * side's half and the prompts are in cmd-pair.c; peers.json in peers.c.
 *
 * A waits (loopsy pair: the pair-wait command, pending until done) and shows
 * a random 6-digit code.  B (loopsy pair HOST) connects with TLS and takes
 * fpA, the fingerprint of the certificate A presents; fpB is B's own.  Every
 * request is a new TLS connection and B checks fpA is the same each time.
 *
 *   1. B -> A  POST /pair/start  {v:1, commit, name:nameB}
 *              commit = SHA-256("loopsy pair v1 commit" | pubB | fpB | nameB)
 *      A -> B  {session, pub:pubA, name:nameA}   (a fresh key per attempt)
 *   2. B -> A  POST /pair/prove  {session, pub:pubB, fp:fpB, port, mac}
 *      A checks the commitment, derives, checks mac = HMAC(Kc, "B prove"|T)
 *      A -> B  {mac: HMAC(Kc, "A prove"|T)}; both now show the SAS
 *   3. B -> A  POST /pair/confirm {session, ok, mac: HMAC(Kc, "B confirm"|T)}
 *      held (up to PAIR_HOLD s, then {state:waiting} and B asks again) until
 *      A's user answers too; A -> B {state:"confirmed", box: seal_A(kA)} or
 *      {state:"declined"}
 *   4. B -> A  POST /pair/finish {session, box: seal_B(kB)}
 *      A stores B (key kB, accept kA, fpB), A -> B {state:"paired"}; then B
 *      stores A (key kA, accept kB, fpA).
 *
 * With Z = ECDH(pubA, pubB) and lp(x) = 4-byte length | x:
 *   T   = SHA-256("loopsy pair v1" | lp pubA | lp pubB | lp fpA | lp fpB |
 *         lp nameA | lp nameB)
 *   Kc  = HKDF-SHA256(Z, salt T, "loopsy pair v1 code " | code)
 *   SAS = HKDF(Z, salt T, "loopsy pair v1 sas"), 8 bytes mod 10^6, 6 digits
 *   seal_X = AES-256-GCM, key HKDF(Z, salt T, "loopsy pair v1 seal X " |
 *         code), random 12-byte nonce, T as associated data
 *
 * The code keeps strangers out: a wrong mac counts against PAIR_TRIES and
 * reveals nothing of the code; the third ends the pairing.  Someone in the
 * middle (its own certificate, its own keys) could learn the code from B's
 * mac, but then A and B hold different Z and different fingerprints in T,
 * so the SAS differs; the commitment stops it choosing keys until the SAS
 * agree.  Link keys (fresh, not the API key) move only after both users
 * said yes, sealed under keys only the two ends hold.
 */
#include <sys/types.h>

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include "common/crypto.h"
#include "common/proto.h"
#include "server.h"

#define PAIR_PUB_LEN	65		/* an uncompressed P-256 point */
#define PAIR_BODY_MAX	8192
/*
 * Attempts one wait allows.  Each start gets a fresh key from us, so a
 * machine in the middle that restarts freely could grind for a short
 * authentication string equal to the one it shows the joiner: a handful of
 * starts makes that a 1 in 200000 chance.
 */
#define PAIR_STARTS	5
#define PAIR_HOLD	20		/* seconds a confirm is held */
#define PAIR_LABEL	"loopsy pair v1"

struct pair_kx {
	EVP_PKEY	*key;
	uint8_t		 pub[PAIR_PUB_LEN];
	char		*pub_hex;
	int		 derived;
	uint8_t		 t[32];		/* the transcript hash */
	uint8_t		 kc[32];	/* keyed by the code: the macs */
	uint8_t		 seal[2][32];	/* 0: from A (waiter), 1: from B */
	char		 sas[8];	/* "123 456" */
};

/* The waiting side: one "loopsy pair" at a time. */
enum pair_state {
	PAIR_IDLE,		/* waiting for a /pair/start */
	PAIR_STARTED,		/* key sent, waiting for the proof */
	PAIR_KEYED,		/* code proved, SAS shown, asking the users */
	PAIR_CONFIRMED		/* both said yes, our key sent */
};
struct pair_wait {
	struct cmd_ctx	*ctx;		/* the pending pair-wait */
	char		 code[PAIR_CODE_LEN + 1];
	char		*name;		/* --name, or NULL: its hostname */
	char		*fp;		/* our certificate */
	u_int		 tries;		/* wrong codes */
	u_int		 starts;	/* attempts begun */
	struct event	*timer;
	u_int		 timeout;

	enum pair_state	 state;
	char		*session;
	struct pair_kx	*kx;
	char		*commit;
	char		*peer_host;	/* its hostname, as it says */
	char		*peer_addr;	/* where it came from */
	char		*peer_fp;
	u_int		 peer_port;
	int		 a_ok, b_ok;	/* -1: not yet */
	char		*accept;	/* the key it will present to us */
	struct hconn	*held;		/* a /pair/confirm waiting for our user */
	struct event	*hold_timer;
};
static struct pair_wait	*pair_waiting;

/* ---------------------------------------------------------------- crypto */

static char *
pair_hex(const uint8_t *p, size_t len)
{
	char	*s = xmalloc(len * 2 + 1);

	if (OPENSSL_buf2hexstr_ex(s, len * 2 + 1, NULL, p, len, '\0') != 1)
		fatalx("%s: OPENSSL_buf2hexstr_ex", __func__);
	return (s);
}

/* Hex of exactly len bytes into out; -1 if not. */
static int
pair_unhex(const char *s, uint8_t *out, size_t len)
{
	size_t	 n;

	if (s == NULL || strlen(s) != len * 2)
		return (-1);
	if (OPENSSL_hexstr2buf_ex(out, len, &n, s, '\0') != 1 || n != len)
		return (-1);
	return (0);
}

static void
pair_lp(struct buf *b, const void *p, size_t len)
{
	uint8_t	 n[4];

	proto_put32(n, len);
	buf_add(b, n, 4);
	buf_add(b, p, len);
}

static int
pair_hkdf(const uint8_t *z, size_t zlen, const uint8_t *salt,
    const char *info, const char *code, uint8_t *out, size_t outlen)
{
	EVP_KDF		*kdf;
	EVP_KDF_CTX	*kctx;
	OSSL_PARAM	 params[5];
	char		*full;
	int		 rc = -1;

	xasprintf(&full, "%s %s%s%s", PAIR_LABEL, info, code != NULL ? " " : "",
	    code != NULL ? code : "");
	if ((kdf = EVP_KDF_fetch(NULL, "HKDF", NULL)) == NULL)
		goto out;
	kctx = EVP_KDF_CTX_new(kdf);
	EVP_KDF_free(kdf);
	if (kctx == NULL)
		goto out;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	    (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
	    (void *)z, zlen);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
	    (void *)salt, 32);
	params[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
	    full, strlen(full));
	params[4] = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(kctx, out, outlen, params) == 1)
		rc = 0;
	EVP_KDF_CTX_free(kctx);
out:
	crypto_cleanse(full, strlen(full));
	free(full);
	return (rc);
}

struct pair_kx *
pair_kx_new(char **cause)
{
	struct pair_kx	*kx;
	size_t		 len = 0;

	kx = xcalloc(1, sizeof *kx);
	kx->key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "prime256v1");
	if (kx->key == NULL || EVP_PKEY_get_octet_string_param(kx->key,
	    OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, kx->pub, sizeof kx->pub,
	    &len) != 1 || len != PAIR_PUB_LEN) {
		xasprintf(cause, "cannot make a P-256 key pair");
		pair_kx_free(kx);
		return (NULL);
	}
	kx->pub_hex = pair_hex(kx->pub, sizeof kx->pub);
	return (kx);
}

void
pair_kx_free(struct pair_kx *kx)
{
	if (kx == NULL)
		return;
	EVP_PKEY_free(kx->key);
	free(kx->pub_hex);
	crypto_cleanse(kx, sizeof *kx);
	free(kx);
}

const char *
pair_kx_public(struct pair_kx *kx)
{
	return (kx->pub_hex);
}

const char *
pair_kx_sas(struct pair_kx *kx)
{
	return (kx->derived ? kx->sas : NULL);
}

/* B's commitment to its key, fingerprint and name, sent before it sees A's. */
char *
pair_commit(const char *pub_hex, const char *fp, const char *name)
{
	struct buf	 b;
	uint8_t		 h[32];

	buf_init(&b);
	buf_addstr(&b, PAIR_LABEL " commit");
	pair_lp(&b, pub_hex, strlen(pub_hex));
	pair_lp(&b, fp, strlen(fp));
	pair_lp(&b, name, strlen(name));
	crypto_sha256(b.data, b.len, h);
	buf_free(&b);
	return (pair_hex(h, sizeof h));
}

static EVP_PKEY *
pair_kx_peer(const uint8_t *pub)
{
	EVP_PKEY_CTX	*pctx;
	EVP_PKEY	*peer = NULL;
	OSSL_PARAM	 params[3];

	if (pub[0] != 0x04)	/* uncompressed only */
		return (NULL);
	if ((pctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL)
		return (NULL);
	params[0] = OSSL_PARAM_construct_utf8_string(
	    OSSL_PKEY_PARAM_GROUP_NAME, (char *)"prime256v1", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
	    (void *)pub, PAIR_PUB_LEN);
	params[2] = OSSL_PARAM_construct_end();
	if (EVP_PKEY_fromdata_init(pctx) != 1 ||
	    EVP_PKEY_fromdata(pctx, &peer, EVP_PKEY_PUBLIC_KEY, params) != 1)
		peer = NULL;
	EVP_PKEY_CTX_free(pctx);
	return (peer);
}

/*
 * Agree on Z with the other side's key and derive everything of the header
 * comment.  waiter: we are A.  ids: fpA, fpB, nameA, nameB.
 */
int
pair_kx_derive(struct pair_kx *kx, int waiter, const char *peer_hex,
    const struct pair_ids *ids, const char *code, char **cause)
{
	EVP_PKEY_CTX	*dctx = NULL;
	EVP_PKEY	*peer = NULL;
	uint8_t		 ppub[PAIR_PUB_LEN], z[64], s[8];
	size_t		 zlen = sizeof z;
	struct buf	 b;
	uint64_t	 v;
	u_int		 i;
	int		 rc = -1;

	buf_init(&b);
	if (pair_unhex(peer_hex, ppub, sizeof ppub) != 0 ||
	    (peer = pair_kx_peer(ppub)) == NULL) {
		xasprintf(cause, "not a P-256 public key");
		goto out;
	}
	if ((dctx = EVP_PKEY_CTX_new_from_pkey(NULL, kx->key, NULL)) == NULL ||
	    EVP_PKEY_derive_init(dctx) != 1 ||
	    EVP_PKEY_derive_set_peer_ex(dctx, peer, 1) != 1 ||
	    EVP_PKEY_derive(dctx, z, &zlen) != 1) {
		xasprintf(cause, "key agreement failed (a bad public key?)");
		goto out;
	}
	buf_addstr(&b, PAIR_LABEL);
	pair_lp(&b, waiter ? kx->pub_hex : peer_hex, PAIR_PUB_LEN * 2);
	pair_lp(&b, waiter ? peer_hex : kx->pub_hex, PAIR_PUB_LEN * 2);
	pair_lp(&b, ids->fp_a, strlen(ids->fp_a));
	pair_lp(&b, ids->fp_b, strlen(ids->fp_b));
	pair_lp(&b, ids->name_a, strlen(ids->name_a));
	pair_lp(&b, ids->name_b, strlen(ids->name_b));
	crypto_sha256(b.data, b.len, kx->t);
	if (pair_hkdf(z, zlen, kx->t, "code", code, kx->kc,
	    sizeof kx->kc) != 0 ||
	    pair_hkdf(z, zlen, kx->t, "seal A", code, kx->seal[0], 32) != 0 ||
	    pair_hkdf(z, zlen, kx->t, "seal B", code, kx->seal[1], 32) != 0 ||
	    pair_hkdf(z, zlen, kx->t, "sas", NULL, s, sizeof s) != 0) {
		xasprintf(cause, "HKDF failed");
		goto out;
	}
	for (v = 0, i = 0; i < sizeof s; i++)
		v = (v << 8) | s[i];
	v %= 1000000;
	snprintf(kx->sas, sizeof kx->sas, "%03u %03u", (u_int)(v / 1000),
	    (u_int)(v % 1000));
	kx->derived = 1;
	rc = 0;
out:
	crypto_cleanse(z, sizeof z);
	crypto_cleanse(s, sizeof s);
	buf_free(&b);
	EVP_PKEY_CTX_free(dctx);
	EVP_PKEY_free(peer);
	return (rc);
}

static void
pair_kx_mac_raw(struct pair_kx *kx, const char *label, uint8_t out[32])
{
	struct buf	 b;
	size_t		 n = 0;

	buf_init(&b);
	buf_addstr(&b, label);
	buf_add(&b, kx->t, sizeof kx->t);
	if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, kx->kc,
	    sizeof kx->kc, (uint8_t *)b.data, b.len, out, 32, &n) == NULL ||
	    n != 32)
		fatalx("%s: HMAC-SHA256 failed", __func__);
	buf_free(&b);
}

char *
pair_kx_mac(struct pair_kx *kx, const char *label)
{
	uint8_t	 m[32];

	pair_kx_mac_raw(kx, label, m);
	return (pair_hex(m, sizeof m));
}

int
pair_kx_mac_ok(struct pair_kx *kx, const char *label, const char *hex)
{
	uint8_t	 want[32], got[32];

	if (!kx->derived || pair_unhex(hex, got, sizeof got) != 0)
		return (0);
	pair_kx_mac_raw(kx, label, want);
	return (crypto_equal(want, got, sizeof want));
}

/* Seal text from one side (waiter: A) to the other: hex nonce|ct|tag. */
char *
pair_kx_seal(struct pair_kx *kx, int waiter, const char *text)
{
	EVP_CIPHER_CTX	*c;
	size_t		 len = strlen(text);
	uint8_t		*out;
	char		*hex;
	int		 n, m;

	out = xmalloc(12 + len + 16);
	if (!kx->derived || RAND_bytes(out, 12) != 1)
		fatalx("%s: no key or no random bytes", __func__);
	if ((c = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_EncryptInit_ex2(c, EVP_aes_256_gcm(), kx->seal[!waiter], out,
	    NULL) != 1 ||
	    EVP_EncryptUpdate(c, NULL, &n, kx->t, sizeof kx->t) != 1 ||
	    EVP_EncryptUpdate(c, out + 12, &n, (const uint8_t *)text,
	    len) != 1 ||
	    EVP_EncryptFinal_ex(c, out + 12 + n, &m) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16,
	    out + 12 + len) != 1)
		fatalx("%s: AES-256-GCM failed", __func__);
	EVP_CIPHER_CTX_free(c);
	hex = pair_hex(out, 12 + len + 16);
	crypto_cleanse(out, 12 + len + 16);
	free(out);
	return (hex);
}

/* Open what the other side sealed (from_waiter: A sealed it), or NULL. */
char *
pair_kx_open(struct pair_kx *kx, int from_waiter, const char *hex)
{
	EVP_CIPHER_CTX	*c = NULL;
	uint8_t		*in = NULL;
	char		*text = NULL;
	size_t		 len, clen;
	int		 n, m;

	if (!kx->derived || hex == NULL || (len = strlen(hex)) % 2 != 0 ||
	    len / 2 < 12 + 16 || len / 2 > PAIR_BODY_MAX)
		return (NULL);
	len /= 2;
	in = xmalloc(len);
	if (pair_unhex(hex, in, len) != 0)
		goto out;
	clen = len - 12 - 16;
	text = xmalloc(clen + 1);
	if ((c = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_DecryptInit_ex2(c, EVP_aes_256_gcm(), kx->seal[!from_waiter],
	    in, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16,
	    in + 12 + clen) != 1 ||
	    EVP_DecryptUpdate(c, NULL, &n, kx->t, sizeof kx->t) != 1 ||
	    EVP_DecryptUpdate(c, (uint8_t *)text, &n, in + 12, clen) != 1 ||
	    EVP_DecryptFinal_ex(c, (uint8_t *)text + n, &m) != 1) {
		crypto_cleanse(text, clen + 1);
		free(text);
		text = NULL;
		goto out;
	}
	text[clen] = '\0';
	if (strlen(text) != clen) {
		crypto_cleanse(text, clen);
		free(text);
		text = NULL;
	}
out:
	EVP_CIPHER_CTX_free(c);
	free(in);
	return (text);
}

/* "123456", "123 456" or "123-456" into six digits; -1 if not a code. */
int
pair_code_parse(const char *in, char out[PAIR_CODE_LEN + 1])
{
	size_t	 n = 0;

	for (; *in != '\0'; in++) {
		if (*in == ' ' || *in == '-' || *in == '\t' || *in == '\r' ||
		    *in == '\n')
			continue;
		if (!isdigit((u_char)*in) || n == PAIR_CODE_LEN)
			return (-1);
		out[n++] = *in;
	}
	out[n] = '\0';
	return (n == PAIR_CODE_LEN ? 0 : -1);
}

/*
 * Is what the other side calls itself fit to show and to keep: a hostname
 * (letters, digits, '-', '_', '.'), so no terminal escapes reach a screen.
 */
int
pair_safe_name(const char *s)
{
	const char	*p;

	if (s == NULL || *s == '\0' || strlen(s) > 64)
		return (0);
	for (p = s; *p != '\0'; p++) {
		if (!isalnum((u_char)*p) && *p != '-' && *p != '_' &&
		    *p != '.')
			return (0);
	}
	return (1);
}

/* A certificate fingerprint as tls_peer_fingerprint writes it. */
int
pair_safe_fingerprint(const char *s)
{
	const char	*p;

	if (s == NULL || strncmp(s, "sha256:", 7) != 0 ||
	    strlen(s) != 7 + 32 * 3 - 1)
		return (0);
	for (p = s + 7; *p != '\0'; p++) {
		if (!isxdigit((u_char)*p) && *p != ':')
			return (0);
	}
	return (1);
}

/* The key a sealed box holds: {"key": 64 hex digits}; NULL if not. */
char *
pair_box_key(const char *text)
{
	cJSON	*j = cJSON_Parse(text), *k;
	char	*key = NULL;

	k = cJSON_GetObjectItem(j, "key");
	if (cJSON_IsString(k) && crypto_key_valid(k->valuestring))
		key = xstrdup(k->valuestring);
	cJSON_Delete(j);
	return (key);
}

/* {"key": key} sealed. */
char *
pair_box_seal(struct pair_kx *kx, int waiter, const char *key)
{
	char	*text, *box;

	xasprintf(&text, "{\"key\":\"%s\"}", key);
	box = pair_kx_seal(kx, waiter, text);
	crypto_cleanse(text, strlen(text));
	free(text);
	return (box);
}

/* Store a paired peer in peers.json, replacing one of the same name. */
int
pair_store(const char *name, const char *host, u_int port, const char *key,
    const char *accept, const char *fp, char **cause)
{
	struct peers	 ps;
	struct peer	*p, np;
	int		 lock, rc = -1;

	memset(&ps, 0, sizeof ps);
	if ((lock = peers_lock(cause)) == -1)
		return (-1);
	if (peers_load(&ps, cause) != 0)
		goto out;
	if ((p = peers_find(&ps, name)) == NULL) {
		memset(&np, 0, sizeof np);
		np.name = xstrdup(name);
		ps.v = xreallocarray(ps.v, ps.n + 1, sizeof *ps.v);
		ps.v[ps.n] = np;
		p = &ps.v[ps.n++];
	}
	free(p->host);
	p->host = xstrdup(host);
	p->port = port;
	if (p->key != NULL)
		crypto_cleanse(p->key, strlen(p->key));
	free(p->key);
	p->key = xstrdup(key);
	if (p->accept != NULL)
		crypto_cleanse(p->accept, strlen(p->accept));
	free(p->accept);
	p->accept = xstrdup(accept);
	free(p->fingerprint);
	p->fingerprint = xstrdup(fp);
	free(p->how);
	p->how = xstrdup("paired");
	p->added_ms = (uint64_t)time(NULL) * 1000;
	rc = peers_save(&ps, cause);
out:
	peers_clear(&ps);
	close(lock);
	return (rc);
}

/* This machine's certificate fingerprint, or NULL with *cause set. */
char *
pair_own_fingerprint(char **cause)
{
	char	*path = loopsy_path("tls/cert.pem"), *pem, *fp = NULL;
	char	*why = NULL;
	size_t	 len;

	if ((pem = file_read(path, 1024 * 1024, &len, &why)) != NULL)
		fp = crypto_cert_fingerprint(pem, len, &why);
	if (fp == NULL) {
		xasprintf(cause, "no TLS certificate here (run loopsy init): "
		    "%s", why);
		free(why);
	}
	free(pem);
	free(path);
	return (fp);
}

/* ---------------------------------------------------------- waiting side */

/* A line of JSON to the waiting loopsy pair. */
static void
pair_tell(struct pair_wait *pw, cJSON *j)
{
	char	*s = cJSON_PrintUnformatted(j);

	cmd_stream(pw->ctx, 1, s, strlen(s));
	cmd_stream(pw->ctx, 1, "\n", 1);
	free(s);
	cJSON_Delete(j);
}

static void
pair_hold_free(struct hconn *h)
{
	struct pair_wait	*pw = h->api;

	if (pw != NULL && pw->held == h) {
		pw->held = NULL;
		if (pw->hold_timer != NULL)
			evtimer_del(pw->hold_timer);
	}
	h->api = NULL;
	h->api_free = NULL;
}

/* Answer the held confirm (if any) and let it go. */
static void
pair_held_reply(struct pair_wait *pw, int status, cJSON *j)
{
	struct hconn	*h = pw->held;

	if (h == NULL) {
		cJSON_Delete(j);
		return;
	}
	pair_hold_free(h);
	http_reply_json(h, status, j);
}

static cJSON *
pair_state_json(const char *state)
{
	cJSON	*j = cJSON_CreateObject();

	cJSON_AddStringToObject(j, "state", state);
	return (j);
}

/* Forget the attempt in progress (not the wait). */
static void
pair_attempt_clear(struct pair_wait *pw)
{
	if (pw->held != NULL)
		pair_held_reply(pw, 410, pair_state_json("ended"));
	pair_kx_free(pw->kx);
	pw->kx = NULL;
	free(pw->session);
	free(pw->commit);
	free(pw->peer_host);
	free(pw->peer_addr);
	free(pw->peer_fp);
	pw->session = pw->commit = pw->peer_host = pw->peer_addr = NULL;
	pw->peer_fp = NULL;
	if (pw->accept != NULL)
		crypto_cleanse(pw->accept, strlen(pw->accept));
	free(pw->accept);
	pw->accept = NULL;
	pw->a_ok = pw->b_ok = -1;
	pw->state = PAIR_IDLE;
}

static void
pair_wait_free(struct pair_wait *pw)
{
	pair_attempt_clear(pw);
	if (pw->timer != NULL)
		event_free(pw->timer);
	if (pw->hold_timer != NULL)
		event_free(pw->hold_timer);
	if (pair_waiting == pw)
		pair_waiting = NULL;
	crypto_cleanse(pw->code, sizeof pw->code);
	free(pw->name);
	free(pw->fp);
	free(pw);
}

/* The wait is over: the routes close, loopsy pair hears how it ended. */
static void
pair_end(struct pair_wait *pw, enum cmd_retval rv)
{
	struct cmd_ctx	*ctx = pw->ctx;

	pair_waiting = NULL;
	pair_wait_free(pw);
	cmd_finish(ctx, rv);
}

static void
pair_fail(struct pair_wait *pw, const char *code, const char *fmt, ...)
    __printflike(3, 4);
static void
pair_fail(struct pair_wait *pw, const char *code, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;

	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	log_info("pair: %s", msg);
	cmd_error(pw->ctx, code, "%s", msg);
	free(msg);
	pair_end(pw, CMD_ERROR);
}

static void
pair_timeout_cb(int fd __unused, short events __unused, void *arg)
{
	struct pair_wait	*pw = arg;

	pair_fail(pw, "timeout", "nobody paired within %u seconds; the code "
	    "has expired", pw->timeout);
}

static void
pair_hold_cb(int fd __unused, short events __unused, void *arg)
{
	struct pair_wait	*pw = arg;

	pair_held_reply(pw, 200, pair_state_json("waiting"));
}

/* Start waiting: called by pair-wait, which stays pending. */
enum cmd_retval
pair_wait(struct cmd_ctx *ctx, const char *name, u_int timeout)
{
	struct pair_wait	*pw;
	struct timeval		 tv = { timeout, 0 };
	uint32_t		 r;
	char			*cause = NULL, *fp;
	cJSON			*j;

	if (pair_waiting != NULL) {
		cmd_error(ctx, "busy", "another loopsy pair is already waiting "
		    "on this machine");
		return (CMD_ERROR);
	}
	if (listen_port() == 0) {
		cmd_error(ctx, "no-listener", "pairing needs the peer listener, "
		    "which is %s", listen_state());
		return (CMD_ERROR);
	}
	if ((fp = pair_own_fingerprint(&cause)) == NULL) {
		cmd_error(ctx, "no-certificate", "%s", cause);
		free(cause);
		return (CMD_ERROR);
	}
	pw = xcalloc(1, sizeof *pw);
	pw->ctx = ctx;
	pw->fp = fp;
	pw->name = name != NULL ? xstrdup(name) : NULL;
	pw->timeout = timeout;
	pw->a_ok = pw->b_ok = -1;
	do {
		if (RAND_bytes((uint8_t *)&r, sizeof r) != 1)
			fatalx("%s: RAND_bytes", __func__);
	} while (r >= 4294000000U);	/* no bias: a multiple of 10^6 */
	snprintf(pw->code, sizeof pw->code, "%06u", r % 1000000);
	r = 0;
	pw->timer = evtimer_new(server_base, pair_timeout_cb, pw);
	evtimer_add(pw->timer, &tv);
	pw->hold_timer = evtimer_new(server_base, pair_hold_cb, pw);
	pair_waiting = pw;
	log_info("pair: waiting for a pairing for %u seconds", timeout);

	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "code", pw->code);
	cJSON_AddStringToObject(j, "listen", listen_state());
	cJSON_AddNumberToObject(j, "port", listen_port());
	cJSON_AddStringToObject(j, "hostname", msg_hostname());
	cJSON_AddStringToObject(j, "fingerprint", pw->fp);
	cJSON_AddNumberToObject(j, "timeout", timeout);
	pair_tell(pw, j);
	return (CMD_WAIT);
}

/* loopsy pair's pending command went (Ctrl-C, the client died). */
void
pair_cancel(struct cmd_ctx *ctx)
{
	struct pair_wait	*pw = pair_waiting;

	if (pw == NULL || pw->ctx != ctx)
		return;
	log_info("pair: cancelled");
	pair_waiting = NULL;
	pair_wait_free(pw);
}

static void
pair_both_confirmed(struct pair_wait *pw)
{
	char	*cause = NULL, *box;
	cJSON	*j;

	if ((pw->accept = crypto_random_hex(CRYPTO_KEY_BYTES, &cause)) ==
	    NULL) {
		pair_held_reply(pw, 500, pair_state_json("ended"));
		pair_fail(pw, "internal", "%s", cause);
		free(cause);
		return;
	}
	pw->state = PAIR_CONFIRMED;
	box = pair_box_seal(pw->kx, 1, pw->accept);
	j = pair_state_json("confirmed");
	cJSON_AddStringToObject(j, "box", box);
	free(box);
	pair_held_reply(pw, 200, j);
	j = cJSON_CreateObject();
	cJSON_AddBoolToObject(j, "confirmed", 1);
	pair_tell(pw, j);
}

/* pair-confirm yes|no: our user's answer to the SAS. */
int
pair_confirm(int yes, char **cause)
{
	struct pair_wait	*pw = pair_waiting;

	if (pw == NULL) {
		xasprintf(cause, "no loopsy pair is waiting");
		return (-1);
	}
	if (pw->state != PAIR_KEYED || pw->a_ok != -1) {
		xasprintf(cause, "nothing to confirm: no code has been shown "
		    "to match yet");
		return (-1);
	}
	pw->a_ok = yes;
	if (!yes) {
		pair_held_reply(pw, 200, pair_state_json("declined"));
		pair_fail(pw, "declined", "pairing declined here; nothing "
		    "was stored");
		return (0);
	}
	/* Otherwise B's next confirm (held or asked again) finds a_ok. */
	if (pw->b_ok == 1 && pw->held != NULL)
		pair_both_confirmed(pw);
	return (0);
}

/* ---------------------------------------------------------------- routes */

static const char *
pair_str(cJSON *j, const char *name, size_t max)
{
	cJSON	*v = cJSON_GetObjectItem(j, name);

	if (!cJSON_IsString(v) || *v->valuestring == '\0' ||
	    strlen(v->valuestring) > max)
		return (NULL);
	return (v->valuestring);
}

/* The attempt a request names, in the state it must be in. */
static int
pair_session_ok(struct pair_wait *pw, cJSON *j, enum pair_state state)
{
	const char	*s = pair_str(j, "session", 64);

	return (pw->session != NULL && s != NULL && pw->state == state &&
	    strlen(s) == strlen(pw->session) &&
	    crypto_equal(s, pw->session, strlen(s)));
}

static void
pair_route_start(struct pair_wait *pw, struct hconn *h, cJSON *j)
{
	const char	*commit = pair_str(j, "commit", 64);
	const char	*host = pair_str(j, "name", 255);
	char		*cause = NULL;
	cJSON		*r;

	if (pw->state >= PAIR_KEYED) {
		http_reply_error(h, 409, "BUSY", "another machine is pairing "
		    "with this one now");
		return;
	}
	if (commit == NULL || strlen(commit) != 64 || !pair_safe_name(host)) {
		http_reply_error(h, 400, "BAD_REQUEST", "/pair/start needs "
		    "commit and name (a hostname)");
		return;
	}
	if (pw->name == NULL && (peers_valid_name(host, &cause) != 0 ||
	    msg_is_self(host))) {
		http_reply_error(h, 409, "NAME", "%s cannot name you here%s%s; "
		    "run loopsy pair --name NAME on %s instead", host,
		    cause != NULL ? ": " : " (it is this machine's hostname)",
		    cause != NULL ? cause : "", msg_hostname());
		free(cause);
		return;
	}
	if (++pw->starts > PAIR_STARTS) {
		log_warnx("pair: %s: %u attempts, pairing cancelled", h->addr,
		    PAIR_STARTS);
		http_reply_error(h, 429, "TOO_MANY", "%u pairing attempts: "
		    "pairing cancelled; run loopsy pair again", PAIR_STARTS);
		pair_fail(pw, "too-many", "%u pairing attempts: pairing "
		    "cancelled (a machine in the middle would need many)",
		    PAIR_STARTS);
		return;
	}
	pair_attempt_clear(pw);		/* an unproved attempt gives way */
	if ((pw->kx = pair_kx_new(&cause)) == NULL ||
	    (pw->session = crypto_random_hex(16, &cause)) == NULL) {
		http_reply_error(h, 500, "INTERNAL", "%s", cause);
		free(cause);
		pair_attempt_clear(pw);
		return;
	}
	pw->commit = xstrdup(commit);
	pw->peer_host = xstrdup(host);
	pw->peer_addr = xstrdup(h->addr);
	pw->state = PAIR_STARTED;
	log_info("pair: %s (%s) started", h->addr, host);
	r = cJSON_CreateObject();
	cJSON_AddNumberToObject(r, "v", 1);
	cJSON_AddStringToObject(r, "session", pw->session);
	cJSON_AddStringToObject(r, "pub", pair_kx_public(pw->kx));
	cJSON_AddStringToObject(r, "name", msg_hostname());
	http_reply_json(h, 200, r);
}

static void
pair_route_prove(struct pair_wait *pw, struct hconn *h, cJSON *j)
{
	const char	*pub = pair_str(j, "pub", PAIR_PUB_LEN * 2);
	const char	*fp = pair_str(j, "fp", 200), *mac = pair_str(j, "mac", 64);
	cJSON		*port = cJSON_GetObjectItem(j, "port"), *r;
	struct pair_ids	 ids;
	char		*commit, *cause = NULL;
	u_int		 left;

	if (!pair_session_ok(pw, j, PAIR_STARTED)) {
		http_reply_error(h, 409, "NO_SESSION", "no such pairing "
		    "attempt (another one replaced it?): start again");
		return;
	}
	if (pub == NULL || !pair_safe_fingerprint(fp) || mac == NULL) {
		http_reply_error(h, 400, "BAD_REQUEST", "/pair/prove needs "
		    "pub, fp and mac");
		pair_attempt_clear(pw);
		return;
	}
	commit = pair_commit(pub, fp, pw->peer_host);
	if (strcmp(commit, pw->commit) != 0) {
		free(commit);
		http_reply_error(h, 400, "BAD_COMMIT", "the key does not match "
		    "the commitment");
		pair_attempt_clear(pw);
		return;
	}
	free(commit);
	ids.fp_a = pw->fp;
	ids.fp_b = fp;
	ids.name_a = msg_hostname();
	ids.name_b = pw->peer_host;
	if (pair_kx_derive(pw->kx, 1, pub, &ids, pw->code, &cause) != 0) {
		http_reply_error(h, 400, "BAD_KEY", "%s", cause);
		free(cause);
		pair_attempt_clear(pw);
		return;
	}
	if (!pair_kx_mac_ok(pw->kx, "B prove", mac)) {
		pw->tries++;
		left = PAIR_TRIES - pw->tries;
		log_warnx("pair: wrong code from %s (%u of %u)", h->addr,
		    pw->tries, PAIR_TRIES);
		pair_attempt_clear(pw);
		http_reply_error(h, 403, "WRONG_CODE", "wrong code%s", left == 0
		    ? "; that was the last try: pairing cancelled" : left == 1 ?
		    " (1 try left)" : " (2 tries left)");
		r = cJSON_CreateObject();
		cJSON_AddNumberToObject(r, "wrong", pw->tries);
		cJSON_AddStringToObject(r, "address", h->addr);
		pair_tell(pw, r);
		if (left == 0)
			pair_fail(pw, "wrong-code", "%u wrong codes: pairing "
			    "cancelled", PAIR_TRIES);
		return;
	}
	pw->peer_fp = xstrdup(fp);
	pw->peer_port = cJSON_IsNumber(port) && port->valueint > 0 &&
	    port->valueint < 65536 ? (u_int)port->valueint : 19532;
	pw->state = PAIR_KEYED;
	log_info("pair: %s proved the code", h->addr);

	r = cJSON_CreateObject();
	cJSON_AddStringToObject(r, "sas", pair_kx_sas(pw->kx));
	cJSON_AddStringToObject(r, "hostname", pw->peer_host);
	cJSON_AddStringToObject(r, "name", pw->name != NULL ? pw->name :
	    pw->peer_host);
	cJSON_AddStringToObject(r, "address", pw->peer_addr);
	cJSON_AddNumberToObject(r, "port", pw->peer_port);
	cJSON_AddStringToObject(r, "fingerprint", pw->peer_fp);
	pair_tell(pw, r);

	r = cJSON_CreateObject();
	commit = pair_kx_mac(pw->kx, "A prove");
	cJSON_AddStringToObject(r, "mac", commit);
	free(commit);
	http_reply_json(h, 200, r);
}

static void
pair_route_confirm(struct pair_wait *pw, struct hconn *h, cJSON *j)
{
	const char	*mac = pair_str(j, "mac", 64);
	cJSON		*ok = cJSON_GetObjectItem(j, "ok");
	struct timeval	 tv;

	if (!pair_session_ok(pw, j, PAIR_KEYED) || !cJSON_IsBool(ok) ||
	    !pair_kx_mac_ok(pw->kx, "B confirm", mac)) {
		http_reply_error(h, 409, "NO_SESSION", "no pairing attempt "
		    "waiting for that confirmation");
		return;
	}
	if (!cJSON_IsTrue(ok)) {
		http_reply_json(h, 200, pair_state_json("declined"));
		pair_fail(pw, "declined", "%s declined the pairing; nothing "
		    "was stored", pw->peer_host);
		return;
	}
	pw->b_ok = 1;
	if (pw->held != NULL)		/* asked again: the old one goes */
		pair_held_reply(pw, 200, pair_state_json("waiting"));
	pw->held = h;
	h->api = pw;
	h->api_free = pair_hold_free;
	if (pw->a_ok == 1) {
		pair_both_confirmed(pw);
		return;
	}
	tv.tv_sec = PAIR_HOLD;
	tv.tv_usec = 0;
	evtimer_add(pw->hold_timer, &tv);
}

static void
pair_route_finish(struct pair_wait *pw, struct hconn *h, cJSON *j)
{
	const char	*name = pw->name != NULL ? pw->name : pw->peer_host;
	char		*text, *key, *cause = NULL;
	cJSON		*r;

	if (!pair_session_ok(pw, j, PAIR_CONFIRMED)) {
		http_reply_error(h, 409, "NO_SESSION", "no confirmed pairing "
		    "to finish");
		return;
	}
	text = pair_kx_open(pw->kx, 0, pair_str(j, "box", PAIR_BODY_MAX));
	key = text != NULL ? pair_box_key(text) : NULL;
	if (text != NULL) {
		crypto_cleanse(text, strlen(text));
		free(text);
	}
	if (key == NULL) {
		http_reply_error(h, 400, "BAD_BOX", "the sealed key does not "
		    "open");
		pair_fail(pw, "bad-box", "%s sent a key that does not open: "
		    "nothing was stored", pw->peer_host);
		return;
	}
	if (pair_store(name, pw->peer_addr, pw->peer_port, key, pw->accept,
	    pw->peer_fp, &cause) != 0) {
		http_reply_error(h, 500, "INTERNAL", "cannot store the peer");
		crypto_cleanse(key, strlen(key));
		free(key);
		pair_fail(pw, "peers", "%s", cause);
		free(cause);
		return;
	}
	crypto_cleanse(key, strlen(key));
	free(key);
	log_info("pair: paired with %s at %s port %u", name, pw->peer_addr,
	    pw->peer_port);
	http_reply_json(h, 200, pair_state_json("paired"));
	r = cJSON_CreateObject();
	cJSON_AddStringToObject(r, "paired", name);
	cJSON_AddStringToObject(r, "address", pw->peer_addr);
	cJSON_AddNumberToObject(r, "port", pw->peer_port);
	cJSON_AddStringToObject(r, "fingerprint", pw->peer_fp);
	pair_tell(pw, r);
	pair_end(pw, CMD_OK);
}

static const struct {
	const char	*path;
	void		(*fn)(struct pair_wait *, struct hconn *, cJSON *);
} pair_routes[] = {
	{ "/pair/start", pair_route_start },
	{ "/pair/prove", pair_route_prove },
	{ "/pair/confirm", pair_route_confirm },
	{ "/pair/finish", pair_route_finish }
};

/* The /pair routes: only while loopsy pair waits; otherwise not ours (404). */
int
pair_request(struct hconn *h)
{
	struct pair_wait	*pw = pair_waiting;
	cJSON			*j;
	char			*body;
	size_t			 len, i;

	if (pw == NULL || strncmp(h->url, "/pair/", 6) != 0)
		return (0);
	for (i = 0; i < nitems(pair_routes); i++) {
		if (strcmp(h->url, pair_routes[i].path) == 0)
			break;
	}
	if (i == nitems(pair_routes))
		return (0);
	if (h->method != HTTP_POST) {
		http_reply_error(h, 405, "METHOD_NOT_ALLOWED", "%s takes POST",
		    h->url);
		return (1);
	}
	len = h->body != NULL ? evbuffer_get_length(h->body) : 0;
	if (len == 0 || len > PAIR_BODY_MAX) {
		http_reply_error(h, 400, "BAD_REQUEST", "%s needs a JSON body "
		    "of at most %u bytes", h->url, PAIR_BODY_MAX);
		return (1);
	}
	body = xmalloc(len + 1);
	evbuffer_copyout(h->body, body, len);
	body[len] = '\0';
	j = cJSON_Parse(body);
	free(body);
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		http_reply_error(h, 400, "BAD_REQUEST", "%s: not a JSON object",
		    h->url);
		return (1);
	}
	pair_routes[i].fn(pw, h, j);
	cJSON_Delete(j);
	return (1);
}

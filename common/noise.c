/*
 * common/noise.c: Noise_KK_25519_ChaChaPoly_SHA256 (Noise revision 34):
 * the CipherState, SymmetricState and HandshakeState of the specification,
 * Split() and Rekey().  X25519, ChaCha20-Poly1305, SHA-256 and HMAC are
 * OpenSSL's; this file only composes them.  Framing and transport (the
 * relay's WebSocket, stdin) belong to the caller.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "common.h"
#include "noise.h"

/* Exactly HASHLEN bytes long, so it is h itself, not hashed (5.2). */
#define NOISE_PROTOCOL		"Noise_KK_25519_ChaChaPoly_SHA256"
#define NOISE_HASH_LEN		32
#define NOISE_NONCE_LEN		12
/* Kept for Rekey(): no message may use it (5.1). */
#define NOISE_NONCE_MAX		UINT64_MAX
/* A handshake message is an ephemeral key and an encrypted payload. */
#define NOISE_HS_MIN		(NOISE_KEY_LEN + NOISE_TAG_LEN)
#define NOISE_HS_MAX_PAYLOAD	(NOISE_MAX_MSG - NOISE_HS_MIN)

#define NOISE_DEAD	"noise: channel is dead after an earlier failure"
#define NOISE_BAD_KEY	"handshake failed: the other side's static key " \
			"does not match (or message %d was altered)"

/* What a CipherState call can fail with; the caller words the cause. */
#define NOISE_EFAIL	-1	/* bad tag, or OpenSSL itself failed */
#define NOISE_ENONCE	-2	/* all 2^64-1 nonces used */

/* A CipherState (5.1).  In KK every payload follows a DH token, so k is
 * never empty when a message is encrypted: no "empty key" case here. */
struct noise_cipher {
	uint8_t		k[NOISE_KEY_LEN];
	uint64_t	n;		/* next nonce; Rekey() keeps it going */
	uint64_t	since_rekey;	/* transport messages since Rekey() */
};

struct noise {
	int			 initiator;
	int			 step;		/* handshake messages done, 0-2 */
	int			 dead;		/* failed once: refuse everything */
	uint64_t		 rekey_every;	/* 0: never */

	struct noise_keypair	 s;
	struct noise_keypair	 e;
	int			 e_set;		/* noise_set_ephemeral chose e */
	uint8_t			 rs[NOISE_KEY_LEN];
	uint8_t			 re[NOISE_KEY_LEN];

	/* The SymmetricState (5.2); ck and cs go after Split(). */
	struct noise_cipher	 cs;
	uint8_t			 ck[NOISE_HASH_LEN];
	uint8_t			 h[NOISE_HASH_LEN];

	/* Split(): our sending and receiving ciphers. */
	struct noise_cipher	 tx;
	struct noise_cipher	 rx;
};

static int	noise_fail(struct noise *, char **, const char *, ...)
		    __printflike(3, 4);

/* Wipe every secret but keep h: it is public and identifies the channel. */
static void
noise_wipe(struct noise *n)
{
	OPENSSL_cleanse(&n->s, sizeof n->s);
	OPENSSL_cleanse(&n->e, sizeof n->e);
	OPENSSL_cleanse(&n->cs, sizeof n->cs);
	OPENSSL_cleanse(n->ck, sizeof n->ck);
	OPENSSL_cleanse(&n->tx, sizeof n->tx);
	OPENSSL_cleanse(&n->rx, sizeof n->rx);
}

/*
 * Any failure ends the channel: with implicit nonces the two sides can no
 * longer agree, and a half-working channel would only hide the attack.
 */
static int
noise_fail(struct noise *n, char **cause, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;

	n->dead = 1;
	noise_wipe(n);
	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	log_debug("%s: %s: %s", __func__, n->initiator ? "initiator" :
	    "responder", msg);
	if (cause != NULL)
		*cause = msg;
	else
		free(msg);
	return (-1);
}

int
noise_keypair_from_private(struct noise_keypair *kp,
    const uint8_t priv[NOISE_KEY_LEN])
{
	EVP_PKEY	*pk;
	size_t		 len = NOISE_KEY_LEN;
	int		 ret = -1;

	pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv,
	    NOISE_KEY_LEN);
	if (pk == NULL)
		return (-1);
	if (EVP_PKEY_get_raw_public_key(pk, kp->pub, &len) == 1 &&
	    len == NOISE_KEY_LEN) {
		memcpy(kp->priv, priv, NOISE_KEY_LEN);
		ret = 0;
	}
	EVP_PKEY_free(pk);
	return (ret);
}

int
noise_keypair_generate(struct noise_keypair *kp)
{
	uint8_t	 priv[NOISE_KEY_LEN];
	int	 ret = -1;

	/* Any 32 random bytes are an X25519 key: clamping is at use. */
	if (RAND_bytes(priv, sizeof priv) == 1)
		ret = noise_keypair_from_private(kp, priv);
	OPENSSL_cleanse(priv, sizeof priv);
	return (ret);
}

/* DH(): X25519 of our private key and their public key. */
static int
noise_dh(const struct noise_keypair *ours, const uint8_t *theirs,
    uint8_t out[NOISE_KEY_LEN])
{
	EVP_PKEY	*priv = NULL, *pub = NULL;
	EVP_PKEY_CTX	*ctx = NULL;
	size_t		 len = NOISE_KEY_LEN;
	int		 ret = -1;

	priv = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, ours->priv,
	    NOISE_KEY_LEN);
	pub = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, theirs,
	    NOISE_KEY_LEN);
	if (priv == NULL || pub == NULL)
		goto out;
	if ((ctx = EVP_PKEY_CTX_new(priv, NULL)) == NULL)
		goto out;
	/* OpenSSL refuses a low-order point (an all-zero result) here. */
	if (EVP_PKEY_derive_init(ctx) != 1 ||
	    EVP_PKEY_derive_set_peer(ctx, pub) != 1 ||
	    EVP_PKEY_derive(ctx, out, &len) != 1 || len != NOISE_KEY_LEN)
		goto out;
	ret = 0;
out:
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pub);
	EVP_PKEY_free(priv);
	return (ret);
}

/* The ChaChaPoly nonce: 32 zero bits, then n as 64-bit little-endian. */
static void
noise_nonce(uint64_t n, uint8_t iv[NOISE_NONCE_LEN])
{
	int	 i;

	memset(iv, 0, 4);
	for (i = 0; i < 8; i++)
		iv[4 + i] = (n >> (8 * i)) & 0xff;
}

static EVP_CIPHER_CTX *
noise_aead_new(int enc, const uint8_t *k, uint64_t n)
{
	EVP_CIPHER_CTX	*ctx;
	uint8_t		 iv[NOISE_NONCE_LEN];

	noise_nonce(n, iv);
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return (NULL);
	if (EVP_CipherInit_ex(ctx, EVP_chacha20_poly1305(), NULL, k, iv,
	    enc) != 1) {
		EVP_CIPHER_CTX_free(ctx);
		return (NULL);
	}
	return (ctx);
}

/* ENCRYPT(k, n, ad, plaintext): len bytes of ciphertext, then the tag. */
static int
noise_aead_encrypt(const uint8_t *k, uint64_t n, const uint8_t *ad,
    size_t adlen, const uint8_t *in, size_t len, uint8_t *out)
{
	EVP_CIPHER_CTX	*ctx;
	int		 outl, ret = -1;

	if ((ctx = noise_aead_new(1, k, n)) == NULL)
		return (-1);
	/* A NULL output means additional data to EVP; skip empty parts. */
	if (adlen != 0 && EVP_EncryptUpdate(ctx, NULL, &outl, ad, adlen) != 1)
		goto out;
	if (len != 0 && EVP_EncryptUpdate(ctx, out, &outl, in, len) != 1)
		goto out;
	if (EVP_EncryptFinal_ex(ctx, out + len, &outl) != 1)
		goto out;
	if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, NOISE_TAG_LEN,
	    out + len) != 1)
		goto out;
	ret = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	return (ret);
}

/* DECRYPT(k, n, ad, ciphertext): len counts the tag; in may be out. */
static int
noise_aead_decrypt(const uint8_t *k, uint64_t n, const uint8_t *ad,
    size_t adlen, const uint8_t *in, size_t len, uint8_t *out)
{
	EVP_CIPHER_CTX	*ctx;
	size_t		 plen = len - NOISE_TAG_LEN;
	int		 outl, ret = -1;

	if ((ctx = noise_aead_new(0, k, n)) == NULL)
		return (-1);
	if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, NOISE_TAG_LEN,
	    (void *)(in + plen)) != 1)
		goto out;
	if (adlen != 0 && EVP_DecryptUpdate(ctx, NULL, &outl, ad, adlen) != 1)
		goto out;
	if (plen != 0 && EVP_DecryptUpdate(ctx, out, &outl, in, plen) != 1)
		goto out;
	if (EVP_DecryptFinal_ex(ctx, out + plen, &outl) != 1)
		goto out;
	ret = 0;
out:
	/* Unauthenticated plaintext must not reach the caller. */
	if (ret != 0)
		OPENSSL_cleanse(out, plen);
	EVP_CIPHER_CTX_free(ctx);
	return (ret);
}

/* EncryptWithAd(): out gets len + 16 bytes. */
static int
noise_cipher_encrypt(struct noise_cipher *c, const uint8_t *ad,
    size_t adlen, const uint8_t *in, size_t len, uint8_t *out)
{
	if (c->n == NOISE_NONCE_MAX)
		return (NOISE_ENONCE);
	if (noise_aead_encrypt(c->k, c->n, ad, adlen, in, len, out) != 0)
		return (NOISE_EFAIL);
	c->n++;
	return (0);
}

/* DecryptWithAd(): len counts the tag; out gets len - 16 bytes. */
static int
noise_cipher_decrypt(struct noise_cipher *c, const uint8_t *ad,
    size_t adlen, const uint8_t *in, size_t len, uint8_t *out)
{
	if (c->n == NOISE_NONCE_MAX)
		return (NOISE_ENONCE);
	if (noise_aead_decrypt(c->k, c->n, ad, adlen, in, len, out) != 0)
		return (NOISE_EFAIL);
	c->n++;
	return (0);
}

/* Rekey(): k = the first 32 bytes of ENCRYPT(k, 2^64-1, "", 32 zeros). */
static int
noise_cipher_rekey(struct noise_cipher *c)
{
	uint8_t	 zeros[NOISE_KEY_LEN], out[NOISE_KEY_LEN + NOISE_TAG_LEN];

	memset(zeros, 0, sizeof zeros);
	if (noise_aead_encrypt(c->k, NOISE_NONCE_MAX, NULL, 0, zeros,
	    sizeof zeros, out) != 0)
		return (-1);
	memcpy(c->k, out, NOISE_KEY_LEN);
	OPENSSL_cleanse(out, sizeof out);
	return (0);
}

/* Count a transport message; rekey when its turn comes. */
static int
noise_cipher_count(struct noise_cipher *c, uint64_t every)
{
	if (every == 0 || ++c->since_rekey < every)
		return (0);
	c->since_rekey = 0;
	return (noise_cipher_rekey(c));
}

/* HASH(h || data), into out (which may be h). */
static int
noise_hash2(const uint8_t *h, const uint8_t *data, size_t len,
    uint8_t out[NOISE_HASH_LEN])
{
	EVP_MD_CTX	*ctx;
	int		 ret = -1;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return (-1);
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, h, NOISE_HASH_LEN) == 1 &&
	    EVP_DigestUpdate(ctx, data, len) == 1 &&
	    EVP_DigestFinal_ex(ctx, out, NULL) == 1)
		ret = 0;
	EVP_MD_CTX_free(ctx);
	return (ret);
}

/* MixHash(). */
static int
noise_mix_hash(struct noise *n, const uint8_t *data, size_t len)
{
	return (noise_hash2(n->h, data, len, n->h));
}

static int
noise_hmac(const uint8_t *key, const uint8_t *data, size_t len,
    uint8_t out[NOISE_HASH_LEN])
{
	if (HMAC(EVP_sha256(), key, NOISE_HASH_LEN, data, len, out,
	    NULL) == NULL)
		return (-1);
	return (0);
}

/* HKDF() as Noise defines it (4.3), with two outputs. */
static int
noise_hkdf(const uint8_t *ck, const uint8_t *ikm, size_t ikmlen,
    uint8_t out1[NOISE_HASH_LEN], uint8_t out2[NOISE_HASH_LEN])
{
	uint8_t	 prk[NOISE_HASH_LEN], buf[NOISE_HASH_LEN + 1];
	int	 ret = -1;

	if (noise_hmac(ck, ikm, ikmlen, prk) != 0)
		goto out;
	buf[0] = 0x01;
	if (noise_hmac(prk, buf, 1, out1) != 0)
		goto out;
	memcpy(buf, out1, NOISE_HASH_LEN);
	buf[NOISE_HASH_LEN] = 0x02;
	if (noise_hmac(prk, buf, sizeof buf, out2) != 0)
		goto out;
	ret = 0;
out:
	OPENSSL_cleanse(prk, sizeof prk);
	OPENSSL_cleanse(buf, sizeof buf);
	return (ret);
}

/* MixKey(): ck, k = HKDF(ck, ikm); the nonce starts again at 0. */
static int
noise_mix_key(struct noise *n, const uint8_t *ikm, size_t len)
{
	uint8_t	 ck[NOISE_HASH_LEN];
	int	 ret;

	ret = noise_hkdf(n->ck, ikm, len, ck, n->cs.k);
	memcpy(n->ck, ck, sizeof ck);
	OPENSSL_cleanse(ck, sizeof ck);
	n->cs.n = 0;
	return (ret);
}

/* A DH token: MixKey(DH(ours, theirs)). */
static int
noise_mix_dh(struct noise *n, const struct noise_keypair *ours,
    const uint8_t *theirs)
{
	uint8_t	 dh[NOISE_KEY_LEN];
	int	 ret = -1;

	if (noise_dh(ours, theirs, dh) == 0)
		ret = noise_mix_key(n, dh, sizeof dh);
	OPENSSL_cleanse(dh, sizeof dh);
	return (ret);
}

/*
 * The DH tokens of the message after its "e", from our side: "es, ss" in
 * message 1, "ee, se" in message 2.  es is DH(initiator's e, responder's s),
 * se the reverse, whichever side computes it.
 */
static int
noise_tokens(struct noise *n)
{
	if (n->step == 0) {
		if (n->initiator) {
			if (noise_mix_dh(n, &n->e, n->rs) != 0)
				return (-1);
		} else if (noise_mix_dh(n, &n->s, n->re) != 0)
			return (-1);
		return (noise_mix_dh(n, &n->s, n->rs));
	}
	if (noise_mix_dh(n, &n->e, n->re) != 0)
		return (-1);
	if (n->initiator)
		return (noise_mix_dh(n, &n->s, n->re));
	return (noise_mix_dh(n, &n->e, n->rs));
}

/* Split(): the initiator sends with the first key, the responder with the
 * second.  The handshake's secrets are no longer needed. */
static int
noise_split(struct noise *n)
{
	uint8_t	 k1[NOISE_HASH_LEN], k2[NOISE_HASH_LEN];
	int	 ret;

	ret = noise_hkdf(n->ck, NULL, 0, k1, k2);
	memcpy(n->tx.k, n->initiator ? k1 : k2, NOISE_KEY_LEN);
	memcpy(n->rx.k, n->initiator ? k2 : k1, NOISE_KEY_LEN);
	OPENSSL_cleanse(k1, sizeof k1);
	OPENSSL_cleanse(k2, sizeof k2);
	OPENSSL_cleanse(&n->s, sizeof n->s);
	OPENSSL_cleanse(&n->e, sizeof n->e);
	OPENSSL_cleanse(&n->cs, sizeof n->cs);
	OPENSSL_cleanse(n->ck, sizeof n->ck);
	return (ret);
}

struct noise *
noise_new_kk(int initiator, const struct noise_keypair *s,
    const uint8_t rs[NOISE_KEY_LEN], const void *prologue, size_t len)
{
	struct noise	*n;
	const uint8_t	*ipub, *rpub;

	n = xcalloc(1, sizeof *n);
	n->initiator = (initiator != 0);
	n->rekey_every = NOISE_REKEY_EVERY;
	n->s = *s;
	memcpy(n->rs, rs, NOISE_KEY_LEN);

	/* InitializeSymmetric(), then the prologue and the pre-messages
	 * "-> s" and "<- s", the initiator's first. */
	memcpy(n->h, NOISE_PROTOCOL, NOISE_HASH_LEN);
	memcpy(n->ck, n->h, NOISE_HASH_LEN);
	ipub = initiator ? s->pub : rs;
	rpub = initiator ? rs : s->pub;
	if (noise_mix_hash(n, prologue, len) != 0 ||
	    noise_mix_hash(n, ipub, NOISE_KEY_LEN) != 0 ||
	    noise_mix_hash(n, rpub, NOISE_KEY_LEN) != 0)
		noise_fail(n, NULL, "SHA-256");
	return (n);
}

void
noise_set_ephemeral(struct noise *n, const struct noise_keypair *e)
{
	n->e = *e;
	n->e_set = 1;
}

void
noise_set_rekey_every(struct noise *n, uint64_t every)
{
	n->rekey_every = every;
}

void
noise_set_transport(struct noise *n, const uint8_t tx[NOISE_KEY_LEN],
    const uint8_t rx[NOISE_KEY_LEN], uint64_t nonce)
{
	noise_wipe(n);
	memcpy(n->tx.k, tx, NOISE_KEY_LEN);
	memcpy(n->rx.k, rx, NOISE_KEY_LEN);
	n->tx.n = n->rx.n = nonce;
	n->step = 2;
}

/* Is it our turn to write (or, with writing 0, to read) a message? */
static int
noise_turn(const struct noise *n, int writing, char **cause)
{
	const char	*who;

	if (n->step >= 2) {
		xasprintf(cause, "noise: wrong state: the handshake is "
		    "already done");
		return (-1);
	}
	/* The initiator writes message 1, the responder message 2. */
	if ((n->step == 0) == (n->initiator == writing))
		return (0);
	who = (n->step == 0) ? "initiator" : "responder";
	xasprintf(cause, "noise: wrong state: handshake message %d is the "
	    "%s's to write", n->step + 1, who);
	return (-1);
}

/* The opening checks of every call: not dead, the right stage. */
static int
noise_check(struct noise *n, int handshake, int writing, char **cause)
{
	char	*why = NULL;

	if (n->dead) {
		if (cause != NULL)
			*cause = xstrdup(NOISE_DEAD);
		return (-1);
	}
	if (handshake && noise_turn(n, writing, &why) != 0)
		goto fail;
	if (!handshake && n->step != 2) {
		xasprintf(&why, "noise: wrong state: the handshake is not "
		    "finished");
		goto fail;
	}
	return (0);
fail:
	noise_fail(n, cause, "%s", why);
	free(why);
	return (-1);
}

/* After a handshake message: count it, and Split() after the second. */
static int
noise_step(struct noise *n, char **cause)
{
	if (++n->step == 2 && noise_split(n) != 0)
		return (noise_fail(n, cause, "noise: Split() failed"));
	return (0);
}

int
noise_write_handshake(struct noise *n, const uint8_t *payload, size_t len,
    uint8_t *out, size_t *outlen, char **cause)
{
	int	 msg = n->step + 1;

	if (noise_check(n, 1, 1, cause) != 0)
		return (-1);
	if (len > NOISE_HS_MAX_PAYLOAD) {
		return (noise_fail(n, cause, "handshake payload too long "
		    "(%zu bytes; at most %d)", len, NOISE_HS_MAX_PAYLOAD));
	}
	if (!n->e_set && noise_keypair_generate(&n->e) != 0)
		return (noise_fail(n, cause, "noise: no ephemeral key"));

	/* "e", the DH tokens, then the payload: EncryptAndHash(). */
	memcpy(out, n->e.pub, NOISE_KEY_LEN);
	if (noise_mix_hash(n, n->e.pub, NOISE_KEY_LEN) != 0 ||
	    noise_tokens(n) != 0)
		return (noise_fail(n, cause, "noise: handshake message %d: "
		    "key derivation failed", msg));
	if (noise_cipher_encrypt(&n->cs, n->h, NOISE_HASH_LEN, payload, len,
	    out + NOISE_KEY_LEN) != 0 ||
	    noise_mix_hash(n, out + NOISE_KEY_LEN, len + NOISE_TAG_LEN) != 0)
		return (noise_fail(n, cause, "noise: handshake message %d: "
		    "encryption failed", msg));
	*outlen = NOISE_KEY_LEN + len + NOISE_TAG_LEN;
	return (noise_step(n, cause));
}

int
noise_read_handshake(struct noise *n, const uint8_t *msg, size_t len,
    uint8_t *out, size_t *outlen, char **cause)
{
	const uint8_t	*ct;
	size_t		 ctlen;
	uint8_t		 h[NOISE_HASH_LEN];
	int		 m = n->step + 1;

	if (noise_check(n, 1, 0, cause) != 0)
		return (-1);
	if (len < NOISE_HS_MIN || len > NOISE_MAX_MSG) {
		return (noise_fail(n, cause, "handshake message %d is %zu "
		    "bytes; it must be %d to %d", m, len, NOISE_HS_MIN,
		    NOISE_MAX_MSG));
	}
	ct = msg + NOISE_KEY_LEN;
	ctlen = len - NOISE_KEY_LEN;

	memcpy(n->re, msg, NOISE_KEY_LEN);
	if (noise_mix_hash(n, n->re, NOISE_KEY_LEN) != 0)
		return (noise_fail(n, cause, "noise: SHA-256 failed"));
	if (noise_tokens(n) != 0)
		return (noise_fail(n, cause, "handshake failed: message %d "
		    "has an invalid ephemeral key", m));
	/* DecryptAndHash(); the next h first, because out may be msg. */
	if (noise_hash2(n->h, ct, ctlen, h) != 0)
		return (noise_fail(n, cause, "noise: SHA-256 failed"));
	if (noise_cipher_decrypt(&n->cs, n->h, NOISE_HASH_LEN, ct, ctlen,
	    out) != 0)
		return (noise_fail(n, cause, NOISE_BAD_KEY, m));
	memcpy(n->h, h, NOISE_HASH_LEN);
	*outlen = ctlen - NOISE_TAG_LEN;
	return (noise_step(n, cause));
}

int
noise_ready(const struct noise *n)
{
	return (!n->dead && n->step == 2);
}

void
noise_handshake_hash(const struct noise *n, uint8_t h[NOISE_HASH_LEN])
{
	memcpy(h, n->h, NOISE_HASH_LEN);
}

int
noise_encrypt(struct noise *n, const uint8_t *in, size_t len, uint8_t *out,
    char **cause)
{
	int	 error;

	if (noise_check(n, 0, 1, cause) != 0)
		return (-1);
	if (len > NOISE_MAX_PLAIN) {
		return (noise_fail(n, cause, "message too long (%zu bytes; "
		    "at most %d)", len, NOISE_MAX_PLAIN));
	}
	error = noise_cipher_encrypt(&n->tx, NULL, 0, in, len, out);
	if (error == NOISE_ENONCE) {
		return (noise_fail(n, cause, "noise: nonce exhausted: 2^64-1 "
		    "messages sent; connect again"));
	}
	if (error != 0)
		return (noise_fail(n, cause, "noise: encryption failed"));
	if (noise_cipher_count(&n->tx, n->rekey_every) != 0)
		return (noise_fail(n, cause, "noise: Rekey() failed"));
	return (0);
}

int
noise_decrypt(struct noise *n, const uint8_t *in, size_t len, uint8_t *out,
    char **cause)
{
	int	 error;

	if (noise_check(n, 0, 0, cause) != 0)
		return (-1);
	if (len > NOISE_MAX_MSG) {
		return (noise_fail(n, cause, "message too long (%zu bytes; "
		    "at most %d)", len, NOISE_MAX_MSG));
	}
	if (len < NOISE_TAG_LEN) {
		return (noise_fail(n, cause, "message too short (%zu bytes; "
		    "at least %d)", len, NOISE_TAG_LEN));
	}
	error = noise_cipher_decrypt(&n->rx, NULL, 0, in, len, out);
	if (error == NOISE_ENONCE) {
		return (noise_fail(n, cause, "noise: nonce exhausted: 2^64-1 "
		    "messages received; connect again"));
	}
	if (error != 0) {
		return (noise_fail(n, cause, "message failed to decrypt "
		    "(tampered, replayed or out of order)"));
	}
	if (noise_cipher_count(&n->rx, n->rekey_every) != 0)
		return (noise_fail(n, cause, "noise: Rekey() failed"));
	return (0);
}

void
noise_free(struct noise *n)
{
	if (n == NULL)
		return;
	OPENSSL_cleanse(n, sizeof *n);
	free(n);
}

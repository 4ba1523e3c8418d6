/*
 * relay/token.c: base64url without padding, the pair token of PROTOCOL.md
 * ("The pair token": a nonce and an expiry signed with the relay key) and
 * the ID.SECRET credentials of devices and phones.  Whether a token's nonce
 * is still good is the store's (store.c); token_check() asks it.
 */
#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "common/crypto.h"
#include "relay.h"

static const char b64u_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *
b64u_encode(const void *data, size_t len)
{
	const uint8_t	*p = data;
	char		*out, *o;
	uint32_t	 v;
	size_t		 i;

	o = out = xmalloc((len * 4 + 2) / 3 + 1);
	for (i = 0; i + 2 < len; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		*o++ = b64u_chars[v >> 18];
		*o++ = b64u_chars[(v >> 12) & 63];
		*o++ = b64u_chars[(v >> 6) & 63];
		*o++ = b64u_chars[v & 63];
	}
	if (len - i == 1) {
		v = (uint32_t)p[i] << 16;
		*o++ = b64u_chars[v >> 18];
		*o++ = b64u_chars[(v >> 12) & 63];
	} else if (len - i == 2) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		*o++ = b64u_chars[v >> 18];
		*o++ = b64u_chars[(v >> 12) & 63];
		*o++ = b64u_chars[(v >> 6) & 63];
	}
	*o = '\0';
	return (out);
}

static int
b64u_value(char c)
{
	const char	*p;

	if (c == '\0' || (p = strchr(b64u_chars, c)) == NULL)
		return (-1);
	return (p - b64u_chars);
}

/*
 * Decode len characters into at most size bytes; -1 for a character outside
 * the alphabet, a length no encoding has, set bits past the end, or too
 * much data.
 */
int
b64u_decode(const char *s, size_t len, uint8_t *out, size_t size,
    size_t *outlen)
{
	uint32_t	 v = 0;
	size_t		 i, n = 0;
	int		 c, bits = 0;

	if (len % 4 == 1)
		return (-1);
	for (i = 0; i < len; i++) {
		if ((c = b64u_value(s[i])) == -1)
			return (-1);
		v = (v << 6) | c;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n == size)
				return (-1);
			out[n++] = (v >> bits) & 0xff;
		}
	}
	if ((v & ((1U << bits) - 1)) != 0)
		return (-1);
	*outlen = n;
	return (0);
}

static void
token_mac(const uint8_t *key, const uint8_t *body, uint8_t *mac)
{
	uint8_t		 full[EVP_MAX_MD_SIZE];
	u_int		 n = sizeof full;

	if (HMAC(EVP_sha256(), key, RELAY_KEY_LEN, body,
	    TOKEN_NONCE_LEN + 8, full, &n) == NULL)
		fatalx("%s: HMAC failed", __func__);
	memcpy(mac, full, TOKEN_MAC_LEN);
}

/* b64u(nonce || exp) "." b64u(HMAC-SHA256(key, those)[0:16]). */
char *
token_sign(const uint8_t *key, const uint8_t *nonce, uint64_t exp)
{
	uint8_t	 body[TOKEN_NONCE_LEN + 8], mac[TOKEN_MAC_LEN];
	char	*b, *m, *token;
	int	 i;

	memcpy(body, nonce, TOKEN_NONCE_LEN);
	for (i = 0; i < 8; i++)
		body[TOKEN_NONCE_LEN + i] = exp >> (56 - 8 * i);
	token_mac(key, body, mac);
	b = b64u_encode(body, sizeof body);
	m = b64u_encode(mac, sizeof mac);
	xasprintf(&token, "%s.%s", b, m);
	free(b);
	free(m);
	return (token);
}

/* The nonce and expiry of a well-formed token whose MAC verifies; or -1. */
int
token_parse(const uint8_t *key, const char *token, uint8_t *nonce,
    uint64_t *exp)
{
	uint8_t		 body[TOKEN_NONCE_LEN + 8], mac[TOKEN_MAC_LEN];
	uint8_t		 want[TOKEN_MAC_LEN];
	const char	*dot = strchr(token, '.');
	size_t		 n;
	int		 i;

	if (dot == NULL ||
	    b64u_decode(token, dot - token, body, sizeof body, &n) != 0 ||
	    n != sizeof body ||
	    b64u_decode(dot + 1, strlen(dot + 1), mac, sizeof mac, &n) != 0 ||
	    n != sizeof mac)
		return (-1);
	token_mac(key, body, want);
	if (!crypto_equal(mac, want, sizeof mac))
		return (-1);
	memcpy(nonce, body, TOKEN_NONCE_LEN);
	*exp = 0;
	for (i = 0; i < 8; i++)
		*exp = (*exp << 8) | body[TOKEN_NONCE_LEN + i];
	return (0);
}

/*
 * Is this token good now: MAC, expiry, and a recorded nonce neither used
 * nor burned?  On TOKEN_OK, nonce and *device (the issuer) are filled.
 */
enum token_state
token_check(struct store *st, const uint8_t *key, const char *token,
    time_t now, uint8_t *nonce, char **device)
{
	uint64_t	 exp;
	time_t		 expires;
	u_int		 wrong;
	int		 used;

	*device = NULL;
	if (token_parse(key, token, nonce, &exp) != 0)
		return (TOKEN_BAD);
	if (exp <= (uint64_t)now)
		return (TOKEN_EXPIRED);
	if (store_nonce_get(st, nonce, device, &expires, &used, &wrong) != 1)
		return (TOKEN_BAD);
	if (used || wrong >= TOKEN_WRONG_MAX) {
		free(*device);
		*device = NULL;
		if (used == 2)
			return (TOKEN_DROPPED);
		return (used ? TOKEN_USED : TOKEN_BURNED);
	}
	return (TOKEN_OK);
}

/* 'd' or 'p' and 16 random bytes. */
char *
cred_new_id(char prefix)
{
	uint8_t	 raw[16];
	char	*b, *id;

	if (RAND_bytes(raw, sizeof raw) != 1)
		fatalx("%s: no random bytes", __func__);
	b = b64u_encode(raw, sizeof raw);
	xasprintf(&id, "%c%s", prefix, b);
	free(b);
	return (id);
}

/* 32 random bytes as b64u; their SHA-256 in hash. */
char *
cred_new_secret(uint8_t *hash)
{
	uint8_t	 raw[RELAY_SECRET_LEN];
	char	*s;

	if (RAND_bytes(raw, sizeof raw) != 1)
		fatalx("%s: no random bytes", __func__);
	crypto_sha256(raw, sizeof raw, hash);
	s = b64u_encode(raw, sizeof raw);
	crypto_cleanse(raw, sizeof raw);
	return (s);
}

/*
 * "ID.SECRET" of len bytes: an id of the given prefix (copied to id, which
 * holds RELAY_ID_LEN + 1) and the SHA-256 of the secret's 32 bytes.
 */
int
cred_parse(const char *s, size_t len, char prefix, char *id, uint8_t *hash)
{
	uint8_t		 raw[RELAY_SECRET_LEN];
	const char	*dot = memchr(s, '.', len);
	size_t		 n;
	uint8_t		 tmp[16];

	if (dot == NULL || dot - s != RELAY_ID_LEN || s[0] != prefix ||
	    b64u_decode(s + 1, RELAY_ID_LEN - 1, tmp, sizeof tmp, &n) != 0 ||
	    n != sizeof tmp)
		return (-1);
	if (b64u_decode(dot + 1, len - (dot + 1 - s), raw, sizeof raw,
	    &n) != 0 || n != sizeof raw) {
		crypto_cleanse(raw, sizeof raw);
		return (-1);
	}
	memcpy(id, s, RELAY_ID_LEN);
	id[RELAY_ID_LEN] = '\0';
	crypto_sha256(raw, sizeof raw, hash);
	crypto_cleanse(raw, sizeof raw);
	return (0);
}

/*
 * A strict UTF-8 sequence at p: its length and code point, or 0 if p does
 * not start one (overlong, a surrogate, past U+10FFFF, cut short).
 */
static size_t
text_utf8(const u_char *p, uint32_t *cp)
{
	u_char	 lo = 0x80, hi = 0xbf;
	size_t	 n, i;

	if (p[0] < 0x80) {
		*cp = p[0];
		return (1);
	}
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		n = 2;
		*cp = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		*cp = p[0] & 0x0f;
		if (p[0] == 0xe0)
			lo = 0xa0;
		else if (p[0] == 0xed)
			hi = 0x9f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		*cp = p[0] & 0x07;
		if (p[0] == 0xf0)
			lo = 0x90;
		else if (p[0] == 0xf4)
			hi = 0x8f;
	} else
		return (0);
	for (i = 1; i < n; i++) {
		if (p[i] < (i == 1 ? lo : 0x80) || p[i] > (i == 1 ? hi : 0xbf))
			return (0);
		*cp = *cp << 6 | (p[i] & 0x3f);
	}
	return (n);
}

/*
 * Text from outside (a phone's label, a URL) made safe to keep, log and
 * put in a message a terminal will print: valid UTF-8 with no C0 or C1
 * control, DEL or bidirectional override, at most max bytes, cut between
 * characters.  What is dropped leaves nothing behind.
 */
char *
text_clean(const char *s, size_t max)
{
	const u_char	*p = (const u_char *)s;
	char		*out, *o;
	uint32_t	 cp;
	size_t		 n;

	o = out = xmalloc(strlen(s) + 1);
	while (*p != '\0') {
		if ((n = text_utf8(p, &cp)) == 0) {
			p++;
			continue;
		}
		if (cp >= 0x20 && cp != 0x7f && (cp < 0x80 || cp > 0x9f) &&
		    (cp < 0x202a || cp > 0x202e) &&
		    (cp < 0x2066 || cp > 0x2069)) {
			if ((size_t)(o - out) + n > max)
				break;
			memcpy(o, p, n);
			o += n;
		}
		p += n;
	}
	*o = '\0';
	return (out);
}

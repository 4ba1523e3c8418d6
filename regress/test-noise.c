/*
 * regress/test-noise.c: common/noise.c.  The published cacophony vector for
 * Noise_KK_25519_ChaChaPoly_SHA256 from both roles; round trips of every
 * size up to the limit; tampered, replayed, reordered and dropped messages
 * and wrong keys fail with a cause that says so and leave the state dead;
 * Rekey() agrees with a computation by hand; the nonce limit holds; and
 * regress/noise-peer works against itself and against this library.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "common/common.h"
#include "common/noise.h"

#include <cmocka.h>

#define DEAD		"noise: channel is dead after an earlier failure"
#define DECRYPT_FAILED	"message failed to decrypt (tampered, replayed or " \
			"out of order)"
#define BAD_KEY		"handshake failed: the other side's static key " \
			"does not match"
#define DEADLINE_MS	10000

/*
 * The cacophony vector (the test vectors shipped with the snow and
 * cacophony Noise implementations), Noise_KK_25519_ChaChaPoly_SHA256.
 * Messages alternate initiator, responder, ...; the first two are the
 * handshake.
 */
static const char *v_prologue = "4a6f686e2047616c74";
static const char *v_init_static =
    "e61ef9919cde45dd5f82166404bd08e38bceb5dfdfded0a34c8df7ed542214d1";
static const char *v_init_ephemeral =
    "893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a";
static const char *v_init_remote_static =
    "31e0303fd6418d2f8c0e78b91f22e8caed0fbe48656dcf4767e4834f701b8f62";
static const char *v_resp_static =
    "4a3acbfdb163dec651dfa3194dece676d437029c62a408b4c5ea9114246e4893";
static const char *v_resp_ephemeral =
    "bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b";
static const char *v_resp_remote_static =
    "6bc3822a2aa7f4e6981d6538692b3cdf3e6df9eea6ed269eb41d93c22757b75a";
static const char *v_handshake_hash =
    "24c6b51ecb76277140ca018b5985bc9f03de321dae2d34dcae433dafef0131d9";
static const struct {
	const char	*payload;
	const char	*ciphertext;
} v_messages[] = {
	{ "4c756477696720766f6e204d69736573",
	  "ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c7944"
	  "0177015efc1fe7a37c629af7120a96274e6ab7afcc9261901d0e09ae32a5bb96" },
	{ "4d757272617920526f746862617264",
	  "95ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f144808843"
	  "b274d3429adc47ca093ba63ef90f8da89fda108db471dccfa4894aa7b00003" },
	{ "462e20412e20486179656b",
	  "966b05bc69ec01b8454d3160a214e6f24a3d884eb31ec2408af63f" },
	{ "4361726c204d656e676572",
	  "0ad887fba4f611bbb4afe44ba3556b8164332ca7d5934634d63d80" },
	{ "4a65616e2d426170746973746520536179",
	  "012b28ae646ae7830e2c5472cb023eab071c1db3d8413ec69b513b83832f974c"
	  "2d" },
	{ "457567656e2042f6686d20766f6e2042617765726b",
	  "bb3e6a48160d9c5971d37f975727294e0d868342db31832e54d07191ab0ca3c3"
	  "703b5ed3d9" },
};

static char	*peer_path;		/* regress/noise-peer */

static size_t
unhex(const char *s, uint8_t *out)
{
	size_t		 i, len = strlen(s) / 2;
	unsigned int	 b;

	for (i = 0; i < len; i++) {
		if (sscanf(s + 2 * i, "%2x", &b) != 1)
			fail_msg("bad hex in the test: %s", s);
		out[i] = b;
	}
	return (len);
}

static void
tohex(const uint8_t *in, size_t len, char *out)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		snprintf(out + 2 * i, 3, "%02x", in[i]);
}

static void
key(const char *hex, uint8_t out[NOISE_KEY_LEN])
{
	assert_int_equal(unhex(hex, out), NOISE_KEY_LEN);
}

static void
pair(const char *privhex, struct noise_keypair *kp)
{
	uint8_t	 priv[NOISE_KEY_LEN];

	key(privhex, priv);
	assert_int_equal(noise_keypair_from_private(kp, priv), 0);
}

static void
assert_cause(char *cause, const char *want)
{
	assert_non_null(cause);
	if (strstr(cause, want) == NULL)
		fail_msg("cause \"%s\" does not say \"%s\"", cause, want);
	free(cause);
}

/* Every call on a dead state fails with the same cause. */
static void
assert_dead(struct noise *n)
{
	uint8_t	 buf[256];
	size_t	 len;
	char	*cause = NULL;

	assert_false(noise_ready(n));
	assert_int_equal(noise_encrypt(n, (uint8_t *)"x", 1, buf, &cause), -1);
	assert_string_equal(cause, DEAD);
	free(cause);
	cause = NULL;
	memset(buf, 0, sizeof buf);
	assert_int_equal(noise_decrypt(n, buf, 17, buf + 32, &cause), -1);
	assert_string_equal(cause, DEAD);
	free(cause);
	cause = NULL;
	assert_int_equal(noise_write_handshake(n, NULL, 0, buf, &len, &cause),
	    -1);
	assert_string_equal(cause, DEAD);
	free(cause);
	cause = NULL;
	assert_int_equal(noise_read_handshake(n, buf, 64, buf + 64, &len,
	    &cause), -1);
	assert_string_equal(cause, DEAD);
	free(cause);
}

/* A pair of states for the vector, with its fixed ephemeral keys. */
static void
vector_states(struct noise **i, struct noise **r)
{
	struct noise_keypair	 is, ie, rs, re;
	uint8_t			 prologue[64], irs[NOISE_KEY_LEN];
	uint8_t			 rrs[NOISE_KEY_LEN];
	size_t			 plen;

	pair(v_init_static, &is);
	pair(v_init_ephemeral, &ie);
	pair(v_resp_static, &rs);
	pair(v_resp_ephemeral, &re);
	key(v_init_remote_static, irs);
	key(v_resp_remote_static, rrs);
	plen = unhex(v_prologue, prologue);

	*i = noise_new_kk(1, &is, irs, prologue, plen);
	*r = noise_new_kk(0, &rs, rrs, prologue, plen);
	noise_set_ephemeral(*i, &ie);
	noise_set_ephemeral(*r, &re);
	noise_set_rekey_every(*i, 0);
	noise_set_rekey_every(*r, 0);
}

/* Write message m of the vector on one side and read it on the other. */
static void
vector_handshake_message(struct noise *from, struct noise *to, u_int m)
{
	uint8_t	 payload[64], want[128], out[256], got[256];
	size_t	 plen, wlen, outlen, gotlen;
	char	*cause = NULL;

	plen = unhex(v_messages[m].payload, payload);
	wlen = unhex(v_messages[m].ciphertext, want);
	assert_int_equal(noise_write_handshake(from, payload, plen, out,
	    &outlen, &cause), 0);
	assert_int_equal(outlen, wlen);
	assert_memory_equal(out, want, wlen);
	assert_int_equal(noise_read_handshake(to, out, outlen, got, &gotlen,
	    &cause), 0);
	assert_int_equal(gotlen, plen);
	assert_memory_equal(got, payload, plen);
}

static void
vector_handshake(struct noise **i, struct noise **r)
{
	vector_states(i, r);
	vector_handshake_message(*i, *r, 0);
	assert_false(noise_ready(*i));
	assert_false(noise_ready(*r));
	vector_handshake_message(*r, *i, 1);
	assert_true(noise_ready(*i));
	assert_true(noise_ready(*r));
}

static void
vector_handshake_matches_cacophony_from_both_roles(void **state __unused)
{
	struct noise	*i, *r;
	uint8_t		 want[32], hi[32], hr[32];

	vector_handshake(&i, &r);
	key(v_handshake_hash, want);
	noise_handshake_hash(i, hi);
	noise_handshake_hash(r, hr);
	assert_memory_equal(hi, want, 32);
	assert_memory_equal(hr, want, 32);
	noise_free(i);
	noise_free(r);
}

static void
vector_transport_matches_cacophony_both_directions(void **state __unused)
{
	struct noise	*i, *r, *from, *to;
	uint8_t		 payload[64], want[128], out[128], got[128];
	size_t		 plen, wlen, m;
	char		*cause = NULL;

	vector_handshake(&i, &r);
	for (m = 2; m < nitems(v_messages); m++) {
		from = (m % 2 == 0) ? i : r;
		to = (m % 2 == 0) ? r : i;
		plen = unhex(v_messages[m].payload, payload);
		wlen = unhex(v_messages[m].ciphertext, want);
		assert_int_equal(wlen, plen + NOISE_TAG_LEN);
		assert_int_equal(noise_encrypt(from, payload, plen, out,
		    &cause), 0);
		assert_memory_equal(out, want, wlen);
		assert_int_equal(noise_decrypt(to, out, wlen, got, &cause), 0);
		assert_memory_equal(got, payload, plen);
	}
	noise_free(i);
	noise_free(r);
}

static void
keypair_from_private_gives_the_vector_public_keys(void **state __unused)
{
	struct noise_keypair	 kp;
	uint8_t			 want[NOISE_KEY_LEN + 64], priv[32];

	pair(v_init_static, &kp);
	key(v_resp_remote_static, want);
	assert_memory_equal(kp.pub, want, NOISE_KEY_LEN);
	key(v_init_static, priv);
	assert_memory_equal(kp.priv, priv, NOISE_KEY_LEN);

	pair(v_resp_static, &kp);
	key(v_init_remote_static, want);
	assert_memory_equal(kp.pub, want, NOISE_KEY_LEN);

	/* Each handshake message opens with its sender's ephemeral key. */
	pair(v_init_ephemeral, &kp);
	unhex(v_messages[0].ciphertext, want);
	assert_memory_equal(kp.pub, want, NOISE_KEY_LEN);
	pair(v_resp_ephemeral, &kp);
	unhex(v_messages[1].ciphertext, want);
	assert_memory_equal(kp.pub, want, NOISE_KEY_LEN);
}

static void
generated_keypairs_differ_and_match_their_private_key(void **state __unused)
{
	struct noise_keypair	 a, b, again;

	assert_int_equal(noise_keypair_generate(&a), 0);
	assert_int_equal(noise_keypair_generate(&b), 0);
	assert_memory_not_equal(a.priv, b.priv, NOISE_KEY_LEN);
	assert_memory_not_equal(a.pub, b.pub, NOISE_KEY_LEN);
	assert_int_equal(noise_keypair_from_private(&again, a.priv), 0);
	assert_memory_equal(again.pub, a.pub, NOISE_KEY_LEN);
}

/* Two fresh states with random static keys, before the handshake. */
static void
random_states(struct noise **i, struct noise **r)
{
	struct noise_keypair	 is, rs;

	assert_int_equal(noise_keypair_generate(&is), 0);
	assert_int_equal(noise_keypair_generate(&rs), 0);
	*i = noise_new_kk(1, &is, rs.pub, NOISE_PROLOGUE,
	    strlen(NOISE_PROLOGUE));
	*r = noise_new_kk(0, &rs, is.pub, NOISE_PROLOGUE,
	    strlen(NOISE_PROLOGUE));
}

static void
handshake(struct noise *i, struct noise *r)
{
	uint8_t	 msg[128], payload[128];
	size_t	 len, plen;
	char	*cause = NULL;

	assert_int_equal(noise_write_handshake(i, NULL, 0, msg, &len, &cause),
	    0);
	assert_int_equal(len, 48);
	assert_int_equal(noise_read_handshake(r, msg, len, payload, &plen,
	    &cause), 0);
	assert_int_equal(plen, 0);
	assert_int_equal(noise_write_handshake(r, NULL, 0, msg, &len, &cause),
	    0);
	assert_int_equal(noise_read_handshake(i, msg, len, payload, &plen,
	    &cause), 0);
	assert_true(noise_ready(i));
	assert_true(noise_ready(r));
}

static void
random_pair(struct noise **i, struct noise **r)
{
	random_states(i, r);
	handshake(*i, *r);
}

/* Send len random bytes from one side and check the other gets them. */
static void
round_trip(struct noise *from, struct noise *to, size_t len)
{
	static uint8_t	 plain[NOISE_MAX_MSG], msg[NOISE_MAX_MSG];
	static uint8_t	 got[NOISE_MAX_MSG];
	char		*cause = NULL;

	assert_int_equal(RAND_bytes(plain, len > 0 ? len : 1), 1);
	if (noise_encrypt(from, plain, len, msg, &cause) != 0)
		fail_msg("encrypt %zu bytes: %s", len, cause);
	if (noise_decrypt(to, msg, len + NOISE_TAG_LEN, got, &cause) != 0)
		fail_msg("decrypt %zu bytes: %s", len, cause);
	assert_memory_equal(got, plain, len);
}

static void
handshake_hashes_agree_and_differ_between_channels(void **state __unused)
{
	struct noise	*i, *r, *i2, *r2;
	uint8_t		 hi[32], hr[32], h2[32];

	random_pair(&i, &r);
	random_pair(&i2, &r2);
	noise_handshake_hash(i, hi);
	noise_handshake_hash(r, hr);
	noise_handshake_hash(i2, h2);
	assert_memory_equal(hi, hr, 32);
	assert_memory_not_equal(hi, h2, 32);
	noise_free(i);
	noise_free(r);
	noise_free(i2);
	noise_free(r2);
}

static void
round_trips_every_size_to_65519_both_directions(void **state __unused)
{
	struct noise	*i, *r;
	size_t		 len;

	random_pair(&i, &r);
	/* Every size to 4 KiB, then a prime stride, then the very top. */
	for (len = 0; len <= NOISE_MAX_PLAIN; len += (len < 4096) ? 1 : 61) {
		round_trip(i, r, len);
		round_trip(r, i, len);
	}
	for (len = NOISE_MAX_PLAIN - 2; len <= NOISE_MAX_PLAIN; len++) {
		round_trip(i, r, len);
		round_trip(r, i, len);
	}
	noise_free(i);
	noise_free(r);
}

static void
plaintext_of_65520_bytes_is_refused(void **state __unused)
{
	static uint8_t	 plain[NOISE_MAX_PLAIN + 1], msg[NOISE_MAX_MSG + 64];
	struct noise	*i, *r;
	char		*cause = NULL;

	random_pair(&i, &r);
	assert_int_equal(noise_encrypt(i, plain, NOISE_MAX_PLAIN + 1, msg,
	    &cause), -1);
	assert_string_equal(cause,
	    "message too long (65520 bytes; at most 65519)");
	free(cause);
	assert_dead(i);

	cause = NULL;
	assert_int_equal(noise_decrypt(r, msg, NOISE_MAX_MSG + 1, plain,
	    &cause), -1);
	assert_string_equal(cause,
	    "message too long (65536 bytes; at most 65535)");
	free(cause);
	assert_dead(r);
	noise_free(i);
	noise_free(r);
}

static void
message_shorter_than_a_tag_is_refused(void **state __unused)
{
	struct noise	*i, *r;
	uint8_t		 msg[32], out[32];
	char		*cause = NULL;

	random_pair(&i, &r);
	memset(msg, 0, sizeof msg);
	assert_int_equal(noise_decrypt(r, msg, 15, out, &cause), -1);
	assert_cause(cause, "message too short (15 bytes; at least 16)");
	assert_dead(r);
	noise_free(i);
	noise_free(r);
}

static void
tampered_handshake_message_1_fails_and_kills_the_state(void **state __unused)
{
	struct noise	*i, *r;
	uint8_t		 msg[128], payload[128];
	size_t		 len, plen;
	char		*cause = NULL;

	random_states(&i, &r);
	assert_int_equal(noise_write_handshake(i, (uint8_t *)"hi", 2, msg,
	    &len, &cause), 0);
	msg[40] ^= 0x01;		/* inside the encrypted payload */
	assert_int_equal(noise_read_handshake(r, msg, len, payload, &plen,
	    &cause), -1);
	assert_cause(cause, BAD_KEY);
	assert_dead(r);
	noise_free(i);
	noise_free(r);

	/* A flipped bit in the ephemeral key changes every DH: same end. */
	random_states(&i, &r);
	assert_int_equal(noise_write_handshake(i, NULL, 0, msg, &len, &cause),
	    0);
	msg[3] ^= 0x10;
	assert_int_equal(noise_read_handshake(r, msg, len, payload, &plen,
	    &cause), -1);
	assert_cause(cause, "handshake failed");
	assert_dead(r);
	noise_free(i);
	noise_free(r);
}

static void
tampered_handshake_message_2_fails_and_kills_the_state(void **state __unused)
{
	struct noise	*i, *r;
	uint8_t		 msg[128], payload[128];
	size_t		 len, plen;
	char		*cause = NULL;

	random_states(&i, &r);
	assert_int_equal(noise_write_handshake(i, NULL, 0, msg, &len, &cause),
	    0);
	assert_int_equal(noise_read_handshake(r, msg, len, payload, &plen,
	    &cause), 0);
	assert_int_equal(noise_write_handshake(r, NULL, 0, msg, &len, &cause),
	    0);
	assert_true(noise_ready(r));
	msg[len - 1] ^= 0x80;		/* the tag */
	assert_int_equal(noise_read_handshake(i, msg, len, payload, &plen,
	    &cause), -1);
	assert_cause(cause, BAD_KEY);
	assert_dead(i);
	noise_free(i);
	noise_free(r);
}

static void
tampered_transport_message_fails_and_kills_the_state(void **state __unused)
{
	struct noise	*i, *r;
	uint8_t		 msg[64], out[64];
	char		*cause = NULL;

	random_pair(&i, &r);
	round_trip(i, r, 10);
	assert_int_equal(noise_encrypt(i, (uint8_t *)"ls -l\r", 6, msg,
	    &cause), 0);
	msg[2] ^= 0x04;			/* ciphertext, not the tag */
	memset(out, 0, sizeof out);
	assert_int_equal(noise_decrypt(r, msg, 6 + NOISE_TAG_LEN, out,
	    &cause), -1);
	assert_string_equal(cause, DECRYPT_FAILED);
	free(cause);
	/* The plaintext of a forgery never reaches the caller. */
	assert_memory_not_equal(out, "ls$-l\r", 6);
	assert_dead(r);

	/* The other direction still worked until now, but r is dead. */
	cause = NULL;
	assert_int_equal(noise_encrypt(r, (uint8_t *)"x", 1, msg, &cause), -1);
	assert_string_equal(cause, DEAD);
	free(cause);
	noise_free(i);
	noise_free(r);
}

static void
replayed_message_fails(void **state __unused)
{
	struct noise	*i, *r;
	uint8_t		 msg[64], out[64];
	char		*cause = NULL;

	random_pair(&i, &r);
	assert_int_equal(noise_encrypt(i, (uint8_t *)"rm -rf", 6, msg,
	    &cause), 0);
	assert_int_equal(noise_decrypt(r, msg, 22, out, &cause), 0);
	assert_int_equal(noise_decrypt(r, msg, 22, out, &cause), -1);
	assert_string_equal(cause, DECRYPT_FAILED);
	free(cause);
	assert_dead(r);
	noise_free(i);
	noise_free(r);
}

static void
reordered_messages_fail(void **state __unused)
{
	struct noise	*i, *r;
	uint8_t		 m1[64], m2[64], out[64];
	char		*cause = NULL;

	random_pair(&i, &r);
	assert_int_equal(noise_encrypt(i, (uint8_t *)"one", 3, m1, &cause), 0);
	assert_int_equal(noise_encrypt(i, (uint8_t *)"two", 3, m2, &cause), 0);
	assert_int_equal(noise_decrypt(r, m2, 19, out, &cause), -1);
	assert_string_equal(cause, DECRYPT_FAILED);
	free(cause);
	assert_dead(r);
	noise_free(i);
	noise_free(r);
}

static void
dropped_message_makes_the_next_fail(void **state __unused)
{
	struct noise	*i, *r;
	uint8_t		 m1[64], m2[64], m3[64], out[64];
	char		*cause = NULL;

	random_pair(&i, &r);
	assert_int_equal(noise_encrypt(i, (uint8_t *)"one", 3, m1, &cause), 0);
	assert_int_equal(noise_encrypt(i, (uint8_t *)"two", 3, m2, &cause), 0);
	assert_int_equal(noise_encrypt(i, (uint8_t *)"six", 3, m3, &cause), 0);
	assert_int_equal(noise_decrypt(r, m1, 19, out, &cause), 0);
	assert_memory_equal(out, "one", 3);
	assert_int_equal(noise_decrypt(r, m3, 19, out, &cause), -1);
	assert_string_equal(cause, DECRYPT_FAILED);
	free(cause);
	assert_dead(r);
	noise_free(i);
	noise_free(r);
}

/* Message 1 from i to r must fail at r, naming the static key. */
static void
message_1_fails_on_key(struct noise *i, struct noise *r)
{
	uint8_t	 msg[128], payload[128];
	size_t	 len, plen;
	char	*cause = NULL;

	assert_int_equal(noise_write_handshake(i, NULL, 0, msg, &len, &cause),
	    0);
	assert_int_equal(noise_read_handshake(r, msg, len, payload, &plen,
	    &cause), -1);
	assert_cause(cause, BAD_KEY);
	assert_dead(r);
}

static void
responder_expecting_another_phone_fails_message_1(void **state __unused)
{
	struct noise_keypair	 is, rs, other;
	struct noise		*i, *r;

	assert_int_equal(noise_keypair_generate(&is), 0);
	assert_int_equal(noise_keypair_generate(&rs), 0);
	assert_int_equal(noise_keypair_generate(&other), 0);
	i = noise_new_kk(1, &is, rs.pub, NOISE_PROLOGUE,
	    strlen(NOISE_PROLOGUE));
	r = noise_new_kk(0, &rs, other.pub, NOISE_PROLOGUE,
	    strlen(NOISE_PROLOGUE));
	message_1_fails_on_key(i, r);
	noise_free(i);
	noise_free(r);
}

static void
initiator_with_the_wrong_server_key_fails_message_1(void **state __unused)
{
	struct noise_keypair	 is, rs, other;
	struct noise		*i, *r;

	assert_int_equal(noise_keypair_generate(&is), 0);
	assert_int_equal(noise_keypair_generate(&rs), 0);
	assert_int_equal(noise_keypair_generate(&other), 0);
	i = noise_new_kk(1, &is, other.pub, NOISE_PROLOGUE,
	    strlen(NOISE_PROLOGUE));
	r = noise_new_kk(0, &rs, is.pub, NOISE_PROLOGUE,
	    strlen(NOISE_PROLOGUE));
	message_1_fails_on_key(i, r);
	noise_free(i);
	noise_free(r);
}

static void
different_prologue_fails_the_handshake(void **state __unused)
{
	struct noise_keypair	 is, rs;
	struct noise		*i, *r;

	assert_int_equal(noise_keypair_generate(&is), 0);
	assert_int_equal(noise_keypair_generate(&rs), 0);
	i = noise_new_kk(1, &is, rs.pub, "loopsy-phone-0", 14);
	r = noise_new_kk(0, &rs, is.pub, NOISE_PROLOGUE,
	    strlen(NOISE_PROLOGUE));
	message_1_fails_on_key(i, r);
	noise_free(i);
	noise_free(r);
}

static void
calls_out_of_turn_fail_and_kill_the_state(void **state __unused)
{
	struct noise	*i, *r;
	uint8_t		 msg[128], payload[128];
	size_t		 len, plen;
	char		*cause = NULL;

	/* Transport before the handshake. */
	random_states(&i, &r);
	assert_int_equal(noise_encrypt(i, (uint8_t *)"x", 1, msg, &cause), -1);
	assert_cause(cause, "the handshake is not finished");
	assert_dead(i);
	noise_free(i);
	noise_free(r);

	/* The responder writing first. */
	random_states(&i, &r);
	cause = NULL;
	assert_int_equal(noise_write_handshake(r, NULL, 0, msg, &len, &cause),
	    -1);
	assert_cause(cause, "handshake message 1 is the initiator's to write");
	assert_dead(r);
	noise_free(i);
	noise_free(r);

	/* The initiator writing twice. */
	random_states(&i, &r);
	cause = NULL;
	assert_int_equal(noise_write_handshake(i, NULL, 0, msg, &len, &cause),
	    0);
	assert_int_equal(noise_write_handshake(i, NULL, 0, msg, &len, &cause),
	    -1);
	assert_cause(cause, "handshake message 2 is the responder's to write");
	assert_dead(i);
	noise_free(i);
	noise_free(r);

	/* A third handshake message. */
	random_pair(&i, &r);
	cause = NULL;
	assert_int_equal(noise_read_handshake(i, msg, 48, payload, &plen,
	    &cause), -1);
	assert_cause(cause, "the handshake is already done");
	assert_dead(i);
	noise_free(i);
	noise_free(r);
}

static void
short_handshake_message_is_refused(void **state __unused)
{
	struct noise	*i, *r;
	uint8_t		 msg[128], payload[128];
	size_t		 len, plen;
	char		*cause = NULL;

	random_states(&i, &r);
	assert_int_equal(noise_write_handshake(i, NULL, 0, msg, &len, &cause),
	    0);
	assert_int_equal(noise_read_handshake(r, msg, 47, payload, &plen,
	    &cause), -1);
	assert_cause(cause, "handshake message 1 is 47 bytes; it must be 48 "
	    "to 65535");
	assert_dead(r);
	noise_free(i);
	noise_free(r);
}

static void
low_order_ephemeral_key_is_refused(void **state __unused)
{
	struct noise	*i, *r;
	uint8_t		 msg[48], payload[48];
	size_t		 plen;
	char		*cause = NULL;

	/* An all-zero point would make every DH with it zero. */
	random_states(&i, &r);
	memset(msg, 0, sizeof msg);
	assert_int_equal(noise_read_handshake(r, msg, sizeof msg, payload,
	    &plen, &cause), -1);
	assert_cause(cause, "handshake failed: message 1 has an invalid "
	    "ephemeral key");
	assert_dead(r);
	noise_free(i);
	noise_free(r);
}

static void
rekey_every_3_on_both_sides_carries_20_messages_each_way(
    void **state __unused)
{
	struct noise	*i, *r;
	int		 k;

	random_pair(&i, &r);
	noise_set_rekey_every(i, 3);
	noise_set_rekey_every(r, 3);
	for (k = 0; k < 20; k++) {
		round_trip(i, r, 100 + k);
		round_trip(r, i, 200 + k);
	}
	noise_free(i);
	noise_free(r);
}

static void
rekey_every_3_against_4_fails_at_message_4(void **state __unused)
{
	struct noise	*i, *r;
	uint8_t		 msg[64], out[64];
	char		*cause = NULL;
	int		 k;

	random_pair(&i, &r);
	noise_set_rekey_every(i, 3);
	noise_set_rekey_every(r, 4);
	for (k = 0; k < 3; k++)
		round_trip(i, r, 5);
	assert_int_equal(noise_encrypt(i, (uint8_t *)"four", 4, msg, &cause),
	    0);
	assert_int_equal(noise_decrypt(r, msg, 20, out, &cause), -1);
	assert_string_equal(cause, DECRYPT_FAILED);
	free(cause);
	assert_dead(r);
	noise_free(i);
	noise_free(r);
}

/* ChaCha20-Poly1305 straight from EVP, empty ad, with nonce bytes built
 * here from the Noise rule: 4 zero bytes, n little-endian. */
static void
evp_encrypt(const uint8_t *k, uint64_t n, const uint8_t *in, int len,
    uint8_t *out)
{
	EVP_CIPHER_CTX	*ctx = EVP_CIPHER_CTX_new();
	uint8_t		 iv[12] = { 0 };
	int		 outl, b;

	for (b = 0; b < 8; b++)
		iv[4 + b] = (uint8_t)(n >> (8 * b));
	assert_non_null(ctx);
	assert_int_equal(EVP_EncryptInit_ex(ctx, EVP_chacha20_poly1305(),
	    NULL, k, iv), 1);
	assert_int_equal(EVP_EncryptUpdate(ctx, out, &outl, in, len), 1);
	assert_int_equal(EVP_EncryptFinal_ex(ctx, out + len, &outl), 1);
	assert_int_equal(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16,
	    out + len), 1);
	EVP_CIPHER_CTX_free(ctx);
}

/* Rekey() by hand: the first 32 bytes of ENCRYPT(k, 2^64-1, "", 0^32). */
static void
hand_rekey(uint8_t k[32])
{
	uint8_t	 zeros[32] = { 0 }, out[48];

	evp_encrypt(k, UINT64_MAX, zeros, 32, out);
	memcpy(k, out, 32);
}

static void
rekey_matches_a_computation_by_hand(void **state __unused)
{
	struct noise	*i, *r;
	uint8_t		 tx[32], rx[32], k[32], msg[64], want[64], out[64];
	char		*cause = NULL;
	uint64_t	 n;

	random_states(&i, &r);
	assert_int_equal(RAND_bytes(tx, 32), 1);
	assert_int_equal(RAND_bytes(rx, 32), 1);
	noise_set_transport(i, tx, rx, 0);
	noise_set_transport(r, rx, tx, 0);
	noise_set_rekey_every(i, 2);
	noise_set_rekey_every(r, 2);

	/* Messages 0 and 1 under k, 2 and 3 under Rekey(k), 4 under
	 * Rekey(Rekey(k)); the nonce goes on counting through each. */
	memcpy(k, tx, 32);
	for (n = 0; n < 5; n++) {
		if (n == 2 || n == 4)
			hand_rekey(k);
		evp_encrypt(k, n, (const uint8_t *)"hello", 5, want);
		assert_int_equal(noise_encrypt(i, (uint8_t *)"hello", 5, msg,
		    &cause), 0);
		assert_memory_equal(msg, want, 5 + NOISE_TAG_LEN);
		assert_int_equal(noise_decrypt(r, msg, 21, out, &cause), 0);
		assert_memory_equal(out, "hello", 5);
	}

	/* And the receiving cipher of i rekeys on its own count. */
	memcpy(k, rx, 32);
	for (n = 0; n < 3; n++) {
		if (n == 2)
			hand_rekey(k);
		assert_int_equal(noise_encrypt(r, (uint8_t *)"back", 4, msg,
		    &cause), 0);
		evp_encrypt(k, n, (const uint8_t *)"back", 4, want);
		assert_memory_equal(msg, want, 4 + NOISE_TAG_LEN);
		assert_int_equal(noise_decrypt(i, msg, 20, out, &cause), 0);
	}
	noise_free(i);
	noise_free(r);
}

static void
last_nonce_is_refused(void **state __unused)
{
	struct noise	*i, *r;
	uint8_t		 k[32], msg[64], want[64], out[64];
	char		*cause = NULL;

	random_states(&i, &r);
	assert_int_equal(RAND_bytes(k, 32), 1);
	noise_set_transport(i, k, k, UINT64_MAX - 1);
	noise_set_transport(r, k, k, UINT64_MAX - 1);

	/* 2^64-2 is the last nonce a message may use. */
	assert_int_equal(noise_encrypt(i, (uint8_t *)"last", 4, msg, &cause),
	    0);
	evp_encrypt(k, UINT64_MAX - 1, (const uint8_t *)"last", 4, want);
	assert_memory_equal(msg, want, 20);
	assert_int_equal(noise_decrypt(r, msg, 20, out, &cause), 0);

	assert_int_equal(noise_encrypt(i, (uint8_t *)"more", 4, msg, &cause),
	    -1);
	assert_cause(cause, "nonce exhausted");
	assert_dead(i);
	cause = NULL;
	assert_int_equal(noise_decrypt(r, msg, 20, out, &cause), -1);
	assert_cause(cause, "nonce exhausted");
	assert_dead(r);
	noise_free(i);
	noise_free(r);
}

/*
 * regress/noise-peer in a child with pipes on its stdin, stdout and
 * stderr.  Every wait has a deadline; a stuck peer fails the test.
 */
struct peer {
	pid_t	 pid;
	int	 in;		/* its stdin */
	int	 out;		/* its stdout */
	int	 err;		/* its stderr */
};

static void
peer_start(struct peer *p, const char *role, const char *priv,
    const char *rpub, const char *every)
{
	int	 in[2], out[2], err[2];

	assert_int_equal(pipe2(in, O_CLOEXEC), 0);
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	assert_int_equal(pipe2(err, O_CLOEXEC), 0);
	p->pid = fork();
	assert_true(p->pid != -1);
	if (p->pid == 0) {
		dup2(in[0], STDIN_FILENO);
		dup2(out[1], STDOUT_FILENO);
		dup2(err[1], STDERR_FILENO);
		execl(peer_path, "noise-peer", role, priv, rpub, every,
		    (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	close(err[1]);
	p->in = in[1];
	p->out = out[0];
	p->err = err[0];
}

/* Read exactly len bytes, or fail the test at the deadline or EOF. */
static int
read_full(int fd, uint8_t *buf, size_t len)
{
	struct pollfd	 pfd = { .fd = fd, .events = POLLIN };
	size_t		 done = 0;
	ssize_t		 n;

	while (done < len) {
		if (poll(&pfd, 1, DEADLINE_MS) != 1)
			fail_msg("noise-peer sent nothing within the deadline");
		n = read(fd, buf + done, len - done);
		if (n <= 0)
			return (-1);
		done += n;
	}
	return (0);
}

static int
frame_read(int fd, uint8_t *buf, size_t *len)
{
	uint8_t	 hdr[2];

	if (read_full(fd, hdr, 2) != 0)
		return (-1);
	*len = (hdr[0] << 8) | hdr[1];
	return (read_full(fd, buf, *len));
}

static void
frame_write(int fd, const uint8_t *buf, size_t len)
{
	uint8_t	 hdr[2] = { len >> 8, len & 0xff };

	assert_int_equal(write(fd, hdr, 2), 2);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
}

/* Close its stdin; wait for its stderr to end (or the deadline) and its
 * exit.  Returns the exit status; *errtext gets what it printed. */
static int
peer_finish(struct peer *p, char *errtext, size_t errsize)
{
	struct pollfd	 pfd = { .fd = p->err, .events = POLLIN };
	size_t		 used = 0;
	ssize_t		 n;
	int		 status;

	close(p->in);
	for (;;) {
		if (poll(&pfd, 1, DEADLINE_MS) != 1) {
			kill(p->pid, SIGKILL);
			fail_msg("noise-peer did not exit within the deadline");
		}
		n = read(p->err, errtext + used, errsize - 1 - used);
		if (n <= 0)
			break;
		used += n;
	}
	errtext[used] = '\0';
	close(p->err);
	close(p->out);
	assert_int_equal(waitpid(p->pid, &status, 0), p->pid);
	assert_true(WIFEXITED(status));
	return (WEXITSTATUS(status));
}

/* Two keypairs and their hex forms, for the peers. */
struct peer_keys {
	struct noise_keypair	 i, r;
	char			 ipriv[65], ipub[65], rpriv[65], rpub[65];
};

static void
peer_keys(struct peer_keys *k)
{
	assert_int_equal(noise_keypair_generate(&k->i), 0);
	assert_int_equal(noise_keypair_generate(&k->r), 0);
	tohex(k->i.priv, 32, k->ipriv);
	tohex(k->i.pub, 32, k->ipub);
	tohex(k->r.priv, 32, k->rpriv);
	tohex(k->r.pub, 32, k->rpub);
}

/* Relay one frame from a's stdout to b's stdin, flipping a bit if asked. */
static void
relay(struct peer *a, struct peer *b, int flip)
{
	uint8_t	 buf[NOISE_MAX_MSG];
	size_t	 len = 0;

	assert_int_equal(frame_read(a->out, buf, &len), 0);
	if (flip)
		buf[len - 1] ^= 0x01;
	frame_write(b->in, buf, len);
}

static void
peer_pair_handshakes_through_a_relay(void **state __unused)
{
	struct peer_keys	 k;
	struct peer		 a, b;
	char			 err[1024];

	peer_keys(&k);
	peer_start(&a, "initiator", k.ipriv, k.rpub, NULL);
	peer_start(&b, "responder", k.rpriv, k.ipub, NULL);
	relay(&a, &b, 0);
	relay(&b, &a, 0);
	/* Each exits 0 at end of input only after a good handshake. */
	assert_int_equal(peer_finish(&b, err, sizeof err), 0);
	assert_string_equal(err, "");
	assert_int_equal(peer_finish(&a, err, sizeof err), 0);
	assert_string_equal(err, "");
}

static void
peer_pair_reports_a_tampered_handshake(void **state __unused)
{
	struct peer_keys	 k;
	struct peer		 a, b;
	char			 err[1024];

	peer_keys(&k);
	peer_start(&a, "initiator", k.ipriv, k.rpub, NULL);
	peer_start(&b, "responder", k.rpriv, k.ipub, NULL);
	relay(&a, &b, 1);
	assert_int_equal(peer_finish(&b, err, sizeof err), 1);
	assert_non_null(strstr(err, BAD_KEY));
	assert_int_equal(peer_finish(&a, err, sizeof err), 1);
	assert_non_null(strstr(err, "input ends before handshake message 2"));
}

static void
peer_responder_with_the_wrong_key_says_so(void **state __unused)
{
	struct peer_keys	 k, other;
	struct peer		 a, b;
	char			 err[1024];

	peer_keys(&k);
	peer_keys(&other);
	peer_start(&a, "initiator", k.ipriv, k.rpub, NULL);
	peer_start(&b, "responder", k.rpriv, other.ipub, NULL);
	relay(&a, &b, 0);
	assert_int_equal(peer_finish(&b, err, sizeof err), 1);
	assert_non_null(strstr(err, BAD_KEY));
	assert_int_equal(peer_finish(&a, err, sizeof err), 1);
}

/* Send n messages to a peer through s and check each echo. */
static void
peer_exchange(struct peer *p, struct noise *s, int count)
{
	static uint8_t	 plain[NOISE_MAX_MSG], msg[NOISE_MAX_MSG];
	static uint8_t	 got[NOISE_MAX_MSG];
	char		*cause = NULL;
	size_t		 len, mlen = 0;
	int		 m;

	for (m = 0; m < count; m++) {
		len = (m * 997) % 3000;
		if (m == count - 1)
			len = NOISE_MAX_PLAIN - 5;	/* echo fills it */
		assert_int_equal(RAND_bytes(plain, len + 1), 1);
		assert_int_equal(noise_encrypt(s, plain, len, msg, &cause), 0);
		frame_write(p->in, msg, len + NOISE_TAG_LEN);
		assert_int_equal(frame_read(p->out, msg, &mlen), 0);
		assert_int_equal(mlen, 5 + len + NOISE_TAG_LEN);
		if (noise_decrypt(s, msg, mlen, got, &cause) != 0)
			fail_msg("echo %d: %s", m, cause);
		assert_memory_equal(got, "echo:", 5);
		assert_memory_equal(got + 5, plain, len);
	}
}

static void
peer_responder_echoes_this_library_with_rekey(void **state __unused)
{
	struct peer_keys	 k;
	struct peer		 p;
	struct noise		*i;
	uint8_t			 msg[128], payload[128];
	size_t			 len, plen;
	char			*cause = NULL, err[1024];

	peer_keys(&k);
	peer_start(&p, "responder", k.rpriv, k.ipub, "3");
	i = noise_new_kk(1, &k.i, k.r.pub, NOISE_PROLOGUE,
	    strlen(NOISE_PROLOGUE));
	noise_set_rekey_every(i, 3);
	assert_int_equal(noise_write_handshake(i, NULL, 0, msg, &len, &cause),
	    0);
	frame_write(p.in, msg, len);
	assert_int_equal(frame_read(p.out, msg, &len), 0);
	assert_int_equal(noise_read_handshake(i, msg, len, payload, &plen,
	    &cause), 0);
	assert_int_equal(plen, 0);
	peer_exchange(&p, i, 20);
	assert_int_equal(peer_finish(&p, err, sizeof err), 0);
	assert_string_equal(err, "");
	noise_free(i);
}

static void
peer_initiator_echoes_this_library(void **state __unused)
{
	struct peer_keys	 k;
	struct peer		 p;
	struct noise		*r;
	uint8_t			 msg[128], payload[128];
	size_t			 len, plen;
	char			*cause = NULL, err[1024];

	peer_keys(&k);
	peer_start(&p, "initiator", k.ipriv, k.rpub, NULL);
	r = noise_new_kk(0, &k.r, k.i.pub, NOISE_PROLOGUE,
	    strlen(NOISE_PROLOGUE));
	assert_int_equal(frame_read(p.out, msg, &len), 0);
	assert_int_equal(noise_read_handshake(r, msg, len, payload, &plen,
	    &cause), 0);
	assert_int_equal(noise_write_handshake(r, NULL, 0, msg, &len, &cause),
	    0);
	frame_write(p.in, msg, len);
	peer_exchange(&p, r, 5);
	assert_int_equal(peer_finish(&p, err, sizeof err), 0);
	assert_string_equal(err, "");
	noise_free(r);
}

static void
peer_reports_a_tampered_transport_message(void **state __unused)
{
	struct peer_keys	 k;
	struct peer		 p;
	struct noise		*i;
	uint8_t			 msg[128], payload[128];
	size_t			 len, plen;
	char			*cause = NULL, err[1024];

	peer_keys(&k);
	peer_start(&p, "responder", k.rpriv, k.ipub, NULL);
	i = noise_new_kk(1, &k.i, k.r.pub, NOISE_PROLOGUE,
	    strlen(NOISE_PROLOGUE));
	assert_int_equal(noise_write_handshake(i, NULL, 0, msg, &len, &cause),
	    0);
	frame_write(p.in, msg, len);
	assert_int_equal(frame_read(p.out, msg, &len), 0);
	assert_int_equal(noise_read_handshake(i, msg, len, payload, &plen,
	    &cause), 0);
	assert_int_equal(noise_encrypt(i, (uint8_t *)"date", 4, msg, &cause),
	    0);
	msg[0] ^= 0x20;
	frame_write(p.in, msg, 20);
	assert_int_equal(peer_finish(&p, err, sizeof err), 1);
	assert_non_null(strstr(err, DECRYPT_FAILED));
	noise_free(i);
}

static void
peer_refuses_a_key_that_is_not_64_hex_digits(void **state __unused)
{
	struct peer	 p;
	char		 err[1024];

	peer_start(&p, "responder", "abc", "00", NULL);
	assert_int_equal(peer_finish(&p, err, sizeof err), 1);
	assert_non_null(strstr(err, "PRIV_HEX must be 64 hex digits"));
}

int
main(int argc __unused, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    vector_handshake_matches_cacophony_from_both_roles),
		cmocka_unit_test(
		    vector_transport_matches_cacophony_both_directions),
		cmocka_unit_test(
		    keypair_from_private_gives_the_vector_public_keys),
		cmocka_unit_test(
		    generated_keypairs_differ_and_match_their_private_key),
		cmocka_unit_test(
		    handshake_hashes_agree_and_differ_between_channels),
		cmocka_unit_test(
		    round_trips_every_size_to_65519_both_directions),
		cmocka_unit_test(plaintext_of_65520_bytes_is_refused),
		cmocka_unit_test(message_shorter_than_a_tag_is_refused),
		cmocka_unit_test(
		    tampered_handshake_message_1_fails_and_kills_the_state),
		cmocka_unit_test(
		    tampered_handshake_message_2_fails_and_kills_the_state),
		cmocka_unit_test(
		    tampered_transport_message_fails_and_kills_the_state),
		cmocka_unit_test(replayed_message_fails),
		cmocka_unit_test(reordered_messages_fail),
		cmocka_unit_test(dropped_message_makes_the_next_fail),
		cmocka_unit_test(
		    responder_expecting_another_phone_fails_message_1),
		cmocka_unit_test(
		    initiator_with_the_wrong_server_key_fails_message_1),
		cmocka_unit_test(different_prologue_fails_the_handshake),
		cmocka_unit_test(calls_out_of_turn_fail_and_kill_the_state),
		cmocka_unit_test(short_handshake_message_is_refused),
		cmocka_unit_test(low_order_ephemeral_key_is_refused),
		cmocka_unit_test(
		    rekey_every_3_on_both_sides_carries_20_messages_each_way),
		cmocka_unit_test(rekey_every_3_against_4_fails_at_message_4),
		cmocka_unit_test(rekey_matches_a_computation_by_hand),
		cmocka_unit_test(last_nonce_is_refused),
		cmocka_unit_test(peer_pair_handshakes_through_a_relay),
		cmocka_unit_test(peer_pair_reports_a_tampered_handshake),
		cmocka_unit_test(peer_responder_with_the_wrong_key_says_so),
		cmocka_unit_test(peer_responder_echoes_this_library_with_rekey),
		cmocka_unit_test(peer_initiator_echoes_this_library),
		cmocka_unit_test(peer_reports_a_tampered_transport_message),
		cmocka_unit_test(peer_refuses_a_key_that_is_not_64_hex_digits),
	};
	char	*dir, *slash;

	/* noise-peer is built next to this test. */
	if ((peer_path = getenv("NOISE_PEER")) == NULL) {
		dir = xstrdup(argv[0]);
		if ((slash = strrchr(dir, '/')) != NULL)
			*slash = '\0';
		else
			strlcpy(dir, ".", strlen(dir) + 1);
		xasprintf(&peer_path, "%s/noise-peer", dir);
		free(dir);
	}
	signal(SIGPIPE, SIG_IGN);
	return (cmocka_run_group_tests(tests, NULL, NULL));
}

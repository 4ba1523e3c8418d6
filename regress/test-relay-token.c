/*
 * regress/test-relay-token.c: relay/token.c and relay/store.c.  Pair tokens
 * verify only as signed, whole and unexpired; a nonce is good once; wrong
 * codes are counted and the fifth burns the link; a device keeps only its
 * newest 16 unused links; expired nonces are purged; credentials parse only
 * in their exact form; text from outside keeps printable UTF-8 only; and
 * the database file holds the hashes of secrets, never a secret.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/common.h"
#include "common/crypto.h"
#include "relay/relay.h"

#include <cmocka.h>

static const uint8_t key1[RELAY_KEY_LEN] = { 1, 2, 3, 4, 5 };
static const uint8_t key2[RELAY_KEY_LEN] = { 9, 8, 7 };
static const uint8_t nonce1[TOKEN_NONCE_LEN] = { 0xde, 0xad, 0xbe, 0xef };

struct fixture {
	char		 dir[64];
	char		*db;
	struct store	*st;
};

static int
setup(void **state)
{
	struct fixture	*f = xcalloc(1, sizeof *f);
	char		*cause = NULL;

	strlcpy(f->dir, "/tmp/test-relay-XXXXXX", sizeof f->dir);
	if (mkdtemp(f->dir) == NULL)
		return (-1);
	xasprintf(&f->db, "%s/relay.db", f->dir);
	if ((f->st = store_open(f->db, &cause)) == NULL) {
		fprintf(stderr, "%s\n", cause);
		return (-1);
	}
	*state = f;
	return (0);
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;
	char		*cmd;

	store_close(f->st);
	xasprintf(&cmd, "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return (-1);
	free(cmd);
	free(f->db);
	free(f);
	return (0);
}

/* A token for nonce1 expiring at exp, its nonce recorded for dDEV. */
static char *
issued(struct fixture *f, time_t exp)
{
	assert_int_equal(store_nonce_add(f->st, nonce1, "dDEV", exp), 0);
	return (token_sign(key1, nonce1, exp));
}

static void
b64u_round_trips_every_length(void **state __unused)
{
	uint8_t	 in[40], out[40];
	size_t	 len, n;
	char	*s;

	for (len = 0; len < sizeof in; len++) {
		memset(in, (int)len * 7, sizeof in);
		in[0] = 0xfb;		/* '-' and '_' come out */
		s = b64u_encode(in, len);
		assert_null(strchr(s, '='));
		assert_int_equal(b64u_decode(s, strlen(s), out, sizeof out,
		    &n), 0);
		assert_int_equal(n, len);
		assert_memory_equal(in, out, len);
		free(s);
	}
}

static void
b64u_refuses_padding_other_alphabets_and_stray_bits(void **state __unused)
{
	uint8_t	 out[8];
	size_t	 n;

	assert_int_equal(b64u_decode("AA==", 4, out, sizeof out, &n), -1);
	assert_int_equal(b64u_decode("A+/A", 4, out, sizeof out, &n), -1);
	assert_int_equal(b64u_decode("A", 1, out, sizeof out, &n), -1);
	assert_int_equal(b64u_decode("AB", 2, out, sizeof out, &n), -1);
	assert_int_equal(b64u_decode("AAAAAAAAAAAAAAAA", 16, out,
	    sizeof out, &n), -1);		/* 12 bytes into 8 */
}

static void
token_signed_then_parsed_gives_its_nonce_and_expiry(void **state __unused)
{
	uint8_t		 nonce[TOKEN_NONCE_LEN];
	uint64_t	 exp;
	char		*t = token_sign(key1, nonce1, 1234567890123ULL);

	/* b64u(24 bytes) "." b64u(16 bytes) */
	assert_int_equal(strlen(t), 32 + 1 + 22);
	assert_int_equal(token_parse(key1, t, nonce, &exp), 0);
	assert_memory_equal(nonce, nonce1, sizeof nonce);
	assert_int_equal(exp, 1234567890123ULL);
	free(t);
}

static void
token_with_a_bad_mac_or_another_key_is_refused(void **state __unused)
{
	uint8_t		 nonce[TOKEN_NONCE_LEN];
	uint64_t	 exp;
	char		*t = token_sign(key1, nonce1, 2000000000);
	size_t		 n = strlen(t);

	assert_int_equal(token_parse(key2, t, nonce, &exp), -1);
	t[n - 2] = t[n - 2] == 'A' ? 'B' : 'A';
	assert_int_equal(token_parse(key1, t, nonce, &exp), -1);
	t[n - 2] = t[n - 2] == 'A' ? 'B' : 'A';
	t[3] = t[3] == 'A' ? 'B' : 'A';		/* the signed part */
	assert_int_equal(token_parse(key1, t, nonce, &exp), -1);
	free(t);
}

static void
token_truncated_or_garbage_is_refused(void **state __unused)
{
	static const char	*bad[] = {
		"", ".", "abc", "abc.", ".abc", "!!!!!!!!.########",
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAA=",
		"AAAA.AAAA.AAAA",
	};
	uint8_t		 nonce[TOKEN_NONCE_LEN];
	uint64_t	 exp;
	char		*t = token_sign(key1, nonce1, 2000000000), *cut;
	size_t		 i;

	for (i = 0; i < nitems(bad); i++)
		assert_int_equal(token_parse(key1, bad[i], nonce, &exp), -1);
	for (i = 0; i < strlen(t); i++) {
		cut = xstrndup(t, i);
		assert_int_equal(token_parse(key1, cut, nonce, &exp), -1);
		free(cut);
	}
	free(t);
}

static void
token_check_says_expired_unknown_and_good(void **state)
{
	struct fixture	*f = *state;
	uint8_t		 nonce[TOKEN_NONCE_LEN];
	char		*t, *device;
	time_t		 now = 1700000000;

	t = token_sign(key1, nonce1, now + 60);
	assert_int_equal(token_check(f->st, key1, t, now, nonce, &device),
	    TOKEN_BAD);			/* never recorded */
	assert_int_equal(store_nonce_add(f->st, nonce1, "dDEV", now + 60), 0);
	assert_int_equal(token_check(f->st, key1, t, now, nonce, &device),
	    TOKEN_OK);
	assert_string_equal(device, "dDEV");
	free(device);
	assert_int_equal(token_check(f->st, key1, t, now + 60, nonce,
	    &device), TOKEN_EXPIRED);
	assert_null(device);
	assert_int_equal(token_check(f->st, key2, t, now, nonce, &device),
	    TOKEN_BAD);
	free(t);
}

static void
nonce_is_good_once(void **state)
{
	struct fixture	*f = *state;
	uint8_t		 nonce[TOKEN_NONCE_LEN];
	char		*t, *device;
	time_t		 now = 1700000000;

	t = issued(f, now + 600);
	assert_int_equal(store_nonce_add(f->st, nonce1, "dDEV", now + 600),
	    -1);			/* one record per nonce */
	assert_int_equal(store_nonce_use(f->st, nonce1), 1);
	assert_int_equal(store_nonce_use(f->st, nonce1), 0);
	assert_int_equal(token_check(f->st, key1, t, now, nonce, &device),
	    TOKEN_USED);
	assert_null(device);
	free(t);
}

static void
fifth_wrong_code_burns_the_link(void **state)
{
	struct fixture	*f = *state;
	uint8_t		 nonce[TOKEN_NONCE_LEN];
	char		*t, *device;
	time_t		 now = 1700000000;
	int		 i;

	t = issued(f, now + 600);
	for (i = 1; i < TOKEN_WRONG_MAX; i++) {
		assert_int_equal(store_nonce_wrong(f->st, nonce1), i);
		assert_int_equal(token_check(f->st, key1, t, now, nonce,
		    &device), TOKEN_OK);
		free(device);
	}
	assert_int_equal(store_nonce_wrong(f->st, nonce1), TOKEN_WRONG_MAX);
	assert_int_equal(token_check(f->st, key1, t, now, nonce, &device),
	    TOKEN_BURNED);
	assert_int_equal(store_nonce_use(f->st, nonce1), 0);
	free(t);
}

static void
device_burn_refuses_the_nonce(void **state)
{
	struct fixture	*f = *state;
	uint8_t		 nonce[TOKEN_NONCE_LEN];
	char		*t, *device;
	time_t		 now = 1700000000;

	t = issued(f, now + 600);
	assert_int_equal(store_nonce_burn(f->st, nonce1), 1);
	assert_int_equal(token_check(f->st, key1, t, now, nonce, &device),
	    TOKEN_BURNED);
	free(t);
}

static void
a_device_keeps_its_newest_unused_nonces_only(void **state)
{
	struct fixture	*f = *state;
	uint8_t		 n[20][TOKEN_NONCE_LEN], nonce[TOKEN_NONCE_LEN];
	char		*t, *device;
	time_t		 now = 1700000000;
	u_int		 i;

	memset(n, 0, sizeof n);
	for (i = 0; i < 20; i++) {
		n[i][0] = i + 1;
		assert_int_equal(store_nonce_add(f->st, n[i], "dDEV",
		    now + 600), 0);
	}
	/* Spent or expired ones and other devices' do not count. */
	assert_int_equal(store_nonce_use(f->st, n[19]), 1);
	assert_int_equal(store_nonce_burn(f->st, n[18]), 1);
	n[0][1] = 0xee;
	assert_int_equal(store_nonce_add(f->st, n[0], "dOTHER", now + 600),
	    0);
	n[0][1] = 0;
	assert_int_equal(store_nonce_add(f->st, nonce1, "dDEV", now - 1), 0);

	assert_int_equal(store_nonce_cap(f->st, "dDEV", now, 16), 2);
	assert_int_equal(store_nonce_cap(f->st, "dDEV", now, 16), 0);
	for (i = 0; i < 18; i++) {
		t = token_sign(key1, n[i], now + 600);
		assert_int_equal(token_check(f->st, key1, t, now, nonce,
		    &device), i < 2 ? TOKEN_DROPPED : TOKEN_OK);
		if (i < 2)
			assert_int_equal(store_nonce_use(f->st, n[i]), 0);
		free(device);
		free(t);
	}
	n[0][1] = 0xee;
	t = token_sign(key1, n[0], now + 600);
	assert_int_equal(token_check(f->st, key1, t, now, nonce, &device),
	    TOKEN_OK);
	assert_string_equal(device, "dOTHER");
	free(device);
	free(t);
}

static void
purge_forgets_only_expired_nonces(void **state)
{
	struct fixture	*f = *state;
	uint8_t		 old[TOKEN_NONCE_LEN] = { 1 }, live[TOKEN_NONCE_LEN] = {
			     2 };
	char		*device;
	time_t		 expires;
	u_int		 wrong;
	int		 used;

	assert_int_equal(store_nonce_add(f->st, old, "dA", 1000), 0);
	assert_int_equal(store_nonce_add(f->st, live, "dB", 3000), 0);
	assert_int_equal(store_purge(f->st, 2000), 1);
	assert_int_equal(store_nonce_get(f->st, old, &device, &expires,
	    &used, &wrong), 0);
	assert_int_equal(store_nonce_get(f->st, live, &device, &expires,
	    &used, &wrong), 1);
	assert_string_equal(device, "dB");
	assert_int_equal(expires, 3000);
	free(device);
	assert_int_equal(store_purge(f->st, 2000), 0);
}

static void
text_clean_keeps_printable_utf8_only(void **state __unused)
{
	static const struct {
		const char	*in;
		size_t		 max;
		const char	*out;
	} t[] = {
		{ "plain phone", 100, "plain phone" },
		{ "a\x1b[31mb\x07" "c\td\r\ne\x7f", 100, "a[31mbcde" },
		{ "C1 \xc2\x9b""2J \xc2\x85 end", 100, "C1 2J  end" },
		{ "raw \x9b\xff\xfe bytes", 100, "raw  bytes" },
		{ "overlong \xc0\xaf \xe0\x80\xaf", 100, "overlong  " },
		{ "surrogate \xed\xa0\x80!", 100, "surrogate !" },
		{ "past \xf4\x90\x80\x80 U+10FFFF", 100, "past  U+10FFFF" },
		{ "cut \xe2\x82", 100, "cut " },
		{ "bidi \xe2\x80\xae""evil\xe2\x81\xa6", 100, "bidi evil" },
		{ "caf\xc3\xa9 \xf0\x9f\x93\xb1", 100,
		    "caf\xc3\xa9 \xf0\x9f\x93\xb1" },
		{ "ab\xc3\xa9", 3, "ab" },
		{ "ab\xc3\xa9", 4, "ab\xc3\xa9" },
		{ "\x01\x02", 100, "" },
	};
	char	*s;
	u_int	 i;

	for (i = 0; i < nitems(t); i++) {
		s = text_clean(t[i].in, t[i].max);
		assert_string_equal(s, t[i].out);
		free(s);
	}
}

static void
credentials_parse_only_in_their_exact_form(void **state __unused)
{
	uint8_t	 hash[RELAY_HASH_LEN], want[RELAY_HASH_LEN];
	uint8_t	 raw[RELAY_SECRET_LEN];
	char	 id[RELAY_ID_LEN + 1], *did, *secret, *cred;
	size_t	 n;

	did = cred_new_id('d');
	assert_int_equal(strlen(did), RELAY_ID_LEN);
	secret = cred_new_secret(want);
	assert_int_equal(strlen(secret), 43);
	assert_int_equal(b64u_decode(secret, 43, raw, sizeof raw, &n), 0);
	crypto_sha256(raw, n, hash);
	assert_memory_equal(hash, want, sizeof hash);
	xasprintf(&cred, "%s.%s", did, secret);
	assert_int_equal(cred_parse(cred, strlen(cred), 'd', id, hash), 0);
	assert_string_equal(id, did);
	assert_memory_equal(hash, want, sizeof hash);
	assert_int_equal(cred_parse(cred, strlen(cred), 'p', id, hash), -1);
	assert_int_equal(cred_parse(cred, strlen(cred) - 1, 'd', id, hash),
	    -1);
	assert_int_equal(cred_parse(cred + 1, strlen(cred) - 1, 'd', id,
	    hash), -1);
	assert_int_equal(cred_parse(did, strlen(did), 'd', id, hash), -1);
	free(cred);
	free(secret);
	free(did);
}

/* Does any of the database's files hold these bytes? */
static int
db_holds(struct fixture *f, const void *what, size_t len)
{
	static const char	*suffix[] = { "", "-wal", "-shm" };
	char			*path, *data, *cause;
	size_t			 n;
	u_int			 i;
	int			 found = 0;

	for (i = 0; i < nitems(suffix); i++) {
		xasprintf(&path, "%s%s", f->db, suffix[i]);
		data = file_read(path, 64 << 20, &n, &cause);
		if (data != NULL && memmem(data, n, what, len) != NULL)
			found = 1;
		free(data);
		free(cause);
		free(path);
	}
	return (found);
}

static void
store_keeps_hashes_of_secrets_never_secrets(void **state)
{
	struct fixture	*f = *state;
	uint8_t		 dh[RELAY_HASH_LEN], ph[RELAY_HASH_LEN];
	uint8_t		 raw[RELAY_SECRET_LEN];
	char		*ds, *ps, *device;
	size_t		 n;

	ds = cred_new_secret(dh);
	ps = cred_new_secret(ph);
	assert_int_equal(store_device_add(f->st, "dDEV", dh, 1), 0);
	assert_int_equal(store_phone_add(f->st, "pPHONE", "dDEV", ph,
	    "a phone", 2), 0);
	assert_true(store_device_check(f->st, "dDEV", dh));
	assert_false(store_device_check(f->st, "dDEV", ph));
	assert_int_equal(store_phone_check(f->st, "pPHONE", ph, &device), 1);
	assert_string_equal(device, "dDEV");
	free(device);
	assert_int_equal(store_phone_check(f->st, "pPHONE", dh, &device), 0);
	assert_int_equal(store_phone_check(f->st, "pNONE", ph, &device), -1);

	assert_true(db_holds(f, dh, sizeof dh));
	assert_true(db_holds(f, ph, sizeof ph));
	assert_false(db_holds(f, ds, strlen(ds)));
	assert_false(db_holds(f, ps, strlen(ps)));
	assert_int_equal(b64u_decode(ds, strlen(ds), raw, sizeof raw, &n), 0);
	assert_false(db_holds(f, raw, n));
	assert_int_equal(b64u_decode(ps, strlen(ps), raw, sizeof raw, &n), 0);
	assert_false(db_holds(f, raw, n));

	/* Revoking deletes the row; the credentials stop working. */
	assert_int_equal(store_phone_delete(f->st, "dOTHER", "pPHONE"), 0);
	assert_int_equal(store_phone_delete(f->st, "dDEV", "pPHONE"), 1);
	assert_int_equal(store_phone_check(f->st, "pPHONE", ph, &device), -1);
	free(ds);
	free(ps);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(b64u_round_trips_every_length),
		cmocka_unit_test(
		    b64u_refuses_padding_other_alphabets_and_stray_bits),
		cmocka_unit_test(
		    token_signed_then_parsed_gives_its_nonce_and_expiry),
		cmocka_unit_test(
		    token_with_a_bad_mac_or_another_key_is_refused),
		cmocka_unit_test(token_truncated_or_garbage_is_refused),
		cmocka_unit_test_setup_teardown(
		    token_check_says_expired_unknown_and_good, setup, teardown),
		cmocka_unit_test_setup_teardown(nonce_is_good_once, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    fifth_wrong_code_burns_the_link, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    device_burn_refuses_the_nonce, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    a_device_keeps_its_newest_unused_nonces_only, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    purge_forgets_only_expired_nonces, setup, teardown),
		cmocka_unit_test(text_clean_keeps_printable_utf8_only),
		cmocka_unit_test(credentials_parse_only_in_their_exact_form),
		cmocka_unit_test_setup_teardown(
		    store_keeps_hashes_of_secrets_never_secrets, setup,
		    teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}

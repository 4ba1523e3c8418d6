/*
 * regress/test-crypto.c: common/crypto.c.  API keys are 64 hex digits and
 * differ each time; a generated certificate parses, is self-signed for
 * "loopsy on HOST" with the SANs peers connect by, matches its key, lasts
 * as long as asked; fingerprints are "sha256:" and 32 colon-separated bytes
 * and agree with OpenSSL's own digest of the DER.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "common/common.h"
#include "common/crypto.h"

#include <cmocka.h>

static void
api_key_is_64_lowercase_hex_digits(void **state __unused)
{
	char	*cause = NULL, *k = crypto_random_hex(CRYPTO_KEY_BYTES, &cause);
	size_t	 i;

	assert_non_null(k);
	assert_int_equal(strlen(k), 64);
	for (i = 0; i < 64; i++)
		assert_non_null(strchr("0123456789abcdef", k[i]));
	assert_true(crypto_key_valid(k));
	free(k);
}

static void
api_keys_differ_each_time(void **state __unused)
{
	char	*cause = NULL, *a, *b;

	a = crypto_random_hex(CRYPTO_KEY_BYTES, &cause);
	b = crypto_random_hex(CRYPTO_KEY_BYTES, &cause);
	assert_string_not_equal(a, b);
	free(a);
	free(b);
}

static void
key_valid_refuses_short_long_and_non_hex(void **state __unused)
{
	char	 k[66];

	memset(k, 'a', 64);
	k[64] = '\0';
	assert_true(crypto_key_valid(k));
	k[10] = 'g';
	assert_false(crypto_key_valid(k));
	k[10] = 'a';
	k[63] = '\0';
	assert_false(crypto_key_valid(k));
	k[63] = 'a';
	k[64] = 'a';
	k[65] = '\0';
	assert_false(crypto_key_valid(k));
	assert_false(crypto_key_valid(""));
	assert_false(crypto_key_valid(NULL));
}

static void
equal_compares_whole_buffers(void **state __unused)
{
	assert_true(crypto_equal("secret-1", "secret-1", 8));
	assert_false(crypto_equal("secret-1", "secret-2", 8));
	assert_false(crypto_equal("Xecret-1", "secret-1", 8));
}

static void
sha256_of_abc_is_the_standard_vector(void **state __unused)
{
	static const uint8_t want[CRYPTO_SHA256_LEN] = {
		0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41,
		0x40, 0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3,
		0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00,
		0x15, 0xad
	};
	uint8_t	 got[CRYPTO_SHA256_LEN];

	crypto_sha256("abc", 3, got);
	assert_memory_equal(got, want, sizeof want);
}

/* One certificate shared by the tests below. */
static int
t_generate(void **state)
{
	struct crypto_pem	*pem = calloc(1, sizeof *pem);
	char			*cause = NULL;

	if (pem == NULL || crypto_tls_generate("box-1.example", 3650, pem,
	    &cause) != 0) {
		fprintf(stderr, "# %s\n", cause != NULL ? cause : "calloc");
		return (-1);
	}
	*state = pem;
	return (0);
}

static int
t_free(void **state)
{
	crypto_pem_free(*state);
	free(*state);
	return (0);
}

static void
cert_is_pem_text_and_key_is_pkcs8(void **state)
{
	struct crypto_pem	*pem = *state;

	assert_non_null(strstr(pem->cert, "-----BEGIN CERTIFICATE-----"));
	assert_non_null(strstr(pem->key, "-----BEGIN PRIVATE KEY-----"));
	assert_int_equal(strlen(pem->cert), pem->cert_len);
	assert_int_equal(strlen(pem->key), pem->key_len);
}

static void
cert_names_the_host_and_has_its_sans(void **state)
{
	struct crypto_pem	*pem = *state;
	struct crypto_cert_info	 info;
	char			*cause = NULL;

	assert_int_equal(crypto_cert_info(pem->cert, pem->cert_len, &info,
	    &cause), 0);
	assert_string_equal(info.subject, "CN=loopsy on box-1.example");
	assert_int_equal(info.nsans, 3);
	assert_string_equal(info.sans[0], "DNS:box-1.example");
	assert_string_equal(info.sans[1], "DNS:localhost");
	assert_string_equal(info.sans[2], "IP:127.0.0.1");
	assert_false(info.expired);
	crypto_cert_info_free(&info);
}

static void
cert_lasts_about_ten_years(void **state)
{
	struct crypto_pem	*pem = *state;
	struct crypto_cert_info	 info;
	char			*cause = NULL;
	time_t			 want = time(NULL) + 3650L * 86400;

	assert_int_equal(crypto_cert_info(pem->cert, pem->cert_len, &info,
	    &cause), 0);
	assert_true(info.not_after > want - 120 && info.not_after < want + 120);
	crypto_cert_info_free(&info);
}

static void
cert_is_v3_self_signed_with_sha256(void **state)
{
	struct crypto_pem	*pem = *state;
	BIO			*b = BIO_new_mem_buf(pem->cert, pem->cert_len);
	X509			*x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	EVP_PKEY		*pub;

	assert_non_null(x);
	assert_int_equal(X509_get_version(x), 2);
	assert_int_equal(X509_get_signature_nid(x), NID_ecdsa_with_SHA256);
	assert_int_equal(X509_NAME_cmp(X509_get_subject_name(x),
	    X509_get_issuer_name(x)), 0);
	pub = X509_get0_pubkey(x);
	assert_int_equal(X509_verify(x, pub), 1);
	assert_true(EVP_PKEY_is_a(pub, "EC"));
	X509_free(x);
	BIO_free(b);
}

static void
key_matches_its_cert_and_not_another(void **state)
{
	struct crypto_pem	*pem = *state, other;
	char			*cause = NULL;

	assert_int_equal(crypto_key_matches_cert(pem->key, pem->key_len,
	    pem->cert, pem->cert_len, &cause), 0);
	assert_int_equal(crypto_tls_generate("other", 1, &other, &cause), 0);
	assert_int_equal(crypto_key_matches_cert(other.key, other.key_len,
	    pem->cert, pem->cert_len, &cause), -1);
	assert_non_null(strstr(cause, "does not match"));
	free(cause);
	crypto_pem_free(&other);
}

static void
fingerprint_is_sha256_of_the_der_in_colon_hex(void **state)
{
	struct crypto_pem	*pem = *state;
	BIO			*b = BIO_new_mem_buf(pem->cert, pem->cert_len);
	X509			*x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	u_char			 md[EVP_MAX_MD_SIZE];
	u_int			 n, i;
	char			*cause = NULL, *fp, want[8 + 32 * 3];
	char			*p = want;

	fp = crypto_cert_fingerprint(pem->cert, pem->cert_len, &cause);
	assert_non_null(fp);
	assert_int_equal(strlen(fp), 7 + 32 * 3 - 1);
	X509_digest(x, EVP_sha256(), md, &n);
	p += sprintf(p, "sha256:");
	for (i = 0; i < n; i++)
		p += sprintf(p, "%s%02X", i ? ":" : "", md[i]);
	assert_string_equal(fp, want);
	free(fp);
	X509_free(x);
	BIO_free(b);
}

static void
two_certs_have_different_serials_and_fingerprints(void **state)
{
	struct crypto_pem	*pem = *state, other;
	char			*cause = NULL, *a, *b;

	assert_int_equal(crypto_tls_generate("box-1.example", 3650, &other,
	    &cause), 0);
	a = crypto_cert_fingerprint(pem->cert, pem->cert_len, &cause);
	b = crypto_cert_fingerprint(other.cert, other.cert_len, &cause);
	assert_string_not_equal(a, b);
	free(a);
	free(b);
	crypto_pem_free(&other);
}

static void
odd_host_names_stay_out_of_the_san(void **state __unused)
{
	struct crypto_pem	 pem;
	struct crypto_cert_info	 info;
	char			*cause = NULL;

	assert_int_equal(crypto_tls_generate("bad,name", 1, &pem, &cause), 0);
	assert_int_equal(crypto_cert_info(pem.cert, pem.cert_len, &info,
	    &cause), 0);
	assert_int_equal(info.nsans, 2);
	assert_string_equal(info.sans[0], "DNS:localhost");
	crypto_cert_info_free(&info);
	crypto_pem_free(&pem);
}

static void
garbage_is_not_a_certificate(void **state __unused)
{
	char	*cause = NULL;

	assert_null(crypto_cert_fingerprint("hello", 5, &cause));
	assert_non_null(strstr(cause, "not a PEM certificate"));
	free(cause);
}

#define T_CERT(test) cmocka_unit_test_setup_teardown(test, t_generate, t_free)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(api_key_is_64_lowercase_hex_digits),
		cmocka_unit_test(api_keys_differ_each_time),
		cmocka_unit_test(key_valid_refuses_short_long_and_non_hex),
		cmocka_unit_test(equal_compares_whole_buffers),
		cmocka_unit_test(sha256_of_abc_is_the_standard_vector),
		T_CERT(cert_is_pem_text_and_key_is_pkcs8),
		T_CERT(cert_names_the_host_and_has_its_sans),
		T_CERT(cert_lasts_about_ten_years),
		T_CERT(cert_is_v3_self_signed_with_sha256),
		T_CERT(key_matches_its_cert_and_not_another),
		T_CERT(fingerprint_is_sha256_of_the_der_in_colon_hex),
		T_CERT(two_certs_have_different_serials_and_fingerprints),
		cmocka_unit_test(odd_host_names_stay_out_of_the_san),
		cmocka_unit_test(garbage_is_not_a_certificate),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}

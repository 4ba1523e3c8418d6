/*
 * common/crypto.c: secrets and the TLS identity on libcrypto (OpenSSL 3):
 * API keys from RAND_bytes, an EC P-256 key pair with a self-signed X.509 v3
 * certificate (SANs for the host name, localhost and 127.0.0.1), and its
 * SHA-256 fingerprint.  Reading and writing the files is the caller's job.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common.h"
#include "crypto.h"

/* The last OpenSSL error as text, for a cause. */
static void
crypto_error(char **cause, const char *what)
{
	unsigned long	 e = ERR_get_error();
	char		 buf[256];

	if (e != 0)
		ERR_error_string_n(e, buf, sizeof buf);
	else
		strlcpy(buf, "unknown error", sizeof buf);
	ERR_clear_error();
	xasprintf(cause, "%s: %s", what, buf);
}

char *
crypto_random_hex(size_t nbytes, char **cause)
{
	static const char	 hex[] = "0123456789abcdef";
	uint8_t			*raw = xmalloc(nbytes);
	char			*out = NULL;
	size_t			 i;

	if (RAND_bytes(raw, nbytes) != 1) {
		crypto_error(cause, "RAND_bytes");
		goto out;
	}
	out = xmalloc(nbytes * 2 + 1);
	for (i = 0; i < nbytes; i++) {
		out[i * 2] = hex[raw[i] >> 4];
		out[i * 2 + 1] = hex[raw[i] & 0xf];
	}
	out[nbytes * 2] = '\0';
out:
	OPENSSL_cleanse(raw, nbytes);
	free(raw);
	return (out);
}

int
crypto_key_valid(const char *s)
{
	size_t	 i;

	if (s == NULL || strlen(s) != CRYPTO_KEY_BYTES * 2)
		return (0);
	for (i = 0; s[i] != '\0'; i++) {
		if (!isxdigit((u_char)s[i]))
			return (0);
	}
	return (1);
}

/* Compare secrets in time that does not depend on where they differ. */
int
crypto_equal(const void *a, const void *b, size_t len)
{
	return (CRYPTO_memcmp(a, b, len) == 0);
}

/* Wipe a secret in a way the compiler does not optimise away. */
void
crypto_cleanse(void *p, size_t len)
{
	OPENSSL_cleanse(p, len);
}

void
crypto_sha256(const void *data, size_t len, uint8_t out[CRYPTO_SHA256_LEN])
{
	u_int	 n = CRYPTO_SHA256_LEN;

	EVP_Digest(data, len, out, &n, EVP_sha256(), NULL);
}

static char *
crypto_bio_text(BIO *bio, size_t *lenp)
{
	char	*p, *s;
	long	 n = BIO_get_mem_data(bio, &p);

	s = xmalloc(n + 1);
	memcpy(s, p, n);
	s[n] = '\0';
	*lenp = n;
	return (s);
}

/* A host name is used in the SAN only if it is a plain DNS name. */
static int
crypto_dns_name(const char *s)
{
	if (*s == '\0' || strlen(s) > 253)
		return (0);
	for (; *s != '\0'; s++) {
		if (!isalnum((u_char)*s) && *s != '-' && *s != '.')
			return (0);
	}
	return (1);
}

static int
crypto_add_ext(X509 *x, int nid, const char *value, char **cause)
{
	X509V3_CTX	 ctx;
	X509_EXTENSION	*ext;
	int		 rc;

	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL) {
		crypto_error(cause, OBJ_nid2sn(nid));
		return (-1);
	}
	rc = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	if (rc != 1) {
		crypto_error(cause, OBJ_nid2sn(nid));
		return (-1);
	}
	return (0);
}

static int
crypto_cert_fill(X509 *x, EVP_PKEY *pkey, const char *host, u_int days,
    char **cause)
{
	X509_NAME	*name;
	BIGNUM		*bn = BN_new();
	char		*cn, *san;
	int		 rc = -1;

	/* A random positive 127-bit serial, as RFC 5280 allows 20 octets. */
	if (bn == NULL || !BN_rand(bn, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL) {
		crypto_error(cause, "serial number");
		BN_free(bn);
		return (-1);
	}
	BN_free(bn);
	X509_set_version(x, 2);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_time_adj_ex(X509_getm_notAfter(x), days, 0, NULL);
	X509_set_pubkey(x, pkey);

	xasprintf(&cn, "loopsy on %s", host);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const u_char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, name);
	free(cn);

	if (crypto_dns_name(host) && strcmp(host, "localhost") != 0)
		xasprintf(&san, "DNS:%s,DNS:localhost,IP:127.0.0.1", host);
	else
		san = xstrdup("DNS:localhost,IP:127.0.0.1");
	if (crypto_add_ext(x, NID_basic_constraints, "critical,CA:FALSE",
	    cause) != 0 ||
	    crypto_add_ext(x, NID_key_usage, "critical,digitalSignature",
	    cause) != 0 ||
	    crypto_add_ext(x, NID_ext_key_usage, "serverAuth,clientAuth",
	    cause) != 0 ||
	    crypto_add_ext(x, NID_subject_key_identifier, "hash", cause) != 0 ||
	    crypto_add_ext(x, NID_subject_alt_name, san, cause) != 0)
		goto out;
	if (X509_sign(x, pkey, EVP_sha256()) == 0) {
		crypto_error(cause, "X509_sign");
		goto out;
	}
	rc = 0;
out:
	free(san);
	return (rc);
}

/*
 * A new EC P-256 key pair and a certificate for it, signed by itself, valid
 * for days from now.  The subject is "CN=loopsy on HOST".
 */
int
crypto_tls_generate(const char *host, u_int days, struct crypto_pem *pem,
    char **cause)
{
	EVP_PKEY	*pkey;
	X509		*x = NULL;
	BIO		*kb = NULL, *cb = NULL;
	int		 rc = -1;

	memset(pem, 0, sizeof *pem);
	if ((pkey = EVP_EC_gen("P-256")) == NULL) {
		crypto_error(cause, "EC P-256 key generation");
		return (-1);
	}
	if ((x = X509_new()) == NULL) {
		crypto_error(cause, "X509_new");
		goto out;
	}
	if (crypto_cert_fill(x, pkey, host, days, cause) != 0)
		goto out;
	kb = BIO_new(BIO_s_mem());
	cb = BIO_new(BIO_s_mem());
	if (kb == NULL || cb == NULL ||
	    !PEM_write_bio_PrivateKey(kb, pkey, NULL, NULL, 0, NULL, NULL) ||
	    !PEM_write_bio_X509(cb, x)) {
		crypto_error(cause, "PEM encoding");
		goto out;
	}
	pem->key = crypto_bio_text(kb, &pem->key_len);
	pem->cert = crypto_bio_text(cb, &pem->cert_len);
	rc = 0;
out:
	BIO_free(kb);
	BIO_free(cb);
	X509_free(x);
	EVP_PKEY_free(pkey);
	return (rc);
}

void
crypto_pem_free(struct crypto_pem *pem)
{
	if (pem->key != NULL) {
		OPENSSL_cleanse(pem->key, pem->key_len);
		free(pem->key);
	}
	free(pem->cert);
	memset(pem, 0, sizeof *pem);
}

static X509 *
crypto_read_cert(const char *pem, size_t len, char **cause)
{
	BIO	*b = BIO_new_mem_buf(pem, len);
	X509	*x = NULL;

	if (b != NULL)
		x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	if (x == NULL)
		crypto_error(cause, "not a PEM certificate");
	return (x);
}

char *
crypto_x509_fingerprint(struct x509_st *x)
{
	u_char	 md[EVP_MAX_MD_SIZE];
	u_int	 n, i;
	char	*s, *p;

	X509_digest(x, EVP_sha256(), md, &n);
	s = p = xmalloc(7 + n * 3 + 1);
	p += sprintf(p, "sha256:");
	for (i = 0; i < n; i++)
		p += sprintf(p, "%s%02X", i == 0 ? "" : ":", md[i]);
	return (s);
}

/* "sha256:AB:CD:..." over the certificate's DER, as peers pin it. */
char *
crypto_cert_fingerprint(const char *pem, size_t len, char **cause)
{
	X509	*x;
	char	*fp;

	if ((x = crypto_read_cert(pem, len, cause)) == NULL)
		return (NULL);
	fp = crypto_x509_fingerprint(x);
	X509_free(x);
	return (fp);
}

static void
crypto_cert_sans(X509 *x, struct crypto_cert_info *info)
{
	GENERAL_NAMES	*names;
	GENERAL_NAME	*g;
	const u_char	*ip;
	char		*s;
	int		 i;

	names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	for (i = 0; i < sk_GENERAL_NAME_num(names); i++) {
		g = sk_GENERAL_NAME_value(names, i);
		if (g->type == GEN_DNS)
			xasprintf(&s, "DNS:%s",
			    (const char *)ASN1_STRING_get0_data(g->d.dNSName));
		else if (g->type == GEN_IPADD &&
		    ASN1_STRING_length(g->d.iPAddress) == 4) {
			ip = ASN1_STRING_get0_data(g->d.iPAddress);
			xasprintf(&s, "IP:%u.%u.%u.%u", ip[0], ip[1], ip[2],
			    ip[3]);
		} else
			continue;
		info->sans = xreallocarray(info->sans, info->nsans + 1,
		    sizeof *info->sans);
		info->sans[info->nsans++] = s;
	}
	GENERAL_NAMES_free(names);
}

int
crypto_cert_info(const char *pem, size_t len, struct crypto_cert_info *info,
    char **cause)
{
	X509		*x;
	struct tm	 tm;
	char		 buf[256];

	memset(info, 0, sizeof *info);
	if ((x = crypto_read_cert(pem, len, cause)) == NULL)
		return (-1);
	X509_NAME_oneline(X509_get_subject_name(x), buf, sizeof buf);
	info->subject = xstrdup(*buf == '/' ? buf + 1 : buf);
	info->fingerprint = crypto_x509_fingerprint(x);
	if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1)
		info->not_after = timegm(&tm);
	info->expired = X509_cmp_current_time(X509_get0_notAfter(x)) < 0;
	crypto_cert_sans(x, info);
	X509_free(x);
	return (0);
}

void
crypto_cert_info_free(struct crypto_cert_info *info)
{
	u_int	 i;

	free(info->subject);
	free(info->fingerprint);
	for (i = 0; i < info->nsans; i++)
		free(info->sans[i]);
	free(info->sans);
	memset(info, 0, sizeof *info);
}

/* Is key_pem the private key of the certificate in cert_pem? */
int
crypto_key_matches_cert(const char *key_pem, size_t key_len,
    const char *cert_pem, size_t cert_len, char **cause)
{
	BIO		*b;
	EVP_PKEY	*pkey = NULL;
	X509		*x;
	int		 rc = -1;

	if ((x = crypto_read_cert(cert_pem, cert_len, cause)) == NULL)
		return (-1);
	if ((b = BIO_new_mem_buf(key_pem, key_len)) != NULL)
		pkey = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	if (pkey == NULL)
		crypto_error(cause, "not a PEM private key");
	else if (X509_check_private_key(x, pkey) != 1) {
		ERR_clear_error();
		xasprintf(cause, "the private key does not match the "
		    "certificate");
	} else
		rc = 0;
	EVP_PKEY_free(pkey);
	X509_free(x);
	return (rc);
}

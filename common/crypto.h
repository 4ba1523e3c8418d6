/*
 * common/crypto.h: this machine's secrets and its TLS identity, on OpenSSL's
 * libcrypto: random API keys, constant-time comparison, SHA-256, and the
 * self-signed certificate peers pin by fingerprint.  No files here: callers
 * write the PEM text where it belongs (file_write_atomic).
 */
#ifndef CRYPTO_H
#define CRYPTO_H

#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define CRYPTO_KEY_BYTES	32	/* an API key: 256 random bits */
#define CRYPTO_SHA256_LEN	32

/* A new key pair and certificate, as PEM text (NUL-terminated). */
struct crypto_pem {
	char		*key;		/* PKCS#8 private key, unencrypted */
	size_t		 key_len;
	char		*cert;		/* X.509 v3, self-signed */
	size_t		 cert_len;
};

/* What doctor and the tests want to know of a certificate. */
struct crypto_cert_info {
	char		*subject;	/* "CN=loopsy on host" */
	char		*fingerprint;	/* "sha256:AB:CD:..." of the DER */
	time_t		 not_after;
	int		 expired;
	char		**sans;		/* "DNS:host", "IP:127.0.0.1" */
	u_int		 nsans;
};

char	*crypto_random_hex(size_t nbytes, char **cause);
int	 crypto_key_valid(const char *);	/* 64 hex digits */
int	 crypto_equal(const void *, const void *, size_t);
void	 crypto_cleanse(void *, size_t);	/* wipe a secret from memory */
void	 crypto_sha256(const void *, size_t, uint8_t [CRYPTO_SHA256_LEN]);
int	 crypto_tls_generate(const char *hostname, u_int days,
	     struct crypto_pem *, char **cause);
void	 crypto_pem_free(struct crypto_pem *);
char	*crypto_cert_fingerprint(const char *pem, size_t, char **cause);
struct x509_st;
char	*crypto_x509_fingerprint(struct x509_st *);
int	 crypto_cert_info(const char *pem, size_t, struct crypto_cert_info *,
	     char **cause);
void	 crypto_cert_info_free(struct crypto_cert_info *);
int	 crypto_key_matches_cert(const char *key_pem, size_t,
	     const char *cert_pem, size_t, char **cause);

#endif

/*
 * common/noise-missing.c: a stand-in for common/noise.c while that file is
 * on its own branch: every handshake fails with a cause that says so, so a
 * phone is refused (close 4005) rather than served in the clear.  configure
 * builds the real common/noise.c instead as soon as it is in the tree;
 * remove this file (and its Makefile.am lines) when it is merged.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "common.h"
#include "noise.h"

#define NOISE_MISSING	"this loopsy was built without common/noise.c"

struct noise {
	int	 unused;
};

static int
noise_missing(char **cause)
{
	*cause = xstrdup(NOISE_MISSING);
	return (-1);
}

/* The key pair is real (phone.key must not change when noise.c comes). */
int
noise_keypair_from_private(struct noise_keypair *kp,
    const uint8_t priv[NOISE_KEY_LEN])
{
	EVP_PKEY	*k;
	size_t		 len = NOISE_KEY_LEN;
	int		 rv = -1;

	memcpy(kp->priv, priv, NOISE_KEY_LEN);
	k = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv,
	    NOISE_KEY_LEN);
	if (k != NULL && EVP_PKEY_get_raw_public_key(k, kp->pub, &len) == 1)
		rv = 0;
	EVP_PKEY_free(k);
	return (rv);
}

int
noise_keypair_generate(struct noise_keypair *kp)
{
	uint8_t	 priv[NOISE_KEY_LEN];

	if (RAND_bytes(priv, sizeof priv) != 1)
		return (-1);
	return (noise_keypair_from_private(kp, priv));
}

struct noise *
noise_new_kk(int initiator __unused, const struct noise_keypair *s __unused,
    const uint8_t rs[NOISE_KEY_LEN] __unused, const void *p __unused,
    size_t len __unused)
{
	return (xcalloc(1, sizeof (struct noise)));
}

void
noise_set_ephemeral(struct noise *n __unused,
    const struct noise_keypair *e __unused)
{
}

void
noise_set_rekey_every(struct noise *n __unused, uint64_t v __unused)
{
}

int
noise_write_handshake(struct noise *n __unused, const uint8_t *p __unused,
    size_t len __unused, uint8_t *out __unused, size_t *outlen __unused,
    char **cause)
{
	return (noise_missing(cause));
}

int
noise_read_handshake(struct noise *n __unused, const uint8_t *m __unused,
    size_t len __unused, uint8_t *out __unused, size_t *outlen __unused,
    char **cause)
{
	return (noise_missing(cause));
}

int
noise_ready(const struct noise *n __unused)
{
	return (0);
}

void
noise_handshake_hash(const struct noise *n __unused, uint8_t h[32])
{
	memset(h, 0, 32);
}

int
noise_encrypt(struct noise *n __unused, const uint8_t *p __unused,
    size_t len __unused, uint8_t *out __unused, char **cause)
{
	return (noise_missing(cause));
}

int
noise_decrypt(struct noise *n __unused, const uint8_t *m __unused,
    size_t len __unused, uint8_t *out __unused, char **cause)
{
	return (noise_missing(cause));
}

void
noise_free(struct noise *n)
{
	free(n);
}

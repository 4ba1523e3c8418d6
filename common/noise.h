/*
 * common/noise.h: Noise_KK_25519_ChaChaPoly_SHA256 (the Noise Protocol
 * Framework, revision 34) on OpenSSL, for the phone's end-to-end channel
 * through the relay (relay/PROTOCOL.md).  Both sides know each other's
 * static key; each connection adds fresh ephemeral keys.
 *
 *   -> s
 *   <- s
 *   ...
 *   -> e, es, ss
 *   <- e, ee, se
 *
 * After the two handshake messages both sides split into a sending and a
 * receiving cipher; each rekeys (Noise Rekey()) after every
 * NOISE_REKEY_EVERY (noise_set_rekey_every) messages it has sent or
 * received on that cipher; the nonce counts on through a rekey.
 * Transport nonces are implicit counters, so a replayed, dropped, reordered
 * or altered message fails to decrypt; after any failure (a bad message, a
 * call out of turn, a message too long) the state is dead and every later
 * call fails with "noise: channel is dead after an earlier failure".
 */
#ifndef NOISE_H
#define NOISE_H

#include <stddef.h>
#include <stdint.h>

#define NOISE_KEY_LEN		32
#define NOISE_TAG_LEN		16
#define NOISE_MAX_MSG		65535
#define NOISE_MAX_PLAIN		(NOISE_MAX_MSG - NOISE_TAG_LEN)
#define NOISE_REKEY_EVERY	4096
#define NOISE_PROLOGUE		"loopsy-phone-1"

struct noise_keypair {
	uint8_t	priv[NOISE_KEY_LEN];
	uint8_t	pub[NOISE_KEY_LEN];
};

/* A fresh X25519 key pair, or the pair of a given private key. */
int	 noise_keypair_generate(struct noise_keypair *);
int	 noise_keypair_from_private(struct noise_keypair *,
	     const uint8_t [NOISE_KEY_LEN]);

struct noise;

/* A KK handshake: initiator or responder, our static pair, their static
 * public key, the prologue. */
struct noise	*noise_new_kk(int initiator, const struct noise_keypair *,
		     const uint8_t [NOISE_KEY_LEN], const void *, size_t);
/* Tests only: use this ephemeral pair instead of a fresh one. */
void		 noise_set_ephemeral(struct noise *,
		     const struct noise_keypair *);
/* 0 never rekeys (the published vectors); the default is
 * NOISE_REKEY_EVERY. */
void		 noise_set_rekey_every(struct noise *, uint64_t);
/* Tests only: skip the handshake and go straight to transport with these
 * sending and receiving keys, both nonces starting at n, so Rekey() and
 * the nonce limit can be checked against a computation by hand. */
void		 noise_set_transport(struct noise *,
		     const uint8_t [NOISE_KEY_LEN],
		     const uint8_t [NOISE_KEY_LEN], uint64_t);

/*
 * The next handshake message, with a payload (may be empty).  out must hold
 * len + 96 bytes; *outlen is set.  Returns 0, or -1 with *cause set.
 */
int	 noise_write_handshake(struct noise *, const uint8_t *, size_t,
	     uint8_t *, size_t *, char **);
/* Read a handshake message; its payload goes to out (msglen bytes are
 * enough) and *outlen.  A wrong key fails here with a clear cause. */
int	 noise_read_handshake(struct noise *, const uint8_t *, size_t,
	     uint8_t *, size_t *, char **);
/* Both handshake messages done: transport from now on. */
int	 noise_ready(const struct noise *);
/* The handshake hash (32 bytes), valid once ready. */
void	 noise_handshake_hash(const struct noise *, uint8_t [32]);

/* Transport: plaintext of at most NOISE_MAX_PLAIN bytes in, len + 16 out;
 * and the reverse.  Return 0, or -1 with *cause set. */
int	 noise_encrypt(struct noise *, const uint8_t *, size_t, uint8_t *,
	     char **);
int	 noise_decrypt(struct noise *, const uint8_t *, size_t, uint8_t *,
	     char **);

/* Wipe the keys and free. */
void	 noise_free(struct noise *);

#endif

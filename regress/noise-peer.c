/*
 * regress/noise-peer.c: one end of a Noise KK channel (common/noise.c) on
 * stdin and stdout, for tests that check another implementation (the
 * phone's JavaScript) or this one through a relay.  Each message is framed
 * as a 2-byte big-endian length and its bytes.  After the handshake it
 * answers every transport message with the encryption of "echo:" and the
 * plaintext.  A failure goes to stderr and exits 1; end of input exits 0.
 *
 * usage: noise-peer initiator|responder PRIV_HEX REMOTE_PUB_HEX [REKEY_EVERY]
 *
 * The private key is on the command line because this is a test tool with
 * test keys; loopsy itself never puts a secret in argv.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "common/noise.h"

#define PEER_ECHO	"echo:"

static __dead void
peer_exit(const char *fmt, ...)
{
	va_list	 ap;

	fprintf(stderr, "noise-peer: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(1);
}

static __dead void
peer_usage(void)
{
	fprintf(stderr, "usage: noise-peer initiator|responder PRIV_HEX "
	    "REMOTE_PUB_HEX [REKEY_EVERY]\n");
	exit(1);
}

static int
peer_hexdigit(char c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

/* A key as 64 hex digits. */
static void
peer_key(const char *what, const char *s, uint8_t out[NOISE_KEY_LEN])
{
	int	 hi, lo;
	size_t	 i;

	if (strlen(s) != NOISE_KEY_LEN * 2)
		peer_exit("%s must be 64 hex digits", what);
	for (i = 0; i < NOISE_KEY_LEN; i++) {
		hi = peer_hexdigit(s[2 * i]);
		lo = peer_hexdigit(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			peer_exit("%s must be 64 hex digits", what);
		out[i] = (hi << 4) | lo;
	}
}

/* Read exactly len bytes: 1 if read, 0 at end of input before any. */
static int
peer_read_full(uint8_t *buf, size_t len)
{
	size_t	 done = 0;
	ssize_t	 n;

	while (done < len) {
		n = read(STDIN_FILENO, buf + done, len - done);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			peer_exit("read: %s", strerror(errno));
		if (n == 0) {
			if (done == 0)
				return (0);
			peer_exit("input ends inside a message");
		}
		done += n;
	}
	return (1);
}

/* The next framed message: its length, or -1 at end of input. */
static ssize_t
peer_read(uint8_t *buf)
{
	uint8_t	 hdr[2];
	size_t	 len;

	if (!peer_read_full(hdr, sizeof hdr))
		return (-1);
	len = ((size_t)hdr[0] << 8) | hdr[1];
	if (len != 0 && !peer_read_full(buf, len))
		peer_exit("input ends inside a message");
	return (len);
}

static void
peer_write(const uint8_t *buf, size_t len)
{
	uint8_t	 frame[2 + NOISE_MAX_MSG];
	size_t	 done = 0;
	ssize_t	 n;

	frame[0] = len >> 8;
	frame[1] = len & 0xff;
	memcpy(frame + 2, buf, len);
	len += 2;
	while (done < len) {
		n = write(STDOUT_FILENO, frame + done, len - done);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			peer_exit("write: %s", strerror(errno));
		done += n;
	}
}

/* Message 1 from the initiator, message 2 from the responder, both empty. */
static void
peer_handshake(struct noise *n, int initiator)
{
	uint8_t	 msg[NOISE_MAX_MSG], payload[NOISE_MAX_MSG];
	size_t	 len, plen;
	ssize_t	 got;
	char	*cause = NULL;

	if (initiator) {
		if (noise_write_handshake(n, NULL, 0, msg, &len, &cause) != 0)
			peer_exit("%s", cause);
		peer_write(msg, len);
	}
	if ((got = peer_read(msg)) == -1) {
		peer_exit("input ends before handshake message %d",
		    initiator ? 2 : 1);
	}
	if (noise_read_handshake(n, msg, got, payload, &plen, &cause) != 0)
		peer_exit("%s", cause);
	if (!initiator) {
		if (noise_write_handshake(n, NULL, 0, msg, &len, &cause) != 0)
			peer_exit("%s", cause);
		peer_write(msg, len);
	}
}

static void
peer_echo(struct noise *n)
{
	static uint8_t	 msg[NOISE_MAX_MSG];
	static uint8_t	 plain[sizeof PEER_ECHO - 1 + NOISE_MAX_MSG];
	size_t		 prefix = sizeof PEER_ECHO - 1;
	ssize_t		 len;
	char		*cause = NULL;

	memcpy(plain, PEER_ECHO, prefix);
	while ((len = peer_read(msg)) != -1) {
		if (noise_decrypt(n, msg, len, plain + prefix, &cause) != 0)
			peer_exit("%s", cause);
		len = prefix + len - NOISE_TAG_LEN;
		if (noise_encrypt(n, plain, len, msg, &cause) != 0)
			peer_exit("%s", cause);
		peer_write(msg, len + NOISE_TAG_LEN);
	}
}

int
main(int argc, char **argv)
{
	struct noise_keypair	 s;
	struct noise		*n;
	uint8_t			 priv[NOISE_KEY_LEN], rs[NOISE_KEY_LEN];
	unsigned long long	 every = NOISE_REKEY_EVERY;
	char			*end;
	int			 initiator;

	if (argc != 4 && argc != 5)
		peer_usage();
	if (strcmp(argv[1], "initiator") == 0)
		initiator = 1;
	else if (strcmp(argv[1], "responder") == 0)
		initiator = 0;
	else
		peer_usage();
	peer_key("PRIV_HEX", argv[2], priv);
	peer_key("REMOTE_PUB_HEX", argv[3], rs);
	if (argc == 5) {
		errno = 0;
		every = strtoull(argv[4], &end, 10);
		if (argv[4][0] == '\0' || argv[4][0] == '-' || *end != '\0' ||
		    errno != 0)
			peer_exit("REKEY_EVERY must be a number: %s", argv[4]);
	}
	if (noise_keypair_from_private(&s, priv) != 0)
		peer_exit("PRIV_HEX is not an X25519 private key");
	signal(SIGPIPE, SIG_IGN);

	n = noise_new_kk(initiator, &s, rs, NOISE_PROLOGUE,
	    strlen(NOISE_PROLOGUE));
	noise_set_rekey_every(n, every);
	peer_handshake(n, initiator);
	peer_echo(n);
	noise_free(n);
	return (0);
}

/*
 * common/ws.h: the network side of the one protocol (DESIGN.md decision 3).
 * A peer link is TLS (OpenSSL through libevent's bufferevent_openssl), an
 * HTTP/1.1 upgrade (http-parser) and a WebSocket (wslay) in which each
 * message is one frame: the type byte and the payload, without the 4-byte
 * length the Unix socket's byte stream needs.  ws_bridge() joins such a
 * WebSocket to a stream socket carrying ordinary frames, so both ends run
 * the code a local connection runs.
 */
#ifndef WS_H
#define WS_H

#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>

struct bufferevent;
struct event_base;
struct ssl_ctx_st;
struct ssl_st;
struct ws;

/* The subprotocol a loopsy WebSocket speaks, and the key's prefix beside it
 * in Sec-WebSocket-Protocol (keys never go in a URL). */
#define WS_PROTOCOL		"loopsy.1"
#define WS_KEY_PREFIX		"key."
#define WS_PATH			"/ws"

/* Stop reading the other side while this much waits to be sent (answers
 * are made from what is read); read again below half of it.  Owners use it
 * for their own backpressure too. */
#define WS_HIGH_WATER		(1024 * 1024)

struct ws_cb {
	/* A whole message (binary or text). */
	void	(*msg)(struct ws *, int binary, const uint8_t *, size_t,
		    void *);
	/* Output went below WS_HIGH_WATER. */
	void	(*drained)(struct ws *, void *);
	/* The connection is over (why: a reason for the log or the user);
	 * the ws is freed after this returns. */
	void	(*closed)(struct ws *, const char *why, void *);
};

/* Take over a connected bufferevent after the HTTP upgrade.  Bytes already
 * in its input are the first WebSocket bytes. */
struct ws	*ws_new(struct bufferevent *, int server, u_int max_msg,
		    const struct ws_cb *, void *);
int		 ws_send(struct ws *, int binary, const void *, size_t);
size_t		 ws_queued(struct ws *);
/* Stop or resume reading; apart from the throttle above, so a paused ws
 * stays paused until resumed and a resumed one may still be throttled. */
void		 ws_pause(struct ws *, int);
/* Ping every ping_s seconds and end after dead_s seconds of silence
 * (15 and 45 unless set). */
void		 ws_keepalive(struct ws *, u_int, u_int);
/* Close after what is queued has gone (wslay sends control frames first). */
void		 ws_close(struct ws *, uint16_t code, const char *reason);
void		 ws_free(struct ws *);
struct bufferevent *ws_bufferevent(struct ws *);

/* Join a WebSocket to a stream socket of frames; both are freed (and fd
 * closed) when either side ends, then done(arg, why) is called. */
void		 ws_bridge(struct ws *, int fd,
		    void (*done)(void *, const char *), void *);

/* base64(SHA-1(key + GUID)) for Sec-WebSocket-Accept. */
char		*ws_accept_key(const char *);
/* A fresh Sec-WebSocket-Key. */
char		*ws_new_key(void);

/* TLS: a server context from PEM files, a client context that verifies
 * nothing by itself (the caller pins the fingerprint once connected). */
struct ssl_ctx_st *tls_server_ctx(const char *cert, const char *key,
		    char **cause);
struct ssl_ctx_st *tls_client_ctx(char **cause);
/* Blocking connect + handshake with a deadline (client side). */
extern int	 tls_timeout_ms;
int		 tls_dial(const char *, u_int, struct ssl_ctx_st **,
		    struct ssl_st **, int *, char **);
int		 tls_wait(struct ssl_st *, int, int);
int		 tcp_dial(const char *, u_int, char **);	/* no TLS */
void		 tls_cause_ssl(char **, const char *, const char *);
/* "sha256:AB:..." of the peer's certificate, or NULL. */
char		*tls_peer_fingerprint(struct ssl_st *);
/* The last OpenSSL error of a bufferevent, as text. */
const char	*tls_error(struct bufferevent *);

#endif

/*
 * relay/relay.h: loopsy-relay, the rendezvous and splice between loopsy
 * servers (devices) and paired phones (relay/PROTOCOL.md).  What each file
 * offers the others: options and main (relay.c), per-address limits
 * (addr.c), the HTTP connection layer (conn.c), routes (api.c), pairing
 * (pair.c), pair tokens and credentials (token.c), the SQLite store
 * (store.c), the WebSocket splice (splice.c) and the static /app (web.c).
 */
#ifndef RELAY_H
#define RELAY_H

#include <sys/types.h>
#include <sys/queue.h>
#include <stdint.h>
#include <time.h>

#include <http_parser.h>

#include "common/common.h"
#include "common/http.h"

struct bufferevent;
struct cJSON;
struct event_base;
struct event;
struct evbuffer;
struct sockaddr;
struct ssl_ctx_st;
struct store;

#define RELAY_SUBPROTOCOL	"loopsy-relay.1"
#define RELAY_BEARER_PREFIX	"bearer."
#define RELAY_KEY_LEN		32
#define RELAY_SECRET_LEN	32	/* device and phone secrets */
#define RELAY_ID_LEN		23	/* 'd' or 'p' and 22 b64u */
#define RELAY_HASH_LEN		32	/* SHA-256 */

/* relay.c: options, the event base, the relay key. */
struct relay_opts {
	char		*listen;		/* host:port */
	char		*tls_cert;
	char		*tls_key;
	int		 tls;			/* -1: by address */
	char		*data;
	int		 has_reg_secret;
	uint8_t		 reg_secret[RELAY_HASH_LEN];	/* its SHA-256 */
	char		**origins;		/* --allow-origin */
	u_int		 norigins;
	u_int		 register_limit;	/* a minute, per address */
	u_int		 max_frame;
	u_int		 max_phones;		/* connections per device */
	u_int		 max_per_ip;
	u_int		 max_pending;		/* per address, no head yet */
	char		*web;
	int		 trust_proxy;
	int		 tap_fd;		/* -1 */
};
extern struct relay_opts	 relay_opts;
extern struct event_base	*relay_base;
extern struct store		*relay_store;
extern uint8_t			 relay_key[RELAY_KEY_LEN];
extern int			 relay_tls;	/* serving TLS */
extern int			 relay_exiting;
void		 relay_tap(const void *, size_t);

/* token.c: base64url, pair tokens, ID.SECRET credentials, safe text. */
#define TOKEN_NONCE_LEN		16
#define TOKEN_MAC_LEN		16
#define TOKEN_WRONG_MAX		5
char		*b64u_encode(const void *, size_t);
int		 b64u_decode(const char *, size_t, uint8_t *, size_t,
		     size_t *);
char		*token_sign(const uint8_t *, const uint8_t *, uint64_t);
int		 token_parse(const uint8_t *, const char *, uint8_t *,
		     uint64_t *);
enum token_state {
	TOKEN_OK,
	TOKEN_BAD,
	TOKEN_EXPIRED,
	TOKEN_USED,
	TOKEN_BURNED,
	TOKEN_DROPPED		/* newer links of its device pushed it out */
};
enum token_state token_check(struct store *, const uint8_t *, const char *,
		     time_t, uint8_t *, char **);
char		*cred_new_id(char);
char		*cred_new_secret(uint8_t *);
int		 cred_parse(const char *, size_t, char, char *, uint8_t *);
char		*text_clean(const char *, size_t);

/* store.c: devices, phones and pair nonces in SQLite (hashes only). */
struct store_phone {
	char		*id;
	char		*label;
	time_t		 created;
};
struct store	*store_open(const char *, char **);
void		 store_close(struct store *);
int		 store_device_add(struct store *, const char *, const uint8_t *,
		     time_t);
int		 store_device_check(struct store *, const char *,
		     const uint8_t *);
int		 store_phone_add(struct store *, const char *, const char *,
		     const uint8_t *, const char *, time_t);
int		 store_phone_check(struct store *, const char *, const uint8_t *,
		     char **);
int		 store_phone_delete(struct store *, const char *, const char *);
int		 store_phone_list(struct store *, const char *,
		     struct store_phone **, u_int *);
void		 store_phone_list_free(struct store_phone *, u_int);
int		 store_nonce_add(struct store *, const uint8_t *, const char *,
		     time_t);
int		 store_nonce_get(struct store *, const uint8_t *, char **,
		     time_t *, int *, u_int *);
int		 store_nonce_use(struct store *, const uint8_t *);
int		 store_nonce_wrong(struct store *, const uint8_t *);
int		 store_nonce_burn(struct store *, const uint8_t *);
int		 store_nonce_cap(struct store *, const char *, time_t, u_int);
int		 store_purge(struct store *, time_t);

/* addr.c: per client address: open connections and rate limits. */
enum addr_limit {
	LIMIT_REGISTER,
	LIMIT_REDEEM,
	LIMIT_BADAUTH,
	LIMIT_ISSUE,		/* keyed by the device id */
	LIMIT_COUNT
};
void		 addr_conn_add(const char *);
void		 addr_conn_del(const char *);
u_int		 addr_conns(const char *);
u_int		 addr_pending_add(const char *);
void		 addr_pending_del(const char *);
int		 addr_take(const char *, enum addr_limit, u_int *);
int		 addr_empty(const char *, enum addr_limit, u_int *);
void		 addr_sweep(void);
void		 addr_free_all(void);

/* conn.c: HTTP connections, from accept to reply or upgrade. */
struct rconn {
	struct bufferevent	*bev;
	char			*addr;		/* client (after --trust-proxy) */
	char			*peer;		/* the TCP peer (IPv6: its /64) */
	int			 counted;	/* in addr_conns */
	int			 pending;	/* in addr_pending: no head yet */
	int			 tls;
	http_parser		 parser;
	struct http_head	 head;
	char			*path;		/* the URL without ?query */
	char			*shown;		/* path, safe to print */
	struct evbuffer		*body;
	size_t			 body_max;
	int			 too_big;
	int			 headers_done;
	int			 replied;
	int			 close_after;
	int			 dead;
	int			 freeing;
	struct event		*deadline;
	struct event		*delay;		/* a refusal waits */
	struct event		*free_ev;
	int			 refuse_status;
	void			(*refuse_cb)(struct rconn *);
	void			*wait;		/* a redeem in flight (pair.c) */
	TAILQ_ENTRY(rconn)	 entry;
};
void		 conn_accept(int, struct sockaddr *, struct ssl_ctx_st *);
const char	*conn_header(struct rconn *, const char *);
void		 conn_reply(struct rconn *, int, const char *, const void *,
		     size_t, const char *);
void		 conn_reply_json(struct rconn *, int, struct cJSON *,
		     const char *);
void		 conn_error(struct rconn *, int, const char *, const char *,
		     ...) __printflike(4, 5);
void		 conn_limited(struct rconn *, u_int, const char *);
struct cJSON	*conn_body_json(struct rconn *);
int		 conn_bearer(struct rconn *, char, char *, uint8_t *);
void		 conn_refuse(struct rconn *, void (*)(struct rconn *));
int		 conn_origin_ok(struct rconn *);
struct bufferevent *conn_upgrade(struct rconn *, const char *);
void		 conn_shutdown(void);

/* api.c: the routes of PROTOCOL.md. */
void		 api_request(struct rconn *);
void		 api_upgrade(struct rconn *);
struct cJSON	*api_phones_json(const char *);

/* pair.c: issuing pair tokens and redeeming them through the device. */
#define PAIR_WAITING_MAX	16	/* unused links per device */
#define PAIR_ISSUE_RATE		30	/* links a minute per device */
enum pair_issue_error {
	PAIR_ISSUED,
	PAIR_BAD_TTL,		/* 400 bad_request */
	PAIR_LIMITED,		/* 429 rate_limited, retry seconds */
	PAIR_FAILED		/* 500 internal */
};
enum pair_issue_error pair_issue(const char *, long, char **, time_t *,
		     char **, u_int *);
void		 pair_redeem(struct rconn *);
void		 pair_result(const char *, struct cJSON *);
void		 pair_device_gone(const char *);
void		 pair_conn_gone(struct rconn *);

/* splice.c: the device's and the phones' WebSockets. */
void		 splice_device(struct bufferevent *, const char *, const char *);
void		 splice_phone(struct bufferevent *, const char *, const char *,
		     const char *);
void		 splice_phone_unknown(struct bufferevent *, const char *);
int		 splice_send_device(const char *, struct cJSON *);
int		 splice_phone_online(const char *);
void		 splice_revoke(const char *, const char *, long);
void		 splice_shutdown(void);

/* web.c: the phone's /app from the web directory. */
void		 web_serve(struct rconn *, const char *);
char		*web_find_dir(const char *);
const char	*web_security_headers(void);

#endif

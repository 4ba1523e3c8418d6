/*
 * server/api.h: what the files of the /api/v1 routes share (api.c, and
 * api-push.c for transfer/push): error codes, the client of our own a
 * request runs its commands through, and answering.  Not for other files:
 * server.h has api_request() and api_headers() for listen.c.
 */
#ifndef API_H
#define API_H

#define API_PREFIX		"/api/v1/"
#define API_HIGH_WATER		(1024 * 1024)	/* pause the sender above */
#define API_NCMDS		40		/* commands one request sends */

/* The original's LoopsyErrorCode values. */
enum api_code {
	API_AUTH_MISSING = 1001,
	API_AUTH_INVALID = 1002,
	API_EXEC_DENIED = 3001,
	API_EXEC_TIMEOUT = 3002,
	API_EXEC_BUSY = 3003,
	API_EXEC_FAILED = 3004,
	API_PATH_DENIED = 4001,
	API_FILE_NOT_FOUND = 4002,
	API_TOO_LARGE = 4003,
	API_CHECKSUM = 4004,
	API_TRANSFER_FAILED = 4005,
	API_KEY_NOT_FOUND = 5001,
	API_VALUE_TOO_LARGE = 5002,
	API_MAX_ENTRIES = 5003,
	API_INTERNAL = 9001,
	API_RATE_LIMITED = 9002,
	API_INVALID = 9003
};

/* A command's error code, as the original would have answered it. */
struct api_map {
	const char	*from;		/* NULL: anything else */
	int		 status;
	int		 code;
};

extern const struct api_map api_map_transfer[];

struct api_push;
struct api_call;
typedef void	(*api_reply_fn)(struct api_call *, struct cJSON *,
		    struct evbuffer *);

/* One request's client of our own, and what the route keeps. */
struct api_call {
	struct hconn		*h;
	struct bufferevent	*bev;		/* our end of the socketpair */
	uint32_t		 id;		/* last command sent */
	api_reply_fn		 reply[API_NCMDS + 1];	/* by command id */
	const struct api_map	*map;		/* error codes for the route */
	struct evbuffer		*out;		/* stdout of the command now */
	int			 done;		/* answered: ignore the rest */
	uint64_t		 started_ms;

	int			 job;		/* counted in api_jobs */
	int			 sse;		/* execute/stream */
	int			 started;	/* stream or pull head sent */
	char			 jobid[64];
	u_char			 carry[2][4];	/* SSE: split UTF-8 */
	size_t			 ncarry[2];
	char			*name;		/* pull: the file's name */
	char			*key;		/* context key */
	int			 ttl;		/* context set --ttl */
	struct api_push		*push;
};

void		 api_error_retry(struct hconn *, int, int, u_int, const char *);
void		 api_error(struct hconn *, int, int, const char *, ...)
		     __printflike(4, 5);
const char	*api_reply_error(const struct api_map *, struct cJSON *,
		     const char *, int *, int *, u_int *);
int		 api_reply_ok(struct cJSON *);
void		 api_reply_json(struct api_call *, struct cJSON *);
struct cJSON	*api_out_json(struct evbuffer *);
struct api_call	*api_call_new(struct hconn *, const struct api_map *);
void		 api_command(struct api_call *, api_reply_fn, int, char **);
void		 api_watch_hangup(struct hconn *);
int		 api_discard(struct hconn *, const char *, size_t);

/* api-push.c */
void		 api_push_start(struct hconn *);
void		 api_push(struct hconn *, const char *);
void		 api_push_free(struct api_push *);

#endif

/*
 * common/http.h: the HTTP/1.1 pieces the server's peer listener and
 * loopsy-relay share: a request head gathered from http-parser's callbacks
 * (URL, method, every header, under a size cap), the comma-separated token
 * lists of Connection and Sec-WebSocket-Protocol, the head of a reply, the
 * 101 of a WebSocket upgrade, JSON error bodies and the peer's address.
 * Connections, routes and keys stay with each program.
 */
#ifndef HTTP_H
#define HTTP_H

#include <sys/types.h>
#include <stddef.h>

#include <http_parser.h>

struct evbuffer;
struct sockaddr;

#define HTTP_HEAD_MAX	(16 * 1024)	/* request line and headers */

struct http_field {
	char		*name;
	char		*value;
};

/* A request head as it arrives. */
struct http_head {
	char			*url;
	int			 method;	/* enum http_method */
	struct http_field	*fields;
	u_int			 nfields;
	char			*field;		/* the header being read */
	char			*value;
	size_t			 bytes;		/* counted against the cap */
	size_t			 max;		/* 0: HTTP_HEAD_MAX */
	void			*owner;		/* the connection it is for */
	int			 complete;	/* the whole request is in */
};

/*
 * Parser settings whose URL and header callbacks gather into the http_head
 * that parser->data points to; the rest are the caller's (complete NULL:
 * set head->complete and pause the parser).  http_owner() is the head's
 * owner inside a callback.
 */
void		 http_settings(http_parser_settings *,
		     int (*)(http_parser *),
		     int (*)(http_parser *, const char *, size_t),
		     int (*)(http_parser *));
#define http_owner(p)	(((struct http_head *)(p)->data)->owner)
/* Add to a body of at most max bytes; -1 (nothing added) past it. */
int		 http_body_add(struct evbuffer **, size_t, const char *,
		     size_t);

/* From http-parser's callbacks; -1 when the head is over its cap. */
int		 http_head_url(struct http_head *, const char *, size_t);
int		 http_head_field(struct http_head *, const char *, size_t);
int		 http_head_value(struct http_head *, const char *, size_t);
/* From on_headers_complete: the last header is whole. */
void		 http_head_end(struct http_head *, int method);
int		 http_head_over(struct http_head *);	/* went over the cap */
/* A header's value (the last one of that name), or NULL. */
const char	*http_head_get(struct http_head *, const char *);
void		 http_head_free(struct http_head *);

/* Does a comma-separated list hold token (case-insensitive)?  With value
 * not NULL, find an entry starting with token instead (case-sensitive),
 * point *value after it and return its remaining length. */
int		 http_has_token(const char *, const char *, const char **);

/* "HTTP/1.1 STATUS", Content-Type, Content-Length, Connection: close,
 * Cache-Control: no-store (unless extra has its own), then extra (whole
 * header lines) and the body. */
void		 http_write_reply(struct evbuffer *, int, const char *,
		     const void *, size_t, const char *);
/* The 101 answering a WebSocket upgrade (protocol may be NULL). */
void		 http_write_upgrade(struct evbuffer *, const char *key,
		     const char *protocol, const char *extra);
/* {"error":{"code":CODE,"message":MESSAGE}} as text. */
char		*http_error_body(const char *, const char *);
/* The numeric address of a socket's peer. */
char		*http_peer_addr(const struct sockaddr *);

#endif

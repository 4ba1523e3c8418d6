/*
 * server/api-push.c: POST /api/v1/transfer/push, a multipart/form-data body
 * (destPath, then the file) parsed as it comes and streamed through the
 * transfer commands: transfer-mkdir for missing directories (the original
 * made them), transfer-put and data frames, transfer-finish.  The file's
 * size is known only at the end, so transfer-put declares the most it can be
 * (from Content-Length, or transfer.maxFileSize) and transfer-finish -s says
 * what came, checks the SHA-256 and renames the file into place.  The API
 * never resumes a push (transfer-put -N): one cut short leaves no part.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <openssl/evp.h>

#include "common/proto.h"
#include "server.h"
#include "api.h"

#define API_FRAME		(256 * 1024)	/* data frames */
#define API_PART_HEAD_MAX	8192		/* one part's headers */
#define API_FIELD_MAX		4096		/* destPath */
#define API_MKDIR_MAX		32		/* directories a push makes */

/* A push's multipart/form-data body, parsed as it comes. */
enum api_part {
	PART_PREAMBLE,		/* before the first boundary */
	PART_AFTER,		/* just after a boundary: "--" or CRLF */
	PART_HEADERS,
	PART_FIELD,		/* a form field's value */
	PART_FILE,		/* the file, streamed to transfer-put */
	PART_SKIP,		/* a part we do not use */
	PART_END		/* after the last boundary */
};

struct api_push {
	char		*delim;		/* CRLF "--" boundary */
	size_t		 dlen;
	enum api_part	 state;
	struct evbuffer	*in;		/* not parsed yet */
	uint64_t	 length;	/* Content-Length, or -1 */
	uint64_t	 seen;		/* body bytes so far */
	int		 field;		/* the part is destPath */
	struct buf	 value;
	char		*dest;
	int		 have_file;
	int		 file_done;
	int		 put_ok;	/* transfer-put said yes */
	int		 finishing;	/* transfer-finish sent */
	int		 complete;	/* the whole body is in */
	uint64_t	 bound;		/* most the file can be */
	int		 bound_max;	/* ... because of maxFileSize */
	uint64_t	 size;
	EVP_MD_CTX	*sha;
	char		*key;		/* transfer-put -k */
	/* The first failure, answered once the body is in. */
	int		 fail_status;
	int		 fail_code;
	u_int		 fail_retry;
	char		*fail_msg;
};

static void	api_push_try_finish(struct api_call *);

void
api_push_free(struct api_push *p)
{
	free(p->delim);
	if (p->in != NULL)
		evbuffer_free(p->in);
	buf_free(&p->value);
	free(p->dest);
	if (p->sha != NULL)
		EVP_MD_CTX_free(p->sha);
	free(p->key);
	free(p->fail_msg);
	free(p);
}

/* Remember the first failure; it is answered once the body is in. */
static void __printflike(4, 5)
api_push_fail(struct api_call *a, int status, int code, const char *fmt, ...)
{
	struct api_push	*p = a->push;
	va_list		 ap;

	if (p->fail_msg != NULL)
		return;
	va_start(ap, fmt);
	xvasprintf(&p->fail_msg, fmt, ap);
	va_end(ap);
	p->fail_status = status;
	p->fail_code = code;
	if (p->state == PART_FILE)
		p->state = PART_SKIP;
	api_push_try_finish(a);
}

static void
api_push_failed(struct api_call *a, cJSON *r)
{
	struct api_push	*p = a->push;

	if (p->fail_msg == NULL) {
		p->fail_msg = xstrdup(api_reply_error(api_map_transfer, r,
		    "transfer failed", &p->fail_status, &p->fail_code,
		    &p->fail_retry));
		if (p->state == PART_FILE)
			p->state = PART_SKIP;
	}
	api_push_try_finish(a);
}

static void
api_push_finished(struct api_call *a, cJSON *r, struct evbuffer *out)
{
	cJSON	*f, *j, *v;

	if (!api_reply_ok(r) || (f = api_out_json(out)) == NULL) {
		api_push_failed(a, r);
		return;
	}
	j = cJSON_CreateObject();
	v = cJSON_GetObjectItem(f, "path");
	cJSON_AddStringToObject(j, "path", cJSON_IsString(v) ?
	    v->valuestring : a->push->dest);
	cJSON_AddNumberToObject(j, "size", (double)a->push->size);
	v = cJSON_GetObjectItem(f, "sha256");
	cJSON_AddStringToObject(j, "checksum", cJSON_IsString(v) ?
	    v->valuestring : "");
	cJSON_AddNumberToObject(j, "duration",
	    (double)(now_ms() - a->started_ms));
	cJSON_Delete(f);
	api_reply_json(a, j);
}

static void
api_push_put_done(struct api_call *a, cJSON *r, struct evbuffer *out __unused)
{
	if (!api_reply_ok(r)) {
		api_push_failed(a, r);
		return;
	}
	a->push->put_ok = 1;
	api_push_try_finish(a);
}

/* A failure between commands (transfer_fail): id 0. */
static void
api_push_async(struct api_call *a, cJSON *r, struct evbuffer *out __unused)
{
	api_push_failed(a, r);
}

/* Never resumed: start afresh (-R), and leave no part if cut short (-N). */
static void
api_push_put(struct api_call *a, uint64_t size)
{
	struct api_push	*p = a->push;
	char		 s[32], *argv[9];
	int		 argc = 0;

	snprintf(s, sizeof s, "%llu", (unsigned long long)size);
	argv[argc++] = "transfer-put";
	argv[argc++] = "-N";
	argv[argc++] = "-R";
	argv[argc++] = "-k";
	argv[argc++] = p->key;
	argv[argc++] = "-s";
	argv[argc++] = s;
	argv[argc++] = "--";
	argv[argc++] = p->dest;
	api_command(a, api_push_put_done, argc, argv);
}

/* All in and the put agreed: finish, with the size that came. */
static void
api_push_try_finish(struct api_call *a)
{
	struct api_push	*p = a->push;
	unsigned char	 md[EVP_MAX_MD_SIZE];
	char		 hex[65], s[32], *argv[4];
	u_int		 n = 0, i;

	if (a->done || !p->complete)
		return;
	if (p->fail_msg != NULL) {
		a->done = 1;
		api_error_retry(a->h, p->fail_status, p->fail_code,
		    p->fail_retry, p->fail_msg);
		return;
	}
	if (!p->file_done || !p->put_ok || p->finishing)
		return;
	p->finishing = 1;
	EVP_DigestFinal_ex(p->sha, md, &n);
	for (i = 0; i < n && i < 32; i++)
		snprintf(hex + i * 2, 3, "%02x", md[i]);
	snprintf(s, sizeof s, "%llu", (unsigned long long)p->size);
	argv[0] = "transfer-finish";
	argv[1] = "-s";
	argv[2] = s;
	argv[3] = hex;
	api_command(a, api_push_finished, 4, argv);
}

static void
api_push_mkdir_done(struct api_call *a, cJSON *r,
    struct evbuffer *out __unused)
{
	if (!api_reply_ok(r))
		api_push_failed(a, r);
}

/*
 * The original makes the destination's missing directories (mkdir -p):
 * transfer-mkdir each, from the top, so each is checked by the policy.
 */
static void
api_push_mkdirs(struct api_call *a)
{
	struct api_push	*p = a->push;
	struct stat	 sb;
	char		*abs, *path, *slash, *argv[3];
	char		*missing[API_MKDIR_MAX];
	u_int		 n = 0;

	abs = policy_path_expand(p->dest, NULL);
	path = policy_path_normalize(abs);
	free(abs);
	while ((slash = strrchr(path, '/')) != NULL && slash != path) {
		*slash = '\0';
		if (stat(path, &sb) == 0 || n == nitems(missing))
			break;
		missing[n++] = xstrdup(path);
	}
	free(path);
	argv[0] = "transfer-mkdir";
	argv[1] = "--";
	while (n > 0) {
		argv[2] = missing[--n];
		api_command(a, api_push_mkdir_done, 3, argv);
		free(missing[n]);
	}
}

/* The file part begins: start the transfer-put. */
static void
api_push_begin(struct api_call *a)
{
	struct api_push	*p = a->push;
	uint64_t	 pos, tail = p->dlen + 2, max = (1ULL << 62);

	if (p->have_file++) {
		p->state = PART_SKIP;	/* only the first file */
		return;
	}
	if (p->dest == NULL) {
		api_push_fail(a, 400, API_INVALID, "destPath must come before "
		    "the file");
		p->state = PART_SKIP;
		return;
	}
	if (config.max_file_size != 0)
		max = config.max_file_size;
	/* In the body: where the file starts; then "\r\n--B--" at least. */
	pos = p->seen - evbuffer_get_length(p->in);
	p->bound = max;
	p->bound_max = 1;
	if (p->length != (uint64_t)-1 && p->length >= pos + tail &&
	    p->length - pos - tail <= max) {
		p->bound = p->length - pos - tail;
		p->bound_max = 0;
	}
	p->sha = EVP_MD_CTX_new();
	EVP_DigestInit_ex(p->sha, EVP_sha256(), NULL);
	api_push_mkdirs(a);
	api_push_put(a, p->bound);
}

/* n bytes of the part in hand go where the part goes. */
static void
api_push_part_data(struct api_call *a, size_t n)
{
	struct api_push	*p = a->push;
	struct evbuffer	*out = bufferevent_get_output(a->bev);
	char		*chunk;
	size_t		 k;

	if (p->state == PART_FIELD && p->field) {
		if (p->value.len + n > API_FIELD_MAX) {
			api_push_fail(a, 400, API_INVALID, "destPath too long");
			p->field = 0;
		} else {
			buf_add(&p->value, evbuffer_pullup(p->in, n), n);
			evbuffer_drain(p->in, n);
			return;
		}
	}
	if (p->state != PART_FILE || p->fail_msg != NULL) {
		evbuffer_drain(p->in, n);
		return;
	}
	if (p->size + n > p->bound) {
		evbuffer_drain(p->in, n);
		if (p->bound_max)
			api_push_fail(a, 400, API_TOO_LARGE, "file too large: "
			    "over %llu bytes (transfer.maxFileSize)",
			    (unsigned long long)p->bound);
		else
			api_push_fail(a, 400, API_INVALID, "malformed "
			    "multipart body");
		return;
	}
	while (n > 0) {
		k = n > API_FRAME ? API_FRAME : n;
		chunk = (char *)evbuffer_pullup(p->in, k);
		EVP_DigestUpdate(p->sha, chunk, k);
		proto_add(out, MSG_DATA, chunk, k);
		evbuffer_drain(p->in, k);
		p->size += k;
		n -= k;
	}
}

/* A boundary ended the part. */
static void
api_push_part_end(struct api_call *a)
{
	struct api_push	*p = a->push;

	if (p->state == PART_FIELD && p->field && p->dest == NULL) {
		p->dest = xstrndup(p->value.data != NULL ? p->value.data : "",
		    p->value.len);
		if (*p->dest == '\0' || strlen(p->dest) != p->value.len) {
			free(p->dest);
			p->dest = NULL;
		}
	}
	if (p->state == PART_FILE)
		p->file_done = 1;
	api_push_try_finish(a);
}

/* A parameter of a header: name="value" or name=value. */
static char *
api_header_param(const char *head, const char *name)
{
	const char	*p = head, *e;
	size_t		 n = strlen(name);

	while ((p = strcasestr(p, name)) != NULL) {
		if ((p == head || p[-1] == ' ' || p[-1] == ';' ||
		    p[-1] == '\t') && p[n] == '=') {
			p += n + 1;
			if (*p == '"') {
				e = strchr(++p, '"');
				if (e == NULL)
					return (NULL);
			} else
				e = p + strcspn(p, "; \t\r\n");
			return (xstrndup(p, e - p));
		}
		p += n;
	}
	return (NULL);
}

/* One part's headers: which part is it? */
static void
api_push_part_head(struct api_call *a, const char *head)
{
	struct api_push	*p = a->push;
	const char	*cd = NULL, *line;
	char		*name, *file;

	for (line = head; line != NULL && *line != '\0';) {
		if (strncasecmp(line, "Content-Disposition:", 20) == 0)
			cd = line + 20;
		line = strstr(line, "\r\n");
		if (line != NULL)
			line += 2;
	}
	name = cd != NULL ? api_header_param(cd, "name") : NULL;
	file = cd != NULL ? api_header_param(cd, "filename") : NULL;
	p->field = 0;
	if (file != NULL) {
		p->state = PART_FILE;
		api_push_begin(a);
	} else if (name != NULL && strcmp(name, "destPath") == 0) {
		p->state = PART_FIELD;
		p->field = 1;
		buf_reset(&p->value);
	} else
		p->state = PART_SKIP;
	free(name);
	free(file);
}

static void
api_push_parse(struct api_call *a)
{
	struct api_push		*p = a->push;
	struct evbuffer_ptr	 at;
	size_t			 len;
	char			*head;

	for (;;) {
		len = evbuffer_get_length(p->in);
		switch (p->state) {
		case PART_PREAMBLE:
		case PART_FIELD:
		case PART_FILE:
		case PART_SKIP:
			at = evbuffer_search(p->in, p->delim, p->dlen, NULL);
			if (at.pos == -1) {
				if (len >= p->dlen)
					api_push_part_data(a,
					    len - (p->dlen - 1));
				return;
			}
			api_push_part_data(a, at.pos);
			evbuffer_drain(p->in, p->dlen);
			api_push_part_end(a);
			p->state = PART_AFTER;
			break;
		case PART_AFTER:
			if (len < 2)
				return;
			head = (char *)evbuffer_pullup(p->in, 2);
			if (head[0] == '-' && head[1] == '-') {
				p->state = PART_END;
				break;
			}
			at = evbuffer_search(p->in, "\r\n", 2, NULL);
			if (at.pos == -1) {
				if (len > 128)
					goto malformed;
				return;
			}
			evbuffer_drain(p->in, at.pos + 2);
			p->state = PART_HEADERS;
			break;
		case PART_HEADERS:
			if (len < 2)
				return;
			head = (char *)evbuffer_pullup(p->in, 2);
			if (head[0] == '\r' && head[1] == '\n') {
				evbuffer_drain(p->in, 2);
				api_push_part_head(a, "");
				break;
			}
			at = evbuffer_search(p->in, "\r\n\r\n", 4, NULL);
			if (at.pos == -1) {
				if (len > API_PART_HEAD_MAX)
					goto malformed;
				return;
			}
			head = xstrndup((char *)evbuffer_pullup(p->in,
			    at.pos + 2), at.pos + 2);
			evbuffer_drain(p->in, at.pos + 4);
			api_push_part_head(a, head);
			free(head);
			break;
		case PART_END:
			evbuffer_drain(p->in, len);
			return;
		}
	}
malformed:
	api_push_fail(a, 400, API_INVALID, "malformed multipart body");
	p->state = PART_END;
	evbuffer_drain(p->in, evbuffer_get_length(p->in));
}

/* Body bytes of a push, as they come (listen.c's body_cb). */
static int
api_push_body(struct hconn *h, const char *at, size_t len)
{
	struct api_call	*a = h->api;
	struct api_push	*p = a->push;

	p->seen += len;
	evbuffer_add(p->in, at, len);
	api_push_parse(a);
	/* The server is slower than the network: wait for it. */
	if (evbuffer_get_length(bufferevent_get_output(a->bev)) >
	    API_HIGH_WATER)
		bufferevent_disable(h->bev, EV_READ);
	return (0);
}

/* At the head of a push: get ready to stream its body. */
void
api_push_start(struct hconn *h)
{
	struct api_call	*a;
	struct api_push	*p;
	const char	*type = h->content_type;
	char		*boundary = NULL;

	h->body_cb = api_discard;
	if ((a = api_call_new(h, api_map_transfer)) == NULL)
		return;
	p = a->push = xcalloc(1, sizeof *p);
	buf_init(&p->value);
	p->length = h->parser.content_length;
	p->in = evbuffer_new();
	evbuffer_add(p->in, "\r\n", 2);	/* so the first boundary matches */
	xasprintf(&p->key, "api:%s", h->actor);
	if (type != NULL && strncasecmp(type, "multipart/form-data", 19) == 0)
		boundary = api_header_param(type, "boundary");
	if (boundary == NULL || *boundary == '\0' || strlen(boundary) > 70) {
		p->state = PART_END;
		api_push_fail(a, 400, API_INVALID, "expected a "
		    "multipart/form-data body with a boundary");
		free(boundary);
		return;
	}
	xasprintf(&p->delim, "\r\n--%s", boundary);
	p->dlen = strlen(p->delim);
	free(boundary);
	a->reply[0] = api_push_async;
	h->body_cb = api_push_body;
	/* For clients that wait for it (Expect) before a large body. */
	if (h->parser.http_major == 1 && h->parser.http_minor >= 1)
		evbuffer_add_printf(bufferevent_get_output(h->bev),
		    "HTTP/1.1 100 Continue\r\n\r\n");
}

/* The whole body is in. */
void
api_push(struct hconn *h, const char *rest __unused)
{
	struct api_call	*a = h->api;
	struct api_push	*p;

	if (a == NULL || (p = a->push) == NULL) {
		api_error(h, 500, API_INTERNAL, "push not started");
		return;
	}
	p->complete = 1;
	if (p->fail_msg == NULL) {
		if (p->dest == NULL)
			api_push_fail(a, 400, API_INVALID, "missing destPath "
			    "field");
		else if (!p->have_file)
			api_push_fail(a, 400, API_TRANSFER_FAILED, "no file "
			    "in request");
		else if (!p->file_done)
			api_push_fail(a, 400, API_INVALID, "malformed "
			    "multipart body: the file part does not end");
	}
	api_push_try_finish(a);
	api_watch_hangup(h);
}

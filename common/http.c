/*
 * common/http.c: request heads gathered from http-parser, token lists,
 * reply heads and the WebSocket 101, shared by server/listen.c and
 * relay/conn.c (see common/http.h).  No connection state lives here.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <http_parser.h>

#include "common.h"
#include "http.h"
#include "ws.h"

static size_t
http_head_cap(struct http_head *hh)
{
	return (hh->max != 0 ? hh->max : HTTP_HEAD_MAX);
}

/* Append to a NUL-terminated string that may be NULL. */
static void
http_append(char **s, const char *at, size_t len)
{
	size_t	 have = *s != NULL ? strlen(*s) : 0;

	*s = xreallocarray(*s, have + len + 1, 1);
	memcpy(*s + have, at, len);
	(*s)[have + len] = '\0';
}

int
http_head_url(struct http_head *hh, const char *at, size_t len)
{
	if ((hh->bytes += len) > http_head_cap(hh))
		return (-1);
	http_append(&hh->url, at, len);
	return (0);
}

/* A header is whole: keep it. */
static void
http_head_keep(struct http_head *hh)
{
	struct http_field	*f;

	if (hh->field == NULL)
		return;
	hh->fields = xreallocarray(hh->fields, hh->nfields + 1,
	    sizeof *hh->fields);
	f = &hh->fields[hh->nfields++];
	f->name = hh->field;
	f->value = hh->value != NULL ? hh->value : xstrdup("");
	hh->field = hh->value = NULL;
}

int
http_head_field(struct http_head *hh, const char *at, size_t len)
{
	if ((hh->bytes += len) > http_head_cap(hh))
		return (-1);
	if (hh->value != NULL)
		http_head_keep(hh);
	http_append(&hh->field, at, len);
	return (0);
}

int
http_head_value(struct http_head *hh, const char *at, size_t len)
{
	if ((hh->bytes += len) > http_head_cap(hh))
		return (-1);
	http_append(&hh->value, at, len);
	return (0);
}

void
http_head_end(struct http_head *hh, int method)
{
	http_head_keep(hh);
	hh->method = method;
}

int
http_head_over(struct http_head *hh)
{
	return (hh->bytes > http_head_cap(hh));
}

const char *
http_head_get(struct http_head *hh, const char *name)
{
	u_int	 i;

	for (i = hh->nfields; i > 0; i--) {
		if (strcasecmp(hh->fields[i - 1].name, name) == 0)
			return (hh->fields[i - 1].value);
	}
	return (NULL);
}

void
http_head_free(struct http_head *hh)
{
	u_int	 i;

	for (i = 0; i < hh->nfields; i++) {
		free(hh->fields[i].name);
		free(hh->fields[i].value);
	}
	free(hh->fields);
	free(hh->url);
	free(hh->field);
	free(hh->value);
	hh->fields = NULL;
	hh->nfields = 0;
	hh->url = hh->field = hh->value = NULL;
}

static int
http_cb_url(http_parser *p, const char *at, size_t len)
{
	return (http_head_url(p->data, at, len));
}

static int
http_cb_field(http_parser *p, const char *at, size_t len)
{
	return (http_head_field(p->data, at, len));
}

static int
http_cb_value(http_parser *p, const char *at, size_t len)
{
	return (http_head_value(p->data, at, len));
}

static int
http_cb_complete(http_parser *p)
{
	struct http_head	*hh = p->data;

	hh->complete = 1;
	http_parser_pause(p, 1);
	return (0);
}

void
http_settings(http_parser_settings *s, int (*headers)(http_parser *),
    int (*body)(http_parser *, const char *, size_t),
    int (*complete)(http_parser *))
{
	memset(s, 0, sizeof *s);
	s->on_url = http_cb_url;
	s->on_header_field = http_cb_field;
	s->on_header_value = http_cb_value;
	s->on_headers_complete = headers;
	s->on_body = body;
	s->on_message_complete = complete != NULL ? complete :
	    http_cb_complete;
}

int
http_body_add(struct evbuffer **body, size_t max, const char *at, size_t len)
{
	if (*body == NULL)
		*body = evbuffer_new();
	if (evbuffer_get_length(*body) + len > max)
		return (-1);
	evbuffer_add(*body, at, len);
	return (0);
}

int
http_has_token(const char *list, const char *token, const char **value)
{
	const char	*p = list, *e;
	size_t		 n = strlen(token);

	while (p != NULL && *p != '\0') {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		e = p + strcspn(p, ",");
		while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if (value != NULL && (size_t)(e - p) > n &&
		    strncmp(p, token, n) == 0) {
			*value = p + n;
			return ((int)(e - p - n));
		}
		if (value == NULL && (size_t)(e - p) == n &&
		    strncasecmp(p, token, n) == 0)
			return (1);
		p = strchr(p, ',');
	}
	return (0);
}

void
http_write_reply(struct evbuffer *out, int status, const char *type,
    const void *body, size_t len, const char *extra)
{
	int	 cache = extra == NULL || strcasestr(extra, "Cache-Control:") ==
		     NULL;

	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\n"
	    "Content-Type: %s\r\nContent-Length: %zu\r\n"
	    "%sConnection: close\r\n%s\r\n",
	    status, http_status_str(status), type, len,
	    cache ? "Cache-Control: no-store\r\n" : "",
	    extra != NULL ? extra : "");
	if (len != 0)
		evbuffer_add(out, body, len);
}

void
http_write_upgrade(struct evbuffer *out, const char *key,
    const char *protocol, const char *extra)
{
	char	*accept = ws_accept_key(key);

	evbuffer_add_printf(out, "HTTP/1.1 101 Switching Protocols\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: %s\r\n", accept);
	if (protocol != NULL)
		evbuffer_add_printf(out, "Sec-WebSocket-Protocol: %s\r\n",
		    protocol);
	evbuffer_add_printf(out, "%s\r\n", extra != NULL ? extra : "");
	free(accept);
}

char *
http_error_body(const char *code, const char *message)
{
	cJSON	*j, *e;
	char	*s;

	j = cJSON_CreateObject();
	e = cJSON_AddObjectToObject(j, "error");
	cJSON_AddStringToObject(e, "code", code);
	cJSON_AddStringToObject(e, "message", message);
	s = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	return (s);
}

char *
http_peer_addr(const struct sockaddr *sa)
{
	char	 host[NI_MAXHOST];

	if (getnameinfo(sa, sa->sa_family == AF_INET6 ?
	    sizeof (struct sockaddr_in6) : sizeof (struct sockaddr_in),
	    host, sizeof host, NULL, 0, NI_NUMERICHOST) != 0)
		strlcpy(host, "?", sizeof host);
	return (xstrdup(host));
}

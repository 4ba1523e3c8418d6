/*
 * common/proto.c: framing for the loopsy protocol on a byte stream.  The
 * meaning of each message belongs to the server and client; this file only
 * cuts and glues frames, and refuses ones that break the rules.
 */
#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "proto.h"

static const char *proto_names[] = {
	[MSG_HELLO] = "hello",
	[MSG_COMMAND] = "command",
	[MSG_REPLY] = "reply",
	[MSG_OUTPUT] = "output",
	[MSG_KEYS] = "keys",
	[MSG_PASTE] = "paste",
	[MSG_RESIZE] = "resize",
	[MSG_MOUSE] = "mouse",
	[MSG_DETACH] = "detach",
	[MSG_FOCUS] = "focus",
	[MSG_STDOUT] = "stdout",
	[MSG_TTY] = "tty",
	[MSG_STDERR] = "stderr",
	[MSG_DATA] = "data",
	[MSG_INPUT] = "input",
};

const char *
proto_type_name(uint8_t type)
{
	if (type < nitems(proto_names) && proto_names[type] != NULL)
		return (proto_names[type]);
	return ("unknown");
}

void
proto_add(struct evbuffer *evb, enum msg_type type, const void *data,
    size_t len)
{
	uint8_t	 hdr[PROTO_HEADER];

	if (len + 1 > PROTO_MAX_FRAME)
		fatalx("%s: frame of %zu bytes is too big", __func__, len);
	proto_put32(hdr, len + 1);
	hdr[4] = type;
	evbuffer_add(evb, hdr, sizeof hdr);
	if (len != 0)
		evbuffer_add(evb, data, len);
}

void
proto_add_json(struct evbuffer *evb, enum msg_type type, const char *json)
{
	proto_add(evb, type, json, strlen(json));
}

int
proto_take(struct evbuffer *evb, uint8_t *type, char **data, size_t *len,
    char **cause)
{
	uint8_t	 hdr[PROTO_HEADER];
	uint32_t n;

	if (evbuffer_get_length(evb) < PROTO_HEADER)
		return (0);
	evbuffer_copyout(evb, hdr, sizeof hdr);
	n = proto_get32(hdr);
	if (n == 0) {
		xasprintf(cause, "empty frame (length 0)");
		return (-1);
	}
	if (n > PROTO_MAX_FRAME) {
		xasprintf(cause, "frame of %u bytes exceeds the %u byte limit",
		    n, PROTO_MAX_FRAME);
		return (-1);
	}
	if (evbuffer_get_length(evb) < 4 + (size_t)n)
		return (0);
	evbuffer_drain(evb, 4);
	evbuffer_remove(evb, type, 1);
	*len = n - 1;
	*data = xmalloc(*len + 1);
	evbuffer_remove(evb, *data, *len);
	(*data)[*len] = '\0';
	return (1);
}

void
proto_flush(struct bufferevent *bev)
{
	struct evbuffer	*out = bufferevent_get_output(bev);

	if (evbuffer_get_length(out) != 0)
		evbuffer_write(out, bufferevent_getfd(bev));
}

const char *
proto_hello_json(void)
{
	static char	 hello[64];

	snprintf(hello, sizeof hello, "{\"proto\":[%d,%d]}", PROTO_VERSION,
	    PROTO_VERSION);
	return (hello);
}

void
proto_add_hello(struct evbuffer *evb)
{
	proto_add_json(evb, MSG_HELLO, proto_hello_json());
}

struct cJSON *
proto_command_new(uint32_t id, int argc, char **argv)
{
	cJSON	*j, *a;
	int	 i;

	j = cJSON_CreateObject();
	cJSON_AddNumberToObject(j, "id", id);
	a = cJSON_AddArrayToObject(j, "argv");
	for (i = 0; i < argc; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(argv[i]));
	return (j);
}

void
proto_add_cjson(struct evbuffer *evb, enum msg_type type, struct cJSON *j)
{
	char	*s = cJSON_PrintUnformatted(j);

	proto_add_json(evb, type, s);
	free(s);
	cJSON_Delete(j);
}

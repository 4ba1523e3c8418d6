/*
 * common/proto.h: the one protocol every client speaks (DESIGN.md decision 3).
 * A frame is a 4-byte big-endian payload length, a type byte and the payload.
 * Control messages are JSON objects; terminal data and input are binary.
 * Unknown types are ignored; a frame over PROTO_MAX_FRAME drops the sender.
 */
#ifndef PROTO_H
#define PROTO_H

#include <stddef.h>
#include <stdint.h>

#define PROTO_VERSION		1
#define PROTO_HEADER		5
#define PROTO_MAX_FRAME		(4 * 1024 * 1024)

enum msg_type {
	MSG_HELLO = 1,		/* JSON both ways: {"proto":[min,max], ...} */
	MSG_COMMAND = 2,	/* JSON c->s: {"id", "argv", "cwd", "tty"} */
	MSG_REPLY = 3,		/* JSON s->c: {"id", "ok", "out", "exit", "error"} */
	MSG_OUTPUT = 4,		/* binary s->c: bytes for the client's terminal */
	MSG_KEYS = 5,		/* binary c->s: n * 8-byte big-endian key codes */
	MSG_PASTE = 6,		/* binary c->s: pasted bytes */
	MSG_RESIZE = 7,		/* binary c->s: u16 cols, u16 rows */
	MSG_MOUSE = 8,		/* binary c->s: u8 button, pressed, mods; u16 x, y */
	MSG_DETACH = 9,		/* JSON s->c: {"reason", "session", "exit"} */
	MSG_FOCUS = 10,		/* binary c->s: u8 in */
	MSG_STDOUT = 11,	/* binary s->c: command output as it comes */
	MSG_TTY = 12,		/* c->s: {} with the terminal's fds (SCM_RIGHTS) */
	MSG_STDERR = 13,	/* binary s->c: command error output as it comes */
	MSG_DATA = 14,		/* binary both ways: file transfer chunks */
	MSG_INPUT = 15,		/* binary c->s: raw terminal input bytes */
	MSG_TYPE_MAX
};

struct evbuffer;

/* The hello every client sends first: {"proto":[min,max]}. */
void	 proto_add_hello(struct evbuffer *);
const char *proto_hello_json(void);
/* A command message {"id":N, "argv":[...]}; callers may add fields. */
struct cJSON;
struct cJSON *proto_command_new(uint32_t, int, char **);
/* Append a JSON message and free it. */
void	 proto_add_cjson(struct evbuffer *, enum msg_type, struct cJSON *);

/* Append one frame to an evbuffer. */
void	 proto_add(struct evbuffer *, enum msg_type, const void *, size_t);
void	 proto_add_json(struct evbuffer *, enum msg_type, const char *);

/*
 * Take one complete frame from the front of an evbuffer.  Returns 1 and sets
 * *type, *data (malloc'd, NUL-terminated for convenience) and *len; 0 if more
 * bytes are needed; -1 with *cause set for an oversized or empty frame.
 */
int	 proto_take(struct evbuffer *, uint8_t *, char **, size_t *, char **);

const char	*proto_type_name(uint8_t);

/* Write what a bufferevent has queued now, rather than on the next loop:
 * saves a poll round trip on the keystroke path.  Needs a nonblocking fd. */
struct bufferevent;
void	 proto_flush(struct bufferevent *);

static inline void
proto_put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static inline uint16_t
proto_get16(const uint8_t *p)
{
	return ((uint16_t)p[0] << 8 | p[1]);
}

static inline void
proto_put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static inline uint32_t
proto_get32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3]);
}

static inline void
proto_put64(uint8_t *p, uint64_t v)
{
	int	i;

	for (i = 7; i >= 0; i--, v >>= 8)
		p[i] = v;
}

static inline uint64_t
proto_get64(const uint8_t *p)
{
	uint64_t	v = 0;
	int		i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return (v);
}

#endif

/*
 * common/util.c: small helpers with no better home: monotonic clocks, UTF-8
 * (one code point encoded or decoded, text checked, repaired for JSON or
 * escaped for a terminal), descriptor flags.
 */
#include <fcntl.h>
#include <string.h>
#include <time.h>

#include "common.h"

uint64_t
now_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
}

uint64_t
now_ms(void)
{
	return (now_us() / 1000);
}

size_t
utf8_encode(uint32_t c, char *out)
{
	if (c < 0x80) {
		out[0] = c;
		return (1);
	}
	if (c < 0x800) {
		out[0] = 0xc0 | (c >> 6);
		out[1] = 0x80 | (c & 0x3f);
		return (2);
	}
	if (c < 0x10000) {
		out[0] = 0xe0 | (c >> 12);
		out[1] = 0x80 | ((c >> 6) & 0x3f);
		out[2] = 0x80 | (c & 0x3f);
		return (3);
	}
	if (c > 0x10ffff)
		c = 0xfffd;
	if (c > 0x10ffff || c < 0x10000)
		return (utf8_encode(0xfffd, out));
	out[0] = 0xf0 | (c >> 18);
	out[1] = 0x80 | ((c >> 12) & 0x3f);
	out[2] = 0x80 | ((c >> 6) & 0x3f);
	out[3] = 0x80 | (c & 0x3f);
	return (4);
}

/*
 * The code point of the UTF-8 sequence at s (n > 0 bytes left): its length,
 * or 0 if it is not valid UTF-8 (overlong, a surrogate, past U+10FFFF, cut).
 */
size_t
utf8_next(const u_char *s, size_t n, uint32_t *cp)
{
	size_t		 len, i;
	uint32_t	 c, min;

	if (s[0] < 0x80) {
		*cp = s[0];
		return (1);
	}
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2;
		c = s[0] & 0x1f;
		min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3;
		c = s[0] & 0x0f;
		min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4;
		c = s[0] & 0x07;
		min = 0x10000;
	} else
		return (0);
	if (len > n)
		return (0);
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return (0);
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return (0);
	*cp = c;
	return (len);
}

/* Characters a terminal acts on, or that reorder what it shows. */
int
utf8_is_control(uint32_t c)
{
	return (c < 0x20 || (c >= 0x7f && c <= 0x9f) ||	/* C0, DEL, C1 */
	    c == 0x200e || c == 0x200f ||			/* LRM, RLM */
	    (c >= 0x202a && c <= 0x202e) ||			/* embeddings */
	    (c >= 0x2066 && c <= 0x2069));			/* isolates */
}

/*
 * 1 if the len bytes at s are valid UTF-8; else 0 with the offset of the
 * first byte that is not in *bad (if bad is not NULL).
 */
int
utf8_valid(const char *s, size_t len, size_t *bad)
{
	const u_char	*p = (const u_char *)s;
	size_t		 off = 0, n;
	uint32_t	 c;

	while (off < len) {
		if ((n = utf8_next(p + off, len - off, &c)) == 0) {
			if (bad != NULL)
				*bad = off;
			return (0);
		}
		off += n;
	}
	return (1);
}

/*
 * A copy of the len bytes at s that is valid UTF-8 with no NUL, for JSON:
 * each byte of an invalid sequence, and each NUL, becomes U+FFFD.
 */
char *
utf8_repair(const char *s, size_t len)
{
	const u_char	*p = (const u_char *)s;
	struct buf	 o;
	size_t		 off = 0, n;
	uint32_t	 c;

	buf_init(&o);
	while (off < len) {
		if ((n = utf8_next(p + off, len - off, &c)) == 0 || c == 0) {
			buf_add(&o, "\xef\xbf\xbd", 3);
			off++;
			continue;
		}
		buf_add(&o, p + off, n);
		off += n;
	}
	buf_add(&o, "", 1);
	return (o.data);
}

/*
 * s made safe to print to a terminal, on one line: \t, \n, \r and \xNN
 * for the other C0 controls, DEL and each byte that is not UTF-8; \uNNNN
 * for C1 controls and bidirectional marks; all else as it is.
 */
char *
utf8_escape(const char *s)
{
	const u_char	*p = (const u_char *)s;
	struct buf	 o;
	size_t		 off = 0, len = strlen(s), n;
	uint32_t	 c;

	buf_init(&o);
	while (off < len) {
		if ((n = utf8_next(p + off, len - off, &c)) == 0) {
			buf_printf(&o, "\\x%02x", p[off]);
			off++;
			continue;
		}
		if (c == '\t')
			buf_addstr(&o, "\\t");
		else if (c == '\n')
			buf_addstr(&o, "\\n");
		else if (c == '\r')
			buf_addstr(&o, "\\r");
		else if (c < 0x80 && utf8_is_control(c))
			buf_printf(&o, "\\x%02x", c);
		else if (utf8_is_control(c))
			buf_printf(&o, "\\u%04x", c);
		else
			buf_add(&o, p + off, n);
		off += n;
	}
	buf_add(&o, "", 1);
	return (o.data);
}

int
set_nonblock(int fd)
{
	int	 fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1)
		return (-1);
	return (fcntl(fd, F_SETFL, fl | O_NONBLOCK));
}

int
set_cloexec(int fd)
{
	int	 fl;

	if ((fl = fcntl(fd, F_GETFD)) == -1)
		return (-1);
	return (fcntl(fd, F_SETFD, fl | FD_CLOEXEC));
}

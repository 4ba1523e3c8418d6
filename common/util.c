/*
 * common/util.c: small helpers with no better home: monotonic clocks, UTF-8
 * encoding of one code point, descriptor flags.
 */
#include <fcntl.h>
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

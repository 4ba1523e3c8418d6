/*
 * bench/exec-floor.c: the least a client process can cost.  It sends the
 * frames in FILE (a HELLO and a COMMAND, prepared by bench/exec.py) to the
 * server on SOCKET, copies MSG_STDOUT and MSG_STDERR payloads out, and exits
 * 0 at the first MSG_REPLY.  No loopsy code, no libraries: built static by
 * bench/exec.py, it is the floor for `loopsy exec` through any client.
 *
 *	exec-floor SOCKET FILE
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

static char	 buf[1 << 16];

int
main(int argc, char **argv)
{
	struct sockaddr_un	 sun = { .sun_family = AF_UNIX };
	size_t			 have, len;
	ssize_t			 n;
	int			 fd, s;

	if (argc != 3 || strlen(argv[1]) >= sizeof sun.sun_path)
		return (2);
	if ((fd = open(argv[2], O_RDONLY)) == -1 ||
	    (n = read(fd, buf, sizeof buf)) <= 0)
		return (2);
	close(fd);
	strcpy(sun.sun_path, argv[1]);
	if ((s = socket(AF_UNIX, SOCK_STREAM, 0)) == -1 ||
	    connect(s, (struct sockaddr *)&sun, sizeof sun) == -1 ||
	    write(s, buf, n) != n)
		return (2);
	for (have = 0;;) {
		if ((n = read(s, buf + have, sizeof buf - have)) <= 0)
			return (3);
		have += n;
		while (have >= 5) {
			len = ((size_t)(uint8_t)buf[0] << 24) |
			    ((size_t)(uint8_t)buf[1] << 16) |
			    ((size_t)(uint8_t)buf[2] << 8) | (uint8_t)buf[3];
			if (len + 4 > sizeof buf)
				return (3);
			if (have < len + 4)
				break;
			if (buf[4] == 3)
				return (0);
			if (buf[4] == 11 || buf[4] == 13)
				write(buf[4] == 11 ? 1 : 2, buf + 5, len - 1);
			memmove(buf, buf + len + 4, have - len - 4);
			have -= len + 4;
		}
	}
}

/*
 * server/operate.c: what the operating commands that run in the client
 * (init, doctor, key generate, enable) share: the socket the user named with
 * -L/-S, one blocking command to the running server with its output
 * captured, and checks of file modes.  The server side is not here.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>

#include "common/crypto.h"
#include "common/proto.h"
#include "server.h"

#define OPERATE_TIMEOUT	10	/* seconds for the server to answer */

char	*operate_socket;	/* set by client/main.c */
int	 operate_socket_given;	/* ... from -L or -S, not the default */

/*
 * Connect to the server's socket; hint (or NULL) follows "no server
 * running on PATH" to say what needs it.
 */
int
operate_connect(const char *hint, char **cause)
{
	struct sockaddr_un	 sa;
	int			 fd;

	if (operate_socket == NULL) {
		xasprintf(cause, "no server socket");
		return (-1);
	}
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	if (strlcpy(sa.sun_path, operate_socket, sizeof sa.sun_path) >=
	    sizeof sa.sun_path) {
		xasprintf(cause, "socket path too long: %s", operate_socket);
		return (-1);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC, 0)) == -1) {
		xasprintf(cause, "socket: %s", strerror(errno));
		return (-1);
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		if (errno == ENOENT || errno == ECONNREFUSED)
			xasprintf(cause, "no server running on %s%s%s%s",
			    operate_socket, hint != NULL ? " (" : "",
			    hint != NULL ? hint : "", hint != NULL ? ")" : "");
		else
			xasprintf(cause, "error connecting to %s: %s",
			    operate_socket, strerror(errno));
		close(fd);
		return (-1);
	}
	return (fd);
}

/* The same, for a short exchange: a stuck server fails it. */
static int
operate_connect_timed(char **cause)
{
	struct timeval	 tv = { OPERATE_TIMEOUT, 0 };
	int		 fd;

	if ((fd = operate_connect(NULL, cause)) == -1)
		return (-1);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	return (fd);
}

/* Is a server answering on the socket? */
int
operate_server_live(void)
{
	char	*cause = NULL;
	int	 fd;

	if ((fd = operate_connect_timed(&cause)) == -1) {
		free(cause);
		return (0);
	}
	close(fd);
	return (1);
}

static void
operate_send(struct evbuffer *evb, int argc, char **argv)
{
	proto_add_hello(evb);
	proto_add_cjson(evb, MSG_COMMAND, proto_command_new(1, argc, argv));
}

/* The exit status in a reply; its error message goes to *cause. */
static int
operate_reply(const char *data, char **cause)
{
	cJSON	*j = cJSON_Parse(data), *e, *m;
	int	 status;

	if (j == NULL) {
		xasprintf(cause, "bad reply from server");
		return (-1);
	}
	e = cJSON_GetObjectItem(j, "exit");
	status = cJSON_IsNumber(e) ? e->valueint : 1;
	if (status != 0) {
		m = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "error"),
		    "message");
		xasprintf(cause, "%s", cJSON_IsString(m) ? m->valuestring :
		    "command failed");
	}
	cJSON_Delete(j);
	return (status);
}

/*
 * Run one command on the server and wait for its reply.  Standard output
 * is added to out.  Returns the command's exit status (its error message
 * in *cause when not 0), or -1 with *cause set if there was no answer.
 */
int
operate_call(int argc, char **argv, struct buf *out, char **cause)
{
	struct evbuffer	*evb = evbuffer_new(), *in = evbuffer_new();
	uint8_t		 type;
	char		*data;
	size_t		 len;
	int		 fd, rc, status = -1;

	*cause = NULL;
	if ((fd = operate_connect_timed(cause)) == -1)
		goto out;
	operate_send(evb, argc, argv);
	while (evbuffer_get_length(evb) > 0) {
		if (evbuffer_write(evb, fd) <= 0 && errno != EINTR) {
			xasprintf(cause, "lost server: %s", strerror(errno));
			goto out;
		}
	}
	for (;;) {
		rc = proto_take(in, &type, &data, &len, cause);
		if (rc == -1)
			goto out;
		if (rc == 0) {
			rc = evbuffer_read(in, fd, 65536);
			if (rc == -1 && errno == EINTR)
				continue;
			if (rc <= 0) {
				xasprintf(cause, "lost server%s%s", rc == 0 ?
				    "" : ": ", rc == 0 ? "" : strerror(errno));
				goto out;
			}
			continue;
		}
		if (type == MSG_STDOUT && out != NULL)
			buf_add(out, data, len);
		else if (type == MSG_HELLO && strstr(data, "\"error\"") != NULL)
			xasprintf(cause, "server refused: %s", data);
		else if (type == MSG_REPLY)
			status = operate_reply(data, cause);
		free(data);
		if (type == MSG_REPLY || *cause != NULL)
			break;
	}
out:
	if (fd != -1)
		close(fd);
	evbuffer_free(evb);
	evbuffer_free(in);
	return (status);
}

/*
 * Is path private enough?  0 if it is no more open than max (e.g. 0600);
 * -1 with *cause naming the mode and the chmod that fixes it.
 */
int
operate_check_mode(const char *path, mode_t max, char **cause)
{
	struct stat	 sb;

	if (lstat(path, &sb) != 0) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return (-1);
	}
	if (S_ISLNK(sb.st_mode)) {
		/* A chmod would change whatever the link points at. */
		xasprintf(cause, "%s is a symbolic link; replace it with the "
		    "file itself", path);
		return (-1);
	}
	if (sb.st_uid != getuid()) {
		xasprintf(cause, "%s is owned by uid %ld, not you", path,
		    (long)sb.st_uid);
		return (-1);
	}
	if ((sb.st_mode & 07777 & ~max) != 0) {
		xasprintf(cause, "%s is mode %04o, should be %04o", path,
		    sb.st_mode & 07777, max);
		return (-1);
	}
	return (0);
}

/*
 * The next JSON line of what a command printed into line, wiped from it once
 * read (pair and mobile pair lines carry secrets); lines that do not parse
 * are dropped.  0 if no whole line is there yet.
 */
int
operate_take_line(struct buf *line, struct cJSON **j)
{
	char	*nl;
	size_t	 n;

	while (line->len != 0 &&
	    (nl = memchr(line->data, '\n', line->len)) != NULL) {
		n = nl - line->data;
		*nl = '\0';
		*j = cJSON_Parse(line->data);
		crypto_cleanse(line->data, n);
		memmove(line->data, nl + 1, line->len - n - 1);
		line->len -= n + 1;
		if (*j != NULL)
			return (1);
	}
	return (0);
}

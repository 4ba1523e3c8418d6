/*
 * client/client.c: one command against the server.  Find or make the socket
 * directory, connect (starting the server first if the command may), send
 * hello and the command, print what comes back and exit with its status; an
 * attach reply hands over to attach.c.
 */
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "common/common.h"
#include "common/crypto.h"
#include "common/proto.h"
#include "server/server.h"
#include "client/client.h"

struct client_state {
	struct event_base	*base;
	struct bufferevent	*bev;
	int			 exit_status;
	int			 attach;
	int			 done;
	int			 heard;		/* any frame from the server */
	int			 retry;		/* it went before reading ours */
};

/* $TMPDIR/loopsy-UID/label, with the directory made 0700 and checked. */
char *
client_socket_path(const char *label, const char *path, char **cause)
{
	const char	*tmp = getenv("TMPDIR");
	char		*dir, *out, cwd[PATH_MAX];
	struct stat	 sb;

	if (path != NULL && *path != '/') {
		/* The server runs in /, so it needs the full path. */
		if (getcwd(cwd, sizeof cwd) == NULL) {
			xasprintf(cause, "cannot resolve %s: %s", path,
			    strerror(errno));
			return (NULL);
		}
		xasprintf(&out, "%s/%s", cwd, path);
		return (out);
	}
	if (path != NULL)
		return (xstrdup(path));
	if (label == NULL)
		label = "default";
	if (strchr(label, '/') != NULL) {
		xasprintf(cause, "socket name may not contain '/': %s", label);
		return (NULL);
	}
	if (tmp == NULL || *tmp == '\0')
		tmp = "/tmp";
	xasprintf(&dir, "%s/loopsy-%ld", tmp, (long)getuid());
	if (mkdir(dir, S_IRWXU) != 0 && errno != EEXIST) {
		xasprintf(cause, "cannot create %s: %s", dir, strerror(errno));
		free(dir);
		return (NULL);
	}
	if (lstat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode) ||
	    sb.st_uid != getuid() || (sb.st_mode & (S_IRWXG|S_IRWXO)) != 0) {
		xasprintf(cause, "unsafe socket directory %s: it must be a "
		    "directory owned by you with mode 0700", dir);
		free(dir);
		return (NULL);
	}
	xasprintf(&out, "%s/%s", dir, label);
	free(dir);
	return (out);
}

int
client_connect(const char *path)
{
	struct sockaddr_un	 sa;
	int			 fd;

	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	if (strlcpy(sa.sun_path, path, sizeof sa.sun_path) >=
	    sizeof sa.sun_path) {
		errno = ENAMETOOLONG;
		return (-1);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC, 0)) == -1)
		return (-1);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		close(fd);
		return (-1);
	}
	return (fd);
}

/* The server always keeps logs/server.log for warnings; -v adds more. */
static void
client_server_log(void)
{
	char	*path, *cause = NULL;

	if (loopsy_mkdir("logs", &cause) != 0) {
		free(cause);
		return;
	}
	path = loopsy_path("logs/server.log");
	log_open(path, client_verbose);
	free(path);
}

/*
 * Fork a server on path and wait until it listens (or says why not).  The
 * caller becomes the server's first client through a socket pair made before
 * the fork, so the new server never sits empty and unwatched.  Returns our
 * end of the pair, or -1 with *cause set.
 */
int
client_start_server(const char *path, char **cause)
{
	int	 fds[2], pair[2], null;
	pid_t	 pid;
	char	 buf[1024], *scause = NULL;
	ssize_t	 n, len = 0;

	if (pipe2(fds, O_CLOEXEC) != 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC, 0, pair) != 0) {
		xasprintf(cause, "pipe: %s", strerror(errno));
		return (-1);
	}
	if ((pid = fork()) == -1) {
		xasprintf(cause, "fork: %s", strerror(errno));
		return (-1);
	}
	if (pid == 0) {
		close(fds[0]);
		close(pair[0]);
		/* The caller's log (-v) may sit where fds 3 and 4 go. */
		log_close();
		setsid();
		if ((pid = fork()) != 0)
			_exit(pid == -1);
		if ((null = open("/dev/null", O_RDWR)) != -1) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
			if (null > 2)
				close(null);
		}
		/* Keep nothing of the caller's: the ready pipe as 3, the pair as 4. */
		if (dup2(fds[1], 3) == -1 || dup2(pair[1], 4) == -1)
			_exit(1);
		fcntl(3, F_SETFD, FD_CLOEXEC);
		fcntl(4, F_SETFD, FD_CLOEXEC);
		compat_closefrom(5);
		client_server_log();
		if (chdir("/") != 0)
			_exit(1);
		if (server_start(path, 0, 3, 4, &scause) != 0) {
			dprintf(3, "%s\n", scause);
			_exit(1);
		}
		_exit(0);
	}
	close(fds[1]);
	close(pair[1]);
	waitpid(pid, NULL, 0);	/* the first child exits at once */
	while (len < (ssize_t)sizeof buf - 1) {
		n = read(fds[0], buf + len, sizeof buf - 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += n;
		if (memchr(buf, '\n', len) != NULL)
			break;
	}
	close(fds[0]);
	buf[len] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (strcmp(buf, "ok") == 0)
		return (pair[0]);
	close(pair[0]);
	xasprintf(cause, "%s", len != 0 ? buf : "server failed to start");
	return (-1);
}

static void
client_write_all(int fd, const char *data, size_t len)
{
	ssize_t	 n;

	while (len > 0) {
		n = write(fd, data, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		data += n;
		len -= n;
	}
}

static void
client_reply(struct client_state *cs, const char *data)
{
	cJSON	*j = cJSON_Parse(data), *e, *m;

	cs->done = 1;
	if (j == NULL) {
		fprintf(stderr, "bad reply from server\n");
		cs->exit_status = 1;
		return;
	}
	e = cJSON_GetObjectItem(j, "exit");
	cs->exit_status = cJSON_IsNumber(e) ? e->valueint : 1;
	if ((e = cJSON_GetObjectItem(j, "error")) != NULL &&
	    (m = cJSON_GetObjectItem(e, "message")) != NULL &&
	    cJSON_IsString(m) && *m->valuestring != '\0')
		fprintf(stderr, "%s\n", m->valuestring);
	cs->attach = cJSON_IsTrue(cJSON_GetObjectItem(j, "attach"));
	if (cs->attach && cJSON_IsString(cJSON_GetObjectItem(j, "session"))) {
		free(remote_session);
		remote_session = xstrdup(cJSON_GetObjectItem(j,
		    "session")->valuestring);
		if (cJSON_IsNumber(cJSON_GetObjectItem(j, "sessionId")))
			remote_session_id = cJSON_GetObjectItem(j,
			    "sessionId")->valueint;
	}
	cJSON_Delete(j);
}

static void
client_read_cb(struct bufferevent *bev, void *arg)
{
	struct client_state	*cs = arg;
	uint8_t			 type;
	char			*data, *cause;
	size_t			 len;
	int			 rc;

	while (!cs->done) {
		rc = proto_take(bufferevent_get_input(bev), &type, &data, &len,
		    &cause);
		if (rc == 0)
			return;
		cs->heard = 1;
		if (rc == -1) {
			fprintf(stderr, "server: %s\n", cause);
			cs->exit_status = 1;
			cs->done = 1;
			break;
		}
		if (type == MSG_STDOUT)
			client_write_all(1, data, len);
		else if (type == MSG_STDERR)
			client_write_all(2, data, len);
		else if (type == MSG_REPLY)
			client_reply(cs, data);
		else if (type == MSG_HELLO && strstr(data, "\"error\"") != NULL) {
			fprintf(stderr, "server refused: %s\n", data);
			cs->exit_status = 1;
			cs->done = 1;
		}
		free(data);
	}
	event_base_loopbreak(cs->base);
}

static void
client_event_cb(struct bufferevent *bev __unused, short what, void *arg)
{
	struct client_state	*cs = arg;

	if (what & (BEV_EVENT_EOF|BEV_EVENT_ERROR)) {
		if (!cs->done && !cs->heard && !client_remote) {
			/*
			 * Not a word back: a server started on demand was
			 * exiting (its last session gone) as we connected, and
			 * never read the command.  Safe to try again.
			 */
			cs->retry = 1;
			cs->done = 1;
		} else if (!cs->done) {
			fprintf(stderr, "lost server\n");
			cs->exit_status = 1;
			cs->done = 1;
		}
		event_base_loopbreak(cs->base);
	}
}

static void
client_send_command(struct client_state *cs, int argc, char **argv)
{
	struct evbuffer	*out = bufferevent_get_output(cs->bev);
	struct winsize	 ws;
	cJSON		*j, *t;
	char		 cwd[PATH_MAX];
	const char	*loopsy = getenv("LOOPSY");

	proto_add_hello(out);
	j = proto_command_new(1, argc, argv);
	if (getcwd(cwd, sizeof cwd) != NULL)
		cJSON_AddStringToObject(j, "cwd", cwd);
	if (loopsy != NULL)
		cJSON_AddStringToObject(j, "loopsy", loopsy);
	if (remote_token != NULL)
		cJSON_AddStringToObject(j, "resume", remote_token);
	if (isatty(0) && isatty(1) && ioctl(0, TIOCGWINSZ, &ws) == 0) {
		t = cJSON_AddObjectToObject(j, "tty");
		cJSON_AddNumberToObject(t, "cols", ws.ws_col ? ws.ws_col : 80);
		cJSON_AddNumberToObject(t, "rows", ws.ws_row ? ws.ws_row : 24);
	}
	proto_add_cjson(out, MSG_COMMAND, j);
}

/* Would this command attach the terminal it runs in? */
static int
client_wants_attach(const struct cmd_def *def, int argc, char **argv)
{
	struct args	*args;
	char		*cause = NULL;
	int		 attach;

	if (strcmp(def->name, "attach-session") == 0)
		return (1);
	if (strcmp(def->name, "new-session") != 0)
		return (0);
	args = args_parse(def->flags, def->longs, argc - 1, argv + 1, &cause);
	attach = args != NULL && !args_has(args, 'd');
	args_free(args);
	free(cause);
	return (attach);
}

/* Connect to the server, starting one if the command may; -1 if not. */
int
client_open(const char *path, const struct cmd_def *def)
{
	char	*cause = NULL;
	int	 fd;

	if ((fd = client_connect(path)) != -1)
		return (fd);
	if (!def->start_server || (errno != ENOENT && errno != ECONNREFUSED)) {
		if (errno == ENOENT || errno == ECONNREFUSED)
			fprintf(stderr, "no server running on %s\n", path);
		else
			fprintf(stderr, "error connecting to %s: %s\n", path,
			    strerror(errno));
		return (-1);
	}
	fd = client_start_server(path, &cause);
	if (fd == -1 && strstr(cause, "already running") == NULL) {
		fprintf(stderr, "%s\n", cause);
		free(cause);
		return (-1);
	}
	free(cause);
	if (fd == -1 && (fd = client_connect(path)) == -1) {
		fprintf(stderr, "error connecting to %s: %s\n", path,
		    strerror(errno));
		return (-1);
	}
	return (fd);
}

int
client_run(const char *path, const struct cmd_def *def, int argc, char **argv)
{
	struct client_state	 cs;
	char			*cause = NULL, *host;
	int			 fd, tries = 0, rv;

	signal(SIGPIPE, SIG_IGN);
	if (getenv("LOOPSY") != NULL && *getenv("LOOPSY") != '\0' &&
	    client_wants_attach(def, argc, argv)) {
		fprintf(stderr, "sessions should be nested with care, unset "
		    "$LOOPSY to force\n");
		return (1);
	}
	if ((rv = remote_msg_ack(path, def, argc, argv)) != -1)
		return (rv);		/* a message from a peer: acked there */
	if ((rv = remote_msg_send(path, def, argc, argv)) != -1)
		return (rv);		/* to a peer, with our outbox copy */
	if ((host = remote_route(def, &argc, &argv)) != NULL) {
		client_remote = 1;
		fd = remote_connect(host, &cause);
		if (client_wants_attach(def, argc, argv)) {
			/* Kept to come back if the link drops. */
			remote_host = host;
			remote_token = crypto_random_hex(16, NULL);
		} else
			free(host);
		if (fd == -1) {
			fprintf(stderr, "%s\n", cause);
			free(cause);
			return (1);
		}
	} else if ((fd = client_open(path, def)) == -1)
		return (1);
again:
	set_nonblock(fd);
	memset(&cs, 0, sizeof cs);
	cs.base = event_base_new();
	cs.bev = bufferevent_socket_new(cs.base, fd, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(cs.bev, client_read_cb, NULL, client_event_cb, &cs);
	bufferevent_enable(cs.bev, EV_READ|EV_WRITE);
	client_send_command(&cs, argc, argv);
	event_base_dispatch(cs.base);
	if (cs.attach)
		return (attach_loop(cs.base, cs.bev));
	bufferevent_free(cs.bev);
	event_base_free(cs.base);
	if (cs.retry && ++tries < 3) {
		if ((fd = client_open(path, def)) == -1)
			return (1);
		goto again;
	}
	if (cs.retry) {
		fprintf(stderr, "lost server\n");
		return (1);
	}
	return (cs.exit_status);
}

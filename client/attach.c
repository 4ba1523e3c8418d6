/*
 * client/attach.c: an attached client.  The terminal goes raw and is passed
 * to the server (MSG_TTY), which then reads its keys and draws on it itself,
 * as tmux does: keystrokes and echoes skip this process.  Where passing fails
 * (or LOOPSY_TTY_PASSING=0), what the terminal sends becomes key, paste,
 * mouse and focus messages and what the server sends is written out here;
 * writing blocks while the terminal is slow, which stops us reading the
 * socket: that is how the server learns to skip frames.  Either way we send
 * size changes, and every way out restores the terminal.
 */
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <termios.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "common/common.h"
#include "common/proto.h"
#include "common/ws.h"
#include "client/client.h"
#include "client/tty.h"

#define ATTACH_ESC_DELAY_MS	10
#define ATTACH_PASTE_CHUNK	(1024 * 1024)
/* Reconnecting a dropped link: first wait, doubling up to the last. */
#define ATTACH_RETRY_FIRST_MS	250
#define ATTACH_RETRY_MAX_MS	15000
#define ATTACH_RETRY_TIMEOUT_MS	5000	/* for each try */

struct attach {
	struct event_base	*base;
	struct bufferevent	*bev;
	struct tty		 tty;
	struct tty_keys		*keys;
	struct event		*ev_stdin;
	struct event		*ev_escape;
	struct event		*ev_winch;
	struct event		*ev_term;
	struct event		*ev_hup;
	struct buf		 keybuf;	/* key codes batched per read */
	char			*message;	/* printed after restoring */
	int			 exit_status;
	int			 passed;	/* the server has the terminal */
	/* A peer link that dropped (remote_host set): retrying. */
	int			 lost;
	u_int			 retry_ms;
	struct event		*ev_retry;
	int			 discarded;	/* input dropped while lost */
	int			 reattaching;	/* waiting for the reply */
};

static struct tty	*attach_tty;	/* for atexit */

static void	attach_read_cb(struct bufferevent *, void *);
static void	attach_event_cb(struct bufferevent *, short, void *);
static void	attach_lost(struct attach *, const char *);
static void	attach_notice(struct attach *, const char *, ...)
		    __printflike(2, 3);
static int	attach_reattached(struct attach *, const char *);

/* The server set our terminal nonblocking while it had it: undo that. */
static void
attach_blocking(void)
{
	int	 fd, fl;

	for (fd = STDIN_FILENO; fd <= STDOUT_FILENO; fd++) {
		if ((fl = fcntl(fd, F_GETFL)) != -1 && (fl & O_NONBLOCK))
			fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	}
}

static void
attach_restore(void)
{
	if (attach_tty != NULL) {
		attach_blocking();
		tty_stop(attach_tty);
	}
}

/* Hand the terminal (stdin, stdout) to the server; 0 on success. */
static int
attach_pass_tty(struct attach *a)
{
	const char	*env = getenv("LOOPSY_TTY_PASSING");
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof (int) * 2)];
	}		 cmsg;
	uint8_t		 frame[PROTO_HEADER + 2] = { 0, 0, 0, 3, MSG_TTY, '{',
			     '}' };
	struct iovec	 iov = { frame, sizeof frame };
	struct msghdr	 msg;
	struct cmsghdr	*cm;
	int		 fds[2] = { STDIN_FILENO, STDOUT_FILENO };

	if ((env != NULL && strcmp(env, "0") == 0) || client_remote)
		return (-1);
	proto_flush(a->bev);
	if (evbuffer_get_length(bufferevent_get_output(a->bev)) != 0)
		return (-1);
	memset(&msg, 0, sizeof msg);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cmsg.buf;
	msg.msg_controllen = sizeof cmsg.buf;
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof fds);
	memcpy(CMSG_DATA(cm), fds, sizeof fds);
	if (sendmsg(bufferevent_getfd(a->bev), &msg, 0) != sizeof frame)
		return (-1);
	return (0);
}

static void
attach_write(const char *data, size_t len)
{
	ssize_t	 n;

	while (len > 0) {
		n = write(STDOUT_FILENO, data, len);
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return;
		data += n;
		len -= n;
	}
}

static void
attach_send(struct attach *a, enum msg_type type, const void *data, size_t len)
{
	if (a->bev == NULL || a->lost)
		return;
	proto_add(bufferevent_get_output(a->bev), type, data, len);
	proto_flush(a->bev);
}

static void
attach_flush_keys(struct attach *a)
{
	if (a->keybuf.len == 0)
		return;
	attach_send(a, MSG_KEYS, a->keybuf.data, a->keybuf.len);
	buf_reset(&a->keybuf);
}

static void
attach_event(const struct tty_event *ev, void *arg)
{
	struct attach	*a = arg;
	uint8_t		 m[7], k[8];
	size_t		 off, n;

	switch (ev->type) {
	case TTY_EV_KEY:
		proto_put64(k, ev->key);
		buf_add(&a->keybuf, k, sizeof k);
		break;
	case TTY_EV_PASTE:
		attach_flush_keys(a);
		for (off = 0; off < ev->len; off += n) {
			n = ev->len - off;
			if (n > ATTACH_PASTE_CHUNK)
				n = ATTACH_PASTE_CHUNK;
			attach_send(a, MSG_PASTE, ev->data + off, n);
		}
		break;
	case TTY_EV_MOUSE:
		attach_flush_keys(a);
		m[0] = ev->motion && ev->button == 0 ? 0 : ev->button;
		m[1] = ev->pressed;
		m[2] = ev->mods;
		proto_put16(m + 3, ev->x);
		proto_put16(m + 5, ev->y);
		attach_send(a, MSG_MOUSE, m, sizeof m);
		break;
	case TTY_EV_FOCUS:
		attach_flush_keys(a);
		m[0] = ev->pressed;
		attach_send(a, MSG_FOCUS, m, 1);
		break;
	}
}

static void
attach_escape_cb(int fd __unused, short events __unused, void *arg)
{
	struct attach	*a = arg;

	tty_keys_flush(a->keys, attach_event, a);
	attach_flush_keys(a);
}

static void
attach_stdin_cb(int fd, short events __unused, void *arg)
{
	struct attach	*a = arg;
	struct timeval	 tv = { 0, ATTACH_ESC_DELAY_MS * 1000 };
	char		 buf[8192];
	ssize_t		 n;

	n = read(fd, buf, sizeof buf);
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		xasprintf(&a->message, "[terminal closed]");
		a->exit_status = 1;
		event_base_loopbreak(a->base);
		return;
	}
	if (a->lost || a->reattaching) {
		/* Never queue keys for whatever we reach next. */
		if (!a->discarded++)
			attach_notice(a, "input discarded: the link is down");
		return;
	}
	evtimer_del(a->ev_escape);
	if (tty_keys_feed(a->keys, buf, n, attach_event, a))
		evtimer_add(a->ev_escape, &tv);
	attach_flush_keys(a);
}

/* A line of ours on the terminal's last row (the server's status line is
 * not coming while the link is down). */
static void
attach_notice(struct attach *a, const char *fmt, ...)
{
	u_int	 cols, rows;
	char	*msg, *line;
	va_list	 ap;

	tty_size(&a->tty, &cols, &rows);
	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	xasprintf(&line, "\0337\033[%u;1H\033[0;7m[loopsy: %.*s]\033[K"
	    "\033[0m\0338", rows, cols > 12 ? (int)cols - 11 : 1, msg);
	attach_write(line, strlen(line));
	free(line);
	free(msg);
}

static void
attach_send_size(struct attach *a)
{
	u_int	 cols, rows;
	uint8_t	 m[4];

	tty_size(&a->tty, &cols, &rows);
	proto_put16(m, cols);
	proto_put16(m + 2, rows);
	attach_send(a, MSG_RESIZE, m, sizeof m);
}

static void
attach_signal_cb(int sig, short events __unused, void *arg)
{
	struct attach	*a = arg;

	if (sig == SIGWINCH) {
		if (!a->lost)
			attach_send_size(a);
		return;
	}
	xasprintf(&a->message, "[terminated]");
	a->exit_status = 1;
	event_base_loopbreak(a->base);
}

static void
attach_detached(struct attach *a, const char *data)
{
	cJSON		*j = cJSON_Parse(data), *r, *s;
	const char	*reason = "detached";

	r = j != NULL ? cJSON_GetObjectItem(j, "reason") : NULL;
	s = j != NULL ? cJSON_GetObjectItem(j, "session") : NULL;
	if (cJSON_IsString(r))
		reason = r->valuestring;
	if (cJSON_IsString(s))
		xasprintf(&a->message, "[%s (from session %s)]", reason,
		    s->valuestring);
	else
		xasprintf(&a->message, "[%s]", reason);
	cJSON_Delete(j);
	event_base_loopbreak(a->base);
}

static void
attach_read_cb(struct bufferevent *bev, void *arg)
{
	struct attach	*a = arg;
	uint8_t		 type;
	char		*data, *cause;
	size_t		 len;
	int		 rc;

	for (;;) {
		rc = proto_take(bufferevent_get_input(bev), &type, &data, &len,
		    &cause);
		if (rc == 0)
			return;
		if (rc == -1) {
			if (remote_host != NULL) {
				attach_lost(a, cause);
				free(cause);
				return;
			}
			xasprintf(&a->message, "[server error: %s]", cause);
			free(cause);
			a->exit_status = 1;
			event_base_loopbreak(a->base);
			return;
		}
		if (type == MSG_REPLY && a->reattaching) {
			if (attach_reattached(a, data) != 0) {
				free(data);
				return;
			}
		} else if (type == MSG_OUTPUT && !a->passed)
			attach_write(data, len);
		else if (type == MSG_DETACH) {
			attach_detached(a, data);
			free(data);
			return;
		}
		free(data);
	}
}

static void
attach_event_cb(struct bufferevent *bev __unused, short what, void *arg)
{
	struct attach	*a = arg;

	if (what & (BEV_EVENT_EOF|BEV_EVENT_ERROR)) {
		if (remote_host != NULL) {
			attach_lost(a, what & BEV_EVENT_EOF ?
			    "connection closed" : "connection error");
			return;
		}
		xasprintf(&a->message, "[lost server]");
		a->exit_status = 1;
		event_base_loopbreak(a->base);
	}
}

/* The answer to our attach after a reconnect: 0 if we are back. */
static int
attach_reattached(struct attach *a, const char *data)
{
	cJSON		*j = cJSON_Parse(data), *e, *m;
	const char	*why = "bad reply";

	a->reattaching = 0;
	if (j != NULL && cJSON_IsTrue(cJSON_GetObjectItem(j, "attach")) &&
	    (!cJSON_IsString(m = cJSON_GetObjectItem(j, "session")) ||
	    strcmp(m->valuestring, remote_session) != 0)) {
		/* The id is someone else's now (the server restarted). */
		xasprintf(&a->message, "[back on %s, but session %s is gone]",
		    remote_host, remote_session);
		cJSON_Delete(j);
		a->exit_status = 1;
		event_base_loopbreak(a->base);
		return (-1);
	}
	if (j != NULL && cJSON_IsTrue(cJSON_GetObjectItem(j, "attach"))) {
		cJSON_Delete(j);
		a->retry_ms = 0;
		a->discarded = 0;
		attach_send_size(a);
		return (0);
	}
	if (j != NULL && (e = cJSON_GetObjectItem(j, "error")) != NULL &&
	    cJSON_IsString(m = cJSON_GetObjectItem(e, "message")))
		why = m->valuestring;
	xasprintf(&a->message, "[back on %s, but cannot reattach: %s]",
	    remote_host, why);
	cJSON_Delete(j);
	a->exit_status = 1;
	event_base_loopbreak(a->base);
	return (-1);
}

static void
attach_retry_cb(int fd __unused, short events __unused, void *arg)
{
	struct attach	*a = arg;
	struct evbuffer	*out;
	struct timeval	 tv;
	u_int		 cols, rows, jitter;
	char		*cause = NULL, *argv[4];
	int		 nfd;
	cJSON		*j, *t;

	attach_notice(a, "link to %s lost: reconnecting now", remote_host);
	tls_timeout_ms = ATTACH_RETRY_TIMEOUT_MS;
	if ((nfd = remote_connect(remote_host, &cause)) == -1) {
		a->retry_ms = a->retry_ms == 0 ? ATTACH_RETRY_FIRST_MS :
		    a->retry_ms * 2;
		if (a->retry_ms > ATTACH_RETRY_MAX_MS)
			a->retry_ms = ATTACH_RETRY_MAX_MS;
		/* +-25% so that many clients do not come back at once. */
		jitter = arc4random_uniform(a->retry_ms / 2 + 1);
		tv.tv_sec = (a->retry_ms * 3 / 4 + jitter) / 1000;
		tv.tv_usec = (a->retry_ms * 3 / 4 + jitter) % 1000 * 1000;
		attach_notice(a, "link to %s lost (%s): retrying in %lds",
		    remote_host, cause, (long)tv.tv_sec + 1);
		free(cause);
		evtimer_add(a->ev_retry, &tv);
		return;
	}
	/* Keys typed before now were for the old link: drop them. */
	tcflush(STDIN_FILENO, TCIFLUSH);
	set_nonblock(nfd);
	a->bev = bufferevent_socket_new(a->base, nfd, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(a->bev, attach_read_cb, NULL, attach_event_cb, a);
	bufferevent_enable(a->bev, EV_READ|EV_WRITE);
	out = bufferevent_get_output(a->bev);
	proto_add_hello(out);
	argv[0] = "attach-session";
	argv[1] = "-t";
	xasprintf(&argv[2], "$%u", remote_session_id);
	j = proto_command_new(1, 3, argv);
	free(argv[2]);
	tty_size(&a->tty, &cols, &rows);
	t = cJSON_AddObjectToObject(j, "tty");
	cJSON_AddNumberToObject(t, "cols", cols);
	cJSON_AddNumberToObject(t, "rows", rows);
	cJSON_AddStringToObject(j, "resume", remote_token);
	proto_add_cjson(out, MSG_COMMAND, j);
	a->lost = 0;
	a->reattaching = 1;
}

static void
attach_drop_event(const struct tty_event *ev __unused, void *arg __unused)
{
}

/* The link dropped: say so and try again with backoff. */
static void
attach_lost(struct attach *a, const char *why)
{
	struct timeval	 tv = { 0, ATTACH_RETRY_FIRST_MS * 1000 };

	if (a->lost)
		return;
	a->lost = 1;
	a->reattaching = 0;
	if (a->bev != NULL)
		bufferevent_free(a->bev);
	a->bev = NULL;
	tty_keys_flush(a->keys, attach_drop_event, NULL);
	buf_reset(&a->keybuf);
	if (remote_session == NULL) {
		xasprintf(&a->message, "[link to %s lost: %s]", remote_host,
		    why);
		a->exit_status = 1;
		event_base_loopbreak(a->base);
		return;
	}
	attach_notice(a, "link to %s lost (%s): reconnecting", remote_host,
	    why);
	if (a->ev_retry == NULL)
		a->ev_retry = evtimer_new(a->base, attach_retry_cb, a);
	evtimer_add(a->ev_retry, &tv);
}

int
attach_loop(struct event_base *base, struct bufferevent *bev)
{
	struct attach	 a;
	char		*cause = NULL;

	memset(&a, 0, sizeof a);
	a.base = base;
	a.bev = bev;
	buf_init(&a.keybuf);
	if (tty_start(&a.tty, STDIN_FILENO, STDOUT_FILENO, getenv("TERM"),
	    &cause) != 0) {
		fprintf(stderr, "%s\n", cause);
		return (1);
	}
	attach_tty = &a.tty;
	atexit(attach_restore);
	a.keys = tty_keys_new();

	attach_read_cb(bev, &a);	/* frames that came with the reply */
	a.passed = (attach_pass_tty(&a) == 0);
	a.ev_stdin = event_new(base, STDIN_FILENO, EV_READ|EV_PERSIST,
	    attach_stdin_cb, &a);
	a.ev_escape = evtimer_new(base, attach_escape_cb, &a);
	a.ev_winch = evsignal_new(base, SIGWINCH, attach_signal_cb, &a);
	a.ev_term = evsignal_new(base, SIGTERM, attach_signal_cb, &a);
	a.ev_hup = evsignal_new(base, SIGHUP, attach_signal_cb, &a);
	if (!a.passed)
		event_add(a.ev_stdin, NULL);
	evsignal_add(a.ev_winch, NULL);
	evsignal_add(a.ev_term, NULL);
	evsignal_add(a.ev_hup, NULL);
	bufferevent_setcb(bev, attach_read_cb, NULL, attach_event_cb, &a);
	bufferevent_enable(bev, EV_READ|EV_WRITE);
	attach_send_size(&a);
	if (a.message == NULL)		/* not detached already */
		event_base_dispatch(base);

	attach_blocking();
	tty_stop(&a.tty);
	attach_tty = NULL;
	if (a.message != NULL)
		printf("%s\n", a.message);
	free(a.message);
	tty_keys_free(a.keys);
	buf_free(&a.keybuf);
	event_free(a.ev_stdin);
	event_free(a.ev_escape);
	event_free(a.ev_winch);
	event_free(a.ev_term);
	event_free(a.ev_hup);
	if (a.ev_retry != NULL)
		event_free(a.ev_retry);
	if (a.bev != NULL)
		bufferevent_free(a.bev);
	event_base_free(base);
	return (a.exit_status);
}

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
#include "client/client.h"
#include "client/tty.h"

#define ATTACH_ESC_DELAY_MS	10
#define ATTACH_PASTE_CHUNK	(1024 * 1024)

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
};

static struct tty	*attach_tty;	/* for atexit */

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

	if (env != NULL && strcmp(env, "0") == 0)
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
	evtimer_del(a->ev_escape);
	if (tty_keys_feed(a->keys, buf, n, attach_event, a))
		evtimer_add(a->ev_escape, &tv);
	attach_flush_keys(a);
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
			xasprintf(&a->message, "[server error: %s]", cause);
			free(cause);
			a->exit_status = 1;
			event_base_loopbreak(a->base);
			return;
		}
		if (type == MSG_OUTPUT && !a->passed)
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
		xasprintf(&a->message, "[lost server]");
		a->exit_status = 1;
		event_base_loopbreak(a->base);
	}
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
	bufferevent_free(bev);
	event_base_free(base);
	return (a.exit_status);
}

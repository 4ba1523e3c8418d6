/*
 * server/server-tty.c: a local client's terminal, passed to the server over
 * the socket (as tmux does) so keystrokes and screen updates skip the client
 * process.  This file reads and parses that terminal's input and writes
 * frames to it, queueing what it cannot take yet; server-client.c decides
 * what to draw and when.  Remote clients never have one.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "common/tty-keys.h"
#include "server.h"

#define SERVER_TTY_ESC_US	10000	/* a lone ESC is Escape after this */
#define SERVER_TTY_LOW_WATER	(16 * 1024)

struct server_tty {
	struct client	*c;		/* NULL once given back */
	int		 busy;		/* inside the parser: free later */
	int		 in;
	int		 out;
	int		 in_flags;	/* file status flags to put back */
	int		 out_flags;
	struct event	*ev_read;
	struct event	*ev_write;
	struct event	*ev_escape;
	struct evbuffer	*pending;	/* frames the terminal has not taken */
	struct tty_keys	*keys;
};

static void
server_tty_free(struct server_tty *t)
{
	event_free(t->ev_read);
	event_free(t->ev_write);
	event_free(t->ev_escape);
	evbuffer_free(t->pending);
	tty_keys_free(t->keys);
	free(t);
}

/*
 * A key may detach the client or end it, which gives the terminal back
 * while the parser is still running: events after that are dropped and the
 * memory is freed when the parser returns.
 */
static void
server_tty_event(const struct tty_event *ev, void *arg)
{
	struct server_tty	*t = arg;

	if (t->c != NULL)
		server_client_input_event(ev, t->c);
}

static void
server_tty_escape_cb(int fd __unused, short events __unused, void *arg)
{
	struct server_tty	*t = arg;

	t->busy = 1;
	tty_keys_flush(t->keys, server_tty_event, t);
	t->busy = 0;
	if (t->c == NULL)
		server_tty_free(t);
}

static void
server_tty_read_cb(int fd, short events __unused, void *arg)
{
	struct server_tty	*t = arg;
	struct timeval		 tv = { 0, SERVER_TTY_ESC_US };
	char			 buf[8192];
	ssize_t			 n;
	int			 pending;

	n = read(fd, buf, sizeof buf);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		/* The terminal went away; the client will notice too. */
		event_del(t->ev_read);
		return;
	}
	evtimer_del(t->ev_escape);
	t->busy = 1;
	pending = tty_keys_feed(t->keys, buf, n, server_tty_event, t);
	t->busy = 0;
	if (t->c == NULL)
		server_tty_free(t);
	else if (pending)
		evtimer_add(t->ev_escape, &tv);
}

static void
server_tty_write_cb(int fd, short events __unused, void *arg)
{
	struct server_tty	*t = arg;
	int			 n;

	n = evbuffer_write(t->pending, fd);
	if (n == -1 && errno != EAGAIN && errno != EINTR) {
		/* A dead terminal: drop what it cannot take. */
		evbuffer_drain(t->pending, evbuffer_get_length(t->pending));
		return;
	}
	if (evbuffer_get_length(t->pending) != 0)
		event_add(t->ev_write, NULL);
	if (evbuffer_get_length(t->pending) <= SERVER_TTY_LOW_WATER)
		server_client_drained(t->c);
}

/* Take over the terminal fds a client passed; closes them on failure. */
int
server_tty_open(struct client *c, int in, int out, char **cause)
{
	struct server_tty	*t;

	if (!isatty(in) || !isatty(out)) {
		xasprintf(cause, "passed descriptors are not a terminal");
		close(in);
		close(out);
		return (-1);
	}
	server_tty_close(c);
	t = xcalloc(1, sizeof *t);
	t->c = c;
	t->in = in;
	t->out = out;
	t->in_flags = fcntl(in, F_GETFL);
	t->out_flags = fcntl(out, F_GETFL);
	set_nonblock(in);
	set_nonblock(out);
	t->pending = evbuffer_new();
	t->keys = tty_keys_new();
	t->ev_read = event_new(server_base, in, EV_READ|EV_PERSIST,
	    server_tty_read_cb, t);
	t->ev_write = event_new(server_base, out, EV_WRITE, server_tty_write_cb,
	    t);
	t->ev_escape = evtimer_new(server_base, server_tty_escape_cb, t);
	c->tty = t;
	if (c->flags & CLIENT_ATTACHED)
		event_add(t->ev_read, NULL);
	return (0);
}

/* Give the terminal back: unread input stays, unsent frames are dropped. */
void
server_tty_close(struct client *c)
{
	struct server_tty	*t = c->tty;

	if (t == NULL)
		return;
	c->tty = NULL;
	t->c = NULL;
	event_del(t->ev_read);
	event_del(t->ev_write);
	event_del(t->ev_escape);
	if (t->in_flags != -1)
		fcntl(t->in, F_SETFL, t->in_flags);
	if (t->out_flags != -1)
		fcntl(t->out, F_SETFL, t->out_flags);
	close(t->in);
	close(t->out);
	if (!t->busy)
		server_tty_free(t);
}

/* Read keys only while attached. */
void
server_tty_reading(struct client *c, int on)
{
	if (c->tty == NULL)
		return;
	if (on)
		event_add(c->tty->ev_read, NULL);
	else
		event_del(c->tty->ev_read);
}

void
server_tty_write(struct client *c, const void *data, size_t len)
{
	struct server_tty	*t = c->tty;
	ssize_t			 n = 0;

	if (evbuffer_get_length(t->pending) == 0) {
		n = write(t->out, data, len);
		if (n < 0)
			n = 0;
		if ((size_t)n == len)
			return;
	}
	evbuffer_add(t->pending, (const char *)data + n, len - n);
	event_add(t->ev_write, NULL);
}

size_t
server_tty_queued(struct client *c)
{
	return (c->tty != NULL ? evbuffer_get_length(c->tty->pending) : 0);
}

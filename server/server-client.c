/*
 * server/server-client.c: one connection to the server.  It reads frames,
 * runs commands, and for an attached client draws the session: when the
 * session changes and the client's socket can take more, render what changed
 * since this client last looked (so a slow client skips states instead of
 * queueing them) plus the status line or the active mode.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "common/crypto.h"
#include "common/proto.h"
#include "common/tty-keys.h"
#include "server.h"

struct clients	 clients = TAILQ_HEAD_INITIALIZER(clients);
static u_int	 client_next_id;
static struct event *client_flush_ev;

/*
 * While a session streams output (CLIENT_PACE_BYTES or more since this
 * client's last frame), send it at most one frame per CLIENT_FRAME_US: it
 * sees the latest screen, not every one.  A change after a quiet spell, an
 * echoed key or a mode's redraw, goes out at once.
 */
#define CLIENT_FRAME_US		8000
#define CLIENT_PACE_BYTES	1024

/* Don't render more while this much output is still queued for a client. */
#define CLIENT_HIGH_WATER	(64 * 1024)
#define CLIENT_LOW_WATER	(16 * 1024)
#define CLIENT_STDOUT_CHUNK	(1024 * 1024)
/* The largest terminal a client may claim; sessions stop there too. */
/* An error message is cut here so its reply always fits in a frame. */
#define CLIENT_ERROR_MAX	(16 * 1024)
/* MSG_INPUT: a lone ESC is the Escape key after this long (as a tty's). */
#define CLIENT_INPUT_ESC_US	10000
/* "history": N on attach asks for at most this many lines. */
#define CLIENT_HISTORY_MAX	1000000

static void	server_client_recv_cb(int, short, void *);
static void	server_client_write_cb(struct bufferevent *, void *);
static void	server_client_event_cb(struct bufferevent *, short, void *);
static void	server_client_flush_cb(int, short, void *);
static void	server_client_draw(struct client *);
static void	server_client_resume_history(struct client *);
static void	server_client_history_lines(struct client *, u_int);
static int	server_title_sequence(struct session *, char **);

static struct client *
server_client_create(int fd, uid_t uid, pid_t pid)
{
	struct client	*c;

	c = xcalloc(1, sizeof *c);
	c->id = client_next_id++;
	c->fd = fd;
	c->uid = uid;
	c->pid = pid;
	c->cols = 80;
	c->rows = 24;
	buf_init(&c->frame);
	c->in = evbuffer_new();
	c->ev_read = event_new(server_base, fd, EV_READ|EV_PERSIST,
	    server_client_recv_cb, c);
	event_add(c->ev_read, NULL);
	c->bev = bufferevent_socket_new(server_base, fd, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(c->bev, NULL, server_client_write_cb,
	    server_client_event_cb, c);
	bufferevent_setwatermark(c->bev, EV_WRITE, CLIENT_LOW_WATER, 0);
	bufferevent_enable(c->bev, EV_WRITE);
	TAILQ_INSERT_TAIL(&clients, c, entry);
	return (c);
}

void
server_client_accept(int fd)
{
	struct client	*c;
	uid_t		 uid;
	pid_t		 pid;

	if (compat_peer_cred(fd, &uid, &pid) != 0 ||
	    (uid != getuid() && uid != 0)) {
		log_warnx("refused connection from uid %ld", (long)uid);
		close(fd);
		return;
	}
	c = server_client_create(fd, uid, pid);
	log_debug("%s: client %u pid %ld", __func__, c->id, (long)pid);
}

/* A client over a peer link: one end of listen.c's socketpair. */
void
server_client_accept_remote(int fd, const char *actor, const char *addr)
{
	struct client	*c;

	c = server_client_create(fd, getuid(), 0);
	c->flags |= CLIENT_REMOTE;
	c->actor = xstrdup(actor);
	c->addr = xstrdup(addr);
	log_debug("%s: client %u %s from %s", __func__, c->id, actor, addr);
}

void
server_client_lost(struct client *c)
{
	struct session	*s = c->session;
	u_int		 i;

	if (c->flags & CLIENT_DEAD)
		return;
	c->flags |= CLIENT_DEAD;
	log_debug("%s: client %u", __func__, c->id);
	TAILQ_REMOVE(&clients, c, entry);
	if (c->mode != NULL)
		mode_exit(c);
	if (c->pending != NULL) {
		cmd_ctx_free(c->pending);
		c->pending = NULL;
	}
	transfer_free(c);
	if (s != NULL && c->resume != NULL && (c->flags & CLIENT_ATTACHED)) {
		/* It may come back: remember where it was. */
		i = s->next_resume++ % nitems(s->resumes);
		free(s->resumes[i].token);
		free(s->resumes[i].actor);
		s->resumes[i].token = xstrdup(c->resume);
		s->resumes[i].actor = xstrdup(c->actor != NULL ? c->actor :
		    "local");
		s->resumes[i].pos = c->hist_pos;
	}
	if (s != NULL) {
		if (s->latest == c)
			s->latest = NULL;
		c->session = NULL;
		session_update_size(s);
	}
	if (c->message_timer != NULL)
		event_free(c->message_timer);
	if (c->frame_timer != NULL)
		event_free(c->frame_timer);
	if (c->status_timer != NULL)
		event_free(c->status_timer);
	free(c->message);
	free(c->env_loopsy);
	free(c->actor);
	free(c->addr);
	free(c->resume);
	if (c->input_timer != NULL)
		event_free(c->input_timer);
	tty_keys_free(c->input);
	server_tty_close(c);
	while (c->nfds > 0)
		close(c->fds[--c->nfds]);
	event_free(c->ev_read);
	evbuffer_free(c->in);
	render_free(c->render);
	buf_free(&c->frame);
	bufferevent_free(c->bev);
	free(c);
	server_check_exit();
}

static void
server_client_event_cb(struct bufferevent *bev __unused, short what, void *arg)
{
	if (what & (BEV_EVENT_EOF|BEV_EVENT_ERROR|BEV_EVENT_TIMEOUT))
		server_client_lost(arg);
}

static void
server_client_write_cb(struct bufferevent *bev, void *arg)
{
	struct client	*c = arg;

	if (c->tty == NULL)
		server_client_drained(c);
	if (server_is_exiting() &&
	    evbuffer_get_length(bufferevent_get_output(bev)) == 0 &&
	    !(c->flags & CLIENT_ATTACHED) && c->pending == NULL)
		server_client_lost(c);
}

/* The client's screen can take more: draw what it is waiting for. */
void
server_client_drained(struct client *c)
{
	if (c->transfer != NULL)
		transfer_drained(c);
	cmd_exec_drained(c);
	if (c->dirty)
		server_client_draw(c);
}

/* Screen bytes queued for a client and not yet taken. */
size_t
server_client_queued(struct client *c)
{
	if (c->tty != NULL)
		return (server_tty_queued(c));
	return (evbuffer_get_length(bufferevent_get_output(c->bev)));
}

/*
 * Queue a frame.  Terminal bytes and command output may be cut anywhere, so
 * they go in as many frames as they need; anything else that would not fit
 * in one frame is dropped rather than taking the server down.
 */
static void
server_client_send(struct client *c, enum msg_type type, const void *data,
    size_t len)
{
	const char	*p = data;
	size_t		 n;

	if (c->flags & CLIENT_DEAD)
		return;
	if (len + 1 > PROTO_MAX_FRAME &&
	    type != MSG_OUTPUT && type != MSG_STDOUT) {
		log_warnx("client %u: dropped %s frame of %zu bytes", c->id,
		    proto_type_name(type), len);
		return;
	}
	if (type == MSG_OUTPUT && c->tty != NULL) {
		server_tty_write(c, data, len);
		c->bytes_out += len;
		return;
	}
	do {
		n = len > PROTO_MAX_FRAME - 1 ? PROTO_MAX_FRAME - 1 : len;
		proto_add(bufferevent_get_output(c->bev), type, p, n);
		c->bytes_out += n + PROTO_HEADER;
		p += n;
		len -= n;
	} while (len != 0);
	proto_flush(c->bev);
}

static void
server_client_send_json(struct client *c, enum msg_type type, cJSON *j)
{
	char	*s = cJSON_PrintUnformatted(j);

	server_client_send(c, type, s, strlen(s));
	free(s);
	cJSON_Delete(j);
}

void
server_client_send_output(struct client *c, const void *data, size_t len)
{
	server_client_send(c, MSG_OUTPUT, data, len);
}

/* Command output as it comes (fd 1 or 2), ahead of the command's reply. */
void
server_client_stream(struct client *c, int fd, const void *data, size_t len)
{
	server_client_send(c, fd == 2 ? MSG_STDERR : MSG_STDOUT, data, len);
}

static void
server_client_hello(struct client *c, const char *data)
{
	cJSON	*j, *p, *r;
	int	 min = 0, max = 0;

	j = cJSON_Parse(data);
	p = j != NULL ? cJSON_GetObjectItem(j, "proto") : NULL;
	if (cJSON_IsArray(p) && cJSON_GetArraySize(p) == 2) {
		min = cJSON_GetArrayItem(p, 0)->valueint;
		max = cJSON_GetArrayItem(p, 1)->valueint;
	}
	cJSON_Delete(j);
	r = cJSON_CreateObject();
	if (min > PROTO_VERSION || max < PROTO_VERSION) {
		cJSON_AddStringToObject(r, "error", "protocol version mismatch");
		server_client_send_json(c, MSG_HELLO, r);
		log_warnx("client %u: protocol %d-%d unsupported", c->id, min,
		    max);
		bufferevent_disable(c->bev, EV_READ);
		return;
	}
	cJSON_AddNumberToObject(r, "proto", PROTO_VERSION);
	cJSON_AddStringToObject(r, "version", PACKAGE_VERSION);
	cJSON_AddNumberToObject(r, "pid", getpid());
	server_client_send_json(c, MSG_HELLO, r);
	c->flags |= CLIENT_HELLO;
}

/* A command: {"id":n, "argv":[...], "cwd":s, "tty":{"cols","rows"}, "loopsy":s} */
static int
server_client_command(struct client *c, const char *data)
{
	cJSON		*j, *argv, *id, *cwd, *tty, *env, *a;
	char		**args = NULL;
	int		 argc = 0, rc = -1;
	struct cmd_ctx	*ctx = NULL;
	enum cmd_retval	 rv;

	if ((j = cJSON_Parse(data)) == NULL)
		return (-1);
	argv = cJSON_GetObjectItem(j, "argv");
	id = cJSON_GetObjectItem(j, "id");
	cwd = cJSON_GetObjectItem(j, "cwd");
	tty = cJSON_GetObjectItem(j, "tty");
	env = cJSON_GetObjectItem(j, "loopsy");
	if (!cJSON_IsArray(argv) || !cJSON_IsNumber(id))
		goto out;
	if (c->pending != NULL) {
		/* Only one command waits per connection: c->pending. */
		ctx = cmd_ctx_new(NULL, NULL, c);
		ctx->id = id->valueint;
		cmd_error(ctx, "busy", "a command is already waiting on this "
		    "connection");
		server_client_reply(c, ctx, CMD_ERROR);
		cmd_ctx_free(ctx);
		rc = 0;
		goto out;
	}
	args = xcalloc(cJSON_GetArraySize(argv) + 1, sizeof *args);
	cJSON_ArrayForEach(a, argv) {
		if (!cJSON_IsString(a))
			goto out;
		args[argc++] = a->valuestring;
	}
	if (cJSON_IsObject(tty)) {
		cJSON *x = cJSON_GetObjectItem(tty, "cols");
		cJSON *y = cJSON_GetObjectItem(tty, "rows");

		if (cJSON_IsNumber(x) && cJSON_IsNumber(y) &&
		    x->valueint > 0 && y->valueint > 0 &&
		    x->valueint <= SCREEN_MAX_SIZE &&
		    y->valueint <= SCREEN_MAX_SIZE) {
			c->cols = x->valueint;
			c->rows = y->valueint;
			c->flags |= CLIENT_TERMINAL;
		}
	}
	free(c->env_loopsy);
	c->env_loopsy = NULL;
	if (cJSON_IsString(cJSON_GetObjectItem(j, "resume")) &&
	    strlen(cJSON_GetObjectItem(j, "resume")->valuestring) >= 16 &&
	    strlen(cJSON_GetObjectItem(j, "resume")->valuestring) <= 64) {
		free(c->resume);
		c->resume = xstrdup(cJSON_GetObjectItem(j,
		    "resume")->valuestring);
	}
	c->scrollback = cJSON_IsTrue(cJSON_GetObjectItem(j, "scrollback"));
	a = cJSON_GetObjectItem(j, "history");
	c->history = 0;
	if (cJSON_IsNumber(a) && a->valuedouble >= 1)
		c->history = a->valuedouble > CLIENT_HISTORY_MAX ?
		    CLIENT_HISTORY_MAX : (u_int)a->valuedouble;
	if (c->flags & CLIENT_REMOTE) {
		/* The caller's directory and session are on its machine. */
		cwd = NULL;
	} else if (cJSON_IsString(env))
		c->env_loopsy = xstrdup(env->valuestring);
	rv = cmd_run_argv(c, NULL, id->valueint, argc, args,
	    cJSON_IsString(cwd) ? cwd->valuestring : NULL, &ctx);
	if (rv == CMD_WAIT)
		c->pending = ctx;
	else {
		server_client_reply(c, ctx, rv);
		cmd_ctx_free(ctx);
	}
	rc = 0;
out:
	free(args);
	cJSON_Delete(j);
	return (rc);
}

/* Send a command's output and result; the client prints and exits. */
/*
 * A client reattaching with the token of one that went away (a dropped peer
 * link).  A terminal client needs nothing more: it draws on the alternate
 * screen and its scrollback is the session's own, in copy mode, which lost
 * nothing.  A client that keeps its own scrollback (a web terminal says
 * "scrollback": true) gets the history lines it missed, before the full
 * redraw: the screen is cleared without scrolling, the lines written from
 * the top, then scrolled off the top into that scrollback.  One that is
 * fresh (no token matches: a page reloaded) and says "history": N gets the
 * last N lines the same way.
 */
static int
server_client_same_token(const char *a, const char *b)
{
	size_t	 n;

	if (a == NULL || b == NULL || (n = strlen(a)) != strlen(b))
		return (0);
	return (crypto_equal(a, b, n));
}

static void
server_client_resume_history(struct client *c)
{
	struct session	*s = c->session;
	struct client	*old;
	uint64_t	 pos = 0, now;
	u_int		 i, size, missed;
	int		 found = 0;
	const char	*actor;

	if (s == NULL || (c->resume == NULL && c->history == 0))
		return;
	actor = c->actor != NULL ? c->actor : "local";
	TAILQ_FOREACH(old, &clients, entry) {
		if (old != c && old->session == s &&
		    server_client_same_token(old->resume, c->resume) &&
		    strcmp(old->actor != NULL ? old->actor : "local",
		    actor) == 0) {
			/* The old link is dead but not noticed yet. */
			pos = old->hist_pos;
			found = 1;
			server_client_detach(old, "replaced by a reconnect");
			break;
		}
	}
	for (i = 0; !found && i < nitems(s->resumes); i++) {
		if (server_client_same_token(s->resumes[i].token,
		    c->resume) && strcmp(s->resumes[i].actor, actor) == 0) {
			pos = s->resumes[i].pos;
			found = 1;
			free(s->resumes[i].token);
			free(s->resumes[i].actor);
			s->resumes[i].token = s->resumes[i].actor = NULL;
		}
	}
	now = screen_history_pushed(s->screen);
	size = screen_history_size(s->screen);
	if (!c->scrollback)
		return;
	/* A fresh terminal (a page reloaded keeps its token) asks for
	 * history: it has none, whatever the token says it saw. */
	if (c->history != 0)
		missed = c->history > size ? size : c->history;
	else if (found && now > pos)
		missed = now - pos > size ? size : (u_int)(now - pos);
	else
		return;
	server_client_history_lines(c, missed);
	log_debug("%s: client %u: %u history lines %s", __func__, c->id,
	    missed, c->history != 0 ? "asked for" : "missed");
}

/*
 * Put the newest n history lines into a web terminal's own scrollback: the
 * screen is cleared without scrolling, the lines written from the top, then
 * scrolled off the top; the next frame redraws the whole screen.
 */
static void
server_client_history_lines(struct client *c, u_int n)
{
	struct screen	*sc = c->session->screen;
	struct buf	 b;
	u_int		 size = screen_history_size(sc), k;

	if (n > size)
		n = size;
	if (n == 0)
		return;
	buf_init(&b);
	buf_addstr(&b, "\033[0m\033[H\033[2J");
	render_history(sc, size - n, size, &b);
	buf_printf(&b, "\033[%u;1H", c->rows);
	k = n < c->rows ? n : c->rows - 1;
	while (k-- > 0)
		buf_addstr(&b, "\n");
	server_client_send(c, MSG_OUTPUT, b.data, b.len);
	buf_free(&b);
	render_invalidate(c->render);
}

void
server_client_reply(struct client *c, struct cmd_ctx *ctx, enum cmd_retval rv)
{
	cJSON	*r, *e;
	char	*title;
	size_t	 off, n;

	ctx->done = 1;
	if (c == NULL || (c->flags & CLIENT_DEAD))
		return;
	for (off = 0; off < ctx->out.len; off += n) {
		n = ctx->out.len - off;
		if (n > CLIENT_STDOUT_CHUNK)
			n = CLIENT_STDOUT_CHUNK;
		server_client_send(c, MSG_STDOUT, ctx->out.data + off, n);
	}
	r = cJSON_CreateObject();
	cJSON_AddNumberToObject(r, "id", ctx->id);
	cJSON_AddBoolToObject(r, "ok", rv == CMD_OK || rv == CMD_ATTACH);
	if (rv == CMD_USAGE)
		ctx->exit_status = 2;
	else if (rv == CMD_ERROR && ctx->exit_status == 0)
		ctx->exit_status = 1;
	cJSON_AddNumberToObject(r, "exit", ctx->exit_status);
	if (rv == CMD_ATTACH) {
		cJSON_AddBoolToObject(r, "attach", 1);
		if (c->session != NULL) {
			cJSON_AddStringToObject(r, "session", c->session->name);
			cJSON_AddNumberToObject(r, "sessionId",
			    c->session->id);
		}
	}
	if (ctx->error != NULL) {
		if (strlen(ctx->error) > CLIENT_ERROR_MAX)
			strlcpy(ctx->error + CLIENT_ERROR_MAX - 4, "...", 4);
		e = cJSON_AddObjectToObject(r, "error");
		cJSON_AddStringToObject(e, "code", ctx->error_code != NULL ?
		    ctx->error_code : "error");
		cJSON_AddStringToObject(e, "message", ctx->error);
	}
	server_client_send_json(c, MSG_REPLY, r);
	if (rv == CMD_ATTACH && c->session != NULL) {
		/* After the reply: the client drops output before it. */
		n = server_title_sequence(c->session, &title);
		server_client_send(c, MSG_OUTPUT, title, n);
		free(title);
		server_client_resume_history(c);
		server_client_redraw(c);
	}
}

/* A key from the client, by message or from its terminal. */
void
server_client_input_key(struct client *c, key_code key)
{
	if (!(c->flags & CLIENT_ATTACHED) || c->session == NULL)
		return;
	c->activity_ms = now_ms();
	if (config.size_policy == SIZE_LATEST &&
	    !(c->flags & CLIENT_READONLY) && c->session->latest != c) {
		c->session->latest = c;
		session_update_size(c->session);
	}
	keys_handle(c, key);
}

void
server_client_input_paste(struct client *c, const char *data, size_t len)
{
	struct session	*s = c->session;

	if (s != NULL && !(c->flags & CLIENT_READONLY) && c->mode == NULL &&
	    (c->flags & CLIENT_ATTACHED))
		screen_paste(s->screen, data, len);
}

void
server_client_input_mouse(struct client *c, u_int x, u_int y, int button,
    int pressed, int mods)
{
	struct session	*s = c->session;

	if (s == NULL || (c->flags & CLIENT_READONLY) || c->mode != NULL ||
	    !(c->flags & CLIENT_ATTACHED) || y >= screen_rows(s->screen))
		return;
	screen_mouse(s->screen, x, y, button, pressed, mods);
}

void
server_client_input_focus(struct client *c, int in)
{
	struct session	*s = c->session;

	if (s != NULL && !(c->flags & CLIENT_READONLY) &&
	    (c->flags & CLIENT_ATTACHED))
		screen_focus(s->screen, in);
}

static void
server_client_keys(struct client *c, const uint8_t *data, size_t len)
{
	size_t	 i;

	if (len % 8 != 0) {
		log_warnx("client %u: keys frame of %zu bytes", c->id, len);
		return;
	}
	for (i = 0; i < len && !(c->flags & CLIENT_DEAD); i += 8)
		server_client_input_key(c, proto_get64(data + i));
}

/* What MSG_INPUT's bytes parse to goes where a passed terminal's would. */
/* One parsed input event (a passed terminal's or MSG_INPUT's). */
void
server_client_input_event(const struct tty_event *ev, void *arg)
{
	struct client	*c = arg;

	if (c->flags & CLIENT_DEAD)
		return;
	switch (ev->type) {
	case TTY_EV_KEY:
		server_client_input_key(c, ev->key);
		break;
	case TTY_EV_PASTE:
		server_client_input_paste(c, ev->data, ev->len);
		break;
	case TTY_EV_MOUSE:
		server_client_input_mouse(c, ev->x, ev->y, ev->motion &&
		    ev->button == 0 ? 0 : ev->button, ev->pressed, ev->mods);
		break;
	case TTY_EV_FOCUS:
		server_client_input_focus(c, ev->pressed);
		break;
	}
}

static void
server_client_input_timer_cb(int fd __unused, short events __unused,
    void *arg)
{
	struct client	*c = arg;

	tty_keys_flush(c->input, server_client_input_event, c);
}

/* Raw terminal input from a remote client (a web terminal's keystrokes). */
static void
server_client_input(struct client *c, const char *data, size_t len)
{
	struct timeval	 tv = { 0, CLIENT_INPUT_ESC_US };

	if (c->input == NULL) {
		c->input = tty_keys_new();
		c->input_timer = evtimer_new(server_base,
		    server_client_input_timer_cb, c);
	}
	evtimer_del(c->input_timer);
	if (tty_keys_feed(c->input, data, len, server_client_input_event, c) &&
	    !(c->flags & CLIENT_DEAD))
		evtimer_add(c->input_timer, &tv);
}

/* The client passed its terminal: read and draw it ourselves. */
static void
server_client_tty(struct client *c)
{
	char	*cause = NULL;

	if (c->nfds < 2) {
		log_warnx("client %u: tty message without two descriptors",
		    c->id);
		while (c->nfds > 0)
			close(c->fds[--c->nfds]);
		return;
	}
	if (server_tty_open(c, c->fds[0], c->fds[1], &cause) != 0) {
		log_warnx("client %u: %s", c->id, cause);
		free(cause);
	}
	memmove(c->fds, c->fds + 2, (c->nfds - 2) * sizeof *c->fds);
	c->nfds -= 2;
	server_client_redraw(c);
}

static void
server_client_resize(struct client *c, const uint8_t *data, size_t len)
{
	u_int	 cols, rows;

	if (len != 4)
		return;
	cols = proto_get16(data);
	rows = proto_get16(data + 2);
	if (cols == 0 || rows == 0)
		return;
	if (cols > SCREEN_MAX_SIZE)
		cols = SCREEN_MAX_SIZE;
	if (rows > SCREEN_MAX_SIZE)
		rows = SCREEN_MAX_SIZE;
	c->cols = cols;
	c->rows = rows;
	if (c->mode != NULL && c->mode->def->resize != NULL)
		c->mode->def->resize(c);
	if (c->session != NULL)
		session_update_size(c->session);
	server_client_redraw(c);
}

static void
server_client_mouse(struct client *c, const uint8_t *data, size_t len)
{
	if (len == 7)
		server_client_input_mouse(c, proto_get16(data + 3),
		    proto_get16(data + 5), data[0], data[1], data[2]);
}

/* Act on one frame; returns -1 if the client was dropped (and freed). */
static int
server_client_dispatch(struct client *c, uint8_t type, char *data, size_t len)
{
	if (type != MSG_HELLO && !(c->flags & CLIENT_HELLO)) {
		log_warnx("client %u: %s before hello", c->id,
		    proto_type_name(type));
		server_client_lost(c);
		return (-1);
	}
	switch (type) {
	case MSG_HELLO:
		server_client_hello(c, data);
		break;
	case MSG_COMMAND:
		if (server_client_command(c, data) != 0) {
			log_warnx("client %u: malformed command", c->id);
			server_client_lost(c);
			return (-1);
		}
		break;
	case MSG_KEYS:
		server_client_keys(c, (uint8_t *)data, len);
		break;
	case MSG_PASTE:
		server_client_input_paste(c, data, len);
		break;
	case MSG_INPUT:
		server_client_input(c, data, len);
		break;
	case MSG_RESIZE:
		server_client_resize(c, (uint8_t *)data, len);
		break;
	case MSG_MOUSE:
		server_client_mouse(c, (uint8_t *)data, len);
		break;
	case MSG_FOCUS:
		if (len == 1)
			server_client_input_focus(c, data[0]);
		break;
	case MSG_TTY:
		if (c->flags & CLIENT_REMOTE)
			log_warnx("client %u: terminal passed over a link",
			    c->id);
		else
			server_client_tty(c);
		break;
	case MSG_DATA:
		transfer_data(c, data, len);
		break;
	default:
		log_debug("client %u: ignored message type %u", c->id, type);
		break;
	}
	return (0);
}

/* Keep descriptors passed with the data, for a MSG_TTY to take. */
static void
server_client_take_fds(struct client *c, struct msghdr *msg)
{
	struct cmsghdr	*cm;
	int		*fds;
	size_t		 i, n;

	for (cm = CMSG_FIRSTHDR(msg); cm != NULL; cm = CMSG_NXTHDR(msg, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		fds = (int *)CMSG_DATA(cm);
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof *fds;
		for (i = 0; i < n; i++) {
			if (c->nfds < nitems(c->fds))
				c->fds[c->nfds++] = fds[i];
			else
				close(fds[i]);
		}
	}
}

/*
 * Act on the bytes of one read.  A MSG_DATA payload goes to the transfer
 * straight from p, a piece at a time when the frame is cut across reads
 * (c->in then holds a header for what is still to come), so file data is
 * not copied into c->in nor into a frame of its own.  Other frames go
 * through c->in.  Returns -1 if the client was dropped (and freed).
 */
static int
server_client_frames(struct client *c, char *p, size_t left)
{
	uint8_t		 hdr[PROTO_HEADER], type;
	uint32_t	 n;
	size_t		 have, len, want;
	char		*data, *cause = NULL;
	int		 rc;

	for (;;) {
		have = evbuffer_get_length(c->in);
		if (have < PROTO_HEADER) {
			want = PROTO_HEADER - have < left ? PROTO_HEADER - have :
			    left;
			evbuffer_add(c->in, p, want);
			p += want;
			left -= want;
			if ((have += want) < PROTO_HEADER)
				return (0);
		}
		evbuffer_copyout(c->in, hdr, sizeof hdr);
		n = proto_get32(hdr);
		len = n != 0 ? n - 1 : 0;
		if (hdr[4] == MSG_DATA && have == PROTO_HEADER && n != 0 &&
		    n <= PROTO_MAX_FRAME) {
			want = len < left ? len : left;
			if (want == 0 && len != 0)
				return (0);
			evbuffer_drain(c->in, PROTO_HEADER);
			if (want < len) {
				n = len - want + 1;
				proto_put32(hdr, n);
				evbuffer_add(c->in, hdr, sizeof hdr);
			}
			if (server_client_dispatch(c, MSG_DATA, p, want) != 0)
				return (-1);
			p += want;
			left -= want;
			continue;
		}
		if (n != 0 && n <= PROTO_MAX_FRAME) {
			want = PROTO_HEADER + len - have;
			if (want > left)
				want = left;
			evbuffer_add(c->in, p, want);
			p += want;
			left -= want;
		}
		rc = proto_take(c->in, &type, &data, &len, &cause);
		if (rc == 0)
			return (0);
		if (rc == -1) {
			log_warnx("client %u: %s; dropping it", c->id, cause);
			free(cause);
			server_client_lost(c);
			return (-1);
		}
		rc = server_client_dispatch(c, type, data, len);
		free(data);
		if (rc != 0)
			return (-1);	/* c is gone */
	}
}

static void
server_client_recv_cb(int fd, short events __unused, void *arg)
{
	static char	 buf[262144];	/* big reads for file transfers */
	struct client	*c = arg;
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof (int) * 4)];
	}		 cmsg;
	struct iovec	 iov = { buf, sizeof buf };
	struct msghdr	 msg;
	ssize_t		 n;

	memset(&msg, 0, sizeof msg);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cmsg.buf;
	msg.msg_controllen = sizeof cmsg.buf;
	n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		server_client_lost(c);
		return;
	}
	server_client_take_fds(c, &msg);
	server_client_frames(c, buf, n);
}

u_int
server_client_pane_rows(struct client *c)
{
	if (config.status && c->rows > 1)
		return (c->rows - 1);
	return (c->rows);
}

static void
server_client_status_timer_cb(int fd __unused, short events __unused, void *arg)
{
	struct client	*c = arg;
	struct timeval	 tv = { 15, 0 };

	server_client_schedule(c);
	evtimer_add(c->status_timer, &tv);
}

void
server_client_attach(struct client *c, struct session *s)
{
	struct timeval	 tv = { 15, 0 };

	if (c->session != NULL && c->session != s)
		c->last_session = c->session;
	c->session = s;
	c->flags |= CLIENT_ATTACHED;
	c->frame_us = 0;
	c->frame_bytes = s->bytes_read;
	c->hist_pos = screen_history_pushed(s->screen);
	server_tty_reading(c, 1);
	c->attached_ms = c->activity_ms = now_ms();
	if (!(c->flags & CLIENT_READONLY))
		s->latest = c;
	if (c->render == NULL)
		c->render = render_new();
	if (c->status_timer == NULL) {
		c->status_timer = evtimer_new(server_base,
		    server_client_status_timer_cb, c);
		evtimer_add(c->status_timer, &tv);
	}
	session_update_size(s);
	server_client_redraw(c);
}

void
server_client_switch(struct client *c, struct session *s)
{
	struct session	*old = c->session;

	if (s == old || s == NULL)
		return;
	if (c->mode != NULL)
		mode_exit(c);
	server_client_attach(c, s);
	if (old != NULL) {
		if (old->latest == c)
			old->latest = NULL;
		session_update_size(old);
	}
	server_title(s);
}

void
server_client_detach(struct client *c, const char *reason)
{
	struct session	*s = c->session;
	cJSON		*j;

	if (!(c->flags & CLIENT_ATTACHED))
		return;
	if (c->mode != NULL)
		mode_exit(c);
	server_tty_close(c);
	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "reason", reason);
	if (s != NULL)
		cJSON_AddStringToObject(j, "session", s->name);
	server_client_send_json(c, MSG_DETACH, j);
	c->flags &= ~CLIENT_ATTACHED;
	c->session = NULL;
	if (s != NULL) {
		if (s->latest == c)
			s->latest = NULL;
		session_update_size(s);
	}
}

void
server_client_redraw(struct client *c)
{
	if (c->render != NULL)
		render_invalidate(c->render);
	server_client_schedule(c);
}

void
server_client_schedule(struct client *c)
{
	c->dirty = 1;
	if (client_flush_ev == NULL)
		client_flush_ev = event_new(server_base, -1, 0,
		    server_client_flush_cb, NULL);
	event_active(client_flush_ev, EV_TIMEOUT, 0);
}

static void
server_client_message_cb(int fd __unused, short events __unused, void *arg)
{
	struct client	*c = arg;

	free(c->message);
	c->message = NULL;
	server_client_schedule(c);
}

void
server_client_message(struct client *c, const char *fmt, ...)
{
	struct timeval	 tv = { 3, 0 };
	va_list		 ap;

	free(c->message);
	va_start(ap, fmt);
	xvasprintf(&c->message, fmt, ap);
	va_end(ap);
	if (c->message_timer == NULL)
		c->message_timer = evtimer_new(server_base,
		    server_client_message_cb, c);
	evtimer_add(c->message_timer, &tv);
	server_client_schedule(c);
}

static void
server_client_flush_cb(int fd __unused, short events __unused, void *arg __unused)
{
	struct client	*c, *c1;

	TAILQ_FOREACH_SAFE(c, &clients, entry, c1) {
		if (c->dirty)
			server_client_draw(c);
	}
}

/* The session's rows, cropped or padded to the client's width. */
void
server_client_draw_pane(struct client *c, u_int rows)
{
	struct session	*s = c->session;
	static struct cell *pad;
	static u_int	 padn;
	u_int		 y, sc = screen_cols(s->screen), sr;

	sr = screen_rows(s->screen);
	if (padn < c->cols) {
		pad = xreallocarray(pad, c->cols, sizeof *pad);
		padn = c->cols;
	}
	for (y = 0; y < rows; y++) {
		if (y >= sr) {
			cell_set_blank(pad, c->cols, COLOUR_DEFAULT);
			render_row(c->render, y, pad, 0);
		} else if (sc >= c->cols)
			render_row(c->render, y, screen_row(s->screen, y),
			    screen_row_gen(s->screen, y));
		else {
			memcpy(pad, screen_row(s->screen, y), sc * sizeof *pad);
			cell_set_blank(pad + sc, c->cols - sc, COLOUR_DEFAULT);
			render_row(c->render, y, pad, 0);
		}
	}
}

static void
server_client_frame_timer_cb(int fd __unused, short events __unused,
    void *arg)
{
	struct client	*c = arg;

	if (c->dirty)
		server_client_draw(c);
}

/* Hold this frame back if the session is streaming and we drew just now. */
static int
server_client_pace(struct client *c)
{
	uint64_t	 now = now_us(), since = now - c->frame_us;
	struct timeval	 tv;

	if (since >= CLIENT_FRAME_US ||
	    c->session->bytes_read - c->frame_bytes < CLIENT_PACE_BYTES)
		return (0);
	if (c->frame_timer == NULL)
		c->frame_timer = evtimer_new(server_base,
		    server_client_frame_timer_cb, c);
	if (!evtimer_pending(c->frame_timer, NULL)) {
		tv.tv_sec = 0;
		tv.tv_usec = CLIENT_FRAME_US - since;
		evtimer_add(c->frame_timer, &tv);
	}
	c->frames_paced++;
	return (1);
}

static void
server_client_draw(struct client *c)
{
	struct session		*s = c->session;
	struct cell		*status = NULL;
	struct screen_modes	 modes;
	u_int			 rows = server_client_pane_rows(c), cx, cy;
	size_t			 n;
	int			 own = 0;

	if (!(c->flags & CLIENT_ATTACHED) || s == NULL || c->render == NULL) {
		c->dirty = 0;
		return;
	}
	if (server_client_queued(c) >= CLIENT_HIGH_WATER) {
		c->frames_skipped++;
		server_stats_frames_skipped++;
		return;		/* the write callback draws when it drains */
	}
	if (server_client_pace(c))
		return;		/* the frame timer draws it */
	c->dirty = 0;
	if (c->scrollback && c->mode == NULL &&
	    screen_history_pushed(s->screen) > c->hist_pos) {
		/* Lines scrolled off since the last frame go to a web
		 * terminal's own scrollback first. */
		server_client_history_lines(c, screen_history_pushed(s->screen) -
		    c->hist_pos > screen_history_size(s->screen) ?
		    screen_history_size(s->screen) :
		    (u_int)(screen_history_pushed(s->screen) - c->hist_pos));
		c->hist_pos = screen_history_pushed(s->screen);
	}
	buf_reset(&c->frame);
	render_begin(c->render, c->cols, c->rows, &c->frame);
	modes = *screen_modes(s->screen);
	screen_cursor(s->screen, &cx, &cy);
	if (c->mode != NULL && c->mode->def->draw_status != NULL) {
		/* A mode may take the last row even without a status line. */
		status = xcalloc(c->cols, sizeof *status);
		own = c->mode->def->draw_status(c, status, c->cols);
		if (own && rows == c->rows && rows > 1)
			rows--;
	}
	if (c->mode != NULL)
		c->mode->def->draw(c, c->render, rows);
	else
		server_client_draw_pane(c, rows);
	if (rows < c->rows) {
		if (status == NULL)
			status = xcalloc(c->cols, sizeof *status);
		if (!own)
			status_render(c, status, c->cols);
		render_row(c->render, rows, status, 0);
	}
	free(status);
	if (c->mode != NULL) {
		modes.mouse = 0;
		modes.cursor_visible = 0;
		if (c->mode->def->cursor != NULL &&
		    c->mode->def->cursor(c, &cx, &cy) &&
		    cx < c->cols && cy < c->rows)
			modes.cursor_visible = 1;
	} else if (cx >= c->cols || cy >= rows)
		modes.cursor_visible = 0;
	n = render_end(c->render, cx, cy, &modes);
	if (n != 0) {
		server_client_send(c, MSG_OUTPUT, c->frame.data, c->frame.len);
		c->hist_pos = screen_history_pushed(s->screen);
		c->frames_sent++;
		server_stats_frames_sent++;
		c->frame_us = now_us();
		c->frame_bytes = s->bytes_read;
	}
}

void
server_session_changed(struct session *s)
{
	struct client	*c;

	cmd_wait_output(s);
	TAILQ_FOREACH(c, &clients, entry) {
		if (!(c->flags & CLIENT_ATTACHED))
			continue;
		if (c->session == s ||
		    (c->mode != NULL && c->mode->def->watch_all))
			server_client_schedule(c);
	}
}

/* A session came or went: redraw the clients whose mode lists them all. */
void
server_sessions_changed(void)
{
	struct client	*c;

	TAILQ_FOREACH(c, &clients, entry) {
		if ((c->flags & CLIENT_ATTACHED) && c->mode != NULL &&
		    c->mode->def->watch_all)
			server_client_schedule(c);
	}
}

static void
server_session_send(struct session *s, const char *data, size_t len)
{
	struct client	*c;

	TAILQ_FOREACH(c, &clients, entry) {
		if (c->session == s && (c->flags & CLIENT_ATTACHED))
			server_client_send(c, MSG_OUTPUT, data, len);
	}
}

/* OSC 52 from the program: hand it to every attached client's terminal. */
void
server_clipboard(struct session *s, const char *data)
{
	char	*seq;
	int	 n;

	if (strchr(data, '\a') != NULL || strchr(data, '\033') != NULL)
		return;
	n = xasprintf(&seq, "\033]52;%s\a", data);
	server_session_send(s, seq, n);
	free(seq);
}

/* The title sequence for a session: its program's title, or its name. */
static int
server_title_sequence(struct session *s, char **seq)
{
	const char	*t = screen_title(s->screen);
	char		*p;
	int		 n;

	n = xasprintf(seq, "\033]2;%s\a", *t != '\0' ? t : s->name);
	for (p = *seq + 4; p < *seq + n - 1; p++) {
		if ((u_char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	}
	return (n);
}

void
server_title(struct session *s)
{
	char	*seq;
	int	 n;

	n = server_title_sequence(s, &seq);
	server_session_send(s, seq, n);
	free(seq);
}

void
server_bell(struct session *s)
{
	server_session_send(s, "\a", 1);
}

/* The program ended: clients watching it leave; waiters hear of it. */
void
server_session_ended(struct session *s)
{
	struct client	*c, *c1;
	int		 seen = 0;
	char		*why;

	session_add_references(s);	/* run's waiter may destroy it */
	server_session_changed(s);
	why = session_status_string(s);
	TAILQ_FOREACH_SAFE(c, &clients, entry, c1) {
		if (c->session == s && (c->flags & CLIENT_ATTACHED)) {
			seen = 1;
			server_client_detach(c, why);
		}
	}
	free(why);
	cmd_wait_session_ended(s);
	if (seen && session_find_id(s->id) != NULL)
		session_destroy(s);
	session_remove_reference(s);
}

void
mode_enter(struct client *c, const struct mode_def *def, void *data)
{
	if (c->mode != NULL)
		mode_exit(c);
	c->mode = xcalloc(1, sizeof *c->mode);
	c->mode->def = def;
	c->mode->data = data;
	server_client_redraw(c);
}

void
mode_exit(struct client *c)
{
	struct mode	*m = c->mode;

	if (m == NULL)
		return;
	if (m->def->free != NULL)
		m->def->free(c);	/* it reads c->mode->data */
	c->mode = NULL;
	free(m);
	server_client_redraw(c);
}

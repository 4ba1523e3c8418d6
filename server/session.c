/*
 * server/session.c: a session is a PTY, the program on it, its screen model
 * and scrollback.  This file starts programs, moves bytes between the PTY
 * and the screen, and records how programs end.  Attached clients and their
 * drawing belong to server-client.c.
 */
#include <sys/ioctl.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#ifdef HAVE_PTY_H
#include <pty.h>
#endif

#include <event2/buffer.h>
#include <event2/event.h>

#include "server.h"

struct sessions	 sessions = TAILQ_HEAD_INITIALIZER(sessions);
static u_int	 session_next_id;

#define SESSION_READ_SIZE	65536
#define SESSION_MAX_INPUT	(16 * 1024 * 1024)

static void	session_read_cb(int, short, void *);
static void	session_write_cb(int, short, void *);

static void
session_output_cb(const char *data, size_t len, void *arg)
{
	session_write(arg, data, len);
}

static void
session_clipboard_cb(const char *data, void *arg)
{
	server_clipboard(arg, data);
}

static void
session_bell_cb(void *arg)
{
	server_bell(arg);
}

static void
session_title_cb(void *arg)
{
	server_title(arg);
}

static const struct screen_cb session_screen_cb = {
	.output = session_output_cb,
	.clipboard = session_clipboard_cb,
	.bell = session_bell_cb,
	.title = session_title_cb
};

int
session_check_name(const char *name, char **cause)
{
	const char	*p;

	if (*name == '\0') {
		xasprintf(cause, "session name is empty");
		return (-1);
	}
	if (strlen(name) > 128) {
		xasprintf(cause, "session name is longer than 128 bytes");
		return (-1);
	}
	for (p = name; *p != '\0'; p++) {
		if (*p == ':' || *p == '.' || (u_char)*p < 0x20 || *p == 0x7f) {
			xasprintf(cause, "session name \"%s\" may not contain "
			    "'%s'", name, *p == ':' ? ":" : *p == '.' ? "." :
			    "control characters");
			return (-1);
		}
	}
	if (session_find(name) != NULL) {
		xasprintf(cause, "duplicate session: %s", name);
		return (-1);
	}
	return (0);
}

/* Run in the child: never returns. */
static __dead void
session_child(struct session *s, int argc, char **argv, char **env,
    u_int nenv, int errfd)
{
	const char	*shell = config.shell, *base;
	char		*loopsy, *argv0;
	u_int		 i;
	int		 e;
	sigset_t	 set;

	sigemptyset(&set);
	sigprocmask(SIG_SETMASK, &set, NULL);
	for (i = 1; i < NSIG; i++)
		signal(i, SIG_DFL);
	/*
	 * The program gets the terminal and nothing else of ours: not the
	 * log, nor whatever the process that started the server left open.
	 * The exec pipe moves to 3 and closes on exec.
	 */
	if (errfd != 3) {
		if (dup2(errfd, 3) == -1)
			_exit(1);
		errfd = 3;
	}
	fcntl(errfd, F_SETFD, FD_CLOEXEC);
	compat_closefrom(4);
	if (chdir(s->cwd) != 0 && chdir("/") != 0)
		_exit(1);

	setenv("TERM", "xterm-256color", 1);
	setenv("COLORTERM", "truecolor", 1);
	xasprintf(&loopsy, "%s,%ld,%u", server_socket_path, (long)getppid(),
	    s->id);
	setenv("LOOPSY", loopsy, 1);
	unsetenv("TMUX");
	for (i = 0; i < nenv; i++)
		putenv(xstrdup(env[i]));

	if (shell == NULL || *shell == '\0')
		shell = getenv("SHELL");
	if (shell == NULL || *shell != '/' || access(shell, X_OK) != 0)
		shell = "/bin/sh";
	setenv("SHELL", shell, 1);

	if (argc == 0) {
		base = strrchr(shell, '/') + 1;
		xasprintf(&argv0, "-%s", base);
		execl(shell, argv0, (char *)NULL);
	} else if (argc == 1 && strpbrk(argv[0], " \t\n;&|<>()$`\\\"'*?[]#~=%")) {
		execl(shell, shell, "-c", argv[0], (char *)NULL);
	} else
		execvp(argv[0], argv);
	e = errno;
	if (write(errfd, &e, sizeof e) < 0)
		_exit(127);
	_exit(127);
}

/* Wait for the child's exec: an errno in the pipe means it failed. */
static int
session_exec_result(int fd, const char *what, char **cause)
{
	int	 e;
	ssize_t	 n;

	do
		n = read(fd, &e, sizeof e);
	while (n == -1 && errno == EINTR);
	close(fd);
	if (n != sizeof e)
		return (0);
	if (e == ENOENT)
		xasprintf(cause, "command not found: %s", what);
	else
		xasprintf(cause, "cannot run %s: %s", what, strerror(e));
	return (-1);
}

static void
session_clamp_size(u_int *cols, u_int *rows)
{
	if (*cols < 1)
		*cols = 1;
	if (*rows < 1)
		*rows = 1;
	if (*cols > SCREEN_MAX_SIZE)
		*cols = SCREEN_MAX_SIZE;
	if (*rows > SCREEN_MAX_SIZE)
		*rows = SCREEN_MAX_SIZE;
}

static char *
session_join_argv(int argc, char **argv)
{
	struct buf	 b;
	int		 i;

	buf_init(&b);
	for (i = 0; i < argc; i++) {
		if (i != 0)
			buf_add(&b, " ", 1);
		buf_addstr(&b, argv[i]);
	}
	buf_add(&b, "", 1);
	return (b.data);
}

struct session *
session_create(const char *name, int argc, char **argv, const char *cwd,
    char **env, u_int nenv, u_int cols, u_int rows, char **cause)
{
	struct session	*s;
	struct winsize	 ws;
	int		 pipefd[2];
	char		 nbuf[16];

	session_clamp_size(&cols, &rows);
	if (name == NULL) {
		do {
			snprintf(nbuf, sizeof nbuf, "%u", session_next_id++);
		} while (session_find(nbuf) != NULL);
		name = nbuf;
	} else if (session_check_name(name, cause) != 0)
		return (NULL);
	if (cwd == NULL || access(cwd, X_OK) != 0) {
		if (cwd != NULL) {
			xasprintf(cause, "cannot use directory %s: %s", cwd,
			    strerror(errno));
			return (NULL);
		}
		cwd = getenv("HOME") != NULL ? getenv("HOME") : "/";
	}
	if (pipe2(pipefd, O_CLOEXEC) != 0) {
		xasprintf(cause, "pipe: %s", strerror(errno));
		return (NULL);
	}

	s = xcalloc(1, sizeof *s);
	s->id = session_next_id++;
	s->name = xstrdup(name);
	s->cwd = xstrdup(cwd);
	s->command = argc == 0 ? xstrdup("") : session_join_argv(argc, argv);
	s->created = time(NULL);
	s->activity_ms = now_ms();
	s->references = 1;

	memset(&ws, 0, sizeof ws);
	ws.ws_col = cols;
	ws.ws_row = rows;
	s->pid = forkpty(&s->fd, NULL, NULL, &ws);
	if (s->pid == -1) {
		xasprintf(cause, "forkpty: %s", strerror(errno));
		close(pipefd[0]);
		close(pipefd[1]);
		free(s->name);
		free(s->cwd);
		free(s->command);
		free(s);
		return (NULL);
	}
	if (s->pid == 0) {
		close(pipefd[0]);
		session_child(s, argc, argv, env, nenv, pipefd[1]);
	}
	close(pipefd[1]);
	set_nonblock(s->fd);
	set_cloexec(s->fd);

	s->screen = screen_new(cols, rows, config.history_limit,
	    &server_history, &session_screen_cb, s);
	s->to_pty = evbuffer_new();
	s->ev_read = event_new(server_base, s->fd, EV_READ|EV_PERSIST,
	    session_read_cb, s);
	s->ev_write = event_new(server_base, s->fd, EV_WRITE, session_write_cb,
	    s);
	event_add(s->ev_read, NULL);
	TAILQ_INSERT_TAIL(&sessions, s, entry);
	server_sessions_changed();

	if (session_exec_result(pipefd[0], argc == 0 ? "shell" : argv[0],
	    cause) != 0) {
		session_destroy(s);
		return (NULL);
	}
	log_debug("%s: %s (id %u) pid %ld %ux%u", __func__, s->name, s->id,
	    (long)s->pid, cols, rows);
	return (s);
}

static void
session_close_pty(struct session *s)
{
	if (s->fd == -1)
		return;
	event_del(s->ev_read);
	event_del(s->ev_write);
	close(s->fd);
	s->fd = -1;
}

void
session_destroy(struct session *s)
{
	struct client	*c;
	u_int		 i;

	log_debug("%s: %s", __func__, s->name);
	TAILQ_REMOVE(&sessions, s, entry);
	server_sessions_changed();
	cmd_wait_session_destroyed(s);
	TAILQ_FOREACH(c, &clients, entry) {
		if (c->last_session == s)
			c->last_session = NULL;
		if (c->session == s)
			server_client_detach(c, "session killed");
	}
	session_close_pty(s);
	if (s->pid > 0 && !s->dead)
		kill(-s->pid, SIGHUP);
	event_free(s->ev_read);
	event_free(s->ev_write);
	evbuffer_free(s->to_pty);
	screen_free(s->screen);
	s->screen = NULL;
	free(s->name);
	s->name = NULL;
	for (i = 0; i < nitems(s->resumes); i++) {
		free(s->resumes[i].token);
		free(s->resumes[i].actor);
		s->resumes[i].token = s->resumes[i].actor = NULL;
	}
	session_remove_reference(s);
	server_check_exit();
}

void
session_add_references(struct session *s)
{
	s->references++;
}

void
session_remove_reference(struct session *s)
{
	if (--s->references > 0)
		return;
	free(s->cwd);
	free(s->command);
	free(s);
}

struct session *
session_find(const char *name)
{
	struct session	*s;

	TAILQ_FOREACH(s, &sessions, entry) {
		if (strcmp(s->name, name) == 0)
			return (s);
	}
	return (NULL);
}

struct session *
session_find_id(u_int id)
{
	struct session	*s;

	TAILQ_FOREACH(s, &sessions, entry) {
		if (s->id == id)
			return (s);
	}
	return (NULL);
}

void
session_rename(struct session *s, const char *name)
{
	free(s->name);
	s->name = xstrdup(name);
}

u_int
session_count(void)
{
	struct session	*s;
	u_int		 n = 0;

	TAILQ_FOREACH(s, &sessions, entry)
		n++;
	return (n);
}

/* The most recently active live session, for a bare "attach". */
struct session *
session_most_recent(void)
{
	struct session	*s, *best = NULL;

	TAILQ_FOREACH(s, &sessions, entry) {
		if (best == NULL || (best->dead && !s->dead) ||
		    (best->dead == s->dead && s->activity_ms >= best->activity_ms))
			best = s;
	}
	return (best);
}

struct session *
session_next(struct session *s)
{
	struct session	*n = TAILQ_NEXT(s, entry);

	return (n != NULL ? n : TAILQ_FIRST(&sessions));
}

struct session *
session_previous(struct session *s)
{
	struct session	*p = TAILQ_PREV(s, sessions, entry);

	return (p != NULL ? p : TAILQ_LAST(&sessions, sessions));
}

u_int
session_count_clients(struct session *s)
{
	struct client	*c;
	u_int		 n = 0;

	TAILQ_FOREACH(c, &clients, entry) {
		if (c->session == s)
			n++;
	}
	return (n);
}

/* "running", "exited 3" or "killed by SIGTERM", for ls and wait. */
char *
session_status_string(struct session *s)
{
	char	*str;

	if (!s->dead)
		return (xstrdup("running"));
	if (WIFSIGNALED(s->status))
		xasprintf(&str, "killed by signal %d", WTERMSIG(s->status));
	else
		xasprintf(&str, "exited %d", WEXITSTATUS(s->status));
	return (str);
}

void
session_write(struct session *s, const void *data, size_t len)
{
	ssize_t	 n;

	if (s->fd == -1 || len == 0)
		return;
	if (evbuffer_get_length(s->to_pty) + len > SESSION_MAX_INPUT) {
		log_warnx("%s: %s: input backlog full, dropped %zu bytes",
		    __func__, s->name, len);
		return;
	}
	if (evbuffer_get_length(s->to_pty) == 0) {
		n = write(s->fd, data, len);
		if (n > 0) {
			s->bytes_written += n;
			data = (const char *)data + n;
			len -= n;
		}
		if (len == 0)
			return;
	}
	evbuffer_add(s->to_pty, data, len);
	event_add(s->ev_write, NULL);
}

static void
session_write_cb(int fd, short events __unused, void *arg)
{
	struct session	*s = arg;
	int		 n;

	n = evbuffer_write(s->to_pty, fd);
	if (n == -1 && errno != EAGAIN && errno != EINTR) {
		evbuffer_drain(s->to_pty, evbuffer_get_length(s->to_pty));
		return;
	}
	if (n > 0)
		s->bytes_written += n;
	if (evbuffer_get_length(s->to_pty) != 0)
		event_add(s->ev_write, NULL);
}

/* Read what the program wrote; returns 0 at EOF or error. */
static int
session_read(struct session *s)
{
	static char	 buf[SESSION_READ_SIZE];
	ssize_t		 n;

	n = read(s->fd, buf, sizeof buf);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return (1);
	if (n <= 0)
		return (0);
	s->bytes_read += n;
	s->activity_ms = now_ms();
	screen_write(s->screen, buf, n);
	server_session_changed(s);
	return (1);
}

static void
session_read_cb(int fd __unused, short events __unused, void *arg)
{
	struct session	*s = arg;

	if (!session_read(s))
		session_close_pty(s);
}

void
session_child_exited(pid_t pid, int status)
{
	struct session	*s;

	TAILQ_FOREACH(s, &sessions, entry) {
		if (s->pid == pid && !s->dead)
			break;
	}
	if (s == NULL)
		return;
	/* Take whatever it wrote last before saying it ended. */
	while (s->fd != -1 && session_read(s))
		;
	session_close_pty(s);
	s->dead = 1;
	s->status = status;
	log_debug("%s: %s pid %ld status %d", __func__, s->name, (long)pid,
	    status);
	server_session_ended(s);
}

void
session_resize(struct session *s, u_int cols, u_int rows)
{
	struct winsize	 ws;

	session_clamp_size(&cols, &rows);
	if (cols == screen_cols(s->screen) && rows == screen_rows(s->screen))
		return;
	screen_resize(s->screen, cols, rows);
	if (s->fd != -1) {
		memset(&ws, 0, sizeof ws);
		ws.ws_col = cols;
		ws.ws_row = rows;
		ioctl(s->fd, TIOCSWINSZ, &ws);
	}
	server_session_changed(s);
}

/* Size the session for its clients under the sessions.windowSize policy. */
void
session_update_size(struct session *s)
{
	struct client	*c, *pick = NULL;
	u_int		 cols = 0, rows = 0, ccols, crows;

	if (s->manual_cols != 0) {
		session_resize(s, s->manual_cols, s->manual_rows);
		return;
	}
	TAILQ_FOREACH(c, &clients, entry) {
		if (c->session != s || (c->flags & CLIENT_READONLY) ||
		    !(c->flags & CLIENT_ATTACHED))
			continue;
		ccols = c->cols;
		crows = server_client_pane_rows(c);
		switch (config.size_policy) {
		case SIZE_LATEST:
			if (pick == NULL || c->activity_ms > pick->activity_ms)
				pick = c;
			cols = pick->cols;
			rows = server_client_pane_rows(pick);
			break;
		case SIZE_SMALLEST:
			if (cols == 0 || ccols < cols)
				cols = ccols;
			if (rows == 0 || crows < rows)
				rows = crows;
			break;
		case SIZE_LARGEST:
			if (ccols > cols)
				cols = ccols;
			if (crows > rows)
				rows = crows;
			break;
		}
	}
	if (cols != 0 && rows != 0)
		session_resize(s, cols, rows);
}

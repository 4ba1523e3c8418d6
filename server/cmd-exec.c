/*
 * server/cmd-exec.c: exec runs one program for a caller, without a shell
 * and without a terminal: stdout and stderr stream back apart as they come
 * (or are collected into one JSON result), capped at execution.maxOutput,
 * with a timeout that kills the whole process group.  Whether the program
 * may run is policy-exec.c's question.
 */
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <event2/event.h>

#include "server.h"

extern char	**environ;

#define EXEC_READ_SIZE	65536
#define EXEC_GRACE_MS	1000	/* SIGTERM, then SIGKILL this much later */
#define EXEC_TIMEOUT_STATUS 124	/* as timeout(1) */
/* Stop reading the program while this much waits for a slow caller. */
#define EXEC_HIGH_WATER	(1024 * 1024)

struct cmd_exec_stream {
	int		 fd;
	struct event	*ev;
	struct buf	 data;		/* --json: what is kept */
	uint64_t	 total;		/* bytes the program wrote */
	int		 truncated;
};

struct cmd_exec {
	struct cmd_ctx	*ctx;		/* NULL once the caller has gone */
	pid_t		 pid;		/* and process group */
	int		 status;	/* wait status once reaped */
	int		 json;
	int		 timed_out;
	int		 killing;	/* SIGTERM sent: the group goes too */
	int		 paused;	/* the caller is behind: not reading */
	double		 timeout;	/* seconds, 0 for none */
	const char	*timeout_from;	/* "--timeout" or "execution.timeout" */
	uint64_t	 started_us;
	struct cmd_exec_stream out[2];	/* stdout, stderr */
	struct event	*timer;		/* the timeout */
	struct event	*kill_timer;	/* SIGKILL after the grace */
	TAILQ_ENTRY(cmd_exec) entry;
};
static TAILQ_HEAD(, cmd_exec) cmd_execs = TAILQ_HEAD_INITIALIZER(cmd_execs);
static u_int	cmd_exec_running;

static enum cmd_retval	cmd_exec(struct cmd_ctx *);

const struct cmd_def cmd_exec_def = {
	.name = "exec",
	.flags = "t:",
	.longs = "cwd:,env:,timeout:,json",
	.min_args = 1, .max_args = -1,
	.usage = "[-t host] [--cwd DIR] [--env KEY=VALUE] [--timeout SECONDS] "
	    "[--json] [--] command [arg ...]",
	.start_server = 1,
	.rate = RATE_EXECUTE,
	.run = cmd_exec
};

static const struct {
	int		 sig;
	const char	*name;
} cmd_exec_signals[] = {
	{ SIGHUP, "SIGHUP" }, { SIGINT, "SIGINT" }, { SIGQUIT, "SIGQUIT" },
	{ SIGILL, "SIGILL" }, { SIGTRAP, "SIGTRAP" }, { SIGABRT, "SIGABRT" },
	{ SIGBUS, "SIGBUS" }, { SIGFPE, "SIGFPE" }, { SIGKILL, "SIGKILL" },
	{ SIGUSR1, "SIGUSR1" }, { SIGSEGV, "SIGSEGV" }, { SIGUSR2, "SIGUSR2" },
	{ SIGPIPE, "SIGPIPE" }, { SIGALRM, "SIGALRM" }, { SIGTERM, "SIGTERM" },
	{ SIGCHLD, "SIGCHLD" }, { SIGCONT, "SIGCONT" }, { SIGSTOP, "SIGSTOP" },
	{ SIGTSTP, "SIGTSTP" }, { SIGTTIN, "SIGTTIN" }, { SIGTTOU, "SIGTTOU" },
	{ SIGURG, "SIGURG" }, { SIGXCPU, "SIGXCPU" }, { SIGXFSZ, "SIGXFSZ" },
	{ SIGVTALRM, "SIGVTALRM" }, { SIGPROF, "SIGPROF" },
	{ SIGWINCH, "SIGWINCH" }, { SIGIO, "SIGIO" }, { SIGSYS, "SIGSYS" },
};

static void
cmd_exec_signal_name(int sig, char *out, size_t len)
{
	size_t	 i;

	for (i = 0; i < nitems(cmd_exec_signals); i++) {
		if (cmd_exec_signals[i].sig == sig) {
			strlcpy(out, cmd_exec_signals[i].name, len);
			return;
		}
	}
	snprintf(out, len, "SIG%d", sig);
}

static void
cmd_exec_close_stream(struct cmd_exec_stream *st)
{
	if (st->ev != NULL) {
		event_free(st->ev);
		st->ev = NULL;
	}
	if (st->fd != -1) {
		close(st->fd);
		st->fd = -1;
	}
}

static void
cmd_exec_free(struct cmd_exec *e)
{
	int	 i;

	TAILQ_REMOVE(&cmd_execs, e, entry);
	cmd_exec_running--;
	for (i = 0; i < 2; i++) {
		cmd_exec_close_stream(&e->out[i]);
		buf_free(&e->out[i].data);
	}
	if (e->timer != NULL)
		event_free(e->timer);
	if (e->kill_timer != NULL)
		event_free(e->kill_timer);
	free(e);
}

/* Keep or send what the program wrote, up to execution.maxOutput. */
static void
cmd_exec_output(struct cmd_exec *e, int i, const char *data, size_t n)
{
	struct cmd_exec_stream	*st = &e->out[i];
	size_t			 room = n;

	if (config.max_output != 0) {
		room = st->total >= config.max_output ? 0 :
		    config.max_output - st->total;
		if (room > n)
			room = n;
		if (room < n)
			st->truncated = 1;
	}
	st->total += n;
	if (room == 0 || e->ctx == NULL)
		return;
	if (e->json)
		buf_add(&st->data, data, room);
	else
		cmd_stream(e->ctx, i + 1, data, room);
}

/* Is the caller too far behind what the program writes? */
static int
cmd_exec_behind(struct cmd_exec *e)
{
	struct client	*c = e->ctx != NULL ? e->ctx->c : NULL;

	return (!e->json && c != NULL && !(c->flags & CLIENT_DEAD) &&
	    server_client_queued(c) > EXEC_HIGH_WATER);
}

static void
cmd_exec_pause(struct cmd_exec *e, int pause)
{
	u_int	 i;

	if (e->paused == pause)
		return;
	e->paused = pause;
	for (i = 0; i < nitems(e->out); i++) {
		if (e->out[i].ev == NULL)
			continue;
		if (pause)
			event_del(e->out[i].ev);
		else {
			event_add(e->out[i].ev, NULL);
			event_active(e->out[i].ev, EV_READ, 0);
		}
	}
}

/* A client took what was queued: its programs may write again. */
void
cmd_exec_drained(struct client *c)
{
	struct cmd_exec	*e;

	TAILQ_FOREACH(e, &cmd_execs, entry) {
		if (e->paused && e->ctx != NULL && e->ctx->c == c &&
		    !cmd_exec_behind(e))
			cmd_exec_pause(e, 0);
	}
}

/* Read what is there; returns 0 at end of file. */
static int
cmd_exec_read(struct cmd_exec *e, int i)
{
	char	 buf[EXEC_READ_SIZE];
	ssize_t	 n;

	for (;;) {
		n = read(e->out[i].fd, buf, sizeof buf);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return (1);
		if (n <= 0)
			return (0);
		cmd_exec_output(e, i, buf, n);
		if (cmd_exec_behind(e)) {
			/* The pipe fills and the program waits for us. */
			cmd_exec_pause(e, 1);
			return (1);
		}
		if ((size_t)n < sizeof buf)
			return (1);
	}
}

static void
cmd_exec_read_cb(int fd, short events __unused, void *arg)
{
	struct cmd_exec	*e = arg;
	int		 i = (fd == e->out[0].fd) ? 0 : 1;

	if (!cmd_exec_read(e, i))
		cmd_exec_close_stream(&e->out[i]);
}

static void
cmd_exec_kill_cb(int fd __unused, short events __unused, void *arg)
{
	struct cmd_exec	*e = arg;

	log_debug("%s: pid %ld: SIGKILL", __func__, (long)e->pid);
	killpg(e->pid, SIGKILL);
}

/* SIGTERM to the whole group now, SIGKILL after the grace. */
static void
cmd_exec_kill(struct cmd_exec *e)
{
	struct timeval	 tv = { EXEC_GRACE_MS / 1000,
			    (EXEC_GRACE_MS % 1000) * 1000 };

	if (e->killing)
		return;
	e->killing = 1;
	killpg(e->pid, SIGTERM);
	e->kill_timer = evtimer_new(server_base, cmd_exec_kill_cb, e);
	evtimer_add(e->kill_timer, &tv);
}

static void
cmd_exec_timeout_cb(int fd __unused, short events __unused, void *arg)
{
	struct cmd_exec	*e = arg;

	log_debug("%s: pid %ld after %g s", __func__, (long)e->pid,
	    e->timeout);
	e->timed_out = 1;
	cmd_exec_kill(e);
}

/* Valid UTF-8 for JSON: bad bytes and NUL become U+FFFD. */
static char *
cmd_exec_text(const struct buf *b)
{
	return (utf8_repair(b->data, b->len));
}

static void
cmd_exec_json(struct cmd_ctx *ctx, struct cmd_exec *e, double ms,
    const char *signame)
{
	cJSON		*j, *a, *t;
	char		*s;
	int		 i;

	j = cJSON_CreateObject();
	a = cJSON_AddArrayToObject(j, "command");
	for (i = 0; i < ctx->args->argc; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(ctx->args->argv[i]));
	if (WIFEXITED(e->status))
		cJSON_AddNumberToObject(j, "exit", WEXITSTATUS(e->status));
	else
		cJSON_AddNullToObject(j, "exit");
	if (signame != NULL)
		cJSON_AddStringToObject(j, "signal", signame);
	else
		cJSON_AddNullToObject(j, "signal");
	cJSON_AddNumberToObject(j, "duration_ms", ms);
	s = cmd_exec_text(&e->out[0].data);
	cJSON_AddStringToObject(j, "stdout", s);
	free(s);
	s = cmd_exec_text(&e->out[1].data);
	cJSON_AddStringToObject(j, "stderr", s);
	free(s);
	t = cJSON_AddObjectToObject(j, "truncated");
	cJSON_AddBoolToObject(t, "stdout", e->out[0].truncated);
	cJSON_AddBoolToObject(t, "stderr", e->out[1].truncated);
	cJSON_AddBoolToObject(j, "timed_out", e->timed_out);
	cmd_print_json(ctx, j);
}

/* The program is over: answer the caller with how it ended. */
static void
cmd_exec_done(struct cmd_exec *e)
{
	struct cmd_ctx	*ctx = e->ctx;
	char		 signame[32], *msg;
	double		 ms = (now_us() - e->started_us) / 1000.0;
	int		 i, code;

	e->ctx = NULL;
	if (WIFSIGNALED(e->status)) {
		cmd_exec_signal_name(WTERMSIG(e->status), signame,
		    sizeof signame);
		code = 128 + WTERMSIG(e->status);
	} else
		code = WEXITSTATUS(e->status);
	if (e->timed_out)
		code = EXEC_TIMEOUT_STATUS;
	ms = (double)(uint64_t)(ms * 1000) / 1000;	/* to the microsecond */

	if (e->json)
		cmd_exec_json(ctx, e, ms, WIFSIGNALED(e->status) ? signame :
		    NULL);
	else {
		for (i = 0; i < 2; i++) {
			if (!e->out[i].truncated)
				continue;
			xasprintf(&msg, "loopsy: %s truncated after %u bytes "
			    "(execution.maxOutput); %llu written\n",
			    i == 0 ? "stdout" : "stderr", config.max_output,
			    (unsigned long long)e->out[i].total);
			cmd_stream(ctx, 2, msg, strlen(msg));
			free(msg);
		}
	}
	if (e->timed_out) {
		cmd_error(ctx, "timeout", "timed out after %g s (%s); its "
		    "process group was killed", e->timeout, e->timeout_from);
	}
	ctx->audit_bytes = e->out[0].total + e->out[1].total;
	ctx->exit_status = code;
	log_debug("%s: pid %ld status %d in %.3f ms", __func__, (long)e->pid,
	    e->status, ms);
	cmd_finish(ctx, code == 0 ? CMD_OK : CMD_ERROR);
}

/*
 * SIGCHLD: one of ours?  Take what it left in the pipes, answer, and free
 * it.  Writers it left behind (background children) lose the pipes.
 */
int
cmd_exec_child_exited(pid_t pid, int status)
{
	struct cmd_exec	*e;
	int		 i;

	TAILQ_FOREACH(e, &cmd_execs, entry) {
		if (e->pid == pid)
			break;
	}
	if (e == NULL)
		return (0);
	e->status = status;
	if (e->killing)
		killpg(e->pid, SIGKILL);	/* anything left in the group */
	for (i = 0; i < 2; i++) {
		if (e->out[i].fd != -1)
			cmd_exec_read(e, i);
	}
	if (e->ctx != NULL)
		cmd_exec_done(e);
	cmd_exec_free(e);
	return (1);
}

/* The caller went away (or the server is going): end the program. */
void
cmd_exec_cancel(struct cmd_ctx *ctx)
{
	struct cmd_exec	*e;
	int		 i;

	TAILQ_FOREACH(e, &cmd_execs, entry) {
		if (e->ctx == ctx)
			break;
	}
	if (e == NULL)
		return;
	e->ctx = NULL;
	for (i = 0; i < 2; i++)
		cmd_exec_close_stream(&e->out[i]);
	cmd_exec_kill(e);
}

void
cmd_exec_shutdown(void)
{
	struct cmd_exec	*e;

	TAILQ_FOREACH(e, &cmd_execs, entry) {
		if (e->ctx != NULL)
			cmd_error(e->ctx, "server-exited", "the server exited; "
			    "the program was killed");
		cmd_exec_kill(e);
	}
}

/*
 * Close every descriptor from fd up without allocating: the child of vfork
 * shares our memory, so compat_closefrom's /proc fallback will not do.
 */
static void
cmd_exec_closefrom(int fd)
{
	struct rlimit	 rl;
	long		 max = 1024;

#ifdef SYS_close_range
	if (syscall(SYS_close_range, (unsigned int)fd, ~0U, 0) == 0)
		return;
#endif
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		max = rl.rlim_cur > 65536 ? 65536 : (long)rl.rlim_cur;
	for (; fd < max; fd++)
		close(fd);
}

/*
 * In the child of vfork, signals blocked: only system calls, no allocation,
 * never returns.  A failure goes up the report pipe as an errno.
 */
static __dead void
cmd_exec_child(const char *file, char **argv, char **env, const char *cwd,
    int outfd, int errfd, int reportfd)
{
	sigset_t	 set;
	int		 i, fd, e;

	for (i = 1; i < NSIG; i++)
		signal(i, SIG_DFL);
	sigemptyset(&set);
	sigprocmask(SIG_SETMASK, &set, NULL);
	setpgid(0, 0);
	/* 0 is /dev/null, 1 and 2 the pipes, 3 the report; nothing else. */
	if ((fd = open("/dev/null", O_RDONLY)) == -1 ||
	    dup2(fd, 0) == -1 || dup2(outfd, 1) == -1 ||
	    dup2(errfd, 2) == -1 || dup2(reportfd, 3) == -1)
		goto fail;
	fcntl(3, F_SETFD, FD_CLOEXEC);
	cmd_exec_closefrom(4);
	if (chdir(cwd) != 0)
		goto fail;
	execve(file, argv, env);
fail:
	e = errno;
	if (write(3, &e, sizeof e) < 0)
		_exit(127);
	_exit(127);
}

/* Did the exec work?  The report pipe closes on exec, or holds an errno. */
static int
cmd_exec_result(int fd)
{
	int	 e;
	ssize_t	 n;

	do
		n = read(fd, &e, sizeof e);
	while (n == -1 && errno == EINTR);
	close(fd);
	return (n == sizeof e ? e : 0);
}

/* The environment: the server's, with --env values over it. */
static char **
cmd_exec_environ(struct args *a)
{
	char		**env;
	u_int		 n = 0, i, k;
	size_t		 len;

	while (environ[n] != NULL)
		n++;
	env = xcalloc(n + a->nentries + 1, sizeof *env);
	for (i = 0; i < n; i++)
		env[i] = environ[i];
	for (k = 0; k < a->nentries; k++) {
		if (a->entries[k].name == NULL ||
		    strcmp(a->entries[k].name, "env") != 0)
			continue;
		len = strcspn(a->entries[k].value, "=") + 1;
		for (i = 0; i < n; i++) {
			if (strncmp(env[i], a->entries[k].value, len) == 0)
				break;
		}
		env[i] = a->entries[k].value;
		if (i == n)
			n++;
	}
	env[n] = NULL;
	return (env);
}

/* Check --env, --timeout, --cwd; fills *cwd (absolute) and *timeout. */
static enum cmd_retval
cmd_exec_options(struct cmd_ctx *ctx, char **cwd, double *timeout)
{
	struct args	*a = ctx->args;
	struct stat	 sb;
	const char	*s, *v;
	char		*end;
	u_int		 k;
	size_t		 n;

	for (k = 0; k < a->nentries; k++) {
		if (a->entries[k].name == NULL ||
		    strcmp(a->entries[k].name, "env") != 0)
			continue;
		v = a->entries[k].value;
		n = strcspn(v, "=");
		if (v[n] != '=' || n == 0 || (!isalpha((u_char)*v) &&
		    *v != '_') || strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "abcdefghijklmnopqrstuvwxyz0123456789_") != n) {
			cmd_error(ctx, "usage", "exec: --env %s: expected "
			    "KEY=VALUE", v);
			return (CMD_USAGE);
		}
		if (policy_exec_env_denied(v, n, 1)) {
			cmd_error(ctx, "denied", "exec: --env %.*s: refused by "
			    "the execution policy: it changes what runs (the "
			    "dynamic loader, shell start-up files or exported "
			    "functions), which no deny- or allowlist could see",
			    (int)n, v);
			return (CMD_ERROR);
		}
	}
	*timeout = config.exec_timeout;
	if ((s = args_get_long(a, "timeout")) != NULL) {
		*timeout = strtod(s, &end);
		if (*s == '\0' || *end != '\0' ||
		    !(*timeout > 0 && *timeout <= 1e7)) {
			cmd_error(ctx, "usage", "exec: --timeout %s: not a "
			    "positive number of seconds up to 10000000", s);
			return (CMD_USAGE);
		}
	}
	s = args_get_long(a, "cwd");
	if (s == NULL)
		s = ctx->cwd != NULL ? ctx->cwd : "/";
	if (*s == '\0') {
		cmd_error(ctx, "bad-cwd", "exec: --cwd: empty directory name");
		return (CMD_ERROR);
	}
	if (*s != '/' && ctx->cwd != NULL)
		xasprintf(cwd, "%s/%s", ctx->cwd, s);
	else
		*cwd = xstrdup(s);
	if (stat(*cwd, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
		if (stat(*cwd, &sb) != 0)
			cmd_error(ctx, "bad-cwd", "exec: --cwd %s: %s", s,
			    strerror(errno));
		else
			cmd_error(ctx, "bad-cwd", "exec: --cwd %s: not a "
			    "directory", s);
		free(*cwd);
		*cwd = NULL;
		return (CMD_ERROR);
	}
	return (CMD_OK);
}

/* The PATH names are found on: --env PATH=... or the server's. */
static const char *
cmd_exec_path(struct args *a)
{
	const char	*path = getenv("PATH");
	u_int		 k;

	for (k = 0; k < a->nentries; k++) {
		if (a->entries[k].name != NULL &&
		    strcmp(a->entries[k].name, "env") == 0 &&
		    strncmp(a->entries[k].value, "PATH=", 5) == 0)
			path = a->entries[k].value + 5;
	}
	return (path);
}

/* Fork the program in its own process group; -1 and *cause on failure. */
static int
cmd_exec_spawn(struct cmd_exec *e, const char *file, char **argv,
    char **env, const char *cwd, char **cause)
{
	int	 out[2] = { -1, -1 }, err[2] = { -1, -1 };
	int	 report[2] = { -1, -1 }, error, i;
	pid_t	 pid;
	sigset_t all, old;

	if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0 ||
	    pipe2(report, O_CLOEXEC) != 0) {
		xasprintf(cause, "pipe: %s", strerror(errno));
		goto fail;
	}
	/*
	 * vfork: the server's pages are not copied, so a large server spawns
	 * as fast as a small one.  No handler of ours may run in the child
	 * before it resets them: signals stay blocked until then.
	 */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	pid = vfork();
	if (pid == 0)
		cmd_exec_child(file, argv, env, cwd, out[1], err[1], report[1]);
	error = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (pid == -1) {
		xasprintf(cause, "vfork: %s", strerror(error));
		goto fail;
	}
	setpgid(pid, pid);	/* either of us may be first */
	close(out[1]);
	close(err[1]);
	close(report[1]);
	e->pid = pid;
	e->started_us = now_us();
	if ((error = cmd_exec_result(report[0])) != 0) {
		/* The child has exited: SIGCHLD reaps it as nobody's. */
		if (error == ENOENT)
			xasprintf(cause, "command not found: %s", argv[0]);
		else
			xasprintf(cause, "cannot run %s: %s", argv[0],
			    strerror(error));
		close(out[0]);
		close(err[0]);
		return (error == ENOENT ? 127 : 126);
	}
	e->out[0].fd = out[0];
	e->out[1].fd = err[0];
	for (i = 0; i < 2; i++) {
		set_nonblock(e->out[i].fd);
		e->out[i].ev = event_new(server_base, e->out[i].fd,
		    EV_READ|EV_PERSIST, cmd_exec_read_cb, e);
		event_add(e->out[i].ev, NULL);
	}
	return (0);
fail:
	for (i = 0; i < 2; i++) {
		if (out[i] != -1)
			close(out[i]);
		if (err[i] != -1)
			close(err[i]);
		if (report[i] != -1)
			close(report[i]);
	}
	return (1);
}

/* The program's name without its directory (which may say too much). */
static char *
cmd_exec_name(const char *argv0)
{
	const char	*slash = strrchr(argv0, '/');

	if (*argv0 == '\0')
		return (xstrdup("(empty)"));
	if (slash != NULL && slash[1] != '\0')
		return (xstrdup(slash + 1));
	return (xstrdup(argv0));
}

static enum cmd_retval
cmd_exec(struct cmd_ctx *ctx)
{
	struct args		*a = ctx->args;
	struct policy_exec	 p;
	struct cmd_exec		*e;
	struct timeval		 tv;
	enum cmd_retval		 rv;
	const char		*t = args_get(a, 't');
	char			*cwd = NULL, *file = NULL, *cause = NULL;
	char			**env = NULL;
	double			 timeout;
	int			 rc;

	/* The audit log gets the program's name, never its arguments. */
	free(ctx->audit_target);
	ctx->audit_target = cmd_exec_name(a->argv[0]);
	if (t != NULL) {
		cmd_error(ctx, "no-peer", "unknown peer: %.*s (no peers are "
		    "configured)", (int)strcspn(t, ":"), t);
		return (CMD_ERROR);
	}
	if ((rv = cmd_exec_options(ctx, &cwd, &timeout)) != CMD_OK)
		return (rv);

	memset(&p, 0, sizeof p);
	p.denylist = &config.denylist;
	p.allowlist = config.allowlist_set ? &config.allowlist : NULL;
	p.path = cmd_exec_path(a);
	p.cwd = cwd;
	rc = policy_exec_check(&p, a->argc, a->argv, &file, &cause);
	if (rc != POLICY_EXEC_OK) {
		if (rc == POLICY_EXEC_DENIED)
			cmd_error(ctx, "denied", "%s", cause);
		else if (rc == POLICY_EXEC_CANNOT_RUN) {
			cmd_error(ctx, "exec-failed", "%s", cause);
			ctx->exit_status = 126;
		} else
			cmd_error(ctx, "not-found", "%s", cause);
		if (rc == POLICY_EXEC_NOT_FOUND && *a->argv[0] != '\0')
			ctx->exit_status = 127;
		rv = CMD_ERROR;
		goto out;
	}
	if (config.max_concurrent != 0 &&
	    cmd_exec_running >= config.max_concurrent) {
		cmd_error(ctx, "busy", "busy: %u commands already running "
		    "(execution.maxConcurrent)", cmd_exec_running);
		rv = CMD_ERROR;
		goto out;
	}

	e = xcalloc(1, sizeof *e);
	e->ctx = ctx;
	e->json = args_has_long(a, "json");
	e->timeout = timeout;
	e->timeout_from = args_get_long(a, "timeout") != NULL ? "--timeout" :
	    "execution.timeout";
	e->out[0].fd = e->out[1].fd = -1;
	buf_init(&e->out[0].data);
	buf_init(&e->out[1].data);
	env = cmd_exec_environ(a);
	if ((rc = cmd_exec_spawn(e, file, a->argv, env, cwd, &cause)) != 0) {
		cmd_error(ctx, rc == 127 ? "not-found" : "exec-failed", "%s",
		    cause);
		ctx->exit_status = rc;
		free(e);
		rv = CMD_ERROR;
		goto out;
	}
	TAILQ_INSERT_TAIL(&cmd_execs, e, entry);
	cmd_exec_running++;
	if (timeout > 0) {
		tv.tv_sec = (time_t)timeout;
		tv.tv_usec = (suseconds_t)((timeout - tv.tv_sec) * 1e6);
		e->timer = evtimer_new(server_base, cmd_exec_timeout_cb, e);
		evtimer_add(e->timer, &tv);
	}
	log_debug("%s: %s pid %ld in %s", __func__, file, (long)e->pid, cwd);
	rv = CMD_WAIT;
out:
	free(env);
	free(cause);
	free(file);
	free(cwd);
	return (rv);
}

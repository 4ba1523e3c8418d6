/*
 * server/cmd-wait.c: block until a session's program exits (--exit), its
 * screen matches a regular expression (--text), or its output has been quiet
 * for a while (--idle), with an optional --timeout.  run uses the same
 * waiters.  Waiters are events, never polling.
 */
#include <sys/wait.h>

#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <event2/event.h>

#include "server.h"

enum cmd_wait_type { WAIT_EXIT, WAIT_TEXT, WAIT_IDLE };

struct cmd_wait {
	struct cmd_ctx		*ctx;
	struct session		*s;
	enum cmd_wait_type	 type;
	regex_t			 re;
	int			 have_re;
	u_int			 idle_ms;
	struct event		*timeout;
	struct event		*idle;
	uint64_t		 started;
	void			 (*done)(struct cmd_wait *);	/* run */
	TAILQ_ENTRY(cmd_wait)	 entry;
};
static TAILQ_HEAD(, cmd_wait) cmd_waits = TAILQ_HEAD_INITIALIZER(cmd_waits);

static enum cmd_retval	cmd_wait(struct cmd_ctx *);

const struct cmd_def cmd_wait_def = {
	.name = "wait",
	.alias = "wait-for",
	.flags = "t:",
	.longs = "exit,text:,idle:,timeout:,json",
	.min_args = 0, .max_args = 0,
	.usage = "[-t target-session] --exit | --text REGEX | --idle MS "
	    "[--timeout SECONDS] [--json]",
	.run = cmd_wait
};

static void
cmd_wait_free(struct cmd_wait *w)
{
	TAILQ_REMOVE(&cmd_waits, w, entry);
	if (w->have_re)
		regfree(&w->re);
	if (w->timeout != NULL)
		event_free(w->timeout);
	if (w->idle != NULL)
		event_free(w->idle);
	session_remove_reference(w->s);
	w->ctx->wait = NULL;
	free(w);
}

/* Finish the waiting command; the waiter goes first. */
static void
cmd_wait_end(struct cmd_wait *w, enum cmd_retval rv)
{
	struct cmd_ctx	*ctx = w->ctx;

	cmd_wait_free(w);
	cmd_finish(ctx, rv);
}

void
cmd_wait_cancel(struct cmd_ctx *ctx)
{
	struct cmd_wait	*w = ctx->wait;
	struct session	*s;
	int		 run;

	if (w == NULL)
		return;
	s = w->s;
	run = (w->done != NULL);
	session_add_references(s);
	cmd_wait_free(w);
	if (run && session_find_id(s->id) == s)	/* nobody will read it */
		session_destroy(s);
	session_remove_reference(s);
}

/* The exit status as a shell would give it: code, or 128 + signal. */
static int
cmd_wait_exit_code(struct session *s)
{
	if (WIFSIGNALED(s->status))
		return (128 + WTERMSIG(s->status));
	return (WEXITSTATUS(s->status));
}

/* Print how the program ended; the command exits with its status. */
static enum cmd_retval
cmd_wait_print_exit(struct cmd_ctx *ctx, struct session *s, uint64_t started)
{
	char	*st = session_status_string(s);
	cJSON	*j;

	if (args_has_long(ctx->args, "json")) {
		j = cmd_session_json(s);
		cJSON_AddNumberToObject(j, "waited_ms", now_ms() - started);
		cmd_print_json(ctx, j);
	} else
		cmd_print(ctx, "%s\n", st);
	free(st);
	ctx->exit_status = cmd_wait_exit_code(s);
	return (ctx->exit_status == 0 ? CMD_OK : CMD_ERROR);
}

/* Output went quiet (or the program ended): with --json, say so. */
static enum cmd_retval
cmd_wait_print_idle(struct cmd_ctx *ctx, struct session *s, uint64_t started)
{
	cJSON	*j;

	if (args_has_long(ctx->args, "json")) {
		j = cmd_session_json(s);
		cJSON_AddNumberToObject(j, "waited_ms", now_ms() - started);
		cmd_print_json(ctx, j);
	}
	return (CMD_OK);
}

/* Does the visible screen match?  Prints the first matching line. */
static int
cmd_wait_check_text(struct cmd_wait *w)
{
	struct buf	 b;
	char		*line, *next;
	int		 found = 0;

	buf_init(&b);
	screen_capture(w->s->screen, 0, CAPTURE_END_VISIBLE, CAPTURE_JOIN, &b);
	buf_add(&b, "", 1);
	for (line = b.data; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if (regexec(&w->re, line, 0, NULL, 0) == 0) {
			if (args_has_long(w->ctx->args, "json")) {
				cJSON *j = cJSON_CreateObject();

				cJSON_AddStringToObject(j, "session",
				    w->s->name);
				cJSON_AddStringToObject(j, "matched", line);
				cmd_print_json(w->ctx, j);
			} else
				cmd_print(w->ctx, "%s\n", line);
			found = 1;
			break;
		}
	}
	buf_free(&b);
	return (found);
}

static void
cmd_wait_timeout_cb(int fd __unused, short events __unused, void *arg)
{
	struct cmd_wait	*w = arg;
	struct session	*s = w->s;
	int		 run = (w->done != NULL);
	const char	*what[] = { "the program to exit", "the text",
			    "output to go quiet" };

	cmd_error(w->ctx, "timeout", "timed out after %s s waiting for %s in "
	    "session %s", args_get_long(w->ctx->args, "timeout"),
	    what[w->type], s->name);
	/* End the waiter first: destroying the session ends its waiters. */
	session_add_references(s);
	cmd_wait_end(w, CMD_ERROR);
	if (run && session_find_id(s->id) != NULL)
		session_destroy(s);	/* run: the program is killed */
	session_remove_reference(s);
}

static void
cmd_wait_idle_cb(int fd __unused, short events __unused, void *arg)
{
	struct cmd_wait	*w = arg;

	cmd_wait_end(w, cmd_wait_print_idle(w->ctx, w->s, w->started));
}

static void
cmd_wait_arm_idle(struct cmd_wait *w)
{
	struct timeval	 tv;

	tv.tv_sec = w->idle_ms / 1000;
	tv.tv_usec = (w->idle_ms % 1000) * 1000;
	evtimer_add(w->idle, &tv);
}

void
cmd_wait_output(struct session *s)
{
	struct cmd_wait	*w, *w1;

	TAILQ_FOREACH_SAFE(w, &cmd_waits, entry, w1) {
		if (w->s != s)
			continue;
		if (w->type == WAIT_TEXT && cmd_wait_check_text(w))
			cmd_wait_end(w, CMD_OK);
		else if (w->type == WAIT_IDLE)
			cmd_wait_arm_idle(w);
	}
}

/*
 * The program ended.  Plain waiters hear of it first, then run's, whose
 * done callback removes the session (and with it any waiter left); the list
 * is walked again after each waiter ends, since that may free others.
 */
void
cmd_wait_session_ended(struct session *s)
{
	struct cmd_wait	*w;
	int		 pass;

	for (pass = 0; pass < 2; pass++) {
again:
		TAILQ_FOREACH(w, &cmd_waits, entry) {
			if (w->s == s && (w->done != NULL) == pass)
				break;
		}
		if (w == NULL)
			continue;
		if (w->done != NULL)
			w->done(w);
		else if (w->type == WAIT_EXIT)
			cmd_wait_end(w, cmd_wait_print_exit(w->ctx, s,
			    w->started));
		else if (w->type == WAIT_IDLE)
			cmd_wait_end(w, cmd_wait_print_idle(w->ctx, s,
			    w->started));
		else if (cmd_wait_check_text(w))
			cmd_wait_end(w, CMD_OK);
		else {
			cmd_error(w->ctx, "session-ended", "session %s ended "
			    "before the text appeared", s->name);
			cmd_wait_end(w, CMD_ERROR);
		}
		goto again;
	}
}

/* The session is being removed: nothing it could wait for will happen. */
void
cmd_wait_session_destroyed(struct session *s)
{
	struct cmd_wait	*w, *w1;

	TAILQ_FOREACH_SAFE(w, &cmd_waits, entry, w1) {
		if (w->s != s)
			continue;
		cmd_error(w->ctx, "session-killed", "session %s was killed",
		    s->name);
		cmd_wait_end(w, CMD_ERROR);
	}
}

/* Start waiting on s; returns the waiter (not yet armed for idle). */
struct cmd_wait *
cmd_wait_add(struct cmd_ctx *ctx, struct session *s, int type,
    double timeout)
{
	struct cmd_wait	*w;
	struct timeval	 tv;

	w = xcalloc(1, sizeof *w);
	w->ctx = ctx;
	w->s = s;
	w->type = type;
	w->started = now_ms();
	session_add_references(s);
	ctx->wait = w;
	TAILQ_INSERT_TAIL(&cmd_waits, w, entry);
	if (timeout > 0) {
		w->timeout = evtimer_new(server_base, cmd_wait_timeout_cb, w);
		tv.tv_sec = (time_t)timeout;
		tv.tv_usec = (timeout - tv.tv_sec) * 1e6;
		evtimer_add(w->timeout, &tv);
	}
	return (w);
}

void
cmd_wait_set_done(struct cmd_wait *w, void (*done)(struct cmd_wait *))
{
	w->done = done;
}

struct cmd_ctx *
cmd_wait_ctx(struct cmd_wait *w)
{
	return (w->ctx);
}

struct session *
cmd_wait_session(struct cmd_wait *w)
{
	return (w->s);
}

void
cmd_wait_finish(struct cmd_wait *w, enum cmd_retval rv)
{
	cmd_wait_end(w, rv);
}

static int
cmd_wait_number(struct cmd_ctx *ctx, const char *name, double max,
    double *out)
{
	const char	*s = args_get_long(ctx->args, name);
	char		*end;

	*out = 0;
	if (s == NULL)
		return (0);
	*out = strtod(s, &end);
	if (*s == '\0' || *end != '\0' || !(*out >= 0 && *out <= max)) {
		cmd_error(ctx, "usage", "wait: --%s %s: not a number from 0 "
		    "to %.0f", name, s, max);
		return (-1);
	}
	return (0);
}

static enum cmd_retval
cmd_wait(struct cmd_ctx *ctx)
{
	struct args	*a = ctx->args;
	struct session	*s;
	struct cmd_wait	*w;
	double		 timeout, idle;
	int		 type, n, err;
	char		 msg[256];

	n = args_has_long(a, "exit") + args_has_long(a, "text") +
	    args_has_long(a, "idle");
	if (n != 1) {
		cmd_error(ctx, "usage", "wait: give exactly one of --exit, "
		    "--text or --idle\nusage: loopsy wait %s", cmd_wait_def.usage);
		return (CMD_USAGE);
	}
	if (cmd_wait_number(ctx, "timeout", 1e7, &timeout) != 0 ||
	    cmd_wait_number(ctx, "idle", 1e9, &idle) != 0)
		return (CMD_USAGE);
	if ((s = cmd_find_session(ctx, args_get(a, 't'), 0)) == NULL)
		return (CMD_ERROR);
	type = args_has_long(a, "exit") ? WAIT_EXIT :
	    args_has_long(a, "text") ? WAIT_TEXT : WAIT_IDLE;
	if (s->dead && type == WAIT_EXIT)
		return (cmd_wait_print_exit(ctx, s, now_ms()));
	if (s->dead && type == WAIT_IDLE)
		return (cmd_wait_print_idle(ctx, s, now_ms()));
	w = cmd_wait_add(ctx, s, type, timeout);
	if (type == WAIT_TEXT) {
		err = regcomp(&w->re, args_get_long(a, "text"),
		    REG_EXTENDED|REG_NOSUB);
		if (err != 0) {
			regerror(err, &w->re, msg, sizeof msg);
			cmd_error(ctx, "usage", "wait: --text: bad regular "
			    "expression: %s", msg);
			cmd_wait_free(w);
			return (CMD_USAGE);
		}
		w->have_re = 1;
		if (cmd_wait_check_text(w)) {
			cmd_wait_free(w);
			return (CMD_OK);
		}
	}
	if (s->dead) {
		cmd_wait_free(w);
		cmd_error(ctx, "session-ended", "session %s has ended and the "
		    "text is not on its screen", s->name);
		return (CMD_ERROR);
	}
	if (type == WAIT_IDLE) {
		w->idle_ms = idle;
		w->idle = evtimer_new(server_base, cmd_wait_idle_cb, w);
		cmd_wait_arm_idle(w);
	}
	return (CMD_WAIT);
}

/*
 * server/cmd-run.c: run one command in a fresh terminal session, wait for it
 * to exit, print what it left on the terminal (scrollback and screen) and
 * exit with its status; the session is removed afterwards.
 */
#include <sys/wait.h>

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "server.h"

static enum cmd_retval	cmd_run(struct cmd_ctx *);

const struct cmd_def cmd_run_def = {
	.name = "run",
	.alias = NULL,
	.flags = "c:e:t:x:y:",
	.longs = "json,timeout:",
	.min_args = 1, .max_args = -1,
	.usage = "[-c dir] [-e VAR=value] [-x cols] [-y rows] [--json] "
	    "[--timeout SECONDS] [--] command [arg ...]",
	.start_server = 1,
	.run = cmd_run
};

static void
cmd_run_trim(struct buf *b)
{
	while (b->len > 0 && b->data[b->len - 1] == '\n')
		b->len--;
	if (b->len > 0)
		buf_add(b, "\n", 1);
}

static void
cmd_run_done(struct cmd_wait *w)
{
	struct cmd_ctx	*ctx = cmd_wait_ctx(w);
	struct session	*s = cmd_wait_session(w);
	struct buf	 text;
	cJSON		*j;
	int		 code;

	buf_init(&text);
	screen_capture(s->screen, CAPTURE_START_HISTORY, CAPTURE_END_VISIBLE,
	    CAPTURE_JOIN, &text);
	cmd_run_trim(&text);
	code = WIFSIGNALED(s->status) ? 128 + WTERMSIG(s->status) :
	    WEXITSTATUS(s->status);
	if (args_has_long(ctx->args, "json")) {
		buf_add(&text, "", 1);
		j = cmd_session_json(s);
		cJSON_AddStringToObject(j, "output", text.data);
		cJSON_AddNumberToObject(j, "duration_ms", now_ms() -
		    s->input_ms);
		cmd_print_json(ctx, j);
	} else
		buf_add(&ctx->out, text.data, text.len);
	buf_free(&text);
	ctx->exit_status = code;
	/* Finish first: destroying the session ends the waiters left on it. */
	session_add_references(s);
	cmd_wait_finish(w, code == 0 ? CMD_OK : CMD_ERROR);
	if (session_find_id(s->id) != NULL)
		session_destroy(s);
	session_remove_reference(s);
}

static enum cmd_retval
cmd_run(struct cmd_ctx *ctx)
{
	struct args	*a = ctx->args;
	struct session	*s;
	struct cmd_wait	*w;
	const char	*e, *t = args_get(a, 't'), *ts;
	char		**env = NULL, *cause = NULL, *end;
	u_int		 nenv = 0, i = 0;
	long long	 cols, rows;
	double		 timeout = 0;

	if (t != NULL && strchr(t, ':') != NULL && *t != ':') {
		cmd_error(ctx, "no-peer", "unknown peer: %.*s (no peers are "
		    "configured)", (int)(strchr(t, ':') - t), t);
		return (CMD_ERROR);
	}
	cols = args_number(a, 'x', 160, 1, SCREEN_MAX_SIZE, &cause);
	if (cause == NULL)
		rows = args_number(a, 'y', 50, 1, SCREEN_MAX_SIZE, &cause);
	if (cause == NULL && (ts = args_get_long(a, "timeout")) != NULL) {
		timeout = strtod(ts, &end);
		if (*ts == '\0' || *end != '\0' ||
		    !(timeout > 0 && timeout <= 1e7))
			xasprintf(&cause, "--timeout %s: not a positive "
			    "number of seconds up to 10000000", ts);
	}
	while (cause == NULL && (e = args_next(a, 'e', &i)) != NULL) {
		if (strchr(e, '=') == NULL || *e == '=')
			xasprintf(&cause, "-e %s: expected VAR=value", e);
		env = xreallocarray(env, nenv + 1, sizeof *env);
		env[nenv++] = (char *)e;
	}
	if (cause != NULL) {
		cmd_error(ctx, "usage", "run: %s", cause);
		free(cause);
		free(env);
		return (CMD_USAGE);
	}
	s = session_create(NULL, a->argc, a->argv, args_get(a, 'c') != NULL ?
	    args_get(a, 'c') : ctx->cwd, env, nenv, cols, rows, &cause);
	free(env);
	if (s == NULL) {
		cmd_error(ctx, "create-failed", "%s", cause);
		free(cause);
		return (CMD_ERROR);
	}
	s->input_ms = now_ms();
	w = cmd_wait_add(ctx, s, 0, timeout);
	cmd_wait_set_done(w, cmd_run_done);
	return (CMD_WAIT);
}

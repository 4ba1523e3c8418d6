/* server/cmd-new-session.c: start a session and, unless -d, attach to it. */

#include <stdlib.h>
#include <string.h>

#include "server.h"

static enum cmd_retval	cmd_new_session(struct cmd_ctx *);

const struct cmd_def cmd_new_session_def = {
	.name = "new-session",
	.alias = "new",
	.flags = "AdPc:e:s:x:y:F:t:",
	.longs = "json",
	.min_args = 0, .max_args = -1,
	.usage = "[-AdP] [-c dir] [-e VAR=value] [-s name] [-x cols] "
	    "[-y rows] [command ...]",
	.start_server = 1,
	.run = cmd_new_session
};

static int
cmd_new_session_size(struct cmd_ctx *ctx, u_int *cols, u_int *rows)
{
	char	*cause;

	*cols = 80;
	*rows = 24;
	if (ctx->attached != NULL) {
		*cols = ctx->attached->cols;
		*rows = server_client_pane_rows(ctx->attached);
	} else if (ctx->has_tty && !args_has(ctx->args, 'd')) {
		*cols = ctx->tty_cols;
		*rows = ctx->tty_rows > 1 && config.status ? ctx->tty_rows - 1 :
		    ctx->tty_rows;
	}
	*cols = args_number(ctx->args, 'x', *cols, 1, SCREEN_MAX_SIZE, &cause);
	if (cause == NULL)
		*rows = args_number(ctx->args, 'y', *rows, 1, SCREEN_MAX_SIZE, &cause);
	if (cause != NULL) {
		cmd_error(ctx, "usage", "new-session: %s", cause);
		free(cause);
		return (-1);
	}
	return (0);
}

static enum cmd_retval
cmd_new_session(struct cmd_ctx *ctx)
{
	struct args	*a = ctx->args;
	struct session	*s;
	const char	*name = args_get(a, 's'), *e, *cwd;
	char		**env = NULL, *cause = NULL;
	u_int		 cols, rows, nenv = 0, i = 0;

	if (args_has(a, 't')) {
		cmd_find_session(ctx, args_get(a, 't'), 0);
		if (ctx->error != NULL)
			return (CMD_ERROR);
	}
	if (name != NULL && args_has(a, 'A') && session_find(name) != NULL) {
		s = session_find(name);
		if (s->dead) {
			cmd_error(ctx, "session-ended", "session %s has ended",
			    s->name);
			return (CMD_ERROR);
		}
		goto attach;
	}
	if (!args_has(a, 'd') && ctx->attached == NULL && !ctx->has_tty) {
		cmd_error(ctx, "no-terminal", "new-session: not a terminal "
		    "(use -d to start the session detached)");
		return (CMD_ERROR);
	}
	if (cmd_new_session_size(ctx, &cols, &rows) != 0)
		return (CMD_USAGE);
	while ((e = args_next(a, 'e', &i)) != NULL) {
		if (strchr(e, '=') == NULL || *e == '=') {
			cmd_error(ctx, "usage", "new-session: -e %s: expected "
			    "VAR=value", e);
			free(env);
			return (CMD_USAGE);
		}
		env = xreallocarray(env, nenv + 1, sizeof *env);
		env[nenv++] = (char *)e;
	}
	cwd = args_get(a, 'c') != NULL ? args_get(a, 'c') : ctx->cwd;
	s = session_create(name, a->argc, a->argv, cwd, env, nenv, cols, rows,
	    &cause);
	free(env);
	if (s == NULL) {
		cmd_error(ctx, "create-failed", "%s", cause);
		free(cause);
		return (CMD_ERROR);
	}
	free(ctx->audit_target);
	ctx->audit_target = xstrdup(s->name);
	if (args_has(a, 'P'))
		cmd_print(ctx, "%s\n", s->name);
	if (args_has(a, 'd'))
		return (CMD_OK);
attach:
	if (ctx->attached != NULL) {
		server_client_switch(ctx->attached, s);
		return (CMD_OK);
	}
	if (!ctx->has_tty || ctx->c == NULL) {
		cmd_error(ctx, "duplicate-session", "duplicate session: %s",
		    s->name);
		return (CMD_ERROR);
	}
	server_client_attach(ctx->c, s);
	return (CMD_ATTACH);
}

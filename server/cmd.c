/*
 * server/cmd.c: the command table (DESIGN.md decision 5): finding a command
 * by name or alias, checking its arguments, resolving targets, and carrying
 * its output and errors back to whoever asked.  Each command's behaviour is
 * in its own cmd-*.c file.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server.h"

static char	*cmd_group_words(const char *);


extern const struct cmd_def cmd_attach_session_def;
extern const struct cmd_def cmd_capture_pane_def;
extern const struct cmd_def cmd_choose_session_def;
extern const struct cmd_def cmd_command_prompt_def;
extern const struct cmd_def cmd_config_check_def;
extern const struct cmd_def cmd_config_reload_def;
extern const struct cmd_def cmd_context_delete_def;
extern const struct cmd_def cmd_context_get_def;
extern const struct cmd_def cmd_context_list_def;
extern const struct cmd_def cmd_context_set_def;
extern const struct cmd_def cmd_copy_mode_def;
extern const struct cmd_def cmd_detach_client_def;
extern const struct cmd_def cmd_disable_def;
extern const struct cmd_def cmd_display_message_def;
extern const struct cmd_def cmd_doctor_def;
extern const struct cmd_def cmd_enable_def;
extern const struct cmd_def cmd_exec_def;
extern const struct cmd_def cmd_has_session_def;
extern const struct cmd_def cmd_init_def;
extern const struct cmd_def cmd_key_generate_def;
extern const struct cmd_def cmd_key_show_def;
extern const struct cmd_def cmd_peers_add_def;
extern const struct cmd_def cmd_peers_list_def;
extern const struct cmd_def cmd_peers_remove_def;
extern const struct cmd_def cmd_pair_def;
extern const struct cmd_def cmd_pair_confirm_def;
extern const struct cmd_def cmd_pair_wait_def;
extern const struct cmd_def cmd_kill_server_def;
extern const struct cmd_def cmd_kill_session_def;
extern const struct cmd_def cmd_list_keys_def;
extern const struct cmd_def cmd_list_sessions_def;
extern const struct cmd_def cmd_logs_def;
extern const struct cmd_def cmd_ls_files_def;
extern const struct cmd_def cmd_mcp_install_def;
extern const struct cmd_def cmd_mcp_uninstall_def;
extern const struct cmd_def cmd_msg_ack_def;
extern const struct cmd_def cmd_msg_acked_def;
extern const struct cmd_def cmd_msg_inbox_def;
extern const struct cmd_def cmd_msg_send_def;
extern const struct cmd_def cmd_new_session_def;
extern const struct cmd_def cmd_refresh_client_def;
extern const struct cmd_def cmd_rename_session_def;
extern const struct cmd_def cmd_resize_window_def;
extern const struct cmd_def cmd_run_def;
extern const struct cmd_def cmd_send_keys_def;
extern const struct cmd_def cmd_send_prefix_def;
extern const struct cmd_def cmd_start_def;
extern const struct cmd_def cmd_stats_def;
extern const struct cmd_def cmd_status_def;
extern const struct cmd_def cmd_switch_client_def;
extern const struct cmd_def cmd_transfer_finish_def;
extern const struct cmd_def cmd_transfer_get_def;
extern const struct cmd_def cmd_transfer_mkdir_def;
extern const struct cmd_def cmd_transfer_put_def;
extern const struct cmd_def cmd_transfer_status_def;
extern const struct cmd_def cmd_wait_def;
/* Relay and phones (issue 6) */
extern const struct cmd_def cmd_launch_def;
extern const struct cmd_def cmd_mobile_pair_def;
extern const struct cmd_def cmd_mobile_pair_wait_def;
extern const struct cmd_def cmd_phone_grant_def;
extern const struct cmd_def cmd_phone_list_def;
extern const struct cmd_def cmd_phone_revoke_def;
extern const struct cmd_def cmd_phone_revoke_grant_def;
extern const struct cmd_def cmd_relay_configure_def;
extern const struct cmd_def cmd_relay_forget_def;
extern const struct cmd_def cmd_relay_reload_def;
extern const struct cmd_def cmd_relay_status_def;

const struct cmd_def *cmd_table[] = {
	&cmd_attach_session_def,
	&cmd_capture_pane_def,
	&cmd_choose_session_def,
	&cmd_command_prompt_def,
	&cmd_config_check_def,
	&cmd_config_reload_def,
	&cmd_context_delete_def,
	&cmd_context_get_def,
	&cmd_context_list_def,
	&cmd_context_set_def,
	&cmd_copy_mode_def,
	&cmd_detach_client_def,
	&cmd_disable_def,
	&cmd_display_message_def,
	&cmd_doctor_def,
	&cmd_enable_def,
	&cmd_exec_def,
	&cmd_has_session_def,
	&cmd_init_def,
	&cmd_key_generate_def,
	&cmd_key_show_def,
	&cmd_peers_add_def,
	&cmd_peers_list_def,
	&cmd_peers_remove_def,
	&cmd_pair_def,
	&cmd_pair_confirm_def,
	&cmd_pair_wait_def,
	&cmd_kill_server_def,
	&cmd_kill_session_def,
	&cmd_list_keys_def,
	&cmd_list_sessions_def,
	&cmd_logs_def,
	&cmd_ls_files_def,
	&cmd_mcp_install_def,
	&cmd_mcp_uninstall_def,
	&cmd_msg_ack_def,
	&cmd_msg_acked_def,
	&cmd_msg_inbox_def,
	&cmd_msg_send_def,
	&cmd_new_session_def,
	&cmd_refresh_client_def,
	&cmd_rename_session_def,
	&cmd_resize_window_def,
	&cmd_run_def,
	&cmd_send_keys_def,
	&cmd_send_prefix_def,
	&cmd_start_def,
	&cmd_stats_def,
	&cmd_status_def,
	&cmd_switch_client_def,
	&cmd_transfer_finish_def,
	&cmd_transfer_get_def,
	&cmd_transfer_mkdir_def,
	&cmd_transfer_put_def,
	&cmd_transfer_status_def,
	&cmd_wait_def,
	&cmd_launch_def,
	&cmd_mobile_pair_def,
	&cmd_mobile_pair_wait_def,
	&cmd_phone_grant_def,
	&cmd_phone_list_def,
	&cmd_phone_revoke_def,
	&cmd_phone_revoke_grant_def,
	&cmd_relay_configure_def,
	&cmd_relay_forget_def,
	&cmd_relay_reload_def,
	&cmd_relay_status_def,
	NULL
};

const struct cmd_def *
cmd_find(const char *name, char **cause)
{
	const struct cmd_def	**d, *found = NULL;
	char			 *words;
	int			  ambiguous = 0;

	for (d = cmd_table; *d != NULL; d++) {
		if (strcmp((*d)->name, name) == 0 ||
		    ((*d)->alias != NULL && strcmp((*d)->alias, name) == 0))
			return (*d);
	}
	/* A unique prefix of a name works, as in tmux. */
	for (d = cmd_table; *d != NULL; d++) {
		if (strncmp((*d)->name, name, strlen(name)) != 0)
			continue;
		if (found != NULL)
			ambiguous = 1;
		found = *d;
	}
	if (found != NULL && !ambiguous && *name != '\0')
		return (found);
	if ((words = cmd_group_words(name)) != NULL) {
		xasprintf(cause, "%s needs one of: %s", name, words);
		free(words);
	} else
		xasprintf(cause, "%s command: %s", ambiguous ? "ambiguous" :
		    "unknown", name);
	return (NULL);
}

/* "get, list, set" if name is a two-word command's first word, or NULL. */
static char *
cmd_group_words(const char *name)
{
	const struct cmd_def	**d;
	struct buf		  b;
	size_t			  n = strlen(name);

	buf_init(&b);
	for (d = cmd_table; *d != NULL; d++) {
		if (strncmp((*d)->name, name, n) != 0 || (*d)->name[n] != '-' ||
		    !(*d)->client_words)
			continue;
		buf_printf(&b, "%s%s", b.len != 0 ? ", " : "",
		    (*d)->name + n + 1);
	}
	if (b.len == 0) {
		buf_free(&b);
		return (NULL);
	}
	buf_add(&b, "", 1);
	return (b.data);
}

/*
 * Find the command argv names, consuming its words: "context get" is the
 * command context-get, as SPEC's two-word verbs; otherwise as cmd_find.
 * Returns the number of words used (1 or 2), or 0 with *cause set.
 */
int
cmd_lookup(int argc, char **argv, const struct cmd_def **def, char **cause)
{
	const struct cmd_def	**d;
	char			 *two, *words;

	if (argc >= 2 && argv[1][0] != '-') {
		xasprintf(&two, "%s-%s", argv[0], argv[1]);
		for (d = cmd_table; *d != NULL; d++) {
			if (strcmp((*d)->name, two) == 0) {
				free(two);
				*def = *d;
				return (2);
			}
		}
		free(two);
	}
	if ((*def = cmd_find(argv[0], cause)) == NULL) {
		if (argc >= 2 && (words = cmd_group_words(argv[0])) != NULL) {
			free(*cause);
			xasprintf(cause, "unknown command: %s %s (%s takes: %s)",
			    argv[0], argv[1], argv[0], words);
			free(words);
		}
		return (0);
	}
	return (1);
}

char *
cmd_usage(const struct cmd_def *def)
{
	char	*s;

	xasprintf(&s, "usage: loopsy %s %s", def->name, def->usage);
	if (strchr(def->name, '-') != NULL && def->client_words) {
		free(s);
		xasprintf(&s, "usage: loopsy %.*s %s %s",
		    (int)(strchr(def->name, '-') - def->name), def->name,
		    strchr(def->name, '-') + 1, def->usage);
	}
	return (s);
}

struct cmd_ctx *
cmd_ctx_new(const struct cmd_def *def, struct args *args, struct client *c)
{
	struct cmd_ctx	*ctx;

	ctx = xcalloc(1, sizeof *ctx);
	ctx->def = def;
	ctx->args = args;
	ctx->c = c;
	ctx->started_ms = now_ms();
	if (c != NULL && c->actor != NULL)
		ctx->actor = xstrdup(c->actor);
	else
		xasprintf(&ctx->actor, "local:%ld", (long)(c != NULL ?
		    c->uid : getuid()));
	if (args != NULL && args_get(args, 't') != NULL)
		ctx->audit_target = xstrdup(args_get(args, 't'));
	buf_init(&ctx->out);
	return (ctx);
}

/* The audit line for a command, written once, when it is over. */
static void
cmd_audit(struct cmd_ctx *ctx)
{
	const char	*result = "ok";

	if (!ctx->done)
		result = "cancelled";
	else if (ctx->error_code != NULL)
		result = ctx->error_code;
	audit_log(ctx->actor, ctx->def != NULL ? ctx->def->name : "(unknown)",
	    ctx->audit_target, result, now_ms() - ctx->started_ms,
	    ctx->audit_bytes != 0 ? ctx->audit_bytes : ctx->out.len);
}

void
cmd_ctx_free(struct cmd_ctx *ctx)
{
	if (ctx == NULL)
		return;
	if (ctx->wait != NULL)
		cmd_wait_cancel(ctx);
	cmd_exec_cancel(ctx);		/* an exec whose caller has gone */
	pair_cancel(ctx);		/* a loopsy pair that has gone */
	phone_pair_cancel(ctx);		/* mobile pair, a revoke: no answer */
	cmd_audit(ctx);
	free(ctx->actor);
	free(ctx->audit_target);
	args_free(ctx->args);
	buf_free(&ctx->out);
	free(ctx->cwd);
	free(ctx->env_loopsy);
	free(ctx->error_code);
	free(ctx->error);
	free(ctx);
}

void
cmd_error(struct cmd_ctx *ctx, const char *code, const char *fmt, ...)
{
	va_list	 ap;

	free(ctx->error);
	free(ctx->error_code);
	va_start(ap, fmt);
	xvasprintf(&ctx->error, fmt, ap);
	va_end(ap);
	ctx->error_code = xstrdup(code);
}

void
cmd_print(struct cmd_ctx *ctx, const char *fmt, ...)
{
	char	*s;
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = xvasprintf(&s, fmt, ap);
	va_end(ap);
	buf_add(&ctx->out, s, n);
	free(s);
}

/*
 * Output a waiting command has now (fd 1 or 2): straight to its client, or
 * kept with the rest when nobody is waiting on a socket.
 */
void
cmd_stream(struct cmd_ctx *ctx, int fd, const void *data, size_t len)
{
	ctx->audit_bytes += len;
	if (ctx->c != NULL && !(ctx->c->flags & CLIENT_DEAD))
		server_client_stream(ctx->c, fd, data, len);
	else
		buf_add(&ctx->out, data, len);
}

/* A waiting command is done: reply to its client and free it. */
void
cmd_finish(struct cmd_ctx *ctx, enum cmd_retval rv)
{
	struct client	*c = ctx->c;

	if (c != NULL && c->pending == ctx)
		c->pending = NULL;
	server_client_reply(c, ctx, rv);
	cmd_ctx_free(ctx);
}

enum cmd_retval
cmd_run_argv(struct client *c, struct client *attached, uint32_t id, int argc,
    char **argv, const char *cwd, struct cmd_ctx **ctxp)
{
	const struct cmd_def	*def;
	struct args		*args;
	struct cmd_ctx		*ctx;
	struct client		*who;
	char			*cause = NULL, *usage;
	enum cmd_retval		 rv;
	int			 words;

	if (argc == 0) {
		ctx = cmd_ctx_new(NULL, NULL, c);
		cmd_error(ctx, "usage", "no command given");
		rv = CMD_USAGE;
		goto out;
	}
	if ((words = cmd_lookup(argc, argv, &def, &cause)) == 0) {
		ctx = cmd_ctx_new(NULL, NULL, c);
		cmd_error(ctx, "usage", "%s", cause);
		free(cause);
		rv = CMD_USAGE;
		goto out;
	}
	args = args_parse(def->flags, def->longs, argc - words, argv + words,
	    &cause);
	ctx = cmd_ctx_new(def, args, c);
	if (args == NULL || args->argc < def->min_args ||
	    (def->max_args >= 0 && args->argc > def->max_args)) {
		usage = cmd_usage(def);
		if (cause != NULL)
			cmd_error(ctx, "usage", "%s: %s\n%s", def->name, cause,
			    usage);
		else
			cmd_error(ctx, "usage", "%s: wrong number of "
			    "arguments\n%s", def->name, usage);
		free(usage);
		free(cause);
		rv = CMD_USAGE;
		goto out;
	}
	ctx->id = id;
	ctx->attached = attached;
	ctx->cwd = cwd != NULL ? xstrdup(cwd) : NULL;
	if (c != NULL && c->env_loopsy != NULL)
		ctx->env_loopsy = xstrdup(c->env_loopsy);
	if (c != NULL) {
		ctx->has_tty = (c->flags & CLIENT_TERMINAL) != 0;
		ctx->tty_cols = c->cols;
		ctx->tty_rows = c->rows;
	}
	log_debug("%s: %s (%d args)", __func__, def->name, args->argc);
	/* From a key binding or the prompt, the client is the attached one. */
	who = c != NULL ? c : attached;
	if (who != NULL && who->actor != NULL) {
		free(ctx->actor);
		ctx->actor = xstrdup(who->actor);
	}
	if (def->client && server_base != NULL) {
		/* Those run in the loopsy command, never in the server. */
		cmd_error(ctx, "usage", "%s: run it as loopsy %s, not inside "
		    "the server", def->name, def->name);
		rv = CMD_ERROR;
		goto out;
	}
	if (def->local_only && who != NULL && (who->flags & CLIENT_REMOTE)) {
		cmd_error(ctx, "forbidden", "%s: only on this machine, not "
		    "over a peer link or from a phone", def->name);
		rv = CMD_ERROR;
		goto out;
	}
	if (cmd_rate_take(ctx, ctx->def->rate) != 0) {
		rv = CMD_ERROR;
		goto out;
	}
	rv = def->run(ctx);
out:
	ctx->id = id;
	*ctxp = ctx;
	return (rv);
}

/* The session named by $LOOPSY ("socket,pid,id") if it is this server's. */
static struct session *
cmd_env_session(struct cmd_ctx *ctx)
{
	const char	*env = ctx->env_loopsy, *p;
	size_t		 n = strlen(server_socket_path);

	if (env == NULL || strncmp(env, server_socket_path, n) != 0 ||
	    env[n] != ',' || (p = strrchr(env, ',')) == NULL)
		return (NULL);
	return (session_find_id(strtoul(p + 1, NULL, 10)));
}

/*
 * Take a token of kind for the command's credential, or refuse it saying
 * when to retry.  The bucket holds the limit and refills at the limit a
 * minute, so a burst of that many may follow a quiet minute.
 */
int
cmd_rate_take(struct cmd_ctx *ctx, enum rate_kind kind)
{
	u_int	 retry, limit = ratelimit_limit(kind);

	if (ratelimit_take(ctx->actor, kind, &retry) == 0)
		return (0);
	cmd_error(ctx, "rate-limited", "rate limit: %u %s commands a minute "
	    "for %s, in bursts of up to %u (rateLimits.%s); retry in %u s",
	    limit, ratelimit_name(kind), ctx->actor, limit,
	    ratelimit_name(kind), retry);
	return (-1);
}

/* The session a command means when it names none. */
static struct session *
cmd_default_session(struct cmd_ctx *ctx)
{
	struct session	*s;
	struct client	*c = ctx->attached != NULL ? ctx->attached : ctx->c;

	if (c != NULL && c->session != NULL)
		return (c->session);
	if ((s = cmd_env_session(ctx)) != NULL)
		return (s);
	return (session_most_recent());
}

/*
 * Resolve a session target: "name", a unique prefix of one, "=exact",
 * "$id", or "host:name" (a peer's).  Sets a clear error if none matches.
 */
struct session *
cmd_find_session(struct cmd_ctx *ctx, const char *target, int quiet)
{
	struct session	*s, *found = NULL;
	const char	*colon;
	int		 n = 0;

	if (target == NULL || *target == '\0') {
		if ((s = cmd_default_session(ctx)) == NULL)
			cmd_error(ctx, "no-session", "no sessions");
		return (s);
	}
	if ((colon = strchr(target, ':')) != NULL && colon != target) {
		cmd_error(ctx, "no-peer", "unknown peer: %.*s (no peers are "
		    "configured)", (int)(colon - target), target);
		return (NULL);
	}
	if (*target == ':')
		target++;
	if (*target == '=') {
		if ((s = session_find(target + 1)) == NULL)
			cmd_error(ctx, "no-session", "no such session: %s",
			    target + 1);
		return (s);
	}
	if (*target == '$' && (s = session_find_id(atoi(target + 1))) != NULL)
		return (s);
	if ((s = session_find(target)) != NULL)
		return (s);
	TAILQ_FOREACH(s, &sessions, entry) {
		if (strncmp(s->name, target, strlen(target)) == 0) {
			found = s;
			n++;
		}
	}
	if (n == 1)
		return (found);
	if (n > 1)
		cmd_error(ctx, "ambiguous", "ambiguous session: %s (matches %d "
		    "sessions)", target, n);
	else if (!quiet)
		cmd_error(ctx, "no-session", "no such session: %s", target);
	else
		cmd_error(ctx, "no-session", "%s", "");
	return (NULL);
}

/* The attached client a command acts on: its own, or one in its session. */
struct client *
cmd_current_client(struct cmd_ctx *ctx)
{
	struct client	*c, *best = NULL;
	struct session	*s;

	if (ctx->attached != NULL)
		return (ctx->attached);
	if (ctx->c != NULL && (ctx->c->flags & CLIENT_ATTACHED))
		return (ctx->c);
	s = cmd_env_session(ctx);
	TAILQ_FOREACH(c, &clients, entry) {
		if (!(c->flags & CLIENT_ATTACHED))
			continue;
		if (s != NULL && c->session != s)
			continue;
		if (best == NULL || c->activity_ms > best->activity_ms)
			best = c;
	}
	return (best);
}

/* Split a command line with sh-like quoting: 'x y', "x y", \x. */
int
cmd_split(const char *line, int *argcp, char ***argvp, char **cause)
{
	struct buf	 word;
	char		**argv = NULL, quote = 0;
	int		 argc = 0, inword = 0;
	const char	*p;

	buf_init(&word);
	for (p = line;; p++) {
		if (*p == '\0' || (!quote && isspace((u_char)*p))) {
			if (quote) {
				xasprintf(cause, "unterminated %c quote", quote);
				goto fail;
			}
			if (inword) {
				buf_add(&word, "", 1);
				argv = xreallocarray(argv, argc + 2,
				    sizeof *argv);
				argv[argc++] = xstrdup(word.data);
				argv[argc] = NULL;
				buf_reset(&word);
				inword = 0;
			}
			if (*p == '\0')
				break;
			continue;
		}
		inword = 1;
		if (quote == 0 && (*p == '\'' || *p == '"'))
			quote = *p;
		else if (quote != 0 && *p == quote)
			quote = 0;
		else if (*p == '\\' && quote != '\'' && p[1] != '\0')
			buf_add(&word, ++p, 1);
		else
			buf_add(&word, p, 1);
	}
	buf_free(&word);
	*argcp = argc;
	*argvp = argv;
	return (0);
fail:
	buf_free(&word);
	while (argc > 0)
		free(argv[--argc]);
	free(argv);
	return (-1);
}

/* Run a command line from a key binding or the prompt, for client c. */
void
cmd_run_string(struct client *c, const char *line)
{
	struct cmd_ctx	*ctx = NULL;
	enum cmd_retval	 rv;
	char		**argv, *cause;
	int		 argc, i;

	if (cmd_split(line, &argc, &argv, &cause) != 0) {
		server_client_message(c, "%s", cause);
		free(cause);
		return;
	}
	rv = cmd_run_argv(NULL, c, 0, argc, argv, NULL, &ctx);
	if (ctx != NULL && rv != CMD_WAIT)
		ctx->done = 1;
	if (rv == CMD_WAIT) {
		/* Nobody to reply to; let it finish by itself. */
		ctx = NULL;
	} else if (ctx != NULL) {
		if (ctx->error != NULL && *ctx->error != '\0')
			server_client_message(c, "%s", ctx->error);
		else if (ctx->out.len != 0) {
			buf_add(&ctx->out, "", 1);
			server_client_message(c, "%s", ctx->out.data);
		}
		cmd_ctx_free(ctx);
	}
	for (i = 0; i < argc; i++)
		free(argv[i]);
	free(argv);
}

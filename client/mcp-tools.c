/*
 * client/mcp-tools.c: the MCP tools of "loopsy mcp".  Each tool is a table
 * entry (name, description, input schema) and a short function that runs
 * the CLI's commands (their --json forms) on this machine or a peer through
 * mcp_command(), and turns the answer into a result or an error that says
 * what to do next.  The protocol and the connections are mcp.c's.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "common/common.h"
#include "server/server.h"
#include "client/client.h"
#include "client/mcp.h"

#define TOOL_ARGV	512
#define TOOL_ANY_EXIT	0x1	/* a non-zero exit is an answer, not a fault */
#define TOOL_TEXT_MAX	(64 * 1024)	/* as mcp.c's MCP_TEXT_MAX */
#define TOOL_NOTE_MAX	512		/* room kept for a note on a cut */

/* An argv being built. */
struct tool_av {
	int	 argc;
	int	 overflow;	/* more than TOOL_ARGV: refused, never cut */
	char	*argv[TOOL_ARGV + 1];
};

static int	tool_spawn(char **, struct buf *, struct buf *);

static void __printflike(2, 3)
av_add(struct tool_av *av, const char *fmt, ...)
{
	va_list	 ap;

	if (av->argc >= TOOL_ARGV) {
		av->overflow = 1;
		return;
	}
	va_start(ap, fmt);
	if (vasprintf(&av->argv[av->argc], fmt, ap) == -1)
		fatal("vasprintf");
	va_end(ap);
	av->argv[++av->argc] = NULL;
}

/*
 * A session target: exactly this name ("=name"), never a prefix, an id or
 * the most recent session, and its own argv entry so an empty or odd name
 * cannot become an option.
 */
static void
av_target(struct tool_av *av, const char *session)
{
	av_add(av, "-t");
	av_add(av, "=%s", session != NULL ? session : "");
}

static void
av_free(struct tool_av *av)
{
	int	 i;

	for (i = 0; i < av->argc; i++)
		free(av->argv[i]);
	av->argc = 0;
}

static const char *
arg_str(cJSON *args, const char *name)
{
	cJSON	*v = cJSON_GetObjectItem(args, name);

	return (cJSON_IsString(v) ? v->valuestring : NULL);
}

static int
arg_num(cJSON *args, const char *name, double *d)
{
	cJSON	*v = cJSON_GetObjectItem(args, name);

	if (!cJSON_IsNumber(v))
		return (0);
	*d = v->valuedouble;
	return (1);
}

/* A string field of a reply for text, "" if it is missing. */
static const char *
tool_str(cJSON *o, const char *name)
{
	const char	*s = cJSON_GetStringValue(cJSON_GetObjectItem(o, name));

	return (s != NULL ? s : "");
}

/* A number field of a reply, 0 if it is missing or not finite. */
static double
tool_num(cJSON *o, const char *name)
{
	double	 d = cJSON_GetNumberValue(cJSON_GetObjectItem(o, name));

	return (isfinite(d) ? d : 0);
}

/* And as an int, 0 if it would not fit one. */
static int
tool_int(cJSON *o, const char *name)
{
	double	 d = tool_num(o, name);

	return (d >= INT_MIN && d <= INT_MAX ? (int)d : 0);
}

static int
arg_bool(cJSON *args, const char *name)
{
	return (cJSON_IsTrue(cJSON_GetObjectItem(args, name)));
}

/* "; sessions are: a, b" for an unknown session on where. */
static char *
tool_sessions_hint(const char *peer)
{
	struct mcp_reply	 r;
	char			*argv[] = { "list-sessions", "--json", NULL };
	char			*cause = NULL;
	cJSON			*j = NULL, *s, *n;
	struct buf		 b;

	buf_init(&b);
	if (mcp_command(peer, 2, argv, &r, &cause) == 0 && r.exit == 0)
		j = mcp_json_parse(r.out.data);
	cJSON_ArrayForEach(s, j) {
		n = cJSON_GetObjectItem(s, "name");
		if (cJSON_IsString(n))
			buf_printf(&b, "%s%s", b.len ? ", " : "; sessions are: ",
			    n->valuestring);
	}
	if (b.len == 0)
		buf_addstr(&b, "; there are no sessions (start one with "
		    "loopsy_session_start)");
	buf_add(&b, "", 1);
	cJSON_Delete(j);
	mcp_reply_free(&r);
	free(cause);
	return (b.data);
}

/*
 * Run av on peer.  0 if it succeeded (or, with TOOL_ANY_EXIT, ran), with r
 * to read and free; -1 with res's error set and r freed.
 */
static int
tool_cmd(const char *peer, struct tool_av *av, struct mcp_reply *r,
    struct mcp_result *res, int flags)
{
	char		*cause = NULL, *hint = NULL, *msg;

	if (av->overflow) {
		mcp_error(res, "too many arguments: at most %d words in all",
		    TOOL_ARGV);
		memset(r, 0, sizeof *r);
		buf_init(&r->out);
		buf_init(&r->err);
		return (-1);
	}
	if (mcp_command(peer, av->argc, av->argv, r, &cause) != 0) {
		mcp_error(res, "%s", cause);
		free(cause);
		mcp_reply_free(r);
		return (-1);
	}
	/* With TOOL_ANY_EXIT, a program that ran is not a failure, even one
	 * that timed out: its --json result is on stdout. */
	if (r->exit == 0 || ((flags & TOOL_ANY_EXIT) &&
	    (r->message == NULL || r->out.len != 0)))
		return (0);
	msg = r->message;
	if (msg == NULL && r->err.len != 0) {
		msg = r->err.data;
		msg[strcspn(msg, "\n")] = '\0';
	}
	if (r->code != NULL && strcmp(r->code, "no-session") == 0)
		hint = tool_sessions_hint(peer);
	if (msg == NULL)
		mcp_error(res, "%s failed (exit %d)", av->argv[0], r->exit);
	else if (hint != NULL && strncmp(msg, "no such session: ", 17) == 0)
		mcp_error(res, "no such session \"%s\"%s", msg + 17, hint);
	else
		mcp_error(res, "%s%s", msg, hint != NULL ? hint : "");
	free(hint);
	mcp_reply_free(r);
	return (-1);
}

/* Run av and parse its JSON stdout; NULL with res's error set. */
static cJSON *
tool_json(const char *peer, struct tool_av *av, struct mcp_result *res,
    int flags)
{
	struct mcp_reply	 r;
	cJSON			*j;

	if (tool_cmd(peer, av, &r, res, flags) != 0) {
		av_free(av);
		return (NULL);
	}
	if ((j = mcp_json_parse(r.out.data)) == NULL)
		mcp_error(res, "%s answered what is not JSON: %.200s",
		    av->argv[0], r.out.data);
	mcp_reply_free(&r);
	av_free(av);
	return (j);
}

/* Run av for its success alone. */
static int
tool_ok(const char *peer, struct tool_av *av, struct mcp_result *res)
{
	struct mcp_reply	 r;
	int			 rc;

	rc = tool_cmd(peer, av, &r, res, 0);
	if (rc == 0)
		mcp_reply_free(&r);
	av_free(av);
	return (rc);
}

/* An object {name: value} for a result, taking value. */
static cJSON *
tool_wrap(const char *name, cJSON *value)
{
	cJSON	*j = cJSON_CreateObject();

	cJSON_AddItemToObject(j, name, value);
	return (j);
}

static const char *
tool_where(const char *peer)
{
	return (peer != NULL ? peer : "local");
}

/* -------------------------------------------------------------- peers */

/* This machine's peers (peers list is the client's): an array, or NULL. */
static cJSON *
tool_peers(struct mcp_result *res)
{
	char		*argv[] = { "loopsy", "-S", (char *)mcp_socket, "peers",
			    "list", "--json", NULL };
	struct buf	 out, err;
	cJSON		*j = NULL;

	buf_init(&out);
	buf_init(&err);
	if (tool_spawn(argv, &out, &err) != 0) {
		err.data[strcspn(err.data, "\n")] = '\0';
		mcp_error(res, "loopsy peers list failed: %s", err.data);
	} else if ((j = mcp_json_parse(out.data)) == NULL || !cJSON_IsArray(j)) {
		mcp_error(res, "loopsy peers list answered what is not a "
		    "list: %.200s", out.data);
		cJSON_Delete(j);
		j = NULL;
	}
	buf_free(&out);
	buf_free(&err);
	return (j);
}

static void
tool_list_peers(const char *peer, cJSON *args __unused, struct mcp_result *res)
{
	cJSON		*j, *p;
	struct buf	 b;

	if (peer != NULL) {
		mcp_error(res, "loopsy_list_peers lists this machine's peers; "
		    "call it without peer");
		return;
	}
	if ((j = tool_peers(res)) == NULL)
		return;
	buf_init(&b);
	cJSON_ArrayForEach(p, j) {
		buf_printf(&b, "%s %s:%d %s\n",
		    tool_str(p, "name"),
		    tool_str(p, "host"),
		    tool_int(p, "port"),
		    cJSON_IsTrue(cJSON_GetObjectItem(p, "online")) ?
		    "online" : "offline");
	}
	if (b.len == 0)
		buf_addstr(&b, "no peers (pair one with loopsy pair HOST)\n");
	buf_add(&b, "", 1);
	res->text = b.data;
	res->data = tool_wrap("peers", j);
}

static void
tool_peer_status(const char *peer, cJSON *args __unused,
    struct mcp_result *res)
{
	struct tool_av	 av = { 0 };
	cJSON		*j;

	av_add(&av, "status");
	av_add(&av, "--json");
	if ((j = tool_json(peer, &av, res, 0)) == NULL)
		return;
	res->data = cJSON_CreateObject();
	cJSON_AddStringToObject(res->data, "peer", tool_where(peer));
	cJSON_AddTrueToObject(res->data, "online");
	cJSON_AddItemToObject(res->data, "status", j);
}

/* ------------------------------------------------------------ execute */

static void
tool_env(struct tool_av *av, const char *flag, cJSON *env)
{
	cJSON	*e;

	cJSON_ArrayForEach(e, env) {
		if (!cJSON_IsString(e))
			continue;
		av_add(av, "%s", flag);
		av_add(av, "%s=%s", e->string, e->valuestring);
	}
}

/* command (+ args), or a string for sh -c when it needs a shell. */
static int
tool_command(struct tool_av *av, cJSON *args, struct mcp_result *res)
{
	const char	*cmd = arg_str(args, "command");
	cJSON		*a = cJSON_GetObjectItem(args, "args"), *e;

	if (cmd == NULL || *cmd == '\0') {
		mcp_error(res, "command must not be empty");
		return (-1);
	}
	if (a == NULL && cmd[strcspn(cmd, " \t\n|&;<>()$`\\\"'*?[]#~=%")]
	    != '\0') {
		av_add(av, "sh");
		av_add(av, "-c");
		av_add(av, "%s", cmd);
		return (0);
	}
	av_add(av, "%s", cmd);
	cJSON_ArrayForEach(e, a) {
		if (!cJSON_IsString(e)) {
			mcp_error(res, "args must be a list of strings");
			return (-1);
		}
		av_add(av, "%s", e->valuestring);
	}
	return (0);
}

static void
tool_execute(const char *peer, cJSON *args, struct mcp_result *res)
{
	struct tool_av	 av = { 0 };
	cJSON		*j;
	double		 d;
	struct buf	 b;
	const char	*s;

	av_add(&av, "exec");
	av_add(&av, "--json");
	if ((s = arg_str(args, "cwd")) != NULL)
		av_add(&av, "--cwd=%s", s);
	if (arg_num(args, "timeout", &d))
		av_add(&av, "--timeout=%g", d);
	tool_env(&av, "--env", cJSON_GetObjectItem(args, "env"));
	av_add(&av, "--");
	if (tool_command(&av, args, res) != 0) {
		av_free(&av);
		return;
	}
	if ((j = tool_json(peer, &av, res, TOOL_ANY_EXIT)) == NULL)
		return;
	buf_init(&b);
	buf_printf(&b, "exit %d%s in %.0f ms on %s\n",
	    tool_int(j, "exit"),
	    cJSON_IsTrue(cJSON_GetObjectItem(j, "timed_out")) ?
	    " (timed out)" : "",
	    tool_num(j, "duration_ms"),
	    tool_where(peer));
	if ((s = cJSON_GetStringValue(cJSON_GetObjectItem(j, "stdout"))) &&
	    *s != '\0')
		buf_printf(&b, "--- stdout ---\n%s\n", s);
	if ((s = cJSON_GetStringValue(cJSON_GetObjectItem(j, "stderr"))) &&
	    *s != '\0')
		buf_printf(&b, "--- stderr ---\n%s\n", s);
	buf_add(&b, "", 1);
	res->text = b.data;
	res->data = j;
}

/* ----------------------------------------------------------- sessions */

/* The list-sessions entry for name, or NULL. */
static cJSON *
tool_session_find(const char *peer, const char *name, struct mcp_result *res)
{
	struct tool_av	 av = { 0 };
	cJSON		*j, *s, *found = NULL;

	av_add(&av, "list-sessions");
	av_add(&av, "--json");
	if ((j = tool_json(peer, &av, res, 0)) == NULL)
		return (NULL);
	cJSON_ArrayForEach(s, j) {
		if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(s,
		    "name")) ?: "", name) == 0) {
			found = cJSON_Duplicate(s, 1);
			break;
		}
	}
	cJSON_Delete(j);
	if (found == NULL) {
		char *hint = tool_sessions_hint(peer);
		mcp_error(res, "no such session \"%s\"%s", name, hint);
		free(hint);
	}
	return (found);
}

static void
tool_session_start(const char *peer, cJSON *args, struct mcp_result *res)
{
	struct tool_av	 av = { 0 };
	struct mcp_reply r;
	cJSON		*argv = cJSON_GetObjectItem(args, "argv"), *e, *s;
	const char	*v;
	char		*name;
	double		 d;

	av_add(&av, "new-session");
	av_add(&av, "-dP");
	if ((v = arg_str(args, "name")) != NULL)
		av_add(&av, "-s%s", v);
	if ((v = arg_str(args, "cwd")) != NULL)
		av_add(&av, "-c%s", v);
	if (arg_num(args, "cols", &d))
		av_add(&av, "-x%d", (int)d);
	if (arg_num(args, "rows", &d))
		av_add(&av, "-y%d", (int)d);
	tool_env(&av, "-e", cJSON_GetObjectItem(args, "env"));
	if ((v = arg_str(args, "command")) != NULL || argv != NULL)
		av_add(&av, "--");
	if (v != NULL)
		av_add(&av, "%s", v);
	else {
		cJSON_ArrayForEach(e, argv) {
			if (cJSON_IsString(e))
				av_add(&av, "%s", e->valuestring);
		}
	}
	if (tool_cmd(peer, &av, &r, res, 0) != 0) {
		av_free(&av);
		return;
	}
	av_free(&av);
	name = xstrdup(r.out.data);
	name[strcspn(name, "\n")] = '\0';
	mcp_reply_free(&r);
	if ((s = tool_session_find(peer, name, res)) != NULL) {
		res->data = tool_wrap("session", s);
		xasprintf(&res->text, "started session \"%s\" on %s: %s "
		    "(%dx%d)\n", name, tool_where(peer),
		    tool_str(s, "command"),
		    tool_int(s, "width"),
		    tool_int(s, "height"));
	}
	free(name);
}

static void
tool_session_list(const char *peer, cJSON *args __unused,
    struct mcp_result *res)
{
	struct tool_av	 av = { 0 };
	cJSON		*j, *s;
	struct buf	 b;

	av_add(&av, "list-sessions");
	av_add(&av, "--json");
	if ((j = tool_json(peer, &av, res, 0)) == NULL)
		return;
	buf_init(&b);
	cJSON_ArrayForEach(s, j) {
		buf_printf(&b, "%s: %s [%s] %dx%d idle %d ms\n",
		    tool_str(s, "name"),
		    tool_str(s, "command"),
		    tool_str(s, "state"),
		    tool_int(s, "width"),
		    tool_int(s, "height"),
		    tool_int(s, "idle_ms"));
	}
	if (b.len == 0)
		buf_addstr(&b, "no sessions\n");
	buf_add(&b, "", 1);
	res->text = b.data;
	res->data = tool_wrap("sessions", j);
}

static void
tool_session_send_keys(const char *peer, cJSON *args, struct mcp_result *res)
{
	struct tool_av	 av = { 0 };
	const char	*session = arg_str(args, "session");
	const char	*text = arg_str(args, "text");
	cJSON		*keys = cJSON_GetObjectItem(args, "keys"), *e;
	int		 n = 0;

	if (text == NULL && cJSON_GetArraySize(keys) == 0 &&
	    !arg_bool(args, "enter")) {
		mcp_error(res, "nothing to send: give text (typed as is), "
		    "keys (names such as Enter, C-c, Up, F1) or enter: true");
		return;
	}
	if (text != NULL && *text != '\0') {
		av_add(&av, "send-keys");
		av_add(&av, "-lt%s", session);
		av_add(&av, "--");
		av_add(&av, "%s", text);
		if (tool_ok(peer, &av, res) != 0)
			return;
	}
	av_add(&av, "send-keys");
	av_target(&av, session);
	av_add(&av, "--");
	cJSON_ArrayForEach(e, keys) {
		if (!cJSON_IsString(e)) {
			mcp_error(res, "keys must be a list of key names");
			av_free(&av);
			return;
		}
		av_add(&av, "%s", e->valuestring);
		n++;
	}
	if (arg_bool(args, "enter")) {
		av_add(&av, "Enter");
		n++;
	}
	if (n == 0)
		av_free(&av);
	else if (tool_ok(peer, &av, res) != 0)
		return;
	res->data = cJSON_CreateObject();
	cJSON_AddStringToObject(res->data, "session", session);
	cJSON_AddNumberToObject(res->data, "keys", n);
	cJSON_AddNumberToObject(res->data, "text_bytes",
	    text != NULL ? strlen(text) : 0);
	xasprintf(&res->text, "sent to %s on %s\n", session, tool_where(peer));
}

static void
tool_session_capture(const char *peer, cJSON *args, struct mcp_result *res)
{
	struct tool_av	 av = { 0 };
	cJSON		*j, *v;
	char		*text, *note = NULL;
	size_t		 len, cut, skip;
	double		 d;

	av_add(&av, "capture-pane");
	av_add(&av, "-p");
	av_add(&av, "--json");
	av_target(&av, arg_str(args, "session"));
	v = cJSON_GetObjectItem(args, "start");
	if (cJSON_IsString(v))
		av_add(&av, "-S%s", v->valuestring);
	else if (arg_num(args, "start", &d))
		av_add(&av, "-S%d", (int)d);
	v = cJSON_GetObjectItem(args, "end");
	if (cJSON_IsString(v))
		av_add(&av, "-E%s", v->valuestring);
	else if (arg_num(args, "end", &d))
		av_add(&av, "-E%d", (int)d);
	if (arg_bool(args, "attributes"))
		av_add(&av, "-e");
	if (arg_bool(args, "join"))
		av_add(&av, "-J");
	if ((j = tool_json(peer, &av, res, 0)) == NULL)
		return;
	text = xstrdup(cJSON_GetStringValue(cJSON_GetObjectItem(j, "text"))
	    ?: "");
	len = strlen(text);
	while (len > 0 && text[len - 1] == '\n')
		text[--len] = '\0';	/* the blank rows under the cursor */
	if (len > TOOL_TEXT_MAX - TOOL_NOTE_MAX) {
		/*
		 * Keep the end: the newest lines.  The note goes before them,
		 * so the text and the note together stay under mcp.c's cap
		 * (which keeps the start and would cut these lines).
		 */
		cut = len - (TOOL_TEXT_MAX - TOOL_NOTE_MAX);
		while (text[cut] != '\0' && text[cut] != '\n')
			cut++;
		if (text[cut] == '\0') {	/* one long line: mid-line */
			cut = len - (TOOL_TEXT_MAX - TOOL_NOTE_MAX);
			while ((text[cut] & 0xc0) == 0x80)
				cut++;
		}
		xasprintf(&note, "[%zu bytes before this cut; the capture was "
		    "%zu bytes.  Ask for a range: start and end are line "
		    "numbers, 0 the top of the screen, negative numbers "
		    "scrollback, \"-\" the oldest line]\n", cut, len);
		skip = cut + (text[cut] == '\n');
		memmove(text, text + skip, len - skip + 1);
		cJSON_AddTrueToObject(j, "truncated");
	}
	cJSON_ReplaceItemInObject(j, "text", cJSON_CreateString(text));
	xasprintf(&res->text, "%s%s\n", note != NULL ? note : "", text);
	free(note);
	free(text);
	res->data = j;
}

static void
tool_session_wait(const char *peer, cJSON *args, struct mcp_result *res)
{
	struct tool_av	 av = { 0 };
	const char	*session = arg_str(args, "session");
	const char	*what = arg_str(args, "for"), *re = arg_str(args, "regex");
	double		 timeout = 30, idle = 1000;
	cJSON		*j;

	arg_num(args, "timeout", &timeout);
	arg_num(args, "idle_ms", &idle);
	av_add(&av, "wait");
	av_target(&av, session);
	av_add(&av, "--json");
	av_add(&av, "--timeout=%g", timeout);
	if (strcmp(what, "exit") == 0)
		av_add(&av, "--exit");
	else if (strcmp(what, "idle") == 0)
		av_add(&av, "--idle=%d", (int)idle);
	else if (re == NULL) {
		mcp_error(res, "waiting for text needs a regex");
		av_free(&av);
		return;
	} else
		av_add(&av, "--text=%s", re);
	if ((j = tool_json(peer, &av, res, strcmp(what, "exit") == 0 ?
	    TOOL_ANY_EXIT : 0)) == NULL) {
		if (res->error != NULL && strstr(res->error, "timed out")) {
			char *s = res->error;
			xasprintf(&res->error, "%s; the session goes on: call "
			    "loopsy_session_wait again, or see where it is "
			    "with loopsy_session_capture", s);
			free(s);
		}
		return;
	}
	res->data = j;
	xasprintf(&res->text, "%s on %s: %s\n", session, tool_where(peer),
	    strcmp(what, "text") == 0 ? cJSON_GetStringValue(
	    cJSON_GetObjectItem(j, "matched")) ?: "matched" :
	    cJSON_GetStringValue(cJSON_GetObjectItem(j, "state")) ?: what);
}

static void
tool_session_stop(const char *peer, cJSON *args, struct mcp_result *res)
{
	struct tool_av	 av = { 0 };
	const char	*session = arg_str(args, "session"), *how;
	double		 timeout = 5;
	cJSON		*s, *j;
	struct mcp_result sub = { 0 };

	arg_num(args, "timeout", &timeout);
	if ((s = tool_session_find(peer, session, res)) == NULL)
		return;
	how = "already exited";
	if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(s, "status")) ?:
	    "", "running") == 0) {
		av_add(&av, "send-keys");
		av_target(&av, session);
		av_add(&av, "C-c");
		if (tool_ok(peer, &av, res) != 0)
			goto out;
		av_add(&av, "wait");
		av_target(&av, session);
		av_add(&av, "--exit");
		av_add(&av, "--json");
		av_add(&av, "--timeout=%g", timeout);
		/* wait --exit exits with the program's status. */
		if ((j = tool_json(peer, &av, &sub, TOOL_ANY_EXIT)) != NULL) {
			how = "interrupted (C-c)";
			cJSON_Delete(j);
		} else {
			/* It would not stop: end it (SIGHUP), session and all. */
			av_add(&av, "kill-session");
			av_target(&av, session);
			if (tool_ok(peer, &av, res) != 0)
				goto out;
			how = "killed (it ignored C-c; the session is gone)";
		}
	}
	res->data = cJSON_CreateObject();
	cJSON_AddStringToObject(res->data, "session", session);
	cJSON_AddStringToObject(res->data, "how", how);
	xasprintf(&res->text, "%s on %s: %s\n", session, tool_where(peer), how);
out:
	free(sub.error);
	cJSON_Delete(s);
}

static void
tool_session_remove(const char *peer, cJSON *args, struct mcp_result *res)
{
	struct tool_av	 av = { 0 };
	const char	*session = arg_str(args, "session");

	av_add(&av, "kill-session");
	av_target(&av, session);
	if (tool_ok(peer, &av, res) != 0)
		return;
	res->data = cJSON_CreateObject();
	cJSON_AddStringToObject(res->data, "session", session);
	cJSON_AddTrueToObject(res->data, "removed");
	xasprintf(&res->text, "removed session %s on %s\n", session,
	    tool_where(peer));
}

/* -------------------------------------------------------------- files */

/* Run this binary as a child ("loopsy cp", "loopsy peers list", which
 * are the client's, not the server's): 0 and its output, or -1. */
static int
tool_spawn(char **argv, struct buf *out, struct buf *err)
{
	int		 po[2], pe[2], status, nopen = 2;
	struct pollfd	 pfd[2];
	char		 chunk[8192];
	ssize_t		 n;
	pid_t		 pid;
	int		 i;

	/* Empty strings, not NULL, whatever happens below. */
	buf_add(out, "", 1);
	out->len = 0;
	buf_add(err, "", 1);
	err->len = 0;
	if (pipe2(po, O_CLOEXEC) != 0)
		return (-1);
	if (pipe2(pe, O_CLOEXEC) != 0) {
		close(po[0]);
		close(po[1]);
		return (-1);
	}
	if ((pid = fork()) == -1) {
		close(po[0]);
		close(po[1]);
		close(pe[0]);
		close(pe[1]);
		return (-1);
	}
	if (pid == 0) {
		/* Not the JSON-RPC stream on our stdin. */
		if ((i = open("/dev/null", O_RDONLY)) != -1 && i != 0) {
			dup2(i, 0);
			close(i);
		}
		dup2(po[1], 1);
		dup2(pe[1], 2);
		close(po[0]);
		close(pe[0]);
		close(po[1]);
		close(pe[1]);
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	pfd[0].fd = po[0];
	pfd[1].fd = pe[0];
	while (nopen > 0) {
		pfd[0].events = pfd[1].events = POLLIN;
		if (poll(pfd, 2, -1) == -1 && errno != EINTR)
			break;
		for (i = 0; i < 2; i++) {
			if (pfd[i].fd == -1 || pfd[i].revents == 0)
				continue;
			if ((n = read(pfd[i].fd, chunk, sizeof chunk)) > 0)
				buf_add(i == 0 ? out : err, chunk, n);
			else {
				close(pfd[i].fd);
				pfd[i].fd = -1;
				nopen--;
			}
		}
	}
	buf_add(out, "", 1);
	buf_add(err, "", 1);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	return (WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1);
}

/* A path on this machine as cp must see it: "a:b" is not a peer's. */
static char *
tool_local_path(const char *path)
{
	const char	*colon = strchr(path, ':'), *slash = strchr(path, '/');
	char		*s;

	if (colon != NULL && (slash == NULL || colon < slash))
		xasprintf(&s, "./%s", path);
	else
		s = xstrdup(path);
	return (s);
}

static void
tool_transfer_file(const char *peer, cJSON *args, struct mcp_result *res)
{
	const char	*dir = arg_str(args, "direction");
	const char	*src = arg_str(args, "source");
	const char	*dst = arg_str(args, "destination");
	char		*argv[10], *from, *to;
	struct buf	 out, err;
	int		 n = 0;

	if (peer == NULL)
		from = tool_local_path(src);
	else if (strcmp(dir, "push") == 0)
		from = tool_local_path(src);
	else
		xasprintf(&from, "%s%s%s", strcmp(dir, "pull") == 0 ? peer :
		    "", strcmp(dir, "pull") == 0 ? ":" : "", src);
	if (peer == NULL || strcmp(dir, "pull") == 0)
		to = tool_local_path(dst);
	else
		xasprintf(&to, "%s%s%s", strcmp(dir, "push") == 0 ? peer : "",
		    strcmp(dir, "push") == 0 ? ":" : "", dst);
	argv[n++] = "loopsy";
	argv[n++] = "-S";
	argv[n++] = (char *)mcp_socket;
	argv[n++] = "cp";
	argv[n++] = "--json";
	if (arg_bool(args, "recursive"))
		argv[n++] = "-r";
	argv[n++] = "--";
	argv[n++] = from;
	argv[n++] = to;
	argv[n] = NULL;
	buf_init(&out);
	buf_init(&err);
	if (tool_spawn(argv, &out, &err) != 0) {
		err.data[strcspn(err.data, "\n")] = '\0';
		mcp_error(res, "copying %s to %s failed: %s", from, to,
		    *err.data != '\0' ? err.data : "loopsy cp failed");
	} else {
		res->data = mcp_json_parse(out.data);
		if (res->data == NULL || !cJSON_IsObject(res->data)) {
			cJSON *d = res->data;
			res->data = cJSON_CreateObject();
			if (d != NULL)
				cJSON_AddItemToObject(res->data, "copied", d);
		}
		cJSON_AddStringToObject(res->data, "from", from);
		cJSON_AddStringToObject(res->data, "to", to);
		xasprintf(&res->text, "copied %s to %s\n%s", from, to,
		    out.data);
	}
	buf_free(&out);
	buf_free(&err);
	free(from);
	free(to);
}

static void
tool_list_remote_files(const char *peer, cJSON *args, struct mcp_result *res)
{
	struct tool_av	 av = { 0 };
	const char	*path = arg_str(args, "path");
	cJSON		*j;

	av_add(&av, "ls-files");
	av_add(&av, "--json");
	av_add(&av, "--");
	av_add(&av, "%s", path != NULL ? path : "~");
	if ((j = tool_json(peer, &av, res, 0)) == NULL)
		return;
	res->data = cJSON_IsObject(j) ? j : tool_wrap("entries", j);
}

/* ------------------------------------------------------------ context */

static void
tool_context_set_av(struct tool_av *av, cJSON *args)
{
	double	 ttl;

	av_add(av, "context-set");
	if (arg_num(args, "ttl", &ttl))
		av_add(av, "--ttl=%d", (int)ttl);
	av_add(av, "--");
	av_add(av, "%s", arg_str(args, "key"));
	av_add(av, "%s", arg_str(args, "value"));
}

static void
tool_context_set(const char *peer, cJSON *args, struct mcp_result *res)
{
	struct tool_av	 av = { 0 };

	if (strcmp(arg_str(args, "value"), "-") == 0) {
		mcp_error(res, "a value of \"-\" would be read from standard "
		    "input; quote it in JSON or store another value");
		return;
	}
	tool_context_set_av(&av, args);
	if (tool_ok(peer, &av, res) != 0)
		return;
	res->data = cJSON_CreateObject();
	cJSON_AddStringToObject(res->data, "key", arg_str(args, "key"));
	cJSON_AddTrueToObject(res->data, "set");
	xasprintf(&res->text, "set %s on %s\n", arg_str(args, "key"),
	    tool_where(peer));
}

static void
tool_context_get(const char *peer, cJSON *args, struct mcp_result *res)
{
	struct tool_av	 av = { 0 };
	cJSON		*j;
	char		*s;

	av_add(&av, "context-get");
	av_add(&av, "--json");
	av_add(&av, "--");
	av_add(&av, "%s", arg_str(args, "key"));
	if ((j = tool_json(peer, &av, res, 0)) == NULL) {
		if (res->error != NULL && strstr(res->error, "no such key")) {
			s = res->error;
			xasprintf(&res->error, "%s; loopsy_context_list shows "
			    "the keys there are", s);
			free(s);
		}
		return;
	}
	res->data = j;
	res->text = xstrdup(cJSON_GetStringValue(cJSON_GetObjectItem(j,
	    "value")) ?: "");
}

static void
tool_context_list(const char *peer, cJSON *args, struct mcp_result *res)
{
	struct tool_av	 av = { 0 };
	const char	*prefix = arg_str(args, "prefix");
	cJSON		*j;

	av_add(&av, "context-list");
	av_add(&av, "--json");
	if (prefix != NULL)
		av_add(&av, "--prefix=%s", prefix);
	if ((j = tool_json(peer, &av, res, 0)) != NULL)
		res->data = cJSON_IsObject(j) ? j : tool_wrap("entries", j);
}

static void
tool_context_delete(const char *peer, cJSON *args, struct mcp_result *res)
{
	struct tool_av	 av = { 0 };

	av_add(&av, "context-delete");
	av_add(&av, "--");
	av_add(&av, "%s", arg_str(args, "key"));
	if (tool_ok(peer, &av, res) != 0)
		return;
	res->data = cJSON_CreateObject();
	cJSON_AddStringToObject(res->data, "key", arg_str(args, "key"));
	cJSON_AddTrueToObject(res->data, "deleted");
}

static void
tool_broadcast_context(const char *peer, cJSON *args,
    struct mcp_result *res)
{
	struct tool_av	 av = { 0 };
	struct mcp_result sub;
	cJSON		*peers, *p, *a, *o;
	const char	*name;
	int		 written = 0, failed = 0;
	struct buf	 b;

	if (peer != NULL) {
		mcp_error(res, "loopsy_broadcast_context writes here and to "
		    "every peer; call it without peer (loopsy_context_set "
		    "with peer writes to one)");
		return;
	}
	tool_context_set_av(&av, args);
	if (tool_ok(NULL, &av, res) != 0)
		return;
	if ((peers = tool_peers(res)) == NULL)
		return;
	res->data = cJSON_CreateObject();
	cJSON_AddStringToObject(res->data, "key", arg_str(args, "key"));
	cJSON_AddTrueToObject(res->data, "local");
	a = cJSON_AddArrayToObject(res->data, "peers");
	buf_init(&b);
	buf_printf(&b, "set %s here", arg_str(args, "key"));
	cJSON_ArrayForEach(p, peers) {
		/* Machines mDNS merely saw are not peers: names from the LAN. */
		if ((name = cJSON_GetStringValue(cJSON_GetObjectItem(p,
		    "name"))) == NULL ||
		    !cJSON_IsTrue(cJSON_GetObjectItem(p, "paired")))
			continue;
		memset(&sub, 0, sizeof sub);
		tool_context_set_av(&av, args);
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "peer", name);
		if (tool_ok(name, &av, &sub) == 0) {
			cJSON_AddTrueToObject(o, "ok");
			buf_printf(&b, "; %s: ok", name);
			written++;
		} else {
			cJSON_AddFalseToObject(o, "ok");
			cJSON_AddStringToObject(o, "error", sub.error);
			buf_printf(&b, "; %s: failed (%s)", name, sub.error);
			failed++;
			free(sub.error);
		}
		cJSON_AddItemToArray(a, o);
	}
	cJSON_Delete(peers);
	cJSON_AddNumberToObject(res->data, "written", written);
	cJSON_AddNumberToObject(res->data, "failed", failed);
	buf_printf(&b, "\n%d peer(s) written, %d failed\n", written, failed);
	buf_add(&b, "", 1);
	res->text = b.data;
}

/* ----------------------------------------------------------- messages */

static void	tool_send_outbox(const char *, const char *, const char *,
		    const char *, struct mcp_result *);

static void
tool_send_message(const char *peer, cJSON *args, struct mcp_result *res)
{
	struct tool_av	 av = { 0 };
	struct mcp_reply r;
	const char	*type = arg_str(args, "type");
	char		*id;

	av_add(&av, "msg-send");
	av_add(&av, "--type=%s", type != NULL ? type : "chat");
	av_add(&av, "--from=%s", msg_hostname());
	av_add(&av, "--");
	av_add(&av, "self");
	av_add(&av, "%s", arg_str(args, "body"));
	if (tool_cmd(peer, &av, &r, res, 0) != 0) {
		av_free(&av);
		return;
	}
	av_free(&av);
	id = xstrdup(r.out.data);
	id[strcspn(id, "\n")] = '\0';
	mcp_reply_free(&r);
	res->data = cJSON_CreateObject();
	cJSON_AddStringToObject(res->data, "id", id);
	cJSON_AddStringToObject(res->data, "to", tool_where(peer));
	xasprintf(&res->text, "sent message %s to %s; loopsy_check_ack with "
	    "this id says when it is acknowledged\n", id, tool_where(peer));
	if (peer != NULL)
		tool_send_outbox(peer, id, type, arg_str(args, "body"), res);
	free(id);
}

/* The sender's outbox:<id> for a message sent to a peer (SPEC.md 3). */
static void
tool_send_outbox(const char *peer, const char *id, const char *type,
    const char *body, struct mcp_result *res)
{
	struct tool_av		 av = { 0 };
	struct mcp_reply	 r;
	struct mcp_result	 local = { 0 };
	cJSON			*env;
	char			*s, *text;

	env = cJSON_CreateObject();
	cJSON_AddStringToObject(env, "from", msg_hostname());
	cJSON_AddStringToObject(env, "to", peer);
	cJSON_AddNumberToObject(env, "ts", strtod(id, NULL));
	cJSON_AddStringToObject(env, "id", id);
	cJSON_AddStringToObject(env, "type", type != NULL ? type : "chat");
	cJSON_AddStringToObject(env, "body", body != NULL ? body : "");
	s = cJSON_PrintUnformatted(env);
	cJSON_Delete(env);
	av_add(&av, "context-set");
	av_add(&av, "--ttl=%d", MSG_TTL);
	av_add(&av, "--");
	av_add(&av, "outbox:%s", id);
	av_add(&av, "%s", s);
	free(s);
	if (tool_cmd(NULL, &av, &r, &local, 0) == 0)
		mcp_reply_free(&r);
	else {
		/* Sent all the same: say what is missing here. */
		xasprintf(&text, "%sbut keeping outbox:%s here failed: %s\n",
		    res->text, id, local.error);
		free(res->text);
		res->text = text;
		free(local.error);
	}
	av_free(&av);
}

static void
tool_check_inbox(const char *peer, cJSON *args __unused,
    struct mcp_result *res)
{
	struct tool_av	 av = { 0 };
	cJSON		*j, *m;
	struct buf	 b;

	av_add(&av, "msg-inbox");
	av_add(&av, "--json");
	if ((j = tool_json(peer, &av, res, 0)) == NULL)
		return;
	buf_init(&b);
	cJSON_ArrayForEach(m, j) {
		buf_printf(&b, "%s from %s (%s): %s\n",
		    tool_str(m, "id"),
		    tool_str(m, "from"),
		    tool_str(m, "type"),
		    tool_str(m, "body"));
	}
	if (b.len == 0)
		buf_addstr(&b, "the inbox is empty\n");
	buf_add(&b, "", 1);
	res->text = b.data;
	res->data = tool_wrap("messages", j);
}

/* Is name a peer we paired with or hold a key for (not one merely seen)? */
static int
tool_paired(const char *name)
{
	struct peers	 ps;
	struct peer	*p;
	char		*cause = NULL;
	int		 rc;

	if (peers_load(&ps, &cause) != 0) {
		free(cause);
		return (0);
	}
	p = peers_find(&ps, name);
	rc = p != NULL && (p->key != NULL || (p->how != NULL &&
	    strcmp(p->how, "paired") == 0));
	peers_clear(&ps);
	return (rc);
}

/*
 * The inbox is this machine's; the ack goes to the sender: peer if given,
 * else the envelope's "from" if it names a paired peer (a sender could
 * write any name there, to have us contact a host of its choosing).
 */
static void
tool_ack_message(const char *peer, cJSON *args, struct mcp_result *res)
{
	struct tool_av	 av = { 0 };
	const char	*id = arg_str(args, "id"), *me = msg_hostname();
	const char	*to;
	cJSON		*e, *env = NULL;

	av_add(&av, "context-get");
	av_add(&av, "--json");
	av_add(&av, "--");
	av_add(&av, "inbox:%s:%s", me, id);
	if ((e = tool_json(NULL, &av, res, 0)) == NULL) {
		mcp_error(res, "no message %s in this machine's inbox; "
		    "loopsy_check_inbox lists the messages there are", id);
		return;
	}
	env = cJSON_Parse(cJSON_GetStringValue(cJSON_GetObjectItem(e,
	    "value")) ?: "");
	to = peer != NULL ? peer : cJSON_GetStringValue(
	    cJSON_GetObjectItem(env, "from"));
	if (peer == NULL && to != NULL && !msg_is_self(to) &&
	    !tool_paired(to)) {
		mcp_error(res, "message %s says it is from \"%s\", which is "
		    "not a paired peer in peers.json, and the sender chooses "
		    "that name: the acknowledgement was not sent; give peer "
		    "(the sender, as named by loopsy_list_peers) to send it",
		    id, to);
		goto out;
	}
	if (to == NULL || msg_is_self(to)) {
		av_add(&av, "msg-ack");
		av_add(&av, "%s", id);
		if (tool_ok(NULL, &av, res) != 0)
			goto out;
		to = "local";
	} else {
		/* As loopsy msg ack: the peer names us as it knows us. */
		av_add(&av, "msg-ack");
		av_add(&av, "--record");
		av_add(&av, "--from=%s", me);
		av_add(&av, "--");
		av_add(&av, "%s", id);
		if (tool_ok(to, &av, res) != 0)
			goto out;
		av_add(&av, "context-delete");
		av_add(&av, "--");
		av_add(&av, "inbox:%s:%s", me, id);
		if (tool_ok(NULL, &av, res) != 0)
			goto out;
	}
	res->data = cJSON_CreateObject();
	cJSON_AddStringToObject(res->data, "id", id);
	cJSON_AddStringToObject(res->data, "ackedTo", to);
	xasprintf(&res->text, "acknowledged %s to %s\n", id, to);
out:
	cJSON_Delete(env);
	cJSON_Delete(e);
}

static void
tool_check_ack(const char *peer, cJSON *args, struct mcp_result *res)
{
	struct tool_av	 av = { 0 };
	const char	*id = arg_str(args, "id"), *from = arg_str(args, "from");
	const char	*k, *v;
	cJSON		*j, *e, *a, *o;
	int		 acked = 0;

	av_add(&av, "context-list");
	av_add(&av, "--json");
	av_add(&av, "--prefix=ack:");
	if ((j = tool_json(peer, &av, res, 0)) == NULL)
		return;
	res->data = cJSON_CreateObject();
	a = cJSON_AddArrayToObject(res->data, "acks");
	cJSON_ArrayForEach(e, cJSON_GetObjectItem(j, "entries")) {
		k = cJSON_GetStringValue(cJSON_GetObjectItem(e, "key"));
		v = cJSON_GetStringValue(cJSON_GetObjectItem(e, "value"));
		if (k == NULL || v == NULL || strncmp(k, "ack:", 4) != 0 ||
		    (from != NULL && strcmp(k + 4, from) != 0))
			continue;
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "from", k + 4);
		cJSON_AddStringToObject(o, "id", v);
		cJSON_AddItemToArray(a, o);
		if (id != NULL && strcmp(v, id) == 0)
			acked = 1;
	}
	cJSON_Delete(j);
	if (id != NULL) {
		cJSON_AddBoolToObject(res->data, "acked", acked);
		xasprintf(&res->text, "%s: %s\n", id, acked ? "acknowledged" :
		    "not acknowledged yet (call again later)");
	}
}

/* -------------------------------------------------------------- table */

#define PEER_NOTE " (peer: run it there)"

const struct mcp_tool mcp_tools[] = {
	{ "loopsy_list_peers",
	  "List the paired peers: name, address, online or offline, last "
	  "seen.  Use a peer's name as the peer argument of other tools.",
	  "{'properties':{}}", tool_list_peers },
	{ "loopsy_peer_status",
	  "Status of this machine or of a peer: version, uptime, sessions, "
	  "where it listens.  Fails with the reason if the peer is offline.",
	  "{'properties':{}}", tool_peer_status },
	{ "loopsy_execute",
	  "Run a command to completion and return its stdout, stderr, exit "
	  "code and duration (output is capped; long jobs belong in a "
	  "session).  A command with shell syntax and no args runs under "
	  "sh -c.  The execution policy (denylist) applies.",
	  "{'properties':{'command':{'type':'string','description':'Program,"
	  " or a shell command line if args is not given'},'args':{'type':"
	  "'array','items':{'type':'string'}},'cwd':{'type':'string'},"
	  "'timeout':{'type':'number','description':'Seconds; the whole "
	  "process group is killed after it'},'env':{'type':'object',"
	  "'additionalProperties':{'type':'string'}}},'required':"
	  "['command']}", tool_execute },
	{ "loopsy_session_start",
	  "Start a program in a new terminal session (detached), which runs "
	  "until it exits; drive it with loopsy_session_send_keys, read it "
	  "with loopsy_session_capture, wait with loopsy_session_wait.",
	  "{'properties':{'command':{'type':'string','description':'Command "
	  "line, run by the shell; default: a shell'},'argv':{'type':'array',"
	  "'items':{'type':'string'},'description':'Program and arguments, "
	  "instead of command'},'name':{'type':'string'},'cwd':{'type':"
	  "'string'},'cols':{'type':'integer','minimum':1},'rows':{'type':"
	  "'integer','minimum':1},'env':{'type':'object',"
	  "'additionalProperties':{'type':'string'}}}}", tool_session_start },
	{ "loopsy_session_list",
	  "List the terminal sessions: name, command, state (running or "
	  "exited N), size, idle time.",
	  "{'properties':{}}", tool_session_list },
	{ "loopsy_session_send_keys",
	  "Type into a session: text is sent as is; keys are tmux key names "
	  "(Enter, C-c, Escape, Up, Tab, F1, ...) sent after the text; enter "
	  "adds Enter at the end.",
	  "{'properties':{'session':{'type':'string'},'text':{'type':"
	  "'string'},'keys':{'type':'array','items':{'type':'string'}},"
	  "'enter':{'type':'boolean'}},'required':['session']}",
	  tool_session_send_keys },
	{ "loopsy_session_capture",
	  "The text of a session's screen, or a range of lines with "
	  "scrollback (start and end: 0 is the top of the screen, negative "
	  "lines are scrollback, \"-\" the oldest or newest); attributes "
	  "keeps colours as escape sequences; join joins wrapped lines.  "
	  "Large captures keep the last 64 KiB.",
	  "{'properties':{'session':{'type':'string'},'start':{'type':"
	  "['integer','string']},'end':{'type':['integer','string']},"
	  "'attributes':{'type':'boolean'},'join':{'type':'boolean'}},"
	  "'required':['session']}", tool_session_capture },
	{ "loopsy_session_wait",
	  "Block until a session's program exits (for: exit), its screen "
	  "matches a regex (for: text), or it has been quiet for idle_ms "
	  "(for: idle); gives up after timeout seconds (default 30).",
	  "{'properties':{'session':{'type':'string'},'for':{'type':"
	  "'string','enum':['exit','text','idle']},'regex':{'type':'string'},"
	  "'idle_ms':{'type':'integer','minimum':1},'timeout':{'type':"
	  "'number','minimum':0}},'required':['session','for']}",
	  tool_session_wait },
	{ "loopsy_session_stop",
	  "Stop a session's program: C-c, then if it has not exited within "
	  "timeout seconds (default 5) the session is killed.  An exited "
	  "session stays listed until loopsy_session_remove.",
	  "{'properties':{'session':{'type':'string'},'timeout':{'type':"
	  "'number','minimum':0}},'required':['session']}",
	  tool_session_stop },
	{ "loopsy_session_remove",
	  "Remove a session, killing its program if it still runs.",
	  "{'properties':{'session':{'type':'string'}},'required':"
	  "['session']}", tool_session_remove },
	{ "loopsy_transfer_file",
	  "Copy a file (or a directory with recursive) between this machine "
	  "and a peer: push sends source (here) to destination (on the "
	  "peer), pull fetches source (on the peer) to destination (here).  "
	  "SHA-256 checked, atomic, resumed if interrupted; the transfer "
	  "path policy applies on both sides.",
	  "{'properties':{'direction':{'type':'string','enum':['push',"
	  "'pull']},'source':{'type':'string'},'destination':{'type':"
	  "'string'},'recursive':{'type':'boolean'}},'required':["
	  "'direction','source','destination']}", tool_transfer_file },
	{ "loopsy_list_remote_files",
	  "List a directory (default: home) on a peer or here, within the "
	  "transfer policy's allowed paths.",
	  "{'properties':{'path':{'type':'string'}}}",
	  tool_list_remote_files },
	{ "loopsy_context_set",
	  "Store a key and value in the shared context store (optionally "
	  "expiring after ttl seconds).",
	  "{'properties':{'key':{'type':'string'},'value':{'type':'string'},"
	  "'ttl':{'type':'integer','minimum':1}},'required':['key','value']}",
	  tool_context_set },
	{ "loopsy_context_get",
	  "Read one key of the context store.",
	  "{'properties':{'key':{'type':'string'}},'required':['key']}",
	  tool_context_get },
	{ "loopsy_context_list",
	  "List the context store's entries, optionally those whose key "
	  "starts with prefix.",
	  "{'properties':{'prefix':{'type':'string'}}}", tool_context_list },
	{ "loopsy_context_delete",
	  "Delete one key of the context store.",
	  "{'properties':{'key':{'type':'string'}},'required':['key']}",
	  tool_context_delete },
	{ "loopsy_broadcast_context",
	  "Set a key here and write it to every peer, with a result per "
	  "peer (offline ones fail with the reason).",
	  "{'properties':{'key':{'type':'string'},'value':{'type':'string'},"
	  "'ttl':{'type':'integer','minimum':1}},'required':['key','value']}",
	  tool_broadcast_context },
	{ "loopsy_send_message",
	  "Leave a message in a peer's inbox (or this machine's without "
	  "peer); returns its id for loopsy_check_ack.",
	  "{'properties':{'body':{'type':'string'},'type':{'type':'string',"
	  "'enum':['chat','request','response','broadcast']}},'required':"
	  "['body']}", tool_send_message },
	{ "loopsy_check_inbox",
	  "The messages waiting in the inbox, oldest first.",
	  "{'properties':{}}", tool_check_inbox },
	{ "loopsy_ack_message",
	  "Acknowledge a message of this machine's inbox: the sender learns "
	  "it (loopsy_check_ack there) and the message leaves the inbox.",
	  "{'properties':{'id':{'type':'string'},'peer':{'type':'string',"
	  "'description':'The sender, as a peer name; default: the "
	  "message\\u0027s from'}},'required':['id']}", tool_ack_message },
	{ "loopsy_check_ack",
	  "Which messages have been acknowledged to us: with id, whether "
	  "that one was; from narrows to one acknowledging host.",
	  "{'properties':{'id':{'type':'string'},'from':{'type':'string'}}}",
	  tool_check_ack },
	{ NULL, NULL, NULL, NULL }
};

const struct mcp_tool *
mcp_tool_find(const char *name)
{
	const struct mcp_tool	*t;

	for (t = mcp_tools; t->name != NULL; t++) {
		if (strcmp(t->name, name) == 0)
			return (t);
	}
	return (NULL);
}

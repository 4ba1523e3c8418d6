/*
 * client/mcp.c: "loopsy mcp", MCP over stdio: one JSON-RPC 2.0 message a
 * line in, one a line out, nothing else on stdout (logs go to stderr).  It
 * owns the protocol (initialize and its version, ping, tools/list,
 * tools/call) and the connections every tool runs its commands over: one to
 * the local server, started on demand, and one link per peer by name
 * (client/remote.c), so a peer's key never passes through the model.  The
 * tools themselves are in mcp-tools.c.
 */
#include <sys/types.h>

#include <errno.h>
#include <poll.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>

#include "common/common.h"
#include "common/proto.h"
#include "server/server.h"
#include "client/client.h"
#include "client/mcp.h"

#define MCP_TEXT_MAX	(64 * 1024)
#define MCP_CONNS	32

/* Newest first; the first is what we answer a version we do not know. */
static const char *mcp_versions[] = {
	"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"
};

/* One connection: the local server (peer NULL) or a link to a peer. */
struct mcp_conn {
	char		*peer;
	int		 fd;
	struct evbuffer	*in;
	uint32_t	 id;
};

const char		*mcp_socket;
static struct mcp_conn	 mcp_conns[MCP_CONNS];
static const char	*mcp_version = "2025-11-25";

/* Is this "loopsy mcp" (the server) rather than mcp install/uninstall? */
int
mcp_is_entry(int argc, char **argv)
{
	if (argc < 1 || strcmp(argv[0], "mcp") != 0)
		return (0);
	return (argc < 2 || (strcmp(argv[1], "install") != 0 &&
	    strcmp(argv[1], "uninstall") != 0));
}

void
mcp_error(struct mcp_result *res, const char *fmt, ...)
{
	va_list	ap;

	free(res->error);
	va_start(ap, fmt);
	if (vasprintf(&res->error, fmt, ap) == -1)
		fatal("vasprintf");
	va_end(ap);
}

static int
mcp_write_all(int fd, struct evbuffer *b)
{
	while (evbuffer_get_length(b) != 0) {
		if (evbuffer_write(b, fd) == -1 && errno != EINTR)
			return (-1);
	}
	return (0);
}

static void
mcp_conn_close(struct mcp_conn *c)
{
	log_debug("%s: %s", __func__, c->peer != NULL ? c->peer : "local");
	if (c->fd != -1)
		close(c->fd);
	if (c->in != NULL)
		evbuffer_free(c->in);
	free(c->peer);
	memset(c, 0, sizeof *c);
	c->fd = -1;
}

/* The local server's socket, starting a server if none runs. */
static int
mcp_open_local(char **cause)
{
	int	 fd;

	if ((fd = client_connect(mcp_socket)) != -1)
		return (fd);
	if (errno != ENOENT && errno != ECONNREFUSED) {
		xasprintf(cause, "cannot connect to the loopsy server on %s: "
		    "%s", mcp_socket, strerror(errno));
		return (-1);
	}
	free(*cause);
	*cause = NULL;
	/* The new server must not inherit our log's FILE (it would close
	 * the descriptor it numbers its ready pipe with). */
	log_close();
	fd = client_start_server(mcp_socket, cause);
	if (client_verbose)
		log_open("/dev/stderr", client_verbose);
	if (fd != -1)
		return (fd);
	if (strstr(*cause, "already running") != NULL &&
	    (fd = client_connect(mcp_socket)) != -1) {
		free(*cause);
		*cause = NULL;
		return (fd);
	}
	return (-1);
}

/* The connection for peer (NULL: local), opened if need be. */
/* Did the other side go while this connection sat idle? */
static int
mcp_conn_stale(struct mcp_conn *c)
{
	struct pollfd	 pfd = { c->fd, POLLIN, 0 };
	char		 b;

	if (poll(&pfd, 1, 0) <= 0)
		return (0);
	if (pfd.revents & (POLLHUP|POLLERR|POLLNVAL))
		return (1);
	return (recv(c->fd, &b, 1, MSG_PEEK|MSG_DONTWAIT) == 0);
}

static struct mcp_conn *
mcp_conn_get(const char *peer, char **cause)
{
	struct mcp_conn	*c, *slot = NULL;
	struct evbuffer	*out;
	char		*why = NULL;
	int		 i, fd;

	for (i = 0; i < MCP_CONNS; i++) {
		c = &mcp_conns[i];
		if (c->in == NULL) {
			if (slot == NULL)
				slot = c;
			continue;
		}
		if ((peer == NULL && c->peer == NULL) || (peer != NULL &&
		    c->peer != NULL && strcmp(peer, c->peer) == 0)) {
			if (!mcp_conn_stale(c))
				return (c);
			mcp_conn_close(c);	/* closed while idle: again */
			slot = c;
			break;
		}
	}
	if (slot == NULL) {
		xasprintf(cause, "too many peer links open");
		return (NULL);
	}
	if (peer == NULL)
		fd = mcp_open_local(&why);
	else
		fd = remote_connect(peer, &why);
	if (fd == -1) {
		if (peer != NULL && strncmp(why, "unknown peer", 12) != 0)
			xasprintf(cause, "peer \"%s\" is offline or unreachable:"
			    " %s (loopsy_list_peers shows the peers and when "
			    "each was last seen)", peer, why);
		else
			*cause = xstrdup(why != NULL ? why :
			    "cannot reach the server");
		free(why);
		return (NULL);
	}
	slot->fd = fd;
	slot->peer = peer != NULL ? xstrdup(peer) : NULL;
	slot->in = evbuffer_new();
	out = evbuffer_new();
	proto_add_hello(out);
	if (mcp_write_all(fd, out) != 0) {
		evbuffer_free(out);
		mcp_conn_close(slot);
		xasprintf(cause, "lost the connection to %s at once",
		    peer != NULL ? peer : "the local server");
		return (NULL);
	}
	evbuffer_free(out);
	log_debug("%s: opened %s", __func__, peer != NULL ? peer : "local");
	return (slot);
}

static void
mcp_reply_parse(struct mcp_reply *r, const char *data)
{
	cJSON	*j = cJSON_Parse(data), *e, *m;

	r->exit = 1;
	if (j == NULL) {
		r->message = xstrdup("bad reply from the server");
		return;
	}
	e = cJSON_GetObjectItem(j, "exit");
	r->exit = cJSON_IsNumber(e) ? e->valueint : 1;
	if ((e = cJSON_GetObjectItem(j, "error")) != NULL) {
		m = cJSON_GetObjectItem(e, "message");
		if (cJSON_IsString(m) && *m->valuestring != '\0')
			r->message = xstrdup(m->valuestring);
		m = cJSON_GetObjectItem(e, "code");
		if (cJSON_IsString(m))
			r->code = xstrdup(m->valuestring);
	}
	cJSON_Delete(j);
}

/*
 * Send one command and read up to its reply.  0: *heard says whether any
 * frame came back before a failure.  -1 with *cause set if the connection
 * failed.
 */
static int
mcp_exchange(struct mcp_conn *c, int argc, char **argv, struct mcp_reply *r,
    int *heard, char **cause)
{
	struct evbuffer	*out = evbuffer_new();
	cJSON		*j;
	char		*data, *why = NULL, cwd[PATH_MAX];
	uint8_t		 type;
	size_t		 len;
	int		 rc, n;

	*heard = 0;
	j = proto_command_new(++c->id, argc, argv);
	if (getcwd(cwd, sizeof cwd) != NULL)
		cJSON_AddStringToObject(j, "cwd", cwd);
	proto_add_cjson(out, MSG_COMMAND, j);
	rc = mcp_write_all(c->fd, out);
	evbuffer_free(out);
	if (rc != 0)
		goto lost;
	/* Sent: from here it may run, so it is never sent again. */
	*heard = 1;
	for (;;) {
		rc = proto_take(c->in, &type, &data, &len, &why);
		if (rc == -1) {
			xasprintf(cause, "bad frame: %s", why);
			free(why);
			return (-1);
		}
		if (rc == 0) {
			n = evbuffer_read(c->in, c->fd, 65536);
			if (n == -1 && errno == EINTR)
				continue;
			if (n <= 0)
				goto lost;
			continue;
		}
		*heard = 1;
		if (type == MSG_STDOUT)
			buf_add(&r->out, data, len);
		else if (type == MSG_STDERR)
			buf_add(&r->err, data, len);
		else if (type == MSG_HELLO && strstr(data, "\"error\"")) {
			xasprintf(cause, "the server refused us: %s", data);
			free(data);
			return (-1);
		} else if (type == MSG_REPLY) {
			j = cJSON_Parse(data);
			rc = cJSON_IsNumber(cJSON_GetObjectItem(j, "id")) &&
			    (uint32_t)cJSON_GetObjectItem(j, "id")->valuedouble
			    == c->id;
			cJSON_Delete(j);
			if (rc) {
				mcp_reply_parse(r, data);
				free(data);
				return (0);
			}
		}
		free(data);
	}
lost:
	xasprintf(cause, "lost the connection to %s",
	    c->peer != NULL ? c->peer : "the local server");
	return (-1);
}

/*
 * Run one command on peer (NULL: this machine).  0 with *r filled (whatever
 * the command's exit), or -1 with *cause set if it could not be run.
 */
int
mcp_command(const char *peer, int argc, char **argv, struct mcp_reply *r,
    char **cause)
{
	struct mcp_conn	*c;
	int		 tries, heard;

	if (peer != NULL && (*peer == '\0' || msg_is_self(peer)))
		peer = NULL;
	memset(r, 0, sizeof *r);
	buf_init(&r->out);
	buf_init(&r->err);
	for (tries = 0; tries < 3; tries++) {
		free(*cause);
		*cause = NULL;
		if ((c = mcp_conn_get(peer, cause)) == NULL)
			return (-1);
		if (mcp_exchange(c, argc, argv, r, &heard, cause) == 0) {
			buf_add(&r->out, "", 1);
			r->out.len--;
			buf_add(&r->err, "", 1);
			r->err.len--;
			return (0);
		}
		/* Reconnect: a dropped link, or a server that was exiting. */
		mcp_conn_close(c);
		if (heard)
			return (-1);
		buf_reset(&r->out);
		buf_reset(&r->err);
	}
	return (-1);
}

void
mcp_reply_free(struct mcp_reply *r)
{
	buf_free(&r->out);
	buf_free(&r->err);
	free(r->code);
	free(r->message);
	memset(r, 0, sizeof *r);
}

/* ------------------------------------------------------------ protocol */

static void
mcp_send(cJSON *j)
{
	char	*s = cJSON_PrintUnformatted(j);

	fputs(s, stdout);
	fputc('\n', stdout);
	fflush(stdout);
	free(s);
	cJSON_Delete(j);
}

static void
mcp_send_result(cJSON *id, cJSON *result)
{
	cJSON	*j = cJSON_CreateObject();

	cJSON_AddStringToObject(j, "jsonrpc", "2.0");
	cJSON_AddItemToObject(j, "id", cJSON_Duplicate(id, 1));
	cJSON_AddItemToObject(j, "result", result);
	mcp_send(j);
}

static void
mcp_send_error(cJSON *id, int code, const char *fmt, ...)
{
	cJSON	*j = cJSON_CreateObject(), *e;
	va_list	 ap;
	char	*msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		fatal("vasprintf");
	va_end(ap);
	cJSON_AddStringToObject(j, "jsonrpc", "2.0");
	if (id != NULL)
		cJSON_AddItemToObject(j, "id", cJSON_Duplicate(id, 1));
	else
		cJSON_AddNullToObject(j, "id");
	e = cJSON_AddObjectToObject(j, "error");
	cJSON_AddNumberToObject(e, "code", code);
	cJSON_AddStringToObject(e, "message", msg);
	free(msg);
	mcp_send(j);
}

static cJSON *
mcp_initialize(cJSON *params)
{
	cJSON		*j = cJSON_CreateObject(), *v, *o;
	size_t		 i;

	v = cJSON_GetObjectItem(params, "protocolVersion");
	mcp_version = mcp_versions[0];
	for (i = 0; cJSON_IsString(v) && i < nitems(mcp_versions); i++) {
		if (strcmp(v->valuestring, mcp_versions[i]) == 0)
			mcp_version = mcp_versions[i];
	}
	log_debug("%s: client %s, answering %s", __func__,
	    cJSON_IsString(v) ? v->valuestring : "(none)", mcp_version);
	cJSON_AddStringToObject(j, "protocolVersion", mcp_version);
	o = cJSON_AddObjectToObject(j, "capabilities");
	o = cJSON_AddObjectToObject(o, "tools");
	cJSON_AddFalseToObject(o, "listChanged");
	o = cJSON_AddObjectToObject(j, "serverInfo");
	cJSON_AddStringToObject(o, "name", "loopsy");
	cJSON_AddStringToObject(o, "version", PACKAGE_VERSION);
	cJSON_AddStringToObject(j, "instructions", "Drive terminals, commands, "
	    "files, context and messages on this machine and on its paired "
	    "peers.  Every tool takes an optional peer (a name from "
	    "loopsy_list_peers); without it the tool acts here.");
	return (j);
}

/* A schema written with ' for " in C: the JSON text. */
static cJSON *
mcp_schema(const struct mcp_tool *t)
{
	char	*s = xstrdup(t->schema), *p;
	cJSON	*j, *props, *peer;

	for (p = s; *p != '\0'; p++) {
		if (*p == '\'')
			*p = '"';
	}
	if ((j = cJSON_Parse(s)) == NULL)
		fatalx("bad schema for %s", t->name);
	free(s);
	cJSON_AddStringToObject(j, "type", "object");
	if ((props = cJSON_GetObjectItem(j, "properties")) == NULL)
		props = cJSON_AddObjectToObject(j, "properties");
	if (cJSON_GetObjectItem(props, "peer") == NULL) {
		peer = cJSON_AddObjectToObject(props, "peer");
		cJSON_AddStringToObject(peer, "type", "string");
		cJSON_AddStringToObject(peer, "description", "Run this on "
		    "that peer (a name from loopsy_list_peers) instead of "
		    "this machine.");
	}
	return (j);
}

static cJSON *
mcp_tools_list(void)
{
	cJSON			*j = cJSON_CreateObject(), *a, *t;
	const struct mcp_tool	*tool;

	a = cJSON_AddArrayToObject(j, "tools");
	for (tool = mcp_tools; tool->name != NULL; tool++) {
		t = cJSON_CreateObject();
		cJSON_AddStringToObject(t, "name", tool->name);
		cJSON_AddStringToObject(t, "description", tool->description);
		cJSON_AddItemToObject(t, "inputSchema", mcp_schema(tool));
		cJSON_AddItemToArray(a, t);
	}
	return (j);
}

static int
mcp_type_ok(cJSON *v, const char *type)
{
	if (strcmp(type, "string") == 0)
		return (cJSON_IsString(v));
	if (strcmp(type, "integer") == 0)
		return (cJSON_IsNumber(v) &&
		    v->valuedouble == (double)(long long)v->valuedouble);
	if (strcmp(type, "number") == 0)
		return (cJSON_IsNumber(v));
	if (strcmp(type, "boolean") == 0)
		return (cJSON_IsBool(v));
	if (strcmp(type, "array") == 0)
		return (cJSON_IsArray(v));
	if (strcmp(type, "object") == 0)
		return (cJSON_IsObject(v));
	return (1);
}

/*
 * What the top-level type does not say: the items of an array, the values
 * of an object (env), and a number's minimum and maximum.
 */
static char *
mcp_check_inner(const struct mcp_tool *tool, cJSON *v, cJSON *p)
{
	cJSON	*t, *e;
	char	*why = NULL;

	t = cJSON_GetObjectItem(cJSON_GetObjectItem(p, "items"), "type");
	if (cJSON_IsArray(v) && cJSON_IsString(t)) {
		cJSON_ArrayForEach(e, v) {
			if (!mcp_type_ok(e, t->valuestring)) {
				xasprintf(&why, "argument \"%s\" of %s must be "
				    "an array of %ss", v->string, tool->name,
				    t->valuestring);
				return (why);
			}
		}
	}
	t = cJSON_GetObjectItem(cJSON_GetObjectItem(p,
	    "additionalProperties"), "type");
	if (cJSON_IsObject(v) && cJSON_IsString(t)) {
		cJSON_ArrayForEach(e, v) {
			if (!mcp_type_ok(e, t->valuestring)) {
				xasprintf(&why, "argument \"%s\" of %s: \"%s\" "
				    "must be a %s", v->string, tool->name,
				    e->string, t->valuestring);
				return (why);
			}
		}
	}
	if (cJSON_IsNumber(v)) {
		t = cJSON_GetObjectItem(p, "minimum");
		e = cJSON_GetObjectItem(p, "maximum");
		if ((cJSON_IsNumber(t) && v->valuedouble < t->valuedouble) ||
		    (cJSON_IsNumber(e) && v->valuedouble > e->valuedouble)) {
			if (cJSON_IsNumber(e))
				xasprintf(&why, "argument \"%s\" of %s must be "
				    "from %g to %g", v->string, tool->name,
				    cJSON_IsNumber(t) ? t->valuedouble : 0,
				    e->valuedouble);
			else
				xasprintf(&why, "argument \"%s\" of %s must be "
				    "at least %g", v->string, tool->name,
				    t->valuedouble);
			return (why);
		}
	}
	return (NULL);
}

/* Check arguments against the schema: NULL, or what is wrong. */
static char *
mcp_check_args(const struct mcp_tool *tool, cJSON *args)
{
	cJSON	*schema = mcp_schema(tool), *props, *p, *v, *t, *e;
	char	*why = NULL;
	struct buf names;
	int	 ok;

	props = cJSON_GetObjectItem(schema, "properties");
	buf_init(&names);
	cJSON_ArrayForEach(p, props)
		buf_printf(&names, "%s%s", names.len ? ", " : "", p->string);
	buf_add(&names, "", 1);
	cJSON_ArrayForEach(v, args) {
		if ((p = cJSON_GetObjectItem(props, v->string)) == NULL) {
			xasprintf(&why, "unknown argument \"%s\" for %s; it "
			    "takes: %s", v->string, tool->name, names.data);
			goto out;
		}
		t = cJSON_GetObjectItem(p, "type");
		ok = !cJSON_IsString(t) || mcp_type_ok(v, t->valuestring);
		if (cJSON_IsArray(t)) {
			ok = 0;
			cJSON_ArrayForEach(e, t)
				ok |= mcp_type_ok(v, e->valuestring);
		}
		if (!ok) {
			xasprintf(&why, "argument \"%s\" of %s must be %s",
			    v->string, tool->name, cJSON_IsString(t) ?
			    t->valuestring : "of another type");
			goto out;
		}
		if ((why = mcp_check_inner(tool, v, p)) != NULL)
			goto out;
		if ((e = cJSON_GetObjectItem(p, "enum")) != NULL) {
			ok = 0;
			cJSON_ArrayForEach(t, e)
				ok |= cJSON_Compare(t, v, 1);
			if (!ok) {
				char *en = cJSON_PrintUnformatted(e);
				xasprintf(&why, "argument \"%s\" of %s must be "
				    "one of %s", v->string, tool->name, en);
				free(en);
				goto out;
			}
		}
	}
	cJSON_ArrayForEach(p, cJSON_GetObjectItem(schema, "required")) {
		if (cJSON_GetObjectItem(args, p->valuestring) == NULL) {
			xasprintf(&why, "%s needs the argument \"%s\"",
			    tool->name, p->valuestring);
			goto out;
		}
	}
out:
	buf_free(&names);
	cJSON_Delete(schema);
	return (why);
}

/* Cut text at MCP_TEXT_MAX, keeping the start, with a note. */
static char *
mcp_cap(char *text)
{
	char	*s;
	size_t	 len = strlen(text), n = MCP_TEXT_MAX;

	if (len <= MCP_TEXT_MAX)
		return (text);
	while (n > 0 && (text[n] & 0xc0) == 0x80)
		n--;	/* not in the middle of a UTF-8 character */
	xasprintf(&s, "%.*s\n[output truncated: %zu of %zu bytes shown; ask "
	    "for less: a line range with loopsy_session_capture start/end, a "
	    "prefix with loopsy_context_list, or a narrower command]",
	    (int)n, text, n, len);
	free(text);
	return (s);
}

static cJSON *
mcp_tools_call(cJSON *id, cJSON *params)
{
	const struct mcp_tool	*tool;
	struct mcp_result	 res;
	cJSON			*name, *args, *j, *c, *peer;
	char			*why;
	int			 own = 0;

	name = cJSON_GetObjectItem(params, "name");
	if (!cJSON_IsString(name)) {
		mcp_send_error(id, -32602, "tools/call needs a tool name");
		return (NULL);
	}
	if ((tool = mcp_tool_find(name->valuestring)) == NULL) {
		mcp_send_error(id, -32602, "Unknown tool: %s",
		    name->valuestring);
		return (NULL);
	}
	args = cJSON_GetObjectItem(params, "arguments");
	if (args == NULL || cJSON_IsNull(args)) {
		args = cJSON_CreateObject();
		own = 1;
	} else if (!cJSON_IsObject(args)) {
		mcp_send_error(id, -32602, "arguments of %s must be an object",
		    tool->name);
		return (NULL);
	}
	memset(&res, 0, sizeof res);
	if ((why = mcp_check_args(tool, args)) != NULL)
		res.error = why;
	else {
		peer = cJSON_GetObjectItem(args, "peer");
		log_debug("%s: %s", __func__, tool->name);
		tool->run(cJSON_IsString(peer) && *peer->valuestring != '\0' ?
		    peer->valuestring : NULL, args, &res);
	}
	if (own)
		cJSON_Delete(args);

	j = cJSON_CreateObject();
	c = cJSON_AddArrayToObject(j, "content");
	if (res.error != NULL) {
		res.text = res.error;
		res.error = NULL;
		cJSON_AddTrueToObject(j, "isError");
	} else {
		if (res.data == NULL)
			res.data = cJSON_CreateObject();
		if (res.text == NULL)
			res.text = cJSON_Print(res.data);
		cJSON_AddFalseToObject(j, "isError");
		if (strcmp(mcp_version, "2025-06-18") >= 0) {
			cJSON_AddItemToObject(j, "structuredContent", res.data);
			res.data = NULL;
		}
	}
	cJSON_Delete(res.data);
	res.text = mcp_cap(res.text);
	name = cJSON_CreateObject();
	cJSON_AddStringToObject(name, "type", "text");
	cJSON_AddStringToObject(name, "text", res.text);
	cJSON_AddItemToArray(c, name);
	free(res.text);
	return (j);
}

static void
mcp_dispatch(char *line)
{
	cJSON		*j, *id, *method, *params, *result = NULL;
	const char	*m;

	if ((j = cJSON_Parse(line)) == NULL) {
		mcp_send_error(NULL, -32700, "Parse error: not a JSON object");
		return;
	}
	id = cJSON_GetObjectItem(j, "id");
	method = cJSON_GetObjectItem(j, "method");
	params = cJSON_GetObjectItem(j, "params");
	if (!cJSON_IsObject(j) || !cJSON_IsString(method)) {
		/* A response to us (we send no requests), or junk. */
		if (!cJSON_IsObject(j) || (id != NULL &&
		    cJSON_GetObjectItem(j, "result") == NULL &&
		    cJSON_GetObjectItem(j, "error") == NULL))
			mcp_send_error(id, -32600, "Invalid Request");
		goto out;
	}
	m = method->valuestring;
	if (id == NULL || cJSON_IsNull(id)) {
		log_debug("%s: notification %s", __func__, m);
		goto out;	/* notifications get no answer */
	}
	if (params != NULL && !cJSON_IsObject(params)) {
		mcp_send_error(id, -32602, "params must be an object");
		goto out;
	}
	if (strcmp(m, "initialize") == 0)
		result = mcp_initialize(params);
	else if (strcmp(m, "ping") == 0)
		result = cJSON_CreateObject();
	else if (strcmp(m, "tools/list") == 0)
		result = mcp_tools_list();
	else if (strcmp(m, "tools/call") == 0) {
		if ((result = mcp_tools_call(id, params)) == NULL)
			goto out;
	} else {
		mcp_send_error(id, -32601, "Method not found: %s", m);
		goto out;
	}
	mcp_send_result(id, result);
out:
	cJSON_Delete(j);
}

int
mcp_main(const char *socket, int argc, char **argv)
{
	char	*line = NULL;
	size_t	 size = 0;
	ssize_t	 n;
	int	 i;

	if (argc > 1) {
		fprintf(stderr, "usage: loopsy mcp (MCP over stdio; register "
		    "it with loopsy mcp install AGENT)\n");
		return (2);
	}
	(void)argv;
	signal(SIGPIPE, SIG_IGN);
	if (client_verbose)
		log_open("/dev/stderr", client_verbose);
	mcp_socket = socket;
	for (i = 0; i < MCP_CONNS; i++)
		mcp_conns[i].fd = -1;
	while ((n = getline(&line, &size, stdin)) != -1) {
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (n == 0)
			continue;
		mcp_dispatch(line);
	}
	free(line);
	for (i = 0; i < MCP_CONNS; i++) {
		if (mcp_conns[i].in != NULL)
			mcp_conn_close(&mcp_conns[i]);
	}
	return (0);
}

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
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
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
#define MCP_REPLY_MAX	(32 * 1024 * 1024)	/* stdout+stderr of a command */
#define MCP_LINE_MAX	(8 * 1024 * 1024)	/* one JSON-RPC message in */
#define MCP_GRACE	30	/* seconds past a tool's own timeout */
#define MCP_WAIT	120	/* seconds for a tool without one */

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
static double		 mcp_wait = MCP_WAIT;	/* this call's deadline, s */

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

static double
mcp_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec + ts.tv_nsec / 1e9);
}

/* Wait for fd until deadline (mcp_now() seconds): 1 ready, 0 too late. */
static int
mcp_poll(int fd, short events, double deadline)
{
	struct pollfd	 pfd = { fd, events, 0 };
	double		 left;
	int		 n;

	for (;;) {
		if ((left = deadline - mcp_now()) <= 0)
			return (0);
		n = poll(&pfd, 1, left > INT_MAX / 1000 ? INT_MAX :
		    (int)(left * 1000) + 1);
		if (n > 0)
			return (1);
		if (n == -1 && errno != EINTR)
			return (1);	/* the read or write says what */
	}
}

/* Write b to fd (non-blocking): 0, -1 if it failed, -2 if too late. */
static int
mcp_write_all(int fd, struct evbuffer *b, double deadline)
{
	while (evbuffer_get_length(b) != 0) {
		if (evbuffer_write(b, fd) != -1 || errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return (-1);
		if (!mcp_poll(fd, POLLOUT, deadline))
			return (-2);
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
	int		 i, fd, fl;

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
	/* Non-blocking: every read and write has a deadline. */
	if ((fl = fcntl(fd, F_GETFL)) != -1)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	slot->fd = fd;
	slot->peer = peer != NULL ? xstrdup(peer) : NULL;
	slot->in = evbuffer_new();
	out = evbuffer_new();
	proto_add_hello(out);
	if (mcp_write_all(fd, out, mcp_now() + mcp_wait) != 0) {
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

/* Is this reply's id ours?  A double outside uint32_t is not. */
static int
mcp_reply_ours(const char *data, uint32_t want)
{
	cJSON	*j = cJSON_Parse(data), *id;
	double	 d;
	int	 rc = 0;

	id = cJSON_GetObjectItem(j, "id");
	if (cJSON_IsNumber(id)) {
		d = id->valuedouble;
		rc = d >= 0 && d <= UINT32_MAX && d == floor(d) &&
		    (uint32_t)d == want;
	}
	cJSON_Delete(j);
	return (rc);
}

static const char *
mcp_conn_name(struct mcp_conn *c, char *buf, size_t len)
{
	if (c->peer == NULL)
		return ("the local server");
	snprintf(buf, len, "peer \"%s\"", c->peer);
	return (buf);
}

/*
 * Send one command and read up to its reply, within mcp_wait seconds and
 * MCP_REPLY_MAX bytes of output.  0: *heard says whether any frame came
 * back before a failure.  -1 with *cause set if the connection failed (the
 * caller closes it).
 */
static int
mcp_exchange(struct mcp_conn *c, int argc, char **argv, struct mcp_reply *r,
    int *heard, char **cause)
{
	struct evbuffer	*out = evbuffer_new();
	cJSON		*j;
	char		*data, *why = NULL, cwd[PATH_MAX], name[256];
	uint8_t		 type;
	size_t		 len;
	double		 deadline = mcp_now() + mcp_wait;
	int		 rc, n;

	*heard = 0;
	j = proto_command_new(++c->id, argc, argv);
	if (getcwd(cwd, sizeof cwd) != NULL)
		cJSON_AddStringToObject(j, "cwd", cwd);
	proto_add_cjson(out, MSG_COMMAND, j);
	rc = mcp_write_all(c->fd, out, deadline);
	evbuffer_free(out);
	if (rc == -2) {
		*heard = 1;	/* part of it may have gone */
		goto late;
	}
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
			if (n == -1 && (errno == EAGAIN ||
			    errno == EWOULDBLOCK)) {
				if (!mcp_poll(c->fd, POLLIN, deadline))
					goto late;
				continue;
			}
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
		} else if (type == MSG_REPLY && mcp_reply_ours(data, c->id)) {
			mcp_reply_parse(r, data);
			free(data);
			return (0);
		}
		free(data);
		if (r->out.len + r->err.len > MCP_REPLY_MAX) {
			xasprintf(cause, "%s sent more than %d MiB of output for "
			    "one command, so loopsy closed the link: ask for "
			    "less (a narrower command, or its output to a file "
			    "read a part at a time)", mcp_conn_name(c, name,
			    sizeof name), MCP_REPLY_MAX / (1024 * 1024));
			return (-1);
		}
	}
late:
	xasprintf(cause, "%s did not answer within %.0f s, so loopsy closed "
	    "the link (the command may still be running there)",
	    mcp_conn_name(c, name, sizeof name), mcp_wait);
	return (-1);
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

/* The length of the valid UTF-8 sequence at s (of n bytes), or 0. */
static size_t
mcp_utf8_len(const u_char *s, size_t n)
{
	size_t	 want, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return (1);
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		want = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		want = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		want = 4, cp = s[0] & 0x07;
	else
		return (0);
	if (n < want)
		return (0);
	for (i = 1; i < want; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return (0);
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((want == 3 && cp < 0x800) || (want == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return (0);	/* overlong, a surrogate, or too large */
	return (want);
}

/* s if it is valid UTF-8, else a copy with U+FFFD for each bad byte. */
char *
mcp_utf8(const char *s, size_t len)
{
	struct buf	 b;
	size_t		 i, n;

	buf_init(&b);
	for (i = 0; i < len; i += n) {
		if ((n = mcp_utf8_len((const u_char *)s + i, len - i)) == 0 ||
		    s[i] == '\0') {
			buf_add(&b, "\xef\xbf\xbd", 3);
			n = 1;
		} else
			buf_add(&b, s + i, n);
	}
	buf_add(&b, "", 1);
	return (b.data);
}

/*
 * Parse a command's JSON output.  cJSON would end a string at \u0000 (the
 * rest of it lost), so that escape becomes U+FFFD first.
 */
cJSON *
mcp_json_parse(const char *text)
{
	char	*copy, *p;
	int	 instr = 0;
	cJSON	*j;

	if (text == NULL || strstr(text, "\\u0000") == NULL)
		return (cJSON_Parse(text != NULL ? text : ""));
	copy = xstrdup(text);
	for (p = copy; *p != '\0'; p++) {
		if (*p == '"')
			instr = !instr;
		else if (instr && *p == '\\' && p[1] != '\0') {
			if (strncmp(p, "\\u0000", 6) == 0)
				memcpy(p + 2, "FFFD", 4);
			p++;
		}
	}
	j = cJSON_Parse(copy);
	free(copy);
	return (j);
}

static int
mcp_utf8_valid(const char *s)
{
	size_t	 len = strlen(s), i, n;

	for (i = 0; i < len; i += n) {
		if ((n = mcp_utf8_len((const u_char *)s + i, len - i)) == 0)
			return (0);
	}
	return (1);
}

/* Every string and name in j made valid UTF-8 for the client. */
static void
mcp_utf8_tree(cJSON *j)
{
	cJSON	*e;
	char	*s;

	for (; j != NULL; j = j->next) {
		if (j->string != NULL && !mcp_utf8_valid(j->string)) {
			s = mcp_utf8(j->string, strlen(j->string));
			if (!(j->type & cJSON_StringIsConst))
				free(j->string);
			j->string = s;
			j->type &= ~cJSON_StringIsConst;
		}
		if (cJSON_IsString(j) && j->valuestring != NULL &&
		    !mcp_utf8_valid(j->valuestring)) {
			s = mcp_utf8(j->valuestring, strlen(j->valuestring));
			free(j->valuestring);
			j->valuestring = s;
		}
		if ((e = j->child) != NULL)
			mcp_utf8_tree(e);
	}
}

static void
mcp_send(cJSON *j)
{
	char	*s;

	mcp_utf8_tree(j);
	s = cJSON_PrintUnformatted(j);

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

/* Where to cut text of len bytes to at most max, not inside a character. */
static size_t
mcp_cut(const char *text, size_t max)
{
	size_t	 n = max;

	while (n > 0 && (text[n] & 0xc0) == 0x80)
		n--;
	return (n);
}

/*
 * Cut every string in the structured result at MCP_TEXT_MAX too, and say so
 * in the object holding it: its "truncated" object's entry for that name if
 * it has one (exec's), else truncated: true.
 */
static void
mcp_cap_data(cJSON *j, cJSON *parent, const char *name)
{
	cJSON	*e, *t;
	char	*s;
	size_t	 len;

	if (cJSON_IsString(j) && j->valuestring != NULL &&
	    (len = strlen(j->valuestring)) > MCP_TEXT_MAX) {
		s = j->valuestring;
		s[mcp_cut(s, MCP_TEXT_MAX)] = '\0';
		j->valuestring = xstrdup(s);
		free(s);
		if (parent == NULL)
			return;
		t = cJSON_GetObjectItemCaseSensitive(parent, "truncated");
		if (cJSON_IsObject(t) && name != NULL) {
			cJSON_DeleteItemFromObjectCaseSensitive(t, name);
			cJSON_AddTrueToObject(t, name);
		} else if (!cJSON_IsObject(t)) {
			cJSON_DeleteItemFromObjectCaseSensitive(parent,
			    "truncated");
			cJSON_AddTrueToObject(parent, "truncated");
		}
		return;
	}
	cJSON_ArrayForEach(e, j) {
		if (cJSON_IsObject(j))
			mcp_cap_data(e, j, e->string);
		else
			mcp_cap_data(e, parent, name);
	}
}

/* Cut text at MCP_TEXT_MAX, keeping the start, with a note. */
static char *
mcp_cap(char *text)
{
	char	*s;
	size_t	 len = strlen(text), n;

	if (len <= MCP_TEXT_MAX)
		return (text);
	n = mcp_cut(text, MCP_TEXT_MAX);
	xasprintf(&s, "%.*s\n[output truncated: %zu of %zu bytes shown; ask "
	    "for less: a line range with loopsy_session_capture start/end, a "
	    "prefix with loopsy_context_list, or a narrower command]",
	    (int)n, text, n, len);
	free(text);
	return (s);
}

/*
 * How long one command of this call may take to answer: the tool's own
 * timeout and some, else MCP_WAIT.  LOOPSY_MCP_GRACE (seconds) stands in
 * for MCP_GRACE, and a quarter of MCP_WAIT, in tests.
 */
static double
mcp_deadline(cJSON *args)
{
	cJSON		*t = cJSON_GetObjectItem(args, "timeout");
	const char	*env = getenv("LOOPSY_MCP_GRACE");
	double		 grace = MCP_GRACE, wait = MCP_WAIT;

	if (env != NULL && strtod(env, NULL) > 0) {
		grace = strtod(env, NULL);
		wait = grace * MCP_WAIT / MCP_GRACE;
	}
	if (cJSON_IsNumber(t) && isfinite(t->valuedouble) &&
	    t->valuedouble >= 0 && t->valuedouble < 1e9)
		return (t->valuedouble + grace);
	return (wait);
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
		mcp_wait = mcp_deadline(args);
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
		mcp_cap_data(res.data, NULL, NULL);
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

/*
 * One line of stdin: its length, -1 at the end, or -2 for a line longer
 * than MCP_LINE_MAX, which is read to its end and dropped.
 */
static ssize_t
mcp_getline(char **line, size_t *size)
{
	size_t	 n = 0;
	int	 ch, over = 0;

	while ((ch = getc(stdin)) != EOF) {
		if (!over && n + 2 > *size) {
			*size = *size == 0 ? 4096 : *size * 2;
			*line = xreallocarray(*line, *size, 1);
		}
		if (!over)
			(*line)[n++] = ch;
		if (ch == '\n')
			break;
		if (n > MCP_LINE_MAX)
			over = 1;
	}
	if (over)
		return (-2);
	if (n == 0 && ch == EOF)
		return (-1);
	(*line)[n] = '\0';
	return (n);
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
	while ((n = mcp_getline(&line, &size)) != -1) {
		if (n == -2) {
			mcp_send_error(NULL, -32700, "Parse error: a message "
			    "longer than %d MiB was skipped",
			    MCP_LINE_MAX / (1024 * 1024));
			continue;
		}
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

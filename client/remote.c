/*
 * client/remote.c: "host:" targets.  The client reaches a paired peer
 * directly: TCP, TLS with the peer's certificate checked against the pinned
 * fingerprint before anything else is sent, the WebSocket upgrade with the
 * key in Sec-WebSocket-Protocol, then a small process of its own that joins
 * the WebSocket to one end of a socketpair (common/ws.c).  The caller gets
 * the other end and speaks the protocol over it exactly as over the Unix
 * socket, so every command, cp and attach work unchanged.
 *
 * The connection is set up here, in the caller's process, so that every
 * failure (unknown peer, refused, changed certificate, wrong key) is a clear
 * message on its stderr rather than a dead link.  "msg ack" of a peer's
 * message is the one command that needs both ends: the ack goes to the peer,
 * then the inbox entry here goes.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <http_parser.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "common/crypto.h"
#include "common/proto.h"
#include "common/ws.h"
#include "server/server.h"
#include "client/client.h"

int	 client_remote;
char	*remote_host;
char	*remote_session;
u_int	 remote_session_id;
char	*remote_token;

#define REMOTE_HEAD_MAX		(16 * 1024)
#define REMOTE_SEEN_EVERY_MS	(60 * 1000)
#define REMOTE_REPLY_S		30	/* for a command of msg ack */

/* The upgrade's answer, as http-parser reads it. */
struct remote_reply {
	int		 done;
	char		*field;
	char		*value;
	char		*accept;
	char		*protocol;
	struct buf	 body;
};

static void
remote_append(char **s, const char *at, size_t len)
{
	size_t	 have = *s != NULL ? strlen(*s) : 0;

	*s = xreallocarray(*s, have + len + 1, 1);
	memcpy(*s + have, at, len);
	(*s)[have + len] = '\0';
}

static void
remote_header_done(struct remote_reply *r)
{
	if (r->field != NULL && r->value != NULL) {
		if (strcasecmp(r->field, "Sec-WebSocket-Accept") == 0) {
			free(r->accept);
			r->accept = r->value;
			r->value = NULL;
		} else if (strcasecmp(r->field, "Sec-WebSocket-Protocol") == 0) {
			free(r->protocol);
			r->protocol = r->value;
			r->value = NULL;
		}
	}
	free(r->field);
	free(r->value);
	r->field = r->value = NULL;
}

static int
remote_on_field(http_parser *p, const char *at, size_t len)
{
	struct remote_reply	*r = p->data;

	if (r->value != NULL)
		remote_header_done(r);
	remote_append(&r->field, at, len);
	return (0);
}

static int
remote_on_value(http_parser *p, const char *at, size_t len)
{
	remote_append(&((struct remote_reply *)p->data)->value, at, len);
	return (0);
}

static int
remote_on_headers(http_parser *p)
{
	struct remote_reply	*r = p->data;

	remote_header_done(r);
	if (p->status_code == 101) {
		r->done = 1;
		return (2);	/* no body: stop here */
	}
	return (0);
}

static int
remote_on_body(http_parser *p, const char *at, size_t len)
{
	struct remote_reply	*r = p->data;

	if (r->body.len < 4096)
		buf_add(&r->body, at, len);
	return (0);
}

static int
remote_on_complete(http_parser *p)
{
	((struct remote_reply *)p->data)->done = 1;
	http_parser_pause(p, 1);
	return (0);
}

static const http_parser_settings remote_settings = {
	.on_header_field = remote_on_field,
	.on_header_value = remote_on_value,
	.on_headers_complete = remote_on_headers,
	.on_body = remote_on_body,
	.on_message_complete = remote_on_complete
};

/* The error message of an answer that was not 101, for the user. */
static char *
remote_refusal(struct peer *p, int status, struct buf *body)
{
	cJSON	*j, *e, *m;
	char	*s, *text = NULL;

	buf_add(body, "", 1);
	if ((j = cJSON_Parse(body->data)) != NULL &&
	    (e = cJSON_GetObjectItem(j, "error")) != NULL &&
	    cJSON_IsString(m = cJSON_GetObjectItem(e, "message")))
		text = xstrdup(m->valuestring);
	cJSON_Delete(j);
	if (status == 401)
		xasprintf(&s, "peer %s refused our key (401): the key stored "
		    "for it is wrong or was rotated; pair again with loopsy "
		    "pair %s, or loopsy peers add %s %s --key -", p->name,
		    p->host, p->name, p->host);
	else if (status == 429)
		xasprintf(&s, "peer %s refused us for now (429): %s", p->name,
		    text != NULL ? text : "too many requests");
	else
		xasprintf(&s, "peer %s answered %d%s%s", p->name, status,
		    text != NULL ? ": " : "", text != NULL ? text : "");
	free(text);
	return (s);
}

/* Note when a peer last answered, at most once a minute. */
static void
remote_seen(const char *name)
{
	struct peers	 ps;
	struct peer	*p;
	char		*cause = NULL;
	int		 lock;
	uint64_t	 now = (uint64_t)time(NULL) * 1000;

	if ((lock = peers_lock(&cause)) == -1) {
		free(cause);
		return;
	}
	if (peers_load(&ps, &cause) == 0 &&
	    (p = peers_find(&ps, name)) != NULL &&
	    now - p->seen_ms > REMOTE_SEEN_EVERY_MS) {
		p->seen_ms = now;
		if (peers_save(&ps, &cause) != 0) {
			free(cause);
			cause = NULL;
		}
	}
	free(cause);
	peers_clear(&ps);
	close(lock);
}

/* The link process: WebSocket <-> socketpair until either ends. */
static void
remote_link_done(void *arg, const char *why)
{
	struct event_base	*base = arg;

	if (client_verbose)
		fprintf(stderr, "link: %s\n", why);
	event_base_loopbreak(base);
}

static __dead void
remote_link(SSL *ssl, int fd, int pair, const char *extra, size_t nextra)
{
	struct event_base	*base;
	struct bufferevent	*bev;
	struct ws		*ws;
	int			 i;

	for (i = 0; i < 3; i++) {
		if (i != 2 || !client_verbose) {
			/* Keep stderr only to say why, with -v. */
			int nfd = open("/dev/null", O_RDWR);
			if (nfd != -1 && nfd != i) {
				dup2(nfd, i);
				close(nfd);
			}
		}
	}
	/* Nothing of the client's: its descriptors, its signal handlers. */
	for (i = 3; i < 1024; i++) {
		if (i != fd && i != pair)
			close(i);
	}
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGWINCH, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	signal(SIGINT, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	set_nonblock(fd);
	set_nonblock(pair);
	base = event_base_new();
	bev = bufferevent_openssl_socket_new(base, fd, ssl,
	    BUFFEREVENT_SSL_OPEN, BEV_OPT_CLOSE_ON_FREE);
	if (nextra != 0)
		evbuffer_add(bufferevent_get_input(bev), extra, nextra);
	ws = ws_new(bev, 0, PROTO_MAX_FRAME, NULL, NULL);
	ws_bridge(ws, pair, remote_link_done, base);
	event_base_dispatch(base);
	_exit(0);
}

/*
 * Open a link to a peer by name: returns a stream socket of frames, or -1
 * with *cause set.
 */
int
remote_connect(const char *name, char **cause)
{
	struct peers		 ps;
	struct peer		*p;
	struct remote_reply	 r;
	http_parser		 hp;
	SSL_CTX			*ctx = NULL;
	SSL			*ssl = NULL;
	char			*fp = NULL, *wskey = NULL, *want = NULL, *req;
	char			 buf[4096], *why = NULL;
	struct buf		 extra;
	size_t			 n, have = 0;
	int			 fd = -1, rv, pair[2] = { -1, -1 }, status;
	pid_t			 pid;

	memset(&r, 0, sizeof r);
	buf_init(&r.body);
	buf_init(&extra);
	if (peers_load(&ps, &why) != 0) {
		xasprintf(cause, "%s", why);
		free(why);
		return (-1);
	}
	if ((p = peers_find(&ps, name)) == NULL) {
		xasprintf(cause, "unknown peer: %s (loopsy peers list shows "
		    "them; add one with loopsy pair HOST or loopsy peers add "
		    "%s HOST)", name, name);
		goto fail;
	}
	if (p->key == NULL) {
		xasprintf(cause, "peer %s has no key to present: pair with "
		    "loopsy pair %s, or loopsy peers add %s %s --key -",
		    name, p->host, name, p->host);
		goto fail;
	}
	if (tls_dial(p->host, p->port, &ctx, &ssl, &fd, cause) != 0)
		goto fail;
	/* The pin, before a byte of ours (the key) goes out. */
	fp = tls_peer_fingerprint(ssl);
	if (fp == NULL || p->fingerprint == NULL ||
	    strcasecmp(fp, p->fingerprint) != 0) {
		if (p->fingerprint == NULL)
			xasprintf(cause, "peer %s has no pinned certificate "
			    "fingerprint: add it again with loopsy peers add "
			    "%s %s (or pair with loopsy pair %s)", name, name,
			    p->host, p->host);
		else
			xasprintf(cause, "peer %s's certificate has changed "
			    "(pinned %s, now %s); refusing to connect.  If it "
			    "was regenerated on purpose, pair again (loopsy "
			    "pair %s) or pin the new one with loopsy peers "
			    "add %s %s --fingerprint NEW", name,
			    p->fingerprint, fp != NULL ? fp : "none",
			    p->host, name, p->host);
		goto fail;
	}
	wskey = ws_new_key();
	xasprintf(&req, "GET %s HTTP/1.1\r\nHost: %s:%u\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
	    "Sec-WebSocket-Protocol: %s, %s%s\r\n\r\n", WS_PATH, p->host,
	    p->port, wskey, WS_PROTOCOL, WS_KEY_PREFIX, p->key);
	n = strlen(req);
	while ((rv = SSL_write(ssl, req, n)) <= 0) {
		if (tls_wait(ssl, fd, rv) != 0) {
			crypto_cleanse(req, n);
			free(req);
			tls_cause_ssl(cause, "sending to", p->host);
			goto fail;
		}
	}
	crypto_cleanse(req, n);
	free(req);

	http_parser_init(&hp, HTTP_RESPONSE);
	hp.data = &r;
	while (!r.done) {
		rv = SSL_read(ssl, buf, sizeof buf);
		if (rv <= 0) {
			if (tls_wait(ssl, fd, rv) == 0)
				continue;
			tls_cause_ssl(cause, "reading the answer", p->host);
			goto fail;
		}
		n = http_parser_execute(&hp, &remote_settings, buf, rv);
		if (!r.done && (HTTP_PARSER_ERRNO(&hp) != HPE_OK ||
		    (have += rv) > REMOTE_HEAD_MAX)) {
			xasprintf(cause, "peer %s at %s port %u does not speak "
			    "loopsy's protocol (bad HTTP answer)", name,
			    p->host, p->port);
			goto fail;
		}
	}
	if (hp.status_code != 101) {
		*cause = remote_refusal(p, hp.status_code, &r.body);
		goto fail;
	}
	/* What came after the head, and what OpenSSL holds decrypted. */
	buf_add(&extra, buf + n, rv - n);
	while (SSL_pending(ssl) > 0 &&
	    (rv = SSL_read(ssl, buf, sizeof buf)) > 0)
		buf_add(&extra, buf, rv);
	want = ws_accept_key(wskey);
	if (r.accept == NULL || strcmp(r.accept, want) != 0 ||
	    r.protocol == NULL || strcmp(r.protocol, WS_PROTOCOL) != 0) {
		xasprintf(cause, "peer %s answered the upgrade wrongly", name);
		goto fail;
	}

	if (socketpair(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC, 0, pair) != 0) {
		xasprintf(cause, "socketpair: %s", strerror(errno));
		goto fail;
	}
	fflush(stdout);
	fflush(stderr);
	switch (pid = fork()) {
	case -1:
		xasprintf(cause, "fork: %s", strerror(errno));
		goto fail;
	case 0:
		/* Fork again so the link is nobody's child to wait for. */
		close(pair[0]);
		if (fork() != 0)
			_exit(0);
		setsid();
		remote_link(ssl, fd, pair[1], extra.data, extra.len);
	}
	waitpid(pid, &status, 0);
	buf_free(&extra);
	close(pair[1]);
	SSL_free(ssl);		/* the link's now; no close_notify from us */
	SSL_CTX_free(ctx);
	close(fd);
	remote_seen(name);
	free(fp);
	free(wskey);
	free(want);
	free(r.accept);
	free(r.protocol);
	buf_free(&r.body);
	peers_clear(&ps);
	return (pair[0]);

fail:
	if (ssl != NULL)
		SSL_free(ssl);
	if (ctx != NULL)
		SSL_CTX_free(ctx);
	if (fd != -1)
		close(fd);
	if (pair[0] != -1) {
		close(pair[0]);
		close(pair[1]);
	}
	free(fp);
	free(wskey);
	free(want);
	free(r.accept);
	free(r.protocol);
	free(r.field);
	free(r.value);
	buf_free(&r.body);
	buf_free(&extra);
	peers_clear(&ps);
	return (-1);
}

/* Does this name a peer rather than this machine?  "self", "localhost" and
 * this machine's own hostname are local. */
static int
remote_is_peer(const char *host, size_t len)
{
	char	 name[256];

	if (len == 0 || len >= sizeof name)
		return (0);
	memcpy(name, host, len);
	name[len] = '\0';
	return (!msg_is_self(name));
}

/* Remove argv[i] (and argv[i + 1] too if two). */
static void
remote_drop(int *argc, char **argv, int i, int two)
{
	int	 n = two ? 2 : 1;

	memmove(argv + i, argv + i + n, (*argc - i - n + 1) * sizeof *argv);
	*argc -= n;
}

/*
 * If a command names a peer ("-t host:session", "-t host" for exec and
 * context, "msg send host", "ls-files host:path"), take the host out of
 * argv, which is rewritten for the peer to run as its own, and return it
 * (malloc'd).  NULL if the command is for this machine.
 */
char *
remote_route(const struct cmd_def *def, int *argc, char ***argvp)
{
	char		**argv;
	const char	*name = def->name, *v, *colon;
	char		*host = NULL, *p, *cause = NULL;
	const struct cmd_def *d;
	int		 words, i, hostonly, two, at = -1, off = 0;
	size_t		 len;

	/* A copy with room for two more. */
	argv = xcalloc(*argc + 3, sizeof *argv);
	memcpy(argv, *argvp, *argc * sizeof *argv);
	*argvp = argv;
	if ((words = cmd_lookup(*argc, argv, &d, &cause)) == 0) {
		free(cause);
		return (NULL);
	}
	hostonly = strcmp(name, "exec") == 0 ||
	    strncmp(name, "context-", 8) == 0;
	if (strcmp(name, "msg-send") == 0) {
		/* The host is the first argument that is not an option. */
		for (i = words; i < *argc; i++) {
			if (strcmp(argv[i], "--") == 0) {
				if (++i == *argc)
					return (NULL);
			} else if (strcmp(argv[i], "--type") == 0) {
				i++;
				continue;
			} else if (argv[i][0] == '-')
				continue;
			if (!remote_is_peer(argv[i], strlen(argv[i])))
				return (NULL);
			host = xstrdup(argv[i]);
			argv[i] = xstrdup("self");
			/*
			 * Who sends: an unpaired peer cannot tell.  Before the
			 * arguments, where a "--" among them cannot end it.
			 */
			memmove(argv + words + 2, argv + words,
			    (*argc - words + 1) * sizeof *argv);
			argv[words] = xstrdup("--from");
			argv[words + 1] = xstrdup(msg_hostname());
			*argc += 2;
			return (host);
		}
		return (NULL);
	}
	if (strcmp(name, "ls-files") == 0) {
		for (i = words; i < *argc; i++) {
			if (argv[i][0] == '-')
				continue;
			colon = strchr(argv[i], ':');
			if (colon == NULL || colon == argv[i] ||
			    memchr(argv[i], '/', colon - argv[i]) != NULL ||
			    !remote_is_peer(argv[i], colon - argv[i]))
				return (NULL);
			host = xstrndup(argv[i], colon - argv[i]);
			argv[i] = xstrdup(*(colon + 1) != '\0' ? colon + 1 :
			    "~");
			return (host);
		}
		return (NULL);
	}
	if (def->flags == NULL || strstr(def->flags, "t:") == NULL)
		return (NULL);

	/* Find -t's value as getopt would. */
	for (i = words; i < *argc && at == -1; i++) {
		v = argv[i];
		if (v[0] != '-' || v[1] == '\0' || strcmp(v, "--") == 0)
			break;
		if (v[1] == '-') {
			if (strchr(v, '=') == NULL && def->longs != NULL) {
				len = strlen(v + 2);
				p = strstr(def->longs, v + 2);
				if (p != NULL && p[len] == ':')
					i++;
			}
			continue;
		}
		for (off = 1; v[off] != '\0'; off++) {
			p = strchr(def->flags, v[off]);
			if (p == NULL || p[1] != ':')
				continue;
			if (v[off] == 't')
				at = i;
			else if (v[off + 1] == '\0')
				i++;
			break;
		}
	}
	if (at == -1)
		return (NULL);
	two = argv[at][off + 1] == '\0';
	if (two && at + 1 >= *argc)
		return (NULL);
	v = two ? argv[at + 1] : argv[at] + off + 1;
	colon = strchr(v, ':');
	if (hostonly)
		len = colon != NULL ? (size_t)(colon - v) : strlen(v);
	else if (colon == NULL || colon == v)
		return (NULL);
	else
		len = colon - v;
	if (!remote_is_peer(v, len))
		return (NULL);
	host = xstrndup(v, len);
	v += len + (v[len] == ':');
	if (*v != '\0' && !hostonly) {
		/* -t host:name becomes -t name. */
		if (two)
			argv[at + 1] = xstrdup(v);
		else
			xasprintf(&argv[at], "%.*s%s", off + 1, argv[at], v);
	} else if (off == 1)
		remote_drop(argc, argv, at, two);	/* "-t" or "-tVALUE" */
	else if (two) {
		argv[at] = xstrndup(argv[at], off);	/* "-dt host:" */
		remote_drop(argc, argv, at + 1, 0);
	} else
		argv[at] = xstrndup(argv[at], off);	/* "-dthost:" */
	return (host);
}

/*
 * Run one command over fd (hello sent) and wait up to REMOTE_REPLY_S seconds
 * for its reply: its exit status, with standard output added to *out and
 * the error message, if any, in *cause; -1 and *cause if no reply came.
 */
static int
remote_exchange(int fd, int argc, char **argv, struct buf *out, char **cause)
{
	struct evbuffer	*b = evbuffer_new();
	struct pollfd	 pfd = { fd, POLLIN, 0 };
	time_t		 deadline = time(NULL) + REMOTE_REPLY_S, left;
	cJSON		*j, *e, *m;
	char		*data, *why = NULL;
	uint8_t		 type;
	size_t		 len;
	int		 rc, status = -1;

	proto_add_cjson(b, MSG_COMMAND, proto_command_new(1, argc, argv));
	while (evbuffer_get_length(b) != 0) {
		if (evbuffer_write(b, fd) == -1 && errno != EINTR) {
			xasprintf(cause, "lost the connection (%s)",
			    strerror(errno));
			goto out;
		}
	}
	while (status == -1) {
		if ((rc = proto_take(b, &type, &data, &len, &why)) == -1) {
			xasprintf(cause, "bad frame: %s", why);
			free(why);
			goto out;
		}
		if (rc == 0) {
			left = deadline - time(NULL);
			if (left <= 0 || poll(&pfd, 1, left * 1000) == 0) {
				xasprintf(cause, "no answer within %d s",
				    REMOTE_REPLY_S);
				goto out;
			}
			rc = evbuffer_read(b, fd, 65536);
			if (rc <= 0 && !(rc == -1 && errno == EINTR)) {
				xasprintf(cause, "lost the connection");
				goto out;
			}
			continue;
		}
		if (type == MSG_STDOUT)
			buf_add(out, data, len);
		else if (type == MSG_HELLO && strstr(data, "\"error\"") != NULL)
			xasprintf(cause, "refused: %s", data);
		else if (type == MSG_REPLY) {
			j = cJSON_Parse(data);
			e = cJSON_GetObjectItem(j, "exit");
			status = cJSON_IsNumber(e) ? e->valueint : 1;
			e = cJSON_GetObjectItem(j, "error");
			m = cJSON_GetObjectItem(e, "message");
			if (cJSON_IsString(m) && *m->valuestring != '\0')
				*cause = xstrdup(m->valuestring);
			cJSON_Delete(j);
		}
		free(data);
		if (*cause != NULL && status == -1)
			goto out;
	}
out:
	buf_add(out, "", 1);
	out->len--;
	evbuffer_free(b);
	return (status);
}

/* Connect to peer (NULL: the local server) and say hello; -1 and *cause. */
static int
remote_open(const char *path, const struct cmd_def *def, const char *peer,
    char **cause)
{
	struct evbuffer	*b;
	int		 fd;

	if (peer != NULL)
		fd = remote_connect(peer, cause);
	else if ((fd = client_open(path, def)) == -1)
		*cause = xstrdup("");	/* client_open said why */
	if (fd == -1)
		return (-1);
	b = evbuffer_new();
	proto_add_hello(b);
	while (evbuffer_get_length(b) != 0) {
		if (evbuffer_write(b, fd) == -1 && errno != EINTR) {
			xasprintf(cause, "lost the connection (%s)",
			    strerror(errno));
			close(fd);
			fd = -1;
			break;
		}
	}
	evbuffer_free(b);
	return (fd);
}

/* The "from" of message id in this machine's inbox, or NULL. */
static char *
remote_msg_from(int fd, const char *id)
{
	struct buf	 out;
	cJSON		*j, *env;
	char		*key, *cause = NULL, *from = NULL;
	char		*av[] = { "context-get", "--json", "--", NULL };
	const char	*v;

	buf_init(&out);
	xasprintf(&key, "inbox:%s:%s", msg_hostname(), id);
	av[3] = key;
	if (remote_exchange(fd, nitems(av), av, &out, &cause) == 0) {
		j = cJSON_Parse(out.data);
		v = cJSON_GetStringValue(cJSON_GetObjectItem(j, "value"));
		env = cJSON_Parse(v != NULL ? v : "");
		v = cJSON_GetStringValue(cJSON_GetObjectItem(env, "from"));
		if (v != NULL)
			from = xstrdup(v);
		cJSON_Delete(env);
		cJSON_Delete(j);
	}
	free(cause);
	free(key);
	buf_free(&out);
	return (from);
}

/*
 * "msg send PEER TEXT" (SPEC.md 3): the peer keeps the message in its inbox
 * and the sender keeps outbox:<id> with the envelope, so the client sends
 * it there, then records it here.  Returns the exit status, or -1 if the
 * command is not that (the local server runs it, or remote_route sends it
 * on as it is).
 */
int
remote_msg_send(const char *path, const struct cmd_def *def, int argc,
    char **argv)
{
	const struct cmd_def	*d;
	struct args		*args = NULL;
	struct buf		 out;
	cJSON			*env;
	char			*cause = NULL, *id = NULL, *key = NULL, *s = NULL;
	char			*av[6], *type;
	const char		*host, *body, *me = msg_hostname();
	int			 words, fd = -1, rv = -1;

	buf_init(&out);
	memset(av, 0, sizeof av);
	if (strcmp(def->name, "msg-send") != 0 ||
	    (words = cmd_lookup(argc, argv, &d, &cause)) == 0)
		goto out;
	args = args_parse(def->flags, def->longs, argc - words, argv + words,
	    &cause);
	if (args == NULL || msg_args_finish(def, args, 2, &cause) != 0 ||
	    args->argc != 2 || args_get_long(args, "from") != NULL)
		goto out;
	host = args->argv[0];
	body = args->argv[1];
	if (msg_is_self(host) || !remote_is_peer(host, strlen(host)))
		goto out;
	type = (char *)args_get_long(args, "type");

	rv = 1;
	if ((fd = remote_open(path, def, host, &cause)) == -1) {
		fprintf(stderr, "%s\n", cause);
		goto out;
	}
	av[0] = "msg-send";
	xasprintf(&av[1], "--type=%s", type != NULL ? type : "chat");
	xasprintf(&av[2], "--from=%s", me);
	av[3] = "--";
	av[4] = "self";
	av[5] = (char *)body;
	if (remote_exchange(fd, nitems(av), av, &out, &cause) != 0) {
		fprintf(stderr, "%s\n", cause != NULL ? cause :
		    "the peer did not take the message");
		goto out;
	}
	close(fd);
	fd = -1;
	id = xstrndup(out.data, strcspn(out.data, "\n"));
	printf("%s\n", id);
	fflush(stdout);
	rv = 0;

	/* Our copy, as the peer's envelope but for "to": its name here. */
	env = cJSON_CreateObject();
	cJSON_AddStringToObject(env, "from", me);
	cJSON_AddStringToObject(env, "to", host);
	cJSON_AddNumberToObject(env, "ts", strtod(id, NULL));
	cJSON_AddStringToObject(env, "id", id);
	cJSON_AddStringToObject(env, "type", type != NULL ? type : "chat");
	cJSON_AddStringToObject(env, "body", body);
	s = cJSON_PrintUnformatted(env);
	cJSON_Delete(env);
	xasprintf(&key, "outbox:%s", id);
	free(av[1]);
	free(av[2]);
	av[0] = "context-set";
	xasprintf(&av[1], "--ttl=%d", MSG_TTL);
	av[2] = xstrdup("--");
	av[3] = key;
	av[4] = s;
	free(cause);
	cause = NULL;
	if ((fd = remote_open(path, def, NULL, &cause)) == -1 ||
	    remote_exchange(fd, 5, av, &out, &cause) != 0)
		fprintf(stderr, "sent %s to %s, but keeping outbox:%s here "
		    "failed: %s\n", id, host, id, cause != NULL && *cause !=
		    '\0' ? cause : "no reason given");
out:
	if (fd != -1)
		close(fd);
	if (av[0] != NULL) {
		free(av[1]);
		free(av[2]);
	}
	buf_free(&out);
	args_free(args);
	free(key);
	free(s);
	free(id);
	free(cause);
	return (rv);
}

/*
 * "msg ack ID" for a message from a peer (SPEC.md 3): the acknowledgement is
 * kept by the sender, so the client reads the envelope here, has the peer
 * record it ("msg-ack --record", which names us as the peer knows us) and
 * then removes the inbox entry here.  Only a peer in peers.json is
 * contacted: the sender writes "from" itself.  Returns the exit status, or
 * -1 if the local server should run the command as it is (a message from
 * this machine, no such message, a usage error: it says which).
 */
int
remote_msg_ack(const char *path, const struct cmd_def *def, int argc,
    char **argv)
{
	const struct cmd_def	*d;
	struct args		*args = NULL;
	struct peers		 ps;
	struct buf		 out;
	char			*cause = NULL, *from = NULL, *key = NULL;
	char			*av[5];
	const char		*id, *me = msg_hostname();
	int			 words, fd = -1, pfd = -1, rv = -1;

	memset(&ps, 0, sizeof ps);
	buf_init(&out);
	if (strcmp(def->name, "msg-ack") != 0 ||
	    (words = cmd_lookup(argc, argv, &d, &cause)) == 0)
		goto out;
	args = args_parse(def->flags, def->longs, argc - words, argv + words,
	    &cause);
	if (args == NULL || args->argc < 1 ||
	    msg_args_finish(def, args, 1, &cause) != 0 || args->nentries != 0)
		goto out;
	id = args->argv[0];
	if ((fd = remote_open(path, def, NULL, &cause)) == -1) {
		if (*cause != '\0')
			fprintf(stderr, "%s\n", cause);
		rv = 1;
		goto out;
	}
	if ((from = remote_msg_from(fd, id)) == NULL || msg_is_self(from))
		goto out;

	rv = 1;
	free(cause);
	cause = NULL;
	if (peers_load(&ps, &cause) != 0) {
		fprintf(stderr, "cannot acknowledge %s to %s: %s\n", id, from,
		    cause);
		goto out;
	}
	if (peers_find(&ps, from) == NULL) {
		fprintf(stderr, "cannot acknowledge %s: it is from %s, which "
		    "is not a peer here (loopsy peers list shows the peers; "
		    "loopsy peers add %s HOST adds it), so it stays in the "
		    "inbox\n", id, from, from);
		goto out;
	}
	if ((pfd = remote_open(path, def, from, &cause)) == -1) {
		fprintf(stderr, "cannot acknowledge %s to peer %s, so it "
		    "stays in the inbox: %s%s\n", id, from, cause,
		    strncmp(cause, "cannot ", 7) == 0 ? " (loopsy peers list "
		    "shows whether it is online)" : "");
		goto out;
	}
	av[0] = "msg-ack";
	av[1] = "--record";
	xasprintf(&av[2], "--from=%s", me);
	av[3] = "--";
	av[4] = (char *)id;
	if (remote_exchange(pfd, nitems(av), av, &out, &cause) != 0) {
		fprintf(stderr, "peer %s did not keep the acknowledgement of "
		    "%s, so it stays in the inbox: %s\n", from, id,
		    cause != NULL ? cause : "no reason given");
		free(av[2]);
		goto out;
	}
	free(av[2]);
	free(cause);
	cause = NULL;
	xasprintf(&key, "inbox:%s:%s", me, id);
	av[0] = "context-delete";
	av[1] = "--";
	av[2] = key;
	if (remote_exchange(fd, 3, av, &out, &cause) != 0) {
		fprintf(stderr, "acknowledged %s to %s, but it is still in the "
		    "inbox: %s\n", id, from, cause != NULL ? cause :
		    "no reason given");
		goto out;
	}
	rv = 0;
out:
	if (pfd != -1)
		close(pfd);
	if (fd != -1)
		close(fd);
	peers_clear(&ps);
	buf_free(&out);
	args_free(args);
	free(key);
	free(from);
	free(cause);
	return (rv);
}

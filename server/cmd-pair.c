/*
 * server/cmd-pair.c: loopsy pair, both sides, in the client; and the two
 * server commands the waiting side uses: pair-wait (pending while the
 * running server's /pair routes are open) and pair-confirm (the user's
 * answer to the short authentication string).  The protocol and its crypto
 * are in pair.c.  Codes and keys never go in argv or a log.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <http_parser.h>
#include <openssl/ssl.h>

#include "common/crypto.h"
#include "common/proto.h"
#include "common/ws.h"
#include "server.h"

#define CMD_PAIR_PORT		19532
#define CMD_PAIR_REPLY_MAX	(64 * 1024)
#define CMD_PAIR_READ_S		60	/* longer than a held confirm */
#define CMD_PAIR_DIAL_MS	10000

static enum cmd_retval	cmd_pair(struct cmd_ctx *);
static enum cmd_retval	cmd_pair_wait(struct cmd_ctx *);
static enum cmd_retval	cmd_pair_confirm(struct cmd_ctx *);

const struct cmd_def cmd_pair_def = {
	.name = "pair",
	.longs = "name:,yes,no,timeout:",
	.min_args = 0, .max_args = -1,
	.usage = "[HOST[:PORT]] [--name NAME] [--yes|--no] "
	    "[--timeout SECONDS]",
	.client = 1,
	.local_only = 1,
	.run = cmd_pair
};

const struct cmd_def cmd_pair_wait_def = {
	.name = "pair-wait",
	.longs = "name:,timeout:",
	.min_args = 0, .max_args = 0,
	.usage = "[--name NAME] [--timeout SECONDS] (used by loopsy pair)",
	.local_only = 1,
	.run = cmd_pair_wait
};

const struct cmd_def cmd_pair_confirm_def = {
	.name = "pair-confirm",
	.min_args = 1, .max_args = 1,
	.usage = "yes|no (used by loopsy pair)",
	.local_only = 1,
	.run = cmd_pair_confirm
};

/* A port from the server's JSON, or 0. */
static int
cmd_pair_port(cJSON *j)
{
	cJSON	*p = cJSON_GetObjectItem(j, "port");

	return (cJSON_IsNumber(p) ? p->valueint : 0);
}

/* A line typed by the user, read with poll so the server can interrupt. */
struct cmd_pair_input {
	char	 buf[256];
	size_t	 len;
	int	 eof;
};

/* ------------------------------------------------------ server commands */

static enum cmd_retval
cmd_pair_wait(struct cmd_ctx *ctx)
{
	const char	*name = args_get_long(ctx->args, "name");
	const char	*t = args_get_long(ctx->args, "timeout");
	char		*cause = NULL, *end;
	long		 timeout = PAIR_TIMEOUT;

	if (t != NULL) {
		timeout = strtol(t, &end, 10);
		if (*t == '\0' || *end != '\0' || timeout < 1 ||
		    timeout > 3600) {
			cmd_error(ctx, "usage", "--timeout: 1 to 3600 seconds");
			return (CMD_USAGE);
		}
	}
	if (name != NULL && peers_valid_name(name, &cause) != 0) {
		cmd_error(ctx, "usage", "%s", cause);
		free(cause);
		return (CMD_USAGE);
	}
	return (pair_wait(ctx, name, timeout));
}

static enum cmd_retval
cmd_pair_confirm(struct cmd_ctx *ctx)
{
	const char	*v = ctx->args->argv[0];
	char		*cause = NULL;

	if (strcmp(v, "yes") != 0 && strcmp(v, "no") != 0) {
		cmd_error(ctx, "usage", "pair-confirm: yes or no");
		return (CMD_USAGE);
	}
	if (pair_confirm(strcmp(v, "yes") == 0, &cause) != 0) {
		cmd_error(ctx, "no-pairing", "%s", cause);
		free(cause);
		return (CMD_ERROR);
	}
	return (CMD_OK);
}

/* ------------------------------------------------------- the user's side */

static void
cmd_pair_say(const char *fmt, ...) __printflike(1, 2);
static void
cmd_pair_say(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
}

/*
 * Read a line from standard input (the terminal, or whatever a script
 * gives): 0 with the line in in->buf, -1 at end of input, 1 if watch (the
 * server) has something to say first.
 */
static int
cmd_pair_readline(struct cmd_pair_input *in, int watch)
{
	struct pollfd	 pfd[2];
	char		*nl;
	ssize_t		 n;

	for (;;) {
		if ((nl = memchr(in->buf, '\n', in->len)) != NULL) {
			*nl = '\0';
			return (0);
		}
		if (in->eof || in->len == sizeof in->buf - 1) {
			in->buf[in->len] = '\0';
			return (in->len != 0 ? 0 : -1);
		}
		pfd[0].fd = STDIN_FILENO;
		pfd[0].events = POLLIN;
		pfd[1].fd = watch;
		pfd[1].events = POLLIN;
		if (poll(pfd, watch != -1 ? 2 : 1, -1) == -1) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		if (watch != -1 && (pfd[1].revents & (POLLIN|POLLHUP)))
			return (1);
		n = read(STDIN_FILENO, in->buf + in->len,
		    sizeof in->buf - 1 - in->len);
		if (n <= 0)
			in->eof = 1;
		else
			in->len += n;
	}
}

/* Drop the line just read (and its newline). */
static void
cmd_pair_consume(struct cmd_pair_input *in)
{
	size_t	 n = strlen(in->buf);

	if (n < in->len)
		n++;
	crypto_cleanse(in->buf, n);
	memmove(in->buf, in->buf + n, in->len - n);
	in->len -= n;
}

/* The user's answer to the SAS: 1 yes, 0 no, -1 interrupted by watch. */
static int
cmd_pair_decide(struct cmd_ctx *ctx, struct cmd_pair_input *in, int watch)
{
	int	 rc, yes;

	if (args_has_long(ctx->args, "yes")) {
		cmd_pair_say("--yes: accepted without asking; compare the "
		    "numbers yourself\n");
		return (1);
	}
	if (args_has_long(ctx->args, "no")) {
		cmd_pair_say("--no: declined\n");
		return (0);
	}
	cmd_pair_say("Does the other machine show the same number? [y/N] ");
	if ((rc = cmd_pair_readline(in, watch)) == 1)
		return (-1);
	yes = rc == 0 && (strcasecmp(in->buf, "y") == 0 ||
	    strcasecmp(in->buf, "yes") == 0);
	if (rc == 0)
		cmd_pair_consume(in);
	if (!isatty(STDIN_FILENO))
		cmd_pair_say("%s\n", yes ? "y" : "n");
	return (yes);
}

static void
cmd_pair_show_sas(const char *sas, const char *who, const char *fp)
{
	cmd_pair_say("\n%s\ncertificate %s\n\n    %s\n\n", who, fp, sas);
}

/* --------------------------------------------- waiting: loopsy pair */

static int
cmd_pair_connect(char **cause)
{
	return (operate_connect("start it with loopsy start: "
	    "pairing needs its peer listener", cause));
}

/* The server connection of the waiting side. */
struct cmd_pair_link {
	int		 fd;
	struct evbuffer	*in;
	struct buf	 line;
};

/*
 * The next thing pair-wait says: 0 and a JSON line in *j, 1 and the reply
 * in *j (it is over), -1 if the server went away.
 */
static int
cmd_pair_next(struct cmd_pair_link *l, cJSON **j, char **cause)
{
	uint8_t	 type;
	char	*data;
	size_t	 len;
	int	 rc;

	for (;;) {
		if (operate_take_line(&l->line, j))
			return (0);
		rc = proto_take(l->in, &type, &data, &len, cause);
		if (rc == -1)
			return (-1);
		if (rc == 0) {
			rc = evbuffer_read(l->in, l->fd, 65536);
			if (rc == -1 && errno == EINTR)
				continue;
			if (rc <= 0) {
				xasprintf(cause, "lost the server");
				return (-1);
			}
			continue;
		}
		if (type == MSG_STDOUT)
			buf_add(&l->line, data, len);
		else if (type == MSG_STDERR)
			fwrite(data, 1, len, stderr);
		else if (type == MSG_REPLY)
			*j = cJSON_Parse(data);
		free(data);
		if (type == MSG_REPLY)
			return (*j != NULL ? 1 : -1);
	}
}

static void
cmd_pair_show_code(cJSON *j)
{
	const char	*code = cJSON_GetStringValue(cJSON_GetObjectItem(j,
			    "code"));
	const char	*listen = cJSON_GetStringValue(cJSON_GetObjectItem(j,
			    "listen"));
	const char	*host = cJSON_GetStringValue(cJSON_GetObjectItem(j,
			    "hostname"));
	cJSON		*port = cJSON_GetObjectItem(j, "port");
	cJSON		*t = cJSON_GetObjectItem(j, "timeout");
	char		 where[300];

	if (listen != NULL && strncmp(listen, "0.0.0.0:", 8) != 0 &&
	    strncmp(listen, "[::]:", 5) != 0)
		strlcpy(where, listen, sizeof where);
	else
		snprintf(where, sizeof where, "%s:%d", host != NULL ? host :
		    "HOST", cJSON_IsNumber(port) ? port->valueint : 0);
	cmd_pair_say("Pairing code: %.3s %.3s\n"
	    "On the other machine run: loopsy pair %s\n"
	    "Waiting %d seconds (Ctrl-C to stop)...\n", code, code + 3, where,
	    cJSON_IsNumber(t) ? t->valueint : 0);
}

static int
cmd_pair_confirm_call(int yes, char **cause)
{
	char	*argv[] = { "pair-confirm", yes ? "yes" : "no" };

	return (operate_call(2, argv, NULL, cause) == 0 ? 0 : -1);
}

/* One event from pair-wait: 0 go on, 1 finished, -1 failed. */
static int
cmd_pair_wait_event(struct cmd_ctx *ctx, struct cmd_pair_link *l,
    struct cmd_pair_input *in, cJSON *j, char **cause)
{
	const char	*s;
	char		*who;
	cJSON		*v;
	int		 yes;

	if ((s = cJSON_GetStringValue(cJSON_GetObjectItem(j, "code"))) != NULL)
		cmd_pair_show_code(j);
	else if (cJSON_IsNumber(v = cJSON_GetObjectItem(j, "wrong")))
		cmd_pair_say("a wrong code from %s (%d of %d tries)\n",
		    cJSON_GetStringValue(cJSON_GetObjectItem(j, "address")),
		    v->valueint, PAIR_TRIES);
	else if ((s = cJSON_GetStringValue(cJSON_GetObjectItem(j, "sas"))) !=
	    NULL) {
		xasprintf(&who, "%s at %s port %d wants to pair (to be known "
		    "here as %s)", cJSON_GetStringValue(cJSON_GetObjectItem(j,
		    "hostname")), cJSON_GetStringValue(cJSON_GetObjectItem(j,
		    "address")), cmd_pair_port(j),
		    cJSON_GetStringValue(cJSON_GetObjectItem(j, "name")));
		cmd_pair_show_sas(s, who, cJSON_GetStringValue(
		    cJSON_GetObjectItem(j, "fingerprint")));
		free(who);
		if ((yes = cmd_pair_decide(ctx, in, l->fd)) == -1) {
			cmd_pair_say("\n");
			return (0);	/* the server spoke first */
		}
		if (cmd_pair_confirm_call(yes, cause) != 0) {
			/* The pairing ended meanwhile (the other side
			 * declined first): pair-wait's answer says how. */
			free(*cause);
			*cause = NULL;
			return (0);
		}
		if (yes)
			cmd_pair_say("waiting for the other side to "
			    "confirm...\n");
	} else if ((s = cJSON_GetStringValue(cJSON_GetObjectItem(j,
	    "paired"))) != NULL) {
		cmd_pair_say("paired: %s is %s port %d, certificate %s\n"
		    "try: loopsy ls -t %s:\n", s,
		    cJSON_GetStringValue(cJSON_GetObjectItem(j, "address")),
		    cmd_pair_port(j),
		    cJSON_GetStringValue(cJSON_GetObjectItem(j, "fingerprint")),
		    s);
	}
	return (0);
}

static enum cmd_retval
cmd_pair_waiting(struct cmd_ctx *ctx)
{
	struct cmd_pair_link	 l;
	struct cmd_pair_input	 in;
	struct evbuffer		*out;
	const char		*name = args_get_long(ctx->args, "name");
	const char		*t = args_get_long(ctx->args, "timeout");
	char			*argv[6], *cause = NULL, tbuf[16];
	cJSON			*j = NULL, *e;
	int			 argc = 0, rc;
	enum cmd_retval		 rv = CMD_ERROR;

	memset(&in, 0, sizeof in);
	memset(&l, 0, sizeof l);
	if ((l.fd = cmd_pair_connect(&cause)) == -1) {
		cmd_error(ctx, "no-server", "%s", cause);
		free(cause);
		return (CMD_ERROR);
	}
	argv[argc++] = "pair-wait";
	if (name != NULL) {
		argv[argc++] = "--name";
		argv[argc++] = (char *)name;
	}
	snprintf(tbuf, sizeof tbuf, "%s", t != NULL ? t : "300");
	argv[argc++] = "--timeout";
	argv[argc++] = tbuf;
	out = evbuffer_new();
	proto_add_hello(out);
	proto_add_cjson(out, MSG_COMMAND, proto_command_new(1, argc, argv));
	while (evbuffer_get_length(out) > 0) {
		if (evbuffer_write(out, l.fd) <= 0 && errno != EINTR)
			break;
	}
	evbuffer_free(out);
	l.in = evbuffer_new();
	buf_init(&l.line);
	for (;;) {
		if ((rc = cmd_pair_next(&l, &j, &cause)) == -1)
			break;
		if (rc == 1) {
			e = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "error"),
			    "message");
			if (cJSON_IsTrue(cJSON_GetObjectItem(j, "ok")))
				rv = CMD_OK;
			else if (cJSON_IsString(e))
				cause = xstrdup(e->valuestring);
			else
				cause = xstrdup("pairing failed");
			cJSON_Delete(j);
			break;
		}
		rc = cmd_pair_wait_event(ctx, &l, &in, j, &cause);
		cJSON_Delete(j);
		if (rc != 0)
			break;
	}
	if (rv != CMD_OK)
		cmd_error(ctx, "pair", "%s", cause != NULL ? cause :
		    "pairing failed");
	free(cause);
	buf_free(&l.line);
	evbuffer_free(l.in);
	close(l.fd);
	return (rv);
}

/* ------------------------------------------- joining: loopsy pair HOST */

/* The machine we pair with, and the certificate it showed first. */
struct cmd_pair_peer {
	char		*host;
	u_int		 port;
	char		*fp;
};

struct cmd_pair_reply {
	struct buf	 body;
	int		 done;
};

static int
cmd_pair_on_body(http_parser *p, const char *at, size_t len)
{
	struct cmd_pair_reply	*r = p->data;

	if (r->body.len + len > CMD_PAIR_REPLY_MAX)
		return (-1);
	buf_add(&r->body, at, len);
	return (0);
}

static int
cmd_pair_on_complete(http_parser *p)
{
	((struct cmd_pair_reply *)p->data)->done = 1;
	return (0);
}

static const http_parser_settings cmd_pair_settings = {
	.on_body = cmd_pair_on_body,
	.on_message_complete = cmd_pair_on_complete
};

/* A connection to the peer, its certificate the one it showed first. */
static SSL *
cmd_pair_dial(struct cmd_pair_peer *pp, SSL_CTX **sctx, int *fd,
    char **cause)
{
	SSL		*ssl;
	char		*fp;

	tls_timeout_ms = CMD_PAIR_DIAL_MS;
	if (tls_dial(pp->host, pp->port, sctx, &ssl, fd, cause) != 0)
		return (NULL);
	fp = tls_peer_fingerprint(ssl);
	if (fp != NULL && pp->fp == NULL)
		pp->fp = xstrdup(fp);
	if (fp == NULL || strcasecmp(fp, pp->fp) != 0) {
		xasprintf(cause, "%s's certificate changed during the "
		    "pairing: stopped", pp->host);
		free(fp);
		SSL_free(ssl);
		SSL_CTX_free(*sctx);
		close(*fd);
		return (NULL);
	}
	free(fp);
	return (ssl);
}

/*
 * POST a JSON object to a /pair route: the HTTP status, with the answer's
 * JSON in *reply; -1 with *cause if there was no answer.
 */
static int
cmd_pair_post(struct cmd_pair_peer *pp, const char *path, cJSON *body,
    cJSON **reply, char **cause)
{
	struct cmd_pair_reply	 r;
	http_parser		 hp;
	SSL_CTX			*sctx;
	SSL			*ssl;
	char			*s, *req, buf[4096];
	int			 fd, n, status = -1;

	*reply = NULL;
	s = cJSON_PrintUnformatted(body);
	cJSON_Delete(body);
	if ((ssl = cmd_pair_dial(pp, &sctx, &fd, cause)) == NULL) {
		free(s);
		return (-1);
	}
	xasprintf(&req, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: "
	    "application/json\r\nContent-Length: %zu\r\nConnection: close"
	    "\r\n\r\n%s", path, pp->host, strlen(s), s);
	crypto_cleanse(s, strlen(s));
	free(s);
	/* A confirm may be held while the other user answers. */
	tls_timeout_ms = CMD_PAIR_READ_S * 1000;
	while ((n = SSL_write(ssl, req, strlen(req))) <= 0 &&
	    tls_wait(ssl, fd, n) == 0)
		/* nothing */;
	crypto_cleanse(req, strlen(req));
	free(req);
	memset(&r, 0, sizeof r);
	buf_init(&r.body);
	http_parser_init(&hp, HTTP_RESPONSE);
	hp.data = &r;
	while (n > 0 && !r.done) {
		if ((n = SSL_read(ssl, buf, sizeof buf)) <= 0) {
			if (tls_wait(ssl, fd, n) == 0) {
				n = 1;
				continue;
			}
			break;
		}
		if (http_parser_execute(&hp, &cmd_pair_settings, buf, n) !=
		    (size_t)n)
			break;
	}
	if (!r.done)
		http_parser_execute(&hp, &cmd_pair_settings, NULL, 0);
	if (r.done) {
		status = hp.status_code;
		buf_add(&r.body, "", 1);
		*reply = cJSON_Parse(r.body.data);
		crypto_cleanse(r.body.data, r.body.len);
	} else
		xasprintf(cause, "no answer from %s port %u to %s", pp->host,
		    pp->port, path);
	buf_free(&r.body);
	SSL_free(ssl);
	SSL_CTX_free(sctx);
	close(fd);
	return (status);
}

/* The error message of an answer, or a description of it. */
static char *
cmd_pair_refusal(struct cmd_pair_peer *pp, int started, int status,
    cJSON *reply)
{
	cJSON	*m = cJSON_GetObjectItem(cJSON_GetObjectItem(reply, "error"),
		    "message");
	char	*s, *p;

	if (status == 404 && started)
		xasprintf(&s, "the pairing on %s has ended (declined or "
		    "stopped there, or it timed out); nothing was stored",
		    pp->host);
	else if (status == 404)
		xasprintf(&s, "%s port %u is not waiting for a pairing: run "
		    "loopsy pair there first", pp->host, pp->port);
	else
		xasprintf(&s, "%s answered %d: %s", pp->host, status,
		    cJSON_IsString(m) ? m->valuestring : "(no message)");
	for (p = s; *p != '\0'; p++) {
		if (iscntrl((u_char)*p))	/* no escapes from the peer */
			*p = '?';
	}
	return (s);
}

/* "host", "host:port", "[v6]:port" or a bare v6 address. */
static int
cmd_pair_hostport(const char *s, struct cmd_pair_peer *pp, char **cause)
{
	const char	*colon = NULL, *end;
	char		*ep;
	long		 n;

	pp->port = CMD_PAIR_PORT;
	if (*s == '[' && (end = strchr(s, ']')) != NULL) {
		pp->host = xstrndup(s + 1, end - s - 1);
		colon = end[1] == ':' ? end + 1 : NULL;
	} else if ((colon = strchr(s, ':')) != NULL &&
	    strchr(colon + 1, ':') != NULL) {
		pp->host = xstrdup(s);
		colon = NULL;
	} else
		pp->host = colon != NULL ? xstrndup(s, colon - s) : xstrdup(s);
	if (colon != NULL) {
		n = strtol(colon + 1, &ep, 10);
		if (colon[1] == '\0' || *ep != '\0' || n < 1 || n > 65535) {
			xasprintf(cause, "%s: port must be 1 to 65535", s);
			return (-1);
		}
		pp->port = n;
	}
	if (*pp->host == '\0') {
		xasprintf(cause, "%s: no host", s);
		return (-1);
	}
	return (0);
}

/* Where our own listener is, for the peer to reach us: running or not. */
static u_int
cmd_pair_own_port(void)
{
	char		*argv[] = { "status", "--json" }, *cause = NULL, *path;
	struct buf	 out;
	struct config	 c;
	cJSON		*j, *p;
	u_int		 port = 0;

	buf_init(&out);
	if (operate_server_live() && operate_call(2, argv, &out, &cause) == 0) {
		buf_add(&out, "", 1);
		j = cJSON_Parse(out.data);
		p = cJSON_GetObjectItem(j, "port");
		if (cJSON_IsNumber(p))
			port = p->valueint;
		cJSON_Delete(j);
	}
	free(cause);
	buf_free(&out);
	if (port != 0)
		return (port);
	config_defaults(&c);
	path = config_path();
	if (config_load(path, &c, &cause) == 0)
		port = c.server_port;
	config_clear(&c);
	free(cause);
	free(path);
	return (port != 0 ? port : CMD_PAIR_PORT);
}

/* The joining side's state through the four requests. */
struct cmd_pair_join {
	struct cmd_ctx		*ctx;
	struct cmd_pair_peer	 pp;
	struct pair_kx		*kx;
	struct cmd_pair_input	 in;
	char			*fp;		/* ours */
	char			*session;
	char			*peer_host;	/* its hostname */
	char			*name;		/* what we call it */
	char			*key;		/* we present to it */
	char			*accept;	/* it presents to us */
};

/* A request that must answer 200: the reply, or NULL with the error set. */
static cJSON *
cmd_pair_ask(struct cmd_pair_join *pj, const char *path, cJSON *body)
{
	cJSON	*reply;
	char	*cause = NULL;
	int	 status;

	status = cmd_pair_post(&pj->pp, path, body, &reply, &cause);
	if (status == 200 && cJSON_IsObject(reply))
		return (reply);
	if (status != -1)
		cause = cmd_pair_refusal(&pj->pp, pj->session != NULL, status,
		    reply);
	cmd_error(pj->ctx, "pair", "%s", cause);
	free(cause);
	cJSON_Delete(reply);
	return (NULL);
}

static cJSON *
cmd_pair_body(struct cmd_pair_join *pj)
{
	cJSON	*j = cJSON_CreateObject();

	if (pj->session != NULL)
		cJSON_AddStringToObject(j, "session", pj->session);
	return (j);
}

/* 1: /pair/start, our key committed; its key and name back. */
static int
cmd_pair_join_start(struct cmd_pair_join *pj, char **peer_pub)
{
	const char	*name = args_get_long(pj->ctx->args, "name");
	cJSON		*j = cmd_pair_body(pj), *r;
	char		*commit, *cause = NULL;
	const char	*s, *pub, *host;

	commit = pair_commit(pair_kx_public(pj->kx), pj->fp, msg_hostname());
	cJSON_AddNumberToObject(j, "v", 1);
	cJSON_AddStringToObject(j, "commit", commit);
	cJSON_AddStringToObject(j, "name", msg_hostname());
	free(commit);
	if ((r = cmd_pair_ask(pj, "/pair/start", j)) == NULL)
		return (-1);
	s = cJSON_GetStringValue(cJSON_GetObjectItem(r, "session"));
	pub = cJSON_GetStringValue(cJSON_GetObjectItem(r, "pub"));
	host = cJSON_GetStringValue(cJSON_GetObjectItem(r, "name"));
	if (s == NULL || pub == NULL || !pair_safe_name(host)) {
		cmd_error(pj->ctx, "pair", "%s answered /pair/start wrongly",
		    pj->pp.host);
		cJSON_Delete(r);
		return (-1);
	}
	pj->session = xstrdup(s);
	*peer_pub = xstrdup(pub);
	pj->peer_host = xstrdup(host);
	pj->name = xstrdup(name != NULL ? name : host);
	cJSON_Delete(r);
	if (peers_valid_name(pj->name, &cause) != 0 || msg_is_self(pj->name)) {
		cmd_error(pj->ctx, "usage", "%s%scannot name %s here; choose "
		    "a name with --name", cause != NULL ? cause : pj->name,
		    cause != NULL ? ": " : " is this machine's name: ",
		    pj->pp.host);
		free(cause);
		return (-1);
	}
	cmd_pair_say("%s port %u is %s, certificate %s\n", pj->pp.host,
	    pj->pp.port, pj->peer_host, pj->pp.fp);
	return (0);
}

/* The code, from the terminal or standard input. */
static int
cmd_pair_read_code(struct cmd_pair_join *pj, char code[PAIR_CODE_LEN + 1])
{
	int	 rc;

	if (isatty(STDIN_FILENO))
		cmd_pair_say("Code shown by loopsy pair on %s: ",
		    pj->peer_host);
	if (cmd_pair_readline(&pj->in, -1) != 0) {
		cmd_error(pj->ctx, "usage", "no code given");
		return (-1);
	}
	rc = pair_code_parse(pj->in.buf, code);
	cmd_pair_consume(&pj->in);
	if (rc != 0)
		cmd_error(pj->ctx, "usage", "the code is %d digits",
		    PAIR_CODE_LEN);
	return (rc);
}

/* 2: /pair/prove: the code proved both ways; the SAS is known. */
static int
cmd_pair_join_prove(struct cmd_pair_join *pj, const char *peer_pub)
{
	struct pair_ids	 ids;
	char		 code[PAIR_CODE_LEN + 1], *cause = NULL, *mac;
	cJSON		*j, *r;
	int		 rc = -1;

	if (cmd_pair_read_code(pj, code) != 0)
		return (-1);
	ids.fp_a = pj->pp.fp;
	ids.fp_b = pj->fp;
	ids.name_a = pj->peer_host;
	ids.name_b = msg_hostname();
	if (pair_kx_derive(pj->kx, 0, peer_pub, &ids, code, &cause) != 0) {
		crypto_cleanse(code, sizeof code);
		cmd_error(pj->ctx, "pair", "%s: %s", pj->pp.host, cause);
		free(cause);
		return (-1);
	}
	crypto_cleanse(code, sizeof code);
	j = cmd_pair_body(pj);
	cJSON_AddStringToObject(j, "pub", pair_kx_public(pj->kx));
	cJSON_AddStringToObject(j, "fp", pj->fp);
	cJSON_AddNumberToObject(j, "port", cmd_pair_own_port());
	mac = pair_kx_mac(pj->kx, "B prove");
	cJSON_AddStringToObject(j, "mac", mac);
	free(mac);
	if ((r = cmd_pair_ask(pj, "/pair/prove", j)) == NULL)
		return (-1);
	if (!pair_kx_mac_ok(pj->kx, "A prove",
	    cJSON_GetStringValue(cJSON_GetObjectItem(r, "mac"))))
		cmd_error(pj->ctx, "pair", "%s did not prove it knows the "
		    "code: stopped", pj->pp.host);
	else
		rc = 0;
	cJSON_Delete(r);
	return (rc);
}

/* 3: /pair/confirm, asked again while the other user has not answered. */
static int
cmd_pair_join_confirm(struct cmd_pair_join *pj, int yes)
{
	const char	*state;
	char		*mac, *text;
	cJSON		*j, *r;

	for (;;) {
		j = cmd_pair_body(pj);
		cJSON_AddBoolToObject(j, "ok", yes);
		mac = pair_kx_mac(pj->kx, "B confirm");
		cJSON_AddStringToObject(j, "mac", mac);
		free(mac);
		if ((r = cmd_pair_ask(pj, "/pair/confirm", j)) == NULL)
			return (-1);
		state = cJSON_GetStringValue(cJSON_GetObjectItem(r, "state"));
		if (state == NULL || strcmp(state, "waiting") != 0)
			break;
		cJSON_Delete(r);
	}
	if (!yes || strcmp(state, "confirmed") != 0) {
		cmd_error(pj->ctx, "declined", "%s; nothing was stored",
		    !yes ? "pairing declined here" : strcmp(state,
		    "declined") == 0 ? "the other side declined the pairing" :
		    "the pairing ended");
		cJSON_Delete(r);
		return (-1);
	}
	text = pair_kx_open(pj->kx, 1, cJSON_GetStringValue(
	    cJSON_GetObjectItem(r, "box")));
	cJSON_Delete(r);
	if (text == NULL || (pj->key = pair_box_key(text)) == NULL) {
		cmd_error(pj->ctx, "pair", "%s sent a key that does not open",
		    pj->pp.host);
		free(text);
		return (-1);
	}
	crypto_cleanse(text, strlen(text));
	free(text);
	return (0);
}

/* 4: /pair/finish: our key to it, sealed; then it is stored here too. */
static int
cmd_pair_join_finish(struct cmd_pair_join *pj)
{
	char	*cause = NULL, *box;
	cJSON	*j, *r;

	if ((pj->accept = crypto_random_hex(CRYPTO_KEY_BYTES, &cause)) ==
	    NULL) {
		cmd_error(pj->ctx, "pair", "%s", cause);
		free(cause);
		return (-1);
	}
	j = cmd_pair_body(pj);
	box = pair_box_seal(pj->kx, 0, pj->accept);
	cJSON_AddStringToObject(j, "box", box);
	free(box);
	if ((r = cmd_pair_ask(pj, "/pair/finish", j)) == NULL)
		return (-1);
	cJSON_Delete(r);
	if (pair_store(pj->name, pj->pp.host, pj->pp.port, pj->key,
	    pj->accept, pj->pp.fp, &cause) != 0) {
		cmd_error(pj->ctx, "peers", "%s paired but not stored here: "
		    "%s", pj->pp.host, cause);
		free(cause);
		return (-1);
	}
	cmd_pair_say("paired: %s is %s port %u, certificate %s\n"
	    "try: loopsy ls -t %s:\n", pj->name, pj->pp.host, pj->pp.port,
	    pj->pp.fp, pj->name);
	return (0);
}

static void
cmd_pair_join_free(struct cmd_pair_join *pj)
{
	pair_kx_free(pj->kx);
	free(pj->pp.host);
	free(pj->pp.fp);
	free(pj->fp);
	free(pj->session);
	free(pj->peer_host);
	free(pj->name);
	if (pj->key != NULL)
		crypto_cleanse(pj->key, strlen(pj->key));
	free(pj->key);
	if (pj->accept != NULL)
		crypto_cleanse(pj->accept, strlen(pj->accept));
	free(pj->accept);
	crypto_cleanse(&pj->in, sizeof pj->in);
}

static enum cmd_retval
cmd_pair_joining(struct cmd_ctx *ctx)
{
	struct cmd_pair_join	 pj;
	char			*cause = NULL, *peer_pub = NULL, *who;
	int			 yes;
	enum cmd_retval		 rv = CMD_ERROR;

	memset(&pj, 0, sizeof pj);
	pj.ctx = ctx;
	if (cmd_pair_hostport(ctx->args->argv[0], &pj.pp, &cause) != 0 ||
	    (pj.fp = pair_own_fingerprint(&cause)) == NULL ||
	    (pj.kx = pair_kx_new(&cause)) == NULL) {
		cmd_error(ctx, "usage", "%s", cause);
		free(cause);
		goto out;
	}
	if (cmd_pair_join_start(&pj, &peer_pub) != 0 ||
	    cmd_pair_join_prove(&pj, peer_pub) != 0)
		goto out;
	xasprintf(&who, "Pairing with %s (%s port %u, to be known here as "
	    "%s)", pj.peer_host, pj.pp.host, pj.pp.port, pj.name);
	cmd_pair_show_sas(pair_kx_sas(pj.kx), who, pj.pp.fp);
	free(who);
	yes = cmd_pair_decide(ctx, &pj.in, -1);
	if (yes == 1)
		cmd_pair_say("waiting for the other side to confirm...\n");
	if (cmd_pair_join_confirm(&pj, yes == 1) != 0 ||
	    cmd_pair_join_finish(&pj) != 0)
		goto out;
	rv = CMD_OK;
out:
	free(peer_pub);
	cmd_pair_join_free(&pj);
	return (rv);
}

static enum cmd_retval
cmd_pair(struct cmd_ctx *ctx)
{
	struct args	*a = ctx->args;

	if (msg_args_tail(ctx, 1) != 0)		/* pair HOST --yes */
		return (CMD_USAGE);
	if (args_has_long(a, "yes") && args_has_long(a, "no")) {
		cmd_error(ctx, "usage", "pair: --yes or --no, not both");
		return (CMD_USAGE);
	}
	if (a->argc == 0)
		return (cmd_pair_waiting(ctx));
	if (args_has_long(a, "timeout")) {
		cmd_error(ctx, "usage", "pair: --timeout is for the waiting "
		    "side (loopsy pair without HOST)");
		return (CMD_USAGE);
	}
	return (cmd_pair_joining(ctx));
}

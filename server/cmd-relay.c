/*
 * server/cmd-relay.c: loopsy relay configure|status|forget.  configure
 * registers this machine with a relay (POST /device/register, from the
 * loopsy command itself, with a deadline), writes relay.json (0600) and
 * has the running server connect; forget removes it and drops the link.
 * relay-reload is what both ask the server for; status is the link's.
 * The device secret goes only into relay.json: never argv, a log or a URL.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/ssl.h>

#include "common/crypto.h"
#include "common/ws.h"
#include "server.h"

#define CMD_RELAY_DEADLINE_MS	15000
#define CMD_RELAY_CONNECT_WAIT	5000	/* ms to see the link come up */
#define CMD_RELAY_SECRET_MAX	4096

static enum cmd_retval	cmd_relay_configure(struct cmd_ctx *);
static enum cmd_retval	cmd_relay_status(struct cmd_ctx *);
static enum cmd_retval	cmd_relay_forget(struct cmd_ctx *);
static enum cmd_retval	cmd_relay_reload(struct cmd_ctx *);

const struct cmd_def cmd_relay_configure_def = {
	.name = "relay-configure",
	.longs = "registration-secret-file:,fingerprint:,force",
	.min_args = 0, .max_args = -1,
	.usage = "[URL] [--registration-secret-file FILE] "
	    "[--fingerprint sha256:...] [--force]",
	.client = 1,
	.client_words = 1,
	.local_only = 1,
	.run = cmd_relay_configure
};

const struct cmd_def cmd_relay_status_def = {
	.name = "relay-status",
	.longs = "json",
	.min_args = 0, .max_args = 0,
	.usage = "[--json]",
	.client_words = 1,
	.local_only = 1,
	.run = cmd_relay_status
};

const struct cmd_def cmd_relay_forget_def = {
	.name = "relay-forget",
	.min_args = 0, .max_args = 0,
	.usage = "",
	.client = 1,
	.client_words = 1,
	.local_only = 1,
	.run = cmd_relay_forget
};

const struct cmd_def cmd_relay_reload_def = {
	.name = "relay-reload",
	.min_args = 0, .max_args = 0,
	.usage = "(used by loopsy relay configure and forget)",
	.local_only = 1,
	.run = cmd_relay_reload
};

/* ------------------------------------------------------------- server */

static enum cmd_retval
cmd_relay_reload(struct cmd_ctx *ctx)
{
	relay_link_start();
	cmd_print(ctx, "%s\n", relay_link_state());
	return (CMD_OK);
}

static enum cmd_retval
cmd_relay_status(struct cmd_ctx *ctx)
{
	cJSON		*j = relay_link_json();
	const char	*s;
	char		*state;

	if (args_has_long(ctx->args, "json")) {
		cmd_print_json(ctx, j);
		return (CMD_OK);
	}
	/* It may hold what the relay said (an error, a close reason). */
	state = relay_safe_text(relay_link_state(), RELAY_TEXT_MAX);
	cmd_print(ctx, "relay:    %s\n", state);
	free(state);
	if ((s = cJSON_GetStringValue(cJSON_GetObjectItem(j, "device"))) !=
	    NULL)
		cmd_print(ctx, "device:   %s\n", s);
	if ((s = cJSON_GetStringValue(cJSON_GetObjectItem(j,
	    "fingerprint"))) != NULL)
		cmd_print(ctx, "pinned:   %s\n", s);
	cmd_print(ctx, "phones:   %d paired, %d connections open\n",
	    cJSON_GetObjectItem(j, "phones")->valueint,
	    cJSON_GetObjectItem(j, "channels")->valueint);
	if (cJSON_GetObjectItem(j, "pendingRevokes")->valueint != 0)
		cmd_print(ctx, "pending:  %d revokes to tell the relay when "
		    "it is back\n",
		    cJSON_GetObjectItem(j, "pendingRevokes")->valueint);
	cJSON_Delete(j);
	return (CMD_OK);
}

/* ------------------------------------------------- blocking HTTP out */

/* A connection to the relay: plain or TLS, each step with a deadline. */
struct cmd_relay_conn {
	int		 fd;
	SSL_CTX		*ctx;
	SSL		*ssl;
	uint64_t	 deadline;
};

static int
cmd_relay_left(struct cmd_relay_conn *c)
{
	uint64_t	 now = now_ms();

	return (now >= c->deadline ? 0 : (int)(c->deadline - now));
}

static void
cmd_relay_close(struct cmd_relay_conn *c)
{
	if (c->ssl != NULL)
		SSL_free(c->ssl);
	if (c->ctx != NULL)
		SSL_CTX_free(c->ctx);
	if (c->fd != -1)
		close(c->fd);
	c->ssl = NULL;
	c->ctx = NULL;
	c->fd = -1;
}

/*
 * Connect; for https check the certificate (the system's CAs, or pin).  On
 * an untrusted certificate without a pin, *cause says how to pin it.
 */
static int
cmd_relay_dial(struct relay_url *u, const char *pin, struct cmd_relay_conn *c,
    char **cause)
{
	char	*fp = NULL, *why = NULL;

	memset(c, 0, sizeof *c);
	c->fd = -1;
	c->deadline = now_ms() + CMD_RELAY_DEADLINE_MS;
	tls_timeout_ms = CMD_RELAY_DEADLINE_MS;
	if (!u->tls) {
		if ((c->fd = tcp_dial(u->host, u->port, cause)) == -1)
			return (-1);
		return (0);
	}
	if (tls_dial(u->host, u->port, &c->ctx, &c->ssl, &c->fd, cause) != 0)
		return (-1);
	if (relay_tls_check(c->ssl, u->host, pin, &fp, &why) != 0) {
		if (pin == NULL && fp != NULL)
			xasprintf(cause, "%s.  Its certificate's fingerprint "
			    "is %s: if you trust this relay, pin it with "
			    "loopsy relay configure %s --fingerprint %s", why,
			    fp, u->text, fp);
		else
			xasprintf(cause, "%s", why);
		free(why);
		free(fp);
		cmd_relay_close(c);
		return (-1);
	}
	free(fp);
	return (0);
}

static int
cmd_relay_write(struct cmd_relay_conn *c, const char *data, size_t len,
    char **cause)
{
	struct pollfd	 pfd;
	ssize_t		 n;
	int		 rv;

	while (len > 0) {
		if (c->ssl != NULL) {
			if ((rv = SSL_write(c->ssl, data, len)) <= 0) {
				if (tls_wait(c->ssl, c->fd, rv) == 0)
					continue;
				xasprintf(cause, "sending to the relay failed");
				return (-1);
			}
			n = rv;
		} else {
			pfd.fd = c->fd;
			pfd.events = POLLOUT;
			if (poll(&pfd, 1, cmd_relay_left(c)) != 1) {
				xasprintf(cause, "the relay took too long");
				return (-1);
			}
			if ((n = write(c->fd, data, len)) == -1) {
				if (errno == EAGAIN || errno == EINTR)
					continue;
				xasprintf(cause, "sending to the relay: %s",
				    strerror(errno));
				return (-1);
			}
		}
		data += n;
		len -= n;
	}
	return (0);
}

/* Read the answer into r (until it is whole, or the relay closes). */
static int
cmd_relay_read(struct cmd_relay_conn *c, struct relay_reply *r, char **cause)
{
	struct pollfd	 pfd;
	char		 buf[4096];
	ssize_t		 n;
	int		 rv;

	while (!r->done) {
		if (cmd_relay_left(c) == 0) {
			xasprintf(cause, "the relay did not answer within %d "
			    "seconds", CMD_RELAY_DEADLINE_MS / 1000);
			return (-1);
		}
		if (c->ssl != NULL) {
			if ((rv = SSL_read(c->ssl, buf, sizeof buf)) <= 0) {
				if (SSL_get_error(c->ssl, rv) ==
				    SSL_ERROR_ZERO_RETURN)
					n = 0;
				else if (tls_wait(c->ssl, c->fd, rv) == 0)
					continue;
				else
					n = 0;
			} else
				n = rv;
		} else {
			pfd.fd = c->fd;
			pfd.events = POLLIN;
			if (poll(&pfd, 1, cmd_relay_left(c)) != 1)
				continue;
			if ((n = read(c->fd, buf, sizeof buf)) == -1) {
				if (errno == EAGAIN || errno == EINTR)
					continue;
				n = 0;
			}
		}
		if (n == 0) {
			relay_reply_eof(r);
			if (!r->done || r->status == 0) {
				xasprintf(cause, "the relay closed the "
				    "connection without an answer");
				return (-1);
			}
			break;
		}
		if (relay_reply_feed(r, buf, n) < 0) {
			xasprintf(cause, "the relay's answer is not HTTP (is "
			    "this a loopsy relay?)");
			return (-1);
		}
	}
	return (0);
}

/* The registration secret from a file (its first line); never argv. */
static char *
cmd_relay_secret(const char *path, char **cause)
{
	char	*data, *why = NULL;
	size_t	 len;

	if ((data = file_read(path, CMD_RELAY_SECRET_MAX, &len, &why)) ==
	    NULL) {
		xasprintf(cause, "--registration-secret-file: %s", why !=
		    NULL ? why : "no such file");
		free(why);
		return (NULL);
	}
	data[strcspn(data, "\r\n")] = '\0';
	if (*data == '\0' || strpbrk(data, "\t") != NULL) {
		xasprintf(cause, "--registration-secret-file %s: the first "
		    "line must hold the secret", path);
		crypto_cleanse(data, len);
		free(data);
		return (NULL);
	}
	return (data);
}

/* POST /device/register: the new device id and secret. */
static int
cmd_relay_register(struct relay_url *u, const char *secret, const char *pin,
    char **id, char **dsecret, char **cause)
{
	struct cmd_relay_conn	 c;
	struct relay_reply	 r;
	char			*req, *host, *msg, *code;
	const char		*s, *d;
	cJSON			*j = NULL;
	uint8_t			 raw[32];
	int			 rv = -1;

	relay_reply_init(&r);
	if (cmd_relay_dial(u, pin, &c, cause) != 0)
		goto out;
	host = relay_url_hostport(u);
	xasprintf(&req, "POST %s/device/register HTTP/1.1\r\nHost: %s\r\n"
	    "Content-Type: application/json\r\nContent-Length: 2\r\n"
	    "User-Agent: loopsy/%s\r\nConnection: close\r\n%s%s%s\r\n{}",
	    u->base, host, PACKAGE_VERSION,
	    secret != NULL ? "X-Registration-Secret: " : "",
	    secret != NULL ? secret : "", secret != NULL ? "\r\n" : "");
	free(host);
	rv = cmd_relay_write(&c, req, strlen(req), cause);
	crypto_cleanse(req, strlen(req));
	free(req);
	if (rv != 0 || (rv = cmd_relay_read(&c, &r, cause)) != 0)
		goto out;
	rv = -1;
	if (r.status != 201 && r.status != 200) {
		msg = relay_reply_error(&r, &code);
		if (code != NULL && strcmp(code, "registration_closed") == 0)
			xasprintf(cause, "the relay refused to register this "
			    "machine (%s): it needs its registration secret: "
			    "--registration-secret-file FILE%s", msg != NULL ?
			    msg : "registration_closed", secret != NULL ?
			    " (the one given is wrong)" : "");
		else if (r.status == 429)
			xasprintf(cause, "the relay refused: too many "
			    "registrations from this address; retry in %d s",
			    r.retry_after > 0 ? r.retry_after : 60);
		else
			xasprintf(cause, "the relay answered %d%s%s%s",
			    r.status, msg != NULL ? ": " : "", msg != NULL ?
			    msg : "",
			    r.status == 404 ? " (is this a loopsy relay, and "
			    "the URL its root?)" : "");
		free(msg);
		free(code);
		goto out;
	}
	buf_add(&r.body, "", 1);
	j = cJSON_Parse(r.body.data);
	crypto_cleanse(r.body.data, r.body.len);
	d = cJSON_GetStringValue(cJSON_GetObjectItem(j, "device_id"));
	s = cJSON_GetStringValue(cJSON_GetObjectItem(j, "device_secret"));
	if (!relay_valid_id(d, 'd') || s == NULL ||
	    relay_b64u_decode_exact(s, raw, sizeof raw) != 0) {
		xasprintf(cause, "the relay's answer has no device_id and "
		    "device_secret (is this a loopsy relay?)");
		goto out;
	}
	crypto_cleanse(raw, sizeof raw);
	*id = xstrdup(d);
	*dsecret = xstrdup(s);
	rv = 0;
out:
	if (j != NULL) {
		if ((s = cJSON_GetStringValue(cJSON_GetObjectItem(j,
		    "device_secret"))) != NULL)
			crypto_cleanse((char *)s, strlen(s));
		cJSON_Delete(j);
	}
	relay_reply_free(&r);
	cmd_relay_close(&c);
	return (rv);
}

/* ------------------------------------------------------------- client */

/* Ask the running server to reread relay.json; wait a little to say
 * whether the link came up. */
static void
cmd_relay_tell_server(struct cmd_ctx *ctx, int want_up)
{
	char		*reload[] = { "relay-reload" };
	char		*status[] = { "relay-status", "--json" };
	char		*cause = NULL, *safe;
	const char	*state = NULL, *text = NULL;
	struct buf	 out;
	uint64_t	 end = now_ms() + CMD_RELAY_CONNECT_WAIT;
	cJSON		*j = NULL;

	if (!operate_server_live()) {
		if (want_up)
			cmd_print(ctx, "no server is running: it connects "
			    "when it starts (loopsy start, or loopsy enable "
			    "to start it at login)\n");
		return;
	}
	buf_init(&out);
	if (operate_call(1, reload, NULL, &cause) != 0) {
		cmd_print(ctx, "the server did not reload the relay: %s\n",
		    cause);
		free(cause);
		buf_free(&out);
		return;
	}
	while (want_up) {
		buf_reset(&out);
		cJSON_Delete(j);
		j = NULL;
		free(cause);
		cause = NULL;
		if (operate_call(2, status, &out, &cause) == 0) {
			buf_add(&out, "", 1);
			j = cJSON_Parse(out.data);
		}
		state = cJSON_GetStringValue(cJSON_GetObjectItem(j, "state"));
		text = cJSON_GetStringValue(cJSON_GetObjectItem(j, "text"));
		if (state == NULL || strcmp(state, "connected") == 0 ||
		    (strcmp(state, "retrying") == 0 && now_ms() + 100 > end) ||
		    now_ms() >= end)
			break;
		poll(NULL, 0, 50);
	}
	if (want_up) {
		safe = relay_safe_text(text != NULL ? text : (cause != NULL ?
		    cause : "unknown"), RELAY_TEXT_MAX);
		cmd_print(ctx, "relay link: %s\n", safe);
		free(safe);
	}
	else
		cmd_print(ctx, "the server dropped its relay link\n");
	free(cause);
	cJSON_Delete(j);
	buf_free(&out);
}

/*
 * Write relay.json under its lock, if it is still as it was read before
 * talking to the relay (the lock is never held across the network: the
 * server writes the file too, and must not wait behind a slow relay).
 * before and have are what was read; rc is the new registration, or NULL
 * for a new pin on the one there (its pending revokes kept).
 */
static int
cmd_relay_store(const struct relay_conf *before, int have,
    const struct relay_conf *rc, const char *pin, char **cause)
{
	struct relay_conf	 now;
	char			*path;
	int			 lock, now_have, rv = -1;

	if ((lock = relay_conf_lock(cause)) == -1)
		return (-1);
	if ((now_have = relay_conf_load(&now, cause)) == -1) {
		if (have != -1)
			goto out;
		free(*cause);	/* still the bad file --force replaces */
		*cause = NULL;
	}
	if (now_have != have || (have == 1 &&
	    (strcmp(now.url, before->url) != 0 ||
	    strcmp(now.device_id, before->device_id) != 0))) {
		path = relay_conf_path();
		xasprintf(cause, "%s changed while this talked to the relay "
		    "(another loopsy relay configure?); run it again", path);
		free(path);
		goto out;
	}
	if (rc == NULL) {
		free(now.fingerprint);
		now.fingerprint = xstrdup(pin);
		rv = relay_conf_save(&now, cause);
	} else
		rv = relay_conf_save(rc, cause);
out:
	relay_conf_clear(&now);
	close(lock);
	return (rv);
}

/* Same relay, already registered, a new pin: check it and store it. */
static enum cmd_retval
cmd_relay_repin(struct cmd_ctx *ctx, struct relay_conf *rc,
    struct relay_url *u, const char *pin)
{
	struct cmd_relay_conn	 c;
	char			*cause = NULL;

	if (cmd_relay_dial(u, pin, &c, &cause) != 0) {
		cmd_error(ctx, "relay", "%s", cause);
		free(cause);
		return (CMD_ERROR);
	}
	cmd_relay_close(&c);
	if (cmd_relay_store(rc, 1, NULL, pin, &cause) != 0) {
		cmd_error(ctx, "relay", "%s", cause);
		free(cause);
		return (CMD_ERROR);
	}
	cmd_print(ctx, "pinned %s for %s (still device %s)\n", pin, u->text,
	    rc->device_id);
	return (CMD_OK);
}

static u_int
cmd_relay_phones(void)
{
	struct phone	*v;
	char		*cause = NULL;
	u_int		 n = 0, i;

	if (phone_list(&v, &n, &cause) != 0)
		free(cause);
	for (i = 0; i < n; i++)
		phone_clear(&v[i]);
	free(v);
	return (n);
}

static enum cmd_retval
cmd_relay_configure(struct cmd_ctx *ctx)
{
	struct relay_conf	 rc, old;
	struct relay_url	 u;
	struct config		 cf;
	const char		*pin, *sfile, *url;
	char			*cause = NULL, *secret = NULL, *path;
	int			 have;
	enum cmd_retval		 rv = CMD_ERROR;

	memset(&rc, 0, sizeof rc);
	memset(&old, 0, sizeof old);
	memset(&u, 0, sizeof u);
	/* Options may follow the URL, as usage shows them. */
	if (msg_args_tail(ctx, ctx->args->argc > 0 ? 1 : 0) != 0)
		return (CMD_USAGE);
	pin = args_get_long(ctx->args, "fingerprint");
	sfile = args_get_long(ctx->args, "registration-secret-file");
	config_defaults(&cf);
	path = config_path();
	if (config_load(path, &cf, &cause) != 0) {
		free(cause);	/* only for relay.url; the argument wins */
		cause = NULL;
	}
	free(path);
	url = ctx->args->argc > 0 ? ctx->args->argv[0] : cf.relay_url;
	if (url == NULL) {
		cmd_error(ctx, "usage", "relay configure: give the relay's URL "
		    "(or set relay.url in config.yaml)");
		config_clear(&cf);
		return (CMD_USAGE);
	}
	rv = CMD_USAGE;
	if (relay_url_parse(url, &u, &cause) != 0) {
		cmd_error(ctx, "usage", "relay configure: %s", cause);
		goto out;
	}
	if (pin != NULL && !relay_valid_fingerprint(pin)) {
		cmd_error(ctx, "usage", "relay configure: --fingerprint must "
		    "be sha256: and 32 hex pairs separated by colons");
		goto out;
	}
	if (pin != NULL && !u.tls) {
		cmd_error(ctx, "usage", "relay configure: --fingerprint is for "
		    "https:// relays");
		goto out;
	}
	rv = CMD_ERROR;
	if (!u.tls && strcmp(u.host, "127.0.0.1") != 0 &&
	    strcmp(u.host, "localhost") != 0 && strcmp(u.host, "::1") != 0)
		fprintf(stderr, "warning: %s is plain http: the relay's "
		    "messages can be read and changed on the way (terminal "
		    "bytes stay end-to-end encrypted)\n", u.text);
	/* Read without the lock (the file is replaced whole); it is taken
	 * only to write, after the network (cmd_relay_store). */
	if ((have = relay_conf_load(&old, &cause)) == -1) {
		if (!args_has_long(ctx->args, "force")) {
			cmd_error(ctx, "relay", "%s (--force replaces it)",
			    cause);
			goto out;
		}
		free(cause);
		cause = NULL;
	}
	if (have == 1 && !args_has_long(ctx->args, "force")) {
		if (strcmp(old.url, u.text) == 0 && pin != NULL) {
			rv = cmd_relay_repin(ctx, &old, &u, pin);
			if (rv == CMD_OK)
				cmd_relay_tell_server(ctx, 1);
			goto out;
		}
		cmd_error(ctx, "registered", "this machine is already "
		    "registered with %s as %s (loopsy relay status); --force "
		    "registers it %s (phones paired through it then pair "
		    "again)", old.url, old.device_id, strcmp(old.url, u.text)
		    == 0 ? "again" : "with the new relay instead");
		goto out;
	}
	if (sfile != NULL && (secret = cmd_relay_secret(sfile, &cause)) ==
	    NULL) {
		cmd_error(ctx, "usage", "%s", cause);
		rv = CMD_USAGE;
		goto out;
	}
	if (cmd_relay_register(&u, secret, pin, &rc.device_id,
	    &rc.device_secret, &cause) != 0) {
		cmd_error(ctx, "relay", "cannot register with %s: %s", u.text,
		    cause);
		goto out;
	}
	rc.url = xstrdup(u.text);
	rc.fingerprint = pin != NULL ? xstrdup(pin) : NULL;
	if (cmd_relay_store(&old, have, &rc, NULL, &cause) != 0) {
		cmd_error(ctx, "relay", "registered with %s as device %s, but "
		    "not stored: %s", u.text, rc.device_id, cause);
		goto out;
	}
	free(ctx->audit_target);
	ctx->audit_target = xstrdup(rc.device_id);
	path = relay_conf_path();
	cmd_print(ctx, "registered with %s as device %s; %s written "
	    "(0600)\n", u.text, rc.device_id, path);
	free(path);
	if (have == 1 && cmd_relay_phones() != 0)
		cmd_print(ctx, "%u phones were paired through the old "
		    "registration: pair them again (loopsy mobile pair); "
		    "loopsy phone revoke ID forgets one here\n",
		    cmd_relay_phones());
	cmd_relay_tell_server(ctx, 1);
	rv = CMD_OK;
out:
	free(cause);
	if (secret != NULL)
		crypto_cleanse(secret, strlen(secret));
	free(secret);
	relay_conf_clear(&rc);
	relay_conf_clear(&old);
	relay_url_free(&u);
	config_clear(&cf);
	return (rv);
}

static enum cmd_retval
cmd_relay_forget(struct cmd_ctx *ctx)
{
	struct relay_conf	 rc;
	char			*cause = NULL, *path = relay_conf_path();
	int			 lock, have;

	if ((lock = relay_conf_lock(&cause)) == -1) {
		cmd_error(ctx, "relay", "%s", cause);
		free(cause);
		free(path);
		return (CMD_ERROR);
	}
	have = relay_conf_load(&rc, &cause);
	if (unlink(path) != 0 && errno != ENOENT) {
		cmd_error(ctx, "relay", "cannot remove %s: %s", path,
		    strerror(errno));
		close(lock);
		free(path);
		free(cause);
		return (CMD_ERROR);
	}
	close(lock);
	if (have == 1)
		cmd_print(ctx, "forgot the registration with %s (device %s); "
		    "paired phones cannot reach this machine any more\n",
		    rc.url, rc.device_id);
	else if (have == -1)
		cmd_print(ctx, "removed %s (%s)\n", path, cause);
	else
		cmd_print(ctx, "this machine is not registered with a relay\n");
	relay_conf_clear(&rc);
	free(cause);
	free(path);
	cmd_relay_tell_server(ctx, 0);
	return (CMD_OK);
}

/*
 * server/cmd-peers.c: loopsy peers add|list|remove, on peers.json.  Run in
 * the client: adding a peer without --fingerprint connects to it once and
 * pins the certificate it shows (trust on first use, as ssh does), and
 * listing tries each peer to say whether it is online.  Machines that mDNS
 * found (the running server's discovery) are listed too, marked as not
 * paired.
 */
#include <sys/types.h>

#include <ctype.h>
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

#define PEERS_PROBE_MS	1500
#define PEERS_PORT	19532

static enum cmd_retval	cmd_peers_add(struct cmd_ctx *);
static enum cmd_retval	cmd_peers_list(struct cmd_ctx *);
static enum cmd_retval	cmd_peers_remove(struct cmd_ctx *);

const struct cmd_def cmd_peers_add_def = {
	.name = "peers-add",
	.longs = "key:,fingerprint:,force",
	.min_args = 2, .max_args = -1,
	.usage = "NAME HOST[:PORT] [--key -|KEY] [--fingerprint SHA256] "
	    "[--force]",
	.client = 1,
	.client_words = 1,
	.local_only = 1,
	.run = cmd_peers_add
};

const struct cmd_def cmd_peers_list_def = {
	.name = "peers-list",
	.longs = "json",
	.min_args = 0, .max_args = 0,
	.usage = "[--json]",
	.client = 1,
	.client_words = 1,
	.local_only = 1,
	.run = cmd_peers_list
};

const struct cmd_def cmd_peers_remove_def = {
	.name = "peers-remove",
	.min_args = 1, .max_args = 1,
	.usage = "NAME",
	.client = 1,
	.client_words = 1,
	.local_only = 1,
	.run = cmd_peers_remove
};

/* "host", "host:port", "[v6]:port", "v6" into host and port. */
static int
cmd_peers_hostport(const char *s, char **host, u_int *port, char **cause)
{
	const char	*colon, *end;
	char		*ep;
	long		 n;

	*port = PEERS_PORT;
	if (*s == '[') {
		if ((end = strchr(s, ']')) == NULL) {
			xasprintf(cause, "%s: no ] after the IPv6 address", s);
			return (-1);
		}
		*host = xstrndup(s + 1, end - s - 1);
		colon = end[1] == ':' ? end + 1 : NULL;
		if (end[1] != '\0' && colon == NULL) {
			xasprintf(cause, "%s: expected :PORT after ]", s);
			free(*host);
			return (-1);
		}
	} else if ((colon = strchr(s, ':')) != NULL &&
	    strchr(colon + 1, ':') != NULL) {
		*host = xstrdup(s);	/* a bare IPv6 address */
		colon = NULL;
	} else
		*host = colon != NULL ? xstrndup(s, colon - s) : xstrdup(s);
	if (**host == '\0') {
		xasprintf(cause, "%s: no host", s);
		free(*host);
		return (-1);
	}
	if (colon != NULL) {
		n = strtol(colon + 1, &ep, 10);
		if (colon[1] == '\0' || *ep != '\0' || n < 1 || n > 65535) {
			xasprintf(cause, "%s: port must be 1 to 65535", s);
			free(*host);
			return (-1);
		}
		*port = n;
	}
	return (0);
}

/* Accept "sha256:AB:CD:..", "AB:CD:.." or "abcd..": 32 bytes in hex. */
static char *
cmd_peers_fingerprint(const char *s, char **cause)
{
	char		 hex[65], *out, *p;
	size_t		 n = 0;
	const char	*q = s;
	u_int		 i;

	if (strncasecmp(q, "sha256:", 7) == 0)
		q += 7;
	for (; *q != '\0'; q++) {
		if (*q == ':')
			continue;
		if (!isxdigit((u_char)*q) || n == 64)
			break;
		hex[n++] = toupper((u_char)*q);
	}
	if (*q != '\0' || n != 64) {
		xasprintf(cause, "fingerprint must be a SHA-256 in hex "
		    "(sha256:AB:CD:... as loopsy key show --fingerprint "
		    "prints it)");
		return (NULL);
	}
	out = p = xmalloc(7 + 32 * 3);
	p += sprintf(p, "sha256:");
	for (i = 0; i < 32; i++)
		p += sprintf(p, "%s%.2s", i == 0 ? "" : ":", hex + i * 2);
	return (out);
}

/* The key: from --key, or a line of standard input with --key -. */
static char *
cmd_peers_key(struct cmd_ctx *ctx, const char *v)
{
	char	 line[1024];
	size_t	 n;

	if (strcmp(v, "-") == 0) {
		if (fgets(line, sizeof line, stdin) == NULL) {
			cmd_error(ctx, "usage", "--key -: no key on standard "
			    "input");
			return (NULL);
		}
		line[strcspn(line, "\r\n")] = '\0';
		v = line;
	}
	for (n = 0; v[n] != '\0'; n++) {
		if (!isgraph((u_char)v[n]) || v[n] == ',') {
			cmd_error(ctx, "usage", "the key must be printable, "
			    "with no spaces or commas");
			crypto_cleanse(line, sizeof line);
			return (NULL);
		}
	}
	if (n == 0) {
		cmd_error(ctx, "usage", "the key is empty");
		return (NULL);
	}
	v = xstrdup(v);
	crypto_cleanse(line, sizeof line);
	return ((char *)v);
}

/* Connect once and read the certificate's fingerprint. */
static char *
cmd_peers_learn(const char *host, u_int port, char **cause)
{
	SSL_CTX	*sctx;
	SSL	*ssl;
	char	*fp;
	int	 fd;

	if (tls_dial(host, port, &sctx, &ssl, &fd, cause) != 0)
		return (NULL);
	fp = tls_peer_fingerprint(ssl);
	SSL_shutdown(ssl);
	SSL_free(ssl);
	SSL_CTX_free(sctx);
	close(fd);
	if (fp == NULL)
		xasprintf(cause, "%s showed no certificate", host);
	return (fp);
}

static enum cmd_retval
cmd_peers_add(struct cmd_ctx *ctx)
{
	struct args	*a = ctx->args;
	const char	*name = a->argv[0], *v;
	struct peers	 ps;
	struct peer	*p, np;
	char		*cause = NULL, *host = NULL, *fp = NULL, *key = NULL;
	u_int		 port;
	int		 lock = -1, learned = 0;
	enum cmd_retval	 rv = CMD_ERROR;

	memset(&ps, 0, sizeof ps);
	if (msg_args_tail(ctx, 2) != 0)
		return (CMD_USAGE);
	if (peers_valid_name(name, &cause) != 0 ||
	    cmd_peers_hostport(a->argv[1], &host, &port, &cause) != 0) {
		cmd_error(ctx, "usage", "%s", cause);
		free(cause);
		return (CMD_USAGE);
	}
	if ((v = args_get_long(a, "key")) != NULL &&
	    (key = cmd_peers_key(ctx, v)) == NULL)
		goto out;
	if ((v = args_get_long(a, "fingerprint")) != NULL) {
		if ((fp = cmd_peers_fingerprint(v, &cause)) == NULL) {
			cmd_error(ctx, "usage", "%s", cause);
			rv = CMD_USAGE;
			goto out;
		}
	} else {
		if ((fp = cmd_peers_learn(host, port, &cause)) == NULL) {
			cmd_error(ctx, "unreachable", "cannot learn %s's "
			    "certificate: %s; give it with --fingerprint "
			    "(loopsy key show --fingerprint on %s prints it)",
			    name, cause, name);
			goto out;
		}
		learned = 1;
	}
	if ((lock = peers_lock(&cause)) == -1 ||
	    peers_load(&ps, &cause) != 0) {
		cmd_error(ctx, "peers", "%s", cause);
		goto out;
	}
	if ((p = peers_find(&ps, name)) == NULL) {
		memset(&np, 0, sizeof np);
		np.name = xstrdup(name);
		np.how = xstrdup("added");
		np.added_ms = (uint64_t)time(NULL) * 1000;
		ps.v = xreallocarray(ps.v, ps.n + 1, sizeof *ps.v);
		ps.v[ps.n] = np;
		p = &ps.v[ps.n++];
	} else if (p->fingerprint != NULL && strcmp(p->fingerprint, fp) != 0) {
		/*
		 * Learning a new certificate for a peer we know is how a
		 * machine in the middle would get our key: only when told.
		 */
		if (learned && !args_has_long(ctx->args, "force")) {
			cmd_error(ctx, "changed", "%s's certificate is now %s, "
			    "not the pinned %s: if it was regenerated on "
			    "purpose, check it with loopsy key show "
			    "--fingerprint there and give it with "
			    "--fingerprint (or pair again)", name, fp,
			    p->fingerprint);
			goto out;
		}
		cmd_print(ctx, "%s: certificate changed from %s\n", name,
		    p->fingerprint);
	}
	free(p->host);
	p->host = host;
	host = NULL;
	p->port = port;
	free(p->fingerprint);
	p->fingerprint = fp;
	fp = NULL;
	if (key != NULL) {
		free(p->key);
		p->key = key;
		key = NULL;
	}
	if (peers_save(&ps, &cause) != 0) {
		cmd_error(ctx, "peers", "%s", cause);
		goto out;
	}
	cmd_print(ctx, "%s %s port %u, certificate %s%s\n", name, p->host,
	    p->port, p->fingerprint, learned ? " (pinned on first use: "
	    "compare it with loopsy key show --fingerprint there)" : "");
	if (p->key == NULL)
		cmd_print(ctx, "no key for %s yet: add one with --key - (read "
		    "from standard input), or pair with loopsy pair %s\n",
		    name, p->host);
	rv = CMD_OK;
out:
	if (key != NULL)
		crypto_cleanse(key, strlen(key));
	free(key);
	free(cause);
	free(host);
	free(fp);
	peers_clear(&ps);
	if (lock != -1)
		close(lock);
	return (rv);
}

static enum cmd_retval
cmd_peers_remove(struct cmd_ctx *ctx)
{
	const char	*name = ctx->args->argv[0];
	struct peers	 ps, keep;
	char		*cause = NULL;
	u_int		 i;
	int		 lock, found = 0;
	enum cmd_retval	 rv = CMD_ERROR;

	memset(&ps, 0, sizeof ps);
	if ((lock = peers_lock(&cause)) == -1 ||
	    peers_load(&ps, &cause) != 0) {
		cmd_error(ctx, "peers", "%s", cause);
		goto out;
	}
	memset(&keep, 0, sizeof keep);
	keep.v = xcalloc(ps.n + 1, sizeof *keep.v);
	for (i = 0; i < ps.n; i++) {
		if (strcmp(ps.v[i].name, name) == 0) {
			found = 1;
			continue;
		}
		keep.v[keep.n++] = ps.v[i];
	}
	if (!found) {
		cmd_error(ctx, "no-peer", "no peer named %s", name);
		free(keep.v);
		goto out;
	}
	if (peers_save(&keep, &cause) != 0)
		cmd_error(ctx, "peers", "%s", cause);
	else {
		cmd_print(ctx, "removed %s\n", name);
		rv = CMD_OK;
	}
	free(keep.v);
out:
	free(cause);
	peers_clear(&ps);
	if (lock != -1)
		close(lock);
	return (rv);
}

/* Is the peer there, with the certificate we pinned? */
static const char *
cmd_peers_probe(struct peer *p, char **why)
{
	char	*fp, *cause = NULL;

	*why = NULL;
	if ((fp = cmd_peers_learn(p->host, p->port, &cause)) == NULL) {
		*why = cause;
		return ("offline");
	}
	if (p->fingerprint != NULL && strcasecmp(fp, p->fingerprint) != 0) {
		xasprintf(why, "its certificate changed (now %s): pair again",
		    fp);
		free(fp);
		return ("changed");
	}
	free(fp);
	return ("online");
}

/* What the running server's mDNS found, if anything. */
static cJSON *
cmd_peers_discovered(void)
{
	char		*argv[] = { "status", "--json" }, *cause = NULL;
	struct buf	 out;
	cJSON		*j, *d, *found = NULL;

	buf_init(&out);
	if (operate_server_live() &&
	    operate_call(2, argv, &out, &cause) == 0) {
		buf_add(&out, "", 1);
		if ((j = cJSON_Parse(out.data)) != NULL) {
			d = cJSON_GetObjectItem(j, "discovery");
			found = cJSON_DetachItemFromObject(d, "found");
			cJSON_Delete(j);
		}
	}
	free(cause);
	buf_free(&out);
	return (found);
}

static const char *
cmd_peers_ago(uint64_t ms, char *buf, size_t len)
{
	time_t	 t;

	if (ms == 0)
		return ("never");
	t = ms / 1000;
	strftime(buf, len, "%Y-%m-%d %H:%M", localtime(&t));
	return (buf);
}

static enum cmd_retval
cmd_peers_list(struct cmd_ctx *ctx)
{
	struct peers	 ps;
	struct peer	*p;
	cJSON		*j = NULL, *o, *found, *f, *fp, *self;
	char		*cause = NULL, *why, when[32], *s;
	const char	*state;
	int		 json = args_has_long(ctx->args, "json"), known;
	u_int		 i;

	if (peers_load(&ps, &cause) != 0) {
		cmd_error(ctx, "peers", "%s", cause);
		free(cause);
		return (CMD_ERROR);
	}
	tls_timeout_ms = PEERS_PROBE_MS;
	if (json)
		j = cJSON_CreateArray();
	for (i = 0; i < ps.n; i++) {
		p = &ps.v[i];
		state = cmd_peers_probe(p, &why);
		if (json) {
			o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "name", p->name);
			cJSON_AddStringToObject(o, "host", p->host);
			cJSON_AddNumberToObject(o, "port", p->port);
			cJSON_AddStringToObject(o, "state", state);
			cJSON_AddBoolToObject(o, "online",
			    strcmp(state, "online") == 0);
			if (why != NULL)
				cJSON_AddStringToObject(o, "why", why);
			cJSON_AddStringToObject(o, "how", p->how);
			cJSON_AddBoolToObject(o, "paired", 1);
			cJSON_AddBoolToObject(o, "hasKey", p->key != NULL);
			if (p->fingerprint != NULL)
				cJSON_AddStringToObject(o, "fingerprint",
				    p->fingerprint);
			cJSON_AddNumberToObject(o, "lastSeen", p->seen_ms);
			cJSON_AddItemToArray(j, o);
		} else
			cmd_print(ctx, "%s %s:%u %s%s%s (last seen %s, %s)\n",
			    p->name, p->host, p->port, state,
			    why != NULL ? ": " : "", why != NULL ? why : "",
			    cmd_peers_ago(p->seen_ms, when, sizeof when),
			    p->how);
		free(why);
	}
	found = cmd_peers_discovered();
	cJSON_ArrayForEach(f, found) {
		fp = cJSON_GetObjectItem(f, "fingerprint");
		self = cJSON_GetObjectItem(f, "self");
		if (cJSON_IsTrue(self))
			continue;
		known = 0;
		for (i = 0; i < ps.n; i++) {
			if (cJSON_IsString(fp) && ps.v[i].fingerprint != NULL &&
			    strcasecmp(fp->valuestring,
			    ps.v[i].fingerprint) == 0)
				known = 1;
		}
		if (known)
			continue;
		if (json) {
			o = cJSON_Duplicate(f, 1);
			cJSON_AddStringToObject(o, "state", "discovered");
			cJSON_AddBoolToObject(o, "paired", 0);
			cJSON_AddStringToObject(o, "how", "mdns");
			cJSON_AddItemToArray(j, o);
		} else {
			s = cJSON_PrintUnformatted(cJSON_GetObjectItem(f,
			    "address"));
			cmd_print(ctx, "%s %s:%d discovered, not paired "
			    "(pair with loopsy pair %s)\n",
			    cJSON_IsString(cJSON_GetObjectItem(f, "name")) ?
			    cJSON_GetObjectItem(f, "name")->valuestring : "?",
			    cJSON_IsString(cJSON_GetObjectItem(f, "address")) ?
			    cJSON_GetObjectItem(f, "address")->valuestring :
			    "?", cJSON_GetObjectItem(f, "port") != NULL ?
			    cJSON_GetObjectItem(f, "port")->valueint : 0,
			    cJSON_IsString(cJSON_GetObjectItem(f, "address")) ?
			    cJSON_GetObjectItem(f, "address")->valuestring :
			    "HOST");
			free(s);
		}
	}
	cJSON_Delete(found);
	if (json) {
		s = cJSON_PrintUnformatted(j);
		cmd_print(ctx, "%s\n", s);
		free(s);
		cJSON_Delete(j);
	} else if (ps.n == 0)
		cmd_print(ctx, "no peers: add one with loopsy pair HOST or "
		    "loopsy peers add NAME HOST\n");
	peers_clear(&ps);
	return (CMD_OK);
}

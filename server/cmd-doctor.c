/*
 * server/cmd-doctor.c: loopsy doctor [--json]: a table of checks (config,
 * file modes, API key, TLS identity, server, network exposure, relay, peers,
 * mDNS, MCP, login service), each ok, info, warn or fail with a one-line fix.
 * Exits 1 if any check fails.  Runs in the client; asks the server for its
 * status over the socket.  Never prints a secret.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "common/crypto.h"
#include "server.h"

#define DOCTOR_AVAHI_SOCKET	"/run/avahi-daemon/socket"

static enum cmd_retval	cmd_doctor(struct cmd_ctx *);

const struct cmd_def cmd_doctor_def = {
	.name = "doctor",
	.alias = NULL,
	.flags = "",
	.longs = "json",
	.min_args = 0, .max_args = 0,
	.usage = "[--json]",
	.client = 1,
	.run = cmd_doctor,
	.local_only = 1
};

enum doctor_status { DOCTOR_OK, DOCTOR_INFO, DOCTOR_WARN, DOCTOR_FAIL };
static const char *doctor_names[] = { "ok", "info", "warn", "fail" };

struct doctor {
	struct config	 config;
	int		 config_ok;	/* config.yaml exists and parses */
	cJSON		*server;	/* status --json, NULL if none */
	char		*server_error;
};

struct doctor_result {
	enum doctor_status status;
	char		*detail;
	char		*fix;		/* NULL: nothing to do */
};

static void __printflike(3, 4)
doctor_set(struct doctor_result *r, enum doctor_status status,
    const char *fmt, ...)
{
	va_list	 ap;

	r->status = status;
	va_start(ap, fmt);
	xvasprintf(&r->detail, fmt, ap);
	va_end(ap);
}

static void __printflike(2, 3)
doctor_fix(struct doctor_result *r, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	xvasprintf(&r->fix, fmt, ap);
	va_end(ap);
}

static void
doctor_config(struct doctor *d, struct doctor_result *r)
{
	char	*path = config_path(), *cause = NULL;

	if (access(path, F_OK) != 0) {
		doctor_set(r, DOCTOR_FAIL, "%s: %s", path, strerror(errno));
		doctor_fix(r, "loopsy init");
	} else if (config_load(path, &d->config, &cause) != 0) {
		doctor_set(r, DOCTOR_FAIL, "%s", cause);
		doctor_fix(r, "edit %s where it says (loopsy config check "
		    "checks it again)", path);
	} else {
		doctor_set(r, DOCTOR_OK, "%s parses", path);
		d->config_ok = 1;
	}
	free(cause);
	free(path);
}

/* A file or directory no more open than max. */
static void
doctor_mode(struct doctor_result *r, char *path, mode_t max)
{
	char		*cause = NULL;
	struct stat	 sb;

	if (access(path, F_OK) != 0) {
		doctor_set(r, DOCTOR_FAIL, "%s: %s", path, strerror(errno));
		doctor_fix(r, "loopsy init");
	} else if (operate_check_mode(path, max, &cause) != 0) {
		doctor_set(r, DOCTOR_FAIL, "%s", cause);
		if (lstat(path, &sb) == 0 && S_ISLNK(sb.st_mode))
			doctor_fix(r, "cp --remove-destination \"$(readlink -f "
			    "%s)\" %s && chmod %o %s", path, path, max, path);
		else
			doctor_fix(r, "chmod %o %s", max, path);
	} else
		doctor_set(r, DOCTOR_OK, "%s is private (%04o)", path, max);
	free(cause);
	free(path);
}

static void
doctor_home(struct doctor *d __unused, struct doctor_result *r)
{
	doctor_mode(r, loopsy_home(), S_IRWXU);
}

static void
doctor_config_mode(struct doctor *d __unused, struct doctor_result *r)
{
	doctor_mode(r, config_path(), S_IRUSR|S_IWUSR);
}

static void
doctor_tls_key(struct doctor *d __unused, struct doctor_result *r)
{
	doctor_mode(r, loopsy_path("tls/key.pem"), S_IRUSR|S_IWUSR);
}

static int
doctor_skip(struct doctor *d, struct doctor_result *r)
{
	if (d->config_ok)
		return (0);
	doctor_set(r, DOCTOR_INFO, "not checked: config.yaml is missing or "
	    "does not parse");
	return (1);
}

static void
doctor_api_key(struct doctor *d, struct doctor_result *r)
{
	if (doctor_skip(d, r))
		return;
	if (d->config.api_key == NULL || *d->config.api_key == '\0') {
		doctor_set(r, DOCTOR_FAIL, "auth.apiKey is not set");
		doctor_fix(r, "loopsy key generate");
	} else if (!crypto_key_valid(d->config.api_key)) {
		doctor_set(r, DOCTOR_FAIL, "auth.apiKey is not 64 hex digits "
		    "(256 random bits)");
		doctor_fix(r, "loopsy key generate");
	} else
		doctor_set(r, DOCTOR_OK, "auth.apiKey is 256 bits");
}

/* Parse the certificate; does it match the key; when does it expire. */
static void
doctor_tls_cert(struct doctor *d __unused, struct doctor_result *r)
{
	char			*cpath = loopsy_path("tls/cert.pem");
	char			*kpath = loopsy_path("tls/key.pem");
	char			*cert = NULL, *key = NULL, *cause = NULL;
	size_t			 clen, klen;
	struct crypto_cert_info	 info;
	char			 when[32];

	memset(&info, 0, sizeof info);
	if ((cert = file_read(cpath, 1024 * 1024, &clen, &cause)) == NULL) {
		doctor_set(r, DOCTOR_FAIL, "%s: %s", cpath, cause != NULL ?
		    cause : "missing");
		doctor_fix(r, "loopsy init");
	} else if (crypto_cert_info(cert, clen, &info, &cause) != 0) {
		doctor_set(r, DOCTOR_FAIL, "%s: %s", cpath, cause);
		doctor_fix(r, "loopsy init --force");
	} else if (info.expired) {
		doctor_set(r, DOCTOR_FAIL, "%s expired", cpath);
		doctor_fix(r, "loopsy init --force");
	} else if ((key = file_read(kpath, 1024 * 1024, &klen,
	    &cause)) == NULL) {
		doctor_set(r, DOCTOR_FAIL, "%s: %s", kpath, cause != NULL ?
		    cause : "missing");
		doctor_fix(r, "loopsy init");
	} else if (crypto_key_matches_cert(key, klen, cert, clen,
	    &cause) != 0) {
		doctor_set(r, DOCTOR_FAIL, "%s: %s", cpath, cause);
		doctor_fix(r, "loopsy init --force");
	} else {
		strftime(when, sizeof when, "%Y-%m-%d",
		    gmtime(&info.not_after));
		doctor_set(r, DOCTOR_OK, "%s, %s, valid until %s", info.subject,
		    info.fingerprint, when);
	}
	crypto_cert_info_free(&info);
	if (key != NULL)
		crypto_cleanse(key, klen);
	free(key);
	free(cert);
	free(cause);
	free(cpath);
	free(kpath);
}

/* A field of the server's status, whatever that status holds. */
static int
doctor_int(cJSON *o, const char *name)
{
	cJSON	*n = cJSON_GetObjectItem(o, name);

	return (cJSON_IsNumber(n) ? n->valueint : 0);
}

static const char *
doctor_str(cJSON *o, const char *name)
{
	const char	*s = cJSON_GetStringValue(cJSON_GetObjectItem(o, name));

	return (s != NULL ? s : "?");
}

static void
doctor_server(struct doctor *d, struct doctor_result *r)
{
	cJSON	*s = d->server;

	if (s == NULL) {
		doctor_set(r, DOCTOR_FAIL, "%s", d->server_error);
		doctor_fix(r, "loopsy start (or loopsy enable to start it at "
		    "login)");
		return;
	}
	doctor_set(r, DOCTOR_OK, "running on %s, pid %d, loopsy %s, up %ds, "
	    "%d sessions, started by %s", doctor_str(s, "socket"),
	    doctor_int(s, "pid"), doctor_str(s, "version"),
	    doctor_int(s, "uptime"),
	    doctor_int(cJSON_GetObjectItem(s, "sessions"), "total"),
	    doctor_str(s, "started"));
}

/* Who can reach the peer listener: --lan and server.host; is it on. */
static void
doctor_network(struct doctor *d, struct doctor_result *r)
{
	const char	*host = d->config.server_host, *listen = NULL;
	cJSON		*l;

	if (doctor_skip(d, r))
		return;
	if (d->server != NULL &&
	    cJSON_IsString(l = cJSON_GetObjectItem(d->server, "listen")))
		listen = l->valuestring;
	if (listen != NULL && strncmp(listen, "off", 3) == 0) {
		doctor_set(r, DOCTOR_WARN, "the peer listener is %s", listen);
		doctor_fix(r, "run loopsy init for a key and certificate, or "
		    "free server.port (%u) or choose another in config.yaml, "
		    "then loopsy config reload", d->config.server_port);
	} else if (d->server != NULL &&
	    cJSON_IsTrue(cJSON_GetObjectItem(d->server, "lan"))) {
		doctor_set(r, DOCTOR_INFO, "the server was started with --lan: "
		    "peers on the network reach %s", listen != NULL ? listen :
		    "0.0.0.0");
	} else if (host != NULL && strcmp(host, "127.0.0.1") != 0 &&
	    strcmp(host, "localhost") != 0 && strcmp(host, "::1") != 0) {
		doctor_set(r, DOCTOR_WARN, "server.host is %s: peers on the "
		    "network reach %s:%u", host, host, d->config.server_port);
		doctor_fix(r, "set server.host: 127.0.0.1 in config.yaml "
		    "unless you mean it (loopsy start --lan opts in per run)");
	} else
		doctor_set(r, DOCTOR_OK, "peers only from this machine "
		    "(%s); loopsy start --lan opts in", listen != NULL ?
		    listen : "127.0.0.1");
}

/* The relay link, as the server sees it; relay.url in config.yaml. */
static void
doctor_relay(struct doctor *d, struct doctor_result *r)
{
	struct relay_conf	 rc;
	cJSON			*o;
	const char		*state, *text, *err, *want;
	char			*cause = NULL;
	int			 have;

	if (doctor_skip(d, r))
		return;
	want = d->config.relay_url;
	if ((have = relay_conf_load(&rc, &cause)) == -1) {
		doctor_set(r, DOCTOR_FAIL, "%s", cause);
		doctor_fix(r, "loopsy relay configure URL --force");
		free(cause);
		return;
	}
	if (have == 0) {
		if (want != NULL) {
			doctor_set(r, DOCTOR_WARN, "relay.url is %s in "
			    "config.yaml, but this machine is not registered "
			    "with it", want);
			doctor_fix(r, "loopsy relay configure %s", want);
		} else
			doctor_set(r, DOCTOR_INFO, "not configured (loopsy "
			    "relay configure URL lets phones reach this "
			    "machine)");
		return;
	}
	o = d->server != NULL ? cJSON_GetObjectItem(d->server, "relay") : NULL;
	state = cJSON_GetStringValue(cJSON_GetObjectItem(o, "state"));
	text = cJSON_GetStringValue(cJSON_GetObjectItem(o, "text"));
	err = cJSON_GetStringValue(cJSON_GetObjectItem(o, "error"));
	if (want != NULL && strcmp(want, rc.url) != 0) {
		doctor_set(r, DOCTOR_WARN, "relay.url is %s in config.yaml, "
		    "but this machine is registered with %s", want, rc.url);
		doctor_fix(r, "loopsy relay configure %s --force, or set "
		    "relay.url to %s", want, rc.url);
	} else if (d->server == NULL) {
		doctor_set(r, DOCTOR_INFO, "registered with %s as %s; the "
		    "link runs in the server, which is not running", rc.url,
		    rc.device_id);
		doctor_fix(r, "loopsy start (or loopsy enable)");
	} else if (state != NULL && strcmp(state, "connected") == 0)
		doctor_set(r, DOCTOR_OK, "%s, as %s; phones: %d paired, %d "
		    "connections open", text, rc.device_id,
		    doctor_int(o, "phones"), doctor_int(o, "channels"));
	else {
		doctor_set(r, DOCTOR_WARN, "the relay link is %s", text !=
		    NULL ? text : "unknown (an older server?)");
		if (err != NULL && strstr(err, "(401") != NULL)
			doctor_fix(r, "loopsy relay configure %s --force",
			    rc.url);
		else if (err != NULL && strstr(err, "certificate") != NULL)
			doctor_fix(r, "check the relay's certificate; loopsy "
			    "relay configure %s --fingerprint sha256:... pins "
			    "one", rc.url);
		else
			doctor_fix(r, "check that %s is up and reachable from "
			    "here (loopsy relay status follows the link)",
			    rc.url);
	}
	relay_conf_clear(&rc);
}

static void
doctor_relay_json(struct doctor *d __unused, struct doctor_result *r)
{
	char	*path = relay_conf_path();

	if (access(path, F_OK) != 0) {
		doctor_set(r, DOCTOR_INFO, "no relay.json (not registered "
		    "with a relay)");
		free(path);
		return;
	}
	doctor_mode(r, path, S_IRUSR|S_IWUSR);
}

static void
doctor_phone_key(struct doctor *d __unused, struct doctor_result *r)
{
	char	*path = phone_key_path(), *dir = loopsy_path("phones");

	if (access(dir, F_OK) == 0 &&
	    operate_check_mode(dir, S_IRWXU, &r->detail) != 0) {
		r->status = DOCTOR_FAIL;
		doctor_fix(r, "chmod 700 %s", dir);
		free(path);
		free(dir);
		return;
	}
	free(dir);
	if (access(path, F_OK) != 0) {
		doctor_set(r, DOCTOR_INFO, "no phone key yet (loopsy mobile "
		    "pair makes it)");
		free(path);
		return;
	}
	doctor_mode(r, path, S_IRUSR|S_IWUSR);
}

/* The stores and logs: 0600 when there (loopsy init repairs them). */
static void
doctor_stores_mode(struct doctor *d __unused, struct doctor_result *r)
{
	char	*path, *cause = NULL;
	u_int	 i;

	for (i = 0; i < nitems(loopsy_private_files); i++) {
		path = loopsy_path(loopsy_private_files[i]);
		if (access(path, F_OK) == 0 && operate_check_mode(path,
		    S_IRUSR|S_IWUSR, &cause) != 0) {
			free(cause);
			doctor_mode(r, path, S_IRUSR|S_IWUSR);	/* the fix */
			return;
		}
		free(path);
	}
	doctor_set(r, DOCTOR_OK, "the stores and logs are private (0600)");
}

static void
doctor_peers(struct doctor *d, struct doctor_result *r)
{
	struct peers	 ps;
	char		*cause = NULL;
	u_int		 i, weak = 0, nokey = 0, nofp = 0;

	if (doctor_skip(d, r))
		return;
	for (i = 0; i < d->config.nallowed_keys; i++) {
		if (strlen(d->config.allowed_keys[i].value) < 32)
			weak++;
	}
	if (peers_load(&ps, &cause) != 0) {
		doctor_set(r, DOCTOR_FAIL, "%s", cause);
		doctor_fix(r, "move peers.json aside and add the peers again "
		    "(loopsy pair HOST)");
		free(cause);
		return;
	}
	for (i = 0; i < ps.n; i++) {
		if (ps.v[i].key == NULL)
			nokey++;
		if (ps.v[i].fingerprint == NULL)
			nofp++;
	}
	if (weak != 0) {
		doctor_set(r, DOCTOR_WARN, "%u of the keys in auth.allowedKeys "
		    "are shorter than 32 characters", weak);
		doctor_fix(r, "have those peers run loopsy key generate and "
		    "store their new keys");
	} else if (nokey != 0 || nofp != 0) {
		doctor_set(r, DOCTOR_WARN, "%u of %u peers have no key, %u no "
		    "pinned certificate: they cannot be reached", nokey, ps.n,
		    nofp);
		doctor_fix(r, "loopsy pair HOST, or loopsy peers add NAME HOST "
		    "--key - (loopsy peers list shows which)");
	} else if (ps.n == 0 && d->config.nallowed_keys == 0)
		doctor_set(r, DOCTOR_INFO, "no peers (loopsy pair HOST adds "
		    "one)");
	else
		doctor_set(r, DOCTOR_OK, "%u peers in peers.json, %u keys in "
		    "auth.allowedKeys (loopsy peers list tries them)", ps.n,
		    d->config.nallowed_keys);
	peers_clear(&ps);
}

/* Without a server: is discovery enabled, is avahi-daemon there at all. */
static void
doctor_mdns_offline(struct doctor *d, struct doctor_result *r)
{
	struct stat	 sb;

	if (!d->config.discovery)
		doctor_set(r, DOCTOR_INFO, "off (discovery.enabled is false)");
	else if (stat(DOCTOR_AVAHI_SOCKET, &sb) == 0 && S_ISSOCK(sb.st_mode))
		doctor_set(r, DOCTOR_OK, "avahi-daemon is running (%s)",
		    DOCTOR_AVAHI_SOCKET);
	else {
		doctor_set(r, DOCTOR_WARN, "mDNS off: avahi-daemon is not "
		    "running; loopsy works without it");
		doctor_fix(r, "start avahi-daemon, or set discovery.enabled: "
		    "false");
	}
}

/* The server says what discovery is doing: "on" or "off: why". */
static void
doctor_mdns(struct doctor *d, struct doctor_result *r)
{
	cJSON		*o, *found;
	const char	*state;

	if (doctor_skip(d, r))
		return;
	o = cJSON_GetObjectItem(d->server, "discovery");
	state = cJSON_GetStringValue(cJSON_GetObjectItem(o, "state"));
	if (state == NULL || strcmp(state, "off: starting") == 0) {
		doctor_mdns_offline(d, r);
		return;
	}
	found = cJSON_GetObjectItem(o, "found");
	if (strcmp(state, "on") == 0)
		doctor_set(r, DOCTOR_OK, "on: publishing _loopsy._tcp; %d "
		    "loopsy servers seen (this one counts)",
		    cJSON_GetArraySize(found));
	else if (strncmp(state, "off: disabled", 13) == 0)
		doctor_set(r, DOCTOR_INFO, "mDNS %s", state);
	else {
		doctor_set(r, DOCTOR_WARN, "mDNS %s; loopsy works without it",
		    state);
		if (strstr(state, "cannot load") != NULL)
			doctor_fix(r, "install avahi-daemon (and "
			    "libavahi-client3), or set discovery.enabled: "
			    "false");
		else
			doctor_fix(r, "start avahi-daemon, or set "
			    "discovery.enabled: false");
	}
}

/* For each agent whose config exists: is loopsy mcp registered there. */
static void
doctor_mcp(struct doctor *d __unused, struct doctor_result *r)
{
	struct buf		 b, missing;
	enum doctor_status	 st = DOCTOR_OK;
	char			*cmd, *cause;
	u_int			 i, seen = 0;

	buf_init(&b);
	buf_init(&missing);
	for (i = 0; i < MCP_NAGENTS; i++) {
		switch (mcp_agent_registered(i, &cmd, &cause)) {
		case MCP_REG_NOCONFIG:
			continue;
		case MCP_REG_ERROR:
			buf_printf(&b, "%s%s: %s", seen ? "; " : "",
			    mcp_agent_name(i), cause);
			st = DOCTOR_WARN;
			break;
		case MCP_REG_ABSENT:
			buf_printf(&b, "%s%s: not registered", seen ? "; " :
			    "", mcp_agent_name(i));
			buf_printf(&missing, " %s", mcp_agent_name(i));
			if (st == DOCTOR_OK)
				st = DOCTOR_INFO;
			break;
		case MCP_REG_PRESENT:
			if (cmd != NULL && access(cmd, X_OK) != 0) {
				buf_printf(&b, "%s%s: registered, but %s is "
				    "gone", seen ? "; " : "", mcp_agent_name(i),
				    cmd);
				buf_printf(&missing, " %s", mcp_agent_name(i));
				st = DOCTOR_WARN;
			} else
				buf_printf(&b, "%s%s: registered (%s)", seen ?
				    "; " : "", mcp_agent_name(i), cmd != NULL ?
				    cmd : "?");
			break;
		}
		seen++;
		free(cmd);
		free(cause);
	}
	buf_add(&b, "", 1);
	if (seen == 0)
		doctor_set(r, DOCTOR_INFO, "no agent config found (Claude Code, "
		    "Codex CLI, Gemini CLI, opencode); loopsy mcp install "
		    "AGENT registers loopsy mcp");
	else
		doctor_set(r, st, "%s", b.data);
	if (missing.len != 0) {
		buf_add(&missing, "", 1);
		doctor_fix(r, "loopsy mcp install%s", missing.data);
	}
	buf_free(&missing);
	buf_free(&b);
}

static void
doctor_service(struct doctor *d __unused, struct doctor_result *r)
{
	char	*path = cmd_enable_path();

	if (access(path, F_OK) == 0)
		doctor_set(r, DOCTOR_INFO, "login service installed: %s", path);
	else
		doctor_set(r, DOCTOR_INFO, "no login service (loopsy enable "
		    "starts the server at login)");
	free(path);
}

static const struct {
	const char	*name;
	void		(*check)(struct doctor *, struct doctor_result *);
} doctor_checks[] = {
	{ "config", doctor_config },
	{ "home", doctor_home },
	{ "config-mode", doctor_config_mode },
	{ "api-key", doctor_api_key },
	{ "tls-key", doctor_tls_key },
	{ "tls-cert", doctor_tls_cert },
	{ "server", doctor_server },
	{ "network", doctor_network },
	{ "relay", doctor_relay },
	{ "relay-json", doctor_relay_json },
	{ "phone-key", doctor_phone_key },
	{ "stores-mode", doctor_stores_mode },
	{ "peers", doctor_peers },
	{ "mdns", doctor_mdns },
	{ "mcp", doctor_mcp },
	{ "service", doctor_service },
};

static void
doctor_ask_server(struct doctor *d)
{
	char		*argv[] = { "status", "--json" };
	struct buf	 out;

	buf_init(&out);
	if (operate_call(2, argv, &out, &d->server_error) == 0) {
		buf_add(&out, "", 1);
		d->server = cJSON_Parse(out.data);
		if (d->server != NULL && !cJSON_IsObject(d->server)) {
			cJSON_Delete(d->server);
			d->server = NULL;
		}
	}
	if (d->server == NULL && d->server_error == NULL)
		d->server_error = xstrdup("the server's status did not parse");
	buf_free(&out);
}

static enum cmd_retval
cmd_doctor(struct cmd_ctx *ctx)
{
	struct doctor		 d;
	struct doctor_result	 r;
	int			 json = args_has_long(ctx->args, "json");
	u_int			 i, counts[4] = { 0, 0, 0, 0 };
	cJSON			*j = cJSON_CreateObject(), *arr, *o;

	memset(&d, 0, sizeof d);
	config_defaults(&d.config);
	doctor_ask_server(&d);
	arr = cJSON_AddArrayToObject(j, "checks");
	for (i = 0; i < nitems(doctor_checks); i++) {
		memset(&r, 0, sizeof r);
		doctor_checks[i].check(&d, &r);
		counts[r.status]++;
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "name", doctor_checks[i].name);
		cJSON_AddStringToObject(o, "status", doctor_names[r.status]);
		cJSON_AddStringToObject(o, "detail", r.detail);
		if (r.fix != NULL)
			cJSON_AddStringToObject(o, "fix", r.fix);
		cJSON_AddItemToArray(arr, o);
		if (!json) {
			cmd_print(ctx, "%-4s  %-11s  %s\n",
			    doctor_names[r.status], doctor_checks[i].name,
			    r.detail);
			if (r.fix != NULL)
				cmd_print(ctx, "%19s%s\n", "fix: ", r.fix);
		}
		free(r.detail);
		free(r.fix);
	}
	cJSON_AddBoolToObject(j, "ok", counts[DOCTOR_FAIL] == 0);
	if (json)
		cmd_print_json(ctx, j);
	else {
		cmd_print(ctx, "%u ok, %u info, %u warnings, %u failed\n",
		    counts[DOCTOR_OK], counts[DOCTOR_INFO], counts[DOCTOR_WARN],
		    counts[DOCTOR_FAIL]);
		cJSON_Delete(j);
	}
	config_clear(&d.config);
	cJSON_Delete(d.server);
	free(d.server_error);
	ctx->exit_status = counts[DOCTOR_FAIL] != 0;
	return (CMD_OK);
}

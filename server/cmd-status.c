/*
 * server/cmd-status.c: loopsy status [--json]: is the server up, since when,
 * its pid, version, socket and config file, how many sessions (running and
 * exited) and attached clients, whether it was started by loopsy start or on
 * demand, where peers will reach it (--lan, server.host) and whether mDNS
 * discovery is on (and what it found, in --json), and the relay link
 * with the phones paired through it.  With no
 * server the client says "no server running on SOCKET" and exits 1.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "server.h"

static enum cmd_retval	cmd_status(struct cmd_ctx *);

const struct cmd_def cmd_status_def = {
	.name = "status",
	.alias = NULL,
	.flags = "",
	.longs = "json",
	.min_args = 0, .max_args = 0,
	.usage = "[--json]",
	.run = cmd_status
};

/* Where the peer listener binds: --lan wins over server.host. */
static const char *
cmd_status_bind(void)
{
	if (server_lan)
		return ("0.0.0.0");
	return (config.server_host != NULL ? config.server_host : "127.0.0.1");
}

static cJSON *
cmd_status_json(void)
{
	cJSON		*j = cJSON_CreateObject(), *o;
	struct session	*s;
	struct client	*c;
	u_int		 running = 0, exited = 0, attached = 0;
	char		*path = config_path();

	TAILQ_FOREACH(s, &sessions, entry) {
		if (s->dead)
			exited++;
		else
			running++;
	}
	TAILQ_FOREACH(c, &clients, entry) {
		if (c->flags & CLIENT_ATTACHED)
			attached++;
	}
	cJSON_AddNumberToObject(j, "pid", getpid());
	cJSON_AddStringToObject(j, "version", PACKAGE_VERSION);
	cJSON_AddNumberToObject(j, "uptime", time(NULL) - server_started);
	cJSON_AddStringToObject(j, "socket", server_socket_path);
	cJSON_AddStringToObject(j, "config", path);
	o = cJSON_AddObjectToObject(j, "sessions");
	cJSON_AddNumberToObject(o, "total", running + exited);
	cJSON_AddNumberToObject(o, "running", running);
	cJSON_AddNumberToObject(o, "exited", exited);
	cJSON_AddNumberToObject(j, "clients", attached);
	cJSON_AddStringToObject(j, "started", server_exit_when_empty ?
	    "on-demand" : "start");
	cJSON_AddBoolToObject(j, "lan", server_lan);
	cJSON_AddStringToObject(j, "host", cmd_status_bind());
	cJSON_AddNumberToObject(j, "port", listen_port() != 0 ?
	    listen_port() : config.server_port);
	cJSON_AddBoolToObject(j, "listening", listen_port() != 0);
	cJSON_AddStringToObject(j, "listen", listen_state());
	o = cJSON_AddObjectToObject(j, "discovery");
	cJSON_AddStringToObject(o, "state", discovery_state());
	cJSON_AddItemToObject(o, "found", discovery_list());
	cJSON_AddItemToObject(j, "relay", relay_link_json());
	free(path);
	return (j);
}

static void
cmd_status_uptime(struct cmd_ctx *ctx, long t)
{
	if (t >= 86400)
		cmd_print(ctx, "%ldd", t / 86400);
	if (t >= 3600)
		cmd_print(ctx, "%ldh", t % 86400 / 3600);
	if (t >= 60)
		cmd_print(ctx, "%ldm", t % 3600 / 60);
	cmd_print(ctx, "%lds", t % 60);
}

static enum cmd_retval
cmd_status(struct cmd_ctx *ctx)
{
	cJSON		*j = cmd_status_json(), *o;
	const char	*host = cmd_status_bind();

	if (args_has_long(ctx->args, "json")) {
		cmd_print_json(ctx, j);
		return (CMD_OK);
	}
	cmd_print(ctx, "server running, pid %ld, loopsy %s, up ", (long)getpid(),
	    PACKAGE_VERSION);
	cmd_status_uptime(ctx, time(NULL) - server_started);
	cmd_print(ctx, "\nsocket:   %s\n", server_socket_path);
	cmd_print(ctx, "config:   %s\n",
	    cJSON_GetObjectItem(j, "config")->valuestring);
	cmd_print(ctx, "sessions: %u (%u running, %u exited)\n",
	    session_count(),
	    cJSON_GetObjectItem(cJSON_GetObjectItem(j, "sessions"),
	    "running")->valueint,
	    cJSON_GetObjectItem(cJSON_GetObjectItem(j, "sessions"),
	    "exited")->valueint);
	cmd_print(ctx, "clients:  %d attached\n",
	    cJSON_GetObjectItem(j, "clients")->valueint);
	cmd_print(ctx, "started:  %s\n", server_exit_when_empty ?
	    "on demand (exits with its last session)" :
	    "by loopsy start (runs with no sessions)");
	cmd_print(ctx, "peers:    %s%s\n", listen_state(), server_lan ?
	    " (start --lan)" : strcmp(host, "127.0.0.1") != 0 ?
	    " (server.host in config.yaml)" : " (this machine only; "
	    "--lan or server.host opens it)");
	cmd_print(ctx, "mDNS:     %s\n", discovery_state());
	o = cJSON_GetObjectItem(j, "relay");
	cmd_print(ctx, "relay:    %s\n", relay_link_state());
	if (cJSON_IsTrue(cJSON_GetObjectItem(o, "configured")))
		cmd_print(ctx, "phones:   %d paired, %d connections open\n",
		    cJSON_GetObjectItem(o, "phones")->valueint,
		    cJSON_GetObjectItem(o, "channels")->valueint);
	cJSON_Delete(j);
	return (CMD_OK);
}

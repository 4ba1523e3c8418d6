/*
 * server/cmd-stats.c: counters for tests and benchmarks: bytes in and out,
 * frames sent and skipped per client, output queues, scrollback, RSS, bytes
 * of pushes' parts read back to resume them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "server.h"

static enum cmd_retval	cmd_stats(struct cmd_ctx *);

const struct cmd_def cmd_stats_def = {
	.name = "stats",
	.alias = NULL,
	.flags = "",
	.longs = "json",
	.min_args = 0, .max_args = 0,
	.usage = "[--json]",
	.run = cmd_stats
};

static long
cmd_stats_rss_kib(void)
{
	FILE	*f;
	long	 pages = 0, rss = 0;

	if ((f = fopen("/proc/self/statm", "r")) == NULL)
		return (0);
	if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
		rss = 0;
	fclose(f);
	return (rss * (sysconf(_SC_PAGESIZE) / 1024));
}

static cJSON *
cmd_stats_json(void)
{
	cJSON		*j = cJSON_CreateObject(), *arr, *o;
	struct session	*s;
	struct client	*c;

	cJSON_AddNumberToObject(j, "pid", getpid());
	cJSON_AddNumberToObject(j, "uptime", time(NULL) - server_started);
	cJSON_AddNumberToObject(j, "rss_kib", cmd_stats_rss_kib());
	cJSON_AddNumberToObject(j, "history_bytes", server_history.used);
	cJSON_AddNumberToObject(j, "history_budget", server_history.limit);
	cJSON_AddNumberToObject(j, "frames_sent", server_stats_frames_sent);
	cJSON_AddNumberToObject(j, "frames_skipped",
	    server_stats_frames_skipped);
	cJSON_AddNumberToObject(j, "transfer_rehashed", transfer_rehashed);
	arr = cJSON_AddArrayToObject(j, "sessions");
	TAILQ_FOREACH(s, &sessions, entry) {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "name", s->name);
		cJSON_AddNumberToObject(o, "bytes_in", s->bytes_read);
		cJSON_AddNumberToObject(o, "bytes_to_pty", s->bytes_written);
		cJSON_AddNumberToObject(o, "history_lines",
		    screen_history_size(s->screen));
		cJSON_AddNumberToObject(o, "history_bytes",
		    screen_history_bytes(s->screen));
		cJSON_AddItemToArray(arr, o);
	}
	arr = cJSON_AddArrayToObject(j, "clients");
	TAILQ_FOREACH(c, &clients, entry) {
		if (!(c->flags & CLIENT_ATTACHED))
			continue;
		o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "id", c->id);
		cJSON_AddStringToObject(o, "session", c->session->name);
		cJSON_AddNumberToObject(o, "bytes_out", c->bytes_out);
		cJSON_AddNumberToObject(o, "frames_sent", c->frames_sent);
		cJSON_AddNumberToObject(o, "frames_skipped", c->frames_skipped);
		cJSON_AddNumberToObject(o, "frames_paced", c->frames_paced);
		cJSON_AddNumberToObject(o, "queued", server_client_queued(c));
		cJSON_AddBoolToObject(o, "tty", c->tty != NULL);
		cJSON_AddBoolToObject(o, "readonly",
		    (c->flags & CLIENT_READONLY) != 0);
		cJSON_AddItemToArray(arr, o);
	}
	return (j);
}

static enum cmd_retval
cmd_stats(struct cmd_ctx *ctx)
{
	cJSON	*j = cmd_stats_json(), *o;

	if (args_has_long(ctx->args, "json")) {
		cmd_print_json(ctx, j);
		return (CMD_OK);
	}
	cmd_print(ctx, "pid %d, uptime %ds, rss %d KiB, history %d of %d "
	    "bytes, frames sent %d, skipped %d\n",
	    cJSON_GetObjectItem(j, "pid")->valueint,
	    cJSON_GetObjectItem(j, "uptime")->valueint,
	    cJSON_GetObjectItem(j, "rss_kib")->valueint,
	    (int)cJSON_GetObjectItem(j, "history_bytes")->valuedouble,
	    (int)cJSON_GetObjectItem(j, "history_budget")->valuedouble,
	    (int)cJSON_GetObjectItem(j, "frames_sent")->valuedouble,
	    (int)cJSON_GetObjectItem(j, "frames_skipped")->valuedouble);
	cJSON_ArrayForEach(o, cJSON_GetObjectItem(j, "clients")) {
		cmd_print(ctx, "client %d (%s): %.0f bytes out, %.0f frames, "
		    "%.0f skipped, %.0f queued\n",
		    cJSON_GetObjectItem(o, "id")->valueint,
		    cJSON_GetObjectItem(o, "session")->valuestring,
		    cJSON_GetObjectItem(o, "bytes_out")->valuedouble,
		    cJSON_GetObjectItem(o, "frames_sent")->valuedouble,
		    cJSON_GetObjectItem(o, "frames_skipped")->valuedouble,
		    cJSON_GetObjectItem(o, "queued")->valuedouble);
	}
	cJSON_Delete(j);
	return (CMD_OK);
}

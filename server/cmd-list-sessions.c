/* server/cmd-list-sessions.c: one line (or JSON object) per session. */

#include <sys/wait.h>

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "server.h"

static enum cmd_retval	cmd_list_sessions(struct cmd_ctx *);

const struct cmd_def cmd_list_sessions_def = {
	.name = "list-sessions",
	.alias = "ls",
	.flags = "F:t:",
	.longs = "json",
	.min_args = 0, .max_args = 0,
	.usage = "[-F format] [-t host:] [--json]",
	.run = cmd_list_sessions
};

#define LS_FORMAT "#{session_name}: #{session_status} " \
	"[#{session_width}x#{session_height}] (created #{session_created_string})" \
	"#{session_attached_string}"

cJSON *
cmd_session_json(struct session *s)
{
	cJSON	*j = cJSON_CreateObject();
	char	*st = session_status_string(s);

	cJSON_AddStringToObject(j, "name", s->name);
	cJSON_AddNumberToObject(j, "id", s->id);
	cJSON_AddStringToObject(j, "status", s->dead ? "exited" : "running");
	cJSON_AddStringToObject(j, "state", st);
	if (s->dead && WIFEXITED(s->status))
		cJSON_AddNumberToObject(j, "exit", WEXITSTATUS(s->status));
	else if (s->dead)
		cJSON_AddNumberToObject(j, "signal", WTERMSIG(s->status));
	cJSON_AddNumberToObject(j, "pid", s->pid);
	cJSON_AddStringToObject(j, "command", s->command);
	cJSON_AddStringToObject(j, "cwd", s->cwd);
	cJSON_AddNumberToObject(j, "width", screen_cols(s->screen));
	cJSON_AddNumberToObject(j, "height", screen_rows(s->screen));
	cJSON_AddNumberToObject(j, "created", s->created);
	cJSON_AddNumberToObject(j, "idle_ms", now_ms() - s->activity_ms);
	cJSON_AddNumberToObject(j, "attached", session_count_clients(s));
	cJSON_AddStringToObject(j, "title", screen_title(s->screen));
	cJSON_AddNumberToObject(j, "history", screen_history_size(s->screen));
	free(st);
	return (j);
}

void
cmd_print_json(struct cmd_ctx *ctx, cJSON *j)
{
	char	*s = cJSON_PrintUnformatted(j);

	cmd_print(ctx, "%s\n", s);
	free(s);
	cJSON_Delete(j);
}

static enum cmd_retval
cmd_list_sessions(struct cmd_ctx *ctx)
{
	struct session	*s;
	const char	*fmt = args_get(ctx->args, 'F');
	const char	*t = args_get(ctx->args, 't');
	cJSON		*arr;
	char		*line;

	/* -t names a machine; the client sends "host:" to the peer. */
	if (t != NULL && *t != '\0' && strcmp(t, ":") != 0) {
		cmd_error(ctx, "no-peer", "unknown peer: %.*s", (int)strcspn(t,
		    ":"), t);
		return (CMD_ERROR);
	}
	if (args_has_long(ctx->args, "json")) {
		arr = cJSON_CreateArray();
		TAILQ_FOREACH(s, &sessions, entry)
			cJSON_AddItemToArray(arr, cmd_session_json(s));
		cmd_print_json(ctx, arr);
		return (CMD_OK);
	}
	TAILQ_FOREACH(s, &sessions, entry) {
		line = format_expand(fmt != NULL ? fmt : LS_FORMAT, s, NULL);
		cmd_print(ctx, "%s\n", line);
		free(line);
	}
	return (CMD_OK);
}

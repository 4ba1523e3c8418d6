/*
 * server/cmd-launch.c: launch AGENT: start a detached session running a
 * shell, a coding agent found on PATH (claude, codex, gemini, opencode) or
 * a command named in config.yaml's phone.commands, and say its name: what
 * the phone's new-session picker calls (launch --list --json lists the
 * choices).  --auto adds the agent's skip-permission flag; only this
 * machine's owner, or a phone the owner granted auto-approve
 * (loopsy phone grant ID auto-approve), may ask for it.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "server.h"

static enum cmd_retval	cmd_launch(struct cmd_ctx *);

const struct cmd_def cmd_launch_def = {
	.name = "launch",
	.flags = "s:x:y:",
	.longs = "auto,json,list",
	.min_args = 0, .max_args = -1,
	.usage = "AGENT [-s name] [--auto] [-x cols] [-y rows] [--json] | "
	    "--list [--json]",
	.start_server = 1,
	.run = cmd_launch
};

static const struct {
	const char	*name;
	const char	*flag;		/* skip-permission flag, or NULL */
} cmd_launch_agents[] = {
	{ "shell", NULL },
	{ "claude", "--dangerously-skip-permissions" },
	{ "codex", "--dangerously-bypass-approvals-and-sandbox" },
	{ "gemini", "--yolo" },
	{ "opencode", NULL },
};

/* Is name one of the agents?  Its index, or -1. */
int
cmd_launch_agent(const char *name)
{
	u_int	 i;

	for (i = 0; i < nitems(cmd_launch_agents); i++) {
		if (strcmp(cmd_launch_agents[i].name, name) == 0)
			return (i);
	}
	return (-1);
}

static int
cmd_launch_installed(const char *name)
{
	char	*path;

	if (strcmp(name, "shell") == 0)
		return (1);
	if ((path = policy_exec_resolve(name, getenv("PATH"), NULL)) == NULL)
		return (0);
	free(path);
	return (1);
}

/* May this caller launch with --auto?  0, or -1 and why in *cause. */
static int
cmd_launch_may_auto(struct cmd_ctx *ctx, char **cause)
{
	char	 id[64];

	if (strncmp(ctx->actor, "local:", 6) == 0)
		return (0);
	if (phone_actor(ctx->actor, id, sizeof id)) {
		if (phone_has_grant(id, PHONE_GRANT_AUTO))
			return (0);
		xasprintf(cause, "auto-approve is not granted to this phone; "
		    "on the laptop run: loopsy phone grant %s %s", id,
		    PHONE_GRANT_AUTO);
		return (-1);
	}
	xasprintf(cause, "auto-approve is only for this machine's owner and "
	    "the phones granted it, not for %s", ctx->actor);
	return (-1);
}

static const char *
cmd_launch_command(const char *name)
{
	u_int	 i;

	for (i = 0; i < config.nphone_commands; i++) {
		if (strcmp(config.phone_commands[i].name, name) == 0)
			return (config.phone_commands[i].value);
	}
	return (NULL);
}

static enum cmd_retval
cmd_launch_list(struct cmd_ctx *ctx)
{
	cJSON		*j = cJSON_CreateObject(), *a, *o;
	char		*cause = NULL;
	int		 granted = cmd_launch_may_auto(ctx, &cause) == 0;
	u_int		 i;

	free(cause);
	a = cJSON_AddArrayToObject(j, "agents");
	for (i = 0; i < nitems(cmd_launch_agents); i++) {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "name", cmd_launch_agents[i].name);
		cJSON_AddBoolToObject(o, "installed",
		    cmd_launch_installed(cmd_launch_agents[i].name));
		if (cmd_launch_agents[i].flag != NULL)
			cJSON_AddStringToObject(o, "auto",
			    cmd_launch_agents[i].flag);
		else
			cJSON_AddNullToObject(o, "auto");
		cJSON_AddBoolToObject(o, "granted", granted &&
		    cmd_launch_agents[i].flag != NULL);
		cJSON_AddItemToArray(a, o);
	}
	a = cJSON_AddArrayToObject(j, "commands");
	for (i = 0; i < config.nphone_commands; i++) {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "name",
		    config.phone_commands[i].name);
		cJSON_AddStringToObject(o, "command",
		    config.phone_commands[i].value);
		cJSON_AddItemToArray(a, o);
	}
	if (args_has_long(ctx->args, "json")) {
		cmd_print_json(ctx, j);
		return (CMD_OK);
	}
	for (i = 0; i < nitems(cmd_launch_agents); i++) {
		cmd_print(ctx, "%-10s %-14s %s\n", cmd_launch_agents[i].name,
		    cmd_launch_installed(cmd_launch_agents[i].name) ?
		    "installed" : "not installed",
		    cmd_launch_agents[i].flag != NULL ?
		    cmd_launch_agents[i].flag : "");
	}
	for (i = 0; i < config.nphone_commands; i++)
		cmd_print(ctx, "%-10s %-14s %s\n",
		    config.phone_commands[i].name, "command",
		    config.phone_commands[i].value);
	cJSON_Delete(j);
	return (CMD_OK);
}

/* A free session name: the agent's, then NAME-2, NAME-3... */
static char *
cmd_launch_name(const char *agent)
{
	char	*name = xstrdup(agent);
	u_int	 n;

	for (n = 2; session_find(name) != NULL; n++) {
		free(name);
		xasprintf(&name, "%s-%u", agent, n);
	}
	return (name);
}

static enum cmd_retval
cmd_launch(struct cmd_ctx *ctx)
{
	struct args	*a = ctx->args;
	struct session	*s;
	const char	*agent, *command = NULL;
	char		*argv[3], *name = NULL, *cause = NULL, *target;
	int		 argc = 0, i, autoflag;
	u_int		 cols, rows;
	cJSON		*j;

	/* Options may follow the agent: launch claude --auto. */
	if (msg_args_tail(ctx, a->argc > 0 ? 1 : 0) != 0)
		return (CMD_USAGE);
	autoflag = args_has_long(a, "auto");
	if (args_has_long(a, "list"))
		return (cmd_launch_list(ctx));
	if (a->argc != 1) {
		cmd_error(ctx, "usage", "launch: name an agent (shell, claude, "
		    "codex, gemini, opencode) or a command of phone.commands; "
		    "launch --list shows them");
		return (CMD_USAGE);
	}
	agent = a->argv[0];
	xasprintf(&target, "%s%s", agent, autoflag ? " --auto" : "");
	free(ctx->audit_target);
	ctx->audit_target = target;
	if ((i = cmd_launch_agent(agent)) == -1 &&
	    (command = cmd_launch_command(agent)) == NULL) {
		cmd_error(ctx, "unknown-agent", "launch: unknown agent %s "
		    "(shell, claude, codex, gemini, opencode, or a name in "
		    "phone.commands of config.yaml)", agent);
		return (CMD_ERROR);
	}
	if (autoflag) {
		if (command != NULL || cmd_launch_agents[i].flag == NULL) {
			cmd_error(ctx, "no-auto", "launch: %s has no "
			    "skip-permission flag; launch it without --auto",
			    agent);
			return (CMD_ERROR);
		}
		if (cmd_launch_may_auto(ctx, &cause) != 0) {
			cmd_error(ctx, "forbidden", "launch: %s", cause);
			free(cause);
			return (CMD_ERROR);
		}
	}
	if (command == NULL && !cmd_launch_installed(agent)) {
		cmd_error(ctx, "not-installed", "%s is not installed on this "
		    "machine", agent);
		return (CMD_ERROR);
	}
	cols = args_number(a, 'x', 80, 1, SCREEN_MAX_SIZE, &cause);
	if (cause == NULL)
		rows = args_number(a, 'y', 24, 1, SCREEN_MAX_SIZE, &cause);
	if (cause != NULL) {
		cmd_error(ctx, "usage", "launch: %s", cause);
		free(cause);
		return (CMD_USAGE);
	}
	if (args_get(a, 's') != NULL) {
		name = xstrdup(args_get(a, 's'));
		if (session_find(name) != NULL) {
			cmd_error(ctx, "duplicate-session", "duplicate "
			    "session: %s", name);
			free(name);
			return (CMD_ERROR);
		}
	} else
		name = cmd_launch_name(agent);
	if (command != NULL)
		argv[argc++] = (char *)command;
	else if (strcmp(agent, "shell") != 0) {
		argv[argc++] = (char *)agent;
		if (autoflag)
			argv[argc++] = (char *)cmd_launch_agents[i].flag;
	}
	argv[argc] = NULL;
	s = session_create(name, argc, argv, ctx->cwd, NULL, 0, cols, rows,
	    &cause);
	free(name);
	if (s == NULL) {
		cmd_error(ctx, "create-failed", "launch: %s", cause);
		free(cause);
		return (CMD_ERROR);
	}
	xasprintf(&target, "%s%s -> %s", agent, autoflag ? " --auto" : "",
	    s->name);
	free(ctx->audit_target);
	ctx->audit_target = target;
	if (args_has_long(a, "json")) {
		j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "name", s->name);
		cJSON_AddNumberToObject(j, "id", s->id);
		cJSON_AddStringToObject(j, "agent", agent);
		cJSON_AddBoolToObject(j, "auto", autoflag);
		cmd_print_json(ctx, j);
	} else
		cmd_print(ctx, "%s\n", s->name);
	return (CMD_OK);
}

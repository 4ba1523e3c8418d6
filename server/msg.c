/*
 * server/msg.c: what the context and message commands share: who this
 * machine is (for envelopes and "-t host"), which hosts a command may name
 * (until peers exist, issue 4, only this machine: its hostname, "self" or
 * "localhost"), and options written after the arguments as SPEC.md writes
 * them ("msg send host text --type T").  The commands are cmd-context-*.c
 * and cmd-msg-*.c.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server.h"

#ifndef HOST_NAME_MAX
#define HOST_NAME_MAX 255
#endif

/* This machine's hostname, as messages name it (from, to, ids). */
const char *
msg_hostname(void)
{
	static char	 name[HOST_NAME_MAX + 1];

	if (*name == '\0') {
		if (gethostname(name, sizeof name) != 0 || *name == '\0')
			strlcpy(name, "localhost", sizeof name);
		name[sizeof name - 1] = '\0';
	}
	return (name);
}

/* Does host name this machine? */
int
msg_is_self(const char *host)
{
	return (host == NULL || strcmp(host, msg_hostname()) == 0 ||
	    strcmp(host, "self") == 0 || strcmp(host, "localhost") == 0);
}

/* 0 if host (NULL: none given) is this machine; otherwise an error. */
int
msg_check_host(struct cmd_ctx *ctx, const char *host)
{
	if (msg_is_self(host))
		return (0);
	cmd_error(ctx, "no-peer", "unknown peer: %s (no peers are configured)",
	    host);
	return (-1);
}

/*
 * Options after the npos positional arguments ("context set k v --ttl 60")
 * are parsed as if they came first, and a "--" among the arguments or just
 * after them ends the options as one before them does ("msg send host --
 * -t"): what follows it is arguments.  Anything left over is an error: -1
 * with *cause set (the client checks "msg ack" with this too).
 */
int
msg_args_finish(const struct cmd_def *def, struct args *a, int npos,
    char **cause)
{
	struct args	*t;
	int		 i;

	for (i = 0; !a->ended && i < a->argc && i <= npos; i++) {
		if (strcmp(a->argv[i], "--") != 0)
			continue;
		free(a->argv[i]);
		memmove(a->argv + i, a->argv + i + 1,
		    (a->argc - i) * sizeof *a->argv);	/* and the NULL */
		a->argc--;
		a->ended = 1;
	}
	if (a->argc < def->min_args) {
		xasprintf(cause, "wrong number of arguments");
		return (-1);
	}
	if (a->argc <= npos)
		return (0);
	if (a->ended) {
		xasprintf(cause, "unexpected argument: %s", a->argv[npos]);
		return (-1);
	}
	t = args_parse(def->flags, def->longs, a->argc - npos, a->argv + npos,
	    cause);
	if (t == NULL)
		return (-1);
	if (t->argc != 0) {
		xasprintf(cause, "unexpected argument: %s", t->argv[0]);
		args_free(t);
		return (-1);
	}
	if (t->nentries != 0) {		/* "k v --" has none */
		a->entries = xreallocarray(a->entries,
		    a->nentries + t->nentries, sizeof *a->entries);
		memcpy(a->entries + a->nentries, t->entries,
		    t->nentries * sizeof *t->entries);
		a->nentries += t->nentries;
		t->nentries = 0;	/* the strings are a's now */
	}
	for (i = npos; i < a->argc; i++)
		free(a->argv[i]);
	a->argv[npos] = NULL;
	a->argc = npos;
	args_free(t);
	return (0);
}

/* msg_args_finish for a command: a usage error is -1 with ctx's error set. */
int
msg_args_tail(struct cmd_ctx *ctx, int npos)
{
	char	*cause = NULL, *usage;

	if (msg_args_finish(ctx->def, ctx->args, npos, &cause) == 0)
		return (0);
	usage = cmd_usage(ctx->def);
	cmd_error(ctx, "usage", "%s: %s\n%s", ctx->def->name, cause, usage);
	free(usage);
	free(cause);
	return (-1);
}

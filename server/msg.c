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
 * are parsed as if they came first.  Anything else left over is a usage
 * error: -1 with ctx's error set.
 */
int
msg_args_tail(struct cmd_ctx *ctx, int npos)
{
	struct args	*a = ctx->args, *t;
	char		*cause = NULL, *usage;
	int		 i;

	if (a->argc <= npos)
		return (0);
	t = args_parse(ctx->def->flags, ctx->def->longs, a->argc - npos,
	    a->argv + npos, &cause);
	if (t == NULL || t->argc != 0) {
		usage = cmd_usage(ctx->def);
		if (cause != NULL)
			cmd_error(ctx, "usage", "%s: %s\n%s", ctx->def->name,
			    cause, usage);
		else
			cmd_error(ctx, "usage", "%s: unexpected argument: %s"
			    "\n%s", ctx->def->name, t->argv[0], usage);
		free(usage);
		free(cause);
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
	a->argc = npos;
	args_free(t);
	return (0);
}

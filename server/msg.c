/*
 * server/msg.c: what the context and message commands share: who this
 * machine is (for envelopes and "-t host"), who is asking (a peer over a
 * link), which hosts a command may name here (this machine: its hostname,
 * "self" or "localhost"; the client sends the rest to the peer), and options
 * written after the arguments as SPEC.md writes them ("msg send host text
 * --type T").  The commands are cmd-context-*.c and cmd-msg-*.c.
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

/* Is name a peer here: in peers.json or a name of auth.allowedKeys? */
int
msg_is_peer(const char *name)
{
	struct peers	 ps;
	char		*cause = NULL;
	u_int		 i;
	int		 found = 0;

	for (i = 0; i < config.nallowed_keys; i++) {
		if (strcmp(config.allowed_keys[i].name, name) == 0)
			return (1);
	}
	if (peers_load(&ps, &cause) == 0) {
		found = peers_find(&ps, name) != NULL;
		peers_clear(&ps);
	}
	free(cause);
	return (found);
}

/*
 * 0 if host (NULL: none given) is this machine; otherwise an error that says
 * what the name is.  A command for a peer is sent there by the client
 * (client/remote.c), so a peer's name that gets here came some other way.
 */
int
msg_check_host(struct cmd_ctx *ctx, const char *host)
{
	if (msg_is_self(host))
		return (0);
	if (msg_is_peer(host))
		cmd_error(ctx, "no-peer", "%s is a peer, not this machine: "
		    "only the loopsy command line sends %s on to a peer",
		    host, ctx->def->name);
	else
		cmd_error(ctx, "no-peer", "unknown peer: %s (this machine is "
		    "%s, self or localhost; loopsy peers list shows the "
		    "peers)", host, msg_hostname());
	return (-1);
}

/*
 * Who is asking, as a message's "from" and an acknowledgement's key name
 * them: this machine; over a peer link, the name the peer's key has here
 * (paired, or in auth.allowedKeys), else the hostname its client gives
 * (--from, which the client adds), else the link's actor.
 */
const char *
msg_sender(struct cmd_ctx *ctx)
{
	const char	*from;

	if (ctx->c == NULL || !(ctx->c->flags & CLIENT_REMOTE))
		return (msg_hostname());
	if (strncmp(ctx->actor, "peer:", 5) == 0)
		return (ctx->actor + 5);
	from = args_get_long(ctx->args, "from");
	if (from == NULL || *from == '\0' || strlen(from) > 255 ||
	    !utf8_valid(from, strlen(from), NULL))
		return (ctx->actor);
	return (from);
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

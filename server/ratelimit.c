/*
 * server/ratelimit.c: the rateLimits of config.yaml, per credential (actor)
 * and kind of command, as token buckets: a bucket holds up to the limit and
 * refills at limit/60 tokens a second: the rate over time is the limit a
 * minute, and a burst of up to the limit may follow a quiet spell (so one
 * minute may see up to twice the limit).  A limit of 0 means unlimited.
 */
#include <stdlib.h>
#include <string.h>

#include "server.h"

struct ratelimit_bucket {
	char		*actor;
	enum rate_kind	 kind;
	double		 tokens;
	uint64_t	 last_us;
	TAILQ_ENTRY(ratelimit_bucket) entry;
};
static TAILQ_HEAD(, ratelimit_bucket) ratelimit_buckets =
    TAILQ_HEAD_INITIALIZER(ratelimit_buckets);

static const char *ratelimit_names[] = {
	[RATE_NONE] = "",
	[RATE_EXECUTE] = "execute",
	[RATE_TRANSFER] = "transfer",
	[RATE_CONTEXT] = "context",
};

const char *
ratelimit_name(enum rate_kind kind)
{
	return (ratelimit_names[kind]);
}

u_int
ratelimit_limit(enum rate_kind kind)
{
	switch (kind) {
	case RATE_EXECUTE:
		return (config.rate_execute);
	case RATE_TRANSFER:
		return (config.rate_transfer);
	case RATE_CONTEXT:
		return (config.rate_context);
	default:
		return (0);
	}
}

static struct ratelimit_bucket *
ratelimit_find(const char *actor, enum rate_kind kind, u_int limit)
{
	struct ratelimit_bucket	*b;

	TAILQ_FOREACH(b, &ratelimit_buckets, entry) {
		if (b->kind == kind && strcmp(b->actor, actor) == 0)
			return (b);
	}
	b = xcalloc(1, sizeof *b);
	b->actor = xstrdup(actor);
	b->kind = kind;
	b->tokens = limit;
	b->last_us = now_us();
	TAILQ_INSERT_TAIL(&ratelimit_buckets, b, entry);
	return (b);
}

/*
 * Take a token for actor.  0 if allowed; -1 if not, with *retry set to the
 * whole seconds until one is available.
 */
int
ratelimit_take(const char *actor, enum rate_kind kind, u_int *retry)
{
	struct ratelimit_bucket	*b;
	u_int			 limit = ratelimit_limit(kind);
	uint64_t		 now = now_us();
	double			 rate;

	if (kind == RATE_NONE || limit == 0)
		return (0);
	b = ratelimit_find(actor, kind, limit);
	rate = limit / 60.0 / 1e6;		/* tokens per microsecond */
	b->tokens += (now - b->last_us) * rate;
	if (b->tokens > limit)
		b->tokens = limit;
	b->last_us = now;
	if (b->tokens >= 1) {
		b->tokens -= 1;
		return (0);
	}
	*retry = (u_int)((1 - b->tokens) / rate / 1e6) + 1;
	return (-1);
}

void
ratelimit_free(void)
{
	struct ratelimit_bucket	*b;

	while ((b = TAILQ_FIRST(&ratelimit_buckets)) != NULL) {
		TAILQ_REMOVE(&ratelimit_buckets, b, entry);
		free(b->actor);
		free(b);
	}
}

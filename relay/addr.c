/*
 * relay/addr.c: what the relay counts per client address: its open
 * connections (for --max-per-ip), its connections that have not sent their
 * request head yet (for --max-pending-per-ip) and its rate limits, each a bucket that
 * holds a minute's allowance and refills evenly (registrations, redeems,
 * bad credentials; and pair links, counted per device id instead).  Entries live in a hash table and go when they hold
 * nothing worth keeping (addr_sweep).
 */
#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include "relay.h"

#define ADDR_BUCKETS	1024

struct addr_ent {
	char		*addr;
	u_int		 conns;
	u_int		 pending;
	double		 tokens[LIMIT_COUNT];
	uint64_t	 last[LIMIT_COUNT];	/* ms, when tokens was right */
	struct addr_ent	*next;
};
static struct addr_ent	*addr_table[ADDR_BUCKETS];

/* Per minute, per address. */
static u_int
addr_rate(enum addr_limit which)
{
	switch (which) {
	case LIMIT_REGISTER:
		return (relay_opts.register_limit);
	case LIMIT_REDEEM:
		return (10);
	case LIMIT_BADAUTH:
		return (10);
	case LIMIT_ISSUE:
		return (PAIR_ISSUE_RATE);
	default:
		return (0);
	}
}

static u_int
addr_hash(const char *s)
{
	uint32_t	 h = 2166136261U;

	for (; *s != '\0'; s++)
		h = (h ^ (u_char)*s) * 16777619U;
	return (h % ADDR_BUCKETS);
}

static struct addr_ent *
addr_find(const char *addr, int create)
{
	struct addr_ent	*e;
	u_int		 h = addr_hash(addr), i;

	for (e = addr_table[h]; e != NULL; e = e->next) {
		if (strcmp(e->addr, addr) == 0)
			return (e);
	}
	if (!create)
		return (NULL);
	e = xcalloc(1, sizeof *e);
	e->addr = xstrdup(addr);
	for (i = 0; i < LIMIT_COUNT; i++) {
		e->tokens[i] = addr_rate(i);
		e->last[i] = now_ms();
	}
	e->next = addr_table[h];
	addr_table[h] = e;
	return (e);
}

void
addr_conn_add(const char *addr)
{
	addr_find(addr, 1)->conns++;
}

void
addr_conn_del(const char *addr)
{
	struct addr_ent	*e = addr_find(addr, 0);

	if (e != NULL && e->conns > 0)
		e->conns--;
}

u_int
addr_conns(const char *addr)
{
	struct addr_ent	*e = addr_find(addr, 0);

	return (e != NULL ? e->conns : 0);
}

/* A connection from addr that has no request head yet; how many now. */
u_int
addr_pending_add(const char *addr)
{
	return (++addr_find(addr, 1)->pending);
}

void
addr_pending_del(const char *addr)
{
	struct addr_ent	*e = addr_find(addr, 0);

	if (e != NULL && e->pending > 0)
		e->pending--;
}

/* Refill a bucket for the time gone by. */
static void
addr_refill(struct addr_ent *e, enum addr_limit which)
{
	uint64_t	 now = now_ms();
	u_int		 rate = addr_rate(which);

	e->tokens[which] += (double)(now - e->last[which]) * rate / 60000;
	if (e->tokens[which] > rate)
		e->tokens[which] = rate;
	e->last[which] = now;
}

/* Seconds until the bucket holds a whole token again. */
static u_int
addr_retry(struct addr_ent *e, enum addr_limit which)
{
	return ((u_int)((1 - e->tokens[which]) * 60 / addr_rate(which)) + 1);
}

/* Is the bucket empty (without taking)?  *retry then says for how long. */
int
addr_empty(const char *addr, enum addr_limit which, u_int *retry)
{
	struct addr_ent	*e = addr_find(addr, 0);

	if (e == NULL || addr_rate(which) == 0)
		return (0);
	addr_refill(e, which);
	if (e->tokens[which] >= 1)
		return (0);
	*retry = addr_retry(e, which);
	return (1);
}

/* Take one: 0 if allowed, -1 (and *retry in seconds) if over the rate. */
int
addr_take(const char *addr, enum addr_limit which, u_int *retry)
{
	struct addr_ent	*e;

	if (addr_rate(which) == 0)
		return (0);
	e = addr_find(addr, 1);
	addr_refill(e, which);
	if (e->tokens[which] < 1) {
		*retry = addr_retry(e, which);
		return (-1);
	}
	e->tokens[which] -= 1;
	return (0);
}

/* Drop entries with no connection and every bucket full again. */
void
addr_sweep(void)
{
	struct addr_ent	**ep, *e;
	u_int		  h, i, full;

	for (h = 0; h < ADDR_BUCKETS; h++) {
		ep = &addr_table[h];
		while ((e = *ep) != NULL) {
			full = 1;
			for (i = 0; i < LIMIT_COUNT; i++) {
				addr_refill(e, i);
				if (e->tokens[i] < addr_rate(i))
					full = 0;
			}
			if (e->conns != 0 || e->pending != 0 || !full) {
				ep = &e->next;
				continue;
			}
			*ep = e->next;
			free(e->addr);
			free(e);
		}
	}
}

void
addr_free_all(void)
{
	struct addr_ent	*e;
	u_int		 h;

	for (h = 0; h < ADDR_BUCKETS; h++) {
		while ((e = addr_table[h]) != NULL) {
			addr_table[h] = e->next;
			free(e->addr);
			free(e);
		}
	}
}

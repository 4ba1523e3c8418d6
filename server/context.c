/*
 * server/context.c: the shared key/value context store of SPEC.md section 3:
 * keys in memory in sorted order, with limits (key, value, entries), TTLs
 * purged by a timer at the earliest expiry and skipped on read, and the whole
 * store rewritten atomically to context.json after every change, before the
 * change is acknowledged.  Commands are in cmd-context-*.c and cmd-msg-*.c.
 * Keys and values are UTF-8 text (cmd-context-set.c refuses the rest; a
 * file from an older loopsy has bad bytes replaced on loading).
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <event2/event.h>

#include "server.h"

static struct context_entry	**context_v;	/* sorted by key */
static u_int			  context_n;
static char			 *context_file;
static struct event		 *context_timer;
static char			 *context_error;	/* unreadable file */
static uint64_t			  context_fake_now;	/* tests only */

/* The file is at most every entry at its limit, escaped; refuse worse. */
#define CONTEXT_MAX_FILE ((size_t)CONTEXT_MAX_ENTRIES * \
	(CONTEXT_MAX_VALUE * 6 + 1024))

static void	context_schedule(void);

/* Wall-clock milliseconds since the epoch: TTLs outlive the process. */
uint64_t
context_now(void)
{
	struct timespec	 ts;

	if (context_fake_now != 0)
		return (context_fake_now);
	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* Pretend it is now ms (0: the real clock again).  For unit tests. */
void
context_set_clock(uint64_t ms)
{
	context_fake_now = ms;
}

static int
context_expired(const struct context_entry *ce, uint64_t now)
{
	return (ce->expires != 0 && ce->expires <= now);
}

static void
context_entry_free(struct context_entry *ce)
{
	if (ce == NULL)
		return;
	free(ce->key);
	free(ce->value);
	free(ce);
}

/* Index of key, or where it would go (with *found 0). */
static u_int
context_search(const char *key, int *found)
{
	u_int	 lo = 0, hi = context_n, mid;
	int	 cmp;

	*found = 0;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		cmp = strcmp(context_v[mid]->key, key);
		if (cmp == 0) {
			*found = 1;
			return (mid);
		}
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (lo);
}

static void
context_insert_at(u_int i, struct context_entry *ce)
{
	context_v = xreallocarray(context_v, context_n + 1, sizeof *context_v);
	memmove(context_v + i + 1, context_v + i,
	    (context_n - i) * sizeof *context_v);
	context_v[i] = ce;
	context_n++;
}

static struct context_entry *
context_remove_at(u_int i)
{
	struct context_entry	*ce = context_v[i];

	memmove(context_v + i, context_v + i + 1,
	    (context_n - i - 1) * sizeof *context_v);
	context_n--;
	return (ce);
}

/* One entry as a line of context.json. */
static char *
context_entry_json(const struct context_entry *ce)
{
	cJSON	*j = context_entry_to_json(ce, 1);
	char	*s = cJSON_PrintUnformatted(j);

	cJSON_Delete(j);
	return (s);
}

cJSON *
context_entry_to_json(const struct context_entry *ce, int value)
{
	cJSON	*j = cJSON_CreateObject();

	cJSON_AddStringToObject(j, "key", ce->key);
	if (value)
		cJSON_AddStringToObject(j, "value", ce->value);
	else
		cJSON_AddNumberToObject(j, "size", ce->len);
	cJSON_AddNumberToObject(j, "createdAt", (double)ce->created);
	cJSON_AddNumberToObject(j, "updatedAt", (double)ce->updated);
	if (ce->expires != 0)
		cJSON_AddNumberToObject(j, "expiresAt", (double)ce->expires);
	return (j);
}

/*
 * Write the whole store: {"version":1,"entries":[...]} with one entry a line,
 * through a temporary file, fsync and rename, so a crash at any moment leaves
 * the old file or the new one.
 */
int
context_save(char **cause)
{
	struct buf	 b;
	char		*s;
	u_int		 i;
	int		 rc;

	if (context_error != NULL) {
		*cause = xstrdup(context_error);
		return (-1);
	}
	if (context_file == NULL)
		return (0);
	buf_init(&b);
	buf_addstr(&b, "{\"version\":1,\"entries\":[");
	for (i = 0; i < context_n; i++) {
		s = context_entry_json(context_v[i]);
		buf_addstr(&b, i == 0 ? "\n" : ",\n");
		buf_addstr(&b, s);
		free(s);
	}
	buf_addstr(&b, "\n]}\n");
	rc = file_write_atomic(context_file, b.data, b.len, 0600, cause);
	buf_free(&b);
	return (rc);
}

/* Drop expired entries; 1 if any were dropped. */
static int
context_drop_expired(void)
{
	uint64_t	 now = context_now();
	u_int		 i, j;

	for (i = j = 0; i < context_n; i++) {
		if (context_expired(context_v[i], now))
			context_entry_free(context_v[i]);
		else
			context_v[j++] = context_v[i];
	}
	context_n = j;
	return (i != j);
}

/* Purge expired entries from memory and from the file. */
void
context_purge(void)
{
	char	*cause = NULL;

	if (context_drop_expired()) {
		log_debug("%s: purged, %u entries left", __func__, context_n);
		if (context_save(&cause) != 0) {
			log_warnx("context: %s", cause);
			free(cause);
		}
	}
	context_schedule();
}

static void
context_timer_cb(int fd __unused, short events __unused, void *arg __unused)
{
	context_purge();
}

/* Arm the timer for the earliest expiry, if any: no periodic sweep. */
static void
context_schedule(void)
{
	struct timeval	 tv;
	uint64_t	 first = 0, now, ms;
	u_int		 i;

	if (context_timer == NULL)
		return;
	evtimer_del(context_timer);
	for (i = 0; i < context_n; i++) {
		if (context_v[i]->expires != 0 &&
		    (first == 0 || context_v[i]->expires < first))
			first = context_v[i]->expires;
	}
	if (first == 0)
		return;
	now = context_now();
	ms = first > now ? first - now : 0;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000 + 1000;	/* just after, not before */
	evtimer_add(context_timer, &tv);
}

/* Bytes of keys and values in the store. */
static uint64_t
context_bytes(void)
{
	uint64_t	 total = 0;
	u_int		 i;

	for (i = 0; i < context_n; i++)
		total += strlen(context_v[i]->key) + context_v[i]->len;
	return (total);
}

/* Check the limits for setting key to a value of len bytes. */
int
context_check(const char *key, size_t len, char **cause)
{
	uint64_t	 total;
	u_int		 i;
	int		 found;

	if (*key == '\0') {
		xasprintf(cause, "empty key");
		return (-1);
	}
	if (strlen(key) > CONTEXT_MAX_KEY) {
		xasprintf(cause, "key too long: %zu bytes (the limit is %u)",
		    strlen(key), CONTEXT_MAX_KEY);
		return (-1);
	}
	if (len > CONTEXT_MAX_VALUE) {
		xasprintf(cause, "value too large for %s: %zu bytes (the limit "
		    "is %u bytes, 1 MiB)", key, len, CONTEXT_MAX_VALUE);
		return (-1);
	}
	context_drop_expired();
	i = context_search(key, &found);
	if (!found && config.context_max_entries != 0 &&
	    context_n >= config.context_max_entries) {
		xasprintf(cause, "context store full: %u entries (the limit is "
		    "%u, context.maxEntries); delete keys or let them expire",
		    context_n, config.context_max_entries);
		return (-1);
	}
	if (config.context_max_bytes != 0) {
		total = context_bytes();
		if (found)
			total -= strlen(context_v[i]->key) + context_v[i]->len;
		if (total + strlen(key) + len > config.context_max_bytes) {
			xasprintf(cause, "context store full: %llu bytes of keys "
			    "and values with this one (the limit is %u, "
			    "context.maxBytes); delete keys or let them expire",
			    (unsigned long long)(total + strlen(key) + len),
			    config.context_max_bytes);
			return (-1);
		}
	}
	return (0);
}

/*
 * Set key to value (ttl seconds, 0 for none) and write the store; on a
 * failed write the store is left as it was and -1 returned with *cause.
 */
int
context_set(const char *key, const char *value, size_t len, u_int ttl,
    char **cause)
{
	struct context_entry	*ce, *old = NULL;
	uint64_t		 now = context_now();
	u_int			 i;
	int			 found;

	if (context_check(key, len, cause) != 0)
		return (-1);
	/* Whoever calls: the store holds text, so its JSON is always valid. */
	if (!utf8_valid(key, strlen(key), NULL) ||
	    !utf8_valid(value, len, NULL) || memchr(value, '\0', len) != NULL) {
		xasprintf(cause, "%s is not UTF-8 text", utf8_valid(key,
		    strlen(key), NULL) ? "the value" : "the key");
		return (-1);
	}
	ce = xcalloc(1, sizeof *ce);
	ce->key = xstrdup(key);
	ce->value = xmalloc(len + 1);
	memcpy(ce->value, value, len);
	ce->value[len] = '\0';
	ce->len = len;
	ce->created = ce->updated = now;
	ce->expires = ttl != 0 ? now + (uint64_t)ttl * 1000 : 0;

	i = context_search(key, &found);
	if (found) {
		old = context_v[i];
		ce->created = old->created;
		context_v[i] = ce;
	} else
		context_insert_at(i, ce);
	if (context_save(cause) != 0) {
		if (old != NULL)
			context_v[i] = old;
		else
			context_remove_at(i);
		context_entry_free(ce);
		return (-1);
	}
	context_entry_free(old);
	context_schedule();
	return (0);
}

/* The live entry for key, or NULL. */
const struct context_entry *
context_get(const char *key)
{
	u_int	 i;
	int	 found;

	i = context_search(key, &found);
	if (!found || context_expired(context_v[i], context_now()))
		return (NULL);
	return (context_v[i]);
}

/* Delete key: 0 done, 1 no such key, -1 not written (*cause). */
int
context_delete(const char *key, char **cause)
{
	struct context_entry	*ce;
	u_int			 i;
	int			 found;

	i = context_search(key, &found);
	if (!found || context_expired(context_v[i], context_now()))
		return (1);
	ce = context_remove_at(i);
	if (context_save(cause) != 0) {
		context_insert_at(i, ce);
		return (-1);
	}
	context_entry_free(ce);
	context_schedule();
	return (0);
}

/* Why the store cannot be read (its file is unreadable), or NULL. */
const char *
context_unavailable(void)
{
	return (context_error);
}

/*
 * The live entries whose key starts with prefix (NULL: all), in key order;
 * the array is the caller's to free, the entries are not.
 */
u_int
context_list(const char *prefix, const struct context_entry ***list)
{
	const struct context_entry	**v;
	uint64_t			  now = context_now();
	size_t				  plen = prefix != NULL ?
					      strlen(prefix) : 0;
	u_int				  i, n = 0;
	int				  found;

	v = xcalloc(context_n + 1, sizeof *v);
	i = prefix != NULL ? context_search(prefix, &found) : 0;
	for (; i < context_n; i++) {
		if (plen != 0 && strncmp(context_v[i]->key, prefix, plen) != 0)
			break;	/* sorted: no more matches */
		if (!context_expired(context_v[i], now))
			v[n++] = context_v[i];
	}
	*list = v;
	return (n);
}

u_int
context_count(void)
{
	return (context_n);
}

/* One entry of a loaded file; NULL (and a warning) if it is malformed. */
static struct context_entry *
context_load_entry(cJSON *e, u_int n)
{
	struct context_entry	*ce;
	cJSON			*k, *v, *c, *u, *x;
	char			*key, *value;

	k = cJSON_GetObjectItem(e, "key");
	v = cJSON_GetObjectItem(e, "value");
	c = cJSON_GetObjectItem(e, "createdAt");
	u = cJSON_GetObjectItem(e, "updatedAt");
	x = cJSON_GetObjectItem(e, "expiresAt");
	if (!cJSON_IsString(k) || !cJSON_IsString(v)) {
		log_warnx("context: %s: entry %u is not a valid "
		    "{key, value}, skipped", context_file, n);
		return (NULL);
	}
	/* Older versions stored any bytes: what is not UTF-8 is U+FFFD. */
	key = utf8_repair(k->valuestring, strlen(k->valuestring));
	value = utf8_repair(v->valuestring, strlen(v->valuestring));
	if (*key == '\0' || strlen(key) > CONTEXT_MAX_KEY ||
	    strlen(value) > CONTEXT_MAX_VALUE) {
		log_warnx("context: %s: entry %u is not a valid "
		    "{key, value}, skipped", context_file, n);
		free(key);
		free(value);
		return (NULL);
	}
	if (strcmp(key, k->valuestring) != 0 ||
	    strcmp(value, v->valuestring) != 0) {
		log_warnx("context: %s: entry %u is not UTF-8 text: its bad "
		    "bytes became U+FFFD", context_file, n);
	}
	ce = xcalloc(1, sizeof *ce);
	ce->key = key;
	ce->value = value;
	ce->len = strlen(ce->value);
	ce->created = cJSON_IsNumber(c) ? (uint64_t)c->valuedouble : 0;
	ce->updated = cJSON_IsNumber(u) ? (uint64_t)u->valuedouble :
	    ce->created;
	ce->expires = cJSON_IsNumber(x) ? (uint64_t)x->valuedouble : 0;
	return (ce);
}

/* Parse a whole file into the (empty) store; -1 if it is not a store. */
static int
context_parse(const char *data, char **cause)
{
	cJSON			*j, *entries, *e, *ver;
	struct context_entry	*ce;
	uint64_t		 now = context_now();
	u_int			 i, n = 0;
	int			 found;

	if ((j = cJSON_Parse(data)) == NULL) {
		xasprintf(cause, "not valid JSON near byte %zu",
		    cJSON_GetErrorPtr() != NULL ?
		    (size_t)(cJSON_GetErrorPtr() - data) : 0);
		return (-1);
	}
	ver = cJSON_GetObjectItem(j, "version");
	entries = cJSON_GetObjectItem(j, "entries");
	if (!cJSON_IsObject(j) || !cJSON_IsArray(entries) ||
	    !cJSON_IsNumber(ver) || ver->valueint != 1) {
		xasprintf(cause, "not a version 1 store (want {\"version\":1,"
		    "\"entries\":[...]})");
		cJSON_Delete(j);
		return (-1);
	}
	cJSON_ArrayForEach(e, entries) {
		n++;
		if ((ce = context_load_entry(e, n)) == NULL)
			continue;
		i = context_search(ce->key, &found);
		if (context_expired(ce, now) || found ||
		    (config.context_max_entries != 0 &&
		    context_n >= config.context_max_entries)) {
			context_entry_free(ce);	/* expired, dup, or too many */
			continue;
		}
		context_insert_at(i, ce);
	}
	cJSON_Delete(j);
	return (0);
}

/*
 * Remove temporary files a killed server left beside path (path.XXXXXX from
 * file_write_atomic).  Only old ones: another server on another socket may
 * be writing the same file this moment.
 */
static void
context_clean(const char *path)
{
	char		*copy = xstrdup(path), *dir, *base, *tmp;
	DIR		*d;
	struct dirent	*de;
	struct stat	 sb;
	size_t		 n;

	base = xstrdup(basename(copy));
	free(copy);
	copy = xstrdup(path);
	dir = dirname(copy);
	n = strlen(base);
	if ((d = opendir(dir)) == NULL)
		goto out;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, base, n) != 0 ||
		    de->d_name[n] != '.' || strlen(de->d_name + n + 1) != 6 ||
		    strspn(de->d_name + n + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "abcdefghijklmnopqrstuvwxyz0123456789") != 6)
			continue;
		xasprintf(&tmp, "%s/%s", dir, de->d_name);
		if (lstat(tmp, &sb) == 0 && S_ISREG(sb.st_mode) &&
		    sb.st_mtime + 60 < time(NULL)) {
			log_debug("%s: removing %s", __func__, tmp);
			unlink(tmp);
		}
		free(tmp);
	}
	closedir(d);
out:
	free(base);
	free(copy);
}

/*
 * Load the store from path (NULL: keep nothing on disk, for tests) and arm
 * its timer on base (NULL: none).  A missing file is an empty store; a
 * corrupt one is renamed aside to path.corrupt-<ms>, reported in the log,
 * and the store starts empty: the server always starts.  A file that cannot
 * be read (permissions) is left alone and the store refuses changes, so it
 * is never overwritten: -1.
 */
int
context_open(const char *path, struct event_base *base, char **cause)
{
	struct stat	 sb;
	char		*data, *why = NULL, *aside;

	context_close();
	if (base != NULL)
		context_timer = evtimer_new(base, context_timer_cb, NULL);
	if (path == NULL)
		return (0);			/* in memory only: tests */
	context_file = xstrdup(path);
	context_clean(path);
	if (stat(path, &sb) != 0 && errno == ENOENT)
		return (0);			/* no file yet */
	if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode) &&
	    (size_t)sb.st_size > CONTEXT_MAX_FILE)
		xasprintf(&why, "larger than %zu bytes", CONTEXT_MAX_FILE);
	else if ((data = file_read(path, CONTEXT_MAX_FILE, NULL, &why)) ==
	    NULL) {
		xasprintf(&context_error, "context store unavailable: %s", why);
		free(why);
		*cause = xstrdup(context_error);
		return (-1);
	} else if (context_parse(data, &why) == 0) {
		free(data);
		log_debug("%s: %u entries from %s", __func__, context_n, path);
		context_purge();
		return (0);
	} else
		free(data);
	xasprintf(&aside, "%s.corrupt-%llu", path,
	    (unsigned long long)context_now());
	if (rename(path, aside) == 0)
		log_warnx("context: %s is corrupt (%s); moved to %s, "
		    "starting with an empty store", path, why, aside);
	else
		log_warnx("context: %s is corrupt (%s) and cannot be moved "
		    "aside: %s; starting with an empty store", path, why,
		    strerror(errno));
	free(aside);
	free(why);
	while (context_n > 0)
		context_entry_free(context_remove_at(context_n - 1));
	return (0);
}

/* Forget the store (it is on disk already: every change was written). */
void
context_close(void)
{
	u_int	 i;

	for (i = 0; i < context_n; i++)
		context_entry_free(context_v[i]);
	free(context_v);
	context_v = NULL;
	context_n = 0;
	if (context_timer != NULL)
		event_free(context_timer);
	context_timer = NULL;
	free(context_file);
	context_file = NULL;
	free(context_error);
	context_error = NULL;
}

/*
 * relay/store.c: what the relay keeps across restarts, in SQLite (WAL):
 * devices and phones with the SHA-256 of their secrets (never a secret), and
 * the pair nonces it issued with their expiry, use and wrong-code count.
 * Every statement is prepared with bound parameters.  Expired nonces are
 * purged (store_purge, at start and every few minutes).
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "common/crypto.h"
#include "relay.h"

#define STORE_LABEL_MAX	100	/* bytes */

struct store {
	sqlite3		*db;
};

static const char store_schema[] =
    "CREATE TABLE IF NOT EXISTS devices ("
    " id TEXT PRIMARY KEY, secret BLOB NOT NULL, created INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS phones ("
    " id TEXT PRIMARY KEY,"
    " device TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,"
    " secret BLOB NOT NULL, label TEXT NOT NULL, created INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS phones_device ON phones(device);"
    "CREATE TABLE IF NOT EXISTS nonces ("
    " nonce BLOB PRIMARY KEY, device TEXT NOT NULL,"
    " expires INTEGER NOT NULL, used INTEGER NOT NULL DEFAULT 0,"
    " wrong INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX IF NOT EXISTS nonces_expires ON nonces(expires);";

/* A statement with its parameters bound; NULL (logged) if it fails. */
static sqlite3_stmt *
store_prepare(struct store *st, const char *sql)
{
	sqlite3_stmt	*s;

	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK) {
		log_warnx("store: %s: %s", sql, sqlite3_errmsg(st->db));
		return (NULL);
	}
	return (s);
}

/* Run a statement that returns no rows; the rows it changed, or -1. */
static int
store_done(struct store *st, sqlite3_stmt *s)
{
	int	 rc;

	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		log_warnx("store: %s", sqlite3_errmsg(st->db));
		return (-1);
	}
	return (sqlite3_changes(st->db));
}

struct store *
store_open(const char *path, char **cause)
{
	struct store	*st;
	char		*err = NULL;
	mode_t		 old;
	int		 rc;

	st = xcalloc(1, sizeof *st);
	old = umask(077);		/* the database and its -wal, -shm */
	rc = sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE|
	    SQLITE_OPEN_CREATE|SQLITE_OPEN_NOMUTEX, NULL);
	umask(old);
	if (rc != SQLITE_OK) {
		xasprintf(cause, "cannot open %s: %s", path,
		    st->db != NULL ? sqlite3_errmsg(st->db) :
		    sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_busy_timeout(st->db, 5000);
	if (sqlite3_exec(st->db, "PRAGMA journal_mode=WAL;"
	    "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
	    "PRAGMA secure_delete=ON;", NULL, NULL, &err) != SQLITE_OK ||
	    sqlite3_exec(st->db, store_schema, NULL, NULL, &err) !=
	    SQLITE_OK) {
		xasprintf(cause, "%s: %s", path, err != NULL ? err :
		    sqlite3_errmsg(st->db));
		sqlite3_free(err);
		goto fail;
	}
	return (st);
fail:
	sqlite3_close(st->db);
	free(st);
	return (NULL);
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	sqlite3_close(st->db);
	free(st);
}

int
store_device_add(struct store *st, const char *id, const uint8_t *hash,
    time_t now)
{
	sqlite3_stmt	*s;

	s = store_prepare(st, "INSERT INTO devices (id, secret, created) "
	    "VALUES (?, ?, ?)");
	if (s == NULL)
		return (-1);
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_blob(s, 2, hash, RELAY_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, now);
	return (store_done(st, s) == 1 ? 0 : -1);
}

/* Fetch one secret hash by id; 1 if found and equal, 0 if not. */
static int
store_secret_matches(sqlite3_stmt *s, const uint8_t *hash)
{
	const void	*have;
	int		 ok = 0;

	if (sqlite3_step(s) == SQLITE_ROW &&
	    sqlite3_column_bytes(s, 0) == RELAY_HASH_LEN &&
	    (have = sqlite3_column_blob(s, 0)) != NULL)
		ok = crypto_equal(have, hash, RELAY_HASH_LEN);
	return (ok);
}

int
store_device_check(struct store *st, const char *id, const uint8_t *hash)
{
	sqlite3_stmt	*s;
	int		 ok;

	s = store_prepare(st, "SELECT secret FROM devices WHERE id = ?");
	if (s == NULL)
		return (0);
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	ok = store_secret_matches(s, hash);
	sqlite3_finalize(s);
	return (ok);
}

int
store_phone_add(struct store *st, const char *id, const char *device,
    const uint8_t *hash, const char *label, time_t now)
{
	sqlite3_stmt	*s;
	char		*clean;
	int		 rc;

	s = store_prepare(st, "INSERT INTO phones (id, device, secret, label, "
	    "created) VALUES (?, ?, ?, ?, ?)");
	if (s == NULL)
		return (-1);
	/* Labels are the phone's to choose and end up on terminals. */
	clean = text_clean(label, STORE_LABEL_MAX);
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, device, -1, SQLITE_STATIC);
	sqlite3_bind_blob(s, 3, hash, RELAY_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, clean, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, now);
	rc = store_done(st, s) == 1 ? 0 : -1;
	free(clean);
	return (rc);
}

/*
 * A phone's credentials: 1 and *device if right, 0 if the secret is
 * wrong, -1 if there is no such phone.
 */
int
store_phone_check(struct store *st, const char *id, const uint8_t *hash,
    char **device)
{
	sqlite3_stmt	*s;
	const void	*have;
	int		 rc = -1;

	*device = NULL;
	s = store_prepare(st, "SELECT secret, device FROM phones WHERE id = ?");
	if (s == NULL)
		return (-1);
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW) {
		rc = 0;
		have = sqlite3_column_blob(s, 0);
		if (have != NULL &&
		    sqlite3_column_bytes(s, 0) == RELAY_HASH_LEN &&
		    crypto_equal(have, hash, RELAY_HASH_LEN)) {
			*device = xstrdup((const char *)
			    sqlite3_column_text(s, 1));
			rc = 1;
		}
	}
	sqlite3_finalize(s);
	return (rc);
}

/* Delete a phone of this device; 1 if there was one. */
int
store_phone_delete(struct store *st, const char *device, const char *id)
{
	sqlite3_stmt	*s;

	s = store_prepare(st, "DELETE FROM phones WHERE id = ? AND device = ?");
	if (s == NULL)
		return (-1);
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, device, -1, SQLITE_STATIC);
	return (store_done(st, s));
}

int
store_phone_list(struct store *st, const char *device,
    struct store_phone **list, u_int *n)
{
	sqlite3_stmt		*s;
	struct store_phone	*p;
	const char		*label;

	*list = NULL;
	*n = 0;
	s = store_prepare(st, "SELECT id, label, created FROM phones "
	    "WHERE device = ? ORDER BY created, id");
	if (s == NULL)
		return (-1);
	sqlite3_bind_text(s, 1, device, -1, SQLITE_STATIC);
	while (sqlite3_step(s) == SQLITE_ROW) {
		*list = xreallocarray(*list, *n + 1, sizeof **list);
		p = &(*list)[(*n)++];
		p->id = xstrdup((const char *)sqlite3_column_text(s, 0));
		label = (const char *)sqlite3_column_text(s, 1);
		/* As stored, also by a relay before labels were cleaned. */
		p->label = text_clean(label != NULL ? label : "",
		    STORE_LABEL_MAX);
		p->created = sqlite3_column_int64(s, 2);
	}
	sqlite3_finalize(s);
	return (0);
}

void
store_phone_list_free(struct store_phone *list, u_int n)
{
	u_int	 i;

	for (i = 0; i < n; i++) {
		free(list[i].id);
		free(list[i].label);
	}
	free(list);
}

int
store_nonce_add(struct store *st, const uint8_t *nonce, const char *device,
    time_t expires)
{
	sqlite3_stmt	*s;

	s = store_prepare(st, "INSERT INTO nonces (nonce, device, expires) "
	    "VALUES (?, ?, ?)");
	if (s == NULL)
		return (-1);
	sqlite3_bind_blob(s, 1, nonce, TOKEN_NONCE_LEN, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, device, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, expires);
	return (store_done(st, s) == 1 ? 0 : -1);
}

/* A nonce's record: 1 if there is one, 0 if not. */
int
store_nonce_get(struct store *st, const uint8_t *nonce, char **device,
    time_t *expires, int *used, u_int *wrong)
{
	sqlite3_stmt	*s;
	int		 found = 0;

	s = store_prepare(st, "SELECT device, expires, used, wrong FROM nonces "
	    "WHERE nonce = ?");
	if (s == NULL)
		return (0);
	sqlite3_bind_blob(s, 1, nonce, TOKEN_NONCE_LEN, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW) {
		*device = xstrdup((const char *)sqlite3_column_text(s, 0));
		*expires = sqlite3_column_int64(s, 1);
		*used = sqlite3_column_int(s, 2);
		*wrong = sqlite3_column_int(s, 3);
		found = 1;
	}
	sqlite3_finalize(s);
	return (found);
}

/* Mark a nonce used; 1 only if it was neither used nor burned before. */
int
store_nonce_use(struct store *st, const uint8_t *nonce)
{
	sqlite3_stmt	*s;

	s = store_prepare(st, "UPDATE nonces SET used = 1 "
	    "WHERE nonce = ? AND used = 0 AND wrong < ?");
	if (s == NULL)
		return (-1);
	sqlite3_bind_blob(s, 1, nonce, TOKEN_NONCE_LEN, SQLITE_STATIC);
	sqlite3_bind_int(s, 2, TOKEN_WRONG_MAX);
	return (store_done(st, s));
}

/* Count a wrong code; the count after it, or -1. */
int
store_nonce_wrong(struct store *st, const uint8_t *nonce)
{
	sqlite3_stmt	*s;
	int		 wrong = -1;

	s = store_prepare(st, "UPDATE nonces SET wrong = wrong + 1 "
	    "WHERE nonce = ? RETURNING wrong");
	if (s == NULL)
		return (-1);
	sqlite3_bind_blob(s, 1, nonce, TOKEN_NONCE_LEN, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW)
		wrong = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return (wrong);
}

/* The device says the link is spent: no more tries. */
int
store_nonce_burn(struct store *st, const uint8_t *nonce)
{
	sqlite3_stmt	*s;

	s = store_prepare(st, "UPDATE nonces SET wrong = max(wrong, ?) "
	    "WHERE nonce = ?");
	if (s == NULL)
		return (-1);
	sqlite3_bind_int(s, 1, TOKEN_WRONG_MAX);
	sqlite3_bind_blob(s, 2, nonce, TOKEN_NONCE_LEN, SQLITE_STATIC);
	return (store_done(st, s));
}

/*
 * A device keeps at most max unused, unexpired nonces: older ones than the
 * newest max are marked dropped (used = 2: no longer good, and a redeem is
 * told why).  How many were dropped, or -1.
 */
int
store_nonce_cap(struct store *st, const char *device, time_t now, u_int max)
{
	sqlite3_stmt	*s;

	s = store_prepare(st, "UPDATE nonces SET used = 2 WHERE rowid IN ("
	    "SELECT rowid FROM nonces WHERE device = ? AND used = 0 AND "
	    "wrong < ? AND expires > ? ORDER BY rowid DESC LIMIT -1 OFFSET ?)");
	if (s == NULL)
		return (-1);
	sqlite3_bind_text(s, 1, device, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 2, TOKEN_WRONG_MAX);
	sqlite3_bind_int64(s, 3, now);
	sqlite3_bind_int(s, 4, max);
	return (store_done(st, s));
}

/* Forget nonces that expired before now; how many went. */
int
store_purge(struct store *st, time_t now)
{
	sqlite3_stmt	*s;

	s = store_prepare(st, "DELETE FROM nonces WHERE expires <= ?");
	if (s == NULL)
		return (-1);
	sqlite3_bind_int64(s, 1, now);
	return (store_done(st, s));
}

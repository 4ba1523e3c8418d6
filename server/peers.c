/*
 * server/peers.c: ~/.loopsy/peers.json, the machines this one knows.  Each
 * peer has a name (what "host:" means in a target), where to reach it, the
 * key to present to it, the key it presents to us if we gave it one when
 * pairing, and its certificate's fingerprint, pinned.  Written atomically
 * (0600: it holds keys) under an flock so clients and the server can change
 * it at once.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "common/crypto.h"
#include "server.h"

#define PEERS_MAX_FILE	(1024 * 1024)
#define PEERS_NAME_MAX	64

void
peers_clear(struct peers *ps)
{
	u_int	 i;

	for (i = 0; i < ps->n; i++) {
		free(ps->v[i].name);
		free(ps->v[i].host);
		if (ps->v[i].key != NULL)
			crypto_cleanse(ps->v[i].key, strlen(ps->v[i].key));
		free(ps->v[i].key);
		if (ps->v[i].accept != NULL)
			crypto_cleanse(ps->v[i].accept,
			    strlen(ps->v[i].accept));
		free(ps->v[i].accept);
		free(ps->v[i].fingerprint);
		free(ps->v[i].how);
	}
	free(ps->v);
	ps->v = NULL;
	ps->n = 0;
}

/* A peer's name: what goes before the colon of a target. */
int
peers_valid_name(const char *name, char **cause)
{
	const char	*p;

	if (*name == '\0' || strlen(name) > PEERS_NAME_MAX) {
		xasprintf(cause, "peer name must be 1 to %u characters",
		    PEERS_NAME_MAX);
		return (-1);
	}
	for (p = name; *p != '\0'; p++) {
		if (!isalnum((u_char)*p) && *p != '-' && *p != '_' &&
		    *p != '.') {
			xasprintf(cause, "peer name \"%s\": only letters, "
			    "digits, '-', '_' and '.'", name);
			return (-1);
		}
	}
	if (strcmp(name, "self") == 0 || strcmp(name, "localhost") == 0) {
		xasprintf(cause, "peer name \"%s\" means this machine", name);
		return (-1);
	}
	return (0);
}

static char *
peers_string(cJSON *o, const char *name)
{
	cJSON	*v = cJSON_GetObjectItem(o, name);

	if (cJSON_IsString(v) && *v->valuestring != '\0')
		return (xstrdup(v->valuestring));
	return (NULL);
}

static char *
peers_path(void)
{
	return (loopsy_path("peers.json"));
}

int
peers_load(struct peers *ps, char **cause)
{
	char		*path = peers_path(), *data, *why = NULL;
	cJSON		*j, *list, *o, *port;
	struct peer	*p;

	memset(ps, 0, sizeof *ps);
	if (access(path, F_OK) != 0 && errno == ENOENT) {
		free(path);
		return (0);
	}
	if ((data = file_read(path, PEERS_MAX_FILE, NULL, &why)) == NULL) {
		xasprintf(cause, "%s: %s", path, why);
		free(why);
		free(path);
		return (-1);
	}
	j = cJSON_Parse(data);
	crypto_cleanse(data, strlen(data));	/* it holds keys */
	free(data);
	list = cJSON_GetObjectItem(j, "peers");
	if (j == NULL || !cJSON_IsArray(list)) {
		xasprintf(cause, "%s: not a peers file (no \"peers\" list)",
		    path);
		cJSON_Delete(j);
		free(path);
		return (-1);
	}
	cJSON_ArrayForEach(o, list) {
		if (!cJSON_IsObject(o))
			continue;
		ps->v = xreallocarray(ps->v, ps->n + 1, sizeof *ps->v);
		p = &ps->v[ps->n];
		memset(p, 0, sizeof *p);
		p->name = peers_string(o, "name");
		p->host = peers_string(o, "host");
		if (p->name == NULL || p->host == NULL) {
			free(p->name);
			free(p->host);
			log_warnx("%s: a peer without name or host skipped",
			    path);
			continue;
		}
		port = cJSON_GetObjectItem(o, "port");
		p->port = cJSON_IsNumber(port) && port->valueint > 0 &&
		    port->valueint < 65536 ? (u_int)port->valueint : 19532;
		p->key = peers_string(o, "key");
		p->accept = peers_string(o, "accept");
		p->fingerprint = peers_string(o, "fingerprint");
		p->how = peers_string(o, "how");
		if (p->how == NULL)
			p->how = xstrdup("added");
		if (cJSON_IsNumber(cJSON_GetObjectItem(o, "added")))
			p->added_ms = cJSON_GetObjectItem(o, "added")->valuedouble;
		if (cJSON_IsNumber(cJSON_GetObjectItem(o, "seen")))
			p->seen_ms = cJSON_GetObjectItem(o, "seen")->valuedouble;
		ps->n++;
	}
	cJSON_Delete(j);
	free(path);
	return (0);
}

int
peers_save(struct peers *ps, char **cause)
{
	cJSON		*j, *list, *o;
	struct peer	*p;
	char		*path, *s, *why = NULL;
	u_int		 i;
	int		 rc;

	j = cJSON_CreateObject();
	cJSON_AddNumberToObject(j, "version", 1);
	list = cJSON_AddArrayToObject(j, "peers");
	for (i = 0; i < ps->n; i++) {
		p = &ps->v[i];
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "name", p->name);
		cJSON_AddStringToObject(o, "host", p->host);
		cJSON_AddNumberToObject(o, "port", p->port);
		if (p->key != NULL)
			cJSON_AddStringToObject(o, "key", p->key);
		if (p->accept != NULL)
			cJSON_AddStringToObject(o, "accept", p->accept);
		if (p->fingerprint != NULL)
			cJSON_AddStringToObject(o, "fingerprint",
			    p->fingerprint);
		cJSON_AddStringToObject(o, "how", p->how);
		cJSON_AddNumberToObject(o, "added", p->added_ms);
		cJSON_AddNumberToObject(o, "seen", p->seen_ms);
		cJSON_AddItemToArray(list, o);
	}
	s = cJSON_Print(j);
	cJSON_Delete(j);
	if (loopsy_mkdir(NULL, &why) != 0) {
		xasprintf(cause, "%s", why);
		free(why);
		free(s);
		return (-1);
	}
	path = peers_path();
	rc = file_write_atomic(path, s, strlen(s), 0600, &why);
	crypto_cleanse(s, strlen(s));
	free(s);
	if (rc != 0) {
		xasprintf(cause, "%s: %s", path, why);
		free(why);
	}
	free(path);
	return (rc);
}

/* Serialise changes to peers.json: returns the lock's fd. */
int
peers_lock(char **cause)
{
	char	*path, *why = NULL;
	int	 fd;

	if (loopsy_mkdir(NULL, &why) != 0) {
		xasprintf(cause, "%s", why);
		free(why);
		return (-1);
	}
	path = loopsy_path("peers.json.lock");
	if ((fd = open(path, O_RDWR|O_CREAT|O_CLOEXEC, 0600)) == -1 ||
	    flock(fd, LOCK_EX) != 0) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		if (fd != -1)
			close(fd);
		fd = -1;
	}
	free(path);
	return (fd);
}

struct peer *
peers_find(struct peers *ps, const char *name)
{
	u_int	 i;

	for (i = 0; i < ps->n; i++) {
		if (strcmp(ps->v[i].name, name) == 0)
			return (&ps->v[i]);
	}
	return (NULL);
}

/*
 * Which peer presents this key to us?  Every entry is compared.  The keys
 * are kept between calls while peers.json is unchanged, so a stream of bad
 * keys does not read and parse the file each time.
 */
static struct peers	 peers_cache;
static struct stat	 peers_cache_sb;
static int		 peers_cached;

char *
peers_accepts(const char *key)
{
	struct stat	 sb;
	char		*name = NULL, *cause = NULL, *path = peers_path();
	size_t		 len = strlen(key);
	u_int		 i;

	memset(&sb, 0, sizeof sb);
	if (stat(path, &sb) != 0)
		memset(&sb, 0, sizeof sb);
	free(path);
	if (!peers_cached || sb.st_ino != peers_cache_sb.st_ino ||
	    sb.st_size != peers_cache_sb.st_size ||
	    sb.st_mtim.tv_sec != peers_cache_sb.st_mtim.tv_sec ||
	    sb.st_mtim.tv_nsec != peers_cache_sb.st_mtim.tv_nsec) {
		peers_clear(&peers_cache);
		peers_cached = 0;
		if (peers_load(&peers_cache, &cause) != 0) {
			log_warnx("%s", cause);
			free(cause);
			return (NULL);
		}
		peers_cache_sb = sb;
		peers_cached = 1;
	}
	for (i = 0; i < peers_cache.n; i++) {
		if (peers_cache.v[i].accept == NULL ||
		    strlen(peers_cache.v[i].accept) != len)
			continue;
		if (crypto_equal(peers_cache.v[i].accept, key, len) &&
		    name == NULL)
			name = xstrdup(peers_cache.v[i].name);
	}
	return (name);
}

/*
 * server/phone.c: what this machine knows of phones.  Its own static X25519
 * key for the phones' Noise handshakes (~/.loopsy/phone.key: the 32-byte
 * private key, 0600, made on first need; the public half is derived), and
 * the phones paired with it, one file each (~/.loopsy/phones/ID.json, 0600
 * in a 0700 directory, written atomically): id, label, public key, when it
 * was paired and what the owner granted it.  Channels are phone-channel.c,
 * pairing phone-pair.c.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "common/crypto.h"
#include "common/noise.h"
#include "server.h"

#define PHONE_FILE_MAX	(64 * 1024)
#define PHONE_MAX	1000		/* phones listed, at most */
#define PHONE_LABEL_MAX	64		/* as phone-pair.c stores it */

char *
phone_key_path(void)
{
	return (loopsy_path("phone.key"));
}

/*
 * This server's key pair: read phone.key, or (create != 0) make it if it is
 * not there.  0, or -1 with *cause.
 */
int
phone_key_load(int create, uint8_t priv[NOISE_KEY_LEN],
    uint8_t pub[NOISE_KEY_LEN], char **cause)
{
	struct noise_keypair	 kp;
	char			*path = phone_key_path(), *data, *why = NULL;
	size_t			 len;
	int			 rv = -1;

	if ((data = file_read(path, 1024, &len, &why)) == NULL) {
		if (why != NULL) {
			xasprintf(cause, "%s", why);
			free(why);
			goto out;
		}
		if (!create) {
			xasprintf(cause, "%s: no key yet (loopsy mobile pair "
			    "makes it)", path);
			goto out;
		}
		if (loopsy_mkdir(NULL, &why) != 0 ||
		    noise_keypair_generate(&kp) != 0 ||
		    file_write_atomic(path, kp.priv, sizeof kp.priv, 0600,
		    &why) != 0) {
			xasprintf(cause, "cannot make %s: %s", path,
			    why != NULL ? why : "no random bytes");
			free(why);
			goto out;
		}
		log_info("made the phones' key %s", path);
	} else {
		if (len != NOISE_KEY_LEN ||
		    noise_keypair_from_private(&kp, (uint8_t *)data) != 0) {
			xasprintf(cause, "%s is not a 32-byte key; move it "
			    "aside (paired phones then pair again)", path);
			crypto_cleanse(data, len);
			free(data);
			goto out;
		}
		crypto_cleanse(data, len);
		free(data);
	}
	memcpy(priv, kp.priv, NOISE_KEY_LEN);
	memcpy(pub, kp.pub, NOISE_KEY_LEN);
	crypto_cleanse(&kp, sizeof kp);
	rv = 0;
out:
	free(path);
	return (rv);
}

static char *
phone_path(const char *id)
{
	char	*name, *path;

	xasprintf(&name, "phones/%s.json", id);
	path = loopsy_path(name);
	free(name);
	return (path);
}

void
phone_clear(struct phone *p)
{
	u_int	 i;

	free(p->id);
	free(p->label);
	for (i = 0; i < p->grants.n; i++)
		free(p->grants.v[i]);
	free(p->grants.v);
	memset(p, 0, sizeof *p);
}

int
phone_valid_grant(const char *g)
{
	return (strcmp(g, PHONE_GRANT_AUTO) == 0);
}

/* 0 and p filled; 1 if there is no such phone; -1 with *cause. */
int
phone_load(const char *id, struct phone *p, char **cause)
{
	char		*path, *data, *why = NULL;
	const char	*s;
	cJSON		*j, *a, *e;
	int		 rv = -1;

	memset(p, 0, sizeof *p);
	if (!relay_valid_id(id, 'p'))
		return (1);
	path = phone_path(id);
	if ((data = file_read(path, PHONE_FILE_MAX, NULL, &why)) == NULL) {
		if (why == NULL)
			rv = 1;
		else
			xasprintf(cause, "%s", why);
		free(why);
		free(path);
		return (rv);
	}
	j = cJSON_Parse(data);
	free(data);
	s = cJSON_GetStringValue(cJSON_GetObjectItem(j, "id"));
	if (s == NULL || strcmp(s, id) != 0 || relay_b64u_decode_exact(
	    cJSON_GetStringValue(cJSON_GetObjectItem(j, "pub")), p->pub,
	    sizeof p->pub) != 0) {
		xasprintf(cause, "%s: not a phone file (id and pub)", path);
		goto out;
	}
	p->id = xstrdup(id);
	/* Cleaned again: files paired before the filter knew C1 controls. */
	p->label = relay_safe_text(cJSON_GetStringValue(cJSON_GetObjectItem(j,
	    "label")), PHONE_LABEL_MAX);
	if (cJSON_IsNumber(cJSON_GetObjectItem(j, "paired")))
		p->paired = cJSON_GetObjectItem(j, "paired")->valuedouble;
	a = cJSON_GetObjectItem(j, "grants");
	cJSON_ArrayForEach(e, a) {
		if ((s = cJSON_GetStringValue(e)) == NULL ||
		    !phone_valid_grant(s))
			continue;
		p->grants.v = xreallocarray(p->grants.v, p->grants.n + 1,
		    sizeof *p->grants.v);
		p->grants.v[p->grants.n++] = xstrdup(s);
	}
	rv = 0;
out:
	if (rv != 0)
		phone_clear(p);
	cJSON_Delete(j);
	free(path);
	return (rv);
}

int
phone_save(const struct phone *p, char **cause)
{
	cJSON	*j, *a;
	char	*s, *pub, *path, *why = NULL;
	u_int	 i;
	int	 rv;

	if (loopsy_mkdir("phones", &why) != 0) {
		xasprintf(cause, "%s", why);
		free(why);
		return (-1);
	}
	pub = relay_b64u_encode(p->pub, sizeof p->pub);
	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "id", p->id);
	cJSON_AddStringToObject(j, "label", p->label != NULL ? p->label : "");
	cJSON_AddStringToObject(j, "pub", pub);
	cJSON_AddNumberToObject(j, "paired", (double)p->paired);
	a = cJSON_AddArrayToObject(j, "grants");
	for (i = 0; i < p->grants.n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(p->grants.v[i]));
	s = cJSON_Print(j);
	cJSON_Delete(j);
	free(pub);
	path = phone_path(p->id);
	rv = file_write_atomic(path, s, strlen(s), 0600, &why);
	if (rv != 0) {
		xasprintf(cause, "%s", why);
		free(why);
	}
	free(s);
	free(path);
	return (rv);
}

/* 0 removed, 1 no such phone, -1 with *cause. */
int
phone_remove(const char *id, char **cause)
{
	char	*path;
	int	 rv = 0;

	if (!relay_valid_id(id, 'p'))
		return (1);
	path = phone_path(id);
	if (unlink(path) != 0) {
		if (errno == ENOENT)
			rv = 1;
		else {
			xasprintf(cause, "cannot remove %s: %s", path,
			    strerror(errno));
			rv = -1;
		}
	}
	free(path);
	return (rv);
}

static int
phone_cmp(const void *a, const void *b)
{
	const struct phone	*pa = a, *pb = b;

	if (pa->paired != pb->paired)
		return (pa->paired < pb->paired ? -1 : 1);
	return (strcmp(pa->id, pb->id));
}

/* Every phone, oldest pairing first.  A bad file is skipped and logged. */
int
phone_list(struct phone **out, u_int *n, char **cause)
{
	DIR		*d;
	struct dirent	*de;
	struct phone	*v = NULL, p;
	char		*dir = loopsy_path("phones"), *id, *why = NULL;
	size_t		 len;
	u_int		 count = 0;

	*out = NULL;
	*n = 0;
	if ((d = opendir(dir)) == NULL) {
		if (errno == ENOENT) {
			free(dir);
			return (0);
		}
		xasprintf(cause, "cannot read %s: %s", dir, strerror(errno));
		free(dir);
		return (-1);
	}
	while ((de = readdir(d)) != NULL && count < PHONE_MAX) {
		len = strlen(de->d_name);
		if (len != 28 || strcmp(de->d_name + 23, ".json") != 0)
			continue;
		id = xstrndup(de->d_name, 23);
		if (phone_load(id, &p, &why) == 0) {
			v = xreallocarray(v, count + 1, sizeof *v);
			v[count++] = p;
		} else if (why != NULL) {
			log_warnx("%s", why);
			free(why);
			why = NULL;
		}
		free(id);
	}
	closedir(d);
	free(dir);
	if (count != 0)
		qsort(v, count, sizeof *v, phone_cmp);
	*out = v;
	*n = count;
	return (0);
}

int
phone_has_grant(const char *id, const char *grant)
{
	struct phone	 p;
	char		*cause = NULL;
	u_int		 i;
	int		 found = 0;

	if (phone_load(id, &p, &cause) != 0) {
		free(cause);
		return (0);
	}
	for (i = 0; i < p.grants.n; i++) {
		if (strcmp(p.grants.v[i], grant) == 0)
			found = 1;
	}
	phone_clear(&p);
	return (found);
}

/* The phone id of an actor "phone:ID": 1 and the id in out, else 0. */
int
phone_actor(const char *actor, char *out, size_t size)
{
	if (actor == NULL || strncmp(actor, "phone:", 6) != 0 ||
	    !relay_valid_id(actor + 6, 'p') || strlen(actor + 6) >= size)
		return (0);
	strlcpy(out, actor + 6, size);
	return (1);
}

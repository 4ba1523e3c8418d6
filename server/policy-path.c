/*
 * server/policy-path.c: transfer.allowedPaths and transfer.deniedPaths.  A
 * path is judged only after ~ is expanded, it is made absolute and every
 * symlink and ".." in it is resolved (realpath), and lists are compared by
 * whole components: /home/al covers /home/al/x but not /home/alice.  Deny
 * wins.  Opening the file afterwards is the caller's business.
 */
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

/* ~ or ~/x to $HOME, then absolute against cwd; nothing resolved yet. */
char *
policy_path_expand(const char *path, const char *cwd)
{
	const char	*home = getenv("HOME");
	char		*s;

	if (home == NULL || *home == '\0')
		home = "/";
	if (path[0] == '~' && (path[1] == '\0' || path[1] == '/'))
		xasprintf(&s, "%s%s", home, path + 1);
	else if (path[0] == '/')
		s = xstrdup(path);
	else
		xasprintf(&s, "%s/%s", cwd != NULL ? cwd : "/", path);
	return (s);
}

/* Collapse //, /./ and /../ without looking at the file system. */
char *
policy_path_normalize(const char *path)
{
	char	*out, *copy, *p, *last = NULL;
	size_t	 n = 0;

	out = xmalloc(strlen(path) + 2);
	copy = xstrdup(path);
	for (p = strtok_r(copy, "/", &last); p != NULL;
	    p = strtok_r(NULL, "/", &last)) {
		if (strcmp(p, ".") == 0)
			continue;
		if (strcmp(p, "..") == 0) {
			while (n > 0 && out[--n] != '/')
				;
			continue;
		}
		out[n++] = '/';
		memcpy(out + n, p, strlen(p));
		n += strlen(p);
	}
	if (n == 0)
		out[n++] = '/';
	out[n] = '\0';
	free(copy);
	return (out);
}

/*
 * The real path: every symlink and ".." resolved.  A path that does not
 * exist yet (a destination) is its resolved parent directory plus its last
 * component, which must be a plain name.
 */
char *
policy_path_resolve(const char *path, const char *cwd, char **cause)
{
	char	*abs, *slash, *base, *out = NULL, real[PATH_MAX];

	abs = policy_path_expand(path, cwd);
	if (realpath(abs, real) != NULL) {
		out = xstrdup(real);
		goto out;
	}
	if (errno != ENOENT) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		goto out;
	}
	slash = strrchr(abs, '/');
	base = slash + 1;
	if (*base == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
		xasprintf(cause, "no such directory: %s", path);
		goto out;
	}
	*slash = '\0';
	/* realpath, not a lexical "..": the parent may be a link. */
	if (realpath(slash == abs ? "/" : abs, real) == NULL) {
		xasprintf(cause, "no such directory: %s", slash == abs ? "/" :
		    abs);
		goto out;
	}
	xasprintf(&out, "%s/%s", strcmp(real, "/") == 0 ? "" : real, base);
out:
	free(abs);
	return (out);
}

/* Is path dir itself or inside it, comparing whole components? */
int
policy_path_under(const char *path, const char *dir)
{
	size_t	 n = strlen(dir);

	while (n > 1 && dir[n - 1] == '/')
		n--;
	if (n == 1 && dir[0] == '/')
		return (path[0] == '/');
	if (strncmp(path, dir, n) != 0)
		return (0);
	return (path[n] == '\0' || path[n] == '/');
}

/*
 * A list entry as compared: expanded and resolved, as much of it as exists.
 * A denied ~/.gnupg that is not there yet still names the real place when
 * ~ itself is reached through a link, so creating it is refused too.
 */
static char *
policy_path_entry(const char *entry)
{
	char	*abs, *norm, *cut, *prev, *out = NULL, real[PATH_MAX];
	int	 found;

	abs = policy_path_expand(entry, "/");
	if (realpath(abs, real) != NULL) {
		free(abs);
		return (xstrdup(real));
	}
	norm = policy_path_normalize(abs);
	free(abs);
	for (cut = strrchr(norm, '/'); cut != NULL && cut != norm; cut = prev) {
		*cut = '\0';
		found = realpath(norm, real) != NULL;
		prev = strrchr(norm, '/');
		*cut = '/';
		if (found) {
			xasprintf(&out, "%s%s", strcmp(real, "/") == 0 ? "" :
			    real, cut);
			break;
		}
	}
	if (out == NULL)
		out = xstrdup(norm);
	free(norm);
	return (out);
}

/*
 * Is path one of loopsy's own files in its state directory, or a temporary
 * or lock file beside one?  Denied wherever $LOOPSY_HOME puts them, whatever
 * transfer.deniedPaths says: they hold the API key, the TLS and phone keys,
 * peers' keys and the stores.
 */
static int
policy_path_own(const char *path)
{
	static const char	*own[] = { "config.yaml", "context.json", "logs",
				    "peers.json", "phone.key", "phones",
				    "relay.json", "tls" };
	char			*home = loopsy_home(), *dir;
	const char		*rest;
	size_t			 len, n;
	u_int			 i;
	int			 found = 0;

	dir = policy_path_entry(home);
	free(home);
	if (policy_path_under(path, dir) && strcmp(dir, "/") != 0) {
		rest = path + strlen(dir);
		rest += strspn(rest, "/");
		len = strcspn(rest, "/");
		for (i = 0; i < nitems(own) && !found; i++) {
			n = strlen(own[i]);
			found = strncmp(rest, own[i], n) == 0 &&
			    (len == n || (len > n && rest[n] == '.'));
		}
	}
	free(dir);
	return (found);
}

static int
policy_path_listed(const char *path, const struct strlist *l)
{
	char	*e;
	u_int	 i;
	int	 found = 0;

	for (i = 0; i < l->n && !found; i++) {
		e = policy_path_entry(l->v[i]);
		found = policy_path_under(path, e);
		free(e);
	}
	return (found);
}

/*
 * Judge a resolved path against the lists; lexical (the path as written,
 * normalized) is also checked against the deny list, so naming a denied
 * directory through a link to it fails either way.  Empty allowed: nothing.
 */
int
policy_path_check_lists(const char *resolved, const char *lexical,
    const struct strlist *allowed, const struct strlist *denied, char **cause)
{
	if (policy_path_own(resolved) ||
	    (lexical != NULL && policy_path_own(lexical))) {
		xasprintf(cause, "path denied: %s is loopsy's own state (its "
		    "keys and stores)", resolved);
		return (-1);
	}
	if (policy_path_listed(resolved, denied) ||
	    (lexical != NULL && policy_path_listed(lexical, denied))) {
		xasprintf(cause, "path denied by transfer.deniedPaths: %s",
		    resolved);
		return (-1);
	}
	if (!policy_path_listed(resolved, allowed)) {
		xasprintf(cause, "path not in transfer.allowedPaths: %s",
		    resolved);
		return (-1);
	}
	return (0);
}

/* The path as written, absolute and without "." or "..": for messages. */
char *
policy_path_lexical(const char *path, const char *cwd)
{
	char	*abs, *lexical;

	abs = policy_path_expand(path, cwd);
	lexical = policy_path_normalize(abs);
	free(abs);
	return (lexical);
}

/* Resolve path (relative to cwd) and judge it by the config; NULL: refused. */
char *
policy_path_check(const char *path, const char *cwd, char **cause)
{
	char	*resolved, *lexical;
	int	 rc;

	if (*path == '\0') {
		xasprintf(cause, "empty path");
		return (NULL);
	}
	if ((resolved = policy_path_resolve(path, cwd, cause)) == NULL)
		return (NULL);
	lexical = policy_path_lexical(path, cwd);
	rc = policy_path_check_lists(resolved, lexical, &config.allowed_paths,
	    &config.denied_paths, cause);
	free(lexical);
	if (rc != 0) {
		free(resolved);
		return (NULL);
	}
	return (resolved);
}

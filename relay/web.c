/*
 * relay/web.c: the phone's web app under /app, served from the web
 * directory as it is at each request (--web, the installed
 * $(pkgdatadir)/web, or web/dist beside the binary in a build tree).  Only
 * plain relative names are served (no "..", no dot files, nothing whose
 * real path leaves the directory), with a strict Content-Security-Policy
 * that allows no origin but the relay's own.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <ctype.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "relay.h"

#define WEB_FILE_MAX	(32 * 1024 * 1024)

static const char web_csp[] =
    "Content-Security-Policy: default-src 'none'; script-src 'self'; "
    "style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "manifest-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'\r\n"
    "X-Frame-Options: DENY\r\n"
    "Cache-Control: no-cache\r\n";

static const struct {
	const char	*suffix;
	const char	*type;
} web_types[] = {
	{ ".html", "text/html; charset=utf-8" },
	{ ".js", "text/javascript; charset=utf-8" },
	{ ".mjs", "text/javascript; charset=utf-8" },
	{ ".css", "text/css; charset=utf-8" },
	{ ".json", "application/json" },
	{ ".webmanifest", "application/manifest+json" },
	{ ".map", "application/json" },
	{ ".svg", "image/svg+xml" },
	{ ".png", "image/png" },
	{ ".ico", "image/x-icon" },
	{ ".woff2", "font/woff2" },
	{ ".wasm", "application/wasm" },
	{ ".txt", "text/plain; charset=utf-8" },
};

const char *
web_security_headers(void)
{
	return (web_csp);
}

static const char *
web_type(const char *name)
{
	size_t	 n = strlen(name), m;
	u_int	 i;

	for (i = 0; i < nitems(web_types); i++) {
		m = strlen(web_types[i].suffix);
		if (n > m && strcmp(name + n - m, web_types[i].suffix) == 0)
			return (web_types[i].type);
	}
	return ("application/octet-stream");
}

static int
web_is_dir(const char *path)
{
	struct stat	 sb;

	return (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode));
}

/* Where /app comes from, or NULL. */
char *
web_find_dir(const char *option)
{
	char	 exe[PATH_MAX], *dir;
	ssize_t	 n;

	if (option != NULL)
		return (web_is_dir(option) ? xstrdup(option) : NULL);
#ifdef WEB_DIR
	if (web_is_dir(WEB_DIR))
		return (xstrdup(WEB_DIR));
#endif
	if ((n = readlink("/proc/self/exe", exe, sizeof exe - 1)) <= 0)
		return (NULL);
	exe[n] = '\0';
	xasprintf(&dir, "%s/web/dist", dirname(exe));
	if (web_is_dir(dir))
		return (dir);
	free(dir);
	return (NULL);
}

/* %XX decoded; NULL if an escape is broken or makes a NUL. */
static char *
web_decode(const char *s)
{
	char	*out = xmalloc(strlen(s) + 1), *o = out;
	int	 hi, lo;

	for (; *s != '\0'; s++) {
		if (*s != '%') {
			*o++ = *s;
			continue;
		}
		if (!isxdigit((u_char)s[1]) || !isxdigit((u_char)s[2]))
			goto bad;
		hi = isdigit((u_char)s[1]) ? s[1] - '0' :
		    tolower((u_char)s[1]) - 'a' + 10;
		lo = isdigit((u_char)s[2]) ? s[2] - '0' :
		    tolower((u_char)s[2]) - 'a' + 10;
		if ((*o++ = hi << 4 | lo) == '\0')
			goto bad;
		s += 2;
	}
	*o = '\0';
	return (out);
bad:
	free(out);
	return (NULL);
}

/* Segments of [A-Za-z0-9._-], none empty or starting with a dot. */
static int
web_name_ok(const char *name)
{
	const char	*p;
	int		 start = 1;

	if (*name == '\0')
		return (0);
	for (p = name; *p != '\0'; p++) {
		if (*p == '/') {
			if (start)
				return (0);
			start = 1;
			continue;
		}
		if (start && *p == '.')
			return (0);
		start = 0;
		if (!isalnum((u_char)*p) && *p != '.' && *p != '_' &&
		    *p != '-')
			return (0);
	}
	return (!start);
}

/* The file's real path if it is a regular file inside dir. */
static char *
web_resolve(const char *dir, const char *name)
{
	char		*path, *real = NULL, *root;
	struct stat	 sb;
	size_t		 n;

	if ((root = realpath(dir, NULL)) == NULL)
		return (NULL);
	xasprintf(&path, "%s/%s", root, name);
	real = realpath(path, NULL);
	free(path);
	n = strlen(root);
	if (real != NULL && (strncmp(real, root, n) != 0 || real[n] != '/' ||
	    stat(real, &sb) != 0 || !S_ISREG(sb.st_mode))) {
		free(real);
		real = NULL;
	}
	free(root);
	return (real);
}

/* GET /app + rest. */
void
web_serve(struct rconn *c, const char *rest)
{
	char	*dir, *name = NULL, *path = NULL, *data = NULL, *cause = NULL;
	size_t	 len;

	if ((dir = web_find_dir(relay_opts.web)) == NULL) {
		conn_error(c, 503, "not_found", "the web app is not built: "
		    "run npm ci && npm run build in web/ (or pass --web DIR)");
		return;
	}
	if (*rest == '\0' || strcmp(rest, "/") == 0)
		name = xstrdup("index.html");
	else if (*rest == '/')
		name = web_decode(rest + 1);
	if (name == NULL || !web_name_ok(name) ||
	    (path = web_resolve(dir, name)) == NULL) {
		conn_error(c, 404, "not_found", "no such file in /app");
		goto out;
	}
	if ((data = file_read(path, WEB_FILE_MAX, &len, &cause)) == NULL) {
		log_warnx("/app: %s", cause != NULL ? cause : path);
		conn_error(c, 404, "not_found", "no such file in /app");
		goto out;
	}
	conn_reply(c, 200, web_type(name), data, len, web_csp);
out:
	free(cause);
	free(data);
	free(path);
	free(name);
	free(dir);
}

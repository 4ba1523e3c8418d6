/*
 * common/file.c: the state directory (~/.loopsy, or $LOOPSY_HOME) and files
 * in it: made 0700, written atomically (a temporary file in the same
 * directory, fsynced, renamed, the directory fsynced) so a crash leaves the
 * old or the new version, and read back with a size limit.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

char *
loopsy_home(void)
{
	const char	*home = getenv("LOOPSY_HOME");
	char		*path;

	if (home != NULL && *home != '\0')
		return (xstrdup(home));
	if ((home = getenv("HOME")) == NULL || *home == '\0')
		home = "/";
	xasprintf(&path, "%s/.loopsy", home);
	return (path);
}

/* A file or directory under the state directory. */
char *
loopsy_path(const char *name)
{
	char	*home = loopsy_home(), *path;

	xasprintf(&path, "%s/%s", home, name);
	free(home);
	return (path);
}

/* Make the state directory (and dir under it, if not NULL) with mode 0700. */
int
loopsy_mkdir(const char *sub, char **cause)
{
	char		*dir = sub != NULL ? loopsy_path(sub) : loopsy_home();
	char		*home = loopsy_home();
	struct stat	 sb;
	int		 rc = -1;

	if (mkdir(home, S_IRWXU) != 0 && errno != EEXIST) {
		xasprintf(cause, "cannot create %s: %s", home, strerror(errno));
		goto out;
	}
	if (sub != NULL && mkdir(dir, S_IRWXU) != 0 && errno != EEXIST) {
		xasprintf(cause, "cannot create %s: %s", dir, strerror(errno));
		goto out;
	}
	if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
		xasprintf(cause, "%s is not a directory", dir);
		goto out;
	}
	rc = 0;
out:
	free(home);
	free(dir);
	return (rc);
}

static int
file_write_all(int fd, const void *data, size_t len)
{
	const char	*p = data;
	ssize_t		 n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return (-1);
		p += n;
		len -= n;
	}
	return (0);
}

/*
 * Replace path with data, atomically, with the given mode.  A symlink (a
 * config.yaml kept with one's dotfiles) stays one: its target is replaced.
 */
int
file_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
    char **cause)
{
	char		*tmp, *copy, *dir, real[PATH_MAX];
	struct stat	 sb;
	int		 fd, dfd;

	if (lstat(path, &sb) == 0 && S_ISLNK(sb.st_mode) &&
	    realpath(path, real) != NULL)
		path = real;
	xasprintf(&tmp, "%s.XXXXXX", path);
	if ((fd = mkstemp(tmp)) == -1) {
		xasprintf(cause, "cannot create a file beside %s: %s", path,
		    strerror(errno));
		free(tmp);
		return (-1);
	}
	if (fchmod(fd, mode) != 0 || file_write_all(fd, data, len) != 0 ||
	    fsync(fd) != 0) {
		xasprintf(cause, "cannot write %s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		free(tmp);
		return (-1);
	}
	close(fd);
	if (rename(tmp, path) != 0) {
		xasprintf(cause, "cannot rename %s to %s: %s", tmp, path,
		    strerror(errno));
		unlink(tmp);
		free(tmp);
		return (-1);
	}
	free(tmp);
	copy = xstrdup(path);
	dir = dirname(copy);
	if ((dfd = open(dir, O_RDONLY|O_DIRECTORY|O_CLOEXEC)) != -1) {
		fsync(dfd);
		close(dfd);
	}
	free(copy);
	return (0);
}

/*
 * Read a whole file of at most max bytes (NUL-terminated).  NULL with errno
 * ENOENT and no *cause for a missing file; NULL with *cause otherwise.
 */
char *
file_read(const char *path, size_t max, size_t *lenp, char **cause)
{
	FILE	*f;
	char	*data;
	size_t	 len = 0, size = 4096, n;

	*cause = NULL;
	if ((f = fopen(path, "re")) == NULL) {
		if (errno != ENOENT)
			xasprintf(cause, "cannot open %s: %s", path,
			    strerror(errno));
		return (NULL);
	}
	data = xmalloc(size);
	while ((n = fread(data + len, 1, size - len - 1, f)) > 0) {
		len += n;
		if (len > max) {
			xasprintf(cause, "%s is larger than %zu bytes", path,
			    max);
			free(data);
			fclose(f);
			return (NULL);
		}
		if (size - len - 1 == 0)
			data = xreallocarray(data, 2, size), size *= 2;
	}
	if (ferror(f)) {
		xasprintf(cause, "cannot read %s: %s", path, strerror(errno));
		free(data);
		fclose(f);
		return (NULL);
	}
	fclose(f);
	data[len] = '\0';
	if (lenp != NULL)
		*lenp = len;
	return (data);
}

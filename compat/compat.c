/*
 * compat/compat.c: strlcpy, strlcat, closefrom and peer credentials for
 * systems that lack them (Linux: SO_PEERCRED; BSD and macOS: getpeereid).
 */
#include <sys/socket.h>
#ifdef __linux__
#include <sys/syscall.h>
#endif
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compat.h"

size_t
compat_strlcpy(char *dst, const char *src, size_t size)
{
	size_t	 len = strlen(src);

	if (size != 0) {
		size_t	 n = len >= size ? size - 1 : len;

		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return (len);
}

size_t
compat_strlcat(char *dst, const char *src, size_t size)
{
	size_t	 dlen = strnlen(dst, size);

	if (dlen == size)
		return (size + strlen(src));
	return (dlen + compat_strlcpy(dst + dlen, src, size - dlen));
}

int
compat_peer_cred(int fd, uid_t *uid, pid_t *pid)
{
#ifdef SO_PEERCRED
	struct ucred	 uc;
	socklen_t	 len = sizeof uc;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) != 0)
		return (-1);
	*uid = uc.uid;
	*pid = uc.pid;
	return (0);
#else
	gid_t	 gid;

	*pid = -1;
	return (getpeereid(fd, uid, &gid));
#endif
}

/*
 * Close every descriptor from lowfd up.  close_range where the kernel has
 * it; else the ones /proc lists; else all up to the descriptor limit.
 */
void
compat_closefrom(int lowfd)
{
	DIR		*d;
	struct dirent	*de;
	long		 fd, max;
	char		*end;

#ifdef SYS_close_range
	if (syscall(SYS_close_range, (unsigned int)lowfd, ~0U, 0) == 0)
		return;
#endif
	if ((d = opendir("/proc/self/fd")) != NULL) {
		while ((de = readdir(d)) != NULL) {
			fd = strtol(de->d_name, &end, 10);
			if (*end == '\0' && end != de->d_name && fd >= lowfd &&
			    fd != dirfd(d))
				close(fd);
		}
		closedir(d);
		return;
	}
	if ((max = sysconf(_SC_OPEN_MAX)) == -1)
		max = 1024;
	for (fd = lowfd; fd < max; fd++)
		close(fd);
}

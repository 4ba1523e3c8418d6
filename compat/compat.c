/*
 * compat/compat.c: strlcpy, strlcat and peer credentials for systems that
 * lack them (Linux: SO_PEERCRED; BSD and macOS: getpeereid).
 */
#include <sys/socket.h>
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

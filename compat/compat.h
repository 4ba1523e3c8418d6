/*
 * compat/compat.h: what some systems lack: the safe TAILQ iterator (glibc's
 * sys/queue.h has none), strlcpy/strlcat (glibc before 2.38), closefrom,
 * peer credentials.  Included from common/common.h.
 */
#ifndef COMPAT_H
#define COMPAT_H

#include <sys/types.h>
#include <sys/queue.h>
#include <stddef.h>

#ifndef __unused
#define __unused __attribute__((__unused__))
#endif

#ifndef TAILQ_FOREACH_SAFE
#define TAILQ_FOREACH_SAFE(var, head, field, tvar)			\
	for ((var) = TAILQ_FIRST(head);					\
	    (var) != NULL && ((tvar) = TAILQ_NEXT(var, field), 1);	\
	    (var) = (tvar))
#endif

size_t	compat_strlcpy(char *, const char *, size_t);
size_t	compat_strlcat(char *, const char *, size_t);
#define strlcpy compat_strlcpy
#define strlcat compat_strlcat

/* Close every descriptor from the given one up. */
void	compat_closefrom(int);

/* The uid and pid of the process at the other end of a Unix socket. */
int	compat_peer_cred(int, uid_t *, pid_t *);

#endif

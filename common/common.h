/*
 * common/common.h: the few types and helpers every part of loopsy links:
 * allocation that aborts on failure, logging, string helpers.  Nothing here
 * knows about sessions, clients or the wire protocol (see common/proto.h).
 */
#ifndef COMMON_H
#define COMMON_H

#include <sys/types.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "compat/compat.h"

#ifndef __dead
#define __dead __attribute__((__noreturn__))
#endif
#ifndef __printflike
#define __printflike(a, b) __attribute__((__format__(__printf__, a, b)))
#endif
#ifndef nitems
#define nitems(a) (sizeof (a) / sizeof (a)[0])
#endif

/* xmalloc.c: allocation never returns NULL; failure is fatal. */
void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
int	 xasprintf(char **, const char *, ...) __printflike(2, 3);
int	 xvasprintf(char **, const char *, va_list);

/* log.c: debug log to a file, off unless -v; errors to stderr or the log. */
extern int	log_level;
void	 log_open(const char *, int);
void	 log_stderr(int);
void	 log_close(void);
void	 log_debug(const char *, ...) __printflike(1, 2);
void	 log_info(const char *, ...) __printflike(1, 2);
void	 log_warnx(const char *, ...) __printflike(1, 2);
__dead void fatal(const char *, ...) __printflike(1, 2);
__dead void fatalx(const char *, ...) __printflike(1, 2);

/* A growable byte buffer; renderers and replies
 * append here, callers send it (buf.c). */
struct buf {
	char	*data;
	size_t	 len;
	size_t	 size;
};
void	 buf_init(struct buf *);
void	 buf_free(struct buf *);
void	 buf_reset(struct buf *);		/* len = 0, keep memory */
void	 buf_add(struct buf *, const void *, size_t);
void	 buf_addstr(struct buf *, const char *);
void	 buf_printf(struct buf *, const char *, ...) __printflike(2, 3);

/* file.c: the state directory and atomic files in it. */
char	*loopsy_home(void);			/* $LOOPSY_HOME or ~/.loopsy */
char	*loopsy_path(const char *);		/* a name under it */
int	 loopsy_mkdir(const char *, char **);	/* it (and a subdir), 0700 */
int	 file_write_atomic(const char *, const void *, size_t, mode_t,
	     char **);
char	*file_read(const char *, size_t, size_t *, char **);

/* util.c */
uint64_t	 now_ms(void);		/* monotonic milliseconds */
uint64_t	 now_us(void);		/* monotonic microseconds */
size_t		 utf8_encode(uint32_t, char *); /* up to 4 bytes, returns n */
size_t		 utf8_next(const u_char *, size_t, uint32_t *); /* 0: bad */
int		 utf8_is_control(uint32_t);	/* C0, DEL, C1, bidi marks */
int		 utf8_valid(const char *, size_t, size_t *);
char		*utf8_repair(const char *, size_t);	/* bad bytes: U+FFFD */
char		*utf8_escape(const char *);	/* for a terminal: \x1b */
int		 set_nonblock(int);
int		 set_cloexec(int);

#endif

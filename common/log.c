/*
 * common/log.c: the server's log.  Warnings always go to the log file (the
 * server has no terminal); -v adds info, -vv debug.  The file is 0600.
 * fatal() is for broken invariants, never for bad input.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

int		 log_level;
static FILE	*log_file;

void
log_open(const char *path, int level)
{
	int	 fd;

	log_level = level;
	if (log_file != NULL && log_file != stderr)
		fclose(log_file);
	log_file = NULL;
	if (path == NULL)
		return;
	fd = open(path, O_WRONLY|O_APPEND|O_CREAT|O_CLOEXEC, 0600);
	if (fd == -1 || (log_file = fdopen(fd, "a")) == NULL) {
		if (fd != -1)
			close(fd);
		return;
	}
	setvbuf(log_file, NULL, _IOLBF, 0);
}

/* Log to stderr (a program run by systemd or in a terminal). */
void
log_stderr(int level)
{
	log_close();
	log_level = level;
	log_file = stderr;
}

void
log_close(void)
{
	if (log_file != NULL && log_file != stderr)
		fclose(log_file);
	log_file = NULL;
}

static void
log_vwrite(const char *prefix, const char *fmt, va_list ap)
{
	struct timespec	 ts;

	if (log_file == NULL)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	fprintf(log_file, "%lld.%03ld %d %s", (long long)ts.tv_sec,
	    ts.tv_nsec / 1000000, (int)getpid(), prefix);
	vfprintf(log_file, fmt, ap);
	fputc('\n', log_file);
}

void
log_debug(const char *fmt, ...)
{
	va_list	 ap;

	if (log_level < 2)
		return;
	va_start(ap, fmt);
	log_vwrite("", fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	 ap;

	if (log_level < 1)
		return;
	va_start(ap, fmt);
	log_vwrite("", fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vwrite("warning: ", fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	char	*msg;
	va_list	 ap;
	int	 saved = errno;

	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	fprintf(stderr, "loopsy: fatal: %s: %s\n", msg, strerror(saved));
	if (log_file != NULL)
		fprintf(log_file, "fatal: %s: %s\n", msg, strerror(saved));
	abort();
}

void
fatalx(const char *fmt, ...)
{
	char	*msg;
	va_list	 ap;

	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	fprintf(stderr, "loopsy: fatal: %s\n", msg);
	if (log_file != NULL)
		fprintf(log_file, "fatal: %s\n", msg);
	abort();
}

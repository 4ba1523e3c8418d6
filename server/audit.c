/*
 * server/audit.c: one JSON object per line in logs/audit.jsonl for every
 * command: when, who (the actor), what, on what, how it ended, how long and
 * how many bytes.  Only names go in (a session, a program, a key, a path),
 * never values, arguments or secrets.  Rotated by size, keeping three old
 * files.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "server.h"

#define AUDIT_MAX_SIZE	(10 * 1024 * 1024)
#define AUDIT_KEEP	3

static int	audit_fd = -1;
size_t		audit_max_size = AUDIT_MAX_SIZE;

static int
audit_open(void)
{
	char	*path, *cause = NULL;

	if (audit_fd != -1)
		return (0);
	if (loopsy_mkdir("logs", &cause) != 0) {
		log_warnx("audit: %s", cause);
		free(cause);
		return (-1);
	}
	path = loopsy_path("logs/audit.jsonl");
	audit_fd = open(path, O_WRONLY|O_APPEND|O_CREAT|O_CLOEXEC, 0600);
	if (audit_fd == -1)
		log_warnx("audit: cannot open %s: %s", path, strerror(errno));
	free(path);
	return (audit_fd == -1 ? -1 : 0);
}

/* audit.jsonl -> .1 -> .2 -> .3 (dropped). */
static void
audit_rotate(void)
{
	char	*from, *to, *base = loopsy_path("logs/audit.jsonl");
	int	 i;

	for (i = AUDIT_KEEP; i > 0; i--) {
		if (i == 1)
			from = xstrdup(base);
		else
			xasprintf(&from, "%s.%d", base, i - 1);
		xasprintf(&to, "%s.%d", base, i);
		rename(from, to);
		free(from);
		free(to);
	}
	free(base);
	close(audit_fd);
	audit_fd = -1;
}

/* A name as valid UTF-8 (utf8_repair): the file stays JSON for any reader. */
static void
audit_add(cJSON *j, const char *name, const char *value)
{
	char	*s = utf8_repair(value, strlen(value));

	cJSON_AddStringToObject(j, name, s);
	free(s);
}

void
audit_log(const char *actor, const char *op, const char *target,
    const char *result, uint64_t duration_ms, uint64_t bytes)
{
	struct timespec	 ts;
	struct tm	 tm;
	struct stat	 sb;
	char		 when[64], *line;
	cJSON		*j;
	size_t		 len;

	if (audit_open() != 0)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	len = strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(when + len, sizeof when - len, ".%03ldZ",
	    ts.tv_nsec / 1000000);

	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "ts", when);
	audit_add(j, "actor", actor != NULL ? actor : "");
	audit_add(j, "op", op != NULL ? op : "");
	audit_add(j, "target", target != NULL ? target : "");
	audit_add(j, "result", result != NULL ? result : "ok");
	cJSON_AddNumberToObject(j, "duration_ms", duration_ms);
	cJSON_AddNumberToObject(j, "bytes", bytes);
	line = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	len = strlen(line);
	line[len] = '\n';		/* cJSON left room for its NUL */
	if (write(audit_fd, line, len + 1) != (ssize_t)len + 1)
		log_warnx("audit: write failed: %s", strerror(errno));
	free(line);
	if (fstat(audit_fd, &sb) == 0 && (size_t)sb.st_size > audit_max_size)
		audit_rotate();
}

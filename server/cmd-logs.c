/*
 * server/cmd-logs.c: print the audit log (logs/audit.jsonl) in the client,
 * with no server: as columns or as the JSON lines themselves, the rotated
 * files first with --all, and with -f follow it as it grows, through
 * inotify rather than polling, reopening the file when it is rotated.
 * Nothing in it reaches the terminal raw (logs_print_line).
 */
#include <sys/stat.h>
#ifdef __linux__
#include <sys/inotify.h>
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "server.h"

#define LOGS_FILE	"logs/audit.jsonl"
#define LOGS_KEEP	3		/* .1 .2 .3, as audit.c rotates */

static enum cmd_retval	cmd_logs(struct cmd_ctx *);

const struct cmd_def cmd_logs_def = {
	.name = "logs",
	.flags = "f",
	.longs = "json,all",
	.min_args = 0, .max_args = 0,
	.usage = "[-f] [--all] [--json]",
	.client = 1,
	.run = cmd_logs,
	.local_only = 1
};

/* An open log file and the start of a line not yet complete. */
struct logs_reader {
	int		 fd;
	ino_t		 ino;
	int		 json;
	struct buf	 partial;
};

/* A field of a line, escaped to print (utf8_escape): "-" if none. */
static char *
logs_str(cJSON *j, const char *name)
{
	cJSON	*v = cJSON_GetObjectItem(j, name);

	if (!cJSON_IsString(v) || *v->valuestring == '\0')
		return (xstrdup("-"));
	return (utf8_escape(v->valuestring));
}

/*
 * Names in the log come from whoever ran a command, so the columns have
 * their control characters escaped, and --json lines are made valid UTF-8
 * (utf8_repair): either way nothing reaches the terminal raw.
 */
static void
logs_print_line(const char *line, size_t len, int json)
{
	static const char	*names[] = { "ts", "actor", "op", "target",
				    "result" };
	cJSON			*j;
	char			*copy, *s[nitems(names)];
	u_int			 i;

	if (len == 0)
		return;
	if (json) {
		copy = utf8_repair(line, len);
		printf("%s\n", copy);
		free(copy);
		return;
	}
	copy = xstrndup(line, len);
	if ((j = cJSON_Parse(copy)) == NULL) {
		s[0] = utf8_escape(copy);	/* not ours to judge */
		printf("%s\n", s[0]);
		free(s[0]);
		free(copy);
		return;
	}
	for (i = 0; i < nitems(names); i++)
		s[i] = logs_str(j, names[i]);
	printf("%s %s %s %s %s %.0fms %.0fB\n", s[0], s[1], s[2], s[3], s[4],
	    cJSON_GetNumberValue(cJSON_GetObjectItem(j, "duration_ms")),
	    cJSON_GetNumberValue(cJSON_GetObjectItem(j, "bytes")));
	for (i = 0; i < nitems(names); i++)
		free(s[i]);
	cJSON_Delete(j);
	free(copy);
}

/* Print every complete line that can be read now. */
static void
logs_drain(struct logs_reader *r)
{
	char	 tmp[65536], *nl, *p;
	ssize_t	 n;
	size_t	 off;

	if (r->fd == -1)
		return;
	while ((n = read(r->fd, tmp, sizeof tmp)) > 0 ||
	    (n == -1 && errno == EINTR)) {
		if (n <= 0)
			continue;
		buf_add(&r->partial, tmp, n);
		for (off = 0, p = r->partial.data;
		    (nl = memchr(p + off, '\n', r->partial.len - off)) != NULL;
		    off = nl - p + 1)
			logs_print_line(p + off, nl - (p + off), r->json);
		memmove(p, p + off, r->partial.len - off);
		r->partial.len -= off;
	}
	fflush(stdout);
}

static void
logs_close(struct logs_reader *r)
{
	if (r->fd != -1)
		close(r->fd);
	r->fd = -1;
	buf_reset(&r->partial);	/* a line cut by a crash is dropped */
}

static int
logs_open(struct logs_reader *r, const char *path)
{
	struct stat	 sb;

	logs_close(r);
	if ((r->fd = open(path, O_RDONLY|O_CLOEXEC)) == -1)
		return (-1);
	if (fstat(r->fd, &sb) == 0)
		r->ino = sb.st_ino;
	return (0);
}

/* Print one whole file, if it is there. */
static void
logs_cat(const char *path, int json)
{
	struct logs_reader	 r = { .fd = -1, .json = json };

	buf_init(&r.partial);
	if (logs_open(&r, path) == 0) {
		logs_drain(&r);
		if (r.partial.len != 0)
			logs_print_line(r.partial.data, r.partial.len, json);
	}
	logs_close(&r);
	buf_free(&r.partial);
}

#ifdef __linux__
/*
 * Follow path: watch its directory (so renames and new files are seen too),
 * print what is there, then whatever each event brings.  When the name points
 * to a new file (rotation), finish the old one and start the new one.
 */
static int
logs_follow(struct cmd_ctx *ctx, const char *path, int json)
{
	struct logs_reader	 r = { .fd = -1, .json = json };
	struct stat		 sb;
	char			*dir, *cause = NULL, ev[8192];
	int			 ifd;

	if (loopsy_mkdir("logs", &cause) != 0) {
		cmd_error(ctx, "io", "%s", cause);
		free(cause);
		return (-1);
	}
	dir = loopsy_path("logs");
	if ((ifd = inotify_init1(IN_CLOEXEC)) == -1 ||
	    inotify_add_watch(ifd, dir, IN_MODIFY|IN_CREATE|IN_MOVED_FROM|
	    IN_MOVED_TO|IN_DELETE|IN_CLOSE_WRITE) == -1) {
		cmd_error(ctx, "io", "cannot watch %s: %s", dir,
		    strerror(errno));
		free(dir);
		return (-1);
	}
	free(dir);
	buf_init(&r.partial);
	logs_open(&r, path);
	for (;;) {
		logs_drain(&r);
		if (stat(path, &sb) == 0 && (r.fd == -1 || sb.st_ino != r.ino)) {
			logs_drain(&r);	/* written before it was renamed */
			logs_open(&r, path);
			continue;	/* drain the new file at once */
		}
		if (read(ifd, ev, sizeof ev) == -1 && errno != EINTR) {
			cmd_error(ctx, "io", "inotify: %s", strerror(errno));
			break;
		}
	}
	logs_close(&r);
	buf_free(&r.partial);
	close(ifd);
	return (-1);
}
#else
static int
logs_follow(struct cmd_ctx *ctx, const char *path __unused, int json __unused)
{
	cmd_error(ctx, "unsupported", "logs -f needs inotify (Linux)");
	return (-1);
}
#endif

static enum cmd_retval
cmd_logs(struct cmd_ctx *ctx)
{
	char	*path = loopsy_path(LOGS_FILE), *old;
	int	 json = args_has_long(ctx->args, "json"), i, rc = 0;

	if (args_has_long(ctx->args, "all")) {
		for (i = LOGS_KEEP; i > 0; i--) {
			xasprintf(&old, "%s.%d", path, i);
			logs_cat(old, json);
			free(old);
		}
	}
	if (args_has(ctx->args, 'f'))
		rc = logs_follow(ctx, path, json);
	else
		logs_cat(path, json);
	free(path);
	return (rc == 0 ? CMD_OK : CMD_ERROR);
}

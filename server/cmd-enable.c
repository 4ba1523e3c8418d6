/*
 * server/cmd-enable.c: loopsy enable and disable [--dry-run]: start the
 * server at login.  On Linux a systemd user unit running "loopsy start -F"
 * (systemctl --user daemon-reload, enable --now); on macOS a launchd agent
 * (launchctl load -w).  When the tool is missing or fails, say exactly what
 * to run.  Runs in the client.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef __APPLE__
#include <mach-o/dyld.h>
#endif

#include "server.h"

static enum cmd_retval	cmd_enable(struct cmd_ctx *);
static enum cmd_retval	cmd_disable(struct cmd_ctx *);

const struct cmd_def cmd_enable_def = {
	.name = "enable",
	.alias = NULL,
	.flags = "",
	.longs = "dry-run",
	.min_args = 0, .max_args = 0,
	.usage = "[--dry-run]",
	.client = 1,
	.run = cmd_enable,
	.local_only = 1
};

const struct cmd_def cmd_disable_def = {
	.name = "disable",
	.alias = NULL,
	.flags = "",
	.longs = "dry-run",
	.min_args = 0, .max_args = 0,
	.usage = "[--dry-run]",
	.client = 1,
	.run = cmd_disable,
	.local_only = 1
};

/*
 * One service manager: what to run ("%p" is the file) after writing it,
 * before removing it, and after removing it.
 */
struct enable_backend {
	const char	*what;
	const char	*tool;
	const char	*on[2][6];
	const char	*off[2][6];
	const char	*gone[2][6];
};

static const struct enable_backend enable_systemd __unused = {
	"systemd user unit", "systemctl",
	{ { "systemctl", "--user", "daemon-reload", NULL },
	  { "systemctl", "--user", "enable", "--now", "loopsy.service", NULL } },
	{ { "systemctl", "--user", "disable", "--now", "loopsy.service",
	    NULL }, { NULL } },
	{ { "systemctl", "--user", "daemon-reload", NULL }, { NULL } }
};

static const struct enable_backend enable_launchd __unused = {
	"launchd agent", "launchctl",
	{ { "launchctl", "load", "-w", "%p", NULL }, { NULL } },
	{ { "launchctl", "unload", "-w", "%p", NULL }, { NULL } },
	{ { NULL }, { NULL } }
};

#ifdef __APPLE__
#define ENABLE_BACKEND	(&enable_launchd)
#else
#define ENABLE_BACKEND	(&enable_systemd)
#endif

/* The file enable writes: the unit or the plist. */
char *
cmd_enable_path(void)
{
	const char	*home = getenv("HOME"), *xdg = getenv("XDG_CONFIG_HOME");
	char		*path;

	if (home == NULL || *home == '\0')
		home = "/";
#ifdef __APPLE__
	(void)xdg;
	xasprintf(&path, "%s/Library/LaunchAgents/dev.loopsy.server.plist",
	    home);
#else
	if (xdg != NULL && *xdg == '/')
		xasprintf(&path, "%s/systemd/user/loopsy.service", xdg);
	else
		xasprintf(&path, "%s/.config/systemd/user/loopsy.service",
		    home);
#endif
	return (path);
}

/* The absolute path of this loopsy binary. */
static char *
enable_exe(char **cause)
{
	char	 buf[PATH_MAX];
#ifdef __APPLE__
	uint32_t size = sizeof buf;
	char	 real[PATH_MAX];

	if (_NSGetExecutablePath(buf, &size) != 0 ||
	    realpath(buf, real) == NULL) {
		xasprintf(cause, "cannot find this program's path");
		return (NULL);
	}
	return (xstrdup(real));
#else
	ssize_t	 n;

	if ((n = readlink("/proc/self/exe", buf, sizeof buf - 1)) <= 0) {
		xasprintf(cause, "cannot find this program's path: %s",
		    strerror(errno));
		return (NULL);
	}
	buf[n] = '\0';
	return (xstrdup(buf));
#endif
}

#ifdef __APPLE__
/* Pass on a variable that says where loopsy's files are, if set. */
static void
enable_env(struct buf *b, const char *fmt, const char *name)
{
	const char	*v = getenv(name);

	if (v != NULL && *v == '/')
		buf_printf(b, fmt, name, v);
}
#else
/*
 * s for a systemd unit line: % is a specifier, and inside quotes " and \
 * are escapes and a newline would end the line.  $ is doubled in an
 * argument of ExecStart= (arg), which systemd expands; neither the program
 * to run nor Environment= values are.
 */
static void
enable_escape(struct buf *b, const char *s, int arg)
{
	for (; *s != '\0'; s++) {
		if (*s == '%')
			buf_add(b, "%%", 2);
		else if (*s == '$' && arg)
			buf_add(b, "$$", 2);
		else if (*s == '"' || *s == '\\')
			buf_printf(b, "\\%c", *s);
		else if ((u_char)*s < 0x20 || *s == 0x7f)
			buf_printf(b, "\\x%02x", (u_char)*s);
		else
			buf_add(b, s, 1);
	}
}

static void
enable_env_unit(struct buf *b, const char *name)
{
	const char	*v = getenv(name);

	if (v == NULL || *v != '/')
		return;
	buf_printf(b, "Environment=\"%s=", name);
	enable_escape(b, v, 0);
	buf_add(b, "\"\n", 2);
}
#endif

static char *
enable_text(const char *exe)
{
	struct buf	 b;
#ifndef __APPLE__
	const char	*p;
	int		 quote;
#endif

	buf_init(&b);
#ifdef __APPLE__
	buf_printf(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" "
	    "\"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n"
	    "<plist version=\"1.0\">\n<dict>\n"
	    "  <key>Label</key><string>dev.loopsy.server</string>\n"
	    "  <key>ProgramArguments</key>\n  <array>\n"
	    "    <string>%s</string>", exe);
	if (operate_socket_given && operate_socket != NULL)
		buf_printf(&b, "<string>-S</string><string>%s</string>",
		    operate_socket);
	buf_printf(&b, "<string>start</string>"
	    "<string>-F</string>\n  </array>\n"
	    "  <key>RunAtLoad</key><true/>\n"
	    "  <key>KeepAlive</key><dict><key>SuccessfulExit</key><false/>"
	    "</dict>\n");
	buf_printf(&b, "  <key>EnvironmentVariables</key><dict>\n");
	enable_env(&b, "    <key>%s</key><string>%s</string>\n", "LOOPSY_HOME");
	enable_env(&b, "    <key>%s</key><string>%s</string>\n", "TMPDIR");
	buf_printf(&b, "  </dict>\n</dict>\n</plist>\n");
#else
	buf_printf(&b, "# Written by loopsy enable; loopsy disable removes it.\n"
	    "[Unit]\nDescription=loopsy terminal multiplexer server\n"
	    "Documentation=man:loopsy(1)\n\n[Service]\nType=simple\n");
	enable_env_unit(&b, "LOOPSY_HOME");
	enable_env_unit(&b, "TMPDIR");
	quote = strpbrk(exe, " \t\"'\\") != NULL;
	for (p = exe; *p != '\0'; p++)
		quote |= (u_char)*p < 0x20 || *p == 0x7f;
	buf_printf(&b, "ExecStart=%s", quote ? "\"" : "");
	enable_escape(&b, exe, 0);
	buf_printf(&b, "%s", quote ? "\"" : "");
	if (operate_socket_given && operate_socket != NULL) {
		/* The server of -L/-S, not the default one. */
		buf_printf(&b, " -S \"");
		enable_escape(&b, operate_socket, 1);
		buf_printf(&b, "\"");
	}
	buf_printf(&b, " start -F\n");
	buf_printf(&b, "Restart=on-failure\nRestartSec=2\n\n[Install]\n"
	    "WantedBy=default.target\n");
#endif
	buf_add(&b, "", 1);
	return (b.data);
}

/* Is the tool in $PATH? */
static int
enable_have(const char *tool)
{
	const char	*path = getenv("PATH"), *p, *end;
	char		*file;
	int		 found = 0;

	if (path == NULL)
		path = "/usr/bin:/bin";
	for (p = path; !found && *p != '\0'; p = *end ? end + 1 : end) {
		end = p + strcspn(p, ":");
		xasprintf(&file, "%.*s/%s", (int)(end - p), end == p ? "." : p,
		    tool);
		found = access(file, X_OK) == 0;
		free(file);
	}
	return (found);
}

static char *
enable_line(const char *const *argv, const char *path)
{
	struct buf	 b;
	int		 i;

	buf_init(&b);
	for (i = 0; argv[i] != NULL; i++)
		buf_printf(&b, "%s%s", i ? " " : "",
		    strcmp(argv[i], "%p") == 0 ? path : argv[i]);
	buf_add(&b, "", 1);
	return (b.data);
}

/* Run one command, its output to our standard error; its exit status. */
static int
enable_run(const char *const *argv, const char *path)
{
	char	*args[6];
	pid_t	 pid;
	int	 i, status;

	for (i = 0; argv[i] != NULL && i < 5; i++)
		args[i] = strcmp(argv[i], "%p") == 0 ? (char *)path :
		    (char *)argv[i];
	args[i] = NULL;
	fflush(stdout);
	if ((pid = fork()) == -1)
		return (-1);
	if (pid == 0) {
		dup2(2, 1);
		execvp(args[0], args);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) == -1) {
		if (errno != EINTR)
			return (-1);
	}
	return (WIFEXITED(status) ? WEXITSTATUS(status) : 128);
}

/*
 * Run each of the commands in order, or print them if the tool is missing
 * or dry is set; after one fails, print what is left to run by hand.
 */
static int
enable_commands(struct cmd_ctx *ctx, const char *const cmds[][6],
    const char *path, int dry)
{
	const struct enable_backend *be = ENABLE_BACKEND;
	char	*line;
	int	 i, have = enable_have(be->tool), rc = 0, status;

	for (i = 0; i < 2 && cmds[i][0] != NULL; i++) {
		line = enable_line(cmds[i], path);
		if (dry)
			cmd_print(ctx, "would run: %s\n", line);
		else if (!have)
			cmd_print(ctx, "%s is not in PATH; run: %s\n", be->tool,
			    line);
		else if (rc != 0)
			cmd_print(ctx, "then run: %s\n", line);
		else if ((status = enable_run(cmds[i], path)) != 0) {
			cmd_error(ctx, "service", "%s failed (exit %d)", line,
			    status);
			cmd_print(ctx, "failed: %s; once it works, run it "
			    "again\n", line);
			rc = -1;
		} else
			cmd_print(ctx, "ran: %s\n", line);
		free(line);
	}
	return (rc);
}

/* mkdir -p, for ~/.config/systemd/user. */
static int
enable_mkdirs(const char *dir, char **cause)
{
	char	*copy = xstrdup(dir), *p = copy, c;
	int	 rc = 0;

	do {
		p += 1 + strcspn(p + 1, "/");
		c = *p;
		*p = '\0';
		if (mkdir(copy, 0755) != 0 && errno != EEXIST) {
			xasprintf(cause, "cannot create %s: %s", copy,
			    strerror(errno));
			rc = -1;
		}
		*p = c;
	} while (rc == 0 && c != '\0');
	free(copy);
	return (rc);
}

static enum cmd_retval
cmd_enable(struct cmd_ctx *ctx)
{
	const struct enable_backend *be = ENABLE_BACKEND;
	int		 dry = args_has_long(ctx->args, "dry-run");
	char		*path = cmd_enable_path(), *exe, *text = NULL, *dir;
	char		*cause = NULL;
	enum cmd_retval	 rv = CMD_ERROR;

	if ((exe = enable_exe(&cause)) == NULL) {
		cmd_error(ctx, "service", "%s", cause);
		goto out;
	}
	text = enable_text(exe);
	if (dry) {
		cmd_print(ctx, "would write %s:\n%s", path, text);
		enable_commands(ctx, be->on, path, 1);
		rv = CMD_OK;
		goto out;
	}
	dir = xstrdup(path);
	*strrchr(dir, '/') = '\0';
	if (enable_mkdirs(dir, &cause) != 0 ||
	    file_write_atomic(path, text, strlen(text), 0644, &cause) != 0) {
		cmd_error(ctx, "service", "%s", cause);
		free(dir);
		goto out;
	}
	free(dir);
	cmd_print(ctx, "wrote %s %s (runs %s start -F)\n", be->what, path, exe);
	if (enable_commands(ctx, be->on, path, 0) == 0)
		rv = CMD_OK;
#ifndef __APPLE__
	if (rv == CMD_OK)
		cmd_print(ctx, "to keep it running after you log out: loginctl "
		    "enable-linger\n");
#endif
out:
	free(cause);
	free(text);
	free(exe);
	free(path);
	return (rv);
}

static enum cmd_retval
cmd_disable(struct cmd_ctx *ctx)
{
	const struct enable_backend *be = ENABLE_BACKEND;
	int		 dry = args_has_long(ctx->args, "dry-run");
	char		*path = cmd_enable_path();
	enum cmd_retval	 rv = CMD_ERROR;

	if (access(path, F_OK) != 0) {
		cmd_print(ctx, "not enabled: no %s at %s\n", be->what, path);
		rv = CMD_OK;
		goto out;
	}
	if (dry) {
		enable_commands(ctx, be->off, path, 1);
		cmd_print(ctx, "would remove %s\n", path);
		enable_commands(ctx, be->gone, path, 1);
		rv = CMD_OK;
		goto out;
	}
	/* Stop it first: launchctl unload needs the file. */
	if (enable_commands(ctx, be->off, path, 0) != 0)
		goto out;
	if (unlink(path) != 0) {
		cmd_error(ctx, "service", "cannot remove %s: %s", path,
		    strerror(errno));
		goto out;
	}
	cmd_print(ctx, "removed %s\n", path);
	if (enable_commands(ctx, be->gone, path, 0) == 0)
		rv = CMD_OK;
out:
	free(path);
	return (rv);
}

/*
 * client/main.c: the entry point of the loopsy binary.  Global options
 * (-L, -S, -v, -V) come first, then a command of the command table; with no
 * command, loopsy opens a new session.  "start -F" runs the server here.
 */
#include <sys/inotify.h>

#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "server/server.h"
#include "client/client.h"
#include "client/cp.h"
#include "client/mcp.h"

int	 client_verbose;

static __dead void
usage(void)
{
	fprintf(stderr, "usage: loopsy [-Vv] [-L socket-name] [-S socket-path] "
	    "[command [flags] [args]]\n");
	exit(2);
}

/* Check the command and its flags here, so usage errors need no server. */
static const struct cmd_def *
main_check(int argc, char **argv)
{
	const struct cmd_def	*def;
	struct args		*args;
	char			*cause = NULL, *u;
	int			 words;

	if ((words = cmd_lookup(argc, argv, &def, &cause)) == 0) {
		fprintf(stderr, "%s\n", cause);
		exit(2);
	}
	args = args_parse(def->flags, def->longs, argc - words, argv + words,
	    &cause);
	if (args == NULL || args->argc < def->min_args ||
	    (def->max_args >= 0 && args->argc > def->max_args)) {
		u = cmd_usage(def);
		if (cause != NULL)
			fprintf(stderr, "%s: %s\n", def->name, cause);
		fprintf(stderr, "%s\n", u);
		exit(2);
	}
	args_free(args);
	return (def);
}

/* A command that needs no server (init, config check): run it here. */
static int
main_in_client(int argc, char **argv)
{
	struct cmd_ctx	*ctx = NULL;
	enum cmd_retval	 rv;
	char		 cwd[PATH_MAX];

	rv = cmd_run_argv(NULL, NULL, 0, argc, argv,
	    getcwd(cwd, sizeof cwd), &ctx);
	ctx->done = 1;
	fwrite(ctx->out.data, 1, ctx->out.len, stdout);
	fflush(stdout);
	if (ctx->error != NULL && *ctx->error != '\0')
		fprintf(stderr, "%s\n", ctx->error);
	if (rv == CMD_USAGE)
		ctx->exit_status = 2;
	else if (rv == CMD_ERROR && ctx->exit_status == 0)
		ctx->exit_status = 1;
	rv = ctx->exit_status;
	cmd_ctx_free(ctx);
	return (rv);
}

/* Is a server answering on path?  A connection that is closed at once. */
static int
main_server_live(const char *path)
{
	int	 fd;

	if ((fd = client_connect(path)) == -1)
		return (0);
	close(fd);
	return (1);
}

/*
 * Wait until the server on path has gone: its socket is removed when it
 * exits (inotify on the directory), with a check a minute in case it died
 * without removing it.  0 once it is gone.
 */
static int
main_wait_gone(const char *path, const char *why)
{
	struct pollfd	 pfd;
	char		*dir, ev[4096];
	int		 fd;

	fprintf(stderr, "%s; waiting for it to exit, then serving\n", why);
	dir = xstrdup(path);
	if (strrchr(dir, '/') != NULL)
		*strrchr(dir, '/') = '\0';
	fd = inotify_init1(IN_CLOEXEC);
	if (fd == -1 || inotify_add_watch(fd, dir, IN_DELETE|IN_MOVED_FROM|
	    IN_DELETE_SELF) == -1) {
		free(dir);
		if (fd != -1)
			close(fd);
		return (-1);
	}
	free(dir);
	pfd.fd = fd;
	pfd.events = POLLIN;
	while (main_server_live(path)) {
		if (poll(&pfd, 1, 60 * 1000) == -1 && errno != EINTR)
			break;
		if (pfd.revents & POLLIN) {
			if (read(fd, ev, sizeof ev) == -1 && errno != EINTR &&
			    errno != EAGAIN)
				break;
		}
	}
	close(fd);
	return (main_server_live(path) ? -1 : 0);
}

/*
 * Is this "start -F" (with or without --lan)?  Then the server runs here.
 * --lan is set here either way, so a server this command forks has it
 * before it listens.
 */
static int
main_start_foreground(const struct cmd_def *def, int argc, char **argv)
{
	struct args	*args;
	char		*cause = NULL;
	int		 fg;

	if (strcmp(def->name, "start") != 0)
		return (0);
	args = args_parse(def->flags, def->longs, argc - 1, argv + 1, &cause);
	fg = args != NULL && args_has(args, 'F');
	if (args != NULL && args_has_long(args, "lan"))
		server_lan = 1;
	args_free(args);
	free(cause);
	return (fg);
}

static int
main_foreground(const char *path)
{
	char	*cause = NULL;

	while (server_start(path, 1, -1, -1, &cause) != 0) {
		/*
		 * A server started on demand is there already (systemd
		 * starting "start -F" after loopsy ran): exiting would make
		 * the unit restart again and again.  Wait for it to go, then
		 * serve.
		 */
		if (strstr(cause, "already running") == NULL ||
		    main_wait_gone(path, cause) != 0) {
			fprintf(stderr, "%s\n", cause);
			return (1);
		}
		free(cause);
		cause = NULL;
	}
	return (0);
}

int
main(int argc, char **argv)
{
	const struct cmd_def	*def;
	const char		*label = NULL, *path = NULL;
	char			*socket, *cause = NULL, *dflt[] = { "new-session" };
	int			 opt, rc;

	while ((opt = getopt(argc, argv, "+hL:S:Vv")) != -1) {
		switch (opt) {
		case 'L':
			label = optarg;
			break;
		case 'S':
			path = optarg;
			break;
		case 'V':
			printf("loopsy %s\n", PACKAGE_VERSION);
			return (0);
		case 'v':
			client_verbose++;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		argc = 1;
		argv = dflt;
	}
	if (mcp_is_entry(argc, argv)) {		/* mcp: client/mcp.c */
		if ((socket = client_socket_path(label, path, &cause)) == NULL) {
			fprintf(stderr, "%s\n", cause);
			return (1);
		}
		rc = mcp_main(socket, argc, argv);
		free(socket);
		return (rc);
	}
	if ((def = cp_lookup(argv[0])) != NULL) {	/* cp: client/cp.c */
		if ((socket = client_socket_path(label, path, &cause)) == NULL) {
			fprintf(stderr, "%s\n", cause);
			return (1);
		}
		rc = cp_main(socket, def, argc, argv);
		free(socket);
		return (rc);
	}
	def = main_check(argc, argv);
	if (context_client_argv(def, argc, argv, &cause) != 0) {
		fprintf(stderr, "%s\n", cause);	/* "context set k -" */
		return (1);
	}
	if (def->client) {
		/* For doctor and key generate, which ask a running server. */
		operate_socket = client_socket_path(label, path, &cause);
		operate_socket_given = label != NULL || path != NULL;
		free(cause);
		return (main_in_client(argc, argv));
	}
	if ((socket = client_socket_path(label, path, &cause)) == NULL) {
		fprintf(stderr, "%s\n", cause);
		return (1);
	}
	if (main_start_foreground(def, argc, argv)) {
		log_open("/dev/stderr", client_verbose);
		server_exit_when_empty = 0;
		rc = main_foreground(socket);
	} else
		rc = client_run(socket, def, argc, argv);
	free(socket);
	return (rc);
}

/*
 * server/server.c: the server process: its socket (directory 0700, socket
 * 0600, one live server per socket), the event loop, signals and shutdown.
 * Sessions live in session.c, connections in server-client.c.
 */
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/crypto.h"
#include "server.h"

struct event_base	*server_base;
char			*server_socket_path;
struct history_budget	 server_history;
int			 server_exit_when_empty = 1;
int			 server_lan;	/* start --lan: peers on 0.0.0.0 */
time_t			 server_started;
uint64_t		 server_stats_frames_sent, server_stats_frames_skipped;

static int		 server_fd = -1;
static int		 server_lock_fd = -1;
static int		 server_exiting;
static struct event	*server_ev_accept;
static struct event	*server_ev_signals[5];

static void
server_accept_cb(int fd, short events __unused, void *arg __unused)
{
	int	 nfd;

	nfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK|SOCK_CLOEXEC);
	if (nfd == -1) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			log_warnx("accept: %s", strerror(errno));
		return;
	}
	if (server_exiting) {
		close(nfd);
		return;
	}
	server_client_accept(nfd);
}

static void
server_signal_cb(int sig, short events __unused, void *arg __unused)
{
	pid_t	 pid;
	int	 status;
	char	*cause = NULL;

	switch (sig) {
	case SIGCHLD:
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			if (!cmd_exec_child_exited(pid, status))
				session_child_exited(pid, status);
		}
		break;
	case SIGTERM:
	case SIGINT:
		server_shutdown("server exited");
		break;
	case SIGHUP:
		if (server_reload_config(&cause) != 0) {
			log_warnx("SIGHUP: %s", cause);
			free(cause);
		}
		break;
	}
}

/* mDNS: publish the peer port and the certificate's fingerprint, if any. */
static void
server_discovery_start(void)
{
	char	*path = loopsy_path("tls/cert.pem"), *pem, *fp = NULL;
	char	*cause = NULL;
	size_t	 len;

	if ((pem = file_read(path, 1024 * 1024, &len, &cause)) != NULL)
		fp = crypto_cert_fingerprint(pem, len, &cause);
	discovery_start(config.server_port, fp);
	free(cause);
	free(fp);
	free(pem);
	free(path);
}

/*
 * Read config.yaml again into a new struct and switch to it only if it is
 * good: a bad file keeps the old config and says why.  A changed TLS
 * certificate or key serves the peer connections made from now on; one that
 * does not load keeps the old one and says why, but the config is taken (a
 * key removed from auth.allowedKeys must go).  Sessions are not touched; new values
 * apply from now on (key bindings, the status line, history budget,
 * limits).
 */
int
server_reload_config(char **cause)
{
	struct config	 nc;
	struct client	*c;
	char		*path = config_path(), *why = NULL, *tlswhy = NULL;
	int		 relisten, newcert, discovery = config.discovery;
	int		 rc = -1;

	log_info("reloading %s", path);
	config_defaults(&nc);
	if (config_load(path, &nc, &why) != 0) {
		xasprintf(cause, "config reload failed, keeping the old "
		    "config: %s", why);
		goto out;
	}
	/*
	 * A certificate that does not load keeps the old one, but the config
	 * is still taken: a key removed from auth.allowedKeys must go.
	 */
	if ((newcert = listen_reload_tls(&why)) == -1) {
		xasprintf(&tlswhy, "the TLS certificate was kept: the new one "
		    "does not load: %s", why);
		newcert = 0;
	}
	relisten = listen_port() == 0 || nc.server_port != config.server_port ||
	    strcmp(nc.server_host, config.server_host) != 0;
	config_clear(&config);
	config = nc;
	if (relisten)
		listen_start();
	server_history.limit = config.history_budget;
	keys_init();
	if (config.discovery != discovery || relisten || newcert)
		server_discovery_start();	/* stops it first */
	TAILQ_FOREACH(c, &clients, entry) {
		if (c->flags & CLIENT_ATTACHED)
			server_client_redraw(c);
	}
	if (tlswhy != NULL) {
		log_warnx("reloaded %s, but %s", path, tlswhy);
		xasprintf(cause, "config reloaded, but %s", tlswhy);
		goto out;
	}
	log_info("reloaded %s", path);
	rc = 0;
out:
	if (rc != 0 && tlswhy == NULL)
		config_clear(&nc);
	free(tlswhy);
	free(why);
	free(path);
	return (rc);
}

/* Is a server answering on path?  Removes a stale socket. */
static int
server_socket_live(const char *path)
{
	struct sockaddr_un	 sa;
	int			 fd, rc;

	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	strlcpy(sa.sun_path, path, sizeof sa.sun_path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC, 0)) == -1)
		return (0);
	rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
	close(fd);
	if (rc == 0)
		return (1);
	if (errno == ECONNREFUSED)
		unlink(path);
	return (0);
}

/* Take the startup lock: a second server waits here until the first listens. */
static char *
server_lock(const char *path, char **cause)
{
	char	*lock;

	xasprintf(&lock, "%s.lock", path);
	server_lock_fd = open(lock, O_WRONLY|O_CREAT|O_CLOEXEC, 0600);
	if (server_lock_fd == -1 || flock(server_lock_fd, LOCK_EX) != 0) {
		xasprintf(cause, "cannot lock %s: %s", lock, strerror(errno));
		if (server_lock_fd != -1)
			close(server_lock_fd);
		free(lock);
		return (NULL);
	}
	return (lock);
}

static void
server_unlock(char *lock)
{
	unlink(lock);
	close(server_lock_fd);
	server_lock_fd = -1;
	free(lock);
}

static int
server_create_socket(const char *path, char **cause)
{
	struct sockaddr_un	 sa;
	mode_t			 mask;
	int			 fd = -1;
	char			*lock;

	if (strlen(path) >= sizeof sa.sun_path) {
		xasprintf(cause, "socket path too long: %s", path);
		return (-1);
	}
	if ((lock = server_lock(path, cause)) == NULL)
		return (-1);
	if (server_socket_live(path)) {
		xasprintf(cause, "a server is already running on %s", path);
		goto out;
	}
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	strlcpy(sa.sun_path, path, sizeof sa.sun_path);
	fd = socket(AF_UNIX, SOCK_STREAM|SOCK_NONBLOCK|SOCK_CLOEXEC, 0);
	if (fd == -1) {
		xasprintf(cause, "socket: %s", strerror(errno));
		goto out;
	}
	mask = umask(S_IXUSR|S_IRWXG|S_IRWXO);
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
	    listen(fd, 128) != 0) {
		xasprintf(cause, "cannot listen on %s: %s", path,
		    strerror(errno));
		close(fd);
		fd = -1;
	}
	umask(mask);
	if (fd != -1)
		chmod(path, S_IRUSR|S_IWUSR);
out:
	server_unlock(lock);
	return (fd);
}

int
server_start(const char *path, int foreground __unused, int ready_fd, int first_fd,
    char **cause)
{
	static const int sigs[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP };
	char		*cpath, *ccause = NULL;
	u_int		 i;

	/*
	 * Only the server needs a locale (UTF-8 in wait --text patterns); the
	 * client runs without one, which saves most of a millisecond per call.
	 */
	setlocale(LC_CTYPE, "");
	server_socket_path = xstrdup(path);
	server_started = time(NULL);
	config_defaults(&config);
	cpath = config_path();
	if (config_load(cpath, &config, &ccause) != 0) {
		xasprintf(cause, "%s", ccause);
		free(ccause);
		free(cpath);
		return (-1);
	}
	free(cpath);
	server_history.limit = config.history_budget;
	if ((server_fd = server_create_socket(path, cause)) == -1)
		return (-1);

	signal(SIGPIPE, SIG_IGN);
	server_base = event_base_new();
	server_ev_accept = event_new(server_base, server_fd,
	    EV_READ|EV_PERSIST, server_accept_cb, NULL);
	event_add(server_ev_accept, NULL);
	for (i = 0; i < nitems(sigs); i++) {
		server_ev_signals[i] = evsignal_new(server_base, sigs[i],
		    server_signal_cb, NULL);
		evsignal_add(server_ev_signals[i], NULL);
	}
	keys_init();
	if (getenv("LOOPSY_AUDIT_MAX_SIZE") != NULL)	/* tests only */
		audit_max_size = strtoull(getenv("LOOPSY_AUDIT_MAX_SIZE"),
		    NULL, 10);
	cpath = loopsy_path("context.json");
	if (context_open(cpath, server_base, &ccause) != 0) {
		log_warnx("%s", ccause);
		free(ccause);
	}
	free(cpath);
	listen_start();
	relay_link_start();	/* if relay.json says so */
	log_info("server started on %s, pid %ld", path, (long)getpid());
	if (first_fd != -1) {
		set_nonblock(first_fd);
		server_client_accept(first_fd);
	}

	if (ready_fd != -1) {
		if (write(ready_fd, "ok\n", 3) != 3)
			log_warnx("ready pipe: %s", strerror(errno));
		close(ready_fd);
	}
	server_discovery_start();
	event_base_dispatch(server_base);

	log_info("server exiting");
	context_close();
	unlink(path);
	return (0);
}

static void
server_exit_timeout_cb(int fd __unused, short events __unused, void *arg __unused)
{
	event_base_loopexit(server_base, NULL);
}

/* Finish: end every session, let pending replies out, then stop the loop. */
void
server_shutdown(const char *why)
{
	struct session	*s, *s1;
	struct client	*c, *c1;
	struct timeval	 tv = { 2, 0 };

	if (server_exiting)
		return;
	server_exiting = 1;
	log_info("%s: %s", __func__, why);
	event_del(server_ev_accept);
	close(server_fd);
	listen_shutdown();
	relay_link_stop();
	phone_pair_clear();
	unlink(server_socket_path);
	TAILQ_FOREACH_SAFE(c, &clients, entry, c1) {
		if (c->flags & CLIENT_ATTACHED)
			server_client_detach(c, why);
	}
	TAILQ_FOREACH_SAFE(s, &sessions, entry, s1)
		session_destroy(s);
	cmd_exec_shutdown();
	discovery_stop();
	event_base_once(server_base, -1, EV_TIMEOUT, server_exit_timeout_cb,
	    NULL, &tv);
	server_check_exit();
}

int
server_is_exiting(void)
{
	return (server_exiting);
}

/*
 * Exit once nothing is left: a server started on demand goes when it has no
 * sessions and nobody is connected (a client may be about to make one).
 */
void
server_check_exit(void)
{
	if (!server_exiting) {
		if (!server_exit_when_empty || !TAILQ_EMPTY(&sessions) ||
		    !TAILQ_EMPTY(&clients))
			return;
		server_shutdown("no sessions left");
		return;
	}
	if (TAILQ_EMPTY(&clients))
		event_base_loopexit(server_base, NULL);
}

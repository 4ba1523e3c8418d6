/*
 * relay/relay.c: loopsy-relay's main: options, the data directory (the
 * SQLite store, the relay key, a generated TLS certificate), the listener
 * and signals.  It runs in the foreground and logs to stderr (systemd or a
 * terminal keeps it); SIGTERM and SIGINT close every connection and exit.
 */
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "common/crypto.h"
#include "common/ws.h"
#include "relay.h"

#define RELAY_PURGE_EVERY	300	/* seconds between nonce purges */
#define RELAY_CERT_DAYS		825
#define RELAY_MAX_PENDING	16	/* per address, without --trust-proxy */

struct relay_opts	 relay_opts = {
	.tls = -1,
	.register_limit = 5,
	.max_frame = 1024 * 1024,
	.max_phones = 16,
	.max_per_ip = 64,
	.max_pending = (u_int)-1,	/* by --trust-proxy */
	.tap_fd = -1,
};
struct event_base	*relay_base;
struct store		*relay_store;
uint8_t			 relay_key[RELAY_KEY_LEN];
int			 relay_tls;
int			 relay_exiting;

static struct evconnlistener	*relay_lev;
static SSL_CTX			*relay_ctx;

static __dead void
usage(int status)
{
	fprintf(status == 0 ? stdout : stderr,
	    "usage: loopsy-relay [-Fv] [--listen ADDR:PORT] [--data DIR]\n"
	    "\t[--tls-cert FILE --tls-key FILE] [--tls | --no-tls]\n"
	    "\t[--registration-secret-file FILE] [--allow-origin ORIGIN]\n"
	    "\t[--register-limit N] [--max-frame BYTES] [--max-phones N]\n"
	    "\t[--max-per-ip N] [--max-pending-per-ip N] [--web DIR]\n"
	    "\t[--trust-proxy] [--tap FILE]\n");
	exit(status);
}

static __dead void
relay_fail(const char *fmt, ...)
{
	va_list	 ap;

	fprintf(stderr, "loopsy-relay: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

void
relay_tap(const void *data, size_t len)
{
	const char	*p = data;
	ssize_t		 n;

	while (relay_opts.tap_fd != -1 && len > 0) {
		if ((n = write(relay_opts.tap_fd, p, len)) <= 0) {
			if (n == -1 && errno == EINTR)
				continue;
			log_warnx("--tap: %s", strerror(errno));
			return;
		}
		p += n;
		len -= n;
	}
}

static u_int
relay_number(const char *name, const char *s, u_int min, u_int max)
{
	char		*end;
	long long	 n;

	errno = 0;
	n = strtoll(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || n < min || n > max)
		relay_fail("%s %s: expected a whole number from %u to %u",
		    name, s, min, max);
	return ((u_int)n);
}

/* The registration secret: the file's first line, kept as its SHA-256. */
static void
relay_reg_secret(const char *path)
{
	char	*s, *cause = NULL;
	size_t	 len;

	if ((s = file_read(path, 4096, &len, &cause)) == NULL)
		relay_fail("%s", cause != NULL ? cause : path);
	len = strcspn(s, "\r\n");
	if (len == 0)
		relay_fail("%s: the registration secret is empty", path);
	crypto_sha256(s, len, relay_opts.reg_secret);
	relay_opts.has_reg_secret = 1;
	crypto_cleanse(s, strlen(s));
	free(s);
}

static void
relay_options(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "tls-cert", required_argument, NULL, 'c' },
		{ "tls-key", required_argument, NULL, 'k' },
		{ "tls", no_argument, NULL, 'T' },
		{ "no-tls", no_argument, NULL, 'N' },
		{ "data", required_argument, NULL, 'd' },
		{ "registration-secret-file", required_argument, NULL, 's' },
		{ "allow-origin", required_argument, NULL, 'o' },
		{ "register-limit", required_argument, NULL, 'r' },
		{ "max-frame", required_argument, NULL, 'm' },
		{ "max-phones", required_argument, NULL, 'p' },
		{ "max-per-ip", required_argument, NULL, 'i' },
		{ "max-pending-per-ip", required_argument, NULL, 'q' },
		{ "web", required_argument, NULL, 'w' },
		{ "trust-proxy", no_argument, NULL, 'P' },
		{ "tap", required_argument, NULL, 't' },
		{ "foreground", no_argument, NULL, 'F' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int	 ch;

	log_level = 1;
	while ((ch = getopt_long(argc, argv, "Fhv", longopts, NULL)) != -1) {
		switch (ch) {
		case 'l':
			relay_opts.listen = optarg;
			break;
		case 'c':
			relay_opts.tls_cert = optarg;
			break;
		case 'k':
			relay_opts.tls_key = optarg;
			break;
		case 'T':
			relay_opts.tls = 1;
			break;
		case 'N':
			relay_opts.tls = 0;
			break;
		case 'd':
			relay_opts.data = optarg;
			break;
		case 's':
			relay_reg_secret(optarg);
			break;
		case 'o':
			relay_opts.origins = xreallocarray(relay_opts.origins,
			    relay_opts.norigins + 1, sizeof (char *));
			relay_opts.origins[relay_opts.norigins++] = optarg;
			break;
		case 'r':
			relay_opts.register_limit = relay_number(
			    "--register-limit", optarg, 0, 1000000);
			break;
		case 'm':
			relay_opts.max_frame = relay_number("--max-frame",
			    optarg, 1024, 64 * 1024 * 1024);
			break;
		case 'p':
			relay_opts.max_phones = relay_number("--max-phones",
			    optarg, 1, 100000);
			break;
		case 'i':
			relay_opts.max_per_ip = relay_number("--max-per-ip",
			    optarg, 1, 1000000);
			break;
		case 'q':
			relay_opts.max_pending = relay_number(
			    "--max-pending-per-ip", optarg, 0, 1000000);
			break;
		case 'w':
			relay_opts.web = optarg;
			break;
		case 'P':
			relay_opts.trust_proxy = 1;
			break;
		case 't':
			relay_opts.tap_fd = open(optarg, O_WRONLY|O_APPEND|
			    O_CREAT|O_CLOEXEC, 0600);
			if (relay_opts.tap_fd == -1)
				relay_fail("--tap %s: %s", optarg,
				    strerror(errno));
			break;
		case 'F':
			break;		/* always in the foreground */
		case 'v':
			log_level++;
			break;
		case 'V':
			printf("loopsy-relay %s\n", PACKAGE_VERSION);
			exit(0);
		case 'h':
			usage(0);
		default:
			usage(2);
		}
	}
	if (optind != argc)
		usage(2);
	if ((relay_opts.tls_cert == NULL) != (relay_opts.tls_key == NULL))
		relay_fail("--tls-cert and --tls-key go together");
	if (relay_opts.tls_cert != NULL && relay_opts.tls == 0)
		relay_fail("--no-tls with --tls-cert makes no sense");
	/* Behind a proxy every connection comes from the proxy. */
	if (relay_opts.max_pending == (u_int)-1)
		relay_opts.max_pending = relay_opts.trust_proxy ? 0 :
		    RELAY_MAX_PENDING;
}

/* Split ADDR:PORT ([v6]:PORT too). */
static void
relay_split(const char *s, char **host, char **port)
{
	const char	*colon;

	if (*s == '[' && (colon = strstr(s, "]:")) != NULL) {
		*host = xstrndup(s + 1, colon - s - 1);
		*port = xstrdup(colon + 2);
	} else if ((colon = strrchr(s, ':')) != NULL && colon != s) {
		*host = xstrndup(s, colon - s);
		*port = xstrdup(colon + 1);
	} else
		relay_fail("--listen %s: expected ADDR:PORT", s);
}

static int
relay_loopback(const struct sockaddr *sa)
{
	const struct sockaddr_in	*sin = (const void *)sa;
	const struct sockaddr_in6	*sin6 = (const void *)sa;

	if (sa->sa_family == AF_INET)
		return ((ntohl(sin->sin_addr.s_addr) >> 24) == 127);
	if (sa->sa_family == AF_INET6)
		return (IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr));
	return (0);
}

/* DATA/relay.key: 32 random bytes, made once. */
static void
relay_load_key(void)
{
	char	*path, *data, *cause = NULL;
	size_t	 len;

	xasprintf(&path, "%s/relay.key", relay_opts.data);
	data = file_read(path, 4096, &len, &cause);
	if (data == NULL && cause != NULL)
		relay_fail("%s", cause);
	if (data == NULL) {
		if (RAND_bytes(relay_key, sizeof relay_key) != 1)
			relay_fail("no random bytes for the relay key");
		if (file_write_atomic(path, relay_key, sizeof relay_key, 0600,
		    &cause) != 0)
			relay_fail("%s", cause);
		log_info("made a new relay key in %s", path);
	} else {
		if (len != sizeof relay_key)
			relay_fail("%s: expected %zu bytes, found %zu", path,
			    sizeof relay_key, len);
		memcpy(relay_key, data, len);
		crypto_cleanse(data, len);
		free(data);
	}
	free(path);
}

/* A self-signed certificate in DATA/tls, made once; its paths. */
static void
relay_self_signed(const char *host, char **cert, char **key)
{
	struct crypto_pem	 pem;
	char			*dir, *cause = NULL, *text, *fp, name[256];
	size_t			 len;

	xasprintf(&dir, "%s/tls", relay_opts.data);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		relay_fail("cannot create %s: %s", dir, strerror(errno));
	xasprintf(cert, "%s/cert.pem", dir);
	xasprintf(key, "%s/key.pem", dir);
	if (access(*cert, F_OK) != 0 || access(*key, F_OK) != 0) {
		if (host == NULL || *host == '\0' || strcmp(host, "0.0.0.0") ==
		    0 || strcmp(host, "::") == 0) {
			if (gethostname(name, sizeof name) != 0)
				strlcpy(name, "localhost", sizeof name);
			name[sizeof name - 1] = '\0';
			host = name;
		}
		if (crypto_tls_generate(host, RELAY_CERT_DAYS, &pem,
		    &cause) != 0)
			relay_fail("TLS certificate: %s", cause);
		if (file_write_atomic(*key, pem.key, pem.key_len, 0600,
		    &cause) != 0 || file_write_atomic(*cert, pem.cert,
		    pem.cert_len, 0644, &cause) != 0)
			relay_fail("%s", cause);
		crypto_pem_free(&pem);
		log_info("made a self-signed certificate for %s in %s", host,
		    dir);
	}
	if ((text = file_read(*cert, 1024 * 1024, &len, &cause)) == NULL ||
	    (fp = crypto_cert_fingerprint(text, len, &cause)) == NULL)
		relay_fail("%s: %s", *cert, cause != NULL ? cause : "unreadable");
	log_info("TLS certificate fingerprint %s", fp);
	free(fp);
	free(text);
	free(dir);
}

static void
relay_accept_cb(struct evconnlistener *lev __unused, evutil_socket_t fd,
    struct sockaddr *sa, int salen __unused, void *arg __unused)
{
	conn_accept(fd, sa, relay_ctx);
}

static void
relay_accept_error_cb(struct evconnlistener *lev __unused, void *arg __unused)
{
	log_warnx("accept: %s",
	    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
}

static void
relay_listen(void)
{
	struct addrinfo		 hints, *ai;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen = sizeof ss;
	char			*host, *port, *cert, *key, *cause = NULL;
	char			 bound[NI_MAXHOST], bport[NI_MAXSERV];
	int			 error;

	relay_split(relay_opts.listen, &host, &port);
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE|AI_NUMERICSERV;
	if ((error = getaddrinfo(*host != '\0' ? host : NULL, port, &hints,
	    &ai)) != 0)
		relay_fail("--listen %s: %s", relay_opts.listen,
		    gai_strerror(error));
	relay_tls = relay_opts.tls == -1 ? relay_opts.tls_cert != NULL ||
	    !relay_loopback(ai->ai_addr) : relay_opts.tls;
	if (relay_tls) {
		cert = relay_opts.tls_cert;
		key = relay_opts.tls_key;
		if (cert == NULL)
			relay_self_signed(host, &cert, &key);
		if ((relay_ctx = tls_server_ctx(cert, key, &cause)) == NULL)
			relay_fail("TLS: %s", cause);
	}
	relay_lev = evconnlistener_new_bind(relay_base, relay_accept_cb, NULL,
	    LEV_OPT_CLOSE_ON_FREE|LEV_OPT_REUSEABLE|LEV_OPT_CLOSE_ON_EXEC,
	    512, ai->ai_addr, ai->ai_addrlen);
	if (relay_lev == NULL)
		relay_fail("cannot listen on %s: %s", relay_opts.listen,
		    strerror(errno));
	evconnlistener_set_error_cb(relay_lev, relay_accept_error_cb);
	freeaddrinfo(ai);
	if (getsockname(evconnlistener_get_fd(relay_lev),
	    (struct sockaddr *)&ss, &sslen) != 0 ||
	    getnameinfo((struct sockaddr *)&ss, sslen, bound, sizeof bound,
	    bport, sizeof bport, NI_NUMERICHOST|NI_NUMERICSERV) != 0)
		relay_fail("getsockname: %s", strerror(errno));
	log_info("loopsy-relay %s listening on %s%s%s:%s (%s)",
	    PACKAGE_VERSION, strchr(bound, ':') != NULL ? "[" : "", bound,
	    strchr(bound, ':') != NULL ? "]" : "", bport,
	    relay_tls ? "TLS" : "plain HTTP");
	free(host);
	free(port);
}

static void
relay_purge_cb(int fd __unused, short events __unused, void *arg __unused)
{
	int	 n = store_purge(relay_store, time(NULL));

	if (n > 0)
		log_info("purged %d expired pair nonces", n);
	addr_sweep();
}

static void
relay_stop_cb(int fd __unused, short events __unused, void *arg __unused)
{
	event_base_loopexit(relay_base, NULL);
}

static void
relay_signal_cb(int sig, short events __unused, void *arg __unused)
{
	struct timeval	 tv = { 1, 0 };

	if (relay_exiting)
		return;
	relay_exiting = 1;
	log_info("signal %d: closing", sig);
	if (relay_lev != NULL)
		evconnlistener_free(relay_lev);
	relay_lev = NULL;
	conn_shutdown();
	splice_shutdown();
	/* A moment for the close frames to go. */
	event_base_once(relay_base, -1, EV_TIMEOUT, relay_stop_cb, NULL, &tv);
}

/* As many descriptors as the hard limit allows: each client is one. */
static void
relay_nofile(void)
{
	struct rlimit	 rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void
relay_data_dir(void)
{
	struct stat	 sb;
	const char	*home;
	char		*path, *cause = NULL;

	if (relay_opts.data == NULL) {
		if ((home = getenv("HOME")) == NULL || *home == '\0')
			relay_fail("no HOME: pass --data DIR");
		xasprintf(&relay_opts.data, "%s/.loopsy-relay", home);
	}
	if (mkdir(relay_opts.data, 0700) != 0 && errno != EEXIST)
		relay_fail("cannot create %s: %s", relay_opts.data,
		    strerror(errno));
	if (stat(relay_opts.data, &sb) != 0 || !S_ISDIR(sb.st_mode))
		relay_fail("%s is not a directory", relay_opts.data);
	if (sb.st_mode & 077)
		log_warnx("%s is open to others (mode %03o); 0700 is safer",
		    relay_opts.data, (u_int)(sb.st_mode & 0777));
	relay_load_key();
	xasprintf(&path, "%s/relay.db", relay_opts.data);
	if ((relay_store = store_open(path, &cause)) == NULL)
		relay_fail("%s", cause);
	free(path);
}

int
main(int argc, char **argv)
{
	struct event	*sigterm, *sigint, *purge;
	struct timeval	 tv = { RELAY_PURGE_EVERY, 0 };
	char		*web;

	log_stderr(1);
	relay_options(argc, argv);
	log_stderr(log_level);
	if (relay_opts.listen == NULL)
		relay_opts.listen = xstrdup("127.0.0.1:8790");
	signal(SIGPIPE, SIG_IGN);
	relay_nofile();
	relay_data_dir();
	relay_purge_cb(-1, 0, NULL);

	if ((relay_base = event_base_new()) == NULL)
		relay_fail("event_base_new failed");
	relay_listen();
	if ((web = web_find_dir(relay_opts.web)) == NULL &&
	    relay_opts.web != NULL)
		log_warnx("--web %s: not a directory", relay_opts.web);
	if (web == NULL)
		log_warnx("no web app found: /app answers 503 until web/ is "
		    "built (or pass --web DIR)");
	else
		log_info("serving /app from %s", web);
	free(web);

	sigterm = evsignal_new(relay_base, SIGTERM, relay_signal_cb, NULL);
	sigint = evsignal_new(relay_base, SIGINT, relay_signal_cb, NULL);
	evsignal_add(sigterm, NULL);
	evsignal_add(sigint, NULL);
	signal(SIGHUP, SIG_IGN);	/* nothing to reopen */
	purge = event_new(relay_base, -1, EV_PERSIST, relay_purge_cb, NULL);
	evtimer_add(purge, &tv);

	event_base_dispatch(relay_base);

	event_free(purge);
	event_free(sigterm);
	event_free(sigint);
	store_close(relay_store);
	addr_free_all();
	if (relay_ctx != NULL)
		SSL_CTX_free(relay_ctx);
	event_base_free(relay_base);
	log_info("exited");
	return (0);
}

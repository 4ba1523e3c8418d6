/*
 * server/discovery.c: mDNS discovery through avahi-daemon: publish this
 * server as _loopsy._tcp (TXT: txtvers, version, name, fp), browse for the
 * others and keep the list of what is seen.  libavahi-client is loaded with
 * dlopen when discovery starts, so the CLI never pays for libdbus; without
 * the library or the daemon, discovery is off with a reason and loopsy goes
 * on.  Pairing and peers.json are not here.
 */
#include <sys/time.h>

#include <dlfcn.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <avahi-client/client.h>
#include <avahi-client/lookup.h>
#include <avahi-client/publish.h>
#include <avahi-common/address.h>
#include <avahi-common/alternative.h>
#include <avahi-common/error.h>
#include <avahi-common/malloc.h>
#include <avahi-common/strlst.h>
#include <avahi-common/watch.h>
#include <cjson/cJSON.h>
#include <event2/event.h>

#include "server.h"

#define DISCOVERY_TYPE		"_loopsy._tcp"
#define DISCOVERY_LIBRARY	"libavahi-client.so.3"
#define DISCOVERY_RETRY_MAX	60	/* longest wait between tries, s */

/* The functions used, resolved with dlsym; types from avahi's headers. */
static struct discovery_avahi {
	__typeof__(avahi_client_new)		 *client_new;
	__typeof__(avahi_client_free)		 *client_free;
	__typeof__(avahi_client_errno)		 *client_errno;
	__typeof__(avahi_entry_group_new)	 *entry_group_new;
	__typeof__(avahi_entry_group_free)	 *entry_group_free;
	__typeof__(avahi_entry_group_reset)	 *entry_group_reset;
	__typeof__(avahi_entry_group_is_empty)	 *entry_group_is_empty;
	__typeof__(avahi_entry_group_add_service_strlst)
						 *entry_group_add_service_strlst;
	__typeof__(avahi_entry_group_commit)	 *entry_group_commit;
	__typeof__(avahi_service_browser_new)	 *service_browser_new;
	__typeof__(avahi_service_browser_free)	 *service_browser_free;
	__typeof__(avahi_service_resolver_new)	 *service_resolver_new;
	__typeof__(avahi_service_resolver_free)	 *service_resolver_free;
	__typeof__(avahi_strerror)		 *strerror;
	__typeof__(avahi_alternative_service_name) *alternative_service_name;
	__typeof__(avahi_free)			 *free;
	__typeof__(avahi_string_list_new)	 *string_list_new;
	__typeof__(avahi_string_list_free)	 *string_list_free;
	__typeof__(avahi_string_list_find)	 *string_list_find;
	__typeof__(avahi_string_list_get_pair)	 *string_list_get_pair;
	__typeof__(avahi_address_snprint)	 *address_snprint;
} av;

#define DISCOVERY_SYM(n) { "avahi_" #n, offsetof(struct discovery_avahi, n) }
static const struct {
	const char	*name;
	size_t		 offset;
} discovery_syms[] = {
	DISCOVERY_SYM(client_new),
	DISCOVERY_SYM(client_free),
	DISCOVERY_SYM(client_errno),
	DISCOVERY_SYM(entry_group_new),
	DISCOVERY_SYM(entry_group_free),
	DISCOVERY_SYM(entry_group_reset),
	DISCOVERY_SYM(entry_group_is_empty),
	DISCOVERY_SYM(entry_group_add_service_strlst),
	DISCOVERY_SYM(entry_group_commit),
	DISCOVERY_SYM(service_browser_new),
	DISCOVERY_SYM(service_browser_free),
	DISCOVERY_SYM(service_resolver_new),
	DISCOVERY_SYM(service_resolver_free),
	DISCOVERY_SYM(strerror),
	DISCOVERY_SYM(alternative_service_name),
	DISCOVERY_SYM(free),
	DISCOVERY_SYM(string_list_new),
	DISCOVERY_SYM(string_list_free),
	DISCOVERY_SYM(string_list_find),
	DISCOVERY_SYM(string_list_get_pair),
	DISCOVERY_SYM(address_snprint),
};

/* One service seen by the browser: per interface and protocol. */
struct discovery_service {
	AvahiIfIndex	 iface;
	AvahiProtocol	 proto;
	char		*name;
	char		*domain;
	int		 self;		/* published by this server */
	AvahiServiceResolver *resolver;	/* open: TXT changes come */
	int		 resolved;
	char		*host;
	char		*address;
	u_short		 port;
	char		*fingerprint;
	char		*version;
	char		*txt_name;
	uint64_t	 last_seen;	/* ms since the epoch */
	TAILQ_ENTRY(discovery_service) entry;
};
static TAILQ_HEAD(, discovery_service) discovery_services =
    TAILQ_HEAD_INITIALIZER(discovery_services);

static int		 discovery_loaded;	/* 1 loaded, -1 failed */
static char		*discovery_load_error;
static int		 discovery_running;	/* started and enabled */
static char		*discovery_why;		/* "on", "off: why" */
static u_short		 discovery_port;
static char		*discovery_fp;
static char		*discovery_name;	/* what we publish as */
static AvahiClient	*discovery_client;
static AvahiEntryGroup	*discovery_group;
static AvahiServiceBrowser *discovery_browser;
static struct event	*discovery_timer;	/* connect, or retry */
static u_int		 discovery_retry;	/* seconds, doubles */

static void	discovery_connect(void);

static void __printflike(1, 2)
discovery_set_state(const char *fmt, ...)
{
	va_list	 ap;
	char	*s;

	va_start(ap, fmt);
	xvasprintf(&s, fmt, ap);
	va_end(ap);
	if (discovery_why == NULL || strcmp(s, discovery_why) != 0)
		log_info("mDNS: %s", s);
	free(discovery_why);
	discovery_why = s;
}

/* ------------------------------------------------------------- AvahiPoll
 * Avahi's main loop abstraction on server_base: watches are persistent
 * events, timeouts are evtimers.  Avahi gives absolute times.
 */
struct AvahiWatch {
	struct event		*ev;
	int			 fd;
	AvahiWatchEvent		 happened;	/* for get_events */
	AvahiWatchCallback	 cb;
	void			*data;
};
struct AvahiTimeout {
	struct event		*ev;
	AvahiTimeoutCallback	 cb;
	void			*data;
};

static void
discovery_watch_cb(int fd, short what, void *arg)
{
	AvahiWatch	*w = arg;

	w->happened = 0;
	if (what & EV_READ)
		w->happened |= AVAHI_WATCH_IN;
	if (what & EV_WRITE)
		w->happened |= AVAHI_WATCH_OUT;
	w->cb(w, fd, w->happened, w->data);	/* may free w */
}

static void
discovery_watch_set(AvahiWatch *w, AvahiWatchEvent events)
{
	short	 what = 0;

	if (w->ev != NULL)
		event_free(w->ev);
	w->ev = NULL;
	if (events & AVAHI_WATCH_IN)
		what |= EV_READ;
	if (events & AVAHI_WATCH_OUT)
		what |= EV_WRITE;
	if (what == 0)
		return;
	w->ev = event_new(server_base, w->fd, what|EV_PERSIST,
	    discovery_watch_cb, w);
	event_add(w->ev, NULL);
}

static AvahiWatch *
discovery_watch_new(const AvahiPoll *api __unused, int fd,
    AvahiWatchEvent events, AvahiWatchCallback cb, void *data)
{
	AvahiWatch	*w = xcalloc(1, sizeof *w);

	w->fd = fd;
	w->cb = cb;
	w->data = data;
	discovery_watch_set(w, events);
	return (w);
}

static void
discovery_watch_update(AvahiWatch *w, AvahiWatchEvent events)
{
	discovery_watch_set(w, events);
}

static AvahiWatchEvent
discovery_watch_get_events(AvahiWatch *w)
{
	return (w->happened);
}

static void
discovery_watch_free(AvahiWatch *w)
{
	if (w->ev != NULL)
		event_free(w->ev);
	free(w);
}

static void
discovery_timeout_cb(int fd __unused, short what __unused, void *arg)
{
	AvahiTimeout	*t = arg;

	t->cb(t, t->data);	/* may free t */
}

static void
discovery_timeout_update(AvahiTimeout *t, const struct timeval *tv)
{
	struct timeval	 now, rel;

	evtimer_del(t->ev);
	if (tv == NULL)
		return;
	gettimeofday(&now, NULL);
	if (timercmp(tv, &now, <))
		timerclear(&rel);
	else
		timersub(tv, &now, &rel);
	evtimer_add(t->ev, &rel);
}

static AvahiTimeout *
discovery_timeout_new(const AvahiPoll *api __unused, const struct timeval *tv,
    AvahiTimeoutCallback cb, void *data)
{
	AvahiTimeout	*t = xcalloc(1, sizeof *t);

	t->cb = cb;
	t->data = data;
	t->ev = evtimer_new(server_base, discovery_timeout_cb, t);
	discovery_timeout_update(t, tv);
	return (t);
}

static void
discovery_timeout_free(AvahiTimeout *t)
{
	event_free(t->ev);
	free(t);
}

static const AvahiPoll discovery_poll = {
	.watch_new = discovery_watch_new,
	.watch_update = discovery_watch_update,
	.watch_get_events = discovery_watch_get_events,
	.watch_free = discovery_watch_free,
	.timeout_new = discovery_timeout_new,
	.timeout_update = discovery_timeout_update,
	.timeout_free = discovery_timeout_free
};

/* --------------------------------------------------------------- loading */

/* Load libavahi-client once; on failure remember why, for good. */
static int
discovery_load(void)
{
	void	*h;
	void	*fn;
	u_int	 i;

	if (discovery_loaded != 0)
		return (discovery_loaded == 1 ? 0 : -1);
	discovery_loaded = -1;
	if ((h = dlopen(DISCOVERY_LIBRARY, RTLD_NOW|RTLD_LOCAL)) == NULL) {
		xasprintf(&discovery_load_error, "cannot load %s (%s)",
		    DISCOVERY_LIBRARY, dlerror());
		return (-1);
	}
	for (i = 0; i < nitems(discovery_syms); i++) {
		if ((fn = dlsym(h, discovery_syms[i].name)) == NULL) {
			xasprintf(&discovery_load_error, "%s has no %s",
			    DISCOVERY_LIBRARY, discovery_syms[i].name);
			dlclose(h);
			return (-1);
		}
		memcpy((char *)&av + discovery_syms[i].offset, &fn, sizeof fn);
	}
	/* Never unloaded: libdbus keeps global state. */
	discovery_loaded = 1;
	log_debug("%s: loaded %s", __func__, DISCOVERY_LIBRARY);
	return (0);
}

/* -------------------------------------------------------------- services */

static void
discovery_service_clear(struct discovery_service *ds)
{
	free(ds->host);
	free(ds->address);
	free(ds->fingerprint);
	free(ds->version);
	free(ds->txt_name);
	ds->host = ds->address = ds->fingerprint = NULL;
	ds->version = ds->txt_name = NULL;
	ds->resolved = 0;
}

static void
discovery_service_free(struct discovery_service *ds)
{
	TAILQ_REMOVE(&discovery_services, ds, entry);
	if (ds->resolver != NULL)
		av.service_resolver_free(ds->resolver);
	discovery_service_clear(ds);
	free(ds->name);
	free(ds->domain);
	free(ds);
}

static void
discovery_services_free(void)
{
	struct discovery_service	*ds, *ds1;

	TAILQ_FOREACH_SAFE(ds, &discovery_services, entry, ds1)
		discovery_service_free(ds);
}

static struct discovery_service *
discovery_service_find(AvahiIfIndex iface, AvahiProtocol proto,
    const char *name, const char *domain)
{
	struct discovery_service	*ds;

	TAILQ_FOREACH(ds, &discovery_services, entry) {
		if (ds->iface == iface && ds->proto == proto &&
		    strcmp(ds->name, name) == 0 &&
		    strcmp(ds->domain, domain) == 0)
			return (ds);
	}
	return (NULL);
}

/* The value of key in a TXT list, or NULL. */
static char *
discovery_txt(AvahiStringList *txt, const char *key)
{
	AvahiStringList	*l;
	char		*k = NULL, *v = NULL, *s = NULL;

	if ((l = av.string_list_find(txt, key)) == NULL)
		return (NULL);
	if (av.string_list_get_pair(l, &k, &v, NULL) == 0 && v != NULL)
		s = xstrdup(v);
	av.free(k);
	av.free(v);
	return (s);
}

static void
discovery_resolve_cb(AvahiServiceResolver *r, AvahiIfIndex iface __unused,
    AvahiProtocol proto __unused, AvahiResolverEvent event, const char *name,
    const char *type __unused, const char *domain __unused,
    const char *host, const AvahiAddress *a, uint16_t port,
    AvahiStringList *txt, AvahiLookupResultFlags flags __unused, void *arg)
{
	struct discovery_service	*ds = arg;
	char				 addr[AVAHI_ADDRESS_STR_MAX];
	struct timeval			 tv;

	if (event != AVAHI_RESOLVER_FOUND) {
		log_debug("%s: cannot resolve '%s': %s", __func__, name,
		    av.strerror(av.client_errno(discovery_client)));
		av.service_resolver_free(r);
		ds->resolver = NULL;
		return;
	}
	discovery_service_clear(ds);
	ds->resolved = 1;
	ds->host = xstrdup(host);
	av.address_snprint(addr, sizeof addr, a);
	ds->address = xstrdup(addr);
	ds->port = port;
	ds->fingerprint = discovery_txt(txt, "fp");
	ds->version = discovery_txt(txt, "version");
	ds->txt_name = discovery_txt(txt, "name");
	gettimeofday(&tv, NULL);
	ds->last_seen = (uint64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
	log_debug("%s: '%s' at %s (%s) port %u%s", __func__, name, host, addr,
	    port, ds->self ? ", ours" : "");
}

static void
discovery_browse_new(AvahiIfIndex iface, AvahiProtocol proto,
    const char *name, const char *type, const char *domain,
    AvahiLookupResultFlags flags)
{
	struct discovery_service	*ds;

	if (discovery_service_find(iface, proto, name, domain) != NULL)
		return;
	ds = xcalloc(1, sizeof *ds);
	ds->iface = iface;
	ds->proto = proto;
	ds->name = xstrdup(name);
	ds->domain = xstrdup(domain);
	/* OUR_OWN and LOCAL are only given here, not to the resolver. */
	ds->self = (flags & AVAHI_LOOKUP_RESULT_OUR_OWN) ||
	    ((flags & AVAHI_LOOKUP_RESULT_LOCAL) && discovery_name != NULL &&
	    strcmp(name, discovery_name) == 0);
	TAILQ_INSERT_TAIL(&discovery_services, ds, entry);
	ds->resolver = av.service_resolver_new(discovery_client, iface, proto,
	    name, type, domain, AVAHI_PROTO_UNSPEC, 0, discovery_resolve_cb,
	    ds);
	if (ds->resolver == NULL)
		log_warnx("mDNS: cannot resolve '%s': %s", name,
		    av.strerror(av.client_errno(discovery_client)));
}

static void
discovery_browse_cb(AvahiServiceBrowser *b __unused, AvahiIfIndex iface,
    AvahiProtocol proto, AvahiBrowserEvent event, const char *name,
    const char *type, const char *domain, AvahiLookupResultFlags flags,
    void *arg __unused)
{
	struct discovery_service	*ds;

	switch (event) {
	case AVAHI_BROWSER_NEW:
		log_debug("%s: new '%s' in %s", __func__, name, domain);
		discovery_browse_new(iface, proto, name, type, domain, flags);
		break;
	case AVAHI_BROWSER_REMOVE:
		log_debug("%s: removed '%s' in %s", __func__, name, domain);
		ds = discovery_service_find(iface, proto, name, domain);
		if (ds != NULL)
			discovery_service_free(ds);
		break;
	case AVAHI_BROWSER_FAILURE:
		log_warnx("mDNS: browsing failed: %s",
		    av.strerror(av.client_errno(discovery_client)));
		break;
	case AVAHI_BROWSER_ALL_FOR_NOW:
	case AVAHI_BROWSER_CACHE_EXHAUSTED:
		break;
	}
}

/* --------------------------------------------------------------- publish */

static void	discovery_publish(AvahiClient *);

/* Another machine has our name: take "loopsy on host #2" and so on. */
static void
discovery_rename(void)
{
	char	*n = av.alternative_service_name(discovery_name);

	log_info("mDNS: service name '%s' is taken, now '%s'", discovery_name,
	    n);
	free(discovery_name);
	discovery_name = xstrdup(n);
	av.free(n);
}

static void
discovery_group_cb(AvahiEntryGroup *g, AvahiEntryGroupState state,
    void *arg __unused)
{
	switch (state) {
	case AVAHI_ENTRY_GROUP_ESTABLISHED:
		log_info("mDNS: published '%s' (%s, port %u)", discovery_name,
		    DISCOVERY_TYPE, discovery_port);
		break;
	case AVAHI_ENTRY_GROUP_COLLISION:
		discovery_rename();
		av.entry_group_reset(g);
		discovery_group = g;
		discovery_publish(discovery_client);
		break;
	case AVAHI_ENTRY_GROUP_FAILURE:
		log_warnx("mDNS: cannot publish '%s': %s", discovery_name,
		    av.strerror(av.client_errno(discovery_client)));
		break;
	case AVAHI_ENTRY_GROUP_UNCOMMITED:
	case AVAHI_ENTRY_GROUP_REGISTERING:
		break;
	}
}

static AvahiStringList *
discovery_txt_list(void)
{
	AvahiStringList	*l;
	char		*version, *name, *fp = NULL;

	xasprintf(&version, "version=%s", PACKAGE_VERSION);
	xasprintf(&name, "name=%s", msg_hostname());
	if (discovery_fp != NULL)
		xasprintf(&fp, "fp=%s", discovery_fp);
	l = av.string_list_new("txtvers=1", version, name, fp, (char *)NULL);
	free(fp);
	free(name);
	free(version);
	return (l);
}

/* Add our service to the entry group (if it is empty) and commit. */
static void
discovery_publish(AvahiClient *c)
{
	AvahiStringList	*txt;
	u_int		 tries;
	int		 error = 0;

	if (discovery_group == NULL) {
		discovery_group = av.entry_group_new(c, discovery_group_cb,
		    NULL);
		if (discovery_group == NULL) {
			log_warnx("mDNS: cannot publish: %s",
			    av.strerror(av.client_errno(c)));
			return;
		}
	}
	if (!av.entry_group_is_empty(discovery_group))
		return;
	txt = discovery_txt_list();
	for (tries = 0; tries < 16; tries++) {
		error = av.entry_group_add_service_strlst(discovery_group,
		    AVAHI_IF_UNSPEC, AVAHI_PROTO_UNSPEC, 0, discovery_name,
		    DISCOVERY_TYPE, NULL, NULL, discovery_port, txt);
		if (error != AVAHI_ERR_COLLISION)
			break;
		discovery_rename();	/* another client of this daemon */
	}
	av.string_list_free(txt);
	if (error == 0)
		error = av.entry_group_commit(discovery_group);
	if (error < 0)
		log_warnx("mDNS: cannot publish '%s': %s", discovery_name,
		    av.strerror(error));
}

/* ---------------------------------------------------------------- client */

/* Drop our pointers to what a freed client took with it. */
static void
discovery_forget(void)
{
	struct discovery_service	*ds;

	TAILQ_FOREACH(ds, &discovery_services, entry)
		ds->resolver = NULL;
	discovery_services_free();
	discovery_browser = NULL;
	discovery_group = NULL;
	discovery_client = NULL;
}

/* Free what belongs to the client, then the client. */
static void
discovery_disconnect(void)
{
	discovery_services_free();
	if (discovery_browser != NULL)
		av.service_browser_free(discovery_browser);
	discovery_browser = NULL;
	if (discovery_group != NULL)
		av.entry_group_free(discovery_group);
	discovery_group = NULL;
	if (discovery_client != NULL)
		av.client_free(discovery_client);
	discovery_client = NULL;
}

static void
discovery_timer_cb(int fd __unused, short what __unused, void *arg __unused)
{
	discovery_disconnect();
	discovery_connect();
}

/* Try again after a while: 1, 2, 4 ... 60 seconds; 0 means now. */
static void
discovery_schedule(u_int secs)
{
	struct timeval	 tv = { secs, 0 };

	if (discovery_timer == NULL)
		discovery_timer = evtimer_new(server_base, discovery_timer_cb,
		    NULL);
	evtimer_add(discovery_timer, &tv);
}

static void
discovery_retry_later(void)
{
	discovery_retry = discovery_retry == 0 ? 1 : discovery_retry * 2;
	if (discovery_retry > DISCOVERY_RETRY_MAX)
		discovery_retry = DISCOVERY_RETRY_MAX;
	discovery_schedule(discovery_retry);
}

static void
discovery_running_cb(AvahiClient *c)
{
	discovery_retry = 0;
	discovery_set_state("on");
	discovery_publish(c);
	if (discovery_browser != NULL)
		return;
	discovery_browser = av.service_browser_new(c, AVAHI_IF_UNSPEC,
	    AVAHI_PROTO_UNSPEC, DISCOVERY_TYPE, NULL, 0, discovery_browse_cb,
	    NULL);
	if (discovery_browser == NULL)
		log_warnx("mDNS: cannot browse for %s: %s", DISCOVERY_TYPE,
		    av.strerror(av.client_errno(c)));
}

static void
discovery_client_cb(AvahiClient *c, AvahiClientState state,
    void *arg __unused)
{
	int	 error;

	discovery_client = c;	/* called inside avahi_client_new too */
	switch (state) {
	case AVAHI_CLIENT_S_RUNNING:
		discovery_running_cb(c);
		break;
	case AVAHI_CLIENT_S_REGISTERING:
	case AVAHI_CLIENT_S_COLLISION:
		/* The daemon is (re)naming the host: publish again after. */
		if (discovery_group != NULL)
			av.entry_group_reset(discovery_group);
		discovery_set_state("off: avahi-daemon is registering this "
		    "host's name");
		break;
	case AVAHI_CLIENT_CONNECTING:
		/* AVAHI_CLIENT_NO_FAIL: the client waits for the daemon. */
		discovery_services_free();
		discovery_set_state("off: avahi-daemon is not running (waiting "
		    "for it to start)");
		break;
	case AVAHI_CLIENT_FAILURE:
		error = av.client_errno(c);
		if (error == AVAHI_ERR_DISCONNECTED) {
			/* The daemon went away: a new client waits for it. */
			discovery_set_state("off: avahi-daemon is not running "
			    "(it stopped; waiting for it)");
			discovery_schedule(0);
		} else {
			discovery_set_state("off: avahi: %s",
			    av.strerror(error));
			discovery_retry_later();
		}
		break;
	}
}

static void
discovery_connect(void)
{
	int	 error = 0;

	if (!discovery_running)
		return;
	if (discovery_load() != 0) {
		discovery_set_state("off: %s", discovery_load_error);
		return;
	}
	discovery_client = av.client_new(&discovery_poll, AVAHI_CLIENT_NO_FAIL,
	    discovery_client_cb, NULL, &error);
	if (discovery_client != NULL)
		return;
	/* Anything its callback made went with it. */
	discovery_forget();
	/* No D-Bus system bus at all: even NO_FAIL gives up, so retry. */
	if (error == AVAHI_ERR_NO_DAEMON)
		discovery_set_state("off: avahi-daemon is not running (no "
		    "D-Bus system bus; trying again)");
	else
		discovery_set_state("off: avahi: %s", av.strerror(error));
	discovery_retry_later();
}

/* ------------------------------------------------------------- interface */

void
discovery_start(u_short port, const char *fingerprint)
{
	char	 name[64];

	discovery_stop();
	if (!config.discovery) {
		discovery_set_state("off: disabled (discovery.enabled is "
		    "false)");
		return;
	}
	discovery_running = 1;
	discovery_port = port;
	discovery_fp = fingerprint != NULL ? xstrdup(fingerprint) : NULL;
	snprintf(name, sizeof name, "loopsy on %s", msg_hostname());
	discovery_name = xstrdup(name);
	discovery_retry = 0;
	discovery_set_state("off: starting");
	/* Load the library from the loop, after the first command's reply. */
	discovery_schedule(0);
}

void
discovery_stop(void)
{
	if (discovery_timer != NULL) {
		event_free(discovery_timer);
		discovery_timer = NULL;
	}
	if (discovery_loaded == 1)
		discovery_disconnect();
	free(discovery_fp);
	discovery_fp = NULL;
	free(discovery_name);
	discovery_name = NULL;
	if (discovery_running)
		discovery_set_state("off: stopped");
	discovery_running = 0;
}

const char *
discovery_state(void)
{
	return (discovery_why != NULL ? discovery_why : "off: not started");
}

static int
discovery_listed(cJSON *a, const char *name)
{
	cJSON	*o;

	cJSON_ArrayForEach(o, a) {
		if (strcmp(cJSON_GetObjectItem(o, "service")->valuestring,
		    name) == 0)
			return (1);
	}
	return (0);
}

static void
discovery_add_string(cJSON *o, const char *key, const char *value)
{
	if (value != NULL)
		cJSON_AddStringToObject(o, key, value);
	else
		cJSON_AddNullToObject(o, key);
}

/*
 * One entry per service, its IPv4 address first if it has one.  name is the
 * machine's name from TXT (what peers are called), service the mDNS name.
 */
cJSON *
discovery_list(void)
{
	cJSON				*a = cJSON_CreateArray(), *o;
	struct discovery_service	*ds;
	int				 pass;

	for (pass = 0; pass < 2; pass++) {
		TAILQ_FOREACH(ds, &discovery_services, entry) {
			if (!ds->resolved || (pass == 0) !=
			    (ds->proto == AVAHI_PROTO_INET) ||
			    discovery_listed(a, ds->name))
				continue;
			o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "name",
			    ds->txt_name != NULL ? ds->txt_name : ds->name);
			cJSON_AddStringToObject(o, "service", ds->name);
			discovery_add_string(o, "host", ds->host);
			discovery_add_string(o, "address", ds->address);
			cJSON_AddNumberToObject(o, "port", ds->port);
			discovery_add_string(o, "fingerprint",
			    ds->fingerprint);
			discovery_add_string(o, "version", ds->version);
			cJSON_AddNumberToObject(o, "lastSeen",
			    (double)ds->last_seen);
			cJSON_AddBoolToObject(o, "self", ds->self);
			cJSON_AddItemToArray(a, o);
		}
	}
	return (a);
}

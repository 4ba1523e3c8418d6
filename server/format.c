/*
 * server/format.c: expand #{name} variables (and the #S #H #h shorthands)
 * for list-sessions -F, display-message and the status line.  Variables are
 * a table of names and functions; unknown names expand to nothing.
 */
#include <sys/wait.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "server.h"

struct format_entry {
	const char	*name;
	char		*(*fn)(struct session *, struct client *);
};

static char *
format_printf(const char *fmt, ...)
{
	char	*s;
	va_list	 ap;

	va_start(ap, fmt);
	xvasprintf(&s, fmt, ap);
	va_end(ap);
	return (s);
}

#define FORMAT_SESSION(fn, expr)					\
static char *								\
fn(struct session *s, struct client *c __unused)					\
{									\
	if (s == NULL)							\
		return (NULL);						\
	return (expr);							\
}

FORMAT_SESSION(format_session_name, xstrdup(s->name))
FORMAT_SESSION(format_session_id, format_printf("$%u", s->id))
FORMAT_SESSION(format_session_status, session_status_string(s))
FORMAT_SESSION(format_session_width, format_printf("%u",
    screen_cols(s->screen)))
FORMAT_SESSION(format_session_height, format_printf("%u",
    screen_rows(s->screen)))
FORMAT_SESSION(format_session_attached, format_printf("%u",
    session_count_clients(s)))
FORMAT_SESSION(format_session_attached_string, session_count_clients(s) ?
    xstrdup(" (attached)") : xstrdup(""))
FORMAT_SESSION(format_session_created, format_printf("%lld",
    (long long)s->created))
FORMAT_SESSION(format_session_command, xstrdup(s->command))
FORMAT_SESSION(format_session_path, xstrdup(s->cwd))
FORMAT_SESSION(format_pane_pid, format_printf("%ld", (long)s->pid))
FORMAT_SESSION(format_pane_dead, xstrdup(s->dead ? "1" : "0"))
FORMAT_SESSION(format_pane_dead_status, s->dead && WIFEXITED(s->status) ?
    format_printf("%d", WEXITSTATUS(s->status)) : xstrdup(""))
FORMAT_SESSION(format_pane_title, xstrdup(screen_title(s->screen)))
FORMAT_SESSION(format_history_size, format_printf("%u",
    screen_history_size(s->screen)))
FORMAT_SESSION(format_history_bytes, format_printf("%zu",
    screen_history_bytes(s->screen)))

static char *
format_session_created_string(struct session *s, struct client *c __unused)
{
	char	 buf[64];

	if (s == NULL)
		return (NULL);
	strftime(buf, sizeof buf, "%a %b %e %H:%M:%S %Y",
	    localtime(&s->created));
	return (xstrdup(buf));
}

static char *
format_cursor_x(struct session *s, struct client *c __unused)
{
	u_int	 x, y;

	if (s == NULL)
		return (NULL);
	screen_cursor(s->screen, &x, &y);
	return (format_printf("%u", x));
}

static char *
format_cursor_y(struct session *s, struct client *c __unused)
{
	u_int	 x, y;

	if (s == NULL)
		return (NULL);
	screen_cursor(s->screen, &x, &y);
	return (format_printf("%u", y));
}

static char *
format_host(struct session *s __unused, struct client *c __unused)
{
	char	 host[256];

	if (gethostname(host, sizeof host) != 0)
		return (xstrdup(""));
	host[sizeof host - 1] = '\0';
	return (xstrdup(host));
}

static char *
format_host_short(struct session *s, struct client *c)
{
	char	*h = format_host(s, c);

	h[strcspn(h, ".")] = '\0';
	return (h);
}

static char *
format_client_width(struct session *s __unused, struct client *c)
{
	return (c != NULL ? format_printf("%u", c->cols) : NULL);
}

static char *
format_client_height(struct session *s __unused, struct client *c)
{
	return (c != NULL ? format_printf("%u", c->rows) : NULL);
}

static char *
format_client_readonly(struct session *s __unused, struct client *c)
{
	if (c == NULL)
		return (NULL);
	return (xstrdup((c->flags & CLIENT_READONLY) ? "1" : "0"));
}

static char *
format_pid(struct session *s __unused, struct client *c __unused)
{
	return (format_printf("%ld", (long)getpid()));
}

static char *
format_socket_path(struct session *s __unused, struct client *c __unused)
{
	return (xstrdup(server_socket_path));
}

static char *
format_version(struct session *s __unused, struct client *c __unused)
{
	return (xstrdup(PACKAGE_VERSION));
}

static const struct format_entry format_table[] = {
	{ "client_height", format_client_height },
	{ "client_readonly", format_client_readonly },
	{ "client_width", format_client_width },
	{ "cursor_x", format_cursor_x },
	{ "cursor_y", format_cursor_y },
	{ "history_bytes", format_history_bytes },
	{ "history_size", format_history_size },
	{ "host", format_host },
	{ "host_short", format_host_short },
	{ "pane_current_path", format_session_path },
	{ "pane_dead", format_pane_dead },
	{ "pane_dead_status", format_pane_dead_status },
	{ "pane_height", format_session_height },
	{ "pane_pid", format_pane_pid },
	{ "pane_start_command", format_session_command },
	{ "pane_title", format_pane_title },
	{ "pane_width", format_session_width },
	{ "pid", format_pid },
	{ "session_attached", format_session_attached },
	{ "session_attached_string", format_session_attached_string },
	{ "session_command", format_session_command },
	{ "session_created", format_session_created },
	{ "session_created_string", format_session_created_string },
	{ "session_height", format_session_height },
	{ "session_id", format_session_id },
	{ "session_name", format_session_name },
	{ "session_path", format_session_path },
	{ "session_status", format_session_status },
	{ "session_width", format_session_width },
	{ "socket_path", format_socket_path },
	{ "version", format_version },
};

static const struct {
	char		 c;
	const char	*name;
} format_short[] = {
	{ 'S', "session_name" },
	{ 'H', "host" },
	{ 'h', "host_short" },
	{ 'T', "pane_title" },
};

static void
format_add_var(struct buf *b, const char *name, size_t len,
    struct session *s, struct client *c)
{
	u_int	 i;
	char	*v;

	for (i = 0; i < nitems(format_table); i++) {
		if (strlen(format_table[i].name) != len ||
		    strncmp(format_table[i].name, name, len) != 0)
			continue;
		if ((v = format_table[i].fn(s, c)) != NULL) {
			buf_addstr(b, v);
			free(v);
		}
		return;
	}
}

char *
format_expand(const char *fmt, struct session *s, struct client *c)
{
	struct buf	 b;
	const char	*p, *end;
	u_int		 i;

	buf_init(&b);
	for (p = fmt; *p != '\0'; p++) {
		if (*p != '#' || p[1] == '\0') {
			buf_add(&b, p, 1);
			continue;
		}
		p++;
		if (*p == '#') {
			buf_add(&b, "#", 1);
			continue;
		}
		if (*p == '{' && (end = strchr(p, '}')) != NULL) {
			format_add_var(&b, p + 1, end - p - 1, s, c);
			p = end;
			continue;
		}
		for (i = 0; i < nitems(format_short); i++) {
			if (format_short[i].c == *p)
				break;
		}
		if (i == nitems(format_short)) {
			buf_add(&b, p - 1, 2);
			continue;
		}
		format_add_var(&b, format_short[i].name,
		    strlen(format_short[i].name), s, c);
	}
	buf_add(&b, "", 1);
	return (b.data);
}

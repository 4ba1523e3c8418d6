/*
 * server/status.c: the status line at the bottom of an attached client:
 * the session name, every session with the current one marked, the host and
 * the time; or a message, which replaces it for a few seconds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "server.h"

#define STATUS_FG	COLOUR_INDEX(0)
#define STATUS_BG	COLOUR_INDEX(2)
#define MESSAGE_FG	COLOUR_INDEX(0)
#define MESSAGE_BG	COLOUR_INDEX(3)

static u_int
status_sessions(struct client *c, struct cell *cells, u_int cols, u_int x,
    u_int limit)
{
	struct session	*s;
	char		*item;
	uint16_t	 attr;

	TAILQ_FOREACH(s, &sessions, entry) {
		xasprintf(&item, "%s%s ", s->name, s == c->session ? "*" :
		    s == c->last_session ? "-" : s->dead ? "!" : "");
		attr = s == c->session ? ATTR_REVERSE : 0;
		if (x + strlen(item) > limit) {
			free(item);
			break;
		}
		x = cell_put_text(cells, cols, x, item, STATUS_FG, STATUS_BG,
		    attr);
		free(item);
	}
	return (x);
}

void
status_render(struct client *c, struct cell *cells, u_int cols)
{
	char		 right[128], host[64], *left;
	time_t		 t = time(NULL);
	struct tm	*tm = localtime(&t);
	u_int		 x, rlen;

	if (c->message != NULL) {
		cell_set_blank(cells, cols, MESSAGE_BG);
		cell_put_text(cells, cols, 0, c->message, MESSAGE_FG,
		    MESSAGE_BG, 0);
		return;
	}
	cell_set_blank(cells, cols, STATUS_BG);
	if (gethostname(host, sizeof host) != 0)
		strlcpy(host, "", sizeof host);
	host[sizeof host - 1] = '\0';
	host[strcspn(host, ".")] = '\0';
	rlen = snprintf(right, sizeof right, " %s%s %02d:%02d",
	    (c->flags & CLIENT_READONLY) ? "[ro] " : "", host, tm->tm_hour,
	    tm->tm_min);
	xasprintf(&left, "[%s]%s ", c->session != NULL ? c->session->name : "",
	    (c->flags & CLIENT_PREFIX) ? "^" : "");
	x = cell_put_text(cells, cols, 0, left, STATUS_FG, STATUS_BG, 0);
	free(left);
	status_sessions(c, cells, cols, x, cols > rlen ? cols - rlen : 0);
	if (cols > rlen)
		cell_put_text(cells, cols, cols - rlen, right, STATUS_FG,
		    STATUS_BG, 0);
}

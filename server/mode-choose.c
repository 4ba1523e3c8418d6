/*
 * server/mode-choose.c: the session chooser (choose-session).  A list of the
 * sessions, the selected one highlighted, and under it a live preview of
 * that session's screen.  Enter switches to it, x kills it after a question
 * on the status row.  The selection is kept by session id, so the list
 * follows sessions being created, renamed and killed while it is open.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "server.h"

#define CHOOSE_ASK_FG	COLOUR_INDEX(0)
#define CHOOSE_ASK_BG	COLOUR_INDEX(3)
#define CHOOSE_NAME_MAX	24

struct choose_data {
	u_int		 sel_id;	/* selected session */
	u_int		 sel_idx;	/* its row, to find a neighbour */
	u_int		 top;		/* first list row shown */
	u_int		 list_rows;	/* list height when last drawn */
	int		 confirm;	/* asking whether to kill sel_id */
};

static void	choose_key(struct client *, key_code);
static void	choose_draw(struct client *, struct render *, u_int);
static void	choose_free(struct client *);
static int	choose_draw_status(struct client *, struct cell *, u_int);

static const struct mode_def choose_mode = {
	.name = "choose",
	.key = choose_key,
	.draw = choose_draw,
	.free = choose_free,
	.resize = NULL,
	.draw_status = choose_draw_status,
	.watch_all = 1
};

static struct session *
choose_nth(u_int n)
{
	struct session	*s;

	TAILQ_FOREACH(s, &sessions, entry) {
		if (n-- == 0)
			return (s);
	}
	return (NULL);
}

/* The selected session; if it went away, its neighbour.  NULL: none left. */
static struct session *
choose_selected(struct choose_data *cd)
{
	struct session	*s;
	u_int		 i = 0, n = session_count();

	if (n == 0)
		return (NULL);
	TAILQ_FOREACH(s, &sessions, entry) {
		if (s->id == cd->sel_id) {
			cd->sel_idx = i;
			return (s);
		}
		i++;
	}
	if (cd->sel_idx >= n)
		cd->sel_idx = n - 1;
	s = choose_nth(cd->sel_idx);
	cd->sel_id = s->id;
	return (s);
}

void
mode_choose_enter(struct client *c)
{
	struct choose_data	*cd;

	if (c->session == NULL)
		return;
	cd = xcalloc(1, sizeof *cd);
	cd->sel_id = c->session->id;
	choose_selected(cd);
	mode_enter(c, &choose_mode, cd);
}

static void
choose_select(struct choose_data *cd, int n)
{
	struct session	*s;
	u_int		 count = session_count();
	long long	 idx;

	if (count == 0 || choose_selected(cd) == NULL)
		return;
	idx = (long long)cd->sel_idx + n;
	if (idx < 0)
		idx = 0;
	if (idx >= count)
		idx = count - 1;
	s = choose_nth(idx);
	cd->sel_idx = idx;
	cd->sel_id = s->id;
}

/* Kill the selected session; the client may be detached by it. */
static void
choose_kill(struct client *c, struct choose_data *cd)
{
	struct session	*s;

	cd->confirm = 0;
	if ((s = choose_selected(cd)) == NULL)
		return;
	log_debug("%s: %s", __func__, s->name);
	session_destroy(s);
	if (c->mode == NULL || c->mode->data != cd)
		return;
	if (session_count() == 0)
		mode_exit(c);
	else
		server_client_schedule(c);
}

static void
choose_key(struct client *c, key_code key)
{
	struct choose_data	*cd = c->mode->data;
	struct session		*s;
	key_code		 k = key & KEYC_MASK_KEY;
	int			 ctrl = (key & KEYC_CTRL) != 0;

	if (cd->confirm) {
		if (!ctrl && (k == 'y' || k == 'Y'))
			choose_kill(c, cd);
		else {
			cd->confirm = 0;
			server_client_schedule(c);
		}
		return;
	}
	if (ctrl && (k == 'c' || k == 'g')) {
		mode_exit(c);
		return;
	}
	if (ctrl && k == 'p')
		k = KEYC_UP;
	else if (ctrl && k == 'n')
		k = KEYC_DOWN;
	else if (ctrl && k == 'b')
		k = KEYC_PPAGE;
	else if (ctrl && k == 'f')
		k = KEYC_NPAGE;
	else if (ctrl)
		return;
	if (k >= '0' && k <= '9') {
		if ((s = choose_nth(k - '0')) == NULL)
			return;
		cd->sel_id = s->id;
		k = KEYC_ENTER;
	}
	switch (k) {
	case 'q':
	case KEYC_ESCAPE:
		mode_exit(c);
		return;
	case KEYC_ENTER:
	case KEYC_KPENTER:
		if ((s = choose_selected(cd)) == NULL || s == c->session)
			mode_exit(c);
		else if (s->dead)
			server_client_message(c, "session %s has ended",
			    s->name);
		else
			server_client_switch(c, s);	/* exits the mode */
		return;
	case KEYC_UP:
	case 'k':
		choose_select(cd, -1);
		break;
	case KEYC_DOWN:
	case 'j':
		choose_select(cd, 1);
		break;
	case KEYC_PPAGE:
		choose_select(cd, -(int)(cd->list_rows ? cd->list_rows : 1));
		break;
	case KEYC_NPAGE:
		choose_select(cd, cd->list_rows ? cd->list_rows : 1);
		break;
	case KEYC_HOME:
	case 'g':
		choose_select(cd, -(int)session_count());
		break;
	case KEYC_END:
	case 'G':
		choose_select(cd, session_count());
		break;
	case 'x':
		if (c->flags & CLIENT_READONLY) {
			server_client_message(c, "read-only client");
			return;
		}
		if (choose_selected(cd) != NULL)
			cd->confirm = 1;
		break;
	default:
		return;
	}
	server_client_schedule(c);
}

static void
choose_draw_item(struct client *c, struct cell *cells, u_int i,
    struct session *s, int selected)
{
	char		*status, *line, name[CHOOSE_NAME_MAX + 1], size[32];
	char		 attached[32];
	u_int		 x, n = session_count_clients(s);

	cell_set_blank(cells, c->cols, COLOUR_DEFAULT);
	if (selected) {
		for (x = 0; x < c->cols; x++)
			cells[x].attr = ATTR_REVERSE;
	}
	strlcpy(name, s->name, sizeof name);
	status = session_status_string(s);
	snprintf(size, sizeof size, "%ux%u", screen_cols(s->screen),
	    screen_rows(s->screen));
	if (n == 0)
		attached[0] = '\0';
	else
		snprintf(attached, sizeof attached, "%u attached", n);
	xasprintf(&line, "(%u) %s%-12s %-10s %-9s %-11s %s", i,
	    s == c->session ? "*" : " ", name, status, size, attached,
	    s->command != NULL ? s->command : "");
	cell_put_text(cells, c->cols, 0, line, COLOUR_DEFAULT, COLOUR_DEFAULT,
	    selected ? ATTR_REVERSE : 0);
	free(line);
	free(status);
}

/* A row of the preview: the session's row cropped to the client. */
static void
choose_draw_preview_row(struct client *c, struct cell *cells,
    struct session *s, u_int y)
{
	u_int	 sc = screen_cols(s->screen), n;

	cell_set_blank(cells, c->cols, COLOUR_DEFAULT);
	n = sc < c->cols ? sc : c->cols;
	memcpy(cells, screen_row(s->screen, y), n * sizeof *cells);
	if (n != 0 && cells[n - 1].width == 2)
		cell_set_blank(cells + n - 1, 1, COLOUR_DEFAULT);
}

static void
choose_draw_separator(struct client *c, struct cell *cells,
    struct session *s)
{
	u_int	 x;
	char	*label;

	cell_set_blank(cells, c->cols, COLOUR_DEFAULT);
	for (x = 0; x < c->cols; x++)
		cell_put_text(cells, c->cols, x, "\342\224\200", COLOUR_DEFAULT,
		    COLOUR_DEFAULT, 0);
	if (s != NULL) {
		xasprintf(&label, " %s ", s->name);
		cell_put_text(cells, c->cols, 2, label, COLOUR_DEFAULT,
		    COLOUR_DEFAULT, ATTR_BOLD);
		free(label);
	}
}

static void
choose_draw(struct client *c, struct render *r, u_int rows)
{
	struct choose_data	*cd = c->mode->data;
	struct session		*s, *sel = choose_selected(cd);
	struct cell		*cells;
	u_int			 n = session_count(), list, prev, y, i;
	u_int			 sr, cx, cy, start;

	/* The list takes up to half, the preview the rest. */
	list = rows;
	if (rows >= 6) {
		list = (rows - 1) / 2;
		if (n < list)
			list = n == 0 ? 1 : n;
	}
	cd->list_rows = list;
	if (cd->sel_idx < cd->top)
		cd->top = cd->sel_idx;
	if (cd->sel_idx >= cd->top + list)
		cd->top = cd->sel_idx - list + 1;
	if (cd->top + list > n)
		cd->top = n > list ? n - list : 0;
	cells = xcalloc(c->cols, sizeof *cells);
	y = 0;
	for (i = 0; i < list; i++) {
		s = choose_nth(cd->top + i);
		if (s == NULL)
			cell_set_blank(cells, c->cols, COLOUR_DEFAULT);
		else
			choose_draw_item(c, cells, cd->top + i, s, s == sel);
		render_row(r, y++, cells, 0);
	}
	if (y < rows) {
		choose_draw_separator(c, cells, sel);
		render_row(r, y++, cells, 0);
	}
	/* The preview keeps the cursor's row in view, like a small pane. */
	prev = rows - y;
	start = 0;
	if (sel != NULL && prev != 0) {
		sr = screen_rows(sel->screen);
		screen_cursor(sel->screen, &cx, &cy);
		if (sr > prev) {
			start = cy + 1 > prev ? cy + 1 - prev : 0;
			if (start > sr - prev)
				start = sr - prev;
		}
	}
	for (i = 0; y < rows; i++, y++) {
		if (sel != NULL && start + i < screen_rows(sel->screen))
			choose_draw_preview_row(c, cells, sel, start + i);
		else
			cell_set_blank(cells, c->cols, COLOUR_DEFAULT);
		render_row(r, y, cells, 0);
	}
	free(cells);
}

static int
choose_draw_status(struct client *c, struct cell *cells, u_int cols)
{
	struct choose_data	*cd = c->mode->data;
	struct session		*s;
	char			*ask;

	if (!cd->confirm || (s = choose_selected(cd)) == NULL)
		return (0);
	xasprintf(&ask, "Kill session %s? (y/n)", s->name);
	cell_set_blank(cells, cols, CHOOSE_ASK_BG);
	cell_put_text(cells, cols, 0, ask, CHOOSE_ASK_FG, CHOOSE_ASK_BG, 0);
	free(ask);
	return (1);
}

static void
choose_free(struct client *c)
{
	free(c->mode->data);
}

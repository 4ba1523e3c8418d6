/*
 * server/mode-view.c: a read-only text shown in place of the session (the
 * key bindings of list-keys): a title row, then the text, scrolled with the
 * arrows and page keys until q or Escape.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

struct view_data {
	char		*title;
	char		**lines;
	u_int		 nlines;
	u_int		 top;		/* first line shown */
	u_int		 rows;		/* text rows when last drawn */
};

static void	view_key(struct client *, key_code);
static void	view_draw(struct client *, struct render *, u_int);
static void	view_free(struct client *);
static void	view_resize(struct client *);

static const struct mode_def view_mode = {
	.name = "view",
	.key = view_key,
	.draw = view_draw,
	.free = view_free,
	.resize = view_resize
};

void
mode_view_enter(struct client *c, const char *title, const char *text,
    size_t len)
{
	struct view_data	*vd;
	const char		*end = text + len, *p, *nl;

	if (c->session == NULL)
		return;
	vd = xcalloc(1, sizeof *vd);
	vd->title = xstrdup(title != NULL ? title : "");
	for (p = text; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', end - p)) == NULL)
			nl = end;
		vd->lines = xreallocarray(vd->lines, vd->nlines + 1,
		    sizeof *vd->lines);
		vd->lines[vd->nlines++] = xstrndup(p, nl - p);
		if (nl == end)
			break;
	}
	vd->rows = server_client_pane_rows(c) > 1 ?
	    server_client_pane_rows(c) - 1 : 1;
	mode_enter(c, &view_mode, vd);
}

static u_int
view_max_top(struct view_data *vd)
{
	return (vd->nlines > vd->rows ? vd->nlines - vd->rows : 0);
}

static void
view_scroll(struct view_data *vd, int n)
{
	long long	 top = (long long)vd->top + n;

	if (top < 0)
		top = 0;
	if (top > view_max_top(vd))
		top = view_max_top(vd);
	vd->top = top;
}

static void
view_key(struct client *c, key_code key)
{
	struct view_data	*vd = c->mode->data;
	key_code		 k = key & KEYC_MASK_KEY;
	int			 ctrl = (key & KEYC_CTRL) != 0;

	if (ctrl && (k == 'c' || k == 'g')) {
		mode_exit(c);
		return;
	}
	if (ctrl && k == 'b')
		k = KEYC_PPAGE;
	else if (ctrl && k == 'f')
		k = KEYC_NPAGE;
	else if (ctrl && k == 'p')
		k = KEYC_UP;
	else if (ctrl && k == 'n')
		k = KEYC_DOWN;
	else if (ctrl)
		return;
	switch (k) {
	case 'q':
	case KEYC_ESCAPE:
		mode_exit(c);
		return;
	case KEYC_UP:
	case 'k':
		view_scroll(vd, -1);
		break;
	case KEYC_DOWN:
	case 'j':
	case KEYC_ENTER:
		view_scroll(vd, 1);
		break;
	case KEYC_PPAGE:
		view_scroll(vd, -(int)vd->rows);
		break;
	case KEYC_NPAGE:
	case ' ':
		view_scroll(vd, vd->rows);
		break;
	case 'g':
	case KEYC_HOME:
		vd->top = 0;
		break;
	case 'G':
	case KEYC_END:
		vd->top = view_max_top(vd);
		break;
	default:
		return;
	}
	server_client_schedule(c);
}

static void
view_draw(struct client *c, struct render *r, u_int rows)
{
	struct view_data	*vd = c->mode->data;
	struct cell		*cells;
	char			 pos[64];
	u_int			 y, i, n;

	vd->rows = rows > 1 ? rows - 1 : 1;
	view_scroll(vd, 0);
	cells = xcalloc(c->cols, sizeof *cells);
	cell_set_blank(cells, c->cols, COLOUR_DEFAULT);
	for (i = 0; i < c->cols; i++)
		cells[i].attr = ATTR_REVERSE;
	cell_put_text(cells, c->cols, 0, vd->title, COLOUR_DEFAULT,
	    COLOUR_DEFAULT, ATTR_REVERSE);
	n = snprintf(pos, sizeof pos, "[%u/%u]", vd->nlines == 0 ? 0 :
	    vd->top + 1, vd->nlines);
	if (n + strlen(vd->title) + 1 < c->cols)
		cell_put_text(cells, c->cols, c->cols - n, pos, COLOUR_DEFAULT,
		    COLOUR_DEFAULT, ATTR_REVERSE);
	render_row(r, 0, cells, 0);
	for (y = 1; y < rows; y++) {
		cell_set_blank(cells, c->cols, COLOUR_DEFAULT);
		i = vd->top + y - 1;
		if (i < vd->nlines)
			cell_put_text(cells, c->cols, 0, vd->lines[i],
			    COLOUR_DEFAULT, COLOUR_DEFAULT, 0);
		render_row(r, y, cells, 0);
	}
	free(cells);
}

static void
view_resize(struct client *c)
{
	struct view_data	*vd = c->mode->data;
	u_int			 rows = server_client_pane_rows(c);

	vd->rows = rows > 1 ? rows - 1 : 1;
	view_scroll(vd, 0);
}

static void
view_free(struct client *c)
{
	struct view_data	*vd = c->mode->data;
	u_int			 i;

	for (i = 0; i < vd->nlines; i++)
		free(vd->lines[i]);
	free(vd->lines);
	free(vd->title);
	free(vd);
}

/*
 * vterm/render.c: drawing for one client's terminal.  A struct render is a
 * shadow of what the terminal shows; each frame emits only the cells that
 * differ, with absolute positioning (the terminal never scrolls), full SGR
 * pens, ECH/EL for blanks, then the cursor and modes.  The model is not here.
 */
#include <stdlib.h>
#include <string.h>

#include "vterm-int.h"

/* Unchanged narrow cells re-sent rather than moving over them. */
#define RENDER_GAP	4

struct render {
	u_int			 cols;
	u_int			 rows;
	struct cell		*cells;		/* shadow, rows x cols */
	uint64_t		*gens;		/* per row, 0 unknown */
	int			 full;		/* next frame redraws all */

	struct buf		*out;
	size_t			 start;		/* out->len at render_begin */

	u_int			 cx;		/* terminal cursor, if known */
	u_int			 cy;
	int			 cursor_known;
	int			 cursor_visible; /* as the terminal has it */
	u_int			 end_cx;	/* where the last frame left it */
	u_int			 end_cy;

	struct cell		 pen;		/* last SGR sent */
	struct screen_modes	 modes;		/* last modes sent */
	int			 modes_known;

	struct cell		*tmp;		/* a row for render_screen */
	u_int			 tmpcols;
};

static const struct screen_modes render_default_modes = { 1, 0, 0, 0, 0, 0 };

struct render *
render_new(void)
{
	struct render	*r = xcalloc(1, sizeof *r);

	r->full = 1;
	r->cursor_visible = 1;
	return (r);
}

void
render_free(struct render *r)
{
	if (r == NULL)
		return;
	free(r->cells);
	free(r->gens);
	free(r->tmp);
	free(r);
}

void
render_invalidate(struct render *r)
{
	r->full = 1;
}

/* Hide the cursor before the first change of a frame. */
static void
render_touch(struct render *r)
{
	if (r->cursor_visible) {
		buf_add(r->out, "\033[?25l", 6);
		r->cursor_visible = 0;
	}
}

static void
render_clear(struct render *r)
{
	r->cursor_visible = 1;	/* unknown: hide it anyway */
	render_touch(r);
	buf_addstr(r->out, "\033[0m\033[H\033[2J");
	memset(r->cells, 0, (size_t)r->cols * r->rows * sizeof *r->cells);
	memset(r->gens, 0, r->rows * sizeof *r->gens);
	memset(&r->pen, 0, sizeof r->pen);
	r->cx = r->cy = 0;
	r->cursor_known = 1;
	r->modes_known = 0;
	r->full = 0;
}

void
render_begin(struct render *r, u_int cols, u_int rows, struct buf *out)
{
	if (cols < 1)
		cols = 1;
	if (rows < 1)
		rows = 1;
	if (cols != r->cols || rows != r->rows) {
		free(r->cells);
		free(r->gens);
		r->cells = xcalloc((size_t)cols * rows, sizeof *r->cells);
		r->gens = xcalloc(rows, sizeof *r->gens);
		r->cols = cols;
		r->rows = rows;
		r->full = 1;
	}
	r->out = out;
	r->start = out->len;
	r->cursor_known = 0;	/* the client may have drawn between frames */
	if (r->full)
		render_clear(r);
}

static void
render_pen(struct render *r, const struct cell *gc)
{
	if (gc->fg == r->pen.fg && gc->bg == r->pen.bg &&
	    gc->attr == r->pen.attr)
		return;
	cell_sgr(r->out, gc);
	r->pen.fg = gc->fg;
	r->pen.bg = gc->bg;
	r->pen.attr = gc->attr;
}

/* Erasing (ECH, EL) fills with the pen's background only. */
static void
render_blank_pen(struct render *r, uint32_t bg)
{
	struct cell	 blank = { 0, 0, bg, 0, 0, 0 };

	if (r->pen.bg == bg && (~r->pen.attr & ATTR_REVERSE))
		return;
	render_pen(r, &blank);
}

static int
render_is_blank(const struct cell *gc)
{
	return (gc->ch == 0 && gc->width == 0 && gc->fg == 0 && gc->attr == 0);
}

/* Cells [from, to) of row y can be re-sent as they are, cheaper than a move. */
static int
render_can_resend(struct render *r, const struct cell *cells, u_int from,
    u_int to)
{
	u_int	 x;

	for (x = from; x < to; x++) {
		if (cells[x].width != 1 || cells[x].ch < 0x20 ||
		    cells[x].ch >= 0x7f || cells[x].fg != r->pen.fg ||
		    cells[x].bg != r->pen.bg || cells[x].attr != r->pen.attr)
			return (0);
	}
	return (1);
}

static void
render_move(struct render *r, const struct cell *cells, u_int x, u_int y)
{
	u_int	 i;

	if (r->cursor_known && r->cy == y && r->cx == x)
		return;
	render_touch(r);
	if (r->cursor_known && r->cy == y && x > r->cx) {
		if (cells != NULL && x - r->cx <= RENDER_GAP &&
		    render_can_resend(r, cells, r->cx, x)) {
			for (i = r->cx; i < x; i++)
				buf_add(r->out, (char *)&cells[i].ch, 1);
		} else if (x - r->cx == 1)
			buf_add(r->out, "\033[C", 3);
		else
			buf_printf(r->out, "\033[%uC", x - r->cx);
	} else if (x == 0)
		buf_printf(r->out, "\033[%uH", y + 1);
	else
		buf_printf(r->out, "\033[%u;%uH", y + 1, x + 1);
	r->cx = x;
	r->cy = y;
	r->cursor_known = 1;
}

/* One character cell (a wide one counts two) at x. */
static void
render_glyph(struct render *r, const struct cell *gc, u_int x, u_int w)
{
	char	 s[32];
	size_t	 n;

	render_pen(r, gc);
	if (gc->ch >= 0x20 && gc->ch < 0x7f)
		buf_add(r->out, (char *)&gc->ch, 1);
	else {
		n = cell_utf8(gc, s);
		if (n == 0 || (w == 2 && gc->width != 2)) {
			s[0] = ' ';
			n = 1;
		}
		buf_add(r->out, s, n);
	}
	r->cx = x + w;
	if (r->cx >= r->cols)
		r->cursor_known = 0;	/* pending wrap: do not trust it */
}

/* Where the blank tail of a row (one background, to the end) starts. */
static u_int
render_tail(const struct cell *cells, u_int cols)
{
	u_int	 t = cols;

	while (t > 0 && render_is_blank(&cells[t - 1]) &&
	    cells[t - 1].bg == cells[cols - 1].bg)
		t--;
	return (t);
}

/* A run of blanks with one background from x, stopping before end. */
static u_int
render_blank_run(const struct cell *cells, u_int x, u_int end)
{
	u_int	 n = 1;

	while (x + n < end && render_is_blank(&cells[x + n]) &&
	    cells[x + n].bg == cells[x].bg)
		n++;
	return (n);
}

static u_int
render_unit(const struct cell *cells, u_int x, u_int cols)
{
	return (cells[x].width == 2 && x + 1 < cols ? 2 : 1);
}

static void
render_cells(struct render *r, u_int y, const struct cell *cells,
    const struct cell *shadow)
{
	u_int	 x = 0, w, n, tail = render_tail(cells, r->cols);

	while (x < r->cols) {
		w = render_unit(cells, x, r->cols);
		if (memcmp(&cells[x], &shadow[x], w * sizeof *cells) == 0) {
			x += w;
			continue;
		}
		render_move(r, cells, x, y);
		if (x >= tail) {
			render_blank_pen(r, cells[x].bg);
			buf_add(r->out, "\033[K", 3);
			break;
		}
		if (render_is_blank(&cells[x])) {
			n = render_blank_run(cells, x, tail);
			render_blank_pen(r, cells[x].bg);
			if (n == 1)
				buf_add(r->out, "\033[X", 3);
			else
				buf_printf(r->out, "\033[%uX", n);
			x += n;
			continue;
		}
		render_glyph(r, &cells[x], x, w);
		x += w;
	}
}

void
render_row(struct render *r, u_int y, const struct cell *cells, uint64_t gen)
{
	struct cell	*shadow;

	if (r->out == NULL || y >= r->rows)
		return;
	if (gen != 0 && gen == r->gens[y])
		return;
	shadow = r->cells + (size_t)y * r->cols;
	render_cells(r, y, cells, shadow);
	memcpy(shadow, cells, r->cols * sizeof *shadow);
	r->gens[y] = gen;
}

/* DECSCUSR: 0 is the terminal's default, as after a reset. */
static void
render_cursor_style(struct render *r, const struct screen_modes *m)
{
	u_int	 n;

	if (m->cursor_shape < 1 || m->cursor_shape > 3 ||
	    (m->cursor_shape == 1 && m->cursor_blink))
		n = 0;
	else
		n = m->cursor_shape * 2 - (m->cursor_blink ? 1 : 0);
	buf_printf(r->out, "\033[%u q", n);
}

static const char *render_mouse_on[] = {
	"", "\033[?1000h\033[?1006h", "\033[?1002h\033[?1006h",
	"\033[?1003h\033[?1006h"
};
static const char *render_mouse_off[] = {
	"", "\033[?1006l\033[?1000l", "\033[?1006l\033[?1002l",
	"\033[?1006l\033[?1003l"
};

static void
render_modes(struct render *r, const struct screen_modes *m)
{
	struct screen_modes	*old = &r->modes;
	int			 known = r->modes_known;
	u_int			 mouse = m->mouse > 3 ? 0 : m->mouse;

	if (!known || m->reverse != old->reverse)
		buf_addstr(r->out, m->reverse ? "\033[?5h" : "\033[?5l");
	if (!known || m->cursor_shape != old->cursor_shape ||
	    m->cursor_blink != old->cursor_blink)
		render_cursor_style(r, m);
	if (!known || (u_int)old->mouse != mouse) {
		if (!known)
			buf_addstr(r->out, "\033[?1006l\033[?1003l\033[?1002l"
			    "\033[?1000l");
		else
			buf_addstr(r->out, render_mouse_off[old->mouse]);
		buf_addstr(r->out, render_mouse_on[mouse]);
	}
	*old = *m;
	old->mouse = mouse;
	r->modes_known = 1;
}

size_t
render_end(struct render *r, u_int cx, u_int cy, const struct screen_modes *m)
{
	size_t	 n;

	if (r->out == NULL)
		return (0);
	if (m == NULL)
		m = &render_default_modes;
	if (cx >= r->cols)
		cx = r->cols - 1;
	if (cy >= r->rows)
		cy = r->rows - 1;
	if (r->pen.fg != 0 || r->pen.bg != 0 || r->pen.attr != 0) {
		buf_add(r->out, "\033[0m", 4);
		memset(&r->pen, 0, sizeof r->pen);
	}
	render_modes(r, m);
	if (m->cursor_visible) {
		if (r->out->len != r->start || !r->cursor_visible ||
		    cx != r->end_cx || cy != r->end_cy)
			render_move(r, NULL, cx, cy);
		if (!r->cursor_visible)
			buf_add(r->out, "\033[?25h", 6);
		r->cursor_visible = 1;
	} else
		render_touch(r);
	r->end_cx = cx;
	r->end_cy = cy;
	n = r->out->len - r->start;
	r->out = NULL;
	return (n);
}

void
render_screen(struct render *r, struct screen *s, u_int y0)
{
	u_int		 y, rows = screen_rows(s), cols = screen_cols(s);
	const struct cell *cells;

	if (r->tmpcols != r->cols) {
		free(r->tmp);
		r->tmp = xcalloc(r->cols, sizeof *r->tmp);
		r->tmpcols = r->cols;
	}
	for (y = 0; y < rows && y0 + y < r->rows; y++) {
		cells = screen_row(s, y);
		if (cols != r->cols) {
			memset(r->tmp, 0, r->cols * sizeof *r->tmp);
			memcpy(r->tmp, cells, (cols < r->cols ? cols : r->cols) *
			    sizeof *r->tmp);
			if (cols > r->cols && r->tmp[r->cols - 1].width == 2)
				memset(&r->tmp[r->cols - 1], 0, sizeof *r->tmp);
			cells = r->tmp;
		}
		render_row(r, y0 + y, cells, screen_row_gen(s, y));
	}
}

void
render_history(struct screen *s, u_int from, u_int to, struct buf *out)
{
	struct cell	*cells = NULL, pen;
	u_int		 n, w, size = 0;

	if (to > screen_history_size(s))
		to = screen_history_size(s);
	for (n = from; n < to; n++) {
		if ((w = screen_history_width(s, n)) > size) {
			free(cells);
			size = w;
			cells = xcalloc(size, sizeof *cells);
		}
		if (w > 0)
			screen_history_line(s, n, cells, w, NULL);
		memset(&pen, 0, sizeof pen);
		capture_cells(out, cells, w, CAPTURE_ESCAPES, &pen);
		buf_add(out, "\033[0m\r\n", 6);
	}
	free(cells);
}

/*
 * vterm/screen.c: the screen model.  libvterm's state layer parses and keeps
 * modes; its callbacks write into our grids (main and alternate) of rows kept
 * in a ring, so a full-screen scroll rotates the ring.  Lines leaving the top
 * of the main screen go to history.c.  Rendering and capture are elsewhere.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vterm.h>

#include "vterm-int.h"

#define SCREEN_MAX	10000	/* rows or columns */

struct screen_row {
	struct cell	*cells;
	uint64_t	 gen;
	int		 wrapped;	/* autowrap continued onto the next row */
};

/* Rows in a ring: logical row y is rows[(top + y) % nrows]. */
struct screen_grid {
	struct screen_row	*rows;
	u_int			 top;
};

struct screen {
	VTerm			*vt;
	VTermState		*state;
	u_int			 cols;
	u_int			 rows;

	struct screen_grid	 grids[2];	/* main, alternate */
	struct screen_grid	*grid;		/* the active one */

	struct cell		 pen;		/* ch and width unused */
	u_int			 cx;
	u_int			 cy;
	struct screen_modes	 modes;
	char			*title;
	uint64_t		 gen;

	/* Last glyph filled the last column: a glyph at column 0 of the
	 * next row, with no cursor movement between, means autowrap. */
	int			 wrap_pending;
	int			 wrap_row;
	int			 wrap_col;

	struct history		*hist;
	struct cell		*blank;		/* a blank row, cols wide */
	struct screen_row	*rowtmp;	/* rows entries, for scrolling */
	struct screen_cb	 cb;
	void			*arg;
};

/* One counter for every gen of every screen, so gens never collide. */
static uint64_t	screen_next_gen;
#define SCREEN_GEN()	(++screen_next_gen)

static u_int
screen_clamp(u_int n)
{
	if (n < 1)
		return (1);
	if (n > SCREEN_MAX)
		return (SCREEN_MAX);
	return (n);
}

static inline struct screen_row *
screen_get_row(struct screen *s, u_int y)
{
	u_int	 i = s->grid->top + y;

	if (i >= s->rows)
		i -= s->rows;
	return (&s->grid->rows[i]);
}

/* Blank n cells with background bg (erase uses the pen's background). */
static void
screen_blank(struct cell *cells, u_int n, uint32_t bg)
{
	cell_set_blank(cells, n, bg);
}

static void
screen_row_changed(struct screen *s, struct screen_row *row)
{
	row->gen = s->gen = SCREEN_GEN();
}

/*
 * Keep wide characters whole after a change to a row: a wide cell must be
 * followed by its continuation (ch 0, width 0, the same pen), and a blank
 * carries only a background.  Used after erase and move, not on the putglyph path.
 */
static void
screen_fix_row(struct cell *cells, u_int cols)
{
	u_int	 x;

	for (x = 0; x < cols; x++) {
		if (cells[x].width == 2) {
			if (x + 1 < cols && cells[x + 1].ch == 0) {
				cells[x + 1] = cells[x];
				cells[x + 1].ch = 0;
				cells[x + 1].width = 0;
				x++;
				continue;
			}
			screen_blank(&cells[x], 1, cells[x].bg);
		} else if (cells[x].ch == 0) {
			cells[x].fg = 0;
			cells[x].attr = 0;
			cells[x].width = 0;
		}
	}
}

/* Before overwriting [x, x + n): break wide characters cut at the edges. */
static inline void
screen_cut_wide(struct cell *cells, u_int cols, u_int x, u_int n)
{
	if (x > 0 && cells[x - 1].width == 2)
		screen_blank(&cells[x - 1], 1, cells[x - 1].bg);
	if (x + n < cols && cells[x + n - 1].width == 2)
		screen_blank(&cells[x + n], 1, cells[x + n].bg);
}

static void
screen_wrap_check(struct screen *s, VTermPos pos)
{
	if (s->wrap_pending && pos.col == 0 && pos.row == s->wrap_row + 1 &&
	    pos.row > 0)
		screen_get_row(s, pos.row - 1)->wrapped = 1;
}

static int
screen_putglyph(VTermGlyphInfo *info, VTermPos pos, void *arg)
{
	struct screen		*s = arg;
	struct screen_row	*row;
	struct cell		*gc;
	u_int			 x = pos.col, w, n;

	if ((u_int)pos.row >= s->rows || x >= s->cols)
		return (1);
	w = info->width == 2 && x + 1 < s->cols ? 2 : 1; /* -1 for controls */
	screen_wrap_check(s, pos);
	row = screen_get_row(s, pos.row);
	screen_cut_wide(row->cells, s->cols, x, w);
	gc = &row->cells[x];
	*gc = s->pen;
	gc->width = w;
	if (info->chars[1] == 0)
		gc->ch = info->chars[0];
	else {
		for (n = 2; n < VTERM_MAX_CHARS_PER_CELL; n++)
			if (info->chars[n] == 0)
				break;
		gc->ch = cell_combine(info->chars, n);
	}
	if (w == 2)
		gc[1] = s->pen;
	screen_row_changed(s, row);

	s->wrap_pending = (x + w >= s->cols);
	s->wrap_row = pos.row;
	s->wrap_col = x;
	return (1);
}

static int
screen_movecursor(VTermPos pos, VTermPos oldpos __unused, int visible __unused, void *arg)
{
	struct screen	*s = arg;

	if (pos.row != s->wrap_row || pos.col != s->wrap_col)
		s->wrap_pending = 0;
	s->cx = pos.col < 0 ? 0 : pos.col;
	s->cy = pos.row < 0 ? 0 : pos.row;
	if (s->cx >= s->cols)
		s->cx = s->cols - 1;
	if (s->cy >= s->rows)
		s->cy = s->rows - 1;
	s->gen = SCREEN_GEN();
	return (1);
}

/* A row leaves the top of the main screen. */
static void
screen_push_history(struct screen *s, struct screen_row *row)
{
	if (s->grid == &s->grids[0])
		history_push(s->hist, row->cells, s->cols, row->wrapped);
}

static void
screen_new_row(struct screen *s, struct screen_row *row)
{
	screen_blank(row->cells, s->cols, s->pen.bg);
	row->wrapped = 0;
	screen_row_changed(s, row);
}

/* Full-screen scroll up by n: rotate the ring. */
static void
screen_rotate(struct screen *s, u_int n)
{
	u_int	 y;

	for (y = 0; y < n; y++)
		screen_push_history(s, screen_get_row(s, y));
	s->grid->top = (s->grid->top + n) % s->rows;
	for (y = s->rows - n; y < s->rows; y++)
		screen_new_row(s, screen_get_row(s, y));
}

/* Scroll rows [top, bottom) by n (positive: content moves up). */
static void
screen_scroll_rows(struct screen *s, u_int top, u_int bottom, int n)
{
	struct screen_row	*save = s->rowtmp;
	u_int			 h = bottom - top, k = abs(n), y;

	if (k > h)
		k = h;
	if (n > 0 && top == 0 && bottom == s->rows) {
		screen_rotate(s, k);
		return;
	}
	if (n > 0 && top == 0) {
		for (y = 0; y < k; y++)
			screen_push_history(s, screen_get_row(s, y));
	}
	for (y = 0; y < h; y++)
		save[y] = *screen_get_row(s, top + y);
	for (y = 0; y < h; y++) {
		if (n > 0)
			*screen_get_row(s, top + y) = save[(y + k) % h];
		else
			*screen_get_row(s, top + y) = save[(y + h - k) % h];
	}
	for (y = 0; y < k; y++) {
		if (n > 0)
			screen_new_row(s, screen_get_row(s, bottom - 1 - y));
		else
			screen_new_row(s, screen_get_row(s, top + y));
	}
}

/* Keep a rect from libvterm inside the grid; returns 0 if nothing is left. */
static int
screen_clip(struct screen *s, VTermRect *rect)
{
	if (rect->start_row < 0)
		rect->start_row = 0;
	if (rect->start_col < 0)
		rect->start_col = 0;
	if (rect->end_row > (int)s->rows)
		rect->end_row = s->rows;
	if (rect->end_col > (int)s->cols)
		rect->end_col = s->cols;
	return (rect->start_row < rect->end_row &&
	    rect->start_col < rect->end_col);
}

static int
screen_scrollrect(VTermRect rect, int down, int right, void *arg)
{
	struct screen	*s = arg;

	if (right != 0 || rect.start_col != 0 || rect.end_col != (int)s->cols)
		return (0);	/* libvterm falls back to moverect and erase */
	if (!screen_clip(s, &rect))
		return (1);
	screen_scroll_rows(s, rect.start_row, rect.end_row, down);
	if (s->wrap_row >= rect.start_row && s->wrap_row < rect.end_row)
		s->wrap_row -= down;
	s->gen = SCREEN_GEN();
	return (1);
}

static void
screen_move_row(struct screen *s, int dy, int sy, int dx, int sx, int w)
{
	struct screen_row	*dst = screen_get_row(s, dy);
	struct screen_row	*src = screen_get_row(s, sy);

	screen_cut_wide(dst->cells, s->cols, dx, w);
	memmove(dst->cells + dx, src->cells + sx, w * sizeof *dst->cells);
	screen_fix_row(dst->cells, s->cols);
	screen_row_changed(s, dst);
}

static int
screen_moverect(VTermRect dst, VTermRect src, void *arg)
{
	struct screen	*s = arg;
	int		 h = src.end_row - src.start_row, i;
	int		 w = src.end_col - src.start_col;

	if (w <= 0 || h <= 0 || dst.start_row < 0 || src.start_row < 0 ||
	    dst.start_col < 0 || src.start_col < 0 ||
	    dst.start_row + h > (int)s->rows || src.start_row + h > (int)s->rows ||
	    dst.start_col + w > (int)s->cols || src.start_col + w > (int)s->cols)
		return (1);
	if (dst.start_row < src.start_row) {
		for (i = 0; i < h; i++)
			screen_move_row(s, dst.start_row + i,
			    src.start_row + i, dst.start_col, src.start_col, w);
	} else {
		for (i = h - 1; i >= 0; i--)
			screen_move_row(s, dst.start_row + i,
			    src.start_row + i, dst.start_col, src.start_col, w);
	}
	return (1);
}

static int
screen_erase(VTermRect rect, int selective __unused, void *arg)
{
	struct screen		*s = arg;
	struct screen_row	*row;
	int			 y, w;

	if (!screen_clip(s, &rect))
		return (1);
	w = rect.end_col - rect.start_col;
	for (y = rect.start_row; y < rect.end_row; y++) {
		row = screen_get_row(s, y);
		screen_cut_wide(row->cells, s->cols, rect.start_col, w);
		screen_blank(row->cells + rect.start_col, w, s->pen.bg);
		if (rect.end_col == (int)s->cols)
			row->wrapped = 0;
		screen_row_changed(s, row);
	}
	return (1);
}

static int
screen_initpen(void *arg)
{
	struct screen	*s = arg;

	memset(&s->pen, 0, sizeof s->pen);
	return (1);
}

static uint32_t
screen_colour(const VTermColor *c)
{
	if (VTERM_COLOR_IS_DEFAULT_FG(c) || VTERM_COLOR_IS_DEFAULT_BG(c))
		return (COLOUR_DEFAULT);
	if (VTERM_COLOR_IS_INDEXED(c))
		return (COLOUR_INDEX(c->indexed.idx));
	return (COLOUR_RGB(c->rgb.red, c->rgb.green, c->rgb.blue));
}

/* libvterm's boolean pen attributes and ours. */
static const uint16_t screen_bool_attrs[VTERM_N_ATTRS] = {
	[VTERM_ATTR_BOLD] = ATTR_BOLD,
	[VTERM_ATTR_ITALIC] = ATTR_ITALIC,
	[VTERM_ATTR_BLINK] = ATTR_BLINK,
	[VTERM_ATTR_REVERSE] = ATTR_REVERSE,
	[VTERM_ATTR_STRIKE] = ATTR_STRIKE
};

/* Underline styles 0-3: none, single, double, curly. */
static const uint16_t screen_underlines[] = {
	0, ATTR_UNDERLINE, ATTR_UNDERLINE2, ATTR_UNDERCURL
};

static int
screen_setpenattr(VTermAttr attr, VTermValue *val, void *arg)
{
	struct screen	*s = arg;
	uint16_t	 ul = ATTR_UNDERLINE|ATTR_UNDERLINE2|ATTR_UNDERCURL;

	switch (attr) {
	case VTERM_ATTR_FOREGROUND:
		s->pen.fg = screen_colour(&val->color);
		break;
	case VTERM_ATTR_BACKGROUND:
		s->pen.bg = screen_colour(&val->color);
		break;
	case VTERM_ATTR_UNDERLINE:
		s->pen.attr &= ~ul;
		if (val->number > 0 && val->number < 4)
			s->pen.attr |= screen_underlines[val->number];
		break;
	default:
		if (attr <= 0 || attr >= VTERM_N_ATTRS ||
		    screen_bool_attrs[attr] == 0)
			break;
		if (val->boolean)
			s->pen.attr |= screen_bool_attrs[attr];
		else
			s->pen.attr &= ~screen_bool_attrs[attr];
		break;
	}
	return (1);
}

static void
screen_grid_init(struct screen_grid *g, u_int cols, u_int rows)
{
	u_int	 y;

	g->rows = xcalloc(rows, sizeof *g->rows);
	g->top = 0;
	for (y = 0; y < rows; y++) {
		g->rows[y].cells = xcalloc(cols, sizeof *g->rows[y].cells);
		g->rows[y].gen = SCREEN_GEN();
	}
}

static void
screen_grid_free(struct screen_grid *g, u_int rows)
{
	u_int	 y;

	if (g->rows == NULL)
		return;
	for (y = 0; y < rows; y++)
		free(g->rows[y].cells);
	free(g->rows);
	g->rows = NULL;
	g->top = 0;
}

static void
screen_set_alt(struct screen *s, int on)
{
	if (on && s->grids[1].rows == NULL)
		screen_grid_init(&s->grids[1], s->cols, s->rows);
	s->grid = &s->grids[on ? 1 : 0];
	s->modes.altscreen = on;
	s->wrap_pending = 0;
}

static void
screen_set_title(struct screen *s, const char *title)
{
	free(s->title);
	s->title = xstrdup(title == NULL ? "" : title);
	if (s->cb.title != NULL)
		s->cb.title(s->arg);
}

static int
screen_settermprop(VTermProp prop, VTermValue *val, void *arg)
{
	struct screen	*s = arg;

	switch (prop) {
	case VTERM_PROP_CURSORVISIBLE:
		s->modes.cursor_visible = val->boolean;
		break;
	case VTERM_PROP_CURSORBLINK:
		s->modes.cursor_blink = val->boolean;
		break;
	case VTERM_PROP_CURSORSHAPE:
		s->modes.cursor_shape = val->number;
		break;
	case VTERM_PROP_ALTSCREEN:
		screen_set_alt(s, val->boolean);
		break;
	case VTERM_PROP_TITLE:
		screen_set_title(s, val->string);
		break;
	case VTERM_PROP_REVERSE:
		s->modes.reverse = val->boolean;
		break;
	case VTERM_PROP_MOUSE:
		s->modes.mouse = val->number;
		break;
	default:
		break;
	}
	s->gen = SCREEN_GEN();
	return (1);
}

static int
screen_bell(void *arg)
{
	struct screen	*s = arg;

	if (s->cb.bell != NULL)
		s->cb.bell(s->arg);
	return (1);
}

static int
screen_setlineinfo(int row __unused, const VTermLineInfo *new __unused, const VTermLineInfo *old __unused,
    void *arg __unused)
{
	return (1);
}

static int
screen_vterm_resize(int rows, int cols, VTermPos *delta, void *arg);

static const VTermStateCallbacks screen_callbacks = {
	.putglyph = screen_putglyph,
	.movecursor = screen_movecursor,
	.scrollrect = screen_scrollrect,
	.moverect = screen_moverect,
	.erase = screen_erase,
	.initpen = screen_initpen,
	.setpenattr = screen_setpenattr,
	.settermprop = screen_settermprop,
	.bell = screen_bell,
	.resize = screen_vterm_resize,
	.setlineinfo = screen_setlineinfo
};

/* OSC strings libvterm does not handle; OSC 52 is the clipboard. */
static int
screen_osc(const char *cmd, size_t len, void *arg)
{
	struct screen	*s = arg;
	char		*copy;

	if (len < 3 || strncmp(cmd, "52;", 3) != 0)
		return (0);
	if (s->cb.clipboard != NULL) {
		copy = xstrndup(cmd + 3, len - 3);
		s->cb.clipboard(copy, s->arg);
		free(copy);
	}
	return (1);
}

static const VTermParserCallbacks screen_fallbacks = {
	.osc = screen_osc
};

static void
screen_output(const char *data, size_t len, void *arg)
{
	struct screen	*s = arg;

	if (s->cb.output != NULL)
		s->cb.output(data, len, s->arg);
}

struct screen *
screen_new(u_int cols, u_int rows, u_int history_limit,
    struct history_budget *budget, const struct screen_cb *cb, void *arg)
{
	struct screen	*s = xcalloc(1, sizeof *s);

	s->cols = screen_clamp(cols);
	s->rows = screen_clamp(rows);
	if (cb != NULL)
		s->cb = *cb;
	s->arg = arg;
	s->title = xstrdup("");
	s->modes.cursor_visible = 1;
	s->hist = history_new(history_limit, budget);
	s->blank = xcalloc(s->cols, sizeof *s->blank);
	s->rowtmp = xcalloc(s->rows, sizeof *s->rowtmp);
	screen_grid_init(&s->grids[0], s->cols, s->rows);
	s->grid = &s->grids[0];
	s->gen = SCREEN_GEN();

	s->vt = vterm_new(s->rows, s->cols);
	vterm_set_utf8(s->vt, 1);
	vterm_output_set_callback(s->vt, screen_output, s);
	s->state = vterm_obtain_state(s->vt);
	vterm_state_set_callbacks(s->state, &screen_callbacks, s);
	vterm_state_set_unrecognised_fallbacks(s->state, &screen_fallbacks, s);
	vterm_state_reset(s->state, 1);
	return (s);
}

void
screen_free(struct screen *s)
{
	if (s == NULL)
		return;
	vterm_free(s->vt);
	screen_grid_free(&s->grids[0], s->rows);
	screen_grid_free(&s->grids[1], s->rows);
	history_free(s->hist);
	free(s->blank);
	free(s->rowtmp);
	free(s->title);
	free(s);
}

void
screen_write(struct screen *s, const char *data, size_t len)
{
	if (len > 0)
		vterm_input_write(s->vt, data, len);
}

/* Row y of grid g while it still has the old size. */
static struct screen_row *
screen_grid_row(struct screen *s, struct screen_grid *g, u_int y)
{
	return (&g->rows[(g->top + y) % s->rows]);
}

static int
screen_row_is_blank(const struct screen_row *row, u_int cols)
{
	u_int	 x;

	for (x = 0; x < cols; x++) {
		if (row->cells[x].ch != 0)
			return (0);
	}
	return (1);
}

/*
 * Rows to push to history when shrinking to rows, as libvterm's screen.c:
 * blank rows below the cursor go first.  Never more than the rows above the
 * cursor (libvterm 0.1.4 would move the cursor above the screen); what is
 * left below the cursor is cut off at the bottom.
 */
static u_int
screen_resize_pushed(struct screen *s, u_int rows)
{
	int	 y;
	u_int	 n;

	for (y = s->rows - 1; y >= (int)rows; y--) {
		if ((u_int)y == s->cy ||
		    !screen_row_is_blank(screen_get_row(s, y), s->cols))
			break;
	}
	n = y + 1 > (int)rows ? y + 1 - rows : 0;
	return (n > s->cy ? s->cy : n);
}

/*
 * Rebuild grid g at cols x rows: the first n old rows went to history, k
 * rows come back from history at the top, the rest copied, truncated or
 * blank-padded (no reflow, as libvterm 0.1.4).
 */
static void
screen_grid_resize(struct screen *s, struct screen_grid *g, u_int cols,
    u_int rows, u_int n, u_int k)
{
	struct screen_row	*new, *old;
	u_int			 i, j, w = cols < s->cols ? cols : s->cols;

	for (i = 0; i < n; i++)
		history_push(s->hist, screen_grid_row(s, g, i)->cells, s->cols,
		    screen_grid_row(s, g, i)->wrapped);
	new = xcalloc(rows, sizeof *new);
	for (i = 0; i < rows; i++) {
		new[i].cells = xcalloc(cols, sizeof *new[i].cells);
		new[i].gen = SCREEN_GEN();
	}
	for (i = k; i > 0; i--)
		history_pop(s->hist, new[i - 1].cells, cols, &new[i - 1].wrapped);
	for (i = k; i < rows; i++) {
		if ((j = i - k + n) >= s->rows)
			break;
		old = screen_grid_row(s, g, j);
		memcpy(new[i].cells, old->cells, w * sizeof *old->cells);
		new[i].wrapped = old->wrapped;
		screen_fix_row(new[i].cells, cols);
	}
	screen_grid_free(g, s->rows);
	g->rows = new;
	g->top = 0;
}

static int
screen_vterm_resize(int rows, int cols, VTermPos *delta, void *arg)
{
	struct screen	*s = arg;
	int		 main = (s->grid == &s->grids[0]);
	u_int		 n = 0, k = 0;

	if (main && (u_int)rows < s->rows)
		n = screen_resize_pushed(s, rows);
	if (main && (u_int)rows > s->rows) {
		k = rows - s->rows;
		if (k > history_size(s->hist))
			k = history_size(s->hist);
	}
	screen_grid_resize(s, &s->grids[0], cols, rows, main ? n : 0, k);
	if (s->grids[1].rows != NULL)
		screen_grid_resize(s, &s->grids[1], cols, rows, 0, 0);
	s->rows = rows;
	s->cols = cols;
	free(s->blank);
	s->blank = xcalloc(cols, sizeof *s->blank);
	free(s->rowtmp);
	s->rowtmp = xcalloc(rows, sizeof *s->rowtmp);
	delta->row += (int)k - (int)n;
	s->wrap_pending = 0;
	s->gen = SCREEN_GEN();
	return (1);
}

/*
 * Reset the scroll region before a resize, as xterm and tmux do: libvterm
 * 0.1.4 does not clamp it, and a region beyond the new size makes it (and
 * our callbacks) reach outside the grid.  DECSTBM homes the cursor, so put
 * it back.
 */
static void
screen_reset_region(struct screen *s)
{
	VTermPos	 pos;
	char		 tmp[64];
	int		 n;

	vterm_state_get_cursorpos(s->state, &pos);
	n = snprintf(tmp, sizeof tmp, "\033[r\033[%d;%dH", pos.row + 1,
	    pos.col + 1);
	vterm_input_write(s->vt, tmp, n);
}

void
screen_resize(struct screen *s, u_int cols, u_int rows)
{
	cols = screen_clamp(cols);
	rows = screen_clamp(rows);
	if (cols == s->cols && rows == s->rows)
		return;
	screen_reset_region(s);
	vterm_set_size(s->vt, rows, cols);
}

void
screen_set_history_limit(struct screen *s, u_int limit)
{
	history_set_limit(s->hist, limit);
}

/* Named keys (index key - KEYC_BASE) to libvterm keys. */
static const VTermKey screen_keys[KEYC_NAMED_END - KEYC_BASE] = {
	[KEYC_ENTER - KEYC_BASE] = VTERM_KEY_ENTER,
	[KEYC_TAB - KEYC_BASE] = VTERM_KEY_TAB,
	[KEYC_BSPACE - KEYC_BASE] = VTERM_KEY_BACKSPACE,
	[KEYC_ESCAPE - KEYC_BASE] = VTERM_KEY_ESCAPE,
	[KEYC_UP - KEYC_BASE] = VTERM_KEY_UP,
	[KEYC_DOWN - KEYC_BASE] = VTERM_KEY_DOWN,
	[KEYC_LEFT - KEYC_BASE] = VTERM_KEY_LEFT,
	[KEYC_RIGHT - KEYC_BASE] = VTERM_KEY_RIGHT,
	[KEYC_INSERT - KEYC_BASE] = VTERM_KEY_INS,
	[KEYC_DELETE - KEYC_BASE] = VTERM_KEY_DEL,
	[KEYC_HOME - KEYC_BASE] = VTERM_KEY_HOME,
	[KEYC_END - KEYC_BASE] = VTERM_KEY_END,
	[KEYC_PPAGE - KEYC_BASE] = VTERM_KEY_PAGEUP,
	[KEYC_NPAGE - KEYC_BASE] = VTERM_KEY_PAGEDOWN,
	[KEYC_BTAB - KEYC_BASE] = VTERM_KEY_TAB,
	[KEYC_F1 - KEYC_BASE] = VTERM_KEY_FUNCTION(1),
	[KEYC_F2 - KEYC_BASE] = VTERM_KEY_FUNCTION(2),
	[KEYC_F3 - KEYC_BASE] = VTERM_KEY_FUNCTION(3),
	[KEYC_F4 - KEYC_BASE] = VTERM_KEY_FUNCTION(4),
	[KEYC_F5 - KEYC_BASE] = VTERM_KEY_FUNCTION(5),
	[KEYC_F6 - KEYC_BASE] = VTERM_KEY_FUNCTION(6),
	[KEYC_F7 - KEYC_BASE] = VTERM_KEY_FUNCTION(7),
	[KEYC_F8 - KEYC_BASE] = VTERM_KEY_FUNCTION(8),
	[KEYC_F9 - KEYC_BASE] = VTERM_KEY_FUNCTION(9),
	[KEYC_F10 - KEYC_BASE] = VTERM_KEY_FUNCTION(10),
	[KEYC_F11 - KEYC_BASE] = VTERM_KEY_FUNCTION(11),
	[KEYC_F12 - KEYC_BASE] = VTERM_KEY_FUNCTION(12),
	[KEYC_KP0 - KEYC_BASE] = VTERM_KEY_KP_0,
	[KEYC_KP1 - KEYC_BASE] = VTERM_KEY_KP_1,
	[KEYC_KP2 - KEYC_BASE] = VTERM_KEY_KP_2,
	[KEYC_KP3 - KEYC_BASE] = VTERM_KEY_KP_3,
	[KEYC_KP4 - KEYC_BASE] = VTERM_KEY_KP_4,
	[KEYC_KP5 - KEYC_BASE] = VTERM_KEY_KP_5,
	[KEYC_KP6 - KEYC_BASE] = VTERM_KEY_KP_6,
	[KEYC_KP7 - KEYC_BASE] = VTERM_KEY_KP_7,
	[KEYC_KP8 - KEYC_BASE] = VTERM_KEY_KP_8,
	[KEYC_KP9 - KEYC_BASE] = VTERM_KEY_KP_9,
	[KEYC_KPPERIOD - KEYC_BASE] = VTERM_KEY_KP_PERIOD,
	[KEYC_KPPLUS - KEYC_BASE] = VTERM_KEY_KP_PLUS,
	[KEYC_KPMINUS - KEYC_BASE] = VTERM_KEY_KP_MINUS,
	[KEYC_KPMULT - KEYC_BASE] = VTERM_KEY_KP_MULT,
	[KEYC_KPDIV - KEYC_BASE] = VTERM_KEY_KP_DIVIDE,
	[KEYC_KPENTER - KEYC_BASE] = VTERM_KEY_KP_ENTER
};

static VTermModifier
screen_mods(key_code key)
{
	VTermModifier	 mod = VTERM_MOD_NONE;

	if (key & KEYC_SHIFT)
		mod |= VTERM_MOD_SHIFT;
	if (key & KEYC_META)
		mod |= VTERM_MOD_ALT;
	if (key & KEYC_CTRL)
		mod |= VTERM_MOD_CTRL;
	return (mod);
}

void
screen_key(struct screen *s, key_code key)
{
	VTermModifier	 mod = screen_mods(key);
	key_code	 k = key & KEYC_MASK_KEY;

	if (KEYC_IS_NAMED(key)) {
		if (k == KEYC_BTAB)
			mod |= VTERM_MOD_SHIFT;
		vterm_keyboard_key(s->vt, screen_keys[k - KEYC_BASE], mod);
	} else if (k < 0x110000)
		vterm_keyboard_unichar(s->vt, k, mod);
}

void
screen_paste(struct screen *s, const char *data, size_t len)
{
	vterm_keyboard_start_paste(s->vt);
	screen_output(data, len, s);
	vterm_keyboard_end_paste(s->vt);
}

void
screen_mouse(struct screen *s, u_int col, u_int row, int button, int pressed,
    int mods)
{
	if (s->modes.mouse == 0)
		return;
	if (col >= s->cols)
		col = s->cols - 1;
	if (row >= s->rows)
		row = s->rows - 1;
	vterm_mouse_move(s->vt, row, col, screen_mods(mods));
	if (button != 0)
		vterm_mouse_button(s->vt, button, pressed, screen_mods(mods));
}

void
screen_focus(struct screen *s, int in)
{
	if (in)
		vterm_state_focus_in(s->state);
	else
		vterm_state_focus_out(s->state);
}

u_int
screen_cols(struct screen *s)
{
	return (s->cols);
}

u_int
screen_rows(struct screen *s)
{
	return (s->rows);
}

const struct cell *
screen_row(struct screen *s, u_int y)
{
	if (y >= s->rows)
		return (s->blank);
	return (screen_get_row(s, y)->cells);
}

uint64_t
screen_row_gen(struct screen *s, u_int y)
{
	if (y >= s->rows)
		return (0);
	return (screen_get_row(s, y)->gen);
}

uint64_t
screen_gen(struct screen *s)
{
	return (s->gen);
}

int
screen_row_wrapped(struct screen *s, u_int y)
{
	if (y >= s->rows)
		return (0);
	return (screen_get_row(s, y)->wrapped);
}

void
screen_cursor(struct screen *s, u_int *x, u_int *y)
{
	*x = s->cx;
	*y = s->cy;
}

const struct screen_modes *
screen_modes(struct screen *s)
{
	return (&s->modes);
}

const char *
screen_title(struct screen *s)
{
	return (s->title);
}

u_int
screen_history_size(struct screen *s)
{
	return (history_size(s->hist));
}

uint64_t
screen_history_pushed(struct screen *s)
{
	return (history_pushed(s->hist));
}

size_t
screen_history_bytes(struct screen *s)
{
	return (history_bytes(s->hist));
}

void
screen_history_line(struct screen *s, u_int n, struct cell *cells, u_int cols,
    int *wrapped)
{
	history_get(s->hist, n, cells, cols, wrapped);
}

u_int
screen_history_width(struct screen *s, u_int n)
{
	return (history_width(s->hist, n));
}

void
screen_history_clear(struct screen *s)
{
	history_clear(s->hist);
	s->gen = SCREEN_GEN();
}

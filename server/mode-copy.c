/*
 * server/mode-copy.c: scrollback mode (copy-mode).  A view over a session's
 * history followed by its screen, with a cursor line, search (/ ? n N) and
 * a line-wise selection copied to the client's terminal with OSC 52.  Lines
 * are numbered from the oldest history line; when output pushes more lines
 * into the history the view moves with them, so it stays on what it showed.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

#define COPY_MATCH_FG	COLOUR_INDEX(0)
#define COPY_MATCH_BG	COLOUR_INDEX(3)
#define COPY_ANCHOR_SEARCH 5000	/* lines dropped between two looks */

struct copy_data {
	u_int		 hsize;		/* history size when last looked */
	u_int		 top;		/* first line shown */
	u_int		 cy;		/* cursor line */
	u_int		 cx;		/* cursor column */
	u_int		 rows;		/* view rows when last drawn */
	int		 selecting;
	u_int		 sel_line;	/* where the selection started */
	char		*search;	/* last search text */
	int		 search_up;	/* its direction */
	int		 matched;
	u_int		 match_line;
	u_int		 match_x;
	u_int		 match_w;	/* columns */
	struct prompt_line *prompt;	/* search being typed */
	int		 prompt_up;
	u_int		 anchor_line;	/* top when last synced */
	u_int		 anchor_m;	/* history lines hashed there, 0: none */
	uint64_t	 anchor_hash;
};

/* The last text copied, kept for whoever wants it next. */
static char	*copy_last;

static void	copy_key(struct client *, key_code);
static void	copy_draw(struct client *, struct render *, u_int);
static void	copy_free(struct client *);
static void	copy_resize(struct client *);
static int	copy_draw_status(struct client *, struct cell *, u_int);
static int	copy_cursor(struct client *, u_int *, u_int *);

static const struct mode_def copy_mode = {
	.name = "copy",
	.key = copy_key,
	.draw = copy_draw,
	.free = copy_free,
	.resize = copy_resize,
	.draw_status = copy_draw_status,
	.cursor = copy_cursor
};

static u_int
copy_total(struct session *s)
{
	return (screen_history_size(s->screen) + screen_rows(s->screen));
}

static u_int
copy_max_top(struct session *s, struct copy_data *cd)
{
	u_int	 total = copy_total(s);

	return (total > cd->rows ? total - cd->rows : 0);
}

static u_int
copy_shift(u_int v, long long delta)
{
	if (delta < 0 && (long long)v < -delta)
		return (0);
	return (v + delta);
}

/* A hash of history lines [n, n + m), to recognise them after a shift. */
static uint64_t
copy_hash(struct session *s, u_int n, u_int m)
{
	struct cell	*cells = NULL;
	uint64_t	 h = 14695981039346656037ULL;
	const u_char	*p;
	u_int		 w, i;
	size_t		 j;

	for (i = n; i < n + m; i++) {
		w = screen_history_width(s->screen, i);
		cells = xreallocarray(cells, w + 1, sizeof *cells);
		screen_history_line(s->screen, i, cells, w, NULL);
		p = (const u_char *)cells;
		for (j = 0; j < w * sizeof *cells; j++)
			h = (h ^ p[j]) * 1099511628211ULL;
		h = (h ^ '\n') * 1099511628211ULL;
	}
	free(cells);
	return (h);
}

/*
 * Lines are numbered from the oldest history line, so output that only
 * adds history leaves them where they are.  When the oldest lines are
 * dropped (the history limit or budget), everything moves down: find the
 * lines that were at the top of the view again and move with them.
 */
static void
copy_sync(struct session *s, struct copy_data *cd)
{
	u_int		 hsize = screen_history_size(s->screen), total, k, m;
	long long	 delta = 0;

	m = cd->anchor_m;
	if (m != 0 && (cd->anchor_line + m > hsize ||
	    copy_hash(s, cd->anchor_line, m) != cd->anchor_hash)) {
		for (k = 1; k <= cd->anchor_line && k <= COPY_ANCHOR_SEARCH;
		    k++) {
			if (cd->anchor_line - k + m > hsize)
				continue;
			if (copy_hash(s, cd->anchor_line - k, m) ==
			    cd->anchor_hash) {
				delta = -(long long)k;
				break;
			}
		}
	}
	if (delta != 0) {
		cd->top = copy_shift(cd->top, delta);
		cd->cy = copy_shift(cd->cy, delta);
		cd->sel_line = copy_shift(cd->sel_line, delta);
		cd->match_line = copy_shift(cd->match_line, delta);
	}
	cd->hsize = hsize;
	total = copy_total(s);
	if (cd->cy >= total)
		cd->cy = total - 1;
	if (cd->sel_line >= total)
		cd->sel_line = total - 1;
	if (cd->top > copy_max_top(s, cd))
		cd->top = copy_max_top(s, cd);
	cd->anchor_line = cd->top;
	cd->anchor_m = 0;
	if (cd->top < hsize) {
		cd->anchor_m = hsize - cd->top < 3 ? hsize - cd->top : 3;
		cd->anchor_hash = copy_hash(s, cd->top, cd->anchor_m);
	}
}

/* Scroll so the cursor line is visible. */
static void
copy_show_cursor(struct session *s, struct copy_data *cd, int centre)
{
	if (cd->cy >= cd->top && cd->cy < cd->top + cd->rows)
		return;
	if (centre)
		cd->top = cd->cy > cd->rows / 2 ? cd->cy - cd->rows / 2 : 0;
	else if (cd->cy < cd->top)
		cd->top = cd->cy;
	else
		cd->top = cd->cy - cd->rows + 1;
	if (cd->top > copy_max_top(s, cd))
		cd->top = copy_max_top(s, cd);
}

void
mode_copy_enter(struct client *c, int page_up)
{
	struct session		*s = c->session;
	struct copy_data	*cd;
	u_int			 x, y, rel;

	if (s == NULL)
		return;
	if (c->mode != NULL && c->mode->def == &copy_mode) {
		if (page_up)
			copy_key(c, KEYC_PPAGE);
		return;
	}
	cd = xcalloc(1, sizeof *cd);
	cd->hsize = screen_history_size(s->screen);
	cd->rows = server_client_pane_rows(c);
	screen_cursor(s->screen, &x, &y);
	cd->top = copy_max_top(s, cd);
	cd->cy = cd->hsize + y;
	cd->sel_line = cd->cy;
	cd->cx = x;
	copy_sync(s, cd);
	copy_show_cursor(s, cd, 0);
	if (page_up) {
		rel = cd->cy - cd->top;
		cd->top = cd->top > cd->rows ? cd->top - cd->rows : 0;
		cd->cy = cd->top + rel;
	}
	mode_enter(c, &copy_mode, cd);
}

/* Line n in cols cells, cropped or padded; a wide character cut is blank. */
static void
copy_get_line(struct session *s, u_int n, struct cell *cells, u_int cols)
{
	u_int	 hsize = screen_history_size(s->screen), sc, w;
	int	 wrapped;

	if (n < hsize) {
		screen_history_line(s->screen, n, cells, cols, &wrapped);
	} else if (n - hsize < screen_rows(s->screen)) {
		sc = screen_cols(s->screen);
		w = sc < cols ? sc : cols;
		memcpy(cells, screen_row(s->screen, n - hsize),
		    w * sizeof *cells);
		cell_set_blank(cells + w, cols - w, COLOUR_DEFAULT);
	} else {
		cell_set_blank(cells, cols, COLOUR_DEFAULT);
		return;
	}
	if (cols != 0 && cells[cols - 1].width == 2)
		cell_set_blank(cells + cols - 1, 1, COLOUR_DEFAULT);
}

static u_int
copy_line_width(struct session *s, u_int n)
{
	u_int	 hsize = screen_history_size(s->screen), w;

	if (n < hsize) {
		w = screen_history_width(s->screen, n);
		return (w > screen_cols(s->screen) ? w : screen_cols(s->screen));
	}
	return (screen_cols(s->screen));
}

/*
 * Line n as UTF-8 text, with the column each byte starts at (cols[len] is
 * the column after the last).
 */
static void
copy_line_text(struct session *s, u_int n, struct buf *text, u_int **cols)
{
	struct cell	*cells;
	u_int		 w = copy_line_width(s, n), x, i, ncols = 0;
	char		 u[32];
	size_t		 len;

	cells = xcalloc(w + 1, sizeof *cells);
	copy_get_line(s, n, cells, w);
	buf_reset(text);
	*cols = xreallocarray(*cols, w * 32 + 1, sizeof **cols);
	for (x = 0; x < w; x++) {
		if (cells[x].width == 0 && cells[x].ch == 0 && x != 0 &&
		    cells[x - 1].width == 2)
			continue;
		len = cells[x].ch == 0 ? 0 : cell_utf8(&cells[x], u);
		if (len == 0) {
			u[0] = ' ';
			len = 1;
		}
		for (i = 0; i < len; i++)
			(*cols)[ncols++] = x;
		buf_add(text, u, len);
	}
	(*cols)[ncols] = w;
	buf_add(text, "", 1);
	text->len--;
	free(cells);
}

static int
copy_has_upper(const char *s)
{
	for (; *s != '\0'; s++) {
		if (isupper((u_char)*s))
			return (1);
	}
	return (0);
}

/* Byte offsets of the matches of what in text, fewest first. */
static int
copy_match_at(const char *text, size_t len, size_t off, const char *what,
    size_t wlen, int fold)
{
	size_t	 i;

	if (off + wlen > len)
		return (0);
	if (!fold)
		return (memcmp(text + off, what, wlen) == 0);
	for (i = 0; i < wlen; i++) {
		if (tolower((u_char)text[off + i]) != (u_char)what[i])
			return (0);
	}
	return (1);
}

/*
 * In line n, the match nearest to column x in the direction asked: before
 * x (up) or after x (down); x of -1 means anywhere.
 */
static int
copy_search_line(struct session *s, u_int n, const char *what, int fold,
    int up, long long x, u_int *mx, u_int *mw)
{
	struct buf	 text;
	u_int		*cols = NULL;
	size_t		 off, wlen = strlen(what);
	int		 found = 0;

	buf_init(&text);
	copy_line_text(s, n, &text, &cols);
	for (off = 0; off + wlen <= text.len; off++) {
		if (!copy_match_at(text.data, text.len, off, what, wlen, fold))
			continue;
		if (x >= 0 && (up ? cols[off] >= x : cols[off] <= x))
			continue;
		*mx = cols[off];
		*mw = cols[off + wlen] - cols[off];
		if (*mw == 0)
			*mw = 1;
		found = 1;
		if (!up)
			break;	/* the first after x */
	}
	free(cols);
	buf_free(&text);
	return (found);
}

/* Search from the cursor, wrapping around; move there if found. */
static int
copy_search(struct session *s, struct copy_data *cd, int up)
{
	u_int		 total = copy_total(s), i, n, mx, mw;
	int		 fold = !copy_has_upper(cd->search);
	long long	 x;

	if (*cd->search == '\0')
		return (0);
	for (i = 0; i <= total; i++) {
		if (up)
			n = (cd->cy + total - i) % total;
		else
			n = (cd->cy + i) % total;
		x = (i == 0) ? (long long)cd->cx : -1;
		if (!copy_search_line(s, n, cd->search, fold, up, x, &mx, &mw))
			continue;
		cd->matched = 1;
		cd->match_line = cd->cy = n;
		cd->match_x = cd->cx = mx;
		cd->match_w = mw;
		copy_show_cursor(s, cd, 1);
		return (1);
	}
	return (0);
}

static void
copy_search_run(struct client *c, struct copy_data *cd, int up)
{
	if (cd->search == NULL)
		return;
	if (!copy_search(c->session, cd, up)) {
		cd->matched = 0;
		server_client_message(c, "no match: %s", cd->search);
	}
}

static const char copy_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void
copy_base64(struct buf *out, const u_char *in, size_t len)
{
	size_t		 i;
	uint32_t	 v;
	char		 q[4];

	for (i = 0; i < len; i += 3) {
		v = in[i] << 16;
		if (i + 1 < len)
			v |= in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		q[0] = copy_b64[(v >> 18) & 0x3f];
		q[1] = copy_b64[(v >> 12) & 0x3f];
		q[2] = i + 1 < len ? copy_b64[(v >> 6) & 0x3f] : '=';
		q[3] = i + 2 < len ? copy_b64[v & 0x3f] : '=';
		buf_add(out, q, 4);
	}
}

/* Copy the selected lines to the client's terminal clipboard. */
static void
copy_selection(struct client *c, struct copy_data *cd)
{
	struct session	*s = c->session;
	struct buf	 text, seq;
	u_int		 from, to, hsize = screen_history_size(s->screen);

	from = cd->sel_line < cd->cy ? cd->sel_line : cd->cy;
	to = cd->sel_line < cd->cy ? cd->cy : cd->sel_line;
	buf_init(&text);
	screen_capture(s->screen, (int)from - (int)hsize, (int)to - (int)hsize,
	    0, &text);
	if (text.len != 0 && text.data[text.len - 1] == '\n')
		text.len--;
	buf_add(&text, "", 1);
	free(copy_last);
	copy_last = xstrdup(text.data);
	buf_init(&seq);
	buf_addstr(&seq, "\033]52;c;");
	copy_base64(&seq, (u_char *)text.data, text.len - 1);
	buf_addstr(&seq, "\a");
	server_client_send_output(c, seq.data, seq.len);
	server_client_message(c, "copied %u line%s", to - from + 1,
	    to == from ? "" : "s");
	buf_free(&seq);
	buf_free(&text);
}

static void
copy_move(struct session *s, struct copy_data *cd, long long n)
{
	long long	 cy = (long long)cd->cy + n;
	u_int		 total = copy_total(s);

	if (cy < 0)
		cy = 0;
	if (cy >= total)
		cy = total - 1;
	cd->cy = cy;
	copy_show_cursor(s, cd, 0);
}

/* Scroll the view by n lines, the cursor staying on the same row. */
static void
copy_scroll(struct session *s, struct copy_data *cd, long long n)
{
	long long	 top = (long long)cd->top + n;
	u_int		 rel = cd->cy >= cd->top ? cd->cy - cd->top : 0;

	if (top < 0)
		top = 0;
	if (top > copy_max_top(s, cd))
		top = copy_max_top(s, cd);
	if (top == cd->top) {
		copy_move(s, cd, n);	/* at an end: move the cursor */
		return;
	}
	cd->top = top;
	cd->cy = cd->top + rel;
	copy_sync(s, cd);
}

static void
copy_prompt_key(struct client *c, struct copy_data *cd, key_code key)
{
	switch (prompt_line_key(cd->prompt, key)) {
	case PROMPT_EDITING:
		break;
	case PROMPT_CANCEL:
		prompt_line_free(cd->prompt);
		cd->prompt = NULL;
		break;
	case PROMPT_DONE:
		if (*prompt_line_text(cd->prompt) != '\0') {
			free(cd->search);
			cd->search = xstrdup(prompt_line_text(cd->prompt));
			cd->search_up = cd->prompt_up;
		}
		prompt_line_free(cd->prompt);
		cd->prompt = NULL;
		copy_search_run(c, cd, cd->search_up);
		break;
	}
	server_client_schedule(c);
}

static key_code
copy_translate(key_code key)
{
	key_code	 k = key & KEYC_MASK_KEY;

	if (!(key & KEYC_CTRL))
		return (k);
	switch (k) {
	case 'b':
		return (KEYC_PPAGE);
	case 'f':
		return (KEYC_NPAGE);
	case 'p':
		return (KEYC_UP);
	case 'n':
		return (KEYC_DOWN);
	case 'c':
		return ('q');
	case 'u':
	case 'd':
	case 'e':
	case 'y':
		return (key);
	}
	return (KEYC_NONE);
}

static void
copy_key(struct client *c, key_code key)
{
	struct session		*s = c->session;
	struct copy_data	*cd = c->mode->data;
	u_int			 half = cd->rows / 2 ? cd->rows / 2 : 1;

	if (s == NULL) {
		mode_exit(c);
		return;
	}
	copy_sync(s, cd);
	if (cd->prompt != NULL) {
		copy_prompt_key(c, cd, key);
		return;
	}
	switch (copy_translate(key)) {
	case 'q':
		mode_exit(c);
		return;
	case KEYC_ESCAPE:
		if (!cd->selecting) {
			mode_exit(c);
			return;
		}
		cd->selecting = 0;
		break;
	case KEYC_UP:
	case 'k':
		copy_move(s, cd, -1);
		break;
	case KEYC_DOWN:
	case 'j':
		copy_move(s, cd, 1);
		break;
	case KEYC_LEFT:
	case 'h':
		if (cd->cx > 0)
			cd->cx--;
		break;
	case KEYC_RIGHT:
	case 'l':
		if (cd->cx + 1 < copy_line_width(s, cd->cy))
			cd->cx++;
		break;
	case KEYC_HOME:
	case '0':
		cd->cx = 0;
		break;
	case KEYC_END:
	case '$':
		cd->cx = copy_line_width(s, cd->cy) - 1;
		break;
	case KEYC_PPAGE:
		copy_scroll(s, cd, -(long long)cd->rows);
		break;
	case KEYC_NPAGE:
		copy_scroll(s, cd, cd->rows);
		break;
	case 'u' | KEYC_CTRL:
		copy_scroll(s, cd, -(long long)half);
		break;
	case 'd' | KEYC_CTRL:
		copy_scroll(s, cd, half);
		break;
	case 'y' | KEYC_CTRL:
		copy_scroll(s, cd, -1);
		break;
	case 'e' | KEYC_CTRL:
		copy_scroll(s, cd, 1);
		break;
	case 'g':
		cd->top = cd->cy = 0;
		break;
	case 'G':
		cd->cy = copy_total(s) - 1;
		cd->top = copy_max_top(s, cd);
		break;
	case 'H':
		cd->cy = cd->top;
		break;
	case 'L':
		cd->cy = cd->top + cd->rows - 1;
		copy_sync(s, cd);
		break;
	case '/':
	case '?':
		cd->prompt_up = (key == '/');
		cd->prompt = prompt_line_new(cd->prompt_up ? "(search up) " :
		    "(search down) ", NULL);
		break;
	case 'n':
		copy_search_run(c, cd, cd->search_up);
		break;
	case 'N':
		copy_search_run(c, cd, !cd->search_up);
		break;
	case 'v':
	case 'V':
	case ' ':
		cd->selecting = 1;
		cd->sel_line = cd->cy;
		break;
	case KEYC_ENTER:
	case KEYC_KPENTER:
	case 'y':
		if (cd->selecting)
			copy_selection(c, cd);
		mode_exit(c);
		return;
	default:
		return;
	}
	server_client_schedule(c);
}

static void
copy_draw_indicator(struct client *c, struct copy_data *cd, struct cell *cells)
{
	char	 ind[64];
	u_int	 n, pos, x;

	pos = cd->top < cd->hsize ? cd->hsize - cd->top : 0;
	n = snprintf(ind, sizeof ind, "[%u/%u]", pos, cd->hsize);
	if (n > c->cols)
		return;
	x = c->cols - n;
	if (x > 0 && cells[x - 1].width == 2)	/* don't cut a wide one */
		cell_set_blank(cells + x - 1, 1, COLOUR_DEFAULT);
	cell_put_text(cells, c->cols, x, ind, COLOUR_DEFAULT, COLOUR_DEFAULT,
	    ATTR_REVERSE);
}

static void
copy_draw(struct client *c, struct render *r, u_int rows)
{
	struct session		*s = c->session;
	struct copy_data	*cd = c->mode->data;
	struct cell		*cells;
	u_int			 y, x, line, from, to;

	if (s == NULL)
		return;
	cd->rows = rows != 0 ? rows : 1;
	copy_sync(s, cd);
	from = cd->sel_line < cd->cy ? cd->sel_line : cd->cy;
	to = cd->sel_line < cd->cy ? cd->cy : cd->sel_line;
	cells = xcalloc(c->cols, sizeof *cells);
	for (y = 0; y < rows; y++) {
		line = cd->top + y;
		copy_get_line(s, line, cells, c->cols);
		if (cd->selecting && line >= from && line <= to) {
			for (x = 0; x < c->cols; x++)
				cells[x].attr ^= ATTR_REVERSE;
		}
		if (cd->matched && line == cd->match_line) {
			for (x = cd->match_x; x < cd->match_x + cd->match_w &&
			    x < c->cols; x++) {
				cells[x].fg = COPY_MATCH_FG;
				cells[x].bg = COPY_MATCH_BG;
				cells[x].attr &= ~ATTR_REVERSE;
			}
		}
		if (y == 0)
			copy_draw_indicator(c, cd, cells);
		render_row(r, y, cells, 0);
	}
	free(cells);
}

static int
copy_draw_status(struct client *c, struct cell *cells, u_int cols)
{
	struct copy_data	*cd = c->mode->data;

	if (cd->prompt == NULL)
		return (0);
	prompt_line_draw(cd->prompt, cells, cols);
	return (1);
}

static int
copy_cursor(struct client *c, u_int *x, u_int *y)
{
	struct copy_data	*cd = c->mode->data;
	struct prompt_line	*pl = cd->prompt;

	if (pl != NULL) {
		*x = prompt_line_cursor(pl);
		*y = c->rows - 1;
		return (1);
	}
	if (cd->cy < cd->top || cd->cy >= cd->top + cd->rows)
		return (0);
	*x = cd->cx;
	*y = cd->cy - cd->top;
	return (1);
}

static void
copy_resize(struct client *c)
{
	struct copy_data	*cd = c->mode->data;

	cd->rows = server_client_pane_rows(c);
	if (cd->rows == 0)
		cd->rows = 1;
	if (c->session != NULL) {
		copy_sync(c->session, cd);
		copy_show_cursor(c->session, cd, 0);
	}
}

static void
copy_free(struct client *c)
{
	struct copy_data	*cd = c->mode->data;

	prompt_line_free(cd->prompt);
	free(cd->search);
	free(cd);
}

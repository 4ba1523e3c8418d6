/*
 * vterm/capture.c: screen and scrollback as text, with tmux capture-pane's
 * line numbering (0 the top visible row, negative into history), optional
 * SGR escapes and joining of wrapped lines.  It reads the model only.
 */
#include <stdlib.h>
#include <string.h>

#include "vterm-int.h"

static int
capture_same_pen(const struct cell *a, const struct cell *b)
{
	return (a->fg == b->fg && a->bg == b->bg && a->attr == b->attr);
}

/* Cells [0, n) as UTF-8; blanks are spaces, a wide character appears once. */
void
capture_cells(struct buf *out, const struct cell *cells, u_int n, int flags,
    struct cell *pen)
{
	char	 s[32];
	u_int	 x;
	size_t	 len;

	for (x = 0; x < n; x++) {
		if (x > 0 && cells[x - 1].width == 2)
			continue;
		if ((flags & CAPTURE_ESCAPES) &&
		    !capture_same_pen(&cells[x], pen)) {
			cell_sgr(out, &cells[x]);
			*pen = cells[x];
		}
		if ((len = cell_utf8(&cells[x], s)) == 0)
			buf_add(out, " ", 1);
		else
			buf_add(out, s, len);
	}
}

/* Cells to keep once trailing blanks and spaces are dropped. */
static u_int
capture_trim(const struct cell *cells, u_int n)
{
	while (n > 0 && (cells[n - 1].ch == 0 || cells[n - 1].ch == ' ') &&
	    (n < 2 || cells[n - 2].width != 2))
		n--;
	return (n);
}

/* Line i (negative: history) into cells; returns its width. */
static u_int
capture_get(struct screen *s, int i, struct cell **cells, u_int *size,
    int *wrapped)
{
	u_int	 hsize = screen_history_size(s), n, w = screen_cols(s);

	if (i < 0) {
		n = hsize + i;
		if (screen_history_width(s, n) > w)
			w = screen_history_width(s, n);
	}
	if (w > *size) {
		*cells = xreallocarray(*cells, w, sizeof **cells);
		*size = w;
	}
	if (i < 0)
		screen_history_line(s, n, *cells, w, wrapped);
	else {
		memcpy(*cells, screen_row(s, i), w * sizeof **cells);
		*wrapped = screen_row_wrapped(s, i);
	}
	return (w);
}

static int
capture_clamp(int n, int lo, int hi)
{
	if (n < lo)
		return (lo);
	if (n > hi)
		return (hi);
	return (n);
}

void
screen_capture(struct screen *s, int start, int end, int flags,
    struct buf *out)
{
	int		 lo = -(int)screen_history_size(s);
	int		 hi = (int)screen_rows(s) - 1, i, wrapped;
	struct cell	*cells = NULL, pen;
	u_int		 size = 0, w;

	start = capture_clamp(start, lo, hi);
	end = capture_clamp(end, lo, hi);
	memset(&pen, 0, sizeof pen);
	for (i = start; i <= end; i++) {
		w = capture_get(s, i, &cells, &size, &wrapped);
		if (!(flags & CAPTURE_JOIN) || !wrapped || i == end)
			w = capture_trim(cells, w);
		capture_cells(out, cells, w, flags, &pen);
		if ((flags & CAPTURE_JOIN) && wrapped && i != end)
			continue;
		if (pen.fg != 0 || pen.bg != 0 || pen.attr != 0) {
			buf_add(out, "\033[0m", 4);
			memset(&pen, 0, sizeof pen);
		}
		buf_add(out, "\n", 1);
	}
	free(cells);
}

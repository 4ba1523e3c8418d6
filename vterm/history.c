/*
 * vterm/history.c: one screen's scrollback.  Each line is one malloc'd blob:
 * a header, attribute runs (start, length, fg, bg, attr) for cells whose pen
 * is not the default, and the text in UTF-8 with a marker byte before wide
 * characters.  Lines sit in a ring of pointers under a line limit and the
 * process-wide byte budget.  It does not know about the visible grid.
 */
#include <stdlib.h>
#include <string.h>

#include "vterm-int.h"

/* Lines this screen always keeps when the shared budget is exceeded. */
#define HISTORY_KEEP		16
/* Bytes counted per line beyond the blob: malloc header and the pointer. */
#define HISTORY_OVERHEAD	(16 + sizeof (u_char *))

/* Header: cells, runs, text bytes (uint16 each), flags (one byte). */
#define HISTORY_HDR		7
#define HISTORY_RUN		14
#define HISTORY_WRAPPED		0x1

/* Text markers: below any character a cell can hold. */
#define HISTORY_T_BLANK		0x00
#define HISTORY_T_WIDE		0x01	/* next character is two cells */
#define HISTORY_T_COMBINED	0x02	/* next four bytes: table index */

struct history {
	u_char			**lines;	/* ring, oldest at head */
	u_int			  head;
	u_int			  size;
	uint64_t		  pushed;	/* lines ever in, less popped */
	u_int			  cap;
	u_int			  limit;	/* lines */
	size_t			  bytes;
	struct history_budget	 *budget;
};

/* Scratch for encoding, shared: one line is encoded at a time. */
static u_char	*history_scratch;
static size_t	 history_scratch_size;

struct history *
history_new(u_int limit, struct history_budget *budget)
{
	struct history	*h = xcalloc(1, sizeof *h);

	h->limit = limit;
	h->budget = budget;
	return (h);
}

void
history_free(struct history *h)
{
	if (h == NULL)
		return;
	history_clear(h);
	free(h->lines);
	free(h);
}

static uint16_t
history_get16(const u_char *p)
{
	uint16_t	 v;

	memcpy(&v, p, sizeof v);
	return (v);
}

static size_t
history_line_size(const u_char *line)
{
	return (HISTORY_HDR + history_get16(line + 2) * HISTORY_RUN +
	    history_get16(line + 4));
}

static u_char *
history_at(struct history *h, u_int n)
{
	u_int	 i = h->head + n;

	if (i >= h->cap)
		i -= h->cap;
	return (h->lines[i]);
}

static void
history_account(struct history *h, size_t n, int add)
{
	n += HISTORY_OVERHEAD;
	if (add) {
		h->bytes += n;
		if (h->budget != NULL)
			h->budget->used += n;
	} else {
		h->bytes -= n;
		if (h->budget != NULL)
			h->budget->used -= n;
	}
}

static void
history_drop_oldest(struct history *h)
{
	u_char	*line = h->lines[h->head];

	history_account(h, history_line_size(line), 0);
	free(line);
	if (++h->head == h->cap)
		h->head = 0;
	h->size--;
}

/* Move the ring to a new array of cap pointers, oldest first. */
static void
history_rebuild(struct history *h, u_int cap)
{
	u_char	**lines = NULL;
	u_int	  i;

	if (cap != 0)
		lines = xreallocarray(NULL, cap, sizeof *lines);
	for (i = 0; i < h->size; i++)
		lines[i] = history_at(h, i);
	free(h->lines);
	h->lines = lines;
	h->cap = cap;
	h->head = 0;
}

/* Grow the ring towards the limit. */
static void
history_grow(struct history *h)
{
	u_int	 cap = h->cap == 0 ? 64 : h->cap * 2;

	history_rebuild(h, cap > h->limit ? h->limit : cap);
}

static u_char *
history_scratch_get(size_t n)
{
	if (n > history_scratch_size) {
		history_scratch_size = n * 2;
		history_scratch = xreallocarray(history_scratch, 1,
		    history_scratch_size);
	}
	return (history_scratch);
}

/* Encode one cell's text; returns bytes written (at most 6). */
static size_t
history_put_text(u_char *p, const struct cell *gc)
{
	size_t	 n = 0;

	if (gc->width == 2)
		p[n++] = HISTORY_T_WIDE;
	if (gc->ch < 0x80)
		p[n++] = gc->ch;
	else if (gc->ch & CELL_COMBINED) {
		p[n++] = HISTORY_T_COMBINED;
		memcpy(p + n, &gc->ch, 4);
		n += 4;
	} else
		n += utf8_encode(gc->ch, (char *)p + n);
	return (n);
}

static u_char *
history_put_run(u_char *r, u_int start, u_int end, const struct cell *pen)
{
	uint16_t	 v;

	v = start;
	memcpy(r, &v, 2);
	v = end - start;
	memcpy(r + 2, &v, 2);
	memcpy(r + 4, &pen->fg, 4);
	memcpy(r + 8, &pen->bg, 4);
	memcpy(r + 12, &pen->attr, 2);
	return (r + HISTORY_RUN);
}

/* Cells to keep: trailing blank cells go, a wide character stays whole. */
static u_int
history_trim(const struct cell *cells, u_int cols)
{
	static const struct cell zero;
	u_int			 n = cols;

	while (n > 0 && memcmp(&cells[n - 1], &zero, sizeof zero) == 0)
		n--;
	if (n > 0 && n < cols && cells[n - 1].width == 2)
		n++;
	return (n);
}

/*
 * Encode a row into a new blob in one pass: text goes to the scratch from
 * the front, runs to a second area, then both are joined.
 */
static u_char *
history_encode(const struct cell *cells, u_int cols, int wrapped)
{
	const struct cell	*gc, *pen = NULL;
	u_char			*s, *line, *text, *runs, *r;
	u_int			 n = history_trim(cells, cols), x, start = 0;
	size_t			 tlen, rlen;
	uint16_t		 v[3];

	s = history_scratch_get(n * (HISTORY_RUN + 6) + HISTORY_RUN);
	text = s;
	runs = r = s + n * 6;
	for (x = 0; x < n; x++) {
		gc = &cells[x];
		if (pen == NULL || gc->fg != pen->fg || gc->bg != pen->bg ||
		    gc->attr != pen->attr) {
			if (pen != NULL && (pen->fg | pen->bg | pen->attr) != 0)
				r = history_put_run(r, start, x, pen);
			pen = gc;
			start = x;
		}
		if (x > 0 && gc[-1].width == 2)
			continue;
		if (gc->width != 2 && gc->ch < 0x80)
			*text++ = gc->ch;
		else
			text += history_put_text(text, gc);
	}
	if (pen != NULL && (pen->fg | pen->bg | pen->attr) != 0)
		r = history_put_run(r, start, n, pen);
	tlen = text - s;
	rlen = r - runs;
	line = xmalloc(HISTORY_HDR + rlen + tlen);
	v[0] = n;
	v[1] = rlen / HISTORY_RUN;
	v[2] = tlen;
	memcpy(line, v, 6);
	line[6] = wrapped ? HISTORY_WRAPPED : 0;
	memcpy(line + HISTORY_HDR, runs, rlen);
	memcpy(line + HISTORY_HDR + rlen, s, tlen);
	return (line);
}

void
history_push(struct history *h, const struct cell *cells, u_int cols,
    int wrapped)
{
	u_char	*line;
	u_int	 i;

	if (h->limit == 0)
		return;
	if (h->size == h->limit)
		history_drop_oldest(h);
	if (h->size == h->cap)
		history_grow(h);
	line = history_encode(cells, cols, wrapped);
	i = h->head + h->size;
	if (i >= h->cap)
		i -= h->cap;
	h->lines[i] = line;
	h->size++;
	h->pushed++;
	history_account(h, history_line_size(line), 1);
	while (h->budget != NULL && h->budget->limit != 0 &&
	    h->budget->used > h->budget->limit && h->size > HISTORY_KEEP)
		history_drop_oldest(h);
}

/* Decode one cell's text at p; returns the bytes used. */
static size_t
history_get_text(const u_char *p, const u_char *end, struct cell *gc)
{
	const u_char	*start = p;
	u_int		 n, i;
	uint32_t	 c;

	gc->width = 1;
	if (*p == HISTORY_T_WIDE) {
		gc->width = 2;
		p++;
	}
	if (*p == HISTORY_T_COMBINED) {
		memcpy(&gc->ch, p + 1, 4);
		return (p + 5 - start);
	}
	c = *p++;
	if (c >= 0x80) {
		n = c >= 0xf0 ? 3 : (c >= 0xe0 ? 2 : 1);
		c &= 0x3f >> n;
		for (i = 0; i < n && p < end; i++)
			c = (c << 6) | (*p++ & 0x3f);
	}
	gc->ch = c;
	if (c == 0)
		gc->width = 0;
	return (p - start);
}

static void
history_apply_runs(const u_char *r, u_int nruns, struct cell *cells,
    u_int cols)
{
	u_int		 i, x, end;
	struct cell	 pen;

	for (i = 0; i < nruns; i++, r += HISTORY_RUN) {
		x = history_get16(r);
		end = x + history_get16(r + 2);
		memcpy(&pen.fg, r + 4, 4);
		memcpy(&pen.bg, r + 8, 4);
		memcpy(&pen.attr, r + 12, 2);
		for (; x < end && x < cols; x++) {
			cells[x].fg = pen.fg;
			cells[x].bg = pen.bg;
			cells[x].attr = pen.attr;
		}
	}
}

/* Decode a blob into cols cells, blank-padded. */
static void
history_decode(const u_char *line, struct cell *cells, u_int cols,
    int *wrapped)
{
	u_int		 n = history_get16(line), x;
	const u_char	*runs = line + HISTORY_HDR, *p, *end;

	p = runs + history_get16(line + 2) * HISTORY_RUN;
	end = p + history_get16(line + 4);
	memset(cells, 0, cols * sizeof *cells);
	for (x = 0; x < n && x < cols && p < end; x++) {
		p += history_get_text(p, end, &cells[x]);
		if (cells[x].width != 2)
			continue;
		if (x + 1 >= cols)
			memset(&cells[x], 0, sizeof cells[x]);
		x++;
	}
	history_apply_runs(runs, history_get16(line + 2), cells, cols);
	if (wrapped != NULL)
		*wrapped = (line[6] & HISTORY_WRAPPED) != 0;
}

/* Take back the newest line (a resize that adds rows). */
int
history_pop(struct history *h, struct cell *cells, u_int cols, int *wrapped)
{
	u_char	*line;

	if (h->size == 0)
		return (0);
	line = history_at(h, h->size - 1);
	history_decode(line, cells, cols, wrapped);
	history_account(h, history_line_size(line), 0);
	free(line);
	h->size--;
	h->pushed--;
	return (1);
}

void
history_get(struct history *h, u_int n, struct cell *cells, u_int cols,
    int *wrapped)
{
	if (n >= h->size) {
		memset(cells, 0, cols * sizeof *cells);
		if (wrapped != NULL)
			*wrapped = 0;
		return;
	}
	history_decode(history_at(h, n), cells, cols, wrapped);
}

/* Cells used by line n: at least as wide as its content when pushed. */
u_int
history_width(struct history *h, u_int n)
{
	if (n >= h->size)
		return (0);
	return (history_get16(history_at(h, n)));
}

u_int
history_size(struct history *h)
{
	return (h->size);
}

size_t
history_bytes(struct history *h)
{
	return (h->bytes);
}

void
history_set_limit(struct history *h, u_int limit)
{
	while (h->size > limit)
		history_drop_oldest(h);
	h->limit = limit;
	if (h->cap > limit)
		history_rebuild(h, limit);
}

void
history_clear(struct history *h)
{
	while (h->size > 0)
		history_drop_oldest(h);
	h->head = 0;
}

uint64_t
history_pushed(struct history *h)
{
	return (h->pushed);
}

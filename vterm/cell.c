/*
 * vterm/cell.c: what a cell holds.  The process-wide table of combined
 * characters (a base plus combining marks, deduplicated, never freed), cell
 * text as code points or UTF-8, widths for composed text, and the SGR
 * sequence for a cell's pen.  Grids and rendering live elsewhere.
 */
#include <stdlib.h>
#include <string.h>

#include "vterm-int.h"

#define CELL_COMBINE_MAXCHARS	7
#define CELL_COMBINE_MAX	(1U << 20)	/* then keep the base only */

/* One combined sequence: where it starts in the pool and how long it is. */
struct cell_combined {
	uint32_t	 off;
	uint32_t	 n;
};

static struct cell_combined	*cell_combined;	/* index -> sequence */
static u_int			 cell_ncombined;
static uint32_t			*cell_pool;
static size_t			 cell_pool_len, cell_pool_size;
static uint32_t			*cell_hash;	/* slots: index + 1, 0 empty */
static u_int			 cell_hash_size;

/* Wide (two column) ranges: East Asian Wide and Fullwidth, emoji. */
static const uint32_t cell_wide[][2] = {
	{ 0x1100, 0x115f }, { 0x231a, 0x231b }, { 0x2329, 0x232a },
	{ 0x23e9, 0x23ec }, { 0x23f0, 0x23f0 }, { 0x23f3, 0x23f3 },
	{ 0x25fd, 0x25fe }, { 0x2614, 0x2615 }, { 0x2648, 0x2653 },
	{ 0x267f, 0x267f }, { 0x2693, 0x2693 }, { 0x26a1, 0x26a1 },
	{ 0x26aa, 0x26ab }, { 0x26bd, 0x26be }, { 0x26c4, 0x26c5 },
	{ 0x26ce, 0x26ce }, { 0x26d4, 0x26d4 }, { 0x26ea, 0x26ea },
	{ 0x26f2, 0x26f3 }, { 0x26f5, 0x26f5 }, { 0x26fa, 0x26fa },
	{ 0x26fd, 0x26fd }, { 0x2705, 0x2705 }, { 0x270a, 0x270b },
	{ 0x2728, 0x2728 }, { 0x274c, 0x274c }, { 0x274e, 0x274e },
	{ 0x2753, 0x2755 }, { 0x2757, 0x2757 }, { 0x2795, 0x2797 },
	{ 0x27b0, 0x27b0 }, { 0x27bf, 0x27bf }, { 0x2b1b, 0x2b1c },
	{ 0x2b50, 0x2b50 }, { 0x2b55, 0x2b55 }, { 0x2e80, 0x303e },
	{ 0x3041, 0x33ff }, { 0x3400, 0x4dbf }, { 0x4e00, 0x9fff },
	{ 0xa000, 0xa4cf }, { 0xa960, 0xa97f }, { 0xac00, 0xd7a3 },
	{ 0xf900, 0xfaff }, { 0xfe10, 0xfe19 }, { 0xfe30, 0xfe6f },
	{ 0xff00, 0xff60 }, { 0xffe0, 0xffe6 }, { 0x16fe0, 0x16fe4 },
	{ 0x17000, 0x18cff }, { 0x1b000, 0x1b2ff }, { 0x1f004, 0x1f004 },
	{ 0x1f0cf, 0x1f0cf }, { 0x1f18e, 0x1f18e }, { 0x1f191, 0x1f19a },
	{ 0x1f200, 0x1f251 }, { 0x1f300, 0x1f64f }, { 0x1f680, 0x1f6ff },
	{ 0x1f7e0, 0x1f7eb }, { 0x1f90c, 0x1f9ff }, { 0x1fa70, 0x1faff },
	{ 0x20000, 0x2fffd }, { 0x30000, 0x3fffd }
};

/* Zero-width ranges: combining marks, joiners, variation selectors. */
static const uint32_t cell_zero[][2] = {
	{ 0x0300, 0x036f }, { 0x0483, 0x0489 }, { 0x0591, 0x05bd },
	{ 0x05bf, 0x05bf }, { 0x05c1, 0x05c2 }, { 0x05c4, 0x05c5 },
	{ 0x05c7, 0x05c7 }, { 0x0610, 0x061a }, { 0x064b, 0x065f },
	{ 0x0670, 0x0670 }, { 0x06d6, 0x06dc }, { 0x06df, 0x06e4 },
	{ 0x0e31, 0x0e31 }, { 0x0e34, 0x0e3a }, { 0x0e47, 0x0e4e },
	{ 0x1ab0, 0x1aff }, { 0x1dc0, 0x1dff }, { 0x200b, 0x200f },
	{ 0x20d0, 0x20ff }, { 0x302a, 0x302d }, { 0x3099, 0x309a },
	{ 0xfe00, 0xfe0f }, { 0xfe20, 0xfe2f }, { 0xe0100, 0xe01ef }
};

static int
cell_in_table(uint32_t c, const uint32_t (*t)[2], u_int n)
{
	u_int	 lo = 0, hi = n, mid;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (c < t[mid][0])
			hi = mid;
		else if (c > t[mid][1])
			lo = mid + 1;
		else
			return (1);
	}
	return (0);
}

/* Our own width table, so composed text does not depend on the locale. */
u_int
cell_width(uint32_t c)
{
	if (c < 0x300)
		return (1);
	if (cell_in_table(c, cell_zero, nitems(cell_zero)))
		return (0);
	if (c >= 0x1100 && cell_in_table(c, cell_wide, nitems(cell_wide)))
		return (2);
	return (1);
}

static uint32_t
cell_hash_of(const uint32_t *chars, int n)
{
	uint32_t	 h = 2166136261U;
	int		 i;

	for (i = 0; i < n; i++)
		h = (h ^ chars[i]) * 16777619U;
	return (h);
}

static int
cell_combined_equal(u_int idx, const uint32_t *chars, int n)
{
	const struct cell_combined	*cc = &cell_combined[idx];

	return (cc->n == (uint32_t)n &&
	    memcmp(cell_pool + cc->off, chars, n * sizeof *chars) == 0);
}

static void
cell_hash_grow(void)
{
	u_int		 i, size = cell_hash_size == 0 ? 256 : cell_hash_size * 2;
	uint32_t	 h, *hash = xcalloc(size, sizeof *hash);
	struct cell_combined *cc;

	for (i = 0; i < cell_ncombined; i++) {
		cc = &cell_combined[i];
		h = cell_hash_of(cell_pool + cc->off, cc->n) & (size - 1);
		while (hash[h] != 0)
			h = (h + 1) & (size - 1);
		hash[h] = i + 1;
	}
	free(cell_hash);
	cell_hash = hash;
	cell_hash_size = size;
}

static u_int
cell_combined_add(const uint32_t *chars, int n)
{
	struct cell_combined	*cc;
	u_int			 idx = cell_ncombined;

	if (cell_pool_len + n > cell_pool_size) {
		cell_pool_size = (cell_pool_size + n) * 2;
		cell_pool = xreallocarray(cell_pool, cell_pool_size,
		    sizeof *cell_pool);
	}
	memcpy(cell_pool + cell_pool_len, chars, n * sizeof *chars);
	if ((idx & (idx - 1)) == 0)	/* power of two: grow */
		cell_combined = xreallocarray(cell_combined,
		    idx == 0 ? 1 : idx * 2, sizeof *cell_combined);
	cc = &cell_combined[idx];
	cc->off = cell_pool_len;
	cc->n = n;
	cell_pool_len += n;
	cell_ncombined++;
	return (idx);
}

/* The ch value for a base character plus combining characters. */
uint32_t
cell_combine(const uint32_t *chars, int n)
{
	uint32_t	 h, idx;

	if (n > CELL_COMBINE_MAXCHARS)
		n = CELL_COMBINE_MAXCHARS;
	if (n <= 1)
		return (n == 1 ? chars[0] : 0);
	if ((cell_ncombined + 1) * 2 > cell_hash_size) {
		if (cell_ncombined >= CELL_COMBINE_MAX)
			return (chars[0]);
		cell_hash_grow();
	}
	h = cell_hash_of(chars, n) & (cell_hash_size - 1);
	while (cell_hash[h] != 0) {
		idx = cell_hash[h] - 1;
		if (cell_combined_equal(idx, chars, n))
			return (CELL_COMBINED | idx);
		h = (h + 1) & (cell_hash_size - 1);
	}
	idx = cell_combined_add(chars, n);
	cell_hash[h] = idx + 1;
	return (CELL_COMBINED | idx);
}

int
cell_chars(const struct cell *gc, uint32_t *out, int n)
{
	const struct cell_combined	*cc;
	u_int				 idx;

	if (gc->ch == 0 || n <= 0)
		return (0);
	if (~gc->ch & CELL_COMBINED) {
		out[0] = gc->ch;
		return (1);
	}
	idx = gc->ch & ~CELL_COMBINED;
	if (idx >= cell_ncombined)
		return (0);
	cc = &cell_combined[idx];
	if ((int)cc->n < n)
		n = cc->n;
	memcpy(out, cell_pool + cc->off, n * sizeof *out);
	return (n);
}

size_t
cell_utf8(const struct cell *gc, char *out)
{
	uint32_t	 chars[CELL_COMBINE_MAXCHARS];
	int		 i, n;
	size_t		 len = 0;

	if (gc->ch < 0x80) {
		out[0] = gc->ch;
		out[1] = '\0';
		return (gc->ch != 0);
	}
	n = cell_chars(gc, chars, CELL_COMBINE_MAXCHARS);
	for (i = 0; i < n; i++)
		len += utf8_encode(chars[i], out + len);
	out[len] = '\0';
	return (len);
}

void
cell_set_blank(struct cell *cells, u_int n, uint32_t bg)
{
	u_int	 i;

	memset(cells, 0, n * sizeof *cells);
	if (bg != COLOUR_DEFAULT) {
		for (i = 0; i < n; i++)
			cells[i].bg = bg;
	}
}

/* Decode one UTF-8 sequence; invalid bytes become U+FFFD. */
static const char *
cell_utf8_next(const char *s, uint32_t *cp)
{
	const u_char	*p = (const u_char *)s;
	u_int		 n, i;
	uint32_t	 c;

	if (p[0] < 0x80) {
		*cp = p[0];
		return (s + 1);
	}
	if (p[0] >= 0xf0 && p[0] < 0xf8)
		n = 3, c = p[0] & 0x07;
	else if (p[0] >= 0xe0)
		n = 2, c = p[0] & 0x0f;
	else if (p[0] >= 0xc0)
		n = 1, c = p[0] & 0x1f;
	else
		goto bad;
	if (p[0] >= 0xf8)
		goto bad;
	for (i = 1; i <= n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			goto bad;
		c = (c << 6) | (p[i] & 0x3f);
	}
	*cp = c;
	return (s + n + 1);
bad:
	*cp = 0xfffd;
	return (s + 1);
}

/* Add a zero-width character to the cell before x. */
static void
cell_put_combining(struct cell *cells, u_int x, uint32_t c)
{
	uint32_t	 chars[CELL_COMBINE_MAXCHARS];
	struct cell	*gc;
	int		 n;

	if (x == 0)
		return;
	gc = &cells[x - 1];
	if (gc->width == 0 && gc->ch == 0 && x >= 2 && cells[x - 2].width == 2)
		gc = &cells[x - 2];
	n = cell_chars(gc, chars, CELL_COMBINE_MAXCHARS - 1);
	if (n == 0)
		return;
	chars[n++] = c;
	gc->ch = cell_combine(chars, n);
}

/*
 * Put UTF-8 text into a row of cells from x, with widths from cell_width()
 * (our own table, not wcwidth(), so no locale is needed).  Control
 * characters are skipped; a wide character that does not fit stops.
 */
u_int
cell_put_text(struct cell *cells, u_int cols, u_int x, const char *s,
    uint32_t fg, uint32_t bg, uint16_t attr)
{
	struct cell	 gc = { 0, fg, bg, attr, 1, 0 };
	uint32_t	 c;
	u_int		 w;

	while (*s != '\0' && x < cols) {
		s = cell_utf8_next(s, &c);
		if (c < 0x20 || (c >= 0x7f && c < 0xa0))
			continue;
		if ((w = cell_width(c)) == 0) {
			cell_put_combining(cells, x, c);
			continue;
		}
		if (x + w > cols)
			break;
		gc.ch = c;
		gc.width = w;
		cells[x] = gc;
		if (w == 2) {
			cells[x + 1] = gc;
			cells[x + 1].ch = 0;
			cells[x + 1].width = 0;
		}
		x += w;
	}
	return (x);
}

/* Append one SGR number. */
static char *
cell_sgr_num(char *p, u_int n)
{
	char	 tmp[12];
	int	 i = 0;

	*p++ = ';';
	do
		tmp[i++] = '0' + n % 10;
	while ((n /= 10) != 0);
	while (i > 0)
		*p++ = tmp[--i];
	return (p);
}

static char *
cell_sgr_colour(char *p, uint32_t c, u_int base)
{
	u_int	 n = c & 0xff;

	if (COLOUR_IS_INDEX(c)) {
		if (n < 8)
			return (cell_sgr_num(p, base + n));
		if (n < 16)
			return (cell_sgr_num(p, base + 60 + n - 8));
		p = cell_sgr_num(p, base + 8);
		p = cell_sgr_num(p, 5);
		return (cell_sgr_num(p, n));
	}
	if (COLOUR_IS_RGB(c)) {
		p = cell_sgr_num(p, base + 8);
		p = cell_sgr_num(p, 2);
		p = cell_sgr_num(p, (c >> 16) & 0xff);
		p = cell_sgr_num(p, (c >> 8) & 0xff);
		return (cell_sgr_num(p, c & 0xff));
	}
	return (p);
}

static const struct {
	uint16_t	 attr;
	const char	*sgr;
} cell_sgr_attrs[] = {
	{ ATTR_BOLD, ";1" },
	{ ATTR_DIM, ";2" },
	{ ATTR_ITALIC, ";3" },
	{ ATTR_UNDERLINE, ";4" },
	{ ATTR_UNDERLINE2, ";21" },
	{ ATTR_UNDERCURL, ";4:3" },
	{ ATTR_BLINK, ";5" },
	{ ATTR_REVERSE, ";7" },
	{ ATTR_CONCEAL, ";8" },
	{ ATTR_STRIKE, ";9" }
};

/* A full SGR for a cell's pen: reset, then every attribute and colour. */
void
cell_sgr(struct buf *b, const struct cell *gc)
{
	char	 s[128], *p = s;
	u_int	 i;

	*p++ = '\033';
	*p++ = '[';
	*p++ = '0';
	for (i = 0; i < nitems(cell_sgr_attrs); i++) {
		if (gc->attr & cell_sgr_attrs[i].attr) {
			memcpy(p, cell_sgr_attrs[i].sgr,
			    strlen(cell_sgr_attrs[i].sgr));
			p += strlen(cell_sgr_attrs[i].sgr);
		}
	}
	p = cell_sgr_colour(p, gc->fg, 30);
	p = cell_sgr_colour(p, gc->bg, 40);
	*p++ = 'm';
	buf_add(b, s, p - s);
}

/*
 * regress/test-vterm-render.c: what the renderer sends, fed into a fresh
 * screen, must rebuild the same cells, cursor and modes; a diff applied to a
 * replica that saw the earlier frames must too; an unchanged screen sends
 * (almost) nothing.  Random screens come from a fixed seed.
 */
#include <string.h>

#include "vterm/vterm.h"
#include "regress/tap.h"

static uint32_t	 t_seed = 12345;

static u_int
t_rand(u_int n)
{
	t_seed = t_seed * 1103515245 + 12345;
	return ((t_seed >> 8) % n);
}

static void
t_feed(struct screen *s, const char *str)
{
	screen_write(s, str, strlen(str));
}

static const char *t_words[] = {
	"hello", "world", " ", "  ", "\xe4\xb8\xad\xe6\x96\x87", "e\xcc\x81",
	"\xc3\xa9t\xc3\xa9", "x", "\xe2\x94\x80\xe2\x94\x80", "12345678",
	"\xf0\x9f\x98\x80", "a\xcc\x81\xcc\x82", "\t", "\xef\xbc\xa1"
};

static void
t_random_sgr(struct buf *b)
{
	switch (t_rand(9)) {
	case 0:
		buf_printf(b, "\033[%um", 30 + t_rand(8));
		break;
	case 1:
		buf_printf(b, "\033[%um", 100 + t_rand(8));
		break;
	case 2:
		buf_printf(b, "\033[38;5;%um", t_rand(256));
		break;
	case 3:
		buf_printf(b, "\033[48;2;%u;%u;%um", t_rand(256), t_rand(256),
		    t_rand(256));
		break;
	case 4:
		buf_printf(b, "\033[%um", "\001\003\004\005\007\011\025"[t_rand(7)]);
		break;
	case 5:
		buf_addstr(b, t_rand(2) ? "\033[21m" : "\033[4:3m");
		break;
	case 6:
		buf_printf(b, "\033[%um", 22 + t_rand(6));
		break;
	default:
		buf_addstr(b, "\033[0m");
		break;
	}
}

/* One random action an application might do. */
static void
t_random_action(struct buf *b, u_int cols, u_int rows)
{
	switch (t_rand(20)) {
	case 0: case 1: case 2: case 3: case 4: case 5:
		buf_addstr(b, t_words[t_rand(nitems(t_words))]);
		break;
	case 6: case 7:
		t_random_sgr(b);
		break;
	case 8:
		buf_printf(b, "\033[%u;%uH", 1 + t_rand(rows), 1 + t_rand(cols));
		break;
	case 9:
		buf_printf(b, "\033[%uK", t_rand(3));
		break;
	case 10:
		buf_printf(b, "\033[%uX", 1 + t_rand(5));
		break;
	case 11:
		buf_printf(b, "\033[%u%c", 1 + t_rand(3), "@PLM"[t_rand(4)]);
		break;
	case 12:
		buf_addstr(b, "\r\n");
		break;
	case 13:
		buf_printf(b, "\033[?25%c", t_rand(4) ? 'h' : 'l');
		break;
	case 14:
		buf_printf(b, "\033[%u q", t_rand(7));
		break;
	case 15:
		buf_printf(b, "\033[?%uh", t_rand(2) ? 1000 + t_rand(4) : 5);
		break;
	case 16:
		buf_printf(b, "\033[?%ul", t_rand(2) ? 1000 + t_rand(4) : 5);
		break;
	case 17:
		if (t_rand(4) == 0)
			buf_printf(b, "\033[%uJ", t_rand(3));
		break;
	case 18:
		buf_printf(b, "\033[%u;%ur\033[%uH\n\n", 1 + t_rand(rows / 2),
		    rows / 2 + 1 + t_rand(rows / 2), rows);
		buf_addstr(b, "\033[r");
		break;
	default:
		buf_printf(b, "\033[%uS", 1 + t_rand(2));
		break;
	}
}

static void
t_random_input(struct screen *s, u_int n)
{
	struct buf	 b;
	u_int		 i;

	buf_init(&b);
	for (i = 0; i < n; i++)
		t_random_action(&b, screen_cols(s), screen_rows(s));
	screen_write(s, b.data, b.len);
	buf_free(&b);
}

/* Every cell field, cursor, visibility and modes equal. */
static int
t_same(struct screen *a, struct screen *b, const char **why)
{
	const struct screen_modes *ma = screen_modes(a), *mb = screen_modes(b);
	u_int			 x, y, ax, ay, bx, by;

	for (y = 0; y < screen_rows(a); y++) {
		for (x = 0; x < screen_cols(a); x++) {
			const struct cell *ca = &screen_row(a, y)[x];
			const struct cell *cb = &screen_row(b, y)[x];

			if (ca->ch != cb->ch || ca->fg != cb->fg ||
			    ca->bg != cb->bg || ca->attr != cb->attr ||
			    ca->width != cb->width) {
				TAP_DIAG("cell %u,%u: %x/%x fg %x/%x bg %x/%x "
				    "attr %x/%x w %u/%u", x, y, ca->ch, cb->ch,
				    ca->fg, cb->fg, ca->bg, cb->bg, ca->attr,
				    cb->attr, ca->width, cb->width);
				*why = "cell";
				return (0);
			}
		}
	}
	screen_cursor(a, &ax, &ay);
	screen_cursor(b, &bx, &by);
	*why = "cursor";
	if (ma->cursor_visible != mb->cursor_visible ||
	    (ma->cursor_visible && (ax != bx || ay != by)))
		TAP_DIAG("cursor %u,%u/%u,%u visible %d/%d", ax, ay, bx, by,
		    ma->cursor_visible, mb->cursor_visible);
	if (ma->cursor_visible != mb->cursor_visible)
		return (0);
	if (ma->cursor_visible && (ax != bx || ay != by))
		return (0);
	*why = "modes";
	return (ma->cursor_shape == mb->cursor_shape &&
	    ma->cursor_blink == mb->cursor_blink && ma->mouse == mb->mouse &&
	    ma->reverse == mb->reverse);
}

/* Render s into r (a frame of s's size) and return the bytes. */
static size_t
t_frame(struct render *r, struct screen *s, struct buf *out)
{
	u_int	 cx, cy;

	buf_reset(out);
	render_begin(r, screen_cols(s), screen_rows(s), out);
	render_screen(r, s, 0);
	screen_cursor(s, &cx, &cy);
	return (render_end(r, cx, cy, screen_modes(s)));
}

static void
test_full_round_trip(void)
{
	struct screen	*s, *replica;
	struct render	*r = render_new();
	struct buf	 out;
	const char	*why = "";
	int		 i, ok = 1;
	u_int		 cols, rows;

	buf_init(&out);
	for (i = 0; i < 40 && ok; i++) {
		cols = 5 + t_rand(60);
		rows = 2 + t_rand(20);
		s = screen_new(cols, rows, 50, NULL, NULL, NULL);
		t_random_input(s, 50 + t_rand(400));
		render_invalidate(r);
		t_frame(r, s, &out);
		replica = screen_new(cols, rows, 0, NULL, NULL, NULL);
		screen_write(replica, out.data, out.len);
		if (!t_same(s, replica, &why)) {
			TAP_DIAG("screen %d (%ux%u) differs: %s", i, cols, rows,
			    why);
			ok = 0;
		}
		screen_free(replica);
		screen_free(s);
	}
	TAP_OK(ok, "full_frame_rebuilds_screen_exactly");
	render_free(r);
	buf_free(&out);
}

static void
test_diff_round_trip(void)
{
	struct screen	*s, *replica;
	struct render	*r = render_new();
	struct buf	 out;
	const char	*why = "";
	int		 i, ok = 1;
	size_t		 diff = 0, full;

	buf_init(&out);
	s = screen_new(50, 15, 50, NULL, NULL, NULL);
	replica = screen_new(50, 15, 0, NULL, NULL, NULL);
	t_random_input(s, 300);
	full = t_frame(r, s, &out);
	screen_write(replica, out.data, out.len);
	for (i = 0; i < 500 && ok; i++) {
		t_random_input(s, 1 + t_rand(30));
		diff += t_frame(r, s, &out);
		screen_write(replica, out.data, out.len);
		if (!t_same(s, replica, &why)) {
			TAP_DIAG("round %d differs: %s", i, why);
			ok = 0;
		}
	}
	TAP_OK(ok, "diff_frames_keep_replica_exact");
	TAP_DIAG("full frame %zu bytes, mean diff %zu bytes", full, diff / 500);
	t_frame(r, s, &out);
	TAP_OK(out.len == 0, "unchanged_screen_renders_nothing");
	t_feed(s, "\033[0m\033[H\033[2Jhello");
	t_frame(r, s, &out);
	screen_write(replica, out.data, out.len);
	t_feed(s, "\033[1;1Hq");
	t_frame(r, s, &out);
	TAP_OK(out.len > 0 && out.len < 32, "one_cell_change_renders_little");
	if (out.len >= 32)
		TAP_DIAG("%.*s", (int)out.len, out.data);
	screen_write(replica, out.data, out.len);
	TAP_OK(t_same(s, replica, &why), "one_cell_change_round_trip");
	screen_free(replica);
	screen_free(s);
	render_free(r);
	buf_free(&out);
}

static int
t_contains(struct buf *b, const char *want)
{
	return (memmem(b->data, b->len, want, strlen(want)) != NULL);
}

static void
test_modes(void)
{
	struct screen	*s = screen_new(20, 5, 0, NULL, NULL, NULL);
	struct render	*r = render_new();
	struct buf	 out;

	buf_init(&out);
	t_frame(r, s, &out);
	TAP_OK(t_contains(&out, "\033[H\033[2J") && t_contains(&out, "\033[?25h"),
	    "first_frame_clears_and_shows_cursor");
	t_feed(s, "\033[?1002h");
	t_frame(r, s, &out);
	TAP_OK(t_contains(&out, "\033[?1002h") && t_contains(&out, "\033[?1006h"),
	    "mouse_mode_sent_when_turned_on");
	t_feed(s, "\033[?1002l");
	t_frame(r, s, &out);
	TAP_OK(t_contains(&out, "\033[?1002l") && !t_contains(&out, "h\033"),
	    "mouse_mode_off_sent");
	t_feed(s, "\033[?25l");
	t_frame(r, s, &out);
	TAP_OK(t_contains(&out, "\033[?25l"), "cursor_hide_sent");
	t_feed(s, "\033[5 q\033[?5h");
	t_frame(r, s, &out);
	TAP_OK(t_contains(&out, "\033[5 q") && t_contains(&out, "\033[?5h"),
	    "cursor_shape_and_reverse_sent");
	t_feed(s, "\033[1;38;5;208;48;2;10;20;30mZ");
	t_frame(r, s, &out);
	TAP_OK(t_contains(&out, "\033[0;1;38;5;208;48;2;10;20;30mZ"),
	    "sgr_full_pen");
	render_begin(r, 30, 5, &out);
	render_screen(r, s, 0);
	render_end(r, 0, 0, screen_modes(s));
	TAP_OK(t_contains(&out, "\033[2J"), "size_change_redraws");
	render_free(r);
	buf_free(&out);
	screen_free(s);
}

static void
test_no_half_wide(void)
{
	struct screen	*s = screen_new(10, 2, 0, NULL, NULL, NULL);
	struct screen	*replica = screen_new(10, 2, 0, NULL, NULL, NULL);
	struct render	*r = render_new();
	struct buf	 out;
	const char	*why;

	buf_init(&out);
	t_feed(s, "\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad");
	t_frame(r, s, &out);
	screen_write(replica, out.data, out.len);
	t_feed(s, "\033[1;2Hab");
	t_frame(r, s, &out);
	screen_write(replica, out.data, out.len);
	TAP_OK(t_same(s, replica, &why), "overwrite_half_of_wide_round_trip");
	TAP_OK(!t_contains(&out, "\033[1;3H"), "never_starts_inside_wide_char");
	render_free(r);
	buf_free(&out);
	screen_free(s);
	screen_free(replica);
}

static void
test_history_render(void)
{
	struct screen	*s = screen_new(20, 2, 50, NULL, NULL, NULL);
	struct screen	*replica = screen_new(20, 5, 0, NULL, NULL, NULL);
	struct buf	 out;
	const struct cell *c;

	buf_init(&out);
	t_feed(s, "\033[31mred\033[0m plain\r\n\xe4\xb8\xad\r\nthird\r\n");
	render_history(s, 0, screen_history_size(s), &out);
	TAP_OK(screen_history_size(s) == 2 && t_contains(&out, "\033[0m\r\n"),
	    "history_lines_end_in_reset_crlf");
	screen_write(replica, out.data, out.len);
	c = screen_row(replica, 0);
	TAP_OK(c[0].ch == 'r' && c[0].fg == COLOUR_INDEX(1) && c[4].ch == 'p' &&
	    c[4].fg == 0 && screen_row(replica, 1)[0].ch == 0x4e2d,
	    "history_render_keeps_colours");
	buf_free(&out);
	screen_free(s);
	screen_free(replica);
}

static void
test_pane_offset(void)
{
	struct screen	*s = screen_new(10, 3, 0, NULL, NULL, NULL);
	struct screen	*replica = screen_new(20, 5, 0, NULL, NULL, NULL);
	struct render	*r = render_new();
	struct buf	 out;
	u_int		 x, y, ok = 1;

	buf_init(&out);
	t_feed(s, "\033[41mab\xe4\xb8\xad\033[K\r\n\033[0mline two!\r\nthree");
	render_begin(r, 20, 5, &out);
	render_screen(r, s, 1);
	render_end(r, 5, 3, screen_modes(s));
	screen_write(replica, out.data, out.len);
	for (y = 0; y < 3; y++) {
		for (x = 0; x < 10; x++)
			ok &= memcmp(&screen_row(s, y)[x],
			    &screen_row(replica, y + 1)[x], sizeof (struct cell)) == 0;
	}
	TAP_OK(ok && screen_row(replica, 0)[0].ch == 0 &&
	    screen_row(replica, 1)[12].ch == 0,
	    "pane_rendered_at_offset_into_wider_client");
	screen_cursor(replica, &x, &y);
	TAP_OK(x == 5 && y == 3, "render_end_places_cursor");
	render_free(r);
	buf_free(&out);
	screen_free(s);
	screen_free(replica);
}

static void
test_cells(void)
{
	struct cell	 row[10];
	u_int		 x;

	cell_set_blank(row, 10, COLOUR_INDEX(2));
	TAP_OK(row[0].ch == 0 && row[9].bg == COLOUR_INDEX(2),
	    "cell_set_blank_sets_background");
	x = cell_put_text(row, 10, 1, "a\xe4\xb8\xad" "e\xcc\x81", 0, 0,
	    ATTR_BOLD);
	TAP_OK(x == 5 && row[1].ch == 'a' && row[2].width == 2 &&
	    row[3].width == 0 && (row[4].ch & CELL_COMBINED) &&
	    row[4].attr == ATTR_BOLD, "cell_put_text_widths");
	x = cell_put_text(row, 10, 9, "\xe4\xb8\xad", 0, 0, 0);
	TAP_OK(x == 9, "cell_put_text_wide_does_not_overflow");
}

int
main(void)
{
	test_full_round_trip();
	test_diff_round_trip();
	test_modes();
	test_no_half_wide();
	test_history_render();
	test_pane_offset();
	test_cells();
	return (tap_done());
}

/*
 * regress/test-vterm-render.c: what the renderer sends, fed into a fresh
 * screen, must rebuild the same cells, cursor and modes; a diff applied to a
 * replica that saw the earlier frames must too; an unchanged screen sends
 * (almost) nothing.  Random screens come from a fixed seed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vterm/vterm.h"

#include <cmocka.h>

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

/*
 * Every cell field, cursor, visibility and modes equal.  what names the
 * comparison in the log when they are not.
 */
static void
t_assert_same(struct screen *a, struct screen *b, const char *what)
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
				print_message("# %s: cell %u,%u differs\n",
				    what, x, y);
			}
			assert_int_equal(cb->ch, ca->ch);
			assert_int_equal(cb->fg, ca->fg);
			assert_int_equal(cb->bg, ca->bg);
			assert_int_equal(cb->attr, ca->attr);
			assert_int_equal(cb->width, ca->width);
		}
	}
	screen_cursor(a, &ax, &ay);
	screen_cursor(b, &bx, &by);
	if (ma->cursor_visible != mb->cursor_visible ||
	    (ma->cursor_visible && (ax != bx || ay != by)))
		print_message("# %s: cursor %u,%u/%u,%u visible %d/%d\n", what,
		    ax, ay, bx, by, ma->cursor_visible, mb->cursor_visible);
	assert_int_equal(mb->cursor_visible, ma->cursor_visible);
	if (ma->cursor_visible) {
		assert_int_equal(bx, ax);
		assert_int_equal(by, ay);
	}
	if (ma->cursor_shape != mb->cursor_shape ||
	    ma->cursor_blink != mb->cursor_blink || ma->mouse != mb->mouse ||
	    ma->reverse != mb->reverse)
		print_message("# %s: modes differ\n", what);
	assert_int_equal(mb->cursor_shape, ma->cursor_shape);
	assert_int_equal(mb->cursor_blink, ma->cursor_blink);
	assert_int_equal(mb->mouse, ma->mouse);
	assert_int_equal(mb->reverse, ma->reverse);
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

/* The output with control bytes escaped, to explain a failure. */
static void
t_print_out(const struct buf *b)
{
	char	 line[8192];
	size_t	 i, n = 0;
	u_char	 c;

	for (i = 0; i < b->len && n + 5 < sizeof line; i++) {
		c = b->data[i];
		if (c < 0x20 || c == 0x7f || c == '\\')
			n += snprintf(line + n, sizeof line - n, "\\%03o", c);
		else
			line[n++] = c;
	}
	line[n] = '\0';
	print_message("# output (%zu bytes): %s\n", b->len, line);
}

static void
t_assert_contains(const struct buf *b, const char *want)
{
	const void	*p = memmem(b->data, b->len, want, strlen(want));

	if (p == NULL)
		t_print_out(b);
	assert_non_null(p);
}

static void
t_assert_lacks(const struct buf *b, const char *want)
{
	const void	*p = memmem(b->data, b->len, want, strlen(want));

	if (p != NULL)
		t_print_out(b);
	assert_null(p);
}

/* A source screen, a replica fed what the renderer sent, and the renderer. */
struct t_fx {
	struct screen	*s, *replica;
	struct render	*r;
	struct buf	 out;
	size_t		 full;	/* bytes in the first full frame */
};

static struct t_fx *
t_fx_new(void)
{
	struct t_fx	*fx = calloc(1, sizeof *fx);

	if (fx != NULL)
		buf_init(&fx->out);
	return (fx);
}

static int
t_fx_free(void **state)
{
	struct t_fx	*fx = *state;

	if (fx->s != NULL)
		screen_free(fx->s);
	if (fx->replica != NULL)
		screen_free(fx->replica);
	if (fx->r != NULL)
		render_free(fx->r);
	buf_free(&fx->out);
	free(fx);
	return (0);
}

/* Full frames: 40 random screens of random sizes, each into a fresh replica. */
static void
full_frame_rebuilds_screen_exactly(void **state __unused)
{
	struct screen	*s, *replica;
	struct render	*r = render_new();
	struct buf	 out;
	char		 what[64];
	int		 i;
	u_int		 cols, rows;

	t_seed = 12345;
	buf_init(&out);
	for (i = 0; i < 40; i++) {
		cols = 5 + t_rand(60);
		rows = 2 + t_rand(20);
		s = screen_new(cols, rows, 50, NULL, NULL, NULL);
		t_random_input(s, 50 + t_rand(400));
		render_invalidate(r);
		t_frame(r, s, &out);
		replica = screen_new(cols, rows, 0, NULL, NULL, NULL);
		screen_write(replica, out.data, out.len);
		snprintf(what, sizeof what, "screen %d (%ux%u)", i, cols, rows);
		t_assert_same(s, replica, what);
		screen_free(replica);
		screen_free(s);
	}
	render_free(r);
	buf_free(&out);
}

/* Diffs: a random 50x15 screen sent whole to the replica, then changed. */
static int
t_diff_setup(void **state)
{
	struct t_fx	*fx = t_fx_new();

	if (fx == NULL)
		return (-1);
	t_seed = 12345;
	fx->s = screen_new(50, 15, 50, NULL, NULL, NULL);
	fx->replica = screen_new(50, 15, 0, NULL, NULL, NULL);
	fx->r = render_new();
	t_random_input(fx->s, 300);
	fx->full = t_frame(fx->r, fx->s, &fx->out);
	screen_write(fx->replica, fx->out.data, fx->out.len);
	*state = fx;
	return (0);
}

/* 500 rounds of random input, each sent to the replica as a diff frame; the
 * replica must match after every round.  Returns the bytes sent. */
static size_t
t_diff_rounds(struct t_fx *fx)
{
	char	 what[32];
	size_t	 diff = 0;
	int	 i;

	for (i = 0; i < 500; i++) {
		t_random_input(fx->s, 1 + t_rand(30));
		diff += t_frame(fx->r, fx->s, &fx->out);
		screen_write(fx->replica, fx->out.data, fx->out.len);
		snprintf(what, sizeof what, "round %d", i);
		t_assert_same(fx->s, fx->replica, what);
	}
	return (diff);
}

static void
diff_frames_keep_replica_exact(void **state)
{
	struct t_fx	*fx = *state;
	size_t		 diff;

	diff = t_diff_rounds(fx);
	print_message("# full frame %zu bytes, mean diff %zu bytes\n",
	    fx->full, diff / 500);
}

static void
unchanged_screen_renders_nothing(void **state)
{
	struct t_fx	*fx = *state;

	t_diff_rounds(fx);
	t_frame(fx->r, fx->s, &fx->out);
	if (fx->out.len != 0)
		t_print_out(&fx->out);
	assert_int_equal(fx->out.len, 0);
}

/* After the rounds: clear to "hello", then change its first cell to "q". */
static void
t_one_cell_change(struct t_fx *fx)
{
	t_diff_rounds(fx);
	t_frame(fx->r, fx->s, &fx->out);
	screen_write(fx->s, "\033[0m\033[H\033[2Jhello", 15);
	t_frame(fx->r, fx->s, &fx->out);
	screen_write(fx->replica, fx->out.data, fx->out.len);
	screen_write(fx->s, "\033[1;1Hq", 7);
	t_frame(fx->r, fx->s, &fx->out);
}

static void
one_cell_change_renders_little(void **state)
{
	struct t_fx	*fx = *state;

	t_one_cell_change(fx);
	if (fx->out.len == 0 || fx->out.len >= 32)
		t_print_out(&fx->out);
	assert_in_range(fx->out.len, 1, 31);
}

static void
one_cell_change_round_trip(void **state)
{
	struct t_fx	*fx = *state;

	t_one_cell_change(fx);
	screen_write(fx->replica, fx->out.data, fx->out.len);
	t_assert_same(fx->s, fx->replica, "after one cell change");
}

/*
 * Modes: a blank 20x5 screen and its first frame.  Each test replays the
 * changes before its own, in this order, rendering a frame after each, so
 * out holds the frame for the last change.
 */
static const char *t_mode_changes[] = {
	"\033[?1002h",
	"\033[?1002l",
	"\033[?25l",
	"\033[5 q\033[?5h",
	"\033[1;38;5;208;48;2;10;20;30mZ"
};

static int
t_modes_setup(void **state)
{
	struct t_fx	*fx = t_fx_new();

	if (fx == NULL)
		return (-1);
	fx->s = screen_new(20, 5, 0, NULL, NULL, NULL);
	fx->r = render_new();
	t_frame(fx->r, fx->s, &fx->out);
	*state = fx;
	return (0);
}

static struct t_fx *
t_modes_through(void **state, const char *last)
{
	struct t_fx	*fx = *state;
	u_int		 i;

	for (i = 0; i < nitems(t_mode_changes); i++) {
		t_feed(fx->s, t_mode_changes[i]);
		t_frame(fx->r, fx->s, &fx->out);
		if (strcmp(t_mode_changes[i], last) == 0)
			break;
	}
	if (i == nitems(t_mode_changes))
		print_message("# %s is not in t_mode_changes\n", last);
	assert_int_not_equal(i, nitems(t_mode_changes));
	return (fx);
}

static void
first_frame_clears_and_shows_cursor(void **state)
{
	struct t_fx	*fx = *state;

	t_assert_contains(&fx->out, "\033[H\033[2J");
	t_assert_contains(&fx->out, "\033[?25h");
}

static void
mouse_mode_sent_when_turned_on(void **state)
{
	struct t_fx	*fx = t_modes_through(state, "\033[?1002h");

	t_assert_contains(&fx->out, "\033[?1002h");
	t_assert_contains(&fx->out, "\033[?1006h");
}

static void
mouse_mode_off_sent(void **state)
{
	struct t_fx	*fx = t_modes_through(state, "\033[?1002l");

	t_assert_contains(&fx->out, "\033[?1002l");
	t_assert_lacks(&fx->out, "h\033");
}

static void
cursor_hide_sent(void **state)
{
	struct t_fx	*fx = t_modes_through(state, "\033[?25l");

	t_assert_contains(&fx->out, "\033[?25l");
}

static void
cursor_shape_and_reverse_sent(void **state)
{
	struct t_fx	*fx = t_modes_through(state, "\033[5 q\033[?5h");

	t_assert_contains(&fx->out, "\033[5 q");
	t_assert_contains(&fx->out, "\033[?5h");
}

static void
sgr_full_pen(void **state)
{
	struct t_fx	*fx = t_modes_through(state,
			    "\033[1;38;5;208;48;2;10;20;30mZ");

	t_assert_contains(&fx->out, "\033[0;1;38;5;208;48;2;10;20;30mZ");
}

static void
size_change_redraws(void **state)
{
	struct t_fx	*fx = t_modes_through(state,
			    "\033[1;38;5;208;48;2;10;20;30mZ");

	render_begin(fx->r, 30, 5, &fx->out);
	render_screen(fx->r, fx->s, 0);
	render_end(fx->r, 0, 0, screen_modes(fx->s));
	t_assert_contains(&fx->out, "\033[2J");
}

/* Wide characters: three on 10 columns, then "ab" over the first's right
 * half and the second's left half, both frames sent to the replica. */
static int
t_half_wide_setup(void **state)
{
	struct t_fx	*fx = t_fx_new();

	if (fx == NULL)
		return (-1);
	fx->s = screen_new(10, 2, 0, NULL, NULL, NULL);
	fx->replica = screen_new(10, 2, 0, NULL, NULL, NULL);
	fx->r = render_new();
	t_feed(fx->s, "\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad");
	t_frame(fx->r, fx->s, &fx->out);
	screen_write(fx->replica, fx->out.data, fx->out.len);
	t_feed(fx->s, "\033[1;2Hab");
	t_frame(fx->r, fx->s, &fx->out);
	screen_write(fx->replica, fx->out.data, fx->out.len);
	*state = fx;
	return (0);
}

static void
overwrite_half_of_wide_round_trip(void **state)
{
	struct t_fx	*fx = *state;

	t_assert_same(fx->s, fx->replica, "after overwriting half");
}

static void
never_starts_inside_wide_char(void **state)
{
	struct t_fx	*fx = *state;

	t_assert_lacks(&fx->out, "\033[1;3H");
}

/* History: two lines (one red and plain, one wide) pushed from 20x2 and
 * rendered for a 20x5 replica. */
static int
t_history_setup(void **state)
{
	struct t_fx	*fx = t_fx_new();

	if (fx == NULL)
		return (-1);
	fx->s = screen_new(20, 2, 50, NULL, NULL, NULL);
	fx->replica = screen_new(20, 5, 0, NULL, NULL, NULL);
	t_feed(fx->s, "\033[31mred\033[0m plain\r\n\xe4\xb8\xad\r\nthird\r\n");
	render_history(fx->s, 0, screen_history_size(fx->s), &fx->out);
	*state = fx;
	return (0);
}

static void
history_lines_end_in_reset_crlf(void **state)
{
	struct t_fx	*fx = *state;

	assert_int_equal(screen_history_size(fx->s), 2);
	t_assert_contains(&fx->out, "\033[0m\r\n");
}

static void
history_render_keeps_colours(void **state)
{
	struct t_fx	*fx = *state;
	const struct cell *c;

	screen_write(fx->replica, fx->out.data, fx->out.len);
	c = screen_row(fx->replica, 0);
	assert_int_equal(c[0].ch, 'r');
	assert_int_equal(c[0].fg, COLOUR_INDEX(1));
	assert_int_equal(c[4].ch, 'p');
	assert_int_equal(c[4].fg, 0);
	assert_int_equal(screen_row(fx->replica, 1)[0].ch, 0x4e2d);
}

/* A 10x3 pane rendered at row 1 of a 20x5 client, cursor sent to 5,3. */
static int
t_offset_setup(void **state)
{
	struct t_fx	*fx = t_fx_new();

	if (fx == NULL)
		return (-1);
	fx->s = screen_new(10, 3, 0, NULL, NULL, NULL);
	fx->replica = screen_new(20, 5, 0, NULL, NULL, NULL);
	fx->r = render_new();
	t_feed(fx->s, "\033[41mab\xe4\xb8\xad\033[K\r\n\033[0mline two!\r\n"
	    "three");
	render_begin(fx->r, 20, 5, &fx->out);
	render_screen(fx->r, fx->s, 1);
	render_end(fx->r, 5, 3, screen_modes(fx->s));
	screen_write(fx->replica, fx->out.data, fx->out.len);
	*state = fx;
	return (0);
}

static void
pane_rendered_at_offset_into_wider_client(void **state)
{
	struct t_fx	*fx = *state;
	const struct cell *want, *got;
	u_int		 x, y;

	for (y = 0; y < 3; y++) {
		for (x = 0; x < 10; x++) {
			want = &screen_row(fx->s, y)[x];
			got = &screen_row(fx->replica, y + 1)[x];
			if (memcmp(got, want, sizeof *got) != 0)
				print_message("# pane cell %u,%u differs\n",
				    x, y);
			assert_memory_equal(got, want, sizeof *got);
		}
	}
	assert_int_equal(screen_row(fx->replica, 0)[0].ch, 0);
	assert_int_equal(screen_row(fx->replica, 1)[12].ch, 0);
}

static void
render_end_places_cursor(void **state)
{
	struct t_fx	*fx = *state;
	u_int		 x, y;

	screen_cursor(fx->replica, &x, &y);
	assert_int_equal(x, 5);
	assert_int_equal(y, 3);
}

/* Cells. */
static void
cell_set_blank_sets_background(void **state __unused)
{
	struct cell	 row[10];

	cell_set_blank(row, 10, COLOUR_INDEX(2));
	assert_int_equal(row[0].ch, 0);
	assert_int_equal(row[9].bg, COLOUR_INDEX(2));
}

static void
cell_put_text_widths(void **state __unused)
{
	struct cell	 row[10];
	u_int		 x;

	cell_set_blank(row, 10, COLOUR_INDEX(2));
	x = cell_put_text(row, 10, 1, "a\xe4\xb8\xad" "e\xcc\x81", 0, 0,
	    ATTR_BOLD);
	assert_int_equal(x, 5);
	assert_int_equal(row[1].ch, 'a');
	assert_int_equal(row[2].width, 2);
	assert_int_equal(row[3].width, 0);
	assert_true(row[4].ch & CELL_COMBINED);
	assert_int_equal(row[4].attr, ATTR_BOLD);
}

static void
cell_put_text_wide_does_not_overflow(void **state __unused)
{
	struct cell	 row[10];
	u_int		 x;

	cell_set_blank(row, 10, COLOUR_INDEX(2));
	cell_put_text(row, 10, 1, "a\xe4\xb8\xad" "e\xcc\x81", 0, 0,
	    ATTR_BOLD);
	x = cell_put_text(row, 10, 9, "\xe4\xb8\xad", 0, 0, 0);
	assert_int_equal(x, 9);
}

#define T_ON(setup, test) \
	cmocka_unit_test_setup_teardown(test, setup, t_fx_free)

int
main(void)
{
	const struct CMUnitTest vterm_render[] = {
		cmocka_unit_test(full_frame_rebuilds_screen_exactly),
		T_ON(t_diff_setup, diff_frames_keep_replica_exact),
		T_ON(t_diff_setup, unchanged_screen_renders_nothing),
		T_ON(t_diff_setup, one_cell_change_renders_little),
		T_ON(t_diff_setup, one_cell_change_round_trip),
		T_ON(t_modes_setup, first_frame_clears_and_shows_cursor),
		T_ON(t_modes_setup, mouse_mode_sent_when_turned_on),
		T_ON(t_modes_setup, mouse_mode_off_sent),
		T_ON(t_modes_setup, cursor_hide_sent),
		T_ON(t_modes_setup, cursor_shape_and_reverse_sent),
		T_ON(t_modes_setup, sgr_full_pen),
		T_ON(t_modes_setup, size_change_redraws),
		T_ON(t_half_wide_setup, overwrite_half_of_wide_round_trip),
		T_ON(t_half_wide_setup, never_starts_inside_wide_char),
		T_ON(t_history_setup, history_lines_end_in_reset_crlf),
		T_ON(t_history_setup, history_render_keeps_colours),
		T_ON(t_offset_setup, pane_rendered_at_offset_into_wider_client),
		T_ON(t_offset_setup, render_end_places_cursor),
		cmocka_unit_test(cell_set_blank_sets_background),
		cmocka_unit_test(cell_put_text_widths),
		cmocka_unit_test(cell_put_text_wide_does_not_overflow),
	};

	return (cmocka_run_group_tests(vterm_render, NULL, NULL));
}

/*
 * regress/test-vterm-screen.c: the screen model fed through libvterm's state
 * layer: text, cursor, erase, colours, wide and combining characters, the
 * alternate screen, resize, and input encoded for the application's modes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include "vterm/vterm.h"

#include <cmocka.h>

static struct buf	 t_out;		/* bytes for the application */
static char		 t_clip[256];
static int		 t_titles, t_bells;

static void
t_output(const char *data, size_t len, void *arg __unused)
{
	buf_add(&t_out, data, len);
}

static void
t_clipboard(const char *s, void *arg __unused)
{
	snprintf(t_clip, sizeof t_clip, "%s", s);
}

static void
t_title(void *arg __unused)
{
	t_titles++;
}

static void
t_bell(void *arg __unused)
{
	t_bells++;
}

static const struct screen_cb t_cb = { t_output, t_clipboard, t_bell, t_title };

/* A new screen; what earlier screens sent or rang is forgotten. */
static struct screen *
t_new(u_int cols, u_int rows)
{
	buf_reset(&t_out);
	t_clip[0] = '\0';
	t_titles = t_bells = 0;
	return (screen_new(cols, rows, 100, NULL, &t_cb, NULL));
}

static void
t_feed(struct screen *s, const char *str)
{
	screen_write(s, str, strlen(str));
}

/* A new screen with str already fed. */
static struct screen *
t_new_fed(u_int cols, u_int rows, const char *str)
{
	struct screen	*s = t_new(cols, rows);

	t_feed(s, str);
	return (s);
}

/* Row y as text: blanks as spaces, trailing blanks dropped. */
static const char *
t_row(struct screen *s, u_int y)
{
	static char	 line[4096];
	const struct cell *cells = screen_row(s, y);
	u_int		 x, cols = screen_cols(s);
	size_t		 len = 0, keep = 0;
	char		 u[32];

	for (x = 0; x < cols; x++) {
		if (x > 0 && cells[x - 1].width == 2)
			continue;
		if (cell_utf8(&cells[x], u) == 0)
			strcpy(u, " ");
		memcpy(line + len, u, strlen(u));
		len += strlen(u);
		if (cells[x].ch != 0 && cells[x].ch != ' ')
			keep = len;
	}
	line[keep] = '\0';
	return (line);
}

/* The bytes sent to the application since the last check are exactly want. */
static void
t_assert_out(const char *want)
{
	char	 got[256];
	size_t	 len = t_out.len;

	snprintf(got, sizeof got, "%.*s", (int)len, len ? t_out.data : "");
	buf_reset(&t_out);
	assert_string_equal(got, want);
	assert_int_equal(len, strlen(want));
}

static void
t_cursor_is(struct screen *s, u_int want_x, u_int want_y)
{
	u_int	 x, y;

	screen_cursor(s, &x, &y);
	assert_int_equal(x, want_x);
	assert_int_equal(y, want_y);
}

static int
t_group_setup(void **state __unused)
{
	buf_init(&t_out);
	return (0);
}

static int
t_group_teardown(void **state __unused)
{
	buf_free(&t_out);
	return (0);
}

/* Fixture: the screen in *state is freed after the test, pass or fail. */
static int
t_free_screen(void **state)
{
	screen_free(*state);
	return (0);
}

/* Text and cursor: "hello" CR LF "world" on a 20x5 screen. */
static int
t_hello_world(void **state)
{
	*state = t_new_fed(20, 5, "hello\r\nworld");
	return (0);
}

static void
text_lands_on_row_0(void **state)
{
	assert_string_equal(t_row(*state, 0), "hello");
}

static void
crlf_moves_to_row_1(void **state)
{
	assert_string_equal(t_row(*state, 1), "world");
}

static void
cursor_follows_text(void **state)
{
	t_cursor_is(*state, 5, 1);
}

static void
cup_positions_text_and_cursor(void **state)
{
	struct screen	*s = *state;

	t_feed(s, "\033[3;7HX");
	assert_int_equal(screen_row(s, 2)[6].ch, 'X');
	t_cursor_is(s, 7, 2);
}

static void
el_erases_to_end_of_line(void **state)
{
	struct screen	*s = *state;

	t_feed(s, "\033[3;7HX\033[1;3H\033[K");
	assert_string_equal(t_row(s, 0), "he");
}

static void
ed2_clears_screen(void **state)
{
	struct screen	*s = *state;
	u_int		 y;

	t_feed(s, "\033[3;7HX\033[2J");
	for (y = 0; y < screen_rows(s); y++)
		assert_string_equal(t_row(s, y), "");
}

/* Background colour erase. */
static void
erase_uses_pen_background(void **state __unused)
{
	struct screen	*s;
	const struct cell *c;

	s = t_new_fed(10, 3, "abcdef\033[44m\033[1;3H\033[K");
	c = screen_row(s, 0);
	assert_int_equal(c[1].ch, 'b');
	assert_int_equal(c[1].bg, COLOUR_DEFAULT);
	assert_int_equal(c[2].ch, 0);
	assert_int_equal(c[2].bg, COLOUR_INDEX(4));
	assert_int_equal(c[9].bg, COLOUR_INDEX(4));
	screen_free(s);
}

static void
ech_blanks_keep_only_background(void **state __unused)
{
	struct screen	*s;
	const struct cell *c;

	s = t_new_fed(10, 3, "abcdef\033[44m\033[1;3H\033[K"
	    "\033[1;7m\033[2;1H\033[2X");
	c = screen_row(s, 1);
	assert_int_equal(c[0].ch, 0);
	assert_int_equal(c[0].attr, 0);
	assert_int_equal(c[0].fg, 0);
	assert_int_equal(c[0].bg, COLOUR_INDEX(4));
	assert_int_equal(c[2].bg, COLOUR_DEFAULT);
	screen_free(s);
}

/* Colours and attributes: one cell per SGR sequence on row 0. */
static int
t_sgr_row(void **state)
{
	*state = t_new_fed(20, 3,
	    "\033[31ma\033[38;5;208mb\033[38;2;1;2;3mc\033[0;48;5;17md"
	    "\033[0;1;3;4;5;7;9me\033[0;21mf\033[0;4:3mg\033[0;94;101mh"
	    "\033[0m");
	return (0);
}

static void
sgr_31_is_index_1(void **state)
{
	assert_int_equal(screen_row(*state, 0)[0].fg, COLOUR_INDEX(1));
}

static void
sgr_256_colour(void **state)
{
	assert_int_equal(screen_row(*state, 0)[1].fg, COLOUR_INDEX(208));
}

static void
sgr_truecolour(void **state)
{
	assert_int_equal(screen_row(*state, 0)[2].fg, COLOUR_RGB(1, 2, 3));
}

static void
sgr_256_background(void **state)
{
	const struct cell *c = &screen_row(*state, 0)[3];

	assert_int_equal(c->bg, COLOUR_INDEX(17));
	assert_int_equal(c->fg, COLOUR_DEFAULT);
}

static void
sgr_attributes(void **state)
{
	assert_int_equal(screen_row(*state, 0)[4].attr, ATTR_BOLD|ATTR_ITALIC|
	    ATTR_UNDERLINE|ATTR_BLINK|ATTR_REVERSE|ATTR_STRIKE);
}

static void
sgr_21_double_underline(void **state)
{
	assert_int_equal(screen_row(*state, 0)[5].attr, ATTR_UNDERLINE2);
}

static void
sgr_4_3_curly_underline(void **state)
{
	assert_int_equal(screen_row(*state, 0)[6].attr, ATTR_UNDERCURL);
}

static void
sgr_bright_colours(void **state)
{
	const struct cell *c = &screen_row(*state, 0)[7];

	assert_int_equal(c->fg, COLOUR_INDEX(12));
	assert_int_equal(c->bg, COLOUR_INDEX(9));
}

static void
sgr_0_resets(void **state)
{
	const struct cell *c = &screen_row(*state, 0)[8];

	assert_int_equal(c->fg, 0);
	assert_int_equal(c->bg, 0);
	assert_int_equal(c->attr, 0);
}

/* Wide and combining characters. */
static void
wide_char_takes_two_cells(void **state __unused)
{
	struct screen	*s = t_new_fed(10, 3, "a\xe4\xb8\xad" "b");
	const struct cell *c = screen_row(s, 0);

	assert_int_equal(c[1].ch, 0x4e2d);
	assert_int_equal(c[1].width, 2);
	assert_int_equal(c[2].width, 0);
	assert_int_equal(c[2].ch, 0);
	assert_int_equal(c[3].ch, 'b');
	t_cursor_is(s, 4, 0);
	screen_free(s);
}

static void
combining_char_joins_previous_cell(void **state __unused)
{
	struct screen	*s;
	const struct cell *c;
	uint32_t	 chars[8];

	s = t_new_fed(10, 3, "a\xe4\xb8\xad" "b\r\ne\xcc\x81x");
	c = screen_row(s, 1);
	assert_true(c[0].ch & CELL_COMBINED);
	assert_int_equal(cell_chars(&c[0], chars, 8), 2);
	assert_int_equal(chars[0], 'e');
	assert_int_equal(chars[1], 0x301);
	assert_int_equal(c[1].ch, 'x');
	screen_free(s);
}

static void
combined_cell_utf8(void **state __unused)
{
	struct screen	*s;
	char		 u[32];

	s = t_new_fed(10, 3, "a\xe4\xb8\xad" "b\r\ne\xcc\x81x");
	cell_utf8(&screen_row(s, 1)[0], u);
	assert_string_equal(u, "e\xcc\x81");
	screen_free(s);
}

static void
different_combined_differ(void **state __unused)
{
	struct screen	*s;

	s = t_new_fed(10, 3, "a\xe4\xb8\xad" "b\r\ne\xcc\x81x"
	    "\r\nu\xcc\x81");
	assert_int_not_equal(screen_row(s, 2)[0].ch, screen_row(s, 1)[0].ch);
	screen_free(s);
}

static void
same_combined_sequence_deduplicated(void **state __unused)
{
	struct screen	*s;

	s = t_new_fed(10, 3, "a\xe4\xb8\xad" "b\r\ne\xcc\x81x"
	    "\r\nu\xcc\x81\033[3;1He\xcc\x81");
	assert_int_equal(screen_row(s, 2)[0].ch, screen_row(s, 1)[0].ch);
	screen_free(s);
}

static void
overwriting_right_half_breaks_wide_char(void **state __unused)
{
	struct screen	*s;
	const struct cell *c;

	s = t_new_fed(10, 3, "a\xe4\xb8\xad" "b\033[1;3HZ");
	c = screen_row(s, 0);
	assert_int_equal(c[1].ch, 0);
	assert_int_equal(c[1].width, 0);
	assert_int_equal(c[2].ch, 'Z');
	screen_free(s);
}

/* The wrapped flag. */
static void
autowrap_marks_row_wrapped(void **state __unused)
{
	struct screen	*s = t_new_fed(5, 4, "abcdefg\r\nxy");

	assert_true(screen_row_wrapped(s, 0));
	assert_false(screen_row_wrapped(s, 1));
	screen_free(s);
}

static void
full_row_then_crlf_not_wrapped(void **state __unused)
{
	struct screen	*s;

	s = t_new_fed(5, 4, "abcdefg\r\nxy\033[3;1Habcde\r\nz");
	assert_false(screen_row_wrapped(s, 2));
	screen_free(s);
}

/* Scroll regions and the alternate screen. */
#define T_FOUR_LINES_REGION "1\r\n2\r\n3\r\n4\033[2;3r\033[3;1H\n\n"

static void
scroll_region_scrolls_inside_only(void **state __unused)
{
	struct screen	*s = t_new_fed(10, 4, T_FOUR_LINES_REGION);

	assert_string_equal(t_row(s, 0), "1");
	assert_string_equal(t_row(s, 1), "");
	assert_string_equal(t_row(s, 2), "");
	assert_string_equal(t_row(s, 3), "4");
	screen_free(s);
}

static void
partial_scroll_region_adds_no_history(void **state __unused)
{
	struct screen	*s = t_new_fed(10, 4, T_FOUR_LINES_REGION);

	assert_int_equal(screen_history_size(s), 0);
	screen_free(s);
}

static void
altscreen_starts_blank(void **state __unused)
{
	struct screen	*s;

	s = t_new_fed(10, 4, T_FOUR_LINES_REGION
	    "\033[r\033[?1049h");
	assert_true(screen_modes(s)->altscreen);
	assert_string_equal(t_row(s, 0), "");
	assert_string_equal(t_row(s, 3), "");
	screen_free(s);
}

static void
altscreen_scroll_adds_no_history(void **state __unused)
{
	struct screen	*s;

	s = t_new_fed(10, 4, T_FOUR_LINES_REGION
	    "\033[r\033[?1049halt\r\n\n\n\n\n\n\n");
	assert_int_equal(screen_history_size(s), 0);
	screen_free(s);
}

static void
altscreen_exit_restores_main(void **state __unused)
{
	struct screen	*s;

	s = t_new_fed(10, 4, T_FOUR_LINES_REGION
	    "\033[r\033[?1049halt\r\n\n\n\n\n\n\n\033[?1049l");
	assert_false(screen_modes(s)->altscreen);
	assert_string_equal(t_row(s, 0), "1");
	assert_string_equal(t_row(s, 3), "4");
	screen_free(s);
}

/* Inserting and deleting characters and lines. */
static void
ich_shifts_right(void **state __unused)
{
	struct screen	*s = t_new_fed(10, 4, "abcdef\033[1;2H\033[2@");

	assert_string_equal(t_row(s, 0), "a  bcdef");
	screen_free(s);
}

static void
dch_shifts_left(void **state __unused)
{
	struct screen	*s;

	s = t_new_fed(10, 4, "abcdef\033[1;2H\033[2@\033[3P");
	assert_string_equal(t_row(s, 0), "acdef");
	screen_free(s);
}

static void
il_inserts_line(void **state __unused)
{
	struct screen	*s;

	s = t_new_fed(10, 4, "abcdef\033[1;2H\033[2@\033[3P"
	    "\r\nl2\r\nl3\033[2;1H\033[L");
	assert_string_equal(t_row(s, 1), "");
	assert_string_equal(t_row(s, 2), "l2");
	assert_string_equal(t_row(s, 3), "l3");
	screen_free(s);
}

static void
dl_deletes_line(void **state __unused)
{
	struct screen	*s;

	s = t_new_fed(10, 4, "abcdef\033[1;2H\033[2@\033[3P"
	    "\r\nl2\r\nl3\033[2;1H\033[L\033[M");
	assert_string_equal(t_row(s, 1), "l2");
	screen_free(s);
}

/* Generation counters, which the renderer uses to skip unchanged rows. */
static void
row_gen_changes_only_for_changed_row(void **state __unused)
{
	struct screen	*s = t_new(10, 4);
	uint64_t	 g0 = screen_row_gen(s, 0), g1 = screen_row_gen(s, 1);

	t_feed(s, "x");
	assert_int_not_equal(screen_row_gen(s, 0), g0);
	assert_int_equal(screen_row_gen(s, 1), g1);
	screen_free(s);
}

static void
screen_gen_changes_with_text(void **state __unused)
{
	struct screen	*s = t_new(10, 4);
	uint64_t	 sg = screen_gen(s);

	t_feed(s, "x");
	assert_int_not_equal(screen_gen(s), sg);
	screen_free(s);
}

static void
screen_gen_changes_with_cursor(void **state __unused)
{
	struct screen	*s = t_new_fed(10, 4, "x");
	uint64_t	 sg = screen_gen(s);

	t_feed(s, "\033[3;3H");
	assert_int_not_equal(screen_gen(s), sg);
	screen_free(s);
}

static void
screen_gen_changes_with_modes(void **state __unused)
{
	struct screen	*s = t_new_fed(10, 4, "x\033[3;3H");
	uint64_t	 sg = screen_gen(s);

	t_feed(s, "\033[?25l");
	assert_int_not_equal(screen_gen(s), sg);
	assert_false(screen_modes(s)->cursor_visible);
	screen_free(s);
}

/* Resize: lines "a".."e" on 10x5, cursor on the last. */
static int
t_five_lines(void **state)
{
	*state = t_new_fed(10, 5, "a\r\nb\r\nc\r\nd\r\ne");
	return (0);
}

static void
resize_shrink_pushes_lines_above_cursor(void **state)
{
	struct screen	*s = *state;
	u_int		 x, y;

	screen_resize(s, 10, 2);
	assert_int_equal(screen_rows(s), 2);
	assert_int_equal(screen_history_size(s), 3);
	assert_string_equal(t_row(s, 0), "d");
	assert_string_equal(t_row(s, 1), "e");
	screen_cursor(s, &x, &y);
	assert_int_equal(y, 1);
}

static void
resize_grow_pulls_history_back(void **state)
{
	struct screen	*s = *state;
	u_int		 x, y;

	screen_resize(s, 10, 2);
	screen_resize(s, 10, 6);
	assert_int_equal(screen_history_size(s), 0);
	assert_string_equal(t_row(s, 0), "a");
	assert_string_equal(t_row(s, 4), "e");
	screen_cursor(s, &x, &y);
	assert_int_equal(y, 4);
}

static void
resize_columns_truncate(void **state)
{
	struct screen	*s = *state;

	screen_resize(s, 10, 2);
	screen_resize(s, 10, 6);
	screen_resize(s, 3, 6);
	assert_int_equal(screen_cols(s), 3);
	assert_string_equal(t_row(s, 4), "e");
}

/* The resizes above, in order, ending at 1x1. */
static void
t_resize_to_one(struct screen *s)
{
	screen_resize(s, 10, 2);
	screen_resize(s, 10, 6);
	screen_resize(s, 3, 6);
	screen_resize(s, 0, 0);
}

static void
resize_zero_clamps_to_one(void **state)
{
	struct screen	*s = *state;

	t_resize_to_one(s);
	assert_int_equal(screen_cols(s), 1);
	assert_int_equal(screen_rows(s), 1);
}

static void
resize_huge_clamps(void **state)
{
	struct screen	*s = *state;

	t_resize_to_one(s);
	t_feed(s, "xyz\r\n\033[999;999Hq");
	screen_resize(s, 1000000, 1000000);
	assert_in_range(screen_cols(s), 1, 10000);
	assert_in_range(screen_rows(s), 1, 10000);
}

static void
resize_back_and_write(void **state)
{
	struct screen	*s = *state;

	t_resize_to_one(s);
	t_feed(s, "xyz\r\n\033[999;999Hq");
	screen_resize(s, 1000000, 1000000);
	screen_resize(s, 80, 24);
	t_feed(s, "\033[24;80Hok");
	assert_int_equal(screen_cols(s), 80);
	assert_int_equal(screen_rows(s), 24);
}

static void
resize_in_altscreen_keeps_main(void **state __unused)
{
	struct screen	*s = t_new_fed(10, 4, "main\r\n\033[?1049halt");

	screen_resize(s, 6, 2);
	screen_resize(s, 12, 6);
	t_feed(s, "\033[?1049l");
	assert_string_equal(t_row(s, 0), "main");
	assert_int_equal(screen_history_size(s), 0);
	screen_free(s);
}

static void
resize_shrink_drops_blank_rows_below_cursor_first(void **state __unused)
{
	struct screen	*s = t_new_fed(10, 5, "top\033[2;1H");

	screen_resize(s, 10, 2);
	assert_int_equal(screen_history_size(s), 0);
	assert_string_equal(t_row(s, 0), "top");
	screen_free(s);
}

/* Keys and paste, encoded for the application's modes. */
static void
key_up_normal_mode(void **state __unused)
{
	struct screen	*s = t_new(10, 5);

	screen_key(s, KEYC_UP);
	t_assert_out("\033[A");
	screen_free(s);
}

/* The remaining keys are sent in application cursor mode, as before. */
static int
t_app_cursor(void **state)
{
	*state = t_new_fed(10, 5, "\033[?1h");
	return (0);
}

static void
key_up_application_cursor_mode(void **state)
{
	screen_key(*state, KEYC_UP);
	t_assert_out("\033OA");
}

static void
key_ctrl_c(void **state)
{
	screen_key(*state, 'c' | KEYC_CTRL);
	t_assert_out("\003");
}

static void
key_meta_x(void **state)
{
	screen_key(*state, 'x' | KEYC_META);
	t_assert_out("\033x");
}

static void
key_enter(void **state)
{
	screen_key(*state, KEYC_ENTER);
	t_assert_out("\r");
}

static void
key_backspace_is_del(void **state)
{
	screen_key(*state, KEYC_BSPACE);
	t_assert_out("\177");
}

static void
key_btab(void **state)
{
	screen_key(*state, KEYC_BTAB);
	t_assert_out("\033[Z");
}

static void
key_f5(void **state)
{
	screen_key(*state, KEYC_F5);
	t_assert_out("\033[15~");
}

static void
key_unicode(void **state)
{
	screen_key(*state, 0x4e2d);
	t_assert_out("\xe4\xb8\xad");
}

static void
paste_without_bracketed_mode(void **state)
{
	screen_paste(*state, "hi", 2);
	t_assert_out("hi");
}

static void
paste_with_bracketed_mode(void **state)
{
	t_feed(*state, "\033[?2004h");
	screen_paste(*state, "hi", 2);
	t_assert_out("\033[200~hi\033[201~");
}

/* Mouse reports. */
static void
mouse_off_sends_nothing(void **state __unused)
{
	struct screen	*s = t_new(10, 5);

	screen_mouse(s, 2, 3, 1, 1, 0);
	assert_int_equal(t_out.len, 0);
	screen_free(s);
}

static void
mouse_mode_tracked(void **state __unused)
{
	struct screen	*s = t_new_fed(10, 5, "\033[?1000h\033[?1006h");

	assert_int_equal(screen_modes(s)->mouse, 1);
	screen_free(s);
}

static void
mouse_sgr_press(void **state __unused)
{
	struct screen	*s = t_new_fed(10, 5, "\033[?1000h\033[?1006h");

	screen_mouse(s, 2, 3, 1, 1, 0);
	t_assert_out("\033[<0;3;4M");
	screen_free(s);
}

static void
mouse_sgr_release(void **state __unused)
{
	struct screen	*s = t_new_fed(10, 5, "\033[?1000h\033[?1006h");

	screen_mouse(s, 2, 3, 1, 1, 0);
	buf_reset(&t_out);
	screen_mouse(s, 2, 3, 1, 0, 0);
	t_assert_out("\033[<0;3;4m");
	screen_free(s);
}

/* Replies, titles, clipboard, bell and cursor modes. */
static void
da1_reply_goes_to_output(void **state __unused)
{
	struct screen	*s = t_new_fed(10, 5, "\033[c");

	assert_in_range(t_out.len, 4, SIZE_MAX);
	assert_memory_equal(t_out.data, "\033[?", 3);
	screen_free(s);
}

static void
osc2_sets_title(void **state __unused)
{
	struct screen	*s = t_new_fed(10, 5, "\033]2;my title\007");

	assert_int_equal(t_titles, 1);
	assert_string_equal(screen_title(s), "my title");
	screen_free(s);
}

static void
osc52_reaches_clipboard(void **state __unused)
{
	struct screen	*s = t_new_fed(10, 5, "\033]52;c;aGVsbG8=\007");

	assert_string_equal(t_clip, "c;aGVsbG8=");
	screen_free(s);
}

static void
bel_rings(void **state __unused)
{
	struct screen	*s = t_new_fed(10, 5, "\007");

	assert_int_equal(t_bells, 1);
	screen_free(s);
}

static void
decscusr_sets_shape(void **state __unused)
{
	struct screen	*s = t_new_fed(10, 5, "\033[6 q");

	assert_int_equal(screen_modes(s)->cursor_shape, 3);
	assert_false(screen_modes(s)->cursor_blink);
	screen_free(s);
}

static void
decscnm_sets_reverse(void **state __unused)
{
	struct screen	*s = t_new_fed(10, 5, "\033[?5h");

	assert_true(screen_modes(s)->reverse);
	screen_free(s);
}

#define T_ON(setup, test) \
	cmocka_unit_test_setup_teardown(test, setup, t_free_screen)

int
main(void)
{
	const struct CMUnitTest vterm_screen[] = {
		T_ON(t_hello_world, text_lands_on_row_0),
		T_ON(t_hello_world, crlf_moves_to_row_1),
		T_ON(t_hello_world, cursor_follows_text),
		T_ON(t_hello_world, cup_positions_text_and_cursor),
		T_ON(t_hello_world, el_erases_to_end_of_line),
		T_ON(t_hello_world, ed2_clears_screen),
		cmocka_unit_test(erase_uses_pen_background),
		cmocka_unit_test(ech_blanks_keep_only_background),
		T_ON(t_sgr_row, sgr_31_is_index_1),
		T_ON(t_sgr_row, sgr_256_colour),
		T_ON(t_sgr_row, sgr_truecolour),
		T_ON(t_sgr_row, sgr_256_background),
		T_ON(t_sgr_row, sgr_attributes),
		T_ON(t_sgr_row, sgr_21_double_underline),
		T_ON(t_sgr_row, sgr_4_3_curly_underline),
		T_ON(t_sgr_row, sgr_bright_colours),
		T_ON(t_sgr_row, sgr_0_resets),
		cmocka_unit_test(wide_char_takes_two_cells),
		cmocka_unit_test(combining_char_joins_previous_cell),
		cmocka_unit_test(combined_cell_utf8),
		cmocka_unit_test(different_combined_differ),
		cmocka_unit_test(same_combined_sequence_deduplicated),
		cmocka_unit_test(overwriting_right_half_breaks_wide_char),
		cmocka_unit_test(autowrap_marks_row_wrapped),
		cmocka_unit_test(full_row_then_crlf_not_wrapped),
		cmocka_unit_test(scroll_region_scrolls_inside_only),
		cmocka_unit_test(partial_scroll_region_adds_no_history),
		cmocka_unit_test(altscreen_starts_blank),
		cmocka_unit_test(altscreen_scroll_adds_no_history),
		cmocka_unit_test(altscreen_exit_restores_main),
		cmocka_unit_test(ich_shifts_right),
		cmocka_unit_test(dch_shifts_left),
		cmocka_unit_test(il_inserts_line),
		cmocka_unit_test(dl_deletes_line),
		cmocka_unit_test(row_gen_changes_only_for_changed_row),
		cmocka_unit_test(screen_gen_changes_with_text),
		cmocka_unit_test(screen_gen_changes_with_cursor),
		cmocka_unit_test(screen_gen_changes_with_modes),
		T_ON(t_five_lines, resize_shrink_pushes_lines_above_cursor),
		T_ON(t_five_lines, resize_grow_pulls_history_back),
		T_ON(t_five_lines, resize_columns_truncate),
		T_ON(t_five_lines, resize_zero_clamps_to_one),
		T_ON(t_five_lines, resize_huge_clamps),
		T_ON(t_five_lines, resize_back_and_write),
		cmocka_unit_test(resize_in_altscreen_keeps_main),
		cmocka_unit_test(
		    resize_shrink_drops_blank_rows_below_cursor_first),
		cmocka_unit_test(key_up_normal_mode),
		T_ON(t_app_cursor, key_up_application_cursor_mode),
		T_ON(t_app_cursor, key_ctrl_c),
		T_ON(t_app_cursor, key_meta_x),
		T_ON(t_app_cursor, key_enter),
		T_ON(t_app_cursor, key_backspace_is_del),
		T_ON(t_app_cursor, key_btab),
		T_ON(t_app_cursor, key_f5),
		T_ON(t_app_cursor, key_unicode),
		T_ON(t_app_cursor, paste_without_bracketed_mode),
		T_ON(t_app_cursor, paste_with_bracketed_mode),
		cmocka_unit_test(mouse_off_sends_nothing),
		cmocka_unit_test(mouse_mode_tracked),
		cmocka_unit_test(mouse_sgr_press),
		cmocka_unit_test(mouse_sgr_release),
		cmocka_unit_test(da1_reply_goes_to_output),
		cmocka_unit_test(osc2_sets_title),
		cmocka_unit_test(osc52_reaches_clipboard),
		cmocka_unit_test(bel_rings),
		cmocka_unit_test(decscusr_sets_shape),
		cmocka_unit_test(decscnm_sets_reverse),
	};

	return (cmocka_run_group_tests(vterm_screen, t_group_setup,
	    t_group_teardown));
}

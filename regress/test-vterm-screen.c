/*
 * regress/test-vterm-screen.c: the screen model fed through libvterm's state
 * layer: text, cursor, erase, colours, wide and combining characters, the
 * alternate screen, resize, and input encoded for the application's modes.
 */
#include <string.h>

#include "vterm/vterm.h"
#include "regress/tap.h"

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

static struct screen *
t_new(u_int cols, u_int rows)
{
	return (screen_new(cols, rows, 100, NULL, &t_cb, NULL));
}

static void
t_feed(struct screen *s, const char *str)
{
	screen_write(s, str, strlen(str));
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

static int
t_out_is(const char *want)
{
	int	 ok = t_out.len == strlen(want) &&
		    memcmp(t_out.data, want, t_out.len) == 0;

	buf_reset(&t_out);
	return (ok);
}

static void
test_text_and_cursor(void)
{
	struct screen	*s = t_new(20, 5);
	u_int		 x, y;

	t_feed(s, "hello\r\nworld");
	TAP_OK(strcmp(t_row(s, 0), "hello") == 0, "text_lands_on_row_0");
	TAP_OK(strcmp(t_row(s, 1), "world") == 0, "crlf_moves_to_row_1");
	screen_cursor(s, &x, &y);
	TAP_OK(x == 5 && y == 1, "cursor_follows_text");
	t_feed(s, "\033[3;7HX");
	screen_cursor(s, &x, &y);
	TAP_OK(screen_row(s, 2)[6].ch == 'X' && x == 7 && y == 2,
	    "cup_positions_text_and_cursor");
	t_feed(s, "\033[1;3H\033[K");
	TAP_OK(strcmp(t_row(s, 0), "he") == 0, "el_erases_to_end_of_line");
	t_feed(s, "\033[2J");
	TAP_OK(t_row(s, 1)[0] == '\0' && t_row(s, 2)[0] == '\0',
	    "ed2_clears_screen");
	screen_free(s);
}

static void
test_bce(void)
{
	struct screen	*s = t_new(10, 3);
	const struct cell *c;

	t_feed(s, "abcdef\033[44m\033[1;3H\033[K");
	c = screen_row(s, 0);
	TAP_OK(c[1].ch == 'b' && c[2].ch == 0 && c[2].bg == COLOUR_INDEX(4) &&
	    c[9].bg == COLOUR_INDEX(4) && c[1].bg == COLOUR_DEFAULT,
	    "erase_uses_pen_background");
	t_feed(s, "\033[1;7m\033[2;1H\033[2X");
	c = screen_row(s, 1);
	TAP_OK(c[0].ch == 0 && c[0].attr == 0 && c[0].fg == 0 &&
	    c[0].bg == COLOUR_INDEX(4) && c[2].bg == COLOUR_DEFAULT,
	    "ech_blanks_keep_only_background");
	screen_free(s);
}

static void
test_colours(void)
{
	struct screen	*s = t_new(20, 3);
	const struct cell *c;

	t_feed(s, "\033[31ma\033[38;5;208mb\033[38;2;1;2;3mc\033[0;48;5;17md"
	    "\033[0;1;3;4;5;7;9me\033[0;21mf\033[0;4:3mg\033[0;94;101mh"
	    "\033[0m");
	c = screen_row(s, 0);
	TAP_OK(c[0].fg == COLOUR_INDEX(1), "sgr_31_is_index_1");
	TAP_OK(c[1].fg == COLOUR_INDEX(208), "sgr_256_colour");
	TAP_OK(c[2].fg == COLOUR_RGB(1, 2, 3), "sgr_truecolour");
	TAP_OK(c[3].bg == COLOUR_INDEX(17) && c[3].fg == COLOUR_DEFAULT,
	    "sgr_256_background");
	TAP_OK(c[4].attr == (ATTR_BOLD|ATTR_ITALIC|ATTR_UNDERLINE|ATTR_BLINK|
	    ATTR_REVERSE|ATTR_STRIKE), "sgr_attributes");
	TAP_OK(c[5].attr == ATTR_UNDERLINE2, "sgr_21_double_underline");
	TAP_OK(c[6].attr == ATTR_UNDERCURL, "sgr_4_3_curly_underline");
	TAP_OK(c[7].fg == COLOUR_INDEX(12) && c[7].bg == COLOUR_INDEX(9),
	    "sgr_bright_colours");
	TAP_OK(c[8].fg == 0 && c[8].bg == 0 && c[8].attr == 0,
	    "sgr_0_resets");
	screen_free(s);
}

static void
test_wide_and_combining(void)
{
	struct screen	*s = t_new(10, 3);
	const struct cell *c;
	uint32_t	 chars[8];
	u_int		 x, y;
	char		 u[32];

	t_feed(s, "a\xe4\xb8\xad" "b");
	c = screen_row(s, 0);
	screen_cursor(s, &x, &y);
	TAP_OK(c[1].ch == 0x4e2d && c[1].width == 2 && c[2].width == 0 &&
	    c[2].ch == 0 && c[3].ch == 'b' && x == 4,
	    "wide_char_takes_two_cells");
	t_feed(s, "\r\ne\xcc\x81x");
	c = screen_row(s, 1);
	TAP_OK((c[0].ch & CELL_COMBINED) && cell_chars(&c[0], chars, 8) == 2 &&
	    chars[0] == 'e' && chars[1] == 0x301 && c[1].ch == 'x',
	    "combining_char_joins_previous_cell");
	cell_utf8(&c[0], u);
	TAP_OK(strcmp(u, "e\xcc\x81") == 0, "combined_cell_utf8");
	t_feed(s, "\r\nu\xcc\x81");
	TAP_OK(screen_row(s, 2)[0].ch != c[0].ch, "different_combined_differ");
	t_feed(s, "\033[3;1He\xcc\x81");
	TAP_OK(screen_row(s, 2)[0].ch == c[0].ch,
	    "same_combined_sequence_deduplicated");
	t_feed(s, "\033[1;3HZ");
	c = screen_row(s, 0);
	TAP_OK(c[1].ch == 0 && c[1].width == 0 && c[2].ch == 'Z',
	    "overwriting_right_half_breaks_wide_char");
	screen_free(s);
}

static void
test_wrap_flag(void)
{
	struct screen	*s = t_new(5, 4);

	t_feed(s, "abcdefg\r\nxy");
	TAP_OK(screen_row_wrapped(s, 0) && !screen_row_wrapped(s, 1),
	    "autowrap_marks_row_wrapped");
	t_feed(s, "\033[3;1Habcde\r\nz");
	TAP_OK(!screen_row_wrapped(s, 2), "full_row_then_crlf_not_wrapped");
	screen_free(s);
}

static void
test_scroll_region_and_alt(void)
{
	struct screen	*s = t_new(10, 4);

	t_feed(s, "1\r\n2\r\n3\r\n4\033[2;3r\033[3;1H\n\n");
	TAP_OK(strcmp(t_row(s, 0), "1") == 0 && t_row(s, 1)[0] == '\0' &&
	    t_row(s, 2)[0] == '\0' && strcmp(t_row(s, 3), "4") == 0,
	    "scroll_region_scrolls_inside_only");
	TAP_OK(screen_history_size(s) == 0,
	    "partial_scroll_region_adds_no_history");
	t_feed(s, "\033[r\033[?1049h");
	TAP_OK(screen_modes(s)->altscreen && t_row(s, 0)[0] == '\0' &&
	    t_row(s, 3)[0] == '\0', "altscreen_starts_blank");
	t_feed(s, "alt\r\n\n\n\n\n\n\n");
	TAP_OK(screen_history_size(s) == 0, "altscreen_scroll_adds_no_history");
	t_feed(s, "\033[?1049l");
	TAP_OK(!screen_modes(s)->altscreen && strcmp(t_row(s, 0), "1") == 0 &&
	    strcmp(t_row(s, 3), "4") == 0, "altscreen_exit_restores_main");
	screen_free(s);
}

static void
test_insert_delete(void)
{
	struct screen	*s = t_new(10, 4);

	t_feed(s, "abcdef\033[1;2H\033[2@");
	TAP_OK(strcmp(t_row(s, 0), "a  bcdef") == 0, "ich_shifts_right");
	t_feed(s, "\033[3P");
	TAP_OK(strcmp(t_row(s, 0), "acdef") == 0, "dch_shifts_left");
	t_feed(s, "\r\nl2\r\nl3\033[2;1H\033[L");
	TAP_OK(t_row(s, 1)[0] == '\0' && strcmp(t_row(s, 2), "l2") == 0 &&
	    strcmp(t_row(s, 3), "l3") == 0, "il_inserts_line");
	t_feed(s, "\033[M");
	TAP_OK(strcmp(t_row(s, 1), "l2") == 0, "dl_deletes_line");
	screen_free(s);
}

static void
test_gens(void)
{
	struct screen	*s = t_new(10, 4);
	uint64_t	 g0, g1, sg;

	g0 = screen_row_gen(s, 0);
	g1 = screen_row_gen(s, 1);
	sg = screen_gen(s);
	t_feed(s, "x");
	TAP_OK(screen_row_gen(s, 0) != g0 && screen_row_gen(s, 1) == g1,
	    "row_gen_changes_only_for_changed_row");
	TAP_OK(screen_gen(s) != sg, "screen_gen_changes_with_text");
	sg = screen_gen(s);
	t_feed(s, "\033[3;3H");
	TAP_OK(screen_gen(s) != sg, "screen_gen_changes_with_cursor");
	sg = screen_gen(s);
	t_feed(s, "\033[?25l");
	TAP_OK(screen_gen(s) != sg && !screen_modes(s)->cursor_visible,
	    "screen_gen_changes_with_modes");
	screen_free(s);
}

static void
test_resize(void)
{
	struct screen	*s = t_new(10, 5);
	u_int		 x, y;

	t_feed(s, "a\r\nb\r\nc\r\nd\r\ne");
	screen_resize(s, 10, 2);
	screen_cursor(s, &x, &y);
	TAP_OK(screen_rows(s) == 2 && screen_history_size(s) == 3 &&
	    strcmp(t_row(s, 0), "d") == 0 && strcmp(t_row(s, 1), "e") == 0 &&
	    y == 1, "resize_shrink_pushes_lines_above_cursor");
	screen_resize(s, 10, 6);
	screen_cursor(s, &x, &y);
	TAP_OK(screen_history_size(s) == 0 && strcmp(t_row(s, 0), "a") == 0 &&
	    strcmp(t_row(s, 4), "e") == 0 && y == 4,
	    "resize_grow_pulls_history_back");
	screen_resize(s, 3, 6);
	TAP_OK(screen_cols(s) == 3 && strcmp(t_row(s, 4), "e") == 0,
	    "resize_columns_truncate");
	screen_resize(s, 0, 0);
	TAP_OK(screen_cols(s) == 1 && screen_rows(s) == 1,
	    "resize_zero_clamps_to_one");
	t_feed(s, "xyz\r\n\033[999;999Hq");
	screen_resize(s, 1000000, 1000000);
	TAP_OK(screen_cols(s) <= 10000 && screen_rows(s) <= 10000,
	    "resize_huge_clamps");
	screen_resize(s, 80, 24);
	t_feed(s, "\033[24;80Hok");
	TAP_OK(screen_cols(s) == 80, "resize_back_and_write");
	screen_free(s);

	s = t_new(10, 4);
	t_feed(s, "main\r\n\033[?1049halt");
	screen_resize(s, 6, 2);
	screen_resize(s, 12, 6);
	t_feed(s, "\033[?1049l");
	TAP_OK(strcmp(t_row(s, 0), "main") == 0 && screen_history_size(s) == 0,
	    "resize_in_altscreen_keeps_main");
	screen_free(s);

	s = t_new(10, 5);
	t_feed(s, "top\033[2;1H");
	screen_resize(s, 10, 2);
	TAP_OK(screen_history_size(s) == 0 && strcmp(t_row(s, 0), "top") == 0,
	    "resize_shrink_drops_blank_rows_below_cursor_first");
	screen_free(s);
}

static void
test_keys(void)
{
	struct screen	*s = t_new(10, 5);

	screen_key(s, KEYC_UP);
	TAP_OK(t_out_is("\033[A"), "key_up_normal_mode");
	t_feed(s, "\033[?1h");
	screen_key(s, KEYC_UP);
	TAP_OK(t_out_is("\033OA"), "key_up_application_cursor_mode");
	screen_key(s, 'c' | KEYC_CTRL);
	TAP_OK(t_out_is("\003"), "key_ctrl_c");
	screen_key(s, 'x' | KEYC_META);
	TAP_OK(t_out_is("\033x"), "key_meta_x");
	screen_key(s, KEYC_ENTER);
	TAP_OK(t_out_is("\r"), "key_enter");
	screen_key(s, KEYC_BSPACE);
	TAP_OK(t_out_is("\177"), "key_backspace_is_del");
	screen_key(s, KEYC_BTAB);
	TAP_OK(t_out_is("\033[Z"), "key_btab");
	screen_key(s, KEYC_F5);
	TAP_OK(t_out_is("\033[15~"), "key_f5");
	screen_key(s, 0x4e2d);
	TAP_OK(t_out_is("\xe4\xb8\xad"), "key_unicode");
	screen_paste(s, "hi", 2);
	TAP_OK(t_out_is("hi"), "paste_without_bracketed_mode");
	t_feed(s, "\033[?2004h");
	screen_paste(s, "hi", 2);
	TAP_OK(t_out_is("\033[200~hi\033[201~"), "paste_with_bracketed_mode");
	screen_free(s);
}

static void
test_mouse(void)
{
	struct screen	*s = t_new(10, 5);

	screen_mouse(s, 2, 3, 1, 1, 0);
	TAP_OK(t_out.len == 0, "mouse_off_sends_nothing");
	t_feed(s, "\033[?1000h\033[?1006h");
	TAP_OK(screen_modes(s)->mouse == 1, "mouse_mode_tracked");
	screen_mouse(s, 2, 3, 1, 1, 0);
	TAP_OK(t_out_is("\033[<0;3;4M"), "mouse_sgr_press");
	screen_mouse(s, 2, 3, 1, 0, 0);
	TAP_OK(t_out_is("\033[<0;3;4m"), "mouse_sgr_release");
	screen_free(s);
}

static void
test_callbacks(void)
{
	struct screen	*s = t_new(10, 5);

	t_feed(s, "\033[c");
	TAP_OK(t_out.len > 3 && memcmp(t_out.data, "\033[?", 3) == 0,
	    "da1_reply_goes_to_output");
	buf_reset(&t_out);
	t_feed(s, "\033]2;my title\007");
	TAP_OK(t_titles == 1 && strcmp(screen_title(s), "my title") == 0,
	    "osc2_sets_title");
	t_feed(s, "\033]52;c;aGVsbG8=\007");
	TAP_OK(strcmp(t_clip, "c;aGVsbG8=") == 0, "osc52_reaches_clipboard");
	t_feed(s, "\007");
	TAP_OK(t_bells == 1, "bel_rings");
	t_feed(s, "\033[6 q");
	TAP_OK(screen_modes(s)->cursor_shape == 3 &&
	    !screen_modes(s)->cursor_blink, "decscusr_sets_shape");
	t_feed(s, "\033[?5h");
	TAP_OK(screen_modes(s)->reverse, "decscnm_sets_reverse");
	screen_free(s);
}

int
main(void)
{
	buf_init(&t_out);
	test_text_and_cursor();
	test_bce();
	test_colours();
	test_wide_and_combining();
	test_wrap_flag();
	test_scroll_region_and_alt();
	test_insert_delete();
	test_gens();
	test_resize();
	test_keys();
	test_mouse();
	test_callbacks();
	buf_free(&t_out);
	return (tap_done());
}

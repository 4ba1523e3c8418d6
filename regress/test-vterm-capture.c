/*
 * regress/test-vterm-capture.c: screen_capture with tmux capture-pane's
 * semantics: line numbers into history, clamping, trailing blanks, joined
 * wrapped lines and SGR escapes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include "vterm/vterm.h"

#include <cmocka.h>

static void
t_feed(struct screen *s, const char *str)
{
	screen_write(s, str, strlen(str));
}

/* Capture as a NUL-terminated string (static). */
static const char *
t_capture(struct screen *s, int start, int end, int flags)
{
	static char	 text[8192];
	struct buf	 b;

	buf_init(&b);
	screen_capture(s, start, end, flags, &b);
	snprintf(text, sizeof text, "%.*s", (int)b.len, b.len ? b.data : "");
	buf_free(&b);
	return (text);
}

/* Fixture: the screen in *state is freed after the test, pass or fail. */
static int
t_free_screen(void **state)
{
	screen_free(*state);
	return (0);
}

/* Line numbers: h1..h3 in history; visible v1 (trailing blanks), v2, empty. */
static int
t_history_and_visible(void **state)
{
	struct screen	*s = screen_new(10, 3, 100, NULL, NULL, NULL);

	t_feed(s, "h1\r\nh2\r\nh3\r\nv1  \r\nv2\r\n\033[A");
	*state = s;
	return (0);
}

static void
setup_has_three_history_lines(void **state)
{
	assert_int_equal(screen_history_size(*state), 3);
}

static void
capture_visible_trims_trailing_blanks(void **state)
{
	assert_string_equal(t_capture(*state, 0, CAPTURE_END_VISIBLE, 0),
	    "v1\nv2\n\n");
}

static void
capture_minus_one_is_newest_history_line(void **state)
{
	assert_string_equal(t_capture(*state, -1, -1, 0), "h3\n");
}

static void
capture_from_start_of_history(void **state)
{
	assert_string_equal(t_capture(*state, CAPTURE_START_HISTORY, 0, 0),
	    "h1\nh2\nh3\nv1\n");
}

static void
capture_clamps_start(void **state)
{
	assert_string_equal(t_capture(*state, -100, -2, 0), "h1\nh2\n");
}

static void
capture_clamps_end(void **state)
{
	assert_string_equal(t_capture(*state, 1, 100, 0), "v2\n\n");
}

static void
capture_start_after_end_is_empty(void **state)
{
	assert_string_equal(t_capture(*state, 2, 1, 0), "");
}

/* Joining: "abcdefgh" wraps on 5 columns, then "xy". */
static int
t_wrapped(void **state)
{
	struct screen	*s = screen_new(5, 4, 100, NULL, NULL, NULL);

	t_feed(s, "abcdefgh\r\nxy");
	*state = s;
	return (0);
}

static void
capture_without_join_splits_wrapped(void **state)
{
	assert_string_equal(t_capture(*state, 0, 1, 0), "abcde\nfgh\n");
}

static void
capture_join_joins_wrapped_lines(void **state)
{
	assert_string_equal(t_capture(*state, 0, 2, CAPTURE_JOIN),
	    "abcdefgh\nxy\n");
}

static void
capture_join_works_in_history(void **state)
{
	struct screen	*s = *state;

	t_feed(s, "\r\n12345678\r\n\n\n");
	assert_string_equal(t_capture(s, CAPTURE_START_HISTORY, -1,
	    CAPTURE_JOIN), "abcdefgh\nxy\n12345\n");
	assert_string_equal(t_capture(s, -1, 0, CAPTURE_JOIN), "12345678\n");
}

/* Escapes and wide characters: a bold red "b", a wide character, and a
 * blue-background "bg" followed by blanks. */
static int
t_styled(void **state)
{
	struct screen	*s = screen_new(20, 3, 100, NULL, NULL, NULL);

	t_feed(s, "a\033[1;31mb\033[0mc\r\n\xe4\xb8\xad" "d\r\n"
	    "\033[44mbg\033[0m  ");
	*state = s;
	return (0);
}

static void
capture_escapes_sgr(void **state)
{
	assert_string_equal(t_capture(*state, 0, 0, CAPTURE_ESCAPES),
	    "a\033[0;1;31mb\033[0mc\n");
}

static void
capture_plain_has_no_escapes(void **state)
{
	assert_string_equal(t_capture(*state, 0, 0, 0), "abc\n");
}

static void
capture_wide_char_appears_once(void **state)
{
	assert_string_equal(t_capture(*state, 1, 1, 0), "\xe4\xb8\xad" "d\n");
}

static void
capture_escapes_reset_at_line_end(void **state)
{
	assert_string_equal(t_capture(*state, 2, 2, CAPTURE_ESCAPES),
	    "\033[0;44mbg\033[0m\n");
}

#define T_ON(setup, test) \
	cmocka_unit_test_setup_teardown(test, setup, t_free_screen)

int
main(void)
{
	const struct CMUnitTest vterm_capture[] = {
		T_ON(t_history_and_visible, setup_has_three_history_lines),
		T_ON(t_history_and_visible,
		    capture_visible_trims_trailing_blanks),
		T_ON(t_history_and_visible,
		    capture_minus_one_is_newest_history_line),
		T_ON(t_history_and_visible, capture_from_start_of_history),
		T_ON(t_history_and_visible, capture_clamps_start),
		T_ON(t_history_and_visible, capture_clamps_end),
		T_ON(t_history_and_visible, capture_start_after_end_is_empty),
		T_ON(t_wrapped, capture_without_join_splits_wrapped),
		T_ON(t_wrapped, capture_join_joins_wrapped_lines),
		T_ON(t_wrapped, capture_join_works_in_history),
		T_ON(t_styled, capture_escapes_sgr),
		T_ON(t_styled, capture_plain_has_no_escapes),
		T_ON(t_styled, capture_wide_char_appears_once),
		T_ON(t_styled, capture_escapes_reset_at_line_end),
	};

	return (cmocka_run_group_tests(vterm_capture, NULL, NULL));
}

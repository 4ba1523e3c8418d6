/*
 * regress/test-vterm-capture.c: screen_capture with tmux capture-pane's
 * semantics: line numbers into history, clamping, trailing blanks, joined
 * wrapped lines and SGR escapes.
 */
#include <string.h>

#include "vterm/vterm.h"
#include "regress/tap.h"

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

static struct screen *
t_screen(void)
{
	struct screen	*s = screen_new(10, 3, 100, NULL, NULL, NULL);

	/* h1..h3 go to history; visible: v1, v2, empty. */
	t_feed(s, "h1\r\nh2\r\nh3\r\nv1  \r\nv2\r\n\033[A");
	return (s);
}

static void
test_ranges(void)
{
	struct screen	*s = t_screen();

	TAP_OK(screen_history_size(s) == 3, "setup_has_three_history_lines");
	TAP_OK(strcmp(t_capture(s, 0, CAPTURE_END_VISIBLE, 0),
	    "v1\nv2\n\n") == 0, "capture_visible_trims_trailing_blanks");
	TAP_OK(strcmp(t_capture(s, -1, -1, 0), "h3\n") == 0,
	    "capture_minus_one_is_newest_history_line");
	TAP_OK(strcmp(t_capture(s, CAPTURE_START_HISTORY, 0, 0),
	    "h1\nh2\nh3\nv1\n") == 0, "capture_from_start_of_history");
	TAP_OK(strcmp(t_capture(s, -100, -2, 0), "h1\nh2\n") == 0,
	    "capture_clamps_start");
	TAP_OK(strcmp(t_capture(s, 1, 100, 0), "v2\n\n") == 0,
	    "capture_clamps_end");
	TAP_OK(strcmp(t_capture(s, 2, 1, 0), "") == 0,
	    "capture_start_after_end_is_empty");
	screen_free(s);
}

static void
test_join(void)
{
	struct screen	*s = screen_new(5, 4, 100, NULL, NULL, NULL);

	t_feed(s, "abcdefgh\r\nxy");
	TAP_OK(strcmp(t_capture(s, 0, 1, 0), "abcde\nfgh\n") == 0,
	    "capture_without_join_splits_wrapped");
	TAP_OK(strcmp(t_capture(s, 0, 2, CAPTURE_JOIN), "abcdefgh\nxy\n") == 0,
	    "capture_join_joins_wrapped_lines");
	t_feed(s, "\r\n12345678\r\n\n\n");
	TAP_OK(strcmp(t_capture(s, CAPTURE_START_HISTORY, -1, CAPTURE_JOIN),
	    "abcdefgh\nxy\n12345\n") == 0 &&
	    strcmp(t_capture(s, -1, 0, CAPTURE_JOIN), "12345678\n") == 0,
	    "capture_join_works_in_history");
	screen_free(s);
}

static void
test_escapes_and_wide(void)
{
	struct screen	*s = screen_new(20, 3, 100, NULL, NULL, NULL);

	t_feed(s, "a\033[1;31mb\033[0mc\r\n\xe4\xb8\xad" "d\r\n"
	    "\033[44mbg\033[0m  ");
	TAP_OK(strcmp(t_capture(s, 0, 0, CAPTURE_ESCAPES),
	    "a\033[0;1;31mb\033[0mc\n") == 0, "capture_escapes_sgr");
	TAP_OK(strcmp(t_capture(s, 0, 0, 0), "abc\n") == 0,
	    "capture_plain_has_no_escapes");
	TAP_OK(strcmp(t_capture(s, 1, 1, 0), "\xe4\xb8\xad" "d\n") == 0,
	    "capture_wide_char_appears_once");
	TAP_OK(strcmp(t_capture(s, 2, 2, CAPTURE_ESCAPES),
	    "\033[0;44mbg\033[0m\n") == 0, "capture_escapes_reset_at_line_end");
	screen_free(s);
}

int
main(void)
{
	test_ranges();
	test_join();
	test_escapes_and_wide();
	return (tap_done());
}

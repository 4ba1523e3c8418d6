/*
 * regress/test-vterm-history.c: the scrollback: lines leave the top of the
 * main screen in order, limits in lines and in shared bytes, the compact
 * encoding and its exact decoding.
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

static void
t_feed(struct screen *s, const char *str)
{
	screen_write(s, str, strlen(str));
}

/* A new screen with str already fed. */
static struct screen *
t_new_fed(u_int cols, u_int rows, u_int limit, const char *str)
{
	struct screen	*s;

	s = screen_new(cols, rows, limit, NULL, NULL, NULL);
	t_feed(s, str);
	return (s);
}

/* History line n as text, trailing blanks dropped. */
static const char *
t_hline(struct screen *s, u_int n)
{
	static char	 line[4096];
	struct cell	 cells[512];
	u_int		 x, cols = screen_cols(s);
	size_t		 len = 0, keep = 0;
	char		 u[32];

	screen_history_line(s, n, cells, cols, NULL);
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

/* Fixture: the screen in *state is freed after the test, pass or fail. */
static int
t_free_screen(void **state)
{
	screen_free(*state);
	return (0);
}

/* Scrolling into history: five lines on 10x3 push two. */
#define T_FIVE_LINES		"one\r\ntwo\r\nthree\r\nfour\r\nfive"
#define T_REGION_BELOW_TOP	"\033[2;3r\033[3;1H\n\n\n\033[r"
#define T_REGION_AT_TOP		"\033[1;2r\033[2;1H\n\033[r"

static void
scroll_moves_top_lines_into_history(void **state __unused)
{
	struct screen	*s = t_new_fed(10, 3, 100, T_FIVE_LINES);

	assert_int_equal(screen_history_size(s), 2);
	screen_free(s);
}

static void
history_keeps_order_oldest_first(void **state __unused)
{
	struct screen	*s = t_new_fed(10, 3, 100, T_FIVE_LINES);

	assert_string_equal(t_hline(s, 0), "one");
	assert_string_equal(t_hline(s, 1), "two");
	screen_free(s);
}

static void
scroll_region_below_top_adds_no_history(void **state __unused)
{
	struct screen	*s = t_new_fed(10, 3, 100, T_FIVE_LINES
			    T_REGION_BELOW_TOP);

	assert_int_equal(screen_history_size(s), 2);
	screen_free(s);
}

static void
scroll_region_at_top_adds_history(void **state __unused)
{
	struct screen	*s = t_new_fed(10, 3, 100, T_FIVE_LINES
			    T_REGION_BELOW_TOP T_REGION_AT_TOP);

	assert_int_equal(screen_history_size(s), 3);
	assert_string_equal(t_hline(s, 2), "three");
	screen_free(s);
}

static void
history_clear_empties(void **state __unused)
{
	struct screen	*s = t_new_fed(10, 3, 100, T_FIVE_LINES
			    T_REGION_BELOW_TOP T_REGION_AT_TOP);

	screen_history_clear(s);
	assert_int_equal(screen_history_size(s), 0);
	assert_int_equal(screen_history_bytes(s), 0);
	screen_free(s);
}

/* Line limit: "l0".."l19" through a 10x2 screen keeping 5 lines. */
static int
t_twenty_lines(void **state)
{
	struct screen	*s = screen_new(10, 2, 5, NULL, NULL, NULL);
	char		 line[32];
	int		 i;

	for (i = 0; i < 20; i++) {
		snprintf(line, sizeof line, "l%d\r\n", i);
		t_feed(s, line);
	}
	*state = s;
	return (0);
}

static void
history_line_limit_holds(void **state)
{
	assert_int_equal(screen_history_size(*state), 5);
}

static void
history_limit_drops_oldest(void **state)
{
	assert_string_equal(t_hline(*state, 0), "l14");
	assert_string_equal(t_hline(*state, 4), "l18");
}

static void
set_history_limit_shrinks(void **state)
{
	struct screen	*s = *state;

	screen_set_history_limit(s, 2);
	assert_int_equal(screen_history_size(s), 2);
	assert_string_equal(t_hline(s, 0), "l17");
}

static void
shrunk_limit_keeps_working(void **state)
{
	struct screen	*s = *state;

	screen_set_history_limit(s, 2);
	t_feed(s, "x\r\ny\r\nz\r\n");
	assert_int_equal(screen_history_size(s), 2);
	assert_string_equal(t_hline(s, 1), "y");
}

static void
zero_limit_keeps_no_history(void **state)
{
	struct screen	*s = *state;

	screen_set_history_limit(s, 2);
	t_feed(s, "x\r\ny\r\nz\r\n");
	screen_set_history_limit(s, 0);
	t_feed(s, "a\r\nb\r\n");
	assert_int_equal(screen_history_size(s), 0);
}

/* A byte budget shared by two 80x5 screens fed 1000 lines each. */
struct t_budget {
	struct history_budget	 b;
	struct screen		*s1, *s2;
};

static int
t_budget_setup(void **state)
{
	struct t_budget	*t = calloc(1, sizeof *t);
	char		 line[128];
	int		 i;

	if (t == NULL)
		return (-1);
	t->b.limit = 20000;
	t->s1 = screen_new(80, 5, 100000, &t->b, NULL, NULL);
	t->s2 = screen_new(80, 5, 100000, &t->b, NULL, NULL);
	for (i = 0; i < 2000; i++) {
		snprintf(line, sizeof line, "%05d the quick brown fox jumps "
		    "over the lazy dog\r\n", i);
		t_feed(i % 2 ? t->s2 : t->s1, line);
	}
	*state = t;
	return (0);
}

static int
t_budget_teardown(void **state)
{
	struct t_budget	*t = *state;

	if (t->s1 != NULL)
		screen_free(t->s1);
	if (t->s2 != NULL)
		screen_free(t->s2);
	free(t);
	return (0);
}

static void
budget_used_stays_under_limit(void **state)
{
	struct t_budget	*t = *state;

	assert_in_range(t->b.used, 0, t->b.limit);
}

static void
budget_used_is_sum_of_screens(void **state)
{
	struct t_budget	*t = *state;

	assert_int_equal(t->b.used,
	    screen_history_bytes(t->s1) + screen_history_bytes(t->s2));
}

static void
budget_both_screens_keep_lines(void **state)
{
	struct t_budget	*t = *state;

	assert_in_range(screen_history_size(t->s1), 17, 100000);
	assert_in_range(screen_history_size(t->s2), 17, 100000);
}

static void
budget_drops_lines(void **state)
{
	struct t_budget	*t = *state;

	assert_in_range(screen_history_size(t->s1), 0, 999);
}

static void
freeing_screen_returns_its_bytes(void **state)
{
	struct t_budget	*t = *state;

	screen_free(t->s1);
	t->s1 = NULL;
	assert_int_equal(t->b.used, screen_history_bytes(t->s2));
}

static void
budget_zero_after_all_freed(void **state)
{
	struct t_budget	*t = *state;

	screen_free(t->s1);
	t->s1 = NULL;
	screen_free(t->s2);
	t->s2 = NULL;
	assert_int_equal(t->b.used, 0);
}

/* The encoding: bytes per line stored. */
static void
history_line_is_compact(void **state __unused)
{
	struct screen	*s = screen_new(100, 2, 1000, NULL, NULL, NULL);
	char		 line[128];
	size_t		 per;
	int		 i, j;

	for (i = 0; i < 500; i++) {
		for (j = 0; j < 100; j++)
			line[j] = 'a' + (i + j) % 26;
		line[100] = '\0';
		t_feed(s, line);
	}
	per = screen_history_bytes(s) / screen_history_size(s);
	print_message("# 100-col ASCII line: %zu bytes in history\n", per);
	assert_in_range(per, 0, 100 * 5 / 3 - 1);
	screen_free(s);
}

static void
history_trims_trailing_blanks(void **state __unused)
{
	struct screen	*s = screen_new(80, 2, 1000, NULL, NULL, NULL);
	size_t		 per;
	int		 i;

	for (i = 0; i < 200; i++)
		t_feed(s, "short line\r\n");
	per = screen_history_bytes(s) / screen_history_size(s);
	print_message("# short line on 80 cols: %zu bytes\n", per);
	assert_in_range(per, 0, 49);
	screen_free(s);
}

/*
 * Round trip: a row with colours, wide and combining characters and a
 * coloured erase, then a 36-character line wrapping on 30 columns, all
 * pushed into history.  row is the first row as it was on the screen.
 */
struct t_round {
	struct screen	*s;
	struct cell	 row[30];
};

static int
t_round_setup(void **state)
{
	struct t_round	*t = calloc(1, sizeof *t);

	if (t == NULL)
		return (-1);
	t->s = t_new_fed(30, 3, 100, "\033[1;31mred\033[0m "
	    "\033[38;2;9;8;7;48;5;200mrgb\033[0m \xe4\xb8\xad\xe6\x96\x87 "
	    "e\xcc\x81 \033[44m\033[K\r\n");
	memcpy(t->row, screen_row(t->s, 0), sizeof t->row);
	t_feed(t->s, "abcdefghijklmnopqrstuvwxyz0123456789\r\n\n\n");
	*state = t;
	return (0);
}

static int
t_round_teardown(void **state)
{
	struct t_round	*t = *state;

	screen_free(t->s);
	free(t);
	return (0);
}

static void
round_trip_lines_pushed(void **state)
{
	struct t_round	*t = *state;

	assert_int_equal(screen_history_size(t->s), 3);
}

static void
history_line_decodes_exactly(void **state)
{
	struct t_round	*t = *state;
	struct cell	 back[30];
	int		 wrapped, x;

	screen_history_line(t->s, 0, back, 30, &wrapped);
	for (x = 0; x < 30; x++)
		assert_memory_equal(&back[x], &t->row[x], sizeof back[x]);
	assert_false(wrapped);
}

static void
history_keeps_wrapped_flag(void **state)
{
	struct t_round	*t = *state;
	struct cell	 back[30];
	int		 wrapped;

	screen_history_line(t->s, 1, back, 30, &wrapped);
	assert_true(wrapped);
	assert_int_equal(back[29].ch, '3');
}

static void
history_continuation_line(void **state)
{
	struct t_round	*t = *state;
	struct cell	 back[30];
	int		 wrapped;

	screen_history_line(t->s, 2, back, 30, &wrapped);
	assert_false(wrapped);
	assert_int_equal(back[0].ch, '4');
	assert_int_equal(back[5].ch, '9');
}

static void
history_width_is_used_cells(void **state)
{
	struct t_round	*t = *state;

	assert_int_equal(screen_history_width(t->s, 0), 30);
	assert_int_equal(screen_history_width(t->s, 2), 6);
}

static void
history_decode_into_fewer_columns(void **state)
{
	struct t_round	*t = *state;
	struct cell	 back[10];

	screen_history_line(t->s, 0, back, 10, NULL);
	/* The last column holds the wide character, or a blank if cut. */
	if (back[9].ch != 0)
		assert_int_equal(back[9].ch, 0x6587);
}

#define T_ON(setup, test, teardown) \
	cmocka_unit_test_setup_teardown(test, setup, teardown)
#define T_LIMIT(test) T_ON(t_twenty_lines, test, t_free_screen)

int
main(void)
{
	const struct CMUnitTest vterm_history[] = {
		cmocka_unit_test(scroll_moves_top_lines_into_history),
		cmocka_unit_test(history_keeps_order_oldest_first),
		cmocka_unit_test(scroll_region_below_top_adds_no_history),
		cmocka_unit_test(scroll_region_at_top_adds_history),
		cmocka_unit_test(history_clear_empties),
		T_LIMIT(history_line_limit_holds),
		T_LIMIT(history_limit_drops_oldest),
		T_LIMIT(set_history_limit_shrinks),
		T_LIMIT(shrunk_limit_keeps_working),
		T_LIMIT(zero_limit_keeps_no_history),
		T_ON(t_budget_setup, budget_used_stays_under_limit,
		    t_budget_teardown),
		T_ON(t_budget_setup, budget_used_is_sum_of_screens,
		    t_budget_teardown),
		T_ON(t_budget_setup, budget_both_screens_keep_lines,
		    t_budget_teardown),
		T_ON(t_budget_setup, budget_drops_lines, t_budget_teardown),
		T_ON(t_budget_setup, freeing_screen_returns_its_bytes,
		    t_budget_teardown),
		T_ON(t_budget_setup, budget_zero_after_all_freed,
		    t_budget_teardown),
		cmocka_unit_test(history_line_is_compact),
		cmocka_unit_test(history_trims_trailing_blanks),
		T_ON(t_round_setup, round_trip_lines_pushed, t_round_teardown),
		T_ON(t_round_setup, history_line_decodes_exactly,
		    t_round_teardown),
		T_ON(t_round_setup, history_keeps_wrapped_flag,
		    t_round_teardown),
		T_ON(t_round_setup, history_continuation_line,
		    t_round_teardown),
		T_ON(t_round_setup, history_width_is_used_cells,
		    t_round_teardown),
		T_ON(t_round_setup, history_decode_into_fewer_columns,
		    t_round_teardown),
	};

	return (cmocka_run_group_tests(vterm_history, NULL, NULL));
}

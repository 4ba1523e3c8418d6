/*
 * regress/test-vterm-history.c: the scrollback: lines leave the top of the
 * main screen in order, limits in lines and in shared bytes, the compact
 * encoding and its exact decoding.
 */
#include <string.h>

#include "vterm/vterm.h"
#include "regress/tap.h"

static void
t_feed(struct screen *s, const char *str)
{
	screen_write(s, str, strlen(str));
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

static void
test_scroll_into_history(void)
{
	struct screen	*s = screen_new(10, 3, 100, NULL, NULL, NULL);

	t_feed(s, "one\r\ntwo\r\nthree\r\nfour\r\nfive");
	TAP_OK(screen_history_size(s) == 2, "scroll_moves_top_lines_into_history");
	TAP_OK(strcmp(t_hline(s, 0), "one") == 0 &&
	    strcmp(t_hline(s, 1), "two") == 0, "history_keeps_order_oldest_first");
	t_feed(s, "\033[2;3r\033[3;1H\n\n\n\033[r");
	TAP_OK(screen_history_size(s) == 2,
	    "scroll_region_below_top_adds_no_history");
	t_feed(s, "\033[1;2r\033[2;1H\n\033[r");
	TAP_OK(screen_history_size(s) == 3 && strcmp(t_hline(s, 2), "three") == 0,
	    "scroll_region_at_top_adds_history");
	screen_history_clear(s);
	TAP_OK(screen_history_size(s) == 0 && screen_history_bytes(s) == 0,
	    "history_clear_empties");
	screen_free(s);
}

static void
test_line_limit(void)
{
	struct screen	*s = screen_new(10, 2, 5, NULL, NULL, NULL);
	char		 line[32];
	int		 i;

	for (i = 0; i < 20; i++) {
		snprintf(line, sizeof line, "l%d\r\n", i);
		t_feed(s, line);
	}
	TAP_OK(screen_history_size(s) == 5, "history_line_limit_holds");
	TAP_OK(strcmp(t_hline(s, 0), "l14") == 0 &&
	    strcmp(t_hline(s, 4), "l18") == 0, "history_limit_drops_oldest");
	screen_set_history_limit(s, 2);
	TAP_OK(screen_history_size(s) == 2 && strcmp(t_hline(s, 0), "l17") == 0,
	    "set_history_limit_shrinks");
	t_feed(s, "x\r\ny\r\nz\r\n");
	TAP_OK(screen_history_size(s) == 2 && strcmp(t_hline(s, 1), "y") == 0,
	    "shrunk_limit_keeps_working");
	screen_set_history_limit(s, 0);
	t_feed(s, "a\r\nb\r\n");
	TAP_OK(screen_history_size(s) == 0, "zero_limit_keeps_no_history");
	screen_free(s);
}

static void
test_budget(void)
{
	struct history_budget	 b = { 20000, 0 };
	struct screen		*s1, *s2;
	char			 line[128];
	int			 i;

	s1 = screen_new(80, 5, 100000, &b, NULL, NULL);
	s2 = screen_new(80, 5, 100000, &b, NULL, NULL);
	for (i = 0; i < 2000; i++) {
		snprintf(line, sizeof line, "%05d the quick brown fox jumps "
		    "over the lazy dog\r\n", i);
		t_feed(i % 2 ? s2 : s1, line);
	}
	TAP_OK(b.used <= b.limit, "budget_used_stays_under_limit");
	TAP_OK(b.used == screen_history_bytes(s1) + screen_history_bytes(s2),
	    "budget_used_is_sum_of_screens");
	TAP_OK(screen_history_size(s1) > 16 && screen_history_size(s2) > 16,
	    "budget_both_screens_keep_lines");
	TAP_OK(screen_history_size(s1) < 1000, "budget_drops_lines");
	screen_free(s1);
	TAP_OK(b.used == screen_history_bytes(s2),
	    "freeing_screen_returns_its_bytes");
	screen_free(s2);
	TAP_OK(b.used == 0, "budget_zero_after_all_freed");
}

static void
test_compact(void)
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
	TAP_DIAG("100-col ASCII line: %zu bytes in history", per);
	TAP_OK(per < 100 * 5 / 3, "history_line_is_compact");
	screen_free(s);

	s = screen_new(80, 2, 1000, NULL, NULL, NULL);
	for (i = 0; i < 200; i++)
		t_feed(s, "short line\r\n");
	per = screen_history_bytes(s) / screen_history_size(s);
	TAP_DIAG("short line on 80 cols: %zu bytes", per);
	TAP_OK(per < 50, "history_trims_trailing_blanks");
	screen_free(s);
}

static void
test_round_trip(void)
{
	struct screen	*s = screen_new(30, 3, 100, NULL, NULL, NULL);
	struct cell	 row[30], back[30];
	int		 wrapped, ok = 1, x;

	t_feed(s, "\033[1;31mred\033[0m \033[38;2;9;8;7;48;5;200mrgb\033[0m "
	    "\xe4\xb8\xad\xe6\x96\x87 e\xcc\x81 \033[44m\033[K\r\n");
	memcpy(row, screen_row(s, 0), sizeof row);
	t_feed(s, "abcdefghijklmnopqrstuvwxyz0123456789\r\n\n\n");
	TAP_OK(screen_history_size(s) == 3, "round_trip_lines_pushed");
	screen_history_line(s, 0, back, 30, &wrapped);
	for (x = 0; x < 30; x++)
		ok &= memcmp(&row[x], &back[x], sizeof row[x]) == 0;
	TAP_OK(ok && !wrapped, "history_line_decodes_exactly");
	screen_history_line(s, 1, back, 30, &wrapped);
	TAP_OK(wrapped && back[29].ch == '3', "history_keeps_wrapped_flag");
	screen_history_line(s, 2, back, 30, &wrapped);
	TAP_OK(!wrapped && back[0].ch == '4' && back[5].ch == '9',
	    "history_continuation_line");
	TAP_OK(screen_history_width(s, 0) == 30 &&
	    screen_history_width(s, 2) == 6, "history_width_is_used_cells");
	screen_history_line(s, 0, back, 10, NULL);
	TAP_OK(back[9].ch == 0x6587 || back[9].ch == 0,
	    "history_decode_into_fewer_columns");
	screen_free(s);
}

int
main(void)
{
	test_scroll_into_history();
	test_line_limit();
	test_budget();
	test_compact();
	test_round_trip();
	return (tap_done());
}

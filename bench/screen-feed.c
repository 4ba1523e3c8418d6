/*
 * bench/screen-feed.c: throughput of the screen model on a ~50 MiB coloured
 * text flood (16/256/truecolour SGR, UTF-8, CJK, CRLF lines; fixed seed) fed
 * in 64 KiB chunks, plus the cost of a diff render after every chunk, and
 * libvterm's own screen layer on the same input for comparison.  Built by
 * hand, not by make:
 *   gcc -O2 -I. bench/screen-feed.c libscreen.a libcommon.a \
 *       $(pkg-config --cflags --libs vterm) -o bench/screen-feed
 *   bench/screen-feed [cols rows [MiB [write|render|libvterm]]]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vterm.h>

#include "vterm/vterm.h"

#define CHUNK	65536

static uint32_t	 seed = 42;

static u_int
rnd(u_int n)
{
	seed = seed * 1664525 + 1013904223;
	return ((seed >> 8) % n);
}

static const char *words[] = {
	"the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog",
	"error:", "warning", "src/main.c:42:", "0x7ffd1234", "caf\xc3\xa9",
	"\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80", "\xe4\xb8\xad\xe6\x96\x87",
	"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", "na\xc3\xafve", "OK", "[done]",
	"compiling", "linking", "=>", "{", "}", "12345", "-rw-r--r--"
};

/* A stream of coloured lines, about size bytes. */
static char *
generate(size_t size, size_t *len)
{
	struct buf	 b;
	u_int		 col, w;

	buf_init(&b);
	while (b.len < size) {
		col = 0;
		w = 20 + rnd(110);
		while (col < w) {
			switch (rnd(12)) {
			case 0:
				buf_printf(&b, "\033[%um", 31 + rnd(7));
				break;
			case 1:
				buf_printf(&b, "\033[38;5;%um", rnd(256));
				break;
			case 2:
				buf_printf(&b, "\033[38;2;%u;%u;%um", rnd(256),
				    rnd(256), rnd(256));
				break;
			case 3:
				buf_addstr(&b, rnd(2) ? "\033[1m" : "\033[0m");
				break;
			default:
				break;
			}
			buf_addstr(&b, words[rnd(nitems(words))]);
			buf_addstr(&b, " ");
			col += 7;
		}
		buf_addstr(&b, "\033[0m\r\n");
	}
	*len = b.len;
	return (b.data);
}

static double
seconds(void)
{
	return (now_us() / 1e6);
}

static void
bench_screen(const char *in, size_t len, u_int cols, u_int rows, int draw)
{
	struct screen	*s = screen_new(cols, rows, 2000, NULL, NULL, NULL);
	struct render	*r = render_new();
	struct buf	 out;
	size_t		 off, n, bytes = 0;
	double		 t0, t1, tr = 0;
	u_int		 cx, cy;

	buf_init(&out);
	t0 = seconds();
	for (off = 0; off < len; off += n) {
		n = len - off < CHUNK ? len - off : CHUNK;
		screen_write(s, in + off, n);
		if (!draw)
			continue;
		t1 = seconds();
		buf_reset(&out);
		render_begin(r, cols, rows, &out);
		render_screen(r, s, 0);
		screen_cursor(s, &cx, &cy);
		bytes += render_end(r, cx, cy, screen_modes(s));
		tr += seconds() - t1;
	}
	t1 = seconds() - t0;
	if (!draw)
		printf("%ux%u screen_write: %.1f MiB/s (%.2f s), history %u lines"
		    " %.1f bytes/line\n", cols, rows, len / 1048576.0 / t1, t1,
		    screen_history_size(s), (double)screen_history_bytes(s) /
		    screen_history_size(s));
	else
		printf("%ux%u write+render every 64 KiB: %.1f MiB/s; render "
		    "%.3f s total, %.1f us/frame, %.0f bytes/frame\n", cols, rows,
		    len / 1048576.0 / t1, tr, tr * 1e6 / (len / CHUNK + 1),
		    (double)bytes / (len / CHUNK + 1));
	buf_free(&out);
	render_free(r);
	screen_free(s);
}

/* libvterm's screen layer with scrollback copied out, as DEPS.md measured. */
static VTermScreenCell	 sb_lines[2000][512];
static u_int		 sb_next;

static int
lv_pushline(int cols, const VTermScreenCell *cells, void *arg)
{
	memcpy(sb_lines[sb_next++ % 2000], cells,
	    (cols > 512 ? 512 : cols) * sizeof *cells);
	return (1);
}

static int
lv_damage(VTermRect rect, void *arg)
{
	return (1);
}

static void
bench_libvterm(const char *in, size_t len, u_int cols, u_int rows)
{
	VTermScreenCallbacks	 cb = { .damage = lv_damage,
				    .sb_pushline = lv_pushline };
	VTerm			*vt = vterm_new(rows, cols);
	VTermScreen		*vs;
	size_t			 off, n;
	double			 t0, t1;

	vterm_set_utf8(vt, 1);
	vs = vterm_obtain_screen(vt);
	vterm_screen_set_callbacks(vs, &cb, NULL);
	vterm_screen_enable_altscreen(vs, 1);
	vterm_screen_set_damage_merge(vs, VTERM_DAMAGE_SCROLL);
	vterm_screen_reset(vs, 1);
	t0 = seconds();
	for (off = 0; off < len; off += n) {
		n = len - off < CHUNK ? len - off : CHUNK;
		vterm_input_write(vt, in + off, n);
		vterm_screen_flush_damage(vs);
	}
	t1 = seconds() - t0;
	printf("%ux%u libvterm screen layer: %.1f MiB/s (%.2f s)\n", cols, rows,
	    len / 1048576.0 / t1, t1);
	vterm_free(vt);
}

int
main(int argc, char **argv)
{
	u_int		 cols = 120, rows = 40, mib = 50;
	size_t		 len;
	char		*in;
	const char	*only = argc >= 5 ? argv[4] : NULL;

	if (argc >= 3) {
		cols = atoi(argv[1]);
		rows = atoi(argv[2]);
	}
	if (argc >= 4)
		mib = atoi(argv[3]);
	in = generate((size_t)mib << 20, &len);
	printf("input: %.1f MiB\n", len / 1048576.0);
	if (only == NULL || strcmp(only, "write") == 0)
		bench_screen(in, len, cols, rows, 0);
	if (only == NULL || strcmp(only, "render") == 0)
		bench_screen(in, len, cols, rows, 1);
	if (only == NULL || strcmp(only, "libvterm") == 0)
		bench_libvterm(in, len, cols, rows);
	free(in);
	return (0);
}

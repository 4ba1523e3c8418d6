/*
 * regress/test-tty-keys.c: client/tty-keys.c turns terminal bytes into key,
 * paste, mouse and focus events, the same however the bytes are split; and
 * client/tty.c sets up and restores a real pseudo-terminal.
 */

#include <sys/ioctl.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <term.h>
#include <termios.h>
#include <unistd.h>

#include "common/common.h"
#include "client/tty.h"

#include <cmocka.h>

#define MAXEV	64

struct rec {
	u_int			 n;
	struct tty_event	 ev[MAXEV];
	char			*paste[MAXEV];	/* copies of ev[].data */
};

static void
rec_cb(const struct tty_event *ev, void *arg)
{
	struct rec	*r = arg;

	if (r->n == MAXEV)
		return;
	r->ev[r->n] = *ev;
	r->paste[r->n] = NULL;
	if (ev->type == TTY_EV_PASTE) {
		r->paste[r->n] = xmalloc(ev->len + 1);
		memcpy(r->paste[r->n], ev->data, ev->len);
		r->paste[r->n][ev->len] = '\0';
		r->ev[r->n].data = r->paste[r->n];
	}
	r->n++;
}

static void
rec_clear(struct rec *r)
{
	u_int	i;

	for (i = 0; i < r->n; i++)
		free(r->paste[i]);
	r->n = 0;
}

/* Feed s (in pieces of step bytes, 0 for all at once), then flush. */
static int
run(struct rec *r, const char *s, size_t len, size_t step, int flush)
{
	struct tty_keys	*tk;
	size_t		 off, n;
	int		 pending = 0;

	rec_clear(r);
	tk = tty_keys_new();
	if (step == 0)
		step = len;
	for (off = 0; off < len; off += n) {
		n = len - off < step ? len - off : step;
		pending = tty_keys_feed(tk, s + off, n, rec_cb, r);
	}
	if (flush)
		tty_keys_flush(tk, rec_cb, r);
	tty_keys_free(tk);
	return (pending);
}

static int
ev_equal(const struct tty_event *a, const struct tty_event *b)
{
	if (a->type != b->type || a->key != b->key || a->len != b->len ||
	    a->x != b->x || a->y != b->y || a->button != b->button ||
	    a->pressed != b->pressed || a->mods != b->mods ||
	    a->motion != b->motion)
		return (0);
	if (a->type == TTY_EV_PASTE && memcmp(a->data, b->data, a->len) != 0)
		return (0);
	return (1);
}

/* The events are equal field by field; what names the case if not. */
static void
t_assert_ev_equal(const struct tty_event *got, const struct tty_event *want,
    const char *what)
{
	if (!ev_equal(got, want))
		print_message("# %s: events differ\n", what);
	assert_int_equal(got->type, want->type);
	assert_int_equal(got->key, want->key);
	assert_int_equal(got->len, want->len);
	assert_int_equal(got->x, want->x);
	assert_int_equal(got->y, want->y);
	assert_int_equal(got->button, want->button);
	assert_int_equal(got->pressed, want->pressed);
	assert_int_equal(got->mods, want->mods);
	assert_int_equal(got->motion, want->motion);
	if (want->type == TTY_EV_PASTE)
		assert_memory_equal(got->data, want->data, want->len);
}

/* Whole, byte by byte and in twos, threes and fives give the same events. */
static void
t_assert_splits_agree(const char *s, size_t len, const char *what)
{
	struct rec	whole = { 0 }, part = { 0 };
	size_t		steps[] = { 1, 2, 3, 5 };
	u_int		i, j;

	run(&whole, s, len, 0, 1);
	for (i = 0; i < nitems(steps); i++) {
		run(&part, s, len, steps[i], 1);
		if (part.n != whole.n) {
			print_message("# %s: %u events in %zu-byte pieces, "
			    "%u whole\n", what, part.n, steps[i], whole.n);
		}
		assert_int_equal(part.n, whole.n);
		for (j = 0; j < whole.n; j++)
			t_assert_ev_equal(&part.ev[j], &whole.ev[j], what);
	}
	rec_clear(&whole);
	rec_clear(&part);
}

/* Exactly one key event with this code, however the bytes are split. */
static void
t_assert_one_key(const char *s, key_code key, const char *what)
{
	struct rec	r = { 0 };

	run(&r, s, strlen(s), 0, 1);
	if (r.n != 1 || r.ev[0].type != TTY_EV_KEY || r.ev[0].key != key) {
		print_message("# %s: got %u events, first type %d key %#llx\n",
		    what, r.n, r.n >= 1 ? (int)r.ev[0].type : -1,
		    r.n >= 1 ? (unsigned long long)r.ev[0].key : 0);
	}
	assert_int_equal(r.n, 1);
	assert_int_equal(r.ev[0].type, TTY_EV_KEY);
	assert_int_equal(r.ev[0].key, key);
	assert_int_equal(r.ev[0].mods, (int)((key & KEYC_MASK_MODS) >> 32));
	rec_clear(&r);
	t_assert_splits_agree(s, strlen(s), what);
}

/* A string with control bytes escaped, for the log. */
static const char *
t_vis(const char *s)
{
	static char	 line[8192];
	size_t		 n = 0;
	u_char		 c;

	for (; *s != '\0' && n + 5 < sizeof line; s++) {
		c = *s;
		if (c < 0x20 || c == 0x7f || c == '\\')
			n += snprintf(line + n, sizeof line - n, "\\%03o", c);
		else
			line[n++] = c;
	}
	line[n] = '\0';
	return (line);
}

/* want is in the terminal output; returns where. */
static const char *
t_assert_contains(const char *out, const char *want)
{
	const char	*p = strstr(out, want);

	if (p == NULL)
		print_message("# output: %s\n", t_vis(out));
	assert_non_null(p);
	return (p);
}

/* Sequences that are one key each. */
static const struct {
	const char	*s;
	key_code	 key;
	const char	*what;
} keys[] = {
	{ "a", 'a', "ASCII letter" },
	{ "~", '~', "ASCII punctuation" },
	{ " ", ' ', "space" },
	{ "\xc3\xa9", 0xe9, "two-byte UTF-8" },
	{ "\xe4\xb8\xad", 0x4e2d, "three-byte UTF-8" },
	{ "\xf0\x9f\x98\x80", 0x1f600, "four-byte UTF-8" },
	{ "\r", KEYC_ENTER, "CR is Enter" },
	{ "\n", 'j' | KEYC_CTRL, "LF is C-j" },
	{ "\t", KEYC_TAB, "HT is Tab" },
	{ "\x7f", KEYC_BSPACE, "DEL is BSpace" },
	{ "\x08", KEYC_BSPACE, "BS is BSpace" },
	{ "\x03", 'c' | KEYC_CTRL, "0x03 is C-c" },
	{ "\x01", 'a' | KEYC_CTRL, "0x01 is C-a" },
	{ "\x1a", 'z' | KEYC_CTRL, "0x1a is C-z" },
	{ "\x1c", '\\' | KEYC_CTRL, "0x1c is C-\\" },
	{ "\x1d", ']' | KEYC_CTRL, "0x1d is C-]" },
	{ "\x1e", '^' | KEYC_CTRL, "0x1e is C-^" },
	{ "\x1f", '_' | KEYC_CTRL, "0x1f is C-_" },
	{ "\033x", 'x' | KEYC_META, "ESC x is M-x" },
	{ "\033X", 'X' | KEYC_META, "ESC X is M-X" },
	{ "\033\x03", 'c' | KEYC_META | KEYC_CTRL, "ESC ^C is C-M-c" },
	{ "\033\r", KEYC_ENTER | KEYC_META, "ESC CR is M-Enter" },
	{ "\033\xc3\xa9", 0xe9 | KEYC_META, "ESC é is M-é" },
	{ "\033", KEYC_ESCAPE, "lone ESC after flush is Escape" },
	{ "\033\033", KEYC_ESCAPE | KEYC_META, "ESC ESC is M-Escape" },
	{ "\033[A", KEYC_UP, "CSI A is Up" },
	{ "\033[B", KEYC_DOWN, "CSI B is Down" },
	{ "\033[C", KEYC_RIGHT, "CSI C is Right" },
	{ "\033[D", KEYC_LEFT, "CSI D is Left" },
	{ "\033[H", KEYC_HOME, "CSI H is Home" },
	{ "\033[F", KEYC_END, "CSI F is End" },
	{ "\033OA", KEYC_UP, "SS3 A is Up" },
	{ "\033OB", KEYC_DOWN, "SS3 B is Down" },
	{ "\033OC", KEYC_RIGHT, "SS3 C is Right" },
	{ "\033OD", KEYC_LEFT, "SS3 D is Left" },
	{ "\033OH", KEYC_HOME, "SS3 H is Home" },
	{ "\033OF", KEYC_END, "SS3 F is End" },
	{ "\033[1;2A", KEYC_UP | KEYC_SHIFT, "CSI 1;2A is S-Up" },
	{ "\033[1;3B", KEYC_DOWN | KEYC_META, "CSI 1;3B is M-Down" },
	{ "\033[1;4C", KEYC_RIGHT | KEYC_SHIFT | KEYC_META,
	  "CSI 1;4C is M-S-Right" },
	{ "\033[1;5D", KEYC_LEFT | KEYC_CTRL, "CSI 1;5D is C-Left" },
	{ "\033[1;6H", KEYC_HOME | KEYC_CTRL | KEYC_SHIFT,
	  "CSI 1;6H is C-S-Home" },
	{ "\033[1;7F", KEYC_END | KEYC_CTRL | KEYC_META,
	  "CSI 1;7F is C-M-End" },
	{ "\033[1;8A", KEYC_UP | KEYC_CTRL | KEYC_META | KEYC_SHIFT,
	  "CSI 1;8A is C-M-S-Up" },
	{ "\033O5A", KEYC_UP | KEYC_CTRL, "SS3 5A is C-Up" },
	{ "\033[1~", KEYC_HOME, "CSI 1~ is Home" },
	{ "\033[2~", KEYC_INSERT, "CSI 2~ is IC" },
	{ "\033[3~", KEYC_DELETE, "CSI 3~ is DC" },
	{ "\033[4~", KEYC_END, "CSI 4~ is End" },
	{ "\033[5~", KEYC_PPAGE, "CSI 5~ is PPage" },
	{ "\033[6~", KEYC_NPAGE, "CSI 6~ is NPage" },
	{ "\033[7~", KEYC_HOME, "CSI 7~ is Home" },
	{ "\033[8~", KEYC_END, "CSI 8~ is End" },
	{ "\033[11~", KEYC_F1, "CSI 11~ is F1" },
	{ "\033[12~", KEYC_F2, "CSI 12~ is F2" },
	{ "\033[13~", KEYC_F3, "CSI 13~ is F3" },
	{ "\033[14~", KEYC_F4, "CSI 14~ is F4" },
	{ "\033[15~", KEYC_F5, "CSI 15~ is F5" },
	{ "\033[17~", KEYC_F6, "CSI 17~ is F6" },
	{ "\033[18~", KEYC_F7, "CSI 18~ is F7" },
	{ "\033[19~", KEYC_F8, "CSI 19~ is F8" },
	{ "\033[20~", KEYC_F9, "CSI 20~ is F9" },
	{ "\033[21~", KEYC_F10, "CSI 21~ is F10" },
	{ "\033[23~", KEYC_F11, "CSI 23~ is F11" },
	{ "\033[24~", KEYC_F12, "CSI 24~ is F12" },
	{ "\033[3;5~", KEYC_DELETE | KEYC_CTRL, "CSI 3;5~ is C-DC" },
	{ "\033[15;2~", KEYC_F5 | KEYC_SHIFT, "CSI 15;2~ is S-F5" },
	{ "\033[Z", KEYC_BTAB, "CSI Z is BTab" },
	{ "\033[1;5P", KEYC_F1 | KEYC_CTRL, "CSI 1;5P is C-F1" },
	{ "\033OP", KEYC_F1, "SS3 P is F1" },
	{ "\033OQ", KEYC_F2, "SS3 Q is F2" },
	{ "\033OR", KEYC_F3, "SS3 R is F3" },
	{ "\033OS", KEYC_F4, "SS3 S is F4" },
	{ "\033Op", KEYC_KP0, "SS3 p is KP0" },
	{ "\033Ot", KEYC_KP4, "SS3 t is KP4" },
	{ "\033Oy", KEYC_KP9, "SS3 y is KP9" },
	{ "\033OM", KEYC_KPENTER, "SS3 M is KPEnter" },
	{ "\033On", KEYC_KPPERIOD, "SS3 n is KP." },
	{ "\033Ok", KEYC_KPPLUS, "SS3 k is KP+" },
	{ "\033Om", KEYC_KPMINUS, "SS3 m is KP-" },
	{ "\033Oj", KEYC_KPMULT, "SS3 j is KP*" },
	{ "\033Oo", KEYC_KPDIV, "SS3 o is KP/" },
	{ "\033[[A", KEYC_F1, "Linux console CSI [A is F1" },
	{ "\033\033[A", KEYC_UP | KEYC_META, "ESC CSI A is M-Up" },
	{ "\033[", '[' | KEYC_META, "ESC [ then flush is M-[" },
	{ "\033O", 'O' | KEYC_META, "ESC O then flush is M-O" }
};

/* Sequences and the list of keys they give. */
static const struct {
	const char	*s;
	size_t		 len;
	key_code	 keys[6];
	u_int		 nkeys;
	const char	*what;
} texts[] = {
	{ "hi\xc3\xa9!", 5, { 'h', 'i', 0xe9, '!' }, 4,
	  "text is one key per code point" },
	{ "\xff" "a", 2, { 0xfffd, 'a' }, 2, "invalid byte is U+FFFD" },
	{ "\xc3(", 2, { 0xfffd, '(' }, 2,
	  "bad continuation is U+FFFD then the byte" },
	{ "\xe4\xb8", 2, { 0xfffd }, 1, "truncated UTF-8 at flush is U+FFFD" },
	{ "\xed\xa0\x80", 3, { 0xfffd, 0xfffd, 0xfffd }, 3,
	  "UTF-8 surrogate is rejected" },
	{ "\xc0\xaf", 2, { 0xfffd, 0xfffd }, 2, "overlong UTF-8 is rejected" },
	{ "\x80", 1, { 0xfffd }, 1, "stray continuation is U+FFFD" },
	{ "\0", 1, { ' ' | KEYC_CTRL }, 1, "NUL is C-Space" },
	{ "\033[99~x", 6, { 'x' }, 1, "unknown CSI ~ is swallowed" },
	{ "\033[?1;2cx", 8, { 'x' }, 1, "unknown private CSI is swallowed" },
	{ "\033[1;5Xy", 7, { 'y' }, 1, "unknown CSI final is swallowed" },
	{ "\033[\r", 3, { '[' | KEYC_META, KEYC_ENTER }, 2,
	  "broken CSI is M-[ then the rest" },
	{ "\033Oz", 3, { 'O' | KEYC_META, 'z' }, 2,
	  "unknown SS3 is M-O then the rest" },
	{ "\033\033\033", 3, { KEYC_ESCAPE | KEYC_META, KEYC_ESCAPE }, 2,
	  "three ESCs are M-Escape, Escape" },
	{ "\033[A\033[B\033OC", 9, { KEYC_UP, KEYC_DOWN, KEYC_RIGHT }, 3,
	  "back-to-back sequences" },
	{ "\033[201~z", 7, { 'z' }, 1, "paste end outside a paste is swallowed" }
};

static void
each_key_sequence_is_one_key_however_split(void **state __unused)
{
	u_int	 i;

	for (i = 0; i < nitems(keys); i++)
		t_assert_one_key(keys[i].s, keys[i].key, keys[i].what);
}

static void
texts_give_their_keys_however_split(void **state __unused)
{
	struct rec	r = { 0 };
	u_int		i, j;

	for (i = 0; i < nitems(texts); i++) {
		run(&r, texts[i].s, texts[i].len, 0, 1);
		if (r.n != texts[i].nkeys) {
			print_message("# %s: got %u events\n", texts[i].what,
			    r.n);
		}
		assert_int_equal(r.n, texts[i].nkeys);
		for (j = 0; j < r.n; j++) {
			if (r.ev[j].type != TTY_EV_KEY ||
			    r.ev[j].key != texts[i].keys[j]) {
				print_message("# %s: key %u\n", texts[i].what,
				    j);
			}
			assert_int_equal(r.ev[j].type, TTY_EV_KEY);
			assert_int_equal(r.ev[j].key, texts[i].keys[j]);
		}
		t_assert_splits_agree(texts[i].s, texts[i].len, texts[i].what);
	}
	rec_clear(&r);
}

/* Pending input: one tty_keys fed piece by piece, recording into r. */
struct t_feeder {
	struct tty_keys	*tk;
	struct rec	 r;
};

static int
t_feeder_new(void **state)
{
	struct t_feeder	*f = calloc(1, sizeof *f);

	if (f == NULL)
		return (-1);
	f->tk = tty_keys_new();
	*state = f;
	return (0);
}

static int
t_feeder_free(void **state)
{
	struct t_feeder	*f = *state;

	rec_clear(&f->r);
	tty_keys_free(f->tk);
	free(f);
	return (0);
}

static int
t_feed(struct t_feeder *f, const char *s, size_t len)
{
	return (tty_keys_feed(f->tk, s, len, rec_cb, &f->r));
}

static void
lone_esc_is_held_and_feed_reports_pending(void **state)
{
	struct t_feeder	*f = *state;

	assert_int_equal(t_feed(f, "\033", 1), 1);
	assert_int_equal(f->r.n, 0);
}

static void
flush_turns_the_held_esc_into_escape(void **state)
{
	struct t_feeder	*f = *state;

	t_feed(f, "\033", 1);
	tty_keys_flush(f->tk, rec_cb, &f->r);
	assert_int_equal(f->r.n, 1);
	assert_int_equal(f->r.ev[0].key, KEYC_ESCAPE);
}

static void
partial_csi_is_held(void **state)
{
	struct t_feeder	*f = *state;

	assert_int_equal(t_feed(f, "\033[1;", 4), 1);
	assert_int_equal(f->r.n, 0);
}

static void
rest_of_the_csi_completes_c_up_and_nothing_is_pending(void **state)
{
	struct t_feeder	*f = *state;

	t_feed(f, "\033[1;", 4);
	assert_int_equal(t_feed(f, "5A", 2), 0);
	assert_int_equal(f->r.n, 1);
	assert_int_equal(f->r.ev[0].key, KEYC_UP | KEYC_CTRL);
}

static void
plain_text_is_not_held(void **state)
{
	struct t_feeder	*f = *state;

	assert_int_equal(t_feed(f, "ab", 2), 0);
	assert_int_equal(f->r.n, 2);
}

static void
first_byte_of_utf8_is_held(void **state)
{
	struct t_feeder	*f = *state;

	assert_int_equal(t_feed(f, "\xe4", 1), 1);
	assert_int_equal(f->r.n, 0);
}

static void
utf8_split_across_feeds_is_one_key(void **state)
{
	struct t_feeder	*f = *state;

	t_feed(f, "\xe4", 1);
	assert_int_equal(t_feed(f, "\xb8\xad", 2), 0);
	assert_int_equal(f->r.n, 1);
	assert_int_equal(f->r.ev[0].key, 0x4e2d);
}

/* Bracketed paste. */
static const char t_p1[] = "a\033[200~hello\r\nworld\033[201~b";
static const char t_p2[] = "\033[200~x\033[Ay\033\033[20z\033[201~";

static void
bracketed_paste_is_one_event_between_keys(void **state __unused)
{
	struct rec	 r = { 0 };

	run(&r, t_p1, sizeof t_p1 - 1, 0, 0);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.ev[0].key, 'a');
	assert_int_equal(r.ev[1].type, TTY_EV_PASTE);
	assert_int_equal(r.ev[1].len, 12);
	assert_memory_equal(r.ev[1].data, "hello\r\nworld", 12);
	assert_int_equal(r.ev[2].key, 'b');
	rec_clear(&r);
}

static void
paste_split_at_every_byte_is_the_same_event(void **state __unused)
{
	t_assert_splits_agree(t_p1, sizeof t_p1 - 1, "paste");
}

static void
paste_keeps_esc_bytes_and_near_terminators_as_data(void **state __unused)
{
	struct rec	 r = { 0 };

	run(&r, t_p2, sizeof t_p2 - 1, 0, 0);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.ev[0].type, TTY_EV_PASTE);
	assert_int_equal(r.ev[0].len, 11);
	assert_memory_equal(r.ev[0].data, "x\033[Ay\033\033[20z", 11);
	rec_clear(&r);
}

static void
paste_with_esc_bytes_split_at_every_byte_is_the_same(void **state __unused)
{
	t_assert_splits_agree(t_p2, sizeof t_p2 - 1, "paste with ESC bytes");
}

static void
empty_paste_is_one_empty_event(void **state __unused)
{
	const char	 p3[] = "\033[200~\033[201~";
	struct rec	 r = { 0 };

	run(&r, p3, sizeof p3 - 1, 0, 0);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.ev[0].type, TTY_EV_PASTE);
	assert_int_equal(r.ev[0].len, 0);
	rec_clear(&r);
}

static void
unfinished_paste_is_not_pending_and_flush_does_not_end_it(void **state)
{
	struct t_feeder	*f = *state;

	assert_int_equal(t_feed(f, "\033[200~abc\033[2", 12), 0);
	tty_keys_flush(f->tk, rec_cb, &f->r);
	assert_int_equal(f->r.n, 0);
}

static void
paste_terminator_split_across_feeds_ends_the_paste(void **state)
{
	struct t_feeder	*f = *state;

	t_feed(f, "\033[200~abc\033[2", 12);
	tty_keys_flush(f->tk, rec_cb, &f->r);
	t_feed(f, "01~\033[B", 6);
	assert_int_equal(f->r.n, 2);
	assert_int_equal(f->r.ev[0].type, TTY_EV_PASTE);
	assert_int_equal(f->r.ev[0].len, 3);
	assert_memory_equal(f->r.ev[0].data, "abc", 3);
	assert_int_equal(f->r.ev[1].key, KEYC_DOWN);
}

/* Over 16 MiB arrives in pieces, each at most 16 MiB, nothing lost. */
static void
paste_over_16_mib_is_delivered_as_16_mib_then_the_rest(void **state)
{
	struct t_feeder	*f = *state;
	size_t		 bigsz = 17U * 1024 * 1024, got = 0, i;
	char		*big;

	big = xmalloc(bigsz);
	for (i = 0; i < bigsz; i++)
		big[i] = 'a' + i % 26;
	t_feed(f, "\033[200~", 6);
	for (i = 0; i < bigsz; i += 65536)
		t_feed(f, big + i, 65536);
	t_feed(f, "\033[201~", 6);
	for (i = 0; i < f->r.n; i++) {
		assert_int_equal(f->r.ev[i].type, TTY_EV_PASTE);
		assert_in_range(f->r.ev[i].len, 0, 16U * 1024 * 1024);
		assert_in_range(got + f->r.ev[i].len, 0, bigsz);
		assert_memory_equal(f->r.ev[i].data, big + got,
		    f->r.ev[i].len);
		got += f->r.ev[i].len;
	}
	assert_int_equal(f->r.n, 2);
	assert_int_equal(got, bigsz);
	assert_int_equal(f->r.ev[0].len, 16U << 20);
	free(big);
}

/* Mouse reports and the event each gives. */
static const struct {
	const char	*s;
	int		 button, pressed, motion, mods;
	u_int		 x, y;
	const char	*what;
} mice[] = {
	{ "\033[<0;1;1M", 1, 1, 0, 0, 0, 0, "left press at the origin" },
	{ "\033[<0;10;5m", 1, 0, 0, 0, 9, 4, "left release is 0-based" },
	{ "\033[<1;3;4M", 2, 1, 0, 0, 2, 3, "middle press" },
	{ "\033[<2;200;100M", 3, 1, 0, 0, 199, 99, "right press, wide screen" },
	{ "\033[<3;1;1M", 0, 0, 0, 0, 0, 0, "button 3 is a release" },
	{ "\033[<64;5;6M", 4, 1, 0, 0, 4, 5, "wheel up" },
	{ "\033[<65;5;6M", 5, 1, 0, 0, 4, 5, "wheel down" },
	{ "\033[<32;7;8M", 1, 1, 1, 0, 6, 7, "left drag is motion" },
	{ "\033[<35;7;8M", 0, 0, 1, 0, 6, 7, "motion with no button" },
	{ "\033[<4;2;2M", 1, 1, 0, KEYC_SHIFT >> 32, 1, 1, "shift click" },
	{ "\033[<8;2;2M", 1, 1, 0, KEYC_META >> 32, 1, 1, "meta click" },
	{ "\033[<16;2;2M", 1, 1, 0, KEYC_CTRL >> 32, 1, 1, "ctrl click" },
	{ "\033[<80;2;2M", 4, 1, 0, KEYC_CTRL >> 32, 1, 1, "ctrl wheel up" },
	{ "\033[<62;2;2M", 3, 1, 1,
	  (KEYC_CTRL | KEYC_META | KEYC_SHIFT) >> 32, 1, 1,
	  "right drag with every modifier" }
};

static void
mouse_reports_give_their_events_however_split(void **state __unused)
{
	struct rec	r = { 0 };
	u_int		i;

	for (i = 0; i < nitems(mice); i++) {
		run(&r, mice[i].s, strlen(mice[i].s), 0, 0);
		if (r.n != 1 || r.ev[0].type != TTY_EV_MOUSE ||
		    r.ev[0].button != mice[i].button ||
		    r.ev[0].pressed != mice[i].pressed ||
		    r.ev[0].motion != mice[i].motion ||
		    r.ev[0].mods != mice[i].mods ||
		    r.ev[0].x != mice[i].x || r.ev[0].y != mice[i].y)
			print_message("# mouse: %s\n", mice[i].what);
		assert_int_equal(r.n, 1);
		assert_int_equal(r.ev[0].type, TTY_EV_MOUSE);
		assert_int_equal(r.ev[0].button, mice[i].button);
		assert_int_equal(r.ev[0].pressed, mice[i].pressed);
		assert_int_equal(r.ev[0].motion, mice[i].motion);
		assert_int_equal(r.ev[0].mods, mice[i].mods);
		assert_int_equal(r.ev[0].x, mice[i].x);
		assert_int_equal(r.ev[0].y, mice[i].y);
		t_assert_splits_agree(mice[i].s, strlen(mice[i].s),
		    mice[i].what);
	}
	rec_clear(&r);
}

static void
mouse_report_with_two_numbers_is_swallowed(void **state __unused)
{
	struct rec	r = { 0 };

	run(&r, "\033[<1;2Mq", 8, 0, 1);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.ev[0].key, 'q');
	rec_clear(&r);
}

/* Focus reports. */
static const char t_focus[] = "\033[I\033[O";

static void
csi_i_is_focus_in_csi_o_focus_out(void **state __unused)
{
	struct rec	r = { 0 };

	run(&r, t_focus, 6, 0, 0);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.ev[0].type, TTY_EV_FOCUS);
	assert_int_equal(r.ev[0].pressed, 1);
	assert_int_equal(r.ev[1].type, TTY_EV_FOCUS);
	assert_int_equal(r.ev[1].pressed, 0);
	rec_clear(&r);
}

static void
focus_events_split_byte_by_byte(void **state __unused)
{
	t_assert_splits_agree(t_focus, 6, "focus");
}

/* Everything at once, split at every byte, must give the same events. */
static const char t_mixed[] = "x\033[1;5A\xe4\xb8\xad\033Ob\033[<0;3;3M"
    "\033[200~p\033q\033[201~\033[I\033y\033[15;3~\x03";

static void
mixed_input_gives_11_events(void **state __unused)
{
	struct rec	r = { 0 };

	run(&r, t_mixed, sizeof t_mixed - 1, 1, 1);
	assert_int_equal(r.n, 11);
	rec_clear(&r);
}

static void
mixed_input_split_at_every_byte_gives_the_same_events(void **state __unused)
{
	t_assert_splits_agree(t_mixed, sizeof t_mixed - 1, "mixed input");
}

/* Read what the slave wrote, waiting briefly for it. */
static size_t
drain(int master, char *buf, size_t size)
{
	struct pollfd	pfd = { .fd = master, .events = POLLIN };
	size_t		len = 0;
	ssize_t		n;

	while (len < size - 1 && poll(&pfd, 1, 200) == 1) {
		n = read(master, buf + len, size - 1 - len);
		if (n <= 0)
			break;
		len += n;
	}
	buf[len] = '\0';
	return (len);
}

/*
 * A pseudo-terminal on which tty_start ran with xterm-256color.  Teardown
 * stops the tty and unloads terminfo, so each test starts as the client
 * does, with none loaded.
 */
struct t_pty {
	int		 master, slave;
	struct tty	 t;
	struct termios	 before;
	int		 rc;		/* from tty_start */
	char		*cause;
	char		 out[4096];	/* filled by t_output */
};

static void
t_stop(struct t_pty *fx)
{
	alarm(5);	/* a TCSADRAIN that hangs fails the test */
	tty_stop(&fx->t);
	alarm(0);
}

/* Stop, unload terminfo and start again with term. */
static void
t_restart(struct t_pty *fx, const char *term)
{
	t_stop(fx);
	free(fx->t.term);
	if (cur_term != NULL)
		del_curterm(cur_term);
	free(fx->cause);
	fx->cause = NULL;
	memset(&fx->t, 0, sizeof fx->t);
	fx->rc = tty_start(&fx->t, fx->slave, fx->slave, term, &fx->cause);
}

static int
t_pty_setup(void **state)
{
	struct t_pty	*fx = calloc(1, sizeof *fx);

	if (fx == NULL)
		return (-1);
	if (openpty(&fx->master, &fx->slave, NULL, NULL, NULL) != 0) {
		print_message("# openpty: %s\n", strerror(errno));
		free(fx);
		return (-1);
	}
	tcgetattr(fx->slave, &fx->before);
	fx->rc = tty_start(&fx->t, fx->slave, fx->slave, "xterm-256color",
	    &fx->cause);
	*state = fx;
	return (0);
}

static int
t_pty_teardown(void **state)
{
	struct t_pty	*fx = *state;

	t_stop(fx);
	free(fx->t.term);
	if (cur_term != NULL)
		del_curterm(cur_term);
	free(fx->cause);
	close(fx->slave);
	close(fx->master);
	free(fx);
	return (0);
}

/* The fixture's tty_start succeeded. */
static struct t_pty *
t_started(void **state)
{
	struct t_pty	*fx = *state;

	if (fx->rc != 0)
		print_message("# tty_start: %s\n", fx->cause);
	assert_int_equal(fx->rc, 0);
	return (fx);
}

/* What the terminal was sent since the last call. */
static const char *
t_output(struct t_pty *fx)
{
	drain(fx->master, fx->out, sizeof fx->out);
	return (fx->out);
}

static void
tty_start_on_a_pty_succeeds(void **state)
{
	t_started(state);
}

static void
term_is_the_one_given(void **state)
{
	assert_string_equal(t_started(state)->t.term, "xterm-256color");
}

static void
raw_mode_has_no_canonical_input_echo_or_signals(void **state)
{
	struct t_pty	*fx = t_started(state);
	struct termios	 tio;

	tcgetattr(fx->slave, &tio);
	assert_int_equal(tio.c_lflag & (ICANON|ECHO|ISIG|IEXTEN), 0);
}

static void
raw_mode_turns_output_processing_off(void **state)
{
	struct t_pty	*fx = t_started(state);
	struct termios	 tio;

	tcgetattr(fx->slave, &tio);
	assert_int_equal(tio.c_oflag & OPOST, 0);
}

static void
raw_mode_has_no_cr_translation_flow_control_or_stripping(void **state)
{
	struct t_pty	*fx = t_started(state);
	struct termios	 tio;

	tcgetattr(fx->slave, &tio);
	assert_int_equal(tio.c_iflag & (ICRNL|IXON|ISTRIP), 0);
}

static void
raw_mode_has_8_bits_and_no_parity(void **state)
{
	struct t_pty	*fx = t_started(state);
	struct termios	 tio;

	tcgetattr(fx->slave, &tio);
	assert_int_equal(tio.c_cflag & CSIZE, CS8);
	assert_int_equal(tio.c_cflag & PARENB, 0);
}

static void
raw_mode_has_vmin_1_and_vtime_0(void **state)
{
	struct t_pty	*fx = t_started(state);
	struct termios	 tio;

	tcgetattr(fx->slave, &tio);
	assert_int_equal(tio.c_cc[VMIN], 1);
	assert_int_equal(tio.c_cc[VTIME], 0);
}

static void
smcup_is_xterm_256colors(void **state)
{
	assert_string_equal(t_started(state)->t.smcup,
	    "\033[?1049h\033[22;0;0t");
}

static void
tty_start_writes_smcup(void **state)
{
	struct t_pty	*fx = t_started(state);
	const char	*out = t_output(fx);
	const char	*smcup = t_assert_contains(out, "\033[?1049h");

	assert_ptr_equal(t_assert_contains(out, fx->t.smcup), smcup);
}

static void
tty_start_writes_smkx(void **state)
{
	t_assert_contains(t_output(t_started(state)), "\033[?1h\033=");
}

static void
tty_start_enables_bracketed_paste_after_smcup(void **state)
{
	struct t_pty	*fx = t_started(state);

	t_assert_contains(t_assert_contains(t_output(fx), "\033[?1049h"),
	    "\033[?2004h");
}

static void
tty_start_enables_focus_events(void **state)
{
	t_assert_contains(t_output(t_started(state)), "\033[?1004h");
}

static void
tty_size_reads_the_window_size(void **state)
{
	struct t_pty	*fx = t_started(state);
	struct winsize	 ws = { .ws_row = 40, .ws_col = 132 };
	u_int		 cols, rows;

	ioctl(fx->slave, TIOCSWINSZ, &ws);
	tty_size(&fx->t, &cols, &rows);
	assert_int_equal(cols, 132);
	assert_int_equal(rows, 40);
}

static void
tty_size_falls_back_to_80x24(void **state)
{
	struct t_pty	*fx = t_started(state);
	struct winsize	 ws = { .ws_row = 0, .ws_col = 0 };
	u_int		 cols, rows;

	ioctl(fx->slave, TIOCSWINSZ, &ws);
	tty_size(&fx->t, &cols, &rows);
	assert_int_equal(cols, 80);
	assert_int_equal(rows, 24);
}

static void
tty_stop_restores_the_original_termios(void **state)
{
	struct t_pty	*fx = t_started(state);
	struct termios	 after;

	t_stop(fx);
	tcgetattr(fx->slave, &after);
	assert_int_equal(after.c_iflag, fx->before.c_iflag);
	assert_int_equal(after.c_oflag, fx->before.c_oflag);
	assert_int_equal(after.c_cflag, fx->before.c_cflag);
	assert_int_equal(after.c_lflag, fx->before.c_lflag);
	assert_memory_equal(after.c_cc, fx->before.c_cc, sizeof after.c_cc);
}

/* What tty_stop wrote. */
static const char *
t_stopped(void **state)
{
	struct t_pty	*fx = t_started(state);

	t_output(fx);
	t_stop(fx);
	return (t_output(fx));
}

static void
tty_stop_writes_rmcup(void **state)
{
	t_assert_contains(t_stopped(state), "\033[?1049l\033[23;0;0t");
}

static void
tty_stop_turns_off_paste_and_mouse_and_shows_the_cursor(void **state)
{
	const char	*out = t_stopped(state);

	t_assert_contains(out, "\033[?2004l");
	t_assert_contains(out, "\033[?1000l");
	t_assert_contains(out, "\033[?1006l");
	t_assert_contains(out, "\033[?12l\033[?25h");
}

static void
tty_stop_writes_rmkx(void **state)
{
	t_assert_contains(t_stopped(state), "\033[?1l\033>");
}

static void
second_tty_stop_writes_nothing(void **state)
{
	struct t_pty	*fx = *state;
	size_t		 len;

	t_stopped(state);
	t_stop(fx);
	len = drain(fx->master, fx->out, sizeof fx->out);
	if (len != 0)
		print_message("# output: %s\n", t_vis(fx->out));
	assert_int_equal(len, 0);
}

static void
unknown_term_falls_back_to_xterm_256color(void **state)
{
	struct t_pty	*fx = *state;

	t_restart(fx, "no-such-terminal-xyz");
	t_started(state);
	assert_string_equal(fx->t.term, "xterm-256color");
}

/* vt52's cursor keys are ESC A..D, which alone would be Meta. */
static void
without_vt52_terminfo_esc_a_is_meta_a(void **state)
{
	t_started(state);
	t_assert_one_key("\033A", 'A' | KEYC_META, "ESC A with xterm-256color");
}

static void
terminfo_key_strings_are_used_alongside_the_built_in_ones(void **state)
{
	t_restart(*state, "vt52");
	t_started(state);
	t_assert_one_key("\033A", KEYC_UP, "vt52 ESC A");
	t_assert_one_key("\033D", KEYC_LEFT, "vt52 ESC D");
	t_assert_one_key("\033[1;5A", KEYC_UP | KEYC_CTRL, "CSI 1;5A on vt52");
	t_assert_one_key("\033x", 'x' | KEYC_META, "ESC x on vt52");
	t_assert_one_key("\033?t", KEYC_F5, "vt52 ESC ? t");
}

/* tty_start on /dev/null. */
static int
t_dev_null_setup(void **state)
{
	struct t_pty	*fx = calloc(1, sizeof *fx);

	if (fx == NULL)
		return (-1);
	fx->slave = open("/dev/null", O_RDWR);
	fx->master = -1;
	fx->rc = tty_start(&fx->t, fx->slave, fx->slave, "xterm-256color",
	    &fx->cause);
	*state = fx;
	return (0);
}

static void
tty_start_on_dev_null_fails_as_not_a_terminal(void **state)
{
	struct t_pty	*fx = *state;

	assert_int_equal(fx->rc, -1);
	assert_non_null(fx->cause);
	assert_non_null(strstr(fx->cause, "not a terminal"));
}

static void
failed_tty_start_leaves_it_stopped(void **state)
{
	struct t_pty	*fx = *state;

	assert_int_equal(fx->t.started, 0);
}

#define T_FEED(test) \
	cmocka_unit_test_setup_teardown(test, t_feeder_new, t_feeder_free)
#define T_PTY(test) \
	cmocka_unit_test_setup_teardown(test, t_pty_setup, t_pty_teardown)
#define T_DEV_NULL(test) \
	cmocka_unit_test_setup_teardown(test, t_dev_null_setup, t_pty_teardown)

int
main(void)
{
	/* The key tests run first, before any test loads terminfo. */
	const struct CMUnitTest tty_keys[] = {
		cmocka_unit_test(each_key_sequence_is_one_key_however_split),
		cmocka_unit_test(texts_give_their_keys_however_split),
		T_FEED(lone_esc_is_held_and_feed_reports_pending),
		T_FEED(flush_turns_the_held_esc_into_escape),
		T_FEED(partial_csi_is_held),
		T_FEED(rest_of_the_csi_completes_c_up_and_nothing_is_pending),
		T_FEED(plain_text_is_not_held),
		T_FEED(first_byte_of_utf8_is_held),
		T_FEED(utf8_split_across_feeds_is_one_key),
		cmocka_unit_test(bracketed_paste_is_one_event_between_keys),
		cmocka_unit_test(paste_split_at_every_byte_is_the_same_event),
		cmocka_unit_test(
		    paste_keeps_esc_bytes_and_near_terminators_as_data),
		cmocka_unit_test(
		    paste_with_esc_bytes_split_at_every_byte_is_the_same),
		cmocka_unit_test(empty_paste_is_one_empty_event),
		T_FEED(
		    unfinished_paste_is_not_pending_and_flush_does_not_end_it),
		T_FEED(paste_terminator_split_across_feeds_ends_the_paste),
		T_FEED(paste_over_16_mib_is_delivered_as_16_mib_then_the_rest),
		cmocka_unit_test(mouse_reports_give_their_events_however_split),
		cmocka_unit_test(mouse_report_with_two_numbers_is_swallowed),
		cmocka_unit_test(csi_i_is_focus_in_csi_o_focus_out),
		cmocka_unit_test(focus_events_split_byte_by_byte),
		cmocka_unit_test(mixed_input_gives_11_events),
		cmocka_unit_test(
		    mixed_input_split_at_every_byte_gives_the_same_events),
		T_PTY(tty_start_on_a_pty_succeeds),
		T_PTY(term_is_the_one_given),
		T_PTY(raw_mode_has_no_canonical_input_echo_or_signals),
		T_PTY(raw_mode_turns_output_processing_off),
		T_PTY(raw_mode_has_no_cr_translation_flow_control_or_stripping),
		T_PTY(raw_mode_has_8_bits_and_no_parity),
		T_PTY(raw_mode_has_vmin_1_and_vtime_0),
		T_PTY(smcup_is_xterm_256colors),
		T_PTY(tty_start_writes_smcup),
		T_PTY(tty_start_writes_smkx),
		T_PTY(tty_start_enables_bracketed_paste_after_smcup),
		T_PTY(tty_start_enables_focus_events),
		T_PTY(tty_size_reads_the_window_size),
		T_PTY(tty_size_falls_back_to_80x24),
		T_PTY(tty_stop_restores_the_original_termios),
		T_PTY(tty_stop_writes_rmcup),
		T_PTY(tty_stop_turns_off_paste_and_mouse_and_shows_the_cursor),
		T_PTY(tty_stop_writes_rmkx),
		T_PTY(second_tty_stop_writes_nothing),
		T_PTY(unknown_term_falls_back_to_xterm_256color),
		T_PTY(without_vt52_terminfo_esc_a_is_meta_a),
		T_PTY(
		    terminfo_key_strings_are_used_alongside_the_built_in_ones),
		T_DEV_NULL(tty_start_on_dev_null_fails_as_not_a_terminal),
		T_DEV_NULL(failed_tty_start_leaves_it_stopped),
	};

	return (cmocka_run_group_tests(tty_keys, NULL, NULL));
}

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
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "common/common.h"
#include "client/tty.h"
#include "regress/tap.h"

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

/* Whole, byte by byte and in threes must all give the same events. */
static int
splits_agree(const char *s, size_t len)
{
	struct rec	whole = { 0 }, part = { 0 };
	size_t		steps[] = { 1, 2, 3, 5 };
	u_int		i, j;
	int		ok = 1;

	run(&whole, s, len, 0, 1);
	for (i = 0; i < nitems(steps) && ok; i++) {
		run(&part, s, len, steps[i], 1);
		if (part.n != whole.n)
			ok = 0;
		for (j = 0; ok && j < whole.n; j++)
			ok = ev_equal(&whole.ev[j], &part.ev[j]);
	}
	rec_clear(&whole);
	rec_clear(&part);
	return (ok);
}

/* Exactly one key event with this code. */
static int
one_key(const char *s, key_code key)
{
	struct rec	r = { 0 };
	int		ok;

	run(&r, s, strlen(s), 0, 1);
	ok = (r.n == 1 && r.ev[0].type == TTY_EV_KEY && r.ev[0].key == key &&
	    r.ev[0].mods == (int)((key & KEYC_MASK_MODS) >> 32));
	if (!ok && r.n >= 1)
		TAP_DIAG("got %u events, first type %d key %#llx", r.n,
		    r.ev[0].type, (unsigned long long)r.ev[0].key);
	rec_clear(&r);
	return (ok && splits_agree(s, strlen(s)));
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
test_keys(void)
{
	struct rec	r = { 0 };
	u_int		i, j;
	int		ok;

	for (i = 0; i < nitems(keys); i++)
		TAP_OK(one_key(keys[i].s, keys[i].key), "%s", keys[i].what);

	for (i = 0; i < nitems(texts); i++) {
		run(&r, texts[i].s, texts[i].len, 0, 1);
		ok = (r.n == texts[i].nkeys);
		for (j = 0; ok && j < r.n; j++) {
			ok = (r.ev[j].type == TTY_EV_KEY &&
			    r.ev[j].key == texts[i].keys[j]);
		}
		if (!ok)
			TAP_DIAG("got %u events", r.n);
		TAP_OK(ok && splits_agree(texts[i].s, texts[i].len), "%s",
		    texts[i].what);
	}
	rec_clear(&r);
}

static void
test_pending(void)
{
	struct rec	 r = { 0 };
	struct tty_keys	*tk;
	int		 pending;

	tk = tty_keys_new();
	pending = tty_keys_feed(tk, "\033", 1, rec_cb, &r);
	TAP_OK(pending == 1 && r.n == 0,
	    "lone ESC is held and feed reports pending");
	tty_keys_flush(tk, rec_cb, &r);
	TAP_OK(r.n == 1 && r.ev[0].key == KEYC_ESCAPE,
	    "flush turns the held ESC into Escape");
	rec_clear(&r);

	pending = tty_keys_feed(tk, "\033[1;", 4, rec_cb, &r);
	TAP_OK(pending == 1 && r.n == 0, "partial CSI is held");
	pending = tty_keys_feed(tk, "5A", 2, rec_cb, &r);
	TAP_OK(pending == 0 && r.n == 1 &&
	    r.ev[0].key == (KEYC_UP | KEYC_CTRL),
	    "rest of the CSI completes C-Up and nothing is pending");
	rec_clear(&r);

	pending = tty_keys_feed(tk, "ab", 2, rec_cb, &r);
	TAP_OK(pending == 0 && r.n == 2, "plain text is not held");
	rec_clear(&r);

	pending = tty_keys_feed(tk, "\xe4", 1, rec_cb, &r);
	TAP_OK(pending == 1 && r.n == 0, "first byte of UTF-8 is held");
	pending = tty_keys_feed(tk, "\xb8\xad", 2, rec_cb, &r);
	TAP_OK(pending == 0 && r.n == 1 && r.ev[0].key == 0x4e2d,
	    "UTF-8 split across feeds is one key");
	rec_clear(&r);
	tty_keys_free(tk);
}

static void
test_paste(void)
{
	struct rec	 r = { 0 };
	struct tty_keys	*tk;
	const char	 p1[] = "a\033[200~hello\r\nworld\033[201~b";
	const char	 p2[] = "\033[200~x\033[Ay\033\033[20z\033[201~";
	const char	 p3[] = "\033[200~\033[201~";
	char		*big;
	size_t		 bigsz = 17U * 1024 * 1024, got = 0, i;
	int		 pending, ok = 1;

	run(&r, p1, sizeof p1 - 1, 0, 0);
	TAP_OK(r.n == 3 && r.ev[0].key == 'a' &&
	    r.ev[1].type == TTY_EV_PASTE && r.ev[1].len == 12 &&
	    memcmp(r.ev[1].data, "hello\r\nworld", 12) == 0 &&
	    r.ev[2].key == 'b', "bracketed paste is one event between keys");
	TAP_OK(splits_agree(p1, sizeof p1 - 1),
	    "paste split at every byte is the same event");

	run(&r, p2, sizeof p2 - 1, 0, 0);
	TAP_OK(r.n == 1 && r.ev[0].type == TTY_EV_PASTE &&
	    r.ev[0].len == 11 &&
	    memcmp(r.ev[0].data, "x\033[Ay\033\033[20z", 11) == 0,
	    "paste keeps ESC bytes and near-terminators as data");
	TAP_OK(splits_agree(p2, sizeof p2 - 1),
	    "paste with ESC bytes split at every byte is the same");

	run(&r, p3, sizeof p3 - 1, 0, 0);
	TAP_OK(r.n == 1 && r.ev[0].type == TTY_EV_PASTE && r.ev[0].len == 0,
	    "empty paste is one empty event");

	tk = tty_keys_new();
	rec_clear(&r);
	pending = tty_keys_feed(tk, "\033[200~abc\033[2", 12, rec_cb, &r);
	tty_keys_flush(tk, rec_cb, &r);
	TAP_OK(pending == 0 && r.n == 0,
	    "unfinished paste is not pending and flush does not end it");
	tty_keys_feed(tk, "01~\033[B", 6, rec_cb, &r);
	TAP_OK(r.n == 2 && r.ev[0].type == TTY_EV_PASTE &&
	    r.ev[0].len == 3 && memcmp(r.ev[0].data, "abc", 3) == 0 &&
	    r.ev[1].key == KEYC_DOWN,
	    "paste terminator split across feeds ends the paste");
	rec_clear(&r);

	/* Over 16 MiB arrives in pieces, each at most 16 MiB, nothing lost. */
	big = xmalloc(bigsz);
	for (i = 0; i < bigsz; i++)
		big[i] = 'a' + i % 26;
	tty_keys_feed(tk, "\033[200~", 6, rec_cb, &r);
	for (i = 0; i < bigsz; i += 65536)
		tty_keys_feed(tk, big + i, 65536, rec_cb, &r);
	tty_keys_feed(tk, "\033[201~", 6, rec_cb, &r);
	for (i = 0; i < r.n; i++) {
		if (r.ev[i].type != TTY_EV_PASTE ||
		    r.ev[i].len > 16U * 1024 * 1024 ||
		    memcmp(r.ev[i].data, big + got, r.ev[i].len) != 0)
			ok = 0;
		got += r.ev[i].len;
	}
	TAP_OK(ok && r.n == 2 && got == bigsz && r.ev[0].len == 16U << 20,
	    "17 MiB paste is delivered as 16 MiB then the rest");
	rec_clear(&r);
	free(big);
	tty_keys_free(tk);
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
test_mouse(void)
{
	struct rec	r = { 0 };
	u_int		i;
	int		ok;

	for (i = 0; i < nitems(mice); i++) {
		run(&r, mice[i].s, strlen(mice[i].s), 0, 0);
		ok = (r.n == 1 && r.ev[0].type == TTY_EV_MOUSE &&
		    r.ev[0].button == mice[i].button &&
		    r.ev[0].pressed == mice[i].pressed &&
		    r.ev[0].motion == mice[i].motion &&
		    r.ev[0].mods == mice[i].mods &&
		    r.ev[0].x == mice[i].x && r.ev[0].y == mice[i].y);
		if (!ok && r.n == 1) {
			TAP_DIAG("type %d button %d pressed %d motion %d "
			    "mods %d at %u,%u", r.ev[0].type, r.ev[0].button,
			    r.ev[0].pressed, r.ev[0].motion, r.ev[0].mods,
			    r.ev[0].x, r.ev[0].y);
		}
		TAP_OK(ok && splits_agree(mice[i].s, strlen(mice[i].s)),
		    "mouse: %s", mice[i].what);
	}
	run(&r, "\033[<1;2Mq", 8, 0, 1);
	TAP_OK(r.n == 1 && r.ev[0].key == 'q',
	    "mouse report with two numbers is swallowed");
	rec_clear(&r);
}

static void
test_focus(void)
{
	struct rec	r = { 0 };
	const char	s[] = "\033[I\033[O";

	run(&r, s, 6, 0, 0);
	TAP_OK(r.n == 2 && r.ev[0].type == TTY_EV_FOCUS &&
	    r.ev[0].pressed == 1 && r.ev[1].type == TTY_EV_FOCUS &&
	    r.ev[1].pressed == 0, "CSI I is focus in, CSI O focus out");
	TAP_OK(splits_agree(s, 6), "focus events split byte by byte");
	rec_clear(&r);
}

/* Everything at once, split at every byte, must give the same events. */
static void
test_mixed(void)
{
	const char	s[] = "x\033[1;5A\xe4\xb8\xad\033Ob\033[<0;3;3M"
			    "\033[200~p\033q\033[201~\033[I\033y\033[15;3~\x03";
	struct rec	r = { 0 };

	run(&r, s, sizeof s - 1, 1, 1);
	TAP_OK(r.n == 11, "mixed input gives 11 events (got %u)", r.n);
	TAP_OK(splits_agree(s, sizeof s - 1),
	    "mixed input split at every byte gives the same events");
	rec_clear(&r);
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

static void
test_tty(void)
{
	struct tty	 t;
	struct termios	 before, during, after;
	struct winsize	 ws = { .ws_row = 40, .ws_col = 132 };
	char		 out[4096], *cause = NULL;
	int		 master, slave, fd, rc;
	u_int		 cols, rows;
	const char	*smcup;

	if (openpty(&master, &slave, NULL, NULL, NULL) != 0) {
		TAP_OK(0, "openpty: %s", strerror(errno));
		return;
	}
	tcgetattr(slave, &before);
	memset(&t, 0, sizeof t);
	rc = tty_start(&t, slave, slave, "xterm-256color", &cause);
	TAP_OK(rc == 0, "tty_start on a pty succeeds (%s)",
	    cause == NULL ? "no error" : cause);
	if (rc != 0)
		return;
	TAP_OK(strcmp(t.term, "xterm-256color") == 0, "TERM is the one given");

	tcgetattr(slave, &during);
	TAP_OK((during.c_lflag & (ICANON|ECHO|ISIG|IEXTEN)) == 0,
	    "raw mode: no canonical input, echo or signals");
	TAP_OK((during.c_oflag & OPOST) == 0, "raw mode: output processing off");
	TAP_OK((during.c_iflag & (ICRNL|IXON|ISTRIP)) == 0,
	    "raw mode: no CR translation, flow control or stripping");
	TAP_OK((during.c_cflag & CSIZE) == CS8 && !(during.c_cflag & PARENB),
	    "raw mode: 8 bits, no parity");
	TAP_OK(during.c_cc[VMIN] == 1 && during.c_cc[VTIME] == 0,
	    "raw mode: VMIN 1, VTIME 0");

	drain(master, out, sizeof out);
	smcup = strstr(out, "\033[?1049h");
	TAP_OK(strcmp(t.smcup, "\033[?1049h\033[22;0;0t") == 0,
	    "smcup is xterm-256color's");
	TAP_OK(smcup != NULL && strstr(out, t.smcup) == smcup,
	    "tty_start wrote smcup");
	TAP_OK(strstr(out, "\033[?1h\033=") != NULL, "tty_start wrote smkx");
	TAP_OK(smcup != NULL && strstr(smcup, "\033[?2004h") != NULL,
	    "tty_start enabled bracketed paste after smcup");
	TAP_OK(strstr(out, "\033[?1004h") != NULL,
	    "tty_start enabled focus events");

	ioctl(slave, TIOCSWINSZ, &ws);
	tty_size(&t, &cols, &rows);
	TAP_OK(cols == 132 && rows == 40, "tty_size reads the window size");
	ws.ws_col = ws.ws_row = 0;
	ioctl(slave, TIOCSWINSZ, &ws);
	tty_size(&t, &cols, &rows);
	TAP_OK(cols == 80 && rows == 24, "tty_size falls back to 80x24");

	alarm(5);	/* a TCSADRAIN that hangs fails the test */
	tty_stop(&t);
	alarm(0);
	tcgetattr(slave, &after);
	TAP_OK(after.c_iflag == before.c_iflag &&
	    after.c_oflag == before.c_oflag &&
	    after.c_cflag == before.c_cflag &&
	    after.c_lflag == before.c_lflag &&
	    memcmp(after.c_cc, before.c_cc, sizeof after.c_cc) == 0,
	    "tty_stop restores the original termios");
	drain(master, out, sizeof out);
	TAP_OK(strstr(out, "\033[?1049l\033[23;0;0t") != NULL,
	    "tty_stop wrote rmcup");
	TAP_OK(strstr(out, "\033[?2004l") != NULL &&
	    strstr(out, "\033[?1000l") != NULL &&
	    strstr(out, "\033[?1006l") != NULL &&
	    strstr(out, "\033[?12l\033[?25h") != NULL,
	    "tty_stop turned off paste and mouse and showed the cursor");
	TAP_OK(strstr(out, "\033[?1l\033>") != NULL, "tty_stop wrote rmkx");

	tty_stop(&t);
	TAP_OK(drain(master, out, sizeof out) == 0,
	    "second tty_stop writes nothing");

	free(t.term);
	memset(&t, 0, sizeof t);
	rc = tty_start(&t, slave, slave, "no-such-terminal-xyz", &cause);
	TAP_OK(rc == 0 && strcmp(t.term, "xterm-256color") == 0,
	    "unknown TERM falls back to xterm-256color");
	tty_stop(&t);
	free(t.term);

	/* vt52's cursor keys are ESC A..D, which alone would be Meta. */
	TAP_OK(one_key("\033A", 'A' | KEYC_META),
	    "without vt52 terminfo ESC A is M-A");
	memset(&t, 0, sizeof t);
	rc = tty_start(&t, slave, slave, "vt52", &cause);
	TAP_OK(rc == 0 && one_key("\033A", KEYC_UP) &&
	    one_key("\033D", KEYC_LEFT) && one_key("\033[1;5A",
	    KEYC_UP | KEYC_CTRL) && one_key("\033x", 'x' | KEYC_META) &&
	    one_key("\033?t", KEYC_F5),
	    "terminfo key strings are used alongside the built-in ones");
	tty_stop(&t);
	free(t.term);
	drain(master, out, sizeof out);
	close(slave);
	close(master);

	fd = open("/dev/null", O_RDWR);
	cause = NULL;
	memset(&t, 0, sizeof t);
	rc = tty_start(&t, fd, fd, "xterm-256color", &cause);
	TAP_OK(rc == -1 && cause != NULL &&
	    strstr(cause, "not a terminal") != NULL,
	    "tty_start on /dev/null fails: %s", cause ? cause : "(no cause)");
	TAP_OK(t.started == 0, "failed tty_start leaves it stopped");
	free(cause);
	close(fd);
}

int
main(void)
{
	test_keys();
	test_pending();
	test_paste();
	test_mouse();
	test_focus();
	test_mixed();
	test_tty();
	return (tap_done());
}

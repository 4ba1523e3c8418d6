/*
 * common/tty-keys.c: turn the bytes a terminal sends into struct tty_event:
 * UTF-8 text, C0 controls, ESC-prefixed Meta keys, CSI/SS3 keys with xterm
 * modifiers, terminfo key strings, bracketed paste, SGR mouse and focus.
 * Input may stop anywhere; an incomplete sequence waits for more bytes or
 * for tty_keys_flush.  What the keys mean to a pane is the server's business.
 */

#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "common/tty-keys.h"

#include <term.h>

#define TTY_KEYS_PASTE_MAX	(16U * 1024 * 1024)	/* deliver in pieces */
#define TTY_KEYS_CSI_MAX	256	/* longer is not a sequence */

static const char	tty_keys_paste_end[] = "\033[201~";
#define TTY_KEYS_PASTE_END_LEN	(sizeof tty_keys_paste_end - 1)

/* A key string from terminfo. */
struct tty_keys_string {
	char		*s;
	size_t		 len;
	key_code	 key;
};

struct tty_keys {
	char			*buf;		/* bytes not yet parsed */
	size_t			 len, size;

	int			 in_paste;
	char			*paste;
	size_t			 paste_len, paste_size;

	struct tty_keys_string	*strings;	/* from terminfo */
	u_int			 nstrings;
};

/* What one parse step found. */
enum tty_keys_found {
	TTY_KEYS_EVENT,		/* ev is filled */
	TTY_KEYS_SWALLOW,	/* a sequence we ignore */
	TTY_KEYS_PASTE_START
};

/* Terminfo capabilities we read. */
static const struct {
	const char	*cap;
	key_code	 key;
} tty_keys_caps[] = {
	{ "kcuu1", KEYC_UP }, { "kcud1", KEYC_DOWN },
	{ "kcub1", KEYC_LEFT }, { "kcuf1", KEYC_RIGHT },
	{ "khome", KEYC_HOME }, { "kend", KEYC_END },
	{ "kich1", KEYC_INSERT }, { "kdch1", KEYC_DELETE },
	{ "kpp", KEYC_PPAGE }, { "knp", KEYC_NPAGE },
	{ "kcbt", KEYC_BTAB },
	{ "kf1", KEYC_F1 }, { "kf2", KEYC_F2 }, { "kf3", KEYC_F3 },
	{ "kf4", KEYC_F4 }, { "kf5", KEYC_F5 }, { "kf6", KEYC_F6 },
	{ "kf7", KEYC_F7 }, { "kf8", KEYC_F8 }, { "kf9", KEYC_F9 },
	{ "kf10", KEYC_F10 }, { "kf11", KEYC_F11 }, { "kf12", KEYC_F12 }
};

/* C0 controls and DEL. */
static const key_code tty_keys_c0[0x20] = {
	[0x00] = ' ' | KEYC_CTRL,
	[0x08] = KEYC_BSPACE,
	[0x09] = KEYC_TAB,
	[0x0a] = 'j' | KEYC_CTRL,
	[0x0d] = KEYC_ENTER,
	[0x1b] = KEYC_ESCAPE,
	[0x1c] = '\\' | KEYC_CTRL,
	[0x1d] = ']' | KEYC_CTRL,
	[0x1e] = '^' | KEYC_CTRL,
	[0x1f] = '_' | KEYC_CTRL
};

/* Final bytes shared by CSI and SS3: ESC[A, ESCOA, ESC[1;5A. */
static const struct {
	char		 final;
	key_code	 key;
} tty_keys_finals[] = {
	{ 'A', KEYC_UP }, { 'B', KEYC_DOWN },
	{ 'C', KEYC_RIGHT }, { 'D', KEYC_LEFT },
	{ 'H', KEYC_HOME }, { 'F', KEYC_END },
	{ 'P', KEYC_F1 }, { 'Q', KEYC_F2 }, { 'R', KEYC_F3 }, { 'S', KEYC_F4 },
	{ 'Z', KEYC_BTAB }
};

/* SS3 only: the keypad in application mode. */
static const struct {
	char		 final;
	key_code	 key;
} tty_keys_ss3_keypad[] = {
	{ 'p', KEYC_KP0 }, { 'q', KEYC_KP1 }, { 'r', KEYC_KP2 },
	{ 's', KEYC_KP3 }, { 't', KEYC_KP4 }, { 'u', KEYC_KP5 },
	{ 'v', KEYC_KP6 }, { 'w', KEYC_KP7 }, { 'x', KEYC_KP8 },
	{ 'y', KEYC_KP9 }, { 'n', KEYC_KPPERIOD }, { 'k', KEYC_KPPLUS },
	{ 'm', KEYC_KPMINUS }, { 'j', KEYC_KPMULT }, { 'o', KEYC_KPDIV },
	{ 'M', KEYC_KPENTER }
};

/* ESC[n~ */
static const key_code tty_keys_tilde[] = {
	[1] = KEYC_HOME, [2] = KEYC_INSERT, [3] = KEYC_DELETE,
	[4] = KEYC_END, [5] = KEYC_PPAGE, [6] = KEYC_NPAGE,
	[7] = KEYC_HOME, [8] = KEYC_END,
	[11] = KEYC_F1, [12] = KEYC_F2, [13] = KEYC_F3, [14] = KEYC_F4,
	[15] = KEYC_F5, [17] = KEYC_F6, [18] = KEYC_F7, [19] = KEYC_F8,
	[20] = KEYC_F9, [21] = KEYC_F10, [23] = KEYC_F11, [24] = KEYC_F12
};

static size_t	tty_keys_next(struct tty_keys *, const u_char *, size_t, int,
		    int, struct tty_event *, enum tty_keys_found *);

/* Add the terminfo key strings, if terminfo is loaded. */
static void
tty_keys_add_terminfo(struct tty_keys *tk)
{
	struct tty_keys_string	*ts;
	char			*s;
	u_int			 i;

	if (cur_term == NULL)
		return;
	tk->strings = xcalloc(nitems(tty_keys_caps), sizeof *tk->strings);
	for (i = 0; i < nitems(tty_keys_caps); i++) {
		s = tigetstr(tty_keys_caps[i].cap);
		if (s == NULL || s == (char *)-1)
			continue;
		/* Only escape sequences: a C0 byte must mean the same key
		 * whatever the terminal (some say kcub1=^H). */
		if (s[0] != '\033' || s[1] == '\0')
			continue;
		ts = &tk->strings[tk->nstrings++];
		ts->s = xstrdup(s);
		ts->len = strlen(s);
		ts->key = tty_keys_caps[i].key;
	}
}

struct tty_keys *
tty_keys_new(void)
{
	struct tty_keys	*tk;

	tk = xcalloc(1, sizeof *tk);
	tty_keys_add_terminfo(tk);
	return (tk);
}

void
tty_keys_free(struct tty_keys *tk)
{
	u_int	i;

	if (tk == NULL)
		return;
	for (i = 0; i < tk->nstrings; i++)
		free(tk->strings[i].s);
	free(tk->strings);
	free(tk->paste);
	free(tk->buf);
	free(tk);
}

/* Fill ev as a key event. */
static void
tty_keys_set_key(struct tty_event *ev, key_code key)
{
	memset(ev, 0, sizeof *ev);
	ev->type = TTY_EV_KEY;
	ev->key = key;
	ev->mods = (key & KEYC_MASK_MODS) >> 32;
}

/* xterm modifier parameter: 1 + (1 shift, 2 alt, 4 ctrl, 8 meta). */
static key_code
tty_keys_modifier(u_int m)
{
	key_code	mods = 0;

	if (m < 2)
		return (0);
	m--;
	if (m & 1)
		mods |= KEYC_SHIFT;
	if (m & (2|8))
		mods |= KEYC_META;
	if (m & 4)
		mods |= KEYC_CTRL;
	return (mods);
}

/*
 * Longest terminfo string buf starts with (*key, returns its length), or 0.
 * *partial is set if buf is a proper prefix of some string.
 */
static size_t
tty_keys_terminfo(struct tty_keys *tk, const u_char *buf, size_t len,
    key_code *key, int *partial)
{
	struct tty_keys_string	*ts;
	size_t			 best = 0;
	u_int			 i;

	*partial = 0;
	for (i = 0; i < tk->nstrings; i++) {
		ts = &tk->strings[i];
		if (len < ts->len) {
			if (memcmp(ts->s, buf, len) == 0)
				*partial = 1;
		} else if (ts->len > best && memcmp(ts->s, buf, ts->len) == 0) {
			best = ts->len;
			*key = ts->key;
		}
	}
	return (best);
}

/*
 * Split "1;5" (at most 4 numbers) into params; empty ones are 0.  Returns
 * the count or -1 if there is anything but digits and ';'.
 */
static int
tty_keys_params(const u_char *p, size_t len, u_int *params, u_int max)
{
	u_int	n = 0;
	size_t	i;

	if (len == 0)
		return (0);
	params[0] = 0;
	for (i = 0; i < len; i++) {
		if (p[i] == ';') {
			if (++n == max)
				return (-1);
			params[n] = 0;
		} else if (p[i] >= '0' && p[i] <= '9') {
			if (params[n] < 100000)
				params[n] = params[n] * 10 + (p[i] - '0');
		} else
			return (-1);
	}
	return (n + 1);
}

/* A key from a final byte and its parameters (ESC[1;5A, ESCO5A, ESC[3~). */
static int
tty_keys_csi_key(u_char final, const u_int *params, int np, key_code *key)
{
	u_int	i, mod = 0;

	if (final == '~') {
		if (np < 1 || params[0] >= nitems(tty_keys_tilde) ||
		    tty_keys_tilde[params[0]] == 0)
			return (-1);
		*key = tty_keys_tilde[params[0]];
		mod = np >= 2 ? params[1] : 0;
		*key |= tty_keys_modifier(mod);
		return (0);
	}
	for (i = 0; i < nitems(tty_keys_finals); i++) {
		if (tty_keys_finals[i].final == final)
			break;
	}
	if (i == nitems(tty_keys_finals))
		return (-1);
	/* ESC[A, ESC[1;5A, and the older ESCO5A. */
	if (np == 1)
		mod = params[0];
	else if (np >= 2)
		mod = params[1];
	*key = tty_keys_finals[i].key | tty_keys_modifier(mod);
	return (0);
}

/* SGR mouse: ESC[<b;x;yM (press, motion) or ...m (release). */
static int
tty_keys_mouse(const u_int *params, int np, u_char final,
    struct tty_event *ev)
{
	u_int	b;

	if (np != 3)
		return (-1);
	b = params[0];
	memset(ev, 0, sizeof *ev);
	ev->type = TTY_EV_MOUSE;
	ev->x = params[1] > 0 ? params[1] - 1 : 0;
	ev->y = params[2] > 0 ? params[2] - 1 : 0;
	ev->pressed = (final == 'M');
	ev->motion = (b & 32) != 0;
	if (b & 4)
		ev->mods |= KEYC_SHIFT >> 32;
	if (b & 8)
		ev->mods |= KEYC_META >> 32;
	if (b & 16)
		ev->mods |= KEYC_CTRL >> 32;
	if (b & 64) {
		if ((b & 3) > 1)
			return (-1);	/* horizontal wheel: no button for it */
		ev->button = 4 + (b & 1);
	} else if ((b & 3) == 3) {
		ev->button = 0;		/* release, or motion with no button */
		ev->pressed = 0;
	} else
		ev->button = 1 + (b & 3);
	return (0);
}

/*
 * A complete CSI sequence: ESC [ private? params intermediates final, with
 * len bytes.  Unknown ones are swallowed.
 */
static enum tty_keys_found
tty_keys_csi(const u_char *buf, size_t len, struct tty_event *ev)
{
	const u_char	*p = buf + 2;
	size_t		 plen = len - 3;
	u_char		 final = buf[len - 1], private = 0;
	u_int		 params[4];
	int		 np;
	key_code	 key;

	if (plen > 0 && *p >= '<' && *p <= '?') {
		private = *p++;
		plen--;
	}
	if ((np = tty_keys_params(p, plen, params, nitems(params))) == -1)
		return (TTY_KEYS_SWALLOW);

	if (private == '<' && (final == 'M' || final == 'm')) {
		if (tty_keys_mouse(params, np, final, ev) != 0)
			return (TTY_KEYS_SWALLOW);
		return (TTY_KEYS_EVENT);
	}
	if (private != 0)
		return (TTY_KEYS_SWALLOW);
	if (np == 0 && (final == 'I' || final == 'O')) {
		memset(ev, 0, sizeof *ev);
		ev->type = TTY_EV_FOCUS;
		ev->pressed = (final == 'I');
		return (TTY_KEYS_EVENT);
	}
	if (final == '~' && np == 1 && params[0] == 200)
		return (TTY_KEYS_PASTE_START);
	if (tty_keys_csi_key(final, params, np, &key) != 0)
		return (TTY_KEYS_SWALLOW);
	tty_keys_set_key(ev, key);
	return (TTY_KEYS_EVENT);
}

/* ESC [ ...: returns bytes used or 0 if incomplete. */
static size_t
tty_keys_next_csi(const u_char *buf, size_t len, int flush,
    struct tty_event *ev, enum tty_keys_found *found)
{
	size_t	i;

	/* Linux console F1-F5: ESC[[A to ESC[[E. */
	if (len >= 3 && buf[2] == '[') {
		if (len == 3 && !flush)
			return (0);
		if (len > 3 && buf[3] >= 'A' && buf[3] <= 'E') {
			tty_keys_set_key(ev, KEYC_F1 + (buf[3] - 'A'));
			*found = TTY_KEYS_EVENT;
			return (4);
		}
		goto meta;
	}
	for (i = 2; i < len && i < TTY_KEYS_CSI_MAX; i++) {
		if (buf[i] >= 0x40 && buf[i] <= 0x7e) {
			*found = tty_keys_csi(buf, i + 1, ev);
			return (i + 1);
		}
		if (buf[i] < 0x20 || buf[i] > 0x3f)
			goto meta;	/* not a CSI: M-[ then whatever */
	}
	if (i < TTY_KEYS_CSI_MAX && !flush)
		return (0);

meta:
	tty_keys_set_key(ev, '[' | KEYC_META);
	*found = TTY_KEYS_EVENT;
	return (2);
}

/* ESC O ...: returns bytes used or 0 if incomplete. */
static size_t
tty_keys_next_ss3(const u_char *buf, size_t len, int flush,
    struct tty_event *ev, enum tty_keys_found *found)
{
	u_int	params[2];
	size_t	i;
	int	np;
	u_int	j;
	key_code key;

	for (i = 2; i < len && i < 8; i++) {
		if ((buf[i] >= '0' && buf[i] <= '9') || buf[i] == ';')
			continue;
		np = tty_keys_params(buf + 2, i - 2, params, nitems(params));
		if (np == 0) {
			for (j = 0; j < nitems(tty_keys_ss3_keypad); j++) {
				if (tty_keys_ss3_keypad[j].final == buf[i]) {
					tty_keys_set_key(ev,
					    tty_keys_ss3_keypad[j].key);
					*found = TTY_KEYS_EVENT;
					return (i + 1);
				}
			}
		}
		if (np != -1 && buf[i] != '~' &&
		    tty_keys_csi_key(buf[i], params, np, &key) == 0) {
			tty_keys_set_key(ev, key);
			*found = TTY_KEYS_EVENT;
			return (i + 1);
		}
		goto meta;
	}
	if (i < len || flush)
		goto meta;
	return (0);

meta:
	tty_keys_set_key(ev, 'O' | KEYC_META);
	*found = TTY_KEYS_EVENT;
	return (2);
}

/* ESC and what follows: a sequence, or Meta plus the next key. */
static size_t
tty_keys_next_esc(struct tty_keys *tk, const u_char *buf, size_t len,
    int flush, int depth, struct tty_event *ev, enum tty_keys_found *found)
{
	key_code	 key = KEYC_NONE;
	size_t		 n;
	int		 partial;

	if (len == 1) {
		if (!flush)
			return (0);
		tty_keys_set_key(ev, KEYC_ESCAPE);
		*found = TTY_KEYS_EVENT;
		return (1);
	}

	n = tty_keys_terminfo(tk, buf, len, &key, &partial);
	if (partial && !flush)
		return (0);
	if (n != 0) {
		tty_keys_set_key(ev, key);
		*found = TTY_KEYS_EVENT;
		return (n);
	}

	if (buf[1] == '[')
		return (tty_keys_next_csi(buf, len, flush, ev, found));
	if (buf[1] == 'O')
		return (tty_keys_next_ss3(buf, len, flush, ev, found));

	/* ESC ESC ESC is M-Escape then Escape, not M-M-Escape. */
	if (depth == 0) {
		n = tty_keys_next(tk, buf + 1, len - 1, flush, 1, ev, found);
		if (n == 0)
			return (0);
		if (*found == TTY_KEYS_EVENT && ev->type == TTY_EV_KEY) {
			ev->key |= KEYC_META;
			ev->mods |= KEYC_META >> 32;
			return (n + 1);
		}
	}
	tty_keys_set_key(ev, KEYC_ESCAPE);
	*found = TTY_KEYS_EVENT;
	return (1);
}

/*
 * One UTF-8 character: the bytes used, or 0 if more are needed.  Invalid
 * input becomes U+FFFD, one per maximal ill-formed subsequence.
 */
static size_t
tty_keys_next_utf8(const u_char *buf, size_t len, int flush,
    struct tty_event *ev)
{
	u_char		 b = buf[0], lo = 0x80, hi = 0xbf;
	size_t		 need, i;
	uint32_t	 c;

	if (b >= 0xc2 && b <= 0xdf)
		need = 2, c = b & 0x1f;
	else if (b >= 0xe0 && b <= 0xef) {
		need = 3, c = b & 0x0f;
		if (b == 0xe0)
			lo = 0xa0;
		else if (b == 0xed)
			hi = 0x9f;
	} else if (b >= 0xf0 && b <= 0xf4) {
		need = 4, c = b & 0x07;
		if (b == 0xf0)
			lo = 0x90;
		else if (b == 0xf4)
			hi = 0x8f;
	} else {
		tty_keys_set_key(ev, 0xfffd);
		return (1);
	}

	for (i = 1; i < need; i++) {
		if (i == len) {
			if (!flush)
				return (0);
			break;
		}
		if (buf[i] < lo || buf[i] > hi)
			break;
		lo = 0x80;
		hi = 0xbf;
		c = (c << 6) | (buf[i] & 0x3f);
	}
	tty_keys_set_key(ev, i == need ? c : 0xfffd);
	return (i);
}

/* Parse one thing at buf; returns the bytes used or 0 if incomplete. */
static size_t
tty_keys_next(struct tty_keys *tk, const u_char *buf, size_t len, int flush,
    int depth, struct tty_event *ev, enum tty_keys_found *found)
{
	u_char	b = buf[0];

	*found = TTY_KEYS_EVENT;
	if (b == 0x1b)
		return (tty_keys_next_esc(tk, buf, len, flush, depth, ev,
		    found));
	if (b == 0x7f) {
		tty_keys_set_key(ev, KEYC_BSPACE);
		return (1);
	}
	if (b < 0x20) {
		if (tty_keys_c0[b] != 0)
			tty_keys_set_key(ev, tty_keys_c0[b]);
		else
			tty_keys_set_key(ev, ('a' + b - 1) | KEYC_CTRL);
		return (1);
	}
	if (b < 0x80) {
		tty_keys_set_key(ev, b);
		return (1);
	}
	return (tty_keys_next_utf8(buf, len, flush, ev));
}

/* Hand the paste gathered so far to cb. */
static void
tty_keys_paste_deliver(struct tty_keys *tk, tty_event_cb cb, void *arg)
{
	struct tty_event	ev;

	memset(&ev, 0, sizeof ev);
	ev.type = TTY_EV_PASTE;
	ev.data = tk->paste != NULL ? tk->paste : "";
	ev.len = tk->paste_len;
	cb(&ev, arg);
	tk->paste_len = 0;
}

static void
tty_keys_paste_add(struct tty_keys *tk, const char *data, size_t len,
    tty_event_cb cb, void *arg)
{
	size_t	n;

	while (len > 0) {
		if (tk->paste_len == TTY_KEYS_PASTE_MAX)
			tty_keys_paste_deliver(tk, cb, arg);
		n = TTY_KEYS_PASTE_MAX - tk->paste_len;
		if (n > len)
			n = len;
		if (tk->paste_len + n > tk->paste_size) {
			tk->paste_size = tk->paste_size * 2;
			if (tk->paste_size < tk->paste_len + n)
				tk->paste_size = tk->paste_len + n;
			if (tk->paste_size > TTY_KEYS_PASTE_MAX)
				tk->paste_size = TTY_KEYS_PASTE_MAX;
			tk->paste = xreallocarray(tk->paste, 1,
			    tk->paste_size);
		}
		memcpy(tk->paste + tk->paste_len, data, n);
		tk->paste_len += n;
		data += n;
		len -= n;
	}
}

/*
 * Inside a paste: gather bytes up to ESC[201~.  Returns the bytes used; a
 * tail that could be the start of the terminator is left for later.
 */
static size_t
tty_keys_paste(struct tty_keys *tk, const char *buf, size_t len,
    tty_event_cb cb, void *arg)
{
	const char	*end;
	size_t		 keep, n;

	end = memmem(buf, len, tty_keys_paste_end, TTY_KEYS_PASTE_END_LEN);
	if (end != NULL) {
		n = end - buf;
		tty_keys_paste_add(tk, buf, n, cb, arg);
		tty_keys_paste_deliver(tk, cb, arg);
		tk->in_paste = 0;
		return (n + TTY_KEYS_PASTE_END_LEN);
	}
	keep = TTY_KEYS_PASTE_END_LEN - 1;
	if (keep > len)
		keep = len;
	for (; keep > 0; keep--) {
		if (memcmp(buf + len - keep, tty_keys_paste_end, keep) == 0)
			break;
	}
	tty_keys_paste_add(tk, buf, len - keep, cb, arg);
	return (len - keep);
}

/* Parse as much of the buffer as possible; flush resolves everything. */
static void
tty_keys_run(struct tty_keys *tk, int flush, tty_event_cb cb, void *arg)
{
	struct tty_event	 ev;
	enum tty_keys_found	 found;
	size_t			 off = 0, n;

	while (off < tk->len) {
		if (tk->in_paste) {
			n = tty_keys_paste(tk, tk->buf + off, tk->len - off,
			    cb, arg);
			if (n == 0)
				break;
			off += n;
			continue;
		}
		n = tty_keys_next(tk, (u_char *)tk->buf + off, tk->len - off,
		    flush, 0, &ev, &found);
		if (n == 0)
			break;
		off += n;
		if (found == TTY_KEYS_PASTE_START) {
			tk->in_paste = 1;
			tk->paste_len = 0;
		} else if (found == TTY_KEYS_EVENT)
			cb(&ev, arg);
	}
	if (off != 0) {
		memmove(tk->buf, tk->buf + off, tk->len - off);
		tk->len -= off;
	}
}

int
tty_keys_feed(struct tty_keys *tk, const char *data, size_t len,
    tty_event_cb cb, void *arg)
{
	if (tk->len + len > tk->size) {
		tk->size = tk->size < 64 ? 64 : tk->size * 2;
		if (tk->size < tk->len + len)
			tk->size = tk->len + len;
		tk->buf = xreallocarray(tk->buf, 1, tk->size);
	}
	memcpy(tk->buf + tk->len, data, len);
	tk->len += len;

	tty_keys_run(tk, 0, cb, arg);
	return (tk->len != 0 && !tk->in_paste);
}

void
tty_keys_flush(struct tty_keys *tk, tty_event_cb cb, void *arg)
{
	/* A paste ends only with its terminator. */
	if (tk->in_paste)
		return;
	tty_keys_run(tk, 1, cb, arg);
}

/*
 * common/tty-keys.h: turn the bytes a terminal sends into key, paste, mouse
 * and focus events.  The server runs it on a local client's terminal (passed
 * over the socket); a client without fd passing runs it itself.
 */
#ifndef TTY_KEYS_H
#define TTY_KEYS_H

#include <sys/types.h>
#include <stddef.h>

#include "common/key.h"

/* What the parser found. */
enum tty_event_type {
	TTY_EV_KEY,		/* key (code point or named key, with modifiers) */
	TTY_EV_PASTE,		/* bracketed paste contents (data, len) */
	TTY_EV_MOUSE,		/* SGR (1006) mouse report */
	TTY_EV_FOCUS		/* focus in (pressed=1) or out */
};
struct tty_event {
	enum tty_event_type	 type;
	key_code		 key;
	const char		*data;	/* paste; valid during the callback only */
	size_t			 len;
	u_int			 x, y;	/* mouse, 0-based */
	int			 button; /* 0 motion-only, 1 left, 2 middle, 3 right, 4/5 wheel up/down */
	int			 pressed;
	int			 mods;	/* KEYC_CTRL/META/SHIFT >> 32 */
	int			 motion; /* mouse moved (button is held, or 0) */
};
typedef void (*tty_event_cb)(const struct tty_event *, void *);

struct tty_keys;
/* Build the parser from terminfo (call after setupterm) plus built-in xterm
 * sequences (CSI/SS3 cursor keys with modifiers, ESC[n~, ESC prefix = Meta). */
struct tty_keys	*tty_keys_new(void);
void		 tty_keys_free(struct tty_keys *);
/* Feed bytes; complete events go to cb; an incomplete sequence is kept.
 * Returns 1 if bytes are pending (call tty_keys_flush after a short delay,
 * e.g. 10 ms, so a lone ESC becomes Escape), else 0. */
int		 tty_keys_feed(struct tty_keys *, const char *, size_t,
		    tty_event_cb, void *);
void		 tty_keys_flush(struct tty_keys *, tty_event_cb, void *);

#endif

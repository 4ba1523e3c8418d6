/*
 * client/tty.h: the outer terminal of an attached client.  tty.c puts it in
 * raw mode and sets it up through terminfo (alternate screen, keypad, cursor,
 * bracketed paste, focus), and restores it on every exit path.  tty-keys.c
 * turns the bytes the terminal sends into key, paste and mouse events.
 */
#ifndef CLIENT_TTY_H
#define CLIENT_TTY_H

#include <sys/types.h>
#include <termios.h>

#include "common/key.h"

struct tty {
	int		 in;		/* fd we read keys from */
	int		 out;		/* fd we write the screen to */
	struct termios	 saved;		/* restored by tty_stop */
	int		 started;
	char		*term;		/* $TERM used for terminfo */
	/* terminfo strings (never NULL once started; "" if absent) */
	const char	*smcup, *rmcup, *smkx, *rmkx, *civis, *cnorm, *clear;
};

/* Raw mode + alternate screen + keypad + bracketed paste + focus events.
 * Returns -1 with *cause set if in is not a terminal or terminfo fails. */
int	 tty_start(struct tty *, int in, int out, const char *term, char **cause);
/* Undo everything tty_start did: mouse off, paste off, cursor visible,
 * keypad off, main screen, SGR reset, saved termios.  Safe to call twice and
 * from a signal handler path (only write(2) and tcsetattr). */
void	 tty_stop(struct tty *);
/* The terminal's size (TIOCGWINSZ); 80x24 if unknown. */
void	 tty_size(struct tty *, u_int *cols, u_int *rows);

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

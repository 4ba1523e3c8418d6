/*
 * client/tty.h: the outer terminal of an attached client.  tty.c puts it in
 * raw mode and sets it up through terminfo (alternate screen, keypad, cursor,
 * bracketed paste, focus), and restores it on every exit path.  The input
 * parser is common/tty-keys.h: the server reads a local client's terminal.
 */
#ifndef CLIENT_TTY_H
#define CLIENT_TTY_H

#include <sys/types.h>
#include <termios.h>

#include "common/key.h"
#include "common/tty-keys.h"

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

#endif

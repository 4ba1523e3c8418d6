/*
 * client/tty.c: the outer terminal's modes.  tty_start loads terminfo, saves
 * the termios and sets raw mode, alternate screen, keypad, bracketed paste
 * and focus events; tty_stop undoes all of it with only write(2) and
 * tcsetattr so it can run from a signal handler.  Key parsing: tty-keys.c.
 */

#include <sys/ioctl.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "client/tty.h"

#include <term.h>

/* Terminals to try, in order, when $TERM has no terminfo entry. */
static const char *tty_fallback_terms[] = { "xterm-256color", "xterm" };

/* Sent after the terminfo strings on start. */
#define TTY_START_MODES	"\033[?2004h\033[?1004h"
/* Mouse off (all modes), paste off, focus off, SGR reset, default cursor. */
#define TTY_STOP_MODES \
	"\033[?1000l\033[?1002l\033[?1003l\033[?1006l" \
	"\033[?2004l\033[?1004l\033[0m\033[ q"

/* Write all of s; async-signal-safe (no stdio, no malloc). */
static void
tty_write(int fd, const char *s)
{
	size_t	 len = 0;
	ssize_t	 n;

	while (s[len] != '\0')
		len++;
	while (len > 0) {
		n = write(fd, s, len);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return;
		}
		s += n;
		len -= n;
	}
}

/* A terminfo string, or "" if the terminal lacks it. */
static const char *
tty_string(const char *cap)
{
	char	*s;

	s = tigetstr(cap);
	if (s == NULL || s == (char *)-1)
		return ("");
	return (s);
}

/* Load terminfo for term, else the fallbacks; return the name used. */
static const char *
tty_setupterm(const char *term, int fd, char **cause)
{
	int	 err;
	u_int	 i;

	if (term != NULL && *term != '\0' &&
	    setupterm((char *)term, fd, &err) == 0)
		return (term);
	for (i = 0; i < nitems(tty_fallback_terms); i++) {
		if (setupterm((char *)tty_fallback_terms[i], fd, &err) == 0) {
			log_debug("%s: TERM %s unknown, using %s", __func__,
			    term == NULL ? "(unset)" : term,
			    tty_fallback_terms[i]);
			return (tty_fallback_terms[i]);
		}
	}
	xasprintf(cause, "no terminfo entry for TERM=%s (nor for %s or %s)",
	    term == NULL || *term == '\0' ? "(unset)" : term,
	    tty_fallback_terms[0], tty_fallback_terms[1]);
	return (NULL);
}

/* cfmakeraw, but spelled out so the flags we rely on are visible. */
static void
tty_make_raw(struct termios *tio)
{
	tio->c_iflag &= ~(IGNBRK|BRKINT|PARMRK|ISTRIP|INLCR|IGNCR|ICRNL|
	    IXON|IXOFF);
	tio->c_oflag &= ~OPOST;
	tio->c_lflag &= ~(ECHO|ECHONL|ICANON|ISIG|IEXTEN);
	tio->c_cflag &= ~(CSIZE|PARENB);
	tio->c_cflag |= CS8;
	tio->c_cc[VMIN] = 1;
	tio->c_cc[VTIME] = 0;
}

int
tty_start(struct tty *t, int in, int out, const char *term, char **cause)
{
	struct termios	 tio;
	const char	*used;

	if (!isatty(in)) {
		xasprintf(cause, "input (fd %d) is not a terminal", in);
		return (-1);
	}
	if (term == NULL)
		term = getenv("TERM");
	if ((used = tty_setupterm(term, out, cause)) == NULL)
		return (-1);

	if (tcgetattr(in, &t->saved) != 0) {
		xasprintf(cause, "tcgetattr: %s", strerror(errno));
		return (-1);
	}
	tio = t->saved;
	tty_make_raw(&tio);
	if (tcsetattr(in, TCSANOW, &tio) != 0) {
		xasprintf(cause, "tcsetattr: %s", strerror(errno));
		return (-1);
	}

	t->in = in;
	t->out = out;
	t->term = xstrdup(used);
	t->smcup = tty_string("smcup");
	t->rmcup = tty_string("rmcup");
	t->smkx = tty_string("smkx");
	t->rmkx = tty_string("rmkx");
	t->civis = tty_string("civis");
	t->cnorm = tty_string("cnorm");
	t->clear = tty_string("clear");
	t->started = 1;

	tty_write(out, t->smcup);
	tty_write(out, t->smkx);
	tty_write(out, t->clear);
	tty_write(out, TTY_START_MODES);
	log_debug("%s: started, TERM %s", __func__, used);
	return (0);
}

void
tty_stop(struct tty *t)
{
	if (!t->started)
		return;
	t->started = 0;

	tty_write(t->out, TTY_STOP_MODES);
	tty_write(t->out, t->cnorm);
	tty_write(t->out, t->rmkx);
	tty_write(t->out, t->rmcup);
	tcsetattr(t->in, TCSADRAIN, &t->saved);
}

void
tty_size(struct tty *t, u_int *cols, u_int *rows)
{
	struct winsize	ws;

	memset(&ws, 0, sizeof ws);
	if (ioctl(t->out, TIOCGWINSZ, &ws) == -1 &&
	    ioctl(t->in, TIOCGWINSZ, &ws) == -1)
		memset(&ws, 0, sizeof ws);
	*cols = ws.ws_col != 0 ? ws.ws_col : 80;
	*rows = ws.ws_row != 0 ? ws.ws_row : 24;
}

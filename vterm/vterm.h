/*
 * vterm/vterm.h: the screen model.  A screen is libvterm's *state* layer
 * (parser, modes, pen, cursor) feeding our own grid of rows kept in a ring,
 * so a full-screen scroll is O(1), plus a compact scrollback (UTF-8 text and
 * attribute runs) under a line limit and a server-wide byte budget.  It also
 * renders: a full redraw or the difference between what one client last saw
 * and now, the scrollback as lines, and text captures.  It knows nothing of
 * sessions, clients or sockets.  Include as "vterm/vterm.h"; <vterm.h> is
 * libvterm's own header.
 */
#ifndef SCREEN_VTERM_H
#define SCREEN_VTERM_H

#include <sys/types.h>
#include <stdint.h>

#include "common/common.h"
#include "common/key.h"

/* Colours: default, palette index 0-255, or 24-bit RGB. */
#define COLOUR_DEFAULT		0
#define COLOUR_INDEX(n)		(0x01000000U | ((n) & 0xff))
#define COLOUR_RGB(r, g, b)	(0x02000000U | ((r) << 16) | ((g) << 8) | (b))
#define COLOUR_IS_INDEX(c)	(((c) >> 24) == 1)
#define COLOUR_IS_RGB(c)	(((c) >> 24) == 2)

#define ATTR_BOLD	0x001
#define ATTR_ITALIC	0x002
#define ATTR_UNDERLINE	0x004		/* single */
#define ATTR_UNDERLINE2	0x008		/* double */
#define ATTR_BLINK	0x010
#define ATTR_REVERSE	0x020
#define ATTR_STRIKE	0x040
#define ATTR_CONCEAL	0x080
#define ATTR_UNDERCURL	0x100
#define ATTR_DIM	0x200

/*
 * One cell.  Plain data, zeroed when blank, so two cells compare with memcmp.
 * An erased cell is all zero except bg (erase keeps the pen's background,
 * as xterm); the continuation of a wide character also has ch 0 and width 0
 * but carries the wide character's pen.
 * ch is the first code point (0 for an erased cell); when the cell holds
 * combining characters, ch has CELL_COMBINED set and the rest is an index
 * into a process-wide table (cell_chars() expands it).  A wide character
 * has width 2 and the cell to its right has width 0.
 */
struct cell {
	uint32_t	ch;
	uint32_t	fg;
	uint32_t	bg;
	uint16_t	attr;
	uint8_t		width;
	uint8_t		pad;
};
#define CELL_COMBINED	0x80000000U
int	 cell_chars(const struct cell *, uint32_t *, int); /* fills up to n, returns count */
size_t	 cell_utf8(const struct cell *, char *);	  /* needs 32 bytes; "" for blank */

/* What the application asked of the terminal, for renderers and clients. */
struct screen_modes {
	int	 cursor_visible;
	int	 cursor_shape;	/* 0 default, 1 block, 2 underline, 3 bar */
	int	 cursor_blink;
	int	 altscreen;
	int	 mouse;		/* 0 off, 1 click, 2 drag, 3 any motion */
	int	 reverse;	/* DECSCNM */
};

/* Calls from the model to its owner. */
struct screen_cb {
	/* Bytes for the application: DA replies, encoded keys, mouse. */
	void	(*output)(const char *, size_t, void *);
	/* OSC 52 payload ("c;BASE64"), to forward to clients' terminals. */
	void	(*clipboard)(const char *, void *);
	void	(*bell)(void *);
	/* Title changed (OSC 0/2); read it with screen_title(). */
	void	(*title)(void *);
};

/*
 * Scrollback accounting shared by all screens of a process.  limit 0 means
 * no byte limit.  Over the limit, the screen adding a line drops its own
 * oldest lines (keeping at least 16).  Bytes are each line's blob plus its
 * malloc and pointer overhead.
 */
struct history_budget {
	size_t	 limit;		/* bytes allowed in all scrollbacks together */
	size_t	 used;		/* kept up to date by vterm/ */
};

struct screen;

struct screen	*screen_new(u_int cols, u_int rows, u_int history_limit,
		    struct history_budget *, const struct screen_cb *, void *);
void		 screen_free(struct screen *);
void		 screen_write(struct screen *, const char *, size_t);
void		 screen_resize(struct screen *, u_int cols, u_int rows);
void		 screen_set_history_limit(struct screen *, u_int);

/* Input for the application, encoded for its current modes. */
void		 screen_key(struct screen *, key_code);
void		 screen_paste(struct screen *, const char *, size_t);
void		 screen_mouse(struct screen *, u_int col, u_int row,
		    int button, int pressed, int mods); /* button 0: motion */
void		 screen_focus(struct screen *, int in);

/* Reading the model. */
u_int		 screen_cols(struct screen *);
u_int		 screen_rows(struct screen *);
const struct cell *screen_row(struct screen *, u_int y);   /* cols cells */
uint64_t	 screen_row_gen(struct screen *, u_int y);  /* changes with row */
uint64_t	 screen_gen(struct screen *);	/* changes with anything visible */
/* Row y was ended by autowrap and continues on y+1.  libvterm 0.1.4 does not
 * say so; it is inferred in putglyph (a glyph at column 0 of the next row
 * right after one filled the last column, with no cursor movement between)
 * and cleared when the row's end is erased. */
int		 screen_row_wrapped(struct screen *, u_int y);
void		 screen_cursor(struct screen *, u_int *x, u_int *y);
const struct screen_modes *screen_modes(struct screen *);
const char	*screen_title(struct screen *);	/* "" if none */

/* Scrollback: line 0 is the oldest kept. */
u_int		 screen_history_size(struct screen *);
/* Lines that ever scrolled into the history (less those that came back):
 * where a client was, to send it what it missed. */
uint64_t	 screen_history_pushed(struct screen *);
size_t		 screen_history_bytes(struct screen *);
/* Expand history line n into cols cells (padded with blanks); wrapped flag. */
void		 screen_history_line(struct screen *, u_int n, struct cell *,
		    u_int cols, int *wrapped);
void		 screen_history_clear(struct screen *);
/* Cells line n needs (its content when pushed, trailing blanks trimmed). */
u_int		 screen_history_width(struct screen *, u_int n);

/*
 * Text capture with tmux's capture-pane semantics: lines numbered 0 for the
 * top visible row, negative into the history; start and end clamp.
 * CAPTURE_ESCAPES keeps colours and attributes as SGR sequences;
 * CAPTURE_JOIN joins wrapped lines and keeps trailing spaces of them.
 * Lines end in "\n"; trailing blanks trimmed (unless joined).
 */
#define CAPTURE_ESCAPES	0x1
#define CAPTURE_JOIN	0x2
#define CAPTURE_START_HISTORY	INT32_MIN	/* "-S -" */
#define CAPTURE_END_VISIBLE	INT32_MAX	/* "-E -" */
void		 screen_capture(struct screen *, int start, int end, int flags,
		    struct buf *);

/*
 * Rendering for a client's terminal (xterm-compatible escape sequences, UTF-8).
 * A struct render is what one client last saw: a shadow of cells, the gen of
 * each row, the cursor, the pen and modes it last sent.  Rows are given as
 * arrays of cells so the caller can compose (a pane, a status line, a list);
 * a row gen of 0 means "unknown, compare the cells".
 */
struct render;
struct render	*render_new(void);
void		 render_free(struct render *);
void		 render_invalidate(struct render *);	/* next frame is full */
/* Start a frame of cols x rows for the client; out is appended to. */
void		 render_begin(struct render *, u_int cols, u_int rows,
		    struct buf *out);
/* Client row y shows these cells (cols of them). */
void		 render_row(struct render *, u_int y, const struct cell *,
		    uint64_t gen);
/* Finish: cursor position, visibility and modes (NULL: cursor visible, all
 * off); returns bytes appended.  Ends with the SGR pen reset. */
size_t		 render_end(struct render *, u_int cx, u_int cy,
		    const struct screen_modes *);
/* Convenience: the whole screen at client rows [0, screen_rows). */
void		 render_screen(struct render *, struct screen *, u_int y0);

/* Scrollback lines [from, to) as SGR text lines ending "\r\n", for clients
 * that keep their own scrollback (web terminals). */
void		 render_history(struct screen *, u_int from, u_int to,
		    struct buf *);

/* A small grid for composed content: status lines, lists, prompts.
 * cell_put_text uses vterm/'s own width table (East Asian wide, emoji,
 * combining marks), not wcwidth(), so no locale is needed. */
void		 cell_set_blank(struct cell *, u_int n, uint32_t bg);
u_int		 cell_put_text(struct cell *, u_int cols, u_int x, const char *,
		    uint32_t fg, uint32_t bg, uint16_t attr); /* returns x after */

#endif

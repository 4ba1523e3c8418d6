/*
 * server/prompt.c: a line editor on the status row.  The prompt mode
 * (command-prompt) reads a command line, or fills a template's %% with what
 * was typed, and runs it; the editor itself (prompt_line_*) is shared with
 * modes that ask a question of their own, such as the scrollback search.
 */
#include <stdlib.h>
#include <string.h>

#include "server.h"

#define PROMPT_FG	COLOUR_INDEX(0)
#define PROMPT_BG	COLOUR_INDEX(3)

struct prompt_line {
	char		*label;		/* shown before the text */
	char		*buf;		/* UTF-8, NUL-terminated */
	size_t		 len;
	size_t		 size;
	size_t		 pos;		/* byte offset of the cursor */
	u_int		 cx;		/* cursor column when last drawn */
};

struct prompt_data {
	struct prompt_line *line;
	char		*template;
};

static void	prompt_key(struct client *, key_code);
static void	prompt_draw(struct client *, struct render *, u_int);
static void	prompt_free(struct client *);
static int	prompt_draw_status(struct client *, struct cell *, u_int);
static int	prompt_cursor(struct client *, u_int *, u_int *);

static const struct mode_def prompt_mode = {
	.name = "prompt",
	.key = prompt_key,
	.draw = prompt_draw,
	.free = prompt_free,
	.resize = NULL,
	.draw_status = prompt_draw_status,
	.cursor = prompt_cursor
};

struct prompt_line *
prompt_line_new(const char *label, const char *initial)
{
	struct prompt_line	*pl = xcalloc(1, sizeof *pl);

	pl->label = xstrdup(label != NULL ? label : "");
	if (initial == NULL)
		initial = "";
	pl->len = pl->pos = strlen(initial);
	pl->size = pl->len + 64;
	pl->buf = xmalloc(pl->size);
	memcpy(pl->buf, initial, pl->len + 1);
	return (pl);
}

void
prompt_line_free(struct prompt_line *pl)
{
	if (pl == NULL)
		return;
	free(pl->label);
	free(pl->buf);
	free(pl);
}

/* The cursor's column on the status row when last drawn. */
u_int
prompt_line_cursor(struct prompt_line *pl)
{
	return (pl->cx);
}

const char *
prompt_line_text(struct prompt_line *pl)
{
	return (pl->buf);
}

static int
prompt_line_is_cont(struct prompt_line *pl, size_t off)
{
	return (off < pl->len && ((u_char)pl->buf[off] & 0xc0) == 0x80);
}

static size_t
prompt_line_left(struct prompt_line *pl, size_t off)
{
	if (off == 0)
		return (0);
	off--;
	while (off > 0 && prompt_line_is_cont(pl, off))
		off--;
	return (off);
}

static size_t
prompt_line_right(struct prompt_line *pl, size_t off)
{
	if (off >= pl->len)
		return (pl->len);
	off++;
	while (prompt_line_is_cont(pl, off))
		off++;
	return (off);
}

/* Remove bytes [from, to). */
static void
prompt_line_cut(struct prompt_line *pl, size_t from, size_t to)
{
	if (from >= to)
		return;
	memmove(pl->buf + from, pl->buf + to, pl->len - to + 1);
	pl->len -= to - from;
	if (pl->pos > to)
		pl->pos -= to - from;
	else if (pl->pos > from)
		pl->pos = from;
}

static void
prompt_line_insert(struct prompt_line *pl, uint32_t ch)
{
	char	 u[4];
	size_t	 n;

	if (ch < 0x80)
		u[0] = ch, n = 1;
	else if (ch < 0x800) {
		u[0] = 0xc0 | (ch >> 6);
		u[1] = 0x80 | (ch & 0x3f);
		n = 2;
	} else if (ch < 0x10000) {
		u[0] = 0xe0 | (ch >> 12);
		u[1] = 0x80 | ((ch >> 6) & 0x3f);
		u[2] = 0x80 | (ch & 0x3f);
		n = 3;
	} else {
		u[0] = 0xf0 | (ch >> 18);
		u[1] = 0x80 | ((ch >> 12) & 0x3f);
		u[2] = 0x80 | ((ch >> 6) & 0x3f);
		u[3] = 0x80 | (ch & 0x3f);
		n = 4;
	}
	if (pl->len + n + 1 > pl->size) {
		pl->size = (pl->len + n + 1) * 2;
		pl->buf = xreallocarray(pl->buf, pl->size, 1);
	}
	memmove(pl->buf + pl->pos + n, pl->buf + pl->pos, pl->len - pl->pos + 1);
	memcpy(pl->buf + pl->pos, u, n);
	pl->len += n;
	pl->pos += n;
}

/* Delete the word before the cursor, and the spaces after it. */
static void
prompt_line_delete_word(struct prompt_line *pl)
{
	size_t	 off = pl->pos;

	while (off > 0 && pl->buf[off - 1] == ' ')
		off--;
	while (off > 0 && pl->buf[off - 1] != ' ')
		off--;
	prompt_line_cut(pl, off, pl->pos);
}

enum prompt_result
prompt_line_key(struct prompt_line *pl, key_code key)
{
	key_code	 k = key & KEYC_MASK_KEY;

	if (key & KEYC_CTRL) {
		switch (k) {
		case 'c':
		case 'g':
			return (PROMPT_CANCEL);
		case 'm':
			return (PROMPT_DONE);
		case 'a':
			pl->pos = 0;
			break;
		case 'e':
			pl->pos = pl->len;
			break;
		case 'b':
			pl->pos = prompt_line_left(pl, pl->pos);
			break;
		case 'f':
			pl->pos = prompt_line_right(pl, pl->pos);
			break;
		case 'h':
			prompt_line_cut(pl, prompt_line_left(pl, pl->pos),
			    pl->pos);
			break;
		case 'd':
			prompt_line_cut(pl, pl->pos,
			    prompt_line_right(pl, pl->pos));
			break;
		case 'u':
			prompt_line_cut(pl, 0, pl->len);
			break;
		case 'k':
			prompt_line_cut(pl, pl->pos, pl->len);
			break;
		case 'w':
			prompt_line_delete_word(pl);
			break;
		}
		return (PROMPT_EDITING);
	}
	switch (k) {
	case KEYC_ENTER:
	case KEYC_KPENTER:
		return (PROMPT_DONE);
	case KEYC_ESCAPE:
		return (PROMPT_CANCEL);
	case KEYC_BSPACE:
		prompt_line_cut(pl, prompt_line_left(pl, pl->pos), pl->pos);
		return (PROMPT_EDITING);
	case KEYC_DELETE:
		prompt_line_cut(pl, pl->pos, prompt_line_right(pl, pl->pos));
		return (PROMPT_EDITING);
	case KEYC_LEFT:
		pl->pos = prompt_line_left(pl, pl->pos);
		return (PROMPT_EDITING);
	case KEYC_RIGHT:
		pl->pos = prompt_line_right(pl, pl->pos);
		return (PROMPT_EDITING);
	case KEYC_HOME:
		pl->pos = 0;
		return (PROMPT_EDITING);
	case KEYC_END:
		pl->pos = pl->len;
		return (PROMPT_EDITING);
	}
	if (key & KEYC_META)
		return (PROMPT_EDITING);
	if (k >= 0x20 && k != 0x7f && k < KEYC_BASE && (k < 0x80 || k >= 0xa0) &&
	    k <= 0x10ffff)
		prompt_line_insert(pl, k);
	return (PROMPT_EDITING);
}

/*
 * Fill a status row: the label, then the text scrolled so the cursor is
 * visible.  Returns the cursor's column.
 */
u_int
prompt_line_draw(struct prompt_line *pl, struct cell *cells, u_int cols)
{
	struct cell	*line;
	char		 saved;
	u_int		 n, x, cx, off = 0;

	/* A column never takes fewer bytes than it is wide. */
	n = strlen(pl->label) + pl->len + 2;
	line = xcalloc(n, sizeof *line);
	cell_set_blank(line, n, PROMPT_BG);
	x = cell_put_text(line, n, 0, pl->label, PROMPT_FG, PROMPT_BG, 0);
	saved = pl->buf[pl->pos];
	pl->buf[pl->pos] = '\0';
	cx = cell_put_text(line, n, x, pl->buf, PROMPT_FG, PROMPT_BG, 0);
	pl->buf[pl->pos] = saved;
	cell_put_text(line, n, cx, pl->buf + pl->pos, PROMPT_FG, PROMPT_BG, 0);
	if (cols != 0 && cx >= cols)
		off = cx - cols + 1;
	cell_set_blank(cells, cols, PROMPT_BG);
	if (off < n)
		memcpy(cells, line + off,
		    (n - off < cols ? n - off : cols) * sizeof *cells);
	if (cols != 0 && off != 0 && cells[0].width == 0) {
		cell_set_blank(cells, 1, PROMPT_BG);
	}
	if (cols != 0 && cells[cols - 1].width == 2)
		cell_set_blank(cells + cols - 1, 1, PROMPT_BG);
	free(line);
	pl->cx = cx - off;
	return (pl->cx);
}

void
prompt_enter(struct client *c, const char *label, const char *initial,
    const char *template)
{
	struct prompt_data	*pd;
	char			*shown;

	if (c->session == NULL)
		return;
	pd = xcalloc(1, sizeof *pd);
	if (label == NULL)
		shown = xstrdup(":");
	else
		xasprintf(&shown, "(%s) ", label);
	pd->line = prompt_line_new(shown, initial);
	free(shown);
	pd->template = template != NULL ? xstrdup(template) : NULL;
	mode_enter(c, &prompt_mode, pd);
}

/* The template with every %% replaced by the input. */
static char *
prompt_expand(const char *template, const char *input)
{
	struct buf	 b;
	const char	*p;
	char		*out;

	buf_init(&b);
	while ((p = strstr(template, "%%")) != NULL) {
		buf_add(&b, template, p - template);
		buf_addstr(&b, input);
		template = p + 2;
	}
	buf_addstr(&b, template);
	buf_add(&b, "", 1);
	out = xstrdup(b.data);
	buf_free(&b);
	return (out);
}

static void
prompt_key(struct client *c, key_code key)
{
	struct prompt_data	*pd = c->mode->data;
	char			*input, *line;

	switch (prompt_line_key(pd->line, key)) {
	case PROMPT_EDITING:
		server_client_schedule(c);
		return;
	case PROMPT_CANCEL:
		mode_exit(c);
		return;
	case PROMPT_DONE:
		break;
	}
	input = xstrdup(prompt_line_text(pd->line));
	line = NULL;
	if (*input != '\0')
		line = pd->template != NULL ?
		    prompt_expand(pd->template, input) : xstrdup(input);
	/* The command may enter another mode or end the session. */
	mode_exit(c);
	if (line != NULL) {
		log_debug("%s: %s", __func__, line);
		cmd_run_string(c, line);
	}
	free(line);
	free(input);
}

static void
prompt_draw(struct client *c, struct render *r __unused, u_int rows)
{
	server_client_draw_pane(c, rows);
}

static int
prompt_draw_status(struct client *c, struct cell *cells, u_int cols)
{
	struct prompt_data	*pd = c->mode->data;

	prompt_line_draw(pd->line, cells, cols);
	return (1);
}

static int
prompt_cursor(struct client *c, u_int *x, u_int *y)
{
	struct prompt_data	*pd = c->mode->data;

	*x = prompt_line_cursor(pd->line);
	*y = c->rows - 1;
	return (1);
}

static void
prompt_free(struct client *c)
{
	struct prompt_data	*pd = c->mode->data;

	prompt_line_free(pd->line);
	free(pd->template);
	free(pd);
}

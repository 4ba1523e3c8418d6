/*
 * vterm/vterm-int.h: declarations shared between the files of vterm/ only:
 * the combined-character table and the scrollback store.  Nothing outside
 * vterm/ includes this; the public interface is vterm.h.
 */
#ifndef SCREEN_VTERM_INT_H
#define SCREEN_VTERM_INT_H

#include "vterm.h"

/* cell.c */
uint32_t	 cell_combine(const uint32_t *, int);	/* ch for a sequence */
u_int		 cell_width(uint32_t);			/* 0, 1 or 2 */
void		 cell_sgr(struct buf *, const struct cell *);

/* history.c: one screen's scrollback. */
struct history;
struct history	*history_new(u_int, struct history_budget *);
void		 history_free(struct history *);
void		 history_push(struct history *, const struct cell *, u_int,
		    int);
int		 history_pop(struct history *, struct cell *, u_int, int *);
void		 history_get(struct history *, u_int, struct cell *, u_int,
		    int *);
u_int		 history_width(struct history *, u_int);
u_int		 history_size(struct history *);
uint64_t	 history_pushed(struct history *);
size_t		 history_bytes(struct history *);
void		 history_set_limit(struct history *, u_int);
void		 history_clear(struct history *);

/* capture.c: cells as text, with SGR when pen != NULL changes. */
void		 capture_cells(struct buf *, const struct cell *, u_int, int,
		    struct cell *);

#endif

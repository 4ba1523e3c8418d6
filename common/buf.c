/*
 * common/buf.c: the growable byte buffer that renderers and command replies
 * append to.  It owns only its memory; callers decide when to send it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

void
buf_init(struct buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->size = 0;
}

void
buf_free(struct buf *b)
{
	free(b->data);
	buf_init(b);
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
}

/* Make room for n more bytes. */
static void
buf_grow(struct buf *b, size_t n)
{
	size_t	 size;

	if (b->len + n <= b->size)
		return;
	size = b->size == 0 ? 256 : b->size;
	while (size < b->len + n)
		size *= 2;
	b->data = xreallocarray(b->data, 1, size);
	b->size = size;
}

void
buf_add(struct buf *b, const void *data, size_t n)
{
	if (n == 0)
		return;
	buf_grow(b, n);
	memcpy(b->data + b->len, data, n);
	b->len += n;
}

void
buf_addstr(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n <= 0)
		return;
	buf_grow(b, n + 1);
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, n + 1, fmt, ap);
	va_end(ap);
	b->len += n;
}

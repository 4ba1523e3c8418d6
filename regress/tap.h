/*
 * regress/tap.h: a tiny TAP producer for the C unit tests; automake's
 * tap-driver.sh counts each "ok"/"not ok" line as one test.
 */
#ifndef TAP_H
#define TAP_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int	tap_n, tap_failed;

#define TAP_OK(cond, ...) do {						\
	tap_n++;							\
	if (!(cond)) {							\
		tap_failed++;						\
		printf("not ok %d - ", tap_n);				\
		printf(__VA_ARGS__);					\
		printf("\n# %s:%d: %s\n", __FILE__, __LINE__, #cond);	\
	} else {							\
		printf("ok %d - ", tap_n);				\
		printf(__VA_ARGS__);					\
		printf("\n");						\
	}								\
	fflush(stdout);							\
} while (0)

#define TAP_DIAG(...) do { printf("# "); printf(__VA_ARGS__); printf("\n"); } while (0)

static inline int
tap_done(void)
{
	printf("1..%d\n", tap_n);
	return (tap_failed != 0);
}

#endif

/*
 * common/key.h: key codes as they travel from a client to the server.  A key
 * is a Unicode code point or one of the named keys below, plus modifier bits.
 * The server turns them into bytes for the application's current modes
 * (vterm/), so clients never need to know cursor-key or keypad mode.
 */
#ifndef KEY_H
#define KEY_H

#include <stdint.h>
#include <stddef.h>

typedef uint64_t key_code;

#define KEYC_MASK_MODS	0xff00000000ULL
#define KEYC_CTRL	0x0100000000ULL
#define KEYC_META	0x0200000000ULL
#define KEYC_SHIFT	0x0400000000ULL
#define KEYC_MASK_KEY	0x00ffffffffULL

#define KEYC_NONE	0xfffffffULL
#define KEYC_BASE	0x10000000ULL	/* above every code point */

enum key_named {
	KEYC_ENTER = KEYC_BASE,
	KEYC_TAB,
	KEYC_BSPACE,
	KEYC_ESCAPE,
	KEYC_UP,
	KEYC_DOWN,
	KEYC_LEFT,
	KEYC_RIGHT,
	KEYC_INSERT,
	KEYC_DELETE,
	KEYC_HOME,
	KEYC_END,
	KEYC_PPAGE,
	KEYC_NPAGE,
	KEYC_BTAB,		/* shift-tab */
	KEYC_F1, KEYC_F2, KEYC_F3, KEYC_F4, KEYC_F5, KEYC_F6,
	KEYC_F7, KEYC_F8, KEYC_F9, KEYC_F10, KEYC_F11, KEYC_F12,
	KEYC_KP0, KEYC_KP1, KEYC_KP2, KEYC_KP3, KEYC_KP4,
	KEYC_KP5, KEYC_KP6, KEYC_KP7, KEYC_KP8, KEYC_KP9,
	KEYC_KPPERIOD, KEYC_KPPLUS, KEYC_KPMINUS, KEYC_KPMULT,
	KEYC_KPDIV, KEYC_KPENTER,
	KEYC_NAMED_END
};

#define KEYC_IS_NAMED(k) \
	(((k) & KEYC_MASK_KEY) >= KEYC_BASE && ((k) & KEYC_MASK_KEY) < KEYC_NAMED_END)

/* key.c: tmux key names: "Enter", "C-c", "M-x", "S-Up", "F5", "PPage", "a". */
key_code	 key_from_string(const char *);	/* KEYC_NONE if unknown */
const char	*key_to_string(key_code, char *, size_t);

#endif

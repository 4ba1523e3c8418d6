/*
 * common/key.c: tmux key names to key_code and back ("C-c", "M-Up", "F5",
 * "Enter", "é").  Names come from one table; the first spelling of a key is
 * the one key_to_string prints.  Turning keys into bytes is vterm/'s job.
 */

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/common.h"
#include "common/key.h"

struct key_name {
	const char	*name;
	key_code	 key;
};

/* Canonical spelling first; aliases after it. */
static const struct key_name key_names[] = {
	{ "Enter", KEYC_ENTER },
	{ "Tab", KEYC_TAB },
	{ "BTab", KEYC_BTAB },
	{ "BSpace", KEYC_BSPACE },
	{ "Escape", KEYC_ESCAPE },
	{ "Space", ' ' },
	{ "Up", KEYC_UP },
	{ "Down", KEYC_DOWN },
	{ "Left", KEYC_LEFT },
	{ "Right", KEYC_RIGHT },
	{ "IC", KEYC_INSERT },
	{ "Insert", KEYC_INSERT },
	{ "DC", KEYC_DELETE },
	{ "Delete", KEYC_DELETE },
	{ "Home", KEYC_HOME },
	{ "End", KEYC_END },
	{ "PPage", KEYC_PPAGE },
	{ "PageUp", KEYC_PPAGE },
	{ "PgUp", KEYC_PPAGE },
	{ "NPage", KEYC_NPAGE },
	{ "PageDown", KEYC_NPAGE },
	{ "PgDn", KEYC_NPAGE },
	{ "F1", KEYC_F1 }, { "F2", KEYC_F2 }, { "F3", KEYC_F3 },
	{ "F4", KEYC_F4 }, { "F5", KEYC_F5 }, { "F6", KEYC_F6 },
	{ "F7", KEYC_F7 }, { "F8", KEYC_F8 }, { "F9", KEYC_F9 },
	{ "F10", KEYC_F10 }, { "F11", KEYC_F11 }, { "F12", KEYC_F12 },
	{ "KP0", KEYC_KP0 }, { "KP1", KEYC_KP1 }, { "KP2", KEYC_KP2 },
	{ "KP3", KEYC_KP3 }, { "KP4", KEYC_KP4 }, { "KP5", KEYC_KP5 },
	{ "KP6", KEYC_KP6 }, { "KP7", KEYC_KP7 }, { "KP8", KEYC_KP8 },
	{ "KP9", KEYC_KP9 },
	{ "KP.", KEYC_KPPERIOD },
	{ "KP+", KEYC_KPPLUS },
	{ "KP-", KEYC_KPMINUS },
	{ "KP*", KEYC_KPMULT },
	{ "KP/", KEYC_KPDIV },
	{ "KPEnter", KEYC_KPENTER }
};

/* Modifier prefixes in the order key_to_string writes them. */
static const struct {
	char		 letter;
	key_code	 mod;
} key_mods[] = {
	{ 'C', KEYC_CTRL },
	{ 'M', KEYC_META },
	{ 'S', KEYC_SHIFT }
};

/*
 * Decode exactly one UTF-8 character filling all of s; return the code
 * point or KEYC_NONE.  Overlong forms, surrogates and trailing bytes fail.
 */
static key_code
key_utf8(const char *s)
{
	const u_char	*p = (const u_char *)s;
	size_t		 n, i, len = strlen(s);
	uint32_t	 c, min;

	if (p[0] < 0x80)
		n = 1, c = p[0], min = 0;
	else if ((p[0] & 0xe0) == 0xc0)
		n = 2, c = p[0] & 0x1f, min = 0x80;
	else if ((p[0] & 0xf0) == 0xe0)
		n = 3, c = p[0] & 0x0f, min = 0x800;
	else if ((p[0] & 0xf8) == 0xf0)
		n = 4, c = p[0] & 0x07, min = 0x10000;
	else
		return (KEYC_NONE);
	if (len != n)
		return (KEYC_NONE);
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return (KEYC_NONE);
		c = (c << 6) | (p[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return (KEYC_NONE);
	return (c);
}

/* A name without modifiers: a table entry or a single character. */
static key_code
key_lookup_base(const char *s)
{
	u_int	i;

	for (i = 0; i < nitems(key_names); i++) {
		if (strcasecmp(key_names[i].name, s) == 0)
			return (key_names[i].key);
	}
	return (key_utf8(s));
}

/* If s starts with a modifier prefix ("C-", "m-", "^"), return its bit. */
static key_code
key_lookup_mod(const char *s, size_t *skip)
{
	u_int	i;

	if (s[0] == '^' && s[1] != '\0') {
		*skip = 1;
		return (KEYC_CTRL);
	}
	if (s[0] == '\0' || s[1] != '-' || s[2] == '\0')
		return (0);
	for (i = 0; i < nitems(key_mods); i++) {
		if (key_mods[i].letter == s[0] ||
		    key_mods[i].letter == s[0] - 'a' + 'A') {
			*skip = 2;
			return (key_mods[i].mod);
		}
	}
	return (0);
}

key_code
key_from_string(const char *s)
{
	key_code	 mods = 0, mod, key;
	size_t		 skip;

	if (s == NULL || *s == '\0')
		return (KEYC_NONE);
	while ((mod = key_lookup_mod(s, &skip)) != 0) {
		mods |= mod;
		s += skip;
	}
	if ((key = key_lookup_base(s)) == KEYC_NONE)
		return (KEYC_NONE);

	/* C-c and C-C are both Ctrl+c; S-a is just A. */
	if ((mods & KEYC_CTRL) && key >= 'A' && key <= 'Z')
		key += 'a' - 'A';
	if ((mods & KEYC_SHIFT) && key >= 'a' && key <= 'z' &&
	    (~mods & KEYC_CTRL)) {
		key -= 'a' - 'A';
		mods &= ~KEYC_SHIFT;
	}
	return (key | mods);
}

const char *
key_to_string(key_code key, char *buf, size_t len)
{
	key_code	 base = key & KEYC_MASK_KEY;
	char		 prefix[16] = "", ch[8];
	const char	*name = NULL;
	size_t		 n;
	u_int		 i;

	if (len == 0)
		return (buf);
	if (key == KEYC_NONE) {
		snprintf(buf, len, "None");
		return (buf);
	}
	for (i = 0; i < nitems(key_mods); i++) {
		if (key & key_mods[i].mod) {
			n = strlen(prefix);
			prefix[n] = key_mods[i].letter;
			prefix[n + 1] = '-';
			prefix[n + 2] = '\0';
		}
	}
	for (i = 0; i < nitems(key_names); i++) {
		if (key_names[i].key == base) {
			name = key_names[i].name;
			break;
		}
	}
	if (name == NULL) {
		if (base > 0x10ffff || (base >= 0xd800 && base <= 0xdfff)) {
			snprintf(buf, len, "Unknown");
			return (buf);
		}
		n = utf8_encode(base, ch);
		ch[n] = '\0';
		name = ch;
	}
	snprintf(buf, len, "%s%s", prefix, name);
	return (buf);
}

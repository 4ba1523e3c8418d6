/*
 * regress/test-keys.c: common/key.c, tmux key names to key codes and back:
 * every named key, aliases, modifiers, UTF-8 characters, unknown names.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include "common/common.h"
#include "common/key.h"

#include <cmocka.h>

/* Every canonical name, as key_to_string must print it. */
static const struct {
	const char	*name;
	key_code	 key;
} canonical[] = {
	{ "Enter", KEYC_ENTER }, { "Tab", KEYC_TAB }, { "BTab", KEYC_BTAB },
	{ "BSpace", KEYC_BSPACE }, { "Escape", KEYC_ESCAPE },
	{ "Space", ' ' },
	{ "Up", KEYC_UP }, { "Down", KEYC_DOWN },
	{ "Left", KEYC_LEFT }, { "Right", KEYC_RIGHT },
	{ "IC", KEYC_INSERT }, { "DC", KEYC_DELETE },
	{ "Home", KEYC_HOME }, { "End", KEYC_END },
	{ "PPage", KEYC_PPAGE }, { "NPage", KEYC_NPAGE },
	{ "F1", KEYC_F1 }, { "F2", KEYC_F2 }, { "F3", KEYC_F3 },
	{ "F4", KEYC_F4 }, { "F5", KEYC_F5 }, { "F6", KEYC_F6 },
	{ "F7", KEYC_F7 }, { "F8", KEYC_F8 }, { "F9", KEYC_F9 },
	{ "F10", KEYC_F10 }, { "F11", KEYC_F11 }, { "F12", KEYC_F12 },
	{ "KP0", KEYC_KP0 }, { "KP1", KEYC_KP1 }, { "KP2", KEYC_KP2 },
	{ "KP3", KEYC_KP3 }, { "KP4", KEYC_KP4 }, { "KP5", KEYC_KP5 },
	{ "KP6", KEYC_KP6 }, { "KP7", KEYC_KP7 }, { "KP8", KEYC_KP8 },
	{ "KP9", KEYC_KP9 },
	{ "KP.", KEYC_KPPERIOD }, { "KP+", KEYC_KPPLUS },
	{ "KP-", KEYC_KPMINUS }, { "KP*", KEYC_KPMULT },
	{ "KP/", KEYC_KPDIV }, { "KPEnter", KEYC_KPENTER }
};

/* Other spellings that parse to a key. */
static const struct {
	const char	*name;
	key_code	 key;
} parses[] = {
	{ "PageUp", KEYC_PPAGE }, { "PgUp", KEYC_PPAGE },
	{ "PageDown", KEYC_NPAGE }, { "PgDn", KEYC_NPAGE },
	{ "Insert", KEYC_INSERT }, { "Delete", KEYC_DELETE },
	{ "enter", KEYC_ENTER }, { "ESCAPE", KEYC_ESCAPE },
	{ "pgup", KEYC_PPAGE }, { "f12", KEYC_F12 }, { "kpenter", KEYC_KPENTER },
	{ "bspace", KEYC_BSPACE }, { "space", ' ' },
	{ "a", 'a' }, { "A", 'A' }, { "~", '~' }, { "-", '-' },
	{ "é", 0xe9 }, { "中", 0x4e2d }, { "😀", 0x1f600 },
	{ "C-c", 'c' | KEYC_CTRL }, { "C-C", 'c' | KEYC_CTRL },
	{ "c-c", 'c' | KEYC_CTRL }, { "^c", 'c' | KEYC_CTRL },
	{ "^C", 'c' | KEYC_CTRL }, { "^", '^' }, { "^^", '^' | KEYC_CTRL },
	{ "C-Space", ' ' | KEYC_CTRL }, { "C-\\", '\\' | KEYC_CTRL },
	{ "C--", '-' | KEYC_CTRL }, { "M--", '-' | KEYC_META },
	{ "M-x", 'x' | KEYC_META }, { "m-x", 'x' | KEYC_META },
	{ "M-X", 'X' | KEYC_META },
	{ "C-M-x", 'x' | KEYC_CTRL | KEYC_META },
	{ "M-C-x", 'x' | KEYC_CTRL | KEYC_META },
	{ "S-Up", KEYC_UP | KEYC_SHIFT },
	{ "s-up", KEYC_UP | KEYC_SHIFT },
	{ "C-S-Left", KEYC_LEFT | KEYC_CTRL | KEYC_SHIFT },
	{ "C-M-S-F5", KEYC_F5 | KEYC_CTRL | KEYC_META | KEYC_SHIFT },
	{ "M-Enter", KEYC_ENTER | KEYC_META },
	{ "M-é", 0xe9 | KEYC_META },
	{ "S-a", 'A' }, { "M-S-a", 'A' | KEYC_META },
	{ "C", 'C' }, { "M", 'M' }, { "S", 'S' }
};

/* Names that are not keys. */
static const char *unknown[] = {
	"", "Foo", "F13", "F0", "KP10", "ab", "C-", "M-", "C-Foo", "Enterx",
	"X-a", "C-M-", "\xc3", "\xc3\xa9x", "\xed\xa0\x80", "\xc0\xaf",
	"\xf4\x90\x80\x80"
};

/* key_to_string of keys built from codes. */
static const struct {
	key_code	 key;
	const char	*name;
} prints[] = {
	{ 'c' | KEYC_CTRL, "C-c" },
	{ KEYC_UP | KEYC_META, "M-Up" },
	{ KEYC_UP | KEYC_SHIFT, "S-Up" },
	{ 'x' | KEYC_CTRL | KEYC_META, "C-M-x" },
	{ KEYC_F5 | KEYC_CTRL | KEYC_META | KEYC_SHIFT, "C-M-S-F5" },
	{ ' ' | KEYC_CTRL, "C-Space" },
	{ ' ', "Space" },
	{ 0xe9, "é" },
	{ 0x4e2d | KEYC_META, "M-中" },
	{ 'a', "a" },
	{ KEYC_NONE, "None" }
};

/* Key codes equal, naming the case in the log if not. */
static void
t_assert_key(key_code got, key_code want, const char *what)
{
	if (got != want)
		print_message("# %s\n", what);
	assert_int_equal(got, want);
}

static void
key_from_string_parses_every_canonical_name(void **state __unused)
{
	u_int	 i;

	for (i = 0; i < nitems(canonical); i++) {
		t_assert_key(key_from_string(canonical[i].name),
		    canonical[i].key, canonical[i].name);
	}
}

static void
key_to_string_prints_every_canonical_name(void **state __unused)
{
	char	 buf[64];
	u_int	 i;

	for (i = 0; i < nitems(canonical); i++) {
		key_to_string(canonical[i].key, buf, sizeof buf);
		assert_string_equal(buf, canonical[i].name);
	}
}

static void
canonical_names_round_trip_with_modifiers(void **state __unused)
{
	char		 buf[64];
	key_code	 k;
	u_int		 i;

	for (i = 0; i < nitems(canonical); i++) {
		k = canonical[i].key | KEYC_CTRL | KEYC_META;
		key_to_string(k, buf, sizeof buf);
		t_assert_key(key_from_string(buf), k, buf);
	}
}

static void
key_from_string_parses_other_spellings(void **state __unused)
{
	u_int	 i;

	for (i = 0; i < nitems(parses); i++) {
		t_assert_key(key_from_string(parses[i].name), parses[i].key,
		    parses[i].name);
	}
}

static void
unknown_names_are_keyc_none(void **state __unused)
{
	char	 what[32];
	u_int	 i;

	for (i = 0; i < nitems(unknown); i++) {
		snprintf(what, sizeof what, "unknown name #%u", i);
		t_assert_key(key_from_string(unknown[i]), KEYC_NONE, what);
	}
}

static void
null_name_is_keyc_none(void **state __unused)
{
	assert_int_equal(key_from_string(NULL), KEYC_NONE);
}

static void
key_to_string_prints_modified_keys(void **state __unused)
{
	char	 buf[64];
	u_int	 i;

	for (i = 0; i < nitems(prints); i++) {
		key_to_string(prints[i].key, buf, sizeof buf);
		assert_string_equal(buf, prints[i].name);
	}
}

static void
printed_names_parse_back_to_their_keys(void **state __unused)
{
	u_int	 i;

	for (i = 0; i < nitems(prints); i++) {
		if (prints[i].key == KEYC_NONE)
			continue;
		t_assert_key(key_from_string(prints[i].name), prints[i].key,
		    prints[i].name);
	}
}

/* Every code point in a sample, with and without modifiers. */
static void
code_points_round_trip_through_their_names(void **state __unused)
{
	char		 buf[64];
	key_code	 k;

	for (k = 0x21; k < 0x3000; k += 0x1f) {
		if (k >= 0xd800 && k <= 0xdfff)
			continue;
		key_to_string(k | KEYC_META, buf, sizeof buf);
		t_assert_key(key_from_string(buf), k | KEYC_META, buf);
	}
}

static void
key_to_string_truncates_to_the_buffer(void **state __unused)
{
	char	 small[4];

	key_to_string(KEYC_PPAGE | KEYC_CTRL, small, sizeof small);
	assert_string_equal(small, "C-P");
}

int
main(void)
{
	const struct CMUnitTest keys[] = {
		cmocka_unit_test(key_from_string_parses_every_canonical_name),
		cmocka_unit_test(key_to_string_prints_every_canonical_name),
		cmocka_unit_test(canonical_names_round_trip_with_modifiers),
		cmocka_unit_test(key_from_string_parses_other_spellings),
		cmocka_unit_test(unknown_names_are_keyc_none),
		cmocka_unit_test(null_name_is_keyc_none),
		cmocka_unit_test(key_to_string_prints_modified_keys),
		cmocka_unit_test(printed_names_parse_back_to_their_keys),
		cmocka_unit_test(code_points_round_trip_through_their_names),
		cmocka_unit_test(key_to_string_truncates_to_the_buffer),
	};

	return (cmocka_run_group_tests(keys, NULL, NULL));
}

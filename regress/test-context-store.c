/*
 * regress/test-context-store.c: the context store on its own (server/
 * context.c): limits with clear errors and exactly-at-limit values accepted,
 * TTLs never returned after expiry and purged from the file, the file read
 * back as it was written, a failed write leaving the store as it was, and a
 * corrupt file moved aside with the store starting empty.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "server/server.h"

#include <cmocka.h>

static char	 t_dir[] = "/tmp/loopsy-test-context.XXXXXX";
static char	 t_path[256];

/* cmd.c, msg.c and config.c are not linked: context.c needs only this. */
struct config	 config = {
	.context_max_entries = CONTEXT_MAX_ENTRIES,
	.context_max_bytes = CONTEXT_MAX_BYTES
};

/* A store with no file, for tests that would otherwise write 10000 times. */
static int
t_setup_memory(void **state __unused)
{
	char	*cause = NULL;

	context_set_clock(0);
	assert_int_equal(context_open(NULL, NULL, &cause), 0);
	return (0);
}

static int
t_setup(void **state __unused)
{
	char	*cause = NULL;

	context_set_clock(0);
	assert_int_equal(context_open(t_path, NULL, &cause), 0);
	return (0);
}

static int
t_teardown(void **state __unused)
{
	config.context_max_entries = CONTEXT_MAX_ENTRIES;
	config.context_max_bytes = CONTEXT_MAX_BYTES;
	context_close();
	unlink(t_path);
	context_set_clock(0);
	return (0);
}

static char *
t_string(size_t len, char c)
{
	char	*s = malloc(len + 1);

	memset(s, c, len);
	s[len] = '\0';
	return (s);
}

/* Set, get, overwrite (createdAt kept), delete. */
static void
set_get_overwrite_delete(void **state __unused)
{
	const struct context_entry	*ce;
	char				*cause = NULL;
	uint64_t			 created;

	context_set_clock(1000000);
	assert_int_equal(context_set("a", "one", 3, 0, &cause), 0);
	ce = context_get("a");
	assert_non_null(ce);
	assert_string_equal(ce->value, "one");
	assert_int_equal(ce->expires, 0);
	created = ce->created;
	context_set_clock(2000000);
	assert_int_equal(context_set("a", "two", 3, 0, &cause), 0);
	ce = context_get("a");
	assert_string_equal(ce->value, "two");
	assert_int_equal(ce->created, created);
	assert_int_equal(ce->updated, 2000000);
	assert_int_equal(context_delete("a", &cause), 0);
	assert_null(context_get("a"));
	assert_int_equal(context_delete("a", &cause), 1);
}

/* A 256-byte key and a 1 MiB value are accepted; one more byte is not. */
static void
limits_key_and_value(void **state __unused)
{
	char	*key = t_string(CONTEXT_MAX_KEY, 'k');
	char	*big = t_string(CONTEXT_MAX_KEY + 1, 'k');
	char	*value = t_string(CONTEXT_MAX_VALUE + 1, 'v');
	char	*cause = NULL;

	assert_int_equal(context_set(key, "x", 1, 0, &cause), 0);
	assert_int_equal(context_set(big, "x", 1, 0, &cause), -1);
	assert_non_null(strstr(cause, "key too long: 257 bytes"));
	free(cause);
	cause = NULL;
	assert_int_equal(context_set("v", value, CONTEXT_MAX_VALUE, 0,
	    &cause), 0);
	assert_int_equal(context_get("v")->len, CONTEXT_MAX_VALUE);
	assert_int_equal(context_set("w", value, CONTEXT_MAX_VALUE + 1, 0,
	    &cause), -1);
	assert_non_null(strstr(cause, "value too large"));
	assert_non_null(strstr(cause, "1048577 bytes"));
	free(cause);
	cause = NULL;
	assert_null(context_get("w"));
	assert_int_equal(context_set("", "x", 1, 0, &cause), -1);
	free(cause);
	free(key);
	free(big);
	free(value);
}

/* 10000 entries fit; the 10001st new key does not, but overwriting does. */
static void
limits_entries(void **state __unused)
{
	char	 key[32], *cause = NULL;
	u_int	 i;

	for (i = 0; i < CONTEXT_MAX_ENTRIES; i++) {
		snprintf(key, sizeof key, "k%05u", i);
		assert_int_equal(context_set(key, "x", 1, 0, &cause), 0);
	}
	assert_int_equal(context_count(), CONTEXT_MAX_ENTRIES);
	assert_int_equal(context_set("one-more", "x", 1, 0, &cause), -1);
	assert_non_null(strstr(cause, "context store full: 10000 entries"));
	free(cause);
	cause = NULL;
	assert_int_equal(context_set("k00000", "y", 1, 0, &cause), 0);
}

/* context.maxEntries and context.maxBytes as configured; 0 is no limit. */
static void
limits_configured(void **state __unused)
{
	char	*cause = NULL, *big = xmalloc(600000);

	memset(big, 'v', 600000);
	config.context_max_entries = 3;
	config.context_max_bytes = 1000000;
	assert_int_equal(context_set("a", "1", 1, 0, &cause), 0);
	assert_int_equal(context_set("b", big, 600000, 0, &cause), 0);
	assert_int_equal(context_set("c", big, 600000, 0, &cause), -1);
	assert_non_null(strstr(cause, "context store full: 1200004 bytes"));
	assert_non_null(strstr(cause, "context.maxBytes"));
	free(cause);
	cause = NULL;
	/* Replacing a value counts the new one, not both. */
	assert_int_equal(context_set("b", big, 599000, 0, &cause), 0);
	assert_int_equal(context_set("c", "3", 1, 0, &cause), 0);
	assert_int_equal(context_set("d", "4", 1, 0, &cause), -1);
	assert_non_null(strstr(cause, "context store full: 3 entries "
	    "(the limit is 3, context.maxEntries)"));
	free(cause);
	cause = NULL;
	config.context_max_entries = 0;
	config.context_max_bytes = 0;
	assert_int_equal(context_set("d", big, 600000, 0, &cause), 0);
	assert_int_equal(context_count(), 4);
	free(big);
}

/* Whatever the caller, the store holds UTF-8 text only. */
static void
only_text_is_stored(void **state __unused)
{
	char	*cause = NULL;

	assert_int_equal(context_set("k", "a\xffb", 3, 0, &cause), -1);
	assert_string_equal(cause, "the value is not UTF-8 text");
	free(cause);
	cause = NULL;
	assert_int_equal(context_set("k\xed\xa0\x80", "v", 1, 0, &cause), -1);
	assert_string_equal(cause, "the key is not UTF-8 text");
	free(cause);
	cause = NULL;
	assert_int_equal(context_set("k", "a\0b", 3, 0, &cause), -1);
	free(cause);
	cause = NULL;
	assert_null(context_get("k"));
	assert_int_equal(context_set("k", "caf\xc3\xa9", 5, 0, &cause), 0);
}

/* Expired entries are never returned, listed, or kept in the file. */
static void
ttl_expiry(void **state __unused)
{
	const struct context_entry	**v;
	char				*cause = NULL, *data;
	u_int				 n;

	context_set_clock(5000000);
	assert_int_equal(context_set("short", "s", 1, 1, &cause), 0);
	assert_int_equal(context_set("long", "l", 1, 60, &cause), 0);
	assert_int_equal(context_get("short")->expires, 5001000);
	context_set_clock(5000999);
	assert_non_null(context_get("short"));
	context_set_clock(5001000);
	assert_null(context_get("short"));
	n = context_list(NULL, &v);
	assert_int_equal(n, 1);
	assert_string_equal(v[0]->key, "long");
	free(v);
	assert_int_equal(context_delete("short", &cause), 1);
	context_purge();
	data = file_read(t_path, 1 << 20, NULL, &cause);
	assert_non_null(data);
	assert_null(strstr(data, "\"short\""));
	assert_non_null(strstr(data, "\"long\""));
	free(data);
}

/* What is written is what is read back, in the documented format. */
static void
persistence_round_trip(void **state __unused)
{
	const struct context_entry	*ce;
	char				*cause = NULL, *data;
	cJSON				*j;

	context_set_clock(7000000);
	assert_int_equal(context_set("b", "line\n\"quoted\" \xc3\xa9", 16, 0,
	    &cause), 0);
	assert_int_equal(context_set("a", "with ttl", 8, 30, &cause), 0);
	data = file_read(t_path, 1 << 20, NULL, &cause);
	j = cJSON_Parse(data);
	assert_non_null(j);
	assert_int_equal(cJSON_GetObjectItem(j, "version")->valueint, 1);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j,
	    "entries")), 2);
	cJSON_Delete(j);
	free(data);

	context_close();
	assert_int_equal(context_open(t_path, NULL, &cause), 0);
	assert_int_equal(context_count(), 2);
	ce = context_get("b");
	assert_string_equal(ce->value, "line\n\"quoted\" \xc3\xa9");
	assert_int_equal(ce->created, 7000000);
	assert_int_equal(ce->expires, 0);
	assert_int_equal(context_get("a")->expires, 7030000);

	/* Loading skips what expired while the server was down. */
	context_close();
	context_set_clock(7030000);
	assert_int_equal(context_open(t_path, NULL, &cause), 0);
	assert_null(context_get("a"));
	assert_non_null(context_get("b"));
}

/* A write that fails leaves the store as it was, and says why. */
static void
failed_write_changes_nothing(void **state __unused)
{
	char	*cause = NULL, path[512];

	/* A directory that does not exist: no temporary file can be made. */
	snprintf(path, sizeof path, "%s/gone/context.json", t_dir);
	assert_int_equal(context_open(path, NULL, &cause), 0);
	assert_int_equal(context_set("keep", "new", 3, 0, &cause), -1);
	assert_non_null(strstr(cause, "cannot create a file beside"));
	free(cause);
	cause = NULL;
	assert_null(context_get("keep"));
	assert_int_equal(context_count(), 0);
}

static int
t_count_aside(void)
{
	DIR		*d = opendir(t_dir);
	struct dirent	*de;
	char		 p[512];
	int		 n = 0;

	while ((de = readdir(d)) != NULL) {
		if (strstr(de->d_name, "context.json.corrupt-") != NULL) {
			n++;
			snprintf(p, sizeof p, "%s/%s", t_dir, de->d_name);
			unlink(p);
		}
	}
	closedir(d);
	return (n);
}

/* A corrupt file is moved aside and the store starts empty. */
static void
corrupt_file_moved_aside(void **state __unused)
{
	static const char	*bad[] = {
		"{\"version\":1,\"entries\":[{\"key\":\"a\",\"val",
		"[1,2,3]",
		"{\"version\":2,\"entries\":[]}",
		"",
	};
	char			*cause = NULL;
	u_int			 i;
	FILE			*f;

	for (i = 0; i < nitems(bad); i++) {
		context_close();
		f = fopen(t_path, "w");
		fputs(bad[i], f);
		fclose(f);
		assert_int_equal(context_open(t_path, NULL, &cause), 0);
		assert_int_equal(context_count(), 0);
		assert_int_equal(access(t_path, F_OK), -1);
		assert_int_equal(t_count_aside(), 1);
		/* and it works afterwards */
		assert_int_equal(context_set("after", "x", 1, 0, &cause), 0);
	}
}

/* Malformed entries in a valid file are skipped, not fatal. */
static void
bad_entries_skipped(void **state __unused)
{
	char	*cause = NULL;
	FILE	*f;

	context_close();
	f = fopen(t_path, "w");
	fputs("{\"version\":1,\"entries\":[{\"key\":\"ok\",\"value\":\"v\"},"
	    "{\"key\":5,\"value\":\"v\"},{\"value\":\"v\"},"
	    "{\"key\":\"ok\",\"value\":\"dup\"}]}", f);
	fclose(f);
	assert_int_equal(context_open(t_path, NULL, &cause), 0);
	assert_int_equal(context_count(), 1);
	assert_string_equal(context_get("ok")->value, "v");
}

/* --prefix: only keys that start with it, in key order. */
static void
list_prefix(void **state __unused)
{
	const struct context_entry	**v;
	char				*cause = NULL;
	u_int				 n;

	context_set("task:2", "b", 1, 0, &cause);
	context_set("inbox:h:1", "x", 1, 0, &cause);
	context_set("task:1", "a", 1, 0, &cause);
	context_set("tasks", "c", 1, 0, &cause);
	context_set("t", "d", 1, 0, &cause);
	n = context_list("task:", &v);
	assert_int_equal(n, 2);
	assert_string_equal(v[0]->key, "task:1");
	assert_string_equal(v[1]->key, "task:2");
	free(v);
	n = context_list(NULL, &v);
	assert_int_equal(n, 5);
	assert_string_equal(v[0]->key, "inbox:h:1");
	free(v);
	n = context_list("zzz", &v);
	assert_int_equal(n, 0);
	free(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(set_get_overwrite_delete,
		    t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(limits_key_and_value,
		    t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(ttl_expiry,
		    t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(limits_configured,
		    t_setup_memory, t_teardown),
		cmocka_unit_test_setup_teardown(only_text_is_stored,
		    t_setup_memory, t_teardown),
		cmocka_unit_test_setup_teardown(persistence_round_trip,
		    t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(failed_write_changes_nothing,
		    t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(corrupt_file_moved_aside,
		    t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(bad_entries_skipped,
		    t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(list_prefix,
		    t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(limits_entries,
		    t_setup_memory, t_teardown),
	};
	int	 rc;

	if (mkdtemp(t_dir) == NULL)
		return (1);
	snprintf(t_path, sizeof t_path, "%s/context.json", t_dir);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	t_count_aside();
	unlink(t_path);
	rmdir(t_dir);
	return (rc);
}

/*
 * regress/test-policy-path.c: the transfer path matcher.  Lists compare whole
 * components (/home/al is not /home/alice), ~ and .. are expanded, symlinks
 * are resolved before judging, deny wins, and a destination that does not
 * exist yet is judged by its resolved parent.
 */
#include <sys/stat.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/server.h"

#include <cmocka.h>

static char	 dir[PATH_MAX];		/* a private real directory */

static void
t_expect_str(char *got, const char *want)
{
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void
t_under_compares_whole_components(void **state __unused)
{
	assert_true(policy_path_under("/home/al", "/home/al"));
	assert_true(policy_path_under("/home/al/x", "/home/al"));
	assert_true(policy_path_under("/home/al/x", "/home/al/"));
	assert_false(policy_path_under("/home/alice", "/home/al"));
	assert_false(policy_path_under("/home/alice/x", "/home/al"));
	assert_false(policy_path_under("/home", "/home/al"));
	assert_true(policy_path_under("/etc/passwd", "/"));
}

static void
t_normalize_collapses_dots(void **state __unused)
{
	t_expect_str(policy_path_normalize("/a/./b/../c//d/"), "/a/c/d");
	t_expect_str(policy_path_normalize("/../.."), "/");
	t_expect_str(policy_path_normalize("/home/al/../alice"),
	    "/home/alice");
}

static void
t_expand_tilde_and_relative(void **state __unused)
{
	setenv("HOME", "/home/u", 1);
	t_expect_str(policy_path_expand("~", "/x"), "/home/u");
	t_expect_str(policy_path_expand("~/f", "/x"), "/home/u/f");
	t_expect_str(policy_path_expand("f", "/x"), "/x/f");
	t_expect_str(policy_path_expand("~bob/f", "/x"), "/x/~bob/f");
	t_expect_str(policy_path_expand("/abs", "/x"), "/abs");
}

static char *
t_path(const char *rel)
{
	char	*s;

	xasprintf(&s, "%s/%s", dir, rel);
	return (s);
}

static void
t_resolve_follows_links_and_dotdot(void **state __unused)
{
	char	*cause = NULL, *want;

	/* dir/al/keys -> dir/.ssh: the resolved path is inside .ssh. */
	want = t_path(".ssh/id");
	t_expect_str(policy_path_resolve("al/keys/id", dir, &cause), want);
	free(want);
	/* A new name in an existing (linked) directory. */
	want = t_path(".ssh/new");
	t_expect_str(policy_path_resolve("al/keys/new", dir, &cause), want);
	free(want);
	want = t_path("alice/f");
	t_expect_str(policy_path_resolve("al/../alice/f", dir, &cause), want);
	free(want);
	assert_null(policy_path_resolve("nodir/f", dir, &cause));
	assert_non_null(strstr(cause, "no such directory"));
	free(cause);
}

static void
t_lists_deny_wins_and_empty_allows_nothing(void **state __unused)
{
	char		*allow[] = { "/home/al", "/srv" };
	char		*deny[] = { "/home/al/.ssh" };
	struct strlist	 a = { allow, 2 }, d = { deny, 1 }, none = { NULL, 0 };
	char		*cause = NULL;

	assert_int_equal(policy_path_check_lists("/home/al/f", NULL, &a, &d,
	    &cause), 0);
	assert_int_equal(policy_path_check_lists("/home/alice/f", NULL, &a,
	    &d, &cause), -1);
	assert_string_equal(cause,
	    "path not in transfer.allowedPaths: /home/alice/f");
	free(cause);
	assert_int_equal(policy_path_check_lists("/home/al/.ssh/id_ed25519",
	    NULL, &a, &d, &cause), -1);
	assert_string_equal(cause, "path denied by transfer.deniedPaths: "
	    "/home/al/.ssh/id_ed25519");
	free(cause);
	/* Named through a link: the written path alone is enough to deny. */
	assert_int_equal(policy_path_check_lists("/srv/x", "/home/al/.ssh/x",
	    &a, &d, &cause), -1);
	free(cause);
	assert_int_equal(policy_path_check_lists("/home/al/f", NULL, &none,
	    &none, &cause), -1);
	free(cause);
}

/* A denied entry that does not exist yet, named through a link. */
static void
t_missing_entry_resolves_its_parent(void **state __unused)
{
	char		*allow[] = { dir }, *deny[1], *real, *cause = NULL;
	struct strlist	 a = { allow, 1 }, d = { deny, 1 };

	deny[0] = t_path("homelink/.gnupg");
	real = t_path("homereal/.gnupg");
	assert_int_equal(policy_path_check_lists(real, NULL, &a, &d, &cause),
	    -1);
	assert_non_null(strstr(cause, "transfer.deniedPaths"));
	free(cause);
	free(real);
	real = t_path("homereal/ok");
	assert_int_equal(policy_path_check_lists(real, NULL, &a, &d, &cause),
	    0);
	free(real);
	free(deny[0]);
}

/* loopsy's own files are denied wherever $LOOPSY_HOME is, and only they. */
static void
t_own_state_is_denied(void **state __unused)
{
	const char	*no[] = { "config.yaml", "tls/key.pem", "tls",
			    "config.yaml.Ab12Cd", "relay.json.lock", "phone.key",
			    "logs/audit.jsonl", "context.json", "peers.json" };
	const char	*yes[] = { "notes.txt", "config.yamlx", "tlsx/a", "" };
	char		*allow[] = { dir }, *p, *lh, *real, *cause = NULL;
	struct strlist	 a = { allow, 1 }, none = { NULL, 0 };
	u_int		 i;

	lh = t_path("homereal");
	setenv("LOOPSY_HOME", lh, 1);
	for (i = 0; i < nitems(no); i++) {
		xasprintf(&p, "%s/%s", lh, no[i]);
		assert_int_equal(policy_path_check_lists(p, NULL, &a, &none,
		    &cause), -1);
		assert_non_null(strstr(cause, "loopsy's own state"));
		free(cause);
		free(p);
	}
	for (i = 0; i < nitems(yes); i++) {
		xasprintf(&p, "%s/%s", lh, yes[i]);
		assert_int_equal(policy_path_check_lists(p, NULL, &a, &none,
		    &cause), 0);
		free(p);
	}
	/* Named through a link to the state directory. */
	setenv("LOOPSY_HOME", "/nonexistent-loopsy-home", 1);
	p = t_path("homelink/config.yaml");
	assert_int_equal(policy_path_check_lists(p, NULL, &a, &none, &cause),
	    0);
	free(p);
	setenv("LOOPSY_HOME", lh, 1);
	p = t_path("homelink/config.yaml");
	xasprintf(&real, "%s/config.yaml", lh);
	assert_int_equal(policy_path_check_lists(real, p, &a, &none, &cause),
	    -1);
	free(cause);
	free(real);
	free(p);
	unsetenv("LOOPSY_HOME");
	free(lh);
}

static int
t_setup(void **state __unused)
{
	char	 tmpl[] = "/tmp/test-policy-path.XXXXXX", *p;

	if (mkdtemp(tmpl) == NULL || realpath(tmpl, dir) == NULL)
		return (-1);
	p = t_path(".ssh");
	mkdir(p, 0700);
	free(p);
	p = t_path("al");
	mkdir(p, 0700);
	free(p);
	p = t_path("alice");
	mkdir(p, 0700);
	free(p);
	p = t_path("al/keys");
	if (symlink("../.ssh", p) != 0)
		return (-1);
	free(p);
	p = t_path("homereal");
	mkdir(p, 0700);
	free(p);
	p = t_path("homelink");
	if (symlink("homereal", p) != 0)
		return (-1);
	free(p);
	return (0);
}

static int
t_teardown(void **state __unused)
{
	char	*cmd;

	xasprintf(&cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		return (-1);
	free(cmd);
	return (0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_under_compares_whole_components),
		cmocka_unit_test(t_normalize_collapses_dots),
		cmocka_unit_test(t_expand_tilde_and_relative),
		cmocka_unit_test(t_resolve_follows_links_and_dotdot),
		cmocka_unit_test(t_lists_deny_wins_and_empty_allows_nothing),
		cmocka_unit_test(t_missing_entry_resolves_its_parent),
		cmocka_unit_test(t_own_state_is_denied),
	};

	return (cmocka_run_group_tests_name("policy-path", tests, t_setup,
	    t_teardown));
}

/*
 * regress/test-policy-exec.c: execution.denylist and execution.allowlist as
 * policy_exec_check applies them: on the program that will really run, and
 * through wrappers and shell strings, with refusals that name the rule.
 */
#include <sys/stat.h>

#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/server.h"

#include <cmocka.h>

static char		 t_dir[] = "/tmp/loopsy-policy-XXXXXX";
static char		*t_deny_v[] = { "rm", "rmdir", "dd", "shutdown",
			    "/usr/bin/curl" };
static struct strlist	 t_deny = { t_deny_v, nitems(t_deny_v) };
static char		*t_allow_v[] = { "ls", "dash", "env", "nice", "xargs",
			    "cat", "wc", "busybox" };
static struct strlist	 t_allow = { t_allow_v, nitems(t_allow_v) };
static struct strlist	 t_none = { NULL, 0 };

/* Run the check on a command line split like sh; returns rc, sets *cause. */
static int
check(const struct strlist *deny, const struct strlist *allow,
    const char *line, char **cause)
{
	struct policy_exec	 p;
	char			**argv, *file = NULL, *c;
	int			 argc, i, rc;

	if (cmd_split(line, &argc, &argv, &c) != 0)
		fail_msg("bad test line: %s", line);
	p.denylist = deny;
	p.allowlist = allow;
	p.path = "/usr/local/bin:/usr/bin:/bin";
	p.cwd = t_dir;
	rc = policy_exec_check(&p, argc, argv, &file, cause);
	if (rc == POLICY_EXEC_OK)
		assert_non_null(file);
	free(file);
	for (i = 0; i < argc; i++)
		free(argv[i]);
	free(argv);
	return (rc);
}

static void
denied(const char *line, const char *want)
{
	char	*cause = NULL;
	int	 rc = check(&t_deny, NULL, line, &cause);

	if (rc != POLICY_EXEC_DENIED)
		fail_msg("not denied: %s", line);
	if (strcmp(cause, want) != 0)
		fail_msg("%s:\n got: %s\nwant: %s", line, cause, want);
	free(cause);
}

static void
allowed(const struct strlist *deny, const struct strlist *allow,
    const char *line)
{
	char	*cause = NULL;

	if (check(deny, allow, line, &cause) != POLICY_EXEC_OK)
		fail_msg("refused: %s: %s", line, cause);
}

static void
not_listed(const char *line, const char *want)
{
	char	*cause = NULL;
	int	 rc = check(&t_none, &t_allow, line, &cause);

	if (rc != POLICY_EXEC_DENIED)
		fail_msg("not refused: %s", line);
	if (strcmp(cause, want) != 0)
		fail_msg("%s:\n got: %s\nwant: %s", line, cause, want);
	free(cause);
}

#define D "denied by execution.denylist: rm"
#define NL "not in execution.allowlist: "

static void
denied_program_by_name_path_and_symlink(void **state __unused)
{
	denied("rm x", D);
	denied("/bin/rm x", D);
	denied("/usr/bin/rm x", D);
	denied("./rm x", D);		/* a symlink to /bin/rm */
	denied("./harmless x", D);	/* another name for /bin/rm */
	denied("RM x", D);		/* case-insensitive names */
	denied("curl http://x", "denied by execution.denylist: /usr/bin/curl");
}

static void
denied_through_option_wrappers(void **state __unused)
{
	denied("env rm x", D " (via env)");
	denied("env -i rm x", D " (via env)");
	denied("env -u HOME FOO=1 rm x", D " (via env)");
	denied("env -S 'rm x'", D " (via env -S)");
	denied("nice rm x", D " (via nice)");
	denied("nice -n 5 rm x", D " (via nice)");
	denied("nice -5 rm x", D " (via nice)");
	denied("timeout 5 rm x", D " (via timeout)");
	denied("timeout -s KILL 5 rm x", D " (via timeout)");
	denied("timeout --signal=KILL -k 1 5 rm x", D " (via timeout)");
	denied("xargs rm", D " (via xargs)");
	denied("xargs -n 1 -I {} rm {}", D " (via xargs)");
	denied("stdbuf -oL rm x", D " (via stdbuf)");
	denied("nohup rm x", D " (via nohup)");
	denied("setsid rm x", D " (via setsid)");
	denied("ionice -c 3 rm x", D " (via ionice)");
	denied("taskset 1 rm x", D " (via taskset)");
	denied("./busybox rm x", D " (via busybox)");
	denied("find . -name x -exec rm {} ;", D " (via find -exec)");
	denied("find . -exec ls {} ; -execdir rm {} +", D " (via find -exec)");
	denied("./myenv rm x", D " (via env)");	/* env by another name */
	denied("env nice timeout 1 rm x", D " (via env, nice, timeout)");
	denied("flock /tmp/l rm x", D " (via flock)");
	denied("flock -w 1 /tmp/l rm x", D " (via flock)");
	denied("flock /tmp/l -c 'rm x'", D " (via flock -c)");
	denied("flock -c 'rm x' /tmp/l", D " (via flock -c)");
}

static void
denied_in_shell_strings(void **state __unused)
{
	denied("sh -c 'rm x'", D " (via sh -c)");
	denied("sh -c 'echo; rm x'", D " (via sh -c)");
	denied("bash -c 'ls && rm x'", D " (via bash -c)");
	denied("dash -ec 'true || rm x'", D " (via dash -c)");
	denied("sh -c 'ls | rm x'", D " (via sh -c)");
	denied("sh -c 'ls & rm x'", D " (via sh -c)");
	denied("sh -c '(rm x)'", D " (via sh -c)");
	denied("sh -c '{ rm x; }'", D " (via sh -c)");
	denied("sh -c 'if true; then rm x; fi'", D " (via sh -c)");
	denied("sh -c 'while false; do rm x; done'", D " (via sh -c)");
	denied("sh -c 'echo $(rm x)'", D " (via sh -c)");
	denied("sh -c 'echo \"$(rm x)\"'", D " (via sh -c)");
	denied("sh -c 'echo `rm x`'", D " (via sh -c)");
	denied("sh -c 'echo ${y:-$(rm x)}'", D " (via sh -c)");
	denied("sh -c '\"rm\" x'", D " (via sh -c)");
	denied("sh -c \"r''m x\"", D " (via sh -c)");
	denied("sh -c '\\rm x'", D " (via sh -c)");
	denied("sh -c '>out rm x'", D " (via sh -c)");
	denied("sh -c 'ls 2>/dev/null; X=1 rm x'", D " (via sh -c)");
	denied("sh -c '$(which rm) x'", D " (via sh -c)");
	denied("sh -c 'x=rm; $x f'", D " (via sh -c)");
	denied("bash -c \"$'\\\\x72m' x\"", D " (via bash -c)");
	denied("sh -c '/usr/bin/r? x'", D " (via sh -c)");
	denied("sh -c 'eval rm x'", D " (via sh -c, eval)");
	denied("sh -c 'exec rm x'", D " (via sh -c, exec)");
	denied("sh -c 'command rm x'", D " (via sh -c, command)");
	denied("sh -c \"trap 'rm x' EXIT\"", D " (via sh -c, trap)");
	denied("sh -c 'cat <(rm x)'", D " (via sh -c)");
	denied("sh -c \"bash -c 'env rm x'\"", D " (via sh -c, bash -c, env)");
	denied("env sh -c 'nice rm x'", D " (via env, sh -c, nice)");
	denied("sh -c 'case a in a) rm x;; esac'", D " (via sh -c)");
}

static void
denylist_allows_the_rest(void **state __unused)
{
	allowed(&t_deny, NULL, "ls -l rm");
	allowed(&t_deny, NULL, "sh -c 'echo rm; ls rm > rm'");
	allowed(&t_deny, NULL, "find . -name rm");
	allowed(&t_deny, NULL, "env FOO=1 ls");
	allowed(&t_deny, NULL, "sh -c 'for f in rm dd; do echo $f; done'");
	allowed(&t_deny, NULL, "xargs");
	/* Interpreters are not seen through: why a denylist is a speed bump. */
	allowed(&t_deny, NULL, "perl -e 'unlink \"x\"'");
}

static void
missing_program_and_empty_command(void **state __unused)
{
	char	*cause = NULL;

	assert_int_equal(check(&t_deny, NULL, "no-such-program-x", &cause),
	    POLICY_EXEC_NOT_FOUND);
	assert_string_equal(cause, "command not found: no-such-program-x");
	free(cause);
	assert_int_equal(check(&t_deny, NULL, "''", &cause),
	    POLICY_EXEC_NOT_FOUND);
	assert_string_equal(cause, "empty command");
	free(cause);
}

static void
allowlist_runs_only_what_is_listed(void **state __unused)
{
	allowed(&t_none, &t_allow, "ls -l");
	allowed(&t_none, &t_allow, "/bin/ls");
	allowed(&t_none, &t_allow, "env FOO=1 nice ls");
	allowed(&t_none, &t_allow, "sh -c 'cd /; echo hi; ls | wc -l'");
	allowed(&t_none, &t_allow, "sh -c 'command ls; exec cat'");
	not_listed("curl x", NL "curl");
	not_listed("nice curl x", NL "curl (via nice)");
	not_listed("env -i curl x", NL "curl (via env)");
	not_listed("xargs curl", NL "curl (via xargs)");
	not_listed("sh -c 'ls; curl x'", NL "curl (via sh -c)");
	not_listed("sh -c 'ls $(curl x)'", NL "curl (via sh -c)");
	not_listed("sh -c 'eval curl x'", NL "curl (via sh -c, eval)");
	not_listed("./busybox wget x", NL "wget (via busybox)");
	not_listed("sh -c '$x'", NL "a program name computed when it runs "
	    "(via sh -c)");
	not_listed("sh script.sh", NL "sh script.sh (a script file cannot be "
	    "checked; use sh -c)");
	not_listed("./harmless", NL "harmless (which is /usr/bin/rm)");
	not_listed("./ls", NL "ls (which is /usr/bin/rm)");
	not_listed("bash -c ls", NL "bash");
	not_listed("sh -c 'ls; sudo ls'", NL "sudo (via sh -c)");
	/* The file that runs counts, except for a multi-call binary. */
	allowed(&t_none, &t_allow, "./mycat /dev/null");
	not_listed("./wget x", NL "wget");
}

static int
setup(void **state __unused)
{
	char	 path[PATH_MAX];

	if (mkdtemp(t_dir) == NULL)
		return (-1);
	snprintf(path, sizeof path, "%s/rm", t_dir);
	symlink("/bin/rm", path);
	snprintf(path, sizeof path, "%s/harmless", t_dir);
	symlink("/bin/rm", path);
	snprintf(path, sizeof path, "%s/ls", t_dir);
	symlink("/bin/rm", path);
	snprintf(path, sizeof path, "%s/mycat", t_dir);
	symlink("/bin/cat", path);
	snprintf(path, sizeof path, "%s/wget", t_dir);
	symlink("busybox", path);
	snprintf(path, sizeof path, "%s/myenv", t_dir);
	symlink("/usr/bin/env", path);
	/* A file really named busybox, as multi-call binaries are. */
	snprintf(path, sizeof path, "cp /bin/true %s/busybox", t_dir);
	return (system(path) == 0 ? 0 : -1);
}

static int
teardown(void **state __unused)
{
	char	 cmd[PATH_MAX];

	snprintf(cmd, sizeof cmd, "rm -rf %s", t_dir);
	return (system(cmd) == 0 ? 0 : -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(denied_program_by_name_path_and_symlink),
		cmocka_unit_test(denied_through_option_wrappers),
		cmocka_unit_test(denied_in_shell_strings),
		cmocka_unit_test(denylist_allows_the_rest),
		cmocka_unit_test(missing_program_and_empty_command),
		cmocka_unit_test(allowlist_runs_only_what_is_listed),
	};

	return (cmocka_run_group_tests(tests, setup, teardown));
}

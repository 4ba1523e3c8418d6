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
static char		 t_busybox[PATH_MAX];	/* t_dir/busybox */
static char		*t_deny_v[] = { "rm", "rmdir", "dd", "shutdown",
			    "/usr/bin/curl", "zap" };
static struct strlist	 t_deny = { t_deny_v, nitems(t_deny_v) };
static char		*t_allow_v[] = { "ls", "dash", "env", "nice", "xargs",
			    "cat", "wc", t_busybox };
static struct strlist	 t_allow = { t_allow_v, nitems(t_allow_v) };
/* The review's list: shells, ls, cat and env, but not rm. */
static char		*t_shells_v[] = { "sh", "dash", "bash", "ls", "cat",
			    "env" };
static struct strlist	 t_shells = { t_shells_v, nitems(t_shells_v) };
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
		fail_msg("not denied: %s (%d: %s)", line, rc, cause);
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
refused(const struct strlist *deny, const struct strlist *allow,
    const char *line, const char *want)
{
	char	*cause = NULL;
	int	 rc = check(deny, allow, line, &cause);

	if (rc != POLICY_EXEC_DENIED)
		fail_msg("not refused: %s", line);
	if (strcmp(cause, want) != 0)
		fail_msg("%s:\n got: %s\nwant: %s", line, cause, want);
	free(cause);
}

static void
not_listed(const char *line, const char *want)
{
	refused(&t_none, &t_allow, line, want);
}

/* Refused with the review's allowlist [sh, dash, bash, ls, cat, env]. */
static void
shells_refuse(const char *line, const char *want)
{
	refused(&t_none, &t_shells, line, want);
}

#define D "denied by execution.denylist: rm"
#define NL "not in execution.allowlist: "
#define NOCHANGE "refused by the execution policy: setting "
#define INPUT(sh) NL sh " reading commands from its input (they cannot be " \
	"checked; use " sh " -c)"
#define SETPATH NL "setting PATH, which decides what the names after it run"
#define ARITH NL "arithmetic on a variable (bash runs code found in its value)"
#define AFTERCD(n) NL n " after cd (a name found from the directory cannot " \
	"be checked once it changes; give the full path)"
#define APPENDED(w) NL "what " w " runs, given by the words xargs or find add"

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
	allowed(&t_none, &t_allow, "./busybox ls");
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

static void
denied_through_more_wrappers_and_expansions(void **state __unused)
{
	denied("setpriv --reuid=1000 rm x", D " (via setpriv)");
	denied("setarch x86_64 -R rm x", D " (via setarch)");
	denied("/usr/sbin/logsave /dev/null rm x", D " (via logsave)");
	denied("choom -n 0 -- rm x", D " (via choom)");
	denied("sg users 'rm x'", D " (via sg)");
	denied("sg users -c 'ls; rm x'", D " (via sg)");
	denied("/lib64/ld-linux-x86-64.so.2 /bin/rm x", D " (via ld.so)");
	denied("/lib64/ld-linux-x86-64.so.2 --argv0 ls /bin/rm x",
	    D " (via ld.so)");
	denied("bash -c '${x:-rm} x'", D " (via bash -c)");
	denied("bash -c '{rm,x}'", D " (via bash -c)");
	denied("sh -c 'echo rm x | sh'", D " (via sh -c)");
	denied("bash -c \"bash <<< 'rm x'\"", D " (via bash -c)");
	denied("sh -c 'echo $(( $(rm x) ))'", D " (via sh -c)");
	denied("sh -c 'alias ls=rm'", D " (via sh -c, alias)");
	denied("bash -c 'hash -p /bin/rm ls; ls x'",
	    D " (via bash -c, hash -p)");
	denied("bash -c 'mapfile -C \"rm x\" a'",
	    D " (via bash -c, mapfile -C)");
	denied("env -S 'FOO=1 rm x'", D " (via env -S)");
	/* A hard link is the same file under another name. */
	denied("./tidy2 x", "denied by execution.denylist: zap");
}

static void
variables_that_change_what_runs_are_refused(void **state __unused)
{
	const char	*lines[][2] = {
		{ "env BASH_ENV=evil.sh bash -c true",
		    NOCHANGE "BASH_ENV changes what runs (via env)" },
		{ "env LD_PRELOAD=evil.so ls /",
		    NOCHANGE "LD_PRELOAD changes what runs (via env)" },
		{ "env -S 'LD_PRELOAD=evil.so ls'",
		    NOCHANGE "LD_PRELOAD changes what runs (via env -S)" },
		{ "env ENV=evil.sh dash -c ls",
		    NOCHANGE "ENV changes what runs (via env)" },
		{ "sh -c 'LD_PRELOAD=evil.so ls'",
		    NOCHANGE "LD_PRELOAD changes what runs (via sh -c)" },
		{ "sh -c 'export BASH_ENV=evil.sh; bash -c true'",
		    NOCHANGE "BASH_ENV changes what runs (via sh -c)" },
		{ "bash -c 'read LD_PRELOAD; export LD_PRELOAD; ls'",
		    NOCHANGE "LD_PRELOAD changes what runs (via bash -c)" },
		{ "sh -c ': ${LD_AUDIT:=x}'",
		    NOCHANGE "LD_AUDIT changes what runs (via sh -c)" },
	};
	size_t		 i;

	for (i = 0; i < nitems(lines); i++) {
		refused(&t_deny, NULL, lines[i][0], lines[i][1]);
		refused(&t_none, &t_shells, lines[i][0], lines[i][1]);
	}
	allowed(&t_deny, NULL, "env FOO=1 ls");
	allowed(&t_none, &t_shells, "env FOO=1 ls");
	allowed(&t_deny, NULL, "sh -c 'IFS=: read a b; echo $a'");
}

static void
allowlist_refuses_a_shell_reading_its_input(void **state __unused)
{
	shells_refuse("sh -c 'echo rm x | sh'", INPUT("sh") " (via sh -c)");
	shells_refuse("sh -c 'sh < script'", INPUT("sh") " (via sh -c)");
	shells_refuse("bash -c \"bash <<< 'rm x'\"",
	    INPUT("bash") " (via bash -c)");
	shells_refuse("sh", INPUT("sh"));
	shells_refuse("bash -s", INPUT("bash"));
	shells_refuse("sh -i", NL "sh -i (start-up files cannot be checked)");
	shells_refuse("bash --rcfile rc -c ls",
	    NL "bash --rcfile (start-up files cannot be checked)");
	shells_refuse("bash -lc ls",
	    NL "bash -lc (start-up files cannot be checked)");
	shells_refuse("env ENV=x sh -i", NOCHANGE "ENV changes what runs "
	    "(via env)");
	/* Words xargs adds would be the program, or the string. */
	not_listed("xargs env", APPENDED("env") " (via xargs)");
	not_listed("xargs dash -c", APPENDED("dash -c") " (via xargs)");
	not_listed("xargs nice -n 5", APPENDED("nice") " (via xargs)");
	not_listed("xargs xargs", APPENDED("xargs") " (via xargs)");
	allowed(&t_none, &t_allow, "xargs dash -c 'ls \"$@\"' sh");
	allowed(&t_none, &t_allow, "xargs env ls");
	allowed(&t_none, &t_shells, "sh -c 'ls | cat'");
	allowed(&t_none, &t_shells, "bash -c 'ls; cat < /dev/null'");
}

static void
allowlist_refuses_what_changes_a_name(void **state __unused)
{
	shells_refuse("sh -c 'alias ls=rm; ls x'",
	    NL "alias (it changes what a name runs) (via sh -c)");
	shells_refuse("bash -c 'hash -p /bin/rm ls; ls x'",
	    NL "rm (via bash -c, hash -p)");
	shells_refuse("bash -c 'enable -f ./x.so ls'",
	    NL "enable (via bash -c)");
	shells_refuse("sh -c '. ./script'", NL ". (via sh -c)");
	shells_refuse("bash -c 'source script'", NL "source (via bash -c)");
	shells_refuse("bash -c 'eval \"$x\"'",
	    NL "a string eval is given when it runs (via bash -c)");
	shells_refuse("bash -c 'let x=1'", NL "let (via bash -c)");
	shells_refuse("sh -c 'PATH=$PWD/ev; ls x'", SETPATH " (via sh -c)");
	shells_refuse("sh -c 'PATH=ev ls x'", SETPATH " (via sh -c)");
	shells_refuse("sh -c 'export PATH=ev; ls x'", SETPATH " (via sh -c)");
	shells_refuse("bash -c 'read PATH < f; ls'", SETPATH " (via bash -c)");
	shells_refuse("sh -c 'for PATH in ev; do ls; done'",
	    SETPATH " (via sh -c)");
	shells_refuse("sh -c ': ${PATH:=ev}'", SETPATH " (via sh -c)");
	shells_refuse("sh -c 'echo $((PATH=5))'", ARITH " (via sh -c)");
	shells_refuse("bash -c 'echo $((x))'", ARITH " (via bash -c)");
	shells_refuse("bash -c '((x))'", ARITH " (via bash -c)");
	shells_refuse("bash -c 'declare \"$v=ev\"'",
	    NL "a variable name computed when it runs (via bash -c)");
	shells_refuse("bash -c 'echo ${!x}'", NL "${!name} (bash evaluates "
	    "the name it finds) (via bash -c)");
	shells_refuse("bash -c '[[ x -eq 1 ]]'", NL "[[ (via bash -c)");
	shells_refuse("sh -c 'cd ev2 && ./mycat x'", AFTERCD("./mycat"));
	shells_refuse("sh -c 'while :; do ./mycat; cd ev2; done'",
	    AFTERCD("./mycat"));
	shells_refuse("sh -c '~/ev/ls x'",
	    NL "a program name computed when it runs (via sh -c)");
	allowed(&t_none, &t_shells, "sh -c 'cd /; ls; echo $((1 + 2))'");
	allowed(&t_none, &t_shells, "sh -c 'x=1; export FOO=$x; echo ${x:-y}'");
	allowed(&t_none, &t_shells, "sh -c 'ls; cd /tmp'");
}

static void
allowlist_names_files_not_basenames(void **state __unused)
{
	char	 want[PATH_MAX * 2];

	snprintf(want, sizeof want, NL "ev2/ls (%s/ev2/ls is not the ls the "
	    "server's PATH finds)", t_dir);
	shells_refuse("ev2/ls x", want);
	snprintf(want, sizeof want, NL "./ls (%s/ev2/ls is not the ls the "
	    "server's PATH finds) (via env)", t_dir);
	shells_refuse("env -C ev2 ./ls x", want);
	snprintf(want, sizeof want, NL "ev2/ls (%s/ev2/ls is not the ls the "
	    "server's PATH finds) (via sh -c)", t_dir);
	shells_refuse("sh -c 'ev2/ls x'", want);
	allowed(&t_none, &t_shells, "/usr/bin/ls");
	allowed(&t_none, &t_shells, "/bin/ls");
	allowed(&t_none, &t_shells, "./mycat /dev/null");
	/* sh is dash here: the file that runs is what the list names. */
	allowed(&t_none, &t_shells, "dash -c ls");
}

static void
directories_and_bad_interpreters_cannot_run(void **state __unused)
{
	char	*cause = NULL;

	assert_int_equal(check(&t_deny, NULL, "/tmp", &cause),
	    POLICY_EXEC_CANNOT_RUN);
	assert_string_equal(cause, "cannot run /tmp: it is a directory");
	free(cause);
	assert_int_equal(check(&t_deny, NULL, "./badinterp", &cause),
	    POLICY_EXEC_CANNOT_RUN);
	assert_string_equal(cause, "cannot run ./badinterp: its interpreter "
	    "/nonexistent/interp: No such file or directory");
	free(cause);
}

static void
fifos_and_devices_cannot_run(void **state __unused)
{
	char	*cause = NULL;

	/* Opening a FIFO to read its #! line would wait for a writer. */
	assert_int_equal(check(&t_deny, NULL, "./pipe", &cause),
	    POLICY_EXEC_CANNOT_RUN);
	assert_string_equal(cause, "cannot run ./pipe: not a regular file");
	free(cause);
	assert_int_equal(check(&t_deny, NULL, "/dev/null", &cause),
	    POLICY_EXEC_CANNOT_RUN);
	assert_string_equal(cause, "cannot run /dev/null: not a regular file");
	free(cause);
}

static void
a_relative_interpreter_is_found_from_cwd(void **state __unused)
{
	char	*cause = NULL, old[PATH_MAX], bin[PATH_MAX];
	int	 rc;

	/* #!bin/zap is t_dir/bin/zap, where the program runs. */
	allowed(&t_deny, NULL, "./relinterp");
	/* #!zap is not t_dir/zap, wherever the server runs. */
	assert_non_null(getcwd(old, sizeof old));
	snprintf(bin, sizeof bin, "%s/bin", t_dir);
	assert_int_equal(chdir(bin), 0);
	rc = check(&t_deny, NULL, "./relinterp2", &cause);
	assert_int_equal(chdir(old), 0);
	assert_int_equal(rc, POLICY_EXEC_CANNOT_RUN);
	assert_string_equal(cause, "cannot run ./relinterp2: its interpreter "
	    "zap: No such file or directory");
	free(cause);
}

static void
a_lone_dollar_ends_nothing(void **state __unused)
{
	denied("sh -c 'echo $;rm x'", D " (via sh -c)");
	denied("sh -c 'echo $|rm x'", D " (via sh -c)");
	denied("sh -c 'echo $&rm x'", D " (via sh -c)");
	denied("sh -c 'echo \"$\"; rm x; \"'", D " (via sh -c)");
	shells_refuse("sh -c 'echo $;rm x'", NL "rm (via sh -c)");
	shells_refuse("sh -c 'echo $|rm x'", NL "rm (via sh -c)");
	shells_refuse("sh -c 'echo $&rm x'", NL "rm (via sh -c)");
	shells_refuse("sh -c 'echo \"$\"; rm x; \"'", NL "rm (via sh -c)");
	/* bash's $[...] is arithmetic. */
	shells_refuse("bash -c 'echo $[x]'", ARITH " (via bash -c)");
	allowed(&t_none, &t_shells, "sh -c 'echo $1 $$ $? $# $% $[1+2] $; ls'");
}

static void
function_bodies_are_checked(void **state __unused)
{
	denied("bash -c 'function ls { rm x; }; ls'", D " (via bash -c)");
	shells_refuse("bash -c 'function ls { rm x; }; ls'",
	    NL "rm (via bash -c)");
	shells_refuse("bash -c 'function ls() { rm x; }'",
	    NL "rm (via bash -c)");
	allowed(&t_none, &t_shells, "bash -c 'function ls { cat; }'");
}

static void
a_name_with_a_slash_is_never_a_builtin(void **state __unused)
{
	shells_refuse("sh -c 'evil/printf x'", NL "printf (via sh -c)");
	shells_refuse("sh -c '/nonexistent/printf x'",
	    NL "/nonexistent/printf (via sh -c)");
	shells_refuse("sh -c '/nonexistent/test -f x'",
	    NL "/nonexistent/test (via sh -c)");
	shells_refuse("sh -c '/nonexistent/eval ls'",
	    NL "/nonexistent/eval (via sh -c)");
	allowed(&t_none, &t_shells, "sh -c 'printf x; test -f x; eval ls'");
}

static void
arithmetic_on_special_parameters_is_refused(void **state __unused)
{
	shells_refuse("bash -c 'x=\"a[\\$(rm y)]\"; echo ${*:x}'",
	    ARITH " (via bash -c)");
	shells_refuse("bash -c 'echo ${@:x}'", ARITH " (via bash -c)");
	shells_refuse("bash -c 'echo ${#:x}'", ARITH " (via bash -c)");
	shells_refuse("bash -c 'echo ${?:x}'", ARITH " (via bash -c)");
	shells_refuse("bash -c 'echo ${$:x}'", ARITH " (via bash -c)");
	shells_refuse("bash -c 'echo ${-:x}'", ARITH " (via bash -c)");
	shells_refuse("bash -c 'echo ${#a[x]}'", NL "an array subscript (bash "
	    "runs what it names) (via bash -c)");
	allowed(&t_none, &t_shells, "bash -c 'echo ${*} ${#} ${@:-no} ${#x}'");
}

static void
double_parentheses_may_be_subshells(void **state __unused)
{
	denied("bash -c '((rm x) )'", D " (via bash -c)");
	denied("dash -c '((rm x))'", D " (via dash -c)");
	denied("sh -c '((rm x); echo)'", D " (via sh -c)");
	denied("bash -c 'echo $((rm x) )'", D " (via bash -c)");
	denied("bash -c 'echo $((rm x); (ls))'", D " (via bash -c)");
	/* dash runs ((./1)) as a subshell. */
	shells_refuse("dash -c '((./1))'", NL "./1 (via dash -c)");
	shells_refuse("bash -c 'echo $((cat) | (rm x))'",
	    NL "rm (via bash -c)");
	allowed(&t_none, &t_shells, "bash -c '((ls) ); echo $((ls) )'");
	allowed(&t_none, &t_shells, "sh -c 'echo $((1 + 2)) $(((1) + 2))'");
}

static void
a_denied_multicall_binary_named_by_its_path(void **state __unused)
{
	char		*v[] = { "rm", t_busybox };
	struct strlist	 l = { v, nitems(v) };
	char		 want[PATH_MAX + 64];

	snprintf(want, sizeof want, "denied by execution.denylist: %s",
	    t_busybox);
	refused(&l, NULL, "./busybox ls", want);
	refused(&l, NULL, "./wget x", want);	/* a link to it */
	strlcat(want, " (via sh -c)", sizeof want);
	refused(&l, NULL, "sh -c './busybox ls'", want);
	/* A bare name is an applet, not the binary. */
	allowed(&t_deny, NULL, "./busybox ls");
}

/* Repeat a twice n times around middle, as a shell string for sh -c. */
static char *
nested(const char *a, const char *middle, const char *b, u_int n)
{
	size_t	 la = strlen(a), lb = strlen(b), lm = strlen(middle);
	char	*s, *p;
	u_int	 i;

	s = p = malloc(7 + n * (la + lb) + lm + 2);
	assert_non_null(s);
	memcpy(p, "sh -c '", 7);
	p += 7;
	for (i = 0; i < n; i++, p += la)
		memcpy(p, a, la);
	memcpy(p, middle, lm);
	p += lm;
	for (i = 0; i < n; i++, p += lb)
		memcpy(p, b, lb);
	memcpy(p, "'", 2);
	return (s);
}

static void
deep_or_long_shell_strings_are_refused(void **state __unused)
{
	const char	*deep = "too deeply nested to check: more than 64 "
			    "levels of $(...), ${...} or `...` (via sh -c)";
	char		*s;

	s = nested("$(", "ls", ")", 100);
	refused(&t_deny, NULL, s, deep);
	refused(&t_none, &t_shells, s, deep);
	free(s);
	s = nested("${x:-", "rm", "}", 100);
	refused(&t_deny, NULL, s, deep);
	refused(&t_none, &t_shells, s, deep);
	free(s);
	s = nested("$((", "1", "))", 100);
	refused(&t_none, &t_shells, s, deep);
	free(s);
	s = nested("$(", "ls", ")", 20000);	/* 60002 bytes */
	refused(&t_deny, NULL, s, deep);
	free(s);
	s = nested("$(", "ls", ")", 60);
	allowed(&t_deny, NULL, s);
	free(s);
	/* 50,000 levels crashed the server: refused before they are read. */
	s = nested("$(", "ls", ")", 50000);
	refused(&t_deny, NULL, s, "too long to check: a shell string of "
	    "150002 bytes (more than 65536) (via sh -c)");
	refused(&t_none, &t_shells, s, "too long to check: a shell string of "
	    "150002 bytes (more than 65536) (via sh -c)");
	free(s);
}

static int
setup(void **state __unused)
{
	char	 path[PATH_MAX], cmd[PATH_MAX * 2];

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
	snprintf(t_busybox, sizeof t_busybox, "%s/busybox", t_dir);
	/* ev2/ls is a copy of rm; zap on the server's PATH, tidy2 its link. */
	snprintf(cmd, sizeof cmd, "cd %s && cp /bin/true busybox && "
	    "mkdir ev2 bin && cp /bin/rm ev2/ls && cp /bin/true bin/zap && "
	    "ln bin/zap tidy2 && printf '#!/nonexistent/interp\\n' > "
	    "badinterp && chmod +x badinterp && mkfifo pipe && mkdir evil && "
	    "cp /bin/true evil/printf && printf '#!bin/zap\\n' > relinterp && "
	    "printf '#!zap\\n' > relinterp2 && chmod +x relinterp relinterp2",
	    t_dir);
	snprintf(path, sizeof path, "%s/bin:/usr/local/bin:/usr/bin:/bin",
	    t_dir);
	setenv("PATH", path, 1);
	return (system(cmd) == 0 ? 0 : -1);
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
		cmocka_unit_test(denied_through_more_wrappers_and_expansions),
		cmocka_unit_test(variables_that_change_what_runs_are_refused),
		cmocka_unit_test(allowlist_refuses_a_shell_reading_its_input),
		cmocka_unit_test(allowlist_refuses_what_changes_a_name),
		cmocka_unit_test(allowlist_names_files_not_basenames),
		cmocka_unit_test(directories_and_bad_interpreters_cannot_run),
		cmocka_unit_test(fifos_and_devices_cannot_run),
		cmocka_unit_test(a_relative_interpreter_is_found_from_cwd),
		cmocka_unit_test(a_lone_dollar_ends_nothing),
		cmocka_unit_test(function_bodies_are_checked),
		cmocka_unit_test(a_name_with_a_slash_is_never_a_builtin),
		cmocka_unit_test(arithmetic_on_special_parameters_is_refused),
		cmocka_unit_test(double_parentheses_may_be_subshells),
		cmocka_unit_test(a_denied_multicall_binary_named_by_its_path),
		cmocka_unit_test(deep_or_long_shell_strings_are_refused),
	};

	return (cmocka_run_group_tests(tests, setup, teardown));
}

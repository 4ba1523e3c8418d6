/*
 * server/policy-exec.c: may this argv run?  execution.denylist and
 * execution.allowlist, matched on the program that will really run (found on
 * PATH, symlinks resolved) and on programs started through wrappers (env,
 * nice, xargs, find -exec, busybox, sudo, sh -c '...' strings).  Running the
 * program belongs to cmd-exec.c.
 *
 * A denylist only slows a determined caller down: interpreters (python -c,
 * perl -e), scripts and programs computed at run time are not seen through.
 * The allowlist is the control: an entry names one file (a bare name the file
 * the server's PATH finds), and whatever could make a listed name run another
 * file (a shell reading its input, alias, hash, PATH, cd and a relative name,
 * arithmetic on a variable) is refused rather than guessed at.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "server.h"

#define PE_MAXDEPTH	16
#define PE_MAXNEST	64	/* $( ${ ` ( in one another */
#define PE_MAXSCRIPT	65536	/* bytes of a shell string */
#define PE_DEFAULT_PATH	"/usr/local/bin:/usr/bin:/bin"
#define PE_NAMECHARS	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" \
			"0123456789_"

/* How a command is reached, for pe_command. */
#define PE_NESTED	0x1	/* through a wrapper: not the requested argv */
#define PE_SHELL	0x2	/* a command in a shell string: builtins too */
#define PE_APPLET	0x4	/* busybox applet: a name, not a file */
#define PE_APPEND	0x8	/* xargs or find -exec add arguments */

/* A word of a shell string that is not known until it runs. */
#define PE_DYN		0x1	/* $var, $(...), `...`, ${...}, brace, ~ */
#define PE_GLOB		0x2	/* unquoted * ? [ */
#define PE_LEADDYN	0x4	/* ... before the word's first = */

/*
 * The files a list's entries name.  Finding them walks PATH for every
 * entry, so they are kept for a second (keyed on the entries and PATH).
 */
struct pe_ids {
	char		*key;
	uint64_t	 at;		/* now_us() when found */
	u_int		 n;
	dev_t		*dev;
	ino_t		*ino;		/* 0: the entry names no file */
};
#define PE_IDS_US	1000000

static struct pe_ids	 pe_deny_ids, pe_allow_ids;

struct pe {
	const struct policy_exec *p;
	char		 via[PE_MAXDEPTH][40];
	int		 nvia;
	char		*path;		/* PATH for names (env PATH= sets) */
	char		*cwd;		/* for relative names (env -C sets) */
	char		*cause;
	int		 refused;
	char		**words;	/* literal words of shell strings */
	u_int		 nwords;
	int		 inshell;	/* checking a shell string */
	int		 nest;		/* substitutions inside one another */
	int		 moved;		/* it may change directory (cd) */
	char		*relative;	/* a name found from the directory */
};

/* What a wrapper's options say, for pe_options. */
struct pe_opts {
	const char	*cstr;		/* -c string (su, script, flock) */
	const char	*split;		/* env -S */
	const char	*path;		/* env -P */
	const char	*dir;		/* env -C, sudo -D */
	int		 shell;		/* sudo -s/-i, su --login */
};

enum pe_kind {
	PE_PLAIN,	/* options, some positionals, then the program */
	PE_ENV,		/* env: options, NAME=value words, -S string */
	PE_SH,		/* sh -c string, or a script file */
	PE_FIND,	/* find ... -exec prog ... ; */
	PE_MULTI,	/* busybox applet ... */
	PE_SUDO,	/* sudo: -s/-i run the rest through a shell */
	PE_EVAL,	/* eval: the arguments are a shell string */
	PE_TRAP,	/* trap: the first argument is a shell string */
	PE_CSTR,	/* su, script, flock: -c string */
	PE_WATCH,	/* watch: the arguments are a shell string unless -x */
	PE_SG,		/* sg group [-c] string */
	PE_ALIAS,	/* alias name=string */
	PE_HASH,	/* hash -p file name */
	PE_SETVAR,	/* builtins that set variables by name */
	PE_TEST		/* test, [: -v runs bash's subscripts */
};

struct pe_wrapper {
	const char	*name;
	enum pe_kind	 kind;
	const char	*vals;		/* short options taking a value */
	const char	*longvals;	/* ",long,options,taking,a,value," */
	int		 skip;		/* positionals before the program */
	int		 builtin;	/* a shell builtin in a shell string */
};

static const struct pe_wrapper pe_wrappers[] = {
	{ "[", PE_TEST, "", ",", 0, 1 },
	{ "alias", PE_ALIAS, "", ",", 0, 1 },
	{ "ash", PE_SH, "o", ",rcfile,init-file,", 0, 0 },
	{ "bash", PE_SH, "o", ",rcfile,init-file,", 0, 0 },
	{ "builtin", PE_PLAIN, "", ",", 0, 1 },
	{ "busybox", PE_MULTI, "", ",", 0, 0 },
	{ "choom", PE_PLAIN, "np", ",adjust,pid,", 0, 0 },
	{ "chroot", PE_PLAIN, "", ",userspec,groups,", 1, 0 },
	{ "chrt", PE_PLAIN, "TPD", ",sched-runtime,sched-period,"
	    "sched-deadline,", 1, 0 },
	{ "command", PE_PLAIN, "", ",", 0, 1 },
	{ "dash", PE_SH, "o", ",", 0, 0 },
	{ "declare", PE_SETVAR, "", ",", 0, 1 },
	{ "doas", PE_SUDO, "uC", ",", 0, 0 },
	{ "eatmydata", PE_PLAIN, "", ",", 0, 0 },
	{ "env", PE_ENV, "uCSP", ",unset,chdir,split-string,", 0, 0 },
	{ "eval", PE_EVAL, "", ",", 0, 1 },
	{ "exec", PE_PLAIN, "a", ",", 0, 1 },
	{ "fakeroot", PE_PLAIN, "lsi", ",lib,faked,", 0, 0 },
	{ "export", PE_SETVAR, "", ",", 0, 1 },
	{ "find", PE_FIND, "", ",", 0, 0 },
	{ "flock", PE_CSTR, "wEc", ",timeout,wait,conflict-exit-code,"
	    "command,", 1, 0 },
	{ "getopts", PE_SETVAR, "", ",", 0, 1 },
	{ "hash", PE_HASH, "", ",", 0, 1 },
	{ "ionice", PE_PLAIN, "cnp", ",class,classdata,", 0, 0 },
	{ "ksh", PE_SH, "o", ",", 0, 0 },
	{ "local", PE_SETVAR, "", ",", 0, 1 },
	{ "logsave", PE_PLAIN, "", ",", 1, 0 },
	{ "ltrace", PE_PLAIN, "aeAnopsuDlLSxX", ",output,", 0, 0 },
	{ "mapfile", PE_SETVAR, "", ",", 0, 1 },
	{ "mksh", PE_SH, "o", ",", 0, 0 },
	{ "nice", PE_PLAIN, "n", ",adjustment,", 0, 0 },
	{ "nohup", PE_PLAIN, "", ",", 0, 0 },
	{ "nsenter", PE_PLAIN, "tSGr", ",target,setuid,setgid,root,wd,", 0, 0 },
	{ "pkexec", PE_PLAIN, "", ",user,", 0, 0 },
	{ "printf", PE_SETVAR, "", ",", 0, 1 },
	{ "prlimit", PE_PLAIN, "p", ",pid,output,", 0, 0 },
	{ "read", PE_SETVAR, "", ",", 0, 1 },
	{ "readarray", PE_SETVAR, "", ",", 0, 1 },
	{ "readonly", PE_SETVAR, "", ",", 0, 1 },
	{ "runuser", PE_CSTR, "ugGsfwc", ",user,group,supp-group,shell,"
	    "whitelist-environment,command,session-command,", 0, 0 },
	{ "script", PE_CSTR, "cEIOBTm", ",command,echo,log-in,log-out,"
	    "log-io,log-timing,logging-format,output-limit,", 0, 0 },
	{ "setarch", PE_PLAIN, "", ",", 1, 0 },
	{ "setpriv", PE_PLAIN, "", ",reuid,regid,groups,inh-caps,"
	    "ambient-caps,bounding-set,securebits,pdeathsig,selinux-label,"
	    "apparmor-profile,landlock-access,landlock-rule,", 0, 0 },
	{ "setsid", PE_PLAIN, "", ",", 0, 0 },
	{ "sg", PE_SG, "", ",", 0, 0 },
	{ "sh", PE_SH, "o", ",", 0, 0 },
	{ "stdbuf", PE_PLAIN, "ioe", ",input,output,error,", 0, 0 },
	{ "strace", PE_PLAIN, "abeEIoOpPsSuUX", ",output,signal,trace,", 0, 0 },
	{ "su", PE_CSTR, "gGswc", ",group,supp-group,shell,"
	    "whitelist-environment,command,session-command,", 0, 0 },
	{ "sudo", PE_SUDO, "CDghprRtTUu", ",close-from,chdir,group,host,"
	    "prompt,chroot,role,type,command-timeout,other-user,user,", 0, 0 },
	{ "taskset", PE_PLAIN, "", ",", 1, 0 },
	{ "test", PE_TEST, "", ",", 0, 1 },
	{ "time", PE_PLAIN, "fo", ",format,output,", 0, 0 },
	{ "timeout", PE_PLAIN, "sk", ",signal,kill-after,", 1, 0 },
	{ "toybox", PE_MULTI, "", ",", 0, 0 },
	{ "trap", PE_TRAP, "", ",", 0, 1 },
	{ "typeset", PE_SETVAR, "", ",", 0, 1 },
	{ "unbuffer", PE_PLAIN, "", ",", 0, 0 },
	{ "unset", PE_SETVAR, "", ",", 0, 1 },
	{ "unshare", PE_PLAIN, "S", ",setuid,setgid,root,wd,", 0, 0 },
	{ "watch", PE_WATCH, "nd", ",interval,", 0, 0 },
	{ "xargs", PE_PLAIN, "adEILnPs", ",arg-file,delimiter,max-lines,"
	    "max-args,max-procs,max-chars,process-slot-var,", 0, 0 },
	{ "yash", PE_SH, "o", ",", 0, 0 },
	{ "zsh", PE_SH, "o", ",", 0, 0 },
};

/* The dynamic loader runs the program named after its options. */
static const struct pe_wrapper pe_loader = { "ld.so", PE_PLAIN, "",
	",library-path,inhibit-rpath,audit,preload,argv0,"
	"glibc-hwcaps-prefix,glibc-hwcaps-mask,", 0, 0 };

/*
 * Shell builtins an allowlisted shell string may use without listing them:
 * they run nothing else (eval, exec, command, trap, and those that set
 * variables are wrappers above).  cd and pushd are here but make a relative
 * name uncheckable; alias, hash -p, source, enable and let are not.
 */
static const char *pe_builtins[] = {
	":", "break", "cd", "continue", "echo", "exit", "false", "popd",
	"pushd", "pwd", "return", "set", "shift", "true", "type", "ulimit",
	"umask", "unalias", "wait"
};

static const char *pe_echo[] = { "echo", NULL };

static int	pe_command(struct pe *, int, char **, const int *, int);
static int	pe_script(struct pe *, const char *, const char *);
static int	pe_dynamic(struct pe *, const char *, int);

static const char *
pe_basename(const char *name)
{
	const char	*p = strrchr(name, '/');

	return (p != NULL && p[1] != '\0' ? p + 1 : name);
}

/* A list entry equal to the name given (a busybox applet is a name). */
static const char *
pe_listed(const struct strlist *l, const char *base, int nocase)
{
	u_int	 i;

	if (l == NULL || base == NULL)
		return (NULL);
	for (i = 0; i < l->n; i++) {
		if (strchr(l->v[i], '/') != NULL)
			continue;
		if (nocase ? strcasecmp(l->v[i], base) == 0 :
		    strcmp(l->v[i], base) == 0)
			return (l->v[i]);
	}
	return (NULL);
}

/* The PATH list entries are found on: the server's, never the caller's. */
static const char *
pe_server_path(void)
{
	const char	*path = getenv("PATH");

	return (path != NULL && *path != '\0' ? path : PE_DEFAULT_PATH);
}

/* Find (or reuse) the files the entries of l name. */
static struct pe_ids *
pe_ids_find(struct pe_ids *ids, const struct strlist *l)
{
	struct stat	 sb;
	struct buf	 b;
	char		*file;
	uint64_t	 now = now_us();
	u_int		 i;

	buf_init(&b);
	buf_addstr(&b, pe_server_path());
	for (i = 0; i < l->n; i++)
		buf_printf(&b, "\n%s", l->v[i]);
	buf_add(&b, "", 1);
	if (ids->key != NULL && strcmp(ids->key, b.data) == 0 &&
	    now - ids->at < PE_IDS_US) {
		buf_free(&b);
		return (ids);
	}
	free(ids->key);
	free(ids->dev);
	free(ids->ino);
	ids->key = xstrdup(b.data);
	buf_free(&b);
	ids->at = now;
	ids->n = l->n;
	ids->dev = xcalloc(l->n + 1, sizeof *ids->dev);
	ids->ino = xcalloc(l->n + 1, sizeof *ids->ino);
	for (i = 0; i < l->n; i++) {
		if (strchr(l->v[i], '/') != NULL)
			file = xstrdup(l->v[i]);
		else
			file = policy_exec_resolve(l->v[i], pe_server_path(),
			    NULL);
		if (file != NULL && stat(file, &sb) == 0) {
			ids->dev[i] = sb.st_dev;
			ids->ino[i] = sb.st_ino;
		}
		free(file);
	}
	return (ids);
}

/*
 * The list entry naming the same file as sb: an entry with a slash is that
 * file, one without is the file the server's PATH finds for it (only
 * entries with a slash if slashonly).
 */
static const char *
pe_listed_file(struct pe_ids *ids, const struct strlist *l,
    const struct stat *sb, int slashonly)
{
	u_int	 i;

	if (l == NULL || sb == NULL)
		return (NULL);
	ids = pe_ids_find(ids, l);
	for (i = 0; i < ids->n; i++) {
		if (slashonly && strchr(l->v[i], '/') == NULL)
			continue;
		if (ids->ino[i] != 0 && ids->ino[i] == sb->st_ino &&
		    ids->dev[i] == sb->st_dev)
			return (l->v[i]);
	}
	return (NULL);
}

/*
 * Variables that make a program run other code than the one the policy
 * checked: LD_PRELOAD and the loader's others, what sh and bash read at
 * start, bash's exported functions.  Shells reset IFS when they start, so
 * IFS is refused only in the environment the request gives (--env).
 */
int
policy_exec_env_denied(const char *v, size_t n, int ifs)
{
	static const char *names[] = { "BASH_ENV", "ENV", "SHELLOPTS",
	    "BASHOPTS", "PS4", "PROMPT_COMMAND", "GCONV_PATH", "PERL5OPT",
	    "PYTHONSTARTUP", "NODE_OPTIONS" };
	u_int	 i;

	if ((n >= 3 && strncmp(v, "LD_", 3) == 0) ||
	    (n >= 10 && strncmp(v, "BASH_FUNC_", 10) == 0))
		return (1);
	if (ifs && n == 3 && strncmp(v, "IFS", 3) == 0)
		return (1);
	for (i = 0; i < nitems(names); i++) {
		if (strlen(names[i]) == n && strncmp(v, names[i], n) == 0)
			return (1);
	}
	return (0);
}

/* Refuse, naming the rule and the wrappers it was found through. */
static int
pe_refuse(struct pe *pe, const char *rule, const char *what)
{
	struct buf	 b;
	int		 i;

	if (pe->refused)
		return (-1);
	buf_init(&b);
	buf_printf(&b, "%s: %s", rule, what);
	for (i = 0; i < pe->nvia; i++)
		buf_printf(&b, "%s%s", i == 0 ? " (via " : ", ", pe->via[i]);
	if (pe->nvia != 0)
		buf_addstr(&b, ")");
	buf_add(&b, "", 1);
	pe->cause = xstrdup(b.data);
	buf_free(&b);
	pe->refused = 1;
	return (-1);
}

static int
pe_deny(struct pe *pe, const char *entry)
{
	return (pe_refuse(pe, "denied by execution.denylist", entry));
}

static int
pe_notlisted(struct pe *pe, const char *name)
{
	return (pe_refuse(pe, "not in execution.allowlist", name));
}

/*
 * Find name as execvp would: a path (relative to cwd) if it has a slash,
 * else the first executable regular file in a PATH directory.
 */
char *
policy_exec_resolve(const char *name, const char *path, const char *cwd)
{
	struct stat	 sb;
	const char	*p, *end;
	char		*file;
	size_t		 n;

	if (*name == '\0')
		return (NULL);
	if (strchr(name, '/') != NULL) {
		if (*name == '/' || cwd == NULL)
			file = xstrdup(name);
		else
			xasprintf(&file, "%s/%s", cwd, name);
		if (stat(file, &sb) == 0 && !S_ISDIR(sb.st_mode))
			return (file);
		free(file);
		return (NULL);
	}
	if (path == NULL)
		path = PE_DEFAULT_PATH;
	for (p = path;; p = end + 1) {
		end = strchr(p, ':');
		n = end != NULL ? (size_t)(end - p) : strlen(p);
		if (n == 0)
			xasprintf(&file, "%s/%s", cwd != NULL ? cwd : ".",
			    name);
		else if (*p != '/' && cwd != NULL)
			xasprintf(&file, "%s/%.*s/%s", cwd, (int)n, p, name);
		else
			xasprintf(&file, "%.*s/%s", (int)n, p, name);
		if (stat(file, &sb) == 0 && S_ISREG(sb.st_mode) &&
		    access(file, X_OK) == 0)
			return (file);
		free(file);
		if (end == NULL)
			break;
	}
	return (NULL);
}

static const struct pe_wrapper *
pe_wrapper_find(const char *name)
{
	size_t	 i;

	if (strncmp(name, "ld-linux", 8) == 0 ||
	    strncmp(name, "ld-musl", 7) == 0 || strcmp(name, "ld.so") == 0)
		return (&pe_loader);
	for (i = 0; i < nitems(pe_wrappers); i++) {
		if (strcmp(pe_wrappers[i].name, name) == 0)
			return (&pe_wrappers[i]);
	}
	return (NULL);
}

static int
pe_is_builtin(const char *name)
{
	size_t	 i;

	for (i = 0; i < nitems(pe_builtins); i++) {
		if (strcmp(pe_builtins[i], name) == 0)
			return (1);
	}
	return (0);
}

static int
pe_long_takes(const struct pe_wrapper *w, const char *opt)
{
	char	*key;
	int	 found;

	if (strchr(opt, '=') != NULL)
		return (0);
	xasprintf(&key, ",%s,", opt);
	found = strstr(w->longvals, key) != NULL;
	free(key);
	return (found);
}

/* Walk a wrapper's options from argv[1]; returns the first positional. */
static int
pe_options(const struct pe_wrapper *w, int argc, char **argv,
    struct pe_opts *o)
{
	const char	*a, *v;
	int		 i, j;

	for (i = 1; i < argc; i++) {
		a = argv[i];
		if (strcmp(a, "--") == 0)
			return (i + 1);
		if (a[0] != '-' || a[1] == '\0')
			break;
		if (a[1] == '-') {
			v = strchr(a, '=');
			if (strncmp(a + 2, "command", 7) == 0 ||
			    strncmp(a + 2, "session-command", 15) == 0) {
				if (v == NULL && i + 1 < argc)
					o->cstr = argv[++i];
				else if (v != NULL)
					o->cstr = v + 1;
				continue;
			}
			if ((strncmp(a + 2, "split-string", 12) == 0 &&
			    w->kind == PE_ENV) ||
			    (strncmp(a + 2, "chdir", 5) == 0 &&
			    (w->kind == PE_ENV || w->kind == PE_SUDO))) {
				v = v != NULL ? v + 1 : (i + 1 < argc ?
				    argv[++i] : NULL);
				if (a[2] == 's')
					o->split = v;
				else
					o->dir = v;
				continue;
			}
			if (strcmp(a + 2, "shell") == 0 ||
			    strcmp(a + 2, "login") == 0)
				o->shell = 1;
			if (pe_long_takes(w, a + 2))
				i++;
			continue;
		}
		for (j = 1; a[j] != '\0'; j++) {
			if (w->kind == PE_SUDO && (a[j] == 's' || a[j] == 'i'))
				o->shell = 1;
			if (strchr(w->vals, a[j]) == NULL)
				continue;
			v = a[j + 1] != '\0' ? a + j + 1 :
			    (i + 1 < argc ? argv[++i] : NULL);
			if (a[j] == 'c' && w->kind == PE_CSTR)
				o->cstr = v;
			else if (a[j] == 'S' && w->kind == PE_ENV)
				o->split = v;
			else if (a[j] == 'P' && w->kind == PE_ENV)
				o->path = v;
			else if ((a[j] == 'C' && w->kind == PE_ENV) ||
			    (a[j] == 'D' && w->kind == PE_SUDO))
				o->dir = v;
			break;
		}
	}
	return (i);
}

/* What a wrapper runs would come from the words xargs or find add. */
static int
pe_appended(struct pe *pe, const char *label)
{
	char	*what;
	int	 rc;

	xasprintf(&what, "what %s runs, given by the words xargs or find "
	    "add", label);
	rc = pe_notlisted(pe, what);
	free(what);
	return (rc);
}

/*
 * Setting a variable that changes what runs is refused; so is PATH in a
 * shell string with an allowlist (env PATH= is followed instead).
 */
static int
pe_setenv(struct pe *pe, const char *name, size_t n, int path)
{
	char	*what;
	int	 rc = 0;

	if (policy_exec_env_denied(name, n, 0)) {
		xasprintf(&what, "setting %.*s changes what runs", (int)n,
		    name);
		rc = pe_refuse(pe, "refused by the execution policy", what);
		free(what);
	} else if (path && pe->p->allowlist != NULL && n == 4 &&
	    strncmp(name, "PATH", 4) == 0)
		rc = pe_notlisted(pe, "setting PATH, which decides what the "
		    "names after it run");
	return (rc);
}

/* Find relative names from dir (env -C, sudo -D) until restored. */
static char *
pe_chdir(struct pe *pe, const char *dir)
{
	char	*old = pe->cwd;

	if (dir == NULL)
		return (old);
	if (*dir == '/' || old == NULL)
		pe->cwd = xstrdup(dir);
	else
		xasprintf(&pe->cwd, "%s/%s", old, dir);
	if (pe->inshell)
		pe->moved = 1;	/* the directory may be computed */
	return (old);
}

static void
pe_chdir_restore(struct pe *pe, char *old)
{
	if (pe->cwd != old) {
		free(pe->cwd);
		pe->cwd = old;
	}
}

/* Check argv[from..argc) as a command reached through label. */
static int
pe_nested(struct pe *pe, const char *label, int argc, char **argv,
    const int *dyn, int flags)
{
	int	 rc;

	if (argc <= 0) {
		/* xargs adds words: they would name the program. */
		if ((flags & PE_APPEND) && pe->p->allowlist != NULL)
			return (pe_appended(pe, label));
		return (0);
	}
	if (pe->nvia == PE_MAXDEPTH)
		return (pe_refuse(pe, "too deeply nested to check", label));
	strlcpy(pe->via[pe->nvia++], label, sizeof pe->via[0]);
	rc = pe_command(pe, argc, argv, dyn, flags | PE_NESTED);
	pe->nvia--;
	return (rc);
}

static int
pe_nested_script(struct pe *pe, const char *label, const char *script)
{
	int	 rc;

	if (pe->nvia == PE_MAXDEPTH)
		return (pe_refuse(pe, "too deeply nested to check", label));
	strlcpy(pe->via[pe->nvia++], label, sizeof pe->via[0]);
	rc = pe_script(pe, script, label);
	pe->nvia--;
	return (rc);
}

/* Join argv into one string, as eval and sudo -s do. */
static char *
pe_join(int argc, char **argv)
{
	struct buf	 b;
	int		 i;
	char		*s;

	buf_init(&b);
	for (i = 0; i < argc; i++)
		buf_printf(&b, "%s%s", i == 0 ? "" : " ", argv[i]);
	buf_add(&b, "", 1);
	s = xstrdup(b.data);
	buf_free(&b);
	return (s);
}

static int
pe_valid_name(const char *s, size_t n)
{
	size_t	 i;

	if (n == 0 || (!isalpha((u_char)s[0]) && s[0] != '_'))
		return (0);
	for (i = 1; i < n; i++) {
		if (!isalnum((u_char)s[i]) && s[i] != '_')
			return (0);
	}
	return (1);
}

/* env: options, NAME=value (PATH= changes where names are found), -S. */
static int
pe_wrap_env(struct pe *pe, const struct pe_wrapper *w, int argc, char **argv,
    const int *dyn, int flags, const char *label)
{
	struct pe_opts	 o;
	const char	*eq;
	char		*old = pe->path, *oldcwd, **sargv = NULL, **nargv;
	char		*cause;
	int		 i, sargc = 0, rc, k;

	memset(&o, 0, sizeof o);
	i = pe_options(w, argc, argv, &o);
	oldcwd = pe_chdir(pe, o.dir);
	if (o.path != NULL)
		pe->path = xstrdup(o.path);
	for (; i < argc && (eq = strchr(argv[i], '=')) != NULL; i++) {
		if (pe->nvia == PE_MAXDEPTH) {
			rc = pe_refuse(pe, "too deeply nested to check", label);
			goto out;
		}
		strlcpy(pe->via[pe->nvia++], label, sizeof pe->via[0]);
		rc = pe_setenv(pe, argv[i], eq - argv[i], 0);
		pe->nvia--;
		if (rc != 0)
			goto out;
		if (dyn != NULL && (dyn[i] & PE_LEADDYN) &&
		    pe->p->allowlist != NULL) {
			rc = pe_notlisted(pe, "a variable name env is given "
			    "when it runs");
			goto out;
		}
		if (strncmp(argv[i], "PATH=", 5) == 0 && o.path == NULL) {
			if (pe->path != old)
				free(pe->path);
			pe->path = xstrdup(eq + 1);
		}
	}
	if (o.split != NULL) {
		/* env -S 'FOO=1 prog': the words as if given to env. */
		if (cmd_split(o.split, &sargc, &sargv, &cause) != 0) {
			free(cause);
			rc = pe_refuse(pe, "cannot check", "env -S string");
			goto out;
		}
		nargv = xcalloc(sargc + argc - i + 2, sizeof *nargv);
		nargv[0] = argv[0];
		for (k = 0; k < sargc; k++)
			nargv[1 + k] = sargv[k];
		for (k = i; k < argc; k++)
			nargv[1 + sargc + k - i] = argv[k];
		rc = pe_wrap_env(pe, w, 1 + sargc + argc - i, nargv, NULL,
		    flags, "env -S");
		free(nargv);
		for (k = 0; k < sargc; k++)
			free(sargv[k]);
		free(sargv);
	} else
		rc = pe_nested(pe, label, argc - i, argv + i,
		    dyn != NULL ? dyn + i : NULL, flags & PE_APPEND);
out:
	pe_chdir_restore(pe, oldcwd);
	if (pe->path != old) {
		free(pe->path);
		pe->path = old;
	}
	return (rc);
}

/*
 * Is a piece of any literal word of the shell strings seen a denied name?
 * Pieces are split where a shell could split them: blanks, operators,
 * braces and commas ({rm,x}), ${x:-rm}'s punctuation.
 */
static int
pe_words_denied(struct pe *pe)
{
	const char	*m;
	char		*w, *piece, *last;
	u_int		 i;

	for (i = 0; i < pe->nwords; i++) {
		w = xstrdup(pe->words[i]);
		for (piece = strtok_r(w, " \t\n;|&(){},=:+?#%@!<>'\"$`", &last);
		    piece != NULL;
		    piece = strtok_r(NULL, " \t\n;|&(){},=:+?#%@!<>'\"$`",
		    &last)) {
			piece += strspn(piece, "-");	/* ${x:-rm} */
			m = pe_listed(pe->p->denylist, pe_basename(piece), 1);
			if (m != NULL) {
				free(w);
				return (pe_deny(pe, m));
			}
		}
		free(w);
	}
	return (0);
}

/*
 * A shell that reads its commands from its input or a file: with an
 * allowlist it is refused; with a denylist, when a shell string feeds it
 * (echo rm x | sh), every literal word of that string is tried as a name.
 */
static int
pe_sh_input(struct pe *pe, const char *shell, const char *script, int flags)
{
	char		*what;
	int		 rc;

	if (pe->p->allowlist == NULL) {
		if (script == NULL && (flags & PE_NESTED))
			return (pe_words_denied(pe));
		return (0);
	}
	if (script != NULL)
		xasprintf(&what, "%s %s (a script file cannot be checked; use "
		    "%s -c)", shell, script, shell);
	else
		xasprintf(&what, "%s reading commands from its input (they "
		    "cannot be checked; use %s -c)", shell, shell);
	rc = pe_notlisted(pe, what);
	free(what);
	return (rc);
}

/* sh [options] -c string [name args], or sh [options] script [args]. */
static int
pe_wrap_sh(struct pe *pe, const struct pe_wrapper *w, int argc, char **argv,
    const char *shell, int flags)
{
	const char	*a, *startup = NULL;
	char		 label[40], *what;
	int		 i, cmode = 0, stdinmode = 0, rc;

	for (i = 1; i < argc; i++) {
		a = argv[i];
		if (strcmp(a, "--") == 0 || strcmp(a, "-") == 0) {
			i++;
			break;
		}
		if ((a[0] != '-' && a[0] != '+') || a[1] == '\0')
			break;
		if (a[1] == '-') {
			if (strcmp(a + 2, "login") == 0 ||
			    strncmp(a + 2, "rcfile", 6) == 0 ||
			    strncmp(a + 2, "init-file", 9) == 0)
				startup = a;
			if (pe_long_takes(w, a + 2))
				i++;
			continue;
		}
		if (a[0] == '-' && strchr(a + 1, 'c') != NULL)
			cmode = 1;
		if (a[0] == '-' && strchr(a + 1, 's') != NULL)
			stdinmode = 1;
		if (a[0] == '-' && (strchr(a + 1, 'i') != NULL ||
		    strchr(a + 1, 'l') != NULL))
			startup = a;
		if (strchr(a + 1, 'o') != NULL || strchr(a + 1, 'O') != NULL)
			i++;
	}
	/* -i reads ~/.bashrc or $ENV, -l a profile, --rcfile a file. */
	if (startup != NULL && pe->p->allowlist != NULL) {
		xasprintf(&what, "%s %s (start-up files cannot be checked)",
		    shell, startup);
		rc = pe_notlisted(pe, what);
		free(what);
		return (rc);
	}
	if (cmode) {
		if (i >= argc) {
			/* Alone, sh says -c needs an argument. */
			if (!(flags & PE_APPEND) || pe->p->allowlist == NULL)
				return (0);
			snprintf(label, sizeof label, "%s -c", shell);
			return (pe_appended(pe, label));
		}
		snprintf(label, sizeof label, "%s -c", shell);
		return (pe_nested_script(pe, label, argv[i]));
	}
	if (i >= argc || stdinmode)
		return (pe_sh_input(pe, shell, NULL, flags));
	return (pe_sh_input(pe, shell, argv[i], flags));
}

/* find ... -exec prog args ; (also -execdir, -ok, -okdir). */
static int
pe_wrap_find(struct pe *pe, int argc, char **argv, int flags)
{
	int	 i, j;

	/* Words xargs adds could be another -exec. */
	if ((flags & PE_APPEND) && pe->p->allowlist != NULL)
		return (pe_appended(pe, "find"));
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-exec") != 0 &&
		    strcmp(argv[i], "-execdir") != 0 &&
		    strcmp(argv[i], "-ok") != 0 &&
		    strcmp(argv[i], "-okdir") != 0)
			continue;
		for (j = i + 1; j < argc; j++) {
			if (strcmp(argv[j], ";") == 0 ||
			    strcmp(argv[j], "+") == 0)
				break;
		}
		/* {} is a file name, which may be anything. */
		if (pe_nested(pe, "find -exec", j - i - 1, argv + i + 1, NULL,
		    PE_APPEND) != 0)
			return (-1);
		i = j;
	}
	return (0);
}

/* Is any of argv[from..argc) computed when the shell runs? */
static int
pe_any_dyn(const int *dyn, int from, int argc)
{
	int	 i;

	for (i = from; dyn != NULL && i < argc; i++) {
		if (dyn[i] & (PE_DYN|PE_GLOB))
			return (1);
	}
	return (0);
}

/* A string eval or trap builds when the shell runs. */
static int
pe_dyn_string(struct pe *pe, const char *label)
{
	char	*what;
	int	 rc;

	if (pe->p->allowlist == NULL)
		return (pe_words_denied(pe));
	xasprintf(&what, "a string %s is given when it runs", label);
	rc = pe_notlisted(pe, what);
	free(what);
	return (rc);
}

/* Join argv[from..argc) and check it as a shell string. */
static int
pe_joined_script(struct pe *pe, const char *label, int argc, char **argv,
    const int *dyn, int from)
{
	char	*s;
	int	 rc;

	if (from >= argc)
		return (0);
	if (pe_any_dyn(dyn, from, argc))
		return (pe_dyn_string(pe, label));
	s = pe_join(argc - from, argv + from);
	rc = pe_nested_script(pe, label, s);
	free(s);
	return (rc);
}

/* One name a builtin sets (export NAME=value, read NAME, ...). */
static int
pe_setvar_name(struct pe *pe, const char *word, int dyn, int nameref)
{
	const char	*eq;
	size_t		 n;

	if (dyn & PE_LEADDYN) {
		if (pe->p->allowlist == NULL)
			return (0);
		return (pe_notlisted(pe, "a variable name computed when it "
		    "runs"));
	}
	n = strcspn(word, "=[");
	if (n > 0 && word[n] == '=' && word[n - 1] == '+')
		n--;
	/* bash evaluates a subscript as arithmetic, which runs $(...). */
	if (word[n] == '[' && pe->p->allowlist != NULL)
		return (pe_notlisted(pe, "an array subscript (bash runs "
		    "what it names)"));
	if (pe_setenv(pe, word, n, 1) != 0)
		return (-1);
	if (nameref && (eq = strchr(word, '=')) != NULL) {
		if (pe->p->allowlist != NULL)
			return (pe_notlisted(pe, "a name reference (declare "
			    "-n)"));
		return (pe_setenv(pe, eq + 1, strlen(eq + 1), 1));
	}
	return (0);
}

/*
 * export, declare, local, read, printf -v, getopts, mapfile, unset: the
 * names they set.  -i makes bash evaluate assignments as arithmetic.
 */
static int
pe_wrap_setvar(struct pe *pe, const struct pe_wrapper *w, int argc,
    char **argv, const int *dyn, int flags)
{
	const char	*a, *vals = "", *namevals = "", *v;
	int		 i, j, vi, d, nameref = 0, npos = 0, optsdone = 0;
	int		 decl, isname;

	if (!(flags & PE_SHELL))
		return (0);	/* /usr/bin/printf sets nothing */
	decl = strcmp(w->name, "declare") == 0 ||
	    strcmp(w->name, "typeset") == 0 || strcmp(w->name, "local") == 0 ||
	    strcmp(w->name, "export") == 0 || strcmp(w->name, "readonly") == 0;
	if (strcmp(w->name, "read") == 0) {
		vals = "dinNptu";
		namevals = "a";
	} else if (strcmp(w->name, "mapfile") == 0 ||
	    strcmp(w->name, "readarray") == 0)
		vals = "dnOsucC";
	else if (strcmp(w->name, "printf") == 0)
		namevals = "v";
	for (i = 1; i < argc; i++) {
		a = argv[i];
		d = dyn != NULL ? dyn[i] : 0;
		if (!optsdone && (d & (PE_DYN|PE_GLOB)) == 0 &&
		    (a[0] == '-' || a[0] == '+') && a[1] != '\0') {
			if (strcmp(a, "--") == 0) {
				optsdone = 1;
				continue;
			}
			for (j = 1; a[j] != '\0'; j++) {
				if (decl && a[j] == 'n')
					nameref = 1;
				if (decl && a[j] == 'i' &&
				    pe->p->allowlist != NULL)
					return (pe_notlisted(pe, "declare -i "
					    "(bash evaluates what is assigned "
					    "as arithmetic)"));
				if (strchr(vals, a[j]) == NULL &&
				    strchr(namevals, a[j]) == NULL)
					continue;
				vi = a[j + 1] != '\0' ? i : i + 1;
				if (vi >= argc)
					break;
				v = vi == i ? a + j + 1 : argv[vi];
				if (a[j] == 'C' && *vals == 'd' &&
				    pe_nested_script(pe, "mapfile -C", v) != 0)
					return (-1);
				if (strchr(namevals, a[j]) != NULL &&
				    pe_setvar_name(pe, v, vi == i ? 0 :
				    (dyn != NULL ? dyn[vi] : 0), 0) != 0)
					return (-1);
				i = vi;
				break;
			}
			continue;
		}
		optsdone = 1;
		npos++;
		if (strcmp(w->name, "printf") == 0)
			isname = 0;
		else if (strcmp(w->name, "getopts") == 0)
			isname = npos == 2;
		else
			isname = 1;
		if (isname && pe_setvar_name(pe, a, d, nameref) != 0)
			return (-1);
	}
	return (0);
}

/* alias name=string: refused with an allowlist, else the string checked. */
static int
pe_wrap_alias(struct pe *pe, int argc, char **argv, int flags)
{
	const char	*eq;
	int		 i;

	if (!(flags & PE_SHELL))
		return (0);
	if (pe->p->allowlist != NULL)
		return (pe_notlisted(pe, "alias (it changes what a name "
		    "runs)"));
	for (i = 1; i < argc; i++) {
		if ((eq = strchr(argv[i], '=')) != NULL &&
		    pe_nested_script(pe, "alias", eq + 1) != 0)
			return (-1);
	}
	return (0);
}

/* hash -p file name: name runs file, which is checked. */
static int
pe_wrap_hash(struct pe *pe, int argc, char **argv, const int *dyn,
    int flags)
{
	char	*one[2];
	int	 i, vi;

	if (!(flags & PE_SHELL))
		return (0);
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strchr(argv[i], 'p') == NULL)
			continue;
		vi = argv[i][strcspn(argv[i], "p") + 1] != '\0' ? i : i + 1;
		if (vi >= argc)
			break;
		if (dyn != NULL && (dyn[vi] & (PE_DYN|PE_GLOB)))
			return (pe_dynamic(pe, argv[vi], PE_DYN));
		one[0] = vi == i ? argv[i] + strcspn(argv[i], "p") + 1 :
		    argv[vi];
		one[1] = NULL;
		return (pe_nested(pe, "hash -p", 1, one, NULL, 0));
	}
	return (0);
}

/* test -v 'a[$(...)]': bash evaluates the subscript. */
static int
pe_wrap_test(struct pe *pe, int argc, char **argv, int flags)
{
	int	 i;

	if (!(flags & PE_SHELL) || pe->p->allowlist == NULL)
		return (0);
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "-R") == 0)
			return (pe_notlisted(pe, "test -v (bash evaluates the "
			    "variable's subscript)"));
	}
	return (0);
}

/* sg [-] group [-c] command: command is a shell string. */
static int
pe_wrap_sg(struct pe *pe, int argc, char **argv, const int *dyn, int flags)
{
	int	 i = 1;

	if (i < argc && strcmp(argv[i], "-") == 0)
		i++;
	if (i >= argc)
		return (pe_sh_input(pe, "sg", NULL, flags));
	i++;		/* the group */
	if (i < argc && strcmp(argv[i], "-c") == 0)
		i++;
	if (i >= argc)
		return (pe_sh_input(pe, "sg", NULL, flags));
	if ((flags & PE_APPEND) && pe->p->allowlist != NULL)
		return (pe_appended(pe, "sg"));
	return (pe_joined_script(pe, "sg", argc, argv, dyn, i));
}

static int
pe_wrapper(struct pe *pe, const struct pe_wrapper *w, int argc, char **argv,
    const int *dyn, int flags, const char *given)
{
	struct pe_opts	 o;
	char		 label[40], *oldcwd;
	int		 i, rc, k, skip, nflags, append;

	append = (flags & PE_APPEND) && pe->p->allowlist != NULL;
	switch (w->kind) {
	case PE_ENV:
		return (pe_wrap_env(pe, w, argc, argv, dyn, flags, "env"));
	case PE_SH:
		return (pe_wrap_sh(pe, w, argc, argv, given, flags));
	case PE_FIND:
		return (pe_wrap_find(pe, argc, argv, flags));
	case PE_MULTI:
		if (argc < 2 || argv[1][0] == '-')
			return (append ? pe_appended(pe, w->name) : 0);
		return (pe_nested(pe, w->name, argc - 1, argv + 1,
		    dyn != NULL ? dyn + 1 : NULL, PE_APPLET));
	case PE_EVAL:
		return (pe_joined_script(pe, "eval", argc, argv, dyn, 1));
	case PE_TRAP:
		if (argc < 2 || argv[1][0] == '-')
			return (0);
		if (pe_any_dyn(dyn, 1, 2))
			return (pe_dyn_string(pe, "trap"));
		return (pe_nested_script(pe, "trap", argv[1]));
	case PE_SG:
		return (pe_wrap_sg(pe, argc, argv, dyn, flags));
	case PE_ALIAS:
		return (pe_wrap_alias(pe, argc, argv, flags));
	case PE_HASH:
		return (pe_wrap_hash(pe, argc, argv, dyn, flags));
	case PE_SETVAR:
		return (pe_wrap_setvar(pe, w, argc, argv, dyn, flags));
	case PE_TEST:
		return (pe_wrap_test(pe, argc, argv, flags));
	case PE_WATCH:
		for (i = 1; i < argc; i++) {
			if (strcmp(argv[i], "-x") == 0 ||
			    strcmp(argv[i], "--exec") == 0)
				break;
		}
		if (i == argc) {
			if (append)
				return (pe_appended(pe, "watch"));
			memset(&o, 0, sizeof o);
			i = pe_options(w, argc, argv, &o);
			return (pe_joined_script(pe, "watch", argc, argv, dyn,
			    i));
		}
		break;
	default:
		break;
	}
	memset(&o, 0, sizeof o);
	i = pe_options(w, argc, argv, &o);
	if (append && (w->kind == PE_CSTR || (w->kind == PE_SUDO && o.shell)))
		return (pe_appended(pe, w->name));
	/* setarch's arch is implied when run as linux64 or i386. */
	skip = w->skip;
	if (strcmp(w->name, "setarch") == 0 && strcmp(given, "setarch") != 0)
		skip = 0;
	if (skip != 0) {
		for (k = 0; k < skip && i < argc; k++)
			i++;
		/* Options may follow (setarch x86_64 -R prog). */
		if (i < argc)
			i = i - 1 + pe_options(w, argc - i + 1, argv + i - 1,
			    &o);
	}
	if (o.cstr != NULL) {
		snprintf(label, sizeof label, "%s -c", w->name);
		return (pe_nested_script(pe, label, o.cstr));
	}
	if (w->kind == PE_SUDO) {
		while (i < argc && strchr(argv[i], '=') != NULL &&
		    pe_valid_name(argv[i], strcspn(argv[i], "="))) {
			if (pe_setenv(pe, argv[i], strcspn(argv[i], "="),
			    0) != 0)
				return (-1);
			i++;
		}
		if (o.shell) {
			snprintf(label, sizeof label, "%s -s", w->name);
			return (pe_joined_script(pe, label, argc, argv, dyn,
			    i));
		}
	}
	if (w->kind == PE_CSTR && w->skip != 0) {
		/* flock file -c string, or flock file command [arg ...] */
		if (i + 1 < argc && (strcmp(argv[i], "-c") == 0 ||
		    strcmp(argv[i], "--command") == 0)) {
			snprintf(label, sizeof label, "%s -c", w->name);
			return (pe_nested_script(pe, label, argv[i + 1]));
		}
	} else if (w->kind == PE_CSTR)
		return (0);	/* without -c: a login shell, nothing to run */
	nflags = (w->builtin ? flags & PE_SHELL : 0) | (flags & PE_APPEND);
	if (strcmp(w->name, "xargs") == 0) {
		nflags |= PE_APPEND;
		if (i >= argc && !(flags & PE_APPEND)) {
			/* xargs alone runs echo. */
			argv = (char **)pe_echo;
			argc = 1;
			i = 0;
			dyn = NULL;
		}
	}
	oldcwd = pe_chdir(pe, o.dir);
	rc = pe_nested(pe, w->name, argc - i, argv + i,
	    dyn != NULL ? dyn + i : NULL, nflags);
	pe_chdir_restore(pe, oldcwd);
	return (rc);
}

/*
 * A program name a shell computes when it runs: with an allowlist it is
 * refused; with a denylist every literal word of the string is tried as a
 * name, so "$(which rm)", "x=rm; $x" and "{rm,x}" are still caught.
 */
static int
pe_dynamic(struct pe *pe, const char *name, int what)
{
	glob_t			 g;
	char			*pat, *one[2];
	size_t			 i;
	int			 rc = 0;

	if (what == PE_GLOB) {
		if (*name != '/' && pe->cwd != NULL)
			xasprintf(&pat, "%s/%s", pe->cwd, name);
		else
			pat = xstrdup(name);
		if (glob(pat, 0, NULL, &g) == 0) {
			for (i = 0; i < g.gl_pathc && rc == 0; i++) {
				one[0] = g.gl_pathv[i];
				one[1] = NULL;
				rc = pe_command(pe, 1, one, NULL, PE_NESTED);
			}
			globfree(&g);
		}
		free(pat);
		if (rc != 0 || pe->p->allowlist == NULL)
			return (rc);
	}
	if (pe->p->allowlist != NULL)
		return (pe_notlisted(pe, "a program name computed when it "
		    "runs"));
	return (pe_words_denied(pe));
}

/*
 * An allowlist refusal: the name, and the file if it is another (a copy
 * named ls is not the ls the list means).
 */
static int
pe_notlisted_file(struct pe *pe, const char *argv0, const char *given,
    const char *real)
{
	char	*what;
	int	 rc;

	if (real == NULL)
		return (pe_notlisted(pe, given));
	if (strcmp(pe_basename(real), given) != 0)
		xasprintf(&what, "%s (which is %s)", given, real);
	else if (pe_listed(pe->p->allowlist, given, 0) != NULL)
		xasprintf(&what, "%s (%s is not the %s the server's PATH "
		    "finds)", argv0, real, given);
	else
		return (pe_notlisted(pe, given));
	rc = pe_notlisted(pe, what);
	free(what);
	return (rc);
}

/* A binary that is many programs, chosen by argv[0]. */
static int
pe_multicall(const char *base)
{
	return (strcmp(base, "busybox") == 0 || strcmp(base, "toybox") == 0 ||
	    strcmp(base, "coreutils") == 0);
}

/*
 * A shell builtin that runs other commands (eval, exec, command, trap).  A
 * name with a slash is a file, never a builtin.
 */
static const struct pe_wrapper *
pe_builtin_wrapper(const char *name, int flags)
{
	const struct pe_wrapper	*w;

	if (!(flags & PE_SHELL) || strchr(name, '/') != NULL ||
	    (w = pe_wrapper_find(name)) == NULL || !w->builtin)
		return (NULL);
	return (w);
}

/* Would the shell find this name from its directory? */
static int
pe_relative(struct pe *pe, const char *name)
{
	const char	*p;

	if (strchr(name, '/') != NULL)
		return (*name != '/');
	for (p = pe->path; p != NULL; p = strchr(p, ':')) {
		if (*p == ':')
			p++;
		if (*p != '/')
			return (1);	/* "", ".", "bin" */
	}
	return (0);
}

/*
 * A denylist entry naming this very file (a hard link to rm, say).  A
 * multi-call binary is every applet: an entry without a slash names one of
 * them (matched by name), one with a slash the binary itself.
 */
static const char *
pe_denied_file(struct pe *pe, const struct stat *sb, const char *rbase)
{
	const struct strlist	*l = pe->p->denylist;
	u_int			 i;

	if (sb == NULL || l == NULL)
		return (NULL);
	if (pe_multicall(rbase))
		return (pe_listed_file(&pe_deny_ids, l, sb, 1));
	/* Another name for a file is a hard link or a symlink. */
	for (i = 0; sb->st_nlink <= 1 && i < l->n; i++) {
		if (strchr(l->v[i], '/') != NULL)
			break;
	}
	if (sb->st_nlink <= 1 && i == l->n)
		return (NULL);
	return (pe_listed_file(&pe_deny_ids, l, sb, 0));
}

/*
 * Check one command: the name given and the file it resolves to against
 * both lists, then, if it is a wrapper, whatever it runs.
 */
static int
pe_command(struct pe *pe, int argc, char **argv, const int *dyn, int flags)
{
	const struct policy_exec	*p = pe->p;
	const struct pe_wrapper		*w, *bw;
	const char			*given, *rbase = "", *m, *key;
	struct stat			 sb, *psb = NULL;
	char				*file = NULL, *real = NULL;
	int				 rc = 0, builtin;

	if (argc <= 0)
		return (0);
	if (dyn != NULL && (dyn[0] & (PE_DYN|PE_GLOB)) != 0)
		return (pe_dynamic(pe, argv[0], dyn[0] & (PE_DYN|PE_GLOB)));
	given = pe_basename(argv[0]);
	bw = pe_builtin_wrapper(argv[0], flags);
	builtin = bw != NULL || ((flags & PE_SHELL) && pe_is_builtin(argv[0]));
	if (!(flags & PE_APPLET) && bw == NULL &&
	    (file = policy_exec_resolve(argv[0], pe->path, pe->cwd)) != NULL) {
		if (stat(file, &sb) == 0)
			psb = &sb;
		if ((real = realpath(file, NULL)) != NULL)
			rbase = pe_basename(real);
	}
	if ((flags & PE_SHELL) && (strcmp(argv[0], "cd") == 0 ||
	    strcmp(argv[0], "pushd") == 0 || strcmp(argv[0], "popd") == 0))
		pe->moved = 1;
	else if (pe->inshell && !builtin && !(flags & PE_APPLET) &&
	    pe->relative == NULL && pe_relative(pe, argv[0]))
		pe->relative = xstrdup(argv[0]);

	if ((m = pe_listed(p->denylist, given, 1)) != NULL ||
	    (m = pe_listed(p->denylist, rbase, 1)) != NULL ||
	    (m = pe_denied_file(pe, psb, rbase)) != NULL) {
		rc = pe_deny(pe, m);
		goto out;
	}
	/*
	 * The allowlist names the file that runs (sh may be dash); a
	 * multi-call binary runs what argv[0] names, so that must be listed.
	 * A name no file answers to is a busybox applet, or one the shell
	 * will not find either (a function's body is checked where it is).
	 */
	if (p->allowlist != NULL && !builtin) {
		if (psb == NULL) {
			if (strchr(argv[0], '/') != NULL ||
			    pe_listed(p->allowlist, given, 0) == NULL) {
				rc = pe_notlisted(pe, strchr(argv[0], '/') ?
				    argv[0] : given);
				goto out;
			}
		} else if (pe_listed_file(&pe_allow_ids, p->allowlist,
		    psb, 0) == NULL) {
			rc = pe_notlisted_file(pe, argv[0], given, real);
			goto out;
		} else if (pe_multicall(rbase) && strcmp(given, rbase) != 0 &&
		    pe_listed(p->allowlist, given, 0) == NULL) {
			rc = pe_notlisted(pe, given);
			goto out;
		}
	}
	if (file == NULL && !(flags & PE_NESTED)) {
		rc = POLICY_EXEC_NOT_FOUND;
		goto out;
	}

	/*
	 * Which wrapper: the file's name ("foo" linked to env is env), but
	 * a busybox applet is named by argv[0].  A name not found runs
	 * nothing, unless a shell or busybox knows it.
	 */
	key = given;
	if (*rbase != '\0' && !pe_multicall(rbase) &&
	    (pe_wrapper_find(rbase) != NULL || pe_wrapper_find(given) == NULL))
		key = rbase;	/* but sg is newgrp by another name */
	if (bw != NULL)
		w = bw;
	else if (file == NULL && !(flags & (PE_SHELL|PE_APPLET)))
		w = NULL;
	else if ((w = pe_wrapper_find(key)) != NULL && w->builtin &&
	    file == NULL && !(flags & PE_APPLET))
		w = NULL;
	if (w != NULL)
		rc = pe_wrapper(pe, w, argc, argv, dyn, flags, given);
out:
	free(real);
	free(file);
	return (rc);
}

/*
 * Why a file found cannot run where execve would only say ENOENT, EISDIR or
 * EACCES: a directory, not a regular file (opening a FIFO would wait for a
 * writer, here in the server's loop), or a script whose #! interpreter is
 * missing (a relative one is found from the request's directory).
 */
static char *
pe_cannot_run(const char *name, const char *file, const char *cwd)
{
	struct stat	 sb;
	char		 line[256], *interp, *path, *cause = NULL;
	ssize_t		 n;
	size_t		 len;
	int		 fd;

	if (stat(file, &sb) != 0)
		return (NULL);
	if (S_ISDIR(sb.st_mode)) {
		xasprintf(&cause, "cannot run %s: it is a directory", name);
		return (cause);
	}
	if (!S_ISREG(sb.st_mode)) {
		xasprintf(&cause, "cannot run %s: not a regular file", name);
		return (cause);
	}
	if ((fd = open(file, O_RDONLY|O_NONBLOCK|O_CLOEXEC)) == -1)
		return (NULL);
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		xasprintf(&cause, "cannot run %s: not a regular file", name);
		return (cause);
	}
	n = read(fd, line, sizeof line - 1);
	close(fd);
	if (n < 3 || line[0] != '#' || line[1] != '!')
		return (NULL);
	line[n] = '\0';
	interp = line + 2 + strspn(line + 2, " \t");
	len = strcspn(interp, " \t\r\n");
	interp[len] = '\0';
	if (len == 0)
		return (NULL);
	if (*interp != '/' && cwd != NULL)
		xasprintf(&path, "%s/%s", cwd, interp);
	else
		path = xstrdup(interp);
	if (stat(path, &sb) != 0) {
		xasprintf(&cause, "cannot run %s: its interpreter %s: %s",
		    name, interp, strerror(errno));
	}
	free(path);
	return (cause);
}

/*
 * May argv run in cwd?  Returns POLICY_EXEC_OK with *file set to the program
 * to execute, or POLICY_EXEC_DENIED, POLICY_EXEC_NOT_FOUND or
 * POLICY_EXEC_CANNOT_RUN with *cause.
 */
int
policy_exec_check(const struct policy_exec *p, int argc, char **argv,
    char **file, char **cause)
{
	struct pe	 pe;
	char		*what, *dir;
	u_int		 i;
	int		 rc;

	*file = NULL;
	*cause = NULL;
	if (argc == 0 || *argv[0] == '\0') {
		*cause = xstrdup("empty command");
		return (POLICY_EXEC_NOT_FOUND);
	}
	memset(&pe, 0, sizeof pe);
	pe.p = p;
	pe.path = (char *)(p->path != NULL ? p->path : PE_DEFAULT_PATH);
	pe.cwd = (char *)p->cwd;
	rc = pe_command(&pe, argc, argv, NULL, 0);
	/* Wherever the shell changes directory, ./prog may be any file. */
	if (rc == 0 && p->allowlist != NULL && pe.moved &&
	    pe.relative != NULL) {
		xasprintf(&what, "%s after cd (a name found from the "
		    "directory cannot be checked once it changes; give the "
		    "full path)", pe.relative);
		rc = pe_notlisted(&pe, what);
		free(what);
	}
	if (rc == POLICY_EXEC_NOT_FOUND) {
		if (strchr(argv[0], '/') != NULL) {
			if (*argv[0] == '/' || p->cwd == NULL)
				dir = xstrdup(argv[0]);
			else
				xasprintf(&dir, "%s/%s", p->cwd, argv[0]);
			if ((*cause = pe_cannot_run(argv[0], dir,
			    p->cwd)) != NULL)
				rc = POLICY_EXEC_CANNOT_RUN;
			free(dir);
		}
		if (*cause == NULL)
			xasprintf(cause, "command not found: %s", argv[0]);
	} else if (rc != 0) {
		*cause = pe.cause;
		pe.cause = NULL;
		rc = POLICY_EXEC_DENIED;
	} else {
		*file = policy_exec_resolve(argv[0], pe.path, p->cwd);
		if ((*cause = pe_cannot_run(argv[0], *file,
		    p->cwd)) != NULL) {
			free(*file);
			*file = NULL;
			rc = POLICY_EXEC_CANNOT_RUN;
		}
	}
	for (i = 0; i < pe.nwords; i++)
		free(pe.words[i]);
	free(pe.words);
	free(pe.cause);
	free(pe.relative);
	return (rc);
}

/* ------------------------------------------------------------------ */
/* Shell strings: enough of sh's grammar to find every command position. */

struct pe_sh {
	struct pe	*pe;
	const char	*label;
	struct buf	 word;
	int		 inword;
	int		 wflags;	/* PE_DYN, PE_GLOB */
	size_t		 dynat;		/* literal length when first dynamic */
	int		 brace;		/* an unquoted { in the word */
	int		 quoted;	/* some of the word was quoted */
	int		 assign;	/* NAME= seen at the word's start */
	char		**argv;		/* the simple command so far */
	int		*dyn;
	int		 argc;
	int		 redirect;	/* the next word is a redirection's */
	int		 skip;		/* for/case/select: no command here;
					   3: for's variable comes next;
					   4: function's name comes next */
	int		 rc;
};

static const char *pe_reserved[] = {
	"!", "{", "}", "do", "done", "elif", "else", "esac", "fi", "if",
	"then", "time", "until", "while", "coproc", "[[", "]]"
};

static int
pe_sh_reserved(const char *w)
{
	size_t	 i;

	for (i = 0; i < nitems(pe_reserved); i++) {
		if (strcmp(pe_reserved[i], w) == 0)
			return (1);
	}
	return (0);
}

static void
pe_sh_end_command(struct pe_sh *sh)
{
	int	 i;

	if (sh->argc != 0 && sh->rc == 0) {
		sh->argv[sh->argc] = NULL;
		sh->rc = pe_command(sh->pe, sh->argc, sh->argv, sh->dyn,
		    PE_SHELL | PE_NESTED);
	}
	for (i = 0; i < sh->argc; i++)
		free(sh->argv[i]);
	sh->argc = 0;
	sh->redirect = 0;
	sh->skip = 0;
}

/* A word's flags: PE_LEADDYN when its text before any = is not literal. */
static int
pe_sh_word_flags(struct pe_sh *sh, const char *w)
{
	const char	*eq = strchr(w, '=');

	if (sh->wflags == 0)
		return (0);
	if (eq == NULL || (size_t)(eq - w) >= sh->dynat)
		return (sh->wflags | PE_LEADDYN);
	return (sh->wflags);
}

/* NAME=value before a command, or for NAME in: may it set NAME? */
static void
pe_sh_assign(struct pe_sh *sh, const char *w)
{
	size_t	 n = strcspn(w, "=");

	if (n > 0 && w[n] == '=' && w[n - 1] == '+')
		n--;
	if (sh->rc == 0)
		sh->rc = pe_setenv(sh->pe, w, n, 1);
}

static void
pe_sh_end_word(struct pe_sh *sh)
{
	char	*w;
	int	 allow = sh->pe->p->allowlist != NULL;

	if (!sh->inword)
		return;
	buf_add(&sh->word, "", 1);
	w = sh->word.data;
	sh->pe->words = xreallocarray(sh->pe->words, sh->pe->nwords + 1,
	    sizeof *sh->pe->words);
	sh->pe->words[sh->pe->nwords++] = xstrdup(sh->assign ?
	    strchr(w, '=') + 1 : w);
	if (sh->wflags == PE_GLOB && strpbrk(w, "*?]") == NULL)
		sh->wflags = 0;		/* [ and [[ are names, not globs */
	if (sh->redirect)
		sh->redirect = 0;
	else if (sh->skip == 3) {
		pe_sh_assign(sh, w);	/* for NAME in ... */
		sh->skip = 1;
	} else if (sh->skip == 4)
		sh->skip = 0;		/* function NAME: its body follows */
	else if (sh->skip) {
		if (sh->skip == 2 && strcmp(w, "in") == 0)
			sh->skip = 0;	/* case x in: patterns follow */
	} else if (sh->argc == 0 && sh->assign)
		pe_sh_assign(sh, w);	/* NAME=value before the command */
	else if (sh->argc == 0 && !sh->quoted && sh->wflags == 0 &&
	    pe_sh_reserved(w) && !(allow && strcmp(w, "[[") == 0))
		;	/* [[ ]] evaluates arithmetic: a command to refuse */
	else if (sh->argc == 0 && !sh->quoted && (strcmp(w, "for") == 0 ||
	    strcmp(w, "select") == 0))
		sh->skip = 3;
	else if (sh->argc == 0 && !sh->quoted && strcmp(w, "function") == 0)
		sh->skip = 4;
	else if (sh->argc == 0 && !sh->quoted && strcmp(w, "case") == 0)
		sh->skip = 2;
	else {
		sh->argv = xreallocarray(sh->argv, sh->argc + 2,
		    sizeof *sh->argv);
		sh->dyn = xreallocarray(sh->dyn, sh->argc + 2,
		    sizeof *sh->dyn);
		sh->dyn[sh->argc] = pe_sh_word_flags(sh, w);
		sh->argv[sh->argc++] = xstrdup(w);
	}
	buf_reset(&sh->word);
	sh->inword = sh->wflags = sh->quoted = sh->assign = sh->brace = 0;
}

/* Mark the word dynamic (or a glob) from here on. */
static void
pe_sh_mark(struct pe_sh *sh, int flag)
{
	if (sh->wflags == 0)
		sh->dynat = sh->word.len;
	sh->wflags |= flag;
	sh->inword = 1;
}

static int
pe_digits(const char *s, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		if (!isdigit((u_char)s[i]))
			return (0);
	}
	return (n != 0);
}

/* The end of a $( ) or ( ) starting after its "(": index of the ")". */
static size_t
pe_sh_match(const char *s, size_t i, char open, char close)
{
	int	 depth = 1;
	char	 q = 0;

	for (; s[i] != '\0'; i++) {
		if (q == '\'') {
			if (s[i] == '\'')
				q = 0;
		} else if (s[i] == '\\' && s[i + 1] != '\0')
			i++;
		else if (q == '"') {
			if (s[i] == '"')
				q = 0;
		} else if (s[i] == '\'' || s[i] == '"')
			q = s[i];
		else if (s[i] == open)
			depth++;
		else if (s[i] == close && --depth == 0)
			return (i);
	}
	return (i);
}

/* A command substitution: its text is a script of its own. */
static void
pe_sh_sub(struct pe_sh *sh, const char *s, size_t n)
{
	char	*inner;

	if (sh->rc != 0)
		return;
	inner = xstrndup(s, n);
	sh->rc = pe_script(sh->pe, inner, sh->label);
	free(inner);
}

static size_t	pe_sh_dollar(struct pe_sh *, const char *, size_t);

/* Count one more level of nesting; refuse beyond PE_MAXNEST. */
static int
pe_nest(struct pe *pe)
{
	char	*what;
	int	 rc;

	if (pe->nest < PE_MAXNEST) {
		pe->nest++;
		return (0);
	}
	xasprintf(&what, "more than %d levels of $(...), ${...} or `...`",
	    PE_MAXNEST);
	rc = pe_refuse(pe, "too deeply nested to check", what);
	free(what);
	return (rc);
}

/* Substitutions inside ${...} and $((...)) are commands too. */
static void
pe_sh_inner(struct pe_sh *sh, const char *inner)
{
	const char	*bt;
	size_t		 j;

	if (sh->rc != 0 || (sh->rc = pe_nest(sh->pe)) != 0)
		return;
	for (j = 0; inner[j] != '\0' && sh->rc == 0; j++) {
		if (inner[j] == '$')
			j = pe_sh_dollar(sh, inner, j);
		else if (inner[j] == '`' &&
		    (bt = strchr(inner + j + 1, '`')) != NULL) {
			pe_sh_sub(sh, inner + j + 1, bt - inner - j - 1);
			j = bt - inner;
		}
	}
	sh->pe->nest--;
}

/*
 * $((...)) and ((...)): bash evaluates a variable's value as an expression,
 * and a subscript there runs $(...), so an allowlist takes only numbers.
 */
static void
pe_sh_arith(struct pe_sh *sh, const char *s, size_t n)
{
	char	*inner = xstrndup(s, n);
	size_t	 j;

	pe_sh_inner(sh, inner);
	for (j = 0; sh->pe->p->allowlist != NULL && inner[j] != '\0'; j++) {
		if (isalpha((u_char)inner[j]) || strchr("_$`", inner[j])) {
			if (sh->rc == 0)
				sh->rc = pe_notlisted(sh->pe, "arithmetic on a "
				    "variable (bash runs code found in its "
				    "value)");
			break;
		}
	}
	free(inner);
}

/* ${name op word}: its words, and what bash evaluates or assigns. */
static void
pe_sh_param(struct pe_sh *sh, const char *inner)
{
	struct pe	*pe = sh->pe;
	const char	*op, *why = NULL;
	size_t		 n;

	pe->words = xreallocarray(pe->words, pe->nwords + 1,
	    sizeof *pe->words);
	pe->words[pe->nwords++] = xstrdup(inner);	/* ${x:-rm} */
	pe_sh_inner(sh, inner);
	if (sh->rc != 0)
		return;
	/*
	 * The name: a variable, digits, or one special character (${*:x}
	 * evaluates x as ${y:x} does); ${#name} is name's length.
	 */
	n = strspn(inner, PE_NAMECHARS);
	if (n == 0 && *inner != '\0' && strchr("*@#?-$!", *inner) != NULL) {
		n = 1;
		if (*inner == '#' && (isalpha((u_char)inner[1]) ||
		    inner[1] == '_'))
			n += strspn(inner + 1, PE_NAMECHARS);
	}
	op = inner + n;
	if (pe->p->allowlist != NULL) {
		if (*inner == '!')
			why = "${!name} (bash evaluates the name it finds)";
		else if (*op == '[')
			why = "an array subscript (bash runs what it names)";
		else if (*op == '@')
			why = "${name@...} (bash may run what it finds)";
		else if (*op == ':' && strchr("-=?+", op[1]) == NULL)
			why = "arithmetic on a variable (bash runs code found "
			    "in its value)";
		if (why != NULL) {
			sh->rc = pe_notlisted(pe, why);
			return;
		}
	}
	if (*op == '=' || (*op == ':' && op[1] == '='))
		sh->rc = pe_setenv(pe, inner, n, 1);	/* ${PATH:=x} */
}

/* $..., at s[i] == '$'; returns the index of the last character used. */
static size_t
pe_sh_dollar(struct pe_sh *sh, const char *s, size_t i)
{
	size_t	 end, j;
	char	*inner;

	pe_sh_mark(sh, PE_DYN);
	if (s[i + 1] == '(' && s[i + 2] == '(') {
		end = pe_sh_match(s, i + 3, '(', ')');
		if (s[end] != '\0' && s[end + 1] == ')') {
			pe_sh_arith(sh, s + i + 3, end - i - 3);
			return (end + 1);
		}
		/* Not closed by )): bash runs $( (...) ... ). */
		end = pe_sh_match(s, i + 2, '(', ')');
		pe_sh_sub(sh, s + i + 2, end - i - 2);
		return (s[end] == '\0' ? end - 1 : end);
	}
	if (s[i + 1] == '(') {
		end = pe_sh_match(s, i + 2, '(', ')');
		pe_sh_sub(sh, s + i + 2, end - i - 2);
		return (s[end] == '\0' ? end - 1 : end);
	}
	if (s[i + 1] == '{') {
		end = pe_sh_match(s, i + 2, '{', '}');
		inner = xstrndup(s + i + 2, end - i - 2);
		pe_sh_param(sh, inner);
		free(inner);
		return (s[end] == '\0' ? end - 1 : end);
	}
	if (s[i + 1] == '[') {
		/* bash's old $[expression] */
		end = pe_sh_match(s, i + 2, '[', ']');
		pe_sh_arith(sh, s + i + 2, end - i - 2);
		return (s[end] == '\0' ? end - 1 : end);
	}
	if (s[i + 1] == '\0')
		return (i);
	if (isalpha((u_char)s[i + 1]) || s[i + 1] == '_') {
		for (j = i + 1; isalnum((u_char)s[j + 1]) || s[j + 1] == '_';
		    j++)
			;
		return (j);
	}
	if (strchr("@*#?-$!0123456789", s[i + 1]) != NULL)
		return (i + 1);		/* $1 $@ $? $$ ... */
	return (i);	/* a $ alone is itself: $; $| $" end nothing here */
}

/* A backquoted substitution at s[i] == '`'; \` \\ \$ are unescaped. */
static size_t
pe_sh_backquote(struct pe_sh *sh, const char *s, size_t i)
{
	struct buf	 b;
	size_t		 j;

	pe_sh_mark(sh, PE_DYN);
	buf_init(&b);
	for (j = i + 1; s[j] != '\0' && s[j] != '`'; j++) {
		if (s[j] == '\\' && s[j + 1] != '\0' &&
		    strchr("`\\$", s[j + 1]) != NULL)
			j++;
		buf_add(&b, s + j, 1);
	}
	pe_sh_sub(sh, b.data != NULL ? b.data : "", b.len);
	buf_free(&b);
	return (s[j] == '\0' ? j - 1 : j);
}

/* $'...' (bash, zsh, ksh): decode the escapes a name could hide in. */
static size_t
pe_sh_ansi(struct pe_sh *sh, const char *s, size_t i)
{
	static const char	 from[] = "abefnrtv\\'\"?", to[] =
				    "\a\b\033\f\n\r\t\v\\'\"?";
	char			 c, hex[4];
	const char		*p;
	size_t			 j, k;

	sh->inword = sh->quoted = 1;
	for (j = i + 2; s[j] != '\0' && s[j] != '\''; j++) {
		if (s[j] != '\\' || s[j + 1] == '\0') {
			buf_add(&sh->word, s + j, 1);
			continue;
		}
		j++;
		if ((p = strchr(from, s[j])) != NULL)
			c = to[p - from];
		else if (s[j] == 'x') {
			for (k = 0; k < 2 && isxdigit((u_char)s[j + 1]); k++)
				hex[k] = s[++j];
			hex[k] = '\0';
			c = (char)strtol(hex, NULL, 16);
		} else if (s[j] >= '0' && s[j] <= '7') {
			c = 0;
			for (k = 0; k < 3 && s[j] >= '0' && s[j] <= '7'; k++)
				c = c * 8 + (s[j++] - '0');
			j--;
		} else {
			pe_sh_mark(sh, PE_DYN);	/* \u, \c: not decoded */
			c = s[j];
		}
		buf_add(&sh->word, &c, 1);
	}
	return (s[j] == '\0' ? j - 1 : j);
}

/* Tokenize a shell string and check the command at every position. */
static int
pe_script(struct pe *pe, const char *s, const char *label)
{
	struct pe_sh	 sh;
	size_t		 i, end, len;
	char		 c, q, *what;
	int		 rc;

	/* Each level copies the rest of the string: both are bounded. */
	if ((len = strlen(s)) > PE_MAXSCRIPT) {
		xasprintf(&what, "a shell string of %zu bytes (more than %d)",
		    len, PE_MAXSCRIPT);
		rc = pe_refuse(pe, "too long to check", what);
		free(what);
		return (rc);
	}
	if (pe_nest(pe) != 0)
		return (-1);
	memset(&sh, 0, sizeof sh);
	sh.pe = pe;
	sh.label = label;
	buf_init(&sh.word);
	pe->inshell++;
	for (i = 0; s[i] != '\0' && sh.rc == 0; i++) {
		c = s[i];
		if (c == '\\') {
			if (s[i + 1] == '\n')
				i++;
			else if (s[i + 1] != '\0') {
				sh.inword = sh.quoted = 1;
				buf_add(&sh.word, s + ++i, 1);
			}
			continue;
		}
		if (c == '\'' || c == '"') {
			sh.inword = sh.quoted = 1;
			for (q = c, i++; s[i] != '\0' && s[i] != q; i++) {
				if (q == '"' && s[i] == '\\' &&
				    s[i + 1] != '\0' &&
				    strchr("$`\"\\\n", s[i + 1]) != NULL)
					i++;
				else if (q == '"' && s[i] == '$') {
					i = pe_sh_dollar(&sh, s, i);
					continue;
				} else if (q == '"' && s[i] == '`') {
					i = pe_sh_backquote(&sh, s, i);
					continue;
				}
				buf_add(&sh.word, s + i, 1);
			}
			if (s[i] == '\0')
				break;
			continue;
		}
		if (c == '$' && s[i + 1] == '\'') {
			i = pe_sh_ansi(&sh, s, i);
			continue;
		}
		if (c == '$') {
			i = pe_sh_dollar(&sh, s, i);
			continue;
		}
		if (c == '`') {
			i = pe_sh_backquote(&sh, s, i);
			continue;
		}
		if ((c == '<' || c == '>') && s[i + 1] == '(') {
			/* Process substitution: a script of its own. */
			end = pe_sh_match(s, i + 2, '(', ')');
			pe_sh_sub(&sh, s + i + 2, end - i - 2);
			pe_sh_mark(&sh, PE_DYN);
			i = s[end] == '\0' ? end - 1 : end;
			continue;
		}
		if (c == '(' && s[i + 1] == '(' && !sh.inword &&
		    sh.argc == 0) {
			/*
			 * ((expression)), but dash always, and bash when it is
			 * not closed by )), runs ( (...) ... ): both are read.
			 */
			end = pe_sh_match(s, i + 2, '(', ')');
			if (s[end] != '\0' && s[end + 1] == ')')
				pe_sh_arith(&sh, s + i + 2, end - i - 2);
			end = pe_sh_match(s, i + 1, '(', ')');
			pe_sh_sub(&sh, s + i + 1, end - i - 1);
			if (s[end] == '\0')
				break;
			i = end;
			continue;
		}
		if (c == '<' || c == '>') {
			/* "2>" : the digits were the descriptor. */
			if (sh.inword && !sh.quoted && sh.wflags == 0 &&
			    pe_digits(sh.word.data, sh.word.len)) {
				buf_reset(&sh.word);
				sh.inword = 0;
			}
			pe_sh_end_word(&sh);
			while (strchr("<>&|-", s[i + 1]) != NULL &&
			    s[i + 1] != '\0')
				i++;
			sh.redirect = 1;
			continue;
		}
		if (c == '#' && !sh.inword) {
			while (s[i + 1] != '\0' && s[i + 1] != '\n')
				i++;
			continue;
		}
		if (strchr(";&|()\n", c) != NULL) {
			pe_sh_end_word(&sh);
			pe_sh_end_command(&sh);
			continue;
		}
		if (c == ' ' || c == '\t') {
			pe_sh_end_word(&sh);
			continue;
		}
		if (c == '=' && !sh.quoted && sh.wflags == 0 && !sh.assign &&
		    sh.argc == 0 && (pe_valid_name(sh.word.data, sh.word.len) ||
		    (sh.word.len > 1 && sh.word.data[sh.word.len - 1] == '+' &&
		    pe_valid_name(sh.word.data, sh.word.len - 1))))
			sh.assign = 1;	/* NAME=value, NAME+=value */
		if (strchr("*?[", c) != NULL)
			pe_sh_mark(&sh, PE_GLOB);
		if (c == '{')
			sh.brace = 1;
		if (c == ',' && sh.brace)
			pe_sh_mark(&sh, PE_DYN);	/* {rm,x} */
		if (c == '~' && !sh.inword)
			pe_sh_mark(&sh, PE_DYN);	/* ~/bin/x */
		sh.inword = 1;
		buf_add(&sh.word, &c, 1);
	}
	pe_sh_end_word(&sh);
	pe_sh_end_command(&sh);
	pe->inshell--;
	pe->nest--;
	free(sh.argv);
	free(sh.dyn);
	buf_free(&sh.word);
	return (sh.rc);
}

/*
 * server/policy-exec.c: may this argv run?  execution.denylist and
 * execution.allowlist, matched on the program that will really run (found on
 * PATH, symlinks resolved) and on programs started through wrappers (env,
 * nice, xargs, find -exec, busybox, sudo, sh -c '...' strings).  Running the
 * program belongs to cmd-exec.c.
 *
 * A denylist only slows a determined caller down: interpreters (python -c,
 * perl -e), scripts and programs computed at run time are not seen through.
 * The allowlist is the control: anything it cannot check is refused.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "server.h"

#define PE_MAXDEPTH	16
#define PE_DEFAULT_PATH	"/usr/local/bin:/usr/bin:/bin"

/* How a command is reached, for pe_command. */
#define PE_NESTED	0x1	/* through a wrapper: not the requested argv */
#define PE_SHELL	0x2	/* a command in a shell string: builtins too */
#define PE_APPLET	0x4	/* busybox applet: a name, not a file */

/* A word of a shell string that is not known until it runs. */
#define PE_DYN		0x1	/* $var, $(...), `...`, ${...}, brace */
#define PE_GLOB		0x2	/* unquoted * ? [ */

struct pe {
	const struct policy_exec *p;
	char		 via[PE_MAXDEPTH][40];
	int		 nvia;
	char		*path;		/* PATH for names (env PATH= sets) */
	char		*cause;
	int		 refused;
	char		**words;	/* literal words of shell strings */
	u_int		 nwords;
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
	PE_WATCH	/* watch: the arguments are a shell string unless -x */
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
	{ "ash", PE_SH, "o", ",rcfile,init-file,", 0, 0 },
	{ "bash", PE_SH, "o", ",rcfile,init-file,", 0, 0 },
	{ "builtin", PE_PLAIN, "", ",", 0, 1 },
	{ "busybox", PE_MULTI, "", ",", 0, 0 },
	{ "chroot", PE_PLAIN, "", ",userspec,groups,", 1, 0 },
	{ "chrt", PE_PLAIN, "TPD", ",sched-runtime,sched-period,"
	    "sched-deadline,", 1, 0 },
	{ "command", PE_PLAIN, "", ",", 0, 1 },
	{ "dash", PE_SH, "o", ",", 0, 0 },
	{ "doas", PE_SUDO, "uC", ",", 0, 0 },
	{ "eatmydata", PE_PLAIN, "", ",", 0, 0 },
	{ "env", PE_ENV, "uCSP", ",unset,chdir,split-string,", 0, 0 },
	{ "eval", PE_EVAL, "", ",", 0, 1 },
	{ "exec", PE_PLAIN, "a", ",", 0, 1 },
	{ "fakeroot", PE_PLAIN, "lsi", ",lib,faked,", 0, 0 },
	{ "find", PE_FIND, "", ",", 0, 0 },
	{ "flock", PE_CSTR, "wEc", ",timeout,wait,conflict-exit-code,"
	    "command,", 1, 0 },
	{ "ionice", PE_PLAIN, "cnp", ",class,classdata,", 0, 0 },
	{ "ksh", PE_SH, "o", ",", 0, 0 },
	{ "ltrace", PE_PLAIN, "aeAnopsuDlLSxX", ",output,", 0, 0 },
	{ "mksh", PE_SH, "o", ",", 0, 0 },
	{ "nice", PE_PLAIN, "n", ",adjustment,", 0, 0 },
	{ "nohup", PE_PLAIN, "", ",", 0, 0 },
	{ "nsenter", PE_PLAIN, "tSGr", ",target,setuid,setgid,root,wd,", 0, 0 },
	{ "pkexec", PE_PLAIN, "", ",user,", 0, 0 },
	{ "prlimit", PE_PLAIN, "p", ",pid,output,", 0, 0 },
	{ "runuser", PE_CSTR, "ugGsfwc", ",user,group,supp-group,shell,"
	    "whitelist-environment,command,session-command,", 0, 0 },
	{ "script", PE_CSTR, "cEIOBTm", ",command,echo,log-in,log-out,"
	    "log-io,log-timing,logging-format,output-limit,", 0, 0 },
	{ "setsid", PE_PLAIN, "", ",", 0, 0 },
	{ "sh", PE_SH, "o", ",", 0, 0 },
	{ "stdbuf", PE_PLAIN, "ioe", ",input,output,error,", 0, 0 },
	{ "strace", PE_PLAIN, "abeEIoOpPsSuUX", ",output,signal,trace,", 0, 0 },
	{ "su", PE_CSTR, "gGswc", ",group,supp-group,shell,"
	    "whitelist-environment,command,session-command,", 0, 0 },
	{ "sudo", PE_SUDO, "CDghprRtTUu", ",close-from,chdir,group,host,"
	    "prompt,chroot,role,type,command-timeout,other-user,user,", 0, 0 },
	{ "taskset", PE_PLAIN, "", ",", 1, 0 },
	{ "time", PE_PLAIN, "fo", ",format,output,", 0, 0 },
	{ "timeout", PE_PLAIN, "sk", ",signal,kill-after,", 1, 0 },
	{ "toybox", PE_MULTI, "", ",", 0, 0 },
	{ "trap", PE_TRAP, "", ",", 0, 1 },
	{ "unbuffer", PE_PLAIN, "", ",", 0, 0 },
	{ "unshare", PE_PLAIN, "S", ",setuid,setgid,root,wd,", 0, 0 },
	{ "watch", PE_WATCH, "nd", ",interval,", 0, 0 },
	{ "xargs", PE_PLAIN, "adEILnPs", ",arg-file,delimiter,max-lines,"
	    "max-args,max-procs,max-chars,process-slot-var,", 0, 0 },
	{ "yash", PE_SH, "o", ",", 0, 0 },
	{ "zsh", PE_SH, "o", ",", 0, 0 },
};

/*
 * Shell builtins an allowlisted shell string may use without listing them:
 * they run nothing else (eval, exec, command, trap are wrappers above).
 */
static const char *pe_builtins[] = {
	":", "[", "alias", "break", "cd", "continue", "declare", "echo",
	"exit", "export", "false", "getopts", "hash", "let", "local", "printf",
	"pwd", "read", "readonly", "return", "set", "shift", "test", "true",
	"type", "typeset", "ulimit", "umask", "unalias", "unset", "wait"
};

static int	pe_command(struct pe *, int, char **, const int *, int);
static int	pe_script(struct pe *, const char *, const char *);

static const char *
pe_basename(const char *name)
{
	const char	*p = strrchr(name, '/');

	return (p != NULL && p[1] != '\0' ? p + 1 : name);
}

/* A list entry matching the name given or the file it resolves to. */
static const char *
pe_listed(const struct strlist *l, const char *base, const char *real,
    int nocase)
{
	u_int	 i;

	if (l == NULL || base == NULL)
		return (NULL);
	for (i = 0; i < l->n; i++) {
		if (strchr(l->v[i], '/') != NULL) {
			if (real != NULL && strcmp(l->v[i], real) == 0)
				return (l->v[i]);
		} else if (nocase ? strcasecmp(l->v[i], base) == 0 :
		    strcmp(l->v[i], base) == 0)
			return (l->v[i]);
	}
	return (NULL);
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

/*
 * Walk a wrapper's options from argv[1]; returns the index of the first
 * positional.  *cstr is set to the value of its shell-string option
 * (-c for su, script, flock), *split to env -S's, *path to env -P's.
 */
static int
pe_options(const struct pe_wrapper *w, int argc, char **argv,
    const char **cstr, const char **split, const char **path, int *shell)
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
					*cstr = argv[++i];
				else if (v != NULL)
					*cstr = v + 1;
				continue;
			}
			if (strncmp(a + 2, "split-string", 12) == 0 &&
			    w->kind == PE_ENV) {
				*split = v != NULL ? v + 1 : (i + 1 < argc ?
				    argv[++i] : NULL);
				continue;
			}
			if (strcmp(a + 2, "shell") == 0 ||
			    strcmp(a + 2, "login") == 0)
				*shell = 1;
			if (pe_long_takes(w, a + 2))
				i++;
			continue;
		}
		for (j = 1; a[j] != '\0'; j++) {
			if (w->kind == PE_SUDO && (a[j] == 's' || a[j] == 'i'))
				*shell = 1;
			if (strchr(w->vals, a[j]) == NULL)
				continue;
			v = a[j + 1] != '\0' ? a + j + 1 :
			    (i + 1 < argc ? argv[++i] : NULL);
			if (a[j] == 'c' && w->kind == PE_CSTR)
				*cstr = v;
			else if (a[j] == 'S' && w->kind == PE_ENV)
				*split = v;
			else if (a[j] == 'P' && w->kind == PE_ENV)
				*path = v;
			break;
		}
	}
	return (i);
}

/* Check argv[from..argc) as a command reached through label. */
static int
pe_nested(struct pe *pe, const char *label, int argc, char **argv,
    const int *dyn, int flags)
{
	int	 rc;

	if (argc <= 0)
		return (0);
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
    const int *dyn, int flags)
{
	const char	*cstr = NULL, *split = NULL, *path = NULL, *eq;
	char		*old = pe->path, **sargv = NULL, **nargv, *cause;
	int		 i, shell = 0, sargc = 0, rc, k;

	i = pe_options(w, argc, argv, &cstr, &split, &path, &shell);
	if (path != NULL)
		pe->path = xstrdup(path);
	for (; i < argc && (eq = strchr(argv[i], '=')) != NULL; i++) {
		if (strncmp(argv[i], "PATH=", 5) == 0 && path == NULL) {
			if (pe->path != old)
				free(pe->path);
			pe->path = xstrdup(eq + 1);
		}
	}
	if (split != NULL) {
		if (cmd_split(split, &sargc, &sargv, &cause) != 0) {
			free(cause);
			rc = pe_refuse(pe, "cannot check", "env -S string");
			goto out;
		}
		nargv = xcalloc(sargc + argc - i + 1, sizeof *nargv);
		for (k = 0; k < sargc; k++)
			nargv[k] = sargv[k];
		for (k = i; k < argc; k++)
			nargv[sargc + k - i] = argv[k];
		rc = pe_nested(pe, "env -S", sargc + argc - i, nargv, NULL,
		    flags);
		free(nargv);
		for (k = 0; k < sargc; k++)
			free(sargv[k]);
		free(sargv);
	} else
		rc = pe_nested(pe, "env", argc - i, argv + i,
		    dyn != NULL ? dyn + i : NULL, flags);
out:
	if (pe->path != old) {
		free(pe->path);
		pe->path = old;
	}
	return (rc);
}

/* sh [options] -c string [name args], or sh [options] script [args]. */
static int
pe_wrap_sh(struct pe *pe, const struct pe_wrapper *w, int argc, char **argv,
    const char *shell)
{
	const char	*a;
	char		 label[40], what[PATH_MAX + 64];
	int		 i, cmode = 0;

	for (i = 1; i < argc; i++) {
		a = argv[i];
		if (strcmp(a, "--") == 0 || strcmp(a, "-") == 0) {
			i++;
			break;
		}
		if ((a[0] != '-' && a[0] != '+') || a[1] == '\0')
			break;
		if (a[1] == '-') {
			if (pe_long_takes(w, a + 2))
				i++;
			continue;
		}
		if (strchr(a + 1, 'c') != NULL)
			cmode = 1;
		if (strchr(a + 1, 'o') != NULL || strchr(a + 1, 'O') != NULL)
			i++;
	}
	if (cmode) {
		if (i >= argc)
			return (0);
		snprintf(label, sizeof label, "%s -c", shell);
		return (pe_nested_script(pe, label, argv[i]));
	}
	if (i >= argc || pe->p->allowlist == NULL)
		return (0);	/* reads stdin (/dev/null), or a script */
	snprintf(what, sizeof what, "%s %s (a script file cannot be checked; "
	    "use %s -c)", shell, argv[i], shell);
	return (pe_notlisted(pe, what));
}

/* find ... -exec prog args ; (also -execdir, -ok, -okdir). */
static int
pe_wrap_find(struct pe *pe, int argc, char **argv)
{
	int	 i, j;

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
		if (pe_nested(pe, "find -exec", j - i - 1, argv + i + 1, NULL,
		    0) != 0)
			return (-1);
		i = j;
	}
	return (0);
}

static int
pe_wrapper(struct pe *pe, const struct pe_wrapper *w, int argc, char **argv,
    const int *dyn, int flags, const char *given)
{
	const char	*cstr = NULL, *split = NULL, *path = NULL;
	char		*s, label[40];
	int		 i, shell = 0, rc, k;

	switch (w->kind) {
	case PE_ENV:
		return (pe_wrap_env(pe, w, argc, argv, dyn, flags));
	case PE_SH:
		return (pe_wrap_sh(pe, w, argc, argv, given));
	case PE_FIND:
		return (pe_wrap_find(pe, argc, argv));
	case PE_MULTI:
		if (argc < 2 || argv[1][0] == '-')
			return (0);
		return (pe_nested(pe, w->name, argc - 1, argv + 1,
		    dyn != NULL ? dyn + 1 : NULL, PE_APPLET));
	case PE_EVAL:
		s = pe_join(argc - 1, argv + 1);
		rc = pe_nested_script(pe, "eval", s);
		free(s);
		return (rc);
	case PE_TRAP:
		if (argc < 2 || argv[1][0] == '-')
			return (0);
		return (pe_nested_script(pe, "trap", argv[1]));
	case PE_WATCH:
		for (i = 1; i < argc; i++) {
			if (strcmp(argv[i], "-x") == 0 ||
			    strcmp(argv[i], "--exec") == 0)
				break;
		}
		if (i == argc) {
			i = pe_options(w, argc, argv, &cstr, &split, &path,
			    &shell);
			s = pe_join(argc - i, argv + i);
			rc = pe_nested_script(pe, "watch", s);
			free(s);
			return (rc);
		}
		break;
	default:
		break;
	}
	i = pe_options(w, argc, argv, &cstr, &split, &path, &shell);
	if (cstr != NULL) {
		snprintf(label, sizeof label, "%s -c", w->name);
		return (pe_nested_script(pe, label, cstr));
	}
	for (k = 0; k < w->skip && i < argc; k++)
		i++;
	if (w->kind == PE_SUDO) {
		while (i < argc && strchr(argv[i], '=') != NULL &&
		    pe_valid_name(argv[i], strcspn(argv[i], "=")))
			i++;
		if (shell) {
			if (i >= argc)
				return (0);
			snprintf(label, sizeof label, "%s -s", w->name);
			s = pe_join(argc - i, argv + i);
			rc = pe_nested_script(pe, label, s);
			free(s);
			return (rc);
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
	return (pe_nested(pe, w->name, argc - i, argv + i,
	    dyn != NULL ? dyn + i : NULL, w->builtin ? flags & PE_SHELL : 0));
}

/*
 * A program name a shell computes when it runs: with an allowlist it is
 * refused; with a denylist every literal word of the string is tried as a
 * name, so "$(which rm)" and "x=rm; $x" are still caught.
 */
static int
pe_dynamic(struct pe *pe, const char *name, int what)
{
	const struct strlist	*deny = pe->p->denylist;
	const char		*m;
	glob_t			 g;
	char			*pat, *one[2];
	size_t			 i;
	int			 rc = 0;

	if (what == PE_GLOB) {
		if (*name != '/' && pe->p->cwd != NULL)
			xasprintf(&pat, "%s/%s", pe->p->cwd, name);
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
	for (i = 0; i < pe->nwords; i++) {
		m = pe_listed(deny, pe_basename(pe->words[i]), NULL, 1);
		if (m != NULL)
			return (pe_deny(pe, m));
	}
	return (0);
}

/* An allowlist refusal: the name, and the file if it is another. */
static int
pe_notlisted_file(struct pe *pe, const char *given, const char *real)
{
	char	*what;
	int	 rc;

	if (real == NULL || strcmp(pe_basename(real), given) == 0)
		return (pe_notlisted(pe, given));
	xasprintf(&what, "%s (which is %s)", given, real);
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

/* A shell builtin that runs other commands (eval, exec, command, trap). */
static const struct pe_wrapper *
pe_builtin_wrapper(const char *name, int flags)
{
	const struct pe_wrapper	*w;

	if (!(flags & PE_SHELL) || (w = pe_wrapper_find(name)) == NULL ||
	    !w->builtin)
		return (NULL);
	return (w);
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
	const char			*given, *rbase = NULL, *m, *key;
	char				*file = NULL, *real = NULL;
	int				 rc = 0;

	if (argc <= 0)
		return (0);
	if (dyn != NULL && dyn[0] != 0)
		return (pe_dynamic(pe, argv[0], dyn[0]));
	given = pe_basename(argv[0]);
	bw = pe_builtin_wrapper(given, flags);
	if (!(flags & PE_APPLET) && bw == NULL &&
	    (file = policy_exec_resolve(argv[0], pe->path, p->cwd)) != NULL &&
	    (real = realpath(file, NULL)) != NULL)
		rbase = pe_basename(real);

	if ((m = pe_listed(p->denylist, given, real, 1)) != NULL ||
	    (m = pe_listed(p->denylist, rbase, real, 1)) != NULL) {
		rc = pe_deny(pe, m);
		goto out;
	}
	/*
	 * The allowlist names the file that runs (sh may be dash); a
	 * multi-call binary runs what argv[0] names, so that must be listed.
	 */
	if (p->allowlist != NULL && bw == NULL &&
	    !((flags & PE_SHELL) && pe_is_builtin(given))) {
		if ((rbase == NULL || pe_multicall(rbase)) &&
		    pe_listed(p->allowlist, given, real, 0) == NULL) {
			rc = pe_notlisted(pe, given);
			goto out;
		}
		if (rbase != NULL &&
		    pe_listed(p->allowlist, rbase, real, 0) == NULL) {
			rc = pe_notlisted_file(pe, given, real);
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
	if (rbase != NULL && !pe_multicall(rbase))
		key = rbase;
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
 * May argv run in cwd?  Returns POLICY_EXEC_OK with *file set to the program
 * to execute, or POLICY_EXEC_DENIED / POLICY_EXEC_NOT_FOUND with *cause.
 */
int
policy_exec_check(const struct policy_exec *p, int argc, char **argv,
    char **file, char **cause)
{
	struct pe	 pe;
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
	rc = pe_command(&pe, argc, argv, NULL, 0);
	if (rc == POLICY_EXEC_NOT_FOUND)
		xasprintf(cause, "command not found: %s", argv[0]);
	else if (rc != 0) {
		*cause = pe.cause;
		pe.cause = NULL;
		rc = POLICY_EXEC_DENIED;
	} else
		*file = policy_exec_resolve(argv[0], pe.path, p->cwd);
	for (i = 0; i < pe.nwords; i++)
		free(pe.words[i]);
	free(pe.words);
	free(pe.cause);
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
	int		 quoted;	/* some of the word was quoted */
	int		 assign;	/* NAME= seen at the word's start */
	char		**argv;		/* the simple command so far */
	int		*dyn;
	int		 argc;
	int		 redirect;	/* the next word is a redirection's */
	int		 skip;		/* for/case/select: no command here */
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

static void
pe_sh_end_word(struct pe_sh *sh)
{
	char	*w;

	if (!sh->inword)
		return;
	buf_add(&sh->word, "", 1);
	w = sh->word.data;
	sh->pe->words = xreallocarray(sh->pe->words, sh->pe->nwords + 1,
	    sizeof *sh->pe->words);
	sh->pe->words[sh->pe->nwords++] = xstrdup(sh->assign ?
	    strchr(w, '=') + 1 : w);
	if (sh->redirect)
		sh->redirect = 0;
	else if (sh->skip) {
		if (sh->skip == 2 && strcmp(w, "in") == 0)
			sh->skip = 0;	/* case x in: patterns follow */
	} else if (sh->argc == 0 && sh->assign)
		;	/* NAME=value before the command */
	else if (sh->argc == 0 && !sh->quoted && sh->wflags == 0 &&
	    pe_sh_reserved(w))
		;
	else if (sh->argc == 0 && !sh->quoted && (strcmp(w, "for") == 0 ||
	    strcmp(w, "select") == 0 || strcmp(w, "function") == 0))
		sh->skip = 1;
	else if (sh->argc == 0 && !sh->quoted && strcmp(w, "case") == 0)
		sh->skip = 2;
	else {
		sh->argv = xreallocarray(sh->argv, sh->argc + 2,
		    sizeof *sh->argv);
		sh->dyn = xreallocarray(sh->dyn, sh->argc + 2,
		    sizeof *sh->dyn);
		sh->dyn[sh->argc] = sh->wflags;
		sh->argv[sh->argc++] = xstrdup(w);
	}
	buf_reset(&sh->word);
	sh->inword = sh->wflags = sh->quoted = sh->assign = 0;
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

/* $..., at s[i] == '$'; returns the index of the last character used. */
static size_t
pe_sh_dollar(struct pe_sh *sh, const char *s, size_t i)
{
	size_t	 end, j;
	char	*inner, *bt;

	sh->wflags |= PE_DYN;
	sh->inword = 1;
	if (s[i + 1] == '(' && s[i + 2] == '(') {
		end = pe_sh_match(s, i + 3, '(', ')');
		if (s[end] == '\0')
			return (end - 1);
		return (s[end + 1] == ')' ? end + 1 : end);
	}
	if (s[i + 1] == '(') {
		end = pe_sh_match(s, i + 2, '(', ')');
		pe_sh_sub(sh, s + i + 2, end - i - 2);
		return (s[end] == '\0' ? end - 1 : end);
	}
	if (s[i + 1] == '{') {
		end = pe_sh_match(s, i + 2, '{', '}');
		/* ${x:-$(cmd)}: substitutions inside count. */
		inner = xstrndup(s + i + 2, end - i - 2);
		for (j = 0; inner[j] != '\0'; j++) {
			if (inner[j] == '$')
				j = pe_sh_dollar(sh, inner, j);
			else if (inner[j] == '`' &&
			    (bt = strchr(inner + j + 1, '`')) != NULL) {
				pe_sh_sub(sh, inner + j + 1,
				    bt - inner - j - 1);
				j = bt - inner;
			}
		}
		free(inner);
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
	return (i + 1);		/* $1 $@ $? $$ ... */
}

/* A backquoted substitution at s[i] == '`'; \` \\ \$ are unescaped. */
static size_t
pe_sh_backquote(struct pe_sh *sh, const char *s, size_t i)
{
	struct buf	 b;
	size_t		 j;

	sh->wflags |= PE_DYN;
	sh->inword = 1;
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
			sh->wflags |= PE_DYN;	/* \u, \c: not decoded */
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
	size_t		 i, end;
	char		 c, q;

	memset(&sh, 0, sizeof sh);
	sh.pe = pe;
	sh.label = label;
	buf_init(&sh.word);
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
			sh.inword = 1;
			sh.wflags |= PE_DYN;
			i = s[end] == '\0' ? end - 1 : end;
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
		    sh.argc == 0 && pe_valid_name(sh.word.data, sh.word.len))
			sh.assign = 1;
		if (strchr("*?[", c) != NULL)
			sh.wflags |= PE_GLOB;
		if (c == '{' && strchr(s + i, ',') != NULL && sh.inword)
			sh.wflags |= PE_DYN;
		sh.inword = 1;
		buf_add(&sh.word, &c, 1);
	}
	pe_sh_end_word(&sh);
	pe_sh_end_command(&sh);
	free(sh.argv);
	free(sh.dyn);
	buf_free(&sh.word);
	return (sh.rc);
}

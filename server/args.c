/*
 * server/args.c: parse a command's argv with tmux-style short flags ("ds:c:")
 * and --long options ("json,timeout:").  Options stop at the first argument
 * that is not one, or at "--", so "new -d vim -x" runs "vim -x".
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

static void
args_add(struct args *a, char flag, const char *name, const char *value)
{
	struct args_entry	*e;

	a->entries = xreallocarray(a->entries, a->nentries + 1, sizeof *e);
	e = &a->entries[a->nentries++];
	e->flag = flag;
	e->name = name != NULL ? xstrdup(name) : NULL;
	e->value = value != NULL ? xstrdup(value) : NULL;
}

/* Is name a long option of longs; *takes set if it wants a value. */
static int
args_long_known(const char *longs, const char *name, size_t len, int *takes)
{
	const char	*p = longs, *end;
	size_t		 n;

	while (p != NULL && *p != '\0') {
		end = strchr(p, ',');
		n = end != NULL ? (size_t)(end - p) : strlen(p);
		*takes = (n > 0 && p[n - 1] == ':');
		if ((*takes ? n - 1 : n) == len && strncmp(p, name, len) == 0)
			return (1);
		p = end != NULL ? end + 1 : NULL;
	}
	return (0);
}

static int
args_parse_long(struct args *a, const char *longs, int argc, char **argv,
    int *i, char **cause)
{
	const char	*name = argv[*i] + 2, *eq, *value = NULL;
	size_t		 len;
	int		 takes;

	eq = strchr(name, '=');
	len = eq != NULL ? (size_t)(eq - name) : strlen(name);
	if (!args_long_known(longs, name, len, &takes)) {
		xasprintf(cause, "unknown option --%.*s", (int)len, name);
		return (-1);
	}
	if (takes) {
		if (eq != NULL)
			value = eq + 1;
		else if (*i + 1 < argc)
			value = argv[++*i];
		else {
			xasprintf(cause, "option --%.*s needs a value",
			    (int)len, name);
			return (-1);
		}
	} else if (eq != NULL) {
		xasprintf(cause, "option --%.*s takes no value", (int)len,
		    name);
		return (-1);
	}
	len = eq != NULL ? (size_t)(eq - name) : strlen(name);
	{
		char	*n = xstrndup(name, len);

		args_add(a, 0, n, value);
		free(n);
	}
	return (0);
}

static int
args_parse_short(struct args *a, const char *flags, int argc, char **argv,
    int *i, char **cause)
{
	const char	*p = argv[*i] + 1, *f;

	for (; *p != '\0'; p++) {
		if (*p == ':' || (f = strchr(flags, *p)) == NULL) {
			xasprintf(cause, "unknown flag -%c", *p);
			return (-1);
		}
		if (f[1] != ':') {
			args_add(a, *p, NULL, NULL);
			continue;
		}
		if (p[1] != '\0') {
			args_add(a, *p, NULL, p + 1);
			return (0);
		}
		if (*i + 1 >= argc) {
			xasprintf(cause, "flag -%c needs a value", *p);
			return (-1);
		}
		args_add(a, *p, NULL, argv[++*i]);
		return (0);
	}
	return (0);
}

struct args *
args_parse(const char *flags, const char *longs, int argc, char **argv,
    char **cause)
{
	struct args	*a;
	int		 i, rc;

	a = xcalloc(1, sizeof *a);
	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			a->ended = 1;
			i++;
			break;
		}
		if (argv[i][0] != '-' || argv[i][1] == '\0')
			break;
		if (argv[i][1] == '-')
			rc = args_parse_long(a, longs, argc, argv, &i, cause);
		else
			rc = args_parse_short(a, flags, argc, argv, &i, cause);
		if (rc != 0) {
			args_free(a);
			return (NULL);
		}
	}
	a->argc = argc - i;
	a->argv = xcalloc(a->argc + 1, sizeof *a->argv);
	for (rc = 0; rc < a->argc; rc++)
		a->argv[rc] = xstrdup(argv[i + rc]);
	return (a);
}

void
args_free(struct args *a)
{
	u_int	 i;
	int	 j;

	if (a == NULL)
		return;
	for (i = 0; i < a->nentries; i++) {
		free(a->entries[i].name);
		free(a->entries[i].value);
	}
	free(a->entries);
	for (j = 0; j < a->argc; j++)
		free(a->argv[j]);
	free(a->argv);
	free(a);
}

static struct args_entry *
args_find(struct args *a, char flag, const char *name)
{
	u_int	 i;

	for (i = a->nentries; i > 0; i--) {
		struct args_entry *e = &a->entries[i - 1];

		if (name == NULL && e->flag == flag)
			return (e);
		if (name != NULL && e->name != NULL && strcmp(e->name, name) == 0)
			return (e);
	}
	return (NULL);
}

int
args_has(struct args *a, char flag)
{
	return (args_find(a, flag, NULL) != NULL);
}

const char *
args_get(struct args *a, char flag)
{
	struct args_entry	*e = args_find(a, flag, NULL);

	return (e != NULL ? e->value : NULL);
}

int
args_has_long(struct args *a, const char *name)
{
	return (args_find(a, 0, name) != NULL);
}

const char *
args_get_long(struct args *a, const char *name)
{
	struct args_entry	*e = args_find(a, 0, name);

	return (e != NULL ? e->value : NULL);
}

const char *
args_next(struct args *a, char flag, u_int *iter)
{
	for (; *iter < a->nentries; (*iter)++) {
		if (a->entries[*iter].flag == flag)
			return (a->entries[(*iter)++].value);
	}
	return (NULL);
}

long long
args_number(struct args *a, char flag, long long dflt, long long min,
    long long max, char **cause)
{
	const char	*s = args_get(a, flag);
	char		*end;
	long long	 v;

	*cause = NULL;
	if (s == NULL)
		return (dflt);
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || v < min || v > max) {
		xasprintf(cause, "-%c %s: not a number from %lld to %lld",
		    flag, s, min, max);
		return (dflt);
	}
	return (v);
}

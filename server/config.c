/*
 * server/config.c: read ~/.loopsy/config.yaml with libyaml.  Every key of
 * the file is in one schema table with its type and where it goes in struct
 * config; a bad value or an unknown key fails with "file:line:column: what
 * is wrong".  It also writes the default file for loopsy init.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <yaml.h>

#include "server.h"

struct config	 config;

enum config_type {
	CONFIG_INT,		/* non-negative integer (u_int) */
	CONFIG_STRING,		/* string or null (char *) */
	CONFIG_BOOL,		/* int */
	CONFIG_LIST,		/* sequence of strings, or null (struct strlist) */
	CONFIG_MAP,		/* mapping of string to string */
	CONFIG_SIZE_POLICY,	/* latest | smallest | largest */
	CONFIG_KEY,		/* a key name such as C-b */
	CONFIG_BINDINGS,	/* key name -> command */
};

struct config_key {
	const char	*section;
	const char	*name;
	enum config_type type;
	size_t		 off;		/* where it goes in struct config */
	int		 (*set)(struct config *, yaml_node_t *, char **);
};

static int	config_set_port(struct config *, yaml_node_t *, char **);
static int	config_set_history_limit(struct config *, yaml_node_t *, char **);
static int	config_set_shell(struct config *, yaml_node_t *, char **);
static int	config_set_window_size(struct config *, yaml_node_t *, char **);
static int	config_set_prefix(struct config *, yaml_node_t *, char **);
static int	config_set_bindings(struct config *, yaml_node_t *, char **);
static int	config_set_allowed_keys(struct config *, yaml_node_t *, char **);
static int	config_set_allowlist(struct config *, yaml_node_t *, char **);
static int	config_set_phone_commands(struct config *, yaml_node_t *,
		    char **);

#define OFF(f) offsetof(struct config, f)
static const struct config_key config_keys[] = {
	{ "server", "port", CONFIG_INT, OFF(server_port), config_set_port },
	{ "server", "host", CONFIG_STRING, OFF(server_host), NULL },
	{ "auth", "apiKey", CONFIG_STRING, OFF(api_key), NULL },
	{ "auth", "allowedKeys", CONFIG_MAP, 0, config_set_allowed_keys },
	{ "relay", "url", CONFIG_STRING, OFF(relay_url), NULL },
	{ "execution", "denylist", CONFIG_LIST, OFF(denylist), NULL },
	{ "execution", "allowlist", CONFIG_LIST, OFF(allowlist),
	    config_set_allowlist },
	{ "execution", "maxConcurrent", CONFIG_INT, OFF(max_concurrent), NULL },
	{ "execution", "timeout", CONFIG_INT, OFF(exec_timeout), NULL },
	{ "execution", "maxOutput", CONFIG_INT, OFF(max_output), NULL },
	{ "transfer", "allowedPaths", CONFIG_LIST, OFF(allowed_paths), NULL },
	{ "transfer", "deniedPaths", CONFIG_LIST, OFF(denied_paths), NULL },
	{ "transfer", "maxFileSize", CONFIG_INT, OFF(max_file_size), NULL },
	{ "rateLimits", "execute", CONFIG_INT, OFF(rate_execute), NULL },
	{ "rateLimits", "transfer", CONFIG_INT, OFF(rate_transfer), NULL },
	{ "rateLimits", "context", CONFIG_INT, OFF(rate_context), NULL },
	{ "context", "maxEntries", CONFIG_INT, OFF(context_max_entries), NULL },
	{ "context", "maxBytes", CONFIG_INT, OFF(context_max_bytes), NULL },
	{ "sessions", "historyLimit", CONFIG_INT, OFF(history_limit),
	    config_set_history_limit },
	{ "sessions", "historyBudget", CONFIG_INT, OFF(history_budget), NULL },
	{ "sessions", "shell", CONFIG_STRING, OFF(shell), config_set_shell },
	{ "sessions", "windowSize", CONFIG_SIZE_POLICY, 0,
	    config_set_window_size },
	{ "keys", "prefix", CONFIG_KEY, 0, config_set_prefix },
	{ "keys", "bindings", CONFIG_BINDINGS, 0, config_set_bindings },
	{ "status", "enabled", CONFIG_BOOL, OFF(status), NULL },
	{ "discovery", "enabled", CONFIG_BOOL, OFF(discovery), NULL },
	{ "phone", "commands", CONFIG_MAP, 0, config_set_phone_commands },
};

static const char	*config_file;	/* for error messages */

#define CONFIG_KEY_MIN	16	/* characters in an auth.allowedKeys key */
#define CONFIG_SIZE_MAX	(1024 * 1024)	/* bytes of config.yaml */

static void
config_list_set(struct strlist *l, const char *const *v)
{
	for (; *v != NULL; v++) {
		l->v = xreallocarray(l->v, l->n + 1, sizeof *l->v);
		l->v[l->n++] = xstrdup(*v);
	}
}

static void
config_list_clear(struct strlist *l)
{
	while (l->n > 0)
		free(l->v[--l->n]);
	free(l->v);
	l->v = NULL;
}

void
config_defaults(struct config *c)
{
	static const char *const deny[] = { "rm", "rmdir", "format", "mkfs",
	    "dd", "shutdown", "reboot", NULL };
	static const char *const allowed[] = { "~", NULL };
	static const char *const denied[] = { "~/.ssh", "~/.gnupg",
	    "~/.loopsy", NULL };

	memset(c, 0, sizeof *c);
	c->server_host = xstrdup("127.0.0.1");
	c->server_port = 19532;
	config_list_set(&c->denylist, deny);
	c->max_concurrent = 10;
	c->exec_timeout = 300;
	c->max_output = 16777216;
	config_list_set(&c->allowed_paths, allowed);
	config_list_set(&c->denied_paths, denied);
	c->rate_execute = 30;
	c->rate_transfer = 10;
	c->rate_context = 60;
	c->context_max_entries = CONTEXT_MAX_ENTRIES;
	c->context_max_bytes = CONTEXT_MAX_BYTES;
	c->history_limit = 10000;
	c->history_budget = 268435456;
	c->size_policy = SIZE_LATEST;
	c->prefix = 'b' | KEYC_CTRL;
	c->status = 1;
	c->discovery = 1;
}

void
config_clear(struct config *c)
{
	u_int	 i;

	free(c->server_host);
	free(c->api_key);
	for (i = 0; i < c->nallowed_keys; i++) {
		free(c->allowed_keys[i].name);
		free(c->allowed_keys[i].value);
	}
	free(c->allowed_keys);
	free(c->relay_url);
	for (i = 0; i < c->nphone_commands; i++) {
		free(c->phone_commands[i].name);
		free(c->phone_commands[i].value);
	}
	free(c->phone_commands);
	config_list_clear(&c->denylist);
	config_list_clear(&c->allowlist);
	config_list_clear(&c->allowed_paths);
	config_list_clear(&c->denied_paths);
	free(c->shell);
	for (i = 0; i < c->nbindings; i++)
		free(c->bindings[i].command);
	free(c->bindings);
	memset(c, 0, sizeof *c);
}

/* The file loopsy init writes: every key with its default. */
char *
config_default_text(const char *api_key)
{
	char	*s;

	xasprintf(&s,
	    "# loopsy configuration; see loopsy(1).  Unknown keys are errors.\n"
	    "server:    { port: 19532, host: 127.0.0.1 }\n"
	    "auth:      { apiKey: %s, allowedKeys: {} }\n"
	    "relay:     { url: null }\n"
	    "execution: { denylist: [rm, rmdir, format, mkfs, dd, shutdown, "
	    "reboot], allowlist: null,\n"
	    "             maxConcurrent: 10, timeout: 300, maxOutput: 16777216 }\n"
	    "transfer:  { allowedPaths: [\"~\"], deniedPaths: [~/.ssh, ~/.gnupg, "
	    "~/.loopsy], maxFileSize: 0 }\n"
	    "rateLimits: { execute: 30, transfer: 10, context: 60 }\n"
	    "context:   { maxEntries: 10000, maxBytes: 67108864 }\n"
	    "sessions:  { historyLimit: 10000, historyBudget: 268435456, "
	    "shell: null, windowSize: latest }\n"
	    "keys:      { prefix: C-b, bindings: {} }\n"
	    "status:    { enabled: true }\n"
	    "discovery: { enabled: true }\n"
	    "phone:     { commands: {} }\n", api_key);
	return (s);
}

char *
config_path(void)
{
	return (loopsy_path("config.yaml"));
}

static int
config_error(char **cause, yaml_node_t *n, const char *fmt, ...)
{
	char	*msg;
	va_list	 ap;

	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	xasprintf(cause, "%s:%zu:%zu: %s", config_file,
	    n->start_mark.line + 1, n->start_mark.column + 1, msg);
	free(msg);
	return (-1);
}

static int
config_is_null(yaml_node_t *n)
{
	const char	*v = (const char *)n->data.scalar.value;

	return (n->type == YAML_SCALAR_NODE &&
	    n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	    (strcmp(v, "null") == 0 || strcmp(v, "~") == 0 || *v == '\0'));
}

static const char *
config_scalar(yaml_node_t *n)
{
	return ((const char *)n->data.scalar.value);
}

static int
config_int(yaml_node_t *n, long long *out)
{
	char	*end;

	if (n->type != YAML_SCALAR_NODE)
		return (-1);
	errno = 0;
	*out = strtoll(config_scalar(n), &end, 10);
	if (*config_scalar(n) == '\0' || *end != '\0' || errno != 0 ||
	    *out < 0 || *out > UINT_MAX)
		return (-1);
	return (0);
}

static int
config_check_type(yaml_document_t *doc, const struct config_key *k,
    yaml_node_t *n, char **cause)
{
	const char	*v;
	long long	 i;
	yaml_node_item_t *it;
	yaml_node_pair_t *p;

	switch (k->type) {
	case CONFIG_INT:
		if (config_int(n, &i) != 0)
			return (config_error(cause, n, "%s.%s must be a "
			    "non-negative integer", k->section, k->name));
		return (0);
	case CONFIG_STRING:
	case CONFIG_KEY:
	case CONFIG_SIZE_POLICY:
		if (n->type != YAML_SCALAR_NODE)
			return (config_error(cause, n, "%s.%s must be a "
			    "string", k->section, k->name));
		return (0);
	case CONFIG_BOOL:
		v = n->type == YAML_SCALAR_NODE ? config_scalar(n) : "";
		if (strcmp(v, "true") != 0 && strcmp(v, "false") != 0)
			return (config_error(cause, n, "%s.%s must be true or "
			    "false", k->section, k->name));
		return (0);
	case CONFIG_LIST:
		if (config_is_null(n))
			return (0);
		if (n->type != YAML_SEQUENCE_NODE)
			return (config_error(cause, n, "%s.%s must be a list",
			    k->section, k->name));
		for (it = n->data.sequence.items.start;
		    it < n->data.sequence.items.top; it++) {
			yaml_node_t *e = yaml_document_get_node(doc, *it);

			if (e->type != YAML_SCALAR_NODE)
				return (config_error(cause, e, "%s.%s must be "
				    "a list of strings", k->section, k->name));
		}
		return (0);
	case CONFIG_MAP:
	case CONFIG_BINDINGS:
		if (config_is_null(n))
			return (0);
		if (n->type != YAML_MAPPING_NODE)
			return (config_error(cause, n, "%s.%s must be a "
			    "mapping", k->section, k->name));
		for (p = n->data.mapping.pairs.start;
		    p < n->data.mapping.pairs.top; p++) {
			yaml_node_t *e = yaml_document_get_node(doc, p->value);

			if (e->type != YAML_SCALAR_NODE)
				return (config_error(cause, e, "%s.%s values "
				    "must be strings", k->section, k->name));
		}
		return (0);
	}
	return (0);
}

/* Store a checked value where its table entry says. */
static void
config_apply(yaml_document_t *doc, const struct config_key *k, yaml_node_t *n,
    struct config *c)
{
	void			*p = (char *)c + k->off;
	long long		 v;
	yaml_node_item_t	*it;
	struct strlist		*l;
	char			**str;

	switch (k->type) {
	case CONFIG_INT:
		config_int(n, &v);
		*(u_int *)p = v;
		break;
	case CONFIG_STRING:
		str = p;
		free(*str);
		*str = config_is_null(n) ? NULL : xstrdup(config_scalar(n));
		break;
	case CONFIG_BOOL:
		*(int *)p = strcmp(config_scalar(n), "true") == 0;
		break;
	case CONFIG_LIST:
		l = p;
		config_list_clear(l);
		if (config_is_null(n))
			break;
		for (it = n->data.sequence.items.start;
		    it < n->data.sequence.items.top; it++) {
			l->v = xreallocarray(l->v, l->n + 1, sizeof *l->v);
			l->v[l->n++] = xstrdup(config_scalar(
			    yaml_document_get_node(doc, *it)));
		}
		break;
	default:
		break;
	}
}

static yaml_document_t	*config_doc;

static int
config_set_allowlist(struct config *c, yaml_node_t *n, char **cause __unused)
{
	static const struct config_key	 k = { "execution", "allowlist",
	    CONFIG_LIST, OFF(allowlist), NULL };

	c->allowlist_set = !config_is_null(n);
	config_apply(config_doc, &k, n, c);
	return (0);
}

static int
config_set_allowed_keys(struct config *c, yaml_node_t *n, char **cause)
{
	yaml_node_pair_t	*p;
	yaml_node_t		*k, *v;
	const char		*name;
	u_int			 i;

	if (config_is_null(n))
		return (0);
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	    p++) {
		k = yaml_document_get_node(config_doc, p->key);
		v = yaml_document_get_node(config_doc, p->value);
		if (k->type != YAML_SCALAR_NODE || *config_scalar(k) == '\0')
			return (config_error(cause, k, "auth.allowedKeys: peer "
			    "names must be non-empty strings"));
		name = config_scalar(k);
		for (i = 0; i < c->nallowed_keys; i++) {
			if (strcmp(c->allowed_keys[i].name, name) == 0)
				return (config_error(cause, k, "auth.allowedKeys."
				    "%s is given twice", name));
		}
		/* "null", "~" or nothing is no key, not a key of that text. */
		if (config_is_null(v))
			return (config_error(cause, v, "auth.allowedKeys.%s has "
			    "no key", name));
		if (strlen(config_scalar(v)) < CONFIG_KEY_MIN)
			return (config_error(cause, v, "auth.allowedKeys.%s is "
			    "shorter than %d characters (loopsy key generate "
			    "makes keys of 64)", name, CONFIG_KEY_MIN));
		c->allowed_keys = xreallocarray(c->allowed_keys,
		    c->nallowed_keys + 1, sizeof *c->allowed_keys);
		c->allowed_keys[c->nallowed_keys].name =
		    xstrdup(config_scalar(k));
		c->allowed_keys[c->nallowed_keys++].value =
		    xstrdup(config_scalar(v));
	}
	return (0);
}

/* phone.commands: NAME -> command line, what a phone may launch by name. */
static int
config_set_phone_commands(struct config *c, yaml_node_t *n, char **cause)
{
	yaml_node_pair_t	*p;
	yaml_node_t		*k, *v;
	const char		*name, *s;
	u_int			 i;

	if (config_is_null(n))
		return (0);
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	    p++) {
		k = yaml_document_get_node(config_doc, p->key);
		v = yaml_document_get_node(config_doc, p->value);
		name = k->type == YAML_SCALAR_NODE ? config_scalar(k) : "";
		if (*name == '\0' || strlen(name) > 32 ||
		    strspn(name, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") != strlen(name))
			return (config_error(cause, k, "phone.commands: a name "
			    "is 1 to 32 letters, digits, '-', '_' or '.'"));
		if (cmd_launch_agent(name) != -1)
			return (config_error(cause, k, "phone.commands: %s is "
			    "a built-in agent name", name));
		for (i = 0; i < c->nphone_commands; i++) {
			if (strcmp(c->phone_commands[i].name, name) == 0)
				return (config_error(cause, k, "phone.commands."
				    "%s is given twice", name));
		}
		if (config_is_null(v) || *(s = config_scalar(v)) == '\0')
			return (config_error(cause, v, "phone.commands.%s: the "
			    "command line is empty", name));
		if (strlen(s) > 4096)
			return (config_error(cause, v, "phone.commands.%s: the "
			    "command line is over 4096 bytes", name));
		c->phone_commands = xreallocarray(c->phone_commands,
		    c->nphone_commands + 1, sizeof *c->phone_commands);
		c->phone_commands[c->nphone_commands].name = xstrdup(name);
		c->phone_commands[c->nphone_commands++].value = xstrdup(s);
	}
	return (0);
}

/* A checked integer no larger than max into *dst, or the error. */
static int
config_set_max(yaml_node_t *n, const char *key, long long max,
    const char *unit, u_int *dst, char **cause)
{
	long long	 v;

	config_int(n, &v);
	if (v > max)
		return (config_error(cause, n, "%s %lld is more than %lld%s",
		    key, v, max, unit));
	*dst = v;
	return (0);
}

static int
config_set_port(struct config *c, yaml_node_t *n, char **cause)
{
	return (config_set_max(n, "server.port", 65535, "", &c->server_port,
	    cause));
}

static int
config_set_history_limit(struct config *c, yaml_node_t *n, char **cause)
{
	return (config_set_max(n, "sessions.historyLimit", 10000000, " lines",
	    &c->history_limit, cause));
}

static int
config_set_shell(struct config *c, yaml_node_t *n, char **cause)
{
	free(c->shell);
	c->shell = config_is_null(n) ? NULL : xstrdup(config_scalar(n));
	if (c->shell != NULL && *c->shell != '/')
		return (config_error(cause, n, "sessions.shell must be an "
		    "absolute path: %s", c->shell));
	return (0);
}

static int
config_set_window_size(struct config *c, yaml_node_t *n, char **cause)
{
	const char	*v = config_scalar(n);

	if (strcmp(v, "latest") == 0)
		c->size_policy = SIZE_LATEST;
	else if (strcmp(v, "smallest") == 0)
		c->size_policy = SIZE_SMALLEST;
	else if (strcmp(v, "largest") == 0)
		c->size_policy = SIZE_LARGEST;
	else
		return (config_error(cause, n, "sessions.windowSize must be "
		    "latest, smallest or largest, not %s", v));
	return (0);
}

static int
config_set_prefix(struct config *c, yaml_node_t *n, char **cause)
{
	key_code	 k = key_from_string(config_scalar(n));

	if (k == KEYC_NONE)
		return (config_error(cause, n, "keys.prefix: unknown key %s",
		    config_scalar(n)));
	c->prefix = k;
	return (0);
}

static int
config_set_bindings(struct config *c, yaml_node_t *n, char **cause)
{
	yaml_node_pair_t	*p;
	yaml_node_t		*k, *v;
	key_code		 key;

	if (config_is_null(n))
		return (0);
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	    p++) {
		k = yaml_document_get_node(config_doc, p->key);
		v = yaml_document_get_node(config_doc, p->value);
		key = k->type == YAML_SCALAR_NODE ?
		    key_from_string(config_scalar(k)) : KEYC_NONE;
		if (key == KEYC_NONE)
			return (config_error(cause, k, "keys.bindings: unknown "
			    "key %s", k->type == YAML_SCALAR_NODE ?
			    config_scalar(k) : "(not a string)"));
		c->bindings = xreallocarray(c->bindings, c->nbindings + 1,
		    sizeof *c->bindings);
		c->bindings[c->nbindings].key = key;
		c->bindings[c->nbindings++].command = config_is_null(v) ?
		    xstrdup("") : xstrdup(config_scalar(v));
	}
	return (0);
}

/* Is key the same scalar as one of the keys before pair p in map? */
static int
config_duplicate(yaml_document_t *doc, yaml_node_t *map, yaml_node_pair_t *p,
    yaml_node_t *key)
{
	yaml_node_pair_t	*q;
	yaml_node_t		*k;

	if (key->type != YAML_SCALAR_NODE)
		return (0);
	for (q = map->data.mapping.pairs.start; q < p; q++) {
		k = yaml_document_get_node(doc, q->key);
		if (k->type == YAML_SCALAR_NODE &&
		    strcmp(config_scalar(k), config_scalar(key)) == 0)
			return (1);
	}
	return (0);
}

static int
config_section(yaml_document_t *doc, const char *section, yaml_node_t *map,
    struct config *c, char **cause)
{
	yaml_node_pair_t	*p;
	yaml_node_t		*k, *v;
	u_int			 i;

	if (config_is_null(map))
		return (0);
	if (map->type != YAML_MAPPING_NODE)
		return (config_error(cause, map, "%s must be a mapping",
		    section));
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	    p++) {
		k = yaml_document_get_node(doc, p->key);
		v = yaml_document_get_node(doc, p->value);
		if (config_duplicate(doc, map, p, k))
			return (config_error(cause, k, "%s.%s is given twice",
			    section, config_scalar(k)));
		for (i = 0; i < nitems(config_keys); i++) {
			if (strcmp(config_keys[i].section, section) == 0 &&
			    k->type == YAML_SCALAR_NODE &&
			    strcmp(config_keys[i].name, config_scalar(k)) == 0)
				break;
		}
		if (i == nitems(config_keys))
			return (config_error(cause, k, "unknown key %s.%s",
			    section, k->type == YAML_SCALAR_NODE ?
			    config_scalar(k) : "?"));
		if (config_check_type(doc, &config_keys[i], v, cause) != 0)
			return (-1);
		if (config_keys[i].set == NULL)
			config_apply(doc, &config_keys[i], v, c);
		else if (config_keys[i].set(c, v, cause) != 0)
			return (-1);
	}
	return (0);
}

static int
config_known_section(const char *name)
{
	u_int	 i;

	for (i = 0; i < nitems(config_keys); i++) {
		if (strcmp(config_keys[i].section, name) == 0)
			return (1);
	}
	return (0);
}

static int
config_document(yaml_document_t *doc, struct config *c, char **cause)
{
	yaml_node_t		*root = yaml_document_get_root_node(doc), *k;
	yaml_node_pair_t	*p;

	if (root == NULL || config_is_null(root))
		return (0);
	if (root->type != YAML_MAPPING_NODE)
		return (config_error(cause, root, "the top level must be a "
		    "mapping of sections"));
	for (p = root->data.mapping.pairs.start;
	    p < root->data.mapping.pairs.top; p++) {
		k = yaml_document_get_node(doc, p->key);
		if (config_duplicate(doc, root, p, k))
			return (config_error(cause, k, "section %s is given twice",
			    config_scalar(k)));
		if (k->type != YAML_SCALAR_NODE ||
		    !config_known_section(config_scalar(k)))
			return (config_error(cause, k, "unknown section %s",
			    k->type == YAML_SCALAR_NODE ? config_scalar(k) :
			    "(not a string)"));
		if (config_section(doc, config_scalar(k),
		    yaml_document_get_node(doc, p->value), c, cause) != 0)
			return (-1);
	}
	return (0);
}

/* Load path into c (already holding defaults); a missing file is fine. */
int
config_load(const char *path, struct config *c, char **cause)
{
	FILE		*f;
	yaml_parser_t	 parser;
	yaml_document_t	 doc;
	struct stat	 sb;
	int		 fd, rc = -1;

	/* Not blocking on a FIFO: the server reads this in its loop. */
	if ((fd = open(path, O_RDONLY|O_NONBLOCK|O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return (0);
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return (-1);
	}
	if (fstat(fd, &sb) != 0) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		close(fd);
		return (-1);
	}
	if (!S_ISREG(sb.st_mode) || sb.st_size > CONFIG_SIZE_MAX) {
		if (S_ISDIR(sb.st_mode))
			xasprintf(cause, "%s: is a directory", path);
		else if (!S_ISREG(sb.st_mode))
			xasprintf(cause, "%s: not a regular file", path);
		else
			xasprintf(cause, "%s: over %d bytes", path,
			    CONFIG_SIZE_MAX);
		close(fd);
		return (-1);
	}
	if ((f = fdopen(fd, "r")) == NULL) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		close(fd);
		return (-1);
	}
	config_file = path;
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &doc)) {
		xasprintf(cause, "%s:%zu:%zu: %s", path,
		    parser.problem_mark.line + 1,
		    parser.problem_mark.column + 1,
		    parser.problem != NULL ? parser.problem : "bad YAML");
		goto out;
	}
	config_doc = &doc;
	rc = config_document(&doc, c, cause);
	config_doc = NULL;
	yaml_document_delete(&doc);
out:
	yaml_parser_delete(&parser);
	fclose(f);
	return (rc);
}

/*
 * server/config.c: read ~/.loopsy/config.yaml with libyaml.  Every key of
 * the file is in one schema table with its type; a bad value or an unknown
 * key fails with "file:line:column: what is wrong".  The multiplexer's keys
 * (sessions, keys, status) take effect here; the rest are checked only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "server.h"

struct config	 config;

enum config_type {
	CONFIG_INT,		/* non-negative integer */
	CONFIG_STRING,		/* string or null */
	CONFIG_BOOL,
	CONFIG_LIST,		/* sequence of strings, or null */
	CONFIG_MAP,		/* mapping of string to string */
	CONFIG_SIZE_POLICY,	/* latest | smallest | largest */
	CONFIG_KEY,		/* a key name such as C-b */
	CONFIG_BINDINGS,	/* key name -> command */
};

struct config_key {
	const char	*section;
	const char	*name;
	enum config_type type;
	int		 (*set)(struct config *, yaml_node_t *, char **);
};

static int	config_set_history_limit(struct config *, yaml_node_t *, char **);
static int	config_set_history_budget(struct config *, yaml_node_t *, char **);
static int	config_set_shell(struct config *, yaml_node_t *, char **);
static int	config_set_window_size(struct config *, yaml_node_t *, char **);
static int	config_set_prefix(struct config *, yaml_node_t *, char **);
static int	config_set_bindings(struct config *, yaml_node_t *, char **);
static int	config_set_status(struct config *, yaml_node_t *, char **);

static const struct config_key config_keys[] = {
	{ "server", "port", CONFIG_INT, NULL },
	{ "server", "host", CONFIG_STRING, NULL },
	{ "auth", "apiKey", CONFIG_STRING, NULL },
	{ "auth", "allowedKeys", CONFIG_MAP, NULL },
	{ "relay", "url", CONFIG_STRING, NULL },
	{ "execution", "denylist", CONFIG_LIST, NULL },
	{ "execution", "allowlist", CONFIG_LIST, NULL },
	{ "execution", "maxConcurrent", CONFIG_INT, NULL },
	{ "execution", "timeout", CONFIG_INT, NULL },
	{ "execution", "maxOutput", CONFIG_INT, NULL },
	{ "transfer", "allowedPaths", CONFIG_LIST, NULL },
	{ "transfer", "deniedPaths", CONFIG_LIST, NULL },
	{ "transfer", "maxFileSize", CONFIG_INT, NULL },
	{ "rateLimits", "execute", CONFIG_INT, NULL },
	{ "rateLimits", "transfer", CONFIG_INT, NULL },
	{ "rateLimits", "context", CONFIG_INT, NULL },
	{ "sessions", "historyLimit", CONFIG_INT, config_set_history_limit },
	{ "sessions", "historyBudget", CONFIG_INT, config_set_history_budget },
	{ "sessions", "shell", CONFIG_STRING, config_set_shell },
	{ "sessions", "windowSize", CONFIG_SIZE_POLICY, config_set_window_size },
	{ "keys", "prefix", CONFIG_KEY, config_set_prefix },
	{ "keys", "bindings", CONFIG_BINDINGS, config_set_bindings },
	{ "status", "enabled", CONFIG_BOOL, config_set_status },
	{ "discovery", "enabled", CONFIG_BOOL, NULL },
};

static const char	*config_file;	/* for error messages */

void
config_defaults(struct config *c)
{
	memset(c, 0, sizeof *c);
	c->history_limit = 10000;
	c->history_budget = 268435456;
	c->size_policy = SIZE_LATEST;
	c->prefix = 'b' | KEYC_CTRL;
	c->status = 1;
}

void
config_clear(struct config *c)
{
	u_int	 i;

	free(c->shell);
	for (i = 0; i < c->nbindings; i++)
		free(c->bindings[i].command);
	free(c->bindings);
	memset(c, 0, sizeof *c);
}

char *
config_path(void)
{
	const char	*home = getenv("LOOPSY_HOME");
	char		*path;

	if (home != NULL && *home != '\0')
		xasprintf(&path, "%s/config.yaml", home);
	else {
		if ((home = getenv("HOME")) == NULL)
			home = "/";
		xasprintf(&path, "%s/.loopsy/config.yaml", home);
	}
	return (path);
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
	    *out < 0)
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

static int
config_set_history_limit(struct config *c, yaml_node_t *n, char **cause)
{
	long long	 v;

	config_int(n, &v);
	if (v > 10000000)
		return (config_error(cause, n, "sessions.historyLimit %lld is "
		    "more than 10000000 lines", v));
	c->history_limit = v;
	return (0);
}

static int
config_set_history_budget(struct config *c, yaml_node_t *n, char **cause __unused)
{
	long long	 v;

	config_int(n, &v);
	c->history_budget = v;
	return (0);
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

static yaml_document_t	*config_doc;

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

static int
config_set_status(struct config *c, yaml_node_t *n, char **cause __unused)
{
	c->status = strcmp(config_scalar(n), "true") == 0;
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
		if (config_keys[i].set != NULL &&
		    config_keys[i].set(c, v, cause) != 0)
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
	int		 rc = -1;

	if ((f = fopen(path, "r")) == NULL) {
		if (errno == ENOENT)
			return (0);
		xasprintf(cause, "%s: %s", path, strerror(errno));
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

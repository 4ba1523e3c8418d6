/*
 * server/cmd-key-generate.c: loopsy key generate: a new API key written into
 * config.yaml in place (only the auth.apiKey value changes, so the user's
 * edits and comments stay), checked by parsing before the file is replaced;
 * then a running server is told to reload, and its sessions go on.  Runs in
 * the client.  The key itself is never printed (loopsy key show does that).
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <yaml.h>

#include "common/crypto.h"
#include "server.h"

#define KEY_CONFIG_MAX	(1024 * 1024)

static enum cmd_retval	cmd_key_generate(struct cmd_ctx *);

const struct cmd_def cmd_key_generate_def = {
	.name = "key-generate",
	.alias = NULL,
	.flags = "",
	.longs = "",
	.min_args = 0, .max_args = 0,
	.usage = "",
	.client = 1,
	.client_words = 1,
	.run = cmd_key_generate,
	.local_only = 1
};

/* Where things are in the text: byte offsets found from libyaml's marks. */
struct key_edit {
	size_t		 at;		/* replace [at, at + len) */
	size_t		 len;
	const char	*before;	/* text around the key, when inserted */
	const char	*after;
};

static yaml_node_t *
key_map_get(yaml_document_t *doc, yaml_node_t *map, const char *name,
    yaml_node_t **keyp)
{
	yaml_node_pair_t	*p;
	yaml_node_t		*k;

	if (map == NULL || map->type != YAML_MAPPING_NODE)
		return (NULL);
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	    p++) {
		k = yaml_document_get_node(doc, p->key);
		if (k->type == YAML_SCALAR_NODE &&
		    strcmp((char *)k->data.scalar.value, name) == 0) {
			if (keyp != NULL)
				*keyp = k;
			return (yaml_document_get_node(doc, p->value));
		}
	}
	return (NULL);
}

/* The byte offset where a 0-based line starts. */
static size_t
key_line_start(const char *text, size_t line)
{
	const char	*p = text;

	while (line > 0 && (p = strchr(p, '\n')) != NULL) {
		p++;
		line--;
	}
	return (p == NULL ? strlen(text) : (size_t)(p - text));
}

/*
 * The value after "name:" on its line: a quoted scalar up to its closing
 * quote, or a plain one up to a comment, the line's end or (in a flow
 * mapping) a comma or brace.
 */
static int
key_value_span(const char *text, size_t line, int flow, const char *name,
    struct key_edit *e)
{
	const char	*s = text + key_line_start(text, line), *p, *end = NULL;
	const char	*eol = s + strcspn(s, "\n");
	size_t		 n = strlen(name);
	char		 q;

	for (p = s; (p = strstr(p, name)) != NULL && p < eol; p += n) {
		end = p + n;
		if (*end == '"' || *end == '\'')
			end++;
		while (*end == ' ' || *end == '\t')
			end++;
		if (*end == ':')
			break;
	}
	if (p == NULL || p >= eol)
		return (-1);
	p = end + 1;
	while (*p == ' ' || *p == '\t')
		p++;
	e->at = p - text;
	if (*p == '"' || *p == '\'') {
		q = *p;
		for (end = p + 1; *end != '\0' && *end != '\n' && *end != q;
		    end++) {
			if (q == '"' && *end == '\\' && end[1] != '\0')
				end++;
		}
		if (*end != q)
			return (-1);
		end++;
	} else {
		for (end = p; *end != '\0' && *end != '\n'; end++) {
			if (flow && strchr(",}]", *end) != NULL)
				break;
			if (*end == '#' && end > p && isspace((u_char)end[-1]))
				break;
		}
		while (end > p && isspace((u_char)end[-1]))
			end--;
	}
	e->len = end - p;
	e->before = e->len == 0 && p[-1] == ':' ? " " : "";
	e->after = "";
	return (0);
}

/* auth exists without apiKey: add it first in the mapping. */
static int
key_insert_span(const char *text, yaml_node_t *auth, struct key_edit *e)
{
	const char	*s = text + key_line_start(text,
			    auth->start_mark.line), *p;
	static char	 indent[64];

	if (auth->type != YAML_MAPPING_NODE)
		return (-1);
	if (auth->data.mapping.style == YAML_FLOW_MAPPING_STYLE) {
		if ((p = strchr(s, '{')) == NULL)
			return (-1);
		e->at = p + 1 - text;
		e->len = 0;
		e->before = " apiKey: ";
		e->after = auth->data.mapping.pairs.top >
		    auth->data.mapping.pairs.start ? ", " : " ";
		return (0);
	}
	/* Block style: a line of its own, indented like the first key. */
	if (auth->start_mark.column >= sizeof indent)
		return (-1);
	memset(indent, ' ', auth->start_mark.column);
	strlcpy(indent + auth->start_mark.column, "apiKey: ",
	    sizeof indent - auth->start_mark.column);
	e->at = s - text;
	e->len = 0;
	e->before = indent;
	e->after = "\n";
	return (0);
}

/* Find what to change in text so auth.apiKey holds a new value. */
static int
key_find(const char *text, size_t len, struct key_edit *e, char **cause)
{
	yaml_parser_t	 parser;
	yaml_document_t	 doc;
	yaml_node_t	*root, *auth, *key, *knode = NULL, *anode = NULL;
	int		 rc = -1;

	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const u_char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		xasprintf(cause, "it does not parse");
		yaml_parser_delete(&parser);
		return (-1);
	}
	root = yaml_document_get_root_node(&doc);
	auth = key_map_get(&doc, root, "auth", &anode);
	key = key_map_get(&doc, auth, "apiKey", &knode);
	if (root == NULL || (root->type == YAML_SCALAR_NODE &&
	    *root->data.scalar.value == '\0') || (root->type ==
	    YAML_MAPPING_NODE && auth == NULL)) {
		/* No auth section: append one. */
		e->at = len;
		e->len = 0;
		e->before = len > 0 && text[len - 1] != '\n' ?
		    "\nauth: { apiKey: " : "auth: { apiKey: ";
		e->after = " }\n";
		rc = 0;
	} else if (key != NULL && key->type == YAML_SCALAR_NODE)
		rc = key_value_span(text, knode->start_mark.line,
		    auth->data.mapping.style == YAML_FLOW_MAPPING_STYLE,
		    "apiKey", e);
	else if (auth != NULL && auth->type == YAML_SCALAR_NODE &&
	    auth->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	    (*auth->data.scalar.value == '\0' ||
	    strcmp((char *)auth->data.scalar.value, "~") == 0 ||
	    strcmp((char *)auth->data.scalar.value, "null") == 0)) {
		/* "auth:" with nothing (null): a mapping in its place. */
		rc = key_value_span(text, anode->start_mark.line,
		    root->data.mapping.style == YAML_FLOW_MAPPING_STYLE,
		    "auth", e);
		e->before = *e->before == ' ' ? " { apiKey: " : "{ apiKey: ";
		e->after = " }";
	} else if (key == NULL && auth != NULL)
		rc = key_insert_span(text, auth, e);
	if (rc != 0)
		xasprintf(cause, "cannot find where auth.apiKey goes");
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return (rc);
}

/* Parse text as a config file would be (from a private file beside it). */
static int
key_check(const char *path, const char *text, const char *key, char **cause)
{
	struct config	 c;
	char		*tmp, *why = NULL;
	int		 rc = -1;

	xasprintf(&tmp, "%s.check", path);
	if (file_write_atomic(tmp, text, strlen(text), 0600, cause) != 0) {
		free(tmp);
		return (-1);
	}
	config_defaults(&c);
	if (config_load(tmp, &c, &why) != 0) {
		xasprintf(cause, "the new file would not parse: %s", why);
		free(why);
	} else if (c.api_key == NULL || strcmp(c.api_key, key) != 0)
		xasprintf(cause, "the new key did not land in auth.apiKey");
	else
		rc = 0;
	config_clear(&c);
	unlink(tmp);
	free(tmp);
	return (rc);
}

/*
 * Put a new API key into the config file at path, changing nothing else.
 * The file must parse first; the result is parsed before it replaces it.
 */
int
cmd_key_generate_write(const char *path, char **cause)
{
	struct config	 c;
	struct key_edit	 e;
	char		*text = NULL, *key = NULL, *out = NULL, *why = NULL;
	size_t		 len;
	int		 rc = -1;

	config_defaults(&c);
	if (config_load(path, &c, &why) != 0) {
		xasprintf(cause, "%s (fix it first: loopsy config check)", why);
		free(why);
		goto out;
	}
	if ((text = file_read(path, KEY_CONFIG_MAX, &len, &why)) == NULL) {
		xasprintf(cause, "%s", why != NULL ? why : "no config file");
		free(why);
		goto out;
	}
	if (key_find(text, len, &e, &why) != 0) {
		xasprintf(cause, "%s: %s; set it by hand", path, why);
		free(why);
		goto out;
	}
	if ((key = crypto_random_hex(CRYPTO_KEY_BYTES, cause)) == NULL)
		goto out;
	xasprintf(&out, "%.*s%s%s%s%s", (int)e.at, text, e.before, key, e.after,
	    text + e.at + e.len);
	if (key_check(path, out, key, &why) != 0) {
		xasprintf(cause, "%s: %s; set auth.apiKey by hand", path, why);
		free(why);
		goto out;
	}
	rc = file_write_atomic(path, out, strlen(out), 0600, cause);
out:
	if (key != NULL)
		crypto_cleanse(key, strlen(key));
	if (out != NULL)
		crypto_cleanse(out, strlen(out));
	free(key);
	free(out);
	free(text);
	config_clear(&c);
	return (rc);
}

static enum cmd_retval
cmd_key_generate(struct cmd_ctx *ctx)
{
	char	*path = config_path(), *cause = NULL;
	char	*argv[] = { "config-reload" };
	int	 status;
	enum cmd_retval rv = CMD_ERROR;

	if (access(path, F_OK) != 0) {
		cmd_error(ctx, "key", "%s: no config file: run loopsy init",
		    path);
		goto out;
	}
	if (cmd_key_generate_write(path, &cause) != 0) {
		cmd_error(ctx, "key", "%s", cause);
		goto out;
	}
	cmd_print(ctx, "new API key written to %s (loopsy key show prints "
	    "it); peers using the old key need the new one\n", path);
	if (!operate_server_live()) {
		cmd_print(ctx, "no server running: the next one uses it\n");
		rv = CMD_OK;
		goto out;
	}
	if ((status = operate_call(1, argv, NULL, &cause)) != 0) {
		cmd_error(ctx, "key", "the server did not reload: %s; run "
		    "loopsy config reload", cause);
		goto out;
	}
	cmd_print(ctx, "server reloaded with the new key; sessions kept\n");
	rv = CMD_OK;
out:
	free(cause);
	free(path);
	return (rv);
}

/*
 * server/cmd-mcp-install.c: loopsy mcp install|uninstall [--dry-run] AGENT:
 * register this binary's "loopsy mcp" as the MCP server "loopsy" in the user
 * config of Claude Code, Codex CLI, Gemini CLI or opencode, or take it out.
 * Only our entry is added, replaced or removed; every other key is kept, and
 * the file as it was is copied to FILE.loopsy-backup first.  doctor asks
 * mcp_agent_registered().  Runs in the client; loopsy mcp is client/mcp.c.
 */
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "server.h"

#define MCP_NAME	"loopsy"
#define MCP_MAX_CONFIG	(64 * 1024 * 1024)	/* .claude.json grows */

static enum cmd_retval	cmd_mcp_install(struct cmd_ctx *);
static enum cmd_retval	cmd_mcp_uninstall(struct cmd_ctx *);

const struct cmd_def cmd_mcp_install_def = {
	.name = "mcp-install",
	.alias = NULL,
	.flags = "",
	.longs = "dry-run",
	.min_args = 1, .max_args = -1,
	.usage = "[--dry-run] claude|codex|gemini|opencode ...",
	.client = 1,
	.client_words = 1,
	.run = cmd_mcp_install,
	.local_only = 1
};

const struct cmd_def cmd_mcp_uninstall_def = {
	.name = "mcp-uninstall",
	.alias = NULL,
	.flags = "",
	.longs = "dry-run",
	.min_args = 1, .max_args = -1,
	.usage = "[--dry-run] claude|codex|gemini|opencode ...",
	.client = 1,
	.client_words = 1,
	.run = cmd_mcp_uninstall,
	.local_only = 1
};

enum mcp_format { MCP_JSON, MCP_TOML };

/* What to write for one agent: exe is this binary, home $LOOPSY_HOME. */
struct mcp_agent {
	const char	*name;
	const char	*what;
	enum mcp_format	 format;
	const char	*key;		/* JSON: the object of servers */
	char		*(*path)(void);
	cJSON		*(*entry)(const char *exe, const char *home);
};

/* The result of editing one config's text. */
struct mcp_edit {
	char		*text;		/* the whole new file */
	char		*shown;		/* our entry, as added or removed */
	const char	*verb;		/* "add", "replace", "remove" */
};

static char *
mcp_home(void)
{
	const char	*home = getenv("HOME");
	struct passwd	*pw;

	if ((home == NULL || *home == '\0') && (pw = getpwuid(getuid())) != NULL)
		home = pw->pw_dir;
	return (xstrdup(home != NULL && *home != '\0' ? home : "/"));
}

/* A file under $VAR if set, else under $HOME/dflt. */
static char *
mcp_config_under(const char *var, const char *dflt, const char *name)
{
	const char	*v = var != NULL ? getenv(var) : NULL;
	char		*home, *path;

	if (v != NULL && *v == '/')
		xasprintf(&path, "%s/%s", v, name);
	else {
		home = mcp_home();
		xasprintf(&path, "%s/%s%s%s", home, dflt, *dflt != '\0' ?
		    "/" : "", name);
		free(home);
	}
	return (path);
}

static char *
mcp_claude_path(void)
{
	return (mcp_config_under("CLAUDE_CONFIG_DIR", "", ".claude.json"));
}

static char *
mcp_codex_path(void)
{
	return (mcp_config_under("CODEX_HOME", ".codex", "config.toml"));
}

static char *
mcp_gemini_path(void)
{
	return (mcp_config_under(NULL, ".gemini", "settings.json"));
}

/* opencode.json, or opencode.jsonc if only that one exists. */
static char *
mcp_opencode_path(void)
{
	char	*path, *jsonc;

	path = mcp_config_under("XDG_CONFIG_HOME", ".config", "opencode/"
	    "opencode.json");
	if (access(path, F_OK) != 0) {
		xasprintf(&jsonc, "%sc", path);
		if (access(jsonc, F_OK) == 0) {
			free(path);
			return (jsonc);
		}
		free(jsonc);
	}
	return (path);
}

static void
mcp_add_env(cJSON *o, const char *name, const char *home)
{
	cJSON	*env;

	if (home == NULL)
		return;
	env = cJSON_AddObjectToObject(o, name);
	cJSON_AddStringToObject(env, "LOOPSY_HOME", home);
}

static cJSON *
mcp_claude_entry(const char *exe, const char *home)
{
	cJSON		*o = cJSON_CreateObject();
	const char	*args[] = { "mcp" };

	cJSON_AddStringToObject(o, "type", "stdio");
	cJSON_AddStringToObject(o, "command", exe);
	cJSON_AddItemToObject(o, "args", cJSON_CreateStringArray(args, 1));
	mcp_add_env(o, "env", home);
	return (o);
}

static cJSON *
mcp_gemini_entry(const char *exe, const char *home)
{
	cJSON		*o = cJSON_CreateObject();
	const char	*args[] = { "mcp" };

	cJSON_AddStringToObject(o, "command", exe);
	cJSON_AddItemToObject(o, "args", cJSON_CreateStringArray(args, 1));
	mcp_add_env(o, "env", home);
	return (o);
}

static cJSON *
mcp_opencode_entry(const char *exe, const char *home)
{
	cJSON		*o = cJSON_CreateObject();
	const char	*argv[] = { exe, "mcp" };

	cJSON_AddStringToObject(o, "type", "local");
	cJSON_AddItemToObject(o, "command", cJSON_CreateStringArray(argv, 2));
	cJSON_AddBoolToObject(o, "enabled", 1);
	mcp_add_env(o, "environment", home);
	return (o);
}

static const struct mcp_agent mcp_agents[MCP_NAGENTS] = {
	{ "claude", "Claude Code", MCP_JSON, "mcpServers", mcp_claude_path,
	  mcp_claude_entry },
	{ "codex", "Codex CLI", MCP_TOML, NULL, mcp_codex_path, NULL },
	{ "gemini", "Gemini CLI", MCP_JSON, "mcpServers", mcp_gemini_path,
	  mcp_gemini_entry },
	{ "opencode", "opencode", MCP_JSON, "mcp", mcp_opencode_path,
	  mcp_opencode_entry },
};

const char *
mcp_agent_name(u_int i)
{
	return (i < MCP_NAGENTS ? mcp_agents[i].name : NULL);
}

char *
mcp_agent_path(u_int i)
{
	return (mcp_agents[i].path());
}

/* The absolute path of this loopsy binary. */
static char *
mcp_exe(char **cause)
{
	char	 buf[PATH_MAX];
	ssize_t	 n;

	if ((n = readlink("/proc/self/exe", buf, sizeof buf - 1)) <= 0) {
		xasprintf(cause, "cannot find this program's path: %s",
		    strerror(errno));
		return (NULL);
	}
	buf[n] = '\0';
	return (xstrdup(buf));
}

/* $LOOPSY_HOME made absolute, or NULL if not set. */
static char *
mcp_loopsy_home(void)
{
	const char	*v = getenv("LOOPSY_HOME");
	char		 real[PATH_MAX], cwd[PATH_MAX], *s;

	if (v == NULL || *v == '\0')
		return (NULL);
	if (realpath(v, real) != NULL)
		return (xstrdup(real));
	if (*v != '/' && getcwd(cwd, sizeof cwd) != NULL) {
		xasprintf(&s, "%s/%s", cwd, v);
		return (s);
	}
	return (xstrdup(v));
}

/* ------------------------------------------------------------ JSON */

/* cJSON indents with tabs; agents and people write two spaces. */
static char *
mcp_json_print(cJSON *j)
{
	char	*s = cJSON_Print(j), *out, *o, *p;
	int	 bol = 1;

	out = o = xmalloc(strlen(s) * 2 + 2);
	for (p = s; *p != '\0'; p++) {
		if (*p == '\t') {	/* strings escape their tabs */
			if (bol) {
				*o++ = ' ';
				*o++ = ' ';
			} else
				*o++ = ' ';
			continue;
		}
		bol = (*p == '\n');
		*o++ = *p;
	}
	*o++ = '\n';
	*o = '\0';
	free(s);
	return (out);
}

static char *
mcp_json_shown(const cJSON *entry)
{
	cJSON	*o = cJSON_CreateObject();
	char	*s;

	cJSON_AddItemReferenceToObject(o, MCP_NAME, (cJSON *)entry);
	s = mcp_json_print(o);
	cJSON_Delete(o);
	return (s);
}

static int
mcp_json_blank(const char *text)
{
	while (*text == ' ' || *text == '\t' || *text == '\n' || *text == '\r')
		text++;
	return (*text == '\0');
}

/*
 * Would writing this JSON back through cJSON change it?  cJSON keeps
 * numbers as doubles (a 16-digit integer comes back rounded) and stops a
 * string at \u0000.  Returns what it found, or NULL.
 */
static const char *
mcp_json_lossy(const char *text)
{
	const char	*p;
	int		 instr = 0;
	u_int		 digits = 0;

	for (p = text; *p != '\0'; p++) {
		if (instr) {
			if (*p == '\\') {
				if (strncmp(p, "\\u0000", 6) == 0)
					return ("a \\u0000 in a string");
				if (p[1] != '\0')
					p++;
			} else if (*p == '"')
				instr = 0;
			continue;
		}
		if (*p == '"') {
			instr = 1;
			digits = 0;
		} else if (*p >= '0' && *p <= '9') {
			if (++digits > 15)
				return ("a number of more than 15 digits");
		} else if (*p != '.' && *p != '-' && *p != '+' &&
		    *p != 'e' && *p != 'E')
			digits = 0;
	}
	return (NULL);
}

/* Parse a config: an object, or why not (with a line number). */
static cJSON *
mcp_json_parse(const char *path, const char *text, char **cause)
{
	const char	*end = NULL, *p, *lossy;
	cJSON		*root;
	u_int		 line = 1;

	if (text == NULL || mcp_json_blank(text))
		return (cJSON_CreateObject());
	if ((lossy = mcp_json_lossy(text)) != NULL) {
		xasprintf(cause, "%s has %s, which loopsy could not write back "
		    "exactly: add loopsy's entry by hand", path, lossy);
		return (NULL);
	}
	root = cJSON_ParseWithOpts(text, &end, 1);
	if (root == NULL) {
		if (end == NULL)
			end = cJSON_GetErrorPtr();
		for (p = text; end != NULL && p < end && *p != '\0'; p++)
			line += (*p == '\n');
		xasprintf(cause, "%s is not valid JSON (line %u; loopsy edits "
		    "only plain JSON, without comments or trailing commas): "
		    "fix it or add the entry by hand", path, line);
		return (NULL);
	}
	if (!cJSON_IsObject(root)) {
		xasprintf(cause, "%s is JSON but not an object", path);
		cJSON_Delete(root);
		return (NULL);
	}
	return (root);
}

static int
mcp_json_edit(const struct mcp_agent *a, const char *path, const char *old,
    const char *exe, const char *home, int install, struct mcp_edit *e,
    char **cause)
{
	cJSON	*root, *servers, *cur, *entry = NULL;
	int	 rc = -1;

	if ((root = mcp_json_parse(path, old, cause)) == NULL)
		return (-1);
	servers = cJSON_GetObjectItemCaseSensitive(root, a->key);
	if (servers != NULL && !cJSON_IsObject(servers)) {
		xasprintf(cause, "\"%s\" in %s is not an object", a->key,
		    path);
		goto out;
	}
	cur = cJSON_GetObjectItemCaseSensitive(servers, MCP_NAME);
	if (!install) {
		rc = 0;
		if (cur == NULL)
			goto out;
		e->shown = mcp_json_shown(cur);
		e->verb = "remove";
		cJSON_DeleteItemFromObjectCaseSensitive(servers, MCP_NAME);
	} else {
		entry = a->entry(exe, home);
		rc = 0;
		if (cur != NULL && cJSON_Compare(cur, entry, 1))
			goto out;
		e->shown = mcp_json_shown(entry);
		if (servers == NULL) {
			if (old == NULL && strcmp(a->name, "opencode") == 0)
				cJSON_AddStringToObject(root, "$schema",
				    "https://opencode.ai/config.json");
			servers = cJSON_AddObjectToObject(root, a->key);
		}
		if (cur != NULL) {
			e->verb = "replace";
			cJSON_ReplaceItemInObjectCaseSensitive(servers,
			    MCP_NAME, entry);
		} else {
			e->verb = "add";
			cJSON_AddItemToObject(servers, MCP_NAME, entry);
		}
		entry = NULL;
	}
	e->text = mcp_json_print(root);
	rc = 1;
out:
	cJSON_Delete(entry);
	cJSON_Delete(root);
	return (rc);
}

/* ------------------------------------------------------------ TOML */

/*
 * There is no TOML library here, so codex's config.toml is edited as text:
 * a small scanner finds table headers (not inside multi-line strings or
 * arrays) and our [mcp_servers.loopsy] table with its subtables; every
 * other byte is kept as it was.
 */
struct mcp_toml_line {
	const char	*start;
	size_t		 len;		/* with its newline */
	int		 header;
	int		 ours;		/* in our table */
	int		 blank;		/* empty or only a comment */
};

struct mcp_toml {
	struct mcp_toml_line *v;
	u_int		 n;
};

#define MCP_TOML_KEY	64

/*
 * A dotted key at *pp ("a.b", "a . \"b\"", 'c'), stopping at stop; the
 * first two keys go to k.  Returns the number of keys, or -1.
 */
static int
mcp_toml_key(const char **pp, char stop, char k[2][MCP_TOML_KEY])
{
	const char	*p = *pp, *s;
	int		 n = 0;
	size_t		 len;
	char		 q;

	k[0][0] = k[1][0] = '\0';
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '"' || *p == '\'') {
			q = *p++;
			for (s = p; *p != q && *p != '\n' && *p != '\0'; p++) {
				if (q == '"' && *p == '\\')
					return (-1);	/* not one of ours */
			}
			if (*p != q)
				return (-1);
			len = p++ - s;
		} else {
			for (s = p; *p == '_' || *p == '-' ||
			    (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			    (*p >= '0' && *p <= '9'); p++)
				;
			if ((len = p - s) == 0)
				return (-1);
		}
		if (n < 2) {
			if (len >= MCP_TOML_KEY)
				len = MCP_TOML_KEY - 1;
			memcpy(k[n], s, len);
			k[n][len] = '\0';
		}
		n++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == stop) {
			*pp = p + 1;
			return (n);
		}
		if (*p != '.')
			return (-1);
		p++;
	}
}

/* Scan the rest of a line outside a header: strings, comments, brackets. */
static void
mcp_toml_scan(const char *p, const char *end, char *ml, int *depth)
{
	char	q, c;

	while (p < end) {
		if (*ml != '\0') {
			if (*ml == '"' && *p == '\\' && p + 1 < end) {
				p += 2;
				continue;
			}
			if (*p == *ml && p + 2 < end && p[1] == *ml &&
			    p[2] == *ml) {
				c = *ml;
				*ml = '\0';
				p += 3;
				while (p < end && *p == c)	/* """a"""" */
					p++;
				continue;
			}
			p++;
			continue;
		}
		switch (*p) {
		case '#':
			return;
		case '"':
		case '\'':
			q = *p;
			if (p + 2 < end && p[1] == q && p[2] == q) {
				*ml = q;
				p += 3;
				continue;
			}
			for (p++; p < end && *p != q; p++) {
				if (q == '"' && *p == '\\')
					p++;
			}
			break;
		case '[':
		case '{':
			(*depth)++;
			break;
		case ']':
		case '}':
			if (*depth > 0)
				(*depth)--;
			break;
		}
		p++;
	}
}

/*
 * Split text into lines and mark our table.  A key that makes
 * mcp_servers.loopsy some other way (dotted, inline) is refused.
 */
static int
mcp_toml_parse(const char *path, const char *text, struct mcp_toml *t,
    char **cause)
{
	const char		*p = text, *end, *s, *kp;
	struct mcp_toml_line	*l;
	char			 k[2][MCP_TOML_KEY], ml = '\0', tk[2][MCP_TOML_KEY];
	int			 depth = 0, n, tn = 0, ours = 0;

	memset(t, 0, sizeof *t);
	memset(tk, 0, sizeof tk);
	while (*p != '\0') {
		end = strchr(p, '\n');
		end = end != NULL ? end + 1 : p + strlen(p);
		t->v = xreallocarray(t->v, t->n + 1, sizeof *t->v);
		l = &t->v[t->n++];
		memset(l, 0, sizeof *l);
		l->start = p;
		l->len = end - p;
		for (s = p; *s == ' ' || *s == '\t'; s++)
			;
		if (ml == '\0' && depth == 0 && *s == '[') {
			l->header = 1;
			if (s[1] == '[')	/* [[array of tables]] */
				n = 0;
			else {
				s++;
				n = mcp_toml_key(&s, ']', k);
			}
			ours = (n >= 2 && strcmp(k[0], "mcp_servers") == 0 &&
			    strcmp(k[1], MCP_NAME) == 0);
			tn = n <= 0 ? -1 : n;	/* -1: none of ours there */
			memcpy(tk, k, sizeof tk);
			l->ours = ours;
		} else {
			l->ours = ours;
			if (ml == '\0' && depth == 0) {
				l->blank = (*s == '#' || *s == '\n' ||
				    *s == '\r' || *s == '\0');
				kp = s;
				n = l->blank ? 0 : mcp_toml_key(&kp, '=', k);
				if (!ours && ((tn == 0 && n >= 2 &&
				    strcmp(k[0], "mcp_servers") == 0 &&
				    strcmp(k[1], MCP_NAME) == 0) || (tn == 1 &&
				    strcmp(tk[0], "mcp_servers") == 0 &&
				    n >= 1 && strcmp(k[0], MCP_NAME) == 0))) {
					xasprintf(cause, "%s sets mcp_servers."
					    "%s in a form loopsy does not edit "
					    "(line %u): change it by hand",
					    path,
					    MCP_NAME, t->n);
					free(t->v);
					return (-1);
				}
			}
			mcp_toml_scan(s, end, &ml, &depth);
		}
		p = end;
	}
	return (0);
}

/* Our lines stop at the last one that is not blank or a comment. */
static void
mcp_toml_trim(struct mcp_toml *t)
{
	u_int	i, j;

	for (i = 0; i < t->n; i++) {
		if (!t->v[i].header || !t->v[i].ours)
			continue;
		for (j = i + 1; j < t->n && !t->v[j].header; j++)
			;
		while (j > i + 1 && t->v[j - 1].blank)
			t->v[--j].ours = 0;
	}
}

static void
mcp_toml_quote(struct buf *b, const char *s)
{
	buf_add(b, "\"", 1);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			buf_printf(b, "\\%c", *s);
		else if ((u_char)*s < 0x20 || *s == 0x7f)
			buf_printf(b, "\\u%04X", (u_char)*s);
		else
			buf_add(b, s, 1);
	}
	buf_add(b, "\"", 1);
}

static char *
mcp_toml_table(const char *exe, const char *home)
{
	struct buf	 b;

	buf_init(&b);
	buf_printf(&b, "[mcp_servers.%s]\ncommand = ", MCP_NAME);
	mcp_toml_quote(&b, exe);
	buf_printf(&b, "\nargs = [\"mcp\"]\n");
	if (home != NULL) {
		buf_printf(&b, "env = { LOOPSY_HOME = ");
		mcp_toml_quote(&b, home);
		buf_printf(&b, " }\n");
	}
	buf_add(&b, "", 1);
	return (b.data);
}

static int
mcp_toml_edit(const char *path, const char *old, const char *exe,
    const char *home, int install, struct mcp_edit *e, char **cause)
{
	struct mcp_toml	 t;
	struct buf	 out, mine;
	char		*table = NULL;
	u_int		 i, last = 0;
	int		 found = 0, rc = 0;

	if (mcp_toml_parse(path, old != NULL ? old : "", &t, cause) != 0)
		return (-1);
	mcp_toml_trim(&t);
	buf_init(&out);
	buf_init(&mine);
	if (install)
		table = mcp_toml_table(exe, home);
	for (i = 0; i < t.n; i++) {
		if (!t.v[i].ours) {
			buf_add(&out, t.v[i].start, t.v[i].len);
			continue;
		}
		if (!found && install)
			buf_add(&out, table, strlen(table));
		found = 1;
		last = i;
		buf_add(&mine, t.v[i].start, t.v[i].len);
	}
	buf_add(&mine, "", 1);
	if (install && found && strcmp(mine.data, table) == 0)
		goto out;	/* just as we would write it */
	if (!install && !found)
		goto out;
	if (install && !found) {
		if (out.len > 0 && out.data[out.len - 1] != '\n')
			buf_add(&out, "\n", 1);
		if (out.len > 0 && (out.len < 2 ||
		    out.data[out.len - 2] != '\n'))
			buf_add(&out, "\n", 1);
		buf_add(&out, table, strlen(table));
	}
	if (!install) {
		/* The blank line install put before a table at the end. */
		for (i = last + 1; i < t.n && t.v[i].blank &&
		    t.v[i].len == 1; i++)
			;
		if (i == t.n && out.len >= 2 && out.data[out.len - 1] == '\n' &&
		    out.data[out.len - 2] == '\n')
			out.len--;
	}
	buf_add(&out, "", 1);
	e->text = xstrdup(out.data);
	e->shown = xstrdup(install ? table : mine.data);
	e->verb = !install ? "remove" : found ? "replace" : "add";
	rc = 1;
out:
	free(table);
	buf_free(&out);
	buf_free(&mine);
	free(t.v);
	return (rc);
}

/*
 * Is our table in text: 1 (and the string of its command = "...", if any,
 * with simple escapes), 0, or -1 if the text is refused.
 */
static int
mcp_toml_lookup(const char *path, const char *text, char **command,
    char **cause)
{
	struct mcp_toml	 t;
	struct buf	 b;
	const char	*p;
	char		 k[2][MCP_TOML_KEY];
	u_int		 i;
	int		 found = 0;

	if (mcp_toml_parse(path, text, &t, cause) != 0)
		return (-1);
	for (i = 0; i < t.n; i++) {
		if (!t.v[i].ours)
			continue;
		found = 1;
		p = t.v[i].start;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*command != NULL || t.v[i].header || t.v[i].blank ||
		    mcp_toml_key(&p, '=', k) != 1 || strcmp(k[0], "command") != 0)
			continue;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p++ != '"')
			continue;
		buf_init(&b);
		for (; *p != '"' && *p != '\n' && *p != '\0'; p++) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			buf_add(&b, p, 1);
		}
		buf_add(&b, "", 1);
		*command = b.data;
	}
	free(t.v);
	return (found);
}

/* ------------------------------------------------------------ files */

/* Make the directories above path that are missing, 0700. */
static int
mcp_mkdirs(const char *path, char **cause)
{
	char	*copy = xstrdup(path), *p;
	int	 rc = 0;

	for (p = copy + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		if (mkdir(copy, S_IRWXU) != 0 && errno != EEXIST) {
			xasprintf(cause, "cannot create %s: %s", copy,
			    strerror(errno));
			rc = -1;
			break;
		}
		*p = '/';
	}
	free(copy);
	return (rc);
}

/*
 * Write text to path (through a symlink to its target), with the mode the
 * file had, after copying what it had to a backup beside it.
 */
/* Where a (dangling) symlink points, as a path. */
static int
mcp_link_target(const char *path, char *out, size_t len)
{
	char	 link[PATH_MAX], *slash;
	ssize_t	 n;

	if ((n = readlink(path, link, sizeof link - 1)) <= 0)
		return (-1);
	link[n] = '\0';
	if (*link == '/' || (slash = strrchr(path, '/')) == NULL) {
		if (strlcpy(out, link, len) >= len)
			return (-1);
	} else if ((size_t)snprintf(out, len, "%.*s/%s", (int)(slash - path),
	    path, link) >= len)
		return (-1);
	return (0);
}

static int
mcp_write(const char *path, const char *old, size_t oldlen, const char *text,
    char **backup, char **cause)
{
	char		 real[PATH_MAX];
	const char	*target = path;
	struct stat	 sb;
	mode_t		 mode = S_IRUSR|S_IWUSR;

	*backup = NULL;
	if (old != NULL) {
		if (realpath(path, real) != NULL)
			target = real;
		if (stat(target, &sb) == 0)
			mode = sb.st_mode & 07777;
		/*
		 * The first backup is the file as it was before loopsy ever
		 * changed it: later changes keep it.
		 */
		xasprintf(backup, "%s.loopsy-backup", target);
		if (access(*backup, F_OK) != 0 &&
		    file_write_atomic(*backup, old, oldlen, mode, cause) != 0)
			return (-1);
	} else {
		if (mcp_mkdirs(path, cause) != 0)
			return (-1);
		/* A symlink to a file not made yet: write where it points. */
		if (lstat(path, &sb) == 0 && S_ISLNK(sb.st_mode) &&
		    mcp_link_target(path, real, sizeof real) == 0)
			target = real;
	}
	return (file_write_atomic(target, text, strlen(text), mode, cause));
}

/* Read a config: 0 and *text NULL if it is not there. */
static int
mcp_read(const char *path, char **text, size_t *len, char **cause)
{
	*len = 0;
	if ((*text = file_read(path, MCP_MAX_CONFIG, len, cause)) != NULL)
		return (0);
	return (*cause != NULL ? -1 : 0);
}

static const struct mcp_agent *
mcp_agent_find(const char *name)
{
	u_int	i;

	for (i = 0; i < MCP_NAGENTS; i++) {
		if (strcmp(mcp_agents[i].name, name) == 0)
			return (&mcp_agents[i]);
	}
	return (NULL);
}

/* Install or uninstall for one agent; -1 with the error set. */
static int
mcp_change(struct cmd_ctx *ctx, const struct mcp_agent *a, const char *exe,
    const char *home, int install, int dry)
{
	char		*path = a->path(), *old = NULL, *cause = NULL;
	char		*backup = NULL;
	size_t		 len;
	struct mcp_edit	 e;
	int		 rc = -1, n;

	memset(&e, 0, sizeof e);
	if (mcp_read(path, &old, &len, &cause) != 0)
		goto out;
	if (old == NULL && !install) {
		cmd_print(ctx, "%s: %s does not exist: nothing to remove\n",
		    a->name, path);
		rc = 0;
		goto out;
	}
	if (a->format == MCP_JSON)
		n = mcp_json_edit(a, path, old, exe, home, install, &e, &cause);
	else
		n = mcp_toml_edit(path, old, exe, home, install, &e, &cause);
	if (n == -1)
		goto out;
	rc = 0;
	if (n == 0) {
		cmd_print(ctx, "%s: loopsy is %s in %s%s\n", a->name, install ?
		    "already registered" : "not registered", path, install ?
		    "" : ": nothing to remove");
		goto out;
	}
	if (dry) {
		cmd_print(ctx, "%s: would %s this %s %s (nothing written):\n%s",
		    a->name, e.verb, strcmp(e.verb, "add") == 0 ? "to" :
		    "in", path, e.shown);
		goto out;
	}
	if (mcp_write(path, old, len, e.text, &backup, &cause) != 0) {
		rc = -1;
		goto out;
	}
	cmd_print(ctx, "%s: %s loopsy %s %s (%s)", a->name,
	    strcmp(e.verb, "add") == 0 ? "added" :
	    strcmp(e.verb, "replace") == 0 ? "replaced" : "removed",
	    strcmp(e.verb, "add") == 0 ? "to" : strcmp(e.verb, "replace") ==
	    0 ? "in" : "from", path, a->what);
	if (backup != NULL)
		cmd_print(ctx, " (backup: %s)", backup);
	cmd_print(ctx, "%s\n", install ? "; restart it to use loopsy" : "");
out:
	if (rc != 0)
		cmd_error(ctx, "mcp", "%s: %s; nothing was changed", a->name,
		    cause);
	free(e.text);
	free(e.shown);
	free(backup);
	free(cause);
	free(old);
	free(path);
	return (rc);
}

static enum cmd_retval
mcp_run(struct cmd_ctx *ctx, int install)
{
	struct args	*args = ctx->args;
	char		*exe = NULL, *home = NULL, *cause = NULL;
	int		 i, dry = args_has_long(args, "dry-run"), failed = 0;

	/* "mcp install claude --dry-run": the flag after the agent too. */
	for (i = 0; i < args->argc; i++) {
		if (strcmp(args->argv[i], "--dry-run") == 0)
			dry = 1;
		else if (mcp_agent_find(args->argv[i]) == NULL) {
			cmd_error(ctx, "usage", "unknown agent: %s (one of "
			    "claude, codex, gemini, opencode)", args->argv[i]);
			return (CMD_ERROR);
		}
	}
	if (install && (exe = mcp_exe(&cause)) == NULL) {
		cmd_error(ctx, "mcp", "%s", cause);
		free(cause);
		return (CMD_ERROR);
	}
	home = mcp_loopsy_home();
	for (i = 0; i < args->argc; i++) {
		if (strcmp(args->argv[i], "--dry-run") == 0)
			continue;
		if (mcp_change(ctx, mcp_agent_find(args->argv[i]), exe, home,
		    install, dry) != 0)
			failed = 1;
	}
	free(home);
	free(exe);
	return (failed ? CMD_ERROR : CMD_OK);
}

static enum cmd_retval
cmd_mcp_install(struct cmd_ctx *ctx)
{
	return (mcp_run(ctx, 1));
}

static enum cmd_retval
cmd_mcp_uninstall(struct cmd_ctx *ctx)
{
	return (mcp_run(ctx, 0));
}

/*
 * For doctor: is loopsy in agent i's config, and what does it run?
 * *command is NULL unless MCP_REG_PRESENT (and may be NULL then too).
 */
enum mcp_reg
mcp_agent_registered(u_int i, char **command, char **cause)
{
	const struct mcp_agent	*a = &mcp_agents[i];
	char			*path = a->path(), *text = NULL;
	cJSON			*root = NULL, *o, *c;
	size_t			 len;
	enum mcp_reg		 r = MCP_REG_ERROR;

	*command = NULL;
	*cause = NULL;
	if (mcp_read(path, &text, &len, cause) != 0)
		goto out;
	r = MCP_REG_NOCONFIG;
	if (text == NULL)
		goto out;
	r = MCP_REG_ABSENT;
	if (a->format == MCP_TOML) {
		switch (mcp_toml_lookup(path, text, command, cause)) {
		case -1:
			r = MCP_REG_ERROR;
			break;
		case 1:
			r = MCP_REG_PRESENT;
			break;
		}
		goto out;
	}
	if ((root = mcp_json_parse(path, text, cause)) == NULL) {
		r = MCP_REG_ERROR;
		goto out;
	}
	o = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(
	    root, a->key), MCP_NAME);
	if (o == NULL)
		goto out;
	r = MCP_REG_PRESENT;
	c = cJSON_GetObjectItemCaseSensitive(o, "command");
	if (cJSON_IsArray(c))
		c = cJSON_GetArrayItem(c, 0);
	if (cJSON_IsString(c))
		*command = xstrdup(c->valuestring);
out:
	if (r == MCP_REG_ERROR && *cause == NULL)
		xasprintf(cause, "%s: cannot read it", path);
	cJSON_Delete(root);
	free(text);
	free(path);
	return (r);
}

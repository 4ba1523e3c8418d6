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
#include <fcntl.h>
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

/*
 * Our entry over the one there: its keys set from ours, our LOOPSY_HOME
 * put in (or taken out of) its env, whatever else the user added kept.
 * Takes entry; returns the merged copy.
 */
static cJSON *
mcp_json_merge(const cJSON *cur, cJSON *entry, const char *home)
{
	cJSON		*m = cJSON_Duplicate(cur, 1), *e, *env, *mine;
	const char	*name;

	cJSON_ArrayForEach(e, entry) {
		name = e->string;
		env = cJSON_GetObjectItemCaseSensitive(m, name);
		if (cJSON_IsObject(e) && cJSON_IsObject(env)) {
			mine = cJSON_GetObjectItemCaseSensitive(e,
			    "LOOPSY_HOME");
			cJSON_DeleteItemFromObjectCaseSensitive(env,
			    "LOOPSY_HOME");
			cJSON_AddItemToObject(env, "LOOPSY_HOME",
			    cJSON_Duplicate(mine, 1));
			continue;
		}
		if (cJSON_GetObjectItemCaseSensitive(m, name) != NULL)
			cJSON_ReplaceItemInObjectCaseSensitive(m, name,
			    cJSON_Duplicate(e, 1));
		else
			cJSON_AddItemToObject(m, name, cJSON_Duplicate(e, 1));
	}
	if (home == NULL) {
		/* No LOOPSY_HOME now: take out the one an install put in. */
		cJSON_ArrayForEach(env, m) {
			if (!cJSON_IsObject(env) || (strcmp(env->string, "env")
			    != 0 && strcmp(env->string, "environment") != 0))
				continue;
			cJSON_DeleteItemFromObjectCaseSensitive(env,
			    "LOOPSY_HOME");
			if (env->child == NULL) {
				cJSON_DeleteItemFromObjectCaseSensitive(m,
				    env->string);
				break;
			}
		}
	}
	cJSON_Delete(entry);
	return (m);
}

/* The file had CRLF line ends: give it them back. */
static void
mcp_crlf(char **text)
{
	struct buf	 b;
	const char	*p;

	buf_init(&b);
	for (p = *text; *p != '\0'; p++) {
		if (*p == '\n' && (p == *text || p[-1] != '\r'))
			buf_add(&b, "\r", 1);
		buf_add(&b, p, 1);
	}
	buf_add(&b, "", 1);
	free(*text);
	*text = b.data;
}

static int
mcp_json_edit(const struct mcp_agent *a, const char *path, const char *old,
    const char *exe, const char *home, int install, struct mcp_edit *e,
    char **cause)
{
	cJSON		*root, *servers, *cur, *entry = NULL;
	const char	*p;
	int		 rc = -1;

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
		if (cJSON_IsObject(cur))
			entry = mcp_json_merge(cur, entry, home);
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
	if (old != NULL && (p = strchr(old, '\n')) != NULL && p > old &&
	    p[-1] == '\r')
		mcp_crlf(&e->text);
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
	int		 cont;		/* inside a value begun above */
	int		 n;		/* keys in its header or key, -1 none */
	char		 k[3][64];	/* the first three */
};

struct mcp_toml {
	struct mcp_toml_line *v;
	u_int		 n;
	const char	*eol;		/* "\n", or "\r\n" if the file has it */
};

#define MCP_TOML_KEY	64

/*
 * A dotted key at *pp ("a.b", "a . \"b\"", 'c'), stopping at stop; the
 * first three keys go to k, and *unknown has bit i set for a key i with
 * escapes, which this does not decode.  Returns the number of keys, or -1.
 */
static int
mcp_toml_key(const char **pp, char stop, char k[3][MCP_TOML_KEY],
    int *unknown)
{
	const char	*p = *pp, *s;
	int		 n = 0;
	size_t		 len;
	char		 q;

	k[0][0] = k[1][0] = k[2][0] = '\0';
	*unknown = 0;
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '"' || *p == '\'') {
			q = *p++;
			for (s = p; *p != q && *p != '\n' && *p != '\0'; p++) {
				if (q == '"' && *p == '\\') {
					if (n < 3)
						*unknown |= 1 << n;
					if (p[1] != '\0' && p[1] != '\n')
						p++;
				}
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
		if (n < 3) {
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

/*
 * Could the path of n keys (k, with unknown keys anything) name
 * mcp_servers.loopsy or something in it?  1 if exactly, 2 if only maybe.
 */
static int
mcp_toml_names_us(int n, char k[][MCP_TOML_KEY], int unknown)
{
	const char	*want[2] = { "mcp_servers", MCP_NAME };
	int		 i, maybe = 0;

	if (n < 2)
		return (0);
	for (i = 0; i < 2; i++) {
		if (unknown & (1 << i))
			maybe = 1;
		else if (strcmp(k[i], want[i]) != 0)
			return (0);
	}
	return (maybe ? 2 : 1);
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

static int
mcp_toml_refuse(const char *path, struct mcp_toml *t, char **cause)
{
	xasprintf(cause, "%s sets mcp_servers.%s in a form loopsy does not "
	    "edit (line %u): change it by hand", path, MCP_NAME, t->n);
	free(t->v);
	t->v = NULL;
	return (-1);
}

/*
 * Split text into lines and mark our table.  A key that makes
 * mcp_servers.loopsy some other way (dotted, inline), or a quoted key with
 * escapes that might, is refused.
 */
static int
mcp_toml_parse(const char *path, const char *text, struct mcp_toml *t,
    char **cause)
{
	const char		*p = text, *end, *s, *kp, *nl;
	struct mcp_toml_line	*l;
	char			 ml = '\0', path2[3][MCP_TOML_KEY];
	char			 tk[3][MCP_TOML_KEY];
	int			 depth = 0, n, tn = 0, ours = 0, unk, tunk = 0;
	int			 i, m, pn, punk;

	memset(t, 0, sizeof *t);
	memset(tk, 0, sizeof tk);
	nl = strchr(text, '\n');
	t->eol = (nl != NULL && nl > text && nl[-1] == '\r') ? "\r\n" : "\n";
	while (*p != '\0') {
		end = strchr(p, '\n');
		end = end != NULL ? end + 1 : p + strlen(p);
		t->v = xreallocarray(t->v, t->n + 1, sizeof *t->v);
		l = &t->v[t->n++];
		memset(l, 0, sizeof *l);
		l->start = p;
		l->len = end - p;
		l->n = -1;
		l->cont = (ml != '\0' || depth != 0);
		for (s = p; *s == ' ' || *s == '\t'; s++)
			;
		if (!l->cont && *s == '[') {
			l->header = 1;
			s += (s[1] == '[') ? 2 : 1;
			n = mcp_toml_key(&s, ']', l->k, &unk);
			l->n = n;
			m = n > 0 ? mcp_toml_names_us(n, l->k, unk) : 0;
			if (m == 2 || (m == 1 && l->start[strspn(l->start,
			    " \t")+ 1] == '['))	/* [[mcp_servers.loopsy]] */
				return (mcp_toml_refuse(path, t, cause));
			ours = (m == 1);
			tn = n <= 0 || l->start[strspn(l->start, " \t") + 1] ==
			    '[' ? -1 : n;	/* -1: none of ours there */
			memcpy(tk, l->k, sizeof tk);
			tunk = unk;
			l->ours = ours;
			p = end;
			continue;
		}
		l->ours = ours;
		if (l->cont) {
			mcp_toml_scan(s, end, &ml, &depth);
			p = end;
			continue;
		}
		l->blank = (*s == '#' || *s == '\n' || *s == '\r' ||
		    *s == '\0');
		kp = s;
		n = l->blank ? 0 : mcp_toml_key(&kp, '=', l->k, &unk);
		l->n = n;
		if (!ours && n > 0 && tn >= 0) {
			/* The key's whole path: the table's, then its own. */
			pn = 0;
			punk = 0;
			for (i = 0; i < tn && pn < 2; i++, pn++) {
				memcpy(path2[pn], tk[i], MCP_TOML_KEY);
				if (tunk & (1 << i))
					punk |= 1 << pn;
			}
			for (i = 0; i < n && pn < 2; i++, pn++) {
				memcpy(path2[pn], l->k[i], MCP_TOML_KEY);
				if (unk & (1 << i))
					punk |= 1 << pn;
			}
			if (mcp_toml_names_us(tn + n, path2, punk) != 0)
				return (mcp_toml_refuse(path, t, cause));
		}
		mcp_toml_scan(kp != s ? kp : s, end, &ml, &depth);
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

/* One "name = value" line of ours: command, args, env or LOOPSY_HOME. */
static void
mcp_toml_line(struct buf *b, const char *name, const char *exe,
    const char *home, const char *eol)
{
	if (strcmp(name, "command") == 0) {
		buf_printf(b, "command = ");
		mcp_toml_quote(b, exe);
	} else if (strcmp(name, "args") == 0)
		buf_printf(b, "args = [\"mcp\"]");
	else if (strcmp(name, "env") == 0) {
		buf_printf(b, "env = { LOOPSY_HOME = ");
		mcp_toml_quote(b, home);
		buf_printf(b, " }");
	} else {
		buf_printf(b, "%s = ", name);
		mcp_toml_quote(b, home);
	}
	buf_printf(b, "%s", eol);
}

static char *
mcp_toml_table(const char *exe, const char *home, const char *eol)
{
	struct buf	 b;

	buf_init(&b);
	buf_printf(&b, "[mcp_servers.%s]%s", MCP_NAME, eol);
	mcp_toml_line(&b, "command", exe, home, eol);
	mcp_toml_line(&b, "args", exe, home, eol);
	if (home != NULL)
		mcp_toml_line(&b, "env", exe, home, eol);
	buf_add(&b, "", 1);
	return (b.data);
}

/*
 * Our env = { ... } line with LOOPSY_HOME set to home (or taken out if
 * home is NULL), the other entries kept: 0, or -1 if it is not a simple
 * inline table on one line.
 */
static int
mcp_toml_env_inline(struct buf *b, const struct mcp_toml_line *l,
    const char *home)
{
	const char	*p = l->start, *end = l->start + l->len, *item, *ip;
	char		 k[3][MCP_TOML_KEY], q;
	struct buf	 items;
	int		 found = 0, depth = 0, unk, n;
	size_t		 prefix;

	p = strchr(p, '=') + 1;	/* a key line: there is one */
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p != '{')
		return (-1);
	prefix = p - l->start;
	buf_init(&items);
	for (item = ++p; p < end; p++) {
		if (*p == '"' || *p == '\'') {
			for (q = *p++; p < end && *p != q; p++) {
				if (q == '"' && *p == '\\')
					p++;
			}
			continue;
		}
		if (*p == '{' || *p == '[')
			depth++;
		else if ((*p == ']' || (*p == '}' && depth > 0)))
			depth--;
		else if (depth == 0 && (*p == ',' || *p == '}')) {
			while (item < p && (*item == ' ' || *item == '\t'))
				item++;
			n = (int)(p - item);
			while (n > 0 && (item[n - 1] == ' ' ||
			    item[n - 1] == '\t'))
				n--;
			ip = item;
			if (n > 0 && mcp_toml_key(&ip, '=', k, &unk) == 1 &&
			    (unk || strcmp(k[0], "LOOPSY_HOME") == 0)) {
				if (unk) {
					buf_free(&items);
					return (-1);
				}
				if (!found && home != NULL) {
					buf_printf(&items, "%sLOOPSY_HOME = ",
					    items.len ? ", " : "");
					mcp_toml_quote(&items, home);
				}
				found = 1;
			} else if (n > 0)
				buf_printf(&items, "%s%.*s", items.len ? ", " :
				    "", n, item);
			item = p + 1;
			if (*p == '}')
				break;
		}
	}
	if (p >= end) {
		buf_free(&items);
		return (-1);
	}
	if (!found && home != NULL) {
		buf_printf(&items, "%sLOOPSY_HOME = ", items.len ? ", " : "");
		mcp_toml_quote(&items, home);
	}
	if (items.len != 0) {
		buf_add(b, l->start, prefix);
		buf_printf(b, "{ %.*s }", (int)items.len, items.data);
		buf_add(b, p + 1, end - (p + 1));
	}
	buf_free(&items);
	return (0);
}

/* Our main table's key lines, and where env is. */
struct mcp_toml_ours {
	int		 command, args, anchor;	/* line numbers, -1 none */
	int		 env_inline, env_dotted, env_home, env_table;
	int		 env_table_home;
};

static int
mcp_toml_is(const struct mcp_toml_line *l, int n, const char *k0,
    const char *k1)
{
	return (l->n == n && strcmp(l->k[0], k0) == 0 &&
	    (k1 == NULL || strcmp(l->k[1], k1) == 0));
}

static void
mcp_toml_find(struct mcp_toml *t, struct mcp_toml_ours *o)
{
	u_int	 i;
	int	 main = 0, envt = 0;

	memset(o, 0xff, sizeof *o);	/* all -1 */
	o->env_dotted = 0;
	for (i = 0; i < t->n; i++) {
		const struct mcp_toml_line *l = &t->v[i];

		if (l->header) {
			main = l->ours && l->n == 2;
			envt = l->ours && l->n == 3 &&
			    strcmp(l->k[2], "env") == 0;
			if (main && o->anchor == -1)
				o->anchor = i;
			if (envt)
				o->env_table = i;
			continue;
		}
		if (!l->ours || l->cont || l->blank || l->n <= 0)
			continue;
		if (envt && mcp_toml_is(l, 1, "LOOPSY_HOME", NULL))
			o->env_table_home = i;
		if (!main)
			continue;
		if (mcp_toml_is(l, 1, "command", NULL))
			o->command = o->anchor = i;
		else if (mcp_toml_is(l, 1, "args", NULL))
			o->args = o->anchor = i;
		else if (mcp_toml_is(l, 1, "env", NULL))
			o->env_inline = i;
		else if (l->n >= 2 && strcmp(l->k[0], "env") == 0) {
			o->env_dotted = 1;
			if (mcp_toml_is(l, 2, "env", "LOOPSY_HOME"))
				o->env_home = i;
		}
	}
}

/* What our table lacks, after the last of command and args (or header). */
static void
mcp_toml_missing(struct buf *out, struct mcp_toml_ours *o, const char *exe,
    const char *home, const char *eol)
{
	if (out->len > 0 && out->data[out->len - 1] != '\n')
		buf_add(out, eol, strlen(eol));	/* a last line without one */
	if (o->command == -1)
		mcp_toml_line(out, "command", exe, home, eol);
	if (o->args == -1)
		mcp_toml_line(out, "args", exe, home, eol);
	if (home == NULL || o->env_table != -1 || o->env_inline != -1)
		return;
	if (o->env_dotted && o->env_home == -1)
		mcp_toml_line(out, "env.LOOPSY_HOME", exe, home, eol);
	else if (!o->env_dotted)
		mcp_toml_line(out, "env", exe, home, eol);
}

/*
 * Install over our table as it is: command and args replaced, our
 * LOOPSY_HOME set in env (inline, dotted or a subtable, as it is written),
 * every other key and subtable kept.
 */
static int
mcp_toml_merge(const char *path, struct mcp_toml *t, const char *exe,
    const char *home, struct buf *out, char **cause)
{
	struct mcp_toml_ours	 o;
	struct mcp_toml_line	*l;
	const char		*eol = t->eol;
	u_int			 i;
	int			 skip = 0, pending = 0;

	mcp_toml_find(t, &o);
	for (i = 0; i < t->n; i++) {
		l = &t->v[i];
		if (skip && l->cont)
			continue;
		skip = 0;
		if (pending) {	/* after the anchor's value, however long */
			mcp_toml_missing(out, &o, exe, home, eol);
			pending = 0;
		}
		if (!l->ours) {
			buf_add(out, l->start, l->len);
			continue;
		}
		if ((int)i == o.command || (int)i == o.args) {
			mcp_toml_line(out, (int)i == o.command ? "command" :
			    "args", exe, home, eol);
			skip = 1;
		} else if ((int)i == o.env_inline) {
			if ((i + 1 < t->n && t->v[i + 1].cont) ||
			    mcp_toml_env_inline(out, l, home) != 0) {
				xasprintf(cause, "%s: the env of mcp_servers.%s "
				    "is not an inline table on one line (line "
				    "%u): change it by hand", path, MCP_NAME,
				    i + 1);
				return (-1);
			}
		} else if ((int)i == o.env_home || (int)i == o.env_table_home) {
			if (home != NULL)
				mcp_toml_line(out, (int)i == o.env_home ?
				    "env.LOOPSY_HOME" : "LOOPSY_HOME", exe,
				    home, eol);
			skip = 1;
		} else
			buf_add(out, l->start, l->len);
		if ((int)i == o.env_table && o.env_table_home == -1 &&
		    home != NULL)
			mcp_toml_line(out, "LOOPSY_HOME", exe, home, eol);
		if ((int)i == o.anchor)
			pending = 1;
	}
	if (pending)
		mcp_toml_missing(out, &o, exe, home, eol);
	return (0);
}

static int
mcp_toml_edit(const char *path, const char *old, const char *exe,
    const char *home, int install, struct mcp_edit *e, char **cause)
{
	struct mcp_toml	 t;
	struct buf	 out, mine;
	char		*table = NULL;
	const char	*eol;
	size_t		 el;
	u_int		 i, last = 0;
	int		 found = 0, rc = 0;

	if (mcp_toml_parse(path, old != NULL ? old : "", &t, cause) != 0)
		return (-1);
	mcp_toml_trim(&t);
	eol = t.eol;
	el = strlen(eol);
	buf_init(&out);
	buf_init(&mine);
	for (i = 0; i < t.n; i++) {
		if (t.v[i].ours) {
			found = 1;
			last = i;
			buf_add(&mine, t.v[i].start, t.v[i].len);
		}
	}
	buf_add(&mine, "", 1);
	if (!install && !found)
		goto out;
	if (install) {
		table = mcp_toml_table(exe, home, eol);
		if (found) {
			if (mcp_toml_merge(path, &t, exe, home, &out,
			    cause) != 0) {
				rc = -1;
				goto out;
			}
			buf_add(&out, "", 1);
			if (strcmp(out.data, old) == 0)
				goto out;	/* just as we would write it */
			out.len--;
		} else {
			buf_add(&out, old != NULL ? old : "", old != NULL ?
			    strlen(old) : 0);
			if (out.len > 0 && out.data[out.len - 1] != '\n')
				buf_add(&out, eol, el);
			if (out.len > 0 && (out.len < 2 * el || memcmp(out.data +
			    out.len - 2 * el, eol, el) != 0))
				buf_add(&out, eol, el);
			buf_add(&out, table, strlen(table));
		}
	} else {
		for (i = 0; i < t.n; i++) {
			if (!t.v[i].ours)
				buf_add(&out, t.v[i].start, t.v[i].len);
		}
		/* The blank line install put before a table at the end. */
		for (i = last + 1; i < t.n && t.v[i].blank &&
		    t.v[i].len == el; i++)
			;
		if (i == t.n && out.len >= 2 * el && memcmp(out.data +
		    out.len - 2 * el, eol, el) == 0 && memcmp(out.data +
		    out.len - el, eol, el) == 0)
			out.len -= el;
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
	char		 k[3][MCP_TOML_KEY];
	u_int		 i;
	int		 found = 0, unk;

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
		    mcp_toml_key(&p, '=', k, &unk) != 1 || unk ||
		    strcmp(k[0], "command") != 0)
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

/* Has the file at path changed since was (st_nlink 0: it was not there)? */
static int
mcp_changed(const char *path, const struct stat *was)
{
	struct stat	 sb;

	if (stat(path, &sb) != 0)
		return (was->st_nlink != 0 || errno != ENOENT);
	return (was->st_nlink == 0 || sb.st_size != was->st_size ||
	    sb.st_mtim.tv_sec != was->st_mtim.tv_sec ||
	    sb.st_mtim.tv_nsec != was->st_mtim.tv_nsec ||
	    sb.st_ino != was->st_ino);
}

/*
 * Write text to a file beside target and rename it over target, unless
 * target changed since it was read (an agent or the user writing it too):
 * then nothing is changed.
 */
static int
mcp_replace(const char *target, const char *text, mode_t mode,
    const struct stat *was, char **cause)
{
	const char	*p;
	char		*tmp;
	size_t		 left;
	ssize_t		 n;
	int		 fd;

	xasprintf(&tmp, "%s.XXXXXX", target);
	if ((fd = mkstemp(tmp)) == -1) {
		xasprintf(cause, "cannot create a file beside %s: %s", target,
		    strerror(errno));
		free(tmp);
		return (-1);
	}
	for (p = text, left = strlen(text); left > 0; p += n, left -= n) {
		if ((n = write(fd, p, left)) == -1 && errno != EINTR)
			break;
		if (n == -1)
			n = 0;
	}
	if (left != 0 || fchmod(fd, mode) != 0 || fsync(fd) != 0) {
		xasprintf(cause, "cannot write %s: %s", tmp, strerror(errno));
		goto fail;
	}
	close(fd);
	fd = -1;
	if (mcp_changed(target, was)) {
		xasprintf(cause, "%s changed while we edited it; run it again",
		    target);
		goto fail;
	}
	if (rename(tmp, target) != 0) {
		xasprintf(cause, "cannot rename %s to %s: %s", tmp, target,
		    strerror(errno));
		goto fail;
	}
	free(tmp);
	return (0);
fail:
	if (fd != -1)
		close(fd);
	unlink(tmp);
	free(tmp);
	return (-1);
}

/*
 * Write text to path (through a symlink to its target), with the mode the
 * file had, after copying what it had to a backup beside it.  was is the
 * file as it was read.
 */
static int
mcp_write(const char *path, const char *old, size_t oldlen, const char *text,
    const struct stat *was, char **backup, char **cause)
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
	return (mcp_replace(target, text, mode, was, cause));
}

/*
 * Read a config: 0 and *text NULL if it is not there.  *was is its stat
 * from before the read (st_nlink 0 if it was not there).
 */
static int
mcp_read(const char *path, char **text, size_t *len, struct stat *was,
    char **cause)
{
	*len = 0;
	memset(was, 0, sizeof *was);
	if (stat(path, was) != 0)
		memset(was, 0, sizeof *was);
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
	struct stat	 was;
	struct mcp_edit	 e;
	int		 rc = -1, n;

	memset(&e, 0, sizeof e);
	if (mcp_read(path, &old, &len, &was, &cause) != 0)
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
	if (mcp_write(path, old, len, e.text, &was, &backup, &cause) != 0) {
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
	struct stat		 was;
	enum mcp_reg		 r = MCP_REG_ERROR;

	*command = NULL;
	*cause = NULL;
	if (mcp_read(path, &text, &len, &was, cause) != 0)
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

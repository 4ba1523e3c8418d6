/*
 * server/keys.c: the prefix key and what follows it.  Keys typed by an
 * attached client go to the active mode, to a binding after the prefix, or
 * to the session's program.  Defaults as in tmux, overridden by the
 * keys.bindings of config.yaml.
 */
#include <stdlib.h>
#include <string.h>

#include "server.h"

static const struct {
	const char	*key;
	const char	*command;
} keys_default[] = {
	{ "d", "detach-client" },
	{ "s", "choose-session" },
	{ "(", "switch-client -p" },
	{ ")", "switch-client -n" },
	{ "L", "switch-client -l" },
	{ "c", "new-session" },
	{ "$", "command-prompt -I '#S' -p rename-session "
	    "\"rename-session -- '%%'\"" },
	{ "[", "copy-mode" },
	{ "PPage", "copy-mode -u" },
	{ ":", "command-prompt" },
	{ "?", "list-keys" },
	{ "r", "refresh-client" },
};

/* What a read-only client may still do. */
static const char *keys_readonly_ok[] = {
	"detach-client", "choose-session", "switch-client", "copy-mode",
	"list-keys", "refresh-client"
};

static struct binding	*keys_table;
static u_int		 keys_n;

static void
keys_set(key_code key, const char *command)
{
	u_int	 i;

	for (i = 0; i < keys_n; i++) {
		if (keys_table[i].key == key) {
			free(keys_table[i].command);
			keys_table[i].command = xstrdup(command);
			return;
		}
	}
	keys_table = xreallocarray(keys_table, keys_n + 1, sizeof *keys_table);
	keys_table[keys_n].key = key;
	keys_table[keys_n++].command = xstrdup(command);
}

void
keys_free(void)
{
	u_int	 i;

	for (i = 0; i < keys_n; i++)
		free(keys_table[i].command);
	free(keys_table);
	keys_table = NULL;
	keys_n = 0;
}

void
keys_init(void)
{
	u_int	 i;

	keys_free();
	for (i = 0; i < nitems(keys_default); i++)
		keys_set(key_from_string(keys_default[i].key),
		    keys_default[i].command);
	keys_set(config.prefix, "send-prefix");
	for (i = 0; i < config.nbindings; i++) {
		if (*config.bindings[i].command == '\0')
			keys_unset(config.bindings[i].key);
		else
			keys_set(config.bindings[i].key,
			    config.bindings[i].command);
	}
}

void
keys_unset(key_code key)
{
	u_int	 i;

	for (i = 0; i < keys_n; i++) {
		if (keys_table[i].key != key)
			continue;
		free(keys_table[i].command);
		keys_table[i] = keys_table[--keys_n];
		return;
	}
}

const char *
keys_lookup(key_code key)
{
	u_int	 i;

	for (i = 0; i < keys_n; i++) {
		if (keys_table[i].key == key)
			return (keys_table[i].command);
	}
	return (NULL);
}

static int
keys_cmp(const void *a, const void *b)
{
	const struct binding	*ba = a, *bb = b;

	return (strcmp(ba->command, bb->command));
}

void
keys_list(struct buf *b)
{
	struct binding	*sorted;
	char		 name[64], prefix[64];
	u_int		 i;

	if (keys_n == 0)
		return;
	sorted = xreallocarray(NULL, keys_n, sizeof *sorted);
	memcpy(sorted, keys_table, keys_n * sizeof *sorted);
	qsort(sorted, keys_n, sizeof *sorted, keys_cmp);
	key_to_string(config.prefix, prefix, sizeof prefix);
	for (i = 0; i < keys_n; i++) {
		key_to_string(sorted[i].key, name, sizeof name);
		buf_printf(b, "%s %-8s %s\n", prefix, name, sorted[i].command);
	}
	free(sorted);
}

static int
keys_allowed_readonly(const char *command)
{
	u_int	 i;
	size_t	 n;

	for (i = 0; i < nitems(keys_readonly_ok); i++) {
		n = strlen(keys_readonly_ok[i]);
		if (strncmp(command, keys_readonly_ok[i], n) == 0 &&
		    (command[n] == '\0' || command[n] == ' '))
			return (1);
	}
	return (0);
}

void
keys_handle(struct client *c, key_code key)
{
	const char	*command;
	struct session	*s = c->session;

	if (c->mode != NULL) {
		c->mode->def->key(c, key);
		return;
	}
	if (c->flags & CLIENT_PREFIX) {
		c->flags &= ~CLIENT_PREFIX;
		server_client_schedule(c);
		if ((command = keys_lookup(key)) == NULL)
			return;
		if ((c->flags & CLIENT_READONLY) &&
		    !keys_allowed_readonly(command)) {
			server_client_message(c, "read-only client");
			return;
		}
		cmd_run_string(c, command);
		return;
	}
	if (key == config.prefix) {
		c->flags |= CLIENT_PREFIX;
		server_client_schedule(c);
		return;
	}
	if ((c->flags & CLIENT_READONLY) || s == NULL || s->dead)
		return;
	s->input_ms = now_ms();
	screen_key(s->screen, key);
}

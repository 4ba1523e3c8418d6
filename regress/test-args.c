/*
 * regress/test-args.c: command argument parsing as tmux users expect it
 * (grouped flags, values attached or separate, options stop at the first
 * argument), --long options, and sh-like splitting of command strings.
 */
#include <stdlib.h>
#include <string.h>

#include "server/server.h"
#include "regress/tap.h"

static struct args *
parse(const char *flags, const char *longs, const char *line, char **cause)
{
	struct args	*a;
	char		**argv, *c;
	int		 argc, i;

	if (cmd_split(line, &argc, &argv, &c) != 0)
		return (NULL);
	*cause = NULL;
	a = args_parse(flags, longs, argc, argv, cause);
	for (i = 0; i < argc; i++)
		free(argv[i]);
	free(argv);
	return (a);
}

static void
test_flags(void)
{
	struct args	*a;
	char		*cause;
	u_int		 it = 0;

	a = parse("ds:x:e:", "json", "-ds work -x120 -e A=1 -e B=2 vim -x y",
	    &cause);
	TAP_OK(a != NULL && args_has(a, 'd') &&
	    strcmp(args_get(a, 's'), "work") == 0 &&
	    strcmp(args_get(a, 'x'), "120") == 0,
	    "grouped_flags_and_attached_values_parse");
	TAP_OK(a != NULL && strcmp(args_next(a, 'e', &it), "A=1") == 0 &&
	    strcmp(args_next(a, 'e', &it), "B=2") == 0 &&
	    args_next(a, 'e', &it) == NULL, "repeated_flag_keeps_every_value");
	TAP_OK(a != NULL && a->argc == 3 && strcmp(a->argv[0], "vim") == 0 &&
	    strcmp(a->argv[1], "-x") == 0,
	    "options_stop_at_the_first_argument");
	args_free(a);

	a = parse("t:", "json,timeout:", "--json --timeout=5 -t x -- -y", &cause);
	TAP_OK(a != NULL && args_has_long(a, "json") &&
	    strcmp(args_get_long(a, "timeout"), "5") == 0 && a->argc == 1 &&
	    strcmp(a->argv[0], "-y") == 0,
	    "long_options_with_equals_and_double_dash_end");
	args_free(a);

	a = parse("t:", "timeout:", "--timeout 7", &cause);
	TAP_OK(a != NULL && strcmp(args_get_long(a, "timeout"), "7") == 0,
	    "long_option_value_may_be_the_next_argument");
	args_free(a);
}

static void
test_errors(void)
{
	struct args	*a;
	char		*cause;

	a = parse("d", "", "-q", &cause);
	TAP_OK(a == NULL && cause != NULL && strcmp(cause, "unknown flag -q") == 0,
	    "unknown_flag_is_named");
	free(cause);
	a = parse("s:", "", "-s", &cause);
	TAP_OK(a == NULL && strcmp(cause, "flag -s needs a value") == 0,
	    "missing_value_is_named");
	free(cause);
	a = parse("", "json", "--jsn", &cause);
	TAP_OK(a == NULL && strcmp(cause, "unknown option --jsn") == 0,
	    "unknown_long_option_is_named");
	free(cause);
	a = parse("", "json", "--json=1", &cause);
	TAP_OK(a == NULL && strcmp(cause, "option --json takes no value") == 0,
	    "value_for_a_plain_long_option_is_refused");
	free(cause);
	a = parse("x:", "", "-x 12a", &cause);
	args_number(a, 'x', 0, 1, 100, &cause);
	TAP_OK(cause != NULL && strstr(cause, "-x 12a") != NULL,
	    "bad_number_names_the_flag_and_value");
	free(cause);
	args_free(a);
}

static void
test_split(void)
{
	char	**argv, *cause;
	int	 argc, i;

	TAP_OK(cmd_split("rename-session -- 'my name' \"x\\\"y\" a\\ b",
	    &argc, &argv, &cause) == 0 && argc == 5 &&
	    strcmp(argv[2], "my name") == 0 && strcmp(argv[3], "x\"y") == 0 &&
	    strcmp(argv[4], "a b") == 0,
	    "split_honours_single_double_quotes_and_backslash");
	for (i = 0; i < argc; i++)
		free(argv[i]);
	free(argv);
	TAP_OK(cmd_split("say 'oops", &argc, &argv, &cause) == -1 &&
	    strcmp(cause, "unterminated ' quote") == 0,
	    "unterminated_quote_is_an_error");
	free(cause);
	TAP_OK(cmd_split("   ", &argc, &argv, &cause) == 0 && argc == 0,
	    "blank_line_splits_to_nothing");
	free(argv);
}

static void
test_table(void)
{
	const struct cmd_def	*def;
	char			*cause = NULL;

	def = cmd_find("ls", &cause);
	TAP_OK(def != NULL && strcmp(def->name, "list-sessions") == 0,
	    "alias_finds_its_command");
	def = cmd_find("rename-s", &cause);
	TAP_OK(def != NULL && strcmp(def->name, "rename-session") == 0,
	    "unique_prefix_finds_its_command");
	def = cmd_find("s", &cause);
	TAP_OK(def == NULL && strncmp(cause, "ambiguous command: s", 20) == 0,
	    "ambiguous_prefix_is_refused");
	free(cause);
	def = cmd_find("frobnicate", &cause);
	TAP_OK(def == NULL && strcmp(cause, "unknown command: frobnicate") == 0,
	    "unknown_command_is_named");
	free(cause);
}

int
main(void)
{
	test_flags();
	test_errors();
	test_split();
	test_table();
	return (tap_done());
}

/*
 * regress/test-args.c: command argument parsing as tmux users expect it
 * (grouped flags, values attached or separate, options stop at the first
 * argument), --long options, and sh-like splitting of command strings.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/server.h"

#include <cmocka.h>

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
t_free_argv(int argc, char **argv)
{
	int	 i;

	for (i = 0; i < argc; i++)
		free(argv[i]);
	free(argv);
}

/* Fixture: the args in *state are freed after the test, pass or fail. */
static int
t_free_args(void **state)
{
	if (*state != NULL)
		args_free(*state);
	return (0);
}

/* Flags: "-ds work -x120 -e A=1 -e B=2 vim -x y" with flags ds:x:e:. */
static int
t_flags(void **state)
{
	char	*cause = NULL;

	*state = parse("ds:x:e:", "json",
	    "-ds work -x120 -e A=1 -e B=2 vim -x y", &cause);
	free(cause);
	return (0);
}

static void
grouped_flags_and_attached_values_parse(void **state)
{
	struct args	*a = *state;

	assert_non_null(a);
	assert_true(args_has(a, 'd'));
	assert_string_equal(args_get(a, 's'), "work");
	assert_string_equal(args_get(a, 'x'), "120");
}

static void
repeated_flag_keeps_every_value(void **state)
{
	struct args	*a = *state;
	u_int		 it = 0;

	assert_non_null(a);
	assert_string_equal(args_next(a, 'e', &it), "A=1");
	assert_string_equal(args_next(a, 'e', &it), "B=2");
	assert_null(args_next(a, 'e', &it));
}

static void
options_stop_at_the_first_argument(void **state)
{
	struct args	*a = *state;

	assert_non_null(a);
	assert_int_equal(a->argc, 3);
	assert_string_equal(a->argv[0], "vim");
	assert_string_equal(a->argv[1], "-x");
}

static void
long_options_with_equals_and_double_dash_end(void **state)
{
	struct args	*a;
	char		*cause;

	*state = a = parse("t:", "json,timeout:",
	    "--json --timeout=5 -t x -- -y", &cause);
	assert_non_null(a);
	assert_true(args_has_long(a, "json"));
	assert_string_equal(args_get_long(a, "timeout"), "5");
	assert_int_equal(a->argc, 1);
	assert_string_equal(a->argv[0], "-y");
}

static void
long_option_value_may_be_the_next_argument(void **state)
{
	struct args	*a;
	char		*cause;

	*state = a = parse("t:", "timeout:", "--timeout 7", &cause);
	assert_non_null(a);
	assert_string_equal(args_get_long(a, "timeout"), "7");
}

/* Errors: the parse fails and cause says why. */
static void
t_assert_refused(const char *flags, const char *longs, const char *line,
    const char *why)
{
	struct args	*a;
	char		*cause;

	a = parse(flags, longs, line, &cause);
	assert_null(a);
	assert_non_null(cause);
	assert_string_equal(cause, why);
	free(cause);
}

static void
unknown_flag_is_named(void **state __unused)
{
	t_assert_refused("d", "", "-q", "unknown flag -q");
}

static void
missing_value_is_named(void **state __unused)
{
	t_assert_refused("s:", "", "-s", "flag -s needs a value");
}

static void
unknown_long_option_is_named(void **state __unused)
{
	t_assert_refused("", "json", "--jsn", "unknown option --jsn");
}

static void
value_for_a_plain_long_option_is_refused(void **state __unused)
{
	t_assert_refused("", "json", "--json=1",
	    "option --json takes no value");
}

static void
bad_number_names_the_flag_and_value(void **state)
{
	struct args	*a;
	char		*cause;

	*state = a = parse("x:", "", "-x 12a", &cause);
	assert_non_null(a);
	args_number(a, 'x', 0, 1, 100, &cause);
	assert_non_null(cause);
	assert_non_null(strstr(cause, "-x 12a"));
	free(cause);
}

/* Splitting command strings. */
static void
split_honours_single_double_quotes_and_backslash(void **state __unused)
{
	char	**argv, *cause;
	int	 argc;

	assert_int_equal(cmd_split(
	    "rename-session -- 'my name' \"x\\\"y\" a\\ b", &argc, &argv,
	    &cause), 0);
	assert_int_equal(argc, 5);
	assert_string_equal(argv[2], "my name");
	assert_string_equal(argv[3], "x\"y");
	assert_string_equal(argv[4], "a b");
	t_free_argv(argc, argv);
}

static void
unterminated_quote_is_an_error(void **state __unused)
{
	char	**argv, *cause;
	int	 argc;

	assert_int_equal(cmd_split("say 'oops", &argc, &argv, &cause), -1);
	assert_non_null(cause);
	assert_string_equal(cause, "unterminated ' quote");
	free(cause);
}

static void
blank_line_splits_to_nothing(void **state __unused)
{
	char	**argv, *cause;
	int	 argc;

	assert_int_equal(cmd_split("   ", &argc, &argv, &cause), 0);
	assert_int_equal(argc, 0);
	free(argv);
}

/* The command table. */
static void
alias_finds_its_command(void **state __unused)
{
	const struct cmd_def	*def;
	char			*cause = NULL;

	def = cmd_find("ls", &cause);
	assert_non_null(def);
	assert_string_equal(def->name, "list-sessions");
}

static void
unique_prefix_finds_its_command(void **state __unused)
{
	const struct cmd_def	*def;
	char			*cause = NULL;

	def = cmd_find("rename-s", &cause);
	assert_non_null(def);
	assert_string_equal(def->name, "rename-session");
}

static void
ambiguous_prefix_is_refused(void **state __unused)
{
	const struct cmd_def	*def;
	char			*cause = NULL, head[21];

	def = cmd_find("s", &cause);
	assert_null(def);
	assert_non_null(cause);
	/* The candidates follow. */
	snprintf(head, sizeof head, "%s", cause);
	assert_string_equal(head, "ambiguous command: s");
	free(cause);
}

static void
unknown_command_is_named(void **state __unused)
{
	const struct cmd_def	*def;
	char			*cause = NULL;

	def = cmd_find("frobnicate", &cause);
	assert_null(def);
	assert_non_null(cause);
	assert_string_equal(cause, "unknown command: frobnicate");
	free(cause);
}

static void
two_word_group_names_its_words(void **state __unused)
{
	const struct cmd_def	*def;
	char			*cause = NULL, *argv[] = { "context", "bogus" };

	assert_null(cmd_find("context", &cause));
	assert_string_equal(cause, "context needs one of: delete, get, list, "
	    "set");
	free(cause);
	cause = NULL;
	assert_int_equal(cmd_lookup(2, argv, &def, &cause), 0);
	assert_string_equal(cause, "unknown command: context bogus (context "
	    "takes: delete, get, list, set)");
	free(cause);
}

#define T_FREE(setup, test) \
	cmocka_unit_test_setup_teardown(test, setup, t_free_args)

int
main(void)
{
	const struct CMUnitTest args[] = {
		T_FREE(t_flags, grouped_flags_and_attached_values_parse),
		T_FREE(t_flags, repeated_flag_keeps_every_value),
		T_FREE(t_flags, options_stop_at_the_first_argument),
		T_FREE(NULL, long_options_with_equals_and_double_dash_end),
		T_FREE(NULL, long_option_value_may_be_the_next_argument),
		cmocka_unit_test(unknown_flag_is_named),
		cmocka_unit_test(missing_value_is_named),
		cmocka_unit_test(unknown_long_option_is_named),
		cmocka_unit_test(value_for_a_plain_long_option_is_refused),
		T_FREE(NULL, bad_number_names_the_flag_and_value),
		cmocka_unit_test(
		    split_honours_single_double_quotes_and_backslash),
		cmocka_unit_test(unterminated_quote_is_an_error),
		cmocka_unit_test(blank_line_splits_to_nothing),
		cmocka_unit_test(alias_finds_its_command),
		cmocka_unit_test(unique_prefix_finds_its_command),
		cmocka_unit_test(ambiguous_prefix_is_refused),
		cmocka_unit_test(unknown_command_is_named),
		cmocka_unit_test(two_word_group_names_its_words),
	};

	return (cmocka_run_group_tests(args, NULL, NULL));
}

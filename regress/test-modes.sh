#!/bin/sh
# The server-side modes seen through a real terminal (tmux as the outer
# terminal): the session chooser, ( and ), scrollback with search and copy,
# the command prompt (: and $) and the key bindings view (?).

if ! command -v tmux >/dev/null 2>&1; then
	echo "1..0 # SKIP no tmux"
	exit 0
fi
bin=${LOOPSY:-$(dirname "$0")/../loopsy}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/loopsy-modes.XXXXXX") || exit 1
export HOME="$tmp" LOOPSY_HOME="$tmp/home" TMUX_TMPDIR="$tmp"
unset TMUX LOOPSY
mkdir -p "$LOOPSY_HOME"
sock="$tmp/sock"
outer="tmux -S $tmp/tmux.sock -f /dev/null"

cleanup() {
	"$bin" -S "$sock" kill-server >/dev/null 2>&1
	$outer kill-server >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

n=0
ok() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		echo "# screen:"
		screen | sed 's/^/#   /'
	fi
}

lsy() { "$bin" -S "$sock" "$@"; }
screen() { $outer capture-pane -p -t outer 2>/dev/null; }
keys() { $outer send-keys -t outer "$@"; }

# Wait until the outer terminal shows a line matching the regex (5 s).
wait_screen() {
	deadline=$(($(date +%s) + 5))
	while ! screen | grep -Eq -- "$1"; do
		[ "$(date +%s)" -ge "$deadline" ] && return 1
		sleep 0.05
	done
	return 0
}

# Wait until a shell command prints exactly the expected text (5 s).
wait_output() {
	want=$1
	shift
	deadline=$(($(date +%s) + 5))
	while [ "$("$@" 2>/dev/null)" != "$want" ]; do
		[ "$(date +%s)" -ge "$deadline" ] && return 1
		sleep 0.05
	done
	return 0
}

attached() {
	lsy ls -F '#{session_name}:#{session_attached}' | sed -n 's/:1$//p'
}

lsy new -d -s alpha -x 100 -y 29 'seq 1 500; echo alpha-ready; sleep 1000'
lsy new -d -s beta -x 100 -y 29 'echo beta-here; sleep 1000'
$outer new -d -s outer -x 100 -y 30 "$bin -S $sock attach -t alpha"
wait_screen 'alpha-ready'
ok $? "attach_shows_session_alpha"

# Chooser: a list, a preview of the selected session, Enter switches.
keys C-b s
wait_screen '^\(1\) +beta +running'
ok $? "chooser_lists_every_session"
screen | grep -Eq '^\(0\) \*alpha +running +100x29 +1 attached'
ok $? "chooser_marks_current_session_attached"
keys Down
wait_screen '^── beta ' && wait_screen '^beta-here'
ok $? "chooser_previews_the_selected_session"
keys Enter
wait_output beta attached
ok $? "chooser_enter_switches_to_selected_session"
wait_screen '^\[beta\]'
ok $? "chooser_exits_after_switch"

keys C-b s
wait_screen '^\(0\)  alpha'
keys q
wait_screen '^beta-here'
ok $? "chooser_q_cancels"

# Sessions made and killed while the chooser is open come and go in it.
keys C-b s
wait_screen '^\(0\)  alpha'
lsy new -d -s gamma 'sleep 1000'
wait_screen '^\(2\)  gamma +running'
ok $? "chooser_lists_a_session_created_while_open"
lsy kill-session -t gamma
wait_screen '^\(1\) \*beta' && ! screen | grep -q gamma
ok $? "chooser_drops_a_session_killed_while_open"
keys q
wait_screen '^beta-here'

keys C-b s
wait_screen '^\(0\)  alpha'
keys 0
wait_output alpha attached
ok $? "chooser_digit_picks_that_row"

# ( and ) move between sessions.
keys C-b ')'
wait_output beta attached
ok $? "prefix_close_paren_switches_to_next_session"
keys C-b '('
wait_output alpha attached
ok $? "prefix_open_paren_switches_to_previous_session"

# Scrollback: g shows the oldest history, / finds an old line.
wait_screen 'alpha-ready'
keys C-b '['
wait_screen '\[0/[0-9]+\]'
ok $? "copy_mode_shows_position_indicator"
keys g
wait_screen '^1 +\[[0-9]+/[0-9]+\]$' && wait_screen '^5 *$'
ok $? "copy_mode_g_shows_top_of_history"
keys G / 2 3 7 Enter
wait_screen '^237 *$' && ! screen | grep -q 'alpha-ready'
ok $? "copy_mode_search_finds_old_line"
$outer display -p -t outer '#{cursor_x}' | grep -qx 0 &&
    screen | sed -n "$(($($outer display -p -t outer '#{cursor_y}') + 1))p" |
    grep -q '^237'
ok $? "copy_mode_search_moves_cursor_to_match"
keys / n o - s u c h Enter
wait_screen 'no match: no-such'
ok $? "copy_mode_search_reports_no_match"
keys q
wait_screen 'alpha-ready'
ok $? "copy_mode_q_exits"

# v starts a selection, Enter copies it with OSC 52 and leaves.
$outer set -g set-clipboard on
keys C-b '['
wait_screen '\[0/[0-9]+\]'
keys g v j Enter
wait_output "$(printf '1\n2')" $outer show-buffer
ok $? "copy_mode_selection_reaches_terminal_clipboard"
wait_screen 'alpha-ready'
ok $? "copy_mode_exits_after_copy"

# Prompt: ":" runs a command line, "$" renames through its template.
keys C-b :
wait_screen '^:'
keys -l 'rename-session gamma'
keys Enter
wait_output "$(printf 'beta\ngamma')" sh -c "$bin -S $sock ls -F '#{session_name}' | sort"
ok $? "prompt_runs_command_line"
keys C-b '$'
wait_screen '^\(rename-session\) gamma'
ok $? "rename_prompt_starts_with_session_name"
keys C-u
keys -l 'delta x'
keys BSpace BSpace Enter
wait_output "$(printf 'beta\ndelta')" sh -c "$bin -S $sock ls -F '#{session_name}' | sort"
ok $? "rename_prompt_renames_session"
keys C-b :
wait_screen '^:'
keys -l 'rename-session nope'
keys Escape
wait_screen '^\[delta\]'
lsy has-session -t =nope 2>/dev/null
[ $? -ne 0 ]
ok $? "prompt_escape_cancels"

# ?: the bindings in a view, q leaves it.
keys C-b '?'
wait_screen '^key bindings' && wait_screen 'C-b s +choose-session'
ok $? "list_keys_shows_bindings"
keys q
wait_screen 'alpha-ready'
ok $? "list_keys_view_q_exits"

# x in the chooser kills the selected session after a y.
keys C-b s
wait_screen '^\(1\)  beta'
keys Down x
wait_screen '^Kill session beta\? \(y/n\)'
ok $? "chooser_x_asks_before_killing"
keys y
wait_output delta sh -c "$bin -S $sock ls -F '#{session_name}'"
ok $? "chooser_kills_session_after_y"
keys q

echo "1..$n"

#!/usr/bin/python3
# Driving terminals from programs: send-keys, capture-pane, wait, run,
# display-message formats, new-session -c/-e.
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import *  # noqa

require("bash")

BASH = ("bash", "--norc", "--noprofile")


def bash_session(w, name, x=40, y=8):
    w.new(name, *BASH, x=x, y=y)
    w.lsy("send-keys", "-t", name, "PS1='$ '; clear", "Enter")
    w.wait_screen(name, r"\A\$\s*\Z")


def send_keys_names_and_literal():
    w = World()
    try:
        bash_session(w, "k")
        w.lsy("send-keys", "-t", "k", "echo", "Space", "one-$((1+1))",
              "Enter")
        w.wait_screen("k", r"^one-2$")
        ok(True, "send_keys_Space_and_Enter_are_key_names")

        w.lsy("send-keys", "-t", "k", "Up", "Enter")
        ok(poll_until(lambda: w.capture("k").count("one-2\n") == 2, 5),
           "send_keys_Up_recalls_shell_history", w.capture("k"))

        w.lsy("send-keys", "-t", "k", "cat", "Enter")
        w.wait_screen("k", r"^\$ cat\n\Z|^\$ cat\s*\n\s*\Z")
        w.lsy("send-keys", "-t", "k", "C-c")
        w.lsy("send-keys", "-t", "k", "echo after-$((3*3))", "Enter")
        ok(poll_until(w.screen_has("k", r"^after-9$"), 5),
           "send_keys_C_c_interrupts_the_program", w.capture("k"))

        w.lsy("send-keys", "-t", "k", "clear", "Enter")
        w.wait_screen("k", r"\A\$\s*\Z")
        w.lsy("send-keys", "-t", "k", "-l", "Enter C-c Up")
        ok(poll_until(lambda: w.lines("k")[0] == "$ Enter C-c Up", 5),
           "send_keys_l_sends_key_names_as_literal_text", w.lines("k")[:2])
        w.lsy("send-keys", "-t", "k", "C-u", "C-l")
        w.wait_screen("k", r"\A\$\s*\Z")
        ok(True, "send_keys_C_u_and_C_l_reach_readline")
        rc, out, err = w.lsy("send-keys", "-t", "nosuch", "x")
        is_eq((rc, err), (1, "no such session: nosuch\n"),
              "send_keys_to_missing_session_fails")
    finally:
        w.close()


def capture_pane_options():
    w = World()
    try:
        # 30 history lines, a 36-column line wrapped at 20, a coloured line;
        # the cursor ends on the empty last row.
        w.new("c", "sh", "-c", "seq -f 'h%g' 1 30; printf 'abcdefghijklmnop"
              "qrstuvwxyz0123456789\\n\\033[31mred\\033[0m \\033[1;4mbu"
              "\\033[0m\\n'; exec sleep 100", x=20, y=6)
        w.wait_screen("c", r"^red bu$")
        vis = w.capture("c").split("\n")
        is_eq(vis, ["h29", "h30", "abcdefghijklmnopqrst", "uvwxyz0123456789",
                    "red bu", "", ""],
              "capture_pane_p_prints_the_visible_screen")
        joined = w.capture("c", "-J").split("\n")
        ok("abcdefghijklmnopqrstuvwxyz0123456789" in joined and
           "abcdefghijklmnopqrst" not in joined,
           "capture_pane_J_joins_wrapped_lines", joined)
        esc = w.capture("c", "-e")
        ok(re.search(r"\x1b\[(0;)?31mred\x1b\[0?m", esc) is not None and
           re.search(r"\x1b\[(0;)?1;4mbu", esc) is not None,
           "capture_pane_e_keeps_sgr_colours", repr(esc))
        ok("\x1b" not in w.capture("c"), "capture_pane_without_e_is_plain")
        is_eq(w.capture("c", "-S", "2", "-E", "3"),
              "abcdefghijklmnopqrst\nuvwxyz0123456789\n",
              "capture_pane_S_E_select_visible_rows")
        full = w.capture("c", "-S", "-").split("\n")
        is_eq(full[:31], ["h%d" % i for i in range(1, 31)] +
              ["abcdefghijklmnopqrst"],
              "capture_pane_S_dash_starts_at_the_oldest_history_line")
        is_eq(w.capture("c", "-S", "-2", "-E", "-1"), "h27\nh28\n",
              "capture_pane_negative_S_E_reach_history")
        head = w.capture("c", "-S", "-", "-E", "0").split("\n")
        is_eq(head, ["h%d" % i for i in range(1, 30)] + [""],
              "capture_pane_S_dash_E_0_is_history_plus_first_row")
        is_eq(w.capture("c", "-S", "4", "-E", "-"), "red bu\n\n",
              "capture_pane_E_dash_ends_at_the_last_row")
        rc, out, err = w.lsy("capture-pane", "-p", "-t", "c", "--json")
        j = json.loads(out)
        ok(rc == 0 and j["session"] == "c" and j["width"] == 20 and
           j["height"] == 6 and j["text"].split("\n")[4] == "red bu" and
           j["cursor_y"] == 5 and j["cursor_x"] == 0 and j["history"] == 28,
           "capture_pane_json_has_text_size_cursor_history", out)
    finally:
        w.close()


def colours_and_utf8_survive_capture():
    w = World()
    try:
        bash_session(w, "u", x=40, y=6)
        w.lsy("send-keys", "-t", "u", "-l",
              "clear; printf '\\033[38;5;123mc256\\033[0m "
              "\\033[48;5;200mb256\\033[0m \\033[38;2;10;20;30mtrue\\033[0m "
              "\\033[48;2;1;2;3mtbg\\033[0m\\n\\u4e2d\\u6587 e\\u0301|\\n'")
        w.lsy("send-keys", "-t", "u", "Enter")
        w.wait_screen("u", r"\|$")
        esc = w.capture("u", "-e")
        ok(re.search(r"\x1b\[(0;)?38;5;123mc256", esc) is not None,
           "capture_e_keeps_256_colour_foreground", repr(esc))
        ok(re.search(r"\x1b\[(0;)?48;5;200mb256", esc) is not None,
           "capture_e_keeps_256_colour_background", repr(esc))
        ok(re.search(r"\x1b\[(0;)?38;2;10;20;30mtrue", esc) is not None,
           "capture_e_keeps_truecolor_foreground", repr(esc))
        ok(re.search(r"\x1b\[(0;)?48;2;1;2;3mtbg", esc) is not None,
           "capture_e_keeps_truecolor_background", repr(esc))
        lines = w.lines("u")
        is_eq(lines[1], "\u4e2d\u6587 e\u0301|",
              "capture_keeps_wide_and_combining_characters")
        rc, out, err = w.lsy("capture-pane", "-p", "-t", "u", "--json")
        j = json.loads(out)
        # the cursor sits after "$ " on the row below; wide chars take 2
        is_eq((j["cursor_x"], j["cursor_y"]), (2, 2),
              "cursor_position_after_wide_and_combining_chars")
        w.lsy("send-keys", "-t", "u", "-l", "printf '\\u4e2d\\u6587\\u4e2d'")
        w.lsy("send-keys", "-t", "u", "Enter")
        w.wait_screen("u", "^\u4e2d\u6587\u4e2d")
        ok(True, "utf8_send_keys_literal_reaches_program")
    finally:
        w.close()


def titles_and_formats():
    w = World()
    try:
        bash_session(w, "t", x=50, y=7)
        w.lsy("send-keys", "-t", "t", "-l",
              "printf '\\033]2;mytitle\\007'; echo set")
        w.lsy("send-keys", "-t", "t", "Enter")
        ok(poll_until(lambda: w.fmt("t", "#{pane_title}") == "mytitle", 5),
           "osc_2_sets_pane_title", w.fmt("t", "#{pane_title}"))
        w.lsy("send-keys", "-t", "t", "-l",
              "printf '\\033]0;other title\\007'")
        w.lsy("send-keys", "-t", "t", "Enter")
        ok(poll_until(lambda: w.fmt("t", "#{pane_title}") ==
                      "other title", 5), "osc_0_sets_pane_title")
        ok(w.ls_json()["t"]["title"] == "other title",
           "ls_json_shows_title")
        pid = w.ls_json()["t"]["pid"]
        w.lsy("send-keys", "-t", "t", "clear", "Enter")
        w.wait_screen("t", r"\A\$\s*\Z")
        is_eq(w.fmt("t", "#{session_name} #{session_width}x#{session_height}"
                    " #{cursor_x} #{cursor_y} #{pane_pid}"),
              "t 50x7 2 0 %d" % pid, "display_message_formats")
    finally:
        w.close()


def new_session_dir_and_env():
    w = World()
    try:
        d = os.path.join(w.tmp, "work dir")
        os.mkdir(d)
        w.new("e", "sh", "-c", 'printf "%s|%s\\n" "$PWD" "$FOO"; exec sh',
              x=60, y=5, extra=("-c", d, "-e", "FOO=bar baz"))
        w.wait_screen("e", r"\|")
        is_eq(w.lines("e")[0], "%s|bar baz" % d,
              "new_session_c_and_e_set_directory_and_environment")
        w.new("term", "sh", "-c", 'echo "T=$TERM"; exec sh', x=60, y=5)
        w.wait_screen("term", r"^T=")
        t = w.lines("term")[0]
        ok(t in ("T=xterm-256color", "T=tmux-256color", "T=screen-256color",
                 "T=loopsy"),
           "sessions_get_a_sensible_TERM", t)
    finally:
        w.close()


def wait_command():
    w = World()
    try:
        w.new("ex", "sh", "-c", "echo out; read x; exit 4", x=40, y=5)
        w.wait_screen("ex", "^out")
        w.lsy("send-keys", "-t", "ex", "Enter")
        rc, out, err = w.lsy("wait", "-t", "ex", "--exit", "--timeout", 10)
        is_eq((rc, out), (4, "exited 4\n"),
              "wait_exit_prints_status_and_exits_with_it")
        rc, out, err = w.lsy("wait", "-t", "ex", "--exit", "--json")
        j = json.loads(out) if out else {}
        ok(rc == 4 and j.get("name") == "ex" and j.get("exit") == 4 and
           j.get("status") == "exited",
           "wait_exit_json_reports_the_session", out)

        w.new("kill", "sh", "-c", "kill -TERM $$", x=40, y=5)
        rc, out, err = w.lsy("wait", "-t", "kill", "--exit", "--timeout", 10)
        ok(rc == 128 + 15 and out.startswith("exited") or
           "signal" in out or "killed" in out,
           "wait_exit_reports_death_by_signal", (rc, out))

        bash_session(w, "txt")
        p = subprocess.Popen(w.argv("wait", "-t", "txt", "--text",
                                    r"^ready-[0-9]+$", "--timeout", 10),
                             env=w.env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        w.lsy("send-keys", "-t", "txt", "echo ready-$((7*6))", "Enter")
        out, err = p.communicate(timeout=15)
        is_eq((p.returncode, out.decode()), (0, "ready-42\n"),
              "wait_text_prints_the_matching_line")

        rc, out, err = w.lsy("wait", "-t", "txt", "--text", "never-here",
                             "--timeout", "0.5")
        ok(rc == 1 and "timed out" in err and err.count("\n") == 1,
           "wait_timeout_is_an_error_exit_1", (rc, err))

        w.new("busy", "sh", "-c",
              "i=0; while [ $i -lt 8 ]; do echo tick $i; i=$((i+1)); "
              "sleep 0.1; done; echo quiet-now; exec sleep 100", x=40, y=12)
        rc, out, err = w.lsy("wait", "-t", "busy", "--idle", 400,
                             "--timeout", 10)
        ok(rc == 0 and "quiet-now" in w.capture("busy"),
           "wait_idle_returns_after_output_goes_quiet",
           (rc, err, w.capture("busy")))
        rc, out, err = w.lsy("wait", "-t", "busy", "--idle", 100, "--json")
        try:
            j = json.loads(out)
        except ValueError:
            j = None
        ok(rc == 0 and isinstance(j, dict),
           "wait_idle_json_prints_a_json_object", (rc, out, err))
        rc, out, err = w.lsy("wait", "-t", "busy")
        ok(rc == 2 and "usage" in err, "wait_without_condition_is_usage_error",
           (rc, err))
        rc, out, err = w.lsy("wait", "-t", "nosuch", "--exit")
        is_eq((rc, err), (1, "no such session: nosuch\n"),
              "wait_on_missing_session_fails")
    finally:
        w.close()


def run_command():
    w = World()
    try:
        w.new("bystander", "sh")
        rc, out, err = w.lsy("run", "--", "sh", "-c",
                             "printf 'alpha\\nbeta\\n'; exit 5")
        is_eq((rc, out), (5, "alpha\nbeta\n"),
              "run_prints_output_and_exits_with_status")
        rc, out, err = w.lsy("run", "--", "sh", "-c",
                             "[ -t 0 ] && [ -t 1 ] && echo tty")
        is_eq((rc, out), (0, "tty\n"), "run_gives_the_program_a_terminal")
        rc, out, err = w.lsy("run", "--json", "--", "sh", "-c",
                             "echo json-out; exit 3")
        j = json.loads(out) if rc in (0, 3) and out else {}
        ok(rc == 3 and j.get("exit") == 3 and j.get("output") ==
           "json-out\n" and j.get("status") == "exited",
           "run_json_has_output_and_exit", out)
        rc, out, err = w.lsy("run", "--timeout", "0.5", "--", "sleep", "30")
        ok(rc == 1 and "timed out" in err,
           "run_timeout_is_an_error", (rc, err))
        rc, out, err = w.lsy("run", "--", "no-such-cmd-here")
        ok(rc == 1 and "command not found" in err,
           "run_missing_command_fails", (rc, err))
        names = sorted(w.ls_json())
        is_eq(names, ["bystander"], "run_leaves_no_sessions_behind")
    finally:
        w.close()


def alternate_screen_restores_shell():
    w = World()
    try:
        bash_session(w, "alt", x=40, y=6)
        w.lsy("send-keys", "-t", "alt", "echo before-alt", "Enter")
        # The next prompt too: keys typed before readline is back are
        # echoed twice (by the tty, then by readline), and the extra row
        # would scroll the screen.
        w.wait_screen("alt", r"^before-alt\n\$")
        before = w.lines("alt")
        w.lsy("send-keys", "-t", "alt", "-l",
              "printf '\\033[?1049h\\033[2J\\033[H%s-%s' IN-ALT SCREEN; "
              "read x; printf '\\033[?1049l'")
        w.lsy("send-keys", "-t", "alt", "Enter")
        w.wait_screen("alt", r"\AIN-ALT-SCREEN\s*\Z")
        ok(True, "program_draws_on_the_alternate_screen")
        w.lsy("send-keys", "-t", "alt", "Enter")
        w.wait_screen("alt", r"^\$\s*\Z")
        after = w.lines("alt")
        is_eq(after[:2], before[:2],
              "leaving_alternate_screen_restores_the_shell_screen")
        ok("IN-ALT-SCREEN" not in w.capture("alt", "-S", "-"),
           "alternate_screen_does_not_enter_history")
    finally:
        w.close()


for fn in (send_keys_names_and_literal, capture_pane_options,
           colours_and_utf8_survive_capture, titles_and_formats,
           new_session_dir_and_env, wait_command, run_command,
           alternate_screen_restores_shell):
    run_test(fn, fn.__name__)
done()

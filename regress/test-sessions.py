#!/usr/bin/python3
# Session lifecycle through the CLI: new, ls, has, kill, rename, targets,
# exit status kept, bad input, bad config, sockets and server start.
import os
import re
import signal
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import *  # noqa

require()

LS_LINE = re.compile(r"^(\S+): (running|exited \d+) \[(\d+)x(\d+)\] "
                     r"\(created .+\)( \(attached\))?$")


def list_sessions_default_format_names_each_session():
    w = World()
    try:
        w.new("alpha", "sh", x=80, y=24)
        w.new("beta", "sh", x=100, y=30)
        rc, out, err = w.lsy("list-sessions")
        lines = out.rstrip("\n").split("\n")
        ok(rc == 0 and len(lines) == 2 and
           all(LS_LINE.match(l) for l in lines) and
           lines[0].startswith("alpha: running [80x24]") and
           lines[1].startswith("beta: running [100x30]"),
           "list_sessions_default_format_names_each_session", out + err)
        rc, out, err = w.lsy("ls", "-F", "#{session_name}=#{session_width}x"
                             "#{session_height}")
        is_eq((rc, out), (0, "alpha=80x24\nbeta=100x30\n"),
              "list_sessions_format_flag_expands_formats")
    finally:
        w.close()


def list_sessions_json_has_the_documented_fields():
    w = World()
    try:
        w.new("jj", "sh", "-c", "sleep 100", x=90, y=20,
              extra=("-c", w.tmp))
        rc, out, err = w.lsy("ls", "--json")
        data = json.loads(out)
        s = data[0]
        want = {"name", "status", "pid", "command", "cwd", "width", "height",
                "created", "attached"}
        ok(rc == 0 and isinstance(data, list) and len(data) == 1 and
           want <= set(s) and s["name"] == "jj" and s["status"] ==
           "running" and s["width"] == 90 and s["height"] == 20 and
           s["attached"] == 0 and s["cwd"] == w.tmp and
           isinstance(s["pid"], int) and s["pid"] > 0 and
           "sleep 100" in s["command"],
           "list_sessions_json_has_the_documented_fields", out + err)
    finally:
        w.close()


def has_session_exit_codes():
    w = World()
    try:
        rc, out, err = w.lsy("has-session", "-t", "x")
        ok(rc == 1, "has_session_without_server_exits_1", (rc, err))
        w.new("work", "sh")
        rc1 = w.lsy("has-session", "-t", "work")[0]
        rc2, _, err2 = w.lsy("has-session", "-t", "nope")
        ok(rc1 == 0 and rc2 == 1 and "no such session: nope" in err2,
           "has_session_exit_0_if_present_1_if_absent", (rc1, rc2, err2))
    finally:
        w.close()


def kill_session_removes_only_that_session():
    w = World()
    try:
        w.new("keep", "sh")
        w.new("gone", "sh")
        pid = w.ls_json()["gone"]["pid"]
        rc, out, err = w.lsy("kill-session", "-t", "gone")
        names = sorted(w.ls_json())
        ok(rc == 0 and names == ["keep"],
           "kill_session_removes_only_that_session", (rc, err, names))

        def dead():
            try:
                os.kill(pid, 0)
                return False
            except ProcessLookupError:
                return True
        ok(poll_until(dead, 5), "kill_session_ends_the_sessions_program")
        rc, out, err = w.lsy("kill-session", "-t", "gone")
        is_eq((rc, err), (1, "no such session: gone\n"),
              "kill_session_of_missing_session_fails")
    finally:
        w.close()


def rename_session():
    w = World()
    try:
        w.new("old", "sh")
        w.new("other", "sh")
        rc, out, err = w.lsy("rename-session", "-t", "old", "new")
        names = sorted(w.ls_json())
        ok(rc == 0 and names == ["new", "other"],
           "rename_session_changes_the_name", (rc, err, names))
        rc, out, err = w.lsy("rename-session", "-t", "new", "other")
        ok(rc == 1 and "duplicate session: other" in err and
           sorted(w.ls_json()) == ["new", "other"],
           "rename_session_refuses_an_existing_name", (rc, err))
    finally:
        w.close()


def kill_server_ends_everything():
    w = World()
    try:
        w.new("a", "sh")
        w.new("b", "sh")
        pids = [s["pid"] for s in w.ls_json().values()]
        spid = w.server_pid()
        rc, out, err = w.lsy("kill-server")
        ok(rc == 0, "kill_server_succeeds", err)

        def all_dead():
            for p in pids + [spid]:
                try:
                    os.kill(p, 0)
                    return False
                except ProcessLookupError:
                    pass
            return True
        ok(poll_until(all_dead, 5), "kill_server_ends_server_and_programs")
        rc, out, err = w.lsy("ls")
        ok(rc == 1 and "no server running" in err,
           "ls_after_kill_server_says_no_server", (rc, err))
        ok(not os.path.exists(w.sock), "kill_server_removes_socket_file")
    finally:
        w.close()


def server_exits_when_last_session_goes():
    w = World()
    try:
        w.new("only", "sh")
        spid = w.server_pid()
        w.lsy("kill-session", "-t", "only")

        def gone():
            try:
                os.kill(spid, 0)
            except ProcessLookupError:
                return True
            # a zombie is not ours to reap; check /proc state
            try:
                with open("/proc/%d/stat" % spid) as f:
                    return f.read().split(") ")[1][0] == "Z"
            except OSError:
                return True
        ok(poll_until(gone, 5), "server_exits_when_last_session_is_killed")
    finally:
        w.close()


def target_resolution():
    w = World()
    try:
        w.new("alpha", "sh")
        w.new("alpine", "sh")
        w.new("beta", "sh")
        w.new("be", "sh")
        fmt = "#{session_name}"
        is_eq(w.fmt("alpha", fmt), "alpha", "target_exact_name")
        is_eq(w.fmt("bet", fmt), "beta", "target_unique_prefix")
        is_eq(w.fmt("be", fmt), "be",
              "target_exact_name_wins_over_longer_prefix_match")
        is_eq(w.fmt("=alpine", fmt), "alpine", "target_equals_exact")
        rc, out, err = w.lsy("display-message", "-p", "-t", "=alp", fmt)
        is_eq((rc, err), (1, "no such session: alp\n"),
              "target_equals_does_not_match_prefix")
        rc, out, err = w.lsy("display-message", "-p", "-t", "alp", fmt)
        ok(rc == 1 and err.startswith("ambiguous session: alp") and
           err.count("\n") == 1,
           "target_ambiguous_prefix_is_an_error", (rc, err))
        rc, out, err = w.lsy("has-session", "-t", "host:x")
        ok(rc == 1 and "host" in err and err.count("\n") == 1 and
           ("peer" in err),
           "target_host_prefix_names_the_unknown_peer", (rc, err))
    finally:
        w.close()


def exit_status_is_kept():
    w = World()
    try:
        w.new("seven", "sh", "-c", "echo bye; exit 7")
        w.new("live", "sh")
        rc, out, err = w.lsy("wait", "-t", "seven", "--exit", "--timeout", 10)
        is_eq((rc, out), (7, "exited 7\n"),
              "wait_exit_returns_the_programs_status")
        s = w.ls_json()
        ok(s is not None and "seven" in s and s["seven"]["status"] ==
           "exited" and s["seven"].get("exit") == 7,
           "detached_exited_session_stays_listed_with_its_status", s)
        rc, out, err = w.lsy("ls")
        ok(re.search(r"^seven: exited 7 ", out, re.M) is not None,
           "ls_shows_exited_status", out)
        ok(w.capture("seven").startswith("bye\n"),
           "exited_session_screen_still_capturable")
        rc, out, err = w.lsy("wait", "-t", "seven", "--exit")
        is_eq((rc, out), (7, "exited 7\n"),
              "wait_exit_on_already_exited_session_returns_status")
        w.lsy("kill-session", "-t", "seven")
        is_eq(sorted(w.ls_json()), ["live"],
              "kill_session_removes_exited_session")
    finally:
        w.close()


def bad_input():
    w = World()
    try:
        w.new("s", "sh")
        rc, out, err = w.lsy("frobnicate")
        ok(rc == 2 and "unknown command: frobnicate" in err and out == "",
           "unknown_command_exits_2_with_message", (rc, err))
        rc, out, err = w.lsy("list-sessions", "-Z")
        ok(rc == 2 and "unknown flag -Z" in err and "usage:" in err and
           out == "", "unknown_flag_exits_2_with_usage_on_stderr", (rc, err))
        rc, out, err = w.lsy("capture-pane", "-p", "-t", "nosuch")
        is_eq((rc, out, err), (1, "", "no such session: nosuch\n"),
              "no_such_session_exits_1_with_message")
        rc, out, err = w.lsy("new-session", "-d", "-s", "nc",
                             "nosuchcommand-xyz")
        ok(rc == 1 and "command not found: nosuchcommand-xyz" in err and
           "nc" not in w.ls_json(),
           "new_session_with_missing_command_fails_cleanly", (rc, err))
        for v in ("0", "99999", "abc", "-3"):
            rc, out, err = w.lsy("new-session", "-d", "-s", "bad", "-x", v,
                                 "-y", "10")
            ok(rc != 0 and ("-x %s" % v) in err and err.count("\n") == 1 and
               "bad" not in w.ls_json(),
               "new_session_rejects_width_%s" % v.replace("-", "minus"),
               (rc, err))
        rc, out, err = w.lsy("new-session", "-d", "-s", "s", "sh")
        ok(rc == 1 and "duplicate session: s" in err,
           "new_session_rejects_duplicate_name", (rc, err))
        ok(w.lsy("has-session", "-t", "s")[0] == 0,
           "server_still_fine_after_bad_input")
    finally:
        w.close()


def bad_config():
    cases = [
        ("unknown_key", "sessions:\n  historyLimit: 100\n  bogusKey: 1\n",
         r":3:3: .*bogusKey"),
        ("bad_yaml", "sessions:\n  historyLimit: [1, 2\n",
         r":3:1: |:2:\d+: "),
        ("bad_value", "status:\n  enabled: false\nsessions:\n"
         "  windowSize: bogus\n", r":4:15: .*windowSize"),
    ]
    for label, text, pat in cases:
        w = World(config=text)
        try:
            path = os.path.join(w.home, "config.yaml")
            rc, out, err = w.lsy("new-session", "-d", "-s", "x", "sh")
            first = err.split("\n")[0]
            ok(rc == 1 and first.startswith(path + ":") and
               re.search(pat, first) is not None and
               not os.path.exists(w.sock),
               "bad_config_%s_reports_file_line_col_and_starts_nothing" %
               label, (rc, err))
        finally:
            w.close()


def default_socket_dir_is_private():
    w = World()
    try:
        rc, out, err = w.lsy("-L", "priv", "new-session", "-d", "-s", "p",
                             "sh", sock=False)
        d = os.path.join(w.tmp, "loopsy-%d" % os.getuid())
        s = os.path.join(d, "priv")
        try:
            dm = stat.S_IMODE(os.stat(d).st_mode)
            sm = os.stat(s)
            ok(rc == 0 and dm == 0o700,
               "default_socket_dir_is_mode_0700", (rc, err, oct(dm)))
            ok(stat.S_ISSOCK(sm.st_mode) and
               stat.S_IMODE(sm.st_mode) == 0o600,
               "default_socket_is_mode_0600", oct(sm.st_mode))
        except OSError as e:
            ok(False, "default_socket_dir_is_mode_0700", e)
            ok(False, "default_socket_is_mode_0600", e)
        rc, out, err = w.lsy("-L", "priv", "has-session", "-t", "p",
                             sock=False)
        ok(rc == 0, "dash_L_name_reaches_the_same_server", err)
        w.lsy("-L", "priv", "kill-server", sock=False)
    finally:
        w.close()


def stale_socket_and_second_server():
    w = World()
    try:
        w.new("first", "sh")
        spid = w.server_pid()
        prog = w.ls_json()["first"]["pid"]
        os.kill(spid, signal.SIGKILL)
        try:
            os.kill(prog, signal.SIGKILL)
        except ProcessLookupError:
            pass
        ok(os.path.exists(w.sock), "socket_file_left_after_kill_9")
        rc, out, err = w.lsy("new-session", "-d", "-s", "second", "sh")
        ok(rc == 0 and sorted(w.ls_json() or {}) == ["second"],
           "new_session_cleans_up_a_stale_socket", (rc, err))

        if w.lsy("has-session", "-t", "second")[0] != 0:
            # no live server: start -F would (rightly) run in the foreground
            ok(False, "second_start_F_on_live_socket_says_already_running",
               "precondition failed: no server is running")
            return
        # it says so and waits for that server to go (see test-operate)
        p = subprocess.Popen(w.argv("start", "-F"), env=w.env, cwd=w.home,
                             stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
        line = p.stderr.readline().decode()
        p.kill()
        p.wait()
        ok("already running" in line and "waiting" in line,
           "second_start_F_on_live_socket_says_already_running", line)
        ok(w.lsy("has-session", "-t", "second")[0] == 0,
           "first_server_unharmed_by_second_start")
    finally:
        w.close()


def concurrent_new_sessions_share_one_server():
    w = World()
    try:
        procs = [subprocess.Popen(w.argv("new-session", "-d", "-s",
                                         "c%d" % i, "sh"), env=w.env,
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE) for i in range(6)]
        res = []
        for p in procs:
            out, err = p.communicate(timeout=20)
            res.append((p.returncode, err.decode()))
        names = sorted(w.ls_json() or {})
        ok(all(r[0] == 0 for r in res) and
           names == ["c%d" % i for i in range(6)],
           "concurrent_new_sessions_all_start_on_one_server", (res, names))
    finally:
        w.close()


for fn in (list_sessions_default_format_names_each_session,
           list_sessions_json_has_the_documented_fields,
           has_session_exit_codes, kill_session_removes_only_that_session,
           rename_session, kill_server_ends_everything,
           server_exits_when_last_session_goes, target_resolution,
           exit_status_is_kept, bad_input, bad_config,
           default_socket_dir_is_private, stale_socket_and_second_server,
           concurrent_new_sessions_share_one_server):
    run_test(fn, fn.__name__)
done()

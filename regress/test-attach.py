#!/usr/bin/python3
# Attached clients: detach/reattach, prefix keys, several clients on one
# session, read-only clients, window size policies, program exit.
#
# What a client shows is read back through a private tmux server used as
# its terminal (OuterTmux); the session's own content through capture-pane.
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import *  # noqa

require("tmux", "bash")

BASH = ("bash", "--norc", "--noprofile")


# The client's parting message is read with "-S -": tmux sometimes scrolls
# the dead pane by a row, moving it into the history.
def outer(w, cols, rows, *args):
    """A tmux pane of cols x rows running `loopsy attach args`, then the
    exit status as [rc=N]."""
    return w.tmux(cols, rows, w.shell_cmd("attach-session", *args) +
                  '; echo "[rc=$?]"')


def status_session(t):
    """The session name the client's status row (last row) shows."""
    rows = t.capture().rstrip("\n").split("\n")
    m = re.match(r"^\[([^\]]+)\]", rows[-1]) if rows else None
    return m.group(1) if m else None


def wait_status(t, name, timeout=10):
    return poll_until(lambda: status_session(t) == name, timeout)


def body(t, rows):
    """The first rows rows of the outer pane, right-trimmed."""
    return [l.rstrip() for l in t.capture().split("\n")[:rows]]


def reattach_restores_screen_and_scrollback():
    w = World()
    try:
        w.new("main", *BASH, x=60, y=12)
        w.lsy("send-keys", "-t", "main",
              "seq -f 'number %g' 1 200; echo DONE", "Enter")
        t = outer(w, 60, 13, "-t", "main")
        ok(poll_until(lambda: re.search(r"^DONE", t.capture(), re.M), 10),
           "attached_client_shows_program_output")
        t.keys("C-b", "d")
        got = poll_until(lambda: t.dead() and t.capture("-S", "-"), 10) or ""
        ok("[detached (from session main)]" in got and "[rc=0]" in got,
           "prefix_d_detaches_with_message_and_exit_0", got)
        ok(w.ls_json()["main"]["attached"] == 0,
           "session_keeps_running_after_detach")
        t.close()

        w.lsy("send-keys", "-t", "main", "echo after-detach", "Enter")
        w.wait_screen("main", r"^after-detach")
        want = w.lines("main")[:12]
        t2 = outer(w, 60, 13, "-t", "main")
        poll_until(lambda: body(t2, 12) == want, 10)
        is_eq(body(t2, 12), want, "reattach_restores_screen")
        hist = w.capture("main", "-S", "-").split("\n")
        ok("number 1" in hist and "number 200" in hist and
           hist.index("number 1") < hist.index("number 200"),
           "reattach_keeps_scrollback_from_line_1", hist[:5])
    finally:
        w.close()


def prefix_keys_switch_between_sessions():
    w = World()
    try:
        for n in ("one", "two", "three"):
            w.new(n, "sh", "-c", "echo I am %s; exec sh" % n, x=60, y=10)
        t = outer(w, 60, 11, "-t", "two")
        ok(wait_status(t, "two"), "client_status_row_names_its_session",
           t.capture())
        t.keys("C-b", ")")
        ok(wait_status(t, "three") and
           poll_until(lambda: "I am three" in t.capture(), 5),
           "prefix_close_paren_switches_to_next_session", t.capture())
        t.keys("C-b", ")")
        ok(wait_status(t, "one"), "next_session_wraps_around", t.capture())
        t.keys("C-b", "(")
        ok(wait_status(t, "three"), "prefix_open_paren_switches_to_previous",
           t.capture())
        t.keys("C-b", "(")
        ok(wait_status(t, "two") and
           poll_until(lambda: "I am two" in t.capture(), 5),
           "previous_session_shows_its_screen", t.capture())
        t.keys("C-b", "(")
        ok(wait_status(t, "one"), "previous_again", t.capture())
        t.keys("C-b", "L")
        ok(wait_status(t, "two"), "prefix_L_returns_to_last_session",
           t.capture())
        t.keys("C-b", "L")
        ok(wait_status(t, "one"), "prefix_L_toggles_back", t.capture())
        j = w.ls_json()
        ok(j["one"]["attached"] == 1 and j["two"]["attached"] == 0,
           "switching_moves_the_attached_count", j)
        # keys typed now go to the session the client shows
        t.keys("echo typed-in-$((40+2))", "Enter")
        ok(poll_until(lambda: "typed-in-42" in w.capture("one"), 5) and
           "typed-in" not in w.capture("two"),
           "typing_after_switch_reaches_the_shown_session")
    finally:
        w.close()


def prefix_c_creates_a_session():
    w = World()
    try:
        w.new("first", "sh", x=60, y=10)
        t = outer(w, 60, 11, "-t", "first")
        wait_status(t, "first")
        t.keys("C-b", "c")
        names = poll_until(lambda: len(w.ls_json()) == 2 and w.ls_json(), 5)
        new = [n for n in (names or {}) if n != "first"]
        ok(len(new) == 1, "prefix_c_creates_a_new_session", names)
        if new:
            ok(wait_status(t, new[0]) and
               w.ls_json()[new[0]]["attached"] == 1,
               "prefix_c_switches_the_client_to_it", t.capture())
            t.keys("C-b", "L")
            ok(wait_status(t, "first"), "prefix_L_goes_back_after_c",
               t.capture())
    finally:
        w.close()


def two_clients_see_the_same_output():
    w = World()
    try:
        w.new("shared", *BASH, x=60, y=10)
        a = outer(w, 60, 11, "-t", "shared")
        b = outer(w, 60, 11, "-t", "shared")
        wait_status(a, "shared")
        wait_status(b, "shared")
        ok(w.ls_json()["shared"]["attached"] == 2,
           "ls_counts_two_attached_clients")
        a.keys("echo typed-by-a-$((6*7))", "Enter")
        ok(poll_until(lambda: re.search(r"^typed-by-a-42", b.capture(),
                                        re.M), 5),
           "second_client_sees_what_first_typed", b.capture())
        b.keys("echo typed-by-b-$((6*8))", "Enter")
        ok(poll_until(lambda: re.search(r"^typed-by-b-48", a.capture(),
                                        re.M), 5),
           "first_client_sees_what_second_typed", a.capture())
        poll_until(lambda: body(a, 10) == body(b, 10), 5)
        is_eq(body(a, 10), body(b, 10), "both_clients_show_identical_screens")
    finally:
        w.close()


def read_only_client():
    w = World()
    try:
        w.new("ro", *BASH, x=60, y=10)
        rw = outer(w, 60, 11, "-t", "ro")
        wait_status(rw, "ro")
        r = outer(w, 100, 31, "-r", "-t", "ro")
        ok(wait_status(r, "ro"), "read_only_client_attaches", r.capture())
        is_eq(w.fmt("ro", "#{session_width}x#{session_height}"), "60x10",
              "read_only_attach_does_not_resize")
        r.keys("echo from-readonly", "Enter")
        r.resize(120, 41)
        r.keys("x")
        # barrier: something the writable client types arrives afterwards
        rw.keys("echo from-$((1+1))-writer", "Enter")
        w.wait_screen("ro", r"^from-2-writer")
        w.lsy("wait", "-t", "ro", "--idle", 300, "--timeout", 5)
        ok("from-readonly" not in w.capture("ro"),
           "read_only_client_keys_never_reach_the_program", w.capture("ro"))
        ok(poll_until(lambda: re.search(r"^from-2-writer", r.capture(),
                                        re.M), 5),
           "read_only_client_still_sees_output", r.capture())
        is_eq(w.fmt("ro", "#{session_width}x#{session_height}"), "60x10",
              "read_only_client_resize_does_not_resize_session")
        r.keys("C-b", "d")
        got = poll_until(lambda: r.dead() and r.capture("-S", "-"), 5) or ""
        ok("[detached (from session ro)]" in got,
           "read_only_client_can_still_detach", got)
    finally:
        w.close()


def session_size_follows_client_pty():
    w = World()
    try:
        w.new("sz", "sh", x=80, y=24)
        c = w.attach(70, 21, ["-t", "sz"])
        size = lambda: w.fmt("sz", "#{session_width}x#{session_height}")
        poll_until(lambda: size() == "70x20", 5)
        is_eq(size(), "70x20", "attach_sizes_session_to_client_minus_status")
        c.resize(100, 31)
        poll_until(lambda: size() == "100x30", 5)
        is_eq(size(), "100x30", "client_resize_resizes_session")
        c.resize(1, 2)
        poll_until(lambda: size() != "100x30", 5)
        c.resize(90, 26)
        poll_until(lambda: size() == "90x25", 5)
        is_eq(size(), "90x25", "tiny_client_then_back_works")
        ok(c.alive(), "client_survives_tiny_resize")
        w.lsy("send-keys", "-t", "sz", "stty size", "Enter")
        ok(poll_until(lambda: "25 90" in w.capture("sz"), 5),
           "program_sees_the_new_size", w.capture("sz"))
        c.pump()
    finally:
        w.close()


def window_size_policy(policy, expect_both, leaver, expect_after):
    w = World(config="sessions:\n  windowSize: %s\n" % policy)
    try:
        w.new("pol", "sh", x=50, y=10)
        size = lambda: w.fmt("pol", "#{session_width}x#{session_height}")
        big = w.attach(80, 25, ["-t", "pol"])
        poll_until(lambda: size() == "80x24", 5)
        small = w.attach(60, 16, ["-t", "pol"])
        poll_until(lambda: w.ls_json()["pol"]["attached"] == 2 and
                   size() == expect_both, 5)
        big.pump(), small.pump()
        is_eq(size(), expect_both,
              "window_size_%s_with_two_clients" % policy)
        # typing in either client must not change a smallest/largest size
        small.write("true\r")
        big.write("true\r")
        w.lsy("wait", "-t", "pol", "--idle", 200, "--timeout", 5)
        is_eq(size(), expect_both,
              "window_size_%s_ignores_who_typed" % policy)
        (small if leaver == "small" else big).close()
        poll_until(lambda: size() == expect_after, 5)
        is_eq(size(), expect_after,
              "window_size_%s_after_%s_client_leaves" % (policy, leaver))
    finally:
        w.close()


def window_size_latest_follows_typing_client():
    w = World()
    try:
        w.new("lat", "sh", x=50, y=10)
        size = lambda: w.fmt("lat", "#{session_width}x#{session_height}")
        a = w.attach(80, 25, ["-t", "lat"])
        poll_until(lambda: size() == "80x24", 5)
        b = w.attach(60, 16, ["-t", "lat"])
        poll_until(lambda: w.ls_json()["lat"]["attached"] == 2, 5)
        b.write("true\r")
        poll_until(lambda: size() == "60x15", 5)
        is_eq(size(), "60x15", "window_size_latest_follows_client_that_typed")
        a.write("true\r")
        poll_until(lambda: size() == "80x24", 5)
        is_eq(size(), "80x24", "window_size_latest_switches_back_on_typing")
        a.pump(), b.pump()
    finally:
        w.close()


def program_exit_detaches_client():
    w = World()
    try:
        w.new("ex", *BASH, x=60, y=10)
        w.new("other", "sh", x=60, y=10)
        t = outer(w, 60, 11, "-t", "ex")
        wait_status(t, "ex")
        t.keys("exit 3", "Enter")
        got = poll_until(lambda: t.dead() and t.capture("-S", "-"), 10) or ""
        ok("[exited 3 (from session ex)]" in got and "[rc=0]" in got,
           "program_exit_detaches_client_with_status_message", got)
        ok(sorted(w.ls_json()) == ["other"],
           "attached_session_is_removed_when_its_program_exits",
           w.ls_json())
        c = w.attach(60, 11, ["-t", "other"])
        c.wait_output("other*")
        w.lsy("kill-session", "-t", "other")
        rc = c.wait_exit(10)
        ok(rc == 0 and b"[session killed (from session other)]" in c.buf,
           "kill_session_detaches_its_clients_with_message",
           (rc, c.buf[-120:]))
    finally:
        w.close()


def detach_client_command():
    w = World()
    try:
        w.new("dc", "sh", x=60, y=10)
        c1 = w.attach(60, 11, ["-t", "dc"])
        c2 = w.attach(60, 11, ["-t", "dc"])
        c1.wait_output("dc*")
        c2.wait_output("dc*")
        rc, out, err = w.lsy("detach-client", "-s", "dc")
        r1, r2 = c1.wait_exit(10), c2.wait_exit(10)
        ok(rc == 0 and r1 == 0 and r2 == 0 and
           b"[detached (from session dc)]" in c1.buf and
           b"[detached (from session dc)]" in c2.buf,
           "detach_client_s_detaches_every_client_of_the_session",
           (rc, err, r1, r2))
        ok(w.ls_json()["dc"]["attached"] == 0 and
           w.ls_json()["dc"]["status"] == "running",
           "session_survives_detach_client")
    finally:
        w.close()


def attach_errors():
    w = World()
    try:
        w.new("here", "sh")
        rc, out, err = w.lsy("attach-session", "-t", "here")
        ok(rc == 1 and "not a terminal" in err and
           w.ls_json()["here"]["attached"] == 0,
           "attach_without_a_terminal_fails_cleanly", (rc, err))
        c = w.attach(60, 11, ["-t", "nothere"])
        rc = c.wait_exit(10)
        ok(rc == 1 and b"no such session: nothere" in c.buf,
           "attach_to_missing_session_fails", (rc, c.buf))
    finally:
        w.close()


for fn in (reattach_restores_screen_and_scrollback,
           prefix_keys_switch_between_sessions, prefix_c_creates_a_session,
           two_clients_see_the_same_output, read_only_client,
           session_size_follows_client_pty,
           lambda: window_size_policy("smallest", "60x15", "small", "80x24"),
           lambda: window_size_policy("largest", "80x24", "big", "60x15"),
           window_size_latest_follows_typing_client,
           program_exit_detaches_client, detach_client_command,
           attach_errors):
    run_test(fn, getattr(fn, "__name__", "window_size_policy"))
done()

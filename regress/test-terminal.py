#!/usr/bin/python3
# regress/test-terminal.py: an attached client passes its terminal to the
# server (or, with LOOPSY_TTY_PASSING=0, relays it over the socket); either
# way typing reaches the program and the screen comes back, and the client
# leaves the terminal as it found it on every way out: detach, SIGTERM,
# SIGHUP, the server killed under it, and the session's program exiting.  Checked on the terminal itself: the
# termios settings after the client exits equal those before, and the client
# wrote the sequences that leave the alternate screen, show the cursor and
# turn off bracketed paste and mouse reporting.
import os
import signal
import termios

from harness import World, Terminal, ok, done, run_test, wait_until


def attached(w, name):
    t = Terminal(w, name)
    t.wait_output(b"[%s]" % name.encode())   # the status line is drawn
    raw = termios.tcgetattr(t.slave)
    ok(not (raw[3] & termios.ICANON) and not (raw[3] & termios.ECHO),
       "attached_client_puts_the_terminal_in_raw_mode_" + name)
    return t


def test_typing(w, passing):
    w.new("typ", "sh")
    t = attached(w, "typ")
    want = passing == "1"
    ok(wait_until(lambda: any(c.get("tty") == want for c in
                              w.stats()["clients"]), 10, what="tty flag"),
       "terminal_%s_to_the_server" % ("is_passed" if want else
                                      "is_relayed_not_passed"))
    os.write(t.master, b"echo typed-$((6*7))\r")
    t.wait_output(b"typed-42")
    ok(wait_until(w.screen_has("typ", r"^typed-42$"), 10),
       "typing_reaches_the_program_and_its_echo_the_terminal")
    os.write(t.master, b"\x02d")            # prefix, d
    ok(t.wait_exit() == 0 and t.restored(),
       "prefix_d_detaches_and_restores_the_terminal")
    w.lsy("kill-session", "-t", "typ")
    t.close()


def test_detach(w):
    w.new("det", "sh")
    t = attached(w, "det")
    w.lsy("detach-client", "-s", "det")
    ok(t.wait_exit() == 0 and t.restored(),
       "terminal_restored_after_detach")
    ok(b"[detached (from session det)]" in t.out,
       "detach_message_is_printed_after_restoring")
    t.close()


def test_signal(w, sig, name):
    w.new(name, "sh")
    t = attached(w, name)
    t.proc.send_signal(sig)
    ok(t.wait_exit() == 1 and t.restored(),
       "terminal_restored_after_" + signal.Signals(sig).name)
    ok(w.lsy("has-session", "-t", name)[0] == 0,
       "session_survives_its_client_getting_" + signal.Signals(sig).name)
    t.close()


def test_server_killed(w):
    w.new("srv", "sh")
    t = attached(w, "srv")
    os.kill(w.server_pid(), signal.SIGKILL)
    ok(t.wait_exit() == 1 and t.restored(),
       "terminal_restored_when_the_server_dies")
    ok(b"[lost server]" in t.out, "lost_server_is_said")
    t.close()


def test_program_exits(w):
    w.new("ex", "sh")
    t = attached(w, "ex")
    t.wait_output(b"$ ")
    os.write(t.master, b"exit 3\r")
    ok(t.wait_exit() == 0 and t.restored(),
       "terminal_restored_when_the_program_exits")
    ok(b"[exited 3 (from session ex)]" in t.out,
       "exit_status_is_said_when_the_program_exits")
    t.close()


def main():
    for passing in ("1", "0"):
        w = World()
        w.env["LOOPSY_TTY_PASSING"] = passing
        run_test(lambda: test_typing(w, passing), "typing")
        run_test(lambda: test_detach(w), "detach")
        run_test(lambda: test_signal(w, signal.SIGTERM, "term"), "sigterm")
        run_test(lambda: test_signal(w, signal.SIGHUP, "hup"), "sighup")
        run_test(lambda: test_program_exits(w), "program exits")
        run_test(lambda: test_server_killed(w), "server killed")
        w.close()
    done()


if __name__ == "__main__":
    main()

#!/usr/bin/python3
# regress/test-fidelity.py: what a program asks of its terminal reaches the
# attached client's real terminal, and what that terminal sends reaches the
# program encoded for the program's modes: bracketed paste, mouse reporting,
# OSC 52 clipboard, cursor shape.  Runs with the terminal passed to the
# server and relayed over the socket.
import os

from harness import World, Terminal, ok, done, run_test, wait_until

# Print, in hex, the first N bytes the program reads from its terminal.
READ_HEX = ("stty raw -echo; printf '%s'; echo ready; "
            "dd bs=1 count=%d 2>/dev/null | od -An -tx1 | tr -d '\\n'; "
            "echo; echo got-it; sleep 600")


def hexs(b):
    return " ".join("%02x" % x for x in b)


def program(w, name, setup, nbytes):
    w.new(name, "sh", "-c", READ_HEX % (setup, nbytes))
    t = Terminal(w, name)
    t.wait_output(b"[%s]" % name.encode())
    ok(wait_until(w.screen_has(name, r"^ready"), 10), name + "_ready")
    return t


def got(w, name, data):
    ok(wait_until(w.screen_has(name, r"got-it"), 10), name + "_read_done")
    text = w.capture(name, "-J")
    ok(hexs(data) in text, name + "_program_receives_" + hexs(data)[:23],
       text)


def test_paste(w, tag):
    t = program(w, "paste" + tag, "\\033[?2004h", 16)
    os.write(t.master, b"\033[200~hello\033[201~")
    got(w, "paste" + tag, b"\033[200~hello\033[201~"[:16])
    t.close()
    t = program(w, "plain" + tag, "", 5)
    os.write(t.master, b"\033[200~world\033[201~")
    got(w, "plain" + tag, b"world")
    t.close()


def test_mouse(w, tag):
    name = "mouse" + tag
    t = program(w, name, "\\033[?1000h\\033[?1006h", 9)
    ok(t.wait_output(b"\033[?1000h") and b"\033[?1006h" in t.pump(),
       "mouse_mode_is_turned_on_in_the_client_terminal" + tag)
    os.write(t.master, b"\033[<0;5;3M")
    got(w, name, b"\033[<0;5;3M")
    t.close()


def test_clipboard_and_cursor(w, tag):
    name = "osc" + tag
    # a clipboard write is an event for the clients attached at the time
    w.new(name, "sh", "-c", "read go; printf '\\033]52;c;aGVsbG8=\\007"
          "\\033[6 q'; echo printed; sleep 600")
    t = Terminal(w, name)
    t.wait_output(b"[%s]" % name.encode())
    w.lsy("send-keys", "-t", name, "Enter")
    ok(t.wait_output(b"\033]52;c;aGVsbG8=\007"),
       "osc52_reaches_the_client_terminal" + tag)
    ok(t.wait_output(b"\033[6 q"),
       "cursor_shape_reaches_the_client_terminal" + tag)
    t.close()


def main():
    for passing in ("1", "0"):
        w = World()
        w.env["LOOPSY_TTY_PASSING"] = passing
        tag = "" if passing == "1" else "_relayed"
        run_test(lambda: test_paste(w, tag), "paste")
        run_test(lambda: test_mouse(w, tag), "mouse")
        run_test(lambda: test_clipboard_and_cursor(w, tag), "osc")
        w.close()
    done()


if __name__ == "__main__":
    main()

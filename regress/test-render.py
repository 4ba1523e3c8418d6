#!/usr/bin/python3
# Rendering fidelity: a program shown through an attached loopsy client must
# look exactly as it does on a bare terminal.  Two private tmux servers of
# the same size are the terminals: one runs the program directly, the other
# runs `loopsy attach` to a session running the same program (status line
# off).  Their `capture-pane -p -e` must be identical.
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import *  # noqa

require("tmux", "vim", "less", "bash")

W, H = 80, 24


def sample_file(w):
    path = os.path.join(w.home, "sample.txt")
    with open(path, "w") as f:
        for i in range(1, 121):
            if i % 17 == 0:
                f.write("line %d: %s\n" % (i, "long " * 30))
            elif i % 11 == 0:
                f.write("line %d:\tcolumn\ttabs\u00e9 \u4e2d\u6587 end\n" % i)
            else:
                f.write("line %d: the quick brown fox jumps\n" % i)
    return path


# tmux's capture -e can end a row with attribute resets for trailing blank
# cells a program (or loopsy) erased explicitly; they draw nothing, so a row
# ending in resets only is compared without them.
TRAILING_RESETS = re.compile(r"(\x1b\[(0|39|49)?m)+$", re.M)


def screen(t):
    rc, out = t.cmd("capture-pane", "-p", "-e")
    out = TRAILING_RESETS.sub("", out)
    rc2, cur = t.cmd("display-message", "-p", "#{cursor_x},#{cursor_y}")
    return out, cur.strip()


def diff(a, b):
    al, bl = a.split("\n"), b.split("\n")
    out = []
    for i in range(max(len(al), len(bl))):
        x = al[i] if i < len(al) else None
        y = bl[i] if i < len(bl) else None
        if x != y:
            out.append("row %d bare:   %r" % (i, x))
            out.append("row %d loopsy: %r" % (i, y))
    return "\n".join(out[:40])


class Pair:
    """The same program on a bare tmux pane and through loopsy."""

    def __init__(self, w, name, command):
        self.w = w
        self.bare = w.tmux(W, H, command)
        w.new(name, "sh", "-c", command, x=W, y=H)
        self.lo = w.tmux(W, H, w.shell_cmd("attach-session", "-t", name))

    def keys(self, *keys):
        self.bare.keys(*keys)
        self.lo.keys(*keys)

    def settle(self, marker, timeout=10):
        """Both show marker and (within the deadline) the same screen."""
        for t in (self.bare, self.lo):
            poll_until(lambda: re.search(marker, t.capture(), re.M), timeout)
        poll_until(lambda: screen(self.bare) == screen(self.lo), timeout)
        return screen(self.bare), screen(self.lo)

    def check(self, marker, name):
        (b, bc), (l, lc) = self.settle(marker)
        seen = re.search(marker, self.bare.capture(), re.M) is not None
        ok(seen and b == l,
           name, diff(b, l) if b != l else "marker %r not seen:\n%s" %
           (marker, self.bare.capture()))
        is_eq(lc, bc, name + "_cursor")


def vim_renders_like_a_bare_terminal():
    w = World(config="status:\n  enabled: false\n")
    try:
        path = sample_file(w)
        p = Pair(w, "vim", "vim -u NONE -N -i NONE -n %s" % path)
        p.check(r"^line 1: (.|\n)*^line 21: ", "vim_first_screen_identical")
        p.keys(":set number hlsearch", "Enter")
        p.check(r"^ +1 line 1: ", "vim_number_column_identical")
        p.keys("/fox", "Enter")
        p.check(r"^/fox", "vim_search_highlight_identical")
        p.keys("G")
        p.check(r"^ *120 line 120", "vim_jump_to_end_identical")
        p.keys(":syntax on", "Enter", ":set ft=sh", "Enter")
        p.check(r"^:set ft=sh", "vim_syntax_colours_identical")
        p.keys("gg", "17G", "C-f")
        p.check(r"^ *3[0-9] line 3", "vim_page_down_over_wrapped_lines_identical")
        # C-\ C-n leaves insert mode at once; after Escape vim waits to
        # see whether a key code or a terminal reply follows, and on a
        # loaded machine the bare vim was seen still waiting 10 s later.
        p.keys("O", "inserted \u00e9\u4e2d text", "C-\\", "C-n")
        p.check(r"inserted \u00e9\u4e2d text", "vim_insert_utf8_identical")
        p.keys(":vsplit", "Enter")
        p.check(r"\u2502|\|", "vim_vertical_split_identical")
        p.keys(":q!", "Enter", ":q!", "Enter")
        # after vim exits: bare pane shows nothing; loopsy client leaves
        ok(poll_until(lambda: p.bare.dead() and p.lo.dead(), 10),
           "vim_quit_ends_both")
    finally:
        w.close()


def less_renders_like_a_bare_terminal():
    w = World(config="status:\n  enabled: false\n")
    try:
        path = sample_file(w)
        p = Pair(w, "less", "LESSHISTFILE=- less %s" % path)
        p.check(r"^line 1: (.|\n)*^line 22: ", "less_first_screen_identical")
        p.keys("Space")
        p.check(r"^line 4[0-9]: ", "less_page_down_identical")
        p.keys("/tabs", "Enter")
        p.check(r"tabs", "less_search_highlight_identical")
        p.keys("G")
        p.check(r"^line 120: ", "less_end_identical")
        p.keys("g", "-S", "Enter")
        p.check(r"^line 1: ", "less_chop_long_lines_identical")
        p.keys("q")
        ok(poll_until(lambda: p.bare.dead() and p.lo.dead(), 10),
           "less_quit_ends_both")
    finally:
        w.close()


def shell_screen_returns_after_vim():
    w = World(config="status:\n  enabled: false\n")
    try:
        w.new("sh", "bash", "--norc", "--noprofile", x=W, y=H)
        w.lsy("send-keys", "-t", "sh", "PS1='$ '; clear; echo before-vim",
              "Enter")
        w.wait_screen("sh", "^before-vim")
        t = w.tmux(W, H, w.shell_cmd("attach-session", "-t", "sh"))
        poll_until(lambda: "before-vim" in t.capture(), 10)
        before = t.capture()
        t.keys("vim -u NONE -N -i NONE -n", "Enter")
        ok(poll_until(lambda: re.search(r"^~", t.capture(), re.M), 10),
           "client_shows_vim", t.capture())
        t.keys(":q", "Enter")
        ok(poll_until(lambda: re.search(r"^\$ vim .*\n\$ *$", t.capture(),
                                        re.M), 10),
           "client_shows_the_shell_screen_again_after_vim", t.capture())
        after = t.capture()
        a = [l.rstrip() for l in after.split("\n")]
        ok(a[0] == "before-vim" and a[1].startswith("$ vim ") and
           a[2] == "$" and all(l == "" for l in a[3:]),
           "shell_screen_contents_are_preserved_around_vim", after)
        is_eq(w.lines("sh")[:3], [l.rstrip() for l in
                                  after.split("\n")[:3]],
              "client_and_capture_pane_agree_after_vim")
    finally:
        w.close()


def utf8_and_colours_through_a_client():
    w = World(config="status:\n  enabled: false\n")
    try:
        cmd = ("printf '\u4e2d\u6587 e\u0301 \u00e9|\\n"
               "\\033[38;5;123mc256\\033[0m \\033[38;2;10;20;30mtrue\\033[0m "
               "\\033[48;2;200;100;50mbg\\033[0m \\033[1mbold\\033[0m "
               "\\033[3mital\\033[0m \\033[4mund\\033[0m \\033[7mrev\\033[0m "
               "\\033[9mstrike\\033[0m|\\n'; exec sleep 100")
        p = Pair(w, "u", cmd)
        p.check(r"strike\|", "sgr_attributes_and_colours_identical")
        b = p.lo.capture().split("\n")
        is_eq(b[0].rstrip(), "\u4e2d\u6587 e\u0301 \u00e9|",
              "wide_and_combining_characters_through_client")
        e = p.lo.capture("-e")
        ok("38;5;123" in e and "38;2;10;20;30" in e and "48;2;200;100;50" in e,
           "256_and_truecolor_reach_the_client_terminal", repr(e[:300]))
    finally:
        w.close()


def outer_title(t):
    return t.cmd("display-message", "-p", "#{pane_title}")[1].strip()


def title_reaches_client_terminal():
    w = World(config="status:\n  enabled: false\n")
    try:
        w.new("ti", "sh", "-c", "printf '\\033]2;early-title\\007'; "
              "echo titled; read x; printf '\\033]2;later-title\\007'; "
              "exec sleep 100", x=60, y=10)
        w.wait_screen("ti", "^titled")
        t = w.tmux(60, 10, w.shell_cmd("attach-session", "-t", "ti"))
        poll_until(lambda: "titled" in t.capture(), 10)
        w.lsy("send-keys", "-t", "ti", "Enter")
        ok(poll_until(lambda: outer_title(t) == "later-title", 10),
           "title_change_while_attached_reaches_client_terminal",
           outer_title(t))
        w.new("ti2", "sh", "-c", "printf '\\033]2;set-before-attach\\007';"
              " echo titled; exec sleep 100", x=60, y=10)
        w.wait_screen("ti2", "^titled")
        t2 = w.tmux(60, 10, w.shell_cmd("attach-session", "-t", "ti2"))
        poll_until(lambda: "titled" in t2.capture(), 10)
        ok(poll_until(lambda: outer_title(t2) == "set-before-attach", 3),
           "existing_title_is_set_on_the_client_terminal_at_attach",
           outer_title(t2))
    finally:
        w.close()


for fn in (vim_renders_like_a_bare_terminal,
           less_renders_like_a_bare_terminal, shell_screen_returns_after_vim,
           utf8_and_colours_through_a_client, title_reaches_client_terminal):
    run_test(fn, fn.__name__)
done()

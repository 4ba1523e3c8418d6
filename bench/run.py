#!/usr/bin/python3
"""bench/run.py: loopsy vs tmux vs GNU screen, same run, same machine.

Every figure uses a real attached client running in a 120x40 pseudo-terminal
owned by this script, which drains it as fast as it can and counts the bytes
the client writes to its terminal.  See bench/README.md.

    bench/run.py [--quick] [--only flood,echo,attach,memory,feed]
                 [--mux loopsy,tmux,screen] [--no-write]

Standard library only; results are appended to bench/RESULTS.md and the raw
numbers written to bench/out/results-<time>.json.
"""
import argparse
import datetime
import fcntl
import json
import math
import os
import platform
import random
import re
import select
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(BENCH)
OUT = os.path.join(BENCH, "out")
COLS, ROWS = 120, 40
TAG = "LOOPSY_BENCH_TAG"
PROMPT = "READY> "
MARK_CMD = "printf '@%s@\\n' $((4000+2))"
MARK = b"@4002@"


def log(*a):
    print(*a, file=sys.stderr, flush=True)


class Deadline:
    def __init__(self, seconds):
        self.end = time.monotonic() + seconds

    def left(self):
        return self.end - time.monotonic()

    def expired(self):
        return time.monotonic() >= self.end


class BenchError(Exception):
    pass


# --- terminal output to text ----------------------------------------------

ESC_RE = re.compile(
    rb"\x1b(?:\[([0-9;:?<>=!]*)[ -/]*([@-~])"      # CSI
    rb"|\][^\x07\x1b]*(?:\x07|\x1b\\)?"            # OSC
    rb"|[PX^_][^\x1b]*(?:\x1b\\)?"                 # DCS etc.
    rb"|[()*+\-./][0-~]"                           # charset
    rb"|[ -/]*[0-~]|$)"                            # other
    rb"|[\x00-\x1f\x7f]")


def visible(data):
    """The printable text in a chunk of terminal output: escape sequences
    and controls removed, REP (CSI b) expanded, cursor-forward as spaces."""
    out = []
    pos = 0
    for m in ESC_RE.finditer(data):
        if m.start() > pos:
            out.append(data[pos:m.start()])
        pos = m.end()
        final = m.group(2)
        if final == b"b" and out and out[-1]:
            n = int((m.group(1) or b"1").split(b";")[0] or 1)
            out.append(out[-1][-1:] * min(n, 1000))
        elif final == b"C":
            n = int((m.group(1) or b"1").split(b";")[0] or 1)
            out.append(b" " * min(n, 1000))
    out.append(data[pos:])
    return b"".join(out)


# --- pseudo-terminals ------------------------------------------------------

class Pty:
    """A child process on a cols x rows pty whose master we drain."""

    def __init__(self, argv, env, cols=COLS, rows=ROWS):
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ,
                    struct.pack("HHHH", rows, cols, 0, 0))
        self.proc = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, env=env,
            start_new_session=True, close_fds=True,
            preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))
        os.close(slave)
        os.set_blocking(self.master, False)
        self.poll = select.poll()
        self.poll.register(self.master, select.POLLIN)
        self.nbytes = 0
        self.text = b""         # visible text, kept only when asked

    def read(self, timeout):
        """One read of whatever is available within timeout seconds."""
        if not self.poll.poll(max(0, timeout) * 1000):
            return b""
        try:
            data = os.read(self.master, 1 << 20)
        except (BlockingIOError, InterruptedError):
            return b""
        except OSError:
            return b""      # EIO: the child closed its terminal
        self.nbytes += len(data)
        return data

    def drain(self, quiet=0.05, limit=2.0):
        """Read until nothing arrives for quiet seconds."""
        dl = Deadline(limit)
        got = []
        while not dl.expired():
            d = self.read(min(quiet, dl.left()))
            if not d:
                break
            got.append(d)
        return b"".join(got)

    def wait_text(self, needles, timeout, keep=b""):
        """Read until every needle is in the visible text; return the time
        it happened (perf_counter) or raise."""
        dl = Deadline(timeout)
        raw = keep
        while True:
            if all(n in visible(raw) for n in needles):
                return time.perf_counter()
            if dl.expired():
                raise BenchError("timed out waiting for %r; saw %r" % (
                    needles, visible(raw)[-300:]))
            raw += self.read(min(0.05, dl.left()))

    def write(self, data):
        if isinstance(data, str):
            data = data.encode()
        dl = Deadline(5)
        while data and not dl.expired():
            try:
                n = os.write(self.master, data)
                data = data[n:]
            except BlockingIOError:
                self.read(0.01)
        if data:
            raise BenchError("could not write to client pty")

    def close(self, detach=None):
        """Detach politely (detach = keys), then terminate."""
        try:
            if detach and self.proc.poll() is None:
                try:
                    self.write(detach)
                except (BenchError, OSError):
                    pass
                dl = Deadline(2)
                while self.proc.poll() is None and not dl.expired():
                    self.read(0.02)
            for sig in (signal.SIGTERM, signal.SIGKILL):
                if self.proc.poll() is not None:
                    break
                try:
                    os.kill(self.proc.pid, sig)
                except ProcessLookupError:
                    break
                dl = Deadline(2)
                while self.proc.poll() is None and not dl.expired():
                    self.read(0.02)
            try:
                self.proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                pass
        finally:
            try:
                os.close(self.master)
            except OSError:
                pass


# --- multiplexers ----------------------------------------------------------

def run(argv, env, timeout=15, check=True, stdin=subprocess.DEVNULL):
    p = subprocess.run(argv, env=env, stdin=stdin, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout)
    if check and p.returncode != 0:
        raise BenchError("%s: exit %d: %s" % (" ".join(argv), p.returncode,
                                              p.stderr.decode()[-500:]))
    return p.stdout.decode(errors="replace")


def proc_kib(pid, field="VmRSS"):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def proc_pss_kib(pid):
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def tagged_pids(tag):
    """Processes started by this run: they all carry TAG=tag in their
    environment (servers and shells inherit it)."""
    want = ("%s=%s" % (TAG, tag)).encode()
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        try:
            with open("/proc/%s/environ" % d, "rb") as f:
                if want in f.read().split(b"\0"):
                    pids.append(int(d))
        except OSError:
            pass
    return pids


def kill_tagged(tag):
    """TERM, then KILL, what this run started and left running."""
    left = tagged_pids(tag)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in left:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        dl = Deadline(2)
        while left and not dl.expired():
            time.sleep(0.05)
            left = [p for p in left if _alive(p)]
    if left:
        log("could not kill: %s" % left)


class Mux:
    name = "?"
    detach = b"\x02d"

    def __init__(self, base, tag, scripts):
        self.dir = tempfile.mkdtemp(prefix=self.name + "-", dir=base)
        self.scripts = scripts
        self.env = dict(os.environ)
        for k in ("TMUX", "TMUX_PANE", "STY", "WINDOW", "LOOPSY",
                  "LOOPSY_SESSION"):
            self.env.pop(k, None)
        self.env.update({"HOME": self.dir, "TERM": "xterm-256color",
                         "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
                         "SHELL": "/bin/sh", TAG: tag, "PS1": PROMPT})

    def capture(self, name):
        raise NotImplementedError

    def wait_session(self, name, needles, timeout):
        dl = Deadline(timeout)
        while True:
            text = self.capture(name)
            if all(n in text for n in needles):
                return text
            if dl.expired():
                raise BenchError("%s: session %s never showed %r; has %r" % (
                    self.name, name, needles, text[-300:]))
            time.sleep(0.05)

    def attach(self, name):
        return Pty(self.attach_argv(name), self.env)

    def extra_stats(self):
        return {}


class Loopsy(Mux):
    name = "loopsy"

    def __init__(self, *a):
        super().__init__(*a)
        self.bin = os.path.join(TOP, "loopsy")
        self.sock = os.path.join(self.dir, "sock")
        self.env["LOOPSY_HOME"] = self.dir
        with open(os.path.join(self.dir, "config.yaml"), "w") as f:
            f.write("status:\n  enabled: false\n"
                    "sessions:\n  historyLimit: 10000\n")

    def cmd(self, *args, **kw):
        return run([self.bin, "-S", self.sock] + list(args), self.env, **kw)

    def version(self):
        return run([self.bin, "-V"], self.env, check=False).strip() or "?"

    def new_session(self, name, script):
        self.cmd("new-session", "-d", "-s", name, "-x", str(COLS),
                 "-y", str(ROWS), script)

    def attach_argv(self, name):
        return [self.bin, "-S", self.sock, "attach", "-t", name]

    def send_line(self, name, text):
        self.cmd("send-keys", "-t", name, text, "Enter")

    def capture(self, name):
        return self.cmd("capture-pane", "-p", "-t", name)

    def stats(self):
        return json.loads(self.cmd("stats", "--json"))

    def server_pids(self):
        return [int(self.stats()["pid"])]

    def stop(self):
        self.cmd("kill-server", check=False)


class Tmux(Mux):
    name = "tmux"

    def __init__(self, *a):
        super().__init__(*a)
        self.env["TMUX_TMPDIR"] = self.dir
        # -f /dev/null plus the two settings that make the comparison fair:
        # no status line (as loopsy's config) and loopsy's default history.
        self.conf = os.path.join(self.dir, "tmux.conf")
        with open(self.conf, "w") as f:
            f.write("set -g status off\nset -g history-limit 10000\n")

    def cmd(self, *args, **kw):
        return run(["tmux", "-L", "bench", "-f", self.conf] + list(args),
                   self.env, **kw)

    def version(self):
        return run(["tmux", "-V"], self.env).strip()

    def new_session(self, name, script):
        self.cmd("new-session", "-d", "-s", name, "-x", str(COLS),
                 "-y", str(ROWS), script)

    def attach_argv(self, name):
        return ["tmux", "-L", "bench", "-f", self.conf, "attach", "-t", name]

    def send_line(self, name, text):
        self.cmd("send-keys", "-t", name, "-l", text)
        self.cmd("send-keys", "-t", name, "Enter")

    def capture(self, name):
        return self.cmd("capture-pane", "-p", "-t", name)

    def server_pids(self):
        return [int(self.cmd("display-message", "-p", "#{pid}").strip())]

    def stop(self):
        self.cmd("kill-server", check=False)


class Screen(Mux):
    name = "screen"
    detach = b"\x01d"

    def __init__(self, *a):
        super().__init__(*a)
        self.sdir = os.path.join(self.dir, "S")
        os.mkdir(self.sdir, 0o700)
        self.env["SCREENDIR"] = self.sdir
        self.names = []

    def cmd(self, *args, **kw):
        return run(["screen"] + list(args), self.env, **kw)

    def version(self):
        return run(["screen", "-v"], self.env, check=False).strip()

    def new_session(self, name, script, wait_for=None):
        # screen -dm sessions are 80x24 whatever is asked, so start attached
        # in a 120x40 terminal and detach: the window keeps that size.
        p = Pty(["screen", "-c", "/dev/null", "-h", "10000", "-S", name,
                 script], self.env)
        self.names.append(name)
        try:
            p.wait_text([wait_for or PROMPT.strip().encode()], 10)
        finally:
            p.close(detach=self.detach)
        dl = Deadline(5)
        while "(Detached)" not in self.cmd("-ls", check=False):
            if dl.expired():
                raise BenchError("screen %s did not detach" % name)
            time.sleep(0.02)

    def attach_argv(self, name):
        return ["screen", "-c", "/dev/null", "-r", name]

    def send_line(self, name, text):
        self.cmd("-S", name, "-p", "0", "-X", "stuff", text + "\r")

    def capture(self, name):
        path = os.path.join(self.dir, "hardcopy")
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        self.cmd("-S", name, "-p", "0", "-X", "hardcopy", path)
        dl = Deadline(3)
        while not os.path.exists(path) and not dl.expired():
            time.sleep(0.005)
        time.sleep(0.005)
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def server_pids(self):
        pids = []
        for pid in tagged_pids(self.env[TAG]):
            try:
                with open("/proc/%d/cmdline" % pid, "rb") as f:
                    argv0 = f.read().split(b"\0")[0]
                with open("/proc/%d/environ" % pid, "rb") as f:
                    env = f.read()
            except OSError:
                continue
            if (os.path.basename(argv0) == b"SCREEN" and
                    ("SCREENDIR=" + self.sdir).encode() in env):
                pids.append(pid)
        return pids

    def stop(self):
        for n in self.names:
            self.cmd("-S", n, "-X", "quit", check=False)
        self.names = []


MUXES = {"loopsy": Loopsy, "tmux": Tmux, "screen": Screen}


# --- the figures -----------------------------------------------------------

def write_scripts(base, flood, memfile):
    s = {}

    def script(name, body):
        path = os.path.join(base, name)
        with open(path, "w") as f:
            f.write("#!/bin/sh\n" + body)
        os.chmod(path, 0o755)
        s[name] = path

    script("shell.sh", "PS1='%s'; export PS1\nexec /bin/sh -i\n" % PROMPT)
    script("echo.sh", "stty raw -echo\nexec cat\n")
    script("mem.sh", "cat '%s'\nexec sleep 100000\n" % memfile)
    return s


def memory_file(path, lines=10000, seed=7):
    """10,000 typical ~60-column lines, some coloured; unique last line."""
    rnd = random.Random(seed)
    words = ("make build test src lib include main.c util.c error warning "
             "note: ok passed failed GET POST 200 404 user root /usr/bin "
             "1234 0x1f foo bar baz qux info debug").split()
    with open(path, "w") as f:
        for i in range(1, lines):
            w = []
            while sum(len(x) + 1 for x in w) < rnd.randrange(40, 80):
                w.append(rnd.choice(words))
            text = "%05d %s" % (i, " ".join(w))
            if i % 5 == 0:
                text = "\x1b[3%dm%s\x1b[0m" % (rnd.randrange(1, 7), text)
            f.write(text + "\n")
        f.write("END-OF-MEMORY-FILE %d lines\n" % lines)
    return "END-OF-MEMORY-FILE"


def flood_file(seed, size):
    path = os.path.join(OUT, "flood-%d-%d.txt" % (seed, size))
    if not os.path.exists(path):
        log("generating %s" % path)
        subprocess.run([sys.executable, os.path.join(BENCH, "gen-ansi.py"),
                        "--seed", str(seed), "--size", str(size), "-o",
                        path + ".tmp"], check=True, timeout=300)
        os.rename(path + ".tmp", path)
    return path


def pct(vals, p):
    v = sorted(vals)
    return v[max(0, math.ceil(p / 100 * len(v)) - 1)]


def flood_once(client, mux, session, flood, timeout):
    """Type the cat command, press Enter, time until the marker reaches the
    client.  Returns (seconds, client bytes, how it was detected)."""
    client.write("cat '%s'; %s" % (flood, MARK_CMD))
    client.wait_text([b"$((4000+2))"], 10)
    client.drain(0.1)
    start_bytes = client.nbytes
    t0 = time.perf_counter()
    client.write("\r")
    dl = Deadline(timeout)
    tail = b""
    how = None
    next_capture = 0
    while not dl.expired():
        d = client.read(min(0.1, dl.left()))
        if d:
            win = tail + d
            if MARK in win:
                how = "client"
            elif b"@" in d and MARK in visible(win):
                how = "client"
            tail = win[-4096:]
            if how:
                break
            if b"@" not in d:
                continue
        # The marker reached the server but maybe not as contiguous text
        # (a diff renderer may skip cells that did not change): ask the
        # session, at most every 0.25 s, once a '@' has been seen.
        if b"@" in tail and time.monotonic() >= next_capture:
            next_capture = time.monotonic() + 0.25
            if MARK.decode() in mux.capture(session):
                how = "capture"
                break
    t1 = time.perf_counter()
    if how is None:
        raise BenchError("%s: flood marker not seen in %ds" % (mux.name,
                                                               timeout))
    client.drain(0.3, limit=10)
    if mux is not None and MARK.decode() not in mux.capture(session):
        raise BenchError("%s: marker in client but not in session" % mux.name)
    return t1 - t0, client.nbytes - start_bytes, how


def flood_mux_once(M, args, scripts, flood):
    mux = M(args.base, args.tag, scripts)
    client = None
    try:
        mux.new_session("flood", scripts["shell.sh"])
        client = mux.attach("flood")
        client.wait_text([PROMPT.strip().encode()], 10)
        client.drain(0.1)
        secs, nbytes, how = flood_once(client, mux, "flood", flood,
                                       args.flood_timeout)
        r = {"seconds": secs, "client_bytes": nbytes, "via": how}
        if isinstance(mux, Loopsy):
            st = mux.stats()
            r["frames_sent"] = st.get("frames_sent")
            r["frames_skipped"] = st.get("frames_skipped")
            cl = st.get("clients") or [{}]
            r["server_bytes_out"] = cl[0].get("bytes_out")
        return r
    finally:
        if client:
            client.close(detach=mux.detach)
        mux.stop()


def flood_bare_once(args, scripts, flood):
    p = Pty([scripts["shell.sh"]], base_env(args))
    try:
        p.wait_text([PROMPT.strip().encode()], 10)
        secs, nbytes = bare_flood(p, flood, args.flood_timeout)
        return {"seconds": secs, "client_bytes": nbytes}
    finally:
        p.close()


def bench_flood(muxes, args, scripts, flood, res):
    """Runs are interleaved (run 1 of each, run 2 of each, ...) so that
    whatever else the machine does hits every multiplexer alike."""
    size = os.path.getsize(flood)
    out = res.setdefault("flood", {"file_bytes": size})
    runs = {M.name: [] for M in muxes}
    runs["bare pty"] = []
    for i in range(args.runs):
        for M in muxes + [None]:
            name = M.name if M else "bare pty"
            try:
                r = flood_mux_once(M, args, scripts, flood) if M else \
                    flood_bare_once(args, scripts, flood)
                log("flood %-8s run %d: %.3f s, %.1f MB to client%s" % (
                    name, i + 1, r["seconds"], r["client_bytes"] / 1e6,
                    " (via capture)" if r.get("via") == "capture" else ""))
            except (BenchError, OSError, subprocess.SubprocessError) as e:
                log("flood %s run %d FAILED: %s" % (name, i + 1, e))
                r = {"error": str(e)}
            runs[name].append(r)
    for name, rs in runs.items():
        out[name] = summarize(rs, "seconds", "client_bytes")


def bare_flood(p, flood, timeout):
    p.write("cat '%s'; %s" % (flood, MARK_CMD))
    p.wait_text([b"$((4000+2))"], 10)
    p.drain(0.1)
    b0 = p.nbytes
    t0 = time.perf_counter()
    p.write("\r")
    dl = Deadline(timeout)
    tail = b""
    while not dl.expired():
        d = p.read(min(0.1, dl.left()))
        win = tail + d
        if MARK in win:
            return time.perf_counter() - t0, p.nbytes - b0
        tail = win[-64:]
    raise BenchError("bare flood timed out")


def summarize(runs, key, *others):
    ok = [r for r in runs if "error" not in r]
    s = {"runs": runs, "n": len(ok)}
    if ok:
        s["median"] = statistics.median(r[key] for r in ok)
        for k in others:
            s["median_" + k] = statistics.median(r[k] for r in ok)
    return s


def base_env(args):
    env = dict(os.environ)
    env.update({"TERM": "xterm-256color", "PS1": PROMPT, TAG: args.tag,
                "HOME": args.base, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"})
    return env


LETTERS = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def echo_one(p, c):
    """Write one byte to the client's terminal; milliseconds until it is
    echoed back in the client's output."""
    p.drain(0.003, limit=0.5)
    raw = b""
    dl = Deadline(2)
    t0 = time.perf_counter()
    p.write(c)
    while True:
        d = p.read(min(0.5, dl.left()))
        t1 = time.perf_counter()
        raw += d
        if c in visible(raw):
            return (t1 - t0) * 1000
        if dl.expired():
            raise BenchError("echo of %r never came back: %r" % (c, raw))


def echo_rounds(ptys, n, rnd):
    """Echo n letters through each (name, pty), after 10 to warm up, in a
    shuffled order each round, 1-4 ms apart: ({name: [ms]}, {name: error});
    a pty that fails once is left out after."""
    lat = {name: [] for name, _ in ptys}
    failed = {}
    for i in range(n + 10):
        order = list(ptys)
        rnd.shuffle(order)
        for name, p in order:
            if name in failed:
                continue
            try:
                ms = echo_one(p, bytes([rnd.choice(LETTERS)]))
            except BenchError as e:
                failed[name] = str(e)
                continue
            if i >= 10:
                lat[name].append(ms)
            time.sleep(rnd.uniform(0.001, 0.004))
    return lat, failed


def bench_echo(muxes, args, scripts, res):
    """Every multiplexer's client is up at once and samples alternate
    between them (in a shuffled order each round), 1-4 ms apart."""
    out = res.setdefault("echo", {})
    targets = []        # (name, mux or None, pty)
    rnd = random.Random(99)
    try:
        for M in muxes:
            mux = M(args.base, args.tag, scripts)
            try:
                if isinstance(mux, Screen):
                    mux.new_session("echo", scripts["shell.sh"])
                    mux.send_line("echo", "exec " + scripts["echo.sh"])
                else:
                    mux.new_session("echo", scripts["echo.sh"])
                time.sleep(0.3)
                targets.append((M.name, mux, mux.attach("echo")))
            except BenchError as e:
                log("echo %s FAILED: %s" % (M.name, e))
                out[M.name] = {"error": str(e)}
                mux.stop()
        targets.append(("bare pty", None,
                        Pty([scripts["echo.sh"]], base_env(args))))
        time.sleep(0.3)
        for _, _, p in targets:
            p.drain(0.2, limit=5)
        lat, failed = echo_rounds([(t[0], t[2]) for t in targets],
                                  args.echo_n, rnd)
        for name, v in lat.items():
            if name in failed or not v:
                out[name] = {"error": failed.get(name, "no samples")}
                continue
            out[name] = {"n": len(v), "median": statistics.median(v),
                         "p95": pct(v, 95), "min": min(v), "max": max(v)}
            log("echo  %-8s median %.3f ms p95 %.3f ms" % (
                name, out[name]["median"], out[name]["p95"]))
    finally:
        for _, mux, p in targets:
            p.close(detach=mux.detach if mux else None)
            if mux:
                mux.stop()


def bench_attach(muxes, args, scripts, res):
    """All sessions are made first; attaches then alternate between them."""
    out = res.setdefault("attach", {})
    ready = []          # (mux, rows)
    try:
        for M in muxes:
            mux = M(args.base, args.tag, scripts)
            try:
                mux.new_session("sb", scripts["shell.sh"])
                mux.send_line("sb", "seq 1 10000")
                text = mux.wait_session("sb", ["\n10000\n", PROMPT.strip()],
                                        30)
                rows = [r.rstrip().encode() for r in text.split("\n")]
                rows = [r for r in rows if r]
                if len(rows) < 30:
                    raise BenchError("%s: only %d rows on screen" % (
                        mux.name, len(rows)))
                ready.append((mux, rows))
            except BenchError as e:
                log("attach %s FAILED: %s" % (M.name, e))
                out[M.name] = {"error": str(e)}
                mux.stop()
        runs = {mux.name: [] for mux, _ in ready}
        for i in range(args.runs * 2):
            for mux, rows in ready:
                t0 = time.perf_counter()
                client = mux.attach("sb")
                try:
                    t1 = client.wait_text(rows, 10)
                    runs[mux.name].append({"ms": (t1 - t0) * 1000,
                                           "client_bytes": client.nbytes})
                except BenchError as e:
                    runs[mux.name].append({"error": str(e)})
                finally:
                    client.close(detach=mux.detach)
                time.sleep(0.05)
        for name, rs in runs.items():
            out[name] = summarize(rs, "ms", "client_bytes")
            if "median" in out[name]:
                log("attach %-6s median %.2f ms" % (name,
                                                   out[name]["median"]))
    finally:
        for mux, _ in ready:
            mux.stop()


def bench_memory(muxes, args, scripts, memfile_end, res):
    out = res.setdefault("memory", {"sessions": args.sessions})
    for M in muxes:
        mux = M(args.base, args.tag, scripts)
        try:
            t0 = time.monotonic()
            for i in range(args.sessions):
                if isinstance(mux, Screen):
                    mux.new_session("m%d" % i, scripts["mem.sh"],
                                    wait_for=memfile_end.encode())
                else:
                    mux.new_session("m%d" % i, scripts["mem.sh"])
            for i in range(args.sessions):
                mux.wait_session("m%d" % i, [memfile_end], 60)
            time.sleep(1)
            pids = mux.server_pids()
            r = {"pids": len(pids),
                 "rss_kib": sum(proc_kib(p) for p in pids),
                 "pss_kib": sum(proc_pss_kib(p) for p in pids),
                 "setup_s": time.monotonic() - t0}
            if isinstance(mux, Loopsy):
                st = mux.stats()
                r["history_bytes"] = st.get("history_bytes")
                r["stats_rss_kib"] = st.get("rss_kib")
            out[M.name] = r
            log("memory %-6s %.1f MiB RSS in %d process(es)" % (
                mux.name, r["rss_kib"] / 1024, len(pids)))
        except BenchError as e:
            log("memory %s FAILED: %s" % (M.name, e))
            out[M.name] = {"error": str(e)}
        finally:
            mux.stop()


def bench_feed(args, res):
    src = os.path.join(BENCH, "screen-feed.c")
    if not os.path.exists(src):
        return
    exe = os.path.join(OUT, "screen-feed")
    try:
        run(["make", "-s", "libscreen.a", "libcommon.a"], None, timeout=300)
        flags = run(["pkg-config", "--cflags", "--libs", "vterm"], None,
                    check=False).split() or ["-lvterm"]
        subprocess.run(["gcc", "-O2", "-I", TOP, src,
                        os.path.join(TOP, "libscreen.a"),
                        os.path.join(TOP, "libcommon.a")] + flags +
                       ["-o", exe], check=True, cwd=TOP, timeout=300,
                       capture_output=True)
        text = run([exe, str(COLS), str(ROWS),
                    "16" if args.quick else "50"], None, timeout=300)
        res["feed"] = {"output": text.strip()}
        log(text.strip())
    except (BenchError, subprocess.SubprocessError) as e:
        res["feed"] = {"error": str(e)}
        log("screen-feed FAILED: %s" % e)


# --- report ----------------------------------------------------------------

def fmt_ratio(a, b):
    if a is None or b is None or not b:
        return "–"
    return "%.2f" % (a / b)


def get(res, test, mux, key="median"):
    v = res.get(test, {}).get(mux, {})
    return v.get(key) if isinstance(v, dict) else None


def verdict(ok):
    return "**met**" if ok else "**NOT met**"


def report(res, meta, muxes):
    L = []
    L.append("## %s — %s" % (meta["date"], "quick" if meta["quick"] else
                             "full"))
    L.append("")
    L.append("Machine: %s, nproc %d, kernel %s, load average %s.  "
             "%s; %s; %s.  Runs per figure: %d; outer pty %dx%d.  "
             "Command: `%s`, %.0f s." % (
                 meta["cpu"], meta["nproc"], meta["kernel"], meta["load"],
                 meta["versions"].get("loopsy", "loopsy ?"),
                 meta["versions"].get("tmux", "tmux ?"),
                 meta["versions"].get("screen", "screen ?"),
                 meta["runs"], COLS, ROWS, meta["argv"],
                 meta["elapsed_s"]))
    L.append("")
    cols = [m for m in ("loopsy", "tmux", "screen") if m in muxes]

    def table(title, test, unit, fmt, key="median", extra=None,
              base=True):
        L.append("### " + title)
        L.append("")
        head = ["figure"] + cols + (["bare pty"] if base else []) + \
            ["loopsy/tmux", "loopsy/screen"]
        L.append("| " + " | ".join(head) + " |")
        L.append("|" + "---|" * len(head))
        rows = [(key, unit, fmt)] + (extra or [])
        for k, u, fmt in rows:
            vals = [get(res, test, m, k) for m in cols]
            line = ["%s (%s)" % (k.replace("median_", "median "), u)]
            line += [fmt(v) if v is not None else "failed" for v in vals]
            if base:
                b = get(res, test, "bare pty", k)
                line.append(fmt(b) if b is not None else "–")
            line.append(fmt_ratio(get(res, test, "loopsy", k),
                                  get(res, test, "tmux", k)))
            line.append(fmt_ratio(get(res, test, "loopsy", k),
                                  get(res, test, "screen", k)))
            L.append("| " + " | ".join(line) + " |")
        L.append("")

    verdicts = []
    if "flood" in res:
        f = res["flood"]
        table("Flood: %.1f MB mixed ANSI `cat`, client attached" %
              (f["file_bytes"] / 1e6), "flood", "s", lambda v: "%.3f" % v,
              extra=[("median_client_bytes", "MB to client",
                      lambda v: "%.1f" % (v / 1e6))])
        for m in cols:
            vs = [r.get("via") for r in f.get(m, {}).get("runs", [])
                  if "via" in r]
            if vs and any(v != "client" for v in vs):
                L.append("%s: marker found by capture in %d of %d runs." % (
                    m, sum(v != "client" for v in vs), len(vs)))
        lr = f.get("loopsy", {}).get("runs", [])
        if lr and "frames_sent" in lr[0]:
            L.append("loopsy frames sent/skipped per run: %s." % ", ".join(
                "%s/%s" % (r.get("frames_sent"), r.get("frames_skipped"))
                for r in lr if "error" not in r))
        L.append("")
        lo, tm = get(res, "flood", "loopsy"), get(res, "flood", "tmux")
        if lo and tm:
            verdicts.append("Flood ≤ ½ tmux: %s (%.3f s vs %.3f s, %.2fx)" %
                            (verdict(lo <= tm / 2), lo, tm, lo / tm))
    if "echo" in res:
        table("Keystroke echo latency", "echo", "ms", lambda v: "%.3f" % v,
              extra=[("p95", "ms", lambda v: "%.3f" % v)])
        lo, tm = res["echo"].get("loopsy", {}), res["echo"].get("tmux", {})
        if "median" in lo and "median" in tm:
            verdicts.append(
                "Echo ≤ tmux: median %s (%.3f vs %.3f ms), p95 %s "
                "(%.3f vs %.3f ms)" % (
                    verdict(lo["median"] <= tm["median"]), lo["median"],
                    tm["median"], verdict(lo["p95"] <= tm["p95"]),
                    lo["p95"], tm["p95"]))
    if "attach" in res:
        table("Attach with 10,000 lines of scrollback, to full screen",
              "attach", "ms", lambda v: "%.2f" % v, base=False,
              extra=[("median_client_bytes", "bytes",
                      lambda v: "%d" % v)])
        lo, tm = get(res, "attach", "loopsy"), get(res, "attach", "tmux")
        if lo and tm:
            verdicts.append("Attach ≤ tmux: %s (%.2f vs %.2f ms)" % (
                verdict(lo <= tm), lo, tm))
    if "memory" in res:
        m = res["memory"]
        L.append("### Server memory, %d sessions × 10,000 lines (~60 "
                 "columns)" % m["sessions"])
        L.append("")
        head = ["figure"] + cols + ["loopsy/tmux", "loopsy/screen"]
        L.append("| " + " | ".join(head) + " |")
        L.append("|" + "---|" * len(head))
        for k in ("rss_kib", "pss_kib"):
            line = [k.split("_")[0].upper() + " (MiB)"]
            for c in cols:
                v = get(res, "memory", c, k)
                line.append("%.1f" % (v / 1024) if v is not None
                            else "failed")
            line.append(fmt_ratio(get(res, "memory", "loopsy", k),
                                  get(res, "memory", "tmux", k)))
            line.append(fmt_ratio(get(res, "memory", "loopsy", k),
                                  get(res, "memory", "screen", k)))
            L.append("| " + " | ".join(line) + " |")
        line = ["server processes"] + [
            str(get(res, "memory", c, "pids") or "–") for c in cols] + \
            ["", ""]
        L.append("| " + " | ".join(line) + " |")
        L.append("")
        lo = get(res, "memory", "loopsy", "rss_kib")
        tm = get(res, "memory", "tmux", "rss_kib")
        if lo and tm:
            verdicts.append("Memory ≤ ¼ tmux: %s (%.1f vs %.1f MiB, %.2fx)" %
                            (verdict(lo <= tm / 4), lo / 1024, tm / 1024,
                             lo / tm))
    if "feed" in res:
        L.append("### vterm model raw throughput (bench/screen-feed)")
        L.append("")
        L.append("```")
        L.append(res["feed"].get("output") or res["feed"].get("error", ""))
        L.append("```")
        L.append("")
    if verdicts:
        L.append("### Targets")
        L.append("")
        for v in verdicts:
            L.append("- " + v)
        L.append("")
    return "\n".join(L) + "\n"


def machine():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return cpu


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="fewer runs and samples, 16 MB flood")
    ap.add_argument("--only", default="flood,echo,attach,memory,feed")
    ap.add_argument("--mux", default="loopsy,tmux,screen")
    ap.add_argument("--runs", type=int)
    ap.add_argument("--sessions", type=int)
    ap.add_argument("--flood-size", type=int)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-write", action="store_true",
                    help="print the report instead of appending it")
    args = ap.parse_args()
    args.runs = args.runs or (2 if args.quick else 5)
    args.sessions = args.sessions or (20 if args.quick else 100)
    args.echo_n = 60 if args.quick else 300
    args.flood_size = args.flood_size or (
        16 if args.quick else 50) * 1024 * 1024
    args.flood_timeout = 120
    only = set(args.only.split(","))
    names = [m for m in args.mux.split(",") if m]
    for n in names:
        if n not in MUXES:
            ap.error("unknown multiplexer %s" % n)
    if "loopsy" in names and not os.access(os.path.join(TOP, "loopsy"),
                                           os.X_OK):
        ap.error("build loopsy first: make -s loopsy")
    if "screen" in names and not shutil.which("screen"):
        log("screen not installed; skipping it")
        names.remove("screen")
    muxes = [MUXES[n] for n in names]

    os.makedirs(OUT, exist_ok=True)
    args.tag = "%d-%d" % (os.getpid(), int(time.time()))
    args.base = tempfile.mkdtemp(prefix="loopsy-bench-")
    os.chmod(args.base, 0o755)
    now = datetime.datetime.now()
    load0 = os.getloadavg()[0]
    res = {}
    started = time.monotonic()
    try:
        flood = flood_file(args.seed, args.flood_size) \
            if "flood" in only else None
        memfile = os.path.join(args.base, "mem.txt")
        mem_end = memory_file(memfile)
        scripts = write_scripts(args.base, flood, memfile)
        versions = {}
        for M in muxes:
            try:
                versions[M.name] = M(args.base, args.tag, scripts).version()
            except Exception:         # informational only
                versions[M.name] = "%s ?" % M.name
        if "flood" in only:
            bench_flood(muxes, args, scripts, flood, res)
        if "echo" in only:
            bench_echo(muxes, args, scripts, res)
        if "attach" in only:
            bench_attach(muxes, args, scripts, res)
        if "memory" in only:
            bench_memory(muxes, args, scripts, mem_end, res)
        if "feed" in only:
            bench_feed(args, res)
    except KeyboardInterrupt:
        log("interrupted")
    finally:
        kill_tagged(args.tag)
        shutil.rmtree(args.base, ignore_errors=True)
    meta = {"date": now.strftime("%Y-%m-%d %H:%M"), "quick": args.quick,
            "cpu": machine(), "nproc": os.cpu_count(),
            "kernel": platform.release(), "versions": versions,
            "runs": args.runs, "argv": " ".join(["bench/run.py"] +
                                                sys.argv[1:]),
            "elapsed_s": time.monotonic() - started,
            "load": "%.2f at start, %.2f at end" % (load0,
                                                   os.getloadavg()[0])}
    with open(os.path.join(OUT, "results-%s.json" %
                           now.strftime("%Y%m%d-%H%M%S")), "w") as f:
        json.dump({"meta": meta, "results": res}, f, indent=1)
    text = report(res, meta, names)
    if args.no_write:
        print(text)
    else:
        path = os.path.join(BENCH, "RESULTS.md")
        new = not os.path.exists(path)
        with open(path, "a") as f:
            if new:
                f.write("# Benchmark results\n\nAppended by bench/run.py, "
                        "newest last; see bench/README.md for what each "
                        "figure means.\n\n")
            f.write(text)
        print(text)
    log("total %.0f s" % meta["elapsed_s"])


def _alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return False


if __name__ == "__main__":
    main()

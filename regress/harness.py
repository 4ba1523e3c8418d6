"""Shared harness for loopsy's integration tests (regress/test-*.py).

Every test file gets a private world: a temporary directory that is $HOME,
$LOOPSY_HOME and $TMPDIR for everything it starts, a private server socket
inside it, and private tmux servers (used as the "outer terminal" whose
screen we can read back).  Everything started here is killed at exit.

Tests of peers and the HTTP API get PeerHost, a World whose server listens
on an ephemeral port of 127.0.0.1, and tls_connect()/https_*() to reach it.

Tests print TAP through ok()/done().  Synchronisation is by polling a
condition with a deadline (wait_until), never by sleeping and hoping.
"""

import atexit
import errno
import fcntl
import json
import os
import pty
import re
import select
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import termios
import time

LOOPSY = os.environ.get("LOOPSY") or os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "loopsy")
TMUX = shutil.which("tmux")

# ---------------------------------------------------------------- TAP

_n = 0
_failed = 0


def ok(cond, name, diag=None):
    """Report one TAP test point; on failure print diag as a comment."""
    global _n, _failed
    _n += 1
    if cond:
        print("ok %d - %s" % (_n, name), flush=True)
    else:
        _failed += 1
        print("not ok %d - %s" % (_n, name), flush=True)
        if diag is not None:
            for line in str(diag).splitlines() or [""]:
                print("#   " + line, flush=True)
    return bool(cond)


def is_eq(got, want, name):
    """ok() comparing exactly, with a got/want diagnostic."""
    return ok(got == want, name, "got:  %r\nwant: %r" % (got, want))


def diag(msg):
    for line in str(msg).splitlines():
        print("# " + line, flush=True)


def done():
    print("1..%d" % _n, flush=True)


def skip_all(reason):
    print("1..0 # SKIP %s" % reason, flush=True)
    sys.exit(0)


def require(*programs):
    """Skip the whole file unless every program is installed."""
    if not os.access(LOOPSY, os.X_OK):
        skip_all("loopsy binary not built: %s" % LOOPSY)
    for p in programs:
        if shutil.which(p) is None:
            skip_all("%s is not installed" % p)


def run_test(fn, name):
    """Run one test function; an exception becomes a failing test point."""
    try:
        fn()
    except Exception as e:  # a crash in one test must not hide the rest
        import traceback
        ok(False, name, "exception: %r\n%s" % (e, traceback.format_exc()))


# ---------------------------------------------------------------- waiting

class Timeout(Exception):
    pass


def wait_until(fn, timeout=10.0, interval=0.02, what="condition"):
    """Poll fn() until it returns a true value; return that value.

    Raises Timeout after the hard deadline."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise Timeout("timed out after %.1fs waiting for %s" %
                          (timeout, what))
        time.sleep(interval)


def poll_until(fn, timeout=10.0, interval=0.02):
    """Like wait_until but returns the last (false) value instead of raising."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(interval)


# ---------------------------------------------------------------- cleanup

_children = []      # Popen objects / pids we started
_worlds = []


def _cleanup():
    for w in list(_worlds):
        try:
            w.close()
        except Exception:
            pass
    for c in list(_children):
        try:
            if isinstance(c, int):
                os.kill(c, signal.SIGKILL)
                os.waitpid(c, 0)
            else:
                c.kill()
                c.wait(timeout=5)
        except Exception:
            pass


atexit.register(_cleanup)


def _on_signal(sig, frame):
    _cleanup()
    os._exit(128 + sig)


signal.signal(signal.SIGTERM, _on_signal)
signal.signal(signal.SIGHUP, _on_signal)


# ---------------------------------------------------------------- world

class World:
    """A private temporary directory with its own loopsy server socket."""

    def __init__(self, config=None):
        self.dir = tempfile.mkdtemp(prefix="loopsy-regress-")
        self.home = os.path.join(self.dir, "home")
        self.tmp = os.path.join(self.dir, "tmp")
        os.mkdir(self.home)
        os.mkdir(self.tmp)
        self.sock = os.path.join(self.dir, "sock")
        self.env = dict(os.environ)
        for k in list(self.env):
            if k.startswith("TMUX") or k.startswith("LOOPSY"):
                del self.env[k]
        self.env.update(HOME=self.home, LOOPSY_HOME=self.home,
                        TMPDIR=self.tmp, TMUX_TMPDIR=self.tmp,
                        TERM="xterm-256color", LANG="C.UTF-8",
                        LC_ALL="C.UTF-8", PS1="$ ", SHELL="/bin/sh")
        self.env.pop("PROMPT_COMMAND", None)
        # No test server may publish itself on this machine's network
        # through a system avahi-daemon: point D-Bus at nothing (the
        # discovery test sets its own private buses).
        self.env["DBUS_SYSTEM_BUS_ADDRESS"] = "unix:path=" + os.path.join(
            self.dir, "no-dbus")
        self.clients = []
        self.tmuxes = []
        if config is not None:
            self.write_config(config)
        _worlds.append(self)

    def write_config(self, text):
        with open(os.path.join(self.home, "config.yaml"), "w") as f:
            f.write(text)

    def argv(self, *args, sock=True):
        a = [LOOPSY]
        if sock:
            a += ["-S", self.sock]
        return a + [str(x) for x in args]

    def lsy(self, *args, timeout=20, sock=True, input=None):
        """Run the CLI; return (rc, stdout, stderr)."""
        p = subprocess.run(self.argv(*args, sock=sock), env=self.env,
                           cwd=self.home, stdin=subprocess.DEVNULL
                           if input is None else None,
                           input=input.encode() if input is not None else None,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout)
        return (p.returncode, p.stdout.decode("utf-8", "replace"),
                p.stderr.decode("utf-8", "replace"))

    def new(self, name, *cmd, x=80, y=24, extra=()):
        """Start a detached session; raise if it fails."""
        rc, out, err = self.lsy("new-session", "-d", "-s", name, "-x", x,
                                "-y", y, *extra, *cmd)
        if rc != 0:
            raise RuntimeError("new-session %s failed (%d): %s" %
                               (name, rc, err))
        return name

    def capture(self, target, *flags):
        rc, out, err = self.lsy("capture-pane", "-p", "-t", target, *flags)
        if rc != 0:
            raise RuntimeError("capture-pane -t %s: %s" % (target, err))
        return out

    def lines(self, target, *flags):
        return [l.rstrip() for l in self.capture(target, *flags).split("\n")]

    def fmt(self, target, f):
        rc, out, err = self.lsy("display-message", "-p", "-t", target, f)
        if rc != 0:
            raise RuntimeError("display-message: %s" % err)
        return out.rstrip("\n")

    def ls_json(self):
        rc, out, err = self.lsy("list-sessions", "--json")
        if rc != 0:
            return None
        return {s["name"]: s for s in json.loads(out)}

    def stats(self):
        rc, out, err = self.lsy("stats", "--json", timeout=10)
        return json.loads(out) if rc == 0 else None

    def screen_has(self, target, regex, *flags):
        """Condition: the pane's text matches regex (multi-line)."""
        def cond():
            try:
                return re.search(regex, self.capture(target, *flags),
                                 re.M) is not None
            except RuntimeError:
                return False
        return cond

    def wait_screen(self, target, regex, timeout=10, *flags):
        wait_until(self.screen_has(target, regex, *flags), timeout,
                   what="/%s/ in session %s" % (regex, target))

    def server_pid(self):
        st = self.stats()
        return st["pid"] if st else None

    # ------------------------------------------------------------ clients

    def attach(self, cols, rows, args=()):
        c = Client(self, cols, rows, list(args))
        self.clients.append(c)
        return c

    def tmux(self, cols, rows, command, name=None, gate=True):
        t = OuterTmux(self, cols, rows, command, name, gate)
        self.tmuxes.append(t)
        return t

    def shell_cmd(self, *args):
        """A shell-quoted loopsy command line using this world's socket."""
        return " ".join(_q(a) for a in self.argv(*args))

    def close(self):
        for c in self.clients:
            c.close()
        for t in self.tmuxes:
            t.close()
        try:
            subprocess.run(self.argv("kill-server"), env=self.env,
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=10)
        except Exception:
            pass
        # If kill-server could not run (binary replaced mid-run, server
        # wedged), end any process whose command line names this world's
        # private directory: those can only be ours.
        for pid in self._own_pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        if self in _worlds:
            _worlds.remove(self)
        shutil.rmtree(self.dir, ignore_errors=True)

    def _own_pids(self):
        pids = []
        me = os.getpid()
        for d in os.listdir("/proc"):
            if not d.isdigit() or int(d) == me:
                continue
            try:
                with open("/proc/%s/cmdline" % d, "rb") as f:
                    cmd = f.read()
            except OSError:
                continue
            if self.dir.encode() in cmd:
                pids.append(int(d))
        return pids


class PeerHost:
    """A World after `loopsy init`, its server started on an ephemeral port
    of 127.0.0.1 (port 0 in config.yaml): port (None if it does not
    listen), API key and certificate fingerprint read back.  edit, if
    given, changes config.yaml's text before the start."""

    def __init__(self, name=None, edit=None):
        self.name = name
        self.w = World()
        rc, out, err = self.w.lsy("init")
        if rc != 0:
            raise RuntimeError("init: " + err)
        with open(os.path.join(self.w.home, "config.yaml")) as f:
            text = f.read().replace("port: 19532", "port: 0")
        if edit is not None:
            text = edit(text)
        self.w.write_config(text)
        rc, out, err = self.w.lsy("start")
        if rc != 0:
            raise RuntimeError("start: " + err)
        st = self.status()
        self.port = st["port"] if st.get("listening") else None
        self.key = re.search(r"apiKey: ([0-9a-f]+)", text).group(1)
        self.fp = self.w.lsy("key", "show", "--fingerprint")[1].strip()

    def status(self):
        rc, out, err = self.w.lsy("status", "--json")
        return json.loads(out)

    def lsy(self, *a, **k):
        return self.w.lsy(*a, **k)

    def close(self):
        self.w.lsy("kill-server")
        self.w.close()


def _q(s):
    s = str(s)
    if re.fullmatch(r"[A-Za-z0-9_./=:@%+-]+", s):
        return s
    return "'" + s.replace("'", "'\\''") + "'"


def set_winsize(fd, cols, rows):
    fcntl.ioctl(fd, termios.TIOCSWINSZ,
                struct.pack("HHHH", rows, cols, 0, 0))


class Client:
    """`loopsy attach` on a fresh pseudo-terminal of the given size.

    Output is read only when read()/pump() is called, so a test can stop
    reading (the pty fills up and the client blocks) and resume later."""

    def __init__(self, world, cols, rows, args):
        self.world = world
        self.buf = b""
        self.status = None
        pid, fd = pty.fork()
        if pid == 0:
            try:
                env = dict(world.env)
                env["TERM"] = "xterm-256color"
                os.chdir(world.home)
                os.execve(LOOPSY, [LOOPSY, "-S", world.sock, "attach-session"]
                          + args, env)
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd
        _children.append(pid)
        set_winsize(fd, cols, rows)
        os.kill(pid, signal.SIGWINCH)  # in case it read the size before
        fl = fcntl.fcntl(fd, fcntl.F_GETFL)
        fcntl.fcntl(fd, fcntl.F_SETFL, fl | os.O_NONBLOCK)

    def write(self, data):
        if isinstance(data, str):
            data = data.encode()
        while data:
            try:
                n = os.write(self.fd, data)
                data = data[n:]
            except BlockingIOError:
                select.select([], [self.fd], [], 1)

    def resize(self, cols, rows):
        """TIOCSWINSZ on the master: the kernel sends SIGWINCH."""
        set_winsize(self.fd, cols, rows)

    def pump(self, limit=None):
        """Read whatever is available without blocking; return new bytes."""
        got = b""
        while limit is None or len(got) < limit:
            try:
                d = os.read(self.fd, 65536)
            except BlockingIOError:
                break
            except OSError as e:
                if e.errno == errno.EIO:   # slave closed: client gone
                    break
                raise
            if not d:
                break
            got += d
        self.buf += got
        return got

    def text(self):
        self.pump()
        return self.buf.decode("utf-8", "replace")

    def wait_output(self, needle, timeout=10):
        """Wait until needle (bytes/str or compiled regex) shows in output."""
        if isinstance(needle, str):
            needle = needle.encode()

        def cond():
            self.pump()
            if isinstance(needle, bytes):
                return needle in self.buf
            return needle.search(self.buf) is not None
        return wait_until(cond, timeout, what="%r from client" % (needle,))

    def alive(self):
        if self.status is not None:
            return False
        pid, st = os.waitpid(self.pid, os.WNOHANG)
        if pid == 0:
            return True
        self.status = st
        if self.pid in _children:
            _children.remove(self.pid)
        return False

    def wait_exit(self, timeout=10):
        """Wait for the client to exit (draining output); return exit code."""
        wait_until(lambda: (self.pump() is not None) and not self.alive(),
                   timeout, what="client exit")
        self.pump()
        return os.waitstatus_to_exitcode(self.status)

    def close(self):
        if self.alive():
            try:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except OSError:
                pass
            if self.pid in _children:
                _children.remove(self.pid)
            self.status = 0
        try:
            os.close(self.fd)
        except OSError:
            pass
        self.fd = -1


class OuterTmux:
    """A private tmux server used as the terminal around a program, so the
    screen a program or loopsy client draws can be read back exactly."""

    _count = 0

    def __init__(self, world, cols, rows, command, name=None, gate=True):
        OuterTmux._count += 1
        self.world = world
        self.sock = os.path.join(world.dir, "tmux%d" % OuterTmux._count)
        conf = os.path.join(world.dir, "tmux.conf")
        if not os.path.exists(conf):
            with open(conf, "w") as f:
                f.write("set -g status off\n"
                        "set -g remain-on-exit on\n"
                        "set -g default-terminal tmux-256color\n"
                        "set -g history-limit 2000\n"
                        "set -g escape-time 0\n")
        self.base = [TMUX, "-S", self.sock, "-f", conf]
        if gate:
            # (the Enter may be echoed if it beats stty: clear after it)
            command = ("stty -echo; read _ </dev/tty; stty echo; "
                       "printf '\\033[H\\033[2J\\033[3J'; " + command)
        r = subprocess.run(self.base + ["new-session", "-d", "-x", str(cols),
                                        "-y", str(rows), command],
                           env=world.env, cwd=world.home,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=10)
        if r.returncode != 0:
            raise RuntimeError("tmux: %s" % r.stderr.decode())
        if gate:
            # The command waits for a line on stdin; release it only once
            # the pane exists at its final size, so the program never sees
            # tmux's initial resize.
            self.cmd("send-keys", "Enter")

    def cmd(self, *args):
        r = subprocess.run(self.base + list(args), env=self.world.env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=10)
        return r.returncode, r.stdout.decode("utf-8", "replace")

    def capture(self, *flags):
        rc, out = self.cmd("capture-pane", "-p", *flags)
        return out

    def lines(self, *flags):
        return self.capture(*flags).split("\n")

    def keys(self, *keys):
        self.cmd("send-keys", *keys)

    def resize(self, cols, rows):
        self.cmd("resize-window", "-x", str(cols), "-y", str(rows))

    def dead(self):
        rc, out = self.cmd("display-message", "-p", "#{pane_dead}")
        return out.strip() == "1"

    def wait_screen(self, regex, timeout=10, *flags):
        return wait_until(lambda: re.search(regex, self.capture(*flags), re.M),
                          timeout, what="/%s/ on outer terminal" % regex)

    def close(self):
        subprocess.run(self.base + ["kill-server"], env=self.world.env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=10)


# ---------------------------------------------------------------- protocol

def frame(ftype, payload=b""):
    """One protocol frame: 4-byte big-endian length (payload+1), type, payload."""
    if isinstance(payload, str):
        payload = payload.encode()
    return struct.pack(">I", len(payload) + 1) + bytes([ftype]) + payload


HELLO = frame(1, json.dumps({"proto": [1, 1]}))


def command_frame(argv, id=1):
    return frame(2, json.dumps({"id": id, "argv": argv}))


def recv_frame(sock, timeout=5):
    """Read one frame; return (type, payload) or None on EOF/timeout."""
    sock.settimeout(timeout)

    def recv_exact(n):
        b = b""
        while len(b) < n:
            d = sock.recv(n - len(b))
            if not d:
                return None
            b += d
        return b
    try:
        h = recv_exact(4)
        if h is None:
            return None
        n = struct.unpack(">I", h)[0]
        body = recv_exact(n)
        if body is None:
            return None
        return body[0], body[1:]
    except (OSError, ValueError):
        return None


# ---------------------------------------------------------------- HTTPS

def tls_connect(port, timeout=5):
    """A TLS socket to 127.0.0.1:port; the certificate is not checked."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    return ctx.wrap_socket(s)


def https_request(port, raw, timeout=5):
    """Send raw bytes, read to EOF: (status, head, body), status None if
    no HTTP answer came."""
    s = tls_connect(port, timeout)
    s.sendall(raw)
    data = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
    except (ssl.SSLError, OSError):
        pass
    s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    m = re.match(rb"HTTP/1.1 (\d+)", head)
    return (int(m.group(1)) if m else None, head.decode("latin-1"), body)


def https_get(port, path, key=None, timeout=5):
    """GET path, with the key as a bearer token if given."""
    auth = "Authorization: Bearer %s\r\n" % key if key else ""
    return https_request(port, ("GET %s HTTP/1.1\r\nHost: x\r\n%s\r\n" %
                                (path, auth)).encode(), timeout)


def https_post(port, path, body, timeout=10):
    """POST body as JSON: (status, the reply's JSON or None)."""
    data = json.dumps(body).encode()
    st, head, rest = https_request(
        port, ("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: "
               "application/json\r\nContent-Length: %d\r\n\r\n" %
               (path, len(data))).encode() + data, timeout)
    try:
        j = json.loads(rest)
    except ValueError:
        j = None
    return st, j


class Terminal:
    """loopsy attach on a pty whose slave we keep, to read termios later
    and to see every byte the client's terminal receives."""

    def __init__(self, world, target):
        self.master, self.slave = os.openpty()
        set_winsize(self.slave, 80, 24)
        self.before = termios.tcgetattr(self.slave)
        self.out = b""
        self.proc = subprocess.Popen(
            [LOOPSY, "-S", world.sock, "attach-session", "-t", target],
            stdin=self.slave, stdout=self.slave, stderr=self.slave,
            env=world.env, start_new_session=True)
        _children.append(self.proc.pid)
        os.set_blocking(self.master, False)

    def pump(self):
        try:
            while True:
                d = os.read(self.master, 65536)
                if not d:
                    break
                self.out += d
        except (BlockingIOError, OSError):
            pass
        return self.out

    def wait_output(self, needle):
        return wait_until(lambda: needle in self.pump(), 10,
                          what="%r on the terminal" % needle)

    def wait_exit(self):
        wait_until(lambda: self.pump() is not None and
                   self.proc.poll() is not None, 10, what="client exit")
        self.pump()
        _children.remove(self.proc.pid)
        return self.proc.returncode

    RESTORE = [b"\033[?1049l", b"\033[?2004l", b"\033[?1000l", b"\033[?25h"]

    def restored(self):
        """termios equal to before, and the restore sequences written after
        the last time the client entered the alternate screen."""
        after = termios.tcgetattr(self.slave)
        tail = self.out[self.out.rfind(b"\033[?1049h"):]
        return after == self.before and all(s in tail for s in self.RESTORE)

    def close(self):
        os.close(self.master)
        os.close(self.slave)

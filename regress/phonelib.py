# Shared by the phone tests: a loopsy-relay on 127.0.0.1, a loopsy server
# registered with it, and a command-line phone (web/tools/phone.mjs).
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

from harness import *  # noqa
import harness

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RELAY = os.path.join(TOP, "loopsy-relay")
WEB = os.path.join(TOP, "web")
PHONE = os.path.join(WEB, "tools", "phone.mjs")


def require_phone():
    """Skip unless the relay, node and the web packages are there."""
    require()
    if not os.access(RELAY, os.X_OK):
        skip_all("loopsy-relay not built")
    if shutil.which("node") is None:
        skip_all("node is not installed")
    if not os.path.isdir(os.path.join(WEB, "node_modules", "@noble")):
        skip_all("web/node_modules missing (npm ci in web/ failed or "
                 "no registry)")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Relay:
    """loopsy-relay on a free port of 127.0.0.1 with its own data dir."""

    def __init__(self, tap=False, extra=()):
        self.dir = tempfile.mkdtemp(prefix="loopsy-relay-")
        self.data = os.path.join(self.dir, "data")
        self.tap = os.path.join(self.dir, "tap") if tap else None
        self.extra = list(extra)
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.log = os.path.join(self.dir, "relay.log")
        self.p = None
        self.start()

    def argv(self):
        a = [RELAY, "--listen", "127.0.0.1:%d" % self.port,
             "--data", self.data]
        if self.tap:
            a += ["--tap", self.tap]
        return a + self.extra

    def start(self):
        logf = open(self.log, "ab")
        self.p = subprocess.Popen(self.argv(), stdout=logf, stderr=logf,
                                  stdin=subprocess.DEVNULL)
        logf.close()
        harness._children.append(self.p)
        wait_until(self.healthy, 10, what="the relay to answer /health")

    def healthy(self):
        if self.p.poll() is not None:
            raise RuntimeError("loopsy-relay exited: " + self.read_log())
        try:
            with urllib.request.urlopen(self.url + "/health",
                                        timeout=2) as r:
                return r.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def stop(self, sig=signal.SIGTERM):
        if self.p is not None and self.p.poll() is None:
            self.p.send_signal(sig)
            self.p.wait(timeout=10)

    def restart(self):
        self.stop(signal.SIGKILL)
        self.start()

    def read_log(self):
        with open(self.log, "rb") as f:
            return f.read().decode(errors="replace")

    def data_bytes(self):
        """Every byte the relay keeps on disk (SQLite and its WAL)."""
        out = b""
        for root, dirs, files in os.walk(self.data):
            for n in files:
                with open(os.path.join(root, n), "rb") as f:
                    out += f.read()
        return out

    def tapped(self):
        with open(self.tap, "rb") as f:
            return f.read()

    def close(self):
        self.stop(signal.SIGKILL)
        shutil.rmtree(self.dir, ignore_errors=True)


def relay_status(w):
    rc, out, err = w.lsy("relay", "status", "--json")
    if rc != 0:
        return {}
    try:
        return json.loads(out)
    except ValueError:
        return {}


def relay_connected(w):
    return relay_status(w).get("state") == "connected"


class Laptop:
    """A loopsy server (a World after init, started) registered with a
    relay, its link up."""

    def __init__(self, relay):
        self.w = World()
        rc, out, err = self.w.lsy("init")
        if rc != 0:
            raise RuntimeError("init: " + err)
        rc, out, err = self.w.lsy("start")
        if rc != 0:
            raise RuntimeError("start: " + err)
        rc, out, err = self.w.lsy("relay", "configure", relay.url)
        if rc != 0:
            raise RuntimeError("relay configure: " + out + err)
        wait_until(lambda: relay_connected(self.w), 15,
                   what="the server's relay link")

    def lsy(self, *a, **k):
        return self.w.lsy(*a, **k)

    def pair(self, ttl=None):
        """mobile pair --no-wait --json: {link, code, expires}."""
        a = ["mobile", "pair", "--no-wait", "--json"]
        if ttl is not None:
            a += ["--ttl", str(ttl)]
        rc, out, err = self.w.lsy(*a)
        if rc != 0:
            raise RuntimeError("mobile pair: " + out + err)
        return json.loads(out)

    def phones(self):
        rc, out, err = self.w.lsy("phone", "list", "--json")
        return json.loads(out) if rc == 0 else None

    def close(self):
        self.w.lsy("kill-server")
        self.w.close()


class Phone:
    """web/tools/phone.mjs with its own state file."""

    def __init__(self, relay):
        self.relay = relay
        self.dir = tempfile.mkdtemp(prefix="loopsy-phone-")
        self.state = os.path.join(self.dir, "phone.json")
        self.env = dict(os.environ, NO_UPDATE_NOTIFIER="1")

    def node(self, *args, timeout=30, input=None):
        p = subprocess.run(["node", PHONE] + list(args), cwd=WEB,
                           env=self.env, capture_output=True, text=True,
                           timeout=timeout, input=input)
        return p.returncode, p.stdout, p.stderr

    def pair(self, link, code, label="test phone"):
        return self.node("pair", "--relay", self.relay.url, "--link", link,
                         "--code", code, "--state", self.state,
                         "--label", label)

    def run(self, *argv, timeout=30):
        return self.node("run", "--state", self.state, "--", *argv,
                         timeout=timeout)

    def read_state(self):
        with open(self.state) as f:
            return json.load(f)

    def write_state(self, st):
        with open(self.state, "w") as f:
            json.dump(st, f)

    def attach(self, session, cols=80, rows=24):
        return PhoneAttach(self, session, cols, rows)

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


class PhoneAttach:
    """phone.mjs attach: JSON lines both ways."""

    def __init__(self, phone, session, cols, rows):
        self.p = subprocess.Popen(
            ["node", PHONE, "attach", "--state", phone.state, "--session",
             session, "--cols", str(cols), "--rows", str(rows)],
            cwd=WEB, env=phone.env, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        harness._children.append(self.p)
        os.set_blocking(self.p.stdout.fileno(), False)
        self.buf = b""
        self.output = b""
        self.statuses = []
        self.detached = None
        self.events = []

    def pump(self):
        while True:
            try:
                chunk = self.p.stdout.read(65536)
            except (BlockingIOError, ValueError):
                chunk = None
            if not chunk:
                break
            self.buf += chunk
        while b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            try:
                m = json.loads(line)
            except ValueError:
                continue
            self.events.append(m)
            if "output" in m:
                import base64
                self.output += base64.b64decode(m["output"])
            if "status" in m:
                self.statuses.append(m["status"])
            if "detach" in m:
                self.detached = m["detach"]

    def send(self, obj):
        self.p.stdin.write((json.dumps(obj) + "\n").encode())
        self.p.stdin.flush()

    def type(self, text):
        self.send({"input": text})

    def wait_output(self, needle, timeout=15):
        if isinstance(needle, str):
            needle = needle.encode()

        def cond():
            self.pump()
            return needle in self.output
        return poll_until(cond, timeout)

    def wait_status(self, status, timeout=15, since=0):
        def cond():
            self.pump()
            return any(s == status or (isinstance(s, dict) and
                       s.get("status") == status)
                       for s in self.statuses[since:])
        return poll_until(cond, timeout)

    def last_status(self):
        self.pump()
        if not self.statuses:
            return None
        s = self.statuses[-1]
        return s.get("status") if isinstance(s, dict) else s

    def wait_exit(self, timeout=15):
        try:
            return self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stderr(self):
        try:
            return self.p.stderr.read().decode(errors="replace")
        except Exception:
            return ""

    def close(self):
        if self.p.poll() is None:
            try:
                self.send({"quit": True})
                self.p.wait(timeout=5)
            except Exception:
                self.p.kill()
                self.p.wait()

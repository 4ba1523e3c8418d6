#!/usr/bin/python3
"""bench/peers.py: two loopsy servers linked over loopback TLS WebSockets
beside OpenSSH on the same machine, in the same run (issue 4).

Two private loopsy servers, A and B (own HOME/LOOPSY_HOME, socket and an
ephemeral port on 127.0.0.1); A knows B as the peer "bee", pinned by
fingerprint.  A private sshd (Debian's openssh-server) runs on another
ephemeral port of 127.0.0.1 with its own host key, a client key made for the
run and a config in a temporary directory; the system's ssh config, host keys
and ~/.ssh are neither read nor written.

  exec   `ls` of a directory of 20 files, wall clock from start to exit with
         all output read, runs interleaved:
           loopsy exec -t bee (a client and a new link per run)
             vs  ssh 127.0.0.1 ls (a client and a new connection per run)
           exec over one held link (this script speaks the protocol over a
             TLS WebSocket itself, no client process)
             vs  ssh with ControlMaster (a client process per run, the
                 connection held)
             and one held ssh session running `sh`, `ls` typed into it
                 (no client process per run)
           and, for scale, local `loopsy exec` on B and spawning `ls`.
  cp     a 1 GiB random file: loopsy cp FILE bee:PATH vs scp (SFTP, the
         9.x default) vs local cp; the copy's SHA-256 is checked after every
         run (untimed).
  echo   keystroke echo through a pty, as bench/run.py: a session on B
         running `stty raw -echo; exec cat`, attached from A with
         `attach -t bee:echo`; another such session attached on B with a
         local `attach`; `ssh -tt 127.0.0.1 echo.sh`; and the bare pty.
         Samples interleaved in a shuffled order, 1-4 ms apart.

    bench/peers.py [--n 200] [--echo-n 300] [--cp-runs 3] [--size MIB]
                   [--dir /dev/shm] [--only exec,cp,echo] [--no-write]

Standard library only.  A dated section is appended to bench/RESULTS.md
(unless --no-write) and every sample written to bench/out/peers-<time>.json.
Needs openssh-server and openssh-client:
    apt-get install -y --no-install-recommends openssh-server openssh-client
"""
import argparse
import base64
import datetime
import hashlib
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import ssl
import statistics
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as benchrun  # noqa: E402  (bench/run.py: Pty, echo_one, ...)
from lsyproto import read_reply  # noqa: E402
from run import (Pty, Deadline, BenchError, echo_one, echo_rounds,  # noqa
                 pct, kill_tagged, machine, TAG, COLS, ROWS)

BENCH = benchrun.BENCH
TOP = benchrun.TOP
OUT = benchrun.OUT
LOOPSY = os.environ.get("LOOPSY") or os.path.join(TOP, "loopsy")
SSHD = "/usr/sbin/sshd"
P = subprocess.PIPE
DEVNULL = subprocess.DEVNULL


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def run(argv, env=None, timeout=60, check=True, input=None, cwd=None):
    p = subprocess.run(argv, env=env, cwd=cwd, stdout=P, stderr=P,
                       input=input, timeout=timeout,
                       stdin=DEVNULL if input is None else None)
    if check and p.returncode != 0:
        raise BenchError("%s: exit %d: %s" % (" ".join(argv), p.returncode,
                                              p.stderr.decode()[-500:]))
    return p


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# --- loopsy ----------------------------------------------------------------

class Host:
    """A private loopsy server: init, port 0 on 127.0.0.1, start."""

    def __init__(self, base, name, tag):
        self.name = name
        self.dir = os.path.join(base, name)
        os.mkdir(self.dir, 0o700)
        self.sock = os.path.join(self.dir, "sock")
        self.env = dict(os.environ)
        for k in list(self.env):
            if k.startswith("LOOPSY") or k.startswith("TMUX") or \
                    k in ("STY", "WINDOW"):
                del self.env[k]
        self.env.update({"HOME": self.dir, "LOOPSY_HOME": self.dir,
                         "TERM": "xterm-256color", "LANG": "C.UTF-8",
                         "LC_ALL": "C.UTF-8", "SHELL": "/bin/sh", TAG: tag})
        self.lsy("init")
        cfg = os.path.join(self.dir, "config.yaml")
        with open(cfg) as f:
            text = f.read()
        self.key = re.search(r"apiKey: ([0-9a-f]+)", text).group(1)
        repl = {
            "server:": "server:    { port: 0, host: 127.0.0.1 }",
            "transfer:": 'transfer:  { allowedPaths: ["/"], deniedPaths: [], '
                         'maxFileSize: 0 }',
            "rateLimits:": "rateLimits: { execute: 0, transfer: 0, "
                           "context: 0 }",
            "status:": "status:    { enabled: false }",
            "discovery:": "discovery: { enabled: false }",
        }
        lines = []
        for line in text.splitlines():
            for k, v in repl.items():
                if line.startswith(k):
                    line = v
            lines.append(line)
        with open(cfg, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.lsy("start")
        st = json.loads(self.lsy("status", "--json").stdout)
        if not st.get("listening") or not st.get("port"):
            raise BenchError("%s is not listening: %r" % (name, st))
        self.port = int(st["port"])
        self.fp = self.lsy("key", "show", "--fingerprint").stdout.decode(
        ).strip()

    def argv(self, *a):
        return [LOOPSY, "-S", self.sock] + [str(x) for x in a]

    def lsy(self, *a, **kw):
        return run(self.argv(*a), self.env, **kw)

    def stop(self):
        try:
            self.lsy("kill-server", check=False, timeout=10)
        except (OSError, subprocess.SubprocessError):
            pass


def mask(data, key):
    n = len(data)
    if not n:
        return data
    k = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "big") ^ int.from_bytes(k, "big")).to_bytes(
        n, "big")


class Link:
    """One TLS WebSocket to a loopsy server, speaking its frames (a type
    byte and a payload in each binary message): what `-t host:` does,
    without a client process per command."""

    def __init__(self, port, key):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE      # loopback; the CLI pins it
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.s = ctx.wrap_socket(raw)
        self.cipher = self.s.cipher()
        self.version = self.s.version()
        k = base64.b64encode(os.urandom(16)).decode()
        self.s.sendall(("GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                        "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13"
                        "\r\nSec-WebSocket-Protocol: loopsy.1, key.%s\r\n"
                        "\r\n" % (k, key)).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            d = self.s.recv(4096)
            if not d:
                raise BenchError("link closed during the upgrade")
            head += d
        head, _, self.buf = head.partition(b"\r\n\r\n")
        m = re.match(rb"HTTP/1.1 (\d+)", head)
        if not m or m.group(1) != b"101":
            raise BenchError("WebSocket upgrade refused: %r" % head[:200])
        self.id = 0
        self.send(bytes([1]) + json.dumps({"proto": [1, 1]}).encode())

    def send(self, payload, opcode=2):
        key = os.urandom(4)
        n = len(payload)
        if n < 126:
            h = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
        elif n < 65536:
            h = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
        else:
            h = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
        self.s.sendall(h + key + mask(payload, key))

    def _read(self, n):
        while len(self.buf) < n:
            d = self.s.recv(1 << 16)
            if not d:
                raise BenchError("link closed")
            self.buf += d
        r, self.buf = self.buf[:n], self.buf[n:]
        return r

    def recv(self):
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7f
            if n == 126:
                n = struct.unpack("!H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._read(8))[0]
            if b1 & 0x80:
                key = self._read(4)
                data = mask(self._read(n), key)
            else:
                data = self._read(n)
            op = b0 & 0x0f
            if op == 8:
                raise BenchError("link closed by the server: %r" % data)
            if op == 9:
                self.send(data, opcode=10)
                continue
            if op in (1, 2) and data:
                return data[0], data[1:]

    def command(self, argv):
        """Run a command on the server; (stdout bytes, reply)."""
        self.id += 1
        self.send(bytes([2]) + json.dumps({"id": self.id,
                                           "argv": argv}).encode())
        out, r = read_reply(self.recv, self.id)
        if r.get("exit", 0) != 0 or r.get("ok") is False:
            raise BenchError("%s over the link: %r" % (argv, r))
        if isinstance(r.get("out"), str):
            out += r["out"].encode()
        return out, r

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


# --- OpenSSH ---------------------------------------------------------------

class Sshd:
    """A private sshd on 127.0.0.1:port and the client options to reach it;
    nothing outside self.dir is read or written (but /run/sshd)."""

    def __init__(self, base, tag):
        self.dir = os.path.join(base, "ssh")
        os.mkdir(self.dir, 0o700)
        self.proc = None
        self.master = None
        self.made_run_sshd = False
        self.env = dict(os.environ, LANG="C.UTF-8", LC_ALL="C.UTF-8")
        self.env[TAG] = tag
        self.env.pop("SSH_AUTH_SOCK", None)
        j = lambda n: os.path.join(self.dir, n)      # noqa: E731
        self.hostkey, self.key = j("host_ed25519"), j("id_ed25519")
        self.known, self.auth = j("known_hosts"), j("authorized_keys")
        self.cm = j("cm")
        self.pidfile, self.log = j("sshd.pid"), j("sshd.log")
        for k in (self.hostkey, self.key):
            run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C",
                 "loopsy-bench", "-f", k], self.env)
        shutil.copy(self.key + ".pub", self.auth)
        self.port = free_port()
        sftp = next((p for p in ("/usr/lib/openssh/sftp-server",
                                 "/usr/libexec/openssh/sftp-server")
                     if os.path.exists(p)), "internal-sftp")
        self.config = j("sshd_config")
        with open(self.config, "w") as f:
            f.write("\n".join([
                "ListenAddress 127.0.0.1",
                "HostKey " + self.hostkey,
                "PidFile " + self.pidfile,
                "AuthorizedKeysFile " + self.auth,
                "AuthenticationMethods publickey",
                "PubkeyAuthentication yes",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "UsePAM no",
                "StrictModes no",
                "PermitRootLogin prohibit-password",
                "PermitUserRC no",
                "PermitUserEnvironment no",
                "UseDNS no",
                "PrintMotd no",
                "PrintLastLog no",
                "X11Forwarding no",
                "MaxSessions 100",
                # root's ~/.bashrc here runs `pyenv init` (~0.3 s), and bash
                # reads it under sshd unless it is not the top-level shell:
                # SHLVL=1 makes `bash -c` skip it, so ssh pays for its
                # shell, not for this machine's rc files.
                "SetEnv SHLVL=1",
                "MaxStartups 100:30:200",
                "Subsystem sftp " + sftp,
                ""]))
        if not os.path.isdir("/run/sshd"):
            os.makedirs("/run/sshd", 0o755)
            self.made_run_sshd = True
        run([SSHD, "-t", "-f", self.config, "-p", str(self.port)], self.env)
        self.logf = open(self.log, "wb")
        self.proc = subprocess.Popen(
            [SSHD, "-D", "-e", "-f", self.config, "-p", str(self.port)],
            env=self.env, stdin=DEVNULL, stdout=self.logf,
            stderr=self.logf, start_new_session=True)
        dl = Deadline(10)
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), 1).close()
                break
            except OSError:
                if self.proc.poll() is not None or dl.expired():
                    raise BenchError("sshd did not start: %s" %
                                     self.log_tail())
                time.sleep(0.05)
        self.opts = ["-F", "/dev/null", "-i", self.key,
                     "-o", "IdentitiesOnly=yes",
                     "-o", "UserKnownHostsFile=" + self.known,
                     "-o", "GlobalKnownHostsFile=/dev/null",
                     "-o", "StrictHostKeyChecking=accept-new",
                     "-o", "BatchMode=yes", "-o", "LogLevel=ERROR",
                     "-p", str(self.port)]
        self.host = "root@127.0.0.1"
        run(self.ssh("true"), self.env, timeout=20)
        self.version = run(["ssh", "-V"], self.env,
                           check=False).stderr.decode().strip()

    def log_tail(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()[-800:]
        except OSError:
            return "?"

    def ssh(self, *cmd, opts=()):
        return ["ssh"] + self.opts + list(opts) + [self.host] + list(cmd)

    def cm_opts(self):
        return ["-o", "ControlPath=" + self.cm]

    def start_master(self):
        self.master = subprocess.Popen(
            ["ssh"] + self.opts + ["-o", "ControlMaster=yes", "-o",
                                   "ControlPath=" + self.cm, "-N",
                                   self.host],
            env=self.env, stdin=DEVNULL, stdout=DEVNULL, stderr=P,
            start_new_session=True)
        dl = Deadline(10)
        while True:
            r = run(["ssh"] + self.opts + self.cm_opts() +
                    ["-O", "check", self.host], self.env, check=False)
            if r.returncode == 0:
                return
            if self.master.poll() is not None or dl.expired():
                raise BenchError("ssh ControlMaster did not start: %s" %
                                 r.stderr.decode())
            time.sleep(0.05)

    def negotiated(self):
        """The cipher and key exchange ssh picks here (from ssh -v)."""
        r = run(self.ssh("true", opts=["-v"]), self.env, check=False)
        err = r.stderr.decode(errors="replace")
        m = re.search(r"kex: client->server cipher: (\S+) MAC: (\S+)", err)
        k = re.search(r"kex: algorithm: (\S+)", err)
        return "%s (MAC %s), kex %s" % (
            m.group(1) if m else "?", m.group(2) if m else "?",
            k.group(1) if k else "?")

    def stop(self):
        for p in (self.master, self.proc):
            if p is None or p.poll() is not None:
                continue
            try:
                p.terminate()
                p.wait(timeout=3)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=3)
            except OSError:
                pass
        try:
            self.logf.close()
        except (AttributeError, OSError):
            pass
        if self.made_run_sshd:
            try:
                os.rmdir("/run/sshd")
            except OSError:
                pass


class HeldShell:
    """One ssh session running sh; each command is typed into it and read
    back up to an end marker: the held-connection analogue with no client
    process per command."""

    def __init__(self, sshd):
        self.p = subprocess.Popen(sshd.ssh("exec sh"), env=sshd.env,
                                  stdin=P, stdout=P, stderr=DEVNULL,
                                  start_new_session=True)
        self.fd = self.p.stdout.fileno()
        self.buf = b""
        self.run("true")

    def run(self, cmd):
        self.p.stdin.write(("%s; echo @@end$?@@\n" % cmd).encode())
        self.p.stdin.flush()
        while True:
            m = re.search(rb"@@end(\d+)@@\n", self.buf)
            if m:
                out, self.buf = self.buf[:m.start()], self.buf[m.end():]
                if m.group(1) != b"0":
                    raise BenchError("held ssh shell: %s: exit %s" % (
                        cmd, m.group(1).decode()))
                return out
            d = os.read(self.fd, 1 << 16)
            if not d:
                raise BenchError("held ssh shell ended")
            self.buf += d

    def close(self):
        try:
            self.p.stdin.close()
            self.p.wait(timeout=3)
        except (OSError, subprocess.TimeoutExpired):
            self.p.kill()


# --- the figures -----------------------------------------------------------

def stats(v):
    if not v:
        return {"n": 0}
    return {"n": len(v), "median": statistics.median(v), "p95": pct(v, 95),
            "min": min(v), "max": max(v)}


def bench_exec(a, b, sshd, work, args, res, meta):
    names = sorted(os.listdir(work))
    link = Link(b.port, b.key)
    meta["tls"] = "%s %s" % (link.version, link.cipher[0])
    shell = None
    cases = {}
    try:
        sshd.start_master()
        shell = HeldShell(sshd)
        sub = lambda argv, env: (lambda: run(argv, env).stdout)  # noqa
        cases = {
            "loopsy CLI": sub(a.argv("exec", "-t", "bee", "--cwd", work,
                                     "--", "ls"), a.env),
            "ssh": sub(sshd.ssh("ls", work), sshd.env),
            "loopsy link": lambda: link.command(
                ["exec", "--cwd", work, "--", "ls"])[0],
            "ssh ControlMaster": sub(sshd.ssh("ls", work,
                                              opts=sshd.cm_opts()),
                                     sshd.env),
            "ssh held shell": lambda: shell.run("ls " + work),
            "loopsy local": sub(b.argv("exec", "--cwd", work, "--", "ls"),
                                b.env),
            "direct": sub(["ls", work], None),
        }
        # Check each once (and warm up): all must list the same names.
        for name, fn in cases.items():
            for _ in range(3):
                out = fn()
            got = out.decode().split()
            if got != names:
                raise BenchError("%s listed %r, not %r" % (name, got[:5],
                                                          names[:5]))
        times = {k: [] for k in cases}
        rnd = random.Random(4)
        order = list(cases.items())
        for i in range(args.n):
            rnd.shuffle(order)
            for name, fn in order:
                t0 = time.perf_counter()
                fn()
                times[name].append((time.perf_counter() - t0) * 1e3)
        res["exec"] = {k: dict(stats(v), samples=v) for k, v in
                       times.items()}
        for k in cases:
            log("exec  %-18s median %.3f ms p95 %.3f ms" % (
                k, res["exec"][k]["median"], res["exec"][k]["p95"]))
    finally:
        link.close()
        if shell:
            shell.close()


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            d = f.read(1 << 22)
            if not d:
                return h.hexdigest()
            h.update(d)


def bench_cp(a, b, sshd, args, res):
    d = tempfile.mkdtemp(prefix="loopsy-bench-peers-", dir=args.dir)
    os.chmod(d, 0o755)
    src, dst = os.path.join(d, "src"), os.path.join(d, "dst")
    out = res["cp"] = {"dir": args.dir, "mib": args.size}
    try:
        log("cp: writing %d MiB of random bytes to %s" % (args.size, src))
        with open(src, "wb") as f:
            for _ in range(args.size):
                f.write(os.urandom(1 << 20))
        want = sha256(src)
        cases = {
            "loopsy cp": a.argv("cp", src, "bee:" + dst),
            "scp": ["scp", "-q"] + [o if o != "-p" else "-P"
                                    for o in sshd.opts] +
                   [src, "%s:%s" % (sshd.host, dst)],
            "cp": ["cp", src, dst],
        }
        envs = {"loopsy cp": a.env, "scp": sshd.env, "cp": None}
        failed = {}

        def once(name):
            if os.path.exists(dst):
                os.unlink(dst)
            t0 = time.perf_counter()
            p = subprocess.run(cases[name], env=envs[name], stdin=DEVNULL,
                               stdout=P, stderr=P, timeout=600)
            t = time.perf_counter() - t0
            if p.returncode != 0:
                raise BenchError("exit %d: %s" % (
                    p.returncode, (p.stderr or p.stdout).decode(
                        errors="replace").strip()[-400:]))
            if not os.path.exists(dst):
                raise BenchError("exit 0 but %s was not written" % dst)
            got = sha256(dst)
            if got != want:
                raise BenchError("SHA-256 of the copy differs (%s, not %s)"
                                 % (got[:16], want[:16]))
            os.unlink(dst)
            return t

        for name in cases:                      # warm up, find failures
            try:
                once(name)
            except (BenchError, subprocess.SubprocessError, OSError) as e:
                failed[name] = str(e)
                log("cp %s FAILED: %s" % (name, e))
        times = {k: [] for k in cases if k not in failed}
        rnd = random.Random(5)
        for i in range(args.cp_runs):
            order = list(times)
            rnd.shuffle(order)
            for name in order:
                try:
                    times[name].append(once(name))
                    log("cp %-10s run %d: %.2f s" % (name, i + 1,
                                                     times[name][-1]))
                except (BenchError, subprocess.SubprocessError,
                        OSError) as e:
                    failed[name] = str(e)
                    log("cp %s run %d FAILED: %s" % (name, i + 1, e))
        for name in cases:
            if name in failed and not times.get(name):
                out[name] = {"error": failed[name], "argv": cases[name]}
            else:
                out[name] = dict(stats(times[name]), samples=times[name])
                if name in failed:
                    out[name]["error"] = failed[name]
    finally:
        shutil.rmtree(d, ignore_errors=True)


def ready(p, name):
    """Echo one letter with a long deadline: the client is up."""
    dl = Deadline(20)
    while True:
        try:
            echo_one(p, b"z")
            p.drain(0.05, limit=1)
            return
        except BenchError as e:
            if dl.expired() or p.proc.poll() is not None:
                raise BenchError("%s never echoed: %s" % (name, e))


def bench_echo(a, b, sshd, script, args, res):
    out = res["echo"] = {}
    targets = []
    try:
        for s in ("echo", "echo-local"):
            b.lsy("new-session", "-d", "-s", s, "-x", COLS, "-y", ROWS,
                  script)
        time.sleep(0.3)
        bare_env = dict(b.env)
        specs = [
            ("loopsy attach -t bee:echo", a.argv("attach", "-t",
                                                 "bee:echo"), a.env, b"\x02d"),
            ("loopsy attach (local)", b.argv("attach", "-t", "echo-local"),
             b.env, b"\x02d"),
            ("ssh -tt", ["ssh", "-tt"] + sshd.opts + [sshd.host, script],
             dict(sshd.env, TERM="xterm-256color"), None),
            ("bare pty", [script], bare_env, None),
        ]
        for name, argv, env, detach in specs:
            p = Pty(argv, env)
            targets.append((name, p, detach))
            try:
                ready(p, name)
            except BenchError as e:
                out[name] = {"error": str(e)}
                log("echo %s FAILED: %s" % (name, e))
        live = [(t[0], t[1]) for t in targets if t[0] not in out]
        lat, failed = echo_rounds(live, args.echo_n, random.Random(99))
        for name, v in lat.items():
            if name in failed or not v:
                out[name] = {"error": failed.get(name, "no samples")}
                continue
            out[name] = dict(stats(v), samples=v)
            log("echo  %-26s median %.3f ms p95 %.3f ms" % (
                name, out[name]["median"], out[name]["p95"]))
    finally:
        for name, p, detach in targets:
            p.close(detach=detach)


# --- report ----------------------------------------------------------------

def g(res, fig, name, key="median"):
    v = res.get(fig, {}).get(name)
    return v.get(key) if isinstance(v, dict) else None


def ratio(x, y):
    return "%.2f" % (x / y) if x is not None and y else "–"


def ratios(res, fig, x, y):
    """x/y of the medians, then of the p95s."""
    return "%s, %s" % (ratio(g(res, fig, x), g(res, fig, y)),
                       ratio(g(res, fig, x, "p95"), g(res, fig, y, "p95")))


def report(res, meta):
    L = ["", "## %s — peers over loopback (bench/peers.py)" % meta["date"],
         ""]
    L.append("Machine: %s, %s, nproc %d, kernel %s, load average %s; "
             "Python %s.  %s; %s.  Link: %s; ssh: %s.  Two loopsy servers "
             "and one sshd on 127.0.0.1, each with its own temporary HOME, "
             "keys and config; sshd gives sessions SHLVL=1 so that bash skips root's "
             "~/.bashrc (pyenv here: ~0.3 s), and ssh pays for `bash -c`, "
             "not for this machine's rc files.  Command: `%s`, %.0f s." % (
                 meta["host"], meta["cpu"], meta["nproc"], meta["kernel"],
                 meta["load"], meta["python"], meta["loopsy"],
                 meta["ssh_version"], meta.get("tls", "?"),
                 meta.get("ssh_cipher", "?"), meta["argv"],
                 meta["elapsed_s"]))
    L.append("")
    if "exec" in res:
        e = res["exec"]
        n = next((v["n"] for v in e.values() if "n" in v), 0)
        L += ["### Remote `ls` round trip (%d runs each, interleaved)" % n,
              "",
              "`ls` of a directory of 20 files on B; wall clock from start "
              "to exit with all output read.",
              "",
              "| how | median | p95 |", "|---|---|---|"]
        rows = [
            ("loopsy CLI", "`loopsy exec -t bee -- ls`: a client process "
             "and a new TLS link per run"),
            ("ssh", "`ssh 127.0.0.1 ls`: a client process and a new "
             "connection per run"),
            ("loopsy link", "exec over one held link (WebSocket spoken by "
             "this script, no client process)"),
            ("ssh ControlMaster", "`ssh` with ControlMaster: a client "
             "process per run, the connection held"),
            ("ssh held shell", "one held `ssh … sh` session, `ls` typed "
             "into it (no client process)"),
            ("loopsy local", "local `loopsy exec -- ls` on B (no link), for "
             "scale"),
            ("direct", "spawning `ls` (subprocess), the floor"),
        ]
        for k, label in rows:
            if k in e:
                L.append("| %s | %.3f ms | %.3f ms |" % (
                    label, e[k]["median"], e[k]["p95"]))
        L.append("")
        L.append("Ratios loopsy/ssh (median, p95): new connection per run "
                 "%s; held link vs ControlMaster %s; held link vs held ssh "
                 "shell %s." % (
                     ratios(res, "exec", "loopsy CLI", "ssh"),
                     ratios(res, "exec", "loopsy link", "ssh ControlMaster"),
                     ratios(res, "exec", "loopsy link", "ssh held shell")))
        L.append("")
    elif "exec_error" in res:
        L += ["### Remote `ls` round trip", "", "Failed: " +
              res["exec_error"], ""]
    if "cp" in res:
        c = res["cp"]
        L += ["### Copy of a %d MiB random file to B (%s), SHA-256 of the "
              "copy checked after every run" % (c["mib"], c["dir"]), "",
              "| how | median | p95 | GB/s (median) | runs |",
              "|---|---|---|---|---|"]
        labels = {"loopsy cp": "`loopsy cp FILE bee:PATH`",
                  "scp": "`scp FILE 127.0.0.1:PATH` (SFTP protocol)",
                  "cp": "local `cp`, for scale"}
        for k, label in labels.items():
            v = c.get(k, {})
            if "median" in v:
                L.append("| %s | %.2f s | %.2f s | %.2f | %s |" % (
                    label, v["median"], v["p95"],
                    c["mib"] * (1 << 20) / v["median"] / 1e9,
                    " ".join("%.2f" % t for t in v["samples"])))
            else:
                L.append("| %s | not available | | | |" % label)
        L.append("")
        for k in labels:
            if "error" in c.get(k, {}):
                L.append("%s: %s" % (labels[k], c[k]["error"].replace(
                    "\n", " ")))
                L.append("")
        if g(res, "cp", "loopsy cp") and g(res, "cp", "scp"):
            L.append("Ratio loopsy/scp (median): %s; loopsy/local cp: %s." %
                     (ratio(g(res, "cp", "loopsy cp"), g(res, "cp", "scp")),
                      ratio(g(res, "cp", "loopsy cp"), g(res, "cp", "cp"))))
            L.append("")
    elif "cp_error" in res:
        L += ["### Copy to B", "", "Failed: " + res["cp_error"], ""]
    if "echo" in res:
        e = res["echo"]
        n = next((v["n"] for v in e.values() if "n" in v), 0)
        L += ["### Keystroke echo through a pty (%d samples each, "
              "interleaved)" % n, "",
              "Sessions on B run `stty raw -echo; exec cat` (bench/run.py's "
              "echo.sh) at 120x40; a letter is written to the client's pty "
              "and timed until it comes back.  The remote and the local "
              "attach are to two such sessions, so that neither client sees "
              "the other's echo.", "",
              "| how | median | p95 |", "|---|---|---|"]
        for k, label in (
                ("loopsy attach -t bee:echo", "`attach -t bee:echo` from "
                 "A (A's client → TLS link → B)"),
                ("loopsy attach (local)", "local `attach` on B"),
                ("ssh -tt", "`ssh -tt 127.0.0.1 echo.sh`"),
                ("bare pty", "`echo.sh` straight on the pty (floor)")):
            v = e.get(k, {})
            if "median" in v:
                L.append("| %s | %.3f ms | %.3f ms |" % (label, v["median"],
                                                        v["p95"]))
            else:
                L.append("| %s | failed: %s | |" % (label, v.get("error")))
        L.append("")
        remote, local = "loopsy attach -t bee:echo", "loopsy attach (local)"
        L.append("Ratios (median, p95): remote attach/ssh %s; local "
                 "attach/ssh %s; remote/local attach %s." % (
                     ratios(res, "echo", remote, "ssh -tt"),
                     ratios(res, "echo", local, "ssh -tt"),
                     ratios(res, "echo", remote, local)))
        L.append("")
    elif "echo_error" in res:
        L += ["### Keystroke echo", "", "Failed: " + res["echo_error"], ""]
    return "\n".join(L)


def need_ssh():
    missing = [x for x in ("ssh", "scp", "ssh-keygen") if not shutil.which(x)]
    if not os.access(SSHD, os.X_OK):
        missing.append(SSHD)
    if missing:
        log("bench/peers.py: missing %s.  Install OpenSSH first:\n"
            "    apt-get install -y --no-install-recommends openssh-server "
            "openssh-client" % ", ".join(missing))
        sys.exit(2)


def main():
    global LOOPSY
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=200,
                    help="exec runs per method (default 200)")
    ap.add_argument("--echo-n", type=int, default=300,
                    help="echo samples per method (default 300)")
    ap.add_argument("--cp-runs", type=int, default=3,
                    help="timed copies per method (default 3)")
    ap.add_argument("--size", type=int, default=1024,
                    help="file size in MiB (default 1024)")
    ap.add_argument("--dir", default="/dev/shm",
                    help="where the file and its copies go (default "
                    "/dev/shm: the pipeline, not the disk)")
    ap.add_argument("--only", default="exec,cp,echo")
    ap.add_argument("--no-write", action="store_true",
                    help="print the report; do not append to RESULTS.md")
    args = ap.parse_args()
    only = set(args.only.split(","))
    if not os.access(LOOPSY, os.X_OK):
        ap.error("build loopsy first: make -s")
    need_ssh()

    def on_term(sig, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_term)

    tag = "peers-%d-%d" % (os.getpid(), int(time.time()))
    base = tempfile.mkdtemp(prefix="loopsy-bench-peers-")
    os.chmod(base, 0o755)
    # A copy of the binary, so that a rebuild during the run changes nothing.
    shutil.copy2(LOOPSY, os.path.join(base, "loopsy"))
    LOOPSY = os.path.join(base, "loopsy")
    loopsy_version = run([LOOPSY, "-V"], check=False).stdout.decode().strip()
    now = datetime.datetime.now()
    load0 = os.getloadavg()[0]
    started = time.monotonic()
    res, meta = {}, {}
    hosts, sshd = [], None
    interrupted = False
    try:
        work = os.path.join(base, "work")
        os.mkdir(work)
        for i in range(20):
            open(os.path.join(work, "file%02d" % i), "w").close()
        script = os.path.join(base, "echo.sh")
        with open(script, "w") as f:
            f.write("#!/bin/sh\nstty raw -echo\nexec cat\n")
        os.chmod(script, 0o755)
        a = Host(base, "a", tag)
        hosts.append(a)
        b = Host(base, "b", tag)
        hosts.append(b)
        a.lsy("peers", "add", "bee", "127.0.0.1:%d" % b.port, "--key", "-",
              "--fingerprint", b.fp, input=(b.key + "\n").encode())
        sshd = Sshd(base, tag)
        meta["ssh_version"] = sshd.version or "OpenSSH ?"
        meta["ssh_cipher"] = sshd.negotiated()
        log("loopsy A :%d, B :%d; sshd :%d" % (a.port, b.port, sshd.port))
        for fig, fn in (("exec", lambda: bench_exec(a, b, sshd, work, args,
                                                    res, meta)),
                        ("cp", lambda: bench_cp(a, b, sshd, args, res)),
                        ("echo", lambda: bench_echo(a, b, sshd, script, args,
                                                    res))):
            if fig not in only:
                continue
            try:
                fn()
            except (BenchError, OSError, subprocess.SubprocessError) as e:
                log("%s FAILED: %s" % (fig, e))
                res[fig + "_error"] = str(e)
    except KeyboardInterrupt:
        log("interrupted")
        interrupted = True
    finally:
        for h in hosts:
            h.stop()
        if sshd:
            sshd.stop()
        kill_tagged(tag)
        shutil.rmtree(base, ignore_errors=True)
    if interrupted:
        sys.exit(130)
    meta.update({
        "date": now.strftime("%Y-%m-%d %H:%M"), "host": platform.node(),
        "cpu": machine(), "nproc": os.cpu_count(),
        "kernel": platform.release(), "python": platform.python_version(),
        "loopsy": loopsy_version,
        "argv": " ".join(["bench/peers.py"] + sys.argv[1:]),
        "elapsed_s": time.monotonic() - started,
        "load": "%.2f at start, %.2f at end" % (load0, os.getloadavg()[0])})
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "peers-%s.json" %
                           now.strftime("%Y%m%d-%H%M%S")), "w") as f:
        json.dump({"meta": meta, "results": res}, f, indent=1)
    text = report(res, meta).rstrip("\n") + "\n"
    print(text)
    if not args.no_write:
        with open(os.path.join(BENCH, "RESULTS.md"), "a") as f:
            f.write(text)
    log("total %.0f s" % meta["elapsed_s"])


if __name__ == "__main__":
    main()

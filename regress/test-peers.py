#!/usr/bin/python3
# Peers: two servers on this machine (separate HOME, sockets and ports on
# 127.0.0.1), the TLS listener, peers add/list/remove, remote verbs over the
# WebSocket link (-t host:), wrong keys and fingerprints, the bad-key limit,
# malformed HTTP and oversized frames answered while the server goes on.
import base64
import json
import os
import re
import socket
import subprocess
import ssl
import stat
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import *  # noqa

require()


def read(p):
    with open(p) as f:
        return f.read()


def no_rate_limits(text):
    return re.sub(r"rateLimits:.*", "rateLimits: { execute: 0, "
                  "transfer: 0, context: 0 }", text)


class WS:
    """A minimal WebSocket client over TLS, speaking loopsy frames."""

    def __init__(self, port, key, protocol="loopsy.1"):
        self.s = tls_connect(port)
        k = base64.b64encode(os.urandom(16)).decode()
        proto = protocol + (", key." + key if key else "")
        self.s.sendall(("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket"
                        "\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol:"
                        " %s\r\n\r\n" % (k, proto)).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            d = self.s.recv(1)
            if not d:
                break
            head += d
        self.status = int(re.match(rb"HTTP/1.1 (\d+)", head).group(1))
        self.buf = b""

    def send(self, payload, opcode=2, length=None):
        mask = os.urandom(4)
        n = len(payload) if length is None else length
        if n < 126:
            h = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
        elif n < 65536:
            h = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
        else:
            h = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
        body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.s.sendall(h + mask + body)

    def _read(self, n):
        while len(self.buf) < n:
            d = self.s.recv(65536)
            if not d:
                raise EOFError
            self.buf += d
        r, self.buf = self.buf[:n], self.buf[n:]
        return r

    def recv(self, timeout=5):
        """(opcode, payload) of the next frame, None on EOF or timeout."""
        self.s.settimeout(timeout)
        try:
            b0, b1 = self._read(2)
            n = b1 & 0x7f
            if n == 126:
                n = struct.unpack("!H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._read(8))[0]
            return b0 & 0x0f, self._read(n)
        except (EOFError, OSError, ssl.SSLError):
            return None

    def command(self, argv):
        self.send(bytes([1]) + json.dumps({"proto": [1, 1]}).encode())
        self.send(bytes([2]) + json.dumps({"id": 1, "argv": argv}).encode())
        while True:
            f = self.recv()
            if f is None:
                return None
            if f[0] == 2 and f[1][0] == 3:
                return json.loads(f[1][1:])

    def close(self):
        self.s.close()


def ws_attach(b, token, scrollback):
    """Attach over a raw WebSocket; return (ws, output bytes so far)."""
    ws = WS(b.port, b.key)
    ws.send(bytes([1]) + json.dumps({"proto": [1, 1]}).encode())
    ws.send(bytes([2]) + json.dumps({
        "id": 1, "argv": ["attach-session", "-t", "hist"], "resume": token,
        "scrollback": scrollback, "tty": {"cols": 80, "rows": 10}}).encode())
    out = b""
    while True:
        f = ws.recv(timeout=2)
        if f is None:
            break
        if f[0] == 2 and f[1][0] == 4:
            out += f[1][1:]
            if b"$ " in out:
                break
    return ws, out


def ws_resume(b):
    """A web client (own scrollback) gets the lines it missed."""
    b.w.new("hist", "sh", x=80, y=10)
    b.lsy("send-keys", "-t", "hist", "PS1='$ '; clear", "Enter")
    b.w.wait_screen("hist", r"^\$")
    ws, out = ws_attach(b, "token-one-0123456789", True)
    ok(b"$" in out, "web_client_attaches_over_the_websocket", repr(out))
    ws.close()
    poll_until(lambda: b.status()["clients"] == 0, 10)
    b.lsy("send-keys", "-t", "hist", "seq 101 140", "Enter")
    b.w.wait_screen("hist", "^140$")
    ws, out = ws_attach(b, "token-one-0123456789", True)
    text = re.sub(rb"\x1b\[[0-9;?]*[A-Za-z]", b"", out)
    ok(b"101\r\n102\r\n" in text and b"125\r\n" in text,
       "web_client_gets_the_scrollback_it_missed", repr(text[:400]))
    ws.close()
    ws, out = ws_attach(b, "token-other-0123456789", True)
    text = re.sub(rb"\x1b\[[0-9;?]*[A-Za-z]", b"", out)
    ok(b"101\r\n" not in text, "an_unknown_token_gets_just_the_screen",
       repr(text[:200]))
    ws.close()
    b.lsy("kill-session", "-t", "hist")


class Proxy:
    """A TCP proxy to a port that a test can cut and hold down."""

    def __init__(self, port):
        import threading
        self.port_to = port
        self.ls = socket.socket()
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(16)
        self.port = self.ls.getsockname()[1]
        self.down = False
        self.conns = []
        self.lock = threading.Lock()
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        import threading
        while True:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            if self.down:
                c.close()
                continue
            try:
                u = socket.create_connection(("127.0.0.1", self.port_to))
            except OSError:
                c.close()
                continue
            with self.lock:
                self.conns += [c, u]
            for x, y in ((c, u), (u, c)):
                threading.Thread(target=self.pump, args=(x, y),
                                 daemon=True).start()

    def pump(self, x, y):
        try:
            while True:
                d = x.recv(65536)
                if not d:
                    break
                y.sendall(d)
        except OSError:
            pass
        for s in (x, y):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self):
        with self.lock:
            for c in self.conns:
                try:
                    c.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                c.close()
            self.conns = []

    def close(self):
        self.cut()
        self.ls.close()


def remote_attach(a, b):
    """attach -t host:session through a proxy that drops the link."""
    proxy = Proxy(b.port)
    try:
        a.lsy("peers", "add", "far", "127.0.0.1:%d" % proxy.port, "--key",
              "-", "--fingerprint", b.fp, input=b.key + "\n")
        b.w.new("rem", "sh", extra=())
        b.lsy("send-keys", "-t", "rem", "PS1='$ '; clear", "Enter")
        t = a.w.tmux(80, 24, a.w.shell_cmd("attach-session", "-t",
                                           "far:rem"))
        ok(poll_until(lambda: "$" in t.capture(), 10),
           "remote_attach_shows_the_session", t.capture())
        t.keys("echo typed-$((40+2))", "Enter")
        ok(poll_until(lambda: "typed-42" in b.w.capture("rem"), 10) and
           poll_until(lambda: "typed-42" in t.capture(), 10),
           "keys_go_over_the_link_and_the_echo_comes_back", t.capture())

        proxy.down = True
        proxy.cut()
        ok(poll_until(lambda: "link to far lost" in t.capture(), 10),
           "a_dropped_link_is_shown_on_the_status_line", t.capture())
        b.lsy("send-keys", "-t", "rem", "seq 1 60", "Enter")
        b.w.wait_screen("rem", "^60$")
        t.keys("echo SHOULD-NOT-ARRIVE", "Enter")
        proxy.down = False
        ok(poll_until(lambda: re.search(r"^60 *$", t.capture(), re.M) and
                      "lost" not in t.capture(), 20),
           "it_reconnects_and_shows_the_current_screen", t.capture())
        # what scrolled by while away is in the session's scrollback
        t.keys("C-b", "[", "PPage", "PPage")
        ok(poll_until(lambda: re.search(r"^5$", t.capture(), re.M), 10),
           "the_scrollback_missed_while_away_is_in_copy_mode", t.capture())
        t.keys("q")
        poll_until(lambda: re.search(r"^60 *$", t.capture(), re.M), 10)
        ok("SHOULD-NOT-ARRIVE" not in b.w.capture("rem", "-S", "-200"),
           "input_typed_while_down_is_not_sent_later")
        # the prompt over a link cannot run what is only for the owner
        t.keys("C-b", ":", "kill-server", "Enter")
        ok(poll_until(lambda: "only on this machine" in t.capture(), 10)
           and b.status()["pid"] > 0, "prompt_over_a_link_cannot_kill_the_"
           "server", t.capture())
        t.keys("echo back-$((1+1))", "Enter")
        ok(poll_until(lambda: "back-2" in b.w.capture("rem"), 10),
           "input_works_after_reconnecting")
        b.lsy("kill-session", "-t", "rem")
        ok(poll_until(lambda: t.dead() or "session" in t.capture(), 10),
           "remote_session_end_ends_the_attach", t.capture())
    finally:
        proxy.close()


def remote_cp(a, b):
    """cp both ways with a peer, checked; a corrupted push leaves nothing."""
    import hashlib
    src = os.path.join(a.w.home, "src.bin")
    data = os.urandom(3 * 1024 * 1024 + 12345)
    with open(src, "wb") as f:
        f.write(data)
    os.chmod(src, 0o640)
    dst = os.path.join(b.w.home, "got.bin")
    rc, out, err = a.lsy("cp", src, "bee:" + dst)
    ok(rc == 0 and os.path.exists(dst) and
       open(dst, "rb").read() == data and
       stat.S_IMODE(os.stat(dst).st_mode) == 0o640,
       "cp_to_a_peer_with_checksum_and_mode", err)
    back = os.path.join(a.w.home, "back.bin")
    rc, out, err = a.lsy("cp", "bee:" + dst, back)
    ok(rc == 0 and hashlib.sha256(open(back, "rb").read()).digest() ==
       hashlib.sha256(data).digest(), "cp_from_a_peer", err)
    env = dict(a.w.env, LOOPSY_TEST_CORRUPT_CHUNK="2")
    bad = os.path.join(b.w.home, "bad.bin")
    r = subprocess.run(a.w.argv("cp", src, "bee:" + bad), env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60)
    left = [n for n in os.listdir(b.w.home) if "bad.bin" in n]
    ok(r.returncode == 1 and b"checksum mismatch" in r.stderr and not left,
       "a_corrupted_push_to_a_peer_leaves_no_file",
       "%r %r" % (r.stderr, left))
    # a push killed halfway resumes from what the peer has
    big = os.path.join(a.w.home, "big.bin")
    bdata = os.urandom(12 * 1024 * 1024)
    with open(big, "wb") as f:
        f.write(bdata)
    bdst = os.path.join(b.w.home, "big.bin")
    env = dict(a.w.env, LOOPSY_TEST_PAUSE_AFTER=str(5 * 1024 * 1024))
    p = subprocess.Popen(a.w.argv("cp", big, "bee:" + bdst), env=env,
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    line = p.stderr.readline().decode()
    p.kill()
    p.wait()
    part = lambda: [n for n in os.listdir(b.w.home)
                    if "loopsy-part" in n and "big.bin" in n]
    ok("paused" in line and poll_until(part, 10) and
       not os.path.exists(bdst), "a_killed_push_to_a_peer_keeps_a_part",
       line)
    rc, out, err = a.lsy("cp", "--json", big, "bee:" + bdst)
    j = json.loads(out) if rc == 0 else {}
    f = (j.get("files") or [{}])[0]
    ok(rc == 0 and open(bdst, "rb").read() == bdata and
       f.get("resumed", 0) >= 5 * 1024 * 1024 and not part(),
       "a_push_to_a_peer_resumes_from_the_part", out + err)
    tree = os.path.join(b.w.home, "tree")
    os.makedirs(os.path.join(tree, "sub"))
    with open(os.path.join(tree, "sub", "x.txt"), "w") as f:
        f.write("deep\n")
    got = os.path.join(a.w.home, "gottree")
    rc, out, err = a.lsy("cp", "-r", "bee:" + tree, got)
    ok(rc == 0 and os.path.exists(os.path.join(got, "sub", "x.txt")) and
       open(os.path.join(got, "sub", "x.txt")).read() == "deep\n",
       "cp_r_pulls_a_tree_from_a_peer", err)
    rc, out, err = a.lsy("cp", src, "bee:/etc/loopsy-denied")
    ok(rc == 1 and "allowedPaths" in err, "peer_path_policy_applies_to_cp",
       err)
    rc, out, err = a.lsy("cp", "bee:" + dst, "bee:" + dst + ".2")
    ok(rc == 1 and "two peers" in err, "cp_between_two_peers_is_refused",
       err)


def allow_key(host, name, key):
    """Accept key from a peer as name (auth.allowedKeys), reloaded."""
    p = os.path.join(host.w.home, "config.yaml")
    text = read(p).replace("allowedKeys: {}",
                           "allowedKeys: { %s: %s }" % (name, key))
    host.w.write_config(text)
    rc, out, err = host.lsy("config", "reload")
    if rc != 0:
        raise RuntimeError("config reload: " + err)


def inbox_ids(host):
    rc, out, err = host.lsy("msg", "inbox", "--json")
    return [m["id"] for m in json.loads(out)] if rc == 0 else None


def set_from(host, mid, sender):
    """Rewrite the "from" of a message in host's inbox."""
    key = "inbox:%s:%s" % (socket.gethostname(), mid)
    env = json.loads(host.lsy("context", "get", key)[1])
    env["from"] = sender
    host.lsy("context", "set", "--ttl", "3600", key, json.dumps(env))


def msg_ack_across_peers(a, b):
    # Each side presents its own key, which the other knows by a name:
    # a is "ay" on b, b is "kai" on a, as two paired machines would be.
    allow_key(a, "kai", b.key)
    allow_key(b, "ay", a.key)
    for host, name, peer in ((a, "kai", b), (b, "ay", a)):
        rc, out, err = host.lsy("peers", "add", name,
                                "127.0.0.1:%d" % peer.port, "--key", "-",
                                input=host.key + "\n")
        if rc != 0:
            raise RuntimeError("peers add: " + err)
    rc, out, err = a.lsy("msg", "send", "kai", "--", "-t")
    mid = out.strip()
    rc2, out2, err2 = b.lsy("msg", "inbox", "--json")
    inbox = json.loads(out2) if rc2 == 0 else []
    ok(rc == 0 and [(m["from"], m["body"]) for m in inbox
                    if m["id"] == mid] == [("ay", "-t")],
       "msg_send_to_a_peer_after_double_dash_sends_the_text_as_is",
       out + err + out2 + err2)
    rc, out, err = a.lsy("context", "get", "--json", "outbox:" + mid)
    try:
        env = json.loads(json.loads(out)["value"])
    except (ValueError, KeyError, TypeError):
        env = {}
    ok(rc == 0 and env.get("id") == mid and env.get("to") == "kai" and
       env.get("body") == "-t" and "outbox:" + mid not in
       b.lsy("context", "list")[1],
       "msg_send_to_a_peer_keeps_the_outbox_on_the_sender", out + err)

    rc, out, err = b.lsy("msg", "ack", mid)
    ok(rc == 0 and mid not in (inbox_ids(b) or [mid]),
       "msg_ack_of_a_peers_message_removes_it_from_the_inbox", err)
    rc2, out2, err2 = a.lsy("context", "get", "ack:kai")
    ok(out2 == mid + "\n" and "ack:" not in b.lsy("context", "list")[1],
       "msg_ack_keeps_the_ack_on_the_sender_under_our_name_there",
       out2 + err2 + b.lsy("context", "list")[1])
    rc, out, err = a.lsy("msg", "acked", "kai")
    ok(rc == 0 and out == mid + "\n", "msg_acked_a_peer_prints_its_ack",
       out + err)
    rc, out, err = a.lsy("msg", "acked", "nobody")
    ok(rc == 1 and "unknown peer: nobody" in err and
       "no peers are configured" not in err,
       "msg_acked_an_unknown_peer_says_so", err)

    # A sender that is offline: the ack cannot be kept, so nothing changes.
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    b.lsy("peers", "add", "gone", "127.0.0.1:%d" % port, "--key", "-",
          "--fingerprint", a.fp, input=b.key + "\n")
    mid = a.lsy("msg", "send", "kai", "from a machine now gone")[1].strip()
    set_from(b, mid, "gone")
    rc, out, err = b.lsy("msg", "ack", mid)
    ok(rc == 1 and "peer gone" in err and "cannot connect" in err and
       mid in (inbox_ids(b) or []),
       "msg_ack_to_an_offline_peer_says_why_and_keeps_the_message", err)
    set_from(b, mid, "stranger")
    rc, out, err = b.lsy("msg", "ack", mid)
    ok(rc == 1 and "from stranger, which is not a peer here" in err and
       mid in (inbox_ids(b) or []),
       "msg_ack_from_an_unknown_peer_says_so_and_keeps_the_message", err)


def main():
    a = PeerHost("a", no_rate_limits)
    b = PeerHost("b", no_rate_limits)
    try:
        ok(a.port is not None and b.port is not None and a.port != b.port,
           "both_servers_listen_on_their_own_port",
           json.dumps(b.status()))
        ok(re.match(r"127\.0\.0\.1:\d+$", b.status()["listen"]) is not None,
           "status_says_where_it_listens", b.status()["listen"])

        st, head, body = https_get(b.port, "/api/v1/health")
        h = json.loads(body) if st == 200 else {}
        ok(st == 200 and h.get("status") == "ok" and "version" in h and
           "nodeId" in h and "uptime" in h, "health_answers_without_a_key",
           "%s %r" % (st, body))
        st, head, body = https_get(b.port, "/api/v1/context")
        ok(st == 401 and b'"error"' in body,
           "api_without_a_key_is_401", "%s %r" % (st, body))

        # peers add learns and pins the certificate; the key from stdin
        rc, out, err = a.lsy("peers", "add", "bee", "127.0.0.1:%d" % b.port,
                             "--key", "-", input=b.key + "\n")
        ok(rc == 0 and b.fp in out, "peers_add_pins_the_certificate",
           out + err)
        pj = os.path.join(a.w.home, "peers.json")
        ok(os.path.exists(pj) and stat.S_IMODE(os.stat(pj).st_mode) == 0o600
           and b.key in read(pj), "peers_json_holds_the_key_0600")
        rc, out, err = a.lsy("peers", "list", "--json")
        lst = json.loads(out) if rc == 0 else []
        ok(len(lst) == 1 and lst[0]["name"] == "bee" and lst[0]["online"]
           and lst[0]["fingerprint"] == b.fp, "peers_list_shows_it_online",
           out + err)

        # remote verbs
        rc, out, err = a.lsy("new-session", "-d", "-t", "bee:", "-s", "work",
                             "sh")
        ok(rc == 0, "new_session_on_a_peer", err)
        rc, out, err = b.lsy("ls")
        ok("work" in out, "the_session_is_on_the_peer", out)
        rc, out, err = a.lsy("ls", "-t", "bee:")
        ok(rc == 0 and "work" in out, "ls_on_a_peer", out + err)
        rc, out, err = a.lsy("ls")
        ok("work" not in out, "ls_here_does_not_show_it", out)
        a.lsy("send-keys", "-t", "bee:work", "echo remote-$((6*7))", "Enter")
        ok(poll_until(lambda: "remote-42" in a.lsy(
            "capture-pane", "-p", "-t", "bee:work")[1], 10),
           "send_keys_and_capture_pane_on_a_peer")
        rc, out, err = a.lsy("wait", "-t", "bee:work", "--text",
                             "remote-42", "--timeout", "10")
        ok(rc == 0, "wait_on_a_peer", err)
        rc, out, err = a.lsy("run", "-t", "bee:", "--json", "--",
                             "sh", "-c", "echo ran-there")
        ok(rc == 0 and "ran-there" in out, "run_on_a_peer", out + err)
        os.makedirs(os.path.join(b.w.home, "shared"), exist_ok=True)
        open(os.path.join(b.w.home, "shared", "f.txt"), "w").close()
        rc, out, err = a.lsy("ls-files", "bee:" + os.path.join(b.w.home,
                                                             "shared"))
        ok(rc == 0 and "f.txt" in out, "ls_files_on_a_peer", out + err)
        remote_cp(a, b)
        rc, out, err = a.lsy("exec", "-t", "bee", "--", "sh", "-c",
                             "echo out; echo err >&2; exit 3")
        ok(rc == 3 and out == "out\n" and err == "err\n",
           "exec_on_a_peer_keeps_streams_and_exit_code",
           "%d %r %r" % (rc, out, err))
        rc, out, err = a.lsy("exec", "-t", "bee", "--", "rm", "-rf", "/x")
        ok(rc != 0 and "denylist" in err, "peer_policy_applies_to_exec", err)
        rc, out, err = a.lsy("context", "set", "-t", "bee", "k1", "v1")
        rc2, out2, err2 = b.lsy("context", "get", "k1")
        ok(rc == 0 and out2.strip() == "v1", "context_set_on_a_peer",
           err + err2)
        rc, out, err = a.lsy("context", "get", "-t", "bee:", "k1")
        ok(rc == 0 and out.strip() == "v1", "context_get_from_a_peer", err)
        rc, out, err = a.lsy("msg", "send", "bee", "hello over there")
        rc2, out2, err2 = b.lsy("msg", "inbox", "--json")
        inbox = json.loads(out2) if rc2 == 0 else []
        ok(rc == 0 and any(m.get("body") == "hello over there" and
                           m.get("from") == socket.gethostname()
                           for m in inbox),
           "msg_send_to_a_peer_lands_in_its_inbox", out2 + err + err2)
        msg_ack_across_peers(a, b)
        rc, out, err = a.lsy("kill-session", "-t", "bee:work")
        ok(rc == 0 and "work" not in b.lsy("ls")[1],
           "kill_session_on_a_peer", err)
        audit = read(os.path.join(b.w.home, "logs", "audit.jsonl"))
        acts = [json.loads(x) for x in audit.splitlines() if x.strip()]
        ok(any(x["actor"] == "apikey" and x["op"] == "exec" for x in acts)
           and b.key not in audit and a.key not in audit,
           "peer_audit_names_the_key_not_the_secret")

        # failures
        rc, out, err = a.lsy("ls", "-t", "nobody:")
        ok(rc == 1 and "unknown peer: nobody" in err,
           "unknown_peer_is_a_clear_error", err)
        a.lsy("peers", "add", "wrongkey", "127.0.0.1:%d" % b.port, "--key",
              "-", input="0" * 64 + "\n")
        rc, out, err = a.lsy("ls", "-t", "wrongkey:")
        ok(rc == 1 and "refused our key (401)" in err,
           "wrong_key_is_refused_with_how_to_fix", err)
        a.lsy("peers", "add", "wrongfp", "127.0.0.1:%d" % b.port, "--key",
              "-", "--fingerprint", a.fp, input=b.key + "\n")
        rc, out, err = a.lsy("ls", "-t", "wrongfp:")
        ok(rc == 1 and "certificate has changed" in err and
           "pair again" in err, "changed_certificate_is_refused", err)
        rc, out, err = a.lsy("peers", "add", "bee", "127.0.0.1:%d" % a.port)
        rc2, out2, err2 = a.lsy("peers", "list", "--json")
        ok(rc == 1 and "not the pinned" in err and
           b.fp in out2, "peers_add_does_not_silently_repin", err)
        rc, out, err = a.lsy("peers", "remove", "wrongfp")
        rc2, out2, err2 = a.lsy("peers", "remove", "wrongfp")
        ok(rc == 0 and rc2 == 1 and "no peer named wrongfp" in err2,
           "peers_remove", err + err2)

        # the WebSocket directly
        ws = WS(b.port, b.key)
        r = ws.command(["kill-server"]) if ws.status == 101 else None
        ok(ws.status == 101 and r is not None and not r["ok"] and
           "only on this machine" in r["error"]["message"],
           "admin_commands_are_refused_over_a_link", repr(r))
        ws.close()
        ws = WS(b.port, b.key)
        ws.send(b"", length=5 * 1024 * 1024 + 1)   # declares a huge frame
        f = ws.recv()
        ok(f is None or f[0] == 8, "oversized_frame_closes_the_link",
           repr(f))
        ws.close()
        ws_resume(b)
        ws = WS(b.port, None)
        ok(ws.status == 401, "websocket_without_a_key_is_401",
           str(ws.status))
        ws.close()
        ws = WS(b.port, b.key, protocol="chat")
        ok(ws.status == 400, "websocket_without_our_protocol_is_400",
           str(ws.status))
        ws.close()

        st, head, body = https_request(b.port, b"NOT HTTP AT ALL\r\n\r\n")
        ok(st == 400 and b"BAD_REQUEST" in body, "malformed_http_is_400",
           "%s %r" % (st, body))
        st, head, body = https_request(b.port, b"GET / HTTP/1.1\r\nX: " +
                                       b"y" * 20000 + b"\r\n\r\n")
        ok(st == 431, "huge_headers_are_431", "%s %r" % (st, body[:100]))
        st, head, body = https_get(b.port, "/nowhere")
        ok(st == 404, "unknown_route_is_404", "%s" % st)

        st, head, body = https_get(b.port, "/api/v1/health")
        ok(st == 200 and b.status()["pid"] > 0,
           "server_goes_on_after_bad_input")

        remote_attach(a, b)
        # the bad-key limit: 10 a minute from one address, then 429
        sts = []
        for _ in range(25):     # 10 a minute, and the bucket refills
            sts.append(https_get(b.port, "/api/v1/context", "f" * 64)[0])
            if sts[-1] == 429:
                break
        st, head, body = https_get(b.port, "/api/v1/context", b.key)
        ok(sts[0] == 401 and sts[-1] == 429 and st == 429 and
           "Retry-After:" in head, "bad_keys_are_rate_limited",
           "%r %s" % (sts, st))
        st, head, body = https_get(b.port, "/api/v1/health")
        ok(st == 200, "health_answers_while_an_address_is_limited")
    finally:
        a.close()
        b.close()


run_test(main, "peers")
done()

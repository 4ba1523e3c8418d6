#!/usr/bin/python3
# loopsy-relay: the real binary on 127.0.0.1 with a temporary data
# directory, driven over plain sockets.  The test plays the device (a loopsy
# server) and the phones: the relay never looks inside what it forwards, so
# no Noise is needed.  Rate limits count per client address; each test that
# needs a fresh allowance connects from its own 127.0.0.x source address.
import base64
import hashlib
import hmac
import json
import os
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
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import ok, is_eq, diag, done, skip_all, run_test, wait_until  # noqa
from harness import poll_until, _children  # noqa

RELAY = os.environ.get("LOOPSY_RELAY") or os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    "loopsy-relay")
if not os.access(RELAY, os.X_OK):
    skip_all("loopsy-relay not built: %s" % RELAY)

TOP = tempfile.mkdtemp(prefix="loopsy-relay-regress-")
_src = [10]


def fresh_src():
    """A loopback source address no other test used."""
    _src[0] += 1
    return "127.1.%d.%d" % (_src[0] // 250, _src[0] % 250 + 1)


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def unb64u(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


class Relay:
    """loopsy-relay on an ephemeral port of 127.0.0.1."""

    def __init__(self, *args, data=None, name="relay"):
        self.dir = tempfile.mkdtemp(prefix=name + "-", dir=TOP)
        self.data = data or os.path.join(self.dir, "data")
        self.args = list(args)
        self.logpath = os.path.join(self.dir, "log")
        self.start()

    def start(self):
        self.logf = open(self.logpath, "ab")
        self.mark = os.path.getsize(self.logpath)
        env = dict(os.environ, HOME=self.dir)
        self.proc = subprocess.Popen(
            [RELAY, "--listen", "127.0.0.1:0", "--data", self.data] +
            self.args, stdin=subprocess.DEVNULL, stdout=self.logf,
            stderr=self.logf, env=env)
        _children.append(self.proc)
        m = wait_until(lambda: self.proc.poll() is None and re.search(
            r"listening on 127\.0\.0\.1:(\d+) \((TLS|plain HTTP)\)",
            self.log(since_start=True)), 10, what="the relay listening")
        self.port = int(m.group(1))
        self.tls = m.group(2) == "TLS"

    def log(self, since_start=False):
        with open(self.logpath, "rb") as f:
            if since_start:
                f.seek(self.mark)
            return f.read().decode("utf-8", "replace")

    def connect(self, src="127.0.0.1", timeout=5):
        s = socket.create_connection(("127.0.0.1", self.port), timeout,
                                     source_address=(src, 0))
        if self.tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            s = ctx.wrap_socket(s)
        return s

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(10)
        self.logf.close()
        if self.proc in _children:
            _children.remove(self.proc)
        return rc

    def status(self, field):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        return None


def http(relay, method, path, body=None, headers=None, src="127.0.0.1",
         raw=None):
    """One request; (status, lower-cased headers, body bytes, JSON)."""
    if raw is None:
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode()
        h = {"Host": "127.0.0.1:%d" % relay.port}
        if body is not None:
            h["Content-Type"] = "application/json"
            h["Content-Length"] = str(len(body))
        h.update(headers or {})
        raw = ("%s %s HTTP/1.1\r\n" % (method, path) + "".join(
            "%s: %s\r\n" % kv for kv in h.items()) + "\r\n").encode() + \
            (body or b"")
    s = relay.connect(src)
    s.sendall(raw)
    return parse_reply(read_all(s))


def read_all(s):
    """Everything until the relay closes (or resets) the connection."""
    chunks = []
    try:
        for d in iter(lambda: s.recv(65536), b""):
            chunks.append(d)
    except (OSError, ssl.SSLError):
        pass
    s.close()
    return b"".join(chunks)


def parse_reply(data):
    head, _, rest = data.partition(b"\r\n\r\n")
    m = re.match(rb"HTTP/1.1 (\d+)", head)
    hdrs = {}
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.decode("latin-1").partition(":")
        hdrs[k.strip().lower()] = v.strip()
    try:
        j = json.loads(rest)
    except ValueError:
        j = None
    return (int(m.group(1)) if m else None, hdrs, rest, j)


def bearer(cred):
    return {"Authorization": "Bearer " + cred}


def ws_frame(payload, opcode=2):
    """One masked client frame."""
    if isinstance(payload, str):
        payload = payload.encode()
    mask, n = os.urandom(4), len(payload)
    # FIN, the opcode; masked, the length in 7, 7+16 or 7+64 bits
    if n < 126:
        h = bytes([0x80 | opcode, 0x80 | n])
    else:
        wide = 2 if n < 65536 else 8
        h = bytes([0x80 | opcode, 0xfe if wide == 2 else 0xff]) + \
            n.to_bytes(wide, "big")
    m = (mask * (n // 4 + 1))[:n]
    body = (int.from_bytes(payload, "big") ^
            int.from_bytes(m, "big")).to_bytes(n, "big") if n else b""
    return h + mask + body


class WS:
    """A WebSocket client on a raw socket: frames in and out by hand, so a
    test can stop reading, send oversized frames or watch close codes."""

    def __init__(self, relay, path, headers=None, src="127.0.0.1",
                 protocols=None):
        self.s = relay.connect(src)
        key = b64u(os.urandom(16)) + "=="
        h = {"Host": "127.0.0.1:%d" % relay.port, "Upgrade": "websocket",
             "Connection": "Upgrade", "Sec-WebSocket-Key": key,
             "Sec-WebSocket-Version": "13"}
        if protocols:
            h["Sec-WebSocket-Protocol"] = ", ".join(protocols)
        h.update(headers or {})
        self.s.sendall(("GET %s HTTP/1.1\r\n" % path + "".join(
            "%s: %s\r\n" % kv for kv in h.items()) + "\r\n").encode())
        head = b""
        for d in iter(lambda: self.s.recv(4096), b""):
            head += d
            if b"\r\n\r\n" in head:
                break
        head, _, self.buf = head.partition(b"\r\n\r\n")
        m = re.match(rb"HTTP/1.1 (\d+)", head)
        self.status = int(m.group(1)) if m else None
        self.head = head.decode("latin-1").replace("\r\n", "\n")
        self.body = b""
        self.close_code = None
        if self.status != 101:
            self.body, self.buf = self.buf + read_all(self.s), b""

    def send(self, payload, opcode=2):
        self.s.sendall(ws_frame(payload, opcode))

    def send_json(self, obj):
        self.send(json.dumps(obj), opcode=1)

    def _frame(self):
        """One whole frame off the buffer, or None."""
        b = self.buf
        if len(b) < 2:
            return None
        n, off = b[1] & 0x7f, 2
        if n == 126:
            if len(b) < 4:
                return None
            n, off = struct.unpack("!H", b[2:4])[0], 4
        elif n == 127:
            if len(b) < 10:
                return None
            n, off = struct.unpack("!Q", b[2:10])[0], 10
        if len(b) < off + n:
            return None
        self.buf = b[off + n:]
        return b[0] & 0x0f, b[off:off + n]

    def recv(self, timeout=5):
        """(opcode, payload) of the next data or close frame; None on EOF
        or timeout.  Pings are skipped."""
        deadline = time.monotonic() + timeout
        while True:
            f = self._frame()
            if f is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.s.settimeout(left)
                try:
                    d = self.s.recv(262144)
                except (OSError, ssl.SSLError):
                    return None
                if not d:
                    return None
                self.buf += d
                continue
            op, data = f
            if op == 8:
                self.close_code = struct.unpack("!H", data[:2])[0] \
                    if len(data) >= 2 else 1005
                self.close_reason = data[2:].decode("utf-8", "replace")
            if op in (1, 2, 8):
                return op, data

    def json(self, timeout=5):
        """The next text message as JSON, skipping binary ones."""
        while True:
            f = self.recv(timeout)
            if f is None or f[0] == 8:
                return None
            if f[0] == 1:
                return json.loads(f[1])

    def wait_json(self, pred, timeout=5, what=None):
        deadline = time.monotonic() + timeout
        seen = []
        while time.monotonic() < deadline:
            j = self.json(max(0.05, deadline - time.monotonic()))
            if j is None:
                break
            seen.append(j)
            if pred(j):
                return j
        if what is not None:
            diag("waited for %s, saw %r" % (what, seen[-5:]))
        return None

    def binary(self, timeout=5):
        while True:
            f = self.recv(timeout)
            if f is None or f[0] == 8:
                return None
            if f[0] == 2:
                return f[1]

    def wait_close(self, timeout=5):
        deadline = time.monotonic() + timeout
        while self.close_code is None and time.monotonic() < deadline:
            if self.recv(max(0.05, deadline - time.monotonic())) is None:
                break
        return self.close_code

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


# ---------------------------------------------------------------- helpers

def register(relay, src=None, headers=None):
    st, _, _, j = http(relay, "POST", "/device/register",
                       src=src or fresh_src(), headers=headers)
    if st != 201:
        raise RuntimeError("register: %s %r" % (st, j))
    return "%s.%s" % (j["device_id"], j["device_secret"])


def device_ws(relay, cred, **kw):
    ws = WS(relay, "/device/ws", headers=bearer(cred), **kw)
    if ws.status == 101:
        ws.hello = ws.json()
    return ws


def issue(relay, cred, ttl=None):
    st, _, _, j = http(relay, "POST", "/pair/issue",
                       body={} if ttl is None else {"ttl": ttl},
                       headers=bearer(cred))
    if st != 200:
        raise RuntimeError("issue: %s %r" % (st, j))
    return j["token"]


def redeem_body(token, label="test phone"):
    return {"token": token, "phone_pub": b64u(os.urandom(32)),
            "label": label, "proof": b64u(os.urandom(32))}


def redeem_async(relay, token, src=None, body=None):
    """Send a redeem and return the socket; the answer is read later."""
    data = json.dumps(body or redeem_body(token)).encode()
    s = relay.connect(src or fresh_src(), timeout=15)
    s.sendall(("POST /pair/redeem HTTP/1.1\r\nHost: x\r\nContent-Type: "
               "application/json\r\nContent-Length: %d\r\n\r\n" %
               len(data)).encode() + data)
    return s


def read_reply(s):
    st, _, _, j = parse_reply(read_all(s))
    return st, j


def redeem(relay, dev, token, answer, src=None):
    """Redeem with the device (a WS) answering pair-result `answer`."""
    s = redeem_async(relay, token, src)
    msg = dev.wait_json(lambda j: j.get("t") == "pair-redeem", 5,
                        "pair-redeem")
    if msg is None:
        return read_reply(s) + (None,)
    if answer is not None:
        r = {"t": "pair-result", "id": msg["id"]}
        r.update(answer)
        dev.send_json(r)
    return read_reply(s) + (msg,)


def pair_phone(relay, dev, dcred, label="phone"):
    token = issue(relay, dcred)
    st, j, _ = redeem(relay, dev, token, {"ok": True})
    if st != 200:
        raise RuntimeError("pair: %s %r" % (st, j))
    return "%s.%s" % (j["phone_id"], j["phone_secret"]), j["phone_id"]


def phone_ws(relay, pcred, **kw):
    ws = WS(relay, "/phone/ws", protocols=["loopsy-relay.1",
                                           "bearer." + pcred], **kw)
    if ws.status == 101:
        ws.first = ws.json()
    return ws


def ch_of(j):
    return j["ch"]


def err_code(j):
    return (j or {}).get("error", {}).get("code")


class Flood:
    """A WebSocket that sends the same frames over and over and reads
    nothing, on a non-blocking socket, so the test sees when the relay
    stops taking them."""

    def __init__(self, ws, frames):
        self.s = ws.s
        self.s.setblocking(False)
        one = b"".join(frames)
        self.chunk = one * (65536 // len(one) + 1)
        self.pending = b""
        self.sent = 0

    def push(self, limit, stall=2.0, timeout=30):
        """Send until `limit` bytes are gone or nothing went for `stall`
        seconds (True: the relay stopped reading)."""
        last = deadline = time.monotonic()
        deadline += timeout
        while self.sent < limit and time.monotonic() < deadline:
            if not self.pending:
                self.pending = self.chunk
            _, w, _ = select.select([], [self.s], [], 0.1)
            try:
                n = self.s.send(self.pending) if w else 0
            except BlockingIOError:
                n = 0
            if n:
                self.pending = self.pending[n:]
                self.sent += n
                last = time.monotonic()
            elif time.monotonic() - last > stall:
                return True
        return False

    def drain(self, then, marker=None, timeout=30):
        """Read and throw away everything while the rest of the flood and
        then `then` go out; True once `marker` is read (or, without one,
        once everything went)."""
        out = self.pending + then
        self.pending = b""
        tail = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if marker is None and not out:
                return True
            r, w, _ = select.select([self.s], [self.s] if out else [], [],
                                    0.1)
            if r:
                try:
                    d = self.s.recv(1 << 20)
                except BlockingIOError:
                    d = None
                if d == b"":
                    return False
                if d:
                    tail += d
                    if marker is not None and marker in tail:
                        return True
                    tail = tail[-64:]
            if w and out:
                try:
                    out = out[self.s.send(out):]
                except BlockingIOError:
                    pass
        return False


# ---------------------------------------------------------------- setup

WEB = os.path.join(TOP, "web")
os.mkdir(WEB)
with open(os.path.join(WEB, "index.html"), "w") as f:
    f.write("<!doctype html><title>loopsy</title>"
            "<script src=\"/app/app.js\"></script>\n")
with open(os.path.join(WEB, "app.js"), "w") as f:
    f.write("console.log('app');\n")
with open(os.path.join(WEB, "style.css"), "w") as f:
    f.write("body{}\n")
with open(os.path.join(WEB, ".hidden"), "w") as f:
    f.write("hidden\n")
with open(os.path.join(TOP, "secret.txt"), "w") as f:
    f.write("outside the web directory\n")
os.symlink(os.path.join(TOP, "secret.txt"), os.path.join(WEB, "escape.txt"))
TAP = os.path.join(TOP, "tap")

R = Relay("--web", WEB, "--tap", TAP, "--allow-origin",
          "https://app.example")

# ---------------------------------------------------------------- tests


def t_health():
    st, h, _, j = http(R, "GET", "/health")
    ok(st == 200 and j == {"ok": True, "service": "loopsy-relay",
                           "version": j.get("version")} and j["version"],
       "health_answers_ok_with_the_service_and_version", repr(j))
    ok(h.get("x-content-type-options") == "nosniff" and
       h.get("referrer-policy") == "no-referrer",
       "every_answer_has_nosniff_and_no_referrer", repr(h))
    st, h, _, _ = http(R, "GET", "/")
    ok(st == 302 and h.get("location") == "/app/", "root_redirects_to_app",
       "%s %r" % (st, h))
    st, _, _, j = http(R, "GET", "/nowhere")
    ok(st == 404 and err_code(j) == "not_found", "unknown_route_is_404",
       repr(j))
    st, _, _, j = http(R, "GET", "/device/register")
    ok(st == 405 and "does not take GET" in j["error"]["message"],
       "wrong_method_is_405_naming_it", repr(j))


def t_register():
    src = fresh_src()
    st, _, _, j = http(R, "POST", "/device/register", src=src)
    ok(st == 201 and re.fullmatch(r"d[A-Za-z0-9_-]{22}", j["device_id"])
       and len(unb64u(j["device_secret"])) == 32,
       "register_gives_a_device_id_and_a_32_byte_secret", repr(j))
    codes = [http(R, "POST", "/device/register", src=src)[0]
             for _ in range(4)]
    st, h, _, j = http(R, "POST", "/device/register", src=src)
    ok(codes == [201] * 4 and st == 429 and err_code(j) == "rate_limited"
       and int(h.get("retry-after", "0")) > 0,
       "register_allows_5_a_minute_per_address_then_429_with_retry_after",
       "%r %s %r %r" % (codes, st, h, j))
    st, _, _, _ = http(R, "POST", "/device/register", src=fresh_src())
    ok(st == 201, "another_address_may_still_register")


def t_registration_secret():
    path = os.path.join(TOP, "regsecret")
    with open(path, "w") as f:
        f.write("open sesame\n")
    r = Relay("--registration-secret-file", path, name="regsecret")
    try:
        st, _, _, j = http(r, "POST", "/device/register", src=fresh_src())
        ok(st == 403 and err_code(j) == "registration_closed",
           "registration_without_the_secret_is_403_registration_closed",
           repr(j))
        st, _, _, j = http(r, "POST", "/device/register", src=fresh_src(),
                           headers={"X-Registration-Secret": "open sesam"})
        ok(st == 403 and err_code(j) == "registration_closed",
           "registration_with_a_wrong_secret_is_403", repr(j))
        st, _, _, j = http(r, "POST", "/device/register", src=fresh_src(),
                           headers={"X-Registration-Secret": "open sesame"})
        ok(st == 201, "registration_with_the_secret_is_201", repr(j))
        ok("open sesame" not in r.log(), "the_secret_is_not_logged")
    finally:
        r.stop()


def t_device_ws():
    cred = register(R)
    did = cred.split(".")[0]
    ws = device_ws(R, cred)
    ok(ws.status == 101 and ws.hello == {"t": "hello", "device": did},
       "device_ws_with_a_bearer_header_gets_hello", "%s %r" % (
           ws.status, getattr(ws, "hello", ws.body)))
    ok("sec-websocket-protocol" not in ws.head.lower(),
       "no_subprotocol_answered_when_none_was_offered", ws.head)
    ws2 = WS(R, "/device/ws", protocols=["loopsy-relay.1", "bearer." + cred])
    hello = ws2.json() if ws2.status == 101 else None
    ok(ws2.status == 101 and hello and hello["t"] == "hello" and
       re.search(r"(?im)^Sec-WebSocket-Protocol: loopsy-relay\.1$",
                 ws2.head),
       "device_ws_with_the_bearer_subprotocol_gets_hello_and_the_protocol",
       ws2.head)
    ok(ws.wait_close() == 4001,
       "a_new_device_connection_replaces_the_old_with_4001",
       repr(ws.close_code))
    ws.close()
    ws2.close()
    src = fresh_src()
    bad = WS(R, "/device/ws", headers=bearer(did + "." + b64u(bytes(32))),
             src=src)
    ok(bad.status == 401 and err_code(json.loads(bad.body)) ==
       "unauthorized",
       "device_ws_with_a_wrong_secret_is_401", "%s %r" % (bad.status,
                                                          bad.body))
    bad = WS(R, "/device/ws", protocols=["loopsy-relay.1", "bearer.junk"],
             src=src)
    ok(bad.status == 401, "device_ws_with_a_malformed_subprotocol_is_401")
    q = WS(R, "/device/ws?token=" + cred, src=src)
    ok(q.status == 401, "a_token_in_the_query_string_is_not_accepted",
       repr(q.status))
    st, _, _, j = http(R, "GET", "/device/phones?token=" + cred, src=src)
    ok(st == 401, "a_token_in_the_query_string_is_not_accepted_over_http",
       repr(st))
    ok(cred.split(".")[1] not in R.log(), "secrets_never_reach_the_log")
    p = WS(R, "/device/ws", headers=bearer(cred),
           protocols=["chat.v2"], src=src)
    ok(p.status == 400 and b"loopsy-relay.1" in p.body,
       "an_upgrade_offering_other_subprotocols_only_is_400", p.body)
    st, _, _, j = http(R, "GET", "/device/ws", headers=bearer(cred))
    ok(st == 426, "device_ws_without_an_upgrade_is_426", repr(j))


def t_pair_issue():
    cred = register(R)
    st, _, _, j = http(R, "POST", "/pair/issue", body={},
                       headers=bearer(cred))
    now = time.time()
    ok(st == 200 and re.fullmatch(r"[A-Za-z0-9_-]{32}\.[A-Za-z0-9_-]{22}",
                                  j["token"]) and
       abs(j["expires"] - now - 1800) < 5,
       "pair_issue_over_http_gives_a_token_for_30_minutes", repr(j))
    st, _, _, j = http(R, "POST", "/pair/issue", body={"ttl": 120},
                       headers=bearer(cred))
    ok(st == 200 and abs(j["expires"] - time.time() - 120) < 5,
       "pair_issue_takes_a_ttl", repr(j))
    st, _, _, j = http(R, "POST", "/pair/issue", body={"ttl": 10},
                       headers=bearer(cred))
    ok(st == 400 and "60" in j["error"]["message"],
       "pair_issue_refuses_a_ttl_out_of_range", repr(j))
    st, _, _, j = http(R, "POST", "/pair/issue", body={})
    ok(st == 401, "pair_issue_needs_the_device", repr(j))
    ws = device_ws(R, cred)
    ws.send_json({"t": "pair-issue", "id": 7, "ttl": 300})
    j = ws.wait_json(lambda j: j.get("t") in ("pair-token", "error"))
    ok(j and j["t"] == "pair-token" and j["id"] == 7 and
       abs(j["expires"] - time.time() - 300) < 5 and "." in j["token"],
       "pair_issue_over_the_device_ws", repr(j))
    ws.send_json({"t": "pair-issue", "id": 8, "ttl": "soon"})
    j = ws.wait_json(lambda j: j.get("t") in ("pair-token", "error"))
    ok(j and j["t"] == "error" and j["id"] == 8 and
       j["code"] == "bad_request", "a_bad_ws_control_message_gets_an_error",
       repr(j))
    ws.send(b"{not json", opcode=1)
    j = ws.wait_json(lambda j: j.get("t") == "error")
    ok(j and "malformed" in j["message"], "malformed_json_on_the_ws_is_named",
       repr(j))
    ws.send_json({"t": "frobnicate", "id": 9})
    j = ws.wait_json(lambda j: j.get("t") == "error")
    ok(j and j["id"] == 9 and "unknown" in j["message"],
       "an_unknown_ws_message_type_is_refused", repr(j))
    ws.close()


def t_pair_limits():
    """At most 16 unused pair links per device (older ones are dropped) and
    30 issued a minute, over HTTP and over the device's WebSocket."""
    cred = register(R)
    dev = device_ws(R, cred)
    tokens = [issue(R, cred) for _ in range(17)]
    st, j = read_reply(redeem_async(R, tokens[0]))
    ok(st == 401 and err_code(j) == "expired" and
       "replaced by newer ones" in j["error"]["message"],
       "the_17th_waiting_pair_link_drops_the_oldest", repr(j))
    st, j, msg = redeem(R, dev, tokens[1], {"ok": True})
    ok(st == 200 and msg is not None, "the_newest_16_links_stay_good",
       repr(j))
    codes = [http(R, "POST", "/pair/issue", body={},
                  headers=bearer(cred))[0] for _ in range(13)]
    st, h, _, j = http(R, "POST", "/pair/issue", body={},
                       headers=bearer(cred))
    ok(codes == [200] * 13 and st == 429 and err_code(j) ==
       "rate_limited" and int(h.get("retry-after", "0")) > 0 and
       "pair links" in j["error"]["message"],
       "pair_issue_allows_30_a_minute_per_device_then_429",
       "%r %s %r" % (codes, st, j))
    other = register(R)
    st, _, _, _ = http(R, "POST", "/pair/issue", body={},
                       headers=bearer(other))
    ok(st == 200, "another_device_may_still_issue", repr(st))
    dev.close()

    cred = register(R)
    dev = device_ws(R, cred)
    got = []
    for i in range(31):
        dev.send_json({"t": "pair-issue", "id": 100 + i})
        got.append(dev.wait_json(lambda j: j.get("id") == 100 + i, 5,
                                 "answer %d" % i))
    kinds = [(g or {}).get("t") for g in got]
    ok(kinds == ["pair-token"] * 30 + ["error"] and
       got[30]["code"] == "rate_limited" and
       "try again in" in got[30]["message"],
       "pair_issue_over_the_ws_allows_30_a_minute_then_rate_limited",
       repr(got[30]))
    st, j = read_reply(redeem_async(R, got[13]["token"]))
    ok(st == 401 and err_code(j) == "expired",
       "over_the_ws_too_only_the_newest_16_stay_good", repr(j))
    st, j, msg = redeem(R, dev, got[14]["token"], {"ok": True})
    ok(st == 200 and msg is not None, "the_16th_newest_ws_link_is_good",
       repr(j))
    dev.close()


def t_redeem():
    cred = register(R)
    dev = device_ws(R, cred)
    token = issue(R, cred)
    st, j, msg = redeem(R, dev, token, {"ok": True})
    ok(msg is not None and set(msg) >= {"t", "id", "nonce", "phone",
                                        "phone_pub", "label", "proof"} and
       unb64u(msg["nonce"]) == unb64u(token.split(".")[0])[:16],
       "the_device_gets_pair_redeem_with_nonce_phone_key_label_and_proof",
       repr(msg))
    ok(st == 200 and j["device_id"] == cred.split(".")[0] and
       j["phone_id"] == msg["phone"] and len(unb64u(j["phone_secret"])) == 32,
       "redeem_answered_ok_gives_the_phone_its_credentials", repr(j))
    st, j = read_reply(redeem_async(R, token))
    msg = dev.wait_json(lambda j: j.get("t") == "pair-redeem", 0.3)
    ok(st == 410 and err_code(j) == "link_used" and msg is None,
       "a_used_link_is_410_link_used_without_asking_the_device", repr(j))

    token = issue(R, cred)
    left = []
    for i in range(4):
        st, j, _ = redeem(R, dev, token, {"ok": False,
                                          "reason": "wrong_code"})
        left.append((st, err_code(j), j["error"].get("tries_left")))
    ok(left == [(401, "wrong_code", n) for n in (4, 3, 2, 1)],
       "wrong_codes_are_401_wrong_code_with_tries_left", repr(left))
    st, j, _ = redeem(R, dev, token, {"ok": False, "reason": "wrong_code"})
    ok(st == 410 and err_code(j) == "link_burned",
       "the_fifth_wrong_code_burns_the_link", repr(j))
    st, j = read_reply(redeem_async(R, token))
    msg = dev.wait_json(lambda j: j.get("t") == "pair-redeem", 0.3)
    ok(st == 410 and err_code(j) == "link_burned" and msg is None,
       "a_burned_link_stays_burned", repr(j))

    token = issue(R, cred)
    st, j, _ = redeem(R, dev, token, {"ok": False, "reason": "burned"})
    ok(st == 410 and err_code(j) == "link_burned",
       "the_device_saying_burned_is_410_link_burned", repr(j))

    with open(os.path.join(R.data, "relay.key"), "rb") as f:
        key = f.read()
    body = os.urandom(16) + struct.pack(">Q", int(time.time()) - 10)
    expired = b64u(body) + "." + b64u(hmac.new(key, body,
                                               hashlib.sha256).digest()[:16])
    st, j = read_reply(redeem_async(R, expired))
    ok(st == 401 and err_code(j) == "expired",
       "an_expired_link_is_401_expired", repr(j))
    st, j = read_reply(redeem_async(R, "bm90IGEgdG9rZW4.AAAA"))
    ok(st == 401 and err_code(j) == "bad_token",
       "a_forged_link_is_401_bad_token", repr(j))

    token = issue(R, cred)
    dev.close()
    wait_until(lambda: "closed" in R.log().split(cred.split(".")[0])[-1],
               5, what="the device gone")
    st, j = read_reply(redeem_async(R, token))
    ok(st == 503 and err_code(j) == "device_offline",
       "redeem_while_the_device_is_offline_is_503", repr(j))

    dev = device_ws(R, cred)
    s = redeem_async(R, token)
    dev.wait_json(lambda j: j.get("t") == "pair-redeem")
    dev.close()
    st, j = read_reply(s)
    ok(st == 503 and err_code(j) == "device_offline",
       "redeem_whose_device_goes_away_is_503", repr(j))

    src = fresh_src()
    codes = [read_reply(redeem_async(R, "x.y", src=src))[0]
             for _ in range(10)]
    st, j = read_reply(redeem_async(R, "x.y", src=src))
    ok(codes == [401] * 10 and st == 429 and err_code(j) == "rate_limited",
       "redeem_allows_10_a_minute_per_address", "%r %s" % (codes, st))


def t_lost_pairing():
    """The device said ok, so it stored the phone: the relay stores it too,
    even when the phone's request is gone or was answered 503."""
    cred = register(R)
    dev = device_ws(R, cred)

    def listed(pid):
        st, _, _, j = http(R, "GET", "/device/phones", headers=bearer(cred))
        return st == 200 and pid in [p["id"] for p in j["phones"]]

    s = redeem_async(R, issue(R, cred))
    msg = dev.wait_json(lambda j: j.get("t") == "pair-redeem", 5,
                        "pair-redeem")
    mark = len(R.log())
    s.close()
    wait_until(lambda: "the phone went before its laptop answered" in
               R.log()[mark:], 5, what="the relay seeing the phone go")
    dev.send_json({"t": "pair-result", "id": msg["id"], "ok": True})
    wait_until(lambda: "paired phone %s, but" % msg["phone"] in R.log(), 5,
               what="the late pairing logged")
    ok(listed(msg["phone"]),
       "a_phone_whose_request_went_before_the_ok_is_stored_all_the_same")
    st, _, _, _ = http(R, "DELETE", "/device/phones/" + msg["phone"],
                       headers=bearer(cred))
    ok(st == 204 and not listed(msg["phone"]),
       "and_the_laptop_can_revoke_it", repr(st))

    s = redeem_async(R, issue(R, cred))
    msg = dev.wait_json(lambda j: j.get("t") == "pair-redeem", 5,
                        "pair-redeem")
    t0 = time.monotonic()
    st, j = read_reply(s)
    ok(st == 503 and err_code(j) == "device_offline" and
       9 <= time.monotonic() - t0 < 13,
       "a_device_that_does_not_answer_in_10s_is_503", repr(j))
    dev.send_json({"t": "pair-result", "id": msg["id"], "ok": True})
    ok(poll_until(lambda: listed(msg["phone"]), 5),
       "an_ok_after_the_503_still_stores_the_phone")

    s = redeem_async(R, issue(R, cred))
    msg = dev.wait_json(lambda j: j.get("t") == "pair-redeem", 5,
                        "pair-redeem")
    dev2 = device_ws(R, cred)
    st, j = read_reply(s)
    ok(st == 503 and dev.wait_close() == 4001,
       "a_redeem_whose_device_connection_is_replaced_is_503", repr(j))
    dev2.send_json({"t": "pair-result", "id": msg["id"], "ok": True})
    ok(poll_until(lambda: listed(msg["phone"]), 5),
       "an_ok_the_next_connection_brings_still_stores_the_phone")
    dev.close()
    dev2.close()


def t_redeem_bodies():
    checks = [
        (b"{\"token\": ", "malformed JSON body"),
        (b"[1, 2]", "must be a JSON object"),
        (b"{}", "token: expected a string"),
        (json.dumps({"token": "a.b", "phone_pub": "short",
                     "proof": b64u(bytes(32))}).encode(),
         "phone_pub: expected 32 bytes"),
        (json.dumps({"token": "a.b", "phone_pub": b64u(bytes(32))}).encode(),
         "proof: expected a string"),
    ]
    for body, want in checks:
        st, _, _, j = http(R, "POST", "/pair/redeem", body=body,
                           src=fresh_src())
        ok(st == 400 and err_code(j) == "bad_request" and
           want in j["error"]["message"],
           "redeem_body_%s_is_400_naming_it" % re.sub(r"\W+", "_", want),
           repr(j))


def t_phones_and_routing():
    cred = register(R)
    dev = device_ws(R, cred)
    pa, ida = pair_phone(R, dev, cred, "a")
    pb, idb = pair_phone(R, dev, cred, "b")
    a1 = phone_ws(R, pa)
    ok(a1.status == 101 and a1.first == {"t": "device", "online": True} and
       re.search(r"(?im)^Sec-WebSocket-Protocol: loopsy-relay\.1$",
                 a1.head),
       "phone_ws_with_credentials_is_told_the_device_is_online",
       "%s %r" % (a1.status, getattr(a1, "first", a1.body)))
    o1 = dev.wait_json(lambda j: j.get("t") == "open")
    a2 = phone_ws(R, pa)
    o2 = dev.wait_json(lambda j: j.get("t") == "open")
    b1 = phone_ws(R, pb)
    o3 = dev.wait_json(lambda j: j.get("t") == "open")
    ok(o1 and o2 and o3 and o1["phone"] == ida and o2["phone"] == ida and
       o3["phone"] == idb and len({o1["ch"], o2["ch"], o3["ch"]}) == 3,
       "the_device_gets_open_with_a_new_channel_for_each_connection",
       repr((o1, o2, o3)))
    chans = {o1["ch"]: a1, o2["ch"]: a2, o3["ch"]: b1}
    sent_up, sent_down, good_up, good_down = [], [], True, True
    for i in range(3):
        for ch, p in chans.items():
            data = os.urandom(1 + (i * 7919 + ch * 104729) % 200000)
            p.send(data)
            sent_up.append(data)
            got = dev.binary()
            if got != struct.pack(">I", ch) + data:
                good_up = False
            back = os.urandom(1 + (i * 4099 + ch) % 150000)
            dev.send(struct.pack(">I", ch) + back)
            sent_down.append(back)
            if p.binary() != back:
                good_down = False
    ok(good_up, "phone_binary_reaches_the_device_as_channel_and_payload")
    ok(good_down, "device_binary_reaches_the_phone_of_its_channel_exactly")
    empty_ok = True
    a1.send(b"")
    if dev.binary() != struct.pack(">I", o1["ch"]):
        empty_ok = False
    ok(empty_ok, "an_empty_message_is_forwarded_too")
    dev.send(struct.pack(">I", 999999) + b"nobody")
    dev.send(struct.pack(">I", o3["ch"]) + b"after")
    ok(b1.binary() == b"after",
       "a_message_for_an_unknown_channel_is_dropped_and_the_rest_goes_on")
    a1.send_json({"t": "ping"})
    ok(a1.wait_json(lambda j: True) == {"t": "pong"},
       "phone_text_ping_is_answered_pong")
    with open(TAP, "rb") as f:
        tap = f.read()
    ok(all(d in tap for d in sent_up) and all(d in tap for d in sent_down),
       "the_tap_file_holds_every_byte_forwarded_both_ways",
       "tap %d bytes" % len(tap))

    st, _, _, j = http(R, "GET", "/device/phones", headers=bearer(cred))
    phones = {p["id"]: p for p in j["phones"]} if st == 200 else {}
    ok(st == 200 and set(phones) == {ida, idb} and
       phones[ida]["label"] == "test phone" and
       phones[ida]["online"] is True and phones[idb]["created"] > 0,
       "phone_list_shows_id_label_created_and_online", repr(j))
    dev.send_json({"t": "phones", "id": 3})
    j = dev.wait_json(lambda j: j.get("t") == "phones")
    ok(j and j["id"] == 3 and {p["id"] for p in j["phones"]} == {ida, idb},
       "phone_list_over_the_device_ws", repr(j))

    a2.close()
    c = dev.wait_json(lambda j: j.get("t") == "close")
    ok(c == {"t": "close", "ch": o2["ch"]},
       "a_phone_going_away_closes_its_channel_at_the_device", repr(c))

    dev.send_json({"t": "close", "ch": o3["ch"], "code": 4005,
                   "reason": "key mismatch"})
    ok(b1.wait_close() == 4005 and b1.close_reason == "key mismatch",
       "the_device_closes_a_channel_with_its_code_and_reason",
       repr(b1.close_code))

    dev.close()
    j = a1.wait_json(lambda j: j.get("t") == "device")
    ok(j == {"t": "device", "online": False},
       "phones_are_told_when_the_device_goes_offline", repr(j))
    a1.send(b"while offline")
    dev = device_ws(R, cred)
    j = a1.wait_json(lambda j: j.get("t") == "device")
    o = dev.wait_json(lambda j: j.get("t") == "open")
    ok(j == {"t": "device", "online": True} and o and o["phone"] == ida,
       "a_waiting_phone_gets_online_and_a_channel_when_the_device_comes",
       repr((j, o)))
    a1.send(b"now")
    ok(dev.binary() == struct.pack(">I", o["ch"]) + b"now",
       "the_reopened_channel_carries_data")

    st, _, _, _ = http(R, "DELETE", "/device/phones/" + ida,
                       headers=bearer(cred))
    t0 = time.monotonic()
    code = a1.wait_close(3)
    ok(st == 204 and code == 4003 and time.monotonic() - t0 < 2,
       "revoke_closes_the_phones_connections_at_once_with_4003",
       "%s %r" % (st, code))
    j = dev.wait_json(lambda j: j.get("t") == "revoked")
    ok(j and j["phone"] == ida, "the_device_is_told_of_the_revocation",
       repr(j))
    again = phone_ws(R, pa, src=fresh_src())
    ok(again.status == 101 and again.wait_close() == 4004,
       "revoked_credentials_get_4004_unknown_phone", repr(again.close_code))
    st, _, _, _ = http(R, "DELETE", "/phone/self", headers=bearer(pa),
                       src=fresh_src())
    ok(st == 401, "revoked_credentials_no_longer_work_over_http", repr(st))
    st, _, _, j = http(R, "DELETE", "/device/phones/" + ida,
                       headers=bearer(cred))
    ok(st == 404 and err_code(j) == "not_found",
       "revoking_an_unknown_phone_is_404", repr(j))

    pc, idc = pair_phone(R, dev, cred)
    c1 = phone_ws(R, pc)
    dev.wait_json(lambda j: j.get("t") == "open")
    dev.send_json({"t": "revoke", "id": 11, "phone": idc})
    j = dev.wait_json(lambda j: j.get("t") == "revoked")
    ok(j == {"t": "revoked", "id": 11, "phone": idc} and
       c1.wait_close() == 4003, "revoke_over_the_device_ws", repr(j))
    pd, idd = pair_phone(R, dev, cred)
    st, _, _, _ = http(R, "DELETE", "/phone/self", headers=bearer(pd))
    st2, _, _, j = http(R, "GET", "/device/phones", headers=bearer(cred))
    ok(st == 204 and idd not in [p["id"] for p in j["phones"]],
       "a_phone_may_forget_itself", repr(j))
    dev.close()
    return cred, pb


def t_replace():
    """A device connection replacing another: the phone gets a new channel
    and is told online:true again, so it starts a fresh handshake."""
    cred = register(R)
    dev_a = device_ws(R, cred)
    pa, ida = pair_phone(R, dev_a, cred)
    phone = phone_ws(R, pa)
    oa = dev_a.wait_json(lambda j: j.get("t") == "open")
    ok(phone.first == {"t": "device", "online": True} and oa and
       oa["phone"] == ida, "before_the_replacement_the_phone_has_a_channel",
       repr((phone.first, oa)))
    phone.send(b"old session")
    ok(dev_a.binary() == struct.pack(">I", oa["ch"]) + b"old session",
       "the_first_device_gets_the_phones_bytes")
    dev_b = device_ws(R, cred)
    j = phone.wait_json(lambda j: j.get("t") == "device", 5, "device")
    ob = dev_b.wait_json(lambda j: j.get("t") == "open", 5, "open")
    ok(j == {"t": "device", "online": True},
       "a_replacing_device_connection_tells_the_phone_online_again",
       repr(j))
    ok(ob and ob["phone"] == ida,
       "the_replacing_device_gets_open_for_the_phone", repr(ob))
    late = []
    while True:
        f = dev_a.recv(1)
        if f is None or f[0] == 8:
            break
        late.append(f)
    ok(dev_a.close_code == 4001 and not [f for f in late if f[0] == 2],
       "the_replaced_device_gets_no_more_bytes_and_4001",
       repr((dev_a.close_code, late)))
    phone.send(b"handshake 1")
    got = dev_b.binary()
    ok(got == struct.pack(">I", ob["ch"]) + b"handshake 1",
       "the_new_channel_gets_the_phones_next_message_first", repr(got))
    dev_b.close()
    j = phone.wait_json(lambda j: j.get("t") == "device")
    phone.send(b"between devices")
    dev_c = device_ws(R, cred)
    j2 = phone.wait_json(lambda j: j.get("t") == "device")
    oc = dev_c.wait_json(lambda j: j.get("t") == "open")
    phone.send(b"fresh")
    got = dev_c.binary()
    ok(j == {"t": "device", "online": False} and
       j2 == {"t": "device", "online": True} and oc and
       got == struct.pack(">I", oc["ch"]) + b"fresh",
       "bytes_sent_while_no_device_channel_is_open_are_dropped",
       repr((j, j2, got)))
    phone.close()
    dev_a.close()
    dev_c.close()


def t_backpressure():
    cred = register(R)
    dev = device_ws(R, cred)
    pa, _ = pair_phone(R, dev, cred)
    slow = phone_ws(R, pa)
    ch = dev.wait_json(lambda j: j.get("t") == "open")["ch"]
    base = R.status("VmRSS")
    chunk = struct.pack(">I", ch) + os.urandom(65536)
    sent, paused = 0, None
    while sent < 64 << 20 and paused is None:
        dev.send(chunk)
        sent += len(chunk)
        paused = dev.wait_json(lambda j: j.get("t") == "pause", 0.001)
    ok(paused == {"t": "pause", "ch": ch},
       "a_phone_that_does_not_read_makes_the_device_pause_its_channel",
       "sent %d, got %r" % (sent, paused))
    rss = R.status("VmRSS")
    ok(rss - base < 40 * 1024, "the_relay_memory_stays_bounded_while_paused",
       "%d -> %d kB" % (base, rss))
    # Read it all: the relay says resume.
    slow.s.settimeout(0.2)
    resumed = None
    deadline = time.monotonic() + 20
    while resumed is None and time.monotonic() < deadline:
        try:
            slow.s.recv(1 << 20)
        except OSError:
            pass
        j = dev.wait_json(lambda j: True, 0.01)
        if j and j.get("t") == "resume":
            resumed = j
    ok(resumed == {"t": "resume", "ch": ch},
       "the_device_gets_resume_once_the_phone_reads_again", repr(resumed))
    slow.close()
    dev.wait_json(lambda j: j.get("t") == "close")

    # A device that goes on regardless: the phone is closed at 8 MiB.
    slow = phone_ws(R, pa)
    ch = dev.wait_json(lambda j: j.get("t") == "open")["ch"]
    chunk = struct.pack(">I", ch) + os.urandom(262144)
    sent, closed = 0, None
    while sent < 96 << 20 and closed is None:
        dev.send(chunk)
        sent += len(chunk)
        j = dev.wait_json(lambda j: j.get("t") == "close", 0.001)
        if j:
            closed = j
    ok(closed == {"t": "close", "ch": ch},
       "a_device_ignoring_pause_gets_the_phone_closed", "sent %d" % sent)
    hwm = R.status("VmHWM")
    ok(hwm - base < 64 * 1024, "the_relay_memory_stayed_bounded",
       "%d -> peak %d kB after %d MiB" % (base, hwm, sent >> 20))
    code = slow.wait_close(10)
    ok(code == 4008, "the_slow_phone_is_closed_with_4008", repr(code))
    slow.close()
    dev.close()


def t_flood():
    """Answers nobody reads: a device and a phone that send pings (empty
    and full) and messages that get an answer, and never read."""
    r = Relay(name="flood")
    try:
        cred = register(r)
        dev = device_ws(r, cred, src="127.0.2.1")
        pa, _ = pair_phone(r, dev, cred)
        other = register(r)
        odev = device_ws(r, other, src="127.0.2.2")
        op, _ = pair_phone(r, odev, other)
        ophone = phone_ws(r, op, src="127.0.2.3")
        och = odev.wait_json(lambda j: j.get("t") == "open")["ch"]
        phone = phone_ws(r, pa, src="127.0.2.4")
        ch = dev.wait_json(lambda j: j.get("t") == "open")["ch"]
        base = r.status("VmRSS")
        limit = 96 << 20
        fd = Flood(dev, [ws_frame(b"", 9), ws_frame(os.urandom(125), 9),
                         ws_frame('{"t":"x"}', 1)])
        fp = Flood(phone, [ws_frame(b"", 9), ws_frame(os.urandom(125), 9),
                           ws_frame('{"t":"ping"}', 1)])
        stalled_d = fd.push(limit)
        stalled_p = fp.push(limit)
        rss = r.status("VmRSS")
        diag("flood: device sent %d MiB, phone %d MiB; relay VmRSS %d -> "
             "%d kB" % (fd.sent >> 20, fp.sent >> 20, base, rss))
        ok(stalled_d and stalled_p,
           "the_relay_stops_reading_a_peer_that_sends_and_never_reads",
           "device %d bytes, phone %d bytes" % (fd.sent, fp.sent))
        ok(rss - base < 24 * 1024,
           "the_relay_memory_stays_bounded_under_answers_nobody_reads",
           "%d -> %d kB" % (base, rss))
        st, _, _, _ = http(r, "GET", "/health", src="127.0.2.5")
        ophone.send(b"still here")
        got = odev.binary()
        odev.send(struct.pack(">I", och) + b"and back")
        ok(st == 200 and got == struct.pack(">I", och) + b"still here" and
           ophone.binary() == b"and back",
           "the_relay_goes_on_serving_others_meanwhile", repr((st, got)))
        back = fd.drain(ws_frame('{"t":"phones","id":4242}', 1),
                        b'"id":4242')
        ok(back, "once_the_device_reads_the_relay_reads_it_again")
        back = fp.drain(ws_frame(b"after the flood", 9), b"after the flood")
        ok(back, "once_the_phone_reads_the_relay_reads_it_again")
        hwm = r.status("VmHWM")
        ok(hwm - base < 32 * 1024, "the_relay_memory_peak_stayed_bounded",
           "%d -> peak %d kB" % (base, hwm))
        diag("flood: relay VmHWM %d kB" % hwm)
        for w in (dev, phone, odev, ophone):
            w.close()
    finally:
        r.stop()


def t_max_frame():
    cred = register(R)
    dev = device_ws(R, cred)
    pa, _ = pair_phone(R, dev, cred)
    p = phone_ws(R, pa)
    dev.wait_json(lambda j: j.get("t") == "open")
    p.send(os.urandom((1 << 20) + 1))
    ok(p.wait_close() == 1009, "a_message_over_max_frame_is_closed_1009",
       repr(p.close_code))
    p.close()
    dev.close()


def t_caps():
    r = Relay("--max-phones", "2", "--max-per-ip", "3", "--web",
              os.path.join(TOP, "nonexistent"), name="caps")
    try:
        cred = register(r)
        dev = device_ws(r, cred, src="127.0.1.1")
        pa, _ = pair_phone(r, dev, cred)
        p1 = phone_ws(r, pa, src="127.0.1.2")
        p2 = phone_ws(r, pa, src="127.0.1.2")
        p3 = phone_ws(r, pa, src="127.0.1.3")
        ok(p1.status == p2.status == p3.status == 101 and
           p3.wait_close() == 4009 and p1.close_code is None,
           "a_phone_connection_over_max_phones_is_closed_4009",
           repr(p3.close_code))
        # A third connection from .2 waits for a body it never gets.
        p4 = r.connect("127.0.1.2")
        p4.sendall(b"POST /pair/redeem HTTP/1.1\r\nHost: x\r\n"
                   b"Content-Length: 100\r\n\r\n")
        res = []
        poll_until(lambda: res.append(http(r, "GET", "/health",
                                           src="127.0.1.2")) or
                   res[-1][0] == 503, 5)
        st, j = res[-1][0], res[-1][3]
        ok(st == 503 and err_code(j) == "too_many",
           "a_connection_over_max_per_ip_is_503_too_many", repr(j))
        st, _, _, j = http(r, "GET", "/health", src="127.0.1.4")
        ok(st == 200, "other_addresses_are_not_affected")
        p1.close()
        p2.close()
        p4.close()
        st = poll_until(lambda: http(r, "GET", "/health",
                                     src="127.0.1.2")[0] == 200, 5)
        ok(st, "closed_connections_no_longer_count")
        st, _, _, _ = http(r, "GET", "/app/")
        ok(st == 503, "app_without_a_built_web_directory_is_503")
    finally:
        r.stop()


def t_pending_cap():
    """Connections that never send their request: 16 per address (the
    oldest goes), so one address cannot take every slot."""
    src = fresh_src()
    socks = []
    for i in range(40):
        s = R.connect(src)
        if i % 2:
            s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        socks.append(s)
    t0 = time.monotonic()

    def closed():
        gone = []
        for i, s in enumerate(socks):
            r, _, _ = select.select([s], [], [], 0)
            if r:
                try:
                    d = s.recv(100)
                except OSError:
                    d = b""
                if d == b"":
                    gone.append(i)
        return gone
    gone = poll_until(lambda: len(closed()) >= 24, 6) and closed()
    ok(gone == list(range(24)) and time.monotonic() - t0 < 8,
       "past_16_connections_without_a_request_the_oldest_are_closed",
       "closed %r after %.1fs" % (gone or closed(),
                                  time.monotonic() - t0))
    st, _, _, _ = http(R, "GET", "/health", src=fresh_src())
    ok(st == 200, "another_address_is_served_meanwhile", repr(st))
    st, _, _, _ = http(R, "GET", "/health", src=src)
    ok(st == 200, "the_same_address_is_served_too_when_it_sends_a_request",
       repr(st))
    ok("over 16 connections without a request" in R.log(),
       "the_cap_is_logged")
    for s in socks:
        s.close()


def t_origin():
    cred = register(R)
    host = "127.0.0.1:%d" % R.port
    for origin, want, name in [
            ("https://evil.example", 403, "a_foreign_origin_is_403"),
            ("http://" + host, 101, "the_relays_own_origin_is_allowed"),
            ("https://app.example", 101, "an_allow_origin_is_allowed"),
            (None, 101, "no_origin_is_allowed"),
            ("null", 403, "the_null_origin_is_403")]:
        h = bearer(cred)
        if origin:
            h["Origin"] = origin
        ws = WS(R, "/device/ws", headers=h)
        ok(ws.status == want and (want != 403 or b"forbidden_origin" in
                                  ws.body), name,
           "%s %r" % (ws.status, ws.body))
        ws.close()


def t_app():
    st, h, body, _ = http(R, "GET", "/app/")
    csp = ("default-src 'none'; script-src 'self'; style-src 'self'; "
           "img-src 'self' data:; connect-src 'self'; manifest-src 'self'; "
           "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
    ok(st == 200 and body.startswith(b"<!doctype html>") and
       h.get("content-type") == "text/html; charset=utf-8",
       "app_serves_index_html", "%s %r" % (st, h))
    ok(h.get("content-security-policy") == csp and
       h.get("x-frame-options") == "DENY" and
       h.get("x-content-type-options") == "nosniff" and
       h.get("referrer-policy") == "no-referrer",
       "app_has_the_strict_csp_and_security_headers", repr(h))
    st, h, body, _ = http(R, "GET", "/app")
    ok(st == 302 and h.get("location") == "/app/",
       "app_without_a_slash_goes_to_app_slash (its assets are relative)",
       "%s %r" % (st, h))
    st, h, body, _ = http(R, "GET", "/app/app.js")
    ok(st == 200 and h["content-type"].startswith("text/javascript") and
       body == b"console.log('app');\n", "app_js_is_javascript", repr(h))
    st, h, _, _ = http(R, "GET", "/app/style.css")
    ok(st == 200 and h["content-type"].startswith("text/css"),
       "app_css_is_css")
    for path in ["/app/../secret.txt", "/app/%2e%2e/secret.txt",
                 "/app/%2E%2E%2Fsecret.txt", "/app/escape.txt",
                 "/app/.hidden", "/app/nope.js", "/app/a//b",
                 "/app/%00"]:
        st, _, body, _ = http(R, "GET", path)
        ok(st in (400, 404) and b"outside" not in body,
           "app_refuses_%s" % re.sub(r"\W+", "_", path[5:]).strip("_"),
           "%s %r" % (st, body[:80]))


def t_bad_http():
    st, _, _, j = http(R, None, None, raw=b"GARBAGE\r\n\r\n")
    ok(st == 400 and "malformed HTTP request" in j["error"]["message"],
       "garbage_is_400_malformed_http", repr(j))
    st, _, _, j = http(R, None, None, raw=b"GET /health HTTP/1.1\r\nX: " +
                       b"y" * 20000 + b"\r\n\r\n")
    ok(st == 431, "huge_headers_are_431", repr(j))
    big = json.dumps({"token": "x" * 70000}).encode()
    st, _, _, j = http(R, "POST", "/pair/redeem", body=big, src=fresh_src())
    ok(st == 413 and err_code(j) == "too_large", "a_huge_body_is_413",
       repr(j))
    s = R.connect()
    s.sendall(b"GET /health HTTP/1.1\r\n")
    t0 = time.monotonic()
    s.settimeout(15)
    try:
        d = s.recv(100)
    except OSError:
        d = None
    ok(not d and time.monotonic() - t0 < 12,
       "a_head_that_never_ends_is_dropped_after_10_seconds")
    s.close()
    st, _, _, _ = http(R, "GET", "/health")
    ok(st == 200, "the_relay_goes_on_after_bad_requests")


BAD_TEXT = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def t_no_control_text():
    """What a client sends (labels, paths, close reasons) reaches no error
    message, label or log with a terminal control in it."""
    cred = register(R)
    dev = device_ws(R, cred)
    label = (b"my\x1b[2J phone\xc2\x9b31m \x9b\xff\xe2\x80\xae"
             b"enohp\x07")
    body = json.dumps(redeem_body(issue(R, cred))).encode()
    body = body.replace(b'"test phone"', b'"' + label + b'"')
    s = R.connect(fresh_src(), timeout=15)
    s.sendall(b"POST /pair/redeem HTTP/1.1\r\nHost: x\r\nContent-Length:"
              b" %d\r\n\r\n" % len(body) + body)
    msg = dev.wait_json(lambda j: j.get("t") == "pair-redeem", 5,
                        "pair-redeem")
    ok(msg and msg["label"] == "my[2J phone31m enohp",
       "a_label_reaches_the_device_without_controls_or_bad_utf8",
       repr(msg and msg["label"]))
    dev.send_json({"t": "pair-result", "id": msg["id"], "ok": True})
    st, j = read_reply(s)
    st, _, _, j = http(R, "GET", "/device/phones", headers=bearer(cred))
    labels = [p["label"] for p in j["phones"]]
    ok(labels == ["my[2J phone31m enohp"],
       "the_relay_stores_and_lists_the_cleaned_label", repr(labels))

    for raw, name in [
            (b"GET /no\xc2\x9b2J\x9b\twhere\xe2\x80\xae HTTP/1.1\r\n\r\n",
             "an_unknown_path"),
            (b"PUT /device/phones/p\xc2\x9b31m HTTP/1.1\r\n\r\n",
             "a_wrong_method_on_a_phone_path"),
            (b"GET /x\xc2\x85y HTTP/1.1\r\nUpgrade: websocket\r\n"
             b"Connection: Upgrade\r\n\r\n", "a_websocket_path")]:
        st, _, data, j = http(R, None, None, raw=raw, src=fresh_src())
        m = (j or {}).get("error", {}).get("message", "")
        ok(st in (404, 405) and m and not BAD_TEXT.search(m) and
           b"\\u00" not in data and b"\x9b" not in data,
           "%s_is_named_without_controls_in_the_error" % name,
           "%s %r" % (st, data))

    pa, _ = pair_phone(R, dev, cred)
    p = phone_ws(R, pa)
    o = dev.wait_json(lambda j: j.get("t") == "open")
    dev.send_json({"t": "close", "ch": o["ch"], "code": 4005,
                   "reason": "bad\x1b[2J\u009b\u202ekey" + "\u00e9" * 70})
    p.wait_close()
    ok(p.close_code == 4005 and not BAD_TEXT.search(p.close_reason) and
       p.close_reason.startswith("bad[2Jkey") and
       len(p.close_reason.encode()) <= 123 and "\ufffd" not in
       p.close_reason, "a_close_reason_from_the_device_is_cleaned_and_cut_"
       "between_characters", repr(p.close_reason))
    ok(not BAD_TEXT.search(R.log().replace("\n", "")),
       "the_log_holds_no_control_characters")
    p.close()
    dev.close()


def t_bad_auth_limit():
    src = fresh_src()
    bad = "d" + "A" * 22 + "." + b64u(bytes(32))
    codes = [http(R, "GET", "/device/phones", headers=bearer(bad),
                  src=src)[0] for _ in range(10)]
    st, h, _, j = http(R, "GET", "/device/phones", headers=bearer(bad),
                       src=src)
    ok(codes == [401] * 10 and st == 429 and int(h["retry-after"]) > 0,
       "ten_bad_credentials_a_minute_then_429", "%r %s" % (codes, st))
    cred = register(R)
    st, _, _, _ = http(R, "GET", "/device/phones", headers=bearer(cred),
                       src=src)
    ok(st == 429, "an_address_past_its_allowance_is_refused_even_with_"
       "good_credentials")


def t_restart(cred, pcred):
    dev = device_ws(R, cred)
    token = issue(R, cred)
    st, j, _ = redeem(R, dev, token, {"ok": True})
    dev.close()
    rc = R.stop()
    ok(rc == 0 and "exited" in R.log(), "sigterm_closes_cleanly", repr(rc))
    R.start()
    dev = device_ws(R, cred)
    ok(dev.status == 101 and dev.hello["t"] == "hello",
       "after_a_restart_the_device_credentials_work")
    p = phone_ws(R, pcred)
    o = dev.wait_json(lambda j: j.get("t") == "open")
    ok(p.status == 101 and o is not None,
       "after_a_restart_the_phone_credentials_work")
    st, j = read_reply(redeem_async(R, token))
    ok(st == 410 and err_code(j) == "link_used",
       "after_a_restart_a_used_link_is_still_used", repr(j))
    p.close()
    dev.close()


def t_tls():
    r = Relay("--tls", name="tls")
    try:
        m = re.search(r"TLS certificate fingerprint (sha256:[0-9A-F:]+)",
                      r.log())
        s = r.connect()
        der = s.getpeercert(binary_form=True)
        s.close()
        fp = "sha256:" + ":".join("%02X" % b for b in
                                  hashlib.sha256(der).digest())
        ok(r.tls and m and m.group(1) == fp,
           "self_signed_tls_prints_the_certificates_fingerprint",
           "%s vs %s" % (m and m.group(1), fp))
        st, h, _, j = http(r, "GET", "/health")
        ok(st == 200 and "max-age" in h.get("strict-transport-security", ""),
           "health_over_tls_with_hsts", repr(h))
        cred = register(r)
        dev = device_ws(r, cred)
        ok(dev.status == 101 and dev.hello["t"] == "hello",
           "device_ws_over_tls")
        dev.close()
        keymode = os.stat(os.path.join(r.data, "tls", "key.pem")).st_mode
        ok(keymode & 0o077 == 0, "the_generated_key_is_0600",
           oct(keymode))
        cert = os.path.join(TOP, "cert.pem")
        key = os.path.join(TOP, "key.pem")
        shutil.copy(os.path.join(r.data, "tls", "cert.pem"), cert)
        shutil.copy(os.path.join(r.data, "tls", "key.pem"), key)
    finally:
        r.stop()
    r = Relay("--tls-cert", cert, "--tls-key", key, name="tlsfiles")
    try:
        s = r.connect()
        der = s.getpeercert(binary_form=True)
        s.close()
        st, _, _, _ = http(r, "GET", "/health")
        ok(r.tls and st == 200 and "sha256:" + ":".join(
            "%02X" % b for b in hashlib.sha256(der).digest()) == fp,
           "tls_with_given_certificate_and_key_files")
    finally:
        r.stop()


def t_data_files():
    mode = os.stat(R.data).st_mode & 0o777
    kmode = os.stat(os.path.join(R.data, "relay.key")).st_mode & 0o777
    ok(mode == 0o700 and kmode == 0o600 and
       os.path.getsize(os.path.join(R.data, "relay.key")) == 32,
       "data_directory_0700_and_a_32_byte_relay_key_0600",
       "%o %o" % (mode, kmode))


def t_trust_proxy():
    r = Relay("--trust-proxy", name="proxy")
    try:
        src = fresh_src()
        xff = {"X-Forwarded-For": "198.51.100.1, 203.0.113.7"}
        codes = [http(r, "POST", "/device/register", src=src,
                      headers=xff)[0] for _ in range(6)]
        st = http(r, "POST", "/device/register", src=src, headers={
            "X-Forwarded-For": "203.0.113.8"})[0]
        ok(codes == [201] * 5 + [429] and st == 201,
           "trust_proxy_counts_by_the_last_forwarded_hop",
           "%r %s" % (codes, st))
        st = http(r, "POST", "/device/register", src=src, headers={
            "X-Forwarded-For": "203.0.113.7\xc2\x9b"})[0]
        ok(st == 201 and "%s: registered device" % src in r.log() and
           not BAD_TEXT.search(r.log().replace("\n", "")),
           "a_forwarded_hop_that_is_not_an_address_is_not_taken",
           repr(st))
    finally:
        r.stop()


run_test(t_health, "health")
run_test(t_register, "register")
run_test(t_registration_secret, "registration_secret")
run_test(t_device_ws, "device_ws")
run_test(t_pair_issue, "pair_issue")
run_test(t_pair_limits, "pair_limits")
run_test(t_redeem, "redeem")
run_test(t_lost_pairing, "lost_pairing")
run_test(t_redeem_bodies, "redeem_bodies")
creds = []
run_test(lambda: creds.append(t_phones_and_routing()), "routing")
run_test(t_replace, "replace")
run_test(t_backpressure, "backpressure")
run_test(t_flood, "flood")
run_test(t_max_frame, "max_frame")
run_test(t_caps, "caps")
run_test(t_pending_cap, "pending_cap")
run_test(t_origin, "origin")
run_test(t_app, "app")
run_test(t_bad_http, "bad_http")
run_test(t_no_control_text, "no_control_text")
run_test(t_bad_auth_limit, "bad_auth_limit")
run_test(t_data_files, "data_files")
if creds:
    run_test(lambda: t_restart(*creds[0]), "restart")
run_test(t_tls, "tls")
run_test(t_trust_proxy, "trust_proxy")
try:
    R.stop()
except Exception:
    pass
shutil.rmtree(TOP, ignore_errors=True)
done()

#!/usr/bin/python3
# The server's side of the relay and phones (relay/PROTOCOL.md), against a
# fake relay written here: an asyncio HTTP + WebSocket server on 127.0.0.1
# that registers devices, takes the device's WebSocket, speaks the control
# messages and plays phones (the Noise KK initiator, with the cryptography
# module).  loopsy relay configure/status/forget, the link's reconnects,
# loopsy mobile pair and redeem proofs, channels (handshake, commands,
# MSG_INPUT, history on attach, pause, tampering), phone revoke and grants,
# launch, admin commands refused from a phone, status and doctor, and that
# no secret reaches server.log or audit.jsonl.
import asyncio
import base64
import fcntl
import hashlib
import hmac
import json
import os
import queue
import re
import shutil
import signal
import socket
import ssl
import stat
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import *  # noqa

require()

try:
    from cryptography.hazmat.primitives.asymmetric.x25519 import (
        X25519PrivateKey, X25519PublicKey)
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
    from cryptography.hazmat.primitives import serialization
    HAVE_CRYPTO = True
except ImportError:
    HAVE_CRYPTO = False

SRCDIR = os.environ.get("SRCDIR") or os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))
# common/noise.c comes from its own branch; without it every handshake is
# refused (common/noise-missing.c), and the channel tests are skipped.
HAVE_NOISE = os.path.exists(os.path.join(SRCDIR, "common", "noise.c"))

MSG_HELLO, MSG_COMMAND, MSG_REPLY, MSG_OUTPUT = 1, 2, 3, 4
MSG_RESIZE, MSG_DETACH, MSG_STDOUT, MSG_INPUT = 7, 9, 11, 15


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def unb64u(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def skip(name, why):
    import harness
    harness._n += 1
    print("ok %d - %s # SKIP %s" % (harness._n, name, why), flush=True)


# ------------------------------------------------------------- Noise KK

def raw_pub(priv):
    return priv.public_key().public_bytes(serialization.Encoding.Raw,
                                          serialization.PublicFormat.Raw)


class CipherState:
    def __init__(self, k):
        self.k, self.n = k, 0

    def _nonce(self, n):
        return b"\0\0\0\0" + struct.pack("<Q", n)

    def encrypt(self, ad, p):
        c = ChaCha20Poly1305(self.k).encrypt(self._nonce(self.n), p, ad)
        self.n += 1
        return c

    def decrypt(self, ad, c):
        p = ChaCha20Poly1305(self.k).decrypt(self._nonce(self.n), c, ad)
        self.n += 1
        return p

    def rekey(self):
        self.k = ChaCha20Poly1305(self.k).encrypt(
            self._nonce(2 ** 64 - 1), b"\0" * 32, b"")[:32]


def hkdf2(ck, ikm):
    t = hmac.new(ck, ikm, hashlib.sha256).digest()
    o1 = hmac.new(t, b"\x01", hashlib.sha256).digest()
    o2 = hmac.new(t, o1 + b"\x02", hashlib.sha256).digest()
    return o1, o2


class NoiseKK:
    """Noise_KK_25519_ChaChaPoly_SHA256, the phone's (initiator's) side."""

    REKEY = 4096

    def __init__(self, s_priv, rs_pub, prologue=b"loopsy-phone-1"):
        self.s = s_priv
        self.rs = rs_pub
        self.h = b"Noise_KK_25519_ChaChaPoly_SHA256"
        self.ck = self.h
        self.k = None
        self.mix_hash(prologue)
        self.mix_hash(raw_pub(s_priv))
        self.mix_hash(rs_pub)

    def mix_hash(self, d):
        self.h = hashlib.sha256(self.h + d).digest()

    def mix_key(self, ikm):
        self.ck, k = hkdf2(self.ck, ikm)
        self.k = CipherState(k)

    def dh(self, priv, pub):
        return priv.exchange(X25519PublicKey.from_public_bytes(pub))

    def message1(self):
        self.e = X25519PrivateKey.generate()
        e = raw_pub(self.e)
        self.mix_hash(e)
        self.mix_key(self.dh(self.e, self.rs))      # es
        self.mix_key(self.dh(self.s, self.rs))      # ss
        c = self.k.encrypt(self.h, b"")
        self.mix_hash(c)
        return e + c

    def read_message2(self, m):
        re_ = m[:32]
        self.mix_hash(re_)
        self.mix_key(self.dh(self.e, re_))          # ee
        self.mix_key(self.dh(self.s, re_))          # se
        self.k.decrypt(self.h, m[32:])
        self.mix_hash(m[32:])
        k1, k2 = hkdf2(self.ck, b"")
        self.send, self.recv = CipherState(k1), CipherState(k2)

    def encrypt(self, p):
        c = self.send.encrypt(b"", p)
        if self.send.n % self.REKEY == 0:
            self.send.rekey()
        return c

    def decrypt(self, c):
        p = self.recv.decrypt(b"", c)
        if self.recv.n % self.REKEY == 0:
            self.recv.rekey()
        return p


# ------------------------------------------------------ the fake relay

def ws_frame(op, data):
    n = len(data)
    if n < 126:
        h = struct.pack("!BB", 0x80 | op, n)
    elif n < 65536:
        h = struct.pack("!BBH", 0x80 | op, 126, n)
    else:
        h = struct.pack("!BBQ", 0x80 | op, 127, n)
    return h + data


def unmask(data, mask):
    n = len(data)
    if n == 0:
        return data
    m = (mask * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "big") ^ int.from_bytes(m, "big")).to_bytes(
        n, "big")


class FakeRelay:
    """A relay for one device on 127.0.0.1, run in a thread of its own.
    The test thread calls the methods without a leading underscore."""

    def __init__(self, tls=None, registration_secret=None):
        self.tls = tls
        self.registration_secret = registration_secret
        self.port = None
        self.devices = {}           # id -> secret
        self.registrations = 0
        self.key = os.urandom(32)
        self.nonces = {}
        self.conn = None            # the device's live connection
        self.control = []           # every control message from the device
        self.cond = threading.Condition()
        self.chans = {}             # ch -> queue.Queue of events
        self.next_ch = 1
        self.next_id = 1000
        self.results = {}           # pair-result by id
        self.answer_revoke = True
        self.answer_issue = True
        self.phones = []            # what "phones" answers
        self.ttl = None             # tokens expire this soon, if set
        self.upgrades = 0
        self.register_gate = None   # a threading.Event registration waits on
        self.register_waiting = 0
        self.refuse_body = None     # raw bytes: registration and link refused
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever,
                                       daemon=True)
        self.thread.start()
        self.server = None
        self.start()

    def url(self, host="127.0.0.1"):
        return "%s://%s:%d" % ("https" if self.tls else "http", host,
                               self.port)

    def _call(self, coro, timeout=10):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(
            timeout)

    def start(self):
        async def go():
            self.server = await asyncio.start_server(
                self._client, "127.0.0.1", self.port or 0, ssl=self.tls,
                reuse_address=True)
            self.port = self.server.sockets[0].getsockname()[1]
        self._call(go())

    def stop(self):
        """Close the listener and every connection (a relay restart)."""
        async def go():
            self.server.close()
            if self.conn is not None:
                self.conn[1].close()
            await self.server.wait_closed()
        self._call(go())
        with self.cond:
            self.conn = None
            self.cond.notify_all()

    # --------------------------------------------------- HTTP and WS

    async def _client(self, reader, writer):
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        except Exception:
            writer.close()
            return
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        hdrs = {}
        for l in lines[1:]:
            if ":" in l:
                k, v = l.split(":", 1)
                hdrs[k.strip().lower()] = v.strip()
        body = b""
        if "content-length" in hdrs:
            body = await reader.readexactly(int(hdrs["content-length"]))
        if method == "POST" and path == "/device/register":
            gate = self.register_gate
            if gate is not None:
                with self.cond:
                    self.register_waiting += 1
                    self.cond.notify_all()
                await self.loop.run_in_executor(None, gate.wait, 20)
            self._register(writer, hdrs, body)
        elif method == "GET" and path == "/device/ws":
            await self._device(reader, writer, hdrs)
            return
        else:
            self._reply(writer, 404, {"error": {"code": "not_found",
                                                "message": "no such route"}})
        try:
            await writer.drain()
        except Exception:
            pass
        writer.close()

    def _reply(self, writer, status, obj, extra=""):
        b = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
        writer.write(("HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
                      "Content-Length: %d\r\nConnection: close\r\n%s\r\n" %
                      (status, len(b), extra)).encode() + b)

    def _register(self, writer, hdrs, body):
        self.registrations += 1
        if self.refuse_body is not None:
            self._reply(writer, 400, self.refuse_body)
            return
        if (self.registration_secret is not None and
                hdrs.get("x-registration-secret") !=
                self.registration_secret):
            self._reply(writer, 403, {"error": {
                "code": "registration_closed",
                "message": "this relay needs its registration secret"}})
            return
        did = "d" + b64u(os.urandom(16))
        sec = b64u(os.urandom(32))
        self.devices[did] = sec
        self._reply(writer, 201, {"device_id": did, "device_secret": sec})

    async def _device(self, reader, writer, hdrs):
        if self.refuse_body is not None:
            self._reply(writer, 503, self.refuse_body)
            await writer.drain()
            writer.close()
            return
        auth = hdrs.get("authorization", "")
        m = re.fullmatch(r"Bearer (d[A-Za-z0-9_-]{22})\.(.+)", auth)
        if (m is None or self.devices.get(m.group(1)) != m.group(2) or
                "loopsy-relay.1" not in hdrs.get("sec-websocket-protocol",
                                                 "")):
            self._reply(writer, 401, {"error": {"code": "unauthorized",
                                                "message": "bad device"}})
            await writer.drain()
            writer.close()
            return
        acc = base64.b64encode(hashlib.sha1(
            (hdrs["sec-websocket-key"] +
             "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest())
        writer.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket"
                     b"\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
                     acc + b"\r\nSec-WebSocket-Protocol: loopsy-relay.1"
                     b"\r\n\r\n")
        # The hello in the same write, as a relay may send it.
        writer.write(ws_frame(1, json.dumps(
            {"t": "hello", "device": m.group(1)}).encode()))
        with self.cond:
            self.upgrades += 1
            self.conn = (reader, writer)
            self.cond.notify_all()
        frag = b""
        try:
            while True:
                h = await reader.readexactly(2)
                op, n = h[0] & 0x0f, h[1] & 0x7f
                if n == 126:
                    n = struct.unpack("!H", await reader.readexactly(2))[0]
                elif n == 127:
                    n = struct.unpack("!Q", await reader.readexactly(8))[0]
                mask = await reader.readexactly(4) if h[1] & 0x80 else b""
                data = await reader.readexactly(n)
                if mask:
                    data = unmask(data, mask)
                if op == 9:
                    writer.write(ws_frame(10, data))
                    continue
                if op == 8:
                    writer.write(ws_frame(8, data[:2]))
                    break
                if op == 10:
                    continue
                if op in (1, 2):
                    frag, kind = data, op
                else:
                    frag += data
                if not h[0] & 0x80:
                    continue
                if kind == 1:
                    self._control(json.loads(frag))
                else:
                    ch = struct.unpack("!I", frag[:4])[0]
                    self.chan(ch).put(("data", frag[4:]))
        except Exception:
            pass
        with self.cond:
            if self.conn is not None and self.conn[1] is writer:
                self.conn = None
            self.cond.notify_all()
        writer.close()

    def _send_now(self, op, data):
        if self.conn is not None:
            self.conn[1].write(ws_frame(op, data))

    def _control(self, m):
        t = m.get("t")
        if t == "pair-issue" and self.answer_issue:
            nonce = os.urandom(16)
            ttl = self.ttl or int(m.get("ttl", 1800))
            exp = int(time.time()) + ttl
            raw = nonce + struct.pack(">Q", exp)
            mac = hmac.new(self.key, raw, hashlib.sha256).digest()[:16]
            token = b64u(raw) + "." + b64u(mac)
            self.nonces[b64u(nonce)] = token
            self._send_now(1, json.dumps({"t": "pair-token", "id": m["id"],
                                          "token": token,
                                          "expires": exp}).encode())
        elif t == "phones":
            self._send_now(1, json.dumps({"t": "phones", "id": m["id"],
                                          "phones": self.phones}).encode())
        elif t == "revoke" and self.answer_revoke:
            self._send_now(1, json.dumps({"t": "revoked", "id": m["id"],
                                          "phone": m["phone"]}).encode())
        elif t == "close":
            self.chan(m["ch"]).put(("close", m.get("code"),
                                    m.get("reason")))
        elif t == "pair-result":
            with self.cond:
                self.results[m["id"]] = m
        with self.cond:
            self.control.append(m)
            self.cond.notify_all()

    # ------------------------------------------------ for the test

    def chan(self, ch):
        with self.cond:
            if ch not in self.chans:
                self.chans[ch] = queue.Queue()
            return self.chans[ch]

    def connected(self):
        with self.cond:
            return self.conn is not None

    def wait_device(self, timeout=15):
        with self.cond:
            return self.cond.wait_for(lambda: self.conn is not None,
                                      timeout)

    def send(self, obj):
        self.loop.call_soon_threadsafe(self._send_now, 1,
                                       json.dumps(obj).encode())

    def send_binary(self, ch, payload):
        self.loop.call_soon_threadsafe(self._send_now, 2,
                                       struct.pack("!I", ch) + payload)

    def wait_control(self, pred, timeout=10):
        with self.cond:
            ok = self.cond.wait_for(
                lambda: any(pred(m) for m in self.control), timeout)
            return [m for m in self.control if pred(m)] if ok else []

    def open_channel(self, phone):
        with self.cond:
            ch = self.next_ch
            self.next_ch += 1
        self.chan(ch)
        self.send({"t": "open", "ch": ch, "phone": phone})
        return ch

    def redeem(self, token, phone, pub, label, proof, timeout=10):
        with self.cond:
            rid = self.next_id
            self.next_id += 1
        nonce = b64u(unb64u(token.split(".")[0])[:16])
        self.send({"t": "pair-redeem", "id": rid, "nonce": nonce,
                   "phone": phone, "phone_pub": b64u(pub), "label": label,
                   "proof": b64u(proof)})
        with self.cond:
            if self.cond.wait_for(lambda: rid in self.results, timeout):
                return self.results[rid]
        return None


# ---------------------------------------------------------- a phone

def proof_for(secret, token, pub, code):
    return hmac.new(secret, b"loopsy-pair-1\0" + token.encode() + b"\0" +
                    pub + code.encode(), hashlib.sha256).digest()


def parse_link(link):
    m = re.fullmatch(r"(https?://[^#]+)/app/#p1/([A-Za-z0-9_.-]+)/"
                     r"([A-Za-z0-9_-]{43})/([A-Za-z0-9_-]{43})", link)
    if m is None:
        return None
    return {"base": m.group(1), "token": m.group(2), "K": unb64u(m.group(3)),
            "S": unb64u(m.group(4))}


class PhoneChannel:
    """One channel of a phone: the handshake, then loopsy frames."""

    def __init__(self, relay, phone_id, priv, server_pub):
        self.relay = relay
        self.id = phone_id
        self.priv = priv
        self.server_pub = server_pub
        self.plain = b""
        self.closed = None

    def connect(self, timeout=10):
        self.ch = self.relay.open_channel(self.id)
        self.noise = NoiseKK(self.priv, self.server_pub)
        self.relay.send_binary(self.ch, self.noise.message1())
        ev = self.relay.chan(self.ch).get(timeout=timeout)
        if ev[0] == "close":
            self.closed = ev
            return False
        self.noise.read_message2(ev[1])
        return True

    def send_raw(self, payload):
        self.relay.send_binary(self.ch, payload)

    def send(self, ftype, payload=b""):
        if isinstance(payload, str):
            payload = payload.encode()
        data = frame(ftype, payload)
        while data:
            piece, data = data[:65519], data[65519:]
            self.relay.send_binary(self.ch, self.noise.encrypt(piece))

    def event(self, timeout):
        ev = self.relay.chan(self.ch).get(timeout=timeout)
        if ev[0] == "close":
            self.closed = ev
            return None
        self.plain += self.noise.decrypt(ev[1])
        return True

    def recv(self, timeout=10):
        deadline = time.monotonic() + timeout
        while True:
            if len(self.plain) >= 5:
                n = struct.unpack(">I", self.plain[:4])[0]
                if len(self.plain) >= 4 + n:
                    f = (self.plain[4], self.plain[5:4 + n])
                    self.plain = self.plain[4 + n:]
                    return f
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                if self.event(left) is None:
                    return None
            except queue.Empty:
                return None

    def hello(self):
        self.send(MSG_HELLO, json.dumps({"proto": [1, 1]}))
        f = self.recv()
        return f is not None and f[0] == MSG_HELLO

    def command(self, argv, cid=1, extra=None, timeout=10):
        msg = {"id": cid, "argv": argv}
        msg.update(extra or {})
        self.send(MSG_COMMAND, json.dumps(msg))
        out = b""
        while True:
            f = self.recv(timeout)
            if f is None:
                return None, out
            if f[0] == MSG_STDOUT:
                out += f[1]
            elif f[0] == MSG_REPLY:
                r = json.loads(f[1])
                if r.get("id") == cid:
                    return r, out.decode("utf-8", "replace")


# --------------------------------------------------------------- tests

W = None
R = None


def server_key_pub():
    with open(os.path.join(W.home, "phone.key"), "rb") as f:
        return raw_pub(X25519PrivateKey.from_private_bytes(f.read()))


def relay_json():
    with open(os.path.join(W.home, "relay.json")) as f:
        return json.load(f)


def relay_state():
    rc, out, err = W.lsy("relay", "status", "--json")
    return json.loads(out) if rc == 0 else {}


def wait_state(state, timeout=20):
    return poll_until(lambda: relay_state().get("state") == state, timeout)


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


class Pairing:
    """loopsy mobile pair, waiting, its output read as it comes."""

    def __init__(self, *args):
        self.p = subprocess.Popen(W.argv("mobile", "pair", *args),
                                  env=W.env, cwd=W.home,
                                  stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE)
        self.lines = []
        self.q = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.info = {}
        while "expires" not in self.info:
            l = self.q.get(timeout=15)
            if l is None:
                break
            k, _, v = l.partition(": ")
            self.info[k] = v
        remember(self.info)

    def _read(self):
        for l in self.p.stdout:
            self.q.put(l.decode().rstrip("\n"))
        self.q.put(None)

    def wait_line(self, regex, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                l = self.q.get(timeout=deadline - time.monotonic())
            except queue.Empty:
                break
            if l is None:
                break
            self.lines.append(l)
            if re.search(regex, l):
                return l
        return None

    def finish(self, timeout=10):
        try:
            rc = self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            rc = self.p.wait()
        return rc, self.p.stderr.read().decode()


def new_phone(label="Test phone"):
    """Pair a phone through loopsy mobile pair: (id, private key)."""
    pr = Pairing()
    link = parse_link(pr.info["link"])
    priv = X25519PrivateKey.generate()
    pub = raw_pub(priv)
    pid = "p" + b64u(os.urandom(16))
    res = R.redeem(link["token"], pid, pub, label,
                   proof_for(link["S"], link["token"], pub,
                             pr.info["code"]))
    pr.finish()
    if res is None or not res.get("ok"):
        raise RuntimeError("pairing failed: %r" % (res,))
    return pid, priv


def t_configure():
    rc, out, err = W.lsy("relay", "configure")
    ok(rc == 2 and "give the relay's URL" in err,
       "relay_configure_needs_a_url", err)
    rc, out, err = W.lsy("relay", "configure", "ftp://x")
    ok(rc == 2 and "https:// or http://" in err,
       "relay_configure_refuses_bad_url", err)
    rc, out, err = W.lsy("relay", "configure", "http://127.0.0.1:1",
                         timeout=30)
    ok(rc == 1 and "cannot connect" in err and
       not os.path.exists(os.path.join(W.home, "relay.json")),
       "relay_configure_unreachable_says_so_and_writes_nothing", err)
    rc, out, err = W.lsy("mobile", "pair", "--no-wait")
    ok(rc == 1 and "no relay configured: run loopsy relay configure URL"
       in err, "mobile_pair_without_relay_says_how", err)

    rc, out, err = W.lsy("relay", "configure", R.url())
    ok(rc == 0 and "registered with" in out and "relay link: connected"
       in out, "relay_configure_registers_and_connects", out + err)
    path = os.path.join(W.home, "relay.json")
    j = relay_json()
    ok(mode(path) == 0o600 and j["device_id"] in R.devices and
       j["device_secret"] == R.devices[j["device_id"]] and
       j["url"] == R.url(), "relay_json_is_0600_with_the_registration",
       "mode %o %r" % (mode(path), j))
    left = [f for f in os.listdir(W.home) if f.startswith("relay.json.")
            and f != "relay.json.lock"]
    is_eq(left, [], "relay_json_written_atomically_no_temp_files_left")
    ok(j["device_secret"] not in out + err,
       "relay_configure_prints_no_secret")
    rc, out, err = W.lsy("relay", "configure", R.url())
    ok(rc == 1 and "already registered" in err and "--force" in err,
       "relay_configure_again_needs_force", err)


def t_registration_secret():
    r2 = FakeRelay(registration_secret="s3cret-for-test")
    w2 = World()
    rc, out, err = w2.lsy("relay", "configure", r2.url())
    ok(rc == 1 and "--registration-secret-file" in err,
       "relay_configure_names_the_registration_secret_it_needs", err)
    sf = os.path.join(w2.home, "regsecret")
    with open(sf, "w") as f:
        f.write("s3cret-for-test\n")
    rc, out, err = w2.lsy("relay", "configure", r2.url(host="localhost"),
                          "--registration-secret-file", sf)
    ok(rc == 0 and "no server is running" in out,
       "relay_configure_with_registration_secret_file", out + err)
    # localhost: resolved in the server's resolver thread, every address
    # tried in turn (::1 may come first and be refused).
    w2.lsy("start")
    ok(r2.wait_device(20) and re.search(r"relay: +connected to "
                                        r"http://localhost:",
                                        w2.lsy("status")[1]),
       "relay_link_resolves_a_host_name")
    w2.close()


def t_status_doctor():
    rc, out, err = W.lsy("status")
    ok(re.search(r"relay: +connected to " + re.escape(R.url()), out),
       "status_shows_the_relay_link", out)
    rc, out, err = W.lsy("status", "--json")
    j = json.loads(out).get("relay", {})
    ok(j.get("state") == "connected" and j.get("device") ==
       relay_json()["device_id"], "status_json_has_relay_state", j)
    rc, out, err = W.lsy("doctor")
    ok(re.search(r"^ok +relay +connected to", out, re.M) and
       re.search(r"relay-json.*0600", out),
       "doctor_checks_the_relay_link_and_relay_json", out)
    os.chmod(os.path.join(W.home, "relay.json"), 0o644)
    rc, out, err = W.lsy("doctor")
    ok(re.search(r"^fail +relay-json.*0644", out, re.M) and
       "chmod 600" in out, "doctor_fails_a_readable_relay_json", out)
    os.chmod(os.path.join(W.home, "relay.json"), 0o600)


def t_pair():
    rc, out, err = W.lsy("mobile", "pair", "--no-wait")
    info = dict(l.split(": ", 1) for l in out.splitlines() if ": " in l)
    remember(info)
    link = parse_link(info.get("link", ""))
    ok(rc == 0 and link is not None and re.fullmatch(r"\d{4}",
       info.get("code", "")) and link["base"] == R.url(),
       "mobile_pair_prints_link_and_code_plainly_when_not_a_tty", out + err)
    pk = os.path.join(W.home, "phone.key")
    ok(os.path.exists(pk) and mode(pk) == 0o600 and
       link is not None and link["K"] == server_key_pub(),
       "pair_link_carries_the_servers_public_key_from_phone_key_0600")
    ok(link is not None and info["code"] not in pr_fragment(info["link"]),
       "the_code_is_not_in_the_link")
    rc, out, err = W.lsy("mobile", "pair", "--no-wait", "--json", "--ttl",
                         "120")
    j = json.loads(out)
    remember(j)
    ok(rc == 0 and set(j) == {"link", "code", "expires"} and
       abs(j["expires"] - time.time() - 120) < 30,
       "mobile_pair_json_no_wait", out)
    rc, out, err = W.lsy("mobile", "pair", "--ttl", "5")
    ok(rc == 2 and "--ttl" in err, "mobile_pair_ttl_range_checked", err)

    # Right proof: the phone is stored, the waiting command says so.
    pr = Pairing()
    link = parse_link(pr.info["link"])
    priv = X25519PrivateKey.generate()
    pub = raw_pub(priv)
    pid = "p" + b64u(os.urandom(16))
    wrong = "%04d" % ((int(pr.info["code"]) + 1) % 10000)
    res = R.redeem(link["token"], pid, pub, "Pixel",
                   proof_for(link["S"], link["token"], pub, wrong))
    ok(res is not None and res.get("ok") is False and
       res.get("reason") == "wrong_code" and
       pr.wait_line(r"wrong code \(1 of 5"),
       "redeem_with_a_wrong_code_is_counted", (res, pr.lines))
    # The relay cannot swap in its own key: the proof binds phone_pub.
    other = raw_pub(X25519PrivateKey.generate())
    res = R.redeem(link["token"], pid, other, "Pixel",
                   proof_for(link["S"], link["token"], pub,
                             pr.info["code"]))
    ok(res is not None and res.get("reason") == "wrong_code",
       "redeem_with_a_swapped_phone_key_fails", res)
    res = R.redeem(link["token"], pid, pub, "Pixel\x1b[2J",
                   proof_for(link["S"], link["token"], pub,
                             pr.info["code"]))
    line = pr.wait_line(r"^paired: ")
    rc, err = pr.finish()
    f = os.path.join(W.home, "phones", pid + ".json")
    ok(res is not None and res.get("ok") is True and line ==
       "paired: %s (Pixel[2J)" % pid and rc == 0,
       "redeem_with_the_right_proof_pairs", (res, line, rc, err))
    pj = json.load(open(f)) if os.path.exists(f) else {}
    ok(pj.get("pub") == b64u(pub) and pj.get("grants") == [] and
       mode(f) == 0o600 and mode(os.path.join(W.home, "phones")) == 0o700,
       "phone_file_holds_its_key_0600_in_a_0700_dir", pj)
    res = R.redeem(link["token"], "p" + b64u(os.urandom(16)), pub, "x",
                   proof_for(link["S"], link["token"], pub,
                             pr.info["code"]))
    ok(res is not None and res.get("ok") is False,
       "a_link_works_once", res)

    # Five wrong codes burn a link.
    pr = Pairing()
    link = parse_link(pr.info["link"])
    bad = "%04d" % ((int(pr.info["code"]) + 5) % 10000)
    reasons = []
    for i in range(5):
        res = R.redeem(link["token"], pid, pub, "x",
                       proof_for(link["S"], link["token"], pub, bad))
        reasons.append(res and res.get("reason"))
    res = R.redeem(link["token"], pid, pub, "x",
                   proof_for(link["S"], link["token"], pub,
                             pr.info["code"]))
    rc, err = pr.finish()
    ok(reasons == ["wrong_code"] * 4 + ["burned"] and res is not None and
       res.get("ok") is False and rc == 1 and
       "5 wrong codes: this link is burned" in err,
       "five_wrong_codes_burn_the_link", (reasons, res, rc, err))

    # Ctrl-C stops waiting; the link stays good.
    pr = Pairing()
    link = parse_link(pr.info["link"])
    pr.p.send_signal(signal.SIGINT)
    rc, err = pr.finish()
    pid2 = "p" + b64u(os.urandom(16))
    res = R.redeem(link["token"], pid2, pub, "after ctrl-c",
                   proof_for(link["S"], link["token"], pub,
                             pr.info["code"]))
    ok(rc == 130 and "stopped waiting; the link stays good until" in err
       and res is not None and res.get("ok") is True,
       "ctrl_c_stops_waiting_and_the_link_stays_good", (rc, err, res))
    W.lsy("phone", "revoke", pid2)

    # A link that expires ends the wait.
    R.ttl = 2
    pr = Pairing()
    rc, err = pr.finish(timeout=15)
    R.ttl = None
    link = parse_link(pr.info["link"])
    res = R.redeem(link["token"], pid2, pub, "late",
                   proof_for(link["S"], link["token"], pub,
                             pr.info["code"]))
    ok(rc == 1 and "the link expired" in err and res is not None and
       res.get("ok") is False, "an_expired_link_ends_the_wait_and_pairs_"
       "nothing", (rc, err, res))

    # The relay's expiry is not trusted: never past the ttl asked and a
    # minute; a token good for years is refused.
    R.ttl = 3600
    try:
        rc, out, err = W.lsy("mobile", "pair", "--no-wait", "--json",
                             "--ttl", "120")
        j = json.loads(out) if rc == 0 else {}
        remember(j)
        left = j.get("expires", 0) - time.time()
    finally:
        R.ttl = None
    ok(rc == 0 and 170 <= left <= 181,
       "a_relay_expiry_beyond_the_ttl_asked_is_cut_to_it", (out, err, left))
    R.ttl = 10 * 365 * 86400
    try:
        rc, out, err = W.lsy("mobile", "pair", "--no-wait", "--ttl", "120")
    finally:
        R.ttl = None
    ok(rc == 1 and "pair token is not one" in err and "link" not in out,
       "a_relay_token_good_for_years_is_refused", out + err)

    # Ctrl-C before the relay answers: the request is forgotten, and a
    # late answer finds nothing (the server goes on).
    def issues():
        with R.cond:
            return [m for m in R.control if m.get("t") == "pair-issue"]
    n0 = len(issues())
    R.answer_issue = False
    try:
        p = subprocess.Popen(W.argv("mobile", "pair"), env=W.env,
                             cwd=W.home, stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        with R.cond:
            R.cond.wait_for(lambda: len([m for m in R.control if
                                         m.get("t") == "pair-issue"]) > n0,
                            10)
        asked = issues()[n0:]
        p.send_signal(signal.SIGINT)
        rc = p.wait(10)
    finally:
        R.answer_issue = True
    rc2 = lsy_quick("list-sessions")[0]
    if asked:
        R.send({"t": "pair-token", "id": asked[0]["id"], "token": "x.y",
                "expires": 0})
    rc3 = lsy_quick("list-sessions")[0]
    # 130 once the client's handler is in; killed by the signal itself
    # (-SIGINT) when it comes sooner (a loaded machine): both end it.
    ok(asked and rc in (130, -signal.SIGINT) and rc2 == 0 and rc3 == 0,
       "ctrl_c_before_the_relay_answers_forgets_the_request",
       (asked, rc, rc2, rc3))
    return pid, priv


class Local:
    """A client on the Unix socket that sends frames as a phone would."""

    def __init__(self):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(W.sock)
        self.s.sendall(HELLO)
        recv_frame(self.s)

    def send(self, ftype, payload):
        self.s.sendall(frame(ftype, payload))

    def output_until(self, pred, timeout=10):
        got = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not pred(got):
            f = recv_frame(self.s, max(0.1, deadline - time.monotonic()))
            if f is not None and f[0] == MSG_OUTPUT:
                got += f[1]
        return got


def numbers(out):
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07", "\n",
                  out.decode("utf-8", "replace"))
    return set(re.findall(r"(?m)^\s*(\d+)\s*$", text))


def t_input_history_local():
    """MSG_INPUT and "history" work for any client, here a local one."""
    W.new("lcat", "cat")
    c = Local()
    c.send(MSG_COMMAND, json.dumps({"id": 1, "argv": ["attach-session", "-t",
                                                      "lcat"],
                                    "tty": {"cols": 50, "rows": 12}}))
    c.send(MSG_INPUT, b"abc\x1b")       # a lone ESC: Escape, after a while
    W.wait_screen("lcat", r"abc\^\[")
    c.send(MSG_INPUT, b"\x1b[200~pasted\x1b[201~\r")
    W.wait_screen("lcat", r"pasted")
    ok(True, "msg_input_keys_escape_and_paste_from_a_local_client")
    W.new("lseq", "sh", "-c", "seq 1 200; exec cat", y=10)
    W.wait_screen("lseq", r"^200$")
    c = Local()
    c.send(MSG_COMMAND, json.dumps({"id": 1, "argv": ["attach-session", "-t",
                                                      "lseq"],
                                    "tty": {"cols": 40, "rows": 11},
                                    "scrollback": True, "history": 30}))
    got = c.output_until(lambda g: "200" in numbers(g))
    n = numbers(got)
    ok({"162", "191", "200"} <= n and "161" not in n,
       "history_n_for_a_fresh_local_attach", sorted(n, key=int))
    c = Local()
    c.send(MSG_COMMAND, json.dumps({"id": 1, "argv": ["attach-session", "-t",
                                                      "lseq"],
                                    "tty": {"cols": 40, "rows": 11},
                                    "scrollback": True, "history": 5000}))
    n = numbers(c.output_until(lambda g: "200" in numbers(g)))
    ok({"1", "191", "200"} <= n,
       "history_n_over_the_history_sends_all_of_it", sorted(n, key=int))
    c = Local()
    c.send(MSG_COMMAND, json.dumps({"id": 1, "argv": ["attach-session", "-t",
                                                      "lseq"],
                                    "tty": {"cols": 40, "rows": 11},
                                    "history": 30}))
    n = numbers(c.output_until(lambda g: "200" in numbers(g)))
    ok("191" not in n and "200" in n,
       "history_needs_a_client_with_its_own_scrollback", sorted(n, key=int))


def t_qr():
    """On a terminal: a QR code that scans to the link, and the code."""
    import pty
    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.execve(LOOPSY, [LOOPSY, "-S", W.sock, "mobile", "pair",
                               "--no-wait"], W.env)
        finally:
            os._exit(127)
    out = b""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            d = os.read(fd, 65536)
        except OSError:
            break
        if not d:
            break
        out += d
    os.waitpid(pid, 0)
    os.close(fd)
    text = out.decode("utf-8", "replace")
    m = re.search(r"^  (https?://\S+)\r?$", text, re.M)
    code = re.search(r"Code: (\d) (\d) (\d) (\d) \u2014 type it on the "
                     r"phone; it is shown only here", text)
    ok(m is not None and code is not None and parse_link(m.group(1)),
       "mobile_pair_on_a_terminal_shows_link_and_code", text[-600:])
    if m is not None and code is not None:
        remember({"link": m.group(1), "code": "".join(code.groups())})
    if shutil.which("zbarimg") is None:
        skip("mobile_pair_qr_code_scans_to_the_link",
             "zbarimg is not installed (zbar-tools)")
        return
    rows = []
    for line in text.splitlines():
        q = re.search(r"\x1b\[30;107m(.*)\x1b\[0m", line)
        if q is not None:
            rows.append([c in "\u2588\u2580" for c in q.group(1)])
            rows.append([c in "\u2588\u2584" for c in q.group(1)])
    scale = 6
    pbm = os.path.join(W.dir, "qr.pbm")
    with open(pbm, "w") as f:
        f.write("P1\n%d %d\n" % (len(rows[0]) * scale, len(rows) * scale))
        for r in rows:
            line = "".join(("1" if v else "0") * scale for v in r)
            f.write((line + "\n") * scale)
    z = subprocess.run(["zbarimg", "-q", "--raw", pbm], capture_output=True,
                       text=True, timeout=30)
    is_eq(z.stdout.strip(), m.group(1) if m else None,
          "mobile_pair_qr_code_scans_to_the_link")


def pr_fragment(link):
    return link.split("#", 1)[1]


def drain(chan):
    """Take what a channel has queued now; return its output bytes."""
    out = b""
    while True:
        try:
            ev = chan.relay.chan(chan.ch).get_nowait()
        except queue.Empty:
            break
        if ev[0] == "close":
            chan.closed = ev
            break
        chan.plain += chan.noise.decrypt(ev[1])
    while True:
        if len(chan.plain) < 5:
            break
        n = struct.unpack(">I", chan.plain[:4])[0]
        if len(chan.plain) < 4 + n:
            break
        if chan.plain[4] == MSG_OUTPUT:
            out += chan.plain[5:4 + n]
        chan.plain = chan.plain[4 + n:]
    return out


def t_channels(pid, priv):
    ch = PhoneChannel(R, "p" + b64u(os.urandom(16)),
                      X25519PrivateKey.generate(), server_key_pub())
    ok(not ch.connect() and ch.closed[1] == 4005 and
       "pair it again" in ch.closed[2],
       "channel_from_an_unknown_phone_closes_4005", ch.closed)
    if not HAVE_NOISE:
        for n in ("handshake_then_hello_and_list_sessions",
                  "wrong_static_key_fails_the_handshake_4005",
                  "msg_input_typed_into_cat_reaches_it",
                  "history_n_on_a_fresh_attach",
                  "pause_holds_output_resume_sends_it",
                  "a_tampered_message_closes_4005",
                  "admin_commands_refused_from_a_phone"):
            skip(n, "common/noise.c is not merged into this tree yet")
        return None
    ch = PhoneChannel(R, pid, X25519PrivateKey.generate(), server_key_pub())
    ok(not ch.connect() and ch.closed[1] == 4005,
       "wrong_static_key_fails_the_handshake_4005", ch.closed)
    W.new("sh1", "/bin/sh")
    # Bytes of the phone's old session reach a new channel before its
    # handshake (the laptop's link was replaced): dropped, not a 4005.
    c = PhoneChannel(R, pid, priv, server_key_pub())
    c.ch = R.open_channel(pid)
    for n in (100, 17, 49, 47):
        R.send_binary(c.ch, os.urandom(n))
    c.noise = NoiseKK(priv, server_key_pub())
    R.send_binary(c.ch, c.noise.message1())
    ev = R.chan(c.ch).get(timeout=10)
    ok(ev[0] != "close" and c.noise.read_message2(ev[1]) is None and
       c.hello(), "stale_messages_before_the_handshake_are_dropped", ev)
    c = PhoneChannel(R, pid, priv, server_key_pub())
    ok(c.connect() and c.hello(), "handshake_then_hello")
    r, out = c.command(["list-sessions", "--json"])
    ok(r is not None and r.get("ok") and
       "sh1" in [s["name"] for s in json.loads(out)],
       "handshake_then_hello_and_list_sessions", (r, out))

    # Past NOISE_REKEY_EVERY messages from the phone: both sides rekey.
    for i in range(4200):
        c.send(MSG_INPUT, b"x")     # not attached: read, then ignored
    r, out = c.command(["has-session", "-t", "sh1"], cid=9)
    ok(r is not None and r.get("ok"), "channel_survives_a_rekey", r)

    # MSG_INPUT into cat, through an attach with a terminal size.
    W.new("cat1", "cat")
    a = PhoneChannel(R, pid, priv, server_key_pub())
    a.connect()
    a.hello()
    a.send(MSG_COMMAND, json.dumps({"id": 1, "argv": ["attach-session",
                                                      "-t", "cat1"],
                                    "tty": {"cols": 60, "rows": 20},
                                    "scrollback": True,
                                    "resume": "r" * 20}))
    f = a.recv()
    ok(f is not None and f[0] == MSG_REPLY and json.loads(f[1])["ok"],
       "attach_over_a_channel", f)
    a.send(MSG_INPUT, b"typed-by-phone\r")
    W.wait_screen("cat1", r"typed-by-phone\n(.*\n)?typed-by-phone")
    ok(True, "msg_input_typed_into_cat_reaches_it")
    a.send(MSG_INPUT, b"\x1b[A")    # an arrow key: parsed, encoded again
    W.wait_screen("cat1", r"\^\[\[A|\x1b\[A")
    ok(True, "msg_input_escape_sequences_are_keys")

    # History: a fresh attach with "history": N gets N lines first.
    W.new("seq1", "sh", "-c", "seq 1 300; exec cat", y=10)
    W.wait_screen("seq1", r"^300$")
    h = PhoneChannel(R, pid, priv, server_key_pub())
    h.connect()
    h.hello()
    h.send(MSG_COMMAND, json.dumps({"id": 1, "argv": ["attach-session",
                                                      "-t", "seq1"],
                                    "tty": {"cols": 40, "rows": 11},
                                    "scrollback": True, "history": 50}))
    got = b""
    nums = set()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "300" not in nums:
        f = h.recv(1)
        if f is not None and f[0] == MSG_OUTPUT:
            got += f[1]
            text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07", "\n",
                          got.decode("utf-8", "replace"))
            nums = set(re.findall(r"(?m)^\s*(\d+)\s*$", text))
    ok({"242", "260", "291", "300"} <= nums and "241" not in nums and
       "1" not in nums, "history_n_on_a_fresh_attach", sorted(nums, key=int))

    # Pause: nothing more on that channel until resume.  What the server
    # sent before it took the pause comes before the reply on channel c.
    R.send({"t": "pause", "ch": a.ch})
    c.command(["has-session", "-t", "cat1"], cid=5)
    seen = drain(a)
    W.lsy("send-keys", "-t", "cat1", "-l", "while-paused\r")
    W.wait_screen("cat1", r"while-paused")
    held = []
    try:
        held.append(R.chan(a.ch).get(timeout=1.0))
    except queue.Empty:
        pass
    ok(held == [], "pause_holds_output", held)
    for ev in held:
        R.chan(a.ch).put(ev)    # back in order, for after the resume
    R.send({"t": "resume", "ch": a.ch})
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and b"while-paused" not in seen:
        f = a.recv(1)
        if f is not None and f[0] == MSG_OUTPUT:
            seen += f[1]
    ok(b"while-paused" in seen, "pause_holds_output_resume_sends_it")

    # Admin commands are refused from a phone.
    bad = []
    for argv in (["phone-list"], ["relay-status"], ["config-reload"],
                 ["mobile-pair-wait"], ["phone-grant", pid, "auto-approve"],
                 ["kill-server"]):
        r, out = c.command(argv, cid=7)
        if r is None or r.get("ok") or "only on this machine" not in \
                r["error"]["message"]:
            bad.append((argv, r))
    is_eq(bad, [], "admin_commands_refused_from_a_phone")

    # A tampered message ends the channel.
    t = PhoneChannel(R, pid, priv, server_key_pub())
    t.connect()
    t.send_raw(b"\x00" * 40)
    try:
        while t.event(10):
            pass
    except Exception:
        pass
    ok(t.closed is not None and t.closed[1] == 4005 and
       "did not decrypt" in t.closed[2], "a_tampered_message_closes_4005",
       t.closed)
    return c, a


def t_laptop_errors(pid, priv):
    """A failure on the laptop's side closes with 4006 and its cause (the
    phone retries); 4005 and "pair it again" stay for a real key failure."""
    pub = server_key_pub()

    def closed_with(phone, key=None):
        ch = PhoneChannel(R, phone, key or X25519PrivateKey.generate(), pub)
        return None if ch.connect() else ch.closed

    bad = "p" + b64u(os.urandom(16))
    f = os.path.join(W.home, "phones", bad + ".json")
    with open(f, "w") as fh:
        fh.write("{not json")
    c = closed_with(bad)
    os.unlink(f)
    ok(c is not None and c[1] == 4006 and c[2].startswith(
        "the laptop cannot read this phone's file: phones/%s.json: not a "
        "phone file" % bad) and W.home not in c[2] and
       len(c[2].encode()) <= 123,
       "a_corrupt_phone_file_closes_4006_with_the_cause", c)
    pk = os.path.join(W.home, "phone.key")
    with open(pk, "rb") as fh:
        keep = fh.read()
    try:
        with open(pk, "wb") as fh:
            fh.write(b"short")
        c = closed_with(pid, priv)
        ok(c is not None and c[1] == 4006 and c[2].startswith(
            "the laptop cannot read its phone key: phone.key is not a "
            "32-byte key") and "pair it again" not in c[2] and
           len(c[2].encode()) <= 123,
           "a_bad_phone_key_closes_4006_not_pair_again", c)
        os.unlink(pk)
        c = closed_with(pid, priv)
        ok(c is not None and c[1] == 4006 and c[2].startswith(
            "the laptop cannot read its phone key: phone.key: no key yet"),
           "a_missing_phone_key_closes_4006", c)
    finally:
        with open(pk, "wb") as fh:
            fh.write(keep)
        os.chmod(pk, 0o600)
    ch = PhoneChannel(R, pid, priv, pub)
    ok(not HAVE_NOISE or (ch.connect() and ch.hello()),
       "the_phone_connects_again_once_the_key_is_back", ch.closed)
    c = closed_with("p" + b64u(os.urandom(16)))
    ok(c is not None and c[1] == 4005 and c[2] ==
       "this phone's key does not match; pair it again",
       "an_unknown_phone_still_closes_4005_pair_again", c)


def t_launch_local(pid):
    rc, out, err = W.lsy("launch", "claude", "--auto", "-s", "own")
    ok(rc == 0 and out.strip() == "own", "launch_auto_for_the_owner",
       out + err)
    W.wait_screen("own", r"claude-args: --dangerously-skip-permissions")
    rc, out, err = W.lsy("launch", "--list", "--json")
    j = json.loads(out) if rc == 0 else {}
    ok([a["name"] for a in j.get("agents", [])] ==
       ["shell", "claude", "codex", "gemini", "opencode"] and
       j["agents"][1]["granted"] is True and j["agents"][0]["auto"] is None,
       "launch_list_json_for_the_owner", j)
    rc, out, err = W.lsy("launch", "nosuch")
    ok(rc == 1 and "unknown agent nosuch" in err, "launch_unknown_agent",
       err)
    rc, out, err = W.lsy("launch", "shell", "--json", "-x", "100", "-y",
                         "30")
    j = json.loads(out) if rc == 0 else {}
    ok(j.get("agent") == "shell" and j.get("auto") is False and
       W.fmt(j["name"], "#{session_width}x#{session_height}") == "100x30",
       "launch_a_shell_detached_with_a_size", (out, err))
    rc, out, err = W.lsy("phone", "grant", pid, "sudo")
    ok(rc == 2 and "unknown grant" in err, "phone_grant_unknown_refused",
       err)
    rc, out, err = W.lsy("phone", "grant", pid, "auto-approve")
    rc2, out2, err2 = W.lsy("phone", "revoke-grant", pid, "auto-approve")
    ok(rc == 0 and "granted auto-approve" in out and rc2 == 0 and
       "took back auto-approve" in out2, "phone_grant_and_revoke_grant",
       out + err + out2 + err2)


def t_launch(pid, priv):
    if not HAVE_NOISE:
        for n in ("launch_auto_refused_without_grant",
                  "launch_auto_allowed_with_grant",
                  "launch_list_json_for_the_picker"):
            skip(n, "common/noise.c is not merged into this tree yet")
        return
    c = PhoneChannel(R, pid, priv, server_key_pub())
    c.connect()
    c.hello()
    r, out = c.command(["launch", "claude", "--auto"])
    ok(r is not None and not r["ok"] and
       ("loopsy phone grant %s auto-approve" % pid) in
       r["error"]["message"], "launch_auto_refused_without_grant", r)
    rc, out, err = W.lsy("phone", "grant", pid, "auto-approve")
    ok(rc == 0 and "granted auto-approve" in out, "phone_grant", out + err)
    r, out = c.command(["launch", "claude", "--auto", "--json"], cid=2)
    name = json.loads(out)["name"] if r and r["ok"] else None
    ok(name is not None, "launch_auto_allowed_with_grant", (r, out))
    if name:
        W.wait_screen(name, r"claude-args: --dangerously-skip-permissions")
    r, out = c.command(["launch", "opencode", "--auto"], cid=3)
    ok(r is not None and not r["ok"] and "no skip-permission flag" in
       r["error"]["message"], "launch_opencode_auto_has_no_flag", r)
    r, out = c.command(["launch", "gemini"], cid=4)
    ok(r is not None and not r["ok"] and r["error"]["message"] ==
       "gemini is not installed on this machine",
       "launch_names_an_agent_not_installed", r)
    r, out = c.command(["launch", "--list", "--json"], cid=5)
    j = json.loads(out) if r and r["ok"] else {}
    agents = {a["name"]: a for a in j.get("agents", [])}
    ok(agents.get("claude", {}).get("installed") is True and
       agents["claude"]["auto"] == "--dangerously-skip-permissions" and
       agents["claude"]["granted"] is True and
       agents["opencode"]["auto"] is None and
       j.get("commands") == [{"name": "hello", "command": "echo hi-there; "
                              "exec cat"}],
       "launch_list_json_for_the_picker", j)
    r, out = c.command(["launch", "hello", "-s", "hs"], cid=6)
    ok(r is not None and r["ok"] and out.strip() == "hs",
       "launch_a_custom_command", (r, out))
    W.wait_screen("hs", r"hi-there")
    rc, out, err = W.lsy("phone", "revoke-grant", pid, "auto-approve")
    r, out = c.command(["launch", "claude", "--auto"], cid=8)
    ok(rc == 0 and r is not None and not r["ok"],
       "launch_auto_refused_after_revoke_grant", r)


def t_list_revoke(pid, chans):
    R.phones = [{"id": pid, "label": "Pixel", "created": 1,
                 "online": True},
                {"id": "p" + b64u(os.urandom(16)), "label": "old",
                 "created": 1, "online": False}]
    rc, out, err = W.lsy("phone", "list", "--json")
    j = {p["id"]: p for p in json.loads(out)} if rc == 0 else {}
    ok(pid in j and j[pid]["label"] == "Pixel[2J" and
       j[pid]["atRelay"] is True and
       (not HAVE_NOISE or j[pid]["online"] >= 1),
       "phone_list_json_shows_online_channels_and_the_relays_view", j)
    rc, out, err = W.lsy("phone", "list")
    ok(rc == 0 and re.search(r"^%s +Pixel\[2J .* yes +-$" % pid, out, re.M)
       and "phones the relay lists that are not paired here: 1" in out,
       "phone_list_table", out)
    rc, out, err = W.lsy("phone", "revoke", pid)
    ok(rc == 0 and "revoked" in out and "relay was told" in out and
       not os.path.exists(os.path.join(W.home, "phones", pid + ".json")),
       "phone_revoke_removes_the_file_and_tells_the_relay", out + err)
    ok(R.wait_control(lambda m: m.get("t") == "revoke" and
                      m.get("phone") == pid),
       "relay_receives_revoke")
    if chans is not None:
        c = chans[0]
        try:
            while c.event(10):
                pass
        except Exception:
            pass
        ok(c.closed is not None and c.closed[1] == 4003,
           "revoke_closes_its_channels_at_once", c.closed)
    rc, out, err = W.lsy("phone", "revoke", pid)
    ok(rc == 1 and "no phone" in err, "phone_revoke_unknown_says_so", err)


def t_revoke_offline():
    pid, priv = new_phone("offline")
    R.stop()
    wait_state("retrying")
    rc, out, err = W.lsy("phone", "revoke", pid)
    ok(rc == 0 and "will be told when the link is back" in out and
       pid in relay_json().get("pending_revokes", []),
       "revoke_while_the_relay_is_down_is_kept_pending", out + err)
    st = poll_until(lambda: (lambda s: s if s.get("failures", 0) >= 1
                                     else None)(relay_state()), 15) or {}
    ok(st.get("failures", 0) >= 1 and "retrying in" in st.get("text", "")
       and st.get("error"), "status_shows_retrying_with_the_last_error", st)
    R.start()
    ok(R.wait_device(40), "link_reconnects_after_the_relay_restarts")
    ok(R.wait_control(lambda m: m.get("t") == "revoke" and
                      m.get("phone") == pid, 15) and
       poll_until(lambda: pid not in relay_json().get("pending_revokes",
                                                      []), 10),
       "pending_revoke_sent_on_reconnect")
    rc, out, err = W.lsy("mobile", "pair", "--no-wait")
    ok(rc == 0, "mobile_pair_after_reconnect", err)


def lock_relay_json(w):
    """Hold relay.json's lock as loopsy relay configure does."""
    f = open(os.path.join(w.home, "relay.json.lock"), "a+")
    fcntl.flock(f, fcntl.LOCK_EX)
    return f


def lsy_quick(*args, timeout=3):
    """A command that must be answered within timeout seconds."""
    try:
        return W.lsy(*args, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, "", "no answer within %d s" % timeout


def pending():
    return relay_json().get("pending_revokes", [])


def t_relay_json_lock():
    """The server never waits for relay.json's lock in its event loop:
    its writes wait on a timer until the lock is free."""
    pa, _ = new_phone("lock a")
    R.stop()
    wait_state("retrying")
    lk = lock_relay_json(W)
    try:
        rc, out, err = lsy_quick("phone", "revoke", pa, timeout=5)
        rc2, out2, err2 = lsy_quick("list-sessions")
        ok(rc == 0 and "will be told when the link is back" in out and
           rc2 == 0, "the_server_answers_while_relay_json_is_locked_revoke",
           (rc, out, err, rc2, err2))
        ok(pa not in pending(), "a_pending_revoke_waits_for_the_lock")
    finally:
        lk.close()
    ok(poll_until(lambda: pa in pending(), 5),
       "the_pending_revoke_lands_once_the_lock_is_free", relay_json())

    # The relay back, told of the revoke but not answering; then it says
    # revoked (for pa, and for pb, whose file going shows it was read).
    R.answer_revoke = False
    try:
        R.start()
        R.wait_device(40)
        wait_state("connected")
        R.wait_control(lambda m: m.get("t") == "revoke" and
                       m.get("phone") == pa, 15)
        pb, _ = new_phone("lock b")
        lk = lock_relay_json(W)
        try:
            R.send({"t": "revoked", "phone": pa})
            R.send({"t": "revoked", "phone": pb})
            gone = poll_until(lambda: not os.path.exists(
                os.path.join(W.home, "phones", pb + ".json")), 5)
            rc, out, err = lsy_quick("list-sessions")
            ok(gone and rc == 0 and pa in pending(),
               "the_server_answers_while_relay_json_is_locked_relay_revoked",
               (gone, rc, err, pending()))
        finally:
            lk.close()
        ok(poll_until(lambda: pa not in pending(), 5),
           "the_revoke_told_is_cleared_once_the_lock_is_free", relay_json())
    finally:
        R.answer_revoke = True


def t_configure_lock():
    """loopsy relay configure does not hold relay.json's lock while it
    registers, and does not overwrite a relay.json changed meanwhile."""
    r2 = FakeRelay()
    w2 = World()
    lockpath = os.path.join(w2.home, "relay.json.lock")

    def configure(*extra):
        return subprocess.Popen(w2.argv("relay", "configure", r2.url(),
                                        *extra),
                                env=w2.env, cwd=w2.home,
                                stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    def lock_free():
        with open(lockpath, "a+") as f:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            return True

    r2.register_gate = threading.Event()
    p = configure()
    with r2.cond:
        waiting = r2.cond.wait_for(lambda: r2.register_waiting >= 1, 15)
    free = waiting and lock_free()
    r2.register_gate.set()
    out, err = p.communicate(timeout=30)
    ok(waiting and free and p.returncode == 0 and
       relay_json_of(w2).get("device_id") in r2.devices,
       "relay_configure_does_not_hold_the_lock_while_registering",
       (waiting, free, p.returncode, out, err))

    r2.register_gate = threading.Event()
    p = configure("--force")
    with r2.cond:
        r2.cond.wait_for(lambda: r2.register_waiting >= 2, 15)
    before = relay_json_of(w2)
    other = dict(before, device_id="d" + b64u(os.urandom(16)))
    with open(os.path.join(w2.home, "relay.json"), "w") as f:
        json.dump(other, f)
    os.chmod(os.path.join(w2.home, "relay.json"), 0o600)
    r2.register_gate.set()
    out, err = p.communicate(timeout=30)
    ok(p.returncode == 1 and "changed while this talked to the relay" in
       err and relay_json_of(w2) == other,
       "relay_configure_does_not_overwrite_a_relay_json_changed_meanwhile",
       (p.returncode, out, err))
    w2.close()


# What a terminal must never get from a relay or a phone.
UNSAFE = ("\x1b", "\x07", "\x7f", "\r", "\x9b", "\x85", "\ufffd", "\u202e")
EVIL = (b'{"error":{"code":"bad\\u001b[2J","message":"no\\u001b]0;pwned'
        b'\\u0007 \\u001b[31mway\\u009b1m\\r\\n\\u007f bad \xff\xc0\xaf '
        b'bytes \\u202eevil"}}')


def unsafe_in(text):
    return [c for c in UNSAFE if c in text]


def t_relay_text():
    """A relay's error messages reach the terminal cleaned: valid UTF-8,
    no control characters."""
    r3 = FakeRelay()
    w3 = World()
    r3.refuse_body = EVIL
    rc, out, err = w3.lsy("relay", "configure", r3.url())
    ok(rc == 1 and "the relay answered 400: no]0;pwned [31mway1m bad ??? "
       "bytes evil" in err and not unsafe_in(err),
       "relay_configure_cleans_the_relays_error_message", err)
    r3.refuse_body = None
    rc, out, err = w3.lsy("relay", "configure", r3.url())
    r3.refuse_body = EVIL
    w3.lsy("start")
    out = poll_until(lambda: (lambda o: o if "pwned" in o else None)(
        w3.lsy("relay", "status")[1]), 20) or ""
    ok("the relay refused the link: 503: no]0;pwned [31mway1m bad ??? "
       "bytes evil" in out and not unsafe_in(out),
       "relay_status_cleans_the_relays_error_message", out)
    w3.close()


def t_labels():
    """A phone's label is cleaned of C0, C1 and invalid UTF-8 before it
    is stored or printed."""
    pr = Pairing()
    link = parse_link(pr.info["link"])
    priv = X25519PrivateKey.generate()
    pub = raw_pub(priv)
    pid = "p" + b64u(os.urandom(16))
    res = R.redeem(link["token"], pid, pub, "Ev\u009b2Jil\x1b[1m\u0085 "
                   "\u202ePhone \u00e9",
                   proof_for(link["S"], link["token"], pub, pr.info["code"]))
    line = pr.wait_line(r"^paired: ")
    pr.finish()
    f = os.path.join(W.home, "phones", pid + ".json")
    pj = json.load(open(f)) if os.path.exists(f) else {}
    ok(res is not None and res.get("ok") and
       line == "paired: %s (Ev2Jil[1m Phone \u00e9)" % pid and
       pj.get("label") == "Ev2Jil[1m Phone \u00e9",
       "a_label_with_c1_and_c0_controls_is_stored_and_shown_clean",
       (res, line, pj))
    # A file from before (or edited by hand): cleaned when read.
    with open(f, "rb") as fh:
        raw = fh.read()
    raw = re.sub(rb'"label":\s*"[^"]*"', b'"label": "Old\xc2\x9b31m\xff\xfe'
                 b'\xc0\x80phone\xe2\x80\xae"', raw)
    with open(f, "wb") as fh:
        fh.write(raw)
    rc, out, err = W.lsy("phone", "list")
    ok(rc == 0 and re.search(r"^%s +Old31m\?\?\?\?phone " % pid, out, re.M)
       and not unsafe_in(out), "phone_list_cleans_a_label_from_an_old_file",
       out)
    rc, out, err = W.lsy("phone", "list", "--json")
    j = {p["id"]: p for p in json.loads(out)} if rc == 0 else {}
    ok(j.get(pid, {}).get("label") == "Old31m????phone",
       "phone_list_json_cleans_a_label_from_an_old_file", j.get(pid))
    W.lsy("phone", "revoke", pid)


def t_relay_down_pair():
    R.stop()
    wait_state("retrying")
    rc, out, err = W.lsy("mobile", "pair", "--no-wait")
    ok(rc == 1 and "the relay is not connected: " in err,
       "mobile_pair_with_the_relay_down_says_so", err)
    R.start()
    R.wait_device(40)
    wait_state("connected")


def t_secrets():
    logs = ""
    for n in ("logs/server.log", "logs/audit.jsonl"):
        p = os.path.join(W.home, n)
        if os.path.exists(p):
            logs += open(p, errors="replace").read()
    sec = relay_json()["device_secret"]
    ok(sec not in logs, "device_secret_not_in_logs")
    ok(not any(s in logs for s in SEEN_SECRETS),
       "pair_secrets_and_codes_not_in_logs")
    ok(('"actor":"local:%d","op":"phone-revoke"' % os.getuid()) in logs and
       (not HAVE_NOISE or ('"op":"phone-grant"' in logs and
                           '"op":"launch"' in logs)) and
       '"actor":"relay","op":"phone-pair"' in logs,
       "audit_lines_for_pair_revoke_grant_launch", logs[-2000:])


SEEN_SECRETS = []


def remember(info):
    """Keep a link's secret parts and its code, to look for in the logs."""
    link = parse_link(info.get("link", ""))
    if link is not None:
        SEEN_SECRETS.append(b64u(link["S"]))
        SEEN_SECRETS.append('"%s"' % info["code"])
        SEEN_SECRETS.append("code: %s" % info["code"])


def t_forget():
    rc, out, err = W.lsy("relay", "forget")
    ok(rc == 0 and "forgot the registration" in out and
       not os.path.exists(os.path.join(W.home, "relay.json")),
       "relay_forget_removes_relay_json", out + err)
    ok(poll_until(lambda: not R.connected(), 10) and
       relay_state().get("configured") is False,
       "relay_forget_drops_the_link")
    rc, out, err = W.lsy("status")
    ok("not configured" in out, "status_says_not_configured", out)


def t_tls():
    d = os.path.join(W.dir, "tls")
    os.mkdir(d)
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                        "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                        "-days", "2", "-subj", "/CN=127.0.0.1", "-addext",
                        "subjectAltName=IP:127.0.0.1", "-keyout", key,
                        "-out", cert], capture_output=True)
    if r.returncode != 0:
        skip("relay_https_untrusted_certificate_names_its_fingerprint",
             "openssl cannot make a certificate")
        return
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    tr = FakeRelay(tls=ctx)
    fp = subprocess.run(["openssl", "x509", "-in", cert, "-noout",
                         "-fingerprint", "-sha256"], capture_output=True,
                        text=True).stdout.strip().split("=", 1)[1]
    w = World()
    rc, out, err = w.lsy("relay", "configure", tr.url())
    ok(rc == 1 and "not trusted" in err and ("--fingerprint sha256:" + fp)
       in err, "relay_https_untrusted_certificate_names_its_fingerprint",
       err)
    rc, out, err = w.lsy("relay", "configure", tr.url(), "--fingerprint",
                         "sha256:" + fp)
    ok(rc == 0 and relay_json_of(w).get("fingerprint") == "sha256:" + fp,
       "relay_https_with_a_pinned_fingerprint", out + err)
    w.lsy("start")
    ok(tr.wait_device(20), "relay_link_over_tls_with_the_pin")
    bad = "sha256:" + ":".join(["AB"] * 32)
    rc, out, err = w.lsy("relay", "configure", tr.url(), "--fingerprint",
                         bad)
    ok(rc == 1 and "certificate has changed" in err,
       "relay_https_wrong_pin_refused", err)
    w.close()
    # The system's CAs: SSL_CERT_FILE makes this certificate one of them.
    w = World()
    w.env["SSL_CERT_FILE"] = cert
    rc, out, err = w.lsy("relay", "configure", tr.url(host="localhost"))
    ok(rc == 1 and "not trusted for localhost" in err,
       "relay_https_checks_the_host_name", err)
    rc, out, err = w.lsy("relay", "configure", tr.url(host="127.0.0.1"))
    ok(rc == 0 and "fingerprint" not in relay_json_of(w),
       "relay_https_verified_by_the_ca_store", out + err)
    w.lsy("start")
    ok(tr.wait_device(20) and re.search(r"relay: +connected to https://",
                                        w.lsy("status")[1]),
       "relay_link_over_tls_verified_by_the_ca_store")
    w.close()


def relay_json_of(w):
    p = os.path.join(w.home, "relay.json")
    return json.load(open(p)) if os.path.exists(p) else {}


def main():
    global W, R
    if not HAVE_CRYPTO:
        skip_all("python3 has no cryptography module (python3-"
                 "cryptography)")
    R = FakeRelay()
    W = World(config="phone: { commands: { hello: \"echo hi-there; exec "
              "cat\" } }\n")
    bindir = os.path.join(W.home, "bin")
    os.mkdir(bindir)
    with open(os.path.join(bindir, "claude"), "w") as f:
        f.write("#!/bin/sh\necho claude-args: \"$@\"\nexec cat\n")
    os.chmod(os.path.join(bindir, "claude"), 0o755)
    W.env["PATH"] = bindir + ":/usr/bin:/bin"
    rc, out, err = W.lsy("start")
    if rc != 0:
        raise RuntimeError("start: " + err)
    run_test(t_configure, "configure")
    run_test(t_registration_secret, "registration secret")
    run_test(t_status_doctor, "status and doctor")
    run_test(t_qr, "qr")
    run_test(t_input_history_local, "input and history")
    pid = priv = None
    try:
        pid, priv = t_pair()
    except Exception as e:
        import traceback
        ok(False, "pair", traceback.format_exc())
    chans = None
    if pid is not None:
        try:
            chans = t_channels(pid, priv)
        except Exception:
            import traceback
            ok(False, "channels", traceback.format_exc())
        run_test(t_labels, "labels")
        run_test(lambda: t_laptop_errors(pid, priv), "laptop errors")
        run_test(lambda: t_launch_local(pid), "launch here")
        run_test(lambda: t_launch(pid, priv), "launch")
        run_test(lambda: t_list_revoke(pid, chans), "list and revoke")
    run_test(t_revoke_offline, "revoke offline")
    run_test(t_relay_json_lock, "relay.json locked")
    run_test(t_configure_lock, "configure and the lock")
    run_test(t_relay_text, "the relay's text")
    run_test(t_relay_down_pair, "relay down")
    run_test(t_secrets, "secrets")
    run_test(t_forget, "forget")
    run_test(t_tls, "tls")
    done()


if __name__ == "__main__":
    main()

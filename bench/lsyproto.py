# bench/lsyproto.py: what the benchmarks share: where the loopsy binary is,
# a client that keeps one socket open and speaks loopsy's protocol (frames
# of a 4-byte big-endian length, a type byte and a payload), reading a
# command's output and reply from any such frames, percentiles.
import json
import os
import socket
import struct

BENCH = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(BENCH)
LOOPSY = os.environ.get("LOOPSY") or os.path.join(TOP, "loopsy")


def frame(t, payload):
    payload = payload.encode() if isinstance(payload, str) else payload
    return struct.pack(">I", len(payload) + 1) + bytes([t]) + payload


class Conn:
    """One socket, many commands."""

    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(path)
        self.buf = b""
        self.id = 0
        self.s.sendall(frame(1, json.dumps({"proto": [1, 1]})))

    def _frame(self):
        while True:
            if len(self.buf) >= 4:
                n = struct.unpack(">I", self.buf[:4])[0]
                if len(self.buf) >= 4 + n:
                    body = self.buf[4:4 + n]
                    self.buf = self.buf[4 + n:]
                    return body[0], body[1:]
            d = self.s.recv(65536)
            if not d:
                raise EOFError("server closed the connection")
            self.buf += d

    def run(self, argv, cwd=None):
        """Run a command; its stdout, or RuntimeError if it failed."""
        self.id += 1
        cmd = {"id": self.id, "argv": argv}
        if cwd is not None:
            cmd["cwd"] = cwd
        self.s.sendall(frame(2, json.dumps(cmd)))
        out, r = read_reply(self._frame, self.id)
        if r["exit"] != 0:
            raise RuntimeError("%s: %s" % (argv, r.get("error")))
        return out


def read_reply(next_frame, want):
    """Frames from next_frame() up to the reply to command want: (stdout
    bytes, the reply)."""
    out = b""
    while True:
        t, p = next_frame()
        if t == 11:
            out += p
        elif t == 3:
            r = json.loads(p)
            if r.get("id") == want:
                return out, r


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]

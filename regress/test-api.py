#!/usr/bin/python3
# The original Loopsy's HTTP API under /api/v1, driven with curl against a
# server listening on 127.0.0.1: every route's answer and its errors in the
# original's JSON shapes and numeric codes, bearer auth (no key, wrong key,
# no key in URLs), the policies the commands behind the routes enforce
# (denylist, allowedPaths, maxFileSize, maxConcurrent), rate limits per key
# with Retry-After, server-sent events in order, context TTLs, push and pull
# with SHA-256 checks; a push never reads its file back nor leaves a
# temporary file when cut short.
import hashlib
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import *  # noqa

require("curl")

OTHER_KEY = "0123456789abcdef" * 4


class Host(PeerHost):
    """A PeerHost with the limits a test asks for, and curl to reach it."""

    def __init__(self, limits="execute: 0, transfer: 0, context: 0",
                 concurrent=10, max_file=4000000):
        def edit(text):
            text = re.sub(r"rateLimits:.*", "rateLimits: { %s }" % limits,
                          text)
            text = text.replace("maxConcurrent: 10", "maxConcurrent: %d" %
                                concurrent)
            text = text.replace("maxFileSize: 0", "maxFileSize: %d" %
                                max_file)
            return text.replace("allowedKeys: {}",
                                "allowedKeys: { other: %s }" % OTHER_KEY)
        PeerHost.__init__(self, edit=edit)
        if self.port is None:
            raise RuntimeError("not listening: %r" % self.status())
        self.home = self.w.home
        self.cert = os.path.join(self.home, "tls", "cert.pem")
        self.n = 0

    def url(self, path):
        return "https://127.0.0.1:%d/api/v1%s" % (self.port, path)

    def curl_argv(self, method, path, key=True, data=None, form=(),
                  extra=()):
        a = ["curl", "-sS", "--cacert", self.cert, "-X", method]
        if key is True:
            key = self.key
        if key:
            a += ["-H", "Authorization: Bearer " + key]
        if data is not None:
            if not isinstance(data, (str, bytes)):
                data = json.dumps(data)
            self.n += 1
            f = os.path.join(self.w.tmp, "d%d" % self.n)
            write(f, data.encode() if isinstance(data, str) else data)
            a += ["-H", "Content-Type: application/json",
                  "--data-binary", "@" + f]
        for f in form:
            a += ["-F", f]
        return a + list(extra) + [self.url(path)]

    def curl(self, method, path, key=True, data=None, form=(), extra=()):
        """(status, headers, body) of one request."""
        self.n += 1
        hdr = os.path.join(self.w.tmp, "h%d" % self.n)
        body = os.path.join(self.w.tmp, "b%d" % self.n)
        a = self.curl_argv(method, path, key, data, form, extra)
        p = subprocess.run(a[:-1] + ["-D", hdr, "-o", body, "-w",
                           "%{http_code}", a[-1]], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
        status = int(p.stdout or 0)
        heads = {}
        if os.path.exists(hdr):
            with open(hdr, "rb") as f:
                # the last block: a push may get "100 Continue" first
                block = f.read().decode("latin-1").split("\r\n\r\n")
                block = [b for b in block if b.strip()]
                for line in block[-1].split("\r\n")[1:] if block else []:
                    k, _, v = line.partition(":")
                    heads[k.strip().lower()] = v.strip()
        data = b""
        if os.path.exists(body):
            with open(body, "rb") as f:
                data = f.read()
        return status, heads, data

    def json(self, method, path, key=True, data=None, form=()):
        st, heads, body = self.curl(method, path, key, data, form)
        try:
            return st, heads, json.loads(body)
        except ValueError:
            return st, heads, {"unparsed": body[:300].decode("latin-1")}


def code(j):
    e = j.get("error") if isinstance(j, dict) else None
    return e.get("code") if isinstance(e, dict) else None


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def sse_events(body):
    out = []
    for block in body.decode("utf-8").split("\n\n"):
        if block.startswith("data: "):
            out.append(json.loads(block[6:]))
    return out


def test_health_and_auth(h):
    st, _, j = h.json("GET", "/health", key=None)
    ok(st == 200 and j.get("status") == "ok" and "nodeId" in j and
       isinstance(j.get("uptime"), (int, float)) and "version" in j,
       "health_answers_without_a_key", j)
    for route in ("/identity", "/status", "/peers", "/context"):
        st, _, j = h.json("GET", route, key=None)
        if st != 401 or code(j) != 1001:
            break
    ok(st == 401 and code(j) == 1001, "every_other_route_needs_a_key",
       "%s %s %r" % (route, st, j))
    st, _, j = h.json("POST", "/execute", key="f" * 64,
                      data={"command": "true"})
    ok(st == 401 and code(j) == 1002, "a_wrong_key_is_401", "%s %r" % (st, j))
    st, _, j = h.json("GET", "/status?apiKey=%s&token=%s" % (h.key, h.key),
                      key=None)
    ok(st == 401, "a_key_in_the_url_is_not_accepted", "%s %r" % (st, j))
    st, _, j = h.json("GET", "/status", key=OTHER_KEY)
    ok(st == 200, "an_allowed_key_works", "%s %r" % (st, j))
    st, _, j = h.json("GET", "/nowhere")
    ok(st == 404 and code(j) == 9003, "an_unknown_route_is_404",
       "%s %r" % (st, j))
    st, _, j = h.json("DELETE", "/execute")
    ok(st == 405, "a_known_route_with_another_method_is_405",
       "%s %r" % (st, j))
    st, heads, _ = h.curl("OPTIONS", "/execute", key=None, extra=(
        "-H", "Origin: https://evil.example",
        "-H", "Access-Control-Request-Method: POST",
        "-H", "Access-Control-Request-Headers: authorization"))
    ok(st == 401 and not [k for k in heads if k.startswith("access-control")],
       "no_cross_origin_access_for_web_pages", "%s %r" % (st, heads))


def test_identity_status_peers(h):
    st, _, j = h.json("GET", "/identity")
    ok(st == 200 and j.get("port") == h.port and "hostname" in j and
       "platform" in j and "execute" in j.get("capabilities", []),
       "identity_says_who_and_where", j)
    st, _, j = h.json("GET", "/status")
    ok(st == 200 and j.get("peers", {}).get("total") == 0 and
       "active" in j.get("jobs", {}) and "entries" in j.get("context", {}),
       "status_has_peers_jobs_and_context", j)
    rc, out, err = h.w.lsy("peers", "add", "mirror",
                           "127.0.0.1:%d" % h.port, "--key", "-",
                           input=h.key + "\n")
    st, _, body = h.curl("GET", "/peers")
    j = json.loads(body) if st == 200 else {}
    p = [x for x in j.get("peers", []) if x.get("nodeId") == "mirror"]
    ok(rc == 0 and len(p) == 1 and p[0].get("address") == "127.0.0.1" and
       p[0].get("port") == h.port and "status" in p[0],
       "peers_lists_the_peers_json", "%s %s %r" % (rc, err, body))
    ok(h.key.encode() not in body and OTHER_KEY.encode() not in body,
       "peers_never_shows_a_key", body)
    st, _, j = h.json("GET", "/status")
    ok(j.get("peers", {}).get("total") == 1, "status_counts_peers", j)
    h.w.lsy("peers", "remove", "mirror")


def test_execute(h):
    st, _, j = h.json("POST", "/execute",
                      data={"command": "sh", "args":
                            ["-c", "echo out; echo err >&2; exit 3"]})
    ok(st == 200 and j.get("exitCode") == 3 and j.get("stdout") == "out\n" and
       j.get("stderr") == "err\n" and j.get("killed") is False and
       re.match(r"[0-9a-f-]{36}$", j.get("jobId", "")) and
       isinstance(j.get("duration"), (int, float)),
       "execute_returns_exit_code_stdout_and_stderr", j)
    sub = os.path.join(h.home, "work")
    os.makedirs(sub, exist_ok=True)
    st, _, j = h.json("POST", "/execute",
                      data={"command": "sh", "args": ["-c", "pwd; echo $V"],
                            "cwd": sub, "env": {"V": "from-env"}})
    ok(st == 200 and j.get("stdout") == sub + "\nfrom-env\n",
       "execute_takes_cwd_and_env", j)
    st, _, j = h.json("POST", "/execute",
                      data={"command": "sleep", "args": ["30"],
                            "timeout": 300})
    ok(st == 200 and j.get("killed") is True and j.get("exitCode") is None,
       "execute_timeout_in_ms_kills_it", j)
    st, _, j = h.json("POST", "/execute",
                      data={"command": "rm", "args": ["-rf", h.home]})
    ok(st == 400 and code(j) == 3001 and "denylist" in
       j["error"].get("message", "") and os.path.isdir(h.home),
       "a_denied_command_is_refused_with_3001", j)
    st, _, j = h.json("POST", "/execute",
                      data={"command": "env", "args": ["rm", "-rf", sub]})
    ok(st == 400 and code(j) == 3001 and os.path.isdir(sub),
       "a_denied_command_behind_env_is_refused_too", j)
    st, _, j = h.json("POST", "/execute",
                      data={"command": "no-such-program-here"})
    ok(st == 400 and code(j) == 3004, "a_missing_program_is_3004", j)
    st, _, j = h.json("POST", "/execute", data='{"command": "echo", ')
    ok(st == 400 and code(j) == 9003, "malformed_json_is_400", j)
    st, _, j = h.json("POST", "/execute", data={"args": ["x"]})
    ok(st == 400 and code(j) == 9003, "execute_without_a_command_is_400", j)
    st, _, j = h.json("POST", "/execute",
                      data={"command": "echo", "args": "x"})
    ok(st == 400 and code(j) == 9003, "args_that_are_not_a_list_are_400", j)
    st, _, j = h.json("POST", "/execute",
                      data={"command": "echo", "timeout": -5})
    ok(st == 400 and code(j) == 9003, "a_negative_timeout_is_400", j)
    with open(os.path.join(h.home, "logs", "audit.jsonl")) as f:
        lines = [json.loads(x) for x in f if x.strip()]
    ok(any(x.get("actor") == "apikey" and x.get("op") == "exec"
           for x in lines), "api_commands_are_audited_with_the_key_actor",
       lines[-3:])


def test_stream(h):
    cmd = "echo one; echo two >&2; printf 'caf\\303'; printf '\\251\\n'; " \
          "exit 4"
    st, heads, body = h.curl("POST", "/execute/stream",
                             data={"command": "sh", "args": ["-c", cmd]})
    ev = sse_events(body) if st == 200 else []
    out = "".join(e["data"] for e in ev if e["type"] == "stdout")
    err = "".join(e["data"] for e in ev if e["type"] == "stderr")
    ok(st == 200 and heads.get("content-type") == "text/event-stream" and
       out == "one\ncafé\n" and err == "two\n" and ev and
       ev[-1]["type"] == "exit" and ev[-1]["data"] == "4" and
       all(e["jobId"] == ev[0]["jobId"] and "timestamp" in e for e in ev),
       "stream_sends_stdout_stderr_then_exit", body)
    # A surrogate split between two writes, then a cut 3-byte sequence.
    cmd = "printf 'x\\355'; sleep 0.2; printf '\\240\\200y\\342\\202'"
    st, heads, body = h.curl("POST", "/execute/stream",
                             data={"command": "sh", "args": ["-c", cmd]})
    try:
        ev = sse_events(body)
        out = "".join(e["data"] for e in ev if e["type"] == "stdout")
    except (UnicodeError, ValueError) as e:
        out = repr(e)
    is_eq(out, "x\ufffd\ufffd\ufffdy\ufffd\ufffd",
          "stream_output_is_utf8_with_bad_sequences_replaced")
    st, _, j = h.json("POST", "/execute/stream",
                      data={"command": "rm", "args": ["-r", h.home]})
    ok(st == 400 and code(j) == 3001, "stream_applies_the_denylist_too", j)
    st, _, body = h.curl("POST", "/execute/stream",
                         data={"command": "sleep", "args": ["30"],
                               "timeout": 200})
    ev = sse_events(body) if st == 200 else []
    ok([e["type"] for e in ev] == ["error", "exit"] and
       "timed out" in ev[0]["data"], "stream_timeout_is_an_error_event", body)

    # The client going away ends the program.
    marker = "31.%d" % os.getpid()
    p = subprocess.Popen(h.curl_argv("POST", "/execute/stream", data={
        "command": "sh", "args": ["-c", "echo started; exec sleep " +
                                  marker]}) + ["-N"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        first = p.stdout.readline()
        running = poll_until(lambda: subprocess.run(
            ["pgrep", "-f", "sleep " + marker], stdout=subprocess.PIPE)
            .returncode == 0, 10)
    finally:
        p.kill()
        p.wait()
    gone = poll_until(lambda: subprocess.run(
        ["pgrep", "-f", "sleep " + marker], stdout=subprocess.PIPE)
        .returncode != 0, 10)
    ok(b"started" in first and running and gone,
       "a_stream_client_hanging_up_kills_the_program", first)


def test_context(h):
    st, _, j = h.json("PUT", "/context/task:1", data={"value": "hello",
                                                       "ttl": 600})
    ok(st == 200 and j.get("key") == "task:1" and j.get("value") == "hello" and
       j.get("expiresAt", 0) - j.get("updatedAt", 0) == 600000 and
       "createdAt" in j, "context_put_returns_the_entry", j)
    h.json("PUT", "/context/task:2", data={"value": "two"})
    h.json("PUT", "/context/other", data={"value": "x"})
    st, _, j = h.json("GET", "/context/task:1")
    ok(st == 200 and j.get("value") == "hello", "context_get_reads_it", j)
    st, _, j = h.json("GET", "/context?prefix=task%3A")
    keys = [e.get("key") for e in j.get("entries", [])]
    ok(st == 200 and keys == ["task:1", "task:2"],
       "context_list_filters_by_prefix", j)
    st, _, j = h.json("PUT", "/context/inbox%3Ahost%2Fx",
                      data={"value": "esc"})
    st2, _, j2 = h.json("GET", "/context/inbox:host%2fx")
    ok(st == 200 and j.get("key") == "inbox:host/x" and
       j2.get("value") == "esc", "context_keys_are_url_decoded",
       "%r %r" % (j, j2))
    st, _, j = h.json("DELETE", "/context/task:2")
    ok(st == 200 and j == {"success": True, "key": "task:2"},
       "context_delete_says_success", j)
    st, _, j = h.json("GET", "/context/task:2")
    ok(st == 404 and code(j) == 5001, "a_missing_key_is_404_5001", j)
    st, _, j = h.json("DELETE", "/context/task:2")
    ok(st == 404 and code(j) == 5001, "deleting_a_missing_key_is_404", j)
    st, _, j = h.json("PUT", "/context/k", data={"value": ""})
    ok(st == 400 and code(j) == 9003, "an_empty_value_is_400", j)
    st, _, j = h.json("PUT", "/context/k", data="not json")
    ok(st == 400 and code(j) == 9003, "a_malformed_context_body_is_400", j)
    st, _, j = h.json("PUT", "/context/k", data={"value": "x" * ((1 << 20) + 1)})
    ok(st == 400 and code(j) == 5002, "a_value_over_1_MiB_is_5002", j)
    st, _, j = h.json("PUT", "/context/" + "k" * 300, data={"value": "x"})
    ok(st == 400 and code(j) == 9003, "a_key_over_256_bytes_is_400", j)
    st, _, j = h.json("PUT", "/context/bin", data=b'{"value":"\xff\xfeabc"}')
    msg = (j.get("error") or {}).get("message", "")
    ok(st == 400 and code(j) == 9003 and "values are UTF-8 text" in msg,
       "a_value_that_is_not_utf8_is_400", j)
    st, _, j = h.json("PUT", "/context/k%FF", data={"value": "v"})
    msg = (j.get("error") or {}).get("message", "")
    ok(st == 400 and code(j) == 9003 and "k\\xff" in msg,
       "a_key_that_is_not_utf8_is_400", j)

    st, _, j = h.json("PUT", "/context/brief", data={"value": "soon gone",
                                                      "ttl": 1})
    first = h.json("GET", "/context/brief")[0]
    gone = poll_until(lambda: h.json("GET", "/context/brief")[0] == 404, 10)
    listed = [e["key"] for e in
              h.json("GET", "/context?prefix=brief")[2].get("entries", [])]
    ok(st == 200 and first == 200 and gone and listed == [],
       "a_context_entry_expires_after_its_ttl", j)


def test_transfer(h):
    src = os.path.join(h.w.tmp, "big.bin")
    write(src, os.urandom(3 * 1000 * 1000 + 17))
    dest = os.path.join(h.home, "in", "deep", "big.bin")
    st, _, j = h.json("POST", "/transfer/push",
                      form=("destPath=" + dest, "file=@" + src))
    ok(st == 200 and j.get("path") == dest and
       j.get("size") == os.path.getsize(src) and
       j.get("checksum") == sha256(src) and os.path.exists(dest) and
       sha256(dest) == sha256(src), "push_writes_the_file_with_its_checksum",
       j)
    ok(not [n for n in os.listdir(os.path.dirname(dest))
            if n != "big.bin"], "push_leaves_no_temporary_file",
       os.listdir(os.path.dirname(dest)))
    back = os.path.join(h.w.tmp, "back.bin")
    st, heads, body = h.curl("POST", "/transfer/pull",
                             data={"sourcePath": dest},
                             extra=("-o", back))
    ok(st == 200 and os.path.exists(back) and sha256(back) == sha256(src) and
       heads.get("x-loopsy-file-size") == str(os.path.getsize(src)) and
       'filename="big.bin"' in heads.get("content-disposition", ""),
       "pull_returns_the_same_bytes", "%s %r" % (st, heads))
    empty = os.path.join(h.w.tmp, "empty")
    write(empty, b"")
    st, _, j = h.json("POST", "/transfer/push",
                      form=("destPath=" + os.path.join(h.home, "e"),
                            "file=@" + empty))
    st2, _, body = h.curl("POST", "/transfer/pull",
                          data={"sourcePath": os.path.join(h.home, "e")})
    ok(st == 200 and j.get("size") == 0 and st2 == 200 and body == b"",
       "an_empty_file_goes_both_ways", "%r %r" % (j, body))

    st, _, j = h.json("POST", "/transfer/list",
                      data={"path": os.path.dirname(dest)})
    f = j.get("files", [{}])
    ok(st == 200 and len(f) == 1 and f[0].get("name") == "big.bin" and
       f[0].get("path") == dest and f[0].get("type") == "file" and
       f[0].get("size") == os.path.getsize(src) and
       abs(f[0].get("modified", 0) / 1000 - os.path.getmtime(dest)) < 2,
       "list_gives_name_path_type_size_modified", j)

    outside = os.path.join(h.w.dir, "outside")
    st, _, j = h.json("POST", "/transfer/push",
                      form=("destPath=" + outside, "file=@" + empty))
    ok(st == 400 and code(j) == 4001 and not os.path.exists(outside),
       "push_outside_allowed_paths_is_refused", j)
    st, _, j = h.json("POST", "/transfer/push",
                      form=("destPath=" + os.path.join(h.home, ".ssh", "x"),
                            "file=@" + empty))
    ok(st == 400 and code(j) == 4001 and
       not os.path.exists(os.path.join(h.home, ".ssh")),
       "push_into_a_denied_path_is_refused", j)
    st, _, j = h.json("POST", "/transfer/pull",
                      data={"sourcePath": "/etc/hostname"})
    ok(st == 400 and code(j) == 4001, "pull_outside_allowed_paths_is_refused",
       j)
    os.symlink("/etc", os.path.join(h.home, "etc-link"))
    st, _, j = h.json("POST", "/transfer/pull",
                      data={"sourcePath": os.path.join(h.home, "etc-link",
                                                       "hostname")})
    ok(st == 400 and code(j) == 4001, "pull_through_a_symlink_out_is_refused",
       j)
    st, _, j = h.json("POST", "/transfer/list", data={"path": "/etc"})
    ok(st == 400 and code(j) == 4001, "list_outside_allowed_paths_is_refused",
       j)
    st, _, j = h.json("POST", "/transfer/pull",
                      data={"sourcePath": os.path.join(h.home, "nope")})
    ok(st == 400 and code(j) == 4002, "pulling_a_missing_file_is_4002", j)
    st, _, j = h.json("POST", "/transfer/pull", data={})
    ok(st == 400 and code(j) == 9003, "pull_without_source_path_is_400", j)

    late = os.path.join(h.home, "late")
    st, _, j = h.json("POST", "/transfer/push",
                      form=("file=@" + empty, "destPath=" + late))
    ok(st == 400 and code(j) == 9003 and not os.path.exists(late),
       "push_needs_dest_path_before_the_file", j)
    st, _, j = h.json("POST", "/transfer/push",
                      form=("destPath=" + late,))
    ok(st == 400 and code(j) == 4005, "push_without_a_file_is_refused", j)
    st, _, j = h.json("POST", "/transfer/push", data={"destPath": late})
    ok(st == 400 and code(j) == 9003, "push_needs_multipart", j)
    # A push cut short (the client gone mid-body) leaves nothing: the API
    # never resumes, so its temporary file goes with it, not a day later.
    cut = os.path.join(h.home, "cut", "f.bin")
    cutdir = os.path.dirname(cut)
    p = subprocess.Popen(h.curl_argv("POST", "/transfer/push", form=(
        "destPath=" + cut, "file=@" + src), extra=("--limit-rate", "500K")),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        started = poll_until(lambda: os.path.isdir(cutdir) and
                             [n for n in os.listdir(cutdir)
                              if ".loopsy-part-" in n], 10)
    finally:
        p.kill()
        p.wait()
    gone = poll_until(lambda: os.listdir(cutdir) == [], 10)
    ok(started and gone, "a_push_cut_short_leaves_no_temporary_file",
       "%r %r" % (started, os.listdir(cutdir)))
    st, _, j = h.json("POST", "/transfer/push",
                      form=("destPath=" + cut, "file=@" + empty))
    ok(st == 200 and os.listdir(cutdir) == ["f.bin"] and
       os.path.getsize(cut) == 0, "a_push_after_one_cut_short_succeeds", j)
    huge = os.path.join(h.w.tmp, "huge.bin")
    write(huge, b"\0" * 4100000)
    st, _, j = h.json("POST", "/transfer/push",
                      form=("destPath=" + late, "file=@" + huge))
    ok(st == 400 and code(j) == 4003 and not os.path.exists(late),
       "push_over_max_file_size_is_4003", j)


def test_push_does_not_read_the_file_back(h):
    # The size is known only when the body ends: the push settles it on
    # the open temporary file (transfer-finish -s), whose hash has run all
    # along, rather than reopening it and hashing it again on the server's
    # loop (1.5 s for 1.5 GiB, with every other request waiting).
    src = os.path.join(h.w.tmp, "settle.bin")
    write(src, os.urandom(3 * 1000 * 1000 + 5))
    dest = os.path.join(h.home, "settle.bin")

    def rehashed():
        rc, out, err = h.lsy("stats", "--json")
        return json.loads(out).get("transfer_rehashed") if rc == 0 else None
    before = rehashed()
    st, _, j = h.json("POST", "/transfer/push",
                      form=("destPath=" + dest, "file=@" + src))
    after = rehashed()
    ok(st == 200 and j.get("size") == os.path.getsize(src) and
       sha256(dest) == sha256(src), "push_of_a_few_megabytes_succeeds", j)
    ok(before is not None and after == before,
       "push_settles_its_size_without_reading_the_file_back",
       "%r -> %r" % (before, after))


def test_limits():
    h = Host(limits="execute: 3, transfer: 1, context: 2", concurrent=1)
    try:
        sts = [h.curl("POST", "/execute", data={"command": "true"})[0]
               for _ in range(3)]
        st, heads, body = h.curl("POST", "/execute",
                                 data={"command": "true"})
        j = json.loads(body)
        ok(sts == [200] * 3 and st == 429 and code(j) == 9002 and
           int(heads.get("retry-after", "0")) >= 1,
           "execute_over_the_rate_limit_is_429_with_retry_after",
           "%r %s %r %r" % (sts, st, heads, j))
        st, _, j = h.json("POST", "/execute", key=OTHER_KEY,
                          data={"command": "true"})
        ok(st == 200, "rate_limits_are_per_key", j)
        sts = [h.curl("PUT", "/context/k", data={"value": "v"})[0],
               h.curl("GET", "/context/k")[0],
               h.curl("GET", "/context")[0]]
        ok(sts == [200, 200, 429], "context_over_the_rate_limit_is_429", sts)
        f = os.path.join(h.w.tmp, "f")
        write(f, b"data")
        sts = [h.curl("POST", "/transfer/push", form=(
            "destPath=" + os.path.join(h.home, "f%d" % i), "file=@" + f))[0]
            for i in range(2)]
        st, _, j = h.json("POST", "/transfer/list", data={"path": h.home})
        ok(sts == [200, 429] and st == 429 and code(j) == 9002 and
           not os.path.exists(os.path.join(h.home, "f1")),
           "transfer_over_the_rate_limit_is_429", "%r %s %r" % (sts, st, j))

        # maxConcurrent 1: one program running, the next is refused.
        marker = "32.%d" % os.getpid()
        p = subprocess.Popen(h.curl_argv("POST", "/execute/stream",
                             key=OTHER_KEY, data={
                                 "command": "sh", "args": [
                                     "-c", "echo up; exec sleep " + marker]})
                             + ["-N"], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL)
        try:
            first = p.stdout.readline()
            st, _, j = h.json("POST", "/execute", key=OTHER_KEY,
                              data={"command": "true"})
        finally:
            p.kill()
            p.wait()
        ok(b"up" in first and st == 400 and code(j) == 3003,
           "execute_over_max_concurrent_is_3003", "%r %s %r" % (first, st, j))

        # Bad keys from one address: 401, then 429 for every key.
        sts = [h.curl("GET", "/status", key="e" * 64)[0] for _ in range(11)]
        st, heads, body = h.curl("GET", "/status")
        ok(sts[0] == 401 and sts[-1] == 429 and st == 429 and
           code(json.loads(body)) == 9002 and "retry-after" in heads,
           "bad_keys_are_rate_limited_per_address", "%r %s" % (sts, st))
        st, _, _ = h.curl("GET", "/health", key=None)
        ok(st == 200, "health_answers_while_an_address_is_limited")
    finally:
        h.close()


def main():
    h = Host()
    try:
        for fn in (test_health_and_auth, test_identity_status_peers,
                   test_execute, test_stream, test_context, test_transfer,
                   test_push_does_not_read_the_file_back):
            run_test(lambda: fn(h), fn.__name__)
        st, _, j = h.json("GET", "/health", key=None)
        ok(st == 200, "the_server_goes_on_after_all_that", j)
    finally:
        h.close()
    run_test(test_limits, "test_limits")


run_test(main, "api")
done()

#!/usr/bin/python3
# loopsy mcp: the MCP server on stdio, driven by a small client here (one
# JSON-RPC message a line over pipes): version negotiation, tools/list and
# every tool's schema, every tool against the local server and the main ones
# against a second server as a peer, the error paths (unknown session,
# offline peer, denied command, bad arguments, unknown tool, malformed
# JSON), notifications unanswered, nothing but JSON on stdout, and an
# agent's scenario: a long job on the peer, waited for, its tail captured,
# its artefact copied back, a message left and its acknowledgement read.
import json
import os
import re
import select
import socket
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import *  # noqa

require()

VERSIONS = ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"]
TOOLS = ["loopsy_list_peers", "loopsy_peer_status", "loopsy_execute",
         "loopsy_session_start", "loopsy_session_list",
         "loopsy_session_send_keys", "loopsy_session_capture",
         "loopsy_session_wait", "loopsy_session_stop",
         "loopsy_session_remove", "loopsy_transfer_file",
         "loopsy_list_remote_files", "loopsy_context_set",
         "loopsy_context_get", "loopsy_context_list",
         "loopsy_context_delete", "loopsy_broadcast_context",
         "loopsy_send_message", "loopsy_check_inbox", "loopsy_ack_message",
         "loopsy_check_ack"]


def no_rate_limits(text):
    return re.sub(r"rateLimits:.*", "rateLimits: { execute: 0, "
                  "transfer: 0, context: 0 }", text)


class Mcp:
    """loopsy mcp on a world's socket; every stdout line kept."""

    def __init__(self, w, version="2025-11-25", argv=None, env=None):
        self.err = open(os.path.join(w.dir, "mcp-stderr-%d" % id(self)),
                        "w+")
        self.p = subprocess.Popen(argv or w.argv("mcp"), env=env or w.env,
                                  cwd=w.home,
                                  stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=self.err)
        self.buf = b""
        self.lines = []
        self.id = 0
        self.init = self.request("initialize", {
            "protocolVersion": version, "capabilities": {},
            "clientInfo": {"name": "test-mcp", "version": "0"}})
        self.notify("notifications/initialized")

    def send_raw(self, line):
        if isinstance(line, str):
            line = line.encode()
        self.p.stdin.write(line + b"\n")
        self.p.stdin.flush()

    def read_line(self, timeout=60):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Timeout("no answer from loopsy mcp")
            r, _, _ = select.select([self.p.stdout], [], [], left)
            if r:
                d = os.read(self.p.stdout.fileno(), 65536)
                if not d:
                    raise EOFError("loopsy mcp closed stdout")
                self.buf += d
        line, self.buf = self.buf.split(b"\n", 1)
        self.lines.append(line)
        return json.loads(line.decode("utf-8"))

    def notify(self, method, params=None):
        m = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            m["params"] = params
        self.send_raw(json.dumps(m))

    def request(self, method, params=None, timeout=60):
        m = {"method": method, "jsonrpc": "2.0", "id": self.id}
        if params is not None:
            m["params"] = params
        self.id += 1
        self.send_raw(json.dumps(m))
        return self.read_line(timeout)

    def call(self, tool, _timeout=60, **args):
        r = self.request("tools/call", {"name": tool, "arguments": args},
                         _timeout)
        return r.get("result", r)

    def close(self):
        try:
            self.p.stdin.close()
            self.p.wait(timeout=10)
        except Exception:
            self.p.kill()
        self.err.close()


def text(res):
    return "".join(c.get("text", "") for c in res.get("content", []))


def good(res):
    return res.get("isError") is False and "structuredContent" in res


def sc(res):
    return res.get("structuredContent", {})


class FakeServer:
    """A local server on a socket of its own that answers each command
    with what answer(argv, id) gives: a list of (type, payload) frames, or
    None to say nothing at all."""

    def __init__(self, w, answer):
        self.path = os.path.join(w.dir, "fake-sock")
        self.answer = answer
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.bind(self.path)
        self.s.listen(4)
        self.conns = []
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                c, _ = self.s.accept()
            except OSError:
                return
            self.conns.append(c)
            threading.Thread(target=self.serve, args=(c,),
                             daemon=True).start()

    def serve(self, c):
        buf = b""
        try:
            while True:
                d = c.recv(65536)
                if not d:
                    return
                buf += d
                while len(buf) >= 4:
                    n = struct.unpack(">I", buf[:4])[0]
                    if len(buf) < 4 + n:
                        break
                    t, body, buf = buf[4], buf[5:4 + n], buf[4 + n:]
                    if t != 2:
                        continue
                    cmd = json.loads(body)
                    for ft, payload in self.answer(cmd["argv"],
                                                   cmd["id"]) or []:
                        c.sendall(frame(ft, payload))
        except OSError:
            return

    def argv(self):
        return [LOOPSY, "-S", self.path, "mcp"]

    def close(self):
        self.s.close()
        for c in self.conns:
            c.close()


def reply(id, exit=0, **kw):
    return (3, json.dumps(dict(id=id, exit=exit, **kw)))


def fake_server(w):
    """The MCP against a server that misbehaves: silent, flooding, replies
    out of range, fields missing, bytes that are not UTF-8."""
    mode = {"m": "silent"}

    def answer(argv, id):
        m = mode["m"]
        if m == "silent":
            return None
        if m == "flood":
            chunk = b"y" * (1024 * 1024)
            return [(11, chunk)] * 33 + [reply(id)]
        if m == "wrapped-id":
            return [reply(id + 2 ** 32), (11, '[{"name": "s1"}]'),
                    reply(id)]
        if m == "missing":
            return [(11, "[{}]"), reply(id)]
        if m == "bytes":
            return [(11, b'{"key": "k", "value": "a\\u0000b\xffc"}'),
                    reply(id)]
        return [reply(id)]

    f = FakeServer(w, answer)
    env = dict(w.env, LOOPSY_MCP_GRACE="1")
    m = Mcp(w, argv=f.argv(), env=env)
    try:
        t0 = time.monotonic()
        res = m.call("loopsy_execute", _timeout=20, command="true",
                     timeout=0.2)
        ok(res.get("isError") is True and "the local server did not "
           "answer within 1 s" in text(res) and
           time.monotonic() - t0 < 10,
           "a_server_that_never_answers_is_given_up_on", json.dumps(res))
        mode["m"] = "flood"
        res = m.call("loopsy_session_list", _timeout=30)
        ok(res.get("isError") is True and "more than 32 MiB" in text(res),
           "a_command_sending_too_much_output_is_cut_off",
           json.dumps(res)[:500])
        mode["m"] = "wrapped-id"
        res = m.call("loopsy_session_list")
        ok(good(res) and [x.get("name") for x in sc(res)["sessions"]] ==
           ["s1"], "a_reply_id_beyond_32_bits_is_not_ours",
           json.dumps(res))
        mode["m"] = "missing"
        res = m.call("loopsy_session_list")
        ok(good(res) and "(null)" not in text(res) and
           "-2147483648" not in text(res),
           "a_reply_missing_fields_renders_without_null_or_nan",
           json.dumps(res))
        mode["m"] = "bytes"
        res = m.call("loopsy_context_get", key="k")
        ok(good(res) and sc(res).get("value") == "a\ufffdb\ufffdc" and
           text(res) == "a\ufffdb\ufffdc",
           "nul_and_invalid_utf8_become_replacement_characters",
           json.dumps(res))
        mode["m"] = "ok"
        big = json.dumps({"jsonrpc": "2.0", "id": 4242, "method": "ping",
                          "params": {"pad": "x" * (9 * 1024 * 1024)}})
        m.send_raw(big)
        r = m.read_line()
        ok(r.get("error", {}).get("code") in (-32700, -32600) and
           r.get("id") is None, "a_line_over_8_mib_is_refused",
           json.dumps(r)[:300])
        r = m.request("ping")
        ok("result" in r, "server_goes_on_after_an_overlong_line",
           json.dumps(r))
    finally:
        m.close()
        f.close()


def versions(w):
    for v in VERSIONS + ["1999-01-01"]:
        m = Mcp(w, v)
        want = v if v in VERSIONS else "2025-11-25"
        r = m.init.get("result", {})
        ok(r.get("protocolVersion") == want and "tools" in
           r.get("capabilities", {}) and r["serverInfo"]["name"] == "loopsy",
           "initialize_answers_%s_with_%s" % (v, want), json.dumps(m.init))
        res = m.call("loopsy_session_list")
        has = "structuredContent" in res
        ok(has == (want >= "2025-06-18") and text(res) != "",
           "structured_content_only_from_2025_06_18_at_%s" % v,
           json.dumps(res))
        m.close()


def protocol(m):
    r = m.request("tools/list")
    tools = r.get("result", {}).get("tools", [])
    names = [t["name"] for t in tools]
    ok(sorted(names) == sorted(TOOLS), "tools_list_has_every_tool",
       repr(names))
    bad = [t["name"] for t in tools if not t.get("description") or
           t.get("inputSchema", {}).get("type") != "object" or
           "peer" not in t["inputSchema"].get("properties", {}) or
           not all(k in t["inputSchema"]["properties"]
                   for k in t["inputSchema"].get("required", []))]
    ok(not bad, "every_tool_has_a_description_and_object_schema_with_peer",
       repr(bad))

    r = m.request("ping")
    ok(r.get("result") == {} and r.get("id") == m.id - 1,
       "ping_answers_empty_result", json.dumps(r))
    # A notification gets nothing: the ping after it is the next answer.
    m.notify("notifications/cancelled", {"requestId": 99})
    m.notify("no/such/notification")
    r = m.request("ping")
    ok(r.get("id") == m.id - 1 and "result" in r,
       "notifications_get_no_reply", json.dumps(r))
    r = m.request("resources/read", {"uri": "x"})
    ok(r.get("error", {}).get("code") == -32601,
       "unknown_method_is_32601", json.dumps(r))
    r = m.request("tools/call", {"name": "loopsy_nope", "arguments": {}})
    ok(r.get("error", {}).get("code") == -32602 and
       "loopsy_nope" in r["error"]["message"], "unknown_tool_is_32602",
       json.dumps(r))
    r = m.request("tools/call", {"name": "loopsy_context_get",
                                 "arguments": "key"})
    ok(r.get("error", {}).get("code") == -32602,
       "arguments_not_an_object_is_32602", json.dumps(r))
    m.send_raw('{"jsonrpc":"2.0","id":77,"method":')
    r = m.read_line()
    ok(r.get("error", {}).get("code") == -32700 and r.get("id") is None,
       "malformed_json_is_32700", json.dumps(r))
    r = m.request("ping")
    ok("result" in r, "server_goes_on_after_malformed_json", json.dumps(r))

    res = m.call("loopsy_context_get")
    ok(res.get("isError") is True and '"key"' in text(res),
       "missing_argument_is_a_tool_error_naming_it", json.dumps(res))
    res = m.call("loopsy_session_wait", session="x", **{"for": "soon"})
    ok(res.get("isError") is True and "exit" in text(res),
       "enum_argument_checked", json.dumps(res))
    res = m.call("loopsy_session_capture", session="x", colour=True)
    ok(res.get("isError") is True and "colour" in text(res) and
       "attributes" in text(res), "unknown_argument_lists_the_known_ones",
       json.dumps(res))
    res = m.call("loopsy_execute", command="x", timeout="soon")
    ok(res.get("isError") is True and "timeout" in text(res),
       "wrong_type_argument_is_a_tool_error", json.dumps(res))
    res = m.call("loopsy_session_start", name="w", argv=[1])
    ok(res.get("isError") is True and '"argv"' in text(res),
       "array_items_are_checked", json.dumps(res))
    res = m.call("loopsy_execute", command="true", env={"A": 1})
    ok(res.get("isError") is True and '"env"' in text(res),
       "env_values_are_checked", json.dumps(res))
    res = m.call("loopsy_session_start", name="w", command="cat", cols=0)
    ok(res.get("isError") is True and '"cols"' in text(res),
       "a_number_below_its_minimum_names_the_argument", json.dumps(res))
    res = m.call("loopsy_broadcast_context", key="k", value="v",
                 peer="somebody")
    ok(res.get("isError") is True and "without peer" in text(res),
       "broadcast_takes_no_peer", json.dumps(res))


def local_tools(w, m):
    res = m.call("loopsy_execute", command="echo out; echo err >&2; exit 3")
    s = sc(res)
    ok(good(res) and s.get("exit") == 3 and s.get("stdout") == "out\n" and
       s.get("stderr") == "err\n" and "exit 3" in text(res),
       "execute_keeps_stdout_stderr_and_exit", json.dumps(res))
    res = m.call("loopsy_execute", command="printf", args=["%s", "a b"],
                 cwd=w.tmp)
    ok(good(res) and sc(res).get("stdout") == "a b",
       "execute_with_args_runs_no_shell", json.dumps(res))
    res = m.call("loopsy_execute", command="echo partial; sleep 30",
                 timeout=0.5)
    s = sc(res)
    ok(res.get("isError") is False and s.get("timed_out") is True and
       s.get("stdout") == "partial\n" and "timed out" in text(res),
       "a_timed_out_execute_is_a_result_with_its_output", json.dumps(res))
    res = m.call("loopsy_execute", command="rm", args=["-rf", w.tmp + "/x"])
    ok(res.get("isError") is True and "denylist" in text(res),
       "execute_denied_command_says_which_rule", json.dumps(res))

    res = m.call("loopsy_session_start", name="ed", command="cat",
                 cols=100, rows=30)
    s = sc(res).get("session", {})
    ok(good(res) and s.get("name") == "ed" and s.get("width") == 100 and
       s.get("height") == 30, "session_start_with_name_and_size",
       json.dumps(res))
    res = m.call("loopsy_session_list")
    ok(good(res) and [x["name"] for x in sc(res)["sessions"]] == ["ed"],
       "session_list_shows_it", json.dumps(res))
    res = m.call("loopsy_session_remove", session="e")
    ok(res.get("isError") is True and "ed" in w.lsy("ls")[1],
       "a_session_name_is_never_taken_as_a_prefix", json.dumps(res))
    res = m.call("loopsy_session_send_keys", session="ed",
                 text="hello mcp", enter=True)
    ok(good(res), "send_keys_text_and_enter", json.dumps(res))
    res = m.call("loopsy_session_wait", session="ed", timeout=10,
                 regex="^hello mcp", **{"for": "text"})
    ok(good(res) and "hello mcp" in sc(res).get("matched", ""),
       "wait_for_text", json.dumps(res))
    res = m.call("loopsy_session_wait", session="ed", idle_ms=100,
                 timeout=10, **{"for": "idle"})
    ok(good(res), "wait_for_idle", json.dumps(res))
    res = m.call("loopsy_session_wait", session="ed", regex="never-here",
                 timeout=0.3, **{"for": "text"})
    ok(res.get("isError") is True and "timed out" in text(res) and
       "loopsy_session_capture" in text(res),
       "wait_timeout_says_what_to_do", json.dumps(res))
    res = m.call("loopsy_session_capture", session="ed")
    ok(good(res) and text(res).count("hello mcp") == 2,
       "capture_screen_text", json.dumps(res))
    res = m.call("loopsy_session_capture", session="ed", start="-",
                 end=0, attributes=True, join=True)
    ok(good(res) and "hello mcp" in sc(res).get("text", ""),
       "capture_range_with_attributes", json.dumps(res))
    res = m.call("loopsy_session_send_keys", session="ed", keys=["C-d"])
    ok(good(res), "send_keys_by_name", json.dumps(res))
    res = m.call("loopsy_session_wait", session="ed", timeout=10,
                 **{"for": "exit"})
    ok(good(res) and "exited" in json.dumps(sc(res)),
       "wait_for_exit", json.dumps(res))
    res = m.call("loopsy_session_capture", session="build")
    ok(res.get("isError") is True and
       'no such session "build"; sessions are: ed' in text(res),
       "unknown_session_lists_the_sessions", json.dumps(res))
    res = m.call("loopsy_session_remove", session="ed")
    ok(good(res) and sc(res).get("removed") is True, "session_remove",
       json.dumps(res))
    m.call("loopsy_session_start", name="loop",
           command="trap '' INT; echo ready; while :; do sleep 1; done")
    m.call("loopsy_session_wait", session="loop", regex="^ready",
           **{"for": "text"})
    res = m.call("loopsy_session_stop", session="loop", timeout=0.5)
    ok(good(res) and "killed" in sc(res).get("how", ""),
       "session_stop_ends_a_program_that_ignores_c_c", json.dumps(res))
    m.call("loopsy_session_start", name="sl",
           command="echo ready; exec sleep 30")
    m.call("loopsy_session_wait", session="sl", regex="^ready",
           **{"for": "text"})
    res = m.call("loopsy_session_stop", session="sl", timeout=10)
    ok(good(res) and "interrupted" in sc(res).get("how", ""),
       "session_stop_interrupts", json.dumps(res))
    m.call("loopsy_session_remove", session="sl")

    big = "x" * 100 + "\n"
    res = m.call("loopsy_execute", command="yes %s | head -c 300000" %
                 big.strip())
    ok(good(res) and len(text(res).encode()) < 70 * 1024 and
       "truncated" in text(res), "large_output_is_capped_with_a_note",
       str(len(text(res))))

    res = m.call("loopsy_execute", command="head -c 5000000 /dev/zero | "
                 "tr '\\0' x; echo; echo err >&2")
    line = m.lines[-1]
    s = sc(res)
    ok(good(res) and len(line) < 300 * 1024 and
       len(s.get("stdout", "")) <= 64 * 1024 and
       s.get("truncated", {}).get("stdout") is True and
       s.get("stderr") == "err\n",
       "structured_content_strings_are_capped_too", str(len(line)))
    res = m.call("loopsy_session_start", name="long", cols=120,
                 command="seq -f 'line %08g' 1 9000; exec sleep 60")
    m.call("loopsy_session_wait", session="long", regex="line 00009000",
           timeout=20, **{"for": "text"})
    res = m.call("loopsy_session_capture", session="long", start="-")
    t = text(res)
    ok(good(res) and t.rstrip().endswith("line 00009000") and
       sc(res).get("truncated") is True and len(t.encode()) <= 64 * 1024
       and "before this cut" in t,
       "capture_cut_keeps_the_newest_lines_under_the_cap",
       t[-200:] + " %d" % len(t))
    m.call("loopsy_session_remove", session="long")
    rc, out, err = w.lsy("context-set", "bad", "x\udcffy")
    res = m.call("loopsy_context_get", key="bad")
    ok(rc == 1 and "not UTF-8" in err and not good(res),
       "invalid_utf8_in_a_context_value_is_refused_at_the_door",
       err + json.dumps(res))
    w.lsy("context-delete", "bad")

    res = m.call("loopsy_context_set", key="k1", value="v1", ttl=600)
    ok(good(res), "context_set", json.dumps(res))
    res = m.call("loopsy_context_get", key="k1")
    ok(good(res) and sc(res).get("value") == "v1" and text(res) == "v1",
       "context_get", json.dumps(res))
    res = m.call("loopsy_context_list", prefix="k")
    ok(good(res) and [e["key"] for e in sc(res)["entries"]] == ["k1"],
       "context_list_with_prefix", json.dumps(res))
    res = m.call("loopsy_context_delete", key="k1")
    ok(good(res), "context_delete", json.dumps(res))
    res = m.call("loopsy_context_get", key="k1")
    ok(res.get("isError") is True and "loopsy_context_list" in text(res),
       "context_get_missing_key_says_what_to_do", json.dumps(res))

    src = os.path.join(w.home, "src.txt")
    with open(src, "w") as f:
        f.write("local copy\n")
    res = m.call("loopsy_transfer_file", direction="push", source=src,
                 destination=os.path.join(w.home, "dst.txt"))
    ok(good(res) and open(os.path.join(w.home, "dst.txt")).read() ==
       "local copy\n", "transfer_file_without_peer_copies_here",
       json.dumps(res))
    res = m.call("loopsy_list_remote_files", path=w.home)
    ok(good(res) and "dst.txt" in json.dumps(sc(res)),
       "list_remote_files_here", json.dumps(res))

    res = m.call("loopsy_send_message", body="note to self")
    mid = sc(res).get("id", "")
    ok(good(res) and mid != "", "send_message_here", json.dumps(res))
    res = m.call("loopsy_check_inbox")
    ok(good(res) and [x["id"] for x in sc(res)["messages"]] == [mid],
       "check_inbox_here", json.dumps(res))
    res = m.call("loopsy_ack_message", id=mid)
    ok(good(res), "ack_message_here", json.dumps(res))
    res = m.call("loopsy_check_ack", id=mid)
    ok(good(res) and sc(res).get("acked") is True, "check_ack_here",
       json.dumps(res))
    # A message whose envelope names a sender we never paired with.
    rc, out, err = w.lsy("msg-send", "--", "self", "ack me")
    sid = out.strip()
    key = [e["key"] for e in sc(m.call("loopsy_context_list",
                                       prefix="inbox:"))["entries"]
           if e["key"].endswith(":" + sid)]
    env = json.loads(sc(m.call("loopsy_context_get", key=key[0]))["value"])
    env["from"] = "stranger"
    m.call("loopsy_context_set", key=key[0], value=json.dumps(env))
    res = m.call("loopsy_ack_message", id=sid)
    ok(rc == 0 and res.get("isError") is True and
       "not a paired peer" in text(res) and "give peer" in text(res) and
       sid in json.dumps(sc(m.call("loopsy_check_inbox"))),
       "ack_to_an_unpaired_from_needs_an_explicit_peer",
       out + err + json.dumps(res))
    res = m.call("loopsy_ack_message", id="1-nope-0000")
    ok(res.get("isError") is True and "loopsy_check_inbox" in text(res),
       "ack_unknown_message_says_what_to_do", json.dumps(res))


def peer_tools(a, b, m):
    res = m.call("loopsy_list_peers")
    ok(good(res) and "bee" in [p["name"] for p in sc(res)["peers"]],
       "list_peers", json.dumps(res))
    res = m.call("loopsy_peer_status", peer="bee")
    ok(good(res) and sc(res)["status"].get("port") == b.port,
       "peer_status_of_a_peer", json.dumps(res))
    res = m.call("loopsy_peer_status")
    ok(good(res) and sc(res)["status"].get("port") == a.port,
       "peer_status_here", json.dumps(res))
    res = m.call("loopsy_execute", peer="bee", command="echo $HOME")
    ok(good(res) and sc(res).get("stdout") == b.w.home + "\n",
       "execute_on_a_peer", json.dumps(res))
    res = m.call("loopsy_execute", peer="bee", command="rm",
                 args=["-rf", "/nonexistent"])
    ok(res.get("isError") is True and "denylist" in text(res),
       "execute_denied_on_a_peer", json.dumps(res))
    res = m.call("loopsy_context_set", peer="bee", key="pk", value="pv")
    rc, out, err = b.lsy("context", "get", "pk")
    ok(good(res) and out.strip() == "pv", "context_set_on_a_peer",
       json.dumps(res) + err)
    res = m.call("loopsy_context_get", peer="bee", key="pk")
    ok(good(res) and sc(res).get("value") == "pv", "context_get_on_a_peer",
       json.dumps(res))
    res = m.call("loopsy_context_list", peer="bee")
    ok(good(res) and "pk" in [e["key"] for e in sc(res)["entries"]],
       "context_list_on_a_peer", json.dumps(res))
    res = m.call("loopsy_context_delete", peer="bee", key="pk")
    ok(good(res) and b.lsy("context", "get", "pk")[0] != 0,
       "context_delete_on_a_peer", json.dumps(res))
    res = m.call("loopsy_session_list", peer="bee")
    ok(good(res) and sc(res)["sessions"] == [], "session_list_on_a_peer",
       json.dumps(res))
    res = m.call("loopsy_session_capture", peer="bee", session="build")
    ok(res.get("isError") is True and 'no such session "build"' in
       text(res), "unknown_session_on_a_peer", json.dumps(res))
    push = os.path.join(a.w.home, "push.txt")
    with open(push, "w") as f:
        f.write("pushed\n")
    res = m.call("loopsy_transfer_file", peer="bee", direction="push",
                 source=push, destination=os.path.join(b.w.home, "in.txt"))
    ok(good(res) and open(os.path.join(b.w.home, "in.txt")).read() ==
       "pushed\n", "transfer_push_to_a_peer", json.dumps(res))
    res = m.call("loopsy_list_remote_files", peer="bee", path=b.w.home)
    ok(good(res) and "in.txt" in json.dumps(sc(res)),
       "list_remote_files_on_a_peer", json.dumps(res))
    res = m.call("loopsy_transfer_file", peer="bee", direction="pull",
                 source="/etc/passwd", destination=os.path.join(
                     a.w.home, "passwd"))
    ok(res.get("isError") is True and "allowedPaths" in text(res),
       "transfer_refused_by_policy_says_why", json.dumps(res))


def offline(m, c):
    res = m.call("loopsy_execute", peer="gone", command="true")
    ok(res.get("isError") is True and 'peer "gone" is offline' in text(res),
       "offline_peer_is_a_tool_error_saying_so", json.dumps(res))
    res = m.call("loopsy_context_list", peer="nobody")
    ok(res.get("isError") is True and "unknown peer" in text(res),
       "unknown_peer_is_a_tool_error", json.dumps(res))
    res = m.call("loopsy_broadcast_context", key="bk", value="bv")
    per = {p["peer"]: p for p in sc(res).get("peers", [])}
    ok(good(res) and per.get("bee", {}).get("ok") is True and
       per.get("gone", {}).get("ok") is False and
       "offline" in per["gone"].get("error", "") and
       sc(res).get("written") == 1, "broadcast_reports_each_peer",
       json.dumps(res))


def scenario(a, b, m, mb):
    job = ("for i in 1 2 3 4 5; do echo compiling unit $i; done; "
           "echo binary > artefact.bin; echo BUILD OK")
    res = m.call("loopsy_session_start", peer="bee", name="build",
                 command=job, cwd=b.w.home)
    ok(good(res) and sc(res)["session"]["name"] == "build",
       "scenario_start_a_job_on_the_peer", json.dumps(res))
    res = m.call("loopsy_session_wait", peer="bee", session="build",
                 timeout=20, **{"for": "exit"})
    ok(good(res), "scenario_wait_for_it_to_exit", json.dumps(res))
    res = m.call("loopsy_session_capture", peer="bee", session="build",
                 start=-20)
    ok(good(res) and text(res).rstrip().endswith("BUILD OK") and
       "compiling unit 5" in text(res), "scenario_capture_the_tail",
       json.dumps(res))
    dst = os.path.join(a.w.home, "artefact.bin")
    res = m.call("loopsy_transfer_file", peer="bee", direction="pull",
                 source=os.path.join(b.w.home, "artefact.bin"),
                 destination=dst)
    ok(good(res) and os.path.exists(dst) and
       open(dst).read() == "binary\n", "scenario_copy_the_artefact_back",
       json.dumps(res))
    res = m.call("loopsy_session_remove", peer="bee", session="build")
    ok(good(res), "scenario_remove_the_session", json.dumps(res))
    res = m.call("loopsy_send_message", peer="bee", body="artefact taken",
                 type="response")
    mid = sc(res).get("id", "")
    ok(good(res) and mid, "scenario_leave_a_message", json.dumps(res))
    res = m.call("loopsy_context_get", key="outbox:" + mid)
    try:
        env = json.loads(sc(res).get("value", ""))
    except ValueError:
        env = {}
    ok(good(res) and env.get("to") == "bee" and
       env.get("body") == "artefact taken" and env.get("type") == "response",
       "scenario_the_outbox_copy_is_kept_here", json.dumps(res))
    res = m.call("loopsy_check_ack", id=mid)
    ok(good(res) and sc(res).get("acked") is False,
       "scenario_not_acked_before_the_peer_acks", json.dumps(res))
    res = mb.call("loopsy_check_inbox")
    msgs = sc(res).get("messages", [])
    ok(good(res) and [x["body"] for x in msgs if x["id"] == mid] ==
       ["artefact taken"], "scenario_the_message_is_in_the_peers_inbox",
       json.dumps(res))
    res = mb.call("loopsy_ack_message", id=mid, peer="ay")
    ok(good(res), "scenario_the_peer_acks_it", json.dumps(res))
    res = m.call("loopsy_check_ack", id=mid)
    ok(good(res) and sc(res).get("acked") is True,
       "scenario_read_the_ack", json.dumps(res))
    res = mb.call("loopsy_check_inbox")
    ok(good(res) and mid not in json.dumps(sc(res)),
       "scenario_acked_message_leaves_the_inbox", json.dumps(res))


def main():
    a = PeerHost("a", no_rate_limits)
    b = PeerHost("b", no_rate_limits)
    c = PeerHost("c", no_rate_limits)
    ms = []
    try:
        for host, name, peer in ((a, "bee", b), (a, "gone", c),
                                 (b, "ay", a)):
            rc, out, err = host.lsy("peers", "add", name,
                                    "127.0.0.1:%d" % peer.port, "--key",
                                    "-", input=peer.key + "\n")
            if rc != 0:
                raise RuntimeError("peers add: " + err)
        c.close()
        versions(a.w)
        m = Mcp(a.w)
        mb = Mcp(b.w)
        ms += [m, mb]
        run_test(lambda: protocol(m), "protocol")
        run_test(lambda: local_tools(a.w, m), "local_tools")
        run_test(lambda: peer_tools(a, b, m), "peer_tools")
        run_test(lambda: offline(m, c), "offline")
        run_test(lambda: scenario(a, b, m, mb), "scenario")
        run_test(lambda: fake_server(a.w), "fake_server")
        bad = []
        for x in ms:
            for line in x.lines:
                try:
                    j = json.loads(line)
                    if j.get("jsonrpc") != "2.0":
                        bad.append(line)
                except ValueError:
                    bad.append(line)
        ok(not bad and len(m.lines) > 50, "stdout_carries_only_json_rpc",
           repr(bad[:3]))
    finally:
        for x in ms:
            x.close()
        a.close()
        b.close()
    done()


main()

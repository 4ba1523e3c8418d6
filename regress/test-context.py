#!/usr/bin/env python3
"""The context store, messages and `loopsy logs` through the real binary:
set/get/list/delete and their --json shapes, the limits of SPEC.md section 3
with clear errors, TTL expiry (never returned, purged from context.json),
persistence across restarts and across `kill -9` in the middle of a burst of
writes, a corrupt store moved aside, rate limits, audit lines naming keys and
never values, messages to this host, other people's text escaped on the
terminal and text that is not UTF-8 refused, and the audit log read (escaped)
and followed across a rotation."""

import glob
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (World, ok, is_eq, diag, done, require, run_test,
                     wait_until, poll_until, frame, HELLO, recv_frame,
                     LOOPSY)

require()

UNLIMITED = "rateLimits: { execute: 0, transfer: 0, context: 0 }\n"
HOST = socket.gethostname()
MIB = 1024 * 1024


def started(config=UNLIMITED, env=None):
    w = World(config=config)
    if env:
        w.env.update(env)
    rc, out, err = w.lsy("start")
    if rc != 0:
        raise RuntimeError("start: %s" % err)
    return w


def store(w):
    with open(os.path.join(w.home, "context.json")) as f:
        return json.load(f)


def store_values(w):
    return {e["key"]: e["value"] for e in store(w)["entries"]}


def restart(w):
    w.lsy("kill-server")
    wait_until(lambda: w.server_pid() is None, 10, what="server gone")
    rc, out, err = w.lsy("start")
    if rc != 0:
        raise RuntimeError("start: %s" % err)


def lsyb(w, *args, input=None):
    """Run the CLI with bytes arguments; return (rc, stdout, stderr) as
    bytes, nothing decoded: what a terminal would get."""
    p = subprocess.run([LOOPSY, "-S", w.sock] + list(args), env=w.env,
                       cwd=w.home, input=input, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=20)
    return p.returncode, p.stdout, p.stderr


# What a terminal acts on or reorders: C0 but newline, DEL, C1, bidi marks.
UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u200e\u200f"
                    "\u202a-\u202e\u2066-\u2069]")


def terminal_safe(out):
    """out is valid UTF-8 with nothing a terminal would act on but
    newlines."""
    try:
        text = out.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return UNSAFE.search(text) is None


def utf8_json(out):
    """out parsed as JSON if it is valid UTF-8 and valid JSON, else None."""
    try:
        return json.loads(out.decode("utf-8"))
    except ValueError:
        return None


def raw_command(w, argv):
    """Run one command over the socket (no argv size limit); return
    (exit, error message, stdout)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(w.sock)
    s.sendall(HELLO + frame(2, json.dumps({"id": 1, "argv": argv})))
    out = b""
    try:
        while True:
            f = recv_frame(s, 20)
            if f is None:
                return None, "no reply", out
            t, p = f
            if t == 11:
                out += p
            elif t == 3:
                r = json.loads(p)
                return r["exit"], r.get("error", {}).get("message", ""), out
    finally:
        s.close()


# ------------------------------------------------------------------ basics

def set_get_list_delete():
    w = started()
    rc, out, err = w.lsy("context", "set", "greeting", "hello world")
    is_eq((rc, out, err), (0, "", ""), "context_set_succeeds_silently")
    is_eq(w.lsy("context", "get", "greeting"), (0, "hello world\n", ""),
          "context_get_prints_the_value")
    rc, out, err = w.lsy("context", "get", "missing")
    is_eq((rc, err.strip()), (1, "no such key: missing"),
          "context_get_missing_key_exits_1_and_names_it")
    w.lsy("context", "set", "b", "two")
    rc, out, err = w.lsy("context", "list")
    is_eq([l.split()[0] for l in out.splitlines()], ["b", "greeting"],
          "context_list_prints_keys_in_order")
    ok(out.splitlines()[1].split()[1] == "11",
       "context_list_shows_value_sizes", out)
    is_eq(w.lsy("context", "delete", "b")[0], 0, "context_delete_succeeds")
    rc, out, err = w.lsy("context", "delete", "b")
    is_eq((rc, err.strip()), (1, "no such key: b"),
          "context_delete_missing_key_is_an_error")
    is_eq(w.lsy("context", "get", "b")[0], 1, "deleted_key_is_gone")
    # Options before or after the arguments, as SPEC.md writes them.
    is_eq(w.lsy("context", "set", "--ttl", "100", "t1", "x")[0], 0,
          "ttl_option_before_arguments")
    is_eq(w.lsy("context", "set", "t2", "x", "--ttl", "100")[0], 0,
          "ttl_option_after_arguments")
    rc, out, err = w.lsy("context", "set", "k", "v", "extra")
    ok(rc == 2 and "unexpected argument: extra" in err,
       "context_set_extra_argument_is_a_usage_error", err)
    rc, out, err = w.lsy("context", "set", "k", "v", "--ttl", "0")
    ok(rc == 2 and "--ttl 0" in err, "ttl_zero_is_refused", err)
    rc, out, err = w.lsy("context", "get", "-t", "elsewhere", "greeting")
    ok(rc == 1 and "unknown peer: elsewhere" in err,
       "context_remote_target_is_an_unknown_peer", err)
    is_eq(w.lsy("context", "get", "-t", HOST, "greeting")[1],
          "hello world\n", "context_target_naming_this_host_is_local")
    w.close()


def json_shapes():
    w = started()
    before = int(time.time() * 1000)
    w.lsy("context", "set", "plain", "v1")
    w.lsy("context", "set", "--ttl", "60", "timed", "v2")
    after = int(time.time() * 1000)
    rc, out, err = w.lsy("context", "get", "--json", "plain")
    j = json.loads(out)
    is_eq(sorted(j), ["createdAt", "key", "updatedAt", "value"],
          "get_json_fields_without_ttl")
    ok(before <= j["createdAt"] <= after and j["updatedAt"] ==
       j["createdAt"], "get_json_times_are_ms_since_epoch", j)
    j = json.loads(w.lsy("context", "get", "timed", "--json")[1])
    is_eq(j["expiresAt"] - j["updatedAt"], 60000, "get_json_expiresAt")
    wait_until(lambda: time.time() * 1000 > j["updatedAt"] + 1, 1,
               what="the next millisecond")
    w.lsy("context", "set", "plain", "v3")
    j = json.loads(w.lsy("context", "get", "--json", "plain")[1])
    ok(j["updatedAt"] > j["createdAt"],
       "overwrite_keeps_createdAt_and_moves_updatedAt", j)
    j = json.loads(w.lsy("context", "list", "--json")[1])
    is_eq(list(j), ["entries"], "list_json_is_an_object_of_entries")
    is_eq([(e["key"], e["value"]) for e in j["entries"]],
          [("plain", "v3"), ("timed", "v2")], "list_json_has_values")
    f = store(w)
    is_eq((f["version"], sorted(e["key"] for e in f["entries"])),
          (1, ["plain", "timed"]), "context_json_file_format")
    is_eq(oct(os.stat(os.path.join(w.home, "context.json")).st_mode & 0o777),
          "0o600", "context_json_is_private")
    w.close()


def prefix():
    w = started()
    for k in ("task:1", "task:2", "tasks", "inbox:x", "t"):
        w.lsy("context", "set", k, "v")
    rc, out, err = w.lsy("context", "list", "--prefix", "task:")
    is_eq([l.split()[0] for l in out.splitlines()], ["task:1", "task:2"],
          "list_prefix_selects_keys")
    j = json.loads(w.lsy("context", "list", "--json", "--prefix", "t")[1])
    is_eq([e["key"] for e in j["entries"]], ["t", "task:1", "task:2",
                                             "tasks"], "list_prefix_json")
    is_eq(w.lsy("context", "list", "--prefix", "zz")[1], "",
          "list_prefix_without_matches_is_empty")
    w.close()


# ------------------------------------------------------------------ limits

def limits():
    w = started()
    is_eq(w.lsy("context", "set", "k" * 256, "v")[0], 0,
          "key_of_256_bytes_accepted")
    rc, out, err = w.lsy("context", "set", "k" * 257, "v")
    ok(rc == 1 and "key too long: 257 bytes (the limit is 256)" in err,
       "key_of_257_bytes_refused_clearly", err)
    big = "x" * MIB
    rc, out, err = w.lsy("context", "set", "big", "-", input=big)
    is_eq((rc, err), (0, ""), "value_of_1_MiB_from_stdin_accepted")
    rc, out, err = w.lsy("context", "get", "big")
    ok(rc == 0 and out == big + "\n", "value_of_1_MiB_read_back_whole",
       "rc %d len %d" % (rc, len(out)))
    rc, out, err = w.lsy("context", "set", "big2", "-", input=big + "y")
    ok(rc == 1 and "value too large" in err and "1 MiB" in err,
       "value_of_1_MiB_plus_1_from_stdin_refused_clearly", err)
    # The server checks too, whoever sends the command.
    rc, msg, out = raw_command(w, ["context-set", "big3", big + "y"])
    ok(rc == 1 and "value too large for big3: 1048577 bytes" in msg,
       "server_refuses_1_MiB_plus_1_over_the_protocol", msg)
    rc, msg, out = raw_command(w, ["context-set", "big4", big])
    is_eq(rc, 0, "server_accepts_exactly_1_MiB_over_the_protocol")
    is_eq(w.lsy("context", "get", "big2")[0], 1, "refused_value_not_stored")
    # "--" after the arguments is no option at all: nothing to add, no abort.
    for argv in (["context-set", "dd", "v", "--"], ["context-get", "dd", "--"],
                 ["context-list", "--"], ["msg-inbox", "--"]):
        rc, msg, out = raw_command(w, argv)
        ok(rc is not None, "server_survives_a_trailing_double_dash_(%s)" %
           argv[0], msg)
    is_eq(w.lsy("context", "get", "dd"), (0, "v\n", ""),
          "set_with_a_trailing_double_dash_stored_the_value")
    w.close()


def entry_limit():
    # 10000 entries written straight to the file, loaded at start: one
    # more new key is refused, an existing key can still change.
    w = World(config=UNLIMITED)
    now = int(time.time() * 1000)
    with open(os.path.join(w.home, "context.json"), "w") as f:
        json.dump({"version": 1, "entries": [
            {"key": "k%05d" % i, "value": "v", "createdAt": now,
             "updatedAt": now} for i in range(9999)]}, f)
    w.lsy("start")
    is_eq(w.lsy("context", "set", "the-10000th", "v")[0], 0,
          "entry_number_10000_accepted")
    rc, out, err = w.lsy("context", "set", "the-10001st", "v")
    ok(rc == 1 and "context store full: 10000 entries (the limit is "
       "10000, context.maxEntries)" in err,
       "entry_number_10001_refused_clearly", err)
    is_eq(w.lsy("context", "set", "k00000", "changed")[0], 0,
          "full_store_still_updates_existing_keys")
    w.lsy("context", "delete", "k00001")
    is_eq(w.lsy("context", "set", "the-10001st", "v")[0], 0,
          "deleting_makes_room")
    is_eq(len(store(w)["entries"]), 10000, "file_holds_10000_entries")
    w.close()


# ------------------------------------------------------------------ TTL

def ttl_expiry():
    w = started()
    w.lsy("context", "set", "--ttl", "1", "brief", "now you see me")
    w.lsy("context", "set", "lasting", "here")
    expires = json.loads(w.lsy("context", "get", "--json",
                               "brief")[1])["expiresAt"]
    late = []

    def gone():
        t0 = time.time() * 1000
        rc, out, err = w.lsy("context", "get", "brief")
        if rc == 0 and t0 >= expires:
            late.append(t0 - expires)
        return rc == 1
    wait_until(gone, 10, what="brief to expire")
    is_eq(late, [], "expired_entry_never_returned")
    ok("brief" not in w.lsy("context", "list")[1],
       "expired_entry_not_listed")
    # The timer purges the file without any command asking.
    w.lsy("context", "set", "--ttl", "1", "brief2", "x")
    wait_until(lambda: "brief2" not in store_values(w), 10,
               what="brief2 purged from context.json")
    ok("lasting" in store_values(w), "expired_entry_purged_from_file")
    w.close()


# ------------------------------------------------------------------ durability

def persistence():
    w = started()
    w.lsy("context", "set", "survivor", "still here")
    w.lsy("context", "set", "--ttl", "3600", "timed", "t")
    restart(w)
    is_eq(w.lsy("context", "get", "survivor")[1], "still here\n",
          "value_survives_server_restart")
    j = json.loads(w.lsy("context", "get", "--json", "timed")[1])
    ok("expiresAt" in j, "ttl_survives_server_restart", j)
    w.close()


def kill9_burst():
    w = started()
    keys = ["key%02d" % i for i in range(16)]
    pad = "p" * 4000   # a bigger file: writes take long enough to hit
    for i in range(200):
        w.lsy("context", "set", "pad%03d" % i, pad)
    for k in keys:
        w.lsy("context", "set", k, "old")
    written = {k: {"old"} for k in keys}
    lock = threading.Lock()
    rounds = 5
    bad = []
    for r in range(rounds):
        stop = threading.Event()

        def writer(n):
            i = 0
            while not stop.is_set():
                k = keys[(n * 5 + i) % len(keys)]
                v = "r%d-w%d-%d" % (r, n, i)
                with lock:
                    written[k].add(v)
                w.lsy("context", "set", k, v)
                i += 1
        pid = w.server_pid()
        threads = [threading.Thread(target=writer, args=(n,))
                   for n in range(4)]
        for t in threads:
            t.start()
        time.sleep(random.uniform(0.05, 0.6))  # a random moment to kill
        os.kill(pid, signal.SIGKILL)
        stop.set()
        for t in threads:
            t.join(30)
        # Writers may have started a new server after the kill; end it so
        # the file is still.
        w.lsy("kill-server")
        try:
            vals = store_values(w)
        except Exception as e:
            bad.append("round %d: context.json unreadable: %r" % (r, e))
            break
        for k in keys:
            if vals.get(k) not in written[k]:
                bad.append("round %d: %s = %r" % (r, k, vals.get(k)))
        if len([k for k in vals if k.startswith("pad")]) != 200:
            bad.append("round %d: pad keys lost" % r)
        if glob.glob(os.path.join(w.home, "context.json.corrupt-*")):
            bad.append("round %d: a store was found corrupt" % r)
            break
        rc, out, err = w.lsy("start")
        got = {k: w.lsy("context", "get", k)[1].rstrip("\n") for k in keys}
        if got != {k: vals[k] for k in keys}:
            bad.append("round %d: restarted server disagrees with file" % r)
    temps = glob.glob(os.path.join(w.home, "context.json.??????"))
    diag("kill -9 interrupted a write (left a temporary file) in %d of %d "
         "rounds" % (len(temps), rounds))
    is_eq(bad, [], "kill_9_during_writes_leaves_old_or_new_values")
    ok(w.server_pid() is not None, "server_restarts_cleanly_after_kill_9")
    w.close()


def corrupt_store():
    w = World(config=UNLIMITED)
    path = os.path.join(w.home, "context.json")
    with open(path, "w") as f:
        f.write('{"version":1,"entries":[{"key":"a","val')
    rc, out, err = w.lsy("start")
    is_eq(rc, 0, "server_starts_with_a_corrupt_store")
    is_eq(w.lsy("context", "list")[1], "", "corrupt_store_starts_empty")
    aside = glob.glob(path + ".corrupt-*")
    is_eq(len(aside), 1, "corrupt_store_moved_aside")
    with open(os.path.join(w.home, "logs", "server.log")) as f:
        log = f.read()
    ok("is corrupt" in log and "moved to" in log,
       "corrupt_store_reported_in_server_log", log)
    is_eq(w.lsy("context", "set", "fresh", "v")[0], 0,
          "store_works_after_corruption")
    w.close()
    # A store that cannot be read at all: every reader says so.
    w = World(config=UNLIMITED)
    os.mkdir(os.path.join(w.home, "context.json"))
    w.lsy("start")
    for argv in (["context", "list"], ["context", "get", "k"],
                 ["msg", "inbox"]):
        rc, out, err = w.lsy(*argv)
        ok(rc == 1 and out == "" and "context store unavailable" in err,
           "unreadable_store_fails_" + "_".join(argv[:2]).replace("-", "_"),
           (rc, out, err))
    w.close()


# ------------------------------------------------------------------ policy

def rate_limit():
    w = started(config="rateLimits: { context: 5 }\n")
    rcs = [w.lsy("context", "set", "k%d" % i, "v")[0] for i in range(5)]
    is_eq(rcs, [0] * 5, "five_context_commands_allowed")
    rc, out, err = w.lsy("context", "get", "k0")
    ok(rc == 1 and "rate limit" in err and "rateLimits.context" in err,
       "sixth_context_command_in_a_minute_is_rate_limited", err)
    ok("5 context commands a minute" in err and "bursts of up to 5" in err
       and re.search(r"retry in \d+ s", err),
       "the_rate_limit_error_says_the_rate_the_burst_and_when", err)
    rc, out, err = w.lsy("msg", "inbox")
    ok(rc == 1 and "rateLimits.context" in err,
       "messages_share_the_context_rate_limit", err)
    w.close()


def configured_limits():
    w = started(config=UNLIMITED + "context: { maxEntries: 2, maxBytes: 30 }\n")
    is_eq([w.lsy("context", "set", k, "v")[0] for k in ("a", "b")], [0, 0],
          "configured_store_takes_its_entries")
    rc, out, err = w.lsy("context", "set", "c", "v")
    ok(rc == 1 and "(the limit is 2, context.maxEntries)" in err,
       "context_max_entries_from_config_is_enforced", err)
    rc, out, err = w.lsy("context", "set", "a", "x" * 40)
    ok(rc == 1 and "context.maxBytes" in err and
       w.lsy("context", "get", "a")[1] == "v\n",
       "context_max_bytes_from_config_is_enforced", err)
    w.close()


def audit_has_keys_not_values():
    w = started()
    secret = "s3cr3t-value-%d" % random.randrange(1 << 30)
    w.lsy("context", "set", "api-token", secret)
    w.lsy("context", "get", "api-token")
    w.lsy("msg", "send", HOST, "body " + secret)
    with open(os.path.join(w.home, "logs", "audit.jsonl")) as f:
        text = f.read()
    lines = [json.loads(l) for l in text.splitlines()]
    ok(any(l["op"] == "context-set" and l["target"] == "api-token"
           for l in lines), "audit_names_the_key", text)
    ok(secret not in text, "audit_never_holds_the_value")
    w.close()


# ------------------------------------------------------------------ messages

def messages():
    w = started()
    before = int(time.time() * 1000)
    rc, out, err = w.lsy("msg", "send", HOST, "hello, me", "--type",
                         "request")
    ok(rc == 0, "msg_send_to_this_host", err)
    mid = out.strip()
    m = re.fullmatch(r"(\d+)-(.+)-([0-9a-f]{4})", mid)
    ok(m is not None and m.group(2) == HOST and
       int(m.group(1)) >= before, "msg_id_is_ms_hostname_4hex", mid)
    entries = {e["key"]: e for e in
               json.loads(w.lsy("context", "list", "--json")[1])["entries"]}
    inbox_key = "inbox:%s:%s" % (HOST, mid)
    ok(inbox_key in entries and "outbox:" + mid in entries,
       "msg_keys_inbox_to_id_and_outbox_id", sorted(entries))
    env = json.loads(entries[inbox_key]["value"])
    is_eq(sorted(env), ["body", "from", "id", "to", "ts", "type"],
          "envelope_has_exactly_from_to_ts_id_type_body")
    is_eq((env["from"], env["to"], env["id"], env["type"], env["body"]),
          (HOST, HOST, mid, "request", "hello, me"), "envelope_values")
    ok(isinstance(env["ts"], int) and env["ts"] == int(m.group(1)),
       "envelope_ts_is_ms", env)
    e = entries[inbox_key]
    is_eq(e["expiresAt"] - e["updatedAt"], 3600000, "inbox_ttl_3600_s")
    e = entries["outbox:" + mid]
    is_eq(e["expiresAt"] - e["updatedAt"], 3600000, "outbox_ttl_3600_s")
    is_eq(json.loads(e["value"]), env, "outbox_holds_the_same_envelope")

    rc, out2, err = w.lsy("msg", "send", "self", "second")
    mid2 = out2.strip()
    rc, out, err = w.lsy("msg", "inbox")
    is_eq(out.splitlines(), ["%s %s [request] hello, me" % (mid, HOST),
                             "%s %s [chat] second" % (mid2, HOST)],
          "inbox_lists_messages_oldest_first")
    j = json.loads(w.lsy("msg", "inbox", "--json")[1])
    is_eq([x["id"] for x in j], [mid, mid2], "inbox_json_lists_envelopes")

    is_eq(w.lsy("msg", "ack", mid)[0], 0, "msg_ack_succeeds")
    entries = {e["key"]: e for e in
               json.loads(w.lsy("context", "list", "--json")[1])["entries"]}
    ok(inbox_key not in entries, "ack_removes_the_inbox_entry")
    a = entries.get("ack:" + HOST)
    ok(a is not None and a["value"] == mid and
       a["expiresAt"] - a["updatedAt"] == 7200000,
       "ack_key_holds_the_id_for_7200_s", a)
    is_eq([x["id"] for x in json.loads(w.lsy("msg", "inbox",
                                              "--json")[1])],
          [mid2], "acked_message_leaves_the_inbox")
    is_eq(w.lsy("msg", "acked", HOST)[1], mid + "\n",
          "msg_acked_prints_the_last_acked_id")
    is_eq(w.lsy("msg", "acked", "self")[1], mid + "\n",
          "msg_acked_self_is_this_host")
    rc, out, err = w.lsy("msg", "ack", mid)
    ok(rc == 1 and "no such message" in err, "ack_twice_is_an_error", err)
    rc, out, err = w.lsy("msg", "send", "elsewhere", "hi")
    ok(rc == 1 and "unknown peer: elsewhere" in err,
       "msg_to_another_host_is_an_unknown_peer", err)
    rc, out, err = w.lsy("msg", "send", HOST, "hi", "--type", "gossip")
    ok(rc == 2 and "unknown message type: gossip" in err,
       "msg_type_must_be_known", err)
    # "--" ends the options where the arguments are, as it does before them.
    rc, out, err = w.lsy("msg", "send", "self", "--", "hello")
    rc2, out2, err2 = w.lsy("msg", "send", "self", "--", "-t")
    bodies = {m["id"]: m["body"] for m in
              json.loads(w.lsy("msg", "inbox", "--json")[1])}
    ok(rc == 0 and bodies.get(out.strip()) == "hello",
       "msg_send_text_after_double_dash", err)
    ok(rc2 == 0 and bodies.get(out2.strip()) == "-t",
       "msg_send_text_after_double_dash_is_no_option", err2)
    rc, out, err = w.lsy("msg", "send", "self", "x", "--", "y")
    ok(rc == 2 and "unexpected argument: y" in err,
       "msg_send_extra_argument_after_double_dash_is_a_usage_error", err)
    rc, out, err = w.lsy("msg", "ack", "--", out2.strip())
    ok(rc == 0 and out2.strip() not in json.dumps(json.loads(
        w.lsy("msg", "inbox", "--json")[1])), "msg_ack_after_double_dash",
       err)
    w.close()


def double_dash():
    w = started()
    rc, out, err = w.lsy("context", "set", "key", "--", "--ttl")
    ok(rc == 0 and w.lsy("context", "get", "key")[1] == "--ttl\n",
       "context_set_value_after_double_dash_is_no_option", err)
    rc, out, err = w.lsy("context", "set", "--ttl", "60", "k2", "--", "-t")
    e = [x for x in json.loads(w.lsy("context", "list", "--json")[1])
         ["entries"] if x["key"] == "k2"]
    ok(rc == 0 and len(e) == 1 and e[0]["value"] == "-t" and
       e[0]["expiresAt"] - e[0]["updatedAt"] == 60000,
       "context_set_options_before_and_value_after_double_dash", err)
    rc, out, err = w.lsy("context", "set", "--", "k3", "v", "--ttl", "5")
    ok(rc == 2 and "unexpected argument: --ttl" in err and
       w.lsy("context", "get", "k3")[0] == 1,
       "context_set_option_after_leading_double_dash_is_an_argument", err)
    rc, out, err = w.lsy("context", "set", "k4", "--")
    ok(rc == 2 and "wrong number of arguments" in err and
       w.lsy("context", "get", "key")[0] == 0,
       "context_set_double_dash_is_not_the_value_and_the_server_goes_on",
       err)
    w.close()


# ------------------------------------------------------------------ text

EVIL = "evil\x1b]0;pwned\x07\x1b[2J\x1b[31mred\rover"


def others_text_is_escaped():
    w = started()
    body = EVIL + "\u009b\u202eabc\tx\ny h\u00e9llo \u2713"
    rc, out, err = w.lsy("msg", "send", "self", body)
    mid = out.strip()
    rc, out, err = lsyb(w, "msg", "inbox")
    ok(rc == 0 and terminal_safe(out), "inbox_prints_no_control_characters",
       out)
    is_eq(out.decode("utf-8", "replace"),
          "%s %s [chat] evil\\x1b]0;pwned\\x07\\x1b[2J\\x1b[31mred"
          "\\rover\\u009b\\u202eabc\\tx\\ny h\u00e9llo \u2713\n" % (mid, HOST),
          "inbox_escapes_controls_and_keeps_utf8_text")
    j = utf8_json(lsyb(w, "msg", "inbox", "--json")[1])
    ok(j and j[0]["body"] == body, "inbox_json_keeps_the_body_as_sent", j)
    # Anyone with the store can write an envelope: from and type too.
    env = json.dumps({"from": "\x1b[31mmallory", "to": HOST, "ts": 1,
                      "id": "1-x\u202e-0000", "type": "chat\u0085",
                      "body": "b"})
    w.lsy("context", "set", "inbox:%s:1-x" % HOST, env)
    rc, out, err = lsyb(w, "msg", "inbox")
    ok(terminal_safe(out) and out.decode().splitlines()[0] ==
       "1-x\\u202e-0000 \\x1b[31mmallory [chat\\u0085] b",
       "inbox_escapes_from_type_and_id", out)

    key = "x\x01\x1b[31mred\u2066"
    w.lsy("context", "set", key, EVIL)
    rc, out, err = lsyb(w, "context", "list")
    ok(rc == 0 and terminal_safe(out) and
       "x\\x01\\x1b[31mred\\u2066 %d\n" % len(EVIL) in out.decode(),
       "context_list_escapes_keys", out)
    is_eq(lsyb(w, "context", "get", key)[1], (EVIL + "\n").encode(),
          "context_get_prints_the_value_as_stored")
    w.close()


def non_utf8_is_refused():
    w = started()
    rc, out, err = lsyb(w, "context", "set", "bin", "-",
                        input=b"\xff\xfe\x80abc")
    ok(rc == 1 and b"values are UTF-8 text" in err and
       b"byte 0xff at offset 0" in err,
       "context_set_refuses_a_value_that_is_not_utf8", err)
    is_eq(w.lsy("context", "get", "bin")[0], 1, "refused_value_is_not_stored")
    rc, out, err = lsyb(w, "context", "set", b"a\xc0\xafb", "v")
    ok(rc == 1 and b"keys are UTF-8 text" in err and
       b"a\\xc0\\xafb" in err and terminal_safe(err),
       "context_set_refuses_a_key_that_is_not_utf8", err)
    rc, out, err = lsyb(w, "context", "set", "k", b"a\xed\xa0\x80")
    ok(rc == 1 and b"values are UTF-8 text" in err,
       "context_set_refuses_an_encoded_surrogate", err)
    rc, out, err = lsyb(w, "msg", "send", "self", b"hi \x9b31m")
    ok(rc == 1 and b"messages are UTF-8 text" in err and
       b"byte 0x9b at offset 3" in err,
       "msg_send_refuses_a_body_that_is_not_utf8", err)
    is_eq(utf8_json(lsyb(w, "msg", "inbox", "--json")[1]), [],
          "refused_message_is_not_delivered")

    text = "h\u00e9 \u2713 \U0001f600 \u009b"
    is_eq(w.lsy("context", "set", "u", text)[0], 0, "utf8_values_are_stored")
    rc, out, err = lsyb(w, "context", "get", "u", "--json")
    is_eq((utf8_json(out) or {}).get("value"), text,
          "context_get_json_is_utf8")
    rc, out, err = lsyb(w, "context", "list", "--json")
    is_eq([e["key"] for e in (utf8_json(out) or {}).get("entries", [])],
          ["u"], "context_list_json_is_utf8")
    with open(os.path.join(w.home, "logs", "audit.jsonl"), "rb") as f:
        audit = f.read()
    rows = [utf8_json(l) for l in audit.splitlines()]
    ok(None not in rows and
       any(r["target"] == "a\ufffd\ufffdb" for r in rows),
       "audit_log_stays_utf8_json_with_a_bad_key", audit)
    rc, out, err = lsyb(w, "logs", "--json")
    rows = [utf8_json(l) for l in out.splitlines()]
    ok(rows and None not in rows, "logs_json_is_utf8", out)
    rc, out, err = w.lsy("msg", "ack", "--record", "--", "\udcff\udcfeabc")
    rc2, out2, err2 = w.lsy("context", "list", "--json")
    ok(rc == 1 and "not UTF-8" in err and "ack:" not in out2,
       "msg_ack_record_refuses_an_id_that_is_not_utf8", err + out2)
    w.close()


def old_store_with_bad_bytes():
    w = World(config=UNLIMITED)
    with open(os.path.join(w.home, "context.json"), "wb") as f:
        f.write(b'{"version":1,"entries":[\n{"key":"old","value":"a\xffb",'
                b'"createdAt":1,"updatedAt":1}\n]}\n')
    is_eq(w.lsy("start")[0], 0, "server_starts_with_bad_bytes_in_store")
    rc, out, err = lsyb(w, "context", "get", "old", "--json")
    is_eq((utf8_json(out) or {}).get("value"), "a\ufffdb",
          "stored_bad_bytes_become_U_FFFD")
    with open(os.path.join(w.home, "logs", "server.log")) as f:
        log = f.read()
    ok("not UTF-8" in log, "stored_bad_bytes_reported_in_server_log", log)
    w.close()


# ------------------------------------------------------------------ logs

class Follower:
    """`loopsy logs -f` with its output read as it comes."""

    def __init__(self, w, *args):
        self.p = subprocess.Popen(w.argv("logs", "-f", *args), env=w.env,
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE)
        os.set_blocking(self.p.stdout.fileno(), False)
        self.buf = b""

    def text(self):
        try:
            while True:
                d = os.read(self.p.stdout.fileno(), 65536)
                if not d:
                    break
                self.buf += d
        except BlockingIOError:
            pass
        return self.buf.decode()

    def close(self):
        self.p.kill()
        self.p.wait()


def logs():
    w = started()
    w.lsy("context", "set", "logged-key", "v")
    rc, out, err = w.lsy("logs")
    line = [l for l in out.splitlines() if " context-set " in l]
    ok(rc == 0 and len(line) == 1 and
       re.fullmatch(r"\S+Z local:\d+ context-set logged-key ok \d+ms \d+B",
                    line[0]), "logs_prints_time_actor_op_target_result",
       out)
    rc, out, err = w.lsy("logs", "--json")
    rows = [json.loads(l) for l in out.splitlines()]
    ok(any(r["op"] == "context-set" and r["target"] == "logged-key"
           for r in rows), "logs_json_prints_the_json_lines", out)
    f = Follower(w)
    try:
        wait_until(lambda: "logged-key" in f.text(), 10,
                   what="existing lines from logs -f")
        w.lsy("context", "set", "followed-key", "v")
        ok(poll_until(lambda: "followed-key" in f.text(), 10),
           "logs_f_shows_a_new_command", f.text())
    finally:
        f.close()
    w.close()


def logs_escape_control_characters():
    w = started()
    w.lsy("context", "set", "k\x1b]0;pwned\x07\u202e", "v")
    with open(os.path.join(w.home, "logs", "audit.jsonl"), "ab") as f:
        f.write(b"not json \x1b[2J\x9b\n")
    rc, out, err = lsyb(w, "logs")
    text = out.decode("utf-8", "replace")
    ok(rc == 0 and terminal_safe(out) and
       " context-set k\\x1b]0;pwned\\x07\\u202e ok " in text,
       "logs_escapes_control_characters_in_targets", out)
    ok("not json \\x1b[2J\\x9b\n" in text,
       "logs_escapes_lines_that_are_not_json", out)
    rc, out, err = lsyb(w, "logs", "--json")
    try:
        text = out.decode("utf-8")
    except UnicodeDecodeError:
        text = ""
    ok("\nnot json \x1b[2J\ufffd\n" in text,
       "logs_json_replaces_bytes_that_are_not_utf8", out)
    w.close()


def logs_follow_rotation():
    w = started(env={"LOOPSY_AUDIT_MAX_SIZE": "1500"})
    f = Follower(w, "--json")
    try:
        for i in range(30):
            w.lsy("context", "set", "rot-%02d" % i, "v")
        logs_dir = os.path.join(w.home, "logs")
        ok(os.path.exists(os.path.join(logs_dir, "audit.jsonl.2")),
           "audit_log_rotated_at_the_test_size")
        want = ["rot-%02d" % i for i in range(30)]

        def seen():
            t = f.text()
            return all('"%s"' % k in t for k in want)
        ok(poll_until(seen, 10), "logs_f_follows_across_rotations",
           f.text())
        got = [json.loads(l)["target"] for l in f.text().splitlines()
               if '"rot-' in l]
        is_eq(got, want, "logs_f_sees_each_line_once_in_order")
    finally:
        f.close()
    rc, out, err = w.lsy("logs", "--all", "--json")
    got = [json.loads(l)["target"] for l in out.splitlines()
           if '"rot-' in l]
    ok(got == sorted(got) and got[-1] == "rot-29" and len(got) > 20,
       "logs_all_prints_rotated_files_oldest_first", got)
    rc, out, err = w.lsy("logs", "--json")
    ok(len(out.splitlines()) < 20, "logs_without_all_prints_current_file")
    w.close()


for fn in (set_get_list_delete, json_shapes, prefix, limits, entry_limit,
           ttl_expiry, persistence, kill9_burst, corrupt_store, rate_limit,
           configured_limits, audit_has_keys_not_values, messages,
           double_dash, others_text_is_escaped, non_utf8_is_refused,
           old_store_with_bad_bytes, logs, logs_escape_control_characters,
           logs_follow_rotation):
    run_test(fn, fn.__name__)
done()

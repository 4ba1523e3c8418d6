#!/usr/bin/python3
# loopsy mcp against real clients: the official TypeScript SDK client
# (regress/mcp/sdk-client.mjs) initializes at every supported version,
# validates every tool's schema, calls every tool against a local server
# and each that takes a peer against a second server paired as one, and
# goes through the error paths (unknown session, offline peer, denied
# command, bad arguments, unknown tool); the inspector CLI 0.15.0 lists the
# tools and calls one.  Skipped (not failed) when node or npm is missing or
# the packages cannot be installed (no registry); once they are there, a
# loopsy mcp that does not answer fails.
import json
import re
import os
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import *  # noqa

require()

HERE = os.path.dirname(os.path.abspath(__file__))
MCP = os.path.join(HERE, "mcp")
SDK = os.path.join(MCP, "node_modules", "@modelcontextprotocol", "sdk",
                   "package.json")
INSPECTOR = os.path.join(MCP, "node_modules", "@modelcontextprotocol",
                         "inspector", "cli", "build", "cli.js")


def npm_install():
    """Install regress/mcp's packages once; None or why they are not there."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        return "node and npm are not installed"
    v = subprocess.run(["node", "--version"], stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL, timeout=20).stdout.decode()
    m = re.match(r"v(\d+)\.", v)
    if m is None or int(m.group(1)) < 20:
        return "node %s: the MCP SDK 1.32 and inspector 0.15 need node 20 " \
            "or later (Debian 12's nodejs is 18)" % v.strip()
    if os.path.exists(SDK) and os.path.exists(INSPECTOR):
        return None
    lock = os.path.exists(os.path.join(MCP, "package-lock.json"))
    try:
        p = subprocess.run(["npm", "ci" if lock else "install", "--no-audit",
                            "--no-fund", "--loglevel=error",
                            "--fetch-retries=1"], cwd=MCP,
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=300)
    except subprocess.TimeoutExpired:
        return "npm install took more than 300 s (no registry?)"
    if p.returncode != 0 or not os.path.exists(SDK):
        last = p.stdout.decode("utf-8", "replace").strip().splitlines()[-3:]
        return "npm could not install regress/mcp's packages (no " \
            "registry?): %s" % " / ".join(last)
    return None


why = npm_install()
if why is not None:
    skip_all(why)


def mcp_answers(w):
    """Does loopsy mcp answer initialize at all?  (rc, first line, stderr)"""
    msg = json.dumps({"jsonrpc": "2.0", "id": 0, "method": "initialize",
                      "params": {"protocolVersion": "2025-11-25",
                                 "capabilities": {},
                                 "clientInfo": {"name": "probe",
                                                "version": "1"}}}) + "\n"
    try:
        p = subprocess.run(w.argv("mcp"), env=w.env, cwd=w.home,
                           input=msg.encode(), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=20)
    except subprocess.TimeoutExpired as e:
        return None, (e.stdout or b"").decode(), "timed out"
    out = p.stdout.decode("utf-8", "replace")
    return p.returncode, out.split("\n")[0], p.stderr.decode("utf-8",
                                                               "replace")


def loopsy_mcp_answers_initialize(w):
    rc, line, err = mcp_answers(w)
    try:
        r = json.loads(line)
    except ValueError:
        r = {}
    return ok(r.get("id") == 0 and "result" in r and
              r["result"].get("protocolVersion") == "2025-11-25",
              "loopsy mcp answers initialize on stdout",
              "rc %r\nstdout: %r\nstderr: %s" % (rc, line[:500], err[-2000:]))


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
# Those whose peer argument means something: loopsy_list_peers refuses one
# (it lists this machine's peers) and loopsy_broadcast_context writes to
# every peer.
PEER_TOOLS = [t for t in TOOLS if t not in ("loopsy_list_peers",
                                            "loopsy_broadcast_context")]


def no_rate_limits(text):
    return re.sub(r"rateLimits:.*", "rateLimits: { execute: 0, "
                  "transfer: 0, context: 0 }", text)


def host(h):
    return {"socket": h.w.sock, "home": h.w.home, "port": h.port,
            "env": h.w.env}


def sdk_client_initializes_lists_validates_and_calls(a, b, offline):
    config = os.path.join(a.w.dir, "sdk-client.json")
    with open(config, "w") as f:
        json.dump({"loopsy": LOOPSY, "a": host(a), "b": host(b),
                   "peer": "bee", "back": "ay", "offline": offline}, f)
    p = subprocess.Popen(["node", os.path.join(MCP, "sdk-client.mjs"),
                          config], cwd=MCP, env=a.w.env,
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = p.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        diag("sdk-client.mjs timed out after 240 s")
    n = 0
    listed = covered = None
    for line in out.decode("utf-8", "replace").splitlines():
        try:
            r = json.loads(line)
        except ValueError:
            diag("sdk-client: " + line)
            continue
        if "tools" in r:
            listed = r["tools"]
            continue
        if "covered" in r:
            covered = r["covered"]
            continue
        n += 1
        ok(r["ok"], "sdk: " + r["name"], r.get("diag"))
    ok(listed is not None and sorted(listed) == sorted(TOOLS),
       "sdk: tools/list lists the 21 tools", repr(listed))
    covered = covered or {"local": [], "peer": []}
    missing = [t for t in TOOLS if t not in covered["local"]]
    ok(not missing, "sdk: every tool gave a good result on the local server",
       "not called, or no good result: %r" % missing)
    missing = [t for t in PEER_TOOLS if t not in covered["peer"]]
    ok(not missing, "sdk: every tool that takes a peer gave a good result "
       "on the peer", "not called, or no good result: %r" % missing)
    ok(n > 0 and p.returncode == 0, "the SDK client ran every check "
       "(rc %d)" % p.returncode, err.decode("utf-8", "replace")[-3000:])


def inspector(w, *method):
    # The inspector's own argument parser would take loopsy's -S: run it
    # through a script that names the socket.
    wrapper = os.path.join(w.dir, "loopsy-mcp")
    with open(wrapper, "w") as f:
        f.write("#!/bin/sh\nexec %s -S %s mcp \"$@\"\n" % (
            shlex.quote(LOOPSY), shlex.quote(w.sock)))
    os.chmod(wrapper, stat.S_IRWXU)
    # "--": without it npx takes --cli for itself and starts the web UI.
    argv = ["npx", "--no", "--", "@modelcontextprotocol/inspector@0.15.0",
            "--cli", "-e", "LOOPSY_HOME=" + w.home,
            "-e", "TMPDIR=" + w.tmp, wrapper] + list(method)
    env = dict(w.env, NO_UPDATE_NOTIFIER="1", npm_config_update_notifier=
               "false")
    # Its own process group, so a timeout ends npx and all it started.
    p = subprocess.Popen(argv, cwd=MCP, env=env, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         start_new_session=True)
    try:
        out, err = p.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        return None, None, "timed out: " + err.decode("utf-8", "replace")
    out, err = out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
    try:
        return p.returncode, json.loads(out), err
    except ValueError:
        return p.returncode, None, out + err


def inspector_cli_lists_tools_and_calls_one(w):
    rc, r, err = inspector(w, "--method", "tools/list")
    names = [t.get("name") for t in (r or {}).get("tools", [])]
    ok(rc == 0 and "loopsy_session_list" in names,
       "inspector --cli tools/list lists loopsy_session_list",
       "rc %r %r\n%s" % (rc, names, err[-2000:]))
    rc, r, err = inspector(w, "--method", "tools/call", "--tool-name",
                           "loopsy_session_list")
    ok(rc == 0 and r is not None and r.get("isError") is False and
       r.get("content"), "inspector --cli tools/call loopsy_session_list",
       "rc %r %r\n%s" % (rc, r, err[-2000:]))


def peers_add(h, name, port, fp, key):
    rc, out, err = h.lsy("peers", "add", name, "127.0.0.1:%d" % port,
                         "--key", "-", "--fingerprint", fp, input=key + "\n")
    return ok(rc == 0, "peers add %s 127.0.0.1:%d" % (name, port), out + err)


def main():
    hosts = []
    # A port nothing listens on: bound (so no one else takes it) but not
    # listening, a connection to it is refused.
    hole = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    hole.bind(("127.0.0.1", 0))
    try:
        a = PeerHost("a", no_rate_limits)
        hosts.append(a)
        ok(a.port is not None, "a private server starts", repr(a.status()))
        b = PeerHost("b", no_rate_limits)
        hosts.append(b)
        ok(b.port is not None, "a second private server starts, for a peer",
           repr(b.status()))
        if not (peers_add(a, "bee", b.port, b.fp, b.key) and
                peers_add(a, "gone", hole.getsockname()[1], b.fp, b.key) and
                peers_add(b, "ay", a.port, a.fp, a.key)):
            return
        if loopsy_mcp_answers_initialize(a.w):
            run_test(lambda: sdk_client_initializes_lists_validates_and_calls(
                a, b, "gone"), "sdk_client_initializes_lists_validates_"
                "and_calls")
            run_test(lambda: inspector_cli_lists_tools_and_calls_one(a.w),
                     "inspector_cli_lists_tools_and_calls_one")
    except Exception as e:
        ok(False, "the two servers and their peers", repr(e))
    finally:
        for h in hosts:
            h.close()
        hole.close()
        done()


main()

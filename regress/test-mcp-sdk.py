#!/usr/bin/python3
# loopsy mcp against real clients: the official TypeScript SDK client
# (regress/mcp/sdk-client.mjs) initializes at every supported version,
# validates every tool's schema and calls tools; the inspector CLI 0.15.0
# lists the tools and calls one.  Skipped (not failed) when node or npm is
# missing or the packages cannot be installed (no registry); once they are
# there, a loopsy mcp that does not answer fails.
import json
import re
import os
import shlex
import shutil
import signal
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


def sdk_client_initializes_lists_validates_and_calls(w):
    p = subprocess.Popen(["node", os.path.join(MCP, "sdk-client.mjs"),
                          LOOPSY, w.sock], cwd=MCP, env=w.env,
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = p.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        diag("sdk-client.mjs timed out after 240 s")
    n = 0
    for line in out.decode("utf-8", "replace").splitlines():
        try:
            r = json.loads(line)
        except ValueError:
            diag("sdk-client: " + line)
            continue
        n += 1
        ok(r["ok"], "sdk: " + r["name"], r.get("diag"))
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


w = World()
rc, out, err = w.lsy("start")
ok(rc == 0, "a private server starts", out + err)
if loopsy_mcp_answers_initialize(w):
    run_test(lambda: sdk_client_initializes_lists_validates_and_calls(w),
             "sdk_client_initializes_lists_validates_and_calls")
    run_test(lambda: inspector_cli_lists_tools_and_calls_one(w),
             "inspector_cli_lists_tools_and_calls_one")
w.close()
done()

#!/usr/bin/python3
# The phone web app end to end with every real piece: loopsy-relay on
# 127.0.0.1 serving the built app (web/dist), a loopsy server registered
# with it, and headless Chromium as a touch phone (390x844) driven by
# web/test/e2e.mjs (playwright-core).  Pairing in the page (wrong codes burn
# the link), a shell from the new-session picker, typing through the
# terminal, the compose box and the key bar's Ctrl, a reload that restores
# screen and scrollback once, network loss, a relay killed and restarted,
# and a revoke that cuts the page off for good.
#
# e2e.mjs drives the browser and reports one JSON line per test point on
# its stdout; what it needs from the laptop and the relay (mobile pair,
# send-keys, phone revoke, killing and restarting the relay) it asks here,
# one JSON line on its stdin each, and this side turns its reports into
# TAP.  Skipped without Chromium, node, web/node_modules or web/dist.
import json
import os
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from phonelib import *  # noqa
import harness

CHROMIUM = os.environ.get("CHROMIUM") or "/usr/bin/chromium"
E2E = os.path.join(WEB, "test", "e2e.mjs")
DIST = os.path.join(WEB, "dist")
DEADLINE = 150  # seconds for the whole browser run


def requirements():
    require_phone()
    if not os.access(CHROMIUM, os.X_OK):
        skip_all("no Chromium at %s" % CHROMIUM)
    for m in ("playwright-core", "@xterm/xterm"):
        if not os.path.isdir(os.path.join(WEB, "node_modules", m)):
            skip_all("web/node_modules/%s missing (npm ci in web/)" % m)
    if not os.path.isfile(os.path.join(DIST, "app.js")):
        skip_all("web/dist not built (cd web && npm run build)")
    try:
        major = int(subprocess.run(
            ["node", "-p", "process.versions.node.split('.')[0]"],
            capture_output=True, text=True, timeout=20).stdout.strip())
    except (ValueError, OSError, subprocess.SubprocessError):
        major = 0
    if major < 18:
        skip_all("node 18 or later needed")


requirements()

newest = max(os.path.getmtime(os.path.join(WEB, "src", f))
             for f in os.listdir(os.path.join(WEB, "src")))
if os.path.getmtime(os.path.join(DIST, "app.js")) < newest:
    diag("web/dist is older than web/src: testing the old build "
         "(cd web && npm run build)")

relay = Relay(extra=["--web", DIST])
laptop = Laptop(relay)


def running(argv):
    """Is a process running exactly argv (the test makes it unique)?"""
    want = ("\0".join(argv) + "\0").encode()
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                if f.read() == want:
                    return True
        except OSError:
            continue
    return False


def answer(req):
    op = req.get("op")
    if op == "pair":
        return laptop.pair()
    if op == "lsy":
        rc, out, err = laptop.lsy(*req["argv"])
        return {"rc": rc, "out": out, "err": err}
    if op == "phones":
        return laptop.phones()
    if op == "relay-kill":
        relay.stop(signal.SIGKILL)
        return True
    if op == "relay-start":
        relay.start()
        return True
    if op == "laptop-link":
        return poll_until(lambda: relay_connected(laptop.w),
                          req.get("timeout", 20), 0.05) or False
    if op == "screen-has":
        return poll_until(laptop.w.screen_has(req["target"], req["regex"]),
                          req.get("timeout", 10), 0.05) or False
    if op == "running":
        want = req.get("want", True)
        return poll_until(lambda: running(req["argv"]) == want,
                          req.get("timeout", 10), 0.05) or False
    raise ValueError("unknown request %r" % op)


def run_browser():
    env = dict(os.environ, E2E_RELAY=relay.url, CHROMIUM=CHROMIUM,
               NO_UPDATE_NOTIFIER="1")
    out = os.environ.get("UI_OUT")
    if not out and not os.access(os.path.join(WEB, "test"), os.W_OK):
        out = laptop.w.tmp  # a read-only source tree (distcheck)
    if out:
        env["E2E_OUT"] = out
    p = subprocess.Popen(["node", E2E], cwd=WEB, env=env,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         text=True, bufsize=1)
    harness._children.append(p)
    timer = threading.Timer(DEADLINE, p.kill)
    timer.start()
    done_seen = False
    try:
        for line in p.stdout:
            line = line.rstrip("\n")
            try:
                m = json.loads(line)
            except ValueError:
                diag(line)
                continue
            t = m.get("t")
            if t == "ok":
                name = m.get("name")
                if m.get("todo"):
                    name += " # TODO " + m["todo"]
                ok(m.get("ok"), name, m.get("diag"))
            elif t == "diag":
                diag(m.get("msg", ""))
            elif t == "done":
                done_seen = True
            elif t == "req":
                try:
                    r = {"id": m["id"], "result": answer(m)}
                except Exception as e:
                    r = {"id": m["id"], "error": repr(e)}
                try:
                    p.stdin.write(json.dumps(r) + "\n")
                    p.stdin.flush()
                except (BrokenPipeError, ValueError):
                    pass
    finally:
        timer.cancel()
        try:
            p.stdin.close()
        except (BrokenPipeError, ValueError):
            pass
        rc = p.wait(timeout=30)
    ok(done_seen and rc == 0, "the browser run finished (node exit %s)" % rc,
       None if done_seen else "killed after %d s or crashed" % DEADLINE)


def main():
    t0 = time.monotonic()
    run_test(run_browser, "the browser run")
    diag("browser run: %.1f s" % (time.monotonic() - t0))
    laptop.close()
    relay.close()
    done()


main()

#!/usr/bin/python3
"""bench/context.py: context store round trips (set then get of one key).

Two ways, same server, same store:
  cli     `loopsy context set` + `loopsy context get`, one process each:
          what a shell script or an agent running commands sees
  socket  the same two commands over one connection kept open, speaking
          the protocol (HELLO once, then COMMAND -> MSG_STDOUT* -> MSG_REPLY):
          the server's own cost (including the fsync of every set) without
          process start-up

    bench/context.py [--n 500] [--value-size 100] [--keys 100] [--no-write]

The store holds --keys keys of --value-size bytes before timing starts, so
every set rewrites a file of that size.  Standard library only; a section
is appended to bench/RESULTS.md unless --no-write.
"""
import argparse
import datetime
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from lsyproto import BENCH, TOP, LOOPSY, Conn, pct


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--value-size", type=int, default=100)
    ap.add_argument("--keys", type=int, default=100)
    ap.add_argument("--no-write", action="store_true")
    a = ap.parse_args()

    d = tempfile.mkdtemp(prefix="loopsy-bench-context-")
    home = os.path.join(d, "home")
    os.mkdir(home)
    sock = os.path.join(d, "sock")
    env = dict(os.environ, HOME=home, LOOPSY_HOME=home)
    for k in list(env):
        if k.startswith("LOOPSY") and k != "LOOPSY_HOME":
            del env[k]
    with open(os.path.join(home, "config.yaml"), "w") as f:
        f.write("rateLimits: { execute: 0, transfer: 0, context: 0 }\n")

    def lsy(*args):
        r = subprocess.run([LOOPSY, "-S", sock] + list(args), env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if r.returncode != 0:
            raise RuntimeError("%s: %s" % (args, r.stderr.decode()))
        return r.stdout

    results = {}
    try:
        lsy("start")
        value = "v" * a.value_size
        c = Conn(sock)
        for i in range(a.keys):
            c.run(["context-set", "fill%04d" % i, value])
        size = os.path.getsize(os.path.join(home, "context.json"))

        for mode in ("socket", "cli"):
            sets, gets, trips = [], [], []
            for i in range(a.n):
                v = "%s-%d-%s" % (mode, i, value[:max(0, a.value_size - 16)])
                t0 = time.perf_counter()
                if mode == "cli":
                    lsy("context", "set", "bench", v)
                else:
                    c.run(["context-set", "bench", v])
                t1 = time.perf_counter()
                if mode == "cli":
                    got = lsy("context", "get", "bench")
                else:
                    got = c.run(["context-get", "bench"])
                t2 = time.perf_counter()
                if got.decode() != v + "\n":
                    raise RuntimeError("read back %r" % got[:40])
                sets.append((t1 - t0) * 1e3)
                gets.append((t2 - t1) * 1e3)
                trips.append((t2 - t0) * 1e3)
            results[mode] = {k: {"median": statistics.median(x),
                                 "p95": pct(x, 95)}
                             for k, x in (("set", sets), ("get", gets),
                                          ("round trip", trips))}
        lsy("kill-server")
    finally:
        shutil.rmtree(d, ignore_errors=True)

    fs = subprocess.run(["df", "-T", tempfile.gettempdir()],
                        stdout=subprocess.PIPE).stdout.decode().split("\n")
    fstype = fs[1].split()[1] if len(fs) > 1 and fs[1] else "?"
    lines = ["", "## %s — context store round trips (bench/context.py)" %
             datetime.datetime.now().strftime("%Y-%m-%d %H:%M"), "",
             "%s, %s, Python %s; store: %d keys of %d bytes (context.json "
             "%d bytes, on %s at %s); %d set+get round trips each way; every "
             "set is written and fsynced before its reply." %
             (platform.node(), platform.machine(),
              platform.python_version(), a.keys + 1, a.value_size, size,
              fstype, tempfile.gettempdir(), a.n), "",
             "| path | set median | set p95 | get median | get p95 | "
             "round trip median | round trip p95 |",
             "|---|---|---|---|---|---|---|"]
    for mode, label in (("cli", "CLI (a process per command)"),
                        ("socket", "one socket, protocol frames")):
        r = results[mode]
        lines.append("| %s | %.3f ms | %.3f ms | %.3f ms | %.3f ms | "
                     "%.3f ms | %.3f ms |" %
                     (label, r["set"]["median"], r["set"]["p95"],
                      r["get"]["median"], r["get"]["p95"],
                      r["round trip"]["median"], r["round trip"]["p95"]))
    text = "\n".join(lines) + "\n"
    print(text)
    if not a.no_write:
        with open(os.path.join(BENCH, "RESULTS.md"), "a") as f:
            f.write(text)


if __name__ == "__main__":
    main()

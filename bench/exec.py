#!/usr/bin/python3
"""bench/exec.py: running `ls` and `true` through loopsy exec, beside
spawning the same programs directly.

Each program is timed, wall clock from start to exit with all output read:
  direct   subprocess.run([prog]) from this Python process: the floor
  sh -c    subprocess.run(["sh", "-c", prog]): what a shell would add
  CLI      `loopsy exec -- prog`, a client process per run: what a script or
           an agent running commands sees (client start-up included)
  socket   exec over one connection kept open, speaking the protocol
           (HELLO once, then COMMAND -> MSG_STDOUT* -> MSG_REPLY): the
           server's own cost (policy check, fork, exec, pipes, reply)
  floor    bench/exec-floor (built static here): a process that sends the
           same HELLO and COMMAND prepared in a file and waits for the reply,
           with no loopsy code and no libraries: the least any client
           process can add
and, for scale, with no program run:
  CLI no-op  `loopsy has-session -t none`, answered at once by the server
  start      `loopsy -V`: the loopsy process alone, no connection
  /bin/true  spawned directly: any process

The figures are interleaved (one run of each in turn, n rounds), so load
from elsewhere on the machine falls on all of them alike.

    bench/exec.py [--n 200] [--no-write]

rateLimits.execute is 0 so every run is allowed; `ls` runs in a directory
of 20 files.  Standard library only (and a C compiler for the floor); a
section is appended to bench/RESULTS.md unless --no-write.
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import tempfile
import time

from lsyproto import BENCH, TOP, LOOPSY, Conn, frame, pct


def timed(n, fns):
    """Run each of fns once a round, n rounds: {name: {median, p95}}."""
    t = {name: [] for name in fns}
    for fn in fns.values():
        fn()        # warm up: page cache, first fork
    for _ in range(n):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            t[name].append((time.perf_counter() - t0) * 1e3)
    return {name: {"median": statistics.median(v), "p95": pct(v, 95)}
            for name, v in t.items()}


def build_floor(d):
    """bench/exec-floor, static if the C library allows: (path, how)."""
    src = os.path.join(BENCH, "exec-floor.c")
    out = os.path.join(d, "exec-floor")
    cc = os.environ.get("CC", "cc")
    for flags, how in ((["-static"], "static"), ([], "dynamic: no static libc")):
        r = subprocess.run([cc, "-O2"] + flags + ["-o", out, src],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if r.returncode == 0:
            return out, how
    return None, "not built: no C compiler"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--no-write", action="store_true")
    a = ap.parse_args()

    d = tempfile.mkdtemp(prefix="loopsy-bench-exec-")
    home = os.path.join(d, "home")
    work = os.path.join(d, "work")
    os.mkdir(home)
    os.mkdir(work)
    for i in range(20):
        open(os.path.join(work, "file%02d" % i), "w").close()
    sock = os.path.join(d, "sock")
    env = dict(os.environ, HOME=home, LOOPSY_HOME=home)
    for k in list(env):
        if k.startswith("LOOPSY") and k != "LOOPSY_HOME":
            del env[k]
    with open(os.path.join(home, "config.yaml"), "w") as f:
        f.write("rateLimits: { execute: 0, transfer: 0, context: 0 }\n")
    progs = {"ls": shutil.which("ls"), "true": shutil.which("true")}
    P = subprocess.PIPE

    def run(argv, want=0):
        r = subprocess.run(argv, env=env, cwd=work, stdout=P, stderr=P)
        if r.returncode != want:
            raise RuntimeError("%s: %s" % (argv, r.stderr.decode()))

    results = {}
    floor, floor_how = build_floor(d)
    try:
        run([LOOPSY, "-S", sock, "start"])
        c = Conn(sock)
        for name, path in progs.items():
            fns = {
                "direct": lambda: run([path]),
                "sh -c": lambda: run(["sh", "-c", name]),
                "CLI": lambda: run([LOOPSY, "-S", sock, "exec", "--", name]),
                "socket": lambda: c.run(["exec", "--", name], work),
            }
            if floor is not None:
                frames = os.path.join(d, "frames-" + name)
                with open(frames, "wb") as f:
                    f.write(frame(1, json.dumps({"proto": [1, 1]})) +
                            frame(2, json.dumps({"id": 1, "cwd": work,
                                                 "argv": ["exec", "--",
                                                          name]})))
                want = subprocess.run([path], cwd=work, stdout=P).stdout
                got = subprocess.run([floor, sock, frames], cwd=work,
                                     stdout=P).stdout
                if got != want:
                    raise RuntimeError("exec-floor printed %r, not %r" %
                                       (got, want))
                fns["floor"] = lambda: run([floor, sock, frames])
            results[name] = timed(a.n, fns)
        results["noop"] = timed(a.n, {
            "has-session": lambda: run([LOOPSY, "-S", sock, "has-session",
                                        "-t", "none"], want=1),
            "start": lambda: run([LOOPSY, "-V"]),
            "true": lambda: run([progs["true"]]),
        })
        run([LOOPSY, "-S", sock, "kill-server"])
    finally:
        shutil.rmtree(d, ignore_errors=True)

    load = os.getloadavg()[0]
    lines = ["", "## %s — exec round trips (bench/exec.py)" %
             datetime.datetime.now().strftime("%Y-%m-%d %H:%M"), "",
             "%s, %s, nproc %d, Python %s, load average %.2f; %d runs per "
             "figure, wall clock from start to exit with all output read; "
             "`ls` of a directory of 20 files." %
             (platform.node(), platform.machine(), os.cpu_count(),
              platform.python_version(), load, a.n), "",
             "| how | ls median | ls p95 | true median | true p95 |",
             "|---|---|---|---|---|"]
    rows = [("direct", "spawned directly (subprocess)"),
            ("sh -c", "through `sh -c` (subprocess)"),
            ("CLI", "`loopsy exec --` (a client per run)"),
            ("socket", "exec over one open socket")]
    if "floor" in results["ls"]:
        rows.append(("floor", "exec-floor: the least a client process "
                     "adds (%s, no loopsy code)" % floor_how))
    for how, label in rows:
        lines.append("| %s | %.3f ms | %.3f ms | %.3f ms | %.3f ms |" %
                     (label, results["ls"][how]["median"],
                      results["ls"][how]["p95"],
                      results["true"][how]["median"],
                      results["true"][how]["p95"]))
    noop = results["noop"]
    lines += ["", "For scale (interleaved among themselves):", "",
              "| how | median | p95 |", "|---|---|---|"]
    for how, label in (("has-session", "`loopsy has-session -t none` "
                        "(connects, answered at once)"),
                       ("start", "`loopsy -V` (the process alone)"),
                       ("true", "`true` spawned directly")):
        lines.append("| %s | %.3f ms | %.3f ms |" %
                     (label, noop[how]["median"], noop[how]["p95"]))
    lines.append("")
    for how, label in (("CLI", "CLI"), ("socket", "one socket"),
                       ("floor", "floor")):
        if how not in results["ls"]:
            continue
        over = [results[p][how]["median"] - results[p]["direct"]["median"]
                for p in ("ls", "true")]
        lines.append("Over spawning directly (medians), %s: +%.3f ms (ls), "
                     "+%.3f ms (true)." % (label, over[0], over[1]))
    text = "\n".join(lines) + "\n"
    print(text)
    if not a.no_write:
        with open(os.path.join(BENCH, "RESULTS.md"), "a") as f:
            f.write(text)


if __name__ == "__main__":
    main()

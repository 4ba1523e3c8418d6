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
  CLI no-op  `loopsy has-session -t none` a client process per run that
           the server answers at once: the client's own cost, for scale

    bench/exec.py [--n 200] [--no-write]

rateLimits.execute is 0 so every run is allowed; `ls` runs in a directory
of 20 files.  Standard library only; a section is appended to
bench/RESULTS.md unless --no-write.
"""
import argparse
import datetime
import os
import platform
import shutil
import statistics
import subprocess
import tempfile
import time

from lsyproto import BENCH, TOP, LOOPSY, Conn, pct


def timed(n, fn):
    fn()        # warm up: page cache, first fork
    t = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        t.append((time.perf_counter() - t0) * 1e3)
    return {"median": statistics.median(t), "p95": pct(t, 95)}


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
    try:
        run([LOOPSY, "-S", sock, "start"])
        c = Conn(sock)
        for name, path in progs.items():
            r = results[name] = {}
            r["direct"] = timed(a.n, lambda: run([path]))
            r["sh -c"] = timed(a.n, lambda: run(["sh", "-c", name]))
            r["CLI"] = timed(a.n, lambda: run([LOOPSY, "-S", sock, "exec",
                                               "--", name]))
            r["socket"] = timed(a.n, lambda: c.run(["exec", "--", name],
                                                   work))
        noop = timed(a.n, lambda: run([LOOPSY, "-S", sock, "has-session",
                                       "-t", "none"], want=1))
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
    for how, label in (("direct", "spawned directly (subprocess)"),
                       ("sh -c", "through `sh -c` (subprocess)"),
                       ("CLI", "`loopsy exec --` (a client per run)"),
                       ("socket", "exec over one open socket")):
        lines.append("| %s | %.3f ms | %.3f ms | %.3f ms | %.3f ms |" %
                     (label, results["ls"][how]["median"],
                      results["ls"][how]["p95"],
                      results["true"][how]["median"],
                      results["true"][how]["p95"]))
    lines.append("| `loopsy has-session` (client only, for scale) | "
                 "%.3f ms | %.3f ms | | |" % (noop["median"], noop["p95"]))
    over = [results[p]["CLI"]["median"] - results[p]["direct"]["median"]
            for p in ("ls", "true")]
    sover = [results[p]["socket"]["median"] - results[p]["direct"]["median"]
             for p in ("ls", "true")]
    lines += ["", "Over spawning directly (medians): CLI +%.3f ms (ls), "
              "+%.3f ms (true); one socket +%.3f ms (ls), +%.3f ms (true)." %
              (over[0], over[1], sover[0], sover[1])]
    text = "\n".join(lines) + "\n"
    print(text)
    if not a.no_write:
        with open(os.path.join(BENCH, "RESULTS.md"), "a") as f:
            f.write(text)


if __name__ == "__main__":
    main()

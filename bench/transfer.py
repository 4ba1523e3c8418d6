#!/usr/bin/env python3
"""Benchmark: a 1 GiB file copied with `loopsy cp` (SHA-256 checked, fsynced
and renamed) beside cp, cp + sync (as durable as loopsy cp), sha256sum,
openssl's SHA-256 (what loopsy uses), and cp + sha256sum of both files.
`loopsy cp` is local, so the server copies from the descriptor cp passes;
"loopsy cp, streamed" is the fallback through the socket (the test hook
LOOPSY_TEST_NO_FD=1 withholds the descriptor).  Median of 3 runs per figure,
interleaved (a run of each in turn),
rateLimits.transfer: 0, on tmpfs (/dev/shm: the pipeline itself) and on the
disk (/tmp: with fsync's cost).

usage: bench/transfer.py [--size MIB] [--runs N] [DIR ...]
Prints a Markdown table (it writes no file); paste it into bench/RESULTS.md."""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
LOOPSY = os.environ.get("LOOPSY") or os.path.join(os.path.dirname(HERE),
                                                  "loopsy")


def timed(argv, env=None, shell=False):
    t = time.monotonic()
    subprocess.run(argv, env=env, shell=shell, check=True,
                   stdout=subprocess.DEVNULL)
    return time.monotonic() - t


def bench_dir(base, size, runs):
    d = tempfile.mkdtemp(prefix="loopsy-bench-", dir=base)
    env = dict(os.environ, HOME=d, LOOPSY_HOME=d, TMPDIR=d)
    env.pop("LOOPSY", None)
    with open(os.path.join(d, "config.yaml"), "w") as f:
        f.write('transfer: { allowedPaths: ["/"], deniedPaths: [], '
                'maxFileSize: 0 }\nrateLimits: { transfer: 0 }\n')
    src, dst = os.path.join(d, "src"), os.path.join(d, "dst")
    sock = os.path.join(d, "sock")
    try:
        with open(src, "wb") as f:
            for _ in range(size):
                f.write(os.urandom(1 << 20))
        subprocess.run([LOOPSY, "-S", sock, "start"], env=env, check=True)
        q = lambda p: "'%s'" % p
        streamed = dict(env, LOOPSY_TEST_NO_FD="1")
        cases = [
            ("loopsy cp", lambda: timed([LOOPSY, "-S", sock, "cp", src, dst],
                                        env)),
            ("loopsy cp, streamed", lambda: timed(
                [LOOPSY, "-S", sock, "cp", src, dst], streamed)),
            ("cp", lambda: timed(["cp", src, dst])),
            ("cp + sync", lambda: timed("cp %s %s && sync %s" %
                                        (q(src), q(dst), q(dst)),
                                        shell=True)),
            ("sha256sum", lambda: timed(["sha256sum", src])),
            ("openssl sha256", lambda: timed(["openssl", "dgst", "-sha256",
                                              src])),
            ("cp + sha256sum both", lambda: timed(
                "cp %s %s && sha256sum %s %s" % (q(src), q(dst), q(src),
                                                 q(dst)), shell=True)),
        ]
        # Warm up: the page cache, and the VM's first touch of new memory.
        for _ in range(2):
            cases[0][1]()
            os.unlink(dst)
            cases[1][1]()
            os.unlink(dst)
        # Interleaved: one run of each in turn, so that a slow spell of
        # the machine falls on all of them alike.
        ts = {name: [] for name, _ in cases}
        for _ in range(runs):
            for name, fn in cases:
                ts[name].append(fn())
                if os.path.exists(dst):
                    os.unlink(dst)
        rows = []
        for name, _ in cases:
            m = statistics.median(ts[name])
            rows.append((name, m, size * (1 << 20) / m / 1e9, ts[name]))
        return rows
    finally:
        subprocess.run([LOOPSY, "-S", sock, "kill-server"], env=env,
                       stderr=subprocess.DEVNULL)
        shutil.rmtree(d, ignore_errors=True)


def main():
    args = sys.argv[1:]
    size, runs = 1024, 3
    while args and args[0].startswith("--"):
        if args[0] == "--size":
            size = int(args[1])
        elif args[0] == "--runs":
            runs = int(args[1])
        args = args[2:]
    dirs = args or ["/dev/shm", "/tmp"]
    for base in dirs:
        rows = bench_dir(base, size, runs)
        print("\n%d MiB file in %s, median of %d:\n" % (size, base, runs))
        print("| what | seconds | GB/s | fastest, GB/s | runs |")
        print("|---|---|---|---|---|")
        for name, m, gbs, ts in rows:
            print("| %s | %.2f | %.2f | %.2f | %s |" % (
                name, m, gbs, size * (1 << 20) / min(ts) / 1e9,
                " ".join("%.2f" % t for t in ts)))
        sys.stdout.flush()


if __name__ == "__main__":
    main()

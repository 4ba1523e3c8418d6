#!/usr/bin/python3
"""bench/relay.py: the phone path through loopsy-relay on loopback (issue 6).

A private loopsy server registered with a private loopsy-relay on 127.0.0.1,
and a phone paired with it: the command-line phone web/tools/phone.mjs, which
runs the web app's own modules (Noise KK, the Link) under node.

  echo      keystroke echo phone -> relay -> server -> relay -> phone
            (phone.mjs echo-bench: one letter as MSG_INPUT, timed until it
            comes back in an output frame), beside a local `loopsy attach`
            to an identical session (bench/run.py's pty echo); both sessions
            run a cooked `cat` at 80x24.
  restore   time from connecting to a restored screen with 10,000 lines of
            scrollback (phone.mjs restore-bench, a new Link each run):
            "fresh" asks for the 10,000 lines (a page reload), "resume"
            reattaches with the token of the run before (the network came
            back: only what was missed, then the screen); beside a local
            `loopsy attach` of the same session drawing its screen.
  capacity  1,000 devices each with one phone, every phone sending 10
            messages a second that its device answers (bench/relay-load.mjs):
            the relay's RSS and CPU, and the latency a hop through the relay
            adds over the same traffic sent straight to a WebSocket server.

    bench/relay.py [--echo-n 300] [--restore-n 20] [--devices 1000]
                   [--seconds 20] [--only echo,restore,capacity] [--no-write]

Needs node and web/node_modules (cd web && npm ci).  Appends a dated section
to bench/RESULTS.md (unless --no-write) and writes the samples to
bench/out/relay-<time>.json.
"""
import argparse
import datetime
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(BENCH)
sys.path.insert(0, BENCH)
sys.path.insert(0, os.path.join(TOP, "regress"))
from run import Pty, BenchError, echo_rounds, machine, OUT  # noqa: E402
import phonelib  # noqa: E402
from phonelib import Relay, Laptop, Phone  # noqa: E402

MARK = "RESTORE-MARK-7f3a"


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def stats(v):
    s = sorted(v)
    return {"median": statistics.median(s),
            "p95": s[min(len(s) - 1, int(0.95 * len(s)))], "n": len(s)}


def wait_screen(laptop, target, needle, timeout=30):
    dl = time.monotonic() + timeout
    while time.monotonic() < dl:
        rc, out, err = laptop.lsy("capture-pane", "-p", "-t", target)
        if needle in out:
            return out
        time.sleep(0.05)
    raise BenchError("%s never showed %r" % (target, needle))


def setup():
    relay = Relay()
    laptop = Laptop(relay)
    phone = Phone(relay)
    p = laptop.pair()
    rc, out, err = phone.pair(p["link"], p["code"], label="bench")
    if rc != 0:
        raise BenchError("pairing failed: " + out + err)
    return relay, laptop, phone


def bench_echo(laptop, phone, args, res):
    for s in ("echo-phone", "echo-local"):
        laptop.lsy("new-session", "-d", "-s", s, "-x", "80", "-y", "24",
                   "--", "/bin/cat")
    rc, out, err = phone.node("echo-bench", "--state", phone.state,
                              "--session", "echo-phone", "--n",
                              str(args.echo_n), timeout=600)
    if rc != 0:
        raise BenchError("phone echo-bench: " + err)
    ph = json.loads(out.strip().splitlines()[-1])
    log("echo  phone via relay  median %.3f ms p95 %.3f ms" % (
        ph["median_ms"], ph["p95_ms"]))
    p = Pty(laptop.w.argv("attach", "-t", "echo-local"), laptop.w.env,
            cols=80, rows=24)
    try:
        p.wait_text([b""], 5)
        p.drain(0.2, limit=3)
        lat, failed = echo_rounds([("local", p)], args.echo_n,
                                  random.Random(7))
    finally:
        p.close(detach=b"\x02d")
    if "local" in failed:
        raise BenchError("local echo: " + failed["local"])
    loc = stats(lat["local"])
    log("echo  local attach     median %.3f ms p95 %.3f ms" % (
        loc["median"], loc["p95"]))
    res["echo"] = {"phone": {"median": ph["median_ms"], "p95": ph["p95_ms"],
                             "n": ph["samples"]},
                   "local": loc}


def bench_restore(laptop, phone, args, res):
    laptop.lsy("new-session", "-d", "-s", "hist", "-x", "80", "-y", "24",
               "--", "sh", "-c", "seq -f 'line %%g of the scrollback' 1 "
               "10000; printf '%s'; exec cat" % MARK)
    wait_screen(laptop, "hist", MARK)
    rc, out, err = phone.node("restore-bench", "--state", phone.state,
                              "--session", "hist", "--marker", MARK,
                              "--n", str(args.restore_n), "--history",
                              "10000", timeout=600)
    if rc != 0:
        raise BenchError("phone restore-bench: " + err)
    r = json.loads(out.strip().splitlines()[-1])
    for k in ("fresh", "resume"):
        log("restore %-6s total median %.2f ms p95 %.2f ms (attach %.2f "
            "ms; %d bytes)" % (k, r[k]["total_ms"]["median"],
                               r[k]["total_ms"]["p95"],
                               r[k]["attach_ms"]["median"], r[k]["bytes"]))
    local = []
    for i in range(args.restore_n + 1):
        t0 = time.perf_counter()
        p = Pty(laptop.w.argv("attach", "-t", "hist"), laptop.w.env,
                cols=80, rows=24)
        try:
            t1 = p.wait_text([MARK.encode()], 10)
        finally:
            p.close(detach=b"\x02d")
        if i > 0:
            local.append((t1 - t0) * 1000)
    loc = stats(local)
    log("restore local attach   median %.2f ms p95 %.2f ms" % (
        loc["median"], loc["p95"]))
    r["local"] = loc
    res["restore"] = r


def bench_capacity(args, res):
    relay = Relay(extra=["--register-limit", "1000000", "--max-per-ip",
                         "100000", "--max-pending-per-ip", "0"])
    try:
        p = subprocess.run(
            ["node", os.path.join(BENCH, "relay-load.mjs"), "--relay",
             relay.url, "--pid", str(relay.p.pid), "--devices",
             str(args.devices), "--seconds", str(args.seconds),
             "--warmup", "5"], capture_output=True, text=True,
            timeout=900)
        if p.returncode != 0:
            raise BenchError("relay-load: " + p.stderr[-2000:])
        r = json.loads(p.stdout.strip().splitlines()[-1])
    finally:
        relay.close()
    log("capacity %d pairs: relay RSS %.1f MiB (peak %.1f), CPU %.0f%% of "
        "a core, added p99 %.2f ms up %.2f ms down" % (
            r["devices"], r["relay_rss_kib"] / 1024,
            r["relay_hwm_kib"] / 1024, r["relay_cpu_core"] * 100,
            r["added_p99"], r["added_down_p99"]))
    res["capacity"] = r


def report(res, meta):
    L = ["", "## %s — the phone path through loopsy-relay (bench/relay.py)"
         % meta["date"], ""]
    L.append("Machine: %s, nproc %d, kernel %s, load average %s "
             "at the start.  One relay, one server and the command-line "
             "phone (web/tools/phone.mjs: the web app's Noise KK and Link "
             "under node %s) on 127.0.0.1." % (
                 meta["cpu"], meta["nproc"], meta["kernel"], meta["load"],
                 meta["node"]))
    e = res.get("echo")
    if e:
        L += ["", "### Keystroke echo (cooked `cat`, 80x24, %d samples "
              "each)" % e["local"]["n"], "",
              "| how | median | p95 |", "|---|---|---|",
              "| phone → relay → server → relay → phone | %.3f ms | "
              "%.3f ms |" % (e["phone"]["median"], e["phone"]["p95"]),
              "| local `loopsy attach` | %.3f ms | %.3f ms |" % (
                  e["local"]["median"], e["local"]["p95"]), "",
              "Ratio phone/local (median, p95): %.2f, %.2f." % (
                  e["phone"]["median"] / e["local"]["median"],
                  e["phone"]["p95"] / e["local"]["p95"])]
    r = res.get("restore")
    if r:
        L += ["", "### Reconnect to a restored screen, 10,000 lines of "
              "scrollback (%d runs each; target ≤ 10 ms, the original "
              "claims 45 ms)" % r["fresh"]["samples"], "",
              "| how | connect → screen, median | p95 | channel open → "
              "screen, median | bytes |", "|---|---|---|---|---|"]
        for k, what in (("fresh", "fresh: the 10,000 lines and the "
                         "screen (a page reload)"),
                        ("resume", "resume: what was missed (nothing) and "
                         "the screen (the network came back)")):
            x = r[k]
            L.append("| %s | %.2f ms | %.2f ms | %.2f ms | %d |" % (
                what, x["total_ms"]["median"], x["total_ms"]["p95"],
                x["attach_ms"]["median"], x["bytes"]))
        L.append("| local `loopsy attach` drawing the screen | %.2f ms | "
                 "%.2f ms | – | – |" % (r["local"]["median"],
                                        r["local"]["p95"]))
        L += ["", "\"connect → screen\" counts the TCP connection, the "
              "WebSocket upgrade through the relay, the relay's `open` to "
              "the server, the Noise KK handshake, the hello, the attach "
              "and the bytes of the screen (and of the scrollback when "
              "fresh)."]
    c = res.get("capacity")
    if c:
        L += ["", "### Relay capacity: %d devices, each with one phone, "
              "%d messages a second each way per pair, %d s measured" % (
                  c["devices"], c["rate"], c["seconds"]), "",
              "| figure | value | target |", "|---|---|---|",
              "| relay RSS under load (peak) | %.1f MiB (%.1f MiB) | "
              "< 100 MB |" % (c["relay_rss_kib"] / 1024,
                              c["relay_hwm_kib"] / 1024),
              "| relay RSS idle, all connected | %.1f MiB | – |" % (
                  c["relay_rss_idle_kib"] / 1024),
              "| relay CPU | %.0f%% of one core | – |" % (
                  c["relay_cpu_core"] * 100),
              "| phone → device through the relay, p50 / p99 | %.3f / "
              "%.3f ms | – |" % (c["up"]["p50"], c["up"]["p99"]),
              "| the same straight to a WebSocket server, p50 / p99 | "
              "%.3f / %.3f ms | – |" % (c["base_up"]["p50"],
                                        c["base_up"]["p99"]),
              "| added by the relay, p99 (phone → device; device → "
              "phone) | %.3f ms; %.3f ms | < 5 ms |" % (
                  c["added_p99"], c["added_down_p99"]), "",
              "The load (%d sockets, %d messages a second) comes from one "
              "node process on the same two cores as the relay." % (
                  2 * c["devices"], 2 * c["rate"] * c["devices"])]
    return "\n".join(L) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--echo-n", type=int, default=300)
    ap.add_argument("--restore-n", type=int, default=20)
    ap.add_argument("--devices", type=int, default=1000)
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--only", default="echo,restore,capacity")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    only = set(args.only.split(","))
    phonelib.require_phone()
    meta = {"date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
            "cpu": machine(), "nproc": os.cpu_count(),
            "kernel": platform.release(),
            "load": " ".join(open("/proc/loadavg").read().split()[:3]),
            "node": subprocess.run(["node", "--version"], capture_output=True,
                                   text=True).stdout.strip()}
    res = {}
    if only & {"echo", "restore"}:
        relay, laptop, phone = setup()
        try:
            if "echo" in only:
                bench_echo(laptop, phone, args, res)
            if "restore" in only:
                bench_restore(laptop, phone, args, res)
        finally:
            laptop.close()
            relay.close()
            phone.close()
    if "capacity" in only:
        bench_capacity(args, res)
    text = report(res, meta)
    print(text)
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "relay-%s.json" % time.strftime(
            "%Y%m%d-%H%M%S")), "w") as f:
        json.dump({"meta": meta, "results": res}, f, indent=1)
    if not args.no_write:
        with open(os.path.join(BENCH, "RESULTS.md"), "a") as f:
            f.write(text)


if __name__ == "__main__":
    main()

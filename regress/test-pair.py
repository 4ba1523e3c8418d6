#!/usr/bin/python3
# Pairing (loopsy pair): two servers on this machine (separate HOME, sockets
# and ports on 127.0.0.1).  One waits with a code, the other joins; both show
# the same short authentication string; link keys and certificate
# fingerprints end up in both peers.json, and host: targets work both ways.
# Wrong codes are counted and the third ends the wait; the /pair routes are
# not there unless someone waits; a declined pairing stores nothing; no code
# or key reaches a log.
import json
import os
import re
import signal
import stat
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import *  # noqa
import harness

require()


def read(p):
    try:
        with open(p) as f:
            return f.read()
    except FileNotFoundError:
        return ""


class Host(PeerHost):
    """A PeerHost, and what pairing leaves in its files."""

    def peers(self):
        t = read(os.path.join(self.w.home, "peers.json"))
        return {p["name"]: p for p in json.loads(t)["peers"]} if t else {}

    def logs(self):
        return (read(os.path.join(self.w.home, "logs", "server.log")) +
                read(os.path.join(self.w.home, "logs", "audit.jsonl")))


class Waiter:
    """loopsy pair (the waiting side) running in the background."""

    def __init__(self, host, *args, stdin=None):
        self.p = subprocess.Popen(
            host.w.argv("pair", *args), env=host.w.env, cwd=host.w.home,
            stdin=subprocess.PIPE if stdin is not None else
            subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE)
        harness._children.append(self.p)
        if stdin is not None:
            self.p.stdin.write(stdin.encode())
            self.p.stdin.flush()
        self.out = ""
        self.err = ""
        self.lock = threading.Lock()
        self.pumps = []
        for f, attr in ((self.p.stdout, "out"), (self.p.stderr, "err")):
            t = threading.Thread(target=self.pump, args=(f, attr),
                                 daemon=True)
            t.start()
            self.pumps.append(t)
        m = poll_until(lambda: re.search(r"Pairing code: (\d{3}) (\d{3})",
                                         self.text()), 10)
        self.code = m.group(1) + m.group(2) if m else None

    def pump(self, f, attr):
        while True:
            d = os.read(f.fileno(), 4096)
            if not d:
                return
            with self.lock:
                setattr(self, attr, getattr(self, attr) + d.decode())

    def text(self):
        with self.lock:
            return self.out + self.err

    def finish(self, timeout=20):
        """Wait for it to exit: (rc, stdout, stderr)."""
        try:
            rc = self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            rc = self.p.wait()
        for t in self.pumps:    # read to the end: the last words too
            t.join(10)
        with self.lock:
            return rc, self.out, self.err


def start_body():
    return {"v": 1, "commit": "0" * 64, "name": "somebody"}


def sas_of(text):
    m = re.search(r"^    (\d{3} \d{3})$", text, re.M)
    return m.group(1) if m else None


def pair(waiter_host, joiner_host, wname, jname, code=None, wargs=("--yes",),
         jargs=("--yes",), jinput=None):
    """Run one pairing; returns (waiter result, joiner result)."""
    w = Waiter(waiter_host, "--name", wname, *wargs)
    if w.code is None:
        return w.finish(5), (None, "", "")
    c = code if code is not None else w.code
    j = joiner_host.lsy("pair", "127.0.0.1:%d" % waiter_host.port,
                        "--name", jname, *jargs,
                        input=jinput if jinput is not None else c + "\n")
    return w.finish(), j, c


def check_pairing(a, b, wres, jres, order):
    (wrc, wout, werr), (jrc, jout, jerr), code = wres, jres[0], jres[1]
    ok(wrc == 0 and jrc == 0, "pairing_succeeds_" + order,
       "waiter %s %r %r\njoiner %s %r %r" % (wrc, wout, werr, jrc, jout,
                                             jerr))
    ok(sas_of(wout) is not None and sas_of(wout) == sas_of(jout),
       "both_sides_show_the_same_sas_" + order, wout + "\n--\n" + jout)
    return code


def check_stored(a, b, order):
    """a knows b as bee, b knows a as ant."""
    pa, pb = a.peers(), b.peers()
    bee, ant = pa.get("bee", {}), pb.get("ant", {})
    ok(bee.get("how") == "paired" and ant.get("how") == "paired",
       "both_peers_json_entries_say_paired_" + order, "%r %r" % (pa, pb))
    ok(re.match(r"^[0-9a-f]{64}$", bee.get("key", "")) and
       re.match(r"^[0-9a-f]{64}$", bee.get("accept", "")) and
       bee.get("key") == ant.get("accept") and
       bee.get("accept") == ant.get("key") and
       bee.get("key") != bee.get("accept"),
       "each_side_holds_the_key_the_other_accepts_" + order)
    ok(bee.get("key") not in (a.key, b.key) and
       ant.get("key") not in (a.key, b.key),
       "link_keys_are_fresh_not_the_api_keys_" + order)
    ok(bee.get("fingerprint") == b.fp and ant.get("fingerprint") == a.fp,
       "both_certificate_fingerprints_are_pinned_" + order,
       "%r %r / %r %r" % (bee.get("fingerprint"), b.fp,
                          ant.get("fingerprint"), a.fp))
    ok(bee.get("port") == b.port and ant.get("port") == a.port and
       bee.get("host") == "127.0.0.1" and ant.get("host") == "127.0.0.1",
       "both_sides_know_where_to_reach_the_other_" + order,
       "%r %r" % (bee, ant))
    modes = [stat.S_IMODE(os.stat(os.path.join(h.w.home,
                                               "peers.json")).st_mode)
             for h in (a, b)]
    ok(modes == [0o600, 0o600], "peers_json_is_0600_" + order, modes)
    return bee, ant


def check_links(a, b, order):
    a.w.new("on-a", "sh")
    b.w.new("on-b", "sh")
    rc, out, err = a.lsy("ls", "-t", "bee:")
    ok(rc == 0 and "on-b" in out and "on-a" not in out,
       "ls_on_the_peer_works_from_a_" + order, out + err)
    rc, out, err = b.lsy("ls", "-t", "ant:")
    ok(rc == 0 and "on-a" in out and "on-b" not in out,
       "ls_on_the_peer_works_from_b_" + order, out + err)
    a.lsy("kill-session", "-t", "on-a")
    b.lsy("kill-session", "-t", "on-b")


def main():
    a = Host("a")
    b = Host("b")
    secrets = []
    try:
        ok(a.port and b.port, "both_servers_listen")

        st, j = https_post(a.port, "/pair/start", start_body())
        ok(st == 404, "pair_routes_are_404_when_nobody_waits", st)
        for path in ("/pair/prove", "/pair/confirm", "/pair/finish"):
            st, j = https_post(a.port, path, {"session": "x"})
            if st != 404:
                break
        ok(st == 404, "every_pair_route_is_404_when_nobody_waits", st)
        rc, out, err = b.lsy("pair", "127.0.0.1:%d" % a.port, "--yes",
                             "--name", "ant", input="123456\n")
        ok(rc == 1 and "not waiting for a pairing" in err,
           "joining_a_machine_that_does_not_wait_says_so", err)

        # a waits, b joins
        wres, jres, code = pair(a, b, "bee", "ant")
        secrets.append(code)
        check_pairing(a, b, wres, (jres, code), "a_waits")
        bee, ant = check_stored(a, b, "a_waits")
        secrets += [bee.get("key"), bee.get("accept")]
        check_links(a, b, "a_waits")
        st, j = https_post(a.port, "/pair/start", start_body())
        ok(st == 404, "pair_routes_close_when_the_pairing_is_done", st)

        # b waits, a joins; the same names are paired again, new keys
        wres, jres, code = pair(b, a, "ant", "bee")
        secrets.append(code)
        check_pairing(b, a, wres, (jres, code), "b_waits")
        bee2, ant2 = check_stored(a, b, "b_waits")
        ok(bee2.get("key") != bee.get("key"),
           "pairing_again_replaces_the_keys")
        secrets += [bee2.get("key"), bee2.get("accept")]
        check_links(a, b, "b_waits")
        rc, out, err = a.lsy("peers", "list", "--json")
        lst = json.loads(out) if rc == 0 else []
        ok(any(p["name"] == "bee" and p["online"] and p["how"] == "paired"
               for p in lst), "peers_list_shows_the_paired_peer", out + err)

        # the first pairing's key is no longer accepted, the new one is
        st_old = https_get(b.port, "/api/v1/context", bee.get("key"),
                           timeout=10)[0]
        st_new = https_get(b.port, "/api/v1/context", bee2.get("key"),
                           timeout=10)[0]
        ok(st_old == 401 and st_new not in (401, 429, None),
           "an_old_link_key_is_refused_after_pairing_again",
           "%s %s" % (st_old, st_new))

        # wrong codes: counted, the third ends the wait
        w = Waiter(a, "--name", "wrong", "--yes")
        secrets.append(w.code)
        bad = "%06d" % ((int(w.code) + 1) % 1000000)
        errs = []
        for i in range(3):
            rc, out, err = b.lsy("pair", "127.0.0.1:%d" % a.port, "--yes",
                                 "--name", "wrongname", input=bad + "\n")
            errs.append((rc, err))
            if i < 2:
                poll_until(lambda: ("(%d of 3 tries)" % (i + 1)) in
                           w.text(), 10)
        ok(errs[0][0] == 1 and "wrong code (2 tries left)" in errs[0][1],
           "a_wrong_code_is_refused", errs[0])
        ok(errs[1][0] == 1 and "wrong code (1 try left)" in errs[1][1],
           "wrong_codes_are_counted", errs[1])
        ok(errs[2][0] == 1 and "pairing cancelled" in errs[2][1],
           "the_third_wrong_code_cancels_the_pairing", errs[2])
        wrc, wout, werr = w.finish()
        ok(wrc == 1 and "3 wrong codes" in werr and
           "a wrong code from 127.0.0.1 (1 of 3 tries)" in wout,
           "the_waiting_side_hears_of_wrong_codes_and_stops",
           "%s %r %r" % (wrc, wout, werr))
        rc, out, err = b.lsy("pair", "127.0.0.1:%d" % a.port, "--yes",
                             "--name", "wrongname", input=w.code + "\n")
        ok(rc == 1 and "not waiting" in err,
           "the_right_code_is_useless_once_cancelled", err)
        ok("wrong" not in a.peers() and "wrongname" not in b.peers(),
           "wrong_codes_store_nothing")

        # declined: nothing stored on either side
        wres, jres, code = pair(a, b, "decl-a", "decl-b", wargs=("--no",))
        secrets.append(code)
        ok(wres[0] == 1 and "declined here" in wres[2] and jres[0] == 1 and
           re.search("other side declined|has ended", jres[2]),
           "the_waiting_side_declining_stops_both", "%r %r" % (wres, jres))
        w = Waiter(a, "--name", "decl-a", "--yes")
        secrets.append(w.code)
        rc, out, err = b.lsy("pair", "127.0.0.1:%d" % a.port, "--name",
                             "decl-b", input=w.code + "\nn\n")
        wrc, wout, werr = w.finish()
        ok(rc == 1 and "declined here" in err and sas_of(out) and
           wrc == 1 and "declined the pairing" in werr,
           "answering_n_on_the_joining_side_stops_both",
           "%s %r %r / %s %r" % (rc, out, err, wrc, werr))
        ok("decl-a" not in a.peers() and "decl-b" not in b.peers() and
           "decl-a" not in b.peers() and "decl-b" not in a.peers(),
           "a_declined_pairing_stores_nothing_on_either_side")

        # the waiting user answers after the joining side confirmed: the
        # joiner's confirm is held until then (y, then n, on stdin)
        for answer, name in (("y", "late-yes"), ("n", "late-no")):
            w = Waiter(a, "--name", name, stdin="")
            secrets.append(w.code)
            jp = subprocess.Popen(
                b.w.argv("pair", "127.0.0.1:%d" % a.port, "--name",
                         name + "-b", "--yes"), env=b.w.env,
                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE)
            harness._children.append(jp)
            jp.stdin.write((w.code + "\n").encode())
            jp.stdin.close()
            jp.stdin = None
            asked = poll_until(lambda: "[y/N]" in w.text(), 10)
            w.p.stdin.write((answer + "\n").encode())
            w.p.stdin.flush()
            jout, jerr = jp.communicate(timeout=30)
            wrc, wout, werr = w.finish()
            if answer == "y":
                ok(asked and wrc == 0 and jp.returncode == 0 and
                   name in a.peers() and name + "-b" in b.peers(),
                   "a_late_yes_on_the_waiting_side_completes_the_pairing",
                   "%r %r %r / %r" % (wout, werr, jerr, a.peers().keys()))
            else:
                ok(asked and wrc == 1 and jp.returncode == 1 and
                   b"other side declined" in jerr and
                   name not in a.peers() and name + "-b" not in b.peers(),
                   "a_late_no_on_the_waiting_side_stops_the_joiner",
                   "%r %r %r" % (wout, werr, jerr))

        # the code expires with the wait
        w = Waiter(a, "--name", "late", "--timeout", "1")
        secrets.append(w.code)
        wrc, wout, werr = w.finish()
        ok(wrc == 1 and "expired" in werr,
           "the_wait_times_out_and_the_code_expires", werr)
        st, j = https_post(a.port, "/pair/start", start_body())
        ok(st == 404, "pair_routes_are_closed_after_the_timeout", st)

        # one waits at a time; stopping it closes the routes
        w = Waiter(a, "--name", "x1")
        secrets.append(w.code)
        rc, out, err = a.lsy("pair", "--name", "x2")
        ok(rc == 1 and "already waiting" in err, "only_one_pair_waits", err)
        st, j = https_post(a.port, "/pair/start", start_body())
        ok(st == 200 and j and len(j.get("pub", "")) == 130 and
           j.get("session"), "pair_start_answers_while_waiting", j)
        st2, j2 = https_post(a.port, "/pair/prove", {
            "session": j["session"], "pub": "04" + "00" * 64,
            "fp": b.fp, "mac": "0" * 64})
        ok(st2 == 400 and j2["error"]["code"] == "BAD_COMMIT",
           "a_key_that_does_not_match_its_commitment_is_refused", j2)
        w.p.send_signal(signal.SIGINT)
        w.finish()
        ok(poll_until(lambda: https_post(a.port, "/pair/start",
                                         start_body())[0] == 404, 10),
           "ctrl_c_closes_the_pair_routes")

        # a machine in the middle may not restart attempts to grind
        # for a matching string: five starts per wait, then it ends
        w = Waiter(a, "--name", "grind")
        secrets.append(w.code)
        sts = [https_post(a.port, "/pair/start", start_body())[0]
               for _ in range(6)]
        wrc, wout, werr = w.finish()
        ok(sts[:5] == [200] * 5 and sts[5] == 429 and wrc == 1 and
           "pairing attempts" in werr,
           "a_sixth_start_cancels_the_pairing", "%r %r" % (sts, werr))
        st, head, body = https_request(
            a.port, b"POST /nothing HTTP/1.1\r\nHost: x\r\n"
            b"Content-Length: 10000000\r\n\r\n")
        ok(st == 404, "a_body_for_no_route_is_refused_before_it_comes",
           "%s %r" % (st, body[:100]))

        # nothing secret in logs
        logs = a.logs() + b.logs()
        leaked = [s for s in secrets if s and s in logs]
        ok(not leaked and "pair-wait" in logs,
           "no_code_or_key_in_server_log_or_audit", leaked)
    finally:
        a.close()
        b.close()


run_test(main, "pair")
done()

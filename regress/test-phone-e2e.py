#!/usr/bin/python3
# The phone path end to end with the real pieces: loopsy-relay on
# 127.0.0.1, a loopsy server registered with it, and the command-line phone
# (web/tools/phone.mjs, the web app's own modules under node).  Pairing with
# the code (wrong codes burn the link), commands and a terminal through the
# Noise channel, the relay's blindness (its --tap file holds every byte it
# forwarded), revoke, relay restarts, a laptop key that does not match.
import base64
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from phonelib import *  # noqa

require_phone()

relay = Relay(tap=True)
laptop = Laptop(relay)
phone = Phone(relay)


def test_pair_link():
    p = laptop.pair()
    link, code = p["link"], p["code"]
    ok(re.fullmatch(r"[0-9]{4}", code), "the code is 4 digits", code)
    ok(link.startswith(relay.url + "/app/#p1/"),
       "the link is the relay's /app with a p1 fragment", link)
    frag = link.split("#", 1)[1]
    parts = frag.split("/")
    is_eq(len(parts), 4, "fragment: p1, token, server key, secret")
    ok(code not in link.replace(relay.url, ""), "the code is not in the link")
    # What the relay was told about this pairing: the token only.
    secret = parts[3].encode()
    ok(secret not in relay.data_bytes() and secret not in
       relay.read_log().encode(),
       "the relay has never seen the link's secret")
    return p


def test_wrong_codes_burn():
    p = laptop.pair()
    wrong = "%04d" % ((int(p["code"]) + 1) % 10000)
    outs = []
    for i in range(5):
        rc, out, err = phone.pair(p["link"], wrong)
        outs.append((rc, out + err))
    ok(all(rc != 0 for rc, _ in outs), "five wrong codes are refused",
       outs)
    ok(re.search(r"4 tries left|tries left: 4|tries_left.*4", outs[0][1],
                 re.I), "the first says how many tries are left", outs[0][1])
    ok(re.search(r"burn", outs[4][1], re.I),
       "the fifth burns the link", outs[4][1])
    rc, out, err = phone.pair(p["link"], p["code"])
    ok(rc != 0 and re.search(r"burn|used", out + err, re.I),
       "the right code on a burned link is refused", out + err)
    is_eq(laptop.phones() or [], [], "no phone was stored")


def test_pair():
    p = test_pair_link()
    rc, out, err = phone.pair(p["link"], p["code"])
    ok(rc == 0, "the phone pairs with the right code", out + err)
    st = phone.read_state()
    ok(st.get("phoneId", "").startswith("p"), "the phone has an id", st)
    mode = os.stat(phone.state).st_mode & 0o777
    is_eq(oct(mode), oct(0o600), "the phone's state file is 0600")
    phones = laptop.phones() or []
    ok(any(x.get("id") == st.get("phoneId") for x in phones),
       "phone list shows it on the laptop", phones)
    rc, out, err = phone.pair(p["link"], p["code"])
    ok(rc != 0 and re.search(r"used", out + err, re.I),
       "the link works once", out + err)
    secret = st["phoneSecret"].encode()
    ok(secret not in relay.data_bytes(),
       "the relay stores no phone secret, only its hash")


def test_commands():
    laptop.lsy("new-session", "-d", "-s", "one", "-x", "80", "-y", "24",
               "--", "sh")
    rc, out, err = phone.run("list-sessions", "--json")
    ok(rc == 0, "list-sessions through the relay", out + err)
    try:
        names = [s["name"] for s in json.loads(out)]
    except ValueError:
        names = []
    ok("one" in names, "it lists the laptop's session", out)
    rc, out, err = phone.run("kill-server")
    ok(rc != 0 and laptop.lsy("has-session", "-t", "one")[0] == 0,
       "admin commands are refused from a phone", out + err)


def test_terminal_and_blindness():
    a = phone.attach("one")
    ok(a.wait_output(b"$"), "the phone sees the shell's prompt",
       a.output[-200:])
    a.type("echo PHONE-TYPED-7d1f\r")
    ok(a.wait_output("PHONE-TYPED-7d1f"), "typed text echoes back",
       a.output[-300:])
    # The laptop side prints a secret of its own.
    laptop.lsy("send-keys", "-t", "one", "-l",
               "printf 'LAPTOP-%s\\n' SAID-93ab")
    laptop.lsy("send-keys", "-t", "one", "Enter")
    ok(a.wait_output("LAPTOP-SAID-93ab"), "the laptop's output reaches "
       "the phone", a.output[-300:])
    a.close()
    tapped = relay.tapped()
    ok(len(tapped) > 200, "the relay forwarded bytes (tap file: %d)" %
       len(tapped))
    for s in (b"PHONE-TYPED-7d1f", b"LAPTOP-SAID-93ab", b"list-sessions",
              b"PHONE-TYPED", b"LAPTOP-SAID"):
        ok(s not in tapped, "the relay never saw %r" % s)


def test_relay_restart():
    a = phone.attach("one")
    ok(a.wait_output(b"$"), "attached again")
    n = len(a.statuses)
    relay.restart()
    ok(wait_until(lambda: relay_connected(laptop.w), 40,
                  what="the laptop's link after a relay restart"),
       "the laptop reconnects to the restarted relay")
    ok(a.wait_status("connected", 40, since=n),
       "the phone reconnects by itself", a.statuses[n:])
    a.type("echo AFTER-RESTART-5e2\r")
    ok(a.wait_output("AFTER-RESTART-5e2"), "and the terminal works again",
       a.output[-300:])
    a.close()
    rc, out, err = phone.run("list-sessions")
    ok(rc == 0, "pairings survive a relay restart", out + err)


def test_key_mismatch():
    st = phone.read_state()
    bad = dict(st)
    k = bytearray(base64.urlsafe_b64decode(st["serverPub"] + "="))
    k[0] ^= 1
    bad["serverPub"] = base64.urlsafe_b64encode(bytes(k)).decode() \
        .rstrip("=")
    phone.write_state(bad)
    rc, out, err = phone.run("list-sessions")
    ok(rc != 0 and re.search(r"key", out + err, re.I),
       "a laptop key that does not match is a clear error", out + err)
    phone.write_state(st)
    os.chmod(phone.state, 0o600)


def test_revoke():
    st = phone.read_state()
    a = phone.attach("one")
    ok(a.wait_output(b"$"), "attached before the revoke")
    rc, out, err = laptop.lsy("phone", "revoke", st["phoneId"])
    ok(rc == 0, "phone revoke", out + err)
    ok(a.wait_exit(10) is not None, "the phone's terminal is cut off at "
       "once", a.statuses)
    a.close()
    rc, out, err = phone.run("list-sessions")
    ok(rc != 0 and re.search(r"unpaired|revoked|pair it again", out + err,
                             re.I), "and it cannot come back", out + err)
    is_eq([x for x in laptop.phones() or [] if x.get("id") ==
           st["phoneId"]], [], "the laptop forgot the phone")


def test_no_secrets_in_logs():
    st = phone.read_state()
    audit = os.path.join(laptop.w.home, "logs", "audit.jsonl")
    log = os.path.join(laptop.w.home, "logs", "server.log")
    text = b""
    for f in (audit, log):
        if os.path.exists(f):
            with open(f, "rb") as fh:
                text += fh.read()
    with open(os.path.join(laptop.w.home, "relay.json")) as f:
        rj = json.load(f)
    for name, s in (("the device secret", rj.get("device_secret", "-")),
                    ("the phone secret", st["phoneSecret"])):
        ok(s.encode() not in text and s.encode() not in
           relay.read_log().encode(), "%s is in no log" % name)


def main():
    for t in (test_wrong_codes_burn, test_pair, test_commands,
              test_terminal_and_blindness, test_relay_restart,
              test_key_mismatch, test_no_secrets_in_logs, test_revoke):
        run_test(t, t.__name__)
    laptop.close()
    relay.close()
    phone.close()
    done()


main()

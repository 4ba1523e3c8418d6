#!/usr/bin/python3
# mDNS discovery: without avahi-daemon the server works and says why mDNS is
# off (status, doctor); discovery.enabled: false turns it off and keeps avahi
# unloaded.  Then two "hosts" -- network namespaces joined by a veth pair,
# each with its own D-Bus system bus and avahi-daemon (never in the root
# namespace: DEPS.md section 6) -- find each other, see their own entry as
# self, find each other again after avahi-daemon restarts, and lose a
# server that stops.  Skipped with the reason where namespaces or the
# daemons are not available.
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa
from harness import *  # noqa

require()

NOT_RUNNING = "off: avahi-daemon is not running"
SBIN = os.environ.get("PATH", "") + ":/usr/sbin:/sbin"


def skip(reason, count=1):
    for _ in range(count):
        harness._n += 1
        print("ok %d # SKIP %s" % (harness._n, reason), flush=True)


def status(w):
    rc, out, err = w.lsy("status", "--json")
    return json.loads(out) if rc == 0 else None


def state(w):
    st = status(w)
    return st["discovery"]["state"] if st else None


def found(w):
    st = status(w)
    return st["discovery"]["found"] if st else []


def wait_state(w, prefix, timeout=15):
    return poll_until(lambda: (state(w) or "").startswith(prefix), timeout)


def doctor_mdns(w):
    rc, out, err = w.lsy("doctor", "--json")
    checks = json.loads(out)["checks"]
    return rc, [c for c in checks if c["name"] == "mdns"][0]


def set_discovery(w, enabled):
    p = os.path.join(w.home, "config.yaml")
    with open(p) as f:
        text = f.read()
    text = re.sub(r"discovery: \{ enabled: \w+ \}",
                  "discovery: { enabled: %s }" %
                  ("true" if enabled else "false"), text)
    with open(p, "w") as f:
        f.write(text)


def avahi_mapped(w):
    """Is libavahi-client loaded in the server process?"""
    st = status(w)
    with open("/proc/%d/maps" % st["pid"]) as f:
        return "libavahi-client" in f.read()


def no_bus_world():
    w = World()
    w.env["DBUS_SYSTEM_BUS_ADDRESS"] = "unix:path=" + \
        os.path.join(w.dir, "no-such-bus")
    return w


def discovery_off_without_avahi_daemon():
    w = no_bus_world()
    try:
        w.lsy("init")
        rc, out, err = w.lsy("start")
        is_eq((rc, err), (0, ""), "server_starts_without_avahi_daemon")
        ok(wait_state(w, NOT_RUNNING), "status_json_says_mdns_off_"
           "because_avahi_daemon_is_not_running", state(w))
        is_eq(found(w), [], "nothing_found_without_avahi_daemon")
        rc, out, err = w.lsy("status")
        ok(re.search(r"^mDNS: +off: avahi-daemon is not running", out,
                     re.M), "status_prints_the_mdns_line", out)
        rc, c = doctor_mdns(w)
        ok(rc == 0 and c["status"] == "warn" and
           "avahi-daemon is not running" in c["detail"] and
           c.get("fix") == "start avahi-daemon, or set discovery.enabled: "
           "false", "doctor_warns_mdns_off_with_the_fix", c)
        w.new("work", "sh", "-c", "echo discovery-$((6*7)); exec sleep 60")
        w.wait_screen("work", r"^discovery-42$")
        ok(True, "sessions_work_without_avahi_daemon")
        ok(avahi_mapped(w), "avahi_is_loaded_by_the_server_when_enabled")

        set_discovery(w, False)
        rc, out, err = w.lsy("config", "reload")
        ok(rc == 0 and wait_state(w, "off: disabled"),
           "config_reload_with_discovery_disabled_turns_mdns_off",
           (rc, out, err, state(w)))
        rc, out, err = w.lsy("status")
        ok(re.search(r"^mDNS: +off: disabled", out, re.M),
           "status_says_off_disabled", out)
        rc, c = doctor_mdns(w)
        ok(c["status"] == "info" and "disabled" in c["detail"] and
           "fix" not in c, "doctor_says_disabled_is_fine", c)
        set_discovery(w, True)
        w.lsy("config", "reload")
        ok(wait_state(w, NOT_RUNNING), "config_reload_enables_it_again",
           state(w))
    finally:
        w.close()


def discovery_disabled_never_loads_avahi():
    w = no_bus_world()
    try:
        w.lsy("init")
        set_discovery(w, False)
        w.lsy("start")
        ok((state(w) or "").startswith("off: disabled"),
           "discovery_disabled_from_the_start_says_off_disabled", state(w))
        ok(not avahi_mapped(w), "discovery_disabled_never_loads_avahi")
        r = subprocess.run(["readelf", "-d", LOOPSY], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL)
        needed = re.findall(rb"\(NEEDED\).*\[(.*)\]", r.stdout)
        ok(r.returncode == 0 and needed and
           not any(b"avahi" in n or b"dbus" in n for n in needed),
           "the_binary_does_not_link_avahi_or_dbus", needed)
    finally:
        w.close()


# ---------------------------------------------------------------- two hosts

DBUS_CONF = """<!DOCTYPE busconfig PUBLIC
 "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=%s</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
  </policy>
</busconfig>
"""

AVAHI_CONF = """[server]
host-name=%s
use-ipv4=yes
use-ipv6=no
allow-interfaces=%s
enable-dbus=yes
ratelimit-interval-usec=1000000
ratelimit-burst=1000
[wide-area]
enable-wide-area=no
[publish]
publish-hinfo=no
publish-workstation=no
"""


def run(*argv, env=None):
    return subprocess.run(list(argv), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, env=env, timeout=30)


class Host:
    """One machine: a network namespace, its bus, avahi-daemon, loopsy."""

    def __init__(self, d, tag, ns, ifname, address, port):
        self.tag, self.ns, self.ifname = tag, ns, ifname
        self.address, self.port = address, port
        self.hostname = "lsyhost%s" % tag
        self.bus = os.path.join(d, "bus" + tag)
        self.dbus_conf = os.path.join(d, "dbus%s.conf" % tag)
        self.avahi_conf = os.path.join(d, "avahi%s.conf" % tag)
        self.avahi_log = os.path.join(d, "avahi%s.log" % tag)
        with open(self.dbus_conf, "w") as f:
            f.write(DBUS_CONF % self.bus)
        with open(self.avahi_conf, "w") as f:
            f.write(AVAHI_CONF % (self.hostname, ifname))
        self.dbus = self.avahi = None
        self.w = World()
        self.w.env["DBUS_SYSTEM_BUS_ADDRESS"] = "unix:path=" + self.bus
        self.fp = None

    def start_dbus(self):
        """None, or why the bus did not start."""
        self.dbus = subprocess.Popen(
            ["dbus-daemon", "--config-file=" + self.dbus_conf, "--nofork",
             "--nopidfile", "--nosyslog"], stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE)
        if poll_until(lambda: os.path.exists(self.bus) or
                      self.dbus.poll() is not None, 10) and \
                os.path.exists(self.bus):
            return None
        return "dbus-daemon did not start: " + \
            (self.dbus.stderr.read().decode().strip()
             if self.dbus.poll() is not None else "no socket after 10s")

    def start_avahi(self):
        # Only ever inside our namespace: ip netns exec gives a private
        # mount namespace too, so the tmpfs over /run (for avahi's pid
        # file) is private to it.
        log = open(self.avahi_log, "a")
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS="unix:path=" +
                   self.bus)
        self.avahi = subprocess.Popen(
            ["ip", "netns", "exec", self.ns, "sh", "-c",
             "mount -t tmpfs tmpfs /run && mkdir /run/avahi-daemon && "
             "exec avahi-daemon -f \"$0\" --no-drop-root --no-chroot "
             "--no-rlimits --debug", self.avahi_conf],
            stdout=log, stderr=log, env=env)
        log.close()

    def avahi_up(self):
        """None once avahi-daemon runs, or why it cannot."""
        def cond():
            return self.avahi.poll() is not None or \
                "Server startup complete" in self.log(None)
        poll_until(cond, 20)
        if self.avahi.poll() is not None:
            return "avahi-daemon cannot run in a network namespace " \
                "here: " + " ".join(self.log(300).split())
        if "Server startup complete" not in self.log(None):
            return "avahi-daemon did not start in 20s"
        return None

    def stop_avahi(self):
        if self.avahi is not None and self.avahi.poll() is None:
            self.avahi.terminate()
            try:
                self.avahi.wait(10)
            except subprocess.TimeoutExpired:
                self.avahi.kill()
                self.avahi.wait()
        self.avahi = None

    def start_loopsy(self):
        self.w.lsy("init")
        # 0.0.0.0 inside this host's own namespace: its veth and lo only.
        with open(os.path.join(self.w.home, "config.yaml")) as f:
            self.w.write_config(f.read().replace("port: 19532",
                                                 "port: %d" % self.port)
                                .replace("host: 127.0.0.1", "host: 0.0.0.0"))
        self.fp = self.w.lsy("key", "show", "--fingerprint")[1].strip()
        # Its own host name (UTS namespace) so the two publish as two
        # machines, and inside the network namespace like a real host.
        argv = ["ip", "netns", "exec", self.ns, "unshare", "--uts", "sh",
                "-c", "hostname \"$0\" && exec \"$@\"", self.hostname] + \
            self.w.argv("start")
        r = subprocess.run(argv, env=self.w.env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=30)
        return r.returncode, r.stderr.decode()

    def close(self):
        try:
            self.w.close()
        finally:
            self.stop_avahi()
            if self.dbus is not None and self.dbus.poll() is None:
                self.dbus.terminate()
                self.dbus.wait(10)

    def log(self, tail=3000):
        try:
            with open(self.avahi_log) as f:
                return f.read()[-tail:] if tail else f.read()
        except OSError:
            return ""


def sees(w, host, want=True):
    """Does w list host (by fingerprint, port, address)?"""
    def cond():
        for e in found(w):
            if e["fingerprint"] == host.fp and not e["self"]:
                return e if want else None
        return None if want else True
    return cond


def netns_reason():
    """Why two namespace hosts cannot be made here, or None."""
    if os.geteuid() != 0:
        return "not root: cannot create network namespaces"
    for p in ("ip", "unshare", "dbus-daemon", "avahi-daemon"):
        if shutil.which(p, path=SBIN) is None:
            return "%s is not installed (apt-get install avahi-daemon " \
                "dbus iproute2)" % p
    return None


def make_netns(a, b):
    """Two namespaces joined by a veth pair; None or why it failed."""
    for h in (a, b):
        r = run("ip", "netns", "add", h.ns)
        if r.returncode != 0:
            return "cannot create network namespaces: " + \
                r.stderr.decode().strip()
    r = run("ip", "link", "add", a.ifname, "netns", a.ns, "type", "veth",
            "peer", "name", b.ifname, "netns", b.ns)
    if r.returncode != 0:
        return "cannot create a veth pair: " + r.stderr.decode().strip()
    for h in (a, b):
        for cmd in (["addr", "add", h.address + "/24", "dev", h.ifname],
                    ["link", "set", "lo", "up"],
                    ["link", "set", h.ifname, "up"]):
            r = run("ip", "-n", h.ns, *cmd)
            if r.returncode != 0:
                return "ip %s: %s" % (" ".join(cmd),
                                      r.stderr.decode().strip())
    return None


TWO_HOST_TESTS = 16


def in_ns(h, *args, input=None, timeout=30):
    """Run the CLI of host h inside its namespace."""
    r = subprocess.run(["ip", "netns", "exec", h.ns] + h.w.argv(*args),
                       env=h.w.env, cwd=h.w.home, input=input,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout, text=True)
    return r.returncode, r.stdout, r.stderr


def pair_and_attach_across(a, b):
    """Pairing over the veth (B joins A), then B attaches to A's session."""
    import threading
    rc, o, e = in_ns(b, "peers", "list", "--json")
    lst = json.loads(o) if rc == 0 else []
    ok(any(p.get("state") == "discovered" and not p.get("paired") and
           p.get("fingerprint") == a.fp for p in lst),
       "peers_list_shows_a_discovered_machine_not_yet_paired", o + e)
    waiter = subprocess.Popen(
        ["ip", "netns", "exec", a.ns] + a.w.argv("pair", "--yes", "--name",
                                                 "hostb"),
        env=a.w.env, cwd=a.w.home, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    harness._children.append(waiter)
    out = []
    t = threading.Thread(target=lambda: out.append(waiter.stdout.read()),
                         daemon=True)
    first = waiter.stdout.readline()
    t.start()
    m = re.search(r"Pairing code: (\d{3}) (\d{3})", first)
    rc, o, e = in_ns(b, "pair", "%s:%d" % (a.address, a.port), "--yes",
                     "--name", "hosta",
                     input=(m.group(1) + m.group(2) + "\n") if m else "\n")
    try:
        wrc = waiter.wait(30)
    except subprocess.TimeoutExpired:
        waiter.kill()
        wrc = waiter.wait()
    ok(m is not None and rc == 0 and wrc == 0,
       "b_pairs_with_a_across_the_veth", first + o + e)
    rc, o, e = in_ns(b, "peers", "list", "--json")
    lst = json.loads(o) if rc == 0 else []
    ok(any(p["name"] == "hosta" and p["online"] and p["how"] == "paired" and
           p["fingerprint"] == a.fp for p in lst),
       "the_paired_peer_is_online_across", o + e)
    a.w.new("across", "sh")
    a.w.lsy("send-keys", "-t", "across", "PS1='$ '; clear", "Enter")
    rc, o, e = in_ns(b, "ls", "-t", "hosta:")
    ok(rc == 0 and "across" in o, "ls_across_the_veth", o + e)
    tm = b.w.tmux(80, 24, "ip netns exec %s %s" % (
        b.ns, b.w.shell_cmd("attach-session", "-t", "hosta:across")))
    ok(poll_until(lambda: "$" in tm.capture(), 15),
       "attach_across_the_veth_shows_the_session", tm.capture())
    tm.keys("echo across-$((20+3))", "Enter")
    ok(poll_until(lambda: "across-23" in a.w.capture("across"), 10) and
       poll_until(lambda: "across-23" in tm.capture(), 10),
       "typing_across_the_veth_echoes", tm.capture())
    tm.close()
    a.w.lsy("kill-session", "-t", "across")


def two_hosts_discover_each_other():
    why = netns_reason()
    if why is not None:
        skip(why, TWO_HOST_TESTS)
        return
    d = tempfile.mkdtemp(prefix="loopsy-mdns-")
    tag = "%d" % os.getpid()
    a = Host(d, "A", "lsymdns%sA" % tag, "lsyvA", "10.231.0.1", 19611)
    b = Host(d, "B", "lsymdns%sB" % tag, "lsyvB", "10.231.0.2", 19622)
    try:
        why = make_netns(a, b)
        if why is not None:
            skip(why, TWO_HOST_TESTS)
            return
        for h in (a, b):
            why = h.start_dbus()
            if why is None:
                h.start_avahi()
                why = h.avahi_up()
            if why is not None:
                skip(why, TWO_HOST_TESTS)
                return
        for h in (a, b):
            rc, err = h.start_loopsy()
            if rc != 0:
                raise RuntimeError("loopsy start in %s: %s" % (h.ns, err))
        ok(wait_state(a.w, "on", 30) and wait_state(b.w, "on", 30),
           "mdns_is_on_with_avahi_daemon_in_each_namespace",
           "%s / %s\n%s" % (state(a.w), state(b.w), a.log()))

        ea = poll_until(sees(a.w, b), 30)
        ok(ea and ea["port"] == b.port and ea["address"] == b.address and
           ea["name"] == b.hostname and
           ea["service"] == "loopsy on " + b.hostname and
           ea["version"] == status(b.w)["version"] and
           ea["lastSeen"] > 0, "a_finds_b_with_its_fingerprint_and_port",
           "%r\n%s" % (found(a.w), a.log()))
        eb = poll_until(sees(b.w, a), 30)
        ok(eb and eb["port"] == a.port and eb["address"] == a.address,
           "b_finds_a_with_its_fingerprint_and_port",
           "%r\n%s" % (found(b.w), b.log()))
        own = poll_until(lambda: [e for e in found(a.w) if e["self"]], 15)
        ok(len(own) == 1 and own[0]["fingerprint"] == a.fp and
           own[0]["port"] == a.port, "own_entry_is_marked_self", found(a.w))
        # A second server on host A (another user, say) with the same
        # host name: its service is renamed, and neither is the other's self.
        c = Host(d, "C", a.ns, a.ifname, a.address, 19633)
        c.hostname = a.hostname
        c.w.env["DBUS_SYSTEM_BUS_ADDRESS"] = a.w.env["DBUS_SYSTEM_BUS_ADDRESS"]
        try:
            rc, err = c.start_loopsy()
            ec = poll_until(sees(b.w, c), 30)
            ok(ec and ec["service"] == "loopsy on %s #2" % a.hostname and
               ec["port"] == c.port and poll_until(sees(a.w, c), 15) and
               poll_until(sees(c.w, a), 15) and
               [e["fingerprint"] for e in found(c.w) if e["self"]] == [c.fp],
               "a_second_server_on_one_host_gets_another_name_and_its_own_"
               "self", "%r\n%r" % (found(b.w), found(c.w)))
        finally:
            c.close()
        pair_and_attach_across(a, b)
        rc, out, err = a.w.lsy("doctor", "--json")
        c = [c for c in json.loads(out)["checks"] if c["name"] == "mdns"][0]
        ok(c["status"] == "ok" and c["detail"].startswith("on"),
           "doctor_says_mdns_is_on", c)

        # avahi-daemon restarts: the client waits for it, then publishes
        # and browses again.
        a.stop_avahi()
        ok(wait_state(a.w, NOT_RUNNING, 15) and found(a.w) == [],
           "a_says_mdns_off_while_its_avahi_daemon_is_gone",
           (state(a.w), found(a.w)))
        ok(poll_until(sees(b.w, a, want=False), 30),
           "b_loses_a_when_a_withdraws", found(b.w))
        a.start_avahi()
        ok(wait_state(a.w, "on", 30) and poll_until(sees(b.w, a), 30) and
           poll_until(sees(a.w, b), 30),
           "a_publishes_and_browses_again_after_avahi_daemon_restarts",
           "%s\n%r\n%r\n%s" % (state(a.w), found(a.w), found(b.w), a.log()))

        b.w.lsy("kill-server")
        ok(poll_until(sees(a.w, b, want=False), 30),
           "a_stopped_server_leaves_the_list", found(a.w))
    finally:
        for h in (a, b):
            try:
                h.close()
            except Exception as e:
                diag("cleanup %s: %r" % (h.ns, e))
        for h in (a, b):
            run("ip", "netns", "del", h.ns)
        shutil.rmtree(d, ignore_errors=True)


run_test(discovery_off_without_avahi_daemon,
         "discovery_off_without_avahi_daemon")
run_test(discovery_disabled_never_loads_avahi,
         "discovery_disabled_never_loads_avahi")
run_test(two_hosts_discover_each_other, "two_hosts_discover_each_other")
done()

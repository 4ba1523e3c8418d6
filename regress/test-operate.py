#!/usr/bin/python3
# Operating the server: init (files, modes, idempotence, --force), config
# check and reload (and SIGHUP; a changed TLS certificate), key show/generate
# (rotation keeps sessions, no key in logs), init --force on a running server,
# status, start --lan, doctor, enable/disable.
import hashlib
import json
import os
import re
import shutil
import signal
import stat
import socket
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa
from harness import *  # noqa

require()

SPEC_KEYS = ["server:", "port: 19532", "host: 127.0.0.1", "auth:", "apiKey:",
             "allowedKeys: {}", "relay:", "url: null", "execution:",
             "denylist:", "allowlist: null", "maxConcurrent: 10",
             "timeout: 300", "maxOutput: 16777216", "transfer:",
             "allowedPaths:", "deniedPaths:", "maxFileSize: 0",
             "rateLimits:", "execute: 30", "transfer: 10", "context: 60",
             "sessions:", "historyLimit: 10000", "historyBudget: 268435456",
             "shell: null", "windowSize: latest", "keys:", "prefix: C-b",
             "bindings: {}", "status:", "enabled: true", "discovery:",
             "maxEntries: 10000", "maxBytes: 67108864"]


def path(w, *names):
    return os.path.join(w.home, *names)


def mode(p):
    return stat.S_IMODE(os.stat(p).st_mode)


def read(p, binary=False):
    with open(p, "rb" if binary else "r") as f:
        return f.read()


def write(p, text):
    with open(p, "w") as f:
        f.write(text)


def api_key(w):
    m = re.search(r"apiKey: ([0-9a-f]+)", read(path(w, "config.yaml")))
    return m.group(1) if m else None


def run_env(w, env, *args):
    p = subprocess.run(w.argv(*args), env=env, cwd=w.home,
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=20)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def status_json(w):
    rc, out, err = w.lsy("status", "--json")
    return json.loads(out) if rc == 0 else None


def list_keys(w):
    return w.lsy("list-keys")[1]


def init_creates_everything_with_private_modes():
    w = World()
    try:
        os.chmod(w.home, 0o755)
        rc, out, err = w.lsy("init")
        is_eq((rc, err), (0, ""), "init_succeeds")
        ok(mode(w.home) == 0o700 and "0755 was too open, now 0700" in out,
           "init_makes_the_state_directory_0700", out)
        ok(mode(path(w, "logs")) == 0o700 and mode(path(w, "tls")) == 0o700,
           "init_makes_logs_and_tls_0700")
        is_eq(mode(path(w, "config.yaml")), 0o600, "init_config_yaml_is_0600")
        is_eq(mode(path(w, "tls", "key.pem")), 0o600, "init_tls_key_is_0600")
        is_eq(mode(path(w, "tls", "cert.pem")), 0o644,
              "init_tls_cert_is_0644")
        text = read(path(w, "config.yaml"))
        missing = [k for k in SPEC_KEYS if k not in text]
        is_eq(missing, [], "init_config_has_every_key_of_spec_section_8")
        key = api_key(w)
        ok(key is not None and len(key) == 64, "init_api_key_is_64_hex",
           text)
        ok(key not in out and key not in err,
           "init_never_prints_the_api_key")
        fp = re.search(r"fingerprint (sha256:(?:[0-9A-F]{2}:){31}[0-9A-F]{2})",
                       out)
        rc, out2, _ = w.lsy("key", "show", "--fingerprint")
        ok(fp is not None and out2 == fp.group(1) + "\n",
           "init_prints_the_certificate_fingerprint", out + out2)
        pem = read(path(w, "tls", "cert.pem"))
        ok(pem.startswith("-----BEGIN CERTIFICATE-----") and
           "BEGIN PRIVATE KEY" in read(path(w, "tls", "key.pem")),
           "init_writes_pem_key_and_certificate")
        rc, out, err = w.lsy("config", "check")
        is_eq((rc, out), (0, path(w, "config.yaml") + ": ok\n"),
              "init_config_passes_config_check")
    finally:
        w.close()


def init_is_idempotent_and_force_regenerates():
    w = World()
    try:
        w.lsy("init")
        files = ["config.yaml", "tls/key.pem", "tls/cert.pem"]
        before = {f: read(path(w, f), True) for f in files}
        rc, out, err = w.lsy("init")
        after = {f: read(path(w, f), True) for f in files}
        ok(rc == 0 and before == after, "init_twice_changes_nothing", out)
        ok("config.yaml exists, kept" in out and "exist, kept" in out,
           "init_twice_says_what_it_kept", out)

        key = api_key(w)
        text = read(path(w, "config.yaml"))
        text = text.replace("historyLimit: 10000", "historyLimit: 4321")
        write(path(w, "config.yaml"), "# my comment\n" + text)
        rc, out, err = w.lsy("init", "--force")
        is_eq((rc, err), (0, ""), "init_force_succeeds")
        new = read(path(w, "config.yaml"))
        ok(api_key(w) != key and len(api_key(w)) == 64,
           "init_force_makes_a_new_api_key")
        ok("historyLimit: 4321" in new and new.startswith("# my comment\n"),
           "init_force_keeps_user_edits_in_config_yaml", new)
        ok(read(path(w, "tls/cert.pem"), True) != before["tls/cert.pem"] and
           read(path(w, "tls/key.pem"), True) != before["tls/key.pem"],
           "init_force_makes_a_new_key_pair_and_certificate")
        is_eq(mode(path(w, "config.yaml")), 0o600,
              "init_force_keeps_config_yaml_0600")
        ok(api_key(w) not in out, "init_force_never_prints_the_key")
        leftovers = [f for f in os.listdir(w.home) if ".check" in f or
                     "config.yaml." in f]
        is_eq(leftovers, [], "init_force_leaves_no_temporary_files")

        os.chmod(path(w, "config.yaml"), 0o644)
        os.chmod(path(w, "tls/key.pem"), 0o640)
        rc, out, err = w.lsy("init")
        ok(rc == 0 and mode(path(w, "config.yaml")) == 0o600 and
           "config.yaml: mode 0644 was too open, now 0600" in out,
           "init_repairs_a_0644_config_yaml", out + err)
        ok(mode(path(w, "tls/key.pem")) == 0o600,
           "init_repairs_a_group_readable_tls_key")
    finally:
        w.close()


def config_check_errors():
    w = World()
    try:
        f = path(w, "c.yaml")
        cases = [
            ("sessions: { historyLimit: 5\nkeys: {}\n",
             "2:5: did not find expected ',' or '}'", "bad_yaml"),
            ("sessions:\n  historyLimt: 5\n",
             "2:3: unknown key sessions.historyLimt", "unknown_key"),
            ("status:\n  enabled: maybe\n",
             "2:12: status.enabled must be true or false", "wrong_type"),
            ("server: {port: 1}\nsesions:\n  historyLimit: 5\n",
             "2:1: unknown section sesions", "unknown_section"),
            ("auth:\n  apiKey: aaa\n  apiKey: bbb\n",
             "3:3: auth.apiKey is given twice", "duplicate_key"),
            ("status: {enabled: true}\nstatus: {enabled: false}\n",
             "2:1: section status is given twice", "duplicate_section"),
            ("auth:\n  allowedKeys: { kai: null }\n",
             "2:23: auth.allowedKeys.kai has no key", "null_allowed_key"),
            ("auth:\n  allowedKeys: { bob: ~ }\n",
             "2:23: auth.allowedKeys.bob has no key", "tilde_allowed_key"),
            ("auth:\n  allowedKeys: { kai: short }\n",
             "2:23: auth.allowedKeys.kai is shorter than 16 characters "
             "(loopsy key generate makes keys of 64)", "short_allowed_key"),
            ("auth:\n  allowedKeys:\n    kai: 0123456789abcdef0\n"
             "    kai: 0123456789abcdef1\n",
             "4:5: auth.allowedKeys.kai is given twice",
             "duplicate_allowed_key"),
            ("server:\n  port: 70000\n",
             "2:9: server.port 70000 is more than 65535", "port_over_65535"),
        ]
        for text, want, name in cases:
            write(f, text)
            rc, out, err = w.lsy("config", "check", "--file", f)
            is_eq((rc, out, err), (1, "", "%s:%s\n" % (f, want)),
                  "config_check_%s_names_file_line_and_column" % name)
        d = path(w, "dir.yaml")
        os.mkdir(d)
        is_eq(w.lsy("config", "check", "--file", d),
              (1, "", "%s: is a directory\n" % d),
              "config_check_a_directory_says_so")
        fifo = path(w, "fifo.yaml")
        os.mkfifo(fifo)
        is_eq(w.lsy("config", "check", "--file", fifo),
              (1, "", "%s: not a regular file\n" % fifo),
              "config_check_a_fifo_does_not_hang")
        write(f, "# x\n" * 300000)
        is_eq(w.lsy("config", "check", "--file", f),
              (1, "", "%s: over 1048576 bytes\n" % f),
              "config_check_refuses_an_oversized_file")
        write(f, "keys: {prefix: C-a}\n")
        is_eq(w.lsy("config", "check", "--file", f), (0, f + ": ok\n", ""),
              "config_check_good_file_is_ok")
        write(f, "server: {port: 65535}\n")
        is_eq(w.lsy("config", "check", "--file", f), (0, f + ": ok\n", ""),
              "config_check_port_65535_is_ok")
        rc, out, err = w.lsy("config", "check")
        ok(rc == 1 and "config.yaml" in err and "loopsy init" in err,
           "config_check_without_a_file_says_init", err)
    finally:
        w.close()


def config_reload_and_sighup():
    w = World(config="keys: {prefix: C-b}\n")
    try:
        w.lsy("-v", "start")  # -v: logs/server.log says what SIGHUP did
        w.new("s1", "sh")
        ok(re.search(r"^C-b C-b +send-prefix", list_keys(w), re.M),
           "reload_setup_prefix_is_C_b", list_keys(w))
        w.write_config("keys: {prefix: C-a}\n")
        rc, out, err = w.lsy("config", "reload")
        ok(rc == 0 and "reloaded" in out, "config_reload_good_file", err)
        ok(re.search(r"^C-a C-a +send-prefix", list_keys(w), re.M),
           "config_reload_new_prefix_takes_effect", list_keys(w))

        w.write_config("keys: {prefix: C-x\n")
        rc, out, err = w.lsy("config", "reload")
        ok(rc == 1 and "keeping the old config" in err and
           re.search(r"config\.yaml:2:1: ", err),
           "config_reload_bad_file_fails_with_file_line_column", err)
        ok(re.search(r"^C-a C-a +send-prefix", list_keys(w), re.M),
           "config_reload_bad_file_keeps_the_old_config")
        is_eq(w.lsy("has-session", "-t", "s1")[0], 0,
              "config_reload_keeps_sessions")

        pid = status_json(w)["pid"]
        w.write_config("keys: {prefix: C-z}\n")
        os.kill(pid, signal.SIGHUP)
        ok(poll_until(lambda: re.search(r"^C-z C-z +send-prefix",
                                        list_keys(w), re.M), 5),
           "sighup_reloads_the_config", list_keys(w))
        w.write_config("sessions:\n  historyLimt: 5\n")
        os.kill(pid, signal.SIGHUP)
        log = path(w, "logs", "server.log")
        ok(poll_until(lambda: "SIGHUP: config reload failed, keeping the "
                      "old config: %s:2:3: unknown key sessions.historyLimt"
                      % path(w, "config.yaml") in read(log), 5),
           "sighup_bad_file_says_why_in_server_log", read(log))
        ok(re.search(r"^C-z C-z +send-prefix", list_keys(w), re.M) and
           w.lsy("has-session", "-t", "s1")[0] == 0 and
           status_json(w)["pid"] == pid,
           "sighup_bad_file_keeps_old_config_and_sessions")
    finally:
        w.close()


def keys_show_and_generate():
    w = World()
    try:
        w.lsy("init")
        old = api_key(w)
        is_eq(w.lsy("key", "show"), (0, old + "\n", ""),
              "key_show_prints_the_key_from_config_yaml")
        w.lsy("-v", "start")
        w.new("keep", "sh")
        rc, out, err = w.lsy("key", "generate")
        new = api_key(w)
        ok(rc == 0 and new != old and len(new) == 64,
           "key_generate_writes_a_new_key", out + err)
        ok("sessions kept" in out and new not in out and old not in out,
           "key_generate_reloads_the_server_and_does_not_print_the_key",
           out)
        is_eq(w.lsy("key", "show")[1], new + "\n",
              "key_show_prints_the_new_key")
        is_eq(w.lsy("has-session", "-t", "keep")[0], 0,
              "key_generate_keeps_sessions")
        is_eq(mode(path(w, "config.yaml")), 0o600,
              "key_generate_keeps_config_yaml_0600")
        w.lsy("stop")
        rc, out, err = w.lsy("key", "generate")
        ok(rc == 0 and "no server running" in out,
           "key_generate_without_a_server_says_the_next_one_uses_it", out)
        newest = api_key(w)
        logs = ""
        for f in ("audit.jsonl", "server.log"):
            if os.path.exists(path(w, "logs", f)):
                logs += read(path(w, "logs", f))
        ok("key-generate" in logs and "config-reload" in logs,
           "audit_log_records_key_generate_and_reload")
        bad = [k for k in (old, new, newest) if k in logs]
        is_eq(bad, [], "audit_and_server_log_never_contain_a_key")
        # A config.yaml kept elsewhere and linked stays a link.
        dots = path(w, "dotfiles")
        os.mkdir(dots)
        os.rename(path(w, "config.yaml"), os.path.join(dots, "config.yaml"))
        os.symlink(os.path.join(dots, "config.yaml"), path(w, "config.yaml"))
        rc, out, err = w.lsy("key", "generate")
        ok(rc == 0 and os.path.islink(path(w, "config.yaml")) and
           api_key(w) not in (newest, "") and
           mode(os.path.join(dots, "config.yaml")) == 0o600,
           "key_generate_writes_through_a_symlinked_config_yaml", out + err)
    finally:
        w.close()


def status_running_and_not():
    w = World()
    try:
        rc, out, err = w.lsy("status")
        is_eq((rc, out, err), (1, "", "no server running on %s\n" % w.sock),
              "status_without_a_server_fails")
        w.new("a", "sh")
        w.new("b", "sh", "-c", "exit 3")
        wait_until(lambda: (w.ls_json() or {}).get("b", {}).get("dead") or
                   "exited" in w.lsy("ls")[1], what="b exited")
        st = status_json(w)
        ok(st is not None and st["pid"] == w.server_pid(),
           "status_json_has_the_pid")
        is_eq(st["sessions"], {"total": 2, "running": 1, "exited": 1},
              "status_counts_running_and_exited_sessions")
        ok(st["socket"] == w.sock and st["config"].endswith("config.yaml") and
           re.match(r"\d+\.\d+", st["version"]) and st["uptime"] >= 0 and
           st["clients"] == 0, "status_json_fields", st)
        is_eq((st["started"], st["lan"], st["host"]),
              ("on-demand", False, "127.0.0.1"),
              "status_on_demand_server_without_lan")
        rc, out, err = w.lsy("status")
        ok(rc == 0 and "pid %d" % st["pid"] in out and
           "2 (1 running, 1 exited)" in out and "on demand" in out,
           "status_text", out)
        rc, out, err = w.lsy("start", "--lan")
        is_eq((rc, out, err), (1, "", "server already running (pid %d); "
                               "--lan takes effect only when the server "
                               "starts: stop it first\n" % st["pid"]),
              "start_lan_on_a_running_server_is_refused")
        st = status_json(w)
        is_eq((st["started"], st["lan"], st["host"]),
              ("on-demand", False, "127.0.0.1"),
              "start_lan_on_a_running_server_changes_nothing")
        ok("(start --lan)" not in w.lsy("status")[1],
           "start_lan_refused_is_not_in_status_text")
        is_eq(w.lsy("start")[:2], (0, ""),
              "start_on_a_running_server_succeeds")
        is_eq((status_json(w)["started"], status_json(w)["lan"]),
              ("start", False), "start_on_a_running_server_keeps_it")
    finally:
        w.close()


def unshare_net():
    """argv that runs a command in a network namespace of its own (only
    its own loopback), or None: a server bound to 0.0.0.0 there is open
    to nothing."""
    for a in (["unshare", "-n"], ["unshare", "-rn"]):
        try:
            if subprocess.run(a + ["true"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL,
                              timeout=10).returncode == 0:
                return a
        except (OSError, subprocess.TimeoutExpired):
            pass
    return None


def start_lan_binds_all_addresses_when_it_starts_the_server():
    ns = unshare_net()
    if ns is None:
        harness._n += 1
        print("ok %d # SKIP start --lan bind: no network namespace "
              "(unshare)" % harness._n, flush=True)
        return
    w = World()
    try:
        w.lsy("init")
        w.write_config(read(path(w, "config.yaml")).replace("port: 19532",
                                                            "port: 0"))
        p = subprocess.run(ns + w.argv("start", "--lan"), env=w.env,
                           cwd=w.home, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=20)
        st = status_json(w)
        ok(p.returncode == 0 and st is not None and st["lan"] and
           st["host"] == "0.0.0.0" and
           st["listen"] == "0.0.0.0:%d" % st["port"],
           "start_lan_listens_on_0_0_0_0", (p.stderr, st))
        ok("(start --lan)" in w.lsy("status")[1], "start_lan_shows_in_text")
        is_eq(w.lsy("start", "--lan")[:2], (0, ""),
              "start_lan_twice_succeeds")
        is_eq(w.lsy("start")[:2], (0, ""),
              "start_after_start_lan_succeeds")
        is_eq(status_json(w)["listen"], st["listen"],
              "start_after_start_lan_keeps_the_bind")
    finally:
        w.lsy("kill-server")
        w.close()


def start_foreground_lan():
    w = World()
    try:
        p = subprocess.Popen(w.argv("start", "--lan", "-F"), env=w.env,
                             stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        try:
            st = wait_until(lambda: status_json(w), what="foreground server")
            is_eq((st["pid"], st["started"], st["lan"]),
                  (p.pid, "start", True), "start_F_lan_runs_here_with_lan")
            w.lsy("stop")
            is_eq(p.wait(timeout=10), 0, "stop_ends_a_foreground_server")
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        rc, out, err = w.lsy("config", "check", "--file",
                             path(w, "none.yaml"))
        ok(rc == 1, "config_check_missing_file_fails")
        w.write_config("server: {host: 0.0.0.0}\n")
        w.lsy("start")
        ok("(server.host in config.yaml)" in w.lsy("status")[1],
           "status_says_when_server_host_is_not_loopback")
    finally:
        w.close()


def doctor_checks():
    w = World()
    try:
        w.lsy("init")
        rc, out, err = w.lsy("doctor")
        ok(rc == 1 and re.search(r"^fail +server +no server running on " +
                                 re.escape(w.sock), out, re.M) and
           "fix: loopsy start" in out, "doctor_without_a_server_fails_"
           "with_the_start_fix", out)
        w.lsy("start")
        rc, out, err = w.lsy("doctor")
        ok(rc == 0 and not re.search(r"^fail", out, re.M),
           "doctor_on_a_healthy_setup_passes", out)
        rc, out, err = w.lsy("doctor", "--json")
        d = json.loads(out)
        names = [c["name"] for c in d["checks"]]
        ok(d["ok"] and {"config", "home", "config-mode", "api-key",
                        "tls-key", "tls-cert", "server", "relay", "peers",
                        "mdns", "mcp"} <= set(names),
           "doctor_json_lists_every_check", names)
        ok(api_key(w) not in out, "doctor_never_prints_the_key")
        mdns = [c for c in d["checks"] if c["name"] == "mdns"][0]
        ok(mdns["status"] == "ok" or "avahi-daemon is not running" in
           mdns["detail"], "doctor_mdns_says_if_avahi_is_missing", mdns)

        cfg = path(w, "config.yaml")
        os.chmod(cfg, 0o644)
        rc, out, err = w.lsy("doctor")
        ok(rc == 1 and re.search(r"^fail +config-mode +.*0644", out, re.M) and
           "fix: chmod 600 " + cfg in out,
           "doctor_open_config_fails_with_the_chmod_fix", out)
        os.chmod(cfg, 0o600)
        real = os.path.join(w.dir, "real.yaml")
        os.rename(cfg, real)
        os.symlink(real, cfg)
        rc, out, err = w.lsy("doctor")
        ok(rc == 1 and re.search(r"^fail +config-mode +.*symbolic link",
                                 out, re.M) and
           "fix: cp --remove-destination" in out and
           "fix: chmod" not in out,
           "doctor_symlinked_config_fails_without_a_chmod_fix", out)
        os.unlink(cfg)
        os.rename(real, cfg)
        os.unlink(path(w, "tls", "cert.pem"))
        rc, out, err = w.lsy("doctor")
        ok(rc == 1 and re.search(r"^fail +tls-cert +", out, re.M) and
           re.search(r"fix: loopsy init$", out, re.M),
           "doctor_missing_certificate_fails_with_the_init_fix", out)
        w.lsy("init")
        write(cfg, read(cfg).replace("apiKey: ", "apiKey: x"))
        rc, out, err = w.lsy("doctor")
        ok(rc == 1 and re.search(r"^fail +api-key", out, re.M) and
           "fix: loopsy key generate" in out, "doctor_bad_api_key_fails", out)
        write(cfg, "status: {enabled: maybe}\n")
        rc, out, err = w.lsy("doctor")
        ok(rc == 1 and re.search(r"^fail +config +.*config\.yaml:1:19: "
                                 r"status\.enabled must be true or false",
                                 out, re.M),
           "doctor_bad_config_fails_with_the_error", out)
    finally:
        w.close()


FAKE = """#!/bin/sh
echo "$*" >> "%s"
exit %d
"""


def enable_disable():
    w = World()
    try:
        exe = os.path.realpath(LOOPSY)
        xdg = os.path.join(w.dir, "xdg")
        unit = os.path.join(xdg, "systemd", "user", "loopsy.service")
        fake = os.path.join(w.dir, "fakebin")
        empty = os.path.join(w.dir, "emptybin")
        os.mkdir(fake)
        os.mkdir(empty)
        calls = os.path.join(w.dir, "calls")
        sc = os.path.join(fake, "systemctl")
        write(sc, FAKE % (calls, 0))
        os.chmod(sc, 0o755)
        env = dict(w.env, XDG_CONFIG_HOME=xdg, PATH=fake)

        rc, out, err = run_env(w, env, "enable", "--dry-run")
        start = 'ExecStart=%s -S "%s" start -F\n' % (exe, w.sock)
        ok(rc == 0 and start in out and
           "Restart=on-failure\n" in out and "WantedBy=default.target" in out,
           "enable_dry_run_prints_the_unit_with_an_absolute_path", out + err)
        ok("would run: systemctl --user daemon-reload\n" in out and
           "would run: systemctl --user enable --now loopsy.service\n" in out,
           "enable_dry_run_prints_the_commands", out)
        ok(not os.path.exists(unit) and not os.path.exists(calls),
           "enable_dry_run_touches_nothing")

        rc, out, err = run_env(w, env, "enable")
        ok(rc == 0 and os.path.exists(unit) and
           start in read(unit),
           "enable_writes_the_unit", out + err)
        ok("Environment=\"LOOPSY_HOME=%s\"" % w.home in read(unit),
           "enable_passes_loopsy_home_on")
        is_eq(read(calls).splitlines(),
              ["--user daemon-reload", "--user enable --now loopsy.service"],
              "enable_runs_systemctl_daemon_reload_and_enable_now")

        os.unlink(calls)
        rc, out, err = run_env(w, env, "disable")
        ok(rc == 0 and not os.path.exists(unit), "disable_removes_the_unit",
           out + err)
        is_eq(read(calls).splitlines(),
              ["--user disable --now loopsy.service", "--user daemon-reload"],
              "disable_runs_systemctl_disable_now_and_daemon_reload")
        rc, out, err = run_env(w, env, "disable")
        ok(rc == 0 and "not enabled" in out, "disable_twice_is_harmless")

        env2 = dict(env, PATH=empty)
        rc, out, err = run_env(w, env2, "enable")
        ok(rc == 0 and os.path.exists(unit) and
           "systemctl is not in PATH; run: systemctl --user enable --now "
           "loopsy.service" in out,
           "enable_without_systemctl_says_what_to_run", out + err)
        os.unlink(calls)
        write(sc, FAKE % (calls, 1))
        rc, out, err = run_env(w, env, "enable")
        ok(rc == 1 and "systemctl --user daemon-reload failed (exit 1)" in err
           and "then run: systemctl --user enable" in out,
           "enable_with_failing_systemctl_fails_and_says_what_is_left",
           out + err)
        ok(api_key_free(w), "audit_lines_have_no_secrets")
    finally:
        w.close()


def init_and_doctor_on_a_broken_setup():
    w = World()
    try:
        w.lsy("init")
        victim = os.path.join(w.dir, "victim")
        write(victim, "not a certificate\n")
        os.chmod(victim, 0o700)
        os.unlink(path(w, "tls", "cert.pem"))
        os.symlink(victim, path(w, "tls", "cert.pem"))
        rc, out, err = w.lsy("init")
        ok(rc == 1 and mode(victim) == 0o700 and "symbolic link" in err,
           "init_does_not_chmod_through_a_symlinked_cert", out + err)
        os.unlink(path(w, "tls", "cert.pem"))
        w.lsy("init")
        os.unlink(path(w, "tls", "key.pem"))
        os.mkdir(path(w, "tls", "key.pem"), 0o600)
        rc, out, err = w.lsy("doctor")
        ok(rc == 1 and re.search(r"^fail +tls-cert +.*key\.pem", out, re.M),
           "doctor_fails_an_unreadable_tls_key", out)
        os.rmdir(path(w, "tls", "key.pem"))
        w.lsy("init", "--force")
        write(path(w, "context.json"), '{"version":1,"entries":[]}')
        os.chmod(path(w, "context.json"), 0o644)
        rc, out, err = w.lsy("doctor")
        ok(rc == 1 and re.search(r"^fail +stores-mode +.*context\.json", out,
                                 re.M) and "chmod 600" in out,
           "doctor_fails_a_context_store_others_can_read", out)
        rc, out, err = w.lsy("init")
        ok(rc == 0 and mode(path(w, "context.json")) == 0o600 and
           "context.json: mode 0644 was too open" in out,
           "init_repairs_the_context_store_mode", out + err)

        write(path(w, "config.yaml"), "# apiKey: nope\nauth:\n")
        os.chmod(path(w, "config.yaml"), 0o600)
        rc, out, err = w.lsy("key", "generate")
        key = api_key(w)
        ok(rc == 0 and key and w.lsy("key", "show")[1] == key + "\n",
           "key_generate_fills_an_empty_auth_section", out + err +
           read(path(w, "config.yaml")))
        is_eq(w.lsy("config", "check")[0], 0, "key_generate_result_parses")

        ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        ls.bind(w.sock)
        ls.listen(1)

        def lie():
            c, _ = ls.accept()
            recv_frame(c, 10)
            c.sendall(HELLO)
            recv_frame(c, 10)
            c.sendall(frame(11, "[1]") + frame(3, json.dumps(
                {"id": 1, "ok": True, "exit": 0})))
            c.close()
        t = threading.Thread(target=lie)
        t.start()
        rc, out, err = w.lsy("doctor")
        t.join(20)
        ls.close()
        ok(rc == 1 and re.search(r"^fail +server +.*did not parse", out,
                                 re.M), "doctor_survives_a_bad_status", out)
    finally:
        w.close()


def enable_escapes_the_unit():
    w = World()
    try:
        home = os.path.join(w.dir, 'h 50%H"q')
        env = dict(w.env, XDG_CONFIG_HOME=os.path.join(w.dir, "xdg"),
                   PATH=w.dir, LOOPSY_HOME=home)
        rc, out, err = run_env(w, env, "enable", "--dry-run")
        ok(rc == 0 and 'Environment="LOOPSY_HOME=%s"\n' %
           home.replace("%", "%%").replace('"', '\\"') in out,
           "enable_escapes_percent_and_quotes_in_the_unit", out + err)
        p = subprocess.run([LOOPSY, "enable", "--dry-run"], env=env,
                           cwd=w.home, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=20)
        out = p.stdout.decode()
        ok(p.returncode == 0 and re.search(r"^ExecStart=\S+ start -F$", out,
                                           re.M),
           "enable_without_a_socket_option_runs_the_default_server", out)
        odd = os.path.join(w.dir, "s$HOME%d")
        os.mkdir(odd)
        p = subprocess.run([LOOPSY, "-S", os.path.join(odd, "sock"), "enable",
                            "--dry-run"], env=env, cwd=w.home,
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=20)
        out = p.stdout.decode()
        ok(p.returncode == 0 and ' -S "%s/s$$HOME%%%%d/sock" start -F\n' %
           w.dir in out,
           "enable_escapes_dollar_and_percent_in_the_socket_argument", out)
    finally:
        w.close()


def served_fingerprint(port):
    """The fingerprint of the certificate a TLS handshake gets, in the
    form key show --fingerprint prints."""
    s = tls_connect(port)
    try:
        der = s.getpeercert(binary_form=True)
    finally:
        s.close()
    h = hashlib.sha256(der).hexdigest().upper()
    return "sha256:" + ":".join(h[i:i + 2] for i in range(0, len(h), 2))


def put_tls(src, dst, name):
    """Copy tls/name from one World to another, replacing it as tools do
    (a new file renamed over the old)."""
    to = path(dst, "tls", name)
    shutil.copyfile(path(src, "tls", name), to + ".new")
    os.replace(to + ".new", to)


def held_get(s, key):
    """GET /api/v1/context on an open TLS socket: the HTTP status."""
    s.sendall(("GET /api/v1/context HTTP/1.1\r\nHost: x\r\n"
               "Authorization: Bearer %s\r\n\r\n" % key).encode())
    data = b""
    try:
        while b"\r\n" not in data:
            d = s.recv(65536)
            if not d:
                break
            data += d
    except OSError:
        pass
    m = re.match(rb"HTTP/1.1 (\d+)", data)
    return int(m.group(1)) if m else None


def reload_serves_a_new_certificate():
    h = PeerHost()
    o = World()
    try:
        o.lsy("init")
        h.w.new("keep", "sh")
        old = served_fingerprint(h.port)
        is_eq(old, h.fp, "tls_setup_serves_the_init_certificate")
        held = tls_connect(h.port)
        put_tls(o, h.w, "key.pem")
        put_tls(o, h.w, "cert.pem")
        rc, out, err = h.lsy("config", "reload")
        new = h.lsy("key", "show", "--fingerprint")[1].strip()
        ok(rc == 0 and new != old and served_fingerprint(h.port) == new,
           "config_reload_serves_the_new_certificate",
           (rc, err, old, new, served_fingerprint(h.port)))
        is_eq(held_get(held, h.key), 200,
              "certificate_reload_keeps_connections_made_before")
        held.close()
        is_eq(h.lsy("has-session", "-t", "keep")[0], 0,
              "certificate_reload_keeps_sessions")

        o.lsy("init", "--force")
        put_tls(o, h.w, "key.pem")
        put_tls(o, h.w, "cert.pem")
        new2 = h.lsy("key", "show", "--fingerprint")[1].strip()
        os.kill(h.status()["pid"], signal.SIGHUP)
        ok(new2 != new and poll_until(
            lambda: served_fingerprint(h.port) == new2, 5),
           "sighup_serves_the_new_certificate")
    finally:
        o.close()
        h.close()


def reload_keeps_the_old_certificate_when_the_new_is_bad():
    h = PeerHost()
    o = World()
    try:
        o.lsy("init")
        old = served_fingerprint(h.port)
        cfg = path(h.w, "config.yaml")
        write(cfg, read(cfg).replace("prefix: C-b", "prefix: C-a"))
        put_tls(o, h.w, "cert.pem")     # not the key's certificate
        rc, out, err = h.lsy("config", "reload")
        ok(rc == 1 and "config reloaded, but the TLS certificate was kept"
           in err and path(h.w, "tls", "key.pem") in err,
           "config_reload_with_a_mismatched_key_fails_and_says_why", err)
        is_eq(served_fingerprint(h.port), old,
              "config_reload_with_a_bad_pair_serves_the_old_certificate")
        # The config is taken all the same: a revoked key must not live on.
        ok(re.search(r"^C-a C-a +send-prefix", list_keys(h.w), re.M),
           "config_reload_with_a_bad_pair_still_takes_the_config")

        os.unlink(path(h.w, "tls", "cert.pem"))
        rc, out, err = h.lsy("config", "reload")
        ok(rc == 1 and path(h.w, "tls", "cert.pem") in err,
           "config_reload_without_a_certificate_fails_and_names_it", err)
        is_eq(served_fingerprint(h.port), old,
              "config_reload_without_a_certificate_serves_the_old_one")

        put_tls(o, h.w, "key.pem")
        put_tls(o, h.w, "cert.pem")
        rc, out, err = h.lsy("config", "reload")
        ok(rc == 0 and served_fingerprint(h.port) ==
           o.lsy("key", "show", "--fingerprint")[1].strip() and
           re.search(r"^C-a C-a +send-prefix", list_keys(h.w), re.M),
           "config_reload_after_the_pair_is_fixed_takes_both", err)
    finally:
        o.close()
        h.close()


def init_force_rotates_a_running_servers_key_and_certificate():
    h = PeerHost()
    try:
        h.w.new("keep", "sh")
        old_fp = served_fingerprint(h.port)
        old_key = h.key
        is_eq(https_get(h.port, "/api/v1/context", old_key)[0], 200,
              "rotate_setup_the_api_key_works")
        rc, out, err = h.lsy("init")
        ok(rc == 0 and "reload" not in out and
           served_fingerprint(h.port) == old_fp and
           https_get(h.port, "/api/v1/context", old_key)[0] == 200,
           "init_without_force_leaves_a_running_server_alone", out + err)

        rc, out, err = h.lsy("init", "--force")
        new_key = api_key(h.w)
        ok(rc == 0 and "server reloaded with the new key and certificate; "
           "sessions kept" in out and new_key not in out,
           "init_force_makes_a_running_server_reload", out + err)
        is_eq(https_get(h.port, "/api/v1/context", old_key)[0], 401,
              "init_force_makes_the_old_api_key_fail_at_once")
        is_eq(https_get(h.port, "/api/v1/context", new_key)[0], 200,
              "init_force_makes_the_new_api_key_work_at_once")
        fp = h.lsy("key", "show", "--fingerprint")[1].strip()
        ok(fp != old_fp and served_fingerprint(h.port) == fp,
           "init_force_serves_the_new_certificate_at_once",
           (old_fp, fp, served_fingerprint(h.port)))
        is_eq(h.lsy("has-session", "-t", "keep")[0], 0,
              "init_force_keeps_sessions")
        h.lsy("kill-server")
        rc, out, err = h.lsy("init", "--force")
        ok(rc == 0 and "no server running: the next one uses the new key "
           "and certificate" in out, "init_force_without_a_server_says_so",
           out + err)
    finally:
        h.close()


def api_key_free(w):
    audit = path(w, "logs", "audit.jsonl")
    return not os.path.exists(audit) or not re.search(r"[0-9a-f]{64}",
                                                        read(audit))


for t in (init_creates_everything_with_private_modes,
          init_is_idempotent_and_force_regenerates,
          config_check_errors,
          config_reload_and_sighup,
          keys_show_and_generate,
          status_running_and_not,
          start_lan_binds_all_addresses_when_it_starts_the_server,
          start_foreground_lan,
          doctor_checks,
          enable_disable,
          init_and_doctor_on_a_broken_setup,
          enable_escapes_the_unit,
          reload_serves_a_new_certificate,
          reload_keeps_the_old_certificate_when_the_new_is_bad,
          init_force_rotates_a_running_servers_key_and_certificate):
    run_test(t, t.__name__)

def start_foreground_waits_for_an_on_demand_server():
    """systemd's "start -F" while a server started on demand runs: it must
    wait and then serve, not exit (the unit would restart in a loop)."""
    w = World()
    try:
        w.new("od", "sh", "-c", "read x")
        old = status_json(w)["pid"]
        p = subprocess.Popen(w.argv("start", "-F"), env=w.env, cwd=w.home,
                             stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
        harness._children.append(p.pid)
        line = p.stderr.readline().decode()
        ok("already running" in line and "waiting" in line and
           p.poll() is None, "start_F_waits_for_a_running_server", line)
        w.lsy("kill-session", "-t", "od")    # its last session goes
        ok(poll_until(lambda: (status_json(w) or {}).get("pid") == p.pid,
                      15), "start_F_serves_once_it_has_gone",
           (old, p.pid, status_json(w)))
        ok(status_json(w).get("started") == "start",
           "start_F_server_outlives_its_sessions")
        w.lsy("kill-server")
        ok(p.wait(15) == 0, "start_F_exits_when_killed")
    finally:
        w.close()


run_test(start_foreground_waits_for_an_on_demand_server,
         "start_foreground_waits")
done()

#!/usr/bin/python3
# loopsy mcp install|uninstall claude|codex|gemini|opencode [--dry-run]:
# our "loopsy" entry is added to each agent's user config beside what is
# there (kept intact, mode kept, a backup made), reinstalling changes
# nothing, --dry-run writes nothing, a config that does not parse is refused
# untouched, uninstall takes out only ours, and doctor reports each agent.
import json
import os
import stat
import subprocess
import sys
import threading
import tomllib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import *  # noqa

require()

EXE = os.path.realpath(LOOPSY)

CLAUDE = {"numStartups": 34, "theme": "dark", "ratio": 0.5,
          "projects": {"/p": {"mcpServers": {"proj": {"command": "p"}}}},
          "mcpServers": {"other": {"type": "stdio", "command": "other-mcp",
                                   "args": ["--x"], "env": {"K": "v"}}}}
GEMINI = {"theme": "GitHub", "general": {"vimMode": True},
          "mcpServers": {"other": {"command": "other-mcp", "args": []}}}
OPENCODE = {"$schema": "https://opencode.ai/config.json", "model": "m/x",
            "mcp": {"other": {"type": "local", "command": ["other-mcp"],
                              "enabled": False}}}
CODEX = """# my settings
model = "o3"
notes = \"\"\"
[mcp_servers.loopsy]
not a table: inside a string
\"\"\"

[mcp_servers.other]
command = "other-mcp"
args = [
  ["nested"],
  "x",
]

[profiles.fast]
model = "o4-mini"
"""


def read(p):
    with open(p) as f:
        return f.read()


def write(p, text, mode=0o600):
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "w") as f:
        f.write(text)
    os.chmod(p, mode)


def mode(p):
    return stat.S_IMODE(os.stat(p).st_mode)


class Agents:
    """A world whose HOME holds a config for each agent, with others in."""

    def __init__(self):
        self.w = World()
        for k in ("CLAUDE_CONFIG_DIR", "CODEX_HOME", "XDG_CONFIG_HOME"):
            self.w.env.pop(k, None)
        h = self.w.home
        self.paths = {
            "claude": os.path.join(h, ".claude.json"),
            "codex": os.path.join(h, ".codex", "config.toml"),
            "gemini": os.path.join(h, ".gemini", "settings.json"),
            "opencode": os.path.join(h, ".config", "opencode",
                                     "opencode.json"),
        }
        write(self.paths["claude"], json.dumps(CLAUDE, indent=2), 0o600)
        write(self.paths["codex"], CODEX, 0o640)
        write(self.paths["gemini"], json.dumps(GEMINI, indent=2), 0o644)
        write(self.paths["opencode"], json.dumps(OPENCODE, indent=2), 0o600)
        self.orig = {a: read(p) for a, p in self.paths.items()}
        self.modes = {a: mode(p) for a, p in self.paths.items()}

    def lsy(self, *a):
        return self.w.lsy(*a, sock=False)

    def json(self, agent):
        return json.loads(read(self.paths[agent]))


def want_entry(agent, home):
    if agent == "claude":
        return {"type": "stdio", "command": EXE, "args": ["mcp"],
                "env": {"LOOPSY_HOME": home}}
    if agent == "gemini":
        return {"command": EXE, "args": ["mcp"], "env": {"LOOPSY_HOME": home}}
    return {"type": "local", "command": [EXE, "mcp"], "enabled": True,
            "environment": {"LOOPSY_HOME": home}}


def codex_table(home):
    return ('[mcp_servers.loopsy]\ncommand = "%s"\nargs = ["mcp"]\n'
            'env = { LOOPSY_HOME = "%s" }\n' % (EXE, home))


def install_keeps_every_other_key_and_makes_a_backup():
    a = Agents()
    home = os.path.realpath(a.w.home)
    rc, out, err = a.lsy("mcp", "install", "claude", "codex", "gemini",
                         "opencode")
    ok(rc == 0, "install into all four agents succeeds", out + err)
    for agent in ("claude", "gemini"):
        got = a.json(agent)
        servers = dict(got["mcpServers"])
        is_eq(servers.pop("loopsy", None), want_entry(agent, home),
              "%s: loopsy entry runs this binary with mcp" % agent)
        rest = dict(got, mcpServers=servers)
        is_eq(rest, json.loads(a.orig[agent]),
              "%s: every other key and server kept" % agent)
    got = a.json("opencode")
    servers = dict(got["mcp"])
    is_eq(servers.pop("loopsy", None), want_entry("opencode", home),
          "opencode: local entry with a command array")
    is_eq(dict(got, mcp=servers), OPENCODE, "opencode: the rest kept")
    text = read(a.paths["codex"])
    ok(text.startswith(CODEX), "codex: every byte before our table kept",
       text)
    is_eq(text[len(CODEX):], "\n" + codex_table(home),
          "codex: [mcp_servers.loopsy] appended")
    for agent, p in a.paths.items():
        is_eq(read(p + ".loopsy-backup"), a.orig[agent],
              "%s: backup holds the file as it was" % agent)
        is_eq(mode(p), a.modes[agent], "%s: mode kept (%o)" %
              (agent, a.modes[agent]))
    # Reinstalling: nothing to change, nothing written.
    before = {ag: read(p) for ag, p in a.paths.items()}
    mtimes = {ag: os.stat(p).st_mtime_ns for ag, p in a.paths.items()}
    rc, out, err = a.lsy("mcp", "install", "claude", "codex", "gemini",
                         "opencode")
    ok(rc == 0 and out.count("already registered") == 4,
       "reinstall says already registered for each", out + err)
    ok(all(read(p) == before[ag] and os.stat(p).st_mtime_ns == mtimes[ag]
           for ag, p in a.paths.items()), "reinstall writes nothing")
    # doctor: each agent has it.
    rc, out, err = a.lsy("doctor", "--json")
    mcp = [c for c in json.loads(out)["checks"] if c["name"] == "mcp"]
    ok(mcp and mcp[0]["status"] == "ok" and
       all("%s: registered (%s)" % (ag, EXE) in mcp[0]["detail"]
           for ag in a.paths), "doctor: all four agents registered",
       mcp)
    # Uninstall takes out only ours.
    rc, out, err = a.lsy("mcp", "uninstall", "claude", "codex", "gemini",
                         "opencode")
    ok(rc == 0, "uninstall from all four succeeds", out + err)
    for agent in ("claude", "gemini", "opencode"):
        is_eq(a.json(agent), json.loads(a.orig[agent]),
              "%s: uninstall leaves exactly what was there" % agent)
    is_eq(read(a.paths["codex"]), CODEX,
          "codex: uninstall gives back the file byte for byte")
    for agent, p in a.paths.items():
        # the backup is the file as it was before loopsy first changed it
        ok(read(p + ".loopsy-backup") == a.orig[agent],
           "%s: uninstall keeps the backup of the original" % agent)
    rc, out, err = a.lsy("mcp", "uninstall", "claude")
    ok(rc == 0 and "not registered" in out, "a second uninstall is a no-op",
       out + err)
    rc, out, err = a.lsy("doctor", "--json")
    mcp = [c for c in json.loads(out)["checks"] if c["name"] == "mcp"][0]
    ok(mcp["status"] == "info" and "codex: not registered" in mcp["detail"]
       and "loopsy mcp install claude codex gemini opencode" in
       mcp.get("fix", ""), "doctor: not registered, with the fix", mcp)
    a.w.close()


def dry_run_writes_nothing():
    a = Agents()
    rc, out, err = a.lsy("mcp", "install", "--dry-run", "claude", "codex",
                         "gemini", "opencode")
    ok(rc == 0 and out.count("would add") == 4 and
       "[mcp_servers.loopsy]" in out and '"loopsy"' in out,
       "dry run shows each entry it would add", out + err)
    ok(all(read(p) == a.orig[ag] for ag, p in a.paths.items()),
       "dry run changes no config")
    ok(not any(os.path.exists(p + ".loopsy-backup")
               for p in a.paths.values()), "dry run makes no backup")
    rc, out, err = a.lsy("mcp", "install", "gemini", "--dry-run")
    ok(rc == 0 and "would add" in out and
       read(a.paths["gemini"]) == a.orig["gemini"],
       "--dry-run after the agent works too", out + err)
    a.w.close()


def invalid_json_is_refused_untouched():
    a = Agents()
    bad = '{\n  "theme": "dark",\n  // a comment\n  "x": 1,\n}\n'
    write(a.paths["gemini"], bad, 0o644)
    rc, out, err = a.lsy("mcp", "install", "gemini")
    ok(rc != 0 and "not valid JSON" in err and "line 3" in err and
       "nothing was changed" in err, "invalid JSON refused with the reason",
       out + err)
    is_eq(read(a.paths["gemini"]), bad, "invalid JSON file untouched")
    ok(not os.path.exists(a.paths["gemini"] + ".loopsy-backup"),
       "no backup of a refused file")
    rc, out, err = a.lsy("doctor", "--json")
    mcp = [c for c in json.loads(out)["checks"] if c["name"] == "mcp"][0]
    ok(mcp["status"] == "warn" and "gemini" in mcp["detail"] and
       "not valid JSON" in mcp["detail"], "doctor warns about it", mcp)
    write(a.paths["claude"], '{"mcpServers": []}', 0o600)
    rc, out, err = a.lsy("mcp", "install", "claude")
    ok(rc != 0 and "not an object" in err and
       read(a.paths["claude"]) == '{"mcpServers": []}',
       "mcpServers that is not an object refused untouched", err)
    codex = '[mcp_servers]\nloopsy = { command = "mine" }\n'
    write(a.paths["codex"], codex, 0o600)
    rc, out, err = a.lsy("mcp", "install", "codex")
    ok(rc != 0 and "by hand" in err and read(a.paths["codex"]) == codex,
       "codex: an inline loopsy table refused untouched", err)
    rc, out, err = a.lsy("mcp", "install", "vscode")
    ok(rc != 0 and "unknown agent" in err, "unknown agent refused", err)
    a.w.close()


def install_creates_missing_configs_and_replaces_stale_entries():
    w = World()
    for k in ("CLAUDE_CONFIG_DIR", "CODEX_HOME", "XDG_CONFIG_HOME"):
        w.env.pop(k, None)
    rc, out, err = w.lsy("doctor", "--json", sock=False)
    mcp = [c for c in json.loads(out)["checks"] if c["name"] == "mcp"][0]
    ok(mcp["status"] == "info" and "no agent config" in mcp["detail"],
       "doctor: info when no agent is configured", mcp)
    rc, out, err = w.lsy("mcp", "install", "opencode", "codex", sock=False)
    p = os.path.join(w.home, ".config", "opencode", "opencode.json")
    c = os.path.join(w.home, ".codex", "config.toml")
    ok(rc == 0 and os.path.exists(p) and os.path.exists(c),
       "install creates a missing config", out + err)
    ok(mode(p) == 0o600 and not os.path.exists(p + ".loopsy-backup"),
       "a new config is private and has no backup", oct(mode(p)))
    is_eq(read(c), codex_table(os.path.realpath(w.home)),
          "codex: a new config.toml holds our table only")
    # A stale entry (an old binary path, an extra subtable) is replaced.
    write(c, 'a = 1\n\n[mcp_servers.loopsy]\ncommand = "/gone/loopsy"\n'
          '# keep me\n\n[mcp_servers.loopsy.env]\nX = "1"\n\n[b]\nc = 2\n',
          0o600)
    rc, out, err = w.lsy("doctor", "--json", sock=False)
    mcp = [x for x in json.loads(out)["checks"] if x["name"] == "mcp"][0]
    ok(mcp["status"] == "warn" and "/gone/loopsy is gone" in mcp["detail"]
       and "loopsy mcp install codex" in mcp.get("fix", ""),
       "doctor: a registered path that is gone is a warning", mcp)
    rc, out, err = w.lsy("mcp", "install", "codex", sock=False)
    home = os.path.realpath(w.home)
    is_eq(read(c), 'a = 1\n\n[mcp_servers.loopsy]\ncommand = "%s"\n'
          'args = ["mcp"]\n# keep me\n\n[mcp_servers.loopsy.env]\n'
          'LOOPSY_HOME = "%s"\nX = "1"\n\n[b]\nc = 2\n' % (EXE, home),
          "codex: the old table and its subtable replaced in place")
    w.close()


run_test(install_keeps_every_other_key_and_makes_a_backup,
         "install_keeps_every_other_key_and_makes_a_backup")
run_test(dry_run_writes_nothing, "dry_run_writes_nothing")
run_test(invalid_json_is_refused_untouched,
         "invalid_json_is_refused_untouched")
run_test(install_creates_missing_configs_and_replaces_stale_entries,
         "install_creates_missing_configs_and_replaces_stale_entries")

def lossy_json_is_refused():
    w = World()
    try:
        path = os.path.join(w.home, ".gemini", "settings.json")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        text = '{"big": 12345678901234567890, "mcpServers": {}}\n'
        with open(path, "w") as f:
            f.write(text)
        rc, out, err = w.lsy("mcp", "install", "gemini")
        ok(rc != 0 and "more than 15 digits" in err and read(path) == text,
           "a config cJSON would round is refused untouched", err)
    finally:
        w.close()


run_test(lossy_json_is_refused, "lossy_json_is_refused")

def codex_quoted_or_escaped_loopsy_keys():
    """A key the scanner cannot read that might name loopsy is refused;
    quoted keys it can read are ours, and what it writes parses."""
    w = World()
    for k in ("CLAUDE_CONFIG_DIR", "CODEX_HOME", "XDG_CONFIG_HOME"):
        w.env.pop(k, None)
    try:
        c = os.path.join(w.home, ".codex", "config.toml")
        home = os.path.realpath(w.home)
        for name, text in (
                ("an escaped table name",
                 '[mcp_servers."lo\\u006fpsy"]\ncommand = "x"\n'),
                ("an escaped key in [mcp_servers]",
                 '[mcp_servers]\n"lo\\u006fpsy" = { command = "x" }\n'),
                ("an escaped mcp_servers",
                 '["mcp\\u005fservers".loopsy]\ncommand = "x"\n'),
                ("an escaped dotted key",
                 '"mcp_servers"."loops\\u0079".command = "x"\n')):
            write(c, text)
            rc, out, err = w.lsy("mcp", "install", "codex", sock=False)
            ok(rc != 0 and "by hand" in err and read(c) == text,
               "codex: %s that may be loopsy is refused" % name, err)
        for name, text in (
                ("a quoted table name",
                 '[mcp_servers."loopsy"]\ncommand = "old"\n'
                 'startup_timeout_sec = 20\n'),
                ("a literal table name",
                 "[mcp_servers.'loopsy']\ncommand = 'old'\n"),
                ("an escaped key elsewhere",
                 '[other]\n"a\\tb" = 1\n')):
            write(c, text)
            rc, out, err = w.lsy("mcp", "install", "codex", sock=False)
            try:
                got = tomllib.loads(read(c))
            except tomllib.TOMLDecodeError as e:
                got = {"error": str(e)}
            lo = got.get("mcp_servers", {}).get("loopsy", {})
            ok(rc == 0 and lo.get("command") == EXE and
               lo.get("env") == {"LOOPSY_HOME": home} and
               ("startup" not in text or lo.get("startup_timeout_sec") == 20)
               and ("other" not in text or got["other"] == {"a\tb": 1}),
               "codex: %s is installed into and still parses" % name,
               out + err + read(c))
    finally:
        w.close()


def reinstall_keeps_user_additions_in_our_entry():
    w = World()
    for k in ("CLAUDE_CONFIG_DIR", "CODEX_HOME", "XDG_CONFIG_HOME"):
        w.env.pop(k, None)
    try:
        home = os.path.realpath(w.home)
        c = os.path.join(w.home, ".codex", "config.toml")
        for name, text, env in (
                ("inline env",
                 '[mcp_servers.loopsy]\ncommand = "/old"\nargs = [\n'
                 '  "mcp",\n  "-v",\n]\nstartup_timeout_sec = 20\n'
                 'env = { FOO = "bar", LOOPSY_HOME = "/old" } # mine\n\n'
                 '[mcp_servers.loopsy.tools]\nx = 1\n',
                 {"FOO": "bar", "LOOPSY_HOME": home}),
                ("dotted env",
                 '[mcp_servers.loopsy]\ncommand = "/old"\nargs = [\n'
                 '  "-v"]\nstartup_timeout_sec = 20\nenv.FOO = "bar"\n'
                 '\n[mcp_servers.loopsy.tools]\nx = 1\n',
                 {"FOO": "bar", "LOOPSY_HOME": home}),
                ("env subtable",
                 '[mcp_servers.loopsy]\nstartup_timeout_sec = 20\n\n'
                 '[mcp_servers.loopsy.env]\nFOO = "bar"\n'
                 'LOOPSY_HOME = "/old"\n\n[mcp_servers.loopsy.tools]\n'
                 'x = 1\n', {"FOO": "bar", "LOOPSY_HOME": home})):
            write(c, text)
            rc, out, err = w.lsy("mcp", "install", "codex", sock=False)
            try:
                lo = tomllib.loads(read(c))["mcp_servers"]["loopsy"]
            except (tomllib.TOMLDecodeError, KeyError) as e:
                lo = {"error": str(e)}
            is_eq(lo, {"command": EXE, "args": ["mcp"],
                       "startup_timeout_sec": 20, "env": env,
                       "tools": {"x": 1}},
                  "codex: reinstall over %s keeps the user's keys" % name)
            before = read(c)
            rc, out, err = w.lsy("mcp", "install", "codex", sock=False)
            ok(rc == 0 and "already registered" in out and
               read(c) == before,
               "codex: a second install over %s changes nothing" % name,
               out + err)
        p = os.path.join(w.home, ".claude.json")
        write(p, json.dumps({"mcpServers": {"loopsy": {
            "command": "/old", "args": [], "timeout": 5,
            "env": {"FOO": "bar"}}}}))
        rc, out, err = w.lsy("mcp", "install", "claude", sock=False)
        is_eq(json.loads(read(p))["mcpServers"]["loopsy"],
              {"command": EXE, "args": ["mcp"], "timeout": 5,
               "type": "stdio", "env": {"FOO": "bar", "LOOPSY_HOME": home}},
              "claude: reinstall merges into the user's entry")
    finally:
        w.close()


def crlf_configs_get_crlf():
    w = World()
    for k in ("CLAUDE_CONFIG_DIR", "CODEX_HOME", "XDG_CONFIG_HOME"):
        w.env.pop(k, None)
    try:
        c = os.path.join(w.home, ".codex", "config.toml")
        os.makedirs(os.path.dirname(c), exist_ok=True)
        for text in ('model = "o3"\r\n\r\n[x]\r\ny = 1\r\n',
                     '[mcp_servers.loopsy]\r\ncommand = "/old"\r\n'
                     'args = ["mcp"]\r\n'):
            with open(c, "wb") as f:
                f.write(text.encode())
            rc, out, err = w.lsy("mcp", "install", "codex", sock=False)
            data = open(c, "rb").read()
            ok(rc == 0 and b"\n" not in data.replace(b"\r\n", b"") and
               tomllib.loads(data.decode())["mcp_servers"]["loopsy"]
               ["command"] == EXE,
               "codex: a CRLF config gets CRLF lines from install", data)
        rc, out, err = w.lsy("mcp", "uninstall", "codex", sock=False)
        data = open(c, "rb").read()
        ok(rc == 0 and b"\n" not in data.replace(b"\r\n", b"") and
           b"loopsy" not in data, "codex: uninstall from a CRLF config",
           data)
        g = os.path.join(w.home, ".gemini", "settings.json")
        os.makedirs(os.path.dirname(g), exist_ok=True)
        with open(g, "wb") as f:
            f.write(b'{\r\n  "theme": "x"\r\n}\r\n')
        rc, out, err = w.lsy("mcp", "install", "gemini", sock=False)
        data = open(g, "rb").read()
        ok(rc == 0 and b"\n" not in data.replace(b"\r\n", b"") and
           "loopsy" in json.loads(data)["mcpServers"],
           "gemini: a CRLF config stays CRLF", data)
    finally:
        w.close()


def a_config_changed_during_install_is_not_overwritten():
    """Another writer rewrites the file all along: an install that read
    one version must not rename over a newer one."""
    w = World()
    for k in ("CLAUDE_CONFIG_DIR", "CODEX_HOME", "XDG_CONFIG_HOME"):
        w.env.pop(k, None)
    stop = threading.Event()
    g = os.path.join(w.home, ".gemini", "settings.json")
    os.makedirs(os.path.dirname(g), exist_ok=True)
    write(g, "{}")

    def writer():
        i = 0
        while not stop.is_set():
            i += 1
            tmp = g + ".w"
            with open(tmp, "w") as f:
                f.write(json.dumps({"n": i, "pad": "x" * (i % 97)}))
            os.replace(tmp, g)

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    seen = ""
    try:
        for _ in range(60):
            rc, out, err = w.lsy("mcp", "install", "gemini", sock=False)
            if "changed while we edited it; run it again" in err:
                seen = err
                break
            w.lsy("mcp", "uninstall", "gemini", sock=False)
    finally:
        stop.set()
        t.join()
        w.close()
    ok(seen != "", "a config changed while install edits it is refused",
       seen)


run_test(codex_quoted_or_escaped_loopsy_keys,
         "codex_quoted_or_escaped_loopsy_keys")
run_test(reinstall_keeps_user_additions_in_our_entry,
         "reinstall_keeps_user_additions_in_our_entry")
run_test(crlf_configs_get_crlf, "crlf_configs_get_crlf")
run_test(a_config_changed_during_install_is_not_overwritten,
         "a_config_changed_during_install_is_not_overwritten")
done()

#!/usr/bin/python3
# loopsy exec: running a program without a shell or a terminal; stdout and
# stderr apart and streamed; exit codes, signals, timeouts that kill the
# process group, output caps, maxConcurrent, the execution denylist and
# allowlist (through wrappers), rate limits, and the audit line.
import json
import os
import struct
import select
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import *  # noqa
import harness

require("sh", "bash", "find", "xargs", "nice", "timeout")

DENIED = "denied by execution.denylist: rm"


def world(config=""):
    """A world with a server that stays up between commands (and no rate
    limit unless the config sets one: these tests run many commands)."""
    if "rateLimits" not in config:
        config += "rateLimits: { execute: 0 }\n"
    w = World(config=config)
    rc, out, err = w.lsy("start")
    if rc != 0:
        raise RuntimeError("start: %s" % err)
    return w


def gone(pid):
    """The process no longer runs (exited, or a zombie nobody reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


class Stream:
    """loopsy exec in the background, its stdout read as it comes."""

    def __init__(self, w, *args):
        self.p = subprocess.Popen(w.argv("exec", *args), env=w.env,
                                  cwd=w.home, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE)
        harness._children.append(self.p)
        self.out = b""
        os.set_blocking(self.p.stdout.fileno(), False)

    def pump(self):
        r, _, _ = select.select([self.p.stdout], [], [], 0.05)
        if r:
            d = self.p.stdout.read()
            if d:
                self.out += d
        return self.out

    def wait_output(self, needle, timeout=10):
        return wait_until(lambda: needle in self.pump(), timeout,
                          what="%r from loopsy exec" % needle)

    def finish(self, timeout=20):
        self.p.wait(timeout=timeout)
        os.set_blocking(self.p.stdout.fileno(), True)
        self.out += self.p.stdout.read()
        err = self.p.stderr.read().decode()
        harness._children.remove(self.p)
        return self.p.returncode, self.out.decode(), err


def output_exit_codes_and_signals():
    w = world()
    try:
        rc, out, err = w.lsy("exec", "--", "sh", "-c",
                             "echo o1; echo e1 >&2; echo o2; echo e2 >&2")
        is_eq((rc, out, err), (0, "o1\no2\n", "e1\ne2\n"),
              "exec_keeps_stdout_and_stderr_apart_and_in_order")
        rc, out, err = w.lsy("exec", "echo", "$HOME", "*", "a;b")
        is_eq(out, "$HOME * a;b\n", "exec_runs_no_shell_unless_asked")
        rc, out, err = w.lsy("exec", "--", "sh", "-c", "exit 3")
        is_eq((rc, err), (3, ""), "exec_exits_with_the_program_status")
        rc, out, err = w.lsy("exec", "--", "sh", "-c", "kill -TERM $$")
        is_eq(rc, 128 + signal.SIGTERM,
              "exec_killed_by_a_signal_exits_128_plus_signal")
        rc, out, err = w.lsy("exec", "--json", "--", "sh", "-c",
                             "echo out; echo err >&2; kill -KILL $$")
        j = json.loads(out)
        is_eq((rc, j["exit"], j["signal"], j["stdout"], j["stderr"]),
              (137, None, "SIGKILL", "out\n", "err\n"),
              "exec_json_names_the_signal_with_exit_null")
        rc, out, err = w.lsy("exec", "--json", "--", "sh", "-c",
                             "printf 'a\\0b\\377'; exit 4")
        j = json.loads(out)
        is_eq(sorted(j), sorted(["command", "exit", "signal", "duration_ms",
                                 "stdout", "stderr", "truncated",
                                 "timed_out"]),
              "exec_json_has_every_field")
        is_eq((rc, j["command"], j["exit"], j["signal"], j["timed_out"],
               j["truncated"]),
              (4, ["sh", "-c", "printf 'a\\0b\\377'; exit 4"], 4, None, False,
               {"stdout": False, "stderr": False}),
              "exec_json_gives_command_exit_and_flags")
        ok(isinstance(j["duration_ms"], (int, float)) and
           0 <= j["duration_ms"] < 10000, "exec_json_gives_duration_ms",
           j["duration_ms"])
        is_eq(j["stdout"], "a\ufffdb\ufffd",
              "exec_json_output_is_utf8_with_bad_bytes_replaced")
        # A surrogate, an overlong form, past U+10FFFF: each byte U+FFFD.
        raw = subprocess.run(w.argv("exec", "--json", "--", "printf",
                                    "a\\355\\240\\200b\\340\\200\\200"
                                    "c\\364\\220\\200\\200d\\303\\251"),
                             env=w.env, cwd=w.home, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, timeout=20).stdout
        try:
            got = json.loads(raw.decode("utf-8"))["stdout"]
        except (UnicodeDecodeError, ValueError) as e:
            got = repr(e)
        is_eq(got, "a" + "\ufffd" * 3 + "b" + "\ufffd" * 3 + "c" +
              "\ufffd" * 4 + "d\u00e9",
              "exec_json_replaces_surrogates_overlongs_and_past_10ffff")
        os.mkdir(os.path.join(w.home, "sub"))
        rc, out, err = w.lsy("exec", "--cwd", "sub", "--env", "FOO=bar baz",
                             "--env", "HOME=/elsewhere", "--", "sh", "-c",
                             "pwd; echo \"$FOO\"; echo $HOME")
        is_eq(out, "%s\nbar baz\n/elsewhere\n" % os.path.join(
            os.path.realpath(w.home), "sub"),
            "exec_cwd_and_env_reach_the_program")
    finally:
        w.close()


def streaming():
    w = world()
    try:
        fifo = os.path.join(w.dir, "gate")
        os.mkfifo(fifo)
        s = Stream(w, "--", "sh", "-c",
                   "echo first; echo warn >&2; cat %s; echo second" % fifo)
        s.wait_output(b"first\n")
        ok(s.p.poll() is None and b"second" not in s.out,
           "exec_streams_output_before_the_program_ends", s.out)
        with open(fifo, "w"):
            pass
        rc, out, err = s.finish()
        is_eq((rc, out, err), (0, "first\nsecond\n", "warn\n"),
              "exec_stream_finishes_with_the_rest")
    finally:
        w.close()


def output_cap():
    w = world("execution: { maxOutput: 1000 }\n")
    try:
        rc, out, err = w.lsy("exec", "--json", "--", "sh", "-c",
                             "yes | head -c 5000; echo small >&2")
        j = json.loads(out)
        is_eq((rc, len(j["stdout"]), j["stderr"], j["truncated"]),
              (0, 1000, "small\n", {"stdout": True, "stderr": False}),
              "exec_json_caps_output_at_maxOutput_with_truncated_flag")
        rc, out, err = w.lsy("exec", "--", "sh", "-c", "yes | head -c 5000")
        ok(rc == 0 and len(out) == 1000 and
           "stdout truncated after 1000 bytes (execution.maxOutput)" in err,
           "exec_stream_caps_output_and_says_so", (rc, len(out), err))
    finally:
        w.close()


def timeouts():
    w = world("execution: { timeout: 300 }\n")
    try:
        t0 = time.monotonic()
        rc, out, err = w.lsy("exec", "--timeout", "0.5", "--", "sh", "-c",
                             "sleep 300 & echo $!; echo $$; wait")
        pids = [int(x) for x in out.split()]
        ok(rc == 124 and "timed out after 0.5 s (--timeout)" in err and
           time.monotonic() - t0 < 10, "exec_timeout_exits_124_and_says_so",
           (rc, err))
        ok(len(pids) == 2 and poll_until(lambda: all(gone(p) for p in pids),
                                         5),
           "exec_timeout_kills_the_child_and_its_grandchild", pids)

        # Both ignore SIGTERM: SIGKILL follows after the grace.
        rc, out, err = w.lsy("exec", "--json", "--timeout", "0.3", "--",
                             "sh", "-c", "trap '' TERM; sleep 300 & "
                             "echo $!; echo $$; wait")
        j = json.loads(out)
        pids = [int(x) for x in j["stdout"].split()]
        is_eq((rc, j["timed_out"], j["exit"], j["signal"]),
              (124, True, None, "SIGKILL"),
              "exec_timeout_sigkills_a_group_that_ignores_sigterm")
        ok(len(pids) == 2 and poll_until(lambda: all(gone(p) for p in pids),
                                         5),
           "exec_timeout_leaves_no_process_of_the_group", pids)

        # The caller going away ends the program too.
        s = Stream(w, "--", "sh", "-c", "echo $$; exec sleep 300")
        pid = int(wait_until(lambda: s.pump().strip(), 10))
        s.p.kill()
        s.finish()
        ok(poll_until(lambda: gone(pid), 5),
           "exec_program_is_killed_when_the_caller_goes", pid)

        # And the server exiting: SIGTERM (ignored here), then SIGKILL.
        s = Stream(w, "--", "sh", "-c", "trap '' TERM; echo $$; sleep 300")
        pid = int(wait_until(lambda: s.pump().strip(), 10))
        w.lsy("kill-server")
        rc, out, err = s.finish()
        ok(rc == 128 + signal.SIGKILL and "the server exited" in err and
           poll_until(lambda: gone(pid), 5),
           "exec_program_is_killed_when_the_server_exits", (rc, err))
    finally:
        w.close()


def busy():
    w = world("execution: { maxConcurrent: 2 }\n")
    try:
        # one FIFO each: opening a FIFO to write waits for one reader, so
        # a gate shared by two could be closed before the second opens it
        fifos = [os.path.join(w.dir, "gate%d" % i) for i in range(2)]
        for fifo in fifos:
            os.mkfifo(fifo)
        held = [Stream(w, "--", "sh", "-c", "echo started; cat " + fifo)
                for fifo in fifos]
        for s in held:
            s.wait_output(b"started\n")
        rc, out, err = w.lsy("exec", "--", "true")
        is_eq((rc, err), (1, "busy: 2 commands already running "
                             "(execution.maxConcurrent)\n"),
              "exec_beyond_maxConcurrent_fails_at_once_with_busy")
        for fifo in fifos:
            with open(fifo, "w"):
                pass
        is_eq([s.finish()[0] for s in held], [0, 0],
              "exec_running_commands_finish_normally")
        rc, out, err = w.lsy("exec", "--", "true")
        is_eq(rc, 0, "exec_runs_again_once_a_slot_is_free")
    finally:
        w.close()


def denylist_bypasses():
    w = world()
    try:
        victim = os.path.join(w.home, "victim")
        open(victim, "w").close()
        bindir = os.path.join(w.dir, "bin")
        os.mkdir(bindir)
        # A multi-call binary is a file really named busybox.
        shutil.copy("/bin/true", os.path.join(bindir, "busybox"))
        os.symlink(shutil.which("rm"), os.path.join(w.home, "rm"))
        os.symlink(shutil.which("rm"), os.path.join(w.home, "tidy"))
        path = "PATH=%s:/usr/bin:/bin" % bindir
        forms = [
            ("rm",), ("/bin/rm",), ("/usr/bin/rm",), ("./rm",), ("./tidy",),
            ("env", "rm"), ("env", "-i", "rm"), ("env", "FOO=1", "rm"),
            ("env", "-S", "rm -f"),
            ("sh", "-c", "rm victim"), ("sh", "-c", "echo; rm victim"),
            ("bash", "-c", "ls && rm victim"), ("sh", "-c", "\"r\"m victim"),
            ("sh", "-c", "ls | xargs rm"), ("sh", "-c", "$(which rm) victim"),
            ("sh", "-c", "x=rm; $x victim"), ("sh", "-c", "eval rm victim"),
            ("xargs", "rm"), ("nice", "rm"), ("nice", "-n", "5", "rm"),
            ("timeout", "5", "rm"), ("timeout", "-s", "KILL", "5", "rm"),
            ("stdbuf", "-oL", "rm"), ("nohup", "rm"), ("setsid", "rm"),
            ("busybox", "rm"), ("find", ".", "-name", "victim", "-exec", "rm",
                                "{}", ";"),
            ("env", "nice", "sh", "-c", "timeout 5 rm victim"),
        ]
        bad = []
        for f in forms:
            argv = list(f) + ([] if f[0] in ("sh", "bash", "find") or
                              "-S" in f or "sh" in f else ["victim"])
            rc, out, err = w.lsy("exec", "--env", path, "--", *argv)
            if rc != 1 or not err.startswith(DENIED) or \
                    not os.path.exists(victim):
                bad.append((f, rc, err))
        ok(not bad, "exec_refuses_every_denylist_bypass_form_(%d)" %
           len(forms), bad)
        rc, out, err = w.lsy("exec", "--", "sh", "-c", "rm victim")
        is_eq(err, DENIED + " (via sh -c)\n", "exec_refusal_names_the_wrapper")
        rc, out, err = w.lsy("exec", "--", "env", "nice", "sh", "-c",
                             "timeout 5 rm victim")
        is_eq(err, DENIED + " (via env, nice, sh -c, timeout)\n",
              "exec_refusal_names_every_wrapper_in_turn")
        ok(os.path.exists(victim), "exec_denied_target_file_still_exists")
        rc, out, err = w.lsy("exec", "--", "ls", "victim")
        is_eq((rc, out), (0, "victim\n"),
              "exec_denylist_allows_other_programs")
    finally:
        w.close()


def allowlist():
    w = world("execution: { allowlist: [ls, echo, env, sh, dash, bash] }\n")
    try:
        rc, out, err = w.lsy("exec", "echo", "hi")
        is_eq((rc, out), (0, "hi\n"), "exec_allowlist_runs_a_listed_program")
        rc, out, err = w.lsy("exec", "--", "sh", "-c", "echo a; ls -d /")
        is_eq((rc, out), (0, "a\n/\n"),
              "exec_allowlist_runs_a_shell_string_of_listed_programs")
        cases = [
            ("an_unlisted_program", ("cat", "/etc/hostname"),
             "not in execution.allowlist: cat"),
            ("one_through_env", ("env", "cat", "x"),
             "not in execution.allowlist: cat (via env)"),
            ("one_in_a_shell_string", ("sh", "-c", "ls; cat x"),
             "not in execution.allowlist: cat (via sh -c)"),
            ("a_name_computed_at_run_time", ("sh", "-c", "$x"),
             "not in execution.allowlist: a program name computed when it "
             "runs (via sh -c)"),
        ]
        for name, argv, want in cases:
            rc, out, err = w.lsy("exec", "--", *argv)
            is_eq((rc, err), (1, want + "\n"),
                  "exec_allowlist_refuses_" + name)
        # What the review ran rm through, with rm not listed.
        victim = os.path.join(w.home, "victim")
        open(victim, "w").close()
        ev2 = os.path.join(w.home, "ev2")
        os.mkdir(ev2)
        shutil.copy(shutil.which("rm"), os.path.join(ev2, "ls"))
        bypasses = [
            ("a_copied_binary_named_like_a_listed_one", ("ev2/ls", "victim"),
             "not in execution.allowlist: ev2/ls (%s/ev2/ls is not the ls "
             "the server's PATH finds)" % os.path.realpath(w.home)),
            ("env_LD_PRELOAD", ("env", "LD_PRELOAD=/x.so", "ls", "/"),
             "refused by the execution policy: setting LD_PRELOAD changes "
             "what runs (via env)"),
            ("a_shell_reading_a_pipe", ("sh", "-c", "echo rm victim | sh"),
             "not in execution.allowlist: sh reading commands from its "
             "input (they cannot be checked; use sh -c) (via sh -c)"),
            ("PATH_set_in_a_shell_string",
             ("sh", "-c", "PATH=ev2 ls victim"),
             "not in execution.allowlist: setting PATH, which decides what "
             "the names after it run (via sh -c)"),
            ("alias", ("bash", "-c", "alias ls=rm; ls victim"),
             "not in execution.allowlist: alias (it changes what a name "
             "runs) (via bash -c)"),
        ]
        for name, argv, want in bypasses:
            rc, out, err = w.lsy("exec", "--", *argv)
            is_eq((rc, err, os.path.exists(victim)), (1, want + "\n", True),
                  "exec_allowlist_refuses_" + name)
        rc, out, err = w.lsy("exec", "--", "/bin/ls", "victim")
        is_eq((rc, out), (0, "victim\n"),
              "exec_allowlist_runs_the_listed_file_by_its_path")
    finally:
        w.close()


def bad_requests():
    w = world()
    try:
        open(os.path.join(w.home, "notes.txt"), "w").close()
        bad = os.path.join(w.home, "badinterp")
        with open(bad, "w") as f:
            f.write("#!/nonexistent/interp\n")
        os.chmod(bad, 0o755)
        cases = [
            ("missing_program_exits_127", ("nosuchprogram-x",), 127,
             "command not found: nosuchprogram-x"),
            ("empty_command", ("",), 1, "empty command"),
            ("a_file_it_cannot_run_exits_126", ("./notes.txt",), 126,
             "cannot run ./notes.txt: Permission denied"),
            ("missing_cwd", ("--cwd", "/nonexistent-dir", "--", "ls"), 1,
             "exec: --cwd /nonexistent-dir: No such file or directory"),
            ("cwd_not_a_directory", ("--cwd", "/etc/hostname", "--", "ls"),
             1, "exec: --cwd /etc/hostname: not a directory"),
            ("bad_env_as_usage", ("--env", "NOEQUALS", "--", "ls"), 2,
             "exec: --env NOEQUALS: expected KEY=VALUE"),
            ("bad_timeout_as_usage", ("--timeout", "soon", "--", "ls"), 2,
             "exec: --timeout soon: not a positive number of seconds up to "
             "10000000"),
            ("zero_timeout_as_usage", ("--timeout", "0", "--", "ls"), 2,
             "exec: --timeout 0: not a positive number of seconds up to "
             "10000000"),
            ("a_directory_exits_126", ("--", "/tmp"), 126,
             "cannot run /tmp: it is a directory"),
            ("a_missing_interpreter_exits_126", ("./badinterp",), 126,
             "cannot run ./badinterp: its interpreter /nonexistent/interp: "
             "No such file or directory"),
            ("env_LD_PRELOAD_refused", ("--", "env", "LD_PRELOAD=/x.so",
                                        "ls", "/"), 1,
             "refused by the execution policy: setting LD_PRELOAD changes "
             "what runs (via env)"),
            ("loader_env_refused", ("--env", "LD_PRELOAD=/x.so", "--",
                                    "true"), 1,
             "exec: --env LD_PRELOAD: refused by the execution policy: it "
             "changes what runs (the dynamic loader, shell start-up files "
             "or exported functions), which no deny- or allowlist could "
             "see"),
            ("unknown_peer", ("-t", "otherhost", "--", "ls"), 1,
             "unknown peer: otherhost (loopsy peers list shows them; add "
             "one with loopsy pair HOST or loopsy peers add otherhost "
             "HOST)"),
        ]
        for name, argv, code, msg in cases:
            rc, out, err = w.lsy("exec", *argv)
            is_eq((rc, err.splitlines()[:1]), (code, [msg]),
                  "exec_reports_" + name)
        rc, out, err = w.lsy("exec")
        ok(rc == 2 and "usage: loopsy exec" in err,
           "exec_without_a_command_prints_usage", err)
    finally:
        w.close()


def a_fifo_does_not_stop_the_server():
    """Reading a FIFO's #! line would wait for a writer, in the server's
    loop: it is refused as not a regular file, and the server goes on."""
    w = world()
    try:
        w.new("keep", "sh")
        os.mkfifo(os.path.join(w.home, "pipe"))
        try:
            rc, out, err = w.lsy("exec", "--", "./pipe", timeout=5)
            got = (rc, err)
        except subprocess.TimeoutExpired:
            got = "no answer in 5 s"
        is_eq(got, (126, "cannot run ./pipe: not a regular file\n"),
              "exec_of_a_fifo_exits_126_at_once")
        try:
            got = w.lsy("has-session", "-t", "keep", timeout=5)[0]
        except subprocess.TimeoutExpired:
            got = "no answer in 5 s"
        is_eq(got, 0, "the_server_goes_on_after_exec_of_a_fifo")
    finally:
        w.close()


def rate_limit_and_audit():
    w = world("rateLimits: { execute: 3 }\n")
    try:
        rcs = [w.lsy("exec", "--", "echo", "SECRET-ARG-%d" % i)[0]
               for i in range(3)]
        rc, out, err = w.lsy("exec", "--", "echo", "SECRET-ARG-4")
        ok(rcs == [0, 0, 0] and rc == 1 and "rateLimits.execute" in err and
           "retry in" in err, "exec_fourth_in_a_minute_is_rate_limited",
           (rcs, rc, err))
        audit = os.path.join(w.home, "logs", "audit.jsonl")

        def lines():
            try:
                with open(audit) as f:
                    return [json.loads(l) for l in f
                            if '"op":"exec"' in l.replace(" ", "")]
            except OSError:
                return []
        got = poll_until(lambda: len(lines()) >= 4, 5) and lines()
        ok(got and all(l.get("target") == "echo" for l in got
                       if l["result"] == "ok"),
           "exec_audit_line_names_the_program", got)
        with open(audit) as f:
            text = f.read()
        ok("SECRET-ARG" not in text, "exec_audit_never_logs_arguments")
    finally:
        w.close()


def slow_reader_backpressure():
    """A caller that does not read: the program waits, the server does not
    keep its output (execution.maxOutput 0: no cap to hide behind)."""
    import socket as sk
    w = world("execution: { maxOutput: 0 }\n")
    try:
        size = 200 * 1024 * 1024
        s = sk.socket(sk.AF_UNIX, sk.SOCK_STREAM)
        s.connect(w.sock)
        s.sendall(HELLO + command_frame(
            ["exec", "--", "sh", "-c", "head -c %d /dev/zero" % size]))

        def rss():
            j = json.loads(w.lsy("stats", "--json")[1])
            return j["rss_kib"]

        def blocked():
            """Is the program stopped, writing into a full pipe?"""
            for pid in os.listdir("/proc"):
                try:
                    with open("/proc/%s/cmdline" % pid, "rb") as f:
                        cmd = f.read().split(b"\0")
                    if cmd[:3] != [b"head", b"-c", b"%d" % size]:
                        continue
                    with open("/proc/%s/wchan" % pid) as f:
                        return "pipe" in f.read()
                except (OSError, ValueError):
                    continue
            return False
        # the server reads until the caller is 1 MiB behind, then stops:
        # the program blocks writing, with the server holding little
        ok(poll_until(blocked, 20) and rss() < 96 * 1024,
           "a_caller_that_does_not_read_stops_the_program_not_the_server_"
           "memory", rss())
        got, ty = 0, None
        s.settimeout(30)
        buf = b""
        while True:
            d = s.recv(1 << 20)
            if not d:
                break
            buf += d
            while len(buf) >= 5:
                n = struct.unpack(">I", buf[:4])[0]
                if len(buf) < 4 + n:
                    break
                ty = buf[4]
                if ty == 11:
                    got += n - 1
                buf = buf[4 + n:]
                if ty == 3:
                    break
            if ty == 3:
                break
        s.close()
        is_eq(got, size, "all_of_it_arrives_once_the_caller_reads")
    finally:
        w.close()


for fn in (output_exit_codes_and_signals, streaming, output_cap, timeouts,
           busy, denylist_bypasses, allowlist, bad_requests,
           a_fifo_does_not_stop_the_server, rate_limit_and_audit,
           slow_reader_backpressure):
    run_test(fn, fn.__name__)
done()

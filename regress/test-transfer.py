#!/usr/bin/env python3
"""Moving files with `loopsy cp` and `loopsy ls-files` through the real
binary: small, empty and large files arrive whole with their mode; -r trees;
pulls from a ":path"; the transfer path policy after resolving ~, .. and
symlinks (sibling prefixes, deny wins, maxFileSize); a corrupted transfer
leaves nothing; a client killed mid-way leaves no destination and the rerun
resumes; a progress bar only on a terminal; rate limits; audit lines.  A
local push passes the open source and the server copies it ("via":
"descriptor"); the corruption and resume tests run that way and streaming
(LOOPSY_TEST_NO_FD=1); a descriptor that is not the named source is
refused, and a missing one falls back to streaming.  A sender that learns
the size only at the end gives it to transfer-finish -s; one that never
resumes (transfer-put -N) leaves no part when cut short."""

import glob
import hashlib
import json
import os
import pty
import select
import signal
import stat
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (World, ok, is_eq, diag, done, require, run_test,
                     wait_until, poll_until, LOOPSY, _children, HELLO,
                     command_frame, frame, recv_frame)
import socket
import threading

require()

MIB = 1024 * 1024
UNLIMITED = "rateLimits: { execute: 0, transfer: 0, context: 0 }\n"


def world(extra=""):
    return World(config=UNLIMITED + extra)


def write(path, data, mode=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    if mode is not None:
        os.chmod(path, mode)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def parts(d):
    return glob.glob(os.path.join(d, ".*.loopsy-part-*"))


def cp_small_empty_and_large_files():
    w = world()
    try:
        h = w.home
        write(h + "/small.txt", b"hello\n", 0o640)
        write(h + "/empty", b"", 0o600)
        big = os.urandom(50 * MIB)
        write(h + "/big.bin", big, 0o755)
        for name, dst in (("small.txt", "copy.txt"), ("empty", "empty2"),
                          ("big.bin", "big2.bin")):
            rc, out, err = w.lsy("cp", name, dst)
            is_eq((rc, err), (0, ""), "cp_%s_succeeds_quietly" % name)
            ok(read(h + "/" + name) == read(h + "/" + dst),
               "cp_%s_content_equal" % name)
            is_eq(oct(os.stat(h + "/" + dst).st_mode & 0o777),
                  oct(os.stat(h + "/" + name).st_mode & 0o777),
                  "cp_%s_keeps_mode" % name)
        os.mkdir(h + "/into")
        rc, out, err = w.lsy("cp", "--json", "small.txt", "into")
        j = json.loads(out)
        ok(rc == 0 and read(h + "/into/small.txt") == b"hello\n",
           "cp_into_directory_keeps_the_name", err)
        is_eq(j["files"][0]["sha256"], hashlib.sha256(b"hello\n").hexdigest(),
              "cp_json_reports_sha256")
        is_eq(parts(h) + parts(h + "/into"), [], "cp_leaves_no_temp_files")
        rc, out, err = w.lsy("cp", "nonexistent", "x")
        ok(rc == 1 and "nonexistent" in err and
           not os.path.exists(h + "/x"), "cp_nonexistent_source_fails", err)
        rc, out, err = w.lsy("cp", "small.txt", "nodir/x")
        ok(rc == 1 and "no such directory" in err,
           "cp_into_missing_directory_fails", err)
        rc, out, err = w.lsy("cp", "into", "y")
        ok(rc == 1 and "-r" in err, "cp_directory_needs_r", err)
    finally:
        w.close()


def local_copy_passes_the_descriptor():
    w = world()
    try:
        h = w.home
        data = os.urandom(40 * MIB + 123)
        write(h + "/big.bin", data, 0o751)
        rc, out, err = w.lsy("cp", "--json", "big.bin", "copy.bin")
        f = json.loads(out)["files"][0] if out else {}
        ok(rc == 0 and read(h + "/copy.bin") == data,
           "local_copy_content_equal", err)
        is_eq(f.get("via"), "descriptor", "local_copy_is_done_by_the_server")
        is_eq(f.get("sha256"), hashlib.sha256(data).hexdigest(),
              "local_copy_reports_sha256")
        is_eq(oct(os.stat(h + "/copy.bin").st_mode & 0o777), "0o751",
              "local_copy_keeps_mode")
        is_eq(parts(h), [], "local_copy_leaves_no_temp_file")
        # No descriptor with -F: the server says so and the file streams.
        w.env["LOOPSY_TEST_NO_FD"] = "1"
        rc, out, err = w.lsy("cp", "--json", "big.bin", "streamed.bin")
        del w.env["LOOPSY_TEST_NO_FD"]
        f = json.loads(out)["files"][0] if out else {}
        ok(rc == 0 and read(h + "/streamed.bin") == data and
           f.get("via") == "stream", "cp_streams_when_no_descriptor_came",
           out + err)
        write(h + "/empty", b"")
        rc, out, err = w.lsy("cp", "--json", "empty", "e2")
        ok(rc == 0 and read(h + "/e2") == b"" and
           json.loads(out)["files"][0]["via"] == "descriptor",
           "local_copy_of_an_empty_file", out + err)
    finally:
        w.close()


def passed_descriptors_are_checked():
    w = world()
    try:
        h = w.home
        write(h + "/named", b"named file\n")
        write(h + "/other", b"other file\n")
        w.lsy("start")
        c = Raw(w)
        digest = hashlib.sha256(b"named file\n").hexdigest()

        def put(dst, fd=None, *flags):
            argv = ["transfer-put", "-F", "-s", "11", "-S", h + "/named"]
            argv += list(flags) + [h + "/" + dst]
            c.id += 1
            msg = command_frame(argv, c.id)
            if fd is None:
                c.s.sendall(msg)
            else:
                socket.send_fds(c.s, [msg], [fd])
            return c.reply()

        with open(h + "/other", "rb") as other:
            r, data, out = put("d1", other.fileno())
        ok(r is not None and not r["ok"] and
           r["error"]["code"] == "refused" and
           "not " + os.path.realpath(h + "/named") in r["error"]["message"],
           "a_descriptor_of_another_file_is_refused", r)
        ok(not os.path.exists(h + "/d1") and parts(h) == [],
           "a_refused_descriptor_leaves_nothing")

        r, data, out = put("d2")
        j = json.loads(out) if out else {}
        ok(r is not None and r["ok"] and j.get("copy") is False and
           "no descriptor" in j.get("why", ""),
           "without_a_descriptor_the_server_asks_for_a_stream", out)
        c.s.sendall(frame(14, b"named file\n"))
        r, data, out = c.run("transfer-finish", digest)
        ok(r is not None and r["ok"] and read(h + "/d2") == b"named file\n"
           and json.loads(out)["via"] == "stream",
           "and_the_stream_completes_the_file", out)

        fd = os.open(h + "/named", os.O_WRONLY)
        try:
            r, data, out = put("d3", fd)
        finally:
            os.close(fd)
        j = json.loads(out) if out else {}
        ok(r is not None and r["ok"] and j.get("copy") is False and
           "not open for reading" in j.get("why", ""),
           "a_write_only_descriptor_is_not_used", out)
        c.close()

        c = Raw(w)
        with open(h + "/named", "rb") as named:
            r, data, out = put("d4", named.fileno())
        ok(r is not None and r["ok"] and json.loads(out).get("copy") is True,
           "the_named_file_is_copied", out)
        r, data, out = c.run("transfer-status", "-w", "0")
        j = json.loads(out) if out else {}
        ok(j.get("copying") is False and j.get("done") == 11,
           "status_w_waits_for_the_copy", out)
        r, data, out = c.run("transfer-finish", digest)
        ok(r is not None and r["ok"] and read(h + "/d4") == b"named file\n"
           and json.loads(out)["via"] == "descriptor",
           "a_checked_descriptor_copy_finishes", out)
        c.close()
    finally:
        w.close()


def cp_r_copies_a_tree_and_skips_symlinks():
    w = world()
    try:
        h = w.home
        write(h + "/tree/a.txt", b"a", 0o600)
        write(h + "/tree/sub/b.txt", b"b" * 100000, 0o644)
        os.makedirs(h + "/tree/empty")
        os.chmod(h + "/tree/sub", 0o750)
        os.symlink("a.txt", h + "/tree/link")
        rc, out, err = w.lsy("cp", "-r", "tree", "copy")
        ok(rc == 1 and "skipping symlink" in err, "cp_r_reports_symlink",
           err)
        ok(read(h + "/copy/a.txt") == b"a" and
           read(h + "/copy/sub/b.txt") == b"b" * 100000 and
           os.path.isdir(h + "/copy/empty") and
           not os.path.lexists(h + "/copy/link"), "cp_r_copies_tree")
        is_eq(oct(os.stat(h + "/copy/sub").st_mode & 0o777), "0o750",
              "cp_r_keeps_directory_mode")
        is_eq(oct(os.stat(h + "/copy/a.txt").st_mode & 0o777), "0o600",
              "cp_r_keeps_file_mode")
        rc, out, err = w.lsy("cp", "-r", "tree", "copy")
        ok(os.path.exists(h + "/copy/tree/sub/b.txt"),
           "cp_r_into_existing_directory_nests", err)
        # and back from a server path
        rc, out, err = w.lsy("cp", "-r", ":" + h + "/tree", h + "/pulled")
        ok(rc == 1 and "skipping" in err and
           read(h + "/pulled/a.txt") == b"a" and
           read(h + "/pulled/sub/b.txt") == b"b" * 100000 and
           os.path.isdir(h + "/pulled/empty") and
           not os.path.lexists(h + "/pulled/link") and
           oct(os.stat(h + "/pulled/sub").st_mode & 0o777) == "0o750",
           "cp_r_pulls_a_tree_from_a_server_path", err)
        rc, out, err = w.lsy("cp", "-r", ":" + h + "/tree", h + "/pulled")
        ok(os.path.exists(h + "/pulled/tree/sub/b.txt"),
           "cp_r_pull_into_existing_directory_nests", err)
        rc, out, err = w.lsy("cp", "-r", ":" + h + "/tree/a.txt",
                             h + "/one.txt")
        ok(rc == 0 and read(h + "/one.txt") == b"a",
           "cp_r_pull_of_a_file_is_a_file", err)
        for dst, name in (("tree/sub/inside", "into_its_own_subdirectory"),
                          ("tree", "into_itself"), (".", "onto_itself")):
            rc, out, err = w.lsy("cp", "-r", "tree", dst, timeout=10)
            ok(rc == 1 and "cannot copy a directory into itself" in err and
               not os.path.exists(h + "/tree/sub/inside") and
               not os.path.exists(h + "/tree/tree"),
               "cp_r_refuses_to_copy_a_tree_" + name, err)
    finally:
        w.close()


def cp_r_goes_on_after_a_file_fails():
    w = world("transfer: { allowedPaths: [\"~\"], maxFileSize: 1000 }\n")
    try:
        h = w.home
        write(h + "/t/a/one", b"1")
        write(h + "/t/a/b/big", b"x" * 2000)
        write(h + "/t/a/b/c/three", b"3")
        rc, out, err = w.lsy("cp", "-r", "t", "d")
        ok(rc == 1 and "file too large: " in err and "big is 2000" in err and
           read(h + "/d/a/one") == b"1" and
           read(h + "/d/a/b/c/three") == b"3" and
           not os.path.exists(h + "/d/a/b/big"),
           "cp_r_copies_the_rest_when_a_file_is_refused", err)
        rc, out, err = w.lsy("cp", "-r", "--json", "t", "d2")
        j = json.loads(out) if out.strip() else {}
        ok(rc == 1 and j.get("ok") is False and
           len(j.get("errors", [])) == 1 and
           "file too large" in j["errors"][0] and
           read(h + "/d2/a/one") == b"1",
           "cp_r_json_lists_the_files_that_failed", out + err)
    finally:
        w.close()


def ls_files_lists_with_json():
    w = world()
    try:
        h = w.home
        write(h + "/d/f.txt", b"12345", 0o640)
        os.makedirs(h + "/d/sub")
        os.symlink("f.txt", h + "/d/l")
        rc, out, err = w.lsy("ls-files", "d")
        ok(rc == 0 and "f.txt" in out and "sub" in out, "ls_files_text",
           out + err)
        rc, out, err = w.lsy("ls-files", "--json", "d")
        j = {e["name"]: e for e in json.loads(out)}
        is_eq(sorted(j), ["f.txt", "l", "sub"], "ls_files_json_names")
        is_eq((j["f.txt"]["type"], j["f.txt"]["size"], j["f.txt"]["mode"],
               j["f.txt"]["path"]),
              ("file", 5, "0640", os.path.realpath(h + "/d/f.txt")),
              "ls_files_json_fields")
        is_eq((j["sub"]["type"], j["l"]["type"]), ("directory", "symlink"),
              "ls_files_types")
        ok("modified" in j["f.txt"], "ls_files_has_modified")
        rc, out, err = w.lsy("ls-files", "/etc")
        ok(rc == 1 and "transfer.allowedPaths" in err,
           "ls_files_obeys_policy", err)
        os.makedirs(h + "/.ssh")
        rc, out, err = w.lsy("ls-files", "--json", ".")
        ok(rc == 0 and ".ssh" not in [e["name"] for e in json.loads(out)],
           "ls_files_hides_denied_entries", out)
    finally:
        w.close()


def pull_from_server_path():
    w = world()
    try:
        h = w.home
        data = os.urandom(3 * MIB + 17)
        write(h + "/src.bin", data, 0o604)
        os.makedirs(h + "/out")
        rc, out, err = w.lsy("cp", "--json", ":src.bin", "out")
        ok(rc == 0 and read(h + "/out/src.bin") == data,
           "pull_copies_content", err)
        is_eq(oct(os.stat(h + "/out/src.bin").st_mode & 0o777), "0o604",
              "pull_keeps_mode")
        rc, out, err = w.lsy("cp", ":/etc/hostname", "x")
        ok(rc == 1 and "transfer.allowedPaths" in err,
           "pull_obeys_policy", err)
        rc, out, err = w.lsy("cp", "src.bin", "nopeer:/tmp/x")
        ok(rc == 1 and "unknown peer: nopeer" in err,
           "cp_to_unknown_peer_fails", err)
    finally:
        w.close()


def policy_refuses_escapes():
    w = world("transfer: { allowedPaths: [\"~/al\", \"~/shared\"], "
              "deniedPaths: [\"~/.ssh\", \"~/shared/secret\"], "
              "maxFileSize: 1000 }\n")
    try:
        h = w.home
        for d in ("al", "alice", "shared/secret", ".ssh"):
            os.makedirs(os.path.join(h, d), exist_ok=True)
        write(h + "/al/f", b"x" * 10)
        write(h + "/.ssh/id_ed25519", b"SECRET")
        write(h + "/al/big", b"x" * 1001)

        rc, out, err = w.lsy("cp", "al/f", "al/g")
        ok(rc == 0 and read(h + "/al/g") == b"x" * 10,
           "allowed_directory_works", err)
        rc, out, err = w.lsy("cp", "al/f", "alice/f")
        ok(rc == 1 and "not in transfer.allowedPaths" in err and
           not os.path.exists(h + "/alice/f"),
           "sibling_prefix_is_not_allowed", err)
        rc, out, err = w.lsy("cp", "al/f", "al/../alice/f")
        ok(rc == 1 and not os.path.exists(h + "/alice/f"),
           "dotdot_escape_refused", err)
        rc, out, err = w.lsy("cp", "al/f", "~/al/../alice/f")
        ok(rc == 1 and "allowedPaths: " + os.path.realpath(h) + "/alice/f"
           in err, "tilde_dotdot_escape_refused_naming_resolved_path", err)
        os.symlink(h + "/.ssh", h + "/al/keys")
        rc, out, err = w.lsy("cp", "al/keys/id_ed25519", "al/stolen")
        ok(rc == 1 and "transfer.deniedPaths" in err and
           not os.path.exists(h + "/al/stolen"),
           "symlink_into_ssh_refused_as_source", err)
        rc, out, err = w.lsy("cp", "al/f", "al/keys/planted")
        ok(rc == 1 and "transfer.deniedPaths" in err and
           not os.path.exists(h + "/.ssh/planted"),
           "symlink_into_ssh_refused_as_destination", err)
        rc, out, err = w.lsy("cp", ":al/keys/id_ed25519", "stolen")
        ok(rc == 1 and not os.path.exists(h + "/stolen"),
           "pull_through_symlink_into_ssh_refused", err)
        rc, out, err = w.lsy("ls-files", "al/keys")
        ok(rc == 1 and "deniedPaths" in err, "ls_files_through_symlink_refused",
           err)
        rc, out, err = w.lsy("cp", "al/f", "shared/secret/f")
        ok(rc == 1 and "transfer.deniedPaths" in err,
           "deny_wins_over_allow", err)
        rc, out, err = w.lsy("cp", "al/f", "shared/ok")
        ok(rc == 0, "allowed_second_entry_works", err)
        rc, out, err = w.lsy("cp", "al/big", "al/big2")
        ok(rc == 1 and "maxFileSize" in err and
           not os.path.exists(h + "/al/big2"), "max_file_size_enforced", err)
        # $LOOPSY_HOME is not ~/.loopsy here: its files are still denied.
        os.symlink(h, h + "/al/lh")
        rc, out, err = w.lsy("cp", ":al/lh/config.yaml", "al/cfg")
        ok(rc == 1 and "loopsy's own state" in err and
           not os.path.exists(h + "/al/cfg"),
           "loopsy_home_config_refused_wherever_it_is", err)
        rc, out, err = w.lsy("cp", "al/f", "al/lh/config.yaml")
        ok(rc == 1 and "loopsy's own state" in err,
           "loopsy_home_config_cannot_be_overwritten", err)
        is_eq(parts(h + "/al"), [], "refusals_leave_no_temp_files")
        rc, out, err = w.lsy("ls-files", ".ssh")
        with open(os.path.join(h, "logs", "audit.jsonl")) as f:
            lines = [json.loads(l) for l in f if l.strip()]
        refused = [(l["op"], l["target"]) for l in lines
                   if l["result"] != "ok"]
        ssh = os.path.realpath(h) + "/.ssh"
        ok(("ls-files", ssh) in refused and
           any(op.startswith("transfer") and t == ssh + "/planted"
               or t == os.path.realpath(h) + "/al/keys/planted"
               for op, t in refused),
           "refusals_are_audited_with_the_path_asked_for", refused)
        ok(any(t.endswith("/al/big2") for op, t in refused),
           "too_large_is_audited_with_its_path", refused)
    finally:
        w.close()


def how(stream):
    """The environment and name suffix for a local copy or a stream."""
    return ({"LOOPSY_TEST_NO_FD": "1"}, "_streamed") if stream else ({}, "")


def checksum_mismatch_leaves_no_file(stream=False):
    w = world()
    env, sfx = how(stream)
    try:
        h = w.home
        write(h + "/src", os.urandom(2 * MIB))
        w.env.update(env)
        w.env["LOOPSY_TEST_CORRUPT_CHUNK"] = "3"
        rc, out, err = w.lsy("cp", "src", "dst")
        del w.env["LOOPSY_TEST_CORRUPT_CHUNK"]
        ok(rc == 1 and "checksum mismatch" in err and "nothing written" in err,
           "corrupted_chunk_reports_checksum_mismatch" + sfx, err)
        ok(not os.path.exists(h + "/dst"),
           "checksum_mismatch_leaves_no_file" + sfx)
        is_eq(parts(h), [], "checksum_mismatch_leaves_no_temp_file" + sfx)
        write(h + "/dst", b"old")
        w.env["LOOPSY_TEST_CORRUPT_CHUNK"] = "0"
        rc, out, err = w.lsy("cp", "src", "dst")
        del w.env["LOOPSY_TEST_CORRUPT_CHUNK"]
        ok(rc == 1 and read(h + "/dst") == b"old",
           "checksum_mismatch_keeps_old_destination" + sfx, err)
        rc, out, err = w.lsy("cp", "--json", "src", "dst")
        ok(rc == 0 and json.loads(out)["files"][0]["via"] ==
           ("stream" if stream else "descriptor"),
           "the_same_copy_without_the_hook_succeeds" + sfx, out + err)
    finally:
        w.close()


def killed_transfer_resumes(stream=False):
    w = world()
    extra, sfx = how(stream)
    try:
        h = w.home
        data = os.urandom(20 * MIB)
        write(h + "/src", data, 0o640)
        w.lsy("start")
        w.env.update(extra)
        env = dict(w.env, LOOPSY_TEST_PAUSE_AFTER=str(8 * MIB))
        p = subprocess.Popen(w.argv("cp", "src", "dst"), env=env, cwd=h,
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        _children.append(p)
        line = p.stderr.readline().decode()
        ok("paused after" in line, "client_pauses_mid_transfer" + sfx, line)
        p.send_signal(signal.SIGKILL)
        p.wait()
        ok(not os.path.exists(h + "/dst"),
           "killed_transfer_leaves_no_dst" + sfx)
        # the server writes what the client sent before it paused
        poll_until(lambda: len(parts(h)) == 1 and
                   os.path.getsize(parts(h)[0]) >= 8 * MIB, 10)
        tmp = parts(h)
        ok(len(tmp) == 1 and os.path.getsize(tmp[0]) >= 8 * MIB,
           "killed_transfer_keeps_a_part_to_resume" + sfx,
           [(t, os.path.getsize(t)) for t in tmp])
        rc, out, err = w.lsy("cp", "--json", "src", "dst")
        j = json.loads(out) if out else {}
        ok(rc == 0 and read(h + "/dst") == data,
           "resumed_copy_is_correct" + sfx, err)
        ok(j.get("sent", len(data)) < len(data) and
           j["files"][0]["resumed"] >= 8 * MIB,
           "resume_sends_only_the_rest" + sfx, out)
        is_eq(j["files"][0]["via"] if j else None,
              "stream" if stream else "descriptor",
              "resume_uses_the_" + ("stream" if stream else "descriptor"))
        is_eq(parts(h), [], "resume_removes_the_part" + sfx)
        is_eq(oct(os.stat(h + "/dst").st_mode & 0o777), "0o640",
              "resumed_copy_keeps_mode" + sfx)

        # A part whose prefix is not the source's is not trusted.
        write(h + "/src2", data)
        env = dict(w.env, LOOPSY_TEST_PAUSE_AFTER=str(MIB))
        p = subprocess.Popen(w.argv("cp", "src2", "dst2"), env=env, cwd=h,
                             stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
        _children.append(p)
        p.stderr.readline()
        p.send_signal(signal.SIGKILL)
        p.wait()
        # the server may still be writing what the client sent before it
        # paused: wait for the part to hold it, or our change is overwritten
        dst2_parts = lambda: glob.glob(os.path.join(h, ".dst2.loopsy-part-*"))
        wait_until(lambda: len(dst2_parts()) == 1 and
                   os.path.getsize(dst2_parts()[0]) >= MIB, 10,
                   what="the part to hold the paused prefix")
        part = dst2_parts()[0]
        with open(part, "r+b") as f:
            f.write(b"X")     # the prefix no longer matches src2
        rc, out, err = w.lsy("cp", "--json", "src2", "dst2")
        ok(rc == 0 and read(h + "/dst2") == data and
           json.loads(out)["files"][0]["resumed"] == 0,
           "mismatched_part_restarts_from_zero" + sfx, out + err)

        # Parts older than a day are swept on the next transfer there.
        old = os.path.join(h, ".x.loopsy-part-0123456789abcdef")
        write(old, b"stale")
        os.utime(old, (1, 1))
        w.lsy("cp", "src", "dst3")
        ok(not os.path.exists(old), "stale_parts_are_removed" + sfx)
    finally:
        w.close()


def progress_bar_only_on_a_terminal():
    w = world()
    try:
        h = w.home
        write(h + "/src", os.urandom(8 * MIB))
        rc, out, err = w.lsy("cp", "src", "dst")
        is_eq((rc, err), (0, ""), "no_progress_when_not_a_tty")
        pid, fd = pty.fork()
        if pid == 0:
            os.chdir(h)
            os.execve(LOOPSY, [LOOPSY, "-S", w.sock, "cp", "src", "dst2"],
                      w.env)
        _children.append(pid)
        got = b""
        while True:
            r, _, _ = select.select([fd], [], [], 10)
            if not r:
                break
            try:
                d = os.read(fd, 4096)
            except OSError:
                break
            if not d:
                break
            got += d
        _, status = os.waitpid(pid, 0)
        text = got.decode("utf-8", "replace")
        ok(os.waitstatus_to_exitcode(status) == 0 and "MiB" in text and
           "/s" in text and "src" in text, "progress_bar_on_a_tty", text)
    finally:
        w.close()


def rate_limit_and_audit():
    w = World(config="rateLimits: { transfer: 2 }\n")
    try:
        h = w.home
        write(h + "/a", b"data" * 100)
        w.lsy("start")      # one server keeps the buckets
        r = [w.lsy("cp", "a", "b%d" % i) for i in range(3)]
        ok(r[0][0] == 0 and r[1][0] == 0, "two_transfers_allowed")
        ok(r[2][0] == 1 and "rateLimits.transfer" in r[2][2],
           "third_transfer_rate_limited", r[2][2])
        lines = []
        with open(os.path.join(h, "logs", "audit.jsonl")) as f:
            lines = [json.loads(l) for l in f if l.strip()]
        fin = [l for l in lines if l["op"] == "transfer-finish"]
        ok(fin and fin[0]["target"] == os.path.realpath(h + "/b0") and
           fin[0]["bytes"] == 400, "audit_names_path_and_bytes", fin)
    finally:
        w.close()


class Raw:
    """One protocol connection: commands, their data frames and replies."""

    def __init__(self, w):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(w.sock)
        self.s.sendall(HELLO)
        recv_frame(self.s, 10)
        self.id = 0

    def send(self, argv):
        self.id += 1
        self.s.sendall(command_frame(argv, self.id))

    def reply(self, timeout=10):
        """(reply, data frames' bytes, stdout), or (None, ...) on timeout."""
        data, out = b"", b""
        while True:
            f = recv_frame(self.s, timeout)
            if f is None:
                return None, data, out
            if f[0] == 14:
                data += f[1]
            elif f[0] == 11:
                out += f[1]
            elif f[0] == 3:
                r = json.loads(f[1])
                if r.get("id") == self.id:
                    return r, data, out

    def run(self, *argv, timeout=10):
        self.send(list(argv))
        return self.reply(timeout)

    def close(self):
        self.s.close()


def rehashed(w):
    """Bytes of parts the server read back to resume pushes (stats)."""
    rc, out, err = w.lsy("stats", "--json")
    return json.loads(out).get("transfer_rehashed") if rc == 0 else None


def finish_settles_the_size_and_no_resume_drops_the_part():
    w = world()
    try:
        h = w.home
        w.lsy("start")
        hello = hashlib.sha256(b"hello").hexdigest()
        c = Raw(w)
        # A sender that knows the size only at the end declares the most
        # it can be, then gives the size to transfer-finish -s.
        c.run("transfer-put", "-N", "-R", "-s", "100", h + "/d1")
        c.s.sendall(frame(14, b"hello"))
        r, data, out = c.run("transfer-finish", "-s", "5", hello)
        j = json.loads(out) if out else {}
        ok(r is not None and r["ok"] and j.get("size") == 5 and
           read(h + "/d1") == b"hello" and parts(h) == [],
           "finish_s_settles_the_size_of_the_open_part", r)
        c.run("transfer-put", "-s", "100", h + "/d2")
        c.s.sendall(frame(14, b"hello"))
        r, data, out = c.run("transfer-finish", "-s", "4", hello)
        ok(r is not None and not r["ok"] and
           r["error"]["code"] == "size-mismatch" and
           not os.path.exists(h + "/d2") and parts(h) == [],
           "finish_s_below_what_came_writes_nothing", r)
        c.run("transfer-put", "-N", "-s", "100", h + "/d3")
        c.s.sendall(frame(14, b"hello"))
        r, data, out = c.run("transfer-finish", "-s", "6", hello)
        ok(r is not None and r["error"]["code"] == "incomplete" and
           "dropped" in r["error"]["message"] and parts(h) == [],
           "an_incomplete_no_resume_push_drops_its_part", r)
        c.run("transfer-put", "-s", "100", h + "/d4")
        c.s.sendall(frame(14, b"hello"))
        r, data, out = c.run("transfer-finish", hello)
        ok(r is not None and r["error"]["code"] == "incomplete" and
           "kept for a resume" in r["error"]["message"] and
           len(parts(h)) == 1, "finish_without_s_keeps_the_declared_size", r)
        os.unlink(parts(h)[0])
        c.close()

        # A client gone mid-push: its part stays for a resume, unless it
        # said it would never resume (-N).
        for flags, name in (([], "kept"), (["-N"], "dropped")):
            mine = lambda: glob.glob(os.path.join(h, ".%s.loopsy-part-*" %
                                                  name))
            c = Raw(w)
            c.run("transfer-put", *flags, "-s", "5", h + "/" + name)
            c.s.sendall(frame(14, b"hel"))
            there = poll_until(lambda: len(mine()) == 1 and
                               os.path.getsize(mine()[0]) == 3, 10)
            c.close()
            if flags:
                ok(there and poll_until(lambda: mine() == [], 10),
                   "a_no_resume_push_cut_short_leaves_no_part", mine())
            else:
                ok(there, "a_push_cut_short_has_its_part", mine())
        # The other is kept: resuming it (once the server has seen the
        # first connection go and unlocked it) reads it back, counted.
        before = rehashed(w)
        c = Raw(w)

        def resume():
            r, data, out = c.run("transfer-put", "-s", "5", h + "/kept")
            if r is not None and not r["ok"] and \
                    r["error"]["code"] == "busy":
                return None
            return r, out
        r, out = poll_until(resume, 10) or (None, b"")
        c.s.sendall(frame(14, b"lo"))
        r2, data, out2 = c.run("transfer-finish", hello)
        ok(r is not None and json.loads(out).get("offset") == 3 and
           r2 is not None and r2["ok"] and read(h + "/kept") == b"hello",
           "a_push_cut_short_keeps_its_part_to_resume", "%r %r" % (r, r2))
        is_eq(rehashed(w) - before if before is not None else None, 3,
              "stats_counts_bytes_read_back_to_resume")
        c.close()
    finally:
        w.close()


def pull_refuses_fifos_and_links_swapped_in():
    w = world("transfer: { allowedPaths: [\"~\"], deniedPaths: [~/.ssh] }\n")
    try:
        h = w.home
        w.lsy("start")
        os.mkfifo(h + "/fifo")
        c = Raw(w)
        r, data, out = c.run("transfer-get", h + "/fifo", timeout=10)
        ok(r is not None and r["error"]["code"] == "not-file",
           "pull_of_a_fifo_is_refused_without_blocking", r)
        is_eq(w.lsy("ls-files", "fifo")[0], 0,
              "server_still_answers_after_a_fifo_pull")
        # A link swapped in after the check must not be followed.
        write(h + "/.ssh/id", b"SECRET-KEY\n")
        write(h + "/d/id", b"public\n")
        stop = []

        def swap():
            while not stop:
                try:
                    os.rename(h + "/d", h + "/d.real")
                    os.symlink(h + "/.ssh", h + "/d")
                    os.unlink(h + "/d")
                    os.rename(h + "/d.real", h + "/d")
                except OSError:
                    pass
        t = threading.Thread(target=swap)
        t.start()
        leaked = 0
        try:
            for i in range(1000):
                r, data, out = c.run("transfer-get", h + "/d/id")
                leaked += b"SECRET" in data
        finally:
            stop.append(1)
            t.join()
        is_eq(leaked, 0, "pull_never_follows_a_link_swapped_in_after_the_check")
        # After a push, stray data frames during a pull do not disturb it.
        big = os.urandom(16 * MIB)
        write(h + "/big", big)
        r, data, out = c.run("transfer-put", "-s", "1", h + "/one")
        c.s.sendall(frame(14, b"x"))
        r, data, out = c.run("transfer-finish",
                             hashlib.sha256(b"x").hexdigest())
        ok(r is not None and r["ok"], "push_of_one_byte_finishes", r)
        c.send(["transfer-get", h + "/big"])
        c.s.sendall(frame(14, b"stray"))
        r, data, out = c.reply(30)
        ok(r is not None and r["ok"] and data == big,
           "stray_data_frames_do_not_break_a_pull_after_a_push", r)
        c.close()
    finally:
        w.close()


def cp_does_not_trust_a_lying_server():
    w = world()
    try:
        h = w.home
        os.mkdir(h + "/dst")
        write(h + "/local", b"hello")

        def fake(answer):
            ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            ls.bind(w.sock)
            ls.listen(1)

            def run():
                c, _ = ls.accept()
                recv_frame(c, 10)
                c.sendall(HELLO)
                while True:
                    f = recv_frame(c, 10)
                    if f is None:
                        break
                    if f[0] == 2:
                        c.sendall(answer(json.loads(f[1])["argv"]))
                c.close()
            t = threading.Thread(target=run)
            t.start()
            return ls, t

        def cp(answer, *args):
            ls, t = fake(answer)
            try:
                p = subprocess.run(w.argv("cp", *args), env=w.env,
                                   capture_output=True, timeout=20)
            finally:
                t.join(20)
                ls.close()
                os.unlink(w.sock)
            return p.returncode, p.stderr

        def reply(out, ok=True, msg=None):
            r = {"id": 1, "ok": ok}
            if msg is not None:
                r["error"] = {"message": msg}
            return frame(11, json.dumps(out)) + frame(3, json.dumps(r))

        def named(argv):
            if argv[0] == "ls-files":
                return reply([{"type": "file", "name": "../escaped",
                               "size": 3, "mode": "644"}])
            return frame(14, b"abc") + reply(
                {"sha256": hashlib.sha256(b"abc").hexdigest()})
        rc, err = cp(named, ":/x/src", h + "/dst")
        ok(rc == 1 and not os.path.exists(h + "/escaped"),
           "pull_refuses_a_file_name_with_a_slash_from_the_server", err)
        rc, err = cp(lambda argv: reply([{"name": "x"}]), ":/x/src",
                     h + "/dst")
        is_eq(rc, 1, "pull_survives_a_listing_without_a_type")

        def offset(argv):
            if argv[0] == "transfer-put":
                return reply({"offset": 1000000, "sha256": ""})
            return reply({"size": 5})
        rc, err = cp(offset, h + "/local", ":/y")
        ok(rc == 1, "push_refuses_an_offset_beyond_the_file", err)
        rc, err = cp(lambda argv: reply({}, False, "no \x1b]0;x\x07\x9b2J"),
                     h + "/local", ":/y")
        ok(rc == 1 and b"\x1b" not in err and b"\x07" not in err and
           b"\xc2\x9b" not in err, "cp_errors_carry_no_terminal_controls",
           err)
    finally:
        w.close()


def modification_time_is_kept():
    """cp keeps the source's mtime, to the nanosecond, both ways."""
    w = world()
    try:
        h = w.home
        write(h + "/old.txt", b"from long ago\n", 0o644)
        when = 1234567890123456789        # 2009, with nanoseconds
        os.utime(h + "/old.txt", ns=(when, when))
        for how, extra in (("descriptor", {}),
                           ("stream", {"LOOPSY_TEST_NO_FD": "1"})):
            env = dict(w.env, **extra)
            dst = h + "/copy-" + how
            r = subprocess.run(w.argv("cp", "old.txt", dst), env=env,
                               cwd=h, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=60)
            is_eq((r.returncode, os.stat(dst).st_mtime_ns if
                   os.path.exists(dst) else None), (0, when),
                  "push_keeps_mtime_" + how)
        rc, out, err = w.lsy("cp", ":" + h + "/old.txt", h + "/pulled.txt")
        is_eq((rc, os.stat(h + "/pulled.txt").st_mtime_ns if
               os.path.exists(h + "/pulled.txt") else None), (0, when),
              "pull_keeps_mtime")
        w.lsy("start")
        rc, out, err = w.lsy("transfer-put", "-M", "soon", "x")
        ok(rc == 2 and "SECONDS.NANOSECONDS" in err,
           "a_bad_mtime_is_a_usage_error", err)
    finally:
        w.close()


for fn in (cp_small_empty_and_large_files, local_copy_passes_the_descriptor,
           passed_descriptors_are_checked,
           cp_r_copies_a_tree_and_skips_symlinks, cp_r_goes_on_after_a_file_fails,
           ls_files_lists_with_json,
           pull_from_server_path, policy_refuses_escapes,
           checksum_mismatch_leaves_no_file, killed_transfer_resumes,
           progress_bar_only_on_a_terminal, rate_limit_and_audit,
           pull_refuses_fifos_and_links_swapped_in,
           finish_settles_the_size_and_no_resume_drops_the_part,
           cp_does_not_trust_a_lying_server, modification_time_is_kept):
    run_test(fn, fn.__name__)
for fn in (checksum_mismatch_leaves_no_file, killed_transfer_resumes):
    run_test(lambda: fn(stream=True), fn.__name__ + "_streamed")
done()

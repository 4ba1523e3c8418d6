#!/usr/bin/python3
# Robustness: garbage on the socket drops only that client; a slow client
# cannot make the server grow or stall; extreme sizes do not crash.
import os
import random
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import *  # noqa

require("bash")


def connect(w):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(w.sock)
    return s


def hello(s):
    s.sendall(HELLO)
    return recv_frame(s, 5)


def dropped(s, timeout=5):
    """Did the server close this connection (EOF or reset) in time?"""
    s.settimeout(0.1)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            d = s.recv(65536)
            if not d:
                return True
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return True
    return False


def command(s, argv, id=1):
    """Send a COMMAND; collect frames until its REPLY; return (reply, out)."""
    s.sendall(command_frame(argv, id))
    out = b""
    while True:
        f = recv_frame(s, 5)
        if f is None:
            return None, out
        t, p = f
        if t == 11:
            out += p
        elif t == 3:
            return json.loads(p), out


def server_healthy(w, pid):
    """ls answers, and the bystander session's program is still alive."""
    rc, out, err = w.lsy("ls", "-F", "#{session_name}")
    try:
        os.kill(pid, 0)
        alive = True
    except ProcessLookupError:
        alive = False
    return rc == 0 and "bystander" in out.split("\n") and alive and \
        w.capture("bystander").startswith("bystander-up")


def send_garbage(s, data):
    """Send bad bytes; the server may hang up before it has read them all."""
    try:
        s.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        pass


def garbage_on_the_socket():
    w = World()
    try:
        w.new("bystander", "sh", "-c", "echo bystander-up; exec sleep 300")
        w.wait_screen("bystander", "^bystander-up")
        pid = w.ls_json()["bystander"]["pid"]

        # keep one well-behaved connection open across all the abuse
        good = connect(w)
        h = hello(good)
        ok(h is not None and h[0] == 1 and
           json.loads(h[1]).get("proto") == 1,
           "hello_is_answered_with_hello")

        rnd = random.Random(1234)
        s = connect(w)
        send_garbage(s, bytes(rnd.getrandbits(8) for _ in range(4096)))
        ok(dropped(s) and server_healthy(w, pid),
           "random_bytes_drop_only_that_client")
        s.close()

        s = connect(w)
        send_garbage(s, b"\x7f\xff\xff\xff\x01" + b"x" * 1000)
        ok(dropped(s) and server_healthy(w, pid),
           "oversized_length_header_drops_only_that_client")
        s.close()

        s = connect(w)
        hello(s)
        send_garbage(s, struct.pack(">I", (4 << 20) + 2) + b"\x02" +
                     b"a" * 65536)
        ok(dropped(s) and server_healthy(w, pid),
           "frame_over_4_MiB_drops_only_that_client")
        s.close()

        s = connect(w)
        s.sendall(HELLO[:3])
        s.close()
        s = connect(w)
        hello(s)
        s.sendall(command_frame(["ls"])[:9])
        s.close()
        ok(server_healthy(w, pid), "truncated_frame_then_close_is_harmless")

        s = connect(w)
        s.sendall(command_frame(["kill-server"]))
        ok(dropped(s) and server_healthy(w, pid),
           "command_before_hello_drops_client_and_is_not_run")
        s.close()

        s = connect(w)
        hello(s)
        s.sendall(frame(2, b'{"id":1,"argv":["ls"'))
        ok(dropped(s) and server_healthy(w, pid),
           "invalid_json_command_drops_only_that_client")
        s.close()

        s = connect(w)
        hello(s)
        s.sendall(frame(2, b'{"id":1,"argv":"kill-server"}'))
        ok(dropped(s) and server_healthy(w, pid),
           "command_with_non_array_argv_drops_only_that_client")
        s.close()

        s = connect(w)
        hello(s)
        s.sendall(frame(200, b"\x00\x01whatever") + frame(0))
        rep, out = command(s, ["has-session", "-t", "bystander"], id=42)
        ok(rep is not None and rep.get("id") == 42 and rep.get("ok") is True,
           "unknown_frame_type_after_hello_is_ignored", rep)
        s.close()

        s = connect(w)
        s.sendall(frame(1, b'{"proto":[99,100]}'))
        f = recv_frame(s, 5)
        ok((f is None or f[0] in (1, 3, 9)) and server_healthy(w, pid),
           "unsupported_protocol_version_is_refused_cleanly", f)
        s.close()

        # a client that stops half-way through a frame must not block others
        stuck = connect(w)
        hello(stuck)
        stuck.sendall(command_frame(["ls"])[:7])
        idle = [connect(w) for _ in range(40)]
        t0 = time.monotonic()
        healthy = server_healthy(w, pid)
        ok(healthy and time.monotonic() - t0 < 3,
           "half_sent_frame_and_idle_connections_do_not_block_the_server")
        for x in idle + [stuck]:
            x.close()

        rep, out = command(good, ["ls", "-F", "#{session_name}"], id=9)
        ok(rep is not None and rep.get("ok") and out == b"bystander\n",
           "well_behaved_connection_survives_all_the_abuse", (rep, out))
        good.close()
    finally:
        w.close()


def slow_client_is_bounded():
    w = World()
    try:
        w.new("bystander", "sh", "-c", "echo bystander-up; exec sleep 300")
        w.new("flood", "bash", "--norc", "--noprofile", x=80, y=24)
        w.lsy("send-keys", "-t", "flood", "PS1='$ '", "Enter")
        slow = w.attach(80, 25, ["-t", "flood"])
        slow.wait_output("flood*")
        fast = w.attach(80, 25, ["-r", "-t", "flood"])
        fast.wait_output("flood*")
        slow.pump()
        # from here on the slow client's terminal is never read: its pty
        # fills up and the client blocks writing to it
        # an endless flood, stopped once the stalled client has been made
        # to skip frames (frames are paced, so a short flood may never fill
        # the socket and pty buffers)
        w.lsy("send-keys", "-t", "flood",
              "seq 1 1000000000", "Enter")
        max_rss = max_queued = 0
        worst_latency = 0.0
        deadline = time.monotonic() + 45
        done = stopped = False
        while time.monotonic() < deadline:
            fast.pump()
            st = w.stats()
            max_rss = max(max_rss, st["rss_kib"])
            for c in st["clients"]:
                max_queued = max(max_queued, c.get("queued", 0))
            skipped = [c.get("frames_skipped", 0) for c in st["clients"]
                       if not c.get("readonly")]
            if not stopped and skipped and skipped[0] > 0:
                w.lsy("send-keys", "-t", "flood", "C-c")
                w.lsy("send-keys", "-t", "flood",
                      "echo FLOOD-$((40+2))-DONE", "Enter")
                stopped = True
            t0 = time.monotonic()
            alive = w.capture("bystander").startswith("bystander-up")
            worst_latency = max(worst_latency, time.monotonic() - t0)
            if not alive:
                break
            if stopped and "FLOOD-42-DONE" in w.capture("flood"):
                done = True
                break
            time.sleep(0.05)   # sampling rate of the poll loop
        if not stopped:
            w.lsy("send-keys", "-t", "flood", "C-c")
        ok(done, "flood_finishes_with_a_stalled_client_attached")
        ok(max_rss < 100 * 1024, "server_rss_stays_under_100MB_during_flood",
           "max rss_kib %d" % max_rss)
        ok(max_queued < 8 * 1024 * 1024,
           "stalled_client_queue_stays_bounded",
           "max queued %d" % max_queued)
        ok(worst_latency < 2.0,
           "other_sessions_answer_promptly_during_flood",
           "worst capture latency %.2fs" % worst_latency)
        ok(poll_until(lambda: (fast.pump() is not None) and
                      b"FLOOD-42-DONE" in fast.buf, 10),
           "reading_client_sees_flood_end")
        st = w.stats()
        slow_st = [c for c in st["clients"] if not c.get("readonly")]
        ok(slow_st and slow_st[0].get("frames_skipped", 0) > 0,
           "stalled_client_skips_frames_instead_of_queueing_them", slow_st)
        # resume reading: the stalled client catches up to the final screen
        try:
            slow.wait_output("FLOOD-42-DONE", 15)
            caught = True
        except Timeout:
            caught = False
        ok(caught, "stalled_client_catches_up_after_resuming")
        slow.write("echo typed-after-$((1+1))\r")
        ok(poll_until(w.screen_has("flood", r"^typed-after-2$"), 10),
           "stalled_client_can_type_again_after_catching_up")
        ok(poll_until(lambda: w.stats()["rss_kib"] < 100 * 1024, 5),
           "server_rss_small_after_flood")
    finally:
        w.close()


def endless_output_can_be_interrupted():
    w = World()
    try:
        w.new("yes", "bash", "--norc", "--noprofile", x=80, y=24)
        c = w.attach(80, 25, ["-t", "yes"])
        c.wait_output("yes*")
        w.lsy("send-keys", "-t", "yes", "yes flooding-output", "Enter")
        w.wait_screen("yes", r"^flooding-output$")
        # keep the client reading; interrupt through its own keyboard
        c.pump()
        c.write(b"\x03")
        c.write("echo stopped-$((5+5))\r")
        ok(poll_until(lambda: (c.pump() is not None) and
                      w.screen_has("yes", r"^stopped-10$")(), 15),
           "C_c_from_client_stops_endless_output")
        st = w.stats()
        ok(st is not None and st["rss_kib"] < 100 * 1024,
           "server_rss_bounded_after_endless_output",
           st and st["rss_kib"])
    finally:
        w.close()


def extreme_sizes():
    w = World()
    try:
        w.new("rs", "bash", "--norc", "--noprofile", x=40, y=10)
        w.lsy("send-keys", "-t", "rs", "PS1='$ '; clear; seq 1 30", "Enter")
        w.wait_screen("rs", r"^30$")
        rc, out, err = w.lsy("resize-window", "-t", "rs", "-x", 1, "-y", 1)
        is_eq((rc, w.fmt("rs", "#{session_width}x#{session_height}")),
              (0, "1x1"), "resize_window_to_1x1")
        w.lsy("send-keys", "-t", "rs", "echo \u4e2d\u6587\u4e2d", "Enter")
        w.lsy("wait", "-t", "rs", "--idle", 200, "--timeout", 5)
        w.capture("rs", "-S", "-")
        rc, out, err = w.lsy("resize-window", "-t", "rs", "-x", 30, "-y", 5)
        is_eq((rc, w.fmt("rs", "#{session_width}x#{session_height}")),
              (0, "30x5"), "resize_window_back_from_1x1")
        w.lsy("send-keys", "-t", "rs", "clear; stty size", "Enter")
        ok(poll_until(w.screen_has("rs", r"^5 30$"), 5),
           "program_works_after_1x1_and_back", w.capture("rs"))
        rc, out, err = w.lsy("resize-window", "-t", "rs", "-x", 10000,
                             "-y", 10000)
        size = w.fmt("rs", "#{session_width}x#{session_height}")
        ok(rc != 0 or size == "10000x10000",
           "resize_window_to_maximum_is_accepted_or_refused", (rc, err))
        w.lsy("resize-window", "-t", "rs", "-x", 50, "-y", 8)
        w.lsy("send-keys", "-t", "rs", "clear; stty size", "Enter")
        ok(poll_until(w.screen_has("rs", r"^8 50$"), 5),
           "program_works_after_huge_resize", w.capture("rs"))
        rc, out, err = w.lsy("resize-window", "-t", "rs", "-x", 0, "-y", 5)
        ok(rc == 2 and "-x 0" in err, "resize_window_rejects_zero", err)
        w.lsy("resize-window", "-t", "rs", "-A")
        c = w.attach(1, 1, ["-t", "rs"])
        c.resize(2, 2)
        c.resize(1, 1)
        c.resize(60, 13)
        ok(poll_until(lambda: (c.pump() is not None) and w.fmt(
            "rs", "#{session_width}x#{session_height}") == "60x12", 5),
           "client_on_a_1x1_terminal_then_resized_works",
           w.fmt("rs", "#{session_width}x#{session_height}"))
        ok(c.alive() and w.lsy("has-session", "-t", "rs")[0] == 0,
           "server_and_client_survive_tiny_terminals")
        w.lsy("resize-window", "-t", "rs", "-x", 50, "-y", 8)
        is_eq(w.fmt("rs", "#{session_width}x#{session_height}"), "50x8",
              "resize_window_overrides_the_attached_client")
        rc, out, err = w.lsy("resize-window", "-t", "rs", "-A")
        ok(rc == 0 and w.fmt("rs", "#{session_width}x#{session_height}") ==
           "60x12", "resize_window_A_fits_the_attached_client", (rc, err))
    finally:
        w.close()


def client_killed_abruptly():
    w = World()
    try:
        w.new("k", "sh", "-c", "echo k-up; exec sleep 300", x=40, y=5)
        for i in range(5):
            c = w.attach(40, 6, ["-t", "k"])
            c.wait_output("k*")
            os.kill(c.pid, signal.SIGKILL)
            c.close()
        ok(poll_until(lambda: w.ls_json()["k"]["attached"] == 0, 5),
           "killed_clients_are_forgotten_by_the_server")
        ok(w.capture("k").startswith("k-up"),
           "session_survives_killed_clients")
    finally:
        w.close()


for fn in (garbage_on_the_socket, slow_client_is_bounded,
           endless_output_can_be_interrupted, extreme_sizes,
           client_killed_abruptly):
    run_test(fn, fn.__name__)
done()

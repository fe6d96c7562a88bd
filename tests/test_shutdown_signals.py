"""SIGINT/SIGTERM as Redis handles them: the signal only asks for a shutdown, the cron carries
it out, so DEBUG PAUSE-CRON holds it and SHUTDOWN ABORT cancels it; a failed final save drops
the request; a second SIGINT while the final save runs exits at once and removes the temp RDB
(unit/shutdown); SIGABRT leaves Redis's crash report (integration/logging). Subprocess servers,
loopback only."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import redis

from trioredis.config import Config
from trioredis.core import ManualClock, Server
from trioredis.protocol.replies import ErrorReply

from .helpers import free_port, wait_port


def _unit():
    srv = Server(Config(), clock=ManualClock())
    return srv, srv.new_client("127.0.0.1:5000", "127.0.0.1:6379", 9)


def test_abort_cancels_a_signal_shutdown_not_yet_begun():
    srv, c = _unit()
    no = ErrorReply("ERR No shutdown in progress.")
    assert srv.execute(c, [b"SHUTDOWN", b"ABORT"]) == no
    srv.shutdown_asap = signal.SIGTERM
    assert srv.execute(c, [b"SHUTDOWN", b"ABORT"]) == "OK"
    assert srv.shutdown_asap == 0
    assert srv.execute(c, [b"SHUTDOWN", b"ABORT"]) == no


def test_the_cron_carries_out_a_signal_shutdown():
    srv, _ = _unit()
    saves, asked = [], []
    srv.add_hook("shutdown", saves.append)
    srv.shutdown_requested = lambda code=0: asked.append(code)
    srv.run_hooks("cron")
    assert saves == [] and asked == []  # nothing asked
    srv.shutdown_asap = signal.SIGTERM
    srv.run_hooks("cron")
    assert saves == [True] and asked == [0]  # default flags: save, as there are save points


def test_a_failed_final_save_drops_the_signal_shutdown():
    srv, _ = _unit()
    asked = []
    srv.add_hook("shutdown", lambda save: False)
    srv.shutdown_requested = lambda code=0: asked.append(code)
    srv.shutdown_asap = signal.SIGINT
    srv.run_hooks("cron")
    assert asked == [] and srv.shutdown_asap == 0


def _start(tmp_path, *args):
    port = free_port()
    log = tmp_path / "log"
    p = subprocess.Popen([sys.executable, "-m", "trioredis", "server", "--port", str(port),
                          "--logfile", str(log), "--enable-debug-command", "yes", *args],
                         cwd=str(tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    wait_port(port, timeout=60)
    return p, port, log


def _wait(fn, what, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not fn():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_pause_cron_holds_sigterm_and_abort_cancels_it(tmp_path):
    p, port, log = _start(tmp_path, "--save", "")
    r = redis.Redis(port=port)
    try:
        r.execute_command("DEBUG", "PAUSE-CRON", "1")
        p.send_signal(signal.SIGTERM)
        _wait(lambda: "Received SIGTERM scheduling shutdown" in log.read_text(), "the signal")
        assert r.execute_command("SHUTDOWN", "ABORT") is True  # +OK
        assert "Shutdown manually aborted." in log.read_text()
        r.execute_command("DEBUG", "PAUSE-CRON", "0")
        assert r.ping() and p.poll() is None
        p.send_signal(signal.SIGTERM)  # a new one goes through
        assert p.wait(timeout=60) == 0
    finally:
        r.close()
        if p.poll() is None:
            p.kill()


def test_second_sigint_during_the_final_save_exits_and_removes_the_temp_rdb(tmp_path):
    p, port, log = _start(tmp_path, "--save", "3600 1")
    r = redis.Redis(port=port)
    try:
        for i in range(20):
            r.set(i, i)
        r.config_set("rdb-key-save-delay", 100000)  # 20 keys: a 2 s final save
        temp = tmp_path / f"temp-{p.pid}.rdb"
        p.send_signal(signal.SIGINT)
        _wait(temp.exists, "the final save's temp file")
        p.send_signal(signal.SIGINT)
        assert p.wait(timeout=60) == 1
        assert not temp.exists() and not (tmp_path / "dump.rdb").exists()
        assert "You insist... exiting now." in log.read_text()
    finally:
        r.close()
        if p.poll() is None:
            p.kill()


def test_sigabrt_writes_the_crash_report_then_dies_by_it(tmp_path):
    """integration/logging: the log shows 'crashed by signal' and the process dies by the
    signal it got (no clean exit)."""
    p, port, log = _start(tmp_path, "--save", "")
    try:
        p.send_signal(signal.SIGABRT)
        assert p.wait(timeout=60) == -signal.SIGABRT
        text = log.read_text()
        assert "Redis 7.0.15 crashed by signal: 6" in text and "STACK TRACE" in text
    finally:
        if p.poll() is None:
            p.kill()

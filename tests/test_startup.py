"""Start-up and process behaviour as Redis 7.0.15: the log's start-up lines and logo, the
suite's default.conf and Debian's redis.conf, ``bind "* -::*"``, runtime CONFIG SET port/bind,
a Unix socket, ``daemonize``/``pidfile``, verbose connection lines, and SIGTERM when the final
save fails. Servers run as subprocesses; tests only connect to 127.0.0.1."""

from __future__ import annotations

import os
import pty
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest
import redis

from trioredis.log import Logger
from trioredis.server import OVERCOMMIT_WARNING, memory_warnings

from .helpers import free_port, wait_port

SUITE_CONF = "/work/shared/redis-tests/tests/assets/default.conf"
DEBIAN_CONF = "/etc/redis/redis.conf"


def start(*args: str, cwd, stdout=subprocess.DEVNULL) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "trioredis", "server", *args], cwd=str(cwd),
                            stdout=stdout, stderr=subprocess.STDOUT)


def wait_for(fn, what: str, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def read(path) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def stop(p: subprocess.Popen) -> int:
    p.send_signal(signal.SIGTERM)
    return p.wait(timeout=60)


def test_start_up_lines_and_logo_with_always_show_logo(tmp_path):
    port, log = free_port(), tmp_path / "log"
    p = start("--port", str(port), "--save", "", "--logfile", str(log), "--always-show-logo",
              "yes", cwd=tmp_path)
    try:
        wait_for(lambda: "Ready to accept connections" in read(log), "ready")
        text = read(log)
        assert "oO0OoO0OoO0Oo trioredis is starting oO0OoO0OoO0Oo" in text
        assert f"trioredis version=7.0.15, bits=64, commit=00000000, modified=0, pid={p.pid}, " \
               "just started" in text
        assert f"{p.pid}:C " in text and "Configuration loaded" in text
        # the harness of Redis's suite waits for exactly this
        assert f"     PID: {p.pid}\n" in text
        assert "trioredis 7.0.15 (00000000/0) 64 bit" in text
        assert f"Port: {port}\n" in text and "Running in standalone mode" in text
        assert text.index("PID:") < text.index("Server initialized") < text.index("Ready to")
        assert "Running mode=" not in text
    finally:
        assert stop(p) == 0
    assert "Redis is now ready to exit, bye bye..." in read(log)


def test_one_line_form_when_not_a_terminal(tmp_path):
    port = free_port()
    p = start("--port", str(port), "--save", "", cwd=tmp_path, stdout=subprocess.PIPE)
    wait_port(port, timeout=60)
    assert stop(p) == 0
    out = p.stdout.read().decode()
    assert f"Running mode=standalone, port={port}." in out
    assert " PID: " not in out


def test_logo_on_a_terminal(tmp_path):
    port = free_port()
    master, slave = pty.openpty()
    p = start("--port", str(port), "--save", "", cwd=tmp_path, stdout=slave)
    os.close(slave)
    try:
        wait_port(port, timeout=60)
        out = b""
        while b"Ready to accept" not in out:
            out += os.read(master, 65536)
        assert f"PID: {p.pid}".encode() in out
    finally:
        assert stop(p) == 0
        os.close(master)


def test_overcommit_warning_only_when_disabled(tmp_path, capsys):
    f = tmp_path / "overcommit"
    for value, warned in (("0\n", True), ("1\n", False), ("2\n", False)):
        f.write_text(value)
        memory_warnings(Logger("notice"), str(f))
        assert (OVERCOMMIT_WARNING in capsys.readouterr().out) is warned
    memory_warnings(Logger("notice"), str(tmp_path / "missing"))  # no /proc: no warning
    assert capsys.readouterr().out == ""


def gone_from_client_list(port: int, local_port: int) -> None:
    r = redis.Redis(port=port, decode_responses=True)
    wait_for(lambda: f":{local_port} " not in r.execute_command("CLIENT", "LIST"), "close")
    r.close()


def test_verbose_logs_connections_and_notice_does_not(tmp_path):
    for level, logged in (("verbose", True), ("notice", False)):
        port, log = free_port(), tmp_path / f"{level}.log"
        p = start("--port", str(port), "--save", "", "--logfile", str(log), "--loglevel", level,
                  cwd=tmp_path)
        try:
            wait_port(port, timeout=60)
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(b"PING\r\n")
            assert s.recv(100) == b"+PONG\r\n"
            local = s.getsockname()[1]
            s.close()
            # the server has seen the close once the client is gone from CLIENT LIST
            gone_from_client_list(port, local)
            text = read(log)
            assert (f"- Accepted 127.0.0.1:{local}\n" in text) is logged
            closed = [ln for ln in text.splitlines() if "Client closed connection" in ln]
            if logged:
                assert any(f"addr=127.0.0.1:{local} " in ln and "cmd=ping" in ln for ln in closed)
            else:
                assert closed == []
        finally:
            assert stop(p) == 0


def test_suite_default_conf_starts(tmp_path):
    if not os.path.exists(SUITE_CONF):
        pytest.skip("Redis's test suite is not in ../shared (see docs/compatibility.md)")
    shutil.copy(SUITE_CONF, tmp_path / "default.conf")
    port, log = free_port(), tmp_path / "log"
    p = start("default.conf", "--port", str(port), "--dir", str(tmp_path), "--logfile", str(log),
              "--pidfile", str(tmp_path / "redis.pid"), cwd=tmp_path)
    try:
        wait_for(lambda: "Ready to accept connections" in read(log), "ready")
        r = redis.Redis(port=port, decode_responses=True)
        assert r.ping()
        assert r.config_get("enable-module-command") == {"enable-module-command": "yes"}
        assert r.config_get("propagation-error-behavior") == {
            "propagation-error-behavior": "panic"}
        assert read(tmp_path / "redis.pid") == f"{p.pid}\n"
        assert f" PID: {p.pid}" in read(log)
        r.close()
    finally:
        assert stop(p) == 0
    assert not (tmp_path / "redis.pid").exists()


def test_debian_redis_conf_starts_unchanged(tmp_path):
    """Debian's stock file: daemonize yes, bind 127.0.0.1 -::1, a pid file under /run/redis
    (absent here: Redis logs that and goes on). Only port, dir and logfile are changed."""
    if not os.path.exists(DEBIAN_CONF):
        pytest.skip("no /etc/redis/redis.conf (apt-get install redis-server)")
    shutil.copy(DEBIAN_CONF, tmp_path / "redis.conf")
    port, log = free_port(), tmp_path / "log"
    p = start("redis.conf", "--port", str(port), "--dir", str(tmp_path), "--logfile", str(log),
              cwd=tmp_path)
    assert p.wait(timeout=60) == 0  # the parent returns at once: the server is a daemon
    wait_for(lambda: "Ready to accept connections" in read(log), "ready")
    r = redis.Redis(port=port, decode_responses=True)
    pid = int(r.info("server")["process_id"])
    assert pid != p.pid and os.getsid(pid) == pid  # its own session: detached
    assert r.config_get("bind") == {"bind": "127.0.0.1 -::1"}
    r.close()
    os.kill(pid, signal.SIGTERM)
    wait_for(lambda: "bye bye" in read(log), "exit")
    assert "Traceback" not in read(log)


def test_daemonize_writes_and_removes_the_pid_file(tmp_path):
    port, log, pidfile = free_port(), tmp_path / "log", tmp_path / "t.pid"
    p = start("--port", str(port), "--save", "", "--daemonize", "yes", "--pidfile", str(pidfile),
              "--logfile", str(log), cwd=tmp_path)
    assert p.wait(timeout=60) == 0
    pid = int(wait_for(lambda: read(pidfile).strip(), "the pid file"))
    wait_port(port, timeout=60)
    assert int(redis.Redis(port=port).info("server")["process_id"]) == pid
    os.kill(pid, signal.SIGTERM)
    wait_for(lambda: not pidfile.exists(), "the pid file to go")
    assert "Removing the pid file." in read(log)


def test_bind_all_and_runtime_port_and_bind(tmp_path):
    port, log = free_port(), tmp_path / "log"
    p = start("--port", str(port), "--save", "", "--bind", "* -::*", "--logfile", str(log),
              cwd=tmp_path)
    try:
        wait_port(port, timeout=60)
        r = redis.Redis(port=port, decode_responses=True)
        assert r.config_get("bind") == {"bind": "* -::*"}
        # a new port: the old listener closes, this connection stays
        new = free_port()
        assert r.config_set("port", new)
        assert r.ping()
        r2 = redis.Redis(port=new, decode_responses=True)
        assert r2.config_get("port") == {"port": str(new)}
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
        # a port in use: refused as Redis refuses it, the current one still listens
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            with pytest.raises(redis.ResponseError, match="Unable to listen on this port"):
                r2.config_set("port", busy.getsockname()[1])
        assert r2.config_get("port") == {"port": str(new)}
        # an address not on this host: refused, and the old addresses are back
        with pytest.raises(redis.ResponseError, match="Failed to bind to specified addresses"):
            r2.config_set("bind", "192.0.2.1")
        assert r2.config_get("bind") == {"bind": "* -::*"}
        assert redis.Redis(port=new).ping()
        assert r2.config_set("bind", "127.0.0.1")
        assert redis.Redis(port=new).ping()
        r.close()
        r2.close()
    finally:
        assert stop(p) == 0
    assert "Traceback" not in read(log)


def test_unix_socket(tmp_path):
    port, path = free_port(), str(tmp_path / "s.sock")
    p = start("--port", str(port), "--save", "", "--unixsocket", path, "--unixsocketperm", "700",
              cwd=tmp_path)
    try:
        wait_port(port, timeout=60)
        assert oct(os.stat(path).st_mode & 0o777) == "0o700"
        r = redis.Redis(unix_socket_path=path)
        assert r.ping()
        assert f"addr={path}:0 laddr={path}:0 " in r.execute_command("CLIENT", "LIST").decode()
        r.close()
    finally:
        assert stop(p) == 0
    assert not os.path.exists(path)


def test_sigterm_with_failing_final_save_keeps_running(tmp_path):
    """Redis cannot exit when the final save fails: it logs why and goes on serving. The
    save is made to fail with a dbfilename that is a directory (root ignores permissions)."""
    port, log = free_port(), tmp_path / "log"
    p = start("--port", str(port), "--save", "900 1", "--dir", str(tmp_path), "--logfile",
              str(log), "--enable-protected-configs", "yes", cwd=tmp_path)
    try:
        wait_port(port, timeout=60)
        r = redis.Redis(port=port)
        (tmp_path / "blocked").mkdir()
        r.config_set("dbfilename", "blocked")
        r.set("k", "v")
        p.send_signal(signal.SIGTERM)
        wait_for(lambda: "Errors trying to shut down the server" in read(log), "the refusal")
        assert "Error trying to save the DB, can't exit." in read(log)
        assert p.poll() is None
        assert r.get("k") == b"v"
        # shutdown-on-sigterm nosave: the next SIGTERM exits without saving
        r.config_set("shutdown-on-sigterm", "nosave")
        r.close()
    finally:
        code = stop(p)
    assert code == 0
    assert "Traceback" not in read(log)

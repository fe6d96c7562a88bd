"""The command line: Redis-style options, config files, clean shutdown, clear start-up errors."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile

import pytest
import redis

from trioredis.cli import build_config, parse_redis_args
from trioredis.config import ConfigError

from .helpers import free_port, wait_port


def run_server(*args: str, cwd: str | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "trioredis", "server", *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=cwd, text=True,
    )


def test_parse_redis_style_arguments():
    assert parse_redis_args(["--port", "6380", "--save", "", "--replicaof", "h", "7"]) == [
        ("port", ["6380"]), ("save", [""]), ("replicaof", ["h", "7"])]
    cfg = build_config(None, parse_redis_args(["--replicaof", "127.0.0.1 6390", "--save", ""]))
    assert cfg["replicaof"] == ("127.0.0.1", 6390)
    assert cfg["save"] == []
    cfg = build_config(None, parse_redis_args(["--replicaof", "127.0.0.1", "6391"]))
    assert cfg["replicaof"] == ("127.0.0.1", 6391)
    with pytest.raises(ConfigError):
        build_config(None, parse_redis_args(["--no-such-option", "1"]))


def test_config_file_then_command_line_wins(tmp_path):
    conf = tmp_path / "redis.conf"
    conf.write_text('# comment\nport 7000\nrequirepass "s3cret pass"\nsave 900 1 300 10\n'
                    "maxmemory 1mb\nappendfsync always\n")
    cfg = build_config(str(conf), parse_redis_args(["--port", "7001"]))
    assert cfg["port"] == 7001
    assert cfg["requirepass"] == "s3cret pass"
    assert cfg["save"] == [(900, 1), (300, 10)]
    assert cfg["maxmemory"] == 1024 * 1024
    assert cfg["appendfsync"] == "always"


def test_bad_config_file_is_one_clear_error(tmp_path):
    conf = tmp_path / "bad.conf"
    conf.write_text("port notanumber\n")
    p = run_server(str(conf))
    out, _ = p.communicate(timeout=30)
    assert p.returncode == 1
    assert "FATAL CONFIG FILE ERROR" in out
    assert "Traceback" not in out


def test_sigterm_and_sigint_shut_down_cleanly():
    for sig in (signal.SIGTERM, signal.SIGINT):
        port = free_port()
        with tempfile.TemporaryDirectory() as d:
            p = run_server("--port", str(port), "--dir", d, "--save", "")
            wait_port(port)
            r = redis.Redis(port=port, protocol=2)
            assert r.ping()
            r.close()
            p.send_signal(sig)
            out, _ = p.communicate(timeout=30)
            assert p.returncode == 0, out
            assert "Ready to accept connections" in out
            assert "ready to exit" in out


def test_shutdown_command_exits_zero_and_replies_in_flight():
    port = free_port()
    with tempfile.TemporaryDirectory() as d:
        p = run_server("--port", str(port), "--dir", d, "--save", "")
        wait_port(port)
        s = socket.create_connection(("127.0.0.1", port))
        # A pipeline: the SET before SHUTDOWN is answered, then the connection closes.
        s.sendall(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*2\r\n$8\r\nSHUTDOWN\r\n$6\r\nNOSAVE\r\n")
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        assert data == b"+OK\r\n"
        p.communicate(timeout=30)
        assert p.returncode == 0


def test_port_in_use_is_one_line_and_exit_1():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        p = run_server("--port", str(port), "--save", "", "--dir", tempfile.gettempdir())
        out, _ = p.communicate(timeout=30)
    assert p.returncode == 1
    assert "Address already in use" in out
    assert "Traceback" not in out


def test_embedded_example_runs():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run([sys.executable, os.path.join(root, "examples", "embedded.py")],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "hello from trioredis" in out.stdout


def test_config_file_with_non_utf8_bytes_is_read_byte_for_byte(tmp_path):
    """Redis reads a config file as bytes: a password with a Latin-1 byte works with AUTH and
    survives CONFIG REWRITE, with no traceback."""
    conf = tmp_path / "redis.conf"
    port = free_port()
    conf.write_bytes(b"port %d\nsave \"\"\nrequirepass caf\xe9\n" % port)
    p = run_server(str(conf), cwd=str(tmp_path))
    try:
        wait_port(port)
        r = redis.Redis(port=port, password=b"caf\xe9")
        assert r.ping() is True
        assert r.execute_command("CONFIG", "GET", "requirepass") == {b"requirepass": b"caf\xe9"}
        r.config_set("masterauth", b"x\xff\"y z")
        assert r.config_rewrite() in (True, b"OK")
        assert b'masterauth "x\\xff\\"y z"' in conf.read_bytes()
        cfg = build_config(str(conf), [])
        assert cfg["masterauth"].encode("utf-8", "surrogateescape") == b"x\xff\"y z"
        assert cfg["requirepass"].encode("utf-8", "surrogateescape") == b"caf\xe9"
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(port=port, password="cafe").ping()
    finally:
        p.terminate()
        out, _ = p.communicate(timeout=30)
    assert "Traceback" not in out


def test_dir_must_exist_and_config_get_dir_is_absolute(tmp_path):
    p = run_server("--port", str(free_port()), "--dir", str(tmp_path / "missing"))
    out, _ = p.communicate(timeout=30)
    assert p.returncode == 1
    assert "No such file or directory" in out and "Traceback" not in out
    p = run_server("--port", str(free_port()), "--dir", str(tmp_path / "missing"),
                   "--cluster-bootstrap", "yes")
    out, _ = p.communicate(timeout=30)
    assert p.returncode == 1 and "Traceback" not in out
    port = free_port()
    p = run_server("--port", str(port), "--save", "", "--enable-protected-configs", "yes",
                   cwd=str(tmp_path))
    try:
        wait_port(port)
        r = redis.Redis(port=port)
        assert r.config_get("dir") == {"dir": str(tmp_path)}
        sub = tmp_path / "sub"
        sub.mkdir()
        assert r.config_set("dir", str(sub)) is True
        assert r.config_get("dir") == {"dir": str(sub)}
        with pytest.raises(redis.ResponseError, match="No such file or directory"):
            r.config_set("dir", str(tmp_path / "nope"))
        r.set("k", "v")
        r.save()
        assert (sub / "dump.rdb").exists()
    finally:
        p.terminate()
        p.communicate(timeout=30)


def test_version_help_and_one_error_style():
    """trioredis --version, server --version, a readable --help that explains the passthrough,
    and the same error style for every bad value (typed or range)."""
    import trioredis

    for args in (["--version"], ["-v"], ["server", "--version"]):
        out = subprocess.run([sys.executable, "-m", "trioredis", *args], capture_output=True,
                             text=True, timeout=30)
        assert out.returncode == 0 and out.stdout.startswith(f"trioredis {trioredis.__version__} ")
        assert "Redis 7.0.15" in out.stdout
    out = subprocess.run([sys.executable, "-m", "trioredis", "server", "--help"],
                         capture_output=True, text=True, timeout=30,
                         env={**os.environ, "COLUMNS": "100"})
    assert out.returncode == 0
    for needle in ("--name value", "--replicaof", "--appendonly", "--ws-port",
                   "--cluster-bootstrap", "--cluster-join", "docs/configuration.md"):
        assert needle in out.stdout, needle
    assert "``" not in out.stdout
    for bad in ("abc", "99999"):
        out = subprocess.run([sys.executable, "-m", "trioredis", "server", "--port", bad],
                             capture_output=True, text=True, timeout=30)
        assert out.returncode == 1
        assert out.stderr.startswith("*** FATAL CONFIG FILE ERROR"), out.stderr
        assert "command line port:" in out.stderr and "Traceback" not in out.stderr


def test_config_option_is_the_config_file(tmp_path):
    conf = tmp_path / "redis.conf"
    conf.write_text("hz 25\nport 7100\n")
    cfg_file_first = build_config(str(conf), parse_redis_args(["--port", "7101"]))
    assert cfg_file_first["hz"] == 25 and cfg_file_first["port"] == 7101
    port = free_port()
    p = run_server("--config", str(conf), "--port", str(port), "--save", "", cwd=str(tmp_path))
    try:
        wait_port(port)
        assert redis.Redis(port=port).config_get("hz") == {"hz": "25"}
    finally:
        p.terminate()
        p.communicate(timeout=30)

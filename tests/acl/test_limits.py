"""Protected mode, the cross-protocol defence, idle timeout, the open-files limit, and
rename-command (trioredis/limits.py, trioredis/renames.py)."""

import socket

import pytest
import redis

from trioredis import limits
from trioredis.commands import registry
from trioredis.config import Config
from trioredis.core import Server
from trioredis.log import Logger
from trioredis.renames import apply_command_renames

from ..helpers import ThreadedServer


@pytest.mark.parametrize("host,local", [
    ("127.0.0.1", True), ("127.3.4.5", True), ("::1", True), ("::ffff:127.0.0.1", True),
    ("192.0.2.2", False), ("fd00::2", False), ("10.0.0.1", False),
])
def test_loopback(host, local):
    assert limits.is_loopback(host) is local


def test_protected_mode_refuses_remote_clients_only_without_a_password():
    srv = Server()
    assert limits.protected_mode_refusal(srv, "192.0.2.9") == limits.DENIED
    assert srv.stat_rejected_conn == 1
    assert limits.protected_mode_refusal(srv, "127.0.0.1") is None
    assert limits.protected_mode_refusal(srv, None) is None  # a Unix socket
    srv.config.set("requirepass", "pw")
    assert limits.protected_mode_refusal(srv, "192.0.2.9") is None
    srv.config.set("requirepass", "")
    srv.config.set("protected-mode", "no")
    assert limits.protected_mode_refusal(srv, "192.0.2.9") is None


def _non_loopback_address():
    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.connect(("192.0.2.1", 9))  # no packet is sent: only picks the outgoing address
        addr = s.getsockname()[0]
        s.close()
    except OSError:
        return None
    return None if limits.is_loopback(addr) else addr


def test_protected_mode_over_the_network():
    addr = _non_loopback_address()
    if addr is None:
        pytest.skip("no non-loopback address")
    with ThreadedServer(bind="0.0.0.0") as s:
        with socket.create_connection((addr, s.port), timeout=5) as sock:
            data = b""  # refused at accept, before any request
            while chunk := sock.recv(4096):
                data += chunk
        assert data == limits.DENIED
        assert redis.Redis(port=s.port).ping()  # loopback still served


def test_post_and_host_close_the_connection_without_a_reply():
    srv = Server()
    srv.log = Logger("warning", "")
    c = srv.new_client()
    assert srv.execute(c, [b"POST", b"/", b"HTTP/1.1"]) is None
    assert c.close_after_reply and c.reply_mode == "off"
    first = srv.security_logged_at
    assert first
    c2 = srv.new_client()
    srv.execute(c2, [b"Host:", b"example.com"])
    assert c2.close_after_reply and srv.security_logged_at == first  # logged once a minute


def test_idle_clients_are_closed_after_timeout():
    srv = Server()
    srv.config.set("timeout", "2")

    class Conn:
        killed = False

        def kill(self):
            self.killed = True

    idle, sub, fresh = srv.new_client(), srv.new_client(), srv.new_client()
    for c in (idle, sub, fresh):
        c.conn = Conn()
    sub.channels.add(b"ch")
    srv.cached_ms = idle.last_ms + 3001
    idle.last_ms = sub.last_ms = srv.cached_ms - 3001
    fresh.last_ms = srv.cached_ms - 1000
    limits.close_idle_clients(srv)
    assert idle.conn.killed and not sub.conn.killed and not fresh.conn.killed


def test_open_files_limit_lowers_maxclients_when_it_cannot_be_raised(monkeypatch):
    resource = pytest.importorskip("resource")
    cfg = Config()
    cfg.set("maxclients", "1000")
    lines = []

    class Log:
        def warning(self, m):
            lines.append(m)

        notice = warning

    monkeypatch.setattr(resource, "getrlimit", lambda what: (200, 200))

    def refuse(what, limit):
        raise ValueError("not allowed to raise maximum limit")

    monkeypatch.setattr(resource, "setrlimit", refuse)
    limits.adjust_open_files_limit(cfg, Log())
    assert cfg["maxclients"] == 168
    assert lines == [
        "You requested maxclients of 1000 requiring at least 1032 max file descriptors.",
        "Server can't set maximum open files to 1032 because of OS error: Operation not "
        "permitted.",
        "Current maximum open files is 200. maxclients has been reduced to 168 to compensate "
        "for low ulimit. If you need higher maxclients increase 'ulimit -n'.",
    ]


def test_rename_command(monkeypatch):
    monkeypatch.setattr(registry, "TABLE", dict(registry.TABLE))
    cfg = Config()
    cfg.apply_directive("rename-command", ["flushall", ""])
    cfg.apply_directive("rename-command", ["config", "mycfg"])
    apply_command_renames(cfg)
    assert b"flushall" not in registry.TABLE and b"FLUSHALL" not in registry.TABLE
    assert registry.TABLE[b"mycfg"].name == "config" and b"config" not in registry.TABLE
    cfg.apply_directive("rename-command", ["nosuch", "x"])
    with pytest.raises(Exception, match="No such command"):
        apply_command_renames(cfg)

"""A client that resets its connection at any stage of its life ends only that connection.

Each case resets (RST, via SO_LINGER 0) at one stage: right after connecting, mid-request,
with replies the server cannot send yet, while blocked, while subscribed with messages pending,
inside MULTI, and while a replica-style stream is pushed. After every case the server must still
answer another client, and the server thread must not have ended.
"""

from __future__ import annotations

import socket
import struct
import time

import pytest
import redis

from trioredis import connection as connection_module

from .helpers import ThreadedServer


def _reset(sock: socket.socket) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def _connect(port: int, rcvbuf: int | None = None) -> socket.socket:
    s = socket.socket()
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.connect(("127.0.0.1", port))
    return s


def _wait_clients(r: redis.Redis, n: int, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while len(r.client_list()) != n:
        assert time.monotonic() < deadline, r.client_list()
        time.sleep(0.01)


@pytest.fixture(scope="module")
def srv():
    with ThreadedServer() as s:
        yield s


@pytest.fixture
def r(srv):
    client = redis.Redis(port=srv.port, socket_timeout=10)
    client.flushall()
    yield client
    client.close()


def _still_serving(srv, r) -> None:
    assert srv.thread.is_alive() and srv._error is None
    assert r.ping() is True
    _wait_clients(r, 1)  # the reset client is gone, nobody else was touched


def test_reset_right_after_connect(srv, r):
    for _ in range(20):
        _reset(_connect(srv.port))
    _still_serving(srv, r)


def test_reset_mid_request(srv, r):
    for partial in (b"*3\r\n$3\r\nSET\r\n$1\r\nk", b"*2\r\n$3\r\nGET", b"GET k"):
        s = _connect(srv.port)
        s.sendall(partial)
        time.sleep(0.02)
        _reset(s)
    _still_serving(srv, r)
    assert r.get("k") is None


def test_reset_with_unsent_replies(srv, r):
    """The server's socket is full (the client reads nothing), then the client resets: the
    pending send fails with ECONNRESET or EPIPE inside the connection's task."""
    r.set("big", b"x" * 1_000_000)
    for _ in range(5):
        s = _connect(srv.port, rcvbuf=4096)
        s.sendall(b"GET big\r\n" * 20)
        time.sleep(0.05)
        _reset(s)
    _still_serving(srv, r)


def test_reset_while_blocked(srv, r):
    s = _connect(srv.port)
    s.sendall(b"*3\r\n$5\r\nBLPOP\r\n$4\r\nlist\r\n$1\r\n0\r\n")
    _wait_clients(r, 2)
    _reset(s)
    _still_serving(srv, r)
    r.rpush("list", "a")
    assert r.lpop("list") == b"a"  # no one was left waiting on it


def test_reset_while_subscribed_with_messages_pending(srv, r):
    s = _connect(srv.port, rcvbuf=4096)
    s.sendall(b"SUBSCRIBE ch\r\n")
    _wait_clients(r, 2)
    for _ in range(50):
        r.publish("ch", b"m" * 100_000)
    _reset(s)
    for _ in range(5):
        r.publish("ch", b"m" * 100_000)
    _still_serving(srv, r)


def test_reset_inside_multi(srv, r):
    s = _connect(srv.port)
    s.sendall(b"MULTI\r\nSET k v\r\n")
    time.sleep(0.02)
    _reset(s)
    _still_serving(srv, r)
    assert r.get("k") is None


def test_internal_error_in_one_connection_closes_only_it(srv, r, monkeypatch):
    """Not a socket error: a bug met while serving one client. The client is closed, the
    server logs it and serves everyone else."""

    class Exploding(connection_module.RequestParser):
        def feed(self, data):
            if b"BOOM" in data:
                raise RuntimeError("boom")
            return super().feed(data)

    monkeypatch.setattr(connection_module, "RequestParser", Exploding)
    s = _connect(srv.port)
    s.settimeout(5)
    s.sendall(b"PING\r\n")
    assert s.recv(100) == b"+PONG\r\n"
    s.sendall(b"BOOM\r\n")
    assert s.recv(100) == b""  # closed by the server
    s.close()
    _still_serving(srv, r)

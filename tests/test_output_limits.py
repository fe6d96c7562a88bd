"""client-output-buffer-limit as Redis enforces it: a normal client whose replies pass the hard
limit is closed before any of them is sent (one big reply, a pipeline, a whole EXEC); a soft
limit closes a client that stays over it even when no new output arrives; a command building
a huge reply (HRANDFIELD -count) stops once the client is past its limit."""

from __future__ import annotations

import socket
import time

import redis

from tests.helpers import ThreadedServer


def _names(r) -> list[str]:
    return [c.get("name", "") for c in r.client_list()]


def _closed_without_output(sock: socket.socket, deadline: float = 10.0) -> bool:
    """True when the peer closes and nothing at all was received."""
    sock.settimeout(deadline)
    got = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return got == b""
        if not chunk:
            return got == b""
        got += chunk


def _raw(port: int, name: str) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"CLIENT SETNAME %s\r\n" % name.encode())
    assert s.recv(100) == b"+OK\r\n"
    return s


def test_one_reply_past_the_hard_limit_closes_before_sending():
    with ThreadedServer() as srv:
        r = redis.Redis(port=srv.port)
        try:
            r.rpush("l", *([b"x" * 1000] * 150))  # LRANGE replies ~151 KB
            r.config_set("client-output-buffer-limit", "normal 100000 0 0")
            s = _raw(srv.port, "big")
            s.sendall(b"LRANGE l 0 -1\r\n")
            assert _closed_without_output(s)
            assert "big" not in _names(r)
            # Under the limit the same reply is delivered.
            r.config_set("client-output-buffer-limit", "normal 1mb 0 0")
            assert len(r.lrange("l", 0, -1)) == 150
        finally:
            r.close()


def test_a_pipeline_past_the_hard_limit_gets_no_reply():
    with ThreadedServer() as srv:
        r = redis.Redis(port=srv.port)
        try:
            r.set("big", b"x" * 10000)
            r.config_set("client-output-buffer-limit", "normal 100000 0 0")
            s = _raw(srv.port, "pipe")
            s.sendall(b"".join(b"SET %d %d\r\nGET big\r\n" % (i, i) for i in range(15)))
            assert _closed_without_output(s)
            assert "pipe" not in _names(r)
        finally:
            r.close()


def test_exec_runs_completely_then_the_client_is_closed():
    with ThreadedServer() as srv:
        r = redis.Redis(port=srv.port)
        try:
            r.rpush("l", *([b"x" * 1000] * 150))
            r.set("k1", "v1")
            r.config_set("client-output-buffer-limit", "normal 100000 0 0")
            s = _raw(srv.port, "tx")
            s.sendall(b"MULTI\r\nSET k2 v2\r\nLRANGE l 0 -1\r\nSET k3 v3\r\nDEL k1\r\n")
            s.settimeout(10)
            want = b"+OK\r\n" + b"+QUEUED\r\n" * 4
            got = b""
            while len(got) < len(want):
                got += s.recv(100)
            assert got == want
            s.sendall(b"EXEC\r\n")
            assert _closed_without_output(s)
            assert r.get("k1") is None and r.get("k2") == b"v2" and r.get("k3") == b"v3"
        finally:
            r.close()


def test_soft_limit_closes_a_client_even_without_new_output():
    with ThreadedServer() as srv:
        r = redis.Redis(port=srv.port)
        try:
            r.config_set("client-output-buffer-limit", "pubsub 0 100000 1")
            s = _raw(srv.port, "sub")
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.sendall(b"SUBSCRIBE ch\r\n")
            s.settimeout(10)
            assert s.recv(100).startswith(b"*3\r\n")
            # Fill the socket and pass the soft limit, then stop publishing.
            deadline = time.monotonic() + 20
            while True:
                r.publish("ch", b"x" * 1000)
                info = [c for c in r.client_list() if c.get("name") == "sub"]
                if not info or int(info[0]["omem"]) > 150000:
                    break
                assert time.monotonic() < deadline, "output never queued"
            stopped = time.monotonic()
            while "sub" in _names(r):
                assert time.monotonic() - stopped < 10, "soft limit never enforced"
                time.sleep(0.05)
        finally:
            r.close()


def test_hrandfield_with_a_huge_count_stops_at_the_limit():
    with ThreadedServer() as srv:
        r = redis.Redis(port=srv.port)
        try:
            r.config_set("client-output-buffer-limit", "normal 1000000 0 0")
            r.hset("h", "a", "b")
            s = _raw(srv.port, "huge")
            start = time.monotonic()
            s.sendall(b"HRANDFIELD h -999999999\r\n")
            assert _closed_without_output(s, deadline=30)
            assert time.monotonic() - start < 30  # not a billion picks
            assert r.ping()
            # A count the limit allows is served whole.
            assert len(r.hrandfield("h", -1000)) == 1000
        finally:
            r.close()


def test_a_client_closed_for_its_limit_keeps_its_omem_until_freed():
    """unit/obuf-limits reads CLIENT LIST until the subscriber is gone: the last omem it saw
    is the queued output near the hard limit, never an emptied buffer."""
    with ThreadedServer() as srv:
        r = redis.Redis(port=srv.port)
        try:
            r.config_set("client-output-buffer-limit", "pubsub 100000 0 0")
            s = _raw(srv.port, "sub")
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.sendall(b"SUBSCRIBE foo\r\n")
            s.settimeout(10)
            assert s.recv(100).startswith(b"*3\r\n")
            omem = 0
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                r.publish("foo", "bar")
                info = [c for c in r.client_list() if c.get("name") == "sub"]
                if not info:
                    break
                omem = int(info[0]["omem"])
            assert 70000 <= omem < 200000
        finally:
            r.close()


def test_keys_reply_past_the_hard_limit_closes():
    """A reply whose length Redis learns only at its end (KEYS) counts whole against the
    limit: ~112 KB of names against 100000 closes the client (unit/obuf-limits)."""
    with ThreadedServer() as srv:
        r = redis.Redis(port=srv.port)
        try:
            prefix = "long-key-name-prefix-of-100-chars-" + "-" * 67
            r.mset({f"{prefix}{i}": "x" for i in range(1000)})
            r.config_set("client-output-buffer-limit", "normal 100000 0 0")
            s = _raw(srv.port, "keys")
            s.sendall(b"KEYS *\r\n")
            assert _closed_without_output(s)
        finally:
            r.close()

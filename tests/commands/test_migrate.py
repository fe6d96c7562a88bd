"""MIGRATE: replies and errors as Redis 7.0 gives them (differential, with real Redis both as
the source beside us and as the target), transfers to trioredis, DEL propagation, and the
cached target connections (reused, SELECT skipped, closed when idle, retried when dead)."""

from __future__ import annotations

import socket
import threading
import time

import pytest
import redis

from ..helpers import RawClient, RealRedis, ThreadedServer, free_port, have_real_redis

needs_real = pytest.mark.skipif(not have_real_redis(), reason="redis-server is not installed")


def client(port: int, db: int = 0) -> redis.Redis:
    return redis.Redis(port=port, db=db, protocol=2, socket_timeout=15)


@pytest.fixture
def target():
    """A real Redis to migrate to (fresh per test: tests count its connections)."""
    if not have_real_redis():
        pytest.skip("redis-server is not installed")
    t = RealRedis()
    yield t
    t.stop()


@pytest.fixture
def trio_target():
    with ThreadedServer() as t:
        yield t


def script(src: int, dst: int) -> list[bytes]:
    """The same MIGRATE session run from ``src`` to ``dst``; the raw replies."""
    client(dst).flushall()
    c = RawClient(src)
    try:
        out = []
        dead = free_port()

        def run(*args):
            out.append(c.command(*args))

        run("FLUSHALL")
        run("SET", "a", "1")
        run("RPUSH", "l", "x", "y")
        run("SET", "t", "v", "PX", "100000")
        run("MIGRATE", "127.0.0.1", dst, "a", 0, 1000)
        run("EXISTS", "a")
        run("MIGRATE", "127.0.0.1", dst, "nokey", 0, 1000)
        run("SET", "a", "2")
        run("MIGRATE", "127.0.0.1", dst, "a", 0, 1000)  # BUSYKEY from the target
        run("EXISTS", "a")
        run("MIGRATE", "127.0.0.1", dst, "a", 0, 1000, "COPY", "REPLACE")
        run("EXISTS", "a")
        run("MIGRATE", "127.0.0.1", dst, "", 3, 1000, "KEYS", "l", "t", "missing", "a")
        run("EXISTS", "a", "l", "t")
        run("MIGRATE", "127.0.0.1", dst, "x", 3, 1000, "KEYS", "l")
        run("MIGRATE", "127.0.0.1", dst, "x", 3, 1000, "bogus")
        run("MIGRATE", "127.0.0.1", dst, "x", 3, 1000, "AUTH")
        run("MIGRATE", "127.0.0.1", dst, "x", 3, 1000, "AUTH2", "u")
        run("MIGRATE", "127.0.0.1", dst, "x", 3, "abc")
        run("MIGRATE", "127.0.0.1", dst, "x", "abc", 1000)
        run("MIGRATE", "127.0.0.1", dst, "x", 3)
        run("SET", "z", "1")
        run("MIGRATE", "127.0.0.1", dead, "z", 0, 100)  # refused
        run("MIGRATE", "127.0.0.1", dst, "z", 0, 1000, "AUTH", "foo")
        run("MIGRATE", "127.0.0.1", dst, "z", 0, 1000, "AUTH2", "u", "p")
        run("MIGRATE", "127.0.0.1", dst, "z", 99, 1000)
        run("MIGRATE", "no-such-host.invalid", dst, "z", 0, 1000)
        run("MIGRATE", "127.0.0.1", dst, "z", 5, 0)  # timeout 0 means 1000 ms
        run("EXISTS", "z")
        run("COMMAND", "GETKEYS", "MIGRATE", "h", "p", "", 0, 5, "AUTH", "x", "KEYS", "a", "b")
        run("COMMAND", "GETKEYS", "MIGRATE", "h", "p", "k", 0, 5, "AUTH2", "x", "y")
        run("COMMAND", "GETKEYS", "MIGRATE", "h", "p", "k", 0, 5, "KEYS", "a")
        return out
    finally:
        c.close()


def target_state(dst: int) -> dict:
    t3, t5 = client(dst, 3), client(dst, 5)
    ttl = t3.pttl("t")
    return {
        "db0": sorted(client(dst).keys()),
        "db3": sorted(t3.keys()),
        "a": t3.get("a"),
        "l": t3.lrange("l", 0, -1),
        "t_ttl_ok": 90_000 < ttl <= 100_000,
        "z": t5.get("z"),
    }


@needs_real
def test_replies_and_target_state_match_real_redis(server, real_redis, target):
    ours = script(server.port, target.port)
    ours_state = target_state(target.port)
    theirs = script(real_redis.port, target.port)
    theirs_state = target_state(target.port)
    assert ours == theirs
    assert ours_state == theirs_state
    assert b"-IOERR error or timeout writing to target instance\r\n" in ours
    assert b"-IOERR error or timeout connecting to the client\r\n" in ours
    assert (b"-ERR Target instance replied with error: BUSYKEY Target key name already "
            b"exists.\r\n") in ours


def test_migrate_to_trioredis_moves_values_and_ttls(r, server, trio_target):
    r.rpush("list", *range(100))
    r.hset("h", mapping={"f": "v", "g": "w"})
    r.zadd("z", {"m": 1.5})
    r.set("s", "str", px=50_000)
    r.xadd("st", {"k": "v"}, id="1-1")
    before = {k: r.dump(k) for k in (b"list", b"h", b"z", b"s", b"st")}
    assert r.execute_command("MIGRATE", "127.0.0.1", trio_target.port, "", 2, 1000,
                             "KEYS", "list", "h", "z", "s", "st") == b"OK"
    assert r.dbsize() == 0
    t = client(trio_target.port, 2)
    for k, payload in before.items():
        assert t.dump(k) == payload
    assert 40_000 < t.pttl("s") <= 50_000
    r.set("s", "new")
    with pytest.raises(redis.ResponseError, match="BUSYKEY"):
        r.execute_command("MIGRATE", "127.0.0.1", trio_target.port, "s", 2, 1000)
    assert r.get("s") == b"new"
    assert r.execute_command("MIGRATE", "127.0.0.1", trio_target.port, "s", 2, 1000,
                             "REPLACE") == b"OK"
    assert t.get("s") == b"new" and t.pttl("s") == -1


@needs_real
def test_real_redis_migrates_to_trioredis(rr, trio_target):
    rr.set("k", "v", ex=100)
    rr.sadd("set", *range(50))
    assert rr.execute_command("MIGRATE", "127.0.0.1", trio_target.port, "", 0, 1000,
                              "KEYS", "k", "set") == b"OK"
    t = client(trio_target.port)
    assert t.get("k") == b"v" and 90 < t.ttl("k") <= 100
    assert t.scard("set") == 50
    assert rr.exists("k", "set") == 0


def test_auth_and_auth2_to_a_protected_target(r):
    with ThreadedServer(requirepass="secret") as t:
        r.set("a", "1")
        r.set("b", "2")
        assert r.execute_command("MIGRATE", "127.0.0.1", t.port, "a", 0, 1000,
                                 "AUTH", "secret") == b"OK"
        assert r.execute_command("MIGRATE", "127.0.0.1", t.port, "b", 0, 1000,
                                 "AUTH2", "default", "secret") == b"OK"
        r.set("c", "3")
        with pytest.raises(redis.ResponseError) as e:
            r.execute_command("MIGRATE", "127.0.0.1", t.port, "c", 0, 1000, "AUTH", "bad")
        assert str(e.value).startswith("Target instance replied with error: WRONGPASS")
        assert r.get("c") == b"3"
        tc = redis.Redis(port=t.port, password="secret")
        # The cached connection was already authenticated: the RESTORE went through, but the
        # AUTH error is what Redis reports, and it keeps its copy of the key.
        assert tc.mget("a", "b", "c") == [b"1", b"2", b"3"]


def test_propagates_as_del_of_the_moved_keys_only(r, server, trio_target):
    seen = []
    server.call(lambda: server.server.propagate_targets.append(lambda db, argv: seen.append(
        (db, list(argv)))))
    client(trio_target.port).set("busy", "x")
    r.mset({"a": "1", "busy": "2", "b": "3"})
    seen.clear()
    with pytest.raises(redis.ResponseError, match="BUSYKEY"):
        r.execute_command("MIGRATE", "127.0.0.1", trio_target.port, "", 0, 1000,
                          "KEYS", "a", "busy", "b", "none")
    assert seen == [(0, [b"DEL", b"a", b"b"])]
    assert r.exists("a", "b") == 0 and r.get("busy") == b"2"
    seen.clear()
    assert r.execute_command("MIGRATE", "127.0.0.1", trio_target.port, "busy", 0, 1000,
                             "COPY", "REPLACE") == b"OK"
    assert seen == []  # COPY changes nothing here
    assert r.execute_command("MIGRATE", "127.0.0.1", trio_target.port, "none", 0, 1000) \
        == b"NOKEY"
    assert seen == []


def _connections_from_us(target_port: int) -> int:
    return sum(1 for c in client(target_port).client_list() if c["cmd"] == "restore")


def test_connections_are_cached_select_skipped_and_idle_ones_closed(r, server, trio_target):
    t = client(trio_target.port)
    t.config_resetstat()
    for i in range(3):
        r.set(f"k{i}", i)
        assert r.execute_command("MIGRATE", "127.0.0.1", trio_target.port, f"k{i}", 4,
                                 1000) == b"OK"
    stats = t.info("commandstats")
    assert stats["cmdstat_restore"]["calls"] == 3
    assert stats["cmdstat_select"]["calls"] == 1  # the cached connection remembers db 4
    assert _connections_from_us(trio_target.port) == 1
    cache = server.server.migrate_sockets
    server.call(cache.close_idle)  # used just now: kept
    assert _connections_from_us(trio_target.port) == 1

    def age():
        for cs in cache.cache.values():
            cs.last_use -= 11

    server.call(age)
    server.call(cache.close_idle)
    deadline = time.monotonic() + 5
    while _connections_from_us(trio_target.port) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _connections_from_us(trio_target.port) == 0
    r.set("again", "1")
    assert r.execute_command("MIGRATE", "127.0.0.1", trio_target.port, "again", 4, 1000) \
        == b"OK"
    assert t.info("commandstats")["cmdstat_select"]["calls"] == 2  # a new connection


def _migrate_after_target_dropped_us(src: int, dst: int) -> list:
    s, t = client(src), client(dst)
    s.set("one", "1")
    s.set("two", "2")
    out = [s.execute_command("MIGRATE", "127.0.0.1", dst, "one", 0, 1000)]
    t.execute_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
    time.sleep(0.1)  # let the close reach the source's cached socket
    out.append(s.execute_command("MIGRATE", "127.0.0.1", dst, "two", 0, 1000))
    out.append(t.mget("one", "two"))
    return out


@needs_real
def test_a_dead_cached_connection_is_replaced_silently(server, real_redis, target):
    client(real_redis.port).flushall()
    ours = _migrate_after_target_dropped_us(server.port, target.port)
    client(target.port).flushall()
    theirs = _migrate_after_target_dropped_us(real_redis.port, target.port)
    assert ours == theirs == [b"OK", b"OK", [b"1", b"2"]]


class _Silent:
    """A TCP listener that accepts and never answers."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)

    def close(self):
        self.sock.close()
        for c in self.conns:
            c.close()


@needs_real
def test_timeout_reading_is_an_ioerr_and_keeps_the_key(server, real_redis):
    silent = _Silent()
    try:
        replies = []
        for port in (server.port, real_redis.port):
            c = RawClient(port)
            c.command("SET", "k", "v")
            start = time.monotonic()
            replies.append(c.command("MIGRATE", "127.0.0.1", silent.port, "k", 0, 200))
            assert 0.15 < time.monotonic() - start < 3
            replies.append(c.command("EXISTS", "k"))
            c.command("DEL", "k")
            c.close()
        assert replies[:2] == replies[2:] == [
            b"-IOERR error or timeout reading to target instance\r\n", b":1\r\n"]
    finally:
        silent.close()

"""DUMP and RESTORE: Redis's payload format (value + RDB version + CRC64), so values move
between trioredis and a real Redis in both directions; errors and options as Redis 7.0."""

from __future__ import annotations

import struct

import pytest
import redis

from trioredis.config import Config
from trioredis.core import ManualClock, Server
from trioredis.persistence import rdb
from trioredis.persistence.crc64 import crc64
from trioredis.persistence.listpack import lp_encode
from trioredis.protocol.replies import ErrorReply

from ..helpers import RawClient
from . import diff_snapshots, our_snapshot, populate, real_snapshot

NOW = 1_700_000_000_000


@pytest.fixture(autouse=True)
def _quiet_slowlog(request):
    """Big RPUSH/HSET calls may enter the shared real Redis's slow log: leave it empty."""
    client = request.getfixturevalue("rr") if "rr" in request.fixturenames else None
    yield
    if client is not None:
        client.slowlog_reset()


def payload(body: bytes, version: int = 10) -> bytes:
    data = body + struct.pack("<H", version)
    return data + struct.pack("<Q", crc64(0, data))


def copy_keys(src: redis.Redis, dst: redis.Redis) -> None:
    """DUMP every key of ``src`` and RESTORE it into ``dst`` with its absolute expiry."""
    for key in src.keys("*"):
        when = src.execute_command("PEXPIRETIME", key)
        data = src.dump(key)
        if when > 0:
            assert dst.restore(key, when, data, absttl=True)
        else:
            assert dst.restore(key, 0, data)


def clients(port: int) -> list:
    return [redis.Redis(port=port, db=d, protocol=2) for d in (0, 3)]


def test_real_dumps_restore_here(server, rr):
    populate(rr)
    for src, dst in zip(clients(rr.connection_pool.connection_kwargs["port"]),
                        clients(server.port), strict=True):
        copy_keys(src, dst)
    real = real_snapshot(rr.connection_pool.connection_kwargs["port"])
    assert not diff_snapshots(real, server.call(our_snapshot, server.server))


def test_our_dumps_restore_in_real_redis(server, rr):
    populate(redis.Redis(port=server.port, protocol=2))
    for src, dst in zip(clients(server.port),
                        clients(rr.connection_pool.connection_kwargs["port"]), strict=True):
        copy_keys(src, dst)
    real = real_snapshot(rr.connection_pool.connection_kwargs["port"])
    assert not diff_snapshots(server.call(our_snapshot, server.server), real)


def test_small_payloads_are_byte_identical(server, rr):
    ours = redis.Redis(port=server.port, protocol=2)
    for r in (rr, ours):
        r.set("s", "v")
        r.set("i", -123)
        r.hset("h", mapping={"a": "1", "b": "x"})
        r.sadd("si", 1, 2, 3)
        r.sadd("ss", "a")
        r.zadd("z", {"a": 1, "b": 2.5})
        r.rpush("l", "a", "1")
    for key in ("s", "i", "h", "si", "ss", "z", "l"):
        assert ours.dump(key) == rr.dump(key), key


def test_restore_replies_and_errors_match_redis(server, rr):
    rr.set("k", "v")
    good = rr.dump("k")
    bad_crc = good[:-1] + bytes([good[-1] ^ 1])
    garbage = payload(b"\x00\x10abc")  # a string claiming 16 bytes: valid CRC, bad body
    empty_list = payload(b"\x12\x00")  # a quicklist with no node: an empty key
    not_a_type = payload(b"\x08\x00")
    script = [
        ("SET", "k", "v"), ("DUMP", "nokey"), ("DUMP", "k"),
        ("RESTORE", "k", "0", good), ("RESTORE", "n", "-1", good),
        ("RESTORE", "n", "abc", good), ("RESTORE", "n", "0", bad_crc),
        ("RESTORE", "n", "0", b"short"), ("RESTORE", "n", "0", garbage),
        ("RESTORE", "n", "0", empty_list), ("RESTORE", "n", "0", not_a_type),
        ("RESTORE", "n", "0", good, "REPLACE", "ABSTTL", "IDLETIME", "-1"),
        ("RESTORE", "n", "0", good, "FREQ", "300"), ("RESTORE", "n", "0", good, "FREQ", "-1"),
        ("RESTORE", "n", "0", good, "IDLETIME", "1", "FREQ", "1"),
        ("RESTORE", "n", "0", good, "FREQ", "1", "IDLETIME", "1"),
        ("RESTORE", "n", "0", good, "BOGUS"), ("RESTORE", "n", "0", good, "IDLETIME"),
        ("RESTORE", "n", "0", good, "IDLETIME", "x"),
        ("RESTORE", "k", "-1", good, "BOGUS"),  # syntax is checked first
        ("RESTORE", "k", "x", bad_crc),  # then BUSYKEY, then the TTL, then the payload
        ("RESTORE", "n", "0", good, "FREQ", "10", "REPLACE"), ("GET", "n"),
        ("RESTORE", "k", "0", good, "REPLACE", "IDLETIME", "1000"), ("GET", "k"),
        ("RESTORE", "past", "1", good, "ABSTTL"), ("EXISTS", "past"),
        ("RESTORE", "k", "1", good, "ABSTTL", "REPLACE"), ("EXISTS", "k"),
        ("RESTORE", "t", "4000000000000", good, "ABSTTL"), ("PEXPIRETIME", "t"),
        ("RESTORE",), ("RESTORE", "a", "0"), ("DUMP",), ("DUMP", "a", "b"),
    ]
    ours = RawClient(server.port)
    real = RawClient(rr.connection_pool.connection_kwargs["port"])
    rr.flushall()
    for cmd in script:
        assert ours.command(*cmd) == real.command(*cmd), cmd
    ours.close()
    real.close()


def test_restore_relative_ttl(server):
    r = redis.Redis(port=server.port, protocol=2)
    r.set("k", "v")
    data = r.dump("k")
    assert r.restore("t", 100_000, data)
    assert 99_000 < r.pttl("t") <= 100_000
    assert r.restore("t", 0, data, replace=True) and r.pttl("t") == -1


def test_newer_payload_versions_accepted():
    """Payloads of Redis 7.2/7.4 (versions 11, 12) load: a set listpack is 7.2's."""
    srv = Server(Config())
    body = b"\x14" + rdb.encode_string(lp_encode([b"a", b"b"]))
    assert rdb.load_payload(payload(body, 11), rdb.Limits()) == {b"a", b"b"}
    with pytest.raises(rdb.PayloadError):
        rdb.load_payload(payload(body, 13), rdb.Limits())
    c = srv.new_client()
    assert srv.execute(c, [b"RESTORE", b"k", b"0", payload(body, 12)]) == "OK"
    assert srv.dbs[0].data[b"k"] == {b"a", b"b"}


def test_restore_propagates_absolute_ttl_and_del():
    srv = Server(Config(), clock=ManualClock(NOW / 1000))
    sent = []
    srv.propagate_targets.append(lambda dbid, argv: sent.append(argv))
    c = srv.new_client()
    data = rdb.dump_payload(b"v", rdb.Limits())
    srv.execute(c, [b"RESTORE", b"k", b"5000", data])
    assert sent[-1] == [b"RESTORE", b"k", b"%d" % (NOW + 5000), data, b"ABSTTL"]
    srv.execute(c, [b"RESTORE", b"p", b"0", data])
    assert sent[-1] == [b"RESTORE", b"p", b"0", data]
    srv.execute(c, [b"RESTORE", b"k", b"1", data, b"ABSTTL", b"REPLACE"])
    assert sent[-1] == [b"DEL", b"k"] and b"k" not in srv.dbs[0].data
    n = len(sent)
    reply = srv.execute(c, [b"RESTORE", b"gone", b"1", data, b"ABSTTL"])
    assert reply == "OK" and len(sent) == n  # nothing changed: nothing propagated
    reply = srv.execute(c, [b"RESTORE", b"p", b"0", data])
    assert reply == ErrorReply("BUSYKEY Target key name already exists.")

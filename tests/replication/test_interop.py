"""Replication interop with Debian's real redis-server 7.0, both directions."""

from __future__ import annotations

import time

import pytest
import redis

from ..helpers import RealRedis, ThreadedServer, have_real_redis
from .test_replication import _mixed_writes, wait_until

pytestmark = pytest.mark.skipif(not have_real_redis(), reason="redis-server is not installed")


def client(port: int) -> redis.Redis:
    return redis.Redis(port=port, protocol=2, socket_timeout=15)


def populate(r: redis.Redis) -> None:
    r.set("str", "value")
    r.set("int", 12345)
    r.set("ttl", "x", ex=1000)
    r.rpush("list", *[f"e{i}" for i in range(300)])
    r.rpush("small", "a", "b")
    r.hset("hash", mapping={f"f{i}": i for i in range(10)})
    r.hset("bighash", mapping={f"f{i}": "v" * 100 for i in range(600)})
    r.sadd("iset", *range(20))
    r.sadd("sset", *[f"m{i}" for i in range(200)])
    r.zadd("zset", {f"m{i}": i / 3 for i in range(50)})
    r.zadd("bigz", {f"m{i}": i for i in range(300)})
    for i in range(20):
        r.xadd("stream", {"i": i, "kind": "event"}, id=f"{1000 + i}-0")
    r.xgroup_create("stream", "g1", id="0")
    r.xgroup_create("stream", "g2", id="$")
    r.xreadgroup("g1", "alice", {"stream": ">"}, count=5)
    r.xreadgroup("g1", "bob", {"stream": ">"}, count=3)
    r.xack("stream", "g1", "1000-0")


def digest(port: int) -> bytes:
    return client(port).execute_command("DEBUG", "DIGEST")


def same_keys(a: redis.Redis, b: redis.Redis) -> None:
    keys = sorted(a.keys("*"))
    assert keys == sorted(b.keys("*"))
    for k in keys:
        assert a.type(k) == b.type(k), k
        # DIGEST-VALUE is order-independent where Redis's encodings are (hash tables).
        assert a.execute_command("DEBUG", "DIGEST-VALUE", k) == b.execute_command(
            "DEBUG", "DIGEST-VALUE", k), k
        assert a.pexpiretime(k) == b.pexpiretime(k), k


def test_real_replica_of_trioredis_master():
    with ThreadedServer(enable_debug_command="yes") as master:
        m = client(master.port)
        populate(m)
        real = RealRedis("--replicaof", "127.0.0.1", str(master.port), "--enable-debug-command", "yes")
        try:
            r = client(real.port)
            wait_until(lambda: r.info("replication").get("master_link_status") == "up",
                       timeout=20, what="real replica link up")
            _mixed_writes(m, 10_000)
            assert m.wait(1, 10_000) == 1
            same_keys(m, r)
            wait_until(lambda: digest(real.port) == digest(master.port), timeout=20,
                       what="equal digests")
            info = m.info("replication")
            assert info["connected_slaves"] == 1
        finally:
            real.stop()


def test_trioredis_replica_of_real_master():
    real = RealRedis("--enable-debug-command", "yes")
    try:
        m = client(real.port)
        populate(m)
        with ThreadedServer(replicaof=f"127.0.0.1 {real.port}", enable_debug_command="yes") as rep:
            r = client(rep.port)
            wait_until(lambda: r.info("replication").get("master_link_status") == "up",
                       timeout=20, what="link up")
            _mixed_writes(m, 10_000)
            assert m.wait(1, 10_000) == 1
            wait_until(lambda: digest(rep.port) == digest(real.port), timeout=20,
                       what="equal digests")
            same_keys(m, r)
            # The replica's offset follows the master's byte for byte.
            deadline = time.monotonic() + 10
            while True:
                mo = m.info("replication")["master_repl_offset"]
                ro = r.info("replication")["slave_repl_offset"]
                if mo == ro or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            assert ro == mo
    finally:
        real.stop()

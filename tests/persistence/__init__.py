"""Helpers shared by the persistence tests: a dataset of every type and encoding, and a
canonical view of a keyspace, read from a real Redis (redis-py) or from our server's memory,
so both can be compared key by key (values, types, absolute expiry, stream groups/PELs)."""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from collections import deque

import redis

from trioredis.datatypes.stream import Stream
from trioredis.datatypes.zset import ZSet

from ..helpers import RealRedis

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


def fmt_id(i: int) -> bytes:
    return b"%d-%d" % (i >> 64, i & ((1 << 64) - 1))


def populate(r: redis.Redis, big: bool = True) -> None:
    """Keys of every type, in every encoding Redis 7.0 gives them by default, plus TTLs."""
    r.set("str", "hello")
    r.set("int", 12345)
    r.set("negint", -7)
    r.set("bigint", 2**40)
    r.set("empty", "")
    r.set("bin", b"\x00\xff\r\n binary")
    r.set("compressible", "a" * 200)
    r.set("ttl", "v", px=3_600_000)
    r.set("far", "v", exat=4_000_000_000)
    r.rpush("list", "a", "1", "-2", "3000000000", "x" * 70)
    r.rpush("biglist", *[str(i) for i in range(1000)] if big else ["0"])
    r.rpush("hugeelem", "y" * 10000, "z")
    r.sadd("intset", 1, 2, 3, -100000, 2**40)
    r.sadd("strset", "a", "b", "c")
    r.sadd("bigset", *range(600) if big else [0])
    r.hset("hash", mapping={"f": "v", "n": 1, "neg": -5})
    r.hset("bighash", mapping={f"f{i}": i for i in range(600)} if big else {"f": 0})
    r.hset("longval", "f", "v" * 100)
    r.zadd("zset", {"a": 1, "b": 2.5, "c": -3, "d": float("inf"), "e": float("-inf")})
    r.zadd("bigzset", {f"m{i}": i * 0.5 for i in range(200)} if big else {"m": 0})
    r.zadd("longmember", {"m" * 100: 1})
    r.expire("zset", 7200)
    # A stream with a deletion, two groups, consumers with and without pending entries.
    r.xadd("stream", {"a": "1"}, id="1-1")
    r.xadd("stream", {"a": "2", "b": "3"}, id="1-2")
    r.xadd("stream", {"a": "3"}, id="5-0")
    r.xadd("stream", {"c": "4"}, id="6-0")
    r.xdel("stream", "1-2")
    r.xgroup_create("stream", "g1", id="0")
    r.xreadgroup("g1", "alice", {"stream": ">"}, count=1)
    r.xreadgroup("g1", "bob", {"stream": ">"})
    r.xack("stream", "g1", "6-0")
    r.xgroup_createconsumer("stream", "g1", "carol")
    r.xgroup_create("stream", "g2", id="$")
    r.xgroup_create("stream", "g3", id="1-1")  # entries-read cannot be known: tombstone
    r.xgroup_create("emptystream", "g", id="$", mkstream=True)
    r.xadd("bigstream", {"f": "v"}, id="1-0")
    for i in range(2, 250 if big else 3):
        r.xadd("bigstream", {"f": str(i)} if i % 7 else {"other": str(i)}, id=f"{i}-0")
    other = redis.Redis(port=r.connection_pool.connection_kwargs["port"], db=3, protocol=2)
    other.set("db3key", "x")
    other.rpush("db3list", "y")
    other.close()


def _parse_flat(items: list) -> dict:
    return {items[i]: items[i + 1] for i in range(0, len(items), 2)}


def real_stream(r: redis.Redis, key: bytes) -> dict:
    info = _parse_flat(r.execute_command("XINFO", "STREAM", key, "FULL", "COUNT", 0))
    groups = []
    for g in info[b"groups"]:
        g = _parse_flat(g)
        consumers = []
        for c in g[b"consumers"]:
            c = _parse_flat(c)
            consumers.append((c[b"name"], c[b"seen-time"], [p[0] for p in c[b"pending"]]))
        pel = [(p[0], p[1], p[2], p[3]) for p in g[b"pending"]]
        er = g[b"entries-read"]
        groups.append((g[b"name"], g[b"last-delivered-id"], -1 if er is None else er, pel,
                       consumers))
    return {
        "entries": [(e[0], list(e[1])) for e in info[b"entries"]],
        "length": info[b"length"],
        "last": info[b"last-generated-id"],
        "maxdel": info[b"max-deleted-entry-id"],
        "added": info[b"entries-added"],
        "first": info[b"recorded-first-entry-id"],
        "groups": groups,
    }


def real_snapshot(port: int, dbs=(0, 3)) -> dict:
    """{(db, key): (type, value, absolute expiry ms or -1)} read from a real Redis."""
    out = {}
    for dbid in dbs:
        r = redis.Redis(port=port, db=dbid, protocol=2)
        for key in r.keys("*"):
            t = r.type(key)
            if t == b"string":
                v = r.get(key)
            elif t == b"list":
                v = r.lrange(key, 0, -1)
            elif t == b"set":
                v = sorted(r.smembers(key))
            elif t == b"hash":
                v = r.hgetall(key)
            elif t == b"zset":
                v = [(m, _score(s)) for m, s in r.zrange(key, 0, -1, withscores=True)]
            else:
                v = real_stream(r, key)
            out[(dbid, key)] = (t.decode(), v, r.execute_command("PEXPIRETIME", key))
        r.close()
    return out


def _score(s: float):
    return "nan" if s != s else (s if math.isfinite(s) else ("inf" if s > 0 else "-inf"))


def our_stream(s: Stream) -> dict:
    groups = []
    for g in s.sorted_groups():
        pel = [(fmt_id(i), n.consumer.name, n.delivery_time, n.delivery_count)
               for i, n in g.pel.items()]
        consumers = [(c.name, c.seen_time, [fmt_id(i) for i in c.pel])
                     for c in g.sorted_consumers()]
        groups.append((g.name, fmt_id(g.last_id), g.entries_read, pel, consumers))
    return {
        "entries": [(fmt_id(i), list(fv)) for i, fv in s.entries()],
        "length": len(s),
        "last": fmt_id(s.last_id),
        "maxdel": fmt_id(s.max_deleted_id),
        "added": s.entries_added,
        "first": fmt_id(s.first_id),
        "groups": groups,
    }


def our_snapshot(server, dbs=(0, 3)) -> dict:
    """The same view, read from a trioredis Server's memory."""
    out = {}
    now = server.now_ms()
    for dbid in dbs:
        db = server.dbs[dbid]
        for key, v in db.data.items():
            when = db.expires.get(key, -1)
            if when != -1 and when <= now:
                continue
            cls = v.__class__
            if cls in (bytes, bytearray):
                t, val = "string", bytes(v)
            elif cls is deque:
                t, val = "list", list(v)
            elif cls is set:
                t, val = "set", sorted(v)
            elif cls is dict:
                t, val = "hash", dict(v)
            elif cls is ZSet:
                t, val = "zset", [(m, _score(s)) for m, s in v]
            else:
                t, val = "stream", our_stream(v)
            out[(dbid, key)] = (t, val, when)
    return out


def diff_snapshots(a: dict, b: dict) -> list:
    """Human-readable differences (empty when equal)."""
    out = []
    for k in sorted(set(a) | set(b)):
        if a.get(k) != b.get(k):
            out.append((k, a.get(k), b.get(k)))
    return out


class RealWithDump:
    """A real redis-server that starts on a given RDB file (its own copy)."""

    def __init__(self, data: bytes, *args: str):
        self.dir = tempfile.mkdtemp(prefix="rdb-interop-")
        with open(os.path.join(self.dir, "dump.rdb"), "wb") as f:
            f.write(data)
        self.real = RealRedis("--dir", self.dir, "--dbfilename", "dump.rdb", *args)
        self.port = self.real.port

    def stop(self) -> None:
        self.real.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

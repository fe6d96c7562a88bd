"""RDB files between trioredis and a real Redis 7.0, both ways.

Real Redis writes dumps with every encoding it has (listpack, hashtable, intset, skiplist,
quicklists with LZF-compressed nodes, streams with groups): we load them and must see what
redis-py sees. We write dumps: a real redis-server starts on them and serves the same keys,
values, types and expiry, and redis-check-rdb calls them OK.
"""

from __future__ import annotations

import os
import subprocess

import pytest
import redis

from trioredis.config import Config
from trioredis.core import Server
from trioredis.persistence import rdb

from ..helpers import RealRedis, have_real_redis
from . import RealWithDump, diff_snapshots, our_snapshot, populate, real_snapshot

pytestmark = pytest.mark.skipif(not have_real_redis(), reason="redis-server is not installed")


def real_dump(*args: str) -> tuple[bytes, dict]:
    """A real Redis's dump.rdb after populate(), and its keyspace as redis-py reads it."""
    rr = RealRedis(*args)
    try:
        r = redis.Redis(port=rr.port, protocol=2)
        populate(r)
        r.save()
        view = real_snapshot(rr.port)
        with open(os.path.join(rr.dir, "dump.rdb"), "rb") as f:
            return f.read(), view
    finally:
        rr.stop()


CONFIGS = {
    "defaults": (),
    "hashtables": ("--hash-max-listpack-entries", "0", "--zset-max-listpack-entries", "0",
                   "--set-max-intset-entries", "0"),
    "compressed-quicklist": ("--list-max-listpack-size", "32", "--list-compress-depth", "1"),
    "big-nodes-no-lzf": ("--list-max-listpack-size", "-5", "--rdbcompression", "no",
                         "--stream-node-max-entries", "7"),
    "no-checksum": ("--rdbchecksum", "no",),
}


@pytest.mark.parametrize("name", list(CONFIGS))
def test_we_load_real_redis_dumps(name):
    data, view = real_dump(*CONFIGS[name])
    srv = Server(Config())
    stats = rdb.load_into(srv, data)
    assert stats.version == 10 and stats.keys_loaded == len(view)
    assert not diff_snapshots(view, our_snapshot(srv))


def redis_check_rdb(path: str) -> str:
    out = subprocess.run(["redis-check-rdb", path], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def test_real_redis_loads_our_dump(server):
    r = redis.Redis(port=server.port, protocol=2)
    populate(r)
    assert r.save()
    path = os.path.join(server.dir, "dump.rdb")
    with open(path, "rb") as f:
        data = f.read()
    assert data.startswith(b"REDIS0010")
    assert "RDB looks OK" in redis_check_rdb(path)
    ours = server.call(our_snapshot, server.server)
    with RealWithDump(data) as real:
        assert not diff_snapshots(ours, real_snapshot(real.port))
        # Redis gives our values the encodings it would have chosen itself.
        rc = redis.Redis(port=real.port, protocol=2)
        encodings = {k: rc.object("encoding", k) for k in (
            "hash", "bighash", "longval", "zset", "bigzset", "intset", "bigset", "strset",
            "list", "int", "str")}
        assert encodings == {
            "hash": b"listpack", "bighash": b"hashtable", "longval": b"hashtable",
            "zset": b"listpack", "bigzset": b"skiplist", "intset": b"intset",
            "bigset": b"hashtable", "strset": b"hashtable", "list": b"quicklist",
            "int": b"int", "str": b"embstr"}
        rc.close()
    r.close()


def test_round_trip_real_to_us_to_real():
    data, view = real_dump()
    srv = Server(Config())
    rdb.load_into(srv, data)
    ours = rdb.dump_bytes(srv)
    with RealWithDump(ours) as real:
        assert not diff_snapshots(view, real_snapshot(real.port))


def test_round_trip_us_to_real_to_us(server):
    r = redis.Redis(port=server.port, protocol=2)
    populate(r, big=False)
    ours = server.call(our_snapshot, server.server)
    data = server.call(rdb.dump_bytes, server.server)
    with RealWithDump(data) as real:
        rc = redis.Redis(port=real.port, protocol=2)
        rc.save()
        rc.close()
        with open(os.path.join(real.dir, "dump.rdb"), "rb") as f:
            back = f.read()
    srv = Server(Config())
    rdb.load_into(srv, back)
    assert not diff_snapshots(ours, our_snapshot(srv))
    r.close()


def test_redis_check_rdb_on_every_encoding(tmp_path):
    cfg = Config()
    for opt, val in (("list-max-listpack-size", "1"), ("hash-max-listpack-entries", "1"),
                     ("zset-max-listpack-entries", "1"), ("set-max-intset-entries", "1")):
        cfg.set(opt, val, startup=True)
    srv = Server(cfg)
    c = srv.new_client()
    for args in (("rpush", "l", "a", "b", "c"), ("hset", "h", "a", "1", "b", "2"),
                 ("zadd", "z", "1", "a", "2", "b"), ("sadd", "s", "1", "2"),
                 ("xadd", "x", "*", "f", "v")):
        srv.execute(c, [a.encode() for a in args])
    path = tmp_path / "dump.rdb"
    path.write_bytes(rdb.dump_bytes(srv))
    out = redis_check_rdb(str(path))
    assert "5 keys read" in out

"""The RDB keeps each key's LRU idle time (OP_IDLE) or LFU counter (OP_FREQ), both ways with a
real Redis 7.0; DEBUG RELOAD keeps them."""

from __future__ import annotations

import os

import pytest
import redis

from tests.helpers import RealRedis, have_real_redis
from trioredis.config import Config
from trioredis.core import ManualClock, Server
from trioredis.persistence.rdb_load import load_into
from trioredis.persistence.rdb_writer import iter_rdb

real = pytest.mark.skipif(not have_real_redis(), reason="redis-server not installed")


def make(policy: str):
    cfg = Config()
    cfg.set("enable-debug-command", "yes", startup=True)
    clock = ManualClock()
    srv = Server(cfg, clock=clock)
    srv.config.set("maxmemory-policy", policy)
    c = srv.new_client()

    def ex(*args):
        return srv.execute(c, [a if isinstance(a, bytes) else str(a).encode() for a in args])

    return srv, ex, clock


def test_debug_reload_keeps_idle_times_under_lru_and_counters_under_lfu():
    srv, ex, clock = make("allkeys-lru")
    ex("SET", "old", "v")
    ex("RPUSH", "list", "a")
    clock.advance(100)
    srv.run_hooks("cron")
    ex("SET", "new", "v")
    assert ex("DEBUG", "RELOAD") == "OK"
    assert ex("OBJECT", "IDLETIME", "old") == 100
    assert ex("OBJECT", "IDLETIME", "list") == 100
    assert ex("OBJECT", "IDLETIME", "new") == 0
    srv.config.set("maxmemory-policy", "allkeys-lfu")
    ex("RESTORE", "hot", 0, ex("DUMP", "new"), "FREQ", 77)
    assert ex("DEBUG", "RELOAD") == "OK"
    assert ex("OBJECT", "FREQ", "hot") == 77


def test_noeviction_saves_no_access_words():
    srv, ex, clock = make("noeviction")
    ex("SET", "k", "v")
    clock.advance(50)
    srv.run_hooks("cron")
    rdb = b"".join(iter_rdb(srv))
    assert b"\xf8" not in rdb.split(b"\x00\x01k")[0][-12:]  # no OP_IDLE before the key
    ex("DEBUG", "RELOAD")
    assert ex("OBJECT", "IDLETIME", "k") == 0  # as Redis: the key is fresh after loading


@real
def test_real_redis_reads_our_idle_times_and_we_read_its():
    srv, ex, clock = make("allkeys-lru")
    ex("SET", "k", "v")
    clock.advance(1000)
    srv.run_hooks("cron")
    rr = RealRedis("--maxmemory-policy", "allkeys-lru", "--dbfilename", "ours.rdb",
                   "--enable-debug-command", "yes")
    try:
        with open(os.path.join(rr.dir, "ours.rdb"), "wb") as f:
            f.write(b"".join(iter_rdb(srv)))
        r = redis.Redis(port=rr.port)
        r.execute_command("DEBUG", "RELOAD", "NOSAVE")
        assert 1000 <= r.object("idletime", "k") <= 1002
        r.restore("theirs", 0, r.dump("k"), idletime=5000)
        r.save()
        with open(os.path.join(rr.dir, "ours.rdb"), "rb") as f:
            data = f.read()
    finally:
        rr.stop()
    srv2, ex2, _ = make("allkeys-lru")
    load_into(srv2, data)
    assert 5000 <= ex2("OBJECT", "IDLETIME", "theirs") <= 5002
    assert ex2("OBJECT", "IDLETIME", "k") <= 2  # DUMP was an access

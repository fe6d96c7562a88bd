"""The used_memory model: kept up to date on every write, and close to the process's RSS."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from trioredis import eviction, memory
from trioredis.core import ManualClock, Server

ROOT = Path(__file__).resolve().parent.parent


def make():
    srv = Server(clock=ManualClock())
    c = srv.new_client()

    def ex(*args):
        return srv.execute(c, [a if isinstance(a, bytes) else str(a).encode() for a in args])

    return srv, ex


def fresh_totals(db) -> tuple[int, int, int]:
    """What a full recount gives: (string bytes, string keys, other bytes)."""
    s = n = o = 0
    for k, v in db.data.items():
        if v.__class__ is bytes:
            s += memory.string_cost(k, v)
            n += 1
        else:
            o += memory.key_cost(k, v)
    return s, n, o


def incremental_totals(db) -> tuple[int, int, int]:
    memory.flush_sizes(db)
    return db.str_bytes, db.str_keys, db.coll_bytes


def test_incremental_accounting_matches_a_recount_after_every_kind_of_write():
    srv, ex = make()
    rnd = random.Random(7)
    keys = [f"k{i}" for i in range(40)]
    ops = [
        lambda k: ex("SET", k, "v" * rnd.randrange(0, 300)),
        lambda k: ex("APPEND", k, "abc"),
        lambda k: ex("SETRANGE", k, rnd.randrange(50), "xyz"),
        lambda k: ex("INCR", k),
        lambda k: ex("DEL", k),
        lambda k: ex("UNLINK", k),
        lambda k: ex("GETDEL", k),
        lambda k: ex("LPUSH", k, "a", "bb", "ccc"),
        lambda k: ex("LPOP", k),
        lambda k: ex("RPOP", k, 5),
        lambda k: ex("HSET", k, "f", "v" * rnd.randrange(10), "g", "w"),
        lambda k: ex("HDEL", k, "f"),
        lambda k: ex("SADD", k, *[str(rnd.randrange(100)) for _ in range(5)]),
        lambda k: ex("SPOP", k),
        lambda k: ex("ZADD", k, rnd.random(), f"m{rnd.randrange(20)}"),
        lambda k: ex("ZPOPMIN", k),
        lambda k: ex("XADD", k, "*", "f", "v"),
        lambda k: ex("EXPIRE", k, 100),
        lambda k: ex("PERSIST", k),
        lambda k: ex("RENAME", k, rnd.choice(keys)),
        lambda k: ex("COPY", k, rnd.choice(keys), "REPLACE"),
        lambda k: ex("MOVE", k, 1),
        lambda k: ex("SET", k, "123"),
        lambda k: ex("GETSET", k, "x" * 40),
        lambda k: ex("MSET", k, "1", rnd.choice(keys), "2"),
        lambda k: ex("SUNIONSTORE", k, rnd.choice(keys), rnd.choice(keys)),
        lambda k: ex("LMOVE", k, rnd.choice(keys), "LEFT", "RIGHT"),
        lambda k: ex("SWAPDB", 0, 1) if rnd.random() < 0.05 else None,
        lambda k: ex("FLUSHDB") if rnd.random() < 0.01 else None,
    ]
    for _ in range(5000):
        rnd.choice(ops)(rnd.choice(keys))
    for db in srv.dbs[:2]:
        assert incremental_totals(db) == fresh_totals(db)
        assert set(db.access) == set(db.data)


def test_used_memory_follows_writes_and_deletes():
    srv, ex = make()
    base = eviction.used_memory(srv)
    for i in range(1000):
        ex("SET", f"key:{i}", "x" * 100)
    grown = eviction.used_memory(srv)
    assert grown - base > 1000 * 150
    ex("LPUSH", "list", *["e" * 50] * 1000)
    assert eviction.used_memory(srv) - grown > 1000 * 50
    ex("FLUSHALL")
    assert eviction.used_memory(srv) - base < 1000  # the empty tables again


def test_info_memory_and_memory_stats_use_the_model():
    srv, ex = make()
    for i in range(100):
        ex("SET", f"key:{i}", "x" * 100)
    info = ex("INFO", "memory")
    fields = dict(line.split(":", 1) for line in info.decode().split("\r\n")
                  if ":" in line)
    used = int(fields["used_memory"])
    assert abs(used - eviction.used_memory(srv)) < 100
    assert int(fields["used_memory_rss"]) > used  # the interpreter is not in used_memory
    assert int(fields["used_memory_peak"]) >= used
    assert fields["maxmemory_policy"] == "noeviction"
    for name in ("used_memory_dataset", "used_memory_overhead", "mem_fragmentation_ratio",
                 "mem_not_counted_for_evict", "lazyfree_pending_objects", "lazyfreed_objects"):
        assert name in fields
    stats = ex("MEMORY", "STATS")
    assert stats[b"keys.count"] == 100
    assert abs(stats[b"total.allocated"] - used) < 100


@pytest.mark.parametrize("workload", ["strings", "hashes"])
def test_used_memory_growth_is_within_15_percent_of_rss_growth(workload):
    """A scaled-down run of benchmarks/memory_model.py (docs/memory.md has the full one)."""
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "memory_model.py"), f"--one={workload}"],
        capture_output=True, text=True, timeout=300, check=True, cwd=ROOT,
    )
    r = json.loads(out.stdout.strip().splitlines()[-1])
    assert abs(r["error_pct"]) <= 15, r

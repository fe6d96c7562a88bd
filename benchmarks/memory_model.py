#!/usr/bin/env python3
"""How far used_memory's growth is from the process's RSS growth, per workload.

Each workload runs in a fresh process: a Server (the sans-I/O core, no sockets) is filled
through ``Server.execute`` exactly as clients would fill it, and the growth of INFO's
``used_memory`` is compared with the growth of the resident set (``/proc/self/statm``).
docs/memory.md quotes the table.

    python benchmarks/memory_model.py              # the four workloads of docs/memory.md
    python benchmarks/memory_model.py strings      # one of them
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

WORKLOADS = {
    "strings": "1M small strings (SET key:<i> value:<i>)",
    "hashes": "100k hashes of 10 fields (HSET h:<i> f0 v0 .. f9 v9)",
    "zsets": "100k sorted sets of 20 members (ZADD z:<i> <s> m0 .. m19)",
    "list": "1 list of 1M elements (RPUSH, 100 per call)",
    "bigvalues": "50k strings of 1 KB",
}


def rss() -> int:
    with open("/proc/self/statm", "rb") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def commands(name: str):
    if name == "strings":
        for i in range(1_000_000):
            yield [b"SET", b"key:%d" % i, b"value:%d" % i]
    elif name == "hashes":
        for i in range(100_000):
            argv = [b"HSET", b"h:%d" % i]
            for f in range(10):
                argv += [b"field%d" % f, b"value:%d:%d" % (i, f)]
            yield argv
    elif name == "zsets":
        for i in range(100_000):
            argv = [b"ZADD", b"z:%d" % i]
            for m in range(20):
                argv += [b"%d" % (i * 7 + m), b"member:%d" % m]
            yield argv
    elif name == "list":
        for i in range(10_000):
            yield [b"RPUSH", b"biglist"] + [b"element:%d" % (i * 100 + j) for j in range(100)]
    elif name == "bigvalues":
        for i in range(50_000):
            yield [b"SET", b"big:%d" % i, os.urandom(512).hex().encode()]


def measure(name: str) -> dict:
    """Run one workload in this process: (used_memory growth, RSS growth)."""
    import trioredis  # noqa: F401  (fills the command table)
    from trioredis import eviction
    from trioredis.core import Server

    srv = Server()
    c = srv.new_client()
    gc.collect()
    used0, rss0 = eviction.used_memory(srv), rss()
    for argv in commands(name):
        srv.execute(c, argv)
    gc.collect()
    used1, rss1 = eviction.used_memory(srv), rss()
    du, dr = used1 - used0, rss1 - rss0
    return {"workload": name, "used_growth": du, "rss_growth": dr,
            "error_pct": round((du - dr) * 100 / dr, 1) if dr else None}


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[1].startswith("--one="):
        print(json.dumps(measure(argv[1][6:])))
        return 0
    names = argv[1:] or list(WORKLOADS)
    print(f"{'workload':55s} {'used_memory +':>14s} {'RSS +':>14s} {'error':>7s}")
    for name in names:
        out = subprocess.run([sys.executable, __file__, f"--one={name}"], capture_output=True,
                             text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{WORKLOADS[name]:55s} {r['used_growth']:>14,d} {r['rss_growth']:>14,d} "
              f"{r['error_pct']:>+6.1f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

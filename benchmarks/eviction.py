#!/usr/bin/env python3
"""A cache under maxmemory: trioredis against a real redis-server, the same trace on each.

The trace: keys drawn from 1,000,000 distinct names with a Zipf(0.99) popularity; each request
is a GET, and a miss is followed by a SET of a 1 KB value (a cache filled on demand). Both
servers run with ``maxmemory 64mb`` under each policy (allkeys-lru, allkeys-lfu). Requests go
in pipelined batches (the GETs of a batch, then the SETs of its misses), the same batches for
both servers. A sampler polls INFO memory and the process's RSS every 250 ms.

Prints, per server and policy: the hit ratio, requests/s, the highest ``used_memory`` after the
first second as a share of maxmemory, and RSS at 50% and at the end of the run (flat once
full). docs/memory.md quotes a run.

    python benchmarks/eviction.py                 # 400,000 requests per run
    python benchmarks/eviction.py -n 1000000 --policies allkeys-lru
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time

import numpy as np
import redis

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import Target, free_port, pinned, rss_bytes  # noqa: E402

KEYS = 1_000_000
VALUE = b"v" * 1024
BATCH = 100


def zipf_trace(n: int, keys: int, s: float, seed: int) -> np.ndarray:
    """``n`` key ranks in [0, keys), rank k drawn with probability proportional to 1/(k+1)^s
    (a permutation spreads the hot ranks over the key names)."""
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, keys + 1, dtype=np.float64) ** s
    cdf = np.cumsum(weights)
    cdf /= cdf[-1]
    ranks = np.searchsorted(cdf, rng.random(n))
    return rng.permutation(keys)[ranks]


class Sampler(threading.Thread):
    """used_memory and RSS every 250 ms, with the time since the run started."""

    def __init__(self, port: int, pid: int):
        super().__init__(daemon=True)
        self.client = redis.Redis(port=port)
        self.pid = pid
        self.samples: list[tuple[float, int, int]] = []
        self.stop = threading.Event()
        self.t0 = time.monotonic()

    def run(self) -> None:
        while not self.stop.is_set():
            used = self.client.info("memory")["used_memory"]
            self.samples.append((time.monotonic() - self.t0, used, rss_bytes(self.pid)))
            self.stop.wait(0.25)


def run(target: Target, policy: str, trace: np.ndarray, maxmemory: int) -> dict:
    r = redis.Redis(port=target.port)
    r.flushall()
    r.config_set("maxmemory-policy", policy)
    r.config_set("maxmemory", maxmemory)
    r.config_set("maxmemory-samples", 5)
    names = [b"key:%d" % i for i in range(KEYS)]
    sampler = Sampler(target.port, target.pid)
    sampler.start()
    hits = requests = 0
    started = time.monotonic()
    for i in range(0, len(trace), BATCH):
        keys = [names[k] for k in trace[i:i + BATCH]]
        p = r.pipeline(transaction=False)
        for k in keys:
            p.get(k)
        got = p.execute()
        p = r.pipeline(transaction=False)
        misses = 0
        for k, v in zip(keys, got, strict=True):
            if v is None:
                p.set(k, VALUE)
                misses += 1
        if misses:
            p.execute()
        hits += len(keys) - misses
        requests += len(keys) + misses
    elapsed = time.monotonic() - started
    sampler.stop.set()
    sampler.join()
    info = r.info()
    after_first = [u for t, u, _ in sampler.samples if t >= 1.0] or [info["used_memory"]]
    rss = [x for _, _, x in sampler.samples]
    return {
        "hit_ratio": hits / len(trace),
        "rps": requests / elapsed,
        "max_used_pct": max(after_first) * 100 / maxmemory,
        "rss_mid": rss[len(rss) // 2] if rss else 0,
        "rss_end": rss_bytes(target.pid),
        "evicted": info["evicted_keys"],
        "keys": r.dbsize(),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=400_000, help="requests (GETs) per run")
    ap.add_argument("--maxmemory", default="64mb")
    ap.add_argument("--policies", default="allkeys-lru,allkeys-lfu")
    ap.add_argument("--zipf", type=float, default=0.99)
    ap.add_argument("--cpu", type=int, default=0, help="CPU to pin the servers to (-1: none)")
    a = ap.parse_args()
    units = {"kb": 1024, "mb": 1024 ** 2, "gb": 1024 ** 3}
    mm = a.maxmemory.lower()
    maxmemory = int(mm[:-2]) * units[mm[-2:]] if mm[-2:] in units else int(mm)
    trace = zipf_trace(a.n, KEYS, a.zipf, seed=1)
    cpu = None if a.cpu < 0 else a.cpu
    workdir = tempfile.mkdtemp(prefix="eviction-bench-")
    print(f"{a.n:,} GETs over {KEYS:,} keys, Zipf({a.zipf}), 1 KB values, "
          f"maxmemory {a.maxmemory}")
    print(f"{'server':10s} {'policy':12s} {'hit %':>6s} {'req/s':>8s} {'max used':>9s} "
          f"{'RSS mid':>9s} {'RSS end':>9s} {'evicted':>8s} {'keys':>7s}")
    results = {}
    for policy in a.policies.split(","):
        for name in ("trioredis", "redis"):
            port = free_port()
            if name == "trioredis":
                cmd = [sys.executable, "-m", "trioredis", "server", "--port", str(port),
                       "--save", "", "--appendonly", "no", "--dir", workdir,
                       "--loglevel", "warning"]
            else:
                cmd = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save",
                       "", "--appendonly", "no", "--dir", workdir, "--loglevel", "warning"]
            t = Target(name, pinned(cmd, cpu), port)
            try:
                res = results[name, policy] = run(t, policy, trace, maxmemory)
            finally:
                t.stop()
            print(f"{name:10s} {policy:12s} {res['hit_ratio'] * 100:6.2f} {res['rps']:8.0f} "
                  f"{res['max_used_pct']:8.1f}% {res['rss_mid'] / 2**20:8.1f}M "
                  f"{res['rss_end'] / 2**20:8.1f}M {res['evicted']:8d} {res['keys']:7d}")
    for policy in a.policies.split(","):
        t, r = results["trioredis", policy], results["redis", policy]
        print(f"{policy}: hit ratio {(t['hit_ratio'] - r['hit_ratio']) * 100:+.2f} points, "
              f"throughput {t['rps'] / r['rps']:.2f}x Redis's")
    return 0


if __name__ == "__main__":
    sys.exit(main())

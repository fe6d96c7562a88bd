#!/usr/bin/env python3
"""Replication cost: SET throughput with 0, 1 and 3 replicas, and SET+WAIT round trips.

For trioredis (master and replicas are `python -m trioredis server` processes) and for a real
redis-server 7.0 master with real replicas, in the same run:

- `redis-benchmark -t set -c 50 -P 16` against the master with 0, 1 and 3 replicas attached;
  the table shows requests/s and the cost of the replicas (target: 3 replicas cost trioredis
  at most 30 % of its throughput). The master has CPU 0; the replicas share CPU 1 with
  redis-benchmark at `nice 10` (``--replica-nice``), so they do not starve the load generator;
- the p50/p99 of a `SET` followed by `WAIT 1 0` from one client, with one replica.

    python benchmarks/replication_bench.py [-n 200000] [--rounds 2000]
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time

import redis

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import free_port, pinned, wait_port  # noqa: E402


def start(kind: str, port: int, workdir: str, master: int | None, cpu: int | None,
          nice: int = 0):
    d = tempfile.mkdtemp(dir=workdir)
    if kind == "trioredis":
        cmd = [sys.executable, "-m", "trioredis", "server", "--port", str(port), "--dir", d,
               "--save", "", "--loglevel", "warning"]
        if master:
            cmd += ["--replicaof", f"127.0.0.1 {master}"]
    else:
        cmd = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", d,
               "--save", "", "--appendonly", "no", "--loglevel", "warning"]
        if master:
            cmd += ["--replicaof", "127.0.0.1", str(master)]
    if master and nice:
        # Replicas share CPU 1 with the load generator (two cores): at a lower priority they
        # do not starve it, so the table shows what replicas cost the master itself.
        cmd = ["nice", "-n", str(nice), *cmd]
    proc = subprocess.Popen(pinned(cmd, cpu), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    wait_port(port)
    return proc


def wait_linked(master_port: int, n: int, timeout: float = 60) -> None:
    r = redis.Redis(port=master_port, protocol=2)
    deadline = time.monotonic() + timeout
    while True:
        info = r.info("replication")
        online = sum(1 for k, v in info.items()
                     if k.startswith("slave") and isinstance(v, dict) and v.get("state") == "online")
        if online >= n:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {online} of {n} replicas online")
        time.sleep(0.1)


def set_rps(port: int, requests: int, bench_cpu: int | None) -> float:
    cmd = pinned(["redis-benchmark", "-p", str(port), "-t", "set", "-c", "50", "-P", "16",
                  "-n", str(requests), "-r", "100000", "--csv", "-q"], bench_cpu)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600).stdout
    for row in csv.reader(io.StringIO(out)):
        if row and row[0] == "SET":
            return float(row[1])
    raise RuntimeError(f"no SET result: {out!r}")


def wait_latency(port: int, rounds: int) -> tuple[float, float]:
    r = redis.Redis(port=port, protocol=2)
    times = []
    for i in range(rounds):
        t = time.perf_counter()
        r.set(f"w{i % 1000}", i)
        if r.wait(1, 0) < 1:
            raise RuntimeError("WAIT 1 0 returned 0")
        times.append(time.perf_counter() - t)
    times.sort()
    return times[len(times) // 2] * 1e3, times[int(len(times) * 0.99)] * 1e3


def measure(kind: str, requests: int, rounds: int, workdir: str, cpus, nice: int) -> dict:
    """Throughput with 0, 1, 3 replicas; WAIT latency with 1. Replicas run on the bench CPU's
    neighbour (CPU 1) so the master keeps CPU 0 to itself."""
    server_cpu, other_cpu = cpus
    mport = free_port()
    procs = [start(kind, mport, workdir, None, server_cpu)]
    res: dict = {}
    try:
        res[0] = set_rps(mport, requests, other_cpu)
        for want in (1, 3):
            while len(procs) - 1 < want:
                procs.append(start(kind, free_port(), workdir, mport, other_cpu, nice))
            wait_linked(mport, want)
            if want == 1:
                res["wait"] = wait_latency(mport, rounds)
            res[want] = set_rps(mport, requests, other_cpu)
    finally:
        for p in procs:
            p.kill()
            p.wait()
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", "--requests", type=int, default=200_000)
    ap.add_argument("--rounds", type=int, default=2000)
    ap.add_argument("--replica-nice", type=int, default=10,
                    help="nice level of the replicas, which share a CPU with redis-benchmark "
                         "(0: same priority)")
    args = ap.parse_args()
    cpus = (0, 1) if (os.cpu_count() or 1) >= 2 else (None, None)
    workdir = tempfile.mkdtemp(prefix="trioredis-repl-bench-")
    try:
        results = {k: measure(k, args.requests, args.rounds, workdir, cpus, args.replica_nice)
                   for k in ("trioredis", "redis")}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print("| server | 0 replicas | 1 replica | 3 replicas | 3-replica cost | "
          "SET+WAIT 1 0 p50 | p99 |")
    print("|---|---|---|---|---|---|---|")
    for kind, r in results.items():
        cost = 1 - r[3] / r[0]
        p50, p99 = r["wait"]
        print(f"| {kind} | {r[0]:,.0f} | {r[1]:,.0f} | {r[3]:,.0f} | {cost:.0%} | "
              f"{p50:.2f} ms | {p99:.2f} ms |")
    t, rr = results["trioredis"], results["redis"]
    print(f"\nratio trioredis/redis with 3 replicas: {t[3] / rr[3]:.2f}")


if __name__ == "__main__":
    main()

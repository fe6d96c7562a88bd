#!/usr/bin/env python3
"""Scripting throughput beside Redis: EVALSHA of ``return redis.call('INCR', KEYS[1])`` at
-c 50 -P 1 and -P 16, and EVALSHA of a script that runs 100 commands (50 INCR + 50 GET).

A fresh trioredis and a fresh redis-server (pinned to CPU 0, redis-benchmark on CPU 1 where
there are two) get the same SCRIPT LOADs and the same redis-benchmark loads (random keys out
of 100 000). The table gives requests/s, server CPU µs per request, and trioredis/redis.

    python benchmarks/scripting_bench.py            # -n 100000 (the 100-command script: n/10)
    python benchmarks/scripting_bench.py --quick    # a smoke run
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import run_benchmark, start_servers  # noqa: E402

INCR = "return redis.call('INCR', KEYS[1])"
HUNDRED = ("local n = 0 for i = 1, 50 do n = n + redis.call('INCR', KEYS[1]) "
           "redis.call('GET', KEYS[1]) end return n")
SCENARIOS = [("INCR script", INCR, 50, 1, 1), ("INCR script", INCR, 50, 16, 1),
             ("100-command script", HUNDRED, 50, 1, 10)]


def script_load(port: int, body: str) -> str:
    out = subprocess.run(["redis-cli", "-p", str(port), "SCRIPT", "LOAD", body],
                         capture_output=True, text=True, timeout=30)
    sha = out.stdout.strip()
    if len(sha) != 40:
        sys.exit(f"SCRIPT LOAD failed on port {port}: {out.stdout} {out.stderr}")
    return sha


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", "--requests", type=int, default=100_000)
    ap.add_argument("--quick", action="store_true", help="fewer requests (a smoke run)")
    args = ap.parse_args()
    if not shutil.which("redis-benchmark"):
        sys.exit("redis-benchmark not found: apt-get install redis-tools")
    two = (os.cpu_count() or 1) >= 2
    server_cpu, bench_cpu = (0, 1) if two else (None, None)
    requests = 10_000 if args.quick else args.requests
    workdir = tempfile.mkdtemp(prefix="trioredis-scriptbench-")
    t, r = start_servers(server_cpu, workdir)
    try:
        print("| script | load | trioredis req/s | redis req/s | ratio | trioredis CPU µs/req "
              "| redis CPU µs/req |")
        print("|---|---|---|---|---|---|---|")
        for label, body, clients, pipeline, divisor in SCENARIOS:
            res = {}
            for target in (t, r):
                sha = script_load(target.port, body)
                test = f"EVALSHA {sha} 1 key:__rand_int__"
                res[target.name] = run_benchmark(target, [test], clients, pipeline,
                                                 max(requests // divisor, 1000), bench_cpu)[test]
            (trps, tcpu), (rrps, rcpu) = res["trioredis"], res["redis"]
            print(f"| {label} | -c {clients} -P {pipeline} | {trps:,.0f} | {rrps:,.0f} | "
                  f"{trps / rrps:.2f} | {tcpu:.1f} | {rcpu:.1f} |")
    finally:
        t.stop()
        r.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()

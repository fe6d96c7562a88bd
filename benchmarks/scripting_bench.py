#!/usr/bin/env python3
"""Scripting throughput beside Redis: EVALSHA of ``return redis.call('INCR', KEYS[1])`` at
-c 50 -P 1 and -P 16, and EVALSHA of a script that runs 100 commands (50 INCR + 50 GET).

A fresh trioredis and a fresh redis-server (pinned to CPU 0, redis-benchmark on CPU 1 where
there are two) get the same SCRIPT LOADs and the same redis-benchmark loads (random keys out
of 100 000). The table gives requests/s, server CPU µs per request, and trioredis/redis.

    python benchmarks/scripting_bench.py            # -n 100000 (the 100-command script: n/10)
    python benchmarks/scripting_bench.py --quick    # a smoke run
    python benchmarks/scripting_bench.py --runs 3 --port 24500   # medians of 3, fixed ports
    python benchmarks/scripting_bench.py --in-process   # µs per request via Server.execute

Each run starts fresh servers; with ``--runs`` > 1 every run's ratio is printed, then the
medians (a shared machine swings by ±30 % from one run to the next).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import Target, pinned, run_benchmark, start_servers  # noqa: E402

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


def start_on(port: int, server_cpu, workdir: str) -> tuple[Target, Target]:
    """trioredis on ``port`` and redis-server on ``port + 1`` (a range kept for this run)."""
    trio_cmd = [sys.executable, "-m", "trioredis", "server", "--port", str(port), "--save", "",
                "--appendonly", "no", "--dir", workdir, "--loglevel", "warning"]
    redis_cmd = ["redis-server", "--port", str(port + 1), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", workdir, "--loglevel", "warning"]
    return (Target("trioredis", pinned(trio_cmd, server_cpu), port),
            Target("redis", pinned(redis_cmd, server_cpu), port + 1))


def one_run(port, server_cpu, bench_cpu, requests: int) -> list[tuple]:
    """[(label, load, trioredis rps, redis rps, trioredis µs/req, redis µs/req)]"""
    workdir = tempfile.mkdtemp(prefix="trioredis-scriptbench-")
    if port:
        t, r = start_on(port, server_cpu, workdir)
    else:
        t, r = start_servers(server_cpu, workdir)
    rows = []
    try:
        for label, body, clients, pipeline, divisor in SCENARIOS:
            res = {}
            for target in (t, r):
                sha = script_load(target.port, body)
                test = f"EVALSHA {sha} 1 key:__rand_int__"
                res[target.name] = run_benchmark(target, [test], clients, pipeline,
                                                 max(requests // divisor, 1000), bench_cpu)[test]
            (trps, tcpu), (rrps, rcpu) = res["trioredis"], res["redis"]
            rows.append((label, f"-c {clients} -P {pipeline}", trps, rrps, tcpu, rcpu))
    finally:
        t.stop()
        r.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return rows


def in_process(rounds: int = 7) -> None:
    """µs of CPU per request through ``Server.execute`` (no sockets): INCR, EVALSHA of the
    INCR script, and of the 100-command script; the best of ``rounds`` (a shared machine
    only ever slows a round down)."""
    import time

    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from trioredis.core import Server

    srv = Server()
    c = srv.new_client()

    def load(body: str) -> bytes:
        return srv.execute(c, [b"SCRIPT", b"LOAD", body.encode()])

    cases = [("INCR", [b"INCR", b"key"], 20_000),
             ("EVALSHA INCR script", [b"EVALSHA", load(INCR), b"1", b"key"], 5_000),
             ("EVALSHA 100-command script", [b"EVALSHA", load(HUNDRED), b"1", b"key"], 300)]
    print("| request (in process) | µs CPU |")
    print("|---|---|")
    for label, argv, n in cases:
        for _ in range(n // 10):
            srv.execute(c, argv)
        best = float("inf")
        for _ in range(rounds):
            t = time.process_time()
            for _ in range(n):
                srv.execute(c, argv)
            best = min(best, (time.process_time() - t) / n * 1e6)
        print(f"| {label} | {best:.2f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", "--requests", type=int, default=100_000)
    ap.add_argument("--quick", action="store_true", help="fewer requests (a smoke run)")
    ap.add_argument("--runs", type=int, default=1, help="runs (fresh servers each); medians")
    ap.add_argument("--port", type=int, default=0,
                    help="trioredis on PORT, redis on PORT+1 (default: free ports)")
    ap.add_argument("--in-process", action="store_true",
                    help="µs of CPU per request through Server.execute, no sockets")
    args = ap.parse_args()
    if args.in_process:
        in_process()
        return
    if not shutil.which("redis-benchmark"):
        sys.exit("redis-benchmark not found: apt-get install redis-tools")
    two = (os.cpu_count() or 1) >= 2
    server_cpu, bench_cpu = (0, 1) if two else (None, None)
    requests = 10_000 if args.quick else args.requests
    runs = [one_run(args.port, server_cpu, bench_cpu, requests) for _ in range(args.runs)]
    print("| script | load | trioredis req/s | redis req/s | ratio | trioredis CPU µs/req "
          "| redis CPU µs/req |")
    print("|---|---|---|---|---|---|---|")
    for i, (label, load, *_rest) in enumerate(runs[0]):
        rows = [run[i] for run in runs]
        ratios = [row[2] / row[3] for row in rows]
        med = statistics.median
        each = f" (runs: {', '.join(f'{x:.2f}' for x in ratios)})" if len(rows) > 1 else ""
        print(f"| {label} | {load} | {med(r[2] for r in rows):,.0f} | "
              f"{med(r[3] for r in rows):,.0f} | {med(ratios):.2f}{each} | "
              f"{med(r[4] for r in rows):.1f} | {med(r[5] for r in rows):.1f} |")


if __name__ == "__main__":
    main()

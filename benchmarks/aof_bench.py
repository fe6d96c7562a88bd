#!/usr/bin/env python3
"""SET throughput with the append-only file: off, appendfsync everysec, appendfsync always.

Each mode starts a fresh trioredis and a fresh real redis-server with the same settings (both
pinned to CPU 0, redis-benchmark on CPU 1 where there are two) and runs the same SET load
against both in turn. The table gives requests/s, the ratio trioredis/redis, and what the AOF
costs each server against its own ``appendonly no`` run.

    python benchmarks/aof_bench.py              # -n 100000
    python benchmarks/aof_bench.py --quick       # a smoke run
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import Target, free_port, pinned  # noqa: E402

MODES = {
    "off": ("--appendonly", "no"),
    "everysec": ("--appendonly", "yes", "--appendfsync", "everysec"),
    "always": ("--appendonly", "yes", "--appendfsync", "always"),
}
SCENARIOS = [(50, 1), (50, 16), (1, 1)]


def set_rps(port: int, clients: int, pipeline: int, requests: int, cpu) -> float | None:
    """redis-benchmark SET on random keys: requests per second (None if it failed)."""
    cmd = pinned(["redis-benchmark", "-p", str(port), "-t", "set", "-c", str(clients), "-P",
                  str(pipeline), "-n", str(requests), "-r", "100000", "--csv", "-q"], cpu)
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    for row in csv.reader(io.StringIO(res.stdout)):
        if row and row[0] == "SET":
            return float(row[1])
    return None


def start(name: str, mode: str, cpu, workdir: str) -> Target:
    port = free_port()
    d = tempfile.mkdtemp(prefix=f"{name}-{mode}-", dir=workdir)
    common = ["--port", str(port), "--save", "", "--dir", d, "--loglevel", "warning",
              *MODES[mode]]
    if name == "trioredis":
        cmd = [sys.executable, "-m", "trioredis", "server", *common]
    else:
        cmd = ["redis-server", "--bind", "127.0.0.1", *common]
    return Target(name, pinned(cmd, cpu), port)


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
    workdir = tempfile.mkdtemp(prefix="trioredis-aofbench-")
    results: dict[tuple, float] = {}
    try:
        for mode in MODES:
            for clients, pipeline in SCENARIOS:
                n = requests
                if mode == "always" and pipeline == 1:
                    n = max(requests // 5, 2000)  # one fsync per reply batch: slow by design
                for name in ("trioredis", "redis"):
                    rps = None
                    for _attempt in range(3):  # redis-benchmark gives no row when it fails
                        target = start(name, mode, server_cpu, workdir)
                        try:
                            rps = set_rps(target.port, clients, pipeline, n, bench_cpu)
                        finally:
                            target.stop()
                        if rps is not None:
                            break
                        print(f"({name} {mode} -c {clients} -P {pipeline}: no result, again)",
                              file=sys.stderr)
                    results[(name, mode, clients, pipeline)] = rps or float("nan")
        head = ("appendonly / appendfsync", "load", "trioredis SET/s", "redis SET/s",
                "ratio", "trioredis vs its off", "redis vs its off")
        print(f"| {' | '.join(head)} |")
        print("|" + "---|" * len(head))
        for mode in MODES:
            label = "no" if mode == "off" else f"yes / {mode}"
            for clients, pipeline in SCENARIOS:
                t = results[("trioredis", mode, clients, pipeline)]
                r = results[("redis", mode, clients, pipeline)]
                t0 = results[("trioredis", "off", clients, pipeline)]
                r0 = results[("redis", "off", clients, pipeline)]
                print(f"| {label} | -c {clients} -P {pipeline} | {t:,.0f} | {r:,.0f} | "
                      f"{t / r:.2f} | {t / t0:.2f} | {r / r0:.2f} |")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()

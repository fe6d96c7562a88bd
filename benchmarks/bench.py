#!/usr/bin/env python3
"""trioredis against a real redis-server, side by side, with redis-benchmark.

Both servers run on free loopback ports, pinned to CPU 0; redis-benchmark runs on CPU 1 (where
there are two). Each scenario runs against both servers in alternation, and the table prints
requests/s, server CPU microseconds per request (from /proc/<pid>/stat), and the ratios
trioredis/redis. ``--memory`` also loads 1,000,000 small keys into each and compares resident
memory per key.

    python benchmarks/bench.py                     # the foundation's table
    python benchmarks/bench.py -t lpush,zadd -n 200000
    python benchmarks/bench.py -t none --cmd "ZRANGE myzset 0 9" --cmd "XADD s * f v"
    python benchmarks/bench.py --memory
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * PAGE


def pinned(cmd: list[str], cpu: int | None) -> list[str]:
    if cpu is not None and shutil.which("taskset"):
        return ["taskset", "-c", str(cpu), *cmd]
    return cmd


class Target:
    def __init__(self, name: str, cmd: list[str], port: int):
        self.name = name
        self.port = port
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(port)
        self.pid = self.proc.pid

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def start_servers(server_cpu: int | None, workdir: str) -> tuple[Target, Target]:
    tport, rport = free_port(), free_port()
    trio_cmd = [sys.executable, "-m", "trioredis", "server", "--port", str(tport), "--save", "",
                "--appendonly", "no", "--dir", workdir, "--loglevel", "warning"]
    redis_cmd = ["redis-server", "--port", str(rport), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", workdir, "--loglevel", "warning"]
    return (Target("trioredis", pinned(trio_cmd, server_cpu), tport),
            Target("redis", pinned(redis_cmd, server_cpu), rport))


def run_benchmark(target: Target, tests: str, clients: int, pipeline: int, requests: int,
                  bench_cpu: int | None) -> dict[str, tuple[float, float]]:
    """{test: (requests per second, server CPU µs per request)}"""
    out: dict[str, tuple[float, float]] = {}
    for test in tests:
        base = ["redis-benchmark", "-p", str(target.port), "-c", str(clients), "-P",
                str(pipeline), "-n", str(requests), "-r", "100000", "--csv", "-q"]
        if " " in test:  # a custom command line
            cmd = pinned(base + test.split(), bench_cpu)
        else:
            cmd = pinned(base + ["-t", test], bench_cpu)
        before = cpu_seconds(target.pid)
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        used = cpu_seconds(target.pid) - before
        rows = [row for row in csv.reader(io.StringIO(res.stdout)) if row and row[0] != "test"]
        # One -t name can run several tests (ping: inline and multibulk): share the CPU out.
        per_req = used / (requests * len(rows)) * 1e6 if rows else 0.0
        for row in rows:
            out[test if " " in test else row[0]] = (float(row[1]), per_req)
    return out


def scenario_table(t: Target, r: Target, tests: str, requests: int, bench_cpu, scenarios):
    rows = []
    for clients, pipeline in scenarios:
        a = run_benchmark(t, tests, clients, pipeline, requests, bench_cpu)
        b = run_benchmark(r, tests, clients, pipeline, requests, bench_cpu)
        for name in a:
            if name not in b:
                continue
            (trps, tcpu), (rrps, rcpu) = a[name], b[name]
            rows.append((f"{name} -c {clients} -P {pipeline}", trps, rrps, trps / rrps,
                         tcpu, rcpu, tcpu / rcpu if rcpu else 0.0))
    return rows


def print_rows(rows) -> None:
    head = ("test", "trioredis rps", "redis rps", "ratio", "trio µs/req", "redis µs/req", "cpu x")
    print(f"| {' | '.join(head)} |")
    print("|" + "---|" * len(head))
    for name, trps, rrps, ratio, tcpu, rcpu, cx in rows:
        print(f"| {name} | {trps:,.0f} | {rrps:,.0f} | {ratio:.2f} | {tcpu:.1f} | {rcpu:.1f} | {cx:.1f} |")


def memory_per_key(t: Target, r: Target, keys: int) -> None:
    """Load ``keys`` small string keys through redis-cli --pipe; compare RSS growth per key."""
    payload = "".join(
        f"*3\r\n$3\r\nSET\r\n${len(k)}\r\n{k}\r\n$3\r\nxxx\r\n"
        for k in (f"key:{i:08d}" for i in range(keys))
    ).encode()
    print("| server | RSS before | RSS after | bytes/key |")
    print("|---|---|---|---|")
    results = {}
    for target in (t, r):
        before = rss_bytes(target.pid)
        subprocess.run(["redis-cli", "-p", str(target.port), "--pipe"], input=payload,
                       capture_output=True, timeout=600, check=True)
        after = rss_bytes(target.pid)
        per = (after - before) / keys
        results[target.name] = per
        print(f"| {target.name} | {before / 2**20:.1f} MiB | {after / 2**20:.1f} MiB | {per:.1f} |")
    print(f"\nratio trioredis/redis: {results['trioredis'] / results['redis']:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-t", "--tests", default="ping,set,get,incr",
                    help="redis-benchmark -t names, comma-separated ('none' for only --cmd)")
    ap.add_argument("--cmd", action="append", default=[],
                    help="a custom command, e.g. 'ZRANGE myzset 0 9' (repeatable)")
    ap.add_argument("--scenarios", default="50:1,50:16,1:1",
                    help="clients:pipeline pairs (default 50:1,50:16,1:1)")
    ap.add_argument("-n", "--requests", type=int, default=200_000)
    ap.add_argument("--memory", action="store_true", help="also measure memory per key")
    ap.add_argument("--keys", type=int, default=1_000_000)
    ap.add_argument("--quick", action="store_true", help="fewer requests (a smoke run)")
    args = ap.parse_args()
    if not shutil.which("redis-benchmark"):
        sys.exit("redis-benchmark not found: apt-get install redis-tools")
    two = (os.cpu_count() or 1) >= 2
    server_cpu, bench_cpu = (0, 1) if two else (None, None)
    requests = 20_000 if args.quick else args.requests
    workdir = tempfile.mkdtemp(prefix="trioredis-bench-")
    t, r = start_servers(server_cpu, workdir)
    try:
        scenarios = [tuple(int(x) for x in sc.split(":")) for sc in args.scenarios.split(",")]
        tests = [x for x in args.tests.split(",") if x and x != "none"] + args.cmd
        print_rows(scenario_table(t, r, tests, requests, bench_cpu, scenarios))
        if args.memory:
            print()
            memory_per_key(t, r, args.keys)
    finally:
        t.stop()
        r.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()

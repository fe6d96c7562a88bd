#!/usr/bin/env python3
"""What TLS costs: redis-benchmark over plain TCP and over TLS (``--tls``), against trioredis
and against redis-server, each serving both ports at once (certificates made with trustme).

For every scenario the table gives requests/s and server CPU µs per request on each port, and
the TLS/plain ratio of CPU per request for each server: the cost of TLS on the hot path, side
by side with Redis's own.

    python benchmarks/tls_bench.py
    python benchmarks/tls_bench.py -t get,set --scenarios 50:1,50:16 -n 100000
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

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def pinned(cmd: list[str], cpu: int | None) -> list[str]:
    return ["taskset", "-c", str(cpu), *cmd] if cpu is not None and shutil.which("taskset") else cmd


def make_certs(d: str) -> dict:
    import trustme

    ca = trustme.CA()
    pair = ca.issue_cert("localhost", "127.0.0.1")
    paths = {"ca": os.path.join(d, "ca.crt"), "cert": os.path.join(d, "server.crt"),
             "key": os.path.join(d, "server.key")}
    ca.cert_pem.write_to_path(paths["ca"])
    pair.cert_chain_pems[0].write_to_path(paths["cert"])
    pair.private_key_pem.write_to_path(paths["key"])
    return paths


class Target:
    def __init__(self, name: str, certs: dict, workdir: str, cpu: int | None):
        self.name = name
        self.port, self.tls_port = free_port(), free_port()
        args = ["--port", str(self.port), "--tls-port", str(self.tls_port), "--save", "",
                "--appendonly", "no", "--dir", workdir, "--loglevel", "warning",
                "--tls-cert-file", certs["cert"], "--tls-key-file", certs["key"],
                "--tls-ca-cert-file", certs["ca"], "--tls-auth-clients", "no"]
        if name == "redis":
            cmd = ["redis-server", "--bind", "127.0.0.1", *args]
        else:
            cmd = [sys.executable, "-m", "trioredis", "server", *args]
        env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
        self.proc = subprocess.Popen(pinned(cmd, cpu), cwd=workdir, env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                socket.create_connection(("127.0.0.1", self.tls_port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def bench(t: Target, tls: bool, certs: dict, test: str, clients: int, pipeline: int,
          requests: int, cpu: int | None) -> tuple[float, float]:
    port = t.tls_port if tls else t.port
    cmd = ["redis-benchmark", "-p", str(port), "-c", str(clients), "-P", str(pipeline),
           "-n", str(requests), "-r", "100000", "--csv", "-q", "-t", test]
    if tls:
        cmd += ["--tls", "--cacert", certs["ca"]]
    before = cpu_seconds(t.proc.pid)
    res = subprocess.run(pinned(cmd, cpu), capture_output=True, text=True, timeout=900)
    used = cpu_seconds(t.proc.pid) - before
    rows = [r for r in csv.reader(io.StringIO(res.stdout)) if r and r[0] != "test"]
    if not rows:
        raise RuntimeError(f"redis-benchmark gave no result: {res.stderr[-300:]}")
    return float(rows[0][1]), used / (requests * len(rows)) * 1e6


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-t", "--tests", default="get,set")
    ap.add_argument("--scenarios", default="50:1,50:16")
    ap.add_argument("-n", "--requests", type=int, default=100_000)
    args = ap.parse_args()
    two = (os.cpu_count() or 1) >= 2
    server_cpu, bench_cpu = (0, 1) if two else (None, None)
    workdir = tempfile.mkdtemp(prefix="tls-bench-")
    certs = make_certs(workdir)
    targets = [Target("trioredis", certs, workdir, server_cpu),
               Target("redis", certs, workdir, server_cpu)]
    print("| test | server | plain rps | TLS rps | plain µs/req | TLS µs/req | TLS cpu x |")
    print("|---|---|---|---|---|---|---|")
    try:
        for sc in args.scenarios.split(","):
            clients, pipeline = (int(x) for x in sc.split(":"))
            for test in args.tests.split(","):
                for t in targets:
                    prps, pcpu = bench(t, False, certs, test, clients, pipeline, args.requests,
                                       bench_cpu)
                    trps, tcpu = bench(t, True, certs, test, clients, pipeline, args.requests,
                                       bench_cpu)
                    print(f"| {test} -c {clients} -P {pipeline} | {t.name} | {prps:,.0f} | "
                          f"{trps:,.0f} | {pcpu:.1f} | {tcpu:.1f} | {tcpu / pcpu:.2f} |",
                          flush=True)
    finally:
        for t in targets:
            t.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""The long run of the protocol fuzzer (tests/test_hostile_protocol.py) against live servers.

Starts ``trioredis server`` (a subprocess, so its memory is measured alone) and a real
redis-server on loopback. Hypothesis sends random and mutated RESP on fresh connections to
both and compares what comes back; meanwhile a probe connection PINGs the trioredis between
inputs. At the end it prints the probe's latency percentiles and the server's RSS growth, and
fails if a reply differed, the server died, a probe took over a second, or RSS grew past
--max-rss-mb.

    python scripts/fuzz_protocol.py --examples 5000
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from hypothesis import HealthCheck, given, settings  # noqa: E402

from tests.helpers import RawClient, RealRedis, free_port, wait_port  # noqa: E402
from tests.test_hostile_protocol import _exchange, hostile  # noqa: E402


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--examples", type=int, default=2000)
    ap.add_argument("--max-rss-mb", type=float, default=200)
    ap.add_argument("--no-diff", action="store_true", help="do not compare with real Redis")
    args = ap.parse_args()
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="fuzz-protocol-")
    proc = subprocess.Popen([sys.executable, "-m", "trioredis", "server", "--port", str(port),
                             "--save", "", "--dir", workdir, "--loglevel", "warning"],
                            cwd=workdir, stdout=subprocess.DEVNULL)
    real = None if args.no_diff else RealRedis()
    try:
        wait_port(port)
        probe = RawClient(port)
        rss0 = rss_mb(proc.pid)
        lat: list[float] = []
        count = {"n": 0, "diff": 0}

        @settings(max_examples=args.examples, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(data=hostile)
        def run(data):
            count["n"] += 1
            ours = _exchange(port, data)
            if real is not None:
                theirs = _exchange(real.port, data)
                if ours != theirs:
                    ours = _exchange(port, data, idle=1.0)
                    theirs = _exchange(real.port, data, idle=1.0)
                assert ours == theirs, (data, ours, theirs)
            t = time.perf_counter()
            assert probe.command("PING") == b"+PONG\r\n"
            lat.append(time.perf_counter() - t)
            assert proc.poll() is None, "the server died"

        run()
        lat.sort()
        grown = rss_mb(proc.pid) - rss0
        print(f"{count['n']} hostile inputs{'' if real is None else ', replies equal to Redis'}; "
              f"probe PING p50 {statistics.median(lat) * 1e3:.2f} ms, "
              f"p99 {lat[int(len(lat) * 0.99)] * 1e3:.2f} ms, max {lat[-1] * 1e3:.2f} ms; "
              f"server RSS {rss0:.0f} MB -> +{grown:.1f} MB")
        assert lat[-1] < 1.0
        assert grown < args.max_rss_mb
        return 0
    finally:
        proc.terminate()
        proc.wait(10)
        if real is not None:
            real.stop()


if __name__ == "__main__":
    sys.exit(main())

"""Start to first PONG, and idle memory, of a server a test suite would start.

Measured, each in a fresh process, N times (median reported):

- ``trioredis server --port P --save ''`` (the console script's module, ``python -m trioredis``);
- ``trioredis.run_in_thread()`` inside a Python program (what the pytest plugin does): the
  time from the program's start, imports included, to the first PONG on the port;
- ``redis-server --port P --save '' --appendonly no`` (if installed);
- fakeredis's TCP server (``fakeredis.TcpFakeServer``), with ``--fakeredis-python`` naming an
  interpreter that has fakeredis (it is not a dependency of trioredis: install it in a
  throwaway venv).

"start to PONG" is wall time from spawning the process to the first ``+PONG`` read on a new
connection (the client polls every 2 ms); "CPU" is the process's user+system CPU time at that
moment (from /proc: less sensitive than wall time to a loaded machine); "idle RSS" is VmRSS
after PONG plus one idle second. A bare ``python -c pass`` is timed too, as the floor of any
Python server on the same machine.

    python benchmarks/startup.py [--runs 5] [--fakeredis-python /tmp/venv/bin/python]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TICK = os.sysconf("SC_CLK_TCK")

THREAD_PROG = """
import socket, sys, time
import trioredis
srv = trioredis.run_in_thread({"save": ""}).start()
print("PORT", srv.port, flush=True)
sys.stdin.readline()
srv.stop()
"""

FAKEREDIS_PROG = """
import sys, threading
from fakeredis import TcpFakeServer
server = TcpFakeServer(("127.0.0.1", int(sys.argv[1])), server_type="redis")
threading.Thread(target=server.serve_forever, daemon=True).start()
sys.stdin.readline()
server.shutdown()
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def ping(port: int, deadline: float) -> None:
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                s.sendall(b"*1\r\n$4\r\nPING\r\n")
                if s.recv(64).startswith(b"+PONG"):
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"no PONG on port {port}")
        time.sleep(0.002)


def measure(argv: list[str], port: int | None, cwd: str, stdin_port: bool = False) -> tuple:
    """Spawn, wait for PONG, sample CPU and (a second later) RSS, stop. ``port`` None: the
    program prints the port it got."""
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env=_env())
    try:
        while port is None:  # the program prints "PORT n" (the server may log first)
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError(f"{argv[:3]} exited before telling its port")
            if line.startswith("PORT "):
                port = int(line.split()[1])
        ping(port, time.monotonic() + 60)
        wall = time.monotonic() - t0
        cpu = cpu_seconds(proc.pid)
        time.sleep(1.0)
        rss = rss_mb(proc.pid)
    finally:
        try:
            proc.stdin.write("\n")
            proc.stdin.flush()
        except OSError:
            pass
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return wall, cpu, rss


PYCACHE = tempfile.mkdtemp(prefix="startup-pycache-")


def _env() -> dict:
    """Bytecode on, as after ``pip install`` (which compiles it): with PYTHONDONTWRITEBYTECODE
    every start would compile the whole package from source. It goes to a temporary prefix,
    not into the work tree; the first (warm-up) run of each case fills it."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = PYCACHE
    return env


def bare_python(runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.monotonic()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        times.append(time.monotonic() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--fakeredis-python", help="an interpreter with fakeredis installed")
    args = ap.parse_args()

    cases = {
        "trioredis server": lambda p: ([sys.executable, "-m", "trioredis", "server", "--port",
                                        str(p), "--save", ""], p),
        "run_in_thread (in a program)": lambda p: ([sys.executable, "-c", THREAD_PROG], None),
    }
    if shutil.which("redis-server"):
        cases["redis-server"] = lambda p: (["redis-server", "--port", str(p), "--save", "",
                                            "--appendonly", "no"], p)
    if args.fakeredis_python:
        cases["fakeredis TcpFakeServer"] = lambda p: ([args.fakeredis_python, "-c",
                                                       FAKEREDIS_PROG, str(p)], p)

    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; "
          f"bare `python -c pass`: {bare_python(args.runs) * 1000:.0f} ms (median)")
    print(f"{'server':32} {'start to PONG':>14} {'CPU':>8} {'idle RSS':>9}")
    for name, make in cases.items():
        rows = []
        for i in range(args.runs + 1):
            with tempfile.TemporaryDirectory(prefix="startup-") as d:
                argv, port = make(free_port())
                row = measure(argv, port, d)
                if i:  # run 0 warms the bytecode cache
                    rows.append(row)
        wall, cpu, rss = (statistics.median(r[i] for r in rows) for i in range(3))
        print(f"{name:32} {wall * 1000:11.0f} ms {cpu * 1000:5.0f} ms {rss:6.1f} MB",
              flush=True)


if __name__ == "__main__":
    try:
        main()
    finally:
        shutil.rmtree(PYCACHE, ignore_errors=True)

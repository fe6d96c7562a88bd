#!/usr/bin/env python3
"""Load held under hostile clients, with a probe's PING latency measured throughout.

Starts the server (trioredis, or ``--target redis`` for the same figures from redis-server) on
loopback, then runs bounded phases, each while a probe connection PINGs every 5 ms:

1. ``idle``: 10,000 idle connections opened and held (server RSS per connection).
2. ``pipelining``: those, plus 100 redis-benchmark clients pipelining SET/GET (-P 16).
3. ``slow``: 500 clients each sending a request one byte a second.
4. ``big headers``: 200 clients announcing a 512 MB bulk (``$536870912``, the limit: held,
   nothing allocated ahead) then sending 1 KB, 200 announcing one byte more (refused), 200
   announcing ``*1048576`` arguments, 200 sending 10,000 nested ``*1`` headers (server
   RSS growth, and whether each was refused or just held).
5. ``never reads``: a subscriber that never reads while 1 KB messages are published: it is
   disconnected by the pub/sub output limit (32 MB hard) and the bytes published are reported.

Prints one table row per phase (probe p50/p99/max and the phase's own figures) and exits 1 if
the probe's p99 passes --p99-ms in any phase, or the server dies.

    python benchmarks/load_bench.py                 # trioredis, the full sizes
    python benchmarks/load_bench.py --target redis  # the same against redis-server
    python benchmarks/load_bench.py --idle 1000 --seconds 3   # a quick run
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class Server:
    def __init__(self, target: str, maxclients: int):
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="load-bench-")
        self.log = os.path.join(self.dir, "server.log")
        common = ["--port", str(self.port), "--save", "", "--appendonly", "no", "--dir",
                  self.dir, "--maxclients", str(maxclients), "--logfile", self.log]
        if target == "redis":
            cmd = ["redis-server", "--bind", "127.0.0.1", *common]
        else:
            cmd = [sys.executable, "-m", "trioredis", "server", *common]
        env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
        self.proc = subprocess.Popen(cmd, cwd=self.dir, env=env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("server did not start") from None
                time.sleep(0.05)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def rss(self) -> float:
        return rss_mb(self.proc.pid)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def command(sock: socket.socket, *args: bytes) -> bytes:
    sock.sendall(b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args))
    out = b""
    while not out.endswith(b"\r\n"):
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        out += chunk
    return out


class Probe(threading.Thread):
    """PING every 5 ms on its own connection; latencies are collected per phase."""

    def __init__(self, port: int):
        super().__init__(daemon=True)
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.samples: list[float] = []
        self.stopping = threading.Event()
        self.errors = 0

    def run(self) -> None:
        while not self.stopping.is_set():
            t = time.perf_counter()
            try:
                reply = command(self.sock, b"PING")
                if reply != b"+PONG\r\n":
                    self.errors += 1
            except OSError:
                self.errors += 1
                return
            self.samples.append(time.perf_counter() - t)
            time.sleep(0.005)

    def take(self) -> list[float]:
        out, self.samples = self.samples, []
        return sorted(out)


def pct(xs: list[float], p: float) -> float:
    return xs[min(int(len(xs) * p), len(xs) - 1)] * 1000 if xs else float("nan")


def open_idle(port: int, n: int) -> list[socket.socket]:
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        socks.append(s)
    # one round trip on a few, so the server has surely accepted all before it
    for s in socks[-3:]:
        assert command(s, b"PING") == b"+PONG\r\n"
    return socks


def phase_pipelining(port: int, seconds: float, clients: int) -> str:
    proc = subprocess.Popen(["redis-benchmark", "-p", str(port), "-c", str(clients), "-P", "16",
                             "-t", "set,get", "-n", "100000000", "-r", "100000", "-q"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    time.sleep(seconds)
    proc.terminate()
    out = proc.communicate(timeout=10)[0]
    rates = re.findall(r"([A-Z]+): rps=[0-9.nan-]+ \(overall: ([0-9.]+)\)",
                       out.replace("\r", "\n"))
    last = {}
    for name, rps in rates:  # the running average of the last test reached
        last[name] = float(rps)
    return ", ".join(f"{k} {v:,.0f} rps" for k, v in last.items()) or "no rps reported"


def phase_slow(port: int, seconds: float, n: int) -> str:
    req = b"*3\r\n$3\r\nSET\r\n$4\r\nslow\r\n$5\r\nvalue\r\n"
    socks = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(n)]
    sent = 0
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        for s in socks:
            s.send(req[sent % len(req):sent % len(req) + 1])
        sent += 1
        time.sleep(1.0)
    for s in socks:
        s.close()
    return f"{n} clients, {sent} bytes each at 1 byte/s"


def phase_big_headers(srv: Server, n: int) -> str:
    before = srv.rss()
    kinds = {
        "$536870912": b"*1\r\n$536870912\r\n" + b"x" * 1024,
        "$536870913": b"*1\r\n$536870913\r\n",
        "*1048576": b"*1048576\r\n$1\r\nx\r\n",
        "nested *1 x10000": b"*1\r\n" * 10000,
    }
    results = []
    for name, payload in kinds.items():
        socks = []
        t = time.perf_counter()
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
            s.sendall(payload)
            socks.append(s)
        elapsed = time.perf_counter() - t
        # Then see which are answered and closed; the others are held (waiting for the rest
        # of a legal request). Looked at for up to 5 s.
        refused = 0
        pending = list(socks)
        for s in pending:
            s.setblocking(False)
        deadline = time.monotonic() + 5
        while pending and time.monotonic() < deadline:
            time.sleep(0.1)
            for s in list(pending):
                try:
                    data = s.recv(256)
                except BlockingIOError:
                    continue
                except ConnectionResetError:
                    data = b""
                if data.startswith(b"-ERR Protocol error") or not data:
                    refused += 1
                pending.remove(s)
        grown = srv.rss() - before
        results.append(f"{name}: {refused}/{n} refused, {grown:+.1f} MB RSS, sent in "
                       f"{elapsed:.2f} s")
        for s in socks:
            s.close()
    return "; ".join(results)


def phase_never_reads(srv: Server, limit_s: float) -> str:
    sub = socket.socket()
    sub.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sub.connect(("127.0.0.1", srv.port))
    sub.sendall(b"*2\r\n$9\r\nSUBSCRIBE\r\n$2\r\nch\r\n")
    time.sleep(0.2)
    pub = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    msg = b"m" * 1024
    published = 0
    t0 = time.monotonic()
    disconnected = False
    batch = b"*3\r\n$7\r\nPUBLISH\r\n$2\r\nch\r\n$1024\r\n" + msg + b"\r\n"
    while time.monotonic() - t0 < limit_s:
        pub.sendall(batch * 100)
        got = b""
        while got.count(b"\r\n") < 100:
            got += pub.recv(65536)
        published += 100
        if b":0\r\n" in got:  # no subscriber any more: it was disconnected
            disconnected = True
            break
    sub.close()
    pub.close()
    logged = ""
    try:
        with open(srv.log, errors="replace") as f:
            logged = "logged" if "output buffer limits" in f.read() else "not logged"
    except OSError:
        pass
    mb = published * 1024 / 2**20
    return (f"disconnected after {mb:.1f} MB published ({time.monotonic() - t0:.1f} s), {logged}"
            if disconnected else f"NOT disconnected after {mb:.1f} MB")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--target", choices=["trioredis", "redis"], default="trioredis")
    ap.add_argument("--idle", type=int, default=10_000)
    ap.add_argument("--pipeliners", type=int, default=100)
    ap.add_argument("--slow", type=int, default=500)
    ap.add_argument("--big", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--p99-ms", type=float, default=10.0)
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = args.idle + args.slow + args.big * 3 + 200
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(need, hard), hard))
    srv = Server(args.target, args.idle + args.slow + args.big + args.pipeliners + 100)
    probe = Probe(srv.port)
    probe.start()
    rows = []
    failed = False

    def record(name: str, extra: str) -> None:
        nonlocal failed
        xs = probe.take()
        p99 = pct(xs, 0.99)
        ok = p99 < args.p99_ms and srv.alive()
        failed |= not ok
        rows.append((name, len(xs), pct(xs, 0.5), p99, pct(xs, 1.0), "yes" if ok else "NO", extra))
        print(f"  {name}: p99 {p99:.2f} ms; {extra}", flush=True)

    try:
        time.sleep(min(args.seconds, 3))
        record("probe alone", f"RSS {srv.rss():.0f} MB")
        before = srv.rss()
        t = time.perf_counter()
        idle = open_idle(srv.port, args.idle)
        opened = time.perf_counter() - t
        time.sleep(args.seconds / 2)
        per = (srv.rss() - before) * 1024 / max(args.idle, 1)
        record(f"{args.idle} idle connections",
               f"opened in {opened:.1f} s, +{per:.1f} KB RSS each")
        extra = phase_pipelining(srv.port, args.seconds, args.pipeliners)
        record(f"+ {args.pipeliners} clients pipelining (-P 16)", extra)
        record(f"+ {args.slow} clients at 1 byte/s", phase_slow(srv.port, args.seconds, args.slow))
        record("+ 512 MB bulk / 1M-argument / nested headers", phase_big_headers(srv, args.big))
        record("+ a subscriber that never reads", phase_never_reads(srv, 60))
        for s in idle:
            s.close()
    finally:
        probe.stopping.set()
        probe.join(5)
        alive = srv.alive()
        srv.stop()
    print(f"\n{args.target}: probe PING latency (ms) per phase; the server "
          f"{'stayed up' if alive else 'DIED'}\n")
    print(f"| phase | probes | p50 | p99 | max | p99 < {args.p99_ms:g} ms | figures |")
    print("|---|---|---|---|---|---|---|")
    for name, n, p50, p99, mx, ok, extra in rows:
        print(f"| {name} | {n} | {p50:.2f} | {p99:.2f} | {mx:.2f} | {ok} | {extra} |")
    return 1 if failed or not alive else 0


if __name__ == "__main__":
    sys.exit(main())

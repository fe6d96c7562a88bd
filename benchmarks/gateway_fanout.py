#!/usr/bin/env python3
"""WebSocket gateway fan-out: one stream, many browsers-to-be, a steady XADD rate.

A trioredis server runs as its own process with ``--ws-port``. Client processes each hold
their share of the WebSocket connections (a minimal RFC 6455 client on plain sockets and
``selectors``, so the measuring side stays cheap), all subscribed to one stream. A producer
sends ``XADD bench * t <time> ...`` with redis-py at a fixed rate. Every client must receive
every entry, in order; the report gives delivered entries/s (all clients together) and the
latency from just before the XADD is sent to the moment the entry is read by a client.

    python benchmarks/gateway_fanout.py                  # 100 clients, 1,000 XADD/s, 30 s
    python benchmarks/gateway_fanout.py --quick          # the same for 5 s
    python benchmarks/gateway_fanout.py --clients 20 --rate 200 --seconds 10

Loopback only; everything it starts stops by itself.
"""

from __future__ import annotations

import argparse
import base64
import json
import multiprocessing as mp
import os
import resource
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import free_port, wait_port  # noqa: E402

STREAM = "bench"


# -- a small WebSocket client --------------------------------------------------------------------


def _masked(payload: bytes) -> bytes:
    """A client text frame (clients must mask)."""
    mask = os.urandom(4)
    n = len(payload)
    head = b"\x81" + (bytes((0x80 | n,)) if n < 126 else b"\xfe" + n.to_bytes(2, "big"))
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return head + mask + body


def ws_connect(port: int) -> tuple[socket.socket, bytes]:
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n").encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(4096)
        if not chunk:
            raise ConnectionError("closed during the handshake")
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 101"):
        raise ConnectionError(head.decode(errors="replace"))
    s.sendall(_masked(json.dumps({"op": "subscribe", "streams": {STREAM: "$"},
                                  "count": 1000}).encode()))
    return s, rest


class Reader:
    """Frames from one socket; entries counted, checked in order, timed."""

    __slots__ = ("sock", "buf", "count", "last", "lat", "ready", "sample", "closed")

    def __init__(self, conn: tuple[socket.socket, bytes], sample: bool):
        self.sock, self.buf = conn
        self.count = 0
        self.last = (0, 0)
        self.lat: list[float] = []
        self.ready = False
        self.sample = sample
        self.closed = None

    def feed(self, now: float) -> None:
        """Parse the complete frames in the buffer. Every entry is counted; the sampled
        sockets decode each one (latency, order), the others only the last of each read."""
        buf = self.buf
        pos = 0
        n = len(buf)
        sample = self.sample
        last = None
        while n - pos >= 2:
            op = buf[pos] & 0x0F
            ln = buf[pos + 1] & 0x7F
            hdr = 2
            if ln == 126:
                if n - pos < 4:
                    break
                ln = int.from_bytes(buf[pos + 2:pos + 4], "big")
                hdr = 4
            elif ln == 127:
                if n - pos < 10:
                    break
                ln = int.from_bytes(buf[pos + 2:pos + 10], "big")
                hdr = 10
            if n - pos < hdr + ln:
                break
            payload = buf[pos + hdr:pos + hdr + ln]
            pos += hdr + ln
            if op == 8:
                self.closed = int.from_bytes(payload[:2], "big") if payload else 1005
                continue
            if op != 1:
                continue
            if payload.startswith(b'{"op"'):
                if b'"subscribed"' in payload:
                    self.ready = True
                elif b'"welcome"' not in payload:
                    print("server says:", payload.decode(), file=sys.stderr)
                continue
            self.count += 1
            if sample:
                self._check(payload)
                k = payload.index(b'"t":"') + 5
                self.lat.append(now - float(payload[k:payload.index(b'"', k)]))
            else:
                last = payload
        if last is not None:
            self._check(last)
        self.buf = buf[pos:]

    def _check(self, payload: bytes) -> None:
        # {"stream":"bench","id":"<ms>-<seq>","fields":{"t":"<time>",...}}
        k = payload.index(b'"id":"') + 6
        ms, seq = payload[k:payload.index(b'"', k)].split(b"-")
        i = (int(ms), int(seq))
        if i <= self.last:
            raise AssertionError(f"out of order: {i} after {self.last}")
        self.last = i


def client_worker(port: int, n: int, sample_every: int, conn, stop_evt, target) -> None:
    """Hold ``n`` sockets; report readiness, then (once every socket has ``target`` entries
    after the producer stopped, or 10 s later) counts and latencies."""
    sel = selectors.DefaultSelector()
    readers = []
    for k in range(n):
        r = Reader(ws_connect(port), sample=(k % sample_every == 0))
        r.sock.setblocking(False)
        sel.register(r.sock, selectors.EVENT_READ, r)
        readers.append(r)
    reported_ready = False
    drain_until = None
    while True:
        if stop_evt.is_set():
            if drain_until is None:
                drain_until = time.monotonic() + 10
            if time.monotonic() > drain_until or all(
                    r.count >= target.value or r.closed for r in readers):
                break
        for key, _ in sel.select(0.05):
            r = key.data
            try:
                data = r.sock.recv(262144)
            except BlockingIOError:
                continue
            if not data:
                sel.unregister(r.sock)
                r.closed = r.closed or 1006
                continue
            r.buf += data
            r.feed(time.time())
        if not reported_ready and all(r.ready for r in readers):
            conn.send("ready")
            reported_ready = True
    conn.send((resource.getrusage(resource.RUSAGE_SELF),
               [(r.count, r.lat, r.closed) for r in readers]))
    for r in readers:
        r.sock.close()


# -- the producer --------------------------------------------------------------------------------


def produce(port: int, rate: int, total: int, payload: int) -> None:
    """XADD at a fixed rate, like independent sensors: each command is sent on time whether
    or not the replies to the earlier ones came back (a thread reads and checks them)."""
    import threading

    import redis

    redis.Redis(port=port, protocol=2).ping()  # the server answers
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    done = threading.Event()
    errors = []

    def read_replies() -> None:
        buf = b""
        seen = 0
        while seen < total:
            chunk = sock.recv(65536)
            if not chunk:
                break
            buf += chunk
            lines = buf.split(b"\r\n")
            buf = lines.pop()
            for line in lines:
                if line.startswith(b"$"):
                    continue
                if line.startswith(b"-"):
                    errors.append(line)
                seen += 1
        done.set()

    reader = threading.Thread(target=read_replies, daemon=True)
    reader.start()
    filler = b"x" * payload
    start = time.perf_counter()
    for i in range(total):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        t = b"%.6f" % time.time()
        sock.sendall(b"*7\r\n$4\r\nXADD\r\n$%d\r\n%s\r\n$1\r\n*\r\n$1\r\nt\r\n$%d\r\n%s\r\n"
                     b"$1\r\nv\r\n$%d\r\n%s\r\n"
                     % (len(STREAM), STREAM.encode(), len(t), t, len(filler), filler))
    done.wait(30)
    sock.close()
    if errors:
        raise RuntimeError(f"XADD failed: {errors[0]!r}")


# -- the run -----------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", type=int, default=100)
    ap.add_argument("--rate", type=int, default=1000, help="XADDs per second")
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--quick", action="store_true", help="5 seconds")
    ap.add_argument("--procs", type=int, default=2, help="client processes")
    ap.add_argument("--sample-every", type=int, default=5,
                    help="time every Nth client's entries (1: all)")
    ap.add_argument("--payload", type=int, default=64, help="bytes of filler per entry")
    ap.add_argument("--profile", metavar="FILE", help="run the server under cProfile")
    args = ap.parse_args()
    seconds = 5.0 if args.quick else args.seconds

    port, ws_port = free_port(), free_port()
    workdir = tempfile.mkdtemp(prefix="gw-bench-")
    prof = ["-m", "cProfile", "-o", args.profile] if args.profile else []
    server = subprocess.Popen(
        [sys.executable, *prof, "-m", "trioredis", "server", "--port", str(port), "--ws-port",
         str(ws_port), "--save", "", "--appendonly", "no", "--dir", workdir,
         "--loglevel", "warning"],
        stdout=subprocess.DEVNULL,
    )
    workers = []
    try:
        wait_port(port)
        wait_port(ws_port)
        stop = mp.Event()
        target = mp.Value("q", 0)
        per = [args.clients // args.procs + (i < args.clients % args.procs)
               for i in range(args.procs)]
        for n in per:
            parent, child = mp.Pipe()
            p = mp.Process(target=client_worker,
                           args=(ws_port, n, args.sample_every, child, stop, target), daemon=True)
            p.start()
            workers.append((p, parent))
        for _, pipe in workers:
            if not pipe.poll(60) or pipe.recv() != "ready":
                raise RuntimeError("clients did not connect")
        total = int(seconds * args.rate)
        cpu0 = _cpu(server.pid)
        start = time.perf_counter()
        produce(port, args.rate, total, args.payload)
        produce_s = time.perf_counter() - start
        target.value = total
        stop.set()  # the clients drain: every entry, or 10 s more
        results = []
        client_cpu = 0.0
        for p, pipe in workers:
            usage, res = pipe.recv()
            client_cpu += usage.ru_utime + usage.ru_stime
            results += res
            p.join(10)
        cpu = _cpu(server.pid) - cpu0
    finally:
        for p, _ in workers:
            if p.is_alive():
                p.kill()
        server.send_signal(signal.SIGINT)  # a clean exit (and the profile written)
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        shutil.rmtree(workdir, ignore_errors=True)

    counts = [c for c, _, _ in results]
    lat = [x for _, ls, _ in results for x in ls]
    closed = [c for _, _, c in results if c]
    complete = sum(1 for c in counts if c == total)
    delivered = sum(counts)
    print(f"clients {args.clients}, {args.rate} XADD/s for {seconds:g} s "
          f"({total} entries, produced in {produce_s:.1f} s), payload {args.payload} B")
    print(f"clients that received every entry: {complete}/{args.clients}"
          + (f" (closed: {closed})" if closed else ""))
    print(f"delivered: {delivered} entries, {delivered / produce_s:,.0f} entries/s")
    print(f"latency XADD -> client: p50 {percentile(lat, 50) * 1000:.1f} ms, "
          f"p99 {percentile(lat, 99) * 1000:.1f} ms, max {max(lat) * 1000:.1f} ms "
          f"({len(lat)} samples)")
    print(f"CPU: server {cpu:.1f} s, clients {client_cpu:.1f} s, over {produce_s:.1f} s "
          f"(server {cpu / produce_s * 100:.0f}% of a core)")
    return 0 if complete == args.clients else 1


def _cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Stream fan-out: 50 clients blocked in ``XREAD BLOCK 0`` each receive every XADD.

trioredis and a real redis-server run side by side (free loopback ports, pinned to CPU 0,
started by ``bench.start_servers``). The load generator is one process pinned to CPU 1 running a
single ``selectors`` loop over all sockets, so measuring stays cheap and the same for both
servers:

- ``--clients`` readers each loop ``XREAD BLOCK 0 STREAMS s <last id>`` (first ``$``, then the
  last ID received, so no entry is missed); the writer starts only once the server reports that
  many ``blocked_clients``.
- one writer sends ``XADD s * t <perf_counter_ns>`` ``--entries`` times, either unpaced (the
  next XADD is sent as soon as the previous one is acknowledged: one in flight, as fast as the
  server takes them) or paced at ``--rate`` per second.
- each reader records receive time minus the ``t`` field; the report gives entries delivered
  (must be clients x entries), delivered entries/s (from the first XADD to the last delivery)
  and p50/p99/max latency.

    python benchmarks/stream_fanout.py                   # 50 clients, 10,000 XADDs, unpaced + 2,000/s
    python benchmarks/stream_fanout.py --quick           # 1,000 XADDs
    python benchmarks/stream_fanout.py --modes unpaced --entries 20000
"""

from __future__ import annotations

import argparse
import os
import select
import shutil
import socket
import sys
import tempfile
import time

import hiredis

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import cpu_seconds, start_servers  # noqa: E402  (free_port, wait_port and pinned live there too)

STREAM = b"s"
XREAD_HEAD = b"*6\r\n$5\r\nXREAD\r\n$5\r\nBLOCK\r\n$1\r\n0\r\n$7\r\nSTREAMS\r\n$1\r\ns\r\n"
XADD_HEAD = b"*5\r\n$4\r\nXADD\r\n$1\r\ns\r\n$1\r\n*\r\n$1\r\nt\r\n"


def encode(*args: bytes) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def connect(port: int) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def call(sock: socket.socket, *args: bytes):
    """One blocking request/reply (setup only)."""
    sock.sendall(encode(*args))
    reader = hiredis.Reader()
    while (reply := reader.gets()) is False:
        reader.feed(sock.recv(65536))
    return reply


def blocked_clients(sock: socket.socket) -> int:
    info = call(sock, b"INFO", b"clients")
    for line in info.split(b"\r\n"):
        if line.startswith(b"blocked_clients:"):
            return int(line.split(b":")[1])
    return -1


def run_once(port: int, pid: int, clients: int, entries: int, rate: float | None) -> dict:
    admin = connect(port)
    call(admin, b"DEL", STREAM)
    readers = [connect(port) for _ in range(clients)]
    for r in readers:
        r.sendall(encode(b"XREAD", b"BLOCK", b"0", b"STREAMS", STREAM, b"$"))
    deadline = time.monotonic() + 20
    while blocked_clients(admin) < clients:
        if time.monotonic() > deadline:
            raise RuntimeError("readers did not block")
        time.sleep(0.01)

    ep = select.epoll()
    parsers = {}
    for r in readers:
        r.setblocking(False)
        parsers[r.fileno()] = (r, hiredis.Reader())
        ep.register(r.fileno(), select.EPOLLIN)
    writer = connect(port)
    writer.setblocking(False)
    wfd = writer.fileno()
    wparser = hiredis.Reader()
    ep.register(wfd, select.EPOLLIN)

    perf = time.perf_counter_ns
    lat: list[int] = []
    append = lat.append
    total = clients * entries
    sent = 0
    interval = int(1e9 / rate) if rate else 0
    cpu0, server_cpu0 = os.times(), cpu_seconds(pid)
    start = perf()
    next_at = start

    def send_xadd() -> None:
        nonlocal sent
        ts = b"%d" % perf()
        writer.send(XADD_HEAD + b"$%d\r\n%s\r\n" % (len(ts), ts))
        sent += 1

    send_xadd()
    last_delivery = start
    stall = time.monotonic() + 60
    while len(lat) < total:
        timeout = 1.0
        if rate and sent < entries:
            timeout = min(1.0, max(0.0, (next_at + interval - perf()) / 1e9))
        events = ep.poll(timeout)
        for fd, _ in events:
            if fd == wfd:
                wparser.feed(writer.recv(65536))
                while (reply := wparser.gets()) is not False:
                    if isinstance(reply, hiredis.ReplyError):
                        raise RuntimeError(reply)
                    if not rate and sent < entries:
                        send_xadd()
                continue
            sock, parser = parsers[fd]
            data = sock.recv(1 << 20)
            if not data:
                raise RuntimeError("reader connection closed")
            now = perf()
            parser.feed(data)
            while (reply := parser.gets()) is not False:
                items = reply[0][1]
                for item in items:
                    append(now - int(item[1][1]))
                last = items[-1][0]
                sock.send(XREAD_HEAD + b"$%d\r\n%s\r\n" % (len(last), last))
            last_delivery = now
        if rate:
            now = perf()
            while sent < entries and now >= next_at + interval:
                next_at += interval
                send_xadd()
        if events:
            stall = time.monotonic() + 60
        elif time.monotonic() > stall:
            raise RuntimeError(f"stalled: {len(lat)}/{total} delivered")
    elapsed = (last_delivery - start) / 1e9
    cpu1 = os.times()
    load_cpu = (cpu1.user + cpu1.system - cpu0.user - cpu0.system) / elapsed
    server_cpu = (cpu_seconds(pid) - server_cpu0) / elapsed
    ep.close()
    for s in (*readers, writer, admin):
        s.close()
    lat.sort()
    pct = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] / 1e3  # noqa: E731
    return {"delivered": len(lat), "expected": total, "eps": len(lat) / elapsed,
            "xadds": entries / elapsed, "load_cpu": load_cpu, "server_cpu": server_cpu, "p50": pct(0.50), "p99": pct(0.99), "max": lat[-1] / 1e3}


def print_head() -> None:
    head = ("server", "XADD pacing", "delivered", "entries/s delivered", "XADD/s",
            "p50", "p99", "max", "server CPU", "load-gen CPU")
    print(f"| {' | '.join(head)} |")
    print("|" + "---|" * len(head))


def print_row(name: str, label: str, res: dict) -> None:
    ok = "" if res["delivered"] == res["expected"] else " (MISSING)"
    print(f"| {name} | {label} | {res['delivered']:,}{ok} | {res['eps']:,.0f} "
          f"| {res['xadds']:,.0f} | {res['p50']:,.0f} | {res['p99']:,.0f} "
          f"| {res['max']:,.0f} | {res['server_cpu']:.0%} | {res['load_cpu']:.0%} |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--entries", type=int, default=10_000)
    ap.add_argument("--rate", type=float, default=2000.0, help="XADD/s for the paced mode")
    ap.add_argument("--modes", default="unpaced,paced", help="unpaced, paced or both")
    ap.add_argument("--server-cpu", type=int, default=0, help="CPU for both servers (default 0)")
    ap.add_argument("--load-cpu", type=int, default=1, help="CPU for this process (default 1)")
    ap.add_argument("--repeat", type=int, default=1, help="rounds (servers alternate each time)")
    ap.add_argument("--quick", action="store_true", help="1,000 entries (a smoke run)")
    args = ap.parse_args()
    entries = 1_000 if args.quick else args.entries
    two = (os.cpu_count() or 1) >= 2
    server_cpu, load_cpu = (args.server_cpu, args.load_cpu) if two else (None, None)
    if load_cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {load_cpu})
    workdir = tempfile.mkdtemp(prefix="trioredis-fanout-")
    t, r = start_servers(server_cpu, workdir)
    try:
        print(f"{args.clients} readers x {entries:,} XADDs; latency = delivery - XADD send, µs\n")
        results: dict[tuple[str, str], list[dict]] = {}
        print_head()
        for mode in [m for _ in range(args.repeat) for m in args.modes.split(",")]:
            rate = args.rate if mode == "paced" else None
            label = f"paced {args.rate:,.0f}/s" if rate else "unpaced (1 in flight)"
            for target in (t, r):
                res = run_once(target.port, target.pid, args.clients, entries, rate)
                results.setdefault((target.name, label), []).append(res)
                print_row(target.name, label, res)
        if args.repeat > 1:
            print(f"\nmedian of {args.repeat} rounds (by delivered entries/s):\n")
            print_head()
            for (name, label), runs in results.items():
                print_row(name, label, sorted(runs, key=lambda x: x["eps"])[len(runs) // 2])
    finally:
        t.stop()
        r.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()

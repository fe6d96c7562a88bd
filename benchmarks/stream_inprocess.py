"""In-process cost of stream commands on a large stream (no sockets, no parsing).

Target: with 1,000,000 entries, ``XRANGE s <id> + COUNT 10`` and ``XREVRANGE s + - COUNT 10``
answer in well under a millisecond; XADD stays cheap on the hot path.

    python benchmarks/stream_inprocess.py [entries]
"""

from __future__ import annotations

import random
import sys
import time

from trioredis.core import ManualClock, Server


def bench(srv, c, name, make_argv, n=20000):
    argvs = [make_argv(i) for i in range(n)]
    execute = srv.execute
    t0 = time.perf_counter()
    for argv in argvs:
        execute(c, argv)
    dt = (time.perf_counter() - t0) / n * 1e6
    print(f"{name:46s} {dt:8.2f} µs/op")
    return dt


def main(entries: int = 1_000_000) -> None:
    clock = ManualClock()
    srv = Server(clock=clock)
    c = srv.new_client()
    execute = srv.execute
    t0 = time.perf_counter()
    for i in range(entries):
        if i % 16 == 0:
            clock.advance(0.001)
        execute(c, [b"XADD", b"s", b"*", b"field", b"value:%d" % i])
    dt = time.perf_counter() - t0
    print(f"loaded {entries} entries with XADD * in {dt:.1f}s ({dt / entries * 1e6:.2f} µs/op)")
    s = c.db.data[b"s"]
    ids = [b"%d-%d" % (i >> 64, i & (2**64 - 1)) for i in s.ids[s.head:]]
    rnd = random.Random(1)
    results = {
        "XRANGE 10": bench(srv, c, "XRANGE s <id> + COUNT 10",
                           lambda i: [b"XRANGE", b"s", rnd.choice(ids), b"+", b"COUNT", b"10"]),
        "XREVRANGE 10": bench(srv, c, "XREVRANGE s + - COUNT 10",
                              lambda i: [b"XREVRANGE", b"s", b"+", b"-", b"COUNT", b"10"]),
    }
    bench(srv, c, "XREVRANGE s <id> - COUNT 10",
          lambda i: [b"XREVRANGE", b"s", rnd.choice(ids), b"-", b"COUNT", b"10"])
    bench(srv, c, "XREAD COUNT 10 STREAMS s <id>",
          lambda i: [b"XREAD", b"COUNT", b"10", b"STREAMS", b"s", rnd.choice(ids)])
    bench(srv, c, "XLEN s", lambda i: [b"XLEN", b"s"])
    results["XADD"] = bench(srv, c, "XADD s * field value",
                            lambda i: [b"XADD", b"s", b"*", b"field", b"value"])
    bench(srv, c, "XADD s MAXLEN 1000000 * field value",
          lambda i: [b"XADD", b"s", b"MAXLEN", b"1000000", b"*", b"field", b"value"])
    bench(srv, c, "XADD s MAXLEN ~ 1000000 * field value",
          lambda i: [b"XADD", b"s", b"MAXLEN", b"~", b"1000000", b"*", b"field", b"value"])
    bench(srv, c, "XDEL s <id>", lambda i: [b"XDEL", b"s", ids[(i * 7) % len(ids)]])
    execute(c, [b"XGROUP", b"CREATE", b"s", b"g", b"0"])
    bench(srv, c, "XREADGROUP GROUP g c COUNT 1 STREAMS s >",
          lambda i: [b"XREADGROUP", b"GROUP", b"g", b"c", b"COUNT", b"1", b"STREAMS", b"s",
                     b">"])
    bench(srv, c, "XACK s g <id>", lambda i: [b"XACK", b"s", b"g", ids[i % len(ids)]])
    slow = {k: v for k, v in results.items() if k != "XADD" and v >= 100}
    print("target (ranges < 100 µs):", "met" if not slow else f"MISSED {slow}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)

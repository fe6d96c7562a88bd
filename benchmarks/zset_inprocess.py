"""In-process cost of sorted set commands on a large set (no sockets, no parsing).

Target: with 1,000,000 members, ZADD, ZRANK and ZRANGE of 10 stay under 50 µs each.

    python benchmarks/zset_inprocess.py [members]
"""

from __future__ import annotations

import random
import sys
import time

from trioredis.core import Server


def bench(srv, c, name, make_argv, n=20000):
    argvs = [make_argv(i) for i in range(n)]
    execute = srv.execute
    t0 = time.perf_counter()
    for argv in argvs:
        execute(c, argv)
    dt = (time.perf_counter() - t0) / n * 1e6
    print(f"{name:42s} {dt:7.2f} µs/op")
    return dt


def main(members: int = 1_000_000) -> None:
    srv = Server()
    c = srv.new_client()
    rnd = random.Random(1)
    t0 = time.perf_counter()
    chunk = 100_000
    for start in range(0, members, chunk):
        argv = [b"ZADD", b"z"]
        for i in range(start, min(start + chunk, members)):
            argv += [b"%d" % rnd.randrange(10**9), b"member:%d" % i]
        srv.execute(c, argv)
    print(f"loaded {members} members in {time.perf_counter() - t0:.1f}s")
    results = {
        "ZADD new member": bench(srv, c, "ZADD z <score> <new member>",
                                 lambda i: [b"ZADD", b"z", b"%d" % rnd.randrange(10**9),
                                            b"new:%d" % i]),
        "ZADD update": bench(srv, c, "ZADD z <score> <existing member>",
                             lambda i: [b"ZADD", b"z", b"%d" % rnd.randrange(10**9),
                                        b"member:%d" % rnd.randrange(members)]),
        "ZRANK": bench(srv, c, "ZRANK z <member>",
                       lambda i: [b"ZRANK", b"z", b"member:%d" % rnd.randrange(members)]),
        "ZRANGE 10": bench(srv, c, "ZRANGE z <start> <start+9>",
                           lambda i: [b"ZRANGE", b"z", b"%d" % (s := rnd.randrange(members)),
                                      b"%d" % (s + 9)]),
    }
    bench(srv, c, "ZRANGE z <start> <start+9> WITHSCORES",
          lambda i: [b"ZRANGE", b"z", b"%d" % (s := rnd.randrange(members)), b"%d" % (s + 9),
                     b"WITHSCORES"])
    bench(srv, c, "ZRANGEBYSCORE z <min> +inf LIMIT 0 10",
          lambda i: [b"ZRANGEBYSCORE", b"z", b"%d" % rnd.randrange(10**9), b"+inf", b"LIMIT",
                     b"0", b"10"])
    bench(srv, c, "ZSCORE z <member>",
          lambda i: [b"ZSCORE", b"z", b"member:%d" % rnd.randrange(members)])
    bench(srv, c, "ZREM + ZADD", lambda i: [b"ZREM", b"z", b"new:%d" % i])
    slow = {k: v for k, v in results.items() if v >= 50}
    print("target (< 50 µs):", "met" if not slow else f"MISSED {slow}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)

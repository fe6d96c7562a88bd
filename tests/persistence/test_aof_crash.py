"""Nothing acknowledged is lost: SIGKILL a trioredis with ``appendfsync always`` mid-load.

20 client threads (redis-py, RESP2) each run their own sequence of writes (SET, INCR, RPUSH,
XADD, MULTI/EXEC setting two keys to one value) against a trioredis subprocess, until the test
kills it with SIGKILL at a random moment. After a restart on the same directory, every client's
writes must be present as a *prefix* of its sequence: each acknowledged write, plus possibly the
one whose reply never came, and nothing after it; a transaction's two keys both or neither.

``benchmarks/aof_crash_soak.py`` runs this many times, and measures what ``everysec`` loses.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests.helpers import free_port, wait_port

CLIENTS = 20
KINDS = ("set", "incr", "rpush", "xadd", "multi")


def start_server(port: int, dirpath: str, fsync: str = "always") -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "trioredis", "server", "--port", str(port), "--dir", dirpath,
         "--appendonly", "yes", "--appendfsync", fsync, "--save", "", "--loglevel", "warning"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
    )
    try:
        wait_port(port, 30)
    except OSError:
        proc.kill()
        raise AssertionError("server did not start: " + proc.communicate()[0].decode())
    return proc


class Writer(threading.Thread):
    """One client: op i of thread t is KINDS[i % 5]; remembers what was acknowledged."""

    def __init__(self, port: int, t: int):
        super().__init__(daemon=True)
        self.port = port
        self.t = t
        self.acked = 0  # ops 0 .. acked-1 got their reply
        self.attempted = 0  # op ``attempted - 1`` may have been applied without a reply
        self.xids: list[bytes] = []
        self.values: dict[int, bytes] = {}

    def run(self) -> None:
        # No retries: after the kill, a client must stop at once (and not reconnect to the
        # restarted server).
        r = redis.Redis(port=self.port, protocol=2, socket_timeout=10, retry=Retry(NoBackoff(), 0))
        t = self.t
        try:
            i = 0
            while True:
                kind = KINDS[i % 5]
                self.attempted = i + 1
                if kind == "set":
                    r.set(f"k:{t}:{i}", f"v{i}")
                elif kind == "incr":
                    r.incr(f"ctr:{t}")
                elif kind == "rpush":
                    r.rpush(f"list:{t}", i)
                elif kind == "xadd":
                    self.xids.append(r.xadd(f"stream:{t}", {"i": i}))
                else:
                    p = r.pipeline(transaction=True)
                    p.set(f"ma:{t}:{i}", f"m{i}")
                    p.set(f"mb:{t}:{i}", f"m{i}")
                    p.execute()
                self.acked = i + 1
                i += 1
        except (redis.ConnectionError, redis.TimeoutError, ConnectionError, OSError):
            return
        finally:
            r.close()


def present(r: redis.Redis, t: int, n: int) -> list[bool]:
    """For ops 0..n-1 of client ``t``: is its effect in the data? (Checks values too.)"""
    out = []
    ctr = int(r.get(f"ctr:{t}") or 0)
    lst = [int(x) for x in r.lrange(f"list:{t}", 0, -1)]
    stream = r.xrange(f"stream:{t}")
    n_incr = n_rpush = n_xadd = 0
    for i in range(n):
        kind = KINDS[i % 5]
        if kind == "set":
            v = r.get(f"k:{t}:{i}")
            assert v in (None, f"v{i}".encode()), (t, i, v)
            out.append(v is not None)
        elif kind == "incr":
            out.append(ctr > n_incr)
            n_incr += 1
        elif kind == "rpush":
            if n_rpush < len(lst):
                assert lst[n_rpush] == i, (t, i, lst)
            out.append(n_rpush < len(lst))
            n_rpush += 1
        elif kind == "xadd":
            if n_xadd < len(stream):
                assert stream[n_xadd][1] == {b"i": str(i).encode()}, (t, i, stream[n_xadd])
            out.append(n_xadd < len(stream))
            n_xadd += 1
        else:
            a, b = r.get(f"ma:{t}:{i}"), r.get(f"mb:{t}:{i}")
            assert a == b, f"half a transaction: client {t} op {i}: {a!r} {b!r}"
            assert a in (None, f"m{i}".encode()), (t, i, a)
            out.append(a is not None)
    # Nothing beyond the ops this client attempted.
    assert ctr <= n_incr and len(lst) <= n_rpush and len(stream) <= n_xadd, (t, ctr, len(lst))
    return out


def check_prefix(r: redis.Redis, w: Writer) -> int:
    """Assert the client's applied ops are a prefix covering all acked ones; returns its length."""
    flags = present(r, w.t, w.attempted)
    k = flags.index(False) if False in flags else len(flags)
    assert all(not f for f in flags[k:]), f"client {w.t}: not a prefix: {flags}"
    assert k >= w.acked, f"client {w.t}: {w.acked} writes acknowledged, only {k} survived"
    assert k <= w.attempted
    for xid in w.xids[: sum(1 for i in range(w.acked) if KINDS[i % 5] == "xadd")]:
        assert r.xrange(f"stream:{w.t}", xid, xid), f"client {w.t}: acked XADD {xid} lost"
    return k


def crash_once(seed: int, fsync: str = "always", kill_after: tuple = (0.2, 1.0)) -> dict:
    """Run the writers, SIGKILL the server, restart, check. Returns counts (acked, survived)."""
    rnd = random.Random(seed)
    d = tempfile.mkdtemp(prefix="trioredis-crash-")
    port = free_port()
    proc = start_server(port, d, fsync)
    try:
        writers = [Writer(port, t) for t in range(CLIENTS)]
        for w in writers:
            w.start()
        # The random moment is counted from the first acknowledgements (a loaded machine may
        # be slow to get the clients going).
        start = time.monotonic()
        while sum(w.acked for w in writers) < CLIENTS and time.monotonic() < start + 30:
            time.sleep(0.005)
        deadline = time.monotonic() + rnd.uniform(*kill_after)
        while time.monotonic() < deadline:
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        for w in writers:
            w.join(15)
            assert not w.is_alive()
        acked = sum(w.acked for w in writers)
        assert acked > 0, "no write was acknowledged before the kill"
        port = free_port()
        proc = start_server(port, d, fsync)
        r = redis.Redis(port=port, protocol=2, socket_timeout=10)
        lost = survived = 0
        for w in writers:
            if fsync == "always":
                survived += check_prefix(r, w)
            else:
                flags = present(r, w.t, w.attempted)
                k = flags.index(False) if False in flags else len(flags)
                assert all(not f for f in flags[k:]), f"client {w.t}: not a prefix: {flags}"
                survived += k
                lost += max(0, w.acked - k)
        r.close()
        return {"acked": acked, "survived": survived, "lost": lost}
    finally:
        proc.kill()
        proc.wait()
        shutil.rmtree(d, ignore_errors=True)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sigkill_loses_no_acknowledged_write(seed):
    result = crash_once(seed)
    assert result["survived"] >= result["acked"]

"""Blocking XREAD and XREADGROUP over real sockets: wake-ups, ``$``, several readers on several
streams, timeouts, consumer-group delivery order, keys and groups that go away.

The scenarios run against a real Redis 7.0 and against trioredis and must give the same
replies, in the same order. A client is known to be blocked when INFO says so (no sleeps that
guess); timeouts are short and the deadlines to see them generous.
"""

from __future__ import annotations

import time

import pytest

from ..helpers import RawClient

DEADLINE = 10.0


def encode(*args) -> bytes:
    parts = [a if isinstance(a, bytes) else str(a).encode() for a in args]
    return b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)


def blocked_clients(admin: RawClient) -> int:
    info = admin.command("INFO", "clients")
    for line in info.split(b"\r\n"):
        if line.startswith(b"blocked_clients:"):
            return int(line.split(b":")[1])
    raise AssertionError("INFO has no blocked_clients")


def wait_blocked(admin: RawClient, n: int) -> None:
    deadline = time.monotonic() + DEADLINE
    while blocked_clients(admin) != n:
        assert time.monotonic() < deadline, f"never saw {n} blocked clients"
        time.sleep(0.005)


def silent(c: RawClient, wait: float = 0.1) -> bool:
    """True if ``c`` got no reply within ``wait`` seconds (it is still blocked)."""
    if c.buf:
        return False
    c.sock.settimeout(wait)
    try:
        data = c.sock.recv(65536)
    except TimeoutError:
        return True
    finally:
        c.sock.settimeout(DEADLINE)
    c.buf += data
    return False


class Scenario:
    """Clients of one server; what they receive is logged for comparison."""

    def __init__(self, port: int, n: int = 4):
        self.admin = RawClient(port)
        self.admin.command("FLUSHALL")
        self.clients = [RawClient(port) for _ in range(n)]
        self.log: list = []
        self.blocked = 0

    def __call__(self, *cmd):
        """A command on the admin client; its reply is logged."""
        self.log.append(("admin", cmd, self.admin.command(*cmd)))

    def block(self, k: int, *cmd):
        """Client ``k`` sends a command that blocks."""
        self.clients[k].send(encode(*cmd))
        self.blocked += 1
        wait_blocked(self.admin, self.blocked)

    def reply(self, k: int):
        self.log.append((k, self.clients[k].read_reply()))
        self.blocked -= 1

    def still(self, k: int):
        self.log.append((k, "blocked" if silent(self.clients[k]) else "answered"))

    def close(self):
        for c in [self.admin, *self.clients]:
            c.close()


def run_both(real_redis, server, steps):
    logs = []
    for port in (real_redis.port, server.port):
        sc = Scenario(port)
        try:
            steps(sc)
            logs.append(sc.log)
        finally:
            sc.close()
    assert logs[1] == logs[0]
    return logs[1]


def test_block_zero_woken_by_another_client(real_redis, server):
    def steps(sc):
        sc("XADD", "s", "1-0", "f", "before")
        sc.block(0, "XREAD", "BLOCK", "0", "STREAMS", "s", "$")
        sc.still(0)
        sc("XADD", "s", "2-0", "f", "after")
        sc.reply(0)  # only the entry added after the block: $ was resolved when it arrived

    log = run_both(real_redis, server, steps)
    assert b"after" in log[-1][1] and b"before" not in log[-1][1]


def test_several_readers_on_several_streams(real_redis, server):
    def steps(sc):
        sc.block(0, "XREAD", "BLOCK", "0", "STREAMS", "s1", "$")
        sc.block(1, "XREAD", "BLOCK", "0", "STREAMS", "s1", "s2", "$", "$")
        sc.block(2, "XREAD", "COUNT", "1", "BLOCK", "0", "STREAMS", "s2", "0")
        sc("XADD", "s2", "1-0", "f", "v")
        sc.reply(1)
        sc.reply(2)
        sc.still(0)
        sc("XADD", "s1", "1-0", "f", "v")
        sc.reply(0)
        # served from the stream that got data first, even when both did at once
        sc.block(3, "XREAD", "BLOCK", "0", "STREAMS", "s1", "s2", "$", "$")
        sc("MULTI")
        sc("XADD", "s2", "2-0", "f", "v")
        sc("XADD", "s1", "2-0", "f", "v")
        sc("EXEC")
        sc.reply(3)

    run_both(real_redis, server, steps)


def test_timeouts(real_redis, server):
    def steps(sc):
        c = sc.clients[0]
        t0 = time.monotonic()
        sc.log.append(c.command("XREAD", "BLOCK", "50", "STREAMS", "s", "$"))
        assert 0.03 < time.monotonic() - t0 < DEADLINE
        c.command("HELLO", "3")
        sc.log.append(c.command("XREAD", "BLOCK", "20", "STREAMS", "s", "$"))
        sc("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
        sc.log.append(c.command("XREADGROUP", "GROUP", "g", "c", "BLOCK", "20", "STREAMS", "s",
                                ">"))
        sc("XINFO", "CONSUMERS", "s", "g")  # nothing served: no consumer was created

    log = run_both(real_redis, server, steps)
    assert log[0] == b"*-1\r\n" and log[1] == b"_\r\n"


def test_consumer_group_readers_served_in_block_order(real_redis, server):
    def steps(sc):
        sc("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
        for k in range(3):
            sc.block(k, "XREADGROUP", "GROUP", "g", f"c{k}", "BLOCK", "0", "STREAMS", "s", ">")
        for k in range(3):
            sc("XADD", "s", f"{k + 1}-0", "f", f"v{k}")
            sc.reply(k)
        sc("XPENDING", "s", "g")
        sc.block(3, "XREADGROUP", "GROUP", "g", "c3", "NOACK", "BLOCK", "0", "STREAMS", "s",
                 ">")
        sc("MULTI")
        sc("XADD", "s", "4-0", "f", "v")
        sc("XADD", "s", "5-0", "f", "v")
        sc("EXEC")
        sc.reply(3)  # the first in line takes all that arrived (up to its COUNT)
        sc("XINFO", "GROUPS", "s")

    run_both(real_redis, server, steps)


def test_keys_and_groups_that_go_away(real_redis, server):
    def steps(sc):
        sc("XADD", "s", "1-1", "f", "v")
        sc("XGROUP", "CREATE", "s", "g", "$")
        sc.block(0, "XREADGROUP", "GROUP", "g", "c1", "BLOCK", "0", "STREAMS", "s", ">")
        sc.block(1, "XREAD", "BLOCK", "0", "STREAMS", "s", "$")
        sc("DEL", "s")
        sc.reply(0)  # -UNBLOCKED: its key is gone
        sc.still(1)  # a plain reader keeps waiting
        sc("LPUSH", "s", "x")
        sc.still(1)
        sc("DEL", "s")
        sc("XADD", "s", "2-1", "f", "v")
        sc.reply(1)
        sc("XGROUP", "CREATE", "s", "g", "$")
        sc.block(0, "XREADGROUP", "GROUP", "g", "c1", "BLOCK", "0", "STREAMS", "s", ">")
        sc("XGROUP", "DESTROY", "s", "g")
        sc.reply(0)  # -NOGROUP
        sc("XGROUP", "CREATE", "s", "g", "$")
        sc.block(0, "XREADGROUP", "GROUP", "g", "c1", "BLOCK", "0", "STREAMS", "s", ">")
        sc("MULTI")
        sc("DEL", "s")
        sc("SET", "s", "x")
        sc("EXEC")
        sc.reply(0)  # the key is not a stream any more
        sc("DEL", "s")
        sc("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
        sc.block(0, "XREADGROUP", "GROUP", "g", "c1", "BLOCK", "0", "STREAMS", "s", ">")
        sc("FLUSHALL")
        sc.reply(0)

    run_both(real_redis, server, steps)


def test_changes_other_than_xadd_wake_nobody(real_redis, server):
    def steps(sc):
        sc("XADD", "s", "1-0", "f", "v")
        sc("XADD", "s", "2-0", "f", "v")
        sc("XGROUP", "CREATE", "s", "g", "$")
        sc.block(0, "XREAD", "BLOCK", "0", "STREAMS", "s", "$")
        sc.block(1, "XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">")
        sc("XDEL", "s", "1-0")
        sc("XSETID", "s", "9-0")
        sc("XGROUP", "SETID", "s", "g", "0")
        sc("XTRIM", "s", "MAXLEN", "0")
        sc.still(0)
        sc.still(1)
        sc("MULTI")
        sc("XADD", "s", "10-0", "f", "v")
        sc("XDEL", "s", "10-0")
        sc("EXEC")
        sc.reply(0)  # woken by the XADD: served what is left, nothing
        sc.reply(1)

    run_both(real_redis, server, steps)


def test_blocked_reader_default_count(real_redis, server):
    def steps(sc):
        sc.block(0, "XREAD", "BLOCK", "0", "STREAMS", "s", "0")
        sc("MULTI")
        for k in range(1, 1201):
            sc.admin.command("XADD", "s", f"{k}-0", "f", "v")
        sc("EXEC")
        c = sc.clients[0]
        sc.log.append(c.read_reply().count(b"\r\n$1\r\nf\r\n"))

    log = run_both(real_redis, server, steps)
    assert log[-1] == 1000


def test_block_inside_multi_does_not_block(real_redis, server):
    def steps(sc):
        sc("MULTI")
        sc("XREAD", "BLOCK", "0", "STREAMS", "s", "$")
        sc("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">")
        sc("EXEC")
        sc("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
        sc("MULTI")
        sc("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">")
        sc("EXEC")

    run_both(real_redis, server, steps)


def test_disconnected_reader_leaves_nothing_behind(server):
    admin = RawClient(server.port)
    try:
        for cmd in (("XREAD", "BLOCK", "0", "STREAMS", "s", "$"),
                    ("XREAD", "BLOCK", "0", "STREAMS", "s", "t", "$", "$")):
            c = RawClient(server.port)
            c.send(encode(*cmd))
            wait_blocked(admin, 1)
            c.close()
            wait_blocked(admin, 0)
        assert server.call(lambda: dict(server.server.dbs[0].blocking)) == {}
        assert admin.command("XADD", "s", "1-0", "f", "v") == b"$3\r\n1-0\r\n"
    finally:
        admin.close()


def test_timed_out_reader_leaves_nothing_behind(server):
    c = RawClient(server.port)
    try:
        assert c.command("XREAD", "BLOCK", "10", "STREAMS", "s", "$") == b"*-1\r\n"
        assert server.call(lambda: dict(server.server.dbs[0].blocking)) == {}
    finally:
        c.close()


@pytest.mark.parametrize("protocol", [2, 3])
def test_redis_py_blocking_read(server, protocol):
    import threading

    import redis

    r = redis.Redis(port=server.port, protocol=protocol)
    w = redis.Redis(port=server.port, protocol=2)
    admin = RawClient(server.port)
    got = []
    try:
        t = threading.Thread(target=lambda: got.append(r.xread({"s": "$"}, block=0)))
        t.start()
        wait_blocked(admin, 1)
        w.xadd("s", {"f": "v"}, id="5-0")
        t.join(DEADLINE)
        reply = got[0]
        if protocol == 3:
            assert reply == {b"s": [[(b"5-0", {b"f": b"v"})]]}
        else:
            assert reply == [[b"s", [(b"5-0", {b"f": b"v"})]]]
    finally:
        r.close()
        w.close()
        admin.close()


def _cmdstat(admin: RawClient, name: bytes) -> bytes:
    """A command's INFO commandstats line without the timings (they differ run to run)."""
    for line in admin.command("INFO", "commandstats").split(b"\r\n"):
        if line.startswith(b"cmdstat_" + name + b":"):
            return b",".join(f for f in line.split(b",") if not f.startswith(b"usec"))
    return b""


def test_served_blocked_commands_count_one_call(real_redis, server):
    """A blocked command is one call however often it is retried; an error at unblock is one
    failed call (unit/type/stream-cgroups: XGROUP DESTROY unblocks XREADGROUP with -NOGROUP)."""

    def steps(sc):
        sc("CONFIG", "RESETSTAT")
        sc("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
        sc.block(0, "XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">")
        sc("XGROUP", "DESTROY", "s", "g")
        sc.reply(0)  # -NOGROUP
        sc.block(1, "XREAD", "BLOCK", "0", "STREAMS", "s", "$")
        sc("XTRIM", "s", "MAXLEN", "0")  # a change that is no XADD: retried, still blocked
        sc("XADD", "s", "1-1", "f", "v")
        sc.reply(1)
        sc.block(2, "BLPOP", "l", "0")
        sc("LPUSH", "l", "a")
        sc.reply(2)
        sc.log.append([_cmdstat(sc.admin, n) for n in (b"xreadgroup", b"xread", b"blpop")])
        sc("INFO", "errorstats")

    log = run_both(real_redis, server, steps)
    assert log[-2][0] == b"cmdstat_xreadgroup:calls=1,rejected_calls=0,failed_calls=1"

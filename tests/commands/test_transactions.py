"""MULTI / EXEC / DISCARD / WATCH / UNWATCH, raw bytes compared with a real Redis 7.0.

Differential scripts run the same steps (several named connections) on trioredis and on a
real redis-server and compare every raw reply. Expiry cases run on a real Redis with active
expiry off (DEBUG SET-ACTIVE-EXPIRE 0) and on a core.Server with a ManualClock, where keys
expire exactly when we say so.
"""

from __future__ import annotations

import glob
import os
import time

import pytest

from tests.helpers import RawClient, RealRedis, have_real_redis
from trioredis.core import ManualClock, Server

pytestmark = pytest.mark.skipif(not have_real_redis(), reason="redis-server not installed")


# -- helpers ------------------------------------------------------------------------------------


def run_steps(port: int, steps, on_client=None) -> list[bytes]:
    """Run ``(who, *args)`` steps, one RawClient per ``who``; raw replies in order.

    ``who`` ending in ``~`` runs the step without recording its reply (HELLO's differs).
    """
    clients: dict[str, RawClient] = {}
    out = []
    try:
        for who, *args in steps:
            name = who.rstrip("~")
            cl = clients.get(name)
            if cl is None:
                cl = clients[name] = RawClient(port)
                if on_client is not None:
                    on_client(cl)
            reply = cl.command(*args)
            if not who.endswith("~"):
                out.append(reply)
    finally:
        for cl in clients.values():
            cl.close()
    return out


def real_flush(port: int) -> None:
    cl = RawClient(port)
    cl.command("FLUSHALL")
    cl.close()


def differential(server, real_port: int, steps) -> None:
    real_flush(real_port)
    expected = run_steps(real_port, steps)
    got = run_steps(server.port, steps)
    for i, (g, e) in enumerate(zip(got, expected, strict=False)):
        assert g == e, f"step {i} {steps[i]}: trioredis {g!r} != redis {e!r}"
    assert len(got) == len(expected)


@pytest.fixture(scope="module")
def debug_redis():
    """A real Redis of our own, with DEBUG allowed (to switch active expiry off)."""
    rr = RealRedis("--enable-debug-command", "yes")
    yield rr
    rr.stop()


# -- queueing, errors, aborts -------------------------------------------------------------------

QUEUE_CASES = {
    "queued": [("a", "MULTI"), ("a", "SET", "k", "1"), ("a", "INCR", "k"), ("a", "GET", "k"),
               ("a", "PING"), ("a", "ECHO", "x"), ("a", "EXEC"), ("a", "GET", "k")],
    "empty": [("a", "MULTI"), ("a", "EXEC")],
    "lowercase": [("a", "multi"), ("a", "set", "k", "v"), ("a", "exec")],
    "nested": [("a", "MULTI"), ("a", "MULTI"), ("a", "SET", "k", "1"), ("a", "EXEC")],
    "watch_inside": [("a", "MULTI"), ("a", "WATCH", "k"), ("a", "SET", "k", "2"), ("a", "EXEC")],
    "exec_without": [("a", "EXEC"), ("a", "DISCARD")],
    "discard": [("a", "MULTI"), ("a", "SET", "k", "1"), ("a", "DISCARD"), ("a", "GET", "k"),
                ("a", "EXEC")],
    "unknown_aborts": [("a", "MULTI"), ("a", "NOSUCH", "x"), ("a", "SET", "k", "1"),
                       ("a", "EXEC"), ("a", "GET", "k"), ("a", "EXEC")],
    "arity_aborts": [("a", "MULTI"), ("a", "GET"), ("a", "SET", "k", "1"), ("a", "EXEC"),
                     ("a", "EXISTS", "k")],
    "exec_arity": [("a", "MULTI"), ("a", "SET", "k", "3"), ("a", "EXEC", "x"), ("a", "EXEC"),
                   ("a", "EXISTS", "k")],
    "exec_arity_no_multi": [("a", "EXEC", "x")],
    "discard_arity": [("a", "MULTI"), ("a", "DISCARD", "x"), ("a", "EXEC")],
    "multi_arity": [("a", "MULTI", "x"), ("a", "EXEC")],
    "error_then_discard": [("a", "MULTI"), ("a", "NOSUCH"), ("a", "DISCARD"), ("a", "PING")],
    "runtime_errors_no_rollback": [
        ("a", "SET", "s", "x"), ("a", "MULTI"), ("a", "INCR", "s"), ("a", "SET", "t", "1"),
        ("a", "LPUSH", "t", "a"), ("a", "GET", "t"), ("a", "EXEC"), ("a", "GET", "t")],
    "select_inside": [("a", "MULTI"), ("a", "SELECT", "1"), ("a", "SET", "in1", "1"),
                      ("a", "EXEC"), ("a", "EXISTS", "in1"), ("a", "SELECT", "0"),
                      ("a", "EXISTS", "in1")],
    "select_bad_inside": [("a", "MULTI"), ("a", "SELECT", "99"), ("a", "SET", "k", "1"),
                          ("a", "EXEC")],
    "unwatch_inside": [("a", "WATCH", "k"), ("a", "MULTI"), ("a", "UNWATCH"), ("a", "EXEC")],
    "blocking_acts_nonblocking": [("a", "MULTI"), ("a", "BLPOP", "nolist", "0"),
                                  ("a", "EXEC")],
    "watch_arity": [("a", "WATCH"), ("a", "UNWATCH", "x")],
    "subscribe_inside": [("a", "MULTI"), ("a", "SUBSCRIBE", "ch"), ("a", "PING"), ("a", "EXEC"),
                         ("a", "PING"), ("a", "UNSUBSCRIBE")],
    "ssubscribe_inside": [("a", "MULTI"), ("a", "SSUBSCRIBE", "ch"), ("a", "EXEC")],
    "isolated_from_others": [("a", "MULTI"), ("a", "INCR", "n"), ("b", "SET", "n", "10"),
                             ("a", "INCR", "n"), ("a", "EXEC")],
    "quit_inside": [("a", "MULTI"), ("a", "SET", "k", "1"), ("a", "QUIT")],
}


@pytest.mark.parametrize("name", sorted(QUEUE_CASES))
def test_queue_and_abort(server, real_redis, name):
    differential(server, real_redis.port, QUEUE_CASES[name])


# -- WATCH ---------------------------------------------------------------------------------

WATCH_CASES = {
    "untouched": [("a", "SET", "k", "1"), ("a", "WATCH", "k", "x", "y"), ("a", "MULTI"),
                  ("a", "PING"), ("a", "EXEC")],
    "modified_by_other": [("a", "SET", "k", "1"), ("a", "WATCH", "k"), ("b", "SET", "k", "2"),
                          ("a", "MULTI"), ("a", "SET", "k", "3"), ("a", "EXEC"),
                          ("a", "GET", "k")],
    "one_of_many": [("a", "WATCH", "a", "b", "k", "c"), ("b", "SET", "k", "2"), ("a", "MULTI"),
                    ("a", "PING"), ("a", "EXEC")],
    "same_value": [("a", "SET", "k", "1"), ("a", "WATCH", "k"), ("b", "SET", "k", "1"),
                   ("a", "MULTI"), ("a", "PING"), ("a", "EXEC")],
    "by_self_before_multi": [("a", "WATCH", "k"), ("a", "SET", "k", "1"), ("a", "MULTI"),
                             ("a", "PING"), ("a", "EXEC")],
    "modified_during_multi": [("a", "WATCH", "k"), ("a", "MULTI"), ("b", "INCR", "k"),
                              ("a", "PING"), ("a", "EXEC")],
    "missing_then_created": [("a", "WATCH", "k"), ("b", "SET", "k", "1"), ("a", "MULTI"),
                             ("a", "PING"), ("a", "EXEC")],
    "missing_del_missing": [("a", "WATCH", "k"), ("b", "DEL", "k"), ("a", "MULTI"),
                            ("a", "PING"), ("a", "EXEC")],
    "read_does_not_touch": [("a", "SET", "k", "1"), ("a", "WATCH", "k"), ("b", "GET", "k"),
                            ("b", "EXISTS", "k"), ("a", "MULTI"), ("a", "PING"), ("a", "EXEC")],
    "deleted": [("a", "SET", "k", "1"), ("a", "WATCH", "k"), ("b", "DEL", "k"), ("a", "MULTI"),
                ("a", "PING"), ("a", "EXEC")],
    "expire_command": [("a", "SET", "k", "1"), ("a", "WATCH", "k"), ("b", "EXPIRE", "k", "100"),
                       ("a", "MULTI"), ("a", "PING"), ("a", "EXEC")],
    "rename_onto": [("a", "SET", "j", "1"), ("a", "WATCH", "k"), ("b", "RENAME", "j", "k"),
                    ("a", "MULTI"), ("a", "PING"), ("a", "EXEC")],
    "rename_away": [("a", "SET", "k", "1"), ("a", "WATCH", "k"), ("b", "RENAME", "k", "j"),
                    ("a", "MULTI"), ("a", "PING"), ("a", "EXEC")],
    "flushdb_existing": [("a", "SET", "k", "1"), ("a", "WATCH", "k"), ("b", "FLUSHDB"),
                         ("a", "MULTI"), ("a", "PING"), ("a", "EXEC")],
    "flushdb_missing": [("a", "WATCH", "k"), ("b", "FLUSHDB"), ("a", "MULTI"), ("a", "PING"),
                        ("a", "EXEC")],
    "flushall_existing": [("a", "SET", "k", "1"), ("a", "WATCH", "k"), ("b", "FLUSHALL"),
                          ("a", "MULTI"), ("a", "PING"), ("a", "EXEC")],
    "flushall_missing": [("a", "WATCH", "k"), ("b", "FLUSHALL"), ("a", "MULTI"), ("a", "PING"),
                         ("a", "EXEC")],
    "swapdb_existing": [("a", "SET", "k", "1"), ("a", "WATCH", "k"), ("b", "SWAPDB", "0", "1"),
                        ("a", "MULTI"), ("a", "PING"), ("a", "EXEC")],
    "swapdb_from_other": [("b", "SELECT", "1"), ("b", "SET", "k", "1"), ("a", "WATCH", "k"),
                          ("b", "SWAPDB", "0", "1"), ("a", "MULTI"), ("a", "PING"),
                          ("a", "EXEC")],
    "swapdb_missing_both": [("a", "WATCH", "k"), ("b", "SWAPDB", "0", "1"), ("a", "MULTI"),
                            ("a", "PING"), ("a", "EXEC")],
    "other_db_same_name": [("a", "WATCH", "k"), ("b", "SELECT", "1"), ("b", "SET", "k", "1"),
                           ("a", "MULTI"), ("a", "PING"), ("a", "EXEC")],
    "watch_in_db1": [("a", "SELECT", "1"), ("a", "WATCH", "k"), ("a", "SELECT", "0"),
                     ("b", "SELECT", "1"), ("b", "SET", "k", "1"), ("a", "MULTI"),
                     ("a", "PING"), ("a", "EXEC")],
    "unwatch_clears": [("a", "WATCH", "k"), ("b", "SET", "k", "1"), ("a", "UNWATCH"),
                       ("a", "MULTI"), ("a", "PING"), ("a", "EXEC")],
    "exec_clears": [("a", "WATCH", "k"), ("a", "MULTI"), ("a", "PING"), ("a", "EXEC"),
                    ("b", "SET", "k", "1"), ("a", "MULTI"), ("a", "PING"), ("a", "EXEC")],
    "aborted_exec_clears": [("a", "WATCH", "k"), ("b", "SET", "k", "1"), ("a", "MULTI"),
                            ("a", "EXEC"), ("a", "MULTI"), ("a", "PING"), ("a", "EXEC")],
    "discard_clears": [("a", "WATCH", "k"), ("a", "MULTI"), ("a", "DISCARD"),
                       ("b", "SET", "k", "1"), ("a", "MULTI"), ("a", "PING"), ("a", "EXEC")],
    "execabort_wins_over_watch": [("a", "WATCH", "k"), ("b", "SET", "k", "1"), ("a", "MULTI"),
                                  ("a", "NOSUCH"), ("a", "EXEC")],
    "watch_twice": [("a", "WATCH", "k"), ("a", "WATCH", "k", "k"), ("b", "SET", "k", "1"),
                    ("a", "MULTI"), ("a", "PING"), ("a", "EXEC"), ("a", "MULTI"),
                    ("a", "PING"), ("a", "EXEC")],
    "several_watchers": [("a", "WATCH", "k"), ("c", "WATCH", "k"), ("b", "SET", "k", "1"),
                         ("a", "MULTI"), ("a", "PING"), ("a", "EXEC"), ("c", "MULTI"),
                         ("c", "PING"), ("c", "EXEC")],
    "own_write_in_exec": [("a", "WATCH", "k"), ("a", "MULTI"), ("a", "SET", "k", "1"),
                          ("a", "EXEC"), ("a", "MULTI"), ("a", "GET", "k"), ("a", "EXEC")],
}


@pytest.mark.parametrize("name", sorted(WATCH_CASES))
def test_watch(server, real_redis, name):
    differential(server, real_redis.port, WATCH_CASES[name])


MY_COMMANDS = ["multi", "exec", "discard", "watch", "unwatch", "subscribe", "unsubscribe",
               "psubscribe", "punsubscribe", "ssubscribe", "sunsubscribe", "publish", "spublish",
               "pubsub", "pubsub|channels", "pubsub|numsub", "pubsub|numpat",
               "pubsub|shardchannels", "pubsub|shardnumsub", "pubsub|help"]


def _parse(raw: bytes):
    import hiredis

    r = hiredis.Reader()
    r.feed(raw)
    return r.gets()


@pytest.mark.parametrize("name", MY_COMMANDS)
def test_command_table_entries(server, real_redis, name):
    """Arity, flags, key positions and ACL categories (COMMAND INFO), summary/since/group/
    complexity (COMMAND DOCS) as Redis 7.0 has them."""
    ours, theirs = RawClient(server.port), RawClient(real_redis.port)
    try:
        got = _parse(ours.command("COMMAND", "INFO", name))
        if not isinstance(got, list):
            pytest.skip("COMMAND not implemented yet")
        assert got[0][:7] == _parse(theirs.command("COMMAND", "INFO", name))[0][:7]
        docs = [_parse(cl.command("COMMAND", "DOCS", name)) for cl in (ours, theirs)]
        fields = []
        for d in docs:
            d = dict(zip(d[1][0::2], d[1][1::2], strict=True))
            fields.append({k: d.get(k) for k in (b"summary", b"since", b"group", b"complexity")})
        assert fields[0] == fields[1]
    finally:
        ours.close()
        theirs.close()


# -- RESP3 ----------------------------------------------------------------------------------


def hello3(server):
    """Switch a new trioredis connection to RESP3 (HELLO 3, or directly if HELLO is missing)."""

    def on_client(cl: RawClient) -> None:
        reply = cl.command("HELLO", "3")
        if not reply.startswith(b"-ERR unknown command"):
            return
        port = cl.sock.getsockname()[1]

        def switch():
            for c in server.server.clients.values():
                if c.addr.endswith(f":{port}"):
                    c.set_resp(3)

        server.call(switch)

    return on_client


def _real_hello3(cl: RawClient) -> None:
    cl.command("HELLO", "3")


RESP3_CASES = {
    "watch_abort_null": WATCH_CASES["modified_by_other"],
    "execabort": QUEUE_CASES["unknown_aborts"],
    "runtime_errors": QUEUE_CASES["runtime_errors_no_rollback"],
    "subscribe_inside": [("a", "MULTI"), ("a", "SUBSCRIBE", "x", "y"), ("a", "EXEC"),
                         ("a", "GET", "k")],
}


@pytest.mark.parametrize("name", sorted(RESP3_CASES))
def test_resp3(server, real_redis, name):
    steps = RESP3_CASES[name]
    real_flush(real_redis.port)
    expected = run_steps(real_redis.port, steps, _real_hello3)
    got = run_steps(server.port, steps, hello3(server))
    assert got == expected


# -- re-checks at EXEC time ----------------------------------------------------------------------


def test_exec_on_replica_turned_read_only(server, real_redis):
    """Redis 7.0 checks EXEC with the flags of its queue: a read-only replica aborts it."""
    after = [("EXEC",), ("MULTI",), ("SET", "k", "1"), ("EXEC",), ("MULTI",), ("GET", "k"),
             ("EXEC",)]

    real_flush(real_redis.port)
    cl, admin = RawClient(real_redis.port), RawClient(real_redis.port)
    cl.command("MULTI")
    cl.command("SET", "k", "1")
    admin.command("REPLICAOF", "127.0.0.1", "1")
    try:
        expected = [cl.command(*s) for s in after]
    finally:
        admin.command("REPLICAOF", "NO", "ONE")
        cl.close()
        admin.close()

    def set_role(role):
        srv = server.server
        srv.role = role
        srv.update_guard()

    cl = RawClient(server.port)
    cl.command("MULTI")
    cl.command("SET", "k", "1")
    server.call(set_role, "slave")
    try:
        got = [cl.command(*s) for s in after]
    finally:
        server.call(set_role, "master")
        cl.close()
    assert got == expected
    assert got[0] == (b"-EXECABORT Transaction discarded because of: READONLY You can't write "
                      b"against a read only replica.\r\n")


def test_exec_on_replica_turned_stale(server, real_redis):
    """replica-serve-stale-data no: a read queued before REPLICAOF (the link is down) makes
    EXEC fail with MASTERDOWN, as on Redis 7.0.15 (unit/multi); after REPLICAOF NO ONE the
    same transaction runs. The real REPLICAOF path, no role set by hand."""

    def script(port):
        cl, admin = RawClient(port), RawClient(port)
        try:
            admin.command("CONFIG", "SET", "replica-serve-stale-data", "no")
            cl.command("SET", "xx", "1")
            out = [cl.command("MULTI"), cl.command("GET", "xx")]
            admin.command("REPLICAOF", "127.0.0.1", "1")  # nothing listens there: link down
            out += [cl.command("EXEC"), cl.command("GET", "xx"), cl.command("MULTI"),
                    cl.command("PING")]
            out.append(cl.command("EXEC"))
            admin.command("REPLICAOF", "NO", "ONE")
            out += [cl.command("MULTI"), cl.command("GET", "xx"), cl.command("EXEC")]
            return out
        finally:
            admin.command("REPLICAOF", "NO", "ONE")
            admin.command("CONFIG", "SET", "replica-serve-stale-data", "yes")
            cl.close()
            admin.close()

    real_flush(real_redis.port)
    expected = script(real_redis.port)
    got = script(server.port)
    assert got == expected
    assert got[2].startswith(b"-EXECABORT Transaction discarded because of: MASTERDOWN ")


# -- unit level: a core.Server with a manual clock -------------------------------------------------


class Node:
    """A core.Server without sockets; ``run(c, *args)`` returns the RESP bytes of the reply."""

    def __init__(self, clock=None):
        self.clock = clock or ManualClock()
        self.srv = Server(clock=self.clock)

    def client(self):
        return self.srv.new_client()

    def run(self, c, *args) -> bytes:
        argv = [a if isinstance(a, bytes) else str(a).encode() for a in args]
        return c.encode(self.srv.execute(c, argv))


class TickingClock(ManualClock):
    """Every reading of the time moves it one second on: only a frozen clock stands still."""

    def time(self) -> float:
        self.now += 1.0
        return self.now


def test_time_frozen_during_exec():
    node = Node(TickingClock())
    c = node.client()
    assert node.run(c, "MULTI") == b"+OK\r\n"
    node.run(c, "SET", "k", "v", "PX", "500")
    node.run(c, "GET", "k")
    node.run(c, "PTTL", "k")
    assert node.run(c, "EXEC") == b"*3\r\n+OK\r\n$1\r\nv\r\n:500\r\n"
    assert node.run(c, "GET", "k") == b"$-1\r\n"  # time runs again after EXEC
    assert node.srv.frozen_ms == 0


def test_exec_flags_restored():
    node = Node()
    c = node.client()
    node.run(c, "MULTI")
    node.run(c, "PING")
    node.run(c, "EXEC")
    assert not c.in_multi and not c.in_exec and not c.deny_blocking and not c.guard
    assert node.srv.prop_buffer is None


def test_doomed_transaction_keeps_no_queue():
    node = Node()
    c = node.client()
    node.run(c, "MULTI")
    node.run(c, "NOSUCH")
    for _ in range(10):
        assert node.run(c, "SET", "k", "v") == b"+QUEUED\r\n"
    assert c.multi_queue == []
    assert node.run(c, "EXEC").startswith(b"-EXECABORT")


def test_unwatch_on_disconnect_and_exec():
    node = Node()
    c = node.client()
    db = node.srv.dbs[0]
    node.run(c, "WATCH", "a", "b")
    assert set(db.watched) == {b"a", b"b"}
    node.srv.free_client(c)
    assert db.watched == {}
    c = node.client()
    node.run(c, "WATCH", "a")
    node.run(c, "MULTI")
    node.run(c, "EXEC")
    assert db.watched == {} and c.watched == []


# -- expiry and WATCH (Redis 7.0's rules for already-expired keys) -----------------------------

# Steps: ("a"/"b", cmd...), ("expire",) lets every key with a TTL pass its deadline
# (keys are set with PX 100). Each case's last reply is the EXEC's.
EXPIRY_CASES = {
    "expired_at_watch": ([("a", "SET", "k", "v", "PX", "100"), ("expire",), ("a", "WATCH", "k"),
                          ("a", "MULTI"), ("a", "PING"), ("a", "EXEC")], b"*1\r\n+PONG\r\n"),
    "expired_at_watch_then_deleted": (
        [("a", "SET", "k", "v", "PX", "100"), ("expire",), ("a", "WATCH", "k"),
         ("b", "EXISTS", "k"), ("a", "MULTI"), ("a", "PING"), ("a", "EXEC")], b"*1\r\n+PONG\r\n"),
    "expired_at_watch_then_set": (
        [("a", "SET", "k", "v", "PX", "100"), ("expire",), ("a", "WATCH", "k"),
         ("b", "SET", "k", "x"), ("a", "MULTI"), ("a", "PING"), ("a", "EXEC")], b"*-1\r\n"),
    "expired_deleted_then_set": (
        [("a", "SET", "k", "v", "PX", "100"), ("expire",), ("a", "WATCH", "k"),
         ("b", "EXISTS", "k"), ("b", "SET", "k", "x"), ("a", "MULTI"), ("a", "PING"),
         ("a", "EXEC")], b"*-1\r\n"),
    "expires_after_watch": (
        [("a", "SET", "k", "v", "PX", "100"), ("a", "WATCH", "k"), ("expire",), ("a", "MULTI"),
         ("a", "PING"), ("a", "EXEC")], b"*-1\r\n"),
    "expires_after_watch_deleted": (
        [("a", "SET", "k", "v", "PX", "100"), ("a", "WATCH", "k"), ("expire",),
         ("b", "EXISTS", "k"), ("a", "MULTI"), ("a", "PING"), ("a", "EXEC")], b"*-1\r\n"),
    "two_expired_second_deleted": (
        [("a", "SET", "A", "v", "PX", "100"), ("a", "SET", "B", "v", "PX", "100"), ("expire",),
         ("a", "WATCH", "A", "B"), ("b", "EXISTS", "B"), ("a", "MULTI"), ("a", "PING"),
         ("a", "EXEC")], b"*1\r\n+PONG\r\n"),
    "alive_and_expired_deleted": (
        [("a", "SET", "C", "v"), ("a", "SET", "A", "v", "PX", "100"), ("expire",),
         ("a", "WATCH", "C", "A"), ("b", "EXISTS", "A"), ("a", "MULTI"), ("a", "PING"),
         ("a", "EXEC")], b"*1\r\n+PONG\r\n"),
    "expired_flushdb": (
        [("a", "SET", "k", "v", "PX", "100"), ("expire",), ("a", "WATCH", "k"),
         ("b", "FLUSHDB"), ("a", "MULTI"), ("a", "PING"), ("a", "EXEC")], b"*1\r\n+PONG\r\n"),
    "swap_missing_for_expired": (
        [("b", "SELECT", "1"), ("b", "SET", "k", "v", "PX", "100"), ("expire",),
         ("a", "WATCH", "k"), ("a", "SWAPDB", "0", "1"), ("a", "MULTI"), ("a", "PING"),
         ("a", "EXEC")], b"*1\r\n+PONG\r\n"),
    "swap_expired_for_alive": (
        [("a", "SET", "k", "v", "PX", "100"), ("b", "SELECT", "1"), ("b", "SET", "k", "v"),
         ("expire",), ("a", "WATCH", "k"), ("a", "SWAPDB", "0", "1"), ("a", "MULTI"),
         ("a", "PING"), ("a", "EXEC")], b"*-1\r\n"),
    "swap_expired_for_expired": (
        [("a", "SET", "k", "v", "PX", "100"), ("b", "SELECT", "1"),
         ("b", "SET", "k", "v", "PX", "100"), ("expire",), ("a", "WATCH", "k"),
         ("a", "SWAPDB", "0", "1"), ("a", "MULTI"), ("a", "PING"), ("a", "EXEC")],
        b"*1\r\n+PONG\r\n"),
    "swap_expired_for_missing": (
        [("a", "SET", "k", "v", "PX", "100"), ("expire",), ("a", "WATCH", "k"),
         ("a", "SWAPDB", "0", "1"), ("a", "MULTI"), ("a", "PING"), ("a", "EXEC")],
        b"*1\r\n+PONG\r\n"),
    "swap_alive_for_expired": (
        [("a", "SET", "k", "v"), ("b", "SELECT", "1"), ("b", "SET", "k", "v", "PX", "100"),
         ("expire",), ("a", "WATCH", "k"), ("a", "SWAPDB", "0", "1"), ("a", "MULTI"),
         ("a", "PING"), ("a", "EXEC")], b"*-1\r\n"),
    "swap_in_expired_then_set": (
        [("b", "SELECT", "1"), ("b", "SET", "k", "v", "PX", "100"), ("expire",),
         ("a", "WATCH", "k"), ("a", "SWAPDB", "0", "1"), ("b", "SELECT", "0"),
         ("b", "SET", "k", "1"), ("a", "MULTI"), ("a", "PING"), ("a", "EXEC")], b"*-1\r\n"),
}


@pytest.mark.parametrize("name", sorted(EXPIRY_CASES))
def test_watch_expiry_real_redis(debug_redis, name):
    """The expectations hold on a real Redis 7.0 (active expiry off, deadlines waited out)."""
    steps, expected = EXPIRY_CASES[name]
    a, b = RawClient(debug_redis.port), RawClient(debug_redis.port)
    try:
        a.command("FLUSHALL")
        a.command("DEBUG", "SET-ACTIVE-EXPIRE", "0")
        deadline = 0.0
        last = None
        for who, *args in steps:
            if who == "expire":
                while time.time() < deadline + 0.002:
                    time.sleep(deadline + 0.002 - time.time())
                continue
            if "PX" in args:
                deadline = time.time() + 0.1
            last = (a if who == "a" else b).command(*args)
        assert last == expected
    finally:
        a.command("DEBUG", "SET-ACTIVE-EXPIRE", "1")
        a.close()
        b.close()


@pytest.mark.parametrize("name", sorted(EXPIRY_CASES))
def test_watch_expiry_trioredis(name):
    steps, expected = EXPIRY_CASES[name]
    node = Node()
    a, b = node.client(), node.client()
    last = None
    for who, *args in steps:
        if who == "expire":
            node.clock.advance(0.2)
            continue
        last = node.run(a if who == "a" else b, *args)
    assert last == expected


# -- propagation: compared with what a real Redis 7.0 writes to its AOF ---------------------------


def _resp(argv) -> bytes:
    return b"*%d\r\n" % len(argv) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in argv)


class AofLike:
    """A propagation target that writes what Redis's AOF would (SELECT when the db changes)."""

    def __init__(self, db: int = 0):
        self.db = db
        self.data = b""

    def __call__(self, dbid, argv):
        if dbid != self.db:
            self.data += _resp([b"SELECT", b"%d" % dbid])
            self.db = dbid
        self.data += _resp([a if isinstance(a, bytes) else str(a).encode() for a in argv])


PROPAGATION_CASES = {
    "one_write_not_wrapped": [("MULTI",), ("SET", "a", "1"), ("EXEC",)],
    "two_writes": [("MULTI",), ("SET", "a", "1"), ("SET", "b", "2"), ("EXEC",)],
    "no_writes": [("MULTI",), ("GET", "a"), ("EXEC",)],
    "select_inside": [("MULTI",), ("SELECT", "1"), ("SET", "a", "1"), ("SELECT", "0"),
                      ("SET", "b", "1"), ("EXEC",)],
    "noop_write": [("MULTI",), ("DEL", "nokey"), ("EXEC",)],
    "noop_and_write": [("MULTI",), ("DEL", "nokey"), ("SET", "c", "1"), ("EXEC",)],
    "failing_write": [("MULTI",), ("SET", "e", "1"), ("LPUSH", "e", "x"), ("EXEC",)],
    "watch_abort": [("WATCH", "zz"), ("SET", "zz", "1"), ("MULTI",), ("SET", "g", "1"),
                    ("EXEC",)],
    "execabort": [("MULTI",), ("SET", "g", "1"), ("NOSUCH",), ("EXEC",)],
    "in_db2": [("SELECT", "2"), ("MULTI",), ("SET", "a", "1"), ("INCR", "n"), ("EXEC",)],
}


@pytest.fixture(scope="module")
def aof_redis():
    rr = RealRedis("--appendonly", "yes", "--appendfsync", "always")
    yield rr
    rr.stop()


def _aof_size(rr) -> tuple[str, int]:
    for _ in range(200):
        files = glob.glob(os.path.join(rr.dir, "appendonlydir", "*.incr.aof"))
        if files:
            return files[0], os.path.getsize(files[0])
        time.sleep(0.01)
    raise AssertionError("no AOF file")


@pytest.mark.parametrize("name", sorted(PROPAGATION_CASES))
def test_propagation_matches_aof(server, aof_redis, name):
    steps = PROPAGATION_CASES[name]
    cl = RawClient(aof_redis.port)
    cl.command("FLUSHALL")
    path, start = _aof_size(aof_redis)
    real_replies = [cl.command(*s) for s in steps]
    cl.command("SELECT", "9")
    cl.command("SET", "end-marker", "1")  # a known last write: the AOF is complete up to here
    cl.close()
    with open(path, "rb") as f:
        f.seek(start)
        expected = f.read()
    expected = expected[: expected.rindex(_resp([b"SELECT", b"9"]))]

    rec = AofLike()
    server.call(lambda: server.server.propagate_targets.append(rec))
    ours = RawClient(server.port)
    our_replies = [ours.command(*s) for s in steps]
    ours.close()
    assert our_replies == real_replies
    # FLUSHALL (from db 0) left the AOF's selected db at 0, where our recorder starts.
    assert server.call(lambda: rec.data) == expected


def test_expired_key_deletion_joins_the_unit():
    """A DEL for a key found expired during EXEC goes inside the MULTI/EXEC unit."""
    node = Node()
    rec = AofLike(db=-1)
    node.srv.propagate_targets.append(rec)
    c = node.client()
    node.run(c, "SET", "x", "1", "PX", "100")
    node.clock.advance(1)
    rec.data = b""
    rec.db = -1
    node.run(c, "MULTI")
    node.run(c, "GET", "x")
    node.run(c, "SET", "f", "1")
    assert node.run(c, "EXEC") == b"*2\r\n$-1\r\n+OK\r\n"
    assert rec.data == (_resp([b"SELECT", b"0"]) + _resp([b"MULTI"]) + _resp([b"DEL", b"x"])
                        + _resp([b"SET", b"f", b"1"]) + _resp([b"EXEC"]))


# -- the replication stream: compared with a real master's, as seen by a fake replica ------------


class FakeReplica:
    """A raw PSYNC connection to a real Redis, reading its replication stream."""

    def __init__(self, port: int):
        self.cl = RawClient(port)
        assert self.cl.command("REPLCONF", "listening-port", "1") == b"+OK\r\n"
        self.cl.send(_resp([b"PSYNC", b"?", b"-1"]))
        assert self.cl._line().startswith(b"+FULLRESYNC")
        while True:  # the RDB: "$<len>\r\n<payload>" (no CRLF after it), maybe after "\n"s
            self.cl.buf = self.cl.buf.lstrip(b"\n")
            if self.cl.buf.startswith(b"$") and b"\r\n" in self.cl.buf:
                break
            self.cl._fill()
        n = int(self.cl._line()[1:-2])
        while len(self.cl.buf) < n:
            self.cl._fill()
        self.cl.buf = self.cl.buf[n:]

    def stream_until(self, marker: bytes) -> bytes:
        out = b""
        while True:
            reply = self.cl.read_reply()
            if marker in reply:
                return out
            if reply != _resp([b"PING"]):
                out += reply

    def close(self):
        self.cl.close()


REPL_CASES = {
    "publish": [("PUBLISH", "ch", "m")],
    "publish_in_multi": [("MULTI",), ("PUBLISH", "ch", "m"), ("EXEC",)],
    "write_and_publish": [("MULTI",), ("SET", "a", "1"), ("PUBLISH", "ch", "m"), ("EXEC",)],
    "spublish": [("SPUBLISH", "ch", "m"), ("SET", "b", "1")],
    "two_writes": [("MULTI",), ("SET", "a", "1"), ("SELECT", "3"), ("SET", "b", "1"),
                   ("EXEC",)],
}


@pytest.mark.parametrize("name", sorted(REPL_CASES))
def test_replication_stream_matches_redis(server, name):
    rr = RealRedis()
    try:
        replica = FakeReplica(rr.port)
        cl = RawClient(rr.port)
        real_replies = [cl.command(*s) for s in REPL_CASES[name]]
        cl.command("PUBLISH", "end-marker", "1")
        expected = replica.stream_until(b"end-marker")
        cl.close()
        replica.close()
    finally:
        rr.stop()

    rec = AofLike(db=-1)

    def attach():
        server.server.propagate_targets.append(rec)
        server.server.add_hook("propagate_repl", rec)

    server.call(attach)
    ours = RawClient(server.port)
    our_replies = [ours.command(*s) for s in REPL_CASES[name]]
    ours.close()
    assert our_replies == real_replies
    assert server.call(lambda: rec.data) == expected

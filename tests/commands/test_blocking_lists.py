"""Blocking list pops: BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP.

Unit tests drive a bare core.Server (blocks registered as the connection layer does); the
integration tests use real sockets, one thread and one redis-py connection per blocked client.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest
import redis

from trioredis.core import Block
from trioredis.protocol.replies import NULL_ARRAY, ErrorReply

from ..helpers import RawClient, free_port, wait_port
from . import common

# -- unit -------------------------------------------------------------------------------------


class Harness(common.Harness):
    def run(self, c, *args):
        argv = [a if isinstance(a, bytes) else str(a).encode() for a in args]
        return self.srv.execute(c, argv)

    def __call__(self, *args):
        return self.run(self.c, *args)

    def block(self, *args) -> Block:
        """A new client that runs ``args`` and must block (registered like connection.py)."""
        c = self.srv.new_client()
        argv = [a if isinstance(a, bytes) else str(a).encode() for a in args]
        blk = self.srv.execute(c, argv)
        assert blk.__class__ is Block, blk
        self.srv.register_block(blk, None, argv)
        return blk

    def waiting(self, key: bytes) -> int:
        return len(self.srv.dbs[0].blocking.get(key, ()))


@pytest.fixture
def h():
    return Harness()


def test_served_at_once_propagates_the_non_blocking_form(h):
    h("RPUSH", "k", "a", "b", "c", "d", "e")
    h.props.clear()
    assert h("BLPOP", "nope", "k", "0") == [b"k", b"a"]
    assert h("BRPOP", "k", "0") == [b"k", b"e"]
    assert h("BLMOVE", "k", "d", "LEFT", "right", "0") == b"b"
    assert h("BRPOPLPUSH", "k", "d", "0") == b"d"
    assert h("BLMPOP", "0", "1", "k", "LEFT", "COUNT", "9") == [b"k", [b"c"]]
    assert h.props == [
        [b"LPOP", b"k"],
        [b"RPOP", b"k"],
        [b"LMOVE", b"k", b"d", b"LEFT", b"right"],
        [b"RPOPLPUSH", b"k", b"d"],
        [b"LPOP", b"k", b"1"],
    ]


def test_served_later_propagates_the_non_blocking_form(h):
    b1 = h.block("BLPOP", "k", "0")
    b2 = h.block("BLMPOP", "0", "1", "k", "RIGHT", "COUNT", "2")
    b3 = h.block("BLMOVE", "k", "dst", "RIGHT", "LEFT", "0")
    h.props.clear()
    assert h("RPUSH", "k", "a", "b", "c", "d") == 4  # the reply is the length before serving
    assert b1.done and b1.reply == [b"k", b"a"]
    assert b2.done and b2.reply == [b"k", [b"d", b"c"]]
    assert b3.done and b3.reply == b"b"
    assert h.props == [
        [b"RPUSH", b"k", b"a", b"b", b"c", b"d"],
        [b"LPOP", b"k"],
        [b"RPOP", b"k", b"2"],
        [b"LMOVE", b"k", b"dst", b"RIGHT", b"LEFT"],
    ]
    assert b"k" not in h.srv.dbs[0].data
    assert h.waiting(b"k") == 0


def test_first_blocked_first_served_one_element_each(h):
    blocks = [h.block("BLPOP", "k", "0") for _ in range(3)]
    h("RPUSH", "k", "a", "b")
    assert [b.reply for b in blocks[:2]] == [[b"k", b"a"], [b"k", b"b"]]
    assert not blocks[2].done and h.waiting(b"k") == 1
    h("LPUSH", "k", "c")
    assert blocks[2].reply == [b"k", b"c"]


def test_multi_key_wait_is_served_from_the_key_that_got_data(h):
    blk = h.block("BRPOP", "a", "b", "c", "0")
    assert h.waiting(b"a") == h.waiting(b"b") == h.waiting(b"c") == 1
    h("RPUSH", "b", "x")
    assert blk.reply == [b"b", b"x"]
    assert h.waiting(b"a") == h.waiting(b"b") == h.waiting(b"c") == 0


def test_duplicate_keys_block_once(h):
    blk = h.block("BLPOP", "k", "k", "0")
    h("RPUSH", "k", "a", "b")
    assert blk.reply == [b"k", b"a"]
    assert h("LRANGE", "k", "0", "-1") == [b"b"]
    assert h.waiting(b"k") == 0


def test_other_type_does_not_wake_list_waiters(h):
    blk = h.block("BLPOP", "k", "0")
    h("SET", "k", "x")
    assert not blk.done
    h("DEL", "k")
    h("RPUSH", "k", "a")
    assert blk.reply == [b"k", b"a"]


def test_blmove_to_a_wrong_type_destination_errors_when_served(h):
    h("SET", "dst", "x")
    blk = h.block("BLMOVE", "src", "dst", "LEFT", "LEFT", "0")
    h("RPUSH", "src", "a")
    assert blk.reply.__class__ is ErrorReply and blk.reply.message.startswith("WRONGTYPE")
    assert h("LRANGE", "src", "0", "-1") == [b"a"]


def test_blmove_chains_into_the_destinations_waiters(h):
    mover = h.block("BLMOVE", "a", "b", "RIGHT", "LEFT", "0")
    popper = h.block("BLPOP", "b", "0")
    h.props.clear()
    h("RPUSH", "a", "x")
    assert mover.reply == b"x"
    assert popper.reply == [b"b", b"x"]
    assert h.srv.dbs[0].data == {}
    assert h.props == [[b"RPUSH", b"a", b"x"], [b"LMOVE", b"a", b"b", b"RIGHT", b"LEFT"],
                       [b"LPOP", b"b"]]


def test_brpoplpush_chain_of_three(h):
    first = h.block("BRPOPLPUSH", "a", "b", "0")
    second = h.block("BRPOPLPUSH", "b", "c", "0")
    last = h.block("BLMPOP", "0", "1", "c", "LEFT")
    h("LPUSH", "a", "v")
    assert (first.reply, second.reply, last.reply) == (b"v", b"v", [b"c", [b"v"]])
    assert h.srv.dbs[0].data == {}


def test_blocked_brpoplpush_does_not_touch_watch_until_served(h):
    """unit/type/list: "BRPOPLPUSH does not affect WATCH while still blocked"."""
    blk = h.block("BRPOPLPUSH", "src", "dst", "0")
    w = h.srv.new_client()
    h("SET", "somekey", "somevalue")
    assert h.run(w, "WATCH", "dst") == "OK"
    h.run(w, "MULTI")
    h.run(w, "GET", "somekey")
    assert h.run(w, "EXEC") == [b"somevalue"]
    h.run(w, "WATCH", "dst")
    h("LPUSH", "src", "element")  # served: its push into dst is a change to dst
    assert blk.reply == b"element"
    h.run(w, "MULTI")
    h.run(w, "GET", "somekey")
    assert h.run(w, "EXEC") == NULL_ARRAY


def test_inside_multi_blocking_pops_do_not_block(h):
    assert h("MULTI") == "OK"
    for cmd in (("BLPOP", "k", "0"), ("BRPOP", "k", "0"), ("BLMOVE", "k", "d", "LEFT", "LEFT", "0"),
                ("BRPOPLPUSH", "k", "d", "0"), ("BLMPOP", "0", "1", "k", "LEFT")):
        assert h(*cmd) == "QUEUED"
    assert h("EXEC") == [NULL_ARRAY, NULL_ARRAY, None, None, NULL_ARRAY]


def test_exec_push_then_pop_wakes_nobody(h):
    blk = h.block("BLPOP", "k", "0")
    h("MULTI")
    h("RPUSH", "k", "a")
    h("LPOP", "k")
    assert h("EXEC") == [1, b"a"]
    assert not blk.done and h.waiting(b"k") == 1
    h("MULTI")
    h("RPUSH", "k", "a", "b")
    h("LPOP", "k")
    assert h("EXEC") == [2, b"a"]
    assert blk.reply == [b"k", b"b"]  # served after the whole EXEC, with what was left


def test_timeout_reply_and_unblock(h):
    blk = h.block("BLMOVE", "k", "d", "LEFT", "LEFT", "1.5")
    assert blk.timeout == 1.5 and blk.timeout_reply is NULL_ARRAY
    h.srv.unblock(blk)
    assert h.waiting(b"k") == 0
    assert h.block("BLPOP", "k", "0.0001").timeout == 0.001  # ceil to a millisecond
    assert h.block("BLPOP", "k", "-0.0001").timeout == 0  # rounds to 0: forever
    assert h.block("BLPOP", "k", "9223372036854775").timeout == 0  # deadline overflows


# -- integration: real sockets, one thread per blocked client ---------------------------------


def wait_for(fn, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not fn():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.005)


def waiters(server, key: bytes) -> int:
    return server.call(lambda: len(server.server.dbs[0].blocking.get(key, ())))


class Blocked(threading.Thread):
    """Runs one command on its own redis-py connection; ``result`` holds the reply."""

    def __init__(self, port, *cmd):
        super().__init__(daemon=True)
        self.client = redis.Redis(port=port, protocol=2, socket_timeout=15)
        self.cmd = cmd
        self.result = None
        self.error = None

    def run(self):
        try:
            result = self.client.execute_command(*self.cmd)
            self.result = list(result) if isinstance(result, tuple) else result
        except Exception as e:  # surfaced by the test
            self.error = e
        finally:
            self.client.close()


def start_in_order(server, key: bytes, cmds) -> list[Blocked]:
    threads = []
    for n, cmd in enumerate(cmds, 1):
        t = Blocked(server.port, *cmd)
        t.start()
        wait_for(lambda n=n: waiters(server, key) == n)
        threads.append(t)
    return threads


def test_fifo_fairness_three_clients(server):
    threads = start_in_order(server, b"k", [("BLPOP", "k", 0)] * 3)
    r = redis.Redis(port=server.port, protocol=2)
    assert r.rpush("k", "a", "b", "c") == 3
    for t in threads:
        t.join(10)
    assert [t.result for t in threads] == [[b"k", b"a"], [b"k", b"b"], [b"k", b"c"]]
    assert r.exists("k") == 0


def test_one_waiter_per_element(server):
    threads = start_in_order(server, b"k", [("BRPOP", "k", 0)] * 3)
    r = redis.Redis(port=server.port, protocol=2)
    r.lpush("k", "x")
    threads[0].join(10)
    assert threads[0].result == [b"k", b"x"]
    assert waiters(server, b"k") == 2
    assert threads[1].is_alive() and threads[2].is_alive()
    r.rpush("k", "y", "z")
    for t in threads[1:]:
        t.join(10)
    assert threads[1].result == [b"k", b"z"] and threads[2].result == [b"k", b"y"]  # from the right


def test_timeout_expires(server):
    r = redis.Redis(port=server.port, protocol=2, socket_timeout=10)
    start = time.monotonic()
    assert r.blpop(["k"], timeout=0.1) is None
    assert time.monotonic() - start >= 0.09
    assert r.execute_command("BLMOVE", "k", "d", "LEFT", "LEFT", "0.05") is None
    assert r.execute_command("BLMPOP", "0.05", "1", "k", "LEFT") is None
    assert waiters(server, b"k") == 0


def test_disconnect_while_blocked(server):
    raw = RawClient(server.port)
    raw.send(b"*3\r\n$5\r\nBLPOP\r\n$1\r\nk\r\n$1\r\n0\r\n")
    wait_for(lambda: waiters(server, b"k") == 1)
    raw.close()
    wait_for(lambda: server.call(lambda: b"k" not in server.server.dbs[0].blocking))
    r = redis.Redis(port=server.port, protocol=2)
    assert r.rpush("k", "a") == 1
    assert r.lrange("k", 0, -1) == [b"a"]  # nobody took it


def test_blmove_between_two_blocked_chains(server):
    movers = start_in_order(server, b"src", [("BLMOVE", "src", "mid", "LEFT", "RIGHT", 0)] * 2)
    poppers = start_in_order(server, b"mid", [("BLPOP", "mid", 0)] * 2)
    r = redis.Redis(port=server.port, protocol=2)
    r.rpush("src", "1", "2")
    for t in movers + poppers:
        t.join(10)
    assert [t.result for t in movers] == [b"1", b"2"]
    assert [t.result for t in poppers] == [[b"mid", b"1"], [b"mid", b"2"]]
    assert r.keys("*") == []


def test_multi_with_blpop_acts_non_blocking(server):
    r = redis.Redis(port=server.port, protocol=2)
    try:
        r.execute_command("EXEC")
    except redis.ResponseError as e:
        if "unknown command" in str(e):
            pytest.skip("MULTI/EXEC not available yet (transactions module)")
    pipe = r.pipeline(transaction=True)
    pipe.blpop(["k"], timeout=0)
    pipe.rpush("k", "a")
    pipe.blpop(["k"], timeout=0)
    assert [list(x) if isinstance(x, tuple) else x for x in pipe.execute()] == [
        None, 1, [b"k", b"a"]]


def test_push_in_exec_wakes_after_the_batch(server):
    (t,) = start_in_order(server, b"k", [("BLPOP", "k", 0)])
    r = redis.Redis(port=server.port, protocol=2)
    pipe = r.pipeline(transaction=True)
    pipe.rpush("k", "a", "b")
    pipe.lpop("k")
    assert pipe.execute() == [2, b"a"]
    t.join(10)
    assert t.result == [b"k", b"b"]


def test_served_from_the_key_that_became_ready_first(h):
    blk = h.block("BLPOP", "a", "b", "0")
    h("MULTI")
    h("RPUSH", "b", "1")
    h("RPUSH", "a", "2")
    h("EXEC")
    assert blk.reply == [b"b", b"1"]  # as Redis: ready keys are served in the order they got data
    assert h("LRANGE", "a", "0", "-1") == [b"2"]


@pytest.fixture
def server_process(tmp_path):
    """``trioredis server`` in its own process: the CLI's scheduling, as the Tcl suite sees it."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "trioredis", "server", "--port", str(port),
                             "--save", "", "--dir", str(tmp_path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port, timeout=30)
        yield port
    finally:
        proc.kill()
        proc.wait()


def _blocked_clients(c: RawClient) -> int:
    info = c.command("INFO", "clients")
    return int(info.split(b"blocked_clients:")[1].split(b"\r\n")[0])


def test_exec_sent_before_a_push_on_another_connection_runs_first(server_process):
    """unit/type/list: EXEC and the LPUSH that serves a blocked BRPOPLPUSH into the WATCHed key
    arrive back to back on two connections; the EXEC, sent first, runs first (it failed about
    half the time while Trio ran connections woken together in a random order)."""
    blocked, watcher, pusher = (RawClient(server_process) for _ in range(3))
    try:
        pusher.command("SET", "somekey", "somevalue")
        for _ in range(20):
            blocked.send(b"*4\r\n$10\r\nBRPOPLPUSH\r\n$3\r\nsrc\r\n$3\r\ndst\r\n$1\r\n0\r\n")
            deadline = time.monotonic() + 10
            while _blocked_clients(pusher) != 1:
                assert time.monotonic() < deadline
                time.sleep(0.002)
            assert watcher.command("WATCH", "dst") == b"+OK\r\n"
            assert watcher.command("MULTI") == b"+OK\r\n"
            assert watcher.command("GET", "somekey") == b"+QUEUED\r\n"
            watcher.send(b"*1\r\n$4\r\nEXEC\r\n")
            pusher.send(b"*3\r\n$5\r\nLPUSH\r\n$3\r\nsrc\r\n$7\r\nelement\r\n")
            assert watcher.read_reply() == b"*1\r\n$9\r\nsomevalue\r\n"
            assert pusher.read_reply() == b":1\r\n"
            assert blocked.read_reply() == b"$7\r\nelement\r\n"
            pusher.command("DEL", "dst")
    finally:
        for c in (blocked, watcher, pusher):
            c.close()

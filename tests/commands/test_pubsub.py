"""Pub/Sub: reply and message shapes against a real Redis 7.0, fan-out, slow subscribers."""

from __future__ import annotations

import os
import socket
import threading
import time

import hiredis
import pytest

from tests.helpers import RawClient, ThreadedServer, have_real_redis
from trioredis.core import ManualClock, Server

SOAK = os.environ.get("TRIOREDIS_SOAK", "") not in ("", "0", "no")

real = pytest.mark.skipif(not have_real_redis(), reason="redis-server not installed")


# -- helpers --------------------------------------------------------------------------------------


def run_steps(port: int, steps, resp3: bool = False, server=None) -> list[bytes]:
    """Run ``(who, cmd, ...)`` steps; ``(who, "__read__")`` reads one more reply (a message).

    ``who`` ending in ``*`` sorts the elements of that array reply (Redis's dict order is
    arbitrary). With ``resp3`` every connection starts with HELLO 3.
    """
    clients: dict[str, RawClient] = {}
    out = []
    try:
        for who, *args in steps:
            name = who.rstrip("*")
            cl = clients.get(name)
            if cl is None:
                cl = clients[name] = RawClient(port)
                if resp3:
                    _hello3(cl, server)
            reply = cl.read_reply() if args == ["__read__"] else cl.command(*args)
            if who.endswith("*"):
                reply = _sorted_array(reply)
            out.append(reply)
    finally:
        for cl in clients.values():
            cl.close()
    return out


def _hello3(cl: RawClient, server=None) -> None:
    reply = cl.command("HELLO", "3")
    if reply.startswith(b"-ERR unknown command") and server is not None:
        port = cl.sock.getsockname()[1]

        def switch():
            for c in server.server.clients.values():
                if c.addr.endswith(f":{port}"):
                    c.set_resp(3)
                    c.update_guard()

        server.call(switch)


def _sorted_array(raw: bytes):
    r = hiredis.Reader()
    r.feed(raw)
    value = r.gets()
    return sorted(value) if isinstance(value, list) else value


def differential(server, real_port: int, steps, resp3: bool = False) -> None:
    flush = RawClient(real_port)
    flush.command("FLUSHALL")
    flush.close()
    expected = run_steps(real_port, steps, resp3)
    got = run_steps(server.port, steps, resp3, server)
    for i, (g, e) in enumerate(zip(got, expected, strict=False)):
        assert g == e, f"step {i} {steps[i]}: trioredis {g!r} != redis {e!r}"
    assert len(got) == len(expected)


R = "__read__"

CASES = {
    "shapes": [
        ("a", "SUBSCRIBE", "x", "y"), ("a", R), ("a", "PSUBSCRIBE", "p*"),
        ("a", "SSUBSCRIBE", "s1", "s2"), ("a", R),
        ("b", "PUBLISH", "x", "hello"), ("a", R),
        ("b", "PUBLISH", "px", "m2"), ("a", R),
        ("b", "SPUBLISH", "s1", "m3"), ("a", R),
        ("b", "PUBLISH", "nobody", "m"), ("b", "SPUBLISH", "nobody", "m"),
        ("b", "PUBLISH", "s1", "not-sharded"),
        ("b", "PUBSUB", "NUMSUB", "x", "y", "zz"), ("b", "PUBSUB", "NUMSUB"),
        ("b", "PUBSUB", "NUMPAT"), ("b", "PUBSUB", "SHARDNUMSUB", "s1", "zz"),
        ("b", "PUBSUB", "SHARDNUMSUB"),
        ("b*", "PUBSUB", "CHANNELS"), ("b", "PUBSUB", "CHANNELS", "x*"),
        ("b*", "PUBSUB", "SHARDCHANNELS"), ("b", "PUBSUB", "SHARDCHANNELS", "s2"),
        ("a", "UNSUBSCRIBE", "x", "zz"), ("a", R),
        ("a", "PUNSUBSCRIBE", "p*"), ("a", "PUNSUBSCRIBE"), ("a", "PUNSUBSCRIBE", "never"),
        ("a", "SUNSUBSCRIBE", "s1"), ("a", "SUNSUBSCRIBE"), ("a", "SUNSUBSCRIBE"),
        ("a", "UNSUBSCRIBE"), ("a", "UNSUBSCRIBE"), ("a", "GET", "k"),
    ],
    "channel_then_pattern": [
        ("a", "SUBSCRIBE", "news"), ("a", "PSUBSCRIBE", "n?ws"), ("b", "PUBLISH", "news", "m"),
        ("a", R), ("a", R), ("b", "PUBLISH", "nows", "m"), ("a", R),
    ],
    "subscribed_mode_refusals": [
        ("a", "SUBSCRIBE", "x"), ("a", "GET", "k"), ("a", "SET", "k", "v"), ("a", "PING"),
        ("a", "PING", "hi"), ("a", "MULTI"), ("a", "PUBLISH", "x", "m"),
        ("a", "PUBSUB", "NUMPAT"), ("a", "CONFIG", "GET", "port"), ("a", "NOSUCH"),
        ("a", "SUBSCRIBE", "y"), ("a", "UNSUBSCRIBE", "x"), ("a", "GET", "k"),
        ("a", "UNSUBSCRIBE"), ("a", "GET", "k"),
    ],
    "pattern_only_mode": [("a", "PSUBSCRIBE", "p*"), ("a", "ECHO", "x"),
                          ("a", "PUNSUBSCRIBE"), ("a", "ECHO", "x")],
    "shard_only_mode": [("a", "SSUBSCRIBE", "s"), ("a", "ECHO", "x"), ("a", "SUNSUBSCRIBE"),
                        ("a", "ECHO", "x")],
    "reset_leaves_subscribed_mode": [
        ("a", "SUBSCRIBE", "x"), ("a", "PSUBSCRIBE", "p*"), ("a", "RESET"), ("a", "GET", "k"),
        ("b", "PUBSUB", "NUMSUB", "x"), ("b", "PUBSUB", "NUMPAT"),
    ],
    "errors": [
        ("a", "PUBSUB", "CHANNELS", "a", "b"), ("a", "PUBSUB", "channels", "a", "b"),
        ("a", "PUBSUB", "NUMPAT", "x"), ("a", "PUBSUB", "FOO"), ("a", "PUBSUB"),
        ("a", "PUBSUB", "HELP", "x"), ("a", "PUBSUB", "SHARDCHANNELS", "a", "b"),
        ("a", "SUBSCRIBE"), ("a", "PSUBSCRIBE"), ("a", "SSUBSCRIBE"), ("a", "PUBLISH", "x"),
        ("a", "SPUBLISH", "x"), ("a", "PUBLISH", "x", "y", "z"),
    ],
    "help": [("a", "PUBSUB", "HELP"), ("a", "pubsub", "help")],
    "duplicates": [
        ("a", "SUBSCRIBE", "x", "x"), ("a", R), ("a", "PSUBSCRIBE", "x", "x"), ("a", R),
        ("b", "PUBLISH", "x", "m"), ("a", R), ("a", R), ("b", "PUBSUB", "NUMSUB", "x"),
        ("b", "PUBSUB", "NUMPAT"),
    ],
    "several_subscribers": [
        ("a", "SUBSCRIBE", "x"), ("c", "SUBSCRIBE", "x"), ("d", "PSUBSCRIBE", "*"),
        ("b", "PUBLISH", "x", "m"), ("a", R), ("c", R), ("d", R),
        ("b", "PUBSUB", "NUMSUB", "x"), ("c", "UNSUBSCRIBE"), ("b", "PUBLISH", "x", "m2"),
        ("a", R), ("d", R),
    ],
    "empty_and_binary_names": [
        ("a", "SUBSCRIBE", ""), ("a", "PSUBSCRIBE", "*"), ("b", "PUBLISH", "", "m"), ("a", R),
        ("a", "SUBSCRIBE", "\x00\xff\r\n"), ("b", "PUBLISH", "\x00\xff\r\n", "\r\n"),
        ("a", R), ("a", R), ("b", "PUBSUB", "NUMSUB", "", "\x00\xff\r\n"),
        ("b", "PUBSUB", "CHANNELS", "\\*"), ("b*", "PUBSUB", "CHANNELS"),
    ],
    "large_message": [("a", "SUBSCRIBE", "x"), ("b", "PUBLISH", "x", "v" * 100_000),
                      ("a", R)],
    "subscribe_in_multi": [
        ("a", "MULTI"), ("a", "SUBSCRIBE", "x"), ("a", "PSUBSCRIBE", "p*"), ("a", "EXEC"),
        ("b", "PUBLISH", "x", "m"), ("a", R), ("a", "PING"), ("a", "UNSUBSCRIBE", "x"),
        ("a", "PUNSUBSCRIBE"), ("a", "GET", "k"),
    ],
    "unsubscribe_when_unsubscribed": [
        ("a", "UNSUBSCRIBE"), ("a", "UNSUBSCRIBE", "x"), ("a", "PUNSUBSCRIBE"),
        ("a", "SUNSUBSCRIBE"), ("a", "SUNSUBSCRIBE", "s"), ("a", "GET", "k"),
    ],
}


@real
@pytest.mark.parametrize("name", sorted(CASES))
def test_resp2(server, real_redis, name):
    differential(server, real_redis.port, CASES[name])


RESP3_CASES = dict(CASES)
RESP3_CASES.update({
    "any_command_allowed": [
        ("a", "SUBSCRIBE", "x"), ("a", "GET", "k"), ("a", "PING"), ("a", "SET", "k", "v"),
        ("b", "PUBLISH", "x", "m"), ("a", R), ("a", "PUBLISH", "x", "to-self"), ("a", R),
        ("a", "UNSUBSCRIBE"),
    ],
    "multi_subscribe_two": [("a", "MULTI"), ("a", "SUBSCRIBE", "x", "y"), ("a", "EXEC"),
                            ("a", R), ("a", "GET", "k")],
})
del RESP3_CASES["subscribed_mode_refusals"]  # RESP3 allows every command


@real
@pytest.mark.parametrize("name", sorted(RESP3_CASES))
def test_resp3(server, real_redis, name):
    differential(server, real_redis.port, RESP3_CASES[name], resp3=True)


# -- the hub, directly ----------------------------------------------------------------------------


def test_freed_and_reset_clients_leave_no_trace():
    srv = Server(clock=ManualClock())
    hub = srv.pubsub_hub
    a, b = srv.new_client(), srv.new_client()
    for c in (a, b):
        srv.execute(c, [b"SUBSCRIBE", b"x", b"y"])
        srv.execute(c, [b"PSUBSCRIBE", b"p*"])
        srv.execute(c, [b"SSUBSCRIBE", b"s"])
    assert len(hub.channels[b"x"]) == 2
    srv.free_client(a)
    assert list(hub.channels[b"x"]) == [b] and list(hub.patterns[b"p*"][1]) == [b]
    srv.execute(b, [b"RESET"])
    assert hub.channels == {} and hub.patterns == {} and hub.shard_channels == {}
    assert not b.guard and b.subscriptions == 0
    assert srv.publish(b"x", b"m") == 0


def test_subscribers_in_subscription_order():
    srv = Server(clock=ManualClock())
    got = []

    class Conn:
        def __init__(self, name):
            self.name = name

        def push(self, data):
            got.append((self.name, data))

    clients = []
    for i in range(5):
        c = srv.new_client()
        c.conn = Conn(i)
        srv.execute(c, [b"SUBSCRIBE", b"ch"])
        clients.append(c)
    srv.execute(clients[2], [b"UNSUBSCRIBE", b"ch"])
    srv.execute(clients[2], [b"SUBSCRIBE", b"ch"])
    assert srv.publish(b"ch", b"m") == 5
    assert [n for n, _ in got] == [0, 1, 3, 4, 2]
    assert {d for _, d in got} == {b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$1\r\nm\r\n"}


# -- fan-out and slow subscribers -------------------------------------------------------------------


def _subscribe_raw(port: int, channel: bytes, rcvbuf: int | None = None) -> socket.socket:
    s = socket.socket()
    if rcvbuf is not None:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.connect(("127.0.0.1", port))
    s.settimeout(20)
    s.sendall(b"*2\r\n$9\r\nSUBSCRIBE\r\n$%d\r\n%s\r\n" % (len(channel), channel))
    reader = hiredis.Reader()
    while True:
        reader.feed(s.recv(4096))
        if reader.gets() is not False:
            return s


def _publish_all(port: int, channel: bytes, payloads, batch: int = 200) -> list[int]:
    """PUBLISH every payload, pipelined in batches; returns the receiver counts."""
    pub = RawClient(port)
    counts = []
    try:
        for i in range(0, len(payloads), batch):
            chunk = payloads[i : i + batch]
            pub.send(b"".join(
                b"*3\r\n$7\r\nPUBLISH\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n"
                % (len(channel), channel, len(p), p) for p in chunk))
            for _ in chunk:
                counts.append(int(pub.read_reply()[1:-2]))
    finally:
        pub.close()
    return counts


def _collect(sock: socket.socket, n: int, out: list) -> None:
    """Read ``n`` messages from a subscriber socket into ``out`` (payloads only)."""
    reader = hiredis.Reader()
    try:
        while len(out) < n:
            data = sock.recv(1 << 16)
            if not data:
                return
            reader.feed(data)
            while (msg := reader.gets()) is not False:
                out.append(msg[2])
    except OSError:
        return


def test_fan_out_every_subscriber_gets_everything_in_order(server):
    n_subs, n_msgs = 100, (10_000 if SOAK else 2_000)
    subs = [_subscribe_raw(server.port, b"fan") for _ in range(n_subs)]
    payloads = [b"m%d" % i for i in range(n_msgs)]
    results = [[] for _ in subs]
    readers = [threading.Thread(target=_collect, args=(s, n_msgs, r), daemon=True)
               for s, r in zip(subs, results, strict=True)]
    for t in readers:
        t.start()
    counts = _publish_all(server.port, b"fan", payloads)
    assert counts == [n_subs] * n_msgs
    for t in readers:
        t.join(60)
    for s in subs:
        s.close()
    for r in results:
        assert r == payloads


def test_slow_subscriber_is_disconnected_others_unaffected(capsys):
    """A subscriber that never reads hits the pubsub hard limit and is closed; the publisher
    and a reading subscriber carry on, and every message reaches the reader."""
    with ThreadedServer(client_output_buffer_limit="pubsub 256kb 0 0") as srv:
        slow = _subscribe_raw(srv.port, b"flood", rcvbuf=4096)
        fast = _subscribe_raw(srv.port, b"flood")
        n_msgs = 12_000
        payloads = [b"%06d" % i + b"x" * 1000 for i in range(n_msgs)]
        got: list = []
        reader = threading.Thread(target=_collect, args=(fast, n_msgs, got), daemon=True)
        reader.start()
        started = time.monotonic()
        counts = _publish_all(srv.port, b"flood", payloads)
        reader.join(60)
        assert got == payloads
        assert counts[0] == 2 and counts[-1] == 1  # the slow one was dropped on the way
        assert time.monotonic() - started < 30
        # The slow socket sees the end of the stream once it drains what was sent.
        slow.settimeout(10)
        received = 0
        while True:
            try:
                data = slow.recv(1 << 16)
            except ConnectionResetError:
                break
            if not data:
                break
            received += len(data)
        assert received < n_msgs * 1000
        cl = RawClient(srv.port)
        assert cl.command("PUBSUB", "NUMSUB", "flood") == b"*2\r\n$5\r\nflood\r\n:1\r\n"
        cl.close()
        slow.close()
        fast.close()
    assert "overcoming of output buffer limits" in capsys.readouterr().out


def test_disconnected_subscriber_is_forgotten(server):
    s = _subscribe_raw(server.port, b"gone")
    cl = RawClient(server.port)
    assert cl.command("PUBSUB", "NUMSUB", "gone") == b"*2\r\n$4\r\ngone\r\n:1\r\n"
    s.close()
    deadline = time.monotonic() + 10
    while cl.command("PUBLISH", "gone", "m") != b":0\r\n":
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert cl.command("PUBSUB", "NUMSUB", "gone") == b"*2\r\n$4\r\ngone\r\n:0\r\n"
    cl.close()


def _read_until(cl: RawClient, marker: bytes) -> bytes:
    buf = cl.buf
    cl.sock.settimeout(10)
    while marker not in buf:
        buf += cl.sock.recv(65536)
    cl.buf = b""
    return buf


def _wait_numsub(cl: RawClient, channel: str, n: int) -> None:
    want = b":%d\r\n" % n
    deadline = time.monotonic() + 10
    while not cl.command("PUBSUB", "NUMSUB", channel).endswith(want):
        assert time.monotonic() < deadline
        time.sleep(0.005)


def _cmd(*args) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


def _reply_off_session(port: int) -> list[bytes]:
    a, b, c = RawClient(port), RawClient(port), RawClient(port)
    try:
        a.command("HELLO", "3")
        a.send(_cmd(b"CLIENT", b"REPLY", b"OFF") + _cmd(b"SUBSCRIBE", b"x"))
        _wait_numsub(b, "x", 1)
        b.command("PUBLISH", "x", "m")
        a.send(_cmd(b"CLIENT", b"REPLY", b"ON") + _cmd(b"PING"))
        out = [_read_until(a, b"+PONG\r\n")]
        c.send(_cmd(b"CLIENT", b"REPLY", b"SKIP") + _cmd(b"SUBSCRIBE", b"y") + _cmd(b"PING"))
        out.append(_read_until(c, b"pong"))
        return out
    finally:
        for cl in (a, b, c):
            cl.close()


@real
def test_client_reply_off_does_not_silence_pushes(server, real_redis):
    """Redis 7.0 sends subscribe confirmations and messages even under CLIENT REPLY OFF/SKIP."""
    assert _reply_off_session(server.port) == _reply_off_session(real_redis.port)

"""Keyspace notifications: notify-keyspace-events and the events of each command family.

The same commands run on trioredis and on a real Redis 7.0 while a client PSUBSCRIBEd to
``__key*__:*`` listens on each; the sequences of (channel, message) must be equal.
"""

from __future__ import annotations

import time

import hiredis
import pytest

from tests.helpers import RawClient, have_real_redis
from trioredis.config import Config, ConfigError

real = pytest.mark.skipif(not have_real_redis(), reason="redis-server not installed")

NOTIFY_VALUES = ["", "K", "E", "g", "gK", "KEA", "AKE", "Kg$", "A", "Ex", "KEm", "Kn", "KA",
                 "gxK$lshzet", "AKEmn", "KEd", "AKEd", "KEl", "Kh", "Ks", "Kz", "Kt", "Kxe",
                 "KEAm", "$$KK"]


def set_notify(server, value: str) -> None:
    """CONFIG SET notify-keyspace-events, or set it on the server thread if CONFIG is missing."""
    cl = RawClient(server.port)
    reply = cl.command("CONFIG", "SET", "notify-keyspace-events", value)
    cl.close()
    if reply == b"+OK\r\n":
        return
    assert reply.startswith(b"-ERR unknown command"), reply

    def apply():
        srv = server.server
        old = srv.config["notify-keyspace-events"]
        srv.config.set("notify-keyspace-events", value, startup=True)
        srv._notify_changed(srv.config["notify-keyspace-events"], old)

    server.call(apply)


def _has_config(port: int) -> bool:
    cl = RawClient(port)
    reply = cl.command("CONFIG", "GET", "port")
    cl.close()
    return not reply.startswith(b"-ERR unknown command")


@real
def test_config_rendering_matches_redis(real_redis):
    """Our canonical spelling of every value is Redis's CONFIG GET answer."""
    cl = RawClient(real_redis.port)
    try:
        for value in NOTIFY_VALUES:
            assert cl.command("CONFIG", "SET", "notify-keyspace-events", value) == b"+OK\r\n"
            expected = cl.command("CONFIG", "GET", "notify-keyspace-events")
            cfg = Config()
            cfg.set("notify-keyspace-events", value)
            text = cfg.render("notify-keyspace-events").encode()
            assert expected.endswith(b"$%d\r\n%s\r\n" % (len(text), text)), value
    finally:
        cl.command("CONFIG", "SET", "notify-keyspace-events", "")
        cl.close()


def test_config_rejects_bad_letters():
    cfg = Config()
    cfg.set("notify-keyspace-events", "KA")
    with pytest.raises(ConfigError, match="Invalid event class character. Use 'Ag\\$lshzxeKEtmdn'."):
        cfg.set("notify-keyspace-events", "KQ")
    assert cfg.render("notify-keyspace-events") == "AK"


@real
def test_config_set_get_through_the_server(server, real_redis):
    if not _has_config(server.port):
        pytest.skip("CONFIG not implemented yet")
    steps = [("SET", "notify-keyspace-events", v) for v in NOTIFY_VALUES[:8]]
    steps += [("SET", "notify-keyspace-events", "KQ"), ("GET", "notify-keyspace-events")]
    out = {}
    for name, port in (("real", real_redis.port), ("ours", server.port)):
        cl = RawClient(port)
        replies = []
        for s in steps:
            replies.append(cl.command("CONFIG", *s))
            replies.append(cl.command("CONFIG", "GET", "notify-keyspace-events"))
        cl.command("CONFIG", "SET", "notify-keyspace-events", "")
        cl.close()
        out[name] = replies
    assert out["ours"] == out["real"]


# -- event sequences ------------------------------------------------------------------------------

END = b"__keyspace@0__:END-OF-TEST"


def collect_events(port: int, steps, flags: str, server=None) -> tuple[list, list]:
    """Run ``steps`` with notifications on; returns (replies, [(channel, message), ...])."""
    cl, sub = RawClient(port), RawClient(port)
    try:
        cl.command("FLUSHALL")
        if server is not None:
            set_notify(server, flags)
        else:
            cl.command("CONFIG", "SET", "notify-keyspace-events", flags)
        sub.command("PSUBSCRIBE", "__key*__:*")
        replies = []
        for step in steps:
            if step[0] == "__wait__":  # wait out a TTL of ``step[1]`` ms set just before
                time.sleep(step[1] / 1000 + 0.005)
                continue
            replies.append(cl.command(*step))
        cl.command("PUBLISH", END, "end")
        events = []
        reader = hiredis.Reader()
        sub.sock.settimeout(10)
        while not events or events[-1][0] != END:
            msg = reader.gets()
            if msg is False:
                reader.feed(sub.sock.recv(65536))
            else:
                events.append((msg[2], msg[3]))
        return replies, events[:-1]
    finally:
        if server is not None:
            set_notify(server, "")
        else:
            cl.command("CONFIG", "SET", "notify-keyspace-events", "")
        cl.close()
        sub.close()


FAMILIES = {
    "strings": [
        ("SET", "s", "v"), ("SET", "s", "v2", "XX"), ("SET", "s", "x", "NX"),
        ("SETNX", "s2", "v"), ("SETEX", "s3", "100", "v"), ("PSETEX", "s4", "100000", "v"),
        ("APPEND", "s", "tail"), ("APPEND", "s5", "new"), ("INCR", "n"), ("INCRBY", "n", "5"),
        ("DECR", "n"), ("DECRBY", "n", "2"), ("INCRBYFLOAT", "f", "1.5"),
        ("SETRANGE", "s", "2", "XY"), ("GETSET", "s", "g"), ("GETDEL", "s"),
        ("GETEX", "s2", "EX", "100"), ("GETEX", "s2", "PERSIST"), ("MSET", "m1", "a", "m2", "b"),
        ("MSETNX", "m3", "a", "m4", "b"), ("SET", "e", "v", "EX", "100"),
        ("SET", "e", "v", "KEEPTTL"), ("SET", "s", "v", "GET"), ("INCR", "s"),
    ],
    "lists": [
        ("LPUSH", "l", "a", "b"), ("RPUSH", "l", "c"), ("LPUSHX", "l", "d"), ("RPUSHX", "nl", "d"),
        ("LINSERT", "l", "BEFORE", "c", "x"), ("LSET", "l", "0", "z"), ("LREM", "l", "0", "x"),
        ("LTRIM", "l", "0", "1"), ("LPOP", "l"), ("RPOP", "l"), ("RPUSH", "l2", "a", "b", "c"),
        ("RPOPLPUSH", "l2", "l3"), ("LMOVE", "l2", "l3", "LEFT", "RIGHT"),
        ("LMPOP", "1", "l2", "LEFT"), ("LPOP", "l3", "5"), ("LTRIM", "nope", "0", "1"),
        ("RPUSH", "l4", "a"), ("LTRIM", "l4", "1", "0"),
    ],
    "hashes": [
        ("HSET", "h", "a", "1", "b", "2"), ("HSETNX", "h", "c", "3"), ("HSETNX", "h", "c", "4"),
        ("HINCRBY", "h", "a", "5"), ("HINCRBYFLOAT", "h", "f", "1.5"), ("HDEL", "h", "a", "zz"),
        ("HMSET", "h", "x", "y"), ("HDEL", "h", "b", "c", "f", "x"), ("HDEL", "h", "nope"),
    ],
    "sets": [
        ("SADD", "s", "a", "b", "c"), ("SADD", "s", "a"), ("SREM", "s", "a"),
        ("SMOVE", "s", "t", "b"), ("SADD", "u", "c", "d"), ("SINTERSTORE", "i", "s", "u"),
        ("SUNIONSTORE", "un", "s", "u"), ("SDIFFSTORE", "d", "u", "s"),
        ("SINTERSTORE", "i", "s", "nope"), ("SREM", "t", "b"), ("SREM", "un", "c"),
        ("SPOP", "un", "10"), ("SADD", "p", "x"), ("SPOP", "p"),
    ],
    "zsets": [
        ("ZADD", "z", "1", "a", "2", "b", "3", "c"), ("ZADD", "z", "1", "a"),
        ("ZINCRBY", "z", "5", "a"), ("ZREM", "z", "b"), ("ZADD", "z2", "1", "x", "2", "y"),
        ("ZUNIONSTORE", "zu", "2", "z", "z2"), ("ZINTERSTORE", "zi", "2", "z", "z2"),
        ("ZREMRANGEBYSCORE", "zu", "0", "1"), ("ZREMRANGEBYRANK", "zu", "0", "0"),
        ("ZREMRANGEBYLEX", "z2", "-", "+"), ("ZPOPMIN", "z"), ("ZPOPMAX", "z"),
        ("ZRANGESTORE", "zr", "zu", "0", "-1"), ("ZDIFFSTORE", "zd", "1", "zu"),
    ],
    "streams": [
        ("XADD", "x", "1-1", "f", "v"), ("XADD", "x", "2-1", "f", "v"),
        ("XGROUP", "CREATE", "x", "g", "0"), ("XGROUP", "CREATECONSUMER", "x", "g", "c1"),
        ("XREADGROUP", "GROUP", "g", "c2", "COUNT", "1", "STREAMS", "x", ">"),
        ("XACK", "x", "g", "1-1"), ("XCLAIM", "x", "g", "c3", "0", "1-1"),
        ("XAUTOCLAIM", "x", "g", "c1", "0", "0"), ("XSETID", "x", "5-0"),
        ("XDEL", "x", "1-1"), ("XTRIM", "x", "MAXLEN", "0"),
        ("XGROUP", "DELCONSUMER", "x", "g", "c1"), ("XGROUP", "SETID", "x", "g", "0"),
        ("XGROUP", "DESTROY", "x", "g"), ("XADD", "y", "NOMKSTREAM", "*", "f", "v"),
    ],
    "generic": [
        ("SET", "a", "1"), ("EXPIRE", "a", "100"), ("PEXPIRE", "a", "100000"),
        ("EXPIREAT", "a", "4000000000"), ("PERSIST", "a"), ("PERSIST", "a"),
        ("RENAME", "a", "b"), ("SET", "c", "1"), ("RENAMENX", "b", "c"), ("RENAMENX", "b", "d"),
        ("COPY", "d", "e"), ("MOVE", "e", "1"), ("DEL", "d", "nope"), ("SET", "f", "1"),
        ("UNLINK", "f"), ("SET", "g", "1"), ("EXPIRE", "g", "-1"), ("RPUSH", "L", "3", "1", "2"),
        ("SORT", "L", "STORE", "S"), ("SET", "h", "1"), ("PEXPIREAT", "h", "1"),
        ("SET", "i", "1"), ("SETEX", "i", "100", "2"),
    ],
    "expired": [  # one key at a time: active expiry may pick expired keys in any order
        ("SET", "k1", "v", "PX", "20"), ("__wait__", 20), ("GET", "k1"),
        ("RPUSH", "k2", "a"), ("PEXPIRE", "k2", "20"), ("__wait__", 20), ("LLEN", "k2"),
    ],
    "transaction": [
        ("MULTI",), ("SET", "a", "1"), ("INCR", "a"), ("LPUSH", "l", "x"), ("DEL", "l"),
        ("EXEC",),
    ],
}


@real
@pytest.mark.parametrize("flags", ["KEA", "KEAn"])
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_events_match_redis(server, real_redis, family, flags):
    steps = FAMILIES[family]
    exp_replies, expected = collect_events(real_redis.port, steps, flags)
    got_replies, got = collect_events(server.port, steps, flags, server)
    assert got == expected
    assert got_replies == exp_replies


@real
@pytest.mark.parametrize("flags", ["K", "E", "Kg", "E$", "Kl", "Eh", "Ks", "Kz", "Kt", "Kx",
                                   "gE", "A", "Kn", "Km", "KEAm"])
def test_event_classes_filter(server, real_redis, flags):
    steps = FAMILIES["generic"][:6] + FAMILIES["lists"][:4] + FAMILIES["hashes"][:2]
    steps = steps + FAMILIES["sets"][:2] + FAMILIES["zsets"][:2] + FAMILIES["streams"][:1]
    steps = steps + FAMILIES["expired"] + [("GET", "missing"), ("EXISTS", "missing")]
    _, expected = collect_events(real_redis.port, steps, flags)
    _, got = collect_events(server.port, steps, flags, server)
    assert got == expected


@real
def test_notifications_in_resp3_are_push_frames(server, real_redis):
    """A RESP3 subscriber gets the notification as a push frame, then its own reply."""
    out = {}
    for name, port in (("real", real_redis.port), ("ours", server.port)):
        cl = RawClient(port)
        if name == "ours":
            set_notify(server, "KEA")
        else:
            cl.command("CONFIG", "SET", "notify-keyspace-events", "KEA")
        cl.command("HELLO", "3")
        replies = [cl.command("SUBSCRIBE", "__keyevent@0__:set"), cl.command("SET", "k", "v"),
                   cl.read_reply()]
        out[name] = replies
        if name == "ours":
            set_notify(server, "")
        else:
            cl.command("CONFIG", "SET", "notify-keyspace-events", "")
        cl.close()
    assert out["ours"] == out["real"]
    assert out["ours"][1] == b">3\r\n$7\r\nmessage\r\n$18\r\n__keyevent@0__:set\r\n$1\r\nk\r\n"

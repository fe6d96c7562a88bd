"""String commands: differential tests against a real Redis 7.0 (raw reply bytes compared),
in-process unit tests with a ManualClock (expiry, propagation, events), and redis-py."""

from __future__ import annotations

import random
from fractions import Fraction

import pytest
import redis

from trioredis.commands.strings import (
    format_long_double,
    ld_round,
    parse_long_double,
)
from trioredis.config import Config
from trioredis.core import ManualClock, Server
from trioredis.keyspace import NOTIFY_KEYSPACE

from ..helpers import RawClient

# -- shared helpers (the keys and bitmaps tests import these) ---------------------------------


class Diff:
    """The same commands to a real Redis and to trioredis; raw replies must be identical."""

    def __init__(self, real_port: int, our_port: int):
        self.real = RawClient(real_port)
        self.ours = RawClient(our_port)
        self.both("FLUSHALL")

    def both(self, *cmd):
        return self.real.command(*cmd), self.ours.command(*cmd)

    def __call__(self, *cmds):
        """Run each command on both servers and compare; returns the last reply."""
        reply = None
        for cmd in cmds:
            a, b = self.both(*cmd)
            assert b == a, f"{cmd!r}: redis {a!r} != trioredis {b!r}"
            reply = a
        return reply

    def close(self):
        self.real.close()
        self.ours.close()


@pytest.fixture(name="diff")
def diff_fixture(server, real_redis):
    d = Diff(real_redis.port, server.port)
    yield d
    d.close()


class Local:
    """An in-process Server on a ManualClock: run commands, see propagation and events."""

    def __init__(self, **config):
        cfg = Config()
        for k, v in config.items():
            cfg.set(k.replace("_", "-"), v, startup=True)
        self.clock = ManualClock()
        self.srv = Server(cfg, clock=self.clock)
        self.c = self.srv.new_client()
        self.propagated: list = []
        self.srv.propagate_targets.append(lambda dbid, argv: self.propagated.append(argv))
        self.events: list = []
        self.srv.notify_flags = 0xFFFF | NOTIFY_KEYSPACE
        self.srv.notify = lambda kind, event, key, dbid: self.events.append((event, key, dbid))

    def __call__(self, *args):
        argv = [a if isinstance(a, bytes) else str(a).encode() for a in args]
        return self.srv.execute(self.c, argv)

    def take(self):
        """Propagated commands and events since the last call."""
        p, e = self.propagated, self.events
        self.propagated, self.events = [], []
        return p, e


@pytest.fixture(name="local")
def local_fixture():
    return Local()


def err(msg: str):
    from trioredis.protocol.replies import ErrorReply

    return ErrorReply(msg)


# -- differential: GET/SET family ---------------------------------------------------------------


def test_set_get_options(diff):
    diff(
        ("SET", "k", "v"), ("GET", "k"), ("GET", "missing"),
        ("SET", "k", "v2", "NX"), ("SET", "k", "v2", "XX"), ("GET", "k"),
        ("SET", "n", "v", "XX"), ("GET", "n"), ("SET", "n", "v", "NX"),
        ("SET", "k", "v3", "GET"), ("SET", "new", "x", "GET"), ("SET", "k", "v4", "NX", "GET"),
        ("SET", "fresh", "x", "NX", "GET"), ("SET", "nope", "x", "XX", "GET"), ("GET", "nope"),
        ("SET", "k", "v", "nx", "xx"), ("SET", "k", "v", "XX", "NX"), ("SET", "k", "v", "EX"),
        ("SET", "k", "v", "EX", "10", "PX", "100"), ("SET", "k", "v", "KEEPTTL", "EX", "10"),
        ("SET", "k", "v", "EX", "10", "KEEPTTL"), ("SET", "k", "v", "PXAT", "1", "EXAT", "1"),
        ("SET", "k", "v", "PERSIST"), ("SET", "k", "v", "FOO"), ("SET", "k", "v", "GET", "GET"),
        ("SET", "k", "v", "EX", "10", "EX", "20"), ("TTL", "k"),
        ("SET", "k", "v", "EX", "0"), ("SET", "k", "v", "EX", "-5"), ("SET", "k", "v", "PX", "0"),
        ("SET", "k", "v", "EX", "abc"), ("SET", "k", "v", "EX", "1.5"),
        ("SET", "k", "v", "EX", "9223372036854775"), ("SET", "k", "v", "EX", "9223372036854776"),
        ("SET", "k", "v", "PX", "9223372036854775807"), ("SET", "k", "v", "EXAT", "0"),
        ("SET", "k", "v", "PXAT", "9223372036854775807"), ("PEXPIRETIME", "k"),
        ("SET", "k", "v", "EXAT", "9223372036854775"), ("EXPIRETIME", "k"),
        ("SET", "k", "v", "EXAT", "9223372036854776"),
        ("SET", "k", "v", "EX", "100"), ("TTL", "k"), ("SET", "k", "w", "KEEPTTL"), ("TTL", "k"),
        ("SET", "k", "w"), ("TTL", "k"), ("SET", "k", "v", "ex", "100", "get"), ("TTL", "k"),
        ("SET", "k", "v", "EXAT", "1"), ("GET", "k"), ("EXISTS", "k"),
        ("SET", "k", "v", "PX", "100000", "XX"), ("TTL", "k"),
    )


def test_wrongtype_and_arity(diff):
    diff(
        ("RPUSH", "list", "a"), ("GET", "list"), ("SET", "list", "x", "GET"), ("GETSET", "list", "x"),
        ("GETDEL", "list"), ("GETEX", "list"), ("STRLEN", "list"), ("APPEND", "list", "x"),
        ("INCR", "list"), ("DECRBY", "list", "1"), ("INCRBYFLOAT", "list", "1"),
        ("GETRANGE", "list", "0", "1"), ("SETRANGE", "list", "0", "x"),
        ("MGET", "list", "nokey"), ("LCS", "list", "nokey"),
        ("GET",), ("SET", "a"), ("MSET", "a"), ("MSET", "a", "1", "b"), ("MSETNX", "a", "1", "b"),
        ("GETEX",), ("SETEX", "a", "1"), ("INCR",), ("INCRBY", "a"), ("LCS", "a"),
    )


def test_setnx_setex_getset_getdel(diff):
    diff(
        ("SETNX", "a", "1"), ("SETNX", "a", "2"), ("GET", "a"),
        ("SETEX", "b", "100", "v"), ("TTL", "b"), ("SETEX", "b", "0", "v"), ("SETEX", "b", "-1", "v"),
        ("SETEX", "b", "x", "v"), ("PSETEX", "c", "100000", "v"), ("TTL", "c"),
        ("PSETEX", "c", "0", "v"), ("SETEX", "b", "9223372036854775807", "v"),
        ("GETSET", "b", "new"), ("TTL", "b"), ("GETSET", "nokey", "x"), ("GET", "nokey"),
        ("GETDEL", "b"), ("GETDEL", "b"), ("EXISTS", "b"),
    )


def test_getex(diff):
    diff(
        ("SET", "k", "v"), ("GETEX", "k"), ("GETEX", "k", "EX", "100"), ("TTL", "k"),
        ("GETEX", "k", "PERSIST"), ("TTL", "k"), ("GETEX", "k", "PX", "100000"), ("TTL", "k"),
        ("GETEX", "k", "EXAT", "4000000000"), ("EXPIRETIME", "k"),
        ("GETEX", "k", "PXAT", "4000000000123"), ("PEXPIRETIME", "k"),
        ("GETEX", "k", "EX", "0"), ("GETEX", "k", "EX", "-1"), ("GETEX", "k", "EX", "x"),
        ("GETEX", "k", "PERSIST", "EX", "1"), ("GETEX", "k", "EX", "1", "PERSIST"),
        ("GETEX", "k", "EX", "1", "PX", "1"), ("GETEX", "k", "NX"), ("GETEX", "k", "KEEPTTL"),
        ("GETEX", "k", "EX"), ("GETEX", "nokey", "EX", "0"), ("GETEX", "nokey", "FOO"),
        ("GETEX", "k", "EX", "9223372036854775807"), ("GETEX", "k", "EXAT", "1"), ("EXISTS", "k"),
        ("SET", "k", "v"), ("GETEX", "k", "PXAT", "1"), ("EXISTS", "k"),
    )


def test_mget_mset_msetnx(diff):
    diff(
        ("MSET", "a", "1", "b", "2", "a", "3"), ("MGET", "a", "b", "c"),
        ("MSETNX", "c", "1", "a", "x"), ("MGET", "a", "c"), ("MSETNX", "c", "1", "d", "2"),
        ("MGET", "c", "d"), ("MSETNX", "e", "1", "e", "2"), ("GET", "e"),
    )


def test_append_strlen_ranges(diff):
    diff(
        ("APPEND", "s", "hello"), ("APPEND", "s", " world"), ("GET", "s"), ("STRLEN", "s"),
        ("STRLEN", "nokey"), ("APPEND", "e", ""), ("EXISTS", "e"), ("STRLEN", "e"),
        ("GETRANGE", "s", "0", "4"), ("GETRANGE", "s", "-5", "-1"), ("GETRANGE", "s", "5", "2"),
        ("GETRANGE", "s", "-1", "-5"), ("GETRANGE", "s", "0", "-100"), ("GETRANGE", "s", "-100", "0"),
        ("GETRANGE", "s", "0", "1000"), ("GETRANGE", "s", "100", "1000"), ("SUBSTR", "s", "1", "3"),
        ("GETRANGE", "nokey", "0", "1"), ("GETRANGE", "s", "a", "1"), ("GETRANGE", "e", "0", "-1"),
        ("GETRANGE", "s", "9223372036854775807", "-9223372036854775808"),
        ("SET", "i", "12345"), ("GETRANGE", "i", "1", "2"), ("APPEND", "i", "6"), ("INCR", "i"),
        ("SETRANGE", "s", "6", "WORLD"), ("GET", "s"), ("SETRANGE", "s", "20", "!"), ("GET", "s"),
        ("SETRANGE", "s", "0", ""), ("SETRANGE", "new", "0", ""), ("EXISTS", "new"),
        ("SETRANGE", "new", "3", "x"), ("GET", "new"), ("SETRANGE", "s", "-1", "x"),
        ("SETRANGE", "s", "x", "x"), ("SETRANGE", "s", "536870911", ""),
        ("SETRANGE", "s", "536870912", "x"), ("SETRANGE", "big", "536870911", "xy"),
        ("SETRANGE", "s", "9223372036854775807", "x"), ("SETRANGE", "nokey2", "536870912", ""),
    )


def test_incr_decr(diff):
    diff(
        ("INCR", "n"), ("INCRBY", "n", "10"), ("DECR", "n"), ("DECRBY", "n", "-5"), ("GET", "n"),
        ("SET", "n", "9223372036854775806"), ("INCR", "n"), ("INCR", "n"), ("GET", "n"),
        ("SET", "n", "-9223372036854775807"), ("DECR", "n"), ("DECR", "n"),
        ("DECRBY", "n", "-9223372036854775808"), ("INCRBY", "n", "-9223372036854775808"),
        ("INCRBY", "n", "9223372036854775808"), ("INCRBY", "n", "1.5"), ("INCRBY", "n", " 1"),
        ("SET", "n", "1.5"), ("INCR", "n"), ("SET", "n", " 1"), ("INCR", "n"), ("SET", "n", "+1"),
        ("INCR", "n"), ("SET", "n", "01"), ("INCR", "n"), ("SET", "n", "-0"), ("INCR", "n"),
        ("SET", "n", ""), ("INCR", "n"), ("SET", "n", "0"), ("DECR", "n"),
        ("SET", "n", "99999999999999999999"), ("INCR", "n"), ("SET", "n", "1\x00"), ("INCR", "n"),
        ("SET", "t", "5", "EX", "100"), ("INCR", "t"), ("TTL", "t"), ("APPEND", "t", "0"),
        ("INCR", "t"), ("GET", "t"), ("TTL", "t"),
    )


def test_incrbyfloat_cases(diff):
    diff(
        ("INCRBYFLOAT", "f", "0.1"), ("INCRBYFLOAT", "f", "0.2"), ("INCRBYFLOAT", "f", "-0.3"),
        ("INCRBYFLOAT", "f", "1e300"), ("INCRBYFLOAT", "g", "1.5e-10"), ("INCRBYFLOAT", "g", "-1e308"),
        ("INCRBYFLOAT", "h", "3"), ("INCRBYFLOAT", "h", "-3"), ("INCRBYFLOAT", "h", "-0.0"),
        ("INCRBYFLOAT", "h", "inf"), ("INCRBYFLOAT", "h", "-inf"), ("INCRBYFLOAT", "h", "nan"),
        ("INCRBYFLOAT", "h", "abc"), ("INCRBYFLOAT", "h", ""), ("INCRBYFLOAT", "h", " 1"),
        ("INCRBYFLOAT", "h", "1 "), ("INCRBYFLOAT", "h", "0x10"), ("INCRBYFLOAT", "h", "0x1p-3"),
        ("INCRBYFLOAT", "h", "1e5000"), ("INCRBYFLOAT", "h", "1e-5000"), ("INCRBYFLOAT", "h", "1e4000"),
        ("INCRBYFLOAT", "h", "1e4932"), ("INCRBYFLOAT", "h", "-1e4000"), ("INCRBYFLOAT", "h", "1e-4940"),
        ("INCRBYFLOAT", "h", "1.5\x00junk"), ("INCRBYFLOAT", "h", "\x00"), ("INCRBYFLOAT", "h", "1\x00"), ("INCRBYFLOAT", "h", "+.5"),
        ("INCRBYFLOAT", "h", "5."), ("INCRBYFLOAT", "h", "."), ("INCRBYFLOAT", "h", "1e"),
        ("INCRBYFLOAT", "h", "1_0"), ("INCRBYFLOAT", "h", "Infinity"), ("INCRBYFLOAT", "h", "1" * 6000),
        ("INCRBYFLOAT", "h", "0." + "3" * 4000),
        ("SET", "s", "abc"), ("INCRBYFLOAT", "s", "1"), ("SET", "s", "inf"), ("INCRBYFLOAT", "s", "1"),
        ("SET", "s", "10"), ("INCRBYFLOAT", "s", "5.0e3"), ("SET", "s", "1e4000"),
        ("INCRBYFLOAT", "s", "1e4000"), ("SET", "s", "1.1e4932"), ("INCRBYFLOAT", "s", "1e4931"),
        ("SET", "t", "1", "EX", "100"), ("INCRBYFLOAT", "t", "1.25"), ("TTL", "t"),
    )


def test_incrbyfloat_random(diff):
    rnd = random.Random(7)
    for i in range(300):
        kind = rnd.randrange(4)
        if kind == 0:
            inc = repr(rnd.uniform(-1000, 1000))
        elif kind == 1:
            inc = f"{rnd.uniform(-1e6, 1e6):.{rnd.randrange(0, 20)}f}"
        elif kind == 2:
            inc = f"{rnd.randrange(-99, 99)}e{rnd.randrange(-30, 30)}"
        else:
            inc = str(rnd.randrange(-(10**20), 10**20)) + "." + str(rnd.randrange(10**6))
        diff(("INCRBYFLOAT", f"k{i % 7}", inc))


def test_long_double_emulation():
    assert format_long_double(parse_long_double(b"0.1")) == b"0.1"
    third = ld_round(parse_long_double(b"0.1") + parse_long_double(b"0.2"))
    assert format_long_double(third) == b"0.3"
    assert parse_long_double(b"nan") is None
    assert parse_long_double(b" 1") is None
    assert parse_long_double(b"1e99999") is None
    assert parse_long_double(b"1e-99999") is None
    assert parse_long_double(b"0e99999") == 0
    assert parse_long_double(b"-inf") == float("-inf")
    assert format_long_double(Fraction(-1, 10**30)) == b"0"
    # 2**64 + 1 is not representable: it rounds to even
    assert ld_round(Fraction(2**64 + 1)) == 2**64


def test_lcs(diff):
    diff(
        ("MSET", "a", "ohmytext", "b", "mynewtext"), ("LCS", "a", "b"), ("LCS", "a", "b", "LEN"),
        ("LCS", "a", "b", "IDX"), ("LCS", "a", "b", "IDX", "MINMATCHLEN", "4"),
        ("LCS", "a", "b", "IDX", "WITHMATCHLEN", "MINMATCHLEN", "-3"),
        ("LCS", "a", "b", "LEN", "IDX"), ("LCS", "a", "b", "MINMATCHLEN"), ("LCS", "a", "b", "FOO"),
        ("LCS", "a", "b", "MINMATCHLEN", "x"), ("LCS", "a", "nokey"), ("LCS", "a", "nokey", "IDX"),
        ("LCS", "nokey", "nokey2", "LEN"), ("LCS", "a", "a", "IDX", "WITHMATCHLEN"),
        ("SET", "x", "\x00\x01\xff\x00"), ("SET", "y", "\xff\x00"), ("LCS", "x", "y", "IDX"),
    )


def test_lcs_random(diff):
    rnd = random.Random(3)
    for _ in range(40):
        a = bytes(rnd.choice(b"abc") for _ in range(rnd.randrange(0, 40)))
        b = bytes(rnd.choice(b"abcd") for _ in range(rnd.randrange(0, 40)))
        diff(("MSET", "a", a, "b", b), ("LCS", "a", "b"), ("LCS", "a", "b", "LEN"),
             ("LCS", "a", "b", "IDX", "WITHMATCHLEN"), ("LCS", "b", "a", "IDX", "MINMATCHLEN", "2"))


def test_lcs_memory_limit(diff):
    diff(("SET", "a", "x" * 12000), ("SET", "b", "y" * 12000), ("LCS", "a", "b", "LEN"))


def test_binary_keys_and_values(diff):
    key = b"\x00k\r\n\xff"
    val = bytes(range(256))
    diff(("SET", key, val), ("GET", key), ("APPEND", key, b"\r\n"), ("GET", key), ("STRLEN", key),
         ("GETRANGE", key, "250", "-1"), ("MGET", key, b"\x00"), ("SET", b"", b""), ("GET", b""),
         ("EXISTS", b""), ("APPEND", b"", b"\x00"), ("GET", b""))


def test_object_encoding_strings(diff):
    diff(
        ("SET", "i", "123"), ("OBJECT", "ENCODING", "i"), ("SET", "i", "-9223372036854775808"),
        ("OBJECT", "ENCODING", "i"), ("SET", "i", "9223372036854775808"), ("OBJECT", "ENCODING", "i"),
        ("SET", "i", "012"), ("OBJECT", "ENCODING", "i"), ("SET", "e", "x" * 44),
        ("OBJECT", "ENCODING", "e"), ("SET", "r", "x" * 45), ("OBJECT", "ENCODING", "r"),
        ("APPEND", "e", ""), ("OBJECT", "ENCODING", "e"), ("SETRANGE", "sr", "0", "a"),
        ("OBJECT", "ENCODING", "sr"), ("APPEND", "na", "12"), ("OBJECT", "ENCODING", "na"),
        ("INCR", "c"), ("OBJECT", "ENCODING", "c"), ("OBJECT", "REFCOUNT", "c"),
        ("INCRBY", "c", "20000"), ("OBJECT", "REFCOUNT", "c"), ("SET", "s", "5"),
        ("OBJECT", "REFCOUNT", "s"), ("OBJECT", "REFCOUNT", "r"),
    )


# -- in-process: expiry with a manual clock, propagation, events, stats ------------------------


def test_set_expire_propagates_pxat(local):
    now = local.srv.now_ms()
    assert local("SET", "k", "v", "EX", "10") == "OK"
    assert local("SET", "k2", "v", "PX", "10", "NX", "GET") is None
    assert local("SETEX", "k3", "5", "v") == "OK"
    assert local("PSETEX", "k4", "5", "v") == "OK"
    assert local("SET", "k5", "v", "PXAT", now + 7) == "OK"
    prop, events = local.take()
    assert prop == [
        [b"SET", b"k", b"v", b"PXAT", b"%d" % (now + 10000)],
        [b"SET", b"k2", b"v", b"PXAT", b"%d" % (now + 10)],
        [b"SET", b"k3", b"v", b"PXAT", b"%d" % (now + 5000)],
        [b"SET", b"k4", b"v", b"PXAT", b"%d" % (now + 5)],
        [b"SET", b"k5", b"v", b"PXAT", b"%d" % (now + 7)],
    ]
    assert (b"set", b"k", 0) in events and (b"expire", b"k", 0) in events
    local.clock.advance(0.006)
    assert local("GET", "k4") is None
    assert local("GET", "k5") == b"v"
    local.clock.advance(0.002)
    assert local("GET", "k5") is None
    prop, events = local.take()
    assert prop == [[b"DEL", b"k4"], [b"DEL", b"k5"]]
    assert (b"expired", b"k4", 0) in events
    assert local("TTL", "k") == 10
    local.clock.advance(9.4)
    assert local("TTL", "k") == 1 and local("PTTL", "k") == 592
    local.clock.advance(0.6)
    assert local("TTL", "k") == -2


def test_set_get_and_keepttl_propagation(local):
    local("SET", "k", "v", "EX", "100")
    local.take()
    assert local("SET", "k", "w", "GET", "KEEPTTL", "get") == b"v"
    assert local("SET", "k", "x", "XX") == "OK"
    prop, _ = local.take()
    assert prop == [[b"SET", b"k", b"w", b"KEEPTTL"], [b"SET", b"k", b"x", b"XX"]]
    assert local("TTL", "k") == -1
    assert local("SET", "k", "y", "NX") is None
    assert local.take()[0] == []


def test_keepttl_on_expired_key_does_not_resurrect_ttl(local):
    local("SET", "k", "v", "PX", "10")
    local.clock.advance(1)
    assert local("SET", "k", "w", "KEEPTTL") == "OK"
    assert local("GET", "k") == b"w"
    assert local("TTL", "k") == -1


def test_getex_propagation(local):
    now = local.srv.now_ms()
    local("SET", "k", "v")
    local.take()
    assert local("GETEX", "k") == b"v"
    assert local("GETEX", "k", "EX", "10") == b"v"
    assert local("GETEX", "k", "PXAT", now + 50) == b"v"
    assert local("GETEX", "k", "PERSIST") == b"v"
    assert local("GETEX", "k", "PERSIST") == b"v"
    prop, events = local.take()
    assert prop == [
        [b"PEXPIREAT", b"k", b"%d" % (now + 10000)],
        [b"PEXPIREAT", b"k", b"%d" % (now + 50)],
        [b"PERSIST", b"k"],
    ]
    assert [e for e, _, _ in events] == [b"expire", b"expire", b"persist"]
    assert local("GETEX", "k", "EXAT", "1") == b"v"
    assert local("EXISTS", "k") == 0
    prop, events = local.take()
    assert prop == [[b"DEL", b"k"]]
    assert (b"del", b"k", 0) in events


def test_lazyfree_variants():
    loc = Local(lazyfree_lazy_expire="yes", lazyfree_lazy_user_del="yes")
    loc("SET", "k", "v")
    loc("SET", "j", "v")
    loc.take()
    loc("GETEX", "k", "PXAT", "1")
    loc("GETDEL", "j")
    assert loc.take()[0] == [[b"UNLINK", b"k"], [b"UNLINK", b"j"]]


def test_getdel_getset_incrbyfloat_propagation(local):
    local("SET", "t", "1", "EX", "100")
    local.take()
    assert local("INCRBYFLOAT", "t", "0.5") == b"1.5"
    assert local("GETSET", "g", "1") is None
    assert local("GETDEL", "g") == b"1"
    assert local("GETDEL", "g") is None
    prop, events = local.take()
    assert prop == [[b"SET", b"t", b"1.5", b"KEEPTTL"], [b"SET", b"g", b"1"], [b"DEL", b"g"]]
    assert [e for e, _, _ in events] == [
        b"incrbyfloat", b"keymiss", b"new", b"set", b"del", b"keymiss"
    ]
    assert local("TTL", "t") == 100


def test_events_and_dirty(local):
    local("INCR", "n")
    local("APPEND", "s", "a")
    local("APPEND", "s", "b")
    local("SETRANGE", "s", "5", "x")
    local("MSET", "a", "1", "b", "2")
    local("GET", "nokey")
    _, events = local.take()
    assert [e for e, _, _ in events] == [
        b"new", b"incrby", b"new", b"append", b"append", b"setrange",
        b"new", b"set", b"new", b"set", b"keymiss",
    ]
    d = local.srv.dirty
    local("MSET", "a", "1", "b", "2")
    assert local.srv.dirty == d + 2


def test_append_is_in_place(local):
    local("SET", "s", "a")
    local("APPEND", "s", "b")
    v = local.c.db.data[b"s"]
    assert isinstance(v, bytearray)
    local("APPEND", "s", "c")
    assert local.c.db.data[b"s"] is v
    reply = local("GET", "s")
    assert reply == b"abc" and type(reply) is bytes
    local("APPEND", "s", "d")
    assert reply == b"abc"  # the reply was a copy


def test_hit_miss_stats(local):
    srv = local.srv
    local("SET", "a", "1")
    local("GET", "a")
    local("GET", "b")
    local("MGET", "a", "b", "c")
    local("INCR", "x")  # writes do not count
    local("STRLEN", "a")
    assert (srv.stat_keyspace_hits, srv.stat_keyspace_misses) == (3, 3)


def test_master_client_bypasses_length_limit():
    loc = Local(proto_max_bulk_len="1mb")
    assert loc("SETRANGE", "k", 1024 * 1024, "x") == err(
        "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
    )
    loc.c.is_master = True
    assert loc("SETRANGE", "k", 1024 * 1024, "x") == 1024 * 1024 + 1


def test_lcs_matches_naive_dp():
    from trioredis.commands.strings import _lcs_rows

    def naive(a, b):
        t = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
        for i in range(1, len(a) + 1):
            for j in range(1, len(b) + 1):
                t[i][j] = t[i - 1][j - 1] + 1 if a[i - 1] == b[j - 1] else max(t[i - 1][j], t[i][j - 1])
        return t

    rnd = random.Random(1)
    for _ in range(50):
        a = bytes(rnd.choice(b"xyz\x00\xff") for _ in range(rnd.randrange(0, 30)))
        b = bytes(rnd.choice(b"xyz\x00") for _ in range(rnd.randrange(0, 30)))
        rows = _lcs_rows(a, b)
        t = naive(a, b)
        for i in range(len(a) + 1):
            for j in range(len(b) + 1):
                assert j - (rows[i] & ((1 << j) - 1)).bit_count() == t[i][j]


def test_multi_exec_replies_are_snapshots(local):
    local("SET", "s", "ab")
    local("MULTI")
    local("APPEND", "s", "c")
    local("GET", "s")
    local("APPEND", "s", "d")
    assert local("EXEC") == [3, b"abc", 4]


# -- redis-py integration ---------------------------------------------------------------------


def test_redis_py(server):
    r = redis.Redis(port=server.port, protocol=2)
    try:
        assert r.set("a", "1") is True
        assert r.get("a") == b"1"
        assert r.set("a", "2", nx=True) is None
        assert r.set("b", "x", ex=100, get=True) is None
        assert 99 <= r.ttl("b") <= 100
        assert r.incrbyfloat("f", 0.1) == pytest.approx(0.1)
        assert r.mset({"m1": "a", "m2": "b"}) is True
        assert r.mget("m1", "m2", "m3") == [b"a", b"b", None]
        assert r.append("m1", "z") == 2
        assert r.getrange("m1", 0, -1) == b"az"
        assert r.setrange("m1", 1, "Q") == 2
        assert r.getex("m1", px=5000) == b"aQ"
        assert r.getdel("m1") == b"aQ"
        assert r.lcs("m2", "m2") == b"b"
        with pytest.raises(redis.ResponseError, match="not an integer"):
            r.incr("b")
    finally:
        r.close()


def test_resp3(server):
    r = redis.Redis(port=server.port, protocol=3)
    try:
        r.mset({"a": "ohmytext", "b": "mynewtext"})
        assert r.lcs("a", "b", idx=True, withmatchlen=True) == {
            b"matches": [[[4, 7], [5, 8], 4], [[2, 3], [0, 1], 2]],
            b"len": 6,
        }
        assert r.get("nokey") is None
    finally:
        r.close()


def test_resp3_differential(diff):
    diff.both("HELLO", "3")
    diff(
        ("GET", "nokey"), ("SET", "a", "ohmytext"), ("SET", "b", "mynewtext"),
        ("LCS", "a", "b", "IDX", "WITHMATCHLEN"), ("MGET", "a", "nokey"), ("SET", "a", "x", "GET"),
        ("SET", "c", "1", "NX", "GET"), ("SET", "c", "2", "NX"), ("INCRBYFLOAT", "f", "1.5"),
        ("GETEX", "nokey"), ("GETDEL", "nokey"), ("OBJECT", "ENCODING", "nokey"), ("TYPE", "a"),
        ("BITFIELD", "bf", "OVERFLOW", "FAIL", "INCRBY", "u2", "0", "9"), ("SCAN", "0", "MATCH", "a"),
        ("KEYS", "c"), ("TTL", "a"), ("GETRANGE", "nokey", "0", "1"),
    )

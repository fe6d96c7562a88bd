"""Sorted set commands: differential tests against a real Redis 7.0 (raw reply bytes, RESP2 and
RESP3), in-process tests of propagation, keyspace events and blocking, and redis-py."""

from __future__ import annotations

import shlex
import threading
import time

import pytest
import redis

from trioredis.config import Config
from trioredis.core import ManualClock, Server
from trioredis.datatypes.zset import ZSet
from trioredis.keyspace import NOTIFY_KEYSPACE
from trioredis.protocol.replies import NULL_ARRAY

from ..helpers import RawClient


class Diff:
    """The same commands to a real Redis and to trioredis; raw replies must be identical."""

    def __init__(self, real_port: int, our_port: int):
        self.real = RawClient(real_port)
        self.ours = RawClient(our_port)
        self.both("FLUSHALL")

    def both(self, *cmd):
        return self.real.command(*cmd), self.ours.command(*cmd)

    def __call__(self, cmd):
        """One command (a list of arguments) on both; the replies must match."""
        a, b = self.both(*cmd)
        assert b == a, f"{cmd!r}: redis {a!r} != trioredis {b!r}"
        return a

    def script(self, text: str, skip=("hello",)):
        """Run one command per line (shell quoting); replies must match byte for byte."""
        for line in text.strip().splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            args = shlex.split(line)
            a, b = self.both(*args)
            if args[0].lower() in skip:
                continue
            assert b == a, f"{line}: redis {a!r} != trioredis {b!r}"

    def close(self):
        self.real.close()
        self.ours.close()


@pytest.fixture
def diff(server, real_redis):
    d = Diff(real_redis.port, server.port)
    yield d
    d.close()


class Local:
    """An in-process Server: run commands, see propagation, events and dirty."""

    def __init__(self, **config):
        cfg = Config()
        for k, v in config.items():
            cfg.set(k.replace("_", "-"), str(v), startup=True)
        self.srv = Server(cfg, clock=ManualClock())
        self.c = self.srv.new_client()
        self.propagated: list = []
        self.srv.propagate_targets.append(lambda dbid, argv: self.propagated.append(argv))
        self.events: list = []
        self.srv.notify_flags = 0xFFFF | NOTIFY_KEYSPACE
        self.srv.notify = lambda kind, event, key, dbid: self.events.append((event, key))

    def __call__(self, *args, client=None):
        argv = [a if isinstance(a, bytes) else str(a).encode() for a in args]
        return self.srv.execute(client or self.c, argv)

    def take(self, new=False):
        """Propagated commands and events since the last call ('new' events only if asked)."""
        p, e = self.propagated, self.events
        self.propagated, self.events = [], []
        return p, e if new else [ev for ev in e if ev[0] != b"new"]


# -- differential ----------------------------------------------------------------------------

ZADD_SCRIPT = """
zadd z 1 a 2 b
zadd z xx nx 1 a
zadd z gt lt 1 a
zadd z nx gt 1 a
zadd z nx lt 1 a
zadd z incr 1 a 2 b
zadd z xx nx 1
zadd z 1
zadd z nan a
zadd z 1e400 a
zadd z -1e400 a
zadd z 1e-400 u
zadd z 4.9e-324 d
zadd z 0x10 hex
zadd z 0x1p-1074 d2
zadd z 0x1p99999 d3
zadd z -inFinity d4
zadd z +.5 d5
zadd z 5. d6
zadd z 1e d7
zadd z 1_0 d8
zadd z " 1" sp
zadd z "1 " sp
zadd z "" sp
zadd z -0 negz
zscore z negz
zadd z inf i
zincrby z -inf i
zadd z incr -inf i
zadd z 1.5 a
zscore z d
zrange z 0 -1 withscores
zadd z incr 1 b
zadd z nx incr 1 b
zadd z xx incr 1 nope
zadd z gt incr -1 b
zadd z lt ch 0 b 100 newone
zadd z gt ch 0 b 100 newone
zadd z xx ch 7 b 100 nope
zadd z CH GT 1000 b 1000 newtwo
zadd nokey2 xx 1 a
zadd nokey2 xx incr 1 a
exists nokey2
zincrby z 2.5 a
zincrby z abc a
zincrby z nx a
zincrby z 1 newm
zincrby z 1 a b
set str x
zadd str 1 a
zadd str xx nx 1 a
zadd str abc a
zincrby str 1 a
zrem z a nope b
zrem nokey a
zrem str a
zrem z newm newone newtwo negz d d2 d3 d4 d5 d6 hex i
exists z
zrange z 0 -1 withscores
zadd big {many}
zadd big ch gt {many2}
zrange big 0 -1 withscores
zadd big nx {many2}
zscan big 0 count 1000
""".format(many=" ".join(f"{i % 50} m{i % 70}" for i in range(150)),
           many2=" ".join(f"{i % 7} m{i % 90}" for i in range(100)))

READ_SCRIPT = r"""
zadd z 1 a 2 b 1.5 c -inf d inf e 2 bb
zscore z a
zscore z nope
zscore nokey a
zmscore z a nope e
zmscore nokey a b
zcard z
zcard nokey
zcount z -inf +inf
zcount z (1 2
zcount z (-inf (inf
zcount z 2 1
zcount z abc 1
zcount z 1 (
zcount z "" 10
zcount z " 1" 10
zcount z "  " 10
zcount z 0x1 10
zcount z 1e400 inf
zcount nokey 0 1
zrank z b
zrank z d
zrevrank z b
zrevrank z d
zrank z nope
zrank nokey a
set str x
zscore str a
zmscore str a
zcard str
zcount str 0 1
zcount str a 1
zrank str a
"""

RANGE_SCRIPT = r"""
zadd z 1 a 2 b 3 c 4 d 5 e 5 f inf g -inf h
zrange z 0 -1
zrange z 0 -1 withscores
zrange z 0 -1 WITHSCORES REV
zrange z -3 -2
zrange z -100 100
zrange z 5 2
zrange z 2 5 rev
zrange z 100 200
zrange z a b
zrange z 0 -1 limit 0 1
zrange z 0 -1 limit 0 -1
zrange z 0 -1 bylex withscores
zrange z (1 3 byscore limit 0 1 limit 1 1 withscores
zrange z 0 -1 rev rev
zrange z 0 -1 byscore bylex
zrange z 0 -1 foo
zrange z +inf -inf byscore rev limit 0 3 withscores
zrange z (2 (5 byscore
zrange z 5 5 byscore
zrevrange z 0 2 withscores
zrevrange z -2 -1
zrevrange z 0 -1 limit 0 1
zrangebyscore z -inf +inf withscores
zrangebyscore z (1.5 +inf withscores limit 1 2
zrangebyscore z -inf +inf rev
zrangebyscore z -inf +inf limit -1 2
zrangebyscore z -inf +inf limit 1 -1
zrangebyscore z -inf +inf limit 1 -5
zrangebyscore z -inf +inf limit 10 1
zrangebyscore z -inf +inf limit 1 0
zrangebyscore z -inf +inf limit 1
zrangebyscore z -inf +inf limit a 1
zrangebyscore z (inf +inf
zrangebyscore z inf +inf
zrangebyscore z -inf (-inf
zrangebyscore z 1e400 2
zrangebyscore z abc 2
zrangebyscore z 1 nan
zrangebyscore z (nan 2
zrevrangebyscore z +inf (1.5 withscores limit 1 2
zrevrangebyscore z (5 -inf
zrevrangebyscore z -inf +inf
zrevrangebyscore z 5 5 limit 1 10
zrangebyscore nokey 0 1
zrangebyscore nokey a 1
zrange z -9223372036854775808 9223372036854775807
zrange z 0 9223372036854775808
zrevrange z -9223372036854775808 9223372036854775807 withscores
zrangebyscore z -inf +inf limit 0 9223372036854775807
zrangebyscore z -inf +inf limit 9223372036854775807 9223372036854775807
zrangebyscore z -inf +inf limit -9223372036854775808 1
zrevrangebyscore z +inf -inf limit 1 9223372036854775807
zrandmember z 9223372036854775807
zrandmember z 4611686018427387903 withscores
zunion 9223372036854775807 z
zintercard 1 z limit 9223372036854775807
zscan z 0 count 9223372036854775807
zremrangebyrank z -9223372036854775808 -9223372036854775808
zpopmax z 9223372036854775808
zmpop 9223372036854775807 z min
zmpop 1 z min count 9223372036854775807
set str x
zrange str 0 1
zrange str a b
zrangebyscore str 0 1
zrevrange str 0 1
"""

LEX_SCRIPT = r"""
zadd l 0 a 0 b 0 c 0 d 0 e 0 f 0 g
zrangebylex l - +
zrangebylex l [b (f
zrangebylex l (b [f limit 1 2
zrangebylex l (b [f limit 1 -1
zrangebylex l (b [f limit -1 1
zrevrangebylex l + -
zrevrangebylex l [f (b
zrevrangebylex l [f (b limit 1 2
zrangebylex l + -
zrangebylex l - -
zrangebylex l + +
zrangebylex l [a [a
zrangebylex l (a [a
zrangebylex l [a (a
zrangebylex l [z +
zrangebylex l - [0
zrangebylex l [ +
zrangebylex l ( +
zrangebylex l a +
zrangebylex l [a +b
zrangebylex l [a -
zrangebylex l - + withscores
zrange l [b [d bylex
zrange l [d [b bylex rev
zrange l [d [b bylex rev limit 0 1
zrange l (a (g bylex limit 2 10
zlexcount l - +
zlexcount l [b [d
zlexcount l (b (d
zlexcount l [b [b
zlexcount l (b [b
zlexcount l a b
zlexcount nokey - +
zadd m 1 b 2 a 3 d 0 c 5 e
zrangebylex m - +
zrangebylex m [b [d
zrevrangebylex m [d [b
zrangebylex m [a [c
zrevrangebylex m [c [a
zlexcount m [a [c
zrangebylex m (b +
zrevrangebylex m + (b
zremrangebylex m [a [c
zrange m 0 -1 withscores
"""

REM_SCRIPT = r"""
zadd l 0 a 0 b 0 c 0 d 0 e
zremrangebylex l [b (d
zrange l 0 -1
zremrangebylex l x y
zremrangebylex nokey - +
zremrangebylex l - +
exists l
zadd r 1 a 2 b 3 c 4 d 5 e
zremrangebyrank r 1 2
zrange r 0 -1
zremrangebyrank r 5 10
zremrangebyrank r -1 -1
zrange r 0 -1
zremrangebyrank r abc 1
zremrangebyrank r 0 -1
exists r
zadd r 1 a 2 b 3 c 4 d 5 e inf f -inf g
zremrangebyscore r (1 3
zrange r 0 -1 withscores
zremrangebyscore r -inf -inf
zremrangebyscore r (inf +inf
zremrangebyscore r inf +inf
zremrangebyscore r abc 1
zremrangebyscore r (5 (4
zrange r 0 -1 withscores
zremrangebyscore r -inf +inf
exists r
zremrangebyrank nokey 0 1
set str x
zremrangebyscore str 1 2
zremrangebyscore str a 2
zremrangebylex str [a [b
zremrangebyrank str 0 1
"""

POP_SCRIPT = r"""
zadd z 1 a 2 b 3 c 4 d 5 e
zpopmin z
zpopmax z 2
zpopmin z 0
zpopmin z -1
zpopmin z abc
zpopmin z 1 2
zpopmin nokey
zpopmin nokey 3
zpopmax z 100
exists z
zadd z 1 a 2 b 3 c 4 d
zmpop 0 z min
zmpop abc z min
zmpop -1 z min
zmpop 1 z foo
zmpop 2 z
zmpop 1 z min count 0
zmpop 1 z min count -1
zmpop 1 z min count abc
zmpop 1 z min count 1 count 1
zmpop 1 z min count
zmpop 1 nokey min
zmpop 2 nokey z max count 2
zmpop 1 z MIN count 10
exists z
set str x
zmpop 2 nokey str min
zmpop 2 str nokey min
zpopmin str
zpopmin str 0
bzpopmin str 0.01
bzmpop 0.01 1 str min
bzmpop 0.01 1 nokey min
bzpopmin nokey 0.01
bzpopmin nokey abc
bzpopmin nokey -1
bzmpop abc 1 nokey min
bzmpop -1 1 nokey min
bzmpop 0 0 nokey min
bzmpop abc 0 nokey min
bzmpop 0 1 nokey foo
zadd z 1 a 2 b 3 c
bzpopmin nokey z 0
bzpopmax z 0
bzmpop 0 2 nokey z min count 5
exists z
"""

RANDMEMBER_SCRIPT = r"""
zadd z 1 a 2 b 3 c
zrandmember z 10 withscores
zrandmember z 3
zrandmember nokey 3
zrandmember nokey -3
zrandmember nokey
zrandmember z 0 withscores
zrandmember z 9223372036854775807 withscores
zrandmember z -9223372036854775808
zrandmember z 4611686018427387904 withscores
zrandmember z -4611686018427387904 withscores
zrandmember z 10 withscores x
zrandmember z 10 foo
zrandmember z x
zrandmember z 1.5
set str x
zrandmember str
zrandmember str 1
"""

SETOP_SCRIPT = r"""
zadd z 1 a 2 b 3 c 4 d
zadd z2 10 b 20 c 30 x -inf y
sadd s a x q
set str v
zunionstore d 0 z
zunion 0 z
zunion -1 z
zunion abc z
zintercard 0 z
zintercard abc z
zintercard 1 z limit -1
zintercard 1 z limit abc
zintercard 1 z limit 1
zintercard 2 z
zintercard 2 z z2
zintercard 2 z z2 limit 1
zintercard 3 z z2 s limit 0
zintercard 2 z z2 withscores
zintercard 2 z z2 weights 1 1
zdiffstore d 0 z
zdiff 1 z weights 1
zdiff 1 z aggregate sum
zinter 1 z weights abc
zinter 2 z z2 weights 1
zunion 1 z aggregate foo
zunion 1 z aggregate
zunion 1 z withscores withscores
zunionstore d 1 z withscores
zunion 3 z z
zunion 2 z str
zunion 2 nokey str
zintercard 2 nokey str
zunion 3 z z2 s withscores
zunion 3 z z2 s withscores weights 1 2 3
zunion 3 z z2 s withscores weights 1 2 3 aggregate min
zunion 3 z z2 s withscores weights 1 2 3 aggregate max
zunion 3 z z2 s withscores weights 0 inf -inf
zunion 2 z2 z2 withscores weights inf -inf
zinter 2 z z2 withscores
zinter 2 z z2 withscores weights 2 0.5 aggregate max
zinter 3 z z2 s withscores
zinter 2 z s withscores
zinter 2 z2 z2 withscores weights 1 -1
zinter 2 z2 z2 withscores weights inf -inf
zinter 2 z2 z2 withscores weights inf 0 aggregate min
zinter 2 nokey z
zdiff 2 z z2 withscores
zdiff 2 z s withscores
zdiff 2 s z withscores
zdiff 2 nokey z
zdiff 3 z nokey z2
zdiff 2 z z
zunionstore d 2 z z2
zrange d 0 -1 withscores
zinterstore d 2 z z2 weights 1 1
zrange d 0 -1 withscores
zdiffstore d 2 z z2
zrange d 0 -1 withscores
zinterstore d 2 z nokey
exists d
zdiffstore d 1 nokey
set d x
zunionstore d 1 z
type d
zunionstore z 2 z z2
zrange z 0 -1 withscores
"""

STORE_SCRIPT = r"""
zadd z 1 a 2 b 3 c 4 d
set str x
zrangestore d z 0 1
zrange d 0 -1 withscores
zrangestore d z (1 +inf byscore limit 1 2
zrange d 0 -1 withscores
zrangestore d z [b [x bylex
zrange d 0 -1 withscores
zrangestore d z +inf 2 byscore rev
zrange d 0 -1 withscores
zrangestore d nokey 0 -1
exists d
zrangestore d z 0 -1
zrangestore d str 0 -1
exists d
zrangestore d z 5 2
exists d
zrangestore d z 0 -1 rev
zrange d 0 -1 withscores
zrangestore d z 0 -1 withscores
zrangestore d z 0 -1 limit 0 1
"""

SCAN_SCRIPT = r"""
zadd z 1 a 2 b 1.5 c -0 d inf e 0.1 f
zscan z 0
zscan z 0 count 1
zscan z 0 match a*
zscan z 0 match * count 100
zscan z 0 MATCH [ab] COUNT 2
zscan z 123
zscan z abc
zscan z -1
zscan z ""
zscan z " 1"
zscan z 0 count 0
zscan z 0 count abc
zscan z 0 type zset
zscan z 0 match
zscan nokey 0
zscan nokey abc
zscan nokey 0 count 0
zscan z 18446744073709551616
zscan z 18446744073709551615
zscan z +5
zscan z -
set str x
zscan str 0
"""

ENCODING_SCRIPT = """
zadd big {big}
object encoding big
zadd big 200 m200
object encoding big
zremrangebyrank big 0 100
object encoding big
zadd long 1 {x64}
object encoding long
zadd long2 1 {x65}
object encoding long2
zadd long3 1 a 2 {x65}
object encoding long3
zunionstore u 1 big
object encoding u
zrangestore u2 big 0 5
object encoding u2
zadd sk 1 {x65} -0 negz
zscore sk negz
zrange sk 0 -1 withscores
zunion 1 sk withscores
zunionstore sk2 1 sk
zscore sk2 negz
zadd sk incr -0 negz
zadd z -0 d
zscore z d
zadd z incr -0 d
zadd z incr -0 newneg
zscore z newneg
zinter 1 sk weights -1 withscores
""".format(big=" ".join(f"{i} m{i}" for i in range(128)), x64="x" * 64, x65="x" * 65)


@pytest.mark.parametrize("script", [ZADD_SCRIPT, READ_SCRIPT, RANGE_SCRIPT, LEX_SCRIPT,
                                    REM_SCRIPT, POP_SCRIPT, RANDMEMBER_SCRIPT, SETOP_SCRIPT,
                                    STORE_SCRIPT, SCAN_SCRIPT, ENCODING_SCRIPT],
                         ids=["zadd", "read", "range", "lex", "rem", "pop", "randmember", "setop",
                              "store", "scan", "encoding"])
@pytest.mark.parametrize("resp", [2, 3])
def test_differential(diff, script, resp):
    if resp == 3:
        diff.both("HELLO", "3")
    diff.script(script)


def test_wrong_arity(diff):
    diff.script("""
    zadd z
    zadd z 1
    zincrby z 1
    zscore z
    zrange z 0
    zrangestore d z 0
    zpopmin
    bzpopmin z
    zmpop 1 z
    bzmpop 0 1 z
    zunionstore d 1
    zinter 1
    zintercard 1
    zscan z
    zrandmember
    zremrangebyscore z 0
    """)


def test_encoding_limits_from_config(server, real_redis):
    """zset-max-listpack-* limits decide OBJECT ENCODING, as Redis applies them."""
    real = redis.Redis(port=real_redis.port, protocol=2)
    ours = redis.Redis(port=server.port, protocol=2)
    real.config_set("zset-max-listpack-entries", 3)
    real.config_set("zset-max-listpack-value", 4)
    server.call(server.server.config.set, "zset-max-listpack-entries", "3")
    server.call(server.server.config.set, "zset-max-listpack-value", "4")
    try:
        for r in (real, ours):
            r.flushall()
            r.zadd("a", {"x": 1, "y": 2, "z": 3})
            r.zadd("b", {"x": 1, "y": 2, "z": 3, "w": 4})
            r.zadd("c", {"toolong": 1})
            r.zunionstore("d", ["b"])
            r.zremrangebyrank("b", 0, 1)
            r.zrangestore("e", "b", 0, -1)
        for key in "abcde":
            assert ours.object("encoding", key) == real.object("encoding", key), key
    finally:
        real.config_set("zset-max-listpack-entries", 128)
        real.config_set("zset-max-listpack-value", 64)
        real.close()
        ours.close()


def test_zscan_large_set_full_iteration(server):
    r = redis.Redis(port=server.port, protocol=2)
    r.zadd("big", {f"m{i}": i for i in range(1000)})
    seen = {}
    cursor = 0
    calls = 0
    while True:
        cursor, items = r.zscan("big", cursor, count=50)
        seen.update(items)
        calls += 1
        if cursor == 0:
            break
    assert len(seen) == 1000 and calls > 5
    assert seen[b"m7"] == 7.0
    cursor, items = r.zscan("big", 0, match="m99*", count=2000)
    assert cursor == 0 and sorted(items) == sorted((f"m99{x}".encode(), float(f"99{x}"))
                                                   for x in ["", *range(10)])
    r.close()


# -- in-process: propagation, events, dirty --------------------------------------------------


def test_events_and_dirty():
    t = Local()
    dirty = t.srv.dirty
    t("zadd", "z", 1, "a", 2, "b")
    assert t.srv.dirty == dirty + 2
    assert t.take(new=True)[1] == [(b"new", b"z"), (b"zadd", b"z")]
    t("zadd", "z", 1, "a")
    assert t.take() == ([], [])  # nothing changed: no event, no propagation
    t("zincrby", "z", 1, "a")
    assert t.take()[1] == [(b"zincr", b"z")]
    t("zrem", "z", "a", "b")
    assert t.take()[1] == [(b"zrem", b"z"), (b"del", b"z")]
    t("zadd", "z", 1, "a", 2, "b", 3, "c")
    t.take()
    t("zremrangebyscore", "z", 3, 3)
    t("zremrangebyrank", "z", 0, 0)
    t("zremrangebylex", "z", "-", "+")
    assert t.take()[1] == [(b"zremrangebyscore", b"z"), (b"zremrangebyrank", b"z"),
                           (b"zremrangebylex", b"z"), (b"del", b"z")]
    t("zadd", "z", 1, "a", 2, "b")
    t.take()
    t("zpopmin", "z")
    t("zpopmax", "z")
    assert t.take()[1] == [(b"zpopmin", b"z"), (b"zpopmax", b"z"), (b"del", b"z")]
    t("zadd", "z", 1, "a")
    t("set", "d", "x")
    t.take()
    t("zunionstore", "d", 1, "z")
    t("zinterstore", "d", 1, "z")
    t("zdiffstore", "d", 1, "z")
    t("zrangestore", "d2", "z", 0, -1)
    t("zinterstore", "d", 2, "z", "nokey")
    assert t.take()[1] == [(b"zunionstore", b"d"), (b"zinterstore", b"d"), (b"zdiffstore", b"d"),
                           (b"zrangestore", b"d2"), (b"del", b"d")]


def test_propagation_of_pops():
    t = Local()
    t("zadd", "z", 1, "a", 2, "b", 3, "c")
    t.take()
    t("zmpop", 2, "nokey", "z", "min", "count", 2)
    assert t.take()[0] == [[b"ZPOPMIN", b"z", b"2"]]
    t("zmpop", 1, "z", "max")
    assert t.take()[0] == [[b"ZPOPMAX", b"z", b"1"]]
    t("zmpop", 1, "z", "max")
    assert t.take()[0] == []
    t("zadd", "z", 1, "a", 2, "b", 3, "c")
    t.take()
    t("bzpopmax", "nokey", "z", 0)
    assert t.take()[0] == [[b"ZPOPMAX", b"z"]]
    t("bzmpop", 0, 1, "z", "min", "count", 5)  # two left: Redis 7.0.15 propagates what it popped
    assert t.take()[0] == [[b"ZPOPMIN", b"z", b"2"]]
    t("zadd", "z", 1, "a", 2, "b", 3, "c")
    t.take()
    t("zmpop", 2, "nokey", "z", "max", "count", 10)
    assert t.take()[0] == [[b"ZPOPMAX", b"z", b"3"]]
    t("zadd", "z", 1, "a")
    t.take()
    t("zpopmin", "z", 3)
    assert t.take()[0] == [[b"zpopmin", b"z", b"3"]]


def test_blocking_pops_inside_multi_do_not_block():
    t = Local()
    t("multi")
    t("bzpopmin", "z", 0)
    t("bzmpop", 0, 1, "z", "min")
    assert t("exec") == [NULL_ARRAY, NULL_ARRAY]


def test_zadd_creates_listpack_or_skiplist_from_first_member():
    t = Local(zset_max_listpack_entries=0)
    t("zadd", "z", 1, "a")
    assert t.srv.dbs[0].data[b"z"].listpack is False
    t = Local()
    t("zadd", "z", 1, "a")
    zs = t.srv.dbs[0].data[b"z"]
    assert zs.__class__ is ZSet and zs.listpack


# -- blocking over the network ---------------------------------------------------------------


def _wait_blocked(server, n=1, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.call(lambda: sum(len(q) for q in server.server.dbs[0].blocking.values())) >= n:
            return
        time.sleep(0.005)
    raise AssertionError("client did not block")


def test_bzpopmin_blocks_and_is_served(server):
    a = RawClient(server.port)
    b = RawClient(server.port)
    a.send(b"*3\r\n$8\r\nBZPOPMIN\r\n$1\r\nz\r\n$1\r\n0\r\n")
    _wait_blocked(server)
    assert b.command("ZADD", "z", "2", "b", "1", "a") == b":2\r\n"
    assert a.read_reply() == b"*3\r\n$1\r\nz\r\n$1\r\na\r\n$1\r\n1\r\n"
    assert b.command("ZRANGE", "z", "0", "-1") == b"*1\r\n$1\r\nb\r\n"
    # BZMPOP with COUNT, RESP3: nested pairs and a double.
    assert a.command("HELLO", "3").startswith(b"%")
    a.send(b"*7\r\n$6\r\nBZMPOP\r\n$1\r\n0\r\n$1\r\n1\r\n$1\r\nq\r\n$3\r\nMAX\r\n"
           b"$5\r\nCOUNT\r\n$1\r\n5\r\n")
    _wait_blocked(server)
    b.command("ZADD", "q", "1", "x", "2", "y")
    assert a.read_reply() == b"*2\r\n$1\r\nq\r\n*2\r\n*2\r\n$1\r\ny\r\n,2\r\n*2\r\n$1\r\nx\r\n,1\r\n"
    a.close()
    b.close()


def test_bzpopmin_timeout_and_wrong_type_keeps_waiting(server):
    a = RawClient(server.port)
    b = RawClient(server.port)
    assert a.command("BZPOPMIN", "k", "0.05") == b"*-1\r\n"
    a.send(b"*3\r\n$8\r\nBZPOPMAX\r\n$1\r\nk\r\n$1\r\n0\r\n")
    _wait_blocked(server)
    b.command("SET", "k", "string")  # Redis 7.0 keeps a zset pop waiting on another type
    b.command("DEL", "k")
    b.command("ZADD", "k", "5", "m")
    assert a.read_reply() == b"*3\r\n$1\r\nk\r\n$1\r\nm\r\n$1\r\n5\r\n"
    a.close()
    b.close()


def test_blocked_clients_served_in_order(server):
    clients = [RawClient(server.port) for _ in range(3)]
    for i, cl in enumerate(clients):
        cl.send(b"*3\r\n$8\r\nBZPOPMIN\r\n$1\r\nz\r\n$1\r\n0\r\n")
        _wait_blocked(server, i + 1)
    feeder = RawClient(server.port)
    feeder.command("ZADD", "z", "1", "a", "2", "b", "3", "c")
    got = [cl.read_reply() for cl in clients]
    assert got == [b"*3\r\n$1\r\nz\r\n$1\r\n%s\r\n$1\r\n%d\r\n" % (m, i + 1)
                   for i, m in enumerate([b"a", b"b", b"c"])]
    for cl in (*clients, feeder):
        cl.close()


# -- redis-py --------------------------------------------------------------------------------


def test_redis_py_roundtrip(server):
    r = redis.Redis(port=server.port, protocol=2, decode_responses=True)
    assert r.zadd("z", {"a": 1, "b": 2.5, "c": -1}) == 3
    assert r.zrange("z", 0, -1, withscores=True) == [("c", -1.0), ("a", 1.0), ("b", 2.5)]
    assert r.zrangebyscore("z", "(0", "+inf") == ["a", "b"]
    assert r.zincrby("z", 2, "a") == 3.0
    assert r.zrank("z", "a") == 2 and r.zrevrank("z", "a") == 0
    assert r.zcard("z") == 3 and r.zcount("z", 0, 10) == 2
    assert r.zpopmax("z") == [("a", 3.0)]
    assert r.zmpop(1, ["z"], min=True, count=5) == ["z", [["c", "-1"], ["b", "2.5"]]]
    assert r.exists("z") == 0
    r.zadd("x", {"a": 1, "b": 2})
    r.zadd("y", {"b": 10, "c": 20})
    assert r.zunion(["x", "y"], withscores=True) == [("a", 1.0), ("b", 12.0), ("c", 20.0)]
    assert r.zinterstore("d", {"x": 2, "y": 1}, aggregate="MAX") == 1
    assert r.zscore("d", "b") == 10.0
    assert r.zintercard(2, ["x", "y"]) == 1
    assert r.bzpopmin(["nokey", "x"], timeout=1) == ("x", "a", 1.0)
    r.zadd("big", {f"m{i}": i for i in range(200)})
    picked = r.zrandmember("big", 50)
    assert len(set(picked)) == 50
    many = r.zrandmember("big", -500, withscores=True)
    assert len(many) == 1000 and all(float(many[i + 1]) == int(many[i][1:])
                                     for i in range(0, 1000, 2))
    assert r.zrandmember("big") in {f"m{i}" for i in range(200)}
    r.close()


def test_threaded_producers_and_blocking_consumers(server):
    """Several consumers blocked on BZPOPMIN, several producers: every element once."""
    produced = [f"m{i}" for i in range(60)]
    got: list = []
    lock = threading.Lock()

    def consume():
        r = redis.Redis(port=server.port, protocol=2, decode_responses=True)
        for _ in range(20):
            item = r.bzpopmin("q", timeout=5)
            with lock:
                got.append(item[1])
        r.close()

    def produce(part):
        r = redis.Redis(port=server.port, protocol=2)
        for m in part:
            r.zadd("q", {m: 1})
        r.close()

    threads = [threading.Thread(target=consume) for _ in range(3)]
    threads += [threading.Thread(target=produce, args=(produced[i::2],)) for i in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(20)
    assert sorted(got) == sorted(produced)


def test_blocked_client_is_served_from_the_key_that_became_ready(server):
    a = RawClient(server.port)
    b = RawClient(server.port)
    a.send(b"*4\r\n$8\r\nBZPOPMIN\r\n$1\r\nx\r\n$1\r\ny\r\n$1\r\n0\r\n")
    _wait_blocked(server, 2)  # one entry per key
    b.command("MULTI")
    b.command("ZADD", "y", "1", "from-y")
    b.command("ZADD", "x", "1", "from-x")
    b.command("EXEC")
    assert a.read_reply() == b"*3\r\n$1\r\ny\r\n$6\r\nfrom-y\r\n$1\r\n1\r\n"
    a.close()
    b.close()


def test_redis_py_resp3(server):
    r = redis.Redis(port=server.port, protocol=3, decode_responses=True)
    r.zadd("z", {"a": 1, "b": 2.5})
    assert r.zrange("z", 0, -1, withscores=True) == [["a", 1.0], ["b", 2.5]]
    assert r.zscore("z", "b") == 2.5
    assert r.zpopmin("z", 1) == [["a", 1.0]]
    assert r.zpopmin("z") == ["b", 2.5]
    r.close()

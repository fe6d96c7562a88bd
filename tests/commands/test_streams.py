"""Stream commands against a real Redis 7.0: the same commands to both, raw reply bytes
compared (RESP2 and RESP3), error texts included. Explicit IDs keep replies comparable; where
the server's clock shows (``*`` IDs, idle times, delivery times) the values are masked.

Seeded random runs cover the listpack node layout (``~`` trimming, XINFO's node counts) and
consumer groups; one compares what both servers propagate (the real AOF against ours).
"""

from __future__ import annotations

import glob
import os
import random
import re
import shlex

import hiredis
import pytest
import redis

from ..helpers import RawClient, RealRedis, ThreadedServer, have_real_redis

# Times the two servers cannot agree on: idle times, delivery and seen times.
_PENDING_IDLE = re.compile(rb"(\*4\r\n\$\d+\r\n[^\r]*\r\n\$\d+\r\n[^\r]*\r\n):\d+\r\n")
_IDLE = re.compile(rb"(idle\r\n|seen-time\r\n):\d+\r\n")
_FULL_PEL = re.compile(rb"(\*4\r\n\$\d+\r\n\d+-\d+\r\n\$\d+\r\n[^\r]*\r\n):\d+\r\n")
_CONS_PEL = re.compile(rb"(\*3\r\n\$\d+\r\n\d+-\d+\r\n):\d+\r\n")
_ANY_ID = re.compile(rb"\$\d+\r\n\d+-\d+\r\n")


def mask_times(cmd: list, reply: bytes) -> bytes:
    name = cmd[0].lower()
    if name == "xpending":
        return _PENDING_IDLE.sub(rb"\1:T\r\n", reply)
    if name == "xinfo":
        reply = _IDLE.sub(rb"\1:T\r\n", reply)
        reply = _FULL_PEL.sub(rb"\1:T\r\n", reply)
        return _CONS_PEL.sub(rb"\1:T\r\n", reply)
    return reply


class Diff:
    """The same commands to a real Redis and to trioredis; raw replies must be identical."""

    def __init__(self, real_port: int, our_port: int):
        self.real = RawClient(real_port)
        self.ours = RawClient(our_port)
        self.both("FLUSHALL")
        for name, value in (("stream-node-max-entries", "100"), ("stream-node-max-bytes", "4096")):
            self.both("CONFIG", "SET", name, value)

    def both(self, *cmd):
        return self.real.command(*cmd), self.ours.command(*cmd)

    def __call__(self, *cmd):
        a, b = self.both(*cmd)
        a, b = mask_times(list(cmd), a), mask_times(list(cmd), b)
        assert b == a, f"{cmd!r}: redis {a!r} != trioredis {b!r}"
        return a

    def script(self, text: str):
        """One command per line (shell quoting); ``HELLO`` replies are not compared."""
        for line in text.strip().splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            args = shlex.split(line)
            if args[0].lower() == "hello":
                self.both(*args)
                continue
            self(*args)

    def close(self):
        self.real.close()
        self.ours.close()


@pytest.fixture
def diff(server, real_redis):
    d = Diff(real_redis.port, server.port)
    yield d
    d.close()


# -- entries and IDs ---------------------------------------------------------------------------

XADD_SCRIPT = """
xadd s 0-0 f v
xadd s 0-* f v
xadd s 0-* f v
xadd s 5-* f v
xadd s 5-* f v
xadd s 3-* f v
xadd s 5-2 f v
xadd s 5-1 a b
xadd s 1 f v
xadd s + f v
xadd s - f v
xadd s " 7" f v
xadd s +8 f v
xadd s 09-01 f v
xadd s -5 f v
xadd s 10-1-2 f v
xadd s 11- f v
xadd s 11 f
xadd s 11 f v g
xadd s maxlen
xadd s maxlen 1
xadd s maxlen ~ 5 11 f v
xadd s maxlen = 5 12 f v
xadd s maxlen -1 12 f v
xadd s maxlen x 12 f v
xadd s maxlen 5 minid 1 12 f v
xadd s limit 5 12 f v
xadd s limit 0 12 f v
xadd s maxlen 5 limit 5 12 f v
xadd s maxlen ~ 5 limit -1 12 f v
xadd s maxlen ~ 5 limit x 12 f v
xadd s MAXLEN ~ 5 LIMIT 1 12 f v
xadd s nomkstream 13 f v
xadd nos nomkstream 13 f v
exists nos
xadd s foo f v
xadd s minid bad 14 f v
xadd s minid - 14 f v
xadd s 18446744073709551615-18446744073709551615 f v
xadd s 18446744073709551615-* f v
xadd s2 18446744073709551615-18446744073709551614 f v
xadd s2 18446744073709551615-* f v
xadd s2 18446744073709551615-* f v
xadd s2 18446744073709551616-* f v
xadd s3 0-* f v
xadd s4 1-1 f1 v1 f2 v2 f3 v3
xadd s4 1-2 12345 -7 "" empty
xrange s - +
xrange s2 - +
xrange s3 - +
xrange s4 - +
set str x
xadd str 1-1 f v
xlen s
xlen nokey
xlen str
type s
object encoding s
"""


def test_xadd(diff):
    diff.script(XADD_SCRIPT)


def test_xadd_auto_id_shape(diff):
    a, b = diff.both("XADD", "s", "*", "f", "v")
    assert re.fullmatch(rb"\$\d+\r\n\d{13}-0\r\n", a) and re.fullmatch(rb"\$\d+\r\n\d{13}-0\r\n", b)
    ours = diff.ours.command("XADD", "s", "*", "f", "v")
    assert int(ours[4:].split(b"-")[0]) >= int(b[4:].split(b"-")[0])


RANGE_SCRIPT = """
xadd s 1-1 f v
xadd s 2-2 f v
xadd s 3-3 f v g w
xrange s - + count 0
xrange nokey - + count 0
xrange s - + count -1
xrange s - + count
xrange s - + count 1 count 2
xrange s - + foo 1
xrange s (1-1 +
xrange s (1 +
xrange s - (3
xrange s - (3-3
xrange s (- +
xrange s - (+
xrange s ( +
xrange s (18446744073709551615-18446744073709551615 +
xrange s - (0-0
xrange s - (0
xrange s 2 2
xrange s 2 +
xrange s 3-3 2
xrange s bad +
xrevrange s + - count 1
xrevrange s (3-3 -
xrevrange s + (1-1
xrevrange s - +
xrevrange s + - COUNT 2
xdel s 2-2
xrange s - +
xrevrange s + -
xrange s 2-2 2-2
set str x
xrange str - +
xrevrange str + -
"""


def test_xrange_xrevrange(diff):
    diff.script(RANGE_SCRIPT)


DEL_TRIM_SCRIPT = """
xadd s 1-0 f v
xadd s 2-0 f v
xadd s 3-0 f v
xadd s 4-0 f v
xadd s 5-0 f v
xdel nokey bad
xdel s bad
xdel s 1-0 1-0 9-9
xdel s 1-0
xinfo stream s
xdel s 5-0
xinfo stream s
xtrim s maxlen
xtrim s
xtrim s foo 1
xtrim s maxlen 1 foo
xtrim s maxlen 1 limit 1
xtrim s maxlen ~ 1 limit 1 limit 2
xtrim s nomkstream maxlen 1
xtrim nokey maxlen 0
xtrim s minid bad
xtrim s minid -
xtrim s maxlen 1 minid 1
xtrim s minid ~ 1 limit 0
xtrim s maxlen ~
xtrim s maxlen ~ ~
xtrim s maxlen =
xtrim s limit 1
xtrim s limit 0
xtrim s limit 0 maxlen 1
xtrim s maxlen ~ 0
xtrim s MINID 3
xinfo stream s
xtrim s maxlen = 0
xinfo stream s
xadd s 6-0 f v
xinfo stream s
xadd e maxlen 0 1-0 f v
exists e
xlen e
xinfo stream e
xadd e2 minid 5 1-0 f v
xinfo stream e2
set str x
xdel str 1-0
xtrim str maxlen 0
"""


def test_xdel_xtrim(diff):
    diff.script(DEL_TRIM_SCRIPT)


SETID_SCRIPT = """
xadd s 1-0 f v
xadd s 2-0 f v
xadd s 3-0 f v
xdel s 3-0
xsetid s 2-5
xinfo stream s
xsetid s 1-0
xsetid s 2-5 entriesadded 1
xsetid s 2-6 entriesadded 2
xsetid s 6-0 maxdeletedid 5-0
xsetid s 5-0 maxdeletedid 3-0
xinfo stream s
xsetid s 5-0 maxdeletedid 6-0
xsetid s bad
xsetid s 5 entriesadded -1
xsetid s 5 entriesadded x
xsetid s 5 maxdeletedid bad
xsetid s 5 foo
xsetid s 5 entriesadded
xsetid s -
xsetid missing 1
set str x
xsetid str 1
xadd s 5-* f v
xadd s 2-7 f v
xadd s 5-0 f v
xrange s - +
xinfo stream s
"""


def test_xsetid(diff):
    diff.script(SETID_SCRIPT)


# -- XREAD ------------------------------------------------------------------------------------

XREAD_SCRIPT = """
xadd s 1-1 f v
xadd s 2-2 f v
xadd s 3-3 f v
xadd s2 1-1 a b
xread streams s +
xread streams s -
xread streams s 0
xread count 1 streams s 0
xread count -5 streams s 0
xread count 0 streams s 0
xread streams s $
xread streams s nokey 0 0
xread streams s s2 1-1 0
xread count 1 streams s s2 0 0
xread streams s s 0 2
xread streams s nokey 0
xread streams s >
xread group g c streams s 0
xread noack streams s 0
xread foo streams s 0
xread block -1 streams s 0
xread block x streams s 0
xread block 1.5 streams s 0
xread block 9223372036854775807 streams s 0
xread count x streams s 0
xread streams
xread count 1
xread count 1 block
xread streams s bad
xread streams s nokey 0 bad
xread STREAMS s 3-3
xread streams s 18446744073709551615-18446744073709551615
set str x
xread streams str 0
xread streams s str 0 0
"""


def test_xread(diff):
    diff.script(XREAD_SCRIPT)


def test_resp3(diff):
    diff.script("""
    hello 3
    xadd s 1-1 f v
    xadd s 2-2 f v g w
    xadd s2 1-1 a b
    xrange s - +
    xrevrange s + - count 1
    xrange s - + count 0
    xrange nokey - +
    xread streams s s2 0 0
    xread count 1 streams s s2 0 0
    xread streams s s 0 0
    xread streams s $
    xread block 10 streams s $
    xgroup create s g 0
    xreadgroup group g c streams s >
    xreadgroup group g c streams s 0
    xreadgroup group g c streams s >
    xdel s 1-1
    xreadgroup group g c streams s 0
    xpending s g
    xpending s g - + 10
    xclaim s g d 0 2-2 justid
    xautoclaim s g e 0 0
    xinfo groups s
    xinfo consumers s g
    xinfo stream s
    xinfo stream s full
    xinfo stream nostream
    xgroup help
    xinfo help
    xadd nok nomkstream 3-3 a b
    xpending s gx
    """)


# -- consumer groups --------------------------------------------------------------------------

XGROUP_SCRIPT = """
xgroup create nokey g $
xgroup create nokey g $ mkstream
xgroup create nokey2 g bad mkstream
exists nokey2
xgroup create nokey g $
xgroup create nokey g2 0 foo
xgroup create nokey g2 0 entriesread
xgroup create nokey g2 0 entriesread -2
xgroup create nokey g2 0 entriesread -1
xgroup create nokey g3 0 entriesread 5 mkstream
xgroup create nokey g5 0 mkstream mkstream mkstream mkstream
xgroup create nokey g4 -
xgroup create nokey g4 +
xgroup create nokey g4 1
xgroup setid nokey g4 -
xgroup setid nokey g4 +
xgroup setid nokey gx 0
xgroup setid nokey g4 0 entriesread 3
xgroup setid nokey g4 0 entriesread
xgroup setid nokey g4 0 foo 3
xgroup setid nokey g4 $ entriesread -5
xgroup setid nokey g4 0 entriesread 3 x
xgroup setid nokey g4 bad
xgroup setid missing g4 0
xgroup destroy nokey g4
xgroup destroy nokey g4
xgroup destroy missing g4
xgroup createconsumer nokey g c
xgroup createconsumer nokey g c
xgroup createconsumer nokey gx c
xgroup delconsumer nokey g c
xgroup delconsumer nokey g c
xgroup delconsumer nokey gx c
xgroup help
xgroup help x
xgroup foo
xgroup foo a b c
xgroup create nokey
xgroup destroy a b c d
XGROUP CREATE nokey g6 0 BOGUS
xinfo help
xinfo help x
xinfo groups nokey
xinfo consumers nokey g
xinfo consumers nokey gx
xinfo stream missing
xinfo stream nokey foo
xinfo stream nokey full count
xinfo stream nokey full foo 1
xinfo stream nokey full count x
xinfo stream nokey full count -1
xinfo stream nokey
xinfo stream nokey full
xinfo foo
set str x
xinfo stream str
xinfo groups str
xgroup create str g $
xgroup create str g $ mkstream
"""


def test_xgroup_and_xinfo(diff):
    diff.script(XGROUP_SCRIPT)


XREADGROUP_SCRIPT = """
xadd s 1-1 f v
xadd s 2-2 f v
xadd s 3-3 f v
xreadgroup streams s 0
xreadgroup group g c streams s 0
xreadgroup group g c streams s $
xgroup create s g 0
xreadgroup group g c streams s $
xreadgroup group g c streams s +
xreadgroup group g c streams s -
xreadgroup group g c streams s 0 0
xreadgroup group g streams s 0
xreadgroup group g c1 count 1 streams s >
xreadgroup group g c2 noack count 1 streams s >
xreadgroup group g c3 streams s >
xreadgroup group g c3 streams s >
xreadgroup group g c1 streams s 0
xdel s 1-1
xreadgroup group g c1 streams s 0
xreadgroup group g c1 streams s 1-1
xreadgroup group g c9 streams s 0
xreadgroup group g c3 count 0 streams s 0
xreadgroup group g c9 block 10 streams s >
xinfo groups s
xpending s g
xgroup create s g2 $
xreadgroup group g2 c block 10 streams s >
xinfo consumers s g2
xreadgroup group g c streams s nokey > >
set str x
xreadgroup group g c streams str 0
"""


def test_xreadgroup(diff):
    diff.script(XREADGROUP_SCRIPT)


PEL_SCRIPT = """
xadd s 1-1 f v
xadd s 2-2 f v
xadd s 3-3 f v
xpending s g
xpending nokey g
xgroup create s g 0
xpending s g
xpending s g - +
xpending s g - + 10 c 1
xpending s g - + x
xpending s g - + -1
xpending s g bad + 10
xpending s g - bad 10
xpending s g idle 10 - + 10
xpending s g idle x - + 10
xpending s g idle 10 - +
xpending s g (0 (+ 10
xpending s g (18446744073709551615-18446744073709551615 + 10
xpending s g - (0-0 10
xreadgroup group g alice streams s >
xpending s g
xpending s g - + 10
xpending s g - + 10 bob
xpending s g - + 10 alice
xpending s g (1-1 + 1 alice
xpending s g idle 100000 - + 10
xpending s g - + 0
set str x
xpending str g
xclaim s g bob x 1-1
xclaim s g bob -5 1-1
xclaim nokey g bob 0 1-1
xclaim s gx bob 0 1-1
xclaim str g bob 0 1-1
xclaim s g bob 0 1-1 foo
xclaim s g bob 0 1-1 idle x
xclaim s g bob 0 1-1 time x
xclaim s g bob 0 1-1 retrycount x
xclaim s g bob 0 1-1 lastid bad
xclaim s g bob 0 1-1 idle
xclaim s g bob 0 bad
xclaim s g bob 0 1-1 bad 2-2
xclaim s g bob 0 1-1 retrycount 5 justid
xpending s g - + 10
xclaim s g bob 0 1-1 justid
xclaim s g bob 0 1-1 force
xclaim s g bob 0 9-9 force
xclaim s g carol 0 2-2 retrycount 7
xclaim s g zed 0 7-7
xinfo consumers s g
xpending s g - + 10
xautoclaim s g dave x 0
xautoclaim s g dave 0 bad
xautoclaim s g dave 0 0 count 0
xautoclaim s g dave 0 0 count -1
xautoclaim s g dave 0 0 count x
xautoclaim s g dave 0 0 count 1 foo
xautoclaim s g dave 0 0 count
xautoclaim s g dave 0 (18446744073709551615-18446744073709551615
xautoclaim nokey g dave 0 0
xautoclaim s gx dave 0 0
xautoclaim str g dave 0 0
xautoclaim s g dave 0 0 count 1
xautoclaim s g dave 0 0 count 1
xautoclaim s g dave 0 (1-1 count 1
xautoclaim s g dave 100000 0
xinfo consumers s g
xdel s 2-2 3-3
xautoclaim s g erin 0 0 count 1
xpending s g
xautoclaim s g erin 0 0 count 5
xpending s g
xinfo consumers s g
xack s g 1-1 2-2
xack s g bad
xack nokey g 1-1
xack s gx bad
xack str g 1-1
xadd s 4-4 f v
xreadgroup group g frank streams s >
xgroup delconsumer s g frank
xpending s g
xinfo stream s full
xgroup destroy s g
xinfo stream s full
"""


def test_pending_claim_ack(diff):
    diff.script(PEL_SCRIPT)


LAG_SCRIPT = """
xadd s 1-0 f v
xadd s 2-0 f v
xadd s 3-0 f v
xgroup create s g1 $
xgroup create s g2 0
xgroup create s g3 2-0
xgroup create s g4 9-0
xgroup create s g5 1-0
xgroup create s g6 0-5
xinfo groups s
xdel s 2-0
xinfo groups s
xreadgroup group g2 c count 1 streams s >
xinfo groups s
xreadgroup group g2 c count 1 streams s >
xinfo groups s
xgroup setid s g1 0
xgroup setid s g3 3-0
xgroup setid s g4 1-0 entriesread 7
xinfo groups s
xdel s 1-0 3-0
xinfo groups s
xadd s 4-0 f v
xinfo groups s
xreadgroup group g4 c streams s >
xinfo groups s
"""


def test_lag_and_entries_read(diff):
    diff.script(LAG_SCRIPT)


# -- seeded random runs -----------------------------------------------------------------------


def _val(rnd: random.Random) -> str:
    k = rnd.random()
    if k < 0.3:
        return str(rnd.randint(-5000, 100000))
    if k < 0.4:
        return str(rnd.randint(-(2**63), 2**63 - 1))
    if k < 0.8:
        return "x" * rnd.randint(0, 80)
    return "y" * rnd.randint(60, 3000)


def run_layout(diff, seed: int, steps: int) -> None:
    """XADD (with trimming), XDEL, XTRIM, XSETID in a random mix; XINFO shows node counts."""
    rnd = random.Random(seed)
    entries = rnd.choice(["0", "3", "10", "100"])
    size = rnd.choice(["0", "100", "500", "4096"])
    diff("CONFIG", "SET", "stream-node-max-entries", entries)
    diff("CONFIG", "SET", "stream-node-max-bytes", size)
    ms = 1
    added: list[str] = []
    fieldsets = [["f"], ["a", "b"], ["1", "2", "3"], ["f", "g"]]
    for _ in range(steps):
        r = rnd.random()
        if r < 0.55:
            ms += rnd.choice([0, 0, 1, 5, 300, 70000])
            fs = rnd.choice(fieldsets) if rnd.random() < 0.8 else [
                _val(rnd) for _ in range(rnd.randint(1, 3))]
            args = ["XADD", "s"]
            if rnd.random() < 0.15:
                if rnd.random() < 0.5:
                    args += ["MAXLEN", rnd.choice(["~", "="]), str(rnd.randint(0, 400))]
                else:
                    args += ["MINID", rnd.choice(["~", "="]),
                             rnd.choice(added) if added else "0-1"]
                if args[3] == "~" and rnd.random() < 0.3:
                    args += ["LIMIT", str(rnd.randint(0, 300))]
            args.append(f"{ms}-*" if rnd.random() < 0.5 else f"{ms}-{rnd.randint(0, 3)}")
            for f in fs:
                args += [f, _val(rnd)]
            reply = diff(*args)
            if reply.startswith(b"$") and not reply.startswith(b"$-"):
                added.append(reply.split(b"\r\n")[1].decode())
        elif r < 0.75 and added:
            diff("XDEL", "s", *[rnd.choice(added) for _ in range(rnd.randint(1, 4))])
        elif r < 0.85:
            if rnd.random() < 0.5:
                args = ["XTRIM", "s", "MAXLEN", rnd.choice(["~", "="]), str(rnd.randint(0, 500))]
            else:
                args = ["XTRIM", "s", "MINID", rnd.choice(["~", "="]),
                        rnd.choice(added) if added else "0"]
            if args[3] == "~" and rnd.random() < 0.3:
                args += ["LIMIT", str(rnd.randint(0, 300))]
            diff(*args)
        elif r < 0.87 and added:
            msx, seq = rnd.choice(added).split("-")
            diff("XSETID", "s", f"{msx}-{int(seq) + rnd.randint(0, 3)}")
        elif r < 0.93:
            diff("XINFO", "STREAM", "s")
        elif added:
            x, y = sorted((rnd.choice(added), rnd.choice(added)))
            diff("XRANGE", "s", x, "+", "COUNT", str(rnd.randint(1, 20)))
            diff("XREVRANGE", "s", "+", y, "COUNT", str(rnd.randint(1, 20)))
    diff("XINFO", "STREAM", "s")
    diff("XRANGE", "s", "-", "+")


@pytest.mark.parametrize("seed", range(6))
def test_random_node_layout(diff, seed):
    run_layout(diff, seed, 250)


def run_groups(diff, seed: int, steps: int) -> None:
    """Consumer group commands in a random mix, with entries added and deleted."""
    rnd = random.Random(seed)
    diff("CONFIG", "SET", "stream-node-max-entries", "5")
    ms = 1
    added: list[str] = []
    groups = ["g0", "g1", "g2"]
    consumers = ["c0", "c1", "c2", "c3"]
    for g in groups[:2]:
        diff("XGROUP", "CREATE", "s", g, "$", "MKSTREAM")

    def rid():
        if added and rnd.random() < 0.85:
            return rnd.choice(added)
        return f"{rnd.randint(0, ms)}-{rnd.randint(0, 3)}"

    for step in range(steps):
        r = rnd.random()
        g = rnd.choice(groups)
        cn = rnd.choice(consumers)
        if r < 0.25:
            ms += rnd.choice([0, 1, 2])
            reply = diff("XADD", "s", f"{ms}-*", "f", str(step))
            if reply.startswith(b"$") and not reply.startswith(b"$-"):
                added.append(reply.split(b"\r\n")[1].decode())
        elif r < 0.30 and added:
            diff("XDEL", "s", *[rnd.choice(added) for _ in range(rnd.randint(1, 3))])
        elif r < 0.32:
            diff("XTRIM", "s", "MAXLEN", rnd.choice(["~", "="]), str(rnd.randint(0, 30)))
        elif r < 0.36:
            args = ["XGROUP", "CREATE", "s", g, rnd.choice(["$", "0", rid()])]
            if rnd.random() < 0.3:
                args += ["ENTRIESREAD", str(rnd.randint(-1, 20))]
            diff(*args)
        elif r < 0.39:
            args = ["XGROUP", "SETID", "s", g, rnd.choice(["$", "0", rid()])]
            if rnd.random() < 0.3:
                args += ["ENTRIESREAD", str(rnd.randint(-1, 20))]
            diff(*args)
        elif r < 0.40:
            diff("XGROUP", "DESTROY", "s", g)
        elif r < 0.42:
            diff("XGROUP", "CREATECONSUMER", "s", g, cn)
        elif r < 0.44:
            diff("XGROUP", "DELCONSUMER", "s", g, cn)
        elif r < 0.60:
            args = ["XREADGROUP", "GROUP", g, cn]
            if rnd.random() < 0.5:
                args += ["COUNT", str(rnd.randint(1, 4))]
            if rnd.random() < 0.2:
                args.append("NOACK")
            diff(*args, "STREAMS", "s", rnd.choice([">", ">", "0", rid()]))
        elif r < 0.68:
            diff("XACK", "s", g, *[rid() for _ in range(rnd.randint(1, 3))])
        elif r < 0.76:
            args = ["XCLAIM", "s", g, cn, "0"] + [rid() for _ in range(rnd.randint(1, 3))]
            for opt in ("JUSTID", "FORCE"):
                if rnd.random() < 0.3:
                    args.append(opt)
            if rnd.random() < 0.2:
                args += ["RETRYCOUNT", str(rnd.randint(0, 5))]
            if rnd.random() < 0.2:
                args += ["LASTID", rid()]
            diff(*args)
        elif r < 0.82:
            args = ["XAUTOCLAIM", "s", g, cn, "0", rnd.choice(["0", "-", rid(), "(" + rid()])]
            if rnd.random() < 0.6:
                args += ["COUNT", str(rnd.randint(1, 4))]
            if rnd.random() < 0.3:
                args.append("JUSTID")
            diff(*args)
        elif r < 0.86:
            diff("XPENDING", "s", g)
            args = ["XPENDING", "s", g, rnd.choice(["-", rid()]), "+", str(rnd.randint(0, 6))]
            if rnd.random() < 0.4:
                args.append(cn)
            diff(*args)
        elif r < 0.90:
            diff("XINFO", "GROUPS", "s")
        elif r < 0.93:
            diff("XINFO", "CONSUMERS", "s", g)
        elif r < 0.96:
            diff("XINFO", "STREAM", "s", "FULL", "COUNT", str(rnd.randint(0, 5)))
        else:
            diff("XINFO", "STREAM", "s")
    diff("XINFO", "STREAM", "s", "FULL")


@pytest.mark.parametrize("seed", range(6))
def test_random_consumer_groups(diff, seed):
    run_groups(diff, seed, 250)


# -- propagation: the real AOF against what we propagate --------------------------------------


@pytest.fixture(scope="module")
def aof_redis():
    if not have_real_redis():
        pytest.skip("redis-server is not installed")
    rr = RealRedis("--appendonly", "yes", "--appendfsync", "always")
    yield rr
    rr.stop()


def _aof_commands(rr: RealRedis, since: int) -> list:
    path = glob.glob(os.path.join(rr.dir, "appendonlydir", "*.incr.aof"))[0]
    with open(path, "rb") as f:
        f.seek(since)
        data = f.read()
    reader = hiredis.Reader()
    reader.feed(data)
    out = []
    while (cmd := reader.gets()) is not False:
        out.append(cmd)
    return out


def _aof_size(rr: RealRedis) -> int:
    paths = glob.glob(os.path.join(rr.dir, "appendonlydir", "*.incr.aof"))
    return os.path.getsize(paths[0]) if paths else 0


def _mask_time(cmds: list) -> list:
    out = []
    for cmd in cmds:
        cmd = list(cmd)
        if cmd[0].upper() == b"SELECT":
            continue
        if cmd[0].upper() == b"XCLAIM" and b"TIME" in cmd:
            cmd[cmd.index(b"TIME") + 1] = b"T"
        out.append(cmd)
    return out


@pytest.mark.parametrize("run, seed", [(run_layout, 11), (run_groups, 12), (run_groups, 13)])
def test_propagation_matches_the_real_aof(aof_redis, run, seed):
    with ThreadedServer() as ts:
        ours: list = []
        ts.call(lambda: ts.server.propagate_targets.append(
            lambda dbid, argv: ours.append([bytes(a) for a in argv])))
        d = Diff(aof_redis.port, ts.port)
        try:
            start = _aof_size(aof_redis)
            ours.clear()
            run(d, seed, 200)
            d.real.command("PING")
            real = _mask_time(_aof_commands(aof_redis, start))
            mine = _mask_time(ours)
            mine = [c for c in mine if c[0].upper() != b"CONFIG"]
            assert mine == real
        finally:
            d.close()


# -- redis-py ---------------------------------------------------------------------------------


def test_redis_py_round_trip(server):
    r = redis.Redis(port=server.port, protocol=2)
    try:
        first = r.xadd("s", {"a": "1"})
        r.xadd("s", {"a": "2"}, id="*")
        assert r.xlen("s") == 2
        assert r.xrange("s", count=1)[0] == (first, {b"a": b"1"})
        r.xgroup_create("s", "g", id="0")
        got = r.xreadgroup("g", "alice", {"s": ">"}, count=1)
        assert got[0][0] == b"s" and got[0][1][0][0] == first
        assert r.xack("s", "g", first) == 1
        assert r.xpending("s", "g")["pending"] == 0
        assert r.xinfo_stream("s")["length"] == 2
        assert r.xread({"s": first})[0][1][0][1] == {b"a": b"2"}
        assert r.xtrim("s", maxlen=1) == 0  # redis-py trims with ~: whole nodes only
        assert r.xtrim("s", maxlen=1, approximate=False) == 1
    finally:
        r.close()


def test_command_info_and_docs(diff):
    names = ["xadd", "xtrim", "xdel", "xlen", "xrange", "xrevrange", "xread", "xreadgroup",
             "xack", "xpending", "xclaim", "xautoclaim", "xsetid", "xgroup|create",
             "xgroup|setid", "xgroup|destroy", "xgroup|createconsumer", "xgroup|delconsumer",
             "xgroup|help", "xinfo|stream", "xinfo|groups", "xinfo|consumers", "xinfo|help"]
    for proto in ("2", "3"):
        diff.both("HELLO", proto)
        diff("COMMAND", "INFO", *names)
        diff("COMMAND", "DOCS", *names)
    diff("COMMAND", "GETKEYS", "XREAD", "COUNT", "1", "STREAMS", "a", "b", "0", "0")
    diff("COMMAND", "GETKEYS", "XREADGROUP", "GROUP", "g", "c", "STREAMS", "a", "b", ">", ">")

"""Hash commands: differential tests against a real Redis 7.0, unit tests on a core.Server."""

from __future__ import annotations

import random

import pytest
import redis

from trioredis.commands import hashes
from trioredis.protocol.encoder import encode3

from .common import Harness, lines, same


def test_set_get_del(pair):
    same(pair, lines("""
        hset h a 1 b x c 1.5
        hset h a 2 d 4
        hset h a
        hset h a 1 b
        hmset h a
        hmset h e 5 f 6
        hsetnx h a 9
        hsetnx h z 9
        hget h a
        hget h nope
        hget missing a
        hmget missing a b
        hmget h a nope b
        hlen h
        hlen missing
        hstrlen h c
        hstrlen h nope
        hstrlen missing x
        hexists h a
        hexists h nope
        hexists missing a
        hdel h nope a b
        hdel missing a
        hset tiny f v
        hdel tiny f x
        exists tiny
        hgetall missing
        hkeys missing
        hvals missing
    """))
    same(pair, ["hgetall h", "hkeys h", "hvals h"], sort=True)


def test_wrong_type(pair):
    same(pair, lines("""
        set s x
        hset s a b
        hmset s a b
        hsetnx s a b
        hget s a
        hmget s a
        hdel s a
        hlen s
        hstrlen s a
        hexists s a
        hgetall s
        hkeys s
        hvals s
        hincrby s a 1
        hincrby s a x
        hincrbyfloat s a 1
        hincrbyfloat s a x
        hrandfield s
        hrandfield s 1
        hrandfield s x
        hscan s 0
        hscan s x
    """))


def test_hincrby(pair):
    same(pair, lines("""
        hset h s x n 10 z 010
        hincrby h s 1
        hincrby h z 1
        hincrby h n x
        hincrby h n 1.5
        hincrby h n 9223372036854775808
        hincrby h n 9223372036854775797
        hincrby h n 1
        hincrby h n -9223372036854775808
        hincrby h n -1
        hincrby h m -9223372036854775808
        hincrby h m -1
        hincrby fresh a -1
        hget h n
    """))


def test_hincrbyfloat_fixed_cases(pair):
    same(pair, lines("""
        hset h b x
        hincrbyfloat h b 1
        hincrbyfloat h a x
        hincrbyfloat h a inf
        hincrbyfloat h a -infinity
        hincrbyfloat h a nan
        hincrbyfloat h c 1e308
        hincrbyfloat h c 1e4931
        hincrbyfloat h c 1e4932
        hincrbyfloat h c -1e4931
        hincrbyfloat h c2 1e-4950
        hincrbyfloat h c2 1e-5000
        hincrbyfloat h c4 1e5000
        hincrbyfloat h d 0.1
        hincrbyfloat h d 0.2
        hincrbyfloat h d -0.3
        hincrbyfloat h e 3.0e3
        hincrbyfloat h f -0.0
        hincrbyfloat h g 0x10
        hincrbyfloat h g 1e-20
        hincrbyfloat h g 0x1.8p1
        hincrbyfloat h g .5
        hincrbyfloat h g 5.
        hincrbyfloat h g +1
        hincrbyfloat h g 1_0
        hincrbyfloat h g 0x
        hincrbyfloat h g 1e
        hincrbyfloat h i 1.23456789012345678901234
        hincrbyfloat h j 3.814697265625e-06
        hincrbyfloat h k 0.000000000000000005
        hincrbyfloat h k2 -0.000000000000000005
        hincrbyfloat h l 1e17
        hincrbyfloat h l 0.3
        hset h w 1
        hincrbyfloat h w 1.5
        hset h big 9223372036854775807
        hincrbyfloat h big 1
    """))
    same(pair, [("hincrbyfloat", "h", "z", v) for v in (" 1", "1 ", "", "1\x00", "\x00")])
    same(pair, [("hincrbyfloat", "h", "y", "1" * 5000), ("hincrbyfloat", "h", "y", "1" * 4000),
                ("hincrbyfloat", "h", "y", "0x" + "f" * 4000),
                ("hincrbyfloat", "h", "y", "1e" + "0" * 4990 + "5")])


def test_hincrbyfloat_random_against_redis(pair):
    rnd = random.Random(7)
    script = []
    for i in range(300):
        kind = rnd.randrange(5)
        if kind == 0:
            inc = repr(rnd.uniform(-1000, 1000))
        elif kind == 1:
            inc = "%.*f" % (rnd.randrange(0, 25), rnd.uniform(-1e6, 1e6))  # noqa: UP031
        elif kind == 2:
            inc = f"{rnd.randrange(-99, 99)}e{rnd.randrange(-40, 40)}"
        elif kind == 3:
            inc = hex(rnd.randrange(1, 1 << 70)) + "p" + str(rnd.randrange(-80, 10))
        else:
            inc = str(rnd.randrange(-(10**25), 10**25)) + "." + str(rnd.randrange(10**9))
        script.append(("hincrbyfloat", "h", f"f{i % 9}", inc))
    same(pair, script)


def test_hrandfield_errors_and_shapes(pair):
    same(pair, lines("""
        hset one f v
        hrandfield missing
        hrandfield missing 0
        hrandfield missing 5 withvalues
        hrandfield missing x
        hrandfield one
        hrandfield one 1
        hrandfield one -3
        hrandfield one -3 withvalues
        hrandfield one 5 withvalues
        hrandfield one 5 WITHVALUES
        hrandfield one 0 withvalues
        hrandfield one x
        hrandfield one 1 foo
        hrandfield one 1 withvalues x
        hrandfield one -9223372036854775808
        hrandfield one 4611686018427387904 withvalues
        hrandfield one -4611686018427387904 withvalues
        hrandfield one 4611686018427387903 withvalues
        hrandfield one 9223372036854775807
    """))


def test_hscan_small(pair):
    same(pair, lines("""
        hset one f v
        hscan one x
        hscan one -1
        hscan one +0
        hscan one 18446744073709551615
        hscan one 18446744073709551616
        hscan one 0 count 0
        hscan one 0 count -1
        hscan one 0 count x
        hscan one 0 match
        hscan one 0 foo x
        hscan missing x
        hscan missing 0
        hscan missing 0 count 0
        hset sm a 1 b 2 c 3 ab 4
        hscan sm 0 match a*
        hscan sm 0 match * count 1
        hscan sm 0 MATCH [ab] COUNT 1000
    """))
    same(pair, [("hscan", "one", ""), ("hscan", "one", " 1"), ("hscan", "one", "0\x00x"),
                ("hset", "e", "", ""), ("hscan", "e", "0", "match", "*"),
                ("hscan", "e", "0", "match", "?*")])


def test_resp3_shapes(pair):
    for c in pair:
        c.command("HELLO", "3")
    same(pair, lines("""
        hset h a 1
        hgetall h
        hgetall missing
        hrandfield h 2 withvalues
        hrandfield h -2 withvalues
        hrandfield h -2
        hrandfield missing
        hget h zz
        hmget h a zz
        hscan h 0
        hkeys missing
    """))


def test_redis_py(server):
    r = redis.Redis(port=server.port, protocol=2)
    assert r.hset("h", mapping={"a": 1, "b": 2}) == 2
    assert r.hgetall("h") == {b"a": b"1", b"b": b"2"}
    assert r.hincrbyfloat("h", "a", 0.5) == 1.5
    assert r.hincrby("h", "b", 3) == 5
    assert sorted(r.hrandfield("h", 5)) == [b"a", b"b"]
    assert dict(r.hscan_iter("h")) == {b"a": b"1.5", b"b": b"5"}
    assert r.hdel("h", "a", "b") == 2 and r.exists("h") == 0
    r.close()


# -- unit -------------------------------------------------------------------------------------



@pytest.fixture
def h():
    return Harness()


def test_events_and_propagation(h):
    h("HSET", "k", "a", "1", "b", "2")
    h("HSETNX", "k", "a", "x")
    h("HSETNX", "k", "c", "3")
    h("HINCRBY", "k", "a", "5")
    h("HINCRBYFLOAT", "k", "b", "0.25")
    h("HDEL", "k", "nope")
    h("HDEL", "k", "a", "b", "c")
    ev, pr = h.take()
    assert ev == [(b"hset", b"k"), (b"hset", b"k"), (b"hincrby", b"k"), (b"hincrbyfloat", b"k"),
                  (b"hdel", b"k"), (b"del", b"k")]
    assert pr == [
        [b"HSET", b"k", b"a", b"1", b"b", b"2"],
        [b"HSETNX", b"k", b"c", b"3"],
        [b"HINCRBY", b"k", b"a", b"5"],
        [b"HSET", b"k", b"b", b"2.25"],
        [b"HDEL", b"k", b"a", b"b", b"c"],
    ]
    assert h.srv.dbs[0].data == {}


def test_hincrbyfloat_errors_leave_no_empty_hash(h):
    h("HINCRBYFLOAT", "k", "f", "x")
    h("HINCRBYFLOAT", "k", "f", "inf")
    h("HINCRBY", "k", "f", "x")
    assert h.srv.dbs[0].data == {}


def test_hrandfield_counts(h):
    h("HSET", "k", *[x for i in range(50) for x in (f"f{i}", f"v{i}")])
    fields = {b"f%d" % i for i in range(50)}
    for _ in range(20):
        got = h("HRANDFIELD", "k", "10")
        assert len(got) == 10 and len(set(got)) == 10 and set(got) <= fields
    got = h("HRANDFIELD", "k", "-200")
    assert len(got) == 200 and set(got) <= fields
    assert set(h("HRANDFIELD", "k", "100")) == fields
    pairs = h("HRANDFIELD", "k", "3", "WITHVALUES")
    assert len(pairs) == 6 and all(pairs[i + 1] == b"v" + pairs[i][1:] for i in (0, 2, 4))
    h.c.set_resp(3)
    nested = h("HRANDFIELD", "k", "-3", "WITHVALUES")
    assert len(nested) == 3 and all(len(p) == 2 for p in nested)
    assert encode3(h("HGETALL", "missing")) == b"%0\r\n"
    seen = {h("HRANDFIELD", "k") for _ in range(500)}
    assert len(seen) > 40  # uniform picks reach (nearly) every field


def test_hgetall_copies(h):
    h("HSET", "k", "a", "1")
    reply = h("HGETALL", "k")
    h("HSET", "k", "b", "2")
    assert reply == {b"a": b"1"}


def scan_all(h, key, count=10, match=None):
    cursor = b"0"
    out = []
    calls = 0
    while True:
        args = ["HSCAN", key, cursor, "COUNT", count] + (["MATCH", match] if match else [])
        cursor, page = h(*args)
        out.extend(page[::2])
        calls += 1
        if cursor == b"0":
            return out, calls


def test_hscan_big_hash_pages(h):
    h("HSET", "k", *[x for i in range(1000) for x in (f"f{i}", "v")])
    got, calls = scan_all(h, "k", count=10)
    assert calls == 100 and sorted(got) == sorted(b"f%d" % i for i in range(1000))
    got, _ = scan_all(h, "k", count=7, match="f1*")
    assert sorted(got) == sorted(b"f%d" % i for i in range(1000) if str(i).startswith("1"))
    assert h.srv.collection_scans.table == {}  # finished iterations leave nothing behind


def test_hscan_small_hash_in_one_go(h):
    h("HSET", "k", *[x for i in range(100) for x in (f"f{i}", "v")])
    cursor, page = h("HSCAN", "k", "0", "COUNT", "1")
    assert cursor == b"0" and len(page) == 200
    h("HSET", "k", "long", "x" * 65)  # a value too big for a listpack: paged like Redis
    cursor, page = h("HSCAN", "k", "0", "COUNT", "1")
    assert cursor != b"0" and len(page) == 2


def test_hscan_guarantee_under_changes(h):
    h("HSET", "k", *[x for i in range(600) for x in (f"f{i}", "v")])
    stable = {b"f%d" % i for i in range(0, 600, 2)}
    cursor, seen, step = b"0", set(), 0
    while True:
        cursor, page = h("HSCAN", "k", cursor, "COUNT", "13")
        seen.update(page[::2])
        step += 1
        h("HDEL", "k", f"f{2 * step + 1}")  # odd fields come and go
        h("HSET", "k", f"new{step}", "v")
        if cursor == b"0":
            break
    assert stable <= seen


def test_hscan_unknown_cursor_restarts(h, monkeypatch):
    h("HSET", "k", *[x for i in range(600) for x in (f"f{i}", "v")])  # > hash-max-listpack-entries
    cursor, _ = h("HSCAN", "k", "0", "COUNT", "100")
    scans = h.srv.collection_scans
    scans.table.clear()  # as if evicted
    scans.total = 0
    got = []
    while cursor != b"0":
        cursor, page = h("HSCAN", "k", cursor, "COUNT", "100")
        got.extend(page[::2])
    assert len(set(got)) == 600  # restarted: nothing missed
    monkeypatch.setattr(hashes, "SCAN_MAX_ENTRIES", 3)
    for _ in range(10):
        h("HSCAN", "k", "0", "COUNT", "10")
    assert len(h.srv.collection_scans.table) == 3
    assert h.srv.collection_scans.total == 1800


def test_long_double_helpers():
    ld = hashes.ld_parse
    assert hashes.ld_human(ld(b"0.1") + ld(b"0.2")) == b"0.3"
    assert hashes.ld_human(ld(b"-0.000000000000000001")) == b"0"
    assert ld(b"1e5000") is None and ld(b"1e-5000") is None and ld(b"nan") is None
    assert ld(b"inf") == float("inf") and ld(b"-Infinity") == float("-inf")
    assert hashes.ld_round(hashes.Fraction(1, 3)) == hashes.Fraction(
        12297829382473034411, 2**65)

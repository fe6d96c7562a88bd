"""Set commands: differential tests against a real Redis 7.0, unit tests on a core.Server."""

from __future__ import annotations

import pytest
import redis

from trioredis.commands import sets
from trioredis.protocol.encoder import encode2, encode3

from .common import Harness, lines, same


def test_basic_and_intset_order(pair):
    same(pair, lines("""
        sadd s1 3 1 2 10 -5
        sadd s1 3 4
        smembers s1
        smembers missing
        sismember missing a
        sismember s1 3
        smismember missing a b
        smismember s1 1 9 3
        scard s1
        scard missing
        srem missing a
        srem s1 1 nope 2
        smembers s1
        srem s1 3 4 10 -5
        exists s1
        sadd big 1 2 3 -9223372036854775808 9223372036854775807
        smembers big
        sadd z 01 1 +1
        scard z
    """))
    same(pair, [["sadd", "ints"] + [str(i) for i in range(600, 0, -7)],
                ("smembers", "ints"), ("sscan", "ints", "0"), ("sunion", "ints", "ints"),
                ("sinter", "ints", "ints"), ("sdiff", "ints", "nope"),
                ("srandmember", "ints", "1000"), ("spop", "ints", "1000"), ("exists", "ints")])
    same(pair, ["smembers z", "sadd big 9223372036854775808", "smembers big"], sort=True)


def test_wrong_type(pair):
    same(pair, lines("""
        set str x
        sadd s a
        sadd str a
        srem str a
        smembers str
        sismember str a
        smismember str a
        scard str
        spop str
        spop str 1
        spop str x
        srandmember str
        srandmember str 1
        srandmember str x
        smove str s a
        smove s str a
        smove missing str a
        sinter s str
        sinter missing str
        sinter str missing
        sintercard 2 missing str
        sinterstore d s str
        sunion s str
        sunionstore d s str
        sdiff missing str
        sdiff s str
        sdiffstore d s str
        sscan str 0
        sscan str x
    """))


def test_pop_and_random_errors(pair):
    same(pair, lines("""
        sadd s1 3 1 2
        spop missing
        spop missing 0
        spop missing 3
        spop s1 0
        spop s1 -1
        spop s1 x
        spop s1 1 2
        srandmember missing
        srandmember missing 3
        srandmember missing -3
        srandmember missing x
        srandmember s1 x
        srandmember s1 -9223372036854775808
        srandmember s1 1 2
        srandmember s1 0
        srandmember s1 10
        srandmember s1 3
        spop s1 3
        exists s1
        sadd one x
        spop one
        exists one
        sadd one x
        srandmember one -3
        spop one 5
    """))


def test_smove(pair):
    same(pair, lines("""
        sadd s1 1 2 3
        set str x
        smove missing s1 a
        smove s1 missing zz
        smove s1 s1 zz
        smove s1 s1 1
        smove s1 s3 1
        smembers s1
        smembers s3
        smove s3 s1 1
        exists s3
        smove s1 s1 1
        sadd s3 2
        smove s1 s3 2
        smembers s1
        smembers s3
    """))


def test_hashtable_encoding_is_one_way(pair):
    """Redis never converts a hashtable set back to an intset: one that would fit again stays a
    hashtable (unit/type/set: "SINTER with same integer elements but different encoding")."""
    try:
        same(pair, lines("""
            config set set-max-intset-entries 4
            sadd a 1 2 3 x
            object encoding a
            srem a x
            object encoding a
            sadd b 1 2 3 4 5
            object encoding b
            srem b 5
            object encoding b
            sadd c 3 1 2
            srem c 1
            object encoding c
            smembers c
            sadd d 1 2 y
            smove d c y
            object encoding d
            object encoding c
            srem c y
            object encoding c
            rename d d2
            object encoding d2
            copy d2 d3
            object encoding d3
            move d2 1
            select 1
            object encoding d2
            flushdb
            select 0
            del a
            sadd a 1 2
            object encoding a
        """))
        # A hashtable's members come in hash order, an intset's sorted.
        same(pair, ["smembers b", "sinter b b", "sscan b 0"], sort=True)
        for c in pair:  # random members: compare what is left, not the replies
            c.command("SADD", "f", "1", "2", "3", "4", "5", "6")
            c.command("SPOP", "f", "2")
        same(pair, ["scard f", "object encoding f"])
        for c in pair:  # SPOP of the one member that is no integer
            c.command("SADD", "p", "w", "1", "2")
            while c.command("SPOP", "p") != b"$1\r\nw\r\n":
                c.command("SADD", "p", "1", "2")
        same(pair, ["scard p", "object encoding p"])
    finally:
        for c in pair:
            c.command("CONFIG", "SET", "set-max-intset-entries", "512")


def test_algebra(pair):
    same(pair, lines("""
        sadd s1 3 1 2 10 -5
        sadd s2 b a c 1
        sadd s3 1 2
        sinter s1 missing
        sinter s1 s2
        sinter s1 s3
        sinter s1
        sintercard 0 s1
        sintercard x s1
        sintercard 2 s1
        sintercard 1 s1 limit -1
        sintercard 1 s1 limit x
        sintercard 1 s1 limit
        sintercard 1 s1 foo
        sintercard 1 s1 limit 2
        sintercard 1 s1 limit 0
        sintercard 2 s1 s2 limit 1 limit 0
        sintercard 2 s1 missing
        sintercard 3 s1 s2 s3
        sinterstore d missing s1
        exists d
        sinterstore d s1 s3
        smembers d
        set str x
        sinterstore str s1 s2
        type str
        sunion missing
        sdiff s1 s2
        sdiff s1 s1
        sdiff s1 missing
        sdiff missing s1
        sdiffstore d missing
        exists d
        sdiffstore d s1 s2
        smembers d
        sunionstore d s1 s3
        smembers d
        sunionstore d missing
        exists d
        sdiffstore s1 s1 s3
        smembers s1
    """))
    same(pair, ["sunion s1 s2", "sunionstore d s1 s2", "smembers d"], sort=True)


def test_sscan(pair):
    same(pair, lines("""
        sadd s1 3 1 2 10 -5
        sscan s1 0
        sscan s1 0 count 1
        sscan s1 0 match 1*
        sscan s1 0 match *
        sscan s1 18446744073709551615
        sscan missing x
        sscan missing 0
        sscan s1 x
        sscan s1 0 count 0
        sscan s1 0 match
    """))
    same(pair, [("sadd", "e", ""), ("sscan", "e", "0", "match", "*"),
                ("sscan", "e", "0", "match", "?*"), ("smembers", "e")])


def test_resp3_shapes(pair):
    for c in pair:
        c.command("HELLO", "3")
    same(pair, lines("""
        sadd s1 3 1 2
        smembers s1
        smembers missing
        spop s1 0
        spop missing 2
        sinter s1 missing
        sunion missing
        sdiff missing
        sinter s1
        srandmember s1 5
        srandmember missing 5
        spop missing
        smismember missing a
        sscan s1 0
        spop s1 5
    """))


def test_redis_py(server):
    r = redis.Redis(port=server.port, protocol=2)
    assert r.sadd("s", "a", "b", "c") == 3
    assert r.smembers("s") == {b"a", b"b", b"c"}
    assert r.smove("s", "t", "a") is True
    assert r.sinter("s", "t") == set()
    assert r.sunionstore("u", "s", "t") == 3
    assert set(r.sscan_iter("u")) == {b"a", b"b", b"c"}
    assert r.sintercard(2, ["s", "u"]) == 2
    assert len(r.spop("u", 10)) == 3 and r.exists("u") == 0
    r.close()


# -- unit -------------------------------------------------------------------------------------



@pytest.fixture
def h():
    return Harness()


def test_events_and_deletion(h):
    h("SADD", "k", "a", "b")
    h("SADD", "k", "a")
    h("SREM", "k", "a", "b")
    h("SADD", "s", "x")
    h("SMOVE", "s", "d", "x")
    h("SADD", "a", "1", "2")
    h("SINTERSTORE", "dst", "a", "a")
    h("SUNIONSTORE", "dst", "a")
    h("SDIFFSTORE", "dst", "a", "a")
    ev, pr = h.take()
    assert ev == [(b"sadd", b"k"), (b"srem", b"k"), (b"del", b"k"), (b"sadd", b"s"),
                  (b"srem", b"s"), (b"del", b"s"), (b"sadd", b"d"), (b"sadd", b"a"),
                  (b"sinterstore", b"dst"), (b"sunionstore", b"dst"), (b"del", b"dst")]
    assert [p[0] for p in pr] == [b"SADD", b"SREM", b"SADD", b"SMOVE", b"SADD", b"SINTERSTORE",
                                  b"SUNIONSTORE", b"SDIFFSTORE"]
    assert set(h.srv.dbs[0].data) == {b"d", b"a"}


def test_store_drops_ttl(h):
    h("SET", "dst", "x", "EX", "100")
    h("SADD", "a", "1")
    h("SUNIONSTORE", "dst", "a")
    assert h("TTL", "dst") == -1


def test_spop_propagation(h):
    h("SADD", "k", *range(10))
    h.take()
    one = h("SPOP", "k")
    ev, pr = h.take()
    assert ev == [(b"spop", b"k")] and pr == [[b"SREM", b"k", one]]
    some = h("SPOP", "k", "3")
    ev, pr = h.take()
    assert len(set(some)) == 3 and pr == [[b"SREM", b"k", *some]]
    rest = h("SPOP", "k", "100")
    ev, pr = h.take()
    assert sorted(rest + some + [one]) == sorted(b"%d" % i for i in range(10))
    assert ev == [(b"spop", b"k"), (b"del", b"k")] and pr == [[b"DEL", b"k"]]
    h("SADD", "k", "x")
    h.take()
    h("SPOP", "k")
    assert h.take() == ([(b"spop", b"k"), (b"del", b"k")], [[b"SREM", b"k", b"x"]])


def test_spop_count_propagates_in_batches(h):
    h("SADD", "k", *range(3000))
    h.take()
    popped = h("SPOP", "k", "2500")
    _, pr = h.take()
    assert [len(p) - 2 for p in pr] == [1024, 1024, 452]
    assert sorted(m for p in pr for m in p[2:]) == sorted(popped)
    assert h("SCARD", "k") == 500


@pytest.mark.parametrize("size", [50, 5000])
def test_random_members(h, size):
    h("SADD", "k", *[f"m{i}" for i in range(size)])
    members = {b"m%d" % i for i in range(size)}
    for count in (1, 5, 40, size // 2):
        got = h("SRANDMEMBER", "k", count)
        assert len(got) == count == len(set(got)) and set(got) <= members
    got = h("SRANDMEMBER", "k", -60)
    assert len(got) == 60 and set(got) <= members
    assert set(h("SRANDMEMBER", "k", size + 1)) == members
    assert h("SCARD", "k") == size
    seen = {h("SRANDMEMBER", "k") for _ in range(3000)}
    assert seen <= members and len(seen) > min(size, 3000) // 3
    popped = [h("SPOP", "k") for _ in range(10)] + h("SPOP", "k", "30")
    assert len(set(popped)) == 40 and set(popped) <= members
    assert h("SCARD", "k") == size - 40
    assert not (set(popped) & set(h("SMEMBERS", "k")))


def test_members_in_order_is_sorted_for_intsets(h):
    h("SADD", "k", "10", "-3", "2")
    assert h("SMEMBERS", "k") == [b"-3", b"2", b"10"]
    assert encode3(h("SMEMBERS", "k")) == b"~3\r\n$2\r\n-3\r\n$1\r\n2\r\n$2\r\n10\r\n"
    assert encode2(h("SMEMBERS", "missing")) == b"*0\r\n"


def test_sscan_big_set_guarantee(h):
    h("SADD", "k", *[f"m{i}" for i in range(1000)])
    stable = {b"m%d" % i for i in range(0, 1000, 2)}
    cursor, seen, step = b"0", [], 0
    while True:
        cursor, page = h("SSCAN", "k", cursor, "COUNT", "20")
        seen.extend(page)
        step += 1
        h("SREM", "k", f"m{2 * step + 1}")
        h("SADD", "k", f"n{step}")
        if cursor == b"0":
            break
    assert stable <= set(seen)
    assert step == 50
    assert h.srv.collection_scans.table == {}


def test_walk_keeps_the_set_intact():
    s = {b"%d" % i for i in range(10000)}
    before = set(s)
    picks = sets._walk(s, 50, keep=True)
    assert s == before and len(set(picks)) == 50
    picks = sets._walk(s, 50, keep=False)
    assert s == before - set(picks) and len(s) == 9950

"""List commands: differential tests against a real Redis 7.0, unit tests on a core.Server."""

from __future__ import annotations

from collections import deque

import pytest
import redis

from trioredis.protocol.encoder import encode3

from .common import Harness, lines, same

# -- differential: the same commands, byte for byte --------------------------------------------





def test_ranges_and_indexes(pair):
    same(pair, lines("""
        rpush l a b c d e f a b c
        lrange l 0 -1
        lrange l -100 100
        lrange l 5 2
        lrange l -3 -1
        lrange l 7 100
        lrange l 0 0
        lrange l 9223372036854775807 -9223372036854775808
        lrange l x 1
        lrange l 1 9223372036854775808
        lrange missing 0 -1
        lrange missing x 1
        lindex l 0
        lindex l -1
        lindex l 9
        lindex l -10
        lindex l -9
        lindex l x
        lindex missing x
        llen l
        llen missing
        lset l 0 X
        lset l -1 Y
        lset l 9 Z
        lset l -10 Z
        lset l x Z
        lset missing 0 Z
        lset missing x Z
        lrange l 0 -1
    """))


def test_lpos(pair):
    same(pair, lines("""
        rpush l a b c d e f a b c a
        lpos l a
        lpos l a rank 2
        lpos l a rank 3
        lpos l a rank 4
        lpos l a rank -1
        lpos l a rank -2
        lpos l a count 0
        lpos l a count 2
        lpos l a count 1 rank -1
        lpos l a count 0 rank -2
        lpos l a count 0 maxlen 3
        lpos l c maxlen 3
        lpos l c maxlen 2 rank -1
        lpos l a RANK -9223372036854775808 COUNT 2
        lpos l a rank -9223372036854775808
        lpos l a rank 9223372036854775807
        lpos l zz count 2
        lpos l zz
        lpos l a rank 0
        lpos l a rank x
        lpos l a count -1
        lpos l a count x
        lpos l a maxlen -1
        lpos l a maxlen x
        lpos l a foo
        lpos l a rank
        lpos missing a
        lpos missing a count 0
        lpos missing a rank 0
    """))


def test_insert_rem_trim(pair):
    same(pair, lines("""
        rpush l a b c d e f a b c
        linsert l before a W
        linsert l after c Z
        linsert l AFTER nope Q
        linsert l middle a b
        linsert missing before a b
        linsert missing middle a b
        lrange l 0 -1
        lrem l 1 a
        lrem l -1 b
        lrem l 0 c
        lrem l 0 nope
        lrem l x a
        lrem missing 0 a
        lrange l 0 -1
        rpush r 1 2 1 2 1 2 1
        lrem r 2 1
        lrange r 0 -1
        lrem r -5 2
        lrange r 0 -1
        lrem r 0 1
        exists r
        ltrim l 1 -2
        lrange l 0 -1
        ltrim l 1 0
        exists l
        rpush t 0 1 2 3 4 5 6 7 8 9
        ltrim t -3 100
        lrange t 0 -1
        ltrim t 0 0
        lrange t 0 -1
        ltrim t 5 10
        exists t
        ltrim missing 0 1
        ltrim missing x 1
    """))


def test_push_pop(pair):
    same(pair, lines("""
        lpush p a b c
        lpushx p d e
        rpushx p f
        lpushx missing a
        rpushx missing a
        lrange p 0 -1
        lpop p
        rpop p
        lpop p 2
        rpop p 10
        exists p
        lpop p 0
        lpop missing 3
        lpop missing 0
        lpop missing
        rpush q a
        lpop q 0
        lpop q -1
        lpop q x
        lpop q 1 2
        rpop q 1
        lpop q
        rpush big 0 1 2 3 4 5 6 7 8 9
        rpop big 3
        lpop big 9223372036854775807
    """))


def test_move_and_mpop(pair):
    same(pair, lines("""
        rpush m1 a b c
        lmove m1 m2 left right
        lmove m1 m2 right left
        lmove m1 m1 left right
        lrange m1 0 -1
        lrange m2 0 -1
        rpoplpush m1 m2
        rpoplpush m1 m2
        exists m1
        lrange m2 0 -1
        rpoplpush m2 m2
        lrange m2 0 -1
        lmove m2 m2 up left
        lmove missing m2 up left
        lmove missing m2 left left
        lmpop 2 nope m2 right count 2
        lmpop 1 m2 left count 10
        lmpop 1 m2 left
        lmpop 0 m2 left
        lmpop x m2 left
        lmpop -1 m2 left
        lmpop 2 m2 left
        lmpop 9223372036854775807 m2 left
        lmpop 1 m2 up
        lmpop 1 m2 left count 0
        lmpop 1 m2 left count x
        lmpop 1 m2 left count 1 count 1
        lmpop 1 m2 left foo
    """))


def test_wrong_type_everywhere(pair):
    same(pair, lines("""
        set s x
        rpush l a
        lpush s a
        rpush s a
        lpushx s a
        rpushx s a
        lpop s
        rpop s 2
        lpop s abc
        llen s
        lrange s 0 -1
        lindex s 0
        lindex s x
        lset s 0 a
        linsert s before a b
        lrem s 0 a
        ltrim s 0 1
        lpos s a
        lpos s a rank 0
        lmove s l left left
        lmove l s left left
        lrange l 0 -1
        rpoplpush missing s
        lmpop 2 missing s left
        lmpop 2 l s left
        blpop s 0
        blpop missing s 0
        blmove s l left left 0
        blmpop 0 2 missing s left
    """))


def test_empty_strings_and_binary(pair):
    same(pair, [
        ("rpush", "e", "", "\x00", "\r\n"),
        ("lpos", "e", ""),
        ("lpos", "e", "\r\n"),
        ("lrange", "e", "0", "-1"),
        ("lrem", "e", "0", ""),
        ("linsert", "e", "before", "\x00", ""),
        ("lrange", "e", "0", "-1"),
        ("set", "es", ""),
        ("lmpop", "1", "es", "left"),
        ("blpop", "es", "0"),
        ("blmove", "es", "x", "left", "left", "0"),
    ])


def test_blocking_argument_errors(pair):
    same(pair, [("rpush", "l", *"abcdefghij")])
    for t in ["x", "-1", "inf", "-inf", "1e20", "nan", " 1", "1 ", "1e", "0x", "1\x00", "",
              "9223372036854776", "-0.0001", "0x10", "1e15", ".5"]:
        same(pair, [("blpop", "l", t)])
    same(pair, lines("""
        blmove l d up left x
        blmove l d left left x
        blmpop x 1 l left
        blmpop x 0 l left
        blmpop 0 0 l left
        blmpop 0 1 l up
        blmpop 0 1 l left count 0
        blmpop 0 1 l left count 2 count 2
        brpoplpush l d x
        lrange l 0 -1
        lrange d 0 -1
    """))


def test_resp3_shapes(pair):
    ours, theirs = pair
    for c in pair:
        c.command("HELLO", "3")
    same(pair, lines("""
        rpush l a b c
        lpop missing 2
        lpop missing
        lpop l 0
        lindex missing 0
        lpos missing a
        lpos l zz
        lpos l zz count 0
        lmpop 1 missing left
        lmpop 1 l left count 2
        blpop missing 0.01
        blmove missing x left left 0.01
        blmpop 0.01 1 missing left
        brpoplpush missing x 0.01
        lrange missing 0 -1
    """))


def test_keyspace_hits_and_misses(pair):
    """Read commands count hits/misses like lookupKeyRead; writes (lookupKeyWrite) do not."""
    for c in pair:
        c.command("CONFIG", "RESETSTAT")
    same(pair, lines("""
        rpush l a b
        llen l
        llen nope
        lrange nope 0 1
        lindex l 0
        lpos nope a
        lpop nope
        blpop l 0
        lmpop 2 nope l left
        hset h f v
        hget nope f
        hmget h f
        hrandfield nope
        hscan nope 0
        hdel nope f
        sadd s a
        sismember nope a
        sinter s nope nope2
        sunionstore d s nope
        smove nope s a
        spop nope
        srandmember nope 2
        sintercard 2 s nope
        set str x
        llen str
    """))
    ours, theirs = pair

    def stats(c):
        info = c.command("INFO", "stats")
        return [ln for ln in info.split(b"\r\n") if ln.startswith(b"keyspace_")]

    assert stats(ours) == stats(theirs)


# -- integration (redis-py) --------------------------------------------------------------------


def test_redis_py_roundtrip(server):
    r = redis.Redis(port=server.port, protocol=2)
    assert r.rpush("k", 1, 2, 3) == 3
    assert r.lpush("k", 0) == 4
    assert r.lrange("k", 0, -1) == [b"0", b"1", b"2", b"3"]
    assert r.lpop("k", 2) == [b"0", b"1"]
    assert r.lmove("k", "d", "RIGHT", "LEFT") == b"3"
    assert r.lmpop(2, "nope", "k", direction="LEFT", count=5) == [b"k", [b"2"]]
    assert r.exists("k") == 0
    assert r.lpos("d", "3") == 0
    assert r.type("d") == b"list"
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        r.set("s", "x") and r.lpush("s", "a")
    r.close()


# -- unit: events, propagation, deletion ------------------------------------------------------



@pytest.fixture
def h():
    return Harness()


def test_emptied_list_is_deleted_with_events(h):
    h("RPUSH", "k", "a", "b")
    assert h.take() == ([(b"rpush", b"k")], [[b"RPUSH", b"k", b"a", b"b"]])
    assert h("LPOP", "k", "5") == [b"a", b"b"]
    assert b"k" not in h.srv.dbs[0].data
    assert h.take() == ([(b"lpop", b"k"), (b"del", b"k")], [[b"LPOP", b"k", b"5"]])
    h("RPUSH", "k", "a")
    h("LTRIM", "k", "1", "0")
    assert b"k" not in h.srv.dbs[0].data
    assert h.take()[0][-2:] == [(b"ltrim", b"k"), (b"del", b"k")]
    h("RPUSH", "k", "a", "a")
    h.take()
    assert h("LREM", "k", "0", "a") == 2
    assert h.take() == ([(b"lrem", b"k"), (b"del", b"k")], [[b"LREM", b"k", b"0", b"a"]])


def test_ltrim_that_removes_nothing_is_not_propagated(h):
    h("RPUSH", "k", "a", "b")
    h.take()
    assert h("LTRIM", "k", "0", "-1") == "OK"
    assert h.take() == ([(b"ltrim", b"k")], [])


def test_lmove_events_and_rotation(h):
    h("RPUSH", "src", "a")
    h.take()
    assert h("LMOVE", "src", "dst", "LEFT", "RIGHT") == b"a"
    assert h.take()[0] == [(b"rpush", b"dst"), (b"lpop", b"src"), (b"del", b"src")]
    assert h("RPOPLPUSH", "dst", "dst") == b"a"  # rotation of a one-element list keeps it
    assert h.srv.dbs[0].data[b"dst"] == deque([b"a"])
    assert h.take()[0] == [(b"lpush", b"dst"), (b"rpop", b"dst")]


def test_lmpop_propagates_as_pop_with_count(h):
    h("RPUSH", "b", "1", "2", "3")
    h.take()
    assert h("LMPOP", "2", "a", "b", "RIGHT", "COUNT", "10") == [b"b", [b"3", b"2", b"1"]]
    assert h.take()[1] == [[b"RPOP", b"b", b"3"]]
    assert h("LMPOP", "1", "b", "LEFT") is not None  # NULL_ARRAY
    assert h.take() == ([], [])


def test_resp3_null_array_encoding(h):
    h.c.set_resp(3)
    assert encode3(h("LPOP", "missing", "2")) == b"_\r\n"
    h("RPUSH", "k", "a")
    assert encode3(h("LPOP", "k", "0")) == b"*0\r\n"


def test_big_list_ranges_from_the_nearer_end(h):
    h("RPUSH", "k", *range(1000))
    assert h("LRANGE", "k", "990", "-1") == [b"%d" % i for i in range(990, 1000)]
    assert h("LRANGE", "k", "3", "5") == [b"3", b"4", b"5"]
    assert h("LINDEX", "k", "-1") == b"999"
    h("LTRIM", "k", "100", "-101")
    assert h("LLEN", "k") == 800
    assert h("LRANGE", "k", "0", "0") == [b"100"]
    h("LTRIM", "k", "700", "-1")
    assert h("LRANGE", "k", "0", "-1") == [b"%d" % i for i in range(800, 900)]
    assert h("LPOS", "k", "850") == 50
    assert h("LPOS", "k", "850", "RANK", "-1", "COUNT", "0") == [50]

"""Unit tests of the sorted set value class (trioredis.datatypes.zset)."""

from __future__ import annotations

import math
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from trioredis.config import Config
from trioredis.datatypes.zset import LEX_MAX, LEX_MIN, ZSet, lex_empty, parse_lex
from trioredis.keyspace import TYPE_NAMES, type_name

INF = math.inf


def make(*pairs, listpack=True):
    zs = ZSet(listpack=listpack)
    for m, s in pairs:
        zs.insert(m, s, 128, 64)
    return zs


def test_registered_type_name():
    assert TYPE_NAMES[ZSet] == b"zset"
    assert type_name(ZSet()) == b"zset"


def test_order_is_score_then_member_bytes():
    zs = make((b"b", 1.0), (b"a", 1.0), (b"ab", 1.0), (b"\xff", 0.5), (b"", 1.0), (b"z", -INF))
    assert list(zs) == [(b"z", -INF), (b"\xff", 0.5), (b"", 1.0), (b"a", 1.0), (b"ab", 1.0),
                        (b"b", 1.0)]
    assert len(zs) == 6 and b"ab" in zs and b"q" not in zs
    assert [zs.rank(m) for m, _ in zs] == list(range(6))
    assert zs.rank(b"z", reverse=True) == 5
    assert zs.rank(b"nope") is None


def test_update_delete_pop():
    zs = make((b"a", 1.0), (b"b", 2.0), (b"c", 3.0))
    zs.update(b"a", 1.0, 5.0)
    assert list(zs) == [(b"b", 2.0), (b"c", 3.0), (b"a", 5.0)]
    assert zs.get(b"a") == 5.0
    assert zs.delete(b"b") and not zs.delete(b"b")
    assert zs.pop(1, maximum=True) == [(5.0, b"a")]
    assert zs.pop(10, maximum=False) == [(3.0, b"c")]
    assert len(zs) == 0 and zs.pop(1, False) == []


def test_delete_span_and_slices():
    zs = make(*[(b"m%02d" % i, float(i)) for i in range(10)])
    assert [m for _, m in zs.slice(2, 4)] == [b"m02", b"m03"]
    assert [m for _, m in zs.slice(7, 10, reverse=True)] == [b"m09", b"m08", b"m07"]
    assert zs.delete_span(2, 5) == 3
    assert [m for m, _ in zs] == [b"m00", b"m01", b"m05", b"m06", b"m07", b"m08", b"m09"]
    assert zs.delete_span(3, 3) == 0
    assert zs.get(b"m03") is None


def test_score_span_bounds():
    zs = make((b"ninf", -INF), (b"a", 1.0), (b"b", 2.0), (b"c", 2.0), (b"d", 3.0), (b"inf", INF))
    span = zs.score_span
    assert span(-INF, False, INF, False) == (0, 6)
    assert span(-INF, True, INF, True) == (1, 5)
    assert span(2.0, False, 2.0, False) == (2, 4)
    assert span(2.0, True, 3.0, False) == (4, 5)
    assert span(1.0, False, 2.0, True) == (1, 2)
    assert span(2.0, True, 2.0, False) == (0, 0)  # empty by definition
    assert span(3.0, False, 1.0, False) == (0, 0)
    assert span(INF, True, INF, False) == (0, 0)
    assert span(INF, False, INF, False) == (5, 6)
    assert span(-INF, False, -INF, False) == (0, 1)
    assert ZSet().score_span(-INF, False, INF, False) == (0, 0)


def test_lex_parsing_and_spans():
    assert parse_lex(b"-") is LEX_MIN and parse_lex(b"+") is LEX_MAX
    assert parse_lex(b"[a") == (0, b"a", False) and parse_lex(b"(a") == (0, b"a", True)
    assert parse_lex(b"[") == (0, b"", False)
    assert parse_lex(b"+\x00junk") is LEX_MAX  # Redis tests "+" as a C string
    for bad in (b"", b"a", b"-x", b"+x"):
        assert parse_lex(bad) is None
    assert lex_empty(LEX_MAX, LEX_MIN) and lex_empty(LEX_MIN, LEX_MIN)
    assert not lex_empty(LEX_MIN, LEX_MAX)
    assert lex_empty(parse_lex(b"(a"), parse_lex(b"[a"))
    zs = make(*[(bytes([c]), 0.0) for c in b"abcdefg"])
    assert zs.lex_span(LEX_MIN, LEX_MAX) == (0, 7)
    assert zs.lex_span(parse_lex(b"[b"), parse_lex(b"(f")) == (1, 5)
    assert zs.lex_span(parse_lex(b"(b"), parse_lex(b"[f")) == (2, 6)
    assert zs.lex_span(parse_lex(b"[z"), LEX_MAX) == (0, 0)
    assert zs.lex_span(LEX_MIN, parse_lex(b"(a")) == (0, 0)


def test_lex_span_mixed_scores_walks_like_a_listpack():
    # Scores 1,2,3 give the order b, a, d: a forward walk stops at the first member >= min.
    zs = make((b"b", 1.0), (b"a", 2.0), (b"d", 3.0))
    assert zs.lex_span(parse_lex(b"[a"), parse_lex(b"[c")) == (0, 2)
    assert zs.lex_span(parse_lex(b"[a"), parse_lex(b"[c"), reverse=True) == (0, 2)
    assert zs.lex_span(parse_lex(b"[c"), LEX_MAX) == (2, 3)


def test_listpack_encoding_rules():
    cfg = Config()
    zs = ZSet()
    for i in range(128):
        zs.insert(b"m%d" % i, float(i), 128, 64)
    assert zs.object_encoding(cfg) == b"listpack"
    zs.insert(b"one-more", 1.0, 128, 64)
    assert zs.object_encoding(cfg) == b"skiplist"
    zs.delete_span(0, 100)
    assert zs.object_encoding(cfg) == b"skiplist"  # never converted back in place
    long = ZSet()
    long.insert(b"x" * 65, 1.0, 128, 64)
    assert long.object_encoding(cfg) == b"skiplist"
    # Built from pairs (RDB, *STORE): encoded by size; the constructor default is checked late.
    assert ZSet.from_pairs([(b"a", 1.0)], 128, 64).listpack
    assert not ZSet.from_pairs([(b"a", 1.0), (b"b", 2.0)], 1, 64).listpack
    assert ZSet([(b"x" * 100, 1.0)]).object_encoding(cfg) == b"skiplist"
    undecided = ZSet([(b"a", -0.0)])
    assert undecided.listpack is None
    assert undecided.object_encoding(cfg) == b"listpack"
    assert math.copysign(1, undecided.get(b"a")) == 1
    big = ZSet([(b"m%d" % i, 1.0) for i in range(200)])
    big.insert(b"new", 1.0, 128, 64)
    assert big.listpack is False
    # A lowered limit converts nothing until the next insert, as in Redis.
    small = make((b"a", 1.0), (b"b", 2.0))
    cfg.set("zset-max-listpack-entries", "1")
    assert small.object_encoding(cfg) == b"listpack"


def test_listpack_keeps_zero_for_negative_zero():
    lp = make((b"a", -0.0))
    assert math.copysign(1, lp.get(b"a")) == 1
    sk = make((b"a", -0.0), listpack=False)
    assert math.copysign(1, sk.get(b"a")) == -1
    sk.fit_listpack(128, 64)
    assert sk.listpack and math.copysign(1, sk.get(b"a")) == 1
    assert list(sk) == [(b"a", 0.0)]


def test_copy_is_independent():
    zs = make((b"a", 1.0), (b"b", 2.0))
    cp = zs.copy()
    cp.insert(b"c", 3.0, 128, 64)
    cp.delete(b"a")
    assert list(zs) == [(b"a", 1.0), (b"b", 2.0)]
    assert list(cp) == [(b"b", 2.0), (b"c", 3.0)]
    assert cp.listpack == zs.listpack


def test_constructor_from_pairs_last_score_wins():
    zs = ZSet([(b"a", 1.0), (b"b", 0.5), (b"a", 3.0)])
    assert list(zs) == [(b"b", 0.5), (b"a", 3.0)]


def test_debug_digest_matches_redis():
    # Values from DEBUG DIGEST-VALUE on redis-server 7.0.15.
    zs = ZSet([(b"a", 1.5), (b"b", 2.0), (b"c", INF), (b"dd", -3.25), (b"e", 0.1)])
    assert zs.debug_digest().hex() == "e05966f135c37336bb751bcd36b962c9ea09d2b0"
    assert ZSet([(b"negz", 0.0)]).debug_digest().hex() == (
        "4eb6ef5170f3128ed10b72037446d85b90f57334"
    )
    # Order independent.
    rev = ZSet(list(reversed(list(zs))), listpack=False)
    assert rev.debug_digest() == zs.debug_digest()


def test_scan_visits_every_stable_member():
    zs = make(*[(b"m%d" % i, float(i)) for i in range(300)], listpack=False)
    seen = set()
    cursor = 0
    removed = set()
    added = 0
    while True:
        cursor, members = zs.scan(cursor, 7)
        seen.update(members)
        # Churn between calls: delete some, add some.
        victim = b"m%d" % random.randrange(300)
        if victim not in removed and zs.delete(victim):
            removed.add(victim)
        zs.insert(b"new%d" % added, 0.5, 0, 0)
        added += 1
        if cursor == 0:
            break
    stable = {b"m%d" % i for i in range(300)} - removed
    assert stable <= seen


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([b"a", b"b", b"c", b"d", b"e", b"ab", b""]),
                          st.sampled_from([-INF, -1.0, 0.0, 0.5, 1.0, 2.0, INF])),
                max_size=30),
       st.sampled_from([-INF, -1.0, 0.0, 0.5, 1.0, INF]),
       st.sampled_from([-INF, 0.0, 0.5, 1.0, 2.0, INF]),
       st.booleans(), st.booleans())
def test_model_against_sorted_dict(ops, lo, hi, lo_ex, hi_ex):
    zs = ZSet(listpack=False)
    model: dict = {}
    for m, s in ops:
        if m in model:
            if random.random() < 0.3:
                zs.delete(m)
                del model[m]
            else:
                zs.update(m, model[m], s)
                model[m] = s
        else:
            zs.insert(m, s, 0, 0)
            model[m] = s
    expected = sorted((s, m) for m, s in model.items())
    assert [(s, m) for m, s in zs] == expected
    for i, (_, m) in enumerate(expected):
        assert zs.rank(m) == i
    i, j = zs.score_span(lo, lo_ex, hi, hi_ex)
    inside = [(s, m) for s, m in expected
              if (s > lo if lo_ex else s >= lo) and (s < hi if hi_ex else s <= hi)]
    assert list(zs.slice(i, j)) == inside


def test_scan_log_compaction_keeps_the_iteration_place():
    zs = make(*[(b"s%d" % i, float(i)) for i in range(200)], listpack=False)
    for i in range(200):
        zs.insert(b"tmp%d" % i, 0.5, 0, 0)
    seen = set()
    cursor, calls, gen = 0, 0, 200
    while True:
        cursor, members = zs.scan(cursor, 10)
        seen.update(members)
        calls += 1
        # Heavy churn of temporary members only: the log bloats and gets compacted.
        for m in [m for m in zs.scores if m.startswith(b"tmp")][:40]:
            zs.delete(m)
        for _ in range(40):
            zs.insert(b"tmp%d" % gen, 0.5, 0, 0)
            gen += 1
        if cursor == 0:
            break
        assert calls < 500
    assert {b"s%d" % i for i in range(200)} <= seen
    assert len(zs.scan_log) < 2 * len(zs) + 200  # compacted as it went

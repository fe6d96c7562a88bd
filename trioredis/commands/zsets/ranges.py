"""Sorted set ranges (Redis 7.0 t_zset.c): ZCOUNT, ZLEXCOUNT, ZRANGE, ZRANGESTORE, ZREVRANGE,
ZRANGEBYSCORE, ZREVRANGEBYSCORE, ZRANGEBYLEX, ZREVRANGEBYLEX and ZREMRANGEBYRANK/SCORE/LEX.

Every form goes through one argument parser and range walk, ``zrange_generic``
(zrangeGenericCommand), and the rank/score/lex spans of ``ZSet``; the bound parsers
(``parse_range``, ``parse_lex_range``) are in common.py.
"""

from __future__ import annotations

from ...datatypes.zset import ZSet
from ...errors import SYNTAX, CommandError
from ...keyspace import NOTIFY_GENERIC, NOTIFY_ZSET
from ..args import clamp_range, parse_int
from ..registry import command
from .common import _limits, _notify, _store, _with_scores, parse_lex_range, parse_range

# -- counts ----------------------------------------------------------------------------------


@command("zcount", 4, "readonly fast", keys=(1, 1, 1), group="sorted-set", since="2.0.0",
         complexity="O(log(N)) with N being the number of elements in the sorted set.")
def zcount(c, argv):
    """Count the members in a sorted set with scores within the given values"""
    lo, lo_ex, hi, hi_ex = parse_range(argv[2], argv[3])
    zs = c.db.get_typed(argv[1], ZSet)
    if zs is None:
        return 0
    i, j = zs.score_span(lo, lo_ex, hi, hi_ex)
    return j - i


@command("zlexcount", 4, "readonly fast", keys=(1, 1, 1), group="sorted-set", since="2.8.9",
         complexity="O(log(N)) with N being the number of elements in the sorted set.")
def zlexcount(c, argv):
    """Count the number of members in a sorted set between a given lexicographical range"""
    lo, hi = parse_lex_range(argv[2], argv[3])
    zs = c.db.get_typed(argv[1], ZSet)
    if zs is None:
        return 0
    i, j = zs.lex_span(lo, hi)
    return j - i


# -- ranges ----------------------------------------------------------------------------------

_AUTO, _RANK, _SCORE, _LEX = 0, 1, 2, 3
_DIR_AUTO, _FORWARD, _REVERSE = 0, 1, 2


def rank_items(zs: ZSet, start: int, end: int, reverse: bool) -> list:
    """Elements between two ranks (negative counts from the end), as ZRANGE sanitizes them."""
    n = len(zs.scores)
    r = clamp_range(start, end, n)
    if r is None:
        return []
    start, end = r
    if reverse:
        return list(zs.slice(n - 1 - end, n - start, reverse=True))
    return list(zs.slice(start, end + 1))


def span_items(zs: ZSet, i: int, j: int, offset: int, limit: int, reverse: bool) -> list:
    """Elements at positions [i, j) after LIMIT offset count (a negative count: all)."""
    if offset < 0 or limit == 0:
        return []
    if reverse:
        hi = j - offset
        lo = i if limit < 0 else max(i, hi - limit)
        return list(zs.slice(lo, hi, reverse=True)) if hi > lo else []
    lo = i + offset
    hi = j if limit < 0 else min(j, lo + limit)
    return list(zs.slice(lo, hi)) if hi > lo else []


def zrange_generic(c, argv, start_idx: int, dst, rangetype: int, direction: int):
    """zrangeGenericCommand: every Z*RANGE* form, replying or storing into ``dst``."""
    key = argv[start_idx]
    minidx, maxidx = start_idx + 1, start_idx + 2
    withscores = False
    offset, limit = 0, -1
    n = len(argv)
    j = start_idx + 3
    while j < n:
        opt = argv[j].lower()
        left = n - j - 1
        if dst is None and opt == b"withscores":
            withscores = True
        elif opt == b"limit" and left >= 2:
            offset = parse_int(argv[j + 1])
            limit = parse_int(argv[j + 2])
            j += 2
        elif direction == _DIR_AUTO and opt == b"rev":
            direction = _REVERSE
        elif rangetype == _AUTO and opt == b"bylex":
            rangetype = _LEX
        elif rangetype == _AUTO and opt == b"byscore":
            rangetype = _SCORE
        else:
            raise CommandError(SYNTAX)
        j += 1
    if direction == _DIR_AUTO:
        direction = _FORWARD
    if rangetype == _AUTO:
        rangetype = _RANK
    if limit != -1 and rangetype == _RANK:
        raise CommandError(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
        )
    if withscores and rangetype == _LEX:
        raise CommandError("ERR syntax error, WITHSCORES not supported in combination with BYLEX")
    reverse = direction == _REVERSE
    if reverse and rangetype != _RANK:
        minidx, maxidx = maxidx, minidx
    if rangetype == _RANK:
        start = parse_int(argv[minidx])
        end = parse_int(argv[maxidx])
    elif rangetype == _SCORE:
        srange = parse_range(argv[minidx], argv[maxidx])
    else:
        lo, hi = parse_lex_range(argv[minidx], argv[maxidx])
    zs = c.db.get_typed(key, ZSet)
    if zs is None:
        if dst is not None:
            return _store(c, dst, None, b"zrangestore")
        return []
    if rangetype == _RANK:
        items = rank_items(zs, start, end, reverse)
    elif rangetype == _SCORE:
        i, k = zs.score_span(*srange)
        items = span_items(zs, i, k, offset, limit, reverse)
    else:
        i, k = zs.lex_span(lo, hi, reverse)
        items = span_items(zs, i, k, offset, limit, reverse)
    if dst is not None:
        result = ZSet.from_pairs(((m, s) for s, m in items), *_limits(c)) if items else None
        return _store(c, dst, result, b"zrangestore")
    return _with_scores(c, items, withscores)


_RANGE_FLAGS = dict(group="sorted-set")
_RANGE_COMPLEXITY = ("O(log(N)+M) with N being the number of elements in the sorted set and M "
                     "the number of elements returned.")
_BY_COMPLEXITY = ("O(log(N)+M) with N being the number of elements in the sorted set and M the "
                  "number of elements being returned. If M is constant (e.g. always asking for "
                  "the first 10 elements with LIMIT), you can consider it O(log(N)).")


@command("zrange", -4, "readonly", keys=(1, 1, 1), since="1.2.0", complexity=_RANGE_COMPLEXITY,
         **_RANGE_FLAGS)
def zrange(c, argv):
    """Return a range of members in a sorted set"""
    if len(argv) == 4:  # the plain form, by rank without options: the generic path's steps
        start = parse_int(argv[2])
        end = parse_int(argv[3])
        zs = c.db.get_typed(argv[1], ZSet)
        return [m for _, m in rank_items(zs, start, end, False)] if zs is not None else []
    return zrange_generic(c, argv, 1, None, _AUTO, _DIR_AUTO)


@command("zrangestore", -5, "write denyoom", keys=(1, 2, 1), since="6.2.0",
         complexity="O(log(N)+M) with N being the number of elements in the sorted set and M "
         "the number of elements stored into the destination key.", **_RANGE_FLAGS)
def zrangestore(c, argv):
    """Store a range of members from sorted set into another key"""
    return zrange_generic(c, argv, 2, argv[1], _AUTO, _DIR_AUTO)


@command("zrevrange", -4, "readonly", keys=(1, 1, 1), since="1.2.0",
         complexity=_RANGE_COMPLEXITY, **_RANGE_FLAGS)
def zrevrange(c, argv):
    """Return a range of members in a sorted set, by index, with scores ordered from high to low"""
    return zrange_generic(c, argv, 1, None, _RANK, _REVERSE)


@command("zrangebyscore", -4, "readonly", keys=(1, 1, 1), since="1.0.5",
         complexity=_BY_COMPLEXITY, **_RANGE_FLAGS)
def zrangebyscore(c, argv):
    """Return a range of members in a sorted set, by score"""
    return zrange_generic(c, argv, 1, None, _SCORE, _FORWARD)


@command("zrevrangebyscore", -4, "readonly", keys=(1, 1, 1), since="2.2.0",
         complexity=_BY_COMPLEXITY, **_RANGE_FLAGS)
def zrevrangebyscore(c, argv):
    """Return a range of members in a sorted set, by score, with scores ordered from high to low"""
    return zrange_generic(c, argv, 1, None, _SCORE, _REVERSE)


@command("zrangebylex", -4, "readonly", keys=(1, 1, 1), since="2.8.9",
         complexity=_BY_COMPLEXITY, **_RANGE_FLAGS)
def zrangebylex(c, argv):
    """Return a range of members in a sorted set, by lexicographical range"""
    return zrange_generic(c, argv, 1, None, _LEX, _FORWARD)


@command("zrevrangebylex", -4, "readonly", keys=(1, 1, 1), since="2.8.9",
         complexity=_BY_COMPLEXITY, **_RANGE_FLAGS)
def zrevrangebylex(c, argv):
    """Return a range of members in a sorted set, by lexicographical range, ordered from higher to lower strings."""
    return zrange_generic(c, argv, 1, None, _LEX, _REVERSE)


# -- ZREMRANGEBY* ----------------------------------------------------------------------------


def _zremrange(c, argv, rangetype: int, event: bytes):
    key = argv[1]
    if rangetype == _RANK:
        start = parse_int(argv[2])
        end = parse_int(argv[3])
    elif rangetype == _SCORE:
        srange = parse_range(argv[2], argv[3])
    else:
        lo, hi = parse_lex_range(argv[2], argv[3])
    db = c.db
    zs = db.get_typed(key, ZSet)
    if zs is None:
        return 0
    if rangetype == _RANK:
        r = clamp_range(start, end, len(zs))
        if r is None:
            return 0
        i, k = r[0], r[1] + 1
    elif rangetype == _SCORE:
        i, k = zs.score_span(*srange)
    else:
        i, k = zs.lex_span(lo, hi)
    deleted = zs.delete_span(i, k)
    if deleted:
        emptied = not zs
        if emptied:
            db.delete(key)
        db.modified(key, event, NOTIFY_ZSET, dirty=deleted)
        if emptied:
            _notify(c, NOTIFY_GENERIC, b"del", key)
    return deleted


@command("zremrangebyrank", 4, "write", keys=(1, 1, 1), group="sorted-set", since="2.0.0",
         complexity="O(log(N)+M) with N being the number of elements in the sorted set and M "
         "the number of elements removed by the operation.")
def zremrangebyrank(c, argv):
    """Remove all members in a sorted set within the given indexes"""
    return _zremrange(c, argv, _RANK, b"zremrangebyrank")


@command("zremrangebyscore", 4, "write", keys=(1, 1, 1), group="sorted-set", since="1.2.0",
         complexity="O(log(N)+M) with N being the number of elements in the sorted set and M "
         "the number of elements removed by the operation.")
def zremrangebyscore(c, argv):
    """Remove all members in a sorted set within the given scores"""
    return _zremrange(c, argv, _SCORE, b"zremrangebyscore")


@command("zremrangebylex", 4, "write", keys=(1, 1, 1), group="sorted-set", since="2.8.9",
         complexity="O(log(N)+M) with N being the number of elements in the sorted set and M "
         "the number of elements removed by the operation.")
def zremrangebylex(c, argv):
    """Remove all members in a sorted set between the given lexicographical range"""
    return _zremrange(c, argv, _LEX, b"zremrangebylex")

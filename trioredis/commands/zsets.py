"""Sorted set commands (Redis 7.0 t_zset.c): ZADD ... ZSCAN, with Redis's parsing and replies.

Scores are parsed the way Redis does: member scores, weights and coordinates with
``getDoubleFromObject`` (strtod, whole string, no spaces, no overflow), range bounds with the
laxer ``zslParseRange`` (strtod, leading spaces and overflow to inf allowed). Replies give
scores as Python floats: a ``%.17g`` bulk string in RESP2 and a double in RESP3. WITHSCORES
pairs are flat in RESP2 and nested ``[member, score]`` arrays in RESP3, as 7.0 replies.
"""

from __future__ import annotations

import random
import re

from ..datatypes.zset import ZSet, parse_lex
from ..errors import NOT_FLOAT, NOT_INTEGER, SYNTAX, WRONGTYPE, CommandError
from ..glob import compile_glob
from ..keyspace import NOTIFY_GENERIC, NOTIFY_ZSET
from ..protocol.encoder import format_double
from ..protocol.replies import NULL_ARRAY
from .args import LLONG_MAX, clamp_range, parse_int, parse_timeout
from .registry import command, keys_after_numkeys

MINMAX_NOT_FLOAT = "ERR min or max is not a float"
MINMAX_NOT_LEX = "ERR min or max not valid string range item"
NAN_SCORE = "ERR resulting score is not a number (NaN)"
XX_NX = "ERR XX and NX options at the same time are not compatible"
GT_LT_NX = "ERR GT, LT, and/or NX options at the same time are not compatible"
INCR_PAIR = "ERR INCR option supports a single increment-element pair"
WEIGHT_NOT_FLOAT = "ERR weight value is not a float"

_INF = float("inf")
_WS = frozenset(b" \t\n\v\f\r")
_WS_BYTES = b" \t\n\v\f\r"
_HEX_FLOAT = re.compile(
    rb"[+-]?0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?[0-9]+)?\Z"
)

# -- numbers ---------------------------------------------------------------------------------


def strtod(b: bytes):
    """C ``strtod`` that must consume all of ``b`` (no leading space): float or None.

    Accepts what glibc does (``inf``, ``infinity``, hex floats) and nothing Python adds
    (underscores, surrounding spaces). NaN is returned as NaN; callers refuse it.
    """
    if b[-1] in _WS or b"_" in b:
        return None
    try:
        return float(b)
    except ValueError:
        pass
    if _HEX_FLOAT.match(b) is None:
        return None
    text = b.decode()
    try:
        return float.fromhex(text)
    except OverflowError:
        return -_INF if text[0] == "-" else _INF


def _erange(b: bytes, v: float) -> bool:
    """Would strtod have set ERANGE with a zero or infinite result (overflow/underflow)?"""
    t = b.lower().lstrip(b"+-")
    if v != 0.0:
        return b"n" not in t  # an overflow, not an "inf" literal
    mant = t[2:].split(b"p")[0] if t.startswith(b"0x") else t.split(b"e")[0]
    return mant.strip(b"0.") != b""


def parse_score(b: bytes, error: str = NOT_FLOAT) -> float:
    """Redis's getDoubleFromObject: a score, weight or coordinate argument."""
    try:
        v = float(b)
    except ValueError:
        v = strtod(b) if b and b[0] not in _WS else None
        if v is None or v != v or ((v == 0.0 or v in (_INF, -_INF)) and _erange(b, v)):
            raise CommandError(error) from None
        return v
    if b[0] in _WS or b[-1] in _WS or v != v or b"_" in b:
        raise CommandError(error)
    if (v == 0.0 or v == _INF or v == -_INF) and _erange(b, v):
        raise CommandError(error)
    return v


def _range_item(b: bytes):
    """One bound of zslParseRange: (value, exclusive) or None. Redis reads it as a C string:
    a NUL ends it."""
    if b"\x00" in b:
        b = b[: b.index(b"\x00")]
    ex = False
    if b[:1] == b"(":
        b = b[1:]
        ex = True
    if not b:
        return 0.0, ex  # strtod converts nothing and stops at the terminator
    t = b.lstrip(_WS_BYTES)
    if not t:
        return None
    v = strtod(t)
    if v is None or v != v:
        return None
    return v, ex


def parse_range(bmin: bytes, bmax: bytes):
    """zslParseRange: (min, minex, max, maxex) or the 'not a float' error."""
    lo = _range_item(bmin)
    hi = _range_item(bmax) if lo is not None else None
    if hi is None:
        raise CommandError(MINMAX_NOT_FLOAT)
    return lo[0], lo[1], hi[0], hi[1]


def parse_lex_range(bmin: bytes, bmax: bytes):
    lo = parse_lex(bmin)
    hi = parse_lex(bmax)
    if lo is None or hi is None:
        raise CommandError(MINMAX_NOT_LEX)
    return lo, hi


def _positive(b: bytes, msg: str = "value is out of range, must be positive") -> int:
    """getPositiveLongFromObjectOrReply: one message for non-numbers and negatives."""
    return _range_long(b, 0, LLONG_MAX, msg)


def _range_long(b: bytes, lo: int, hi: int, msg: str | None) -> int:
    """getRangeLongFromObjectOrReply."""
    try:
        v = parse_int(b)
    except CommandError:
        raise CommandError(("ERR " + msg) if msg else NOT_INTEGER) from None
    if v < lo or v > hi:
        raise CommandError(
            ("ERR " + msg) if msg else f"ERR value is out of range, value must between {lo} and {hi}"
        )
    return v


# -- helpers ---------------------------------------------------------------------------------


def _limits(c) -> tuple[int, int]:
    v = c.server.config.values
    return v["zset-max-listpack-entries"], v["zset-max-listpack-value"]


def _notify(c, kind: int, event: bytes, key: bytes) -> None:
    """A keyspace event without touching WATCH/dirty again (the key was already signalled)."""
    srv = c.server
    if kind & srv.notify_flags:
        srv.notify(kind, event, key, c.db.id)


def _deleted(c, key: bytes) -> None:
    """Remove an emptied zset and send the 'del' event, as Redis does after the main one."""
    c.db.delete(key)
    _notify(c, NOTIFY_GENERIC, b"del", key)


def _with_scores(c, items, withscores: bool) -> list:
    """Reply for (score, member) items: members only, flat pairs (RESP2) or nested (RESP3)."""
    if not withscores:
        return [m for _, m in items]
    if c.resp == 2:
        out = []
        for s, m in items:
            out.append(m)
            out.append(s)
        return out
    return [[m, s] for s, m in items]


def _store(c, dst: bytes, zs: ZSet | None, event: bytes) -> int:
    """Store a result set (or delete ``dst`` when empty) as Redis's *STORE commands do."""
    db = c.db
    if zs:
        db.store(dst, zs)
        db.modified(dst, event, NOTIFY_ZSET)
        return len(zs)
    if db.delete(dst):
        db.modified(dst, b"del", NOTIFY_GENERIC)
    return 0


# -- ZADD / ZINCRBY / ZREM -------------------------------------------------------------------

_NX, _XX, _GT, _LT, _INCR = 1, 2, 4, 8, 16
_ZADD_OPTS = {b"nx": _NX, b"xx": _XX, b"gt": _GT, b"lt": _LT, b"incr": _INCR, b"ch": 0}


def zadd_generic(c, argv: list, flags: int):
    """zaddGenericCommand: ZADD, ZINCRBY and GEOADD (which rewrites itself into ZADD)."""
    n = len(argv)
    i = 2
    ch = False
    opts = _ZADD_OPTS
    while i < n:
        o = argv[i]
        if len(o) > 4:
            break
        f = opts.get(o.lower())
        if f is None:
            break
        if f:
            flags |= f
        else:
            ch = True
        i += 1
    elements = n - i
    if elements % 2 or not elements:
        raise CommandError(SYNTAX)
    nx, xx, gt, lt, incr = flags & _NX, flags & _XX, flags & _GT, flags & _LT, flags & _INCR
    if nx and xx:
        raise CommandError(XX_NX)
    if (gt and nx) or (lt and nx) or (gt and lt):
        raise CommandError(GT_LT_NX)
    if incr and elements > 2:
        raise CommandError(INCR_PAIR)
    scores = [parse_score(argv[j]) for j in range(i, n, 2)]
    db = c.db
    key = argv[1]
    zs = db.get_typed(key, ZSet)
    if zs is None:
        if xx:
            return None if incr else 0
        zs = ZSet()
        db.add(key, zs)
    max_entries, max_value = _limits(c)
    current = zs.scores
    added = updated = processed = 0
    score = 0.0
    j = i + 1
    batch = len(scores) >= 64
    if batch:
        zs.begin_batch()
    for score in scores:
        member = argv[j]
        j += 2
        cur = current.get(member)
        if cur is not None:
            if nx:
                continue
            if incr:
                score += cur
                if score != score:  # INCR takes one pair: never in batch mode
                    raise CommandError(NAN_SCORE)
            if (lt and score >= cur) or (gt and score <= cur):
                continue
            processed += 1
            if score != cur:
                zs.update(member, cur, score)
                updated += 1
        elif not xx:
            zs.insert(member, score, max_entries, max_value)
            added += 1
            processed += 1
    if batch:
        zs.end_batch()
    if added or updated:
        db.modified(key, b"zincr" if incr else b"zadd", NOTIFY_ZSET, dirty=added + updated)
    if incr:
        return score if processed else None
    return added + updated if ch else added


@command("zadd", -4, "write denyoom fast", keys=(1, 1, 1), group="sorted-set", since="1.2.0",
         complexity="O(log(N)) for each item added, where N is the number of elements in the "
         "sorted set.")
def zadd(c, argv):
    """Add one or more members to a sorted set, or update its score if it already exists"""
    if len(argv) != 4:
        return zadd_generic(c, argv, 0)
    # The common ZADD key score member: one pair, no options (an option word is no float,
    # and then the generic path gives Redis's syntax error).
    try:
        score = parse_score(argv[2])
    except CommandError:
        return zadd_generic(c, argv, 0)
    db = c.db
    key = argv[1]
    zs = db.get_typed(key, ZSet)
    if zs is None:
        zs = ZSet()
        db.add(key, zs)
    member = argv[3]
    cur = zs.scores.get(member)
    if cur is None:
        values = c.server.config.values
        zs.insert(member, score, values["zset-max-listpack-entries"],
                  values["zset-max-listpack-value"])
        db.modified(key, b"zadd", NOTIFY_ZSET)
        return 1
    if score != cur:
        zs.update(member, cur, score)
        db.modified(key, b"zadd", NOTIFY_ZSET)
    return 0


@command("zincrby", 4, "write denyoom fast", keys=(1, 1, 1), group="sorted-set", since="1.2.0",
         complexity="O(log(N)) where N is the number of elements in the sorted set.")
def zincrby(c, argv):
    """Increment the score of a member in a sorted set"""
    return zadd_generic(c, argv, _INCR)


@command("zrem", -3, "write fast", keys=(1, 1, 1), group="sorted-set", since="1.2.0",
         complexity="O(M*log(N)) with N being the number of elements in the sorted set and M "
         "the number of elements to be removed.")
def zrem(c, argv):
    """Remove one or more members from a sorted set"""
    db = c.db
    key = argv[1]
    zs = db.get_typed(key, ZSet)
    if zs is None:
        return 0
    deleted = 0
    emptied = False
    for member in argv[2:]:
        if zs.delete(member):
            deleted += 1
        if not zs:
            emptied = True
            break
    if deleted:
        if emptied:
            db.delete(key)
        db.modified(key, b"zrem", NOTIFY_ZSET, dirty=deleted)
        if emptied:
            _notify(c, NOTIFY_GENERIC, b"del", key)
    return deleted


# -- reads -----------------------------------------------------------------------------------


@command("zscore", 3, "readonly fast", keys=(1, 1, 1), group="sorted-set", since="1.2.0",
         complexity="O(1)")
def zscore(c, argv):
    """Get the score associated with the given member in a sorted set"""
    zs = c.db.get_typed(argv[1], ZSet)
    return None if zs is None else zs.scores.get(argv[2])


@command("zmscore", -3, "readonly fast", keys=(1, 1, 1), group="sorted-set", since="6.2.0",
         complexity="O(N) where N is the number of members being requested.")
def zmscore(c, argv):
    """Get the score associated with the given members in a sorted set"""
    zs = c.db.get_typed(argv[1], ZSet)
    if zs is None:
        return [None] * (len(argv) - 2)
    get = zs.scores.get
    return [get(m) for m in argv[2:]]


@command("zcard", 2, "readonly fast", keys=(1, 1, 1), group="sorted-set", since="1.2.0",
         complexity="O(1)")
def zcard(c, argv):
    """Get the number of members in a sorted set"""
    zs = c.db.get_typed(argv[1], ZSet)
    return 0 if zs is None else len(zs.scores)


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


@command("zrank", 3, "readonly fast", keys=(1, 1, 1), group="sorted-set", since="2.0.0",
         complexity="O(log(N))")
def zrank(c, argv):
    """Determine the index of a member in a sorted set"""
    zs = c.db.get_typed(argv[1], ZSet)
    return None if zs is None else zs.rank(argv[2])


@command("zrevrank", 3, "readonly fast", keys=(1, 1, 1), group="sorted-set", since="2.0.0",
         complexity="O(log(N))")
def zrevrank(c, argv):
    """Determine the index of a member in a sorted set, with scores ordered from high to low"""
    zs = c.db.get_typed(argv[1], ZSet)
    return None if zs is None else zs.rank(argv[2], reverse=True)


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


# -- pops ------------------------------------------------------------------------------------


def zpop_generic(c, keys, maximum: bool, emitkey: bool, count: int, nested: bool,
                 nil_when_empty: bool):
    """genericZpopCommand: pop from the first existing key. ``count`` -1 means one element
    with no COUNT given; ``nested`` gives [member, score] pairs, ``emitkey`` the key first."""
    db = c.db
    zs = None
    key = None
    for key in keys:
        zs = db.lookup(key)
        if zs is None:
            continue
        if zs.__class__ is not ZSet:
            raise CommandError(WRONGTYPE)
        break
    if zs is None:
        return NULL_ARRAY if nil_when_empty else []
    if count == 0:
        return []
    items = zs.pop(1 if count == -1 else count, maximum)
    db.modified(key, b"zpopmax" if maximum else b"zpopmin", NOTIFY_ZSET, dirty=len(items))
    if not zs:
        _deleted(c, key)
    if nested:
        pairs = [[m, s] for s, m in items]
        return [key, pairs] if emitkey else pairs
    out = [key] if emitkey else []
    for s, m in items:
        out.append(m)
        out.append(s)
    return out


def _zpop(c, argv, maximum: bool):
    if len(argv) > 3:
        raise CommandError(SYNTAX)
    count = -1
    if len(argv) == 3:
        count = _positive(argv[2])
    return zpop_generic(c, argv[1:2], maximum, False, count, c.resp > 2 and count != -1, False)


@command("zpopmin", -2, "write fast", keys=(1, 1, 1), group="sorted-set", since="5.0.0",
         complexity="O(log(N)*M) with N being the number of elements in the sorted set, and M "
         "being the number of elements popped.")
def zpopmin(c, argv):
    """Remove and return members with the lowest scores in a sorted set"""
    return _zpop(c, argv, False)


@command("zpopmax", -2, "write fast", keys=(1, 1, 1), group="sorted-set", since="5.0.0",
         complexity="O(log(N)*M) with N being the number of elements in the sorted set, and M "
         "being the number of elements popped.")
def zpopmax(c, argv):
    """Remove and return members with the highest scores in a sorted set"""
    return _zpop(c, argv, True)


def _first_ready(c, keys):
    """The first key holding a zset, for a blocking pop. Wrong types raise WRONGTYPE, except
    while a blocked client is retried: Redis then serves the key that became ready (tried
    first here) and only from a zset, else the client keeps waiting."""
    db = c.db
    if c.retrying:
        ready = c.server.serving_key
        if ready is not None and ready in keys and keys[0] != ready:
            keys = [ready, *(k for k in keys if k != ready)]
    for key in keys:
        v = db.lookup(key)
        if v is None:
            continue
        if v.__class__ is not ZSet:
            if c.retrying:
                continue
            raise CommandError(WRONGTYPE)
        return key
    return None


def _bzpop(c, argv, maximum: bool):
    timeout = parse_timeout(argv[-1])
    keys = argv[1:-1]
    key = _first_ready(c, keys)
    if key is None:
        return c.server.block(c, keys, timeout, NULL_ARRAY, argv)
    reply = zpop_generic(c, [key], maximum, True, -1, False, False)
    c.propagate_as = [[b"ZPOPMAX" if maximum else b"ZPOPMIN", key]]
    return reply


_BZPOP_COMPLEXITY = "O(log(N)) with N being the number of elements in the sorted set."


@command("bzpopmin", -3, "write noscript blocking fast", keys=(1, -2, 1), group="sorted-set",
         since="5.0.0", complexity=_BZPOP_COMPLEXITY)
def bzpopmin(c, argv):
    """Remove and return the member with the lowest score from one or more sorted sets, or block until one is available"""
    return _bzpop(c, argv, False)


@command("bzpopmax", -3, "write noscript blocking fast", keys=(1, -2, 1), group="sorted-set",
         since="5.0.0", complexity=_BZPOP_COMPLEXITY)
def bzpopmax(c, argv):
    """Remove and return the member with the highest score from one or more sorted sets, or block until one is available"""
    return _bzpop(c, argv, True)


def _zmpop(c, argv, numkeys_idx: int, blocking: bool):
    numkeys = _range_long(argv[numkeys_idx], 1, LLONG_MAX, "numkeys should be greater than 0")
    where_idx = numkeys_idx + numkeys + 1
    if where_idx >= len(argv):
        raise CommandError(SYNTAX)
    where = argv[where_idx].lower()
    if where == b"min":
        maximum = False
    elif where == b"max":
        maximum = True
    else:
        raise CommandError(SYNTAX)
    count = -1
    j = where_idx + 1
    n = len(argv)
    while j < n:
        if count == -1 and argv[j].lower() == b"count" and j + 1 < n:
            j += 1
            count = _range_long(argv[j], 1, LLONG_MAX, "count should be greater than 0")
        else:
            raise CommandError(SYNTAX)
        j += 1
    if count == -1:
        count = 1
    keys = argv[numkeys_idx + 1 : where_idx]
    if blocking:
        timeout = parse_timeout(argv[1])
        key = _first_ready(c, keys)
        if key is None:
            return c.server.block(c, keys, timeout, NULL_ARRAY, argv)
        keys = [key]
    reply = zpop_generic(c, keys, maximum, True, count, True, True)
    if reply is not NULL_ARRAY:
        c.propagate_as = [[b"ZPOPMAX" if maximum else b"ZPOPMIN", reply[0], b"%d" % count]]
    return reply


_ZMPOP_COMPLEXITY = ("O(K) + O(M*log(N)) where K is the number of provided keys, N being the "
                     "number of elements in the sorted set, and M being the number of elements "
                     "popped.")


@command("zmpop", -4, "write", group="sorted-set", since="7.0.0",
         getkeys=keys_after_numkeys(1), complexity=_ZMPOP_COMPLEXITY)
def zmpop(c, argv):
    """Remove and return members with scores in a sorted set"""
    return _zmpop(c, argv, 1, False)


@command("bzmpop", -5, "write blocking", group="sorted-set", since="7.0.0",
         getkeys=keys_after_numkeys(2), complexity=_ZMPOP_COMPLEXITY)
def bzmpop(c, argv):
    """Remove and return members with scores in a sorted set or block until one is available"""
    return _zmpop(c, argv, 2, True)


# -- ZRANDMEMBER -----------------------------------------------------------------------------

_LONG_MAX = LLONG_MAX


@command("zrandmember", -2, "readonly", keys=(1, 1, 1), group="sorted-set", since="6.2.0",
         complexity="O(N) where N is the number of elements returned")
def zrandmember(c, argv):
    """Get one or multiple random elements from a sorted set"""
    if len(argv) >= 3:
        count = _range_long(argv[2], -_LONG_MAX, _LONG_MAX, None)
        if len(argv) > 4 or (len(argv) == 4 and argv[3].lower() != b"withscores"):
            raise CommandError(SYNTAX)
        withscores = len(argv) == 4
        if withscores and (count < -(_LONG_MAX // 2) or count > _LONG_MAX // 2):
            raise CommandError("ERR value is out of range")
        return _zrandmember_count(c, argv[1], count, withscores)
    zs = c.db.get_typed(argv[1], ZSet)
    if zs is None:
        return None
    return zs.at(random.randrange(len(zs)))[1]


def _zrandmember_count(c, key, count: int, withscores: bool):
    zs = c.db.get_typed(key, ZSet)
    if zs is None or count == 0:
        return []
    n = len(zs)
    if count < 0 or count == 1:
        at = zs.at
        rnd = random.randrange
        items = [at(rnd(n)) for _ in range(-count if count < 0 else 1)]
    elif count >= n:
        # The whole set, walked from the tail as Redis's zset iterator does.
        items = list(zs.slice(0, n, reverse=True))
    else:
        at = zs.at
        items = [at(i) for i in random.sample(range(n), count)]
    return _with_scores(c, items, withscores)


# -- ZUNION / ZINTER / ZDIFF -----------------------------------------------------------------

_UNION, _INTER, _DIFF = 0, 1, 2
_SUM, _MIN, _MAX = 0, 1, 2


def _items(src):
    """(member, score) of a zset or a plain set (score 1)."""
    if src.__class__ is ZSet:
        return src.scores.items()
    return ((m, 1.0) for m in src)


def _find(src, member):
    if src.__class__ is ZSet:
        return src.scores.get(member)
    return 1.0 if member in src else None


def _aggregate(target: float, val: float, aggr: int) -> float:
    if aggr == _SUM:
        t = target + val
        return 0.0 if t != t else t
    if aggr == _MIN:
        return val if val < target else target
    return val if val > target else target


def zsetop(c, argv, numkeys_idx: int, dst, op: int, name: str, card_only: bool = False):
    """zunionInterDiffGenericCommand: ZUNION/ZINTER/ZDIFF[STORE] and ZINTERCARD."""
    setnum = parse_int(argv[numkeys_idx])
    if setnum < 1:
        raise CommandError(f"ERR at least 1 input key is needed for '{name}' command")
    n = len(argv)
    if setnum > n - (numkeys_idx + 1):
        raise CommandError(SYNTAX)
    db = c.db
    srcs = []
    for key in argv[numkeys_idx + 1 : numkeys_idx + 1 + setnum]:
        v = db.lookup(key)
        if v is not None and v.__class__ is not ZSet and v.__class__ is not set:
            raise CommandError(WRONGTYPE)
        srcs.append(v)
    weights = [1.0] * setnum
    aggr = _SUM
    withscores = False
    limit = 0
    j = numkeys_idx + 1 + setnum
    while j < n:
        remaining = n - j
        opt = argv[j].lower()
        if op != _DIFF and not card_only and remaining >= setnum + 1 and opt == b"weights":
            j += 1
            for k in range(setnum):
                weights[k] = parse_score(argv[j], WEIGHT_NOT_FLOAT)
                j += 1
        elif op != _DIFF and not card_only and remaining >= 2 and opt == b"aggregate":
            a = argv[j + 1].lower()
            if a == b"sum":
                aggr = _SUM
            elif a == b"min":
                aggr = _MIN
            elif a == b"max":
                aggr = _MAX
            else:
                raise CommandError(SYNTAX)
            j += 2
        elif dst is None and not card_only and opt == b"withscores":
            withscores = True
            j += 1
        elif card_only and remaining >= 2 and opt == b"limit":
            limit = _positive(argv[j + 1], "LIMIT can't be negative")
            j += 2
        else:
            raise CommandError(SYNTAX)
    sizes = [0 if s is None else len(s) for s in srcs]
    if op != _DIFF:  # smallest first, as Redis sorts them (stable: glibc's merge sort)
        order = sorted(range(setnum), key=sizes.__getitem__)
        srcs = [srcs[k] for k in order]
        weights = [weights[k] for k in order]
        sizes = [sizes[k] for k in order]
    result: dict = {}
    cardinality = 0
    if op == _INTER:
        if sizes[0]:
            first = srcs[0]
            w0 = weights[0]
            rest = list(zip(srcs[1:], weights[1:], strict=True))
            for m, v in _items(first):
                score = w0 * v
                if score != score:
                    score = 0.0
                for src, w in rest:
                    if src is first:
                        value = v * w
                    else:
                        value = _find(src, m) if src is not None else None
                        if value is None:
                            break
                        value *= w
                    score = _aggregate(score, value, aggr)
                else:
                    if card_only:
                        cardinality += 1
                        if limit and cardinality >= limit:
                            break
                    else:
                        result[m] = score
    elif op == _UNION:
        for src, w, size in zip(srcs, weights, sizes, strict=True):
            if not size:
                continue
            get = result.get
            for m, v in _items(src):
                score = w * v
                if score != score:
                    score = 0.0
                cur = get(m)
                result[m] = score if cur is None else _aggregate(cur, score, aggr)
    else:
        first = srcs[0]
        if first is not None:
            others = [s for s in srcs[1:] if s]
            for m, v in _items(first):
                for s in others:
                    if m in s:
                        break
                else:
                    result[m] = v
    if card_only:
        return cardinality
    if dst is not None:
        zs = ZSet.from_pairs(result.items(), *_limits(c)) if result else None
        event = (b"zunionstore", b"zinterstore", b"zdiffstore")[op]
        return _store(c, dst, zs, event)
    items = sorted([(s, m) for m, s in result.items()])
    return _with_scores(c, items, withscores)


_UNION_COMPLEXITY = ("O(N)+O(M*log(M)) with N being the sum of the sizes of the input sorted "
                     "sets, and M being the number of elements in the resulting sorted set.")
_INTER_COMPLEXITY = ("O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, "
                     "K being the number of input sorted sets and M being the number of elements "
                     "in the resulting sorted set.")
_DIFF_COMPLEXITY = ("O(L + (N-K)log(N)) worst case where L is the total number of elements in "
                    "all the sets, N is the size of the first set, and K is the size of the "
                    "result set.")


@command("zunion", -3, "readonly", group="sorted-set", since="6.2.0",
         getkeys=keys_after_numkeys(1), complexity=_UNION_COMPLEXITY)
def zunion(c, argv):
    """Add multiple sorted sets"""
    return zsetop(c, argv, 1, None, _UNION, "zunion")


@command("zinter", -3, "readonly", group="sorted-set", since="6.2.0",
         getkeys=keys_after_numkeys(1), complexity=_INTER_COMPLEXITY)
def zinter(c, argv):
    """Intersect multiple sorted sets"""
    return zsetop(c, argv, 1, None, _INTER, "zinter")


@command("zdiff", -3, "readonly", group="sorted-set", since="6.2.0",
         getkeys=keys_after_numkeys(1), complexity=_DIFF_COMPLEXITY)
def zdiff(c, argv):
    """Subtract multiple sorted sets"""
    return zsetop(c, argv, 1, None, _DIFF, "zdiff")


@command("zunionstore", -4, "write denyoom", keys=(1, 1, 1), group="sorted-set",
         since="2.0.0", getkeys=keys_after_numkeys(2, extra_first=1),
         complexity=_UNION_COMPLEXITY)
def zunionstore(c, argv):
    """Add multiple sorted sets and store the resulting sorted set in a new key"""
    return zsetop(c, argv, 2, argv[1], _UNION, "zunionstore")


@command("zinterstore", -4, "write denyoom", keys=(1, 1, 1), group="sorted-set",
         since="2.0.0", getkeys=keys_after_numkeys(2, extra_first=1),
         complexity=_INTER_COMPLEXITY)
def zinterstore(c, argv):
    """Intersect multiple sorted sets and store the resulting sorted set in a new key"""
    return zsetop(c, argv, 2, argv[1], _INTER, "zinterstore")


@command("zdiffstore", -4, "write denyoom", keys=(1, 1, 1), group="sorted-set",
         since="6.2.0", getkeys=keys_after_numkeys(2, extra_first=1),
         complexity=_DIFF_COMPLEXITY)
def zdiffstore(c, argv):
    """Subtract multiple sorted sets and store the resulting sorted set in a new key"""
    return zsetop(c, argv, 2, argv[1], _DIFF, "zdiffstore")


@command("zintercard", -3, "readonly", group="sorted-set", since="7.0.0",
         getkeys=keys_after_numkeys(1),
         complexity="O(N*K) worst case with N being the smallest input sorted set, K being the "
         "number of input sorted sets.")
def zintercard(c, argv):
    """Intersect multiple sorted sets and return the cardinality of the result"""
    return zsetop(c, argv, 1, None, _INTER, "zintercard", card_only=True)


# -- ZSCAN -----------------------------------------------------------------------------------

_ULONG_MAX = (1 << 64) - 1


def parse_cursor(b: bytes) -> int:
    """parseScanCursorOrReply: strtoul over the whole string (a sign is accepted)."""
    if b and b[0] in _WS:
        raise CommandError("ERR invalid cursor")
    t = b
    neg = False
    if t[:1] in (b"+", b"-"):
        neg = t[:1] == b"-"
        t = t[1:]
    if not t:
        if b:
            raise CommandError("ERR invalid cursor")
        return 0
    if not t.isdigit():
        raise CommandError("ERR invalid cursor")
    v = int(t)
    if v > _ULONG_MAX:
        raise CommandError("ERR invalid cursor")
    return (-v) & _ULONG_MAX if neg else v


@command("zscan", -3, "readonly", keys=(1, 1, 1), group="sorted-set", since="2.8.0",
         complexity="O(1) for every call. O(N) for a complete iteration, including enough "
         "command calls for the cursor to return back to 0. N is the number of elements inside "
         "the collection..")
def zscan(c, argv):
    """Incrementally iterate sorted sets elements and associated scores"""
    cursor = parse_cursor(argv[2])
    zs = c.db.get_typed(argv[1], ZSet)
    if zs is None:
        return [b"0", []]
    count = 10
    match = None
    n = len(argv)
    j = 3
    while j < n:
        opt = argv[j].lower()
        if opt == b"count" and n - j >= 2:
            count = parse_int(argv[j + 1])
            if count < 1:
                raise CommandError(SYNTAX)
            j += 2
        elif opt == b"match" and n - j >= 2:
            pat = argv[j + 1]
            match = None if pat == b"*" else compile_glob(pat)
            j += 2
        else:
            raise CommandError(SYNTAX)
    if zs.object_encoding(c.server.config) == b"listpack":  # Redis sends it all at once
        nxt = 0
        members = [m for _, m in zs.order]
    else:
        nxt, members = zs.scan(cursor, count)
    out = []
    scores = zs.scores
    for m in members:
        if match is not None and not match(m):
            continue
        out.append(m)
        out.append(format_double(scores[m]))
    return [b"%d" % nxt, out]

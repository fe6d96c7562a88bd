"""Sorted set basics (Redis 7.0 t_zset.c): ZADD, ZINCRBY, ZREM, ZSCORE, ZMSCORE, ZCARD, ZRANK,
ZREVRANK and ZSCAN: the commands that add, remove or look up single members.

``zadd_generic`` (zaddGenericCommand) serves ZADD, ZINCRBY and geo.py's GEOADD. Ranges,
pops and set operations live next door (ranges.py, pops.py, setops.py).
"""

from __future__ import annotations

from ...datatypes.zset import ZSet
from ...errors import SYNTAX, CommandError
from ...glob import compile_glob
from ...keyspace import NOTIFY_GENERIC, NOTIFY_ZSET
from ...protocol.encoder import format_double
from ..args import parse_int
from ..registry import command
from .common import _WS, GT_LT_NX, INCR_PAIR, NAN_SCORE, XX_NX, _limits, _notify, parse_score

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

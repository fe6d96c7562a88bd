"""Sorted set pops (Redis 7.0 t_zset.c): ZPOPMIN, ZPOPMAX, BZPOPMIN, BZPOPMAX, ZMPOP, BZMPOP,
and ZRANDMEMBER (which picks members without removing them).

All pops share ``zpop_generic`` (genericZpopCommand). The blocking forms block through
``c.server.block`` and, once served, are propagated as the ZPOPMIN/ZPOPMAX they performed.
"""

from __future__ import annotations

import random

from ...datatypes.zset import ZSet
from ...errors import SYNTAX, WRONGTYPE, CommandError
from ...keyspace import NOTIFY_ZSET
from ...protocol.replies import NULL_ARRAY
from ..args import LLONG_MAX, parse_timeout
from ..registry import command, keys_after_numkeys
from .common import _deleted, _positive, _range_long, _with_scores

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
        # Redis 7.0.15 propagates the number of elements actually popped, not the COUNT asked.
        c.propagate_as = [[b"ZPOPMAX" if maximum else b"ZPOPMIN", reply[0], b"%d" % len(reply[1])]]
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

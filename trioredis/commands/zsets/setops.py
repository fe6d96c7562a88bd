"""Sorted set operations (Redis 7.0 t_zset.c): ZUNION, ZINTER, ZDIFF, their *STORE forms and
ZINTERCARD.

One implementation, ``zsetop`` (zunionInterDiffGenericCommand), parses WEIGHTS / AGGREGATE /
WITHSCORES / LIMIT and combines sorted sets and plain sets (members of a set score 1).
"""

from __future__ import annotations

from ...datatypes.zset import ZSet
from ...errors import SYNTAX, WRONGTYPE, CommandError
from ..args import parse_int
from ..registry import command, keys_after_numkeys
from .common import WEIGHT_NOT_FLOAT, _limits, _positive, _store, _with_scores, parse_score

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

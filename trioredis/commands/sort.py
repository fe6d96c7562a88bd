"""SORT and SORT_RO, as Redis 7.0's sort.c does them.

The parts clients can see, all kept:

* options in any order, repeated ones overriding (a constant ``BY`` pattern turns sorting off
  for good, even if a later ``BY`` has a ``*``); ``STORE`` is a syntax error in SORT_RO;
* sort keys: numbers parsed as C's ``strtod`` does (leading blanks, hex, ``inf``; an empty
  string is 0; trailing junk, NaN and out-of-range values fail the whole command), ties
  broken by the element's bytes; ``ALPHA`` compares as ``strcoll`` in the C locale (C strings:
  up to a NUL byte) unless STORE is given, then as binary strings;
* ``BY`` / ``GET`` patterns: the first ``*`` is replaced by the element, ``->field`` reads a
  hash field, ``#`` is the element itself; lookups count keyspace hits/misses;
* ``BY nosort``: lists and sorted sets keep their order (reversed by DESC, LIMIT read
  directly), a set is sorted ALPHA anyway when STORE is given;
* the qsort Redis uses is stable (glibc's merge sort), as Python's is; with BY and a partial
  LIMIT Redis uses its own partial quicksort, whose order of equal elements is reproduced by
  a port (:func:`pqsort`) when such ties reach the returned range;
* a sorted set is converted to its skiplist encoding, as Redis does;
* not reproduced: Redis never clears ``errno`` before ``strtod``, so after one out-of-range
  score even good non-integer scores fail until some system call resets it;
* STORE writes a list (``sortstore`` event, dirty += length) or deletes the destination when
  the result is empty (``del`` event).
"""

from __future__ import annotations

import re
from collections import deque
from itertools import islice

from ..datatypes.zset import ZSet
from ..errors import SYNTAX, WRONGTYPE, CommandError
from ..keyspace import NOTIFY_GENERIC, NOTIFY_LIST
from ..protocol.replies import SetReply
from .args import parse_int
from .keys import lookup_read
from .registry import BY_NAME, command
from .sets import members_in_order

SCORE_ERROR = "ERR One or more scores can't be converted into double"

# C's strtod grammar, the whole string (after cutting at a NUL byte).
_STRTOD = re.compile(
    rb"[ \t\n\v\f\r]*[+-]?(?:"
    rb"(?P<inf>[iI][nN][fF](?:[iI][nN][iI][tT][yY])?)"
    rb"|(?P<nan>[nN][aA][nN](?:\([0-9A-Za-z_]*\))?)"
    rb"|(?P<hex>0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?[0-9]+)?)"
    rb"|(?P<dec>(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?))\Z"
)
_DBL_MIN = 2.2250738585072014e-308
_INF = float("inf")
_NONZERO_HEX = re.compile(rb"[1-9a-fA-F]")
_NONZERO_DEC = re.compile(rb"[1-9]")


def _cstr(b: bytes) -> bytes:
    """What C string functions see: up to the first NUL byte."""
    i = b.find(b"\0")
    return b if i < 0 else b[:i]


def strtod(b: bytes) -> float | None:
    """Redis 7.0's SORT score parsing: ``strtod`` that must consume everything, no ERANGE, no
    NaN. None when the value does not qualify."""
    if b.isdigit():  # the common case
        v = float(b)
        return None if v == _INF else v
    if b"\0" in b:
        b = _cstr(b)
    if not b:
        return 0.0  # no conversion, but strtod stopped at the end: not an error
    m = _STRTOD.match(b)
    if m is None or m["nan"]:
        return None
    neg = b.lstrip(b" \t\n\v\f\r")[:1] == b"-"
    if m["inf"]:
        return -_INF if neg else _INF
    hexa = m["hex"]
    if hexa:
        mant = hexa[2:].split(b"p")[0].split(b"P")[0]
        try:
            v = float.fromhex(hexa.decode())
        except OverflowError:
            return None
        nonzero = _NONZERO_HEX.search(mant)
    else:
        dec = m["dec"]
        v = float(dec)
        nonzero = _NONZERO_DEC.search(dec.split(b"e")[0].split(b"E")[0])
    if v == _INF or (v < _DBL_MIN and nonzero):
        return None  # ERANGE: overflow, or underflow of a number that is not zero
    return -v if neg else v


class _Pattern:
    """A BY/GET pattern, split once: ``#``, no ``*`` (never found), or key (+ hash field)."""

    __slots__ = ("kind", "prefix", "suffix", "field")

    def __init__(self, pat: bytes):
        c = _cstr(pat)
        self.prefix = self.suffix = self.field = None
        if c == b"#":
            self.kind = "#"
            return
        star = c.find(b"*")
        if star < 0:
            self.kind = None
            return
        self.kind = "key"
        self.prefix = pat[:star]
        arrow = c.find(b"->", star + 1)
        if arrow >= 0 and arrow + 2 < len(c):
            self.field = pat[arrow + 2:]
            self.suffix = pat[star + 1:arrow]
        else:
            self.suffix = pat[star + 1:]

    def lookup(self, db, sub: bytes):
        """lookupKeyByPattern: the value for element ``sub``, or None."""
        kind = self.kind
        if kind == "#":
            return sub
        if kind is None:
            return None
        v = lookup_read(db, self.prefix + sub + self.suffix)
        if v is None:
            return None
        cls = v.__class__
        if self.field is not None:
            return v.get(self.field) if cls is dict else None
        if cls is bytes:
            return v
        if cls is bytearray:
            return bytes(v)
        return None


def sort_getkeys(argv: list) -> list[int]:
    """sortGetKeys: the sorted key, and the last STORE's key (options skipped as Redis does)."""
    keys = [1]
    store = None
    skip = {b"limit": 2, b"get": 1, b"by": 1}
    i = 2
    n = len(argv)
    while i < n:
        opt = _cstr(argv[i]).lower()
        if opt in skip:
            i += skip[opt]
        elif opt == b"store" and i + 1 < n:
            store = i + 1
        i += 1
    if store is not None:
        keys.append(store)
    return keys


def _limit(start: int, count: int, n: int) -> tuple[int, int]:
    start = min(max(start, 0), n)
    count = min(max(count, -1), n)
    end = n - 1 if count < 0 else start + count - 1
    if start >= n:
        start = n - 1
        end = n - 2
    if end >= n:
        end = n - 1
    return start, end


BY_DENIED = "ERR BY option of SORT denied due to insufficient ACL permissions."
GET_DENIED = "ERR GET option of SORT denied due to insufficient ACL permissions."


def _full_key_access(c, argv, readonly: bool) -> bool:
    """BY/GET patterns read keys no key spec names: the user must be able to read any key."""
    if c.acl_user is None:
        return True
    return c.server.acl.full_key_access(c, BY_NAME["sort_ro" if readonly else "sort"], argv)


def _sort_generic(c, argv, readonly: bool):
    desc = alpha = dontsort = False
    limit_start, limit_count = 0, -1
    sortby = store = None
    gets = []
    n = len(argv)
    j = 2
    while j < n:
        opt = _cstr(argv[j]).lower()
        left = n - j - 1
        if opt == b"asc":
            desc = False
        elif opt == b"desc":
            desc = True
        elif opt == b"alpha":
            alpha = True
        elif opt == b"limit" and left >= 2:
            limit_start = parse_int(argv[j + 1])
            limit_count = parse_int(argv[j + 2])
            j += 2
        elif not readonly and opt == b"store" and left >= 1:
            store = argv[j + 1]
            j += 1
        elif opt == b"by" and left >= 1:
            sortby = argv[j + 1]
            if b"*" not in _cstr(sortby):
                dontsort = True
            elif not _full_key_access(c, argv, readonly):
                raise CommandError(BY_DENIED)
            j += 1
        elif opt == b"get" and left >= 1:
            if not _full_key_access(c, argv, readonly):
                raise CommandError(GET_DENIED)
            gets.append(_Pattern(argv[j + 1]))
            j += 1
        else:
            raise CommandError(SYNTAX)
        j += 1

    db = c.db
    value = lookup_read(db, argv[1])
    cls = value.__class__
    if value is None:
        value = ()
        cls = deque
    elif cls is not deque and cls is not set and cls is not ZSet:
        raise CommandError(WRONGTYPE)
    if dontsort and cls is set and (store is not None or getattr(c, "in_script", False)):
        # A set has no order of its own: sort it so replicas and scripts agree.
        dontsort = False
        alpha = True
        sortby = None
    if cls is ZSet:
        value.listpack = False  # zsetConvert(..., SKIPLIST)

    size = len(value)
    start, end = _limit(limit_start, limit_count, size)
    if dontsort and cls is not set:
        # Lists and sorted sets keep their own order; LIMIT picks the range directly.
        if end >= start:
            if cls is ZSet:
                order = value.order
                if desc:
                    lo, hi = size - 1 - end, size - start
                    vector = [m for _, m in order.islice(lo, hi, reverse=True)]
                else:
                    vector = [m for _, m in order.islice(start, end + 1)]
            else:
                vector = list(islice(reversed(value) if desc else value, start, end + 1))
            end -= start
            start = 0
        else:
            vector = []
    elif cls is set:
        vector = members_in_order(c, value)
    elif cls is ZSet:
        vector = list(value.scores)
    else:
        vector = list(value)

    error = False
    if not dontsort and vector:
        by = _Pattern(sortby) if sortby is not None else None
        vector, error = _sort(db, vector, by, alpha, desc, store is not None, start, end)

    if error:
        raise CommandError(SCORE_ERROR)
    if store is None:
        out = []
        append = out.append
        for k in range(start, end + 1):
            ele = vector[k]
            if not gets:
                append(ele)
            for g in gets:
                append(g.lookup(db, ele))
        return out
    result = deque()
    append = result.append
    for k in range(start, end + 1):
        ele = vector[k]
        if not gets:
            append(ele)
        for g in gets:
            v = g.lookup(db, ele)
            append(b"" if v is None else v)
    if result:
        db.store(store, result)
        db.modified(store, b"sortstore", NOTIFY_LIST, len(result))
    elif db.delete(store):
        db.modified(store, b"del", NOTIFY_GENERIC)
    return len(result)


def _sort(db, vector: list, by, alpha: bool, desc: bool, storing: bool, start: int, end: int):
    """Sort ``vector`` as Redis's sortCompare orders it. Returns (sorted, score error)."""
    error = False
    if alpha:
        if by is None:
            keys = vector if storing else [_cstr(e) for e in vector]
        else:
            keys = []
            for e in vector:
                v = by.lookup(db, e)
                # Missing values sort first; compared as C strings unless storing.
                keys.append((0, b"") if v is None else (1, v if storing else _cstr(v)))
    else:
        keys = []
        for e in vector:
            v = by.lookup(db, e) if by is not None else e
            if v is None:
                score = 0.0
            else:
                score = strtod(v)
                if score is None:
                    error = True
                    score = 0.0
            keys.append((score, e))
    order = sorted(range(len(vector)), key=keys.__getitem__, reverse=desc)
    if by is not None and (start != 0 or end != len(vector) - 1) and _ties_in_range(
            keys, order, start, end):
        order = list(range(len(vector)))
        pqsort(order, _comparator(keys, desc), start, end)
    return [vector[i] for i in order], error


def _ties_in_range(keys: list, order: list, start: int, end: int) -> bool:
    """Whether elements that compare equal meet in or at the edge of [start, end]: only then
    can Redis's partial quicksort give another order than a stable sort."""
    lo = max(start - 1, 0)
    hi = min(end + 1, len(order) - 1)
    # A tie group crossing the range reaches its edge, so checking neighbours there suffices.
    for k in range(lo, hi):
        if keys[order[k]] == keys[order[k + 1]]:
            return True
    return False


def _comparator(keys: list, desc: bool):
    def cmp(a: int, b: int) -> int:
        ka, kb = keys[a], keys[b]
        r = (ka > kb) - (ka < kb)
        return -r if desc else r

    return cmp


def pqsort(v: list, cmp, lrange: int, rrange: int) -> None:
    """Redis's pqsort.c (NetBSD qsort, partial): sort ``v`` enough that positions
    ``lrange..rrange`` hold what a full sort would put there, in Redis's exact order."""
    _pqsort(v, 0, len(v), cmp, lrange, rrange)


def _med3(v, a, b, c, cmp):
    if cmp(v[a], v[b]) < 0:
        if cmp(v[b], v[c]) < 0:
            return b
        return c if cmp(v[a], v[c]) < 0 else a
    if cmp(v[b], v[c]) > 0:
        return b
    return a if cmp(v[a], v[c]) < 0 else c


def _insertion(v, lo, n, cmp) -> None:
    for pm in range(lo + 1, lo + n):
        pl = pm
        while pl > lo and cmp(v[pl - 1], v[pl]) > 0:
            v[pl], v[pl - 1] = v[pl - 1], v[pl]
            pl -= 1


def _vecswap(v, a, b, n) -> None:
    for i in range(n):
        v[a + i], v[b + i] = v[b + i], v[a + i]


def _pqsort(v, lo, n, cmp, L, R) -> None:
    while True:
        if n < 7:
            _insertion(v, lo, n, cmp)
            return
        pm = lo + n // 2
        if n > 7:
            pl = lo
            pn = lo + n - 1
            if n > 40:
                d = n // 8
                pl = _med3(v, pl, pl + d, pl + 2 * d, cmp)
                pm = _med3(v, pm - d, pm, pm + d, cmp)
                pn = _med3(v, pn - 2 * d, pn - d, pn, cmp)
            pm = _med3(v, pl, pm, pn, cmp)
        v[lo], v[pm] = v[pm], v[lo]
        pa = pb = lo + 1
        pc = pd = lo + n - 1
        swapped = False
        while True:
            while pb <= pc:
                r = cmp(v[pb], v[lo])
                if r > 0:
                    break
                if r == 0:
                    swapped = True
                    v[pa], v[pb] = v[pb], v[pa]
                    pa += 1
                pb += 1
            while pb <= pc:
                r = cmp(v[pc], v[lo])
                if r < 0:
                    break
                if r == 0:
                    swapped = True
                    v[pc], v[pd] = v[pd], v[pc]
                    pd -= 1
                pc -= 1
            if pb > pc:
                break
            v[pb], v[pc] = v[pc], v[pb]
            swapped = True
            pb += 1
            pc -= 1
        if not swapped:
            _insertion(v, lo, n, cmp)
            return
        pn = lo + n
        r = min(pa - lo, pb - pa)
        _vecswap(v, lo, pb - r, r)
        r = min(pd - pc, pn - pd - 1)
        _vecswap(v, pb, pn - r, r)
        r = pb - pa
        if r > 1 and not (R < lo or L >= lo + r):
            _pqsort(v, lo, r, cmp, L, R)
        r = pd - pc
        if r <= 1:
            return
        lo = pn - r
        n = r
        if R < lo or L >= lo + n:
            return


@command("sort", -2, "write denyoom", keys=(1, 1, 1), group="generic", since="1.0.0",
         getkeys=sort_getkeys, summary="Sort the elements in a list, set or sorted set",
         complexity="O(N+M*log(M)) where N is the number of elements in the list or set to "
                    "sort, and M the number of returned elements. When the elements are not "
                    "sorted, complexity is O(N).")
def sort(c, argv):
    return _sort_generic(c, argv, False)


@command("sort_ro", -2, "readonly movablekeys", keys=(1, 1, 1), group="generic", since="7.0.0",
         summary="Sort the elements in a list, set or sorted set. Read-only variant of SORT.",
         complexity="O(N+M*log(M)) where N is the number of elements in the list or set to "
                    "sort, and M the number of returned elements. When the elements are not "
                    "sorted, complexity is O(N).")
def sort_ro(c, argv):
    return _sort_generic(c, argv, True)


# -- COMMAND INFO key specs (Redis 7.0's, with their notes) ------------------------------------

_UNKNOWN = {b"type": b"unknown", b"spec": {}}


def _spec(flags: str, begin, find, notes: str) -> dict:
    return {b"notes": notes.encode(), b"flags": SetReply(flags.split()),
            b"begin_search": begin, b"find_keys": find}


_MAIN = {b"flags": SetReply(["RO", "access"]),
         b"begin_search": {b"type": b"index", b"spec": {b"index": 1}},
         b"find_keys": {b"type": b"range", b"spec": {b"lastkey": 0, b"keystep": 1, b"limit": 0}}}
_PATTERN = _spec("RO access", _UNKNOWN, _UNKNOWN,
                 "For the optional BY/GET keyword. It is marked 'unknown' because the key names "
                 "derive from the content of the key we sort")
_STORE = _spec("OW update", _UNKNOWN, _UNKNOWN,
               "For the optional STORE keyword. It is marked 'unknown' because the keyword can "
               "appear anywhere in the argument array")
BY_NAME["sort"].key_specs = [_MAIN, _PATTERN, _STORE]
BY_NAME["sort_ro"].key_specs = [_MAIN, _PATTERN]


def _arg(name, kind, key=None, token=None, flags=(), args=None) -> dict:
    """One COMMAND DOCS argument, fields in Redis's order."""
    out = {"name": name, "type": kind}
    if key is not None:
        out["key_spec_index"] = key
    if token is not None:
        out["token"] = token
    if flags:
        out["flags"] = list(flags)
    if args is not None:
        out["arguments"] = args
    return out


_SORT_ARGS = [
    _arg("key", "key", key=0),
    _arg("pattern", "pattern", key=1, token="BY", flags=["optional"]),
    _arg("offset_count", "block", token="LIMIT", flags=["optional"],
         args=[_arg("offset", "integer"), _arg("count", "integer")]),
    _arg("pattern", "pattern", key=1, token="GET",
         flags=["optional", "multiple", "multiple_token"]),
    _arg("order", "oneof", flags=["optional"],
         args=[_arg("asc", "pure-token", token="ASC"), _arg("desc", "pure-token", token="DESC")]),
    _arg("sorting", "pure-token", token="ALPHA", flags=["optional"]),
]
BY_NAME["sort"].doc_args = _SORT_ARGS + [
    _arg("destination", "key", key=2, token="STORE", flags=["optional"])]
BY_NAME["sort_ro"].doc_args = list(_SORT_ARGS)

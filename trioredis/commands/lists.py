"""List commands on ``collections.deque`` values, and the blocking pops.

A deque pushes and pops at both ends in O(1) and indexes near either end cheaply, which is what
Redis's quicklist gives. Ranges are copied from whichever end is nearer.

Blocking pops (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP) use the core mechanism: a handler that
finds nothing returns ``server.block(...)``; when a key it waits on changes, the core re-runs it
with ``c.retrying`` set, in first-blocked first-served order, after the whole command (or EXEC)
that made the key ready. A re-run that still finds nothing gets STILL_BLOCKED from
``server.block`` and keeps its place. As in Redis 7.0, a waited-on key that now holds another
type does not wake the client. What is propagated for a served pop is its non-blocking form
(``LPOP key``, ``LMOVE``, ``RPOPLPUSH``; LMPOP/BLMPOP as ``LPOP key count``, as Redis does).
"""

from __future__ import annotations

import math
from collections import deque
from itertools import islice

from ..errors import (
    COUNT_POSITIVE,
    NO_SUCH_KEY,
    OUT_OF_RANGE,
    SYNTAX,
    TIMEOUT_NEGATIVE,
    TIMEOUT_NOT_FLOAT,
    WRONGTYPE,
    CommandError,
    wrong_arity,
)
from ..keyspace import NOTIFY_GENERIC, NOTIFY_LIST
from ..protocol.replies import NULL_ARRAY, OK
from .args import LLONG_MAX, LLONG_MIN, clamp_range, parse_int, to_int
from .hashes import document, ld_parse, ld_round
from .keys import lookup_read
from .registry import command, keys_after_numkeys

LEFT = 0
RIGHT = 1
_POP_EVENT = (b"lpop", b"rpop")
_PUSH_EVENT = (b"lpush", b"rpush")
_POP_CMD = (b"LPOP", b"RPOP")


def _where(b: bytes) -> int:
    low = b.lower()
    if low == b"left":
        return LEFT
    if low == b"right":
        return RIGHT
    raise CommandError(SYNTAX)


def _list(db, key):
    lst = db.lookup(key)
    if lst is not None and lst.__class__ is not deque:
        raise CommandError(WRONGTYPE)
    return lst


def _list_read(db, key):
    """For read commands: Redis's lookupKeyRead counts hits/misses and fires 'keymiss'."""
    lst = lookup_read(db, key)
    if lst is not None and lst.__class__ is not deque:
        raise CommandError(WRONGTYPE)
    return lst


def _notify_del(db, key) -> None:
    srv = db.server
    if NOTIFY_GENERIC & srv.notify_flags:
        srv.notify(NOTIFY_GENERIC, b"del", key, db.id)


def _popped(db, key, lst, event: bytes, n: int) -> None:
    """After removing ``n`` elements: the event, and the key deleted (and 'del') if empty."""
    if lst:
        db.modified(key, event, NOTIFY_LIST, n)
    else:
        db.delete(key)
        db.modified(key, event, NOTIFY_LIST, n)
        _notify_del(db, key)


def _slice(lst, start: int, end: int) -> list:
    """Elements ``start..end`` (inclusive, 0 <= start <= end < len), read from the nearer end."""
    n = len(lst)
    if start == 0 and end == n - 1:
        return list(lst)
    if start <= n - 1 - end:
        return list(islice(lst, start, end + 1))
    out = list(islice(reversed(lst), n - 1 - end, n - start))
    out.reverse()
    return out


def parse_block_timeout(c, b: bytes) -> float:
    """A blocking timeout in seconds as Redis 7.0 reads it (0 = wait forever).

    ``(long long) ceill(strtold(b) * 1000)`` milliseconds: hex and ``inf`` parse, anything that
    does not fit a long long is LLONG_MIN ("negative"), tiny negatives round up to 0.
    """
    v = to_int(b)
    if v is not None:
        ms = v * 1000
    else:
        x = ld_parse(b)
        if x is None:
            raise CommandError(TIMEOUT_NOT_FLOAT)
        if x.__class__ is float:
            ms = LLONG_MIN
        else:
            y = ld_round(x * 1000)
            ms = LLONG_MIN if y.__class__ is float else math.ceil(y)
    if not LLONG_MIN <= ms <= LLONG_MAX:
        ms = LLONG_MIN
    if ms < 0:
        raise CommandError(TIMEOUT_NEGATIVE)
    if ms == 0 or ms > LLONG_MAX - c.server.now_ms():
        return 0.0  # Redis 7.0: an overflowing deadline never fires
    return ms / 1000


# -- push and pop -----------------------------------------------------------------------------


@command("lpush", -3, "write denyoom fast", keys=(1, 1, 1), group="list", since="1.0.0")
def lpush(c, argv):
    """Prepend one or multiple elements to a list"""
    db = c.db
    key = argv[1]
    lst = db.lookup(key)
    if lst is None:
        lst = deque()
        db.add(key, lst)
    elif lst.__class__ is not deque:
        raise CommandError(WRONGTYPE)
    n = len(argv)
    if n == 3:
        lst.appendleft(argv[2])
    else:
        lst.extendleft(islice(argv, 2, None))
    db.modified(key, b"lpush", NOTIFY_LIST, n - 2)
    return len(lst)


@command("rpush", -3, "write denyoom fast", keys=(1, 1, 1), group="list", since="1.0.0")
def rpush(c, argv):
    """Append one or multiple elements to a list"""
    db = c.db
    key = argv[1]
    lst = db.lookup(key)
    if lst is None:
        lst = deque()
        db.add(key, lst)
    elif lst.__class__ is not deque:
        raise CommandError(WRONGTYPE)
    n = len(argv)
    if n == 3:
        lst.append(argv[2])
    else:
        lst.extend(islice(argv, 2, None))
    db.modified(key, b"rpush", NOTIFY_LIST, n - 2)
    return len(lst)


def _pushx(c, argv, where: int):
    db = c.db
    key = argv[1]
    lst = _list(db, key)
    if lst is None:
        return 0
    if where == LEFT:
        lst.extendleft(islice(argv, 2, None))
    else:
        lst.extend(islice(argv, 2, None))
    db.modified(key, _PUSH_EVENT[where], NOTIFY_LIST, len(argv) - 2)
    return len(lst)


@command("lpushx", -3, "write denyoom fast", keys=(1, 1, 1), group="list", since="2.2.0")
def lpushx(c, argv):
    """Prepend an element to a list, only if the list exists"""
    return _pushx(c, argv, LEFT)


@command("rpushx", -3, "write denyoom fast", keys=(1, 1, 1), group="list", since="2.2.0")
def rpushx(c, argv):
    """Append an element to a list, only if the list exists"""
    return _pushx(c, argv, RIGHT)


def _pop(c, argv, where: int):
    n = len(argv)
    if n > 3:
        raise CommandError(wrong_arity("lpop" if where == LEFT else "rpop"))
    if n == 3:
        count = parse_int(argv[2], COUNT_POSITIVE)
        if count < 0:
            raise CommandError(COUNT_POSITIVE)
    db = c.db
    key = argv[1]
    lst = db.lookup(key)
    if lst is None:
        return NULL_ARRAY if n == 3 else None
    if lst.__class__ is not deque:
        raise CommandError(WRONGTYPE)
    if n == 2:
        v = lst.popleft() if where == LEFT else lst.pop()
        if lst:
            db.modified(key, _POP_EVENT[where], NOTIFY_LIST)
        else:
            _popped(db, key, lst, _POP_EVENT[where], 1)
        return v
    if count == 0:
        return []
    out = _pop_n(lst, where, count)
    _popped(db, key, lst, _POP_EVENT[where], len(out))
    return out


def _pop_n(lst, where: int, count: int) -> list:
    if count >= len(lst):
        out = list(lst)
        if where == RIGHT:
            out.reverse()
        lst.clear()
        return out
    pop = lst.popleft if where == LEFT else lst.pop
    return [pop() for _ in range(count)]


@command("lpop", -2, "write fast", keys=(1, 1, 1), group="list", since="1.0.0")
def lpop(c, argv):
    """Remove and get the first elements in a list"""
    return _pop(c, argv, LEFT)


@command("rpop", -2, "write fast", keys=(1, 1, 1), group="list", since="1.0.0")
def rpop(c, argv):
    """Remove and get the last elements in a list"""
    return _pop(c, argv, RIGHT)


# -- reading ----------------------------------------------------------------------------------


@command("llen", 2, "readonly fast", keys=(1, 1, 1), group="list", since="1.0.0")
def llen(c, argv):
    """Get the length of a list"""
    lst = _list_read(c.db, argv[1])
    return 0 if lst is None else len(lst)


@command("lrange", 4, "readonly", keys=(1, 1, 1), group="list", since="1.0.0")
def lrange(c, argv):
    """Get a range of elements from a list"""
    start = parse_int(argv[2])
    end = parse_int(argv[3])
    lst = _list_read(c.db, argv[1])
    if lst is None:
        return []
    r = clamp_range(start, end, len(lst))
    if r is None:
        return []
    return _slice(lst, r[0], r[1])


@command("lindex", 3, "readonly", keys=(1, 1, 1), group="list", since="1.0.0")
def lindex(c, argv):
    """Get an element from a list by its index"""
    lst = _list_read(c.db, argv[1])
    if lst is None:
        return None
    i = parse_int(argv[2])
    if -len(lst) <= i < len(lst):
        return lst[i]
    return None


@command("lpos", -3, "readonly", keys=(1, 1, 1), group="list", since="6.0.6")
def lpos(c, argv):
    """Return the index of matching elements on a list"""
    ele = argv[2]
    rank, count, maxlen = 1, -1, 0
    i = 3
    n = len(argv)
    while i < n:
        opt = argv[i].lower()
        if i + 1 >= n:
            raise CommandError(SYNTAX)
        if opt == b"rank":
            rank = parse_int(argv[i + 1])
            if rank == 0:
                raise CommandError(
                    "ERR RANK can't be zero: use 1 to start from the first match, 2 from the "
                    "second ... or use negative to start from the end of the list"
                )
        elif opt == b"count":
            count = parse_int(argv[i + 1], "ERR COUNT can't be negative")
            if count < 0:
                raise CommandError("ERR COUNT can't be negative")
        elif opt == b"maxlen":
            maxlen = parse_int(argv[i + 1], "ERR MAXLEN can't be negative")
            if maxlen < 0:
                raise CommandError("ERR MAXLEN can't be negative")
        else:
            raise CommandError(SYNTAX)
        i += 2
    lst = _list_read(c.db, argv[1])
    if lst is None:
        return [] if count != -1 else None
    # RANK LLONG_MIN: Redis negates it in place (still negative), so every match qualifies and
    # the COUNT test overflows: all matches are returned.
    endless = rank == LLONG_MIN
    skip = 0 if endless else abs(rank) - 1
    size = len(lst)
    limit = min(maxlen, size) if maxlen else size
    if rank > 0 and count == -1 and skip < 16:
        pos = 0
        try:
            for _ in range(skip + 1):
                pos = lst.index(ele, pos, limit) + 1
        except ValueError:
            return None
        return pos - 1
    out = []
    matches = 0
    if rank > 0:
        seq = enumerate(islice(lst, limit))
    else:
        seq = ((size - 1 - j, x) for j, x in enumerate(islice(reversed(lst), limit)))
    for idx, x in seq:
        if x == ele:
            matches += 1
            if matches > skip:
                if count == -1:
                    return idx
                out.append(idx)
                if count and not endless and len(out) >= count:
                    break
    return out if count != -1 else None


# -- changing ---------------------------------------------------------------------------------


@command("lset", 4, "write denyoom", keys=(1, 1, 1), group="list", since="1.0.0")
def lset(c, argv):
    """Set the value of an element in a list by its index"""
    db = c.db
    key = argv[1]
    lst = _list(db, key)
    if lst is None:
        raise CommandError(NO_SUCH_KEY)
    i = parse_int(argv[2])
    if not -len(lst) <= i < len(lst):
        raise CommandError(OUT_OF_RANGE)
    lst[i] = argv[3]
    db.modified(key, b"lset", NOTIFY_LIST)
    return OK


@command("linsert", 5, "write denyoom", keys=(1, 1, 1), group="list", since="2.2.0")
def linsert(c, argv):
    """Insert an element before or after another element in a list"""
    where = argv[2].lower()
    if where == b"after":
        after = 1
    elif where == b"before":
        after = 0
    else:
        raise CommandError(SYNTAX)
    db = c.db
    key = argv[1]
    lst = _list(db, key)
    if lst is None:
        return 0
    try:
        i = lst.index(argv[3])
    except ValueError:
        return -1
    lst.insert(i + after, argv[4])
    db.modified(key, b"linsert", NOTIFY_LIST)
    return len(lst)


@command("lrem", 4, "write", keys=(1, 1, 1), group="list", since="1.0.0")
def lrem(c, argv):
    """Remove elements from a list"""
    count = parse_int(argv[2])
    db = c.db
    key = argv[1]
    lst = _list(db, key)
    if lst is None:
        return 0
    ele = argv[3]
    if ele not in lst:
        return 0
    if count == 1:
        lst.remove(ele)
        removed = 1
    else:
        limit = abs(count) or len(lst)
        kept = []
        removed = 0
        for x in lst if count >= 0 else reversed(lst):
            if removed < limit and x == ele:
                removed += 1
            else:
                kept.append(x)
        if count < 0:
            kept.reverse()
        lst.clear()
        lst.extend(kept)
    if lst:
        db.modified(key, b"lrem", NOTIFY_LIST, removed)
    else:
        _popped(db, key, lst, b"lrem", removed)
    return removed


@command("ltrim", 4, "write", keys=(1, 1, 1), group="list", since="1.0.0")
def ltrim(c, argv):
    """Trim a list to the specified range"""
    start = parse_int(argv[2])
    end = parse_int(argv[3])
    db = c.db
    key = argv[1]
    lst = _list(db, key)
    if lst is None:
        return OK
    n = len(lst)
    r = clamp_range(start, end, n)
    if r is None:
        left, right = n, 0
        lst.clear()
    else:
        start, end = r
        left, right = start, n - end - 1
        if left + right <= end - start + 1:
            for _ in range(left):
                lst.popleft()
            for _ in range(right):
                lst.pop()
        else:
            kept = _slice(lst, start, end)
            lst.clear()
            lst.extend(kept)
    _popped(db, key, lst, b"ltrim", left + right)
    return OK


# -- moving -----------------------------------------------------------------------------------


def _move(c, src_key, dst_key, wfrom: int, wto: int):
    """LMOVE's work once the source is known to be a non-empty list."""
    db = c.db
    src = db.lookup(src_key)
    dst = db.lookup(dst_key)
    if dst is not None and dst.__class__ is not deque:
        raise CommandError(WRONGTYPE)
    v = src.popleft() if wfrom == LEFT else src.pop()
    if dst is None:
        dst = deque()
        db.add(dst_key, dst)
    if wto == LEFT:
        dst.appendleft(v)
    else:
        dst.append(v)
    db.modified(dst_key, _PUSH_EVENT[wto], NOTIFY_LIST, 0)
    _popped(db, src_key, src, _POP_EVENT[wfrom], 1)
    return v


def _lmove(c, src_key, dst_key, wfrom: int, wto: int):
    src = _list(c.db, src_key)
    if src is None:
        return None
    return _move(c, src_key, dst_key, wfrom, wto)


@command("lmove", 5, "write denyoom", keys=(1, 2, 1), group="list", since="6.2.0")
def lmove(c, argv):
    """Pop an element from a list, push it to another list and return it"""
    wfrom = _where(argv[3])
    wto = _where(argv[4])
    return _lmove(c, argv[1], argv[2], wfrom, wto)


@command("rpoplpush", 3, "write denyoom", keys=(1, 2, 1), group="list", since="1.2.0")
def rpoplpush(c, argv):
    """Remove the last element in a list, prepend it to another list and return it"""
    return _lmove(c, argv[1], argv[2], RIGHT, LEFT)


def _parse_mpop(argv, at: int):
    """``numkeys key... LEFT|RIGHT [COUNT n]`` from ``argv[at]``: (keys, where, count)."""
    numkeys = parse_int(argv[at], "ERR numkeys should be greater than 0")
    if numkeys < 1:
        raise CommandError("ERR numkeys should be greater than 0")
    n = len(argv)
    where_at = at + numkeys + 1
    if where_at >= n:
        raise CommandError(SYNTAX)
    where = _where(argv[where_at])
    count = -1
    j = where_at + 1
    while j < n:
        if count == -1 and argv[j].lower() == b"count" and j + 1 < n:
            count = parse_int(argv[j + 1], "ERR count should be greater than 0")
            if count < 1:
                raise CommandError("ERR count should be greater than 0")
            j += 2
        else:
            raise CommandError(SYNTAX)
    return argv[at + 1 : where_at], where, (1 if count == -1 else count)


def _retry_order(c, keys):
    """Re-run for a ready key, Redis serves that key: try it first."""
    ready = c.server.serving_key
    if ready is not None and ready in keys and keys[0] != ready:
        return [ready, *(k for k in keys if k != ready)]
    return keys


def _mpop(c, keys, where: int, count: int):
    """Pop up to ``count`` from the first non-empty list: [key, elements], or None."""
    db = c.db
    for key in _retry_order(c, keys) if c.retrying else keys:
        lst = db.lookup(key)
        if lst is None:
            continue
        if lst.__class__ is not deque:
            if c.retrying:
                continue
            raise CommandError(WRONGTYPE)
        if not lst:
            continue
        out = _pop_n(lst, where, count)
        c.propagate_as = [[_POP_CMD[where], key, b"%d" % len(out)]]
        _popped(db, key, lst, _POP_EVENT[where], len(out))
        return [key, out]
    return None


@command("lmpop", -4, "write", group="list", since="7.0.0", getkeys=keys_after_numkeys(1))
def lmpop(c, argv):
    """Pop elements from a list"""
    keys, where, count = _parse_mpop(argv, 1)
    r = _mpop(c, keys, where, count)
    return NULL_ARRAY if r is None else r


# -- blocking ---------------------------------------------------------------------------------


def _bpop(c, argv, where: int):
    timeout = 0.0 if c.retrying else parse_block_timeout(c, argv[-1])
    db = c.db
    keys = argv[1:-1]
    for key in _retry_order(c, keys) if c.retrying else keys:
        lst = db.lookup(key)
        if lst is None:
            continue
        if lst.__class__ is not deque:
            if c.retrying:
                continue  # Redis 7.0 wakes list waiters only for lists
            raise CommandError(WRONGTYPE)
        if not lst:
            continue
        v = lst.popleft() if where == LEFT else lst.pop()
        c.propagate_as = [[_POP_CMD[where], key]]
        _popped(db, key, lst, _POP_EVENT[where], 1)
        return [key, v]
    return c.server.block(c, list(dict.fromkeys(keys)), timeout, NULL_ARRAY, argv=argv)


@command(
    "blpop", -3, "write noscript blocking", keys=(1, -2, 1), group="list", since="2.0.0"
)
def blpop(c, argv):
    """Remove and get the first element in a list, or block until one is available"""
    return _bpop(c, argv, LEFT)


@command(
    "brpop", -3, "write noscript blocking", keys=(1, -2, 1), group="list", since="2.0.0"
)
def brpop(c, argv):
    """Remove and get the last element in a list, or block until one is available"""
    return _bpop(c, argv, RIGHT)


def _bmove(c, argv, wfrom: int, wto: int, timeout: float, prop: list):
    db = c.db
    src_key = argv[1]
    src = db.lookup(src_key)
    if src is not None:
        if src.__class__ is deque:
            v = _move(c, src_key, argv[2], wfrom, wto)
            c.propagate_as = [prop]
            return v
        if not c.retrying:
            raise CommandError(WRONGTYPE)
    if c.in_exec or c.deny_blocking:
        return None  # not allowed to block: LMOVE's reply for an empty source
    return c.server.block(c, [src_key], timeout, NULL_ARRAY, argv=argv)


@command(
    "blmove",
    6,
    "write denyoom noscript blocking",
    keys=(1, 2, 1),
    group="list",
    since="6.2.0",
)
def blmove(c, argv):
    """Pop an element from a list, push it to another list and return it; or block until one is available"""
    wfrom = _where(argv[3])
    wto = _where(argv[4])
    timeout = 0.0 if c.retrying else parse_block_timeout(c, argv[5])
    prop = [b"LMOVE", argv[1], argv[2], argv[3], argv[4]]
    return _bmove(c, argv, wfrom, wto, timeout, prop)


@command(
    "brpoplpush",
    4,
    "write denyoom noscript blocking",
    keys=(1, 2, 1),
    group="list",
    since="2.2.0",
)
def brpoplpush(c, argv):
    """Pop an element from a list, push it to another list and return it; or block until one is available"""
    timeout = 0.0 if c.retrying else parse_block_timeout(c, argv[3])
    return _bmove(c, argv, RIGHT, LEFT, timeout, [b"RPOPLPUSH", argv[1], argv[2]])


@command(
    "blmpop", -5, "write blocking", group="list", since="7.0.0", getkeys=keys_after_numkeys(2)
)
def blmpop(c, argv):
    """Pop elements from a list, or block until one is available"""
    keys, where, count = _parse_mpop(argv, 2)
    timeout = 0.0 if c.retrying else parse_block_timeout(c, argv[1])
    r = _mpop(c, keys, where, count)
    if r is not None:
        return r
    return c.server.block(c, list(dict.fromkeys(keys)), timeout, NULL_ARRAY, argv=argv)

# COMMAND DOCS details Redis 7.0 gives beyond the table: complexity, deprecation, history.
_POPPER = "RW access delete"
_KEYS = {
    "lpush": "RW insert", "rpush": "RW insert", "lpushx": "RW insert", "rpushx": "RW insert",
    "linsert": "RW insert", "lset": "RW update", "lrem": "RW delete", "ltrim": "RW delete",
    "lpop": _POPPER, "rpop": _POPPER, "lmpop": _POPPER + " #", "blmpop": _POPPER + " @2 #",
    "blpop": _POPPER + " :-2", "brpop": _POPPER + " :-2",
    "lmove": [_POPPER, "RW insert @2"], "rpoplpush": [_POPPER, "RW insert @2"],
    "blmove": [_POPPER, "RW insert @2"], "brpoplpush": [_POPPER, "RW insert @2"],
    "llen": "RO", "lrange": "RO access", "lindex": "RO access", "lpos": "RO access",
}
document({
    "lpush": {
        "complexity": "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.",
        "history": [["2.4.0", "Accepts multiple `element` arguments."]],
    },
    "rpush": {
        "complexity": "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.",
        "history": [["2.4.0", "Accepts multiple `element` arguments."]],
    },
    "lpushx": {
        "complexity": "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.",
        "history": [["4.0.0", "Accepts multiple `element` arguments."]],
    },
    "rpushx": {
        "complexity": "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.",
        "history": [["4.0.0", "Accepts multiple `element` arguments."]],
    },
    "lpop": {
        "complexity": "O(N) where N is the number of elements returned",
        "history": [["6.2.0", "Added the `count` argument."]],
    },
    "rpop": {
        "complexity": "O(N) where N is the number of elements returned",
        "history": [["6.2.0", "Added the `count` argument."]],
    },
    "llen": {"complexity": "O(1)"},
    "lrange": {"complexity": "O(S+N) where S is the distance of start offset from HEAD for small lists, from nearest end (HEAD or TAIL) for large lists; and N is the number of elements in the specified range."},
    "lindex": {"complexity": "O(N) where N is the number of elements to traverse to get to the element at index. This makes asking for the first or the last element of the list O(1)."},
    "lset": {"complexity": "O(N) where N is the length of the list. Setting either the first or the last element of the list is O(1)."},
    "linsert": {"complexity": "O(N) where N is the number of elements to traverse before seeing the value pivot. This means that inserting somewhere on the left end on the list (head) can be considered O(1) and inserting somewhere on the right end (tail) is O(N)."},
    "lrem": {"complexity": "O(N+M) where N is the length of the list and M is the number of elements removed."},
    "ltrim": {"complexity": "O(N) where N is the number of elements to be removed by the operation."},
    "lpos": {"complexity": "O(N) where N is the number of elements in the list, for the average case. When searching for elements near the head or the tail of the list, or when the MAXLEN option is provided, the command may run in constant time."},
    "lmove": {"complexity": "O(1)"},
    "rpoplpush": {
        "complexity": "O(1)",
        "doc_flags": ["deprecated"], "deprecated_since": "6.2.0",
        "replaced_by": "`LMOVE` with the `RIGHT` and `LEFT` arguments",
    },
    "lmpop": {"complexity": "O(N+M) where N is the number of provided keys and M is the number of elements returned."},
    "blpop": {
        "complexity": "O(N) where N is the number of provided keys.",
        "history": [["6.0.0", "`timeout` is interpreted as a double instead of an integer."]],
    },
    "brpop": {
        "complexity": "O(N) where N is the number of provided keys.",
        "history": [["6.0.0", "`timeout` is interpreted as a double instead of an integer."]],
    },
    "blmove": {"complexity": "O(1)"},
    "brpoplpush": {
        "complexity": "O(1)",
        "doc_flags": ["deprecated"], "deprecated_since": "6.2.0",
        "replaced_by": "`BLMOVE` with the `RIGHT` and `LEFT` arguments",
        "history": [["6.0.0", "`timeout` is interpreted as a double instead of an integer."]],
    },
    "blmpop": {"complexity": "O(N+M) where N is the number of provided keys and M is the number of elements returned."},
}, {}, _KEYS)

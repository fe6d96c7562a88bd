"""Set commands (SADD, SPOP, SINTER, SSCAN, ...) on plain Python ``set`` values.

Reply order. Redis keeps a set of at most ``set-max-intset-entries`` integers as an intset,
whose members come out sorted; :func:`members_in_order` gives that order for such sets (other
sets come in hash order, in Redis as here, so clients must not rely on it).

Random members. Python sets have no random access. Up to ``_EXACT`` members a pick is exactly
uniform (a C-speed skip to a random position). Bigger sets are sampled by a random walk over the
hash table: ``set.pop()`` continues where the last pop stopped (amortized O(1)), so popping a
random 1.._STEP members and putting back all but the last picks a member in O(_STEP). Hash
order is random with respect to the members (per-process hash seed) and, over many calls, the
walk visits every member equally often; consecutive picks are nearby in table order. Requests
for a large share of the set take an exact ``random.sample`` of a copy instead.
"""

from __future__ import annotations

import random
from itertools import islice

from ..errors import COUNT_POSITIVE, SYNTAX, WRONGTYPE, CommandError
from ..keyspace import NOTIFY_GENERIC, NOTIFY_SET
from ..protocol.replies import SetReply
from .args import LLONG_MIN, parse_int, to_int
from .hashes import document, parse_scan_cursor, parse_scan_options, scan_page
from .keys import lookup_read
from .registry import command, keys_after_numkeys

_EXACT = 128
_STEP = 64
_SREM_BATCH = 1024  # SPOP COUNT propagates as SREMs of at most this many members


def _set(db, key):
    s = db.lookup(key)
    if s is not None and s.__class__ is not set:
        raise CommandError(WRONGTYPE)
    return s


def _set_read(db, key):
    """For read commands: Redis's lookupKeyRead counts hits/misses and fires 'keymiss'."""
    s = lookup_read(db, key)
    if s is not None and s.__class__ is not set:
        raise CommandError(WRONGTYPE)
    return s


def _sets(db, keys) -> list:
    """The sets at ``keys`` (None where missing); WRONGTYPE if any key holds another type."""
    out = []
    for key in keys:
        s = lookup_read(db, key)
        if s is not None and s.__class__ is not set:
            raise CommandError(WRONGTYPE)
        out.append(s)
    return out


def _notify_del(db, key) -> None:
    srv = db.server
    if NOTIFY_GENERIC & srv.notify_flags:
        srv.notify(NOTIFY_GENERIC, b"del", key, db.id)


def is_intset(c, s) -> bool:
    """Would Redis keep ``s`` as an intset (all canonical 64-bit integers, few enough)?"""
    if len(s) > c.server.config["set-max-intset-entries"] or id(s) in c.db.ht_sets:
        return False
    for m in s:
        if to_int(m) is None:
            return False
    return True


def members_in_order(c, s) -> list:
    """The members of ``s`` in Redis's reply order where it is defined (intsets: sorted)."""
    if len(s) > c.server.config["set-max-intset-entries"] or id(s) in c.db.ht_sets:
        return list(s)
    vals = []
    for m in s:
        v = to_int(m)
        if v is None:
            return list(s)
        vals.append(v)
    vals.sort()
    return [b"%d" % v for v in vals]


def _removing(c, s: set, removed) -> None:
    """Before ``removed`` members leave ``s``: Redis converts an intset to a hashtable for good
    (a member that is no integer, or more than set-max-intset-entries members), so a set that
    was a hashtable and would now fit an intset stays marked as one (``db.ht_sets``). Only then
    are the remaining members scanned: removals from intsets and from big sets cost nothing."""
    ht = c.db.ht_sets
    if id(s) in ht:
        return
    limit = c.server.config["set-max-intset-entries"]
    left = len(s) - len(removed)
    if left <= 0 or left > limit:
        return
    if len(s) <= limit and all(to_int(m) is not None for m in removed):
        return  # it was an intset unless a remaining member is no integer (then it stays so)
    gone = set(removed)
    if all(to_int(m) is not None for m in s if m not in gone):
        ht[id(s)] = s


def _walk(s: set, k: int, keep: bool) -> list:
    """``k`` distinct members picked by a random walk over the table (len(s) >= k * _STEP)."""
    pop = s.pop
    passed = []
    picks = []
    randint = random.randint
    for _ in range(k):
        for _ in range(randint(1, _STEP)):
            passed.append(pop())
        picks.append(passed.pop())
    s.update(passed)
    if keep:
        s.update(picks)
    return picks


def _one(s: set, keep: bool):
    """A random member (removed unless ``keep``)."""
    n = len(s)
    if n <= _EXACT:
        m = next(islice(s, random.randrange(n), None))
        if not keep:
            s.discard(m)
        return m
    return _walk(s, 1, keep)[0]


def _distinct(s: set, k: int, keep: bool) -> list:
    """``k`` < len(s) distinct random members (removed unless ``keep``)."""
    if len(s) <= _EXACT or k * _STEP > len(s):
        picks = random.sample(list(s), k)
        if not keep:
            s.difference_update(picks)
        return picks
    return _walk(s, k, keep)


# -- commands ---------------------------------------------------------------------------------


@command("sadd", -3, "write denyoom fast", keys=(1, 1, 1), group="set", since="1.0.0")
def sadd(c, argv):
    """Add one or more members to a set"""
    db = c.db
    key = argv[1]
    s = db.lookup(key)
    if s is None:
        s = set(argv[2:])
        db.add(key, s)
        added = len(s)
    elif s.__class__ is not set:
        raise CommandError(WRONGTYPE)
    else:
        before = len(s)
        if len(argv) == 3:
            s.add(argv[2])
        else:
            s.update(argv[2:])
        added = len(s) - before
        if not added:
            return 0
    db.modified(key, b"sadd", NOTIFY_SET, added)
    return added


@command("srem", -3, "write fast", keys=(1, 1, 1), group="set", since="1.0.0")
def srem(c, argv):
    """Remove one or more members from a set"""
    db = c.db
    key = argv[1]
    s = _set(db, key)
    if s is None:
        return 0
    if len(s) - len(argv) + 2 <= c.server.config["set-max-intset-entries"]:  # may fit an intset
        _removing(c, s, [m for m in set(argv[2:]) if m in s])
    removed = 0
    for m in argv[2:]:
        if m in s:
            s.discard(m)
            removed += 1
            if not s:
                break
    if removed:
        if not s:
            db.delete(key)
        db.modified(key, b"srem", NOTIFY_SET, removed)
        if not s:
            _notify_del(db, key)
    return removed


@command("smembers", 2, "readonly", keys=(1, 1, 1), group="set", since="1.0.0")
def smembers(c, argv):
    """Get all the members in a set"""
    s = _set_read(c.db, argv[1])
    return SetReply() if s is None else SetReply(members_in_order(c, s))


@command("sismember", 3, "readonly fast", keys=(1, 1, 1), group="set", since="1.0.0")
def sismember(c, argv):
    """Determine if a given value is a member of a set"""
    s = _set_read(c.db, argv[1])
    return 1 if s is not None and argv[2] in s else 0


@command("smismember", -3, "readonly fast", keys=(1, 1, 1), group="set", since="6.2.0")
def smismember(c, argv):
    """Returns the membership associated with the given elements for a set"""
    s = _set_read(c.db, argv[1])
    if s is None:
        return [0] * (len(argv) - 2)
    return [1 if m in s else 0 for m in argv[2:]]


@command("scard", 2, "readonly fast", keys=(1, 1, 1), group="set", since="1.0.0")
def scard(c, argv):
    """Get the number of members in a set"""
    s = _set_read(c.db, argv[1])
    return 0 if s is None else len(s)


@command("spop", -2, "write fast", keys=(1, 1, 1), group="set", since="1.0.0")
def spop(c, argv):
    """Remove and return one or multiple random members from a set"""
    n = len(argv)
    if n > 3:
        raise CommandError(SYNTAX)
    db = c.db
    key = argv[1]
    if n == 3:
        return _spop_count(c, db, key, argv[2])
    s = _set(db, key)
    if s is None:
        return None
    m = _one(s, keep=True)
    _removing(c, s, [m])
    s.discard(m)
    c.propagate_as = [[b"SREM", key, m]]
    if not s:
        db.delete(key)
    db.modified(key, b"spop", NOTIFY_SET)
    if not s:
        _notify_del(db, key)
    return m


def _spop_count(c, db, key, arg):
    count = parse_int(arg, COUNT_POSITIVE)
    if count < 0:
        raise CommandError(COUNT_POSITIVE)
    s = _set(db, key)
    if s is None or count == 0:
        return SetReply()
    size = len(s)
    if count >= size:
        members = members_in_order(c, s)
        db.delete(key)
        db.modified(key, b"spop", NOTIFY_SET, size)
        _notify_del(db, key)
        c.propagate_as = [[b"DEL", key]]
        return SetReply(members)
    picks = _distinct(s, count, keep=True)
    _removing(c, s, picks)
    s.difference_update(picks)
    db.modified(key, b"spop", NOTIFY_SET, count)
    c.propagate_as = [
        [b"SREM", key, *picks[i : i + _SREM_BATCH]] for i in range(0, count, _SREM_BATCH)
    ]
    return SetReply(picks)


@command("srandmember", -2, "readonly", keys=(1, 1, 1), group="set", since="1.0.0")
def srandmember(c, argv):
    """Get one or multiple random members from a set"""
    n = len(argv)
    if n > 3:
        raise CommandError(SYNTAX)
    if n == 2:
        s = _set_read(c.db, argv[1])
        return None if s is None else _one(s, keep=True)
    count = parse_int(argv[2])
    if count == LLONG_MIN:
        raise CommandError(
            "ERR value is out of range, value must between -9223372036854775807 and "
            "9223372036854775807"
        )
    s = _set_read(c.db, argv[1])
    if s is None or count == 0:
        return []
    size = len(s)
    if count < 0:
        k = -count
        if size <= _EXACT or k * _STEP > size:
            return random.choices(list(s), k=k)
        return _walk(s, k, keep=True)
    if count == 1:
        return [_one(s, keep=True)]
    if count >= size:
        return members_in_order(c, s)
    return _distinct(s, count, keep=True)


@command("smove", 4, "write fast", keys=(1, 2, 1), group="set", since="1.0.0")
def smove(c, argv):
    """Move a member from one set to another"""
    db = c.db
    src_key, dst_key, m = argv[1], argv[2], argv[3]
    src = db.lookup(src_key)
    dst = db.lookup(dst_key)
    if src is None:
        return 0
    if src.__class__ is not set or (dst is not None and dst.__class__ is not set):
        raise CommandError(WRONGTYPE)
    if src is dst:
        return 1 if m in src else 0
    if m not in src:
        return 0
    _removing(c, src, [m])
    src.discard(m)
    if not src:
        db.delete(src_key)
    db.modified(src_key, b"srem", NOTIFY_SET)
    if not src:
        _notify_del(db, src_key)
    if dst is None:
        dst = set()
        db.add(dst_key, dst)
    if m not in dst:
        dst.add(m)
        db.modified(dst_key, b"sadd", NOTIFY_SET)
    return 1


# -- intersection, union, difference ----------------------------------------------------------


def _inter(sets: list):
    """The intersection (a new set), or None when a set is missing (empty result)."""
    if any(s is None for s in sets):
        return None
    sets = sorted(sets, key=len)
    return sets[0].intersection(*sets[1:])


def _union(sets: list) -> set:
    out = set()
    for s in sets:
        if s is not None:
            out |= s
    return out


def _diff(sets: list) -> set:
    first = sets[0]
    if first is None:
        return set()
    out = set(first)
    for s in sets[1:]:
        if s is not None and s is not first:
            out -= s
            if not out:
                break
        elif s is first:
            return set()
    return out


def _store(c, dst_key, result, event: bytes):
    """SINTERSTORE & co: store a non-empty result (dropping any TTL) or delete the target."""
    db = c.db
    if result:
        db.store(dst_key, result)
        db.modified(dst_key, event, NOTIFY_SET)
        return len(result)
    if db.delete(dst_key):
        db.modified(dst_key, b"del", NOTIFY_GENERIC)
    return 0


@command("sinter", -2, "readonly", keys=(1, -1, 1), group="set", since="1.0.0")
def sinter(c, argv):
    """Intersect multiple sets"""
    res = _inter(_sets(c.db, argv[1:]))
    return SetReply(members_in_order(c, res)) if res else SetReply()


@command("sinterstore", -3, "write denyoom", keys=(1, -1, 1), group="set", since="1.0.0")
def sinterstore(c, argv):
    """Intersect multiple sets and store the resulting set in a key"""
    res = _inter(_sets(c.db, argv[2:]))
    return _store(c, argv[1], res, b"sinterstore")


@command(
    "sintercard", -3, "readonly", group="set", since="7.0.0", getkeys=keys_after_numkeys(1)
)
def sintercard(c, argv):
    """Intersect multiple sets and return the cardinality of the result"""
    numkeys = parse_int(argv[1], "ERR numkeys should be greater than 0")
    if numkeys < 1:
        raise CommandError("ERR numkeys should be greater than 0")
    if numkeys > len(argv) - 2:
        raise CommandError("ERR Number of keys can't be greater than number of args")
    limit = 0
    i = 2 + numkeys
    n = len(argv)
    while i < n:
        if argv[i].lower() == b"limit" and i + 1 < n:
            limit = parse_int(argv[i + 1], "ERR LIMIT can't be negative")
            if limit < 0:
                raise CommandError("ERR LIMIT can't be negative")
            i += 2
        else:
            raise CommandError(SYNTAX)
    sets = _sets(c.db, argv[2 : 2 + numkeys])
    if any(s is None for s in sets):
        return 0
    sets.sort(key=len)
    first, rest = sets[0], sets[1:]
    if not limit:
        return len(first.intersection(*rest)) if rest else len(first)
    found = 0
    for m in first:
        for s in rest:
            if m not in s:
                break
        else:
            found += 1
            if found >= limit:
                break
    return found


@command("sunion", -2, "readonly", keys=(1, -1, 1), group="set", since="1.0.0")
def sunion(c, argv):
    """Add multiple sets"""
    return SetReply(members_in_order(c, _union(_sets(c.db, argv[1:]))))


@command("sunionstore", -3, "write denyoom", keys=(1, -1, 1), group="set", since="1.0.0")
def sunionstore(c, argv):
    """Add multiple sets and store the resulting set in a key"""
    return _store(c, argv[1], _union(_sets(c.db, argv[2:])), b"sunionstore")


@command("sdiff", -2, "readonly", keys=(1, -1, 1), group="set", since="1.0.0")
def sdiff(c, argv):
    """Subtract multiple sets"""
    return SetReply(members_in_order(c, _diff(_sets(c.db, argv[1:]))))


@command("sdiffstore", -3, "write denyoom", keys=(1, -1, 1), group="set", since="1.0.0")
def sdiffstore(c, argv):
    """Subtract multiple sets and store the resulting set in a key"""
    return _store(c, argv[1], _diff(_sets(c.db, argv[2:])), b"sdiffstore")


@command("sscan", -3, "readonly", keys=(1, 1, 1), group="set", since="2.8.0")
def sscan(c, argv):
    """Incrementally iterate Set elements"""
    cursor = parse_scan_cursor(argv[2])
    key = argv[1]
    s = _set_read(c.db, key)
    if s is None:
        return [b"0", []]
    count, match = parse_scan_options(argv, 3)
    if is_intset(c, s):
        members = members_in_order(c, s)
        cursor = 0
    elif len(s) <= count:
        members = s
        cursor = 0
    else:
        cursor, members = scan_page(c, key, s, cursor, count)
    if match is None:
        out = [m for m in members if m in s]
    else:
        out = [m for m in members if m in s and match(m)]
    return [b"%d" % cursor, out]

# COMMAND DOCS details Redis 7.0 gives beyond the table: complexity, deprecation, history.
_TIPS = {
    "smembers": ("nondeterministic_output_order",),
    "sinter": ("nondeterministic_output_order",),
    "sunion": ("nondeterministic_output_order",),
    "sdiff": ("nondeterministic_output_order",),
    "spop": ("nondeterministic_output",),
    "srandmember": ("nondeterministic_output",),
    "sscan": ("nondeterministic_output",),
}
_KEYS = {
    "sadd": "RW insert", "srem": "RW delete", "spop": "RW access delete",
    "smove": ["RW access delete", "RW insert @2"],
    "sinterstore": ["RW update", "RO access @2 :-1"],
    "sunionstore": ["OW update", "RO access @2 :-1"],
    "sdiffstore": ["OW update", "RO access @2 :-1"],
    "sinter": "RO access :-1", "sunion": "RO access :-1", "sdiff": "RO access :-1",
    "sintercard": "RO access #", "smembers": "RO access", "smismember": "RO access",
    "srandmember": "RO access", "sscan": "RO access", "sismember": "RO", "scard": "RO",
}
document({
    "sadd": {
        "complexity": "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.",
        "history": [["2.4.0", "Accepts multiple `member` arguments."]],
    },
    "srem": {
        "complexity": "O(N) where N is the number of members to be removed.",
        "history": [["2.4.0", "Accepts multiple `member` arguments."]],
    },
    "smembers": {"complexity": "O(N) where N is the set cardinality."},
    "sismember": {"complexity": "O(1)"},
    "smismember": {"complexity": "O(N) where N is the number of elements being checked for membership"},
    "scard": {"complexity": "O(1)"},
    "spop": {
        "complexity": "Without the count argument O(1), otherwise O(N) where N is the value of the passed count.",
        "history": [["3.2.0", "Added the `count` argument."]],
    },
    "srandmember": {
        "complexity": "Without the count argument O(1), otherwise O(N) where N is the absolute value of the passed count.",
        "history": [["2.6.0", "Added the optional `count` argument."]],
    },
    "smove": {"complexity": "O(1)"},
    "sinter": {"complexity": "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets."},
    "sintercard": {"complexity": "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets."},
    "sinterstore": {"complexity": "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets."},
    "sunion": {"complexity": "O(N) where N is the total number of elements in all given sets."},
    "sunionstore": {"complexity": "O(N) where N is the total number of elements in all given sets."},
    "sdiff": {"complexity": "O(N) where N is the total number of elements in all given sets."},
    "sdiffstore": {"complexity": "O(N) where N is the total number of elements in all given sets."},
    "sscan": {"complexity": "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.."},
}, _TIPS, _KEYS)

"""Hash commands (HSET, HGET, HINCRBYFLOAT, HRANDFIELD, HSCAN, ...) on plain ``dict`` values.

Long doubles. HINCRBYFLOAT (and the list module's blocking timeouts) compute as Redis does with
x87 80-bit ``long double``: :func:`ld_parse` is ``strtold`` (hex floats, ``inf``, no spaces),
:func:`ld_round` rounds an exact fraction to a 64-bit mantissa, :func:`ld_human` prints
``%.17Lf`` with the trailing zeros stripped. Exact fractions make every digit Redis's.

Scanning (HSCAN, and SSCAN in sets.py). A small hash (what Redis keeps as a listpack) or small
set (an intset) comes back whole with cursor 0, as in Redis. A bigger collection is paged
through a snapshot of its members (``list(coll)``, one C-speed copy when the iteration starts):
the cursor is ``snapshot id << 32 | position``, each call costs O(COUNT), and an element present
for the whole iteration is in the snapshot, so it is returned (members gone by the time their
turn comes are skipped; members added later may be missed, which Redis allows too). Snapshots
live per server in an LRU table bounded in entries and total elements; a cursor whose snapshot
was dropped (or a made-up one) restarts the iteration from a fresh snapshot: duplicates are
possible, a missed element is not.

Random fields (HRANDFIELD) are exactly uniform: a C-speed skip to a random position of the dict,
O(N) for one field of a huge hash (Python dicts have no random access).
"""

from __future__ import annotations

import random
from collections import OrderedDict
from fractions import Fraction
from itertools import islice

from .. import extensions
from ..errors import NOT_FLOAT, OVERFLOW, SYNTAX, WRONGTYPE, CommandError, wrong_arity
from ..glob import compile_glob
from ..keyspace import NOTIFY_GENERIC, NOTIFY_HASH
from ..protocol.replies import OK, SetReply
from . import registry
from .args import LLONG_MAX, LLONG_MIN, parse_int, to_int
from .keys import lookup_read
from .registry import command
from .strings import format_long_double, ld_round, parse_long_double

# -- long double arithmetic: one implementation, in strings.py (INCRBYFLOAT) -------------------

ld_parse = parse_long_double
ld_human = format_long_double


# -- shared scanning (HSCAN, SSCAN) -----------------------------------------------------------

SCAN_MAX_ENTRIES = 1024
SCAN_MAX_ELEMENTS = 8_000_000


class _Snapshot:
    __slots__ = ("db", "key", "items")

    def __init__(self, db, key, items):
        self.db = db
        self.key = key
        self.items = items


class CollectionScans:
    """The snapshots of HSCAN/SSCAN iterations in progress on one server (LRU, bounded)."""

    def __init__(self):
        self.table: OrderedDict[int, _Snapshot] = OrderedDict()
        self.total = 0
        self.next_id = 0

    def start(self, db, key, coll) -> tuple[int, _Snapshot]:
        self.next_id = self.next_id % 0x7FFFFFFF + 1
        sid = self.next_id
        snap = _Snapshot(db, key, list(coll))
        old = self.table.pop(sid, None)
        if old is not None:
            self.total -= len(old.items)
        self.table[sid] = snap
        self.total += len(snap.items)
        while len(self.table) > 1 and (
            len(self.table) > SCAN_MAX_ENTRIES or self.total > SCAN_MAX_ELEMENTS
        ):
            _, dropped = self.table.popitem(last=False)
            self.total -= len(dropped.items)
        return sid, snap

    def get(self, sid: int, db, key):
        snap = self.table.get(sid)
        if snap is None or snap.db is not db or snap.key != key:
            return None
        self.table.move_to_end(sid)
        return snap

    def finish(self, sid: int) -> None:
        snap = self.table.pop(sid, None)
        if snap is not None:
            self.total -= len(snap.items)


def _attach_scans(server) -> None:
    server.collection_scans = CollectionScans()


extensions.SERVER_INIT.append(_attach_scans)


def parse_scan_cursor(b: bytes) -> int:
    """Redis's parseScanCursorOrReply (strtoul): '-1' wraps, '' is 0, spaces are refused."""
    if b and b[0] in b" \t\n\v\f\r":
        raise CommandError("ERR invalid cursor")
    if b"\0" in b:
        b = b.split(b"\0", 1)[0]
    if not b:
        return 0
    body = b[1:] if b[0] in b"+-" else b
    if not body or not body.isdigit():
        raise CommandError("ERR invalid cursor")
    v = int(body)
    if v > 0xFFFFFFFFFFFFFFFF:
        raise CommandError("ERR invalid cursor")
    if b[0] == 45 and v:  # '-'
        v = (1 << 64) - v
    return v


def parse_scan_options(argv: list, start: int) -> tuple[int, object]:
    """COUNT and MATCH of HSCAN/SSCAN: returns (count, match function or None)."""
    count = 10
    match = None
    i = start
    n = len(argv)
    while i < n:
        opt = argv[i].lower()
        if opt == b"count" and n - i >= 2:
            count = parse_int(argv[i + 1])
            if count < 1:
                raise CommandError(SYNTAX)
        elif opt == b"match" and n - i >= 2:
            pat = argv[i + 1]
            match = None if pat == b"*" else compile_glob(pat)
        else:
            raise CommandError(SYNTAX)
        i += 2
    return count, match


def scan_page(c, key, coll, cursor: int, count: int):
    """One page of a snapshot iteration over ``coll``: (next cursor, members to consider)."""
    scans = c.server.collection_scans
    sid, pos = divmod(cursor, 1 << 32)
    snap = scans.get(sid, c.db, key) if sid else None
    if snap is None:
        sid, snap = scans.start(c.db, key, coll)
        pos = 0
    items = snap.items
    end = pos + count
    page = items[pos:end]
    if end >= len(items):
        scans.finish(sid)
        return 0, page
    return (sid << 32) | end, page


# -- command docs -----------------------------------------------------------------------------


def _key_spec(text: str) -> dict:
    """One Redis 7.0 key spec from ``"RW access delete @2 :-1"`` (flags, ``@`` begin index
    (default 1), ``:`` last key of the range (default 0), ``#`` for numkeys-counted keys)."""
    flags, index, last, keynum = [], 1, 0, False
    for tok in text.split():
        if tok[0] == "@":
            index = int(tok[1:])
        elif tok[0] == ":":
            last = int(tok[1:])
        elif tok == "#":
            keynum = True
        else:
            flags.append(tok)
    if keynum:
        find = {b"type": b"keynum", b"spec": {b"keynumidx": 0, b"firstkey": 1, b"keystep": 1}}
    else:
        find = {b"type": b"range", b"spec": {b"lastkey": last, b"keystep": 1, b"limit": 0}}
    return {
        b"flags": SetReply(flags),
        b"begin_search": {b"type": b"index", b"spec": {b"index": index}},
        b"find_keys": find,
    }


def document(docs: dict, tips: dict, keys: dict) -> None:
    """Attach what COMMAND DOCS / COMMAND INFO show beyond the table: complexity, doc_flags,
    history, key specs (``keys``: name -> spec text or list of them, see _key_spec) and tips.

    Tips live in the server module's TIPS table; it is filled in when that module is there.
    """
    for name, attrs in docs.items():
        cmd = registry.BY_NAME[name]
        for attr, value in attrs.items():
            setattr(cmd, attr, value)
    for name, specs in keys.items():
        specs = [specs] if isinstance(specs, str) else specs
        registry.BY_NAME[name].key_specs = [_key_spec(t) for t in specs]
    if tips:
        try:
            from .introspection import TIPS
        except ImportError:  # pragma: no cover - the server module is always there
            return
        TIPS.update(tips)


# -- helpers ----------------------------------------------------------------------------------


def _hash(db, key):
    h = db.lookup(key)
    if h is not None and h.__class__ is not dict:
        raise CommandError(WRONGTYPE)
    return h


def _hash_read(db, key):
    """For read commands: Redis's lookupKeyRead counts hits/misses and fires 'keymiss'."""
    h = lookup_read(db, key)
    if h is not None and h.__class__ is not dict:
        raise CommandError(WRONGTYPE)
    return h


def _hash_for_write(db, key):
    """The hash at ``key``, created (empty, in the keyspace) when missing."""
    h = db.lookup(key)
    if h is None:
        h = {}
        db.add(key, h)
    elif h.__class__ is not dict:
        raise CommandError(WRONGTYPE)
    return h


def _notify_del(db, key) -> None:
    srv = db.server
    if NOTIFY_GENERIC & srv.notify_flags:
        srv.notify(NOTIFY_GENERIC, b"del", key, db.id)


def _random_field(h: dict):
    return next(islice(h, random.randrange(len(h)), None))


def _is_small(c, h: dict) -> bool:
    """Would Redis keep this hash as a listpack (small enough to scan in one go)?"""
    cfg = c.server.config
    if len(h) > cfg["hash-max-listpack-entries"]:
        return False
    limit = cfg["hash-max-listpack-value"]
    for f, v in h.items():
        if len(f) > limit or len(v) > limit:
            return False
    return True


# -- commands ---------------------------------------------------------------------------------


@command("hset", -4, "write denyoom fast", keys=(1, 1, 1), group="hash", since="2.0.0")
def hset(c, argv):
    """Set the string value of a hash field"""
    n = len(argv)
    if n & 1:
        raise CommandError(wrong_arity("hset"))
    db = c.db
    key = argv[1]
    h = db.lookup(key)
    if h is None:
        h = {}
        db.add(key, h)
    elif h.__class__ is not dict:
        raise CommandError(WRONGTYPE)
    before = len(h)
    if n == 4:
        h[argv[2]] = argv[3]
    else:
        for i in range(2, n, 2):
            h[argv[i]] = argv[i + 1]
    db.modified(key, b"hset", NOTIFY_HASH, (n - 2) >> 1)
    return len(h) - before


@command("hmset", -4, "write denyoom fast", keys=(1, 1, 1), group="hash", since="2.0.0")
def hmset(c, argv):
    """Set multiple hash fields to multiple values"""
    n = len(argv)
    if n & 1:
        raise CommandError(wrong_arity("hmset"))
    db = c.db
    key = argv[1]
    h = _hash_for_write(db, key)
    for i in range(2, n, 2):
        h[argv[i]] = argv[i + 1]
    db.modified(key, b"hset", NOTIFY_HASH, (n - 2) >> 1)
    return OK


@command("hsetnx", 4, "write denyoom fast", keys=(1, 1, 1), group="hash", since="2.0.0")
def hsetnx(c, argv):
    """Set the value of a hash field, only if the field does not exist"""
    db = c.db
    key = argv[1]
    h = _hash_for_write(db, key)
    if argv[2] in h:
        return 0
    h[argv[2]] = argv[3]
    db.modified(key, b"hset", NOTIFY_HASH)
    return 1


@command("hget", 3, "readonly fast", keys=(1, 1, 1), group="hash", since="2.0.0")
def hget(c, argv):
    """Get the value of a hash field"""
    h = lookup_read(c.db, argv[1])
    if h is None:
        return None
    if h.__class__ is not dict:
        raise CommandError(WRONGTYPE)
    return h.get(argv[2])


@command("hmget", -3, "readonly fast", keys=(1, 1, 1), group="hash", since="2.0.0")
def hmget(c, argv):
    """Get the values of all the given hash fields"""
    h = _hash_read(c.db, argv[1])
    if h is None:
        return [None] * (len(argv) - 2)
    get = h.get
    return [get(f) for f in argv[2:]]


@command("hdel", -3, "write fast", keys=(1, 1, 1), group="hash", since="2.0.0")
def hdel(c, argv):
    """Delete one or more hash fields"""
    db = c.db
    key = argv[1]
    h = _hash(db, key)
    if h is None:
        return 0
    deleted = 0
    for f in argv[2:]:
        if h.pop(f, None) is not None:
            deleted += 1
            if not h:
                break
    if deleted:
        if not h:
            db.delete(key)
        db.modified(key, b"hdel", NOTIFY_HASH, deleted)
        if not h:
            _notify_del(db, key)
    return deleted


@command("hlen", 2, "readonly fast", keys=(1, 1, 1), group="hash", since="2.0.0")
def hlen(c, argv):
    """Get the number of fields in a hash"""
    h = _hash_read(c.db, argv[1])
    return 0 if h is None else len(h)


@command("hstrlen", 3, "readonly fast", keys=(1, 1, 1), group="hash", since="3.2.0")
def hstrlen(c, argv):
    """Get the length of the value of a hash field"""
    h = _hash_read(c.db, argv[1])
    if h is None:
        return 0
    v = h.get(argv[2])
    return 0 if v is None else len(v)


@command("hexists", 3, "readonly fast", keys=(1, 1, 1), group="hash", since="2.0.0")
def hexists(c, argv):
    """Determine if a hash field exists"""
    h = _hash_read(c.db, argv[1])
    return 1 if h is not None and argv[2] in h else 0


@command("hgetall", 2, "readonly", keys=(1, 1, 1), group="hash", since="2.0.0")
def hgetall(c, argv):
    """Get all the fields and values in a hash"""
    h = _hash_read(c.db, argv[1])
    return {} if h is None else dict(h)


@command("hkeys", 2, "readonly", keys=(1, 1, 1), group="hash", since="2.0.0")
def hkeys(c, argv):
    """Get all the fields in a hash"""
    h = _hash_read(c.db, argv[1])
    return [] if h is None else list(h)


@command("hvals", 2, "readonly", keys=(1, 1, 1), group="hash", since="2.0.0")
def hvals(c, argv):
    """Get all the values in a hash"""
    h = _hash_read(c.db, argv[1])
    return [] if h is None else list(h.values())


@command("hincrby", 4, "write denyoom fast", keys=(1, 1, 1), group="hash", since="2.0.0")
def hincrby(c, argv):
    """Increment the integer value of a hash field by the given number"""
    incr = parse_int(argv[3])
    db = c.db
    key = argv[1]
    h = _hash_for_write(db, key)
    field = argv[2]
    old = h.get(field)
    if old is None:
        value = 0
    else:
        value = to_int(old)
        if value is None:
            raise CommandError("ERR hash value is not an integer")
    value += incr
    if not LLONG_MIN <= value <= LLONG_MAX:
        raise CommandError(OVERFLOW)
    h[field] = b"%d" % value
    db.modified(key, b"hincrby", NOTIFY_HASH)
    return value


@command("hincrbyfloat", 4, "write denyoom fast", keys=(1, 1, 1), group="hash", since="2.6.0")
def hincrbyfloat(c, argv):
    """Increment the float value of a hash field by the given amount"""
    incr = ld_parse(argv[3])
    if incr is None:
        raise CommandError(NOT_FLOAT)
    if incr.__class__ is float:
        raise CommandError("ERR value is NaN or Infinity")
    db = c.db
    key = argv[1]
    h = _hash_for_write(db, key)
    field = argv[2]
    old = h.get(field)
    if old is None:
        value = Fraction(0)
    else:
        value = ld_parse(old)
        if value is None:
            raise CommandError("ERR hash value is not a float")
    if value.__class__ is float:
        raise CommandError("ERR increment would produce NaN or Infinity")
    value = ld_round(value + incr)
    if value.__class__ is float:
        raise CommandError("ERR increment would produce NaN or Infinity")
    new = ld_human(value)
    h[field] = new
    db.modified(key, b"hincrbyfloat", NOTIFY_HASH)
    c.propagate_as = [[b"HSET", key, field, new]]
    return new


@command("hrandfield", -2, "readonly", keys=(1, 1, 1), group="hash", since="6.2.0")
def hrandfield(c, argv):
    """Get one or multiple random fields from a hash"""
    n = len(argv)
    if n == 2:
        h = _hash_read(c.db, argv[1])
        return None if h is None else _random_field(h)
    count = parse_int(argv[2])
    if count == LLONG_MIN:
        raise CommandError(
            "ERR value is out of range, value must between -9223372036854775807 and "
            "9223372036854775807"
        )
    withvalues = False
    if n > 4 or (n == 4 and argv[3].lower() != b"withvalues"):
        raise CommandError(SYNTAX)
    if n == 4:
        withvalues = True
        if not -(LLONG_MAX // 2) <= count <= LLONG_MAX // 2:
            raise CommandError("ERR value is out of range")
    h = _hash_read(c.db, argv[1])
    if h is None or count == 0:
        return []
    resp3 = c.resp == 3
    if count == 1 or count == -1:
        picks = [_random_field(h)]
    elif count < 0:
        if c.conn is not None:  # past the output limit the client is closed: stop there
            count = -min(-count, c.conn.reply_room() // 6 + 1)  # >= 6 bytes a pick
        picks = random.choices(list(h), k=-count)  # with repetitions, any order
    elif count >= len(h):
        picks = list(h)
    else:
        picks = random.sample(list(h), count)
    if not withvalues:
        return picks
    if resp3:
        return [[f, h[f]] for f in picks]
    out = []
    for f in picks:
        out.append(f)
        out.append(h[f])
    return out


@command("hscan", -3, "readonly", keys=(1, 1, 1), group="hash", since="2.8.0")
def hscan(c, argv):
    """Incrementally iterate hash fields and associated values"""
    cursor = parse_scan_cursor(argv[2])
    key = argv[1]
    h = _hash_read(c.db, key)
    if h is None:
        return [b"0", []]
    count, match = parse_scan_options(argv, 3)
    if _is_small(c, h) or len(h) <= count:
        fields = h
        cursor = 0
    else:
        cursor, fields = scan_page(c, key, h, cursor, count)
    out = []
    for f in fields:
        if match is not None and not match(f):
            continue
        v = h.get(f)
        if v is not None:
            out.append(f)
            out.append(v)
    return [b"%d" % cursor, out]

# COMMAND DOCS details Redis 7.0 gives beyond the table: complexity, deprecation, history.
_TIPS = {
    "hgetall": ("nondeterministic_output_order",),
    "hkeys": ("nondeterministic_output_order",),
    "hvals": ("nondeterministic_output_order",),
    "hrandfield": ("nondeterministic_output",),
    "hscan": ("nondeterministic_output",),
}
_KEYS = {
    "hset": "RW update", "hsetnx": "RW insert", "hmset": "RW update", "hdel": "RW delete",
    "hincrby": "RW access update", "hincrbyfloat": "RW access update",
    "hget": "RO access", "hmget": "RO access", "hgetall": "RO access", "hkeys": "RO access",
    "hvals": "RO access", "hrandfield": "RO access", "hscan": "RO access",
    "hlen": "RO", "hstrlen": "RO", "hexists": "RO",
}
document({
    "hset": {
        "complexity": "O(1) for each field/value pair added, so O(N) to add N field/value pairs when the command is called with multiple field/value pairs.",
        "history": [["4.0.0", "Accepts multiple `field` and `value` arguments."]],
    },
    "hsetnx": {"complexity": "O(1)"},
    "hget": {"complexity": "O(1)"},
    "hmget": {"complexity": "O(N) where N is the number of fields being requested."},
    "hmset": {
        "complexity": "O(N) where N is the number of fields being set.",
        "doc_flags": ["deprecated"], "deprecated_since": "4.0.0",
        "replaced_by": "`HSET` with multiple field-value pairs",
    },
    "hdel": {
        "complexity": "O(N) where N is the number of fields to be removed.",
        "history": [["2.4.0", "Accepts multiple `field` arguments."]],
    },
    "hlen": {"complexity": "O(1)"},
    "hstrlen": {"complexity": "O(1)"},
    "hexists": {"complexity": "O(1)"},
    "hgetall": {"complexity": "O(N) where N is the size of the hash."},
    "hkeys": {"complexity": "O(N) where N is the size of the hash."},
    "hvals": {"complexity": "O(N) where N is the size of the hash."},
    "hincrby": {"complexity": "O(1)"},
    "hincrbyfloat": {"complexity": "O(1)"},
    "hrandfield": {"complexity": "O(N) where N is the number of fields returned"},
    "hscan": {"complexity": "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.."},
}, _TIPS, _KEYS)

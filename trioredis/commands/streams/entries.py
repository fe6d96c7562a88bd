"""Stream commands on the entries themselves: XADD, XTRIM, XDEL, XLEN, XRANGE, XREVRANGE and
XSETID (the internal command that replicates a stream's last ID and counters).

Consumer groups are in :mod:`.groups`, XREAD/XREADGROUP in :mod:`.read`, XINFO in :mod:`.info`.
XADD ``*``/``ms-*`` propagates with the concrete ID and ``~`` trimming made exact.
"""

from __future__ import annotations

from ...datatypes.stream import LISTPACK_MAX_SIZE, MASK64, MAX_ID, Stream
from ...errors import SYNTAX, WRONGTYPE, CommandError, wrong_arity
from ...keyspace import NOTIFY_STREAM
from ...protocol.replies import NULL_ARRAY, OK
from ..args import parse_int
from ..registry import command
from .common import (
    EXHAUSTED,
    INVALID_ID,
    LIMIT_NEGATIVE,
    LIMIT_NO_STRATEGY,
    LIMIT_NO_TILDE,
    MAXLEN_MINID,
    MAXLEN_NEGATIVE,
    NO_SUCH_KEY,
    TOO_LARGE,
    XADD_EQUAL_OR_SMALLER,
    XADD_ZERO,
    XTRIM_NO_STRATEGY,
    _event,
    _id_arg,
    _interval_end,
    _interval_start,
    _must_obey,
    _next_version,
    _read_lookup,
    _ull,
    _write_lookup,
    parse_strict_id,
)

# -- XADD / XTRIM --------------------------------------------------------------------------


class _AddTrim:
    """What streamParseAddOrTrimArgsOrReply finds."""

    __slots__ = ("strategy", "approx", "maxlen", "minid", "limit", "arg_idx", "nomk",
                 "id", "id_given", "seq_given", "idpos")

    def __init__(self):
        self.strategy = 0  # 0 none, 1 MAXLEN, 2 MINID
        self.approx = False
        self.maxlen = -1
        self.minid = 0
        self.limit = 0
        self.arg_idx = 0
        self.nomk = False
        self.id = 0
        self.id_given = False
        self.seq_given = True
        self.idpos = 0


def _parse_xadd_id(b: bytes, a: _AddTrim) -> None:
    dash = b.find(b"-")
    if dash > 0 and len(b) == dash + 2 and b[-1] == 42 and len(b) <= 127:  # ms-*
        ms = _ull(b[:dash])
        if ms is None:
            raise CommandError(INVALID_ID)
        a.id = ms << 64
        a.seq_given = False
    else:
        a.id = parse_strict_id(b)
    a.id_given = True


def _parse_add_trim(c, argv: list, xadd: bool) -> _AddTrim:
    a = _AddTrim()
    n = len(argv)
    limit_given = False
    i = 2
    while i < n:
        more = n - 1 - i
        opt = argv[i]
        if xadd and opt == b"*":
            break
        lo = opt.lower()
        if (lo == b"maxlen" or lo == b"minid") and more:
            if a.strategy:
                raise CommandError(MAXLEN_MINID)
            a.approx = False
            nxt = argv[i + 1]
            if more >= 2 and nxt == b"~":
                a.approx = True
                i += 1
            elif more >= 2 and nxt == b"=":
                i += 1
            if lo == b"maxlen":
                a.maxlen = parse_int(argv[i + 1])
                if a.maxlen < 0:
                    raise CommandError(MAXLEN_NEGATIVE)
                a.strategy = 1
            else:
                a.minid = parse_strict_id(argv[i + 1])
                a.strategy = 2
            i += 1
            a.arg_idx = i
        elif lo == b"limit" and more:
            a.limit = parse_int(argv[i + 1])
            if a.limit < 0:
                raise CommandError(LIMIT_NEGATIVE)
            limit_given = True
            i += 1
        elif xadd and lo == b"nomkstream":
            a.nomk = True
        elif xadd:
            _parse_xadd_id(opt, a)
            break
        else:
            raise CommandError(SYNTAX)
        i += 1
    a.idpos = i
    if a.limit and not a.strategy:
        raise CommandError(LIMIT_NO_STRATEGY)
    if not xadd and not a.strategy:
        raise CommandError(XTRIM_NO_STRATEGY)
    if _must_obey(c):
        a.limit = 0
    elif limit_given:
        if not a.approx:
            raise CommandError(LIMIT_NO_TILDE)
    elif a.approx:
        limit = 100 * c.server.config.values["stream-node-max-entries"]
        if limit <= 0:
            limit = 10000
        a.limit = min(limit, 1000000)
    else:
        a.limit = 0
    return a


def _trim(c, s: Stream, a: _AddTrim) -> int:
    return s.trim(a.maxlen, a.minid if a.strategy == 2 else None, a.approx, a.limit)


def _rewrite_trim(prop: list, s: Stream, a: _AddTrim) -> None:
    """streamRewriteApproxSpecifier + streamRewriteTrimArgument: ``~ n`` becomes what was
    actually kept, so replicas and the AOF trim exactly the same entries."""
    prop[a.arg_idx - 1] = b"="
    if a.strategy == 1:
        prop[a.arg_idx] = b"%d" % s.length
    else:
        prop[a.arg_idx] = _id_arg(s.first_edge_id())


@command("xadd", -5, "write denyoom fast", keys=(1, 1, 1), group="stream", since="5.0.0")
def xadd(c, argv):
    """Appends a new entry to a stream"""
    key = argv[1]
    if argv[2] == b"*":  # the common case: no options
        a = None
        idpos = 2
    else:
        a = _parse_add_trim(c, argv, True)
        idpos = a.idpos
    nf = len(argv) - idpos - 1
    if nf < 2 or nf & 1:
        raise CommandError(wrong_arity("xadd"))
    if nf == 2:
        fv = (argv[idpos + 1], argv[idpos + 2])
        tot = len(fv[0]) + len(fv[1])
    else:
        fv = tuple(argv[idpos + 1:])
        tot = sum(map(len, fv))
    if a is not None and a.id_given and a.seq_given and a.id == 0:
        raise CommandError(XADD_ZERO)
    db = c.db
    srv = c.server
    s = db.data.get(key)
    if s is not None and db.expires:
        s = db.lookup(key)
    if s is None:
        if a is not None and a.nomk:
            return None
        s = Stream()
        created = True
    elif s.__class__ is not Stream:
        raise CommandError(WRONGTYPE)
    else:
        created = False
    last = s.last_id
    if last == MAX_ID:
        raise CommandError(EXHAUSTED)
    if a is None or not a.id_given:
        now = srv.frozen_ms or srv.now_ms()
        i = now << 64 if now > last >> 64 else last + 1
    elif a.seq_given:
        i = a.id
    elif last >> 64 == a.id >> 64:
        if last & MASK64 == MASK64:
            raise CommandError(XADD_EQUAL_OR_SMALLER)
        i = last + 1
    else:
        i = a.id
    if i <= last:
        raise CommandError(XADD_EQUAL_OR_SMALLER)
    if tot > LISTPACK_MAX_SIZE:
        raise CommandError(TOO_LARGE)
    cfg = srv.config.values
    s.append(i, fv, cfg["stream-node-max-bytes"], cfg["stream-node-max-entries"], tot)
    s.version = _next_version()
    if created:
        db.add(key, s)
    db.modified(key, b"xadd", NOTIFY_STREAM)
    idb = b"%d-%d" % (i >> 64, i & MASK64)
    if a is None:
        if srv.propagate_targets:
            prop = list(argv)
            prop[2] = idb
            c.propagate_as = [prop]
        return idb
    rewrite = not (a.id_given and a.seq_given)
    if a.strategy:
        if _trim(c, s, a) and NOTIFY_STREAM & srv.notify_flags:
            srv.notify(NOTIFY_STREAM, b"xtrim", key, db.id)
        if a.approx and srv.propagate_targets:
            prop = list(argv)
            _rewrite_trim(prop, s, a)
            if rewrite:
                prop[idpos] = idb
            c.propagate_as = [prop]
            return idb
    if rewrite and srv.propagate_targets:
        prop = list(argv)
        prop[idpos] = idb
        c.propagate_as = [prop]
    return idb


@command("xtrim", -4, "write", keys=(1, 1, 1), group="stream", since="5.0.0")
def xtrim(c, argv):
    """Trims the stream to (approximately if '~' is passed) a certain size"""
    a = _parse_add_trim(c, argv, False)
    key = argv[1]
    s = _write_lookup(c.db, key)
    if s is None:
        return 0
    deleted = _trim(c, s, a)
    if deleted:
        if a.approx:
            prop = list(argv)
            _rewrite_trim(prop, s, a)
            c.propagate_as = [prop]
        c.db.modified(key, b"xtrim", NOTIFY_STREAM, dirty=deleted)
    return deleted


# -- XDEL / XLEN / XRANGE ------------------------------------------------------------------


@command("xdel", -3, "write fast", keys=(1, 1, 1), group="stream", since="5.0.0")
def xdel(c, argv):
    """Removes the specified entries from the stream."""
    key = argv[1]
    s = _write_lookup(c.db, key)
    if s is None:
        return 0
    ids = [parse_strict_id(b) for b in argv[2:]]
    deleted = 0
    first_entry = False
    for i in ids:
        if s.delete(i):
            if i == s.first_id:
                first_entry = True
            if i > s.max_deleted_id:
                s.max_deleted_id = i
            deleted += 1
    if deleted:
        if s.length == 0:
            s.first_id = 0
        elif first_entry:
            s.first_id = s.first_valid_id()
        c.db.modified(key, b"xdel", NOTIFY_STREAM, dirty=deleted)
    return deleted


@command("xlen", 2, "readonly fast", keys=(1, 1, 1), group="stream", since="5.0.0")
def xlen(c, argv):
    """Return the number of entries in a stream"""
    s = _read_lookup(c.db, argv[1])
    return s.length if s is not None else 0


def _range(c, argv, rev: bool):
    if rev:
        end = _interval_end(argv[2])
        start = _interval_start(argv[3])
    else:
        start = _interval_start(argv[2])
        end = _interval_end(argv[3])
    count = -1
    n = len(argv)
    j = 4
    while j < n:
        if argv[j].lower() == b"count" and j + 1 < n:
            count = parse_int(argv[j + 1])
            if count < 0:
                count = 0
            j += 2
        else:
            raise CommandError(SYNTAX)
    s = _read_lookup(c.db, argv[1])
    if s is None:
        return []
    if count == 0:
        return NULL_ARRAY
    return s.range(start, end, max(count, 0), rev)


@command("xrange", -4, "readonly", keys=(1, 1, 1), group="stream", since="5.0.0")
def xrange(c, argv):
    """Return a range of elements in a stream, with IDs matching the specified IDs interval"""
    return _range(c, argv, False)


@command("xrevrange", -4, "readonly", keys=(1, 1, 1), group="stream", since="5.0.0")
def xrevrange(c, argv):
    """Return a range of elements in a stream, in reverse order"""
    return _range(c, argv, True)


# -- XSETID --------------------------------------------------------------------------------


@command("xsetid", -3, "write denyoom fast", keys=(1, 1, 1), group="stream", since="5.0.0")
def xsetid(c, argv):
    """An internal command for replicating stream values"""
    key = argv[1]
    i = parse_strict_id(argv[2])
    entries_added = -1
    max_xdel = 0
    n = len(argv)
    j = 3
    while j < n:
        more = n - 1 - j
        opt = argv[j].lower()
        if opt == b"entriesadded" and more:
            entries_added = parse_int(argv[j + 1])
            if entries_added < 0:
                raise CommandError("ERR entries_added must be positive")
            j += 2
        elif opt == b"maxdeletedid" and more:
            max_xdel = parse_strict_id(argv[j + 1])
            if i < max_xdel:
                raise CommandError(
                    "ERR The ID specified in XSETID is smaller than the provided "
                    "max_deleted_entry_id"
                )
            j += 2
        else:
            raise CommandError(SYNTAX)
    s = _write_lookup(c.db, key)
    if s is None:
        raise CommandError(NO_SUCH_KEY)
    if s.length:
        if i < s.last_valid_id():
            raise CommandError(
                "ERR The ID specified in XSETID is smaller than the target stream top item"
            )
        if entries_added != -1 and s.length > entries_added:
            raise CommandError(
                "ERR The entries_added specified in XSETID is smaller than the target stream "
                "length"
            )
    s.last_id = i
    if entries_added != -1:
        s.entries_added = entries_added
    if max_xdel:
        s.max_deleted_id = max_xdel
    _event(c, key, b"xsetid")
    return OK

"""Stream commands: XADD, XTRIM, XDEL, XLEN, XRANGE, XREVRANGE, XREAD, XREADGROUP, XACK,
XPENDING, XCLAIM, XAUTOCLAIM, XSETID, XGROUP and XINFO, as Redis 7.0.15 answers them.

The value class is :class:`~trioredis.datatypes.stream.Stream`. What Redis keeps implicit is
explicit here:

- Only XADD, XDEL, XTRIM and XGROUP CREATE MKSTREAM touch WATCHed keys (signalModifiedKey);
  the other writes count as changes (dirty, keyspace event) without it, as in Redis.
- Blocked XREAD/XREADGROUP clients are re-run by the core when a key they wait on changes.
  Redis wakes them only on XADD, a new or deleted key, and XGROUP DESTROY; the retry argv
  (:class:`_Retry`) remembers the stream version per key so other changes (XDEL, XSETID...)
  wake nobody. ``$`` is resolved before blocking.
- XREADGROUP, XCLAIM and XAUTOCLAIM propagate as Redis does: an ``XCLAIM ... FORCE JUSTID
  LASTID`` per delivered entry, ``XGROUP SETID ... ENTRIESREAD`` and ``XGROUP CREATECONSUMER``
  where needed; XADD ``*``/``ms-*`` with the concrete ID and ``~`` trimming made exact.
"""

from __future__ import annotations

import itertools

from ..datatypes.stream import (
    INVALID_ENTRIES_READ,
    LISTPACK_MAX_SIZE,
    MASK64,
    MAX_ID,
    Nack,
    Stream,
    fmt_id,
)
from ..errors import SYNTAX, WRONGTYPE, CommandError, wrong_arity
from ..keyspace import NOTIFY_STREAM
from ..protocol.encoder import encode3
from ..protocol.replies import NULL_ARRAY, OK, Raw, SetReply
from . import registry
from .args import LLONG_MAX, parse_int, to_int
from .keys import lookup_read
from .registry import command

INVALID_ID = "ERR Invalid stream ID specified as stream command argument"
XADD_EQUAL_OR_SMALLER = (
    "ERR The ID specified in XADD is equal or smaller than the target stream top item"
)
XADD_ZERO = "ERR The ID specified in XADD must be greater than 0-0"
EXHAUSTED = "ERR The stream has exhausted the last possible ID, unable to add more items"
TOO_LARGE = "ERR Elements are too large to be stored"
MAXLEN_MINID = "ERR syntax error, MAXLEN and MINID options at the same time are not compatible"
LIMIT_NO_STRATEGY = (
    "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy"
)
LIMIT_NO_TILDE = "ERR syntax error, LIMIT cannot be used without the special ~ option"
XTRIM_NO_STRATEGY = "ERR syntax error, XTRIM must be called with a trimming strategy"
MAXLEN_NEGATIVE = "ERR The MAXLEN argument must be >= 0."
LIMIT_NEGATIVE = "ERR The LIMIT argument must be >= 0."
BAD_START = "ERR invalid start ID for the interval"
BAD_END = "ERR invalid end ID for the interval"
UNBALANCED = (
    "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified."
)
NO_SUCH_KEY = "ERR no such key"
KEY_REQUIRED = (
    "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want "
    "to use the MKSTREAM option to create an empty stream automatically."
)
BUSYGROUP = "BUSYGROUP Consumer Group name already exists"
ENTRIESREAD_RANGE = "ERR value for ENTRIESREAD must be positive or -1"
UNBLOCKED_DELETED = "UNBLOCKED the stream key no longer exists"
NOGROUP_BLOCKED = "NOGROUP the consumer group this client was blocked on no longer exists"
XREAD_BLOCKED_DEFAULT_COUNT = 1000


def _nogroup_key(key: bytes, group: bytes, suffix: str = "") -> str:
    return f"NOGROUP No such key '{_t(key)}' or consumer group '{_t(group)}'{suffix}"


def _nogroup_name(group: bytes, key: bytes) -> str:
    return f"NOGROUP No such consumer group '{_t(group)}' for key name '{_t(key)}'"


def _subcommand_syntax(argv) -> CommandError:
    container = argv[0].decode("utf-8", "replace").upper()
    return CommandError(
        f"ERR unknown subcommand or wrong number of arguments for '{_t(argv[1])[:128]}'. "
        f"Try {container} HELP."
    )


def _t(b: bytes) -> str:
    return b.decode("utf-8", "replace")


# -- IDs -----------------------------------------------------------------------------------


def _ull(b: bytes):
    """Redis's string2ull: string2ll for canonical numbers, else strtoull's leniency
    (leading spaces, a sign, leading zeros). None when invalid."""
    v = to_int(b)
    if v is not None:
        return v if v >= 0 else None
    s = b.lstrip(b" \t\n\v\f\r")
    neg = False
    if s[:1] in (b"+", b"-"):
        neg = s[:1] == b"-"
        s = s[1:]
    if not s or not s.isdigit():
        return None
    v = int(s)
    if v > MASK64:
        return None
    return (-v) & MASK64 if neg else v


def _parse(b: bytes, missing_seq: int, strict: bool):
    """streamGenericParseIDOrReply: the ID, or None if invalid."""
    if len(b) > 127:
        return None
    if b"\0" in b:
        b = b.split(b"\0", 1)[0]
    if len(b) == 1:
        if b == b"-":
            return None if strict else 0
        if b == b"+":
            return None if strict else MAX_ID
    dash = b.find(b"-")
    if dash < 0:
        ms = _ull(b)
        if ms is None:
            return None
        return ms << 64 | missing_seq
    ms = _ull(b[:dash])
    seq = _ull(b[dash + 1:])
    if ms is None or seq is None:
        return None
    return ms << 64 | seq


def parse_id(b: bytes, missing_seq: int = 0) -> int:
    """A stream ID where ``-`` and ``+`` are allowed (streamParseIDOrReply)."""
    i = _parse(b, missing_seq, False)
    if i is None:
        raise CommandError(INVALID_ID)
    return i


def parse_strict_id(b: bytes, missing_seq: int = 0) -> int:
    """A stream ID where ``-`` and ``+`` are not (streamParseStrictIDOrReply)."""
    i = _parse(b, missing_seq, True)
    if i is None:
        raise CommandError(INVALID_ID)
    return i


def _interval_start(b: bytes) -> int:
    """A range start: ``-``, an ID, or ``(ID`` (exclusive)."""
    if len(b) > 1 and b[0] == 40:  # (
        i = parse_strict_id(b[1:], 0)
        if i == MAX_ID:
            raise CommandError(BAD_START)
        return i + 1
    return parse_id(b, 0)


def _interval_end(b: bytes) -> int:
    """A range end: ``+``, an ID (sequence defaults to the maximum), or ``(ID``."""
    if len(b) > 1 and b[0] == 40:
        i = parse_strict_id(b[1:], MASK64)
        if i == 0:
            raise CommandError(BAD_END)
        return i - 1
    return parse_id(b, MASK64)


def _id_arg(i: int) -> bytes:
    return b"%d-%d" % (i >> 64, i & MASK64)


# -- shared lookups ------------------------------------------------------------------------


def _write_lookup(db, key: bytes):
    """lookupKeyWrite + checkType: the stream or None."""
    v = db.lookup(key)
    if v is not None and v.__class__ is not Stream:
        raise CommandError(WRONGTYPE)
    return v


def _read_lookup(db, key: bytes):
    """lookupKeyRead + checkType: the stream or None (counts hits and misses)."""
    v = lookup_read(db, key)
    if v is not None and v.__class__ is not Stream:
        raise CommandError(WRONGTYPE)
    return v


def _event(c, key: bytes, event: bytes, dirty: int = 1) -> None:
    """A change Redis does not signal to WATCH: dirty and the keyspace event only."""
    srv = c.server
    srv.dirty += dirty
    if NOTIFY_STREAM & srv.notify_flags:
        srv.notify(NOTIFY_STREAM, event, key, c.db.id)


def _must_obey(c) -> bool:
    """Commands from our master or the AOF are applied as they are (no LIMIT default)."""
    return c.is_master or c.server.loading


def _pairs_reply(c, items: list):
    """XREAD's reply: an array of [key, entries] (RESP2) or a map (RESP3)."""
    if c.resp != 3:
        return items
    keys = {k for k, _ in items}
    if len(keys) == len(items):
        return {k: v for k, v in items}
    return Raw(b"%%%d\r\n" % len(items) + b"".join(encode3(k) + encode3(v) for k, v in items))


def _wrap(prop: list, srv) -> list:
    """Several commands propagated by one are sent as a transaction, as Redis 7.0 does."""
    if len(prop) > 1 and srv.prop_buffer is None:
        return [[b"MULTI"], *prop, [b"EXEC"]]
    return prop


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


# -- XREAD / XREADGROUP --------------------------------------------------------------------

# A stream's version changes where Redis would wake the clients blocked on it; numbers are
# never reused, so a new stream under the same key is told from the old one.
_next_version = itertools.count(1).__next__


def _signal(v) -> int:
    if v is None:
        return -1
    if v.__class__ is Stream:
        if not v.version:
            v.version = _next_version()
        return v.version
    return -2


class _Retry(list):
    """The argv a blocked XREAD/XREADGROUP re-runs ($ resolved), with the version of each of
    its streams when last looked at."""

    __slots__ = ("state",)


class _ReadArgs:
    __slots__ = ("timeout", "count", "streams_arg", "nkeys", "noack", "group", "consumer")


def _parse_read(argv: list, xreadgroup: bool) -> _ReadArgs:
    r = _ReadArgs()
    r.timeout = -1
    r.count = 0
    r.streams_arg = 0
    r.nkeys = 0
    r.noack = False
    r.group = None
    r.consumer = None
    n = len(argv)
    i = 1
    while i < n:
        more = n - i - 1
        o = argv[i].lower()
        if o == b"block" and more:
            i += 1
            t = parse_int(argv[i], "ERR timeout is not an integer or out of range")
            if t < 0:
                raise CommandError("ERR timeout is negative")
            r.timeout = t
        elif o == b"count" and more:
            i += 1
            r.count = max(parse_int(argv[i]), 0)
        elif o == b"streams" and more:
            r.streams_arg = i + 1
            nk = n - r.streams_arg
            if nk % 2:
                raise CommandError(UNBALANCED)
            r.nkeys = nk // 2
            break
        elif o == b"group" and more >= 2:
            if not xreadgroup:
                raise CommandError(
                    "ERR The GROUP option is only supported by XREADGROUP. You called XREAD "
                    "instead."
                )
            r.group = argv[i + 1]
            r.consumer = argv[i + 2]
            i += 2
        elif o == b"noack":
            if not xreadgroup:
                raise CommandError(
                    "ERR The NOACK option is only supported by XREADGROUP. You called XREAD "
                    "instead."
                )
            r.noack = True
        else:
            raise CommandError(SYNTAX)
        i += 1
    if not r.streams_arg:
        raise CommandError(SYNTAX)
    if xreadgroup and r.group is None:
        raise CommandError("ERR Missing GROUP option for XREADGROUP")
    return r


def _consumer(c, s: Stream, g, name: bytes, key: bytes, noack: bool, prop: list):
    """streamLookupConsumer (refreshing seen-time) or streamCreateConsumer."""
    now = c.server.now_ms()
    cons = g.consumers.get(name)
    if cons is None:
        cons = g.create_consumer(name, now)
        _event(c, key, b"xgroup-createconsumer")
        if noack and prop is not None:
            prop.append([b"XGROUP", b"CREATECONSUMER", key, g.name, name])
    cons.seen_time = now
    return cons


def _xclaim_argv(key: bytes, g, idarg: bytes, nack: Nack) -> list:
    """streamPropagateXCLAIM: the idempotent XCLAIM that recreates a PEL entry elsewhere."""
    return [b"XCLAIM", key, g.name, nack.consumer.name, b"0", idarg, b"TIME",
            b"%d" % nack.delivery_time, b"RETRYCOUNT", b"%d" % nack.delivery_count,
            b"FORCE", b"JUSTID", b"LASTID", _id_arg(g.last_id)]


def _setid_argv(key: bytes, g) -> list:
    """streamPropagateGroupID."""
    return [b"XGROUP", b"SETID", key, g.name, _id_arg(g.last_id), b"ENTRIESREAD",
            b"%d" % g.entries_read]


def _group_read(c, s: Stream, g, cons, key: bytes, start: int, count: int, noack: bool,
                prop: list) -> list:
    """streamReplyWithRange with a group: new entries from ``start``, moving the group's last
    ID and read counter, adding PEL entries, propagating each delivery as XCLAIM."""
    now = c.server.now_ms()
    out = []
    propagate_last_id = False
    gpel = g.pel
    for i, fv in s.iter_from(start):
        if i > g.last_id:
            if g.entries_read != INVALID_ENTRIES_READ and not s.range_has_tombstones(i):
                g.entries_read += 1
            elif s.entries_added:
                g.entries_read = s.estimate_distance(i)
            g.last_id = i
            if noack:
                propagate_last_id = True
        idb = b"%d-%d" % (i >> 64, i & MASK64)
        out.append([idb, fv])
        if not noack:
            nack = gpel.get(i)
            if nack is None:
                nack = gpel[i] = Nack(cons, now, 1)
                cons.pel[i] = nack
            else:
                del nack.consumer.pel[i]
                nack.consumer = cons
                nack.delivery_time = now
                nack.delivery_count = 1
                cons.pel[i] = nack
            if prop is not None:
                prop.append(_xclaim_argv(key, g, idb, nack))
        if len(out) == count:
            break
    if propagate_last_id and prop is not None:
        prop.append(_setid_argv(key, g))
    return out


def _history(c, s: Stream, cons, start: int, count: int) -> list:
    """streamReplyWithRangeFromConsumerPEL: this consumer's pending entries from ``start``; a
    deleted entry comes back as [id, nil]."""
    now = c.server.now_ms()
    out = []
    for i in cons.pel.irange(minimum=start):
        if count and len(out) >= count:
            break
        fv = s.get(i)
        idb = b"%d-%d" % (i >> 64, i & MASK64)
        if fv is None:
            out.append([idb, NULL_ARRAY])
        else:
            out.append([idb, fv])
            nack = cons.pel[i]
            nack.delivery_time = now
            nack.delivery_count += 1
    return out


def _xread(c, argv: list, xreadgroup: bool):
    r = _parse_read(argv, xreadgroup)
    if c.retrying and argv.__class__ is _Retry:
        return _serve_blocked(c, argv, r, xreadgroup)
    db = c.db
    srv = c.server
    sa = r.streams_arg
    nk = r.nkeys
    gname = r.group
    streams = []
    groups = []
    ids = []
    for j in range(nk):
        key = argv[sa + j]
        s = lookup_read(db, key)
        if s is not None and s.__class__ is not Stream:
            raise CommandError(WRONGTYPE)
        g = None
        if gname is not None:
            if s is None or (g := s.group(gname)) is None:
                raise CommandError(_nogroup_key(key, gname, " in XREADGROUP with GROUP option"))
        streams.append(s)
        groups.append(g)
        arg = argv[sa + nk + j]
        if arg == b"$":
            if xreadgroup:
                raise CommandError(
                    "ERR The $ ID is meaningless in the context of XREADGROUP: you want to read "
                    "the history of this consumer by specifying a proper ID, or use the > ID to "
                    "get new messages. The $ ID would just return an empty result set."
                )
            ids.append(s.last_id if s is not None else 0)
        elif arg == b">":
            if not xreadgroup:
                raise CommandError(
                    "ERR The > ID can be specified only when calling XREADGROUP using the GROUP "
                    "<group> <consumer> option."
                )
            ids.append(MAX_ID)
        else:
            ids.append(parse_strict_id(arg))
    out = []
    # What XREADGROUP propagates (XCLAIM, XGROUP SETID/CREATECONSUMER), if anyone listens.
    prop = [] if xreadgroup and srv.propagate_targets else None
    for j in range(nk):
        s = streams[j]
        if s is None:
            continue
        gt = ids[j]
        history = False
        if xreadgroup:
            if gt != MAX_ID:
                history = True
            elif s.length and s.last_valid_id() > groups[j].last_id:
                gt = groups[j].last_id
            else:
                continue
        elif not (s.length and s.last_valid_id() > gt):
            continue
        key = argv[sa + j]
        if xreadgroup:
            g = groups[j]
            cons = _consumer(c, s, g, r.consumer, key, r.noack, prop)
            if history:
                entries = _history(c, s, cons, gt + 1, r.count)
            else:
                entries = _group_read(c, s, g, cons, key, gt + 1, r.count, r.noack, prop)
            srv.dirty += 1
        else:
            entries = s.range(gt + 1, MAX_ID, r.count)
        out.append([key, entries])
    if xreadgroup:
        c.propagate_as = _wrap(prop, srv) if prop is not None else []
    if out:
        return _pairs_reply(c, out)
    if r.timeout == -1:
        return NULL_ARRAY
    retry = _Retry(argv)
    if not xreadgroup:
        for j in range(nk):
            if argv[sa + nk + j] == b"$":
                retry[sa + nk + j] = _id_arg(ids[j])
    retry.state = [_signal(s) for s in streams]
    keys = argv[sa:sa + nk]
    return srv.block(c, keys, r.timeout / 1000.0, NULL_ARRAY, argv=retry)


def _serve_blocked(c, argv: _Retry, r: _ReadArgs, xreadgroup: bool):
    """A key this client waits on changed: serve it as serveClientsBlockedOnStreamKey does,
    from the first of its streams that Redis would have signalled and that has new entries."""
    db = c.db
    srv = c.server
    sa = r.streams_arg
    nk = r.nkeys
    state = argv.state
    count = r.count or XREAD_BLOCKED_DEFAULT_COUNT
    keys = argv[sa:sa + nk]
    ready = getattr(srv, "serving_key", None)
    if ready is not None and ready in keys:
        order = (keys.index(ready),)  # Redis serves from the key that became ready
    else:
        order = range(nk)
    for j in order:
        key = keys[j]
        s = db.lookup(key)
        sig = _signal(s)
        if sig == state[j]:
            continue
        state[j] = sig
        if xreadgroup:
            if s is None or s.__class__ is not Stream:
                raise CommandError(UNBLOCKED_DELETED)
            g = s.group(r.group)
            if g is None:
                raise CommandError(NOGROUP_BLOCKED)
            if s.last_id <= g.last_id:
                continue
            prop = [] if srv.propagate_targets else None
            cons = _consumer(c, s, g, r.consumer, key, r.noack, prop)
            entries = _group_read(c, s, g, cons, key, g.last_id + 1, count, r.noack, prop)
            srv.dirty += 1
            c.propagate_as = _wrap(prop, srv) if prop is not None else []
            return _pairs_reply(c, [[key, entries]])
        if s is None or s.__class__ is not Stream:
            continue
        gt = parse_strict_id(argv[sa + nk + j])
        if s.last_id > gt:
            return _pairs_reply(c, [[key, s.range(gt + 1, MAX_ID, count)]])
    return srv.block(c, [], 0, NULL_ARRAY)


@command("xread", -4, "readonly blocking", group="stream", since="5.0.0",
         getkeys=registry.keys_after_token(b"STREAMS"))
def xread(c, argv):
    """Return never seen elements in multiple streams, with IDs greater than the ones
    reported by the caller for each stream. Can block."""
    return _xread(c, argv, False)


@command("xreadgroup", -7, "write blocking", group="stream", since="5.0.0",
         getkeys=registry.keys_after_token(b"STREAMS"))
def xreadgroup(c, argv):
    """Return new entries from a stream using a consumer group, or access the history of the
    pending entries for a given consumer. Can block."""
    return _xread(c, argv, True)


# -- XACK / XPENDING / XCLAIM / XAUTOCLAIM -------------------------------------------------


@command("xack", -4, "write fast", keys=(1, 1, 1), group="stream", since="5.0.0")
def xack(c, argv):
    """Marks a pending message as correctly processed."""
    s = _read_lookup(c.db, argv[1])
    g = s.group(argv[2]) if s is not None else None
    if g is None:
        return 0
    ids = [parse_strict_id(b) for b in argv[3:]]
    acked = 0
    for i in ids:
        if g.ack(i):
            acked += 1
    if acked:
        c.server.dirty += acked
    return acked


@command("xpending", -3, "readonly", keys=(1, 1, 1), group="stream", since="5.0.0")
def xpending(c, argv):
    """Return information and entries from a stream consumer group pending entries list."""
    n = len(argv)
    key = argv[1]
    gname = argv[2]
    if n != 3 and not 6 <= n <= 9:
        raise CommandError(SYNTAX)
    minidle = 0
    consumer_name = None
    if n >= 6:
        sidx = 3
        if argv[3].lower() == b"idle":
            minidle = parse_int(argv[4])
            if n < 8:
                raise CommandError(SYNTAX)
            sidx += 2
        count = max(parse_int(argv[sidx + 2]), 0)
        start = _interval_start(argv[sidx])
        end = _interval_end(argv[sidx + 1])
        if sidx + 3 < n:
            consumer_name = argv[sidx + 3]
    s = _read_lookup(c.db, key)
    g = s.group(gname) if s is not None else None
    if g is None:
        raise CommandError(_nogroup_key(key, gname))
    if n == 3:
        pel = g.pel
        if not pel:
            return [0, None, None, NULL_ARRAY]
        owners = [[cons.name, b"%d" % len(cons.pel)] for cons in g.sorted_consumers()
                  if cons.pel]
        return [len(pel), _id_arg(pel.peekitem(0)[0]), _id_arg(pel.peekitem(-1)[0]), owners]
    if consumer_name is not None:
        cons = g.consumers.get(consumer_name)
        if cons is None:
            return []
        pel = cons.pel
    else:
        pel = g.pel
    now = c.server.now_ms()
    out = []
    if not count:
        return out
    for i in pel.irange(start, end):
        nack = pel[i]
        idle = now - nack.delivery_time
        if minidle and idle < minidle:
            continue
        out.append([_id_arg(i), nack.consumer.name, max(idle, 0), nack.delivery_count])
        if len(out) == count:
            break
    return out


def _claim_consumer(c, g, name: bytes, key: bytes):
    cons = g.consumers.get(name)
    now = c.server.now_ms()
    if cons is None:
        cons = g.create_consumer(name, now)
        _event(c, key, b"xgroup-createconsumer")
    else:
        cons.seen_time = now
    return cons


def _claim(nack: Nack, cons, i: int, delivery_time: int) -> None:
    if nack.consumer is not cons:
        if nack.consumer is not None:
            del nack.consumer.pel[i]
        cons.pel[i] = nack
        nack.consumer = cons
    nack.delivery_time = delivery_time


@command("xclaim", -6, "write fast", keys=(1, 1, 1), group="stream", since="5.0.0")
def xclaim(c, argv):
    """Changes (or acquires) ownership of a message in a consumer group, as if the message was
    delivered to the specified consumer."""
    key = argv[1]
    gname = argv[2]
    s = _read_lookup(c.db, key)
    g = s.group(gname) if s is not None else None
    if g is None:
        raise CommandError(_nogroup_key(key, gname))
    minidle = max(parse_int(argv[4], "ERR Invalid min-idle-time argument for XCLAIM"), 0)
    n = len(argv)
    j = 5
    while j < n and _parse(argv[j], 0, True) is not None:
        j += 1
    last_id_arg = j - 1
    srv = c.server
    now = srv.now_ms()
    delivery = -1
    retrycount = -1
    force = justid = False
    last_id = 0
    while j < n:
        more = n - 1 - j
        opt = argv[j].lower()
        if opt == b"force":
            force = True
        elif opt == b"justid":
            justid = True
        elif opt == b"idle" and more:
            j += 1
            delivery = now - parse_int(argv[j], "ERR Invalid IDLE option argument for XCLAIM")
        elif opt == b"time" and more:
            j += 1
            delivery = parse_int(argv[j], "ERR Invalid TIME option argument for XCLAIM")
        elif opt == b"retrycount" and more:
            j += 1
            retrycount = parse_int(argv[j], "ERR Invalid RETRYCOUNT option argument for XCLAIM")
        elif opt == b"lastid" and more:
            j += 1
            last_id = parse_strict_id(argv[j])
        else:
            raise CommandError(f"ERR Unrecognized XCLAIM option '{_t(argv[j])}'")
        j += 1
    propagate_last_id = False
    if last_id > g.last_id:
        g.last_id = last_id
        propagate_last_id = True
    if delivery == -1 or delivery < 0 or delivery > now:
        delivery = now
    cons = None
    out = []
    prop = []
    dirty = 0
    name = argv[3]
    for k in range(5, last_id_arg + 1):
        idarg = argv[k]
        i = parse_strict_id(idarg)
        nack = g.pel.get(i)
        fv = s.get(i)
        if fv is None:
            if nack is not None:
                prop.append(_xclaim_argv(key, g, idarg, nack))
                propagate_last_id = False
                dirty += 1
                g.ack(i)
            continue
        if force and nack is None:
            nack = g.pel[i] = Nack(None, now, 1)
        if nack is None:
            continue
        if nack.consumer is not None and minidle and now - nack.delivery_time < minidle:
            continue
        if cons is None:
            cons = _claim_consumer(c, g, name, key)
        _claim(nack, cons, i, delivery)
        if retrycount >= 0:
            nack.delivery_count = retrycount
        elif not justid:
            nack.delivery_count += 1
        out.append(_id_arg(i) if justid else [_id_arg(i), fv])
        prop.append(_xclaim_argv(key, g, idarg, nack))
        propagate_last_id = False
        dirty += 1
    if propagate_last_id:
        prop.append(_setid_argv(key, g))
        dirty += 1
    srv.dirty += dirty
    c.propagate_as = _wrap(prop, srv)
    return out


@command("xautoclaim", -6, "write fast", keys=(1, 1, 1), group="stream", since="6.2.0")
def xautoclaim(c, argv):
    """Changes (or acquires) ownership of messages in a consumer group, as if the messages were
    delivered to the specified consumer."""
    key = argv[1]
    gname = argv[2]
    minidle = max(parse_int(argv[4], "ERR Invalid min-idle-time argument for XAUTOCLAIM"), 0)
    start = _interval_start(argv[5])
    count = 100
    justid = False
    n = len(argv)
    j = 6
    max_count = LLONG_MAX // 16
    while j < n:
        more = n - 1 - j
        opt = argv[j].lower()
        if opt == b"count" and more:
            count = to_int(argv[j + 1])
            if count is None or not 1 <= count <= max_count:
                raise CommandError("ERR COUNT must be > 0")
            j += 1
        elif opt == b"justid":
            justid = True
        else:
            raise CommandError(SYNTAX)
        j += 1
    s = _read_lookup(c.db, key)
    g = s.group(gname) if s is not None else None
    if g is None:
        raise CommandError(_nogroup_key(key, gname))
    srv = c.server
    now = srv.now_ms()
    attempts = count * 10
    pel = g.pel
    pos = pel.bisect_left(start)
    cons = None
    name = argv[3]
    claimed = []
    deleted = []
    prop = []
    while attempts > 0 and count > 0 and pos < len(pel):
        attempts -= 1
        i, nack = pel.peekitem(pos)
        fv = s.get(i)
        idb = _id_arg(i)
        if fv is None:
            prop.append(_xclaim_argv(key, g, idb, nack))
            srv.dirty += 1
            g.ack(i)
            deleted.append(idb)
            count -= 1
            continue
        if minidle and now - nack.delivery_time < minidle:
            pos += 1
            continue
        if cons is None:
            cons = _claim_consumer(c, g, name, key)
        _claim(nack, cons, i, now)
        if not justid:
            nack.delivery_count += 1
        claimed.append(idb if justid else [idb, fv])
        count -= 1
        pos += 1
        prop.append(_xclaim_argv(key, g, idb, nack))
        srv.dirty += 1
    cursor = _id_arg(pel.peekitem(pos)[0]) if pos < len(pel) else b"0-0"
    c.propagate_as = _wrap(prop, srv)
    return [cursor, claimed, deleted]


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


# -- XGROUP --------------------------------------------------------------------------------

registry.container("xgroup", group="stream", since="5.0.0",
                   summary="A container for consumer groups commands")
registry.container("xinfo", group="stream", since="5.0.0",
                   summary="A container for stream introspection commands")


def _xgroup_options(argv: list, allow_mkstream: bool):
    """The options after ``<key> <group> <id>``: (mkstream, entries_read)."""
    mkstream = False
    entries_read = INVALID_ENTRIES_READ
    n = len(argv)
    i = 5
    while i < n:
        more = n - 1 - i
        opt = argv[i].lower()
        if allow_mkstream and opt == b"mkstream":
            mkstream = True
            i += 1
        elif opt == b"entriesread" and more:
            entries_read = parse_int(argv[i + 1])
            if entries_read < 0 and entries_read != INVALID_ENTRIES_READ:
                raise CommandError(ENTRIESREAD_RANGE)
            i += 2
        else:
            raise _subcommand_syntax(argv)
    return mkstream, entries_read


def _xgroup_target(c, argv: list, mkstream: bool = False, need_group: bool = True):
    """The checks xgroupCommand makes for every subcommand: the key must exist (but for CREATE
    with MKSTREAM), and the group too for SETID, CREATECONSUMER and DELCONSUMER."""
    key = argv[2]
    s = _write_lookup(c.db, key)
    g = None
    if not mkstream:
        if s is None:
            raise CommandError(KEY_REQUIRED)
        g = s.group(argv[3])
        if g is None and need_group:
            raise CommandError(_nogroup_name(argv[3], key))
    return s, g


@command("xgroup|create", -5, "write denyoom", keys=(2, 2, 1), group="stream", since="5.0.0")
def xgroup_create(c, argv):
    """Create a consumer group."""
    mkstream, entries_read = _xgroup_options(argv, True)
    s, _ = _xgroup_target(c, argv, mkstream, need_group=False)
    if len(argv) > 8:
        raise _subcommand_syntax(argv)
    key = argv[2]
    if argv[4] == b"$":
        i = s.last_id if s is not None else 0
    else:
        i = parse_strict_id(argv[4])
    db = c.db
    if s is None:
        s = Stream()
        db.add(key, s)
        if s.create_group(argv[3], i, entries_read) is None:  # pragma: no cover
            raise CommandError(BUSYGROUP)
        db.modified(key, b"xgroup-create", NOTIFY_STREAM)
        return OK
    if s.create_group(argv[3], i, entries_read) is None:
        raise CommandError(BUSYGROUP)
    _event(c, key, b"xgroup-create")
    return OK


@command("xgroup|setid", -5, "write", keys=(2, 2, 1), group="stream", since="5.0.0")
def xgroup_setid(c, argv):
    """Set a consumer group to an arbitrary last delivered ID value."""
    _, entries_read = _xgroup_options(argv, False)
    s, g = _xgroup_target(c, argv)
    if len(argv) not in (5, 7):
        raise _subcommand_syntax(argv)
    g.last_id = s.last_id if argv[4] == b"$" else parse_id(argv[4])
    g.entries_read = entries_read
    _event(c, argv[2], b"xgroup-setid")
    return OK


@command("xgroup|destroy", 4, "write", keys=(2, 2, 1), group="stream", since="5.0.0")
def xgroup_destroy(c, argv):
    """Destroy a consumer group."""
    s, g = _xgroup_target(c, argv, need_group=False)
    if g is None:
        return 0
    key = argv[2]
    del s.groups[argv[3]]
    _event(c, key, b"xgroup-destroy")
    # Wake the XREADGROUP clients blocked on it (they get -NOGROUP), as signalKeyAsReady.
    s.version = _next_version()
    db = c.db
    if db.blocking and key in db.blocking:
        c.server.ready_keys.append((db, key))
    return 1


@command("xgroup|createconsumer", 5, "write denyoom", keys=(2, 2, 1), group="stream",
         since="6.2.0")
def xgroup_createconsumer(c, argv):
    """Create a consumer in a consumer group."""
    _, g = _xgroup_target(c, argv)
    if g.create_consumer(argv[4], c.server.now_ms()) is None:
        return 0
    _event(c, argv[2], b"xgroup-createconsumer")
    return 1


@command("xgroup|delconsumer", 5, "write", keys=(2, 2, 1), group="stream", since="5.0.0")
def xgroup_delconsumer(c, argv):
    """Delete a consumer from a consumer group."""
    _, g = _xgroup_target(c, argv)
    cons = g.consumers.get(argv[4])
    if cons is None:
        return 0
    pending = len(cons.pel)
    g.delete_consumer(cons)
    _event(c, argv[2], b"xgroup-delconsumer")
    return pending


XGROUP_HELP = [
    "XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CREATE <key> <groupname> <id|$> [option]",
    "    Create a new consumer group. Options are:",
    "    * MKSTREAM",
    "      Create the empty stream if it does not exist.",
    "    * ENTRIESREAD entries_read",
    "      Set the group's entries_read counter (internal use).",
    "CREATECONSUMER <key> <groupname> <consumer>",
    "    Create a new consumer in the specified group.",
    "DELCONSUMER <key> <groupname> <consumer>",
    "    Remove the specified consumer.",
    "DESTROY <key> <groupname>",
    "    Remove the specified group.",
    "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
    "    Set the current group ID and entries_read counter.",
    "HELP",
    "    Prints this help.",
]

XINFO_HELP = [
    "XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CONSUMERS <key> <groupname>",
    "    Show consumers of <groupname>.",
    "GROUPS <key>",
    "    Show the stream consumer groups.",
    "STREAM <key> [FULL [COUNT <count>]",
    "    Show information about the stream.",
    "HELP",
    "    Prints this help.",
]


@command("xgroup|help", 2, "loading stale", group="stream", since="5.0.0")
def xgroup_help(c, argv):
    """Show helpful text about the different subcommands"""
    return list(XGROUP_HELP)


# -- XINFO ---------------------------------------------------------------------------------


@command("xinfo|help", 2, "loading stale", group="stream", since="5.0.0")
def xinfo_help(c, argv):
    """Show helpful text about the different subcommands"""
    return list(XINFO_HELP)


def _info_lookup(c, key: bytes) -> Stream:
    s = _read_lookup(c.db, key)
    if s is None:
        raise CommandError(NO_SUCH_KEY)
    return s


@command("xinfo|consumers", 4, "readonly", keys=(2, 2, 1), group="stream", since="5.0.0")
def xinfo_consumers(c, argv):
    """List the consumers in a consumer group"""
    key = argv[2]
    s = _info_lookup(c, key)
    g = s.group(argv[3])
    if g is None:
        raise CommandError(_nogroup_name(argv[3], key))
    now = c.server.now_ms()
    return [
        {b"name": cons.name, b"pending": len(cons.pel), b"idle": max(now - cons.seen_time, 0)}
        for cons in g.sorted_consumers()
    ]


@command("xinfo|groups", 3, "readonly", keys=(2, 2, 1), group="stream", since="5.0.0")
def xinfo_groups(c, argv):
    """List the consumer groups of a stream"""
    s = _info_lookup(c, argv[2])
    return [
        {
            b"name": g.name,
            b"consumers": len(g.consumers),
            b"pending": len(g.pel),
            b"last-delivered-id": _id_arg(g.last_id),
            b"entries-read": g.entries_read if g.entries_read != INVALID_ENTRIES_READ else None,
            b"lag": s.lag(g),
        }
        for g in s.sorted_groups()
    ]


@command("xinfo|stream", -3, "readonly", keys=(2, 2, 1), group="stream", since="5.0.0")
def xinfo_stream(c, argv):
    """Get information about a stream"""
    s = _info_lookup(c, argv[2])
    opts = argv[3:]
    full = bool(opts)
    count = 10
    if opts:
        if len(opts) not in (1, 3) or opts[0].lower() != b"full":
            raise _subcommand_syntax(argv)
        if len(opts) == 3:
            if opts[1].lower() != b"count":
                raise _subcommand_syntax(argv)
            count = parse_int(opts[2])
            if count < 0:
                count = 10
    info = {
        b"length": s.length,
        b"radix-tree-keys": s.node_count(),
        b"radix-tree-nodes": s.rax_nodes(),
        b"last-generated-id": _id_arg(s.last_id),
        b"max-deleted-entry-id": _id_arg(s.max_deleted_id),
        b"entries-added": s.entries_added,
        b"recorded-first-entry-id": _id_arg(s.first_id),
    }
    if not full:
        info[b"groups"] = len(s.groups) if s.groups else 0
        first = s.range(0, MAX_ID, 1)
        last = s.range(0, MAX_ID, 1, rev=True)
        info[b"first-entry"] = first[0] if first else None
        info[b"last-entry"] = last[0] if last else None
        return info
    info[b"entries"] = s.range(0, MAX_ID, count)
    groups = []
    for g in s.sorted_groups():
        pending = []
        for i, nack in g.pel.items():
            if count and len(pending) >= count:
                break
            pending.append([_id_arg(i), nack.consumer.name, nack.delivery_time,
                            nack.delivery_count])
        consumers = []
        for cons in g.sorted_consumers():
            cpel = []
            for i, nack in cons.pel.items():
                if count and len(cpel) >= count:
                    break
                cpel.append([_id_arg(i), nack.delivery_time, nack.delivery_count])
            consumers.append({
                b"name": cons.name,
                b"seen-time": cons.seen_time,
                b"pel-count": len(cons.pel),
                b"pending": cpel,
            })
        groups.append({
            b"name": g.name,
            b"last-delivered-id": _id_arg(g.last_id),
            b"entries-read": g.entries_read if g.entries_read != INVALID_ENTRIES_READ else None,
            b"lag": s.lag(g),
            b"pel-count": len(g.pel),
            b"pending": pending,
            b"consumers": consumers,
        })
    info[b"groups"] = groups
    return info




# -- what COMMAND INFO and COMMAND DOCS show beyond the table (Redis 7.0's command files) ---


def _a(name, type_, key=None, token=None, since=None, flags=None, args=None) -> dict:
    """One COMMAND DOCS argument, its fields in Redis's order."""
    out = {"name": name, "type": type_}
    if key is not None:
        out["key_spec_index"] = key
    if token is not None:
        out["token"] = token
    if since is not None:
        out["since"] = since
    if flags:
        out["flags"] = flags.split()
    if args:
        out["arguments"] = args
    return out


def _key_spec(flags: str, index: int = 0, keyword: bytes = b"", startfrom: int = 0,
              lastkey: int = 0, limit: int = 0, notes: bytes = b"") -> dict:
    if keyword:
        begin = {b"type": b"keyword", b"spec": {b"keyword": keyword, b"startfrom": startfrom}}
    else:
        begin = {b"type": b"index", b"spec": {b"index": index}}
    spec = {b"notes": notes} if notes else {}
    spec[b"flags"] = SetReply(flags.split())
    spec[b"begin_search"] = begin
    spec[b"find_keys"] = {b"type": b"range",
                          b"spec": {b"lastkey": lastkey, b"keystep": 1, b"limit": limit}}
    return spec


_KEY_SPECS = {
    "xadd": _key_spec("RW update", 1,
                      notes=b"UPDATE instead of INSERT because of the optional trimming feature"),
    "xtrim": _key_spec("RW delete", 1),
    "xdel": _key_spec("RW delete", 1),
    "xlen": _key_spec("RO", 1),
    "xread": _key_spec("RO access", keyword=b"STREAMS", startfrom=1, lastkey=-1, limit=2),
    "xreadgroup": _key_spec("RO access", keyword=b"STREAMS", startfrom=4, lastkey=-1, limit=2),
    "xautoclaim": _key_spec("RW delete", 1),
    "xgroup|create": _key_spec("RW insert", 2),
    "xgroup|destroy": _key_spec("RW delete", 2),
    "xgroup|createconsumer": _key_spec("RW insert", 2),
    "xgroup|delconsumer": _key_spec("RW delete", 2),
}

_DOC_ARGS = {
    'xadd': [
        _a('key', 'key', key=0),
        _a('nomkstream', 'pure-token', token='NOMKSTREAM', since='6.2.0', flags='optional'),
        _a('trim', 'block', flags='optional', args=[
            _a('strategy', 'oneof', args=[
                _a('maxlen', 'pure-token', token='MAXLEN'),
                _a('minid', 'pure-token', token='MINID', since='6.2.0'),
            ]),
            _a('operator', 'oneof', flags='optional', args=[
                _a('equal', 'pure-token', token='='),
                _a('approximately', 'pure-token', token='~'),
            ]),
            _a('threshold', 'string'),
            _a('count', 'integer', token='LIMIT', since='6.2.0', flags='optional'),
        ]),
        _a('id_or_auto', 'oneof', args=[
            _a('auto_id', 'pure-token', token='*'),
            _a('id', 'string'),
        ]),
        _a('field_value', 'block', flags='multiple', args=[
            _a('field', 'string'),
            _a('value', 'string'),
        ]),
    ],
    'xtrim': [
        _a('key', 'key', key=0),
        _a('trim', 'block', args=[
            _a('strategy', 'oneof', args=[
                _a('maxlen', 'pure-token', token='MAXLEN'),
                _a('minid', 'pure-token', token='MINID', since='6.2.0'),
            ]),
            _a('operator', 'oneof', flags='optional', args=[
                _a('equal', 'pure-token', token='='),
                _a('approximately', 'pure-token', token='~'),
            ]),
            _a('threshold', 'string'),
            _a('count', 'integer', token='LIMIT', since='6.2.0', flags='optional'),
        ]),
    ],
    'xdel': [
        _a('key', 'key', key=0),
        _a('id', 'string', flags='multiple'),
    ],
    'xlen': [
        _a('key', 'key', key=0),
    ],
    'xrange': [
        _a('key', 'key', key=0),
        _a('start', 'string'),
        _a('end', 'string'),
        _a('count', 'integer', token='COUNT', flags='optional'),
    ],
    'xrevrange': [
        _a('key', 'key', key=0),
        _a('end', 'string'),
        _a('start', 'string'),
        _a('count', 'integer', token='COUNT', flags='optional'),
    ],
    'xread': [
        _a('count', 'integer', token='COUNT', flags='optional'),
        _a('milliseconds', 'integer', token='BLOCK', flags='optional'),
        _a('streams', 'block', token='STREAMS', args=[
            _a('key', 'key', key=0, flags='multiple'),
            _a('id', 'string', flags='multiple'),
        ]),
    ],
    'xreadgroup': [
        _a('group_consumer', 'block', token='GROUP', args=[
            _a('group', 'string'),
            _a('consumer', 'string'),
        ]),
        _a('count', 'integer', token='COUNT', flags='optional'),
        _a('milliseconds', 'integer', token='BLOCK', flags='optional'),
        _a('noack', 'pure-token', token='NOACK', flags='optional'),
        _a('streams', 'block', token='STREAMS', args=[
            _a('key', 'key', key=0, flags='multiple'),
            _a('id', 'string', flags='multiple'),
        ]),
    ],
    'xack': [
        _a('key', 'key', key=0),
        _a('group', 'string'),
        _a('id', 'string', flags='multiple'),
    ],
    'xpending': [
        _a('key', 'key', key=0),
        _a('group', 'string'),
        _a('filters', 'block', flags='optional', args=[
            _a('min-idle-time', 'integer', token='IDLE', since='6.2.0', flags='optional'),
            _a('start', 'string'),
            _a('end', 'string'),
            _a('count', 'integer'),
            _a('consumer', 'string', flags='optional'),
        ]),
    ],
    'xclaim': [
        _a('key', 'key', key=0),
        _a('group', 'string'),
        _a('consumer', 'string'),
        _a('min-idle-time', 'string'),
        _a('id', 'string', flags='multiple'),
        _a('ms', 'integer', token='IDLE', flags='optional'),
        _a('unix-time-milliseconds', 'unix-time', token='TIME', flags='optional'),
        _a('count', 'integer', token='RETRYCOUNT', flags='optional'),
        _a('force', 'pure-token', token='FORCE', flags='optional'),
        _a('justid', 'pure-token', token='JUSTID', flags='optional'),
        _a('id', 'string', token='LASTID', flags='optional'),
    ],
    'xautoclaim': [
        _a('key', 'key', key=0),
        _a('group', 'string'),
        _a('consumer', 'string'),
        _a('min-idle-time', 'string'),
        _a('start', 'string'),
        _a('count', 'integer', token='COUNT', flags='optional'),
        _a('justid', 'pure-token', token='JUSTID', flags='optional'),
    ],
    'xsetid': [
        _a('key', 'key', key=0),
        _a('last-id', 'string'),
        _a('entries_added', 'integer', token='ENTRIESADDED', since='7.0.0', flags='optional'),
        _a('max_deleted_entry_id', 'string', token='MAXDELETEDID', since='7.0.0', flags='optional'),
    ],
    'xgroup|create': [
        _a('key', 'key', key=0),
        _a('groupname', 'string'),
        _a('id', 'oneof', args=[
            _a('id', 'string'),
            _a('new_id', 'pure-token', token='$'),
        ]),
        _a('mkstream', 'pure-token', token='MKSTREAM', flags='optional'),
        _a('entries_read', 'integer', token='ENTRIESREAD', flags='optional'),
    ],
    'xgroup|setid': [
        _a('key', 'key', key=0),
        _a('groupname', 'string'),
        _a('id', 'oneof', args=[
            _a('id', 'string'),
            _a('new_id', 'pure-token', token='$'),
        ]),
        _a('entries_read', 'integer', token='ENTRIESREAD', flags='optional'),
    ],
    'xgroup|destroy': [
        _a('key', 'key', key=0),
        _a('groupname', 'string'),
    ],
    'xgroup|createconsumer': [
        _a('key', 'key', key=0),
        _a('groupname', 'string'),
        _a('consumername', 'string'),
    ],
    'xgroup|delconsumer': [
        _a('key', 'key', key=0),
        _a('groupname', 'string'),
        _a('consumername', 'string'),
    ],
    'xinfo|stream': [
        _a('key', 'key', key=0),
        _a('full', 'block', token='FULL', flags='optional', args=[
            _a('count', 'integer', token='COUNT', flags='optional'),
        ]),
    ],
    'xinfo|groups': [
        _a('key', 'key', key=0),
    ],
    'xinfo|consumers': [
        _a('key', 'key', key=0),
        _a('groupname', 'string'),
    ],
}

_DOCS = {
    'xadd': (
        'Appends a new entry to a stream',
        'O(1) when adding a new entry, O(N) when trimming where N being the number of entries '
        'evicted.',
        [
            ('6.2.0', 'Added the `NOMKSTREAM` option, `MINID` trimming strategy and the `LIMIT` '
                    'option.'),
            ('7.0.0', 'Added support for the `<ms>-*` explicit ID form.'),
        ],
    ),
    'xtrim': (
        "Trims the stream to (approximately if '~' is passed) a certain size",
        'O(N), with N being the number of evicted entries. Constant times are very small '
        'however, since entries are organized in macro nodes containing multiple entries that '
        'can be released with a single deallocation.',
        [
            ('6.2.0', 'Added the `MINID` trimming strategy and the `LIMIT` option.'),
        ],
    ),
    'xdel': (
        'Removes the specified entries from the stream. Returns the number of items actually '
        'deleted, that may be different from the number of IDs passed in case certain IDs do '
        'not exist.',
        'O(1) for each single item to delete in the stream, regardless of the stream size.',
        None,
    ),
    'xlen': (
        'Return the number of entries in a stream',
        'O(1)',
        None,
    ),
    'xrange': (
        'Return a range of elements in a stream, with IDs matching the specified IDs interval',
        'O(N) with N being the number of elements being returned. If N is constant (e.g. '
        'always asking for the first 10 elements with COUNT), you can consider it O(1).',
        [
            ('6.2.0', 'Added exclusive ranges.'),
        ],
    ),
    'xrevrange': (
        'Return a range of elements in a stream, with IDs matching the specified IDs interval, '
        'in reverse order (from greater to smaller IDs) compared to XRANGE',
        'O(N) with N being the number of elements returned. If N is constant (e.g. always '
        'asking for the first 10 elements with COUNT), you can consider it O(1).',
        [
            ('6.2.0', 'Added exclusive ranges.'),
        ],
    ),
    'xread': (
        'Return never seen elements in multiple streams, with IDs greater than the ones '
        'reported by the caller for each stream. Can block.',
        'For each stream mentioned: O(N) with N being the number of elements being returned, '
        'it means that XREAD-ing with a fixed COUNT is O(1). Note that when the BLOCK option '
        'is used, XADD will pay O(M) time in order to serve the M clients blocked on the '
        'stream getting new data.',
        None,
    ),
    'xreadgroup': (
        'Return new entries from a stream using a consumer group, or access the history of the '
        'pending entries for a given consumer. Can block.',
        'For each stream mentioned: O(M) with M being the number of elements returned. If M is '
        'constant (e.g. always asking for the first 10 elements with COUNT), you can consider '
        'it O(1). On the other side when XREADGROUP blocks, XADD will pay the O(N) time in '
        'order to serve the N clients blocked on the stream getting new data.',
        None,
    ),
    'xack': (
        'Marks a pending message as correctly processed, effectively removing it from the '
        'pending entries list of the consumer group. Return value of the command is the number '
        'of messages successfully acknowledged, that is, the IDs we were actually able to '
        'resolve in the PEL.',
        'O(1) for each message ID processed.',
        None,
    ),
    'xpending': (
        'Return information and entries from a stream consumer group pending entries list, '
        'that are messages fetched but never acknowledged.',
        'O(N) with N being the number of elements returned, so asking for a small fixed number '
        'of entries per call is O(1). O(M), where M is the total number of entries scanned '
        'when used with the IDLE filter. When the command returns just the summary and the '
        'list of consumers is small, it runs in O(1) time; otherwise, an additional O(N) time '
        'for iterating every consumer.',
        [
            ('6.2.0', 'Added the `IDLE` option and exclusive range intervals.'),
        ],
    ),
    'xclaim': (
        'Changes (or acquires) ownership of a message in a consumer group, as if the message '
        'was delivered to the specified consumer.',
        'O(log N) with N being the number of messages in the PEL of the consumer group.',
        None,
    ),
    'xautoclaim': (
        'Changes (or acquires) ownership of messages in a consumer group, as if the messages '
        'were delivered to the specified consumer.',
        'O(1) if COUNT is small.',
        [
            ('7.0.0', 'Added an element to the reply array, containing deleted entries the '
                    'command cleared from the PEL'),
        ],
    ),
    'xsetid': (
        'An internal command for replicating stream values',
        'O(1)',
        [
            ('7.0.0', 'Added the `entries_added` and `max_deleted_entry_id` arguments.'),
        ],
    ),
    'xgroup|create': (
        'Create a consumer group.',
        'O(1)',
        [
            ('7.0.0', 'Added the `entries_read` named argument.'),
        ],
    ),
    'xgroup|setid': (
        'Set a consumer group to an arbitrary last delivered ID value.',
        'O(1)',
        [
            ('7.0.0', 'Added the optional `entries_read` argument.'),
        ],
    ),
    'xgroup|destroy': (
        'Destroy a consumer group.',
        "O(N) where N is the number of entries in the group's pending entries list (PEL).",
        None,
    ),
    'xgroup|createconsumer': (
        'Create a consumer in a consumer group.',
        'O(1)',
        None,
    ),
    'xgroup|delconsumer': (
        'Delete a consumer from a consumer group.',
        'O(1)',
        None,
    ),
    'xgroup|help': (
        'Show helpful text about the different subcommands',
        'O(1)',
        None,
    ),
    'xinfo|stream': (
        'Get information about a stream',
        'O(1)',
        [
            ('6.0.0', 'Added the `FULL` modifier.'),
            ('7.0.0', 'Added the `max-deleted-entry-id`, `entries-added`, '
                    '`recorded-first-entry-id`, `entries-read` and `lag` fields'),
        ],
    ),
    'xinfo|groups': (
        'List the consumer groups of a stream',
        'O(1)',
        [
            ('7.0.0', 'Added the `entries-read` and `lag` fields'),
        ],
    ),
    'xinfo|consumers': (
        'List the consumers in a consumer group',
        'O(1)',
        None,
    ),
    'xinfo|help': (
        'Show helpful text about the different subcommands',
        'O(1)',
        None,
    ),
}




def _document() -> None:
    for name, (summary, complexity, history) in _DOCS.items():
        cmd = registry.BY_NAME[name]
        cmd.summary = summary
        cmd.complexity = complexity
        if history:
            cmd.history = [list(h) for h in history]
        cmd.doc_args = _DOC_ARGS.get(name, [])
    for name, spec in _KEY_SPECS.items():
        registry.BY_NAME[name].key_specs = [spec]
    for name in ("xgroup", "xinfo"):
        registry.BY_NAME[name].complexity = "Depends on subcommand."


_document()

__all__ = ["fmt_id", "parse_id", "parse_strict_id"]

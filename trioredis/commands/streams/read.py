"""XREAD and XREADGROUP: reading new entries (or, with a group, a consumer's history), and
blocking until there are some.

Blocked clients are re-run by the core when a key they wait on changes. Redis wakes them only
on XADD, a new or deleted key, and XGROUP DESTROY; the retry argv (:class:`_Retry`) remembers
the stream version per key so other changes (XDEL, XSETID...) wake nobody. ``$`` is resolved
before blocking. XREADGROUP propagates an ``XCLAIM ... FORCE JUSTID LASTID`` per delivered
entry, ``XGROUP SETID ... ENTRIESREAD`` and ``XGROUP CREATECONSUMER`` where needed.
"""

from __future__ import annotations

from ...datatypes.stream import INVALID_ENTRIES_READ, MASK64, MAX_ID, Nack, Stream
from ...errors import SYNTAX, WRONGTYPE, CommandError
from ...protocol.replies import NULL_ARRAY
from .. import registry
from ..args import parse_int
from ..keys import lookup_read
from ..registry import command
from .common import (
    NOGROUP_BLOCKED,
    UNBALANCED,
    UNBLOCKED_DELETED,
    XREAD_BLOCKED_DEFAULT_COUNT,
    _event,
    _id_arg,
    _next_version,
    _nogroup_key,
    _pairs_reply,
    _setid_argv,
    _wrap,
    _xclaim_argv,
    parse_strict_id,
)

# -- XREAD / XREADGROUP --------------------------------------------------------------------


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


def _parse_read(c, argv: list, xreadgroup: bool) -> _ReadArgs:
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
            if getattr(c, "in_script", False):  # Redis keeps this error for scripts
                raise CommandError(
                    f"ERR {argv[0].decode('utf-8', 'replace')} command is not allowed with "
                    "BLOCK option from scripts")
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
    r = _parse_read(c, argv, xreadgroup)
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

"""Consumer groups: XACK, XPENDING, XCLAIM, XAUTOCLAIM and the XGROUP subcommands (CREATE,
SETID, DESTROY, CREATECONSUMER, DELCONSUMER, HELP).

XREADGROUP, which delivers to a group, shares XREAD's code in :mod:`.read`. XCLAIM and
XAUTOCLAIM propagate as Redis does: an ``XCLAIM ... FORCE JUSTID LASTID`` per claimed entry
and ``XGROUP SETID ... ENTRIESREAD`` where needed.
"""

from __future__ import annotations

from ...datatypes.stream import INVALID_ENTRIES_READ, Nack, Stream
from ...errors import SYNTAX, CommandError
from ...keyspace import NOTIFY_STREAM
from ...protocol.replies import NULL_ARRAY, OK
from .. import registry
from ..args import LLONG_MAX, parse_int, to_int
from ..registry import command
from .common import (
    BUSYGROUP,
    ENTRIESREAD_RANGE,
    KEY_REQUIRED,
    _event,
    _id_arg,
    _interval_end,
    _interval_start,
    _next_version,
    _nogroup_key,
    _nogroup_name,
    _parse,
    _read_lookup,
    _setid_argv,
    _subcommand_syntax,
    _t,
    _wrap,
    _write_lookup,
    _xclaim_argv,
    parse_id,
    parse_strict_id,
)

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


# -- XGROUP --------------------------------------------------------------------------------

registry.container("xgroup", group="stream", since="5.0.0",
                   summary="A container for consumer groups commands")


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


@command("xgroup|help", 2, "loading stale", group="stream", since="5.0.0")
def xgroup_help(c, argv):
    """Show helpful text about the different subcommands"""
    return list(XGROUP_HELP)

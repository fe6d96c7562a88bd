"""XINFO: the STREAM, GROUPS, CONSUMERS and HELP subcommands, read-only introspection of a
stream and its consumer groups.
"""

from __future__ import annotations

from ...datatypes.stream import INVALID_ENTRIES_READ, MAX_ID, Stream
from ...errors import CommandError
from .. import registry
from ..args import parse_int
from ..registry import command
from .common import (
    NO_SUCH_KEY,
    _id_arg,
    _nogroup_name,
    _read_lookup,
    _subcommand_syntax,
)

# -- XINFO ---------------------------------------------------------------------------------

registry.container("xinfo", group="stream", since="5.0.0",
                   summary="A container for stream introspection commands")

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

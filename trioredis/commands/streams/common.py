"""What the stream command modules share: the error texts, stream-ID parsing
(:func:`parse_id`, :func:`parse_strict_id`, range bounds), type-checked lookups, the version
counter that decides which changes wake blocked readers, and the argv of what group commands
propagate.

The command modules (``entries``, ``read``, ``groups``, ``info``) import from here and never
from each other.
"""

from __future__ import annotations

import itertools

from ...datatypes.stream import MASK64, MAX_ID, Nack, Stream
from ...errors import WRONGTYPE, CommandError
from ...keyspace import NOTIFY_STREAM
from ...protocol.encoder import encode3
from ...protocol.replies import Raw
from ..args import to_int
from ..keys import lookup_read

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


# -- stream versions -----------------------------------------------------------------------

# A stream's version changes where Redis would wake the clients blocked on it; numbers are
# never reused, so a new stream under the same key is told from the old one.
_next_version = itertools.count(1).__next__


# -- what group commands propagate ---------------------------------------------------------


def _xclaim_argv(key: bytes, g, idarg: bytes, nack: Nack) -> list:
    """streamPropagateXCLAIM: the idempotent XCLAIM that recreates a PEL entry elsewhere."""
    return [b"XCLAIM", key, g.name, nack.consumer.name, b"0", idarg, b"TIME",
            b"%d" % nack.delivery_time, b"RETRYCOUNT", b"%d" % nack.delivery_count,
            b"FORCE", b"JUSTID", b"LASTID", _id_arg(g.last_id)]


def _setid_argv(key: bytes, g) -> list:
    """streamPropagateGroupID."""
    return [b"XGROUP", b"SETID", key, g.name, _id_arg(g.last_id), b"ENTRIESREAD",
            b"%d" % g.entries_read]

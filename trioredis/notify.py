"""Keyspace notifications: ``notify-keyspace-events`` flags and the two channels per event."""

from __future__ import annotations

from .errors import ConfigError
from .keyspace import (
    NOTIFY_EVICTED,
    NOTIFY_EXPIRED,
    NOTIFY_GENERIC,
    NOTIFY_HASH,
    NOTIFY_KEY_MISS,
    NOTIFY_KEYEVENT,
    NOTIFY_KEYSPACE,
    NOTIFY_LIST,
    NOTIFY_MODULE,
    NOTIFY_NEW,
    NOTIFY_SET,
    NOTIFY_STREAM,
    NOTIFY_STRING,
    NOTIFY_ZSET,
)

_ALL = (
    NOTIFY_GENERIC | NOTIFY_STRING | NOTIFY_LIST | NOTIFY_SET | NOTIFY_HASH | NOTIFY_ZSET
    | NOTIFY_EXPIRED | NOTIFY_EVICTED | NOTIFY_STREAM | NOTIFY_MODULE
)
_FLAGS = {
    "A": _ALL,
    "g": NOTIFY_GENERIC,
    "$": NOTIFY_STRING,
    "l": NOTIFY_LIST,
    "s": NOTIFY_SET,
    "h": NOTIFY_HASH,
    "z": NOTIFY_ZSET,
    "x": NOTIFY_EXPIRED,
    "e": NOTIFY_EVICTED,
    "K": NOTIFY_KEYSPACE,
    "E": NOTIFY_KEYEVENT,
    "t": NOTIFY_STREAM,
    "m": NOTIFY_KEY_MISS,
    "d": NOTIFY_MODULE,
    "n": NOTIFY_NEW,
}


def notify_flags_from_text(text: str) -> int:
    """Redis's keyspaceEventsStringToFlags: the flags as written (ConfigError on a bad letter)."""
    flags = 0
    for ch in text:
        bit = _FLAGS.get(ch)
        if bit is None:
            raise ConfigError("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")
        flags |= bit
    return flags


def parse_notify_flags(text: str) -> int:
    """Flags in effect; without K or E nothing is published, as in Redis."""
    flags = notify_flags_from_text(text)
    if not flags & (NOTIFY_KEYSPACE | NOTIFY_KEYEVENT):
        return 0
    return flags


def render_notify_flags(flags: int) -> str:
    """Redis's keyspaceEventsFlagsToString, for CONFIG GET: ``A`` when all classes are on
    (``n`` is not part of ``A`` and is then not shown, as in Redis 7.0), then ``KEm``."""
    out = ""
    if flags & _ALL == _ALL:
        out += "A"
    else:
        for ch in "g$lshzxetdn":
            if flags & _FLAGS[ch]:
                out += ch
    for ch in "KEm":
        if flags & _FLAGS[ch]:
            out += ch
    return out


def canonical_notify_events(text: str) -> str:
    return render_notify_flags(notify_flags_from_text(text))


def notify_keyspace_event(server, kind: int, event: bytes, key: bytes, dbid: int) -> None:
    flags = server.notify_flags
    db = str(dbid).encode()
    if flags & NOTIFY_KEYSPACE:
        server.publish(b"__keyspace@" + db + b"__:" + key, event)
    if flags & NOTIFY_KEYEVENT:
        server.publish(b"__keyevent@" + db + b"__:" + event, key)

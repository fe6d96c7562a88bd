"""Sorted set argument parsing and the helpers every zset family shares (Redis 7.0 t_zset.c).

Scores are parsed the way Redis does: member scores, weights and coordinates with
``getDoubleFromObject`` (strtod, whole string, no spaces, no overflow), range bounds with the
laxer ``zslParseRange`` (strtod, leading spaces and overflow to inf allowed). Replies give
scores as Python floats: a ``%.17g`` bulk string in RESP2 and a double in RESP3. WITHSCORES
pairs are flat in RESP2 and nested ``[member, score]`` arrays in RESP3, as 7.0 replies.

Kept apart from the command modules because all of them (and geo.py, through
``parse_score``) use these; no command is registered here.
"""

from __future__ import annotations

import re

from ...datatypes.zset import ZSet, parse_lex
from ...errors import NOT_FLOAT, NOT_INTEGER, CommandError
from ...keyspace import NOTIFY_GENERIC, NOTIFY_ZSET
from ..args import LLONG_MAX, parse_int

MINMAX_NOT_FLOAT = "ERR min or max is not a float"
MINMAX_NOT_LEX = "ERR min or max not valid string range item"
NAN_SCORE = "ERR resulting score is not a number (NaN)"
XX_NX = "ERR XX and NX options at the same time are not compatible"
GT_LT_NX = "ERR GT, LT, and/or NX options at the same time are not compatible"
INCR_PAIR = "ERR INCR option supports a single increment-element pair"
WEIGHT_NOT_FLOAT = "ERR weight value is not a float"

_INF = float("inf")
_WS = frozenset(b" \t\n\v\f\r")
_WS_BYTES = b" \t\n\v\f\r"
_HEX_FLOAT = re.compile(
    rb"[+-]?0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?[0-9]+)?\Z"
)

# -- numbers ---------------------------------------------------------------------------------


def strtod(b: bytes):
    """C ``strtod`` that must consume all of ``b`` (no leading space): float or None.

    Accepts what glibc does (``inf``, ``infinity``, hex floats) and nothing Python adds
    (underscores, surrounding spaces). NaN is returned as NaN; callers refuse it.
    """
    if b[-1] in _WS or b"_" in b:
        return None
    try:
        return float(b)
    except ValueError:
        pass
    if _HEX_FLOAT.match(b) is None:
        return None
    text = b.decode()
    try:
        return float.fromhex(text)
    except OverflowError:
        return -_INF if text[0] == "-" else _INF


def _erange(b: bytes, v: float) -> bool:
    """Would strtod have set ERANGE with a zero or infinite result (overflow/underflow)?"""
    t = b.lower().lstrip(b"+-")
    if v != 0.0:
        return b"n" not in t  # an overflow, not an "inf" literal
    mant = t[2:].split(b"p")[0] if t.startswith(b"0x") else t.split(b"e")[0]
    return mant.strip(b"0.") != b""


def parse_score(b: bytes, error: str = NOT_FLOAT) -> float:
    """Redis's getDoubleFromObject: a score, weight or coordinate argument."""
    try:
        v = float(b)
    except ValueError:
        v = strtod(b) if b and b[0] not in _WS else None
        if v is None or v != v or ((v == 0.0 or v in (_INF, -_INF)) and _erange(b, v)):
            raise CommandError(error) from None
        return v
    if b[0] in _WS or b[-1] in _WS or v != v or b"_" in b:
        raise CommandError(error)
    if (v == 0.0 or v == _INF or v == -_INF) and _erange(b, v):
        raise CommandError(error)
    return v


def _range_item(b: bytes):
    """One bound of zslParseRange: (value, exclusive) or None. Redis reads it as a C string:
    a NUL ends it."""
    if b"\x00" in b:
        b = b[: b.index(b"\x00")]
    ex = False
    if b[:1] == b"(":
        b = b[1:]
        ex = True
    if not b:
        return 0.0, ex  # strtod converts nothing and stops at the terminator
    t = b.lstrip(_WS_BYTES)
    if not t:
        return None
    v = strtod(t)
    if v is None or v != v:
        return None
    return v, ex


def parse_range(bmin: bytes, bmax: bytes):
    """zslParseRange: (min, minex, max, maxex) or the 'not a float' error."""
    lo = _range_item(bmin)
    hi = _range_item(bmax) if lo is not None else None
    if hi is None:
        raise CommandError(MINMAX_NOT_FLOAT)
    return lo[0], lo[1], hi[0], hi[1]


def parse_lex_range(bmin: bytes, bmax: bytes):
    lo = parse_lex(bmin)
    hi = parse_lex(bmax)
    if lo is None or hi is None:
        raise CommandError(MINMAX_NOT_LEX)
    return lo, hi


def _positive(b: bytes, msg: str = "value is out of range, must be positive") -> int:
    """getPositiveLongFromObjectOrReply: one message for non-numbers and negatives."""
    return _range_long(b, 0, LLONG_MAX, msg)


def _range_long(b: bytes, lo: int, hi: int, msg: str | None) -> int:
    """getRangeLongFromObjectOrReply."""
    try:
        v = parse_int(b)
    except CommandError:
        raise CommandError(("ERR " + msg) if msg else NOT_INTEGER) from None
    if v < lo or v > hi:
        raise CommandError(
            ("ERR " + msg) if msg else f"ERR value is out of range, value must between {lo} and {hi}"
        )
    return v


# -- helpers ---------------------------------------------------------------------------------


def _limits(c) -> tuple[int, int]:
    v = c.server.config.values
    return v["zset-max-listpack-entries"], v["zset-max-listpack-value"]


def _notify(c, kind: int, event: bytes, key: bytes) -> None:
    """A keyspace event without touching WATCH/dirty again (the key was already signalled)."""
    srv = c.server
    if kind & srv.notify_flags:
        srv.notify(kind, event, key, c.db.id)


def _deleted(c, key: bytes) -> None:
    """Remove an emptied zset and send the 'del' event, as Redis does after the main one."""
    c.db.delete(key)
    _notify(c, NOTIFY_GENERIC, b"del", key)


def _with_scores(c, items, withscores: bool) -> list:
    """Reply for (score, member) items: members only, flat pairs (RESP2) or nested (RESP3)."""
    if not withscores:
        return [m for _, m in items]
    if c.resp == 2:
        out = []
        for s, m in items:
            out.append(m)
            out.append(s)
        return out
    return [[m, s] for s, m in items]


def _store(c, dst: bytes, zs: ZSet | None, event: bytes) -> int:
    """Store a result set (or delete ``dst`` when empty) as Redis's *STORE commands do."""
    db = c.db
    if zs:
        db.store(dst, zs)
        db.modified(dst, event, NOTIFY_ZSET)
        return len(zs)
    if db.delete(dst):
        db.modified(dst, b"del", NOTIFY_GENERIC)
    return 0

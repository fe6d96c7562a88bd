"""Argument parsing shared by all commands, strict in the way Redis is.

Redis's ``string2ll`` refuses ``+1``, ``01``, ``-0``, spaces and underscores; Python's ``int``
takes them all. Every numeric argument goes through these helpers so the errors are Redis's.
"""

from __future__ import annotations

import math

from ..errors import (
    NOT_FLOAT,
    NOT_INTEGER,
    SYNTAX,
    TIMEOUT_NEGATIVE,
    TIMEOUT_NOT_FLOAT,
    CommandError,
)

LLONG_MIN = -(2**63)
LLONG_MAX = 2**63 - 1


def to_int(b: bytes) -> int | None:
    """Redis's string2ll: the integer, or None when ``b`` is not canonical or out of range
    (checked on the text: plain ASCII digits, no sign but '-', no leading zero, no "-0")."""
    digits = b[1:] if b[:1] == b"-" else b
    if not digits.isdigit() or (digits[0] == 48 and (len(b) > 1)) or len(b) > 20:
        return None
    v = int(b)
    if not LLONG_MIN <= v <= LLONG_MAX:
        return None
    return v


def parse_int(b: bytes, error: str = NOT_INTEGER) -> int:
    """An integer argument, or CommandError(``error``)."""
    v = to_int(b)
    if v is None:
        raise CommandError(error)
    return v


def parse_nonneg(b: bytes, error: str = "ERR value is out of range, must be positive") -> int:
    v = parse_int(b)
    if v < 0:
        raise CommandError(error)
    return v


def to_float(b: bytes) -> float | None:
    """Redis's string2d / strtod checks: no spaces, no NaN; ``inf`` spellings allowed."""
    if not b or b[0] in b" \t\r\n\v\f" or b[-1] in b" \t\r\n\v\f" or b"_" in b:
        return None
    try:
        v = float(b)
    except ValueError:
        return None
    if v != v:
        return None
    return v


def parse_float(b: bytes, error: str = NOT_FLOAT) -> float:
    v = to_float(b)
    if v is None:
        raise CommandError(error)
    return v


def parse_timeout(b: bytes) -> float:
    """Blocking timeouts in seconds (float allowed, 0 = forever), as BLPOP & co. take them."""
    v = to_float(b)
    if v is None or math.isinf(v):
        raise CommandError(TIMEOUT_NOT_FLOAT)
    if v < 0:
        raise CommandError(TIMEOUT_NEGATIVE)
    return v


def upper(b: bytes) -> bytes:
    return b.upper()


def syntax_error():
    raise CommandError(SYNTAX)


def ok_int_range(v: int, lo: int, hi: int, error: str) -> int:
    if not lo <= v <= hi:
        raise CommandError(error)
    return v


def clamp_range(start: int, end: int, n: int):
    """Redis's index-range rule (LRANGE, ZRANGE, ...): negative indexes count from the end,
    out-of-range ends are clamped. Returns (start, end) inclusive, or None when empty."""
    if start < 0:
        start += n
    if end < 0:
        end += n
    if start < 0:
        start = 0
    if start > end or start >= n:
        return None
    return start, min(end, n - 1)

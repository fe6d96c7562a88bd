"""Redis-compatible glob matching (KEYS, SCAN MATCH, PSUBSCRIBE, ...).

Redis matches with its own ``stringmatchlen`` (src/util.c), whose corner cases
differ from :mod:`fnmatch`, so we reproduce Redis 7.0 exactly, quirks included:

* An empty subject only matches the empty pattern (``*`` does *not* match
  ``b""``; KEYS/SCAN special-case the literal pattern ``*`` before matching,
  callers must do the same).
* ``\\`` escapes the next byte; a trailing backslash is a literal backslash.
  Inside brackets an escaped byte is compared case-sensitively even with nocase.
* ``[^...]`` negates; ``]`` right after ``[`` closes an empty class.  An
  unterminated ``[`` takes the rest of the pattern as the class (so ``[`` alone
  matches nothing and ``[^`` matches any byte).
* ``x-y`` ranges may be reversed and are compared as *signed* chars (x86-64),
  so ``[a-\\xff]`` means -1..97; with nocase the bounds go through glibc's
  ``tolower`` after swapping.  ``]`` or ``\\`` can be a range end.
* More than 1000 non-trailing ``*`` groups never match (Redis's nesting limit).

Redis recurses on ``*``; we instead compile each pattern once into a regex of
byte classes in which every ``*`` becomes an atomic lazy scan, which gives
identical answers with no exponential backtracking.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

__all__ = ["compile_glob", "glob_match"]

_STAR = None  # token for a run of '*'; other tokens are 256-bit byte sets
_MAX_STAR_NESTING = 1000


def _signed(b: int) -> int:
    return b - 256 if b >= 128 else b


def _c_tolower(c: int) -> int:
    """glibc ``tolower`` in the C locale, applied to a (signed) char value."""
    if 65 <= c <= 90:
        return c + 32
    if -128 <= c <= -2:  # glibc's table maps these to the unsigned value
        return c + 256
    return c


def _literal_set(p: int, nocase: bool) -> int:
    if nocase and (65 <= p <= 90 or 97 <= p <= 122):
        return (1 << p) | (1 << (p ^ 0x20))  # ASCII letters only, as in C locale
    return 1 << p


def _range_set(lo: int, hi: int, nocase: bool) -> int:
    lo, hi = _signed(lo), _signed(hi)
    if lo > hi:
        lo, hi = hi, lo
    if nocase:
        lo, hi = _c_tolower(lo), _c_tolower(hi)
    key = (lambda c: _c_tolower(_signed(c))) if nocase else _signed
    mask = 0
    for c in range(256):
        if lo <= key(c) <= hi:
            mask |= 1 << c
    return mask


def _tokenize(pattern: bytes, nocase: bool) -> list[int | None]:
    """Split a pattern into _STAR and single-byte sets, walking it like Redis."""
    n = len(pattern)
    tokens: list[int | None] = []
    i = 0
    while i < n:
        ch = pattern[i]
        if ch == 0x2A:  # '*'
            if not tokens or tokens[-1] is not _STAR:
                tokens.append(_STAR)
        elif ch == 0x3F:  # '?'
            tokens.append((1 << 256) - 1)
        elif ch == 0x5B:  # '['
            i += 1
            negate = i < n and pattern[i] == 0x5E  # '^'
            if negate:
                i += 1
            mask = 0
            while True:
                if i + 1 < n and pattern[i] == 0x5C:  # '\' escape (exact case)
                    i += 1
                    mask |= 1 << pattern[i]
                elif i < n and pattern[i] == 0x5D:  # ']'
                    break
                elif i >= n:  # unterminated: the class ends with the pattern
                    i -= 1
                    break
                elif i + 2 < n and pattern[i + 1] == 0x2D:  # 'x-y'
                    mask |= _range_set(pattern[i], pattern[i + 2], nocase)
                    i += 2
                else:
                    mask |= _literal_set(pattern[i], nocase)
                i += 1
            tokens.append(mask ^ ((1 << 256) - 1) if negate else mask)
        else:
            if ch == 0x5C and i + 1 < n:  # '\' escape; a trailing one is literal
                i += 1
            tokens.append(_literal_set(pattern[i], nocase))
        i += 1
    return tokens


def _byte_class(mask: int) -> bytes:
    if mask == (1 << 256) - 1:
        return b"."
    if mask == 0:
        return b"(?!)"
    parts = []
    c = 0
    while c < 256:
        if mask >> c & 1:
            start = c
            while c + 1 < 256 and mask >> (c + 1) & 1:
                c += 1
            parts.append(b"\\x%02x" % start)
            if c > start:
                parts.append(b"-\\x%02x" % c)
        c += 1
    return b"[" + b"".join(parts) + b"]"


def _never(subject: bytes) -> bool:
    return False


@lru_cache(maxsize=512)
def compile_glob(pattern: bytes, nocase: bool = False) -> Callable[[bytes], bool]:
    """Return a function ``subject -> bool`` equivalent to Redis's stringmatchlen.

    Note ``compile_glob(b"*")`` matches every *non-empty* subject, as in Redis.
    """
    pattern = bytes(pattern)
    if not any(c in pattern for c in b"*?[\\"):
        if nocase:
            folded = pattern.lower()
            return lambda s: len(s) == len(folded) and s.lower() == folded
        return lambda s: s == pattern
    tokens = _tokenize(pattern, nocase)
    if all(t is _STAR for t in tokens):
        return bool  # Redis: '*' matches anything except the empty string
    stars = tokens.count(_STAR) - (tokens[-1] is _STAR)
    if stars > _MAX_STAR_NESTING:
        return _never
    if not nocase and tokens[-1] is _STAR and b"\\" not in pattern:
        prefix = pattern[:-1].rstrip(b"*")
        if not any(c in prefix for c in b"*?["):
            return lambda s: s.startswith(prefix)

    # Split on stars: head, middle segments (matched at their leftmost
    # occurrence, atomically - that is always optimal for fixed-width
    # segments), and the tail which must end the subject.
    segments: list[list[int]] = [[]]
    for tok in tokens:
        if tok is _STAR:
            segments.append([])
        else:
            segments[-1].append(tok)
    regex = [b"".join(_byte_class(m) for m in seg) for seg in segments]
    if len(regex) == 1:
        source = regex[0]
    else:
        middle = b"".join(b"(?>.*?" + seg + b")" for seg in regex[1:-1])
        source = regex[0] + middle + b".*" + regex[-1]
    fullmatch = re.compile(source, re.DOTALL).fullmatch
    return lambda s: fullmatch(s) is not None


def glob_match(pattern: bytes, subject: bytes, nocase: bool = False) -> bool:
    """Match ``subject`` against a Redis glob ``pattern`` (binary safe)."""
    return compile_glob(bytes(pattern), nocase)(subject)

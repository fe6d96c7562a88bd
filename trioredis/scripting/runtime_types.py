"""Lua type names of values lupa hands to Python (bytes, numbers, booleans, Lua objects)."""

from __future__ import annotations

import math

from lupa import lua51


def lua_type_name(v) -> str:
    if v is None:
        return "nil"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, bytes):
        return "string"
    t = lua51.lua_type(v)
    return t if t else "userdata"


def lua_number_text(v) -> bytes:
    """Lua 5.1's tostring of a number: ``%.14g``."""
    if isinstance(v, int) and abs(v) < 10**14:
        return b"%d" % v
    f = float(v)
    if f != f:
        return b"nan" if math.copysign(1.0, f) > 0 else b"-nan"
    if f in (math.inf, -math.inf):
        return b"inf" if f > 0 else b"-inf"
    return b"%.14g" % f

"""Argument checks of the Lua auxiliary library (luaL_check*), for libraries written in
Python: the same ``bad argument #n to 'f' (...)`` texts, raised as :class:`LuaArgError` and
turned into Lua errors at the caller's line by the sandbox's wrappers."""

from __future__ import annotations

from lupa import lua51

from .runtime_types import lua_number_text, lua_type_name


class LuaArgError(Exception):
    """A Lua error raised by a library function; ``text`` is its message (bytes)."""

    def __init__(self, text: str | bytes):
        super().__init__(text)
        self.text = text.encode() if isinstance(text, str) else text


def arg_error(fname: str, i: int, extra: str) -> LuaArgError:
    return LuaArgError(f"bad argument #{i + 1} to '{fname}' ({extra})")


def type_error(fname: str, i: int, expected: str, got) -> LuaArgError:
    return arg_error(fname, i, f"{expected} expected, got {lua_type_name(got)}")


def check_number(fname: str, args: tuple, i: int) -> float | int:
    """luaL_checknumber: numbers and numeric strings."""
    if i >= len(args):
        raise arg_error(fname, i, "number expected, got no value")
    v = args[i]
    if isinstance(v, bool) or v is None:
        raise type_error(fname, i, "number", v)
    if isinstance(v, (int, float)):
        return v
    if isinstance(v, bytes):
        n = str_to_number(v)
        if n is not None:
            return n
    raise type_error(fname, i, "number", v)


def opt_number(fname: str, args: tuple, i: int, default):
    if i >= len(args) or args[i] is None:
        return default
    return check_number(fname, args, i)


def check_string(fname: str, args: tuple, i: int) -> bytes:
    """luaL_checklstring: strings, and numbers converted as Lua does (``%.14g``)."""
    v = args[i] if i < len(args) else None
    if isinstance(v, bytes):
        return v
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return lua_number_text(v)
    raise type_error(fname, i, "string", v)


def str_to_number(s: bytes):
    """lua_str2number (strtod, or hex with 0x), with only trailing whitespace allowed."""
    t = s.strip(b" \t\n\r\f\v")
    if not t:
        return None
    try:
        if t[:2].lower() == b"0x" or t[:3].lower() in (b"-0x", b"+0x"):
            return int(t, 16)
        if t.lower().lstrip(b"+-") in (b"inf", b"infinity", b"nan"):
            return float(t)
        f = float(t)
    except ValueError:
        return None
    if f.is_integer() and abs(f) < 2**53:
        return int(f)
    return f


def is_lua_table(v) -> bool:
    return lua51.lua_type(v) == "table"

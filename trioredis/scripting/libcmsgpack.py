"""lua-cmsgpack 0.4.0 as Redis ships it (``cmsgpack``): pack/unpack/unpack_one/unpack_limit.

Integers take the smallest MessagePack width; other numbers are float32 when that is exact,
else float64; a table whose keys are exactly 1..n is an array, anything else a map; nesting
deeper than 16 tables packs as nil (so circular references end)."""

from __future__ import annotations

import struct

from lupa import lua51

from .args import LuaArgError, check_number, check_string

MAX_NESTING = 16


def _pack_int(n: int, out: bytearray) -> None:
    if n >= 0:
        if n < 128:
            out.append(n)
        elif n < 256:
            out += b"\xcc" + struct.pack(">B", n)
        elif n < 65536:
            out += b"\xcd" + struct.pack(">H", n)
        elif n < 2**32:
            out += b"\xce" + struct.pack(">I", n)
        else:
            out += b"\xcf" + struct.pack(">Q", n & 0xFFFFFFFFFFFFFFFF)
    else:
        if n >= -32:
            out.append(n & 0xFF)
        elif n >= -128:
            out += b"\xd0" + struct.pack(">b", n)
        elif n >= -32768:
            out += b"\xd1" + struct.pack(">h", n)
        elif n >= -(2**31):
            out += b"\xd2" + struct.pack(">i", n)
        else:
            out += b"\xd3" + struct.pack(">q", max(n, -(2**63)))


def _pack_number(v, out: bytearray) -> None:
    f = float(v)
    if f == f and f not in (float("inf"), float("-inf")) and -(2.0**63) <= f < 2.0**63 \
            and f == int(f):
        _pack_int(int(f), out)
        return
    try:
        f32 = struct.unpack(">f", struct.pack(">f", f))[0]
    except OverflowError:
        f32 = None
    if f32 is not None and (f32 == f or (f != f and f32 != f32)):
        out += b"\xca" + struct.pack(">f", f)
    else:
        out += b"\xcb" + struct.pack(">d", f)


def _pack_len(n: int, fix: int, fixmax: int, c16: int, c32: int, out: bytearray) -> None:
    if n < fixmax:
        out.append(fix | n)
    elif n <= 0xFFFF:
        out += bytes([c16]) + struct.pack(">H", n)
    else:
        out += bytes([c32]) + struct.pack(">I", n)


def _pack(v, level: int, out: bytearray) -> None:
    if isinstance(v, bool):
        out.append(0xC3 if v else 0xC2)
    elif isinstance(v, (int, float)):
        _pack_number(v, out)
    elif isinstance(v, bytes):
        n = len(v)
        if n < 32:
            out.append(0xA0 | n)
        elif n <= 0xFF:
            out += b"\xd9" + bytes([n])
        elif n <= 0xFFFF:
            out += b"\xda" + struct.pack(">H", n)
        else:
            out += b"\xdb" + struct.pack(">I", n)
        out += v
    elif v is not None and lua51.lua_type(v) == "table" and level < MAX_NESTING:
        items = list(v.items())
        n = _array_len(items)
        if n is not None:
            _pack_len(n, 0x90, 16, 0xDC, 0xDD, out)
            d = dict(items)
            for i in range(1, n + 1):
                _pack(d.get(i), level + 1, out)
        else:
            _pack_len(len(items), 0x80, 16, 0xDE, 0xDF, out)
            for k, val in items:
                _pack(k, level + 1, out)
                _pack(val, level + 1, out)
    else:
        out.append(0xC0)


def _array_len(items):
    mx = 0
    for k, _ in items:
        if isinstance(k, bool) or not isinstance(k, (int, float)) or k <= 0 or k != int(k):
            return None
        mx = max(mx, int(k))
    return mx if mx == len(items) else None


class _Eof(Exception):
    pass


class _BadFormat(Exception):
    pass


class Unpacker:
    def __init__(self, state, data: bytes, pos: int):
        self.state = state
        self.d = data
        self.p = pos

    def take(self, n: int) -> bytes:
        if self.p + n > len(self.d):
            raise _Eof
        b = self.d[self.p:self.p + n]
        self.p += n
        return b

    def obj(self):
        c = self.take(1)[0]
        if c <= 0x7F:
            return c
        if c >= 0xE0:
            return c - 256
        if 0xA0 <= c <= 0xBF:
            return self.take(c & 0x1F)
        if 0x90 <= c <= 0x9F:
            return self.array(c & 0x0F)
        if 0x80 <= c <= 0x8F:
            return self.map(c & 0x0F)
        fixed = {0xCC: ">B", 0xCD: ">H", 0xCE: ">I", 0xCF: ">Q", 0xD0: ">b", 0xD1: ">h",
                 0xD2: ">i", 0xD3: ">q", 0xCA: ">f", 0xCB: ">d"}
        if c in fixed:
            fmt = fixed[c]
            v = struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]
            if isinstance(v, int) and abs(v) >= 2**53:
                v = float(v)
            return v
        if c == 0xC0:
            return None
        if c == 0xC2:
            return False
        if c == 0xC3:
            return True
        if c in (0xD9, 0xC4):
            return self.take(self.take(1)[0])
        if c in (0xDA, 0xC5):
            return self.take(struct.unpack(">H", self.take(2))[0])
        if c in (0xDB, 0xC6):
            return self.take(struct.unpack(">I", self.take(4))[0])
        if c == 0xDC:
            return self.array(struct.unpack(">H", self.take(2))[0])
        if c == 0xDD:
            return self.array(struct.unpack(">I", self.take(4))[0])
        if c == 0xDE:
            return self.map(struct.unpack(">H", self.take(2))[0])
        if c == 0xDF:
            return self.map(struct.unpack(">I", self.take(4))[0])
        raise _BadFormat

    def array(self, n: int):
        t = self.state.table()
        for i in range(1, n + 1):
            v = self.obj()
            if v is not None:
                t[i] = v
        return t

    def map(self, n: int):
        t = self.state.table()
        for _ in range(n):
            k = self.obj()
            v = self.obj()
            if k is not None and not (isinstance(k, float) and k != k):
                t[k] = v
        return t


def functions(state) -> dict:
    def pack(*args):
        if not args:
            raise LuaArgError("MessagePack pack needs input.")
        out = bytearray()
        for a in args:
            _pack(a, 0, out)
        return bytes(out)

    def unpack_full(args, limit_arg: bool, offset_arg: bool, fname: str):
        data = check_string(fname, args, 0)
        limit = int(check_number(fname, args, 1)) if limit_arg else 0
        offset = 0
        if offset_arg and len(args) > (2 if limit_arg else 1) and args[2 if limit_arg else 1] is not None:
            offset = int(check_number(fname, args, 2 if limit_arg else 1))
        decode_all = not limit_arg and not offset_arg
        if offset < 0 or limit < 0:
            raise LuaArgError(
                f"Invalid request to unpack with offset of {offset} and limit of {limit}.")
        if offset > len(data):
            raise LuaArgError(f"Start offset {offset} greater than input length {len(data)}.")
        if decode_all or limit == 0:
            limit = 2**31
        u = Unpacker(state, data, offset)
        values = []
        try:
            while u.p < len(data) and len(values) < limit:
                values.append(u.obj())
        except _Eof:
            raise LuaArgError("Missing bytes in input.")
        except _BadFormat:
            raise LuaArgError("Bad data format in input.")
        if not decode_all:
            values.insert(0, -1 if u.p >= len(data) else u.p)
        return tuple(values)

    return {
        b"pack": pack,
        b"unpack": lambda *a: unpack_full(a, False, False, "unpack"),
        b"unpack_one": lambda *a: unpack_full(
            (a[0] if a else None, 1) + tuple(a[1:2]), True, True, "unpack_one"),
        b"unpack_limit": lambda *a: unpack_full(a, True, True, "unpack_limit"),
        b"_NAME": b"cmsgpack",
        b"_VERSION": b"lua-cmsgpack 0.4.0",
        b"_COPYRIGHT": b"Copyright (C) 2012, Salvatore Sanfilippo",
        b"_DESCRIPTION": b"MessagePack C implementation for Lua",
    }

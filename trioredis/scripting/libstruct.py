"""Roberto Ierusalimschy's struct library as Redis ships it (``struct``): pack, unpack and
size with its format letters (``<>!`` endianness and alignment, ``bBhHlLTiI`` integers with
an optional size, ``f d`` floats, ``s`` zero-terminated and ``cN`` fixed strings, ``x``)."""

from __future__ import annotations

import struct as pystruct

from .args import LuaArgError, arg_error, check_number, check_string

MAXINTSIZE = 32
MAXALIGN = 8
_SIZES = {"b": 1, "B": 1, "h": 2, "H": 2, "l": 8, "L": 8, "T": 8, "i": 4, "I": 4, "f": 4,
          "d": 8, "x": 1}


class _Fmt:
    def __init__(self, fmt: bytes):
        self.f = fmt.decode("latin-1")
        self.i = 0
        self.little = True
        self.align = 1

    def number(self, default: int) -> int:
        j = self.i
        while j < len(self.f) and self.f[j].isdigit():
            j += 1
        if j == self.i:
            return default
        n = int(self.f[self.i:j])
        self.i = j
        return n

    def next(self, fname: str):
        """(option, size) of the next item; endianness/alignment options are applied."""
        while self.i < len(self.f):
            opt = self.f[self.i]
            self.i += 1
            if opt == " ":
                continue
            if opt == ">":
                self.little = False
                continue
            if opt == "<":
                self.little = True
                continue
            if opt == "=":
                self.little = True
                continue
            if opt == "!":
                a = self.number(MAXALIGN)
                if a & (a - 1):
                    raise LuaArgError(f"alignment {a} is not a power of 2")
                self.align = a
                continue
            if opt in "iI":
                size = self.number(4)
                if size > MAXINTSIZE or size < 1:
                    raise LuaArgError(f"integral size {size} is larger than limit of {MAXINTSIZE}")
                return opt, size
            if opt == "c":
                return opt, self.number(1)
            if opt == "s":
                return opt, 0
            if opt in _SIZES:
                return opt, _SIZES[opt]
            raise arg_error(fname, 0, f"invalid format option '{opt}'")
        return None, 0

    def pad(self, total: int, size: int) -> int:
        if size <= 1 or self.align <= 1:
            return 0
        a = min(size, self.align)
        return (a - (total & (a - 1))) & (a - 1)


def _int_bytes(v: int, size: int, little: bool) -> bytes:
    v &= (1 << (8 * size)) - 1
    return v.to_bytes(size, "little" if little else "big")


def functions(state) -> dict:
    def pack(*args):
        fmt = _Fmt(check_string("pack", args, 0))
        out = bytearray()
        arg = 1
        while True:
            opt, size = fmt.next("pack")
            if opt is None:
                break
            out += b"\0" * fmt.pad(len(out), size)
            if opt == "x":
                out += b"\0"
            elif opt in "bBhHlLTiI":
                n = check_number("pack", args, arg)
                arg += 1
                iv = int(n) if n == n and abs(n) < 2**64 else 0
                out += _int_bytes(iv, size, fmt.little)
            elif opt == "f":
                n = check_number("pack", args, arg)
                arg += 1
                out += pystruct.pack("<f" if fmt.little else ">f", float(n))
            elif opt == "d":
                n = check_number("pack", args, arg)
                arg += 1
                out += pystruct.pack("<d" if fmt.little else ">d", float(n))
            elif opt in "cs":
                s = check_string("pack", args, arg)
                ln = len(s)
                if opt == "c" and size == 0:
                    size = ln
                if opt == "c":
                    if ln < size:  # struct.c checks it after moving past the argument
                        raise arg_error("pack", arg + 1, "string too short")
                    out += s[:size]
                else:
                    out += s + b"\0"
                arg += 1
        return bytes(out)

    def unpack(*args):
        fmt = _Fmt(check_string("unpack", args, 0))
        data = check_string("unpack", args, 1)
        pos = 0
        if len(args) > 2 and args[2] is not None:
            pos = int(check_number("unpack", args, 2)) - 1
            if pos < 0:
                raise arg_error("unpack", 2, "offset must be 1 or greater")
        values = []
        last_int = None
        while True:
            opt, size = fmt.next("unpack")
            if opt is None:
                break
            pos += fmt.pad(pos, size)
            if opt not in "sc" and pos + size > len(data):
                raise arg_error("unpack", 1, "data string too short")
            if opt == "x":
                pos += 1
            elif opt in "bBhHlLTiI":
                raw = data[pos:pos + size]
                v = int.from_bytes(raw, "little" if fmt.little else "big",
                                   signed=opt in "bhli")
                values.append(v if abs(v) < 2**53 else float(v))
                last_int = v
                pos += size
            elif opt in "fd":
                v = pystruct.unpack(("<" if fmt.little else ">") + opt, data[pos:pos + size])[0]
                values.append(v)
                pos += size
            elif opt == "c":
                if size == 0:
                    if last_int is None or not values:
                        raise LuaArgError("format 'c0' needs a previous size")
                    size = int(values.pop())
                if pos + size > len(data):
                    raise arg_error("unpack", 1, "data string too short")
                values.append(data[pos:pos + size])
                pos += size
            elif opt == "s":
                end = data.find(b"\0", pos)
                if end < 0:
                    raise arg_error("unpack", 1, "unfinished string in data")
                values.append(data[pos:end])
                pos = end + 1
        values.append(pos + 1)
        return tuple(values)

    def size(*args):
        fmt = _Fmt(check_string("size", args, 0))
        total = 0
        while True:
            opt, sz = fmt.next("size")
            if opt is None:
                break
            if opt == "s" or (opt == "c" and sz == 0):
                raise arg_error("size", 0, "options 'c0' - 's' have undefined sizes")
            total += fmt.pad(total, sz) + sz
        return total

    return {b"pack": pack, b"unpack": unpack, b"size": size}

"""LuaBitOp 1.0 (the ``bit`` library Redis loads): 32-bit operations on Lua numbers.

Numbers are reduced as LuaBitOp does: rounded to the nearest integer (ties to even, by adding
2^52+2^51) and taken modulo 2^32; results are signed 32-bit.
"""

from __future__ import annotations

from .args import check_number

_M32 = 0xFFFFFFFF


def _tobit_raw(n: float) -> int:
    return int(round(n)) & _M32  # Python's round() is round-half-even, as the FPU trick


def _signed(u: int) -> int:
    u &= _M32
    return u - (1 << 32) if u & 0x80000000 else u


def _arg(fname: str, args: tuple, i: int) -> int:
    return _tobit_raw(check_number(fname, args, i))


def functions() -> dict:
    def tobit(*a):
        return _signed(_arg("tobit", a, 0))

    def bnot(*a):
        return _signed(~_arg("bnot", a, 0))

    def reducer(name, op):
        def f(*a):
            r = _arg(name, a, 0)
            for i in range(1, len(a)):
                r = op(r, _arg(name, a, i))
            return _signed(r)
        return f

    def shift(name, fn):
        def f(*a):
            x = _arg(name, a, 0)
            n = _arg(name, a, 1) & 31
            return _signed(fn(x, n))
        return f

    def tohex(*a):
        x = _arg("tohex", a, 0)
        n = 8 if len(a) < 2 or a[1] is None else _signed(_arg("tohex", a, 1))
        digits = "0123456789abcdef"
        if n < 0:
            n = -n
            digits = "0123456789ABCDEF"
        if n > 8:
            n = 8
        out = []
        for _ in range(n):
            out.append(digits[x & 15])
            x >>= 4
        return "".join(reversed(out)).encode()

    def bswap(*a):
        x = _arg("bswap", a, 0)
        return _signed(int.from_bytes(x.to_bytes(4, "little"), "big"))

    return {
        b"tobit": _wrap(tobit),
        b"bnot": _wrap(bnot),
        b"band": _wrap(reducer("band", lambda x, y: x & y)),
        b"bor": _wrap(reducer("bor", lambda x, y: x | y)),
        b"bxor": _wrap(reducer("bxor", lambda x, y: x ^ y)),
        b"lshift": _wrap(shift("lshift", lambda x, n: x << n)),
        b"rshift": _wrap(shift("rshift", lambda x, n: x >> n)),
        b"arshift": _wrap(shift("arshift", lambda x, n: _signed(x) >> n)),
        b"rol": _wrap(shift("rol", lambda x, n: (x << n) | (x >> (32 - n)) if n else x)),
        b"ror": _wrap(shift("ror", lambda x, n: (x >> n) | (x << (32 - n)) if n else x)),
        b"bswap": _wrap(bswap),
        b"tohex": _wrap(tohex),
    }


def _wrap(f):
    return f

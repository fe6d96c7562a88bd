"""lua-cjson 2.1.0 as Redis ships it (``cjson``): encode/decode with its number formatting
(``%.14g``), escapes (``/`` too), ``cjson.null``, empty tables as ``{}``, the sparse-array
rule (an array whose highest index is above 2x its items and above 10 is refused) and its
configuration functions."""

from __future__ import annotations

import math

from lupa import lua51

from .args import LuaArgError, check_number, check_string

_ESC = {i: b"\\u%04x" % i for i in range(32)}
_ESC.update({8: b"\\b", 9: b"\\t", 10: b"\\n", 12: b"\\f", 13: b"\\r", 34: b'\\"', 47: b"\\/",
             92: b"\\\\", 127: b"\\u007f"})
_ESCAPE_TABLE = {k: v.decode() for k, v in _ESC.items()}


class Config:
    def __init__(self):
        self.sparse_convert = False
        self.sparse_ratio = 2
        self.sparse_safe = 10
        self.encode_max_depth = 1000
        self.decode_max_depth = 1000
        self.precision = 14
        self.keep_buffer = True
        self.encode_invalid = False  # False, True, or "null"
        self.decode_invalid = True


def _fmt_number(n, cfg: Config) -> bytes:
    if isinstance(n, int) and abs(n) < 10**cfg.precision:
        return b"%d" % n
    f = float(n)
    if f != f or f in (math.inf, -math.inf):
        if cfg.encode_invalid == "null":
            return b"null"
        if not cfg.encode_invalid:
            raise LuaArgError("Cannot serialise number: must not be NaN or Inf")
        if f != f:
            return b"nan"
        return b"inf" if f > 0 else b"-inf"
    return b"%.*g" % (cfg.precision, f)


def _escape(s: bytes) -> bytes:
    return b'"' + s.decode("latin-1").translate(_ESCAPE_TABLE).encode("latin-1") + b'"'


def functions(state) -> dict:
    cfg = Config()

    def encode_value(v, depth: int, out: list) -> None:
        if v is None or v is state.json_null:
            out.append(b"null")
        elif v is True:
            out.append(b"true")
        elif v is False:
            out.append(b"false")
        elif isinstance(v, (int, float)):
            out.append(_fmt_number(v, cfg))
        elif isinstance(v, bytes):
            out.append(_escape(v))
        elif lua51.lua_type(v) == "table":
            depth += 1
            if depth > cfg.encode_max_depth:
                raise LuaArgError(f"Cannot serialise, excessive nesting ({depth})")
            items = list(v.items())
            n = _array_length(items)
            if n > 0:
                out.append(b"[")
                d = dict(items)
                for i in range(1, n + 1):
                    if i > 1:
                        out.append(b",")
                    encode_value(d.get(i), depth, out)
                out.append(b"]")
            else:
                out.append(b"{")
                first = True
                for k, val in items:
                    if not first:
                        out.append(b",")
                    first = False
                    if isinstance(k, bytes):
                        out.append(_escape(k))
                    elif isinstance(k, (int, float)) and not isinstance(k, bool):
                        out.append(b'"' + _fmt_number(k, cfg) + b'"')
                    else:
                        raise LuaArgError(
                            "Cannot serialise table: table key must be a number or string")
                    out.append(b":")
                    encode_value(val, depth, out)
                out.append(b"}")
        else:
            t = lua51.lua_type(v) or "userdata"
            if t == "userdata" and state.is_json_null(v):  # lupa wraps it anew each time
                out.append(b"null")
                return
            raise LuaArgError(f"Cannot serialise {t}: type not supported")

    def _array_length(items) -> int:
        """lua_array_length: -1 (an object) unless every key is a positive integer."""
        mx = 0
        count = 0
        for k, _ in items:
            if isinstance(k, (int, float)) and not isinstance(k, bool) and k >= 1 and k == int(k):
                k = int(k)
                mx = max(mx, k)
                count += 1
            else:
                return -1
        if cfg.sparse_ratio > 0 and mx > count * cfg.sparse_ratio and mx > cfg.sparse_safe:
            if not cfg.sparse_convert:
                raise LuaArgError("Cannot serialise table: excessively sparse array")
            return -1
        return mx

    def encode(*args):
        if len(args) != 1:
            raise LuaArgError("bad argument #1 to 'encode' (expected 1 argument)")
        out: list = []
        encode_value(args[0], 0, out)
        return b"".join(out)

    def decode(*args):
        if len(args) != 1:
            raise LuaArgError("bad argument #1 to 'decode' (expected 1 argument)")
        s = check_string("decode", args, 0)
        return JsonDecoder(state, cfg, s).decode()

    def opt_bool(name, args, current):
        if not args or args[0] is None:
            return current
        v = args[0]
        if v is True or v in (b"on", b"true"):
            return True
        if v is False or v in (b"off", b"false"):
            return False
        raise LuaArgError(f"bad argument #1 to '{name}' (invalid option '{v!r}')")

    def encode_sparse_array(*args):
        if args and args[0] is not None:
            cfg.sparse_convert = opt_bool("encode_sparse_array", args[:1], cfg.sparse_convert)
        if len(args) > 1 and args[1] is not None:
            cfg.sparse_ratio = int(check_number("encode_sparse_array", args, 1))
        if len(args) > 2 and args[2] is not None:
            cfg.sparse_safe = int(check_number("encode_sparse_array", args, 2))
        return state.table([cfg.sparse_convert, cfg.sparse_ratio, cfg.sparse_safe])

    def int_option(name, attr, lo, hi):
        def f(*args):
            if args and args[0] is not None:
                n = int(check_number(name, args, 0))
                if not lo <= n <= hi:
                    raise LuaArgError(f"bad argument #1 to '{name}' (expected integer between {lo} and {hi})")
                setattr(cfg, attr, n)
            return getattr(cfg, attr)
        return f

    def encode_keep_buffer(*args):
        cfg.keep_buffer = opt_bool("encode_keep_buffer", args, cfg.keep_buffer)
        return cfg.keep_buffer

    def encode_invalid_numbers(*args):
        if args and args[0] is not None:
            v = args[0]
            cfg.encode_invalid = "null" if v == b"null" else opt_bool("encode_invalid_numbers", args, cfg.encode_invalid)
        v = cfg.encode_invalid
        return b"null" if v == "null" else v

    def decode_invalid_numbers(*args):
        cfg.decode_invalid = opt_bool("decode_invalid_numbers", args, cfg.decode_invalid)
        return cfg.decode_invalid

    funcs = {
        b"encode": encode,
        b"decode": decode,
        b"encode_sparse_array": encode_sparse_array,
        b"encode_max_depth": int_option("encode_max_depth", "encode_max_depth", 1, 2**31 - 1),
        b"decode_max_depth": int_option("decode_max_depth", "decode_max_depth", 1, 2**31 - 1),
        b"encode_number_precision": int_option("encode_number_precision", "precision", 1, 14),
        b"encode_keep_buffer": encode_keep_buffer,
        b"encode_invalid_numbers": encode_invalid_numbers,
        b"decode_invalid_numbers": decode_invalid_numbers,
    }
    wrapped = {k: _guard(f) for k, f in funcs.items()}
    wrapped[b"_NAME"] = b"cjson"
    wrapped[b"_VERSION"] = b"2.1.0"
    return wrapped


def _guard(f):
    def g(*a):
        try:
            return f(*a)
        except RecursionError:
            raise LuaArgError("Cannot serialise, excessive nesting")
    return g


_WS = b" \t\n\r"


class JsonDecoder:
    """lua-cjson's decoder: its token names and ``at character N`` positions (1-based)."""

    def __init__(self, state, cfg: Config, s: bytes):
        self.state = state
        self.cfg = cfg
        self.s = s
        self.i = 0
        self.depth = 0

    def error(self, expected: str, found: str, at: int):
        raise LuaArgError(f"Expected {expected} but found {found} at character {at + 1}")

    def skip(self):
        s, i, n = self.s, self.i, len(self.s)
        while i < n and s[i] in _WS:
            i += 1
        self.i = i

    def token_name(self, at: int) -> str:
        s = self.s
        if at >= len(s):
            return "T_END"
        c = s[at:at + 1]
        names = {b"{": "T_OBJ_BEGIN", b"}": "T_OBJ_END", b"[": "T_ARR_BEGIN", b"]": "T_ARR_END",
                 b",": "T_COMMA", b":": "T_COLON", b'"': "T_STRING"}
        if c in names:
            return names[c]
        if s.startswith((b"true", b"false"), at):
            return "T_BOOLEAN"
        if s.startswith(b"null", at):
            return "T_NULL"
        if c in b"-0123456789" or (self.cfg.decode_invalid and c.lower() in b"in+"):
            return "T_NUMBER"
        return "invalid token"

    def decode(self):
        self.skip()
        v = self.value("value")
        self.skip()
        if self.i < len(self.s):
            self.error("the end", self.token_name(self.i), self.i)
        return v

    def value(self, expected: str):
        self.skip()
        s, i = self.s, self.i
        if i >= len(s):
            self.error(expected, "T_END", i)
        c = s[i]
        if c == 0x7B:  # {
            return self.obj()
        if c == 0x5B:  # [
            return self.arr()
        if c == 0x22:
            return self.string()
        if s.startswith(b"true", i):
            self.i = i + 4
            return True
        if s.startswith(b"false", i):
            self.i = i + 5
            return False
        if s.startswith(b"null", i):
            self.i = i + 4
            return self.state.json_null
        num = self.number()
        if num is not None:
            return num
        self.error(expected, self.token_name(i), i)

    def number(self):
        m = _NUM.match(self.s, self.i) if not self.cfg.decode_invalid else _NUM_ANY.match(self.s, self.i)
        if not m or not m.group(0):
            return None
        text = m.group(0)
        try:
            if text.lower().lstrip(b"+-").startswith(b"0x"):
                v = int(text, 16)
            else:
                v = float(text)
        except ValueError:
            return None
        self.i = m.end()
        if isinstance(v, float) and v.is_integer() and abs(v) < 2**63:
            return int(v)
        return v

    def descend(self, at: int):
        self.depth += 1
        if self.depth > self.cfg.decode_max_depth:
            raise LuaArgError(
                f"Found too many nested data structures ({self.depth}) at character {at + 1}")

    def obj(self):
        start = self.i
        self.descend(start)
        self.i += 1
        t = self.state.table()
        self.skip()
        if self.i < len(self.s) and self.s[self.i] == 0x7D:
            self.i += 1
            self.depth -= 1
            return t
        while True:
            self.skip()
            if self.i >= len(self.s) or self.s[self.i] != 0x22:
                self.error("object key string", self.token_name(self.i), self.i)
            k = self.string()
            self.skip()
            if self.i >= len(self.s) or self.s[self.i] != 0x3A:
                self.error("colon", self.token_name(self.i), self.i)
            self.i += 1
            t[k] = self.value("value")
            self.skip()
            if self.i < len(self.s) and self.s[self.i] == 0x2C:
                self.i += 1
                continue
            if self.i < len(self.s) and self.s[self.i] == 0x7D:
                self.i += 1
                break
            self.error("comma or object end", self.token_name(self.i), self.i)
        self.depth -= 1
        return t

    def arr(self):
        self.descend(self.i)
        self.i += 1
        t = self.state.table()
        self.skip()
        if self.i < len(self.s) and self.s[self.i] == 0x5D:
            self.i += 1
            self.depth -= 1
            return t
        n = 0
        while True:
            n += 1
            t[n] = self.value("value")
            self.skip()
            if self.i < len(self.s) and self.s[self.i] == 0x2C:
                self.i += 1
                continue
            if self.i < len(self.s) and self.s[self.i] == 0x5D:
                self.i += 1
                break
            self.error("comma or array end", self.token_name(self.i), self.i)
        self.depth -= 1
        return t

    def string(self) -> bytes:
        s = self.s
        start = self.i
        i = start + 1
        out = bytearray()
        n = len(s)
        while True:
            if i >= n:
                self.error("value", "invalid token", start)
            c = s[i]
            if c == 0x22:
                break
            if c == 0x5C:
                if i + 1 >= n:
                    self.error("value", "invalid token", start)
                e = s[i + 1]
                simple = {0x22: b'"', 0x5C: b"\\", 0x2F: b"/", 0x62: b"\b", 0x66: b"\f",
                          0x6E: b"\n", 0x72: b"\r", 0x74: b"\t"}
                if e in simple:
                    out += simple[e]
                    i += 2
                    continue
                if e == 0x75:
                    cp = self._hex4(i + 2, start)
                    i += 6
                    if 0xD800 <= cp < 0xDC00:
                        if s[i:i + 2] != b"\\u":
                            self.error("value", "invalid token", start)
                        lo = self._hex4(i + 2, start)
                        if not 0xDC00 <= lo < 0xE000:
                            self.error("value", "invalid token", start)
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00)
                        i += 6
                    elif 0xDC00 <= cp < 0xE000:
                        self.error("value", "invalid token", start)
                    out += chr(cp).encode("utf-8", "surrogatepass")
                    continue
                self.error("value", "invalid token", start)
            out.append(c)
            i += 1
        self.i = i + 1
        return bytes(out)

    def _hex4(self, at: int, start: int) -> int:
        h = self.s[at:at + 4]
        if len(h) != 4 or any(ch not in b"0123456789abcdefABCDEF" for ch in h):
            self.error("value", "invalid token", start)
        return int(h, 16)


import re  # noqa: E402

_NUM = re.compile(rb"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_NUM_ANY = re.compile(
    rb"[+-]?(?:0[xX][0-9a-fA-F]+|inf(?:inity)?|nan|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)",
    re.IGNORECASE)

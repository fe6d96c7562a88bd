"""A RESP2/RESP3 reader for pre-encoded replies (``Raw``) a script's command may return, so
they reach Lua as Redis's reply parser would hand them (attributes skipped, as Redis does)."""

from __future__ import annotations

from ..protocol.replies import NULL_ARRAY, ErrorReply, SetReply, Verbatim


class BigNumber(bytes):
    """A RESP3 big number (``(``): ``{big_number=...}`` in Lua."""

    __slots__ = ()


def parse_raw(data: bytes):
    value, _ = _parse(data, 0)
    return value


def _line(data: bytes, i: int):
    j = data.index(b"\r\n", i)
    return data[i:j], j + 2


def _parse(data: bytes, i: int):
    kind = data[i:i + 1]
    line, i = _line(data, i + 1)
    if kind == b"+":
        return line.decode("utf-8", "surrogateescape"), i
    if kind == b"-":
        return ErrorReply(line.decode("utf-8", "surrogateescape")), i
    if kind == b":":
        return int(line), i
    if kind in (b"$", b"=", b"!"):
        n = int(line)
        if n < 0:
            return None, i
        body = data[i:i + n]
        i += n + 2
        if kind == b"=":
            return Verbatim(body[4:]), i
        if kind == b"!":
            return ErrorReply(body.decode("utf-8", "surrogateescape")), i
        return body, i
    if kind in (b"*", b"~", b">"):
        n = int(line)
        if n < 0:
            return NULL_ARRAY, i
        out = []
        for _ in range(n):
            v, i = _parse(data, i)
            out.append(v)
        return (SetReply(out) if kind == b"~" else out), i
    if kind == b"%":
        d = {}
        for _ in range(int(line)):
            k, i = _parse(data, i)
            v, i = _parse(data, i)
            d[k] = v
        return d, i
    if kind == b"|":
        for _ in range(int(line)):
            _, i = _parse(data, i)
            _, i = _parse(data, i)
        return _parse(data, i)
    if kind == b"_":
        return None, i
    if kind == b",":
        return float(line), i
    if kind == b"#":
        return line == b"t", i
    if kind == b"(":
        return BigNumber(line), i
    raise ValueError(f"bad RESP type {kind!r}")

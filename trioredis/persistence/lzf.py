"""LZF, the compression of RDB strings (Redis's lzf_c.c / lzf_d.c format).

A stream of chunks: a control byte below 32 starts a literal run of ``ctrl + 1`` bytes;
otherwise its top 3 bits are a match length (7 means "add the next byte"), and the low 5 bits
with the next byte are a back offset minus one; the match copies ``len + 2`` bytes.

Decompression is what loading needs (Redis compresses every string over 20 bytes by default).
The compressor is a plain greedy one, valid for Redis's decoder though not byte-identical to
lzf_c.c's output; the RDB writer does not use it on its hot path (see rdb.py).
"""

from __future__ import annotations

MAX_LIT = 32
MAX_OFF = 1 << 13
MAX_REF = (1 << 8) + (1 << 3)


class LZFError(ValueError):
    pass


def decompress(data, expected_len: int) -> bytes:
    """Inflate ``data``; the result must be exactly ``expected_len`` bytes."""
    src = bytes(data)
    n = len(src)
    out = bytearray()
    i = 0
    while i < n:
        ctrl = src[i]
        i += 1
        if ctrl < 32:
            run = ctrl + 1
            if i + run > n:
                raise LZFError("literal run past the end of the input")
            out += src[i : i + run]
            i += run
            continue
        length = ctrl >> 5
        if length == 7:
            if i >= n:
                raise LZFError("truncated match length")
            length += src[i]
            i += 1
        if i >= n:
            raise LZFError("truncated back reference")
        off = ((ctrl & 0x1F) << 8) + src[i] + 1
        i += 1
        length += 2
        size = len(out)
        if off > size:
            raise LZFError("back reference before the start of the output")
        start = size - off
        if length <= off:
            out += out[start : start + length]
        else:  # overlapping copy: the last `off` bytes repeat
            pattern = bytes(out[start:])
            reps = -(-length // off)
            out += (pattern * reps)[:length]
        if len(out) > expected_len:
            break
    if len(out) != expected_len:
        raise LZFError("decompressed length mismatch")
    return bytes(out)


def compress(data, max_len: int | None = None) -> bytes | None:
    """Compress ``data``; None when the result would not be shorter than ``max_len``
    (default: the input length minus 4, Redis's "worth it" threshold)."""
    src = bytes(data)
    n = len(src)
    if max_len is None:
        max_len = n - 4
    if n < 4 or max_len <= 0:
        return None
    out = bytearray()
    table: dict[bytes, int] = {}
    lit_start = 0
    i = 0
    limit = n - 2
    while i < limit:
        key = src[i : i + 3]
        ref = table.get(key)
        table[key] = i
        if ref is not None and i - ref <= MAX_OFF:
            off = i - ref - 1
            # extend the match
            maxlen = min(MAX_REF, n - i)
            length = 3
            while length < maxlen and src[ref + length] == src[i + length]:
                length += 1
            _literals(out, src, lit_start, i)
            length -= 2
            if length < 7:
                out.append((length << 5) | (off >> 8))
            else:
                out.append((7 << 5) | (off >> 8))
                out.append(length - 7)
            out.append(off & 0xFF)
            i += length + 2
            lit_start = i
            if len(out) >= max_len:
                return None
            continue
        i += 1
    _literals(out, src, lit_start, n)
    if len(out) >= max_len:
        return None
    return bytes(out)


def _literals(out: bytearray, src: bytes, start: int, end: int) -> None:
    while start < end:
        run = min(MAX_LIT, end - start)
        out.append(run - 1)
        out += src[start : start + run]
        start += run

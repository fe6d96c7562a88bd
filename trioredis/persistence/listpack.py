"""The compact blobs Redis stores inside RDB values: listpack, ziplist, intset, zipmap.

Decoders check the structure as they go (header sizes, terminators, back-lengths, counts) and
raise :class:`BlobError` with the reason, so a corrupt file is refused rather than half-loaded.
Elements come back as ``bytes`` or ``int`` (the blob's integer encodings); callers turn ints
into their decimal text where a string is meant. Encoders write what Redis 7.0 writes: the
listpack of small hashes, sorted sets, quicklist nodes and stream nodes, and the intset.
"""

from __future__ import annotations

import struct

_u16 = struct.Struct("<H").unpack_from
_u32 = struct.Struct("<I").unpack_from
_i16 = struct.Struct("<h").unpack_from
_i32 = struct.Struct("<i").unpack_from
_i64 = struct.Struct("<q").unpack_from
_u32be = struct.Struct(">I").unpack_from

INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1


class BlobError(ValueError):
    """A listpack/ziplist/intset/zipmap that is not well formed."""


def str_to_int(b: bytes):
    """Redis's string2ll for element encoding: the int if ``b`` is a canonical int64."""
    n = len(b)
    if not 0 < n <= 20:
        return None
    c = b[0]
    if not (48 <= c <= 57 or (c == 45 and n > 1)):
        return None
    try:
        v = int(b)
    except ValueError:
        return None
    if INT64_MIN <= v <= INT64_MAX and b"%d" % v == b:
        return v
    return None


# -- listpack ---------------------------------------------------------------------------------

LP_HEADER = 6
LP_EOF = 0xFF


def _backlen_size(n: int) -> int:
    if n <= 127:
        return 1
    if n < 16383:
        return 2
    if n < 2097151:
        return 3
    if n < 268435455:
        return 4
    return 5


def _backlen(n: int) -> bytes:
    if n <= 127:
        return bytes((n,))
    if n < 16383:
        return bytes((n >> 7, (n & 127) | 128))
    if n < 2097151:
        return bytes((n >> 14, ((n >> 7) & 127) | 128, (n & 127) | 128))
    if n < 268435455:
        return bytes((n >> 21, ((n >> 14) & 127) | 128, ((n >> 7) & 127) | 128, (n & 127) | 128))
    return bytes((n >> 28, ((n >> 21) & 127) | 128, ((n >> 14) & 127) | 128,
                  ((n >> 7) & 127) | 128, (n & 127) | 128))


def lp_decode(buf) -> list:
    """The elements of a listpack, in order (``bytes`` or ``int``)."""
    buf = bytes(buf)
    size = len(buf)
    if size < LP_HEADER + 1:
        raise BlobError("listpack shorter than its header")
    total = _u32(buf, 0)[0]
    if total != size:
        raise BlobError(f"listpack header says {total} bytes, blob has {size}")
    count = _u16(buf, 4)[0]
    if buf[-1] != LP_EOF:
        raise BlobError("listpack without its end byte")
    out = []
    append = out.append
    p = LP_HEADER
    end = size - 1
    while p < end:
        b = buf[p]
        if b < 0x80:  # 7-bit uint
            append(b)
            hdr, ln = 1, 0
        elif b < 0xC0:  # 6-bit string length
            ln = b & 0x3F
            hdr = 1
            append(buf[p + 1 : p + 1 + ln])
        elif b < 0xE0:  # 13-bit int
            if p + 2 > end:
                raise BlobError("listpack entry past the end")
            v = ((b & 0x1F) << 8) | buf[p + 1]
            append(v - 8192 if v >= 4096 else v)
            hdr, ln = 2, 0
        elif b < 0xF0:  # 12-bit string length
            if p + 2 > end:
                raise BlobError("listpack entry past the end")
            ln = ((b & 0x0F) << 8) | buf[p + 1]
            hdr = 2
            append(buf[p + 2 : p + 2 + ln])
        elif b == 0xF0:  # 32-bit string length
            if p + 5 > end:
                raise BlobError("listpack entry past the end")
            ln = _u32(buf, p + 1)[0]
            hdr = 5
            append(buf[p + 5 : p + 5 + ln])
        elif b == 0xF1:
            if p + 3 > end:
                raise BlobError("listpack entry past the end")
            append(_i16(buf, p + 1)[0])
            hdr, ln = 3, 0
        elif b == 0xF2:
            if p + 4 > end:
                raise BlobError("listpack entry past the end")
            append(int.from_bytes(buf[p + 1 : p + 4], "little", signed=True))
            hdr, ln = 4, 0
        elif b == 0xF3:
            if p + 5 > end:
                raise BlobError("listpack entry past the end")
            append(_i32(buf, p + 1)[0])
            hdr, ln = 5, 0
        elif b == 0xF4:
            if p + 9 > end:
                raise BlobError("listpack entry past the end")
            append(_i64(buf, p + 1)[0])
            hdr, ln = 9, 0
        else:
            raise BlobError(f"invalid listpack encoding byte 0x{b:02x} at {p}")
        entry = hdr + ln
        nb = _backlen_size(entry)
        q = p + entry
        if q + nb > end:
            raise BlobError("listpack entry past the end")
        if buf[q : q + nb] != _backlen(entry):
            raise BlobError(f"listpack back-length mismatch at {q}")
        p = q + nb
    if p != end:
        raise BlobError("listpack entries overrun the end byte")
    if count != 65535 and count != len(out):
        raise BlobError(f"listpack header counts {count} elements, found {len(out)}")
    return out


def _lp_int(v: int) -> bytes:
    if 0 <= v <= 127:
        enc = bytes((v,))
    elif -4096 <= v <= 4095:
        u = v & 0x1FFF
        enc = bytes((0xC0 | (u >> 8), u & 0xFF))
    elif -32768 <= v <= 32767:
        enc = b"\xf1" + struct.pack("<h", v)
    elif -8388608 <= v <= 8388607:
        enc = b"\xf2" + (v & 0xFFFFFF).to_bytes(3, "little")
    elif -2147483648 <= v <= 2147483647:
        enc = b"\xf3" + struct.pack("<i", v)
    else:
        enc = b"\xf4" + struct.pack("<q", v)
    return enc + _backlen(len(enc))


# Precomputed small ints: most counters, deltas and flags in stream nodes are tiny.
_SMALL = [_lp_int(v) for v in range(128)]


def lp_element(x) -> bytes:
    """One encoded listpack element (int, or bytes stored as int when canonical)."""
    if x.__class__ is int:
        return _SMALL[x] if 0 <= x < 128 else _lp_int(x)
    n = len(x)
    if n <= 20:
        v = str_to_int(x)
        if v is not None:
            return _SMALL[v] if 0 <= v < 128 else _lp_int(v)
    if n < 64:
        return bytes((0x80 | n,)) + x + _backlen(n + 1)
    if n < 4096:
        return bytes((0xE0 | (n >> 8), n & 0xFF)) + x + _backlen(n + 2)
    return b"\xf0" + struct.pack("<I", n) + x + _backlen(n + 5)


def lp_encode(items) -> bytes:
    """A listpack of ``items`` (bytes or ints)."""
    body = b"".join([lp_element(x) for x in items])
    count = len(items)
    total = LP_HEADER + len(body) + 1
    return struct.pack("<IH", total, count if count < 65535 else 65535) + body + b"\xff"


def lp_encode_parts(parts: list, count: int) -> bytes:
    """A listpack from already encoded elements."""
    body = b"".join(parts)
    total = LP_HEADER + len(body) + 1
    return struct.pack("<IH", total, count if count < 65535 else 65535) + body + b"\xff"


# -- ziplist (RDB 4 to 9) ---------------------------------------------------------------------

ZL_HEADER = 10


def zl_decode(buf) -> list:
    """The elements of a ziplist (``bytes`` or ``int``)."""
    buf = bytes(buf)
    size = len(buf)
    if size < ZL_HEADER + 1:
        raise BlobError("ziplist shorter than its header")
    zlbytes, zltail, zllen = struct.unpack_from("<IIH", buf, 0)
    if zlbytes != size:
        raise BlobError(f"ziplist header says {zlbytes} bytes, blob has {size}")
    if buf[-1] != 0xFF:
        raise BlobError("ziplist without its end byte")
    out = []
    append = out.append
    p = ZL_HEADER
    end = size - 1
    prev_len = 0
    last = ZL_HEADER
    while p < end:
        start = p
        b = buf[p]
        if b < 254:
            prevlen = b
            p += 1
        elif b == 254:
            if p + 5 > end:
                raise BlobError("ziplist entry past the end")
            prevlen = _u32(buf, p + 1)[0]
            p += 5
        else:
            raise BlobError(f"invalid ziplist prevlen byte at {p}")
        if prevlen != prev_len:
            raise BlobError(f"ziplist prevlen mismatch at {start}")
        if p >= end:
            raise BlobError("ziplist entry past the end")
        e = buf[p]
        kind = e >> 6
        if kind == 0:
            ln = e & 0x3F
            p += 1
            val = buf[p : p + ln]
        elif kind == 1:
            if p + 2 > end:
                raise BlobError("ziplist entry past the end")
            ln = ((e & 0x3F) << 8) | buf[p + 1]
            p += 2
            val = buf[p : p + ln]
        elif kind == 2:
            if e != 0x80 or p + 5 > end:
                raise BlobError(f"invalid ziplist encoding at {p}")
            ln = _u32be(buf, p + 1)[0]
            p += 5
            val = buf[p : p + ln]
        else:
            p += 1
            if e == 0xC0:
                ln = 2
                val = _i16(buf, p)[0] if p + 2 <= end else None
            elif e == 0xD0:
                ln = 4
                val = _i32(buf, p)[0] if p + 4 <= end else None
            elif e == 0xE0:
                ln = 8
                val = _i64(buf, p)[0] if p + 8 <= end else None
            elif e == 0xF0:
                ln = 3
                val = int.from_bytes(buf[p : p + 3], "little", signed=True)
            elif e == 0xFE:
                ln = 1
                val = int.from_bytes(buf[p : p + 1], "little", signed=True)
            elif 0xF1 <= e <= 0xFD:
                ln = 0
                val = (e & 0x0F) - 1
            else:
                raise BlobError(f"invalid ziplist encoding byte 0x{e:02x} at {p - 1}")
        if p + ln > end:
            raise BlobError("ziplist entry past the end")
        append(val)
        p += ln
        prev_len = p - start
        last = start
    if p != end:
        raise BlobError("ziplist entries overrun the end byte")
    if zltail != last:
        raise BlobError("ziplist tail offset mismatch")
    if zllen != 65535 and zllen != len(out):
        raise BlobError(f"ziplist header counts {zllen} elements, found {len(out)}")
    return out


# -- intset -----------------------------------------------------------------------------------


def intset_decode(buf) -> list[int]:
    """The integers of an intset, ascending."""
    buf = bytes(buf)
    if len(buf) < 8:
        raise BlobError("intset shorter than its header")
    enc, length = struct.unpack_from("<II", buf, 0)
    if enc not in (2, 4, 8):
        raise BlobError(f"invalid intset encoding {enc}")
    if 8 + enc * length != len(buf):
        raise BlobError("intset length does not match its size")
    fmt = {2: "h", 4: "i", 8: "q"}[enc]
    values = list(struct.unpack_from(f"<{length}{fmt}", buf, 8))
    for i in range(1, length):
        if values[i] <= values[i - 1]:
            raise BlobError("intset not sorted or with duplicates")
    return values


def intset_encode(values) -> bytes:
    """An intset of the given ints (sorted here), with the smallest fitting width."""
    vals = sorted(values)
    lo = vals[0] if vals else 0
    hi = vals[-1] if vals else 0
    if -32768 <= lo and hi <= 32767:
        enc, fmt = 2, "h"
    elif -2147483648 <= lo and hi <= 2147483647:
        enc, fmt = 4, "i"
    else:
        enc, fmt = 8, "q"
    return struct.pack(f"<II{len(vals)}{fmt}", enc, len(vals), *vals)


# -- zipmap (RDB 1 to 3 hashes) ---------------------------------------------------------------


def zipmap_decode(buf) -> list[tuple[bytes, bytes]]:
    """The (field, value) pairs of a zipmap."""
    buf = bytes(buf)
    size = len(buf)
    if size < 2:
        raise BlobError("zipmap too short")
    p = 1
    out = []

    def length(p):
        if p >= size:
            raise BlobError("zipmap entry past the end")
        b = buf[p]
        if b < 254:
            return b, p + 1
        if b == 254:
            if p + 5 > size:
                raise BlobError("zipmap entry past the end")
            return _u32(buf, p + 1)[0], p + 5
        return None, p + 1

    while True:
        klen, p = length(p)
        if klen is None:
            break
        if p + klen > size:
            raise BlobError("zipmap key past the end")
        key = buf[p : p + klen]
        p += klen
        vlen, p = length(p)
        if vlen is None:
            raise BlobError("zipmap key without a value")
        if p >= size:
            raise BlobError("zipmap entry past the end")
        free = buf[p]
        p += 1
        if p + vlen + free > size:
            raise BlobError("zipmap value past the end")
        out.append((key, buf[p : p + vlen]))
        p += vlen + free
    if p != size:
        raise BlobError("zipmap has bytes after its end")
    if buf[0] < 254 and buf[0] != len(out):
        raise BlobError("zipmap count mismatch")
    return out

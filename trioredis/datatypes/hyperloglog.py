"""The HyperLogLog value: Redis 7.0's own bytes, and the algorithm on them (sans-I/O).

A HyperLogLog is a plain string value holding exactly what Redis 7.0's hyperloglog.c stores, so
GET/SET/DUMP/replication move them between trioredis and Redis unchanged:

* a 16 byte header: ``HYLL``, the encoding (0 dense, 1 sparse), 3 unused bytes, the cached
  cardinality (64 bit little endian; the top bit set means "stale");
* dense: 16384 registers of 6 bits, packed from the least significant bit up (12288 bytes);
* sparse: run-length opcodes ZERO ``00xxxxxx`` (1..64 zero registers), XZERO
  ``01xxxxxx yyyyyyyy`` (1..16384 zero registers), VAL ``1vvvvvxx`` (1..4 registers of value
  1..32), promoted to dense when a value exceeds 32 or the string would outgrow
  ``hll-sparse-max-bytes``.

The sparse update is a step-by-step port of ``hllSparseSet`` (where it splits, how far it merges
equal neighbours), because the bytes depend on the order registers were set. Whole-register
work (counting, merging, dense packing) is vectorised with ``bytes.translate`` and slicing:
one register per byte ("raw" arrays, as Redis's HLL_RAW) is the common currency.
The estimator is Redis 5+'s (Ertl's improved estimator, ``hllCount`` with tau/sigma).

Here live the format constants, the hash, dense and sparse encodings, the estimator and the
register updates; the commands (and their errors and configuration) are in
``commands/hyperloglog.py``. Nothing here knows about keys, clients or replies.
"""

from __future__ import annotations

import math
import re
import struct
from bisect import bisect_right

HLL_P = 14
HLL_Q = 64 - HLL_P
HLL_REGISTERS = 1 << HLL_P
HLL_P_MASK = HLL_REGISTERS - 1
HDR = 16
DENSE_BYTES = HLL_REGISTERS * 6 // 8
DENSE_SIZE = HDR + DENSE_BYTES
DENSE, SPARSE = 0, 1
VAL_MAX_VALUE = 32
VAL_MAX_LEN = 4
ZERO_MAX_LEN = 64
ALPHA_INF = 0.721347520444481703680  # 0.5 / ln(2)

# createHLLObject: a sparse HLL of one XZERO opcode covering all registers, cache valid (0).
EMPTY_SPARSE = b"HYLL\x01" + bytes(11) + b"\x7f\xff"

# -- MurmurHash64A (Redis's endian-neutral variant, seed 0xadc83b19) ---------------------------

_M = 0xC6A4A7935BD1E995
_MASK = (1 << 64) - 1
_SEED = 0xADC83B19
_iter_q = struct.Struct("<Q").iter_unpack


def murmur64a(data: bytes, seed: int = _SEED) -> int:
    n = len(data)
    h = seed ^ ((n * _M) & _MASK)
    end = n - (n & 7)
    if end:
        m = _M
        mask = _MASK
        for (k,) in _iter_q(memoryview(data)[:end]):
            k = (k * m) & mask
            k ^= k >> 47
            h = ((h ^ ((k * m) & mask)) * m) & mask
    if n & 7:
        h = ((h ^ int.from_bytes(data[end:], "little")) * _M) & _MASK
    h ^= h >> 47
    h = (h * _M) & _MASK
    return h ^ (h >> 47)


def pat_len(ele: bytes) -> tuple[int, int]:
    """hllPatLen: (register index, length of the 000..1 run that follows the index bits)."""
    h = murmur64a(ele)
    rest = (h >> HLL_P) | (1 << HLL_Q)
    return h & HLL_P_MASK, (rest & -rest).bit_length()


_q2 = struct.Struct("<QQ").unpack_from


def pat_lens(elements) -> list[tuple[int, int]]:
    """:func:`pat_len` of each element: the hash inlined in one loop (PFADD of many elements),
    with the two-word case (most short strings, floats' text among them) unrolled."""
    m = _M
    mask = _MASK
    p = HLL_P
    pmask = HLL_P_MASK
    q1 = 1 << HLL_Q
    out = []
    append = out.append
    for data in elements:
        n = len(data)
        h = _SEED ^ ((n * m) & mask)
        q = n >> 3
        if q == 2:
            k1, k2 = _q2(data)
            k1 = (k1 * m) & mask
            h = ((h ^ (((k1 ^ (k1 >> 47)) * m) & mask)) * m) & mask
            k2 = (k2 * m) & mask
            h = ((h ^ (((k2 ^ (k2 >> 47)) * m) & mask)) * m) & mask
        elif q:
            for (k,) in _iter_q(memoryview(data)[:q << 3]):
                k = (k * m) & mask
                h = ((h ^ (((k ^ (k >> 47)) * m) & mask)) * m) & mask
        if n & 7:
            h = ((h ^ int.from_bytes(data[q << 3:], "little")) * m) & mask
        h ^= h >> 47
        h = (h * m) & mask
        h ^= h >> 47
        rest = (h >> p) | q1
        append((h & pmask, (rest & -rest).bit_length()))
    return out


# -- dense registers ---------------------------------------------------------------------------


def dense_get(buf, i: int) -> int:
    bit = i * 6
    pos = HDR + (bit >> 3)
    fb = bit & 7
    v = buf[pos] >> fb
    if fb > 2:
        v |= buf[pos + 1] << (8 - fb)
    return v & 63


def dense_set(buf: bytearray, i: int, v: int) -> None:
    bit = i * 6
    pos = HDR + (bit >> 3)
    fb = bit & 7
    buf[pos] = (buf[pos] & ~(63 << fb) & 0xFF) | ((v << fb) & 0xFF)
    if fb > 2:
        fb8 = 8 - fb
        buf[pos + 1] = (buf[pos + 1] & ~(63 >> fb8) & 0xFF) | (v >> fb8)


def _table(fn) -> bytes:
    return bytes(fn(b) & 0xFF for b in range(256))


_LOW6 = _table(lambda b: b & 63)
_HI2 = _table(lambda b: b >> 6)
_LOW4_UP2 = _table(lambda b: (b & 15) << 2)
_HI4 = _table(lambda b: b >> 4)
_LOW2_UP4 = _table(lambda b: (b & 3) << 4)
_HI6 = _table(lambda b: b >> 2)
_LOW2_UP6 = _table(lambda b: (b & 3) << 6)
_UP4 = _table(lambda b: b << 4)
_UP2 = _table(lambda b: b << 2)


def _or(a: bytes, b: bytes) -> bytes:
    return (int.from_bytes(a, "big") | int.from_bytes(b, "big")).to_bytes(len(a), "big")


def dense_to_raw(buf) -> bytearray:
    """The 16384 dense registers, one per byte."""
    regs = bytes(buf[HDR:DENSE_SIZE])
    b0, b1, b2 = regs[0::3], regs[1::3], regs[2::3]
    raw = bytearray(HLL_REGISTERS)
    raw[0::4] = b0.translate(_LOW6)
    raw[1::4] = _or(b0.translate(_HI2), b1.translate(_LOW4_UP2))
    raw[2::4] = _or(b1.translate(_HI4), b2.translate(_LOW2_UP4))
    raw[3::4] = b2.translate(_HI6)
    return raw


def raw_to_dense(raw) -> bytearray:
    """Pack 16384 registers (values below 64) into the 12288 dense bytes."""
    raw = bytes(raw)
    r0, r1, r2, r3 = raw[0::4], raw[1::4], raw[2::4], raw[3::4]
    out = bytearray(DENSE_BYTES)
    out[0::3] = _or(r0, r1.translate(_LOW2_UP6))
    out[1::3] = _or(r1.translate(_HI6), r2.translate(_UP4))
    out[2::3] = _or(r2.translate(_HI4), r3.translate(_UP2))
    return out


_LANE_HIGH = int.from_bytes(b"\x80" * HLL_REGISTERS, "big")
_LANES = int.from_bytes(b"\xff" * HLL_REGISTERS, "big")


def raw_max(a: bytes, b: bytes) -> bytes:
    """Register-wise maximum (the union of two HLLs), on whole arrays as big integers: with
    registers below 128, ``(a | 0x80) - b`` keeps its high bit exactly where a >= b, and no
    byte borrows from the next (PFCOUNT of several keys merges on every call)."""
    if a == b:
        return a
    if len(a) != HLL_REGISTERS or len(b) != HLL_REGISTERS:
        return bytes(map(max, a, b))
    x = int.from_bytes(a, "big")
    y = int.from_bytes(b, "big")
    ge = (((x | _LANE_HIGH) - y) & _LANE_HIGH) >> 7  # 1 in each byte where a >= b
    keep = (ge << 8) - ge  # 0xff there
    return ((x & keep) | (y & (keep ^ _LANES))).to_bytes(HLL_REGISTERS, "big")


# -- sparse representation ---------------------------------------------------------------------


def sparse_to_raw(buf) -> bytearray | None:
    """The registers of a sparse HLL, one per byte, or None when the opcodes do not cover
    exactly 16384 registers (hllSparseToDense / hllMerge's validity rule: Redis 7.0.15 refuses
    a VAL past the last register, even after an exact cover)."""
    raw = bytearray(HLL_REGISTERS)
    idx = 0
    p = HDR
    end = len(buf)
    while p < end:
        b = buf[p]
        if b < 0x40:
            idx += b + 1
            p += 1
        elif b < 0x80:
            idx += (((b & 0x3F) << 8) | (buf[p + 1] if p + 1 < end else 0)) + 1
            p += 2
        else:
            run = (b & 3) + 1
            if idx + run > HLL_REGISTERS:
                return None
            val = ((b >> 2) & 0x1F) + 1
            raw[idx:idx + run] = bytes((val,)) * run
            idx += run
            p += 1
    return raw if idx == HLL_REGISTERS else None


def sparse_to_dense(buf: bytearray) -> bool:
    """Convert ``buf`` in place (header kept, encoding set to dense); False if corrupted."""
    if buf[4] == DENSE:
        return True
    raw = sparse_to_raw(buf)
    if raw is None:
        return False
    header = bytearray(buf[:HDR])
    header[4] = DENSE
    buf[:] = header + raw_to_dense(raw)
    return True


def _zero_op(n: int) -> bytes:
    """ZERO or XZERO for ``n`` zero registers, as hllSparseSet picks."""
    if n > ZERO_MAX_LEN:
        n -= 1
        return bytes(((n >> 8) | 0x40, n & 0xFF))
    return bytes((n - 1,))


def sparse_set(buf: bytearray, index: int, count: int, max_bytes: int) -> int:
    """hllSparseSet: raise register ``index`` to ``count``. 1 changed, 0 not, -1 corrupted.

    May promote ``buf`` (in place) to dense, as Redis does.
    """
    if count > VAL_MAX_VALUE:
        return _promote(buf, index, count)
    # Step 1: find the opcode that covers ``index``.
    end = len(buf)
    p = HDR
    first = 0
    prev = -1
    span = 0
    while p < end:
        b = buf[p]
        if b < 0x40:
            span = b + 1
            oplen = 1
        elif b >= 0x80:
            span = (b & 3) + 1
            oplen = 1
        else:
            span = (((b & 0x3F) << 8) | (buf[p + 1] if p + 1 < end else 0)) + 1
            oplen = 2
        if index <= first + span - 1:
            break
        prev = p
        p += oplen
        first += span
    if span == 0 or p >= end:
        return -1
    b = buf[p]
    # Step 2: the trivial cases, else the split of the opcode.
    if b >= 0x80:
        curval = ((b >> 2) & 0x1F) + 1
        if curval >= count:
            return 0
        if span == 1:
            buf[p] = ((count - 1) << 2) | 0x80
            return _merge(buf, prev)
    elif b < 0x40 and span == 1:
        buf[p] = ((count - 1) << 2) | 0x80
        return _merge(buf, prev)
    last = first + span - 1
    new = ((count - 1) << 2) | 0x80
    if b < 0x80:
        seq = (_zero_op(index - first) if index != first else b"") + bytes((new,))
        if index != last:
            seq += _zero_op(last - index)
        oldlen = 2 if b >= 0x40 else 1
    else:
        cur = b & 0xFC
        seq = bytearray()
        if index != first:
            seq.append(cur | (index - first - 1))
        seq.append(new)
        if index != last:
            seq.append(cur | (last - index - 1))
        oldlen = 1
    # Step 3: put the new sequence in place of the old opcode, unless too big.
    delta = len(seq) - oldlen
    if delta > 0 and end + delta > max_bytes:
        return _promote(buf, index, count)
    buf[p:p + oldlen] = seq
    if len(buf) > end + delta:  # a truncated XZERO at the very end (corrupted input)
        del buf[end + delta:]
    return _merge(buf, prev)


def _merge(buf: bytearray, prev: int) -> int:
    """Step 4 of hllSparseSet: merge equal adjacent VALs, scanning 5 opcodes from ``prev``."""
    p = prev if prev >= 0 else HDR
    end = len(buf)
    scan = 5
    while p < end and scan:
        scan -= 1
        b = buf[p]
        if b < 0x80:
            p += 2 if b >= 0x40 else 1
            continue
        if p + 1 < end:
            b2 = buf[p + 1]
            if b2 & 0x80 and (b ^ b2) & 0x7C == 0:
                n = (b & 3) + (b2 & 3) + 2
                if n <= VAL_MAX_LEN:
                    buf[p + 1] = (b & 0xFC) | (n - 1)
                    del buf[p]
                    end -= 1
                    continue
        p += 1
    buf[15] |= 0x80  # invalidate the cached cardinality
    return 1


def _promote(buf: bytearray, index: int, count: int) -> int:
    if not sparse_to_dense(buf):
        return -1
    if count > dense_get(buf, index):
        dense_set(buf, index, count)
    return 1


def sparse_histo(buf) -> list[int] | None:
    """hllSparseRegHisto: register value histogram, or None when the coverage is wrong."""
    histo = [0] * 64
    idx = 0
    p = HDR
    end = len(buf)
    while p < end:
        b = buf[p]
        if b < 0x40:
            run = b + 1
            histo[0] += run
            p += 1
        elif b < 0x80:
            run = (((b & 0x3F) << 8) | (buf[p + 1] if p + 1 < end else 0)) + 1
            histo[0] += run
            p += 2
        else:
            run = (b & 3) + 1
            histo[((b >> 2) & 0x1F) + 1] += run
            p += 1
        idx += run
    return histo if idx == HLL_REGISTERS else None


def decode_sparse(buf) -> bytes:
    """PFDEBUG DECODE's text: ``z:<n>`` ZERO, ``Z:<n>`` XZERO, ``v:<value>,<n>`` VAL."""
    out = []
    p = HDR
    end = len(buf)
    while p < end:
        b = buf[p]
        if b < 0x40:
            out.append(b"z:%d" % (b + 1))
            p += 1
        elif b < 0x80:
            out.append(b"Z:%d" % ((((b & 0x3F) << 8) | (buf[p + 1] if p + 1 < end else 0)) + 1))
            p += 2
        else:
            out.append(b"v:%d,%d" % (((b >> 2) & 0x1F) + 1, (b & 3) + 1))
            p += 1
    return b" ".join(out)


# -- the estimator -----------------------------------------------------------------------------


def raw_histo(raw: bytes) -> list[int]:
    count = raw.count
    return [count(bytes((v,))) for v in range(64)]


def _sigma(x: float) -> float:
    if x == 1.0:
        return math.inf
    y = 1.0
    z = x
    while True:
        x *= x
        zp = z
        z += x * y
        y += y
        if zp == z:
            return z


def _tau(x: float) -> float:
    if x == 0.0 or x == 1.0:
        return 0.0
    y = 1.0
    z = 1 - x
    while True:
        x = math.sqrt(x)
        zp = z
        y *= 0.5
        z -= math.pow(1 - x, 2) * y
        if zp == z:
            return z / 3


def count_from_histo(histo: list[int]) -> int:
    """hllCount's estimate from the register histogram (Ertl, arXiv:1702.01284)."""
    m = float(HLL_REGISTERS)
    z = m * _tau((m - histo[HLL_Q + 1]) / m)
    for j in range(HLL_Q, 0, -1):
        z += histo[j]
        z *= 0.5
    z += m * _sigma(histo[0] / m)
    e = ALPHA_INF * m * m / z
    whole = math.floor(e)  # llroundl: halves away from zero
    return int(whole) + (1 if e - whole >= 0.5 else 0)


def hll_count(buf) -> int | None:
    """The estimated cardinality of a validated HLL value (None: corrupted sparse)."""
    if buf[4] == DENSE:
        return count_from_histo(raw_histo(dense_to_raw(buf)))
    histo = sparse_histo(buf)
    return None if histo is None else count_from_histo(histo)


def registers(buf) -> bytearray | None:
    """hllMerge's view: one register per byte (None: corrupted sparse)."""
    return dense_to_raw(buf) if buf[4] == DENSE else sparse_to_raw(buf)


# -- validation --------------------------------------------------------------------------------


def is_hll(v) -> bool:
    """isHLLObjectOrReply's checks on a string value."""
    n = len(v)
    if n < HDR or v[:4] != b"HYLL":
        return False
    enc = v[4]
    return enc == SPARSE or (enc == DENSE and n == DENSE_SIZE)


# -- register updates (byte level and bulk opcode lists) ---------------------------------------


_BULK = 16  # from this many pending updates on, a sparse HLL is edited as a list of opcodes
_PROMOTE = -2


class SparseEditor:
    """The opcodes of a sparse HLL as lists, for many updates in one command.

    ``ops`` holds each opcode as an int (ZERO and VAL: their byte; XZERO: its two bytes, big
    endian) and ``starts`` the first register each covers, so finding the opcode of a register
    is a bisect instead of a scan from the start. :meth:`set` makes exactly the changes
    ``sparse_set`` makes to the bytes. Only for well-formed values (opcodes covering exactly
    16384 registers): :meth:`load` returns None otherwise and the byte-level code takes over.
    """

    __slots__ = ("ops", "starts", "size", "changed")

    @classmethod
    def load(cls, buf) -> SparseEditor | None:
        ops = []
        starts = []
        idx = 0
        p = HDR
        end = len(buf)
        while p < end:
            b = buf[p]
            starts.append(idx)
            if b < 0x40:
                ops.append(b)
                idx += b + 1
                p += 1
            elif b < 0x80:
                if p + 1 >= end:
                    return None
                code = (b << 8) | buf[p + 1]
                ops.append(code)
                idx += (code & 0x3FFF) + 1
                p += 2
            else:
                ops.append(b)
                idx += (b & 3) + 1
                p += 1
        if idx != HLL_REGISTERS:
            return None
        ed = cls()
        ed.ops = ops
        ed.starts = starts
        ed.size = end
        ed.changed = False
        return ed

    def store(self, buf: bytearray) -> None:
        out = bytearray()
        append = out.append
        for code in self.ops:
            if code > 0xFF:
                append(code >> 8)
                append(code & 0xFF)
            else:
                append(code)
        buf[HDR:] = out
        if self.changed:
            buf[15] |= 0x80

    def set(self, index: int, count: int, max_bytes: int) -> int:
        """1 changed, 0 not, or _PROMOTE when the HLL must become dense first."""
        if count > VAL_MAX_VALUE:
            return _PROMOTE
        ops = self.ops
        starts = self.starts
        k = bisect_right(starts, index) - 1
        code = ops[k]
        first = starts[k]
        span = (starts[k + 1] if k + 1 < len(starts) else HLL_REGISTERS) - first
        new = ((count - 1) << 2) | 0x80
        is_val = 0x80 <= code <= 0xFF
        if is_val:
            if ((code >> 2) & 0x1F) + 1 >= count:
                return 0
            if span == 1:
                ops[k] = new
                self._merge(k)
                return 1
        elif code < 0x40 and span == 1:
            ops[k] = new
            self._merge(k)
            return 1
        last = first + span - 1
        seq = []
        sst = []
        nbytes = 1
        if not is_val:
            if index != first:
                z = _zero_code(index - first)
                seq.append(z)
                sst.append(first)
                nbytes += 2 if z > 0xFF else 1
            seq.append(new)
            sst.append(index)
            if index != last:
                z = _zero_code(last - index)
                seq.append(z)
                sst.append(index + 1)
                nbytes += 2 if z > 0xFF else 1
            oldlen = 2 if code > 0xFF else 1
        else:
            cur = code & 0xFC
            if index != first:
                seq.append(cur | (index - first - 1))
                sst.append(first)
                nbytes += 1
            seq.append(new)
            sst.append(index)
            if index != last:
                seq.append(cur | (last - index - 1))
                sst.append(index + 1)
                nbytes += 1
            oldlen = 1
        delta = nbytes - oldlen
        if delta > 0 and self.size + delta > max_bytes:
            return _PROMOTE
        ops[k:k + 1] = seq
        starts[k:k + 1] = sst
        self.size += delta
        self._merge(k)
        return 1

    def _merge(self, k: int) -> None:
        """Step 4 of hllSparseSet on the lists (see :func:`_merge`)."""
        self.changed = True
        ops = self.ops
        q = k - 1 if k > 0 else 0
        scan = 5
        while q < len(ops) and scan:
            scan -= 1
            a = ops[q]
            if a < 0x80 or a > 0xFF:
                q += 1
                continue
            if q + 1 < len(ops):
                b = ops[q + 1]
                if 0x80 <= b <= 0xFF and (a ^ b) & 0x7C == 0:
                    n = (a & 3) + (b & 3) + 2
                    if n <= VAL_MAX_LEN:
                        ops[q] = (a & 0xFC) | (n - 1)
                        del ops[q + 1]
                        del self.starts[q + 1]
                        self.size -= 1
                        continue
            q += 1


def _zero_code(n: int) -> int:
    return 0x4000 | (n - 1) if n > ZERO_MAX_LEN else n - 1


_BATCH = 256  # from this many updates on, try the whole-register paths first
_NONZERO = bytes([0] + [1] * 255)
_LONG_VAL_RUNS = re.compile(rb"(?:([^\x00])\1{%d,})" % VAL_MAX_LEN).finditer


def _min_sparse_size(raw) -> int:
    """The shortest sparse encoding of ``raw``: a ZERO per zero run (an XZERO, one byte more,
    past 64), a VAL per 4 equal registers. Counted on whole arrays: a value run starts where
    a register is not zero and differs from the one before it."""
    n = len(raw)
    nz = raw.translate(_NONZERO)
    zero_runs = [z for z in nz.split(b"\x01") if z]
    size = HDR + len(zero_runs) + sum(1 for z in zero_runs if len(z) > ZERO_MAX_LEN)
    x = int.from_bytes(raw, "big")
    changed = int.from_bytes((x ^ (x >> 8)).to_bytes(n, "big").translate(_NONZERO), "big")
    nzi = int.from_bytes(nz, "big")
    size += (changed & nzi).to_bytes(n, "big").count(1)  # value runs
    if (nzi & ~changed).to_bytes(n, "big").find(b"\x01" * VAL_MAX_LEN) >= 0:
        for m in _LONG_VAL_RUNS(raw):  # 5 or more equal: one VAL more per 4 past the first
            size += (m.end() - m.start() - 1) >> 2
    return size


def _apply(raw: bytearray, pairs: list) -> int:
    """Raise the raw registers in order; how many updates changed one."""
    updated = 0
    for index, count in pairs:
        if count > raw[index]:
            raw[index] = count
            updated += 1
    return updated


def _set_registers_batch(buf: bytearray, pairs: list, max_bytes: int) -> int | None:
    """The outcome of many updates computed on raw registers when it does not depend on their
    order, else None (then they are replayed one by one).

    A dense HLL just ends with the register-wise maximum. A sparse one certainly ends dense
    when a count exceeds 32, or when even the shortest sparse encoding of the final registers
    is over ``max_bytes`` (the one-by-one updates never let the string outgrow the limit
    without promoting it); promotion keeps the header and the registers, and every later
    update is a dense one, so the result is again the maximum. Which updates change a
    register (PFADD's count) follows their order either way."""
    if buf[4] == DENSE:
        if len(buf) != DENSE_SIZE:
            return None
        raw = dense_to_raw(buf)
        updated = _apply(raw, pairs)
        if updated:
            buf[HDR:] = raw_to_dense(raw)
        return updated
    if SparseEditor.load(buf) is None:  # not well formed: the one-by-one port decides
        return None
    raw = sparse_to_raw(buf)
    if raw is None:
        return None
    updated = _apply(raw, pairs)
    if max(count for _, count in pairs) <= VAL_MAX_VALUE and _min_sparse_size(raw) <= max_bytes:
        return None  # maybe still sparse: its bytes depend on the order of the updates
    header = bytearray(buf[:HDR])
    header[4] = DENSE
    buf[:] = header + raw_to_dense(raw)
    return updated


def set_registers(buf: bytearray, pairs: list, max_bytes: int) -> int:
    """Raise registers to ``(index, count)`` in order, as Redis's hllDenseSet/hllSparseSet do
    one by one (promotion included). Returns how many changed, or -1 if the value is corrupted
    (the updates before stay, as in Redis)."""
    if len(pairs) >= _BATCH:
        updated = _set_registers_batch(buf, pairs, max_bytes)
        if updated is not None:
            return updated
    updated = 0
    ed = None
    tried = False
    n = len(pairs)
    for i, (index, count) in enumerate(pairs):
        if ed is None:
            if buf[4] == DENSE:
                if count > dense_get(buf, index):
                    dense_set(buf, index, count)
                    updated += 1
                continue
            if not tried and n - i >= _BULK:
                tried = True
                ed = SparseEditor.load(buf)
        if ed is not None:
            r = ed.set(index, count, max_bytes)
            if r != _PROMOTE:
                updated += r
                continue
            ed.store(buf)
            ed = None
            r = _promote(buf, index, count)
        else:
            r = sparse_set(buf, index, count, max_bytes)
        if r < 0:
            return -1
        updated += r
    if ed is not None:
        ed.store(buf)
    return updated


def add_elements(buf: bytearray, elements, max_bytes: int) -> int:
    """hllAdd for each element: how many registers changed, or -1 (corrupted)."""
    return set_registers(buf, pat_lens(elements), max_bytes)

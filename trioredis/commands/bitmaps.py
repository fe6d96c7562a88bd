"""Bitmap commands on string values: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD(_RO).

Bit 0 is the most significant bit of the first byte, as in Redis. Writes turn the value into a
``bytearray`` (Redis's ``raw`` encoding) and change it in place; reads accept both string
classes. Counting, searching and the bitwise operations run in C through ``int`` and ``re``.
"""

from __future__ import annotations

import re

from ..errors import NOT_INTEGER, SYNTAX, WRONGTYPE, CommandError
from ..keyspace import NOTIFY_GENERIC, NOTIFY_STRING
from .args import parse_int, to_int
from .keys import lookup_read
from .registry import command

BIT_OFFSET_ERR = "ERR bit offset is not an integer or out of range"
BIT_VALUE_ERR = "ERR bit is not an integer or out of range"
BITFIELD_TYPE_ERR = (
    "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported "
    "but i64 is."
)
_NOT_ZERO = re.compile(rb"[^\x00]")
_NOT_FF = re.compile(rb"[^\xff]")


def _read_string(db, key: bytes):
    v = lookup_read(db, key)
    if v is not None and v.__class__ is not bytes and v.__class__ is not bytearray:
        raise CommandError(WRONGTYPE)
    return v


def bit_offset(c, b: bytes, hash_ok: bool = False, bits: int = 0) -> int:
    """Redis's getBitOffsetFromArgument: a bit offset below proto-max-bulk-len * 8.

    With ``hash_ok`` (BITFIELD), ``#n`` means the n-th field of ``bits`` bits.
    """
    usehash = hash_ok and b[:1] == b"#" and bits > 0
    v = to_int(b[1:] if usehash else b)
    if v is None:
        raise CommandError(BIT_OFFSET_ERR)
    if usehash:
        v *= bits
    if v < 0 or (not c.is_master and (v >> 3) >= c.server.config["proto-max-bulk-len"]):
        raise CommandError(BIT_OFFSET_ERR)
    return v


def _string_for_write(db, key: bytes, maxbit: int) -> tuple[bytearray, bool]:
    """Redis's lookupStringForBitCommand: the value as a bytearray long enough for ``maxbit``,
    and whether that created or grew it (a change even when no bit flips)."""
    v = db.lookup(key)
    need = (maxbit >> 3) + 1
    if v is None:
        v = bytearray(need)
        db.store(key, v)
        return v, True
    cls = v.__class__
    if cls is bytes:
        v = bytearray(v)
        db.store(key, v, keepttl=True)
    elif cls is not bytearray:
        raise CommandError(WRONGTYPE)
    if len(v) < need:
        v.extend(bytes(need - len(v)))
        return v, True
    return v, False


# -- SETBIT, GETBIT ----------------------------------------------------------------------------


@command("setbit", 4, "write denyoom", keys=(1, 1, 1), group="bitmap", since="2.2.0",
         summary="Sets or clears the bit at offset in the string value stored at key")
def setbit(c, argv):
    """Set or clear one bit (the string grows as needed); returns the old bit."""
    offset = bit_offset(c, argv[2])
    on = parse_int(argv[3], BIT_VALUE_ERR)
    if on & ~1:
        raise CommandError(BIT_VALUE_ERR)
    db = c.db
    key = argv[1]
    v, grown = _string_for_write(db, key, offset)
    byte = offset >> 3
    mask = 0x80 >> (offset & 7)
    old = 1 if v[byte] & mask else 0
    if grown or old != on:  # as Redis 7.0: no change, no dirty, no event, no propagation
        v[byte] = (v[byte] | mask) if on else (v[byte] & ~mask)
        db.modified(key, b"setbit", NOTIFY_STRING)
    return old


@command("getbit", 3, "readonly fast", keys=(1, 1, 1), group="bitmap", since="2.2.0",
         summary="Returns the bit value at offset in the string value stored at key")
def getbit(c, argv):
    """The bit at an offset (0 beyond the end or when the key is missing)."""
    offset = bit_offset(c, argv[2])
    v = _read_string(c.db, argv[1])
    if v is None:
        return 0
    byte = offset >> 3
    if byte >= len(v):
        return 0
    return 1 if v[byte] & (0x80 >> (offset & 7)) else 0


# -- BITCOUNT, BITPOS --------------------------------------------------------------------------


def _range(start: int, end: int, total: int):
    """Redis's index normalisation: negative from the end, clamped to [0, total - 1]."""
    if start < 0:
        start += total
    if end < 0:
        end += total
    if start < 0:
        start = 0
    if end < 0:
        end = 0
    if end >= total:
        end = total - 1
    return start, end


def _unit(b: bytes) -> bool:
    """BIT or BYTE: True for BIT."""
    u = b.lower()
    if u == b"bit":
        return True
    if u == b"byte":
        return False
    raise CommandError(SYNTAX)


def _count_bits(v, first: int, last: int) -> int:
    """Set bits in the bit range [first, last]."""
    chunk = v[first >> 3 : (last >> 3) + 1]
    x = int.from_bytes(chunk, "big") >> (7 - (last & 7))
    return (x & ((1 << (last - first + 1)) - 1)).bit_count()


@command("bitcount", -2, "readonly", keys=(1, 1, 1), group="bitmap", since="2.6.0",
         summary="Count set bits in a string")
def bitcount(c, argv):
    """Count set bits, optionally in a BYTE or BIT range."""
    v = _read_string(c.db, argv[1])
    if v is None:
        return 0
    n = len(argv)
    isbit = False
    if n in (4, 5):
        start = parse_int(argv[2])
        end = parse_int(argv[3])
        if start < 0 and end < 0 and start > end:
            return 0
        if n == 5:
            isbit = _unit(argv[4])
        start, end = _range(start, end, len(v) * 8 if isbit else len(v))
    elif n == 2:
        start, end = 0, len(v) - 1
    else:
        raise CommandError(SYNTAX)
    if start > end:
        return 0
    if isbit:
        return _count_bits(v, start, end)
    return _count_bits(v, start * 8, end * 8 + 7)


def _find_bit(v, bit: int, first: int, last: int) -> int:
    """The first bit index in [first, last] whose value is ``bit``, or -1."""
    i = first
    while i <= last and i & 7:
        if ((v[i >> 3] >> (7 - (i & 7))) & 1) == bit:
            return i
        i += 1
    b0, b1 = i >> 3, (last + 1) >> 3
    if b0 < b1:
        m = (_NOT_ZERO if bit else _NOT_FF).search(v, b0, b1)
        if m is not None:
            at = m.start()
            byte = v[at] if bit else v[at] ^ 0xFF
            return at * 8 + 8 - byte.bit_length()
        i = b1 * 8
    while i <= last:
        if ((v[i >> 3] >> (7 - (i & 7))) & 1) == bit:
            return i
        i += 1
    return -1


@command("bitpos", -3, "readonly", keys=(1, 1, 1), group="bitmap", since="2.8.7",
         summary="Find first bit set or clear in a string")
def bitpos(c, argv):
    """Position of the first 0 or 1 bit, optionally in a BYTE or BIT range."""
    bit = parse_int(argv[2])
    if bit != 0 and bit != 1:
        raise CommandError("ERR The bit argument must be 1 or 0.")
    v = _read_string(c.db, argv[1])
    if v is None:
        return -1 if bit else 0
    n = len(argv)
    isbit = end_given = False
    if 4 <= n <= 6:
        start = parse_int(argv[3])
        if n == 6:
            isbit = _unit(argv[5])
        if n >= 5:
            end = parse_int(argv[4])
            end_given = True
        else:
            end = len(v) * 8 + 7 if isbit else len(v) - 1
        start, end = _range(start, end, len(v) * 8 if isbit else len(v))
    elif n == 3:
        start, end = 0, len(v) - 1
    else:
        raise CommandError(SYNTAX)
    if start > end:
        return -1
    if not isbit:
        start, end = start * 8, end * 8 + 7
    pos = _find_bit(v, bit, start, end)
    if pos < 0 and bit == 0 and not end_given:
        return end + 1  # no clear bit: the string counts as padded with zeros on the right
    return pos


# -- BITOP -------------------------------------------------------------------------------------


@command("bitop", -4, "write denyoom", keys=(2, -1, 1), group="bitmap", since="2.6.0",
         summary="Perform bitwise operations between strings")
def bitop(c, argv):
    """AND, OR, XOR or NOT of strings (zero-padded) into a destination key."""
    op = argv[1].lower()
    if op not in (b"and", b"or", b"xor", b"not"):
        raise CommandError(SYNTAX)
    if op == b"not" and len(argv) != 4:
        raise CommandError("ERR BITOP NOT must be called with a single source key.")
    db = c.db
    srcs = [_read_string(db, k) or b"" for k in argv[3:]]
    maxlen = max(len(s) for s in srcs)
    dest = argv[2]
    if maxlen == 0:
        if db.delete(dest):
            db.modified(dest, b"del", NOTIFY_GENERIC)
        return 0
    vals = [int.from_bytes(s, "big") << (8 * (maxlen - len(s))) for s in srcs]
    if op == b"not":
        res = ~vals[0] & ((1 << (8 * maxlen)) - 1)
    else:
        res = vals[0]
        if op == b"and":
            for x in vals[1:]:
                res &= x
        elif op == b"or":
            for x in vals[1:]:
                res |= x
        else:
            for x in vals[1:]:
                res ^= x
    db.lookup(dest)  # an expired destination goes first
    db.store(dest, bytearray(res.to_bytes(maxlen, "big")))
    db.modified(dest, b"set", NOTIFY_STRING)
    return maxlen


# -- BITFIELD ----------------------------------------------------------------------------------

_GET, _SET, _INCRBY = 0, 1, 2
_WRAP, _SAT, _FAIL = 0, 1, 2
_OVERFLOW_TYPES = {b"wrap": _WRAP, b"sat": _SAT, b"fail": _FAIL}


def _field_type(b: bytes):
    """``i1``..``i64`` or ``u1``..``u63``: (signed, bits)."""
    sign = b[:1]
    if sign not in (b"i", b"u"):
        raise CommandError(BITFIELD_TYPE_ERR)
    bits = to_int(b[1:])
    signed = sign == b"i"
    if bits is None or bits < 1 or bits > (64 if signed else 63):
        raise CommandError(BITFIELD_TYPE_ERR)
    return signed, bits


def get_field(v, offset: int, bits: int, signed: bool) -> int:
    """Read ``bits`` bits at bit ``offset`` (zero beyond the end)."""
    first, last = offset >> 3, (offset + bits - 1) >> 3
    nbytes = last - first + 1
    chunk = v[first : last + 1]
    x = int.from_bytes(chunk, "big") << (8 * (nbytes - len(chunk)))
    x = (x >> (nbytes * 8 - (offset & 7) - bits)) & ((1 << bits) - 1)
    if signed and x >> (bits - 1):
        x -= 1 << bits
    return x


def set_field(v: bytearray, offset: int, bits: int, value: int) -> None:
    """Write the low ``bits`` bits of ``value`` at bit ``offset`` (``v`` is long enough)."""
    first, last = offset >> 3, (offset + bits - 1) >> 3
    nbytes = last - first + 1
    shift = nbytes * 8 - (offset & 7) - bits
    mask = ((1 << bits) - 1) << shift
    x = int.from_bytes(v[first : last + 1], "big")
    x = (x & ~mask) | ((value << shift) & mask)
    v[first : last + 1] = x.to_bytes(nbytes, "big")


def _overflow(value: int, incr: int, bits: int, signed: bool, owtype: int):
    """Redis's check(Un)signedBitfieldOverflow: (overflowed, value to store)."""
    if signed:
        hi = (1 << (bits - 1)) - 1
        lo = -hi - 1
    else:
        hi = (1 << bits) - 1
        lo = 0
    total = value + incr
    if lo <= total <= hi:
        return False, total
    if owtype == _SAT:
        return True, hi if total > hi else lo
    wrapped = total & ((1 << bits) - 1)
    if signed and wrapped >> (bits - 1):
        wrapped -= 1 << bits
    return True, wrapped


def _bitfield(c, argv, readonly_cmd: bool):
    ops = []
    owtype = _WRAP
    readonly = True
    highest = 0
    j, n = 2, len(argv)
    while j < n:
        rem = n - j - 1
        sub = argv[j].lower()
        if sub == b"get" and rem >= 2:
            opcode = _GET
        elif sub == b"set" and rem >= 3:
            opcode = _SET
        elif sub == b"incrby" and rem >= 3:
            opcode = _INCRBY
        elif sub == b"overflow" and rem >= 1:
            owtype = _OVERFLOW_TYPES.get(argv[j + 1].lower())
            if owtype is None:
                raise CommandError("ERR Invalid OVERFLOW type specified")
            j += 2
            continue
        else:
            raise CommandError(SYNTAX)
        signed, bits = _field_type(argv[j + 1])
        offset = bit_offset(c, argv[j + 2], True, bits)
        arg = 0
        if opcode != _GET:
            readonly = False
            highest = max(highest, offset + bits - 1)
            arg = parse_int(argv[j + 3], NOT_INTEGER)
        ops.append((opcode, signed, bits, offset, arg, owtype))
        j += 3 if opcode == _GET else 4
    db = c.db
    key = argv[1]
    grown = False
    if readonly:
        v = _read_string(db, key)
    elif readonly_cmd:
        raise CommandError("ERR BITFIELD_RO only supports the GET subcommand")
    else:
        v, grown = _string_for_write(db, key, highest)
    out = []
    changes = 0
    for opcode, signed, bits, offset, arg, ow in ops:
        if opcode == _GET:
            out.append(0 if v is None else get_field(v, offset, bits, signed))
            continue
        old = get_field(v, offset, bits, signed)
        if opcode == _INCRBY:
            overflow, new = _overflow(old, arg, bits, signed, ow)
            ret = new
        else:
            if not signed:
                arg &= (1 << 64) - 1  # C: the int64 is taken as a uint64
            overflow, new = _overflow(arg, 0, bits, signed, ow)
            ret = old
        if overflow and ow == _FAIL:
            out.append(None)
        else:
            out.append(ret)
            set_field(v, offset, bits, new)
            if grown or new != old:  # Redis 7.0 counts only real changes
                changes += 1
    if changes:
        db.modified(key, b"setbit", NOTIFY_STRING, dirty=changes)
    return out


@command("bitfield", -2, "write denyoom", keys=(1, 1, 1), group="bitmap", since="3.2.0",
         summary="Perform arbitrary bitfield integer operations on strings")
def bitfield(c, argv):
    """GET/SET/INCRBY integer fields of any width, with OVERFLOW WRAP|SAT|FAIL."""
    return _bitfield(c, argv, False)


@command("bitfield_ro", -2, "readonly fast", keys=(1, 1, 1), group="bitmap", since="6.0.0",
         summary="Perform arbitrary bitfield integer operations on strings. Read-only variant "
         "of BITFIELD")
def bitfield_ro(c, argv):
    """BITFIELD with GET only."""
    return _bitfield(c, argv, True)

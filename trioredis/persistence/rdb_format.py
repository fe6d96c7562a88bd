"""RDB format constants and the encodings both directions share.

Version numbers, object type ids (``T_*``), opcodes (``OP_*``), redis-check-rdb's encoding
names, the struct layouts, :class:`RDBError`, :class:`Limits` (the encoding thresholds taken
from the config), and the length and string encodings (:func:`encode_length`,
:func:`encode_string`) that the writer and the test fixtures use. The blob formats inside
values (listpack, ziplist, intset, zipmap) live in ``persistence/listpack.py``; the reader's
decoding of lengths and strings is :class:`~.rdb_reader.Reader`.
"""

from __future__ import annotations

import struct

from .listpack import str_to_int

RDB_VERSION = 10  # what we write: Redis 7.0's
MAX_VERSION = 12  # what we read: up to Redis 7.4's
REDIS_VERSION = "7.0.15"

# Object types.
T_STRING = 0
T_LIST = 1
T_SET = 2
T_ZSET = 3
T_HASH = 4
T_ZSET_2 = 5
T_MODULE_PRE_GA = 6
T_MODULE_2 = 7
T_HASH_ZIPMAP = 9
T_LIST_ZIPLIST = 10
T_SET_INTSET = 11
T_ZSET_ZIPLIST = 12
T_HASH_ZIPLIST = 13
T_LIST_QUICKLIST = 14
T_STREAM_LISTPACKS = 15
T_HASH_LISTPACK = 16
T_ZSET_LISTPACK = 17
T_LIST_QUICKLIST_2 = 18
T_STREAM_LISTPACKS_2 = 19
T_SET_LISTPACK = 20
T_STREAM_LISTPACKS_3 = 21
T_HASH_METADATA_PRE_GA = 22
T_HASH_LISTPACK_EX_PRE_GA = 23
T_HASH_METADATA = 24
T_HASH_LISTPACK_EX = 25

# Opcodes.
OP_SLOT_INFO = 244
OP_FUNCTION2 = 245
OP_FUNCTION_PRE_GA = 246
OP_MODULE_AUX = 247
OP_IDLE = 248
OP_FREQ = 249
OP_AUX = 250
OP_RESIZEDB = 251
OP_EXPIRETIME_MS = 252
OP_EXPIRETIME = 253
OP_SELECTDB = 254
OP_EOF = 255

# redis-check-rdb's names of the encodings.
ENCODING_NAMES = {
    0: "string", 1: "list-linked", 2: "set-hashtable", 3: "zset-v1", 4: "hash-hashtable",
    5: "zset-v2", 6: "module-pre-release", 7: "module-value", 9: "hash-zipmap",
    10: "list-ziplist", 11: "set-intset", 12: "zset-ziplist", 13: "hash-ziplist",
    14: "quicklist", 15: "stream", 16: "hash-listpack", 17: "zset-listpack",
    18: "quicklist-v2", 19: "stream-v2", 20: "set-listpack", 21: "stream-v3",
    22: "hash-hashtable-md-pre-ga", 23: "hash-listpack-md-pre-ga", 24: "hash-hashtable-md",
    25: "hash-listpack-md",
}
# The logical type of each encoding (what TYPE says).
KIND = {0: "string", 1: "list", 10: "list", 14: "list", 18: "list", 2: "set", 11: "set",
        20: "set", 3: "zset", 5: "zset", 12: "zset", 17: "zset", 4: "hash", 9: "hash",
        13: "hash", 16: "hash", 22: "hash", 23: "hash", 24: "hash", 25: "hash", 15: "stream",
        19: "stream", 21: "stream", 6: "module", 7: "module"}

QUICKLIST_PLAIN = 1
QUICKLIST_PACKED = 2
STREAM_DELETED = 1
STREAM_SAMEFIELDS = 2
PACKED_THRESHOLD = 1 << 30  # elements this large get a PLAIN quicklist node
MASK64 = (1 << 64) - 1
EB_EXPIRE_TIME_MAX = (1 << 48) - 1

_u16le = struct.Struct("<H")
_u32be = struct.Struct(">I")
_u64be = struct.Struct(">Q")
_i64le = struct.Struct("<q")
_u64le = struct.Struct("<Q")
_dble = struct.Struct("<d")
_fle = struct.Struct("<f")
_id128 = struct.Struct(">QQ")


class RDBError(ValueError):
    """A file or payload that cannot be loaded: ``reason`` at byte ``offset``."""

    def __init__(self, reason: str, offset: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.offset = offset
        self.key: bytes | None = None
        self.rtype: int | None = None

    def __str__(self) -> str:
        if self.offset is None:
            return self.reason
        return f"{self.reason} (at offset {self.offset})"


class Limits:
    """The encoding thresholds that shape what we write and how values are rebuilt."""

    __slots__ = ("list_size", "hash_entries", "hash_value", "zset_entries", "zset_value",
                 "intset_entries", "stream_bytes", "stream_entries")

    def __init__(self, config=None):
        get = (config.values if hasattr(config, "values") else config or {}).get
        self.list_size = get("list-max-listpack-size", -2)
        self.hash_entries = get("hash-max-listpack-entries", 128)
        self.hash_value = get("hash-max-listpack-value", 64)
        self.zset_entries = get("zset-max-listpack-entries", 128)
        self.zset_value = get("zset-max-listpack-value", 64)
        self.intset_entries = get("set-max-intset-entries", 512)
        self.stream_bytes = get("stream-node-max-bytes", 4096)
        self.stream_entries = get("stream-node-max-entries", 100)


def module_type_name(moduleid: int) -> str:
    """moduleTypeNameByID: the 9-character name packed in a module type id."""
    cset = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    moduleid >>= 10
    name = []
    for _ in range(9):
        name.append(cset[moduleid & 63])
        moduleid >>= 6
    return "".join(reversed(name))


# == length and string encodings ==============================================================


def encode_length(n: int) -> bytes:
    if n < 64:
        return bytes((n,))
    if n < 16384:
        return bytes((0x40 | (n >> 8), n & 0xFF))
    if n <= 0xFFFFFFFF:
        return b"\x80" + _u32be.pack(n)
    return b"\x81" + _u64be.pack(n)


_LEN1 = [bytes((n,)) for n in range(64)]


def encode_string(s) -> bytes:
    """rdbSaveRawString without LZF: small integers in 1, 2 or 4 bytes, otherwise raw."""
    n = len(s)
    if n <= 11 and n:
        v = str_to_int(bytes(s))
        if v is not None:
            if -128 <= v <= 127:
                return bytes((0xC0, v & 0xFF))
            if -32768 <= v <= 32767:
                return b"\xc1" + v.to_bytes(2, "little", signed=True)
            if -2147483648 <= v <= 2147483647:
                return b"\xc2" + v.to_bytes(4, "little", signed=True)
    if n < 64:
        return _LEN1[n] + s
    return encode_length(n) + s

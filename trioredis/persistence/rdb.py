"""RDB, Redis's snapshot format: a sans-I/O decoder (versions 1 to 12) and encoder (version 10).

Reading works on the whole file in memory (Redis loads everything into memory anyway):
:func:`parse` walks it and yields events (aux fields, db switches, keys with their decoded
values and expiry, the end), checking every structure on the way and raising
:class:`RDBError` with the byte offset and a reason on the first problem. :func:`load_into`
puts a parsed file into a server's databases, all or nothing. Every type and encoding real
Redis has written is understood: strings (raw, int, LZF), lists (linked, ziplist, quicklist of
ziplists or of listpacks with PLAIN/PACKED nodes), sets (plain, intset, listpack), hashes
(plain, zipmap, ziplist, listpack, and 7.4's field-TTL forms, loaded without their field
TTLs), sorted sets (string or binary doubles, ziplist, listpack), streams (the three listpack
forms with consumer groups, consumers and PELs). Module values and module aux data are refused;
function libraries are skipped.

Writing (:func:`iter_rdb`, :func:`dump_bytes`) produces what Redis 7.0 writes, RDB version 10:
small hashes and sorted sets as listpacks, lists as quicklists of listpacks, small integer sets
as intsets, streams as STREAM_LISTPACKS_2. Strings are written uncompressed: a pure-Python LZF
compressor would cost far more time than the disk it saves (``rdbcompression`` is accepted and
ignored). The same value encoding serves DUMP/RESTORE (:func:`dump_payload`,
:func:`load_payload`).
"""

from __future__ import annotations

import math
import struct
import time
from collections import deque

from ..datatypes.stream import Consumer, Nack, Stream
from ..datatypes.zset import ZSet
from . import lzf
from .crc64 import CRC64, crc64
from .listpack import (
    BlobError,
    intset_decode,
    intset_encode,
    lp_decode,
    lp_element,
    lp_encode,
    lp_encode_parts,
    str_to_int,
    zipmap_decode,
    zl_decode,
)

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


# == reading ==================================================================================


class Reader:
    """A cursor over an in-memory RDB (or DUMP payload)."""

    __slots__ = ("buf", "pos", "end")

    def __init__(self, buf, pos: int = 0, end: int | None = None):
        self.buf = buf if buf.__class__ is bytes else bytes(buf)
        self.pos = pos
        self.end = len(self.buf) if end is None else end

    def short(self, what: str = "RDB file"):
        raise RDBError(f"Unexpected EOF reading {what}", self.pos)

    def u8(self) -> int:
        p = self.pos
        if p >= self.end:
            self.short()
        self.pos = p + 1
        return self.buf[p]

    def read(self, n: int) -> bytes:
        p = self.pos
        q = p + n
        if q > self.end:
            self.short()
        self.pos = q
        return self.buf[p:q]

    def length(self) -> int:
        """rdbLoadLen: 6, 14, 32 or 64-bit length (an encoded-value byte gives its 6 bits)."""
        b = self.u8()
        t = b >> 6
        if t == 0 or t == 3:
            return b & 0x3F
        if t == 1:
            return ((b & 0x3F) << 8) | self.u8()
        if b == 0x80:
            return _u32be.unpack(self.read(4))[0]
        if b == 0x81:
            return _u64be.unpack(self.read(8))[0]
        raise RDBError(f"Unknown length encoding {t} in rdbLoadLen()", self.pos - 1)

    def string(self) -> bytes:
        """rdbGenericLoadStringObject: raw, int-encoded or LZF-compressed."""
        p = self.pos
        if p >= self.end:
            self.short()
        b = self.buf[p]
        t = b >> 6
        if t == 0:
            self.pos = p + 1
            n = b & 0x3F
        elif t != 3:
            n = self.length()
        else:
            self.pos = p + 1
            enc = b & 0x3F
            if enc == 0:
                return b"%d" % int.from_bytes(self.read(1), "little", signed=True)
            if enc == 1:
                return b"%d" % int.from_bytes(self.read(2), "little", signed=True)
            if enc == 2:
                return b"%d" % int.from_bytes(self.read(4), "little", signed=True)
            if enc == 3:
                clen = self.length()
                ulen = self.length()
                data = self.read(clen)
                try:
                    return lzf.decompress(data, ulen)
                except lzf.LZFError:
                    raise RDBError("Invalid LZF compressed string", p) from None
            raise RDBError(f"Unknown RDB string encoding type {enc}", p)
        q = self.pos + n
        if q > self.end:
            self.short()
        s = self.buf[self.pos : q]
        self.pos = q
        return s

    def ms_time(self) -> int:
        return _i64le.unpack(self.read(8))[0]

    def text_double(self) -> float:
        n = self.u8()
        if n == 255:
            return -math.inf
        if n == 254:
            return math.inf
        if n == 253:
            return math.nan
        raw = self.read(n)
        try:
            return float(raw)
        except ValueError:
            raise RDBError("Invalid double value", self.pos - n) from None

    def binary_double(self) -> float:
        return _dble.unpack(self.read(8))[0]


class _Ctx:
    """What value decoding needs besides the bytes."""

    __slots__ = ("limits", "now_ms", "drop_expired", "hfe_ttls_dropped", "hfe_expired",
                 "reader")

    def __init__(self, limits: Limits, now_ms: int, drop_expired: bool):
        self.reader: Reader | None = None  # set by parse(): its position is the progress
        self.limits = limits
        self.now_ms = now_ms
        self.drop_expired = drop_expired
        self.hfe_ttls_dropped = 0  # hash fields loaded without their 7.4 field TTL
        self.hfe_expired = 0  # hash fields skipped because their field TTL had passed


def _text(x) -> bytes:
    return x if x.__class__ is bytes else b"%d" % x


def _blob(r: Reader, decode, what: str) -> list:
    start = r.pos
    raw = r.string()
    try:
        return decode(raw)
    except BlobError as e:
        raise RDBError(f"{what} integrity check failed: {e}", start) from None


def _dup(what: str, r: Reader):
    raise RDBError(f"Duplicate {what} detected", r.pos)


def _read_list(r: Reader, rtype: int, ctx: _Ctx):
    if rtype == T_LIST:
        n = r.length()
        out = deque(r.string() for _ in range(n))
    elif rtype == T_LIST_ZIPLIST:
        out = deque(map(_text, _blob(r, zl_decode, "List ziplist")))
    else:  # quicklist (of ziplists) or quicklist 2 (of listpacks or plain nodes)
        nodes = r.length()
        out = deque()
        for _ in range(nodes):
            container = QUICKLIST_PACKED
            if rtype == T_LIST_QUICKLIST_2:
                start = r.pos
                container = r.length()
                if container not in (QUICKLIST_PACKED, QUICKLIST_PLAIN):
                    raise RDBError("Quicklist integrity check failed.", start)
            start = r.pos
            if container == QUICKLIST_PLAIN:
                data = r.string()
                if not data:
                    raise RDBError("Empty quicklist node", start)
                out.append(data)
                continue
            if rtype == T_LIST_QUICKLIST_2:
                items = _blob(r, lp_decode, "Listpack")
            else:
                items = _blob(r, zl_decode, "Ziplist")
            out.extend(map(_text, items))
    return out or None


def _read_set(r: Reader, rtype: int, ctx: _Ctx):
    if rtype == T_SET:
        n = r.length()
        out = {r.string() for _ in range(n)}
    elif rtype == T_SET_INTSET:
        values = _blob(r, intset_decode, "Intset")
        out = {b"%d" % v for v in values}
        n = len(values)
    else:
        items = _blob(r, lp_decode, "Set listpack")
        out = set(map(_text, items))
        n = len(items)
    if len(out) != n:
        _dup("set members", r)
    return out or None


def _pairs(items: list, r: Reader, what: str) -> list:
    if len(items) & 1:
        raise RDBError(f"{what} integrity check failed: odd number of elements", r.pos)
    return items


def _read_hash(r: Reader, rtype: int, ctx: _Ctx):
    out: dict = {}
    if rtype == T_HASH:
        n = r.length()
        for _ in range(n):
            f = r.string()
            out[f] = r.string()
        if len(out) != n:
            _dup("hash fields", r)
        return out or None
    if rtype == T_HASH_ZIPMAP:
        pairs = _blob(r, zipmap_decode, "Zipmap")
        out = dict(pairs)
        if len(out) != len(pairs):
            raise RDBError("Hash zipmap with dup elements", r.pos)
        return out or None
    if rtype in (T_HASH_ZIPLIST, T_HASH_LISTPACK):
        if rtype == T_HASH_ZIPLIST:
            items = _pairs(_blob(r, zl_decode, "Hash ziplist"), r, "Hash ziplist")
        else:
            items = _pairs(_blob(r, lp_decode, "Hash listpack"), r, "Hash listpack")
        it = iter(items)
        for f in it:
            out[_text(f)] = _text(next(it))
        if len(out) * 2 != len(items):
            _dup("hash fields", r)
        return out or None
    # Redis 7.4 hashes with field TTLs: fields keep their values, not their TTLs.
    now = ctx.now_ms
    if rtype in (T_HASH_METADATA, T_HASH_METADATA_PRE_GA):
        min_expire = r.ms_time() if rtype == T_HASH_METADATA else 0
        n = r.length()
        for _ in range(n):
            ttl = r.length()
            if rtype == T_HASH_METADATA:
                at = ttl + min_expire - 1 if ttl else 0
            else:
                at = ttl
            if at > EB_EXPIRE_TIME_MAX:
                raise RDBError(f"invalid expireAt time: {at}", r.pos)
            f = r.string()
            v = r.string()
            if f in out:
                _dup("hash fields", r)
            _hfe_field(out, f, v, at, now, ctx)
        return out or None
    if rtype == T_HASH_LISTPACK_EX:
        r.ms_time()  # the minimum field expiry: a hint, not needed
    items = _blob(r, lp_decode, "Hash listpack")
    if len(items) % 3:
        raise RDBError("Hash listpack integrity check failed: bad tuple count", r.pos)
    for k in range(0, len(items), 3):
        f = _text(items[k])
        if f in out:
            _dup("hash fields", r)
        at = items[k + 2]
        if at.__class__ is not int:
            raise RDBError("Hash listpack integrity check failed: bad field TTL", r.pos)
        _hfe_field(out, f, _text(items[k + 1]), at, now, ctx)
    return out or None


def _hfe_field(out: dict, f: bytes, v: bytes, at: int, now: int, ctx: _Ctx) -> None:
    if at and ctx.drop_expired and at <= now:
        ctx.hfe_expired += 1
        return
    if at:
        ctx.hfe_ttls_dropped += 1
    out[f] = v


def _read_zset(r: Reader, rtype: int, ctx: _Ctx):
    pairs = []
    if rtype in (T_ZSET, T_ZSET_2):
        n = r.length()
        binary = rtype == T_ZSET_2
        for _ in range(n):
            m = r.string()
            s = r.binary_double() if binary else r.text_double()
            if s != s:
                raise RDBError("Zset with NAN score detected", r.pos)
            pairs.append((m, s))
    else:
        if rtype == T_ZSET_ZIPLIST:
            items = _pairs(_blob(r, zl_decode, "Zset ziplist"), r, "Zset ziplist")
        else:
            items = _pairs(_blob(r, lp_decode, "Zset listpack"), r, "Zset listpack")
        for k in range(0, len(items), 2):
            s = items[k + 1]
            if s.__class__ is not int:
                try:
                    s = float(s)
                except ValueError:
                    raise RDBError("Zset listpack with an invalid score", r.pos) from None
                if s != s:
                    raise RDBError("Zset with NAN score detected", r.pos)
            pairs.append((_text(items[k]), float(s)))
    if not pairs:
        return None
    lim = ctx.limits
    zs = ZSet.from_pairs(pairs, lim.zset_entries, lim.zset_value)
    if len(zs) != len(pairs):
        _dup("zset fields", r)
    return zs


def _read_stream(r: Reader, rtype: int, ctx: _Ctx) -> Stream:
    lim = ctx.limits
    s = Stream()
    nodes = r.length()
    last = -1
    loaded = 0
    for _ in range(nodes):
        start = r.pos
        key = r.string()
        if len(key) != 16:
            raise RDBError("Stream node key entry is not the size of a stream ID", start)
        master_ms, master_seq = _id128.unpack(key)
        start = r.pos
        items = _blob(r, lp_decode, "Stream listpack")
        if not items:
            raise RDBError("Empty listpack inside stream", start)
        for i, fv in _stream_node_entries(items, master_ms, master_seq, start):
            if i <= last:
                raise RDBError("Stream entries out of order", start)
            last = i
            s.load_entry(i, fv, lim.stream_bytes, lim.stream_entries)
            loaded += 1
    length = r.length()
    last_id = r.length() << 64 | r.length()
    if rtype >= T_STREAM_LISTPACKS_2:
        first_id = r.length() << 64 | r.length()
        max_deleted = r.length() << 64 | r.length()
        entries_added = r.length()
    else:
        first_id = next(iter(s.entries()), (0, None))[0]
        max_deleted = 0
        entries_added = length
    if length != loaded:
        raise RDBError(
            f"Stream length {length} does not match its {loaded} entries", r.pos
        )
    s.length = length
    s.last_id = last_id
    s.first_id = first_id
    s.max_deleted_id = max_deleted
    s.entries_added = entries_added
    ngroups = r.length()
    for _ in range(ngroups):
        name = r.string()
        g_last = r.length() << 64 | r.length()
        if rtype >= T_STREAM_LISTPACKS_2:
            entries_read = r.length()
            if entries_read == MASK64:
                entries_read = -1
        else:
            entries_read = s.estimate_distance(g_last)
        if s.group(name) is not None:
            raise RDBError(f"Duplicated consumer group name {name!r}", r.pos)
        g = s.add_group(name, g_last, entries_read)
        for _ in range(r.length()):
            i = _id128.unpack(r.read(16))
            nid = i[0] << 64 | i[1]
            when = r.ms_time()
            count = r.length()
            if nid in g.pel:
                raise RDBError("Duplicated global PEL entry loading stream consumer group", r.pos)
            g.pel[nid] = Nack(None, when, count)
        for _ in range(r.length()):
            cname = r.string()
            seen = r.ms_time()
            if rtype >= T_STREAM_LISTPACKS_3:
                r.ms_time()  # active-time (7.2): we keep only seen-time
            if cname in g.consumers:
                raise RDBError("Duplicate stream consumer detected.", r.pos)
            cons = g.consumers[cname] = Consumer(cname, seen)
            for _ in range(r.length()):
                i = _id128.unpack(r.read(16))
                nid = i[0] << 64 | i[1]
                nack = g.pel.get(nid)
                if nack is None:
                    raise RDBError("Consumer entry not found in group global PEL", r.pos)
                if nid in cons.pel or nack.consumer is not None:
                    raise RDBError("Duplicated consumer PEL entry loading a stream consumer "
                                   "group", r.pos)
                nack.consumer = cons
                cons.pel[nid] = nack
        for nack in g.pel.values():
            if nack.consumer is None:
                raise RDBError("Stream CG PEL entry without consumer", r.pos)
    return s


def _stream_node_entries(items: list, master_ms: int, master_seq: int, offset: int):
    """The live (id, [field, value, ...]) entries of one stream listpack node."""

    def bad(why):
        raise RDBError(f"Stream listpack integrity check failed: {why}", offset)

    n = len(items)
    if n < 4:
        bad("truncated master entry")
    count, deleted, nf = items[0], items[1], items[2]
    if not (count.__class__ is int and deleted.__class__ is int and nf.__class__ is int):
        bad("non-integer master counters")
    if nf < 1 or n < 4 + nf:
        bad("bad master field count")
    master_fields = [_text(x) for x in items[3 : 3 + nf]]
    if items[3 + nf] != 0:
        bad("missing master terminator")
    p = 4 + nf
    live = dead = 0
    out = []
    while p < n:
        if p + 3 > n:
            bad("truncated entry")
        flags, dms, dseq = items[p], items[p + 1], items[p + 2]
        if not (flags.__class__ is int and dms.__class__ is int and dseq.__class__ is int):
            bad("non-integer entry header")
        p += 3
        if flags & STREAM_SAMEFIELDS:
            if p + nf + 1 > n:
                bad("truncated entry")
            values = items[p : p + nf]
            p += nf
            fv = []
            for f, v in zip(master_fields, values, strict=True):
                fv.append(f)
                fv.append(_text(v))
            expect = nf + 3
        else:
            k = items[p]
            if k.__class__ is not int or k < 1 or p + 1 + 2 * k + 1 > n:
                bad("bad entry field count")
            fv = [_text(x) for x in items[p + 1 : p + 1 + 2 * k]]
            p += 1 + 2 * k
            expect = 2 * k + 4
        if items[p] != expect:
            bad("entry lp-count mismatch")
        p += 1
        if flags & STREAM_DELETED:
            dead += 1
            continue
        live += 1
        ms = (master_ms + dms) & MASK64
        seq = (master_seq + dseq) & MASK64
        out.append((ms << 64 | seq, fv))
    if live != count or dead != deleted:
        bad("master entry counts do not match the entries")
    return out


_READERS = {
    T_LIST: _read_list, T_LIST_ZIPLIST: _read_list, T_LIST_QUICKLIST: _read_list,
    T_LIST_QUICKLIST_2: _read_list,
    T_SET: _read_set, T_SET_INTSET: _read_set, T_SET_LISTPACK: _read_set,
    T_HASH: _read_hash, T_HASH_ZIPMAP: _read_hash, T_HASH_ZIPLIST: _read_hash,
    T_HASH_LISTPACK: _read_hash, T_HASH_METADATA: _read_hash,
    T_HASH_METADATA_PRE_GA: _read_hash, T_HASH_LISTPACK_EX: _read_hash,
    T_HASH_LISTPACK_EX_PRE_GA: _read_hash,
    T_ZSET: _read_zset, T_ZSET_2: _read_zset, T_ZSET_ZIPLIST: _read_zset,
    T_ZSET_LISTPACK: _read_zset,
    T_STREAM_LISTPACKS: _read_stream, T_STREAM_LISTPACKS_2: _read_stream,
    T_STREAM_LISTPACKS_3: _read_stream,
}


def read_object(r: Reader, rtype: int, ctx: _Ctx, skip_modules: bool = False):
    """rdbLoadObject: the value of type ``rtype`` at the cursor (None for an empty one)."""
    if rtype == T_STRING:
        return r.string()
    reader = _READERS.get(rtype)
    if reader is not None:
        return reader(r, rtype, ctx)
    if rtype in (T_MODULE_2, T_MODULE_PRE_GA):
        start = r.pos
        moduleid = r.length()
        name = module_type_name(moduleid)
        if skip_modules and rtype == T_MODULE_2:
            _skip_module_value(r)
            return b"module-dummy-value"
        raise RDBError(
            f"The RDB file contains module data I can't load: no matching module type '{name}'",
            start,
        )
    raise RDBError(f"Unknown RDB encoding type {rtype}", r.pos - 1)


def _skip_module_value(r: Reader) -> None:
    """rdbLoadCheckModuleValue: walk a self-describing module value up to its EOF."""
    while True:
        op = r.length()
        if op == 0:
            return
        if op in (1, 2):
            r.length()
        elif op == 3:
            r.read(4)
        elif op == 4:
            r.read(8)
        elif op == 5:
            r.string()
        else:
            raise RDBError(f"Unknown module value opcode {op}", r.pos)


def parse(data, limits: Limits | None = None, *, now_ms: int | None = None,
          drop_expired: bool = False, verify_checksum: bool = True,
          skip_modules: bool = False, ctx: _Ctx | None = None):
    """Walk an RDB file, yielding events:

    ``("version", n)``, ``("aux", key, value)``, ``("selectdb", dbid)``,
    ``("resizedb", keys, expires)``, ``("function", payload)``,
    ``("key", dbid, key, value, expire_ms_or_None, rtype)`` (value None: an empty collection,
    which Redis skips), ``("module_aux", name)`` (only with ``skip_modules``), and last
    ``("eof", checksum)`` with checksum "ok", "disabled" (stored as zero), "unchecked" or
    "absent" (versions before 5). Raises :class:`RDBError` at the first problem.
    """
    r = Reader(data)
    if ctx is None:
        ctx = _Ctx(limits or Limits(), now_ms or int(time.time() * 1000), drop_expired)
    ctx.reader = r
    if r.end < 9:
        r.short()
    magic = r.read(9)
    if magic[:5] != b"REDIS":
        raise RDBError("Wrong signature trying to load DB from file", 0)
    try:
        version = int(magic[5:])
    except ValueError:
        raise RDBError("Wrong signature trying to load DB from file", 0) from None
    if not 1 <= version <= MAX_VERSION:
        raise RDBError(f"Can't handle RDB format version {version}", 5)
    yield ("version", version)
    dbid = 0
    expire = None
    u8 = r.u8
    while True:
        op_at = r.pos
        op = u8()
        if op < OP_SLOT_INFO:  # a key: the opcode is its type
            key = None
            try:
                key = r.string()
                value = read_object(r, op, ctx, skip_modules)
            except RDBError as e:
                e.key = key
                e.rtype = op
                raise
            yield ("key", dbid, key, value, expire, op)
            expire = None
            continue
        if op == OP_EXPIRETIME_MS:
            expire = r.ms_time()
        elif op == OP_EXPIRETIME:
            expire = int.from_bytes(r.read(4), "little", signed=True) * 1000
        elif op == OP_SELECTDB:
            dbid = r.length()
            yield ("selectdb", dbid)
        elif op == OP_RESIZEDB:
            yield ("resizedb", r.length(), r.length())
        elif op == OP_AUX:
            yield ("aux", r.string(), r.string())
        elif op == OP_IDLE:
            r.length()
        elif op == OP_FREQ:
            u8()
        elif op == OP_EOF:
            break
        elif op == OP_SLOT_INFO:
            r.length()
            r.length()
            r.length()
        elif op == OP_FUNCTION2:
            yield ("function", r.string())
        elif op == OP_FUNCTION_PRE_GA:  # 7.0 rc1/rc2: name, engine, [description], code
            name = r.string()
            engine = r.string()
            if r.length():
                r.string()
            yield ("function", b"#!%s name=%s\n%s" % (engine, name, r.string()))
        else:  # OP_MODULE_AUX
            moduleid = r.length()
            name = module_type_name(moduleid)
            if not skip_modules:
                raise RDBError(
                    f"The RDB file contains AUX module data I can't load: no matching module "
                    f"'{name}'", op_at)
            if r.length() != 2:
                raise RDBError("bad when_opcode", r.pos)
            r.length()
            _skip_module_value(r)
            yield ("module_aux", name)
    if version >= 5:
        eof = r.pos
        stored = _u64le.unpack(r.read(8))[0]
        if stored == 0:
            yield ("eof", "disabled")
        elif not verify_checksum:
            yield ("eof", "unchecked")
        else:
            actual = crc64(0, memoryview(r.buf)[:eof])
            if actual != stored:
                raise RDBError(
                    f"Wrong RDB checksum expected: ({actual:x}) but got ({stored:x})", eof)
            yield ("eof", "ok")
    else:
        yield ("eof", "absent")


class LoadStats:
    """What a load did, for INFO and the log."""

    __slots__ = ("keys_loaded", "keys_expired", "empty_skipped", "functions", "aux",
                 "version", "seconds", "hfe_ttls_dropped", "hfe_expired")

    def __init__(self):
        self.keys_loaded = 0
        self.keys_expired = 0
        self.empty_skipped = 0
        self.functions = 0
        self.aux: dict[bytes, bytes] = {}
        self.version = 0
        self.seconds = 0.0
        self.hfe_ttls_dropped = 0
        self.hfe_expired = 0


def load_into(server, data, *, drop_expired: bool | None = None, allow_dup: bool = False,
              log=None, progress_every: float = 2.0) -> LoadStats:
    """Load an RDB into ``server``'s databases, all or nothing.

    Keys already expired are dropped when we are a master (``drop_expired`` None), kept on a
    replica, whose master expires them. A key that exists already (in the file twice, or in
    the db, as DEBUG RELOAD NOFLUSH) is an error unless ``allow_dup``. ``log`` (a Logger)
    gets Redis's lines and, for big files, progress every ``progress_every`` seconds.
    """
    started = time.monotonic()
    if drop_expired is None:
        drop_expired = server.role != "slave"
    now = server.now_ms()
    stats = LoadStats()
    ctx = _Ctx(Limits(server.config), now, drop_expired)
    ndbs = len(server.dbs)
    staged: dict[int, tuple[dict, dict]] = {}
    data_len = len(data)
    next_report = started + progress_every
    staged_db = None
    cur_db = -1
    events = parse(data, now_ms=now, ctx=ctx, verify_checksum=server.config["rdbchecksum"])
    for ev in events:
        kind = ev[0]
        if kind == "key":
            _, dbid, key, value, expire, rtype = ev
            if dbid != cur_db:
                if dbid >= ndbs:
                    raise RDBError(
                        f"FATAL: Data file was created with a Redis server configured to handle "
                        f"more than {ndbs} databases.")
                cur_db = dbid
                staged_db = staged.get(dbid)
                if staged_db is None:
                    staged_db = staged[dbid] = ({}, {})
            if value is None:
                stats.empty_skipped += 1
                if log is not None and stats.empty_skipped <= 10:
                    log.notice(f"rdbLoadObject skipping empty key: {_show(key)}")
                continue
            if drop_expired and expire is not None and expire < now:
                stats.keys_expired += 1
                continue
            d, e = staged_db
            if key in d and not allow_dup:
                raise RDBError(f"RDB has duplicated key '{_show(key)}' in DB {dbid}")
            d[key] = value
            if expire is not None:
                e[key] = expire
            elif allow_dup and e:
                e.pop(key, None)
            stats.keys_loaded += 1
            if log is not None and not stats.keys_loaded & 0x3FFF:
                t = time.monotonic()
                if t >= next_report:
                    next_report = t + progress_every
                    _log_progress(log, ctx.reader.pos, data_len, stats, t - started)
        elif kind == "aux":
            stats.aux[ev[1]] = ev[2]
            if log is not None:
                _log_aux(log, ev[1], ev[2])
        elif kind == "version":
            stats.version = ev[1]
        elif kind == "function":
            stats.functions += 1
        elif kind == "eof" and ev[1] == "disabled" and log is not None:
            log.warning("RDB file was saved with checksum disabled: no check performed.")
    if stats.functions and log is not None:
        log.warning(f"Skipped {stats.functions} function libraries: functions are not "
                    "supported")
    stats.hfe_ttls_dropped = ctx.hfe_ttls_dropped
    stats.hfe_expired = ctx.hfe_expired
    if ctx.hfe_ttls_dropped and log is not None:
        log.warning(f"{ctx.hfe_ttls_dropped} hash fields had a field TTL (Redis 7.4 hash field "
                    "expiration), which is not supported: they were loaded without it")
    _commit(server, staged, allow_dup)
    stats.seconds = time.monotonic() - started
    if log is not None:
        if stats.empty_skipped:
            log.notice(f"Done loading RDB, keys loaded: {stats.keys_loaded}, keys expired: "
                       f"{stats.keys_expired}, empty keys skipped: {stats.empty_skipped}.")
        else:
            log.notice(f"Done loading RDB, keys loaded: {stats.keys_loaded}, keys expired: "
                       f"{stats.keys_expired}.")
    return stats


def _commit(server, staged: dict, allow_dup: bool) -> None:
    """Move staged keys into the dbs (checked first, so a failure changes nothing)."""
    import heapq

    if not allow_dup:
        for dbid, (d, _) in staged.items():
            db = server.dbs[dbid]
            if db.data and not d.keys().isdisjoint(db.data):
                key = next(iter(d.keys() & db.data.keys()))
                raise RDBError(f"RDB has duplicated key '{_show(key)}' in DB {dbid}")
    for dbid, (d, e) in staged.items():
        db = server.dbs[dbid]
        if not db.data:
            db.data = d
            db.expires = e
            db.expire_heap = [(w, k) for k, w in e.items()]
            heapq.heapify(db.expire_heap)
            db.scan_log = None
            db.scan_epoch += 1
        else:
            for k, v in d.items():
                db.data[k] = v
                when = e.get(k)
                if when is not None:
                    db.set_expire(k, when)
                elif db.expires:
                    db.expires.pop(k, None)
                if db.scan_log is not None:
                    db.scan_log.append(k)


def _show(key: bytes) -> str:
    return key.decode("utf-8", "backslashreplace")


def _log_aux(log, key: bytes, value: bytes) -> None:
    k = key.lower()
    text = value.decode("utf-8", "replace")
    if key[:1] == b"%":
        log.notice(f"RDB '{_show(key)}': {text}")
    elif k == b"redis-ver":
        log.notice(f"Loading RDB produced by version {text}")
    elif k == b"ctime":
        try:
            age = max(0, int(time.time()) - int(value))
        except ValueError:
            return
        log.notice(f"RDB age {age} seconds")
    elif k == b"used-mem":
        try:
            log.notice(f"RDB memory usage when created {int(value) / (1024 * 1024):.2f} Mb")
        except ValueError:
            pass
    elif k == b"aof-preamble" and value not in (b"0", b""):
        log.notice("RDB has an AOF tail")
    elif k == b"aof-base" and value not in (b"0", b""):
        log.notice("RDB is base AOF")


def _log_progress(log, done: int, total: int, stats: LoadStats, elapsed: float) -> None:
    pct = 100.0 * done / total if total else 100.0
    rate = stats.keys_loaded / elapsed if elapsed > 0 else 0
    log.notice(f"Loading RDB: {pct:.1f}% done, {stats.keys_loaded} keys, "
               f"{rate:.0f} keys per second")


def load_bytes(server, data) -> LoadStats:
    """Load a full-sync payload (replication) into the already emptied keyspace."""
    return load_into(server, data, log=getattr(server, "log", None))


# == writing ==================================================================================


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


def _encode_list(v: deque, lim: Limits, parts: list) -> None:
    fill = lim.list_size
    if fill < 0:
        size_limit = (4096, 8192, 16384, 32768, 65536)[min(-fill - 1, 4)]
        count_limit = None
    else:
        size_limit = None
        count_limit = fill or 1
    nodes = []
    cur: list = []
    cur_sz = 7  # listpack header + end byte
    for x in v:
        n = len(x)
        if n >= PACKED_THRESHOLD:
            if cur:
                nodes.append((QUICKLIST_PACKED, lp_encode_parts(cur, len(cur))))
                cur, cur_sz = [], 7
            nodes.append((QUICKLIST_PLAIN, bytes(x)))
            continue
        if cur:
            new_sz = cur_sz + n + 8
            if size_limit is not None:
                full = new_sz > size_limit
            else:
                full = new_sz > 8192 or len(cur) + 1 > count_limit
            if full:
                nodes.append((QUICKLIST_PACKED, lp_encode_parts(cur, len(cur))))
                cur, cur_sz = [], 7
        el = lp_element(bytes(x) if x.__class__ is not bytes else x)
        cur.append(el)
        cur_sz += len(el)
    if cur:
        nodes.append((QUICKLIST_PACKED, lp_encode_parts(cur, len(cur))))
    parts.append(encode_length(len(nodes)))
    for container, blob in nodes:
        parts.append(_LEN1[container])
        parts.append(encode_string(blob))


def _canonical_ints(members, limit: int):
    if len(members) > limit:
        return None
    out = []
    for m in members:
        v = str_to_int(m)
        if v is None:
            return None
        out.append(v)
    return out


def _score_text(s: float):
    """How a listpack sorted set stores a score (d2string): an int when integral."""
    if s == s and -4503599627370495.0 < s < 4503599627370496.0 and s == int(s):
        return int(s)
    if s == math.inf:
        return b"inf"
    if s == -math.inf:
        return b"-inf"
    return repr(s).encode()


def _stream_nodes(s: Stream, lim: Limits):
    """(master id, master fields, [(id, fv)]) per listpack node: the stream's own node layout
    when it keeps one, otherwise nodes cut by the node limits."""
    nodes = getattr(s, "nodes", None)
    if nodes is not None:
        try:
            ids, vals = s.ids, s.vals
            for node in nodes[s.nhead:]:
                if node.removed:
                    continue
                items = [(ids[k], vals[k]) for k in range(node.start, node.end)
                         if vals[k] is not None]
                if items:
                    yield node.master, tuple(node.fields), items
            return
        except AttributeError:
            pass
    batch: list = []
    for i, fv in s.entries():
        batch.append((i, fv))
        if len(batch) >= (lim.stream_entries or 100):
            yield batch[0][0], tuple(batch[0][1][0::2]), batch
            batch = []
    if batch:
        yield batch[0][0], tuple(batch[0][1][0::2]), batch


def _encode_stream(s: Stream, lim: Limits, parts: list) -> None:
    blobs = []
    for master, mfields, items in _stream_nodes(s, lim):
        mms, mseq = master >> 64, master & MASK64
        nf = len(mfields)
        els = [lp_element(len(items)), lp_element(0), lp_element(nf)]
        els.extend(lp_element(f) for f in mfields)
        els.append(lp_element(0))
        count = 4 + nf
        for i, fv in items:
            dms = _signed64((i >> 64) - mms)
            dseq = _signed64((i & MASK64) - mseq)
            k = len(fv) >> 1
            same = k == nf and tuple(fv[0::2]) == mfields
            if same:
                els.append(lp_element(STREAM_SAMEFIELDS))
                els.append(lp_element(dms))
                els.append(lp_element(dseq))
                els.extend(lp_element(x) for x in fv[1::2])
                els.append(lp_element(nf + 3))
                count += nf + 4
            else:
                els.append(lp_element(0))
                els.append(lp_element(dms))
                els.append(lp_element(dseq))
                els.append(lp_element(k))
                els.extend(lp_element(x) for x in fv)
                els.append(lp_element(2 * k + 4))
                count += 2 * k + 5
        blobs.append((_id128.pack(mms, mseq), lp_encode_parts(els, count)))
    parts.append(encode_length(len(blobs)))
    for key, blob in blobs:
        parts.append(encode_string(key))
        parts.append(encode_string(blob))
    first = s.first_id if s.length else 0
    for n in (s.length, s.last_id >> 64, s.last_id & MASK64, first >> 64, first & MASK64,
              s.max_deleted_id >> 64, s.max_deleted_id & MASK64, s.entries_added):
        parts.append(encode_length(n))
    groups = s.sorted_groups()
    parts.append(encode_length(len(groups)))
    for g in groups:
        parts.append(encode_string(g.name))
        parts.append(encode_length(g.last_id >> 64))
        parts.append(encode_length(g.last_id & MASK64))
        parts.append(encode_length(g.entries_read & MASK64))
        parts.append(encode_length(len(g.pel)))
        for nid, nack in g.pel.items():
            parts.append(_id128.pack(nid >> 64, nid & MASK64))
            parts.append(_i64le.pack(nack.delivery_time))
            parts.append(encode_length(nack.delivery_count))
        consumers = g.sorted_consumers()
        parts.append(encode_length(len(consumers)))
        for cons in consumers:
            parts.append(encode_string(cons.name))
            parts.append(_i64le.pack(cons.seen_time))
            parts.append(encode_length(len(cons.pel)))
            for nid in cons.pel:
                parts.append(_id128.pack(nid >> 64, nid & MASK64))


def _signed64(v: int) -> int:
    v &= MASK64
    return v - (1 << 64) if v >> 63 else v


def encode_value(v, lim: Limits) -> tuple[int, list]:
    """(RDB type, encoded parts) of one value, as Redis 7.0 would write it."""
    cls = v.__class__
    parts: list = []
    if cls is bytes or cls is bytearray:
        parts.append(encode_string(v if cls is bytes else bytes(v)))
        return T_STRING, parts
    if cls is dict:
        n = len(v)
        maxlen = lim.hash_value
        if n <= lim.hash_entries and all(
            len(f) <= maxlen and len(x) <= maxlen for f, x in v.items()
        ):
            items = []
            for f, x in v.items():
                items.append(f)
                items.append(x)
            parts.append(encode_string(lp_encode(items)))
            return T_HASH_LISTPACK, parts
        parts.append(encode_length(n))
        for f, x in v.items():
            parts.append(encode_string(f))
            parts.append(encode_string(x))
        return T_HASH, parts
    if cls is deque:
        _encode_list(v, lim, parts)
        return T_LIST_QUICKLIST_2, parts
    if cls is set:
        ints = _canonical_ints(v, lim.intset_entries)
        if ints is not None:
            parts.append(encode_string(intset_encode(ints)))
            return T_SET_INTSET, parts
        parts.append(encode_length(len(v)))
        parts.extend(encode_string(m) for m in v)
        return T_SET, parts
    if cls is ZSet:
        n = len(v)
        if n <= lim.zset_entries and all(len(m) <= lim.zset_value for m, _ in v):
            items = []
            for m, s in v:
                items.append(m)
                items.append(_score_text(s))
            parts.append(encode_string(lp_encode(items)))
            return T_ZSET_LISTPACK, parts
        parts.append(encode_length(n))
        pairs = list(v)
        pack = _dble.pack
        for m, s in reversed(pairs):
            parts.append(encode_string(m))
            parts.append(pack(s))
        return T_ZSET_2, parts
    if cls is Stream:
        _encode_stream(v, lim, parts)
        return T_STREAM_LISTPACKS_2, parts
    raise TypeError(f"cannot serialize a value of type {cls.__name__}")


def _aux(key: bytes, value: bytes) -> bytes:
    return b"\xfa" + encode_string(key) + encode_string(value)


def default_aux(server) -> list[tuple[bytes, bytes]]:
    import resource

    used = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return [
        (b"redis-ver", REDIS_VERSION.encode()),
        (b"redis-bits", b"64"),
        (b"ctime", b"%d" % int(time.time())),
        (b"used-mem", b"%d" % used),
        (b"aof-base", b"0"),
    ]


def iter_rdb(server, *, aux=None, checksum: bool | None = None, chunk: int = 1 << 16,
             progress=None, key_delay_us: int = 0):
    """Yield the bytes of an RDB (version 10) of ``server``'s databases, in chunks.

    ``progress(keys_done)`` is called every 1024 keys when given. The CRC64 trailer is zero
    when ``rdbchecksum`` is off (Redis's loader then skips the check). ``key_delay_us`` slows
    the writer down per key (Redis's ``rdb-key-save-delay``, for tests).
    """
    config = server.config
    lim = Limits(config)
    if checksum is None:
        checksum = config["rdbchecksum"]
    crc = CRC64() if checksum else None
    head = [b"REDIS%04d" % RDB_VERSION]
    for k, v in aux if aux is not None else default_aux(server):
        head.append(_aux(k, v))
    buf = head
    size = sum(map(len, buf))
    done = 0
    for db in server.dbs:
        data = db.data
        if not data:
            continue
        expires = db.expires
        buf.append(b"\xfe" + encode_length(db.id))
        buf.append(b"\xfb" + encode_length(len(data)) + encode_length(len(expires)))
        for key, value in data.items():
            when = expires.get(key) if expires else None
            if when is not None:
                buf.append(b"\xfc" + _i64le.pack(when))
            if value.__class__ is bytes:
                rec = b"\x00" + encode_string(key) + encode_string(value)
                buf.append(rec)
                size += len(rec) + 9
            else:
                rtype, parts = encode_value(value, lim)
                buf.append(_LEN1[rtype])
                buf.append(encode_string(key))
                buf.extend(parts)
                size += sum(map(len, parts)) + len(key) + 16
            done += 1
            if progress is not None and not done & 1023:
                progress(done)
            if key_delay_us:
                time.sleep(key_delay_us / 1_000_000)
            if size >= chunk:
                out = b"".join(buf)
                if crc is not None:
                    crc.update(out)
                yield out
                buf = []
                size = 0
    buf.append(b"\xff")
    out = b"".join(buf)
    if crc is not None:
        crc.update(out)
        out += _u64le.pack(crc.value())
    else:
        out += bytes(8)
    yield out


def dump_bytes(server) -> bytes:
    """The whole RDB of ``server`` (replication full syncs)."""
    return b"".join(iter_rdb(server))


# == DUMP / RESTORE ===========================================================================


def dump_payload(value, limits: Limits) -> bytes:
    """DUMP's serialization: type, value, RDB version (2 bytes LE), CRC64 (8 bytes LE)."""
    rtype, parts = encode_value(value, limits)
    body = _LEN1[rtype] + b"".join(parts) + _u16le.pack(RDB_VERSION)
    return body + _u64le.pack(crc64(0, body))


class PayloadError(ValueError):
    """A DUMP payload whose version or checksum is wrong."""


def load_payload(payload, limits: Limits, now_ms: int = 0):
    """RESTORE: the value of a DUMP payload. PayloadError for a bad version or checksum,
    RDBError for a bad body (including an empty collection)."""
    n = len(payload)
    if n < 10:
        raise PayloadError("payload too short")
    version = _u16le.unpack_from(payload, n - 10)[0]
    if version > MAX_VERSION:
        raise PayloadError("payload version too new")
    if crc64(0, memoryview(payload)[: n - 8]) != _u64le.unpack_from(payload, n - 8)[0]:
        raise PayloadError("payload checksum mismatch")
    r = Reader(payload, 0, n - 10)
    rtype = r.u8()
    if not (0 <= rtype <= 7 or 9 <= rtype <= 25):
        raise RDBError("not an object type", 0)
    value = read_object(r, rtype, _Ctx(limits, now_ms, False))
    if value is None:
        raise RDBError("empty value", 0)
    return value


# == check-rdb ================================================================================


def check(data, now_ms: int | None = None) -> tuple[bool, list[str]]:
    """What ``trioredis check-rdb`` prints: the file's contents, or where it is broken."""
    now = now_ms or int(time.time() * 1000)
    lines: list[str] = []
    per_db: dict[int, dict[str, int]] = {}
    encodings: dict[str, int] = {}
    keys = expires = expired = empty = functions = modules_aux = 0
    ctx = _Ctx(Limits(), now, False)
    r_pos = 0
    try:
        for ev in parse(data, ctx=ctx, skip_modules=True):
            kind = ev[0]
            r_pos = ctx.reader.pos
            if kind == "version":
                lines.append(f"[offset 0] Checking RDB file, version {ev[1]}")
            elif kind == "aux":
                lines.append(f"[offset {r_pos}] AUX FIELD {_show(ev[1])} = '{_show(ev[2])}'")
            elif kind == "selectdb":
                lines.append(f"[offset {r_pos}] Selecting DB ID {ev[1]}")
            elif kind == "resizedb":
                lines.append(f"[offset {r_pos}] RESIZEDB keys={ev[1]} expires={ev[2]}")
            elif kind == "function":
                functions += 1
            elif kind == "module_aux":
                modules_aux += 1
            elif kind == "key":
                _, dbid, key, value, when, rtype = ev
                keys += 1
                if value is None:
                    empty += 1
                if when is not None:
                    expires += 1
                    if when < now:
                        expired += 1
                counts = per_db.setdefault(dbid, {})
                k = KIND.get(rtype, "?")
                counts[k] = counts.get(k, 0) + 1
                enc = ENCODING_NAMES.get(rtype, str(rtype))
                encodings[enc] = encodings.get(enc, 0) + 1
            elif kind == "eof":
                state = {"ok": "Checksum OK", "disabled": "RDB file was saved with checksum "
                         "disabled: no check performed.", "absent": "No checksum (version < 5)",
                         "unchecked": "Checksum not checked"}[ev[1]]
                lines.append(f"[offset {r_pos}] {state}")
                lines.append(f"[offset {r_pos}] \\o/ RDB looks OK! \\o/")
    except RDBError as e:
        lines.append("--- RDB ERROR DETECTED ---")
        at = e.offset if e.offset is not None else r_pos
        lines.append(f"[offset {at}] {e.reason}")
        if e.key is not None:
            lines.append(f"[additional info] Reading key '{_show(e.key)}'")
        if e.rtype is not None:
            lines.append(f"[additional info] Reading type {e.rtype} "
                         f"({ENCODING_NAMES.get(e.rtype, 'unknown')})")
        lines.append(f"[info] {keys} keys read")
        return False, lines
    lines.append(f"[info] {keys} keys read")
    lines.append(f"[info] {expires} expires")
    lines.append(f"[info] {expired} already expired")
    if empty:
        lines.append(f"[info] {empty} empty keys (skipped when loading)")
    if functions:
        lines.append(f"[info] {functions} function libraries (skipped when loading)")
    if modules_aux:
        lines.append(f"[info] {modules_aux} module aux fields (refused when loading)")
    for dbid in sorted(per_db):
        kinds = ", ".join(f"{k}={n}" for k, n in sorted(per_db[dbid].items()))
        lines.append(f"[info] db{dbid}: keys={sum(per_db[dbid].values())} ({kinds})")
    if encodings:
        lines.append("[info] encodings: " + ", ".join(
            f"{k}={n}" for k, n in sorted(encodings.items())))
    return True, lines

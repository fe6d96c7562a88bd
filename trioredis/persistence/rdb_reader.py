"""RDB reading: the cursor, every value decoder, and the file walker (:func:`parse`).

Reading works on the whole file in memory (Redis loads everything into memory anyway):
:func:`parse` walks it and yields events (aux fields, db switches, keys with their decoded
values and expiry, the end), checking every structure on the way and raising
:class:`RDBError` with the byte offset and a reason on the first problem. Every type and
encoding real Redis has written is understood: strings (raw, int, LZF), lists (linked, ziplist,
quicklist of ziplists or of listpacks with PLAIN/PACKED nodes), sets (plain, intset, listpack),
hashes (plain, zipmap, ziplist, listpack, and 7.4's field-TTL forms, loaded without their field
TTLs), sorted sets (string or binary doubles, ziplist, listpack), streams (the three listpack
forms with consumer groups, consumers and PELs). Module values and module aux data are refused;
function libraries are yielded as their code. Putting the parsed keys into a server is ``rdb_load.py``.
"""

from __future__ import annotations

import math
import time
from collections import deque

from ..datatypes.stream import Consumer, Nack, Stream
from ..datatypes.zset import ZSet
from . import lzf
from .crc64 import crc64
from .listpack import (
    BlobError,
    intset_decode,
    lp_decode,
    zipmap_decode,
    zl_decode,
)
from .rdb_format import (
    EB_EXPIRE_TIME_MAX,
    MASK64,
    MAX_VERSION,
    OP_AUX,
    OP_EOF,
    OP_EXPIRETIME,
    OP_EXPIRETIME_MS,
    OP_FREQ,
    OP_FUNCTION2,
    OP_FUNCTION_PRE_GA,
    OP_IDLE,
    OP_RESIZEDB,
    OP_SELECTDB,
    OP_SLOT_INFO,
    QUICKLIST_PACKED,
    QUICKLIST_PLAIN,
    STREAM_DELETED,
    STREAM_SAMEFIELDS,
    T_HASH,
    T_HASH_LISTPACK,
    T_HASH_LISTPACK_EX,
    T_HASH_LISTPACK_EX_PRE_GA,
    T_HASH_METADATA,
    T_HASH_METADATA_PRE_GA,
    T_HASH_ZIPLIST,
    T_HASH_ZIPMAP,
    T_LIST,
    T_LIST_QUICKLIST,
    T_LIST_QUICKLIST_2,
    T_LIST_ZIPLIST,
    T_MODULE_2,
    T_MODULE_PRE_GA,
    T_SET,
    T_SET_INTSET,
    T_SET_LISTPACK,
    T_STREAM_LISTPACKS,
    T_STREAM_LISTPACKS_2,
    T_STREAM_LISTPACKS_3,
    T_STRING,
    T_ZSET,
    T_ZSET_2,
    T_ZSET_LISTPACK,
    T_ZSET_ZIPLIST,
    Limits,
    RDBError,
    _dble,
    _i64le,
    _id128,
    _u32be,
    _u64be,
    _u64le,
    module_type_name,
)


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
                 "reader", "deep")

    def __init__(self, limits: Limits, now_ms: int, drop_expired: bool):
        self.reader: Reader | None = None  # set by parse(): its position is the progress
        self.limits = limits
        self.now_ms = now_ms
        self.drop_expired = drop_expired
        self.hfe_ttls_dropped = 0  # hash fields loaded without their 7.4 field TTL
        self.hfe_expired = 0  # hash fields skipped because their field TTL had passed
        # Deep sanitization (sanitize-dump-payload): also refuse what only redundant fields
        # get wrong (a stream entry's back-count), which decoding to objects never reads.
        self.deep = True


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
        for i, fv in _stream_node_entries(items, master_ms, master_seq, start, ctx.deep):
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


def _stream_node_entries(items: list, master_ms: int, master_seq: int, offset: int,
                         deep: bool = True):
    """The live (id, [field, value, ...]) entries of one stream listpack node. Each entry's
    trailing lp-count only serves Redis's backward walk: it is checked when ``deep``."""

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
        if p >= n or (deep and items[p] != expect):
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
    idle = freq = -1  # the key's LRU idle seconds / LFU counter (OP_IDLE / OP_FREQ)
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
            if idle != -1 or freq != -1:
                yield ("access", idle, freq)  # for the key that follows
                idle = freq = -1
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
            idle = r.length()
        elif op == OP_FREQ:
            freq = u8()
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

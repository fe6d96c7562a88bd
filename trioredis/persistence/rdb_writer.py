"""RDB writing: :func:`encode_value` per value, :func:`iter_rdb` / :func:`dump_bytes` per file.

Writing produces what Redis 7.0 writes, RDB version 10: small hashes and sorted sets as
listpacks, lists as quicklists of listpacks, small integer sets as intsets, streams as
STREAM_LISTPACKS_2. Strings are written uncompressed: a pure-Python LZF compressor would cost
far more time than the disk it saves (``rdbcompression`` is accepted and ignored).
"""

from __future__ import annotations

import math
import time
from collections import deque

from ..datatypes.stream import Stream
from ..datatypes.zset import ZSet
from ..lfu import idle_ms, lfu_decayed
from .crc64 import CRC64
from .listpack import (
    intset_encode,
    lp_element,
    lp_encode,
    lp_encode_parts,
    str_to_int,
)
from .rdb_format import (
    _LEN1,
    MASK64,
    OP_FUNCTION2,
    PACKED_THRESHOLD,
    QUICKLIST_PACKED,
    QUICKLIST_PLAIN,
    RDB_VERSION,
    REDIS_VERSION,
    STREAM_SAMEFIELDS,
    T_HASH,
    T_HASH_LISTPACK,
    T_LIST_QUICKLIST_2,
    T_SET,
    T_SET_INTSET,
    T_STREAM_LISTPACKS_2,
    T_STRING,
    T_ZSET_2,
    T_ZSET_LISTPACK,
    Limits,
    _dble,
    _i64le,
    _id128,
    _u64le,
    encode_length,
    encode_string,
)


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


def default_aux(server, with_repl: bool = True) -> list[tuple[bytes, bytes]]:
    """Redis's aux fields, in its order. The replication ID and offset are there only when
    the replication state says they are worth keeping (rdbPopulateSaveInfo); AOF bases never
    carry them."""
    import resource

    used = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    aux = [
        (b"redis-ver", REDIS_VERSION.encode()),
        (b"redis-bits", b"64"),
        (b"ctime", b"%d" % int(time.time())),
        (b"used-mem", b"%d" % used),
    ]
    repl = getattr(server, "replication", None) if with_repl else None
    stream_db = repl.save_info() if repl is not None else None
    if stream_db is not None:
        aux += [
            (b"repl-stream-db", b"%d" % stream_db),
            (b"repl-id", server.replid.encode()),
            (b"repl-offset", b"%d" % server.master_repl_offset),
        ]
    aux.append((b"aof-base", b"0"))
    return aux


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
    for codes in server.hooks.get("function_codes", ()):  # the FUNCTION libraries
        head.extend(bytes((OP_FUNCTION2,)) + encode_string(code) for code in codes())
    buf = head
    size = sum(map(len, buf))
    done = 0
    # Redis's rdbSaveKeyValuePair saves each key's idle time under an LRU policy (OP_IDLE,
    # seconds) and its decayed counter under an LFU one (OP_FREQ).
    policy = config["maxmemory-policy"]
    save_lru = policy.endswith("-lru")
    save_lfu = policy.endswith("-lfu")
    for db in server.dbs:
        data = db.data
        if not data:
            continue
        expires = db.expires
        access = db.access
        buf.append(b"\xfe" + encode_length(db.id))
        buf.append(b"\xfb" + encode_length(len(data)) + encode_length(len(expires)))
        for key, value in data.items():
            when = expires.get(key) if expires else None
            if when is not None:
                buf.append(b"\xfc" + _i64le.pack(when))
            if save_lru:
                clock = server.lru_clock
                buf.append(b"\xf8" + encode_length(idle_ms(access.get(key, clock), clock) // 1000))
            elif save_lfu:
                counter = lfu_decayed(access.get(key, 0), server.lfu_minutes,
                                      config["lfu-decay-time"])
                buf.append(b"\xf9" + bytes((counter,)))
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

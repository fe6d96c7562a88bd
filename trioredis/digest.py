"""DEBUG DIGEST and DEBUG DIGEST-VALUE: Redis's dataset signature, bit for bit.

Redis (debug.c) builds a 20-byte digest with two SHA1-based steps: ``xor_digest`` folds data
in without regard to order (set members, hash fields), ``mix_digest`` folds it in so that
order matters (list elements, the key, the type). A key's digest mixes the key, the type id
and the value; a key with a TTL also xors in ``!!expire!!``. The dataset digest mixes each
non-empty db's id and xors every key's digest in. Equal datasets give equal digests, here and
in real Redis, so tests can compare a trioredis with a redis-server.

Sorted sets and streams are classes of their own modules; they provide
``value.debug_digest(digest=bytes(20)) -> bytes``: starting from ``digest`` (zeros for
DIGEST-VALUE, the key mixed in for DIGEST), mix in the type id, then fold in the value as
Redis's xorObjectDigest does. A ``debug_digest()`` without the argument (always starting from
zeros) still works: sorted sets are re-based exactly (their elements are xor-folded), streams
are recomputed from ``entries()``.
"""

from __future__ import annotations

import hashlib
import inspect
from collections import deque

ZERO = bytes(20)

# Redis's OBJ_* type ids, mixed in as a big-endian uint32.
OBJ_STRING, OBJ_LIST, OBJ_SET, OBJ_ZSET, OBJ_HASH, OBJ_MODULE, OBJ_STREAM = range(7)
_TYPE_IDS = {b"string": OBJ_STRING, b"list": OBJ_LIST, b"set": OBJ_SET, b"zset": OBJ_ZSET,
             b"hash": OBJ_HASH, b"stream": OBJ_STREAM}


def _sha1(data: bytes) -> bytes:
    return hashlib.sha1(data).digest()


def xor_digest(digest: bytes, data: bytes) -> bytes:
    """Redis's xorDigest: digest ^= SHA1(data)."""
    h = _sha1(data)
    return (int.from_bytes(digest, "big") ^ int.from_bytes(h, "big")).to_bytes(20, "big")


def mix_digest(digest: bytes, data: bytes) -> bytes:
    """Redis's mixDigest: digest = SHA1(digest ^ SHA1(data))."""
    return _sha1(xor_digest(digest, data))


def _type_id(value) -> int:
    from .keyspace import type_name

    return _TYPE_IDS.get(type_name(value), OBJ_MODULE)


def value_digest(value, has_ttl: bool, digest: bytes = ZERO) -> bytes:
    """Redis's xorObjectDigest: the type and the value folded into ``digest``."""
    t = value.__class__
    if t not in _BUILTIN:
        digest = _foreign_digest(value, digest)
        return xor_digest(digest, b"!!expire!!") if has_ttl else digest
    digest = mix_digest(digest, _type_id(value).to_bytes(4, "big"))
    if t is bytes or t is bytearray:
        digest = mix_digest(digest, bytes(value))
    elif t is deque:
        for item in value:
            digest = mix_digest(digest, bytes(item))
    elif t is set:
        acc = int.from_bytes(digest, "big")
        for member in value:
            acc ^= int.from_bytes(_sha1(bytes(member)), "big")
        digest = acc.to_bytes(20, "big")
    elif t is dict:
        acc = int.from_bytes(digest, "big")
        for field, val in value.items():
            ele = mix_digest(mix_digest(ZERO, bytes(field)), bytes(val))
            acc ^= int.from_bytes(_sha1(ele), "big")
        digest = acc.to_bytes(20, "big")
    if has_ttl:
        digest = xor_digest(digest, b"!!expire!!")
    return digest


_BUILTIN = frozenset({bytes, bytearray, deque, set, dict})
_TAKES_START: dict[type, bool] = {}


def _foreign_digest(value, start: bytes) -> bytes:
    """A sorted set's or stream's digest from ``start`` (see the module docstring)."""
    cls = value.__class__
    takes = _TAKES_START.get(cls)
    if takes is None:
        try:
            takes = bool(inspect.signature(value.debug_digest).parameters)
        except (TypeError, ValueError):
            takes = False
        _TAKES_START[cls] = takes
    if takes:
        return value.debug_digest(start)
    d = value.debug_digest()
    if start == ZERO:
        return d
    tid = _type_id(value)
    type_bytes = tid.to_bytes(4, "big")
    if tid == OBJ_ZSET:  # xor-folded elements: swap the zero-based type mix for ours
        x = (int.from_bytes(d, "big") ^ int.from_bytes(mix_digest(ZERO, type_bytes), "big")
             ^ int.from_bytes(mix_digest(start, type_bytes), "big"))
        return x.to_bytes(20, "big")
    digest = mix_digest(start, type_bytes)  # a stream: entries mixed in order
    for ident, fields in value.entries():
        digest = mix_digest(digest, b"%d.%d" % (ident >> 64, ident & 0xFFFFFFFFFFFFFFFF))
        for x in fields:
            digest = mix_digest(digest, bytes(x))
    return digest


def key_value_digest(db, key: bytes) -> bytes:
    """DEBUG DIGEST-VALUE of one key: zeros when the key does not exist (logically expired
    keys still count, as in Redis: a debug command sees what is stored)."""
    value = db.data.get(key)
    if value is None:
        return ZERO
    return value_digest(value, key in db.expires)


def dataset_digest(server) -> bytes:
    """DEBUG DIGEST: the whole dataset, zeros when it is empty."""
    final = ZERO
    for db in server.dbs:
        if not db.data:
            continue
        final = mix_digest(final, db.id.to_bytes(4, "big"))
        expires = db.expires
        acc = int.from_bytes(final, "big")
        for key, value in list(db.data.items()):
            d = value_digest(value, key in expires, mix_digest(ZERO, key))
            acc ^= int.from_bytes(_sha1(d), "big")
        final = acc.to_bytes(20, "big")
    return final

"""DUMP / RESTORE payloads: one value in the RDB value encoding, with a version and a CRC64.

:func:`dump_payload` uses the writer's :func:`~.rdb_writer.encode_value`,
:func:`load_payload` the reader's :func:`~.rdb_reader.read_object`, so payloads move between
trioredis and Redis.
"""

from __future__ import annotations

from .crc64 import crc64
from .rdb_format import _LEN1, MAX_VERSION, RDB_VERSION, Limits, RDBError, _u16le, _u64le
from .rdb_reader import Reader, _Ctx, read_object
from .rdb_writer import encode_value


def dump_payload(value, limits: Limits) -> bytes:
    """DUMP's serialization: type, value, RDB version (2 bytes LE), CRC64 (8 bytes LE)."""
    rtype, parts = encode_value(value, limits)
    body = _LEN1[rtype] + b"".join(parts) + _u16le.pack(RDB_VERSION)
    return body + _u64le.pack(crc64(0, body))


class PayloadError(ValueError):
    """A DUMP payload whose version or checksum is wrong."""


def load_payload(payload, limits: Limits, now_ms: int = 0, verify_checksum: bool = True,
                 deep: bool = True):
    """RESTORE: the value of a DUMP payload. PayloadError for a bad version or checksum,
    RDBError for a bad body (including an empty collection). ``verify_checksum=False`` is
    DEBUG SET-SKIP-CHECKSUM-VALIDATION 1: the CRC64 is not compared. ``deep=False``
    (sanitize-dump-payload no) skips only checks of fields the decoded value never uses;
    everything decoded is still checked, so no loaded value can break a later command."""
    n = len(payload)
    if n < 10:
        raise PayloadError("payload too short")
    version = _u16le.unpack_from(payload, n - 10)[0]
    if version > MAX_VERSION:
        raise PayloadError("payload version too new")
    if verify_checksum and crc64(0, memoryview(payload)[: n - 8]) != _u64le.unpack_from(
            payload, n - 8)[0]:
        raise PayloadError("payload checksum mismatch")
    r = Reader(payload, 0, n - 10)
    rtype = r.u8()
    if not (0 <= rtype <= 7 or 9 <= rtype <= 25):
        raise RDBError("not an object type", 0)
    ctx = _Ctx(limits, now_ms, False)
    ctx.deep = deep
    value = read_object(r, rtype, ctx)
    if value is None:
        raise RDBError("empty value", 0)
    return value

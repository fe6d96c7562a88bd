"""Function libraries in Redis 7.0's serialized forms: FUNCTION DUMP's payload and the RDB's
function records (opcode 245, RDB_OPCODE_FUNCTION2: the library's code as an RDB string).

A DUMP payload is those records, then the RDB version (2 bytes, little-endian) and a CRC64 of
everything before it (8 bytes, little-endian), as DUMP's: a payload from real Redis restores
here and ours there.
"""

from __future__ import annotations

from ..persistence.crc64 import crc64
from ..persistence.rdb_format import (
    MAX_VERSION,
    OP_FUNCTION2,
    OP_FUNCTION_PRE_GA,
    RDB_VERSION,
    RDBError,
    _u16le,
    _u64le,
    encode_string,
)
from ..persistence.rdb_reader import Reader


class PayloadError(ValueError):
    """A FUNCTION RESTORE payload that cannot be used; the message is Redis's reply."""


def function_record(code: bytes) -> bytes:
    """One library as the RDB stores it (rdbSaveFunctions)."""
    return bytes((OP_FUNCTION2,)) + encode_string(code)


def dump(codes) -> bytes:
    """FUNCTION DUMP's payload for libraries of ``codes``."""
    body = b"".join(function_record(c) for c in codes) + _u16le.pack(RDB_VERSION)
    return body + _u64le.pack(crc64(0, body))


def parse(payload: bytes, verify_checksum: bool = True) -> list[bytes]:
    """The library codes of a FUNCTION RESTORE payload (functionRestoreCommand)."""
    n = len(payload)
    bad = "ERR payload version or checksum are wrong"
    if n < 10:
        raise PayloadError(bad)
    if _u16le.unpack_from(payload, n - 10)[0] > MAX_VERSION:
        raise PayloadError(bad)
    if verify_checksum and crc64(0, memoryview(payload)[: n - 8]) != _u64le.unpack_from(
            payload, n - 8)[0]:
        raise PayloadError(bad)
    r = Reader(payload, 0, n - 10)
    codes = []
    try:
        while r.pos < r.end:
            kind = r.u8()
            if kind == OP_FUNCTION_PRE_GA:
                raise PayloadError("ERR Pre-GA function format not supported")
            if kind != OP_FUNCTION2:
                raise PayloadError("ERR given type is not a function")
            codes.append(r.string())
    except RDBError:
        raise PayloadError("ERR failed loading the given functions payload") from None
    return codes

"""RDB, Redis's snapshot format: a sans-I/O decoder (versions 1 to 12) and encoder (version 10).

This module is the entry point: the rest of trioredis and the tests use ``rdb.<name>``, and it
re-exports those names from the modules that hold the code, split by direction:

- ``rdb_format.py``: version numbers, type ids (``T_*``), opcodes (``OP_*``), encoding names,
  :class:`RDBError`, :class:`Limits`, and the length/string encodings (:func:`encode_length`,
  :func:`encode_string`).
- ``rdb_reader.py``: reading. The in-memory cursor (:class:`Reader`), every value decoder
  (:func:`read_object`: strings, lists, sets, hashes, sorted sets and streams in every
  encoding Redis has written, 7.4's hash field TTLs dropped) and the file walker
  (:func:`parse`), which yields events and raises :class:`RDBError` with the byte offset and a
  reason on the first problem.
- ``rdb_load.py``: a parsed file into a server's databases, all or nothing
  (:func:`load_into`, :func:`load_bytes`).
- ``rdb_writer.py``: writing what Redis 7.0 writes, RDB version 10 (:func:`encode_value`,
  :func:`iter_rdb`, :func:`dump_bytes`).
- ``rdb_payload.py``: DUMP/RESTORE, the same value encoding (:func:`dump_payload`,
  :func:`load_payload`).
- ``rdb_check.py``: ``trioredis check-rdb``'s report (:func:`check`).

The blob formats inside values (listpack, ziplist, intset, zipmap) are ``listpack.py``.
"""

from __future__ import annotations

from .rdb_check import check
from .rdb_format import (
    ENCODING_NAMES,
    KIND,
    MAX_VERSION,
    RDB_VERSION,
    REDIS_VERSION,
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
    RDBError,
    encode_length,
    encode_string,
    module_type_name,
)
from .rdb_load import LoadStats, load_bytes, load_into
from .rdb_payload import PayloadError, dump_payload, load_payload
from .rdb_reader import Reader, _Ctx, parse, read_object
from .rdb_writer import default_aux, dump_bytes, encode_value, iter_rdb

__all__ = [
    "ENCODING_NAMES",
    "KIND",
    "MAX_VERSION",
    "RDB_VERSION",
    "REDIS_VERSION",
    "T_HASH",
    "T_HASH_LISTPACK",
    "T_LIST_QUICKLIST_2",
    "T_SET",
    "T_SET_INTSET",
    "T_STREAM_LISTPACKS_2",
    "T_STRING",
    "T_ZSET_2",
    "T_ZSET_LISTPACK",
    "Limits",
    "LoadStats",
    "PayloadError",
    "RDBError",
    "Reader",
    "_Ctx",
    "check",
    "default_aux",
    "dump_bytes",
    "dump_payload",
    "encode_length",
    "encode_string",
    "encode_value",
    "iter_rdb",
    "load_bytes",
    "load_into",
    "load_payload",
    "module_type_name",
    "parse",
    "read_object",
]

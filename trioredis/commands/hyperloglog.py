"""HyperLogLog commands (PFADD, PFCOUNT, PFMERGE, PFDEBUG, PFSELFTEST) on Redis's own bytes.

The value format and the algorithm (encodings, hash, estimator, register updates) are in
``datatypes/hyperloglog.py``; this module holds what touches the keyspace and the client: the
type checks and error replies, the ``hll-sparse-max-bytes`` parameter, the commands themselves
and what COMMAND INFO / DOCS show for them.
"""

from __future__ import annotations

import math
import random

from ..config import param
from ..datatypes.hyperloglog import (
    DENSE,
    DENSE_SIZE,
    EMPTY_SPARSE,
    HDR,
    HLL_REGISTERS,
    SPARSE,
    add_elements,
    count_from_histo,
    decode_sparse,
    dense_set,
    dense_to_raw,
    hll_count,
    is_hll,
    pat_len,
    raw_histo,
    raw_max,
    raw_to_dense,
    registers,
    set_registers,
    sparse_to_dense,
)
from ..errors import WRONGTYPE, CommandError
from ..keyspace import NOTIFY_STRING
from ..protocol.replies import OK, SetReply
from .keys import lookup_read
from .registry import BY_NAME, command

param("hll-sparse-max-bytes", "memory", 3000, minimum=0)

NOT_HLL = "WRONGTYPE Key is not a valid HyperLogLog string value."
INVALID_HLL = "INVALIDOBJ Corrupted HLL object detected"


# -- value access ------------------------------------------------------------------------------


def _check(v):
    if v.__class__ is not bytes and v.__class__ is not bytearray:
        raise CommandError(WRONGTYPE)
    if not is_hll(v):
        raise CommandError(NOT_HLL)


def _unshare(db, key: bytes, v) -> bytearray:
    """dbUnshareStringValue: the value as a bytearray we may change in place (TTL kept)."""
    if v.__class__ is not bytearray:
        v = bytearray(v)
        db.store(key, v, keepttl=True)
    return v


def _max_bytes(c) -> int:
    return c.server.config.get("hll-sparse-max-bytes", 3000)


# -- commands ----------------------------------------------------------------------------------


@command("pfadd", -2, "write denyoom fast", keys=(1, 1, 1), group="hyperloglog", since="2.8.9",
         summary="Adds the specified elements to the specified HyperLogLog.",
         complexity="O(1) to add every element.")
def pfadd(c, argv):
    """Creates the key (sparse) if missing; 1 when a register changed or the key was made."""
    db = c.db
    key = argv[1]
    v = db.lookup(key)
    updated = 0
    if v is None:
        v = bytearray(EMPTY_SPARSE)
        db.store(key, v)
        updated = 1
    else:
        _check(v)
        v = _unshare(db, key, v)
    n = add_elements(v, argv[2:], _max_bytes(c))
    if n < 0:
        raise CommandError(INVALID_HLL)
    updated += n
    if updated:
        v[15] |= 0x80
        db.modified(key, b"pfadd", NOTIFY_STRING, updated)
        return 1
    return 0


@command("pfcount", -2, "readonly", keys=(1, -1, 1), group="hyperloglog", since="2.8.9",
         summary="Return the approximated cardinality of the set(s) observed by the "
                 "HyperLogLog at key(s).",
         complexity="O(1) with a very small average constant time when called with a single "
                    "key. O(N) with N being the number of keys, and much bigger constant times, "
                    "when called with multiple keys.")
def pfcount(c, argv):
    """One key: the cached cardinality, recomputed (and stored) when stale. Several keys: the
    cardinality of their union, changing nothing."""
    db = c.db
    if len(argv) > 2:
        # The union of several HLLs, computed aside: no key changes.
        union = None
        for key in argv[1:]:
            v = lookup_read(db, key)
            if v is None:
                continue
            _check(v)
            raw = registers(v)
            if raw is None:
                raise CommandError(INVALID_HLL)
            union = raw if union is None else raw_max(union, raw)
        if union is None:
            return 0
        return count_from_histo(raw_histo(bytes(union)))
    key = argv[1]
    v = lookup_read(db, key)
    if v is None:
        return 0
    _check(v)
    v = _unshare(db, key, v)
    if not v[15] & 0x80:
        return int.from_bytes(v[8:16], "little")
    card = hll_count(v)
    if card is None:
        raise CommandError(INVALID_HLL)
    v[8:16] = card.to_bytes(8, "little")
    # Redis counts the cache update as a change (dirty, WATCH) and propagates PFCOUNT, though
    # the command is flagged read-only: the core propagates only writes, so it is done here.
    db.modified(key)
    srv = c.server
    if srv.propagate_targets:
        srv.propagate(db.id, argv)
        c.woff = srv.master_repl_offset
    return card


@command("pfmerge", -2, "write denyoom", keys=(1, -1, 1), group="hyperloglog", since="2.8.9",
         summary="Merge N different HyperLogLogs into a single one.",
         complexity="O(N) to merge N HyperLogLogs, but with high constant times.")
def pfmerge(c, argv):
    """The destination (itself one of the inputs) becomes the register-wise maximum; it stays
    sparse unless an input is dense or the result outgrows the sparse limit."""
    db = c.db
    union = bytes(HLL_REGISTERS)
    use_dense = False
    for key in argv[1:]:
        v = lookup_read(db, key)
        if v is None:
            continue
        _check(v)
        if v[4] == DENSE:
            use_dense = True
        raw = registers(v)
        if raw is None:
            raise CommandError(INVALID_HLL)
        union = raw_max(union, bytes(raw))
    key = argv[1]
    v = db.lookup(key)
    if v is None:
        v = bytearray(EMPTY_SPARSE)
        db.store(key, v)
    else:
        v = _unshare(db, key, v)
    if use_dense and not sparse_to_dense(v):
        raise CommandError(INVALID_HLL)
    if v[4] == DENSE:
        # The destination is one of the inputs, so its registers become the union itself.
        v[HDR:] = raw_to_dense(union)
    else:
        set_registers(v, [(i, x) for i, x in enumerate(union) if x], _max_bytes(c))
    v[15] |= 0x80
    db.modified(key, b"pfadd", NOTIFY_STRING)
    return OK


def _cstr(b: bytes) -> bytes:
    i = b.find(b"\0")
    return b if i < 0 else b[:i]


@command("pfdebug", 3, "write denyoom admin", keys=(2, 2, 1), group="hyperloglog",
         since="2.8.9", summary="Internal commands for debugging HyperLogLog values",
         complexity="N/A")
def pfdebug(c, argv):
    """GETREG (converts to dense), DECODE (sparse opcodes as text), ENCODING, TODENSE."""
    db = c.db
    key = argv[2]
    v = db.lookup(key)
    if v is None:
        raise CommandError("ERR The specified key does not exist")
    _check(v)
    v = _unshare(db, key, v)
    sub = _cstr(argv[1]).lower()
    if sub == b"getreg" or sub == b"todense":
        converted = 0
        if v[4] == SPARSE:
            if not sparse_to_dense(v):
                raise CommandError(INVALID_HLL)
            converted = 1
            c.server.dirty += 1  # Redis forces propagation on the encoding change
        if sub == b"todense":
            return converted
        return list(dense_to_raw(v))
    if sub == b"decode":
        if v[4] != SPARSE:
            raise CommandError("ERR HLL encoding is not sparse")
        return decode_sparse(v)
    if sub == b"encoding":
        return "dense" if v[4] == DENSE else "sparse"
    name = _cstr(argv[1]).decode("utf-8", "replace")
    raise CommandError(f"ERR Unknown PFDEBUG subcommand '{name}'")


@command("pfselftest", 1, "admin", group="hyperloglog", since="2.8.9",
         summary="An internal command for testing HyperLogLog values", complexity="N/A")
def pfselftest(c, argv):
    """PFSELFTEST, scaled down from Redis's 10 million elements to stay interactive."""
    rnd = random.Random()
    # Test 1: every register keeps its value and leaves its neighbours alone.
    buf = bytearray(DENSE_SIZE)
    for _ in range(2):
        vals = bytes(rnd.randrange(64) for _ in range(HLL_REGISTERS))
        for i, r in enumerate(vals):
            dense_set(buf, i, r)
        got = dense_to_raw(buf)
        if got != vals:
            i = next(i for i in range(HLL_REGISTERS) if got[i] != vals[i])
            raise CommandError(
                f"TESTFAILED Register {i} should be {vals[i]} but is {got[i]}")
    # Test 2: the error stays within bounds, sparse and dense agree (checked at 1, 10, ...).
    max_bytes = _max_bytes(c)
    dense = bytearray(DENSE_SIZE)
    dense[:5] = b"HYLL\x00"
    sparse = bytearray(EMPTY_SPARSE)
    relerr = 1.04 / math.sqrt(HLL_REGISTERS)
    seed = rnd.getrandbits(64)
    done = 0
    checkpoint = 1
    while checkpoint <= 100_000:
        pairs = [pat_len((j ^ seed).to_bytes(8, "little"))
                 for j in range(done + 1, checkpoint + 1)]
        set_registers(dense, pairs, max_bytes)
        set_registers(sparse, pairs, max_bytes)
        done = checkpoint
        if checkpoint < max_bytes // 2 and sparse[4] != SPARSE:
            raise CommandError("TESTFAILED sparse encoding not used")
        card = hll_count(dense)
        if card != hll_count(sparse):
            raise CommandError("TESTFAILED dense/sparse disagree")
        maxerr = 1 if checkpoint == 10 else math.ceil(relerr * 6 * checkpoint)
        abserr = abs(checkpoint - card)
        if abserr > maxerr:
            raise CommandError(
                f"TESTFAILED Too big error. card:{checkpoint} abserr:{abserr}")
        checkpoint *= 10
    return OK


# -- what COMMAND INFO / DOCS show beyond the table --------------------------------------------


def _spec(flags, index, last, notes=None) -> dict:
    out = {b"notes": notes.encode()} if notes else {}
    out[b"flags"] = SetReply(flags.split())
    out[b"begin_search"] = {b"type": b"index", b"spec": {b"index": index}}
    out[b"find_keys"] = {b"type": b"range",
                         b"spec": {b"lastkey": last, b"keystep": 1, b"limit": 0}}
    return out


BY_NAME["pfadd"].key_specs = [_spec("RW insert", 1, 0)]
BY_NAME["pfcount"].key_specs = [_spec(
    "RW access", 1, -1,
    "RW because it may change the internal representation of the key, and propagate to "
    "replicas")]
BY_NAME["pfmerge"].key_specs = [_spec("RW access insert", 1, 0), _spec("RO access", 2, -1)]
BY_NAME["pfdebug"].key_specs = [_spec("RW access", 2, 0)]
for _name in ("pfdebug", "pfselftest"):
    BY_NAME[_name].doc_flags = ["syscmd"]


def _arg(name, kind, key=None, token=None, flags=(), args=None) -> dict:
    """One COMMAND DOCS argument, fields in Redis's order."""
    out = {"name": name, "type": kind}
    if key is not None:
        out["key_spec_index"] = key
    if token is not None:
        out["token"] = token
    if flags:
        out["flags"] = list(flags)
    if args is not None:
        out["arguments"] = args
    return out


BY_NAME["pfadd"].doc_args = [_arg("key", "key", key=0),
                             _arg("element", "string", flags=["optional", "multiple"])]
BY_NAME["pfcount"].doc_args = [_arg("key", "key", key=0, flags=["multiple"])]
BY_NAME["pfmerge"].doc_args = [_arg("destkey", "key", key=0),
                               _arg("sourcekey", "key", key=1, flags=["multiple"])]
BY_NAME["pfdebug"].doc_args = [_arg("subcommand", "string"), _arg("key", "key", key=0)]

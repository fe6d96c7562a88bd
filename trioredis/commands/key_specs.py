"""Redis 7.0's key specs where the table's key positions cannot derive them, and the key
search COMMAND GETKEYSANDFLAGS does with them.

The command table knows where keys are (first, last, step, or a movable-keys helper) and
whether a command writes; Redis's key specs also say *how* each key is touched (``RW access
delete`` for ZPOPMIN, ``OW update`` for the destination of ZUNIONSTORE, ``RM delete`` for DEL)
and split a command's keys into several specs (COPY's source and destination). This module is
the data of Redis's ``src/commands/*.json`` for those commands, written compactly, so
COMMAND INFO and COMMAND GETKEYSANDFLAGS answer what Redis answers. A family module may still
attach ``key_specs`` to its entries itself (hashes, sort, hyperloglog, streams do); those win.

Commands whose flags depend on the arguments (SET with GET, BITFIELD with only GET, SORT with
STORE; Redis's ``variable_flags`` and ``getkeys_proc``) have a function in ``VARIABLE_FLAGS``.
"""

from __future__ import annotations

from ..protocol.replies import SetReply


def _begin(b) -> dict:
    if isinstance(b, tuple):  # (keyword, startfrom)
        return {b"type": b"keyword", b"spec": {b"keyword": b[0].encode(), b"startfrom": b[1]}}
    return {b"type": b"index", b"spec": {b"index": b}}


def _find(f) -> dict:
    if f == "#":  # numkeys then the keys (ZUNIONSTORE's sources)
        return {b"type": b"keynum", b"spec": {b"keynumidx": 0, b"firstkey": 1, b"keystep": 1}}
    last, step = f if isinstance(f, tuple) else (f, 1)
    return {b"type": b"range", b"spec": {b"lastkey": last, b"keystep": step, b"limit": 0}}


def spec(flags: str, begin=1, find=0, notes: str | None = None) -> dict:
    """One key spec, fields in Redis's order: ``begin`` an index or (keyword, startfrom);
    ``find`` a last key offset, (last, step), or "#" for numkeys-prefixed keys."""
    out = {b"notes": notes.encode()} if notes else {}
    out[b"flags"] = SetReply(flags.split())
    out[b"begin_search"] = _begin(begin)
    out[b"find_keys"] = _find(find)
    return out


_RW_ACCESS_UPDATE = "RW access update"
_WORST_RW = "We cannot tell how the keys will be used so we assume the worst, RW and UPDATE"
_WORST_RO = "We cannot tell how the keys will be used so we assume the worst, RO and ACCESS"
_ZSTORE = [spec("OW update"), spec("RO access", 2, "#")]

# name -> [spec, ...], as Redis 7.0.15's COMMAND INFO gives them.
REDIS_KEY_SPECS: dict[str, list] = {
    "append": [spec("RW insert")],
    "bitfield": [spec("RW access update variable_flags",
                      notes="This command allows both access and modification of the key")],
    "bitop": [spec("OW update", 2), spec("RO access", 3, -1)],
    "bzmpop": [spec("RW access delete", 2, "#")],
    "bzpopmax": [spec("RW access delete", 1, -2)],
    "bzpopmin": [spec("RW access delete", 1, -2)],
    "copy": [spec("RO access"), spec("OW update", 2)],
    "decr": [spec(_RW_ACCESS_UPDATE)],
    "decrby": [spec(_RW_ACCESS_UPDATE)],
    "del": [spec("RM delete", 1, -1)],
    "exists": [spec("RO", 1, -1)],
    "eval": [spec("RW access update", 2, "#", notes=_WORST_RW)],
    "eval_ro": [spec("RO access", 2, "#", notes=_WORST_RO)],
    "evalsha": [spec("RW access update", 2, "#")],
    "evalsha_ro": [spec("RO access", 2, "#")],
    "fcall": [spec("RW access update", 2, "#", notes=_WORST_RW)],
    "fcall_ro": [spec("RO access", 2, "#", notes=_WORST_RO)],
    "georadius": [spec("RO access"), spec("OW update", ("STORE", 6)),
                  spec("OW update", ("STOREDIST", 6))],
    "georadiusbymember": [spec("RO access"), spec("OW update", ("STORE", 5)),
                          spec("OW update", ("STOREDIST", 5))],
    "geosearchstore": [spec("OW update"), spec("RO access", 2)],
    "getdel": [spec("RW access delete")],
    "getex": [spec(_RW_ACCESS_UPDATE, notes="RW and UPDATE because it changes the TTL")],
    "getset": [spec(_RW_ACCESS_UPDATE)],
    "incr": [spec(_RW_ACCESS_UPDATE)],
    "incrby": [spec(_RW_ACCESS_UPDATE)],
    "incrbyfloat": [spec(_RW_ACCESS_UPDATE)],
    "move": [spec(_RW_ACCESS_UPDATE)],
    "mset": [spec("OW update", 1, (-1, 2))],
    "msetnx": [spec("OW insert", 1, (-1, 2))],
    "object|encoding": [spec("RO", 2)],
    "object|freq": [spec("RO", 2)],
    "object|idletime": [spec("RO", 2)],
    "object|refcount": [spec("RO", 2)],
    "psetex": [spec("OW update")],
    "rename": [spec("RW access delete"), spec("OW update", 2)],
    "renamenx": [spec("RW access delete"), spec("OW insert", 2)],
    "restore": [spec("OW update")],
    "restore-asking": [spec("OW update")],
    "set": [spec("RW access update variable_flags",
                 notes="RW and ACCESS due to the optional `GET` argument")],
    "setbit": [spec(_RW_ACCESS_UPDATE)],
    "setex": [spec("OW update")],
    "setnx": [spec("OW insert")],
    "spublish": [spec("not_key")],
    "ssubscribe": [spec("not_key", 1, -1)],
    "strlen": [spec("RO")],
    "sunsubscribe": [spec("not_key", 1, -1)],
    "touch": [spec("RO", 1, -1)],
    "type": [spec("RO")],
    "unlink": [spec("RM delete", 1, -1)],
    "zcard": [spec("RO")],
    "zdiffstore": _ZSTORE,
    "zincrby": [spec(_RW_ACCESS_UPDATE)],
    "zinterstore": _ZSTORE,
    "zmpop": [spec("RW access delete", 1, "#")],
    "zpopmax": [spec("RW access delete")],
    "zpopmin": [spec("RW access delete")],
    "zrangestore": [spec("OW update"), spec("RO access", 2)],
    "zrem": [spec("RW delete")],
    "zremrangebylex": [spec("RW delete")],
    "zremrangebyrank": [spec("RW delete")],
    "zremrangebyscore": [spec("RW delete")],
    "zunionstore": _ZSTORE,
}


# -- the key search (Redis's getKeysUsingKeySpecs) -------------------------------------------


def _to_int(b: bytes) -> int | None:
    try:
        return int(b)
    except ValueError:
        return None


def keys_with_flags(specs: list, argv: list) -> list[tuple[int, list]] | None:
    """``(position, flags)`` of every key ``specs`` find in ``argv`` (``argv[0]`` the command
    name), not_key specs skipped; None when a spec cannot say (unknown, or a bad numkeys)."""
    argc = len(argv)
    out = []
    for sp in specs:
        flags = list(sp[b"flags"])
        if "not_key" in flags:
            continue
        bs, fk = sp[b"begin_search"], sp[b"find_keys"]
        if bs[b"type"] == b"index":
            first = bs[b"spec"][b"index"]
        elif bs[b"type"] == b"keyword":
            first = _keyword(argv, bs[b"spec"][b"keyword"], bs[b"spec"][b"startfrom"])
            if first is None:
                continue
        else:
            return None
        if first >= argc:
            continue
        if fk[b"type"] == b"range":
            r = fk[b"spec"]
            step = r[b"keystep"]
            if r[b"lastkey"] >= 0:
                last = first + r[b"lastkey"]
            elif not r[b"limit"]:
                last = argc + r[b"lastkey"]
            else:
                last = first + ((argc - first) // r[b"limit"] + r[b"lastkey"])
        elif fk[b"type"] == b"keynum":
            k = fk[b"spec"]
            if first + k[b"keynumidx"] >= argc:
                return None
            numkeys = _to_int(argv[first + k[b"keynumidx"]])
            if numkeys is None or numkeys < 0:
                return None
            first += k[b"firstkey"]
            last = first + numkeys - 1
            step = k[b"keystep"]
        else:
            return None
        out.extend((i, flags) for i in range(first, min(last, argc - 1) + 1, step))
    return out


def _keyword(argv: list, keyword: bytes, startfrom: int) -> int | None:
    """The position after ``keyword``, searched from ``startfrom`` (backwards when < 0)."""
    argc = len(argv)
    kw = keyword.lower()
    if startfrom > 0:
        positions = range(startfrom, argc)
    else:
        positions = range(argc + startfrom, 0, -1)
    for i in positions:
        if 1 <= i < argc and argv[i].lower() == kw:
            return i + 1
    return None


# -- commands whose key flags depend on the arguments ------------------------------------------


def _set_flags(argv: list) -> list[tuple[int, list]]:
    """setGetKeys: GET makes the key read as well as written."""
    if any(a.lower() == b"get" for a in argv[3:]):
        return [(1, ["RW", "access", "update"])]
    return [(1, ["OW", "update"])]


def _bitfield_flags(argv: list) -> list[tuple[int, list]]:
    """bitfieldGetKeys: read-only unless a SET or INCRBY is there."""
    i = 2
    while i < len(argv):
        remaining = len(argv) - i - 1
        op = argv[i].lower()
        if op == b"get" and remaining >= 2:
            i += 2
        elif op in (b"set", b"incrby") and remaining >= 3:
            return [(1, ["RW", "access", "update"])]
        elif op == b"overflow" and remaining >= 1:
            i += 1
        i += 1
    return [(1, ["RO", "access"])]


def _sort_flags(argv: list) -> list[tuple[int, list]]:
    """sortGetKeys: the sorted key is read; a STORE destination (the last one given) written."""
    out = [(1, ["RO", "access"])]
    skip = {b"limit": 2, b"get": 1, b"by": 1}
    store = None
    i = 2
    while i < len(argv):
        a = argv[i].lower()
        n = skip.get(a, 0)
        if a == b"store" and i + 1 < len(argv):
            store = i + 1
            n = 1
        i += n + 1
    if store is not None:
        out.append((store, ["OW", "update"]))
    return out


VARIABLE_FLAGS = {"set": _set_flags, "bitfield": _bitfield_flags, "sort": _sort_flags}

"""RDB loading into a server: :func:`load_into` (startup, DEBUG RELOAD, AOF preambles) and
:func:`load_bytes` (replication full syncs), all or nothing.

It drives :func:`~.rdb_reader.parse`, stages the keys per database, drops expired ones on a
master, refuses duplicates, logs Redis's lines (aux fields, progress, the summary) and commits
the staged keys only once the whole file has been read.
"""

from __future__ import annotations

import time

from .rdb_format import Limits, RDBError
from .rdb_reader import _Ctx, parse


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
              log=None, progress_every: float = 2.0, on_expired=None) -> LoadStats:
    """Load an RDB into ``server``'s databases, all or nothing.

    Keys already expired are dropped when we are a master (``drop_expired`` None), kept on a
    replica, whose master expires them. A key that exists already (in the file twice, or in
    the db, as DEBUG RELOAD NOFLUSH) is an error unless ``allow_dup``. ``log`` (a Logger)
    gets Redis's lines and, for big files, progress every ``progress_every`` seconds.
    ``on_expired(dbid, key)`` is told of each expired key dropped (a master's startup load
    propagates them as DELs to its backlog).
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
    functions: list[bytes] = []
    access: dict[tuple[int, bytes], tuple[int, int]] = {}  # OP_IDLE/OP_FREQ of loaded keys
    pending_access = None
    delay = server.config.get("key-load-delay", 0)  # Redis's test knob (debugDelay)
    for ev in events:
        kind = ev[0]
        if kind == "key":
            if delay:
                _debug_delay(delay)
            _, dbid, key, value, expire, rtype = ev
            if pending_access is not None:
                access[dbid, key] = pending_access
                pending_access = None
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
                if on_expired is not None:
                    on_expired(dbid, key)
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
        elif kind == "access":
            pending_access = (ev[1], ev[2])
        elif kind == "aux":
            stats.aux[ev[1]] = ev[2]
            if log is not None:
                _log_aux(log, ev[1], ev[2])
        elif kind == "version":
            stats.version = ev[1]
        elif kind == "function":
            stats.functions += 1
            functions.append(ev[1])
        elif kind == "eof" and ev[1] == "disabled" and log is not None:
            log.warning("RDB file was saved with checksum disabled: no check performed.")
    # The libraries replace the server's (emptyData clears them), or join them with REPLACE
    # when merging (allow_dup); checked before any key is committed. The hook is scripting's.
    apply_functions = [load(functions, allow_dup)
                       for load in server.hooks.get("rdb_functions_load", ())]
    stats.hfe_ttls_dropped = ctx.hfe_ttls_dropped
    stats.hfe_expired = ctx.hfe_expired
    if ctx.hfe_ttls_dropped and log is not None:
        log.warning(f"{ctx.hfe_ttls_dropped} hash fields had a field TTL (Redis 7.4 hash field "
                    "expiration), which is not supported: they were loaded without it")
    _commit(server, staged, allow_dup)
    account_loaded(server, staged, access)
    for apply in apply_functions:
        apply()
    stats.seconds = time.monotonic() - started
    if log is not None:
        if stats.empty_skipped:
            log.notice(f"Done loading RDB, keys loaded: {stats.keys_loaded}, keys expired: "
                       f"{stats.keys_expired}, empty keys skipped: {stats.empty_skipped}.")
        else:
            log.notice(f"Done loading RDB, keys loaded: {stats.keys_loaded}, keys expired: "
                       f"{stats.keys_expired}.")
    return stats


def account_loaded(server, staged: dict, access: dict) -> None:
    """Memory accounting and access words of the dbs loaded into (memory.resync): keys with
    OP_IDLE/OP_FREQ get them as RESTORE's IDLETIME/FREQ, the others a fresh word."""
    from .. import memory
    from ..lfu import lfu_new

    fresh = lfu_new(server.lfu_minutes) if server.lfu_mode else server.lru_clock
    for dbid in staged:
        db = server.dbs[dbid]
        memory.resync(db, fresh)
    for (dbid, key), (idle, freq) in access.items():
        db = server.dbs[dbid]
        if key in db.data:
            db.restore_access(key, freq, idle)


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


def _debug_delay(usec: int) -> None:
    """Redis's debugDelay: sleep ``usec`` microseconds; a negative value sleeps 1 us with a
    probability of 1/|usec| (short sleeps made statistically)."""
    import random

    if usec < 0:
        usec = 1 if random.randrange(-usec) == 0 else 0
    if usec:
        time.sleep(usec / 1e6)


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

"""More DEBUG subcommands (the ones Redis's test suite and tools use beyond the basics in
debug.py): LOADAOF, QUICKLIST-PACKED-THRESHOLD, REPLYBUFFER, PAUSE-CRON, SET-DISABLE-DENY-SCRIPTS,
LISTPACK, QUICKLIST, SDSLEN, STRINGMATCH-TEST, STRUCTSIZE, LEAK, CLIENT-EVICTION, CLUSTERLINK,
SEGFAULT, PANIC, ASSERT, REPLICATE, SET-SKIP-CHECKSUM-VALIDATION, AOF-FLUSH-SLEEP, HTSTATS,
HTSTATS-KEY; and the crash report SEGFAULT writes, which the server also writes on SIGABRT
(``install_crash_handler``).

Each is a handler ``(c, argv) -> reply`` listed in ``MORE`` (name -> handler, min argc, max
argc), which debug.py merges into its table. Where Redis reports a C structure trioredis does
not have (SDS headers, listpack bytes), the reply keeps Redis's shape with our values.
"""

from __future__ import annotations

import os
import signal

from ..errors import CommandError
from ..extensions import SERVER_INIT
from ..protocol.replies import OK, Verbatim
from .args import parse_int

QUICKLIST_THRESHOLD_ERR = "ERR argument must be a memory value bigger than 1 and smaller than 4gb"
QUICKLIST_PACKED_THRESHOLD_DEFAULT = 1 << 30  # Redis: 1GB, values up to 4GB
REPLY_BUFFER_DEFAULT_PEAK_RESET_TIME = 5000  # ms, Redis's default
_UNITS = {b"": 1, b"b": 1, b"k": 1000, b"kb": 1024, b"m": 1000**2, b"mb": 1024**2,
          b"g": 1000**3, b"gb": 1024**3}


def _memtoull(b: bytes) -> int | None:
    """Redis's memtoull: digits then an optional unit (k, kb, m, mb, g, gb, b)."""
    s = b.lower()
    i = 0
    while i < len(s) and 48 <= s[i] <= 57:
        i += 1
    if i == 0 or s[i:] not in _UNITS:
        return None
    return int(s[:i]) * _UNITS[s[i:]]


def _atoi(b: bytes) -> int:
    s = b.strip()
    end = 1 if s[:1] in (b"-", b"+") else 0
    while end < len(s) and 48 <= s[end] <= 57:
        end += 1
    try:
        return int(s[:end])
    except ValueError:
        return 0


def _debug_loadaof(c, argv):
    """Flush the AOF buffer, empty the dataset and replay the AOF files (as after a restart).

    The replay is not a new write: nothing is propagated, and the dataset counts as saved."""
    from ..persistence.aof import OFF, AofError, aof_of

    srv = c.server
    aof = aof_of(srv)
    if aof.state != OFF and aof.buf:
        aof.write_buf()
    srv.flush_all()
    targets, srv.propagate_targets = srv.propagate_targets, []
    try:
        aof.delete_history()
        loaded = aof.load()
    except AofError as e:
        srv.log.warning(str(e))
        loaded = False
    finally:
        srv.propagate_targets = targets
    if not loaded:
        raise CommandError("ERR Error trying to load the AOF files, check server logs.")
    srv.dirty_at_last_save = srv.dirty
    srv.log.notice("Append Only File loaded by DEBUG LOADAOF")
    return OK


def _debug_quicklist_packed_threshold(c, argv):
    """The element size from which a list element gets a quicklist node of its own (a
    "plain" node); 0 restores the default. DEBUG OBJECT's ql_nodes counts them."""
    size = _memtoull(argv[2])
    if size is None or size >= 1 << 32:
        raise CommandError(QUICKLIST_THRESHOLD_ERR)
    c.server.quicklist_packed_threshold = size or QUICKLIST_PACKED_THRESHOLD_DEFAULT
    return OK


def _debug_replybuffer(c, argv):
    srv = c.server
    what, value = argv[2].lower(), argv[3]
    if what == b"peak-reset-time":
        v = value.lower()
        if v == b"never":
            srv.reply_buffer_peak_reset_time = -1
        elif v == b"reset":
            srv.reply_buffer_peak_reset_time = REPLY_BUFFER_DEFAULT_PEAK_RESET_TIME
        else:
            srv.reply_buffer_peak_reset_time = parse_int(value)
    elif what == b"resizing":
        srv.reply_buffer_resizing_enabled = bool(_atoi(value))
    else:
        from .connection import subcommand_syntax_error

        raise subcommand_syntax_error(argv)
    return OK


def _debug_pause_cron(c, argv):
    """Stop the periodic work (the cron hooks and active expiry) until PAUSE-CRON 0."""
    srv = c.server
    paused = getattr(srv, "paused_cron_hooks", None)
    if _atoi(argv[2]):
        if paused is None:
            srv.paused_cron_hooks = srv.hooks.pop("cron", [])
            runner = srv.runner
            if runner is not None:
                runner.active_expire = lambda: None
    elif paused is not None:
        srv.hooks["cron"] = paused + srv.hooks.get("cron", [])
        srv.paused_cron_hooks = None
        runner = srv.runner
        if runner is not None and getattr(srv, "active_expire_enabled", True):
            runner.__dict__.pop("active_expire", None)
    return OK


def _debug_set_disable_deny_scripts(c, argv):
    """Let scripts call commands flagged noscript (for the suite's scripting tests)."""
    c.server.script_disable_deny_script = bool(_atoi(argv[2]))
    return OK


def _lookup(c, key):
    v = c.db.lookup(key)
    if v is None:
        raise CommandError("ERR no such key")
    return v


def _encoding(c, v) -> bytes:
    from .keys import object_encoding

    return object_encoding(v, c.server.config)


def _debug_listpack(c, argv):
    v = _lookup(c, argv[2])
    if _encoding(c, v) != b"listpack":
        raise CommandError("ERR Not a listpack encoded object.")
    c.server.log.notice(f"Listpack of {len(v)} entries: {sorted(v)[:16]!r}")
    return "Listpack structure printed on stdout"


def _debug_quicklist(c, argv):
    v = _lookup(c, argv[2])
    if _encoding(c, v) != b"quicklist":
        raise CommandError("ERR Not a quicklist encoded object.")
    c.server.log.notice(f"Quicklist of {len(v)} elements")
    return "Quicklist structure printed on stdout"


def _debug_sdslen(c, argv):
    key = argv[2]
    v = _lookup(c, key)
    if v.__class__ not in (bytes, bytearray) or _encoding(c, v) == b"int":
        raise CommandError("ERR Not an sds encoded string.")
    return (f"key_sds_len:{len(key)}, key_sds_avail:0, key_zmalloc: {_alloc(len(key) + 4)}, "
            f"val_sds_len:{len(v)}, val_sds_avail:0, val_zmalloc: {_alloc(len(v) + 20)}")


def _alloc(n: int) -> int:
    """jemalloc's size class for n bytes (8, then 16-byte steps to 128, then four a doubling)."""
    if n <= 8:
        return 8
    if n <= 128:
        return (n + 15) // 16 * 16
    step = 1 << (n.bit_length() - 3)
    return (n + step - 1) // step * step


def _debug_stringmatch_test(c, argv):
    """Redis fuzzes its glob matcher; ours gets random patterns and strings, and must not fail."""
    from ..glob import compile_glob

    for _ in range(1000):
        pattern = os.urandom(os.urandom(1)[0] % 32)
        subject = os.urandom(os.urandom(1)[0] % 32)
        compile_glob(pattern)(subject)
    return "Apparently Redis did not crash: test passed"


def _debug_structsize(c, argv):
    return b"bits:64 robj:16 dictentry:24 sdshdr5:1 sdshdr8:3 sdshdr16:5 sdshdr32:9 sdshdr64:17 "


def _debug_leak(c, argv):
    """Keep a reference to the string for good (a leak, as asked)."""
    srv = c.server
    leaked = getattr(srv, "debug_leaked", None)
    if leaked is None:
        leaked = srv.debug_leaked = []
    leaked.append(bytes(argv[2]))
    return OK


def _debug_client_eviction(c, argv):
    if not c.server.config.get("maxmemory-clients"):
        raise CommandError("ERR maxmemory-clients is disabled.")
    raise CommandError("ERR client eviction pools are not kept by trioredis")


def _debug_clusterlink(c, argv):
    if argv[2].lower() != b"kill":
        from .connection import subcommand_syntax_error

        raise subcommand_syntax_error(argv)
    # trioredis never runs Redis Cluster (its groups are a different protocol).
    raise CommandError("ERR Debug option only available for cluster mode enabled setup!")


def crash_report(log, signum: int, where: str) -> None:
    """Redis's bug report in the log (the lines a crash leaves: the signal, then the stack)."""
    import traceback

    log.warning("\n\n=== REDIS BUG REPORT START: Cut & paste starting from here ===")
    log.warning(f"Redis 7.0.15 crashed by signal: {signum}, si_code: 0")
    log.warning(f"Crashed running the instruction at: {where}")
    log.warning("\n------ STACK TRACE ------\n" + "".join(traceback.format_stack()))
    log.warning("\n=== REDIS BUG REPORT END. Make sure to include from START to END. ===")


def install_crash_handler(log) -> None:
    """SIGABRT, SIGBUS, SIGFPE and SIGILL sent to the process write the crash report, then
    the process dies by the same signal, as with Redis's sigsegvHandler. Main thread only."""

    def handler(signum, frame):
        crash_report(log, signum, getattr(frame, "f_code", None) and frame.f_code.co_name
                     or "unknown")
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)

    for sig in (signal.SIGABRT, signal.SIGBUS, signal.SIGFPE, signal.SIGILL):
        signal.signal(sig, handler)


def _debug_segfault(c, argv):
    """Crash as Redis does: a crash report in the log, then death by SIGSEGV."""
    crash_report(c.server.log, signal.SIGSEGV, "debugCommand (DEBUG SEGFAULT)")
    signal.signal(signal.SIGSEGV, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGSEGV)
    return OK  # not reached


def _bug_report_end(srv) -> None:
    """Redis's bugReportEnd for a panic or an assertion (not a signal): with
    use-exit-on-panic (the suite's valgrind runs) the process ends with exit status 1 and no
    core dump; otherwise it aborts (SIGABRT, default action)."""
    srv.log.warning("\n=== REDIS BUG REPORT END. Make sure to include from START to END. ===")
    if srv.config.get("use-exit-on-panic"):
        os._exit(1)
    signal.signal(signal.SIGABRT, signal.SIG_DFL)
    os.abort()


def _debug_panic(c, argv):
    """serverPanic: the Guru Meditation lines, the report, then exit(1) or abort."""
    import time

    log = c.server.log
    log.warning("\n\n=== REDIS BUG REPORT START: Cut & paste starting from here ===")
    log.warning("------------------------------------------------")
    log.warning("!!! Software Failure. Press left mouse button to continue")
    log.warning(f"Guru Meditation: DEBUG PANIC called at Unix time {int(time.time())} "
                "#debug_more.py")
    _bug_report_end(c.server)
    return OK  # not reached


def _debug_assert(c, argv):
    """serverAssertWithInfo(c, ...,1 == 2): the assertion lines, then exit(1) or abort."""
    log = c.server.log
    log.warning("\n\n=== REDIS BUG REPORT START: Cut & paste starting from here ===")
    log.warning("=== ASSERTION FAILED ===")
    log.warning("==> debug_more.py '1 == 2' is not true")
    _bug_report_end(c.server)
    return OK  # not reached


def _debug_replicate(c, argv):
    """Send the arguments to the replicas as a command of db -1 (Redis's
    replicationFeedSlaves(server.slaves, -1, ...)): nothing runs here, so the replicas may
    diverge, which the suite uses to provoke a replica's error toward its master."""
    from ..replication import replication_of

    replication_of(c.server).feed(-1, list(argv[2:]))
    return OK


def _debug_set_skip_checksum_validation(c, argv):
    """RESTORE then accepts a payload whose CRC64 is wrong (the suite feeds hand-corrupted
    payloads to reach the body checks); the version check stays, as in Redis."""
    c.server.skip_checksum_validation = bool(_atoi(argv[2]))
    return OK


def _debug_aof_flush_sleep(c, argv):
    """Microseconds the AOF writer sleeps before each write of its buffer (Redis's
    aof_flush_sleep, used to catch a reply sent before its write reached the file)."""
    from ..persistence.aof import aof_of

    aof_of(c.server).flush_sleep_us = max(0, _atoi(argv[2]))
    return OK


_NO_STATS = "No stats available for empty dictionaries\n"


def _table_stats(n: int) -> str:
    """dictGetStats's text for a table of n entries, from what trioredis really has.

    A Python dict is open-addressed and resized by CPython, not Redis's chained table with
    incremental rehashing: there is no table size, slot count or chain length to report, and
    never a "rehashing target" table. So only the element count is given; a test asserting
    Redis's table internals fails rather than reads numbers made up for it."""
    head = "Hash table 0 stats (main hash table):\n"
    return head + (f" number of elements: {n}\n" if n else _NO_STATS)


def _debug_htstats(c, argv):
    srv = c.server
    dbid = parse_int(argv[2])
    if not 0 <= dbid < len(srv.dbs):
        raise CommandError("ERR Out of range database")
    db = srv.dbs[dbid]
    text = ("[Dictionary HT]\n" + _table_stats(len(db.data))
            + "[Expires HT]\n" + _table_stats(len(db.expires)))
    return Verbatim(text.encode())


def _debug_htstats_key(c, argv):
    """For a value Redis keeps in a hash table (a set or hash past its compact limits, a
    sorted set's skiplist dict); anything else is refused with Redis's error."""
    v = _lookup(c, argv[2])
    if _encoding(c, v) not in (b"hashtable", b"skiplist"):
        raise CommandError("ERR The value stored at the specified key is not represented "
                           "using an hash table")
    return Verbatim(_table_stats(len(v)).encode())


def _init(server) -> None:
    server.skip_checksum_validation = False


SERVER_INIT.append(_init)

MORE = {  # name -> (handler, min argc, max argc)
    b"loadaof": (_debug_loadaof, 2, 2),
    b"quicklist-packed-threshold": (_debug_quicklist_packed_threshold, 3, 3),
    b"replybuffer": (_debug_replybuffer, 4, 4),
    b"pause-cron": (_debug_pause_cron, 3, 3),
    b"set-disable-deny-scripts": (_debug_set_disable_deny_scripts, 3, 3),
    b"listpack": (_debug_listpack, 3, 3),
    b"quicklist": (_debug_quicklist, 3, 4),
    b"sdslen": (_debug_sdslen, 3, 3),
    b"stringmatch-test": (_debug_stringmatch_test, 2, 2),
    b"structsize": (_debug_structsize, 2, 2),
    b"leak": (_debug_leak, 3, 3),
    b"client-eviction": (_debug_client_eviction, 2, 2),
    b"clusterlink": (_debug_clusterlink, 5, 5),
    b"segfault": (_debug_segfault, 2, 2),
    b"set-skip-checksum-validation": (_debug_set_skip_checksum_validation, 3, 3),
    b"aof-flush-sleep": (_debug_aof_flush_sleep, 3, 3),
    b"panic": (_debug_panic, 2, 2),
    b"assert": (_debug_assert, 2, 2),
    b"replicate": (_debug_replicate, 3, 1 << 30),
    b"htstats": (_debug_htstats, 3, 3),
    b"htstats-key": (_debug_htstats_key, 3, 3),
}

"""The append-only file, in Redis 7's multi-part layout, so redis-server and trioredis share it.

``<dir>/<appenddirname>/`` holds a manifest ``<appendfilename>.manifest`` naming one *base*
file (a snapshot: an RDB, or plain commands when ``aof-use-rdb-preamble no``) and the *incr*
files that follow it, each a log of RESP commands::

    file appendonly.aof.1.base.rdb seq 1 type b
    file appendonly.aof.1.incr.aof seq 1 type i

Writes reach the log as a propagation target (``core.Server.propagate``): the deterministic
form of each write, with a SELECT when the db changes. They collect in a buffer that is written
(``os.write``) right before any client is sent replies (``server.before_flush``, called by the
connection), so nothing acknowledged is missing from the file the OS holds. ``appendfsync
always`` also waits for an ``fdatasync`` of everything written so far before the replies go:
connections waiting meanwhile share the next one (group commit: one fsync per scheduler
batch, see ``wait_synced``); ``everysec`` syncs once a second in a worker thread; ``no`` leaves
it to the OS.

A rewrite (BGREWRITEAOF, the automatic one, ``CONFIG SET appendonly yes``) works as Redis 7's:
a new incr file takes the writes from the moment it starts, a fork()ed child writes the new base
from its copy-on-write view of that moment, and a new manifest (new base + new incr) is
installed atomically (rename) before the old files are deleted.

Loading replays every file through the command table with a fake client that gets no replies
(``load``); a command cut short at the end of the last file is cut off (``aof-load-truncated``),
an unfinished MULTI at the end discarded, as Redis does.
"""

from __future__ import annotations

import errno
import os
import signal
import time
from typing import TYPE_CHECKING

from ..errors import ConfigError, StartupError
from ..extensions import SERVER_INIT
from ..protocol.encoder import encode_command, format_double
from ..protocol.parser import ParseError, split_inline

if TYPE_CHECKING:
    from ..core import Server

BASE_SUFFIX = ".base"
INCR_SUFFIX = ".incr"
RDB_SUFFIX = ".rdb"
AOF_SUFFIX = ".aof"
MANIFEST_SUFFIX = ".manifest"
TEMP_PREFIX = "temp-"

TYPE_BASE, TYPE_HIST, TYPE_INCR = "b", "h", "i"
OFF, ON, WAIT_REWRITE = 0, 1, 2  # Redis's AOF_OFF / AOF_ON / AOF_WAIT_REWRITE
ITEMS_PER_CMD = 64  # AOF_REWRITE_ITEMS_PER_CMD
REWRITE_LIMIT_THRESHOLD = 3  # failed rewrites in a row before automatic ones are delayed
REWRITE_LIMIT_MAX_MINUTES = 60


class AofError(Exception):
    """The AOF cannot be loaded (bad manifest, missing file, corrupt or truncated data)."""


# -- the manifest ------------------------------------------------------------------------------


class AofInfo:
    __slots__ = ("name", "seq", "type")

    def __init__(self, name: str, seq: int, type_: str):
        self.name = name
        self.seq = seq
        self.type = type_

    def line(self) -> str:
        name = self.name
        if _needs_repr(name):
            name = _repr(name)
        return f"file {name} seq {self.seq} type {self.type}\n"

    def copy(self) -> AofInfo:
        return AofInfo(self.name, self.seq, self.type)


def _needs_repr(s: str) -> bool:
    """sdsneedsrepr: quote names with spaces, quotes, backslashes or non-printables."""
    return any(ch in ' "\'\\' or not ch.isprintable() for ch in s)


def _repr(s: str) -> str:
    """sdscatrepr: a double-quoted string with C escapes."""
    out = ['"']
    for b in s.encode("utf-8", "surrogateescape"):
        ch = chr(b)
        if ch in '\\"':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\a":
            out.append("\\a")
        elif ch == "\b":
            out.append("\\b")
        elif 32 <= b < 127:
            out.append(ch)
        else:
            out.append(f"\\x{b:02x}")
    out.append('"')
    return "".join(out)


class Manifest:
    """Redis's aofManifest: at most one base, then history files, then incr files in order."""

    def __init__(self):
        self.base: AofInfo | None = None
        self.history: list[AofInfo] = []
        self.incr: list[AofInfo] = []
        self.base_seq = 0
        self.incr_seq = 0

    def copy(self) -> Manifest:
        m = Manifest()
        m.base = self.base.copy() if self.base else None
        m.history = [a.copy() for a in self.history]
        m.incr = [a.copy() for a in self.incr]
        m.base_seq = self.base_seq
        m.incr_seq = self.incr_seq
        return m

    def render(self) -> str:
        parts = [self.base.line()] if self.base else []
        parts += [a.line() for a in self.history]
        parts += [a.line() for a in self.incr]
        return "".join(parts)

    @classmethod
    def parse(cls, text: bytes) -> Manifest:
        """aofLoadManifestFromFile; AofError with Redis's reason (and the line) when invalid."""
        m = cls()
        maxseq = 0
        lines = text.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        if not lines:
            raise AofError("Found an empty AOF manifest")
        for linenum, raw in enumerate(lines, 1):
            if raw.startswith(b"#"):
                continue
            line = raw.strip(b" \t\r\n")

            def bad(reason: str, line=line, linenum=linenum):
                text = line.decode("utf-8", "replace")
                return AofError(f"Reading the manifest file, at line {linenum}: '{text}': {reason}")

            if len(raw) > 1024:
                raise bad("The AOF manifest file contains too long line")
            if not line:
                raise bad("Invalid AOF manifest file format")
            try:
                argv = split_inline(line)
            except ParseError:
                raise bad("Invalid AOF manifest file format") from None
            if len(argv) < 6 or len(argv) % 2:
                raise bad("Invalid AOF manifest file format")
            name, seq, type_ = None, 0, ""
            for i in range(0, len(argv), 2):
                k, v = argv[i].lower(), argv[i + 1]
                if k == b"file":
                    name = v.decode("utf-8", "surrogateescape")
                    if "/" in name or name in (".", ".."):
                        raise bad("File can't be a path, just a filename")
                elif k == b"seq":
                    seq = _atoll(v)
                elif k == b"type":
                    type_ = v[:1].decode("latin-1")
            if not name or not seq or not type_:
                raise bad("Invalid AOF manifest file format")
            info = AofInfo(name, seq, type_)
            if type_ == TYPE_BASE:
                if m.base is not None:
                    raise bad("Found duplicate base file information")
                m.base = info
                m.base_seq = seq
            elif type_ == TYPE_HIST:
                m.history.append(info)
            elif type_ == TYPE_INCR:
                if seq <= maxseq:
                    raise bad("Found a non-monotonic sequence number")
                m.incr.append(info)
                m.incr_seq = maxseq = seq
            else:
                raise bad("Unknown AOF file type")
        return m

    # -- changes (made on a copy, installed once persisted) ------------------------------------

    def new_base(self, filename: str, rdb_preamble: bool) -> str:
        """getNewBaseFileNameAndMarkPreAsHistory."""
        if self.base is not None:
            self.base.type = TYPE_HIST
            self.history.insert(0, self.base)
        self.base_seq += 1
        suffix = RDB_SUFFIX if rdb_preamble else AOF_SUFFIX
        self.base = AofInfo(f"{filename}.{self.base_seq}{BASE_SUFFIX}{suffix}", self.base_seq,
                            TYPE_BASE)
        return self.base.name

    def new_incr(self, filename: str) -> str:
        self.incr_seq += 1
        info = AofInfo(f"{filename}.{self.incr_seq}{INCR_SUFFIX}{AOF_SUFFIX}", self.incr_seq,
                       TYPE_INCR)
        self.incr.append(info)
        return info.name

    def last_incr(self, filename: str) -> str:
        return self.incr[-1].name if self.incr else self.new_incr(filename)

    def incr_to_history(self, keep_last: bool) -> None:
        """markRewrittenIncrAofAsHistory: the incr files the new base covers become history."""
        keep = self.incr[-1:] if keep_last else []
        done = self.incr[:-1] if keep_last else self.incr
        for info in reversed(done):
            info.type = TYPE_HIST
            self.history.insert(0, info)
        self.incr = keep


def _atoll(b: bytes) -> int:
    """C atoll: leading digits (with a sign), 0 when there are none."""
    s = b.strip()
    n = 0
    sign = 1
    i = 0
    if s[:1] in (b"-", b"+"):
        sign = -1 if s[:1] == b"-" else 1
        i = 1
    while i < len(s) and 48 <= s[i] <= 57:
        n = n * 10 + s[i] - 48
        i += 1
    return sign * n


def manifest_name(filename: str) -> str:
    return filename + MANIFEST_SUFFIX


def temp_incr_name(filename: str) -> str:
    return f"{TEMP_PREFIX}{filename}{INCR_SUFFIX}"


def write_manifest(dirpath: str, filename: str, manifest: Manifest) -> None:
    """Write to a temp file, fsync, rename over the manifest, fsync the directory."""
    final = os.path.join(dirpath, manifest_name(filename))
    tmp = os.path.join(dirpath, TEMP_PREFIX + manifest_name(filename))
    data = manifest.render().encode("utf-8", "surrogateescape")
    fd = os.open(tmp, os.O_WRONLY | os.O_TRUNC | os.O_CREAT, 0o644)
    try:
        _write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, final)
    fsync_dir(dirpath)


def read_manifest(dirpath: str, filename: str) -> Manifest:
    """The manifest on disk; an empty one when the directory or the file does not exist."""
    path = os.path.join(dirpath, manifest_name(filename))
    try:
        with open(path, "rb") as f:
            text = f.read()
    except FileNotFoundError:
        return Manifest()
    except OSError as e:
        raise AofError(f"Fatal error: can't open the AOF manifest file {path} for reading: "
                       f"{e.strerror}") from None
    return Manifest.parse(text)


def fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> int:
    view = memoryview(data)
    total = 0
    while view:
        n = os.write(fd, view)
        total += n
        view = view[n:]
    return total


# -- reading commands --------------------------------------------------------------------------

OK, TRUNCATED, FORMAT = "ok", "truncated", "format"


class CommandReader:
    """Walks the RESP commands of an AOF as Redis's loader reads them.

    Iterating yields ``(argv, end)``; afterwards ``status`` is OK (clean end), TRUNCATED (the
    data ended inside a command, at ``error_pos``) or FORMAT (not a command where one should
    start), with ``error`` saying what was expected in redis-check-aof's words. ``strict``
    also checks the CRLF after each length and payload and the MULTI/EXEC nesting, as
    redis-check-aof does; the loader, like Redis's, does not.
    """

    def __init__(self, data: bytes, pos: int = 0, strict: bool = False):
        self.data = data
        self.pos = pos
        self.strict = strict
        self.status = OK
        self.error = ""
        self.error_pos = -1

    def _fail(self, status: str, pos: int, error: str) -> None:
        self.status = status
        self.error_pos = pos
        self.error = error

    def __iter__(self):
        data = self.data
        n = len(data)
        pos = self.pos
        strict = self.strict
        find = data.find
        multi = 0
        while pos < n:
            start = pos
            nl = find(b"\n", pos)
            line_end = n if nl < 0 else nl + 1
            first = data[pos]
            if first == 35:  # '#': an annotation (#TS:...)
                pos = line_end
                continue
            if first != 42:  # '*'
                return self._fail(FORMAT, pos, f"Expected prefix '*', got: '{chr(first)}'")
            if nl < 0:
                return self._fail(TRUNCATED, pos, "Expected \\r\\n, got end of file")
            if strict and data[nl - 1] != 13:
                return self._fail(FORMAT, pos, "Expected \\r\\n")
            argc = _atoi(data, pos + 1, nl)
            if argc < 1:
                return self._fail(FORMAT, pos, f"Invalid argument count {argc}")
            pos = line_end
            argv = []
            for _ in range(argc):
                if pos >= n:
                    return self._fail(TRUNCATED, pos, "Unexpected end of file")
                if data[pos] != 36:  # '$'
                    return self._fail(FORMAT, pos,
                                      f"Expected prefix '$', got: '{chr(data[pos])}'")
                nl = find(b"\n", pos)
                if nl < 0:
                    return self._fail(TRUNCATED, pos, "Expected \\r\\n, got end of file")
                if strict and data[nl - 1] != 13:
                    return self._fail(FORMAT, pos, "Expected \\r\\n")
                length = _atoi(data, pos + 1, nl)
                if length < 0:
                    return self._fail(FORMAT, pos, f"Invalid bulk length {length}")
                body = nl + 1
                end = body + length
                if end + 2 > n:
                    return self._fail(
                        TRUNCATED, body,
                        f"Expected to read {length + 2} bytes, got {max(n - body, 0)} bytes",
                    )
                if strict and data[end:end + 2] != b"\r\n":
                    return self._fail(FORMAT, end, f"Expected \\r\\n, got: {data[end:end + 2].hex()}")
                argv.append(data[body:end])
                pos = end + 2
            if strict:
                name = argv[0].lower()
                if name == b"multi":
                    if multi:
                        return self._fail(FORMAT, start, "Unexpected MULTI")
                    multi = 1
                elif name == b"exec":
                    if not multi:
                        return self._fail(FORMAT, start, "Unexpected EXEC")
                    multi = 0
            self.pos = pos
            yield argv, pos
        self.pos = pos


def _atoi(data: bytes, start: int, stop: int) -> int:
    """strtol on data[start:stop]: optional sign then digits; -1 when there are none."""
    s = data[start:stop].strip()
    try:
        return int(s)
    except ValueError:
        # Like strtol, read the leading digits only.
        i = 1 if s[:1] in (b"-", b"+") else 0
        j = i
        while j < len(s) and 48 <= s[j] <= 57:
            j += 1
        if j == i:
            return -1
        return int(s[:j])


# -- the plain-command base (aof-use-rdb-preamble no) ------------------------------------------


def _cmd(out: list, *args) -> None:
    out.append(b"*%d\r\n" % len(args))
    for a in args:
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))


def _batched(out: list, name: bytes, key: bytes, items: list, width: int) -> None:
    """Variadic commands of at most ITEMS_PER_CMD items (``width`` arguments per item)."""
    step = ITEMS_PER_CMD * width
    for i in range(0, len(items), step):
        chunk = items[i:i + step]
        out.append(b"*%d\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (
            2 + len(chunk), len(name), name, len(key), key))
        out.extend([b"$%d\r\n%s\r\n" % (len(x), x) for x in chunk])


def rewrite_commands(server: Server) -> bytes:
    """rewriteAppendOnlyFileRio: commands that rebuild every key, db by db."""
    from collections import deque

    from ..datatypes.stream import Stream, fmt_id
    from ..datatypes.zset import ZSet

    out: list[bytes] = []
    if server.config["aof-timestamp-enabled"]:
        out.append(b"#TS:%d\r\n" % int(time.time()))
    for db in server.dbs:
        if not db.data:
            continue
        _cmd(out, b"SELECT", b"%d" % db.id)
        expires = db.expires
        for key, v in db.data.items():
            t = v.__class__
            if t is bytes or t is bytearray:
                _cmd(out, b"SET", key, bytes(v))
            elif t is deque:
                _batched(out, b"RPUSH", key, list(v), 1)
            elif t is set:
                _batched(out, b"SADD", key, list(v), 1)
            elif t is dict:
                _batched(out, b"HMSET", key, [x for kv in v.items() for x in kv], 2)
            elif t is ZSet:
                _batched(out, b"ZADD", key,
                         [x for m, s in v for x in (format_double(s), m)], 2)
            elif t is Stream:
                _rewrite_stream(out, key, v, fmt_id)
            else:
                raise TypeError(f"cannot rewrite a value of type {t.__name__}")
            when = expires.get(key) if expires else None
            if when is not None:
                _cmd(out, b"PEXPIREAT", key, b"%d" % when)
    return b"".join(out)


def _rewrite_stream(out: list, key: bytes, s, fmt_id) -> None:
    """rewriteStreamObject: XADDs, XSETID, the groups and their pending entries."""
    any_entry = False
    for i, fv in s.entries():
        any_entry = True
        _cmd(out, b"XADD", key, fmt_id(i), *fv)
    if not any_entry:  # XADD MAXLEN 0 makes an empty stream
        _cmd(out, b"XADD", key, b"MAXLEN", b"0", b"0-1", b"x", b"y")
    _cmd(out, b"XSETID", key, fmt_id(s.last_id), b"ENTRIESADDED", b"%d" % s.entries_added,
         b"MAXDELETEDID", fmt_id(s.max_deleted_id))
    for name, g in (s.groups or {}).items():
        _cmd(out, b"XGROUP", b"CREATE", key, name, fmt_id(g.last_id), b"ENTRIESREAD",
             b"%d" % g.entries_read)
        for cons in g.consumers.values():
            if not cons.pel:
                _cmd(out, b"XGROUP", b"CREATECONSUMER", key, name, cons.name)
                continue
            for i, nack in cons.pel.items():
                _cmd(out, b"XCLAIM", key, name, cons.name, b"0", fmt_id(i), b"TIME",
                     b"%d" % nack.delivery_time, b"RETRYCOUNT", b"%d" % nack.delivery_count,
                     b"JUSTID", b"FORCE")


def base_chunks(server: Server):
    """The content of a new base file, in chunks: an RDB (aux ``aof-base`` 1, what Redis
    writes) or plain commands (``aof-use-rdb-preamble no``)."""
    if server.config["aof-use-rdb-preamble"]:
        from . import rdb

        aux = [(k, b"1" if k == b"aof-base" else v) for k, v in rdb.default_aux(server)]
        delay = server.config.get("rdb-key-save-delay", 0)  # Redis's test knob, as for RDBs
        return rdb.iter_rdb(server, aux=aux, key_delay_us=delay)
    return [rewrite_commands(server)]


def write_file(path: str, chunks) -> None:
    """Write ``chunks`` to ``path`` durably (the caller renames it into place)."""
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC | os.O_CREAT, 0o644)
    try:
        for chunk in chunks:
            _write_all(fd, chunk)
        os.fsync(fd)
    finally:
        os.close(fd)


def _file_size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


# -- the per-server AOF ------------------------------------------------------------------------


class AOF:
    """One server's append-only file: state, write buffer, fsync policy, rewrites, loading."""

    def __init__(self, server: Server):
        self.server = server
        cfg = server.config
        self.state = OFF
        self.fd = -1
        self.buf: list[bytes] = []
        self.selected_db = -1
        self.manifest = Manifest()
        self.written = 0  # bytes written to the log files (all of them, since start)
        self.synced = 0  # of which known to be on disk
        self.current_size = 0  # aof_current_size: base + incr files
        self.base_size = 0  # aof_rewrite_base_size: the size after the last rewrite
        self.last_incr_size = 0
        self.always = cfg["appendfsync"] == "always"
        self.timestamps = cfg["aof-timestamp-enabled"]
        self.cur_timestamp = 0
        self.sync_running = False  # an everysec fsync runs in a worker thread (on sync_fd)
        self.sync_fd = -1
        self.need_sync = None  # always: trio.Event that wakes the syncer task (when serving)
        self.round_done = None  # trio.Event set when the syncer's current fsync is done
        self.retired: list[int] = []  # old fds to close once the running fsync is done
        self.closed = False  # closed at server exit
        # Rewrite state.
        self.child_pid = 0
        self.rewrite_scheduled = False
        self.rewrite_time_start = -1
        self.rewrite_time_last = -1
        self.last_bgrewrite_ok = True
        self.last_write_ok = True
        self.rewrites = 0
        self.consecutive_failures = 0
        self.next_delay_minutes = 0
        self.next_rewrite_time = 0
        self.last_write_error_log = 0.0
        cfg.on_change("appendonly", self._appendonly_changed)
        cfg.on_change("appendfsync", self._appendfsync_changed)
        cfg.on_change("aof-timestamp-enabled", self._timestamps_changed)
        server.add_hook("cron", self.cron)
        server.add_hook("tasks", self.run_tasks)
        server.add_hook("shutdown", self.on_shutdown)
        server.add_hook("info_persistence", self.info)
        server.add_hook("startup", self.on_startup)
        server.add_hook("child_active", self._child_active)  # BGSAVE waits for a rewrite
        server.add_hook("full_sync_done", self.restart_after_sync)

    # -- paths ---------------------------------------------------------------------------------

    @property
    def filename(self) -> str:
        return self.server.config["appendfilename"]

    @property
    def dirpath(self) -> str:
        cfg = self.server.config
        return os.path.join(cfg["dir"], cfg["appenddirname"])

    def path(self, name: str) -> str:
        return os.path.join(self.dirpath, name)

    def _mkdir(self) -> None:
        os.makedirs(self.dirpath, exist_ok=True)

    def persist_manifest(self, manifest: Manifest) -> None:
        write_manifest(self.dirpath, self.filename, manifest)

    # -- feeding and flushing ------------------------------------------------------------------

    def feed(self, dbid: int, argv: list) -> None:
        """The propagation target: one write, in the deterministic form call() chose."""
        if dbid != self.selected_db or self.timestamps:
            self._feed_header(dbid)
        self.buf.append(encode_command(argv))

    def _feed_header(self, dbid: int) -> None:
        """A ``#TS:`` annotation when the second changed, a SELECT when the db did."""
        if self.timestamps:
            now = int(time.time())
            if now > self.cur_timestamp:
                self.cur_timestamp = now
                self.buf.append(b"#TS:%d\r\n" % now)
        if dbid != self.selected_db:
            self.selected_db = dbid
            self.buf.append(b"*2\r\n$6\r\nSELECT\r\n$%d\r\n%d\r\n" % (len(str(dbid)), dbid))

    def before_flush(self):
        """Run by a connection right before it sends replies: what they acknowledge must be in
        the file (and, with ``always``, on disk). Returns an awaitable when it must wait."""
        if self.buf:
            if self.closed:
                self.buf.clear()
                raise ConnectionAbortedError("the append-only file is closed (shutting down)")
            self.write_buf()
        if self.always and self.synced < self.written and not self._no_fsync_now():
            return self.wait_synced(self.written)
        return None

    def _no_fsync_now(self) -> bool:
        return bool(self.child_pid) and self.server.config["no-appendfsync-on-rewrite"]

    def write_buf(self) -> None:
        """flushAppendOnlyFile's write: the whole buffer in one write(2)."""
        buf = self.buf
        data = buf[0] if len(buf) == 1 else b"".join(buf)
        buf.clear()
        if self.fd == -1:
            return
        try:
            n = _write_all(self.fd, data)
        except OSError as e:
            self._write_failed(data, e)
            return
        if not self.last_write_ok:
            self.server.log.warning("AOF write error looks solved, Redis can write again.")
            self.last_write_ok = True
        self.written += n
        self.current_size += n
        self.last_incr_size += n

    def _write_failed(self, data: bytes, e: OSError) -> None:
        log = self.server.log
        now = time.time()
        if now - self.last_write_error_log > 30:
            self.last_write_error_log = now
            log.warning(f"Error writing to the AOF file: {e.strerror}")
        # Remove a partial write, so the file never ends inside a command, and retry later.
        try:
            os.ftruncate(self.fd, self.last_incr_size)
        except OSError:
            pass
        self.buf.insert(0, data)
        self.last_write_ok = False
        if self.always:
            # The reply must not go out, and the write cannot be undone: stop, as Redis exits.
            log.warning("Can't recover from AOF write error when the AOF fsync policy is "
                        "'always'. Exiting...")
            if self.server.shutdown_requested is not None:
                self.server.shutdown_requested(1)
            raise e

    async def wait_synced(self, target: int) -> None:
        """Wait until ``target`` bytes are on disk (appendfsync always).

        The syncer task does the fsync: it runs after the other connections woken in the same
        scheduler batch have run their commands, so one fsync covers all of them (Redis's
        beforeSleep flush). It runs on the event loop thread: handing fsync to a worker would
        cost a GIL switch interval (up to 5 ms) to get the result back.
        """
        while self.synced < target and self.fd != -1:
            if self.need_sync is None:  # no syncer task (not serving): sync here
                self.sync_now(fatal=True)
                return
            done = self.round_done
            self.need_sync.set()
            await done.wait()

    async def _syncer(self) -> None:
        import trio

        self.round_done = trio.Event()
        self.need_sync = trio.Event()
        try:
            while True:
                await self.need_sync.wait()
                self.need_sync = trio.Event()
                self.sync_now(fatal=True)
                done, self.round_done = self.round_done, trio.Event()
                done.set()
        finally:
            self.need_sync = None
            self.round_done.set()

    async def sync_round(self) -> None:
        """everysec: one fdatasync of everything written so far, in a worker thread."""
        import trio

        if self.buf:
            self.write_buf()
        fd = self.sync_fd = self.fd
        upto = self.written
        self.sync_running = True
        try:
            await trio.to_thread.run_sync(os.fdatasync, fd)
            self.synced = max(self.synced, upto)
        except OSError as e:
            self.server.log.warning(f"Fail to fsync the AOF file: {e.strerror}")
        finally:
            self.sync_running = False
            self.sync_fd = -1
            while self.retired:
                os.close(self.retired.pop())

    def sync_now(self, fatal: bool = False) -> None:
        """Write and fsync at once, blocking (always; shutdown, rewrite start, CONFIG SET)."""
        if self.buf:
            self.write_buf()
        if self.fd == -1:
            return
        upto = self.written
        try:
            os.fdatasync(self.fd)
        except OSError as e:
            log = self.server.log
            if not (fatal and self.always):
                log.warning(f"Fail to fsync the AOF file: {e.strerror}")
                return
            log.warning(f"Can't persist AOF for fsync error when the AOF fsync policy is "
                        f"'always': {e.strerror}. Exiting...")
            if self.server.shutdown_requested is not None:
                self.server.shutdown_requested(1)
            raise
        self.synced = upto

    def _close(self, fd: int) -> None:
        if fd == self.sync_fd and self.sync_running:
            self.retired.append(fd)  # a worker thread is syncing it
        else:
            os.close(fd)

    def _switch_fd(self, fd: int) -> None:
        """Start writing to ``fd``; the old file is flushed, synced and closed."""
        old = self.fd
        if old != -1:
            self.sync_now()
            self._close(old)
        self.fd = fd
        self.selected_db = -1
        srv = self.server
        if fd != -1:
            if self.feed not in srv.propagate_targets:
                srv.propagate_targets.append(self.feed)
            srv.before_flush = self.before_flush
        else:
            if self.feed in srv.propagate_targets:
                srv.propagate_targets.remove(self.feed)
            srv.before_flush = None
            self.buf.clear()

    async def run_tasks(self) -> None:
        """The server-lifetime tasks (``tasks`` hook); on exit, flush, sync and close."""
        import trio

        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._syncer)
                nursery.start_soon(self._everysec)
        finally:
            self.close()

    async def _everysec(self) -> None:
        """everysec: fsync once a second, in a worker thread (the loop keeps serving)."""
        import trio

        while True:
            await trio.sleep(1)
            if self.fd == -1:
                continue
            if self.buf:
                self.write_buf()
            if (
                self.server.config["appendfsync"] == "everysec"
                and self.synced < self.written
                and not self.sync_running
                and not self._no_fsync_now()
            ):
                await self.sync_round()

    def close(self) -> None:
        """Server exit: the log is flushed, synced and closed; a rewrite child is stopped.

        Connections may still run a last batch before they are killed: a write they make
        now cannot be logged, so its reply must not go out (``before_flush`` raises)."""
        self.kill_child()
        if self.fd != -1:
            self.sync_now()
            fd, self.fd = self.fd, -1
            self._close(fd)
            self.closed = True

    # -- cron ----------------------------------------------------------------------------------

    def cron(self) -> None:
        if self.buf and self.fd != -1:
            self.write_buf()  # writes no reply follows (expired keys, our master's stream)
        if self.child_pid:
            self.check_child()
        if self.child_pid or self.other_child_active():
            return
        if self.rewrite_scheduled and not self.rewrite_limited():
            self.rewrite_background()
            return
        cfg = self.server.config
        perc = cfg["auto-aof-rewrite-percentage"]
        if self.state == ON and perc and self.current_size > cfg["auto-aof-rewrite-min-size"]:
            base = self.base_size or 1
            growth = self.current_size * 100 // base - 100
            if growth >= perc and not self.rewrite_limited():
                self.server.log.notice(f"Starting automatic rewriting of AOF on {growth}% growth")
                self.rewrite_background()

    def rewrite_limited(self) -> bool:
        """aofRewriteLimited: after 3 failures in a row, wait 1, 2, 4 ... 60 minutes."""
        if self.consecutive_failures < REWRITE_LIMIT_THRESHOLD:
            self.next_delay_minutes = 0
            self.next_rewrite_time = 0
            return False
        now = time.time()
        if self.next_rewrite_time:
            if now < self.next_rewrite_time:
                return True
            self.next_rewrite_time = 0
            return False
        self.next_delay_minutes = min(max(self.next_delay_minutes * 2, 1),
                                      REWRITE_LIMIT_MAX_MINUTES)
        self.next_rewrite_time = now + self.next_delay_minutes * 60
        self.server.log.warning(
            "Background AOF rewrite has repeatedly failed and triggered the limit, will retry "
            f"in {self.next_delay_minutes} minutes")
        return True

    # -- rewriting -----------------------------------------------------------------------------

    def other_child_active(self) -> bool:
        """A BGSAVE child is running: rewrites wait for it (hasActiveChildProcess)."""
        p = getattr(self.server, "persistence", None)
        return p is not None and p.child_pid is not None

    def _child_active(self) -> bool:
        return bool(self.child_pid)

    def write_base_now(self, name: str) -> None:
        """rewriteAppendOnlyFile in this process (startup with an empty dataset)."""
        cfg = self.server.config
        tmp = os.path.join(cfg["dir"], f"temp-rewriteaof-{os.getpid()}.aof")
        try:
            write_file(tmp, base_chunks(self.server))
            os.replace(tmp, self.path(name))
        except OSError:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise

    def _temp_base(self, pid: int) -> str:
        return os.path.join(self.server.config["dir"], f"temp-rewriteaof-bg-{pid}.aof")

    def _open_new_incr(self) -> None:
        """openNewIncrAofForAppend: from now on, writes go to a new incr file."""
        if self.state == OFF:
            return
        manifest = None
        if self.state == WAIT_REWRITE:
            name = temp_incr_name(self.filename)
        else:
            manifest = self.manifest.copy()
            name = manifest.new_incr(self.filename)
        fd = os.open(self.path(name), os.O_WRONLY | os.O_TRUNC | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            if manifest is not None:
                self.persist_manifest(manifest)
        except OSError:
            os.close(fd)
            raise
        self.server.log.notice(f"Creating AOF incr file {name} on background rewrite")
        self._switch_fd(fd)
        self.last_incr_size = 0
        if manifest is not None:
            self.manifest = manifest

    def rewrite_background(self) -> bool:
        """rewriteAppendOnlyFileBackground: new incr file now, new base from a forked child."""
        srv = self.server
        log = srv.log
        if self.child_pid or self.other_child_active():
            return False
        try:
            self._mkdir()
        except OSError as e:
            log.warning(f"Can't open or create append-only dir {self.dirpath}: {e.strerror}")
            self.last_bgrewrite_ok = False
            return False
        if self.fd != -1 and self.buf:
            self.write_buf()
        try:
            self._open_new_incr()
        except OSError as e:
            log.warning(f"Can't open the append-only file: {e.strerror}")
            self.last_bgrewrite_ok = False
            return False
        self.rewrites += 1
        pid = fork_child(srv, self._child_main)
        if pid < 0:
            self.last_bgrewrite_ok = False
            log.warning(f"Can't rewrite append only file in background: fork: {os.strerror(-pid)}")
            return False
        self.child_pid = pid
        self.rewrite_scheduled = False
        self.rewrite_time_start = time.time()
        log.notice(f"Background append only file rewriting started by pid {pid}")
        return True

    def _child_main(self) -> int:
        tmp = self._temp_base(os.getpid())
        write_file(tmp, base_chunks(self.server))
        return 0

    def check_child(self, block: bool = False) -> bool:
        """Reap the rewrite child when it is done (checkChildrenDone). True once handled."""
        try:
            pid, status = os.waitpid(self.child_pid, 0 if block else os.WNOHANG)
        except ChildProcessError:
            pid, status = self.child_pid, 1 << 8
        if pid == 0:
            return False
        if os.WIFSIGNALED(status):
            self.rewrite_done(0, os.WTERMSIG(status))
        else:
            self.rewrite_done(os.WEXITSTATUS(status), 0)
        return True

    def rewrite_done(self, exitcode: int, bysignal: int) -> None:
        """backgroundRewriteDoneHandler: install the new base and manifest, drop old files."""
        log = self.server.log
        pid = self.child_pid
        tmp = self._temp_base(pid)
        if not bysignal and exitcode == 0:
            log.notice("Background AOF rewrite terminated with success")
            self._install(tmp)
        elif not bysignal:
            self.last_bgrewrite_ok = False
            self.consecutive_failures += 1
            log.warning("Background AOF rewrite terminated with error")
        else:
            if bysignal != signal.SIGUSR1:
                self.last_bgrewrite_ok = False
                self.consecutive_failures += 1
            log.warning(f"Background AOF rewrite terminated by signal {bysignal}")
        self.child_pid = 0
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if self.state == WAIT_REWRITE:
            # Not switched on: what the temp incr file gathered is in no manifest; drop it.
            if self.fd != -1:
                self._switch_fd(-1)
            try:
                os.unlink(self.path(temp_incr_name(self.filename)))
            except OSError:
                pass
            self.rewrite_scheduled = True
        self.rewrite_time_last = int(time.time() - self.rewrite_time_start)
        self.rewrite_time_start = -1

    def _install(self, tmp: str) -> None:
        log = self.server.log
        manifest = self.manifest.copy()
        base = manifest.new_base(self.filename, self.server.config["aof-use-rdb-preamble"])
        try:
            os.replace(tmp, self.path(base))
        except OSError as e:
            log.warning(f"Error trying to rename the temporary AOF base file {tmp} into "
                        f"{base}: {e.strerror}")
            self.last_bgrewrite_ok = False
            self.consecutive_failures += 1
            return
        log.notice(f"Successfully renamed the temporary AOF base file {os.path.basename(tmp)} "
                   f"into {base}")
        new_incr = None
        if self.state == WAIT_REWRITE:
            temp = temp_incr_name(self.filename)
            new_incr = manifest.new_incr(self.filename)
            try:
                os.replace(self.path(temp), self.path(new_incr))
            except OSError as e:
                log.warning(f"Error trying to rename the temporary AOF incr file {temp} into "
                            f"{new_incr}: {e.strerror}")
                _unlink(self.path(base))
                self.last_bgrewrite_ok = False
                self.consecutive_failures += 1
                return
            log.notice(f"Successfully renamed the temporary AOF incr file {temp} into {new_incr}")
        manifest.incr_to_history(keep_last=self.fd != -1)
        try:
            self.persist_manifest(manifest)
        except OSError as e:
            log.warning(f"Can't persist the AOF manifest: {e.strerror}")
            _unlink(self.path(base))
            if new_incr:
                _unlink(self.path(new_incr))
            self.last_bgrewrite_ok = False
            self.consecutive_failures += 1
            return
        self.manifest = manifest
        if self.fd != -1:
            self.selected_db = -1
            self.current_size = _file_size(self.path(base)) + self.last_incr_size
            self.base_size = self.current_size
        self.delete_history()
        self.last_bgrewrite_ok = True
        self.consecutive_failures = 0
        log.notice("Background AOF rewrite finished successfully")
        if self.state == WAIT_REWRITE:
            self.state = ON

    def delete_history(self) -> None:
        """aofDelHistoryFiles: history files are removed once the manifest forgets them."""
        m = self.manifest
        if not m.history:
            return
        for info in m.history:
            self.server.log.notice(f"Removing the history file {info.name} in the background")
            _unlink(self.path(info.name))
        m.history = []
        try:
            self.persist_manifest(m)
        except OSError as e:
            self.server.log.warning(f"Can't persist the AOF manifest: {e.strerror}")

    def kill_child(self) -> None:
        """killAppendOnlyChild: stop a running rewrite (SIGUSR1 is not counted as a failure)."""
        pid = self.child_pid
        if not pid:
            return
        self.server.log.notice(f"Killing running AOF rewrite child: {pid}")
        try:
            os.kill(pid, signal.SIGUSR1)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        _unlink(self._temp_base(pid))
        self.child_pid = 0
        self.rewrite_time_start = -1

    # -- switching on and off ------------------------------------------------------------------

    def start(self) -> bool:
        """startAppendOnly (CONFIG SET appendonly yes): on once a first rewrite is done."""
        srv = self.server
        self.state = WAIT_REWRITE
        if self.other_child_active():
            self.rewrite_scheduled = True
            srv.log.warning("AOF was enabled but there is already another background "
                            "operation. An AOF background was scheduled to start when possible.")
        elif srv.prop_buffer is not None:  # inside EXEC
            self.rewrite_scheduled = True
            srv.log.warning("AOF was enabled during a transaction. An AOF background was "
                            "scheduled to start when possible.")
        else:
            if self.child_pid:
                srv.log.warning("AOF was enabled but there is already an AOF rewriting in "
                                "background. Stopping background AOF and starting a rewrite now.")
                self.kill_child()
            if not self.rewrite_background():
                self.state = OFF
                srv.log.warning("Redis needs to enable the AOF but can't trigger a background "
                                "AOF rewrite operation. Check the above logs for more info "
                                "about the error.")
                return False
        if not self.last_write_ok:
            srv.log.warning("AOF reopen, just ignore the last error.")
            self.last_write_ok = True
        return True

    def stop(self) -> None:
        """stopAppendOnly (CONFIG SET appendonly no)."""
        self.sync_now()
        waiting = self.state == WAIT_REWRITE
        self._switch_fd(-1)
        self.state = OFF
        self.rewrite_scheduled = False
        self.last_incr_size = 0
        self.kill_child()
        if waiting:
            _unlink(self.path(temp_incr_name(self.filename)))

    def restart_after_sync(self) -> None:
        """restartAOFAfterSYNC: a replica that loaded its master's snapshot starts a new log
        (the old one describes a dataset that is gone). Run by the ``full_sync_done`` hook."""
        if self.state != OFF:
            self.stop()
            if not self.start():
                self.server.log.warning("Failed enabling the AOF after successful master "
                                        "synchronization! Trying it again in one second.")
                self.state = WAIT_REWRITE
                self.rewrite_scheduled = True

    def _appendonly_changed(self, value, old) -> None:
        if value and self.state == OFF:
            if not self.start():
                raise ConfigError("Unable to turn on AOF. Check server logs.")
        elif not value and self.state != OFF:
            self.stop()

    def _appendfsync_changed(self, value, old) -> None:
        self.always = value == "always"

    def _timestamps_changed(self, value, old) -> None:
        self.timestamps = value

    def on_shutdown(self, save) -> None:
        """SHUTDOWN / SIGTERM: stop a rewrite, make the log durable."""
        self.kill_child()
        if self.fd != -1:
            self.server.log.notice("Calling fsync() on the AOF file.")
            self.sync_now()

    # -- INFO ----------------------------------------------------------------------------------

    def info(self, server, lines: list) -> None:
        now = time.time()
        values = {
            "aof_enabled": int(self.state != OFF),
            "aof_rewrite_in_progress": int(bool(self.child_pid)),
            "aof_rewrite_scheduled": int(self.rewrite_scheduled),
            "aof_last_rewrite_time_sec": self.rewrite_time_last,
            "aof_current_rewrite_time_sec":
                int(now - self.rewrite_time_start) if self.child_pid else -1,
            "aof_last_bgrewrite_status": "ok" if self.last_bgrewrite_ok else "err",
            "aof_rewrites": self.rewrites,
            "aof_rewrites_consecutive_failures": self.consecutive_failures,
            "aof_last_write_status": "ok" if self.last_write_ok else "err",
        }
        last_aof = -1
        for i, line in enumerate(lines):
            key = line.split(":", 1)[0]
            if key in values:
                lines[i] = f"{key}:{values[key]}"
            if key.startswith("aof_") or key.startswith("module_fork"):
                last_aof = i
        if self.state != OFF and last_aof >= 0:
            lines[last_aof + 1:last_aof + 1] = [
                f"aof_current_size:{self.current_size}",
                f"aof_base_size:{self.base_size}",
                f"aof_pending_rewrite:{int(self.rewrite_scheduled)}",
                f"aof_buffer_length:{sum(map(len, self.buf))}",
                f"aof_pending_bio_fsync:{int(self.sync_running)}",
                "aof_delayed_fsync:0",
            ]

    # -- startup: loading and opening ----------------------------------------------------------

    def on_startup(self, runner=None) -> None:
        """Startup: the AOF is what loads when appendonly yes (snapshot.py loads the RDB only
        when it is off); then the incr file is opened for appending."""
        try:
            if not self.server.config["appendonly"]:
                self.manifest = read_manifest(self.dirpath, self.filename)  # for BGREWRITEAOF
                return
            self.load()
            self.open_on_start()
        except AofError as e:
            raise StartupError(str(e)) from None

    def load(self) -> bool:
        """loadAppendOnlyFiles at startup (appendonly yes). False when there is no AOF.

        Raises AofError when it cannot be loaded; the server must not start then.
        """
        srv = self.server
        cfg = srv.config
        log = srv.log
        self.manifest = m = read_manifest(self.dirpath, self.filename)
        old = os.path.join(cfg["dir"], self.filename)
        if os.path.isfile(old) and (
            not os.path.isdir(self.dirpath)
            or (m.base is None and not m.incr)
            or (m.base is not None and not m.incr and m.base.name == self.filename
                and not os.path.exists(self.path(self.filename)))
        ):
            self._upgrade(old)
            m = self.manifest
        files = ([m.base] if m.base else []) + list(m.incr)
        if not files:
            return False
        total = 0
        for info in files:
            try:
                total += os.stat(self.path(info.name)).st_size
            except OSError as e:
                log.warning(f"Unable to obtain the AOF file {info.name} length. stat: "
                            f"{e.strerror}")
                raise AofError(f"Unable to obtain the AOF file {info.name} length") from None
        if total == 0:
            return True  # AOF_EMPTY: nothing to load, not an error
        start = time.monotonic()
        self.base_size = 0
        srv.loading = True  # also: nothing expires meanwhile (keyspace, keyIsExpired)
        srv.update_guard()
        try:
            for n, info in enumerate(files, 1):
                last = n == len(files)
                t0 = time.monotonic()
                status = self.load_file(info.name, last, old_style=info.name == self.filename)
                kind = "base" if info is m.base else "incr"
                if info is m.base:
                    self.base_size = _file_size(self.path(info.name))
                if status != "empty" or kind == "base":
                    log.notice(f"DB loaded from {kind} file {info.name}: "
                               f"{time.monotonic() - t0:.3f} seconds")
        finally:
            srv.loading = False
            srv.update_guard()
        self.current_size = sum(_file_size(self.path(i.name)) for i in files)
        log.notice(f"DB loaded from append only file: {time.monotonic() - start:.3f} seconds")
        return True

    def _upgrade(self, old: str) -> None:
        """aofUpgradePrepare: an old single appendonly.aof becomes the base of a manifest."""
        self._mkdir()
        m = Manifest()
        m.base = AofInfo(self.filename, 1, TYPE_BASE)
        m.base_seq = 1
        self.persist_manifest(m)
        os.replace(old, self.path(self.filename))
        self.manifest = m
        self.server.log.notice(f"Successfully migrated an old-style AOF file ({self.filename}) "
                               f"into the AOF directory ({self.server.config['appenddirname']}).")

    def load_file(self, name: str, last: bool, old_style: bool = False) -> str:
        """loadSingleAppendOnlyFile: "ok", "truncated" or "empty"; AofError when it fails."""
        from ..client import Client
        from ..commands import registry

        srv = self.server
        log = srv.log
        path = self.path(name)
        try:
            with open(path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            raise AofError(f"The append log file {name} doesn't exist") from None
        except OSError as e:
            raise AofError(f"Fatal error: can't open the append log file {name} for reading: "
                           f"{e.strerror}") from None
        if not data:
            return "empty"
        pos = 0
        if data.startswith(b"REDIS"):
            log.notice("Reading RDB preamble from AOF file..." if old_style
                       else "Reading RDB base file on AOF loading...")
            try:
                pos = load_rdb_prefix(srv, data, tail=old_style)
            except Exception as e:
                what = "preamble of the AOF file" if old_style else "base file"
                raise AofError(f"Error reading the RDB {what} {name}, AOF loading aborted: "
                               f"{e}") from None
            if old_style:
                log.notice("Reading the remaining AOF tail...")
        c = Client(srv)
        c.authenticated = True
        c.is_master = True  # applied as it is: no limits meant for users, no blocking
        c.deny_blocking = True
        c.update_guard()
        truncated_ok = srv.config["aof-load-truncated"]
        valid_up_to = pos
        valid_before_multi = pos
        reader = CommandReader(data, pos)
        table = registry.TABLE
        call = srv.call
        for argv, end in reader:
            name0 = argv[0]
            cmd = table.get(name0) or table.get(name0.lower())
            if cmd is not None and cmd.subcommands is not None and (
                len(argv) > 1 or cmd.proc is None
            ):
                cmd = cmd.subcommands.get(argv[1].lower()) if len(argv) > 1 else None
            if cmd is None:
                raise AofError(f"Unknown command '{name0.decode('utf-8', 'replace')}' reading "
                               f"the append only file {name}")
            if cmd.name == "multi":
                valid_before_multi = valid_up_to
            if c.in_multi and cmd.name != "exec":
                c.multi_queue.append((cmd, argv))
            elif (cmd.arity > 0 and len(argv) != cmd.arity) or len(argv) < -cmd.arity:
                log.warning(f"Wrong number of arguments for '{cmd.name}' in the append only "
                            f"file {name}: skipped")
            else:
                call(c, cmd, argv)
            valid_up_to = end
        if reader.status == FORMAT:
            raise AofError(f"Bad file format reading the append only file {name}: make a backup "
                           "of your AOF file, then use ./redis-check-aof --fix <filename.manifest>")
        if reader.status == OK and not c.in_multi:
            return "ok"
        if reader.status == OK:
            log.warning(f"Revert incomplete MULTI/EXEC transaction in AOF file {name}")
            valid_up_to = valid_before_multi
        c.discard_multi()
        if truncated_ok and last:
            log.warning(f"!!! Warning: short read while loading the AOF file {name}!!!")
            log.warning(f"!!! Truncating the AOF {name} at offset {valid_up_to} !!!")
            try:
                os.truncate(path, valid_up_to)
            except OSError as e:
                log.warning(f"Error truncating the AOF file {name}: {e.strerror}")
            else:
                log.warning(f"AOF {name} loaded anyway because aof-load-truncated is enabled")
                return "truncated"
        if truncated_ok:
            raise AofError("Fatal error: the truncated file is not the last file")
        raise AofError(
            f"Unexpected end of file reading the append only file {name}. You can: 1) Make a "
            "backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) "
            "Alternatively you can set the 'aof-load-truncated' configuration option to yes and "
            "restart the server.")

    def open_on_start(self) -> None:
        """aofOpenIfNeededOnServerStart: a base for an empty start, the last incr for append."""
        if not self.server.config["appendonly"]:
            return
        log = self.server.log
        try:
            self._mkdir()
        except OSError as e:
            raise AofError(f"Can't open or create append-only dir {self.dirpath}: "
                           f"{e.strerror}") from None
        m = self.manifest
        had_incr = bool(m.incr)
        try:
            if m.base is None and not m.incr:
                name = m.new_base(self.filename, self.server.config["aof-use-rdb-preamble"])
                self.write_base_now(name)
                log.notice(f"Creating AOF base file {name} on server start")
            name = m.last_incr(self.filename)
            fd = os.open(self.path(name), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            self.persist_manifest(m)
        except OSError as e:
            raise AofError(f"Can't open the append-only file: {e.strerror}") from None
        self.last_incr_size = _file_size(self.path(name))
        self.state = ON
        self._switch_fd(fd)
        verb = "Opening" if had_incr else "Creating"
        log.notice(f"{verb} AOF incr file {name} on server start")
        self.delete_history()


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def load_rdb_prefix(server: Server, data: bytes, tail: bool) -> int:
    """Load the RDB at the start of ``data``; returns where it ends.

    Keys already expired are kept (the AOF that follows may still touch them; active expiry
    removes them afterwards), as Redis loads a preamble. Only an old-style single file has
    commands after its RDB (``tail``): its end is found with a first pass of the parser.
    """
    from . import rdb

    end = len(data)
    if tail:
        ctx = rdb._Ctx(rdb.Limits(server.config), 0, False)
        for _ in rdb.parse(data, ctx=ctx):
            pass
        end = ctx.reader.pos
    rdb.load_into(server, data[:end] if end < len(data) else data, drop_expired=False,
                  log=server.log)
    return end


def fork_child(server: Server, fn) -> int:
    """fork(); the child runs ``fn() -> exit code`` and exits. Returns the pid, or -errno.

    The child closes every inherited descriptor first (sockets stay the parent's: a child
    alive after the parent died must not hold the port or the clients' connections) and
    never returns into Trio.
    """
    import gc

    try:
        pid = os.fork()
    except OSError as e:
        return -(e.errno or errno.EAGAIN)
    if pid:
        return pid
    code = 1
    try:
        gc.disable()  # collections would only copy pages (and could finalize stale sockets)
        os.nice(10)  # the child is CPU-bound: let the serving parent win
        for sig in (signal.SIGUSR1, signal.SIGTERM, signal.SIGINT):
            try:
                signal.signal(sig, signal.SIG_DFL)
            except (ValueError, OSError):
                pass
        os.closerange(3, os.sysconf("SC_OPEN_MAX"))
        code = fn()
    except BaseException:  # noqa: B036 - the child must always reach _exit
        code = 1
    finally:
        os._exit(code)


# -- trioredis check-aof -----------------------------------------------------------------------


def check(path: str, fix: bool = False) -> tuple[int, list[str]]:
    """redis-check-aof: is ``path`` (a manifest, an AOF directory, or one file) loadable?

    Returns the exit code (0 valid or fixed, 1 not) and the lines to print: where a truncated
    or corrupt command starts, and with ``fix`` the last file truncated to its last valid
    command (a damaged file before the last one cannot be fixed that way).
    """
    out: list[str] = []
    if os.path.isdir(path):
        names = sorted(n for n in os.listdir(path) if n.endswith(MANIFEST_SUFFIX)
                       and not n.startswith(TEMP_PREFIX))
        if not names:
            return 1, [f"No AOF manifest found in directory {path}"]
        path = os.path.join(path, names[0])
    if not os.path.exists(path):
        return 1, [f"Cannot open file {path}: No such file or directory"]
    if not path.endswith(MANIFEST_SUFFIX):
        with open(path, "rb") as f:
            head = f.read(5)
        out.append("Start checking RDB-preamble AOF" if head == b"REDIS"
                   else "Start checking Old-Style AOF")
        code = _check_file(path, path, fix, True, out, "AOF")
        return code, out
    out.append("Start checking Multi Part AOF")
    dirpath = os.path.dirname(path) or "."
    try:
        with open(path, "rb") as f:
            manifest = Manifest.parse(f.read())
    except (OSError, AofError) as e:
        return 1, out + [f"Invalid AOF manifest {path}: {e}"]
    files = ([manifest.base] if manifest.base else []) + manifest.incr
    if not files:
        return 1, out + ["The AOF manifest lists no base or incr file"]
    for n, info in enumerate(files, 1):
        kind = "BASE" if info is manifest.base else "INCR"
        if n == 1 and kind == "BASE":
            out.append("Start to check BASE AOF.")
        elif kind == "INCR" and (n == 1 or files[n - 2] is manifest.base):
            out.append("Start to check INCR files.")
        code = _check_file(os.path.join(dirpath, info.name), info.name, fix, n == len(files),
                           out, f"{kind} AOF")
        if code:
            return code, out
    out.append("All AOF files and manifest are valid")
    return 0, out


def _check_file(path: str, name: str, fix: bool, last: bool, out: list, kind: str) -> int:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        out.append(f"Cannot open file {name}: {e.strerror}")
        return 1
    if not data:
        out.append(f"{kind} {name} is empty")
        return 0
    pos = 0
    if data.startswith(b"REDIS"):
        from . import rdb

        ctx = rdb._Ctx(rdb.Limits(), 0, False)
        try:
            for _ in rdb.parse(data, ctx=ctx, skip_modules=True):
                pass
        except rdb.RDBError as e:
            out.append(f"RDB preamble of AOF file is not sane, aborting: {e}")
            return 1
        pos = ctx.reader.pos
        out.append("RDB preamble is OK, proceeding with AOF tail...")
    reader = CommandReader(data, pos, strict=True)
    ok_up_to = pos
    multi = False
    for argv, end in reader:
        name0 = argv[0].lower()
        if name0 == b"multi":
            multi = True
        elif name0 == b"exec":
            multi = False
        if not multi:
            ok_up_to = end
    if reader.status != OK:
        out.append(f"0x{reader.error_pos:16x}: {reader.error}")
    elif multi:
        out.append(f"0x{len(data):16x}: Reached EOF before reading EXEC for MULTI")
    size = len(data)
    diff = size - ok_up_to
    line = data.count(b"\n", 0, ok_up_to) + 1
    out.append(f"AOF analyzed: filename={name}, size={size}, ok_up_to={ok_up_to}, "
               f"ok_up_to_line={line}, diff={diff}")
    if not diff:
        out.append(f"{kind} {name} is valid")
        return 0
    if not fix:
        out.append(f"{kind} {name} is not valid. Use the --fix option to try fixing it.")
        return 1
    if not last:
        out.append(f"Failed to truncate AOF {name} because it is not the last file")
        return 1
    out.append(f"This will shrink the AOF {name} from {size} bytes, with {diff} bytes, to "
               f"{ok_up_to} bytes")
    try:
        os.truncate(path, ok_up_to)
    except OSError as e:
        out.append(f"Failed to truncate AOF {name}: {e.strerror}")
        return 1
    out.append(f"Successfully truncated AOF {name}")
    return 0


def aof_of(server: Server) -> AOF:
    return server.aof


def _attach(server: Server) -> None:
    server.aof = AOF(server)


SERVER_INIT.append(_attach)

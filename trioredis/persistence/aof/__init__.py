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

The package, by part (``AOF`` is assembled here from the three per-server parts):

- ``common.py``: file-name parts, entry types, states, limits, ``AofError``, os helpers
- ``manifest.py``: the manifest format (``Manifest``, ``AofInfo``), read and written
- ``reader.py``: reading RESP commands from a file (``CommandReader``)
- ``writer.py``: the live log and the fsync policies (``AofWriter``)
- ``rewrite.py``: BGREWRITEAOF, the forked child, the plain-command base (``AofRewriter``)
- ``loader.py``: start-up loading and opening (``AofLoader``)
- ``checker.py``: ``trioredis check-aof``
- here: ``AOF`` (state, paths, cron, switching on and off, INFO), what a new base holds
  (``base_chunks``), and the ``SERVER_INIT`` hook that gives every server its ``AOF``.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

from ...errors import ConfigError
from ...extensions import SERVER_INIT
from .checker import check
from .common import (
    AOF_SUFFIX,
    BASE_SUFFIX,
    INCR_SUFFIX,
    ITEMS_PER_CMD,
    MANIFEST_SUFFIX,
    OFF,
    ON,
    RDB_SUFFIX,
    REWRITE_LIMIT_MAX_MINUTES,
    REWRITE_LIMIT_THRESHOLD,
    TEMP_PREFIX,
    TYPE_BASE,
    TYPE_HIST,
    TYPE_INCR,
    WAIT_REWRITE,
    AofError,
    _unlink,
    fsync_dir,
    write_file,
)
from .loader import AofLoader, load_rdb_prefix
from .manifest import (
    AofInfo,
    Manifest,
    manifest_name,
    read_manifest,
    temp_incr_name,
    write_manifest,
)
from .reader import FORMAT, OK, TRUNCATED, CommandReader
from .rewrite import AofRewriter, fork_child, rewrite_commands
from .writer import AofWriter

if TYPE_CHECKING:
    from ...core import Server

__all__ = [
    "AOF",
    "AOF_SUFFIX",
    "BASE_SUFFIX",
    "FORMAT",
    "INCR_SUFFIX",
    "ITEMS_PER_CMD",
    "MANIFEST_SUFFIX",
    "OFF",
    "OK",
    "ON",
    "RDB_SUFFIX",
    "REWRITE_LIMIT_MAX_MINUTES",
    "REWRITE_LIMIT_THRESHOLD",
    "TEMP_PREFIX",
    "TRUNCATED",
    "TYPE_BASE",
    "TYPE_HIST",
    "TYPE_INCR",
    "WAIT_REWRITE",
    "AofError",
    "AofInfo",
    "CommandReader",
    "Manifest",
    "aof_of",
    "base_chunks",
    "check",
    "fork_child",
    "fsync_dir",
    "load_rdb_prefix",
    "manifest_name",
    "read_manifest",
    "rewrite_commands",
    "temp_incr_name",
    "write_file",
    "write_manifest",
]


def base_chunks(server: Server):
    """The content of a new base file, in chunks: an RDB (aux ``aof-base`` 1, what Redis
    writes) or plain commands (``aof-use-rdb-preamble no``)."""
    if server.config["aof-use-rdb-preamble"]:
        from .. import rdb

        aux = [(k, b"1" if k == b"aof-base" else v)
               for k, v in rdb.default_aux(server, with_repl=False)]
        delay = server.config.get("rdb-key-save-delay", 0)  # Redis's test knob, as for RDBs
        return rdb.iter_rdb(server, aux=aux, key_delay_us=delay)
    return [rewrite_commands(server)]


# -- the per-server AOF ------------------------------------------------------------------------


# Its methods are in parts: the live log and fsync (writer.py), rewrites (rewrite.py), start-up
# loading and opening (loader.py); the state they share is set up here.
class AOF(AofWriter, AofRewriter, AofLoader):
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
        cfg.on_change("aof-disable-auto-gc", lambda v, old: v or self.delete_history())
        server.add_hook("cron", self.cron)
        server.add_hook("tasks", self.run_tasks)
        server.add_hook("shutdown_check", self.shutdown_check)
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

    # -- rewriting: what writes a new base (``base_chunks``, looked up in this module) ---------

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

    def _child_main(self) -> int:
        tmp = self._temp_base(os.getpid())
        write_file(tmp, base_chunks(self.server))
        return 0

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

    def shutdown_check(self, force: bool) -> bool:
        """SHUTDOWN while the first rewrite after turning appendonly on still runs: no AOF
        holds the dataset yet, so exiting would lose it; refused unless FORCE (Redis's
        finishShutdown, checked before any save)."""
        if self.state == WAIT_REWRITE and self.child_pid:
            if force:
                self.server.log.warning("Writing initial AOF. Exit anyway.")
                return True
            self.server.log.warning("Writing initial AOF, can't exit.")
            return False
        return True

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

def aof_of(server: Server) -> AOF:
    return server.aof


def _attach(server: Server) -> None:
    server.aof = AOF(server)


SERVER_INIT.append(_attach)

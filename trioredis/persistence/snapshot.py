"""Snapshots: SAVE, BGSAVE, save points, the final save at SHUTDOWN, and loading at startup.

A snapshot is written to ``temp-<pid>.rdb`` in ``dir``, fsynced, renamed over ``dbfilename``
and the directory fsynced: a crash while saving never damages the previous dump.

BGSAVE forks. The child writes the file from its copy-on-write view of the keyspace and leaves
with ``os._exit``; the parent keeps serving clients and notices the end from the cron hook
(``os.waitpid(..., WNOHANG)``, ``hz`` times a second). What it costs the parent is the fork
itself, which copies the page tables: measured here, 1 ms for an empty server (42 MB RSS),
9 ms with 1M small keys (174 MB), 30 ms with 3M (540 MB): about 55 ms per GB, during which
no client is answered. The child then dirties pages as CPython touches reference counts, so
memory grows by up to the size of the dataset while it runs (Redis's copy-on-write, more
so); the parent's latency does not.

Per-server state lives in ``server.persistence`` (attached through ``core.SERVER_INIT``);
``server.dirty_at_last_save`` marks ``server.dirty`` at the last successful save (``dirty``
itself only grows, as the call path relies on it). Other modules with fork children (an AOF
rewrite) can tell BGSAVE about them with a ``child_active`` hook (``fn() -> bool``) and ask
``server.persistence.child_pid`` about ours.
"""

from __future__ import annotations

import errno
import gc
import os
import signal
import time

from ..config import param
from ..errors import CommandError, StartupError
from ..log import _MARK
from . import rdb
from .child_info import ChildInfo

# Redis's hidden test knob: microseconds to sleep per key while writing a snapshot.
param("rdb-key-save-delay", "int", 0, hidden=True)
# And per key while loading (Redis's key-load-delay; negative: 1 us every |n| keys on average).
param("key-load-delay", "int", 0, hidden=True)

BGSAVE_RETRY_DELAY = 5  # seconds between failed automatic BGSAVE attempts (Redis's)

MISCONF = (
    "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist "
    "to disk. Commands that may modify the data set are disabled, because this instance is "
    "configured to report errors during writes if RDB snapshotting fails "
    "(stop-writes-on-bgsave-error option). Please check the Redis logs for details about the "
    "RDB error."
)


class Persistence:
    """RDB snapshot state of one server."""

    def __init__(self, server):
        self.server = server
        self.child_pid: int | None = None
        self.child_start = 0.0
        self.dirty_before_bgsave = 0
        self.last_status_ok = True  # rdb_last_bgsave_status
        self.last_bgsave_try = 0.0
        self.last_bgsave_secs = -1
        self.saves = 0  # rdb_saves
        self.scheduled = False  # BGSAVE SCHEDULE waiting for another child to finish
        self.last_fork_usec = 0
        self.keys_loaded = 0
        self.keys_expired = 0
        server.stat_total_forks = 0  # every fork: BGSAVE, AOF rewrite, replication snapshot
        self.last_aux: dict | None = None  # aux fields of the last file loaded
        self.child_info: ChildInfo | None = None  # the running child's reports
        self.last_cow_size = 0  # rdb_last_cow_size
        self._barrier = None  # our MISCONF write barrier while installed
        self._prev_barrier = None
        server.dirty_at_last_save = server.dirty
        server.persistence = self
        server.add_hook("cron", self.cron)
        server.add_hook("shutdown", self.on_shutdown)
        server.add_hook("startup", self.on_startup)
        server.add_hook("info_persistence", self.info)
        server.add_hook("debug_reload", self.debug_reload)
        server.add_hook("flushall", self.on_flushall)

    # -- paths and logging --------------------------------------------------------------------

    @property
    def path(self) -> str:
        cfg = self.server.config
        return os.path.join(cfg["dir"], cfg["dbfilename"])

    def _temp(self, pid: int) -> str:
        return os.path.join(self.server.config["dir"], f"temp-{pid}.rdb")

    @property
    def log(self):
        return self.server.log

    # -- saving -------------------------------------------------------------------------------

    def write_file(self, path: str, log=None, progress=None) -> bool:
        """Write a snapshot to ``path`` through a temp file (rdbSave). True on success.
        ``progress(keys_done)`` is iter_rdb's hook (a child's report to its parent)."""
        log = log or self.log
        tmp = self._temp(os.getpid())
        delay = self.server.config.get("rdb-key-save-delay", 0)
        try:
            f = open(tmp, "wb")
        except OSError as e:
            log.warning(f"Failed opening the temp RDB file {os.path.basename(tmp)} (in server "
                        f"root dir {self.server.config['dir']}) for saving: {e.strerror}")
            return False
        try:
            with f:
                for chunk in rdb.iter_rdb(self.server, key_delay_us=delay, progress=progress):
                    f.write(chunk)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
            _fsync_dir(os.path.dirname(os.path.abspath(path)))
        except Exception as e:  # disk errors, and values we cannot serialize
            reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
            log.warning(f"Write error saving DB on disk: {reason}")
            try:
                os.unlink(tmp)
            except OSError:
                pass
            return False
        log.notice("DB saved on disk")
        return True

    def save_now(self) -> bool:
        """SAVE: a synchronous snapshot in this process."""
        srv = self.server
        self.saves += 1
        dirty = srv.dirty
        ok = self.write_file(self.path)
        if ok:
            srv.dirty_at_last_save = dirty
            srv.lastsave = int(time.time())
            self._set_status(True)
        return ok

    def child_active(self) -> bool:
        return self.child_pid is not None or any(
            fn() for fn in self.server.hooks.get("child_active", ())
        )

    def bgsave(self) -> bool:
        """Fork a child that writes the snapshot (rdbSaveBackground). True when started."""
        if self.child_active():
            return False
        srv = self.server
        self.saves += 1
        self.dirty_before_bgsave = srv.dirty
        self.last_bgsave_try = time.time()
        t0 = time.perf_counter()
        info = ChildInfo(sum(len(db.data) for db in srv.dbs))
        try:
            pid = os.fork()
        except OSError as e:
            info.close()
            self._set_status(False)
            self.log.warning(f"Can't save in background: fork: {e.strerror}")
            return False
        if pid == 0:
            info.in_child()
            self._child(info)  # never returns
        info.in_parent()
        if self.child_info is not None:
            self.child_info.close()
        self.child_info = info
        srv.stat_total_forks += 1
        self.last_fork_usec = int((time.perf_counter() - t0) * 1_000_000)
        self.child_pid = pid
        self.child_start = time.time()
        self.log.notice(f"Background saving started by pid {pid}")
        return True

    def _child(self, info: ChildInfo) -> None:
        """The forked child: write the file, report to the parent, exit. Nothing of Trio's
        is touched here."""
        code = 1
        try:
            gc.disable()  # collections would only copy pages
            os.nice(10)  # the child is CPU-bound: let the serving parent win
            for sig in (signal.SIGUSR1, signal.SIGTERM, signal.SIGINT):
                try:
                    signal.signal(sig, signal.SIG_DFL)
                except (ValueError, OSError):
                    pass
            runner = self.server.runner
            for sock in getattr(runner, "listeners", ()):
                try:
                    sock.close()  # a restarted parent must be able to bind again
                except OSError:
                    pass
            if self.write_file(self.path, log=_ChildLog(self.server.log),
                               progress=info.progress):
                info.send(info.keys_total)  # the final report: rdb_last_cow_size
                code = 0
        except BaseException:
            code = 1
        finally:
            os._exit(code)

    def kill_child(self) -> None:
        """Stop a running BGSAVE (SHUTDOWN, FLUSHALL) and remove its temp file."""
        pid = self.child_pid
        if pid is None:
            return
        try:
            os.kill(pid, signal.SIGUSR1)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        self.child_pid = None
        if self.child_info is not None:
            self.child_info.close()
            self.child_info = None
        try:
            os.unlink(self._temp(pid))
        except OSError:
            pass

    def _child_done(self, status: int) -> None:
        """backgroundSaveDoneHandlerDisk."""
        srv = self.server
        pid = self.child_pid
        self.child_pid = None
        if self.child_info is not None:
            self.child_info.poll()
            self.last_cow_size = self.child_info.cow
            self.child_info.close()
            self.child_info = None
        code = os.waitstatus_to_exitcode(status)
        if code == 0:
            self.log.notice("Background saving terminated with success")
            srv.dirty_at_last_save = self.dirty_before_bgsave
            srv.lastsave = int(time.time())
            self._set_status(True)
        elif code > 0:
            self.log.warning("Background saving error")
            self._set_status(False)
        else:
            self.log.warning(f"Background saving terminated by signal {-code}")
            try:
                os.unlink(self._temp(pid))
            except OSError:
                pass
            if -code != signal.SIGUSR1:
                self._set_status(False)
        self.last_bgsave_secs = int(time.time() - self.child_start)
        srv.run_hooks("bgsave_done", code == 0)

    def wait_child(self, timeout: float | None = None) -> bool:
        """Block until the BGSAVE child ends (tests, shutdown). True if it ended."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.child_pid is not None:
            pid, status = os.waitpid(self.child_pid, os.WNOHANG)
            if pid:
                self._child_done(status)
                return True
            if deadline is not None and time.monotonic() > deadline:
                return False
            time.sleep(0.005)
        return True

    # -- MISCONF ------------------------------------------------------------------------------

    def _set_status(self, ok: bool) -> None:
        self.last_status_ok = ok
        srv = self.server
        if not ok and self._barrier is None:
            prev = srv.write_barrier

            def barrier(c, cmd):
                cfg = srv.config
                if cfg["stop-writes-on-bgsave-error"] and cfg["save"] and not self.last_status_ok:
                    return MISCONF
                return prev(c, cmd) if prev is not None else None

            self._prev_barrier = prev
            self._barrier = srv.write_barrier = barrier
            srv.update_guard()
        elif ok and self._barrier is not None:
            if srv.write_barrier is self._barrier:
                srv.write_barrier = self._prev_barrier
                srv.update_guard()
            self._barrier = self._prev_barrier = None

    # -- hooks --------------------------------------------------------------------------------

    def cron(self) -> None:
        """serverCron's part: reap the child, start scheduled and save-point BGSAVEs."""
        if self.child_pid is not None:
            try:
                pid, status = os.waitpid(self.child_pid, os.WNOHANG)
            except ChildProcessError:
                pid, status = self.child_pid, 1 << 8
            if pid:
                self._child_done(status)
            return
        srv = self.server
        now = time.time()
        may_retry = self.last_status_ok or now - self.last_bgsave_try > BGSAVE_RETRY_DELAY
        if self.scheduled and may_retry and not self.child_active():
            self.scheduled = False
            self.bgsave()
            return
        points = srv.config["save"]
        if not points or not may_retry:
            return
        changes = srv.dirty - srv.dirty_at_last_save
        since = now - srv.lastsave
        for seconds, needed in points:
            if changes >= needed and since > seconds:
                self.log.notice(f"{needed} changes in {seconds} seconds. Saving...")
                self.bgsave()
                break

    def on_shutdown(self, save) -> bool:
        """SHUTDOWN / SIGTERM: stop a BGSAVE, then save when asked (None: if save points)."""
        if self.child_pid is not None:
            self.log.warning("There is a child saving an .rdb. Killing it!")
            self.kill_child()
        if save is None:
            save = bool(self.server.config["save"])
        if not save:
            return True
        self.log.notice("Saving the final RDB snapshot before exiting.")
        if not self.save_now():
            self.log.warning("Error trying to save the DB, can't exit.")
            return False
        return True

    def on_flushall(self, c) -> None:
        """FLUSHALL: a running BGSAVE would resurrect the old data; with save points the
        dump is emptied at once (flushAllDataAndResetRDB), which, as any save, leaves no
        change unsaved (Redis 7.0: rdb_changes_since_last_save 0; FLUSHALL still propagates)."""
        self.kill_child()
        if self.server.config["save"]:
            self.saves += 1
            if self.write_file(self.path):
                self.server.lastsave = int(time.time())
                self.server.dirty_at_last_save = self.server.dirty
                self._set_status(True)

    def on_startup(self, runner=None) -> None:
        """Load ``dir/dbfilename`` before clients are accepted (a missing file: empty)."""
        srv = self.server
        if srv.config["appendonly"]:
            return  # the AOF, when enabled, is what Redis loads
        repl = getattr(srv, "replication", None)
        on_expired = repl.loading_feed() if repl is not None else None
        self.last_aux = None
        # A replica from the config (not following yet) keeps expired keys: its master's DELs
        # remove them.
        replica = srv.role == "slave" or srv.config["replicaof"] is not None
        self.load_file(self.path, startup=True, on_expired=on_expired,
                       drop_expired=not replica)
        if repl is not None:
            repl.restore_from_rdb(self.last_aux)

    def load_file(self, path: str, startup: bool = False, allow_dup: bool = False,
                  on_expired=None, drop_expired: bool | None = None) -> bool:
        """Load an RDB file into the keyspace. False if the file does not exist.

        At startup a broken file raises ``cli.StartupError`` (one line, exit code 1) and the
        file is left as it is; otherwise :class:`rdb.RDBError` / OSError propagate.
        """
        srv = self.server
        try:
            with open(path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return False
        except OSError as e:
            if not startup:
                raise
            raise StartupError(
                f"Fatal error: can't open the RDB file {path} for reading: {e.strerror}"
            ) from None
        t0 = time.monotonic()
        srv.loading = True
        srv.update_guard()
        try:
            stats = rdb.load_into(srv, data, allow_dup=allow_dup, log=srv.log,
                                  on_expired=on_expired, drop_expired=drop_expired)
        except rdb.RDBError as e:
            if not startup:
                raise
            if e.reason.startswith("Wrong RDB checksum"):  # Redis's two lines for it
                srv.log.warning(f"{e.reason}. Aborting now.")
                srv.log.warning(f"Internal error in RDB reading offset {e.offset or 0} -> "
                                "RDB CRC error")
            else:  # Redis's rdbReportCorruptRDB: the reason, redis-check-rdb's report, exit
                from .rdb_check import check

                srv.log.warning(f"Internal error in RDB reading offset {e.offset or 0}, "
                                f"function at rdb_reader -> {e.reason}")
                for line in check(data)[1]:
                    srv.log.warning(line)
                srv.log.warning("Terminating server after rdb file reading failure.")
            raise StartupError(
                f"Fatal error loading the DB from {path}: {e}. Exiting."
            ) from None
        finally:
            srv.loading = False
            srv.update_guard()
        self.keys_loaded = stats.keys_loaded
        self.keys_expired = stats.keys_expired
        self.last_aux = stats.aux
        srv.log.notice(f"DB loaded from disk: {time.monotonic() - t0:.3f} seconds")
        return True

    def debug_reload(self, c, args: list) -> object:
        """DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]: save, empty, load back."""
        from ..protocol.replies import OK

        merge = noflush = nosave = False
        for a in args:
            if a == b"merge":
                merge = True
            elif a == b"noflush":
                noflush = True
            elif a == b"nosave":
                nosave = True
            else:
                raise CommandError(
                    "ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.")
        srv = self.server
        if not nosave and not self.save_now():
            raise CommandError("ERR")
        if not noflush:
            srv.flush_all()
        srv.functions_kept = noflush  # emptyData clears the libraries only when flushing
        try:
            if not self.load_file(self.path, allow_dup=merge):
                raise OSError(errno.ENOENT, "no such file")
        except (OSError, rdb.RDBError) as e:
            srv.log.warning(f"Error loading the RDB dump: {e}")
            raise CommandError("ERR Error trying to load the RDB dump, check server logs.")
        finally:
            srv.functions_kept = False
        srv.log.warning("DB reloaded by DEBUG RELOAD")
        return OK

    def info(self, server, lines: list) -> list:
        """INFO persistence: our values for the rdb_* and loading fields."""
        now = time.time()
        # A replication snapshot is Redis's RDB child too (rdb_bgsave_in_progress).
        repl = getattr(server, "replication", None)
        running = self.child_pid is not None or bool(repl is not None and repl.snapshot_pids)
        values = {
            "loading": str(int(bool(server.loading))),
            "rdb_changes_since_last_save": str(server.dirty - server.dirty_at_last_save),
            "rdb_bgsave_in_progress": str(int(running)),
            "rdb_last_save_time": str(int(server.lastsave)),
            "rdb_last_bgsave_status": "ok" if self.last_status_ok else "err",
            "rdb_last_bgsave_time_sec": str(self.last_bgsave_secs),
            "rdb_current_bgsave_time_sec": str(int(now - self.child_start)) if running else "-1",
            "rdb_saves": str(self.saves),
            "rdb_last_load_keys_expired": str(self.keys_expired),
            "rdb_last_load_keys_loaded": str(self.keys_loaded),
            "rdb_last_cow_size": str(self.last_cow_size),
        }
        if self.child_info is not None:  # Redis's current_* fields of the saving child
            self.child_info.poll()
            values.update(self.child_info.info_values())
        out = []
        for line in lines:
            name = line.split(":", 1)[0]
            v = values.pop(name, None)
            out.append(line if v is None else f"{name}:{v}")
        out.extend(f"{k}:{v}" for k, v in values.items())
        return out


class _ChildLog:
    """Log lines from the forked child, written straight to the fd (no locks taken)."""

    def __init__(self, log):
        self.level = log.level
        self.path = log.path

    def _write(self, level: int, msg: str) -> None:
        if level < self.level:
            return
        now = time.time()
        stamp = time.strftime("%d %b %Y %H:%M:%S", time.localtime(now))
        line = f"{os.getpid()}:C {stamp}.{int(now * 1000) % 1000:03d} {_MARK[level]} {msg}\n"
        data = line.encode()
        try:
            if self.path:
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
                try:
                    os.write(fd, data)
                finally:
                    os.close(fd)
            else:
                os.write(1, data)
        except OSError:
            pass

    def notice(self, msg: str) -> None:
        self._write(2, msg)

    def warning(self, msg: str) -> None:
        self._write(3, msg)


def _fsync_dir(path: str) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def install(server) -> None:
    """core.SERVER_INIT: attach the snapshot state to a new server."""
    Persistence(server)


def state_of(server) -> Persistence:
    p = getattr(server, "persistence", None)
    if p is None:
        p = Persistence(server)
    return p

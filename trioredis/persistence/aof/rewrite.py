"""The rewrite (BGREWRITEAOF, the automatic one, ``CONFIG SET appendonly yes``), and the
plain-command base it writes when ``aof-use-rdb-preamble no``.

It works as Redis 7's: a new incr file takes the writes from the moment it starts, a fork()ed
child writes the new base from its copy-on-write view of that moment, and a new manifest (new
base + new incr) is installed atomically (rename) before the old files are deleted.

``AofRewriter`` is one part of ``aof.AOF`` (the state it uses is set up in ``AOF.__init__``);
what the child writes (``base_chunks``, ``AOF._child_main``) is in ``aof/__init__.py``.
"""

from __future__ import annotations

import errno
import os
import signal
import time
from typing import TYPE_CHECKING

from ...protocol.encoder import format_double
from .common import (
    ITEMS_PER_CMD,
    OFF,
    ON,
    REWRITE_LIMIT_MAX_MINUTES,
    REWRITE_LIMIT_THRESHOLD,
    WAIT_REWRITE,
    _file_size,
    _unlink,
)
from .manifest import temp_incr_name

if TYPE_CHECKING:
    from ...core import Server


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

    from ...datatypes.stream import Stream, fmt_id
    from ...datatypes.zset import ZSet

    out: list[bytes] = []
    if server.config["aof-timestamp-enabled"]:
        out.append(b"#TS:%d\r\n" % int(time.time()))
    for codes in server.hooks.get("function_codes", ()):  # rewriteFunctions: libraries first
        for code in codes():
            _cmd(out, b"FUNCTION", b"LOAD", code)
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
        server.stat_total_forks += 1  # INFO stats total_forks
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


# -- the per-server rewrite --------------------------------------------------------------------


class AofRewriter:
    """``AOF``'s rewrite methods: the failure limit, starting a rewrite (new incr file, forked
    child), reaping the child and installing its base, history files, killing the child."""

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
            temp = temp_incr_name(self.filename)
            log.notice(f"Removing the temp incr aof file {temp} in the background")
            try:
                os.unlink(self.path(temp))
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
        """aofDelHistoryFiles: history files are removed once the manifest forgets them
        (unless ``aof-disable-auto-gc``, which keeps them until it is turned off)."""
        m = self.manifest
        if m is None or not m.history or self.server.config["aof-disable-auto-gc"]:
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

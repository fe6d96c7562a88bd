"""The live log: feeding writes, writing them before replies go out, and the fsync policies.

Writes reach the log as a propagation target (``core.Server.propagate``): the deterministic
form of each write, with a SELECT when the db changes. They collect in a buffer that is written
(``os.write``) right before any client is sent replies (``server.before_flush``, called by the
connection), so nothing acknowledged is missing from the file the OS holds. ``appendfsync
always`` also waits for an ``fdatasync`` of everything written so far before the replies go:
connections waiting meanwhile share the next one (group commit: one fsync per scheduler
batch, see ``wait_synced``); ``everysec`` syncs once a second in a worker thread; ``no`` leaves
it to the OS.

``AofWriter`` is one part of ``aof.AOF`` (the state it uses is set up in ``AOF.__init__``).
"""

from __future__ import annotations

import os
import time

from ...protocol.encoder import encode_command
from .common import _write_all


class AofWriter:
    """``AOF``'s live-log methods: feed, flush before replies, fsync (always/everysec/no),
    switch files, close."""

    flush_sleep_us = 0  # DEBUG AOF-FLUSH-SLEEP: sleep before each write (tests only)

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
        if self.flush_sleep_us:
            time.sleep(self.flush_sleep_us / 1e6)  # blocks the loop, as Redis's usleep does
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

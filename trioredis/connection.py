"""The Trio side of one client: read, parse, execute, write, on a plain non-blocking socket.

The hot loop calls ``recv``/``send`` directly and awaits ``wait_readable``/``wait_writable``
only when they would block (measured: about a third of the CPU of ``trio.SocketStream``), with
one checkpoint per batch so other tasks run and cancellation is seen. All replies produced from
one read go out in one write. The loop does not read while replies are unsent, so a client that
pipelines without reading only ever costs one read's worth of replies.
"""

from __future__ import annotations

import socket
import traceback
from typing import TYPE_CHECKING

import trio
from trio.lowlevel import checkpoint, wait_readable, wait_writable

from .blocking import Block
from .client import QueryBuffer, ReplyBuffer
from .protocol.encoder import error_line
from .protocol.parser import RequestParser

if TYPE_CHECKING:
    from .client import Client
    from .core import Server

READ_SIZE = 64 * 1024
REPLY_CHUNK = 16 * 1024  # PROTO_REPLY_CHUNK_BYTES: Redis's reply buffer and list-block size
# Flush mid-batch once this much output is waiting (large replies to a long pipeline).
FLUSH_AT = 1024 * 1024


class Flusher:
    """Sends out-of-band output (pub/sub messages, the replication stream, served blocking
    replies) once per turn of the event loop: one task, woken by the first push of a turn."""

    def __init__(self):
        self.pending: dict[Connection, None] = {}  # insertion-ordered set
        self.wakeup = trio.Event()

    def add(self, conn: Connection) -> None:
        if not self.pending:
            self.wakeup.set()
        self.pending[conn] = None

    async def run(self) -> None:
        while True:
            await self.wakeup.wait()
            self.wakeup = trio.Event()
            # Let every task made runnable in this turn add its output first.
            await checkpoint()
            pending, self.pending = self.pending, {}
            for conn in pending:
                conn.send_now()


class Connection:
    """Owns a client socket and its :class:`~trioredis.client.Client` for its lifetime."""

    # How the request loop waits for input: a TLS connection (tls.py) fills its decrypted
    # buffer instead. Read once per connection, so the plain loop pays nothing for it.
    wait_readable = staticmethod(wait_readable)

    def __init__(self, server: Server, sock: socket.socket, client: Client, log):
        self.server = server
        self.sock = sock
        self.client = client
        self.log = log
        self.outq: list[bytes] = []
        self.out_bytes = 0
        self.busy = False  # the request loop is producing output; it will send it
        self.draining = False
        self.drained: trio.Event | None = None
        self.nursery: trio.Nursery | None = None
        self.scope: trio.CancelScope | None = None
        self.soft_since = 0.0
        self.closed = False
        self.qbuf = QueryBuffer()  # Redis's query-buffer accounting, for CLIENT LIST
        self.rbuf = ReplyBuffer(server.now_ms())  # and its reply buffer's (rbs, rbp)
        self.argv: list | None = None  # the request being run (CLIENT LIST argv-mem)
        self.peer_closed = False
        self.read_error: OSError | None = None
        self.parser: RequestParser | None = None  # the loop's (a busy script reads into it)
        client.conn = self

    # -- output from elsewhere (pub/sub, served blocking commands) -------------------------

    def push(self, data: bytes) -> None:
        if self.closed:
            return
        self.outq.append(data)
        self.out_bytes += len(data)
        if self._over_limit():
            return
        self._schedule()

    def push_unlimited(self, data: bytes) -> None:
        """Queue bytes that do not count against the output buffer limit (a full-sync RDB)."""
        if self.closed:
            return
        self.outq.append(data)
        self._schedule()

    def _schedule(self) -> None:
        """Have the queued output sent soon, batched: the server's flusher sends what every
        connection got during this turn of the event loop in one write each (a replica or a
        subscriber gets one send per batch of writes, not one per write). While this
        connection's own request loop runs, that loop sends it with its replies."""
        if not self.busy and not self.draining:
            flusher = self.server.flusher
            if flusher is not None:
                flusher.add(self)
            elif self.nursery is not None:
                self._start_drain()

    def _start_drain(self) -> None:
        self.draining = True
        self.drained = trio.Event()
        self.nursery.start_soon(self._drain)

    def send_now(self) -> None:
        """Non-blocking send of the queued output; a drain task takes over if the socket is
        full. Called by the flusher."""
        if self.closed or self.busy or self.draining or not self.outq:
            return
        try:
            done = self._send_queued()
        except OSError:
            self.kill()
            return
        if not done and self.nursery is not None:
            self._start_drain()

    def _limits(self) -> tuple[int, int, int]:
        """(hard, soft, soft seconds) of this client's class; a master link has none."""
        return self.server.config["client-output-buffer-limit"].get(self.client.kind(), (0, 0, 0))

    def _reply_threshold(self) -> int | float:
        """The pending reply bytes past which the request loop checks the limits. All of them
        count: Redis skips its 16 KB buffer only for replies of known length, and a KEYS-like
        reply (deferred length) goes wholly to the list it limits."""
        hard, soft, _ = self._limits()
        if not (hard or soft):
            return float("inf")
        return min(x for x in (hard, soft) if x)

    def _over_limit(self) -> bool:
        """client-output-buffer-limit for this client's class: hard, then soft for N seconds."""
        hard, soft, secs = self._limits()
        n = self.out_bytes
        if hard and n > hard:
            self._close_for_limit(n)
            return True
        if soft and n > soft:
            now = trio.current_time()
            if not self.soft_since:
                self.soft_since = now
            elif now - self.soft_since >= secs:
                self._close_for_limit(n)
                return True
        else:
            self.soft_since = 0.0
        return False

    def _close_for_limit(self, n: int) -> None:
        """Close at once; what is still queued is never sent (it stays counted in CLIENT LIST
        until the connection is freed, as in Redis)."""
        c = self.client
        self.log.warning(
            f"Client id={c.id} addr={c.addr} scheduled to be closed ASAP for overcoming of "
            f"output buffer limits (omem={n})."
        )
        self.kill()

    async def _drain(self) -> None:
        try:
            await self._send_all()
        except OSError:
            self.kill()
        finally:
            self.draining = False
            if self.drained is not None:
                self.drained.set()

    async def _send_all(self) -> None:
        sock = self.sock
        while self.outq:
            data = b"".join(self.outq) if len(self.outq) > 1 else self.outq[0]
            self.outq.clear()
            self.out_bytes = 0
            view = memoryview(data)
            while view:
                try:
                    sent = sock.send(view)
                except BlockingIOError:
                    # Keep what is unsent at the front, so pushes made meanwhile follow it.
                    rest = bytes(view)
                    self.outq.insert(0, rest)
                    self.out_bytes += len(rest)
                    await self._wait_writable_within_limits()
                    if self.closed:
                        return
                    view = memoryview(b"".join(self.outq))
                    self.outq.clear()
                    self.out_bytes = 0
                    continue
                self.server.stat_net_output_bytes += sent
                view = view[sent:]
            self.soft_since = 0.0

    async def _wait_writable_within_limits(self) -> None:
        """Wait for room in the socket; past the soft limit, only until its time is up (Redis's
        clientsCron closes such a client even when no new output arrives)."""
        _, soft, secs = self._limits()
        while not self._over_limit():
            if not soft:
                await wait_writable(self.sock)
                return
            # Pushes made meanwhile may pass the soft limit: look again when its time could
            # be up.
            if self.soft_since:
                deadline = self.soft_since + secs
            else:
                deadline = trio.current_time() + max(secs, 0.1)
            with trio.move_on_at(deadline) as scope:
                await wait_writable(self.sock)
            if not scope.cancelled_caught:
                return

    def buffer_stats(self, now_ms: int) -> tuple:
        """CLIENT LIST's (qbuf, qbuf-free, argv-mem, argc, obl, oll, omem, rbs, rbp): replies
        not sent yet count as Redis's 16 KB reply buffer first, then 16 KB list blocks."""
        c = self.client
        qbuf, qfree = self.qbuf.stats(now_ms, (now_ms - c.last_ms) // 1000)
        argv = self.argv
        argv_mem = sum(map(len, argv)) if argv else 0
        pending = sum(map(len, self.outq))
        rbs, rbp = self.rbuf.stats(self.server, now_ms)
        obl = min(pending, rbs)
        rest = pending - obl
        return (qbuf, qfree, argv_mem, len(argv) if argv else 0, obl, -(-rest // REPLY_CHUNK),
                rest, rbs, rbp)

    def kill(self) -> None:
        """Close this connection as soon as possible (CLIENT KILL, buffer limits)."""
        self.client.killed = True
        self.closed = True
        if self.scope is not None:
            self.scope.cancel()

    # -- the request loop ----------------------------------------------------------------------

    async def run(self) -> None:
        srv = self.server
        c = self.client
        try:
            async with trio.open_nursery() as nursery:
                self.nursery = nursery
                with trio.CancelScope() as scope:
                    self.scope = scope
                    if not c.killed:
                        await self._loop()
                nursery.cancel_scope.cancel()
        except* OSError:  # reset, broken pipe...: this client is gone, nobody else is affected
            pass
        except* Exception as group:  # a bug met by one client must not end the server
            for e in group.exceptions:
                self.log.warning(
                    f"Client id={c.id} addr={c.addr} closed after an internal error: "
                    + "".join(traceback.format_exception(e)).rstrip()
                )
        finally:
            self.closed = True
            srv.free_client(c)
            try:
                self.sock.close()
            except OSError:
                pass

    async def _loop(self) -> None:
        srv = self.server
        c = self.client
        sock = self.sock
        recv = sock.recv
        wait_in = self.wait_readable
        execute = srv.execute
        outq = self.outq
        parser = self.parser = RequestParser(srv.config["proto-max-bulk-len"], c.authenticated)
        qbuf = self.qbuf
        while True:
            try:
                data = recv(READ_SIZE)
            except BlockingIOError:
                await wait_in(sock)
                continue
            except OSError as e:
                self.read_error = e  # logged at verbose by the server ("Reading from client")
                return
            if not data:
                self.peer_closed = True  # logged at verbose ("Client closed connection")
                return
            srv.stat_net_input_bytes += len(data)
            c.last_ms = srv.cached_ms  # CLIENT LIST idle= (the cron's clock: no call per read)
            if parser.authenticated is not c.authenticated:
                parser.set_authenticated(c.authenticated)
            qbuf.read(parser.held()[0], len(data))
            reqs = parser.feed(data)
            self.busy = True
            threshold = self._reply_threshold()
            pending = self.out_bytes
            try:
                for argv in reqs:
                    self.argv = argv
                    if srv.tracking is not None and srv.tracking.clients:
                        srv.tracking.limit()  # tracking-table-max-keys, before each command
                    srv.current_client = c
                    reply = execute(c, argv)
                    srv.current_client = None
                    while reply.__class__ is Block:  # a held (paused) command may block again
                        reply = await self._wait_blocked(reply, argv)
                        if reply is None and c.killed:
                            return
                    if c.reply_mode == "on":
                        out = c.encode(reply)
                        outq.append(out)
                        pending += len(out)
                        if pending > threshold and self._replies_over_limit(pending):
                            return  # closed for its output buffer limit: nothing is sent
                    elif c.reply_mode == "skip":
                        c.reply_mode = "on"
                    elif c.reply_mode == "skip_next":  # CLIENT REPLY SKIP: skip the next one
                        c.reply_mode = "skip"
                    self.argv = None
                    if c.tracking_state is not None:  # invalidations held for after the reply
                        srv.tracking.after_command(c)
                    if c.close_after_reply or c.killed:
                        break
                    if len(outq) & 63 == 0 and sum(map(len, outq)) > FLUSH_AT:  # every 64th: O(1) amortized
                        await self._flush()
                        pending = self.out_bytes
                qbuf.processed(*parser.held())
                tracking = srv.tracking
                if tracking is not None and tracking.broadcast_due:
                    tracking.broadcast()  # BCAST invalidations before this batch's replies
                if parser.error is not None and not c.close_after_reply:
                    outq.append(error_line(parser.error))
                    c.close_after_reply = True
                    self.log.verbose(f"Protocol error ({parser.error}) from client: id={c.id} addr={c.addr}")
                if outq:
                    # The common case without a coroutine: nothing to log first, no drain
                    # task running, and the socket takes it all.
                    if srv.before_flush is not None or self.draining or not self._send_queued():
                        await self._flush()
            finally:
                self.busy = False
            if c.close_after_reply or c.killed:
                return
            if self.outq:
                await self._flush()
            await checkpoint()

    def reply_room(self) -> int | float:
        """Reply bytes this client may still get before its hard limit closes it (inf when
        unlimited): a command making a huge reply (HRANDFIELD -count) stops there, as Redis's
        loops stop once the client is marked CLOSE_ASAP, and the client is closed."""
        hard = self._limits()[0]
        if not hard:
            return float("inf")
        return max(hard - sum(map(len, self.outq)), 0)

    def _replies_over_limit(self, pending: int) -> bool:
        """The replies of this batch pass the limit: checked as Redis does after each reply,
        before anything of them is sent."""
        self.out_bytes = pending
        return self._over_limit()

    def _send_queued(self) -> bool:
        """One non-blocking send of everything queued: True if all of it went (the rest stays
        queued). OSError other than a full socket propagates."""
        outq = self.outq
        data = b"".join(outq) if len(outq) > 1 else outq[0]
        self.rbuf.wrote(len(data))
        try:
            sent = self.sock.send(data)
        except BlockingIOError:
            sent = 0
        self.server.stat_net_output_bytes += sent
        outq.clear()
        self.out_bytes = 0
        if sent == len(data):
            self.soft_since = 0.0
            return True
        outq.append(data[sent:] if sent else data)
        self.out_bytes = len(data) - sent
        return False

    async def _flush(self) -> None:
        hook = self.server.before_flush
        if hook is not None:
            wait = hook()  # the AOF: replies go out only after what they acknowledge is logged
            if wait is not None:
                await wait
        if self.draining:
            await self.drained.wait()
            if not self.outq:
                return
        if not self._send_queued():
            await self._send_all()

    async def _wait_blocked(self, blk: Block, argv: list):
        """Wait until the keys serve this client, the timeout fires, or the client leaves."""
        srv = self.server
        c = self.client
        # Register before anything can yield: a write made while earlier replies are flushed
        # must find this client waiting.
        srv.register_block(blk, None, argv)
        event = trio.Event()
        blk.wakeup = event.set
        if self.outq:
            await self._flush()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._watch_disconnect, nursery.cancel_scope)
            if blk.timeout > 0:
                with trio.move_on_after(blk.timeout):
                    await event.wait()
            else:
                await event.wait()
            nursery.cancel_scope.cancel()
        if blk.done:
            return blk.reply
        srv.unblock(blk)
        if c.killed:
            return None
        reply = blk.timeout_reply
        return reply() if callable(reply) else reply  # WAIT counts replicas at the timeout

    async def _watch_disconnect(self, scope: trio.CancelScope) -> None:
        """While blocked, notice a client that hangs up (Redis frees it at once)."""
        await wait_readable(self.sock)
        try:
            peek = self.sock.recv(1, socket.MSG_PEEK)
        except BlockingIOError:
            peek = b"x"
        except OSError:
            peek = b""
        if not peek:
            self.client.killed = True
            scope.cancel()
            return
        await trio.sleep_forever()

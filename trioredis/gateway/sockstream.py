"""A trio Stream over a plain non-blocking socket: what trio-websocket reads and writes through.

Like the server's own connections (connection.py), it calls ``recv``/``send`` directly and
waits for readiness only when they would block. It also gives back the bytes the HTTP side
already read (the request head), lets a session write frames without a task switch when the
socket takes them (``write_nowait``), and keeps every writer behind one lock so frames never
interleave.
"""

from __future__ import annotations

import socket

import trio
from trio.lowlevel import (
    cancel_shielded_checkpoint,
    checkpoint,
    checkpoint_if_cancelled,
    notify_closing,
    wait_readable,
    wait_writable,
)

from . import protocol as P


class SockStream(trio.abc.Stream):
    """A trio Stream over a plain non-blocking socket, with bytes already read put back.

    All writers (trio-websocket's handshake, pongs and close frames, and the session's
    batched entry frames) take the same lock, so frames never interleave. A write cancelled
    half-way marks the stream broken: its framing is lost, only closing is left.
    """

    def __init__(self, sock: socket.socket, prefix: bytes = b""):
        self.sock = sock
        self.prefix = prefix
        self.closed = False
        self.broken = False
        self.busy = False
        self._idle: trio.Event | None = None
        self.progress = trio.current_time()  # when a byte was last written
        self.ws = None  # the WebSocketConnection on top, once accepted
        self.sent_close = False
        self.owed = b""  # the rest of a frame write_nowait started: written next, lock held

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        await checkpoint_if_cancelled()
        if self.prefix:
            data, self.prefix = self.prefix, b""
            await cancel_shielded_checkpoint()
            return data
        while True:
            if self.closed:
                raise trio.ClosedResourceError("stream closed")
            try:
                data = self.sock.recv(max_bytes or 65536)
            except BlockingIOError:
                await wait_readable(self.sock)
                continue
            except OSError as e:
                raise trio.BrokenResourceError(str(e)) from e
            await cancel_shielded_checkpoint()
            return data

    async def _acquire(self) -> None:
        while self.busy:
            if self._idle is None:
                self._idle = trio.Event()
            await self._idle.wait()
        self.busy = True

    def _release(self) -> None:
        self.busy = False
        if self._idle is not None:
            self._idle.set()
            self._idle = None

    async def send_all(self, data) -> None:
        await checkpoint_if_cancelled()
        await self._acquire()
        try:
            await self._write(data)
        finally:
            self._release()

    def write_nowait(self, data: bytes) -> int:
        """Write what the socket takes now, if nobody else is writing; returns how much was
        taken. A frame cut short keeps the lock: ``send_frames`` writes the rest first."""
        if self.busy or self.closed or self.broken:
            return 0
        try:
            n = self.sock.send(data)
        except BlockingIOError:
            return 0
        except OSError:
            self.broken = True
            return 0
        if n:
            self.progress = trio.current_time()
            if n < len(data):
                self.busy = True
                self.owed = data[n:]
        return n

    async def send_frames(self, data: bytes, ws) -> None:
        """Write what ``write_nowait`` owes, then entry frames unless the WebSocket is
        closing (no data after a close frame)."""
        if not self.owed:
            await self._acquire()
        try:
            if self.owed:
                owed = self.owed
                await self._write(owed)
                self.owed = b""
            if data and ws.closed is None:
                await self._write(data)
        finally:
            self._release()

    async def _write(self, data) -> None:
        if self.closed:
            raise trio.ClosedResourceError("stream closed")
        if self.broken:
            raise trio.BrokenResourceError("stream broken")
        sock = self.sock
        view = memoryview(data)
        total = len(view)
        if total and view[0] == 0x88:  # trio-websocket sends each frame on its own
            self.sent_close = True
        waited = False
        while view:
            try:
                n = sock.send(view)
            except BlockingIOError:
                try:
                    await wait_writable(sock)
                except BaseException:
                    if len(view) != total:
                        self.broken = True
                    raise
                waited = True
                continue
            except OSError as e:
                self.broken = True
                raise trio.BrokenResourceError(str(e)) from e
            view = view[n:]
            self.progress = trio.current_time()
        if not waited:
            await cancel_shielded_checkpoint()

    async def wait_send_all_might_not_block(self) -> None:
        await wait_writable(self.sock)

    def close_now(self) -> None:
        if self.closed:
            return
        ws = self.ws
        if ws is not None and not (self.sent_close or self.busy or self.broken):
            # wsproto reports a frame it cannot parse (unmasked, not UTF-8...) as a close from
            # the peer and trio-websocket then drops the connection: say why first.
            reason = ws.closed
            if reason is not None and reason.code in (P.PROTOCOL_ERROR, P.INVALID_PAYLOAD):
                try:
                    self.sock.send(P.close_frame(reason.code, reason.reason or ""))
                except OSError:
                    pass
        self.closed = True
        notify_closing(self.sock)
        self.sock.close()

    async def aclose(self) -> None:
        self.close_now()
        await checkpoint()

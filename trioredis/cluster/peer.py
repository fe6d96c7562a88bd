"""One RESP connection from this node to another member, for heartbeats and votes.

Requests on a link are serialised (one outstanding at a time, a lock), and every network wait
runs under a cancel scope with a deadline: a peer that does not answer in time costs one
timeout, its connection is dropped (its reply stream is in an unknown state) and the next call
reconnects. Replies are parsed with hiredis.
"""

from __future__ import annotations

import hiredis
import trio

from ..tls import close_now, open_stream


def encode_request(args) -> bytes:
    """A command as a RESP array of bulk strings (ints and str converted)."""
    parts = [b"*%d\r\n" % len(args)]
    for a in args:
        if a.__class__ is not bytes:
            a = (a if isinstance(a, str) else str(a)).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(parts)


class PeerError(Exception):
    """The peer could not be reached or answered with an error."""


class PeerLink:
    """Connection state for one peer address; ``call`` never raises on network trouble."""

    def __init__(self, server, host: str, port: int):
        self.server = server
        self.host = host
        self.port = port
        self.stream: trio.abc.Stream | None = None
        self.reader: hiredis.Reader | None = None
        self.lock = trio.Lock()
        self.scope = trio.CancelScope()  # the heartbeat task of this peer runs inside it
        self.connected = False
        self.last_error = ""

    def close(self) -> None:
        self.connected = False
        if self.stream is not None:
            stream, self.stream = self.stream, None
            close_now(stream)  # a SocketStream, or an SSLStream on one (tls-cluster)

    async def _connect(self) -> None:
        self.stream = await open_stream(self.server, self.host, self.port,
                                        self.server.config["tls-cluster"])
        self.reader = hiredis.Reader()
        cfg = self.server.config
        if cfg["masterauth"]:
            args = [b"AUTH"]
            if cfg["masteruser"]:
                args.append(cfg["masteruser"].encode())
            args.append(cfg["masterauth"].encode())
            await self.stream.send_all(encode_request(args))
            reply = await self._read()
            if isinstance(reply, hiredis.ReplyError):
                raise PeerError(f"AUTH failed: {reply}")
        self.connected = True

    async def _read(self):
        while True:
            reply = self.reader.gets()
            if reply is not False:
                return reply
            data = await self.stream.receive_some(65536)
            if not data:
                raise PeerError("connection closed")
            self.reader.feed(data)

    async def call(self, argv: list, timeout: float):
        """Send one command and return its reply, or None on timeout or a network error.

        An error reply comes back as a :class:`hiredis.ReplyError` instance.
        """
        async with self.lock:
            with trio.move_on_after(timeout) as scope:
                try:
                    if self.stream is None:
                        await self._connect()
                    await self.stream.send_all(encode_request(argv))
                    return await self._read()
                except (OSError, trio.BrokenResourceError, trio.ClosedResourceError,
                        PeerError, hiredis.ProtocolError) as e:
                    self.last_error = str(e) or type(e).__name__
                    self.close()
                    return None
            if scope.cancelled_caught:
                self.last_error = "timeout"
                self.close()
            return None


async def one_shot(server, host: str, port: int, argv: list, timeout: float):
    """A single request on a fresh connection (joining through a seed address)."""
    link = PeerLink(server, host, port)
    try:
        return await link.call(argv, timeout)
    finally:
        link.close()

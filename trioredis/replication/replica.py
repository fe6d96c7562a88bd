"""Replica side: the link to our master, as one task with its own cancel scope.

The link does Redis's handshake (PING, AUTH, REPLCONF listening-port / capa, PSYNC), loads the
snapshot of a full sync (any RDB version the loader reads) or continues partially, then
applies the command stream through the normal ``execute()`` path as the master client (no
replies, allowed to write on a read-only replica). It counts every byte of the stream it
processed, forwards the stream verbatim to its own replicas, answers ``REPLCONF GETACK`` and
sends ``REPLCONF ACK <offset>`` once a second. A lost link reconnects with
``PSYNC <replid> <offset+1>`` for a partial resync.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import trio

from ..protocol.encoder import encode2, encode_command
from ..protocol.parser import RequestParser
from ..protocol.replies import ErrorReply
from ..tls import close_now, open_stream

if TYPE_CHECKING:
    from .master import Replication


class LinkError(Exception):
    """The master refused or broke the handshake; retry after a pause."""


class LinkTimeout(LinkError):
    """Nothing came from the master for repl-timeout seconds (Redis's replicationCron
    checks); the message is Redis's log line."""


class _Reader:
    """Buffered reads of lines and exact byte counts from a Trio stream; each read waits at
    most ``timeout`` seconds (None: forever), then raises LinkTimeout(``timeout_msg``)."""

    def __init__(self, stream: trio.abc.Stream):
        self.stream = stream
        self.buf = bytearray()
        self.timeout: float | None = None
        self.timeout_msg = ""

    async def _fill(self) -> None:
        if self.timeout is None:
            data = await self.stream.receive_some(65536)
        else:
            data = None
            with trio.move_on_after(self.timeout):
                data = await self.stream.receive_some(65536)
            if data is None:
                raise LinkTimeout(self.timeout_msg)
        if not data:
            raise LinkError("connection closed by master")
        self.buf += data

    async def line(self) -> bytes:
        while True:
            i = self.buf.find(b"\n")
            if i >= 0:
                line = bytes(self.buf[:i]).rstrip(b"\r")
                del self.buf[: i + 1]
                return line
            await self._fill()

    async def exactly(self, n: int) -> bytes:
        while len(self.buf) < n:
            await self._fill()
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    async def until_mark(self, mark: bytes) -> bytes:
        """Diskless form ``$EOF:<mark>``: data runs until the 40-byte mark."""
        while True:
            i = self.buf.find(mark)
            if i >= 0:
                out = bytes(self.buf[:i])
                del self.buf[: i + len(mark)]
                return out
            await self._fill()

    def take(self) -> bytes:
        out = bytes(self.buf)
        self.buf.clear()
        return out


def _command(*args) -> bytes:
    return encode2([a if isinstance(a, bytes) else str(a).encode() for a in args])


class MasterLink:
    def __init__(self, repl: Replication, host: str, port: int):
        self.repl = repl
        self.server = repl.server
        self.host = host
        self.port = port
        self.state = "connect"  # connect, connecting, handshake, sync, connected
        self.offset = -1  # bytes of the stream processed (slave_repl_offset)
        self.read_offset = -1
        self.replid = ""  # cached master replid, for PSYNC
        self.db_index = 0  # db the master's stream had selected (kept across a partial resync)
        self.scope = trio.CancelScope()
        self.session_scope: trio.CancelScope | None = None  # the current connection's
        self.last_io = time.time()
        self.down_since = time.time()
        self.sync_started = 0.0
        self.stream: trio.abc.Stream | None = None
        self.send_lock = trio.Lock()
        self.client = None
        self.full_syncs = 0
        self.partial_syncs = 0

    # -- state shown in INFO / ROLE ------------------------------------------------------

    def is_up(self) -> bool:
        return self.state == "connected"

    def role_state(self) -> str:
        return {
            "connect": "connect",
            "connecting": "connecting",
            "handshake": "handshake",
            "sync": "sync",
            "connected": "connected",
        }[self.state]

    def info_lines(self) -> list[str]:
        srv = self.server
        up = self.is_up()
        lines = [
            f"master_host:{self.host}",
            f"master_port:{self.port}",
            f"master_link_status:{'up' if up else 'down'}",
            f"master_last_io_seconds_ago:{int(time.time() - self.last_io) if up else -1}",
            f"master_sync_in_progress:{1 if self.state == 'sync' else 0}",
            f"slave_read_repl_offset:{max(self.read_offset, self.offset)}",
            f"slave_repl_offset:{self.offset}",
        ]
        if not up:
            lines.append(f"master_link_down_since_seconds:{int(time.time() - self.down_since)}")
        lines += [
            f"slave_priority:{srv.config['replica-priority']}",
            f"slave_read_only:{1 if srv.config['replica-read-only'] else 0}",
            "replica_announced:1",
        ]
        return lines

    # -- the task ----------------------------------------------------------------------------

    def stream_db(self) -> int:
        """The db the master's stream has selected (the master client's, or the cached one)."""
        return self.client.db.id if self.client is not None else self.db_index

    def stop(self) -> None:
        self.scope.cancel()

    def drop(self) -> None:
        """Break the current session (CLIENT KILL of the master client); the link reconnects
        and tries a partial resync, as Redis does with its cached master."""
        if self.session_scope is not None:
            self.session_scope.cancel()

    async def run(self) -> None:
        log = self.server.log
        with self.scope:
            while True:
                try:
                    with trio.CancelScope() as session:
                        self.session_scope = session
                        await self._session()
                    if session.cancelled_caught:  # our master client was killed (drop())
                        log.notice("Connection with master lost.")
                        log.notice("Caching the disconnected master state.")
                except* Exception as e:  # link errors arrive wrapped in nursery groups; one
                    # that meets a cancellation (shutdown as the master goes away) must not
                    # escape: except* handles the errors and lets the Cancelled go on
                    reason = _reason(e)
                    if _single(e).__class__ is LinkTimeout:
                        log.warning(reason)
                    elif self.state == "connected":
                        log.notice(f"Connection with master lost: {reason}")
                    else:
                        log.warning(f"Error condition on socket for SYNC: {reason}")
                finally:
                    self._link_down()
                await trio.sleep(1)

    def _link_down(self) -> None:
        if self.state == "connected":
            self.down_since = time.time()
        self.state = "connect"
        if self.client is not None:
            self.db_index = self.client.db.id
            self.server.free_client(self.client)
            self.client = None
        if self.stream is not None:
            stream, self.stream = self.stream, None
            close_now(stream)  # a SocketStream or an SSLStream on one; no await

    async def _send(self, data: bytes) -> None:
        async with self.send_lock:
            await self.stream.send_all(data)

    async def _session(self) -> None:
        srv = self.server
        log = srv.log
        self.state = "connecting"
        log.notice(f"Connecting to MASTER {self.host}:{self.port}")
        with trio.fail_after(srv.config["repl-timeout"]):
            self.stream = await open_stream(srv, self.host, self.port,
                                            srv.config["tls-replication"])
        reader = _Reader(self.stream)
        self.state = "handshake"
        log.notice("MASTER <-> REPLICA sync started")
        # Each read may wait repl-timeout seconds; the master's newlines while it prepares
        # the snapshot count as I/O (Redis's repl_transfer_lastio).
        reader.timeout = srv.config["repl-timeout"]
        reader.timeout_msg = "Timeout connecting to the MASTER..."
        await self._send(_command("PING"))
        reply = await reader.line()
        if reply.startswith(b"-") and not reply.startswith(b"-NOAUTH"):
            raise LinkError(f"Error reply to PING from master: '{reply.decode(errors='replace')}'")
        if srv.config["masterauth"]:
            args = ["AUTH"]
            if srv.config["masteruser"]:
                args.append(srv.config["masteruser"])
            args.append(srv.config["masterauth"])
            await self._send(_command(*args))
            reply = await reader.line()
            if reply.startswith(b"-"):
                raise LinkError(f"Unable to AUTH to MASTER: {reply.decode(errors='replace')}")
        port = srv.config["replica-announce-port"] or srv.config["port"]
        await self._send(_command("REPLCONF", "listening-port", port))
        reply = await reader.line()
        if reply.startswith(b"-"):
            log.notice(f"(Non critical) Master does not understand REPLCONF listening-port: {reply.decode(errors='replace')}")
        if srv.config["replica-announce-ip"]:
            await self._send(_command("REPLCONF", "ip-address", srv.config["replica-announce-ip"]))
            await reader.line()
        await self._send(_command("REPLCONF", "capa", "eof", "capa", "psync2"))
        reply = await reader.line()
        if reply.startswith(b"-"):
            log.notice(f"(Non critical) Master does not understand REPLCONF capa: {reply.decode(errors='replace')}")
        if self.replid and self.offset >= 0:
            await self._send(_command("PSYNC", self.replid, self.offset + 1))
            log.notice(f"Trying a partial resynchronization (request {self.replid}:{self.offset + 1}).")
        else:
            await self._send(_command("PSYNC", "?", -1))
            log.notice("Partial resynchronization not possible (no cached master)")
        while True:
            reply = await reader.line()
            if reply:  # bare newlines are keepalives while the master prepares
                break
        if reply.startswith(b"+FULLRESYNC"):
            parts = reply.split()
            replid, offset = parts[1].decode(), int(parts[2])
            log.notice(f"Full resync from master: {replid}:{offset}")
            await self._full_sync(reader, replid, offset)
        elif reply.startswith(b"+CONTINUE"):
            parts = reply.split()
            newid = parts[1].decode() if len(parts) > 1 else self.replid
            if newid != self.replid:
                # The master changed history (it was promoted): keep ours as the second id.
                srv.replid2 = self.replid
                srv.second_repl_offset = self.offset + 1
                srv.replid = newid
                self.replid = newid
                self.repl.seldb = -1
                for r in list(self.repl.replicas):  # sub-replicas must learn the new id
                    if r.client.conn is not None:
                        r.client.conn.kill()
            self.partial_syncs += 1
            log.notice("Successful partial resynchronization with master.")
            log.notice("MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.")
        else:
            raise LinkError(f"Unexpected reply to PSYNC from master: {reply.decode(errors='replace')}")
        self._connected()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._ack_loop)
            await self._stream_loop(reader)
            nursery.cancel_scope.cancel()

    async def _full_sync(self, reader: _Reader, replid: str, offset: int) -> None:
        srv = self.server
        self.state = "sync"
        self.sync_started = time.time()
        reader.timeout_msg = (
            "Timeout receiving bulk data from MASTER... If the problem persists try to set "
            "the 'repl-timeout' parameter in redis.conf to a larger value.")
        while True:
            header = await reader.line()
            if header:
                break
        if not header.startswith(b"$"):
            raise LinkError(f"Bad protocol from MASTER, the first byte is not '$': {header[:40]!r}")
        if header.startswith(b"$EOF:"):
            data = await reader.until_mark(header[5:])
        else:
            data = await reader.exactly(int(header[1:]))
        log = srv.log
        log.notice(f"MASTER <-> REPLICA sync: receiving {len(data)} bytes from master to disk")
        log.notice("MASTER <-> REPLICA sync: Flushing old data")
        srv.flush_all()
        log.notice("MASTER <-> REPLICA sync: Loading DB in memory")
        load_snapshot(srv, data)
        srv.run_hooks("full_sync_done")  # the AOF starts a new log from the loaded dataset
        srv.replid = replid
        srv.replid2 = "0" * 40
        srv.second_repl_offset = -1
        srv.master_repl_offset = offset
        self.replid = replid
        self.offset = offset
        self.read_offset = offset
        self.db_index = 0  # a full sync's stream starts with a SELECT
        repl = self.repl
        repl.pending.clear()  # the old history's bytes are gone with its dataset
        repl.backlog = None
        repl.ensure_backlog()
        repl.seldb = -1
        for r in list(repl.replicas):  # our own replicas hold a dataset that no longer exists
            if r.client.conn is not None:
                r.client.conn.kill()
        self.full_syncs += 1
        log.notice("MASTER <-> REPLICA sync: Finished with success")

    def _connected(self) -> None:
        srv = self.server
        self.state = "connected"
        self.last_io = time.time()
        c = srv.new_client(f"{self.host}:{self.port}", "", -1)
        c.is_master = True
        c.flags = "M"
        c.authenticated = True
        c.update_guard()
        if 0 <= self.db_index < len(srv.dbs):
            c.select(self.db_index)  # a partial resync continues the stream in its db
        self.client = c

    async def _ack_loop(self) -> None:
        while True:
            await trio.sleep(1)
            await self._send(_command("REPLCONF", "ACK", self.offset))

    async def _stream_loop(self, reader: _Reader) -> None:
        srv = self.server
        repl = self.repl
        c = self.client
        parser = RequestParser(srv.config["proto-max-bulk-len"])
        pending = reader.take()
        while True:
            if pending:
                data, pending = pending, b""
            else:
                data = None
                with trio.move_on_after(srv.config["repl-timeout"]):
                    data = await self.stream.receive_some(65536)
                if data is None:
                    raise LinkTimeout("MASTER timeout: no data nor PING received...")
                if not data:
                    raise LinkError("connection closed by master")
            self.last_io = time.time()
            self.read_offset += len(data)
            acks = []
            for argv in parser.feed(data):
                raw = encode_command(argv)
                name = argv[0].lower()
                if name == b"replconf" and len(argv) > 1 and argv[1].lower() == b"getack":
                    acks.append(_command("REPLCONF", "ACK", self.offset))
                else:
                    if srv.client_pause is not None:
                        await _wait_client_pause(srv, c, argv)
                    srv.in_master_stream = True
                    try:
                        reply = srv.execute(c, argv)
                    finally:
                        srv.in_master_stream = False
                    if reply.__class__ is ErrorReply:
                        srv.log.warning(
                            f"== CRITICAL == This replica is sending an error to its master: "
                            f"'{reply.message}' after processing the command "
                            f"'{argv[0].decode(errors='replace')}'"
                        )
                self.offset += len(raw)
                repl.feed_raw(raw)  # verbatim to our replicas; keeps our offset = master's
            if parser.error:
                raise LinkError(f"protocol error in the master stream: {parser.error}")
            for ack in acks:
                await self._send(ack)
            await trio.lowlevel.checkpoint()


async def _wait_client_pause(srv, c, argv) -> None:
    """CLIENT PAUSE holds the master client as any other (the stream is still read, so
    slave_read_repl_offset grows while slave_repl_offset waits)."""
    from ..commands.connection import pause_state

    st = pause_state(srv)
    while st.holds(c, argv):
        unpaused = trio.Event()
        st.on_unpause(unpaused.set)
        await unpaused.wait()


def _single(e: BaseException) -> BaseException:
    while isinstance(e, BaseExceptionGroup) and len(e.exceptions) == 1:
        e = e.exceptions[0]
    return e


def _reason(e: BaseException) -> str:
    """The message of the one error inside (possibly nested) exception groups."""
    while isinstance(e, BaseExceptionGroup) and len(e.exceptions) == 1:
        e = e.exceptions[0]
    if isinstance(e, (OSError, LinkError, trio.BrokenResourceError, trio.ClosedResourceError,
                      trio.TooSlowError)):
        return str(e) or type(e).__name__
    return f"{type(e).__name__}: {e}"


def load_snapshot(server, data: bytes) -> None:
    """Load a full-sync RDB payload into the (already flushed) keyspace."""
    from ..persistence import rdb

    try:
        rdb.load_bytes(server, data)
    except rdb.RDBError as e:
        raise LinkError(f"Failed trying to load the MASTER synchronization DB from socket: {e}")

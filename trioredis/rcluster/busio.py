"""The cluster bus over Trio: the listener on the cluster port, one task per link, the cron.

Everything the bus decides happens in :class:`~.state.ClusterState` (sans-I/O); this module
moves bytes. A :class:`Link` queues frames; its writer task sends them; its reader feeds a
:class:`~.bus.BusReader` and hands whole messages to the state. Started by the server's
``tasks`` hook, so it lives and dies with the server's nursery.
"""

from __future__ import annotations

import math
import socket
import time

import trio

from . import bus
from .routing import redirect_blocked


def now_ms() -> int:
    return int(time.time() * 1000)


class Link:
    """One TCP connection of the bus (outbound to ``node``, or inbound from whoever)."""

    def __init__(self, stream: trio.SocketStream, node=None, inbound: bool = False):
        self.stream = stream
        self.node = node  # outbound links: the node we connected to
        self.node_inbound = None  # inbound links: the sender, once known
        self.inbound = inbound
        self.ctime = now_ms()
        self.peer_ip = ""
        self.local_ip = ""
        try:
            self.peer_ip = stream.socket.getpeername()[0]
            self.local_ip = stream.socket.getsockname()[0]
        except OSError:
            pass
        self.send_q, self.recv_q = trio.open_memory_channel(math.inf)
        self.cancel = trio.CancelScope()
        self.closed = False

    def send(self, frame: bytes) -> None:
        if not self.closed:
            self.send_q.send_nowait(frame)

    def close(self) -> None:
        self.closed = True
        self.cancel.cancel()


class BusRunner:
    """Owns the listening sockets and the links of one node's cluster bus."""

    def __init__(self, rc):
        self.rc = rc
        self.connecting: set[str] = set()
        self.links: set[Link] = set()

    async def run(self) -> None:
        rc = self.rc
        runner = rc.server.runner
        cport = rc.settings.listen_cport
        try:
            socks, _ = runner.open_listeners(rc.server.config["bind"], cport)
        except OSError as e:
            rc.server.log.warning(f"Could not open the cluster bus port {cport}: {e}")
            runner.request_shutdown(1)
            return
        listeners = [trio.socket.from_stdlib_socket(s) for s in socks]
        me = rc.state.myself
        if me.is_replica and me.master is not None and rc.server.role != "slave":
            rc.follow(me.master)  # restarted as a replica (nodes.conf): replicate again
        async with trio.open_nursery() as nursery:
            self.nursery = nursery
            for sock in listeners:
                nursery.start_soon(self._accept, sock)
            try:
                while True:
                    try:
                        self._tick()
                    except Exception as e:  # a bug in the cron must not take the node down
                        rc.server.log.warning(f"cluster cron failed: {e!r}")
                    await trio.sleep(0.1)
            finally:
                for sock in listeners:
                    sock.close()

    def _tick(self) -> None:
        rc = self.rc
        now = now_ms()
        rc.refresh_myself()
        for node in rc.state.cron(now):
            if node.name not in self.connecting:
                self.connecting.add(node.name)
                self.nursery.start_soon(self._connect, node)
        rc.flush_config()
        redirect_blocked(rc)

    async def _accept(self, sock) -> None:
        while True:
            try:
                conn, _ = await sock.accept()
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError as e:  # out of descriptors, a connection reset before accept...
                self.rc.server.log.warning(f"cluster bus: accept failed: {e}")
                await trio.sleep(0.1)
                continue
            link = Link(trio.SocketStream(conn), inbound=True)
            self.nursery.start_soon(self._serve, link)

    async def _connect(self, node) -> None:
        rc = self.rc
        stream = None
        try:
            with trio.move_on_after(max(rc.settings.node_timeout, 1000) / 1000):
                stream = await trio.open_tcp_stream(node.ip, node.cport)
        except (OSError, ValueError):  # refused, unreachable, no address
            stream = None
        if stream is None:
            if node.ping_sent == 0:
                node.ping_sent = now_ms()  # so that failure detection counts from now
            self.connecting.discard(node.name)
            return
        self.connecting.discard(node.name)
        if rc.state.nodes.get(node.name) is not node or node.link is not None:
            await stream.aclose()
            return
        try:
            stream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        link = Link(stream, node=node)
        node.link = link
        rc.state.link_established(link, now_ms())
        rc.flush_config()
        await self._serve(link)

    async def _serve(self, link: Link) -> None:
        """Run one link until it closes. Whatever goes wrong with it (the peer resets it, a
        bad frame, a bug in processing a message) ends this link only, never the server."""
        self.links.add(link)
        try:
            with link.cancel:
                async with trio.open_nursery() as n:
                    n.start_soon(self._write, link)
                    await self._read(link)
                    n.cancel_scope.cancel()
        finally:
            link.closed = True
            self.links.discard(link)
            node = link.node
            if node is not None and node.link is link:
                node.link = None
            other = link.node_inbound
            if other is not None and other.inbound_link is link:
                other.inbound_link = None
            with trio.CancelScope(shield=True):
                try:
                    await link.stream.aclose()
                except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                    pass

    async def _read(self, link: Link) -> None:
        rc = self.rc
        log = rc.server.log
        reader = bus.BusReader()
        while True:
            try:
                data = await link.stream.receive_some(65536)
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                return
            if not data:
                return
            try:
                msgs = reader.feed(data)
            except bus.BusError as e:
                log.verbose(f"cluster bus: dropping a link: {e}")
                return
            now = now_ms()
            for m in msgs:
                try:
                    rc.state.process(link, m, now)
                except Exception as e:  # a bug here must not take the node down
                    log.warning(f"cluster bus: error processing a {m.type} message: {e!r}")
                    return
                if link.closed:
                    break
            rc.flush_config()
            if link.closed:
                return

    async def _write(self, link: Link) -> None:
        try:
            async for frame in link.recv_q:
                batch = [frame]
                while True:
                    try:
                        batch.append(link.recv_q.receive_nowait())
                    except trio.WouldBlock:
                        break
                await link.stream.send_all(b"".join(batch))
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
            link.close()

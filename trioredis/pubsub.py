"""The per-server pub/sub hub: who listens to which channel, pattern and shard channel.

One :class:`PubSubHub` per :class:`~trioredis.core.Server` (``server.pubsub_hub``, attached
through ``core.SERVER_INIT``). ``Server.publish`` (PUBLISH, keyspace notifications) lands in
:meth:`PubSubHub.publish`. Subscribers of a channel are kept in subscription order (Redis 7.0
keeps a list), and every message is encoded once per RESP version, then handed to each
subscriber's connection, which queues it without waiting: a slow subscriber costs memory up
to its ``client-output-buffer-limit``, never the publisher's time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .glob import compile_glob
from .protocol.encoder import encode2, encode3
from .protocol.replies import Push

if TYPE_CHECKING:
    from .client import Client
    from .core import Server

_MESSAGE = b"message"
_PMESSAGE = b"pmessage"
_SMESSAGE = b"smessage"


class PubSubHub:
    """Channel, pattern and shard-channel registries of one server."""

    __slots__ = ("server", "channels", "patterns", "shard_channels")

    def __init__(self, server: Server):
        self.server = server
        # channel -> {client: None}: an ordered set, subscription order, O(1) removal.
        self.channels: dict[bytes, dict] = {}
        # pattern -> (matcher, {client: None})
        self.patterns: dict[bytes, tuple] = {}
        self.shard_channels: dict[bytes, dict] = {}

    # -- subscribing (each returns True if it was a new subscription) ------------------------

    def subscribe(self, c: Client, channel: bytes) -> bool:
        if channel in c.channels:
            return False
        c.channels.add(channel)
        subs = self.channels.get(channel)
        if subs is None:
            subs = self.channels[channel] = {}
        subs[c] = None
        return True

    def unsubscribe(self, c: Client, channel: bytes) -> bool:
        if channel not in c.channels:
            return False
        c.channels.discard(channel)
        subs = self.channels[channel]
        del subs[c]
        if not subs:
            del self.channels[channel]
        return True

    def psubscribe(self, c: Client, pattern: bytes) -> bool:
        if pattern in c.patterns:
            return False
        c.patterns.add(pattern)
        entry = self.patterns.get(pattern)
        if entry is None:
            entry = self.patterns[pattern] = (compile_glob(pattern), {})
        entry[1][c] = None
        return True

    def punsubscribe(self, c: Client, pattern: bytes) -> bool:
        if pattern not in c.patterns:
            return False
        c.patterns.discard(pattern)
        subs = self.patterns[pattern][1]
        del subs[c]
        if not subs:
            del self.patterns[pattern]
        return True

    def ssubscribe(self, c: Client, channel: bytes) -> bool:
        if channel in c.shard_channels:
            return False
        c.shard_channels.add(channel)
        subs = self.shard_channels.get(channel)
        if subs is None:
            subs = self.shard_channels[channel] = {}
        subs[c] = None
        return True

    def sunsubscribe(self, c: Client, channel: bytes) -> bool:
        if channel not in c.shard_channels:
            return False
        c.shard_channels.discard(channel)
        subs = self.shard_channels[channel]
        del subs[c]
        if not subs:
            del self.shard_channels[channel]
        return True

    def drop_client(self, c: Client) -> None:
        """Silently forget every subscription of ``c`` (client freed, RESET)."""
        if not (c.channels or c.patterns or c.shard_channels):
            return
        for ch in list(c.channels):
            self.unsubscribe(c, ch)
        for pat in list(c.patterns):
            self.punsubscribe(c, pat)
        for ch in list(c.shard_channels):
            self.sunsubscribe(c, ch)
        c.update_guard()

    # -- publishing --------------------------------------------------------------------------

    def publish(self, channel: bytes, message: bytes) -> int:
        """Deliver to channel subscribers, then to matching patterns. Returns receivers."""
        n = 0
        subs = self.channels.get(channel)
        if subs:
            n = _deliver(subs, Push([_MESSAGE, channel, message]))
        if self.patterns:
            for pattern, (match, psubs) in tuple(self.patterns.items()):
                if match(channel):
                    n += _deliver(psubs, Push([_PMESSAGE, pattern, channel, message]))
        return n

    def spublish(self, channel: bytes, message: bytes) -> int:
        subs = self.shard_channels.get(channel)
        if not subs:
            return 0
        return _deliver(subs, Push([_SMESSAGE, channel, message]))

    # -- introspection (PUBSUB) --------------------------------------------------------------

    def numpat(self) -> int:
        return len(self.patterns)


def _deliver(subs: dict, msg: Push) -> int:
    """Queue ``msg`` on every subscriber, encoded once per protocol version."""
    data2 = data3 = None
    n = len(subs)
    for c in tuple(subs):  # a copy: a transport may drop a client while we push
        if c.resp == 3:
            if data3 is None:
                data3 = encode3(msg)
            c.push_raw(data3)
        else:
            if data2 is None:
                data2 = encode2(msg)
            c.push_raw(data2)
    return n


def install(server: Server) -> None:
    """Give ``server`` its hub and wire publish and client clean-up to it."""
    hub = PubSubHub(server)
    server.pubsub_hub = hub
    server.add_hook("publish", hub.publish)
    server.add_hook("client_freed", hub.drop_client)
    server.add_hook("client_reset", hub.drop_client)


def hub_of(server: Server) -> PubSubHub:
    """The server's hub (made here for a Server built without SERVER_INIT having run)."""
    hub = getattr(server, "pubsub_hub", None)
    if hub is None:
        install(server)
        hub = server.pubsub_hub
    return hub


from .extensions import SERVER_INIT  # noqa: E402

SERVER_INIT.append(install)

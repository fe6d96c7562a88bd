"""Per-connection state, independent of sockets: db, protocol version, auth, MULTI, pub/sub.

The Trio connection owns one :class:`Client`; commands see it as their first argument.
Output produced for a client outside its own request loop (pub/sub messages, the reply of a
served blocking command) goes through :meth:`Client.push`, which the connection drains.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .protocol.encoder import encode2, encode3

if TYPE_CHECKING:
    from .core import Server
    from .keyspace import Database

CLIENT_NORMAL = "normal"
CLIENT_REPLICA = "replica"
CLIENT_PUBSUB = "pubsub"
CLIENT_MASTER = "master"


class Client:
    __slots__ = (
        "id",
        "server",
        "db",
        "resp",
        "encode",
        "name",
        "lib_name",
        "lib_ver",
        "addr",
        "laddr",
        "fd",
        "authenticated",
        "user",
        "acl_user",
        "created_ms",
        "last_ms",
        "in_multi",
        "multi_queue",
        "multi_error",
        "in_exec",
        "watched",
        "watched_expired",
        "dirty_cas",
        "channels",
        "patterns",
        "shard_channels",
        "reply_mode",
        "guard",
        "propagate_as",
        "deny_blocking",
        "blocked",
        "retrying",
        "last_cmd",
        "flags",
        "is_master",
        "is_replica",
        "close_after_reply",
        "killed",
        "conn",
        "woff",
        "no_evict",
        "no_touch",
        "tracking",
        "tracking_state",
    )

    def __init__(self, server: Server, addr: str = "", laddr: str = "", fd: int = -1):
        self.id = server.next_client_id()
        self.server = server
        self.db: Database = server.dbs[0]
        self.resp = 2
        self.encode = encode2
        self.name = b""
        self.lib_name = b""
        self.lib_ver = b""
        self.addr = addr
        self.laddr = laddr
        self.fd = fd
        self.authenticated = not server.config["requirepass"]
        self.user = b"default"
        # The ACL user when its permissions need checking; None when it may run anything.
        self.acl_user = None
        self.created_ms = server.now_ms()
        self.last_ms = self.created_ms
        self.in_multi = False
        self.multi_queue: list = []
        self.multi_error = False
        self.in_exec = False
        self.watched: list = []  # (db, key) pairs
        self.watched_expired: set | None = None  # (db, key) already expired when watched
        self.dirty_cas = False
        self.channels: set = set()
        self.patterns: set = set()
        self.shard_channels: set = set()
        self.reply_mode = "on"  # CLIENT REPLY on|off|skip
        self.propagate_as = None  # a handler's deterministic rewrite: list of argv lists
        self.deny_blocking = False
        self.blocked = None  # the Block this client waits on
        self.retrying = False
        self.last_cmd = b"NULL"
        self.flags = ""
        self.is_master = False  # the link to our master: commands arrive without replies
        self.is_replica = False
        self.close_after_reply = False
        self.killed = False
        # The transport: .push(data), .kill(), and .buffer_stats(now_ms) for CLIENT LIST.
        self.conn = None
        self.woff = 0  # replication offset of this client's last write (for WAIT)
        self.no_evict = False
        self.no_touch = False  # CLIENT NO-TOUCH: reads do not update LRU/LFU
        self.tracking = False  # CLIENT TRACKING on (the options: tracking_state)
        self.tracking_state = None  # tracking.TrackingState, from the first CLIENT TRACKING ON
        self.guard = False
        self.update_guard()

    def set_resp(self, version: int) -> None:
        self.resp = version
        self.encode = encode3 if version == 3 else encode2

    def select(self, index: int) -> None:
        self.db = self.server.dbs[index]

    @property
    def subscriptions(self) -> int:
        return len(self.channels) + len(self.patterns) + len(self.shard_channels)

    def update_guard(self) -> None:
        """Recompute whether this client needs the slow checks of the call path."""
        self.guard = (
            not self.authenticated
            or self.in_multi
            or (self.resp == 2 and bool(self.channels or self.patterns or self.shard_channels))
            or self.is_master
            or self.acl_user is not None
        )

    def push(self, reply) -> None:
        """Send a reply outside the request loop (pub/sub message, served blocking pop)."""
        if self.conn is not None:
            self.conn.push(self.encode(reply))

    def push_raw(self, data: bytes) -> None:
        if self.conn is not None:
            self.conn.push(data)

    def kind(self) -> str:
        if self.is_replica:
            return CLIENT_REPLICA
        if self.is_master:
            return CLIENT_MASTER
        if self.channels or self.patterns or self.shard_channels:
            return CLIENT_PUBSUB
        return CLIENT_NORMAL

    def unwatch_all(self) -> None:
        for db, key in self.watched:
            clients = db.watched.get(key)
            if clients is not None:
                try:
                    clients.remove(self)
                except ValueError:
                    pass
                if not clients:
                    del db.watched[key]
        self.watched = []
        self.watched_expired = None
        self.dirty_cas = False

    def discard_multi(self) -> None:
        self.in_multi = False
        self.multi_queue = []
        self.multi_error = False
        self.unwatch_all()
        self.update_guard()


def malloc_size(n: int) -> int:
    """jemalloc's size class for an allocation of ``n`` bytes (four classes per doubling)."""
    if n <= 16:
        return 16
    if n <= 128:
        return (n + 15) // 16 * 16
    step = 1 << ((n - 1).bit_length() - 3)
    return (n + step - 1) // step * step


class QueryBuffer:
    """Redis 7.0's accounting of a client's query buffer, for CLIENT LIST ``qbuf``/``qbuf-free``.

    The connection reports each read and what the parser keeps afterwards; this keeps the size
    Redis's buffer would have (room for a 16 KB read, or for the whole of a big argument), its
    peak, and applies clientsCronResizeQueryBuffer about once a second when looked at: an idle
    client (over 2 s) gives all free space back, a buffer over 32 KB shrinks to its recent peak.
    """

    IOBUF = 16 * 1024  # PROTO_IOBUF_LEN: room made for each read
    BIG_ARG = 32 * 1024  # PROTO_MBULK_BIG_ARG: arguments this long get a buffer of their own
    RESIZE_THRESHOLD = 32 * 1024
    SDS_OVERHEAD = 6  # an sds header and its terminator

    __slots__ = ("alloc", "used", "peak", "bulk", "checked_ms")

    def __init__(self):
        self.alloc = 0
        self.used = 0  # bytes in the buffer (during a batch, the whole read)
        self.peak = 0
        self.bulk = -1  # the length of a bulk being read, -1 if none
        self.checked_ms = 0

    def _grow(self, need: int) -> None:
        if self.alloc < need:
            self.alloc = malloc_size(need + self.SDS_OVERHEAD) - self.SDS_OVERHEAD

    def read(self, held: int, n: int) -> None:
        """``n`` bytes were read while the parser held ``held`` of an incomplete request."""
        readlen = self.IOBUF
        if self.bulk >= self.BIG_ARG and self.bulk + 2 - held > 0:
            readlen = self.bulk + 2 - held
        self._grow(held + max(readlen, n))
        self.peak = max(self.peak, held + readlen)
        self.used = held + n

    def processed(self, held: int, bulk: int) -> None:
        """The batch is done; the parser keeps ``held`` bytes, inside a bulk of ``bulk``."""
        self.used = held
        self.bulk = bulk
        if bulk >= self.BIG_ARG:
            self._grow(bulk + 2)

    def stats(self, now_ms: int, idle_s: int) -> tuple[int, int]:
        """(qbuf, qbuf-free), after the once-a-second resize if it is due."""
        if now_ms - self.checked_ms >= 1000:
            self.checked_ms = now_ms
            self.resize(idle_s)
        return self.used, self.alloc - self.used

    def resize(self, idle_s: int) -> None:
        """clientsCronResizeQueryBuffer."""
        if self.alloc - self.used > 4096:
            if idle_s > 2:
                self.alloc = self.used
            elif self.alloc > self.RESIZE_THRESHOLD and self.alloc // 2 > self.peak:
                self.alloc = max(self.used, self.peak, self.bulk)
        self.peak = max(self.used, self.bulk)


class ReplyBuffer:
    """Redis 7.0's reply buffer of a client, for CLIENT LIST ``rbs``/``rbp``.

    trioredis queues replies as bytes, so this only keeps the size Redis's buffer would have:
    its peak use (the replies of one write, up to the size) and clientsCronResizeOutputBuffer
    applied for each 100 ms cron tick when looked at: shrink to the peak (at least 1 KB) when
    the peak is under half the size, double (up to 16 KB) when the peak filled it, and reset
    the peak every ``reply_buffer_peak_reset_time`` ms (DEBUG REPLYBUFFER changes it).
    """

    MIN = 1024  # PROTO_REPLY_MIN_BYTES
    CHUNK = 16 * 1024  # PROTO_REPLY_CHUNK_BYTES
    TICK_MS = 100
    PEAK_RESET_MS = 5000

    __slots__ = ("size", "peak", "peak_reset_ms", "tick_ms")

    def __init__(self, now_ms: int):
        self.size = self.peak = self.CHUNK
        self.peak_reset_ms = 0  # as Redis: the first cron pass resets the peak
        self.tick_ms = now_ms

    def wrote(self, n: int) -> None:
        """One write of ``n`` bytes of replies went through the buffer."""
        if n > self.peak:
            self.peak = min(n, self.size)

    def stats(self, server, now_ms: int) -> tuple[int, int]:
        """(rbs, rbp) after the cron ticks due since the last look (at most a minute's)."""
        ticks = (now_ms - self.tick_ms) // self.TICK_MS
        if ticks > 0:
            self.tick_ms += ticks * self.TICK_MS
            resizing = getattr(server, "reply_buffer_resizing_enabled", True)
            reset = getattr(server, "reply_buffer_peak_reset_time", self.PEAK_RESET_MS)
            t = self.tick_ms - min(ticks, 600) * self.TICK_MS
            for _ in range(min(ticks, 600)):
                t += self.TICK_MS
                if resizing:
                    self._resize()
                if reset >= 0 and t - self.peak_reset_ms >= reset:
                    self.peak = 0
                    self.peak_reset_ms = t
        return self.size, self.peak

    def _resize(self) -> None:
        shrink, expand = self.size // 2, self.size * 2
        if shrink >= self.MIN and self.peak < shrink:
            self.size = max(self.MIN, self.peak + 1)
        elif expand < self.CHUNK * 2 and self.peak == self.size:
            self.size = min(self.CHUNK, expand)

"""Master side of replication: the stream, the backlog, attached replicas, WAIT.

Every write leaves ``call()`` through :meth:`Replication.feed`, which encodes it once (with a
SELECT when the db changes), appends it to the backlog and hands the bytes to every online
replica's connection. Those connections are ordinary client connections that sent PSYNC: each
has its own task and bounded output buffer (``client-output-buffer-limit replica``), so a slow
replica is dropped by its own connection and never slows the master or the other replicas.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

from ..protocol.encoder import encode_command
from .backlog import ReplicationBacklog

if TYPE_CHECKING:
    from ..client import Client
    from ..core import Server

REPLICA_WAIT_BGSAVE = "wait_bgsave"
REPLICA_ONLINE = "online"


class ReplicaInfo:
    """What the master knows about one attached replica."""

    __slots__ = ("client", "ip", "port", "state", "ack_offset", "ack_time", "capa", "buffer",
                 "with_header", "wait_since")

    def __init__(self, client: Client):
        self.client = client
        self.ip = client.addr.rsplit(":", 1)[0].strip("[]")
        self.port = 0
        self.state = REPLICA_WAIT_BGSAVE
        self.ack_offset = 0
        self.ack_time = time.time()
        self.capa: set[str] = set()
        self.buffer: list[bytes] | None = None  # stream bytes held back during a full sync
        self.with_header = True  # PSYNC (+FULLRESYNC first) rather than the old SYNC
        self.wait_since = 0.0  # when it started waiting for a delayed diskless sync


def new_replid() -> str:
    return os.urandom(20).hex()


class Replication:
    """Per-server replication state (attached through core.SERVER_INIT)."""

    def __init__(self, server: Server):
        self.server = server
        self.backlog: ReplicationBacklog | None = None
        self.replicas: list[ReplicaInfo] = []
        self.by_client: dict[int, ReplicaInfo] = {}
        self.seldb = -1  # db of the last SELECT in the stream
        self.waiting: list = []  # Blocks of clients in WAIT
        self.waiting_sync: list[ReplicaInfo] = []  # replicas waiting for a delayed full sync
        self.snapshot_pids: set[int] = set()  # children writing a full-sync snapshot
        self.last_keepalive = time.monotonic()
        self.pending: list[bytes] = []  # stream bytes of this turn, not yet sent (feed_raw)
        self.getack_pending = False
        self.last_ping = time.monotonic()
        self.no_replicas_since = time.monotonic()
        self.link = None  # replica side: the MasterLink when we follow a master
        self.master_host: str | None = None
        self.master_port = 0
        self.sync_full = 0
        self.sync_partial_ok = 0
        self.sync_partial_err = 0
        # (replid, offset, db) read from the RDB at startup on a replica: its cached master
        self.restored_master: tuple[str, int, int] | None = None

    def start_pending_sync(self) -> None:  # the server side (fork, snapshot) overrides it
        pass

    def reset_stats(self) -> None:
        """CONFIG RESETSTAT clears the sync counters too."""
        self.sync_full = self.sync_partial_ok = self.sync_partial_err = 0

    # -- the stream ----------------------------------------------------------------------------

    def ensure_backlog(self) -> ReplicationBacklog:
        srv = self.server
        if self.backlog is None:
            self.backlog = ReplicationBacklog(
                srv.config["repl-backlog-size"], srv.master_repl_offset + 1
            )
        self.update_target()
        return self.backlog

    def update_target(self) -> None:
        """Take writes from call() only while a master keeps a backlog: no cost otherwise."""
        srv = self.server
        active = self.backlog is not None and srv.role == "master"
        targets = srv.propagate_targets
        if active and self.feed not in targets:
            targets.append(self.feed)
        elif not active and self.feed in targets:
            targets.remove(self.feed)

    def feed(self, dbid: int, argv: list) -> None:
        """Propagation target: a write executed here goes to the backlog and replicas."""
        srv = self.server
        if srv.role == "slave" or self.backlog is None:
            # A replica forwards its master's stream verbatim (feed_raw); with no backlog yet
            # (no replica ever attached) there is nothing to keep, as in Redis.
            return
        if dbid != self.seldb:
            self.seldb = dbid
            self.feed_raw(b"*2\r\n$6\r\nSELECT\r\n$%d\r\n%d\r\n" % (len(str(dbid)), dbid))
        self.feed_raw(encode_command(argv))

    def feed_raw(self, data: bytes) -> None:
        """Append stream bytes. The offset moves at once (WAIT needs it); the bytes are
        gathered and go to the backlog and every replica once per turn of the event loop
        (:meth:`send_now`, run by the server's flusher), or earlier when something needs the
        backlog exact (PSYNC, INFO)."""
        if self.backlog is None:
            self.ensure_backlog()
        self.server.master_repl_offset += len(data)
        pending = self.pending
        pending.append(data)
        if len(pending) == 1:
            flusher = self.server.flusher
            if flusher is not None:
                flusher.add(self)
            else:
                self.send_now()

    def send_now(self) -> None:
        """Hand the gathered stream to the backlog and the replicas (held back while a
        replica's snapshot is being made)."""
        pending = self.pending
        if not pending:
            return
        data = b"".join(pending) if len(pending) > 1 else pending[0]
        pending.clear()
        if self.backlog is None:
            self.ensure_backlog()
        self.backlog.append(data)
        for r in self.replicas:
            if r.buffer is not None:
                r.buffer.append(data)
            else:
                c = r.client
                c.push_raw(data)
                conn = c.conn
                if conn is not None:
                    conn.send_now()

    # -- replicas ------------------------------------------------------------------------------

    def attach(self, c: Client) -> ReplicaInfo:
        info = self.by_client.get(c.id)
        if info is None:
            info = ReplicaInfo(c)
            self.by_client[c.id] = info
        return info

    def make_online(self, info: ReplicaInfo) -> None:
        if info not in self.replicas:
            self.replicas.append(info)
        info.state = REPLICA_ONLINE
        info.ack_time = time.time()
        c = info.client
        c.is_replica = True
        c.update_guard()
        srv = self.server
        srv.log.notice(f"Synchronization with replica {info.ip}:{info.port} succeeded")

    def detach(self, c: Client) -> None:
        info = self.by_client.pop(c.id, None)
        if info is None:
            return
        if info in self.waiting_sync:
            self.waiting_sync.remove(info)
        if info in self.replicas:
            self.replicas.remove(info)
            self.server.log.notice(f"Connection with replica {info.ip}:{info.port} lost.")
        if not self.replicas:
            self.no_replicas_since = time.monotonic()
        self.check_waiters()

    def good_replicas(self) -> int:
        """Online replicas whose last ACK is within min-replicas-max-lag seconds."""
        lag = self.server.config["min-replicas-max-lag"]
        now = time.time()
        return sum(
            1 for r in self.replicas if r.state == REPLICA_ONLINE and now - r.ack_time <= lag
        )

    def record_ack(self, c: Client, offset: int) -> None:
        info = self.by_client.get(c.id)
        if info is None:
            return
        if offset > info.ack_offset:
            info.ack_offset = offset
        info.ack_time = time.time()
        if self.waiting:
            self.check_waiters()

    def acked(self, offset: int) -> int:
        return sum(
            1 for r in self.replicas if r.state == REPLICA_ONLINE and r.ack_offset >= offset
        )

    # -- WAIT ------------------------------------------------------------------------------

    def check_waiters(self) -> None:
        srv = self.server
        for blk in list(self.waiting):
            if blk.done or blk.client.blocked is not blk:
                self.waiting.remove(blk)  # served, timed out, or its client left
                continue
            numreplicas, offset = blk.argv
            n = self.acked(offset)
            if n >= numreplicas:
                self.waiting.remove(blk)
                srv.finish_block(blk, n)

    def request_acks(self) -> None:
        """Ask every replica for its offset (REPLCONF GETACK *), once per loop at most."""
        if self.replicas:
            self.feed_raw(b"*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n$1\r\n*\r\n")

    # -- periodic --------------------------------------------------------------------------

    def cron(self) -> None:
        srv = self.server
        now = time.monotonic()
        if srv.role == "master" and self.replicas:
            if now - self.last_ping >= srv.config["repl-ping-replica-period"]:
                self.last_ping = now
                self.feed_raw(b"*1\r\n$4\r\nPING\r\n")
            timeout = srv.config["repl-timeout"]
            wall = time.time()
            for r in list(self.replicas):
                if r.state == REPLICA_ONLINE and wall - r.ack_time > timeout:
                    srv.log.warning(f"Disconnecting timedout replica: {r.ip}:{r.port}")
                    if r.client.conn is not None:
                        r.client.conn.kill()
        if (
            self.backlog is not None
            and not self.replicas
            and srv.role == "master"
            and srv.config["repl-backlog-ttl"]
            and now - self.no_replicas_since > srv.config["repl-backlog-ttl"]
        ):
            # Redis frees the backlog of a master without replicas after the TTL, and changes
            # replid so stale replicas cannot continue from a history it forgot.
            self.backlog = None
            self.update_target()
            srv.replid2 = "0" * 40
            srv.second_repl_offset = -1
            srv.replid = new_replid()
        if self.waiting_sync or any(r.state != REPLICA_ONLINE for r in self.replicas):
            self.start_pending_sync()
            if now - self.last_keepalive >= 1:
                # Replicas waiting for their snapshot get a newline a second (Redis's
                # replicationCron), which keeps their handshake / transfer timeout at bay.
                self.last_keepalive = now
                for r in [*self.waiting_sync, *self.replicas]:
                    if r.state != REPLICA_ONLINE:
                        r.client.push_raw(b"\n")
        if self.getack_pending:
            self.getack_pending = False
            self.request_acks()

    # -- INFO / ROLE -------------------------------------------------------------------------

    def info_lines(self) -> list[str]:
        srv = self.server
        self.send_now()
        lines = [f"role:{srv.role}"]
        if srv.role == "slave":
            lines += self.link.info_lines() if self.link is not None else [
                f"master_host:{self.master_host}",
                f"master_port:{self.master_port}",
                "master_link_status:down",
            ]
        listed = [*self.replicas, *self.waiting_sync]  # waiting ones show wait_bgsave
        lines.append(f"connected_slaves:{len(listed)}")
        wall = time.time()
        for i, r in enumerate(listed):
            lines.append(
                f"slave{i}:ip={r.ip},port={r.port},state={r.state},offset={r.ack_offset},"
                f"lag={int(wall - r.ack_time)}"
            )
        if srv.config["min-replicas-to-write"]:
            lines.append(f"min_slaves_good_slaves:{self.good_replicas()}")
        b = self.backlog
        lines += [
            "master_failover_state:no-failover",
            f"master_replid:{srv.replid}",
            f"master_replid2:{srv.replid2}",
            f"master_repl_offset:{srv.master_repl_offset}",
            f"second_repl_offset:{srv.second_repl_offset}",
            f"repl_backlog_active:{1 if b is not None else 0}",
            f"repl_backlog_size:{srv.config['repl-backlog-size']}",
            f"repl_backlog_first_byte_offset:{b.first_offset if b is not None else 0}",
            f"repl_backlog_histlen:{b.histlen if b is not None else 0}",
        ]
        return lines

    def role_reply(self) -> list:
        srv = self.server
        if srv.role == "slave":
            link = self.link
            state = link.role_state() if link is not None else "connect"
            offset = link.offset if link is not None else -1
            return [b"slave", (self.master_host or "").encode(), self.master_port,
                    state.encode(), offset]
        return [
            b"master",
            srv.master_repl_offset,
            [[r.ip.encode(), str(r.port).encode(), str(r.ack_offset).encode()]
             for r in self.replicas if r.state == REPLICA_ONLINE],
        ]

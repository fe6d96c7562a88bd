"""Replication: master side (stream, backlog, PSYNC, WAIT) and replica side (the master link).

Attached to every Server through core.SERVER_INIT; ``replication_of(server)`` returns it.
"""

from __future__ import annotations

import gc
import os
import time
from typing import TYPE_CHECKING

import trio

from ..extensions import SERVER_INIT
from .master import REPLICA_ONLINE, REPLICA_WAIT_BGSAVE, ReplicaInfo, Replication, new_replid
from .replica import MasterLink

if TYPE_CHECKING:
    from ..core import Server


class ServerReplication(Replication):
    """Replication plus what ties it to the server: role changes, full syncs, hooks."""

    def psync(self, c, replid: str, offset: int):
        """Answer PSYNC: +CONTINUE with the missed bytes when the backlog has them."""
        srv = self.server
        self.send_now()  # the backlog must hold every byte up to master_repl_offset
        b = self.backlog
        known = replid == srv.replid or (
            replid == srv.replid2 and offset <= srv.second_repl_offset
        )
        if known and b is not None and b.covers(offset):
            info = self.attach(c)
            info.ack_offset = offset - 1
            missed = b.since(offset)
            self.make_online(info)
            self.sync_partial_ok += 1
            srv.log.notice(
                f"Partial resynchronization request from {info.ip}:{info.port} accepted. "
                f"Sending {len(missed)} bytes of backlog starting from offset {offset}."
            )
            if "psync2" in info.capa:
                head = b"+CONTINUE %s\r\n" % srv.replid.encode()
            else:
                head = b"+CONTINUE\r\n"
            return _Raw(head + missed)
        if replid != "?":
            self.sync_partial_err += 1
            srv.log.notice(
                f"Partial resynchronization not accepted: Replication ID mismatch "
                f"(Replica asked for '{replid}', my replication IDs are '{srv.replid}' and "
                f"'{srv.replid2}')" if not known else
                "Unable to partial resync with replica: lack of backlog "
                f"(Replica request was: {offset})."
            )
        return self.full_sync(c, with_header=True)

    def full_sync(self, c, with_header: bool):
        """Start a full sync: ``+FULLRESYNC <replid> <offset>``, then the snapshot, then the
        stream from that offset.

        The snapshot is written by a fork()ed child from its copy-on-write view of the moment
        of the fork, so the server keeps answering clients; everything fed meanwhile is held in
        the replica's buffer and sent right after the snapshot. Without a running Trio server
        (unit tests) the snapshot is serialised in-process instead.
        """
        from ..persistence import rdb

        srv = self.server
        self.send_now()  # bytes before the snapshot's offset must not reach this replica
        info = self.attach(c)
        self.ensure_backlog()
        self.seldb = -1  # a SELECT must open the stream this replica receives
        self.sync_full += 1
        srv.log.notice(f"Replica {info.ip}:{info.port} asks for synchronization")
        head = b""
        if with_header:
            head = b"+FULLRESYNC %s %d\r\n" % (srv.replid.encode(), srv.master_repl_offset)
        info.ack_offset = 0
        runner = srv.runner
        if runner is None or runner.nursery is None or not hasattr(os, "fork"):
            payload = rdb.dump_bytes(srv)
            self.make_online(info)
            return _Raw(head + b"$%d\r\n" % len(payload) + payload)
        path = os.path.join(srv.config["dir"], f"temp-repl-{os.getpid()}-{c.id}.rdb")
        pid = os.fork()
        if pid == 0:  # the child: write the snapshot, leave without touching Trio
            code = 1
            try:
                gc.disable()
                os.nice(10)  # the child is CPU-bound: let the serving parent win
                with open(path, "wb") as f:
                    for chunk in rdb.iter_rdb(srv):
                        f.write(chunk)
                code = 0
            finally:
                os._exit(code)
        info.state = REPLICA_WAIT_BGSAVE
        info.buffer = []
        self.replicas.append(info)  # receives the stream into its buffer from now on
        srv.log.notice(
            f"Starting BGSAVE for SYNC with target: disk; background RDB transfer started by "
            f"pid {pid} for replica {info.ip}:{info.port}"
        )
        runner.spawn(self._send_snapshot, info, pid, path)
        return _Raw(head)

    async def _send_snapshot(self, info: ReplicaInfo, pid: int, path: str) -> None:
        srv = self.server
        try:
            while True:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    break
                if info.client.killed or info not in self.replicas:
                    os.kill(pid, 9)
                    os.waitpid(pid, 0)
                    return
                await trio.sleep(0.005)
            if os.waitstatus_to_exitcode(status) != 0:
                srv.log.warning("Background transfer error: the snapshot child failed")
                if info.client.conn is not None:
                    info.client.conn.kill()
                return
            with open(path, "rb") as f:
                payload = f.read()
            held, info.buffer = info.buffer or [], None
            conn = info.client.conn
            if conn is None or info not in self.replicas:
                return
            # The snapshot and what was held back go out in order, not counted against the
            # replica's output buffer limit (Redis sends the RDB from the file too).
            conn.push_unlimited(b"$%d\r\n" % len(payload) + payload + b"".join(held))
            self.make_online(info)
        finally:
            try:
                os.unlink(path)
            except OSError:
                pass

    def follow(self, host: str, port: int) -> None:
        """Become a replica of host:port (REPLICAOF, --replicaof)."""
        srv = self.server
        self.send_now()
        was_master = srv.role == "master"
        cached = None
        if self.link is not None:
            old = self.link
            if old.replid and old.offset >= 0:
                cached = (old.replid, old.offset)  # Redis's cached master: try PSYNC first
            old.stop()
            self.link = None
        self.master_host, self.master_port = host, port
        srv.role = "slave"
        srv.update_guard()
        self.update_target()
        srv.config.set_value("replicaof", (host, port))
        if srv.log is not None:
            srv.log.role = "S"
        link = MasterLink(self, host, port)
        if was_master:
            # Try to continue our own history with the new master (PSYNC2): it may have been
            # our replica and know our replid.
            link.replid = srv.replid
            link.offset = srv.master_repl_offset
        elif cached is not None:
            link.replid, link.offset = cached
        self.link = link
        # Clients blocked on keys would wait on data only the master may now change.
        for c in list(srv.clients.values()):
            if c.blocked is not None and not c.is_master:
                srv.finish_block(
                    c.blocked,
                    srv.error_reply(
                        "UNBLOCKED force unblock from blocking operation, instance state "
                        "changed (master -> replica?)"
                    ),
                )
        runner = srv.runner
        if runner is not None:
            runner.spawn(link.run)

    def promote(self) -> None:
        """REPLICAOF NO ONE: keep the data, start a new history, remember the old one."""
        srv = self.server
        self.send_now()
        if self.link is not None:
            self.link.stop()
            self.link = None
        self.master_host, self.master_port = None, 0
        srv.role = "master"
        srv.update_guard()
        srv.config.set_value("replicaof", None)
        if srv.log is not None:
            srv.log.role = "M"
        srv.replid2 = srv.replid
        srv.second_repl_offset = srv.master_repl_offset + 1
        srv.replid = new_replid()
        self.seldb = -1
        self.ensure_backlog()  # also resumes taking writes from call()
        self.no_replicas_since = time.monotonic()
        # Our replicas must hear of the new id; they will continue partially (replid2).
        for r in list(self.replicas):
            if r.client.conn is not None:
                r.client.conn.kill()


def _Raw(data: bytes):
    from ..protocol.replies import Raw

    return Raw(data)


def replication_of(server: Server) -> ServerReplication:
    return server.replication


def _attach(server: Server) -> None:
    repl = ServerReplication(server)
    server.replication = repl
    server.add_hook("client_freed", repl.detach)
    server.add_hook("propagate_repl", repl.feed)  # PUBLISH: replicas only, not the AOF
    server.add_hook("cron", repl.cron)
    server.add_hook("good_replicas", repl.good_replicas)
    server.add_hook("role", repl.role_reply)
    server.add_hook("info_replication", lambda srv, lines: repl.info_lines())

    def start_from_config() -> None:
        target = server.config["replicaof"]
        if target is not None and repl.link is None:
            repl.follow(target[0], target[1])

    async def startup_task() -> None:
        start_from_config()

    server.add_hook("tasks", startup_task)


SERVER_INIT.append(_attach)

__all__ = ["MasterLink", "REPLICA_ONLINE", "ReplicaInfo", "Replication", "ServerReplication",
           "replication_of"]

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

        With ``repl-diskless-sync`` and a ``repl-diskless-sync-delay``, a replica that can
        take it waits (state ``wait_bgsave``, kept alive with newlines) so that replicas
        arriving together share one snapshot: the cron starts it when the oldest has waited
        the delay or ``repl-diskless-sync-max-replicas`` are waiting, as Redis's
        replicationStartPendingFork. The snapshot is written by a fork()ed child from its
        copy-on-write view, so the server keeps answering clients; everything fed meanwhile is
        held in each replica's buffer and sent right after the snapshot. Without a running
        Trio server (unit tests) the snapshot is serialised in-process instead.
        """
        srv = self.server
        info = self.attach(c)
        info.with_header = with_header
        self.ensure_backlog()
        self.sync_full += 1
        srv.log.notice(f"Replica {info.ip}:{info.port} asks for synchronization")
        cfg = srv.config
        runner = srv.runner
        if (cfg["repl-diskless-sync"] and cfg["repl-diskless-sync-delay"] > 0
                and "eof" in info.capa and runner is not None and runner.nursery is not None
                and hasattr(os, "fork")):
            info.state = REPLICA_WAIT_BGSAVE
            info.wait_since = time.monotonic()
            if info not in self.waiting_sync:
                self.waiting_sync.append(info)
            srv.log.notice("Delay next BGSAVE for diskless SYNC")
            return _Raw(b"")
        return _Raw(self.start_sync([info], caller=c))

    def start_pending_sync(self) -> None:
        """Cron: start the snapshot for the replicas waiting for a diskless sync when the
        oldest has waited ``repl-diskless-sync-delay`` seconds or enough of them wait."""
        waiting = self.waiting_sync
        if not waiting:
            return
        cfg = self.server.config
        oldest = min(r.wait_since for r in waiting)
        most = cfg["repl-diskless-sync-max-replicas"]
        if (time.monotonic() - oldest >= cfg["repl-diskless-sync-delay"]
                or (most and len(waiting) >= most)):
            infos = [r for r in waiting if not r.client.killed]
            waiting.clear()
            if infos:
                self.start_sync(infos)

    def start_sync(self, infos: list, caller=None) -> bytes:
        """Send ``+FULLRESYNC`` to ``infos`` and start one snapshot for all of them. Returns
        the bytes to answer ``caller`` with (its PSYNC reply); the others get them pushed."""
        from ..persistence import rdb

        srv = self.server
        self.send_now()  # bytes before the snapshot's offset must not reach these replicas
        self.seldb = -1  # a SELECT must open the stream they receive
        head = b"+FULLRESYNC %s %d\r\n" % (srv.replid.encode(), srv.master_repl_offset)
        runner = srv.runner
        if runner is None or runner.nursery is None or not hasattr(os, "fork"):
            payload = rdb.dump_bytes(srv)
            out = b""
            for info in infos:
                info.ack_offset = 0
                data = (head if info.with_header else b"") + b"$%d\r\n" % len(payload) + payload
                if info.client is caller:
                    out = data
                else:
                    info.client.push_raw(data)
                self.make_online(info)
            return out
        c0 = infos[0].client
        path = os.path.join(srv.config["dir"], f"temp-repl-{os.getpid()}-{c0.id}.rdb")
        delay = srv.config.get("rdb-key-save-delay", 0)  # Redis's test knob, as for BGSAVE
        pid = os.fork()
        if pid == 0:  # the child: write the snapshot, leave without touching Trio
            code = 1
            try:
                gc.disable()
                os.nice(10)  # the child is CPU-bound: let the serving parent win
                with open(path, "wb") as f:
                    for chunk in rdb.iter_rdb(srv, key_delay_us=delay):
                        f.write(chunk)
                code = 0
            finally:
                os._exit(code)
        srv.stat_total_forks = getattr(srv, "stat_total_forks", 0) + 1
        self.snapshot_pids.add(pid)
        out = b""
        for info in infos:
            info.ack_offset = 0
            info.state = REPLICA_WAIT_BGSAVE
            info.buffer = []
            if info not in self.replicas:
                self.replicas.append(info)  # receives the stream into its buffer from now on
            data = head if info.with_header else b""
            if info.client is caller:
                out = data
            elif data:
                info.client.push_raw(data)
            srv.log.notice(
                f"Starting BGSAVE for SYNC with target: disk; background RDB transfer started "
                f"by pid {pid} for replica {info.ip}:{info.port}"
            )
        runner.spawn(self._send_snapshot, infos, pid, path)
        return out

    async def _send_snapshot(self, infos: list, pid: int, path: str) -> None:
        srv = self.server
        try:
            try:
                while True:
                    done, status = os.waitpid(pid, os.WNOHANG)
                    if done:
                        break
                    if (all(i.client.killed or i not in self.replicas for i in infos)
                            and not srv.config["save"]):
                        # Nobody wants it any more, and it is no use as a save point
                        # either (Redis kills such an RDB child).
                        os.kill(pid, 9)
                        os.waitpid(pid, 0)
                        return
                    await trio.sleep(0.005)
            finally:
                self.snapshot_pids.discard(pid)
            if os.waitstatus_to_exitcode(status) != 0:
                srv.log.warning("Background transfer error: the snapshot child failed")
                for info in infos:
                    if info.client.conn is not None:
                        info.client.conn.kill()
                return
            with open(path, "rb") as f:
                payload = f.read()
            bulk = b"$%d\r\n" % len(payload) + payload
            for info in infos:
                held, info.buffer = info.buffer or [], None
                conn = info.client.conn
                if conn is None or info not in self.replicas:
                    continue
                # The snapshot and what was held back go out in order, not counted against the
                # replica's output buffer limit (Redis sends the RDB from the file too).
                conn.push_unlimited(bulk + b"".join(held))
                self.make_online(info)
        finally:
            try:
                os.unlink(path)
            except OSError:
                pass

    def follow(self, host: str, port: int, at_startup: bool = False) -> None:
        """Become a replica of host:port (REPLICAOF, or ``replicaof`` in the config).

        At runtime a master turning replica offers its own history to the new master
        (Redis's replicationCacheMasterUsingMyself). At startup Redis sets the master without
        that step: only replication info restored from the RDB gives a cached master,
        otherwise the first PSYNC is ``? -1``.
        """
        srv = self.server
        self.send_now()
        was_master = srv.role == "master" and not at_startup
        cached = None
        if at_startup:
            cached, self.restored_master = self.restored_master, None
        if self.link is not None:
            old = self.link
            if old.replid and old.offset >= 0:
                # Redis's cached master: try PSYNC first, in the db its stream had selected
                cached = (old.replid, old.offset, old.stream_db())
            old.stop()
            self.link = srv.master_link = None
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
            link.replid, link.offset, link.db_index = cached
        self.link = srv.master_link = link  # core's MASTERDOWN check asks it is_up()
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

    def master_client_freed(self, c) -> None:
        """CLIENT KILL of our master's client breaks the link (it reconnects with PSYNC)."""
        link = self.link
        if link is not None and link.client is c:
            link.drop()

    # -- replication info in RDB files (rdbPopulateSaveInfo, loadDataFromDisk) --------------

    def save_info(self) -> int | None:
        """The stream db to save with our replication ID and offset, or None when an RDB must
        not carry them: only a master keeping a backlog, or a replica that has (or had) a
        master link, is part of a replication history worth continuing after a restart."""
        srv = self.server
        if srv.role == "master":
            if self.backlog is None:
                return None
            return 0 if self.seldb == -1 else self.seldb
        link = self.link
        if link is not None and link.replid and link.offset >= 0:
            return link.stream_db()
        if self.restored_master is not None:
            return self.restored_master[2]
        return None

    def loading_feed(self):
        """Before a startup load on a master: a backlog, and the function that propagates a
        DEL for each expired key the load drops (so replicas that continue after our restart
        drop them too). None on a replica, whose master sends its own DELs."""
        if self._replica_to_be():
            return None
        self.ensure_backlog()

        def expired(dbid: int, key: bytes) -> None:
            self.feed(dbid, [b"DEL", key])

        return expired

    def _replica_to_be(self) -> bool:
        """A replica, or about to become one (``replicaof`` in the config, at startup)."""
        srv = self.server
        return srv.role == "slave" or srv.config["replicaof"] is not None

    def restore_from_rdb(self, aux: dict | None) -> None:
        """After the startup load: take the RDB's replication ID and offset. A replica makes
        them its cached master (its first PSYNC continues that history); a master keeps them
        as its second ID so its old replicas can continue. Without them a master drops the
        backlog made for the load."""
        srv = self.server
        info = _rdb_repl_info(aux)
        replica = self._replica_to_be()
        if info is None:
            if not replica and self.backlog is not None and not self.replicas:
                self.send_now()
                self.backlog = None
                self.update_target()
            return
        replid, offset, dbid = info
        self.send_now()
        if replica:
            srv.replid = replid
            srv.master_repl_offset = offset
            self.restored_master = (replid, offset, dbid)
            return
        srv.replid2 = replid
        srv.second_repl_offset = offset + 1
        srv.master_repl_offset += offset
        b = self.ensure_backlog()
        b.start_offset += offset
        self.no_replicas_since = time.monotonic()

    def promote(self) -> None:
        """REPLICAOF NO ONE: keep the data, start a new history, remember the old one."""
        srv = self.server
        self.send_now()
        if self.link is not None:
            self.link.stop()
            self.link = srv.master_link = None
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


def _rdb_repl_info(aux: dict | None) -> tuple[str, int, int] | None:
    """``(repl-id, repl-offset, repl-stream-db)`` from an RDB's aux fields, when all are
    there and valid (Redis ignores a stream db of -1, written by old versions)."""
    if not aux:
        return None
    try:
        replid = aux[b"repl-id"].decode("ascii")
        offset = int(aux[b"repl-offset"])
        dbid = int(aux[b"repl-stream-db"])
    except (KeyError, ValueError, UnicodeDecodeError):
        return None
    if len(replid) != 40 or offset < 0 or dbid < 0:
        return None
    return replid, offset, dbid


def _Raw(data: bytes):
    from ..protocol.replies import Raw

    return Raw(data)


def replication_of(server: Server) -> ServerReplication:
    return server.replication


def _attach(server: Server) -> None:
    repl = ServerReplication(server)
    server.replication = repl
    server.in_master_stream = False  # set while the master link applies its stream
    server.add_hook("client_freed", repl.detach)
    server.add_hook("client_freed", repl.master_client_freed)
    server.add_hook("propagate_repl", repl.feed)  # PUBLISH: replicas only, not the AOF
    server.add_hook("cron", repl.cron)
    server.add_hook("good_replicas", repl.good_replicas)
    server.add_hook("role", repl.role_reply)
    server.add_hook("resetstat", repl.reset_stats)
    server.add_hook("info_replication", lambda srv, lines: repl.info_lines())

    def start_from_config() -> None:
        target = server.config["replicaof"]
        if target is not None and repl.link is None:
            repl.follow(target[0], target[1], at_startup=True)

    async def startup_task() -> None:
        start_from_config()

    server.add_hook("tasks", startup_task)


SERVER_INIT.append(_attach)

__all__ = ["MasterLink", "REPLICA_ONLINE", "ReplicaInfo", "Replication", "ServerReplication",
           "replication_of"]

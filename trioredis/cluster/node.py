"""The cluster state machine of one node: membership, heartbeats, elections, fencing.

Terms number the leaderships: at most one leader per term, because a leader needs the votes of
a majority of the membership and a node votes at most once per term (the vote is persisted in
the node file before the answer leaves). A node grants its vote only to a candidate whose data
is at least as recent as its own, compared as ``(data_term, offset)``: ``data_term`` is the
term of the leader whose history our dataset is a prefix of (set when our replication link to
that leader is up), ``offset`` the replication offset. A node stops its replication link the
moment it learns of a newer term, so it never acknowledges (REPLCONF ACK, what WAIT counts) a
write of a deposed leader after having voted. Hence a write that WAIT saw on a majority is on a
node of every voting majority, and so on every possible winner (Raft's argument; docs/cluster.md).

State transitions are synchronous methods called from command handlers (``TRIOCLUSTER ...``)
and from the node's tasks; the tasks only do the waiting. The tasks live in the node's own
nursery: one heartbeat task per peer, the ticker (failure detection, fencing), the join loop,
elections, and the cluster-port listener when there is one.

:class:`ClusterNode` is assembled from one mixin per family, each in its own module:
:mod:`.membership` (:class:`~.membership.Member`, the member list, joining and leaving),
:mod:`.elections` (the election timer, pre-vote and vote, both sides) and :mod:`.views`
(``TRIOCLUSTER INFO`` and ``NODES``, failure suspicion). This module keeps the core they all
use: the node's state and its persistence, the write barrier, terms and roles (stepping down,
becoming leader, fencing), the receiving side of heartbeats, and the node's tasks.
"""

from __future__ import annotations

import math
import os
import time
from typing import TYPE_CHECKING

import hiredis
import trio

from ..errors import READONLY
from .elections import ElectionsMixin
from .membership import FOLLOWER, LEADER, NEVER, Member, MembershipMixin
from .nodefile import NodeFile, NodeState
from .peer import PeerLink
from .settings import cluster_mode
from .views import ViewsMixin

if TYPE_CHECKING:
    from ..core import Server


def _may_write(cmd) -> bool:
    """Writes, and commands that may write (scripts); not PUBLISH or PING."""
    return cmd.write or (cmd.may_replicate and cmd.name != "ping" and "pubsub" not in cmd.flags)


class ClusterNode(MembershipMixin, ElectionsMixin, ViewsMixin):
    def __init__(self, server: Server):
        self.server = server
        self.repl = server.replication
        cfg = server.config
        self.mode = cluster_mode(cfg)
        self.file = NodeFile(os.path.join(cfg["dir"], cfg["cluster-config-file"]))
        st = self.file.load()
        wanted = cfg["cluster-node-id"]
        if wanted and st.node_id and st.node_id != wanted:
            server.log.warning(
                f"Cluster: node file {self.file.path} belongs to node {st.node_id}; starting "
                f"afresh as node {wanted}"
            )
            st = NodeState()
        self.id = wanted or st.node_id or os.urandom(20).hex()
        self.term = st.term
        self.voted_for = st.voted_for
        self.version = st.version
        self.terms_led = st.terms_led
        self.members: dict[str, Member] = {}
        for m in st.members:
            self.members[m["id"]] = Member(m["id"], m["ip"], int(m["port"]),
                                           int(m.get("bus_port") or m["port"]))
        self.had_group = len(self.members) >= 2 and self.id in self.members
        ip, port, bus_port = self.announce()
        me = self.members.get(self.id)
        if me is None:
            me = self.members[self.id] = Member(self.id, ip, port, bus_port)
        me.ip, me.port, me.bus_port, me.run_id = ip, port, bus_port, server.run_id
        self.me = me
        self.role = FOLLOWER
        self.leader_id: str | None = None
        self.last_leader_id: str | None = st.leader_id  # for SENTINEL while none is known
        self.leader_since = time.monotonic()
        self.data_term = 0
        self.joined = False
        self.fence_at = math.inf  # leader: monotonic time from which writes are refused
        self.fenced = False
        self.nursery: trio.Nursery | None = None
        self._links: list[PeerLink] = []
        self.wake = trio.Event()  # set to make every heartbeat task send at once
        self.last_contact = time.monotonic()
        self.election_due = math.inf
        self.electing = False
        self.started = time.monotonic()
        # statistics (TRIOCLUSTER INFO)
        self.elections_started = 0
        self.elections_won = 0
        self.votes_granted = 0
        self.heartbeats_received = 0
        self.persist()
        server.write_barrier = self.write_barrier
        if self.mode == "bootstrap" and not self.had_group:
            if len(self.members) > 1:  # a one-node group restarted: only our own vote counts
                self.members = {self.id: me}
            self.term += 1
            self.voted_for = self.id
            self.version += 1
            server.log.notice(f"Cluster: bootstrapping a new group as node {self.id}, "
                              f"term {self.term}")
            self.become_leader()
        else:
            self._reset_election_timer()

    # -- configuration -------------------------------------------------------------------------

    def announce(self) -> tuple[str, int, int]:
        """The address others use for us: client port (replication) and cluster port."""
        cfg = self.server.config
        ip = cfg["cluster-announce-ip"]
        if not ip:
            ip = "127.0.0.1"
            for b in cfg["bind"]:
                b = b.lstrip("-")
                if b not in ("*", "0.0.0.0", "::", "::*") and ":" not in b:
                    ip = b
                    break
        port = cfg["cluster-announce-port"] or cfg["port"]
        if cfg["tls-cluster"] and cfg["tls-port"]:  # members talk TLS (as Redis's cluster.c)
            port = cfg["cluster-announce-tls-port"] or cfg["tls-port"]
        bus = cfg["cluster-announce-bus-port"] or cfg["cluster-port"] or port
        return ip, port, bus

    def hb_s(self) -> float:
        return self.server.config["cluster-heartbeat-ms"] / 1000

    def timeout_s(self) -> float:
        return self.server.config["cluster-node-timeout"] / 1000

    def rpc_timeout(self) -> float:
        return max(self.hb_s(), self.timeout_s() / 2)

    def majority(self) -> int:
        return len(self.members) // 2 + 1

    def offset(self) -> int:
        return self.server.master_repl_offset

    def persist(self) -> None:
        self.file.save(NodeState(
            node_id=self.id, term=self.term, voted_for=self.voted_for, version=self.version,
            members=[m.static() for m in self.members.values()], terms_led=self.terms_led,
            leader_id=self.last_leader_id,
        ))

    def leader(self) -> Member | None:
        return self.members.get(self.leader_id) if self.leader_id else None

    # -- writes ----------------------------------------------------------------------------

    def write_barrier(self, c, cmd):
        """``server.write_barrier``: only an unfenced leader takes writes."""
        if not _may_write(cmd) and not (
            cmd.name == "exec" and any(_may_write(q) for q, _ in c.multi_queue)
        ):
            return None
        if self.server.role == "slave":
            return None  # core answers READONLY
        if self.role != LEADER:
            return READONLY
        if time.monotonic() >= self.fence_at:
            return (
                f"NOREPLICAS Not enough good replicas to write: the leader of term {self.term} "
                f"cannot reach a majority of its group (cluster-node-timeout exceeded)."
            )
        return None

    # -- terms and roles -------------------------------------------------------------------

    def observe_term(self, term: int, why: str) -> bool:
        """A newer term exists: adopt it and step down at once. True if it was newer."""
        if term <= self.term:
            return False
        log = self.server.log
        if self.role == LEADER:
            log.warning(f"Cluster: stepping down as leader of term {self.term}: {why} "
                        f"(term {term})")
            self.last_contact = time.monotonic()
            self._reset_election_timer(self.last_contact)
        self.term = term
        self.voted_for = None
        self.leader_id = None
        self.role = FOLLOWER
        self.fence_at = math.inf
        self.fenced = False
        self._stop_following()
        self.persist()
        return True

    def _stop_following(self) -> None:
        """Stop acknowledging the old leader's stream (see the module docstring)."""
        link = self.repl.link
        if self.server.role == "slave" and link is not None:
            link.stop()

    def become_leader(self) -> None:
        srv = self.server
        now = time.monotonic()
        self.role = LEADER
        self.leader_id = self.last_leader_id = self.id
        self.leader_since = now
        self.terms_led.append([self.term, int(time.time() * 1000)])
        for m in self.members.values():
            m.role = FOLLOWER
        self.me.role = LEADER
        self.me.term = self.term
        self.version += 1
        self.persist()
        if srv.role == "slave":
            self.repl.promote()
        else:
            self.repl.ensure_backlog()
        self.data_term = self.term
        self.joined = True
        self._update_fence(now)
        srv.log.notice(f"Cluster: node {self.id} is the leader of term {self.term} "
                       f"({len(self.members)} members, offset {self.offset()})")
        self._wake()

    def _update_fence(self, now: float) -> None:
        """Writes stop once a majority has not answered for cluster-node-timeout.

        Counted from when the answered heartbeats were *sent*, which is before the followers
        last heard from us: a follower's election timer (node timeout plus a random delay from
        its last heartbeat) cannot fire before we have stopped taking writes.
        """
        need = self.majority() - 1
        if need <= 0:
            self.fence_at = math.inf
            return
        times = sorted((m.last_ok for m in self.members.values() if m is not self.me),
                       reverse=True)
        t = times[need - 1] if len(times) >= need else NEVER
        self.fence_at = t + self.timeout_s()

    def _wake(self) -> None:
        self.wake.set()
        self.wake = trio.Event()

    # -- heartbeats (receiving side) ---------------------------------------------------------

    def on_heartbeat(self, term: int, leader_id: str, version: int, blob: bytes) -> list:
        now = time.monotonic()
        self.heartbeats_received += 1
        if term < self.term:
            return self._hb_reply(0)
        self.observe_term(term, f"heartbeat from leader {leader_id}")
        if self.role == LEADER and leader_id != self.id:
            # Cannot happen with one vote per term; say so loudly rather than hide it.
            self.server.log.warning(
                f"Cluster: node {leader_id} claims term {term} that this node leads")
            return self._hb_reply(0)
        self.role = FOLLOWER
        if self.leader_id != leader_id:
            self.leader_id = self.last_leader_id = leader_id
            self.leader_since = now
            self.server.log.notice(f"Cluster: following leader {leader_id} (term {term})")
        self.joined = True
        self.last_contact = now
        self._reset_election_timer(now)
        self._apply_members(blob, version, now)
        leader = self.leader()
        if leader is not None:
            leader.role, leader.term, leader.last_ok = LEADER, term, now
            self._follow(leader)
        self._update_data_term()
        return self._hb_reply(1)

    def _hb_reply(self, accepted: int) -> list:
        return [self.term, self.id.encode(), self.offset(), accepted, self.data_term,
                self.server.run_id.encode()]

    def _follow(self, leader: Member) -> None:
        srv, repl = self.server, self.repl
        link = repl.link
        if (
            srv.role == "slave"
            and repl.master_host == leader.ip
            and repl.master_port == leader.port
            and link is not None
            and not link.scope.cancel_called
        ):
            return
        srv.log.notice(f"Cluster: replicating from leader {leader.id} at "
                       f"{leader.ip}:{leader.port}")
        repl.follow(leader.ip, leader.port)

    def _update_data_term(self) -> None:
        """Our data is a prefix of the current leader's history once our link to it is up."""
        leader = self.leader()
        link = self.repl.link
        if (
            leader is not None
            and self.role == FOLLOWER
            and link is not None
            and link.is_up()
            and not link.scope.cancel_called
            and link.host == leader.ip
            and link.port == leader.port
        ):
            self.data_term = self.term

    # -- tasks -------------------------------------------------------------------------------

    async def run(self) -> None:
        """The node's nursery: peers, ticker, joining, the cluster port."""
        addr = self.announce()  # the port is known now (port 0 binds a free one)
        if self.me.addr() != addr:
            self.me.ip, self.me.port, self.me.bus_port = addr
            self.version += 1
            self.persist()
        async with trio.open_nursery() as nursery:
            self.nursery = nursery
            if self.server.config["cluster-port"]:
                await nursery.start(self._bus_listener)
            self._sync_peers()
            if self.role != LEADER:
                nursery.start_soon(self._join_loop)
            nursery.start_soon(self._ticker)

    async def _bus_listener(self, task_status=trio.TASK_STATUS_IGNORED) -> None:
        """``--cluster-port``: a second RESP listener for cluster traffic."""
        import socket

        runner = self.server.runner
        cfg = self.server.config
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        addr = next((b.lstrip("-") for b in cfg["bind"] if ":" not in b), "127.0.0.1")
        sock.bind(("0.0.0.0" if addr == "*" else addr, cfg["cluster-port"]))
        sock.listen(cfg["tcp-backlog"])
        sock.setblocking(False)
        task_status.started()
        try:
            async with trio.open_nursery() as conns:
                wrap = self.server.tls.wrap if cfg["tls-cluster"] else None
                await runner.accept_loop(sock, conns, wrap)
        finally:
            sock.close()

    async def _peer_task(self, m: Member, link: PeerLink) -> None:
        with link.scope:
            try:
                while True:
                    if self.role == LEADER:
                        try:
                            await self._heartbeat(m, link)
                        except (ValueError, TypeError, IndexError, AttributeError) as e:
                            self._bad_reply(m, e)
                    wake = self.wake
                    with trio.move_on_after(self.hb_s()):
                        await wake.wait()
            finally:
                link.close()

    async def _heartbeat(self, m: Member, link: PeerLink) -> None:
        term = self.term
        sent = time.monotonic()
        argv = [b"TRIOCLUSTER", b"HEARTBEAT", term, self.id, self.version, self.members_blob()]
        reply = await link.call(argv, self.rpc_timeout())
        if not isinstance(reply, list) or len(reply) < 6:
            return
        rterm = int(reply[0])
        if self.observe_term(rterm, f"node {m.id} is in a newer term"):
            return
        if self.role != LEADER or self.term != term:
            return
        m.offset = int(reply[2])
        m.term = rterm
        m.run_id = reply[5].decode()
        if int(reply[3]):
            if sent > m.last_ok:
                m.last_ok = sent
            m.role = FOLLOWER
            self._update_fence(time.monotonic())

    async def _ticker(self) -> None:
        while True:
            await trio.sleep(min(0.1, self.hb_s() / 2))
            try:
                self.tick(time.monotonic())
            except Exception as e:  # a bug must not take the server down
                self.server.log.warning(f"Cluster: internal error in the ticker: {e!r}")

    def _bad_reply(self, m: Member, e: Exception) -> None:
        """A peer answered something we cannot read (another version?): log, carry on."""
        self.server.log.warning(f"Cluster: unreadable reply from node {m.id} at "
                                f"{m.ip}:{m.bus_port}: {e!r}")

    def tick(self, now: float) -> None:
        log = self.server.log
        if self.role == LEADER:
            self._update_fence(now)
            for m in self.members.values():
                down = self.member_suspect(m, now)
                if down != m.down:
                    m.down = down
                    if down:
                        log.warning(f"Cluster: node {m.id} ({m.ip}:{m.port}) has not answered "
                                    f"for {self.timeout_s() * 1000:.0f} ms")
                    else:
                        log.notice(f"Cluster: node {m.id} ({m.ip}:{m.port}) answers again")
            fenced = now >= self.fence_at
            if fenced != self.fenced:
                self.fenced = fenced
                if fenced:
                    log.warning(f"Cluster: leader of term {self.term} cannot reach a majority "
                                f"for {self.timeout_s() * 1000:.0f} ms: refusing writes")
                else:
                    log.notice(f"Cluster: leader of term {self.term} reaches a majority "
                               f"again: accepting writes")
            return
        self._update_data_term()
        if now >= self.election_due and not self.electing and self.can_elect():
            self.electing = True
            self.nursery.start_soon(self._election)


def is_reply_error(x) -> bool:
    return isinstance(x, hiredis.ReplyError)

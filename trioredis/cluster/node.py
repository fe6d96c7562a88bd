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
"""

from __future__ import annotations

import json
import math
import os
import random
import time
from typing import TYPE_CHECKING

import hiredis
import trio

from ..errors import READONLY
from .nodefile import NodeFile, NodeState
from .peer import PeerLink, one_shot
from .settings import cluster_mode, parse_addr

if TYPE_CHECKING:
    from ..core import Server

LEADER = "leader"
FOLLOWER = "follower"
CANDIDATE = "candidate"

NEVER = -math.inf


def _may_write(cmd) -> bool:
    """Writes, and commands that may write (scripts); not PUBLISH or PING."""
    return cmd.write or (cmd.may_replicate and cmd.name != "ping" and "pubsub" not in cmd.flags)


class Member:
    """What this node knows of one member of the group (itself included)."""

    __slots__ = ("id", "ip", "port", "bus_port", "run_id", "role", "offset", "term", "last_ok",
                 "link", "down")

    def __init__(self, node_id: str, ip: str, port: int, bus_port: int, run_id: str = ""):
        self.id = node_id
        self.ip = ip
        self.port = port
        self.bus_port = bus_port or port
        self.run_id = run_id
        self.role = FOLLOWER
        self.offset = 0
        self.term = 0
        self.last_ok = NEVER  # monotonic time of the last heartbeat it answered
        self.link: PeerLink | None = None
        self.down = False  # the leader logged it as not answering

    def addr(self) -> tuple[str, int, int]:
        return self.ip, self.port, self.bus_port

    def static(self) -> dict:
        return {"id": self.id, "ip": self.ip, "port": self.port, "bus_port": self.bus_port}


class ClusterNode:
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

    def _reset_election_timer(self, now: float | None = None, retry: bool = False) -> None:
        now = time.monotonic() if now is None else now
        nt = self.timeout_s()
        if retry:
            self.election_due = now + nt * random.uniform(0.5, 1.0)
            return
        upper = min(nt * 0.5, 2.0)
        self.election_due = now + nt + random.uniform(min(nt * 0.1, upper / 2), upper)

    def leader_alive(self, now: float) -> bool:
        if self.role == LEADER:
            return now < self.fence_at
        return self.leader_id is not None and now - self.last_contact < self.timeout_s()

    def can_elect(self) -> bool:
        return self.id in self.members and (self.joined or self.had_group)

    # -- heartbeats (receiving side) ---------------------------------------------------------

    def members_blob(self) -> bytes:
        now = time.monotonic()
        out = []
        for m in self.members.values():
            d = m.static()
            d["run_id"] = m.run_id
            if m is self.me:
                d.update(role=self.role, offset=self.offset(), term=self.term, age_ms=0)
            else:
                d.update(role=m.role, offset=m.offset, term=m.term,
                         age_ms=-1 if m.last_ok == NEVER else int((now - m.last_ok) * 1000))
            out.append(d)
        return json.dumps(out, separators=(",", ":")).encode()

    def _apply_members(self, blob: bytes, version: int, now: float) -> None:
        """Take the leader's member list: addresses (persisted when the version changes) and
        the dynamic fields shown by TRIOCLUSTER NODES and SENTINEL."""
        try:
            items = [(str(d["id"]), (str(d["ip"]), int(d["port"]), int(d["bus_port"])), d)
                     for d in json.loads(blob)]
        except (ValueError, TypeError, KeyError, AttributeError):
            self.server.log.warning("Cluster: ignoring a malformed member list")
            return
        changed = version != self.version
        seen = {}
        for nid, addr, d in items:
            m = self.members.get(nid)
            if m is None:
                m = Member(nid, *addr)
                changed = True
            elif m is not self.me and m.addr() != addr:
                m.ip, m.port, m.bus_port = addr
                changed = True
            if m is not self.me:
                m.run_id = str(d.get("run_id", ""))
                m.role = str(d.get("role", FOLLOWER))
                try:
                    m.offset = int(d.get("offset", 0))
                    m.term = int(d.get("term", 0))
                    age = int(d.get("age_ms", -1))
                except (ValueError, TypeError):
                    age = -1
                m.last_ok = NEVER if age < 0 else now - age / 1000
            seen[nid] = m
        if self.id not in seen:
            seen[self.id] = self.me
        if set(seen) != set(self.members):
            changed = True
        self.members = seen
        if changed:
            self.version = version
            self.persist()
            self._sync_peers()

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

    # -- votes (receiving side) ----------------------------------------------------------------

    def up_to_date(self, cand: str, cand_data_term: int, cand_offset: int, now: float) -> bool:
        theirs = (cand_data_term, cand_offset)
        mine = (self.data_term, self.offset())
        if theirs != mine:
            return theirs > mine
        # A tie goes to the lower node id, unless the group has been leaderless for long.
        return cand <= self.id or now - self.last_contact > 3 * self.timeout_s()

    def on_request_vote(self, term: int, cand: str, cand_data_term: int, cand_offset: int,
                        prevote: bool) -> list:
        now = time.monotonic()
        if prevote:
            # Would we vote in ``term``? Changes nothing, so a node cut off from the group
            # cannot inflate terms and depose a healthy leader when it comes back.
            grant = (
                (term > self.term or (term == self.term and self.voted_for in (None, cand)))
                and not self.leader_alive(now)
                and self.up_to_date(cand, cand_data_term, cand_offset, now)
            )
            return [self.term, int(grant)]
        if term < self.term:
            return [self.term, 0]
        self.observe_term(term, f"vote requested by {cand}")
        grant = self.voted_for in (None, cand) and self.up_to_date(
            cand, cand_data_term, cand_offset, now)
        if grant:
            if self.voted_for != cand:
                self.voted_for = cand
                self.persist()  # before the answer leaves
            self.votes_granted += 1
            self._reset_election_timer(now)
            self.server.log.notice(f"Cluster: voted for {cand} in term {term}")
        return [self.term, int(grant)]

    # -- joining -----------------------------------------------------------------------------

    def on_join(self, nid: str, ip: str, port: int, bus_port: int, run_id: str) -> list:
        """A node asks to join (or rejoin): the leader adds it; others say who leads."""
        from ..errors import CommandError

        if self.role != LEADER:
            leader = self.leader()
            if leader is None or not self.leader_alive(time.monotonic()):
                raise CommandError("TRYAGAIN No leader is known right now, try again later.")
            return [b"REDIRECT", self.term, leader.id.encode(), leader.ip.encode(),
                    leader.port, leader.bus_port]
        if nid == self.id:
            raise CommandError(f"ERR Node id {nid} is the id of the leader itself.")
        changed = False
        for other in list(self.members.values()):
            # A node that comes back with a new identity at the same address replaces the old.
            if other.id != nid and other is not self.me and (other.ip, other.port) == (ip, port):
                del self.members[other.id]
                changed = True
        m = self.members.get(nid)
        if m is None:
            m = self.members[nid] = Member(nid, ip, port, bus_port, run_id)
            changed = True
            self.server.log.notice(f"Cluster: node {nid} ({ip}:{port}) joined the group")
        elif m.addr() != (ip, port, bus_port):
            m.ip, m.port, m.bus_port = ip, port, bus_port
            changed = True
        else:
            self.server.log.notice(f"Cluster: node {nid} ({ip}:{port}) rejoined the group")
        m.run_id = run_id
        m.role = FOLLOWER
        m.last_ok = time.monotonic()
        if changed:
            self.version += 1
            self.persist()
            self._sync_peers()
        self._update_fence(time.monotonic())
        self._wake()
        return [b"OK", self.term, self.id.encode(), self.version, self.members_blob()]

    def forget(self, nid: str) -> None:
        from ..errors import CommandError

        if self.role != LEADER:
            raise CommandError("ERR TRIOCLUSTER FORGET must be sent to the leader.")
        if nid == self.id:
            raise CommandError("ERR I tried hard but I can't forget myself...")
        if nid not in self.members:
            raise CommandError(f"ERR Unknown node {nid}")
        del self.members[nid]
        self.version += 1
        self.persist()
        self._sync_peers()
        self._update_fence(time.monotonic())
        self._wake()
        self.server.log.notice(f"Cluster: node {nid} removed from the group")

    async def _join_loop(self) -> None:
        """Ask a seed (--cluster-join, then known members) for the leader until admitted."""
        log = self.server.log
        seeds = []
        join = self.server.config["cluster-join"]
        if join:
            seeds.append(parse_addr(join))
        seeds += [(m.ip, m.bus_port) for m in self.members.values() if m is not self.me]
        argv = [b"TRIOCLUSTER", b"JOIN", self.id, self.me.ip, self.me.port, self.me.bus_port,
                self.server.run_id]
        last_error = ""
        while not self.joined:
            for host, port in list(seeds):
                if self.joined:
                    return
                reply = await one_shot(self.server, host, port, argv, self.rpc_timeout())
                try:
                    if isinstance(reply, list) and reply and reply[0] == b"REDIRECT":
                        host, port = reply[3].decode(), int(reply[5])
                        reply = await one_shot(self.server, host, port, argv,
                                               self.rpc_timeout())
                    if isinstance(reply, list) and reply and reply[0] == b"OK":
                        self._joined(reply)
                        return
                except (ValueError, TypeError, IndexError, AttributeError) as e:
                    reply = f"unreadable reply: {e!r}"
                error = str(reply) if reply is not None else "no answer"
                if error != last_error:
                    log.notice(f"Cluster: join through {host}:{port} failed: {error}")
                    last_error = error
            await trio.sleep(max(self.hb_s(), 0.1))

    def _joined(self, reply: list) -> None:
        if self.joined:
            return
        term, leader_id, version, blob = int(reply[1]), reply[2].decode(), int(reply[3]), reply[4]
        now = time.monotonic()
        self.observe_term(term, "joined the group")
        self._apply_members(blob, version, now)
        self.version = version
        self.persist()
        self.server.log.notice(f"Cluster: joined the group led by {leader_id} (term {term})")
        if term == self.term:
            self.on_heartbeat(term, leader_id, version, blob)
        self.joined = True

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
                await runner.accept_loop(sock, conns)
        finally:
            sock.close()

    def _sync_peers(self) -> None:
        """One heartbeat task per other member; stop those of members that left."""
        if self.nursery is None:
            return
        for m in self.members.values():
            if m is self.me:
                continue
            link = m.link
            if link is not None and (link.host, link.port) != (m.ip, m.bus_port):
                link.scope.cancel()
                link = None
            if link is None:
                m.link = PeerLink(self.server, m.ip, m.bus_port)
                self.nursery.start_soon(self._peer_task, m, m.link)
        # Links of members that are gone are cancelled by the member's absence:
        for link in self._links:
            if not any(m.link is link for m in self.members.values()):
                link.scope.cancel()
        self._links = [m.link for m in self.members.values() if m.link is not None]

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

    # -- elections ---------------------------------------------------------------------------

    async def _election(self) -> None:
        log = self.server.log
        try:
            term = self.term + 1
            leader = self.leader_id or "?"
            log.notice(f"Cluster: no heartbeat from leader {leader} for "
                       f"{(time.monotonic() - self.last_contact) * 1000:.0f} ms: pre-vote for "
                       f"term {term}")
            if not await self._poll(term, prevote=True):
                log.notice(f"Cluster: pre-vote for term {term} failed")
                self._reset_election_timer(retry=True)
                return
            if self.term >= term or self.leader_alive(time.monotonic()):
                self._reset_election_timer()
                return
            self.observe_term(term, "starting an election")
            self.role = CANDIDATE
            self.voted_for = self.id
            self.persist()
            self.elections_started += 1
            log.notice(f"Cluster: starting election for term {term} (data term "
                       f"{self.data_term}, offset {self.offset()})")
            won = await self._poll(term, prevote=False)
            if won and self.term == term and self.role == CANDIDATE:
                self.elections_won += 1
                self.become_leader()
            else:
                if self.role == CANDIDATE:
                    self.role = FOLLOWER
                log.notice(f"Cluster: election for term {term} not won")
                self._reset_election_timer(retry=True)
        finally:
            self.electing = False

    async def _poll(self, term: int, prevote: bool) -> bool:
        """Ask every other member for a (pre-)vote; True once a majority (us included) agrees."""
        need = self.majority() - 1
        if need <= 0:
            return True
        argv = [b"TRIOCLUSTER", b"REQUESTVOTE", term, self.id, self.data_term, self.offset(),
                b"PREVOTE" if prevote else b"VOTE"]
        granted: list[Member] = []
        higher = 0
        timeout = self.rpc_timeout()
        sent = time.monotonic()

        async def ask(m: Member, scope: trio.CancelScope) -> None:
            nonlocal higher
            link = m.link
            if link is None:
                return
            reply = await link.call(argv, timeout)
            if not isinstance(reply, list) or len(reply) < 2:
                return
            try:
                rterm, ok = int(reply[0]), int(reply[1])
            except (ValueError, TypeError) as e:
                self._bad_reply(m, e)
                return
            if rterm > term:
                higher = max(higher, rterm)
            if ok:
                granted.append(m)
                if len(granted) >= need:
                    scope.cancel()

        async with trio.open_nursery() as n:
            for m in list(self.members.values()):
                if m is not self.me:
                    n.start_soon(ask, m, n.cancel_scope)
        if higher:
            self.observe_term(higher, "a voter is in a newer term")
            return False
        if len(granted) >= need:
            if not prevote:
                for m in granted:  # their votes count as contact for fencing
                    m.last_ok = max(m.last_ok, sent)
            return True
        return False

    # -- views -------------------------------------------------------------------------------

    def member_suspect(self, m: Member, now: float) -> bool:
        """Not heard of (directly, or through the leader) for cluster-node-timeout."""
        if m is self.me:
            return False
        return now - m.last_ok > self.timeout_s()

    def info_lines(self) -> list[str]:
        now = time.monotonic()
        leader = self.leader()
        ok = self.leader_alive(now)
        return [
            f"cluster_state:{'ok' if ok else 'fail'}",
            f"cluster_mode:{self.mode}",
            f"cluster_node_id:{self.id}",
            f"cluster_role:{self.role}",
            f"cluster_current_term:{self.term}",
            f"cluster_voted_for:{self.voted_for or ''}",
            f"cluster_leader_id:{self.leader_id or ''}",
            f"cluster_leader_addr:{f'{leader.ip}:{leader.port}' if leader else ''}",
            f"cluster_members:{len(self.members)}",
            f"cluster_majority:{self.majority()}",
            f"cluster_members_version:{self.version}",
            f"cluster_fenced:{int(self.role == LEADER and now >= self.fence_at)}",
            f"cluster_data_term:{self.data_term}",
            f"cluster_repl_offset:{self.offset()}",
            f"cluster_heartbeat_ms:{self.server.config['cluster-heartbeat-ms']}",
            f"cluster_node_timeout:{self.server.config['cluster-node-timeout']}",
            f"cluster_elections_started:{self.elections_started}",
            f"cluster_elections_won:{self.elections_won}",
            f"cluster_votes_granted:{self.votes_granted}",
            f"cluster_terms_led:{len(self.terms_led)}",
        ]

    def member_view(self, m: Member, now: float) -> dict:
        if m is self.me:
            role, offset, term, age = self.role, self.offset(), self.term, 0
        else:
            role, offset, term = m.role, m.offset, m.term
            age = -1 if m.last_ok == NEVER else int((now - m.last_ok) * 1000)
        if m.id == self.leader_id and role != LEADER:
            role = LEADER
        return {
            "id": m.id, "ip": m.ip, "port": m.port, "bus-port": m.bus_port, "role": role,
            "offset": offset, "term": term, "last-heartbeat-ms": age,
            "myself": m is self.me, "suspect": self.member_suspect(m, now),
            "link": "disconnected" if self.member_suspect(m, now) else "connected",
            "run-id": m.run_id,
        }

    def views(self) -> list[dict]:
        now = time.monotonic()
        return [self.member_view(m, now) for m in self.members.values()]


def is_reply_error(x) -> bool:
    return isinstance(x, hiredis.ReplyError)

"""Who is in the group: the :class:`Member` record, the member list, joining and leaving.

The leader owns the member list: it adds a node that asks to join (``TRIOCLUSTER JOIN``,
:meth:`~MembershipMixin.on_join`), removes one on ``TRIOCLUSTER FORGET``, bumps the list's
version and persists it; it sends the list with every heartbeat, and followers take it from there
(:meth:`~MembershipMixin._apply_members`). A node started with ``--cluster-join`` asks seeds for
the leader until admitted (:meth:`~MembershipMixin._join_loop`). Every change of the list
restarts the per-member heartbeat tasks (:meth:`~MembershipMixin._sync_peers`).

:class:`MembershipMixin` is a part of :class:`~.node.ClusterNode`, not a class of its own: its
methods read and change the node's state (``members``, ``version``, ``term``, ``role``...) and
call the node's other methods. The role names and :data:`NEVER` live here because a
:class:`Member` carries them.
"""

from __future__ import annotations

import json
import math
import time

import trio

from .peer import PeerLink, one_shot
from .settings import parse_addr

LEADER = "leader"
FOLLOWER = "follower"
CANDIDATE = "candidate"

NEVER = -math.inf


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


class MembershipMixin:
    """:class:`~.node.ClusterNode`'s member list, joining and leaving."""

    # -- the member list (sent with every heartbeat) -------------------------------------------

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

    # -- peer tasks ----------------------------------------------------------------------------

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

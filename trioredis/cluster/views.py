"""What a node reports: ``TRIOCLUSTER INFO`` lines, the member views of ``TRIOCLUSTER NODES``
and SENTINEL, and whether a member is suspected down.

:class:`ViewsMixin` is a part of :class:`~.node.ClusterNode`, not a class of its own: its
methods read the node's state and change nothing. ``member_suspect`` is also the leader's
failure detector (the ticker in node.py logs the changes).
"""

from __future__ import annotations

import time

from .membership import LEADER, NEVER, Member


class ViewsMixin:
    """:class:`~.node.ClusterNode`'s reports of itself and of the group."""

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

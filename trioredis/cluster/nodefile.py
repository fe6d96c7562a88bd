"""The node file: what a node must remember across a restart to stay safe and recognisable.

Its id (so the group knows it again), its current term and the vote it gave in that term (a
node that forgot its vote could vote twice in one term and let two leaders be elected), the
last membership it knew (a majority is counted over it), and the terms it led (the log that
shows no two nodes ever led the same term). JSON, written to a temporary file, fsynced and
renamed over the old one, so a crash leaves either the old or the new state.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

from ..errors import ConfigError


@dataclass
class NodeState:
    node_id: str = ""
    term: int = 0
    voted_for: str | None = None  # the candidate this node voted for in ``term``
    version: int = 0  # membership version
    members: list[dict] = field(default_factory=list)  # id, ip, port, bus_port
    terms_led: list[list[int]] = field(default_factory=list)  # [term, unix ms when elected]
    leader_id: str | None = None


class NodeFile:
    def __init__(self, path: str):
        self.path = path

    def exists(self) -> bool:
        return os.path.exists(self.path)

    def load(self) -> NodeState:
        try:
            with open(self.path, encoding="utf-8") as f:
                raw = json.load(f)
        except FileNotFoundError:
            return NodeState()
        except (OSError, ValueError) as e:
            raise ConfigError(f"cannot read the cluster node file {self.path}: {e}") from None
        if not isinstance(raw, dict):
            raise ConfigError(f"the cluster node file {self.path} is not a JSON object")
        return NodeState(
            node_id=str(raw.get("node_id") or ""),
            term=int(raw.get("term") or 0),
            voted_for=raw.get("voted_for"),
            version=int(raw.get("version") or 0),
            members=list(raw.get("members") or []),
            terms_led=[[int(t), int(ms)] for t, ms in raw.get("terms_led") or []],
            leader_id=raw.get("leader_id"),
        )

    def save(self, st: NodeState) -> None:
        data = json.dumps(
            {
                "node_id": st.node_id,
                "term": st.term,
                "voted_for": st.voted_for,
                "version": st.version,
                "members": st.members,
                "terms_led": st.terms_led,
                "leader_id": st.leader_id,
            },
            indent=1,
        )
        tmp = f"{self.path}.tmp-{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(data + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)

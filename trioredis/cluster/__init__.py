"""Built-in high availability: a group of nodes keeps one leader (a master) and followers.

A node runs in one of three modes, chosen at startup:

- standalone (the default): nothing here runs;
- bootstrap (``--cluster-bootstrap yes``): leader of a new group;
- join (``--cluster-join host:port``): asks the group for its leader and becomes its replica.

The pieces: :mod:`.nodefile` (identity, term and vote that survive a restart), :mod:`.peer`
(one RESP connection to another member), :mod:`.node` (the state machine: heartbeats, failure
detection, elections, fencing; with its parts :mod:`.membership`, :mod:`.elections`,
:mod:`.views`), :mod:`.settings` (the parameters). The wire protocol is the ``TRIOCLUSTER`` command
family (commands/cluster.py); Sentinel discovery is commands/sentinel.py.
docs/cluster.md describes the design and why it loses no write that WAIT confirmed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..extensions import SERVER_INIT
from .settings import cluster_mode, parse_addr

__all__ = ["cluster_mode", "cluster_of", "install", "parse_addr"]

if TYPE_CHECKING:
    from ..core import Server
    from .node import ClusterNode


def cluster_of(server: Server) -> ClusterNode | None:
    """The server's cluster node, or None in standalone mode."""
    return getattr(server, "cluster", None)


def _attach(server: Server) -> None:
    server.cluster = None
    if cluster_mode(server.config) == "standalone":
        return
    from .node import ClusterNode

    node = ClusterNode(server)
    server.cluster = node
    server.add_hook("tasks", node.run)


def install() -> None:
    """Called by commands/cluster.py at import: attach to every Server made from now on."""
    if _attach not in SERVER_INIT:
        SERVER_INIT.append(_attach)

"""Built-in high availability: a group of nodes keeps one leader (a master) and followers.

A node runs in one of three modes, chosen at startup:

- standalone (the default): nothing here runs;
- bootstrap (``--cluster-bootstrap yes``): leader of a new group;
- join (``--cluster-join host:port``): asks the group for its leader and becomes its replica.

The pieces: :mod:`.nodefile` (identity, term and vote that survive a restart), :mod:`.peer`
(one RESP connection to another member), :mod:`.node` (the state machine: heartbeats,
failure detection, elections, fencing). The wire protocol is the ``TRIOCLUSTER`` command
family (commands/cluster.py); Sentinel discovery is commands/sentinel.py.
docs/cluster.md describes the design and why it loses no write that WAIT confirmed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..config import ConfigError, param

if TYPE_CHECKING:
    from ..core import Server
    from .node import ClusterNode


def _parse_flag(text: str) -> bool:
    """``--cluster-bootstrap`` alone means yes; otherwise yes/no like any bool."""
    t = text.strip().lower()
    if t in ("", "yes"):
        return True
    if t == "no":
        return False
    raise ConfigError("argument must be 'yes' or 'no'")


def _parse_join(text: str) -> str:
    t = text.strip()
    if t and parse_addr(t) is None:
        raise ConfigError("argument must be host:port")
    return t


def parse_addr(text: str) -> tuple[str, int] | None:
    """``host:port`` (or ``host port``) -> (host, port), None when malformed."""
    t = text.strip()
    if " " in t:
        host, _, port = t.partition(" ")
    else:
        host, _, port = t.rpartition(":")
    host = host.strip().strip("[]")
    try:
        p = int(port)
    except ValueError:
        return None
    if not host or not 0 < p < 65536:
        return None
    return host, p


param("cluster-bootstrap", "special", False, mutable=False, parse=_parse_flag,
      render=lambda v: "yes" if v else "no")
param("cluster-join", "special", "", mutable=False, parse=_parse_join, render=str)
param("cluster-node-id", "str", "", mutable=False, aliases=("node-id",))
param("cluster-port", "int", 0, mutable=False, minimum=0, maximum=65535)
param("cluster-announce-ip", "str", "", mutable=False)
param("cluster-announce-port", "int", 0, mutable=False, minimum=0, maximum=65535)
param("cluster-announce-bus-port", "int", 0, mutable=False, minimum=0, maximum=65535)
param("cluster-heartbeat-ms", "int", 1000, minimum=10, maximum=60_000)
param("cluster-node-timeout", "int", 15000, minimum=50, maximum=3_600_000)
param("cluster-config-file", "str", "trioredis-cluster.json", mutable=False)
param("cluster-group-name", "str", "trioredis")


def cluster_mode(config) -> str:
    """standalone, bootstrap or join."""
    # .get: a Config made before this module was imported lacks these parameters.
    if config.get("cluster-bootstrap"):
        return "bootstrap"
    if config.get("cluster-join"):
        return "join"
    return "standalone"


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
    from ..core import SERVER_INIT

    if _attach not in SERVER_INIT:
        SERVER_INIT.append(_attach)

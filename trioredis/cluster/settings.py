"""The HA group's parameters and the helpers that read them (below :mod:`.node`, which uses
them, and the package, which chooses a mode at start-up)."""

from __future__ import annotations

from ..config import param
from ..errors import ConfigError


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


# trioredis's own parameters are hidden from CONFIG GET patterns (as Redis hides its test
# knobs), so that CONFIG GET * lists Redis's parameters; an exact name shows them.
param("cluster-bootstrap", "special", False, mutable=False, parse=_parse_flag,
      render=lambda v: "yes" if v else "no", hidden=True)
param("cluster-join", "special", "", mutable=False, parse=_parse_join, render=str, hidden=True)
param("cluster-node-id", "str", "", mutable=False, aliases=("node-id",), hidden=True)
param("cluster-port", "int", 0, mutable=False, minimum=0, maximum=65535)
param("cluster-announce-ip", "str", "", mutable=False)
param("cluster-announce-port", "int", 0, mutable=False, minimum=0, maximum=65535)
param("cluster-announce-bus-port", "int", 0, mutable=False, minimum=0, maximum=65535)
param("cluster-heartbeat-ms", "int", 1000, minimum=10, maximum=60_000, hidden=True)
param("cluster-node-timeout", "int", 15000, minimum=50, maximum=3_600_000)
param("cluster-config-file", "str", "trioredis-cluster.json", mutable=False)
param("cluster-group-name", "str", "trioredis", hidden=True)


def cluster_mode(config) -> str:
    """standalone, bootstrap or join."""
    # .get: a Config made before this module was imported lacks these parameters.
    if config.get("cluster-bootstrap"):
        return "bootstrap"
    if config.get("cluster-join"):
        return "join"
    return "standalone"

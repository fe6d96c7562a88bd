"""The dashboard's server view: a read-only snapshot of INFO, for the ``info`` subscription.

``snapshot(server)`` reads the same INFO text a client gets (every section hook included) and
the HA node's member views, and shapes what the page shows: ops/s, clients, memory against
maxmemory, hit ratio, the busiest commands, and the replication / HA topology with each
replica's lag. It runs no command and changes nothing. Sans-I/O: the session sends it.
"""

from __future__ import annotations

from ..cluster import cluster_of
from ..info import ALL_SECTIONS, info_text

MIN_INTERVAL = 250  # ms between snapshots, at least ...
MAX_INTERVAL = 60_000  # ... and at most
DEFAULT_INTERVAL = 1000
TOP_COMMANDS = 12


def info_sections(server) -> dict[str, dict[str, str]]:
    """INFO everything as ``{section: {field: value}}`` (section names lower-case)."""
    out: dict[str, dict[str, str]] = {}
    cur: dict[str, str] = {}
    for line in info_text(server, list(ALL_SECTIONS)).decode("utf-8", "replace").split("\r\n"):
        if line.startswith("# "):
            cur = out.setdefault(line[2:].strip().lower(), {})
        elif ":" in line:
            k, _, v = line.partition(":")
            cur[k] = v
    return out


def kv(text: str) -> dict[str, str]:
    """``a=1,b=2`` (commandstats, keyspace, slaveN lines) -> dict."""
    return dict(p.partition("=")[::2] for p in text.split(",") if "=" in p)


def _int(v, default: int = 0) -> int:
    try:
        return int(float(v))
    except (TypeError, ValueError):
        return default


def snapshot(server) -> dict:
    info = info_sections(server)
    stats = info.get("stats", {})
    clients = info.get("clients", {})
    mem = info.get("memory", {})
    repl = info.get("replication", {})
    hits = _int(stats.get("keyspace_hits"))
    misses = _int(stats.get("keyspace_misses"))
    commands = []
    for field, value in info.get("commandstats", {}).items():
        d = kv(value)
        commands.append({"name": field.removeprefix("cmdstat_"), "calls": _int(d.get("calls")),
                         "usec_per_call": float(d.get("usec_per_call") or 0),
                         "failed": _int(d.get("failed_calls"))})
    commands.sort(key=lambda c: (-c["calls"], c["name"]))
    keys = sum(_int(kv(v).get("keys")) for v in info.get("keyspace", {}).values())
    return {
        "op": "info",
        "time_ms": _int(info.get("server", {}).get("server_time_usec")) // 1000,
        "uptime_s": _int(info.get("server", {}).get("uptime_in_seconds")),
        "version": info.get("server", {}).get("redis_version", ""),
        "ops_per_sec": _int(stats.get("instantaneous_ops_per_sec")),
        "commands_processed": _int(stats.get("total_commands_processed")),
        "connected_clients": _int(clients.get("connected_clients")),
        "blocked_clients": _int(clients.get("blocked_clients")),
        "used_memory": _int(mem.get("used_memory")),
        "maxmemory": _int(mem.get("maxmemory")),
        "maxmemory_policy": mem.get("maxmemory_policy", ""),
        "keyspace_hits": hits,
        "keyspace_misses": misses,
        "hit_ratio": hits / (hits + misses) if hits + misses else None,
        "keys": keys,
        "commands": commands[:TOP_COMMANDS],
        "replication": _replication(repl),
        "ha": _ha(server),
    }


def _replication(repl: dict[str, str]) -> dict:
    offset = _int(repl.get("master_repl_offset"))
    out = {"role": repl.get("role", "master"), "offset": offset, "replicas": []}
    for field, value in repl.items():
        if field.startswith("slave") and field[5:].isdigit():
            d = kv(value)
            off = _int(d.get("offset"))
            out["replicas"].append({"addr": f"{d.get('ip', '')}:{d.get('port', '')}",
                                    "state": d.get("state", ""), "offset": off,
                                    "behind": max(offset - off, 0), "lag_s": _int(d.get("lag"))})
    if out["role"] == "slave":
        out["master"] = {"addr": f"{repl.get('master_host', '')}:{repl.get('master_port', '')}",
                         "link": repl.get("master_link_status", ""),
                         "last_io_s": _int(repl.get("master_last_io_seconds_ago"), -1),
                         "offset": _int(repl.get("slave_repl_offset"))}
    return out


def _ha(server) -> dict | None:
    node = cluster_of(server)
    if node is None:
        return None
    view = dict(line.split(":", 1) for line in node.info_lines())
    return {
        "term": _int(view.get("cluster_current_term")),
        "role": view.get("cluster_role", ""),
        "leader": view.get("cluster_leader_addr", ""),
        "state": view.get("cluster_state", ""),
        "members": [{"id": m["id"], "addr": f"{m['ip']}:{m['port']}", "role": m["role"],
                     "offset": m["offset"], "last_heartbeat_ms": m["last-heartbeat-ms"],
                     "suspect": m["suspect"], "myself": m["myself"]}
                    for m in node.views()],
    }


def parse_interval(req: dict) -> int:
    """The ``interval`` of an ``info`` request, clamped to [MIN_INTERVAL, MAX_INTERVAL] ms."""
    from .protocol import BADREQUEST, RequestError

    v = req.get("interval", DEFAULT_INTERVAL)
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise RequestError(BADREQUEST, "'interval' must be a positive integer (ms)")
    return max(MIN_INTERVAL, min(v, MAX_INTERVAL))

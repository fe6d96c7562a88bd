"""Sentinel compatibility, both ways.

- Every member of a trioredis group answers Sentinel *discovery* for its group (named by
  ``cluster-group-name``): SENTINEL MASTERS / MASTER / GET-MASTER-ADDR-BY-NAME / REPLICAS /
  SLAVES / SENTINELS / MYID / CKQUORUM, with Redis Sentinel's field names and flags, so Sentinel
  clients (redis-py's ``Sentinel(...).master_for(name)``) find the leader and follow it through
  an election. Each member plays the part of one Sentinel. A standalone node answers SENTINEL
  as a plain Redis does: unknown command.
- Nodes *without* the built-in election can be run by a real redis-sentinel. What Sentinel sends
  that no other module provides lives here: SCRIPT KILL's NOTBUSY answer (only when no
  scripting module registers SCRIPT KILL) and Redis 7's FAILOVER.
"""

from __future__ import annotations

import time

from ..cluster import cluster_of
from ..cluster.failover import failover_command
from ..errors import CommandError, unknown_command
from ..protocol.replies import NULL_ARRAY, Raw
from .registry import BY_NAME, command, container

_SENTINEL = container("sentinel", group="sentinel", since="2.8.4",
                      summary="A container for Sentinel commands")
_SENTINEL.complexity = "Depends on subcommand."
# Only a group member has SENTINEL: on a standalone node it is an unknown command, and COMMAND
# LIST / COUNT / INFO / DOCS leave it out, as a plain Redis has no such command.
_SENTINEL.available = lambda server: cluster_of(server) is not None


def _node(c, argv):
    node = cluster_of(c.server)
    if node is None:
        raise CommandError(unknown_command(argv[0], argv[1:]))
    return node


def _group(c, argv, name: bytes):
    """The node, if ``name`` is our group's name (Sentinel's wording otherwise)."""
    node = _node(c, argv)
    if name.decode("utf-8", "replace") != c.server.config["cluster-group-name"]:
        raise CommandError("ERR No such master with that name")
    return node


def _b(v) -> bytes:
    return v if isinstance(v, bytes) else str(v).encode()


def _ms(now: float, t: float) -> int:
    return max(0, int((now - t) * 1000)) if t != float("-inf") else 0


def _leader(node):
    """The leader to report: the current one, else the last one known."""
    leader = node.leader()
    if leader is None and node.last_leader_id:
        leader = node.members.get(node.last_leader_id)
    return leader


def _common(node, name: str, ip: str, port: int, run_id: str, flags: list[str], last_ok: float,
            now: float) -> dict:
    down = "s_down" in flags
    d = {
        b"name": _b(name),
        b"ip": _b(ip),
        b"port": _b(port),
        b"runid": _b(run_id),
        b"flags": ",".join(flags).encode(),
        b"link-pending-commands": b"0",
        b"link-refcount": b"1",
        b"last-ping-sent": b"0",
        b"last-ok-ping-reply": _b(_ms(now, last_ok)),
        b"last-ping-reply": _b(_ms(now, last_ok)),
    }
    if down:
        d[b"s-down-time"] = _b(max(0, _ms(now, last_ok) - node.server.config["cluster-node-timeout"]))
    d[b"down-after-milliseconds"] = _b(node.server.config["cluster-node-timeout"])
    return d


def master_entry(node, now: float) -> dict | None:
    leader = _leader(node)
    if leader is None:
        return None
    alive = node.leader_alive(now)
    flags = [] if alive else ["s_down", "o_down"]
    flags.append("master")
    if node.electing or node.role == "candidate":
        flags.append("failover_in_progress")
    last_ok = now if leader is node.me else node.last_contact
    if leader is node.me and not alive:
        last_ok = node.fence_at - node.timeout_s()
    d = _common(node, node.server.config["cluster-group-name"], leader.ip, leader.port,
                leader.run_id, flags, last_ok, now)
    if not alive:
        d[b"o-down-time"] = d[b"s-down-time"]
    since = node.leader_since
    d.update({
        b"info-refresh": _b(_ms(now, last_ok)),
        b"role-reported": b"master",
        b"role-reported-time": _b(_ms(now, since)),
        b"config-epoch": _b(node.term),
        b"num-slaves": _b(len(node.members) - 1),
        b"num-other-sentinels": _b(len(node.members) - 1),
        b"quorum": _b(node.majority()),
        b"failover-timeout": _b(node.server.config["cluster-node-timeout"] * 3),
        b"parallel-syncs": b"1",
    })
    return d


def replica_entries(node, now: float) -> list[dict]:
    leader = _leader(node)
    out = []
    for m in node.members.values():
        if leader is not None and m is leader:
            continue
        suspect = node.member_suspect(m, now)
        flags = ["s_down", "slave", "disconnected"] if suspect else ["slave"]
        last_ok = now if m is node.me else m.last_ok
        d = _common(node, f"{m.ip}:{m.port}", m.ip, m.port, m.run_id, flags, last_ok, now)
        offset = node.offset() if m is node.me else m.offset
        linked = not suspect and leader is not None and node.leader_alive(now)
        d.update({
            b"info-refresh": _b(_ms(now, last_ok)),
            b"role-reported": b"slave",
            b"role-reported-time": _b(_ms(now, node.started)),
            b"master-link-down-time": b"0",
            b"master-link-status": b"ok" if linked else b"err",
            b"master-host": _b(leader.ip if leader is not None else "?"),
            b"master-port": _b(leader.port if leader is not None else 0),
            b"slave-priority": _b(node.server.config["replica-priority"]),
            b"slave-repl-offset": _b(offset),
            b"replica-announced": b"1",
        })
        out.append(d)
    return out


def sentinel_entries(node, now: float) -> list[dict]:
    out = []
    for m in node.members.values():
        if m is node.me:
            continue
        suspect = node.member_suspect(m, now)
        flags = ["s_down", "sentinel", "disconnected"] if suspect else ["sentinel"]
        d = _common(node, m.id, m.ip, m.port, m.id, flags, m.last_ok, now)
        d.update({
            b"last-hello-message": _b(_ms(now, m.last_ok)),
            b"voted-leader": b"?",
            b"voted-leader-epoch": b"0",
        })
        out.append(d)
    return out


_FLAGS = "admin sentinel loading stale"


@command("sentinel|masters", 2, _FLAGS, group="sentinel", since="2.8.4",
         complexity="O(N) where N is the number of masters")
def sentinel_masters(c, argv):
    """List the monitored masters and their state"""
    node = _node(c, argv)
    entry = master_entry(node, time.monotonic())
    return [entry] if entry is not None else []


@command("sentinel|master", 3, _FLAGS, group="sentinel", since="2.8.4", complexity="O(1)")
def sentinel_master(c, argv):
    """Show the state and info of the specified master"""
    node = _group(c, argv, argv[2])
    entry = master_entry(node, time.monotonic())
    if entry is None:
        raise CommandError("ERR No such master with that name")
    return entry


@command("sentinel|get-master-addr-by-name", 3, _FLAGS, group="sentinel", since="2.8.4",
         complexity="O(1)")
def sentinel_get_master_addr(c, argv):
    """Get the ip and port of the current master of a group"""
    node = _node(c, argv)
    if argv[2].decode("utf-8", "replace") != c.server.config["cluster-group-name"]:
        return NULL_ARRAY
    leader = _leader(node)
    if leader is None:
        return NULL_ARRAY
    return [leader.ip.encode(), str(leader.port).encode()]


@command("sentinel|replicas", 3, _FLAGS, group="sentinel", since="5.0.0",
         complexity="O(N) where N is the number of replicas")
def sentinel_replicas(c, argv):
    """List the replicas of a master and their state"""
    return replica_entries(_group(c, argv, argv[2]), time.monotonic())


@command("sentinel|slaves", 3, _FLAGS, group="sentinel", since="2.8.0",
         complexity="O(N) where N is the number of replicas")
def sentinel_slaves(c, argv):
    """List the replicas of a master and their state"""
    return replica_entries(_group(c, argv, argv[2]), time.monotonic())


@command("sentinel|sentinels", 3, _FLAGS, group="sentinel", since="2.8.4",
         complexity="O(N) where N is the number of Sentinels")
def sentinel_sentinels(c, argv):
    """List the other Sentinels (the other group members) and their state"""
    return sentinel_entries(_group(c, argv, argv[2]), time.monotonic())


@command("sentinel|myid", 2, _FLAGS, group="sentinel", since="6.2.0", complexity="O(1)")
def sentinel_myid(c, argv):
    """Return this Sentinel's id (the node id)"""
    return _node(c, argv).id.encode()


@command("sentinel|ckquorum", 3, _FLAGS, group="sentinel", since="2.8.4", complexity="O(1)")
def sentinel_ckquorum(c, argv):
    """Check whether a majority of the group is reachable (an election can succeed)"""
    node = _group(c, argv, argv[2])
    now = time.monotonic()
    usable = sum(1 for m in node.members.values() if not node.member_suspect(m, now))
    if usable >= node.majority():
        return Raw(b"+OK %d usable Sentinels. Quorum and failover authorization can be "
                   b"reached\r\n" % usable)
    raise CommandError(
        f"NOQUORUM {usable} usable Sentinels. Not enough available Sentinels to reach the "
        "specified quorum for this master. Not enough available Sentinels to reach the "
        "majority and authorize a failover"
    )


@command("sentinel|help", 2, "loading stale", group="sentinel", since="6.2.0", complexity="O(1)")
def sentinel_help(c, argv):
    """Show helpful text about the different subcommands"""
    _node(c, argv)
    return [
        "SENTINEL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CKQUORUM <master-name>",
        "    Check if a majority of the group is reachable.",
        "GET-MASTER-ADDR-BY-NAME <master-name>",
        "    Return the ip and port number of the master with that name.",
        "MASTER <master-name>",
        "    Show the state and info of the specified master.",
        "MASTERS",
        "    Show a list of monitored masters and their state.",
        "MYID",
        "    Return the ID of the Sentinel instance.",
        "REPLICAS <master-name>",
        "    Show a list of replicas for this master and their state.",
        "SENTINELS <master-name>",
        "    Show a list of Sentinel instances for this master and their state.",
        "HELP",
        "    Prints this help.",
    ]


# -- what a real Sentinel sends to the nodes it manages --------------------------------------

if "script|kill" not in BY_NAME:  # a scripting module, when there is one, answers instead

    @command("script|kill", 2, "noscript allow_busy", group="scripting", since="2.6.0",
             complexity="O(1)")
    def script_kill(c, argv):
        """Kill the script currently in execution."""
        raise CommandError("NOTBUSY No scripts in execution right now.")


command("failover", -1, "admin noscript stale", group="server", since="6.2.0",
        complexity="O(1)",
        summary="Start a coordinated failover between this server and one of its replicas.")(
    failover_command)

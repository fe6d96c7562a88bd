"""TRIOCLUSTER: the wire protocol between group members and the operator's view of the group.

Members talk over ordinary RESP connections (the client port, or ``--cluster-port``):

- ``JOIN id ip port bus-port run-id``: ask to join; the leader answers
  ``OK term leader-id version members``, another member ``REDIRECT term id ip port bus-port``.
- ``HEARTBEAT term leader-id version members``: the leader's heartbeat, with the member list
  (JSON) and its version; the answer is ``term id offset accepted data-term run-id``.
- ``REQUESTVOTE term candidate-id data-term offset VOTE|PREVOTE``: answer ``term granted``.

For operators (named after Redis Cluster's CLUSTER INFO / NODES / MYID / FORGET):
``INFO``, ``NODES``, ``MEMBERS`` (the same as maps), ``TERMS`` (the terms this node led),
``MYID``, ``LEADER``, ``FORGET id`` (on the leader), ``HELP``. docs/cluster.md has the details.
"""

from __future__ import annotations

from ..cluster import cluster_of, install
from ..errors import CommandError
from ..protocol.replies import NULL_ARRAY, OK, Verbatim
from .args import parse_int
from .registry import command, container

install()

container("triocluster", group="server", since="7.0.0",
          summary="A container for trioredis group (high availability) commands").complexity = (
    "Depends on subcommand.")

NOT_CLUSTER = ("ERR This node is not part of a trioredis group (start it with "
               "--cluster-bootstrap or --cluster-join)")


def _node(c):
    node = cluster_of(c.server)
    if node is None:
        raise CommandError(NOT_CLUSTER)
    return node


def _text(b: bytes) -> str:
    return b.decode("utf-8", "replace")


@command("triocluster|join", 7, "admin noscript loading stale", group="server", since="7.0.0",
         complexity="O(N) where N is the number of members")
def triocluster_join(c, argv):
    """Ask to join the group (sent by a starting node to a seed member)"""
    node = _node(c)
    return node.on_join(_text(argv[2]), _text(argv[3]), parse_int(argv[4]), parse_int(argv[5]),
                        _text(argv[6]))


@command("triocluster|heartbeat", 6, "admin noscript loading stale fast", group="server",
         since="7.0.0", complexity="O(N) where N is the number of members")
def triocluster_heartbeat(c, argv):
    """The leader's heartbeat, carrying the member list"""
    node = _node(c)
    return node.on_heartbeat(parse_int(argv[2]), _text(argv[3]), parse_int(argv[4]), argv[5])


@command("triocluster|requestvote", 7, "admin noscript loading stale fast", group="server",
         since="7.0.0", complexity="O(1)")
def triocluster_requestvote(c, argv):
    """A candidate asks for a vote (or a pre-vote) in a term"""
    node = _node(c)
    kind = argv[6].upper()
    if kind not in (b"VOTE", b"PREVOTE"):
        raise CommandError("ERR syntax error")
    return node.on_request_vote(parse_int(argv[2]), _text(argv[3]), parse_int(argv[4]),
                                parse_int(argv[5]), kind == b"PREVOTE")


@command("triocluster|info", 2, "loading stale", group="server", since="7.0.0",
         complexity="O(1)")
def triocluster_info(c, argv):
    """The state of this node and of its group"""
    node = _node(c)
    repl = c.server.replication
    lines = node.info_lines() + [
        f"cluster_sync_full:{repl.sync_full}",
        f"cluster_sync_partial_ok:{repl.sync_partial_ok}",
        f"cluster_sync_partial_err:{repl.sync_partial_err}",
    ]
    return Verbatim("".join(line + "\r\n" for line in lines).encode())


@command("triocluster|members", 2, "loading stale", group="server", since="7.0.0",
         complexity="O(N) where N is the number of members")
def triocluster_members(c, argv):
    """Every member: id, address, role, term, offset, last heartbeat"""
    node = _node(c)
    out = []
    for v in node.views():
        out.append({
            b"id": v["id"].encode(),
            b"ip": v["ip"].encode(),
            b"port": v["port"],
            b"bus-port": v["bus-port"],
            b"role": v["role"].encode(),
            b"term": v["term"],
            b"offset": v["offset"],
            b"last-heartbeat-ms": v["last-heartbeat-ms"],
            b"flags": _flags(v).encode(),
        })
    return out


def _flags(v: dict) -> str:
    flags = []
    if v["myself"]:
        flags.append("myself")
    flags.append("master" if v["role"] == "leader" else "slave")
    if v["suspect"]:
        flags.append("fail?")
    return ",".join(flags)


@command("triocluster|nodes", 2, "loading stale", group="server", since="7.0.0",
         complexity="O(N) where N is the number of members")
def triocluster_nodes(c, argv):
    """The member list, one line per member, in the style of CLUSTER NODES"""
    node = _node(c)
    lines = []
    for v in node.views():
        leader = "-" if v["role"] == "leader" or not node.leader_id else node.leader_id
        lines.append(
            f"{v['id']} {v['ip']}:{v['port']}@{v['bus-port']} {_flags(v)} {leader} "
            f"{v['last-heartbeat-ms']} {v['offset']} {v['term']} {v['link']}\n"
        )
    return Verbatim("".join(lines).encode())


@command("triocluster|terms", 2, "loading stale", group="server", since="7.0.0",
         complexity="O(N) where N is the number of terms this node led")
def triocluster_terms(c, argv):
    """The terms this node was elected leader in, with the election time (unix ms)"""
    node = _node(c)
    return [[term, ms] for term, ms in node.terms_led]


@command("triocluster|myid", 2, "loading stale fast", group="server", since="7.0.0",
         complexity="O(1)")
def triocluster_myid(c, argv):
    """This node's id"""
    return _node(c).id.encode()


@command("triocluster|leader", 2, "loading stale fast", group="server", since="7.0.0",
         complexity="O(1)")
def triocluster_leader(c, argv):
    """The leader this node knows: id, ip, port and term (null when none is known)"""
    node = _node(c)
    leader = node.leader()
    if leader is None:
        return NULL_ARRAY
    return [leader.id.encode(), leader.ip.encode(), leader.port, node.term]


@command("triocluster|forget", 3, "admin noscript loading stale", group="server", since="7.0.0",
         complexity="O(N) where N is the number of members")
def triocluster_forget(c, argv):
    """Remove a (dead) member from the group; send it to the leader"""
    _node(c).forget(_text(argv[2]))
    return OK


@command("triocluster|help", 2, "loading stale", group="server", since="7.0.0",
         complexity="O(1)")
def triocluster_help(c, argv):
    """Show helpful text about the different subcommands"""
    return [
        "TRIOCLUSTER <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "INFO",
        "    Return information about this node and its group.",
        "NODES",
        "    Return the member list, one line per member.",
        "MEMBERS",
        "    Return the member list as maps (id, ip, port, role, term, offset, ...).",
        "TERMS",
        "    Return the terms this node led, with their start time (unix ms).",
        "MYID",
        "    Return this node's id.",
        "LEADER",
        "    Return the leader this node knows: id, ip, port, term.",
        "FORGET <node-id>",
        "    Remove a member from the group (send to the leader).",
        "JOIN <node-id> <ip> <port> <bus-port> <run-id>",
        "    Internal: ask to join the group.",
        "HEARTBEAT <term> <leader-id> <version> <members>",
        "    Internal: the leader's heartbeat.",
        "REQUESTVOTE <term> <candidate-id> <data-term> <offset> VOTE|PREVOTE",
        "    Internal: ask for a vote.",
        "HELP",
        "    Prints this help.",
    ]

"""nodes.conf: the cluster configuration a node saves on every change and restarts into.

Redis's format (clusterGenNodesDescription without handshake nodes, then
``vars currentEpoch N lastVoteEpoch M``). Written to a temporary file, fsynced, renamed over
the old one and the directory fsynced, so a crash leaves the old or the new file whole.
"""

from __future__ import annotations

import os

from ..errors import ConfigError
from . import bus
from .node import Node, parse_address, parse_flags
from .state import ClusterState


def render(state: ClusterState, *, for_file: bool = True) -> str:
    """CLUSTER NODES text (``for_file=False``) or nodes.conf content."""
    lines = []
    for node in state.nodes.values():
        if for_file and node.flags & bus.F_HANDSHAKE:
            continue
        lines.append(node.describe(state.migrating, state.importing))
    text = "\n".join(lines) + "\n"
    if for_file:
        text += f"vars currentEpoch {state.current_epoch} lastVoteEpoch {state.last_vote_epoch}\n"
    return text


def save(path: str, text: str, fsync: bool = True) -> None:
    """Replace ``path`` with ``text``; ``fsync``: durable before returning (epochs and votes
    must survive a crash; Redis 7.0 fsyncs those changes and not mere slot moves)."""
    tmp = f"{path}.tmp-{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        data = text.encode()
        while data:
            n = os.write(fd, data)
            data = data[n:]
        if fsync:
            os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    if not fsync:
        return
    dfd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def load(path: str, settings, now: int) -> ClusterState | None:
    """The state saved in ``path``; None when there is no file (or it is empty)."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        return None
    if not text.strip():
        return None
    try:
        return parse(text, settings, now)
    except (ValueError, IndexError, KeyError, ConfigError) as e:
        raise ConfigError(f"Unrecoverable error: corrupted cluster config file \"{path}\" "
                          f"({e}).") from None


def parse(text: str, settings, now: int) -> ClusterState:
    rows = [line.split() for line in text.splitlines() if line.strip()]
    nodes: dict[str, Node] = {}
    myself = None
    epochs = {}
    masters: dict[str, str] = {}
    slot_specs: list[tuple[Node, list[str]]] = []
    for row in rows:
        if row[0] == "vars":
            for k, v in zip(row[1::2], row[2::2], strict=False):
                epochs[k] = int(v)
            continue
        if len(row) < 8:
            raise ValueError(f"line with {len(row)} fields")
        name = row[0]
        if len(name) != bus.NAMELEN:
            raise ValueError(f"bad node name {name!r}")
        n = nodes.get(name) or Node(name)
        nodes[name] = n
        n.ip, n.port, n.cport, n.hostname = parse_address(row[1])
        n.flags = parse_flags(row[2])
        if n.flags & bus.F_MYSELF:
            if myself is not None:
                raise ValueError("two nodes flagged myself")
            myself = n
        if row[3] != "-":
            masters[name] = row[3]
        if int(row[4]):
            n.ping_sent = now
        if int(row[5]):
            n.pong_received = now
        n.config_epoch = int(row[6])
        n.ctime = now
        slot_specs.append((n, row[8:]))
    if myself is None:
        raise ValueError("no node flagged myself")
    state = ClusterState(settings, now, myself=myself)
    for n in nodes.values():
        state.add_node(n)
    for name, master_name in masters.items():
        master = nodes.get(master_name)
        if master is None:
            master = nodes[master_name] = Node(master_name, bus.F_MASTER)
            master.ctime = now
            state.add_node(master)
        n = nodes[name]
        n.master = master
        master.replicas.append(n)
        master.flags |= bus.F_MIGRATE_TO  # clusterNodeAddSlave
    for n, specs in slot_specs:
        for spec in specs:
            if spec.startswith("["):
                slot_text, arrow, other = _open_slot(spec)
                peer = nodes.get(other)
                if peer is None:
                    raise ValueError(f"unknown node {other} in {spec}")
                if arrow == "->-":
                    state.migrating[int(slot_text)] = peer
                else:
                    state.importing[int(slot_text)] = peer
                continue
            start, _, end = spec.partition("-")
            first, last = int(start), int(end or start)
            if not 0 <= first <= last < 16384:
                raise ValueError(f"bad slot range {spec}")
            for slot in range(first, last + 1):
                state.add_slot(n, slot)
    state.current_epoch = epochs.get("currentEpoch", 0)
    state.last_vote_epoch = epochs.get("lastVoteEpoch", 0)
    for n in nodes.values():  # a current epoch below a config epoch is impossible
        state.current_epoch = max(state.current_epoch, n.config_epoch)
    return state


def _open_slot(spec: str) -> tuple[str, str, str]:
    body = spec.strip("[]")
    for arrow in ("->-", "-<-"):
        if arrow in body:
            slot, _, other = body.partition(arrow)
            return slot, arrow, other
    raise ValueError(f"bad open slot {spec}")

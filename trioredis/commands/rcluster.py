"""CLUSTER (Redis Cluster, ``cluster-enabled yes``) and READONLY / READWRITE / ASKING.

The node itself lives in :mod:`trioredis.rcluster`; these handlers read and change its state
and reply as Redis 7.0's clusterCommand. Without cluster-enabled every subcommand answers
that cluster support is disabled, as Redis does. (TRIOCLUSTER, the HA group, is
commands/cluster.py.)
"""

from __future__ import annotations

import time

from ..errors import NOT_INTEGER, SYNTAX, CommandError
from ..extensions import SERVER_INIT
from ..protocol.replies import OK, Verbatim
from ..rcluster import bus, failover, nodesconf
from ..rcluster.node import Node, random_name
from ..rcluster.routing import endpoint
from ..rcluster.runtime import attach
from ..rcluster.slots import SLOTS, bitmap_slots, key_slot
from .args import to_int
from .registry import BY_NAME, command, container

CLUSTER_DISABLED = "ERR This instance has cluster support disabled"
INVALID_SLOT = "ERR Invalid or out of range slot"

if attach not in SERVER_INIT:
    SERVER_INIT.append(attach)

container("cluster", group="cluster", since="3.0.0", summary="A container for Redis Cluster commands")


def _rc(c):
    rc = c.server.rcluster if hasattr(c.server, "rcluster") else None
    if rc is None:
        raise CommandError(CLUSTER_DISABLED)
    return rc


def _now() -> int:
    return int(time.time() * 1000)


def _node(rc, name: bytes) -> Node:
    n = rc.state.lookup(name)
    if n is None:
        raise CommandError(f"ERR Unknown node {name.decode(errors='replace')}")
    return n


def _slot_arg(b: bytes) -> int:
    """getSlotOrReply."""
    v = to_int(b)
    if v is None or not 0 <= v < SLOTS:
        raise CommandError(INVALID_SLOT)
    return v


def _done(rc, reply=OK):
    rc.state.update_state(_now())
    rc.flush_config()
    return reply


def _cmd(name, arity, flags="admin stale noscript", since="3.0.0", summary=""):
    return command(f"cluster|{name}", arity, flags, group="cluster", since=since,
                   summary=summary)


# -- introspection -----------------------------------------------------------------------------


@_cmd("myid", 2, "stale", summary="Return the node id")
def cluster_myid(c, argv):
    return _rc(c).state.myself.bname


@_cmd("nodes", 2, "stale", summary="Get Cluster config for the node")
def cluster_nodes(c, argv):
    return Verbatim(nodesconf.render(_rc(c).state, for_file=False).encode())


@_cmd("info", 2, "stale", summary="Provides info about Redis Cluster node state")
def cluster_info(c, argv):
    rc = _rc(c)
    st = rc.state
    assigned = ok = pfail = fail = 0
    for owner in st.slots:
        if owner is None:
            continue
        assigned += 1
        if owner.flags & bus.F_FAIL:
            fail += 1
        elif owner.flags & bus.F_PFAIL:
            pfail += 1
        else:
            ok += 1
    lines = [f"cluster_state:{'ok' if st.state_ok else 'fail'}",
             f"cluster_slots_assigned:{assigned}", f"cluster_slots_ok:{ok}",
             f"cluster_slots_pfail:{pfail}", f"cluster_slots_fail:{fail}",
             f"cluster_known_nodes:{len(st.nodes)}", f"cluster_size:{st.size}",
             f"cluster_current_epoch:{st.current_epoch}",
             f"cluster_my_epoch:{st.master_of_myself().config_epoch}"]
    for kind, counts in (("sent", st.stats_sent), ("received", st.stats_received)):
        for t, n in enumerate(counts):
            if n:
                lines.append(f"cluster_stats_messages_{bus.TYPE_NAMES[t]}_{kind}:{n}")
        lines.append(f"cluster_stats_messages_{kind}:{sum(counts)}")
    lines.append("total_cluster_links_buffer_limit_exceeded:0")
    return Verbatim(("\r\n".join(lines) + "\r\n").encode())


def _node_entry(rc, n: Node) -> list:
    """addNodeToNodeReply: preferred endpoint, port, id, extra metadata."""
    meta = {}  # a map, as Redis's addReplyMapLen (RESP2: a flat array)
    kind = rc.server.config["cluster-preferred-endpoint-type"]
    if kind == "ip" and n.hostname:
        meta = {b"hostname": n.hostname.encode()}
    elif kind == "hostname" and n.ip:
        meta = {b"ip": n.ip.encode()}
    return [endpoint(rc, n).encode(), n.port, n.bname, meta]


@_cmd("slots", 2, "stale", summary="Get array of Cluster slot to node mappings")
def cluster_slots(c, argv):
    rc = _rc(c)
    out = []
    slots = rc.state.slots
    start = 0
    while start < SLOTS:  # by slot, as Redis 7.0's clusterReplyMultiBulkSlots
        n = slots[start]
        end = start
        while end + 1 < SLOTS and slots[end + 1] is n:
            end += 1
        if n is not None:
            replicas = [r for r in n.replicas if not r.flags & bus.F_FAIL]
            out.append([start, end, _node_entry(rc, n)] + [_node_entry(rc, r) for r in replicas])
        start = end + 1
    return out


def _health(rc, n: Node) -> bytes:
    if n.flags & bus.F_FAIL:
        return b"failed"
    if n.is_replica and n.repl_offset == 0 and n is not rc.state.myself:
        return b"loading"
    if n is rc.state.myself and n.is_replica and c_loading(rc):
        return b"loading"
    return b"online"


def c_loading(rc) -> bool:
    link = rc.server.master_link
    return link is None or not link.is_up()


@_cmd("shards", 2, "stale", since="7.0.0", summary="Get array of cluster slots to node mappings")
def cluster_shards(c, argv):
    rc = _rc(c)
    out = []
    for n in rc.state.nodes.values():
        if not n.is_master:
            continue
        slots = []
        for start, end in n.slot_ranges():
            slots += [start, end]
        nodes = []
        for m in [n] + n.replicas:
            d = {b"id": m.bname, b"port": m.port, b"ip": m.ip.encode(),
                 b"endpoint": endpoint(rc, m).encode()}
            if m.hostname:
                d[b"hostname"] = m.hostname.encode()
            d[b"role"] = b"master" if m.is_master else b"replica"
            d[b"replication-offset"] = (rc.server.master_repl_offset
                                        if m is rc.state.myself else m.repl_offset)
            d[b"health"] = _health(rc, m)
            nodes.append(d)
        out.append({b"slots": slots, b"nodes": nodes})
    return out


@_cmd("links", 2, "stale", since="7.0.0", summary="Returns a list of all TCP links to and from "
      "peer nodes in cluster")
def cluster_links(c, argv):
    rc = _rc(c)
    out = []
    for n in rc.state.nodes.values():
        for direction, link in ((b"to", n.link), (b"from", n.inbound_link)):
            if link is None:
                continue
            out.append({b"direction": direction, b"node": n.bname, b"create-time": link.ctime,
                        b"events": b"r", b"send-buffer-allocated": 0, b"send-buffer-used": 0})
    return out


@_cmd("keyslot", 3, "stale", summary="Returns the hash slot of the specified key")
def cluster_keyslot(c, argv):
    _rc(c)
    return key_slot(argv[2])


@_cmd("countkeysinslot", 3, "stale", summary="Return the number of local keys in the specified "
      "hash slot")
def cluster_countkeysinslot(c, argv):
    rc = _rc(c)
    slot = to_int(argv[2])
    if slot is None:
        raise CommandError(NOT_INTEGER)
    if not 0 <= slot < SLOTS:
        raise CommandError("ERR Invalid slot")
    return rc.count_keys(slot)


@_cmd("getkeysinslot", 4, "stale", summary="Return local key names in the specified hash slot")
def cluster_getkeysinslot(c, argv):
    rc = _rc(c)
    slot, count = to_int(argv[2]), to_int(argv[3])
    if slot is None or count is None:
        raise CommandError(NOT_INTEGER)
    if count < 0 or not 0 <= slot < SLOTS:
        raise CommandError("ERR Invalid slot or number of keys")
    return rc.slot_index().keys(slot, count)


@_cmd("count-failure-reports", 3, summary="Return the number of failure reports active for a "
      "given node")
def cluster_count_failure_reports(c, argv):
    rc = _rc(c)
    return rc.state.valid_fail_reports(_node(rc, argv[2]), _now())


def _replica_lines(rc, master: Node) -> list:
    return [r.describe().encode() for r in master.replicas]


def _replicas(c, argv):
    rc = _rc(c)
    n = _node(rc, argv[2])
    if not n.is_master:
        raise CommandError("ERR The specified node is not a master")
    return _replica_lines(rc, n)


_cmd("replicas", 3, summary="List replica nodes of the specified master node")(_replicas)
_cmd("slaves", 3, summary="List replica nodes of the specified master node")(_replicas)


# -- slots -------------------------------------------------------------------------------------


def _check_new_slots(rc, slots: list[int], adding: bool) -> None:
    seen = set()
    for slot in slots:
        if adding and rc.state.slots[slot] is not None:
            raise CommandError(f"ERR Slot {slot} is already busy")
        if not adding and rc.state.slots[slot] is None:
            raise CommandError(f"ERR Slot {slot} is already unassigned")
        if slot in seen:
            raise CommandError(f"ERR Slot {slot} specified multiple times")
        seen.add(slot)


def _apply_slots(rc, slots: list[int], adding: bool):
    st = rc.state
    for slot in slots:
        if adding:
            st.importing.pop(slot, None)  # the owner now: no longer importing
            st.add_slot(st.myself, slot)
        else:
            st.del_slot(slot)
    st.on_save()
    return _done(rc)


def _not_replica(rc) -> None:
    if rc.state.myself.is_replica:
        raise CommandError("ERR Please use SETSLOT only with masters.")


@_cmd("addslots", -3, summary="Assign new hash slots to receiving node")
def cluster_addslots(c, argv):
    rc = _rc(c)
    slots = [_slot_arg(a) for a in argv[2:]]
    _check_new_slots(rc, slots, True)
    return _apply_slots(rc, slots, True)


@_cmd("delslots", -3, summary="Set hash slots as unbound in receiving node")
def cluster_delslots(c, argv):
    rc = _rc(c)
    slots = [_slot_arg(a) for a in argv[2:]]
    _check_new_slots(rc, slots, False)
    return _apply_slots(rc, slots, False)


def _range_slots(c, argv) -> list[int]:
    if len(argv) % 2 == 1:
        raise CommandError(f"ERR wrong number of arguments for '{argv[0].decode().lower()}|"
                           f"{argv[1].decode().lower()}' command")
    slots: list[int] = []
    for a, b in zip(argv[2::2], argv[3::2], strict=False):
        start, end = _slot_arg(a), _slot_arg(b)
        if start > end:
            raise CommandError(f"ERR start slot number {start} is greater than end slot "
                               f"number {end}")
        slots.extend(range(start, end + 1))
    return slots


@_cmd("addslotsrange", -4, since="7.0.0", summary="Assign new hash slots to receiving node")
def cluster_addslotsrange(c, argv):
    rc = _rc(c)
    slots = _range_slots(c, argv)
    _check_new_slots(rc, slots, True)
    return _apply_slots(rc, slots, True)


@_cmd("delslotsrange", -4, since="7.0.0", summary="Set hash slots as unbound in receiving node")
def cluster_delslotsrange(c, argv):
    rc = _rc(c)
    slots = _range_slots(c, argv)
    _check_new_slots(rc, slots, False)
    return _apply_slots(rc, slots, False)


@_cmd("flushslots", 2, summary="Delete a node's own slots information")
def cluster_flushslots(c, argv):
    rc = _rc(c)
    if len(c.server.dbs[0].data):
        raise CommandError("ERR DB must be empty to perform CLUSTER FLUSHSLOTS.")
    st = rc.state
    for slot in bitmap_slots(st.myself.slots):
        st.del_slot(slot)
    st.on_save()
    return _done(rc)


@_cmd("setslot", -4, summary="Bind a hash slot to a specific node")
def cluster_setslot(c, argv):
    rc = _rc(c)
    st = rc.state
    me = st.myself
    _not_replica(rc)
    slot = _slot_arg(argv[2])
    action = argv[3].lower()
    if action == b"migrating" and len(argv) == 5:
        if st.slots[slot] is not me:
            raise CommandError(f"ERR I'm not the owner of hash slot {slot}")
        n = st.lookup(argv[4])
        if n is None:
            raise CommandError(f"ERR I don't know about node {argv[4].decode(errors='replace')}")
        if not n.is_master:
            raise CommandError("ERR Target node is not a master")
        st.migrating[slot] = n
    elif action == b"importing" and len(argv) == 5:
        if st.slots[slot] is me:
            raise CommandError(f"ERR I'm already the owner of hash slot {slot}")
        n = st.lookup(argv[4])
        if n is None:
            raise CommandError(f"ERR I don't know about node {argv[4].decode(errors='replace')}")
        if not n.is_master:
            raise CommandError("ERR Target node is not a master")
        st.importing[slot] = n
    elif action == b"stable" and len(argv) == 4:
        st.importing.pop(slot, None)
        st.migrating.pop(slot, None)
    elif action == b"node" and len(argv) == 5:
        n = st.lookup(argv[4])
        if n is None:
            raise CommandError(f"ERR Unknown node {argv[4].decode(errors='replace')}")
        if not n.is_master:
            raise CommandError("ERR Target node is not a master")
        if st.slots[slot] is me and n is not me and rc.count_keys(slot):
            raise CommandError(f"ERR Can't assign hashslot {slot} to a different node while I "
                               "still hold keys for this hash slot.")
        if slot in st.migrating and rc.count_keys(slot) == 0:
            del st.migrating[slot]
        if n is me and slot in st.importing:
            # The end of an import: own the slot under a new epoch without a vote.
            bump_epoch(st)
            del st.importing[slot]
        st.del_slot(slot)
        st.add_slot(n, slot)
    else:
        raise CommandError("ERR Invalid CLUSTER SETSLOT action or number of arguments. "
                           "Try CLUSTER HELP")
    st.on_save()
    return _done(rc)


def bump_epoch(st) -> bool:
    """clusterBumpConfigEpochWithoutConsensus: True when the epoch changed."""
    max_epoch = max([st.current_epoch] + [n.config_epoch for n in st.nodes.values()])
    me = st.myself
    if me.config_epoch == 0 or me.config_epoch != max_epoch:
        st.current_epoch += 1
        me.config_epoch = st.current_epoch
        st.on_save()
        return True
    return False


# -- membership and configuration --------------------------------------------------------------


@_cmd("meet", -4, summary="Force a node cluster to handshake with another node")
def cluster_meet(c, argv):
    rc = _rc(c)
    if len(argv) > 5:
        raise CommandError(SYNTAX)
    port = to_int(argv[3])
    if port is None:
        raise CommandError(f"ERR Invalid TCP base port specified: {argv[3].decode(errors='replace')}")
    if len(argv) == 5:
        cport = to_int(argv[4])
        if cport is None:
            raise CommandError(f"ERR Invalid TCP bus port specified: "
                               f"{argv[4].decode(errors='replace')}")
    else:
        cport = port + 10000
    ip = _normalize_ip(argv[2])
    if ip is None or not 0 < port <= 65535 or not 0 < cport <= 65535:
        raise CommandError(f"ERR Invalid node address specified: "
                           f"{argv[2].decode(errors='replace')}:{argv[3].decode(errors='replace')}")
    rc.state.start_handshake(ip, port, cport, _now())
    return OK


def _normalize_ip(b: bytes) -> str | None:
    import ipaddress

    try:
        return str(ipaddress.ip_address(b.decode()))
    except ValueError:
        return None


@_cmd("forget", 3, summary="Remove a node from the nodes table")
def cluster_forget(c, argv):
    rc = _rc(c)
    st = rc.state
    n = _node(rc, argv[2])
    if n is st.myself:
        raise CommandError("ERR I tried hard but I can't forget myself...")
    if st.myself.is_replica and st.myself.master is n:
        raise CommandError("ERR Can't forget my master!")
    st.blacklist[n.name] = _now() + 60_000
    st.del_node(n)
    st.on_save()
    return _done(rc)


@_cmd("replicate", 3, summary="Reconfigure a node as a replica of the specified master node")
def cluster_replicate(c, argv):
    rc = _rc(c)
    st = rc.state
    n = _node(rc, argv[2])
    if n is st.myself:
        raise CommandError("ERR I tried hard but I can't replicate myself")
    if n.is_replica:
        raise CommandError("ERR I can only replicate a master, not a replica.")
    me = st.myself
    if me.is_master and (me.numslots or len(c.server.dbs[0].data)):
        raise CommandError("ERR To set a master the node must be empty and without assigned "
                           "slots.")
    st.importing.clear()
    st.migrating.clear()
    st.set_replica_of(me, n)
    rc.follow(n)
    return _done(rc)


@_cmd("failover", -2, summary="Forces a replica to perform a manual failover of its master.")
def cluster_failover(c, argv):
    rc = _rc(c)
    st = rc.state
    mode = argv[2].lower() if len(argv) == 3 else b""
    if len(argv) > 3 or mode not in (b"", b"force", b"takeover"):
        raise CommandError(SYNTAX)
    me = st.myself
    if me.is_master:
        raise CommandError("ERR You should send CLUSTER FAILOVER to a replica")
    if me.master is None:
        raise CommandError("ERR I'm a replica but my master is unknown to me")
    if not mode:
        if me.master.failed or me.master.link is None:
            raise CommandError("ERR Master is down or failed, please use CLUSTER FAILOVER FORCE")
        failover.start_manual(st, _now())  # MFSTART; the master pauses, we catch up
    elif mode == b"takeover":
        failover.takeover(st, _now())
    else:
        failover.force(st, _now())
    return _done(rc)


@_cmd("saveconfig", 2, summary="Forces the node to save cluster state on disk")
def cluster_saveconfig(c, argv):
    rc = _rc(c)
    try:
        rc.save_config(fsync=True)
    except OSError as e:
        raise CommandError(f"ERR error saving the cluster node config: {e.strerror}") from None
    return OK


@_cmd("bumpepoch", 2, summary="Advance the cluster config epoch")
def cluster_bumpepoch(c, argv):
    rc = _rc(c)
    bumped = bump_epoch(rc.state)
    rc.flush_config()
    return f"{'BUMPED' if bumped else 'STILL'} {rc.state.myself.config_epoch}"


@_cmd("set-config-epoch", 3, summary="Set the configuration epoch in a new node")
def cluster_set_config_epoch(c, argv):
    rc = _rc(c)
    st = rc.state
    epoch = to_int(argv[2])
    if epoch is None:
        raise CommandError(NOT_INTEGER)
    if epoch < 0:
        raise CommandError(f"ERR Invalid config epoch specified: {epoch}")
    if len(st.nodes) > 1:
        raise CommandError("ERR The user can assign a config epoch only when the node does not "
                           "know any other node.")
    if st.myself.config_epoch != 0:
        raise CommandError("ERR Node config epoch is already non-zero")
    st.myself.config_epoch = epoch
    st.current_epoch = max(st.current_epoch, epoch)
    st.on_save()
    return _done(rc)


@_cmd("reset", -2, summary="Reset a Redis Cluster node")
def cluster_reset(c, argv):
    rc = _rc(c)
    hard = False
    if len(argv) == 3:
        mode = argv[2].lower()
        if mode == b"hard":
            hard = True
        elif mode != b"soft":
            raise CommandError(SYNTAX)
    elif len(argv) > 3:
        raise CommandError(SYNTAX)
    st = rc.state
    me = st.myself
    if me.is_master and len(c.server.dbs[0].data):
        raise CommandError("ERR CLUSTER RESET can't be called with master nodes containing keys")
    if me.is_replica:
        rc.unfollow()
        c.server.flush_all()
        st.set_node_as_master(me)
    st.importing.clear()
    st.migrating.clear()
    for slot in bitmap_slots(me.slots):
        st.del_slot(slot)
    for n in list(st.nodes.values()):
        if n is not me:
            st.del_node(n)
    if hard:
        st.current_epoch = st.last_vote_epoch = 0
        me.config_epoch = 0
        st.rename(me, random_name())
    st.on_save()
    return _done(rc)


@_cmd("help", 2, "loading stale", summary="Show helpful text about the different subcommands")
def cluster_help(c, argv):
    _rc(c)
    lines = [
        "CLUSTER <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "ADDSLOTS <slot> [<slot> ...]", "    Assign slots to current node.",
        "ADDSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
        "    Assign slots which are between <start-slot> and <end-slot> to current node.",
        "BUMPEPOCH", "    Advance the cluster config epoch.",
        "COUNT-FAILURE-REPORTS <node-id>",
        "    Return number of failure reports for <node-id>.",
        "COUNTKEYSINSLOT <slot>", "    Return the number of keys in <slot>.",
        "DELSLOTS <slot> [<slot> ...]", "    Delete slots information from current node.",
        "DELSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
        "    Delete slots information which are between <start-slot> and <end-slot> from "
        "current node.",
        "FLUSHSLOTS", "    Delete current node own slots information.",
        "FORGET <node-id>", "    Remove a node from the cluster.",
        "GETKEYSINSLOT <slot> <count>", "    Return key names stored by current node in a slot.",
        "INFO", "    Return information about the cluster.",
        "KEYSLOT <key>", "    Return the hash slot for <key>.",
        "MEET <ip> <port> [<bus-port>]", "    Connect nodes into a working cluster.",
        "MYID", "    Return the node id.",
        "NODES", "    Return cluster configuration seen by node. Output format:",
        "    <id> <ip:port> <flags> <master> <pings> <pongs> <epoch> <link> <slot> ...",
        "REPLICATE <node-id>", "    Configure current node as replica to <node-id>.",
        "RESET [HARD|SOFT]", "    Reset current node (default: soft).",
        "SET-CONFIG-EPOCH <epoch>", "    Set config epoch of current node.",
        "SETSLOT <slot> (IMPORTING <node-id>|MIGRATING <node-id>|STABLE|NODE <node-id>)",
        "    Set slot state.",
        "REPLICAS <node-id>", "    Return <node-id> replicas.",
        "SAVECONFIG", "    Force saving cluster configuration on disk.",
        "SLOTS", "    Return information about slots range mappings. Each range is made of:",
        "    start, end, master and replicas IP addresses, ports and ids",
        "SHARDS", "    Return information about slot range mappings and the nodes associated "
        "with them.",
        "LINKS", "    Return information about all network links between this node and its "
        "peers.",
        "    Output format is an array where each array element is a map containing "
        "attributes of a link",
        "HELP", "    Prints this help.",
    ]
    return lines


# -- RESTORE-ASKING ------------------------------------------------------------------------------

command("restore-asking", -4, "write denyoom asking", keys=(1, 1, 1), group="server",
        since="3.0.0", summary="An internal command for migrating keys in a cluster")(
            BY_NAME["restore"].proc)


# -- READONLY / READWRITE / ASKING ---------------------------------------------------------------


def readonly(c, argv):
    _rc(c).readonly.add(c.id)
    return OK


def readwrite(c, argv):
    _rc(c).readonly.discard(c.id)
    return OK


def asking(c, argv):
    _rc(c).asking.add(c.id)
    return OK


for _name, _proc, _summary in (
        ("readonly", readonly, "Enables read queries for a connection to a cluster replica node"),
        ("readwrite", readwrite,
         "Disables read queries for a connection to a cluster replica node"),
        ("asking", asking, "Sent by cluster clients after an -ASK redirect")):
    if _name in BY_NAME:  # commands/cluster_client.py registered the entry: give it our handler
        BY_NAME[_name].proc = _proc
    else:
        command(_name, 1, "fast" if _name == "asking" else "loading stale fast", group="cluster",
                since="3.0.0", summary=_summary)(_proc)

"""Where a command's keys live: Redis's getNodeByQuery and clusterRedirectClient.

Called by ``Server._check`` (through ``server.cluster_route``) only when cluster-enabled is
yes; returns the error text of a redirection or refusal, or None to run the command here.
"""

from __future__ import annotations

from . import bus
from .slots import key_slot

CROSSSLOT = "CROSSSLOT Keys in request don't hash to the same slot"
TRYAGAIN = "TRYAGAIN Multiple keys request during rehashing of slot"
CLUSTERDOWN = "CLUSTERDOWN The cluster is down"
CLUSTERDOWN_RO = "CLUSTERDOWN The cluster is down and only accepts read commands"
CLUSTERDOWN_UNBOUND = "CLUSTERDOWN Hash slot not served"
SELECT_REFUSED = "ERR SELECT is not allowed in cluster mode"
SWAPDB_REFUSED = "ERR SWAPDB is not allowed in cluster mode"
MOVE_REFUSED = "ERR MOVE is not allowed in cluster mode"
REPLICAOF_REFUSED = "ERR REPLICAOF not allowed in cluster mode."

# Commands that run on whatever node they reach even with an open slot (Redis: MIGRATE).
_LOCAL_WHEN_OPEN = frozenset({"migrate"})
_SHARD_PUBSUB = frozenset({"spublish", "ssubscribe", "sunsubscribe"})


def endpoint(rc, node) -> str:
    """getPreferredEndpoint: ip, hostname or "?" as cluster-preferred-endpoint-type says."""
    kind = rc.server.config["cluster-preferred-endpoint-type"]
    if kind == "hostname":
        return node.hostname or "?"
    if kind == "unknown-endpoint":
        return "?"
    return node.ip


def route(rc, c, cmd, argv) -> str | None:
    """The redirection for client ``c`` running ``cmd argv`` on this node, or None."""
    if c.is_master:
        return None
    name = cmd.name
    asking = c.id in rc.asking
    if asking and name != "asking":
        rc.asking.discard(c.id)  # ASKING lasts one command
    rc.asking_now = asking  # ... scripts it runs included
    if name in ("select", "swapdb", "move"):
        return _refused_db(name, argv)
    if name in ("replicaof", "slaveof"):
        return REPLICAOF_REFUSED
    if name == "exec":
        if not c.in_multi:
            return None
        todo = c.multi_queue
    else:
        if cmd.first_key <= 0 and cmd.getkeys is None:
            return None
        todo = ((cmd, argv),)
    return _query(rc, c, cmd, todo, asking)[0]


def _query(rc, c, cmd, todo, asking: bool) -> tuple[str | None, int]:
    """getNodeByQuery: (the redirection or refusal or None, the keys' slot or -1)."""
    name = cmd.name
    state = rc.state
    me = state.myself
    slot = -1
    owner = None
    migrating = importing = False
    multiple = False
    missing = existing = 0
    write = False
    db = rc.server.dbs[0]
    for qcmd, qargv in todo:
        write = write or qcmd.write
        try:
            positions = qcmd.key_indexes(qargv)
        except Exception:  # malformed arguments: the command itself will say so
            positions = []
        for pos in positions:
            if pos >= len(qargv):
                continue
            key = qargv[pos]
            s = key_slot(key)
            if owner is None and slot < 0:
                slot = s
                owner = state.slots[s]
                if owner is None:
                    return CLUSTERDOWN_UNBOUND, s
                if owner is me and s in state.migrating:
                    migrating = True
                elif s in state.importing:
                    importing = True
            else:
                if s != slot:
                    return CROSSSLOT, slot
                if not multiple:
                    multiple = True
            if migrating or importing:
                if db.peek(key) is not None:  # an expired key is gone (ASK for it), as Redis
                    existing += 1
                else:
                    missing += 1
    if owner is None:
        return None, -1
    if not state.state_ok:
        if name in _SHARD_PUBSUB:
            if not rc.server.config["cluster-allow-pubsubshard-when-down"]:
                return CLUSTERDOWN, slot
        elif not rc.server.config["cluster-allow-reads-when-down"]:
            return CLUSTERDOWN, slot
        elif write:
            return CLUSTERDOWN_RO, slot
    if (migrating or importing) and name in _LOCAL_WHEN_OPEN:
        return None, slot
    if migrating and missing:
        if existing:
            return TRYAGAIN, slot
        target = state.migrating[slot]
        return f"ASK {slot} {endpoint(rc, target)}:{target.port}", slot
    if importing and (asking or "asking" in cmd.flags):
        if multiple and missing:
            return TRYAGAIN, slot
        return None, slot
    if (c.id in rc.readonly or name in _SHARD_PUBSUB) and not write \
            and me.flags & bus.F_SLAVE and me.master is owner:
        return None, slot
    if owner is not me:
        return f"MOVED {slot} {endpoint(rc, owner)}:{owner.port}", slot
    return None, slot


SCRIPT_NON_LOCAL = "ERR Script attempted to access a non local key in a cluster node"
SCRIPT_DOWN = "ERR Script attempted to execute a command while the cluster is down"
SCRIPT_DOWN_RO = ("ERR Script attempted to execute a write command while the cluster is down "
                  "and readonly")
SCRIPT_CROSS_SLOT = "ERR Script attempted to access keys that do not hash to the same slot"


def script_check(rc, run, cmd, argv) -> str | None:
    """scriptVerifyClusterState: a command a script calls must be about this node's keys,
    and (without allow-cross-slot-keys) about the slot of the script's other keys."""
    caller = run.caller
    if cmd.first_key <= 0 and cmd.getkeys is None:
        return None
    text, slot = _query(rc, caller, cmd, ((cmd, argv),), rc.asking_now)
    if text is not None:
        if text == CLUSTERDOWN_RO:
            return SCRIPT_DOWN_RO
        if text == CLUSTERDOWN:
            return SCRIPT_DOWN
        return SCRIPT_NON_LOCAL
    if slot != -1 and not run.cross_slot:
        if run.cluster_slot == -1:
            run.cluster_slot = slot
        elif run.cluster_slot != slot:
            return SCRIPT_CROSS_SLOT
    return None


def redirect_blocked(rc) -> int:
    """clusterRedirectBlockedClientIfNeeded for every client blocked on keys of db 0: a slot
    that moved away or a cluster that went down ends the wait with the redirection."""
    srv = rc.server
    blocking = srv.dbs[0].blocking
    if not blocking:
        return 0
    state = rc.state
    me = state.myself
    done = 0
    for key, waiting in list(blocking.items()):
        slot = key_slot(key)
        owner = state.slots[slot]
        for blk in list(waiting):
            if blk.done:
                continue
            c = blk.client
            if not state.state_ok:
                text = CLUSTERDOWN
            elif owner is None:
                text = CLUSTERDOWN_UNBOUND
            elif owner is me or slot in state.importing:
                continue
            elif c.id in rc.readonly and not blk.cmd.write and me.flags & bus.F_SLAVE \
                    and me.master is owner:
                continue
            else:
                text = f"MOVED {slot} {endpoint(rc, owner)}:{owner.port}"
            srv.finish_block(blk, srv.error_reply(text))
            done += 1
    return done


def _refused_db(name: str, argv) -> str | None:
    if name == "select":
        try:
            db = int(argv[1])
        except ValueError:
            return None  # SELECT's own error
        return SELECT_REFUSED if db != 0 else None
    return SWAPDB_REFUSED if name == "swapdb" else MOVE_REFUSED

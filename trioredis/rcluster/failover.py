"""Replica elections and failover (sans-I/O): Redis's clusterHandleSlaveFailover,
clusterSendFailoverAuthIfNeeded, clusterFailoverReplaceYourMaster and CLUSTER FAILOVER
FORCE / TAKEOVER.

A replica whose master is FAIL waits 500 ms + up to 500 ms at random + 1 s per replica of the
same master with a larger replication offset (its rank), bumps the current epoch, and asks
every master for a vote (FAILOVER_AUTH_REQUEST). A master votes once per epoch, at most once
per two node timeouts for replicas of the same master, and only when no slot the replica
claims has a newer config epoch. With a majority of the masters that serve slots the replica
takes its master's slots under the election's epoch and tells everyone (PONG).
"""

from __future__ import annotations

import random

from . import bus

ELECTION_MIN_DELAY = 500
ELECTION_RANDOM_DELAY = 500
RANK_DELAY = 1000


class Election:
    """The replica side's election in progress (clusterState failover_auth_*)."""

    def __init__(self):
        self.time = 0  # ms: when the request may be (or was) sent
        self.count = 0  # votes received
        self.sent = False
        self.rank = 0
        self.epoch = 0
        self.manual = False  # CLUSTER FAILOVER FORCE: no FAIL needed, masters FORCEACK
        self.manual_end = 0  # ms: a manual failover gives up then (CLUSTER_MF_TIMEOUT)


MF_TIMEOUT = 5000
MF_PAUSE_MULT = 2


class ManualFailover:
    """CLUSTER FAILOVER without options (clusterState mf_*): on the master, who asked and until
    when its writers are paused; on the replica, the master's offset to reach."""

    def __init__(self, end: int, replica=None):
        self.end = end
        self.replica = replica  # master side: the replica that sent MFSTART
        self.master_offset = -1  # replica side: the paused master's offset, once heard
        self.can_start = False


def start_manual(st, now: int) -> None:
    """Replica: CLUSTER FAILOVER. Ask the master to pause (MFSTART), then catch up."""
    st.manual = ManualFailover(now + MF_TIMEOUT)
    st.send(st.myself.master.link, st.header(bus.MFSTART))


def on_mfstart(st, sender, now: int) -> None:
    """Master: a replica of ours asks for a manual failover: pause writers, tell our offset."""
    if sender is None or sender.master is not st.myself:
        return
    reset_manual(st)
    st.manual = ManualFailover(now + MF_TIMEOUT, replica=sender)
    st.pause_writes(now + MF_TIMEOUT * MF_PAUSE_MULT)
    st.send_ping(sender.link or sender.inbound_link, bus.PING, now)


def on_paused_master(st, sender, m: bus.Message) -> None:
    """Replica: our master's PING says it is paused; its offset is the one to reach."""
    mf = st.manual
    if mf is not None and mf.replica is None and mf.master_offset == -1 \
            and st.myself.master is sender and m.mflags[0] & bus.MF_PAUSED:
        mf.master_offset = m.offset


def reset_manual(st) -> None:
    if st.manual is not None and st.manual.replica is not None:
        st.unpause_writes()
    st.manual = None


def manual_tick(st, now: int) -> None:
    """manualFailoverCheckTimeout and clusterHandleManualFailover."""
    mf = st.manual
    if mf is None:
        return
    if now > mf.end:
        reset_manual(st)
        return
    if mf.replica is not None or mf.can_start or mf.master_offset < 0:
        return
    if st.repl_offset() >= mf.master_offset:
        mf.can_start = True
        force(st, now)


def force(st, now: int) -> None:
    """CLUSTER FAILOVER FORCE (and a manual failover whose replica caught up): an election
    now, masters voting though our master is not failed."""
    el = Election()
    el.manual = True
    el.manual_end = now + MF_TIMEOUT
    st.election = el


def rank(st) -> int:
    """Replicas of our master with a larger replication offset than ours."""
    me = st.myself
    mine = st.repl_offset()
    return sum(1 for r in me.master.replicas
               if r is not me and not r.flags & bus.F_NOFAILOVER and r.repl_offset > mine)


def replica_tick(st, now: int) -> None:
    """clusterHandleSlaveFailover, from the cron."""
    me = st.myself
    el: Election = st.election
    if el.manual and now > el.manual_end:
        st.election = el = Election()  # the manual failover timed out
    master = me.master
    if me.is_master or master is None or master.numslots == 0:
        return
    if not master.failed and not el.manual:
        return
    if st.settings.replica_no_failover and not el.manual:
        return
    timeout = st.settings.node_timeout
    auth_timeout = max(timeout * 2, 2000)
    retry = auth_timeout * 2
    factor = st.settings.validity_factor
    if factor and not el.manual:
        age = st.data_age() - timeout
        if age > st.settings.ping_period_ms + timeout * factor:
            return  # our data is too old to become a master
    if now - el.time > retry:
        el.time = now + ELECTION_MIN_DELAY + random.randrange(ELECTION_RANDOM_DELAY)
        el.count = 0
        el.sent = False
        el.rank = rank(st)
        el.time += el.rank * RANK_DELAY
        if el.manual:
            el.time = now
            el.rank = 0
        # Tell the other replicas of our master our offset, for their ranks.
        for r in master.replicas:
            if r is not me and r.link is not None:
                st.send_ping(r.link, bus.PONG, now)
        return
    if not el.sent and not el.manual:
        new_rank = rank(st)
        if new_rank > el.rank:
            el.time += (new_rank - el.rank) * RANK_DELAY
            el.rank = new_rank
    if now < el.time or now - el.time > auth_timeout:
        return
    if not el.sent:
        st.current_epoch += 1
        el.epoch = st.current_epoch
        req = st.header(bus.AUTH_REQUEST)
        if el.manual:
            req.mflags = bytes([bus.MF_FORCEACK, 0, 0])
        st.broadcast(req)
        el.sent = True
        st.on_save()
        return
    if el.count >= st.size // 2 + 1:
        if me.config_epoch < el.epoch:
            me.config_epoch = el.epoch
        replace_master(st, now)


def replace_master(st, now: int) -> None:
    """clusterFailoverReplaceYourMaster: take the old master's slots and say so."""
    me = st.myself
    old = me.master
    if me.is_master or old is None:
        return
    st.set_node_as_master(me)
    for slot in list(range(16384)):
        if st.slots[slot] is old:
            st.del_slot(slot)
            st.add_slot(me, slot)
    st.on_promoted()
    st.election = Election()
    reset_manual(st)
    st.update_state(now)
    st.on_save()
    for n in list(st.nodes.values()):  # clusterBroadcastPong(CLUSTER_BROADCAST_ALL)
        if n.link is not None and not n.flags & (bus.F_MYSELF | bus.F_HANDSHAKE):
            st.send_ping(n.link, bus.PONG, now)


def maybe_vote(st, node, m: bus.Message, now: int) -> None:
    """clusterSendFailoverAuthIfNeeded: a master's vote for replica ``node``."""
    me = st.myself
    if me.is_replica or me.numslots == 0:
        return
    if m.current_epoch < st.current_epoch or st.last_vote_epoch == st.current_epoch:
        return
    master = node.master
    force = m.mflags[0] & bus.MF_FORCEACK
    if node.is_master or master is None or (not master.failed and not force):
        return
    if now - master.voted_time < st.settings.node_timeout * 2:
        return
    bm = m.myslots
    for slot in range(16384):
        if bm[slot >> 3] & (1 << (slot & 7)):
            owner = st.slots[slot]
            if owner is not None and owner.config_epoch > m.config_epoch:
                return  # the replica's view of this slot is stale
    st.last_vote_epoch = st.current_epoch
    master.voted_time = now
    st.on_save()
    st.send(node.link or node.inbound_link, st.header(bus.AUTH_ACK))


def count_ack(st, sender, m: bus.Message) -> None:
    if sender.is_master and sender.numslots > 0 and m.current_epoch >= st.election.epoch:
        st.election.count += 1


def takeover(st, now: int) -> None:
    """CLUSTER FAILOVER TAKEOVER: a new epoch without a vote, then the master's slots."""
    max_epoch = max([st.current_epoch] + [n.config_epoch for n in st.nodes.values()])
    me = st.myself
    if me.config_epoch == 0 or me.config_epoch != max_epoch:
        st.current_epoch += 1
        me.config_epoch = st.current_epoch
    replace_master(st, now)


MIGRATION_DELAY = 5000  # CLUSTER_SLAVE_MIGRATION_DELAY


def ok_replicas(node) -> int:
    return sum(1 for r in node.replicas if not r.flags & bus.F_FAIL)


def migration_tick(st, now: int) -> None:
    """Replica migration (clusterCron's orphaned-master check, clusterHandleSlaveMigration):
    a replica of the master with the most working replicas, the one with the smallest name,
    moves to a master with slots that had replicas and has none left, after 5 s."""
    me = st.myself
    mymaster = me.master
    if not me.is_replica or mymaster is None:
        return
    orphaned = max_replicas = mine = 0
    for n in st.nodes.values():
        if n.is_master and not n.failed:
            ok = ok_replicas(n)
            if ok == 0 and n.numslots > 0 and n.flags & bus.F_MIGRATE_TO:
                orphaned += 1
            max_replicas = max(max_replicas, ok)
            if n is mymaster:
                mine = ok
    if not (orphaned and max_replicas >= 2 and mine == max_replicas
            and st.settings.allow_replica_migration):
        return
    if not st.state_ok:
        return
    ok = sum(1 for r in mymaster.replicas if not r.flags & (bus.F_FAIL | bus.F_PFAIL))
    if ok <= st.settings.migration_barrier:
        return
    target = None
    candidate = me
    for n in st.nodes.values():
        is_orphaned = n.is_master and not n.failed and bool(n.flags & bus.F_MIGRATE_TO)
        count = ok_replicas(n) if n.is_master else 0
        if count > 0:
            is_orphaned = False
        if is_orphaned:
            if target is None and n.numslots > 0:
                target = n
            if not n.orphaned_time:
                n.orphaned_time = now
        else:
            n.orphaned_time = 0
        if count == max_replicas:
            for r in n.replicas:
                if r.bname < candidate.bname:
                    candidate = r
    if target is not None and candidate is me and now - target.orphaned_time > MIGRATION_DELAY:
        st.set_replica_of(me, target)
        st.on_new_master(target)


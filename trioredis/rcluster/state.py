"""The cluster as this node sees it, and what it does with bus messages (sans-I/O).

Redis's clusterProcessPacket, clusterProcessGossipSection, clusterSendPing, clusterCron and
clusterUpdateState, written for one event loop: :class:`ClusterState` is given messages and
the time, changes its view, and sends through ``Link`` objects (anything with ``send(bytes)``,
``close()``, ``node``, ``inbound``, ``ctime``, ``peer_ip``, ``local_ip``) that the I/O layer
(:mod:`.busio`) owns. Slot ownership, epochs and roles are saved to nodes.conf on change.
"""

from __future__ import annotations

import random

from . import bus, failover
from .node import Node, random_name
from .slots import SLOTS, bitmap_slots

WRITABLE_DELAY_MS = 2000  # CLUSTER_WRITABLE_DELAY: a master waits before saying ok
FAIL_REPORT_VALIDITY_MULT = 2
FAIL_UNDO_TIME_MULT = 2


class ClusterState:
    """Nodes, slots, epochs; message processing and the periodic work."""

    def __init__(self, settings, now_ms: int, myself: Node | None = None):
        self.settings = settings  # .node_timeout, .announce_* ... (rcluster.setup.Settings)
        self.nodes: dict[str, Node] = {}
        self.current_epoch = 0
        self.last_vote_epoch = 0
        self.slots: list[Node | None] = [None] * SLOTS
        self.migrating: dict[int, Node] = {}
        self.importing: dict[int, Node] = {}
        self.state_ok = False
        self.size = 0
        self.first_update_ms = 0
        self.iteration = 0
        self.stats_sent = [0] * 11
        self.stats_received = [0] * 11
        self.blacklist: dict[str, int] = {}  # CLUSTER FORGET: name -> until ms
        # Called after a change that must reach nodes.conf (set by the owner); and after keys
        # of slots we lost must go (Redis's delKeysInSlot).
        self.on_save = lambda: None
        self.count_keys = lambda slot: 0
        self.delete_keys_in_slot = lambda slot: 0
        self.repl_offset = lambda: 0
        self.on_publish = lambda channel, message, shard: None
        self.on_new_master = lambda node: None  # we became a replica of node
        self.on_promoted = lambda: None  # a failover made us a master
        self.on_slot_lost = lambda slot: None
        self.data_age = lambda: 0  # ms since the replication link last heard the master
        self.election = failover.Election()
        self.manual: failover.ManualFailover | None = None
        self.pause_writes = lambda until_ms: None  # a manual failover's master pauses writers
        self.unpause_writes = lambda: None
        if myself is None:
            myself = Node(random_name(), bus.F_MYSELF | bus.F_MASTER)
            myself.ctime = now_ms
        self.myself = myself
        self.add_node(myself)

    # -- nodes and slots ---------------------------------------------------------------------

    def add_node(self, node: Node) -> None:
        self.nodes[node.name] = node

    def lookup(self, name: bytes | str) -> Node | None:
        if isinstance(name, bytes):
            name = name.decode("ascii", "replace")
        return self.nodes.get(name)

    def del_node(self, node: Node) -> None:
        """clusterDelNode: forget the node, its slots, its reports, its links."""
        for slot, n in list(self.importing.items()):
            if n is node:
                del self.importing[slot]
        for slot, n in list(self.migrating.items()):
            if n is node:
                del self.migrating[slot]
        for other in self.nodes.values():
            other.fail_reports.pop(node.name, None)
        for slot in bitmap_slots(node.slots):
            self.del_slot(slot)
        if node.master is not None and node in node.master.replicas:
            node.master.replicas.remove(node)
        for r in node.replicas:
            r.master = None
        self.nodes.pop(node.name, None)
        for link in (node.link, node.inbound_link):
            if link is not None:
                link.close()
        node.link = node.inbound_link = None

    def rename(self, node: Node, name: str) -> None:
        self.nodes.pop(node.name, None)
        node.name = name
        self.nodes[name] = node

    def add_slot(self, node: Node, slot: int) -> bool:
        if self.slots[slot] is not None:
            return False
        node.set_slot(slot)
        self.slots[slot] = node
        return True

    def del_slot(self, slot: int) -> bool:
        owner = self.slots[slot]
        if owner is None:
            return False
        if owner is self.master_of_myself():
            self.on_slot_lost(slot)  # clusterDelSlot: shard channels of the slot end here
        owner.clear_slot(slot)
        self.slots[slot] = None
        return True

    def master_of_myself(self) -> Node:
        me = self.myself
        return me.master if me.is_replica and me.master is not None else me

    def set_node_as_master(self, n: Node) -> None:
        if n.is_master:
            return
        if n.master is not None:
            if n in n.master.replicas:
                n.master.replicas.remove(n)
            if n is not self.myself:
                n.flags |= bus.F_MIGRATE_TO
        n.flags = (n.flags & ~bus.F_SLAVE) | bus.F_MASTER
        n.master = None
        self.on_save()

    def set_replica_of(self, n: Node, master: Node) -> None:
        if n is self.myself:
            failover.reset_manual(self)
        if n.is_master:
            for slot in bitmap_slots(n.slots):
                self.del_slot(slot)
            n.flags &= ~(bus.F_MASTER | bus.F_MIGRATE_TO)
        n.flags |= bus.F_SLAVE
        if n.master is not master:
            if n.master is not None and n in n.master.replicas:
                n.master.replicas.remove(n)
            n.master = master
            if n not in master.replicas:
                master.replicas.append(n)
                master.flags |= bus.F_MIGRATE_TO  # clusterNodeAddSlave: it had replicas
        self.on_save()

    def start_handshake(self, ip: str, port: int, cport: int, now: int) -> bool:
        """clusterStartHandshake (CLUSTER MEET): a node of random name in handshake."""
        for n in self.nodes.values():
            if n.has(bus.F_HANDSHAKE) and (n.ip, n.port, n.cport) == (ip, port, cport):
                return False
        n = Node(random_name(), bus.F_HANDSHAKE | bus.F_MEET)
        n.ip, n.port, n.cport, n.ctime = ip, port, cport, now
        self.add_node(n)
        return True

    # -- sending -----------------------------------------------------------------------------

    def header(self, mtype: int) -> bus.Message:
        s = self.settings
        me = self.myself
        master = self.master_of_myself()
        return bus.Message(
            type=mtype, sender=me.bname, port=s.port, cport=s.cport, pport=0,
            flags=me.flags, current_epoch=self.current_epoch, config_epoch=master.config_epoch,
            offset=self.repl_offset(), myslots=bytes(master.slots),
            slaveof=me.master.bname if me.is_replica and me.master else bus.NULL_NAME,
            myip=s.announce_ip, state=bus.CLUSTER_OK if self.state_ok else bus.CLUSTER_FAIL,
            hostname=s.announce_hostname or None,
            mflags=bytes([bus.MF_PAUSED if me.is_master and self.manual is not None
                          and self.manual.replica is not None else 0, 0, 0]))

    def send(self, link, m: bus.Message) -> None:
        if link is None:
            return
        if m.type < len(self.stats_sent):
            self.stats_sent[m.type] += 1
        link.send(bus.encode(m))

    def broadcast(self, m: bus.Message) -> None:
        frame = bus.encode(m)
        for n in self.nodes.values():
            if n.link is None or n.flags & (bus.F_MYSELF | bus.F_HANDSHAKE):
                continue
            self.stats_sent[m.type] += 1
            n.link.send(frame)

    def send_ping(self, link, mtype: int, now: int) -> None:
        """clusterSendPing: header, a tenth of the nodes (at least 3) as gossip, all PFAIL."""
        m = self.header(mtype)
        if link.node is not None and mtype == bus.PING:
            link.node.ping_sent = now
        fresh = len(self.nodes) - 2
        wanted = min(max(3, len(self.nodes) // 10), fresh)
        candidates = list(self.nodes.values())
        chosen: list[Node] = []
        tries = wanted * 3
        while candidates and len(chosen) < wanted and tries > 0:
            tries -= 1
            n = random.choice(candidates)
            if n is self.myself or n.flags & bus.F_PFAIL or n in chosen:
                continue
            if n.flags & (bus.F_HANDSHAKE | bus.F_NOADDR) or (n.link is None and n.numslots == 0):
                continue
            chosen.append(n)
        for n in self.nodes.values():
            if n.flags & bus.F_PFAIL and not n.flags & (bus.F_HANDSHAKE | bus.F_NOADDR) \
                    and n not in chosen:
                chosen.append(n)
        m.gossip = [bus.Gossip(n.bname, n.ping_sent // 1000, n.pong_received // 1000, n.ip,
                               n.port, n.cport, n.flags, n.pport) for n in chosen]
        self.send(link, m)

    def link_established(self, link, now: int) -> None:
        """An outbound link is up: MEET a node we were told to meet, PING the others."""
        node = link.node
        old_ping = node.ping_sent
        self.send_ping(link, bus.MEET if node.flags & bus.F_MEET else bus.PING, now)
        if old_ping:
            node.ping_sent = old_ping  # keep failure detection counting from the first ping
        node.flags &= ~bus.F_MEET

    # -- receiving ---------------------------------------------------------------------------

    def process(self, link, m: bus.Message, now: int) -> None:
        """clusterProcessPacket for one decoded message on ``link``."""
        if m.type < len(self.stats_received):
            self.stats_received[m.type] += 1
        if m.version != bus.PROTO_VER:
            return
        me = self.myself
        sender = self.lookup(m.sender)
        if sender is not None and sender.has(bus.F_HANDSHAKE):
            sender = None
        if sender is not None:
            sender.data_received = now
            if link.inbound and sender.inbound_link is not link:
                sender.inbound_link = link
                link.node_inbound = sender
            if m.current_epoch > self.current_epoch:
                self.current_epoch = m.current_epoch
                self.on_save()
            if m.config_epoch > sender.config_epoch:
                sender.config_epoch = m.config_epoch
                self.on_save()
            sender.repl_offset = m.offset
        if m.type in (bus.PING, bus.MEET):
            if not self.settings.announce_ip and (m.type == bus.MEET or not me.ip) \
                    and link.local_ip and me.ip != link.local_ip:
                me.ip = link.local_ip
                self.on_save()
            if sender is None and m.type == bus.MEET:
                n = Node(random_name(), bus.F_HANDSHAKE)
                n.ip = m.myip or link.peer_ip
                n.port, n.cport, n.pport, n.ctime = m.port, m.cport, m.pport, now
                self.add_node(n)
                self.on_save()
            self.send_ping(link, bus.PONG, now)
        if m.is_ping_like:
            self._process_ping_like(link, m, sender, now)
        elif m.type == bus.FAIL:
            failing = self.lookup(m.about)
            if sender is not None and failing is not None \
                    and not failing.flags & (bus.F_FAIL | bus.F_MYSELF):
                failing.flags = (failing.flags | bus.F_FAIL) & ~bus.F_PFAIL
                failing.fail_time = now
                self.on_save()
                self.update_state(now)
        elif m.type == bus.AUTH_REQUEST:
            if sender is not None:
                failover.maybe_vote(self, sender, m, now)
        elif m.type == bus.AUTH_ACK:
            if sender is not None:
                failover.count_ack(self, sender, m)
        elif m.type == bus.MFSTART:
            failover.on_mfstart(self, sender, now)
        elif m.type in (bus.PUBLISH, bus.PUBLISHSHARD):
            if sender is not None:
                self.on_publish(m.channel, m.message, m.type == bus.PUBLISHSHARD)
        elif m.type == bus.UPDATE:
            n = self.lookup(m.update_name)
            if sender is not None and n is not None and n.config_epoch < m.update_epoch:
                if n.is_replica:
                    self.set_node_as_master(n)
                n.config_epoch = m.update_epoch
                self.update_slots_with(n, m.update_epoch, m.update_slots, now)
                self.on_save()

    def _process_ping_like(self, link, m: bus.Message, sender: Node | None, now: int) -> None:
        me = self.myself
        node = link.node
        if node is not None and not link.inbound:
            if node.has(bus.F_HANDSHAKE):
                if sender is not None:  # we knew it under its real name already
                    self._update_address(sender, link, m)
                    self.del_node(node)
                    self.on_save()
                    return
                self.rename(node, m.sender.decode("ascii", "replace"))
                node.flags &= ~bus.F_HANDSHAKE
                node.flags |= m.flags & (bus.F_MASTER | bus.F_SLAVE)
                self.on_save()
            elif node.bname != m.sender:
                # The node at this address has another name now: forget the address.
                node.flags |= bus.F_NOADDR
                node.ip, node.port, node.cport = "", 0, 0
                link.close()
                node.link = None
                self.on_save()
                return
        if sender is not None:
            hostname = m.hostname or ""  # no extension: no announced hostname (Redis 7.0)
            if sender.hostname != hostname:
                sender.hostname = hostname
                self.on_save()
            nofailover = m.flags & bus.F_NOFAILOVER
            sender.flags = (sender.flags & ~bus.F_NOFAILOVER) | nofailover
            if m.type == bus.PING and self._update_address(sender, link, m):
                self.on_save()
        if node is not None and not link.inbound and m.type == bus.PONG:
            node.pong_received = now
            node.ping_sent = 0
            if node.flags & bus.F_PFAIL:
                node.flags &= ~bus.F_PFAIL
            elif node.flags & bus.F_FAIL:
                self.clear_failure_if_needed(node, now)
        if sender is None:
            return
        if m.mflags[0] & bus.MF_PAUSED:
            failover.on_paused_master(self, sender, m)
        if m.slaveof == bus.NULL_NAME:
            self.set_node_as_master(sender)
        else:
            master = self.lookup(m.slaveof)
            if sender.is_master or (master is not None and sender.master is not master):
                if master is not None:
                    self.set_replica_of(sender, master)
                elif sender.is_master:
                    for slot in bitmap_slots(sender.slots):
                        self.del_slot(slot)
                    sender.flags = (sender.flags & ~(bus.F_MASTER | bus.F_MIGRATE_TO)) \
                        | bus.F_SLAVE
                    self.on_save()
        sender_master = sender if sender.is_master else sender.master
        dirty = sender_master is not None and bytes(sender_master.slots) != m.myslots
        if sender.is_master and dirty:
            self.update_slots_with(sender, m.config_epoch, m.myslots, now)
        if dirty:
            # The sender's view of our slots is stale: tell it who owns them now (UPDATE).
            for slot in bitmap_slots(m.myslots):
                owner = self.slots[slot]
                if owner is None or owner is sender:
                    continue
                if owner.config_epoch > m.config_epoch:
                    upd = self.header(bus.UPDATE)
                    upd.update_epoch = owner.config_epoch
                    upd.update_name = owner.bname
                    upd.update_slots = bytes(owner.slots)
                    self.send(sender.link, upd)
                    break
        if me.is_master and sender.is_master and m.config_epoch == me.config_epoch:
            self.handle_epoch_collision(sender)
        self.process_gossip(link, m, sender, now)

    def _update_address(self, node: Node, link, m: bus.Message) -> bool:
        """nodeUpdateAddressIfNeeded: a known node talks from another address."""
        if link is node.link:
            return False
        ip = m.myip or link.peer_ip
        if (node.ip, node.port, node.cport) == (ip, m.port, m.cport):
            return False
        node.ip, node.port, node.cport, node.pport = ip, m.port, m.cport, m.pport
        if node.link is not None:
            node.link.close()
            node.link = None
        node.flags &= ~bus.F_NOADDR
        return True

    def process_gossip(self, link, m: bus.Message, sender: Node, now: int) -> None:
        """clusterProcessGossipSection."""
        reporter = link.node if link.node is not None and not link.inbound else sender
        for g in m.gossip:
            name = g.name.decode("ascii", "replace")
            node = self.nodes.get(name)
            if node is not None:
                if reporter is not None and reporter.is_master and node is not self.myself:
                    if g.flags & (bus.F_FAIL | bus.F_PFAIL):
                        node.fail_reports[reporter.name] = now
                        self.mark_failing_if_needed(node, now)
                    else:
                        node.fail_reports.pop(reporter.name, None)
                if not g.flags & (bus.F_FAIL | bus.F_PFAIL) and node.ping_sent == 0 \
                        and not node.fail_reports:
                    pong = g.pong_received * 1000
                    if node.pong_received < pong <= now + 500:
                        node.pong_received = pong
                if node.flags & (bus.F_FAIL | bus.F_PFAIL) and not g.flags & bus.F_NOADDR \
                        and (node.ip, node.port, node.cport) != (g.ip, g.port, g.cport):
                    if node.link is not None:
                        node.link.close()
                        node.link = None
                    node.ip, node.port, node.cport = g.ip, g.port, g.cport
                    node.flags &= ~bus.F_NOADDR
            elif reporter is not None and not g.flags & bus.F_NOADDR \
                    and self.blacklist.get(name, 0) <= now:
                n = Node(name, g.flags & ~(bus.F_MYSELF | bus.F_PFAIL | bus.F_FAIL))
                n.ip, n.port, n.cport, n.pport, n.ctime = g.ip, g.port, g.cport, g.pport, now
                self.add_node(n)
                self.on_save()

    def update_slots_with(self, sender: Node, epoch: int, slots: bytes, now: int) -> None:
        """clusterUpdateSlotsConfigWith: take the slots a newer config epoch claims."""
        me = self.myself
        if sender is me:
            return
        cur_master = self.master_of_myself()
        new_master = None
        dirty: list[int] = []
        changed = False
        for slot in bitmap_slots(slots):
            owner = self.slots[slot]
            if owner is sender or slot in self.importing:
                continue
            if owner is None or owner.config_epoch < epoch:
                if owner is me and self.count_keys(slot) and sender is not me:
                    dirty.append(slot)
                if owner is cur_master:
                    new_master = sender
                self.del_slot(slot)
                self.add_slot(sender, slot)
                self.migrating.pop(slot, None)
                changed = True
        if changed:
            self.on_save()
            self.update_state(now)
        if new_master is not None and cur_master.numslots == 0:
            # All our slots went to another master: follow it (as Redis does).
            self.set_replica_of(me, new_master)
            self.on_new_master(new_master)
        else:
            for slot in dirty:
                self.delete_keys_in_slot(slot)

    def handle_epoch_collision(self, sender: Node) -> None:
        """clusterHandleConfigEpochCollision: the node with the smaller name bumps its epoch."""
        if sender.bname <= self.myself.bname:
            return
        self.current_epoch += 1
        self.myself.config_epoch = self.current_epoch
        self.on_save()

    # -- failure detection -------------------------------------------------------------------

    def valid_fail_reports(self, node: Node, now: int) -> int:
        limit = self.settings.node_timeout * FAIL_REPORT_VALIDITY_MULT
        for who, when in list(node.fail_reports.items()):
            if now - when > limit:
                del node.fail_reports[who]
        return len(node.fail_reports)

    def mark_failing_if_needed(self, node: Node, now: int) -> None:
        quorum = self.size // 2 + 1
        if not node.flags & bus.F_PFAIL or node.flags & bus.F_FAIL:
            return
        failures = self.valid_fail_reports(node, now) + (1 if self.myself.is_master else 0)
        if failures < quorum:
            return
        node.flags = (node.flags & ~bus.F_PFAIL) | bus.F_FAIL
        node.fail_time = now
        if self.myself.is_master:
            msg = self.header(bus.FAIL)
            msg.about = node.bname
            self.broadcast(msg)
        self.on_save()
        self.update_state(now)

    def clear_failure_if_needed(self, node: Node, now: int) -> None:
        if node.is_replica or node.numslots == 0:
            node.flags &= ~bus.F_FAIL
            self.on_save()
        elif now - node.fail_time > self.settings.node_timeout * FAIL_UNDO_TIME_MULT:
            node.flags &= ~bus.F_FAIL
            self.on_save()

    # -- periodic ----------------------------------------------------------------------------

    def cron(self, now: int) -> list[Node]:
        """clusterCron (10 times a second). Returns the nodes that need an outbound link."""
        self.iteration += 1
        timeout = self.settings.node_timeout
        handshake_timeout = max(timeout, 1000)
        need_link = []
        for node in list(self.nodes.values()):
            if node.flags & (bus.F_MYSELF | bus.F_NOADDR):
                continue
            if node.has(bus.F_HANDSHAKE) and now - node.ctime > handshake_timeout:
                self.del_node(node)
                continue
            if node.link is None:
                need_link.append(node)
        if self.iteration % 10 == 0:
            sample = [n for n in self.nodes.values()
                      if n.link is not None and n.ping_sent == 0
                      and not n.flags & (bus.F_MYSELF | bus.F_HANDSHAKE)]
            sample = random.sample(sample, min(5, len(sample)))
            if sample:
                oldest = min(sample, key=lambda n: n.pong_received)
                self.send_ping(oldest.link, bus.PING, now)
        changed = False
        for node in list(self.nodes.values()):
            if node.flags & (bus.F_MYSELF | bus.F_NOADDR | bus.F_HANDSHAKE):
                continue
            link = node.link
            if link is not None and now - link.ctime > timeout and node.ping_sent \
                    and now - node.ping_sent > timeout / 2 \
                    and now - node.data_received > timeout / 2:
                link.close()  # a link that answers nothing: reconnect
                node.link = None
            if node.link is not None and node.ping_sent == 0 \
                    and now - node.pong_received > timeout / 2:
                self.send_ping(node.link, bus.PING, now)
                continue
            if node.ping_sent == 0:
                continue
            delay = min(now - node.ping_sent, now - node.data_received)
            if delay > timeout and not node.flags & (bus.F_PFAIL | bus.F_FAIL):
                node.flags |= bus.F_PFAIL
                changed = True
        if changed:
            for node in self.nodes.values():
                self.mark_failing_if_needed(node, now)
        failover.manual_tick(self, now)
        failover.replica_tick(self, now)
        failover.migration_tick(self, now)
        self.update_state(now)
        return need_link

    def update_state(self, now: int) -> None:
        """clusterUpdateState: ok when every slot is served (full coverage) and a majority of
        the masters with slots is reachable."""
        if self.first_update_ms == 0:
            self.first_update_ms = now
        if self.myself.is_master and not self.state_ok \
                and now - self.first_update_ms < WRITABLE_DELAY_MS:
            return
        ok = True
        if self.settings.require_full_coverage:
            owners = set(self.slots)  # C speed: 16384 slots, a few owners
            ok = None not in owners and not any(o.flags & bus.F_FAIL for o in owners)
        size = reachable = 0
        for n in self.nodes.values():
            if n.is_master and n.numslots:
                size += 1
                if not n.flags & (bus.F_FAIL | bus.F_PFAIL):
                    reachable += 1
        self.size = size
        if reachable < size // 2 + 1:
            ok = False
        self.state_ok = ok

"""A server's Redis Cluster node: settings, state, nodes.conf, hooks into the server.

Attached by ``SERVER_INIT`` only when ``cluster-enabled yes``; otherwise nothing of Redis
Cluster runs and ``server.cluster_route`` stays None, so the command path pays nothing.
"""

from __future__ import annotations

import os
import time

from ..errors import ConfigError
from . import bus, nodesconf
from .slots import SlotIndex
from .state import ClusterState

# The HA group's default for the shared cluster-config-file parameter; a cluster-enabled node
# left at that default uses Redis's name instead.
HA_DEFAULT_CONFIG_FILE = "trioredis-cluster.json"


class Settings:
    """The parameters the state reads, looked up on use (CONFIG SET applies at once)."""

    def __init__(self, server):
        self.config = server.config

    @property
    def node_timeout(self) -> int:
        return self.config["cluster-node-timeout"]

    @property
    def require_full_coverage(self) -> bool:
        return self.config["cluster-require-full-coverage"]

    @property
    def announce_ip(self) -> str:
        return self.config["cluster-announce-ip"]

    @property
    def announce_hostname(self) -> str:
        return self.config["cluster-announce-hostname"]

    @property
    def replica_no_failover(self) -> bool:
        return self.config["cluster-replica-no-failover"]

    @property
    def validity_factor(self) -> int:
        return self.config["cluster-replica-validity-factor"]

    @property
    def ping_period_ms(self) -> int:
        return self.config["repl-ping-replica-period"] * 1000

    @property
    def migration_barrier(self) -> int:
        return self.config["cluster-migration-barrier"]

    @property
    def allow_replica_migration(self) -> bool:
        return self.config["cluster-allow-replica-migration"]

    @property
    def port(self) -> int:
        return self.config["cluster-announce-port"] or self.config["port"]

    @property
    def listen_cport(self) -> int:
        return self.config["cluster-port"] or self.config["port"] + 10000

    @property
    def cport(self) -> int:
        return self.config["cluster-announce-bus-port"] or self.listen_cport


def now_ms() -> int:
    return int(time.time() * 1000)


class RedisCluster:
    """``server.rcluster``: the state, the per-client flags, nodes.conf, the bus runner."""

    def __init__(self, server):
        from .busio import BusRunner  # the Trio part, only for cluster-enabled servers

        self.server = server
        self.settings = Settings(server)
        cfg = server.config
        name = cfg["cluster-config-file"]
        if name == HA_DEFAULT_CONFIG_FILE:
            name = "nodes.conf"
        self.path = os.path.join(cfg["dir"], name)
        state = nodesconf.load(self.path, self.settings, now_ms())
        self.state = state or ClusterState(self.settings, now_ms())
        self.asking: set[int] = set()  # client ids that sent ASKING
        self.asking_now = False  # the running command came after ASKING
        self.readonly: set[int] = set()  # client ids in READONLY mode
        self.save_pending = state is None  # Redis saves a new node's config at once
        self.synced_epochs: tuple | None = None
        st = self.state
        st.on_save = self.request_save
        st.count_keys = self.count_keys
        st.delete_keys_in_slot = self.delete_keys_in_slot
        st.repl_offset = lambda: server.master_repl_offset
        st.on_publish = self._publish
        st.on_new_master = self.follow
        st.on_promoted = self.unfollow
        st.on_slot_lost = self.unsubscribe_slot
        st.pause_writes = self.pause_writes
        st.unpause_writes = self.unpause_writes
        st.data_age = self.data_age
        self.runner = BusRunner(self)
        db = server.dbs[0]
        db.slot_index = SlotIndex(db.data)
        from .routing import route

        server.cluster_route = lambda c, cmd, argv: route(self, c, cmd, argv)
        server.update_guard()
        server.add_hook("tasks", self.runner.run)
        server.add_hook("client_freed", self._client_freed)
        server.add_hook("info_cluster", self._info)
        server.add_hook("info_server", self._info_server)
        self.refresh_myself()
        self.flush_config()

    def refresh_myself(self) -> None:
        """clusterUpdateMyselfAnnouncedPorts / Ip / Hostname: what we announce, on ourselves."""
        me = self.state.myself
        s = self.settings
        new = (s.port, s.cport, s.announce_hostname, s.announce_ip or me.ip)
        if (me.port, me.cport, me.hostname, me.ip) != new:
            me.port, me.cport, me.hostname, me.ip = new
            self.request_save()

    # -- nodes.conf --------------------------------------------------------------------------

    def request_save(self) -> None:
        self.save_pending = True

    def flush_config(self) -> None:
        """Write nodes.conf if something changed (after a batch of messages or a command)."""
        if self.save_pending:
            self.save_pending = False
            self.save_config()

    def save_config(self, fsync: bool | None = None) -> None:
        """Write nodes.conf; fsynced when an epoch or the vote changed since the last fsync
        (or when ``fsync`` says so), as Redis adds CLUSTER_TODO_FSYNC_CONFIG for those."""
        st = self.state
        epochs = (st.current_epoch, st.last_vote_epoch, st.myself.config_epoch)
        if fsync is None:
            fsync = epochs != self.synced_epochs
        nodesconf.save(self.path, nodesconf.render(st), fsync=fsync)
        if fsync:
            self.synced_epochs = epochs

    def script_check(self, run, cmd, argv) -> str | None:
        from .routing import script_check

        return script_check(self, run, cmd, argv)

    # -- keys --------------------------------------------------------------------------------

    def slot_index(self) -> SlotIndex:
        db = self.server.dbs[0]
        return db.slot_index.current(db.data)

    def count_keys(self, slot: int) -> int:
        return self.slot_index().count(slot)

    def delete_keys_in_slot(self, slot: int) -> int:
        """delKeysInSlot: drop the keys of a slot we lost, propagating DELs."""
        db = self.server.dbs[0]
        keys = self.slot_index().keys(slot, 1 << 62)
        for key in keys:
            if db.delete(key):
                db.modified(key, b"del")
                self.server.propagate(0, [b"DEL", key])
        return len(keys)

    # -- replication -------------------------------------------------------------------------

    def follow(self, master) -> None:
        """Replicate ``master`` (CLUSTER REPLICATE, or our slots went to it)."""
        from ..replication import replication_of

        replication_of(self.server).follow(master.ip, master.port)

    def data_age(self) -> int:
        """ms since the master link last heard its master (Redis's data_age)."""
        link = self.server.master_link
        if link is None:
            return 0
        since = link.last_io if link.is_up() else link.down_since
        return int((time.time() - since) * 1000)

    def pause_writes(self, until_ms: int) -> None:
        """A manual failover's master: writers wait (CLIENT PAUSE WRITE), as Redis's
        pauseClients(PAUSE_DURING_FAILOVER)."""
        from ..commands.connection import pause_state

        srv = self.server
        pause_state(srv).pause(srv.now_ms() + max(0, until_ms - now_ms()), False)

    def unpause_writes(self) -> None:
        from ..commands.connection import pause_state

        srv = self.server
        if srv.client_pause is not None:
            pause_state(srv).unpause()

    def unfollow(self) -> None:
        from ..replication import replication_of

        if self.server.role == "slave":
            replication_of(self.server).promote()

    # -- hooks -------------------------------------------------------------------------------

    def _client_freed(self, c) -> None:
        self.asking.discard(c.id)
        self.readonly.discard(c.id)

    def propagate_publish(self, channel: bytes, message: bytes, shard: bool) -> None:
        """clusterPropagatePublish(Shard): PUBLISH to every node, SPUBLISH to our shard."""
        st = self.state
        m = st.header(bus.PUBLISHSHARD if shard else bus.PUBLISH)
        m.channel, m.message = channel, message
        if not shard:
            st.broadcast(m)
            return
        master = st.master_of_myself()
        for n in [master, *master.replicas]:
            if n is not st.myself and n.link is not None:
                st.send(n.link, m)

    def unsubscribe_slot(self, slot: int) -> None:
        """removeChannelsInSlot: subscribers of the slot's shard channels are unsubscribed
        and told so (a SUNSUBSCRIBE reply each), as the slot leaves this shard."""
        hub = getattr(self.server, "pubsub_hub", None)
        if hub is None or not hub.shard_channels:
            return
        from ..protocol.encoder import encode2, encode3
        from ..protocol.replies import Push
        from .slots import key_slot

        for channel in [ch for ch in hub.shard_channels if key_slot(ch) == slot]:
            for c in list(hub.shard_channels.get(channel, ())):
                hub.sunsubscribe(c, channel)
                msg = Push([b"sunsubscribe", channel, len(c.shard_channels)])
                c.push_raw(encode3(msg) if c.resp == 3 else encode2(msg))
                c.update_guard()

    def _publish(self, channel: bytes, message: bytes, shard: bool) -> None:
        hub = getattr(self.server, "pubsub_hub", None)
        if hub is None:
            return
        if shard:
            hub.spublish(channel, message)
        else:
            hub.publish(channel, message)

    def _info(self, server, lines):
        return ["cluster_enabled:1"]

    def _info_server(self, server, lines):
        return ["redis_mode:cluster" if line == "redis_mode:standalone" else line
                for line in lines]

    def now(self) -> int:
        return now_ms()


def attach(server) -> None:
    """SERVER_INIT: a cluster-enabled server gets its node; the others nothing."""
    server.rcluster = None
    if not server.config["cluster-enabled"]:
        return
    if server.config.get("cluster-bootstrap") or server.config.get("cluster-join"):
        raise ConfigError("cluster-enabled yes (Redis Cluster) cannot be combined with the HA "
                          "group's --cluster-bootstrap / --cluster-join")
    server.rcluster = RedisCluster(server)

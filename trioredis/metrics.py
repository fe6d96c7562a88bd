"""Prometheus metrics: the fields of INFO a Redis exporter reports, plus the HA group's and the
WebSocket gateway's own, in the text exposition format (served at ``GET /metrics`` on the
gateway port, docs/gateway.md).

The values are read from the same INFO text a client gets (``info_text``), so every hook that
adds lines to a section (replicas, persistence, failover) shows up here too, and metric names
follow the common Redis exporter (``redis_connected_clients``, ``redis_commands_total{cmd}``,
...) so existing dashboards and alerts apply. Built with prometheus-client, an optional
dependency (the ``gateway`` extra): this module is imported only when ``/metrics`` is asked for.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from .cluster import cluster_of
from .gateway.info_view import info_sections as info_fields
from .gateway.info_view import kv as _kv

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# INFO field -> (metric name without the redis_ prefix, "gauge" or "counter", help)
_FIELDS: dict[str, tuple[str, str, str]] = {
    # server
    "uptime_in_seconds": ("uptime_in_seconds", "gauge", "Seconds since the server started"),
    # clients
    "connected_clients": ("connected_clients", "gauge", "Client connections"),
    "blocked_clients": ("blocked_clients", "gauge", "Clients blocked in a blocking command"),
    "tracking_clients": ("tracking_clients", "gauge", "Clients with tracking on"),
    "maxclients": ("max_clients", "gauge", "maxclients"),
    # memory
    "used_memory": ("memory_used_bytes", "gauge", "Memory used by the dataset and overhead"),
    "used_memory_rss": ("memory_used_rss_bytes", "gauge", "Resident set size of the process"),
    "used_memory_peak": ("memory_used_peak_bytes", "gauge", "Peak used_memory"),
    "used_memory_lua": ("memory_used_lua_bytes", "gauge", "Memory of the Lua interpreter"),
    "maxmemory": ("memory_max_bytes", "gauge", "maxmemory (0: no limit)"),
    "mem_fragmentation_ratio": ("mem_fragmentation_ratio", "gauge", "RSS / used_memory"),
    # persistence
    "loading": ("loading_dump_file", "gauge", "1 while a dump is loading"),
    "rdb_changes_since_last_save": ("rdb_changes_since_last_save", "gauge",
                                    "Writes since the last save"),
    "rdb_bgsave_in_progress": ("rdb_bgsave_in_progress", "gauge", "1 while BGSAVE runs"),
    "rdb_last_save_time": ("rdb_last_save_timestamp_seconds", "gauge",
                           "Unix time of the last successful save"),
    "rdb_last_bgsave_time_sec": ("rdb_last_bgsave_duration_sec", "gauge",
                                 "Duration of the last BGSAVE (-1: none)"),
    "rdb_saves": ("rdb_saves_total", "counter", "Saves since start"),
    "aof_enabled": ("aof_enabled", "gauge", "1 when appendonly is on"),
    "aof_rewrite_in_progress": ("aof_rewrite_in_progress", "gauge", "1 while a rewrite runs"),
    "aof_last_rewrite_time_sec": ("aof_last_rewrite_duration_sec", "gauge",
                                  "Duration of the last AOF rewrite (-1: none)"),
    "aof_rewrites": ("aof_rewrites_total", "counter", "AOF rewrites since start"),
    # stats
    "total_connections_received": ("connections_received_total", "counter",
                                   "Connections accepted"),
    "total_commands_processed": ("commands_processed_total", "counter", "Commands run"),
    "instantaneous_ops_per_sec": ("instantaneous_ops_per_sec", "gauge",
                                  "Commands per second, recent average"),
    "total_net_input_bytes": ("net_input_bytes_total", "counter", "Bytes read from clients"),
    "total_net_output_bytes": ("net_output_bytes_total", "counter", "Bytes written to clients"),
    "rejected_connections": ("rejected_connections_total", "counter",
                             "Connections refused (maxclients)"),
    "expired_keys": ("expired_keys_total", "counter", "Keys expired"),
    "evicted_keys": ("evicted_keys_total", "counter", "Keys evicted (maxmemory)"),
    "keyspace_hits": ("keyspace_hits_total", "counter", "Lookups that found the key"),
    "keyspace_misses": ("keyspace_misses_total", "counter", "Lookups that missed"),
    "pubsub_channels": ("pubsub_channels", "gauge", "Channels with subscribers"),
    "pubsub_patterns": ("pubsub_patterns", "gauge", "Patterns with subscribers"),
    "total_error_replies": ("errors_total", "counter", "Error replies sent"),
    "sync_full": ("replica_resyncs_full", "counter", "Full resynchronisations served"),
    "sync_partial_ok": ("replica_partial_resync_accepted", "counter", "Partial resyncs served"),
    "sync_partial_err": ("replica_partial_resync_denied", "counter", "Partial resyncs refused"),
    # replication
    "connected_slaves": ("connected_slaves", "gauge", "Replicas connected"),
    "master_repl_offset": ("master_repl_offset", "gauge", "Replication offset"),
    "repl_backlog_size": ("repl_backlog_size", "gauge", "Backlog size in bytes"),
    "repl_backlog_histlen": ("repl_backlog_history_bytes", "gauge", "Bytes in the backlog"),
    "slave_repl_offset": ("slave_repl_offset", "gauge", "A replica's processed offset"),
    "master_last_io_seconds_ago": ("master_last_io_seconds_ago", "gauge",
                                   "Seconds since the master was last heard of"),
    "master_sync_in_progress": ("master_sync_in_progress", "gauge", "1 while syncing"),
    # cpu
    "used_cpu_sys": ("cpu_sys_seconds_total", "counter", "System CPU time"),
    "used_cpu_user": ("cpu_user_seconds_total", "counter", "User CPU time"),
}


def _num(v) -> float | None:
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


class _Collector:
    """One scrape: reads INFO (and the HA node and gateway) when prometheus-client asks."""

    def __init__(self, server, gateway: dict | None = None):
        self.server = server
        self.gateway = gateway

    def collect(self):
        srv = self.server
        info = info_fields(srv)
        flat = {k: v for sec in info.values() for k, v in sec.items()}
        yield from self._fields(flat)
        yield from self._instance(info)
        yield from self._commands(info.get("commandstats", {}), info.get("latencystats", {}))
        yield from self._errors(info.get("errorstats", {}))
        yield from self._keyspace(info.get("keyspace", {}))
        yield from self._replication(info.get("replication", {}))
        yield from self._ha()
        if self.gateway is not None:
            yield from self._gateway(self.gateway)

    def _fields(self, flat: dict[str, str]):
        for field, (name, kind, doc) in _FIELDS.items():
            v = _num(flat.get(field))
            if v is None:
                continue
            if kind == "counter":
                m = CounterMetricFamily("redis_" + name.removesuffix("_total"), doc)
            else:
                m = GaugeMetricFamily("redis_" + name, doc)
            m.add_metric([], v)
            yield m
        for field, name, doc in (
            ("rdb_last_bgsave_status", "rdb_last_bgsave_status", "1 if the last BGSAVE succeeded"),
            ("aof_last_bgrewrite_status", "aof_last_bgrewrite_status",
             "1 if the last AOF rewrite succeeded"),
            ("aof_last_write_status", "aof_last_write_status", "1 if the last AOF write succeeded"),
            ("master_link_status", "master_link_up", "1 if this replica's link to its master is up"),
        ):
            if field in flat:
                m = GaugeMetricFamily("redis_" + name, doc)
                m.add_metric([], 1.0 if flat[field] in ("ok", "up") else 0.0)
                yield m

    def _instance(self, info):
        s = info.get("server", {})
        r = info.get("replication", {})
        m = GaugeMetricFamily("redis_instance_info", "The server's version, mode and role",
                              labels=["redis_version", "redis_mode", "role", "run_id",
                                      "tcp_port"])
        m.add_metric([s.get("redis_version", ""), s.get("redis_mode", ""),
                      r.get("role", ""), s.get("run_id", ""), s.get("tcp_port", "")], 1.0)
        yield m
        if "maxmemory_policy" in info.get("memory", {}):
            p = GaugeMetricFamily("redis_config_maxmemory_policy_info", "maxmemory-policy",
                                  labels=["policy"])
            p.add_metric([info["memory"]["maxmemory_policy"]], 1.0)
            yield p

    def _commands(self, stats: dict[str, str], latency: dict[str, str]):
        calls = CounterMetricFamily("redis_commands", "Calls per command (INFO commandstats)",
                                    labels=["cmd"])
        dur = CounterMetricFamily("redis_commands_duration_seconds",
                                  "Time spent per command (INFO commandstats usec)",
                                  labels=["cmd"])
        failed = CounterMetricFamily("redis_commands_failed_calls",
                                     "Calls that returned an error", labels=["cmd"])
        rejected = CounterMetricFamily("redis_commands_rejected_calls",
                                       "Calls refused before running", labels=["cmd"])
        for field, value in stats.items():
            cmd = field.removeprefix("cmdstat_")
            kv = _kv(value)
            calls.add_metric([cmd], _num(kv.get("calls")) or 0.0)
            dur.add_metric([cmd], (_num(kv.get("usec")) or 0.0) / 1e6)
            failed.add_metric([cmd], _num(kv.get("failed_calls")) or 0.0)
            rejected.add_metric([cmd], _num(kv.get("rejected_calls")) or 0.0)
        yield from (calls, dur, failed, rejected)
        pct = GaugeMetricFamily("redis_latency_percentiles_seconds",
                                "Per-command latency percentiles (INFO latencystats)",
                                labels=["cmd", "quantile"])
        for field, value in latency.items():
            cmd = field.removeprefix("latency_percentiles_usec_")
            for q, v in _kv(value).items():
                n = _num(v)
                if n is not None:
                    pct.add_metric([cmd, q.removeprefix("p")], n / 1e6)
        yield pct

    def _errors(self, stats: dict[str, str]):
        m = CounterMetricFamily("redis_errors_by_prefix", "Error replies by their first word",
                                labels=["err"])
        for field, value in stats.items():
            m.add_metric([field.removeprefix("errorstat_")], _num(_kv(value).get("count")) or 0)
        yield m

    def _keyspace(self, ks: dict[str, str]):
        keys = GaugeMetricFamily("redis_db_keys", "Keys per database", labels=["db"])
        exp = GaugeMetricFamily("redis_db_keys_expiring", "Keys with a TTL", labels=["db"])
        ttl = GaugeMetricFamily("redis_db_avg_ttl_seconds", "Average TTL", labels=["db"])
        for db, value in ks.items():
            kv = _kv(value)
            keys.add_metric([db], _num(kv.get("keys")) or 0)
            exp.add_metric([db], _num(kv.get("expires")) or 0)
            ttl.add_metric([db], (_num(kv.get("avg_ttl")) or 0) / 1000)
        yield from (keys, exp, ttl)

    def _replication(self, r: dict[str, str]):
        """Each connected replica's offset and lag (the master's ``slaveN:`` lines)."""
        labels = ["slave_ip", "slave_port", "slave_state"]
        off = GaugeMetricFamily("redis_connected_slave_offset_bytes",
                                "Offset a replica acknowledged", labels=labels)
        lag = GaugeMetricFamily("redis_connected_slave_lag_seconds",
                                "Seconds since a replica's last acknowledgement", labels=labels)
        behind = GaugeMetricFamily("redis_connected_slave_behind_bytes",
                                   "master_repl_offset minus the replica's offset", labels=labels)
        master_off = _num(r.get("master_repl_offset")) or 0
        for field, value in r.items():
            if not (field.startswith("slave") and field[5:].isdigit()):
                continue
            kv = _kv(value)
            lv = [kv.get("ip", ""), kv.get("port", ""), kv.get("state", "")]
            o = _num(kv.get("offset")) or 0
            off.add_metric(lv, o)
            lag.add_metric(lv, _num(kv.get("lag")) or 0)
            behind.add_metric(lv, max(master_off - o, 0))
        yield from (off, lag, behind)

    def _ha(self):
        """The HA group (--cluster-bootstrap / --cluster-join): term, role, members."""
        node = cluster_of(self.server)
        if node is None:
            return
        view = dict(line.split(":", 1) for line in node.info_lines())
        term = GaugeMetricFamily("trioredis_ha_term", "The HA group's current term")
        term.add_metric([], float(view["cluster_current_term"]))
        yield term
        role = GaugeMetricFamily("trioredis_ha_role", "1 for this node's role in the HA group",
                                 labels=["role", "node_id"])
        role.add_metric([view["cluster_role"], view["cluster_node_id"]], 1.0)
        yield role
        for field, name, doc in (
            ("cluster_members", "members", "Members of the HA group"),
            ("cluster_majority", "majority", "Votes needed to elect a leader"),
            ("cluster_fenced", "fenced", "1 if this leader stopped taking writes (no majority)"),
            ("cluster_repl_offset", "repl_offset", "This node's replication offset"),
        ):
            g = GaugeMetricFamily(f"trioredis_ha_{name}", doc)
            g.add_metric([], float(view[field]))
            yield g
        up = GaugeMetricFamily("trioredis_ha_state_ok", "1 if the group has a live leader")
        up.add_metric([], 1.0 if view["cluster_state"] == "ok" else 0.0)
        yield up
        won = CounterMetricFamily("trioredis_ha_elections_won", "Elections this node won")
        won.add_metric([], float(view["cluster_elections_won"]))
        yield won
        members = GaugeMetricFamily("trioredis_ha_member_offset_bytes",
                                    "Each member's replication offset as this node knows it",
                                    labels=["node_id", "addr", "role"])
        hb = GaugeMetricFamily("trioredis_ha_member_last_heartbeat_seconds",
                               "Seconds since each member was heard of (-0.001: never)",
                               labels=["node_id", "addr", "role"])
        for m in node.views():
            lv = [m["id"], f"{m['ip']}:{m['port']}", m["role"]]
            members.add_metric(lv, float(m["offset"]))
            hb.add_metric(lv, m["last-heartbeat-ms"] / 1000)
        yield from (members, hb)

    def _gateway(self, st: dict):
        """The gateway's numbers (gateway.routes.gateway_numbers)."""
        sessions = GaugeMetricFamily("trioredis_gateway_sessions", "Open WebSocket sessions")
        sessions.add_metric([], st["sessions"])
        yield sessions
        opened = CounterMetricFamily("trioredis_gateway_sessions_opened",
                                     "WebSocket sessions accepted")
        opened.add_metric([], st["opened"])
        yield opened
        subs = GaugeMetricFamily("trioredis_gateway_subscriptions",
                                 "Stream, group and info subscriptions of the open sessions",
                                 labels=["kind"])
        for kind, n in st["subscriptions"].items():
            subs.add_metric([kind], n)
        yield subs
        queued = GaugeMetricFamily("trioredis_gateway_send_queue_bytes",
                                   "Bytes queued for all sockets")
        queued.add_metric([], st["queued"])
        yield queued
        drops = CounterMetricFamily("trioredis_gateway_drops",
                                    "Sessions the server closed, by reason", labels=["reason"])
        for reason, n in sorted(st["drops"].items()):
            drops.add_metric([reason], n)
        yield drops
        refused = CounterMetricFamily("trioredis_gateway_refused",
                                      "Upgrades refused, by HTTP status", labels=["status"])
        for status, n in sorted(st["refused"].items()):
            refused.add_metric([str(status)], n)
        yield refused


def render(server, gateway: dict | None = None) -> bytes:
    """The metrics page: one scrape, in the Prometheus text format. ``gateway``: the
    gateway's own numbers, when it serves the page."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collector(server, gateway))
    return generate_latest(registry)

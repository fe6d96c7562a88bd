"""INFO: the sections of Redis 7.0, with its field names, order and formatting.

Each section is a list of ``field:value`` lines under a ``# Title`` header; sections are
separated by a blank line and every line ends in ``\\r\\n``. Values are ours where we have
them (clients, keys, commands and their timing, errors, CPU, RSS) and Redis's idle defaults
where a subsystem does not exist here (forks, defrag, I/O threads).

Other modules add or change fields through hooks named ``info_<section>`` (``info_replication``,
``info_persistence``, ...): ``fn(server, lines) -> lines | None`` gets the section's lines and
returns the lines to use (or edits the list in place and returns None). Replication, for
instance, replaces the master-side lines with a replica's.
"""

from __future__ import annotations

import hashlib
import os
import resource
import sys
import time
from collections import deque

from .commands import registry
from .latency import percentiles_line

VERSION = "7.0.15"
BUILD_ID = hashlib.sha1(b"trioredis " + VERSION.encode()).hexdigest()[:16]

DEFAULT_SECTIONS = ("server", "clients", "memory", "persistence", "stats", "replication", "cpu",
                    "modules", "errorstats", "cluster", "keyspace")
ALL_SECTIONS = ("server", "clients", "memory", "persistence", "stats", "replication", "cpu",
                "modules", "commandstats", "errorstats", "latencystats", "cluster", "keyspace")
TITLES = {"cpu": "CPU"}


def bytes_to_human(n: int) -> str:
    """Redis's bytesToHuman: ``991.39K``, ``11.80M``, ``0B``."""
    if n < 1024:
        return f"{n}B"
    for i, unit in enumerate("KMGTP", 1):
        if n < 1024 ** (i + 1):
            return f"{n / 1024**i:.2f}{unit}"
    return f"{n}B"


def rss_bytes() -> int:
    """Resident set size of this process (what Redis calls used_memory_rss)."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def total_system_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return 0


class InfoState:
    """Per-server INFO state: memory baseline and peak, instantaneous metric samples.

    Made with the server (``core.SERVER_INIT``, see commands/server.py); a cron hook samples
    ops and network bytes every tick, as Redis's serverCron does.
    """

    SAMPLES = 16

    def __init__(self, server):
        self.server = server
        self.startup_memory = rss_bytes()
        self.peak_memory = self.startup_memory
        self.samples: deque = deque(maxlen=self.SAMPLES + 1)
        self.sample()
        server.add_hook("cron", self.sample)

    def sample(self) -> None:
        s = self.server
        self.samples.append(
            (time.monotonic(), s.stat_numcommands, s.stat_net_input_bytes,
             s.stat_net_output_bytes)
        )

    def instantaneous(self) -> tuple[int, float, float]:
        """Ops/sec and input/output kbps over the last samples (Redis: 16 x 100 ms)."""
        if len(self.samples) < 2:
            return 0, 0.0, 0.0
        t0, c0, i0, o0 = self.samples[0]
        t1, c1, i1, o1 = self.samples[-1]
        dt = t1 - t0
        if dt <= 0:
            return 0, 0.0, 0.0
        return int((c1 - c0) / dt), (i1 - i0) / dt / 1024, (o1 - o0) / dt / 1024

    def memory(self) -> int:
        used = rss_bytes()
        if used > self.peak_memory:
            self.peak_memory = used
        return used


def state_of(server) -> InfoState:
    st = getattr(server, "info_state", None)
    if st is None:
        st = server.info_state = InfoState(server)
    return st


def parse_sections(args: list[bytes]) -> list[str]:
    """INFO's arguments -> the sections to show, in Redis's order."""
    if not args:
        return list(DEFAULT_SECTIONS)
    wanted = set()
    for a in args:
        name = a.decode("utf-8", "replace").lower()
        if name == "default":
            wanted.update(DEFAULT_SECTIONS)
        elif name in ("all", "everything"):
            wanted.update(ALL_SECTIONS)
        else:
            wanted.add(name)
    return [s for s in ALL_SECTIONS if s in wanted]


def info_text(server, sections: list[str]) -> bytes:
    """The INFO reply body for ``sections``."""
    out = []
    for name in sections:
        lines = SECTIONS[name](server)
        for hook in server.hooks.get("info_" + name, ()):
            changed = hook(server, lines)
            if changed is not None:
                lines = changed
        title = TITLES.get(name, name.capitalize())
        body = "".join([line + "\r\n" for line in lines])
        out.append(f"# {title}\r\n{body}")
    return "\r\n".join(out).encode()


# -- the sections ------------------------------------------------------------------------------


def _server(s) -> list[str]:
    now = time.time()
    uptime = int(time.monotonic() - s.start_monotonic)
    uname = os.uname()
    cfg = s.config
    return [
        f"redis_version:{VERSION}",
        "redis_git_sha1:00000000",
        "redis_git_dirty:0",
        f"redis_build_id:{BUILD_ID}",
        "redis_mode:standalone",
        f"os:{uname.sysname} {uname.release} {uname.machine}",
        f"arch_bits:{64 if sys.maxsize > 2**32 else 32}",
        "monotonic_clock:POSIX clock_gettime",
        "multiplexing_api:epoll",
        "atomicvar_api:c11-builtin",
        "gcc_version:0.0.0",
        f"process_id:{os.getpid()}",
        f"process_supervised:{cfg['supervised']}",
        f"run_id:{s.run_id}",
        f"tcp_port:{cfg['port']}",
        f"server_time_usec:{int(now * 1_000_000)}",
        f"uptime_in_seconds:{uptime}",
        f"uptime_in_days:{uptime // 86400}",
        f"hz:{cfg['hz']}",
        f"configured_hz:{cfg['hz']}",
        f"lru_clock:{int(now) & ((1 << 24) - 1)}",
        f"executable:{os.path.abspath(sys.argv[0]) if sys.argv and sys.argv[0] else ''}",
        f"config_file:{cfg.config_file or ''}",
        "io_threads_active:0",
    ]


def _clients(s) -> list[str]:
    from .commands.connection import HOLD

    clients = s.clients.values()
    replicas = blocked = in_timeout = 0
    for c in clients:
        if c.is_replica:
            replicas += 1
        blk = c.blocked
        if blk is not None:  # CLIENT PAUSE holds count too (Redis 7.0's BLOCKED_POSTPONE)
            blocked += 1
            if blk.timeout and blk.timeout_reply is not HOLD:
                in_timeout += 1
    tracking = sum(1 for c in clients if c.tracking)
    return [
        f"connected_clients:{len(s.clients) - replicas}",
        "cluster_connections:0",
        f"maxclients:{s.config['maxclients']}",
        "client_recent_max_input_buffer:0",
        "client_recent_max_output_buffer:0",
        f"blocked_clients:{blocked}",
        f"tracking_clients:{tracking}",
        f"clients_in_timeout_table:{in_timeout}",
    ]


def _memory(s) -> list[str]:
    st = state_of(s)
    used = st.memory()
    peak = st.peak_memory
    startup = st.startup_memory
    dataset = max(used - startup, 0)
    net = max(used - startup, 1)
    system = total_system_memory()
    maxmemory = s.config["maxmemory"]
    return [
        f"used_memory:{used}",
        f"used_memory_human:{bytes_to_human(used)}",
        f"used_memory_rss:{used}",
        f"used_memory_rss_human:{bytes_to_human(used)}",
        f"used_memory_peak:{peak}",
        f"used_memory_peak_human:{bytes_to_human(peak)}",
        f"used_memory_peak_perc:{used * 100 / peak if peak else 0:.2f}%",
        f"used_memory_overhead:{startup}",
        f"used_memory_startup:{startup}",
        f"used_memory_dataset:{dataset}",
        f"used_memory_dataset_perc:{dataset * 100 / net:.2f}%",
        f"allocator_allocated:{used}",
        f"allocator_active:{used}",
        f"allocator_resident:{used}",
        f"total_system_memory:{system}",
        f"total_system_memory_human:{bytes_to_human(system)}",
        "used_memory_lua:0",
        "used_memory_vm_eval:0",
        "used_memory_lua_human:0B",
        "used_memory_scripts_eval:0",
        "number_of_cached_scripts:0",
        "number_of_functions:0",
        "number_of_libraries:0",
        "used_memory_vm_functions:0",
        "used_memory_vm_total:0",
        "used_memory_vm_total_human:0B",
        "used_memory_functions:0",
        "used_memory_scripts:0",
        "used_memory_scripts_human:0B",
        f"maxmemory:{maxmemory}",
        f"maxmemory_human:{bytes_to_human(maxmemory)}",
        f"maxmemory_policy:{s.config['maxmemory-policy']}",
        "allocator_frag_ratio:1.00",
        "allocator_frag_bytes:0",
        "allocator_rss_ratio:1.00",
        "allocator_rss_bytes:0",
        "rss_overhead_ratio:1.00",
        "rss_overhead_bytes:0",
        "mem_fragmentation_ratio:1.00",
        "mem_fragmentation_bytes:0",
        "mem_not_counted_for_evict:0",
        "mem_replication_backlog:0",
        "mem_total_replication_buffers:0",
        "mem_clients_slaves:0",
        "mem_clients_normal:0",
        "mem_cluster_links:0",
        "mem_aof_buffer:0",
        "mem_allocator:libc",
        "active_defrag_running:0",
        "lazyfree_pending_objects:0",
        "lazyfreed_objects:0",
    ]


def _persistence(s) -> list[str]:
    changes = s.dirty - getattr(s, "dirty_at_last_save", 0)
    return [
        f"loading:{int(bool(s.loading))}",
        "async_loading:0",
        "current_cow_peak:0",
        "current_cow_size:0",
        "current_cow_size_age:0",
        "current_fork_perc:0.00",
        "current_save_keys_processed:0",
        "current_save_keys_total:0",
        f"rdb_changes_since_last_save:{changes}",
        "rdb_bgsave_in_progress:0",
        f"rdb_last_save_time:{s.lastsave}",
        "rdb_last_bgsave_status:ok",
        "rdb_last_bgsave_time_sec:-1",
        "rdb_current_bgsave_time_sec:-1",
        "rdb_saves:0",
        "rdb_last_cow_size:0",
        "rdb_last_load_keys_expired:0",
        "rdb_last_load_keys_loaded:0",
        f"aof_enabled:{int(bool(s.config['appendonly']))}",
        "aof_rewrite_in_progress:0",
        "aof_rewrite_scheduled:0",
        "aof_last_rewrite_time_sec:-1",
        "aof_current_rewrite_time_sec:-1",
        "aof_last_bgrewrite_status:ok",
        "aof_rewrites:0",
        "aof_rewrites_consecutive_failures:0",
        "aof_last_write_status:ok",
        "aof_last_cow_size:0",
        "module_fork_in_progress:0",
        "module_fork_last_cow_size:0",
    ]


def _stats(s) -> list[str]:
    ops, kin, kout = state_of(s).instantaneous()
    tracked = s.tracking.info() if s.tracking is not None else (0, 0, 0)
    channels, patterns, shard = set(), set(), set()
    for c in s.clients.values():
        if c.channels:
            channels.update(c.channels)
        if c.patterns:
            patterns.update(c.patterns)
        if c.shard_channels:
            shard.update(c.shard_channels)
    return [
        f"total_connections_received:{s.stat_numconnections}",
        f"total_commands_processed:{s.stat_numcommands}",
        f"instantaneous_ops_per_sec:{ops}",
        f"total_net_input_bytes:{s.stat_net_input_bytes}",
        f"total_net_output_bytes:{s.stat_net_output_bytes}",
        "total_net_repl_input_bytes:0",
        "total_net_repl_output_bytes:0",
        f"instantaneous_input_kbps:{kin:.2f}",
        f"instantaneous_output_kbps:{kout:.2f}",
        "instantaneous_input_repl_kbps:0.00",
        "instantaneous_output_repl_kbps:0.00",
        f"rejected_connections:{s.stat_rejected_conn}",
        f"sync_full:{getattr(s, 'replication', None) and s.replication.sync_full or 0}",
        f"sync_partial_ok:{getattr(s, 'replication', None) and s.replication.sync_partial_ok or 0}",
        f"sync_partial_err:{getattr(s, 'replication', None) and s.replication.sync_partial_err or 0}",
        f"expired_keys:{s.stat_expired_keys}",
        "expired_stale_perc:0.00",
        "expired_time_cap_reached_count:0",
        "expire_cycle_cpu_milliseconds:0",
        f"evicted_keys:{s.stat_evicted_keys}",
        "evicted_clients:0",
        "total_eviction_exceeded_time:0",
        "current_eviction_exceeded_time:0",
        f"keyspace_hits:{s.stat_keyspace_hits}",
        f"keyspace_misses:{s.stat_keyspace_misses}",
        f"pubsub_channels:{len(channels)}",
        f"pubsub_patterns:{len(patterns)}",
        f"pubsubshard_channels:{len(shard)}",
        "latest_fork_usec:0",
        f"total_forks:{getattr(s, 'stat_total_forks', 0)}",
        "migrate_cached_sockets:0",
        "slave_expires_tracked_keys:0",
        "active_defrag_hits:0",
        "active_defrag_misses:0",
        "active_defrag_key_hits:0",
        "active_defrag_key_misses:0",
        "total_active_defrag_time:0",
        "current_active_defrag_time:0",
        f"tracking_total_keys:{tracked[0]}",
        f"tracking_total_items:{tracked[1]}",
        f"tracking_total_prefixes:{tracked[2]}",
        f"unexpected_error_replies:{s.stat_unexpected_error_replies}",
        f"total_error_replies:{s.stat_total_error_replies}",
        "dump_payload_sanitizations:0",
        f"total_reads_processed:{getattr(s, 'stat_total_reads_processed', 0)}",
        f"total_writes_processed:{getattr(s, 'stat_total_writes_processed', 0)}",
        "io_threaded_reads_processed:0",
        "io_threaded_writes_processed:0",
        "reply_buffer_shrinks:0",
        "reply_buffer_expands:0",
    ]


def _replication(s) -> list[str]:
    if s.role == "slave":
        role = ["role:slave"]
    else:
        role = ["role:master", "connected_slaves:0"]
    return role + [
        "master_failover_state:no-failover",
        f"master_replid:{s.replid}",
        f"master_replid2:{s.replid2}",
        f"master_repl_offset:{s.master_repl_offset}",
        f"second_repl_offset:{s.second_repl_offset}",
        "repl_backlog_active:0",
        f"repl_backlog_size:{s.config['repl-backlog-size']}",
        "repl_backlog_first_byte_offset:0",
        "repl_backlog_histlen:0",
    ]


def _cpu(s) -> list[str]:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        main = resource.getrusage(resource.RUSAGE_THREAD)  # INFO runs on the server's thread
    except (AttributeError, ValueError):
        main = me
    return [
        f"used_cpu_sys:{me.ru_stime:.6f}",
        f"used_cpu_user:{me.ru_utime:.6f}",
        f"used_cpu_sys_children:{kids.ru_stime:.6f}",
        f"used_cpu_user_children:{kids.ru_utime:.6f}",
        f"used_cpu_sys_main_thread:{main.ru_stime:.6f}",
        f"used_cpu_user_main_thread:{main.ru_utime:.6f}",
    ]


def _modules(s) -> list[str]:
    return []


def _all_commands():
    """Every command, each container followed by its subcommands (Redis's command table)."""
    for cmd in registry.all_commands():
        yield cmd
        if cmd.subcommands:
            yield from sorted(set(cmd.subcommands.values()), key=lambda x: x.name)


def _commandstats(s) -> list[str]:
    out = []
    for x in _all_commands():
        if x.calls or x.failed_calls or x.rejected_calls:
            per_call = x.usec / x.calls if x.calls else 0
            out.append(
                f"cmdstat_{x.name}:calls={x.calls},usec={x.usec},usec_per_call={per_call:.2f},"
                f"rejected_calls={x.rejected_calls},failed_calls={x.failed_calls}"
            )
    return out


def _errorstats(s) -> list[str]:
    return [f"errorstat_{code}:count={n}" for code, n in sorted(s.error_counts.items())]


def _latencystats(s) -> list[str]:
    """Each command's latency percentiles (latency-tracking-info-percentiles), from the
    histograms core's timing fills while latency-tracking is on."""
    if not s.config["latency-tracking"]:
        return []
    try:
        wanted = s.config["latency-tracking-info-percentiles"]
    except KeyError:  # a build without the parameter: Redis's default
        wanted = [50.0, 99.0, 99.9]
    return [percentiles_line(x.name, x.latency_hist, wanted)
            for x in _all_commands() if x.latency_hist]


def _cluster(s) -> list[str]:
    return ["cluster_enabled:0"]


def _keyspace(s) -> list[str]:
    return [
        f"db{db.id}:keys={len(db.data)},expires={len(db.expires)},avg_ttl={db.avg_ttl}"
        for db in s.dbs
        if db.data
    ]


SECTIONS = {
    "server": _server,
    "clients": _clients,
    "memory": _memory,
    "persistence": _persistence,
    "stats": _stats,
    "replication": _replication,
    "cpu": _cpu,
    "modules": _modules,
    "commandstats": _commandstats,
    "errorstats": _errorstats,
    "latencystats": _latencystats,
    "cluster": _cluster,
    "keyspace": _keyspace,
}

"""INFO memory from the used_memory model (eviction.py, memory.py), in Redis 7.0's field order.

``used_memory`` and the figures built on it (peak, overhead, dataset, fragmentation) are the
model's; ``used_memory_rss`` is the process's resident set. The ``allocator_*`` fields are
approximations: we have no allocator statistics, so allocated and active are the model's
figure and resident is the RSS. docs/memory.md says what the model counts and how far it is
from the RSS. The interpreter's own memory at start-up is not in ``used_memory`` (it is in the
RSS): ``maxmemory`` budgets what the server allocates for data and buffers, as Redis's does.
"""

from __future__ import annotations

from sys import getsizeof

from . import eviction
from .extensions import SERVER_INIT
from .info import bytes_to_human, rss_bytes, total_system_memory


class MemoryFigures:
    """The peak of used_memory, kept by the cron and by every report."""

    __slots__ = ("peak",)

    def __init__(self):
        self.peak = 0


def figures(server) -> dict:
    """Every figure INFO memory and MEMORY STATS report, in bytes."""
    st = server.memory_figures
    used = eviction.used_memory(server)
    if used > st.peak:
        st.peak = used
    normal, replicas = eviction.clients_memory(server)
    backlog = eviction.backlog_memory(server)
    aof = eviction.not_counted_memory(server) - replicas
    startup = server.eviction.startup
    tables = sum(eviction.memory.db_dataset(db) - db.str_bytes - db.coll_bytes
                 for db in server.dbs)
    overhead = startup + normal + replicas + backlog + aof + max(tables - startup, 0)
    return {
        "used": used,
        "peak": st.peak,
        "startup": startup,
        "overhead": min(overhead, used),
        "dataset": max(used - overhead, 0),
        "clients_normal": normal,
        "clients_slaves": replicas,
        "backlog": backlog,
        "aof": aof,
        "not_counted": replicas + aof,
        "tables": tables,
        "rss": rss_bytes(),
    }


def _info_memory(server, lines: list) -> list:
    f = figures(server)
    used, peak, rss = f["used"], f["peak"], f["rss"]
    net = max(used - f["startup"], 1)
    frag = rss / used if used else 0.0
    lazy = getattr(server, "lazyfree", None)
    pending = lazy.pending_objects() if lazy is not None else 0
    freed = lazy.freed_objects if lazy is not None else 0
    system = total_system_memory()
    maxmemory = server.config["maxmemory"]
    keep = {}
    for line in lines:  # scripting and other modules' fields stay as they were
        name, _, value = line.partition(":")
        keep[name] = value
    out = [
        f"used_memory:{used}",
        f"used_memory_human:{bytes_to_human(used)}",
        f"used_memory_rss:{rss}",
        f"used_memory_rss_human:{bytes_to_human(rss)}",
        f"used_memory_peak:{peak}",
        f"used_memory_peak_human:{bytes_to_human(peak)}",
        f"used_memory_peak_perc:{used * 100 / peak if peak else 0:.2f}%",
        f"used_memory_overhead:{f['overhead']}",
        f"used_memory_startup:{f['startup']}",
        f"used_memory_dataset:{f['dataset']}",
        f"used_memory_dataset_perc:{f['dataset'] * 100 / net:.2f}%",
        f"allocator_allocated:{used}",
        f"allocator_active:{used}",
        f"allocator_resident:{rss}",
        f"total_system_memory:{system}",
        f"total_system_memory_human:{bytes_to_human(system)}",
    ]
    for name in ("used_memory_lua", "used_memory_vm_eval", "used_memory_lua_human",
                 "used_memory_scripts_eval", "number_of_cached_scripts", "number_of_functions",
                 "number_of_libraries", "used_memory_vm_functions", "used_memory_vm_total",
                 "used_memory_vm_total_human", "used_memory_functions", "used_memory_scripts",
                 "used_memory_scripts_human"):
        if name in keep:
            out.append(f"{name}:{keep[name]}")
    out += [
        f"maxmemory:{maxmemory}",
        f"maxmemory_human:{bytes_to_human(maxmemory)}",
        f"maxmemory_policy:{server.config['maxmemory-policy']}",
        "allocator_frag_ratio:1.00",
        "allocator_frag_bytes:0",
        f"allocator_rss_ratio:{frag:.2f}",
        f"allocator_rss_bytes:{rss - used}",
        "rss_overhead_ratio:1.00",
        "rss_overhead_bytes:0",
        f"mem_fragmentation_ratio:{frag:.2f}",
        f"mem_fragmentation_bytes:{rss - used}",
        f"mem_not_counted_for_evict:{f['not_counted']}",
        f"mem_replication_backlog:{f['backlog']}",
        # One buffer in Redis 7.0: what the backlog keeps and what a replica has not got yet
        f"mem_total_replication_buffers:{max(f['backlog'], f['clients_slaves'])}",
        f"mem_clients_slaves:{f['clients_slaves']}",
        f"mem_clients_normal:{f['clients_normal']}",
        "mem_cluster_links:0",
        f"mem_aof_buffer:{f['aof']}",
        "mem_allocator:libc",
        "active_defrag_running:0",
        f"lazyfree_pending_objects:{pending}",
        f"lazyfreed_objects:{freed}",
    ]
    return out


def _info_stats(server, lines: list) -> list:
    """evicted_clients: the clients maxmemory-clients closed (eviction.evict_clients)."""
    n = server.stat_evicted_clients
    return [f"evicted_clients:{n}" if line.startswith("evicted_clients:") else line
            for line in lines]


def _init(server) -> None:
    server.memory_figures = MemoryFigures()
    server.add_hook("info_memory", _info_memory)
    server.add_hook("info_stats", _info_stats)
    server.add_hook("cron", lambda: _sample_peak(server))


def _sample_peak(server) -> None:
    used = eviction.used_memory(server)
    if used > server.memory_figures.peak:
        server.memory_figures.peak = used


SERVER_INIT.append(_init)


def stats(server) -> dict:
    """MEMORY STATS, in Redis 7.0's order, from the same figures as INFO memory."""
    f = figures(server)
    used, startup, peak, rss = f["used"], f["startup"], f["peak"], f["rss"]
    out = {
        b"peak.allocated": peak,
        b"total.allocated": used,
        b"startup.allocated": startup,
        b"replication.backlog": f["backlog"],
        b"clients.slaves": f["clients_slaves"],
        b"clients.normal": f["clients_normal"],
        b"cluster.links": 0,
        b"aof.buffer": f["aof"],
        b"lua.caches": 0,
        b"functions.caches": 0,
    }
    keys = 0
    for db in server.dbs:
        if not db.data:
            continue
        keys += len(db.data)
        out[b"db.%d" % db.id] = {
            b"overhead.hashtable.main": getsizeof(db.data) + getsizeof(db.access),
            b"overhead.hashtable.expires": getsizeof(db.expires) if db.expires else 0,
            b"overhead.hashtable.slot-to-keys": 0,
        }
    net = max(used - startup, 1)
    frag = rss / used if used else 0.0
    out.update({
        b"overhead.total": f["overhead"],
        b"keys.count": keys,
        b"keys.bytes-per-key": (used - startup) // keys if keys else 0,
        b"dataset.bytes": f["dataset"],
        b"dataset.percentage": f["dataset"] * 100.0 / net,
        b"peak.percentage": used * 100.0 / peak if peak else 0.0,
        b"allocator.allocated": used,
        b"allocator.active": used,
        b"allocator.resident": rss,
        b"allocator-fragmentation.ratio": 1.0,
        b"allocator-fragmentation.bytes": 0,
        b"allocator-rss.ratio": frag,
        b"allocator-rss.bytes": rss - used,
        b"rss-overhead.ratio": 1.0,
        b"rss-overhead.bytes": 0,
        b"fragmentation": frag,
        b"fragmentation.bytes": rss - used,
    })
    return out

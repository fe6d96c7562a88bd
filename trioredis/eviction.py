"""maxmemory: used_memory as the model of memory.py, and Redis's performEvictions().

Before every command while ``maxmemory`` is set, :func:`perform_evictions` frees keys chosen by
``maxmemory-policy`` until the used memory (less what Redis does not count for eviction:
replicas' output buffers and the AOF buffer) is under the limit; a command flagged ``denyoom``
(or anything queued in MULTI, or an EXEC holding a ``denyoom`` command) is refused with -OOM when
nothing could be freed. The policies use Redis's approximations: a sample of
``maxmemory-samples`` keys from every db feeds a 16-entry pool ordered by idle time (LRU), by
255 - the decayed LFU counter (LFU) or by expiry (volatile-ttl), and the best entry of the pool
is evicted; the random policies take a random key, db after db. Each eviction counts in
``evicted_keys``, raises the ``evicted`` keyspace event and propagates a DEL (UNLINK with
``lazyfree-lazy-eviction``). Eviction that runs out of time (``maxmemory-eviction-tenacity``)
goes on in the cron, as Redis's eviction time proc, and commands are not refused meanwhile.
"""

from __future__ import annotations

import heapq
import random
import time

from . import lazyfree, memory  # noqa: F401  (lazyfree: SERVER_INIT)
from .client_memory import client_memory
from .extensions import SERVER_INIT
from .keyspace import NOTIFY_EVICTED
from .lfu import idle_ms, lfu_decayed, lfu_minutes, lru_clock

OOM = "OOM command not allowed when used memory > 'maxmemory'."
# Never seen: the evicted client's connection is closed instead of answered.
CLIENT_EVICTED = "ERR client evicted (maxmemory-clients)"

EVICT_OK, EVICT_RUNNING, EVICT_FAIL = 0, 1, 2
POOL_SIZE = 16  # Redis's EVPOOL_SIZE
_NO_REJECT_IN_MULTI = frozenset({"exec", "discard", "quit", "reset"})


class EvictionState:
    """Per-server eviction state: the pool, the random policies' next db, the time proc."""

    __slots__ = ("pool", "next_db", "running", "startup", "clients", "stamp", "used")

    def __init__(self):
        self.pool: list = []  # (score, dbid, key), ascending score; the best is last
        self.next_db = 0
        self.running = False  # eviction ran out of time and goes on in the cron
        self.startup = 0
        self.clients = (0, 0)  # (normal, replicas) output bytes, refreshed by the cron
        self.stamp = None  # what _used_for_eviction's figure was computed at
        self.used = 0


def _init(server) -> None:
    server.eviction = EvictionState()
    server.lfu_mode = False
    update_clocks(server)
    server.oom_check = oom_check
    cfg = server.config

    def policy_changed(value, old) -> None:
        server.lfu_mode = value.endswith("-lfu")
        server.eviction.pool.clear()

    def maxmemory_changed(value, old) -> None:
        server.update_guard()
        if value:
            used = used_memory(server)
            if used > value:
                server.log.warning(
                    "WARNING: the new maxmemory value set via CONFIG SET "
                    f"({value}) is smaller than the current memory usage ({used}). This will "
                    "result in key eviction and/or the inability to accept new write commands "
                    "depending on the maxmemory-policy."
                )
            server.eviction.running = True  # Redis's startEvictionTimeProc

    server.stat_evicted_clients = 0

    def reset_stats() -> None:
        server.stat_evicted_clients = 0

    server.add_hook("resetstat", reset_stats)

    def clients_limit_changed(value, old) -> None:
        server.update_guard()
        evict_clients(server)

    cfg.on_change("maxmemory-clients", clients_limit_changed)
    cfg.on_change("maxmemory-policy", policy_changed)
    cfg.on_change("maxmemory", maxmemory_changed)
    policy_changed(cfg["maxmemory-policy"], None)
    server.add_hook("cron", lambda: _cron(server))
    server.eviction.startup = used_memory(server)


SERVER_INIT.append(_init)


def update_clocks(server) -> None:
    """Redis's server.lruclock and the LFU minutes, refreshed by the cron."""
    now = server.now_ms()
    server.lru_clock = lru_clock(now)
    server.lfu_minutes = lfu_minutes(now)


def _cron(server) -> None:
    update_clocks(server)
    if server.config["maxmemory-clients"]:
        evict_clients(server)
    refresh_clients(server)
    for db in server.dbs:
        if db.data or db.expire_heap:
            compact(db)
    st = server.eviction
    if st.running and server.config["maxmemory"]:
        if perform_evictions(server) != EVICT_RUNNING:
            st.running = False
    else:
        st.running = False


# -- used memory -------------------------------------------------------------------------------


_EMPTY_DB = 3 * memory.getsizeof({})  # data, access and sizes of a db never written to


def dataset_memory(server) -> int:
    """The dbs, and what lazy free has still to release. Runs before every command while
    maxmemory is set: an untouched db costs one test."""
    n = server.lazyfree.pending_bytes
    db_dataset = memory.db_dataset
    for db in server.dbs:
        # (expires holds only keys of data; an emptied db's last sizes wait in resized)
        n += db_dataset(db) if db.data or db.resized else _EMPTY_DB
    return n


def refresh_clients(server) -> tuple[int, int]:
    """(normal and pub/sub clients' memory as CLIENT LIST's tot-mem, replicas' output bytes).
    Walks every client, so the cron keeps the figure (``EvictionState.clients``) and the
    per-command check reads it."""
    normal = replicas = 0
    now = server.cached_ms
    for c in server.clients.values():
        conn = c.conn
        if conn is None:
            continue
        if c.is_replica:
            replicas += getattr(conn, "out_bytes", 0)
        elif not c.is_master and hasattr(conn, "buffer_stats"):  # (not a gateway session)
            normal += client_memory(c, now)
    server.eviction.clients = (normal, replicas)
    return normal, replicas


def clients_memory(server) -> tuple[int, int]:
    return refresh_clients(server)


def aof_buffer_memory(server) -> int:
    aof = getattr(server, "aof", None)
    buf = getattr(aof, "buf", None) if aof is not None else None
    return sum(map(len, buf)) if buf else 0


def not_counted_memory(server) -> int:
    """Redis's freeMemoryGetNotCountedMemory: replicas' output buffers and the AOF buffer."""
    return clients_memory(server)[1] + aof_buffer_memory(server)


def backlog_memory(server) -> int:
    repl = getattr(server, "replication", None)
    backlog = getattr(repl, "backlog", None) if repl is not None else None
    buf = getattr(backlog, "buf", None)
    return len(buf) if buf is not None else 0


def used_memory(server) -> int:
    """INFO's used_memory: the dataset, client buffers, the backlog and the AOF buffer."""
    normal, replicas = refresh_clients(server)
    return (dataset_memory(server) + normal + replicas + backlog_memory(server)
            + aof_buffer_memory(server))


def _used_for_eviction(server) -> int:
    """used_memory less what Redis does not count for eviction (replicas', AOF buffers), with
    the clients' figure of the last cron tick. Kept while nothing was written, expired,
    evicted or lazily freed since (reads, the most of a cache's commands, change nothing)."""
    st = server.eviction
    stamp = (server.dirty, server.stat_expired_keys, server.stat_evicted_keys,
             server.lazyfree.pending_bytes, st.clients, server.master_repl_offset)
    if stamp == st.stamp:
        return st.used
    st.used = used = dataset_memory(server) + st.clients[0] + backlog_memory(server)
    st.stamp = stamp
    return used


def compact(db) -> None:
    """Give back what deletions left behind, as Redis's tryResizeHashTables: a dict whose table
    is mostly empty is copied to a fitting one (Python dicts never shrink on delete), and an
    expiry heap mostly made of stale entries is rebuilt."""
    if len(db.expire_heap) > len(db.expires) * 5 // 4 + 64:
        db.expire_heap = [(w, k) for k, w in db.expires.items()]
        heapq.heapify(db.expire_heap)
    for name in ("data", "access", "expires", "sizes"):
        d = getattr(db, name)
        if memory.getsizeof(d) > 8 * memory.DICT_ENTRY * len(d) + 1024:
            setattr(db, name, dict(d))
    if db.sample_keys is not None and len(db.sample_keys) > 2 * len(db.data):
        db.sample_keys = None


# -- performEvictions --------------------------------------------------------------------------


def _time_limit(tenacity: int) -> float:
    """Redis's evictionTimeLimitUs, in seconds (None: no limit)."""
    if tenacity <= 10:
        return 50e-6 * tenacity
    if tenacity < 100:
        return 500e-6 * 1.15 ** (tenacity - 10)
    return None


def _safe(server) -> bool:
    """Redis's isSafeToPerformEvictions."""
    if server.loading:
        return False
    if server.role == "slave" and server.config["replica-ignore-maxmemory"]:
        return False
    return True


def perform_evictions(server) -> int:
    """Free keys until under maxmemory: EVICT_OK, EVICT_RUNNING (time is up, the cron goes
    on) or EVICT_FAIL (over the limit and nothing to evict)."""
    if not _safe(server):
        return EVICT_OK
    cfg = server.config
    limit = cfg["maxmemory"]
    used = _used_for_eviction(server)
    if used > limit:  # the clients' figure may be a tick old: take it afresh before evicting
        refresh_clients(server)
        used = _used_for_eviction(server)
    if used <= limit:
        server.eviction.running = False
        return EVICT_OK
    policy = cfg["maxmemory-policy"]
    if policy == "noeviction":
        return EVICT_FAIL
    time_limit = _time_limit(cfg["maxmemory-eviction-tenacity"])
    if used - limit > limit // 50:
        # More than 2% over at once: a CPython dict of the keyspace just doubled its table
        # (Redis refuses such a rehash near maxmemory; CPython cannot). Evict it all now
        # rather than in slices, or used_memory stays over the limit for seconds.
        time_limit = None
    started = time.perf_counter()
    lazy = cfg["lazyfree-lazy-eviction"]
    evicted = 0
    while used > limit:
        tofree = used - limit
        freed = 0
        while freed < tofree:
            picked = _pick(server, policy)
            if picked is None:
                for db in server.dbs:
                    compact(db)
                return EVICT_OK if _used_for_eviction(server) <= limit else EVICT_FAIL
            db, key = picked
            freed += _evict(server, db, key, lazy)
            evicted += 1
            if evicted % 16 == 0 and time_limit is not None:
                if time.perf_counter() - started > time_limit:
                    server.eviction.running = True
                    return EVICT_RUNNING
        used = _used_for_eviction(server)  # the estimates were the keys', measure again
    server.eviction.running = False
    return EVICT_OK


def _evict(server, db, key: bytes, lazy: bool) -> int:
    """Delete one key as an eviction; returns the bytes it was estimated to take."""
    value = db.data.pop(key)
    cost = memory.key_cost(key, value) + memory.DICT_ENTRY * 2
    db.forget(key, value)
    if db.expires and db.expires.pop(key, None) is not None:
        cost += memory.DICT_ENTRY + 32
    if lazy:
        server.lazyfree.free(value)
    server.stat_evicted_keys += 1
    db.modified(key, b"evicted", NOTIFY_EVICTED, dirty=0)
    if server.propagate_targets:
        server.propagate_now(db.id, [b"UNLINK" if lazy else b"DEL", key])
    return cost


def _pick(server, policy: str):
    """The (db, key) the policy evicts next, or None when no key qualifies."""
    volatile = policy.startswith("volatile-")
    if policy.endswith("-random"):
        return _pick_random(server, volatile)
    return _pick_pooled(server, policy, volatile)


def _pick_random(server, volatile: bool):
    st = server.eviction
    dbs = server.dbs
    for _ in range(len(dbs)):
        db = dbs[st.next_db % len(dbs)]
        st.next_db += 1
        keys = _sample(db, 1, volatile)
        if keys:
            return db, keys[0]
    return None


def _pick_pooled(server, policy: str, volatile: bool):
    st = server.eviction
    pool = st.pool
    dbs = server.dbs
    samples = server.config["maxmemory-samples"]
    while True:
        total = 0
        for db in dbs:
            src = db.expires if volatile else db.data
            if src:
                total += len(src)
                _populate(server, db, policy, _sample(db, samples, volatile))
        if not total:
            return None
        while pool:
            _, dbid, key = pool.pop()
            db = dbs[dbid]
            if key in (db.expires if volatile else db.data):
                return db, key
        # Every pool entry was a ghost: sample again (there are keys).


def _populate(server, db, policy: str, keys: list) -> None:
    """Redis's evictionPoolPopulate: insert the sampled keys by score, keep the best 16."""
    pool = server.eviction.pool
    access = db.access
    dbid = db.id
    if policy.endswith("-lru"):
        clock = server.lru_clock
        scores = [(idle_ms(access.get(k, 0), clock), k) for k in keys]
    elif policy.endswith("-lfu"):
        minutes = server.lfu_minutes
        decay = server.config["lfu-decay-time"]
        scores = [(255 - lfu_decayed(access.get(k, 0), minutes, decay), k) for k in keys]
    else:  # volatile-ttl: the sooner it expires, the better
        expires = db.expires
        scores = [((1 << 64) - expires[k], k) for k in keys]
    for score, key in scores:
        if len(pool) >= POOL_SIZE and score <= pool[0][0]:
            continue
        if any(e[1] == dbid and e[2] == key for e in pool):
            continue
        i = len(pool)
        while i > 0 and pool[i - 1][0] > score:
            i -= 1
        pool.insert(i, (score, dbid, key))
        if len(pool) > POOL_SIZE:
            del pool[0]


def _sample(db, count: int, volatile: bool) -> list:
    """Up to ``count`` distinct random live keys of the db (or of its volatile keys)."""
    if volatile:
        heap = db.expire_heap
        expires = db.expires
        if not expires:
            return []
        out = []
        tries = 0
        while len(out) < count and tries < count * 4 + 16:
            tries += 1
            when, key = heap[random.randrange(len(heap))]
            if expires.get(key) == when and key not in out:
                out.append(key)
        if not out:  # a heap full of stale entries: rebuild it
            db.expire_heap = [(w, k) for k, w in expires.items()]
            heapq.heapify(db.expire_heap)
            return _sample(db, count, volatile)
        return out
    data = db.data
    if not data:
        return []
    keys = db.sample_keys
    if keys is None or len(keys) > 2 * len(data) + 64:
        keys = db.sample_keys = list(data)
    out = []
    want = min(count, len(data))
    while len(out) < want and keys:
        i = random.randrange(len(keys))
        key = keys[i]
        if key in data:
            if key not in out:
                out.append(key)
            elif len(out) >= len(data):
                break
            continue
        keys[i] = keys[-1]  # a deleted key: drop it from the list
        keys.pop()
    return out


# -- client eviction (maxmemory-clients) ------------------------------------------------------


def client_eviction_limit(server) -> int:
    """Redis's getClientEvictionLimit: bytes, or a share of maxmemory ("10%")."""
    v = server.config["maxmemory-clients"]
    if isinstance(v, str) and v.endswith("%"):
        return server.config["maxmemory"] * int(v[:-1]) // 100
    return v or 0


def evict_clients(server) -> int:
    """Redis's evictClients: while normal and pub/sub clients take more than the limit, close
    the biggest evictable ones (not NO-EVICT). Returns how many were closed."""
    limit = client_eviction_limit(server)
    if not limit:
        return 0
    now = server.cached_ms = server.now_ms()
    sizes = []
    total = 0
    for c in server.clients.values():
        if (c.conn is None or c.is_replica or c.is_master or c.killed
                or not hasattr(c.conn, "buffer_stats")):
            continue
        n = client_memory(c, now)
        total += n
        if not c.no_evict:
            sizes.append((n, c.id, c))
    if total < limit:
        return 0
    sizes.sort(reverse=True)
    evicted = 0
    for n, _, c in sizes:
        if total < limit:
            break
        server.log.notice(f"Evicting client: id={c.id} addr={c.addr} "
                          f"name={(c.name or b'').decode('utf-8', 'replace')} tot-mem={n}")
        c.conn.kill()
        c.reply_mode = "off"  # freed, not answered: nothing more goes out
        if getattr(server, "current_client", None) is not c:
            server.free_client(c)  # gone from CLIENT LIST at once, as Redis's freeClient
        server.stat_evicted_clients += 1
        total -= n
        evicted += 1
    if total >= limit:
        server.log.warning("Over client maxmemory after evicting all evictable clients")
    return evicted


# -- the OOM check -----------------------------------------------------------------------------


def oom_check(server, c, cmd) -> str | None:
    """processCommand's client eviction and maxmemory steps: evict, then the -OOM text when
    the command must be refused (None to go on)."""
    if server.config["maxmemory-clients"] and evict_clients(server) and c.killed:
        return CLIENT_EVICTED
    if not server.config["maxmemory"]:
        return None
    out_of_memory = perform_evictions(server) == EVICT_FAIL
    if not out_of_memory:
        return None
    name = cmd.name
    reject = cmd.denyoom
    if name == "exec" and not reject:
        reject = any(q.denyoom for q, _ in c.multi_queue)
    if c.in_multi and (cmd.parent or cmd).name not in _NO_REJECT_IN_MULTI:
        reject = True
    return OOM if reject else None

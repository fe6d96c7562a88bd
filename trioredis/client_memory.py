"""A client's memory as Redis's getClientMemoryUsage counts it: CLIENT LIST's ``tot-mem``,
``multi-mem``, what client eviction (``maxmemory-clients``) and ``used_memory`` count.

Kept apart from the CLIENT command so that the eviction code can use it without importing the
command modules (and their import graph).
"""

from __future__ import annotations

from .client import malloc_size

# Redis's fixed per-client costs in tot-mem: the client struct, a pointer per argument, a
# multiCmd per queued command, a list node + watchedKey per WATCHed key, a list node per
# pattern and a dict entry per channel (Redis 7.0.15's getClientMemoryUsage, measured).
CLIENT_STRUCT = 768
POINTER = 8
MULTI_CMD = 24
WATCHED_KEY = 56
LIST_NODE = 24
DICT_ENTRY = 24


def multi_mem(c) -> int:
    """CLIENT LIST multi-mem: the queued commands' arguments and their pointers."""
    mem = 0
    for _cmd, argv in c.multi_queue:
        mem += sum(map(len, argv)) + POINTER * len(argv)
    return mem


_NO_BUFFERS = (0, 0, 0, 0, 0, 0, 0, 0, 0)


def memory_parts(c, now_ms: int):
    """(the connection's buffer stats, multi-mem, tot-mem): Redis's getClientMemoryUsage."""
    # A gateway session (a browser's WebSocket reading streams) has no RESP buffers.
    buffer_stats = getattr(c.conn, "buffer_stats", None)
    stats = buffer_stats(now_ms) if buffer_stats is not None else _NO_BUFFERS
    qbuf, qfree, argv_mem, argc, obl, oll, omem, rbs, rbp = stats
    mmem = multi_mem(c)
    qalloc = qbuf + qfree
    tot = (omem + (malloc_size(qalloc + 6) if qalloc else 0) + CLIENT_STRUCT + rbs
           + argv_mem + POINTER * argc + mmem + MULTI_CMD * len(c.multi_queue)
           + WATCHED_KEY * len(c.watched) + LIST_NODE * len(c.patterns)
           + DICT_ENTRY * (len(c.channels) + len(c.shard_channels)))
    st = c.tracking_state
    prefixes = getattr(st, "prefixes", None) if st is not None else None
    if prefixes:  # Redis: rax nodes * sizeof(raxNode) * sizeof(raxNode*), ~2 nodes a prefix
        tot += len(prefixes) * 2 * 4 * 8
    return stats, mmem, tot


def client_memory(c, now_ms: int) -> int:
    """tot-mem: what client eviction (maxmemory-clients) and used_memory count."""
    return memory_parts(c, now_ms)[2]

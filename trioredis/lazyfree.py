"""Lazy free: big values are released a slice at a time, between requests, not in one stall.

CPython frees a container and everything in it the moment its last reference goes: dropping a
set of a million members holds the event loop for tens of milliseconds. UNLINK, FLUSHDB/FLUSHALL
ASYNC and the ``lazyfree-lazy-*`` options hand such values here instead, as Redis hands them to
its lazyfree thread: a value whose free effort (Redis's lazyfreeGetFreeEffort: elements of a
hash table, nodes of a list or stream, ...) is above 64 is queued, the rest is dropped at once.
The queue is emptied by :meth:`LazyFree.step`, which pops elements in chunks for at most
``STEP_SECONDS`` and is called again soon after (``runner.call_later``) while work remains, so
other clients are served in between. INFO's ``lazyfree_pending_objects`` and
``lazyfreed_objects`` count as Redis's do (a flushed db counts its keys); the bytes still
queued stay in ``used_memory`` until released.
"""

from __future__ import annotations

import time
from collections import deque

from . import memory
from .extensions import SERVER_INIT

LAZYFREE_THRESHOLD = 64  # Redis's: below this effort, freeing at once is cheaper
STEP_SECONDS = 0.002  # the longest a step holds the loop
CHUNK = 2048  # elements released between two looks at the clock


def free_effort(value) -> int:
    """Redis's lazyfreeGetFreeEffort: roughly how many allocations freeing ``value`` takes."""
    t = value.__class__
    if t is bytes or t is bytearray:
        return 1
    if t is deque:
        return len(value) // 128 + 1  # quicklist nodes
    if t is set or t is dict:
        return len(value) if len(value) > 128 else 1  # listpack / intset: one allocation
    scores = getattr(value, "scores", None)
    if scores is not None:  # a sorted set: skiplist entries, or one listpack
        return 1 if getattr(value, "listpack", False) else len(scores)
    nodes = getattr(value, "nodes", None)
    if nodes is not None:  # a stream: its nodes, and its groups' pending entries
        effort = len(nodes) - getattr(value, "nhead", 0)
        groups = getattr(value, "groups", None)
        if groups:
            first = next(iter(groups.values()))
            effort += len(groups) * (1 + len(first.pel))
        return effort
    return 1


class LazyFree:
    """The queue of values being released, and Redis's two counters."""

    def __init__(self, server):
        self.server = server
        self.queue: deque = deque()  # [containers to empty, objects it counts, bytes]
        self.pending = 0  # lazyfree_pending_objects
        self.freed_objects = 0  # lazyfreed_objects
        self.pending_bytes = 0  # in used_memory until released
        self.scheduled = False
        self.expire = server.config["lazyfree-lazy-expire"]

    def pending_objects(self) -> int:
        return self.pending

    def free(self, value) -> bool:
        """Release ``value`` lazily if it is big (True), else leave it to CPython (False)."""
        if free_effort(value) <= LAZYFREE_THRESHOLD:
            return False
        self._queue([value], 1, memory.value_cost(value))
        return True

    def free_db(self, data: dict, expires: dict) -> None:
        """FLUSHDB/FLUSHALL ASYNC: release a whole db's dicts; counts its keys."""
        if not data:
            return
        cost = sum(memory.key_cost(k, v) for k, v in _first(data, 64))
        cost = cost * len(data) // min(len(data), 64)
        self._queue([data, expires], len(data), cost)

    def _queue(self, containers: list, objects: int, cost: int) -> None:
        self.queue.append([containers, objects, cost, cost])
        self.pending += objects
        self.pending_bytes += cost
        self._schedule()

    def _schedule(self) -> None:
        runner = self.server.runner
        if self.scheduled or runner is None or not hasattr(runner, "call_later"):
            return  # no event loop (tests of the core): the cron steps
        self.scheduled = bool(runner.call_later(0.001, self._run))

    def _run(self) -> None:
        self.scheduled = False
        self.step()
        if self.queue:
            self._schedule()

    def step(self, seconds: float = STEP_SECONDS) -> None:
        """Release queued elements for about ``seconds``."""
        deadline = time.perf_counter() + seconds
        queue = self.queue
        while queue:
            job = queue[0]
            containers = job[0]
            done = _release(containers, CHUNK)
            if not containers:
                queue.popleft()
                self.pending -= job[1]
                self.freed_objects += job[1]
                self.pending_bytes -= job[3]
            else:
                part = min(job[3], job[2] * done // max(_size(containers) + done, 1))
                job[3] -= part
                self.pending_bytes -= part
            if time.perf_counter() >= deadline:
                return

    def drain(self) -> None:
        """Release everything now (shutdown, tests)."""
        while self.queue:
            self.step(3600)


def _first(d: dict, n: int):
    it = iter(d.items())
    for _ in range(n):
        try:
            yield next(it)
        except StopIteration:
            return


def _size(containers: list) -> int:
    return sum(len(c) if hasattr(c, "__len__") else 1 for c in containers)


def _release(containers: list, budget: int) -> int:
    """Drop up to ``budget`` elements from the last container (big elements are emptied in
    turn, as their own containers); forget the containers emptied. Returns how many went."""
    done = 0
    while containers and done < budget:
        c = containers[-1]
        t = c.__class__
        try:
            if t is dict:
                while c and done < budget:
                    _, v = c.popitem()
                    done += 1
                    if free_effort(v) > LAZYFREE_THRESHOLD:
                        containers.insert(-1, v)
            elif t is set or t is deque or t is list:
                pop = c.pop
                while c and done < budget:
                    pop()
                    done += 1
            else:
                containers.pop()
                containers.extend(_parts(c))
                continue
        except (KeyError, IndexError):
            pass
        if not c:
            containers.pop()
    return done


def _parts(value) -> list:
    """The big inner containers of a sorted set or stream, emptied one by one."""
    out = []
    for name in ("scores", "ids", "vals", "nodes", "nstarts", "groups"):
        part = getattr(value, name, None)
        if isinstance(part, (dict, list, set, deque)):
            out.append(part)
    order = getattr(value, "order", None)
    lists = getattr(order, "_lists", None)  # a SortedList's sublists
    if isinstance(lists, list):
        out.extend(lists)
    return out


def _init(server) -> None:
    lf = server.lazyfree = LazyFree(server)

    def expire_changed(value, old) -> None:
        lf.expire = value

    server.config.on_change("lazyfree-lazy-expire", expire_changed)
    server.add_hook("cron", lambda: lf.step() if lf.queue else None)
    server.add_hook("shutdown", lambda *a: lf.drain())

    def reset_stats() -> None:
        lf.freed_objects = 0

    server.add_hook("resetstat", reset_stats)


SERVER_INIT.append(_init)

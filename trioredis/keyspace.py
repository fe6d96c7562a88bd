"""The keyspace: numbered databases of key -> value, with per-key expiry in milliseconds.

Values are plain Python objects, one type each: ``bytes``/``bytearray`` (string), ``deque``
(list), ``dict`` (hash), ``set`` (set), and the classes of the sorted set and stream modules.
Expired keys are invisible at once (checked on access) and reclaimed by the active expire cycle,
which pops a heap of deadlines, so memory of keys that expire is given back without scans.

Every change to a key goes through :meth:`Database.modified`, Redis's ``signalModifiedKey`` +
``notifyKeyspaceEvent`` + ``server.dirty++`` in one call: it invalidates WATCHes, marks keys
that blocked clients wait on as ready, and publishes keyspace notifications.
"""

from __future__ import annotations

import heapq
from collections import deque
from typing import TYPE_CHECKING

from . import errors
from .lfu import LRU_CLOCK_MAX, lfu_new, lfu_touch

if TYPE_CHECKING:
    from .core import Server

# Keyspace notification classes, as Redis's NOTIFY_* flags.
NOTIFY_KEYSPACE = 1 << 0  # K
NOTIFY_KEYEVENT = 1 << 1  # E
NOTIFY_GENERIC = 1 << 2  # g
NOTIFY_STRING = 1 << 3  # $
NOTIFY_LIST = 1 << 4  # l
NOTIFY_SET = 1 << 5  # s
NOTIFY_HASH = 1 << 6  # h
NOTIFY_ZSET = 1 << 7  # z
NOTIFY_EXPIRED = 1 << 8  # x
NOTIFY_EVICTED = 1 << 9  # e
NOTIFY_STREAM = 1 << 10  # t
NOTIFY_KEY_MISS = 1 << 11  # m
NOTIFY_LOADED = 1 << 12  # module only
NOTIFY_MODULE = 1 << 13  # d
NOTIFY_NEW = 1 << 14  # n


# The attributes of a Database that hold per-key accounting (what SWAPDB swaps with ``data``).
ACCOUNTING = ("access", "str_bytes", "str_keys", "sizes", "coll_bytes", "resized", "sample_keys")


class Database:
    """One numbered database."""

    __slots__ = (
        "id",
        "server",
        "data",
        "expires",
        "expire_heap",
        "watched",
        "blocking",
        "scan_log",
        "scan_epoch",
        "avg_ttl",
        "replica_expires",
        "ht_sets",
        "access",
        "str_bytes",
        "str_keys",
        "sizes",
        "coll_bytes",
        "resized",
        "sample_keys",
        "slot_index",
    )

    def __init__(self, server: Server, dbid: int):
        self.id = dbid
        self.server = server
        self.data: dict = {}
        self.expires: dict[bytes, int] = {}
        self.expire_heap: list[tuple[int, bytes]] = []
        self.watched: dict[bytes, list] = {}  # key -> clients that WATCH it
        self.blocking: dict[bytes, deque] = {}  # key -> blocked clients, first come first
        self.scan_log: list | None = None  # insertion-ordered keys, made by the first SCAN
        self.scan_epoch = 0
        self.avg_ttl = 0
        # Keys a writable replica's own clients gave a TTL: the replica expires these itself.
        self.replica_expires: set[bytes] = set()
        # Sets Redis would keep as a hashtable though they fit an intset again (its conversion
        # is one-way), by id (a renamed set keeps its encoding): see commands/sets.py.
        self.ht_sets: dict[int, set] = {}
        # Memory accounting and eviction (see memory.py, eviction.py): the access word of each
        # key (LRU clock or LFU counter), the estimated bytes of string keys (kept here, from
        # the value, on store/delete) and of other keys (``sizes``, re-estimated by
        # memory.flush_sizes for the keys ``resized`` since), and a list to sample keys from.
        self.access: dict = {}
        self.str_bytes = 0
        self.str_keys = 0
        self.sizes: dict = {}
        self.coll_bytes = 0
        self.resized: set = set()
        self.sample_keys: list | None = None
        # Redis Cluster's keys by slot (rcluster.slots.SlotIndex); None unless cluster-enabled.
        self.slot_index = None

    # -- reading -------------------------------------------------------------------------

    def lookup(self, key: bytes):
        """The live value of ``key`` or None; an expired key is deleted (on a master).
        Records the access (LRU clock or LFU counter), as Redis's lookupKey."""
        v = self.data.get(key)
        if v is not None:
            if self.expires:
                when = self.expires.get(key)
                if when is not None and when <= self.server.now_ms():
                    return self._expired(key)
            srv = self.server
            if srv.lfu_mode:
                self.touch_lfu(key)
            else:
                self.access[key] = srv.lru_clock
        return v

    def peek(self, key: bytes):
        """``lookup`` without recording an access (Redis's LOOKUP_NOTOUCH: TTL, TYPE, ...)."""
        v = self.data.get(key)
        if v is not None and self.expires:
            when = self.expires.get(key)
            if when is not None and when <= self.server.now_ms():
                return self._expired(key)
        return v

    def touch_lfu(self, key: bytes) -> None:
        """Redis's updateLFU for ``key`` (an LFU policy is set)."""
        srv = self.server
        cfg = srv.config
        self.access[key] = lfu_touch(self.access.get(key, 0), srv.lfu_minutes,
                                     cfg["lfu-log-factor"], cfg["lfu-decay-time"])

    def restore_access(self, key: bytes, freq: int, idle_s: int) -> None:
        """Redis's objectSetLRUOrLFU for RESTORE's FREQ / IDLETIME (-1 when not given): FREQ
        counts only under an LFU policy, IDLETIME only under any other."""
        srv = self.server
        if srv.lfu_mode:
            if freq >= 0:
                self.access[key] = (srv.lfu_minutes << 8) | freq
        elif idle_s >= 0:
            word = srv.lru_clock - idle_s  # the clock counts seconds
            if word < 0:
                word += LRU_CLOCK_MAX + 1
            self.access[key] = word

    def get_typed(self, key: bytes, kind: type):
        """Lookup that raises WRONGTYPE unless the value is of ``kind`` (None if missing)."""
        v = self.lookup(key)
        if v is not None and v.__class__ is not kind:
            raise errors.CommandError(errors.WRONGTYPE)
        return v

    def get_string(self, key: bytes):
        """A string value (``bytes`` or ``bytearray``) or None; WRONGTYPE otherwise."""
        v = self.lookup(key)
        if v is not None and v.__class__ is not bytes and v.__class__ is not bytearray:
            raise errors.CommandError(errors.WRONGTYPE)
        return v

    def exists(self, key: bytes) -> bool:
        return self.lookup(key) is not None

    def __len__(self) -> int:
        return len(self.data)

    def ttl_ms(self, key: bytes) -> int | None:
        """Absolute expiry of ``key`` in ms, or None."""
        return self.expires.get(key) if self.expires else None

    def _expired(self, key: bytes):
        """Handle a logically expired key found by a lookup: None (the value while loading)."""
        srv = self.server
        if srv.loading or srv.in_master_stream:
            # keyIsExpired: nothing expires while loading; the AOF replayed may still touch it.
            # Nor for our master's stream (expireIfNeeded): its DEL or SET must find the key.
            return self.data[key]
        if srv.is_replica_of_master():
            # A replica hides expired keys but waits for its master's DEL.
            return None
        if srv.expire_paused:  # CLIENT PAUSE: expired, but deleted (and propagated) later
            return None
        self.delete_expired(key)
        return None

    def delete_expired(self, key: bytes) -> None:
        """Delete an expired key, propagating a DEL and notifying 'expired'."""
        srv = self.server
        value = self.data.pop(key)
        self.forget(key, value)
        del self.expires[key]
        if srv.lazyfree.expire:  # lazyfree-lazy-expire: a big value is released in slices
            srv.lazyfree.free(value)
        srv.stat_expired_keys += 1
        self.modified(key, b"expired", NOTIFY_EXPIRED, dirty=0)
        if srv.propagate_targets:
            srv.propagate_now(self.id, [b"DEL", key])

    # -- writing -------------------------------------------------------------------------

    def store(self, key: bytes, value, keepttl: bool = False) -> None:
        """Set ``key`` to ``value`` (SET semantics): drops any TTL unless ``keepttl``."""
        data = self.data
        srv = self.server
        old = data.get(key)
        if old is None:
            if self.scan_log is not None:
                self.scan_log.append(key)
            if self.sample_keys is not None:
                self.sample_keys.append(key)
            if self.slot_index is not None:
                self.slot_index.add(key)
            if srv.notify_flags & NOTIFY_NEW:  # Redis 7.0's "new" event (class n)
                srv.notify(NOTIFY_NEW, b"new", key, self.id)
            data[key] = value
            self.account_new(key, value)
        else:
            data[key] = value
            if old.__class__ is bytes and value.__class__ is bytes:
                # A string over a string (the hot case): only the value's size class changes.
                # Sizes as memory.string_cost: pymalloc's 16-byte classes over getsizeof
                # (33 + len); 0- and 1-byte values are shared objects.
                n = len(value)
                m = len(old)
                if n != m:
                    self.str_bytes += (((n + 48) & -16) if n > 1 else 0) - (
                        ((m + 48) & -16) if m > 1 else 0)
            elif old is value:  # the same object, changed in place
                self.resized.add(key)
            else:  # a change of type: the key stays (its access word, its place)
                if old.__class__ is bytes:
                    m = len(old)
                    self.str_bytes -= ((len(key) + 48) & -16) + ((m + 48) & -16 if m > 1 else 0)
                    self.str_keys -= 1
                else:
                    self.resized.add(key)
                    if self.ht_sets:
                        self.ht_sets.pop(id(old), None)
                self.account_new(key, value)
        if not srv.lfu_mode:  # under LFU an overwrite keeps the counter (Redis's dbOverwrite)
            self.access[key] = srv.lru_clock
        if not keepttl:
            if self.expires:
                self.expires.pop(key, None)
        elif srv.role == "slave" and self.expires and not srv.in_master_stream and not srv.loading:
            # A writable replica's own write to a key whose TTL passed (hidden, not deleted:
            # its master's DEL is due) recreates it without the TTL, as Redis's write lookup
            # deletes it first.
            when = self.expires.get(key)
            if when is not None and when <= srv.now_ms():
                del self.expires[key]

    def account_new(self, key: bytes, value) -> None:
        """Accounting of a key just set: its string bytes, or a re-estimate to come; under
        LFU a new key's counter (an overwrite keeps the old one)."""
        if value.__class__ is bytes:
            n = len(value)
            self.str_bytes += ((len(key) + 48) & -16) + ((n + 48) & -16 if n > 1 else 0)
            self.str_keys += 1
        else:
            self.resized.add(key)
        srv = self.server
        if srv.lfu_mode and key not in self.access:
            self.access[key] = lfu_new(srv.lfu_minutes)

    def add(self, key: bytes, value) -> None:
        """Create ``key`` (known not to exist, e.g. the first push to a list)."""
        srv = self.server
        if self.scan_log is not None:
            self.scan_log.append(key)
        if self.sample_keys is not None:
            self.sample_keys.append(key)
        if self.slot_index is not None:
            self.slot_index.add(key)
        if srv.notify_flags & NOTIFY_NEW:
            srv.notify(NOTIFY_NEW, b"new", key, self.id)
        self.data[key] = value
        self.account_new(key, value)
        if not srv.lfu_mode:
            self.access[key] = srv.lru_clock

    def delete(self, key: bytes) -> bool:
        """Remove ``key`` if present (expired keys count as absent). True if removed."""
        if self.peek(key) is None:
            return False
        self.forget(key, self.data.pop(key))
        if self.expires:
            self.expires.pop(key, None)
        return True

    def forget(self, key: bytes, value) -> None:
        """Accounting of a key just removed from ``data``: its bytes and its access word."""
        if self.slot_index is not None:
            self.slot_index.discard(key)
        if value.__class__ is bytes:
            n = len(value)
            self.str_bytes -= ((len(key) + 48) & -16) + ((n + 48) & -16 if n > 1 else 0)
            self.str_keys -= 1
        else:
            self.resized.add(key)
            if self.ht_sets:
                self.ht_sets.pop(id(value), None)
        self.access.pop(key, None)

    def set_expire(self, key: bytes, when_ms: int) -> None:
        self.expires[key] = when_ms
        srv = self.server
        if srv.role == "slave" and not srv.in_master_stream and not srv.loading:
            self.replica_expires.add(key)  # rememberSlaveKeyWithExpire
        heapq.heappush(self.expire_heap, (when_ms, key))
        if len(self.expire_heap) > 2 * len(self.expires) + 1024:
            self.expire_heap = [(w, k) for k, w in self.expires.items()]
            heapq.heapify(self.expire_heap)

    def persist(self, key: bytes) -> bool:
        return self.expires.pop(key, None) is not None if self.expires else False

    def modified(self, key: bytes, event: bytes | None = None, kind: int = 0, dirty: int = 1):
        """Record a change to ``key``: dirty count, WATCH, blocked clients, notifications."""
        srv = self.server
        srv.dirty += dirty
        v = self.data.get(key)
        if v is not None and v.__class__ is not bytes:  # re-estimated by memory.flush_sizes
            self.resized.add(key)
        if self.watched:
            clients = self.watched.get(key)
            if clients:
                self.touch_watched(key, clients)
        if self.blocking and key in self.blocking:
            srv.ready_keys.append((self, key))
        if srv.tracking is not None:  # client-side caching: invalidate who read it
            srv.tracking.key_modified(key, event)
        if kind & srv.notify_flags:
            srv.notify(kind, event, key, self.id)

    def touch_watched(self, key: bytes, clients: list) -> None:
        """Redis 7.0's touchWatchedKey: flag the clients that WATCH ``key`` (EXEC will fail).

        A key that was already expired when watched and is now gone (deleted by expiry) is
        no logical change: that watch just forgets the key was expired.
        """
        for c in clients:
            exp = c.watched_expired
            if exp and (self, key) in exp:
                if key not in self.data:
                    exp.discard((self, key))
                    continue
            c.dirty_cas = True

    def is_expired(self, key: bytes) -> bool:
        """Logically expired but maybe not deleted yet (Redis's keyIsExpired)."""
        when = self.expires.get(key) if self.expires else None
        return when is not None and when <= self.server.now_ms() and key in self.data

    def touch_all_watched(self, other: Database | None = None) -> None:
        """FLUSHDB/FLUSHALL and SWAPDB (``other``: the db swapped in), called before the change.

        Redis 7.0's touchAllWatchedKeysInDb: watched keys that exist here or in ``other`` are
        touched, except that an already-expired watched key that goes away, or stays expired,
        is no change, and a missing key replaced by an expired one counts as missing.
        """
        for key, clients in self.watched.items():
            here = key in self.data
            there = other is not None and key in other.data
            if not (here or there):
                continue
            for c in clients:
                exp = c.watched_expired
                if exp and (self, key) in exp:
                    if not there:
                        exp.discard((self, key))
                        continue
                    if other.is_expired(key):
                        continue
                elif not here and other.is_expired(key):
                    if exp is None:
                        exp = c.watched_expired = set()
                    exp.add((self, key))
                    continue
                c.dirty_cas = True

    def signal_all_blocking(self) -> None:
        """After SWAPDB/FLUSHALL: re-check every key blocked clients wait on."""
        for key in self.blocking:
            self.server.ready_keys.append((self, key))

    def clear(self) -> int:
        n = len(self.data)
        self.data = {}
        self.expires = {}
        self.expire_heap = []
        self.scan_log = None
        self.scan_epoch += 1
        self.replica_expires = set()
        self.ht_sets = {}
        if self.slot_index is not None:
            self.slot_index.reset(self.data)
        self.reset_accounting()
        return n

    def reset_accounting(self) -> None:
        """Forget the accounting of every key (after ``data`` was replaced wholesale)."""
        self.access = {}
        self.str_bytes = self.str_keys = self.coll_bytes = 0
        self.sizes = {}
        self.resized = set()
        self.sample_keys = None

    # -- active expiry -------------------------------------------------------------------

    def expire_cycle(self, now_ms: int, limit: int) -> int:
        """Delete up to ``limit`` keys whose time has come. Returns how many were deleted."""
        if self.server.expire_paused:  # CLIENT PAUSE stops the active expire cycle too
            return 0
        heap = self.expire_heap
        expires = self.expires
        done = 0
        while heap and heap[0][0] <= now_ms and done < limit:
            when, key = heapq.heappop(heap)
            if expires.get(key) == when:
                self.delete_expired(key)
                done += 1
        return done

    def expire_replica_keys(self, now_ms: int) -> int:
        """Redis's expireSlaveKeys: a replica deletes only the keys that its own clients (a
        writable replica) gave a TTL; the master's keys wait for the master's DEL. Returns how
        many were deleted."""
        tracked = self.replica_expires
        done = 0
        for key in list(tracked):
            when = self.expires.get(key)
            if when is None:  # deleted, or not volatile any more
                tracked.discard(key)
            elif when < now_ms:
                tracked.discard(key)
                self.delete_expired(key)
                done += 1
        return done

    # -- SCAN ----------------------------------------------------------------------------

    def scan(self, cursor: int, count: int):
        """One step of SCAN over this db: returns (next cursor, keys).

        Keys are visited in insertion order through a log made at the first SCAN; a key present
        during the whole iteration is returned at least once, as Redis guarantees. The cursor
        carries the log's epoch: when the log is compacted, old cursors restart from the
        start (more duplicates, never a missed key).
        """
        log = self.scan_log
        if log is None or len(log) > 2 * len(self.data) + 64:
            log = self.scan_log = list(self.data)
            self.scan_epoch += 1
        epoch, index = divmod(cursor, 1 << 32)
        if epoch != self.scan_epoch % (1 << 20):
            index = 0
        out = []
        data = self.data
        n = len(log)
        end = min(index + max(count, 1), n)
        seen = set()
        while index < end:
            key = log[index]
            index += 1
            if key in data and key not in seen:
                seen.add(key)
                if self.lookup(key) is not None:
                    out.append(key)
        if index >= n:
            return 0, out
        return (self.scan_epoch % (1 << 20)) * (1 << 32) + index, out


TYPE_NAMES = {
    bytes: b"string",
    bytearray: b"string",
    deque: b"list",
    dict: b"hash",
    set: b"set",
}


def type_name(value) -> bytes:
    """Redis's TYPE name of a value; data-type modules register their classes here."""
    return TYPE_NAMES[value.__class__]

"""What keys cost: MEMORY USAGE's estimate, and the used_memory model (below) that INFO,
maxmemory and eviction use (docs/memory.md says what it counts and how close it is to RSS).

MEMORY USAGE: an honest estimate of the bytes a key and its value take in this process.

The estimate is ``sys.getsizeof`` of the key, the value's container and its elements, plus the
keyspace dict's per-entry cost. Large collections are sampled as Redis samples them: the first
``samples`` elements are measured and their average is multiplied by the collection's size
(``samples`` = 0 measures everything). Classes of other modules (sorted sets, streams) may
provide ``memory_usage(samples) -> int`` for a better answer; otherwise their attributes are
measured the same way, one level deep.
"""

from __future__ import annotations

import sys
from collections import deque
from itertools import islice

getsizeof = sys.getsizeof

# A dict entry in CPython: hash, key and value pointers, plus about one index slot per entry
# with the table at most 2/3 full.
DICT_ENTRY = 3 * 8 + 8


def _items_size(items, n: int, samples: int, per_item) -> int:
    """Sum of ``per_item`` over ``n`` items, measured on the first ``samples`` of them."""
    if n == 0:
        return 0
    if samples <= 0 or samples >= n:
        return sum(per_item(x) for x in items)
    taken = 0
    total = 0
    for x in islice(items, samples):
        total += per_item(x)
        taken += 1
    return total * n // taken if taken else 0


def _pair_size(kv) -> int:
    return getsizeof(kv[0]) + getsizeof(kv[1])


def value_size(value, samples: int = 5) -> int:
    """Bytes taken by ``value`` and what it holds (sampled for big collections)."""
    t = value.__class__
    if t is bytes or t is bytearray:
        return getsizeof(value)
    if t is deque or t is set or t is list or t is frozenset:
        return getsizeof(value) + _items_size(value, len(value), samples, getsizeof)
    if t is dict:
        return getsizeof(value) + _items_size(value.items(), len(value), samples, _pair_size)
    own = getattr(value, "memory_usage", None)
    if own is not None:
        return own(samples)
    return _object_size(value, samples)


def _object_size(obj, samples: int) -> int:
    """Another module's class: the object and its attributes, collections sampled."""
    size = getsizeof(obj)
    attrs = []
    d = getattr(obj, "__dict__", None)
    if d is not None:
        attrs.extend(d.values())
    for cls in type(obj).__mro__:
        for name in getattr(cls, "__slots__", ()):
            if hasattr(obj, name):
                attrs.append(getattr(obj, name))
    for a in attrs:
        t = a.__class__
        if t in (bytes, bytearray, deque, set, list, frozenset, dict):
            size += value_size(a, samples)
        elif hasattr(a, "__len__") and hasattr(a, "__iter__"):
            try:
                n = len(a)
                size += getsizeof(a) + _items_size(iter(a), n, samples, getsizeof)
            except TypeError:
                size += getsizeof(a)
        else:
            size += getsizeof(a)
    return size


def key_usage(db, key: bytes, samples: int = 5) -> int | None:
    """MEMORY USAGE of ``key`` in ``db``, or None when it does not exist."""
    value = db.data.get(key)
    if value is None:
        return None
    size = getsizeof(key) + DICT_ENTRY + value_size(value, samples)
    if key in db.expires:
        size += DICT_ENTRY + getsizeof(db.expires[key])
    return size


# -- the used_memory model ---------------------------------------------------------------------
#
# A key costs what its Python objects take from the allocator: sys.getsizeof of each object,
# rounded up to pymalloc's 16-byte size classes (objects up to 512 bytes) or to glibc malloc's
# 16-byte chunks plus an 8-byte header (larger ones). The tables of the db's dicts (data,
# access, expires) are measured whole with getsizeof, so their growth steps are counted when
# they happen. docs/memory.md gives the model's error against the process's RSS growth.

_ALLOC_SMALL = 512


def alloc(n: int) -> int:
    """Bytes the allocator hands out for an object of ``n`` bytes."""
    if n <= _ALLOC_SMALL:
        return (n + 15) & -16
    return (n + 8 + 15) & -16


def string_cost(key: bytes, value: bytes) -> int:
    """Cost of a string key, as keyspace.Database computes it inline on store and delete."""
    n = len(value)
    return ((len(key) + 48) & -16) + ((n + 48) & -16 if n > 1 else 0)


# Per-element costs of containers, past the container's own getsizeof (which includes its
# table or blocks): a float score object (24 -> 32) and the (score, member) tuple (56 -> 64)
# plus its slot in the SortedList's sublists and index (about 1.25 pointers) in a sorted set.
_ZSET_ELEMENT = 32 + 64 + 10
# And the fixed cost of a sorted set's SortedList (its instance dict and its lists of lists),
# measured against RSS growth (benchmarks/memory_model.py, small sets).
_ZSET_FIXED = 620


def _elements(items, n: int, per_item) -> int:
    """Sum of ``per_item`` over ``n`` items; past 16 items, the first 8 stand for all."""
    if n <= 16:
        return sum(map(per_item, items))
    total = 0
    for x in islice(items, 8):
        total += per_item(x)
    return total * n // 8


def _obj(x) -> int:
    n = getsizeof(x)
    if n <= 34 and x.__class__ is bytes:  # b"" and 1-byte strings are shared singletons
        return 0
    return (n + 15) & -16 if n <= _ALLOC_SMALL else (n + 23) & -16


def _pair(kv) -> int:
    return _obj(kv[0]) + _obj(kv[1])


def value_cost(value) -> int:
    """Estimated allocator bytes of a value of any type (sampled past 16 elements)."""
    t = value.__class__
    if t is bytes or t is bytearray:
        return alloc(getsizeof(value)) if len(value) > 1 or t is bytearray else 0
    if t is deque or t is set:
        return alloc(getsizeof(value)) + _elements(value, len(value), _obj)
    if t is dict:
        return alloc(getsizeof(value)) + _elements(value.items(), len(value), _pair)
    scores = getattr(value, "scores", None)
    if scores is not None and hasattr(value, "order"):  # datatypes.zset.ZSet
        n = len(scores)
        return (alloc(getsizeof(value)) + alloc(getsizeof(scores)) + _ZSET_FIXED
                + _elements(scores, n, _obj) + n * _ZSET_ELEMENT)
    if hasattr(value, "ids") and hasattr(value, "nodes"):  # datatypes.stream.Stream
        return _stream_cost(value)
    own = getattr(value, "memory_usage", None)
    if own is not None:
        return own(8)
    return _object_size(value, 8)


def _entry(fv) -> int:
    """A stream entry's field-value tuple (or None for a deleted slot) and its strings."""
    if fv is None:
        return 0
    return _obj(fv) + sum(map(_obj, fv))


# A stream node (a __slots__ object of 9 slots, 88 -> 96 bytes) and its start/master ints;
# a consumer group's pending entry (the Nack object, its ID int, its slots in two SortedDicts).
_STREAM_NODE = 96 + 2 * 32
_STREAM_NACK = 64 + 32 + 2 * 60


def _stream_cost(st) -> int:
    n = len(st.ids)
    cost = (alloc(getsizeof(st)) + alloc(getsizeof(st.ids)) + alloc(getsizeof(st.vals))
            + alloc(getsizeof(st.nodes)) + alloc(getsizeof(st.nstarts)))
    cost += n * 48 + _elements(st.vals, len(st.vals), _entry)  # IDs: 128-bit ints, 40 -> 48
    cost += len(st.nodes) * _STREAM_NODE
    if st.groups:
        for g in st.groups.values():
            cost += 400 + len(g.pel) * _STREAM_NACK + len(g.consumers) * 400
    return cost


def key_cost(key: bytes, value) -> int:
    """A key's own bytes plus its value's (the dict entries are counted with the tables)."""
    return alloc(getsizeof(key)) + value_cost(value)


def flush_sizes(db) -> None:
    """Re-estimate the non-string keys changed since the last call (``db.resized``)."""
    resized = db.resized
    if not resized:
        return
    data = db.data
    sizes = db.sizes
    total = db.coll_bytes
    for key in resized:
        v = data.get(key)
        old = sizes.pop(key, 0)
        total -= old
        if v is not None and v.__class__ is not bytes:
            new = key_cost(key, v)
            sizes[key] = new
            total += new
    resized.clear()
    db.coll_bytes = total
    if db.str_keys + len(sizes) != len(data):
        resync(db)


def resync(db, lru_word=0) -> None:
    """Account every key afresh: after ``data`` was replaced or filled behind the keyspace's
    back (RDB loading). Keys without an access word get ``lru_word``."""
    str_bytes = str_keys = coll = 0
    sizes = {}
    access = db.access
    for key, v in db.data.items():
        if v.__class__ is bytes:
            str_bytes += string_cost(key, v)
            str_keys += 1
        else:
            sizes[key] = c = key_cost(key, v)
            coll += c
        if key not in access:
            access[key] = lru_word
    if len(access) > len(db.data):
        for key in [k for k in access if k not in db.data]:
            del access[key]
    db.str_bytes, db.str_keys, db.sizes, db.coll_bytes = str_bytes, str_keys, sizes, coll
    db.resized = set()
    db.sample_keys = None


_INT = 32  # an int object past the small-int cache (28 -> 32)
_HEAP_ENTRY = 64 + 8  # (when, key) tuple and its list slot; the int is shared with expires


def db_dataset(db) -> int:
    """Estimated bytes of one db: keys, values, the tables, expiry and access bookkeeping."""
    flush_sizes(db)
    n = db.str_bytes + db.coll_bytes
    n += getsizeof(db.data) + getsizeof(db.access) + getsizeof(db.sizes)
    n += len(db.sizes) * _INT
    if db.server.lfu_mode:  # LFU words are distinct ints; LRU words share the clock's object
        n += len(db.access) * _INT
    if db.expires:
        n += getsizeof(db.expires) + len(db.expires) * _INT
        # The heap's live entries only: stale ones (deleted or re-timed keys) are garbage the
        # cron's compaction gives back (eviction.compact), not part of the dataset.
        n += len(db.expires) * (_HEAP_ENTRY + 8)
    if db.sample_keys is not None:
        n += getsizeof(db.sample_keys)
    if db.scan_log is not None:
        n += getsizeof(db.scan_log)
    return n

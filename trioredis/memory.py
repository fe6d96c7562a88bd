"""MEMORY USAGE: an honest estimate of the bytes a key and its value take in this process.

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

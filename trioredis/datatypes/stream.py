"""The stream value: entries in ID order, consumer groups and their pending entries lists.

IDs are 128-bit ints (``ms << 64 | seq``): comparing, incrementing and bisecting them is plain
int work. Entries live in two parallel arrays, ``ids`` and ``vals`` (the field/value tuple, or
``None`` for a deleted entry): an append is two list appends, finding an ID or the start of a
range is a bisect. The arrays start at ``head``; trimming from the front moves ``head`` and the
dead prefix is cut off now and then (amortised O(1) per trimmed entry).

Redis keeps entries in listpack *nodes* (at most ``stream-node-max-entries`` entries and about
``stream-node-max-bytes`` bytes each). That layout is visible: ``~`` trimming removes whole nodes
only, XADD/XTRIM propagate the result, XINFO reports the node count. So the same layout is kept
here as slot ranges with their live/deleted counts and the listpack size Redis would compute,
and trimming follows Redis's streamTrim step by step.

For persistence: :meth:`Stream.entries` yields ``(id, (field, value, ...))``; ``last_id``,
``entries_added``, ``max_deleted_id``, ``first_id`` are plain ints; ``groups`` maps a name to a
:class:`Group` (``last_id``, ``entries_read``, ``pel`` ID -> :class:`Nack`, ``consumers`` name
-> :class:`Consumer` with ``seen_time`` and its own ``pel``); :meth:`Stream.load_entry` and
:meth:`Stream.add_group` rebuild one.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from hashlib import sha1

from sortedcontainers import SortedDict

from .. import keyspace

MASK64 = (1 << 64) - 1
MAX_ID = (1 << 128) - 1
INVALID_ENTRIES_READ = -1  # Redis's SCG_INVALID_ENTRIES_READ
LISTPACK_MAX_SIZE = 1 << 30  # STREAM_LISTPACK_MAX_SIZE


def fmt_id(i: int) -> bytes:
    return b"%d-%d" % (i >> 64, i & MASK64)


def make_id(ms: int, seq: int) -> int:
    return ms << 64 | seq


# -- listpack sizes (what Redis's node size checks see) ---------------------------------------


def int_size(v: int) -> int:
    """Bytes of an integer listpack element (encoding + 1 byte back-length)."""
    if 0 <= v <= 127:
        return 2
    if -4096 <= v <= 4095:
        return 3
    if -32768 <= v <= 32767:
        return 4
    if -8388608 <= v <= 8388607:
        return 5
    if -2147483648 <= v <= 2147483647:
        return 6
    return 10


def _i64(v: int) -> int:
    """A uint64 difference as the int64 Redis stores."""
    v &= MASK64
    return v - (1 << 64) if v >> 63 else v


def str_size(b: bytes) -> int:
    """Bytes of a string listpack element; canonical integers are stored as integers."""
    n = len(b)
    if 0 < n <= 20 and (48 <= b[0] <= 57 or b[0] == 45):
        try:
            v = int(b)
        except ValueError:
            v = None
        if v is not None and b"%d" % v == b and -(2**63) <= v < 2**63:
            return int_size(v)
    if n < 64:
        return n + 2
    enc = n + 2 if n < 4096 else n + 5  # header + data; then the back-length bytes
    if enc <= 127:
        return enc + 1
    if enc < 16383:
        return enc + 2
    if enc < 2097151:
        return enc + 3
    if enc < 268435455:
        return enc + 4
    return enc + 5


class _Node:
    """One listpack of Redis's radix tree: the slots [start, end) of the arrays."""

    __slots__ = ("start", "end", "live", "deleted", "size", "fields", "master", "scan", "removed")

    def __init__(self, start: int, master: int, fields: tuple):
        self.start = start
        self.end = start
        self.live = 0
        self.deleted = 0
        self.master = master  # the ID of the first entry (the rax key)
        self.fields = fields  # the master entry's field names
        # Listpack bytes without the live/deleted counters: header + end byte, the master
        # entry's field count, fields and terminator.
        self.size = 7 + int_size(len(fields)) + sum(map(str_size, fields)) + 2
        self.scan = start  # slots before this one are all deleted
        self.removed = False


# -- consumer groups -----------------------------------------------------------------------


class Nack:
    """A pending entry: delivered to ``consumer``, not yet acknowledged."""

    __slots__ = ("consumer", "delivery_time", "delivery_count")

    def __init__(self, consumer, delivery_time: int, delivery_count: int = 1):
        self.consumer = consumer
        self.delivery_time = delivery_time
        self.delivery_count = delivery_count


class Consumer:
    __slots__ = ("name", "seen_time", "pel")

    def __init__(self, name: bytes, seen_time: int):
        self.name = name
        self.seen_time = seen_time
        self.pel = SortedDict()  # id -> Nack (shared with the group's PEL)


class Group:
    __slots__ = ("name", "last_id", "entries_read", "pel", "consumers")

    def __init__(self, name: bytes, last_id: int, entries_read: int):
        self.name = name
        self.last_id = last_id
        self.entries_read = entries_read
        self.pel = SortedDict()  # id -> Nack
        self.consumers: dict[bytes, Consumer] = {}

    def create_consumer(self, name: bytes, now_ms: int) -> Consumer | None:
        """A new consumer, or None when one of that name exists."""
        if name in self.consumers:
            return None
        cons = self.consumers[name] = Consumer(name, now_ms)
        return cons

    def delete_consumer(self, cons: Consumer) -> None:
        pel = self.pel
        for i in cons.pel:
            del pel[i]
        del self.consumers[cons.name]

    def ack(self, i: int) -> bool:
        nack = self.pel.pop(i, None)
        if nack is None:
            return False
        del nack.consumer.pel[i]
        return True

    def sorted_consumers(self) -> list[Consumer]:
        return [self.consumers[k] for k in sorted(self.consumers)]


# -- the stream ----------------------------------------------------------------------------


class Stream:
    """A Redis stream (see the module docstring for the layout)."""

    __slots__ = (
        "ids",
        "vals",
        "head",
        "nodes",
        "nstarts",
        "nhead",
        "dead",
        "length",
        "last_id",
        "first_id",
        "max_deleted_id",
        "entries_added",
        "groups",
        "version",
    )

    def __init__(self):
        self.ids: list[int] = []
        self.vals: list = []
        self.head = 0  # first slot of the first node
        self.nodes: list[_Node] = []
        self.nstarts: list[int] = []  # nodes[i].start, for bisect
        self.nhead = 0  # index of the first node still present
        self.dead = 0  # slots of removed nodes past head (reclaimed by _compact)
        self.length = 0
        self.last_id = 0
        self.first_id = 0
        self.max_deleted_id = 0
        self.entries_added = 0
        self.groups: dict[bytes, Group] | None = None
        self.version = 0  # bumped where Redis signals blocked readers (XADD, group destroy)

    def __len__(self) -> int:
        return self.length

    # -- type protocol (TYPE, OBJECT ENCODING, COPY, DEBUG DIGEST) ---------------------------

    def object_encoding(self, config) -> bytes:
        return b"stream"

    def copy(self) -> Stream:
        """A deep copy (COPY); entries are immutable tuples and are shared."""
        s = Stream()
        self._compact()
        s.ids = self.ids[:]
        s.vals = self.vals[:]
        s.head = self.head
        for n in self.nodes:
            m = _Node.__new__(_Node)
            for attr in _Node.__slots__:
                setattr(m, attr, getattr(n, attr))
            s.nodes.append(m)
        s.nstarts = self.nstarts[:]
        s.nhead = self.nhead
        s.dead = self.dead
        s.length = self.length
        s.last_id = self.last_id
        s.first_id = self.first_id
        s.max_deleted_id = self.max_deleted_id
        s.entries_added = self.entries_added
        if self.groups is not None:
            s.groups = {}
            for name, g in self.groups.items():
                h = s.groups[name] = Group(name, g.last_id, g.entries_read)
                for cname, cons in g.consumers.items():
                    h.consumers[cname] = Consumer(cname, cons.seen_time)
                for i, nack in g.pel.items():
                    cons = h.consumers[nack.consumer.name]
                    n = Nack(cons, nack.delivery_time, nack.delivery_count)
                    h.pel[i] = n
                    cons.pel[i] = n
        return s

    def debug_digest(self, digest: bytes = bytes(20)) -> bytes:
        """DEBUG DIGEST(-VALUE) as Redis 7.0 computes it (xorObjectDigest), from ``digest``:
        the type, then each entry's ``ms.seq`` and its fields and values mixed in order.
        Redis leaves consumer groups out of it, and so do we (equal to a redis-server's)."""
        d = _mix(digest, b"\x00\x00\x00\x06")  # OBJ_STREAM
        for i, fv in self.entries():
            d = _mix(d, b"%d.%d" % (i >> 64, i & MASK64))
            for x in fv:
                d = _mix(d, x)
        return d

    # -- reading -----------------------------------------------------------------------------

    def entries(self):
        """Every entry in ID order as ``(id, (field, value, ...))``."""
        vals = self.vals
        ids = self.ids
        for i in range(self.head, len(ids)):
            v = vals[i]
            if v is not None:
                yield ids[i], v

    def get(self, i: int):
        """The fields of entry ``i``, or None."""
        ids = self.ids
        k = bisect_left(ids, i, self.head)
        if k < len(ids) and ids[k] == i:
            return self.vals[k]
        return None

    def exists(self, i: int) -> bool:
        return self.get(i) is not None

    def range(self, start: int, end: int, count: int = 0, rev: bool = False) -> list:
        """Entries with start <= id <= end (at most ``count`` if > 0) as reply items."""
        ids = self.ids
        vals = self.vals
        out = []
        if start > end:
            return out
        if not rev:
            k = bisect_left(ids, start, self.head)
            n = len(ids)
            while k < n:
                i = ids[k]
                if i > end:
                    break
                v = vals[k]
                if v is not None:
                    out.append([b"%d-%d" % (i >> 64, i & MASK64), v])
                    if len(out) == count:
                        break
                k += 1
        else:
            head = self.head
            k = bisect_right(ids, end, head) - 1
            while k >= head:
                i = ids[k]
                if i < start:
                    break
                v = vals[k]
                if v is not None:
                    out.append([b"%d-%d" % (i >> 64, i & MASK64), v])
                    if len(out) == count:
                        break
                k -= 1
        return out

    def iter_from(self, start: int):
        """``(id, fields)`` of the entries with id >= start, in order."""
        ids = self.ids
        vals = self.vals
        k = bisect_left(ids, start, self.head)
        while k < len(ids):
            v = vals[k]
            if v is not None:
                yield ids[k], v
            k += 1

    def last_valid_id(self) -> int:
        """The ID of the last entry that is not deleted (0 when empty): streamLastValidID."""
        if not self.length:
            return 0
        nodes = self.nodes
        vals = self.vals
        for j in range(len(nodes) - 1, self.nhead - 1, -1):
            n = nodes[j]
            if n.removed or not n.live:
                continue
            for k in range(n.end - 1, n.scan - 1, -1):
                if vals[k] is not None:
                    return self.ids[k]
        return 0

    def first_valid_id(self) -> int:
        """The ID of the first entry that is not deleted (0 when empty)."""
        if not self.length:
            return 0
        nodes = self.nodes
        vals = self.vals
        for j in range(self.nhead, len(nodes)):
            n = nodes[j]
            if n.removed or not n.live:
                continue
            k = n.scan
            while vals[k] is None:
                k += 1
            n.scan = k
            return self.ids[k]
        return 0

    def first_edge_id(self) -> int:
        """streamGetEdgeID(first, with tombstones): MAX_ID when the stream has no node."""
        for j in range(self.nhead, len(self.nodes)):
            n = self.nodes[j]
            if not n.removed and n.end > n.start:
                return self.ids[n.start]
        return MAX_ID

    def node_count(self) -> int:
        """The radix tree's key count (XINFO radix-tree-keys)."""
        return sum(1 for j in range(self.nhead, len(self.nodes)) if not self.nodes[j].removed)

    def rax_nodes(self) -> int:
        """XINFO radix-tree-nodes: the node count of a compressed trie over the 16-byte keys."""
        keys = sorted(
            n.master.to_bytes(16, "big")
            for n in self.nodes[self.nhead:]
            if not n.removed
        )
        return _trie_nodes(keys, 0) if keys else 1

    # -- writing -----------------------------------------------------------------------------

    def next_id(self, now_ms: int) -> int:
        """streamNextID: now, or one past the last ID when the clock has not moved on."""
        last = self.last_id
        if now_ms > last >> 64:
            return now_ms << 64
        return last + 1

    def append(self, i: int, fv: tuple, max_bytes: int, max_entries: int, tot: int = -1):
        """Add entry ``i`` (greater than last_id, checked by the caller), as streamAppendItem.

        ``fv`` is the tuple of fields and values (a tuple of bytes is not tracked by the
        garbage collector, which matters with millions of entries); ``tot`` their total
        length if the caller has it."""
        nodes = self.nodes
        if nodes and nodes[-1].removed:
            self._drop_removed_tail()
        ids = self.ids
        nf = len(fv) >> 1
        node = nodes[-1] if len(nodes) > self.nhead else None
        if node is not None:
            # Start a new node when the listpack would be too big or has enough entries.
            live = node.live
            dead = node.deleted
            if max_bytes <= 0 or max_bytes > LISTPACK_MAX_SIZE:
                max_bytes = LISTPACK_MAX_SIZE
            if tot < 0:
                tot = sum(map(len, fv))
            lp_bytes = (node.size + (2 if live < 128 else int_size(live))
                        + (2 if dead < 128 else int_size(dead)))
            if (lp_bytes + tot >= max_bytes or (max_entries and live + dead >= max_entries)
                    or node.end != len(ids)):
                node = None
        if ids and i <= ids[-1]:
            self._clamp_tail(i)
        if node is None:
            node = _Node(len(ids), i, fv[0::2])
            nodes.append(node)
            self.nstarts.append(node.start)
            same = True
        else:
            mf = node.fields
            same = len(mf) == nf and (mf[0] == fv[0] if nf == 1 else mf == fv[0::2])
        # The entry's listpack elements: flags, ms and seq deltas from the node's master ID,
        # [field count, fields], values, lp-count.
        m = node.master
        d = (i >> 64) - (m >> 64)
        size = 4 if d < 128 else 2 + int_size(_i64(d))
        d = (i & MASK64) - (m & MASK64)
        size += 2 if 0 <= d < 128 else int_size(_i64(d))
        if nf == 1:
            v = fv[1]
            n = len(v)
            if n < 64 and (not n or not (47 < v[0] < 58 or v[0] == 45)):
                size += n + 2
            else:
                size += str_size(v)
        else:
            size += sum(map(str_size, fv[1::2]))
        if same:
            size += int_size(nf + 3)
        else:
            size += int_size(nf) + sum(map(str_size, fv[0::2])) + int_size(2 * nf + 4)
        node.size += size
        node.live += 1
        node.end += 1
        ids.append(i)
        self.vals.append(fv)
        self.length += 1
        self.entries_added += 1
        self.last_id = i
        if self.length == 1:
            self.first_id = i

    def _drop_removed_tail(self) -> None:
        """The last nodes were emptied by XDEL: forget their slots, so the last node left is
        the tail again (Redis appends to it if it has room)."""
        nodes = self.nodes
        while len(nodes) > self.nhead and nodes[-1].removed:
            n = nodes.pop()
            self.nstarts.pop()
            self.dead -= n.end - n.start
        end = nodes[-1].end if len(nodes) > self.nhead else self.head
        del self.ids[end:]
        del self.vals[end:]

    def _clamp_tail(self, i: int) -> None:
        """After XSETID moved last_id back over deleted entries, an append would break the
        order of the ID array: lower the IDs of those trailing tombstones (they are never
        returned) so bisect keeps working."""
        ids = self.ids
        k = len(ids) - 1
        while k >= self.head and ids[k] >= i:
            ids[k] = i - 1
            k -= 1

    def delete(self, i: int) -> bool:
        """Delete entry ``i`` (streamDeleteItem). True if it existed."""
        ids = self.ids
        k = bisect_left(ids, i, self.head)
        if k >= len(ids) or ids[k] != i or self.vals[k] is None:
            return False
        self.vals[k] = None
        node = self.nodes[bisect_right(self.nstarts, k, self.nhead) - 1]
        self.length -= 1
        if node.live == 1:
            self._remove_node(node)
        else:
            node.live -= 1
            node.deleted += 1
        return True

    def _remove_node(self, node: _Node) -> None:
        node.removed = True
        node.live = 0
        nodes = self.nodes
        if nodes[self.nhead] is node:
            self._advance_head()
        else:
            self.dead += node.end - node.start
            if self.dead > 1024 and self.dead > (len(self.ids) - self.head) // 2:
                self._compact()

    def _advance_head(self) -> None:
        nodes = self.nodes
        j = self.nhead
        while j < len(nodes) and nodes[j].removed:
            j += 1
        # dead slots of removed middle nodes now before the head no longer count
        for k in range(self.nhead + 1, j):
            self.dead -= nodes[k].end - nodes[k].start
        self.nhead = j
        self.head = nodes[j].start if j < len(nodes) else len(self.ids)
        if self.head > 4096 and self.head > len(self.ids) // 2:
            self._compact()

    def _compact(self) -> None:
        """Drop the slots before ``head`` and those of removed nodes."""
        if not self.head and not self.dead:
            return
        ids = self.ids
        vals = self.vals
        new_ids: list[int] = []
        new_vals: list = []
        new_nodes: list[_Node] = []
        for j in range(self.nhead, len(self.nodes)):
            n = self.nodes[j]
            if n.removed:
                continue
            start = len(new_ids)
            new_ids.extend(ids[n.start:n.end])
            new_vals.extend(vals[n.start:n.end])
            n.scan = start + (n.scan - n.start)
            n.start = start
            n.end = len(new_ids)
            new_nodes.append(n)
        self.ids = new_ids
        self.vals = new_vals
        self.nodes = new_nodes
        self.nstarts = [n.start for n in new_nodes]
        self.nhead = 0
        self.head = 0
        self.dead = 0

    def trim(self, maxlen: int, minid: int | None, approx: bool, limit: int) -> int:
        """streamTrim: by length (``minid`` None) or by minimum ID. Returns entries removed."""
        nodes = self.nodes
        ids = self.ids
        vals = self.vals
        by_len = minid is None
        deleted = 0
        j = self.nhead
        while j < len(nodes):
            node = nodes[j]
            j += 1
            if node.removed:
                continue
            if by_len and self.length <= maxlen:
                break
            entries = node.live
            if limit and deleted + entries > limit:
                break
            if by_len:
                remove = self.length - entries >= maxlen
            else:
                remove = ids[node.end - 1] < minid
            if remove:
                node.removed = True
                node.live = 0
                self._advance_head()
                ids = self.ids  # _advance_head may have compacted the arrays
                vals = self.vals
                nodes = self.nodes
                j = self.nhead
                self.length -= entries
                deleted += entries
                continue
            if approx:
                break
            k = node.scan
            end = node.end
            marked = 0
            while k < end:
                if by_len:
                    if self.length <= maxlen:
                        break
                elif ids[k] >= minid:
                    break
                if vals[k] is not None:
                    vals[k] = None
                    marked += 1
                    self.length -= 1
                k += 1
            node.scan = k  # every slot before k is deleted now
            node.live -= marked
            node.deleted += marked
            deleted += marked
            break
        if self.length == 0:
            self.first_id = 0
        elif deleted:
            self.first_id = self.first_valid_id()
        return deleted

    # -- consumer groups ---------------------------------------------------------------------

    def create_group(self, name: bytes, last_id: int, entries_read: int) -> Group | None:
        if self.groups is None:
            self.groups = {}
        if name in self.groups:
            return None
        g = self.groups[name] = Group(name, last_id, entries_read)
        return g

    def group(self, name: bytes) -> Group | None:
        return self.groups.get(name) if self.groups else None

    def sorted_groups(self) -> list[Group]:
        if not self.groups:
            return []
        return [self.groups[k] for k in sorted(self.groups)]

    def range_has_tombstones(self, start: int, end: int = MAX_ID) -> bool:
        """streamRangeHasTombstones."""
        md = self.max_deleted_id
        if not self.length or not md:
            return False
        if self.first_id > md:
            return False
        return start <= md <= end

    def estimate_distance(self, i: int) -> int:
        """streamEstimateDistanceFromFirstEverEntry: the entries_read counter of ID ``i``, or
        INVALID_ENTRIES_READ when it cannot be known."""
        added = self.entries_added
        if not added:
            return 0
        if not self.length and i <= self.last_id:
            return added
        last = self.last_id
        if i == last:
            return added
        if i > last:
            return INVALID_ENTRIES_READ
        md = self.max_deleted_id
        first = self.first_id
        if not md or md < first:
            if i < first:
                return added - self.length
            if i == first:
                return added - self.length + 1
        return INVALID_ENTRIES_READ

    def lag(self, g: Group):
        """streamCGLag: the group's lag, or None when it cannot be computed."""
        if not self.entries_added:
            return 0
        if g.entries_read != INVALID_ENTRIES_READ and not self.range_has_tombstones(g.last_id):
            return self.entries_added - g.entries_read
        er = self.estimate_distance(g.last_id)
        if er != INVALID_ENTRIES_READ:
            return self.entries_added - er
        return None

    # -- loading (RDB) -----------------------------------------------------------------------

    def load_entry(self, i: int, fv, max_bytes: int = 4096, max_entries: int = 100):
        """Append an entry while loading (IDs in order); metadata is set by the loader."""
        added = self.entries_added
        self.append(i, tuple(fv), max_bytes, max_entries)
        self.entries_added = added

    def add_group(self, name: bytes, last_id: int, entries_read: int) -> Group:
        g = self.create_group(name, last_id, entries_read)
        if g is None:
            raise ValueError("duplicate consumer group")
        return g


def _trie_nodes(keys: list[bytes], depth: int) -> int:
    """Nodes below a rax node for ``keys`` (sorted, distinct, same length) from ``depth``:
    a compressed node per single-child run, a branching node per fork, a leaf per key."""
    total = 0
    stack = [(0, len(keys), depth)]
    while stack:
        lo, hi, d = stack.pop()
        size = len(keys[lo])
        if hi - lo == 1:
            total += 2 if d < size else 1  # compressed run + leaf, or just the leaf
            continue
        first, last = keys[lo], keys[hi - 1]
        p = d
        while first[p] == last[p]:
            p += 1
        if p > d:
            total += 1  # the compressed run of the common prefix
        total += 1  # the branching node at byte p
        k = lo
        while k < hi:
            b = keys[k][p]
            e = k + 1
            while e < hi and keys[e][p] == b:
                e += 1
            if p + 1 == size:
                total += 1  # leaf
            else:
                stack.append((k, e, p + 1))
            k = e
    return total


def _mix(digest: bytes, data: bytes) -> bytes:
    """Redis's mixDigest: xor in SHA1(data), then hash the digest itself."""
    h = int.from_bytes(digest, "big") ^ int.from_bytes(sha1(data).digest(), "big")
    return sha1(h.to_bytes(20, "big")).digest()


keyspace.TYPE_NAMES[Stream] = b"stream"

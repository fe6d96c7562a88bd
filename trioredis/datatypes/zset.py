"""The sorted set value: a dict member -> score plus a SortedList of (score, member).

The dict answers ZSCORE in O(1); the SortedList (sortedcontainers) keeps Redis's order (score,
then member bytes as memcmp) with O(log n) insert, delete, rank and positional access, which is
what ZRANK/ZRANGE need. ``listpack`` mirrors the encoding Redis would report: it only ever goes
from listpack to skiplist on insert (as ``zsetAdd`` converts), and stored results are re-fitted
(``fit_listpack``) the way ``zsetConvertToListpackIfNeeded`` does. A listpack stores scores as
text, so -0 becomes 0 there; we normalise the same way so replies match byte for byte.
"""

from __future__ import annotations

import hashlib
from math import copysign, nextafter

from sortedcontainers import SortedList

from .. import keyspace

__all__ = ["ZSet"]

_sha1 = hashlib.sha1


class ZSet:
    """A sorted set. ``ZSet()`` is a new empty set (listpack until it outgrows the limits).
    ``ZSet(pairs)`` leaves the encoding undecided (``listpack`` None) until first needed, when
    the size decides; pass ``listpack=`` when it is known (RDB listpack payloads), or use
    ``ZSet.from_pairs`` to decide at once. Iterating yields (member, score) in order."""

    __slots__ = ("scores", "order", "listpack", "scan_log", "scan_epoch", "scan_ends", "pending")

    def __init__(self, pairs=None, listpack: bool | None = None):
        """``pairs``: iterable of (member, score); a repeated member keeps its last score."""
        scores: dict = {}
        if pairs:
            for m, s in pairs:
                scores[m] = s
        if listpack is None and not scores:
            listpack = True
        if listpack and scores:
            for m, s in scores.items():
                if s == 0.0:
                    scores[m] = 0.0
        self.scores = scores
        self.order = SortedList([(s, m) for m, s in scores.items()])
        self.listpack = listpack
        self.scan_log: list | None = None  # members in insertion order, made by ZSCAN
        self.scan_epoch = 0
        self.scan_ends: dict = {}  # ZSCAN epoch -> where its iteration stops in the log
        self.pending: dict | None = None  # batch mode: new members not yet in ``order``

    @classmethod
    def from_pairs(cls, pairs, max_entries: int, max_value: int) -> ZSet:
        """A new set encoded as Redis encodes a freshly built one: listpack when it has at most
        ``max_entries`` members, none longer than ``max_value`` (*STORE results, RDB load)."""
        zs = cls(pairs, listpack=False)
        zs.fit_listpack(max_entries, max_value)
        return zs

    # -- basics ------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.scores)

    def __contains__(self, member) -> bool:
        return member in self.scores

    def __iter__(self):
        """(member, score) pairs in Redis's order."""
        for s, m in self.order:
            yield m, s

    def __repr__(self) -> str:
        return f"ZSet({list(self)!r})"

    def get(self, member):
        return self.scores.get(member)

    def copy(self) -> ZSet:
        z = ZSet.__new__(ZSet)
        z.scores = self.scores.copy()
        z.order = self.order.copy()
        z.listpack = self.listpack
        z.scan_log = None
        z.scan_epoch = 0
        z.scan_ends = {}
        z.pending = None
        return z

    # -- encoding ----------------------------------------------------------------------------

    def fits_listpack(self, max_entries: int, max_value: int) -> bool:
        if len(self.scores) > max_entries:
            return False
        for m in self.scores:
            if len(m) > max_value:
                return False
        return True

    def fit_listpack(self, max_entries: int, max_value: int) -> None:
        """Convert to listpack when small enough (zsetConvertToListpackIfNeeded)."""
        if self.listpack:
            return
        if not self.fits_listpack(max_entries, max_value):
            self.listpack = False
            return
        self.listpack = True
        neg_zero = [m for m, s in self.scores.items() if s == 0.0 and copysign(1.0, s) < 0]
        for m in neg_zero:
            self.order.remove((-0.0, m))
            self.order.add((0.0, m))
            self.scores[m] = 0.0

    def object_encoding(self, config) -> bytes:
        """OBJECT ENCODING: listpack until an insert crossed a limit, as Redis 7.0 reports
        (a lowered limit converts nothing until the next insert, as in Redis)."""
        if self.listpack is None:
            values = config.values if hasattr(config, "values") else config
            self.fit_listpack(values["zset-max-listpack-entries"],
                              values["zset-max-listpack-value"])
        return b"listpack" if self.listpack else b"skiplist"

    # -- changes -----------------------------------------------------------------------------

    def insert(self, member: bytes, score: float, max_entries: int, max_value: int) -> float:
        """Add ``member`` (known to be absent); returns the score as stored."""
        scores = self.scores
        if self.listpack is None:
            self.fit_listpack(max_entries, max_value)
        if self.listpack:
            if len(scores) >= max_entries or len(member) > max_value:
                self.listpack = False
            elif score == 0.0:
                score = 0.0
        scores[member] = score
        if self.pending is None:
            self.order.add((score, member))
        else:
            self.pending[member] = score
        log = self.scan_log
        if log is not None:
            log.append(member)
            if len(log) > 4 * len(scores) + 4096:  # churn without ZSCAN: let it go
                self.scan_log = None
                self.scan_ends = {}
        return score

    def update(self, member: bytes, old: float, new: float) -> None:
        """Change the score of an existing member (``old`` is its current score)."""
        if self.listpack and new == 0.0:
            new = 0.0
        if self.pending is not None and member in self.pending:
            self.pending[member] = new
            self.scores[member] = new
            return
        order = self.order
        order.remove((old, member))
        order.add((new, member))
        self.scores[member] = new

    def begin_batch(self) -> None:
        """Collect the members ``insert`` adds and sort them in once at ``end_batch`` (a ZADD
        of many new members costs one merge instead of one SortedList insert each)."""
        self.pending = {}

    def end_batch(self) -> None:
        pending, self.pending = self.pending, None
        if pending:
            self.order.update([(s, m) for m, s in pending.items()])

    def delete(self, member: bytes) -> bool:
        score = self.scores.pop(member, None)
        if score is None:
            return False
        self.order.remove((score, member))
        return True

    def pop(self, count: int, maximum: bool) -> list:
        """Remove up to ``count`` lowest (or highest) elements: [(score, member), ...]."""
        order = self.order
        n = min(count, len(order))
        if n <= 0:
            return []
        if maximum:
            out = list(order.islice(len(order) - n, reverse=True))
            del order[len(order) - n :]
        else:
            out = list(order.islice(0, n))
            del order[:n]
        scores = self.scores
        for _, m in out:
            del scores[m]
        return out

    def delete_span(self, start: int, stop: int) -> int:
        """Remove the elements at positions [start, stop). Returns how many."""
        if stop <= start:
            return 0
        order = self.order
        scores = self.scores
        for _, m in order.islice(start, stop):
            del scores[m]
        del order[start:stop]
        return stop - start

    # -- queries -----------------------------------------------------------------------------

    def rank(self, member: bytes, reverse: bool = False):
        score = self.scores.get(member)
        if score is None:
            return None
        r = self.order.bisect_left((score, member))
        return len(self.scores) - 1 - r if reverse else r

    def slice(self, start: int, stop: int, reverse: bool = False):
        """(score, member) tuples at positions [start, stop), last first if ``reverse``."""
        return self.order.islice(start, stop, reverse)

    def at(self, index: int):
        return self.order[index]

    def score_span(self, lo: float, lo_ex: bool, hi: float, hi_ex: bool) -> tuple[int, int]:
        """Positions [i, j) of the elements with lo <(=) score <(=) hi."""
        order = self.order
        n = len(order)
        if lo > hi or (lo == hi and (lo_ex or hi_ex)) or not n:
            return 0, 0
        if lo_ex:
            i = n if lo == _INF else order.bisect_left((_next_up(lo),))
        else:
            i = order.bisect_left((lo,))
        if hi_ex:
            j = order.bisect_left((hi,))
        else:
            j = n if hi == _INF else order.bisect_left((_next_up(hi),))
        return i, max(i, j)

    def lex_span(self, lo, hi, reverse: bool = False) -> tuple[int, int]:
        """Positions [i, j) of a ZRANGEBYLEX range; ``lo``/``hi`` come from parse_lex.

        With equal scores (the documented use) this is a binary search. With mixed scores
        Redis's answer is unspecified; we walk the way a listpack does (from the head for a
        forward range, from the tail for a reverse one).
        """
        order = self.order
        n = len(order)
        if not n or lex_empty(lo, hi):
            return 0, 0
        gte, lte = lex_gte(lo), lex_lte(hi)
        # Redis first checks the extremes: the last element must be >= min, the first <= max.
        if not gte(order[-1][1]) or not lte(order[0][1]):
            return 0, 0
        if order[0][0] == order[-1][0]:
            s = order[0][0]
            i = _lex_index(order, s, lo, n, low=True)
            j = _lex_index(order, s, hi, n, low=False)
            return i, max(i, j)
        if not reverse:
            i = 0
            while i < n and not gte(order[i][1]):
                i += 1
            j = i
            while j < n and lte(order[j][1]):
                j += 1
            return i, j
        j = n
        while j > 0 and not lte(order[j - 1][1]):
            j -= 1
        i = j
        while i > 0 and gte(order[i - 1][1]):
            i -= 1
        return i, j

    # -- ZSCAN -------------------------------------------------------------------------------

    def scan(self, cursor: int, count: int) -> tuple[int, list]:
        """One ZSCAN step over a large set: (next cursor, members).

        Members are visited in insertion order through a log made at the first call (later
        members are appended), so a member present for the whole iteration is returned at
        least once. A cursor is ``epoch << 32 | position``; each epoch remembers where the log
        ended when its iteration began, so an iteration ends even while members keep coming.
        When deletions bloat the log it is compacted, keeping the place of the iteration that
        asks; cursors of other iterations then start over (duplicates, never a miss).
        """
        epoch, index = divmod(cursor, 1 << 32)
        log = self.scan_log
        ends = self.scan_ends
        end = ends.get(epoch) if (log is not None and cursor) else None
        bloated = log is not None and len(log) > 2 * len(self.scores) + 64
        if end is None:
            index = 0
            if log is None or bloated:
                self._new_log(0, 0)
            log = self.scan_log
            end = len(log)
            epoch = self._epoch_for(end)
        elif bloated:
            index, end = self._new_log(index, end)
            log = self.scan_log
            epoch = self._epoch_for(end)
        stop = min(index + max(count, 1), end)
        scores = self.scores
        out = [m for m in log[index:stop] if m in scores]
        if stop >= end:
            return 0, out
        return epoch * (1 << 32) + stop, out

    def _epoch_for(self, end: int) -> int:
        """The epoch of an iteration that stops at log position ``end``."""
        ends = self.scan_ends
        if ends and self.scan_epoch in ends and ends[self.scan_epoch] == end:
            return self.scan_epoch
        self.scan_epoch = self.scan_epoch % ((1 << 20) - 1) + 1  # never 0
        ends[self.scan_epoch] = end
        if len(ends) > 1024:
            del ends[next(iter(ends))]
        return self.scan_epoch

    def _new_log(self, index: int, end: int) -> tuple[int, int]:
        """(Re)build the ZSCAN log from live members; old epochs are forgotten. Returns where
        ``index`` and ``end`` of the old log land in the new one."""
        scores = self.scores
        old = self.scan_log
        self.scan_ends = {}
        if old is None:
            self.scan_log = list(scores)
            return 0, 0
        live: list = []
        seen: set = set()
        new_index = new_end = 0
        for i, m in enumerate(old):
            if m in scores and m not in seen:
                seen.add(m)
                live.append(m)
                if i < index:
                    new_index += 1
                if i < end:
                    new_end += 1
        self.scan_log = live
        return new_index, new_end

    # -- DEBUG DIGEST ------------------------------------------------------------------------

    def debug_digest(self, digest: bytes = bytes(20)) -> bytes:
        """Redis's xorObjectDigest of a zset, starting from ``digest`` (zeros for DEBUG
        DIGEST-VALUE, the key already mixed in for DEBUG DIGEST): the type id is mixed in,
        then each element's digest (member, then ``%.17g`` score) is xored in. The caller
        xors in SHA1("!!expire!!") for a key with a TTL, as Redis does."""
        acc = int.from_bytes(_mix(digest, b"\x00\x00\x00\x03"), "big")  # OBJ_ZSET
        zero = bytes(20)
        for m, s in self.scores.items():
            ele = _mix(_mix(zero, m), b"%.17g" % s)
            acc ^= int.from_bytes(_sha1(ele).digest(), "big")
        return acc.to_bytes(20, "big")


def _mix(digest: bytes, data: bytes) -> bytes:
    """mixDigest: xor in SHA1(data), then hash the digest itself."""
    h = int.from_bytes(digest, "big") ^ int.from_bytes(_sha1(data).digest(), "big")
    return _sha1(h.to_bytes(20, "big")).digest()


_INF = float("inf")


def _next_up(x: float) -> float:
    return nextafter(x, _INF)


# -- lexicographic bounds --------------------------------------------------------------------
# A bound is (kind, value, exclusive): kind -1 is "-", +1 is "+", 0 a real value.

LEX_MIN = (-1, b"", True)
LEX_MAX = (1, b"", True)


def parse_lex(b: bytes):
    """zslParseLexRangeItem: ``-``, ``+``, ``(value`` or ``[value``; None if invalid."""
    if not b:
        return None
    c = b[0]
    if c == 43:  # + (tested as a C string: "+\0..." is "+" too)
        return LEX_MAX if len(b) == 1 or b[1] == 0 else None
    if c == 45:  # -
        return LEX_MIN if len(b) == 1 or b[1] == 0 else None
    if c == 40:  # (
        return (0, b[1:], True)
    if c == 91:  # [
        return (0, b[1:], False)
    return None


def _lex_cmp(a, b) -> int:
    """sdscmplex between two bounds."""
    if a[0] or b[0]:
        return (a[0] > b[0]) - (a[0] < b[0]) if a[0] != b[0] else 0
    return (a[1] > b[1]) - (a[1] < b[1])


def lex_empty(lo, hi) -> bool:
    cmp = _lex_cmp(lo, hi)
    return cmp > 0 or (cmp == 0 and (lo[2] or hi[2]))


def lex_gte(lo):
    kind, v, ex = lo
    if kind < 0:
        return lambda m: True
    if kind > 0:
        return lambda m: False
    return (lambda m: m > v) if ex else (lambda m: m >= v)


def lex_lte(hi):
    kind, v, ex = hi
    if kind > 0:
        return lambda m: True
    if kind < 0:
        return lambda m: False
    return (lambda m: m < v) if ex else (lambda m: m <= v)


def _lex_index(order, score, bound, n, low: bool) -> int:
    """With one common score: the first position past the elements below a low bound, or past
    the elements within a high bound."""
    kind, v, ex = bound
    if kind < 0:
        return 0
    if kind > 0:
        return n
    if low:
        return order.bisect_right((score, v)) if ex else order.bisect_left((score, v))
    return order.bisect_left((score, v)) if ex else order.bisect_right((score, v))


keyspace.TYPE_NAMES[ZSet] = b"zset"

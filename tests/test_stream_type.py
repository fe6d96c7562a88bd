"""The stream value class (trioredis.datatypes.stream) and the stream commands driven
in-process through core.Server with a ManualClock: ID generation, node layout and trimming,
propagation, keyspace events, and blocked readers served by the core's retry."""

from __future__ import annotations

import pytest

from trioredis.commands.streams.common import parse_id, parse_strict_id
from trioredis.core import Block, ManualClock, Server
from trioredis.datatypes.stream import MAX_ID, Stream, fmt_id, int_size, str_size
from trioredis.keyspace import NOTIFY_NEW, type_name
from trioredis.protocol.replies import NULL_ARRAY, ErrorReply

M64 = (1 << 64) - 1


def sid(ms: int, seq: int = 0) -> int:
    return ms << 64 | seq


def filled(n: int, max_entries: int = 100, max_bytes: int = 4096, start: int = 1) -> Stream:
    s = Stream()
    for k in range(start, start + n):
        s.append(sid(k), (b"f", b"%d" % k), max_bytes, max_entries)
    return s


def ids_of(s: Stream) -> list[int]:
    return [i for i, _ in s.entries()]


# -- IDs -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, missing, expected",
    [
        (b"1-2", 0, sid(1, 2)),
        (b"5", 0, sid(5)),
        (b"5", M64, sid(5, M64)),
        (b"-", 0, 0),
        (b"+", 0, MAX_ID),
        (b" 7", 0, sid(7)),  # strtoull's leniency, as Redis's string2ull
        (b"+8", 0, sid(8)),
        (b"09-01", 0, sid(9, 1)),
        (b"-05-1", 0, None),  # the '-' is taken as the separator
        (b"18446744073709551615-18446744073709551615", 0, MAX_ID),
        (b"18446744073709551616", 0, None),
        (b"1-2-3", 0, None),
        (b"1-", 0, None),
        (b"", 0, None),
        (b"abc", 0, None),
        (b"1" * 128, 0, None),
    ],
)
def test_parse_id(text, missing, expected):
    if expected is None:
        with pytest.raises(Exception, match="Invalid stream ID"):
            parse_id(text, missing)
    else:
        assert parse_id(text, missing) == expected


def test_strict_ids_refuse_minus_and_plus():
    for text in (b"-", b"+"):
        with pytest.raises(Exception, match="Invalid stream ID"):
            parse_strict_id(text)
    assert parse_strict_id(b"3-4") == sid(3, 4)


def test_fmt_id():
    assert fmt_id(sid(1526919030474, 55)) == b"1526919030474-55"
    assert fmt_id(MAX_ID) == b"18446744073709551615-18446744073709551615"


def test_listpack_sizes():
    assert [int_size(v) for v in (0, 127, 128, -1, 4095, -4096, 4096, 2**31, -(2**63))] == [
        2, 2, 3, 3, 3, 3, 4, 10, 10]
    assert str_size(b"") == 2
    assert str_size(b"12") == 2  # stored as an integer
    assert str_size(b"012") == 5  # not canonical: a string
    assert str_size(b"x" * 63) == 65
    assert str_size(b"x" * 64) == 67
    assert str_size(b"x" * 125) == 128
    assert str_size(b"x" * 126) == 130  # the back-length needs a second byte
    assert str_size(b"x" * 4096) == 4103


# -- the structure ---------------------------------------------------------------------------


def test_append_get_range_and_reverse():
    s = filled(10)
    assert len(s) == 10 and s.first_id == sid(1) and s.last_id == sid(10)
    assert s.get(sid(3)) == (b"f", b"3")
    assert s.get(sid(3, 1)) is None
    assert [e[0] for e in s.range(sid(3), sid(6))] == [b"3-0", b"4-0", b"5-0", b"6-0"]
    assert [e[0] for e in s.range(0, MAX_ID, 2, rev=True)] == [b"10-0", b"9-0"]
    assert s.range(sid(6), sid(3)) == []
    assert type_name(s) == b"stream"
    assert s.object_encoding(None) == b"stream"


def test_nodes_follow_the_entry_limit():
    s = filled(7, max_entries=3)
    assert s.node_count() == 3
    assert [n.live for n in s.nodes] == [3, 3, 1]


def test_nodes_follow_the_byte_limit():
    s = Stream()
    for k in range(1, 11):
        s.append(sid(k), (b"f", b"x" * 100), 300, 0)
    # each entry takes ~107 bytes: two fit in a 300-byte listpack with its header
    assert [n.live for n in s.nodes] == [2, 2, 2, 2, 2]


def test_delete_marks_tombstones_and_removes_emptied_nodes():
    s = filled(9, max_entries=3)
    assert s.delete(sid(5)) and not s.delete(sid(5))
    assert s.nodes[1].live == 2 and s.nodes[1].deleted == 1
    assert s.delete(sid(4)) and s.delete(sid(6))
    assert s.nodes[1].removed and s.node_count() == 2
    assert ids_of(s) == [sid(k) for k in (1, 2, 3, 7, 8, 9)]
    # the first node emptied: the head moves on
    for k in (1, 2, 3):
        s.delete(sid(k))
    assert s.first_edge_id() == sid(7) and s.first_valid_id() == sid(7)


def test_emptied_tail_node_gives_its_place_back():
    s = Stream()
    s.append(sid(1), (b"f", b"v"), 100, 0)
    s.append(sid(2), (b"f", b"x" * 200), 100, 0)  # too big for the first node's room
    assert s.node_count() == 2
    s.delete(sid(2))
    s.append(sid(3), (b"f", b"v"), 100, 0)  # Redis appends to the first node again
    assert s.node_count() == 1 and ids_of(s) == [sid(1), sid(3)]


def test_trim_maxlen_exact_and_approx():
    s = filled(10, max_entries=4)
    assert s.trim(7, None, True, 0) == 0  # ~: only whole nodes go
    assert s.trim(6, None, True, 0) == 4
    assert s.trim(4, None, False, 0) == 2
    assert ids_of(s) == [sid(k) for k in (7, 8, 9, 10)]
    assert s.first_id == sid(7)
    assert s.trim(0, None, False, 0) == 4 and len(s) == 0 and s.first_id == 0


def test_trim_minid_and_limit():
    s = filled(10, max_entries=4)
    assert s.trim(0, sid(6), True, 3) == 0  # LIMIT below a node's size: nothing
    assert s.trim(0, sid(6), True, 0) == 4
    assert s.trim(0, sid(6), False, 0) == 1
    assert ids_of(s)[0] == sid(6)


def test_head_compaction_keeps_everything_reachable():
    s = filled(20000, max_entries=10)
    for k in range(1, 15001, 10):
        s.trim(20000 - k - 9, None, True, 0)
    assert len(s) == 5000 and s.head < len(s.ids)
    assert len(s.ids) < 12000  # the dead prefix was cut
    assert s.get(sid(15001)) == (b"f", b"15001")
    assert ids_of(s) == [sid(k) for k in range(15001, 20001)]


def test_middle_node_compaction():
    s = filled(30000, max_entries=10)
    for k in range(11, 29991):
        s.delete(sid(k))
    assert len(s.ids) < 1000  # the slots of the removed nodes were reclaimed
    assert s.node_count() == 2
    assert ids_of(s) == [sid(k) for k in (*range(1, 11), *range(29991, 30001))]
    assert s.get(sid(29991)) == (b"f", b"29991") and s.get(sid(5000)) is None
    s.append(sid(30001), (b"f", b"x"), 4096, 10)
    assert s.node_count() == 3 and s.get(sid(30001)) == (b"f", b"x")


def test_append_after_last_id_moved_back_keeps_lookups_working():
    s = filled(5)
    s.delete(sid(5))
    s.delete(sid(4))
    s.last_id = sid(3, 7)  # XSETID over the deleted tail
    s.append(sid(3, 8), (b"f", b"new"), 4096, 100)
    assert s.get(sid(3, 8)) == (b"f", b"new")
    assert s.get(sid(3)) == (b"f", b"3")
    assert ids_of(s) == [sid(1), sid(2), sid(3), sid(3, 8)]


def test_copy_is_deep():
    srv = Server(clock=ManualClock())
    c = srv.new_client()
    for cmd in ([b"XADD", b"s", b"1-0", b"a", b"1"], [b"XADD", b"s", b"2-0", b"a", b"2"],
                [b"XGROUP", b"CREATE", b"s", b"g", b"0"],
                [b"XREADGROUP", b"GROUP", b"g", b"alice", b"COUNT", b"1", b"STREAMS", b"s",
                 b">"]):
        srv.execute(c, cmd)
    s = c.db.data[b"s"]
    t = s.copy()
    t.delete(sid(1))
    g = t.group(b"g")
    assert len(s) == 2 and len(t) == 1
    nack = g.pel[sid(1)]
    assert nack.consumer is g.consumers[b"alice"] and g.consumers[b"alice"].pel[sid(1)] is nack
    assert s.group(b"g").pel[sid(1)] is not nack
    assert t.debug_digest() != s.debug_digest()


def test_debug_digest_is_redis_s():
    s = Stream()
    s.append(sid(1, 1), (b"f", b"v"), 4096, 100)
    assert s.debug_digest().hex() == "2ed9a7a81688084b1f7eae33456ef7727d357031"
    s.create_group(b"g", 0, -1)  # groups are not part of Redis's digest
    assert s.debug_digest().hex() == "2ed9a7a81688084b1f7eae33456ef7727d357031"


def test_rax_node_count():
    assert Stream().rax_nodes() == 1
    assert filled(1).rax_nodes() == 2
    # three keys that differ in byte 7 (the low ms byte): 7-byte run, fork, 3 x (run + leaf)
    assert filled(3, max_entries=1).rax_nodes() == 8


# -- in-process commands ---------------------------------------------------------------------


class Harness:
    """A bare core.Server with a ManualClock; propagation and keyspace events recorded."""

    def __init__(self):
        self.clock = ManualClock(1_700_000_000.0)
        self.srv = Server(clock=self.clock)
        self.events: list = []
        self.props: list = []
        self.srv.notify_flags = ~NOTIFY_NEW
        self.srv.notify = lambda kind, event, key, dbid: self.events.append(event)
        self.srv.propagate_targets.append(lambda dbid, argv: self.props.append(list(argv)))
        self.c = self.srv.new_client()

    def run(self, c, *args):
        return self.srv.execute(c, [a if isinstance(a, bytes) else str(a).encode()
                                    for a in args])

    def __call__(self, *args):
        return self.run(self.c, *args)

    def block(self, *args) -> tuple:
        """A new client running ``args``, which must block (registered as connection.py)."""
        c = self.srv.new_client()
        argv = [a if isinstance(a, bytes) else str(a).encode() for a in args]
        blk = self.srv.execute(c, argv)
        assert blk.__class__ is Block, blk
        self.srv.register_block(blk, None, argv)
        return c, blk

    def stream(self, key=b"s") -> Stream:
        return self.srv.dbs[0].data[key]


@pytest.fixture
def h():
    return Harness()


NOW = 1_700_000_000_000


def test_auto_ids_use_the_clock_and_never_go_back(h):
    assert h("XADD", "s", "*", "f", "v") == b"%d-0" % NOW
    assert h("XADD", "s", "*", "f", "v") == b"%d-1" % NOW
    h.clock.advance(0.005)
    assert h("XADD", "s", "*", "f", "v") == b"%d-0" % (NOW + 5)
    h.clock.advance(-10)  # the clock goes backwards: keep the last ms, next sequence
    assert h("XADD", "s", "*", "f", "v") == b"%d-1" % (NOW + 5)
    assert h("XADD", "s", f"{NOW + 5}-*", "f", "v") == b"%d-2" % (NOW + 5)
    assert h("XADD", "s", f"{NOW + 9}-*", "f", "v") == b"%d-0" % (NOW + 9)
    assert h("XADD", "s", "5-*", "f", "v") == ErrorReply(
        "ERR The ID specified in XADD is equal or smaller than the target stream top item")


def test_auto_ids_inside_exec_share_the_frozen_time(h):
    h("MULTI")
    h("XADD", "s", "*", "f", "v")
    h("XADD", "s", "*", "f", "v")
    assert h("EXEC") == [b"%d-0" % NOW, b"%d-1" % NOW]


def test_exhausted_stream(h):
    h("XADD", "s", "18446744073709551615-18446744073709551615", "f", "v")
    err = ErrorReply("ERR The stream has exhausted the last possible ID, unable to add more "
                     "items")
    assert h("XADD", "s", "*", "f", "v") == err
    assert h("XADD", "s", "18446744073709551615-*", "f", "v") == err


def test_xadd_propagates_the_concrete_id_and_exact_trimming(h):
    h("XADD", "s", "*", "f", "v")
    h("XADD", "s", "MAXLEN", "~", "1", "*", "f", "v")
    h("XADD", "s", "MINID", "~", "0", f"{NOW}-5", "f", "v")
    h("XADD", "s", f"{NOW}-9", "f", "v")
    assert h.props == [
        [b"XADD", b"s", b"%d-0" % NOW, b"f", b"v"],
        [b"XADD", b"s", b"MAXLEN", b"=", b"2", b"%d-1" % NOW, b"f", b"v"],
        [b"XADD", b"s", b"MINID", b"=", b"%d-0" % NOW, b"%d-5" % NOW, b"f", b"v"],
        [b"XADD", b"s", b"%d-9" % NOW, b"f", b"v"],
    ]


def test_xtrim_approx_propagates_exactly(h):
    h("CONFIG", "SET", "stream-node-max-entries", "2")
    for k in range(1, 6):
        h("XADD", "s", f"{k}-0", "f", "v")
    h.props.clear()
    assert h("XTRIM", "s", "MAXLEN", "~", "2") == 2
    assert h("XTRIM", "s", "MAXLEN", "~", "2") == 0
    assert h("XTRIM", "s", "MINID", "~", "5", "LIMIT", "2") == 2
    assert h.props == [[b"XTRIM", b"s", b"MAXLEN", b"=", b"3"],
                       [b"XTRIM", b"s", b"MINID", b"=", b"5-0", b"LIMIT", b"2"]]


def test_xreadgroup_propagates_xclaim_and_setid(h):
    h("XADD", "s", "1-0", "f", "v")
    h("XADD", "s", "2-0", "f", "v")
    h("XGROUP", "CREATE", "s", "g", "0")
    h.props.clear()
    h("XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", ">")
    h("XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", "0")  # history: nothing to send
    h.clock.advance(1)
    h("XADD", "s", "3-0", "f", "v")
    h("XREADGROUP", "GROUP", "g", "bob", "NOACK", "STREAMS", "s", ">")
    t = b"%d" % NOW
    assert h.props == [
        [b"MULTI"],
        [b"XCLAIM", b"s", b"g", b"alice", b"0", b"1-0", b"TIME", t, b"RETRYCOUNT", b"1",
         b"FORCE", b"JUSTID", b"LASTID", b"1-0"],
        [b"XCLAIM", b"s", b"g", b"alice", b"0", b"2-0", b"TIME", t, b"RETRYCOUNT", b"1",
         b"FORCE", b"JUSTID", b"LASTID", b"2-0"],
        [b"EXEC"],
        [b"XADD", b"s", b"3-0", b"f", b"v"],
        [b"MULTI"],
        [b"XGROUP", b"CREATECONSUMER", b"s", b"g", b"bob"],
        [b"XGROUP", b"SETID", b"s", b"g", b"3-0", b"ENTRIESREAD", b"3"],
        [b"EXEC"],
    ]
    nack = h.stream().group(b"g").pel[sid(1)]
    assert (nack.delivery_time, nack.delivery_count) == (NOW, 2)  # the history read counted


def test_xclaim_and_xautoclaim_propagation(h):
    for k in (1, 2, 3):
        h("XADD", "s", f"{k}-0", "f", "v")
    h("XGROUP", "CREATE", "s", "g", "0")
    h("XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", ">")
    h("XDEL", "s", "2-0")
    h.props.clear()
    h.clock.advance(2)
    assert h("XCLAIM", "s", "g", "bob", "1000", "1-0", "2-0", "JUSTID") == [b"1-0"]
    assert h("XCLAIM", "s", "g", "bob", "0", "9-0", "LASTID", "10-0") == []
    t2 = b"%d" % (NOW + 2000)
    assert h.props == [
        [b"MULTI"],
        [b"XCLAIM", b"s", b"g", b"bob", b"0", b"1-0", b"TIME", t2, b"RETRYCOUNT", b"1",
         b"FORCE", b"JUSTID", b"LASTID", b"3-0"],
        # the deleted entry leaves the PEL, and says so with its old owner's XCLAIM
        [b"XCLAIM", b"s", b"g", b"alice", b"0", b"2-0", b"TIME", b"%d" % NOW,
         b"RETRYCOUNT", b"1", b"FORCE", b"JUSTID", b"LASTID", b"3-0"],
        [b"EXEC"],
        [b"XGROUP", b"SETID", b"s", b"g", b"10-0", b"ENTRIESREAD", b"3"],
    ]
    h.props.clear()
    assert h("XAUTOCLAIM", "s", "g", "carol", "0", "0", "COUNT", "1") == [
        b"3-0", [[b"1-0", (b"f", b"v")]], []]
    assert h.props[0][:6] == [b"XCLAIM", b"s", b"g", b"carol", b"0", b"1-0"]


def test_keyspace_events(h):
    h("XADD", "s", "1-0", "f", "v")
    h("XADD", "s", "MAXLEN", "0", "2-0", "f", "v")
    h("XADD", "s", "3-0", "f", "v")
    h("XDEL", "s", "3-0")
    h("XDEL", "s", "3-0")  # nothing deleted: no event
    h("XTRIM", "s", "MAXLEN", "0")
    h("XSETID", "s", "9-0")
    h("XGROUP", "CREATE", "s", "g", "$")
    h("XGROUP", "CREATE", "s2", "g", "$", "MKSTREAM")
    h("XGROUP", "CREATECONSUMER", "s", "g", "c")
    h("XGROUP", "SETID", "s", "g", "0")
    h("XREADGROUP", "GROUP", "g", "d", "STREAMS", "s", "0")
    h("XGROUP", "DELCONSUMER", "s", "g", "c")
    h("XGROUP", "DESTROY", "s", "g")
    assert h.events == [b"xadd", b"xadd", b"xtrim", b"xadd", b"xdel", b"xsetid",
                        b"xgroup-create", b"xgroup-create", b"xgroup-createconsumer",
                        b"xgroup-setid", b"xgroup-createconsumer", b"xgroup-delconsumer",
                        b"xgroup-destroy"]


def test_only_some_writes_touch_watched_keys(h):
    h("XADD", "s", "1-0", "f", "v")
    h("XGROUP", "CREATE", "s", "g", "0")
    other = h.srv.new_client()
    for cmd, touches in ((("XGROUP", "SETID", "s", "g", "0"), False),
                         (("XSETID", "s", "5-0"), False),
                         (("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"), False),
                         (("XACK", "s", "g", "1-0"), False),
                         (("XDEL", "s", "1-0"), True),
                         (("XADD", "s", "6-0", "f", "v"), True)):
        h("WATCH", "s")
        h.run(other, *cmd)
        h("MULTI")
        h("PING")
        assert (h("EXEC") is NULL_ARRAY) is touches, cmd


# -- blocked readers (the core's retry) ------------------------------------------------------


def test_xread_dollar_is_resolved_before_blocking(h):
    h("XADD", "s", "1-0", "f", "v")
    c, blk = h.block("XREAD", "BLOCK", "0", "STREAMS", "s", "$")
    assert blk.argv[-1] == b"1-0"
    h("XADD", "s", "2-0", "f", "w")
    assert blk.done and blk.reply == [[b"s", [[b"2-0", (b"f", b"w")]]]]


def test_only_xadd_wakes_readers(h):
    h("XADD", "s", "1-0", "f", "v")
    h("XADD", "s", "2-0", "f", "v")
    c, blk = h.block("XREAD", "BLOCK", "0", "STREAMS", "s", "$")
    h("XDEL", "s", "1-0")
    h("XSETID", "s", "9-0")  # last ID moved past the reader's: Redis does not wake it
    assert not blk.done
    h("MULTI")
    h("XADD", "s", "10-0", "f", "v")
    h("XDEL", "s", "10-0")
    h("EXEC")
    assert blk.done and blk.reply == [[b"s", []]]  # woken, served what is left: nothing


def test_blocked_group_readers_take_turns(h):
    h("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
    blocks = [h.block("XREADGROUP", "GROUP", "g", f"c{k}", "BLOCK", "0", "STREAMS", "s", ">")
              for k in range(3)]
    for k in range(1, 4):
        h("XADD", "s", f"{k}-0", "f", "v")
    assert [b.reply[0][1][0][0] for _, b in blocks] == [b"1-0", b"2-0", b"3-0"]
    g = h.stream().group(b"g")
    assert [g.pel[sid(k)].consumer.name for k in (1, 2, 3)] == [b"c0", b"c1", b"c2"]


def test_blocked_group_reader_errors(h):
    h("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
    _, b1 = h.block("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">")
    h("XGROUP", "DESTROY", "s", "g")
    assert b1.reply == ErrorReply(
        "NOGROUP the consumer group this client was blocked on no longer exists")
    h("XGROUP", "CREATE", "s", "g", "$")
    _, b2 = h.block("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">")
    _, b3 = h.block("XREAD", "BLOCK", "0", "STREAMS", "s", "$")
    h("DEL", "s")
    assert b2.reply == ErrorReply("UNBLOCKED the stream key no longer exists")
    assert not b3.done  # a plain reader keeps waiting
    h("XADD", "s", "1-0", "f", "v")
    assert b3.done


def test_blocked_served_with_default_count(h):
    _, blk = h.block("XREAD", "BLOCK", "0", "STREAMS", "s", "0")
    h("MULTI")
    for k in range(1, 1101):
        h("XADD", "s", f"{k}-0", "f", "v")
    h("EXEC")
    assert len(blk.reply[0][1]) == 1000


def test_xread_block_in_multi_does_not_block(h):
    h("MULTI")
    h("XREAD", "BLOCK", "0", "STREAMS", "s", "$")
    assert h("EXEC") == [NULL_ARRAY]

"""Unit tests of the RDB codec: CRC64, LZF, the blobs (listpack, ziplist, intset, zipmap),
every RDB version and type from handcrafted files, round trips, and broken files refused."""

from __future__ import annotations

import os
import random
import struct
from collections import deque

import pytest

from trioredis.config import Config
from trioredis.core import ManualClock, Server
from trioredis.datatypes.stream import Stream
from trioredis.datatypes.zset import ZSet
from trioredis.persistence import crc64 as crcmod
from trioredis.persistence import listpack as lp
from trioredis.persistence import lzf, rdb
from trioredis.persistence.crc64 import crc64

from . import FIXTURES, diff_snapshots, our_snapshot

S = rdb.encode_string
L = rdb.encode_length
NOW = 1_700_000_000_000


def rdb_file(version: int, body: bytes, checksum: bool = True) -> bytes:
    data = b"REDIS%04d" % version + body + b"\xff"
    if version >= 5:
        data += struct.pack("<Q", crc64(0, data) if checksum else 0)
    return data


def load(data: bytes, **kw) -> Server:
    srv = Server(Config(), clock=ManualClock(NOW / 1000))
    rdb.load_into(srv, data, **kw)
    return srv


def values(data: bytes, **kw) -> dict:
    srv = load(data, **kw)
    return {k: v for db in srv.dbs for k, v in db.data.items()}


# -- CRC64 and LZF --------------------------------------------------------------------------------


def test_crc64_vector():
    assert crc64(0, b"123456789") == 0xE9C6D914C4B8D9CA
    assert crc64(0, b"") == 0


def test_crc64_long_inputs_and_continuation():
    rng = random.Random(1)
    for n in (7, 8, 9, 65535, 65536, 65537, 300_001):
        data = rng.randbytes(n)
        slow = crcmod._crc_py(0, data)
        assert crc64(0, data) == slow
        assert crc64(0x1234, data) == crcmod._crc_py(0x1234, data)
        half = n // 2
        assert crc64(crc64(0, data[:half]), data[half:]) == slow
    stream = crcmod.CRC64()
    data = rng.randbytes(3 << 20)
    for i in range(0, len(data), 100_000):
        stream.update(data[i:i + 100_000])
    assert stream.value() == crcmod._crc_py(0, data)


def test_lzf_round_trip_and_redis_format():
    rng = random.Random(2)
    for data in (b"a" * 1000, b"abcabcabcabc" * 50, bytes(range(256)) * 8,
                 b"".join(rng.choice([b"foo", b"bar", b"bazz"]) for _ in range(3000))):
        packed = lzf.compress(data)
        assert packed is not None and len(packed) < len(data) - 4
        assert lzf.decompress(packed, len(data)) == data
    assert lzf.compress(rng.randbytes(100)) is None  # incompressible
    # Literal run of 3, then a back reference (offset 3, length 6): "abcabcabc".
    assert lzf.decompress(b"\x02abc\x80\x02", 9) == b"abcabcabc"
    for bad, n in ((b"\x05ab", 6), (b"\x00a\xe0", 10), (b"\x20\x05", 3), (b"\x00a", 2)):
        with pytest.raises(lzf.LZFError):
            lzf.decompress(bad, n)


# -- blobs ----------------------------------------------------------------------------------------

INT_EDGES = [0, 1, 127, 128, -1, -4096, 4095, 4096, -4097, 32767, -32768, 32768, 8388607,
             -8388608, 8388608, 2**31 - 1, -2**31, 2**31, 2**63 - 1, -2**63]


def test_listpack_round_trip_every_encoding():
    items = INT_EDGES + [b"", b"x", b"a" * 63, b"b" * 64, b"c" * 4095, b"d" * 4096,
                         b"e" * 70000, b"007", b"-0", b"+1", b"12345678901234567890"]
    blob = lp.lp_encode(items)
    expect = [x if isinstance(x, int) else (lp.str_to_int(x) if lp.str_to_int(x) is not None
                                            else x) for x in items]
    assert lp.lp_decode(blob) == expect
    # canonical integers are stored as integers; near misses stay strings
    assert lp.lp_decode(lp.lp_encode([b"123", b"0123", b"-0", b"9223372036854775808"])) == [
        123, b"0123", b"-0", b"9223372036854775808"]
    assert lp.lp_decode(lp.lp_encode([])) == []


def test_listpack_corruption_detected():
    good = lp.lp_encode([b"hello", 5, b"x" * 200])
    bad_cases = [
        good[:-1],  # no end byte
        struct.pack("<I", len(good) + 1) + good[4:],  # wrong total
        good[:6] + bytes([good[6] ^ 0x01]) + good[7:],  # length changed: back-length mismatch
        good[:4] + struct.pack("<H", 7) + good[6:],  # wrong count
        good[:6] + b"\xf5" + good[7:],  # invalid encoding byte
    ]
    for blob in bad_cases:
        with pytest.raises(lp.BlobError):
            lp.lp_decode(blob)


def ziplist(items) -> bytes:
    """A ziplist as Redis 2.6-6.2 wrote them (test-only encoder)."""
    body = b""
    prev = 0
    tail = 10
    for x in items:
        pl = bytes([prev]) if prev < 254 else b"\xfe" + struct.pack("<I", prev)
        if isinstance(x, int):
            if 0 <= x <= 12:
                enc = bytes([0xF1 + x])
            elif -128 <= x <= 127:
                enc = b"\xfe" + struct.pack("<b", x)
            elif -32768 <= x <= 32767:
                enc = b"\xc0" + struct.pack("<h", x)
            elif -(2**23) <= x < 2**23:
                enc = b"\xf0" + (x & 0xFFFFFF).to_bytes(3, "little")
            elif -(2**31) <= x < 2**31:
                enc = b"\xd0" + struct.pack("<i", x)
            else:
                enc = b"\xe0" + struct.pack("<q", x)
        else:
            n = len(x)
            if n < 64:
                enc = bytes([n]) + x
            elif n < 16384:
                enc = bytes([0x40 | (n >> 8), n & 0xFF]) + x
            else:
                enc = b"\x80" + struct.pack(">I", n) + x
        tail = 10 + len(body)
        entry = pl + enc
        body += entry
        prev = len(entry)
    return struct.pack("<IIH", 10 + len(body) + 1, tail, len(items)) + body + b"\xff"


def test_ziplist_decode():
    # ziplist.c's own example: the strings "2" and "5" as 4-bit immediates.
    assert lp.zl_decode(bytes.fromhex("0f0000000c0000000200" "00f3" "02f6" "ff")) == [2, 5]
    items = [0, 12, 13, -1, 200, -200, 40000, -8388608, 2**31 - 1, -2**40, b"", b"s",
             b"m" * 300, b"big" * 6000]
    assert lp.zl_decode(ziplist(items)) == items
    good = ziplist([b"a", b"b", 7])
    for blob in (good[:-1], good[:10] + b"\x05" + good[11:], good[:4] + b"\x00" + good[5:]):
        with pytest.raises(lp.BlobError):
            lp.zl_decode(blob)


def zipmap(pairs, free: int = 0) -> bytes:
    def ln(n):
        return bytes([n]) if n < 254 else b"\xfe" + struct.pack("<I", n)

    out = bytes([len(pairs) if len(pairs) < 254 else 254])
    for k, v in pairs:
        out += ln(len(k)) + k + ln(len(v)) + bytes([free]) + v + b"\0" * free
    return out + b"\xff"


def test_zipmap_decode():
    # zipmap.c's example layout: "foo" => "bar", "hello" => "world"
    assert lp.zipmap_decode(b"\x02\x03foo\x03\x00bar\x05hello\x05\x00world\xff") == [
        (b"foo", b"bar"), (b"hello", b"world")]
    pairs = [(b"k%d" % i, b"v" * i) for i in range(300)]
    assert lp.zipmap_decode(zipmap(pairs, free=2)) == pairs
    with pytest.raises(lp.BlobError):
        lp.zipmap_decode(b"\x01\x03foo\x03\x00ba")


def test_intset():
    for vals in ([1, 2, 3], [-5, 40000], [-(2**40), 0, 2**40]):
        assert lp.intset_decode(lp.intset_encode(vals)) == sorted(vals)
    with pytest.raises(lp.BlobError):
        lp.intset_decode(struct.pack("<II", 2, 2) + struct.pack("<hh", 5, 1))  # unsorted
    with pytest.raises(lp.BlobError):
        lp.intset_decode(struct.pack("<II", 3, 1) + b"abc")


# -- handcrafted files of every version -----------------------------------------------------------


def test_version_1_to_4_plain_types_and_second_expiry():
    body = (
        b"\xfe\x00"
        + b"\xfd" + struct.pack("<i", NOW // 1000 + 100) + b"\x00" + S(b"s") + S(b"v")
        + b"\x00" + S(b"n") + b"\xc1" + struct.pack("<h", -300)
        + b"\x01" + S(b"list") + L(3) + S(b"a") + S(b"12") + S(b"c")
        + b"\x02" + S(b"set") + L(2) + S(b"x") + S(b"y")
        + b"\x03" + S(b"zset") + L(3) + S(b"a") + b"\x031.5" + S(b"b") + b"\xfe"
        + S(b"c") + b"\xff"
        + b"\x04" + S(b"hash") + L(1) + S(b"f") + S(b"v")
        + b"\x09" + S(b"zipmap") + S(zipmap([(b"f1", b"v1"), (b"f2", b"2")]))
    )
    for version in (1, 2, 3, 4):
        srv = load(rdb_file(version, body))
        db = srv.dbs[0]
        assert db.data[b"s"] == b"v" and db.expires[b"s"] == (NOW // 1000 + 100) * 1000
        assert db.data[b"n"] == b"-300"
        assert db.data[b"list"] == deque([b"a", b"12", b"c"])
        assert db.data[b"set"] == {b"x", b"y"}
        assert list(db.data[b"zset"]) == [(b"c", float("-inf")), (b"a", 1.5), (b"b", float("inf"))]
        assert db.data[b"hash"] == {b"f": b"v"}
        assert db.data[b"zipmap"] == {b"f1": b"v1", b"f2": b"2"}


def test_versions_5_to_9_encodings():
    lzf_blob = lzf.compress(b"x" * 100)
    body = (
        b"\xfe\x00\xfb" + L(7) + L(1)
        + b"\xfc" + struct.pack("<q", NOW + 5000) + b"\x00" + S(b"ms") + S(b"v")
        + b"\x00" + S(b"lzf") + b"\xc3" + L(len(lzf_blob)) + L(100) + lzf_blob
        + b"\x0a" + S(b"zl") + S(ziplist([b"a", 1, -70000]))
        + b"\x0b" + S(b"is") + S(lp.intset_encode([3, 1, 2]))
        + b"\x0c" + S(b"zz") + S(ziplist([b"m1", 5, b"m2", b"2.5"]))
        + b"\x0d" + S(b"hz") + S(ziplist([b"f", b"v", b"n", 7]))
        + b"\x0e" + S(b"ql") + L(2) + S(ziplist([b"a", b"b"])) + S(ziplist([3]))
        + b"\x05" + S(b"z2") + L(2) + S(b"a") + struct.pack("<d", 0.25) + S(b"b")
        + struct.pack("<d", -1e300)
    )
    for version in (5, 6, 7, 8, 9):
        got = values(rdb_file(version, body))
        assert got[b"ms"] == b"v"
        assert got[b"lzf"] == b"x" * 100
        assert got[b"zl"] == deque([b"a", b"1", b"-70000"])
        assert got[b"is"] == {b"1", b"2", b"3"}
        assert list(got[b"zz"]) == [(b"m2", 2.5), (b"m1", 5.0)]
        assert got[b"hz"] == {b"f": b"v", b"n": b"7"}
        assert got[b"ql"] == deque([b"a", b"b", b"3"])
        assert list(got[b"z2"]) == [(b"b", -1e300), (b"a", 0.25)]


def stream_node(master: tuple, fields: list, entries: list) -> bytes:
    """A stream listpack node built element by element from t_stream.c's layout."""
    els = [len([e for e in entries if not e[2]]), len([e for e in entries if e[2]]),
           len(fields), *fields, 0]
    for (ms, seq), fv, deleted in entries:
        flags = 1 if deleted else 0
        same = fv[0::2] == fields
        if same:
            flags |= 2
            els += [flags, ms - master[0], seq - master[1], *fv[1::2], len(fields) + 3]
        else:
            els += [flags, ms - master[0], seq - master[1], len(fv) // 2, *fv,
                    len(fv) + 4]
    return lp.lp_encode(els)


def stream_v1_body() -> bytes:
    node = stream_node((1, 0), [b"f"], [((1, 0), [b"f", b"a"], False),
                                         ((1, 5), [b"g", b"b", b"h", b"c"], False),
                                         ((2, 0), [b"f", b"dead"], True),
                                         ((3, 1), [b"f", b"x"], False)])
    group = (S(b"grp") + L(1) + L(5)  # last delivered 1-5
             + L(2) + struct.pack(">QQ", 1, 0) + struct.pack("<q", NOW - 10) + L(1)
             + struct.pack(">QQ", 1, 5) + struct.pack("<q", NOW - 5) + L(3)
             + L(1) + S(b"alice") + struct.pack("<q", NOW - 1) + L(2)
             + struct.pack(">QQ", 1, 0) + struct.pack(">QQ", 1, 5))
    return (b"\x0f" + S(b"st") + L(1) + S(struct.pack(">QQ", 1, 0)) + S(node)
            + L(3) + L(3) + L(1) + L(1) + group)


def test_stream_v1_with_group():
    srv = load(rdb_file(9, stream_v1_body()))
    s = srv.dbs[0].data[b"st"]
    assert [(i >> 64, i & 0xFFFF, list(fv)) for i, fv in s.entries()] == [
        (1, 0, [b"f", b"a"]), (1, 5, [b"g", b"b", b"h", b"c"]), (3, 1, [b"f", b"x"])]
    assert len(s) == 3 and s.last_id == 3 << 64 | 1 and s.entries_added == 3
    g = s.group(b"grp")
    assert g.last_id == 1 << 64 | 5
    assert g.entries_read == -1  # not first nor last: unknown, as Redis estimates
    alice = g.consumers[b"alice"]
    assert alice.seen_time == NOW - 1 and list(alice.pel) == [1 << 64, 1 << 64 | 5]
    assert g.pel[1 << 64 | 5].delivery_count == 3 and g.pel[1 << 64].consumer is alice


# -- Redis 7.2 and 7.4 additions -------------------------------------------------------------------


def test_fixture_codecrafters_empty_v11():
    with open(os.path.join(FIXTURES, "empty-v11.rdb"), "rb") as f:
        data = f.read()
    events = list(rdb.parse(data))
    assert events[0] == ("version", 11)
    assert ("aux", b"redis-ver", b"7.2.0") in events
    assert events[-1] == ("eof", "ok")
    assert values(data) == {}


def test_fixture_v11_keys():
    with open(os.path.join(FIXTURES, "keys-v11.rdb"), "rb") as f:
        data = f.read()
    srv = load(data)  # NOW is 2023: the 2020 key is expired, the 2032 ones are not
    db = srv.dbs[0]
    assert db.data == {b"foo": b"bar", b"baz": b"qux", b"later": b"v"}
    assert db.expires == {b"baz": 1956528000000, b"later": 1956528000000}
    stats = rdb.load_into(Server(Config(), clock=ManualClock(NOW / 1000)), data)
    assert stats.keys_expired == 1 and stats.keys_loaded == 3


def test_fixture_v12_header_and_opcodes():
    with open(os.path.join(FIXTURES, "types-v12.rdb"), "rb") as f:
        data = f.read()
    kinds = [e[0] for e in rdb.parse(data)]
    assert kinds.count("function") == 1 and kinds[-1] == "eof"
    srv = Server(Config(), clock=ManualClock(NOW / 1000))
    stats = rdb.load_into(srv, data)
    db = srv.dbs[0]
    assert stats.version == 12 and stats.functions == 1
    assert db.data[b"str"] == b"v"
    # Hash field TTLs (7.4) are dropped; fields whose TTL has passed are gone.
    assert db.data[b"hlpex"] == {b"f1": b"v1", b"f2": b"v2"}
    assert db.data[b"hmeta"] == {b"a": b"1", b"b": b"2"}
    assert stats.hfe_expired == 2 and stats.hfe_ttls_dropped == 2
    assert db.data[b"setlp"] == {b"m1", b"m2", b"7"}
    s = db.data[b"stream3"]
    assert [list(fv) for _, fv in s.entries()] == [[b"f", b"1"], [b"f", b"2"]]
    cons = s.group(b"g").consumers[b"c"]
    assert cons.seen_time == NOW - 100 and list(cons.pel) == [1 << 64]


# -- writing: round trips -----------------------------------------------------------------------


def sample_server(clock=None, big: bool = True) -> Server:
    srv = Server(Config(), clock=clock or ManualClock(NOW / 1000))
    c = srv.new_client()

    def x(*args):
        reply = srv.execute(c, [a if isinstance(a, bytes) else str(a).encode() for a in args])
        assert not type(reply).__name__ == "ErrorReply", (args, reply)
        return reply

    x("set", "s", "hello")
    x("set", "i", "-123456789012")
    x("set", "e", "v", "px", 100000)
    x("append", "ba", "bytearray")
    x("rpush", "l", *range(300 if big else 3), b"z" * (5000 if big else 70))
    x("sadd", "si", 1, -2, 2**62)
    x("sadd", "ss", "a", b"\x00")
    x("sadd", "big", *range(1000 if big else 2))
    x("hset", "h", "f", "v", "n", 1)
    x("hset", "hh", *[f"f{i}" for i in range(600 if big else 2) for _ in (0, 1)])
    x("zadd", "z", 1, "a", 2.5, "b", "-inf", "c", 1e100, "d")
    x("zadd", "zz", *[v for i in range(300 if big else 2) for v in (i * 0.25, f"m{i}")])
    x("xadd", "st", "1-1", "a", "1")
    x("xadd", "st", "1-2", "a", "2", "b", "3")
    x("xadd", "st", "5-0", "a", "3")
    x("xdel", "st", "1-2")
    x("xgroup", "create", "st", "g1", "0")
    x("xreadgroup", "group", "g1", "alice", "count", "1", "streams", "st", ">")
    x("xreadgroup", "group", "g1", "bob", "streams", "st", ">")
    x("xgroup", "create", "st", "g2", "$")
    for i in range(1, 300 if big else 3):
        x("xadd", "bigst", f"{i}-0", "f", i)
    x("select", 3)
    x("set", "db3", "x")
    x("pexpire", "db3", 50000)
    return srv


def test_round_trip_every_type():
    srv = sample_server()
    data = rdb.dump_bytes(srv)
    assert data.startswith(b"REDIS0010")
    copy = load(data)
    assert not diff_snapshots(our_snapshot(srv), our_snapshot(copy))
    # and once more: the copy writes what it read
    assert rdb.dump_bytes(copy)[100:] == data[100:] or not diff_snapshots(
        our_snapshot(copy), our_snapshot(load(rdb.dump_bytes(copy))))


def test_written_encodings_follow_config():
    srv = sample_server()
    encs = {}
    for ev in rdb.parse(rdb.dump_bytes(srv)):
        if ev[0] == "key":
            encs[ev[2]] = ev[5]
    assert encs[b"h"] == rdb.T_HASH_LISTPACK and encs[b"hh"] == rdb.T_HASH
    assert encs[b"z"] == rdb.T_ZSET_LISTPACK and encs[b"zz"] == rdb.T_ZSET_2
    assert encs[b"si"] == rdb.T_SET_INTSET and encs[b"ss"] == rdb.T_SET
    assert encs[b"big"] == rdb.T_SET  # over set-max-intset-entries
    assert encs[b"l"] == rdb.T_LIST_QUICKLIST_2 and encs[b"st"] == rdb.T_STREAM_LISTPACKS_2


def test_quicklist_node_sizes():
    cfg = Config()
    cfg.set("list-max-listpack-size", "3", startup=True)
    lim = rdb.Limits(cfg)
    _, parts = rdb.encode_value(deque(b"%d" % i for i in range(10)), lim)
    r = rdb.Reader(b"".join(parts))
    assert r.length() == 4  # 3 + 3 + 3 + 1
    lim.list_size = -1  # 4 KB nodes
    big = deque([b"x" * 1000] * 10)
    _, parts = rdb.encode_value(big, lim)
    assert rdb.Reader(b"".join(parts)).length() == 3  # 4 + 4 + 2, as quicklist packs them
    assert rdb.read_object(rdb.Reader(b"".join(parts)), rdb.T_LIST_QUICKLIST_2,
                           rdb._Ctx(lim, 0, False)) == big


def test_expired_keys_dropped_on_master_kept_on_replica():
    srv = sample_server()
    data = rdb.dump_bytes(srv)
    later = ManualClock(NOW / 1000 + 200)
    master = Server(Config(), clock=later)
    stats = rdb.load_into(master, data)
    assert b"e" not in master.dbs[0].data and b"db3" not in master.dbs[3].data
    assert stats.keys_expired == 2
    replica = Server(Config(), clock=later)
    replica.role = "slave"
    rdb.load_into(replica, data)
    assert replica.dbs[0].expires[b"e"] == NOW + 100000


def test_dump_bytes_checksum_off():
    srv = sample_server()
    srv.config.set("rdbchecksum", "no", startup=True)  # immutable at runtime, as Redis
    data = rdb.dump_bytes(srv)
    assert data[-8:] == bytes(8)
    assert list(rdb.parse(data))[-1] == ("eof", "disabled")


# -- broken files ---------------------------------------------------------------------------------


def test_truncated_files_rejected_cleanly():
    data = rdb.dump_bytes(sample_server(big=False))
    for cut in range(len(data)):
        with pytest.raises(rdb.RDBError):
            list(rdb.parse(data[:cut]))


def test_corrupted_bytes_rejected_cleanly():
    data = rdb.dump_bytes(sample_server(big=False))
    rng = random.Random(3)
    for _ in range(300):
        pos = rng.randrange(9, len(data) - 8)
        bad = bytearray(data)
        bad[pos] ^= 1 << rng.randrange(8)
        with pytest.raises(rdb.RDBError):  # the checksum catches what the structure does not
            list(rdb.parse(bytes(bad)))
    # Without the checksum, structure checks still refuse (or load something): never crash.
    for _ in range(300):
        pos = rng.randrange(9, len(data) - 8)
        bad = bytearray(data)
        bad[pos] = rng.randrange(256)
        try:
            list(rdb.parse(bytes(bad), verify_checksum=False))
        except rdb.RDBError:
            pass


def test_bad_headers_and_refusals():
    with pytest.raises(rdb.RDBError, match="Wrong signature"):
        list(rdb.parse(b"RADIS0010\xff" + bytes(8)))
    with pytest.raises(rdb.RDBError, match="Can't handle RDB format version 13"):
        list(rdb.parse(b"REDIS0013\xff" + bytes(8)))
    module_aux = b"\xf7" + L(0x1234567 << 10) + L(2) + L(2) + L(0)
    with pytest.raises(rdb.RDBError, match="AUX module data I can't load"):
        list(rdb.parse(rdb_file(10, module_aux)))
    module_value = b"\x07" + S(b"k") + L(99 << 10) + L(0)
    with pytest.raises(rdb.RDBError, match="module data I can't load") as e:
        list(rdb.parse(rdb_file(10, module_value)))
    assert e.value.key == b"k"
    with pytest.raises(rdb.RDBError, match="checksum"):
        good = rdb_file(10, b"\x00" + S(b"k") + S(b"v"))
        list(rdb.parse(good[:-1] + bytes([good[-1] ^ 1])))
    with pytest.raises(rdb.RDBError, match="Unknown RDB encoding type 8"):
        list(rdb.parse(rdb_file(10, b"\x08" + S(b"k"))))


def test_duplicates_rejected():
    dup_key = b"\x00" + S(b"k") + S(b"v") + b"\x00" + S(b"k") + S(b"w")
    with pytest.raises(rdb.RDBError, match="duplicated key"):
        load(rdb_file(10, dup_key))
    assert values(rdb_file(10, dup_key), allow_dup=True) == {b"k": b"w"}
    for body in (b"\x02" + S(b"s") + L(2) + S(b"a") + S(b"a"),
                 b"\x04" + S(b"h") + L(2) + S(b"f") + S(b"1") + S(b"f") + S(b"2"),
                 b"\x10" + S(b"h") + S(lp.lp_encode([b"f", b"1", b"f", b"2"])),
                 b"\x05" + S(b"z") + L(2) + S(b"m") + bytes(8) + S(b"m") + bytes(8)):
        with pytest.raises(rdb.RDBError, match="Duplicate"):
            load(rdb_file(10, body))
    with pytest.raises(rdb.RDBError, match="NAN"):
        load(rdb_file(10, b"\x05" + S(b"z") + L(1) + S(b"m") + struct.pack("<d", float("nan"))))
    with pytest.raises(rdb.RDBError, match="databases"):
        load(rdb_file(10, b"\xfe" + L(16) + b"\x00" + S(b"k") + S(b"v")))


def test_failed_load_changes_nothing():
    srv = Server(Config())
    srv.dbs[0].data[b"keep"] = b"1"
    body = b"\x00" + S(b"new") + S(b"v") + b"\x00" + S(b"keep") + S(b"2")
    with pytest.raises(rdb.RDBError):
        rdb.load_into(srv, rdb_file(10, body))
    assert srv.dbs[0].data == {b"keep": b"1"}


def test_empty_keys_skipped():
    body = b"\x01" + S(b"empty") + L(0) + b"\x00" + S(b"k") + S(b"v")
    srv = Server(Config())
    stats = rdb.load_into(srv, rdb_file(10, body))
    assert stats.empty_skipped == 1 and srv.dbs[0].data == {b"k": b"v"}


def test_check_reports_contents_and_errors():
    data = rdb.dump_bytes(sample_server())
    ok, lines = rdb.check(data)
    assert ok and any("RDB looks OK" in x for x in lines)
    assert any(x.startswith("[info] db0: keys=") and "stream=2" in x for x in lines)
    assert any("AUX FIELD redis-ver = '7.0.15'" in x for x in lines)
    ok, lines = rdb.check(data[:500])
    assert not ok and any("RDB ERROR DETECTED" in x for x in lines)
    assert any(x.startswith("[offset ") and "Unexpected EOF" in x for x in lines)


def test_stream_value_objects_survive():
    s = sample_server().dbs[0].data[b"st"]
    assert isinstance(s, Stream)
    lim = rdb.Limits()
    back = rdb.load_payload(rdb.dump_payload(s, lim), lim)
    assert [fv for _, fv in back.entries()] == [fv for _, fv in s.entries()]
    assert back.max_deleted_id == s.max_deleted_id == 1 << 64 | 2
    z = ZSet.from_pairs([(b"a", 1.0)], 128, 64)
    assert list(rdb.load_payload(rdb.dump_payload(z, lim), lim)) == [(b"a", 1.0)]

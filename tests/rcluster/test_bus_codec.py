"""The cluster bus codec: round trips, Redis's length rules, and frames of a real Redis 7.0."""

from __future__ import annotations

import struct

import pytest

from trioredis.rcluster import bus
from trioredis.rcluster.slots import bitmap_of, bitmap_slots, key_slot

NAME_A = b"a" * 40
NAME_B = b"b" * 40


def ping(**kw):
    base = dict(type=bus.PING, sender=NAME_A, port=7000, cport=17000, flags=bus.F_MASTER,
                current_epoch=5, config_epoch=3, offset=1234, myslots=bitmap_of(range(0, 100)),
                myip="127.0.0.1")
    base.update(kw)
    return bus.Message(**base)


def test_header_layout_matches_cluster_h():
    raw = bus.encode(ping())
    assert raw[:4] == b"RCmb"
    assert struct.unpack_from(">I", raw, 4)[0] == len(raw) == 2256
    assert struct.unpack_from(">HHHH", raw, 8) == (1, 7000, bus.PING, 0)
    assert struct.unpack_from(">QQQ", raw, 16) == (5, 3, 1234)
    assert raw[40:80] == NAME_A
    assert bitmap_slots(raw[80:80 + 2048]) == list(range(100))
    assert raw[2128:2168] == b"\0" * 40  # slaveof: a master
    assert raw[2168:2177] == b"127.0.0.1"
    assert struct.unpack_from(">HHH", raw, 2246) == (0, 17000, bus.F_MASTER)  # pport cport flags
    assert raw[2252] == bus.CLUSTER_OK
    assert raw[2253] == 0  # no extensions, no EXT_DATA flag (Redis 7.0)
    assert bus.encode(ping(hostname="h"))[2253] == bus.MF_EXT_DATA


def test_ping_round_trip_with_gossip_and_hostname():
    g = [bus.Gossip(NAME_B, 10, 11, "10.0.0.2", 7001, 17001, bus.F_SLAVE | bus.F_PFAIL, 0)]
    m = ping(gossip=g, hostname="host-a.example", slaveof=NAME_B)
    raw = bus.encode(m)
    assert len(raw) == 2256 + 104 + 8 + 16  # hostname + NUL padded to 8
    back = bus.decode(raw)
    assert back.gossip == g and back.count == 1
    assert back.hostname == "host-a.example"
    assert back.slaveof == NAME_B and back.myslots == m.myslots and back.offset == 1234


@pytest.mark.parametrize("m", [
    bus.Message(type=bus.FAIL, sender=NAME_A, about=NAME_B),
    bus.Message(type=bus.PUBLISH, sender=NAME_A, channel=b"ch", message=b"hello"),
    bus.Message(type=bus.PUBLISHSHARD, sender=NAME_A, channel=b"", message=b""),
    bus.Message(type=bus.UPDATE, sender=NAME_A, update_epoch=9, update_name=NAME_B,
                update_slots=bitmap_of([1, 16383])),
    bus.Message(type=bus.MODULE, sender=NAME_A, module_id=77, module_type=3,
                module_payload=b"xyz"),
    bus.Message(type=bus.AUTH_REQUEST, sender=NAME_A, mflags=bytes([bus.MF_FORCEACK, 0, 0])),
    bus.Message(type=bus.AUTH_ACK, sender=NAME_A),
    bus.Message(type=bus.MFSTART, sender=NAME_A),
], ids=lambda m: bus.TYPE_NAMES[m.type])
def test_round_trip_of_each_type(m):
    raw = bus.encode(m)
    assert bus.decode(raw) == bus.decode(bus.encode(bus.decode(raw)))
    back = bus.decode(raw)
    for f in ("type", "about", "channel", "message", "update_epoch", "update_name",
              "update_slots", "module_id", "module_type", "module_payload", "mflags"):
        assert getattr(back, f) == getattr(m, f), f


def test_publish_length_is_exact_as_redis_checks():
    raw = bus.encode(bus.Message(type=bus.PUBLISH, channel=b"c", message=b"m"))
    assert len(raw) == 2256 + 8 + 2
    with pytest.raises(bus.BusError):
        bus.decode(raw[:4] + struct.pack(">I", len(raw) + 1) + raw[8:] + b"\0")


def test_malformed_frames_are_refused():
    raw = bus.encode(ping(gossip=[bus.Gossip(NAME_B)]))
    with pytest.raises(bus.BusError, match="signature"):
        bus.decode(b"XXXX" + raw[4:])
    with pytest.raises(bus.BusError):
        bus.decode(raw[:-1])
    bad = bytearray(raw)
    struct.pack_into(">H", bad, 14, 2)  # count 2 but one section
    with pytest.raises(bus.BusError):
        bus.decode(bytes(bad))
    bad = bytearray(bus.encode(ping(hostname="h")))
    struct.pack_into(">I", bad, 2256, 12)  # extension length not a multiple of 8
    with pytest.raises(bus.BusError):
        bus.decode(bytes(bad))


def test_reader_splits_a_stream_at_any_point():
    frames = [bus.encode(ping(gossip=[bus.Gossip(NAME_B, ip="1.2.3.4")])),
              bus.encode(bus.Message(type=bus.FAIL, about=NAME_B)),
              bus.encode(ping(hostname="x"))]
    stream = b"".join(frames)
    for step in (1, 7, 100, 2256, len(stream)):
        r = bus.BusReader()
        got = []
        for i in range(0, len(stream), step):
            got += r.feed(stream[i:i + step])
        assert [m.type for m in got] == [bus.PING, bus.FAIL, bus.PING]
        assert got[2].hostname == "x"


def test_reader_refuses_a_bad_prefix_before_the_body_arrives():
    with pytest.raises(bus.BusError):
        bus.BusReader().feed(b"RCmb" + struct.pack(">I", 100))
    with pytest.raises(bus.BusError):
        bus.BusReader().feed(b"GET / HTTP/1.1\r\n")


def test_key_slots_as_redis():
    assert key_slot(b"foo") == 12182
    assert key_slot(b"123456789") == 0x31C3 & 0x3FFF
    assert key_slot(b"{user1000}.following") == key_slot(b"{user1000}.followers") == 3443
    assert key_slot(b"foo{}{bar}") == key_slot(b"foo{}{bar}")
    assert key_slot(b"foo{}{bar}") != key_slot(b"bar")  # empty tag: the whole key
    assert key_slot(b"foo{{bar}}zap") == key_slot(b"{bar")
    assert key_slot(b"foo{bar}{zap}") == key_slot(b"bar")


def test_bitmap_ranges_agree_with_the_slot_list():
    import random

    from trioredis.rcluster.slots import bitmap_ranges, ranges

    rnd = random.Random(3)
    for _ in range(200):
        slots = sorted(rnd.sample(range(16384), rnd.choice([0, 1, 5, 300, 9000, 16384])))
        if rnd.random() < 0.3 and slots:
            a = rnd.randrange(16384)
            slots = sorted(set(slots) | set(range(a, min(16384, a + 2000))))
        bm = bitmap_of(slots)
        assert bitmap_ranges(bm) == ranges(bitmap_slots(bm)) == ranges(slots)

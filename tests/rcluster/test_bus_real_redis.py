"""The codec against a real Redis 7.0: frames captured between two redis-server cluster nodes
through a recording proxy decode, and re-encode to the same bytes."""

from __future__ import annotations

import pytest

from trioredis.rcluster import bus
from trioredis.rcluster.slots import bitmap_slots, key_slot

from .busproxy import BusProxy
from .nodes import REDIS_SERVER, RealNode, free_port, start_all, wait_for

pytestmark = pytest.mark.skipif(REDIS_SERVER is None, reason="redis-server is not installed")


def _known(node: RealNode, other_id: str) -> bool:
    text = node.client.execute_command("CLUSTER", "NODES").decode()
    return any(line.startswith(other_id) and "handshake" not in line and "connected" in line
               for line in text.splitlines())


@pytest.fixture(scope="module")
def captured():
    a, c = start_all(lambda: RealNode("--cluster-announce-hostname", "host-a.test"), RealNode)
    # b announces the proxy as its bus port, so every link towards b passes the proxy.
    b_port = free_port()
    proxy = BusProxy(free_port(), ("127.0.0.1", b_port + 10000))
    pport = proxy.listener.getsockname()[1]
    b = None
    try:
        b = RealNode("--cluster-announce-bus-port", str(pport), port=b_port)
        a.client.execute_command("CLUSTER", "ADDSLOTSRANGE", 0, 99)
        a.client.execute_command("CLUSTER", "MEET", "127.0.0.1", c.port)
        wait_for(lambda: _known(a, c.id) and _known(c, a.id), 15, "a and c to meet")
        a.client.execute_command("CLUSTER", "MEET", "127.0.0.1", b.port, pport)
        wait_for(lambda: _known(a, b.id), 15, "a to know b")

        def enough():
            sent, received = proxy.snapshot()
            ups = [m for s in sent for m in bus.BusReader().feed(s)]
            downs = [m for r in received for m in bus.BusReader().feed(r)]
            about_c = any(g.name.decode() == cid for m in ups if m.sender.decode() == aid
                          for g in m.gossip)
            if len(ups) >= 2 and len(downs) >= 2 and about_c:
                return ups, downs, sent, received
            return None

        aid, cid = a.id, c.id
        ups, downs, sent, received = wait_for(enough, 30, "frames each way, gossip about c")
        yield a, b, c, ups, downs, sent, received
    finally:
        proxy.close()
        for n in (a, b, c):
            if n is not None:
                n.stop()


def test_real_redis_frames_decode(captured):
    a, b, c, ups, downs, _, _ = captured
    pport = b.client.config_get("cluster-announce-bus-port")["cluster-announce-bus-port"]
    pport = int(pport)
    meet = ups[0]
    assert meet.type == bus.MEET
    assert meet.sender.decode() == a.id
    assert meet.port == a.port and meet.cport == a.port + 10000
    assert meet.flags & bus.F_MASTER and meet.slaveof == bus.NULL_NAME
    assert bitmap_slots(meet.myslots) == list(range(100))
    assert meet.hostname == "host-a.test"
    assert meet.mflags[0] & bus.MF_EXT_DATA
    g = next(g for m in ups if m.sender.decode() == a.id for g in m.gossip
             if g.name.decode() == c.id)
    assert (g.ip, g.port, g.cport) == ("127.0.0.1", c.port, c.port + 10000)
    assert g.flags & bus.F_MASTER
    pong = downs[0]
    assert pong.type == bus.PONG
    assert pong.sender.decode() == b.id and pong.port == b.port and pong.cport == pport
    assert pong.hostname is None
    assert all(m.type in (bus.PING, bus.MEET) for m in ups)


def test_real_redis_frames_re_encode_byte_for_byte(captured):
    *_, sent, received = captured
    for stream in sent + received:
        frames, pos = [], 0
        while pos < len(stream):
            n = int.from_bytes(stream[pos + 4:pos + 8], "big")
            if pos + n > len(stream):
                break
            frames.append(stream[pos:pos + n])
            pos += n
        assert frames
        for f in frames:
            assert bus.encode(bus.decode(f)) == f


def test_key_slots_agree_with_real_redis(captured):
    a = captured[0]
    keys = [b"", b"foo", b"{a}b", b"a{}b", b"{}{b}", b"{{x}}", b"\xff\x00\x01", b"x" * 300]
    keys += [b"key:%d" % i for i in range(200)]
    for k in keys:
        assert a.client.execute_command("CLUSTER", "KEYSLOT", k) == key_slot(k), k

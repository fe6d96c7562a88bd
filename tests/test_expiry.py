"""Expiry: invisible at once (lazy), reclaimed by the active cycle, time from one clock."""

from __future__ import annotations

from trioredis.core import ManualClock, Server
from trioredis.server import ServerRunner


def make():
    clock = ManualClock()
    srv = Server(clock=clock)
    c = srv.new_client()
    return srv, c, clock


def test_expired_key_is_invisible_at_once():
    srv, c, clock = make()
    srv.execute(c, [b"SET", b"k", b"v", b"PX", b"100"])
    assert srv.execute(c, [b"GET", b"k"]) == b"v"
    clock.advance(0.1)
    assert srv.execute(c, [b"GET", b"k"]) is None
    assert srv.execute(c, [b"EXISTS", b"k"]) == 0
    assert srv.stat_expired_keys == 1


def test_active_cycle_reclaims_keys_nobody_reads():
    srv, c, clock = make()
    db = srv.dbs[0]
    n = 200_000
    for i in range(n):
        db.store(b"k%d" % i, b"v")
        db.set_expire(b"k%d" % i, srv.now_ms() + 1000 + i % 1000)
    db.store(b"keep", b"v")
    clock.advance(3)
    runner = ServerRunner.__new__(ServerRunner)
    runner.server = srv
    cycles = 0
    while len(db.data) > 1:
        runner.active_expire()
        cycles += 1
        assert cycles < 10_000
    assert list(db.data) == [b"keep"]
    assert not db.expires
    assert len(db.expire_heap) == 0
    assert srv.stat_expired_keys == n


def test_replica_hides_but_keeps_expired_keys():
    srv, c, clock = make()
    srv.execute(c, [b"SET", b"k", b"v", b"PX", b"10"])
    srv.role = "slave"
    clock.advance(1)
    assert srv.dbs[0].lookup(b"k") is None  # hidden from reads
    assert b"k" in srv.dbs[0].data  # kept until the master's DEL arrives


def test_heap_stays_bounded_when_ttls_are_rewritten():
    srv, c, clock = make()
    db = srv.dbs[0]
    db.store(b"k", b"v")
    for i in range(10_000):
        db.set_expire(b"k", srv.now_ms() + 10_000 + i)
    assert len(db.expire_heap) < 2 * len(db.expires) + 1100

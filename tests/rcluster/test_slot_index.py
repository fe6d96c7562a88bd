"""Keys by slot: kept exactly in cluster mode whatever path changes the keyspace; absent (and
the command path unchanged) otherwise."""

from __future__ import annotations

import random

from trioredis.client import Client
from trioredis.config import Config
from trioredis.core import ManualClock, Server
from trioredis.rcluster.slots import SlotIndex, key_slot


def make_server(tmp_path, cluster: bool) -> Server:
    cfg = Config()
    cfg.set("dir", str(tmp_path), startup=True)
    cfg.set("save", "", startup=True)
    if cluster:
        cfg.set("cluster-enabled", "yes", startup=True)
    return Server(cfg, clock=ManualClock())


def run(srv: Server, c: Client, *args):
    return srv.execute(c, [a if isinstance(a, bytes) else str(a).encode() for a in args])


def recount(db) -> dict[int, set]:
    out: dict[int, set] = {}
    for k in db.data:
        out.setdefault(key_slot(k), set()).add(k)
    return out


def indexed(db) -> dict[int, set]:
    idx = db.slot_index.current(db.data)
    return {s: set(keys) for s, keys in idx.by_slot.items()}


def test_no_cluster_means_no_index_and_no_route(tmp_path):
    srv = make_server(tmp_path, cluster=False)
    assert srv.dbs[0].slot_index is None
    assert srv.cluster_route is None and srv.rcluster is None
    assert srv.guard is False  # the plain command path takes no checks for Redis Cluster
    assert not (tmp_path / "nodes.conf").exists()


def test_index_follows_every_keyspace_change(tmp_path):
    srv = make_server(tmp_path, cluster=True)
    srv.rcluster.state.add_slot(srv.rcluster.state.myself, 0)  # routing aside: own all slots
    for s in range(16384):
        srv.rcluster.state.add_slot(srv.rcluster.state.myself, s)
    srv.rcluster.state.state_ok = True
    c = srv.new_client()
    db = srv.dbs[0]
    rnd = random.Random(7)
    keys = [b"k%d" % i for i in range(60)] + [b"{tag}%d" % i for i in range(20)]
    for _ in range(2000):
        k = rnd.choice(keys)
        op = rnd.randrange(9)
        if op == 0:
            run(srv, c, "SET", k, "v")
        elif op == 1:
            run(srv, c, "DEL", k)
        elif op == 2:
            run(srv, c, "RPUSH", k, "x")
        elif op == 3:
            run(srv, c, "RENAME", k, rnd.choice(keys))
        elif op == 4:
            run(srv, c, "PEXPIRE", k, 5)
        elif op == 5:
            srv.clock.advance(0.01)
            run(srv, c, "GET", k)  # expired on access
        elif op == 6:
            run(srv, c, "SADD", k, "m")
        elif op == 7:
            run(srv, c, "SPOP", k)
        else:
            run(srv, c, "COPY", k, rnd.choice(keys), "REPLACE")
        assert db.slot_index.total == len(db.data)
    assert indexed(db) == recount(db)
    run(srv, c, "FLUSHALL")
    assert indexed(db) == {} and db.slot_index.total == 0


def test_index_rebuilds_when_the_dict_is_replaced_or_filled_behind_its_back(tmp_path):
    srv = make_server(tmp_path, cluster=True)
    db = srv.dbs[0]
    db.data = {b"a": b"1", b"b": b"2"}  # as an RDB load into an empty db does
    assert indexed(db) == recount(db)
    db.data[b"c"] = b"3"  # as an RDB load into a non-empty db does
    assert indexed(db) == recount(db)


def test_slot_index_counts_and_lists():
    idx = SlotIndex({})
    for k in (b"{x}1", b"{x}2", b"{x}3", b"y"):
        idx.add(k)
    idx.add(b"{x}1")
    s = key_slot(b"x")
    assert idx.count(s) == 3 and idx.keys(s, 2) == [b"{x}1", b"{x}2"]
    idx.discard(b"{x}2")
    idx.discard(b"nope")
    assert idx.keys(s, 10) == [b"{x}1", b"{x}3"] and idx.total == 3

"""The read-only ``info`` subscription (the dashboard's server view): snapshots now and every
interval, what they hold, interval changes, unsubscribing, auth, and a replica's topology."""

from __future__ import annotations

import pytest
import trio

from trioredis.gateway import info_view

from .gw import hello, recv, request, running, send


async def test_info_snapshots_follow_the_server():
    async with running(maxmemory="64mb") as gw, gw.connect() as ws:
        await hello(ws)
        gw.cmd("CONFIG", "RESETSTAT")  # command counters are per process, shared by servers
        for i in range(5):
            gw.cmd("SET", f"k{i}", "v")
        gw.cmd("GET", "k1")
        gw.cmd("GET", "missing")
        first = await request(ws, {"op": "info", "interval": 250, "ref": "srv"})
        assert first["op"] == "info" and first["ref"] == "srv"
        assert first["maxmemory"] == 64 * 1024 * 1024
        assert 0 < first["used_memory"] < first["maxmemory"]
        assert first["keys"] == 5
        assert first["keyspace_hits"] == 1 and first["keyspace_misses"] == 1
        assert first["hit_ratio"] == 0.5
        calls = {c["name"]: c["calls"] for c in first["commands"]}
        assert calls["set"] == 5 and calls["get"] == 2, calls
        assert first["commands"][0]["name"] == "set"  # by calls, most first
        assert first["replication"] == {"role": "master", "offset": 0, "replicas": []}
        assert first["ha"] is None
        # the next snapshot comes by itself, about 250 ms later, and sees new work
        gw.cmd("SET", "k9", "v")
        t0 = trio.current_time()
        second = await recv(ws, timeout=3)
        assert second["op"] == "info" and 0.15 < trio.current_time() - t0 < 2
        assert second["keys"] == 6
        assert {c["name"]: c["calls"] for c in second["commands"]}["set"] == 6
        # read-only: the subscription ran no command of its own
        assert second["commands_processed"] == first["commands_processed"] + 1
        # unsubscribed: no more snapshots
        ack = await request(ws, {"op": "unsubscribe-info"})
        while ack["op"] == "info":  # one may have been on its way
            ack = await recv(ws)
        assert ack == {"op": "unsubscribed-info", "ok": True}
        with trio.move_on_after(0.6) as scope:
            await recv(ws)
        assert scope.cancelled_caught


async def test_info_interval_is_checked_and_clamped():
    async with running() as gw, gw.connect() as ws:
        await hello(ws)
        err = await request(ws, {"op": "info", "interval": "fast"})
        assert err["op"] == "error" and err["code"] == "BADREQUEST"
        assert info_view.parse_interval({"interval": 1}) == info_view.MIN_INTERVAL
        assert info_view.parse_interval({"interval": 10**9}) == info_view.MAX_INTERVAL
        assert info_view.parse_interval({}) == info_view.DEFAULT_INTERVAL


async def test_info_needs_the_token():
    async with running(requirepass="pw") as gw, gw.connect() as ws:
        assert (await hello(ws))["auth"] == "required"
        await send(ws, {"op": "info"})
        err = await recv(ws)
        assert err["code"] == "NOAUTH"


async def test_info_shows_a_replica_with_its_offset_and_lag():
    port = 37101  # this project's test range for the gateway tests
    async with running(port=port) as master, running(replicaof=f"127.0.0.1 {port}") as rep:
        with trio.fail_after(20):
            while rep.cmd("INFO", "replication").find(b"master_link_status:up") < 0:
                await trio.sleep(0.02)
        for i in range(10):
            master.cmd("SET", f"k{i}", "x" * 100)
        async with master.connect() as ws, rep.connect() as rws:
            await hello(ws)
            await hello(rws)
            await send(ws, {"op": "info", "interval": 250})
            with trio.fail_after(10):  # snapshots until the replica has acknowledged it all
                while True:
                    snap = await recv(ws)
                    replicas = snap["replication"]["replicas"]
                    if replicas and replicas[0]["behind"] == 0:
                        break
            assert snap["replication"]["role"] == "master"
            assert snap["replication"]["offset"] > 1000
            (r,) = replicas
            assert r["state"] == "online" and r["offset"] == snap["replication"]["offset"]
            assert r["lag_s"] <= 2
            rs = await request(rws, {"op": "info"})
            assert rs["replication"]["role"] == "slave"
            assert rs["replication"]["master"]["addr"] == f"127.0.0.1:{port}"
            assert rs["replication"]["master"]["link"] == "up"
            assert rs["keys"] == 10


@pytest.mark.slow
def test_snapshot_shows_the_ha_group(trioredis_ha_group):
    """The topology part for an HA group: term, who leads, every member with its offset."""
    leader, *followers = trioredis_ha_group
    snap = leader.call(info_view.snapshot, leader.server)
    ha = snap["ha"]
    assert ha["role"] == "leader" and ha["state"] == "ok" and ha["term"] >= 1
    assert ha["leader"] == f"127.0.0.1:{leader.port}"
    assert len(ha["members"]) == 3
    assert [m["role"] for m in ha["members"]].count("leader") == 1
    assert {m["addr"] for m in ha["members"]} == {f"127.0.0.1:{n.port}"
                                                  for n in trioredis_ha_group}
    assert [m["myself"] for m in ha["members"]].count(True) == 1
    for f in followers:
        fs = f.call(info_view.snapshot, f.server)
        assert fs["ha"]["term"] == ha["term"] and fs["ha"]["role"] == "follower"
        assert fs["ha"]["leader"] == ha["leader"]
        assert fs["replication"]["role"] == "slave"
        assert fs["replication"]["master"]["link"] == "up"

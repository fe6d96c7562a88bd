"""Sentinel discovery on group members: redis-py's Sentinel client finds the leader, reads from
followers, and keeps writing through a failover with only transient errors."""

from __future__ import annotations

import time

import redis
from redis.sentinel import MasterNotFoundError, Sentinel

from .harness import NODE_TIMEOUT_MS, Group, wait_until


def test_redis_py_sentinel_writes_through_failover():
    with Group(3) as group:
        leader = group.wait_leader()
        sentinel = Sentinel([("127.0.0.1", n.port) for n in group.nodes], socket_timeout=1,
                            min_other_sentinels=1, sentinel_kwargs={"socket_timeout": 1})
        assert sentinel.discover_master("trioredis") == ("127.0.0.1", leader.port)
        followers = sorted(n.port for n in group.nodes if n is not leader)
        assert sorted(p for _, p in sentinel.discover_slaves("trioredis")) == followers
        master = sentinel.master_for("trioredis", socket_timeout=1, protocol=2)
        master.set("x", "1")
        replica = sentinel.slave_for("trioredis", socket_timeout=1, protocol=2)
        wait_until(lambda: replica.get("x") == b"1", 10, "a read from a follower")

        # The raw replies follow Sentinel's shape.
        c = group.nodes[1].client()
        state = c.sentinel_master("trioredis")
        assert state["is_master"] and not state["is_sdown"] and state["port"] == leader.port
        assert state["num-other-sentinels"] == 2 and state["quorum"] == 2
        assert c.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", "trioredis") == [
            b"127.0.0.1", str(leader.port).encode()]
        assert c.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", "nosuch") is None
        assert len(c.sentinel_sentinels("trioredis")) == 2
        try:
            c.sentinel_master("nosuch")
            raise AssertionError("expected an error")
        except redis.ResponseError as e:
            assert "No such master with that name" in str(e)

        leader.kill()
        t0 = time.monotonic()
        errors = written = 0
        deadline = t0 + NODE_TIMEOUT_MS / 1000 + 15
        while written < 50:
            assert time.monotonic() < deadline, f"{written} writes after the kill ({errors} errors)"
            try:
                master.set(f"after{written}", written)
                written += 1
            except (redis.ConnectionError, redis.TimeoutError, redis.ReadOnlyError,
                    MasterNotFoundError):
                errors += 1
                time.sleep(0.05)
        new = group.wait_leader()
        assert new is not leader
        assert sentinel.discover_master("trioredis") == ("127.0.0.1", new.port)
        assert new.client().get("after49") == b"49"
        assert new.client().get("x") == b"1"

"""A network partition (through the fault-injecting proxies of harness.Net): the majority side
elects a new leader, the isolated old leader stops taking writes after the node timeout, and
after healing it steps down and resyncs. No two nodes ever lead the same term."""

from __future__ import annotations

import time

import pytest
import redis

from .harness import NODE_TIMEOUT_MS, Group, wait_until

pytestmark = pytest.mark.skipif(
    not __import__("os").path.exists("/proc/net/tcp"), reason="the proxies need Linux /proc")


def refuses_writes(node) -> bool:
    try:
        node.client(timeout=2).set("probe", "x")
    except redis.ResponseError as e:
        assert "Not enough good replicas to write" in str(e), str(e)
        return True
    return False


def test_isolated_leader_is_fenced_and_majority_elects():
    with Group(3, with_net=True) as group:
        old = group.wait_leader()
        others = [n for n in group.nodes if n is not old]
        c = old.client()
        for i in range(100):
            c.set(f"before{i}", i)
        assert c.wait(2, 5000) == 2

        group.net.isolate(old, others)
        t0 = time.monotonic()
        # The old leader refuses writes once it has not reached a majority for the timeout.
        wait_until(lambda: refuses_writes(old), NODE_TIMEOUT_MS / 1000 + 3, "fencing")
        fenced_after = time.monotonic() - t0
        assert fenced_after >= NODE_TIMEOUT_MS / 1000 * 0.8, fenced_after
        # The majority side elects a new leader; the isolated node never does.
        new = group.wait_leader(among=others, timeout=NODE_TIMEOUT_MS / 1000 + 5)
        assert old.role() == "leader" and old.term() == 1  # fenced, still in its old term
        assert new.term() >= 2
        nc = new.client()
        nc.set("during", "1")
        assert nc.wait(1, 5000) == 1
        with pytest.raises(redis.ResponseError, match="Not enough good replicas"):
            c.set("lost", "1")
        # An isolated follower does not elect itself either (checked while cut off).
        time.sleep(NODE_TIMEOUT_MS / 1000)
        assert old.term() == 1

        group.net.heal()
        wait_until(lambda: old.role() == "follower", 10, "the old leader to step down")
        assert group.wait_healthy() is new
        assert old.client().get("during") == b"1"
        assert old.client().get("before99") == b"99"
        group.wait_same_data()
        group.check_terms()


def test_isolated_follower_never_leads_and_rejoins():
    with Group(3, with_net=True) as group:
        leader = group.wait_leader()
        lonely = next(n for n in group.nodes if n is not leader)
        group.net.isolate(lonely, group.nodes)
        time.sleep(NODE_TIMEOUT_MS / 1000 * 3)
        # Its pre-votes fail: no term inflation, no leadership, the leader keeps writing.
        assert lonely.role() != "leader"
        assert lonely.term() == leader.term()
        c = leader.client()
        c.set("k", "v")
        assert c.wait(1, 5000) == 1
        group.net.heal()
        group.wait_healthy()
        assert group.leader() is leader
        group.wait_same_data()
        group.check_terms()

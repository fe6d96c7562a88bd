"""Leader failure under write load: a new leader in time, no WAIT-confirmed write lost, the
killed node rejoins and catches up, and no two nodes ever lead the same term."""

from __future__ import annotations

import threading
import time

import redis

from .harness import NODE_TIMEOUT_MS, Group, wait_until

ELECTION_BUDGET_S = NODE_TIMEOUT_MS / 1000 + 2


class Writer(threading.Thread):
    """SET k<i> i then WAIT <acks> 0, until the connection breaks; remembers what WAIT confirmed."""

    def __init__(self, node, acks: int, prefix: str = "k"):
        super().__init__(daemon=True)
        self.node = node
        self.acks = acks
        self.prefix = prefix
        self.confirmed: list[str] = []
        self.stopping = threading.Event()
        self.error: Exception | None = None

    def run(self) -> None:
        c = self.node.client(timeout=10)
        i = 0
        try:
            while not self.stopping.is_set():
                key = f"{self.prefix}{i}"
                c.set(key, i)
                if c.execute_command("WAIT", self.acks, 0) >= self.acks:
                    self.confirmed.append(key)
                i += 1
        except (redis.RedisError, OSError) as e:
            self.error = e
        finally:
            c.close()

    def stop(self) -> None:
        self.stopping.set()
        self.join(15)


def check_confirmed(node, keys: list[str], prefix: str = "k") -> None:
    c = node.client()
    try:
        for start in range(0, len(keys), 500):
            batch = keys[start:start + 500]
            values = c.mget(batch)
            missing = [k for k, v in zip(batch, values, strict=True) if v != k[len(prefix):].encode()]
            assert not missing, f"{len(missing)} confirmed writes lost, e.g. {missing[:5]}"
    finally:
        c.close()


def kill_leader_under_load(group: Group, acks: int, prefix: str = "k"):
    """Kill the leader while a writer runs; returns (new leader, seconds to it, confirmed,
    the killed node)."""
    leader = group.wait_leader()
    writer = Writer(leader, acks, prefix)
    writer.start()
    wait_until(lambda: len(writer.confirmed) >= 100, 20, "confirmed writes")
    leader.kill()
    t0 = time.monotonic()
    survivors = [n for n in group.nodes if n.alive()]
    new = group.wait_leader(among=survivors, timeout=ELECTION_BUDGET_S + 10)
    elapsed = time.monotonic() - t0
    writer.stop()
    assert writer.error is not None, "the writer should have seen the leader die"
    assert new is not leader
    return new, elapsed, writer.confirmed, leader


def test_three_nodes_leader_killed_under_wait_load():
    with Group(3) as group:
        new, elapsed, confirmed, old = kill_leader_under_load(group, acks=1)
        assert elapsed < ELECTION_BUDGET_S, f"new leader after {elapsed:.2f}s"
        check_confirmed(new, confirmed)
        # The surviving follower switched to the new leader partially (PSYNC2 history).
        info = new.info()
        assert int(info["cluster_current_term"]) >= 2
        wait_until(lambda: int(new.info()["cluster_sync_partial_ok"]) >= 1, 10,
                   "a partial resync of the other follower")
        # Followers refuse writes, serve reads.
        follower = next(n for n in group.nodes if n.alive() and n is not new)
        wait_until(lambda: follower.client().get(confirmed[-1]) is not None, 10, "replication")
        try:
            follower.client().set("x", 1)
            raise AssertionError("a follower accepted a write")
        except redis.ReadOnlyError as e:
            assert "You can't write against a read only replica." in str(e)
        # The killed node comes back as a follower and catches up.
        group.restart(old, "--cluster-join", f"127.0.0.1:{new.port}")
        group.wait_healthy()
        c = new.client()
        c.set("after-restart", "1")
        assert c.wait(2, 5000) == 2
        group.wait_same_data()
        assert old.role() == "follower"
        assert old.client().get("after-restart") == b"1"
        check_confirmed(old, confirmed)
        group.check_terms()


def test_five_nodes_two_successive_leader_kills():
    with Group(5) as group:
        new, elapsed, confirmed, first = kill_leader_under_load(group, acks=2, prefix="a")
        assert elapsed < ELECTION_BUDGET_S, f"new leader after {elapsed:.2f}s"
        check_confirmed(new, confirmed, "a")
        # Kill the new leader too: 3 of 5 remain, still a majority.
        wait_until(lambda: new.client().wait(2, 1000) >= 2, 15, "followers on the new leader")
        newer, elapsed, confirmed2, _ = kill_leader_under_load(group, acks=2, prefix="b")
        assert elapsed < ELECTION_BUDGET_S, f"second new leader after {elapsed:.2f}s"
        check_confirmed(newer, confirmed, "a")
        check_confirmed(newer, confirmed2, "b")
        # The first killed leader, restarted with --cluster-bootstrap by mistake, does not start
        # a second group: its node file says it is a member, so it rejoins through the members
        # it knows.
        group.restart(first, "--cluster-bootstrap", "yes")
        wait_until(lambda: first.info()["cluster_leader_id"] == newer.info()["cluster_node_id"],
                   15, "the bootstrap node to rejoin")
        assert first.role() == "follower" and group.leader() is newer
        wait_until(lambda: first.client().get("b0") == b"0", 15, "the rejoined node to sync")
        group.check_terms()

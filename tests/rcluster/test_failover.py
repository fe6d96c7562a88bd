"""Failover: a replica of a failed master is elected and takes its slots, between trioredis
nodes and across trioredis and real redis-server 7.0 nodes; writes acknowledged with WAIT 1
survive; CLUSTER FAILOVER FORCE / TAKEOVER."""

from __future__ import annotations

import subprocess
import time

import pytest
import redis

from trioredis.rcluster.slots import key_slot

from .nodes import REDIS_CLI, REDIS_SERVER, RealNode, TrioNode, all_agree, start_all, wait_for

pytestmark = pytest.mark.skipif(REDIS_SERVER is None or REDIS_CLI is None,
                                reason="redis-server / redis-cli are not installed")

TIMEOUT = 2000  # cluster-node-timeout of these tests, ms
# Redis promises a replica within about 2 x node timeout; this shared 2-core machine runs many
# test suites at once, so the deadline below leaves room (the time taken is asserted apart).
DEADLINE = 30


def cli(*args, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run([REDIS_CLI, *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


def rows(node) -> dict[str, list[str]]:
    return {r[0]: r for r in node.nodes()}


def slots_of(node, node_id: str) -> list[str]:
    return rows(node)[node_id][8:]


def write_acked(master, keys: list[str]) -> None:
    """SET each key on its master and WAIT for one replica: acknowledged writes."""
    for k in keys:
        master.client.set(k, f"v-{k}")
    assert master.client.execute_command("WAIT", 1, 5000) == 1


def keys_for(node_ids_slots, owner_slots: str, n: int) -> list[str]:
    start, _, end = owner_slots.partition("-")
    lo, hi = int(start), int(end or start)
    out, i = [], 0
    while len(out) < n:
        k = f"key:{i}"
        if lo <= key_slot(k.encode()) <= hi:
            out.append(k)
        i += 1
    return out


def promoted(survivors, old_id: str, replica_id: str, old_slots: list[str]) -> bool:
    for n in survivors:
        view = rows(n)
        if old_id not in view or "fail" not in view[old_id][2]:
            return False
        r = view[replica_id]
        if "master" not in r[2] or r[8:] != old_slots:
            return False
        if not n.state_ok():
            return False
    return True


def test_a_trioredis_replica_takes_over_and_the_old_master_follows_it():
    nodes = start_all(*[lambda: TrioNode(timeout=TIMEOUT)] * 6)
    try:
        out = cli("--cluster", "create", *[f"127.0.0.1:{n.port}" for n in nodes],
                  "--cluster-replicas", 1, "--cluster-yes")
        assert out.returncode == 0, out.stdout
        wait_for(lambda: all_agree(nodes) and all(n.state_ok() for n in nodes), 30, "ok")
        victim = nodes[0]
        vid = victim.id
        view = rows(nodes[1])
        replica_id = next(i for i, r in view.items() if r[3] == vid)
        replica = next(n for n in nodes if n.id == replica_id)
        old_slots = view[vid][8:]
        wait_for(lambda: replica.client.info("replication")["master_link_status"] == "up",
                 20, "the replica to sync")
        keys = keys_for(None, old_slots[0], 50)
        write_acked(victim, keys)
        t0 = time.monotonic()
        victim.halt()
        survivors = [n for n in nodes if n is not victim]
        wait_for(lambda: promoted(survivors, vid, replica_id, old_slots), DEADLINE,
                 "the replica to be elected")
        took = time.monotonic() - t0
        assert took < DEADLINE
        for k in keys:
            assert replica.client.get(k) == f"v-{k}".encode()
        assert replica.client.info("replication")["role"] == "master"
        # The old master comes back as a replica of the one that replaced it.
        victim.start()
        wait_for(lambda: rows(victim)[vid][3] == replica_id and all_agree(nodes), 30,
                 "the old master to follow the new one")
        wait_for(lambda: victim.client.info("replication")["master_link_status"] == "up",
                 30, "the old master to sync")
        one = redis.Redis(port=victim.port, single_connection_client=True, socket_timeout=10)
        try:  # a replica serves reads of its master's slots to a READONLY connection
            with pytest.raises(redis.exceptions.MovedError):
                one.get(keys[0])
            assert one.execute_command("READONLY")
            assert one.get(keys[0]) == f"v-{keys[0]}".encode()
            with pytest.raises(redis.exceptions.MovedError):
                one.set(keys[0], "no")
        finally:
            one.close()
    finally:
        for n in nodes:
            n.stop()


def manual_failover(replica, master, nodes, mode=()):
    """CLUSTER FAILOVER [mode] on ``replica``: it ends a master with ``master``'s slots and
    ``master`` its replica, in every node's view."""
    old_slots = slots_of(nodes[0], master.id)
    assert replica.client.execute_command("CLUSTER", "FAILOVER", *mode) == b"OK"
    wait_for(lambda: all(slots_of(n, replica.id) == old_slots
                         and rows(n)[master.id][3] == replica.id for n in nodes), DEADLINE,
             f"CLUSTER FAILOVER {' '.join(mode)} on the {replica.kind} replica")


def test_failover_force_and_takeover():
    nodes = start_all(*[lambda: TrioNode(timeout=TIMEOUT)] * 4)
    try:
        masters, spare = nodes[:3], nodes[3]
        out = cli("--cluster", "create", *[f"127.0.0.1:{n.port}" for n in masters],
                  "--cluster-yes")
        assert out.returncode == 0, out.stdout
        out = cli("--cluster", "add-node", f"127.0.0.1:{spare.port}",
                  f"127.0.0.1:{masters[0].port}", "--cluster-slave", "--cluster-master-id",
                  masters[0].id)
        assert out.returncode == 0, out.stdout
        wait_for(lambda: all_agree(nodes) and all(n.state_ok() for n in nodes), 30, "ok")
        with pytest.raises(redis.ResponseError, match="^You should send CLUSTER FAILOVER "
                                                     "to a replica$"):
            masters[0].client.execute_command("CLUSTER", "FAILOVER", "FORCE")
        wait_for(lambda: spare.client.info("replication")["master_link_status"] == "up",
                 20, "the replica to sync")
        keys = keys_for(None, slots_of(masters[1], masters[0].id)[0], 20)
        write_acked(masters[0], keys)
        # Plain: the master pauses its writers, the replica catches up, then is elected.
        manual_failover(spare, masters[0], nodes)
        assert all(spare.client.get(k) == f"v-{k}".encode() for k in keys)
        assert masters[0].client.info("replication")["role"] == "slave"
        # A vote without the master's agreement (masters vote once per 2 x node timeout for
        # the replicas of one master: this is a vote about another master, spare).
        manual_failover(masters[0], spare, nodes, ("FORCE",))
        manual_failover(spare, masters[0], nodes, ("TAKEOVER",))  # no vote at all
    finally:
        for n in nodes:
            n.stop()


def test_mixed_cluster_fails_over_both_ways():
    """Real and trioredis masters, each with a replica of the other kind."""
    def real():
        return RealNode(timeout=TIMEOUT)

    def trio():
        return TrioNode(timeout=TIMEOUT)

    nodes = start_all(real, trio, real, trio, real, trio)
    r1, t1, r2, t_rep, r_rep, t_rep2 = nodes
    try:
        out = cli("--cluster", "create", *[f"127.0.0.1:{n.port}" for n in (r1, t1, r2)],
                  "--cluster-yes")
        assert out.returncode == 0, out.stdout
        for rep, master in ((t_rep, r1), (r_rep, t1), (t_rep2, r2)):
            out = cli("--cluster", "add-node", f"127.0.0.1:{rep.port}", f"127.0.0.1:{r1.port}",
                      "--cluster-slave", "--cluster-master-id", master.id)
            assert out.returncode == 0, out.stdout + out.stderr
        wait_for(lambda: all_agree(nodes) and all(n.state_ok() for n in nodes), 40, "ok")
        check = cli("--cluster", "check", f"127.0.0.1:{t1.port}")
        assert check.returncode == 0 and "[OK] All 16384 slots covered." in check.stdout
        for rep in (t_rep, r_rep, t_rep2):
            wait_for(lambda rep=rep: rep.client.info("replication")["master_link_status"]
                     == "up", 30, "replicas to sync")
        # Manual failovers across kinds: a real replica asks a trioredis master to pause
        # (MFSTART), then the trioredis node, now a replica of a real master, asks it back.
        manual_failover(r_rep, t1, nodes)
        wait_for(lambda: t1.client.info("replication")["master_link_status"] == "up", 30,
                 "the trioredis node to replicate the real one")
        manual_failover(t1, r_rep, nodes)
        wait_for(lambda: r_rep.client.info("replication")["master_link_status"] == "up", 30,
                 "the real node to replicate the trioredis one again")
        survivors = list(nodes)
        for victim, replica in ((r1, t_rep), (t1, r_rep)):  # real -> trio, trio -> real
            vid, rid = victim.id, replica.id
            old_slots = slots_of(survivors[-1], vid)
            keys = keys_for(None, old_slots[0], 30)
            write_acked(victim, keys)
            victim.halt()
            survivors.remove(victim)
            wait_for(lambda vid=vid, rid=rid, old_slots=old_slots:
                     promoted(survivors, vid, rid, old_slots), DEADLINE,
                     f"{replica.kind} replica to replace the {victim.kind} master")
            for k in keys:
                assert replica.client.get(k) == f"v-{k}".encode(), (replica.kind, k)
    finally:
        for n in nodes:
            n.stop()


def test_a_replica_migrates_to_an_orphaned_master():
    nodes = start_all(*[lambda: TrioNode(timeout=TIMEOUT)] * 5)
    a, b, a1, a2, b1 = nodes
    try:
        a.client.execute_command("CLUSTER", "ADDSLOTSRANGE", 0, 8191)
        b.client.execute_command("CLUSTER", "ADDSLOTSRANGE", 8192, 16383)
        for n in nodes[1:]:
            a.client.execute_command("CLUSTER", "MEET", "127.0.0.1", n.port)
        wait_for(lambda: all_agree(nodes), 30, "five nodes to meet")
        for rep, master in ((a1, a), (a2, a), (b1, b)):
            rep.client.execute_command("CLUSTER", "REPLICATE", master.id)
        wait_for(lambda: all_agree(nodes) and all(n.state_ok() for n in nodes), 30, "ok")
        b1_id = b1.id
        b1.halt()  # b has no working replica now; a has two
        survivors = [a, b, a1, a2]
        mover = min((a1, a2), key=lambda n: n.id)  # the smallest name moves
        wait_for(lambda: all(rows(n)[mover.id][3] == b.id for n in survivors)
                 and "fail" in rows(a)[b1_id][2], DEADLINE, "a replica of a to move to b")
        stayer = a2 if mover is a1 else a1
        assert rows(b)[stayer.id][3] == a.id
        wait_for(lambda: mover.client.info("replication")["master_port"] == b.port, 10,
                 "the mover to replicate b")
    finally:
        for n in nodes:
            n.stop()

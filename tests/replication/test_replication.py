"""Replication between trioredis nodes: sync, propagation, WAIT, partial and full resync."""

from __future__ import annotations

import random
import time

import pytest
import redis

from ..helpers import ThreadedServer


def wait_until(fn, timeout: float = 10.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def client(port: int) -> redis.Redis:
    return redis.Redis(port=port, protocol=2, socket_timeout=15)


def replica_of(master: ThreadedServer, **config) -> ThreadedServer:
    s = ThreadedServer(replicaof=f"127.0.0.1 {master.port}", **config).start()
    return s


def linked(port: int) -> bool:
    info = client(port).info("replication")
    return info.get("master_link_status") == "up"


def digest(port: int) -> bytes:
    return client(port).execute_command("DEBUG", "DIGEST")


@pytest.fixture
def master():
    with ThreadedServer(enable_debug_command="yes") as m:
        yield m


def test_replica_syncs_and_follows(master):
    m = client(master.port)
    m.set("before", "1")
    m.rpush("list", "a", "b")
    rep = replica_of(master, enable_debug_command="yes")
    try:
        wait_until(lambda: linked(rep.port), what="link up")
        r = client(rep.port)
        assert r.get("before") == b"1"
        m.set("after", "2")
        m.hset("h", mapping={"f": "v"})
        assert m.wait(1, 5000) == 1
        wait_until(lambda: r.get("after") == b"2", what="propagation")
        assert r.hgetall("h") == {b"f": b"v"}
        wait_until(lambda: digest(rep.port) == digest(master.port), what="digests equal")
        info = r.info("replication")
        assert info["role"] == "slave"
        assert info["master_port"] == master.port
        minfo = m.info("replication")
        assert minfo["connected_slaves"] == 1
        assert minfo["slave0"]["state"] == "online"
        assert r.execute_command("ROLE")[0] == b"slave"
        role = m.execute_command("ROLE")
        assert role[0] == b"master" and len(role[2]) == 1
    finally:
        rep.stop()


def test_replica_is_read_only(master):
    rep = replica_of(master)
    try:
        wait_until(lambda: linked(rep.port))
        with pytest.raises(redis.ReadOnlyError, match="You can.t write against a read only replica"):
            client(rep.port).set("x", "1")
        with pytest.raises(redis.ResponseError, match="WAIT cannot be used with replica"):
            client(rep.port).wait(1, 10)
    finally:
        rep.stop()


def _mixed_writes(r: redis.Redis, n: int, seed: int = 7) -> None:
    rnd = random.Random(seed)
    pipe = r.pipeline(transaction=False)
    for i in range(n):
        k = rnd.randrange(200)
        op = rnd.randrange(10)
        if op == 0:
            pipe.set(f"s{k}", i)
        elif op == 1:
            pipe.incr(f"n{k}")
        elif op == 2:
            pipe.rpush(f"l{k}", i)
        elif op == 3:
            pipe.lpop(f"l{k}")
        elif op == 4:
            pipe.hset(f"h{k}", f"f{i % 7}", i)
        elif op == 5:
            pipe.sadd(f"st{k}", i % 50)
        elif op == 6:
            pipe.zadd(f"z{k}", {f"m{i % 30}": i})
        elif op == 7:
            pipe.xadd(f"x{k % 20}", {"i": i})
        elif op == 8:
            pipe.set(f"e{k}", i, ex=100)
        else:
            pipe.delete(f"s{k}")
        if i % 500 == 499:
            pipe.execute()
    pipe.execute()


def test_three_replicas_mixed_writes_wait_and_digest(master):
    reps = [replica_of(master, enable_debug_command="yes") for _ in range(3)]
    try:
        for rep in reps:
            wait_until(lambda rep=rep: linked(rep.port), what="link up")
        m = client(master.port)
        _mixed_writes(m, 10_000)
        assert m.wait(3, 5000) == 3
        want = digest(master.port)
        for rep in reps:
            wait_until(lambda rep=rep: digest(rep.port) == want, what="replica digest")
    finally:
        for rep in reps:
            rep.stop()


def test_wait_returns_at_once_and_counts(master):
    m = client(master.port)
    assert m.wait(0, 0) == 0
    m.set("k", "v")
    assert m.wait(1, 100) == 0  # no replica: the timeout fires, count 0
    rep = replica_of(master)
    try:
        wait_until(lambda: linked(rep.port))
        m.set("k", "v2")
        start = time.monotonic()
        assert m.wait(1, 10_000) == 1
        assert time.monotonic() - start < 5  # returned early, did not wait for the timeout
    finally:
        rep.stop()


def test_partial_resync_after_link_cut(master):
    rep = replica_of(master, enable_debug_command="yes")
    try:
        wait_until(lambda: linked(rep.port))
        m = client(master.port)
        m.set("a", "1")
        assert m.wait(1, 5000) == 1
        full_before = master.call(lambda: master.server.replication.sync_full)
        # Cut the link from the master's side, write while it is down.
        assert m.client_kill_filter(_type="replica") == 1
        m.set("b", "2")
        m.rpush("l", *range(100))
        wait_until(lambda: linked(rep.port), what="reconnect")
        assert m.wait(1, 5000) == 1
        wait_until(lambda: digest(rep.port) == digest(master.port), what="digests equal")
        assert master.call(lambda: master.server.replication.sync_partial_ok) >= 1
        assert master.call(lambda: master.server.replication.sync_full) == full_before
    finally:
        rep.stop()


def test_killing_the_master_client_on_the_replica_resyncs_partially(master):
    """CLIENT KILL <master addr> on the replica (Redis's replication-psync tests do it) breaks
    the link; the replica reconnects and continues with PSYNC."""
    rep = replica_of(master)
    try:
        wait_until(lambda: linked(rep.port))
        m, r = client(master.port), client(rep.port)
        m5 = redis.Redis(port=master.port, db=5, protocol=2)
        m5.set("a", "1")
        assert m.wait(1, 5000) == 1
        assert r.execute_command("CLIENT", "KILL", f"127.0.0.1:{master.port}") == b"OK"
        wait_until(lambda: master.call(lambda: master.server.replication.sync_partial_ok) == 1,
                   what="partial resync")
        m5.set("b", "2")  # the stream continues in db 5 without a new SELECT
        assert m.wait(1, 5000) == 1
        assert redis.Redis(port=rep.port, db=5).mget("a", "b") == [b"1", b"2"]
        assert master.call(lambda: master.server.replication.sync_full) == 1
    finally:
        rep.stop()


def test_full_resync_when_backlog_exceeded():
    with ThreadedServer(enable_debug_command="yes", repl_backlog_size="16384") as master:
        rep = replica_of(master, enable_debug_command="yes")
        try:
            wait_until(lambda: linked(rep.port))
            m = client(master.port)
            m.set("a", "1")
            assert m.wait(1, 5000) == 1
            full_before = master.call(lambda: master.server.replication.sync_full)
            m.client_kill_filter(_type="replica")
            m.set("big", "x" * 100_000)  # more than the backlog holds
            wait_until(lambda: linked(rep.port), what="reconnect")
            assert m.wait(1, 5000) == 1
            wait_until(lambda: digest(rep.port) == digest(master.port))
            assert master.call(lambda: master.server.replication.sync_full) == full_before + 1
        finally:
            rep.stop()


def test_promotion_keeps_data_and_old_replid(master):
    rep = replica_of(master)
    try:
        wait_until(lambda: linked(rep.port))
        m = client(master.port)
        m.set("k", "v")
        assert m.wait(1, 5000) == 1
        old_id = m.info("replication")["master_replid"]
        r = client(rep.port)
        assert r.execute_command("REPLICAOF", "NO", "ONE") == b"OK"
        info = r.info("replication")
        assert info["role"] == "master"
        assert info["master_replid2"] == old_id
        assert info["master_replid"] != old_id
        assert r.get("k") == b"v"
        r.set("new", "1")  # writable now
    finally:
        rep.stop()


def test_propagation_is_deterministic(master):
    rep = replica_of(master, enable_debug_command="yes")
    try:
        wait_until(lambda: linked(rep.port))
        m = client(master.port)
        r = client(rep.port)
        m.set("ttl", "v", ex=100)
        xid = m.xadd("stream", {"f": "v"})
        m.rpush("q", "job")
        assert m.blpop(["q"], 1) == (b"q", b"job")
        m.incrbyfloat("f", "1.5")
        assert m.wait(1, 5000) == 1
        wait_until(lambda: r.exists("stream"))
        assert r.xrange("stream") == [(xid, {b"f": b"v"})]
        assert abs(r.pexpiretime("ttl") - m.pexpiretime("ttl")) == 0
        assert r.exists("q") == 0
        assert r.get("f") == b"1.5"
    finally:
        rep.stop()


def test_min_replicas_to_write_refuses_with_noreplicas():
    with ThreadedServer(min_replicas_to_write="1", min_replicas_max_lag="10") as master:
        m = client(master.port)
        with pytest.raises(redis.ResponseError, match="NOREPLICAS Not enough good replicas to write."):
            m.set("k", "v")
        assert m.get("k") is None  # reads are fine
        rep = replica_of(master)
        try:
            wait_until(lambda: linked(rep.port))
            wait_until(lambda: m.info("replication").get("min_slaves_good_slaves") == 1)
            assert m.set("k", "v") is True
        finally:
            rep.stop()


def test_sub_replica_receives_the_stream_verbatim(master):
    mid = replica_of(master, enable_debug_command="yes")
    try:
        wait_until(lambda: linked(mid.port))
        leaf = replica_of(mid, enable_debug_command="yes")
        try:
            wait_until(lambda: linked(leaf.port))
            m = client(master.port)
            _mixed_writes(m, 2000)
            assert m.wait(1, 5000) == 1
            want = digest(master.port)
            wait_until(lambda: digest(leaf.port) == want, what="leaf digest")
            mo = m.info("replication")["master_repl_offset"]
            wait_until(lambda: client(leaf.port).info("replication")["slave_repl_offset"] == mo,
                       what="leaf offset equals the master's")
        finally:
            leaf.stop()
    finally:
        mid.stop()


def test_replicas_of_a_promoted_replica_continue_partially(master):
    a = replica_of(master, enable_debug_command="yes")
    b = replica_of(master, enable_debug_command="yes")
    try:
        wait_until(lambda: linked(a.port) and linked(b.port))
        m = client(master.port)
        _mixed_writes(m, 500)
        assert m.wait(2, 5000) == 2
        ca, cb = client(a.port), client(b.port)
        ca.execute_command("REPLICAOF", "NO", "ONE")
        cb.execute_command("REPLICAOF", "127.0.0.1", str(a.port))
        wait_until(lambda: linked(b.port), what="b follows a")
        ca.set("after-failover", "1")
        assert ca.wait(1, 5000) == 1
        assert cb.get("after-failover") == b"1"
        assert a.call(lambda: a.server.replication.sync_partial_ok) == 1
        assert a.call(lambda: a.server.replication.sync_full) == 0
    finally:
        a.stop()
        b.stop()


def test_full_sync_snapshot_does_not_stall_other_clients(master):
    """The snapshot for a full sync is written by a forked child while clients are served;
    writes made meanwhile reach the replica after the snapshot."""
    m = client(master.port)
    pipe = m.pipeline(transaction=False)
    for i in range(50_000):
        pipe.set(f"k{i}", "v" * 20)
    pipe.execute()
    rep = replica_of(master, enable_debug_command="yes")
    try:
        worst = 0.0
        n = 0
        while not linked(rep.port):
            t = time.monotonic()
            m.incr("during-sync")
            worst = max(worst, time.monotonic() - t)
            n += 1
        assert n > 0
        assert worst < 0.5
        assert m.wait(1, 10_000) == 1
        wait_until(lambda: digest(rep.port) == digest(master.port), what="digests equal")
    finally:
        rep.stop()


def test_psync_with_a_bad_offset_is_refused_and_logged(master):
    seen = []
    log = master.server.log
    original = log.warning
    master.call(lambda: setattr(log, "warning", lambda m: (seen.append(m), original(m))))
    c = client(master.port)
    with pytest.raises(redis.ResponseError, match="value is not an integer or out of range"):
        c.execute_command("PSYNC", "replicationid", "offset_str")
    assert c.ping()
    assert any(m.startswith("Replica 127.0.0.1:<unknown-replica-port> asks for "
                            "synchronization but with a wrong offset") for m in seen)
    assert master.call(lambda: master.server.replication.sync_full) == 0


def test_writable_replica_write_recreates_a_key_whose_ttl_passed(master):
    """The replica keeps a logically expired key for its master's DEL; its own INCR on it
    (replica-read-only no) starts from a new key without the TTL, as in Redis."""
    rep = replica_of(master)
    try:
        wait_until(lambda: linked(rep.port))
        m, r = client(master.port), client(rep.port)
        m.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "0")
        m.set("key1", 5, px=50)
        m.set("key2", 5, px=50)
        wait_until(lambda: r.dbsize() == 2 and r.exists("key1", "key2") == 0, what="expired")
        r.config_set("replica-read-only", "no")
        assert r.incr("key1") == 1
        assert r.ttl("key1") == -1
        assert r.get("key2") is None and r.dbsize() == 2
    finally:
        rep.stop()

"""Replication ID and offset in RDB files (Redis's rdbPopulateSaveInfo / loadDataFromDisk).

Only a master keeping a backlog, or a replica that has (or had) a master link, saves them; a
restarted replica continues that history with PSYNC, a restarted master keeps it as its second
ID. A replica that never synced must start with ``PSYNC ? -1``: a real Redis master counts
any other request as a failed partial resync (``sync_partial_err``).
"""

from __future__ import annotations

import os
import tempfile

import pytest
import redis

from trioredis.persistence.rdb_reader import parse

from ..helpers import RealRedis, ThreadedServer, free_port, have_real_redis
from .test_replication import wait_until

needs_real = pytest.mark.skipif(not have_real_redis(), reason="redis-server is not installed")


def client(port: int) -> redis.Redis:
    return redis.Redis(port=port, protocol=2, socket_timeout=15)


def rdb_aux(path: str) -> dict[bytes, bytes]:
    with open(path, "rb") as f:
        data = f.read()
    return {ev[1]: ev[2] for ev in parse(data) if ev[0] == "aux"}


def linked(port: int) -> bool:
    return client(port).info("replication").get("master_link_status") == "up"


@pytest.fixture
def datadir():
    d = tempfile.mkdtemp(prefix="trioredis-repl-info-")
    yield d
    import shutil

    shutil.rmtree(d, ignore_errors=True)


def test_lone_master_saves_no_replication_info(datadir):
    with ThreadedServer(dir=datadir) as s:
        c = client(s.port)
        c.set("k", "v")
        assert c.save()
    aux = rdb_aux(os.path.join(datadir, "dump.rdb"))
    assert b"repl-id" not in aux and b"repl-offset" not in aux and b"repl-stream-db" not in aux
    assert aux[b"aof-base"] == b"0"


def test_replica_that_never_synced_saves_none_and_starts_with_psync_unknown(datadir):
    dead = free_port()  # nothing listens there: the replica never completes a sync
    with ThreadedServer(dir=datadir, replicaof=f"127.0.0.1 {dead}") as s:
        c = client(s.port)
        assert c.info("replication")["master_link_status"] == "down"
        assert c.save()
    aux = rdb_aux(os.path.join(datadir, "dump.rdb"))
    assert b"repl-id" not in aux
    with ThreadedServer(dir=datadir, replicaof=f"127.0.0.1 {dead}") as s:
        repl = s.server.replication
        wait_until(lambda: s.call(lambda: repl.link is not None), what="the link task")
        assert s.call(lambda: (repl.link.replid, repl.link.offset)) == ("", -1)


@needs_real
def test_never_synced_replica_asks_a_real_master_for_a_full_sync(datadir):
    dead = free_port()
    with ThreadedServer(dir=datadir, replicaof=f"127.0.0.1 {dead}") as s:
        assert client(s.port).save()
    real = RealRedis()
    try:
        m = client(real.port)
        m.set("a", "1")
        with ThreadedServer(dir=datadir, replicaof=f"127.0.0.1 {real.port}") as s:
            wait_until(lambda: linked(s.port), timeout=20, what="link up")
            stats = m.info("stats")
            # PSYNC ? -1 is a plain full sync; an invented ID would count as a failed PSYNC.
            assert stats["sync_full"] == 1
            assert stats["sync_partial_err"] == 0
            assert client(s.port).get("a") == b"1"
    finally:
        real.stop()


@needs_real
def test_restarted_replica_continues_partially_with_a_real_master(datadir):
    real = RealRedis()
    try:
        m = client(real.port)
        m3 = redis.Redis(port=real.port, db=3, protocol=2, socket_timeout=15)
        m3.set("before", "1")
        with ThreadedServer(dir=datadir, replicaof=f"127.0.0.1 {real.port}") as s:
            r = client(s.port)
            wait_until(lambda: linked(s.port), timeout=20, what="link up")
            m3.set("more", "2")
            offset = m.info("replication")["master_repl_offset"]
            wait_until(lambda: r.info("replication")["slave_repl_offset"] == offset,
                       timeout=10, what="replica caught up")
            assert r.save()
        aux = rdb_aux(os.path.join(datadir, "dump.rdb"))
        assert aux[b"repl-id"] == m.info("replication")["master_replid"].encode()
        assert int(aux[b"repl-offset"]) == offset
        assert aux[b"repl-stream-db"] == b"3"
        # Written while the replica is down: the master's backlog still has it, and the stream
        # continues in db 3 without a new SELECT.
        m3.set("during", "3")
        with ThreadedServer(dir=datadir, replicaof=f"127.0.0.1 {real.port}") as s:
            wait_until(lambda: linked(s.port), timeout=20, what="link up again")
            stats = m.info("stats")
            assert stats["sync_partial_ok"] == 1
            assert stats["sync_full"] == 1
            r3 = redis.Redis(port=s.port, db=3, protocol=2, socket_timeout=15)
            wait_until(lambda: r3.get("during") == b"3", timeout=10, what="missed write")
            assert r3.get("before") == b"1"
            assert client(s.port).dbsize() == 0  # nothing landed in db 0
    finally:
        real.stop()


def _restart_master_case(datadir: str, replica_factory) -> None:
    """A trioredis master with a replica saves its replication info; restarted on the same
    port it keeps the old ID as replid2 and the replica continues partially."""
    port = free_port()
    master = ThreadedServer(dir=datadir, port=port, enable_debug_command="yes").start()
    try:
        m = client(port)
        m.set("k", "v")
        rep_port, stop_replica = replica_factory(port)
        try:
            r = client(rep_port)
            wait_until(lambda: linked(rep_port), timeout=20, what="link up")
            m.set("k2", "v2")
            off = m.info("replication")["master_repl_offset"]
            wait_until(lambda: r.info("replication")["slave_repl_offset"] == off, timeout=10,
                       what="replica caught up")
            old_id = m.info("replication")["master_replid"]
            assert m.save()
            master.stop()
            aux = rdb_aux(os.path.join(datadir, "dump.rdb"))
            assert aux[b"repl-id"] == old_id.encode()
            assert int(aux[b"repl-offset"]) == off
            master = ThreadedServer(dir=datadir, port=port, enable_debug_command="yes").start()
            info = client(port).info("replication")
            assert info["master_replid"] != old_id
            assert info["master_replid2"] == old_id
            assert info["second_repl_offset"] == off + 1
            assert info["master_repl_offset"] == off
            assert info["repl_backlog_active"] == 1
            assert info["repl_backlog_first_byte_offset"] == off + 1
            wait_until(lambda: linked(rep_port), timeout=20, what="link up after restart")
            stats = client(port).info("stats")
            assert stats["sync_partial_ok"] == 1 and stats["sync_full"] == 0
            client(port).set("k3", "v3")
            wait_until(lambda: r.get("k3") == b"v3", timeout=10, what="stream after restart")
        finally:
            stop_replica()
    finally:
        master.stop()


def test_restarted_master_keeps_its_history_for_a_trioredis_replica(datadir):
    def factory(port):
        rep = ThreadedServer(replicaof=f"127.0.0.1 {port}").start()
        return rep.port, rep.stop

    _restart_master_case(datadir, factory)


@needs_real
def test_restarted_master_keeps_its_history_for_a_real_replica(datadir):
    def factory(port):
        rep = RealRedis("--replicaof", "127.0.0.1", str(port))
        return rep.port, rep.stop

    _restart_master_case(datadir, factory)


def test_restarted_master_propagates_keys_expired_while_loading(datadir):
    port = free_port()
    master = ThreadedServer(dir=datadir, port=port, enable_debug_command="yes").start()
    rep = ThreadedServer(replicaof=f"127.0.0.1 {port}").start()
    try:
        m, r = client(port), client(rep.port)
        wait_until(lambda: linked(rep.port), timeout=20, what="link up")
        m.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "0")
        for i in range(10):
            m.set(f"short{i}", "x", px=300)
        m.set("stays", "y")
        off = m.info("replication")["master_repl_offset"]
        wait_until(lambda: r.info("replication")["slave_repl_offset"] == off, timeout=10,
                   what="replica caught up")
        assert m.save()
        master.stop()
        wait_until(lambda: r.pttl("short0") == -2, timeout=5, what="keys logically expired")
        master = ThreadedServer(dir=datadir, port=port, enable_debug_command="yes").start()
        info = client(port).info("replication")
        assert info["master_repl_offset"] == off + info["repl_backlog_histlen"]
        assert info["repl_backlog_histlen"] > 0  # a SELECT and ten DELs
        wait_until(lambda: linked(rep.port), timeout=20, what="link up after restart")
        assert client(port).info("stats")["sync_partial_ok"] == 1
        # The replica kept the expired keys until its master's DELs arrived.
        wait_until(lambda: rep.call(lambda: len(rep.server.dbs[0].data)) == 1, timeout=10,
                   what="DELs applied on the replica")
    finally:
        rep.stop()
        master.stop()

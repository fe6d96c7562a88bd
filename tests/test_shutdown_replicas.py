"""SHUTDOWN with lagging replicas, as Redis 7.0 (integration/shutdown): the master pauses
writes and waits up to ``shutdown-timeout`` for every replica to acknowledge its offset; the
callers block meanwhile (INFO shows ``shutdown_in_milliseconds``); SHUTDOWN ABORT or a failed
final step gives each of them "Errors trying to SHUTDOWN"; an initial AOF still being written
refuses the shutdown unless FORCE. A replica is made to lag by freezing its event loop."""

from __future__ import annotations

import threading
import time

import redis

from tests.helpers import RawClient, ThreadedServer
from trioredis.config import Config
from trioredis.core import Server
from trioredis.persistence.aof import WAIT_REWRITE, aof_of


def _wait(fn, what, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not fn():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def _pair(**master_config):
    master = ThreadedServer(**master_config).start()
    replica = ThreadedServer().start()
    r = redis.Redis(port=replica.port)
    r.replicaof("127.0.0.1", master.port)
    _wait(lambda: r.info("replication")["master_link_status"] == "up", "the sync")
    r.close()
    return master, replica


def _freeze(server: ThreadedServer, seconds: float) -> threading.Thread:
    """Block the server's event loop (it reads nothing, acknowledges nothing) for a while."""
    frozen = threading.Event()

    def stop_the_loop():
        frozen.set()
        time.sleep(seconds)

    t = threading.Thread(target=server.call, args=(stop_the_loop,), daemon=True)
    t.start()
    frozen.wait(10)
    return t


def test_shutdown_waits_until_the_replica_caught_up():
    master, replica = _pair()
    m = redis.Redis(port=master.port)
    try:
        m.set("k", 1)
        _wait(lambda: redis.Redis(port=replica.port).get("k") == b"1", "k on the replica")
        thaw = _freeze(replica, 1.5)
        m.incr("k")
        caller = RawClient(master.port)
        caller.send(b"*1\r\n$8\r\nSHUTDOWN\r\n")
        _wait(lambda: m.info("server").get("shutdown_in_milliseconds", 0) > 0, "the wait")
        assert m.info("clients")["blocked_clients"] == 1
        thaw.join(30)
        master.thread.join(30)
        assert not master.thread.is_alive()  # it ended once the replica had the INCR
        assert caller.closed() and caller.buf == b""
        assert redis.Redis(port=replica.port).get("k") == b"2"
    finally:
        m.close()
        master.stop()
        replica.stop()


def test_shutdown_gives_up_waiting_after_the_timeout():
    master, replica = _pair(shutdown_timeout=1)
    m = redis.Redis(port=master.port)
    try:
        thaw = _freeze(replica, 4)
        m.incr("k")
        start = time.monotonic()
        RawClient(master.port).send(b"*1\r\n$8\r\nSHUTDOWN\r\n")
        master.thread.join(30)
        assert not master.thread.is_alive() and time.monotonic() - start < 3.5
        thaw.join(30)
    finally:
        m.close()
        master.stop()
        replica.stop()


def test_abort_answers_every_waiting_caller_and_the_master_goes_on():
    master, replica = _pair()
    m = redis.Redis(port=master.port)
    try:
        thaw = _freeze(replica, 2)
        m.incr("k")
        rd1, rd2 = RawClient(master.port), RawClient(master.port)
        rd1.send(b"*1\r\n$8\r\nSHUTDOWN\r\n")
        rd2.send(b"*1\r\n$8\r\nSHUTDOWN\r\n")
        _wait(lambda: m.info("clients")["blocked_clients"] == 2, "both callers blocked")
        assert m.execute_command("SHUTDOWN", "ABORT") is True
        failed = b"-ERR Errors trying to SHUTDOWN. Check logs.\r\n"
        assert rd1.read_reply() == failed and rd2.read_reply() == failed
        assert "shutdown_in_milliseconds" not in m.info("server")
        assert m.incr("k") == 2  # writes flow again
        thaw.join(30)
        assert master.thread.is_alive()
    finally:
        m.close()
        master.stop()
        replica.stop()


def test_an_initial_aof_being_written_refuses_the_shutdown_unless_force(tmp_path):
    config = Config()
    config.set("dir", str(tmp_path), startup=True)
    srv = Server(config)
    aof = aof_of(srv)
    checks = srv.hooks["shutdown_check"]
    assert all(check(False) for check in checks)
    aof.state, aof.child_pid = WAIT_REWRITE, 12345  # appendonly just turned on
    try:
        assert not all(check(False) for check in checks)
        assert all(check(True) for check in checks)
    finally:
        aof.child_pid = 0

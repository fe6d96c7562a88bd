"""When a full sync starts and how long a replica waits: the diskless sync delay (replicas
wait in the handshake, kept alive by newlines, and share one snapshot), max-replicas starting
it early, and the replica's repl-timeout on a silent master."""

from __future__ import annotations

import threading
import time

import redis

from ..helpers import ThreadedServer
from .test_replication import client, digest, linked, wait_until


def role_state(port: int) -> bytes:
    return client(port).execute_command("ROLE")[3]


def warnings_of(s: ThreadedServer) -> list[str]:
    """Record the warnings ``s`` logs from now on."""
    seen: list[str] = []
    log = s.server.log
    original = log.warning

    def record(msg):
        seen.append(msg)
        original(msg)

    s.call(lambda: setattr(log, "warning", record))
    return seen


def test_delayed_diskless_sync_keeps_replicas_in_handshake_then_shares_one_snapshot():
    with ThreadedServer(repl_diskless_sync="yes", repl_diskless_sync_delay=1000,
                        enable_debug_command="yes") as m:
        client(m.port).set("k", "v")
        reps = [ThreadedServer(replicaof=f"127.0.0.1 {m.port}", repl_timeout=2,
                               enable_debug_command="yes").start()
                for _ in range(2)]
        try:
            for r in reps:
                wait_until(lambda r=r: role_state(r.port) == b"handshake", what="handshake")
            waiting = m.server.replication.waiting_sync
            wait_until(lambda: m.call(lambda: len(waiting)) == 2, what="both waiting")
            time.sleep(3)  # longer than repl-timeout: the master's newlines keep them waiting
            assert [role_state(r.port) for r in reps] == [b"handshake", b"handshake"]
            forks = []
            repl = m.server.replication
            original = repl.start_sync

            def counting(infos, caller=None):
                forks.append(len(infos))
                return original(infos, caller)

            m.call(lambda: setattr(repl, "start_sync", counting))
            client(m.port).config_set("repl-diskless-sync-max-replicas", 2)
            for r in reps:
                wait_until(lambda r=r: linked(r.port), timeout=20, what="link up")
            assert forks == [2]  # one snapshot for both
            assert client(m.port).info("stats")["sync_full"] == 2
            client(m.port).set("after", "1")
            assert client(m.port).wait(2, 5000) == 2
            for r in reps:
                assert digest(r.port) == digest(m.port)
        finally:
            for r in reps:
                r.stop()


def test_replica_times_out_on_a_silent_master_during_the_handshake():
    with ThreadedServer(repl_diskless_sync="yes", repl_diskless_sync_delay=1000,
                        enable_debug_command="yes") as m:
        rep = ThreadedServer(replicaof=f"127.0.0.1 {m.port}", repl_timeout=1).start()
        try:
            seen = warnings_of(rep)
            wait_until(lambda: role_state(rep.port) == b"handshake", what="handshake")
            sleeper = threading.Thread(target=lambda: redis.Redis(
                port=m.port, socket_timeout=10).execute_command("DEBUG", "SLEEP", 3))
            sleeper.start()
            wait_until(lambda: "Timeout connecting to the MASTER..." in seen, timeout=5,
                       what="the timeout warning")
            sleeper.join()
        finally:
            rep.stop()


def test_connected_replica_times_out_on_a_silent_master():
    with ThreadedServer(enable_debug_command="yes", repl_ping_replica_period=1) as m:
        rep = ThreadedServer(replicaof=f"127.0.0.1 {m.port}", repl_timeout=2).start()
        try:
            wait_until(lambda: linked(rep.port), what="link up")
            seen = warnings_of(rep)
            time.sleep(2.5)  # the master's PINGs keep an idle link alive
            assert seen == []
            redis.Redis(port=m.port, socket_timeout=10).execute_command("DEBUG", "SLEEP", 4)
            assert "MASTER timeout: no data nor PING received..." in seen
            wait_until(lambda: linked(rep.port), what="link up again")
        finally:
            rep.stop()


def test_snapshot_child_shows_as_bgsave_and_is_killed_when_nobody_waits():
    with ThreadedServer(repl_diskless_sync="no", save="") as m:
        mc = client(m.port)
        for i in range(5):
            mc.set(i, i)
        mc.config_set("rdb-key-save-delay", 1_000_000)  # a second per key
        reps = [ThreadedServer(replicaof=f"127.0.0.1 {m.port}").start() for _ in range(2)]
        try:
            wait_until(lambda: mc.info("persistence")["rdb_bgsave_in_progress"] == 1
                       and len(m.server.replication.snapshot_pids) == 2, what="children")
            info = mc.info("replication")
            assert info["slave0"]["state"] == info["slave1"]["state"] == "wait_bgsave"
            client(reps[0].port).replicaof("no", "one")
            time.sleep(0.2)
            assert mc.info("persistence")["rdb_bgsave_in_progress"] == 1  # one still waits
            client(reps[1].port).replicaof("no", "one")
            wait_until(lambda: mc.info("persistence")["rdb_bgsave_in_progress"] == 0,
                       what="children killed")
        finally:
            for r in reps:
                r.stop()

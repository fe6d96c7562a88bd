"""masteruser/masterauth: replication authenticates as an ACL user, to and from a real Redis."""

import time

import pytest
import redis

from ..helpers import RealRedis, ThreadedServer, have_real_redis

pytestmark = pytest.mark.skipif(not have_real_redis(), reason="redis-server is not installed")


def _until(fn, deadline=20.0):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if fn():
            return True
        time.sleep(0.05)
    return False


def test_real_replica_of_trioredis_authenticates_as_a_user():
    with ThreadedServer(requirepass="masterpw") as master:
        admin = redis.Redis(port=master.port, password="masterpw")
        admin.execute_command("ACL", "SETUSER", "repl", "on", ">rp", "+psync", "+replconf",
                              "+ping")
        admin.set("a", "1")
        replica = RealRedis("--replicaof", "127.0.0.1", str(master.port),
                            "--masteruser", "repl", "--masterauth", "rp")
        try:
            r = redis.Redis(port=replica.port)
            assert _until(lambda: r.get("a") == b"1")
            admin.set("b", "2")
            assert _until(lambda: r.get("b") == b"2")
        finally:
            replica.stop()


def test_trioredis_replica_of_real_redis_authenticates_as_a_user():
    master = RealRedis("--requirepass", "masterpw", "--repl-diskless-sync-delay", "0")
    try:
        admin = redis.Redis(port=master.port, password="masterpw")
        admin.execute_command("ACL", "SETUSER", "repl", "on", ">rp", "+psync", "+replconf",
                              "+ping")
        admin.set("k", "v")
        with ThreadedServer(replicaof=f"127.0.0.1 {master.port}", masteruser="repl",
                            masterauth="rp") as replica:
            r = redis.Redis(port=replica.port)
            assert _until(lambda: r.get("k") == b"v")
            admin.set("k2", "v2")
            assert _until(lambda: r.get("k2") == b"v2")
    finally:
        master.stop()


def test_a_user_without_replication_commands_cannot_sync():
    with ThreadedServer(requirepass="masterpw") as master:
        admin = redis.Redis(port=master.port, password="masterpw")
        admin.execute_command("ACL", "SETUSER", "weak", "on", ">wp", "+ping")
        admin.execute_command("ACL", "LOG", "RESET")
        replica = RealRedis("--replicaof", "127.0.0.1", str(master.port),
                            "--masteruser", "weak", "--masterauth", "wp")
        try:
            def refused():
                log = admin.execute_command("ACL", "LOG")
                return any(e.get(b"object") in (b"replconf", b"psync") for e in log)

            assert _until(refused)
            assert redis.Redis(port=replica.port).info("replication")["master_link_status"] == "down"
        finally:
            replica.stop()

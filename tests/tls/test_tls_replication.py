"""tls-replication both ways with a real Redis over TLS, and the HA group over tls-cluster."""

from __future__ import annotations

import shutil
import tempfile

import pytest
import redis

from ..cluster.harness import Node, wait_until
from .conftest import LoggingServer, RealTLSRedis, tls_port

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None,
                                reason="redis-server is not installed")


def test_trioredis_replica_of_real_redis_over_tls(real_tls_redis, certs):
    master = redis.Redis(port=real_tls_redis.port)
    master.set("before", "1")
    with LoggingServer(tls_replication="yes", **certs.server_args()) as ours:
        r = redis.Redis(port=ours.port)
        r.replicaof("127.0.0.1", real_tls_redis.tls_port)
        wait_until(lambda: r.info("replication")["master_link_status"] == "up", 20, "link up")
        assert r.get("before") == b"1"  # the full sync came over TLS
        master.set("after", "2")
        master.lpush("l", "a", "b")
        wait_until(lambda: r.get("after") == b"2", 10, "the stream over TLS")
        assert r.lrange("l", 0, -1) == [b"b", b"a"]
        # the master sees its replica on its TLS port
        (replica,) = [c for c in master.client_list() if "S" in c["flags"]]
        assert replica["laddr"].endswith(f":{real_tls_redis.tls_port}")


def test_real_redis_replica_of_trioredis_over_tls(certs):
    port = tls_port()
    tls_server = LoggingServer(tls_port=port, enable_debug_command="local",
                               **certs.server_args()).start()
    tls_server.tls_port = port
    ours = redis.Redis(port=tls_server.port)
    ours.set("before", "1")
    real = RealTLSRedis(certs, "--tls-replication", "yes", "--enable-debug-command", "local")
    try:
        theirs = redis.Redis(port=real.port)
        theirs.replicaof("127.0.0.1", tls_server.tls_port)
        wait_until(lambda: theirs.info("replication")["master_link_status"] == "up", 20,
                   "real replica link up")
        assert theirs.get("before") == b"1"
        for i in range(500):
            ours.set(f"k{i}", i)
        ours.hset("h", mapping={"a": 1, "b": 2})
        wait_until(lambda: theirs.get("k499") == b"499", 10, "the stream over TLS")
        assert theirs.hgetall("h") == {b"a": b"1", b"b": b"2"}
        assert ours.execute_command("WAIT", 1, 5000) == 1
        (replica,) = [c for c in ours.client_list() if "S" in c["flags"]]
        assert replica["laddr"].endswith(f":{tls_server.tls_port}")
        assert ours.execute_command("DEBUG", "DIGEST") == theirs.execute_command("DEBUG", "DIGEST")
    finally:
        real.stop()
        tls_server.stop()


def test_replica_refuses_a_master_with_an_unknown_certificate(certs, tmp_path):
    """Our replica trusts only tls-ca-cert-file: a master whose certificate comes from another
    CA fails the handshake, and the link stays down with OpenSSL's reason in the log."""
    import trustme

    other = trustme.CA()
    pair = other.issue_cert("127.0.0.1")
    cert, key = tmp_path / "o.crt", tmp_path / "o.key"
    pair.cert_chain_pems[0].write_to_path(str(cert))
    pair.private_key_pem.write_to_path(str(key))
    port = tls_port()
    with LoggingServer(tls_port=port, tls_cert_file=cert, tls_key_file=key,
                       tls_auth_clients="no") as master, \
            LoggingServer(tls_replication="yes", **certs.server_args()) as replica:
        r = redis.Redis(port=replica.port)
        r.replicaof("127.0.0.1", port)
        replica.wait_log("Error condition on socket for SYNC: "
                         "error:0A000086:SSL routines::certificate verify failed")
        assert r.info("replication")["master_link_status"] == "down"
        assert master.port


def test_ha_group_over_tls_cluster(certs):
    """Three nodes whose heartbeats, votes and replication all go over TLS: the plain ports
    only serve the test's own clients."""
    root = tempfile.mkdtemp(prefix="tls-group-")
    nodes = []
    try:
        ports = {}
        tls_args = ["--tls-cert-file", certs.cert, "--tls-key-file", certs.key,
                    "--tls-ca-cert-file", certs.ca, "--tls-cluster", "yes",
                    "--tls-replication", "yes"]
        for name in ("a", "b", "c"):
            n = Node(name, root)
            ports[name] = tls_port()
            nodes.append(n)
        a, b, c = nodes
        a.start("--tls-port", str(ports["a"]), *tls_args, "--cluster-bootstrap", "yes")
        a.wait_up()
        for n in (b, c):
            n.start("--tls-port", str(ports[n.name]), *tls_args,
                    "--cluster-join", f"127.0.0.1:{ports['a']}")
            n.wait_up()
        leader = a
        lc = leader.client(timeout=10)
        lc.set("x", "1")
        # (the leader's full syncs wait repl-diskless-sync-delay first)
        wait_until(lambda: lc.execute_command("WAIT", 2, 1000) == 2, 30, "two TLS replicas")
        replicas = [cl for cl in lc.client_list() if "S" in cl["flags"]]
        assert len(replicas) == 2
        assert all(cl["laddr"].endswith(f":{ports['a']}") for cl in replicas)
        for n in (b, c):
            assert n.client().get("x") == b"1"
    finally:
        for n in nodes:
            n.kill()
        shutil.rmtree(root, ignore_errors=True)

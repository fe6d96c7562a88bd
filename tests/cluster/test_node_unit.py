"""In-process checks: configuration, the node file, vote and fencing rules driven directly,
standalone behaviour compared with a real Redis, and FAILOVER between two servers."""

from __future__ import annotations

import json
import math
import os
import time

import pytest
import redis

from trioredis.cli import build_config
from trioredis.config import Config, ConfigError
from trioredis.core import Server
from trioredis.protocol.replies import ErrorReply

from ..helpers import RawClient, ThreadedServer, have_real_redis
from .harness import wait_until

real = pytest.mark.skipif(not have_real_redis(), reason="redis-server is not installed")


def make_server(tmp_path, **params) -> Server:
    cfg = Config()
    cfg.set("dir", str(tmp_path), startup=True)
    cfg.set("save", "", startup=True)
    cfg.set("loglevel", "warning", startup=True)
    for k, v in params.items():
        cfg.set(k.replace("_", "-"), str(v), startup=True)
    return Server(cfg)


def run(srv, c, *args):
    return srv.execute(c, [a if isinstance(a, bytes) else str(a).encode() for a in args])


# -- configuration -----------------------------------------------------------------------------


def test_command_line_parameters():
    cfg = build_config(None, [("cluster-bootstrap", []), ("node-id", ["7"]),
                              ("cluster-node-timeout", ["1000"])])
    assert cfg["cluster-bootstrap"] is True and cfg["cluster-node-id"] == "7"
    assert cfg["cluster-node-timeout"] == 1000
    assert build_config(None, [("cluster-bootstrap", ["no"])])["cluster-bootstrap"] is False
    assert build_config(None, [("cluster-join", ["127.0.0.1:7001"])])["cluster-join"] == (
        "127.0.0.1:7001")
    with pytest.raises(ConfigError):
        build_config(None, [("cluster-join", ["nonsense"])])
    with pytest.raises(ConfigError):
        build_config(None, [("cluster-bootstrap", ["maybe"])])


def test_runtime_parameters(server):
    r = redis.Redis(port=server.port, protocol=2)
    assert r.config_get("cluster-node-timeout") == {"cluster-node-timeout": "15000"}
    assert r.config_get("cluster-heartbeat-ms") == {"cluster-heartbeat-ms": "1000"}
    assert r.config_set("cluster-heartbeat-ms", 200)
    assert r.config_set("cluster-node-timeout", 3000)
    assert r.config_get("cluster-group-name") == {"cluster-group-name": "trioredis"}
    with pytest.raises(redis.ResponseError, match="immutable"):
        r.config_set("cluster-port", 7000)
    r.close()


# -- standalone mode -----------------------------------------------------------------------------


def test_standalone_has_no_group(server):
    r = redis.Redis(port=server.port, protocol=2)
    with pytest.raises(redis.ResponseError, match="not part of a trioredis group"):
        r.execute_command("TRIOCLUSTER", "INFO")
    assert server.server.write_barrier is None and server.server.cluster is None
    r.close()


STANDALONE_SAME_AS_REDIS = [
    ("SENTINEL", "MASTERS"),
    ("SENTINEL", "get-master-addr-by-name", "x"),
    ("SCRIPT", "KILL"),
    ("FAILOVER",),
    ("FAILOVER", "ABORT"),
    ("FAILOVER", "TIMEOUT", "0"),
    ("FAILOVER", "TIMEOUT", "x"),
    ("FAILOVER", "BOGUS"),
    ("FAILOVER", "TO", "127.0.0.1"),
    ("FAILOVER", "FORCE"),
    ("FAILOVER", "TO", "127.0.0.1", "1", "FORCE"),
    ("COMMAND", "INFO", "failover"),
    ("COMMAND", "INFO", "script|kill"),
]


@real
def test_standalone_replies_match_redis(server, real_redis):
    a, b = RawClient(real_redis.port), RawClient(server.port)
    try:
        for cmd in STANDALONE_SAME_AS_REDIS:
            assert b.command(*cmd) == a.command(*cmd), cmd
    finally:
        a.close()
        b.close()


# -- a one-node group, in process ------------------------------------------------------------


def test_bootstrap_single_node_and_restart(tmp_path):
    d = str(tmp_path)
    with ThreadedServer(dir=d, cluster_bootstrap="yes", cluster_node_id="n1") as s:
        r = redis.Redis(port=s.port, protocol=2)
        info = r.execute_command("TRIOCLUSTER", "INFO").decode()
        assert "cluster_role:leader" in info and "cluster_current_term:1" in info
        assert r.execute_command("TRIOCLUSTER", "MYID") == b"n1"
        assert r.set("k", "v")
        [(term, ms)] = r.execute_command("TRIOCLUSTER", "TERMS")
        assert term == 1 and abs(ms / 1000 - time.time()) < 60
        [entry] = r.sentinel_masters().values()
        assert entry["name"] == "trioredis" and entry["port"] == s.port
        assert entry["is_master"] and not entry["is_sdown"] and entry["num-other-sentinels"] == 0
        assert entry["config-epoch"] == 1 and entry["quorum"] == 1
        assert r.sentinel_slaves("trioredis") == []
        assert r.execute_command("SENTINEL", "MYID") == b"n1"
        assert r.execute_command("SENTINEL", "CKQUORUM", "trioredis").startswith(b"OK 1 usable")
        nodes = r.execute_command("TRIOCLUSTER", "NODES").decode()
        assert nodes.startswith(f"n1 127.0.0.1:{s.port}@{s.port} myself,master - 0 ")
        [member] = r.execute_command("TRIOCLUSTER", "MEMBERS")
        assert member[member.index(b"role") + 1] == b"leader"
        assert r.execute_command("TRIOCLUSTER", "LEADER") == [b"n1", b"127.0.0.1", s.port, 1]
        assert r.execute_command("ROLE")[0] == b"master"
        with pytest.raises(redis.ResponseError, match="can't forget myself"):
            r.execute_command("TRIOCLUSTER", "FORGET", "n1")
        with pytest.raises(redis.ResponseError, match="FAILOVER is not allowed"):
            r.execute_command("FAILOVER")
        r.close()
    with open(os.path.join(d, "trioredis-cluster.json")) as f:
        state = json.load(f)
    assert state["node_id"] == "n1" and state["term"] == 1 and state["voted_for"] == "n1"
    # A restarted one-node group re-elects itself in the next term, keeping its identity.
    with ThreadedServer(dir=d, cluster_bootstrap="yes") as s:
        r = redis.Redis(port=s.port, protocol=2)
        assert r.execute_command("TRIOCLUSTER", "MYID") == b"n1"
        assert [t for t, _ in r.execute_command("TRIOCLUSTER", "TERMS")] == [1, 2]
        r.close()


# -- vote rules --------------------------------------------------------------------------------


def test_votes_one_per_term_persisted_and_only_for_up_to_date(tmp_path):
    srv = make_server(tmp_path, cluster_join="127.0.0.1:1", cluster_node_id="m")
    node = srv.cluster
    assert node.role == "follower" and not node.can_elect()
    # Pre-votes change nothing.
    assert node.on_request_vote(1, "b", 0, 0, prevote=True) == [0, 1]
    assert node.term == 0 and node.voted_for is None
    # One vote per term, written to the node file before the answer.
    assert node.on_request_vote(1, "b", 0, 0, prevote=False) == [1, 1]
    assert json.load(open(tmp_path / "trioredis-cluster.json"))["voted_for"] == "b"
    assert node.on_request_vote(1, "a", 0, 0, prevote=False) == [1, 0]
    assert node.on_request_vote(1, "b", 0, 0, prevote=False) == [1, 1]  # repeated request
    # A stale term is refused with ours.
    assert node.on_request_vote(0, "a", 5, 5, prevote=False) == [1, 0]
    # Ties (same data term and offset) go to the lower node id.
    assert node.on_request_vote(2, "z", 0, 0, prevote=False) == [2, 0]
    # Less data is refused; the data term weighs before the offset.
    srv.master_repl_offset = 100
    node.data_term = 3
    assert node.on_request_vote(3, "a", 3, 99, prevote=False) == [3, 0]
    assert node.on_request_vote(4, "a", 2, 10**6, prevote=False) == [4, 0]
    assert node.on_request_vote(5, "z", 3, 101, prevote=False) == [5, 1]
    assert node.on_request_vote(6, "z", 4, 0, prevote=False) == [6, 1]
    # A restart remembers the term and the vote.
    node2 = make_server(tmp_path, cluster_join="127.0.0.1:1").cluster
    assert node2.id == "m" and node2.term == 6 and node2.voted_for == "z"
    assert node2.on_request_vote(6, "a", 9, 10**6, prevote=False) == [6, 0]


def test_prevote_refused_while_the_leader_is_heard(tmp_path):
    srv = make_server(tmp_path, cluster_join="127.0.0.1:1", cluster_node_id="m")
    node = srv.cluster
    members = json.dumps([
        {"id": "L", "ip": "127.0.0.1", "port": 1, "bus_port": 1, "role": "leader", "offset": 0,
         "term": 3, "age_ms": 0, "run_id": "x"},
        {"id": "m", "ip": "127.0.0.1", "port": 2, "bus_port": 2},
    ]).encode()
    reply = node.on_heartbeat(3, "L", 5, members)
    assert reply[0] == 3 and reply[3] == 1 and node.leader_id == "L" and node.joined
    assert node.on_request_vote(4, "z", 9, 10**6, prevote=True) == [3, 0]
    # A heartbeat from an older term is refused and tells the sender our term.
    assert node.on_heartbeat(2, "Q", 9, members)[0:4:3] == [3, 0]
    node.last_contact -= 100  # the leader went quiet (node timeout: 15 s)
    assert node.on_request_vote(4, "z", 9, 10**6, prevote=True) == [3, 1]


# -- fencing -----------------------------------------------------------------------------------


def test_leader_fencing_and_stepping_down(tmp_path):
    srv = make_server(tmp_path, cluster_bootstrap="yes", cluster_node_id="a",
                      cluster_node_timeout=1000)
    node = srv.cluster
    c = srv.new_client()
    assert node.role == "leader"
    assert run(srv, c, "SET", "k", "1") == "OK"
    node.on_join("b", "127.0.0.1", 2, 2, "rb")
    node.on_join("c", "127.0.0.1", 3, 3, "rc")
    assert node.majority() == 2
    assert run(srv, c, "SET", "k", "2") == "OK"  # joining counts as contact
    for m in node.members.values():
        if m is not node.me:
            m.last_ok = time.monotonic() - 2
    node._update_fence(time.monotonic())
    reply = run(srv, c, "SET", "k", "3")
    assert isinstance(reply, ErrorReply) and reply.message.startswith(
        "NOREPLICAS Not enough good replicas to write")
    assert run(srv, c, "GET", "k") == b"2"  # reads still served
    node.members["b"].last_ok = time.monotonic()
    node._update_fence(time.monotonic())
    assert run(srv, c, "SET", "k", "4") == "OK"  # one follower + itself is a majority
    # FORGET removes a member for good: the majority is counted over the rest.
    assert run(srv, c, "TRIOCLUSTER", "FORGET", "c") == "OK"
    assert sorted(node.members) == ["a", "b"] and node.majority() == 2
    assert run(srv, c, "TRIOCLUSTER", "FORGET", "c") == ErrorReply("ERR Unknown node c")
    saved = json.load(open(tmp_path / "trioredis-cluster.json"))
    assert [m["id"] for m in saved["members"]] == ["a", "b"]
    # A newer term: step down at once.
    assert node.observe_term(9, "test")
    assert node.role == "follower" and not math.isinf(node.election_due)
    assert run(srv, c, "SET", "k", "5") == ErrorReply(
        "READONLY You can't write against a read only replica.")
    run(srv, c, "MULTI")
    run(srv, c, "SET", "k", "6")
    assert run(srv, c, "EXEC").message.startswith("EXECABORT")


# -- FAILOVER ----------------------------------------------------------------------------------


def test_failover_command_hands_over_to_the_replica():
    with ThreadedServer() as m, ThreadedServer(replicaof=f"127.0.0.1 {m.port}") as rep:
        mc = redis.Redis(port=m.port, protocol=2)
        rc = redis.Redis(port=rep.port, protocol=2)
        wait_until(lambda: rc.info("replication")["master_link_status"] == "up", 10, "link")
        for i in range(50):
            mc.set(f"k{i}", i)
        with pytest.raises(redis.ResponseError, match="target HOST and PORT is not a replica"):
            mc.execute_command("FAILOVER", "TO", "127.0.0.1", "1")
        assert mc.execute_command("FAILOVER") == b"OK"
        with pytest.raises(redis.ResponseError, match="already in progress"):
            mc.execute_command("FAILOVER")
        wait_until(lambda: rc.info("replication")["role"] == "master", 10, "promotion")
        wait_until(lambda: mc.info("replication").get("master_link_status") == "up", 10,
                   "the old master to follow")
        info = mc.info("replication")
        assert info["role"] == "slave" and info["master_port"] == rep.port
        wait_until(lambda: info["master_failover_state"] == "no-failover"
                   or mc.info("replication")["master_failover_state"] == "no-failover", 10,
                   "the failover to finish")
        assert rc.get("k49") == b"49"
        rc.set("new", "1")
        wait_until(lambda: mc.get("new") == b"1", 10, "replication from the new master")
        assert int(rc.info("replication")["connected_slaves"]) == 1
        with pytest.raises(redis.ResponseError, match="No failover in progress"):
            mc.execute_command("FAILOVER", "ABORT")
        mc.close()
        rc.close()


# -- a two-node group in one process, over --cluster-port ---------------------------------------


def test_group_over_a_separate_cluster_port(tmp_path):
    from ..helpers import free_port

    bus1, bus2 = free_port(), free_port()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    fast = {"cluster_heartbeat_ms": 50, "cluster_node_timeout": 1000}
    with ThreadedServer(dir=str(tmp_path / "a"), cluster_bootstrap="yes", cluster_node_id="a",
                        cluster_port=bus1, **fast) as a, \
            ThreadedServer(dir=str(tmp_path / "b"), cluster_join=f"127.0.0.1:{bus1}",
                           cluster_node_id="b", cluster_port=bus2, **fast) as b:
        ra, rb = redis.Redis(port=a.port, protocol=2), redis.Redis(port=b.port, protocol=2)

        def joined():
            return b"cluster_leader_id:a" in rb.execute_command("TRIOCLUSTER", "INFO") and (
                rb.info("replication").get("master_link_status") == "up")

        wait_until(joined, 10, "b to join and replicate")
        nodes = ra.execute_command("TRIOCLUSTER", "NODES").decode()
        assert f"127.0.0.1:{b.port}@{bus2} slave" in nodes
        assert f"127.0.0.1:{a.port}@{bus1} myself,master" in nodes
        ra.set("k", "v")
        assert ra.wait(1, 5000) == 1
        assert rb.get("k") == b"v"
        # The cluster port speaks RESP too.
        bus = redis.Redis(port=bus2, protocol=2)
        assert bus.execute_command("TRIOCLUSTER", "MYID") == b"b"
        [replica] = rb.sentinel_slaves("trioredis")
        assert replica["port"] == b.port and replica["master-port"] == a.port
        for c in (ra, rb, bus):
            c.close()

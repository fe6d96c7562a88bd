"""CLUSTER subcommands on one node, reply for reply against a real Redis 7.0 cluster node, and
the replies of a server without cluster support."""

from __future__ import annotations

import pytest
import redis

from .nodes import REDIS_SERVER, RealNode, TrioNode, start_all, wait_for

pytestmark = pytest.mark.skipif(REDIS_SERVER is None, reason="redis-server is not installed")


@pytest.fixture(scope="module")
def both():
    real, ours = start_all(RealNode, TrioNode)
    yield real, ours
    real.stop()
    ours.stop()


def reply(node, *args):
    try:
        return node.client.execute_command(*args)
    except redis.ResponseError as e:
        return ("error", str(e))


# Replies that name no node id: the same on both.
SAME = [
    ("CLUSTER", "KEYSLOT", "foo"),
    ("CLUSTER", "KEYSLOT", "{user}.a"),
    ("CLUSTER", "KEYSLOT"),
    ("CLUSTER", "COUNTKEYSINSLOT", "16384"),
    ("CLUSTER", "COUNTKEYSINSLOT", "-1"),
    ("CLUSTER", "COUNTKEYSINSLOT", "x"),
    ("CLUSTER", "COUNTKEYSINSLOT", "7"),
    ("CLUSTER", "GETKEYSINSLOT", "1", "-1"),
    ("CLUSTER", "GETKEYSINSLOT", "16384", "1"),
    ("CLUSTER", "GETKEYSINSLOT", "x", "1"),
    ("CLUSTER", "GETKEYSINSLOT", "1", "10"),
    ("CLUSTER", "ADDSLOTS", "16384"),
    ("CLUSTER", "ADDSLOTS", "x"),
    ("CLUSTER", "ADDSLOTS", "9", "9"),
    ("CLUSTER", "DELSLOTS", "7"),
    ("CLUSTER", "ADDSLOTSRANGE", "1"),
    ("CLUSTER", "ADDSLOTSRANGE", "1", "2", "3"),
    ("CLUSTER", "ADDSLOTSRANGE", "5", "4"),
    ("CLUSTER", "DELSLOTSRANGE", "1", "2"),
    ("CLUSTER", "ADDSLOTS", "20", "21"),
    ("CLUSTER", "ADDSLOTS", "20"),
    ("CLUSTER", "ADDSLOTSRANGE", "30", "40", "50", "50"),
    ("CLUSTER", "DELSLOTSRANGE", "30", "35"),
    ("CLUSTER", "DELSLOTS", "21"),
    ("CLUSTER", "SETSLOT", "20", "NODE", "abc"),
    ("CLUSTER", "SETSLOT", "20", "MIGRATING", "abc"),
    ("CLUSTER", "SETSLOT", "100", "MIGRATING", "abc"),
    ("CLUSTER", "SETSLOT", "20", "IMPORTING", "abc"),
    ("CLUSTER", "SETSLOT", "20", "BOGUS"),
    ("CLUSTER", "SETSLOT", "20", "STABLE", "x"),
    ("CLUSTER", "SETSLOT", "20", "STABLE"),
    ("CLUSTER", "SETSLOT", "99999", "STABLE"),
    ("CLUSTER", "COUNT-FAILURE-REPORTS", "abc"),
    ("CLUSTER", "FORGET", "abc"),
    ("CLUSTER", "REPLICATE", "abc"),
    ("CLUSTER", "REPLICAS", "abc"),
    ("CLUSTER", "SLAVES", "abc"),
    ("CLUSTER", "MEET", "127.0.0.1", "x"),
    ("CLUSTER", "MEET", "127.0.0.1", "1", "x"),
    ("CLUSTER", "MEET", "not-an-ip", "7000"),
    ("CLUSTER", "MEET", "127.0.0.1", "70000"),
    ("CLUSTER", "SET-CONFIG-EPOCH", "-1"),
    ("CLUSTER", "SET-CONFIG-EPOCH", "x"),
    ("CLUSTER", "RESET", "BOGUS"),
    ("CLUSTER", "BOGUS"),
    ("CLUSTER", "INFO", "extra"),
    ("CLUSTER", "SAVECONFIG"),
    ("SELECT", "1"),
    ("SELECT", "0"),
    ("SWAPDB", "0", "1"),
    ("READONLY",),
    ("READWRITE",),
    ("ASKING",),
    ("SET", "foo", "bar"),
    ("GET", "{x}a"),
    ("MGET", "a", "b"),
    ("MGET", "{x}a", "{x}b"),
    ("PING",),
]


def test_replies_match_real_redis(both):
    real, ours = both
    for args in SAME:
        assert reply(ours, *args) == reply(real, *args), args


def test_slot_changes_show_alike(both):
    real, ours = both
    for node in both:
        node.client.execute_command("CLUSTER", "RESET")
        node.client.execute_command("CLUSTER", "ADDSLOTSRANGE", 0, 16383)
    wait_for(lambda: real.state_ok() and ours.state_ok(), 10, "cluster_state:ok")
    for args in [("SET", "foo", "bar"), ("MSET", "{t}a", "1", "{t}b", "2"),
                 ("CLUSTER", "COUNTKEYSINSLOT", "12182"),
                 ("CLUSTER", "GETKEYSINSLOT", "12182", "5"),
                 ("CLUSTER", "FLUSHSLOTS"), ("CLUSTER", "RESET"),
                 ("MGET", "{t}a", "b")]:
        theirs = reply(real, *args)
        if isinstance(theirs, tuple) and real.id in theirs[1]:
            theirs = (theirs[0], theirs[1].replace(real.id, ours.id))
        mine = reply(ours, *args)
        assert mine == theirs, args
        if args[1:2] == ("GETKEYSINSLOT",):
            for node in both:  # the owner may "move" a slot to itself, keys and all
                assert reply(node, "CLUSTER", "SETSLOT", "12182", "NODE", node.id) == b"OK"
    info = [n.client.execute_command("CLUSTER", "INFO").decode().split("\r\n")[:9]
            for n in both]
    assert info[0] == info[1]
    slots = [n.client.execute_command("CLUSTER", "SLOTS") for n in both]
    assert [s[:2] for s in slots[0]] == [s[:2] for s in slots[1]] == [[0, 16383]]
    for node in both:
        node.client.execute_command("FLUSHALL")
        node.client.execute_command("CLUSTER", "RESET")


def test_epochs_like_redis(both):
    for node in both:
        node.client.execute_command("CLUSTER", "RESET", "HARD")
    for args in [("CLUSTER", "SET-CONFIG-EPOCH", "5"), ("CLUSTER", "SET-CONFIG-EPOCH", "6"),
                 ("CLUSTER", "BUMPEPOCH"), ("CLUSTER", "RESET", "HARD"),
                 ("CLUSTER", "BUMPEPOCH"), ("CLUSTER", "BUMPEPOCH")]:
        assert reply(both[1], *args) == reply(both[0], *args), args
    for node in both:
        node.client.execute_command("CLUSTER", "RESET", "HARD")


def test_scripts_keys_checked_as_redis(both):
    from trioredis.rcluster.slots import key_slot

    for node in both:
        node.client.execute_command("CLUSTER", "RESET")
        node.client.config_set("cluster-require-full-coverage", "no")
        node.client.execute_command("CLUSTER", "ADDSLOTSRANGE", 0, 8191)
    wait_for(lambda: all(n.state_ok() for n in both), 10, "ok")
    mine = [k for k in (b"k%d" % i for i in range(100)) if key_slot(k) < 8192][:2]
    other = next(k for k in (b"k%d" % i for i in range(100)) if key_slot(k) >= 8192)
    assert key_slot(mine[0]) != key_slot(mine[1])
    body = "#!lua flags=allow-cross-slot-keys\nreturn redis.call('mget', ARGV[1], ARGV[2])"
    cases = [
        ("EVAL", "return redis.call('set', KEYS[1], 'v')", 1, mine[0]),
        ("EVAL", "return redis.call('get', ARGV[1])", 1, mine[0], mine[0]),
        ("EVAL", "return redis.call('get', ARGV[1])", 0, other),
        ("EVAL", "return redis.call('get', ARGV[1])", 1, mine[0], mine[1]),
        ("EVAL", "return redis.call('get', ARGV[1])", 0, mine[1]),
        ("EVAL", "redis.call('get', ARGV[1]) return redis.call('get', ARGV[2])", 0,
         mine[0], mine[1]),
        ("EVAL", "return redis.pcall('get', ARGV[1])", 0, other),
        ("EVAL", body, 0, mine[0], mine[1]),
        ("EVAL", "#!lua flags=no-cluster\nreturn 1", 0),
        ("EVAL", "return 1", 2, mine[0], other),
        ("EVAL", "#!lua\nredis.call('get', ARGV[1]) return redis.call('get', ARGV[2])", 0,
         mine[0], mine[1]),
        ("EVAL", "#!lua\nreturn redis.call('get', ARGV[1])", 1, mine[0], mine[1]),
        ("EVAL", "#!lua\nreturn redis.call('get', ARGV[1])", 0, other),
    ]
    for args in cases:
        assert reply(both[1], *args) == reply(both[0], *args), args
    for node in both:
        node.client.execute_command("FLUSHALL")
        node.client.execute_command("CLUSTER", "RESET")
        node.client.config_set("cluster-require-full-coverage", "yes")


def test_info_says_cluster(both):
    for node in both:
        assert node.client.info("server")["redis_mode"] == "cluster"
        assert node.client.info("cluster") == {"cluster_enabled": 1}
    with open(f"{both[1].dir}/log") as f:  # stdout is a file: the one-line form
        assert f"Running mode=cluster, port={both[1].port}." in f.read()


def test_myself_line_and_myid(both):
    real, ours = both
    for node in both:
        rows = node.nodes()
        assert len(rows) == 1
        assert rows[0][0] == node.id and len(node.id) == 40
        assert rows[0][2] == "myself,master" and rows[0][3:8] == ["-", "0", "0", "0",
                                                                  "connected"]
        assert rows[0][1].endswith(f":{node.port}@{node.port + 10000}")


def test_without_cluster_support(r, rr):
    for args in [("CLUSTER", "INFO"), ("CLUSTER", "KEYSLOT", "x"), ("CLUSTER", "NODES"),
                 ("READONLY",), ("READWRITE",), ("ASKING",), ("CLUSTER", "BOGUS")]:
        mine = theirs = None
        try:
            mine = r.execute_command(*args)
        except redis.ResponseError as e:
            mine = str(e)
        try:
            theirs = rr.execute_command(*args)
        except redis.ResponseError as e:
            theirs = str(e)
        assert mine == theirs, args

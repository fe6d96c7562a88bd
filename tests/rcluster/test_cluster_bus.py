"""Nodes on the bus: redis-cli --cluster create of trioredis masters, redirections as clients
see them, cluster clients, and real redis-server nodes in the same cluster."""

from __future__ import annotations

import socket
import subprocess
import time

import pytest
import redis
from redis.cluster import RedisCluster

from trioredis.rcluster.slots import key_slot

from .nodes import REDIS_CLI, REDIS_SERVER, RealNode, TrioNode, all_agree, start_all, wait_for

pytestmark = pytest.mark.skipif(REDIS_SERVER is None or REDIS_CLI is None,
                                reason="redis-server / redis-cli are not installed")


def cli(*args, timeout=60) -> subprocess.CompletedProcess:
    return subprocess.run([REDIS_CLI, *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


def raw(node, *args) -> str:
    """The first line of the reply, as sent (redis-py rewrites MOVED/ASK errors)."""
    with socket.create_connection(("127.0.0.1", node.port), timeout=10) as sock:
        sock.sendall(b"".join([b"*%d\r\n" % len(args)] + [
            b"$%d\r\n%s\r\n" % (len(a), a) for a in (str(x).encode() for x in args)]))
        buf = b""
        while b"\r\n" not in buf:
            chunk = sock.recv(65536)
            if not chunk:
                break
            buf += chunk
    return buf.split(b"\r\n", 1)[0].decode()


def owner_of(node, slot: int):
    for start, end, master, *_ in node.client.execute_command("CLUSTER", "SLOTS"):
        if start <= slot <= end:
            return master[2].decode(), master[1]
    return None


@pytest.fixture(scope="module")
def trio3():
    nodes = start_all(*[lambda: TrioNode(timeout=3000)] * 3)
    try:
        out = cli("--cluster", "create", *[f"127.0.0.1:{n.port}" for n in nodes],
                  "--cluster-yes")
        assert out.returncode == 0, out.stdout + out.stderr
        assert "[OK] All 16384 slots covered." in out.stdout
        wait_for(lambda: all_agree(nodes) and all(n.state_ok() for n in nodes), 20,
                 "three nodes agree and are ok")
        yield nodes
    finally:
        for n in nodes:
            n.stop()


def test_create_then_check(trio3):
    out = cli("--cluster", "check", f"127.0.0.1:{trio3[1].port}")
    assert out.returncode == 0, out.stdout
    assert "[OK] All nodes agree about slots configuration." in out.stdout
    assert "[OK] All 16384 slots covered." in out.stdout
    for n in trio3:
        info = n.client.execute_command("CLUSTER", "INFO").decode()
        assert "cluster_state:ok" in info and "cluster_known_nodes:3" in info
        assert "cluster_size:3" in info and "cluster_current_epoch:3" in info
        assert "cluster_stats_messages_ping_sent:" in info
        rows = n.nodes()
        epochs = sorted(int(r[6]) for r in rows)
        assert epochs == [1, 2, 3]
    # The test suite's cluster_config_consistent: CLUSTER SLOTS alike on every node.
    slots = [n.client.execute_command("CLUSTER", "SLOTS") for n in trio3]
    assert slots[0] == slots[1] == slots[2]
    assert [s[:2] for s in slots[0]] == [[0, 5460], [5461, 10922], [10923, 16383]]


def test_redirections_as_redis_words_them(trio3):
    a = trio3[0]
    slot = key_slot(b"foo")
    owner_id, owner_port = owner_of(a, slot)
    wrong = next(n for n in trio3 if n.id != owner_id)
    assert raw(wrong, "GET", "foo") == f"-MOVED {slot} 127.0.0.1:{owner_port}"
    owner = next(n for n in trio3 if n.id == owner_id)
    assert raw(owner, "MGET", "foo", "bar") == \
        "-CROSSSLOT Keys in request don't hash to the same slot"
    assert owner.client.execute_command("MSET", "{foo}1", "a", "{foo}2", "b")
    # A transaction with a key of another node: the EXEC is refused with MOVED.
    p = wrong.client.pipeline(transaction=True)
    p.set("foo", "x")
    with pytest.raises(redis.ResponseError):
        p.execute()


def test_cluster_clients_work(trio3):
    rc = RedisCluster(host="127.0.0.1", port=trio3[0].port, socket_timeout=10)
    try:
        for i in range(300):
            rc.set(f"key:{i}", i)
        assert [int(rc.get(f"key:{i}")) for i in range(300)] == list(range(300))
        counts = [n.client.dbsize() for n in trio3]
        assert sum(counts) >= 300 and all(c > 50 for c in counts)
        for n in trio3:  # the slot index agrees with where keys are
            keys = n.client.keys("key:*")
            for k in keys[:20]:
                s = key_slot(k)
                assert k in n.client.execute_command("CLUSTER", "GETKEYSINSLOT", s, 1000)
                assert n.client.execute_command("CLUSTER", "COUNTKEYSINSLOT", s) >= 1
    finally:
        rc.close()
    out = cli("-c", "-p", trio3[2].port, "SET", "clikey", "v1")
    assert out.stdout.strip() == "OK"
    out = cli("-c", "-p", trio3[0].port, "GET", "clikey")
    assert out.stdout.strip() == "v1"


def test_ask_during_a_slot_migration(trio3):
    a = trio3[0]
    slot = key_slot(b"askkey")
    src_id, _ = owner_of(a, slot)
    src = next(n for n in trio3 if n.id == src_id)
    dst = next(n for n in trio3 if n.id != src_id)
    src.client.set("{askkey}present", "here")
    assert dst.client.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", src.id) == b"OK"
    assert src.client.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", dst.id) == b"OK"
    # A new key goes to the target (Redis: ASK for a key the source does not hold).
    assert raw(src, "SET", "{askkey}new", "v") == f"-ASK {slot} 127.0.0.1:{dst.port}"
    assert src.client.get("{askkey}present") == b"here"  # existing keys are still served
    assert raw(src, "GET", "askkey") == f"-ASK {slot} 127.0.0.1:{dst.port}"
    assert raw(src, "MGET", "{askkey}present", "{askkey}absent") == \
        "-TRYAGAIN Multiple keys request during rehashing of slot"
    # No ASKING: the owner is still src.
    assert raw(dst, "GET", "askkey") == f"-MOVED {slot} 127.0.0.1:{src.port}"
    conn = dst.client.connection_pool.get_connection("_")
    try:
        conn.send_command("ASKING")
        assert conn.read_response() == b"OK"
        conn.send_command("SET", "askkey", "new")
        assert conn.read_response() == b"OK"
        conn.send_command("GET", "askkey")  # ASKING lasts one command
        with pytest.raises(redis.exceptions.MovedError, match=f"^{slot} 127.0.0.1:{src.port}$"):
            conn.read_response()
    finally:
        dst.client.connection_pool.release(conn)
    src.client.delete("{askkey}present")
    for n in (dst, src):  # finish: the slot moves to dst under a new epoch, as resharding does
        assert n.client.execute_command("CLUSTER", "SETSLOT", slot, "NODE", dst.id) == b"OK"
    wait_for(lambda: all(owner_of(n, slot)[0] == dst.id for n in trio3), 15,
             "every node to see the new owner")
    wait_for(lambda: all_agree(trio3), 15, "agreement")
    assert trio3[0].client.execute_command("CLUSTER", "COUNTKEYSINSLOT", slot) >= 0
    assert dst.client.get("askkey") == b"new"


def test_clusterdown_when_a_slot_is_unserved():
    n = TrioNode(timeout=3000)
    try:
        assert raw(n, "GET", "x") == "-CLUSTERDOWN Hash slot not served"
        n.client.execute_command("CLUSTER", "ADDSLOTS", key_slot(b"x"))
        # Served, but 16383 slots are not: the cluster is down.
        assert raw(n, "GET", "x") == "-CLUSTERDOWN The cluster is down"
        n.client.config_set("cluster-require-full-coverage", "no")
        wait_for(n.state_ok, 10, "ok without full coverage")
        assert n.client.set("x", 1)
    finally:
        n.stop()


def test_real_redis_and_trioredis_in_one_cluster(trio3):
    real = RealNode("--cluster-announce-hostname", "real-node", timeout=3000)
    real_id = real.id
    slot = key_slot(b"to-real")
    try:
        # The real node is the one that meets.
        real.client.execute_command("CLUSTER", "MEET", "127.0.0.1", trio3[0].port)
        everyone = [*trio3, real]
        wait_for(lambda: all_agree(everyone), 30, "four nodes to agree")
        rows = {r[0]: r for r in real.nodes()}
        for n in trio3:
            assert rows[n.id][1] == f"127.0.0.1:{n.port}@{n.port + 10000}"
            assert rows[n.id][2] == "master" and rows[n.id][7] == "connected"
        mine = {r[0]: r for r in trio3[1].nodes()}
        assert mine[real.id][1] == f"127.0.0.1:{real.port}@{real.port + 10000},real-node"
        # Give the real node an empty slot the way resharding does (SETSLOT on both sides).
        src_id, _ = owner_of(real, slot)
        src = next(n for n in trio3 if n.id == src_id)
        src.client.delete("to-real")
        real.client.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", src.id)
        src.client.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", real.id)
        real.client.execute_command("CLUSTER", "SETSLOT", slot, "NODE", real.id)
        src.client.execute_command("CLUSTER", "SETSLOT", slot, "NODE", real.id)
        wait_for(lambda: all(owner_of(n, slot)[0] == real.id for n in everyone), 20,
                 "the slot to be the real node's everywhere")
        wait_for(lambda: all_agree(everyone), 20, "agreement after the move")
        # Real Redis and trioredis answer CLUSTER SLOTS alike (order, endpoints, hostname).
        wait_for(lambda: len({repr(n.client.execute_command("CLUSTER", "SLOTS"))
                              for n in everyone}) == 1, 10, "the same CLUSTER SLOTS")

        def shards(n):  # in any order; offsets are each node's latest news
            out = n.client.execute_command("CLUSTER", "SHARDS")
            for shard in out:
                for d in shard[b"nodes"]:
                    d.pop(b"replication-offset")
            return sorted(map(repr, out))

        wait_for(lambda: len({tuple(shards(n)) for n in everyone}) == 1, 10,
                 "the same CLUSTER SHARDS")
        assert raw(src, "GET", "to-real") == f"-MOVED {slot} 127.0.0.1:{real.port}"
        rc = RedisCluster(host="127.0.0.1", port=real.port, socket_timeout=10)
        try:
            rc.set("to-real", "yes")
            assert real.client.get("to-real") == b"yes"
            for i in range(100):
                rc.set(f"mixed:{i}", i)
            assert [int(rc.get(f"mixed:{i}")) for i in range(100)] == list(range(100))
        finally:
            rc.close()
        out = cli("--cluster", "check", f"127.0.0.1:{real.port}")
        assert out.returncode == 0 and "[OK] All 16384 slots covered." in out.stdout, out.stdout
        # PUBLISH reaches subscribers on every node, over the bus, both ways.
        for pub_node, sub_node in ((trio3[0], real), (real, trio3[1]), (trio3[1], trio3[2])):
            ps = sub_node.client.pubsub()
            try:
                ps.subscribe("news")
                assert ps.get_message(timeout=5)["type"] == "subscribe"
                assert pub_node.client.publish("news", f"from {pub_node.kind}") == 0
                msg = ps.get_message(timeout=10)
                assert msg is not None and msg["data"] == f"from {pub_node.kind}".encode()
            finally:
                ps.close()
    finally:
        real.stop()
        for n in trio3:  # the others forget it, so later tests see three nodes again
            try:
                n.client.execute_command("CLUSTER", "FORGET", real_id)
            except redis.ResponseError:
                pass
        # Its slot is unassigned now: a trioredis node takes it back, the cluster is whole.
        trio3[0].client.execute_command("CLUSTER", "ADDSLOTS", slot)
        wait_for(lambda: all_agree(trio3) and all(n.state_ok() for n in trio3), 20,
                 "three nodes, all slots served")


def test_reshard_under_writes_loses_and_duplicates_nothing():
    import threading

    nodes = start_all(*[lambda: TrioNode(timeout=3000)] * 3)
    try:
        out = cli("--cluster", "create", *[f"127.0.0.1:{n.port}" for n in nodes], "--cluster-yes")
        assert out.returncode == 0, out.stdout
        wait_for(lambda: all_agree(nodes) and all(n.state_ok() for n in nodes), 20, "ok")
        rc = RedisCluster(host="127.0.0.1", port=nodes[0].port, socket_timeout=10)
        acked: dict[str, int] = {}
        stop = threading.Event()
        errors: list[Exception] = []
        # Keys in the slots that move (0-299 belong to the first node) and elsewhere.
        keys = [f"ctr:{i}" for i in range(400)]

        def writer():
            i = 0
            while not stop.is_set():
                k = keys[i % len(keys)]
                i += 1
                try:
                    rc.incr(k)
                except Exception as e:  # an unacknowledged write may or may not have applied
                    errors.append(e)
                    return
                acked[k] = acked.get(k, 0) + 1

        t = threading.Thread(target=writer)
        t.start()
        try:
            out = cli("--cluster", "reshard", f"127.0.0.1:{nodes[0].port}",
                      "--cluster-from", nodes[0].id, "--cluster-to", nodes[1].id,
                      "--cluster-slots", "300", "--cluster-yes", timeout=240)
        finally:
            stop.set()
            t.join(30)
        assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
        assert not errors, errors
        wait_for(lambda: all_agree(nodes), 20, "agreement after resharding")
        moved = sum(e - s + 1 for s, e, m, *_ in
                    nodes[2].client.execute_command("CLUSTER", "SLOTS")
                    if m[2].decode() == nodes[1].id)
        assert moved == 5462 + 300
        assert sum(acked.values()) > 100
        for k, n in acked.items():
            assert int(rc.get(k)) == n, k
        check = cli("--cluster", "check", f"127.0.0.1:{nodes[1].port}")
        assert "[OK] All 16384 slots covered." in check.stdout
        assert "[WARNING]" not in check.stdout
        rc.close()
    finally:
        for n in nodes:
            n.stop()


def test_blocked_client_is_redirected_when_its_slot_moves(trio3):
    import threading

    slot = key_slot(b"blocked-list")
    src_id, _ = owner_of(trio3[0], slot)
    src = next(n for n in trio3 if n.id == src_id)
    dst = next(n for n in trio3 if n.id != src_id)
    result = {}

    def block():
        with socket.create_connection(("127.0.0.1", src.port), timeout=30) as sock:
            sock.sendall(b"*3\r\n$5\r\nBLPOP\r\n$12\r\nblocked-list\r\n$1\r\n0\r\n")
            result["reply"] = sock.recv(1000)

    t = threading.Thread(target=block)
    t.start()
    wait_for(lambda: src.client.info("clients")["blocked_clients"] == 1, 10, "BLPOP to block")
    dst.client.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", src.id)
    src.client.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", dst.id)
    for n in (dst, src):
        n.client.execute_command("CLUSTER", "SETSLOT", slot, "NODE", dst.id)
    t.join(20)
    assert result["reply"] == f"-MOVED {slot} 127.0.0.1:{dst.port}\r\n".encode()
    wait_for(lambda: all_agree(trio3), 15, "agreement")


def test_an_expired_key_of_a_migrating_slot_is_asked_for(trio3):
    """unit/cluster/misc: 'Key lazy expires during key migration'."""
    slot = key_slot(b"FOO")
    src_id, _ = owner_of(trio3[0], slot)
    src = next(n for n in trio3 if n.id == src_id)
    dst = next(n for n in trio3 if n.id != src_id)
    src.client.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", 0)
    try:
        src.client.set("FOO", "BAR", px=10)
        src.client.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", dst.id)
        dst.client.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", src.id)
        time.sleep(0.05)  # the TTL is 10 ms: this waits for it to pass, not for a server
        assert raw(src, "GET", "FOO") == f"-ASK {slot} 127.0.0.1:{dst.port}"
        assert src.client.ping()
    finally:
        src.client.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", 1)
        for n in (src, dst):
            n.client.execute_command("CLUSTER", "SETSLOT", slot, "STABLE")


def test_bad_and_reset_bus_links_do_not_hurt_the_node():
    import struct

    from trioredis.rcluster import bus

    n = TrioNode(timeout=3000)
    try:
        cport = n.port + 10000
        for payload in (b"GET / HTTP/1.1\r\n\r\n", b"RCmb" + struct.pack(">I", 10),
                        bus.encode(bus.Message(type=bus.PING, sender=b"z" * 40))[:3000]):
            s = socket.create_connection(("127.0.0.1", cport), timeout=5)
            s.sendall(payload)
            # Reset the connection (SO_LINGER 0): the node sees ECONNRESET.
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
        # A well-formed MEET from an unknown sender gets a PONG from the node.
        s = socket.create_connection(("127.0.0.1", cport), timeout=5)
        s.sendall(bus.encode(bus.Message(type=bus.MEET, sender=b"e" * 40, port=1, cport=2)))
        reader = bus.BusReader()
        got = []
        deadline = time.monotonic() + 10
        while not got and time.monotonic() < deadline:
            got = reader.feed(s.recv(65536))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
        assert got[0].type == bus.PONG and got[0].sender.decode() == n.id
        assert n.client.ping()
        assert n.proc.poll() is None
    finally:
        n.stop()


def test_shard_channel_subscribers_leave_with_their_slot(trio3):
    channel = b"shard-news"
    slot = key_slot(channel)
    src_id, _ = owner_of(trio3[0], slot)
    src = next(n for n in trio3 if n.id == src_id)
    dst = next(n for n in trio3 if n.id != src_id)
    assert raw(dst, "SPUBLISH", channel.decode(), "x") == f"-MOVED {slot} 127.0.0.1:{src.port}"
    ps = src.client.pubsub()
    try:
        ps.ssubscribe(channel)
        assert ps.get_sharded_message(timeout=5)["type"] == "ssubscribe"
        assert src.client.spublish(channel, "one") == 1
        assert ps.get_sharded_message(timeout=5)["data"] == b"one"
        dst.client.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", src.id)
        src.client.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", dst.id)
        for n in (dst, src):
            n.client.execute_command("CLUSTER", "SETSLOT", slot, "NODE", dst.id)
        msg = ps.get_sharded_message(timeout=10)
        assert msg is not None and msg["type"] == "sunsubscribe" and msg["channel"] == channel
    finally:
        ps.close()
    wait_for(lambda: all_agree(trio3), 15, "agreement")

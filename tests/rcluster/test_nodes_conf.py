"""nodes.conf: Redis's format both ways, fsynced rewrites, and a node restarting into its
cluster."""

from __future__ import annotations

import pytest

from trioredis.errors import ConfigError
from trioredis.rcluster import bus, nodesconf
from trioredis.rcluster.node import Node
from trioredis.rcluster.state import ClusterState

from .nodes import TrioNode

# Written by redis-server 7.0.15 (a master with a hostname, one slot range and a single slot,
# and its replica), as in the file's own text.
REAL = """\
a9681afb1a925eef0f709405b2df50c8d18f7d03 127.0.0.1:35980@45980,hosta myself,master - 0 0 1 connected 0-2 5
c61e237c6929fcc1ea9544a5a26465fc1a5a1dba 127.0.0.1:35991@45991 slave a9681afb1a925eef0f709405b2df50c8d18f7d03 0 1796685037716 1 connected
vars currentEpoch 1 lastVoteEpoch 0
"""


class Settings:
    node_timeout = 5000
    require_full_coverage = True
    announce_ip = ""
    announce_hostname = ""
    port = 7000
    cport = 17000


def test_parse_redis_file_and_render_it_back():
    st = nodesconf.parse(REAL, Settings(), now=1000)
    me = st.myself
    assert me.name.startswith("a9681afb") and me.hostname == "hosta"
    assert (me.ip, me.port, me.cport) == ("127.0.0.1", 35980, 45980)
    assert [s for s in range(16384) if st.slots[s] is me] == [0, 1, 2, 5]
    replica = st.lookup("c61e237c6929fcc1ea9544a5a26465fc1a5a1dba")
    assert replica.master is me and me.replicas == [replica] and replica.is_replica
    assert st.current_epoch == 1 and st.last_vote_epoch == 0
    text = nodesconf.render(st)
    # ping/pong times load as "now" and links are down until connected (as in Redis):
    # compare the other fields.
    def norm(t):
        return [f[:4] + f[6:7] + f[8:] for f in (line.split() for line in t.splitlines())]

    assert norm(text) == norm(REAL)
    assert text.splitlines()[1].split()[7] == "disconnected"


def test_open_slots_round_trip():
    st = ClusterState(Settings(), 0)
    other = Node("b" * 40, bus.F_MASTER)
    other.ip, other.port, other.cport = "10.0.0.1", 7001, 17001
    st.add_node(other)
    st.add_slot(st.myself, 10)
    st.migrating[10] = other
    st.importing[11] = other
    text = nodesconf.render(st)
    assert f"10 [10->-{'b' * 40}] [11-<-{'b' * 40}]" in text
    back = nodesconf.parse(text, Settings(), 0)
    assert back.migrating[10].name == "b" * 40 and back.importing[11].name == "b" * 40


@pytest.mark.parametrize("bad", [
    "nonsense\n",
    "a9681afb1a925eef0f709405b2df50c8d18f7d03 127.0.0.1:1@2 master - 0 0 1 connected\n",  # no myself
    REAL.replace("0-2 5", "0-99999"),
    REAL.replace("myself,master", "myself,bogus"),
])
def test_corrupt_files_are_refused(tmp_path, bad):
    path = tmp_path / "nodes.conf"
    path.write_text(bad)
    with pytest.raises(ConfigError, match="corrupted cluster config file"):
        nodesconf.load(str(path), Settings(), 0)


def test_save_replaces_the_file_whole(tmp_path):
    path = tmp_path / "nodes.conf"
    path.write_text("x" * 10000)
    nodesconf.save(str(path), "short\n")
    assert path.read_text() == "short\n"
    assert [p.name for p in tmp_path.iterdir()] == ["nodes.conf"]


def test_a_node_restarts_into_its_cluster():
    node = TrioNode()
    try:
        myid = node.id
        node.client.execute_command("CLUSTER", "ADDSLOTSRANGE", 100, 200)
        node.client.execute_command("CLUSTER", "BUMPEPOCH")
        before = node.nodes()
        node.halt()
        node.start()
        assert node.id == myid
        after = node.nodes()
        assert after[0][8:] == ["100-200"] == before[0][8:]
        assert after[0][6] == before[0][6] == "1"  # config epoch
        info = node.client.execute_command("CLUSTER", "INFO").decode()
        assert "cluster_current_epoch:1" in info
    finally:
        node.stop()


@pytest.mark.parametrize("extra,message", [
    (["--cluster-bootstrap", "yes"], "cannot be combined with the HA group"),
    (["--cluster-config-file", "bad.conf"], "corrupted cluster config file"),
])
def test_refused_at_start(tmp_path, extra, message):
    import subprocess
    import sys

    from .nodes import ROOT, free_port

    (tmp_path / "bad.conf").write_text("garbage line\n")
    env = {"PYTHONPATH": ROOT, "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-m", "trioredis", "server", "--port",
                          str(free_port()), "--save", "", "--dir", str(tmp_path),
                          "--cluster-enabled", "yes", *extra],
                         capture_output=True, text=True, timeout=60, env=env)
    assert out.returncode != 0
    assert message in out.stdout + out.stderr

"""A real redis-sentinel 7.0 quorum (3 processes) monitors standalone trioredis nodes (a master
and 2 replicas, no built-in election) and fails over when the master is SIGKILLed."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

import pytest
import redis

from ..helpers import free_port
from .harness import Node, wait_until

pytestmark = pytest.mark.skipif(
    shutil.which("redis-sentinel") is None,
    reason="redis-sentinel is not installed (apt-get install -y redis-sentinel)",
)


class SentinelProc:
    def __init__(self, root: str, name: str, master_port: int):
        self.port = free_port()
        self.dir = os.path.join(root, name)
        os.makedirs(self.dir)
        self.conf = os.path.join(self.dir, "sentinel.conf")
        with open(self.conf, "w") as f:
            f.write(
                f"port {self.port}\n"
                "bind 127.0.0.1\n"
                f"dir {self.dir}\n"
                f"logfile {self.dir}/sentinel.log\n"
                f"sentinel monitor mymaster 127.0.0.1 {master_port} 2\n"
                "sentinel down-after-milliseconds mymaster 1000\n"
                "sentinel failover-timeout mymaster 10000\n"
                "sentinel parallel-syncs mymaster 2\n"
            )
        self.proc = subprocess.Popen(["redis-sentinel", self.conf], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, protocol=2, socket_timeout=5)

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()

    def log(self) -> str:
        try:
            with open(f"{self.dir}/sentinel.log") as f:
                return f.read()[-3000:]
        except OSError:
            return ""


def test_real_sentinel_fails_over_trioredis():
    root = tempfile.mkdtemp(prefix="trioredis-sentinel-")
    nodes = [Node(f"n{i}", root) for i in range(3)]
    sentinels: list[SentinelProc] = []
    try:
        master, replicas = nodes[0], nodes[1:]
        master.start(cluster=False)
        for r in replicas:
            r.start("--replicaof", "127.0.0.1", str(master.port), cluster=False)
        for n in nodes:
            n.wait_up()
        # Sentinels learn replicas from the master's INFO (every 10 s): start them once both
        # replicas are attached, so the first INFO lists them.
        wait_until(lambda: master.client().info("replication")["connected_slaves"] == 2, 20,
                   "replicas to attach")
        sentinels = [SentinelProc(root, f"s{i}", master.port) for i in range(3)]

        def ready():
            for s in sentinels:
                st = s.client().sentinel_master("mymaster")
                if st["num-slaves"] != 2 or st["num-other-sentinels"] != 2:
                    return False
            return True

        wait_until(ready, 30, "sentinels to discover the replicas and each other")
        m = master.client()
        for i in range(200):
            m.set(f"k{i}", i)
        assert m.wait(2, 5000) == 2

        master.kill()

        def new_master():
            ports = {s.client().sentinel_get_master_addr_by_name("mymaster")[1]
                     for s in sentinels}
            port = int(ports.pop()) if len(ports) == 1 else master.port
            return port if port != master.port else None

        port = wait_until(new_master, 40, "the sentinels to fail over")
        promoted = next(n for n in replicas if n.port == port)
        other = next(n for n in replicas if n is not promoted)
        assert promoted.client().info("replication")["role"] == "master"

        def reconfigured():
            info = other.client().info("replication")
            return info.get("master_port") == port and info.get("master_link_status") == "up"

        wait_until(reconfigured, 30, "the other replica to follow the new master")
        pc = promoted.client()
        assert pc.get("k199") == b"199"
        pc.set("after", "1")
        assert pc.wait(1, 5000) == 1
        assert other.client().get("after") == b"1"
        # Sentinel rewrote the promoted node's config file (CONFIG REWRITE inside its MULTI).
        with open(os.path.join(promoted.dir, "node.conf")) as f:
            assert "replicaof" not in f.read().replace('replicaof ""', "")
    except BaseException:
        for s in sentinels:
            print(f"--- sentinel {s.port}\n{s.log()}")
        for n in nodes:
            print(f"--- {n.name}\n{n.tail()}")
        raise
    finally:
        for s in sentinels:
            s.stop()
        for n in nodes:
            n.kill()
        shutil.rmtree(root, ignore_errors=True)

"""Helpers for Redis Cluster tests: ports of this area (35000-35999, bus ports +10000), real
redis-server cluster nodes, and waiting on a condition with a deadline."""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import redis

import trioredis

REDIS_SERVER = shutil.which("redis-server")
REDIS_CLI = shutil.which("redis-cli")
# The checkout whose trioredis the tests import: the node processes run the same code.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(trioredis.__file__)))

_ports = itertools.count(35000 + (os.getpid() % 40) * 20)


def free_port() -> int:
    """A port of this test area whose port and port + 10000 are both free on loopback."""
    for _ in range(1000):
        p = next(_ports)
        if p > 35999 - 0:
            raise RuntimeError("out of ports in 35000-35999")
        if _free(p) and _free(p + 10000):
            return p
    raise RuntimeError("no free port pair")


def _free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def wait_for(pred, timeout: float = 10.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


class RealNode:
    """A real redis-server 7.0 with cluster-enabled yes on loopback, in a temporary dir."""

    kind = "redis"

    def __init__(self, *extra: str, port: int | None = None, dir: str | None = None,
                 timeout: int = 5000):
        self.port = port or free_port()
        self.dir = dir or tempfile.mkdtemp(prefix=f"rcluster-{self.kind}-")
        self.extra = extra
        self.timeout = timeout
        for attempt in range(3):
            try:
                self.start()
                return
            except (RuntimeError, AssertionError):
                # A port found free may be taken before the server binds it (this machine's
                # ephemeral ports overlap the test range): another port, when we chose it.
                self.halt()
                if port is not None or attempt == 2:
                    shutil.rmtree(self.dir, ignore_errors=True)
                    raise
                self.port = free_port()

    def command(self) -> list[str]:
        return [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--daemonize", "no", "--dir", self.dir,
                "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                "--cluster-node-timeout", str(self.timeout), "--enable-debug-command", "yes",
                *self.extra]

    def start(self) -> None:
        self.log = open(os.path.join(self.dir, "log"), "ab")
        env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
        self.proc = subprocess.Popen(self.command(), stdout=self.log, stderr=self.log,
                                     cwd=self.dir, env=env)
        self.client = redis.Redis(port=self.port, socket_timeout=10)
        wait_for(self._up, 20, f"{self.kind} on {self.port}")

    def _up(self) -> bool:
        try:
            return self.client.ping()
        except redis.ConnectionError:
            if self.proc.poll() is not None:
                raise RuntimeError("redis-server exited") from None
            return False

    @property
    def id(self) -> str:
        return self.client.execute_command("CLUSTER", "MYID").decode()

    def halt(self) -> None:
        """Stop the process, keep its directory (a restart reads nodes.conf)."""
        self.client.close()
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()

    def stop(self) -> None:
        self.halt()
        if not os.environ.get("RCLUSTER_KEEP_DIRS"):  # for a post-mortem: keep logs, nodes.conf
            shutil.rmtree(self.dir, ignore_errors=True)

    def nodes(self) -> list[list[str]]:
        text = self.client.execute_command("CLUSTER", "NODES")
        return [line.split() for line in text.decode().splitlines() if line]

    def state_ok(self) -> bool:
        info = self.client.execute_command("CLUSTER", "INFO").decode()
        return "cluster_state:ok" in info


class TrioNode(RealNode):
    """A trioredis server with cluster-enabled yes, as a process of its own."""

    kind = "trioredis"

    def command(self) -> list[str]:
        return [sys.executable, "-m", "trioredis", "server", "--port", str(self.port),
                "--bind", "127.0.0.1", "--save", "", "--dir", self.dir,
                "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                "--cluster-node-timeout", str(self.timeout), "--enable-debug-command", "yes",
                *self.extra]


def start_all(*factories) -> list:
    """Start nodes one after another; if one fails, stop those already started."""
    nodes: list = []
    try:
        for make in factories:
            nodes.append(make())
    except BaseException:
        for n in nodes:
            n.stop()
        raise
    return nodes


def all_agree(nodes) -> bool:
    """Every node knows every other, connected, none in handshake, the same slot owners."""
    views = []
    for n in nodes:
        rows = n.nodes()
        if len(rows) != len(nodes):
            return False
        if any("handshake" in r[2] or r[7] != "connected" for r in rows):
            return False
        views.append(sorted((r[0], r[3], tuple(r[8:])) for r in rows))
    return all(v == views[0] for v in views)

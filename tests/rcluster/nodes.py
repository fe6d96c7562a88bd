"""Helpers for Redis Cluster tests: ports of this area (35000-35999, bus ports +10000), real
redis-server cluster nodes, and waiting on a condition with a deadline."""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
import time

import redis

REDIS_SERVER = shutil.which("redis-server")

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

    def __init__(self, *extra: str, port: int | None = None):
        self.port = port or free_port()
        self.dir = tempfile.mkdtemp(prefix="rcluster-real-")
        args = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--daemonize", "no", "--dir", self.dir,
                "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                "--cluster-node-timeout", "5000", *extra]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.client = redis.Redis(port=self.port, socket_timeout=10)
        wait_for(self._up, 10, f"redis-server on {self.port}")

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

    def stop(self) -> None:
        self.client.close()
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)

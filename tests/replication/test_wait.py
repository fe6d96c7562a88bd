"""WAIT: early return, the lower count when a replica is paused (SIGSTOP), concurrent WAITs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

import redis

from ..helpers import ThreadedServer, free_port, wait_port
from .test_replication import wait_until


def start_replica(master_port: int) -> tuple[subprocess.Popen, int, str]:
    port = free_port()
    d = tempfile.mkdtemp(prefix="trioredis-replica-")
    proc = subprocess.Popen(
        [sys.executable, "-m", "trioredis", "server", "--port", str(port), "--dir", d,
         "--save", "", "--loglevel", "warning", "--replicaof", f"127.0.0.1 {master_port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    wait_port(port)
    r = redis.Redis(port=port, protocol=2)
    wait_until(lambda: r.info("replication").get("master_link_status") == "up", timeout=20)
    return proc, port, d


def test_wait_counts_only_live_replicas_when_one_is_paused():
    with ThreadedServer() as master:
        procs = [start_replica(master.port) for _ in range(2)]
        try:
            m = redis.Redis(port=master.port, protocol=2, socket_timeout=30)
            m.set("k", "1")
            assert m.wait(2, 5000) == 2
            os.kill(procs[0][0].pid, signal.SIGSTOP)
            try:
                m.set("k", "2")
                start = time.monotonic()
                assert m.wait(2, 1000) == 1  # the paused one never acknowledges
                elapsed = time.monotonic() - start
                assert 0.9 <= elapsed < 5
                assert m.wait(1, 5000) == 1  # one is enough: returns early
            finally:
                os.kill(procs[0][0].pid, signal.SIGCONT)
            assert m.wait(2, 10_000) == 2  # resumed, it catches up and acknowledges
        finally:
            for proc, _, _ in procs:
                proc.kill()
                proc.wait()


def test_concurrent_waits_each_get_their_answer():
    with ThreadedServer() as master:
        rep = ThreadedServer(replicaof=f"127.0.0.1 {master.port}").start()
        try:
            rc = redis.Redis(port=rep.port, protocol=2)
            wait_until(lambda: rc.info("replication").get("master_link_status") == "up")
            results: dict[int, tuple[int, int]] = {}

            def worker(i: int) -> None:
                c = redis.Redis(port=master.port, protocol=2, socket_timeout=30)
                c.set(f"k{i}", i)
                results[i] = (c.wait(1, 5000), c.wait(2, 300))

            threads = [threading.Thread(target=worker, args=(i,)) for i in range(10)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(30)
            assert results == {i: (1, 1) for i in range(10)}
        finally:
            rep.stop()

"""Test harness for trioredis groups: nodes as subprocesses, and a fault-injecting network.

``Node`` runs ``python -m trioredis server`` on a loopback port with its own directory (kept
across restarts, so the node file keeps the node's identity and term). ``Net`` puts a TCP
proxy in front of every node; nodes announce the proxy's port (``cluster-announce-port``), so
all traffic between nodes (heartbeats, votes, replication) crosses the proxies, while the test
talks to the nodes directly. ``Net.cut(a, b)`` stops the traffic between two nodes in both
directions: the proxy tells which node opened a connection by finding the owner of the
connecting socket in /proc (Linux), so one node's proxy can let one peer through and not the
other. A cut connection stalls (nothing is read, like a network that drops packets); healing
closes the stalled connections, and new ones flow again.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import redis

from ..helpers import free_port

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

HEARTBEAT_MS = 100
NODE_TIMEOUT_MS = 1000


def wait_until(fn, timeout: float = 15.0, what: str = "condition", interval: float = 0.02):
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = fn()
        except (redis.RedisError, OSError):
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)


class Node:
    """One trioredis server process in a directory of its own."""

    def __init__(self, name: str, root: str, port: int | None = None):
        self.name = name
        self.port = port or free_port()
        self.dir = os.path.join(root, name)
        os.makedirs(self.dir, exist_ok=True)
        self.proc: subprocess.Popen | None = None
        self.args: list[str] = []
        self.announce_port = 0  # the proxy in front of it, when there is one

    @property
    def log_path(self) -> str:
        return os.path.join(self.dir, "log")

    def start(self, *args: str, cluster: bool = True) -> Node:
        self.args = list(args)
        cmd = [sys.executable, "-m", "trioredis", "server"]
        config_file = os.path.join(self.dir, "node.conf")
        if not cluster:
            # A config file, so CONFIG REWRITE (sent by Sentinel) works.
            if not os.path.exists(config_file):
                with open(config_file, "w") as f:
                    f.write(f"port {self.port}\n")
            cmd.append(config_file)
        cmd += ["--port", str(self.port), "--dir", self.dir, "--save", "", "--appendonly", "no",
                "--enable-debug-command", "yes", "--logfile", self.log_path,
                "--loglevel", "notice"]
        if cluster:
            cmd += ["--cluster-heartbeat-ms", str(HEARTBEAT_MS),
                    "--cluster-node-timeout", str(NODE_TIMEOUT_MS)]
            if self.announce_port:
                cmd += ["--cluster-announce-port", str(self.announce_port)]
        cmd += list(args)
        env = dict(os.environ, PYTHONPATH=ROOT)
        with open(os.path.join(self.dir, "stderr"), "ab") as err:
            self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                         stderr=err)
        return self

    def wait_up(self, timeout: float = 30.0) -> Node:
        def up():
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.name} exited: {self.tail()}")
            return self.client(timeout=1).ping()

        wait_until(up, timeout, f"{self.name} to accept connections")
        return self

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self) -> int:
        return self.proc.pid

    def client(self, timeout: float = 5.0) -> redis.Redis:
        return redis.Redis(port=self.port, protocol=2, socket_timeout=timeout,
                           socket_connect_timeout=timeout)

    def call(self, *args, timeout: float = 5.0):
        c = self.client(timeout)
        try:
            return c.execute_command(*args)
        finally:
            c.close()

    def info(self) -> dict:
        text = self.call("TRIOCLUSTER", "INFO").decode()
        return dict(line.split(":", 1) for line in text.split("\r\n") if ":" in line)

    def role(self) -> str | None:
        try:
            return self.info()["cluster_role"]
        except (redis.RedisError, OSError):
            return None

    def term(self) -> int:
        return int(self.info()["cluster_current_term"])

    def terms_led(self) -> list[int]:
        """The terms this node led: TRIOCLUSTER TERMS, or its node file when it is down."""
        if self.alive():
            return [t for t, _ in self.call("TRIOCLUSTER", "TERMS")]
        with open(os.path.join(self.dir, "trioredis-cluster.json")) as f:
            return [t for t, _ in json.load(f)["terms_led"]]

    def digest(self) -> bytes:
        return self.call("DEBUG", "DIGEST")

    def tail(self, n: int = 4000) -> str:
        try:
            with open(self.log_path) as f:
                log = f.read()[-n:]
        except OSError:
            log = ""
        try:
            with open(os.path.join(self.dir, "stderr")) as f:
                log += f.read()[-n:]
        except OSError:
            pass
        return log


class Group:
    """A trioredis group of ``n`` nodes; ``net`` puts proxies between them."""

    def __init__(self, n: int, with_net: bool = False):
        self.root = tempfile.mkdtemp(prefix="trioredis-cluster-")
        self.nodes = [Node(f"n{i + 1}", self.root) for i in range(n)]
        self.net = Net() if with_net else None
        if self.net is not None:
            for node in self.nodes:
                self.net.add(node)

    def start(self) -> Group:
        first, rest = self.nodes[0], self.nodes[1:]
        first.start("--cluster-bootstrap", "yes")
        self.track(first)
        first.wait_up()
        for node in rest:
            node.start("--cluster-join", f"127.0.0.1:{first.port}")
            self.track(node)
        for node in rest:
            node.wait_up()
        self.wait_healthy()
        return self

    def track(self, node: Node) -> None:
        if self.net is not None:
            self.net.pids[node.name] = node.pid

    def restart(self, node: Node, *args: str) -> Node:
        node.kill()
        node.start(*args)
        self.track(node)
        node.wait_up()
        return node

    def leader(self, among=None) -> Node | None:
        """The one node that says it is the leader (None while there is none, or several)."""
        found = [n for n in (among or self.nodes) if n.alive() and n.role() == "leader"]
        return found[0] if len(found) == 1 else None

    def wait_leader(self, among=None, timeout: float = 15.0) -> Node:
        return wait_until(lambda: self.leader(among), timeout, "a single leader")

    def wait_healthy(self, timeout: float = 30.0) -> Node:
        """Every node up, one leader, every follower following it with its link up."""
        def healthy():
            leader = self.leader()
            if leader is None:
                return None
            lid = leader.info()["cluster_node_id"]
            for n in self.nodes:
                if n is leader:
                    continue
                info = n.info()
                if info["cluster_leader_id"] != lid or info["cluster_state"] != "ok":
                    return None
                if n.client().info("replication").get("master_link_status") != "up":
                    return None
            return leader

        return wait_until(healthy, timeout, "a healthy group")

    def wait_same_data(self, timeout: float = 20.0) -> bytes:
        def same():
            digests = {n.digest() for n in self.nodes}
            return digests.pop() if len(digests) == 1 else None

        return wait_until(same, timeout, "equal digests on every node")

    def check_terms(self) -> None:
        """No two nodes ever led the same term."""
        seen: dict[int, str] = {}
        for n in self.nodes:
            for t in n.terms_led():
                assert t not in seen, f"term {t} led by {seen[t]} and {n.name}"
                seen[t] = n.name

    def stop(self) -> None:
        for n in self.nodes:
            n.kill()
        if self.net is not None:
            self.net.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def logs(self) -> str:
        return "\n".join(f"--- {n.name}\n{n.tail()}" for n in self.nodes)

    def __enter__(self) -> Group:
        try:
            return self.start()
        except BaseException:
            print(self.logs())
            self.stop()
            raise

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            print(self.logs())
        self.stop()


# -- the fault-injecting network -------------------------------------------------------------


def _socket_inode(src_port: int, dst_port: int) -> str | None:
    """The inode of the loopback socket src_port -> dst_port (the connecting side)."""
    want_local = f":{src_port:04X}"
    want_remote = f":{dst_port:04X}"
    try:
        with open("/proc/net/tcp") as f:
            next(f)
            for line in f:
                parts = line.split()
                if parts[1].endswith(want_local) and parts[2].endswith(want_remote):
                    return parts[9]
    except OSError:
        return None
    return None


def _owner(inode: str, pids: dict[str, int]) -> str | None:
    target = f"socket:[{inode}]"
    for name, pid in list(pids.items()):
        fd_dir = f"/proc/{pid}/fd"
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"{fd_dir}/{fd}") == target:
                    return name
            except OSError:
                continue
    return None


class Net:
    def __init__(self):
        self.cuts: set[tuple[str, str]] = set()
        self.pids: dict[str, int] = {}
        self.proxies: dict[str, Proxy] = {}
        self.lock = threading.Lock()

    def add(self, node: Node) -> None:
        proxy = Proxy(self, node.name, node.port)
        self.proxies[node.name] = proxy
        node.announce_port = proxy.port

    def blocked(self, src: str | None, dst: str) -> bool:
        return src is not None and (src, dst) in self.cuts

    def cut(self, a: Node, b: Node) -> None:
        with self.lock:
            self.cuts |= {(a.name, b.name), (b.name, a.name)}

    def isolate(self, node: Node, others) -> None:
        for o in others:
            if o is not node:
                self.cut(node, o)

    def heal(self) -> None:
        with self.lock:
            self.cuts.clear()

    def origin(self, src_port: int, dst_port: int) -> str | None:
        inode = None
        for _ in range(20):  # the kernel may list the socket a moment after accept()
            inode = _socket_inode(src_port, dst_port)
            if inode is not None:
                break
            time.sleep(0.005)
        return _owner(inode, self.pids) if inode else None

    def stop(self) -> None:
        for p in self.proxies.values():
            p.stop()


class Proxy:
    """Forwards 127.0.0.1:port to one node, obeying the Net's cuts."""

    def __init__(self, net: Net, dst: str, target_port: int):
        self.net = net
        self.dst = dst
        self.target_port = target_port
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.running = True
        self.threads: list[threading.Thread] = []
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()
        self.threads.append(t)

    def stop(self) -> None:
        self.running = False
        try:
            self.sock.close()
        except OSError:
            pass

    def _accept(self) -> None:
        while self.running:
            try:
                conn, addr = self.sock.accept()
            except OSError:
                return
            t = threading.Thread(target=self._serve, args=(conn, addr[1]), daemon=True)
            t.start()

    def _serve(self, conn: socket.socket, src_port: int) -> None:
        src = self.net.origin(src_port, self.port)
        try:
            up = socket.create_connection(("127.0.0.1", self.target_port), timeout=2)
        except OSError:
            conn.close()
            return
        state = {"stalled": False, "closed": False}
        threads = [
            threading.Thread(target=self._pump, args=(conn, up, src, state), daemon=True),
            threading.Thread(target=self._pump, args=(up, conn, src, state), daemon=True),
        ]
        for t in threads:
            t.start()

    def _pump(self, a: socket.socket, b: socket.socket, src, state) -> None:
        try:
            while self.running and not state["closed"]:
                if self.net.blocked(src, self.dst):
                    state["stalled"] = True
                    time.sleep(0.01)
                    continue
                if state["stalled"]:
                    break  # healed: a connection that lost data in between is closed
                r, _, _ = select.select([a], [], [], 0.05)
                if not r:
                    continue
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        finally:
            state["closed"] = True
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

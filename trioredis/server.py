"""Serving: listeners, one task per client, the periodic cron, and clean shutdown.

``await nursery.start(trioredis.serve, config)`` runs a server inside any Trio program and
returns the bound port; cancelling the enclosing scope stops it. Listeners live in an inner
scope that is cancelled first; connections get a short grace period to write what they owe.
"""

from __future__ import annotations

import errno
import socket
import time

import trio
from trio.lowlevel import wait_readable

from .config import Config
from .connection import Connection, Flusher
from .core import Server
from .log import Logger

SHUTDOWN_GRACE = 2.0


class ServerRunner:
    """Ties a sans-I/O :class:`Server` to sockets and tasks."""

    def __init__(self, server: Server, log: Logger):
        self.server = server
        self.log = log
        self.listeners: list[socket.socket] = []
        self.connections: set[Connection] = set()
        self.port = 0
        self.shutdown_event = trio.Event()
        self.nursery: trio.Nursery | None = None  # server-lifetime tasks (replication, ...)
        self.exit_code = 0
        self.started = False  # listening and reported ready: later errors are not start-up's
        server.runner = self
        server.shutdown_requested = self.request_shutdown

    def spawn(self, fn, *args) -> bool:
        """Start a server-lifetime task from synchronous code (REPLICAOF, ...)."""
        if self.nursery is None:
            return False
        self.nursery.start_soon(fn, *args)
        return True

    def call_later(self, delay: float, fn) -> bool:
        """Run ``fn()`` (synchronous, like a command) after ``delay`` seconds, in a task of the
        server's nursery; False when there is no nursery yet (or any more)."""

        async def later():
            await trio.sleep(delay)
            try:
                fn()
            except Exception as e:  # one timer's bug must not take the server down
                self.log.warning(f"timer {getattr(fn, '__qualname__', fn)} failed: {e!r}")

        return self.spawn(later)

    def request_shutdown(self, code: int = 0) -> None:
        self.exit_code = code
        self.shutdown_event.set()

    def bind(self) -> int:
        cfg = self.server.config
        port = cfg["port"]
        addrs = cfg["bind"] or ["127.0.0.1"]
        for addr in addrs:
            optional = addr.startswith("-")
            addr = addr.lstrip("-")
            try:
                sock = open_listener(addr, port, cfg["tcp-backlog"])
            except OSError as e:
                if optional and e.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
                    continue
                for s in self.listeners:
                    s.close()
                self.listeners = []
                raise
            if port == 0:
                port = sock.getsockname()[1]
            self.listeners.append(sock)
        self.port = port
        cfg.set_value("port", port)
        return port

    async def accept_loop(self, lsock: socket.socket, nursery: trio.Nursery) -> None:
        srv = self.server
        while True:
            sock, addr = await accept_one(lsock, self.log, "client connection")
            sock.setblocking(False)
            if sock.family != socket.AF_UNIX:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if len(srv.clients) >= srv.config["maxclients"]:
                srv.stat_rejected_conn += 1
                try:
                    sock.send(b"-ERR max number of clients reached\r\n")
                finally:
                    sock.close()
                continue
            peer = fmt_addr(addr)
            local = fmt_addr(sock.getsockname())
            client = srv.new_client(peer, local, sock.fileno())
            conn = Connection(srv, sock, client, self.log)
            nursery.start_soon(self._run_connection, conn)

    async def _run_connection(self, conn: Connection) -> None:
        self.connections.add(conn)
        try:
            await conn.run()
        finally:
            self.connections.discard(conn)

    async def cron(self) -> None:
        """serverCron: active expiry and the periodic hooks, ``hz`` times a second."""
        srv = self.server
        while True:
            hz = srv.config["hz"]
            await trio.sleep(1 / hz)
            srv.update_cached_time()
            self.active_expire()
            srv.run_hooks("cron")

    def active_expire(self) -> None:
        """Reclaim expired keys within a CPU budget (25% of a cron tick, as Redis's effort 1)."""
        srv = self.server
        if srv.role == "slave":
            for db in srv.dbs:  # only keys a writable replica's clients gave a TTL
                if db.replica_expires:
                    db.expire_replica_keys(srv.now_ms())
            return
        budget = 0.25 / srv.config["hz"]
        start = time.perf_counter()
        now = srv.now_ms()
        for db in srv.dbs:
            if not db.expire_heap:
                continue
            while db.expire_cycle(now, 200) == 200:
                if time.perf_counter() - start > budget:
                    return
        if srv.ready_keys:
            srv.serve_ready_keys()

    def close_listeners(self) -> None:
        for s in self.listeners:
            try:
                s.close()
            except OSError:
                pass
        self.listeners = []


def open_listener(addr: str, port: int, backlog: int) -> socket.socket:
    """A non-blocking listening TCP socket on ``addr`` (``*`` = all IPv4; IPv6 v6-only)."""
    if addr == "*":
        addr = "0.0.0.0"
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind((addr, port))
        sock.listen(backlog)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


async def accept_one(lsock: socket.socket, log, what: str):
    """The next ``(socket, address)`` from a listener; out of descriptors or memory, log it
    and try again 100 ms later, as Redis does, instead of failing the listener."""
    while True:
        try:
            return lsock.accept()
        except BlockingIOError:
            await wait_readable(lsock)
        except OSError as e:
            if e.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                log.warning(f"Error accepting a {what}: {e}")
                await trio.sleep(0.1)
                continue
            raise


def fmt_addr(addr) -> str:
    """``host:port``, ``[v6]:port``, or a Unix path, as Redis prints addresses."""
    if isinstance(addr, tuple):
        host, port = addr[0], addr[1]
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return str(addr)


async def serve(
    config: Config | dict | None = None,
    *,
    server: Server | None = None,
    log: Logger | None = None,
    task_status=trio.TASK_STATUS_IGNORED,
) -> int:
    """Run a trioredis server until cancelled or SHUTDOWN. Reports the bound port.

    Returns the exit code (0, or 1 for a failed SHUTDOWN-time save).
    """
    if isinstance(config, dict):
        cfg = Config()
        for k, v in config.items():
            cfg.set(k.replace("_", "-"), str(v), startup=True)
        config = cfg
    srv = server or Server(config or Config())
    log = log or Logger(srv.config["loglevel"], srv.config["logfile"])
    srv.log = log
    srv.config.on_change("loglevel", lambda v, old: log.set_level(v))
    runner = ServerRunner(srv, log)
    port = runner.bind()
    srv.run_hooks("startup", runner)
    log.notice(f"Running mode=standalone, port={port}.")
    log.notice("Ready to accept connections tcp")
    task_status.started(port)
    runner.started = True
    try:
        async with trio.open_nursery() as conns:
            async with trio.open_nursery() as listeners:
                runner.nursery = listeners
                flusher = Flusher()
                srv.flusher = flusher
                listeners.start_soon(flusher.run)
                for lsock in runner.listeners:
                    listeners.start_soon(runner.accept_loop, lsock, conns)
                listeners.start_soon(runner.cron)
                for starter in srv.hooks.get("tasks", ()):
                    listeners.start_soon(starter)
                await runner.shutdown_event.wait()
                listeners.cancel_scope.cancel()
            srv.flusher = None  # connections drain on their own from here
            runner.close_listeners()
            # Let connections write what they owe, then close them.
            conns.cancel_scope.deadline = trio.current_time() + SHUTDOWN_GRACE
            for conn in list(runner.connections):
                conn.kill()
    finally:
        runner.close_listeners()
    log.notice("Redis is now ready to exit, bye bye...")
    return runner.exit_code

"""Serving: listeners, one task per client, the periodic cron, and clean shutdown.

``await nursery.start(trioredis.serve, config)`` runs a server inside any Trio program and
returns the bound port; cancelling the enclosing scope stops it. Listeners live in an inner
scope that is cancelled first; connections get a short grace period to write what they owe.
"""

from __future__ import annotations

import errno
import os
import socket
import sys
import time

import trio
from trio.lowlevel import notify_closing, wait_readable

from .config import Config
from .connection import Connection, Flusher
from .core import Server
from .errors import ConfigError
from .limits import adjust_open_files_limit, protected_mode_refusal
from .log import NOTICE, VERBOSE, Logger, logo
from .renames import apply_command_renames
from .tls import TLSState

SHUTDOWN_GRACE = 2.0


class ServerRunner:
    """Ties a sans-I/O :class:`Server` to sockets and tasks."""

    def __init__(self, server: Server, log: Logger):
        self.server = server
        self.log = log
        self.listeners: list[socket.socket] = []
        self.conns: trio.Nursery | None = None  # where accepted connections run
        self.unix_listener: socket.socket | None = None  # ``unixsocket``
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
        """Stop accepting at once (Redis exits inside SHUTDOWN: a client connecting right
        after is refused), then let the serve loop wind down."""
        self.exit_code = code
        self.close_listeners()
        self.shutdown_event.set()

    def bind(self) -> int:
        cfg = self.server.config
        self.listeners, port = self.open_listeners(cfg["bind"], cfg["port"])
        self.port = port
        cfg.set_value("port", port)
        if cfg["unixsocket"]:
            try:
                self.unix_listener = open_unix_listener(cfg["unixsocket"], cfg["unixsocketperm"],
                                                        cfg["tcp-backlog"])
            except OSError as e:
                self.close_listeners()
                self.log.warning(f"Failed opening Unix socket: {e.strerror}")
                raise
        return port

    def open_listeners(self, addrs: list[str], port: int) -> tuple[list[socket.socket], int]:
        """Listening sockets on every address of ``bind`` (``-addr``: optional, skipped when
        the address or its family is not available, as Redis's ``-::*``), and the port bound
        (``port`` 0: the one the first socket got). OSError when a required one fails."""
        socks: list[socket.socket] = []
        for addr in addrs or ["127.0.0.1"]:
            optional = addr.startswith("-")
            addr = addr.lstrip("-")
            try:
                sock = open_listener(addr, port, self.server.config["tcp-backlog"])
            except OSError as e:
                if optional and e.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT,
                                            errno.EPROTONOSUPPORT):
                    continue
                self.log.warning(f"Warning: Could not create server TCP listening socket "
                                 f"{addr}:{port}: bind: {e.strerror}")
                for s in socks:
                    s.close()
                raise
            if port == 0:
                port = sock.getsockname()[1]
            socks.append(sock)
        return socks, port

    def rebind(self, addrs: list[str], port: int, old_addrs: list[str]) -> None:
        """CONFIG SET bind/port: replace the listeners, as Redis's changeBindAddr /
        changeListenPort. A new port is opened before the old one closes; new addresses after
        the old ones close (``*`` would clash with ``127.0.0.1`` on the same port), and when
        they cannot be opened the old ones are opened again. ConfigError on failure (CONFIG
        SET then restores the value)."""
        old = self.listeners
        same_port = port == self.port
        if same_port:
            self.close_listeners()
        try:
            socks, port = self.open_listeners(addrs, port)
        except OSError as e:
            if same_port:
                try:
                    self._start_accepting(self.open_listeners(old_addrs, self.port)[0])
                except OSError as e2:
                    self.log.warning(f"Failed to restore the previous listeners: {e2}")
            raise ConfigError(str(e)) from None
        if not same_port:
            for s in old:
                _close_listener(s)
        self.port = port
        self.server.config.set_value("port", port)
        self._start_accepting(socks)

    def _start_accepting(self, socks: list[socket.socket]) -> None:
        self.listeners = socks
        if self.nursery is not None and self.conns is not None:
            for s in socks:
                self.nursery.start_soon(self.accept_loop, s, self.conns)

    def _on_port_change(self, port, old) -> None:
        try:
            bind = self.server.config["bind"]
            self.rebind(bind, port, bind)
        except ConfigError:
            raise ConfigError("Unable to listen on this port. Check server logs.") from None

    def _on_bind_change(self, addrs, old) -> None:
        try:
            self.rebind(addrs, self.port, old)
        except ConfigError:
            self.log.warning("Failed to bind")
            self.log.warning("Failed applying new configuration. Possibly related to new bind "
                             "setting. Restoring previous settings.")
            raise ConfigError("Failed to bind to specified addresses.") from None

    async def accept_loop(self, lsock: socket.socket, nursery: trio.Nursery, wrap=None) -> None:
        """Accept clients on ``lsock``; ``wrap`` makes the connection (tls-port: TLS)."""
        srv = self.server
        log = self.log
        while True:
            try:
                sock, addr = await accept_one(lsock, log, "client connection")
            except trio.ClosedResourceError:
                return  # CONFIG SET bind/port replaced this listener
            sock.setblocking(False)
            if sock.family != socket.AF_UNIX:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            denied = protected_mode_refusal(
                srv, None if sock.family == socket.AF_UNIX else addr[0])
            if denied is not None:  # protected mode: a non-loopback client, no password
                try:
                    sock.send(denied)
                finally:
                    sock.close()
                continue
            if len(srv.clients) >= srv.config["maxclients"]:
                srv.stat_rejected_conn += 1
                try:
                    sock.send(b"-ERR max number of clients reached\r\n")
                finally:
                    sock.close()
                continue
            if sock.family == socket.AF_UNIX:  # Redis names both ends "<path>:0"
                peer = local = f"{lsock.getsockname()}:0"
            else:
                peer = fmt_addr(addr)
                local = fmt_addr(sock.getsockname())
            if log.level <= VERBOSE:
                log.verbose(f"Accepted {peer}" if sock.family != socket.AF_UNIX
                            else f"Accepted connection to {lsock.getsockname()}")
            client = srv.new_client(peer, local, sock.fileno())
            if wrap is None:
                conn = Connection(srv, sock, client, self.log)
            else:
                conn = wrap(srv, sock, client, self.log)
            nursery.start_soon(self._run_connection, conn)

    async def _run_connection(self, conn: Connection) -> None:
        self.connections.add(conn)
        try:
            await conn.run()
        finally:
            self.connections.discard(conn)
            if self.log.level <= VERBOSE:
                try:
                    self._log_close(conn)
                except Exception as e:  # a log line must never end the server
                    self.log.warning(f"Logging a closed connection failed: {e!r}")

    def _log_close(self, conn: Connection) -> None:
        """Redis's verbose lines for a client that hung up or whose read failed."""
        if conn.peer_closed:
            try:
                from .commands.client_cmd import client_info_line
            except ImportError:  # CLIENT's module before it left commands/connection.py
                from .commands.connection import client_info_line

            info = client_info_line(conn.client).decode("utf-8", "replace").rstrip("\n")
            self.log.verbose(f"Client closed connection {info}")
        elif conn.read_error is not None:
            self.log.verbose(f"Reading from client: {conn.read_error.strerror}")

    async def cron(self) -> None:
        """serverCron: active expiry and the periodic hooks, ``hz`` times a second."""
        srv = self.server
        while True:
            hz = srv.config["hz"]
            await trio.sleep(1 / hz)
            srv.update_cached_time()
            t = time.perf_counter()
            self.active_expire()
            srv.timing.monitor.add_if_needed("expire-cycle", int((time.perf_counter() - t) * 1000))
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
            _close_listener(s)
        self.listeners = []


def _close_listener(sock: socket.socket) -> None:
    """Close a listener an accept loop may be waiting on (it ends, seeing it closed)."""
    try:
        notify_closing(sock)
    except (OSError, ValueError, RuntimeError):
        pass
    try:
        sock.close()
    except OSError:
        pass


def open_unix_listener(path: str, perm: int, backlog: int) -> socket.socket:
    """``unixsocket``: a listening Unix socket at ``path`` (a stale one is replaced), with
    ``unixsocketperm``'s mode when set, as Redis's anetUnixServer."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(path)
        if perm:
            os.chmod(path, perm)
        sock.listen(backlog)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def open_listener(addr: str, port: int, backlog: int) -> socket.socket:
    """A non-blocking listening TCP socket on ``addr`` (``*`` = all IPv4, ``::*`` = all IPv6,
    as Redis; IPv6 sockets are v6-only, so both can share the port)."""
    if addr == "*":
        addr = "0.0.0.0"
    elif addr == "::*":
        addr = "::"
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
    adjust_open_files_limit(srv.config, log)
    apply_command_renames(srv.config)
    port = runner.bind()
    show_logo(srv.config, log, port)
    log.warning("Server initialized")
    memory_warnings(log)
    srv.run_hooks("startup", runner)
    log.notice("Ready to accept connections")
    if runner.unix_listener is not None:
        log.notice(f"The server is now ready to accept connections at {srv.config['unixsocket']}")
    notify_supervisor(srv.config, log, "READY=1")
    srv.config.on_change("port", runner._on_port_change)
    srv.config.on_change("bind", runner._on_bind_change)
    task_status.started(port)
    runner.started = True
    try:
        async with trio.open_nursery() as conns:
            runner.conns = conns
            async with trio.open_nursery() as listeners:
                runner.nursery = listeners
                flusher = Flusher()
                srv.flusher = flusher
                listeners.start_soon(flusher.run)
                for lsock in runner.listeners:
                    listeners.start_soon(runner.accept_loop, lsock, conns)
                if runner.unix_listener is not None:
                    listeners.start_soon(runner.accept_loop, runner.unix_listener, conns)
                tls: TLSState | None = getattr(srv, "tls", None)
                if tls is not None:
                    tls.start_accepting(runner)
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
        if getattr(srv, "tls", None) is not None:
            srv.tls.close_listeners()
        runner.conns = runner.nursery = None
        if runner.unix_listener is not None:
            _close_listener(runner.unix_listener)
            runner.unix_listener = None
            log.notice("Removing the unix socket file.")
            try:
                os.unlink(srv.config["unixsocket"])
            except OSError:
                pass
    log.warning("Redis is now ready to exit, bye bye...")
    return runner.exit_code


def show_logo(cfg: Config, log: Logger, port: int) -> None:
    """Redis's ASCII logo when ``always-show-logo`` is set or a person watches stdout (no
    log file, no syslog, a terminal), else its one-line form, as redisAsciiArt decides."""
    from .info import VERSION

    mode = "cluster" if cfg["cluster-enabled"] else "standalone"
    if cfg["always-show-logo"] or (not cfg["logfile"] and not cfg["syslog-enabled"]
                                   and _isatty(sys.stdout)):
        log.raw(NOTICE, logo("trioredis", VERSION, mode, port, os.getpid(),
                             64 if sys.maxsize > 2**32 else 32))
    else:
        log.notice(f"Running mode={mode}, port={port}.")


def _isatty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):
        return False


OVERCOMMIT_WARNING = (
    "WARNING Memory overcommit must be enabled! Without it, a background save or replication "
    "may fail under low memory condition. Being disabled, it can can also cause failures "
    "without low memory condition, see https://github.com/jemalloc/jemalloc/issues/1328. To "
    "fix this issue add 'vm.overcommit_memory = 1' to /etc/sysctl.conf and then reboot or run "
    "the command 'sysctl vm.overcommit_memory=1' for this to take effect."
)


def memory_warnings(log: Logger, path: str = "/proc/sys/vm/overcommit_memory") -> None:
    """Redis's linuxMemoryWarnings: BGSAVE and full syncs fork(), which overcommit_memory 0
    may refuse under memory pressure."""
    try:
        with open(path) as f:
            value = f.read().strip()
    except OSError:
        return
    if value == "0":
        log.warning(OVERCOMMIT_WARNING)


def supervised_mode(cfg: Config) -> str:
    """``supervised``: no, systemd or upstart (``auto`` from the environment, as Redis)."""
    mode = cfg["supervised"]
    if mode == "auto":
        if os.environ.get("UPSTART_JOB"):
            return "upstart"
        return "systemd" if os.environ.get("NOTIFY_SOCKET") else "no"
    return mode


def notify_supervisor(cfg: Config, log: Logger, state: str) -> None:
    """``supervised systemd``: tell systemd (sd_notify) we are ready; ``upstart``: stop
    ourselves with SIGSTOP, as Redis does, so upstart knows."""
    mode = supervised_mode(cfg)
    if mode == "systemd":
        path = os.environ.get("NOTIFY_SOCKET", "")
        if not path:
            log.warning("systemd supervision requested or auto-detected, but no socket found")
            return
        if path.startswith("@"):
            path = "\0" + path[1:]
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
                s.connect(path)
                s.send(state.encode())
        except OSError as e:
            log.warning(f"Can't send notification to systemd: {e}")
    elif mode == "upstart" and state == "READY=1" and os.environ.get("UPSTART_JOB"):
        import signal

        os.kill(os.getpid(), signal.SIGSTOP)
        os.environ.pop("UPSTART_JOB", None)

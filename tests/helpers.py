"""Test helpers: a trioredis running in its own thread, a real redis-server, raw sockets."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from functools import partial

import trio

from trioredis.config import Config
from trioredis.core import Server
from trioredis.log import Logger
from trioredis.server import serve


class ThreadedServer:
    """A trioredis server on 127.0.0.1, port 0, in a thread with its own ``trio.run``.

    Sync tests talk to it with redis-py; ``call(fn, *args)`` runs ``fn`` on the server's
    thread (inspect or change state safely).
    """

    def __init__(self, clock=None, **config):
        cfg = Config()
        cfg.set("port", "0", startup=True)
        cfg.set("loglevel", "warning", startup=True)
        cfg.set("save", "", startup=True)
        self.dir = tempfile.mkdtemp(prefix="trioredis-test-")
        cfg.set("dir", self.dir, startup=True)
        for k, v in config.items():
            cfg.set(k.replace("_", "-"), str(v), startup=True)
        self.server = Server(cfg, clock=clock)
        self.port = 0
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self.exit_code = None

    def start(self) -> ThreadedServer:
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        if not self._ready.wait(20):
            raise RuntimeError("server did not start")
        if self._error:
            raise self._error
        return self

    def _run(self) -> None:
        try:
            trio.run(self._main)
        except BaseException as e:  # surfaced by start()/stop()
            self._error = e
            self._ready.set()

    async def _main(self) -> None:
        self.token = trio.lowlevel.current_trio_token()
        async with trio.open_nursery() as n:
            self.scope = n.cancel_scope
            log = Logger("warning")
            self.port = await n.start(partial(serve, server=self.server, log=log))
            self._ready.set()

    def call(self, fn, *args):
        return trio.from_thread.run_sync(partial(fn, *args), trio_token=self.token)

    def stop(self) -> None:
        if self.thread.is_alive():
            try:
                trio.from_thread.run_sync(self.scope.cancel, trio_token=self.token)
            except trio.RunFinishedError:
                pass
            self.thread.join(10)
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


class RealRedis:
    """Debian's redis-server on a free loopback port, no persistence."""

    def __init__(self, *args: str):
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="real-redis-")
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.dir, *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_port(self.port)

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def have_real_redis() -> bool:
    return shutil.which("redis-server") is not None


class RawClient:
    """A plain socket that sends bytes and reads exactly one RESP reply (or raw bytes)."""

    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def command(self, *args) -> bytes:
        parts = [a if isinstance(a, bytes) else str(a).encode() for a in args]
        self.send(b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts))
        return self.read_reply()

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        self.buf += chunk

    def _line(self) -> bytes:
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line + b"\r\n"

    def read_reply(self) -> bytes:
        """The raw bytes of one complete RESP2/RESP3 reply."""
        line = self._line()
        t = line[:1]
        if t in (b"$", b"=", b"!"):
            n = int(line[1:-2])
            if n < 0:
                return line
            while len(self.buf) < n + 2:
                self._fill()
            body, self.buf = self.buf[: n + 2], self.buf[n + 2 :]
            return line + body
        if t in (b"*", b"~", b">", b"%", b"|"):
            n = int(line[1:-2])
            if n < 0:
                return line
            if t in (b"%", b"|"):
                n *= 2
            return line + b"".join(self.read_reply() for _ in range(n))
        return line

    def closed(self, timeout: float = 5.0) -> bool:
        """True once the server has closed the connection (reads until EOF)."""
        self.sock.settimeout(timeout)
        try:
            while True:
                if not self.sock.recv(65536):
                    return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except TimeoutError:
            return False

    def close(self) -> None:
        self.sock.close()


def env_flag(name: str) -> bool:
    return os.environ.get(name, "") not in ("", "0", "no")

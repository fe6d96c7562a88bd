"""TLS fixtures: certificates made by trustme, a trioredis with a TLS port and a log file,
and a real redis-server with TLS (Debian's is built with it)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from functools import partial
from pathlib import Path

import pytest
import trio

from trioredis.log import Logger
from trioredis.server import serve

from ..helpers import ThreadedServer, wait_port

trustme = pytest.importorskip("trustme")


def tls_port() -> int:
    """A free port in 34000-34999 (the range these tests keep to)."""
    for port in range(34000 + (time.monotonic_ns() // 1000) % 900, 35000):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 34000-34999")


class Certs:
    """A CA, the server's pair, a client's pair, and a pair from another CA."""

    def __init__(self, root: Path):
        self.dir = root
        ca = trustme.CA()
        other = trustme.CA()
        self.ca_obj = ca
        self.ca = self._write(ca.cert_pem, "ca.crt")
        srv = ca.issue_cert("localhost", "127.0.0.1")
        self.cert = self._write(srv.cert_chain_pems[0], "server.crt")
        self.key = self._write(srv.private_key_pem, "server.key")
        cli = ca.issue_cert("client")
        self.client_cert = self._write(cli.cert_chain_pems[0], "client.crt")
        self.client_key = self._write(cli.private_key_pem, "client.key")
        bad = other.issue_cert("client")
        self.bad_cert = self._write(bad.cert_chain_pems[0], "bad.crt")
        self.bad_key = self._write(bad.private_key_pem, "bad.key")

    def _write(self, blob, name: str) -> str:
        path = self.dir / name
        blob.write_to_path(str(path))
        return str(path)

    def server_args(self) -> dict:
        return {"tls-cert-file": self.cert, "tls-key-file": self.key,
                "tls-ca-cert-file": self.ca}

    def redis_py(self, port: int, **kw):
        import redis

        return redis.Redis(port=port, ssl=True, ssl_ca_certs=self.ca,
                           ssl_certfile=self.client_cert, ssl_keyfile=self.client_key,
                           ssl_check_hostname=False, socket_timeout=10, **kw)

    def cli_args(self) -> list[str]:
        return ["--tls", "--cacert", self.ca, "--cert", self.client_cert, "--key",
                self.client_key]


class LoggingServer(ThreadedServer):
    """A ThreadedServer whose log goes to ``logfile`` at ``loglevel`` (the lines are tested)."""

    def __init__(self, **config):
        self.logfile = Path(tempfile.mkdtemp(prefix="trioredis-tls-log-")) / "server.log"
        config.setdefault("loglevel", "verbose")
        super().__init__(**config)
        self.server.config.set("loglevel", config["loglevel"], startup=True)

    async def _main(self) -> None:
        self.token = trio.lowlevel.current_trio_token()
        async with trio.open_nursery() as n:
            self.scope = n.cancel_scope
            log = Logger(self.server.config["loglevel"], str(self.logfile))
            self.port = await n.start(partial(serve, server=self.server, log=log))
            self._ready.set()

    def log_text(self) -> str:
        try:
            return self.logfile.read_text()
        except FileNotFoundError:
            return ""

    def wait_log(self, text: str, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            log = self.log_text()
            if text in log:
                return log
            time.sleep(0.02)
        raise AssertionError(f"{text!r} not logged; log:\n{self.log_text()}")

    def stop(self) -> None:
        super().stop()
        shutil.rmtree(self.logfile.parent, ignore_errors=True)


class RealTLSRedis:
    """Debian's redis-server with a TLS port (and its plain port), logging to a file."""

    def __init__(self, certs: Certs, *args: str):
        self.port = tls_port()
        self.tls_port = self._other(self.port)
        self.dir = tempfile.mkdtemp(prefix="real-redis-tls-")
        self.logfile = Path(self.dir) / "redis.log"
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--tls-port", str(self.tls_port),
             "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", self.dir,
             "--tls-cert-file", certs.cert, "--tls-key-file", certs.key,
             "--tls-ca-cert-file", certs.ca, "--logfile", str(self.logfile),
             "--loglevel", "verbose", *args],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port)

    @staticmethod
    def _other(port: int) -> int:
        for p in range(port + 1, 35000):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", p))
                except OSError:
                    continue
                return p
        raise RuntimeError("no free port")

    def log_text(self) -> str:
        return self.logfile.read_text() if self.logfile.exists() else ""

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return Certs(tmp_path_factory.mktemp("certs"))


@pytest.fixture
def tls_server(certs):
    """A trioredis with a plain port and a TLS port (``tls_port`` attribute)."""
    port = tls_port()
    with LoggingServer(tls_port=port, **certs.server_args()) as s:
        s.tls_port = port
        yield s


@pytest.fixture
def real_tls_redis(certs):
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    r = RealTLSRedis(certs)
    yield r
    r.stop()

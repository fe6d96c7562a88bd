"""A pytest plugin: a real Redis-compatible server for other projects' tests, no binary needed.

Installing trioredis registers it (the ``pytest11`` entry point). Fixtures:

- ``trioredis_server``: one server for the whole session, on a free loopback port;
- ``redis_url``: its URL (``redis://127.0.0.1:PORT/0``);
- ``trioredis_clean``: the session server, emptied (FLUSHALL) before the test; with
  ``--trioredis-fresh`` (or ``trioredis_fresh = true`` in the ini file) a new server per test;
- ``trioredis_factory``: ``trioredis_factory(appendonly="yes", maxmemory="10mb")`` starts a
  server with that configuration, stopped at the end of the test;
- ``trioredis_replica``: a replica of a fresh master, as ``(master, replica)``, the link up;
- ``trioredis_ha_group``: three servers forming trioredis's HA group (leader and followers).

Every server runs on a thread with its own Trio loop (:mod:`trioredis.embed`), so the fixtures
work in plain pytest, pytest-asyncio and pytest-trio suites alike. Options (command line, or
the ini file without the leading dashes and with underscores): ``--trioredis-port`` (the
session server's port; 0 = any free one), ``--trioredis-config`` (a redis.conf-style file for
every server), ``--trioredis-keep-data`` (keep a failed test's server directories and say
where they are).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Iterator

import pytest

from .config import Config
from .embed import ServerThread


def pytest_addoption(parser) -> None:
    group = parser.getgroup("trioredis", "trioredis test server")
    options = [
        ("port", "port of the session's trioredis_server (0: any free port)", "0"),
        ("config", "a redis.conf-style file applied to every trioredis the fixtures start", ""),
    ]
    for name, help_text, default in options:
        group.addoption(f"--trioredis-{name}", dest=f"trioredis_{name}", default=None,
                        help=help_text)
        parser.addini(f"trioredis_{name}", help_text, default=default)
    for name, help_text in (
        ("fresh", "trioredis_clean gives each test a new server instead of FLUSHALL"),
        ("keep-data", "keep a failed test's trioredis directories (their paths are printed)"),
    ):
        dest = f"trioredis_{name.replace('-', '_')}"
        group.addoption(f"--trioredis-{name}", dest=dest, action="store_true", default=None,
                        help=help_text)
        parser.addini(dest, help_text, type="bool", default=False)


def _option(config, name: str):
    value = config.getoption(name)
    return config.getini(name) if value is None else value


def _file_options(config) -> dict:
    """The parameters of --trioredis-config, as name -> text."""
    path = _option(config, "trioredis_config")
    if not path:
        return {}
    cfg = Config()
    cfg.load_file(str(path))
    return {name: cfg.render(name) for name, value in cfg.values.items()
            if name != "dir" and value != Config().values.get(name)}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        item._trioredis_failed = True


class _Servers:
    """Servers started for one test or session; stopped (and their directories removed, unless
    kept for a failed test) at the end."""

    def __init__(self, config):
        self.pytest_config = config
        self.base = _file_options(config)
        self.started: list[tuple[ServerThread, str]] = []

    def start(self, **options) -> ServerThread:
        merged = dict(self.base)
        merged.update({k.replace("_", "-"): v for k, v in options.items()})
        data_dir = tempfile.mkdtemp(prefix="trioredis-test-")
        merged.setdefault("dir", data_dir)
        srv = ServerThread(merged).start()
        self.started.append((srv, data_dir))
        return srv

    def stop_all(self, failed: bool) -> None:
        keep = failed and _option(self.pytest_config, "trioredis_keep_data")
        for srv, data_dir in reversed(self.started):
            srv.stop()
            if keep:
                print(f"\ntrioredis: kept the data of the server on port {srv.port}: {data_dir}")
            else:
                shutil.rmtree(data_dir, ignore_errors=True)
        self.started = []


@pytest.fixture(scope="session")
def trioredis_server(request) -> Iterator[ServerThread]:
    """One trioredis for the whole session."""
    servers = _Servers(request.config)
    port = int(_option(request.config, "trioredis_port") or 0)
    srv = servers.start(port=port)
    yield srv
    servers.stop_all(failed=request.session.testsfailed > 0)


@pytest.fixture(scope="session")
def redis_url(trioredis_server) -> str:
    return trioredis_server.url


def _wait(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"trioredis: timed out waiting for {what}")
        time.sleep(0.01)


@pytest.fixture
def trioredis_factory(request) -> Iterator[Callable[..., ServerThread]]:
    """``trioredis_factory(**config)`` starts a server with that configuration."""
    servers = _Servers(request.config)
    yield servers.start
    servers.stop_all(failed=getattr(request.node, "_trioredis_failed", False))


@pytest.fixture
def trioredis_clean(request, trioredis_server) -> Iterator[ServerThread]:
    """An empty server for this test: the session's, flushed, or a new one (--trioredis-fresh)."""
    if _option(request.config, "trioredis_fresh"):
        servers = _Servers(request.config)
        yield servers.start()
        servers.stop_all(failed=getattr(request.node, "_trioredis_failed", False))
        return
    srv = trioredis_server
    # FLUSHALL as a client sends it, so WATCH, blocked clients and replicas see it.
    srv.call(_run, srv.server, [b"FLUSHALL", b"SYNC"])
    yield srv


def _info(srv: ServerThread, section: str) -> dict:
    text = srv.call(_run, srv.server, [b"INFO", section.encode()])
    fields = {}
    for line in text.decode().splitlines():
        if ":" in line and not line.startswith("#"):
            k, _, v = line.partition(":")
            fields[k] = v
    return fields


def _run(server, argv):
    """Run one command on the server's thread as a client of its own."""
    client = server.new_client("trioredis-testing")
    try:
        return server.execute(client, argv)
    finally:
        server.free_client(client)


@pytest.fixture
def trioredis_replica(trioredis_factory) -> tuple[ServerThread, ServerThread]:
    """``(master, replica)``: a fresh master and a replica whose link is up."""
    master = trioredis_factory()
    replica = trioredis_factory(replicaof=f"127.0.0.1 {master.port}")
    _wait(lambda: _info(replica, "replication").get("master_link_status") == "up", 30,
          "the replica's link")
    return master, replica


@pytest.fixture
def trioredis_ha_group(trioredis_factory) -> list[ServerThread]:
    """Three servers forming an HA group; the leader first, then its followers, all linked."""
    timing = {"cluster_heartbeat_ms": 100, "cluster_node_timeout": 1000}
    first = trioredis_factory(cluster_bootstrap="yes", **timing)
    others = [trioredis_factory(cluster_join=f"127.0.0.1:{first.port}", **timing)
              for _ in range(2)]
    nodes = [first, *others]

    def cluster_info(srv: ServerThread) -> dict:
        text = srv.call(_run, srv.server, [b"TRIOCLUSTER", b"INFO"])
        return dict(line.split(":", 1) for line in text.decode().splitlines() if ":" in line)

    def healthy() -> bool:
        leaders = [n for n in nodes if cluster_info(n).get("cluster_role") == "leader"]
        if len(leaders) != 1:
            return False
        lid = cluster_info(leaders[0])["cluster_node_id"]
        return all(
            cluster_info(n).get("cluster_leader_id") == lid
            and _info(n, "replication").get("master_link_status") == "up"
            for n in nodes if n is not leaders[0]
        )

    _wait(healthy, 60, "the HA group to form")
    leader = next(n for n in nodes if cluster_info(n).get("cluster_role") == "leader")
    return [leader, *(n for n in nodes if n is not leader)]


import tempfile
from pathlib import Path

import pytest
import redis
from hypothesis import settings
from hypothesis.configuration import set_hypothesis_home_dir

from .helpers import RawClient, RealRedis, ThreadedServer, have_real_redis

# Hypothesis keeps no example database, and its cache lives in a temporary directory: both would
# be written into the checkout (.hypothesis/), and tests write only into temporary directories.
set_hypothesis_home_dir(tempfile.mkdtemp(prefix="trioredis-hypothesis-"))
settings.register_profile("trioredis", database=None)
settings.load_profile("trioredis")

pytest_plugins = ["pytester"]  # tests/test_testing_plugin.py runs pytest in pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _work_in_a_temporary_directory(tmp_path, monkeypatch):
    """Tests write only into temporary directories: a server made without ``dir`` (FLUSHALL
    and SHUTDOWN save to ``dir`` when save points are set) writes into the test's tmp_path, not
    into the checkout (where a later ``trioredis server`` would load it)."""
    monkeypatch.chdir(tmp_path)


def pytest_sessionstart(session):
    session.config._checkout_files = set(ROOT.iterdir())


def pytest_sessionfinish(session, exitstatus):
    before = getattr(session.config, "_checkout_files", None)
    if before is None:
        return
    new = sorted(p.name for p in set(ROOT.iterdir()) - before)
    if new:
        print(f"\nERROR: the tests wrote into the checkout's root: {new}")
        session.exitstatus = 1


@pytest.fixture
def server():
    """A fresh trioredis on a free loopback port (its own thread)."""
    with ThreadedServer() as s:
        yield s


@pytest.fixture
def r(server):
    """redis-py client (bytes replies) connected to ``server``."""
    client = redis.Redis(port=server.port, socket_timeout=10)
    yield client
    client.close()


@pytest.fixture
def raw(server):
    c = RawClient(server.port)
    yield c
    c.close()


@pytest.fixture(scope="session")
def real_redis():
    """A real redis-server 7.0 for differential tests (skipped where none is installed)."""
    if not have_real_redis():
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    rr = RealRedis()
    yield rr
    rr.stop()


@pytest.fixture
def rr(real_redis):
    """redis-py client on the real redis-server, flushed before use."""
    client = redis.Redis(port=real_redis.port, socket_timeout=10)
    client.flushall()
    yield client
    client.close()

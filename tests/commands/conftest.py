import pytest

from ..helpers import RawClient


@pytest.fixture
def pair(server, real_redis):
    """Raw clients to trioredis and to a flushed real Redis, for differential scripts."""
    ours, theirs = RawClient(server.port), RawClient(real_redis.port)
    theirs.command("FLUSHALL")
    yield ours, theirs
    ours.close()
    theirs.close()

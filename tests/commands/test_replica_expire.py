"""A writable replica expires the keys its own clients gave a TTL (Redis's expireSlaveKeys),
while the keys from its master wait for the master's DEL. Same scenario on a real Redis 7.0
(unit/expire: "expired key which is created in writeable replicas should be deleted by active
expiry")."""

from __future__ import annotations

import time

import redis

from ..helpers import free_port

DEADLINE = 10.0


def _expired_keys(r: redis.Redis) -> int:
    return r.info("stats")["expired_keys"]


def _scenario(port: int) -> list:
    r = redis.Redis(port=port, socket_timeout=10)
    try:
        r.replicaof("127.0.0.1", free_port())  # a master that is never there
        r.config_set("replica-read-only", "no")
        r.set("kept", "v", px=60000)
        r.persist("kept")  # tracked, then not volatile any more: stays
        r.set("plain", "v")
        before = _expired_keys(r)
        r.set("foo", "bar", px=1)
        r.set("bar", "x")
        r.pexpire("bar", 1)
        deadline = time.monotonic() + DEADLINE
        while _expired_keys(r) < before + 2:
            assert time.monotonic() < deadline, "the replica never expired its own keys"
            time.sleep(0.01)
        out = [r.get("foo"), r.get("bar"), sorted(r.keys("*")), _expired_keys(r) - before]
        return out
    finally:  # the real Redis is shared by the session's tests: leave it as it was
        r.replicaof("no", "one")
        r.config_set("replica-read-only", "yes")
        r.close()


def test_writable_replica_expires_its_own_keys(server, real_redis):
    ours = _scenario(server.port)
    assert ours == [None, None, [b"kept", b"plain"], 2]
    assert ours == _scenario(real_redis.port)

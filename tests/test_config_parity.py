"""CONFIG parity with Redis 7.0.15, checked against a real redis-server: the names CONFIG GET *
lists (aliases included, trioredis's own parameters hidden), their defaults, which ones CONFIG
SET accepts at runtime, and the checks of the parameters trioredis added for parity."""

from __future__ import annotations

import subprocess
import sys

import pytest
import redis

from trioredis.config import PARAMS, Config, ConfigError

from .helpers import RealRedis, free_port, have_real_redis, wait_port

# Where trioredis differs on purpose (docs/configuration.md says why): its HA groups keep their
# own node file, and a node's announced address is its identity in the group.
DEFAULT_DIFFERS = {"cluster-config-file"}
MUTABILITY_DIFFERS = {"cluster-announce-ip", "cluster-announce-port", "cluster-announce-bus-port"}
PER_SERVER = {"port", "dir"}

needs_redis = pytest.mark.skipif(not have_real_redis(), reason="redis-server is not installed "
                                 "(apt-get install redis-server)")


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    """A real Redis and a trioredis process started with the same options."""
    if not have_real_redis():
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    real = RealRedis()
    port = free_port()
    d = tmp_path_factory.mktemp("trio")
    proc = subprocess.Popen(
        [sys.executable, "-m", "trioredis", "server", "--port", str(port), "--bind", "127.0.0.1",
         "--save", "", "--appendonly", "no", "--dir", str(d)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=str(d))
    try:
        wait_port(port, timeout=60)
        ours = redis.Redis(port=port, decode_responses=True, socket_timeout=20)
        theirs = redis.Redis(port=real.port, decode_responses=True, socket_timeout=20)
        yield ours, theirs
        ours.close()
        theirs.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        real.stop()


def config_all(r) -> dict[str, str]:
    return r.config_get("*")


@needs_redis
def test_config_get_star_lists_redis_names(both):
    ours, theirs = both
    mine, real = config_all(ours), config_all(theirs)
    assert len(real) == 192  # Redis 7.0.15
    assert sorted(mine) == sorted(real)


@needs_redis
def test_defaults_match_redis(both):
    ours, theirs = both
    mine, real = config_all(ours), config_all(theirs)
    differ = {n: (mine[n], real[n]) for n in real
              if n not in PER_SERVER | DEFAULT_DIFFERS and mine[n] != real[n]}
    assert differ == {}


@needs_redis
def test_runtime_settable_where_redis_is(both):
    """CONFIG SET of every parameter to its own value: OK or the same refusal as Redis."""
    ours, theirs = both
    real = config_all(theirs)

    def outcome(r, name, value):
        try:
            r.config_set(name, value)
            return "OK"
        except redis.ResponseError as e:
            return str(e)

    differ = {}
    for name, value in sorted(real.items()):
        if name in PER_SERVER | MUTABILITY_DIFFERS:
            continue
        got = outcome(ours, name, config_all(ours)[name] if name != "bind" else value)
        want = outcome(theirs, name, value)
        if got != want:
            differ[name] = (got, want)
    assert differ == {}


@needs_redis
def test_patterns_and_aliases_as_redis(both):
    ours, theirs = both
    for args in (("*slave*",), ("*replica*", "*slave*"), ("replicaof", "slaveof", "*of"),
                 ("lua-time-limit", "*threshold"), ("*max-*-entries",), ("rdb-key-save-delay",)):
        assert ours.config_get(*args) == theirs.config_get(*args), args
    # trioredis's own parameters answer an exact name only, as Redis's hidden ones.
    assert ours.config_get("cluster-group-name") == {"cluster-group-name": "trioredis"}
    assert ours.config_get("cluster-group-*") == {}
    assert ours.config_get("ws-*") == {}


@needs_redis
def test_value_checks_as_redis(both):
    ours, theirs = both
    cases = [
        ("latency-tracking-info-percentiles", "101"),
        ("latency-tracking-info-percentiles", "abc"),
        ("latency-tracking-info-percentiles", "50 99.99"),
        ("maxmemory-clients", "10%"),
        ("maxmemory-clients", "101%"),
        ("maxmemory-clients", "abc"),
        ("maxmemory-clients", "0"),
        ("shutdown-on-sigterm", "save nosave"),
        ("shutdown-on-sigterm", "default force"),
        ("shutdown-on-sigterm", "bad"),
        ("shutdown-on-sigterm", "default"),
        ("oom-score-adj", "yes"),
        ("oom-score-adj", "no"),
        ("oom-score-adj-values", "1 2"),
        ("oom-score-adj-values", "1 2 3000"),
        ("oom-score-adj-values", "0 200 800"),
        ("proc-title-template", "{bad}"),
        ("proc-title-template", "{title} {port}"),
        ("sanitize-dump-payload", "clients"),
        ("sanitize-dump-payload", "no"),
        ("repl-diskless-sync-max-replicas", "-1"),
        ("repl-diskless-sync-max-replicas", "0"),
        ("shutdown-timeout", "-1"),
        ("shutdown-timeout", "10"),
        ("lua-time-limit", "abc"),
        ("busy-reply-threshold", "5000"),
        ("tracking-table-max-keys", "1000000"),
        ("acl-pubsub-default", "nope"),
        ("acl-pubsub-default", "resetchannels"),
    ]
    for name, value in cases:
        results = []
        for r in (ours, theirs):
            try:
                r.config_set(name, value)
                results.append(("OK", r.config_get(name)))
            except redis.ResponseError as e:
                results.append(("ERR", str(e)))
        assert results[0] == results[1], (name, value)


def test_features_trioredis_lacks_are_refused_clearly():
    cfg = Config()
    with pytest.raises(ConfigError, match="Active defragmentation cannot be enabled"):
        cfg.set("activedefrag", "yes")
    cfg.set("activedefrag", "no")


def test_every_parameter_is_documented():
    """docs/configuration.md has a row for every parameter Redis lists (and trioredis's own)."""
    import pathlib

    doc = (pathlib.Path(__file__).resolve().parent.parent / "docs" / "configuration.md").read_text()
    missing = [n for n in PARAMS if f"`{n}`" not in doc]
    assert missing == []

"""The pytest plugin (trioredis.testing) and run_in_thread, as another project would use them.

Each case writes a small test file and runs pytest on it in a subprocess (pytester), the way a
project that installed trioredis runs its suite: the plugin comes from the ``pytest11`` entry
point, not from this repository's conftest.
"""

from __future__ import annotations

import asyncio

import pytest
import redis

import trioredis

SYNC_TESTS = r'''
import redis

def test_session_server(redis_url, trioredis_server):
    r = redis.Redis.from_url(redis_url)
    assert r.ping() is True
    assert redis_url == f"redis://127.0.0.1:{trioredis_server.port}/0"
    r.set("left-behind", 1)

def test_clean_database(trioredis_clean):
    r = redis.Redis(port=trioredis_clean.port)
    assert r.dbsize() == 0

def test_factory_with_config(trioredis_factory, tmp_path):
    srv = trioredis_factory(appendonly="yes", maxmemory="10mb", requirepass="pw")
    r = redis.Redis.from_url(srv.url)
    assert r.config_get("appendonly") == {"appendonly": "yes"}
    assert r.config_get("maxmemory") == {"maxmemory": "10485760"}
    with __import__("pytest").raises(redis.AuthenticationError):
        redis.Redis(port=srv.port, password="wrong").ping()

def test_replica(trioredis_replica):
    master, replica = trioredis_replica
    redis.Redis(port=master.port).set("k", "v")
    r = redis.Redis(port=replica.port)
    import time
    deadline = time.monotonic() + 10
    while r.get("k") != b"v":
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert r.info("replication")["role"] == "slave"
'''


def test_plugin_fixtures_in_plain_pytest(pytester):
    pytester.makepyfile(SYNC_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:randomly")
    result.assert_outcomes(passed=4)


def test_fresh_server_per_test_and_port_option(pytester):
    from .helpers import free_port

    port = free_port()
    pytester.makeini(f"[pytest]\ntrioredis_fresh = true\ntrioredis_port = {port}\n")
    pytester.makepyfile(r'''
import redis

def test_one(trioredis_clean, trioredis_server):
    assert trioredis_server.port == PORT
    assert trioredis_clean.port != trioredis_server.port
    redis.Redis(port=trioredis_clean.port).set("x", 1)

def test_two(trioredis_clean):
    assert redis.Redis(port=trioredis_clean.port).dbsize() == 0
'''.replace("PORT", str(port)))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_keep_data_of_a_failed_test(pytester):
    pytester.makepyfile(r'''
import redis

def test_fails(trioredis_factory):
    srv = trioredis_factory()
    redis.Redis(port=srv.port).set("evidence", 1)
    redis.Redis(port=srv.port).save()
    assert False
''')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--trioredis-keep-data", "-s")
    result.assert_outcomes(failed=1)
    kept = [ln for ln in result.outlines if "trioredis: kept the data" in ln]
    assert kept, result.outlines
    import os

    path = kept[0].rsplit(": ", 1)[1].strip()
    assert os.path.exists(os.path.join(path, "dump.rdb"))
    import shutil

    shutil.rmtree(path)


def test_config_file_option(pytester):
    conf = pytester.makefile(".conf", redis="maxmemory-policy allkeys-lru\nhz 20\n")
    pytester.makepyfile(r'''
import redis

def test_it(trioredis_factory):
    r = redis.Redis(port=trioredis_factory().port)
    assert r.config_get("maxmemory-policy") == {"maxmemory-policy": "allkeys-lru"}
    assert r.config_get("hz") == {"hz": "20"}
''')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", f"--trioredis-config={conf}")
    result.assert_outcomes(passed=1)


def test_plugin_in_a_pytest_trio_suite(pytester):
    pytester.makeini("[pytest]\ntrio_mode = true\n")
    pytester.makepyfile(r'''
import redis
import trio

async def test_async(redis_url):
    def use():
        r = redis.Redis.from_url(redis_url)
        r.rpush("q", "a")
        return r.lpop("q")
    assert await trio.to_thread.run_sync(use) == b"a"
''')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_plugin_in_a_pytest_asyncio_suite(pytester):
    pytest.importorskip("pytest_asyncio")
    pytester.makeini("[pytest]\nasyncio_mode = auto\n")
    pytester.makepyfile(r'''
import redis.asyncio

async def test_async(redis_url):
    r = redis.asyncio.Redis.from_url(redis_url)
    await r.set("a", "1")
    assert await r.get("a") == b"1"
    await r.aclose()
''')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:trio")
    result.assert_outcomes(passed=1)


def test_ha_group_fixture(pytester):
    pytester.makepyfile(r'''
import redis

def test_group(trioredis_ha_group):
    leader, *followers = trioredis_ha_group
    assert len(followers) == 2
    redis.Redis(port=leader.port).set("k", "v")
    assert redis.Redis(port=leader.port).wait(2, 5000) == 2
    for f in followers:
        assert redis.Redis(port=f.port).get("k") == b"v"
''')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_run_in_thread_for_sync_code():
    with trioredis.run_in_thread({"maxmemory": "1mb"}) as srv:
        r = redis.Redis.from_url(srv.url)
        assert r.ping() is True
        assert r.config_get("maxmemory") == {"maxmemory": "1048576"}
        data_dir = srv.config["dir"]
    import os

    assert not os.path.exists(data_dir)  # its own temporary directory, removed
    with pytest.raises(redis.ConnectionError):
        redis.Redis(port=srv.port, socket_connect_timeout=1).ping()


def test_run_in_thread_for_asyncio_code():
    async def main(url):
        r = redis.asyncio.Redis.from_url(url)
        await r.set("k", "v")
        value = await r.get("k")
        await r.aclose()
        return value

    import redis.asyncio

    with trioredis.run_in_thread() as srv:
        assert asyncio.run(main(srv.url)) == b"v"


def test_run_in_thread_reports_a_failed_start():
    from .helpers import free_port

    with trioredis.run_in_thread() as first:
        with pytest.raises(OSError):
            trioredis.run_in_thread({"port": first.port}).start()
    assert free_port()

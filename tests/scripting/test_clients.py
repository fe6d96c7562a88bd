"""What libraries do with scripts, tried as users would: redis-py's Lock and register_script."""

from __future__ import annotations

import threading
import time

import pytest
import redis
from redis.exceptions import LockError, LockNotOwnedError


def test_lock_acquire_extend_reacquire_release(r):
    lock = r.lock("res", timeout=5)
    assert lock.acquire(blocking=False)
    assert r.get("res") == lock.local.token
    assert lock.extend(10)  # Lua: LUA_EXTEND_SCRIPT
    assert 10_000 < r.pttl("res") <= 15_000
    assert lock.extend(3, replace_ttl=True)
    assert r.pttl("res") <= 3_000
    assert lock.reacquire()  # Lua: LUA_REACQUIRE_SCRIPT
    assert 4_000 < r.pttl("res") <= 5_000
    assert lock.owned()
    lock.release()  # Lua: LUA_RELEASE_SCRIPT
    assert r.get("res") is None
    with pytest.raises(LockError):
        lock.release()


def test_lock_release_by_another_token_is_refused(r):
    mine = r.lock("res", timeout=5)
    theirs = r.lock("res", timeout=5)
    assert mine.acquire(blocking=False)
    assert not theirs.acquire(blocking=False)
    theirs.local.token = b"someone-else"
    with pytest.raises(LockNotOwnedError):
        theirs.do_release(b"someone-else")
    with pytest.raises(LockNotOwnedError):
        theirs.extend(5)
    assert r.get("res") == mine.local.token
    mine.release()


def test_lock_blocking_acquire_waits_for_the_release(r):
    holder = r.lock("res", timeout=10)
    assert holder.acquire()
    got = []

    def waiter():
        other = redis.Redis(port=r.connection_pool.connection_kwargs["port"])
        lk = other.lock("res", timeout=5, sleep=0.01, blocking_timeout=5)
        t = time.monotonic()
        got.append((lk.acquire(), time.monotonic() - t))
        lk.release()

    t = threading.Thread(target=waiter)
    t.start()
    time.sleep(0.2)
    holder.release()
    t.join(10)
    assert got and got[0][0] is True and got[0][1] >= 0.15


def test_register_script(r):
    incr_by = r.register_script("return redis.call('INCRBY', KEYS[1], ARGV[1])")
    assert incr_by(keys=["n"], args=[5]) == 5
    r.script_flush()  # NOSCRIPT: redis-py loads it again
    assert incr_by(keys=["n"], args=[2]) == 7
    pipe = r.pipeline()
    incr_by(keys=["n"], args=[1], client=pipe)
    incr_by(keys=["n"], args=[1], client=pipe)
    assert pipe.execute() == [8, 9]
    assert r.script_exists(incr_by.sha) == [True]


def test_increments_from_threads_are_atomic(r):
    port = r.connection_pool.connection_kwargs["port"]
    script = "local v = redis.call('GET', KEYS[1]) or 0 return redis.call('SET', KEYS[1], v + 1)"

    def worker():
        c = redis.Redis(port=port)
        s = c.register_script(script)
        for _ in range(50):
            s(keys=["counter"])

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert r.get("counter") == b"200"

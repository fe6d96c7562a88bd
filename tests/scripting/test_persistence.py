"""Function libraries persist: RDB (opcode 245, both ways with real Redis), AOF, full syncs
and propagation to replicas; a real Redis replica of trioredis ends with the same digest after
scripts wrote."""

from __future__ import annotations

import os
import subprocess
import time

import pytest
import redis

from tests.helpers import RealRedis, ThreadedServer, free_port, have_real_redis, wait_port

LIB = ("#!lua name=plib\nredis.register_function{function_name='pf', callback=function() "
       "return 'persisted' end, flags={'no-writes'}}")


def names(r) -> list:
    """The library names of FUNCTION LIST (RESP2: flat name/value lists)."""
    return sorted(x[x.index(b"library_name") + 1] for x in r.function_list())


def wait_for(cond, timeout=20.0, what="condition"):
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_rdb_round_trip_and_debug_reload(tmp_path):
    with ThreadedServer(dir=tmp_path, enable_debug_command="yes") as s:
        r = redis.Redis(port=s.port)
        r.function_load(LIB)
        r.set("k", "v")
        assert r.execute_command("DEBUG", "RELOAD") == b"OK"
        assert r.fcall("pf", 0) == b"persisted"
        r.save()
        r.function_flush()
        r.execute_command("DEBUG", "RELOAD", "NOSAVE")
        assert r.fcall("pf", 0) == b"persisted"  # the RDB's libraries replace the server's
        r.execute_command("SAVE")
    with ThreadedServer(dir=tmp_path) as s:  # started from the file
        r = redis.Redis(port=s.port)
        assert r.fcall("pf", 0) == b"persisted"
        assert r.get("k") == b"v"


def test_debug_reload_noflush_without_merge_keeps_libraries_and_fails(tmp_path):
    """As Redis 7.0: NOFLUSH skips emptyData, so the file's library collides with the
    server's unless MERGE allows duplicates (unit/functions 'test debug reload different
    options'); the failed load leaves the libraries as they were."""
    with ThreadedServer(dir=tmp_path, enable_debug_command="yes") as s:
        r = redis.Redis(port=s.port)
        r.function_load(LIB)
        with pytest.raises(redis.ResponseError, match="Error trying to load the RDB"):
            r.execute_command("DEBUG", "RELOAD", "NOFLUSH")
        assert names(r) == [b"plib"]
        assert r.fcall("pf", 0) == b"persisted"
        assert r.execute_command("DEBUG", "RELOAD", "NOFLUSH", "MERGE") == b"OK"
        assert names(r) == [b"plib"]
        # a reload that flushes still replaces them, and a later plain load is not affected
        assert r.execute_command("DEBUG", "RELOAD") == b"OK"
        assert r.fcall("pf", 0) == b"persisted"
        # the file (saved by that reload) has plib; the server now has another library only
        r.function_delete("plib")
        r.function_load(LIB.replace("plib", "other").replace("'pf'", "'of'"))
        assert r.execute_command("DEBUG", "RELOAD", "NOSAVE", "NOFLUSH") == b"OK"
        assert names(r) == [b"other", b"plib"]


@pytest.mark.skipif(not have_real_redis(), reason="redis-server is not installed")
def test_rdb_files_cross_with_real_redis(tmp_path):
    ours_dir = tmp_path / "ours"
    ours_dir.mkdir()
    with ThreadedServer(dir=ours_dir) as s:
        r = redis.Redis(port=s.port)
        r.function_load(LIB)
        r.save()
    port = free_port()
    real = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                             "--save", "", "--dir", str(ours_dir)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
        rr = redis.Redis(port=port)
        assert rr.fcall("pf", 0) == b"persisted"  # Redis loaded our opcode 245
        rr.function_load(LIB.replace("plib", "rlib").replace("'pf'", "'rf'"))
        rr.save()
    finally:
        real.kill()
        real.wait()
    with ThreadedServer(dir=ours_dir) as s:
        r = redis.Redis(port=s.port)
        assert r.fcall("rf", 0) == b"persisted"  # and we loaded Redis's
        assert names(r) == [b"plib", b"rlib"]


def test_aof_keeps_functions(tmp_path):
    cfg = dict(dir=tmp_path, appendonly="yes", aof_use_rdb_preamble="no")
    with ThreadedServer(**cfg) as s:
        r = redis.Redis(port=s.port)
        r.function_load(LIB)
        r.function_load(LIB.replace("plib", "gone").replace("'pf'", "'gf'"))
        r.function_delete("gone")
    with ThreadedServer(**cfg) as s:  # replayed from the incr file
        r = redis.Redis(port=s.port)
        assert r.fcall("pf", 0) == b"persisted"
        assert names(r) == [b"plib"]
        r.bgrewriteaof()
        wait_for(lambda: r.info("persistence")["aof_rewrite_in_progress"] == 0
                 and r.info("persistence")["aof_rewrite_scheduled"] == 0, what="rewrite")
        base = [f for f in os.listdir(tmp_path / "appendonlydir") if ".base." in f]
        data = (tmp_path / "appendonlydir" / base[0]).read_bytes()
        assert b"$8\r\nFUNCTION\r\n$4\r\nLOAD\r\n" in data
    with ThreadedServer(**cfg) as s:  # from the rewritten base
        assert redis.Redis(port=s.port).fcall("pf", 0) == b"persisted"


@pytest.mark.skipif(not have_real_redis(), reason="redis-server is not installed")
def test_real_replica_of_trioredis_gets_functions_and_script_effects():
    with ThreadedServer(repl_diskless_sync_delay=0, enable_debug_command="yes") as s:
        m = redis.Redis(port=s.port)
        m.function_load(LIB)
        m.set("k", "v")
        rep = RealRedis("--enable-debug-command", "yes")
        try:
            rr = redis.Redis(port=rep.port)
            rr.replicaof("127.0.0.1", s.port)
            wait_for(lambda: rr.info("replication")["master_link_status"] == "up",
                     what="the replica's link")
            wait_for(lambda: rr.get("k") == b"v", what="the full sync")
            assert rr.fcall("pf", 0) == b"persisted"  # from the full sync's RDB
            m.function_load(LIB.replace("plib", "lib2").replace("'pf'", "'pf2'"))
            m.eval("redis.call('set','a','1') redis.call('incr','a') "
                   "redis.call('hset','h','f','v') redis.call('sadd','s','x','y') "
                   "return redis.call('lpush','l', unpack(ARGV))", 0, *range(50))
            m.set("last", "1")
            wait_for(lambda: rr.get("last") == b"1", what="propagation")
            assert rr.fcall("pf2", 0) == b"persisted"  # FUNCTION LOAD propagated
            assert m.execute_command("DEBUG", "DIGEST") == rr.execute_command("DEBUG", "DIGEST")
            m.function_delete("lib2")
            m.set("last", "2")
            wait_for(lambda: rr.get("last") == b"2", what="propagation")
            assert names(rr) == [b"plib"]
        finally:
            rep.stop()


@pytest.mark.skipif(not have_real_redis(), reason="redis-server is not installed")
def test_trioredis_replica_of_real_redis_gets_functions():
    real = RealRedis()
    try:
        rm = redis.Redis(port=real.port)
        rm.function_load(LIB)
        with ThreadedServer() as s:
            r = redis.Redis(port=s.port)
            r.replicaof("127.0.0.1", real.port)
            wait_for(lambda: r.info("replication")["master_link_status"] == "up",
                     what="the link")
            wait_for(lambda: r.function_list() != [], what="the full sync")
            assert r.fcall("pf", 0) == b"persisted"
            rm.function_flush()
            wait_for(lambda: r.function_list() == [], what="FUNCTION FLUSH propagated")
    finally:
        real.stop()

"""AOF history files kept while ``aof-disable-auto-gc`` is on and removed when it goes off,
the temp incr file of a failed first rewrite (and its log line), and INFO ``total_forks``
counting every fork (BGSAVE, BGREWRITEAOF, a replica's full sync)."""

from __future__ import annotations

import os

import redis

from ..helpers import ThreadedServer
from .test_aof import aofdir, info, manifest, ours, tmpdir_path, wait_for, wait_rewrite_done

__all__ = ["tmpdir_path"]  # the fixture, re-exported for pytest


def test_disable_auto_gc_keeps_history_until_turned_off(tmpdir_path):
    with ours(tmpdir_path) as s:
        r = redis.Redis(port=s.port)
        r.set("k", "v")
        r.config_set("aof-disable-auto-gc", "yes")
        r.bgrewriteaof()
        wait_rewrite_done(r, 1)
        r.bgrewriteaof()
        wait_rewrite_done(r, 2)
        lines = manifest(tmpdir_path).splitlines()
        assert [line.split()[-1] for line in lines] == ["b", "h", "h", "h", "h", "i"]
        history = [line.split()[1] for line in lines if line.endswith("type h")]
        assert all(os.path.exists(os.path.join(aofdir(tmpdir_path), n)) for n in history)
        r.config_set("aof-disable-auto-gc", "no")
        lines = manifest(tmpdir_path).splitlines()
        assert [line.split()[-1] for line in lines] == ["b", "i"]
        assert not any(os.path.exists(os.path.join(aofdir(tmpdir_path), n)) for n in history)


def test_total_forks_counts_every_fork(tmpdir_path):
    with ThreadedServer(dir=tmpdir_path) as s:
        r = redis.Redis(port=s.port)
        assert r.info("stats")["total_forks"] == 0
        r.set("k", "v")
        r.bgsave()
        wait_for(lambda: not info(r)["rdb_bgsave_in_progress"])
        assert r.info("stats")["total_forks"] == 1
        r.bgrewriteaof()
        wait_for(lambda: info(r)["aof_rewrites"] == 1 and not info(r)["aof_rewrite_in_progress"])
        assert r.info("stats")["total_forks"] == 2
        rep = ThreadedServer(replicaof=f"127.0.0.1 {s.port}").start()
        try:
            rr = redis.Redis(port=rep.port)
            wait_for(lambda: rr.info("replication")["master_link_status"] == "up")
            assert r.info("stats")["total_forks"] == 3
        finally:
            rep.stop()
        r.config_resetstat()
        assert r.info("stats")["total_forks"] == 0


def test_failed_first_rewrite_removes_the_temp_incr_file(tmpdir_path):
    with ThreadedServer(dir=tmpdir_path) as s:
        r = redis.Redis(port=s.port)
        notices: list[str] = []
        log = s.server.log
        original = log.notice

        def record(msg):
            notices.append(msg)
            original(msg)

        s.call(lambda: setattr(log, "notice", record))
        r.config_set("rdb-key-save-delay", 10_000_000)
        r.set("k", "v")
        r.config_set("appendonly", "yes")  # starts the first rewrite, held by the delay
        assert info(r)["aof_rewrite_in_progress"] == 1
        os.kill(s.server.aof.child_pid, 9)
        wait_for(lambda: any(m.startswith("Removing the temp incr aof file") for m in notices))
        assert not os.path.exists(os.path.join(aofdir(tmpdir_path), "appendonly.aof.manifest"))
        # The retry starts at once, still with the delay: fail it too, then let one succeed.
        wait_for(lambda: info(r)["aof_rewrite_in_progress"] == 1)
        r.config_set("rdb-key-save-delay", 0)
        os.kill(s.server.aof.child_pid, 9)
        wait_for(lambda: sum(m.startswith("Removing the temp incr aof file")
                             for m in notices) == 2)
        wait_for(lambda: os.path.exists(os.path.join(aofdir(tmpdir_path),
                                                     "appendonly.aof.manifest")))
        wait_for(lambda: info(r)["aof_rewrite_in_progress"] == 0
                 and info(r)["aof_last_bgrewrite_status"] == "ok")
        assert manifest(tmpdir_path).splitlines()[-1].endswith("type i")
        assert r.get("k") == b"v"


def test_fatal_load_error_is_the_last_log_line_and_the_pid_file_stays(tmpdir_path):
    """Redis exits at once on a broken RDB or AOF (its suite reads the log's last line); the
    pid file is not removed, unlike a normal shutdown."""
    import subprocess
    import sys

    from ..helpers import free_port
    from .test_aof import ROOT

    with open(os.path.join(tmpdir_path, "dump.rdb"), "wb") as f:
        f.write(b"REDIS0010\xfa\x09redis-ver\x057.0.1\xff" + b"foobar00")  # bad checksum
    pidfile = os.path.join(tmpdir_path, "redis.pid")
    proc = subprocess.run(
        [sys.executable, "-m", "trioredis", "server", "--port", str(free_port()), "--dir",
         tmpdir_path, "--pidfile", pidfile, "--save", ""],
        capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 1
    lines = proc.stdout.strip().splitlines()
    assert "Fatal error loading" in lines[-1]
    assert "Wrong RDB checksum expected" in lines[-3] and "RDB CRC error" in lines[-2]
    assert os.path.exists(pidfile)


def test_bgsave_child_reports_progress_and_copy_on_write(tmpdir_path):
    """INFO's current_save_keys_processed / current_fork_perc / current_cow_size move while a
    BGSAVE runs (the child reports through a pipe), and rdb_last_cow_size keeps its last."""
    with ThreadedServer(dir=tmpdir_path) as s:
        r = redis.Redis(port=s.port)
        p = r.pipeline(transaction=False)
        for k in range(3000):
            p.set(f"key{k}", "A" * 500)
        p.execute()
        p0 = r.info("persistence")
        assert p0["current_save_keys_processed"] == 0 and p0["current_cow_size"] == 0
        r.config_set("rdb-key-save-delay", 1000)  # ~3 s
        r.bgsave()
        assert r.info("persistence")["current_save_keys_total"] == 3000
        wait_for(lambda: info(r)["current_save_keys_processed"] > 0)
        first = info(r)
        for k in range(64):
            r.setrange(f"key{k}", 0, "B" * 500)  # copy-on-write in the child's view
        wait_for(lambda: info(r)["current_save_keys_processed"]
                 > first["current_save_keys_processed"])
        later = info(r)
        assert later["current_cow_size"] > 0
        assert 0 < float(later["current_fork_perc"]) <= 100
        wait_for(lambda: not info(r)["rdb_bgsave_in_progress"], timeout=30)
        done = info(r)
        assert done["rdb_last_cow_size"] > 0
        assert done["current_save_keys_processed"] == 0


def test_key_load_delay_slows_loading_per_key(tmpdir_path):
    import time

    with ThreadedServer(dir=tmpdir_path, enable_debug_command="yes") as s:
        r = redis.Redis(port=s.port)
        r.execute_command("DEBUG", "POPULATE", 200)
        r.config_set("key-load-delay", 2000)  # 2 ms a key: 0.4 s
        assert r.config_get("key-load-delay") == {"key-load-delay": "2000"}
        start = time.monotonic()
        r.execute_command("DEBUG", "RELOAD")
        assert time.monotonic() - start >= 0.4
        assert r.dbsize() == 200

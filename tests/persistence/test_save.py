"""SAVE, BGSAVE (a forked child while clients keep being answered), save points, MISCONF,
SHUTDOWN SAVE/NOSAVE, loading at startup (and refusing a broken file), DEBUG RELOAD,
FLUSHALL, INFO persistence and ``trioredis check-rdb``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import redis
from typer.testing import CliRunner

from trioredis.cli import StartupError, app
from trioredis.config import Config
from trioredis.core import ManualClock, Server
from trioredis.persistence import rdb

from ..helpers import RawClient, ThreadedServer
from . import FIXTURES, diff_snapshots, our_snapshot, populate


class ListLog:
    """A Logger stand-in that keeps the lines."""

    level = 0
    path = ""

    def __init__(self):
        self.lines: list[str] = []

    def log(self, level, msg):
        self.lines.append(msg)

    def debug(self, msg):
        self.lines.append(msg)

    verbose = notice = warning = debug

    def set_level(self, level):
        pass


def wait_for(cond, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.01)


def info(r) -> dict:
    return r.info("persistence")


def dump_path(server) -> str:
    return os.path.join(server.dir, "dump.rdb")


def read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def local_server(tmp_path, **config) -> Server:
    cfg = Config()
    cfg.set("dir", str(tmp_path), startup=True)
    for k, v in config.items():
        cfg.set(k.replace("_", "-"), v, startup=True)
    srv = Server(cfg)
    srv.log = ListLog()
    return srv


# -- SAVE and BGSAVE ------------------------------------------------------------------------------


def test_save_writes_the_dump(server):
    r = redis.Redis(port=server.port, protocol=2)
    r.set("a", "1")
    r.rpush("l", "x")
    before = info(r)
    assert before["rdb_changes_since_last_save"] == 2
    assert r.save()
    after = info(r)
    assert after["rdb_changes_since_last_save"] == 0 and after["rdb_saves"] == 1
    assert after["rdb_last_save_time"] >= before["rdb_last_save_time"]
    assert r.lastsave().timestamp() == after["rdb_last_save_time"]
    assert os.listdir(server.dir) == ["dump.rdb"]  # no temp file left behind
    got = {ev[2]: ev[3] for ev in rdb.parse(read(dump_path(server))) if ev[0] == "key"}
    assert got[b"a"] == b"1" and list(got[b"l"]) == [b"x"]


def test_bgsave_while_clients_are_served(server):
    r = redis.Redis(port=server.port, protocol=2)
    r.mset({f"k{i}": i for i in range(300)})
    r.config_set("rdb-key-save-delay", 2000)  # 2 ms per key: the child runs ~0.6 s
    assert r.bgsave() is True
    assert info(r)["rdb_bgsave_in_progress"] == 1
    with pytest.raises(redis.ResponseError, match="Background save already in progress"):
        r.save()
    with pytest.raises(redis.ResponseError, match="Background save already in progress"):
        r.bgsave()
    worst = 0.0
    served = 0
    while info(r)["rdb_bgsave_in_progress"]:
        t = time.perf_counter()
        r.incr("during")
        worst = max(worst, time.perf_counter() - t)
        served += 1
        assert served < 1_000_000
    assert served > 10 and worst < 0.2  # the parent never waited for the child
    state = info(r)
    assert state["rdb_last_bgsave_status"] == "ok" and state["rdb_saves"] == 1
    assert state["rdb_changes_since_last_save"] == served  # writes after the fork remain
    keys = [ev[2] for ev in rdb.parse(read(dump_path(server))) if ev[0] == "key"]
    assert len(keys) == 300 and b"during" not in keys  # the snapshot is the fork's view
    assert os.listdir(server.dir) == ["dump.rdb"]


def test_bgsave_schedule_and_syntax(server):
    r = redis.Redis(port=server.port, protocol=2)
    busy = [True]
    server.call(server.server.add_hook, "child_active", lambda: busy[0])
    with pytest.raises(redis.ResponseError, match="Another child process is active"):
        r.execute_command("BGSAVE")
    raw = RawClient(server.port)
    assert raw.command("BGSAVE", "SCHEDULE") == b"+Background saving scheduled\r\n"
    with pytest.raises(redis.ResponseError, match="syntax error"):
        r.execute_command("BGSAVE", "NOW")
    busy[0] = False
    wait_for(lambda: info(r)["rdb_saves"] == 1 and not info(r)["rdb_bgsave_in_progress"])
    assert os.path.exists(dump_path(server))
    raw.command("MULTI")
    raw.command("BGSAVE")
    assert raw.command("EXEC") == b"*1\r\n+Background saving scheduled\r\n"
    raw.close()


def test_save_points_and_retry_delay(tmp_path):
    srv = local_server(tmp_path, save="100 2")
    p = srv.persistence
    c = srv.new_client()
    srv.execute(c, [b"SET", b"a", b"1"])
    srv.lastsave -= 200
    p.cron()
    assert p.child_pid is None  # one change, two needed
    srv.execute(c, [b"SET", b"b", b"2"])
    srv.lastsave = int(time.time())
    p.cron()
    assert p.child_pid is None  # not 100 seconds yet
    srv.lastsave -= 200
    p.cron()
    assert p.child_pid is not None and "2 changes in 100 seconds. Saving..." in srv.log.lines
    assert p.wait_child(10)
    assert srv.dirty - srv.dirty_at_last_save == 0
    assert sorted(srv.log.lines[-1:]) == ["Background saving terminated with success"]
    srv.config.set("save", "")
    srv.execute(c, [b"SET", b"c", b"3"])
    srv.lastsave -= 1000
    p.cron()
    assert p.child_pid is None


def test_failed_bgsave_refuses_writes_until_a_save_works(server, monkeypatch):
    r = redis.Redis(port=server.port, protocol=2)
    r.config_set("save", "3600 1")
    r.set("a", "1")

    def broken(*a, **kw):
        raise OSError(28, "No space left on device")
        yield b""  # pragma: no cover

    monkeypatch.setattr(rdb, "iter_rdb", broken)
    assert r.bgsave()
    wait_for(lambda: not info(r)["rdb_bgsave_in_progress"])
    assert info(r)["rdb_last_bgsave_status"] == "err"
    with pytest.raises(redis.ResponseError, match="^MISCONF Redis is configured to save"):
        r.set("b", "2")
    assert r.get("a") == b"1"  # reads are fine
    raw = RawClient(server.port)
    assert raw.command("SAVE") == b"-ERR\r\n"
    raw.close()
    assert os.listdir(server.dir) == []  # the temp file was removed
    monkeypatch.undo()
    assert r.save()
    assert r.set("b", "2") and info(r)["rdb_last_bgsave_status"] == "ok"


def test_a_crash_while_saving_keeps_the_previous_dump(server):
    r = redis.Redis(port=server.port, protocol=2)
    r.set("v1", "x")
    assert r.save()
    first = read(dump_path(server))
    r.mset({f"k{i}": i for i in range(200)})
    r.config_set("rdb-key-save-delay", 10000)  # the child needs ~2 s
    assert r.bgsave()
    pid = server.call(lambda: server.server.persistence.child_pid)
    wait_for(lambda: os.path.exists(os.path.join(server.dir, f"temp-{pid}.rdb")))
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not info(r)["rdb_bgsave_in_progress"])
    assert info(r)["rdb_last_bgsave_status"] == "err"
    assert read(dump_path(server)) == first
    assert os.listdir(server.dir) == ["dump.rdb"]


# -- SHUTDOWN -------------------------------------------------------------------------------------


@pytest.mark.parametrize("args,save_config,saved", [
    (("NOSAVE",), "3600 1", False),
    (("SAVE",), "", True),
    ((), "3600 1", True),
    ((), "", False),
])
def test_shutdown_save_options(args, save_config, saved):
    s = ThreadedServer(save=save_config).start()
    try:
        r = redis.Redis(port=s.port, protocol=2)
        r.set("k", "v")
        raw = RawClient(s.port)
        raw.send(b"*%d\r\n" % (1 + len(args)) + b"".join(
            b"$%d\r\n%s\r\n" % (len(a), a.encode()) for a in ("SHUTDOWN", *args)))
        assert raw.closed()  # no reply: the connection just closes
        raw.close()
        s.thread.join(10)
        assert os.path.exists(dump_path(s)) == saved
        if saved:
            assert [ev[2] for ev in rdb.parse(read(dump_path(s))) if ev[0] == "key"] == [b"k"]
    finally:
        s.stop()


def test_sigterm_path_kills_child_and_saves_by_default(tmp_path):
    srv = local_server(tmp_path, save="3600 1", rdb_key_save_delay="100000")
    srv.dbs[0].data[b"k"] = b"v"
    p = srv.persistence
    assert p.bgsave()
    srv.config.set("rdb-key-save-delay", "0")
    assert p.on_shutdown(None) is True
    assert p.child_pid is None and "There is a child saving an .rdb. Killing it!" in srv.log.lines
    assert os.listdir(tmp_path) == ["dump.rdb"]


# -- loading at startup ---------------------------------------------------------------------------


def sample_dump(now_ms: int) -> bytes:
    srv = Server(Config(), clock=ManualClock(now_ms / 1000))
    db = srv.dbs[0]
    db.data.update({b"a": b"1", b"ttl": b"2", b"old": b"3"})
    db.set_expire(b"ttl", now_ms + 3_600_000)
    db.set_expire(b"old", now_ms - 1000)
    srv.dbs[5].data[b"other"] = b"db5"
    return rdb.dump_bytes(srv)


def test_startup_loads_the_dump():
    now = int(time.time() * 1000)
    s = ThreadedServer()
    with open(dump_path(s), "wb") as f:
        f.write(sample_dump(now))
    s.start()
    try:
        r = redis.Redis(port=s.port, protocol=2)
        assert sorted(r.keys("*")) == [b"a", b"ttl"]  # the expired key was dropped
        assert r.execute_command("PEXPIRETIME", "ttl") == now + 3_600_000
        assert redis.Redis(port=s.port, db=5, protocol=2).get("other") == b"db5"
        st = info(r)
        assert st["rdb_last_load_keys_loaded"] == 3 and st["rdb_last_load_keys_expired"] == 1
    finally:
        s.stop()


def test_startup_logs_progress_and_time(tmp_path):
    src = Server(Config())
    src.dbs[0].data.update({b"k%d" % i: b"v" for i in range(40000)})
    (tmp_path / "dump.rdb").write_bytes(rdb.dump_bytes(src))
    srv = local_server(tmp_path)
    stats = rdb.load_into(srv, read(str(tmp_path / "dump.rdb")), log=srv.log, progress_every=0)
    assert stats.keys_loaded == 40000
    assert any("% done" in x and "keys per second" in x for x in srv.log.lines)
    srv = local_server(tmp_path)
    srv.persistence.on_startup()
    assert srv.log.lines[-1].startswith("DB loaded from disk: ")
    assert srv.log.lines[-1].endswith(" seconds")
    assert "Done loading RDB, keys loaded: 40000, keys expired: 0." in srv.log.lines


def _startup_error(exc: BaseException):
    while isinstance(exc, BaseExceptionGroup):
        exc = exc.exceptions[0]
    return exc


def test_startup_refuses_a_broken_file_and_leaves_it():
    data = sample_dump(int(time.time() * 1000))
    broken = data[:-20]
    s = ThreadedServer()
    with open(dump_path(s), "wb") as f:
        f.write(broken)
    try:
        with pytest.raises(BaseException) as e:
            s.start()
        err = _startup_error(e.value)
        assert isinstance(err, StartupError)
        assert "Fatal error loading the DB" in str(err) and "offset" in str(err)
        assert read(dump_path(s)) == broken
    finally:
        s.stop()


def test_cli_exits_1_on_a_broken_dump(tmp_path):
    (tmp_path / "dump.rdb").write_bytes(b"REDIS0010\xfe\x00\x00\x03fo")
    out = subprocess.run(
        [sys.executable, "-m", "trioredis", "server", "--port", "0", "--dir", str(tmp_path)],
        capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    # The start-up warnings (logo, overcommit...) come first; the fatal error is the last line.
    last = out.stdout.strip().splitlines()[-1]
    assert " # " in last and "Fatal error loading the DB" in last
    assert sum("Fatal error" in x for x in out.stdout.splitlines()) == 1
    assert (tmp_path / "dump.rdb").read_bytes() == b"REDIS0010\xfe\x00\x00\x03fo"


def test_missing_file_is_an_empty_dataset(tmp_path):
    srv = local_server(tmp_path)
    srv.persistence.on_startup()
    assert not any(db.data for db in srv.dbs)


# -- DEBUG RELOAD, FLUSHALL, INFO, check-rdb -----------------------------------------------------


def test_debug_reload():
    with ThreadedServer(enable_debug_command="yes") as s:
        r = redis.Redis(port=s.port, protocol=2)
        populate(r, big=False)
        before = s.call(our_snapshot, s.server)
        assert r.execute_command("DEBUG", "RELOAD") == b"OK"
        assert not diff_snapshots(before, s.call(our_snapshot, s.server))
        assert r.execute_command("DEBUG", "RELOAD", "NOFLUSH", "MERGE", "NOSAVE") == b"OK"
        with pytest.raises(redis.ResponseError, match="only supports the MERGE, NOFLUSH"):
            r.execute_command("DEBUG", "RELOAD", "BOGUS")
        os.unlink(dump_path(s))
        with pytest.raises(redis.ResponseError, match="Error trying to load the RDB dump"):
            r.execute_command("DEBUG", "RELOAD", "NOSAVE")


def test_flushall_empties_the_dump_when_saving(server):
    r = redis.Redis(port=server.port, protocol=2)
    r.config_set("save", "3600 1")
    r.set("k", "v")
    assert r.save()
    r.flushall()
    assert [ev for ev in rdb.parse(read(dump_path(server))) if ev[0] == "key"] == []
    assert info(r)["rdb_changes_since_last_save"] == 0  # its save leaves none (Redis 7.0.15)


def test_check_rdb_command(tmp_path):
    runner = CliRunner()
    good = runner.invoke(app, ["check-rdb", os.path.join(FIXTURES, "types-v12.rdb")])
    assert good.exit_code == 0, good.output
    assert "RDB looks OK" in good.output and "db0: keys=5" in good.output
    assert "AUX FIELD redis-ver = '7.4.0'" in good.output
    bad = tmp_path / "bad.rdb"
    bad.write_bytes(read(os.path.join(FIXTURES, "keys-v11.rdb"))[:60])
    out = runner.invoke(app, ["check-rdb", str(bad)])
    assert out.exit_code == 1 and "RDB ERROR DETECTED" in out.output
    assert "[offset 55] Unexpected EOF reading RDB file" in out.output  # where the read began
    assert runner.invoke(app, ["check-rdb", str(tmp_path / "none.rdb")]).exit_code == 1


def test_flushall_with_save_points_leaves_no_unsaved_change(tmp_path, real_redis):
    """FLUSHALL saves the empty dataset when there are save points; like any save it leaves
    rdb_changes_since_last_save at 0, as Redis 7.0.15 (unit/other), and still propagates."""
    from tests.helpers import ThreadedServer

    def changes(r):
        return r.info("persistence")["rdb_changes_since_last_save"]

    with ThreadedServer(dir=str(tmp_path)) as s:
        ours, theirs = redis.Redis(port=s.port), redis.Redis(port=real_redis.port)
        try:
            for r in (ours, theirs):
                r.config_set("save", "3600 1 300 100 60 10000")
                r.set("key", "value")
                r.flushall()
            assert changes(ours) == changes(theirs) == 0
            assert (tmp_path / "dump.rdb").exists()
            theirs.config_set("save", "")
        finally:
            ours.close()
            theirs.close()

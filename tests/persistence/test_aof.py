"""The append-only file: Redis 7's multi-part layout, shared both ways with a real Redis 7.0.

Differential where possible: the incr file we write is byte for byte what redis-server writes
for the same commands; a real redis-server starts on a directory we wrote (RDB or plain
command base, after rewrites, after an upgrade from an old single file) and redis-check-aof
accepts it; we start on a directory a real Redis wrote and serve the same keyspace.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import pytest
import redis

from trioredis.config import Config
from trioredis.core import Server
from trioredis.persistence import aof

from ..helpers import RawClient, ThreadedServer, free_port, have_real_redis, wait_port
from . import populate, real_snapshot

needs_redis = pytest.mark.skipif(not have_real_redis(), reason="redis-server is not installed")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


# -- helpers -----------------------------------------------------------------------------------


@pytest.fixture
def tmpdir_path():
    d = tempfile.mkdtemp(prefix="trioredis-aof-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


class Real:
    """A real redis-server with the AOF on in ``dirpath`` (killed, never SHUTDOWN: the OS has
    every write already, as ours does)."""

    def __init__(self, dirpath: str, *args: str):
        self.port = free_port()
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "yes", "--dir", dirpath, *args],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_port(self.port)
        self.r = redis.Redis(port=self.port, protocol=2)

    def stop(self) -> None:
        self.r.close()
        self.proc.kill()
        self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def ours(dirpath: str, **config) -> ThreadedServer:
    config.setdefault("appendonly", "yes")
    return ThreadedServer(dir=dirpath, **config)


def view(port: int, live: bool = True) -> dict:
    """A keyspace snapshot without what a replay sets to the load time (consumer seen-time).

    ``live``: also without the groups' entries-read, which Redis 7.0 does not log (XREADGROUP
    logs XCLAIMs), so a reload, of redis-server as of ours, does not have it.
    """
    out = {}
    for k, (t, v, exp) in real_snapshot(port).items():
        if t == "stream":
            v = dict(v)
            v["groups"] = [(n, last, None if live else er, pel, [(c[0], c[2]) for c in cons])
                           for n, last, er, pel, cons in v["groups"]]
        out[k] = (t, v, exp)
    return out


def view_of(full: dict) -> dict:
    """A ``live=False`` view turned into a ``live=True`` one."""
    out = {}
    for k, (t, v, exp) in full.items():
        if t == "stream":
            v = dict(v)
            v["groups"] = [(n, last, None, pel, cons) for n, last, er, pel, cons in v["groups"]]
        out[k] = (t, v, exp)
    return out


def reloaded_by_real(d: str) -> dict:
    """What a real redis-server loads from (a copy of) directory ``d``."""
    copy = tempfile.mkdtemp()
    try:
        shutil.copytree(aofdir(d), aofdir(copy))
        with Real(copy) as rr:
            return view(rr.port, live=False)
    finally:
        shutil.rmtree(copy)


def reloaded_by_us(d: str) -> dict:
    copy = tempfile.mkdtemp()
    try:
        shutil.copytree(aofdir(d), aofdir(copy))
        with ours(copy) as s:
            return view(s.port, live=False)
    finally:
        shutil.rmtree(copy)


def startup_error(d: str, **config) -> str:
    """Start ours on ``d``, which must fail: the message of the error."""
    s = ours(d, **config)
    try:
        s.start()
    except BaseException as e:  # noqa: B036 - an exception group from the server's nursery
        while isinstance(e, BaseExceptionGroup):
            e = e.exceptions[0]
        return str(e)
    finally:
        shutil.rmtree(s.dir, ignore_errors=True)  # the helper's own temp dir
    s.stop()
    raise AssertionError("the server started")


def raw(r: redis.Redis, *cmd) -> bytes:
    """A command's status reply as sent (redis-py turns these into True)."""
    c = RawClient(r.connection_pool.connection_kwargs["port"])
    try:
        reply = c.command(*cmd)
    finally:
        c.close()
    if reply.startswith(b"-"):
        raise redis.ResponseError(reply[1:-2].decode())
    return reply[1:-2]


def bgrewriteaof(r: redis.Redis) -> bytes:
    return raw(r, "BGREWRITEAOF")


def info(r: redis.Redis) -> dict:
    return r.info("persistence")


def wait_for(pred, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def wait_rewrite_done(r: redis.Redis, rewrites: int = 1) -> None:
    wait_for(lambda: (i := info(r))["aof_rewrites"] >= rewrites
             and not i["aof_rewrite_in_progress"] and not i["aof_rewrite_scheduled"])


def aofdir(d: str) -> str:
    return os.path.join(d, "appendonlydir")


def manifest(d: str) -> str:
    with open(os.path.join(aofdir(d), "appendonly.aof.manifest")) as f:
        return f.read()


def incr_files(d: str) -> list[str]:
    return sorted(glob.glob(os.path.join(aofdir(d), "*.incr.aof")))


def redis_check_aof(path: str) -> int:
    return subprocess.run(["redis-check-aof", path], capture_output=True).returncode


def mixed_writes(r: redis.Redis) -> None:
    """Writes of every kind that reach the log in a rewritten form, across dbs."""
    r.set("s", "v")
    r.append("s", "xx")
    r.set("ex", "1", ex=1000)
    r.getex("ex", px=123456)
    r.expire("s", 5000)
    r.incrbyfloat("fl", "2.5")
    r.hincrbyfloat("h", "f", 1.5)
    r.rpush("l", *range(10))
    r.lpop("l")
    r.xadd("st", {"f": "1"})
    r.xadd("st", {"f": "2"})
    r.xgroup_create("st", "g", "0")
    r.xreadgroup("g", "c1", {"st": ">"}, count=1)
    p = r.pipeline(transaction=True)
    p.set("m1", 1)
    p.incr("m1")
    p.set("m2", 2)
    p.execute()
    r.set("gone", 1, px=1)
    time.sleep(0.005)
    r.get("gone")
    r3 = redis.Redis(port=r.connection_pool.connection_kwargs["port"], db=3, protocol=2)
    r3.set("db3", "x")
    r3.close()


# -- the pieces --------------------------------------------------------------------------------


def test_manifest_render_and_parse():
    m = aof.Manifest()
    assert m.new_base("appendonly.aof", True) == "appendonly.aof.1.base.rdb"
    assert m.new_incr("appendonly.aof") == "appendonly.aof.1.incr.aof"
    text = m.render()
    assert text == ("file appendonly.aof.1.base.rdb seq 1 type b\n"
                    "file appendonly.aof.1.incr.aof seq 1 type i\n")
    m2 = aof.Manifest.parse(text.encode())
    assert m2.render() == text and m2.base_seq == 1 and m2.incr_seq == 1
    # A rewrite: the old base and incr become history, then go.
    m2.new_incr("appendonly.aof")
    assert m2.new_base("appendonly.aof", False) == "appendonly.aof.2.base.aof"
    m2.incr_to_history(keep_last=True)
    assert [i.name for i in m2.history] == ["appendonly.aof.1.incr.aof",
                                            "appendonly.aof.1.base.rdb"]
    assert m2.render().splitlines()[0] == "file appendonly.aof.2.base.aof seq 2 type b"
    assert m2.render().splitlines()[-1] == "file appendonly.aof.2.incr.aof seq 2 type i"
    # Names that need quoting are quoted (sdscatrepr) and read back.
    q = aof.Manifest()
    q.new_base("my file.aof", True)
    assert q.render() == 'file "my file.aof.1.base.rdb" seq 1 type b\n'
    assert aof.Manifest.parse(q.render().encode()).base.name == "my file.aof.1.base.rdb"
    # Comments, extra keys (forward compatibility) are fine.
    ok = b"# hi\nfile a seq 1 type b extra x\n"
    assert aof.Manifest.parse(ok).base.name == "a"
    for bad, why in [
        (b"", "empty"),
        (b"file a seq 1 type b\nfile b seq 2 type b\n", "duplicate base"),
        (b"file a seq 2 type i\nfile b seq 1 type i\n", "non-monotonic"),
        (b"file ../a seq 1 type b\n", "path"),
        (b"file a seq 1 type x\n", "Unknown AOF file type"),
        (b"file a seq 1\n", "Invalid"),
        (b"\n", "Invalid"),
    ]:
        with pytest.raises(aof.AofError, match=why):
            aof.Manifest.parse(bad)


def test_command_reader():
    data = (b"#TS:1700000000\r\n*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n"
            b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\nv\r\n\r\n")
    r = aof.CommandReader(data)
    cmds = list(r)
    assert [a for a, _ in cmds] == [[b"SELECT", b"0"], [b"SET", b"k", b"v\r\n"]]
    assert r.status == aof.OK and cmds[-1][1] == len(data)
    for cut in range(len(data) - 1, 16, -1):  # every truncation point: cut off, not an error
        r = aof.CommandReader(data[:cut])
        got = list(r)
        if cut < len(data):
            assert r.status == aof.TRUNCATED or (got and got[-1][1] == cut), cut
    r = aof.CommandReader(b"*1\r\n$4\r\nPING\r\nxyz\r\n")
    assert [a for a, _ in r] == [[b"PING"]] and r.status == aof.FORMAT and r.error_pos == 14
    r = aof.CommandReader(b"*1\r\n$4\r\nPINGxx", strict=True)
    assert list(r) == [] and r.status == aof.FORMAT
    r = aof.CommandReader(b"*1\r\n$4\r\nEXEC\r\n", strict=True)
    assert list(r) == [] and r.error == "Unexpected EXEC"


def test_plain_rewrite_rebuilds_every_type():
    """The command base (aof-use-rdb-preamble no) replayed into an empty server."""
    with ThreadedServer() as s:
        r = redis.Redis(port=s.port, protocol=2)
        populate(r, big=False)
        want = view(s.port)
        data = s.call(aof.rewrite_commands, s.server)
    with ThreadedServer() as s2:
        c = RawClient(s2.port)
        c.send(data)
        for _ in aof.CommandReader(data):
            assert not c.read_reply().startswith(b"-")
        assert view(s2.port) == want


# -- what we write -----------------------------------------------------------------------------

COMMANDS = [
    ("SET", "a", "1"), ("SELECT", "2"), ("SET", "b", "2"), ("MULTI",), ("INCR", "b"),
    ("RPUSH", "l", "x", "y"), ("EXEC",), ("MULTI",), ("SET", "one", "1"), ("EXEC",),
    ("SELECT", "0"), ("DEL", "a", "zz"), ("DEL", "nothing"), ("HSET", "h", "f", "v"),
    ("EXPIREAT", "h", "4000000000"), ("SELECT", "5"), ("MULTI",), ("SELECT", "6"),
    ("SET", "in6", "x"), ("SELECT", "5"), ("SET", "in5", "y"), ("EXEC",),
    ("SET", "k", "v", "PXAT", "4000000000000"), ("LPUSH", "q", "1"), ("LPOP", "q"),
    ("INCRBY", "cnt", "5"), ("SADD", "s", "a"), ("SREM", "s", "b"), ("GET", "a"),
    ("SET", "p", "1", "EX", "100"), ("SET", "p", "2", "KEEPTTL"), ("PERSIST", "p"),
]


@needs_redis
def test_incr_file_is_byte_identical_to_real_redis(tmpdir_path):
    """SELECT when the db changes, MULTI/EXEC around EXEC's writes (a single write alone),
    nothing for no-ops: what redis-server 7.0 writes, byte for byte."""
    real_dir = os.path.join(tmpdir_path, "real")
    our_dir = os.path.join(tmpdir_path, "ours")
    os.mkdir(real_dir)
    os.mkdir(our_dir)
    cmds = [c for c in COMMANDS if c[-1] != "100"]  # relative TTLs become absolute: clocks differ
    with Real(real_dir) as rr:
        c = RawClient(rr.port)
        for cmd in cmds:
            c.command(*cmd)
        c.close()
    with ours(our_dir) as s:
        c = RawClient(s.port)
        for cmd in cmds:
            c.command(*cmd)
        c.close()
    real = open(incr_files(real_dir)[0], "rb").read()
    mine = open(incr_files(our_dir)[0], "rb").read()
    assert mine == real
    assert b"MULTI" in mine and mine.count(b"MULTI") == 2  # the lone SET in MULTI is unwrapped


def test_reply_only_after_the_write(tmpdir_path):
    """Whatever a client is told, the file (the OS) has: checked right after each reply."""
    for policy in ("always", "everysec", "no"):
        d = os.path.join(tmpdir_path, policy)
        os.mkdir(d)
        with ours(d, appendfsync=policy) as s:
            r = redis.Redis(port=s.port, protocol=2)
            for i in range(20):
                r.set(f"key{i}", "v")
                assert f"key{i}".encode() in open(incr_files(d)[0], "rb").read()
            p = r.pipeline(transaction=False)
            for i in range(200):
                p.rpush("list", i)
            p.execute()
            assert open(incr_files(d)[0], "rb").read().count(b"RPUSH") == 200


def test_expired_keys_are_logged_as_del(tmpdir_path):
    with ours(tmpdir_path) as s:
        r = redis.Redis(port=s.port, protocol=2)
        r.set("k", "v", px=20)
        wait_for(lambda: b"DEL" in open(incr_files(tmpdir_path)[0], "rb").read())
    assert open(incr_files(tmpdir_path)[0], "rb").read().endswith(b"*2\r\n$3\r\nDEL\r\n$1\r\nk\r\n")


def test_restart_restores_everything(tmpdir_path):
    with ours(tmpdir_path) as s:
        r = redis.Redis(port=s.port, protocol=2)
        populate(r, big=False)
        mixed_writes(r)
        want = view(s.port)
    with ours(tmpdir_path) as s:
        assert view(s.port) == want
        assert s.call(lambda: s.server.dirty) > 0  # replayed through the command path


def test_timestamps_annotations(tmpdir_path):
    with ours(tmpdir_path, aof_timestamp_enabled="yes") as s:
        r = redis.Redis(port=s.port, protocol=2)
        r.set("a", 1)
        r.set("b", 2)
    data = open(incr_files(tmpdir_path)[0], "rb").read()
    assert data.startswith(b"#TS:") and data.count(b"#TS:") <= 2
    with ours(tmpdir_path) as s:
        assert redis.Redis(port=s.port, protocol=2).mget("a", "b") == [b"1", b"2"]
    if have_real_redis():
        assert redis_check_aof(os.path.join(aofdir(tmpdir_path), "appendonly.aof.manifest")) == 0


@needs_redis
@pytest.mark.parametrize("preamble", ["yes", "no"])
def test_real_redis_starts_on_our_directory(tmpdir_path, preamble):
    with ours(tmpdir_path, aof_use_rdb_preamble=preamble) as s:
        r = redis.Redis(port=s.port, protocol=2)
        populate(r, big=False)
        assert bgrewriteaof(r) == b"Background append only file rewriting started"
        wait_rewrite_done(r)
        mixed_writes(r)  # after the rewrite: in the new incr file
        want = view(s.port)
    suffix = ".rdb" if preamble == "yes" else ".aof"
    assert manifest(tmpdir_path) == (f"file appendonly.aof.2.base{suffix} seq 2 type b\n"
                                     "file appendonly.aof.2.incr.aof seq 2 type i\n")
    assert sorted(os.listdir(aofdir(tmpdir_path))) == [
        f"appendonly.aof.2.base{suffix}", "appendonly.aof.2.incr.aof", "appendonly.aof.manifest"]
    assert redis_check_aof(os.path.join(aofdir(tmpdir_path), "appendonly.aof.manifest")) == 0
    real = reloaded_by_real(tmpdir_path)
    assert {k: v for k, v in real.items()} == reloaded_by_us(tmpdir_path)
    assert view_of(real) == want


@needs_redis
@pytest.mark.parametrize("preamble", ["yes", "no"])
def test_we_start_on_a_real_redis_directory(tmpdir_path, preamble):
    with Real(tmpdir_path, "--aof-use-rdb-preamble", preamble) as rr:
        populate(rr.r, big=False)
        bgrewriteaof(rr.r)
        wait_rewrite_done(rr.r)
        mixed_writes(rr.r)
        want = view(rr.port)
    real = reloaded_by_real(tmpdir_path)
    assert view_of(real) == want
    with ours(tmpdir_path) as s:
        assert view(s.port, live=False) == real
        r = redis.Redis(port=s.port, protocol=2)
        assert info(r)["aof_base_size"] > 0


@needs_redis
@pytest.mark.parametrize("preamble", [False, True])
def test_old_single_file_is_upgraded(tmpdir_path, preamble):
    """An appendonly.aof without manifest (Redis < 7) moves into the directory as the base."""
    old = os.path.join(tmpdir_path, "appendonly.aof")
    head = b""
    if preamble:  # an RDB then commands, as Redis 4-6 wrote with aof-use-rdb-preamble yes
        src = tempfile.mkdtemp()
        try:
            with Real(src, "--appendonly", "no") as rr:
                rr.r.set("fromrdb", "1")
                rr.r.rpush("list", "a")
                rr.r.save()
            head = open(os.path.join(src, "dump.rdb"), "rb").read()
        finally:
            shutil.rmtree(src)
    with open(old, "wb") as f:
        f.write(head + b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$4\r\ntail\r\n"
                b"$1\r\n2\r\n*3\r\n$5\r\nRPUSH\r\n$4\r\nlist\r\n$1\r\nb\r\n")
    with ours(tmpdir_path) as s:
        r = redis.Redis(port=s.port, protocol=2)
        assert r.get("tail") == b"2"
        assert r.lrange("list", 0, -1) == ([b"a", b"b"] if preamble else [b"b"])
        r.set("after", "3")
        want = view(s.port)
    assert not os.path.exists(old)
    assert manifest(tmpdir_path) == ("file appendonly.aof seq 1 type b\n"
                                     "file appendonly.aof.1.incr.aof seq 1 type i\n")
    with Real(tmpdir_path) as rr:
        assert view(rr.port) == want


@needs_redis
def test_redis_upgrades_an_old_file_we_then_load(tmpdir_path):
    """The other way: real Redis 7 upgrades the old file; we load its result."""
    with open(os.path.join(tmpdir_path, "appendonly.aof"), "wb") as f:
        f.write(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n")
    with Real(tmpdir_path) as rr:
        rr.r.set("k2", "v2")
    with ours(tmpdir_path) as s:
        assert redis.Redis(port=s.port, protocol=2).mget("k", "k2") == [b"v", b"v2"]


def test_appendonly_yes_ignores_the_rdb(tmpdir_path):
    """As Redis 7.0: with the AOF on, only the AOF is loaded, even when it does not exist."""
    with ThreadedServer(dir=tmpdir_path) as s:
        r = redis.Redis(port=s.port, protocol=2)
        r.set("inrdb", 1)
        r.save()
    with ours(tmpdir_path) as s:
        assert redis.Redis(port=s.port, protocol=2).dbsize() == 0
    assert manifest(tmpdir_path).startswith("file appendonly.aof.1.base.rdb seq 1 type b\n")


# -- damaged files -----------------------------------------------------------------------------


def _write_and_damage(d: str, tail: bytes) -> str:
    with ours(d) as s:
        r = redis.Redis(port=s.port, protocol=2)
        r.set("a", 1)
        r.incr("a")
    path = incr_files(d)[-1]
    size = os.path.getsize(path)
    with open(path, "ab") as f:
        f.write(tail)
    return path, size


@pytest.mark.parametrize("tail", [
    b"*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$5\r\nab",  # cut inside a bulk
    b"*3\r\n$3\r\nSET\r\n$1",  # cut inside a length
    b"*3",  # cut inside the header
    b"*1\r\n$5\r\nMULTI\r\n*2\r\n$4\r\nINCR\r\n$1\r\na\r\n",  # MULTI without EXEC
])
def test_truncated_tail_is_cut_off(tmpdir_path, tail):
    path, size = _write_and_damage(tmpdir_path, tail)
    with ours(tmpdir_path) as s:
        r = redis.Redis(port=s.port, protocol=2)
        assert r.get("a") == b"2" and r.get("b") is None
        r.set("c", 3)
    added = b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\nc\r\n$1\r\n3\r\n"
    assert open(path, "rb").read()[size:] == added  # cut where the damage began
    with ours(tmpdir_path) as s:
        assert redis.Redis(port=s.port, protocol=2).mget("a", "c") == [b"2", b"3"]


def test_truncated_with_aof_load_truncated_no_is_an_error(tmpdir_path):
    tail = b"*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$5\r\nab"
    path, size = _write_and_damage(tmpdir_path, tail)
    proc = subprocess.run(
        [sys.executable, "-m", "trioredis", "server", "--port", str(free_port()), "--dir",
         tmpdir_path, "--appendonly", "yes", "--aof-load-truncated", "no", "--save", ""],
        capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 1
    assert "Unexpected end of file reading the append only file appendonly.aof.1.incr.aof" in (
        proc.stdout + proc.stderr)
    assert os.path.getsize(path) == size + len(tail)  # left as it was
    # A format error is fatal whatever aof-load-truncated says.
    with open(path, "r+b") as f:
        f.truncate(size)
        f.seek(size)
        f.write(b"garbage\r\n")
    assert "Bad file format reading the append only file" in startup_error(tmpdir_path)


def test_missing_file_or_bad_manifest_is_an_error(tmpdir_path):
    with ours(tmpdir_path):
        pass
    os.unlink(incr_files(tmpdir_path)[0])
    assert "Unable to obtain the AOF file appendonly.aof.1.incr.aof" in startup_error(tmpdir_path)
    with open(os.path.join(aofdir(tmpdir_path), "appendonly.aof.manifest"), "w") as f:
        f.write("file a seq 1 type b\nfile b seq 1 type b\n")
    assert "Found duplicate base file information" in startup_error(tmpdir_path)


# -- rewrites ----------------------------------------------------------------------------------


def test_bgrewriteaof_loses_no_write_made_during_it(tmpdir_path):
    with ours(tmpdir_path, rdb_key_save_delay=100) as s:  # ~0.2 s for the child to write
        r = redis.Redis(port=s.port, protocol=2)
        for i in range(2000):
            r.set(f"k{i}", i)
        assert bgrewriteaof(r) == b"Background append only file rewriting started"
        with pytest.raises(redis.ResponseError,
                           match="Background append only file rewriting already in progress"):
            bgrewriteaof(r)
        n = 0
        while info(r)["aof_rewrite_in_progress"]:
            r.incr("counter")
            r.set(f"during{n}", n)
            n += 1
        assert n > 10
        wait_rewrite_done(r)
        r.incr("counter")
        n += 1
        i = info(r)
        assert i["aof_last_bgrewrite_status"] == "ok" and i["aof_base_size"] > 0
        assert i["aof_current_size"] >= i["aof_base_size"]
    assert manifest(tmpdir_path) == ("file appendonly.aof.2.base.rdb seq 2 type b\n"
                                     "file appendonly.aof.2.incr.aof seq 2 type i\n")
    with ours(tmpdir_path) as s:
        r = redis.Redis(port=s.port, protocol=2)
        assert r.dbsize() == 2000 + n
        assert int(r.get("counter")) == n
        assert r.get("k1999") == b"1999"


def test_bgrewriteaof_and_bgsave_wait_for_each_other(tmpdir_path):
    with ours(tmpdir_path, rdb_key_save_delay=200) as s:
        r = redis.Redis(port=s.port, protocol=2)
        for i in range(500):
            r.set(f"k{i}", i)
        assert raw(r, "BGSAVE") == b"Background saving started"
        assert bgrewriteaof(r) == b"Background append only file rewriting scheduled"
        assert info(r)["aof_rewrite_scheduled"] == 1
        wait_rewrite_done(r)  # started by the cron once the BGSAVE is over
        assert info(r)["rdb_bgsave_in_progress"] == 0
        assert bgrewriteaof(r) == b"Background append only file rewriting started"
        with pytest.raises(redis.ResponseError, match="Another child process is active"):
            raw(r, "BGSAVE")
        assert raw(r, "BGSAVE", "SCHEDULE") == b"Background saving scheduled"
        wait_rewrite_done(r, 2)
        wait_for(lambda: info(r)["rdb_saves"] == 2 and not info(r)["rdb_bgsave_in_progress"])
        # In a transaction: scheduled too.
        c = RawClient(s.port)
        c.command("MULTI")
        c.command("BGREWRITEAOF")
        assert c.command("EXEC") == b"*1\r\n+Background append only file rewriting scheduled\r\n"
        c.close()
        wait_rewrite_done(r, 3)
    assert manifest(tmpdir_path).startswith("file appendonly.aof.4.base.rdb seq 4 type b\n")


def test_failed_rewrite_keeps_every_incr_file(tmpdir_path, monkeypatch):
    """A rewrite whose child fails: the log goes on in a second incr file, both listed."""
    def broken(server):
        raise OSError("disk on fire")

    with ours(tmpdir_path) as s:
        r = redis.Redis(port=s.port, protocol=2)
        r.set("a", 1)
        monkeypatch.setattr(aof, "base_chunks", broken)  # the forked child inherits it
        assert bgrewriteaof(r) == b"Background append only file rewriting started"
        wait_for(lambda: not info(r)["aof_rewrite_in_progress"])
        i = info(r)
        assert i["aof_last_bgrewrite_status"] == "err"
        assert i["aof_rewrites_consecutive_failures"] == 1
        r.set("b", 2)
        monkeypatch.undo()
    assert manifest(tmpdir_path) == ("file appendonly.aof.1.base.rdb seq 1 type b\n"
                                     "file appendonly.aof.1.incr.aof seq 1 type i\n"
                                     "file appendonly.aof.2.incr.aof seq 2 type i\n")
    assert not glob.glob(os.path.join(tmpdir_path, "temp-*"))
    with ours(tmpdir_path) as s:
        r = redis.Redis(port=s.port, protocol=2)
        assert r.mget("a", "b") == [b"1", b"2"]
        assert bgrewriteaof(r) == b"Background append only file rewriting started"
        wait_rewrite_done(r)
        assert info(r)["aof_last_bgrewrite_status"] == "ok"
    assert manifest(tmpdir_path) == ("file appendonly.aof.2.base.rdb seq 2 type b\n"
                                     "file appendonly.aof.3.incr.aof seq 3 type i\n")
    if have_real_redis():
        assert reloaded_by_real(tmpdir_path) == reloaded_by_us(tmpdir_path)


def test_bgrewriteaof_with_the_aof_off(tmpdir_path):
    """Like Redis: a base and a manifest without incr files; the next start with the AOF on
    loads it."""
    with ThreadedServer(dir=tmpdir_path) as s:
        r = redis.Redis(port=s.port, protocol=2)
        r.set("k", "v")
        bgrewriteaof(r)
        wait_rewrite_done(r)
        assert info(r)["aof_enabled"] == 0
    assert manifest(tmpdir_path) == "file appendonly.aof.1.base.rdb seq 1 type b\n"
    with ours(tmpdir_path) as s:
        assert redis.Redis(port=s.port, protocol=2).get("k") == b"v"


def test_config_set_appendonly_at_runtime(tmpdir_path):
    with ThreadedServer(dir=tmpdir_path) as s:
        r = redis.Redis(port=s.port, protocol=2)
        for i in range(100):
            r.set(f"before{i}", i)
        assert r.config_set("appendonly", "yes")
        i = info(r)
        assert i["aof_enabled"] == 1 and i["aof_rewrite_in_progress"] == 1
        r.set("during", 1)  # goes to the temp incr file, renamed when the rewrite is done
        wait_rewrite_done(r)
        r.set("after", 1)
        assert sorted(os.listdir(aofdir(tmpdir_path))) == [
            "appendonly.aof.1.base.rdb", "appendonly.aof.1.incr.aof", "appendonly.aof.manifest"]
        assert r.config_set("appendonly", "no")
        r.set("whileoff", 1)
        assert info(r)["aof_enabled"] == 0
    with ours(tmpdir_path) as s:
        r = redis.Redis(port=s.port, protocol=2)
        assert r.dbsize() == 102 and r.get("whileoff") is None


def test_automatic_rewrite_on_growth(tmpdir_path):
    with ours(tmpdir_path, auto_aof_rewrite_min_size=4096, auto_aof_rewrite_percentage=100) as s:
        r = redis.Redis(port=s.port, protocol=2)
        for i in range(200):
            r.set(f"k{i}", "x" * 20)
        wait_rewrite_done(r)
        base = info(r)["aof_base_size"]
        assert base > 4096
    with ours(tmpdir_path) as s:
        assert redis.Redis(port=s.port, protocol=2).dbsize() == 200


def test_info_persistence_fields(tmpdir_path):
    with ours(tmpdir_path) as s:
        r = redis.Redis(port=s.port, protocol=2)
        r.set("a", 1)
        c = RawClient(s.port)
        text = c.command("INFO", "persistence").decode()
    fields = [line.split(":")[0] for line in text.splitlines() if line.startswith("aof_")]
    assert fields == [
        "aof_enabled", "aof_rewrite_in_progress", "aof_rewrite_scheduled",
        "aof_last_rewrite_time_sec", "aof_current_rewrite_time_sec",
        "aof_last_bgrewrite_status", "aof_rewrites", "aof_rewrites_consecutive_failures",
        "aof_last_write_status", "aof_last_cow_size", "aof_current_size", "aof_base_size",
        "aof_pending_rewrite", "aof_buffer_length", "aof_pending_bio_fsync",
        "aof_delayed_fsync",
    ]
    assert "aof_current_size:" in text and "\r\naof_enabled:1\r\n" in text


def test_load_unit_with_manual_server(tmpdir_path):
    """The loader on a bare core.Server: EXEC replayed atomically, errors ignored, SELECT."""
    d = aofdir(tmpdir_path)
    os.mkdir(d)
    with open(os.path.join(d, "appendonly.aof.manifest"), "w") as f:
        f.write("file appendonly.aof.1.incr.aof seq 1 type i\n")
    cmds = [["SET", "a", "x"], ["INCR", "a"], ["SELECT", "1"], ["MULTI"], ["SET", "b", "1"],
            ["INCR", "b"], ["EXEC"], ["SET", "gone", "1", "PXAT", "1"], ["APPEND", "gone", "2"]]
    with open(os.path.join(d, "appendonly.aof.1.incr.aof"), "wb") as f:
        for c in cmds:
            f.write(b"*%d\r\n" % len(c) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a.encode())
                                                   for a in c))
    cfg = Config()
    cfg.set("dir", tmpdir_path, startup=True)
    cfg.set("appendonly", "yes", startup=True)
    srv = Server(cfg)
    assert aof.aof_of(srv).load()
    assert srv.dbs[0].data[b"a"] == b"x" and srv.dbs[1].data[b"b"] == b"2"
    # An expired key is not expired while loading (the APPEND saw it); it goes afterwards.
    assert srv.dbs[1].data[b"gone"] == b"12" and srv.dbs[1].lookup(b"gone") is None


# -- check-aof ---------------------------------------------------------------------------------


def test_check_aof(tmpdir_path):
    from typer.testing import CliRunner

    from trioredis.cli import app

    with ours(tmpdir_path) as s:
        r = redis.Redis(port=s.port, protocol=2)
        r.set("a", 1)
        r.rpush("l", 1, 2)
    man = os.path.join(aofdir(tmpdir_path), "appendonly.aof.manifest")
    runner = CliRunner()
    for target in (man, aofdir(tmpdir_path), incr_files(tmpdir_path)[0]):
        res = runner.invoke(app, ["check-aof", target])
        assert res.exit_code == 0, res.output
        assert "is valid" in res.output
    path = incr_files(tmpdir_path)[0]
    good = os.path.getsize(path)
    with open(path, "ab") as f:
        f.write(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nab")
    res = runner.invoke(app, ["check-aof", man])
    assert res.exit_code == 1
    assert f"ok_up_to={good}," in res.output and "is not valid" in res.output
    if have_real_redis():
        assert redis_check_aof(man) == 1
    res = runner.invoke(app, ["check-aof", "--fix", man])
    assert res.exit_code == 0 and "Successfully truncated" in res.output
    assert os.path.getsize(path) == good
    if have_real_redis():
        assert redis_check_aof(man) == 0
    # A MULTI never closed, and a format error.
    code, out = aof.check(_tmpfile(tmpdir_path, b"*1\r\n$5\r\nMULTI\r\n*1\r\n$4\r\nPING\r\n"))
    assert code == 1 and "Reached EOF before reading EXEC for MULTI" in "\n".join(out)
    code, out = aof.check(_tmpfile(tmpdir_path, b"*1\r\n$4\r\nPING\r\nxyz\r\n"))
    assert code == 1 and "ok_up_to=14," in "\n".join(out)


def _tmpfile(d: str, data: bytes) -> str:
    path = os.path.join(d, "single.aof")
    with open(path, "wb") as f:
        f.write(data)
    return path


def test_concurrent_clients_always(tmpdir_path):
    """appendfsync always with many clients: every reply after its fsync, nothing lost."""
    with ours(tmpdir_path, appendfsync="always") as s:
        def work(t):
            r = redis.Redis(port=s.port, protocol=2)
            for i in range(50):
                r.set(f"t{t}:{i}", i)
            r.close()

        threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        written, synced = s.call(lambda: (s.server.aof.written, s.server.aof.synced))
        assert synced == written
    with ours(tmpdir_path) as s:
        assert redis.Redis(port=s.port, protocol=2).dbsize() == 400

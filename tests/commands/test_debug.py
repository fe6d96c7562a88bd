"""DEBUG subcommands beyond the basics in test_server.py: HELP lists exactly what exists,
replies match Redis 7.0.15 (differential), LOADAOF replays the AOF without re-logging it."""

from __future__ import annotations

import pytest
import redis

from tests.helpers import RawClient, RealRedis, ThreadedServer, have_real_redis
from trioredis.commands.debug import _DEBUG, _HELP_TEXT
from trioredis.config import Config
from trioredis.core import ManualClock, Server
from trioredis.protocol.replies import ErrorReply

real = pytest.mark.skipif(not have_real_redis(), reason="redis-server not installed")


def _unit():
    config = Config()
    config.set("enable-debug-command", "yes", startup=True)
    srv = Server(config, clock=ManualClock())
    return srv, srv.new_client("127.0.0.1:5000", "127.0.0.1:6379", 9)


def run(srv, c, *args):
    return srv.execute(c, [a if isinstance(a, bytes) else str(a).encode() for a in args])


def test_help_lists_exactly_the_subcommands_that_exist():
    srv, c = _unit()
    lines = run(srv, c, "DEBUG", "HELP")
    listed = {line.split(" ")[0].lower() for line in lines[1:] if not line.startswith(" ")}
    # SET-DISABLE-DENY-SCRIPTS exists but Redis 7.0.15's help does not show it either.
    assert listed == {k.decode() for k in _DEBUG} - {"set-disable-deny-scripts"}
    redis_names = {name for name, _ in _HELP_TEXT} | {"help"}
    assert listed <= redis_names  # nothing Redis does not have


def test_small_subcommands():
    srv, c = _unit()
    assert run(srv, c, "DEBUG", "QUICKLIST-PACKED-THRESHOLD", "5gb") == ErrorReply(
        "ERR argument must be a memory value bigger than 1 and smaller than 4gb")
    assert run(srv, c, "DEBUG", "QUICKLIST-PACKED-THRESHOLD", "100b") == "OK"
    assert srv.quicklist_packed_threshold == 100
    assert run(srv, c, "DEBUG", "QUICKLIST-PACKED-THRESHOLD", "0") == "OK"
    assert srv.quicklist_packed_threshold == 1 << 30
    assert run(srv, c, "DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "never") == "OK"
    assert srv.reply_buffer_peak_reset_time == -1
    assert run(srv, c, "DEBUG", "REPLYBUFFER", "RESIZING", "0") == "OK"
    assert srv.reply_buffer_resizing_enabled is False
    srv.add_hook("cron", lambda: None)
    n = len(srv.hooks["cron"])
    assert run(srv, c, "DEBUG", "PAUSE-CRON", "1") == "OK" and "cron" not in srv.hooks
    assert run(srv, c, "DEBUG", "PAUSE-CRON", "0") == "OK" and len(srv.hooks["cron"]) == n
    assert run(srv, c, "DEBUG", "LEAK", "x") == "OK"
    assert run(srv, c, "DEBUG", "ERROR", "A\r\nB") == ErrorReply("A  B")
    run(srv, c, "SET", "s", "hello")
    assert run(srv, c, "DEBUG", "SDSLEN", "s").startswith("key_sds_len:1, key_sds_avail:0,")


DETERMINISTIC = [
    ("DEBUG", "HTSTATS", "0"), ("DEBUG", "HTSTATS", "99"), ("DEBUG", "HTSTATS", "x"),
    ("DEBUG", "HTSTATS", "0", "full"), ("DEBUG", "HTSTATS-KEY", "nokey"),
    ("DEBUG", "SET-SKIP-CHECKSUM-VALIDATION", "0"), ("DEBUG", "AOF-FLUSH-SLEEP", "0"),
    ("DEBUG", "AOF-FLUSH-SLEEP", "1", "2"),
    ("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "x"), ("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "5gb"),
    ("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "1b"), ("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "0"),
    ("DEBUG", "REPLYBUFFER", "foo", "1"), ("DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "x"),
    ("DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "reset"), ("DEBUG", "REPLYBUFFER", "RESIZING", "1"),
    ("DEBUG", "PAUSE-CRON", "0"), ("DEBUG", "SET-DISABLE-DENY-SCRIPTS", "0"),
    ("DEBUG", "CLIENT-EVICTION"), ("DEBUG", "CLUSTERLINK", "KILL", "to", "x"),
    ("DEBUG", "STRUCTSIZE"), ("DEBUG", "LEAK", "x"),
    ("SET", "n", "1"), ("DEBUG", "SDSLEN", "n"), ("DEBUG", "SDSLEN", "nokey"),
    ("RPUSH", "l", "a"), ("DEBUG", "LISTPACK", "l"), ("DEBUG", "LISTPACK", "nokey"),
    ("DEBUG", "QUICKLIST", "l"), ("DEBUG", "QUICKLIST", "n"), ("DEBUG", "OBJECT", "nokey"),
    ("DEBUG", "HTSTATS-KEY", "n"), ("DEBUG", "HTSTATS-KEY", "l"),
    ("DEBUG", "ERROR", "MYERR x\ny"), ("DEBUG", "PROTOCOL", "nosuch"),
    ("DEBUG", "PROTOCOL", "bignum"),
    ("DEBUG", "PROTOCOL", "verbatim"),
    ("DEBUG", "PROTOCOL", "double"), ("DEBUG", "PROTOCOL", "map"), ("DEBUG", "POPULATE", "-1"),
    ("DEBUG", "POPULATE", "2", "p", "3"), ("MGET", "p:0", "p:1"), ("DEBUG", "SET-ACTIVE-EXPIRE", "1"),
    ("DEBUG", "DIGEST-VALUE", "n", "l", "nokey"), ("DEBUG", "SLEEP", "0"), ("DEBUG", "nosuch"),
    ("DEBUG", "RELOAD", "bogus"),
]


@real
def test_differential_debug_replies(tmp_path):
    rr = RealRedis("--enable-debug-command", "yes")
    try:
        with ThreadedServer(enable_debug_command="yes", dir=str(tmp_path)) as s:
            a, b = RawClient(rr.port), RawClient(s.port)
            try:
                for resp in ("2", "3"):
                    a.command("HELLO", resp)
                    b.command("HELLO", resp)
                    a.command("FLUSHALL")
                    b.command("FLUSHALL")
                    for cmd in DETERMINISTIC:
                        assert b.command(*cmd) == a.command(*cmd), (resp, cmd)
            finally:
                a.close()
                b.close()
    finally:
        rr.stop()


def test_loadaof_replays_the_log(tmp_path):
    with ThreadedServer(enable_debug_command="yes", appendonly="yes", dir=str(tmp_path)) as s:
        r = redis.Redis(port=s.port, protocol=2)
        try:
            r.set("a", "1")
            r.rpush("l", "x", "y")
            size = sum(p.stat().st_size for p in (tmp_path / "appendonlydir").glob("*.incr.aof"))
            r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "1")
            assert r.execute_command("DEBUG", "LOADAOF") == b"OK"
            assert r.get("a") == b"1" and r.lrange("l", 0, -1) == [b"x", b"y"]
            after = sum(p.stat().st_size for p in (tmp_path / "appendonlydir").glob("*.incr.aof"))
            assert after == size  # the replay was not logged again
            assert r.info("persistence")["rdb_changes_since_last_save"] == 0
        finally:
            r.close()


def test_loadaof_without_an_aof_is_an_error(tmp_path):
    srv, c = _unit()
    srv.config.set("dir", str(tmp_path))
    assert run(srv, c, "DEBUG", "LOADAOF") == ErrorReply(
        "ERR Error trying to load the AOF files, check server logs.")

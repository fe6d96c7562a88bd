"""Keyspace commands: differential tests against a real Redis 7.0, in-process unit tests with a
ManualClock (expiry, propagation, WATCH, SWAPDB), keyspace events compared with Redis's."""

from __future__ import annotations

import time

import pytest
import redis

from trioredis.commands import registry
from trioredis.commands.keys import parse_cursor
from trioredis.errors import CommandError
from trioredis.protocol.replies import ErrorReply

from ..helpers import RawClient
from .test_strings import Local, diff_fixture, local_fixture  # noqa: F401  (fixtures)

# -- differential -------------------------------------------------------------------------------


def test_del_exists_touch_type(diff):
    diff(
        ("MSET", "a", "1", "b", "2"), ("RPUSH", "l", "x"), ("HSET", "h", "f", "v"),
        ("SADD", "s", "m"), ("ZADD", "z", "1", "m"),
        ("TYPE", "a"), ("TYPE", "l"), ("TYPE", "h"), ("TYPE", "s"), ("TYPE", "z"),
        ("TYPE", "nokey"), ("EXISTS", "a", "a", "nokey", "l"), ("TOUCH", "a", "b", "nokey"),
        ("DEL", "a", "a", "nokey"), ("UNLINK", "b", "l", "h"), ("EXISTS", "a", "b", "l", "h"),
        ("DEL",), ("EXISTS",), ("TYPE",), ("TYPE", "a", "b"), ("DBSIZE",), ("DBSIZE", "x"),
    )


def test_rename(diff):
    diff(
        ("SET", "a", "1"), ("RENAME", "a", "a"), ("RENAMENX", "a", "a"), ("RENAME", "nokey", "x"),
        ("RENAMENX", "nokey", "nokey"), ("RENAME", "nokey", "nokey"),
        ("EXPIRE", "a", "100"), ("RENAME", "a", "b"), ("TTL", "b"), ("EXISTS", "a"),
        ("SET", "c", "3"), ("RENAMENX", "b", "c"), ("RENAMENX", "b", "d"), ("TTL", "d"),
        ("RPUSH", "l", "x"), ("RENAME", "d", "l"), ("TYPE", "l"), ("GET", "l"), ("TTL", "l"),
        ("RENAME", "c", "l"), ("TTL", "l"), ("RENAME", b"\x00", b"\xff"),
    )


def test_copy(diff):
    diff(
        ("RPUSH", "l", "a", "b"), ("EXPIRE", "l", "100"), ("COPY", "l", "l2"), ("LRANGE", "l2", "0", "-1"),
        ("TTL", "l2"), ("COPY", "l", "l2"), ("COPY", "l", "l2", "REPLACE"), ("COPY", "l", "l"),
        ("COPY", "l", "l", "DB", "0"), ("COPY", "l", "l", "DB", "1"), ("SELECT", "1"),
        ("LRANGE", "l", "0", "-1"), ("TTL", "l"), ("SELECT", "0"), ("COPY", "nokey", "x"),
        ("COPY", "l", "x", "DB", "16"), ("COPY", "l", "x", "DB", "-1"), ("COPY", "l", "x", "DB", "a"),
        ("COPY", "l", "x", "DB", "4294967296"), ("COPY", "l", "x", "DB"), ("COPY", "l", "x", "FOO"),
        ("COPY", "l", "x", "REPLACE", "REPLACE", "DB", "2", "DB", "3"), ("SELECT", "3"),
        ("EXISTS", "x"), ("FLUSHDB",), ("SELECT", "1"), ("FLUSHDB",), ("SELECT", "0"),
        ("SET", "s", "12"), ("COPY", "s", "s2"), ("OBJECT", "ENCODING", "s2"), ("APPEND", "s", "3"),
        ("COPY", "s", "s3"), ("OBJECT", "ENCODING", "s3"), ("GET", "s2"),
        ("HSET", "h", "f", "v"), ("COPY", "h", "h2"), ("HSET", "h2", "g", "w"), ("HLEN", "h"),
        ("SADD", "st", "1", "2"), ("COPY", "st", "st2"), ("SREM", "st2", "1"), ("SCARD", "st"),
        ("ZADD", "z", "1", "a"), ("COPY", "z", "z2"), ("ZADD", "z2", "2", "b"), ("ZCARD", "z"),
    )


def test_streams_type_copy_encoding(diff):
    if b"xadd" not in registry.TABLE:
        pytest.skip("streams not registered yet")
    diff(
        ("XADD", "x", "1-1", "f", "v"), ("TYPE", "x"), ("COPY", "x", "x2"),
        ("XADD", "x2", "2-1", "f", "v"), ("XLEN", "x"), ("OBJECT", "ENCODING", "x"),
        ("SCAN", "0", "TYPE", "stream", "MATCH", "x"),
    )


def test_move(diff):
    diff(
        ("SET", "a", "1"), ("PEXPIRE", "a", "100000"), ("MOVE", "a", "1"), ("EXISTS", "a"),
        ("SELECT", "1"), ("TTL", "a"), ("SET", "b", "x"), ("SELECT", "0"), ("SET", "b", "y"),
        ("MOVE", "b", "1"), ("MOVE", "nokey", "1"), ("MOVE", "b", "0"), ("MOVE", "b", "16"),
        ("MOVE", "b", "-1"), ("MOVE", "b", "x"), ("MOVE", "b", "2147483648"), ("GET", "b"),
        ("SELECT", "1"), ("FLUSHDB",), ("SELECT", "0"),
    )


def test_expire_options_and_errors(diff):
    diff(
        ("SET", "k", "v"), ("EXPIRE", "k", "100", "XX"), ("EXPIRE", "k", "100", "GT"),
        ("EXPIRE", "k", "100", "LT"), ("TTL", "k"), ("EXPIRE", "k", "200", "NX"),
        ("EXPIRE", "k", "200", "GT"), ("TTL", "k"), ("EXPIRE", "k", "50", "GT"),
        ("EXPIRE", "k", "300", "LT"), ("EXPIRE", "k", "50", "lt"), ("TTL", "k"),
        ("EXPIRE", "k", "100", "XX", "GT"), ("TTL", "k"), ("EXPIRE", "k", "100", "NX", "XX"),
        ("EXPIRE", "k", "100", "NX", "GT"), ("EXPIRE", "k", "100", "GT", "LT"),
        ("EXPIRE", "k", "100", "FOO"), ("EXPIRE", "k", "abc", "FOO"), ("EXPIRE", "k", "abc", "NX", "LT"),
        ("EXPIRE", "k", "abc"), ("EXPIRE", "k", "1.5"), ("EXPIRE", "nokey", "100"),
        ("EXPIRE", "k", "9223372036854775807"), ("EXPIRE", "k", "-9223372036854775808"),
        ("EXPIRE", "k", "9223372036854775"), ("EXPIRE", "k", "9223372036854774"),
        ("PEXPIRE", "k", "9223372036854775807"), ("EXPIREAT", "k", "9223372036854775"),
        ("EXPIREAT", "k", "9223372036854775807"), ("PEXPIREAT", "k", "9223372036854775807"),
        ("PEXPIRETIME", "k"), ("EXPIRETIME", "k"), ("PERSIST", "k"), ("PERSIST", "k"),
        ("PERSIST", "nokey"), ("TTL", "k"), ("PTTL", "k"), ("EXPIRETIME", "k"), ("TTL", "nokey"),
        ("PTTL", "nokey"), ("EXPIRETIME", "nokey"), ("PEXPIRETIME", "nokey"),
        ("EXPIRE", "k", "100", "LT"), ("TTL", "k"), ("EXPIREAT", "k", "4000000000"),
        ("EXPIRETIME", "k"), ("PEXPIREAT", "k", "4000000000123"), ("PEXPIRETIME", "k"),
        ("EXPIRETIME", "k"), ("EXPIRE", "k", "0"), ("EXISTS", "k"),
        ("SET", "k", "v"), ("PEXPIRE", "k", "-1"), ("EXISTS", "k"),
        ("SET", "k", "v"), ("EXPIREAT", "k", "1", "NX"), ("EXISTS", "k"),
        ("SET", "k", "v"), ("EXPIRE", "k", "-5", "GT"), ("EXPIRE", "k", "-5", "LT"), ("EXISTS", "k"),
        ("EXPIRE", "k"), ("TTL",), ("PERSIST", "a", "b"),
    )


def test_object(diff):
    diff(
        ("RPUSH", "l", "a"), ("OBJECT", "ENCODING", "l"), ("HSET", "h", "f", "v"),
        ("OBJECT", "ENCODING", "h"), ("HSET", "h", "big", "x" * 65), ("OBJECT", "ENCODING", "h"),
        ("SADD", "s", "1", "-2"), ("OBJECT", "ENCODING", "s"), ("SADD", "s", "a"),
        ("OBJECT", "ENCODING", "s"), ("SADD", "s2", "01"), ("OBJECT", "ENCODING", "s2"),
        ("ZADD", "z", "1", "a"), ("OBJECT", "ENCODING", "z"), ("OBJECT", "ENCODING", "nokey"), ("OBJECT", "REFCOUNT", "l"),
        ("OBJECT", "REFCOUNT", "nokey"), ("OBJECT", "IDLETIME", "nokey"), ("OBJECT", "FREQ", "l"),
        ("OBJECT", "FREQ", "nokey"), ("OBJECT", "HELP"), ("OBJECT", "help", "x"), ("OBJECT", "FOO"),
        ("OBJECT",), ("OBJECT", "ENCODING"), ("OBJECT", "ENCODING", "a", "b"),
    )


def test_object_encoding_thresholds(diff, server):
    # Follow the real server's compiled-in defaults (hash-max-listpack-entries is 512 there).
    for name in ("hash-max-listpack-entries", "hash-max-listpack-value", "set-max-intset-entries"):
        value = diff.real.command("CONFIG", "GET", name).split(b"\r\n")[-2]
        server.call(server.server.config.set_value, name, int(value))
    diff(("SADD", "s", *range(512)), ("OBJECT", "ENCODING", "s"), ("SADD", "s", "512"),
         ("OBJECT", "ENCODING", "s"), ("HSET", "h", *[str(i) for i in range(256)]),
         ("OBJECT", "ENCODING", "h"), ("HSET", "h", "x", "y"), ("OBJECT", "ENCODING", "h"),
         ("RPUSH", "l", *range(1000)), ("OBJECT", "ENCODING", "l"),
         ("HSET", "h2", *[str(i) for i in range(1024)]), ("OBJECT", "ENCODING", "h2"),
         ("HSET", "h2", "x", "y"), ("OBJECT", "ENCODING", "h2"))


def test_flush_and_swapdb(diff):
    diff(
        ("SET", "a", "1"), ("SELECT", "1"), ("SET", "b", "2"), ("EXPIRE", "b", "100"),
        ("SWAPDB", "0", "1"), ("GET", "a"), ("SELECT", "0"), ("GET", "b"), ("TTL", "b"),
        ("SWAPDB", "0", "0"), ("SWAPDB", "0", "16"), ("SWAPDB", "-1", "0"), ("SWAPDB", "a", "0"),
        ("SWAPDB", "0", "b"), ("SWAPDB", "0", "2147483648"), ("SWAPDB", "0"),
        ("FLUSHDB", "FOO"), ("FLUSHDB", "ASYNC", "SYNC"), ("FLUSHDB", "sync"), ("DBSIZE",),
        ("SELECT", "1"), ("DBSIZE",), ("FLUSHALL", "async"), ("DBSIZE",), ("FLUSHALL", "x"),
        ("FLUSHALL", "SYNC"), ("SELECT", "0"), ("FLUSHDB",), ("FLUSHALL",),
    )


def test_keys_and_scan_errors(diff):
    diff(
        ("MSET", "foo", "1", "bar", "2", "", "e"), ("KEYS", "f*"), ("KEYS", "b?r"), ("KEYS", "x*"),
        ("KEYS", "[a-c]ar"), ("KEYS", ""), ("SCAN", "x"), ("SCAN", "-"), ("SCAN", " 0"),
        ("SCAN", "18446744073709551616"), ("SCAN", "0", "COUNT", "0"), ("SCAN", "0", "COUNT", "x"),
        ("SCAN", "0", "COUNT"), ("SCAN", "0", "MATCH"), ("SCAN", "0", "FOO", "bar"),
        ("SCAN", "0", "TYPE", "nosuchtype"), ("SCAN", "0", "MATCH", "nomatch*", "COUNT", "100"),
        ("RANDOMKEY", "x"), ("KEYS",),
    )
    diff.both("FLUSHALL")
    diff(("RANDOMKEY",), ("SCAN", "0"), ("KEYS", "*"), ("SCAN", "0", "MATCH", "*", "TYPE", "string"))


def test_keys_and_scan_results(diff):
    keys = [b"k%d" % i for i in range(300)] + [b"", b"\x00bin\xff", b"other"]
    for k in keys:
        diff.both("SET", k, "v")
    diff.both("RPUSH", "alist", "x")
    diff.both("SADD", "aset", "x")
    results = []
    for client in (diff.real, diff.ours):
        r = redis.Redis(port=client.sock.getpeername()[1], protocol=2)
        try:
            got = {
                "all": sorted(r.keys("*")),
                "k1": sorted(r.keys("k1*")),
                "scan": sorted(r.scan_iter(count=7)),
                "match": sorted(r.scan_iter(match="k2?", count=13)),
                "type": sorted(r.scan_iter(_type="LIST")),
                "set": sorted(r.scan_iter(_type="set", count=1000)),
                "random": r.randomkey() in set(keys) | {b"alist", b"aset"},
                "dbsize": r.dbsize(),
            }
        finally:
            r.close()
        results.append(got)
    assert results[0] == results[1]
    assert len(results[1]["all"]) == 305


def test_scan_cursor_parsing():
    assert parse_cursor(b"") == 0
    assert parse_cursor(b"+5") == 5
    assert parse_cursor(b"-1") == 2**64 - 1
    assert parse_cursor(b"18446744073709551615") == 2**64 - 1
    assert parse_cursor(b"0\x00x") == 0  # C strtoul stops at the NUL, as Redis's does
    assert parse_cursor(b"007") == 7
    for bad in (b" 1", b"1 ", b"x", b"-", b"1.0", b"18446744073709551616"):
        with pytest.raises(CommandError):
            parse_cursor(bad)


# -- in-process: expiry, propagation, events ------------------------------------------------------


def test_expire_propagates_pexpireat(local):
    now = local.srv.now_ms()
    local("SET", "k", "v")
    local.take()
    assert local("EXPIRE", "k", "10") == 1
    assert local("PEXPIRE", "k", "20000", "GT") == 1
    assert local("EXPIREAT", "k", now // 1000 + 30) == 1
    assert local("PEXPIREAT", "k", now + 40000) == 1
    assert local("EXPIRE", "k", "1", "GT") == 0
    prop, events = local.take()
    assert prop == [
        [b"PEXPIREAT", b"k", b"%d" % (now + 10000)],
        [b"PEXPIREAT", b"k", b"%d" % (now + 20000)],
        [b"PEXPIREAT", b"k", b"%d" % (now // 1000 * 1000 + 30000)],
        [b"PEXPIREAT", b"k", b"%d" % (now + 40000)],
    ]
    assert [e for e, _, _ in events] == [b"expire"] * 4
    local.clock.advance(39.999)
    assert local("PTTL", "k") == 1
    local.clock.advance(0.001)
    assert local("PTTL", "k") == -2
    prop, events = local.take()
    assert prop == [[b"DEL", b"k"]] and (b"expired", b"k", 0) in events


def test_expire_in_the_past_deletes(local):
    local("SET", "k", "v")
    local("SET", "j", "v")
    local.take()
    assert local("EXPIRE", "k", "-1") == 1
    assert local("PEXPIREAT", "j", local.srv.now_ms()) == 1
    prop, events = local.take()
    assert prop == [[b"DEL", b"k"], [b"DEL", b"j"]]
    assert events == [(b"del", b"k", 0), (b"del", b"j", 0)]
    loc = Local(lazyfree_lazy_expire="yes")
    loc("SET", "k", "v")
    loc.take()
    loc("EXPIRE", "k", "0")
    assert loc.take()[0] == [[b"UNLINK", b"k"]]


def test_replica_keeps_past_expire(local):
    local.srv.role = "slave"
    local.c.is_master = True
    local("SET", "k", "v")
    assert local("EXPIRE", "k", "-10") == 1
    assert local.c.db.data[b"k"] == b"v"
    local.c.is_master = False
    assert local("GET", "k") is None  # hidden, but kept until the master's DEL
    assert b"k" in local.c.db.data


def test_rename_move_copy_keep_ttl_and_events(local):
    now = local.srv.now_ms()
    local("SET", "a", "1", "PX", "5000")
    local.take()
    assert local("RENAME", "a", "b") == "OK"
    assert local("PEXPIRETIME", "b") == now + 5000
    assert local("MOVE", "b", "2") == 1
    assert local("COPY", "b", "c", "DB", "0") == 0
    local("SELECT", "2")
    assert local("PEXPIRETIME", "b") == now + 5000
    assert local("COPY", "b", "c", "DB", "0") == 1
    local("SELECT", "0")
    assert local("PEXPIRETIME", "c") == now + 5000
    prop, events = local.take()
    events = [e for e in events if e[0] != b"keymiss"]
    assert events == [
        (b"new", b"b", 0), (b"rename_from", b"a", 0), (b"rename_to", b"b", 0),
        (b"new", b"b", 2), (b"move_from", b"b", 0), (b"move_to", b"b", 2),
        (b"new", b"c", 0), (b"copy_to", b"c", 0),
    ]
    assert prop == [[b"RENAME", b"a", b"b"], [b"MOVE", b"b", b"2"], [b"COPY", b"b", b"c", b"DB", b"0"]]
    local.clock.advance(5)
    assert local("EXISTS", "c") == 0


def test_copy_is_deep(local):
    local("RPUSH", "l", "a")
    local("HSET", "h", "f", "v")
    local("SADD", "s", "m")
    local("SET", "str", "x")
    local("APPEND", "str", "y")
    for k in ("l", "h", "s", "str"):
        assert local("COPY", k, k + "2") == 1
    db = local.c.db.data
    for k in (b"l", b"h", b"s", b"str"):
        assert db[k] == db[k + b"2"] and db[k] is not db[k + b"2"]
        assert type(db[k]) is type(db[k + b"2"])


def test_flushall_and_flushdb_touch_watch_and_propagate(local):
    other = local.srv.new_client()
    local("SET", "w", "1")
    local.srv.execute(other, [b"WATCH", b"w"])
    local.take()
    assert local("FLUSHALL") == "OK"
    assert other.dirty_cas
    assert local("FLUSHDB") == "OK"  # empty: still propagated
    prop, events = local.take()
    assert prop == [[b"FLUSHALL"], [b"FLUSHDB"]] and events == []


def test_swapdb_touches_watchers_and_keeps_maps(local):
    srv = local.srv
    watcher = srv.new_client()
    watcher.select(1)
    srv.execute(watcher, [b"WATCH", b"k"])
    local("SET", "k", "v")
    local("EXPIRE", "k", "100")
    db0, db1 = srv.dbs[0], srv.dbs[1]
    assert local("SWAPDB", "0", "1") == "OK"
    assert watcher.dirty_cas
    assert srv.dbs[0] is db0 and srv.dbs[1] is db1  # objects stay, contents move
    assert db1.data == {b"k": b"v"} and db0.data == {}
    assert b"k" in db1.watched
    assert srv.execute(watcher, [b"TTL", b"k"]) == 100
    srv.execute(watcher, [b"LPUSH", b"q", b"x"])
    local("SWAPDB", "1", "0")
    assert local("LPOP", "q") == b"x"


def test_swapdb_wakes_blocked_clients(server):
    r = redis.Redis(port=server.port, protocol=2)
    blocked = RawClient(server.port)
    try:
        r.select(1)
        r.rpush("q", "x")
        blocked.send(b"*3\r\n$5\r\nBLPOP\r\n$1\r\nq\r\n$1\r\n5\r\n")
        deadline = time.monotonic() + 5
        while not server.call(lambda: bool(server.server.dbs[0].blocking)):
            assert time.monotonic() < deadline
            time.sleep(0.005)
        r.swapdb(0, 1)
        assert blocked.read_reply() == b"*2\r\n$1\r\nq\r\n$1\r\nx\r\n"
    finally:
        r.close()
        blocked.close()


def test_keys_skips_expired_without_deleting(local):
    local("SET", "a", "1", "PX", "10")
    local("SET", "b", "1")
    local.clock.advance(1)
    assert local("KEYS", "*") == [b"b"]
    assert local("DBSIZE") == 2
    assert sorted(local("SCAN", "0")[1]) == [b"b"]
    assert local("DBSIZE") == 1


def test_randomkey_skips_expired(local):
    for i in range(20):
        local("SET", f"e{i}", "v", "PX", "10")
    local("SET", "live", "v")
    local.clock.advance(1)
    assert local("RANDOMKEY") == b"live"


def test_object_idletime_freq_policies(local):
    local("SET", "k", "v")
    assert local("OBJECT", "IDLETIME", "k") == 0
    assert isinstance(local("OBJECT", "FREQ", "k"), ErrorReply)
    local.srv.config.set("maxmemory-policy", "allkeys-lfu")
    assert local("OBJECT", "FREQ", "k") == 0
    assert local("OBJECT", "IDLETIME", "k").message.startswith(
        "ERR An LFU maxmemory policy is selected, idle time not tracked."
    )


def test_events_match_redis(real_redis):
    """The keyspace events of a command sequence are those real Redis publishes."""
    cmds = [
        ("SET", "a", "1"), ("SET", "a", "2", "EX", "100"), ("INCR", "c"), ("GETEX", "a", "PERSIST"),
        ("GETEX", "a", "EXAT", "1"), ("RPUSH", "l", "x"), ("RENAME", "l", "l2"), ("COPY", "l2", "l3"),
        ("SETRANGE", "s", "2", "ab"), ("APPEND", "s", "x"), ("EXPIRE", "l3", "-1"),
        ("INCRBYFLOAT", "f", "1.5"), ("MOVE", "l2", "1"), ("GETDEL", "s"), ("MSET", "m1", "1", "m2", "2"),
        ("EXPIRE", "m1", "100"), ("PERSIST", "m1"), ("DEL", "m1", "m2", "nokey"), ("SETNX", "n", "1"),
        ("SETEX", "n", "100", "2"), ("GETSET", "n", "3"), ("MSETNX", "o", "1"), ("RENAMENX", "o", "p"),
        ("UNLINK", "p"), ("SET", "q", "1"), ("SET", "q", "2", "KEEPTTL", "GET"), ("DECRBY", "q", "5"),
        ("COPY", "q", "c", "REPLACE"), ("FLUSHDB",),
    ]
    r = redis.Redis(port=real_redis.port, protocol=2)
    r.flushall()
    r.config_set("notify-keyspace-events", "KEAnm")
    try:
        p = r.pubsub()
        p.psubscribe("__keyevent@*")
        p.get_message(timeout=1)
        for cmd in cmds:
            r.execute_command(*cmd)
        r.execute_command("PING")
        expected = []
        deadline = time.monotonic() + 5
        n_expected = None
        while time.monotonic() < deadline:
            m = p.get_message(timeout=0.2)
            if m is None:
                if n_expected is not None:
                    break
                n_expected = len(expected)
                continue
            if m["type"] == "pmessage":
                db = int(m["channel"].split(b"@")[1].split(b"__")[0])
                expected.append((m["channel"].split(b":", 1)[1], m["data"], db))
        p.close()
    finally:
        r.config_set("notify-keyspace-events", "")
        r.close()
    loc = Local()
    for cmd in cmds:
        loc(*cmd)
    assert loc.take()[1] == expected


def test_hit_miss_counting(local):
    srv = local.srv
    local("SET", "a", "1")
    local("EXISTS", "a", "b")
    local("TTL", "a")
    local("TYPE", "zz")
    local("TOUCH", "a")
    local("OBJECT", "ENCODING", "a")
    local("DEL", "a")  # a write: not counted
    assert (srv.stat_keyspace_hits, srv.stat_keyspace_misses) == (4, 2)


def test_redis_py_keyspace(server):
    r = redis.Redis(port=server.port, protocol=2)
    try:
        r.set("a", 1)
        assert r.expire("a", 100, nx=True) is True
        assert r.expire("a", 50, gt=True) is False
        assert r.ttl("a") == 100
        assert r.persist("a") is True
        assert r.rename("a", "b") is True
        assert r.copy("b", "c") is True
        assert r.type("c") == b"string"
        assert r.object("encoding", "c") == b"int"
        assert r.move("c", 3) is True
        assert r.dbsize() == 1
        assert r.swapdb(0, 3) is True
        assert r.keys() == [b"c"]
        assert r.flushall(asynchronous=True) is True
        assert r.randomkey() is None
    finally:
        r.close()

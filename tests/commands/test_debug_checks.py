"""DEBUG subcommands that switch off or slow down a check: SET-SKIP-CHECKSUM-VALIDATION
(RESTORE's CRC64), AOF-FLUSH-SLEEP (the AOF writer), and HTSTATS / HTSTATS-KEY, which report
only what a Python dict really has (the element count), never Redis's table internals."""

from __future__ import annotations

import time

import pytest
import redis

from tests.helpers import RawClient, RealRedis, ThreadedServer, have_real_redis
from trioredis.config import Config
from trioredis.core import ManualClock, Server
from trioredis.protocol.replies import ErrorReply, Verbatim

real = pytest.mark.skipif(not have_real_redis(), reason="redis-server not installed")
NOT_HT = ErrorReply("ERR The value stored at the specified key is not represented using an "
                    "hash table")


def _unit():
    config = Config()
    config.set("enable-debug-command", "yes", startup=True)
    srv = Server(config, clock=ManualClock())
    return srv, srv.new_client("127.0.0.1:5000", "127.0.0.1:6379", 9)


def run(srv, c, *args):
    return srv.execute(c, [a if isinstance(a, bytes) else str(a).encode() for a in args])


def _bad_crc(payload: bytes) -> bytes:
    return payload[:-1] + bytes([payload[-1] ^ 0xFF])


def test_skip_checksum_validation_reaches_restore():
    srv, c = _unit()
    run(srv, c, "RPUSH", "l", "a", "b")
    bad = _bad_crc(run(srv, c, "DUMP", "l"))
    wrong = ErrorReply("ERR DUMP payload version or checksum are wrong")
    assert run(srv, c, "RESTORE", "copy", "0", bad) == wrong
    assert run(srv, c, "DEBUG", "SET-SKIP-CHECKSUM-VALIDATION", "1") == "OK"
    assert run(srv, c, "RESTORE", "copy", "0", bad) == "OK"
    assert run(srv, c, "LRANGE", "copy", "0", "-1") == [b"a", b"b"]
    # The body is still checked, and so is the version.
    assert run(srv, c, "RESTORE", "x", "0", bad[:2] + b"\xff" + bad[3:]) == ErrorReply(
        "ERR Bad data format")
    too_new = bad[:-10] + b"\xff\x00" + bad[-8:]
    assert run(srv, c, "RESTORE", "y", "0", too_new) == wrong
    assert run(srv, c, "DEBUG", "SET-SKIP-CHECKSUM-VALIDATION", "0") == "OK"
    assert run(srv, c, "RESTORE", "z", "0", bad) == wrong


@real
def test_skip_checksum_validation_like_redis(tmp_path):
    """The same RESTOREs of corrupted payloads on Redis 7.0.15 and trioredis."""
    rr = RealRedis("--enable-debug-command", "yes")
    try:
        with ThreadedServer(enable_debug_command="yes", dir=str(tmp_path)) as s:
            a, b = redis.Redis(port=rr.port), redis.Redis(port=s.port)
            try:
                for cli in (a, b):
                    cli.rpush("l", "a", "b")
                bad = _bad_crc(a.dump("l"))
                assert _bad_crc(b.dump("l")) == bad  # the same payload bytes
                # Redis's own corrupt-dump case: a listpack hash with a duplicate field.
                dup = (b"\x10\x17\x17\x00\x00\x00\x04\x00\x82\x61\x00\x03\x82\x62\x00\x03\x82\x61"
                       b"\x00\x03\x82\x64\x00\x03\xff\x0a\x00\xc0\xcf\xa6\x87\xe5\xa7\xc5\xbe")
                script = [("RESTORE", "k1", "0", bad), ("DEBUG", "SET-SKIP-CHECKSUM-VALIDATION",
                          "1"), ("RESTORE", "k2", "0", bad), ("LRANGE", "k2", "0", "-1"),
                          ("CONFIG", "SET", "sanitize-dump-payload", "yes"),
                          ("RESTORE", "h", "0", dup), ("EXISTS", "h"),
                          ("DEBUG", "SET-SKIP-CHECKSUM-VALIDATION", "0"),
                          ("RESTORE", "k3", "0", bad)]
                for cmd in script:
                    replies = []
                    for cli in (a, b):
                        try:
                            replies.append(cli.execute_command(*cmd))
                        except redis.ResponseError as e:
                            replies.append(str(e))
                    assert replies[0] == replies[1], cmd
            finally:
                a.close()
                b.close()
    finally:
        rr.stop()


def test_aof_flush_sleep_delays_each_aof_write(tmp_path):
    with ThreadedServer(enable_debug_command="yes", appendonly="yes", dir=str(tmp_path)) as s:
        r = redis.Redis(port=s.port)
        try:
            assert r.execute_command("DEBUG", "AOF-FLUSH-SLEEP", "300000") == b"OK"
            start = time.monotonic()
            r.set("a", "1")  # a write: the AOF buffer is written before the reply
            assert time.monotonic() - start >= 0.3
            start = time.monotonic()
            r.get("a")  # nothing to write: no sleep
            reads = time.monotonic() - start
            assert r.execute_command("DEBUG", "AOF-FLUSH-SLEEP", "0") == b"OK"
            assert reads < 0.3
        finally:
            r.close()


def test_aof_flush_sleep_without_aof_is_accepted():
    srv, c = _unit()
    assert run(srv, c, "DEBUG", "AOF-FLUSH-SLEEP", "1000") == "OK"
    assert run(srv, c, "SET", "a", "1") == "OK"  # no AOF: nothing is written, nothing sleeps


def test_htstats_reports_only_the_element_counts():
    srv, c = _unit()
    empty = ("[Dictionary HT]\nHash table 0 stats (main hash table):\n"
             "No stats available for empty dictionaries\n[Expires HT]\n"
             "Hash table 0 stats (main hash table):\nNo stats available for empty dictionaries\n")
    reply = run(srv, c, "DEBUG", "HTSTATS", "0")
    assert isinstance(reply, Verbatim) and reply == empty.encode()
    run(srv, c, "SET", "a", "1")
    run(srv, c, "SET", "b", "2", "EX", "100")
    run(srv, c, "SET", "c", "3")
    text = run(srv, c, "DEBUG", "HTSTATS", "0").decode()
    assert text == ("[Dictionary HT]\nHash table 0 stats (main hash table):\n"
                    " number of elements: 3\n[Expires HT]\n"
                    "Hash table 0 stats (main hash table):\n number of elements: 1\n")
    assert "table size" not in text and "chain" not in text  # nothing made up
    assert run(srv, c, "DEBUG", "HTSTATS", "16") == ErrorReply("ERR Out of range database")
    assert run(srv, c, "DEBUG", "HTSTATS", "-1") == ErrorReply("ERR Out of range database")


def test_htstats_key_only_for_hash_table_encodings():
    srv, c = _unit()
    run(srv, c, "SADD", "ints", "1", "2")  # intset
    run(srv, c, "SADD", "words", "a", "b", "c")  # hashtable (not all integers)
    run(srv, c, "HSET", "small", "f", "v")  # listpack
    run(srv, c, "CONFIG", "SET", "zset-max-listpack-entries", "0")
    run(srv, c, "ZADD", "z", "1", "a", "2", "b")  # skiplist
    assert run(srv, c, "DEBUG", "HTSTATS-KEY", "ints") == NOT_HT
    assert run(srv, c, "DEBUG", "HTSTATS-KEY", "small") == NOT_HT
    assert run(srv, c, "DEBUG", "HTSTATS-KEY", "words") == (
        b"Hash table 0 stats (main hash table):\n number of elements: 3\n")
    assert run(srv, c, "DEBUG", "HTSTATS-KEY", "z") == (
        b"Hash table 0 stats (main hash table):\n number of elements: 2\n")
    assert run(srv, c, "DEBUG", "HTSTATS-KEY", "nokey") == ErrorReply("ERR no such key")


def test_htstats_is_verbatim_in_resp3(tmp_path):
    with ThreadedServer(enable_debug_command="yes", dir=str(tmp_path)) as s:
        raw = RawClient(s.port)
        try:
            raw.command("HELLO", "3")
            reply = raw.command("DEBUG", "HTSTATS", "0")
            assert reply.startswith(b"=") and b"txt:[Dictionary HT]\n" in reply
        finally:
            raw.close()

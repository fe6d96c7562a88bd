"""COMMAND against Redis 7.0: key specs and GETKEYSANDFLAGS flags, and commands that exist
only in some modes (SENTINEL needs a group)."""

from __future__ import annotations

import pytest
import redis

from tests.helpers import RawClient, ThreadedServer
from trioredis.commands.key_specs import keys_with_flags, spec
from trioredis.config import Config
from trioredis.core import ManualClock, Server
from trioredis.protocol.replies import ErrorReply


def _unit():
    srv = Server(Config(), clock=ManualClock())
    return srv, srv.new_client("127.0.0.1:5000", "127.0.0.1:6379", 9)


def run(srv, c, *args):
    return srv.execute(c, [a if isinstance(a, bytes) else str(a).encode() for a in args])


# -- key specs: unit -----------------------------------------------------------------------------


def test_key_flags_follow_redis_key_specs():
    srv, c = _unit()

    def gkf(*args):
        return [(k.decode(), sorted(f)) for k, f in run(srv, c, "COMMAND", "GETKEYSANDFLAGS",
                                                         *args)]

    assert gkf("SET", "k", "v") == [("k", ["OW", "update"])]
    assert gkf("SET", "k", "v", "GET") == [("k", ["RW", "access", "update"])]
    assert gkf("BITFIELD", "k", "GET", "u8", "0") == [("k", ["RO", "access"])]
    assert gkf("BITFIELD", "k", "GET", "u8", "0", "INCRBY", "u8", "0", "1") == [
        ("k", ["RW", "access", "update"])]
    assert gkf("DEL", "a", "b") == [("a", ["RM", "delete"]), ("b", ["RM", "delete"])]
    assert gkf("ZUNIONSTORE", "d", "2", "a", "b") == [
        ("d", ["OW", "update"]), ("a", ["RO", "access"]), ("b", ["RO", "access"])]
    assert gkf("GEORADIUS", "k", "0", "0", "1", "km", "STOREDIST", "d") == [
        ("k", ["RO", "access"]), ("d", ["OW", "update"])]
    assert gkf("SORT", "k", "BY", "x", "STORE", "d") == [
        ("k", ["RO", "access"]), ("d", ["OW", "update"])]
    assert gkf("COPY", "a", "b") == [("a", ["RO", "access"]), ("b", ["OW", "update"])]
    assert gkf("EXISTS", "k") == [("k", ["RO"])]
    # Only not_key specs: Redis has no key arguments for SPUBLISH.
    assert run(srv, c, "COMMAND", "GETKEYS", "SPUBLISH", "ch", "m") == ErrorReply(
        "ERR The command has no key arguments")
    info = run(srv, c, "COMMAND", "INFO", "rename")[0]
    assert [list(s[b"flags"]) for s in info[8]] == [["RW", "access", "delete"], ["OW", "update"]]


def test_key_search_over_specs():
    specs = [spec("OW update"), spec("RO access", 2, "#")]
    argv = [b"zunionstore", b"d", b"2", b"a", b"b", b"WEIGHTS", b"1", b"2"]
    assert [(i, f) for i, f in keys_with_flags(specs, argv)] == [
        (1, ["OW", "update"]), (3, ["RO", "access"]), (4, ["RO", "access"])]
    assert keys_with_flags(specs, [b"zunionstore", b"d", b"x"]) is None  # bad numkeys
    store = [spec("RO access"), spec("OW update", ("STORE", 6))]
    assert keys_with_flags(store, [b"georadius", b"k", b"0", b"0", b"1", b"km"]) == [
        (1, ["RO", "access"])]
    assert keys_with_flags([spec("OW update", 1, (-1, 2))],
                           [b"mset", b"a", b"1", b"b", b"2"]) == [
        (1, ["OW", "update"]), (3, ["OW", "update"])]


# -- mode-only commands ------------------------------------------------------------------------


def test_sentinel_absent_on_a_standalone_node():
    srv, c = _unit()
    names = run(srv, c, "COMMAND", "LIST")
    assert not [n for n in names if n.startswith(b"sentinel")]
    assert run(srv, c, "COMMAND", "COUNT") == len(run(srv, c, "COMMAND"))
    assert b"sentinel" not in [e[0] for e in run(srv, c, "COMMAND")]
    assert run(srv, c, "COMMAND", "INFO", "sentinel", "sentinel|masters") == [None, None]
    assert run(srv, c, "COMMAND", "DOCS", "sentinel") == {}
    assert run(srv, c, "COMMAND", "LIST", "FILTERBY", "PATTERN", "sentinel*") == []
    prefix = "ERR unknown command 'sentinel', with args beginning with: "
    assert run(srv, c, "sentinel") == ErrorReply(prefix)
    assert run(srv, c, "sentinel", "foo") == ErrorReply(prefix + "'foo' ")
    assert run(srv, c, "sentinel", "masters") == ErrorReply(prefix + "'masters' ")


def test_sentinel_listed_in_a_group(tmp_path):
    with ThreadedServer(dir=str(tmp_path), cluster_bootstrap="yes", cluster_node_id="n1") as s:
        r = redis.Redis(port=s.port, protocol=2)
        for name in ("COMMAND", "COMMAND LIST", "COMMAND COUNT"):
            r.response_callbacks.pop(name, None)
        try:
            names = r.execute_command("COMMAND", "LIST")
            assert b"sentinel" in names and b"sentinel|masters" in names
            assert r.execute_command("COMMAND", "COUNT") == len(
                [n for n in names if b"|" not in n])
            assert r.execute_command("SENTINEL", "MYID") == b"n1"
            with pytest.raises(redis.ResponseError, match="wrong number of arguments"):
                r.execute_command("SENTINEL")
        finally:
            r.close()


# -- differential ------------------------------------------------------------------------------

GETKEYS = [
    "SET k v", "SET k v GET", "SET k v NX", "BITFIELD k GET u8 0", "BITFIELD k SET u8 0 1",
    "BITFIELD k OVERFLOW WRAP INCRBY u8 0 1", "BITFIELD_RO k GET u8 0", "LMOVE a b LEFT RIGHT",
    "DEL a b", "UNLINK a", "ZUNIONSTORE d 2 a b", "ZUNIONSTORE d 3 a b",
    "GEORADIUS k 0 0 1 km STORE d", "GEORADIUS k 0 0 1 km STOREDIST d", "GEORADIUS k 0 0 1 km",
    "GEORADIUSBYMEMBER k m 1 km STORE d", "SORT k STORE d", "SORT k BY x GET y LIMIT 0 1 STORE d",
    "SORT k", "COPY a b", "RENAME a b", "RENAMENX a b", "MSETNX a 1 b 2", "MSET a 1 b 2",
    "XREAD STREAMS s1 s2 0 0", "BLMPOP 0 2 a b LEFT", "SPUBLISH ch m", "SSUBSCRIBE a",
    "PFMERGE d a b", "SMOVE a b m", "LINSERT k BEFORE a b", "OBJECT ENCODING k",
    "MEMORY USAGE k", "GETEX k", "GETDEL k", "LPOP k", "EXISTS k", "HSET h f v",
    "SINTERCARD 2 a b", "RESTORE k 0 x", "SINTERSTORE d a b", "BITOP AND d a b",
    "ZDIFFSTORE d 2 a b", "BZPOPMIN a b 0", "BZMPOP 0 2 a b MIN", "ZMPOP 2 a b MIN",
    "GEOSEARCHSTORE d s FROMMEMBER m BYRADIUS 1 km", "ZRANGESTORE d s 0 1", "GET k",
    "INCRBYFLOAT k 1", "SETBIT k 1 1", "APPEND k v", "ZREM z m", "TOUCH a b", "TYPE k",
]


def test_differential_getkeysandflags(server, real_redis):
    a, b = RawClient(real_redis.port), RawClient(server.port)
    try:
        for line in GETKEYS:
            args = line.split()
            for sub in ("GETKEYS", "GETKEYSANDFLAGS"):
                assert b.command("COMMAND", sub, *args) == a.command("COMMAND", sub, *args), (
                    sub, line)
    finally:
        a.close()
        b.close()


def _table(port):
    r = redis.Redis(port=port, protocol=3)
    r.response_callbacks.pop("COMMAND", None)
    try:
        out = {}

        def walk(entry):
            out[entry[0]] = entry
            for sub in entry[9] or ():
                walk(sub)

        for entry in r.execute_command("COMMAND"):
            walk(entry)
        return out
    finally:
        r.close()


def test_differential_key_specs_of_every_shared_command(server, real_redis):
    theirs, ours = _table(real_redis.port), _table(server.port)
    assert b"sentinel" not in ours
    shared = sorted(set(theirs) & set(ours))
    assert len(shared) > 250
    diffs = [name for name in shared if ours[name][8] != theirs[name][8]]
    assert diffs == []

"""Server commands: CONFIG, INFO, COMMAND, MEMORY, DEBUG, SHUTDOWN, TIME, LASTSAVE, ROLE,
SLOWLOG, LATENCY, MONITOR; redis-cli against the server; docs/commands.md freshness."""

from __future__ import annotations

import importlib.util
import re
import shutil
import socket
import subprocess
import time
from collections import deque
from pathlib import Path

import pytest
import redis

from tests.helpers import RawClient, RealRedis, ThreadedServer, have_real_redis
from trioredis.config import Config
from trioredis.core import ManualClock, Server
from trioredis.protocol.replies import ErrorReply, Verbatim

real = pytest.mark.skipif(not have_real_redis(), reason="redis-server not installed")
ROOT = Path(__file__).resolve().parents[2]


def make_server(**cfg) -> Server:
    config = Config()
    for k, v in cfg.items():
        config.set(k.replace("_", "-"), str(v), startup=True)
    return Server(config, clock=ManualClock())


def run(srv: Server, c, *args):
    return srv.execute(c, [a if isinstance(a, bytes) else str(a).encode() for a in args])


@pytest.fixture
def unit():
    srv = make_server()
    return srv, srv.new_client("127.0.0.1:5000", "127.0.0.1:6379", 9)


# -- TIME, LASTSAVE, ROLE ----------------------------------------------------------------------


def test_time_lastsave_role(unit):
    srv, c = unit
    srv.clock.now = 1_700_000_123.456789
    sec, usec = run(srv, c, "TIME")
    assert sec == b"1700000123" and abs(int(usec) - 456789) <= 1
    srv.lastsave = 1_600_000_000
    assert run(srv, c, "LASTSAVE") == 1_600_000_000
    assert c.encode(run(srv, c, "ROLE")) == b"*3\r\n$6\r\nmaster\r\n:0\r\n*0\r\n"
    srv.hooks["role"] = [lambda: [b"slave", b"127.0.0.1", 6380, b"connected", 10]]
    assert run(srv, c, "ROLE")[0] == b"slave"


# -- CONFIG ------------------------------------------------------------------------------------


def test_config_get_patterns_and_maps(unit):
    srv, c = unit
    r = run(srv, c, "CONFIG", "GET", "maxmemory", "HZ", "nomatch", "maxmemory")
    assert r == {b"maxmemory": b"0", b"HZ": b"10"}
    r = run(srv, c, "CONFIG", "GET", "maxmemory*")
    assert r[b"maxmemory-policy"] == b"noeviction" and b"maxmemory-samples" in r
    r = run(srv, c, "CONFIG", "GET", "slave*")  # aliases match when their name does
    assert b"slave-read-only" in r and b"replica-read-only" not in r
    assert len(run(srv, c, "CONFIG", "GET", "*")) >= 80
    assert c.encode(run(srv, c, "CONFIG", "GET", "hz")) == b"*2\r\n$2\r\nhz\r\n$2\r\n10\r\n"
    c.set_resp(3)
    assert c.encode(run(srv, c, "CONFIG", "GET", "hz")) == b"%1\r\n$2\r\nhz\r\n$2\r\n10\r\n"


def test_config_set_is_all_or_nothing(unit):
    srv, c = unit
    assert run(srv, c, "CONFIG", "SET", "hz", "20", "maxmemory", "10mb") == "OK"
    assert srv.config["hz"] == 20 and srv.config["maxmemory"] == 10 * 1024**2
    r = run(srv, c, "CONFIG", "SET", "hz", "30", "maxmemory-policy", "nope")
    assert r.message.startswith("ERR CONFIG SET failed (possibly related to argument "
                                "'maxmemory-policy') - argument(s) must be one of")
    assert srv.config["hz"] == 20
    # a listener refusing the second value undoes the first
    def refuse(value, old):
        from trioredis.config import ConfigError

        raise ConfigError("no thanks")

    srv.config.on_change("timeout", refuse)
    r = run(srv, c, "CONFIG", "SET", "hz", "40", "timeout", "5")
    assert r == ErrorReply(
        "ERR CONFIG SET failed (possibly related to argument 'timeout') - no thanks")
    assert srv.config["hz"] == 20 and srv.config["timeout"] == 0


def test_config_set_errors(unit):
    srv, c = unit
    cases = {
        ("foo", "bar"): "ERR Unknown option or number of arguments for CONFIG SET - 'foo'",
        ("hz", "1", "foo", "bar"): "ERR Unknown option or number of arguments for CONFIG SET "
                                   "- 'foo'",
        ("dir", "/tmp"): "ERR CONFIG SET failed (possibly related to argument 'dir') - can't "
                         "set protected config",
        ("DBFILENAME", "x"): "ERR CONFIG SET failed (possibly related to argument "
                             "'DBFILENAME') - can't set protected config",
        ("daemonize", "yes"): "ERR CONFIG SET failed (possibly related to argument "
                              "'daemonize') - can't set immutable config",
        ("hz", "1", "HZ", "2"): "ERR CONFIG SET failed (possibly related to argument 'HZ') - "
                                "duplicate parameter",
        ("hz", "abc"): "ERR CONFIG SET failed (possibly related to argument 'hz') - argument "
                       "couldn't be parsed into an integer",
        ("hz", "10", "maxmemory"): "ERR syntax error",
    }
    for args, err in cases.items():
        assert run(srv, c, "CONFIG", "SET", *args) == ErrorReply(err), args


def test_config_set_protected_when_enabled():
    srv = make_server(enable_protected_configs="local")
    c = srv.new_client("127.0.0.1:5000", "127.0.0.1:6379", 9)
    assert run(srv, c, "CONFIG", "SET", "dbfilename", "other.rdb") == "OK"
    assert srv.config["dbfilename"] == "other.rdb"
    far = srv.new_client("10.0.0.1:5000", "10.0.0.2:6379", 9)
    assert "protected" in run(srv, far, "CONFIG", "SET", "dbfilename", "x").message


def test_config_resetstat_and_rewrite(unit, tmp_path):
    srv, c = unit
    run(srv, c, "GET", "k")
    run(srv, c, "NOSUCHCMD")
    assert srv.stat_numcommands and srv.error_counts
    assert run(srv, c, "CONFIG", "RESETSTAT") == "OK"
    assert srv.stat_numcommands == 0 and not srv.error_counts
    info = run(srv, c, "INFO", "commandstats")
    # RESETSTAT's own call is counted after it ran, as in Redis.
    assert b"cmdstat_get" not in info
    assert re.search(rb"cmdstat_config\|resetstat:calls=1,usec=\d+", info)
    assert run(srv, c, "CONFIG", "REWRITE") == ErrorReply(
        "ERR The server is running without a config file")
    conf = tmp_path / "redis.conf"
    conf.write_text("# mine\nhz 10\n")
    srv.config.config_file = str(conf)
    run(srv, c, "CONFIG", "SET", "hz", "25", "maxmemory-policy", "allkeys-lru")
    assert run(srv, c, "CONFIG", "REWRITE") == "OK"
    text = conf.read_text()
    assert "# mine" in text and "hz 25" in text and "maxmemory-policy allkeys-lru" in text


def test_config_help(unit):
    srv, c = unit
    lines = run(srv, c, "CONFIG", "HELP")
    assert lines[0] == "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    assert lines[-2:] == ["HELP", "    Prints this help."]


# -- INFO --------------------------------------------------------------------------------------


def _sections(text: bytes) -> list[str]:
    return re.findall(r"^# (\w+)\r$", text.decode(), re.M)


def test_info_sections_and_format(unit):
    srv, c = unit
    default = run(srv, c, "INFO")
    assert isinstance(default, Verbatim)
    assert _sections(default) == ["Server", "Clients", "Memory", "Persistence", "Stats",
                                  "Replication", "CPU", "Modules", "Errorstats", "Cluster",
                                  "Keyspace"]
    assert b"\n" not in default.replace(b"\r\n", b"")
    everything = run(srv, c, "INFO", "everything")
    assert "Commandstats" in _sections(everything) and "Latencystats" in _sections(everything)
    assert _sections(run(srv, c, "INFO", "all")) == _sections(everything)
    assert _sections(run(srv, c, "INFO", "keyspace", "SERVER")) == ["Server", "Keyspace"]
    assert _sections(run(srv, c, "INFO", "default", "commandstats"))[8] == "Commandstats"
    assert run(srv, c, "INFO", "nosuch") == b""
    text = run(srv, c, "INFO", "replication").decode()
    assert text == (
        "# Replication\r\nrole:master\r\nconnected_slaves:0\r\n"
        "master_failover_state:no-failover\r\n"
        f"master_replid:{srv.replid}\r\n"
        "master_replid2:0000000000000000000000000000000000000000\r\n"
        "master_repl_offset:0\r\nsecond_repl_offset:-1\r\nrepl_backlog_active:0\r\n"
        "repl_backlog_size:1048576\r\nrepl_backlog_first_byte_offset:0\r\n"
        "repl_backlog_histlen:0\r\n"
    )
    assert re.fullmatch(r"[0-9a-f]{40}", srv.replid)


def test_info_values(unit):
    srv, c = unit
    run(srv, c, "SET", "a", "1")
    run(srv, c, "SET", "b", "2")
    run(srv, c, "EXPIRE", "b", "100")
    run(srv, c, "SELECT", "2")
    run(srv, c, "SET", "x", "1")
    run(srv, c, "NOSUCH")
    run(srv, c, "INCR", "x", "y")
    text = run(srv, c, "INFO", "keyspace", "errorstats", "commandstats", "server",
               "clients").decode()
    assert "db0:keys=2,expires=1,avg_ttl=0\r\ndb2:keys=1,expires=0,avg_ttl=0\r\n" in text
    assert "errorstat_ERR:count=2\r\n" in text
    assert re.search(r"cmdstat_set:calls=3,usec=\d+,usec_per_call=\d+\.\d\d,rejected_calls=0,"
                     r"failed_calls=0\r\n", text)
    assert "cmdstat_incr:calls=0,usec=0,usec_per_call=0.00,rejected_calls=1,failed_calls=0" \
        in text
    assert "redis_version:7.0.15\r\n" in text and "connected_clients:1\r\n" in text


def test_info_hooks_change_sections(unit):
    srv, c = unit

    def replica(server, lines):
        return ["role:slave", "master_host:127.0.0.1"] + lines[2:]

    def extra(server, lines):
        lines.append("rdb_custom:1")

    srv.add_hook("info_replication", replica)
    srv.add_hook("info_persistence", extra)
    text = run(srv, c, "INFO", "replication", "persistence").decode()
    assert "# Replication\r\nrole:slave\r\nmaster_host:127.0.0.1\r\nmaster_failover_state" \
        in text
    assert "rdb_custom:1\r\n" in text


@real
def test_info_field_names_match_redis(server, real_redis):
    fields = []
    for port in (real_redis.port, server.port):
        raw = RawClient(port)
        text = raw.command("INFO", "default").split(b"\r\n", 1)[1].decode()
        raw.close()
        fields.append([x.split(":")[0] for x in text.split("\r\n")
                       if ":" in x and not x.startswith(("db", "errorstat_"))])
    assert fields[1] == fields[0]


# -- MEMORY ------------------------------------------------------------------------------------


def test_memory_usage(unit):
    srv, c = unit
    db = srv.dbs[0]
    db.store(b"small", b"x")
    db.store(b"big", b"x" * 100_000)
    db.store(b"list", deque(b"%d" % i * 10 for i in range(1000)))
    db.store(b"hash", {b"f%d" % i: b"v" * 50 for i in range(200)})
    small, big = run(srv, c, "MEMORY", "USAGE", "small"), run(srv, c, "MEMORY", "USAGE", "big")
    assert 40 < small < 200 and 100_000 < big < 100_300
    sampled = run(srv, c, "MEMORY", "USAGE", "list")
    full = run(srv, c, "MEMORY", "USAGE", "list", "SAMPLES", "0")
    assert 40_000 < full < 120_000 and sampled > 10_000
    assert run(srv, c, "MEMORY", "USAGE", "hash") > 200 * 50
    assert run(srv, c, "MEMORY", "USAGE", "nokey") is None
    assert run(srv, c, "MEMORY", "USAGE", "small", "SAMPLES", "x") == ErrorReply(
        "ERR value is not an integer or out of range")
    for bad in (("foo",), ("SAMPLES",), ("SAMPLES", "-1")):
        assert run(srv, c, "MEMORY", "USAGE", "small", *bad) == ErrorReply("ERR syntax error")


def test_memory_other_subcommands(unit):
    srv, c = unit
    assert run(srv, c, "MEMORY", "DOCTOR").startswith(b"Hi Sam, this instance is empty")
    srv.dbs[0].store(b"k", b"v")
    stats = run(srv, c, "MEMORY", "STATS")
    assert stats[b"keys.count"] == 1 and b"db.0" in stats
    assert isinstance(stats[b"dataset.percentage"], float)
    assert run(srv, c, "MEMORY", "PURGE") == "OK"
    assert run(srv, c, "MEMORY", "HELP")[0].startswith("MEMORY <subcommand>")


# -- COMMAND -----------------------------------------------------------------------------------


def test_command_count_list_info_docs(unit):
    srv, c = unit
    count = run(srv, c, "COMMAND", "COUNT")
    assert count == len(run(srv, c, "COMMAND")) > 100
    names = run(srv, c, "COMMAND", "LIST")
    assert b"get" in names and b"config|get" in names
    assert run(srv, c, "COMMAND", "LIST", "FILTERBY", "PATTERN", "conf*") == [
        b"config", b"config|get", b"config|help", b"config|resetstat", b"config|rewrite",
        b"config|set"]
    assert b"config|set" in run(srv, c, "COMMAND", "LIST", "FILTERBY", "ACLCAT", "admin")
    assert run(srv, c, "COMMAND", "LIST", "FILTERBY", "MODULE", "x") == []
    assert run(srv, c, "COMMAND", "LIST", "FILTERBY", "x", "y") == ErrorReply(
        "ERR syntax error")
    get, missing = run(srv, c, "COMMAND", "INFO", "get", "nosuch")
    assert missing is None and get[:6] == [b"get", 2, ["readonly", "fast"], 1, 1, 1]
    assert get[6] == ["@read", "@string", "@fast"]
    docs = run(srv, c, "COMMAND", "DOCS", "config|get", "nosuch")
    assert list(docs) == [b"config|get"]
    assert docs[b"config|get"][b"group"] == b"server"
    client = run(srv, c, "COMMAND", "DOCS", "client")[b"client"]
    assert b"client|kill" in client[b"subcommands"]


def test_command_getkeys(unit):
    srv, c = unit
    assert run(srv, c, "COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2") == [b"a", b"b"]
    assert run(srv, c, "COMMAND", "GETKEYS", "memory", "usage", "k") == [b"k"]
    assert run(srv, c, "COMMAND", "GETKEYS", "ZUNIONSTORE", "d", "2", "a", "b") == [
        b"d", b"a", b"b"]
    assert run(srv, c, "COMMAND", "GETKEYS", "ZUNIONSTORE", "d", "5", "a", "b") == ErrorReply(
        "ERR Invalid arguments specified for command")
    assert run(srv, c, "COMMAND", "GETKEYS", "PING", "x") == ErrorReply(
        "ERR The command has no key arguments")
    assert run(srv, c, "COMMAND", "GETKEYS", "GET", "a", "b") == ErrorReply(
        "ERR Invalid number of arguments specified for command")
    assert run(srv, c, "COMMAND", "GETKEYS", "NOSUCH", "a") == ErrorReply(
        "ERR Invalid command specified")
    assert run(srv, c, "COMMAND", "GETKEYSANDFLAGS", "GET", "k") == [[b"k", ["RO", "access"]]]


def test_redis_py_parses_command_table(server):
    r = redis.Redis(port=server.port, protocol=2)
    try:
        table = r.command()
        assert table["get"]["arity"] == 2 and table["config"]["arity"] == -2
        assert r.command_count() == len(table)
        assert [k if isinstance(k, str) else k.decode()
                for k in r.command_getkeys("MSET", "a", "1", "b", "2")] == ["a", "b"]
        assert r.config_get("maxmemory")["maxmemory"] in ("0", b"0")
        assert r.config_set("hz", 15) is True
        info = r.info()
        assert info["redis_version"] == "7.0.15" and info["role"] == "master"
        assert "cmdstat_info" in r.info("commandstats")
    finally:
        r.close()


def test_redis_py_resp3_config_and_info(server):
    r = redis.Redis(port=server.port, protocol=3)
    try:
        assert r.config_get("hz") == {b"hz": b"10"} or r.config_get("hz") == {"hz": "10"}
        assert r.info("server")["redis_version"] == "7.0.15"
        assert r.lastsave() and r.time()[0] > 1_600_000_000
    finally:
        r.close()


MINE = ["ping", "echo", "hello", "auth", "select", "quit", "reset", "time", "lastsave",
        "shutdown", "info", "debug", "role", "monitor", "memory|usage", "memory|stats",
        "memory|doctor", "memory|help", "memory|purge", "memory|malloc-stats",
        "config|get", "config|set", "config|resetstat", "config|rewrite", "config|help",
        "command|count", "command|info", "command|docs", "command|list", "command|getkeys",
        "command|getkeysandflags", "command|help", "slowlog|get", "slowlog|len",
        "slowlog|reset", "slowlog|help", "latency|latest", "latency|history", "latency|reset",
        "latency|graph", "latency|doctor", "latency|histogram", "latency|help", "client|id",
        "client|info", "client|list", "client|kill", "client|setname", "client|getname",
        "client|pause", "client|unpause", "client|reply", "client|unblock", "client|no-evict",
        "client|help", "get", "config", "slowlog"]


@real
@pytest.mark.parametrize("resp3", [False, True])
def test_differential_command_info(server, real_redis, resp3):
    a, b = RawClient(real_redis.port), RawClient(server.port)
    try:
        if resp3:
            a.command("HELLO", "3")
            b.command("HELLO", "3")
        for name in MINE:
            if name in ("config", "slowlog"):  # subcommand order is Redis's dict order
                continue
            assert b.command("COMMAND", "INFO", name) == a.command("COMMAND", "INFO", name), name
    finally:
        a.close()
        b.close()


DETERMINISTIC = [
    ("CONFIG", "GET"), ("CONFIG", "GET", "nomatch"), ("CONFIG", "GET", "hz"),
    ("CONFIG", "GET", "HZ"), ("CONFIG", "GET", "maxmemory-policy"), ("CONFIG", "GET", "save"),
    ("CONFIG", "GET", "slaveof"), ("CONFIG", "GET", "appendonly"),
    ("CONFIG", "SET", "notify-keyspace-events", "KEA"),
    ("CONFIG", "GET", "notify-keyspace-events"), ("CONFIG", "SET", "notify-keyspace-events", ""),
    ("CONFIG", "SET"), ("CONFIG", "SET", "foo", "bar"), ("CONFIG", "SET", "hz", "10", "x"),
    ("CONFIG", "SET", "maxmemory", "1mb", "maxmemory", "2mb"), ("CONFIG", "SET", "dir", "/x"),
    ("CONFIG", "SET", "daemonize", "yes"), ("CONFIG", "SET", "hz", "abc"),
    ("CONFIG", "SET", "maxmemory", "10mb", "hz", "20"), ("CONFIG", "GET", "maxmemory"),
    ("CONFIG", "SET", "maxmemory", "0", "hz", "10"), ("CONFIG", "SET", "save", "1 1 2"),
    ("CONFIG", "REWRITE"), ("CONFIG", "foo"), ("CONFIG", "HELP"), ("TIME", "x"),
    ("LASTSAVE", "x"), ("ROLE",), ("SLOWLOG", "GET"), ("SLOWLOG", "GET", "abc"),
    ("SLOWLOG", "GET", "-2"), ("SLOWLOG", "GET", "-1"), ("SLOWLOG", "GET", "1", "2"),
    ("SLOWLOG", "LEN"), ("SLOWLOG", "RESET"), ("SLOWLOG", "HELP"), ("LATENCY", "LATEST"),
    ("LATENCY", "DOCTOR"), ("LATENCY", "HISTORY", "command"), ("LATENCY", "RESET"),
    ("LATENCY", "RESET", "a", "b"), ("LATENCY", "GRAPH", "command"), ("LATENCY", "HELP"),
    ("MEMORY", "USAGE", "nokey"), ("MEMORY", "USAGE", "a", "SAMPLES", "x"),
    ("MEMORY", "USAGE", "a", "foo"), ("MEMORY", "USAGE", "a", "SAMPLES"), ("MEMORY", "DOCTOR"),
    ("MEMORY", "HELP"), ("MEMORY", "PURGE"), ("MEMORY",), ("SHUTDOWN", "foo"),
    ("SHUTDOWN", "ABORT"), ("SHUTDOWN", "SAVE", "NOSAVE"), ("SHUTDOWN", "ABORT", "NOW"),
    ("COMMAND", "COUNT", "x"), ("COMMAND", "GETKEYS", "get"), ("COMMAND", "GETKEYS", "get", "a",
                                                               "b"),
    ("COMMAND", "GETKEYS", "ping", "x"), ("COMMAND", "GETKEYS", "nosuch", "a"),
    ("COMMAND", "GETKEYS", "memory", "usage", "a"), ("COMMAND", "GETKEYS", "config", "get", "x"),
    ("COMMAND", "GETKEYSANDFLAGS", "memory", "usage", "a"),
    ("COMMAND", "GETKEYS", "mset", "a", "b", "c", "d"),
    ("COMMAND", "GETKEYS", "zunionstore", "d", "2", "a", "b"),
    ("COMMAND", "GETKEYS", "zunionstore", "d", "5", "a", "b"),
    ("COMMAND", "LIST", "FILTERBY", "foo", "bar"), ("COMMAND", "LIST", "foo"),
    ("COMMAND", "LIST", "FILTERBY", "MODULE", "foo"), ("COMMAND", "DOCS", "nosuch"),
    ("COMMAND", "HELP"), ("COMMAND", "foo"), ("COMMAND", "INFO", "nosuch"),
    ("DEBUG", "HELP"), ("DEBUG", "DIGEST"),
]


@real
@pytest.mark.parametrize("resp3", [False, True])
def test_differential_server_replies(server, real_redis, resp3):
    a, b = RawClient(real_redis.port), RawClient(server.port)
    try:
        if resp3:
            a.command("HELLO", "3")
            b.command("HELLO", "3")
        for cl in (a, b):  # durations differ: a slow command must not make SLOWLOG GET differ
            cl.command("CONFIG", "SET", "slowlog-log-slower-than", "-1")
            cl.command("SLOWLOG", "RESET")  # (real_redis is shared by the session's tests)
        for cmd in DETERMINISTIC:
            assert b.command(*cmd) == a.command(*cmd), cmd
    finally:
        a.close()
        b.close()


# -- DEBUG -------------------------------------------------------------------------------------


def test_debug_refused_unless_enabled(unit):
    srv, c = unit
    r = run(srv, c, "DEBUG", "DIGEST")
    assert r.message.startswith("ERR DEBUG command not allowed. If the enable-debug-command "
                                "option is set to \"local\"")
    srv2 = make_server(enable_debug_command="local")
    local = srv2.new_client("127.0.0.1:5000", "127.0.0.1:6379", 9)
    far = srv2.new_client("192.168.1.2:5000", "192.168.1.1:6379", 9)
    assert run(srv2, local, "DEBUG", "DIGEST") == "0" * 40
    assert run(srv2, far, "DEBUG", "DIGEST").message.startswith("ERR DEBUG command not allowed")


def test_debug_subcommands():
    srv = make_server(enable_debug_command="yes")
    c = srv.new_client("127.0.0.1:5000", "127.0.0.1:6379", 9)
    assert run(srv, c, "DEBUG", "nosuch") == ErrorReply(
        "ERR unknown subcommand or wrong number of arguments for 'nosuch'. Try DEBUG HELP.")
    assert run(srv, c, "DEBUG", "ERROR", "MYERR boom") == ErrorReply("MYERR boom")
    assert run(srv, c, "DEBUG", "LOG", "hello") == "OK"
    assert run(srv, c, "DEBUG", "SLEEP", "0") == "OK"
    old = srv.replid
    assert run(srv, c, "DEBUG", "CHANGE-REPL-ID") == "OK" and srv.replid != old
    assert run(srv, c, "DEBUG", "SET-ACTIVE-EXPIRE", "0") == "OK"
    assert srv.active_expire_enabled is False
    assert run(srv, c, "DEBUG", "POPULATE", "3") == "OK"
    assert sorted(srv.dbs[0].data) == [b"key:0", b"key:1", b"key:2"]
    assert srv.dbs[0].data[b"key:1"] == b"value:1"
    run(srv, c, "DEBUG", "POPULATE", "2", "p", "10")
    assert srv.dbs[0].data[b"p:1"] == b"value:1\0\0\0"
    obj = run(srv, c, "DEBUG", "OBJECT", "key:1")
    assert re.match(r"Value at:0x[0-9a-f]+ refcount:1 encoding:embstr serializedlength:\d+ "
                    r"lru:\d+ lru_seconds_idle:\d+$", obj)
    assert run(srv, c, "DEBUG", "OBJECT", "nokey") == ErrorReply("ERR no such key")
    for kind, wire2, wire3 in [
        ("double", b"$5\r\n3.141\r\n", b",3.141\r\n"),
        ("map", b"*6\r\n:0\r\n:0\r\n:1\r\n:1\r\n:2\r\n:0\r\n",
         b"%3\r\n:0\r\n#f\r\n:1\r\n#t\r\n:2\r\n#f\r\n"),
        ("set", b"*3\r\n:0\r\n:1\r\n:2\r\n", b"~3\r\n:0\r\n:1\r\n:2\r\n"),
        ("true", b":1\r\n", b"#t\r\n"),
        ("null", b"$-1\r\n", b"_\r\n"),
    ]:
        c.set_resp(2)
        assert c.encode(run(srv, c, "DEBUG", "PROTOCOL", kind)) == wire2, kind
        c.set_resp(3)
        assert c.encode(run(srv, c, "DEBUG", "PROTOCOL", kind)) == wire3, kind


def _fill_ours(srv: Server) -> None:
    db0, db1 = srv.dbs[0], srv.dbs[1]
    db0.store(b"s", b"hello")
    db0.store(b"n", b"12345")
    db0.store(b"l", deque([b"a", b"b", b"c", b"a"]))
    db0.store(b"st", {b"x", b"y", b"z", b"1", b"2"})
    db0.store(b"h", {b"f1": b"v1", b"f2": b"v2", b"f3": b""})
    db0.store(b"t", b"v")
    db0.set_expire(b"t", srv.now_ms() + 100_000)
    db1.store(b"s", b"hello")


def _fill_real(r: redis.Redis) -> None:
    r.set("s", "hello")
    r.set("n", "12345")
    r.rpush("l", "a", "b", "c", "a")
    r.sadd("st", "x", "y", "z", "1", "2")
    r.hset("h", mapping={"f1": "v1", "f2": "v2", "f3": ""})
    r.set("t", "v", ex=100)
    r.execute_command("SELECT", "1")
    r.set("s", "hello")
    r.execute_command("SELECT", "0")


@real
def test_debug_digest_matches_redis():
    rr = RealRedis("--enable-debug-command", "yes")
    try:
        r = redis.Redis(port=rr.port, protocol=2, single_connection_client=True)
        _fill_real(r)
        want = r.execute_command("DEBUG", "DIGEST")
        want_values = r.execute_command("DEBUG", "DIGEST-VALUE", "s", "l", "st", "h", "t", "no")
        r.close()
    finally:
        rr.stop()
    srv = make_server(enable_debug_command="yes")
    srv.clock = ManualClock(time.time())
    c = srv.new_client("127.0.0.1:5000", "127.0.0.1:6379", 9)
    _fill_ours(srv)
    got = run(srv, c, "DEBUG", "DIGEST")
    assert got.encode() == want
    got_values = run(srv, c, "DEBUG", "DIGEST-VALUE", "s", "l", "st", "h", "t", "no")
    assert [x.encode() for x in got_values] == want_values


@real
def test_debug_digest_of_sorted_sets_and_streams_matches_redis():
    script = [("ZADD", "z", "1", "a", "2.5", "b", "-3", "c"), ("ZADD", "zt", "1", "x"),
              ("EXPIRE", "zt", "100"), ("XADD", "st", "1-1", "f", "v", "g", "w"),
              ("XADD", "st", "2-0", "f", "v2"), ("SET", "plain", "x")]
    digests = []
    rr = RealRedis("--enable-debug-command", "yes")
    try:
        with ThreadedServer(enable_debug_command="yes") as s:
            for port in (rr.port, s.port):
                raw = RawClient(port)
                for cmd in script:
                    raw.command(*cmd)
                digests.append((raw.command("DEBUG", "DIGEST"),
                                raw.command("DEBUG", "DIGEST-VALUE", "z", "zt", "st")))
                raw.close()
    finally:
        rr.stop()
    assert digests[1] == digests[0]


# -- SHUTDOWN ----------------------------------------------------------------------------------


def test_shutdown_runs_hooks_and_closes_without_reply():
    s = ThreadedServer().start()
    try:
        seen = []
        s.call(s.server.add_hook, "shutdown", seen.append)
        raw = RawClient(s.port)
        raw.send(b"*2\r\n$8\r\nSHUTDOWN\r\n$6\r\nNOSAVE\r\n")
        assert raw.closed() and raw.buf == b""
        s.thread.join(10)
        assert not s.thread.is_alive() and seen == [False]
    finally:
        s.stop()


def test_shutdown_request_stops_accepting_at_once():
    """Redis exits inside SHUTDOWN: whoever connects right after is refused (unit/shutdown
    reconnects at once and expects "connection refused"), not served while we wind down."""
    from trioredis.log import Logger
    from trioredis.server import ServerRunner

    config = Config()
    config.set("port", "0", startup=True)
    srv = Server(config)
    runner = ServerRunner(srv, Logger("warning"))
    port = runner.bind()
    socket.create_connection(("127.0.0.1", port), timeout=5).close()  # listening
    srv.shutdown_requested()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5)


def test_shutdown_save_failure_keeps_serving():
    s = ThreadedServer().start()
    try:
        seen = []
        s.call(s.server.add_hook, "shutdown", lambda save: seen.append(save) or False)
        raw = RawClient(s.port)
        assert raw.command("SHUTDOWN", "SAVE") == b"-ERR Errors trying to SHUTDOWN. Check logs.\r\n"
        assert raw.command("PING") == b"+PONG\r\n" and seen == [True]
        raw.send(b"*3\r\n$8\r\nSHUTDOWN\r\n$4\r\nSAVE\r\n$5\r\nFORCE\r\n")
        assert raw.closed()
        s.thread.join(10)
        assert not s.thread.is_alive()
    finally:
        s.stop()


# -- MONITOR -----------------------------------------------------------------------------------


def test_monitor_streams_commands(server):
    mon, other = RawClient(server.port), RawClient(server.port)
    try:
        assert mon.command("MONITOR") == b"+OK\r\n"
        other.command("SET", "k", 'a "b"\n')
        other.command("CLIENT", "LIST")  # admin: not shown
        other.command("AUTH", "secret")
        other.command("SELECT", "2")
        other.command("GET", "k")
        port = other.sock.getsockname()[1]
        lines = [mon.read_reply() for _ in range(4)]
        pat = rb"^\+\d{10}\.\d{6} \[(\d+) 127\.0\.0\.1:%d\] (.*)\r\n$" % port
        parsed = [re.match(pat, x).groups() for x in lines]
        assert parsed == [(b"0", b'"SET" "k" "a \\"b\\"\\n"'), (b"0", b'"AUTH" "(redacted)"'),
                          (b"2", b'"SELECT" "2"'), (b"2", b'"GET" "k"')]  # db after the command
        assert b"flags=O" in other.command("CLIENT", "LIST")
        assert mon.command("RESET") == b"+RESET\r\n"
        other.command("PING")
        assert b"flags=O" not in other.command("CLIENT", "LIST")
    finally:
        mon.close()
        other.close()


# -- SLOWLOG / LATENCY: tests/commands/test_monitoring.py ---------------------------------------


# -- redis-cli ---------------------------------------------------------------------------------

cli = pytest.mark.skipif(shutil.which("redis-cli") is None, reason="redis-cli not installed")


def _cli(port: int, *args: str) -> str:
    out = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(port), *args],
                         capture_output=True, timeout=20, check=True)
    return out.stdout.decode()


@cli
def test_redis_cli(server):
    assert _cli(server.port, "PING") == "PONG\n"
    info = _cli(server.port, "--no-raw", "INFO")
    assert "# Server" in info and "redis_version:7.0.15" in info
    conf = _cli(server.port, "CONFIG", "GET", "*").split("\n")
    assert "maxmemory-policy" in conf and conf[conf.index("maxmemory-policy") + 1] == "noeviction"
    assert _cli(server.port, "--no-raw", "CONFIG", "GET", "hz") == '1) "hz"\n2) "10"\n'
    assert "cmd=client|list" in _cli(server.port, "CLIENT", "LIST")
    assert "proto 3\n" in _cli(server.port, "-3", "HELLO", "3")  # RESP3 through redis-cli
    assert _cli(server.port, "--no-raw", "COMMAND", "COUNT").startswith("(integer) ")


# -- docs/commands.md ----------------------------------------------------------------------------


def test_commands_doc_is_up_to_date():
    spec = importlib.util.spec_from_file_location("gen_commands_doc",
                                                  ROOT / "scripts" / "gen_commands_doc.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    current = (ROOT / "docs" / "commands.md").read_text(encoding="utf-8")
    assert current == gen.render(), "docs/commands.md is stale: run scripts/gen_commands_doc.py"

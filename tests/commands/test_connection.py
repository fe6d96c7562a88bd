"""Connection commands: HELLO, AUTH, RESET, CLIENT *, PING/ECHO/SELECT/QUIT.

Unit tests drive a core.Server directly; integration tests use redis-py (RESP2 and RESP3) and
raw sockets; differential tests compare raw reply bytes with a real Redis 7.0.
"""

from __future__ import annotations

import re
import threading
import time

import pytest
import redis

from tests.helpers import RawClient, ThreadedServer, have_real_redis
from trioredis.config import Config
from trioredis.core import Block, ManualClock, Server
from trioredis.protocol.replies import ErrorReply, Verbatim

real = pytest.mark.skipif(not have_real_redis(), reason="redis-server not installed")


# -- unit helpers ----------------------------------------------------------------------------


def make_server(**cfg) -> Server:
    config = Config()
    for k, v in cfg.items():
        config.set(k.replace("_", "-"), str(v), startup=True)
    return Server(config, clock=ManualClock())


def new_client(srv: Server, port: int = 5000):
    return srv.new_client(f"127.0.0.1:{port}", "127.0.0.1:6379", 10 + port % 100)


def run(srv: Server, c, *args):
    return srv.execute(c, [a if isinstance(a, bytes) else str(a).encode() for a in args])


def wire(c, reply) -> bytes:
    return c.encode(reply)


# -- HELLO -----------------------------------------------------------------------------------


def test_hello_switches_protocol_and_describes_server():
    srv = make_server()
    c = new_client(srv)
    r = run(srv, c, "HELLO")
    assert r == {b"server": b"redis", b"version": b"7.0.15", b"proto": 2, b"id": c.id,
                 b"mode": b"standalone", b"role": b"master", b"modules": []}
    r = run(srv, c, "HELLO", "3", "SETNAME", "app")
    assert c.resp == 3 and r[b"proto"] == 3 and c.name == b"app"
    assert wire(c, run(srv, c, "PING")) == b"+PONG\r\n"
    assert wire(c, run(srv, c, "HELLO", "2"))[:4] == b"*14\r"
    assert c.resp == 2


def test_hello_errors():
    srv = make_server()
    c = new_client(srv)
    assert run(srv, c, "HELLO", "4") == ErrorReply("NOPROTO unsupported protocol version")
    assert run(srv, c, "HELLO", "1") == ErrorReply("NOPROTO unsupported protocol version")
    assert run(srv, c, "HELLO", "x") == ErrorReply(
        "ERR Protocol version is not an integer or out of range")
    assert run(srv, c, "HELLO", "3", "AUTH", "a") == ErrorReply(
        "ERR Syntax error in HELLO option 'AUTH'")
    assert run(srv, c, "HELLO", "3", "SETNAME", "a b") == ErrorReply(
        "ERR Client names cannot contain spaces, newlines or special characters.")
    assert c.resp == 2  # nothing changed on error


def test_hello_auth_with_requirepass():
    srv = make_server(requirepass="s3cret")
    c = new_client(srv)
    r = run(srv, c, "HELLO", "3")
    assert r.message.startswith("NOAUTH HELLO must be called with the client already "
                                "authenticated")
    assert run(srv, c, "HELLO", "3", "AUTH", "default", "bad").message.startswith("WRONGPASS")
    assert not c.authenticated
    r = run(srv, c, "HELLO", "3", "AUTH", "default", "s3cret", "SETNAME", "x")
    assert r[b"proto"] == 3 and c.authenticated and c.name == b"x"
    assert run(srv, c, "GET", "k") is None


# -- AUTH --------------------------------------------------------------------------------------


def test_auth_flow():
    srv = make_server(requirepass="pw")
    c = new_client(srv)
    assert run(srv, c, "GET", "k") == ErrorReply("NOAUTH Authentication required.")
    assert run(srv, c, "AUTH", "nope") == ErrorReply(
        "WRONGPASS invalid username-password pair or user is disabled.")
    assert run(srv, c, "AUTH", "someone", "pw").message.startswith("WRONGPASS")
    assert run(srv, c, "AUTH", "a", "b", "c") == ErrorReply("ERR syntax error")
    assert run(srv, c, "AUTH", "pw") == "OK"
    assert run(srv, c, "GET", "k") is None
    c2 = new_client(srv, 5001)
    assert run(srv, c2, "AUTH", "default", "pw") == "OK"
    assert c2.authenticated and not c2.guard


def test_auth_without_password_configured():
    srv = make_server()
    c = new_client(srv)
    assert run(srv, c, "AUTH", "x") == ErrorReply(
        "ERR AUTH <password> called without any password configured for the default user. "
        "Are you sure your configuration is correct?")
    assert run(srv, c, "AUTH", "default", "anything") == "OK"  # nopass user
    assert run(srv, c, "AUTH", "other", "x").message.startswith("WRONGPASS")


def test_config_set_requirepass_then_clear():
    srv = make_server()
    admin = new_client(srv)
    assert run(srv, admin, "CONFIG", "SET", "requirepass", "pw") == "OK"
    c = new_client(srv, 5001)
    assert run(srv, c, "PING").message.startswith("NOAUTH")
    assert run(srv, admin, "PING") == "PONG"  # already connected: still in
    assert run(srv, admin, "CONFIG", "SET", "requirepass", "") == "OK"
    assert run(srv, c, "PING") == "PONG"


# -- RESET -------------------------------------------------------------------------------------


def test_reset_clears_connection_state():
    srv = make_server(requirepass="pw")
    c = new_client(srv)
    run(srv, c, "AUTH", "pw")
    run(srv, c, "HELLO", "3", "SETNAME", "n")
    run(srv, c, "SELECT", "3")
    run(srv, c, "CLIENT", "NO-EVICT", "on")
    run(srv, c, "WATCH", "k")
    run(srv, c, "MULTI")
    run(srv, c, "SET", "k", "v")
    called = []
    srv.add_hook("client_reset", called.append)
    assert run(srv, c, "RESET") == "RESET"
    assert wire(c, "RESET") == b"+RESET\r\n"
    assert called == [c]
    # CLIENT NO-EVICT survives RESET in Redis 7.0.15 (checked: flags=e afterwards).
    assert (c.resp, c.db.id, c.name, c.in_multi, c.watched, c.no_evict) == (
        2, 0, b"", False, [], True)
    assert not c.authenticated  # requirepass: must AUTH again
    assert run(srv, c, "GET", "k").message.startswith("NOAUTH")
    assert run(srv, c, "RESET") == "RESET"  # allowed before AUTH


# -- CLIENT ------------------------------------------------------------------------------------

LIST_LINE = re.compile(
    rb"id=(\d+) addr=\S+ laddr=\S+ fd=-?\d+ name=\S* age=\d+ idle=\d+ flags=[A-Za-z]+ db=\d+ "
    rb"sub=\d+ psub=\d+ ssub=\d+ multi=-?\d+ qbuf=\d+ qbuf-free=\d+ argv-mem=\d+ multi-mem=\d+ "
    rb"rbs=\d+ rbp=\d+ obl=\d+ oll=\d+ omem=\d+ tot-mem=\d+ events=r?w? cmd=\S+ user=\S+ "
    rb"redir=-?\d+ resp=[23]$"
)


def test_client_setname_getname_id_info():
    srv = make_server()
    c = new_client(srv)
    assert run(srv, c, "CLIENT", "GETNAME") is None
    for bad in ("a b", "a\nb", "\x7f", "é"):
        assert run(srv, c, "CLIENT", "SETNAME", bad.encode()) == ErrorReply(
            "ERR Client names cannot contain spaces, newlines or special characters.")
    assert run(srv, c, "CLIENT", "SETNAME", "worker-1") == "OK"
    assert run(srv, c, "CLIENT", "GETNAME") == b"worker-1"
    assert run(srv, c, "CLIENT", "SETNAME", "") == "OK"
    assert run(srv, c, "CLIENT", "GETNAME") is None
    assert run(srv, c, "CLIENT", "ID") == c.id
    info = run(srv, c, "CLIENT", "INFO")
    assert isinstance(info, Verbatim) and info.endswith(b"\n")
    assert LIST_LINE.match(info[:-1]), info
    assert b" cmd=client|info " in info and b" addr=127.0.0.1:5000 " in info


def test_client_list_filters_and_flags():
    srv = make_server()
    a, b = new_client(srv, 5000), new_client(srv, 5001)
    run(srv, b, "MULTI")
    text = run(srv, a, "CLIENT", "LIST")
    lines = text.split(b"\n")
    assert lines[-1] == b"" and len(lines) == 3
    assert all(LIST_LINE.match(x) for x in lines[:-1])
    assert b"flags=x" in lines[1] and b"multi=0" in lines[1] and b"cmd=multi" in lines[1]
    assert run(srv, a, "CLIENT", "LIST", "ID", str(b.id), "999").startswith(b"id=%d " % b.id)
    assert run(srv, a, "CLIENT", "LIST", "ID", "x") == ErrorReply("ERR Invalid client ID")
    assert run(srv, a, "CLIENT", "LIST", "TYPE", "normal").count(b"\n") == 2
    assert run(srv, a, "CLIENT", "LIST", "TYPE", "replica") == b""
    assert run(srv, a, "CLIENT", "LIST", "TYPE", "x") == ErrorReply("ERR Unknown client type 'x'")
    assert run(srv, a, "CLIENT", "LIST", "x") == ErrorReply("ERR syntax error")
    run(srv, a, "CLIENT", "NO-EVICT", "on")
    run(srv, a, "CLIENT", "NO-TOUCH", "on")
    assert b"flags=eT " in run(srv, a, "CLIENT", "INFO")


def test_client_kill_forms():
    srv = make_server()
    a, b, c = new_client(srv, 5000), new_client(srv, 5001), new_client(srv, 5002)
    assert run(srv, a, "CLIENT", "KILL", "1.2.3.4:5") == ErrorReply("ERR No such client")
    assert run(srv, a, "CLIENT", "KILL", "127.0.0.1:5001") == "OK"
    assert b.killed and b.id not in srv.clients
    assert run(srv, a, "CLIENT", "KILL", "ID", "0") == ErrorReply(
        "ERR client-id should be greater than 0")
    assert run(srv, a, "CLIENT", "KILL", "ID", "999") == 0
    assert run(srv, a, "CLIENT", "KILL", "USER", "x") == ErrorReply("ERR No such user 'x'")
    assert run(srv, a, "CLIENT", "KILL", "SKIPME", "maybe") == ErrorReply("ERR syntax error")
    assert run(srv, a, "CLIENT", "KILL", "FOO", "bar") == ErrorReply("ERR syntax error")
    # new form skips the caller by default
    assert run(srv, a, "CLIENT", "KILL", "TYPE", "normal") == 1
    assert c.killed and not a.close_after_reply
    assert run(srv, a, "CLIENT", "KILL", "ID", str(a.id), "SKIPME", "no") == 1
    assert a.close_after_reply


def test_client_kill_maxage_and_laddr():
    srv = make_server()
    old = new_client(srv, 5000)
    srv.clock.advance(100)
    young = new_client(srv, 5001)
    me = new_client(srv, 5002)
    assert run(srv, me, "CLIENT", "KILL", "MAXAGE", "50") == 1
    assert old.killed and not young.killed
    assert run(srv, me, "CLIENT", "KILL", "LADDR", "127.0.0.1:1") == 0
    assert run(srv, me, "CLIENT", "KILL", "LADDR", "127.0.0.1:6379") == 1


def test_client_reply_modes():
    srv = make_server()
    c = new_client(srv)
    assert run(srv, c, "CLIENT", "REPLY", "maybe") == ErrorReply("ERR syntax error")
    run(srv, c, "CLIENT", "REPLY", "SKIP")
    assert c.reply_mode == "skip_next"
    c.reply_mode = "off"
    run(srv, c, "CLIENT", "REPLY", "SKIP")  # ignored while OFF
    assert c.reply_mode == "off"
    assert run(srv, c, "CLIENT", "REPLY", "ON") == "OK" and c.reply_mode == "on"


def test_client_setinfo():
    srv = make_server()
    c = new_client(srv)
    assert run(srv, c, "CLIENT", "SETINFO", "LIB-NAME", "redis-py") == "OK"
    assert run(srv, c, "CLIENT", "SETINFO", "lib-ver", "8.1.0") == "OK"
    assert (c.lib_name, c.lib_ver) == (b"redis-py", b"8.1.0")
    assert run(srv, c, "CLIENT", "SETINFO", "lib-name", "a b") == ErrorReply(
        "ERR lib-name cannot contain spaces, newlines or special characters.")
    assert run(srv, c, "CLIENT", "SETINFO", "foo", "x") == ErrorReply(
        "ERR Unrecognized option 'foo'")


def test_client_unblock_unit():
    srv = make_server()
    a, b = new_client(srv, 5000), new_client(srv, 5001)
    blk = srv.block(b, [b"k"], 0, None, argv=[b"BLPOP", b"k", b"0"])
    srv.register_block(blk, None, [b"BLPOP", b"k", b"0"])
    assert run(srv, a, "CLIENT", "UNBLOCK", "x") == ErrorReply(
        "ERR value is not an integer or out of range")
    assert run(srv, a, "CLIENT", "UNBLOCK", str(b.id), "maybe") == ErrorReply(
        "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
    assert run(srv, a, "CLIENT", "UNBLOCK", str(a.id)) == 0  # not blocked
    assert run(srv, a, "CLIENT", "UNBLOCK", str(b.id), "ERROR") == 1
    assert blk.done and blk.reply == ErrorReply("UNBLOCKED client unblocked via CLIENT UNBLOCK")
    assert b.blocked is None and not srv.dbs[0].blocking
    assert run(srv, a, "CLIENT", "UNBLOCK", str(b.id)) == 0


def test_client_pause_holds_and_releases_in_order():
    srv = make_server()
    admin, w1, w2, r = (new_client(srv, p) for p in (5000, 5001, 5002, 5003))
    assert run(srv, admin, "CLIENT", "PAUSE", "1000", "WRITE") == "OK"
    h1 = run(srv, w1, "SET", "k", "1")
    h2 = run(srv, w2, "APPEND", "k", "2")
    assert isinstance(h1, Block) and isinstance(h2, Block)
    assert run(srv, r, "GET", "k") is None  # reads go on
    assert run(srv, r, "PING") == "PONG"
    assert run(srv, admin, "CLIENT", "UNPAUSE") == "OK"
    assert (h1.done, h1.reply, h2.done, h2.reply) == (True, "OK", True, 2)
    assert run(srv, r, "GET", "k") == b"12"


def test_client_pause_all_expires_with_time():
    srv = make_server()
    admin, other = new_client(srv, 5000), new_client(srv, 5001)
    run(srv, admin, "CLIENT", "PAUSE", "500")
    held = run(srv, other, "GET", "k")
    assert isinstance(held, Block)
    assert isinstance(run(srv, admin, "CLIENT", "UNPAUSE"), Block)  # ALL holds the pauser too
    srv.clock.advance(0.2)
    srv.run_hooks("cron")
    assert not held.done
    srv.clock.advance(0.4)
    srv.run_hooks("cron")
    assert held.done and held.reply is None
    assert srv.client_pause is None and not srv.guard


def test_client_pause_write_holds_exec_of_writes_and_widens():
    srv = make_server()
    admin, c = new_client(srv, 5000), new_client(srv, 5001)
    run(srv, c, "MULTI")
    run(srv, c, "GET", "k")
    run(srv, admin, "CLIENT", "PAUSE", "100", "WRITE")
    assert run(srv, c, "EXEC") == [None]  # read-only EXEC is not held
    run(srv, c, "MULTI")
    assert isinstance(run(srv, c, "SET", "k", "v"), Block)  # held before being queued
    run(srv, admin, "CLIENT", "PAUSE", "50", "ALL")  # ALL now, until the later end
    assert isinstance(run(srv, new_client(srv, 5002), "GET", "k"), Block)
    assert srv.pause_state.all and srv.pause_state.end_ms - srv.now_ms() == 100


def test_client_pause_errors():
    srv = make_server()
    c = new_client(srv)
    assert run(srv, c, "CLIENT", "PAUSE", "-1") == ErrorReply("ERR timeout is negative")
    assert run(srv, c, "CLIENT", "PAUSE", "x") == ErrorReply(
        "ERR timeout is not an integer or out of range")
    assert run(srv, c, "CLIENT", "PAUSE", "10", "x") == ErrorReply(
        "ERR CLIENT PAUSE mode must be WRITE or ALL")
    assert run(srv, c, "CLIENT", "UNPAUSE") == "OK"


def test_select_ping_echo_quit_unit():
    srv = make_server()
    c = new_client(srv)
    assert run(srv, c, "SELECT", "15") == "OK" and c.db.id == 15
    assert run(srv, c, "SELECT", "16") == ErrorReply("ERR DB index is out of range")
    assert run(srv, c, "PING", "a", "b") == ErrorReply(
        "ERR wrong number of arguments for 'ping' command")
    assert run(srv, c, "ECHO", "x") == b"x"
    assert run(srv, c, "QUIT") == "OK" and c.close_after_reply


# -- integration: redis-py ---------------------------------------------------------------------


@pytest.mark.parametrize("protocol", [2, 3])
def test_redis_py_handshake_and_client_commands(server, protocol):
    r = redis.Redis(port=server.port, protocol=protocol, client_name="tester")
    try:
        assert r.ping() is True
        assert r.client_getname() in ("tester", b"tester")
        me = r.client_info()
        assert me["name"] == "tester" and int(me["resp"]) == protocol
        assert me["cmd"] == "client|info"
        assert r.client_id() == int(me["id"])
        lst = r.client_list()
        assert any(x["name"] == "tester" for x in lst)
        assert r.client_setname("other") is True
        assert r.echo("hi") == b"hi"
        if protocol == 3:
            hello = r.execute_command("HELLO", "3")
            assert hello[b"proto"] == 3 and hello[b"version"] == b"7.0.15"
    finally:
        r.close()


def test_default_redis_py_client_works(server):
    r = redis.Redis(port=server.port)  # redis-py sends HELLO 3 by default
    try:
        assert r.ping() is True
        assert r.set("k", "v") and r.get("k") == b"v"
    finally:
        r.close()


def test_redis_py_auth():
    with ThreadedServer(requirepass="pw") as s:
        raw = RawClient(s.port)
        assert raw.command("PING") == b"-NOAUTH Authentication required.\r\n"
        raw.close()
        for proto in (2, 3):
            r = redis.Redis(port=s.port, protocol=proto, password="pw")
            assert r.ping() is True
            r.close()
        r = redis.Redis(port=s.port, protocol=3, username="default", password="pw")
        assert r.ping() is True
        r.close()


def test_client_kill_closes_the_socket(server):
    a, b = RawClient(server.port), RawClient(server.port)
    try:
        bid = int(b.command("CLIENT", "ID")[1:-2])
        assert a.command("CLIENT", "KILL", "ID", bid) == b":1\r\n"
        assert b.closed()
        assert a.command("PING") == b"+PONG\r\n"
        # the caller itself, with the old form: the reply arrives, then the close
        port = a.sock.getsockname()[1]
        assert a.command("CLIENT", "KILL", f"127.0.0.1:{port}") == b"+OK\r\n"
        assert a.closed()
    finally:
        a.close()
        b.close()


def test_reply_off_and_quit_on_the_wire(raw):
    raw.send(b"*3\r\n$6\r\nCLIENT\r\n$5\r\nREPLY\r\n$3\r\nOFF\r\n*1\r\n$4\r\nPING\r\n"
             b"*3\r\n$6\r\nCLIENT\r\n$5\r\nREPLY\r\n$2\r\nON\r\n")
    assert raw.read_reply() == b"+OK\r\n"  # only ON's reply
    assert raw.command("QUIT") == b"+OK\r\n"
    assert raw.closed()


def test_reply_skip_skips_exactly_one(raw):
    raw.send(b"*3\r\n$6\r\nCLIENT\r\n$5\r\nREPLY\r\n$4\r\nSKIP\r\n"
             b"*2\r\n$4\r\nECHO\r\n$1\r\na\r\n*2\r\n$4\r\nECHO\r\n$1\r\nb\r\n")
    assert raw.read_reply() == b"$1\r\nb\r\n"
    assert raw.command("QUIT") == b"+OK\r\n"
    assert raw.closed()


def test_pause_write_over_the_network(server):
    admin, writer, reader = (RawClient(server.port) for _ in range(3))
    try:
        assert admin.command("CLIENT", "PAUSE", "300", "WRITE") == b"+OK\r\n"
        t0 = time.monotonic()
        assert reader.command("GET", "k") == b"$-1\r\n"
        assert time.monotonic() - t0 < 0.2
        t0 = time.monotonic()
        assert writer.command("SET", "k", "v") == b"+OK\r\n"
        assert time.monotonic() - t0 >= 0.25
        # UNPAUSE releases at once
        admin.command("CLIENT", "PAUSE", "10000", "WRITE")
        writer.send(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nw\r\n")
        deadline = time.monotonic() + 5
        while b"flags=b" not in admin.command("CLIENT", "LIST"):
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert admin.command("GET", "k") == b"$1\r\nv\r\n"
        assert admin.command("CLIENT", "UNPAUSE") == b"+OK\r\n"
        assert writer.read_reply() == b"+OK\r\n"
        assert admin.command("GET", "k") == b"$1\r\nw\r\n"
    finally:
        for x in (admin, writer, reader):
            x.close()


def test_client_unblock_over_the_network(server):
    a, b = RawClient(server.port), RawClient(server.port)
    try:
        bid = int(b.command("CLIENT", "ID")[1:-2])
        results = []
        t = threading.Thread(target=lambda: results.append(b.command("BLPOP", "q", "0")))
        t.start()
        deadline = time.monotonic() + 5
        while a.command("CLIENT", "UNBLOCK", bid) != b":1\r\n":
            assert time.monotonic() < deadline
            time.sleep(0.01)
        t.join(5)
        assert results == [b"*-1\r\n"]
        t = threading.Thread(target=lambda: results.append(b.command("BLPOP", "q", "0")))
        t.start()
        while a.command("CLIENT", "UNBLOCK", bid, "ERROR") != b":1\r\n":
            assert time.monotonic() < deadline
            time.sleep(0.01)
        t.join(5)
        assert results[1] == b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n"
    finally:
        a.close()
        b.close()


# -- differential: raw bytes against a real Redis 7.0 ------------------------------------------

DETERMINISTIC = [
    ("PING",), ("PING", "x"), ("ECHO", "x"), ("ECHO",),
    ("HELLO", "4"), ("HELLO", "x"), ("HELLO", "3", "foo"), ("HELLO", "3", "AUTH", "a"),
    ("HELLO", "3", "AUTH", "a", "b"), ("HELLO", "3", "SETNAME", "a b"),
    ("AUTH", "x"), ("AUTH", "a", "b"), ("AUTH", "default", "x"), ("AUTH", "a", "b", "c"),
    ("CLIENT", "SETNAME", "a b"), ("CLIENT", "SETNAME", "ok"), ("CLIENT", "GETNAME"),
    ("CLIENT", "SETNAME", ""), ("CLIENT", "GETNAME"), ("CLIENT", "SETNAME"),
    ("CLIENT", "KILL", "1.2.3.4:5"), ("CLIENT", "KILL", "ID", "999"),
    ("CLIENT", "KILL", "ID", "abc"), ("CLIENT", "KILL", "foo", "bar"),
    ("CLIENT", "KILL", "TYPE", "foo"), ("CLIENT", "KILL", "USER", "nouser"),
    ("CLIENT", "KILL", "ADDR", "1.1.1.1:1", "SKIPME", "maybe"), ("CLIENT", "KILL", "ADDR"),
    ("CLIENT", "KILL", "ADDR", "1.1.1.1:1", "LADDR", "1.1.1.1:2", "TYPE", "pubsub"),
    ("CLIENT", "REPLY", "foo"), ("CLIENT", "PAUSE", "abc"), ("CLIENT", "PAUSE", "-1"),
    ("CLIENT", "PAUSE", "100", "foo"), ("CLIENT", "PAUSE", "1", "2", "3"),
    ("CLIENT", "UNBLOCK", "abc"), ("CLIENT", "UNBLOCK", "999"), ("CLIENT", "UNBLOCK", "1", "x"),
    ("CLIENT", "UNBLOCK", "1", "timeout", "x"), ("CLIENT", "NO-EVICT", "maybe"),
    ("CLIENT", "NO-EVICT", "on"), ("CLIENT", "NO-EVICT", "off"),
    ("CLIENT", "LIST", "TYPE", "foo"), ("CLIENT", "LIST", "foo"), ("CLIENT", "LIST", "ID", "x"),
    ("CLIENT", "LIST", "ID", "99999"), ("CLIENT", "LIST", "TYPE", "replica"),
    ("CLIENT", "LIST", "TYPE", "normal", "x"), ("CLIENT", "foo"), ("CLIENT",),
    ("SELECT", "100"), ("SELECT", "abc"), ("SELECT", "1"), ("RESET",), ("RESET", "x"),
]


@real
@pytest.mark.parametrize("resp3", [False, True])
def test_differential_connection_replies(server, real_redis, resp3):
    a, b = RawClient(real_redis.port), RawClient(server.port)
    try:
        if resp3:
            a.command("HELLO", "3")
            b.command("HELLO", "3")
        for cmd in DETERMINISTIC:
            ra, rb = a.command(*cmd), b.command(*cmd)
            assert rb == ra, cmd
            if cmd == ("RESET",) and resp3:
                a.command("HELLO", "3")
                b.command("HELLO", "3")
    finally:
        a.close()
        b.close()


@real
def test_differential_hello_and_client_list_shape(server, real_redis):
    a, b = RawClient(real_redis.port), RawClient(server.port)
    try:
        for cmd in (("HELLO",), ("HELLO", "3", "SETNAME", "n"), ("HELLO", "2")):
            ra, rb = a.command(*cmd), b.command(*cmd)
            # only the client id differs
            assert re.sub(rb":\d+\r\n\$4\r\nmode", b":N\r\n$4\r\nmode", ra) == \
                re.sub(rb":\d+\r\n\$4\r\nmode", b":N\r\n$4\r\nmode", rb)
        fields = [x.split(b"=")[0] for x in a.command("CLIENT", "INFO").split(b"\r\n")[1].split()]
        ours = [x.split(b"=")[0] for x in b.command("CLIENT", "INFO").split(b"\r\n")[1].split()]
        assert ours == fields
    finally:
        a.close()
        b.close()



def test_client_pause_ends_by_its_timer_task_in_a_running_server():
    """The pause's wake-up is a task of the server's nursery (runner.call_later), not the cron:
    with hz 1 the cron alone would hold the write for up to a second."""
    import time

    import redis

    from ..helpers import ThreadedServer

    with ThreadedServer(hz=1) as s:
        a = redis.Redis(port=s.port, socket_timeout=10)
        b = redis.Redis(port=s.port, socket_timeout=10)
        b.ping()
        a.execute_command("CLIENT", "PAUSE", "150", "WRITE")
        assert s.call(lambda: s.server.pause_state.timer_running) is True
        start = time.monotonic()
        assert b.set("k", "v")
        held = time.monotonic() - start
        assert 0.1 <= held < 0.6, held
        assert s.call(lambda: s.server.pause_state.timer_running) is False
        a.close()
        b.close()


def test_client_pause_keeps_expired_keys_until_unpause():
    """Redis 7.0: while clients are paused, keys expire logically but neither the active cycle
    nor a lookup deletes them (no DEL to propagate); after UNPAUSE they go."""
    srv = make_server()
    c = new_client(srv)
    run(srv, c, "SET", "k", "v", "PX", "10")
    assert run(srv, c, "CLIENT", "PAUSE", "100000", "WRITE") == "OK"
    srv.clock.advance(1)
    db = srv.dbs[0]
    assert db.expire_cycle(srv.now_ms(), 100) == 0
    assert run(srv, c, "GET", "k") is None
    assert b"k" in db.data and srv.stat_expired_keys == 0
    run(srv, c, "CLIENT", "UNPAUSE")
    assert run(srv, c, "GET", "k") is None
    assert b"k" not in db.data and srv.stat_expired_keys == 1


def test_client_pause_write_holds_may_replicate_commands_and_the_master_stream():
    """PAUSE WRITE holds Redis 7.0's MAY_REPLICATE commands and scripts that may write, not
    no-writes scripts; the master link asks ``holds`` and waits for ``on_unpause``."""
    from trioredis.commands.connection import pause_state

    srv = make_server()
    admin, c = new_client(srv), new_client(srv, 5001)
    run(srv, admin, "CLIENT", "PAUSE", "100000", "WRITE")
    assert isinstance(run(srv, c, "PUBLISH", "ch", "m"), Block)
    assert isinstance(run(srv, new_client(srv, 5002), "PFCOUNT", "h"), Block)
    assert isinstance(run(srv, new_client(srv, 5003), "EVAL", "return 1", "0"), Block)
    assert run(srv, new_client(srv, 5004), "EVAL", "#!lua flags=no-writes\nreturn 1", "0") == 1
    st = pause_state(srv)
    assert st.holds(c, [b"SET", b"k", b"v"]) and not st.holds(c, [b"GET", b"k"])
    woken = []
    st.on_unpause(lambda: woken.append(True))
    run(srv, admin, "CLIENT", "UNPAUSE")
    assert woken == [True] and not st.holds(c, [b"SET", b"k", b"v"])


def test_read_only_script_may_not_call_may_replicate_commands():
    srv = make_server()
    c = new_client(srv)
    err = run(srv, c, "EVAL_RO", "return redis.call('publish','ch','msg')", "0")
    assert err.message.startswith("ERR Write commands are not allowed from read-only scripts.")
    assert run(srv, c, "EVAL", "return redis.call('publish','ch','msg')", "0") == 0

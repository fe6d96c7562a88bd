"""Client-side caching: CLIENT TRACKING / CACHING / GETREDIR / TRACKINGINFO (trioredis.tracking).

Unit tests drive a core.Server and read what each client's transport received; integration
tests run redis-py's own client-side cache (RESP3, ``cache_config``) against a ThreadedServer;
differential tests compare raw bytes with a real Redis 7.0.
"""

from __future__ import annotations

import time

import redis
from redis.cache import CacheConfig

from tests.helpers import RawClient
from trioredis.config import Config
from trioredis.core import ManualClock, Server
from trioredis.protocol.replies import ErrorReply

# -- unit helpers ----------------------------------------------------------------------------


class Transport:
    """What a connection would have sent a client outside its replies (pushes)."""

    def __init__(self):
        self.data: list[bytes] = []

    def push(self, data: bytes) -> None:
        self.data.append(data)

    def take(self) -> list[bytes]:
        out, self.data = self.data, []
        return out

    def kill(self) -> None:
        pass

    def buffer_stats(self, now_ms):
        return (0, 0, 0, 0, 0, 0, 0, 0, 0)


def make_server(**cfg) -> Server:
    config = Config()
    for k, v in cfg.items():
        config.set(k.replace("_", "-"), str(v), startup=True)
    return Server(config, clock=ManualClock())


def client(srv: Server, resp: int = 2):
    c = srv.new_client("127.0.0.1:5000", "127.0.0.1:6379", 10)
    c.conn = Transport()
    if resp == 3:
        run(srv, c, "HELLO", "3")
    return c


def run(srv: Server, c, *args):
    """One command as the connection runs it: current client set, held pushes after it."""
    srv.current_client = c
    try:
        reply = srv.execute(c, [a if isinstance(a, bytes) else str(a).encode() for a in args])
    finally:
        srv.current_client = None
    if c.tracking_state is not None:
        srv.tracking.after_command(c)
    return reply


INV = b">2\r\n$10\r\ninvalidate\r\n"


def inv3(*keys: bytes) -> bytes:
    return INV + b"*%d\r\n" % len(keys) + b"".join(b"$%d\r\n%s\r\n" % (len(k), k) for k in keys)


def message2(*keys: bytes) -> bytes:
    body = b"*%d\r\n" % len(keys) + b"".join(b"$%d\r\n%s\r\n" % (len(k), k) for k in keys)
    return b"*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n" + body


# -- default mode ----------------------------------------------------------------------------


def test_reads_are_tracked_and_invalidated_once():
    srv = make_server()
    reader, writer = client(srv, 3), client(srv)
    assert run(srv, reader, "CLIENT", "TRACKING", "on") == "OK"
    run(srv, writer, "MSET", "a", "1", "b", "2")
    assert run(srv, reader, "GET", "a") == b"1"
    run(srv, writer, "INCR", "b")  # never read: nothing
    assert reader.conn.take() == []
    run(srv, writer, "INCR", "a")
    assert reader.conn.take() == [inv3(b"a")]
    run(srv, writer, "INCR", "a")  # forgotten until read again
    assert reader.conn.take() == []
    assert srv.tracking.info() == (0, 0, 0)


def test_resp2_client_without_redirect_gets_nothing_but_keys_are_dropped():
    srv = make_server()
    reader, writer = client(srv), client(srv)
    run(srv, reader, "CLIENT", "TRACKING", "on")
    run(srv, reader, "GET", "k")
    assert srv.tracking.info() == (1, 1, 0)
    run(srv, writer, "SET", "k", "v")
    assert reader.conn.take() == [] and srv.tracking.info() == (0, 0, 0)


def test_redirect_to_a_resp2_subscriber_uses_the_invalidate_channel():
    srv = make_server()
    sub, reader, writer = client(srv), client(srv), client(srv)
    run(srv, sub, "SUBSCRIBE", "__redis__:invalidate")
    sub.conn.take()
    assert run(srv, reader, "CLIENT", "TRACKING", "on", "REDIRECT", sub.id) == "OK"
    assert run(srv, reader, "CLIENT", "GETREDIR") == sub.id
    run(srv, writer, "MSET", "x", "1", "y", "1")
    run(srv, reader, "MGET", "x", "y")
    run(srv, writer, "DEL", "y", "x")
    assert sub.conn.take() == [message2(b"y"), message2(b"x")]


def test_own_change_is_reported_after_the_reply_and_noloop_skips_it():
    srv = make_server()
    c = client(srv, 3)
    run(srv, c, "CLIENT", "TRACKING", "on")
    run(srv, c, "GET", "k")
    srv.current_client = c
    srv.execute(c, [b"SET", b"k", b"v"])
    assert c.conn.take() == []  # held while its command runs
    srv.current_client = None
    srv.tracking.after_command(c)
    assert c.conn.take() == [inv3(b"k")]
    run(srv, c, "CLIENT", "TRACKING", "on", "NOLOOP")
    run(srv, c, "GET", "k")
    run(srv, c, "SET", "k", "w")
    assert c.conn.take() == []


def test_exec_holds_invalidations_until_its_reply():
    srv = make_server()
    c = client(srv, 3)
    run(srv, c, "CLIENT", "TRACKING", "on")
    run(srv, c, "GET", "a")
    run(srv, c, "MULTI")
    run(srv, c, "INCR", "a")
    srv.current_client = c
    assert srv.execute(c, [b"EXEC"]) == [1]
    assert c.conn.take() == []
    srv.current_client = None
    srv.tracking.after_command(c)
    assert c.conn.take() == [inv3(b"a")]


def test_flush_sends_null_invalidation_in_the_clients_protocol():
    srv = make_server()
    r3, sub, r2 = client(srv, 3), client(srv), client(srv)
    run(srv, sub, "SUBSCRIBE", "ch")
    sub.conn.take()
    run(srv, r3, "CLIENT", "TRACKING", "on")
    run(srv, r2, "CLIENT", "TRACKING", "on", "REDIRECT", sub.id)
    run(srv, r3, "GET", "k")
    run(srv, client(srv), "FLUSHALL")
    assert r3.conn.take() == [INV + b"_\r\n"]
    assert sub.conn.take() == [b"*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n$-1\r\n"]
    assert srv.tracking.info() == (0, 0, 0)


def test_expired_key_is_invalidated():
    srv = make_server()
    c = client(srv, 3)
    run(srv, c, "SET", "k", "v", "PX", "10")
    run(srv, c, "CLIENT", "TRACKING", "on")
    run(srv, c, "GET", "k")
    srv.clock.advance(1)
    srv.dbs[0].expire_cycle(srv.now_ms(), 10)
    assert c.conn.take() == [inv3(b"k")]


def test_broken_redirect_is_reported_to_a_resp3_client():
    srv = make_server()
    target, reader, writer = client(srv), client(srv, 3), client(srv)
    run(srv, reader, "CLIENT", "TRACKING", "on", "REDIRECT", target.id)
    run(srv, reader, "GET", "k")
    srv.free_client(target)
    run(srv, writer, "SET", "k", "v")
    assert reader.conn.take() == [
        b">2\r\n$21\r\ntracking-redir-broken\r\n:%d\r\n" % target.id]
    info = run(srv, reader, "CLIENT", "TRACKINGINFO")
    assert list(info[b"flags"]) == [b"on", b"broken_redirect"]


def test_optin_and_optout_with_client_caching():
    srv = make_server()
    c, w = client(srv, 3), client(srv)
    run(srv, c, "CLIENT", "TRACKING", "on", "OPTIN")
    run(srv, c, "GET", "a")  # not cached: OPTIN without CACHING yes
    assert run(srv, c, "CLIENT", "CACHING", "yes") == "OK"
    run(srv, c, "GET", "b")
    run(srv, c, "GET", "c")  # CACHING yes lasted one command
    run(srv, w, "MSET", "a", "1", "b", "1", "c", "1")
    assert c.conn.take() == [inv3(b"b")]
    assert run(srv, c, "CLIENT", "CACHING", "no").message == (
        "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.")
    assert run(srv, c, "CLIENT", "TRACKING", "on", "OPTOUT").message.startswith(
        "ERR You can't switch OPTIN/OPTOUT mode")
    run(srv, c, "CLIENT", "TRACKING", "off")
    run(srv, c, "CLIENT", "TRACKING", "on", "OPTOUT")
    run(srv, c, "CLIENT", "CACHING", "no")
    run(srv, c, "GET", "a")  # not cached
    run(srv, c, "GET", "b")
    run(srv, w, "MSET", "a", "2", "b", "2")
    assert c.conn.take() == [inv3(b"b")]


# -- BCAST -----------------------------------------------------------------------------------


def test_bcast_prefixes_and_noloop():
    srv = make_server()
    c, w = client(srv, 3), client(srv)
    assert run(srv, c, "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "a:", "PREFIX", "b:",
               "NOLOOP") == "OK"
    run(srv, w, "SET", "a:1", "x")
    run(srv, w, "SET", "c:1", "x")
    run(srv, c, "SET", "b:1", "x")  # its own change: NOLOOP
    assert c.conn.take() == [inv3(b"a:1")]
    assert srv.tracking.info() == (0, 0, 2)
    info = run(srv, c, "CLIENT", "TRACKINGINFO")
    assert list(info[b"flags"]) == [b"on", b"bcast", b"noloop"]
    assert info[b"prefixes"] == [b"a:", b"b:"]
    run(srv, c, "CLIENT", "TRACKING", "off")
    assert srv.tracking.info() == (0, 0, 0)


def test_bcast_option_errors_are_redis_words():
    srv = make_server()
    c = client(srv)
    err = run(srv, c, "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "FOOBAR", "PREFIX", "FOO")
    assert err.message == ("ERR Prefix 'FOOBAR' overlaps with another provided prefix 'FOO'. "
                           "Prefixes for a single client must not overlap.")
    assert run(srv, c, "CLIENT", "TRACKING", "on", "PREFIX", "a").message == (
        "ERR PREFIX option requires BCAST mode to be enabled")
    assert run(srv, c, "CLIENT", "TRACKING", "on", "BCAST", "OPTIN").message == (
        "ERR OPTIN and OPTOUT are not compatible with BCAST")
    assert run(srv, c, "CLIENT", "TRACKING", "on", "REDIRECT", "999").message == (
        "ERR The client ID you want redirect to does not exist")
    assert run(srv, c, "CLIENT", "TRACKING", "maybe").message == "ERR syntax error"
    run(srv, c, "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "FOO")
    assert run(srv, c, "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "FO").message == (
        "ERR Prefix 'FO' overlaps with an existing prefix 'FOO'. "
        "Prefixes for a single client must not overlap.")
    assert run(srv, c, "CLIENT", "TRACKING", "on").message.startswith(
        "ERR You can't switch BCAST mode on/off")
    assert isinstance(run(srv, c, "CLIENT", "CACHING", "yes"), ErrorReply)


# -- the table limit, RESET, client list -----------------------------------------------------


def test_table_limit_invalidates_oldest_keys():
    srv = make_server()
    c = client(srv, 3)
    run(srv, c, "CLIENT", "TRACKING", "on")
    run(srv, c, "MGET", "k1", "k2", "k3")
    srv.config.set("tracking-table-max-keys", "1")
    srv.tracking.limit()
    assert c.conn.take() == [inv3(b"k1"), inv3(b"k2")]
    assert srv.tracking.info() == (1, 1, 0)


def test_reset_and_disconnect_turn_tracking_off():
    srv = make_server()
    c = client(srv)
    run(srv, c, "CLIENT", "TRACKING", "on", "BCAST")
    assert b"flags=tB " in run(srv, c, "CLIENT", "INFO")
    assert run(srv, c, "RESET") == "RESET"
    assert b"flags=N " in run(srv, c, "CLIENT", "INFO")
    assert run(srv, c, "CLIENT", "GETREDIR") == -1
    assert srv.tracking.clients == 0 and srv.tracking.info() == (0, 0, 0)
    run(srv, c, "CLIENT", "TRACKING", "on", "BCAST")
    srv.free_client(c)
    assert srv.tracking.clients == 0 and srv.tracking.info() == (0, 0, 0)


# -- over the network ------------------------------------------------------------------------


def test_redis_py_client_side_cache(server, monkeypatch):
    """redis-py's own cache (RESP3 + cache_config) serves repeated GETs locally and drops the
    entry when another client changes the key."""
    # redis-py enables its cache only for servers announcing 7.4+ (a support policy: it uses
    # nothing newer than Redis 6's CLIENT TRACKING); trioredis announces 7.0.15, as Redis does.
    monkeypatch.setattr(redis.connection.CacheProxyConnection, "MIN_ALLOWED_VERSION", "7.0.0")
    cached = redis.Redis(port=server.port, protocol=3, cache_config=CacheConfig(),
                         socket_timeout=10)
    other = redis.Redis(port=server.port, socket_timeout=10)
    try:
        other.set("k", "v1")
        assert cached.get("k") == b"v1"
        calls = server.call(lambda: server.server.tracking and _get_calls(server.server))
        assert cached.get("k") == b"v1"  # from the local cache: the server saw no new GET
        assert server.call(lambda: _get_calls(server.server)) == calls
        other.set("k", "v2")
        deadline = time.monotonic() + 5
        while cached.get("k") != b"v2":  # the invalidation arrives asynchronously
            assert time.monotonic() < deadline, "cache never invalidated"
            time.sleep(0.01)
        assert server.call(lambda: _get_calls(server.server)) == calls + 1
    finally:
        cached.close()
        other.close()


def _get_calls(srv) -> int:
    from trioredis.commands import registry

    return registry.lookup(b"get").calls


def test_bcast_message_precedes_the_writers_reply(server):
    """As Redis's beforeSleep: a BCAST invalidation is queued before the writer's reply goes
    out, so the tracking client sees it before the reply to its next command."""
    reader, writer = RawClient(server.port), RawClient(server.port)
    try:
        reader.command("HELLO", "3")
        assert reader.command("CLIENT", "TRACKING", "on", "BCAST") == b"+OK\r\n"
        for i in range(20):
            assert writer.command("INCR", "key1") == b":%d\r\n" % (i + 1)
            assert reader.command("PING") == inv3(b"key1")
            assert reader.read_reply() == b"+PONG\r\n"
    finally:
        reader.close()
        writer.close()


FIELDS = (b"qbuf", b"qbuf-free", b"argv-mem", b"multi", b"multi-mem", b"obl", b"oll", b"omem")


def _fields(line: bytes) -> dict:
    pairs = dict(f.split(b"=", 1) for f in line.split() if b"=" in f)
    return {k: pairs[k] for k in FIELDS}


def _line_of(listing: bytes, flag: bytes) -> bytes:
    lines = [x for x in listing.split(b"\n") if flag in x]
    assert len(lines) == 1, listing
    return lines[0]


def test_client_list_buffers_match_redis(server, real_redis):
    """CLIENT LIST's buffer fields, for the caller and for a client inside MULTI, are the
    numbers Redis 7.0.15 gives for the same traffic."""
    seen = []
    for port in (server.port, real_redis.port):
        c, other = RawClient(port), RawClient(port)
        try:
            own = c.command("CLIENT", "LIST")
            c.command("MULTI")
            c.command("SET", "k", "v")
            c.command("SET", "key2", "v" * 100)
            queued = _line_of(other.command("CLIENT", "LIST"), b" multi=2 ")
            c.command("DISCARD")
            seen.append((_fields(_line_of(own, b"cmd=client|list")), _fields(queued)))
        finally:
            c.close()
            other.close()
    assert seen[0] == seen[1]
    assert seen[0][0][b"qbuf"] == b"26" and seen[0][1][b"multi-mem"] == b"%d" % (
        (3 + 1 + 1) + 3 * 8 + (3 + 4 + 100) + 3 * 8)  # argument bytes and pointers


def test_differential_tracking_bytes(pair):
    """The same exchanges give the same bytes from trioredis and Redis 7.0."""
    ours, theirs = pair
    ours.command("HELLO", "3")
    theirs.command("HELLO", "3")  # (the reply holds each server's client id)
    script = [
        ("CLIENT", "TRACKING", "on", "NOLOOP"),
        ("CLIENT", "TRACKINGINFO"),
        ("CLIENT", "GETREDIR"),
        ("CLIENT", "CACHING", "yes"),
        ("CLIENT", "TRACKING", "on", "BCAST"),
        ("CLIENT", "TRACKING", "off"),
        ("CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "x", "PREFIX", "xy"),
        ("CLIENT", "TRACKING", "on", "OPTIN", "OPTOUT"),
        ("CLIENT", "TRACKING", "on", "REDIRECT", "abc"),
        ("CLIENT", "TRACKING"),
        ("CLIENT", "CACHING", "maybe"),
        ("CLIENT", "TRACKING", "on", "OPTIN"),
        ("CLIENT", "CACHING", "yes"),
        ("CLIENT", "TRACKINGINFO"),
        ("CLIENT", "TRACKING", "off"),
        ("CLIENT", "TRACKINGINFO"),
        ("CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "b", "PREFIX", "a"),
        ("CLIENT", "TRACKINGINFO"),
        ("CLIENT", "GETREDIR"),
    ]
    for cmd in script:
        assert ours.command(*cmd) == theirs.command(*cmd), cmd
    ours.command("HELLO", "2")
    theirs.command("HELLO", "2")
    assert ours.command("CLIENT", "TRACKINGINFO") == theirs.command("CLIENT", "TRACKINGINFO")


def test_evicted_key_is_reported_before_the_reply():
    """Eviction runs before the command (performEvictions): its invalidation is not held."""
    srv = make_server()
    c = client(srv, 3)
    run(srv, c, "SET", "k", "v")
    run(srv, c, "CLIENT", "TRACKING", "on")
    run(srv, c, "GET", "k")
    srv.current_client = c
    db = srv.dbs[0]
    db.delete("k")
    db.modified(b"k", b"evicted", 0, dirty=0)
    srv.current_client = None
    assert c.conn.take() == [inv3(b"k")]

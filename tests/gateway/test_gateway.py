"""The WebSocket gateway end to end, in-process: subscriptions with XREAD semantics, consumer
groups, access control, bad input and slow consumers."""

from __future__ import annotations

import json
import socket

import pytest
import trio

pytest.importorskip("trio_websocket", reason="the gateway tests need trio-websocket")

from trio_websocket import ConnectionClosed, ConnectionRejected  # noqa: E402

from .gw import hello, recv, request, running, send  # noqa: E402


async def entries(ws, n: int, timeout: float = 5.0) -> list[dict]:
    out = []
    with trio.fail_after(timeout):
        while len(out) < n:
            msg = await recv(ws)
            assert "op" not in msg, msg
            out.append(msg)
    return out


async def nothing_more(ws, wait: float = 0.2) -> None:
    with trio.move_on_after(wait):
        msg = await ws.get_message()
        raise AssertionError(f"unexpected message {msg}")


async def closed_with(ws, timeout: float = 10.0):
    """Read until the server closes; returns the CloseReason."""
    with trio.fail_after(timeout):
        while True:
            try:
                await ws.get_message()
            except ConnectionClosed as e:
                return e.reason


# -- subscriptions -----------------------------------------------------------------------------


async def test_subscribe_receives_in_order():
    async with running() as gw, gw.connect() as ws:
        await hello(ws)
        ack = await request(ws, {"op": "subscribe", "streams": {"s": "0"}, "ref": 7})
        assert ack == {"op": "subscribed", "streams": {"s": "0"}, "ref": 7}
        ids = [gw.xadd("s", "n", str(i)) for i in range(50)]
        got = await entries(ws, 50)
        assert [m["id"] for m in got] == ids
        assert [m["fields"] for m in got] == [{"n": str(i)} for i in range(50)]
        assert {m["stream"] for m in got} == {"s"}
        # Entries added one at a time, each after the last was received: woken every time.
        for i in range(5):
            i_d = gw.xadd("s", "late", str(i))
            (m,) = await entries(ws, 1)
            assert m["id"] == i_d


async def test_dollar_means_last_id_at_subscribe_time():
    async with running() as gw, gw.connect() as ws:
        await hello(ws)
        gw.xadd("s", id="5-1")
        last = gw.xadd("s", id="5-2")
        ack = await request(ws, {"op": "subscribe", "streams": {"s": "$", "missing": "$"}})
        assert ack["streams"] == {"s": last, "missing": "0-0"}
        await nothing_more(ws)
        new = gw.xadd("s", id="6-0")
        (m,) = await entries(ws, 1)
        assert m["id"] == new
        first = gw.xadd("missing", id="1-0")  # a stream that did not exist: everything
        (m,) = await entries(ws, 1)
        assert (m["stream"], m["id"]) == ("missing", first)


async def test_resume_from_an_id():
    async with running() as gw:
        ids = [gw.xadd("s", "n", str(i)) for i in range(10)]
        async with gw.connect() as ws:
            await hello(ws)
            await request(ws, {"op": "subscribe", "streams": {"s": "0"}, "count": 3})
            got = await entries(ws, 4)  # reads 3 at a time, in order
            assert [m["id"] for m in got] == ids[:4]
        # Reconnect with the last ID seen: the rest, no gap, no duplicate.
        async with gw.connect() as ws:
            await hello(ws)
            await request(ws, {"op": "subscribe", "streams": {"s": got[-1]["id"]}})
            more = [gw.xadd("s", "n", str(i)) for i in range(10, 12)]
            rest = await entries(ws, 8)
            assert [m["id"] for m in rest] == ids[4:] + more
            await nothing_more(ws)


async def test_resume_after_trimming_gets_what_is_still_there():
    async with running() as gw:
        ids = [gw.xadd("s", "n", str(i)) for i in range(10)]
        gw.cmd("XTRIM", "s", "MAXLEN", "5")
        async with gw.connect() as ws:
            await hello(ws)
            await request(ws, {"op": "subscribe", "streams": {"s": ids[1]}})
            got = await entries(ws, 5)
            assert [m["id"] for m in got] == ids[5:]


async def test_several_streams_and_unsubscribe():
    async with running() as gw, gw.connect() as ws:
        await hello(ws)
        await request(ws, {"op": "subscribe", "streams": {"a": "$", "b": "$"}})
        await request(ws, {"op": "subscribe", "streams": {"c": "$"}})  # adds to the set
        sent = {"a": [], "b": [], "c": []}
        for i in range(30):
            k = "abc"[i % 3]
            sent[k].append(gw.xadd(k, "i", str(i)))
        got = await entries(ws, 30)
        for k in "abc":
            assert [m["id"] for m in got if m["stream"] == k] == sent[k]
        ack = await request(ws, {"op": "unsubscribe", "streams": ["a", "nope"]})
        assert ack == {"op": "unsubscribed", "streams": ["a"]}
        gw.xadd("a")
        b = gw.xadd("b")
        (m,) = await entries(ws, 1)
        assert (m["stream"], m["id"]) == ("b", b)
        await nothing_more(ws)


async def test_resubscribe_moves_the_position():
    async with running() as gw, gw.connect() as ws:
        await hello(ws)
        ids = [gw.xadd("s") for _ in range(3)]
        await request(ws, {"op": "subscribe", "streams": {"s": "$"}})
        await nothing_more(ws, 0.1)
        await send(ws, {"op": "subscribe", "streams": {"s": ids[0]}})
        assert (await recv(ws))["op"] == "subscribed"
        got = await entries(ws, 2)
        assert [m["id"] for m in got] == ids[1:]


async def test_binary_and_repeated_fields():
    async with running() as gw, gw.connect() as ws:
        await hello(ws)
        await request(ws, {"op": "subscribe", "streams": {"s": "$"}})
        gw.cmd("XADD", "s", "*", b"t", "caf\u00e9".encode(), b"raw", b"\xff\x00")
        gw.cmd("XADD", "s", "*", b"k", b"1", b"k", b"2")
        a, b = await entries(ws, 2)
        assert a["fields"] == {"t": "caf\u00e9", "raw": "/wA="} and a["b64"] == ["raw"]
        assert "pairs" not in a
        assert b["fields"] == {"k": "2"}
        assert b["pairs"] == [["aw==", "MQ=="], ["aw==", "Mg=="]]


async def test_range_history():
    async with running() as gw, gw.connect() as ws:
        await hello(ws)
        ids = [gw.xadd("s", "n", str(i)) for i in range(5)]
        r = await request(ws, {"op": "range", "stream": "s", "count": 3, "ref": "h"})
        assert r["op"] == "range" and r["ref"] == "h" and r["stream"] == "s"
        assert [e["id"] for e in r["entries"]] == ids[:3]
        assert r["entries"][0]["fields"] == {"n": "0"}
        r = await request(ws, {"op": "range", "stream": "s", "start": "(" + ids[1],
                               "end": "+"})
        assert [e["id"] for e in r["entries"]] == ids[2:]
        r = await request(ws, {"op": "range", "stream": "s", "reverse": True, "count": 2})
        assert [e["id"] for e in r["entries"]] == ids[:-3:-1]
        r = await request(ws, {"op": "range", "stream": "missing"})
        assert r["entries"] == []
        r = await request(ws, {"op": "range", "stream": "s", "start": "zz"})
        assert (r["op"], r["code"]) == ("error", "BADID")


# -- consumer groups ---------------------------------------------------------------------------


async def test_group_delivery_ack_and_pending_redelivery():
    async with running() as gw:
        gw.cmd("XGROUP", "CREATE", "jobs", "g", "$", "MKSTREAM")
        async with gw.connect() as ws:
            await hello(ws)
            ack = await request(ws, {"op": "subscribe-group", "stream": "jobs", "group": "g",
                                     "consumer": "alice"})
            assert ack["op"] == "subscribed-group"
            ids = [gw.xadd("jobs", "n", str(i)) for i in range(4)]
            got = await entries(ws, 4)
            assert [m["id"] for m in got] == ids
            assert all(m["group"] == "g" and m["consumer"] == "alice" for m in got)
            assert "pending" not in got[0]
            r = await request(ws, {"op": "ack", "stream": "jobs", "group": "g",
                                   "ids": ids[:2]})
            assert r == {"op": "acked", "stream": "jobs", "group": "g", "count": 2}
        assert gw.cmd("XPENDING", "jobs", "g")[0] == 2
        # Reconnecting: the unacknowledged entries come again (flagged), then new ones.
        async with gw.connect() as ws:
            await hello(ws)
            await request(ws, {"op": "subscribe-group", "stream": "jobs", "group": "g",
                               "consumer": "alice"})
            again = await entries(ws, 2)
            assert [m["id"] for m in again] == ids[2:]
            assert all(m["pending"] for m in again)
            new = gw.xadd("jobs")
            (m,) = await entries(ws, 1)
            assert m["id"] == new and "pending" not in m


async def test_group_consumers_share_the_work():
    async with running() as gw:
        gw.cmd("XGROUP", "CREATE", "jobs", "g", "$", "MKSTREAM")
        async with gw.connect() as a, gw.connect() as b:
            for ws, name in ((a, "a"), (b, "b")):
                await hello(ws)
                await request(ws, {"op": "subscribe-group", "stream": "jobs", "group": "g",
                                   "consumer": name, "pending": False})
            ids = []
            for _ in range(10):
                ids.append(gw.xadd("jobs"))
                await trio.sleep(0.01)
            got = []
            with trio.move_on_after(1):
                while len(got) < 10:
                    for ws in (a, b):
                        with trio.move_on_after(0.05):
                            got.append(json.loads(await ws.get_message()))
            assert sorted(m["id"] for m in got) == ids  # each entry to exactly one consumer
            assert {m["consumer"] for m in got} == {"a", "b"}


async def test_group_errors():
    async with running() as gw, gw.connect() as ws:
        await hello(ws)
        gw.xadd("s")
        r = await request(ws, {"op": "subscribe-group", "stream": "s", "group": "nope",
                               "consumer": "c"})
        assert r["op"] == "subscribed-group"
        err = await recv(ws)
        assert (err["op"], err["code"], err["stream"]) == ("error", "NOGROUP", "s")
        r = await request(ws, {"op": "ack", "stream": "s", "group": "other", "ids": ["1-1"]})
        assert (r["code"], r["stream"]) == ("NOPERM", "s")
        gw.cmd("XGROUP", "CREATE", "s", "g", "0")
        await request(ws, {"op": "subscribe-group", "stream": "s", "group": "g",
                           "consumer": "c"})
        (m,) = await entries(ws, 1)
        gw.cmd("XGROUP", "DESTROY", "s", "g")  # wakes the blocked XREADGROUP with NOGROUP
        err = await recv(ws)
        assert err["code"] == "NOGROUP"


# -- errors ------------------------------------------------------------------------------------


async def test_request_errors_keep_the_socket_open():
    async with running() as gw, gw.connect() as ws:
        await hello(ws)
        gw.cmd("SET", "str", "x")
        for req, code in [
            ([1, 2], "BADREQUEST"),
            ({"op": "xadd", "stream": "s"}, "BADREQUEST"),
            ({"op": "subscribe"}, "BADREQUEST"),
            ({"op": "subscribe", "streams": ["s"]}, "BADREQUEST"),
            ({"op": "subscribe", "streams": {"s": "0"}, "count": 0}, "BADREQUEST"),
            ({"op": "range", "stream": ""}, "BADREQUEST"),
            ({"op": "ack", "stream": "s", "group": "g", "ids": "bad"}, "BADID"),
        ]:
            r = await request(ws, req)
            assert (r["op"], r["code"]) == ("error", code), (req, r)
        await send(ws, {"op": "subscribe", "streams": {"s": "1-x", "str": "$", "ok": "0"}})
        errs = [await recv(ws), await recv(ws)]
        assert {(e["stream"], e["code"]) for e in errs} == {("s", "BADID"), ("str", "WRONGTYPE")}
        assert await recv(ws) == {"op": "subscribed", "streams": {"ok": "0"}}
        assert gw.cmd("EXISTS", "s") == 0  # read-only: nothing was written
        assert (await request(ws, {"op": "ping", "ref": 1})) == {"op": "pong", "ref": 1}


async def test_subscribed_key_changing_type_is_dropped():
    async with running() as gw, gw.connect() as ws:
        await hello(ws)
        await request(ws, {"op": "subscribe", "streams": {"s": "$", "t": "$"}})
        gw.cmd("SET", "s", "now a string")  # wakes the XREAD (a new key), which fails
        gw.xadd("t")
        msgs = [await recv(ws), await recv(ws)]
        err = next(m for m in msgs if m.get("op") == "error")
        assert (err["code"], err["stream"]) == ("WRONGTYPE", "s")
        assert any(m.get("stream") == "t" and "op" not in m for m in msgs)
        t = gw.xadd("t")
        (m,) = await entries(ws, 1)
        assert m["id"] == t


async def test_malformed_json_closes_only_that_socket():
    async with running() as gw, gw.connect() as good, gw.connect() as bad:
        await hello(good)
        await hello(bad)
        await request(good, {"op": "subscribe", "streams": {"s": "$"}})
        await bad.send_message("{not json")
        reason = await closed_with(bad)
        assert reason.code == 1007 and "JSON" in reason.reason
        i = gw.xadd("s")
        (m,) = await entries(good, 1)
        assert m["id"] == i


async def test_binary_and_oversized_frames_close_with_their_codes():
    async with running() as gw:
        async with gw.connect() as ws:
            await hello(ws)
            await ws.send_message(b"\x00\x01")
            assert (await closed_with(ws)).code == 1003
        async with gw.connect() as ws:
            await hello(ws)
            await ws.send_message(json.dumps({"op": "ping", "pad": "x" * 100_000}))
            assert (await closed_with(ws)).code == 1009
        async with gw.connect() as ws:  # the server is fine
            await hello(ws)
            assert (await request(ws, {"op": "ping"}))["op"] == "pong"


# -- access control ----------------------------------------------------------------------------


async def test_auth_required_with_requirepass():
    async with running(requirepass="s3cret") as gw:
        async with gw.connect() as ws:  # no token: the first message must bring it
            assert (await hello(ws))["auth"] == "required"
            err = await request(ws, {"op": "subscribe", "streams": {"s": "0"}})
            assert err["code"] == "NOAUTH"
            assert (await closed_with(ws)).code == 1008
        async with gw.connect() as ws:
            await hello(ws)
            assert (await request(ws, {"op": "auth", "token": "wrong"}))["code"] == "NOAUTH"
            assert (await closed_with(ws)).code == 1008
        async with gw.connect() as ws:
            await hello(ws)
            assert await request(ws, {"op": "auth", "token": "s3cret"}) == {"op": "auth",
                                                                            "ok": True}
            i = gw.xadd("s")
            await request(ws, {"op": "subscribe", "streams": {"s": "0"}})
            (m,) = await entries(ws, 1)
            assert m["id"] == i
        async with gw.connect("/ws?token=s3cret") as ws:
            assert (await hello(ws))["auth"] == "ok"
        async with gw.connect(extra_headers=[(b"Authorization", b"Bearer s3cret")]) as ws:
            assert (await hello(ws))["auth"] == "ok"
        with pytest.raises(ConnectionRejected) as e:
            async with gw.connect(extra_headers=[(b"Authorization", b"Bearer nope")]):
                pass
        assert e.value.status_code == 401


async def test_ws_token_replaces_the_password():
    async with running(requirepass="pw", ws_token="tok") as gw:
        async with gw.connect("/ws?token=tok") as ws:
            assert (await hello(ws))["auth"] == "ok"
        with pytest.raises(ConnectionRejected):
            async with gw.connect("/ws?token=pw"):
                pass


async def test_origin_allow_list():
    async with running(ws_allowed_origins="https://app.example") as gw:
        port = gw.port
        for origin, ok in [
            ("http://evil.example", False),
            (f"http://evil.example:{port}", False),
            ("https://app.example", True),
            (f"http://127.0.0.1:{port}", True),  # the gateway's own dashboard
        ]:
            headers = [(b"Origin", origin.encode())]
            if ok:
                async with gw.connect(extra_headers=headers) as ws:
                    await hello(ws)
            else:
                with pytest.raises(ConnectionRejected) as e:
                    async with gw.connect(extra_headers=headers):
                        pass
                assert e.value.status_code == 403
        # DNS rebinding: a page served under a host name pointing at us is not same-origin.
        host = f"evil.example:{port}"
        head = await raw_request(port, f"GET /ws HTTP/1.1\r\nHost: {host}\r\nOrigin: http://{host}"
                                 "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                 "Sec-WebSocket-Version: 13\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 403")


async def raw_request(port: int, text: str) -> bytes:
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        await stream.send_all(text.encode())
        data = b""
        with trio.fail_after(5):
            while chunk := await stream.receive_some(65536):
                data += chunk
        return data


async def test_http_dashboard_and_errors():
    async with running() as gw:
        r = await raw_request(gw.port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        head, _, body = r.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200") and b"text/html" in head
        assert b"Content-Security-Policy" in head and b"<html" in body.lower()
        for path in ("/dashboard.js", "/dashboard.css"):
            r = await raw_request(gw.port, f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n")
            assert r.startswith(b"HTTP/1.1 200")
        assert (await raw_request(gw.port, "GET /nope HTTP/1.1\r\n\r\n")).startswith(
            b"HTTP/1.1 404")
        assert (await raw_request(gw.port, "GET /ws HTTP/1.1\r\n\r\n")).startswith(
            b"HTTP/1.1 426")
        assert (await raw_request(gw.port, "POST / HTTP/1.1\r\n\r\n")).startswith(
            b"HTTP/1.1 405")
        assert (await raw_request(gw.port, "garbage\r\n\r\n")).startswith(b"HTTP/1.1 400")


async def test_client_kill_and_client_list():
    async with running() as gw, gw.connect() as ws:
        await hello(ws)
        await request(ws, {"op": "subscribe", "streams": {"s": "$"}})
        listing = bytes(gw.cmd("CLIENT", "LIST")).decode()
        lines = [ln for ln in listing.splitlines() if "name=ws-gateway" in ln]
        assert len(lines) == 2 and any("flags=b" in ln and "cmd=xread" in ln for ln in lines)
        addr = lines[0].split(" addr=")[1].split(" ")[0]
        assert gw.cmd("CLIENT", "KILL", "ADDR", addr) >= 1
        assert (await closed_with(ws)).code == 1008
        with trio.fail_after(5):
            while any(c.name == b"ws-gateway" for c in gw.server.clients.values()):
                await trio.sleep(0.01)


# -- backpressure ------------------------------------------------------------------------------


async def test_slow_consumer_is_closed_fast_one_keeps_receiving():
    async with running(ws_send_queue="64kb", ws_send_timeout=300) as gw:
        async with gw.connect(message_queue_size=1) as slow, gw.connect() as fast:
            for ws in (slow, fast):
                await hello(ws)
                await request(ws, {"op": "subscribe", "streams": {"big": "$"}})
            sessions = list(gw.server.gateway.sessions)
            slow_session = next(s for s in sessions if s.peer.endswith(f":{slow.local.port}"))
            value = "x" * 32_000
            sent = []
            received = 0
            with trio.fail_after(20):
                # Produce until the server gives up on the socket that does not read.
                while all(s.closing is None for s in sessions) and len(sent) < 3000:
                    for _ in range(8):
                        sent.append(gw.xadd("big", "v", value))
                    while received < len(sent):
                        m = json.loads(await fast.get_message())
                        assert m["id"] == sent[received]
                        received += 1
            closed = [s for s in sessions if s.closing is not None]
            assert len(closed) == 1, "the slow socket is closed"
            assert closed == [slow_session] and slow_session.closing[0] == 1013
            # The fast one goes on.
            i = gw.xadd("big", "v", "after")
            assert json.loads(await fast.get_message())["id"] == i
            # The slow one gets what was already in flight, then the 1013 and its reason.
            got = []
            with trio.fail_after(10):
                while True:
                    try:
                        got.append(json.loads(await slow.get_message()))
                    except ConnectionClosed as e:
                        reason = e.reason
                        break
            assert reason.code == 1013 and "resume" in reason.reason
            ids = [m["id"] for m in got if "id" in m]
            assert ids == sent[: len(ids)]  # in order, no gap: it can resume from ids[-1]
            assert len(ids) < len(sent)


async def test_server_buffers_are_bounded_when_nobody_reads():
    async with running(ws_send_queue="64kb", ws_send_timeout=60_000) as gw:
        async with gw.connect(message_queue_size=1) as ws:
            await hello(ws)
            await request(ws, {"op": "subscribe", "streams": {"s": "$"}})
            (session,) = gw.server.gateway.sessions
            peak = 0
            for _ in range(300):
                for _ in range(10):
                    gw.xadd("s", "v", "y" * 10_000)
                await trio.sleep(0.001)
                peak = max(peak, session.out_bytes)
            # Readers stop at the limit: at most one read batch (COUNT entries) over it.
            assert peak <= 64 * 1024 + 100 * 10_100
            assert session.closing is None


# -- lifecycle ---------------------------------------------------------------------------------


async def test_sessions_free_their_clients():
    async with running() as gw:
        base = len(gw.server.clients)
        async with gw.connect() as ws:
            await hello(ws)
            gw.cmd("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
            await request(ws, {"op": "subscribe-group", "stream": "s", "group": "g",
                               "consumer": "c"})
            await request(ws, {"op": "subscribe", "streams": {"s": "$"}})
            assert len(gw.server.clients) == base + 3
        with trio.fail_after(5):
            while len(gw.server.clients) != base:
                await trio.sleep(0.01)
        assert not any(gw.server.dbs[0].blocking.values())


async def test_shutdown_says_going_away():
    async with running() as gw:
        async with gw.connect() as ws:
            await hello(ws)
            gw.server.shutdown_requested()
            assert (await closed_with(ws)).code == 1001


def test_cli_accepts_ws_options():
    from trioredis.cli import build_config, parse_redis_args

    cfg = build_config(None, parse_redis_args(["--ws-port", "8080", "--ws-bind", "0.0.0.0",
                                               "--ws-allowed-origins", "https://a https://b"]))
    assert cfg["ws-port"] == 8080 and cfg["ws-bind"] == ["0.0.0.0"]
    assert cfg["ws-allowed-origins"] == ["https://a", "https://b"]


def test_gateway_off_by_default():
    from trioredis import Config, Server

    srv = Server(Config())
    assert srv.config["ws-port"] == 0 and srv.gateway_port == 0
    assert not any(f.__module__ == "trioredis.gateway" for fs in srv.hooks.values() for f in fs)


def test_port_in_use_fails_start():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]

        async def main():
            with pytest.raises(BaseException) as e:
                async with running(ws_port=port):
                    pass
            err = e.value
            while isinstance(err, BaseExceptionGroup) and len(err.exceptions) == 1:
                err = err.exceptions[0]
            assert "WebSocket gateway" in str(err) and "in use" in str(err)

        trio.run(main)


# -- hostile input -----------------------------------------------------------------------------


async def raw_ws(port: int) -> trio.SocketStream:
    """A WebSocket opened by hand, to send frames no library would."""
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    await stream.send_all(b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                          b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                          b"Sec-WebSocket-Version: 13\r\n\r\n")
    data = b""
    with trio.fail_after(5):
        while b"welcome" not in data:
            data += await stream.receive_some(4096)
    assert data.startswith(b"HTTP/1.1 101")
    return stream


async def read_close_code(stream: trio.SocketStream) -> int | None:
    """The code of the close frame the server sends (None if it just drops the connection)."""
    data = b""
    with trio.fail_after(5):
        while True:
            i = data.find(b"\x88")
            if i >= 0 and len(data) >= i + 4:
                return int.from_bytes(data[i + 2:i + 4], "big")
            try:
                chunk = await stream.receive_some(4096)
            except trio.BrokenResourceError:
                chunk = b""
            if not chunk:
                return None
            data += chunk


def masked(opcode: int, payload: bytes) -> bytes:
    mask = b"\x01\x02\x03\x04"
    assert len(payload) < 126
    return (bytes((0x80 | opcode, 0x80 | len(payload))) + mask
            + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))


async def test_protocol_violations_close_only_that_socket():
    async with running() as gw, gw.connect() as good:
        await hello(good)
        await request(good, {"op": "subscribe", "streams": {"s": "$"}})
        cases = [
            (b"\x81\x05hello", 1002),  # an unmasked client frame
            (masked(1, b"\xff\xfe"), 1007),  # a text frame that is not UTF-8
            (masked(1, b"[" * 50 + b"]" * 50), None),  # valid JSON, not an object: an error
        ]
        for frame, code in cases:
            s = await raw_ws(gw.port)
            await s.send_all(frame)
            if code is None:
                with trio.fail_after(5):
                    assert b"BADREQUEST" in await s.receive_some(4096)
                await s.aclose()
            else:
                assert await read_close_code(s) == code
        s = await raw_ws(gw.port)
        await s.send_all(_big_masked(b"[" * 60000))
        assert await read_close_code(s) == 1007  # nesting too deep for the JSON parser
        i = gw.xadd("s")
        (m,) = await entries(good, 1)
        assert m["id"] == i


def _big_masked(payload: bytes) -> bytes:
    mask = b"\x01\x02\x03\x04"
    head = b"\x81\xfe" + len(payload).to_bytes(2, "big")
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


async def test_auth_timeout(monkeypatch):
    from trioredis.gateway import session

    monkeypatch.setattr(session, "AUTH_TIMEOUT", 0.2)
    async with running(ws_token="t") as gw, gw.connect() as ws:
        await hello(ws)
        reason = await closed_with(ws)
        assert reason.code == 1008 and "timeout" in reason.reason


async def test_large_entries_are_read_a_bounded_batch_at_a_time():
    async with running(ws_send_queue="64kb") as gw:
        ids = [gw.xadd("big", "v", str(i) * 30_000) for i in range(10)]
        async with gw.connect() as ws:
            await hello(ws)
            await request(ws, {"op": "subscribe", "streams": {"big": "0"}, "count": 1000})
            (session,) = gw.server.gateway.sessions
            got = []
            peak = 0
            with trio.fail_after(5):
                while len(got) < 10:
                    peak = max(peak, session.out_bytes)
                    got.append(json.loads(await ws.get_message()))
            assert [m["id"] for m in got] == ids
            assert peak < 64 * 1024 + 31_000  # one entry over the limit at most


def test_cli_server_with_ws_port(tmp_path):
    """``trioredis server --ws-port N``: the dashboard and /ws on N, a 1001 on SIGTERM."""
    import signal
    import subprocess
    import sys

    from trio_websocket import open_websocket_url

    from ..helpers import free_port, wait_port

    port, ws_port = free_port(), free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "trioredis", "server", "--port", str(port), "--ws-port",
         str(ws_port), "--save", "", "--dir", str(tmp_path), "--loglevel", "warning"])
    try:
        wait_port(ws_port)

        async def main():
            head = await raw_request(ws_port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200")
            async with open_websocket_url(f"ws://127.0.0.1:{ws_port}/ws") as ws:
                await hello(ws)
                proc.send_signal(signal.SIGTERM)
                assert (await closed_with(ws)).code == 1001

        trio.run(main)
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


async def test_shared_frames_never_serve_stale_content():
    async with running() as gw:
        gw.xadd("s", "a", "1", id="1-1")
        gw.xadd("s", "a", "2", id="1-2")
        async with gw.connect() as ws:
            await hello(ws)
            await request(ws, {"op": "subscribe", "streams": {"s": "0"}})
            assert [m["fields"]["a"] for m in await entries(ws, 2)] == ["1", "2"]
        gw.cmd("DEL", "s")  # the same IDs again, other content
        gw.xadd("s", "a", "x", id="1-1")
        gw.xadd("s", "a", "y", id="1-2")
        async with gw.connect() as ws:
            await hello(ws)
            await request(ws, {"op": "subscribe", "streams": {"s": "0"}})
            assert [m["fields"]["a"] for m in await entries(ws, 2)] == ["x", "y"]


async def test_abrupt_disconnects_leave_no_trace():
    """Sockets that vanish mid-stream (subscribed, in a group, mid-range, reset or closed)
    while entries of all sizes flow: every client is freed, nothing stays blocked."""
    import random

    async with running(ws_send_queue="16kb", ws_send_timeout=200) as gw:
        base = len(gw.server.clients)
        gw.cmd("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
        done = trio.Event()

        async def producer():
            i = 0
            while not done.is_set():
                gw.xadd("s", "v", "x" * (10, 1000, 20000)[i % 3])
                i += 1
                if i % 5 == 0:
                    await trio.sleep(0.001)

        async def victim(k):
            rnd = random.Random(k)
            s = await raw_ws(gw.port)
            req = rnd.choice([{"op": "subscribe", "streams": {"s": "0"}},
                              {"op": "subscribe-group", "stream": "s", "group": "g",
                               "consumer": f"c{k % 3}"},
                              {"op": "range", "stream": "s"}])
            await s.send_all(masked(1, json.dumps(req).encode()))
            await trio.sleep(rnd.random() * 0.05)
            if rnd.random() < 0.5:
                s.socket.close()  # no closing handshake, no FIN from trio
            else:
                await s.aclose()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(producer)
            async with trio.open_nursery() as victims:
                for k in range(60):
                    victims.start_soon(victim, k)
                    await trio.sleep(0.005)
            done.set()
        with trio.fail_after(10):
            while len(gw.server.clients) != base or gw.server.gateway.sessions:
                await trio.sleep(0.02)
        assert not gw.server.dbs[0].blocking
        async with gw.connect() as ws:
            await hello(ws)
            assert (await request(ws, {"op": "ping"}))["op"] == "pong"

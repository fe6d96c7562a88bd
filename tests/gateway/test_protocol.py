"""The gateway's sans-I/O pieces: frames, entry encoding, request parsing, HTTP, access rules."""

from __future__ import annotations

import json

import pytest

from trioredis.config import Config
from trioredis.gateway import protocol as P


def unframe(frame: bytes) -> dict:
    assert frame[0] == 0x81
    n = frame[1]
    if n == 126:
        n, start = int.from_bytes(frame[2:4], "big"), 4
    elif n == 127:
        n, start = int.from_bytes(frame[2:10], "big"), 10
    else:
        start = 2
    assert len(frame) == start + n
    return json.loads(frame[start:])


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536, 200_000])
def test_text_frame_lengths(size):
    payload = json.dumps({"x": "a" * size}).encode()
    assert unframe(P.text_frame(payload)) == {"x": "a" * size}


def test_close_frame_and_reason_clipping():
    f = P.close_frame(1013, "x" * 300)
    assert f[0] == 0x88 and f[1] == 125 and int.from_bytes(f[2:4], "big") == 1013
    assert len(P.clip_reason("\u00e9" * 100).encode()) <= 123


def test_entry_encoding():
    m = unframe(P.entry_frame("s", b"1-2", [b"a", b"1", b"b", "\u00fc".encode()]))
    assert m == {"stream": "s", "id": "1-2", "fields": {"a": "1", "b": "\u00fc"}}
    m = unframe(P.entry_frame("s", b"1-2", (b"bin", b"\x80\x81", b"t", b"ok")))
    assert m["fields"] == {"bin": "gIE=", "t": "ok"} and m["b64"] == ["bin"]
    m = unframe(P.entry_frame("s", b"1-2", [b"\xff", b"v"]))
    assert m["pairs"] == [["/w==", "dg=="]]
    m = unframe(P.entry_frame("s", b"1-2", [b"k", b"1"], {"group": "g"}))
    assert m["group"] == "g"
    assert P.entry_obj(b"3-0", None) == {"id": "3-0", "fields": None}


def test_parse_requests():
    assert P.parse_subscribe({"streams": {"a": "$", "b": "1-1"}}) == (
        [("a", "$"), ("b", "1-1")], P.DEFAULT_COUNT)
    assert P.parse_subscribe({"streams": {"a": "0"}, "count": 10**9})[1] == P.MAX_COUNT
    for bad in ({}, {"streams": {}}, {"streams": "a"}, {"streams": {"a": "0"}, "count": True},
                {"streams": {"": "0"}}):
        with pytest.raises(P.RequestError) as e:
            P.parse_subscribe(bad)
        assert e.value.code == P.BADREQUEST
    assert P.check_id("5", "s") == b"5"
    assert P.check_id("5-1", "s") == b"5-1"
    for bad in ("$", ">", "-", "1-", "abc", 5, None):
        with pytest.raises(P.RequestError) as e:
            P.check_id(bad, "s")
        assert e.value.code == P.BADID and e.value.stream == "s"
    assert P.parse_unsubscribe({"streams": ["a"]}) == ["a"]
    assert P.parse_range({"stream": "s"}) == (b"s", b"-", b"+", P.DEFAULT_COUNT, False)
    assert P.parse_group({"stream": "s", "group": "g", "consumer": "c", "noack": True}) == (
        b"s", b"g", b"c", P.DEFAULT_COUNT, True, True)
    assert P.parse_ack({"stream": "s", "group": "g", "ids": "1-1"}) == (b"s", b"g", [b"1-1"])
    with pytest.raises(P.RequestError):
        P.parse_ack({"stream": "s", "group": "g", "ids": []})


def test_error_codes():
    assert P.error_code("WRONGTYPE Operation against a key") == "WRONGTYPE"
    assert P.error_code("ERR Invalid stream ID specified as stream command argument") == P.BADID
    assert P.error_code("ERR invalid start ID for the interval") == P.BADID
    assert P.error_code("NOGROUP No such key") == "NOGROUP"


def test_parse_head():
    req = P.parse_head(b"GET /ws?token=a%20b&x=1 HTTP/1.1\r\nHost: h:1\r\nUpgrade: WebSocket\r\n"
                       b"Connection: keep-alive, Upgrade\r\nX-A: 1\r\nX-A: 2\r\n\r\n")
    assert (req.method, req.path, req.query["token"]) == ("GET", "/ws", "a b")
    assert req.is_upgrade() and req.header("x-a") == "1, 2"
    assert P.head_end(b"GET / HTTP/1.1\r\n\r\nrest") == 18
    for bad in (b"GET /\r\n\r\n", b"GET / HTTP/1.1\r\nno colon\r\n\r\n",
                b"GET / HTTP/1.1\r\n Host: x\r\n\r\n"):
        with pytest.raises(P.HttpError):
            P.parse_head(bad)


def test_http_response():
    r = P.http_response(404, b"nope")
    assert r.startswith(b"HTTP/1.1 404 Not Found\r\n") and r.endswith(b"\r\n\r\nnope")
    assert b"Content-Length: 4" in r
    assert P.http_response(200, b"body", head_only=True).endswith(b"\r\n\r\n")


def test_origin_rules():
    assert P.origin_allowed(None, "h", [])  # not a browser
    assert P.origin_allowed("http://127.0.0.1:8080", "127.0.0.1:8080", [])
    assert P.origin_allowed("http://localhost:8080", "localhost:8080", [])
    assert P.origin_allowed("http://[::1]:8080", "[::1]:8080", [])
    assert not P.origin_allowed("http://evil:8080", "evil:8080", [])  # DNS rebinding
    assert not P.origin_allowed("http://127.0.0.1:9999", "127.0.0.1:8080", [])
    assert P.origin_allowed("https://App.example/", "x", ["https://app.example"])
    assert P.origin_allowed("https://anything", "x", ["*"])


def test_tokens():
    cfg = Config()
    assert P.expected_token(cfg) == ""
    cfg.set("requirepass", "pw")
    assert P.expected_token(cfg) == "pw"
    cfg.set("ws-token", "tok")
    assert P.expected_token(cfg) == "tok"
    assert P.token_ok("tok", "tok") and not P.token_ok("to", "tok") and not P.token_ok(1, "tok")
    req = P.parse_head(b"GET /ws HTTP/1.1\r\nAuthorization: Bearer abc\r\n\r\n")
    assert P.request_token(req) == "abc"
    assert P.request_token(P.parse_head(b"GET /ws?token=q HTTP/1.1\r\n\r\n")) == "q"
    assert P.request_token(P.parse_head(b"GET /ws HTTP/1.1\r\n\r\n")) is None

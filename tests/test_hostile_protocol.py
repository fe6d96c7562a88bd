"""A protocol fuzzer: random and mutated RESP, over the request parser and over a live server.

Over the parser: no exception, the same requests and error whatever way the stream is cut into
reads, and what it holds for an incomplete request never more than the bytes it was given.
Over a live server: every hostile connection is answered or closed within a deadline, the
server's memory stays bounded, and a probe client on another connection is served throughout;
the first reply bytes match a real Redis's.
"""

from __future__ import annotations

import socket
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trioredis.protocol.parser import RequestParser

from .helpers import RawClient

SETTINGS = dict(deadline=None, database=None, suppress_health_check=list(HealthCheck))

TOKENS = [b"*", b"$", b"\r\n", b"\r", b"\n", b"-1", b"0", b"1", b"2", b"3", b"-", b"+", b":",
          b"PING", b"SET", b"GET", b"k", b"v", b" ", b"\"", b"'", b"\\x41", b"\x00",
          b"2147483648", b"536870912", b"536870913", b"9999999999999999999", b"1048577",
          b"*1048576", b"$536870912", b"~", b">", b"%", b"|", b"=", b"(", b"#", b"_"]


def resp(argv: list[bytes]) -> bytes:
    return b"*%d\r\n" % len(argv) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in argv)


valid_requests = st.lists(
    st.lists(st.binary(max_size=20), min_size=1, max_size=4).map(resp), min_size=1, max_size=4
).map(b"".join)


@st.composite
def mutated(draw) -> bytes:
    """Valid requests with bytes flipped, dropped, duplicated or spliced with RESP tokens."""
    data = bytearray(draw(valid_requests))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.integers(0, 3))
        pos = draw(st.integers(0, len(data)))
        if op == 0 and pos < len(data):
            data[pos] = draw(st.integers(0, 255))
        elif op == 1 and pos < len(data):
            del data[pos:pos + draw(st.integers(1, 8))]
        elif op == 2:
            data[pos:pos] = draw(st.sampled_from(TOKENS))
        else:
            data[pos:pos] = data[max(pos - 8, 0):pos]
    return bytes(data)


tokens = st.lists(st.sampled_from(TOKENS), max_size=30).map(b"".join)
hostile = st.one_of(st.binary(max_size=200), mutated(), tokens, valid_requests)


def parse_all(data: bytes, cuts: list[int], authenticated: bool = True):
    p = RequestParser(authenticated=authenticated)
    out = []
    prev = 0
    for cut in sorted(set(cuts)) + [len(data)]:
        out += p.feed(data[prev:cut])
        prev = cut
        held = p.held()[0]
        assert held <= len(data), "the parser holds more than it was given"
    return out, p.error


@settings(max_examples=600, **SETTINGS)
@given(data=hostile, cuts=st.lists(st.integers(0, 200), max_size=6), auth=st.booleans())
def test_parser_never_raises_and_any_split_parses_alike(data, cuts, auth):
    t = time.perf_counter()
    whole = parse_all(data, [], auth)
    cuts = [c for c in cuts if c <= len(data)]
    assert parse_all(data, cuts, auth) == whole
    byte_by_byte = parse_all(data, list(range(len(data))), auth)
    assert byte_by_byte == whole
    assert time.perf_counter() - t < 2.0


@pytest.mark.parametrize("header", [b"*2147483647\r\n", b"*1048576\r\n", b"$536870912\r\n",
                                    b"*1\r\n$536870912\r\n", b"*1\r\n" * 10000,
                                    b"*99999\r\n" * 1024])
def test_huge_headers_are_cheap_for_the_parser(header):
    t = time.perf_counter()
    p = RequestParser()
    p.feed(header)
    p.feed(b"x" * 1000)
    assert time.perf_counter() - t < 0.5
    assert p.held()[0] <= len(header) + 1000


def _exchange(port: int, data: bytes, idle: float = 0.15, limit: float = 5.0) -> tuple[bytes, bool]:
    """Send ``data``; collect replies until the server closes or is silent for ``idle``."""
    s = socket.create_connection(("127.0.0.1", port), timeout=limit)
    try:
        s.sendall(data)
        out = b""
        deadline = time.monotonic() + limit
        s.settimeout(idle)
        while time.monotonic() < deadline:
            try:
                chunk = s.recv(65536)
            except TimeoutError:
                return out, False
            except ConnectionResetError:
                return out, True
            if not chunk:
                return out, True
            out += chunk
        raise AssertionError("the server kept talking past the deadline")
    finally:
        s.close()


def _rss_kb(pid_status="/proc/self/status") -> int:
    with open(pid_status) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def test_live_server_survives_hostile_bytes(server, real_redis):
    """Each input on a fresh connection, to trioredis and to Redis: the same replies up to
    the first difference Redis's own timing could explain (none expected), a probe served
    after each, and the process's memory bounded."""
    probe = RawClient(server.port)
    rss0 = _rss_kb()
    seen = []

    @settings(max_examples=120, **SETTINGS)
    @given(data=hostile)
    def run(data):
        ours = _exchange(server.port, data)
        theirs = _exchange(real_redis.port, data)
        if ours != theirs:  # a reply slower than the idle wait on a loaded machine: again, patiently
            ours = _exchange(server.port, data, idle=1.0)
            theirs = _exchange(real_redis.port, data, idle=1.0)
        seen.append(data)
        assert ours == theirs, (data, ours, theirs)
        t = time.perf_counter()
        assert probe.command("PING") == b"+PONG\r\n"
        assert time.perf_counter() - t < 1.0

    try:
        run()
    finally:
        probe.close()
    assert _rss_kb() - rss0 < 200_000, "memory grew by more than 200 MB"
    # the hostile inputs left no clients behind
    c = RawClient(server.port)
    deadline = time.monotonic() + 10
    while True:
        listing = c.command("CLIENT", "LIST")
        if listing.count(b"id=") <= 2:
            break
        assert time.monotonic() < deadline, listing
        time.sleep(0.05)
    c.close()

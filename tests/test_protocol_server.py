"""The protocol through a running trioredis: errors, long pipelines, flow control, fuzzing.

Where a redis-server is installed the same bytes go to it too and the raw answers must match.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from trioredis.commands import registry
from trioredis.protocol.encoder import error_line
from trioredis.protocol.parser import RequestParser

from .helpers import RawClient, ThreadedServer, free_port, have_real_redis, wait_port


def enc(*args) -> bytes:
    args = [a if isinstance(a, bytes) else str(a).encode() for a in args]
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


def answer_until_close(port: int, data: bytes, timeout: float = 10.0) -> bytes:
    """Everything the server sends on a fresh connection after ``data``, up to its close."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        out = b""
        while d := s.recv(65536):
            out += d
        return out
    finally:
        s.close()


# Requests before the bad bytes run and are answered, then the error, then the close.
BAD = [
    (b"*1\r\n$x\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
    (b"*x\r\n", b"-ERR Protocol error: invalid multibulk length\r\n"),
    (b"*3000000000\r\n", b"-ERR Protocol error: invalid multibulk length\r\n"),
    (b"*1\r\n:1\r\n", b"-ERR Protocol error: expected '$', got ':'\r\n"),
    (b"*2\r\n$3\r\nGET\r\n+k\r\n", b"-ERR Protocol error: expected '$', got '+'\r\n"),
    (b'GET "k\r\n', b"-ERR Protocol error: unbalanced quotes in request\r\n"),
    (b"x" * 65537, b"-ERR Protocol error: too big inline request\r\n"),  # no newline may follow
    (b"*1\r\n$536870913\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
]
BEFORE = enc("SET", "k", "v") + enc("INCR", "n") + b"GET k\r\nECHO 'h i'\r\n" + enc("GET", "n")
BEFORE_ANSWER = b"+OK\r\n:1\r\n$1\r\nv\r\n$3\r\nh i\r\n$1\r\n1\r\n"


@pytest.mark.parametrize("bad,error", BAD, ids=[e[28:-2].decode() + str(i) for i, (_, e) in enumerate(BAD)])
def test_error_after_pipelined_requests(server, bad, error):
    """Same packet: the requests before the bad bytes run and are answered first."""
    after = b"" if bad.startswith(b"xxx") else enc("SET", "after", "1")
    assert answer_until_close(server.port, BEFORE + bad + after) == BEFORE_ANSWER + error
    c = RawClient(server.port)
    assert c.command("MGET", "k", "n", "after") == b"*3\r\n$1\r\nv\r\n$1\r\n1\r\n$-1\r\n"
    c.close()


@pytest.mark.parametrize("bad,error", BAD, ids=[e[28:-2].decode() + str(i) for i, (_, e) in enumerate(BAD)])
def test_error_after_pipelined_requests_real_redis(real_redis, bad, error):
    c = RawClient(real_redis.port)
    c.command("FLUSHALL")
    c.close()
    after = b"" if bad.startswith(b"xxx") else enc("SET", "after", "1")
    assert answer_until_close(real_redis.port, BEFORE + bad + after) == BEFORE_ANSWER + error


def test_protocol_error_closes_only_that_connection(server):
    good = RawClient(server.port)
    bad = RawClient(server.port)
    assert good.command("SET", "k", "v") == b"+OK\r\n"
    assert bad.command("PING") == b"+PONG\r\n"
    bad.send(b"*1\r\n$4\r\nPING\r\n*1\r\n$-5\r\n")
    assert bad.read_reply() == b"+PONG\r\n"
    assert bad.read_reply() == b"-ERR Protocol error: invalid bulk length\r\n"
    assert bad.closed()
    assert good.command("GET", "k") == b"$1\r\nv\r\n"
    late = RawClient(server.port)
    assert late.command("PING") == b"+PONG\r\n"
    good.close()
    late.close()
    bad.close()


def test_error_while_another_client_is_mid_request(server):
    """A half-sent request of one client is untouched by another client's protocol error."""
    slow = RawClient(server.port)
    slow.send(b"*2\r\n$4\r\nECHO\r\n$5\r\nhe")
    assert answer_until_close(server.port, b"*-\r\n") == (
        b"-ERR Protocol error: invalid multibulk length\r\n"
    )
    slow.send(b"llo\r\n")
    assert slow.read_reply() == b"$5\r\nhello\r\n"
    slow.close()


def test_unauthenticated_limits():
    with ThreadedServer(requirepass="pw") as s:
        c = RawClient(s.port)
        assert c.command("PING") == b"-NOAUTH Authentication required.\r\n"
        c.send(b"*11\r\n")
        assert c.read_reply() == b"-ERR Protocol error: unauthenticated multibulk length\r\n"
        assert c.closed()
        c = RawClient(s.port)
        c.send(b"*2\r\n$4\r\nECHO\r\n$16385\r\n")
        assert c.read_reply() == b"-ERR Protocol error: unauthenticated bulk length\r\n"
        assert c.closed()
        c = RawClient(s.port)
        assert c.command("AUTH", "pw") == b"+OK\r\n"
        assert c.command("ECHO", b"x" * 20000) == b"$20000\r\n" + b"x" * 20000 + b"\r\n"
        assert c.command("DEL", *[f"k{i}" for i in range(12)]) == b":0\r\n"
        c.close()


# -- long pipelines ---------------------------------------------------------------------------


def _pipeline(port: int, request: bytes, expect: bytes) -> bytes:
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    sender = threading.Thread(target=s.sendall, args=(request,))
    sender.start()
    buf = bytearray()
    try:
        while len(buf) < len(expect):
            d = s.recv(1 << 20)
            if not d:
                break
            buf += d
    finally:
        sender.join()
        s.close()
    return bytes(buf)


def test_pipeline_100k_pings(server):
    n = 100_000
    assert _pipeline(server.port, b"*1\r\n$4\r\nPING\r\n" * n, b"+PONG\r\n" * n) == b"+PONG\r\n" * n


def test_pipeline_10k_echo_1kb_in_order(server):
    values = [(b"%08d" % i) * 125 for i in range(10_000)]
    request = b"".join(enc("ECHO", v) for v in values)
    expect = b"".join(b"$1000\r\n%s\r\n" % v for v in values)
    assert _pipeline(server.port, request, expect) == expect


def test_pipeline_mixed_inline_and_multibulk(server):
    request = b"".join(
        (b"SET k%d v%d\r\n" % (i, i) if i % 2 else enc("SET", f"k{i}", f"v{i}")) for i in range(5000)
    ) + b"".join(enc("GET", f"k{i}") for i in range(5000))
    expect = b"+OK\r\n" * 5000 + b"".join(b"$%d\r\nv%d\r\n" % (len(b"v%d" % i), i) for i in range(5000))
    assert _pipeline(server.port, request, expect) == expect


# -- a client that pipelines without reading --------------------------------------------------


def _rss_kb(pid: int, field: str = "VmRSS") -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise LookupError(field)


@pytest.fixture
def server_process():
    """``python -m trioredis server`` in a subprocess, so its RSS can be measured alone."""
    port = free_port()
    tmp = tempfile.mkdtemp(prefix="trioredis-rss-")
    proc = subprocess.Popen(
        [sys.executable, "-m", "trioredis", "server", "--port", str(port), "--save", "",
         "--appendonly", "no", "--dir", tmp, "--loglevel", "warning"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    )
    try:
        wait_port(port, 30)
        yield proc, port
    finally:
        proc.kill()
        proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs /proc to read RSS")
def test_pipelining_without_reading_keeps_memory_bounded(server_process):
    """100,000 ECHOs of 500 bytes (~50 MB of replies) while the client reads nothing.

    The server stops reading while its replies are unsent, so it holds about one read's worth
    of replies; the kernel's socket buffers hold the rest and the sender blocks. Its peak RSS
    must stay far below what buffering the replies would take.
    """
    proc, port = server_process
    warm = RawClient(port)
    assert warm.command("ECHO", b"x" * 500) == b"$500\r\n" + b"x" * 500 + b"\r\n"
    base = _rss_kb(proc.pid)
    n = 100_000
    request = enc("ECHO", b"y" * 500) * n
    reply = b"$500\r\n" + b"y" * 500 + b"\r\n"
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    sent = [0]

    def send():
        view = memoryview(request)
        while sent[0] < len(view):
            sent[0] += s.send(view[sent[0] : sent[0] + 65536])

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    # Not reading: wait until the sender makes no progress for half a second (it is blocked
    # on full socket buffers), within a deadline.
    deadline = time.monotonic() + 60
    last, still = -1, 0
    while still < 10 and sender.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
        still = still + 1 if sent[0] == last else 0
        last = sent[0]
    assert sender.is_alive(), "the server read all 50 MB while nobody read its replies"
    assert sent[0] < len(request) // 2
    stalled_rss = _rss_kb(proc.pid)
    got = bytearray()
    while len(got) < n * len(reply):
        d = s.recv(1 << 20)
        assert d, "connection closed"
        got += d
    sender.join(30)
    s.close()
    peak = _rss_kb(proc.pid, "VmHWM")
    assert got == reply * n
    assert stalled_rss - base < 20_000, (base, stalled_rss)
    assert peak - base < 40_000, (base, peak)
    assert warm.command("PING") == b"+PONG\r\n"
    warm.close()


# -- fuzzing ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fuzz_server():
    with ThreadedServer() as s:
        yield s


ARGS = st.lists(st.binary(max_size=30), min_size=1, max_size=6)
TOKENS = st.sampled_from(
    [b"*", b"$", b"0", b"1", b"2", b"3", b"-", b"\r\n", b"\r", b"\n", b" ", b"a", b'"', b"'",
     b"\\", b"x", b"\x00", b"+", b":", b"ping", b"echo", b"\xff"]
)
STREAM = st.lists(
    st.one_of(ARGS.map(lambda a: enc(*a)), TOKENS, st.binary(max_size=20)), max_size=15
).map(b"".join)


@settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=STREAM)
def test_fuzz_never_crashes_and_errors_are_answered(fuzz_server, data):
    """Random valid and invalid RESP: each request is answered; a malformed stream gets the
    parser's error and a close; another client is served all along; the server lives."""
    data = b"PING\r\n" + data
    p = RequestParser()
    reqs = p.feed(data)
    assume(all(r[0].lower() in (b"ping", b"echo") or r[0].lower() not in registry.TABLE for r in reqs))
    other = RawClient(fuzz_server.port)
    c = RawClient(fuzz_server.port)
    try:
        c.send(data)
        assert other.command("PING") == b"+PONG\r\n"
        first = c.read_reply()
        assert first == b"+PONG\r\n"
        for _ in reqs[1:]:
            c.read_reply()
        if p.error is not None:
            assert c.read_reply() == error_line(p.error)
            assert c.closed()
        assert other.command("ECHO", "still here") == b"$10\r\nstill here\r\n"
    finally:
        c.close()
        other.close()
    assert fuzz_server.thread.is_alive()


PING_ECHO = st.one_of(
    st.just(enc("PING")), st.just(b"ping\r\n"), st.binary(max_size=20).map(lambda v: enc("ECHO", v))
)
# Requests, then a multibulk that goes wrong somewhere.
MALFORMED = st.tuples(
    st.lists(PING_ECHO, max_size=4).map(b"".join),
    st.lists(TOKENS, min_size=1, max_size=12).map(lambda t: b"*" + b"".join(t)),
).map(b"".join)


@pytest.mark.skipif(not have_real_redis(), reason="redis-server is not installed")
@settings(max_examples=60, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much])
@given(data=MALFORMED)
def test_fuzz_errors_match_real_redis(fuzz_server, real_redis, data):
    """Malformed streams: trioredis and redis-server send the same bytes before closing."""
    data = b"PING\r\n" + data
    p = RequestParser()
    reqs = p.feed(data)
    assume(p.error is not None)
    assume(all(r[0].lower() in (b"ping", b"echo") for r in reqs))
    assert answer_until_close(fuzz_server.port, data) == answer_until_close(real_redis.port, data)

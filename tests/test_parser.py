"""RequestParser (trioredis/protocol/parser.py) against Redis 7.0's own request parser.

The tables below hold what a real redis-server 7.0 answers to each input, recorded byte for
byte; ``test_redis_*`` checks the record against a live redis-server (skipped where none is
installed) and ``test_parser_*`` checks that RequestParser implies the very same bytes: the
requests it returns are answered (PING, ECHO, or Redis's unknown-command error), then its
protocol error, if any, after which the connection is closed.

Limits: the parser checks every header the moment its line is complete, like Redis. There is
no pending-size threshold: ``$536870913`` (over proto-max-bulk-len), ``*2147483648`` and the
unauthenticated limits are refused with no payload sent at all (``test_limits_*``).
"""

from __future__ import annotations

import random
import socket
import time

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from trioredis.protocol.encoder import error_line
from trioredis.protocol.parser import INLINE_MAX, ParseError, RequestParser, split_inline

from .helpers import RealRedis, have_real_redis

# -- helpers ----------------------------------------------------------------------------------


def enc(*args: bytes) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


def feed_chunks(data: bytes, sizes=None, **kw):
    """Feed ``data`` in pieces of the given sizes (cycled); returns (requests, error)."""
    p = RequestParser(**kw)
    out = []
    if sizes is None:
        out += p.feed(data)
    else:
        i = k = 0
        while i < len(data):
            n = sizes[k % len(sizes)]
            out += p.feed(data[i : i + n])
            i += n
            k += 1
    return out, p.error


def feed_split(data: bytes, cuts, **kw):
    p = RequestParser(**kw)
    out = []
    prev = 0
    for c in [*cuts, len(data)]:
        out += p.feed(data[prev:c])
        prev = c
    return out, p.error


def reference(data: bytes, **kw):
    """The Python reference parser alone, no hiredis."""
    p = RequestParser(**kw)
    return p._python(data, 0, False), p.error


def _cstr(b: bytes) -> bytes:
    return b.split(b"\0", 1)[0]


def redis_reply(argv: list[bytes], authenticated: bool = True) -> bytes:
    """What Redis 7.0 answers to the requests these tests send (PING, ECHO, nonsense)."""
    if not authenticated:
        return b"-NOAUTH Authentication required.\r\n"
    name = argv[0].lower()
    if name == b"ping" and len(argv) <= 2:
        return b"+PONG\r\n" if len(argv) == 1 else b"$%d\r\n%s\r\n" % (len(argv[1]), argv[1])
    if name == b"echo" and len(argv) == 2:
        return b"$%d\r\n%s\r\n" % (len(argv[1]), argv[1])
    if name in (b"ping", b"echo"):
        return b"-ERR wrong number of arguments for '%s' command\r\n" % name
    # processCommand's text: C strings (a NUL ends them), 128 bytes, CR/LF made spaces.
    args = b""
    for a in argv[1:]:
        if len(args) >= 128:
            break
        args += b"'" + _cstr(a)[: 128 - len(args)] + b"' "
    msg = b"ERR unknown command '" + _cstr(argv[0])[:128] + b"', with args beginning with: "
    msg += args
    return b"-" + msg.replace(b"\r", b" ").replace(b"\n", b" ") + b"\r\n"


def parser_says(data: bytes, authenticated: bool = True, max_bulk: int = 512 * 1024 * 1024):
    """(bytes Redis would send, whether it closes) as implied by RequestParser."""
    p = RequestParser(max_bulk=max_bulk, authenticated=authenticated)
    reqs = p.feed(data)
    out = b"".join(redis_reply(r, authenticated) for r in reqs)
    if p.error is not None:
        out += error_line(p.error)
    return out, p.error is not None


def redis_says(port: int, data: bytes, expect: bytes, closes: bool):
    """Send ``data`` on a fresh connection; read ``len(expect)`` bytes, then EOF if
    ``closes``, else check that nothing more is waiting and the connection is open.

    Redis writes all the replies of one read in one write, so once they are here an error
    reply would be too (every waiting case starts with a PING for this).
    """
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    buf = b""
    try:
        s.sendall(data)
        while len(buf) < len(expect):
            d = s.recv(65536)
            if not d:
                return buf, True
            buf += d
        if closes:
            while d := s.recv(65536):
                buf += d
            return buf, True
        s.setblocking(False)
        try:
            d = s.recv(65536)
        except BlockingIOError:
            return buf, False
        return buf + d, not d
    except TimeoutError:  # fewer bytes than expected: show what came
        return buf, "timeout"
    finally:
        s.close()


needs_redis = pytest.mark.skipif(
    not have_real_redis(), reason="redis-server is not installed (apt-get install redis-server)"
)


@pytest.fixture(scope="module")
def redis_pass():
    """A redis-server with requirepass, for the unauthenticated limits."""
    if not have_real_redis():
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    rr = RealRedis("--requirepass", "pw")
    yield rr
    rr.stop()


@pytest.fixture(scope="module")
def redis_1mb():
    """A redis-server with the smallest proto-max-bulk-len Redis accepts (1 MB)."""
    if not have_real_redis():
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    rr = RealRedis("--proto-max-bulk-len", "1mb")
    yield rr
    rr.stop()


PONG = b"+PONG\r\n"
P = b"*1\r\n$4\r\nPING\r\n"


def perr(text: str) -> bytes:
    return b"-ERR Protocol error: " + text.encode() + b"\r\n"


# -- what Redis 7.0 answers (recorded from redis-server 7.0.15) -------------------------------
# (id, bytes sent, bytes answered, connection closed after)

CASES = [
    # invalid multibulk length: string2ll is strict, and the count must be <= INT_MAX
    ("mbulk-letters", b"*abc\r\n", perr("invalid multibulk length"), True),
    ("mbulk-empty", b"*\r\n", perr("invalid multibulk length"), True),
    ("mbulk-plus", b"*+1\r\n$1\r\na\r\n", perr("invalid multibulk length"), True),
    ("mbulk-zero-pad", b"*01\r\n$1\r\na\r\n", perr("invalid multibulk length"), True),
    ("mbulk-space", b"*1 \r\n$1\r\na\r\n", perr("invalid multibulk length"), True),
    ("mbulk-minus-zero", b"*-0\r\nPING\r\n", perr("invalid multibulk length"), True),
    ("mbulk-int-max+1", b"*2147483648\r\n", perr("invalid multibulk length"), True),
    ("mbulk-3e9", b"*3000000000\r\n", perr("invalid multibulk length"), True),
    ("mbulk-uint32", b"*4294967295\r\n", perr("invalid multibulk length"), True),
    ("mbulk-overflow", b"*99999999999999999999\r\n", perr("invalid multibulk length"), True),
    ("mbulk-neg-overflow", b"*-99999999999999999999\r\n", perr("invalid multibulk length"), True),
    ("mbulk-int-max-waits", b"PING\r\n*2147483647\r\n", PONG, False),
    # counts <= 0 are skipped, LLONG_MIN included
    ("mbulk-zero-neg-ignored", b"*0\r\n*-1\r\n*-5\r\nPING\r\n", PONG, False),
    ("mbulk-llong-min", b"*-9223372036854775808\r\nPING\r\n", PONG, False),
    # invalid bulk length
    ("bulk-letters", b"*1\r\n$abc\r\n", perr("invalid bulk length"), True),
    ("bulk-empty", b"*1\r\n$\r\n", perr("invalid bulk length"), True),
    ("bulk-nil", b"*1\r\n$-1\r\n", perr("invalid bulk length"), True),
    ("bulk-minus-zero", b"*1\r\n$-0\r\n", perr("invalid bulk length"), True),
    ("bulk-plus", b"*1\r\n$+1\r\na\r\n", perr("invalid bulk length"), True),
    ("bulk-zero-pad", b"*1\r\n$01\r\na\r\n", perr("invalid bulk length"), True),
    ("bulk-space", b"*1\r\n$ 1\r\na\r\n", perr("invalid bulk length"), True),
    ("bulk-over-max", b"*1\r\n$536870913\r\n", perr("invalid bulk length"), True),
    ("bulk-max-waits", b"PING\r\n*1\r\n$536870912\r\n", PONG, False),
    # expected '$': every type byte hiredis knows, and raw bytes (sent as they are)
    ("type-int", b"*1\r\n:1\r\n", perr("expected '$', got ':'"), True),
    ("type-nested", b"*1\r\n*1\r\n$1\r\na\r\n", perr("expected '$', got '*'"), True),
    ("type-status", P + b"*2\r\n$4\r\nECHO\r\n+PING\r\n", PONG + perr("expected '$', got '+'"), True),
    ("type-bignum", b"*2\r\n$4\r\nECHO\r\n(123\r\n", perr("expected '$', got '('"), True),
    ("type-verbatim", b"*2\r\n$4\r\nECHO\r\n=7\r\ntxt:abc\r\n", perr("expected '$', got '='"), True),
    ("type-set", b"*1\r\n~1\r\n$1\r\na\r\n", perr("expected '$', got '~'"), True),
    ("type-push", b"*1\r\n>1\r\n$1\r\na\r\n", perr("expected '$', got '>'"), True),
    ("type-map", b"*1\r\n%1\r\n$1\r\na\r\n$1\r\nb\r\n", perr("expected '$', got '%'"), True),
    ("type-attr", b"*1\r\n|1\r\n$1\r\na\r\n$1\r\nb\r\n", perr("expected '$', got '|'"), True),
    ("type-null", b"*1\r\n_\r\n", perr("expected '$', got '_'"), True),
    ("type-error", b"*1\r\n-ERR\r\n", perr("expected '$', got '-'"), True),
    ("type-letter", b"*1\r\nx\r\n", perr("expected '$', got 'x'"), True),
    ("type-raw-byte", b"*1\r\n\xff\r\n", b"-ERR Protocol error: expected '$', got '\xff'\r\n", True),
    ("type-cr", b"*1\r\n\r\r\n", perr("expected '$', got ' '"), True),
    ("type-lf", b"*1\r\n\n\r\n", perr("expected '$', got ' '"), True),
    # a header line ends at the first CR, whatever follows it; bulk trailers are not checked
    ("cr-then-anything", b"*1\rX$4\r\nPING\r\n", PONG, False),
    ("bulk-trailer-unchecked", b"*1\r\n$4\r\nPINGXY", PONG, False),
    # strchr(): a NUL before the CR (or LF) means "no line yet": Redis waits
    ("nul-in-count", b"PING\r\n*1\x00\r\n", PONG, False),
    ("nul-in-bulk-len", b"PING\r\n*1\r\n$\x001\r\n", PONG, False),
    ("nul-at-type", b"PING\r\n*1\r\n\x00\r\n", PONG, False),
    ("nul-in-inline", b"PING\r\nPING\x00\r\n", PONG, False),
    # top-level bytes other than '*' start an inline request
    ("inline-dollar", b"$-1\r\n", redis_reply([b"$-1"]), False),
    ("inline-underscore", b"_\r\n", redis_reply([b"_"]), False),
    ("inline-empty-lines", b"\r\n\n  \r\n\t\nPING\r\n", PONG, False),
    ("inline-lf-only", b"PING\nPING\n", PONG * 2, False),
    ("inline-quotes", b'ECHO "a b"\r\n', b"$3\r\na b\r\n", False),
    ("inline-single-quotes", b"ECHO 'a\\'b'\r\n", b"$3\r\na'b\r\n", False),
    ("inline-hex", b'ECHO "\\x41\\x4g\\x"\r\n', b"$5\r\nAx4gx\r\n", False),
    ("inline-escapes", b'ECHO "\\n\\r\\t\\b\\a\\z"\r\n', b"$6\r\n\n\r\t\x08\x07z\r\n", False),
    ("inline-quote-mid-token", b'ECHO a"b c"\r\n', b"$4\r\nab c\r\n", False),
    ("inline-vtab-in-token", b"ECHO a\x0bb\r\n", b"$3\r\na\x0bb\r\n", False),
    ("inline-ff-in-token", b"ECHO a\x0cb\r\n", b"$3\r\na\x0cb\r\n", False),
    ("inline-vtab-leading", b"ECHO \x0ba\r\n", b"$1\r\na\r\n", False),
    ("inline-cr-inside", b"ECHO a\rb\r\n", redis_reply([b"ECHO", b"a", b"b"]), False),
    ("unbalanced-double", b'ECHO "a\r\n', perr("unbalanced quotes in request"), True),
    ("unbalanced-single", b"ECHO 'a\r\n", perr("unbalanced quotes in request"), True),
    ("unbalanced-escaped", b'ECHO "a\\"\r\n', perr("unbalanced quotes in request"), True),
    ("quote-then-letter", b'ECHO "a"b\r\n', perr("unbalanced quotes in request"), True),
    ("squote-then-letter", b"ECHO 'a'b\r\n", perr("unbalanced quotes in request"), True),
    # requests before the bad bytes are answered first
    ("pipeline-then-error", b"PING\r\n" + P + b"*x\r\n" + P, PONG * 2 + perr("invalid multibulk length"), True),
    ("mixed-inline-multibulk", b"PING\r\n" + P + b"ECHO x\r\n" + enc(b"ECHO", b"y"), PONG * 2 + b"$1\r\nx\r\n$1\r\ny\r\n", False),
    # the 64 KB line limits: more than PROTO_INLINE_MAX_SIZE unparsed bytes without a newline
    ("inline-64k-waits", b"PING\r\n" + b"a" * INLINE_MAX, PONG, False),
    ("inline-64k+1", b"a" * (INLINE_MAX + 1), perr("too big inline request"), True),
    ("inline-nul-64k+1", b"a\x00\n" + b"b" * (INLINE_MAX - 2), perr("too big inline request"), True),
    ("mbulk-count-64k-waits", b"PING\r\n*" + b"1" * (INLINE_MAX - 1), PONG, False),
    ("mbulk-count-64k+1", b"*" + b"1" * INLINE_MAX, perr("too big mbulk count string"), True),
    ("bulk-count-64k-waits", b"PING\r\n*1\r\n$" + b"1" * (INLINE_MAX - 1), PONG, False),
    ("bulk-count-64k+1", b"*1\r\n$" + b"1" * INLINE_MAX, perr("too big bulk count string"), True),
]

# With requirepass and no AUTH yet: at most 10 arguments of at most 16384 bytes.
UNAUTH_CASES = [
    ("unauth-11-args", b"*11\r\n", perr("unauthenticated multibulk length"), True),
    ("unauth-10-args-waits", b"PING\r\n*10\r\n", b"-NOAUTH Authentication required.\r\n", False),
    ("unauth-bulk-16385", b"*1\r\n$16385\r\n", perr("unauthenticated bulk length"), True),
    ("unauth-bulk-16384-waits", b"PING\r\n*1\r\n$16384\r\n", b"-NOAUTH Authentication required.\r\n", False),
    ("unauth-int-max-first", b"*2147483648\r\n", perr("invalid multibulk length"), True),
    ("unauth-max-bulk-first", b"*1\r\n$536870913\r\n", perr("invalid bulk length"), True),
    ("unauth-after-request", P + b"*11\r\n", b"-NOAUTH Authentication required.\r\n" + perr("unauthenticated multibulk length"), True),
    ("unauth-inline-is-free", b"PING " + b"a " * 20 + b"\r\n", b"-NOAUTH Authentication required.\r\n", False),
]

# proto-max-bulk-len 1mb (Redis's minimum)
MAXBULK_CASES = [
    ("1mb-over", b"*1\r\n$1048577\r\n", perr("invalid bulk length"), True),
    ("1mb-exact-waits", b"PING\r\n*1\r\n$1048576\r\n", PONG, False),
]


def _ids(cases):
    return [c[0] for c in cases]


@needs_redis
@pytest.mark.parametrize("name,data,answer,closed", CASES, ids=_ids(CASES))
def test_redis_answers(real_redis, name, data, answer, closed):
    assert redis_says(real_redis.port, data, answer, closed) == (answer, closed)


@pytest.mark.parametrize("name,data,answer,closed", CASES, ids=_ids(CASES))
def test_parser_answers(name, data, answer, closed):
    assert parser_says(data) == (answer, closed)


@pytest.mark.parametrize("name,data,answer,closed", UNAUTH_CASES, ids=_ids(UNAUTH_CASES))
def test_redis_answers_unauthenticated(redis_pass, name, data, answer, closed):
    assert redis_says(redis_pass.port, data, answer, closed) == (answer, closed)


@pytest.mark.parametrize("name,data,answer,closed", UNAUTH_CASES, ids=_ids(UNAUTH_CASES))
def test_parser_answers_unauthenticated(name, data, answer, closed):
    assert parser_says(data, authenticated=False) == (answer, closed)


@pytest.mark.parametrize("name,data,answer,closed", MAXBULK_CASES, ids=_ids(MAXBULK_CASES))
def test_redis_answers_max_bulk(redis_1mb, name, data, answer, closed):
    assert redis_says(redis_1mb.port, data, answer, closed) == (answer, closed)


@pytest.mark.parametrize("name,data,answer,closed", MAXBULK_CASES, ids=_ids(MAXBULK_CASES))
def test_parser_answers_max_bulk(name, data, answer, closed):
    assert parser_says(data, max_bulk=1024 * 1024) == (answer, closed)


@pytest.mark.parametrize("name,data,answer,closed", CASES + UNAUTH_CASES, ids=_ids(CASES + UNAUTH_CASES))
def test_answers_do_not_depend_on_the_split(name, data, answer, closed):
    """Same requests and error whichever way the stream is cut (for inputs under 64 KB)."""
    if len(data) > 4096:
        pytest.skip("the 64 KB limits depend on how much is buffered, in Redis too")
    auth = not name.startswith("unauth")
    whole = feed_chunks(data, authenticated=auth)
    assert feed_chunks(data, [1], authenticated=auth) == whole
    for cut in range(1, len(data)):
        assert feed_split(data, [cut], authenticated=auth) == whole
    assert reference(data, authenticated=auth) == whole


# -- limits -----------------------------------------------------------------------------------


def test_limits_bulk_refused_at_the_header():
    """No payload is needed: the header alone is refused (threshold: 0 pending bytes)."""
    p = RequestParser(max_bulk=1024 * 1024)
    assert p.feed(b"*2\r\n$3\r\nSET\r\n$1048577\r\n") == []
    assert p.error == "ERR Protocol error: invalid bulk length"
    p = RequestParser(max_bulk=1024 * 1024)
    assert p.feed(b"*2\r\n$3\r\nSET\r\n$1048576\r\n") == []
    assert p.error is None
    # ... also when the header arrives after a run of complete requests, a byte at a time
    p = RequestParser(max_bulk=1024 * 1024)
    out = []
    for b in P * 3 + b"*2\r\n$3\r\nSET\r\n$1048577\r\n":
        out += p.feed(bytes([b]))
    assert out == [[b"PING"]] * 3 and p.error == "ERR Protocol error: invalid bulk length"


def test_limits_complete_bulk_over_a_small_max_bulk():
    """A whole request in one read may not smuggle a bulk over max_bulk past the check."""
    assert feed_chunks(enc(b"ECHO", b"x" * 11), max_bulk=10) == (
        [],
        "ERR Protocol error: invalid bulk length",
    )
    assert feed_chunks(enc(b"ECHO", b"x" * 10) * 100, max_bulk=10) == ([[b"ECHO", b"x" * 10]] * 100, None)


def test_limits_multibulk_count_refused_at_the_header():
    p = RequestParser()
    assert p.feed(b"*2147483648\r\n") == [] and p.error.endswith("invalid multibulk length")


def test_limits_unauthenticated_then_authenticated():
    p = RequestParser(authenticated=False)
    assert p.feed(enc(b"AUTH", b"pw")) == [[b"AUTH", b"pw"]]
    p.set_authenticated(True)
    big = enc(*[b"a"] * 11) + enc(b"ECHO", b"x" * 20000)
    assert p.feed(big) == [[b"a"] * 11, [b"ECHO", b"x" * 20000]]
    assert p.error is None
    p.set_authenticated(False)
    assert p.feed(b"*11\r\n") == [] and p.error.endswith("unauthenticated multibulk length")


def test_after_an_error_nothing_more_is_parsed():
    p = RequestParser()
    assert p.feed(P + b"*x\r\n" + P) == [[b"PING"]]
    assert p.feed(P) == [] and p.feed(b"PING\r\n") == []
    assert p.error == "ERR Protocol error: invalid multibulk length"


def test_empty_feed():
    p = RequestParser()
    assert p.feed(b"") == []
    assert p.feed(b"*1\r\n$4\r\nPI") == []
    assert p.feed(b"") == []
    assert p.feed(b"NG\r\n") == [[b"PING"]]


# -- hiredis must never see what it would misread or choke on --------------------------------


@pytest.mark.parametrize(
    "data,requests",
    [
        (b"*2147483647\r\n", []),
        (b"*4294967295\r\n", []),
        (P + b"*2147483647\r\n$1\r\na\r\n", [[b"PING"]]),
        (P + b"*1\r\n~2147483647\r\n", [[b"PING"]]),
        (P + b"*1\r\n>2147483647\r\n", [[b"PING"]]),
        (P + b"*1\r\n|100000000\r\n", [[b"PING"]]),
        (P + b"~2147483647\r\n", [[b"PING"], [b"~2147483647"]]),  # top level: inline
        (b"*1\r\n" + b"*999\r\n" * 1023, []),
        (b"*1\r\n" + b"*99999\r\n" * 1023, []),
        (b"*1\r\n" + b"~99999\r\n" * 1023, []),
    ],
    ids=["int-max", "uint32", "after-request", "set", "push", "attr", "inline", "nested-999",
         "nested-99999", "nested-sets"],
)
def test_huge_announced_aggregates_cost_nothing(data, requests):
    """hiredis preallocates announced lists; freeing 2**31 slots took ~6 s, 2**32 raised
    MemoryError (and killed the server). The parser must stay fast, and so must dropping it."""
    start = time.monotonic()
    for chunks in (None, [7]):
        out, err = feed_chunks(data, chunks)
        assert out == requests
        assert err is None or err.startswith("ERR Protocol error: ")
    assert time.monotonic() - start < 1.0


@pytest.mark.parametrize(
    "data,requests",
    [
        (P + b"*2\r\n$4\r\nECHO\r\n+PING\r\n", [[b"PING"]]),
        (b"*2\r\n$4\r\nECHO\r\n(123\r\n", []),
        (b"*2\r\n$4\r\nECHO\r\n=7\r\ntxt:abc\r\n", []),
        (b"*2\r\n$4\r\nECHO\r\n:1\r\n", []),
        (b"*2\r\n$4\r\nECHO\r\n#t\r\n", []),
        (b"*2\r\n$4\r\nECHO\r\n,1.5\r\n", []),
        (b"*2\r\n$4\r\nECHO\r\n$-1\r\n", []),
    ],
)
def test_elements_hiredis_would_accept_are_refused(data, requests):
    """hiredis reads these as strings, ints, nils...; Redis refuses them."""
    out, err = feed_chunks(data)
    assert out == requests
    assert err is not None and ("expected '$'" in err or err.endswith("invalid bulk length"))


def test_top_level_non_arrays_are_inline():
    assert feed_chunks(P + b"$-1\r\n:1\r\n+OK\r\n_\r\n") == (
        [[b"PING"], [b"$-1"], [b":1"], [b"+OK"], [b"_"]],
        None,
    )


# -- splitting --------------------------------------------------------------------------------

# Every kind of request, each taking a different path through the parser.
SMALL_PIPELINE = (
    P
    + b"*0\r\n*-1\r\n"
    + b"\r\n"
    + b"SET k 'a b' \"\\x00\\r\\n\"\r\n"
    + enc(b"SET", b"key", b"*1\r\n$3\r\nfoo\r\n")
    + enc(b"")
    + b"  ping  \n"
    + enc(b"+", b"(", b"=", b"~", b">", b"|", b"*1234")
    + P * 10
)
SMALL_REQUESTS = (
    [[b"PING"], [b"SET", b"k", b"a b", b"\x00\r\n"], [b"SET", b"key", b"*1\r\n$3\r\nfoo\r\n"]]
    + [[b""], [b"ping"], [b"+", b"(", b"=", b"~", b">", b"|", b"*1234"]]
    + [[b"PING"]] * 10
)
BIG = bytes(range(256)) * 40
PIPELINE = SMALL_PIPELINE + enc(b"ECHO", BIG) + enc(*[b"%d" % i for i in range(1200)]) + P * 50
PIPELINE_REQUESTS = (
    SMALL_REQUESTS + [[b"ECHO", BIG], [b"%d" % i for i in range(1200)]] + [[b"PING"]] * 50
)


def test_pipeline_whole():
    assert feed_chunks(PIPELINE) == (PIPELINE_REQUESTS, None)
    assert reference(PIPELINE) == (PIPELINE_REQUESTS, None)


def test_pipeline_byte_by_byte():
    assert feed_chunks(PIPELINE, [1]) == (PIPELINE_REQUESTS, None)


def test_pipeline_split_at_every_boundary():
    for cut in range(1, len(SMALL_PIPELINE)):
        assert feed_split(SMALL_PIPELINE, [cut]) == (SMALL_REQUESTS, None), cut
    for cut in range(1, len(SMALL_PIPELINE) - 1, 7):
        for cut2 in range(cut + 1, len(SMALL_PIPELINE), 5):
            assert feed_split(SMALL_PIPELINE, [cut, cut2]) == (SMALL_REQUESTS, None), (cut, cut2)


def test_pipeline_random_chunks():
    rng = random.Random(1234)
    for _ in range(100):
        cuts = sorted(rng.sample(range(1, len(PIPELINE)), rng.randint(1, 40)))
        assert feed_split(PIPELINE, cuts) == (PIPELINE_REQUESTS, None), cuts


def test_large_bulk_over_many_feeds():
    value = bytes(random.Random(5).getrandbits(8) for _ in range(1 << 16)) * 48  # 3 MB
    data = P + enc(b"SET", b"k", value) + P
    for sizes in ([65536], [7919], [1, 100000, 3, 65536]):
        assert feed_chunks(data, sizes) == ([[b"PING"], [b"SET", b"k", value], [b"PING"]], None)


def test_large_bulk_one_byte_at_a_time():
    value = b"v" * 100_000
    assert feed_chunks(enc(b"ECHO", value) + P, [1]) == ([[b"ECHO", value], [b"PING"]], None)


def test_many_arguments_split():
    args = [b"%d" % i for i in range(5000)]
    data = enc(b"SADD", b"s", *args)
    for sizes in (None, [1000], [3, 5, 7]):
        assert feed_chunks(data, sizes) == ([[b"SADD", b"s", *args]], None)


def test_long_pipeline_never_on_a_boundary():
    """100,000 PINGs in 64 KB reads: almost no read ends on a request boundary."""
    data = P * 100_000
    out, err = feed_chunks(data, [65536])
    assert err is None and len(out) == 100_000 and out[-1] == [b"PING"]


# -- split_inline (sdssplitargs) ---------------------------------------------------------------


@pytest.mark.parametrize(
    "line,args",
    [
        (b"", []),
        (b"   \t ", []),
        (b"a b  c", [b"a", b"b", b"c"]),
        (b'"a b" c', [b"a b", b"c"]),
        (b'""', [b""]),
        (b"''", [b""]),
        (b'"\\x41\\x42"', [b"AB"]),
        (b'"\\x4"', [b"x4"]),
        (b'"\\xZZ"', [b"xZZ"]),
        (b'"\\n\\r\\t\\b\\a\\"\\\\"', [b'\n\r\t\x08\x07"\\']),
        (b"'a\\'b'", [b"a'b"]),
        (b"'a\\nb'", [b"a\\nb"]),
        (b'a"b c"d', None),
        (b'a"b c" d', [b"ab c", b"d"]),
        (b"a\x0bb \x0cc", [b"a\x0bb", b"c"]),
        (b"a\x00b c", [b"a"]),
        (b'"a\x00b"', None),
        (b'"a', None),
        (b"'a", None),
        (b'"a"b', None),
        (b'"a"\x0bb', [b"a", b"b"]),
    ],
)
def test_split_inline(line, args):
    if args is None:
        with pytest.raises(ParseError, match="unbalanced quotes in request"):
            split_inline(line)
    else:
        assert split_inline(line) == args


# -- properties ---------------------------------------------------------------------------------

ARGS = st.lists(st.binary(max_size=40), min_size=1, max_size=8)


def quote_inline(args: list[bytes]) -> bytes:
    return b" ".join(b'"' + b"".join(b"\\x%02x" % c for c in a) + b'"' for a in args) + b"\r\n"


@st.composite
def streams(draw):
    """Random valid requests, each multibulk or inline, plus the places to cut them."""
    reqs = draw(st.lists(ARGS, min_size=1, max_size=25))
    parts = [quote_inline(r) if draw(st.booleans()) else enc(*r) for r in reqs]
    data = b"".join(parts)
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(data) - 1)), max_size=20)))
    return reqs, data, [c for c in cuts if c < len(data)]


@settings(max_examples=200, deadline=None, database=None)
@given(streams())
def test_valid_requests_parse_back_exactly(case):
    reqs, data, cuts = case
    assert feed_split(data, cuts) == (reqs, None)


@settings(max_examples=100, deadline=None, database=None)
@given(st.lists(ARGS, min_size=1, max_size=200), st.integers(1, 300))
def test_valid_multibulk_pipelines_any_chunk_size(reqs, size):
    data = b"".join(enc(*r) for r in reqs)
    assert feed_chunks(data, [size]) == (reqs, None)


TOKENS = st.sampled_from(
    [b"*", b"$", b"0", b"1", b"2", b"3", b"-", b"\r\n", b"\r", b"\n", b" ", b"a", b"b", b'"',
     b"'", b"\\", b"x", b"\x00", b"+", b"~", b":", b"9999", b"ping", b"\xff", b"\t"]
)
GARBAGE = st.one_of(
    st.binary(max_size=200),
    st.lists(TOKENS, max_size=60).map(b"".join),
    st.lists(st.one_of(TOKENS, ARGS.map(lambda a: enc(*a))), max_size=12).map(b"".join),
)


@settings(max_examples=250, deadline=2000, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(GARBAGE, st.sets(st.integers(1, 400), max_size=10), st.booleans())
def test_garbage_never_raises_and_ignores_the_split(data, cuts, auth):
    whole = feed_chunks(data, authenticated=auth)
    reqs, err = whole
    assert err is None or err.startswith("ERR Protocol error: ")
    assert all(isinstance(r, list) and r and all(type(a) is bytes for a in r) for r in reqs)
    assert feed_split(data, sorted(c for c in cuts if c < len(data)), authenticated=auth) == whole
    assert feed_chunks(data, [1], authenticated=auth) == whole
    assert reference(data, authenticated=auth) == whole


@pytest.fixture(scope="module")
def redis_commands(real_redis):
    """Names of the real server's commands: random requests must not run one."""
    s = socket.create_connection(("127.0.0.1", real_redis.port), timeout=10)
    s.sendall(b"COMMAND LIST\r\n")
    buf = b""
    while not buf.endswith(b"\r\n") or buf.count(b"\r\n") < 1 + 2 * int(buf[1 : buf.index(b"\r")]):
        buf += s.recv(65536)
    s.close()
    return {line.lower() for line in buf.split(b"\r\n")[2::2]}


@needs_redis
@settings(max_examples=250, deadline=None, database=None, derandomize=True)
@given(data=GARBAGE)
def test_garbage_against_real_redis(real_redis, redis_commands, data):
    """Random bytes: RequestParser implies exactly Redis's replies, error and close."""
    data = b"PING\r\n" + data
    reqs, _ = feed_chunks(data)
    assume(all(r[0].lower() in (b"ping", b"echo") or r[0].lower() not in redis_commands for r in reqs))
    answer, closed = parser_says(data)
    assert redis_says(real_redis.port, data, answer, closed) == (answer, closed)



TYPE_BYTES = st.sampled_from(list(b"$+(=~>|%:_,#!-*"))
TAILS = st.sampled_from([b"", b"$", b"$3\r\n", b"%1\r\n", b":5\r\n", b"+x\r\n", b"_\r\n",
                         b"$3\r\nab", b"*1\r\n", b"\r\n", b"PING\r\n", b"~2\r\n", b"#t\r\n"])


LONE_ARGS = st.lists(st.sampled_from([b"", b"a", b"PING", b"k" * 30, b"12", b"$", b"-1", b"%"]),
                    min_size=1, max_size=6)


@settings(max_examples=300, deadline=None, database=None)
@given(LONE_ARGS, st.integers(0, 5), TYPE_BYTES, TAILS, st.booleans())
def test_lone_request_fast_path_matches_the_reference(args, at, type_byte, tail, then_ping):
    """One small request per read (the lone-request fast path), maybe with an element written
    as a one-line element of another type, and bytes after it that could leave hiredis mid-reply:
    the result, and what the next read parses, equal the reference parser's."""
    parts = [b"$%d\r\n%s\r\n" % (len(a), a) for a in args]
    if at < len(args):  # element ``at`` as a one-line element of another type
        parts[at] = bytes([type_byte]) + args[at].replace(b"\r", b"").replace(b"\n", b"") + b"\r\n"
    data = b"*%d\r\n" % len(args) + b"".join(parts)
    data += tail
    nxt = enc(b"PING") if then_ping else b"PING\r\n"
    p = RequestParser()
    got = p.feed(data)
    got += p.feed(nxt)
    assert (got, p.error) == reference(data + nxt)


INLINE_TOKENS = st.sampled_from([b"PING", b"a", b" ", b"  ", b"\t", b"\r", b"\r\n", b"\n", b"*",
                                 b"$3", b"\x0b", b"\x0c", b'"', b"'", b"\x00", b"x" * 20])


@settings(max_examples=300, deadline=None, database=None)
@given(st.lists(INLINE_TOKENS, min_size=1, max_size=40).map(b"".join))
def test_whole_inline_lines_fast_path_matches_the_reference(body):
    """Reads of whole inline lines take a split-based fast path; it must read them exactly
    as the reference (sdssplitargs) parser does, whatever the whitespace, and hand anything
    with quotes, NUL, \\v, \\f or a line starting with '*' to the reference path."""
    data = body + b"\n"
    assume(data[0] != 42)
    p = RequestParser()
    assert (p.feed(data), p.error) == reference(data)

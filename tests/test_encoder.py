"""Reply encoding (trioredis/protocol/encoder.py) in RESP2 and RESP3, byte for byte.

The expected bytes are Redis 7.0's (networking.c addReply*). ``test_redis_*`` cross-check them
against a live redis-server through ``DEBUG PROTOCOL <type>`` and ZSCORE (doubles).
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trioredis.protocol.encoder import ENCODERS, encode2, encode3, error_line, format_double
from trioredis.protocol.replies import NULL_ARRAY, OK, QUEUED, ErrorReply, Push, Raw, Verbatim

from .helpers import RawClient, RealRedis, have_real_redis

INF = float("inf")

# (value, RESP2, RESP3)
SCALARS = [
    (b"", b"$0\r\n\r\n", b"$0\r\n\r\n"),
    (b"hello", b"$5\r\nhello\r\n", b"$5\r\nhello\r\n"),
    (b"a\r\nb\x00", b"$5\r\na\r\nb\x00\r\n", b"$5\r\na\r\nb\x00\r\n"),
    (bytearray(b"ba"), b"$2\r\nba\r\n", b"$2\r\nba\r\n"),
    (memoryview(b"mv"), b"$2\r\nmv\r\n", b"$2\r\nmv\r\n"),
    (OK, b"+OK\r\n", b"+OK\r\n"),
    (QUEUED, b"+QUEUED\r\n", b"+QUEUED\r\n"),
    ("PONG", b"+PONG\r\n", b"+PONG\r\n"),
    ("", b"+\r\n", b"+\r\n"),
    (0, b":0\r\n", b":0\r\n"),
    (-1, b":-1\r\n", b":-1\r\n"),
    (-2, b":-2\r\n", b":-2\r\n"),
    (1023, b":1023\r\n", b":1023\r\n"),
    (1024, b":1024\r\n", b":1024\r\n"),
    (2**63 - 1, b":9223372036854775807\r\n", b":9223372036854775807\r\n"),
    (-(2**63), b":-9223372036854775808\r\n", b":-9223372036854775808\r\n"),
    (None, b"$-1\r\n", b"_\r\n"),
    (NULL_ARRAY, b"*-1\r\n", b"_\r\n"),
    (True, b":1\r\n", b"#t\r\n"),
    (False, b":0\r\n", b"#f\r\n"),
    (1.5, b"$3\r\n1.5\r\n", b",1.5\r\n"),
    (3.141, b"$5\r\n3.141\r\n", b",3.141\r\n"),
    (0.1, b"$19\r\n0.10000000000000001\r\n", b",0.10000000000000001\r\n"),
    (10.0, b"$2\r\n10\r\n", b",10\r\n"),
    (1e17, b"$5\r\n1e+17\r\n", b",1e+17\r\n"),
    (123456789012345678.0, b"$22\r\n1.2345678901234568e+17\r\n", b",1.2345678901234568e+17\r\n"),
    (5e-324, b"$23\r\n4.9406564584124654e-324\r\n", b",4.9406564584124654e-324\r\n"),
    (-0.0, b"$2\r\n-0\r\n", b",-0\r\n"),
    (INF, b"$3\r\ninf\r\n", b",inf\r\n"),
    (-INF, b"$4\r\n-inf\r\n", b",-inf\r\n"),
    (Verbatim(b"a\nb"), b"$3\r\na\nb\r\n", b"=7\r\ntxt:a\nb\r\n"),
    (Verbatim(b""), b"$0\r\n\r\n", b"=4\r\ntxt:\r\n"),
    (Raw(b"+RAW\r\n"), b"+RAW\r\n", b"+RAW\r\n"),
    (ErrorReply("ERR boom"), b"-ERR boom\r\n", b"-ERR boom\r\n"),
    (ErrorReply("ERR a\r\nb\nc\rd"), b"-ERR a  b c d\r\n", b"-ERR a  b c d\r\n"),
    (ErrorReply("ERR caf\u00e9"), b"-ERR caf\xc3\xa9\r\n", b"-ERR caf\xc3\xa9\r\n"),
]


@pytest.mark.parametrize("value,resp2,resp3", SCALARS, ids=[repr(s[0])[:30] for s in SCALARS])
def test_scalars(value, resp2, resp3):
    assert encode2(value) == resp2
    assert encode3(value) == resp3
    assert ENCODERS[2](value) == resp2 and ENCODERS[3](value) == resp3


AGGREGATES = [
    ([], b"*0\r\n", b"*0\r\n"),
    ((), b"*0\r\n", b"*0\r\n"),
    ([b"a", 1, None], b"*3\r\n$1\r\na\r\n:1\r\n$-1\r\n", b"*3\r\n$1\r\na\r\n:1\r\n_\r\n"),
    (
        [[b"x", [1.5, []]], NULL_ARRAY, "OK"],
        b"*3\r\n*2\r\n$1\r\nx\r\n*2\r\n$3\r\n1.5\r\n*0\r\n*-1\r\n+OK\r\n",
        b"*3\r\n*2\r\n$1\r\nx\r\n*2\r\n,1.5\r\n*0\r\n_\r\n+OK\r\n",
    ),
    (
        {b"k": b"v", b"n": 2},
        b"*4\r\n$1\r\nk\r\n$1\r\nv\r\n$1\r\nn\r\n:2\r\n",
        b"%2\r\n$1\r\nk\r\n$1\r\nv\r\n$1\r\nn\r\n:2\r\n",
    ),
    ({}, b"*0\r\n", b"%0\r\n"),
    (
        {b"m": {b"in": [True]}},
        b"*2\r\n$1\r\nm\r\n*2\r\n$2\r\nin\r\n*1\r\n:1\r\n",
        b"%1\r\n$1\r\nm\r\n%1\r\n$2\r\nin\r\n*1\r\n#t\r\n",
    ),
    ({b"only"}, b"*1\r\n$4\r\nonly\r\n", b"~1\r\n$4\r\nonly\r\n"),
    (frozenset([7]), b"*1\r\n:7\r\n", b"~1\r\n:7\r\n"),
    (set(), b"*0\r\n", b"~0\r\n"),
    (
        Push([b"message", b"ch", b"hi"]),
        b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n",
        b">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n",
    ),
    (
        Push([b"pong", b""]),
        b"*2\r\n$4\r\npong\r\n$0\r\n\r\n",
        b">2\r\n$4\r\npong\r\n$0\r\n\r\n",
    ),
    (
        [ErrorReply("ERR x"), b"ok", Verbatim(b"v")],
        b"*3\r\n-ERR x\r\n$2\r\nok\r\n$1\r\nv\r\n",
        b"*3\r\n-ERR x\r\n$2\r\nok\r\n=5\r\ntxt:v\r\n",
    ),
    ([INF, -INF], b"*2\r\n$3\r\ninf\r\n$4\r\n-inf\r\n", b"*2\r\n,inf\r\n,-inf\r\n"),
]


@pytest.mark.parametrize("value,resp2,resp3", AGGREGATES, ids=[repr(a[0])[:40] for a in AGGREGATES])
def test_aggregates(value, resp2, resp3):
    assert encode2(value) == resp2
    assert encode3(value) == resp3


def test_set_and_dict_keep_their_iteration_order():
    d = {b"z": 1, b"a": 2, b"m": 3}
    assert encode3(d) == b"%3\r\n" + b"".join(encode3(k) + encode3(v) for k, v in d.items())
    s = {b"x", b"y", b"z"}
    assert encode2(s) == b"*3\r\n" + b"".join(encode2(m) for m in s)


def test_small_integer_cache_edges():
    for i in range(-3, 1030):
        assert encode2(i) == b":%d\r\n" % i == encode3(i)


def test_format_double():
    assert format_double(1.0) == b"1"
    assert format_double(-2.5) == b"-2.5"
    assert format_double(INF) == b"inf" and format_double(-INF) == b"-inf"
    assert format_double(float("nan")) == b"nan"
    assert format_double(1 / 3) == b"0.33333333333333331"
    assert format_double(1e-5) == b"1.0000000000000001e-05"
    assert format_double(2.0**53) == b"9007199254740992"
    assert format_double(1.7976931348623157e308) == b"1.7976931348623157e+308"


@given(st.floats(allow_nan=False))
@settings(max_examples=300, database=None)
def test_format_double_round_trips(x):
    """%.17g keeps every bit of a double (Redis relies on it for ZSCORE and friends)."""
    text = format_double(x)
    assert float(text) == x and math.copysign(1, float(text)) == math.copysign(1, x)
    assert encode3(x) == b"," + text + b"\r\n"
    assert encode2(x) == b"$%d\r\n%s\r\n" % (len(text), text)


def test_error_line():
    assert error_line("ERR x") == b"-ERR x\r\n"
    assert error_line("ERR a\nb\r\nc") == b"-ERR a b  c\r\n"
    # a raw byte carried as a surrogate escape goes out as that byte (the parser's
    # "expected '$', got '\xff'")
    assert error_line("ERR got '\udcff'") == b"-ERR got '\xff'\r\n"
    assert error_line("ERR \ud800 lone") == b"-ERR ? lone\r\n"


def test_unencodable_types_raise():
    for bad in (object(), 1j, [object()], {b"k": object()}):
        with pytest.raises(TypeError):
            encode2(bad)
        with pytest.raises(TypeError):
            encode3(bad)


REPLY = st.recursive(
    st.one_of(
        st.binary(max_size=20),
        st.integers(-(2**63), 2**63 - 1),
        st.none(),
        st.booleans(),
        st.floats(allow_nan=False),
        st.sampled_from(["OK", "QUEUED", "PONG"]),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.binary(max_size=5), inner, max_size=3),
        st.lists(inner, max_size=3).map(Push),
    ),
    max_leaves=20,
)


@given(REPLY)
@settings(max_examples=200, database=None)
def test_encodings_parse_back(value):
    """Every encoding is valid RESP that hiredis reads back to an equivalent value."""
    import hiredis

    r2 = hiredis.Reader()
    r2.feed(encode2(value))
    assert r2.gets() == _resp2_view(value)
    incomplete = object()  # RESP3 "#f" parses to False, so False cannot mean "need more"
    r3 = hiredis.Reader(notEnoughData=incomplete)
    r3.feed(encode3(value))
    assert r3.gets() is not incomplete and not r3.has_data()


def _resp2_view(v):
    """What a RESP2 client sees: strings as bytes, bools as 0/1, maps flattened, doubles as bulks."""
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, str):
        return v.encode()
    if isinstance(v, float):
        return format_double(v)
    if isinstance(v, dict):
        return [x for kv in v.items() for x in map(_resp2_view, kv)]
    if isinstance(v, list):
        return [_resp2_view(x) for x in v]
    return v


# -- against a live redis-server -------------------------------------------------------------


@pytest.fixture(scope="module")
def debug_redis():
    if not have_real_redis():
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    rr = RealRedis("--enable-debug-command", "yes")
    yield rr
    rr.stop()


# DEBUG PROTOCOL <type> in debug.c, and the value it replies with
DEBUG_PROTOCOL = [
    ("string", b"Hello World"),
    ("integer", 12345),
    ("double", 3.141),
    ("null", None),
    ("array", [0, 1, 2]),
    ("set", {0, 1, 2}),
    ("map", {0: False, 1: True, 2: False}),
    ("true", True),
    ("false", False),
    ("verbatim", Verbatim(b"This is a verbatim\nstring")),
]


@pytest.mark.parametrize("resp", [2, 3])
@pytest.mark.parametrize("name,value", DEBUG_PROTOCOL, ids=[d[0] for d in DEBUG_PROTOCOL])
def test_redis_debug_protocol(debug_redis, resp, name, value):
    c = RawClient(debug_redis.port)
    try:
        if resp == 3:
            c.command("HELLO", "3")
        assert c.command("DEBUG", "PROTOCOL", name) == ENCODERS[resp](value)
    finally:
        c.close()


def test_redis_debug_protocol_push(debug_redis):
    c = RawClient(debug_redis.port)
    try:
        c.command("HELLO", "3")
        assert c.command("DEBUG", "PROTOCOL", "push") == encode3(
            Push([b"server-cpu-usage", 42])
        )
        assert c.read_reply() == encode3(b"Some real reply following the push reply")
    finally:
        c.close()


DOUBLES = [1.5, 0.1, 1e300, 5e-324, 123456789012345678.0, INF, -INF, 2.0**-1074, 1 / 3, -7.25e-10]


@pytest.mark.parametrize("resp", [2, 3])
def test_redis_doubles(debug_redis, resp):
    """ZSCORE replies with addReplyDouble: %.17g, inf spelt out."""
    c = RawClient(debug_redis.port)
    try:
        c.command("HELLO", str(resp))
        c.command("DEL", "z")
        for i, d in enumerate(DOUBLES):
            c.command("ZADD", "z", repr(d), f"m{i}")
        for i, d in enumerate(DOUBLES):
            assert c.command("ZSCORE", "z", f"m{i}") == ENCODERS[resp](d), d
    finally:
        c.close()

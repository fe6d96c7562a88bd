"""One test per corpus script: every command's raw reply must equal redis-server's.

The format is documented in runner.py and README.md. A failure shows the first differing
line of the script with both replies, and the first differing line of every other block.
"""

from __future__ import annotations

import pytest

from ..helpers import RealRedis, ThreadedServer, have_real_redis
from .runner import CORPUS, Step, parse_script, report, run_file, same

FILES = sorted(CORPUS.glob("*.txt"))


@pytest.fixture(scope="module")
def real_debug_redis():
    if not have_real_redis():
        pytest.skip(
            "redis-server is not installed: the differential corpus needs a real Redis 7.0 "
            "(apt-get install redis-server)"
        )
    rr = RealRedis("--enable-debug-command", "yes")
    yield rr
    rr.stop()


@pytest.mark.parametrize("path", FILES, ids=[f.name for f in FILES])
def test_corpus(real_debug_redis, path):
    with ThreadedServer() as ours:
        found = run_file(path, real_debug_redis.port, ours.port)
    assert not found, report(found)


# -- the runner itself -----------------------------------------------------------------------


def test_every_script_parses():
    for f in FILES:
        assert parse_script(f.read_text()), f.name


def test_parse_script_format():
    blocks = parse_script(
        "# comment\n"
        "SET k \"a b\"\n"
        "~ SMEMBERS s\n"
        "? CLIENT ID\n"
        "HGETALL h # unordered pairs\n"
        "SUBSCRIBE a b # replies=2 unordered\n"
        "\n"
        "\n"
        "@other GET 'x y'  # any\n"
        "@sub .read 2\n"
        ".sleep 0.01\n"
        "ECHO \"# any\"\n"
    )
    assert [b.lineno for b in blocks] == [2, 9]
    s = blocks[0].steps
    assert s[0].args == [b"SET", b"k", b"a b"] and not (s[0].unordered or s[0].any)
    assert s[1].unordered and s[1].args == [b"SMEMBERS", b"s"]
    assert s[2].any and s[2].args == [b"CLIENT", b"ID"]
    assert s[3].unordered and s[3].pairs and s[3].args == [b"HGETALL", b"h"]
    assert s[4].replies == 2 and s[4].unordered and s[4].args == [b"SUBSCRIBE", b"a", b"b"]
    t = blocks[1].steps
    assert t[0].conn == "other" and t[0].any and t[0].args == [b"GET", b"x y"]
    assert t[1].conn == "sub" and t[1].kind == "read" and t[1].replies == 2
    assert t[2].kind == "sleep" and t[2].seconds == 0.01
    assert t[3].args == [b"ECHO", b"# any"] and not t[3].any


def test_unordered_comparison():
    step = Step(1, "x", unordered=True)
    assert same(step, [b"*2\r\n$1\r\na\r\n$1\r\nb\r\n"], [b"*2\r\n$1\r\nb\r\n$1\r\na\r\n"])
    assert not same(step, [b"*2\r\n$1\r\na\r\n$1\r\na\r\n"], [b"*2\r\n$1\r\na\r\n$1\r\nb\r\n"])
    nested = [b"*2\r\n$1\r\n0\r\n*2\r\n$1\r\nx\r\n$1\r\ny\r\n"]
    assert same(step, nested, [b"*2\r\n$1\r\n0\r\n*2\r\n$1\r\ny\r\n$1\r\nx\r\n"])
    m1 = b"%2\r\n$1\r\nk\r\n:1\r\n$1\r\nj\r\n:2\r\n"
    m2 = b"%2\r\n$1\r\nj\r\n:2\r\n$1\r\nk\r\n:1\r\n"
    assert same(step, [m1], [m2])
    assert not same(step, [m1], [b"%2\r\n$1\r\nj\r\n:1\r\n$1\r\nk\r\n:2\r\n"])
    flat1 = [b"*4\r\n$1\r\nk\r\n:1\r\n$1\r\nj\r\n:2\r\n"]
    flat2 = [b"*4\r\n$1\r\nj\r\n:1\r\n$1\r\nk\r\n:2\r\n"]
    assert same(step, flat1, flat2)  # elements as a multiset
    assert not same(Step(1, "x", unordered=True, pairs=True), flat1, flat2)
    assert not same(Step(1, "x"), [b"*2\r\n$1\r\na\r\n$1\r\nb\r\n"], [b"*2\r\n$1\r\nb\r\n$1\r\na\r\n"])


def test_any_compares_the_type_only():
    step = Step(1, "x", any=True)
    assert same(step, [b":1\r\n"], [b":2\r\n"])
    assert not same(step, [b":1\r\n"], [b"-ERR unknown command 'x'\r\n"])

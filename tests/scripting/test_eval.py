"""EVAL and SCRIPT on the sans-I/O core: replies, conversions, errors, sandbox, propagation."""

from __future__ import annotations

import pytest

from trioredis.core import Server
from trioredis.protocol.replies import ErrorReply, Raw


@pytest.fixture
def srv():
    return Server()


@pytest.fixture
def c(srv):
    return srv.new_client()


def run(srv, c, *argv):
    return srv.execute(c, [a if isinstance(a, bytes) else str(a).encode() for a in argv])


def ev(srv, c, script, *args):
    return run(srv, c, "eval", script, *args)


def test_simple_values(srv, c):
    assert ev(srv, c, "return 'hello'", 0) == b"hello"
    assert ev(srv, c, "return 3.99", 0) == 3
    assert ev(srv, c, "return -3.99", 0) == -3
    assert ev(srv, c, "return true", 0) == 1
    assert ev(srv, c, "return false", 0) is None
    assert ev(srv, c, "return {1,2,3,'ciao',{1,2}}", 0) == Raw(
        b"*5\r\n:1\r\n:2\r\n:3\r\n$4\r\nciao\r\n*2\r\n:1\r\n:2\r\n")
    assert ev(srv, c, "return {1,2,nil,3}", 0) == Raw(b"*2\r\n:1\r\n:2\r\n")


def test_status_error_tables(srv, c):
    assert ev(srv, c, "return {ok='fine'}", 0) == Raw(b"+fine\r\n")
    assert ev(srv, c, "return {err='My Error'}", 0) == ErrorReply("My Error")
    assert ev(srv, c, "return redis.error_reply('x')", 0) == ErrorReply("ERR x")
    assert ev(srv, c, "return redis.error_reply('-MY x')", 0) == ErrorReply("MY x")
    assert ev(srv, c, "return redis.status_reply('hi')", 0) == Raw(b"+hi\r\n")


def test_keys_argv_and_calls(srv, c):
    assert ev(srv, c, "return {KEYS[1],KEYS[2],ARGV[1],ARGV[2]}", 2, "a", "b", "c", "d") == Raw(
        b"*4\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n")
    assert ev(srv, c, "return redis.call('set', KEYS[1], ARGV[1])", 1, "k", "v") == Raw(b"+OK\r\n")
    assert run(srv, c, "get", "k") == b"v"
    assert ev(srv, c, "return redis.call('incr', 'n')", 0) == 1


def test_errors_name_the_script_line(srv, c):
    r = ev(srv, c, "return a", 0)
    assert r.message.startswith(
        "ERR user_script:1: Script attempted to access nonexistent global variable 'a' script: ")
    assert r.message.endswith(", on @user_script:1.")
    assert "Attempt to modify a readonly table" in ev(srv, c, "a=10", 0).message
    assert "Attempt to modify a readonly table" in ev(srv, c, "redis.call = nil", 0).message
    assert "Attempt to modify a readonly table" in ev(srv, c, "setmetatable(_G, {})", 0).message
    assert "Attempt to modify a readonly table" in ev(
        srv, c, "local g = getmetatable(_G) g.__index = {}", 0).message
    run(srv, c, "set", "s", "foo")
    r = ev(srv, c, "\nreturn redis.call('incr','s')", 0)
    assert r.message.startswith("ERR value is not an integer or out of range script: ")
    assert r.message.endswith("on @user_script:2.")
    assert ev(srv, c, "return redis.pcall('incr','s')", 0) == ErrorReply(
        "ERR value is not an integer or out of range")
    assert ev(srv, c, "local ok, e = pcall(redis.call, 'incr', 's'); return e", 0) == \
        b"ERR value is not an integer or out of range"


@pytest.mark.parametrize("script,text", [
    ("return redis.call('nosuch')", "ERR Unknown Redis command called from script"),
    ("return redis.call('incr','x','y')", "ERR Wrong number of args calling Redis command"),
    ("return redis.call()", "ERR Please specify at least one argument for this redis lib call"),
    ("return redis.call({})", "ERR Lua redis lib command arguments must be strings or integers"),
    ("return redis.call('eval','return 1',0)", "ERR This Redis command is not allowed from script"),
    ("return os", "nonexistent global variable 'os'"),
    ("return debug", "nonexistent global variable 'debug'"),
    ("return io", "nonexistent global variable 'io'"),
    ("return python", "nonexistent global variable 'python'"),
    ("loadfile('x')", "nonexistent global variable 'loadfile'"),
    ("return loadstring(string.dump(function() return 1 end))()", "attempt to call a nil value"),
])
def test_denied(srv, c, script, text):
    assert text in ev(srv, c, script, 0).message


def test_numkeys_and_evalsha(srv, c):
    assert run(srv, c, "eval", "return 1", -1) == ErrorReply("ERR Number of keys can't be negative")
    assert run(srv, c, "eval", "return 1", 2, "a") == ErrorReply(
        "ERR Number of keys can't be greater than number of args")
    assert run(srv, c, "eval", "return 1", "x") == ErrorReply(
        "ERR value is not an integer or out of range")
    sha = run(srv, c, "script", "load", "return 'x'")
    assert sha == b"0d2a5d1d89cbab4a0ba5bc48ea0fbc3f9b1e8bc0" or len(sha) == 40
    assert run(srv, c, "evalsha", sha, 0) == b"x"
    assert run(srv, c, "evalsha", sha.upper(), 0) == b"x"
    assert run(srv, c, "script", "exists", sha, "f" * 40) == [1, 0]
    assert run(srv, c, "evalsha", "f" * 40, 0) == ErrorReply(
        "NOSCRIPT No matching script. Please use EVAL.")
    assert run(srv, c, "script", "flush") == "OK"
    assert run(srv, c, "script", "exists", sha) == [0]


def test_shebang_flags(srv, c):
    assert ev(srv, c, "#!lua flags=bad\nreturn 1", 0) == ErrorReply(
        "ERR Unexpected flag in script shebang: bad")
    assert ev(srv, c, "#!python\nreturn 1", 0) == ErrorReply(
        "ERR Unexpected engine in script shebang: #!python")
    r = ev(srv, c, "#!lua flags=no-writes\nreturn redis.call('set','a','b')", 0)
    assert r.message.startswith("ERR Write commands are not allowed from read-only scripts.")
    assert r.message.endswith("on @user_script:2.")
    assert run(srv, c, "eval_ro", "#!lua\nreturn 1", 0) == ErrorReply(
        "ERR Can not execute a script with write flag using *_ro command.")
    assert run(srv, c, "eval_ro", "#!lua flags=no-writes\nreturn 1", 0) == 1


def test_resp3_conversions(srv, c):
    run(srv, c, "hset", "h", "f", "v")
    assert ev(srv, c, "redis.setresp(3); return redis.call('hgetall', KEYS[1])", 1, "h") == Raw(
        b"*2\r\n$1\r\nf\r\n$1\r\nv\r\n")
    run(srv, c, "hello", "3")
    assert ev(srv, c, "redis.setresp(3); return redis.call('hgetall', KEYS[1])", 1, "h") == Raw(
        b"%1\r\n$1\r\nf\r\n$1\r\nv\r\n")
    assert ev(srv, c, "return {double=1.5}", 0) == Raw(b",1.5\r\n")
    assert ev(srv, c, "return {big_number='123'}", 0) == Raw(b"(123\r\n")
    assert ev(srv, c, "redis.setresp(3); return redis.call('get', 'nokey') == nil", 0) is True


def test_effects_propagated_not_the_script(srv, c):
    seen = []
    srv.propagate_targets.append(lambda db, argv: seen.append(list(argv)))
    ev(srv, c, "redis.call('set','a','1'); redis.call('incr','a')", 0)
    assert seen == [[b"MULTI"], [b"set", b"a", b"1"], [b"incr", b"a"], [b"EXEC"]]
    seen.clear()
    ev(srv, c, "redis.call('del','a'); return redis.call('get','a')", 0)
    assert seen == [[b"del", b"a"]]
    seen.clear()
    ev(srv, c, "return redis.call('get','a')", 0)
    assert seen == []


def test_blocking_commands_are_denied_or_do_not_block(srv, c):
    assert ev(srv, c, "return redis.pcall('blpop','empty',0)", 0) == ErrorReply(
        "ERR This Redis command is not allowed from script")
    assert ev(srv, c, "return redis.pcall('xread','STREAMS','s','$')", 0) is None


def test_random_seeded_like_redis(srv, c):
    a = ev(srv, c, "math.randomseed(10); return tostring(math.random())", 0)
    assert a == b"0.87885112309775"  # real Redis 7.0.15's value

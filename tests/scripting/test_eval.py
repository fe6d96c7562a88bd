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


@pytest.mark.parametrize("script", [
    "redis = function() return 1 end",
    "_G = {}",
    "redis.call = function() return 1 end",
    "setmetatable(_G, {})",
    "local g = getmetatable(_G) g.__index = {}",
    "rawset(_G, 'x', 1)",
    "KEYS = {}",
    "loadstring('redis = 1')()",
    "local s = 'redis = 1' load(function() local r = s s = nil return r end)()",
])
def test_globals_stay_read_only(srv, c, script):
    assert "Attempt to modify a readonly table" in ev(srv, c, script, 0).message
    assert ev(srv, c, "return redis.call('ping')", 0) == Raw(b"+PONG\r\n")


def test_globals_are_redis_s(srv, c):
    names = ev(srv, c, "local t = {} for k in pairs(_G) do t[#t+1] = k end "
               "table.sort(t) return table.concat(t, ' ')", 0)
    # real Redis 7.0.15's list: no getfenv/setfenv/newproxy
    assert names == (b"ARGV KEYS _G _VERSION __redis__err__handler assert bit cjson cmsgpack "
                     b"collectgarbage coroutine error gcinfo getmetatable ipairs load loadstring "
                     b"math next pairs pcall rawequal rawget rawset redis select setmetatable "
                     b"string struct table tonumber tostring type unpack xpcall")
    assert ev(srv, c, "return {type(redis.call), type(redis.pcall), type(cjson.encode), "
              "type(bit.band), type(redis), type(cjson.null)}", 0) == Raw(
        b"*6\r\n$8\r\nfunction\r\n$8\r\nfunction\r\n$8\r\nfunction\r\n$8\r\nfunction\r\n"
        b"$5\r\ntable\r\n$8\r\nuserdata\r\n")
    r = ev(srv, c, "return type()", 0)
    assert r.message.startswith("ERR user_script:1: bad argument #1 to 'type' (value expected)")


def test_tail_calls_keep_the_script_line(srv, c):
    r = ev(srv, c, "\n\nreturn pairs(1)", 0)
    assert r.message.startswith("ERR user_script:3: bad argument #1 to 'pairs' (table expected")
    assert r.message.endswith("on @user_script:3.")
    assert ev(srv, c, "local function f(n) if n == 0 then return 'done' end return f(n - 1) end "
              "return f(500)", 0) == b"done"


def test_call_with_thousands_of_arguments(srv, c):
    assert ev(srv, c, "local a = {} for i=1,7999 do a[i] = 1 end "
              "return redis.call('lpush', 'l', unpack(a))", 0) == 7999
    r = ev(srv, c, "local a = {} for i=1,5000 do a[i] = 'x' end a[4500] = {} "
           "return redis.pcall('lpush', 'l', unpack(a))", 0)
    assert r.message.startswith("ERR Lua redis lib command arguments must be strings or integers")
    assert ev(srv, c, "return redis.call('llen', 'l')", 0) == 7999


def test_commands_that_act_differently_in_scripts(srv, c):
    assert ev(srv, c, "return redis.pcall('xread','BLOCK',0,'STREAMS','s','$')", 1, "s") == \
        ErrorReply("ERR xread command is not allowed with BLOCK option from scripts")
    assert ev(srv, c, "return redis.pcall('XREADGROUP','GROUP','g','c','BLOCK',0,'STREAMS','s',"
              "'>')", 1, "s") == ErrorReply(
        "ERR XREADGROUP command is not allowed with BLOCK option from scripts")
    run(srv, c, "sadd", "myset", "c", "b", "a")
    assert ev(srv, c, "return redis.call('sort', KEYS[1], 'by', '_')", 1, "myset") == Raw(
        b"*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n")


def test_error_reply_codes(srv, c):
    assert ev(srv, c, "return redis.error_reply('MY_CODE custom msg')", 0) == ErrorReply(
        "MY_CODE custom msg")
    assert ev(srv, c, "return redis.error_reply('nospace')", 0) == ErrorReply("ERR nospace")
    assert ev(srv, c, "return redis.error_reply('')", 0) == ErrorReply("ERR ")
    assert ev(srv, c, "#!lua flags=\nreturn 1", 0) == 1


def test_not_enough_good_replicas(srv, c):
    run(srv, c, "set", "x", "v")
    run(srv, c, "config", "set", "min-replicas-to-write", "1")
    assert ev(srv, c, "#!lua flags=no-writes\nreturn redis.call('get','x')", 0) == b"v"
    assert ev(srv, c, "return redis.call('get','x')", 0) == b"v"
    assert ev(srv, c, "#!lua\nreturn redis.call('get','x')", 0) == ErrorReply(
        "NOREPLICAS Not enough good replicas to write.")
    r = ev(srv, c, "return redis.call('set','x','1')", 0)
    assert r.message.startswith("NOREPLICAS Not enough good replicas to write. script: ")


def test_refusals_inside_scripts_are_counted_once(srv, c):
    run(srv, c, "config", "resetstat")
    r = run(srv, c, "eval_ro", "return redis.call('set','x','y')", 1, "x")
    assert r.message.startswith("ERR Write commands are not allowed from read-only scripts.")
    assert srv.stat_total_error_replies == 1
    info = run(srv, c, "info", "commandstats")
    info = info.decode() if isinstance(info, bytes) else str(info)
    assert "cmdstat_set:calls=0,usec=0,usec_per_call=0.00,rejected_calls=1,failed_calls=0" in info
    assert "cmdstat_eval_ro:calls=1," in info and "rejected_calls=0,failed_calls=1" in info
    run(srv, c, "config", "resetstat")
    assert ev(srv, c, "return redis.pcall('select', 99)", 0) == ErrorReply(
        "ERR DB index is out of range")
    assert srv.stat_total_error_replies == 1


def test_out_of_memory_scripts(srv, c):
    run(srv, c, "set", "x", "123")
    run(srv, c, "config", "set", "maxmemory", "1")
    try:
        r = ev(srv, c, "redis.call('set','x',1) return 1", 1, "x")
        assert r.message.startswith("OOM command not allowed when used memory > 'maxmemory'.")
        assert ev(srv, c, "return redis.call('get','x')", 1, "x") == b"123"
        assert ev(srv, c, "#!lua flags=\nreturn 1", 0) == ErrorReply(
            "OOM command not allowed when used memory > 'maxmemory'.")
        assert ev(srv, c, "#!lua flags=allow-oom\nredis.call('set','x',1) return 1", 1, "x") == 1
        assert ev(srv, c, "#!lua flags=no-writes\nredis.call('get','x') return 1", 0) == 1
    finally:
        run(srv, c, "config", "set", "maxmemory", "0")

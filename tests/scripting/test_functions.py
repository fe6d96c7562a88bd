"""FUNCTION LOAD/DELETE/LIST/STATS and FCALL on the sans-I/O core, with Redis 7.0's texts."""

from __future__ import annotations

import pytest

from trioredis.core import Server
from trioredis.protocol.replies import ErrorReply


@pytest.fixture
def run():
    srv = Server()
    c = srv.new_client()
    return lambda *a: srv.execute(c, [x.encode() if isinstance(x, str) else x for x in a])


LIB1 = "#!lua name=lib1\nredis.register_function('f1', function(keys, args) return keys[1] end)"


def test_load_call_delete(run):
    assert run("function", "load", LIB1) == b"lib1"
    assert run("fcall", "f1", "1", "k") == b"k"
    assert run("function", "load", LIB1) == ErrorReply("ERR Library 'lib1' already exists")
    assert run("function", "load", "replace", LIB1) == b"lib1"
    assert run("function", "load", LIB1.replace("lib1", "lib2")) == ErrorReply(
        "ERR Function f1 already exists")
    assert run("function", "delete", "lib1") == "OK"
    assert run("fcall", "f1", "0") == ErrorReply("ERR Function not found")
    assert run("function", "delete", "lib1") == ErrorReply("ERR Library not found")


@pytest.mark.parametrize("code,text", [
    ("return 1", "ERR Missing library metadata"),
    ("#!lua\nreturn 1", "ERR Library name was not given"),
    ("#!lua name=l foo=bar\nreturn 1", "ERR Invalid metadata value given: foo=bar"),
    ("#!lua name=l\nreturn 1", "ERR No functions registered"),
    ("#!lua name=l\nmath.random()", "ERR Error registering functions: ERR user_function:2: "
     "Script attempted to access nonexistent global variable 'math'"),
    ("#!lua name=l\nsyntax err", "ERR Error compiling function: user_function:2: '=' expected "
     "near 'err'"),
    ("#!lua name=l\nredis.register_function{function_name='x', callback=function() end, "
     "flags={'bad'}}", "ERR Error registering functions: ERR unknown flag given"),
])
def test_load_errors(run, code, text):
    assert run("function", "load", code) == ErrorReply(text)


def test_flags_and_ro(run):
    run("function", "load", "#!lua name=l\nredis.register_function{function_name='g', "
        "callback=function() return redis.call('set','x','1') end, flags={'no-writes'}}")
    r = run("fcall", "g", "0")
    assert r.message.startswith("ERR Write commands are not allowed from read-only scripts.")
    run("function", "load", LIB1)
    assert run("fcall_ro", "f1", "0") == ErrorReply(
        "ERR Can not execute a script with write flag using *_ro command.")
    stats = run("function", "stats")
    assert stats[b"engines"][b"LUA"] == {b"libraries_count": 2, b"functions_count": 2}
    names = [lib[b"library_name"] for lib in run("function", "list")]
    assert sorted(names) == [b"l", b"lib1"]
    assert run("function", "flush") == "OK"
    assert run("function", "list") == []


@pytest.mark.parametrize("code,text", [
    ("#!lua name=a name=b\nreturn 1",
     "ERR Invalid metadata value, name argument was given multiple times"),
    ("#!lua name=l\nredis.register_function('x', 1)", "ERR Error registering functions: ERR "
     "second argument to redis.register_function must be a function"),
    ("#!lua name=l\nredis.register_function({}, function() end)", "ERR Error registering "
     "functions: ERR first argument to redis.register_function must be a string"),
    ("#!lua name=l\nredis.register_function{function_name={}, callback=function() end}",
     "ERR Error registering functions: ERR function_name argument given to "
     "redis.register_function must be a string"),
    ("#!lua name=l\nlocal a = 1 while 1 do a = a + 1 end",
     "ERR Error registering functions: ERR FUNCTION LOAD timeout"),
])
def test_more_load_errors(run, code, text):
    assert run("function", "load", code) == ErrorReply(text)


def test_names_quotes_case_and_runtime_api(run):
    assert run("function", "load", '#!lua name="q"\nredis.register_function{FUNCTION_NAME="Mixed",'
               " CallBack=function() return redis.register_function end}") == b"q"
    assert run("fcall", "MIXED", "0") is None  # register_function exists only while loading
    assert run("fcall", "mixed", "x") == ErrorReply("ERR Bad number of keys provided")
    assert run("fcall", "nope", "x") == ErrorReply("ERR Function not found")
    assert run("function", "list", "libraryname", "q", "libraryname", "q") == ErrorReply(
        "ERR Unknown argument libraryname")
    assert run("function", "flush", "sync", "x") == ErrorReply(
        "ERR unknown subcommand or wrong number of arguments for 'flush'. Try FUNCTION HELP.")


def test_dump_and_restore_policies(run):
    run("function", "load", LIB1)
    payload = run("function", "dump")
    assert payload[:1] == b"\xf5"  # RDB_OPCODE_FUNCTION2
    assert run("function", "restore", payload) == ErrorReply("ERR Library lib1 already exists")
    assert run("function", "restore", payload, "replace") == "OK"
    assert run("function", "restore", payload, "bad") == ErrorReply(
        "ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.")
    assert run("function", "restore", b"bad_payload") == ErrorReply(
        "ERR payload version or checksum are wrong")
    assert run("function", "restore", payload[:-1] + b"x") == ErrorReply(
        "ERR payload version or checksum are wrong")
    run("function", "load", LIB1.replace("lib1", "other").replace("f1", "g1"))
    assert run("function", "restore", payload, "flush") == "OK"
    assert [x[b"library_name"] for x in run("function", "list")] == [b"lib1"]
    run("function", "delete", "lib1")
    run("function", "load", LIB1.replace("lib1", "clash"))
    assert run("function", "restore", payload) == ErrorReply("ERR Function f1 already exists")
    assert run("fcall", "f1", "1", "k") == b"k"


def test_payloads_cross_with_real_redis(server, real_redis):
    import redis

    ours = redis.Redis(port=server.port)
    real = redis.Redis(port=real_redis.port)
    real.function_flush()
    code = ("#!lua name=crosslib\nredis.register_function{function_name='cross', "
            "callback=function() return 'a body long enough for LZF: ' .. string.rep('ab', 20) "
            "end, flags={'no-writes'}, description='desc'}")
    real.function_load(code)
    from_real = real.function_dump()
    assert ours.function_restore(from_real) is True
    assert ours.fcall("cross", 0) == real.fcall("cross", 0)
    assert ours.function_list(withcode=True) == real.function_list(withcode=True)
    ours.function_load(code.replace("crosslib", "ourlib").replace("'cross'", "'ours'"))
    from_us = ours.function_dump()
    real.function_flush()
    assert real.function_restore(from_us) is True
    assert real.fcall("ours", 0) == ours.fcall("ours", 0)
    real.function_flush()

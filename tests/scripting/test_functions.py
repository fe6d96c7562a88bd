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

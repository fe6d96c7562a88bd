"""The hot paths of a script run (one Lua call per run, redis.call's cached commands) keep
every behaviour of the checked paths: arguments, refusals, RESP of the reply, the hook."""

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


@pytest.mark.parametrize("nkeys,nargs", [(0, 0), (1, 0), (0, 2), (2, 3), (3000, 3000),
                                         (5000, 0), (0, 9000)])
def test_keys_and_argv_both_ways(srv, c, nkeys, nargs):
    """Few values go to Lua as varargs, many (lupa's C stack) as two tables: same tables."""
    keys = [f"k{i}" for i in range(nkeys)]
    args = [f"a{i}" for i in range(nargs)]
    script = ("return {#KEYS, #ARGV, KEYS[1] or '-', KEYS[#KEYS] or '-', ARGV[1] or '-', "
              "ARGV[#ARGV] or '-'}")
    r = ev(srv, c, script, nkeys, *keys, *args)
    first = keys[0] if keys else "-"
    last = keys[-1] if keys else "-"
    afirst = args[0] if args else "-"
    alast = args[-1] if args else "-"
    parts = [f":{nkeys}\r\n", f":{nargs}\r\n"] + [
        f"${len(x)}\r\n{x}\r\n" for x in (first, last, afirst, alast)]
    assert r == Raw(("*6\r\n" + "".join(parts)).encode())


def test_keys_do_not_leak_between_runs(srv, c):
    assert ev(srv, c, "return #KEYS + #ARGV", 2, "a", "b", "c") == 3
    assert ev(srv, c, "return {KEYS[1], ARGV[1]}", 0) == Raw(b"*0\r\n")


def test_cached_command_keeps_its_checks(srv, c):
    # INCR is cached by the first call; later runs still check arity, read-only runs,
    # and replies of every kind.
    assert ev(srv, c, "return redis.call('incr', KEYS[1])", 1, "n") == 1
    r = ev(srv, c, "return redis.call('incr')", 0)
    assert isinstance(r, ErrorReply)
    assert r.message.startswith("ERR Wrong number of args calling Redis command from script")
    r = run(srv, c, "eval_ro", "return redis.call('incr', KEYS[1])", 1, "n")
    assert isinstance(r, ErrorReply)
    assert r.message.startswith("ERR Write commands are not allowed from read-only scripts.")
    r = ev(srv, c, "#!lua flags=no-writes\nreturn redis.call('incr', KEYS[1])", 1, "n")
    assert r.message.startswith("ERR Write commands are not allowed from read-only scripts.")
    assert run(srv, c, "get", "n") == b"1"
    # letter case: each spelling is looked up once, then cached
    assert ev(srv, c, "return redis.call('InCr', KEYS[1])", 1, "n") == 2
    assert ev(srv, c, "return redis.call('InCr', KEYS[1])", 1, "n") == 3
    # numbers as arguments go through the argv conversion
    assert ev(srv, c, "return redis.call('incrby', KEYS[1], 10)", 1, "n") == 13
    # a noscript command is never cached
    for _ in range(2):
        r = ev(srv, c, "return redis.call('multi')", 0)
        assert r.message.startswith("ERR This Redis command is not allowed from script")


def test_cached_command_on_a_replica_is_refused(srv, c):
    assert ev(srv, c, "return redis.call('set', KEYS[1], 'v')", 1, "k") == Raw(b"+OK\r\n")
    srv.role = "slave"
    srv.update_guard()
    try:
        r = ev(srv, c, "return redis.call('set', KEYS[1], 'w')", 1, "k")
        assert isinstance(r, ErrorReply)
        assert "READONLY" in r.message
    finally:
        srv.role = "master"
        srv.update_guard()
    assert run(srv, c, "get", "k") == b"v"


def test_maxmemory_reaches_the_cached_path(srv, c):
    assert ev(srv, c, "return redis.call('set', KEYS[1], 'v')", 1, "k") == Raw(b"+OK\r\n")
    srv.config.values["maxmemory"] = 1
    srv.update_guard()
    try:
        r = ev(srv, c, "return redis.call('set', KEYS[1], 'w')", 1, "k2")
        assert isinstance(r, ErrorReply)
        assert r.message.startswith("OOM")
    finally:
        srv.config.values["maxmemory"] = 0
        srv.update_guard()


def test_setresp_decides_the_reply_conversion(srv, c):
    # booleans: RESP2 scripts give 1/nil, RESP3 scripts true/false (the caller is RESP2)
    assert ev(srv, c, "return false", 0) is None
    assert ev(srv, c, "redis.setresp(3) return false", 0) is False
    assert ev(srv, c, "redis.setresp(3) redis.setresp(2) return false", 0) is None
    # the next run starts with RESP2 again
    assert ev(srv, c, "return true", 0) == 1
    assert ev(srv, c, "redis.setresp('3') return {true}", 0) == Raw(b"*1\r\n:1\r\n")
    r = ev(srv, c, "redis.setresp(4)", 0)
    assert r.message.startswith("ERR RESP version must be 2 or 3.")


def test_errors_keep_their_fields(srv, c):
    r = ev(srv, c, "local x = nil\nreturn x.y", 0)
    assert r.message.startswith("ERR user_script:2: attempt to index local 'x'")
    assert r.message.endswith("on @user_script:2.")
    r = ev(srv, c, "error('plain')", 0)
    assert r.message.startswith("ERR user_script:1: plain script: ")
    r = ev(srv, c, "error({err='MY custom'})", 0)
    assert r.message.startswith("MY custom script: ")
    r = ev(srv, c, "return redis.call('nosuchcmd')", 0)
    assert r.message.startswith("ERR Unknown Redis command called from script script: ")


def test_hook_stays_on_and_kill_resets_it(srv, c):
    state = srv.scripting.state
    assert ev(srv, c, "return 1", 0) == 1
    assert state.hooked
    srv.config.values["busy-reply-threshold"] = 0
    try:
        assert ev(srv, c, "return 1", 0) == 1
        assert not state.hooked
    finally:
        srv.config.values["busy-reply-threshold"] = 5000
    assert ev(srv, c, "return 1", 0) == 1
    assert state.hooked


def test_gc_step_every_fifty_runs_keeps_memory_bounded(srv, c):
    sha = run(srv, c, "script", "load", "local t = {} for i = 1, 100 do t[i] = {i} end return 1")
    before = srv.scripting.state.memory()
    for _ in range(2000):
        assert run(srv, c, "evalsha", sha, 0) == 1
    assert srv.scripting.state.memory() < before + 4 * 1024 * 1024


def test_after_a_write_the_server_state_cannot_fail_the_script(srv, c):
    """scriptVerifyWriteCommandAllow: once the script wrote, min-replicas (and read-only
    replica, disk error) checks are skipped, so it is never left half done
    (unit/scripting 'not enough good replicas state change during long script')."""
    answers = iter([1])  # one good replica for the first check, none afterwards
    srv.hooks["good_replicas"] = [lambda: next(answers, 0)]
    srv.config.values["min-replicas-to-write"] = 1
    srv.update_guard()
    try:
        r = ev(srv, c, "redis.call('set', 'a', 1) return redis.call('set', 'b', 2)", 0)
        assert r == Raw(b"+OK\r\n")
        assert run(srv, c, "mget", "a", "b") == [b"1", b"2"]
        # a script that has not written yet is refused
        r = ev(srv, c, "return redis.call('set', 'c', 3)", 0)
        assert r.message.startswith("NOREPLICAS Not enough good replicas to write.")
    finally:
        srv.config.values["min-replicas-to-write"] = 0
        srv.update_guard()


def test_hot_path_replies_of_every_kind(srv, c):
    """Once cached, a command's replies still convert as Redis's: status tables, errors (call
    raises, pcall returns them), RESP3 nulls, arrays."""
    for _ in range(2):  # the first run caches SET/GET/LPUSH/LRANGE, the second takes the hot path
        assert ev(srv, c, "return redis.call('set', KEYS[1], 'v')", 1, "s") == Raw(b"+OK\r\n")
        assert ev(srv, c, "local r = redis.call('set', KEYS[1], 'v') return r.ok", 1, "s") == b"OK"
        assert ev(srv, c, "return redis.call('get', 'nokey')", 0) is None
        assert ev(srv, c, "redis.setresp(3) return redis.call('get', 'nokey') == nil", 0) is True
        assert ev(srv, c, "return redis.call('get', 'nokey') == false", 0) == 1
        assert ev(srv, c, "redis.call('lpush', 'l', 'a') return redis.call('lrange', 'l', 0, -1)",
                  0) == Raw(b"*1\r\n$1\r\na\r\n")
        run(srv, c, "del", "l")
        r = ev(srv, c, "return redis.pcall('lpush', KEYS[1], 'x')", 1, "s")
        assert r.message.startswith("WRONGTYPE Operation against a key holding the wrong kind")
        r = ev(srv, c, "local e = redis.pcall('lpush', KEYS[1], 'x') return e.err", 1, "s")
        assert r.startswith(b"WRONGTYPE")
        r = ev(srv, c, "redis.call('lpush', KEYS[1], 'x') return 'not reached'", 1, "s")
        assert r.message.startswith("WRONGTYPE Operation against a key holding the wrong kind")
        assert "script: " in r.message and r.message.endswith("on @user_script:1.")

"""A script's flags are its command's flags (getCommandFlags): EXEC is checked with the flags
of the EVAL/FCALL calls it queued, as processCommand does in Redis 7.0 (unit/scripting
'no-writes shebang flag on replica')."""

from __future__ import annotations

import pytest

from trioredis.core import Server
from trioredis.protocol.replies import ErrorReply
from trioredis.scripting.runtime import sha1hex

READONLY_ABORT = ("EXECABORT Transaction discarded because of: READONLY You can't write "
                  "against a read only replica.")


@pytest.fixture
def srv():
    return Server()


@pytest.fixture
def c(srv):
    return srv.new_client()


def run(srv, c, *argv):
    return srv.execute(c, [a if isinstance(a, bytes) else str(a).encode() for a in argv])


def become_replica(srv):
    srv.role = "slave"
    srv.update_guard()


def queue_then_exec_on_replica(srv, c, *argv):
    assert run(srv, c, "multi") == "OK"
    assert run(srv, c, *argv) == "QUEUED"
    become_replica(srv)
    try:
        return run(srv, c, "exec")
    finally:
        srv.role = "master"
        srv.update_guard()


def test_shebang_without_no_writes_aborts_exec(srv, c):
    r = queue_then_exec_on_replica(srv, c, "eval", "#!lua\nreturn 1", 0)
    assert r == ErrorReply(READONLY_ABORT)


def test_no_writes_script_runs_in_exec(srv, c):
    r = queue_then_exec_on_replica(srv, c, "eval", "#!lua flags=no-writes\nreturn 1", 0)
    assert r == [1]


def test_no_shebang_keeps_the_commands_flags(srv, c):
    # eval compatibility mode: EVAL is not a write command; the write inside fails instead
    r = queue_then_exec_on_replica(srv, c, "eval", "redis.call('set','x',1) return 1", 0)
    assert isinstance(r, list) and isinstance(r[0], ErrorReply)
    assert r[0].message.startswith("READONLY You can't write against a read only replica. script:")


def test_evalsha_uses_the_cached_scripts_flags(srv, c):
    body = "#!lua\nreturn 1"
    assert run(srv, c, "script", "load", body) == sha1hex(body.encode()).encode()
    r = queue_then_exec_on_replica(srv, c, "evalsha", sha1hex(body.encode()).upper(), 0)
    assert r == ErrorReply(READONLY_ABORT)
    # an unknown sha: the command's flags (it fails with NOSCRIPT when EXEC runs it)
    r = queue_then_exec_on_replica(srv, c, "evalsha", "0" * 40, 0)
    assert isinstance(r, list) and r[0].message.startswith("NOSCRIPT")


def test_fcall_uses_the_functions_flags(srv, c):
    lib = ("#!lua name=l\n"
           "redis.register_function('w', function() return 1 end)\n"
           "redis.register_function{function_name='r', callback=function() return 2 end, "
           "flags={'no-writes'}}")
    assert run(srv, c, "function", "load", lib) == b"l"
    assert queue_then_exec_on_replica(srv, c, "fcall", "w", 0) == ErrorReply(READONLY_ABORT)
    assert queue_then_exec_on_replica(srv, c, "fcall", "r", 0) == [2]


def test_allow_stale_is_the_scripts_stale_flag(srv, c):
    from trioredis.commands.registry import lookup
    from trioredis.commands.scripting import script_call_flags

    ev = lookup(b"eval")
    assert "stale" not in script_call_flags(ev, frozenset())
    assert "stale" in script_call_flags(ev, frozenset({"allow-stale", "no-writes"}))
    assert {"write", "denyoom"} <= script_call_flags(ev, frozenset())
    assert "denyoom" not in script_call_flags(ev, frozenset({"allow-oom"}))
    assert "may_replicate" not in script_call_flags(ev, frozenset({"no-writes"}))


def test_a_stale_replica_refuses_scripts_by_their_flags(srv, c):
    """processCommand's MASTERDOWN uses the script's flags: a script without allow-stale
    gets the generic text; with allow-stale it runs (unit/scripting 'allow-stale shebang
    flag')."""
    class DownLink:
        def is_up(self):
            return False

    srv.config.values["replica-serve-stale-data"] = False
    srv.role = "slave"
    srv.master_link = DownLink()
    srv.update_guard()
    generic = "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."
    try:
        assert run(srv, c, "eval", "return redis.call('get','x')", 1, "x") == ErrorReply(generic)
        assert run(srv, c, "eval", "#!lua flags=no-writes\nreturn 1", 0) == ErrorReply(generic)
        assert run(srv, c, "eval", "#!lua flags=allow-stale,no-writes\nreturn 1", 0) == 1
        r = run(srv, c, "eval", "#!lua flags=allow-stale,no-writes\nreturn redis.call('get','x')",
                1, "x")
        assert r.message.startswith("ERR Can not execute the command on a stale replica")
    finally:
        srv.role = "master"
        srv.master_link = None
        srv.config.values["replica-serve-stale-data"] = True
        srv.update_guard()

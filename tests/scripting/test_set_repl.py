"""redis.set_repl as Redis 7.0: each command's propagation goes where the script's flags say
(REPL_ALL, REPL_AOF, REPL_REPLICA, REPL_NONE); the MULTI/EXEC wrap counts only the commands
that still go somewhere, and is sent to both, as propagatePendingCommands does."""

from __future__ import annotations

import pytest

from trioredis.core import Server


class Targets:
    """An AOF-like target and a replication-like target (also the "propagate_repl" hook)."""

    def __init__(self, srv):
        self.aof: list = []
        self.repl: list = []
        srv.propagate_targets.append(self.feed_aof)
        srv.propagate_targets.append(self.feed_repl)
        srv.add_hook("propagate_repl", self.feed_repl)

    def feed_aof(self, dbid, argv):
        self.aof.append(b" ".join(argv).decode())

    def feed_repl(self, dbid, argv):
        self.repl.append(b" ".join(argv).decode())


@pytest.fixture
def srv():
    return Server()


@pytest.fixture
def c(srv):
    return srv.new_client()


@pytest.fixture
def t(srv):
    return Targets(srv)


def ev(srv, c, script, *args):
    argv = [b"eval", script.encode(), str(len(args)).encode(), *(a.encode() for a in args)]
    return srv.execute(c, argv)


def test_the_suites_selective_replication(srv, c, t):
    ev(srv, c, """
        redis.call('set','a','1');
        redis.set_repl(redis.REPL_NONE);
        redis.call('set','b','2');
        redis.set_repl(redis.REPL_AOF);
        redis.call('set','c','3');
        redis.set_repl(redis.REPL_ALL);
        redis.call('set','d','4');
    """)
    assert t.aof == ["MULTI", "set a 1", "set c 3", "set d 4", "EXEC"]
    assert t.repl == ["MULTI", "set a 1", "set d 4", "EXEC"]
    assert [srv.execute(c, [b"get", k]) for k in (b"a", b"b", b"c", b"d")] == [
        b"1", b"2", b"3", b"4"]


def test_replica_only(srv, c, t):
    ev(srv, c, "redis.set_repl(redis.REPL_REPLICA) redis.call('set','x','1')")
    assert t.aof == []
    assert t.repl == ["set x 1"]
    # REPL_SLAVE is the old name of REPL_REPLICA
    ev(srv, c, "redis.set_repl(redis.REPL_SLAVE) redis.call('set','y','1')")
    assert t.aof == []
    assert t.repl == ["set x 1", "set y 1"]


def test_aof_only(srv, c, t):
    ev(srv, c, "redis.set_repl(redis.REPL_AOF) redis.call('incr','n')")
    assert t.aof == ["incr n"]
    assert t.repl == []


def test_none_leaves_one_command_unwrapped(srv, c, t):
    ev(srv, c, "redis.set_repl(redis.REPL_NONE) redis.call('set','x','1') "
               "redis.set_repl(redis.REPL_ALL) redis.call('set','y','1')")
    assert t.aof == ["set y 1"]
    assert t.repl == ["set y 1"]
    t.aof.clear()
    t.repl.clear()
    ev(srv, c, "redis.set_repl(redis.REPL_NONE) redis.call('set','x','2') redis.call('del','y')")
    assert t.aof == t.repl == []
    assert srv.execute(c, [b"get", b"x"]) == b"2"


def test_wrap_goes_to_both_even_when_the_ops_do_not(srv, c, t):
    # Two ops for replicas only: numops is 2, so MULTI/EXEC are propagated to AOF and
    # replicas alike (Redis propagates them with PROPAGATE_AOF|PROPAGATE_REPL).
    ev(srv, c, "redis.set_repl(redis.REPL_REPLICA) redis.call('set','x','1') "
               "redis.call('set','y','1')")
    assert t.repl == ["MULTI", "set x 1", "set y 1", "EXEC"]
    assert t.aof == ["MULTI", "EXEC"]


def test_publish_follows_the_flags(srv, c, t):
    ev(srv, c, "redis.set_repl(redis.REPL_AOF) redis.call('publish','ch','m')")
    assert t.aof == t.repl == []  # PUBLISH goes to replicas only, and REPL_AOF drops it
    ev(srv, c, "redis.set_repl(redis.REPL_ALL) redis.call('publish','ch','m')")
    assert t.aof == []
    assert t.repl == ["publish ch m"]


def test_flags_last_only_for_the_run(srv, c, t):
    ev(srv, c, "redis.set_repl(redis.REPL_NONE) redis.call('set','x','1')")
    ev(srv, c, "redis.call('set','x','2')")
    assert t.aof == t.repl == ["set x 2"]


def test_inside_multi_exec(srv, c, t):
    assert srv.execute(c, [b"multi"]) == "OK"
    ev(srv, c, "redis.set_repl(redis.REPL_AOF) redis.call('set','x','1')")
    srv.execute(c, [b"set", b"z", b"1"])
    srv.execute(c, [b"exec"])
    assert t.aof == ["MULTI", "set x 1", "set z 1", "EXEC"]
    assert t.repl == ["MULTI", "set z 1", "EXEC"]


def test_invalid_flags(srv, c, t):
    r = ev(srv, c, "redis.set_repl(4)")
    assert r.message.startswith("ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, "
                                "REPL_ALL or REPL_NONE.")
    r = ev(srv, c, "redis.set_repl()")
    assert r.message.startswith("ERR redis.set_repl() requires two arguments.")


def test_ops_for_an_inactive_target_are_not_counted(srv, c):
    # No backlog: replication takes nothing (shouldPropagate), so two replica-only writes
    # leave the AOF untouched (checked on Redis 7.0.15 with appendonly yes, no replica).
    aof = []
    srv.propagate_targets.append(lambda dbid, argv: aof.append(b" ".join(argv).decode()))
    ev(srv, c, "redis.set_repl(redis.REPL_REPLICA) redis.call('set','x','1') "
               "redis.call('set','y','1')")
    assert aof == []
    ev(srv, c, "redis.call('set','a','1') redis.set_repl(redis.REPL_REPLICA) "
               "redis.call('set','b','1') redis.set_repl(redis.REPL_AOF) redis.call('set','c','1')")
    assert aof == ["MULTI", "set a 1", "set c 1", "EXEC"]

"""maxmemory on the sans-I/O core: -OOM and the MULTI/EXEC rules, the policies, the evicted event,
propagation of evictions, and the access clocks (OBJECT IDLETIME/FREQ, TOUCH)."""

from __future__ import annotations

import pytest

from trioredis import eviction
from trioredis.core import ManualClock, Server
from trioredis.protocol.replies import ErrorReply

OOM = "OOM command not allowed when used memory > 'maxmemory'."


def make(**config):
    clock = ManualClock()
    srv = Server(clock=clock)
    for k, v in config.items():
        srv.config.set(k.replace("_", "-"), str(v))
    c = srv.new_client()

    def ex(*args):
        return srv.execute(c, [a if isinstance(a, bytes) else str(a).encode() for a in args])

    return srv, ex, clock


class Pushes:
    """A connection that keeps what the server pushes."""

    def __init__(self):
        self.data = []
        self.out_bytes = 0

    def push(self, data):
        self.data.append(data)

    def buffer_stats(self, now_ms):
        return (0, 0, 0, 0, 0, 0, 0, 0, 0)

    def kill(self):
        pass


def tick(srv, clock, seconds: float) -> None:
    clock.advance(seconds)
    srv.run_hooks("cron")


def is_error(reply, text: str) -> bool:
    return isinstance(reply, ErrorReply) and str(reply.message) == text


def test_noeviction_refuses_denyoom_commands_only():
    srv, ex, _ = make()
    ex("SET", "k", "v")
    srv.config.set("maxmemory", "1")
    assert is_error(ex("SET", "x", "y"), OOM)
    assert is_error(ex("LPUSH", "l", "a"), OOM)
    assert ex("GET", "k") == b"v"  # reads go on
    assert ex("DEL", "k") == 1  # DEL is a write without denyoom: it frees memory
    assert srv.stat_evicted_keys == 0
    srv.config.set("maxmemory", "0")
    assert ex("SET", "x", "y") == "OK"


def test_oom_inside_multi_queues_nothing_and_aborts_exec():
    srv, ex, _ = make()
    assert ex("MULTI") == "OK"
    assert ex("SET", "a", "1") == "QUEUED"
    srv.config.set("maxmemory", "1")
    assert is_error(ex("LPUSH", "l", "x"), OOM)
    srv.config.set("maxmemory", "0")
    assert ex("SET", "b", "2") == "QUEUED"
    reply = ex("EXEC")
    assert isinstance(reply, ErrorReply) and reply.message.startswith("EXECABORT")
    assert ex("EXISTS", "a", "b") == 0


def test_any_command_queued_during_oom_is_refused_but_discard_is_not():
    srv, ex, _ = make(maxmemory=1)
    assert ex("MULTI") == "OK"
    assert is_error(ex("GET", "x"), OOM)  # even a read: queueing takes memory
    assert ex("DISCARD") == "OK"
    assert ex("PING") == "PONG"


def test_exec_of_reads_runs_under_oom_exec_with_a_write_is_refused():
    srv, ex, _ = make()
    ex("SET", "x", "value")
    ex("MULTI")
    ex("GET", "x")
    ex("PING")
    srv.config.set("maxmemory", "1")
    assert ex("EXEC") == [b"value", "PONG"]
    srv.config.set("maxmemory", "0")
    ex("MULTI")
    ex("SET", "x", "1")
    ex("GET", "x")
    srv.config.set("maxmemory", "1")
    reply = ex("EXEC")
    assert isinstance(reply, ErrorReply)
    assert reply.message == "EXECABORT Transaction discarded because of: " + OOM
    assert ex("GET", "x") == b"value"


def test_allkeys_eviction_raises_evicted_and_propagates_del():
    srv, ex, clock = make(notify_keyspace_events="Ee", maxmemory_policy="allkeys-lru")
    sub = srv.new_client()
    sub.conn = Pushes()
    srv.execute(sub, [b"PSUBSCRIBE", b"*"])
    fed = []
    srv.propagate_targets.append(lambda dbid, argv: fed.append(argv))
    ex("SET", "foo", "bar")
    fed.clear()
    srv.config.set("maxmemory", "1")
    tick(srv, clock, 0.1)  # Redis's eviction time proc: no command needed
    assert ex("DBSIZE") == 0
    assert b"__keyevent@0__:evicted\r\n$3\r\nfoo\r\n" in b"".join(sub.conn.data)
    assert [b"DEL", b"foo"] in fed
    assert srv.stat_evicted_keys == 1
    srv.config.set("lazyfree-lazy-eviction", "yes")
    srv.config.set("maxmemory", "0")
    ex("SET", "bar", "x")
    fed.clear()
    srv.config.set("maxmemory", "1")
    tick(srv, clock, 0.1)
    assert fed == [[b"UNLINK", b"bar"]]


def fill(ex, n: int, volatile_every: int = 0, size: int = 100):
    for i in range(n):
        if volatile_every and i % volatile_every == 0:
            ex("SET", f"key:{i}", "x" * size, "EX", 10000 + i)
        else:
            ex("SET", f"key:{i}", "x" * size)


@pytest.mark.parametrize("policy", ["volatile-lru", "volatile-lfu", "volatile-random",
                                    "volatile-ttl"])
def test_volatile_policies_evict_only_volatile_keys(policy):
    srv, ex, _ = make(maxmemory_policy=policy)
    fill(ex, 400, volatile_every=2)
    used = eviction.used_memory(srv)
    srv.config.set("maxmemory", str(used - 5000))
    assert ex("SET", "one-more", "v") == "OK"
    assert srv.stat_evicted_keys > 0
    assert eviction.used_memory(srv) <= used
    for i in range(1, 400, 2):  # the non-volatile keys are all there
        assert ex("EXISTS", f"key:{i}") == 1
    # Once every volatile key is gone, writes fail (no time limit: all are evicted at once).
    srv.config.set("maxmemory-eviction-tenacity", "100")
    srv.config.set("maxmemory", "1")
    assert is_error(ex("SET", "x", "y"), OOM)
    assert ex("EXISTS", *[f"key:{i}" for i in range(0, 400, 2)]) == 0
    assert ex("DBSIZE") == 201


def test_volatile_ttl_evicts_the_sooner_expiring_first():
    srv, ex, _ = make(maxmemory_policy="volatile-ttl", maxmemory_samples=10)
    fill(ex, 400, volatile_every=1)  # key:i expires in 10000 + i seconds
    used = eviction.used_memory(srv)
    srv.config.set("maxmemory", str(used - 20000))
    ex("SET", "x", "y")
    gone = [i for i in range(400) if ex("EXISTS", f"key:{i}") == 0]
    assert gone and sum(gone) / len(gone) < 150  # mostly from the early ones


def test_allkeys_lru_keeps_recently_used_keys():
    srv, ex, clock = make(maxmemory_policy="allkeys-lru", maxmemory_samples=10)
    fill(ex, 600)
    tick(srv, clock, 5)
    for i in range(300, 600):  # the second half is read 5 s later
        ex("GET", f"key:{i}")
    tick(srv, clock, 1)
    used = eviction.used_memory(srv)
    srv.config.set("maxmemory", str(used - 30000))
    ex("SET", "x", "y")
    gone = [i for i in range(600) if ex("EXISTS", f"key:{i}") == 0]
    assert len(gone) > 50
    assert sum(1 for i in gone if i < 300) / len(gone) > 0.95


def test_allkeys_lfu_keeps_frequently_used_keys():
    srv, ex, clock = make(maxmemory_policy="allkeys-lfu", maxmemory_samples=10)
    fill(ex, 600)
    for _ in range(30):
        for i in range(300, 600):
            ex("GET", f"key:{i}")
    used = eviction.used_memory(srv)
    srv.config.set("maxmemory", str(used - 30000))
    ex("SET", "x", "y")
    gone = [i for i in range(600) if ex("EXISTS", f"key:{i}") == 0]
    assert len(gone) > 50
    assert sum(1 for i in gone if i < 300) / len(gone) > 0.95


def test_keys_are_evicted_from_every_db():
    srv, ex, _ = make(maxmemory_policy="allkeys-random")
    for db in (0, 1, 2):
        ex("SELECT", db)
        fill(ex, 200)
    used = eviction.used_memory(srv)
    srv.config.set("maxmemory", str(used // 2))
    ex("SET", "x", "y")
    sizes = [len(srv.dbs[i].data) for i in (0, 1, 2)]
    assert all(s < 200 for s in sizes), sizes


def test_replica_ignores_maxmemory_by_default():
    srv, ex, _ = make(maxmemory_policy="allkeys-lru")
    ex("SET", "k", "v")
    srv.role = "slave"
    srv.config.set("maxmemory", "1")
    assert eviction.perform_evictions(srv) == eviction.EVICT_OK
    assert len(srv.dbs[0].data) == 1
    srv.config.set("replica-ignore-maxmemory", "no")
    assert eviction.perform_evictions(srv) == eviction.EVICT_FAIL  # all gone, still over
    assert len(srv.dbs[0].data) == 0
    srv.role = "master"


def test_eviction_stops_at_the_time_limit_and_the_cron_goes_on():
    srv, ex, clock = make(maxmemory_policy="allkeys-random", maxmemory_eviction_tenacity=0)
    fill(ex, 2000)
    used = eviction.used_memory(srv)
    limit = used - used // 100  # 1% over: evicted in slices (past 2%, all at once)
    srv.config.set("maxmemory", str(limit))
    # tenacity 0: no time at all, 16 keys per call; commands are not refused meanwhile
    assert ex("SET", "x", "y") == "OK"
    assert srv.stat_evicted_keys == 16
    for _ in range(10):
        tick(srv, clock, 0.1)
    assert eviction.used_memory(srv) <= limit
    assert srv.stat_evicted_keys < 200  # (the sampling list, 8 bytes a key, counts too)


def test_far_over_the_limit_eviction_ignores_the_time_limit():
    srv, ex, _ = make(maxmemory_policy="allkeys-random", maxmemory_eviction_tenacity=0)
    fill(ex, 2000)
    srv.config.set("maxmemory", str(eviction.used_memory(srv) // 2))
    assert ex("SET", "x", "y") == "OK"  # evicts first, then adds its own key
    assert eviction.used_memory(srv) <= srv.config["maxmemory"] + 4096


# -- access clocks -------------------------------------------------------------------------------


def test_object_idletime_and_what_touches_a_key():
    srv, ex, clock = make()
    ex("SET", "foo", "bar")
    tick(srv, clock, 3)
    ex("TTL", "foo")
    ex("TYPE", "foo")
    ex("EXISTS", "foo")
    ex("OBJECT", "ENCODING", "foo")
    assert ex("OBJECT", "IDLETIME", "foo") >= 3
    assert ex("TOUCH", "foo", "nokey") == 1
    assert ex("OBJECT", "IDLETIME", "foo") == 0
    tick(srv, clock, 2)
    ex("GET", "foo")
    assert ex("OBJECT", "IDLETIME", "foo") == 0
    tick(srv, clock, 2)
    ex("APPEND", "foo", "x")  # a write is an access too
    assert ex("OBJECT", "IDLETIME", "foo") == 0
    assert ex("OBJECT", "IDLETIME", "nokey") is None


def test_object_freq_and_the_policy_errors():
    srv, ex, clock = make()
    ex("SET", "foo", "bar")
    reply = ex("OBJECT", "FREQ", "foo")
    assert isinstance(reply, ErrorReply)
    assert reply.message.startswith("ERR An LFU maxmemory policy is not selected, access "
                                    "frequency not tracked.")
    srv.config.set("maxmemory-policy", "allkeys-lfu")
    ex("SET", "new", "v")
    assert ex("OBJECT", "FREQ", "new") == 5  # LFU_INIT_VAL
    reply = ex("OBJECT", "IDLETIME", "new")
    assert isinstance(reply, ErrorReply)
    assert reply.message.startswith("ERR An LFU maxmemory policy is selected, idle time not "
                                    "tracked.")
    for _ in range(200):
        ex("GET", "new")
    hot = ex("OBJECT", "FREQ", "new")
    assert 6 <= hot < 20  # logarithmic (lfu-log-factor 10)
    tick(srv, clock, 3 * 60)  # lfu-decay-time 1: one less per minute
    assert ex("OBJECT", "FREQ", "new") == hot - 3
    ex("TTL", "new")
    assert ex("OBJECT", "FREQ", "new") == hot - 3


def test_swapdb_keeps_access_words_and_accounting_with_the_data():
    srv, ex, clock = make()
    ex("SET", "a", "1")
    tick(srv, clock, 10)
    ex("SELECT", "1")
    ex("SET", "b", "2")
    ex("SWAPDB", "0", "1")
    assert ex("OBJECT", "IDLETIME", "a") >= 10
    before = eviction.used_memory(srv)
    ex("DEL", "a")
    assert eviction.used_memory(srv) < before


# -- client eviction -----------------------------------------------------------------------------


class Buffered(Pushes):
    """A connection holding ``omem`` bytes of replies not sent yet."""

    def __init__(self, omem: int):
        super().__init__()
        self.omem = omem
        self.killed = False

    def buffer_stats(self, now_ms):
        return (0, 0, 0, 0, 0, 0, 0, self.omem, 0)

    def kill(self):
        self.killed = True


def test_maxmemory_clients_closes_the_biggest_clients_first_and_spares_no_evict():
    from trioredis.client_memory import client_memory

    srv, ex, _ = make()
    clients = []
    for omem in (10_000, 50_000, 30_000, 90_000):
        c = srv.new_client()
        c.conn = Buffered(omem)
        clients.append(c)
    clients[3].no_evict = True  # the biggest, but NO-EVICT
    sizes = [client_memory(c, 0) for c in clients]
    limit = sum(sizes) - 40_000  # closing the 50 KB one is enough
    srv.config.set("maxmemory-clients", str(limit))
    assert [c.conn.killed for c in clients] == [False, True, False, False]
    assert clients[1].id not in srv.clients
    assert srv.stat_evicted_clients == 1
    assert "evicted_clients:1" in ex("INFO", "stats").decode()
    srv.config.set("maxmemory-clients", "0")
    assert ex("PING") == "PONG"


def test_maxmemory_clients_as_a_share_of_maxmemory():
    srv, ex, _ = make()
    srv.config.set("maxmemory-clients", "10%")
    assert eviction.client_eviction_limit(srv) == 0  # no maxmemory: no limit
    srv.config.set("maxmemory", "1000000")
    assert eviction.client_eviction_limit(srv) == 100_000

"""ACL against a real Redis 7.0: categories (ACL CAT), rule texts, DRYRUN, error texts."""

import pytest
import redis


def raw(client, *args):
    """A reply as the wire gave it (no redis-py response callbacks)."""
    conn = client.connection_pool.get_connection()
    try:
        conn.send_command(*args)
        return conn.read_response()
    finally:
        client.connection_pool.release(conn)


def _as_dict(reply):
    """A map reply (RESP3 dict, or RESP2 flat array)."""
    return reply if isinstance(reply, dict) else dict(zip(reply[::2], reply[1::2], strict=True))


def _names(replies):
    return {x.decode() for x in replies}


@pytest.fixture
def both(r, rr):
    rr.execute_command("ACL", "LOG", "RESET")
    for u in rr.execute_command("ACL", "USERS"):
        if u != b"default":
            rr.execute_command("ACL", "DELUSER", u)
    return r, rr


def test_acl_cat_lists_redis_categories_and_members(both):
    """Same categories; each command both servers have is in the same categories (commands
    only one side has: Redis Cluster's CLUSTER family here, TRIOCLUSTER there)."""
    ours, theirs = both
    cats = raw(ours, "ACL", "CAT")
    assert cats == raw(theirs, "ACL", "CAT")
    mine = {c: _names(raw(ours, "ACL", "CAT", c)) for c in cats}
    real = {c: _names(raw(theirs, "ACL", "CAT", c)) for c in cats}
    common = set().union(*mine.values()) & set().union(*real.values())
    assert len(common) > 300
    for c in cats:
        assert mine[c] & common == real[c] & common, c


@pytest.mark.parametrize("rules", [
    ["on", ">p1", "+@hash", "+get", "~a*", "&ch"],
    ["+@all", "-@string", "+incr", "%R~r*", "%W~w*"],  # (@dangerous: no RESTORE-ASKING here)
    ["-@all", "+acl", "+config", "-config|set", "+select|0"],
    ["+@all", "-client", "+client|id", "(+get ~k1)", "(%RW~x allchannels)"],
])
def test_setuser_list_and_getuser_match(both, rules):
    ours, theirs = both
    for side in both:
        assert side.execute_command("ACL", "SETUSER", "t", "reset", *rules) == b"OK"

    def fields(side):
        info = raw(side, "ACL", "GETUSER", "t")
        d = _as_dict(info)
        return d[b"keys"], d[b"channels"], sorted(d[b"commands"].split()), d[b"passwords"]

    assert fields(ours) == fields(theirs)


@pytest.mark.parametrize("argv", [
    ["GET", "r1"], ["SET", "r1", "v"], ["LPUSH", "w1", "x"], ["COPY", "r1", "w1"],
    ["COPY", "w1", "r1"], ["EVAL", "", "1", "r1"], ["EVAL_RO", "", "1", "r1"],
    ["SORT", "r1", "STORE", "w1"], ["PUBLISH", "zz", "m"], ["MIGRATE", "h", "1", "", "0", "5",
    "KEYS", "w1"], ["SPUBLISH", "ch", "m"], ["SUBSCRIBE", "ch", "other"], ["FLUSHALL"],
])
def test_dryrun_matches(both, argv):
    for side in both:
        side.execute_command("ACL", "SETUSER", "d", "reset", "on", "+@all", "-flushall",
                             "%R~r*", "%W~w*", "&ch")
    ours, theirs = both
    assert raw(ours, "ACL", "DRYRUN", "d", *argv) == raw(theirs, "ACL", "DRYRUN", "d", *argv)


@pytest.mark.parametrize("argv", [
    ["ACL", "SETUSER", "x", "+nosuch"], ["ACL", "SETUSER", "x", "(~a", "+get"],
    ["ACL", "SETUSER", "x", "allkeys", "~k"], ["ACL", "SETUSER", "a b"],
    ["ACL", "DELUSER", "default"], ["ACL", "GENPASS", "5000"], ["ACL", "CAT", "nosuch"],
    ["ACL", "LOAD"], ["ACL", "DRYRUN", "nouser", "get", "k"], ["ACL", "LOG", "x"],
    ["AUTH", "nouser", "pw"], ["CLIENT", "KILL", "USER", "nouser"],
])
def test_error_texts_match(both, argv):
    results = []
    for side in both:
        try:
            results.append(raw(side, *argv))
        except redis.RedisError as e:
            results.append(str(e))
    assert results[0] == results[1]


def test_noperm_texts_and_log_match(server, real_redis):
    out = []
    for port in (server.port, real_redis.port):
        admin = redis.Redis(port=port)
        admin.execute_command("ACL", "LOG", "RESET")
        admin.execute_command("ACL", "SETUSER", "n", "reset", "on", "nopass", "+get",
                              "+publish", "~a*", "resetchannels")
        c = redis.Redis(port=port)
        c.execute_command("AUTH", "n", "x")
        texts = []
        for argv in (["GET", "b"], ["SET", "a", "1"], ["PUBLISH", "ch", "m"]):
            try:
                c.execute_command(*argv)
            except redis.ResponseError as e:
                texts.append(str(e))
        log = raw(admin, "ACL", "LOG")
        entries = [{k: v for k, v in _as_dict(e).items()
                    if k in (b"count", b"reason", b"context", b"object", b"username")}
                   for e in log]
        out.append((texts, entries))
        admin.execute_command("ACL", "DELUSER", "n")
    assert out[0] == out[1]

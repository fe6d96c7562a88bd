"""RESTORE ... IDLETIME / FREQ set the restored key's access word as Redis's
objectSetLRUOrLFU does (unit/dump: "RESTORE can set LRU", "RESTORE can set LFU"), compared
with a real Redis 7.0."""

from __future__ import annotations

import redis


def _scenario(r: redis.Redis) -> list:
    out = []
    r.set("foo", "bar")
    payload = r.dump("foo")
    for policy, option, value in [
        ("allkeys-lru", "IDLETIME", 1000),
        ("noeviction", "IDLETIME", 50),  # IDLETIME counts under any policy but LFU
        ("allkeys-lfu", "FREQ", 100),
        ("allkeys-lfu", "IDLETIME", 1000),  # ignored: a new key's counter (5)
        ("volatile-lru", "FREQ", 7),  # ignored: just restored, idle 0
    ]:
        r.config_set("maxmemory-policy", policy)
        r.delete("foo")
        kw = {"idletime": value} if option == "IDLETIME" else {"frequency": value}
        out.append(r.restore("foo", 0, payload, **kw))
        if policy.endswith("lfu"):
            out.append(("freq", r.object("freq", "foo")))
        else:
            out.append(("idle", min(r.object("idletime", "foo"), value + 1)))
        out.append(r.get("foo"))
    r.config_set("maxmemory-policy", "noeviction")
    return out


def test_restore_sets_idle_time_or_frequency(r, rr):
    ours = _scenario(r)
    assert ours[1] == ("idle", 1000) and ours[7] == ("freq", 100)
    assert ours == _scenario(rr)

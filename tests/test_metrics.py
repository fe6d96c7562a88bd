"""GET /metrics on the gateway port: Prometheus text, read back with prometheus-client's own
parser, against what the server did (commands run, keys written, replicas, the HA group)."""

from __future__ import annotations

import socket
import time
import urllib.error
import urllib.request

import pytest
import redis

import trioredis

parser = pytest.importorskip("prometheus_client.parser")
from trioredis import metrics  # noqa: E402  (needs prometheus-client)


def scrape_text(port: int, token: str | None = None) -> str:
    req = urllib.request.Request(f"http://127.0.0.1:{port}/metrics")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return resp.read().decode()


def samples(text: str) -> dict:
    """{(name, frozenset(labels)): value} for every sample, via prometheus-client's parser."""
    out = {}
    for fam in parser.text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(sm: dict, name: str, **labels) -> float:
    return sm[(name, frozenset(labels.items()))]


def test_metrics_follow_what_the_server_did():
    with trioredis.run_in_thread({"ws_port": -1, "latency_tracking": "yes",
                                  "maxmemory": "100mb"}) as srv:
        port = srv.server.gateway_port
        r = redis.Redis(port=srv.port)
        r.config_resetstat()  # command counters are per process, shared by servers
        for i in range(7):
            r.set(f"k{i}", i)
        r.expire("k0", 100)
        r.get("k1")
        r.get("nothere")
        r.get("nothere2")
        with pytest.raises(redis.ResponseError):
            r.lpush("k2", "x")  # WRONGTYPE
        r.select(3)
        r.set("other", 1)
        blocked = redis.Redis(port=srv.port)
        blocked.client_setname("blocker")
        import threading

        t = threading.Thread(target=blocked.blpop, args=("nolist", 5))
        t.start()
        deadline = time.monotonic() + 5
        while r.info("clients")["blocked_clients"] != 1:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        sm = samples(scrape_text(port))
        redis.Redis(port=srv.port).lpush("nolist", "x")  # db 0, where BLPOP waits
        t.join(5)
        assert not t.is_alive()

    assert value(sm, "redis_connected_clients") == 2
    assert value(sm, "redis_blocked_clients") == 1
    assert value(sm, "redis_memory_max_bytes") == 100 * 1024 * 1024
    assert value(sm, "redis_memory_used_bytes") > 0
    assert value(sm, "redis_commands_total", cmd="set") == 8
    assert value(sm, "redis_commands_total", cmd="get") == 3
    assert value(sm, "redis_commands_failed_calls_total", cmd="lpush") == 1
    assert value(sm, "redis_commands_duration_seconds_total", cmd="set") > 0
    assert value(sm, "redis_latency_percentiles_seconds", cmd="get", quantile="99") > 0
    assert value(sm, "redis_keyspace_hits_total") == 1
    assert value(sm, "redis_keyspace_misses_total") == 2
    assert value(sm, "redis_db_keys", db="db0") == 7
    assert value(sm, "redis_db_keys_expiring", db="db0") == 1
    assert value(sm, "redis_db_keys", db="db3") == 1
    assert value(sm, "redis_errors_by_prefix_total", err="WRONGTYPE") == 1
    assert value(sm, "redis_rdb_changes_since_last_save") == 9  # 8 SET, 1 EXPIRE
    assert value(sm, "redis_aof_enabled") == 0
    assert value(sm, "redis_rdb_last_bgsave_status") == 1
    assert value(sm, "redis_master_repl_offset") == 0
    assert value(sm, "redis_connected_slaves") == 0
    info = [k for k in sm if k[0] == "redis_instance_info"]
    assert len(info) == 1 and ("role", "master") in info[0][1]
    assert ("redis_version", "7.0.15") in info[0][1]
    assert value(sm, "trioredis_gateway_sessions") == 0
    assert ("trioredis_ha_term", frozenset()) not in sm  # standalone: no HA metrics


def test_gateway_sessions_and_drops_are_counted():
    import trio
    from trio_websocket import open_websocket_url  # noqa: F401  (the gateway extra)

    with trioredis.run_in_thread({"ws_port": -1}) as srv:
        port = srv.server.gateway_port

        async def client():
            async with open_websocket_url(f"ws://127.0.0.1:{port}/ws") as ws:
                await ws.get_message()  # welcome
                sm = samples(await trio.to_thread.run_sync(scrape_text, port))
                assert value(sm, "trioredis_gateway_sessions") == 1
                await ws.send_message("{not json")
                with trio.fail_after(5):
                    while True:
                        await ws.get_message()

        from trio_websocket import ConnectionClosed

        with pytest.raises(ConnectionClosed):
            trio.run(client)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                         b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                         b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                         b"Origin: http://evil.example\r\n\r\n")
            assert sock.recv(100).startswith(b"HTTP/1.1 403 ")
        deadline = time.monotonic() + 5
        while True:
            sm = samples(scrape_text(port))
            if value(sm, "trioredis_gateway_sessions") == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.02)
    assert value(sm, "trioredis_gateway_sessions") == 0
    assert value(sm, "trioredis_gateway_sessions_opened_total") == 1
    assert value(sm, "trioredis_gateway_drops_total", reason="bad_json") == 1
    assert value(sm, "trioredis_gateway_refused_total", status="403") == 1


def test_metrics_need_the_token_when_one_is_set():
    with trioredis.run_in_thread({"ws_port": -1, "requirepass": "s3cret"}) as srv:
        port = srv.server.gateway_port
        with pytest.raises(urllib.error.HTTPError) as e:
            scrape_text(port)
        assert e.value.code == 401
        with pytest.raises(urllib.error.HTTPError) as e:
            scrape_text(port, "wrong")
        assert e.value.code == 401
        sm = samples(scrape_text(port, "s3cret"))
        assert value(sm, "redis_connected_clients") == 0


def _render(srv) -> dict:
    return samples(srv.call(metrics.render, srv.server).decode())


def test_replica_offsets_and_lag(trioredis_replica):
    master, replica = trioredis_replica
    r = redis.Redis(port=master.port)
    for i in range(20):
        r.set(f"k{i}", "v" * 100)
    r.wait(1, 5000)
    deadline = time.monotonic() + 10
    while True:
        m = _render(master)
        offs = [v for (n, lab), v in m.items() if n == "redis_connected_slave_offset_bytes"]
        if offs and offs[0] == value(m, "redis_master_repl_offset"):
            break
        assert time.monotonic() < deadline, m
        time.sleep(0.05)
    assert value(m, "redis_connected_slaves") == 1
    assert value(m, "redis_master_repl_offset") > 2000
    lag = [(lab, v) for (n, lab), v in m.items() if n == "redis_connected_slave_lag_seconds"]
    assert len(lag) == 1 and dict(lag[0][0])["slave_port"] == str(replica.port)
    assert dict(lag[0][0])["slave_state"] == "online" and lag[0][1] <= 2
    behind = [v for (n, _), v in m.items() if n == "redis_connected_slave_behind_bytes"]
    assert behind == [0]
    s = _render(replica)
    assert value(s, "redis_master_link_up") == 1
    assert value(s, "redis_slave_repl_offset") == value(m, "redis_master_repl_offset")
    assert any(n == "redis_instance_info" and ("role", "slave") in lab for n, lab in s)


@pytest.mark.slow
def test_ha_group_term_and_roles(trioredis_ha_group):
    leader, *followers = trioredis_ha_group
    lm = _render(leader)
    term = value(lm, "trioredis_ha_term")
    assert term >= 1
    assert value(lm, "trioredis_ha_members") == 3
    assert value(lm, "trioredis_ha_state_ok") == 1
    roles = {dict(lab)["role"] for (n, lab), v in lm.items() if n == "trioredis_ha_role"}
    assert roles == {"leader"}
    members = [dict(lab) for (n, lab), _ in lm.items()
               if n == "trioredis_ha_member_offset_bytes"]
    assert len(members) == 3
    assert sorted(m["role"] for m in members).count("leader") == 1
    for f in followers:
        fm = _render(f)
        assert value(fm, "trioredis_ha_term") == term
        roles = {dict(lab)["role"] for (n, lab), v in fm.items() if n == "trioredis_ha_role"}
        assert roles == {"follower"}


def test_without_prometheus_client_the_route_says_what_to_install(monkeypatch):
    import sys

    from trioredis.gateway import protocol as P
    from trioredis.gateway import routes

    class FakeGw:
        config = {"ws-token": "", "requirepass": ""}
        server = None

    monkeypatch.delattr(trioredis, "metrics", raising=False)
    monkeypatch.setitem(sys.modules, "trioredis.metrics", None)  # the import fails
    resp = routes.answer(FakeGw(), P.parse_head(b"GET /metrics HTTP/1.1\r\nHost: x\r\n"))
    assert resp.startswith(b"HTTP/1.1 501 ")
    assert b"pip install 'trioredis[gateway]'" in resp
    assert routes.answer(FakeGw(), P.parse_head(b"GET / HTTP/1.1\r\n")) is None

"""Command timing and what it feeds: SLOWLOG, INFO commandstats/latencystats, LATENCY.

Unit tests on the sans-I/O parts (latency.py's HDR buckets, slow log entries, the latency
monitor's samples and graph) and on ``core.Server``; differential tests against real Redis
for what durations do not change (entry shapes, counts, histograms' shapes, reports).
Command statistics live in the process-wide command table: every test starts with
CONFIG RESETSTAT.
"""

from __future__ import annotations

import re
import threading
import time

import pytest
import redis

from tests.helpers import RawClient, RealRedis, ThreadedServer, have_real_redis
from trioredis import latency
from trioredis.config import Config
from trioredis.core import ManualClock, Server
from trioredis.protocol.replies import ErrorReply, Verbatim

real = pytest.mark.skipif(not have_real_redis(), reason="redis-server not installed")


def make_server(**cfg) -> Server:
    config = Config()
    for k, v in cfg.items():
        config.set(k.replace("_", "-"), str(v), startup=True)
    return Server(config, clock=ManualClock())


def run(srv: Server, c, *args):
    return srv.execute(c, [a if isinstance(a, bytes) else str(a).encode() for a in args])


@pytest.fixture
def unit():
    srv = make_server()
    c = srv.new_client("127.0.0.1:5000", "127.0.0.1:6379", 9)
    run(srv, c, "CONFIG", "RESETSTAT")
    return srv, c


# -- HDR buckets -------------------------------------------------------------------------------


def test_hdr_buckets_match_hdr_histogram():
    # 2 significant figures: exact below 256 ns, then 128 sub-buckets per power of two.
    for ns in (1, 2, 255):
        i = latency.index_of_ns(ns)
        assert latency.lowest_of(i) == latency.highest_of(i) == ns
    assert latency.highest_of(latency.index_of_ns(1024)) == 1031
    assert latency.highest_of(latency.index_of_ns(2048)) == 2063
    assert latency.lowest_of(latency.index_of_ns(1_633_000)) == 1_630_208
    assert latency.highest_of(latency.index_of_ns(1_633_000)) == 1_638_399
    assert latency.index_of_ns(2**30 - 1) == latency.COUNTS_LEN - 1
    previous = -1
    for ns in range(1, 300_000, 7):  # monotonic, and every value inside its bucket
        i = latency.index_of_ns(ns)
        assert i >= previous and latency.lowest_of(i) <= ns <= latency.highest_of(i)
        previous = i
    for us in (0, 1, 999, 1000, 16383):
        assert latency.US_INDEX[us] == latency.index_of_ns(max(us * 1000, 1))
    assert latency.index_of_us(5_000_000) == latency.index_of_ns(latency.HIST_MAX_NS)


class _Cmd:
    latency_hist = None


def _hist(*durations_us):
    cmd = _Cmd()
    for us in durations_us:
        latency.record(cmd, us)
    return cmd.latency_hist


def test_cumulative_distribution_and_percentiles():
    # What real Redis 7.0.15 reported for DEBUG SLEEP 0.001/0.002/0.003/0.01/0.1.
    h = _hist(1122, 2300, 3300, 10200, 100100)
    b = latency.buckets(h)
    assert latency.histogram_total(h) == 5
    assert latency.cumulative_distribution(b) == [
        (2113, 1), (4227, 3), (16908, 4), (135266, 5)]
    # A brute-force reading of the same definition: per level, the values up to its bucket.
    values = [1122, 2300, 3300, 10200, 100100]
    level, expected = 1024, []
    while level < 2**30:
        top = latency.highest_of(latency.index_of_ns(level))
        n = sum(1 for us in values if us * 1000 <= top)
        if n and (not expected or n > expected[-1][1]):
            expected.append((top // 1000, n))
        level <<= 1
    assert latency.cumulative_distribution(b) == expected
    one = latency.buckets(_hist(1633))
    assert latency.value_at_percentile(one, 0.0) == 1_630_208  # lowest, as Redis's p0
    assert latency.value_at_percentile(one, 50.0) == 1_638_399
    assert latency.percentiles_line("debug", _hist(1633), [0.0, 50.0, 99.9, 100.0]) == (
        "latency_percentiles_usec_debug:p0=1630.208,p50=1638.399,p99.9=1638.399,"
        "p100=1638.399")
    assert latency.cumulative_distribution(latency.buckets(_hist(0))) == [(1, 1)]
    assert latency.format_percentile(99.9) == "99.9" and latency.format_percentile(50.0) == "50"


# -- the slow log ------------------------------------------------------------------------------


def test_slowlog_entries_are_trimmed_as_redis():
    argv = [b"sadd", b"set"] + [str(i).encode() for i in range(3, 34)]
    out = latency.slowlog_args(argv)
    assert len(out) == 32 and out[-1] == b"... (2 more arguments)" and out[-2] == b"31"
    out = latency.slowlog_args([b"sadd", b"set", b"foo", b"A" * 129])
    assert out[3] == b"A" * 128 + b"... (1 more bytes)"
    assert latency.slowlog_args([b"x"] * 32) == [b"x"] * 32


def test_slowlog_records_commands_over_the_threshold(unit):
    srv, c = unit
    c.name = b"foobar"
    assert run(srv, c, "SLOWLOG", "LEN") == 0
    assert run(srv, c, "CONFIG", "SET", "slowlog-log-slower-than", "0") == "OK"
    run(srv, c, "SET", "k", "v")
    entries = run(srv, c, "SLOWLOG", "GET")
    assert [e[3] for e in entries] == [[b"SET", b"k", b"v"],
                                       [b"CONFIG", b"SET", b"slowlog-log-slower-than", b"0"]]
    newest = entries[0]
    assert newest[0] == 1 and newest[4] == b"127.0.0.1:5000" and newest[5] == b"foobar"
    assert newest[2] >= 0 and abs(newest[1] - time.time()) < 5
    run(srv, c, "CONFIG", "SET", "slowlog-max-len", "3")
    for _ in range(10):
        run(srv, c, "PING")
    assert run(srv, c, "SLOWLOG", "LEN") == 3
    assert len(run(srv, c, "SLOWLOG", "GET", "1")) == 1
    assert len(run(srv, c, "SLOWLOG", "GET", "-1")) == 3
    assert run(srv, c, "SLOWLOG", "GET", "0") == []
    err = run(srv, c, "SLOWLOG", "GET", "-2")
    assert isinstance(err, ErrorReply)
    assert err.message == "ERR count should be greater than or equal to -1"
    assert run(srv, c, "SLOWLOG", "RESET") == "OK"
    ids = run(srv, c, "SLOWLOG", "GET")[0][0]
    assert ids > 10  # RESET keeps the ids counting
    run(srv, c, "CONFIG", "SET", "slowlog-log-slower-than", "-1")
    run(srv, c, "SLOWLOG", "RESET")
    run(srv, c, "PING")
    assert run(srv, c, "SLOWLOG", "LEN") == 0
    run(srv, c, "CONFIG", "SET", "slowlog-log-slower-than", "10000000")
    run(srv, c, "PING")
    assert run(srv, c, "SLOWLOG", "LEN") == 0


def test_slowlog_skips_exec_logs_what_it_ran_and_redacts_secrets(unit):
    srv, c = unit
    run(srv, c, "CONFIG", "SET", "slowlog-log-slower-than", "0")
    run(srv, c, "SLOWLOG", "RESET")
    run(srv, c, "MULTI")
    run(srv, c, "INCR", "n")
    run(srv, c, "EXEC")
    run(srv, c, "CONFIG", "SET", "masterauth", "secret")
    run(srv, c, "AUTH", "user", "pass")
    assert [e[3] for e in run(srv, c, "SLOWLOG", "GET")] == [
        [b"AUTH", b"(redacted)", b"(redacted)"],
        [b"CONFIG", b"SET", b"masterauth", b"(redacted)"],
        [b"INCR", b"n"], [b"MULTI"], [b"SLOWLOG", b"RESET"]]


# -- INFO commandstats / latencystats ----------------------------------------------------------


def _stat(srv, c, section, name):
    text = run(srv, c, "INFO", section).decode()
    m = re.search(rf"\r\n{re.escape(name)}:(.*?)\r\n", text)
    return m.group(1) if m else None


def test_commandstats_time_and_failures(unit):
    srv, c = unit
    run(srv, c, "SET", "k", "v")
    run(srv, c, "SET", "k")  # rejected: arity
    run(srv, c, "MULTI")
    run(srv, c, "SET", "k")
    run(srv, c, "EXEC")  # EXECABORT: a failed EXEC
    line = _stat(srv, c, "commandstats", "cmdstat_set")
    m = re.fullmatch(r"calls=1,usec=(\d+),usec_per_call=(\d+\.\d\d),rejected_calls=2,"
                     r"failed_calls=0", line)
    assert m and float(m.group(2)) == float(m.group(1))
    assert _stat(srv, c, "commandstats", "cmdstat_exec").endswith(
        "rejected_calls=0,failed_calls=1")
    run(srv, c, "DEBUG", "SLEEP", "0")  # refused (enable-debug-command no): a failed call
    assert _stat(srv, c, "commandstats", "cmdstat_debug").endswith("failed_calls=1")
    run(srv, c, "CONFIG", "RESETSTAT")
    assert _stat(srv, c, "commandstats", "cmdstat_set") is None


def test_latencystats_follow_the_config(unit):
    srv, c = unit
    run(srv, c, "SET", "a", "b")
    assert re.fullmatch(r"p50=\d+\.\d{3},p99=\d+\.\d{3},p99\.9=\d+\.\d{3}",
                        _stat(srv, c, "latencystats", "latency_percentiles_usec_set"))
    run(srv, c, "CONFIG", "SET", "latency-tracking-info-percentiles", "0.0 50.0 100.0")
    assert _stat(srv, c, "latencystats", "latency_percentiles_usec_set").startswith("p0=")
    run(srv, c, "CLIENT", "ID")
    assert _stat(srv, c, "latencystats", "latency_percentiles_usec_client|id")
    run(srv, c, "CONFIG", "SET", "latency-tracking", "no")
    assert _stat(srv, c, "latencystats", "latency_percentiles_usec_set") is None
    run(srv, c, "CONFIG", "SET", "latency-tracking", "yes")
    run(srv, c, "CONFIG", "RESETSTAT")
    assert _stat(srv, c, "latencystats", "latency_percentiles_usec_set") is None
    run(srv, c, "CONFIG", "SET", "latency-tracking-info-percentiles", "50 99 99.9")


def test_latency_histogram_reply(unit):
    srv, c = unit
    run(srv, c, "SET", "a", "b")
    run(srv, c, "SET", "a", "b")
    run(srv, c, "CLIENT", "ID")
    hist = run(srv, c, "LATENCY", "HISTOGRAM", "set", "nosuch", "client")
    assert list(hist) == [b"set", b"client|id"]
    assert hist[b"set"][b"calls"] == 2
    assert sum(1 for _ in hist[b"set"][b"histogram_usec"]) >= 1
    assert list(hist[b"set"][b"histogram_usec"].values())[-1] == 2
    everything = run(srv, c, "LATENCY", "HISTOGRAM")
    assert {b"set", b"client|id", b"latency|histogram"} <= set(everything)
    run(srv, c, "CONFIG", "RESETSTAT")
    assert list(run(srv, c, "LATENCY", "HISTOGRAM")) == [b"config|resetstat"]


# -- the latency monitor -----------------------------------------------------------------------


def test_latency_monitor_samples_latest_history_reset(unit):
    srv, c = unit
    mon = srv.timing.monitor
    mon.add_if_needed("command", 500)  # threshold 0: the monitor is off
    assert mon.events == {}
    run(srv, c, "CONFIG", "SET", "latency-monitor-threshold", "100")
    mon.add_if_needed("command", 99)
    assert mon.events == {}
    ts = mon.events.setdefault("command", latency.TimeSeries())
    ts.add(1000, 150)
    ts.add(1000, 120)  # the same second keeps the highest
    ts.add(1001, 300)
    ts.add(1002, 200)
    assert run(srv, c, "LATENCY", "HISTORY", "command") == [[1000, 150], [1001, 300],
                                                            [1002, 200]]
    assert run(srv, c, "LATENCY", "LATEST") == [[b"command", 1002, 200, 300]]
    assert run(srv, c, "LATENCY", "HISTORY", "nosuch") == []
    for t in range(2000, 2000 + latency.LATENCY_TS_LEN + 5):  # a ring of 160 samples
        ts.add(t, 100)
    assert len(run(srv, c, "LATENCY", "HISTORY", "command")) == latency.LATENCY_TS_LEN
    assert run(srv, c, "LATENCY", "RESET", "nosuch") == 0
    assert run(srv, c, "LATENCY", "RESET") == 1 and run(srv, c, "LATENCY", "LATEST") == []
    err = run(srv, c, "LATENCY", "GRAPH", "command")
    assert err.message == "ERR No samples available for event 'command'"


def test_latency_graph_and_doctor_text(unit):
    srv, c = unit
    run(srv, c, "CONFIG", "SET", "latency-monitor-threshold", "5")
    now = int(time.time())
    ts = srv.timing.monitor.events.setdefault("command", latency.TimeSeries())
    ts.add(now, 20)
    graph = run(srv, c, "LATENCY", "GRAPH", "command")
    assert isinstance(graph, Verbatim)
    # Real Redis 7.0.15's graph of one 20 ms sample taken this second.
    assert graph == (b"command - high 20 ms, low 20 ms (all time high 20 ms)\n" + b"-" * 80
                     + b"\n \n \n \n_\n \n0\ns\n")
    doctor = run(srv, c, "LATENCY", "DOCTOR").decode()
    assert doctor.startswith("Dave, I have observed latency spikes in this Redis instance.")
    assert ("1. command: 1 latency spikes (average 20ms, mean deviation 0ms, period 1.00 sec). "
            "Worst all time event 20ms.\n") in doctor
    assert "CONFIG SET slowlog-log-slower-than 5000" in doctor
    run(srv, c, "LATENCY", "RESET")
    assert run(srv, c, "LATENCY", "DOCTOR").startswith(b"Dave, no latency spike was observed")


def test_sparkline_scales_between_min_and_max():
    out = latency.sparkline([0, 10, 20, 30], ["", "", "", ""], 80, 1)
    assert out == "_o##\n"  # one row, no labels
    # Blocks of ``columns`` samples, separated by an empty line, scaled on the whole sequence;
    # labels vertical under a blank row (sparklineRender's integer steps).
    two_blocks = latency.sparkline(list(range(5)), ["1s"] * 5, 3, 1)
    assert two_blocks == "__o\n   \n111\nsss\n\n##\n  \n11\nss\n"


# -- through sockets, beside real Redis --------------------------------------------------------


def _commandstat(r, name):
    info = r.execute_command("INFO", "commandstats")
    return info.get(f"cmdstat_{name}")


def _blocking_script(port: int) -> dict:
    """Served, timed-out and CLIENT UNBLOCK-ed BLPOPs: what commandstats, the histogram and the
    slow log say about them (durations left out)."""
    r = redis.Redis(port=port, socket_timeout=10)
    r2 = redis.Redis(port=port, socket_timeout=10)
    r.config_resetstat()
    r.config_set("slowlog-log-slower-than", 0)
    r.slowlog_reset()
    r.delete("q")
    cid = r2.client_id()
    out = {}
    t = threading.Thread(target=lambda: out.setdefault("served", r2.blpop("q", 0)))
    t.start()
    _wait_blocked(r)
    r.lpush("q", "x")
    t.join(10)
    out["after_served"] = _commandstat(r, "blpop")
    out["hist_served"] = r.execute_command("LATENCY", "HISTOGRAM", "blpop")
    out["timeout"] = r2.blpop("q", 0.05)
    out["after_timeout"] = _commandstat(r, "blpop")

    def unblocked():
        try:
            r2.blpop("q", 0)
        except redis.ResponseError as e:
            out["error"] = str(e)

    t = threading.Thread(target=unblocked)
    t.start()
    _wait_blocked(r)
    r.execute_command("CLIENT", "UNBLOCK", cid, "ERROR")
    t.join(10)
    out["after_error"] = _commandstat(r, "blpop")
    r.config_set("slowlog-log-slower-than", -1)
    out["slowlog"] = [re.sub(rb"UNBLOCK \d+", b"UNBLOCK id", e["command"])
                      for e in r.slowlog_get(-1)
                      # (polling, and redis-py's CLIENT SETINFO that Redis 7.0 refuses)
                      if e["command"] != b"INFO clients"
                      and not e["command"].startswith(b"CLIENT SETINFO")]
    out["hist_calls"] = _hist_calls(r.execute_command("LATENCY", "HISTOGRAM", "blpop"))
    r.config_set("slowlog-log-slower-than", 10000)
    r.close()
    r2.close()
    for k in ("after_served", "after_timeout", "after_error"):
        out[k] = {f: out[k][f] for f in ("calls", "rejected_calls", "failed_calls")}
    out["hist_served"] = _hist_calls(out["hist_served"])
    return out


def _hist_calls(reply):
    """The calls of the one command of a LATENCY HISTOGRAM reply (None when empty)."""
    if not reply:
        return None
    entry = list(reply.values())[0] if isinstance(reply, dict) else reply[1]
    if isinstance(entry, dict):
        return entry.get(b"calls", entry.get("calls"))
    return entry[1]


def _wait_blocked(r, deadline: float = 10.0) -> None:
    end = time.monotonic() + deadline
    while r.info("clients")["blocked_clients"] < 1:
        assert time.monotonic() < end, "the client never blocked"
        time.sleep(0.005)


@real
def test_blocked_commands_are_counted_as_redis(server, real_redis):
    ours = _blocking_script(server.port)
    theirs = _blocking_script(real_redis.port)
    assert ours == theirs
    # One call, its time recorded when a key served it; a timeout adds a call and nothing else;
    # CLIENT UNBLOCK ERROR a failed call logged without its arguments (Redis has freed them).
    assert theirs["after_served"] == {"calls": 1, "rejected_calls": 0, "failed_calls": 0}
    assert theirs["hist_served"] == 1 and theirs["hist_calls"] == 2
    log = theirs["slowlog"]  # newest first
    assert log[:3] == [b"INFO commandstats", b"CLIENT UNBLOCK id ERROR", b""]
    assert log[log.index(b"BLPOP q 0") + 1] == b"LPUSH q x"


def _mask(data: bytes) -> bytes:
    return re.sub(rb":\d+\r\n", b":N\r\n", data)


@real
@pytest.mark.parametrize("resp3", [False, True])
def test_latency_histogram_shape_matches_redis(server, real_redis, resp3):
    a, b = RawClient(real_redis.port), RawClient(server.port)
    try:
        for cl in (a, b):
            if resp3:
                cl.command("HELLO", "3")
            cl.command("CONFIG", "RESETSTAT")
            cl.command("SET", "a", "b")
            cl.command("GET", "a")
            cl.command("CLIENT", "ID")
        for cmd in (("LATENCY", "HISTOGRAM", "set"), ("LATENCY", "HISTOGRAM", "blabla"),
                    ("LATENCY", "HISTOGRAM", "client|id", "nosuch"),
                    ("LATENCY", "HISTOGRAM", "client"), ("LATENCY", "HELP"),
                    ("SLOWLOG", "HELP"), ("LATENCY", "HELP", "x")):
            assert _mask(b.command(*cmd)) == _mask(a.command(*cmd)), cmd
        for cl in (a, b):
            cl.command("CONFIG", "SET", "latency-tracking-info-percentiles", "0.0 50.0 100.0")
        assert b.command("CONFIG", "GET", "latency-tracking-info-percentiles") == a.command(
            "CONFIG", "GET", "latency-tracking-info-percentiles")
        ours = re.sub(rb"=\d+\.\d{3}", b"=X", b.command("INFO", "latencystats"))
        theirs = re.sub(rb"=\d+\.\d{3}", b"=X", a.command("INFO", "latencystats"))
        pick = rb"latency_percentiles_usec_(?:set|get|client\|id):[^\r]*"
        assert sorted(re.findall(pick, ours)) == sorted(re.findall(pick, theirs))
        a.command("CONFIG", "SET", "latency-tracking-info-percentiles", "50 99 99.9")
    finally:
        a.close()
        b.close()


@real
def test_latency_events_of_slow_commands_match_redis():
    real_srv = RealRedis("--enable-debug-command", "yes")
    try:
        with ThreadedServer(enable_debug_command="yes") as ours:
            outputs = []
            for port in (real_srv.port, ours.port):
                r = redis.Redis(port=port, socket_timeout=10)
                r.config_set("latency-monitor-threshold", 10)
                r.execute_command("DEBUG", "SLEEP", "0.05")
                latest = r.execute_command("LATENCY", "LATEST")
                graph = r.execute_command("LATENCY", "GRAPH", "command")
                doctor = r.execute_command("LATENCY", "DOCTOR")
                r.close()
                assert latest[0][0] == b"command" and latest[0][2] >= 50
                digits = re.compile(rb"\d+")
                outputs.append((len(latest), digits.sub(b"N", graph), digits.sub(b"N", doctor)))
            assert outputs[0] == outputs[1]
    finally:
        real_srv.stop()

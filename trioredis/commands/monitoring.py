"""SLOWLOG, LATENCY and MONITOR: watching the server at work.

Commands are not timed here, so the slow log and the latency events are empty unless something
fills ``server.slowlog`` / ``server.latency_events``; MONITOR feeds every monitoring client one
line per command through the "monitor" hook of ``Server.call``.
"""

from __future__ import annotations

import time

from ..config import canonical
from ..errors import CommandError
from ..protocol.replies import OK, Raw, Verbatim
from .args import to_int
from .config_cmd import SENSITIVE_CONFIGS
from .connection import subcommand_syntax_error
from .introspection import all_names, lookup_full
from .registry import command, container
from .server import help_reply


def _containers() -> None:
    for name, group, since, summary in (
        ("slowlog", "server", "2.2.12", "A container for slow log commands"),
        ("latency", "server", "2.8.13", "A container for latency diagnostics commands"),
    ):
        container(name, group=group, since=since, summary=summary).complexity = (
            "Depends on subcommand."
        )


_containers()


# -- SLOWLOG and LATENCY ---------------------------------------------------------------------


def _slowlog(srv) -> list:
    """Entries ``[id, unix time, usec, argv, addr, name]``, newest first (empty: commands
    are not timed; a module that times them may fill ``server.slowlog``)."""
    log = getattr(srv, "slowlog", None)
    if log is None:
        log = srv.slowlog = []
    return log


@command("slowlog|get", -2, "admin loading stale", group="server", since="2.2.12",
         complexity="O(N) where N is the number of entries returned")
def slowlog_get(c, argv):
    """Get the slow log's entries"""
    if len(argv) > 3:
        raise subcommand_syntax_error(argv)
    count = 10
    if len(argv) == 3:
        count = to_int(argv[2])
        if count is None or count < -1:
            raise CommandError("ERR count should be greater than or equal to -1")
    log = _slowlog(c.server)
    entries = log if count == -1 else log[:count]
    return [list(e) for e in entries]


@command("slowlog|len", 2, "admin loading stale", group="server", since="2.2.12",
         complexity="O(1)")
def slowlog_len(c, argv):
    """Get the slow log's length"""
    return len(_slowlog(c.server))


@command("slowlog|reset", 2, "admin loading stale", group="server", since="2.2.12",
         complexity="O(N) where N is the number of entries in the slowlog")
def slowlog_reset(c, argv):
    """Clear all entries from the slow log"""
    _slowlog(c.server).clear()
    return OK


@command("slowlog|help", 2, "loading stale", group="server", since="6.2.0", complexity="O(1)")
def slowlog_help(c, argv):
    """Show helpful text about the different subcommands"""
    return help_reply("SLOWLOG", [
        "GET [<count>]",
        "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
        "    Entries are made of:",
        "    id, timestamp, time in microseconds, arguments array, client IP and port,",
        "    client name",
        "LEN",
        "    Return the length of the slowlog.",
        "RESET",
        "    Reset the slowlog.",
    ])


def _latency_events(srv) -> dict:
    """event name -> [(unix time, latency ms), ...] (empty: nothing is timed here)."""
    ev = getattr(srv, "latency_events", None)
    if ev is None:
        ev = srv.latency_events = {}
    return ev


@command("latency|latest", 2, "admin noscript loading stale", group="server", since="2.8.13",
         complexity="O(1)")
def latency_latest(c, argv):
    """Return the latest latency samples for all events."""
    out = []
    for name, samples in _latency_events(c.server).items():
        if samples:
            t, ms = samples[-1]
            out.append([name.encode(), t, ms, max(s[1] for s in samples)])
    return out


@command("latency|history", 3, "admin noscript loading stale", group="server",
         since="2.8.13", complexity="O(1)")
def latency_history(c, argv):
    """Return timestamp-latency samples for the event."""
    samples = _latency_events(c.server).get(argv[2].decode("utf-8", "replace"), [])
    return [[t, ms] for t, ms in samples]


@command("latency|reset", -2, "admin noscript loading stale", group="server", since="2.8.13",
         complexity="O(1)")
def latency_reset(c, argv):
    """Reset latency data for one or more events."""
    events = _latency_events(c.server)
    if len(argv) == 2:
        n = len(events)
        events.clear()
        return n
    n = 0
    for a in argv[2:]:
        if events.pop(a.decode("utf-8", "replace"), None) is not None:
            n += 1
    return n


@command("latency|graph", 3, "admin noscript loading stale", group="server", since="2.8.13",
         complexity="O(1)")
def latency_graph(c, argv):
    """Return a latency graph for the event."""
    name = argv[2].decode("utf-8", "replace")
    if not _latency_events(c.server).get(name):
        raise CommandError(f"ERR No samples available for event '{name}'")
    return Verbatim(f"{name} - latency samples are recorded, graphs are not drawn\n".encode())


@command("latency|doctor", 2, "admin noscript loading stale", group="server", since="2.8.13",
         complexity="O(1)")
def latency_doctor(c, argv):
    """Return a human readable latency analysis report."""
    srv = c.server
    if not _latency_events(srv) and not srv.config["latency-monitor-threshold"]:
        return Verbatim(
            b"I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis "
            b"instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in "
            b"order to enable it. If we weren't in a deep space mission I'd suggest to take a "
            b"look at https://redis.io/topics/latency-monitor.\n"
        )
    return Verbatim(
        b"Dave, no latency spike was observed during the lifetime of this Redis instance, not "
        b"in the slightest bit. I honestly think you ought to sleep better at night.\n"
    )


@command("latency|histogram", -2, "admin noscript loading stale", group="server",
         since="7.0.0",
         complexity="O(N) where N is the number of commands with latency information being "
         "retrieved.")
def latency_histogram(c, argv):
    """Return the cumulative distribution of latencies of a subset of commands or all."""
    if len(argv) == 2:
        cmds = [x for x in all_names() if x.proc is not None]
    else:
        cmds = [x for x in (lookup_full(a) for a in argv[2:]) if x is not None]
    # Commands are not timed: the call counts are real, the histograms empty.
    return {x.name.encode(): {b"calls": x.calls, b"histogram_usec": {}}
            for x in cmds if x.calls}


@command("latency|help", 2, "loading stale", group="server", since="2.8.13",
         summary="Show helpful text about the different subcommands.", complexity="O(1)")
def latency_help(c, argv):
    """Show helpful text about the different subcommands."""
    return help_reply("LATENCY", [
        "DOCTOR",
        "    Return a human readable latency analysis report.",
        "GRAPH <event>",
        "    Return an ASCII latency graph for the <event> class.",
        "HISTORY <event>",
        "    Return time-latency samples for the <event> class.",
        "LATEST",
        "    Return the latest latency samples for all events.",
        "RESET [<event> ...]",
        "    Reset latency data of one or more <event> classes.",
        "    (default: reset all data for all event classes)",
        "HISTOGRAM [COMMAND ...]",
        "    Return a cumulative distribution of latencies in the format of a histogram for "
        "the specified command names.",
        "    If no commands are specified then all histograms are replied.",
    ])


# -- MONITOR ---------------------------------------------------------------------------------


@command("monitor", 1, "admin noscript loading stale", group="server", since="1.0.0",
         summary="Listen for all requests received by the server in real time")
def monitor(c, argv):
    """Listen for all requests received by the server in real time"""
    if c.deny_blocking or c.in_exec:
        raise CommandError("ERR MONITOR isn't allowed for DENY BLOCKING client")
    srv = c.server
    if c in srv.monitors:
        return Raw(b"")  # already monitoring: no reply, as Redis
    if not getattr(srv, "monitor_hooks", False):
        srv.add_hook("monitor", feed_monitors)
        srv.add_hook("client_freed", _drop_monitor)
        srv.monitor_hooks = True
    srv.monitors.append(c)
    return OK


def _drop_monitor(c) -> None:
    try:
        c.server.monitors.remove(c)
    except ValueError:
        pass


_REPR = {ord("\\"): b"\\\\", ord('"'): b'\\"', ord("\n"): b"\\n", ord("\r"): b"\\r",
         ord("\t"): b"\\t", 7: b"\\a", 8: b"\\b"}
_REPR_TABLE = [
    _REPR.get(i, bytes([i]) if 32 <= i <= 126 else b"\\x%02x" % i) for i in range(256)
]


def quote(arg: bytes) -> bytes:
    """Redis's sdscatrepr: a double-quoted, escaped argument."""
    table = _REPR_TABLE
    return b'"' + b"".join([table[b] for b in arg]) + b'"'


def _redacted(cmd, argv: list) -> list:
    """AUTH, HELLO AUTH and CONFIG SET of secrets show ``(redacted)``, as in Redis."""
    name = cmd.name
    if name == "auth":
        return argv[:1] + [b"(redacted)"] * (len(argv) - 1)
    if name == "hello":
        out = list(argv)
        for i in range(2, len(argv) - 2):
            if argv[i].upper() == b"AUTH":
                out[i + 1] = out[i + 2] = b"(redacted)"
                break
        return out
    if name == "config|set":
        out = list(argv)
        for i in range(2, len(argv) - 1, 2):
            if canonical(argv[i].decode("utf-8", "replace")) in SENSITIVE_CONFIGS:
                out[i + 1] = b"(redacted)"
        return out
    return argv


def feed_monitors(c, cmd, argv) -> None:
    """The "monitor" hook of ``Server.call``: one line per command to every monitor."""
    if cmd.admin or "skip_monitor" in cmd.flags:
        return
    srv = c.server
    if cmd.name in ("auth", "hello", "config|set"):
        argv = _redacted(cmd, argv)
    now = time.time()
    sec = int(now)
    line = b"+%d.%06d [%d %s] %s\r\n" % (
        sec, int((now - sec) * 1_000_000), c.db.id, (c.addr or "lua").encode(),
        b" ".join([quote(a) for a in argv]),
    )
    for m in srv.monitors:
        m.push_raw(line)

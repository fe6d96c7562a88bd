"""SLOWLOG, LATENCY and MONITOR: watching the server at work.

``core.Server`` times every command and ``latency.Timing`` (``server.timing``) keeps what that
feeds: the slow log, the latency monitor's events and each command's latency histogram. MONITOR
feeds every monitoring client one line per command through the "monitor" hook of
``Server.call``. Both hide secrets the way Redis redacts them (:func:`redacted`).
"""

from __future__ import annotations

import time

from ..config import canonical
from ..errors import CommandError
from ..latency import Timing, buckets, cumulative_distribution, histogram_total
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
# The state lives in latency.Timing (``server.timing``), fed by core's timing of every call.

SLOWLOG_COUNT = "ERR count should be greater than or equal to -1"
NO_SAMPLES = "ERR No samples available for event '{}'"


@command("slowlog|get", -2, "admin loading stale", group="server", since="2.2.12",
         complexity="O(N) where N is the number of entries returned")
def slowlog_get(c, argv):
    """Get the slow log's entries"""
    if len(argv) > 3:
        raise subcommand_syntax_error(argv)
    log = c.server.timing.slowlog
    count = 10
    if len(argv) == 3:
        count = to_int(argv[2])
        if count is None or count < -1:
            raise CommandError(SLOWLOG_COUNT)
        if count == -1:
            count = len(log.entries)
    return log.get(count)


@command("slowlog|len", 2, "admin loading stale", group="server", since="2.2.12",
         complexity="O(1)")
def slowlog_len(c, argv):
    """Get the slow log's length"""
    return len(c.server.timing.slowlog.entries)


@command("slowlog|reset", 2, "admin loading stale", group="server", since="2.2.12",
         complexity="O(N) where N is the number of entries in the slowlog")
def slowlog_reset(c, argv):
    """Clear all entries from the slow log"""
    c.server.timing.slowlog.entries.clear()
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


@command("latency|latest", 2, "admin noscript loading stale", group="server", since="2.8.13",
         complexity="O(1)")
def latency_latest(c, argv):
    """Return the latest latency samples for all events."""
    out = []
    for name, ts in c.server.timing.monitor.events.items():
        t, ms = ts.latest()
        out.append([name.encode(), t, ms, ts.max])
    return out


@command("latency|history", 3, "admin noscript loading stale", group="server",
         since="2.8.13", complexity="O(1)")
def latency_history(c, argv):
    """Return timestamp-latency samples for the event."""
    ts = c.server.timing.monitor.events.get(argv[2].decode("utf-8", "replace"))
    return [] if ts is None else [[t, ms] for t, ms in ts.ordered()]


@command("latency|reset", -2, "admin noscript loading stale", group="server", since="2.8.13",
         complexity="O(1)")
def latency_reset(c, argv):
    """Reset latency data for one or more events."""
    monitor = c.server.timing.monitor
    if len(argv) == 2:
        return monitor.reset()
    return monitor.reset([a.decode("utf-8", "replace") for a in argv[2:]])


@command("latency|graph", 3, "admin noscript loading stale", group="server", since="2.8.13",
         complexity="O(1)")
def latency_graph(c, argv):
    """Return a latency graph for the event."""
    name = argv[2].decode("utf-8", "replace")
    monitor = c.server.timing.monitor
    if name not in monitor.events:
        raise CommandError(NO_SAMPLES.format(name))
    return Verbatim(monitor.graph(name).encode())


@command("latency|doctor", 2, "admin noscript loading stale", group="server", since="2.8.13",
         complexity="O(1)")
def latency_doctor(c, argv):
    """Return a human readable latency analysis report."""
    srv = c.server
    return Verbatim(srv.timing.monitor.doctor(srv).encode())


def _histogram(cmd) -> dict:
    """fillCommandCDF: the calls the histogram holds and its cumulative distribution."""
    hist = cmd.latency_hist
    return {b"calls": histogram_total(hist),
            b"histogram_usec": dict(cumulative_distribution(buckets(hist)))}


@command("latency|histogram", -2, "admin noscript loading stale", group="server",
         since="7.0.0",
         complexity="O(N) where N is the number of commands with latency information being "
         "retrieved.")
def latency_histogram(c, argv):
    """Return the cumulative distribution of latencies of a subset of commands or all."""
    srv = c.server
    if len(argv) == 2:
        cmds = all_names(srv)
    else:
        cmds = []
        for a in argv[2:]:
            cmd = lookup_full(a, srv)
            if cmd is None:
                continue  # unknown names are skipped, as Redis does
            cmds.append(cmd)
            if cmd.subcommands:
                cmds.extend(sorted(set(cmd.subcommands.values()), key=lambda x: x.name))
    return {x.name.encode(): _histogram(x) for x in cmds if x.latency_hist}


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


def redacted(cmd, argv: list) -> list:
    """The arguments Redis hides from MONITOR and the slow log (redactClientCommandArgument):
    AUTH's, HELLO's AUTH pair, sensitive CONFIG SET values, everything ACL SETUSER is given
    and MIGRATE's AUTH/AUTH2 credentials."""
    name = cmd.name
    if name not in _REDACTING:
        return argv
    out = list(argv)
    r = b"(redacted)"
    if name == "auth":
        out[1:] = [r] * (len(argv) - 1)
    elif name == "hello":
        for i in range(2, len(argv) - 2):
            if argv[i].upper() == b"AUTH":
                out[i + 1] = out[i + 2] = r
                break
    elif name == "config|set":
        for i in range(2, len(argv) - 1, 2):
            if canonical(argv[i].decode("utf-8", "replace")) in SENSITIVE_CONFIGS:
                out[i + 1] = r
    elif name == "acl|setuser":
        out[2:] = [r] * (len(argv) - 2)
    elif name == "migrate":
        i = 6
        while i < len(argv):
            opt = argv[i].upper()
            if opt == b"AUTH" and i + 1 < len(argv):
                out[i + 1] = r
                i += 1
            elif opt == b"AUTH2" and i + 2 < len(argv):
                out[i + 1] = out[i + 2] = r
                i += 2
            elif opt == b"KEYS":
                break
            i += 1
    return out


_REDACTING = frozenset({"auth", "hello", "config|set", "acl|setuser", "migrate"})
Timing.redact = staticmethod(redacted)


def feed_monitors(c, cmd, argv) -> None:
    """The "monitor" hook of ``Server.call``: one line per command to every monitor."""
    if cmd.admin or "skip_monitor" in cmd.flags:
        return
    srv = c.server
    if cmd.name in _REDACTING:
        argv = redacted(cmd, argv)
    now = time.time()
    sec = int(now)
    line = b"+%d.%06d [%d %s] %s\r\n" % (
        sec, int((now - sec) * 1_000_000), c.db.id, (c.addr or "lua").encode(),
        b" ".join([quote(a) for a in argv]),
    )
    for m in srv.monitors:
        m.push_raw(line)

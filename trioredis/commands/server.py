"""Server commands: TIME, LASTSAVE, ROLE, SHUTDOWN, INFO and MEMORY; and help_reply, the
shape of every HELP subcommand of the server families.

The rest of Redis's "server" group has a module per family, imported right after this one:
CONFIG in config_cmd.py, COMMAND in introspection.py, DEBUG in debug.py, and SLOWLOG, LATENCY
and MONITOR in monitoring.py.
"""

from __future__ import annotations

import signal
import time

from .. import extensions
from ..errors import SYNTAX, CommandError
from ..protocol.replies import OK, ErrorReply, Raw, Verbatim
from .args import parse_int
from .registry import command, container


def help_reply(name: str, lines: list[str]) -> list[str]:
    """Redis's addReplyHelp: a header, the lines, then HELP (status replies)."""
    return [
        f"{name} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        *lines,
        "HELP",
        "    Prints this help.",
    ]


# -- TIME, LASTSAVE, ROLE, SHUTDOWN ----------------------------------------------------------


@command("time", 1, "loading stale fast", group="server", since="2.6.0", complexity="O(1)")
def time_(c, argv):
    """Return the current server time"""
    us = int(c.server.clock.time() * 1_000_000)
    return [b"%d" % (us // 1_000_000), b"%d" % (us % 1_000_000)]


@command("lastsave", 1, "loading stale fast", group="server", since="1.0.0", complexity="O(1)")
def lastsave(c, argv):
    """Get the UNIX time stamp of the last successful save to disk"""
    return int(c.server.lastsave)


@command("role", 1, "noscript loading stale fast", group="server", since="2.8.12",
         complexity="O(1)")
def role(c, argv):
    """Return the role of the instance in the context of replication"""
    hook = c.server.hooks.get("role")
    if hook:
        return hook[0]()
    return [b"master", c.server.master_repl_offset, []]


@command("shutdown", -1, "admin noscript loading stale no_multi allow_busy", group="server",
         since="1.0.0",
         complexity="O(N) when saving, where N is the total number of keys in all databases "
         "when saving data, otherwise O(1)")
def shutdown(c, argv):
    """Synchronously save the dataset to disk and then shut down the server"""
    opts = set()
    for a in argv[1:]:
        o = a.lower()
        if o not in (b"nosave", b"save", b"now", b"force", b"abort"):
            raise CommandError(SYNTAX)
        opts.add(o)
    if (b"abort" in opts and len(opts) > 1) or {b"save", b"nosave"} <= opts:
        raise CommandError(SYNTAX)
    srv = c.server
    if b"abort" in opts:
        if not (srv.shutdown_mstime or srv.shutdown_asap):
            raise CommandError("ERR No shutdown in progress.")
        _cancel_shutdown(srv)  # a signal's shutdown not begun, or one waiting for replicas
        srv.log.notice("Shutdown manually aborted.")
        return OK
    if b"now" not in opts and c.deny_blocking:
        raise CommandError(
            "ERR SHUTDOWN without NOW or ABORT isn't allowed for DENY BLOCKING client"
        )
    save = False if b"nosave" in opts else True if b"save" in opts else bool(srv.config["save"])
    done = _prepare_shutdown(srv, save, b"force" in opts, b"now" in opts)
    if done is False:
        raise CommandError(SHUTDOWN_FAILED)
    if done:
        c.close_after_reply = True
        return Raw(b"")  # the client gets no reply: the connection just closes
    # Waiting for replicas: the caller blocks until the shutdown ends (no reply: the server
    # exits) or fails (an error), as Redis's BLOCKED_SHUTDOWN.
    blk = srv.block(c, [], 0, None, argv=argv)
    srv.shutdown_blocked.append(blk)
    return blk


SHUTDOWN_FAILED = "ERR Errors trying to SHUTDOWN. Check logs."
SHUTDOWN_WAIT_FOREVER_MS = 1 << 62  # the write pause of a shutdown lasts until it ends


def _prepare_shutdown(srv, save, force: bool, now: bool):
    """Redis's prepareForShutdown: True when the server is to exit now, False when the final
    steps failed (nothing changed), None when it waits (up to ``shutdown-timeout`` seconds,
    writes paused) for lagging replicas to acknowledge the master's offset. A second request
    while one waits just waits with it."""
    if srv.shutdown_mstime:
        return None
    if srv.loading:
        save = False  # a half-loaded dataset must not overwrite the dump
    srv.shutdown_flags = (save, force)
    srv.log.warning("User requested shutdown...")
    timeout = srv.config["shutdown-timeout"]
    if not now and timeout and not _replicas_in_sync(srv):
        srv.shutdown_mstime = _mono_ms() + timeout * 1000
        repl = _replication(srv)
        if srv.client_pause is None and repl is not None:
            repl.request_acks()
        from .connection import pause_state

        pause_state(srv).pause(SHUTDOWN_WAIT_FOREVER_MS, False)  # writes wait; reads go on
        srv.log.notice("Waiting for replicas before shutting down.")
        return None
    return _finish_shutdown(srv)


def _finish_shutdown(srv) -> bool:
    """Redis's finishShutdown: report lagging replicas, then the shutdown hooks (a check that
    can refuse, such as an initial AOF still being written; persistence saving). On failure
    (without FORCE) the shutdown is cancelled and the server goes on."""
    save, force = srv.shutdown_flags or (None, False)
    repl = _replication(srv)
    replicas = list(repl.replicas) if repl is not None else []
    lagging = 0
    now = time.time()
    for r in replicas:
        if r.ack_offset != srv.master_repl_offset:
            lagging += 1
            lag = int(now - r.ack_time) if r.state == "online" else 0
            srv.log.warning(f"Lagging replica {r.ip}:{r.port} reported offset "
                            f"{srv.master_repl_offset - r.ack_offset} behind master, "
                            f"lag={lag}, state={r.state}.")
    if replicas:
        srv.log.notice(f"{len(replicas) - lagging} of {len(replicas)} replicas are in sync "
                       "when shutting down.")
    failed = any(check(force) is False for check in srv.hooks.get("shutdown_check", ()))
    if not failed:
        for hook in srv.hooks.get("shutdown", ()):  # persistence saves here; False = failed
            if hook(save) is False:
                failed = True
    if failed and not force:
        srv.log.warning("Errors trying to shut down the server. Check the logs for more "
                        "information.")
        _cancel_shutdown(srv)
        return False
    if srv.shutdown_requested is not None:
        srv.shutdown_requested()
    return True


def _cancel_shutdown(srv) -> None:
    """Redis's cancelShutdown: forget the request, give the blocked SHUTDOWN callers their
    error, end the write pause."""
    waited = bool(srv.shutdown_mstime)
    srv.shutdown_asap = 0
    srv.shutdown_flags = None
    srv.shutdown_mstime = 0
    blocked, srv.shutdown_blocked = srv.shutdown_blocked, []
    for blk in blocked:
        c = blk.client
        if blk.done or c.killed or srv.clients.get(c.id) is not c:
            continue
        srv.finish_block(blk, ErrorReply(SHUTDOWN_FAILED))
    if waited and srv.client_pause is not None:
        from .connection import pause_state

        pause_state(srv).unpause()


def _replication(srv):
    return getattr(srv, "replication", None)


def _replicas_in_sync(srv) -> bool:
    """Redis's isReadyToShutdown: every replica acknowledged the master's whole stream."""
    repl = _replication(srv)
    return repl is None or all(r.ack_offset == srv.master_repl_offset for r in repl.replicas)


def _mono_ms() -> float:
    return time.monotonic() * 1000


def _shutdown_cron(server) -> None:
    """The cron's part (Redis's serverCron): carry out a shutdown a signal asked for (so
    DEBUG PAUSE-CRON holds it and SHUTDOWN ABORT cancels it), with the flags of
    ``shutdown-on-sigint``/``-sigterm`` (default: save when there are save points); and end
    one waiting for replicas once they are in sync or ``shutdown-timeout`` is up."""
    if server.shutdown_mstime:
        if _mono_ms() >= server.shutdown_mstime or _replicas_in_sync(server):
            _finish_shutdown(server)
        return
    signum = server.shutdown_asap
    if not signum:
        return
    flags = server.config["shutdown-on-sigint" if signum == signal.SIGINT
                          else "shutdown-on-sigterm"]
    save = True if "save" in flags else False if "nosave" in flags else None
    if save is None:
        save = bool(server.config["save"])
    if _prepare_shutdown(server, save, "force" in flags, "now" in flags) is False:
        server.shutdown_asap = 0


def _info_server(server, lines: list) -> None:
    if server.shutdown_mstime:
        left = max(int(server.shutdown_mstime - _mono_ms()), 0)
        lines.append(f"shutdown_in_milliseconds:{left}")


def _init_shutdown(server) -> None:
    server.shutdown_asap = 0  # the signal number of a shutdown asked by a signal, not begun
    server.shutdown_mstime = 0  # when a shutdown waiting for replicas gives up waiting
    server.shutdown_flags = None  # (save, force) of the shutdown under way
    server.shutdown_blocked = []  # Blocks of SHUTDOWN callers waiting with it
    server.add_hook("cron", lambda: _shutdown_cron(server))
    server.add_hook("info_server", _info_server)


extensions.SERVER_INIT.append(_init_shutdown)


# -- INFO ------------------------------------------------------------------------------------


def _init_server(server) -> None:
    """INFO's per-server state from the start, so instantaneous metrics have samples."""
    from .. import info as _info

    _info.state_of(server)


extensions.SERVER_INIT.append(_init_server)


@command("info", -1, "loading stale", group="server", since="1.0.0", complexity="O(1)")
def info(c, argv):
    """Get information and statistics about the server"""
    from .. import info as _info

    return Verbatim(_info.info_text(c.server, _info.parse_sections(argv[1:])))


# -- MEMORY ----------------------------------------------------------------------------------

container("memory", group="server", since="4.0.0",
          summary="A container for memory diagnostics commands").complexity = (
    "Depends on subcommand."
)


@command("memory|usage", -3, "readonly", keys=(2, 2, 1), group="server", since="4.0.0",
         complexity="O(N) where N is the number of samples.")
def memory_usage(c, argv):
    """Estimate the memory usage of a key"""
    from .. import memory

    samples = 5
    i = 3
    while i < len(argv):
        if argv[i].lower() == b"samples" and i + 1 < len(argv):
            samples = parse_int(argv[i + 1])
            if samples < 0:
                raise CommandError(SYNTAX)
            i += 2
        else:
            raise CommandError(SYNTAX)
    return memory.key_usage(c.db, argv[2], samples)


@command("memory|stats", 2, "", group="server", since="4.0.0", complexity="O(1)")
def memory_stats(c, argv):
    """Show memory usage details"""
    from .. import memory_report

    return memory_report.stats(c.server)


@command("memory|doctor", 2, "", group="server", since="4.0.0", complexity="O(1)")
def memory_doctor(c, argv):
    """Outputs memory problems report"""
    if not any(db.data for db in c.server.dbs):
        return Verbatim(
            b"Hi Sam, this instance is empty or is using very little memory, my issues detector "
            b"can't be used in these conditions. Please, leave for your mission on Earth and "
            b"fill it with some data. The new Sam and I will be back to our programming as soon "
            b"as I finished rebooting.\n"
        )
    return Verbatim(
        b"Hi Sam, I can't find any memory issue in your instance. I can only account for what "
        b"occurs on this base.\n"
    )


@command("memory|malloc-stats", 2, "", group="server", since="4.0.0",
         complexity="Depends on how much memory is allocated, could be slow")
def memory_malloc_stats(c, argv):
    """Show allocator internal stats"""
    return b"Stats not supported for the current allocator"


@command("memory|purge", 2, "", group="server", since="4.0.0",
         complexity="Depends on how much memory is allocated, could be slow")
def memory_purge(c, argv):
    """Ask the allocator to release memory"""
    return OK


@command("memory|help", 2, "loading stale", group="server", since="4.0.0", complexity="O(1)")
def memory_help(c, argv):
    """Show helpful text about the different subcommands"""
    return help_reply("MEMORY", [
        "DOCTOR",
        "    Return memory problems reports.",
        "MALLOC-STATS",
        "    Return internal statistics report from the memory allocator.",
        "PURGE",
        "    Attempt to purge dirty pages for reclamation by the allocator.",
        "STATS",
        "    Return information about the memory usage of the server.",
        "USAGE <key> [SAMPLES <count>]",
        "    Return memory in bytes used by <key> and its value. Nested values are",
        "    sampled up to <count> times (default: 5, 0 means sample all).",
    ])

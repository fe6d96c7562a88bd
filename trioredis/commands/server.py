"""Server commands: TIME, LASTSAVE, ROLE, SHUTDOWN, INFO and MEMORY; and help_reply, the
shape of every HELP subcommand of the server families.

The rest of Redis's "server" group has a module per family, imported right after this one:
CONFIG in config_cmd.py, COMMAND in introspection.py, DEBUG in debug.py, and SLOWLOG, LATENCY
and MONITOR in monitoring.py.
"""

from __future__ import annotations

import signal

from .. import extensions
from ..errors import SYNTAX, CommandError
from ..protocol.replies import OK, Raw, Verbatim
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
        if not srv.shutdown_asap:
            raise CommandError("ERR No shutdown in progress.")
        srv.shutdown_asap = 0  # a signal's shutdown the cron has not begun yet
        srv.log.notice("Shutdown manually aborted.")
        return OK
    if b"now" not in opts and c.deny_blocking:
        raise CommandError(
            "ERR SHUTDOWN without NOW or ABORT isn't allowed for DENY BLOCKING client"
        )
    if b"nosave" in opts:
        save = False
    elif b"save" in opts:
        save = True
    else:
        save = bool(srv.config["save"])
    srv.log.warning("User requested shutdown...")
    failed = False
    for hook in srv.hooks.get("shutdown", ()):  # persistence saves here; False = it failed
        if hook(save) is False:
            failed = True
    if failed and b"force" not in opts:
        srv.log.warning("Errors trying to shut down the server. Check the logs for more "
                        "information.")
        raise CommandError("ERR Errors trying to SHUTDOWN. Check logs.")
    if srv.shutdown_requested is not None:
        srv.shutdown_requested()
    c.close_after_reply = True
    return Raw(b"")  # the client gets no reply: the connection just closes


def _shutdown_asap(server) -> None:
    """The cron's half of SIGINT/SIGTERM (Redis's serverCron with shutdown_asap set): the
    signal only marks the shutdown as asked, so DEBUG PAUSE-CRON holds it and SHUTDOWN ABORT
    cancels it. It runs with the flags of ``shutdown-on-sigint``/``-sigterm`` (default: save
    when there are save points); when the final save fails (and no ``force``) the server
    keeps running and the request is dropped."""
    signum = server.shutdown_asap
    if not signum:
        return
    flags = server.config["shutdown-on-sigint" if signum == signal.SIGINT
                          else "shutdown-on-sigterm"]
    save = True if "save" in flags else False if "nosave" in flags else None
    server.log.warning("User requested shutdown...")
    failed = False
    for hook in server.hooks.get("shutdown", ()):  # persistence saves here; False = it failed
        if hook(save) is False:
            failed = True
    if failed and "force" not in flags:
        server.log.warning("Errors trying to shut down the server. Check the logs for more "
                           "information.")
        server.shutdown_asap = 0
        return
    if server.shutdown_requested is not None:
        server.shutdown_requested()


def _init_shutdown(server) -> None:
    server.shutdown_asap = 0  # the signal number of a shutdown asked by a signal, not begun
    server.add_hook("cron", lambda: _shutdown_asap(server))


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

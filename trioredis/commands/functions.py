"""FUNCTION LOAD/DELETE/FLUSH/LIST/STATS/KILL/HELP, FCALL and FCALL_RO (Redis 7.0).

Libraries live in ``server.scripting.functions`` (``trioredis.scripting.functions``); a call
runs through the same engine as EVAL (``ScriptEngine.execute``), with the function's flags.
"""

from __future__ import annotations

import re
import time

from .. import extensions
from ..errors import CommandError
from ..glob import glob_match
from ..protocol.replies import OK, SetReply
from ..scripting import payload
from ..scripting.engine import ScriptError
from ..scripting.functions import Libraries
from .registry import command, keys_after_numkeys, lookup
from .scripting import _feed_monitors, script_call_flags
from .server import help_reply


def libraries_of(srv) -> Libraries:
    eng = srv.scripting
    if eng.functions is None:
        eng.functions = Libraries(eng)
    return eng.functions


_INTEGER = re.compile(rb"-?(0|[1-9][0-9]{0,19})")  # string2ll's syntax


def _fcall(c, argv, ro: bool):
    """fcallCommandGeneric: the function first, then numkeys, with Redis's texts."""
    libs = libraries_of(c.server)
    fn = libs.get(argv[1])
    if fn is None:
        raise CommandError("ERR Function not found")
    if not _INTEGER.fullmatch(argv[2]) or not -(2**63) <= int(argv[2]) < 2**63:
        raise CommandError("ERR Bad number of keys provided")
    numkeys = int(argv[2])
    if numkeys > len(argv) - 3:
        raise CommandError("ERR Number of keys can't be greater than number of args")
    if numkeys < 0:
        raise CommandError("ERR Number of keys can't be negative")
    keys, args = argv[3:3 + numkeys], argv[3 + numkeys:]
    _feed_monitors(c, argv)
    return c.server.scripting.execute(c, libs.state, fn.callback, fn.name, keys, args, fn.flags,
                                      ro, False, argv)


def _fcall_flags(srv, argv) -> frozenset:
    """fcallGetCommandFlags: the function's flags decide (scriptFlagsToCmdFlags)."""
    cmd = lookup(argv[0])
    fn = libraries_of(srv).get(argv[1])
    if fn is None:
        return cmd.flags
    return script_call_flags(cmd, fn.flags)


_FCALL_FLAGS = "noscript stale skip_monitor no_mandatory_keys"


@command("fcall", -3, _FCALL_FLAGS, group="scripting", since="7.0.0",
         getkeys=keys_after_numkeys(2), complexity="Depends on the function that is executed.")
def fcall(c, argv):
    """Invoke a function"""
    return _fcall(c, argv, False)


@command("fcall_ro", -3, "readonly " + _FCALL_FLAGS, group="scripting", since="7.0.0",
         getkeys=keys_after_numkeys(2), complexity="Depends on the function that is executed.")
def fcall_ro(c, argv):
    """Invoke a read-only function"""
    return _fcall(c, argv, True)


for _name in (b"fcall", b"fcall_ro"):
    lookup(_name).flags_of = _fcall_flags


@command("function|load", -3, "write denyoom noscript", group="scripting", since="7.0.0",
         complexity="O(1) (considering compilation time is redundant)")
def function_load(c, argv):
    """Create a function with the given arguments (name, code, description)"""
    replace = False
    rest = argv[2:]
    while len(rest) > 1:
        if rest[0].upper() == b"REPLACE":
            replace = True
            rest = rest[1:]
        else:
            raise CommandError("ERR Unknown option given: " + rest[0].decode("utf-8", "replace"))
    if len(rest) != 1:
        raise CommandError("ERR Function code is missing")
    try:
        name = libraries_of(c.server).load(rest[0], replace)
    except ScriptError as e:
        raise CommandError(e.message)
    c.server.dirty += 1
    return name.encode()


@command("function|delete", 3, "write noscript", group="scripting", since="7.0.0",
         complexity="O(1)")
def function_delete(c, argv):
    """Delete a function by name"""
    try:
        libraries_of(c.server).delete(argv[2].decode("utf-8", "surrogateescape"))
    except ScriptError as e:
        raise CommandError(e.message)
    c.server.dirty += 1
    return OK


@command("function|flush", -2, "write noscript", group="scripting", since="7.0.0",
         complexity="O(N) where N is the number of functions deleted")
def function_flush(c, argv):
    """Deleting all functions"""
    if len(argv) > 3:
        raise CommandError("ERR unknown subcommand or wrong number of arguments for 'flush'. "
                           "Try FUNCTION HELP.")
    if len(argv) == 3 and argv[2].upper() not in (b"SYNC", b"ASYNC"):
        raise CommandError("ERR FUNCTION FLUSH only supports SYNC|ASYNC option")
    libraries_of(c.server).flush()
    c.server.dirty += 1
    return OK


@command("function|kill", 2, "noscript allow_busy", group="scripting", since="7.0.0",
         complexity="O(1)")
def function_kill(c, argv):
    """Kill the function currently in execution."""
    err = c.server.scripting.kill(False)
    if err is not None:
        raise CommandError(err)
    return OK


@command("function|list", -2, "noscript", group="scripting", since="7.0.0",
         complexity="O(N) where N is the number of functions")
def function_list(c, argv):
    """List information about all the functions"""
    pattern = None
    with_code = False
    i = 2
    while i < len(argv):
        opt = argv[i].upper()
        if opt == b"WITHCODE" and not with_code:
            with_code = True
        elif opt == b"LIBRARYNAME" and pattern is None:
            if i + 1 >= len(argv):
                raise CommandError("ERR library name argument was not given")
            pattern = argv[i + 1]
            i += 1
        else:
            raise CommandError("ERR Unknown argument " + argv[i].decode("utf-8", "replace"))
        i += 1
    out = []
    for lib in libraries_of(c.server).libraries.values():
        if pattern is not None and not glob_match(pattern, lib.name.encode()):
            continue
        entry = {
            b"library_name": lib.name.encode(),
            b"engine": b"LUA",
            b"functions": [
                {b"name": f.name.encode(), b"description": f.description,
                 b"flags": SetReply(sorted(x.encode() for x in f.flags))}
                for f in lib.functions.values()
            ],
        }
        if with_code:
            entry[b"library_code"] = lib.code
        out.append(entry)
    return out


@command("function|stats", 2, "noscript allow_busy", group="scripting", since="7.0.0",
         complexity="O(1)")
def function_stats(c, argv):
    """Return information about the function currently running (name, description, duration)"""
    eng = c.server.scripting
    libs = libraries_of(c.server)
    run = eng.run
    running = None
    if run is not None and not run.is_eval:
        running = {b"name": run.name.encode(), b"command": list(run.argv or ()),
                   b"duration_ms": int((time.monotonic() - run.start) * 1000)}
    return {
        b"running_script": running,
        b"engines": {b"LUA": {b"libraries_count": len(libs.libraries),
                              b"functions_count": len(libs.functions)}},
    }


@command("function|dump", 2, "noscript", group="scripting", since="7.0.0",
         complexity="O(N) where N is the number of functions")
def function_dump(c, argv):
    """Dump all functions into a serialized binary payload"""
    return payload.dump(lib.code for lib in libraries_of(c.server).libraries.values())


_POLICIES = {b"append": "append", b"replace": "replace", b"flush": "flush"}


@command("function|restore", -3, "write denyoom noscript", group="scripting", since="7.0.0",
         complexity="O(N) where N is the number of functions on the payload")
def function_restore(c, argv):
    """Restore all the functions on the given payload"""
    if len(argv) > 4:
        raise CommandError("ERR unknown subcommand or wrong number of arguments for 'restore'. "
                           "Try FUNCTION HELP.")
    policy = "append"
    if len(argv) == 4:
        policy = _POLICIES.get(argv[3].lower())
        if policy is None:
            raise CommandError("ERR Wrong restore policy given, value should be either FLUSH, "
                               "APPEND or REPLACE.")
    srv = c.server
    try:
        codes = payload.parse(argv[2], not srv.skip_checksum_validation)
        fresh = libraries_of(srv).restore(codes, policy)
    except payload.PayloadError as e:
        raise CommandError(str(e))
    except ScriptError as e:
        raise CommandError(e.message)
    if fresh is not None:
        srv.scripting.functions = fresh
    srv.dirty += 1
    return OK


@command("function|help", 2, "loading stale", group="scripting", since="7.0.0",
         complexity="O(1)")
def function_help(c, argv):
    """Show helpful text about the different subcommands"""
    return help_reply("FUNCTION", [
        "LOAD [REPLACE] <FUNCTION CODE>",
        "    Create a new library with the given library name and code.",
        "DELETE <LIBRARY NAME>",
        "    Delete the given library.",
        "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
        "    Return general information on all the libraries:",
        "    * Library name",
        "    * The engine used to run the Library",
        "    * Library description",
        "    * Functions list",
        "    * Library code (if WITHCODE is given)",
        "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
        "STATS",
        "    Return information about the current function running:",
        "    * Function name",
        "    * Command used to run the function",
        "    * Duration in MS that the function is running",
        "    If no function is running, return nil",
        "    In addition, returns a list of available engines.",
        "KILL",
        "    Kill the current running function.",
        "FLUSH [ASYNC|SYNC]",
        "    Delete all the libraries.",
        "    When called without the optional mode argument, the behavior is determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the libraries.",
        "    * SYNC: Synchronously flush the libraries.",
        "DUMP",
        "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
        "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
        "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
        "    control how to handle existing libraries (default APPEND):",
        "    * FLUSH: delete all existing libraries.",
        "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
        "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
        "      libraries with the new libraries (notice that even on this option there is a chance of failure",
        "      in case of functions name collision with another library).",
    ])


# -- persistence: the libraries in RDB files (opcode 245) and AOF rewrites ----------------


def _attach(srv) -> None:
    libraries_of(srv)
    srv.add_hook("function_codes", lambda: [
        lib.code for lib in libraries_of(srv).libraries.values()])
    srv.add_hook("rdb_functions_load", lambda codes, merge: _rdb_functions(srv, codes, merge))


def _rdb_functions(srv, codes: list, merge: bool):
    """The libraries of an RDB being loaded: checked now, applied by the returned callable
    once the keys are in. A load replaces the libraries (Redis's emptyData clears them);
    a merging load (DEBUG RELOAD NOFLUSH MERGE) replaces only those of the same name; DEBUG
    RELOAD NOFLUSH without MERGE keeps the server's (no emptyData), so a library the file
    also has fails the load (``srv.functions_kept``, set by the reload)."""
    from ..persistence.rdb_format import RDBError

    if merge:
        policy = "replace"
    elif getattr(srv, "functions_kept", False):
        policy = "append"
    else:
        policy = "flush"
    try:
        fresh = libraries_of(srv).restore(codes, policy)
    except ScriptError as e:
        raise RDBError(f"Failed loading library: {e.message}") from None

    def apply():
        if fresh is not None:
            srv.scripting.functions = fresh

    return apply


extensions.SERVER_INIT.append(_attach)

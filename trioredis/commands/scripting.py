"""EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT: Lua scripts, as Redis 7.0 runs them.

The engine (Lua states, sandbox, conversions, busy scripts) is ``trioredis.scripting``; this
module parses the commands and owns the per-server engine (``server.scripting``).
"""

from __future__ import annotations

from .. import extensions
from ..errors import CommandError
from ..protocol.replies import OK
from ..scripting.engine import (
    FLAG_ALLOW_OOM,
    FLAG_ALLOW_STALE,
    FLAG_NO_WRITES,
    ScriptEngine,
    ScriptError,
    parse_shebang,
)
from ..scripting.runtime import sha1hex
from .registry import command, keys_after_numkeys, lookup
from .server import help_reply

NOSCRIPT = "NOSCRIPT No matching script. Please use EVAL."
NEGATIVE_KEYS = "ERR Number of keys can't be negative"
TOO_MANY_KEYS = "ERR Number of keys can't be greater than number of args"
NOT_INTEGER = "ERR value is not an integer or out of range"
DEBUGGER_UNAVAILABLE = "ERR The Lua debugger (SCRIPT DEBUG YES|SYNC) is not available in this server"


def engine_of(srv) -> ScriptEngine:
    return srv.scripting


_SMALL_NUMKEYS = {b"%d" % i: i for i in range(256)}  # the usual numkeys, parsed at once


def split_keys(argv: list, pos: int = 2):
    """numkeys at ``argv[pos]``: (keys, args), with Redis's error texts."""
    raw = argv[pos]
    numkeys = _SMALL_NUMKEYS.get(raw)
    if numkeys is not None and numkeys <= len(argv) - pos - 1:
        start = pos + 1
        return argv[start:start + numkeys], argv[start + numkeys:]
    try:
        if not raw or raw != raw.strip() or (len(raw) > 1 and raw[:1] == b"0"):
            raise ValueError
        numkeys = int(raw)
        if not -(2**63) <= numkeys < 2**63:
            raise ValueError
    except ValueError:
        raise CommandError(NOT_INTEGER)
    if numkeys > len(argv) - pos - 1:
        raise CommandError(TOO_MANY_KEYS)
    if numkeys < 0:
        raise CommandError(NEGATIVE_KEYS)
    start = pos + 1
    return argv[start:start + numkeys], argv[start + numkeys:]


def _feed_monitors(c, argv) -> None:
    """EVAL is skip_monitor in the table so that it shows before the commands it runs."""
    srv = c.server
    if srv.monitors and not c.retrying:  # (callers test srv.monitors first: the hot path)
        srv.run_hooks("monitor", c, _MONITOR_AS, argv)


class _MonitorAs:
    admin = False
    flags = frozenset()
    name = "eval"


_MONITOR_AS = _MonitorAs()


def _eval_generic(c, argv, by_sha: bool, ro: bool):
    srv = c.server
    eng = srv.scripting
    keys, args = split_keys(argv)
    if by_sha:
        name = argv[1].decode("latin-1")
        script = eng.scripts.get(name) if len(name) == 40 else None
        if script is None:
            name = name.lower()
            script = eng.scripts.get(name) if len(name) == 40 else None
            if script is None:
                raise CommandError(NOSCRIPT)
    else:
        try:
            name, script = eng.create_script(argv[1])
        except ScriptError as e:
            raise CommandError(e.message)
    if srv.monitors:
        _feed_monitors(c, argv)
    return eng.execute(c, eng.state, script.func, name, keys, args, script.flags, ro, True)


_EVAL_FLAGS = "noscript stale skip_monitor no_mandatory_keys"


@command("eval", -3, _EVAL_FLAGS, group="scripting", since="2.6.0",
         getkeys=keys_after_numkeys(2), complexity="Depends on the script that is executed.")
def eval_(c, argv):
    """Execute a Lua script server side"""
    return _eval_generic(c, argv, False, False)


@command("evalsha", -3, _EVAL_FLAGS, group="scripting", since="2.6.0",
         getkeys=keys_after_numkeys(2), complexity="Depends on the script that is executed.")
def evalsha(c, argv):
    """Execute a Lua script server side"""
    return _eval_generic(c, argv, True, False)


@command("eval_ro", -3, "readonly " + _EVAL_FLAGS, group="scripting", since="7.0.0",
         getkeys=keys_after_numkeys(2), complexity="Depends on the script that is executed.")
def eval_ro(c, argv):
    """Execute a read-only Lua script server side"""
    return _eval_generic(c, argv, False, True)


@command("evalsha_ro", -3, "readonly " + _EVAL_FLAGS, group="scripting", since="7.0.0",
         getkeys=keys_after_numkeys(2), complexity="Depends on the script that is executed.")
def evalsha_ro(c, argv):
    """Execute a read-only Lua script server side"""
    return _eval_generic(c, argv, True, True)


# -- flags of a call (getCommandFlags) -------------------------------------------------------


def script_call_flags(cmd, script_flags) -> frozenset:
    """scriptFlagsToCmdFlags: a script that declares flags is a write / denyoom / stale command
    by its flags, not by the command's, and never may_replicate."""
    f = set(cmd.flags) - {"stale", "denyoom", "write", "may_replicate"}
    if FLAG_ALLOW_OOM not in script_flags and FLAG_NO_WRITES not in script_flags:
        f.add("denyoom")
    if FLAG_NO_WRITES not in script_flags:
        f.add("write")
    if FLAG_ALLOW_STALE in script_flags:
        f.add("stale")
    return frozenset(f)


def _eval_flags(srv, argv) -> frozenset:
    """evalGetCommandFlags: the cached script's shebang flags, or the body's (EVAL)."""
    cmd = lookup(argv[0])
    body = argv[1]
    scripts = srv.scripting.scripts
    if cmd.name.startswith("evalsha"):
        script = scripts.get(body.decode("latin-1").lower()) if len(body) == 40 else None
        if script is None:
            return cmd.flags
        flags = script.flags
    else:
        script = scripts.get(sha1hex(body))
        if script is not None:
            flags = script.flags
        else:
            try:
                flags, _ = parse_shebang(body)
            except ScriptError:
                return cmd.flags
    if flags is None:  # no shebang: the command's own flags (eval compatibility mode)
        return cmd.flags
    return script_call_flags(cmd, flags)


for _name in (b"eval", b"evalsha", b"eval_ro", b"evalsha_ro"):
    lookup(_name).flags_of = _eval_flags


# -- SCRIPT ----------------------------------------------------------------------------------


@command("script|load", 3, "noscript stale", group="scripting", since="2.6.0",
         complexity="O(N) with N being the length in bytes of the script body.")
def script_load(c, argv):
    """Load the specified Lua script into the script cache."""
    try:
        sha, _ = engine_of(c.server).create_script(argv[2])
    except ScriptError as e:
        raise CommandError(e.message)
    return sha.encode()


@command("script|exists", -3, "noscript", group="scripting", since="2.6.0",
         complexity="O(N) with N being the number of scripts to check")
def script_exists(c, argv):
    """Check existence of scripts in the script cache."""
    scripts = engine_of(c.server).scripts
    return [1 if a.lower().decode("latin-1") in scripts else 0 for a in argv[2:]]


@command("script|flush", -2, "noscript", group="scripting", since="2.6.0",
         complexity="O(N) with N being the number of scripts in cache")
def script_flush(c, argv):
    """Remove all the scripts from the script cache."""
    if len(argv) > 3 or (len(argv) == 3 and argv[2].upper() not in (b"SYNC", b"ASYNC")):
        raise CommandError("ERR SCRIPT FLUSH only support SYNC|ASYNC option")
    engine_of(c.server).reset_eval()
    return OK


@command("script|kill", 2, "noscript allow_busy", group="scripting", since="2.6.0",
         complexity="O(1)")
def script_kill(c, argv):
    """Kill the script currently in execution."""
    err = engine_of(c.server).kill(True)
    if err is not None:
        raise CommandError(err)
    return OK


@command("script|debug", 3, "noscript", group="scripting", since="3.2.0", complexity="O(1)")
def script_debug(c, argv):
    """Set the debug mode for executed scripts."""
    mode = argv[2].upper()
    if mode == b"NO":
        return OK
    if mode in (b"YES", b"SYNC"):
        raise CommandError(DEBUGGER_UNAVAILABLE)
    raise CommandError("ERR Use SCRIPT DEBUG YES/SYNC/NO")


@command("script|help", 2, "loading stale", group="scripting", since="5.0.0", complexity="O(1)")
def script_help(c, argv):
    """Show helpful text about the different subcommands"""
    return help_reply("SCRIPT", [
        "DEBUG (YES|SYNC|NO)",
        "    Set the debug mode for subsequent scripts executed.",
        "EXISTS <sha1> [<sha1> ...]",
        "    Return information about the existence of the scripts in the script cache.",
        "FLUSH [ASYNC|SYNC]",
        "    Flush the Lua scripts cache. Very dangerous on replicas.",
        "    When called without the optional mode argument, the behavior is determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the scripts cache.",
        "    * SYNC: Synchronously flush the scripts cache.",
        "KILL",
        "    Kill the currently executing Lua script.",
        "LOAD <script>",
        "    Load a script into the scripts cache without executing it.",
    ])


# -- per-server state ------------------------------------------------------------------------


def _info_memory(srv, lines):
    eng = srv.scripting
    lua = eng.state.memory()
    scripts = eng.script_memory()
    out = []
    for line in lines:
        key = line.split(":", 1)[0]
        if key == "used_memory_lua":
            line = f"used_memory_lua:{lua}"
        elif key == "used_memory_lua_human":
            line = f"used_memory_lua_human:{_human(lua)}"
        elif key == "used_memory_scripts_eval":
            line = f"used_memory_scripts_eval:{scripts}"
        elif key == "number_of_cached_scripts":
            line = f"number_of_cached_scripts:{len(eng.scripts)}"
        elif key == "used_memory_vm_eval":
            line = f"used_memory_vm_eval:{lua}"
        out.append(line)
    return out


def _human(n: int) -> str:
    if n < 1024:
        return f"{n}B"
    if n < 1024 * 1024:
        return f"{n / 1024:.2f}K"
    return f"{n / 1024 / 1024:.2f}M"


def _attach(srv) -> None:
    srv.scripting = ScriptEngine(srv)
    srv.add_hook("info_memory", _info_memory)
    srv.add_hook("startup", _install_busy_events)


def _install_busy_events(runner) -> None:
    from ..scripting.busy_events import install

    install(runner)


extensions.SERVER_INIT.append(_attach)

__all__ = ["engine_of", "split_keys", "sha1hex"]

"""``redis.call`` / ``redis.pcall``: a command from a script, through the server's ``call()``.

Redis's scriptCall: the arguments become an argv (numbers as ``%.17g``), the command is looked
up with its subcommand, arity-checked, refused when flagged ``noscript`` or when it writes in a
read-only run, and then run by :meth:`Server.call` for the script's own client (the "lua"
client: MONITOR shows it, the command table counts it, its writes propagate into the run's
buffer). The Python reply becomes the Lua value Redis's RESP parser would have made.
"""

from __future__ import annotations

from ..commands import registry
from ..commands.transactions import AofOnly, ReplOnly
from ..errors import NOREPLICAS, READONLY
from ..protocol.encoder import format_double
from ..protocol.replies import NULL_ARRAY, ErrorReply, Push, Raw, SetReply, Verbatim, _NullArray
from .resp import BigNumber, parse_raw
from .runtime import ARG_ERR_TAG, ERR_TAG, OK_TAG, ScriptRaise, error_text

REPL_AOF, REPL_REPLICA, REPL_ALL = 1, 2, 3  # redis.set_repl's flags (PROPAGATE_AOF|_REPL)
NO_ARGS = b"ERR Please specify at least one argument for this redis lib call"
BAD_ARG = b"ERR Lua redis lib command arguments must be strings or integers"
UNKNOWN = b"ERR Unknown Redis command called from script"
ARITY = b"ERR Wrong number of args calling Redis command from script"
NOSCRIPT = b"ERR This Redis command is not allowed from script"
WRITE_RO = b"ERR Write commands are not allowed from read-only scripts."
STALE = b"ERR Can not execute the command on a stale replica"
OOM = b"OOM command not allowed when used memory > 'maxmemory'."


def build_argv(args: tuple):
    """luaArgsToRedisArgv: (argv, None) or (None, error)."""
    if not args:
        return None, NO_ARGS
    argv = []
    for a in args:
        t = a.__class__
        if t is bytes:
            argv.append(a)
        elif t is int or t is float:
            argv.append(b"%.17g" % a)
        else:
            return None, BAD_ARG
    return argv, None


def lookup(argv: list):
    """lookupCommand with subcommands; None when unknown."""
    cmd = registry.lookup(argv[0])
    if cmd is None:
        return None
    if cmd.subcommands is not None and (len(argv) > 1 or cmd.proc is None):
        if len(argv) < 2:
            return cmd if cmd.proc is not None else None
        sub = cmd.subcommands.get(argv[1]) or cmd.subcommands.get(argv[1].lower())
        return sub
    return cmd


def good_replicas_ok(srv) -> bool:
    """checkGoodReplicasStatus: min-replicas-to-write is met (or does not apply)."""
    need = srv.config["min-replicas-to-write"]
    return not need or srv.role != "master" or srv.good_replicas() >= need


def _refuse(srv, cmd, text: bytes):
    """A command refused inside a script (scriptCall's ``error:``): counted in the error
    stats and as the command's rejected call; the script's own error reply is not counted
    again (ERR_TAG)."""
    srv.error_reply(text.decode("utf-8", "surrogateescape"))
    if cmd is not None:
        cmd.rejected_calls += 1
    return ERR_TAG, text


NOT_IN_SCRIPT = b"ERR redis.call/pcall can only be called inside a script invocation"


def script_call(engine, args: tuple):
    """The body of redis.call/pcall: (tag, value) for the sandbox (see runtime.ERR_TAG).

    The hot path: a command seen before (``engine.plain_commands``: no subcommands, not
    ``noscript``) on a server whose ``guard`` is down (no replica role, write barrier,
    min-replicas, maxmemory, busy script, ...) for a caller without ACL checks needs only its
    arity checked; anything else takes every check of :func:`checked_call`."""
    run = engine.run
    if run is None:
        return ERR_TAG, NOT_IN_SCRIPT
    argv = list(args)
    for a in argv:
        if a.__class__ is not bytes:
            argv, err = build_argv(args)
            if err is not None:
                return ARG_ERR_TAG, err
            break
    if not argv:
        return ARG_ERR_TAG, NO_ARGS
    srv = engine.server
    cmd = engine.plain_commands.get(argv[0])
    if cmd is None or srv.guard or run.caller.acl_user is not None or run.read_only:
        return checked_call(engine, run, argv)
    arity = cmd.arity
    if (arity > 0 and len(argv) != arity) or len(argv) < -arity:
        return _refuse(srv, cmd, ARITY)
    if cmd.write:
        run.write_dirty = True
    sc = run.client
    if run.repl != REPL_ALL:
        return _call_with_repl(srv, run, cmd, argv)
    r = srv.call(sc, cmd, argv)
    t = r.__class__
    if t is int or t is bytes:
        return 0, r
    return to_lua(run.state, r, sc.resp)


def make_calls(engine, table, collected: list):
    """redis.call and redis.pcall as lupa calls them: the hot path of :func:`script_call`
    inlined (one Python frame between Lua and ``Server.call``), everything else through
    script_call's (tag, value). ``collected``: the arguments of a call with too many for one
    lupa call, handed over in slices first (sandbox.lua)."""
    srv = engine.server
    plain = engine.plain_commands

    def hot(args):
        """The reply of a plain cached command, or None for the full path."""
        run = engine.run
        if (run is None or srv.guard or run.read_only or run.repl != REPL_ALL
                or run.caller.acl_user is not None):
            return None
        name = args[0]
        if name.__class__ is not bytes:
            return None
        cmd = plain.get(name)
        if cmd is None:
            return None
        arity = cmd.arity
        if (arity > 0 and len(args) != arity) or len(args) < -arity:
            return None
        for a in args:
            if a.__class__ is not bytes:
                return None
        if cmd.write:
            run.write_dirty = True
        sc = run.client
        r = srv.call(sc, cmd, list(args))
        t = r.__class__
        if t is int or t is bytes:
            return r
        return to_lua(run.state, r, sc.resp)

    def call(*args):
        if args:
            r = hot(args)
            if r is not None:
                if r.__class__ is not tuple:
                    return r
                tag, v = r
            else:
                tag, v = script_call(engine, args)
        else:
            if collected:
                args = tuple(collected)
                collected.clear()
            tag, v = script_call(engine, args)
        if tag == 0:
            return v
        if tag == OK_TAG:
            return table({b"ok": v})
        raise ScriptRaise(v, tag == ERR_TAG)

    def pcall(*args):
        if args:
            r = hot(args)
            if r is not None:
                if r.__class__ is not tuple:
                    return r
                tag, v = r
            else:
                tag, v = script_call(engine, args)
        else:
            if collected:
                args = tuple(collected)
                collected.clear()
            tag, v = script_call(engine, args)
        if tag == 0:
            return v
        if tag == OK_TAG:
            return table({b"ok": v})
        if tag == ERR_TAG:
            return table({b"err": v, b"ignore_error_stats_update": True})
        return table({b"err": v})

    return call, pcall


def checked_call(engine, run, argv: list):
    """scriptCall with all its checks, in Redis's order."""
    cmd = lookup(argv)
    srv = engine.server
    if cmd is None:
        return _refuse(srv, None, UNKNOWN)
    if cmd.subcommands is None and "noscript" not in cmd.flags:
        plain = engine.plain_commands
        if len(plain) >= 1024:  # names in every letter case: keep it bounded
            plain.clear()
        plain[argv[0]] = cmd
    arity = cmd.arity
    if (arity > 0 and len(argv) != arity) or len(argv) < -arity:
        return _refuse(srv, cmd, ARITY)
    if "noscript" in cmd.flags and not (engine.disable_deny_scripts or getattr(
            srv, "script_disable_deny_script", False)):  # DEBUG SET-DISABLE-DENY-SCRIPTS
        return _refuse(srv, cmd, NOSCRIPT)
    if (
        srv.role == "slave"
        and not cmd.stale
        and not srv.config["replica-serve-stale-data"]
        and srv.master_link is not None
        and not srv.master_link.is_up()
    ):
        return _refuse(srv, cmd, STALE)
    if run.caller.acl_user is not None:  # scriptVerifyACL (trioredis/acl/)
        denied = srv.acl.script_check(run.caller, cmd, argv)
        if denied is not None:
            return _refuse(srv, cmd, b"ERR " + denied.encode())
    if run.read_only and cmd.name in registry.MAY_REPLICATE:  # writes, for a script
        return _refuse(srv, cmd, WRITE_RO)
    if cmd.write and run.read_only:
        return _refuse(srv, cmd, WRITE_RO)
    if cmd.write and not run.write_dirty:
        # Once the script has written, it cannot be failed on the server's state any more
        # (scriptVerifyWriteCommandAllow: SCRIPT_WRITE_DIRTY skips what follows).
        caller = run.caller
        if srv.role == "slave" and srv.config["replica-read-only"] and not caller.is_master:
            return _refuse(srv, cmd, READONLY.encode())
        if srv.write_barrier is not None and not caller.is_master:
            refused = srv.write_barrier(caller, cmd)
            if refused:
                return _refuse(srv, cmd, refused.encode())
        if not good_replicas_ok(srv):
            return _refuse(srv, cmd, NOREPLICAS.encode())
    if run.oom and cmd.denyoom and not run.write_dirty and not run.caller.is_master:
        return _refuse(srv, cmd, OOM)
    if cmd.write:
        run.write_dirty = True
    if srv.cluster_route is not None and not run.caller.is_master:  # scriptVerifyClusterState
        refused = srv.rcluster.script_check(run, cmd, argv)
        if refused is not None:
            return _refuse(srv, cmd, refused.encode())
    if run.repl != REPL_ALL:
        return _call_with_repl(srv, run, cmd, argv)
    sc = run.client
    reply = srv.call(sc, cmd, argv)
    return to_lua(run.state, reply, sc.resp)


def _call_with_repl(srv, run, cmd, argv: list):
    """A command after ``redis.set_repl``: what it propagates goes only where the script's
    flags say, as call() drops PROPAGATE_AOF / PROPAGATE_REPL without CMD_CALL_PROPAGATE_*
    (an op left with no target is not propagated, nor counted for the MULTI/EXEC wrap)."""
    sc = run.client
    ops = srv.prop_buffer
    start = len(ops)
    reply = srv.call(sc, cmd, argv)
    if len(ops) > start:
        # What can receive anything now (shouldPropagate: replicas need a backlog, the AOF
        # needs to be on); an op left with no live target is dropped, as alsoPropagate does.
        repl_hooks = srv.hooks.get("propagate_repl", ())
        live = 0
        for target in srv.propagate_targets:
            live |= REPL_REPLICA if target in repl_hooks else REPL_AOF
        kept = []
        for dbid, args in ops[start:]:
            targets = (REPL_REPLICA if args.__class__ is ReplOnly else REPL_ALL) & run.repl & live
            if targets == REPL_ALL:
                kept.append((dbid, args))
            elif targets == REPL_AOF:
                kept.append((dbid, AofOnly(args)))
            elif targets == REPL_REPLICA:
                kept.append((dbid, ReplOnly(args)))
        ops[start:] = kept
    return to_lua(run.state, reply, sc.resp)


def to_lua(state, r, resp: int):
    """A command's reply as redisProtocolToLuaType makes it: (tag, value)."""
    t = r.__class__
    if t is bytes:
        return 0, r
    if t is int:
        return 0, r
    if t is str:
        return OK_TAG, r.encode()
    if t is ErrorReply:
        return ERR_TAG, error_text("-" + r.message).encode("utf-8", "surrogateescape")
    if r is None:
        return 0, (False if resp == 2 else None)
    return 0, _value(state, r, resp)


def _value(state, r, resp: int):
    t = r.__class__
    if t is bytes or t is int:
        return r
    if t is bytearray or t is memoryview:
        return bytes(r)
    if t is Verbatim:
        if resp == 2:
            return bytes(r)
        return state.table({b"verbatim_string": state.table({b"format": b"txt", b"string": bytes(r)})})
    if t is str:
        return state.table({b"ok": r.encode()})
    if t is ErrorReply:
        return state.table({b"err": error_text("-" + r.message).encode("utf-8", "surrogateescape")})
    if r is None or t is _NullArray:
        return False if resp == 2 else None
    if t is bool:
        if resp == 2:
            return 1 if r else 0
        return r
    if t is float:
        if resp == 2:
            return format_double(r)
        return state.table({b"double": r})
    if t is list or t is tuple or t is Push:
        return _array(state, [_value(state, x, resp) for x in r])
    if t is dict:
        if resp == 2:
            flat = []
            for k, v in r.items():
                flat.append(_value(state, k, resp))
                flat.append(_value(state, v, resp))
            return _array(state, flat)
        m = state.table()
        for k, v in r.items():
            kk = _value(state, k, resp)
            if kk is not None:
                m[kk] = _value(state, v, resp)
        return state.table({b"map": m})
    if t is set or t is frozenset or t is SetReply:
        if resp == 2:
            return _array(state, [_value(state, x, resp) for x in r])
        s = state.table()
        for x in r:
            xx = _value(state, x, resp)
            if xx is not None:
                s[xx] = True
        return state.table({b"set": s})
    if t is Raw:
        return _value(state, parse_raw(bytes(r)), resp)
    if t is BigNumber:
        if resp == 2:
            return bytes(r)
        return state.table({b"big_number": bytes(r)})
    if r is NULL_ARRAY:
        return False if resp == 2 else None
    raise TypeError(f"cannot convert {t.__name__} to Lua")


def _array(state, items: list):
    """An array table; a nil (RESP3 null) leaves a hole as lua_settable does."""
    if None not in items:
        return state.table(items)
    tbl = state.table()
    for i, v in enumerate(items, 1):
        if v is not None:
            tbl[i] = v
    return tbl

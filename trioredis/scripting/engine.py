"""The scripting engine of one server: Lua states, the EVAL script cache, and script runs.

A run (Redis's scriptRunCtx) executes synchronously inside the EVAL/FCALL handler, like any
command: nothing else runs meanwhile, so a script is atomic. Its commands go through
``Server.call`` for the engine's own client; their writes are collected and propagated
afterwards as one unit (wrapped in MULTI/EXEC when more than one: effects replication, never
the script). Time is frozen for the run, as in EXEC.

Busy scripts: a Lua count hook calls :meth:`ScriptEngine.lua_interrupt` every 100 000
instructions. Past ``busy-reply-threshold`` the run is "timed out": the server's
``busy_script`` check makes every other command answer ``-BUSY`` (only ``allow_busy``
commands run: SCRIPT KILL, FUNCTION KILL/STATS, SHUTDOWN NOSAVE, ...), and the hook calls
``server.process_events_while_busy`` (installed by the Trio layer, see ``busy_events``) so
other clients are read and answered from inside the hook, as Redis's
processEventsWhileBlocked does. See docs/scripting.md.
"""

from __future__ import annotations

import time

from ..client import Client
from ..errors import NOREPLICAS, READONLY
from ..protocol.replies import ErrorReply, Raw
from .caller import OOM as _OOM
from .caller import good_replicas_ok, make_calls
from .runtime import ERR_TAG, HOOK_COUNT, LuaState, integer_text, sha1hex

FLAG_NO_WRITES = "no-writes"
FLAG_ALLOW_OOM = "allow-oom"
FLAG_ALLOW_STALE = "allow-stale"
FLAG_NO_CLUSTER = "no-cluster"
FLAG_CROSS_SLOT = "allow-cross-slot-keys"
SCRIPT_FLAGS = (FLAG_NO_WRITES, FLAG_ALLOW_OOM, FLAG_ALLOW_STALE, FLAG_NO_CLUSTER, FLAG_CROSS_SLOT)

BUSY_EVAL = "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
BUSY_FUNCTION = (
    "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."
)
NOTBUSY = "NOTBUSY No scripts in execution right now."
UNKILLABLE_WRITE = (
    "UNKILLABLE Sorry the script already executed write commands against the dataset. You can "
    "either wait the script termination or kill the server in a hard way using the SHUTDOWN "
    "NOSAVE command."
)
UNKILLABLE_MASTER = (
    "UNKILLABLE The busy script was sent by a master instance in the context of replication "
    "and cannot be killed."
)
KILLED = b"ERR Script killed by user with SCRIPT KILL..."
LOAD_TIMEOUT = b"ERR FUNCTION LOAD timeout"


class ScriptClient(Client):
    """The engine's own client, which runs the commands of scripts (Redis's CLIENT_SCRIPT):
    commands that behave differently for scripts test ``getattr(c, "in_script", False)``."""

    in_script = True


class Script:
    """A cached EVAL script: its body, compiled function and shebang flags (None: no
    shebang, the backward-compatible mode)."""

    __slots__ = ("body", "func", "flags")

    def __init__(self, body: bytes, func, flags):
        self.body = body
        self.func = func
        self.flags = flags


class Run:
    """One script execution (scriptRunCtx)."""

    __slots__ = ("caller", "client", "name", "is_eval", "read_only", "oom", "start",
                 "timed_out", "killed", "write_dirty", "repl", "state", "argv", "cross_slot",
                 "cluster_slot")

    def __init__(self, caller, client, name: str, is_eval: bool, read_only: bool, state):
        self.caller = caller
        self.client = client
        self.name = name
        self.is_eval = is_eval
        self.read_only = read_only
        self.oom = False
        self.start = time.monotonic()
        self.timed_out = False
        self.killed = False
        self.write_dirty = False
        self.repl = 3  # REPL_ALL
        self.state = state
        self.argv = None  # the caller's command (FUNCTION STATS shows it)
        self.cross_slot = False  # allow-cross-slot-keys (Redis Cluster's check of keys)
        self.cluster_slot = -1  # Redis Cluster: the slot the script's keys are in (-1: none yet)


class ScriptEngine:
    """Per-server scripting state: ``server.scripting``."""

    def __init__(self, server):
        self.server = server
        self.client = self._new_client()
        self.scripts: dict[str, Script] = {}
        self.run: Run | None = None
        self.disable_deny_scripts = False
        self.plain_commands: dict = {}  # redis.call's hot path (caller.script_call)
        self.state = LuaState("eval", self)
        self.functions = None  # the FUNCTION libraries (scripting.functions.Libraries)
        self.register_hook = None  # set while a library loads: redis.register_function
        self.load_deadline = None  # while a library loads: when it times out

    def _new_client(self) -> Client:
        c = ScriptClient(self.server)
        c.authenticated = True
        c.deny_blocking = True
        c.update_guard()
        return c

    # -- the EVAL cache ----------------------------------------------------------------------

    def reset_eval(self) -> None:
        """SCRIPT FLUSH: a new Lua state and an empty cache (Redis resets its VM)."""
        self.scripts.clear()
        self.state = LuaState("eval", self)

    def script_memory(self) -> int:
        return sum(len(s.body) for s in self.scripts.values())

    def create_script(self, body: bytes) -> tuple[str, Script]:
        """Compile and cache ``body`` (luaCreateFunction); raises ScriptError."""
        sha = sha1hex(body)
        script = self.scripts.get(sha)
        if script is not None:
            return sha, script
        flags, shebang_len = parse_shebang(body)
        func = self.state.compile_chunk(body[shebang_len:], b"@user_script")
        if isinstance(func, tuple):  # (nil, message)
            err = func[1]
            raise ScriptError("ERR Error compiling script (new function): " + _text(err))
        script = Script(body, func, flags)
        self.scripts[sha] = script
        return sha, script

    # -- running -----------------------------------------------------------------------------

    def state_of(self, run: Run) -> LuaState:
        return run.state

    def prepare_error(self, c, flags, ro: bool, oom: bool) -> str | None:
        """scriptPrepareForRun's refusals, from the script's flags."""
        srv = self.server
        stale = (
            srv.role == "slave"
            and srv.master_link is not None
            and not srv.master_link.is_up()
            and not srv.config["replica-serve-stale-data"]
        )
        if flags is None:
            if stale:
                return "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."
            return None
        if FLAG_NO_CLUSTER in flags and srv.config["cluster-enabled"]:
            return "ERR Can not run script on cluster, 'no-cluster' flag is set."
        if oom and FLAG_ALLOW_OOM not in flags and FLAG_NO_WRITES not in flags:
            # processCommand refuses it: a script with flags and neither allow-oom nor
            # no-writes is a denyoom command (scriptFlagsToCmdFlags)
            return _OOM.decode()
        if stale and FLAG_ALLOW_STALE not in flags:
            return ("MASTERDOWN Link with MASTER is down, replica-serve-stale-data is set to "
                    "'no' and 'allow-stale' flag is not set on the script.")
        if FLAG_NO_WRITES not in flags:
            if srv.role == "slave" and srv.config["replica-read-only"] and not c.is_master:
                # processCommand refuses it first: the script's flags make it a write command
                return READONLY
            if srv.write_barrier is not None and not c.is_master:
                refused = srv.write_barrier(c, _WRITE_PROBE)
                if refused:
                    return refused
            if ro:
                return "ERR Can not execute a script with write flag using *_ro command."
            if not good_replicas_ok(srv):
                return NOREPLICAS
        return None

    def over_maxmemory(self) -> bool:
        """Redis's pre_command_oom_state: over maxmemory with nothing left to evict."""
        srv = self.server
        if not srv.config["maxmemory"]:
            return False
        from ..eviction import EVICT_FAIL, perform_evictions

        return perform_evictions(srv) == EVICT_FAIL

    def execute(self, c, state: LuaState, func, name: str, keys: list, args: list, flags,
                ro: bool, is_eval: bool, argv=None):
        """Run ``func`` for client ``c`` and return its reply (luaCallFunction).

        One call into Lua does the whole run (KEYS/ARGV, the call, the reply's conversion):
        every crossing between Python and Lua costs microseconds."""
        srv = self.server
        oom = False
        if flags is not None or srv.guard:  # (no guard: no maxmemory, not a replica)
            oom = not c.is_master and srv.config["maxmemory"] and self.over_maxmemory()
            refused = self.prepare_error(c, flags, ro, oom)
            if refused is not None:
                return srv.error_reply(refused)
        sc = self.client
        sc.db = c.db
        if sc.resp != 2:
            sc.set_resp(2)
        sc.in_multi = c.in_multi
        read_only = ro or (flags is not None and FLAG_NO_WRITES in flags)
        run = Run(c, sc, name, is_eval, read_only, state)
        run.argv = argv
        # A script without a shebang keeps Redis 6's freedom across slots (eval compat mode).
        run.cross_slot = flags is None or FLAG_CROSS_SLOT in flags
        if keys and srv.cluster_route is not None:  # the declared keys' slot (c->slot)
            from ..rcluster.slots import key_slot

            run.cluster_slot = key_slot(keys[0])
        run.oom = oom and (flags is None or FLAG_ALLOW_OOM not in flags)
        self.run = run
        saved_frozen = srv.frozen_ms
        if not saved_frozen:
            srv.frozen_ms = int(srv.clock.time() * 1000)
        outer = srv.prop_buffer
        if outer is None:
            srv.prop_buffer = []
        values = srv.config.values
        threshold = values.get("busy-reply-threshold")
        if threshold is None:
            threshold = values["lua-time-limit"]
        if threshold > 0:
            if not state.hooked:  # it stays set between runs (sethook costs a crossing)
                state.hook_on(HOOK_COUNT)
        elif state.hooked:
            state.hook_off()
        try:
            if len(keys) + len(args) < _MANY_ARGS:
                r = state.run_script(func, not is_eval, c.resp, len(keys), *keys, *args)
            else:  # lupa's C calls take at most ~8 000 values
                table = state.table
                r = state.run_tables(func, not is_eval, c.resp, table(keys), table(args))
            self.run = None
            if run.killed:  # the hook went to every line: back to counting
                state.hook_off()
            kind = r[0]
            if kind == 0 and r[1].__class__ is bytes:  # the usual replies, converted at once
                reply = r[1]
            elif kind == 0 and r[1].__class__ is int and -_2_63 <= r[1] < _2_63:
                reply = r[1]
            elif kind == 3:
                reply = self._error_reply(r, name)
            else:
                reply = self._reply(r, sc.resp)
        finally:
            if self.run is not None:
                self.run = None
                state.hook_off()
            sc.in_multi = False
            srv.frozen_ms = saved_frozen
            if outer is None:
                ops = srv.prop_buffer
                srv.prop_buffer = None
                if ops:
                    self._propagate(c, ops, run.repl)
            if run.timed_out:
                srv.busy_script = None
                srv.update_guard()
        return reply

    def _propagate(self, c, ops: list, repl: int) -> None:
        from ..commands.transactions import propagate_unit

        propagate_unit(self.server, ops)
        c.woff = self.server.master_repl_offset

    def _reply(self, r, script_resp: int):
        kind, a = r[0], r[1]
        if kind == 0:
            t = a.__class__
            if t is bytes:
                return a
            if t is int and -_2_63 <= a < _2_63:
                return a
            if t is int or t is float:
                return int(integer_text(a))
            if t is bool:
                if script_resp == 2:
                    return 1 if a else None
                return a
            return None
        if kind == 1:
            return Raw(a)
        msg = _text(a)  # sent after a '-' as it is: {err='-X'} is "--X" on the wire, as Redis
        if len(r) > 4 and r[4]:  # already counted (ERR_REPLY_FLAG_NO_STATS_UPDATE)
            return ErrorReply(msg)
        return self.server.error_reply(msg)

    def _error_reply(self, r, name: str):
        """A failed run: r is (3, message, source, line, ignore) from sandbox.lua."""
        r = tuple(r) + (None,) * (5 - len(r))
        _, msg, source, line, ignore = r[:5]
        if msg is None:
            msg = b"execution failure"
        text = _text(msg)
        if source is not None and line is not None:
            text += f" script: {name}, on {_text(source)}:{_text(line)}."
        if text.startswith("-"):
            text = text[1:]
        if ignore:  # the failed command counted it (ERR_REPLY_FLAG_NO_STATS_UPDATE)
            return ErrorReply(text)
        return self.server.error_reply(text)

    # -- callbacks from the Lua states (see sandbox.lua) ----------------------------------------

    def lua_calls(self, table, collected: list):
        """redis.call and redis.pcall for a new Lua state."""
        return make_calls(self, table, collected)

    def lua_acl_check_cmd(self, *args):
        from .caller import build_argv, lookup

        run = self.run
        if run is None:
            return ERR_TAG, b"ERR redis.acl_check_cmd can only be called inside a script invocation"
        argv, err = build_argv(args)
        if err is not None:
            return ERR_TAG, err
        cmd = lookup(argv)
        if cmd is None:
            return ERR_TAG, b"ERR Invalid command passed to redis.acl_check_cmd()"
        check = self.server.hooks.get("acl_check_cmd")
        if not check:
            return 0, True
        return 0, bool(check[0](run.caller, cmd, argv))

    def lua_setresp(self, *args):
        run = self.run
        if run is None:
            return ERR_TAG, b"ERR redis.setresp can only be called inside a script invocation"
        if len(args) != 1:
            return ERR_TAG, b"ERR redis.setresp() requires one argument."
        v = args[0]
        n = _lua_int(v)
        if n not in (2, 3):
            return ERR_TAG, b"ERR RESP version must be 2 or 3."
        run.client.set_resp(n)
        return 0, None

    def lua_set_repl(self, *args):
        run = self.run
        if run is None:
            return ERR_TAG, b"ERR redis.set_repl can only be called inside a script invocation"
        if len(args) != 1:
            return ERR_TAG, b"ERR redis.set_repl() requires two arguments."
        n = _lua_int(args[0])
        if n is None or n & ~3:
            return ERR_TAG, (b"ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, "
                             b"REPL_ALL or REPL_NONE.")
        run.repl = n
        return 0, None

    def lua_register_function(self, *args):
        hook = self.register_hook
        if hook is None:
            return ERR_TAG, b"ERR redis.register_function can only be called on FUNCTION LOAD command"
        return hook(*args)

    def lua_log(self, level: str, text: str) -> None:
        getattr(self.server.log, level)(text)

    def lua_interrupt(self):
        """The count hook: None to go on, or the error that ends a killed script."""
        run = self.run
        if run is None:
            deadline = self.load_deadline
            if deadline is not None and time.monotonic() > deadline:
                return LOAD_TIMEOUT
            return None
        srv = self.server
        if not run.timed_out:
            elapsed = (time.monotonic() - run.start) * 1000
            if elapsed < busy_threshold(srv):
                return None
            srv.log.warning(
                f"Slow script detected: still in execution after {int(elapsed)} milliseconds. "
                f"You can try killing the script using the "
                f"{'SCRIPT KILL' if run.is_eval else 'FUNCTION KILL'} command.")
            run.timed_out = True
            srv.busy_script = self.busy_refusal
            srv.update_guard()
        process = getattr(srv, "process_events_while_busy", None)
        if process is not None:
            process()
        if run.killed:
            srv.log.warning("Lua script killed by user with SCRIPT KILL.")
            return KILLED
        return None

    # -- busy state --------------------------------------------------------------------------

    def busy_refusal(self, c, cmd, argv) -> str | None:
        """While a script is timed out: the error for commands not allowed meanwhile."""
        run = self.run
        if run is None:
            return None
        if "allow_busy" in cmd.flags:
            if cmd.name == "shutdown":
                if not any(a.lower() == b"nosave" for a in argv[1:]):
                    return BUSY_EVAL if run.is_eval else BUSY_FUNCTION
                run.killed = True  # the script ends, then the server
            return None
        return BUSY_EVAL if run.is_eval else BUSY_FUNCTION

    def kill(self, is_eval: bool):
        """SCRIPT KILL / FUNCTION KILL: (error text or None)."""
        run = self.run
        if run is None:
            return NOTBUSY
        if run.caller.is_master:
            return UNKILLABLE_MASTER
        if run.write_dirty:
            return UNKILLABLE_WRITE
        if is_eval and not run.is_eval:
            return BUSY_FUNCTION
        if not is_eval and run.is_eval:
            return BUSY_EVAL
        run.killed = True
        return None


_2_63 = 1 << 63
_MANY_ARGS = 4000  # more keys and arguments than this go to Lua as two tables


class ScriptError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class _WriteProbe:
    """What a write barrier is shown for a script that may write (any write command)."""

    name = "eval"
    write = True
    flags = frozenset({"write"})


_WRITE_PROBE = _WriteProbe()


def busy_threshold(srv) -> int:
    """busy-reply-threshold in ms (its older name, lua-time-limit, is an alias)."""
    values = srv.config.values
    v = values.get("busy-reply-threshold")
    return v if v is not None else values["lua-time-limit"]


def parse_shebang(body: bytes):
    """evalExtractShebangFlags: (flags or None, length of the shebang line)."""
    if not body.startswith(b"#!"):
        return None, 0
    end = body.find(b"\n")
    shebang_len = len(body) if end < 0 else end
    parts = body[:shebang_len].split()
    if not parts:
        raise ScriptError("ERR Invalid script shebang")
    if parts[0] != b"#!lua":
        raise ScriptError("ERR Unexpected engine in script shebang: " + _text(parts[0]))
    flags = set()
    for p in parts[1:]:
        if p.startswith(b"flags="):
            for f in (p[6:].split(b",") if len(p) > 6 else ()):
                name = _text(f)
                if name not in SCRIPT_FLAGS:
                    raise ScriptError("ERR Unexpected flag in script shebang: " + name)
                flags.add(name)
        else:
            raise ScriptError("ERR Unknown lua shebang option: " + _text(p))
    return frozenset(flags), shebang_len


def _lua_int(v):
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, (int, float)):
        return int(v) if v == v else None
    if isinstance(v, bytes):
        try:
            return int(float(v))
        except ValueError:
            return None
    return None


def _text(v) -> str:
    if isinstance(v, bytes):
        return v.decode("utf-8", "surrogateescape")
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)

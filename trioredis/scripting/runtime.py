"""One sandboxed Lua 5.1 state (lupa) with Redis's globals, and the Python side of its API.

lupa embeds a real Lua 5.1 (``lupa.lua51``); we create the runtime with no ``python`` module,
no Python eval, an attribute filter that refuses every attribute access on Python objects, and
strings passed as bytes. ``sandbox.lua`` then removes ``io``/``os``/``package``/``debug``,
makes the globals and library tables read-only, and wraps every Python callable in a Lua
closure so scripts only ever see Lua values. Everything a script does to the server goes
through ``redis.call`` → :class:`~trioredis.scripting.caller.ScriptCaller`.
"""

from __future__ import annotations

import hashlib
import math
from importlib import resources

from lupa import lua51

from ..protocol.encoder import format_double
from . import libbit, libcjson, libcmsgpack, libstruct
from .args import LuaArgError
from .bytecode import untail
from .runtime_types import lua_number_text

REDIS_VERSION = "7.0.15"
REDIS_VERSION_NUM = (7 << 16) | (0 << 8) | 15
ERR_TAG = 2  # an error table from a command (already counted in the error stats)
OK_TAG = 1
ARG_ERR_TAG = 3  # an error table raised before any command ran
LL_DEBUG, LL_WARNING = 0, 3
_LOG_LEVELS = {0: "debug", 1: "verbose", 2: "notice", 3: "warning"}
_SANDBOX = resources.files(__package__).joinpath("sandbox.lua").read_bytes()
HOOK_COUNT = 100_000  # Lua instructions between two looks at the clock, as Redis


class ScriptRaise(Exception):
    """Raised by a Python function called from Lua: the script gets the Lua error
    ``{err=message}`` (``ignore``: the failed command already counted the error)."""

    def __init__(self, message: bytes, ignore: bool = False):
        super().__init__(message)
        self.message = message
        self.ignore = ignore


def unwrap_error(e):
    """What sandbox.lua's error handler makes of a Python exception: (kind, message, ignore)."""
    if isinstance(e, ScriptRaise):
        return 1, e.message, e.ignore
    if isinstance(e, LuaArgError):
        return 2, e.text, False
    return None


def _deny_attributes(obj, name, setting):
    raise AttributeError("not allowed")


def sha1hex(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def error_text(message: bytes | str) -> str:
    """luaPushErrorBuff: "-CODE msg" keeps CODE, anything else gets "ERR"; no trailing CRLF."""
    if isinstance(message, bytes):
        message = message.decode("utf-8", "surrogateescape")
    if message.startswith("-"):
        code, sep, msg = message[1:].partition(" ")
        if not sep:
            code, msg = "ERR", message[1:]
    else:
        code, msg = "ERR", message
    return f"{code} {msg.strip(chr(13) + chr(10))}"


def integer_text(v) -> bytes:
    """(long long)lua_Number, as C truncates it (x86 gives LLONG_MIN for NaN and overflow)."""
    if isinstance(v, int):
        if -(1 << 63) <= v < (1 << 63):
            return b"%d" % v
        return b"-9223372036854775808"
    if v != v or v in (math.inf, -math.inf) or not -(2.0**63) <= v < 2.0**63:
        return b"-9223372036854775808"
    return b"%d" % int(v)


class Rand48:
    """Redis's redisLrand48/redisSrand48 (rand.c): the same sequence on every platform."""

    __slots__ = ("x",)
    MAX = 2**31 - 1

    def __init__(self):
        self.seed(0)

    def seed(self, i: int) -> None:
        self.x = ((int(i) & 0xFFFFFFFF) << 16) | 0x330E

    def next(self) -> int:
        self.x = (0x5DEECE66D * self.x + 0xB) & 0xFFFFFFFFFFFF
        return self.x >> 17

    def random(self) -> float:
        return (self.next() % self.MAX) / self.MAX


class LuaState:
    """A Lua state prepared as Redis prepares its own (eval.c / function_lua.c)."""

    def __init__(self, mode: str, host):
        """``host`` provides the run-time hooks: call, interrupt, log, ... (see ``_api``)."""
        self.mode = mode
        self.host = host
        self.rand = Rand48()
        self.collected: list = []
        lua = self.lua = lua51.LuaRuntime(
            encoding=None,
            register_eval=False,
            register_builtins=False,
            unpack_returned_tuples=True,
            attribute_filter=_deny_attributes,
        )
        self.table = lua.table_from
        loader = self.load_internal = lua.eval("loadstring")  # before the sandbox wraps it
        chunk = loader(_SANDBOX, b"=sandbox")
        if isinstance(chunk, tuple):  # pragma: no cover - a broken sandbox.lua: (nil, error)
            raise RuntimeError(chunk[1])
        self.internal = chunk(self._api(), mode.encode())
        i = self.internal
        self.compile_chunk = i.compile
        self.run = i.run
        self.run_script = i.run_script
        self.run_tables = i.run_tables
        self.reply = i.reply
        self.set_global = i.set_global
        self._hook_on = i.hook_on
        self._hook_off = i.hook_off
        self.hooked = False  # the count hook is set (it stays set between runs)
        self.error_info = i.error_info
        self.json_null = i.json_null
        self.is_json_null = i.is_json_null
        lua.eval("collectgarbage('collect')")

    def hook_on(self, count: int) -> None:
        self._hook_on(count)
        self.hooked = True

    def hook_off(self) -> None:
        self._hook_off()
        self.hooked = False

    def _api(self):
        host = self.host
        rand = self.rand
        t = self.table
        # redis.call / redis.pcall: the host's (caller.make_calls: the hot path inlined)
        call, pcall = host.lua_calls(self.table, self.collected)

        libs = t({
            b"cjson": t(libcjson.functions(self)),
            b"cmsgpack": t(libcmsgpack.functions(self)),
            b"struct": t(libstruct.functions(self)),
            b"bit": t(libbit.functions()),
        })
        return t({
            b"call": call,
            b"pcall": pcall,
            b"collect": self._collect,
            b"untail": untail,
            b"acl_check_cmd": _raising(host.lua_acl_check_cmd),
            b"setresp": _raising(host.lua_setresp),
            b"set_repl": _raising(host.lua_set_repl),
            b"register_function": _raising(host.lua_register_function),
            b"interrupt": host.lua_interrupt,
            b"unwrap": unwrap_error,
            b"log": _raising(self._log),
            b"sha1hex": _raising(self._sha1hex),
            b"error_text": lambda e: error_text(e).encode("utf-8", "surrogateescape"),
            b"integer_text": integer_text,
            b"double_text": _double_text,
            b"random": rand.random,
            b"randomseed": lambda s: rand.seed(int(s) if s == s and abs(s) < 2**63 else 0),
            b"version": REDIS_VERSION.encode(),
            b"version_num": REDIS_VERSION_NUM,
            b"libs": libs,
        })

    def _collect(self, *args):
        """A slice of the arguments of a call with too many for one Python call (sandbox.lua);
        the next call made with no arguments takes them."""
        self.collected.extend(args)

    def _sha1hex(self, *args):
        if len(args) != 1:
            return ERR_TAG, b"ERR wrong number of arguments"
        s = args[0]
        if isinstance(s, (int, float)):
            s = lua_number_text(s)
        elif not isinstance(s, bytes):
            s = b""
        return 0, sha1hex(s).encode()

    def _log(self, *args):
        if len(args) < 2:
            return ERR_TAG, b"ERR redis.log() requires two arguments or more."
        level = lua_to_number(args[0])
        if level is None:
            return ERR_TAG, b"ERR First argument must be a number (log level)."
        level = int(level)
        if level < LL_DEBUG or level > LL_WARNING:
            return ERR_TAG, b"ERR Invalid debug level."
        parts = []
        for a in args[1:]:
            if isinstance(a, bytes):
                parts.append(a)
            elif isinstance(a, (int, float)) and not isinstance(a, bool):
                parts.append(lua_number_text(a))
        self.host.lua_log(_LOG_LEVELS[level], b" ".join(parts).decode("utf-8", "replace"))
        return 0, None

    def lua_table(self, items):
        return self.table(items)

    def memory(self) -> int:
        return int(self.lua.eval("collectgarbage('count')") * 1024)


def _double_text(d) -> bytes:
    """A {double=...} reply as Redis's %.17g prints it (x86's 0/0 is a negative NaN)."""
    if d != d:
        return b"-nan" if math.copysign(1.0, d) < 0 else b"nan"
    return format_double(d)


def _raising(fn):
    """Adapt a (tag, value) callback: an error tag raises the Lua error {err=value}."""

    def f(*args):
        tag, v = fn(*args)
        if tag == ERR_TAG or tag == ARG_ERR_TAG:
            raise ScriptRaise(v)
        return v

    return f


def lua_to_number(v):
    """lua_isnumber/lua_tonumber: numbers, and strings that read as numbers."""
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, (int, float)):
        return v
    if isinstance(v, bytes):
        try:
            s = v.strip()
            if s.lower().startswith((b"0x", b"-0x", b"+0x")):
                return int(s, 16)
            return float(s)
        except ValueError:
            return None
    return None

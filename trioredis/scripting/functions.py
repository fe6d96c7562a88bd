"""FUNCTION libraries (Redis 7.0's functions.c / function_lua.c) on their own Lua state.

Each library's code runs once, at FUNCTION LOAD, with globals that see only the loading API
(``redis.register_function``, ``redis.log``, the version fields); the functions it registers
keep those globals, whose lookup is switched to the full run-time globals afterwards, as
Redis swaps its globals' ``__index``.
"""

from __future__ import annotations

import re
import time

from .args import LuaArgError
from .engine import SCRIPT_FLAGS, ScriptError
from .runtime import ERR_TAG, LuaState

LOAD_TIMEOUT = 0.5  # seconds a library's loading run may take (Redis's LOAD_TIMEOUT_MS)
_NAME_RE = re.compile(rb"^[A-Za-z0-9_]+$")

LOADER = b"""
local G, lib_api, protect, setfenv = ...
local setmetatable, error = setmetatable, error
local function nonexistent(_, k)
    error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
end
local api_mt = {__index = nonexistent}
setmetatable(lib_api, api_mt)
local env_mt = {__newindex = function() error("Attempt to modify a readonly table", 2) end}
local env = setmetatable({}, env_mt)
return function(f)
    setfenv(f, env)
end, function(loading)
    env_mt.__index = loading and lib_api or G
end
"""


class Function:
    __slots__ = ("name", "callback", "flags", "description", "library")

    def __init__(self, name, callback, flags, description, library):
        self.name = name
        self.callback = callback
        self.flags = flags
        self.description = description
        self.library = library


class Library:
    """A loaded library: its code and its functions (by lower-cased name)."""

    __slots__ = ("name", "code", "functions")

    def __init__(self, name: str, code: bytes):
        self.name = name
        self.code = code
        self.functions: dict[str, Function] = {}


class Libraries:
    """All loaded libraries and their functions (``engine.functions``)."""

    def __init__(self, engine):
        self.engine = engine
        self.libraries: dict[str, Library] = {}
        self.functions: dict[str, Function] = {}
        self._new_state()

    def _new_state(self) -> None:
        state = self.state = LuaState("function", self.engine)
        lua = state.lua
        redis_proxy = state.internal.redis_proxy
        api_redis = state.table({
            b"register_function": state.internal.register_function,
            b"log": redis_proxy.log,
            b"LOG_DEBUG": 0, b"LOG_VERBOSE": 1, b"LOG_NOTICE": 2, b"LOG_WARNING": 3,
            b"REDIS_VERSION": redis_proxy.REDIS_VERSION,
            b"REDIS_VERSION_NUM": redis_proxy.REDIS_VERSION_NUM,
        })
        lua.eval(b"function(t) setmetatable(t, {__index = function(_, k) error("
                 b"\"Script attempted to access nonexistent global variable '\" .. tostring(k)"
                 b" .. \"'\", 2) end}) end")(api_redis)
        lib_api = state.table({b"redis": state.internal.protect(api_redis)})
        loader = state.load_internal(LOADER, b"=sandbox")
        self.set_env, self.set_loading = loader(state.internal.G, lib_api, state.internal.protect,
                                           state.internal.setfenv)

    def flush(self) -> None:
        self.libraries.clear()
        self.functions.clear()
        self._new_state()

    def load(self, code: bytes, replace: bool) -> str:
        """FUNCTION LOAD: the library's name; raises ScriptError with Redis's texts."""
        name = parse_library_header(code)
        old = self.libraries.get(name)
        if old is not None and not replace:
            raise ScriptError(f"ERR Library '{name}' already exists")
        lib = Library(name, code)
        state = self.state
        end = code.find(b"\n")
        chunk = state.compile_chunk(b"" if end < 0 else code[end:], b"@user_function")
        if isinstance(chunk, tuple):
            raise ScriptError("ERR Error compiling function: " + _text(chunk[1]))
        self.set_env(chunk)
        eng = self.engine
        eng.register_hook = lambda *a: self._register(lib, a)
        self.set_loading(True)
        try:
            eng.load_deadline = time.monotonic() + LOAD_TIMEOUT
            state.hook_on(100_000)
            ok, err = state.run(chunk)
        finally:
            eng.load_deadline = None
            state.hook_off()
            self.set_loading(False)
            eng.register_hook = None
        if not ok:
            msg = state.error_info(err)[0]
            raise ScriptError("ERR Error registering functions: " + _text(msg))
        if not lib.functions:
            raise ScriptError("ERR No functions registered")
        for key, fn in lib.functions.items():
            owner = self.functions.get(key)
            if owner is not None and owner.library is not old:
                raise ScriptError(f"ERR Function {fn.name} already exists")
        if old is not None:
            self._remove(old)
        self.libraries[name] = lib
        self.functions.update(lib.functions)
        return name

    def get(self, name: bytes) -> Function | None:
        """The function called ``name`` (function names ignore case, as Redis's dict)."""
        return self.functions.get(name.decode("utf-8", "surrogateescape").lower())

    def restore(self, codes: list[bytes], policy: str) -> Libraries | None:
        """FUNCTION RESTORE / loading an RDB: the libraries of ``codes`` joined to these with
        Redis's ``policy`` ("append", "replace") or, for "flush", a new set that replaces
        these (returned). Nothing changes when it fails (ScriptError with Redis's texts)."""
        fresh = Libraries(self.engine)
        for code in codes:
            fresh.load(code, False)
        if policy == "flush":
            return fresh
        replaced = set()
        for name in fresh.libraries:
            if name in self.libraries:
                if policy != "replace":
                    raise ScriptError(f"ERR Library {name} already exists")
                replaced.add(name)
        for key, fn in fresh.functions.items():
            owner = self.functions.get(key)
            if owner is not None and owner.library.name not in replaced:
                raise ScriptError(f"ERR Function {fn.name} already exists")
        for lib in fresh.libraries.values():
            self.load(lib.code, True)
        return None

    def _remove(self, lib: Library) -> None:
        for fname in lib.functions:
            self.functions.pop(fname, None)
        self.libraries.pop(lib.name, None)

    def delete(self, name: str) -> None:
        lib = self.libraries.get(name)
        if lib is None:
            raise ScriptError("ERR Library not found")
        self._remove(lib)

    def _register(self, lib: Library, args: tuple):
        """redis.register_function(name, callback) or {function_name=, callback=, flags=,
        description=}: (tag, value) for the sandbox."""
        flags = frozenset()
        description = None
        if len(args) == 1:
            t = args[0]
            if state_type(t) != "table":
                return ERR_TAG, (b"ERR calling redis.register_function with a single argument "
                                 b"is only applicable to Lua table (representing named arguments).")
            name = callback = None
            for k, v in t.items():
                if not isinstance(k, (bytes, int, float)) or isinstance(k, bool):
                    return ERR_TAG, (b"ERR named argument key given to redis.register_function "
                                     b"is not a string")
                key = _lua_string(k).lower()
                if key == b"function_name":
                    name = _lua_string(v)
                    if name is None:
                        return ERR_TAG, (b"ERR function_name argument given to "
                                         b"redis.register_function must be a string")
                elif key == b"description":
                    description = _lua_string(v)
                    if description is None:
                        return ERR_TAG, (b"ERR description argument given to "
                                         b"redis.register_function must be a string")
                elif key == b"callback":
                    if state_type(v) != "function":
                        return ERR_TAG, (b"ERR callback argument given to "
                                         b"redis.register_function must be a function")
                    callback = v
                elif key == b"flags":
                    if state_type(v) != "table":
                        return ERR_TAG, b"ERR flags argument to redis.register_function must be a table representing function flags"
                    fl = set()
                    for _, f in v.items():
                        if not isinstance(f, bytes) or f.decode("latin-1") not in SCRIPT_FLAGS:
                            return ERR_TAG, b"ERR unknown flag given"
                        fl.add(f.decode("latin-1"))
                    flags = frozenset(fl)
                else:
                    return ERR_TAG, b"ERR unknown argument given to redis.register_function"
            if name is None:
                return ERR_TAG, b"ERR redis.register_function must get a function name argument"
            if callback is None:
                return ERR_TAG, b"ERR redis.register_function must get a callback argument"
        elif len(args) == 2:
            name, callback = _lua_string(args[0]), args[1]
            if name is None:
                return ERR_TAG, b"ERR first argument to redis.register_function must be a string"
            if state_type(callback) != "function":
                return ERR_TAG, (b"ERR second argument to redis.register_function must be a "
                                 b"function")
        else:
            return ERR_TAG, b"ERR wrong number of arguments to redis.register_function"
        if not _NAME_RE.match(name):
            return ERR_TAG, (b"ERR Library names can only contain letters, numbers, or "
                             b"underscores(_) and must be at least one character long")
        fname = name.decode("latin-1")
        key = fname.lower()
        if key in lib.functions:
            return ERR_TAG, b"ERR Function already exists in the library"
        lib.functions[key] = Function(fname, callback, flags, description, lib)
        return 0, None


def _lua_string(v) -> bytes | None:
    """luaGetStringSds: strings, and numbers as Lua prints them; None for anything else."""
    if isinstance(v, bytes):
        return v
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        from .runtime_types import lua_number_text

        return lua_number_text(v)
    return None


def state_type(v) -> str:
    from .runtime_types import lua_type_name

    return lua_type_name(v)


def parse_library_header(code: bytes) -> str:
    """``#!lua name=<name>`` on the first line: the library name."""
    if not code.startswith(b"#!"):
        raise ScriptError("ERR Missing library metadata")
    end = code.find(b"\n")
    parts = (code if end < 0 else code[:end]).split()
    engine = parts[0][2:] if parts else b""
    if engine.lower() != b"lua":
        raise ScriptError(f"ERR Engine '{_text(engine)}' not found")
    name = None
    for p in parts[1:]:
        if p[:5].lower() == b"name=":
            if name is not None:
                raise ScriptError("ERR Invalid metadata value, name argument was given multiple "
                                  "times")
            name = p[5:].strip(b'"')
        else:
            raise ScriptError("ERR Invalid metadata value given: " + _text(p))
    if name is None:
        raise ScriptError("ERR Library name was not given")
    if not _NAME_RE.match(name):
        raise ScriptError("ERR Library names can only contain letters, numbers, or "
                          "underscores(_) and must be at least one character long")
    return name.decode("latin-1")


def _text(v) -> str:
    if isinstance(v, bytes):
        return v.decode("utf-8", "surrogateescape")
    return str(v)


__all__ = ["Libraries", "LuaArgError"]

"""MODULE: LIST, LOAD, LOADEX, UNLOAD, HELP, as a Redis 7.0 with no module loaded answers.

Redis modules are native code written against redis-server's C API; trioredis cannot run them.
So MODULE LIST is always empty and a load fails the way Redis's does when ``dlopen`` refuses
a library: Redis's one error reply, and the reason in the log. Loading (and unloading) is a
protected action, allowed by ``enable-module-command`` as in Redis.
"""

from __future__ import annotations

import os

from ..errors import CommandError
from . import registry
from .config_cmd import allowed
from .registry import command, container
from .server import help_reply

MODULE_DENIED = (
    "ERR MODULE command not allowed. If the enable-module-command option is set to \"local\", "
    "you can run it from a local connection, otherwise you need to set this option in the "
    "configuration file, and then restart the server."
)
MODULE_LOAD_FAILED = "ERR Error loading the extension. Please check the server logs."
MODULE_UNLOAD_NO_SUCH = "ERR Error unloading module: no such module with that name"

container("module", group="server", since="4.0.0",
          summary="A container for module commands").complexity = "Depends on subcommand."


def _check_allowed(c) -> None:
    if not allowed(c, c.server.config.get("enable-module-command") or "no"):
        raise CommandError(MODULE_DENIED)


@command("module|help", 2, "loading stale", group="server", since="5.0.0", complexity="O(1)")
def module_help(c, argv):
    """Show helpful text about the different subcommands"""
    return help_reply("MODULE", [
        "LIST",
        "    Return a list of loaded modules.",
        "LOAD <path> [<arg> ...]",
        "    Load a module library from <path>, passing to it any optional arguments.",
        "LOADEX <path> [[CONFIG NAME VALUE] [CONFIG NAME VALUE]] [ARGS ...]",
        "    Load a module library from <path>, while passing it module configurations and "
        "optional arguments.",
        "UNLOAD <name>",
        "    Unload a module.",
    ])


@command("module|list", 2, "admin noscript", group="server", since="4.0.0",
         complexity="O(N) where N is the number of loaded modules.")
def module_list(c, argv):
    """List all modules loaded by the server"""
    return []  # no module can be loaded (see the module docstring)


def _load_failure(path: bytes) -> str:
    """What dlopen would say about ``path`` (the reason Redis logs)."""
    name = path.decode("utf-8", "replace")
    try:
        os.stat(path)
    except OSError as e:
        return f"{name}: cannot open shared object file: {e.strerror}"
    if not os.access(path, os.X_OK):
        return "It does not have execute permissions."
    return f"{name}: trioredis cannot load native Redis modules"


def _fail(c, path: bytes, reason: str):
    c.server.log.warning(f"Module {path.decode('utf-8', 'replace')} failed to load: {reason}")
    raise CommandError(MODULE_LOAD_FAILED)


@command("module|load", -3, "admin noscript no_async_loading protected", group="server",
         since="4.0.0", complexity="O(1)")
def module_load(c, argv):
    """Load a module"""
    _check_allowed(c)
    _fail(c, argv[2], _load_failure(argv[2]))


@command("module|loadex", -3, "admin noscript no_async_loading protected", group="server",
         since="7.0.0", complexity="O(1)")
def module_loadex(c, argv):
    """Load a module with extended parameters"""
    _check_allowed(c)
    i = 3
    while i < len(argv):  # Redis's parseLoadexArguments, then the load
        word = argv[i].lower()
        if word == b"config":
            if i + 2 >= len(argv):
                c.server.log.notice("CONFIG specified without name value pair")
                raise CommandError(MODULE_LOAD_FAILED)
            i += 3
        elif word == b"args":
            break
        else:
            c.server.log.notice("Syntax Error from arguments to loadex around "
                                f"{argv[i].decode('utf-8', 'replace')}.")
            raise CommandError(MODULE_LOAD_FAILED)
    _fail(c, argv[2], _load_failure(argv[2]))


@command("module|unload", 3, "admin noscript no_async_loading protected", group="server",
         since="4.0.0", complexity="O(1)")
def module_unload(c, argv):
    """Unload a module"""
    _check_allowed(c)
    raise CommandError(MODULE_UNLOAD_NO_SUCH)


def _s(name: str, **more) -> dict:
    return {"name": name, "type": "string", **more}


registry.BY_NAME["module|load"].doc_args = [
    _s("path"), _s("arg", flags=["optional", "multiple"])]
registry.BY_NAME["module|loadex"].doc_args = [
    _s("path"),
    {"name": "configs", "type": "block", "token": "CONFIG",
     "flags": ["optional", "multiple", "multiple_token"],
     "arguments": [_s("name"), _s("value")]},
    {"name": "args", "type": "block", "token": "ARGS", "flags": ["optional", "multiple"],
     "arguments": [_s("arg")]},
]
registry.BY_NAME["module|unload"].doc_args = [_s("name")]

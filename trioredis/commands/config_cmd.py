"""CONFIG GET, SET, RESETSTAT, REWRITE and HELP; and the protected-action checks
(``enable-protected-configs``, ``enable-debug-command``: yes, no or local) that CONFIG SET and
DEBUG share.

The parameters themselves, their parsing and CONFIG REWRITE's file editing are in
trioredis/config.py; this module is named config_cmd so that the two are not confused.
"""

from __future__ import annotations

from ..config import ALIASES, PARAMS, canonical
from ..errors import SYNTAX, CommandError, ConfigError
from ..glob import compile_glob
from ..protocol.replies import OK
from . import registry
from .registry import command, container
from .server import help_reply

# -- CONFIG ----------------------------------------------------------------------------------

container("config", group="server", since="2.0.0",
          summary="A container for server configuration commands").complexity = (
    "Depends on subcommand."
)

PROTECTED_CONFIGS = frozenset({"dir", "dbfilename"})
SENSITIVE_CONFIGS = frozenset({"requirepass", "masterauth", "masteruser"})


def is_local(c) -> bool:
    """A loopback (or socketless) client, for the ``local`` protected-action setting."""
    addr = c.addr
    if not addr:
        return True
    host = addr.rsplit(":", 1)[0].strip("[]")
    return host in ("127.0.0.1", "::1") or ":" not in addr


def allowed(c, setting: str) -> bool:
    """Redis's allowProtectedAction for enable-debug-command & co."""
    return setting == "yes" or (setting == "local" and is_local(c))


@command("config|get", -3, "admin noscript loading stale", group="server", since="2.0.0",
         complexity="O(N) when N is the number of configuration parameters provided")
def config_get(c, argv):
    """Get the values of configuration parameters"""
    cfg = c.server.config
    out: dict[bytes, bytes] = {}
    for pattern in argv[2:]:
        if not any(ch in pattern for ch in b"*?["):
            canon = canonical(pattern.decode("utf-8", "replace"))
            if canon is not None and pattern not in out:
                out[pattern] = cfg.render(canon).encode("utf-8", "surrogateescape")  # named as asked
            continue
        match = compile_glob(pattern, nocase=True)
        for name, canon in ALIASES.items():  # aliases are names of their own, as in Redis 7.0
            key = name.encode()
            if key not in out and not PARAMS[canon].hidden and match(key):
                out[key] = cfg.render(canon).encode("utf-8", "surrogateescape")
    return out


def _config_error(name, reason: str) -> CommandError:
    if isinstance(name, bytes):
        name = name.decode("utf-8", "replace")
    return CommandError(f"ERR CONFIG SET failed (possibly related to argument '{name}') - {reason}")


@command("config|set", -4, "admin noscript loading stale", group="server", since="2.0.0",
         complexity="O(N) when N is the number of configuration parameters provided")
def config_set(c, argv):
    """Set configuration parameters to the given values"""
    if len(argv) % 2:
        raise CommandError(SYNTAX)
    srv = c.server
    cfg = srv.config
    pairs = []
    unknown = problem = None
    for i in range(2, len(argv), 2):
        raw_name = argv[i]
        canon = canonical(raw_name.decode("utf-8", "replace"))
        if canon is None:
            if not (unknown or problem):  # the first problem found is the one reported
                unknown = raw_name
            continue
        if unknown or problem:
            continue
        p = PARAMS[canon]
        if canon in PROTECTED_CONFIGS:
            if not allowed(c, cfg["enable-protected-configs"]):
                problem = _config_error(raw_name, "can't set protected config")
        elif not p.mutable:
            problem = _config_error(raw_name, "can't set immutable config")
        if any(canon == q for q, _, _ in pairs):
            problem = problem or _config_error(raw_name, "duplicate parameter")
        pairs.append((canon, raw_name, argv[i + 1].decode("utf-8", "surrogateescape")))
    if unknown is not None:
        raise CommandError(
            "ERR Unknown option or number of arguments for CONFIG SET - "
            f"'{unknown.decode('utf-8', 'replace')}'"
        )
    if problem is not None:
        raise problem
    # Check every value first, then apply all; a change refused while applying (a listener
    # objecting) undoes the ones made before it: all or nothing.
    for canon, raw_name, text in pairs:  # errors name the parameter as the client did
        try:
            cfg.parse_value(canon, text)
        except ConfigError as e:
            raise _config_error(raw_name, str(e)) from None
    done = []
    for canon, raw_name, text in pairs:
        old = cfg.render(canon)
        try:
            _apply(cfg, canon, text)
        except ConfigError as e:
            for name, previous in reversed(done):
                try:
                    _apply(cfg, name, previous)
                except ConfigError:
                    pass
            raise _config_error(raw_name, str(e)) from None
        done.append((canon, old))
    if any(canon == "requirepass" for canon, _, _ in pairs) and not cfg["requirepass"]:
        for x in srv.clients.values():  # no password any more: everyone is in
            if not x.authenticated:
                x.authenticated = True
                x.update_guard()
    return OK


def _apply(cfg, canon: str, text: str) -> None:
    if PARAMS[canon].mutable:
        cfg.set(canon, text)
        return
    old = cfg.values.get(canon)  # a protected parameter, allowed for this client
    cfg.set(canon, text, startup=True)
    for fn in cfg.listeners.get(canon, ()):
        fn(cfg.values[canon], old)


@command("config|resetstat", 2, "admin noscript loading stale", group="server", since="2.0.0",
         complexity="O(1)")
def config_resetstat(c, argv):
    """Reset the stats returned by INFO"""
    reset_stats(c.server)
    return OK


def reset_stats(srv) -> None:
    """CONFIG RESETSTAT: every ``stat_*`` counter, error and command statistics."""
    for name, value in list(vars(srv).items()):
        if name.startswith("stat_") and value.__class__ is int:
            setattr(srv, name, 0)
    srv.error_counts.clear()
    for cmd in registry.BY_NAME.values():
        cmd.calls = cmd.failed_calls = cmd.rejected_calls = 0
    st = getattr(srv, "info_state", None)
    if st is not None:
        st.peak_memory = st.memory()
    srv.run_hooks("resetstat")


@command("config|rewrite", 2, "admin noscript loading stale", group="server", since="2.8.0",
         complexity="O(1)")
def config_rewrite(c, argv):
    """Rewrite the configuration file with the in memory configuration"""
    srv = c.server
    try:
        srv.config.rewrite()
    except OSError as e:
        srv.log.warning(f"CONFIG REWRITE failed: {e.strerror}")
        raise CommandError(f"ERR Rewriting config file: {e.strerror}") from None
    srv.log.notice("CONFIG REWRITE executed with success.")
    return OK


@command("config|help", 2, "loading stale", group="server", since="5.0.0", complexity="O(1)")
def config_help(c, argv):
    """Show helpful text about the different subcommands"""
    return help_reply("CONFIG", [
        "GET <pattern>",
        "    Return parameters matching the glob-like <pattern> and their values.",
        "SET <directive> <value>",
        "    Set the configuration <directive> to <value>.",
        "RESETSTAT",
        "    Reset statistics reported by the INFO command.",
        "REWRITE",
        "    Rewrite the configuration file.",
    ])

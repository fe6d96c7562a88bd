"""Configuration parameters: one table of Redis's names, types, defaults and mutability.

Used by the command line (``--name value``), redis.conf-style files, CONFIG GET/SET/REWRITE and
INFO. Values are kept typed (int, bool, str, list); :meth:`Config.render` gives Redis's text.
Modules that add parameters (replication, cluster, gateway) call :func:`param` at import.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import CommandError, ConfigError
from .protocol.parser import ParseError, split_inline

__all__ = ["ALIASES", "PARAMS", "Config", "ConfigError", "Param", "canonical", "param"]


@dataclass
class Param:
    name: str
    kind: str  # int, memory, bool, str, enum, save, list, special
    default: Any
    mutable: bool = True
    aliases: tuple = ()
    choices: tuple = ()
    minimum: int | None = None
    maximum: int | None = None
    parse: Callable | None = None  # special kinds: raw str -> value (raise ConfigError)
    render: Callable | None = None  # special kinds: value -> str
    multi_arg: bool = False  # takes several words on a config file line (save, replicaof)


PARAMS: dict[str, Param] = {}
ALIASES: dict[str, str] = {}


def param(name: str, kind: str, default, **kw) -> Param:
    p = Param(name, kind, default, **kw)
    PARAMS[name] = p
    ALIASES[name] = name
    for a in p.aliases:
        ALIASES[a] = name
    return p


_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1024,
    "m": 1000**2,
    "mb": 1024**2,
    "g": 1000**3,
    "gb": 1024**3,
}


def parse_memory(text: str) -> int:
    """Redis's memtoull: ``1gb`` = 1024**3, ``1g`` = 1000**3; case-insensitive."""
    t = text.strip().lower()
    i = len(t)
    while i and t[i - 1].isalpha():
        i -= 1
    num, unit = t[:i], t[i:]
    if unit not in _UNITS or not num:
        raise ConfigError("argument must be a memory value")
    try:
        v = int(num)
    except ValueError:
        try:
            v = int(float(num))
        except ValueError:
            raise ConfigError("argument must be a memory value") from None
    if v < 0:
        raise ConfigError("argument must be a memory value")
    return v * _UNITS[unit]


def _parse_save(text: str):
    words = text.split()
    if not words or text.strip() in ('""', ""):
        return []
    if len(words) % 2:
        raise ConfigError("Invalid save parameters")
    out = []
    for i in range(0, len(words), 2):
        try:
            secs, changes = int(words[i]), int(words[i + 1])
        except ValueError:
            raise ConfigError("Invalid save parameters") from None
        if secs < 1 or changes < 0:
            raise ConfigError("Invalid save parameters")
        out.append((secs, changes))
    return out


def _render_save(v) -> str:
    return " ".join(f"{s} {c}" for s, c in v)


def _parse_replicaof(text: str):
    words = text.split()
    if not words or (len(words) == 2 and words[0].lower() == "no" and words[1].lower() == "one"):
        return None
    if len(words) != 2:
        raise ConfigError("wrong number of arguments")
    try:
        port = int(words[1])
    except ValueError:
        raise ConfigError("Invalid master port") from None
    return (words[0], port)


def _render_replicaof(v) -> str:
    return "" if v is None else f"{v[0]} {v[1]}"


_COBL_CLASSES = ("normal", "replica", "pubsub")


def _parse_cobl(text: str, current=None):
    words = text.split()
    if len(words) % 4:
        raise ConfigError("Wrong number of arguments in buffer limit configuration.")
    out = dict(current or {})
    for i in range(0, len(words), 4):
        cls = words[i].lower()
        if cls == "slave":
            cls = "replica"
        if cls not in _COBL_CLASSES:
            raise ConfigError("Invalid client class specified in buffer limit configuration.")
        try:
            hard, soft = parse_memory(words[i + 1]), parse_memory(words[i + 2])
            secs = int(words[i + 3])
        except (ConfigError, ValueError):
            raise ConfigError("Error in hard, soft or soft_seconds setting in buffer limit configuration.") from None
        if secs < 0:
            raise ConfigError("Error in hard, soft or soft_seconds setting in buffer limit configuration.")
        out[cls] = (hard, soft, secs)
    return out


def _render_cobl(v) -> str:
    names = {"normal": "normal", "replica": "slave", "pubsub": "pubsub"}
    return " ".join(f"{names[c]} {v[c][0]} {v[c][1]} {v[c][2]}" for c in _COBL_CLASSES)


def _parse_dir(text: str) -> str:
    """dir: must exist (Redis chdir()s into it and fails otherwise); kept absolute, so that
    CONFIG GET answers the full path as Redis does, and several servers in one process (tests,
    embedding) can each have their own without changing the process's working directory."""
    path = os.path.abspath(os.path.expanduser(text))
    if not os.path.isdir(path):
        if os.path.exists(path):
            raise ConfigError("Not a directory")
        raise ConfigError("No such file or directory")
    if not os.access(path, os.W_OK | os.X_OK):
        raise ConfigError("Permission denied")
    return path


def _parse_notify(text: str) -> str:
    """notify-keyspace-events: kept as written once its letters are checked."""
    from .notify import notify_flags_from_text

    notify_flags_from_text(text)
    return text


def _render_notify(text: str) -> str:
    """Redis's canonical spelling for CONFIG GET/REWRITE (``KEA`` -> ``AKE``)."""
    from .notify import canonical_notify_events

    return canonical_notify_events(text)


_COBL_DEFAULT = {
    "normal": (0, 0, 0),
    "replica": (256 * 1024**2, 64 * 1024**2, 60),
    "pubsub": (32 * 1024**2, 8 * 1024**2, 60),
}

# -- the table: Redis 7.0 names and defaults -------------------------------------------------
param("port", "int", 6379, mutable=False, minimum=0, maximum=65535)
param("bind", "list", ["127.0.0.1"], mutable=False)
param("dir", "special", ".", parse=_parse_dir, render=os.path.abspath)
param("dbfilename", "str", "dump.rdb", mutable=False)
param("requirepass", "str", "")
param("masterauth", "str", "")
param("masteruser", "str", "")
param("loglevel", "enum", "notice", choices=("debug", "verbose", "notice", "warning", "nothing"))
param("logfile", "str", "", mutable=False)
param("pidfile", "str", "", mutable=False)
param("daemonize", "bool", False, mutable=False)
param("databases", "int", 16, mutable=False, minimum=1, maximum=2**31 - 1)
param("maxclients", "int", 10000, minimum=1)
param("timeout", "int", 0, minimum=0)
param("tcp-keepalive", "int", 300, minimum=0)
param("tcp-backlog", "int", 511, mutable=False, minimum=0)
param("hz", "int", 10, minimum=1, maximum=500)
param("dynamic-hz", "bool", True)
param("active-expire-effort", "int", 1, minimum=1, maximum=10)
param("proto-max-bulk-len", "memory", 512 * 1024**2, minimum=1024**2)
param("client-query-buffer-limit", "memory", 1024**3, minimum=1024**2)
param("client-output-buffer-limit", "special", _COBL_DEFAULT, parse=_parse_cobl, render=_render_cobl,
      multi_arg=True)
param("save", "special", [(3600, 1), (300, 100), (60, 10000)], parse=_parse_save,
      render=_render_save, multi_arg=True)
param("rdbcompression", "bool", True)
param("rdbchecksum", "bool", True)
param("stop-writes-on-bgsave-error", "bool", True)
param("rdb-del-sync-files", "bool", False)
param("appendonly", "bool", False)
param("appendfsync", "enum", "everysec", choices=("always", "everysec", "no"))
param("appendfilename", "str", "appendonly.aof", mutable=False)
param("appenddirname", "str", "appendonlydir", mutable=False)
param("aof-load-truncated", "bool", True)
param("aof-use-rdb-preamble", "bool", True)
param("aof-timestamp-enabled", "bool", False)
param("auto-aof-rewrite-percentage", "int", 100, minimum=0)
param("auto-aof-rewrite-min-size", "memory", 64 * 1024**2)
param("no-appendfsync-on-rewrite", "bool", False)
param("notify-keyspace-events", "special", "", parse=_parse_notify, render=_render_notify)
param("maxmemory", "memory", 0)
param("maxmemory-policy", "enum", "noeviction", choices=(
    "volatile-lru", "allkeys-lru", "volatile-lfu", "allkeys-lfu", "volatile-random",
    "allkeys-random", "volatile-ttl", "noeviction"))
param("maxmemory-samples", "int", 5, minimum=1)
param("replicaof", "special", None, aliases=("slaveof",), parse=_parse_replicaof,
      render=_render_replicaof, mutable=False, multi_arg=True)
param("replica-read-only", "bool", True, aliases=("slave-read-only",))
param("replica-serve-stale-data", "bool", True, aliases=("slave-serve-stale-data",))
param("replica-priority", "int", 100, aliases=("slave-priority",), minimum=0)
param("replica-announce-ip", "str", "", aliases=("slave-announce-ip",))
param("replica-announce-port", "int", 0, aliases=("slave-announce-port",), minimum=0)
param("replica-lazy-flush", "bool", False, aliases=("slave-lazy-flush",))
param("repl-backlog-size", "memory", 1024**2, minimum=1)
param("repl-backlog-ttl", "int", 3600, minimum=0)
param("repl-ping-replica-period", "int", 10, aliases=("repl-ping-slave-period",), minimum=1)
param("repl-timeout", "int", 60, minimum=1)
param("repl-diskless-sync", "bool", True)
param("repl-diskless-sync-delay", "int", 5, minimum=0)
param("repl-diskless-load", "enum", "disabled", choices=("disabled", "on-empty-db", "swapdb"))
param("min-replicas-to-write", "int", 0, aliases=("min-slaves-to-write",), minimum=0)
param("min-replicas-max-lag", "int", 10, aliases=("min-slaves-max-lag",), minimum=0)
param("protected-mode", "bool", True)
param("enable-debug-command", "enum", "no", choices=("no", "yes", "local"), mutable=False)
param("enable-protected-configs", "enum", "no", choices=("no", "yes", "local"), mutable=False)
param("slowlog-log-slower-than", "int", 10000)
param("slowlog-max-len", "int", 128, minimum=0)
param("latency-monitor-threshold", "int", 0, minimum=0)
param("lua-time-limit", "int", 5000, aliases=("busy-reply-threshold",))
param("list-max-listpack-size", "int", -2, aliases=("list-max-ziplist-size",))
param("list-compress-depth", "int", 0, minimum=0)
param("hash-max-listpack-entries", "int", 512, aliases=("hash-max-ziplist-entries",), minimum=0)
param("hash-max-listpack-value", "int", 64, aliases=("hash-max-ziplist-value",), minimum=0)
param("set-max-intset-entries", "int", 512, minimum=0)
param("zset-max-listpack-entries", "int", 128, aliases=("zset-max-ziplist-entries",), minimum=0)
param("zset-max-listpack-value", "int", 64, aliases=("zset-max-ziplist-value",), minimum=0)
param("stream-node-max-bytes", "memory", 4096)
param("stream-node-max-entries", "int", 100, minimum=0)
param("lazyfree-lazy-eviction", "bool", False)
param("lazyfree-lazy-expire", "bool", False)
param("lazyfree-lazy-server-del", "bool", False)
param("lazyfree-lazy-user-del", "bool", False)
param("lazyfree-lazy-user-flush", "bool", False)
param("io-threads", "int", 1, mutable=False, minimum=1)
param("activerehashing", "bool", True)
param("latency-tracking", "bool", True)
param("always-show-logo", "bool", False, mutable=False)
param("set-proc-title", "bool", True, mutable=False)
param("supervised", "enum", "no", choices=("upstart", "systemd", "auto", "no"), mutable=False)
param("unixsocket", "str", "", mutable=False)
param("tls-port", "int", 0, mutable=False)


def canonical(name: str) -> str | None:
    return ALIASES.get(name.lower())


class Config:
    """Typed values of every parameter, plus where they came from (for CONFIG REWRITE)."""

    def __init__(self, **overrides):
        self.values: dict[str, Any] = {n: _copy(p.default) for n, p in PARAMS.items()}
        self.config_file: str | None = None
        self.listeners: dict[str, list[Callable]] = {}
        for k, v in overrides.items():
            self.values[canonical(k.replace("_", "-")) or k] = v

    def __getitem__(self, name: str):
        return self.values[name]

    def get(self, name: str, default=None):
        return self.values.get(name, default)

    def on_change(self, name: str, fn: Callable) -> None:
        self.listeners.setdefault(name, []).append(fn)

    # -- setting -----------------------------------------------------------------------------

    def parse_value(self, name: str, text: str):
        p = PARAMS[name]
        k = p.kind
        if k == "int":
            try:
                v = int(text)
            except ValueError:
                raise ConfigError("argument couldn't be parsed into an integer") from None
            _check_range(p, v)
            return v
        if k == "memory":
            v = parse_memory(text)
            _check_range(p, v)
            return v
        if k == "bool":
            t = text.lower()
            if t not in ("yes", "no"):
                raise ConfigError("argument must be 'yes' or 'no'")
            return t == "yes"
        if k == "enum":
            t = text.lower()
            if t not in p.choices:
                raise ConfigError("argument(s) must be one of the following: " + ", ".join(p.choices))
            return t
        if k == "list":
            return text.split()
        if k == "special":
            if p.parse is _parse_cobl:
                return _parse_cobl(text, self.values.get(name))
            return p.parse(text)
        return text

    def set(self, name: str, text: str, startup: bool = False) -> None:
        """Set ``name`` from its text form; ConfigError on a bad value or immutable parameter."""
        canon = canonical(name)
        if canon is None:
            raise ConfigError("Bad directive or wrong number of arguments")
        p = PARAMS[canon]
        if not startup and not p.mutable:
            raise ConfigError("can't set immutable config")
        value = self.parse_value(canon, text)
        old = self.values.get(canon)
        self.values[canon] = value
        if not startup:
            for fn in self.listeners.get(canon, ()):
                try:
                    fn(value, old)
                except ConfigError:
                    self.values[canon] = old
                    raise

    def set_value(self, name: str, value) -> None:
        """Set a typed value directly (internal use: REPLICAOF, ...)."""
        self.values[name] = value

    def render(self, name: str) -> str:
        p = PARAMS[name]
        v = self.values[name]
        if p.kind == "bool":
            return "yes" if v else "no"
        if p.kind == "list":
            return " ".join(v)
        if p.kind == "special":
            return p.render(v)
        return str(v)

    # -- files -----------------------------------------------------------------------------

    def load_file(self, path: str) -> None:
        """Read a redis.conf-style file: ``directive value ...``, ``#`` comments, quotes."""
        # Values are bytes to Redis (a password may be any bytes): text that is not UTF-8 is
        # kept byte for byte as surrogate escapes, as CONFIG SET keeps its arguments.
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            text = f.read()
        self.config_file = os.path.abspath(path)
        self.load_text(text, path)

    def load_text(self, text: str, source: str = "config") -> None:
        for lineno, line in enumerate(text.splitlines(), 1):
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            try:
                words = _split_words(stripped)
            except ParseError:
                raise ConfigError(f"{source}:{lineno}: unbalanced quotes in configuration line") from None
            if not words:
                continue
            self.apply_directive(words[0], words[1:], f"{source}:{lineno}")

    def apply_directive(self, name: str, args: list[str], where: str = "") -> None:
        name = name.lower()
        if name == "include":
            for a in args:
                self.load_file(a)
            return
        canon = canonical(name)
        if canon is None:
            raise ConfigError(f"{where} Bad directive or wrong number of arguments: '{name}'".strip())
        p = PARAMS[canon]
        if p.multi_arg or p.kind == "list":
            text = " ".join(args)
        else:
            if len(args) != 1:
                raise ConfigError(f"{where} wrong number of arguments for '{name}'".strip())
            text = args[0]
        try:
            self.set(canon, text, startup=True)
        except ConfigError as e:
            raise ConfigError(f"{where} {name}: {e}".strip()) from None

    def rewrite(self) -> None:
        """CONFIG REWRITE: keep the file's lines, update changed values, append the rest."""
        path = self.config_file
        if not path:
            raise CommandError("ERR The server is running without a config file")
        try:
            with open(path, encoding="utf-8", errors="surrogateescape") as f:
                lines = f.read().splitlines()
        except FileNotFoundError:
            lines = []
        out, done = [], set()
        for line in lines:
            stripped = line.strip()
            if stripped and not stripped.startswith("#"):
                try:
                    words = _split_words(stripped)
                except ParseError:
                    words = []
                canon = canonical(words[0]) if words else None
                if canon is not None and canon in PARAMS:
                    if canon in done:
                        continue
                    done.add(canon)
                    out.append(self._rewrite_line(canon))
                    continue
            out.append(line)
        for name in PARAMS:
            if name not in done and self.values[name] != PARAMS[name].default:
                out.append(self._rewrite_line(name))
        tmp = f"{path}.tmp-{os.getpid()}"
        with open(tmp, "w", encoding="utf-8", errors="surrogateescape") as f:
            f.write("\n".join(out) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)

    def _rewrite_line(self, name: str) -> str:
        value = self.render(name)
        p = PARAMS[name]
        if p.kind == "special" and name == "save" and not value:
            return 'save ""'
        if p.multi_arg or p.kind == "list":
            return f"{name} {value}" if value else f'{name} ""'
        if value == "" or any(ch in value for ch in ' "\'\\') or not value.isprintable():
            value = quote_value(value)
        return f"{name} {value}"


def _split_words(line: str) -> list[str]:
    """One config line's words, quotes and escapes resolved (bytes kept as surrogates)."""
    raw = split_inline(line.encode("utf-8", "surrogateescape"))
    return [w.decode("utf-8", "surrogateescape") for w in raw]


def quote_value(value: str) -> str:
    """Redis's sdscatrepr: a double-quoted value that split_inline reads back byte for byte."""
    out = ['"']
    for b in value.encode("utf-8", "surrogateescape"):
        ch = chr(b)
        if ch in '\\"':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif 32 <= b < 127:
            out.append(ch)
        else:
            out.append(f"\\x{b:02x}")
    out.append('"')
    return "".join(out)


def _check_range(p: Param, v: int) -> None:
    if (p.minimum is not None and v < p.minimum) or (p.maximum is not None and v > p.maximum):
        raise ConfigError(f"argument must be between {p.minimum} and {p.maximum} inclusive")


def _copy(v):
    if isinstance(v, list):
        return list(v)
    if isinstance(v, dict):
        return dict(v)
    return v

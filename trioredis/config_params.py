"""The parameter table: every Redis 7.0 configuration parameter (names, aliases, types,
defaults, ranges, mutability) and the parsers of the ones that are not plain numbers or words.

Kept apart from :mod:`trioredis.config` (the values of one server, files, CONFIG REWRITE) so
that the table reads as one list. Parameters whose feature trioredis does not have are still
here, with Redis's defaults and checks, so that redis.conf files and CONFIG round trips work;
docs/configuration.md says what each one does in trioredis, or why nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import ConfigError


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
    hidden: bool = False  # only an exact CONFIG GET name shows it, never a pattern (Redis's
    # HIDDEN_CONFIG; trioredis's own parameters are hidden so CONFIG GET * is Redis's list)
    check: Callable | None = None  # value -> None, or raise ConfigError (a refused feature)


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
param("port", "int", 6379, minimum=0, maximum=65535)
param("bind", "list", ["127.0.0.1"])
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
param("rdbchecksum", "bool", True, mutable=False)
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
param("busy-reply-threshold", "int", 5000, aliases=("lua-time-limit",), minimum=0)
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


# -- parameters of features trioredis has partly or not at all --------------------------------
# Same names, defaults, ranges and checks as Redis 7.0.15, so configuration files and CONFIG
# round trips behave as with Redis; docs/configuration.md gives each one's effect here.


def _parse_percentiles(text: str) -> list[float]:
    """latency-tracking-info-percentiles: space-separated numbers in [0, 100]."""
    out = []
    for word in text.split():
        try:
            v = float(word)
        except ValueError:
            raise ConfigError("Invalid latency-tracking-info-percentiles parameters") from None
        if v != v or not 0.0 <= v <= 100.0:
            raise ConfigError(
                "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]")
        out.append(v)
    return out


def _render_percentiles(v) -> str:
    return " ".join(f"{x:g}" for x in v)


def _parse_memory_or_percent(text: str):
    """maxmemory-clients: bytes (``1gb``) or a share of maxmemory (``10%``, kept as text)."""
    t = text.strip()
    if t.endswith("%"):
        try:
            pct = int(t[:-1])
        except ValueError:
            raise ConfigError("argument must be a memory or percent value") from None
        if pct < 0:
            raise ConfigError("argument must be a memory or percent value")
        if pct > 100:
            raise ConfigError("percentage argument must be less or equal to 100")
        return f"{pct}%"
    try:
        return parse_memory(t)
    except ConfigError:
        raise ConfigError("argument must be a memory or percent value") from None


def _parse_oom_values(text: str) -> list[int]:
    """oom-score-adj-values: three scores (master, replica, background child)."""
    words = text.split()
    if len(words) != 3:
        raise ConfigError("wrong number of arguments")
    out = []
    for w in words:
        try:
            v = int(w)
        except ValueError:
            raise ConfigError("Invalid oom-score-adj-values, elements must be between -2000 "
                              "and 2000.") from None
        if not -2000 <= v <= 2000:
            raise ConfigError("Invalid oom-score-adj-values, elements must be between -2000 "
                              "and 2000.")
        out.append(v)
    return out


_SHUTDOWN_FLAGS = ("save", "nosave", "now", "force")


def _parse_shutdown_flags(text: str) -> tuple:
    """shutdown-on-sigint/-sigterm: ``default`` or SHUTDOWN's flags (save|nosave, now, force)."""
    flags = set()
    for w in text.lower().split():
        if w == "default":
            continue
        if w not in _SHUTDOWN_FLAGS:
            raise ConfigError("argument(s) must be one of the following: default, save, nosave, "
                              "now, force")
        flags.add(w)
    if {"save", "nosave"} <= flags:
        raise ConfigError("shutdown options SAVE and NOSAVE can't be used simultaneously")
    return tuple(f for f in _SHUTDOWN_FLAGS if f in flags)


def _render_shutdown_flags(v) -> str:
    return " ".join(v) if v else "default"


_TITLE_VARS = ("title", "listen-addr", "server-mode", "port", "tls-port", "unixsocket",
               "config-file")


def _parse_proc_title(text: str) -> str:
    """proc-title-template: ``{title}`` & co. only, balanced braces, not empty."""
    rest, ok = text, bool(text.strip())
    while ok and rest:
        i = rest.find("{")
        j = rest.find("}")
        if i < 0:
            ok = j < 0
            break
        if j < i or rest[i + 1:j] not in _TITLE_VARS:
            ok = False
            break
        rest = rest[j + 1:]
    if not ok:
        raise ConfigError("template format is invalid or contains unknown variables")
    return text


def _parse_octal(text: str) -> int:
    try:
        return int(text, 8)
    except ValueError:
        raise ConfigError("argument couldn't be parsed into an integer") from None


def _no_defrag(on: bool) -> None:
    if on:
        raise ConfigError("Active defragmentation cannot be enabled: it requires a Redis server "
                          "compiled with a modified Jemalloc like the one shipped by default with "
                          "the Redis source distribution")


_INT_MAX = 2**31 - 1
_LONG_MAX = 2**63 - 1

param("tls-port", "int", 0, minimum=0, maximum=65535)
param("unixsocket", "str", "", mutable=False)
param("unixsocketperm", "special", 0, mutable=False, parse=_parse_octal, render=lambda v: f"{v:o}")
param("bind-source-addr", "str", "")
param("socket-mark-id", "int", 0, mutable=False, minimum=0, maximum=_INT_MAX)
param("shutdown-timeout", "int", 10, minimum=0, maximum=_INT_MAX)
param("shutdown-on-sigint", "special", (), parse=_parse_shutdown_flags,
      render=_render_shutdown_flags, multi_arg=True)
param("shutdown-on-sigterm", "special", (), parse=_parse_shutdown_flags,
      render=_render_shutdown_flags, multi_arg=True)
param("sanitize-dump-payload", "enum", "no", choices=("no", "yes", "clients"))
param("propagation-error-behavior", "enum", "ignore",
      choices=("ignore", "panic", "panic-on-replicas"))
param("ignore-warnings", "str", "")
param("crash-log-enabled", "bool", True)
param("crash-memcheck-enabled", "bool", True)
param("use-exit-on-panic", "bool", False, hidden=True)  # Redis: MODIFIABLE | HIDDEN
param("enable-module-command", "enum", "no", choices=("no", "yes", "local"), mutable=False)
param("proc-title-template", "special", "{title} {listen-addr} {server-mode}",
      parse=_parse_proc_title, render=str)
param("syslog-enabled", "bool", False, mutable=False)
param("syslog-ident", "str", "redis", mutable=False)
param("syslog-facility", "enum", "local0", mutable=False,
      choices=("user", "local0", "local1", "local2", "local3", "local4", "local5", "local6",
               "local7"))
param("oom-score-adj", "enum", "no", choices=("no", "yes", "relative", "absolute"))
param("oom-score-adj-values", "special", [0, 200, 800], parse=_parse_oom_values,
      render=lambda v: " ".join(map(str, v)), multi_arg=True)
param("disable-thp", "bool", True, mutable=False)
param("jemalloc-bg-thread", "bool", True)
param("io-threads-do-reads", "bool", False, mutable=False)
for _cpulist in ("server_cpulist", "bio_cpulist", "aof_rewrite_cpulist", "bgsave_cpulist"):
    param(_cpulist, "str", "", mutable=False)
param("latency-tracking-info-percentiles", "special", [50.0, 99.0, 99.9],
      parse=_parse_percentiles, render=_render_percentiles, multi_arg=True)
param("tracking-table-max-keys", "int", 1_000_000, minimum=0, maximum=_LONG_MAX)
param("maxmemory-clients", "special", 0, parse=_parse_memory_or_percent, render=str)
param("maxmemory-eviction-tenacity", "int", 10, minimum=0, maximum=100)
param("lfu-log-factor", "int", 10, minimum=0, maximum=_INT_MAX)
param("lfu-decay-time", "int", 1, minimum=0, maximum=_INT_MAX)
param("activedefrag", "bool", False, check=_no_defrag)
param("active-defrag-ignore-bytes", "memory", 100 * 1024**2, minimum=1)
param("active-defrag-threshold-lower", "int", 10, minimum=0, maximum=1000)
param("active-defrag-threshold-upper", "int", 100, minimum=0, maximum=1000)
param("active-defrag-cycle-min", "int", 1, minimum=1, maximum=99)
param("active-defrag-cycle-max", "int", 25, minimum=1, maximum=99)
param("active-defrag-max-scan-fields", "int", 1000, minimum=1, maximum=_LONG_MAX)
param("aclfile", "str", "", mutable=False)
param("acllog-max-len", "int", 128, minimum=0, maximum=_LONG_MAX)
param("acl-pubsub-default", "enum", "resetchannels", choices=("allchannels", "resetchannels"))
param("aof-rewrite-incremental-fsync", "bool", True)
param("rdb-save-incremental-fsync", "bool", True)
param("aof-disable-auto-gc", "bool", False)
param("repl-disable-tcp-nodelay", "bool", False)
param("repl-diskless-sync-max-replicas", "int", 0, minimum=0, maximum=_INT_MAX)
param("replica-announced", "bool", True)
param("replica-ignore-maxmemory", "bool", True, aliases=("slave-ignore-maxmemory",))
param("replica-ignore-disk-write-errors", "bool", False)
param("cluster-enabled", "bool", False, mutable=False)  # Redis Cluster: rcluster/
param("cluster-allow-reads-when-down", "bool", False)
param("cluster-allow-pubsubshard-when-down", "bool", True)
param("cluster-allow-replica-migration", "bool", True)
param("cluster-require-full-coverage", "bool", True)
param("cluster-migration-barrier", "int", 1, minimum=0, maximum=_INT_MAX)
param("cluster-replica-validity-factor", "int", 10, minimum=0, maximum=_INT_MAX,
      aliases=("cluster-slave-validity-factor",))
param("cluster-replica-no-failover", "bool", False, aliases=("cluster-slave-no-failover",))
param("cluster-announce-hostname", "str", "")
param("cluster-announce-tls-port", "int", 0, minimum=0, maximum=65535)
param("cluster-preferred-endpoint-type", "enum", "ip",
      choices=("ip", "hostname", "unknown-endpoint"))
param("cluster-link-sendbuf-limit", "memory", 0)
for _tls in ("tls-cert-file", "tls-key-file", "tls-key-file-pass", "tls-client-cert-file",
             "tls-client-key-file", "tls-client-key-file-pass", "tls-dh-params-file",
             "tls-ca-cert-file", "tls-ca-cert-dir", "tls-protocols", "tls-ciphers",
             "tls-ciphersuites"):
    param(_tls, "str", "")
param("tls-auth-clients", "enum", "yes", choices=("no", "yes", "optional"))
param("tls-replication", "bool", False)
param("tls-cluster", "bool", False)
param("tls-prefer-server-ciphers", "bool", False)
param("tls-session-caching", "bool", True)
param("tls-session-cache-size", "int", 20480, minimum=0, maximum=_INT_MAX)
param("tls-session-cache-timeout", "int", 300, minimum=0, maximum=_INT_MAX)

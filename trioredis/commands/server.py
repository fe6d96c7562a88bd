"""Server commands: COMMAND, CONFIG, INFO, MEMORY, DEBUG, SHUTDOWN, TIME, LASTSAVE, ROLE,
SLOWLOG, LATENCY and MONITOR.

COMMAND renders the command table (registry.py) in Redis 7.0's shapes; ACL categories, tips
and key specs are derived from each entry's group, flags and key positions (with a few of
Redis's explicit exceptions, below), since the table does not spell them out.
"""

from __future__ import annotations

import os
import time

from .. import extensions
from ..config import ALIASES, PARAMS, canonical
from ..errors import SYNTAX, CommandError, ConfigError
from ..glob import compile_glob
from ..protocol.replies import OK, Raw, SetReply, Verbatim
from . import registry
from .args import parse_int, to_float, to_int
from .connection import subcommand_syntax_error
from .registry import command, container


def help_reply(name: str, lines: list[str]) -> list[str]:
    """Redis's addReplyHelp: a header, the lines, then HELP (status replies)."""
    return [
        f"{name} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        *lines,
        "HELP",
        "    Prints this help.",
    ]


def _containers() -> None:
    for name, group, since, summary in (
        ("config", "server", "2.0.0", "A container for server configuration commands"),
        ("memory", "server", "4.0.0", "A container for memory diagnostics commands"),
        ("slowlog", "server", "2.2.12", "A container for slow log commands"),
        ("latency", "server", "2.8.13", "A container for latency diagnostics commands"),
    ):
        container(name, group=group, since=since, summary=summary).complexity = (
            "Depends on subcommand."
        )


_containers()


# -- TIME, LASTSAVE, ROLE, SHUTDOWN ----------------------------------------------------------


@command("time", 1, "loading stale fast", group="server", since="2.6.0", complexity="O(1)")
def time_(c, argv):
    """Return the current server time"""
    us = int(c.server.clock.time() * 1_000_000)
    return [b"%d" % (us // 1_000_000), b"%d" % (us % 1_000_000)]


@command("lastsave", 1, "loading stale fast", group="server", since="1.0.0", complexity="O(1)")
def lastsave(c, argv):
    """Get the UNIX time stamp of the last successful save to disk"""
    return int(c.server.lastsave)


@command("role", 1, "noscript loading stale fast", group="server", since="2.8.12",
         complexity="O(1)")
def role(c, argv):
    """Return the role of the instance in the context of replication"""
    hook = c.server.hooks.get("role")
    if hook:
        return hook[0]()
    return [b"master", c.server.master_repl_offset, []]


@command("shutdown", -1, "admin noscript loading stale no_multi allow_busy", group="server",
         since="1.0.0",
         complexity="O(N) when saving, where N is the total number of keys in all databases "
         "when saving data, otherwise O(1)")
def shutdown(c, argv):
    """Synchronously save the dataset to disk and then shut down the server"""
    opts = set()
    for a in argv[1:]:
        o = a.lower()
        if o not in (b"nosave", b"save", b"now", b"force", b"abort"):
            raise CommandError(SYNTAX)
        opts.add(o)
    if (b"abort" in opts and len(opts) > 1) or {b"save", b"nosave"} <= opts:
        raise CommandError(SYNTAX)
    if b"abort" in opts:
        raise CommandError("ERR No shutdown in progress.")
    if b"now" not in opts and c.deny_blocking:
        raise CommandError(
            "ERR SHUTDOWN without NOW or ABORT isn't allowed for DENY BLOCKING client"
        )
    srv = c.server
    if b"nosave" in opts:
        save = False
    elif b"save" in opts:
        save = True
    else:
        save = bool(srv.config["save"])
    srv.log.warning("User requested shutdown...")
    failed = False
    for hook in srv.hooks.get("shutdown", ()):  # persistence saves here; False = it failed
        if hook(save) is False:
            failed = True
    if failed and b"force" not in opts:
        srv.log.warning("Errors trying to shut down the server. Check the logs for more "
                        "information.")
        raise CommandError("ERR Errors trying to SHUTDOWN. Check logs.")
    if srv.shutdown_requested is not None:
        srv.shutdown_requested()
    c.close_after_reply = True
    return Raw(b"")  # the client gets no reply: the connection just closes


# -- CONFIG ----------------------------------------------------------------------------------

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
    seen: set[str] = set()  # parameters a pattern matched (by canonical name)
    for pattern in argv[2:]:
        if not any(ch in pattern for ch in b"*?["):
            canon = canonical(pattern.decode("utf-8", "replace"))
            if canon is not None and pattern not in out:
                out[pattern] = cfg.render(canon).encode()  # named as asked
            continue
        match = compile_glob(pattern, nocase=True)
        for name, canon in ALIASES.items():  # each name before its aliases
            key = name.encode()
            if canon not in seen and key not in out and match(key):
                out[key] = cfg.render(canon).encode()
                seen.add(canon)
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
    for canon, _, text in pairs:
        try:
            cfg.parse_value(canon, text)
        except ConfigError as e:
            raise _config_error(canon, str(e)) from None
    done = []
    for canon, _, text in pairs:
        old = cfg.render(canon)
        try:
            _apply(cfg, canon, text)
        except ConfigError as e:
            for name, previous in reversed(done):
                try:
                    _apply(cfg, name, previous)
                except ConfigError:
                    pass
            raise _config_error(canon, str(e)) from None
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


# -- INFO ------------------------------------------------------------------------------------


def _init_server(server) -> None:
    """INFO's per-server state from the start, so instantaneous metrics have samples."""
    from .. import info as _info

    _info.state_of(server)


extensions.SERVER_INIT.append(_init_server)


@command("info", -1, "loading stale", group="server", since="1.0.0", complexity="O(1)")
def info(c, argv):
    """Get information and statistics about the server"""
    from .. import info as _info

    return Verbatim(_info.info_text(c.server, _info.parse_sections(argv[1:])))


# -- MEMORY ----------------------------------------------------------------------------------


@command("memory|usage", -3, "readonly", keys=(2, 2, 1), group="server", since="4.0.0",
         complexity="O(N) where N is the number of samples.")
def memory_usage(c, argv):
    """Estimate the memory usage of a key"""
    from .. import memory

    samples = 5
    i = 3
    while i < len(argv):
        if argv[i].lower() == b"samples" and i + 1 < len(argv):
            samples = parse_int(argv[i + 1])
            if samples < 0:
                raise CommandError(SYNTAX)
            i += 2
        else:
            raise CommandError(SYNTAX)
    return memory.key_usage(c.db, argv[2], samples)


@command("memory|stats", 2, "", group="server", since="4.0.0", complexity="O(1)")
def memory_stats(c, argv):
    """Show memory usage details"""
    from .. import info as _info
    from .. import memory

    srv = c.server
    st = _info.state_of(srv)
    used = st.memory()
    startup = st.startup_memory
    out = {
        b"peak.allocated": st.peak_memory,
        b"total.allocated": used,
        b"startup.allocated": startup,
        b"replication.backlog": 0,
        b"clients.slaves": 0,
        b"clients.normal": 0,
        b"cluster.links": 0,
        b"aof.buffer": 0,
        b"lua.caches": 0,
        b"functions.caches": 0,
    }
    overhead = startup
    keys = 0
    for db in srv.dbs:
        if not db.data:
            continue
        main = len(db.data) * memory.DICT_ENTRY
        exp = len(db.expires) * memory.DICT_ENTRY
        overhead += main + exp
        keys += len(db.data)
        out[b"db.%d" % db.id] = {
            b"overhead.hashtable.main": main,
            b"overhead.hashtable.expires": exp,
            b"overhead.hashtable.slot-to-keys": 0,
        }
    dataset = max(used - overhead, 0)
    net = max(used - startup, 1)
    out.update({
        b"overhead.total": overhead,
        b"keys.count": keys,
        b"keys.bytes-per-key": (used - startup) // keys if keys else 0,
        b"dataset.bytes": dataset,
        b"dataset.percentage": dataset * 100.0 / net,
        b"peak.percentage": used * 100.0 / st.peak_memory if st.peak_memory else 0.0,
        b"allocator.allocated": used,
        b"allocator.active": used,
        b"allocator.resident": used,
        b"allocator-fragmentation.ratio": 1.0,
        b"allocator-fragmentation.bytes": 0,
        b"allocator-rss.ratio": 1.0,
        b"allocator-rss.bytes": 0,
        b"rss-overhead.ratio": 1.0,
        b"rss-overhead.bytes": 0,
        b"fragmentation": 1.0,
        b"fragmentation.bytes": 0,
    })
    return out


@command("memory|doctor", 2, "", group="server", since="4.0.0", complexity="O(1)")
def memory_doctor(c, argv):
    """Outputs memory problems report"""
    if not any(db.data for db in c.server.dbs):
        return Verbatim(
            b"Hi Sam, this instance is empty or is using very little memory, my issues detector "
            b"can't be used in these conditions. Please, leave for your mission on Earth and "
            b"fill it with some data. The new Sam and I will be back to our programming as soon "
            b"as I finished rebooting.\n"
        )
    return Verbatim(
        b"Hi Sam, I can't find any memory issue in your instance. I can only account for what "
        b"occurs on this base.\n"
    )


@command("memory|malloc-stats", 2, "", group="server", since="4.0.0",
         complexity="Depends on how much memory is allocated, could be slow")
def memory_malloc_stats(c, argv):
    """Show allocator internal stats"""
    return b"Stats not supported for the current allocator"


@command("memory|purge", 2, "", group="server", since="4.0.0",
         complexity="Depends on how much memory is allocated, could be slow")
def memory_purge(c, argv):
    """Ask the allocator to release memory"""
    return OK


@command("memory|help", 2, "loading stale", group="server", since="4.0.0", complexity="O(1)")
def memory_help(c, argv):
    """Show helpful text about the different subcommands"""
    return help_reply("MEMORY", [
        "DOCTOR",
        "    Return memory problems reports.",
        "MALLOC-STATS",
        "    Return internal statistics report from the memory allocator.",
        "PURGE",
        "    Attempt to purge dirty pages for reclamation by the allocator.",
        "STATS",
        "    Return information about the memory usage of the server.",
        "USAGE <key> [SAMPLES <count>]",
        "    Return memory in bytes used by <key> and its value. Nested values are",
        "    sampled up to <count> times (default: 5, 0 means sample all).",
    ])


# -- COMMAND: the table in Redis 7.0's shapes ------------------------------------------------

# Redis's ACL categories, in the order COMMAND INFO lists them.
ACL_ORDER = ("keyspace", "read", "write", "set", "sortedset", "list", "hash", "string",
             "bitmap", "hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow",
             "blocking", "dangerous", "connection", "transaction", "scripting")
# Categories Redis's command files give beyond the group's (added, removed).
ACL_EXCEPTIONS = {
    "asking": ({"connection"}, set()),
    "readonly": ({"connection"}, set()),
    "readwrite": ({"connection"}, set()),
    "command": ({"connection"}, set()),
    "dbsize": ({"keyspace"}, set()),
    "flushall": ({"keyspace", "dangerous"}, set()),
    "flushdb": ({"keyspace", "dangerous"}, set()),
    "swapdb": ({"keyspace", "dangerous"}, set()),
    "restore-asking": ({"keyspace", "dangerous"}, set()),
    "info": ({"dangerous"}, set()),
    "keys": ({"dangerous"}, set()),
    "migrate": ({"dangerous"}, set()),
    "restore": ({"dangerous"}, set()),
    "lastsave": ({"admin", "dangerous"}, set()),
    "role": ({"admin", "dangerous"}, set()),
    "sort": ({"dangerous", "list", "set", "sortedset"}, {"keyspace"}),
    "sort_ro": ({"dangerous", "list", "set", "sortedset"}, {"keyspace"}),
    "wait": ({"connection"}, {"keyspace"}),
    "pubsub|help": (set(), {"pubsub"}),
}
# Command tips (Redis 7.0's request/response policies and determinism hints), by tip set.
_TIP_GROUPS = {
    ("nondeterministic_output",): """client|info client|list cluster|bumpepoch
        cluster|count-failure-reports cluster|getkeysinslot cluster|info cluster|links
        cluster|nodes cluster|replicas cluster|shards cluster|slaves cluster|slots dump
        hrandfield hscan lastsave migrate object|encoding object|freq object|idletime
        object|refcount pttl spop srandmember sscan time ttl xadd xautoclaim xclaim
        xinfo|consumers xpending xtrim zrandmember zscan""",
    ("nondeterministic_output_order",): """command command|docs command|info command|list
        function|list hgetall hkeys hvals module|list sdiff sinter smembers sunion""",
    ("request_policy:all_shards", "response_policy:all_succeeded"): """flushall flushdb
        function|delete function|flush function|load function|restore memory|purge ping""",
    ("request_policy:all_nodes", "response_policy:all_succeeded"): """config|set
        latency|reset script|flush script|load slowlog|reset""",
    ("nondeterministic_output", "request_policy:all_shards", "response_policy:special"): """
        function|stats info memory|doctor memory|malloc-stats memory|stats""",
    ("nondeterministic_output", "request_policy:all_nodes", "response_policy:special"): """
        latency|doctor latency|graph latency|histogram latency|history latency|latest""",
    ("request_policy:multi_shard", "response_policy:agg_sum"): "del exists touch unlink",
    ("request_policy:all_shards", "response_policy:one_succeeded"): "function|kill script|kill",
    ("request_policy:all_nodes", "nondeterministic_output"): "slowlog|get",
    ("request_policy:all_nodes", "response_policy:agg_sum", "nondeterministic_output"):
        "slowlog|len",
    ("request_policy:all_shards", "response_policy:agg_logical_and"): "script|exists",
    ("request_policy:all_shards", "nondeterministic_output"): "randomkey",
    ("request_policy:all_shards", "response_policy:agg_sum"): "dbsize",
    ("nondeterministic_output", "request_policy:special"): "scan",
    ("request_policy:all_shards", "nondeterministic_output_order"): "keys",
    ("request_policy:multi_shard",): "mget",
    ("request_policy:multi_shard", "response_policy:all_succeeded"): "mset",
    ("request_policy:all_shards", "response_policy:agg_min"): "wait",
    ("request_policy:multi_shard", "response_policy:agg_min"): "msetnx",
}
TIPS = {name: tips for tips, names in _TIP_GROUPS.items() for name in names.split()}
# Flags shown by COMMAND INFO, in Redis's order (may_replicate, sentinel, ... are hidden).
SHOWN_FLAGS = ("write", "readonly", "denyoom", "module", "admin", "pubsub", "noscript",
               "blocking", "loading", "stale", "skip_monitor", "skip_slowlog", "asking", "fast",
               "no_auth", "no_mandatory_keys", "no_async_loading", "no_multi", "movablekeys",
               "allow_busy")
# Key flags where the table does not say (Redis's key specs have them per key).
KEY_FLAGS = {"memory|usage": ("RO",)}


def acl_categories(cmd) -> list[str]:
    """``@category`` names of ``cmd``: implicit ones from flags, the group's, Redis's extras."""
    f = cmd.flags
    cats = set()
    if "write" in f:
        cats.add("write")
    if "readonly" in f and cmd.group != "scripting":
        cats.add("read")
    if "admin" in f:
        cats.update(("admin", "dangerous"))
    if "pubsub" in f:
        cats.add("pubsub")
    if "blocking" in f:
        cats.add("blocking")
    if cmd.proc is not None:  # containers carry no category of their own
        group_cat = registry.GROUP_CATEGORIES.get(cmd.group)
        if group_cat:
            cats.add(group_cat)
    extra, removed = ACL_EXCEPTIONS.get(cmd.name, ((), ()))
    if cmd.parent is not None and cmd.parent.name == "command":
        extra = {"connection"}
    if cmd.proc is None:
        extra = ()
    cats.update(extra)
    cats.difference_update(removed)
    cats.add("fast" if "fast" in f else "slow")
    return ["@" + x for x in ACL_ORDER if x in cats]


def _key_flags(cmd) -> list[str]:
    own = KEY_FLAGS.get(cmd.name)
    if own is not None:
        return list(own)
    if cmd.write:
        return ["RW", "update"]
    if cmd.readonly:
        return ["RO", "access"]
    return ["RO"]


def key_specs(cmd) -> list[dict]:
    """Redis 7.0 key specs from the table's key positions (and movable-key helpers)."""
    own = getattr(cmd, "key_specs", None)
    if own is not None:
        return own
    flags = SetReply(_key_flags(cmd))
    g = cmd.getkeys
    if g is not None:
        kind, cells = _movable(g)
        if kind == "keys_after_numkeys":
            specs = []
            if cells.get("extra_first"):
                specs.append(_spec(flags, _index(cells["extra_first"]), _range(0, 1, 0)))
            specs.append(_spec(flags, _index(cells["numkeys_pos"]), {
                b"type": b"keynum",
                b"spec": {b"keynumidx": 0, b"firstkey": 1, b"keystep": 1},
            }))
            return specs
        if kind == "keys_after_token":
            begin = {b"type": b"keyword",
                     b"spec": {b"keyword": cells["token"], b"startfrom": 1}}
            return [_spec(flags, begin, _range(-1, 1, 2 if cells.get("half") else 0))]
        unknown = {b"type": b"unknown", b"spec": {}}
        return [_spec(flags, unknown, unknown)]
    if cmd.first_key <= 0:
        return []
    last = cmd.last_key - cmd.first_key if cmd.last_key >= 0 else cmd.last_key
    return [_spec(flags, _index(cmd.first_key), _range(last, cmd.step or 1, 0))]


def _movable(getkeys) -> tuple[str, dict]:
    """Which registry helper made a getkeys function, and its parameters (closure cells)."""
    kind = getattr(getkeys, "__qualname__", "").split(".")[0]
    code = getattr(getkeys, "__code__", None)
    cells = {}
    if code is not None and getkeys.__closure__:
        cells = {n: x.cell_contents
                 for n, x in zip(code.co_freevars, getkeys.__closure__, strict=False)}
    return kind, cells


def _spec(flags, begin, find) -> dict:
    return {b"flags": flags, b"begin_search": begin, b"find_keys": find}


def _index(pos: int) -> dict:
    return {b"type": b"index", b"spec": {b"index": pos}}


def _range(lastkey: int, step: int, limit: int) -> dict:
    return {b"type": b"range", b"spec": {b"lastkey": lastkey, b"keystep": step,
                                          b"limit": limit}}


def _subcommands(cmd) -> list:
    if not cmd.subcommands:
        return []
    return sorted(set(cmd.subcommands.values()), key=lambda x: x.name)


def command_info(cmd) -> list:
    """One COMMAND INFO entry (10 fields, Redis 7.0)."""
    subs = _subcommands(cmd)
    return [
        cmd.name.encode(),
        cmd.arity,
        SetReply([f for f in SHOWN_FLAGS if f in cmd.flags]),
        cmd.first_key,
        cmd.last_key,
        cmd.step,
        SetReply(acl_categories(cmd)),
        SetReply([t.encode() for t in getattr(cmd, "tips", None) or TIPS.get(cmd.name, ())]),
        SetReply(key_specs(cmd)),
        [command_info(s) for s in subs] if subs else SetReply(),
    ]


def _doc_value(v):
    if isinstance(v, str):
        return v.encode()
    if isinstance(v, dict):
        return {_doc_value(k): (SetReply(v2) if k == "flags" else _doc_value(v2))
                for k, v2 in v.items()}
    if isinstance(v, list | tuple):
        return [_doc_value(x) for x in v]
    return v


def command_docs(cmd) -> dict:
    """One COMMAND DOCS entry: summary, since, group, complexity, arguments, subcommands."""
    out = {}
    if cmd.summary:
        out[b"summary"] = cmd.summary.encode()
    if cmd.since:
        out[b"since"] = cmd.since.encode()
    out[b"group"] = cmd.group.encode()
    if cmd.complexity:
        out[b"complexity"] = cmd.complexity.encode()
    doc_flags = getattr(cmd, "doc_flags", None)
    if doc_flags:
        out[b"doc_flags"] = SetReply([str(f) for f in doc_flags])  # status replies
    for attr in ("deprecated_since", "replaced_by"):
        v = getattr(cmd, attr, None)
        if v:
            out[attr.encode()] = _doc_value(v)
    history = getattr(cmd, "history", None)
    if history:
        out[b"history"] = SetReply(_doc_value(history))
    if cmd.doc_args:
        out[b"arguments"] = _doc_value(cmd.doc_args)
    subs = _subcommands(cmd)
    if subs:
        out[b"subcommands"] = {s.name.encode(): command_docs(s) for s in subs}
    return out


def lookup_full(name: bytes):
    """A command by its full name, ``config|get`` included."""
    if b"|" in name:
        parent, sub = name.split(b"|", 1)
        cmd = registry.lookup(parent)
        if cmd is None or not cmd.subcommands:
            return None
        return cmd.subcommands.get(sub) or cmd.subcommands.get(sub.lower())
    return registry.lookup(name)


def lookup_argv(argv: list):
    """Redis's lookupCommand over a full argv: ``CONFIG GET x`` -> config|get."""
    cmd = registry.lookup(argv[0])
    if cmd is None or not cmd.subcommands or len(argv) == 1:
        return cmd
    return cmd.subcommands.get(argv[1]) or cmd.subcommands.get(argv[1].lower())


def command_(c, argv):
    """Get array of Redis command details"""
    return [command_info(cmd) for cmd in registry.all_commands()]


def _adopt(name: str, proc, arity: int, flags: str, **kw) -> None:
    """Give a container entry a handler of its own (COMMAND with no subcommand)."""
    cmd = container(name, **kw)
    cmd.proc, cmd.arity, cmd.flags = proc, arity, frozenset(flags.split())
    cmd.summary = (proc.__doc__ or "").strip()
    cmd.__post_init__()


_adopt("command", command_, -1, "loading stale", group="server", since="2.8.13")
registry.BY_NAME["command"].complexity = "O(N) where N is the total number of Redis commands"


@command("command|count", 2, "loading stale", group="server", since="2.8.13",
         complexity="O(1)")
def command_count(c, argv):
    """Get total number of Redis commands"""
    return len(registry.all_commands())


@command("command|info", -2, "loading stale", group="server", since="2.8.13",
         complexity="O(N) where N is the number of commands to look up")
def command_info_(c, argv):
    """Get array of specific Redis command details, or all when no argument is given."""
    if len(argv) == 2:
        return [command_info(cmd) for cmd in registry.all_commands()]
    out = []
    for name in argv[2:]:
        cmd = lookup_full(name)
        out.append(command_info(cmd) if cmd is not None else None)
    return out


@command("command|docs", -2, "loading stale", group="server", since="7.0.0",
         complexity="O(N) where N is the number of commands to look up")
def command_docs_(c, argv):
    """Get array of specific Redis command documentation"""
    if len(argv) == 2:
        return {cmd.name.encode(): command_docs(cmd) for cmd in registry.all_commands()}
    out = {}
    for name in argv[2:]:
        cmd = lookup_full(name)
        if cmd is not None:
            out[cmd.name.encode()] = command_docs(cmd)
    return out


def all_names() -> list:
    out = []
    for cmd in registry.all_commands():
        out.append(cmd)
        out.extend(_subcommands(cmd))
    return out


@command("command|list", -2, "loading stale", group="server", since="7.0.0",
         complexity="O(N) where N is the total number of Redis commands")
def command_list(c, argv):
    """Get an array of Redis command names"""
    flt = None
    i = 2
    while i < len(argv):
        if argv[i].lower() == b"filterby" and len(argv) - 1 - i == 2:
            kind, arg = argv[i + 1].lower(), argv[i + 2]
            if kind not in (b"module", b"aclcat", b"pattern"):
                raise CommandError(SYNTAX)
            flt = (kind, arg)
            i += 3
        else:
            raise CommandError(SYNTAX)
    cmds = all_names()
    if flt is not None:
        kind, arg = flt
        if kind == b"module":
            cmds = []
        elif kind == b"aclcat":
            cat = "@" + arg.decode("utf-8", "replace").lower()
            cmds = [x for x in cmds if cat in acl_categories(x)]
        else:
            match = compile_glob(arg, nocase=True)
            cmds = [x for x in cmds if match(x.name.encode())]
    return [x.name.encode() for x in cmds]


def _getkeys(argv):
    cmd = lookup_argv(argv)
    if cmd is None:
        raise CommandError("ERR Invalid command specified")
    if cmd.getkeys is None and cmd.first_key <= 0:
        raise CommandError("ERR The command has no key arguments")
    n = len(argv)
    if (cmd.arity > 0 and cmd.arity != n) or n < -cmd.arity:
        raise CommandError("ERR Invalid number of arguments specified for command")
    idx = cmd.key_indexes(argv)
    if cmd.getkeys is not None:
        kind, cells = _movable(cmd.getkeys)
        if kind == "keys_after_numkeys":  # more keys announced than given: invalid
            pos = cells.get("numkeys_pos", 0)
            numkeys = to_int(argv[pos]) if pos < n else None
            if numkeys is None or numkeys > n - pos - 1:
                if "no_mandatory_keys" not in cmd.flags:
                    raise CommandError("ERR Invalid arguments specified for command")
                return cmd, []
    if not idx and "no_mandatory_keys" not in cmd.flags:
        raise CommandError("ERR Invalid arguments specified for command")
    return cmd, idx


@command("command|getkeys", -4, "loading stale", group="server", since="2.8.13",
         complexity="O(N) where N is the number of arguments to the command")
def command_getkeys(c, argv):
    """Extract keys given a full Redis command"""
    _, idx = _getkeys(argv[2:])
    return [argv[2 + i] for i in idx]


@command("command|getkeysandflags", -4, "loading stale", group="server", since="7.0.0",
         complexity="O(N) where N is the number of arguments to the command")
def command_getkeysandflags(c, argv):
    """Extract keys and access flags given a full Redis command"""
    cmd, idx = _getkeys(argv[2:])
    specs = key_specs(cmd)
    return [[argv[2 + i], SetReply(_spec_flags_at(specs, i, cmd))] for i in idx]


def _spec_flags_at(specs: list, pos: int, cmd) -> list:
    """The flags of the key spec that finds the key at ``pos``: the one whose search begins
    last at or before it (LMOVE's source and destination have specs of their own)."""
    best, start = None, -1
    for sp in specs:
        bs = sp[b"begin_search"]
        at = bs[b"spec"].get(b"index", 0) if bs[b"type"] == b"index" else 0
        if start <= at <= pos:
            best, start = sp, at
    if best is None:
        return _key_flags(cmd)
    return list(best[b"flags"])


@command("command|help", 2, "loading stale", group="server", since="5.0.0", complexity="O(1)")
def command_help(c, argv):
    """Show helpful text about the different subcommands"""
    return help_reply("COMMAND", [
        "(no subcommand)",
        "    Return details about all Redis commands.",
        "COUNT",
        "    Return the total number of commands in this Redis server.",
        "LIST",
        "    Return a list of all commands in this Redis server.",
        "INFO [<command-name> ...]",
        "    Return details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "DOCS [<command-name> ...]",
        "    Return documentation details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "GETKEYS <full-command>",
        "    Return the keys from a full Redis command.",
        "GETKEYSANDFLAGS <full-command>",
        "    Return the keys and the access flags from a full Redis command.",
    ])


# -- DEBUG -----------------------------------------------------------------------------------

DEBUG_DENIED = (
    "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", "
    "you can run it from a local connection, otherwise you need to set this option in the "
    "configuration file, and then restart the server."
)
DEBUG_HELP = [
    "CHANGE-REPL-ID",
    "    Change the replication IDs of the instance.",
    "    Dangerous: should be used only for testing the replication subsystem.",
    "DIGEST",
    "    Output a hex signature representing the current DB content.",
    "DIGEST-VALUE <key> [<key> ...]",
    "    Output a hex signature of the values of all the specified keys.",
    "ERROR <string>",
    "    Return a Redis protocol error with <string> as message. Useful for clients",
    "    unit tests to simulate Redis errors.",
    "LOG <message>",
    "    Write <message> to the server log.",
    "OBJECT <key>",
    "    Show low level info about `key` and associated value.",
    "POPULATE <count> [<prefix>] [<size>]",
    "    Create <count> string keys named key:<num>. If <prefix> is specified then",
    "    it is used instead of the 'key' prefix. These are not propagated to",
    "    replicas. Cluster slots are not respected so keys not belonging to the",
    "    current node can be created in cluster mode.",
    "PROTOCOL <type>",
    "    Reply with a test value of the specified type. <type> can be: string,",
    "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
    "    true, false.",
    "RELOAD [option ...]",
    "    Save the RDB on disk and reload it back to memory.",
    "SET-ACTIVE-EXPIRE <0|1>",
    "    Setting it to 0 disables expiring keys in background when they are not",
    "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
    "    default.",
    "SLEEP <seconds>",
    "    Stop the server for <seconds>. Decimals allowed.",
]
PROTOCOL_TYPES = ("string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|"
                  "false")


@command("debug", -2, "admin noscript loading stale", group="server", since="1.0.0",
         summary="A container for debugging commands", complexity="Depends on subcommand.")
def debug(c, argv):
    """A container for debugging commands"""
    srv = c.server
    if not allowed(c, srv.config["enable-debug-command"]):
        raise CommandError(DEBUG_DENIED)
    sub = argv[1].lower()
    n = len(argv)
    handler = _DEBUG.get(sub)
    if handler is None or not handler[1] <= n <= handler[2]:
        raise subcommand_syntax_error(argv)
    return handler[0](c, argv)


def _debug_help(c, argv):
    return help_reply("DEBUG", DEBUG_HELP)


def _debug_digest(c, argv):
    from ..digest import dataset_digest

    return dataset_digest(c.server).hex()


def _debug_digest_value(c, argv):
    from ..digest import key_value_digest

    return [key_value_digest(c.db, k).hex() for k in argv[2:]]


def _debug_sleep(c, argv):
    secs = to_float(argv[2]) or 0.0
    if secs > 0:
        time.sleep(secs)  # stops the whole server, as in Redis
    return OK


def _debug_set_active_expire(c, argv):
    on = bool(_atoi(argv[2]))
    srv = c.server
    srv.active_expire_enabled = on
    runner = srv.runner
    if runner is not None:
        if on:
            runner.__dict__.pop("active_expire", None)
        else:
            runner.active_expire = lambda: None  # the cron's expire cycle, switched off
    return OK


def _atoi(b: bytes) -> int:
    s = b.strip()
    end = 1 if s[:1] in (b"-", b"+") else 0
    while end < len(s) and 48 <= s[end] <= 57:
        end += 1
    try:
        return int(s[:end])
    except ValueError:
        return 0


def _debug_log(c, argv):
    c.server.log.warning("DEBUG LOG: " + argv[2].decode("utf-8", "replace"))
    return OK


def _debug_error(c, argv):
    return c.server.error_reply(argv[2].decode("utf-8", "replace"))


def _debug_change_repl_id(c, argv):
    srv = c.server
    srv.replid = os.urandom(20).hex()
    srv.replid2 = "0" * 40
    srv.second_repl_offset = -1
    srv.run_hooks("replid_changed")
    return OK


def _debug_object(c, argv):
    from .keys import object_encoding  # OBJECT ENCODING's answer

    value = c.db.data.get(argv[2])
    if value is None:
        raise CommandError("ERR no such key")
    srv = c.server
    enc = object_encoding(value, srv.config)
    lru = int(srv.clock.time()) & ((1 << 24) - 1)
    text = b"Value at:0x%x refcount:1 encoding:%s serializedlength:%d lru:%d lru_seconds_idle:0" % (
        id(value), enc, _serialized_length(value), lru)
    if enc == b"quicklist":
        size = sum(len(x) for x in value)
        text += b" ql_nodes:%d ql_avg_node:%.2f ql_listpack_max:%d ql_compressed:%d " \
                b"ql_uncompressed_size:%d" % (1, float(len(value)),
                                              srv.config["list-max-listpack-size"],
                                              int(srv.config["list-compress-depth"] != 0), size)
    return text.decode("latin-1")


def _len_prefix(n: int) -> int:
    return 1 if n < 64 else 2 if n < 16384 else 5


def _string_length(v) -> int:
    n = to_int(bytes(v)) if len(v) <= 20 else None
    if n is not None:
        return 2 if -128 <= n <= 127 else 3 if -32768 <= n <= 32767 else \
            5 if -(2**31) <= n < 2**31 else _len_prefix(len(v)) + len(v)
    return _len_prefix(len(v)) + len(v)


def _serialized_length(value) -> int:
    """An estimate of the value's RDB size (DEBUG OBJECT's serializedlength)."""
    t = value.__class__
    if t is bytes or t is bytearray:
        return _string_length(value)
    if t is dict:
        return _len_prefix(len(value)) + sum(_string_length(k) + _string_length(v)
                                             for k, v in value.items())
    try:
        return _len_prefix(len(value)) + sum(_string_length(x) for x in value
                                             if isinstance(x, bytes | bytearray))
    except TypeError:
        return 0


def _debug_populate(c, argv):
    count = parse_int(argv[2])
    if count < 0:
        raise CommandError("ERR value is out of range, must be positive")
    size = 0
    if len(argv) == 5:
        size = parse_int(argv[4])
        if size < 0:
            raise CommandError("ERR value is out of range, must be positive")
    prefix = argv[3] if len(argv) >= 4 else b"key"
    db = c.db
    for j in range(count):
        key = b"%s:%d" % (prefix, j)
        if db.lookup(key) is not None:
            continue
        val = b"value:%d" % j
        if size:
            val = val[:size].ljust(size, b"\0")
        db.add(key, val)
        db.modified(key, None, 0, dirty=0)
    return OK


def _debug_protocol(c, argv):
    kind = argv[2].lower()
    r3 = c.resp == 3
    if kind == b"string":
        return b"Hello World"
    if kind == b"integer":
        return 12345
    if kind == b"double":
        return Raw(b",3.141\r\n" if r3 else b"$5\r\n3.141\r\n")
    if kind == b"bignum":
        num = b"1234567999999999999999999999999999999"
        return Raw(b"(" + num + b"\r\n" if r3 else b"$%d\r\n%s\r\n" % (len(num), num))
    if kind == b"null":
        return None
    if kind == b"array":
        return [0, 1, 2]
    if kind == b"set":
        return SetReply([0, 1, 2])
    if kind == b"map":
        return {0: False, 1: True, 2: False}
    if kind == b"attrib":
        real = c.encode(b"Some real reply following the attribute")
        if r3:
            return Raw(b"|1\r\n$14\r\nkey-popularity\r\n*2\r\n$7\r\nkey:123\r\n:90\r\n" + real)
        return Raw(real)
    if kind == b"push":
        if not r3:
            raise CommandError("ERR RESP2 is not supported by this command")
        return Raw(b">2\r\n$16\r\nserver-cpu-usage\r\n:42\r\n"
                   + c.encode(b"Some real reply following the push reply"))
    if kind == b"verbatim":
        return Verbatim(b"This is a verbatim\nstring")
    if kind == b"true":
        return True
    if kind == b"false":
        return False
    raise CommandError("ERR Wrong protocol type name. Please use one of the following: "
                       + PROTOCOL_TYPES)


def _debug_reload(c, argv):
    hook = c.server.hooks.get("debug_reload")
    if not hook:
        raise CommandError("ERR DEBUG RELOAD needs persistence, which is not enabled")
    return hook[0](c, [a.lower() for a in argv[2:]])


registry.BY_NAME["debug"].doc_flags = ["syscmd"]

_DEBUG = {  # name -> (handler, min argc, max argc)
    b"help": (_debug_help, 2, 2),
    b"digest": (_debug_digest, 2, 2),
    b"digest-value": (_debug_digest_value, 2, 1 << 30),
    b"sleep": (_debug_sleep, 3, 3),
    b"set-active-expire": (_debug_set_active_expire, 3, 3),
    b"log": (_debug_log, 3, 3),
    b"error": (_debug_error, 3, 3),
    b"change-repl-id": (_debug_change_repl_id, 2, 2),
    b"object": (_debug_object, 3, 3),
    b"populate": (_debug_populate, 3, 5),
    b"protocol": (_debug_protocol, 3, 3),
    b"reload": (_debug_reload, 2, 1 << 30),
}


# -- SLOWLOG and LATENCY ---------------------------------------------------------------------


def _slowlog(srv) -> list:
    """Entries ``[id, unix time, usec, argv, addr, name]``, newest first (empty: commands
    are not timed; a module that times them may fill ``server.slowlog``)."""
    log = getattr(srv, "slowlog", None)
    if log is None:
        log = srv.slowlog = []
    return log


@command("slowlog|get", -2, "admin loading stale", group="server", since="2.2.12",
         complexity="O(N) where N is the number of entries returned")
def slowlog_get(c, argv):
    """Get the slow log's entries"""
    if len(argv) > 3:
        raise subcommand_syntax_error(argv)
    count = 10
    if len(argv) == 3:
        count = to_int(argv[2])
        if count is None or count < -1:
            raise CommandError("ERR count should be greater than or equal to -1")
    log = _slowlog(c.server)
    entries = log if count == -1 else log[:count]
    return [list(e) for e in entries]


@command("slowlog|len", 2, "admin loading stale", group="server", since="2.2.12",
         complexity="O(1)")
def slowlog_len(c, argv):
    """Get the slow log's length"""
    return len(_slowlog(c.server))


@command("slowlog|reset", 2, "admin loading stale", group="server", since="2.2.12",
         complexity="O(N) where N is the number of entries in the slowlog")
def slowlog_reset(c, argv):
    """Clear all entries from the slow log"""
    _slowlog(c.server).clear()
    return OK


@command("slowlog|help", 2, "loading stale", group="server", since="6.2.0", complexity="O(1)")
def slowlog_help(c, argv):
    """Show helpful text about the different subcommands"""
    return help_reply("SLOWLOG", [
        "GET [<count>]",
        "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
        "    Entries are made of:",
        "    id, timestamp, time in microseconds, arguments array, client IP and port,",
        "    client name",
        "LEN",
        "    Return the length of the slowlog.",
        "RESET",
        "    Reset the slowlog.",
    ])


def _latency_events(srv) -> dict:
    """event name -> [(unix time, latency ms), ...] (empty: nothing is timed here)."""
    ev = getattr(srv, "latency_events", None)
    if ev is None:
        ev = srv.latency_events = {}
    return ev


@command("latency|latest", 2, "admin noscript loading stale", group="server", since="2.8.13",
         complexity="O(1)")
def latency_latest(c, argv):
    """Return the latest latency samples for all events."""
    out = []
    for name, samples in _latency_events(c.server).items():
        if samples:
            t, ms = samples[-1]
            out.append([name.encode(), t, ms, max(s[1] for s in samples)])
    return out


@command("latency|history", 3, "admin noscript loading stale", group="server",
         since="2.8.13", complexity="O(1)")
def latency_history(c, argv):
    """Return timestamp-latency samples for the event."""
    samples = _latency_events(c.server).get(argv[2].decode("utf-8", "replace"), [])
    return [[t, ms] for t, ms in samples]


@command("latency|reset", -2, "admin noscript loading stale", group="server", since="2.8.13",
         complexity="O(1)")
def latency_reset(c, argv):
    """Reset latency data for one or more events."""
    events = _latency_events(c.server)
    if len(argv) == 2:
        n = len(events)
        events.clear()
        return n
    n = 0
    for a in argv[2:]:
        if events.pop(a.decode("utf-8", "replace"), None) is not None:
            n += 1
    return n


@command("latency|graph", 3, "admin noscript loading stale", group="server", since="2.8.13",
         complexity="O(1)")
def latency_graph(c, argv):
    """Return a latency graph for the event."""
    name = argv[2].decode("utf-8", "replace")
    if not _latency_events(c.server).get(name):
        raise CommandError(f"ERR No samples available for event '{name}'")
    return Verbatim(f"{name} - latency samples are recorded, graphs are not drawn\n".encode())


@command("latency|doctor", 2, "admin noscript loading stale", group="server", since="2.8.13",
         complexity="O(1)")
def latency_doctor(c, argv):
    """Return a human readable latency analysis report."""
    srv = c.server
    if not _latency_events(srv) and not srv.config["latency-monitor-threshold"]:
        return Verbatim(
            b"I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis "
            b"instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in "
            b"order to enable it. If we weren't in a deep space mission I'd suggest to take a "
            b"look at https://redis.io/topics/latency-monitor.\n"
        )
    return Verbatim(
        b"Dave, no latency spike was observed during the lifetime of this Redis instance, not "
        b"in the slightest bit. I honestly think you ought to sleep better at night.\n"
    )


@command("latency|histogram", -2, "admin noscript loading stale", group="server",
         since="7.0.0",
         complexity="O(N) where N is the number of commands with latency information being "
         "retrieved.")
def latency_histogram(c, argv):
    """Return the cumulative distribution of latencies of a subset of commands or all."""
    if len(argv) == 2:
        cmds = [x for x in all_names() if x.proc is not None]
    else:
        cmds = [x for x in (lookup_full(a) for a in argv[2:]) if x is not None]
    # Commands are not timed: the call counts are real, the histograms empty.
    return {x.name.encode(): {b"calls": x.calls, b"histogram_usec": {}}
            for x in cmds if x.calls}


@command("latency|help", 2, "loading stale", group="server", since="2.8.13",
         summary="Show helpful text about the different subcommands.", complexity="O(1)")
def latency_help(c, argv):
    """Show helpful text about the different subcommands."""
    return help_reply("LATENCY", [
        "DOCTOR",
        "    Return a human readable latency analysis report.",
        "GRAPH <event>",
        "    Return an ASCII latency graph for the <event> class.",
        "HISTORY <event>",
        "    Return time-latency samples for the <event> class.",
        "LATEST",
        "    Return the latest latency samples for all events.",
        "RESET [<event> ...]",
        "    Reset latency data of one or more <event> classes.",
        "    (default: reset all data for all event classes)",
        "HISTOGRAM [COMMAND ...]",
        "    Return a cumulative distribution of latencies in the format of a histogram for "
        "the specified command names.",
        "    If no commands are specified then all histograms are replied.",
    ])


# -- MONITOR ---------------------------------------------------------------------------------


@command("monitor", 1, "admin noscript loading stale", group="server", since="1.0.0",
         summary="Listen for all requests received by the server in real time")
def monitor(c, argv):
    """Listen for all requests received by the server in real time"""
    if c.deny_blocking or c.in_exec:
        raise CommandError("ERR MONITOR isn't allowed for DENY BLOCKING client")
    srv = c.server
    if c in srv.monitors:
        return Raw(b"")  # already monitoring: no reply, as Redis
    if not getattr(srv, "monitor_hooks", False):
        srv.add_hook("monitor", feed_monitors)
        srv.add_hook("client_freed", _drop_monitor)
        srv.monitor_hooks = True
    srv.monitors.append(c)
    return OK


def _drop_monitor(c) -> None:
    try:
        c.server.monitors.remove(c)
    except ValueError:
        pass


_REPR = {ord("\\"): b"\\\\", ord('"'): b'\\"', ord("\n"): b"\\n", ord("\r"): b"\\r",
         ord("\t"): b"\\t", 7: b"\\a", 8: b"\\b"}
_REPR_TABLE = [
    _REPR.get(i, bytes([i]) if 32 <= i <= 126 else b"\\x%02x" % i) for i in range(256)
]


def quote(arg: bytes) -> bytes:
    """Redis's sdscatrepr: a double-quoted, escaped argument."""
    table = _REPR_TABLE
    return b'"' + b"".join([table[b] for b in arg]) + b'"'


def _redacted(cmd, argv: list) -> list:
    """AUTH, HELLO AUTH and CONFIG SET of secrets show ``(redacted)``, as in Redis."""
    name = cmd.name
    if name == "auth":
        return argv[:1] + [b"(redacted)"] * (len(argv) - 1)
    if name == "hello":
        out = list(argv)
        for i in range(2, len(argv) - 2):
            if argv[i].upper() == b"AUTH":
                out[i + 1] = out[i + 2] = b"(redacted)"
                break
        return out
    if name == "config|set":
        out = list(argv)
        for i in range(2, len(argv) - 1, 2):
            if canonical(argv[i].decode("utf-8", "replace")) in SENSITIVE_CONFIGS:
                out[i + 1] = b"(redacted)"
        return out
    return argv


def feed_monitors(c, cmd, argv) -> None:
    """The "monitor" hook of ``Server.call``: one line per command to every monitor."""
    if cmd.admin or "skip_monitor" in cmd.flags:
        return
    srv = c.server
    if cmd.name in ("auth", "hello", "config|set"):
        argv = _redacted(cmd, argv)
    now = time.time()
    sec = int(now)
    line = b"+%d.%06d [%d %s] %s\r\n" % (
        sec, int((now - sec) * 1_000_000), c.db.id, (c.addr or "lua").encode(),
        b" ".join([quote(a) for a in argv]),
    )
    for m in srv.monitors:
        m.push_raw(line)


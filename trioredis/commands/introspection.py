"""COMMAND and its subcommands (COUNT, INFO, DOCS, LIST, GETKEYS, GETKEYSANDFLAGS, HELP):
the command table (registry.py) in Redis 7.0's shapes.

ACL categories, tips and key specs are derived from each entry's group, flags and key positions
(with a few of Redis's explicit exceptions, below), since the table does not spell them out.
Also used elsewhere: ``TIPS`` (extended by hashes.document), ``lookup_full`` and ``all_names``
(LATENCY HISTOGRAM, in monitoring.py).
"""

from __future__ import annotations

from ..errors import SYNTAX, CommandError
from ..glob import compile_glob
from ..protocol.replies import SetReply
from . import registry
from .args import to_int
from .key_specs import REDIS_KEY_SPECS, VARIABLE_FLAGS, keys_with_flags
from .registry import command, container
from .server import help_reply

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
    own = REDIS_KEY_SPECS.get(cmd.name)
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


def visible(cmd, server) -> bool:
    """Whether ``cmd`` exists on ``server``: SENTINEL only in a group, as a plain Redis has
    no SENTINEL (the entry's ``available``, on the container)."""
    top = cmd.parent or cmd
    return top.available is None or server is None or top.available(server)


def top_commands(server=None) -> list:
    """The top-level commands ``server`` has, sorted by name."""
    return [x for x in registry.all_commands() if visible(x, server)]


def lookup_full(name: bytes, server=None):
    """A command by its full name, ``config|get`` included (None when ``server`` lacks it)."""
    if b"|" in name:
        parent, sub = name.split(b"|", 1)
        cmd = registry.lookup(parent)
        if cmd is None or not cmd.subcommands:
            return None
        cmd = cmd.subcommands.get(sub) or cmd.subcommands.get(sub.lower())
    else:
        cmd = registry.lookup(name)
    return cmd if cmd is not None and visible(cmd, server) else None


def lookup_argv(argv: list, server=None):
    """Redis's lookupCommand over a full argv: ``CONFIG GET x`` -> config|get."""
    cmd = registry.lookup(argv[0])
    if cmd is None or not visible(cmd, server):
        return None
    if not cmd.subcommands or len(argv) == 1:
        return cmd
    return cmd.subcommands.get(argv[1]) or cmd.subcommands.get(argv[1].lower())


def command_(c, argv):
    """Get array of Redis command details"""
    return [command_info(cmd) for cmd in top_commands(c.server)]


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
    return len(top_commands(c.server))


@command("command|info", -2, "loading stale", group="server", since="2.8.13",
         complexity="O(N) where N is the number of commands to look up")
def command_info_(c, argv):
    """Get array of specific Redis command details, or all when no argument is given."""
    if len(argv) == 2:
        return [command_info(cmd) for cmd in top_commands(c.server)]
    out = []
    for name in argv[2:]:
        cmd = lookup_full(name, c.server)
        out.append(command_info(cmd) if cmd is not None else None)
    return out


@command("command|docs", -2, "loading stale", group="server", since="7.0.0",
         complexity="O(N) where N is the number of commands to look up")
def command_docs_(c, argv):
    """Get array of specific Redis command documentation"""
    if len(argv) == 2:
        return {cmd.name.encode(): command_docs(cmd) for cmd in top_commands(c.server)}
    out = {}
    for name in argv[2:]:
        cmd = lookup_full(name, c.server)
        if cmd is not None:
            out[cmd.name.encode()] = command_docs(cmd)
    return out


def all_names(server=None) -> list:
    """Every command ``server`` has, each container followed by its subcommands."""
    out = []
    for cmd in top_commands(server):
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
    cmds = all_names(c.server)
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


def _getkeys(argv, server):
    cmd = lookup_argv(argv, server)
    if cmd is None:
        raise CommandError("ERR Invalid command specified")
    if cmd.getkeys is None and (cmd.first_key <= 0 or _only_not_keys(cmd)):
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
    _, idx = _getkeys(argv[2:], c.server)
    return [argv[2 + i] for i in idx]


@command("command|getkeysandflags", -4, "loading stale", group="server", since="7.0.0",
         complexity="O(N) where N is the number of arguments to the command")
def command_getkeysandflags(c, argv):
    """Extract keys and access flags given a full Redis command"""
    full = argv[2:]
    cmd, idx = _getkeys(full, c.server)
    specs = key_specs(cmd)
    variable = VARIABLE_FLAGS.get(cmd.name)
    found = variable(full) if variable is not None else keys_with_flags(specs, full)
    flags_at = {}
    for pos, flags in found or ():
        flags_at.setdefault(pos, flags)
    return [[full[i], SetReply(flags_at.get(i) or _spec_flags_at(specs, i, cmd))] for i in idx]


def _only_not_keys(cmd) -> bool:
    """Redis's doesCommandHaveKeys is false when every key spec is not_key (SPUBLISH)."""
    specs = key_specs(cmd)
    return bool(specs) and all("not_key" in sp[b"flags"] for sp in specs)


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

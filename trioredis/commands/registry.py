"""The one command table: name, arity, flags, key positions, group and docs of every command.

It drives arity errors, COMMAND INFO/DOCS/GETKEYS, MULTI queueing, read-only replicas, and
which commands are propagated. Handlers are plain functions ``(client, argv) -> reply`` that
never await; they register themselves with :func:`command`::

    @command("get", 2, "readonly fast", keys=(1, 1, 1), group="string", since="1.0.0")
    def get(c, argv): ...

Subcommands are entries of their own, named ``container|sub`` as in Redis 7
(``@command("config|get", -3, ...)``); the container entry is made on first use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

# Flags we know (Redis 7.0 names). Unknown flags are a programming error.
KNOWN_FLAGS = frozenset(
    """write readonly denyoom module admin pubsub noscript blocking loading stale skip_monitor
    skip_slowlog asking fast no_auth may_replicate sentinel only_sentinel no_mandatory_keys
    protected module_getkeys module_no_cluster no_async_loading no_multi movablekeys
    allow_busy""".split()
)

# Redis 7.0's MAY_REPLICATE commands: not writes, but they can add to the replication stream,
# so CLIENT PAUSE WRITE holds them and read-only scripts may not call them. (Kept out of their
# flags, which also decide MISCONF and fencing refusals, where Redis looks at writes only.)
MAY_REPLICATE = frozenset({"publish", "spublish", "pfcount", "eval", "evalsha", "fcall"})

GROUP_CATEGORIES = {
    "string": "string",
    "list": "list",
    "hash": "hash",
    "set": "set",
    "sorted-set": "sortedset",
    "stream": "stream",
    "geo": "geo",
    "pubsub": "pubsub",
    "transactions": "transaction",
    "connection": "connection",
    "scripting": "scripting",
    "hyperloglog": "hyperloglog",
    "bitmap": "bitmap",
    "generic": "keyspace",
}


@dataclass(eq=False)
class Command:
    name: str  # lower case; "config|get" for a subcommand
    proc: Callable | None
    arity: int
    flags: frozenset
    first_key: int = 0
    last_key: int = 0
    step: int = 0
    group: str = "generic"
    since: str = "1.0.0"
    summary: str = ""
    complexity: str = ""
    getkeys: Callable | None = None  # movable keys: argv -> list of key indexes
    write_keys: Callable | None = None  # which keys a write changes, when not all of them
    parent: Command | None = None
    subcommands: dict | None = None
    doc_args: list = field(default_factory=list)
    # (server) -> bool for a command that exists only in some modes (SENTINEL needs a group);
    # checked for containers only, so plain commands cost nothing on the hot path.
    available: Callable | None = None
    # (server, argv) -> the flags of this call when they depend on its arguments (a script's
    # shebang flags: Redis's getCommandFlags); EXEC's checks use them for queued commands.
    flags_of: Callable | None = None
    # Precomputed for the hot path.
    write: bool = False
    readonly: bool = False
    blocking: bool = False
    admin: bool = False
    no_auth: bool = False
    denyoom: bool = False
    stale: bool = False
    loading: bool = False
    may_replicate: bool = False
    # Statistics for INFO commandstats.
    calls: int = 0
    rejected_calls: int = 0
    failed_calls: int = 0
    usec: int = 0  # time spent in the handler (latency.py)
    latency_hist: dict | None = None  # bucket -> count, made on first use (latency.py)

    def __post_init__(self):
        f = self.flags
        self.write = "write" in f
        self.readonly = "readonly" in f
        self.blocking = "blocking" in f
        self.admin = "admin" in f
        self.no_auth = "no_auth" in f
        self.denyoom = "denyoom" in f
        self.stale = "stale" in f
        self.loading = "loading" in f
        self.may_replicate = "may_replicate" in f

    @property
    def fullname(self) -> str:
        return self.name

    @property
    def movablekeys(self) -> bool:
        return self.getkeys is not None

    def key_indexes(self, argv: list) -> list[int]:
        """Positions of the key arguments in ``argv``."""
        if self.getkeys is not None:
            return self.getkeys(argv)
        first = self.first_key
        if first <= 0:
            return []
        last = self.last_key
        if last < 0:
            last = len(argv) + last
        return list(range(first, min(last, len(argv) - 1) + 1, self.step or 1))

    def keys(self, argv: list) -> list[bytes]:
        return [argv[i] for i in self.key_indexes(argv)]

    def acl_categories(self) -> list[str]:
        cats = []
        f = self.flags
        if "write" in f:
            cats.append("write")
        if "readonly" in f and self.group not in ("connection", "server"):
            cats.append("read")
        if self.group == "generic" and self.first_key:
            cats.append("keyspace")
        cat = GROUP_CATEGORIES.get(self.group)
        if cat and cat not in cats and cat != "keyspace":
            cats.append(cat)
        if "admin" in f:
            cats.extend(["admin", "dangerous"])
        if "pubsub" in f and "pubsub" not in cats:
            cats.append("pubsub")
        if "blocking" in f:
            cats.append("blocking")
        cats.append("fast" if "fast" in f else "slow")
        return cats


# name (lower and upper case bytes) -> Command
TABLE: dict[bytes, Command] = {}
# Every command by its lower-case str name, containers and subcommands included.
BY_NAME: dict[str, Command] = {}


def command(
    name: str,
    arity: int,
    flags: str = "",
    keys: tuple[int, int, int] = (0, 0, 0),
    group: str = "generic",
    since: str = "1.0.0",
    summary: str = "",
    complexity: str = "",
    getkeys: Callable | None = None,
    write_keys: Callable | None = None,
):
    """Register the decorated function as the handler of ``name``."""
    fl = frozenset(flags.split())
    unknown = fl - KNOWN_FLAGS
    if unknown:
        raise ValueError(f"unknown flags for {name}: {sorted(unknown)}")
    if getkeys is not None:
        fl = fl | {"movablekeys"}

    def register(proc: Callable) -> Callable:
        cmd = Command(
            name=name.lower(),
            proc=proc,
            arity=arity,
            flags=fl,
            first_key=keys[0],
            last_key=keys[1],
            step=keys[2],
            group=group,
            since=since,
            summary=summary or (proc.__doc__ or "").strip().split("\n")[0],
            complexity=complexity,
            getkeys=getkeys,
            write_keys=write_keys,
        )
        if "|" in cmd.name:
            parent_name, sub = cmd.name.split("|", 1)
            parent = container(parent_name, group=group, since=since)
            cmd.parent = parent
            parent.subcommands[sub.encode()] = cmd
            parent.subcommands[sub.upper().encode()] = cmd
        else:
            if cmd.name in BY_NAME:
                raise ValueError(f"command {name} registered twice")
            TABLE[cmd.name.encode()] = cmd
            TABLE[cmd.name.upper().encode()] = cmd
        BY_NAME[cmd.name] = cmd
        return proc

    return register


def container(name: str, group: str = "generic", since: str = "1.0.0", summary: str = ""):
    """The container entry of a command with subcommands (CONFIG, CLIENT, XINFO, ...)."""
    cmd = BY_NAME.get(name)
    if cmd is None:
        cmd = Command(
            name=name,
            proc=None,
            arity=-2,
            flags=frozenset(),
            group=group,
            since=since,
            summary=summary or f"A container for {name.upper()} commands",
            subcommands={},
        )
        TABLE[name.encode()] = cmd
        TABLE[name.upper().encode()] = cmd
        BY_NAME[name] = cmd
    return cmd


def lookup(name: bytes) -> Command | None:
    cmd = TABLE.get(name)
    if cmd is None:
        cmd = TABLE.get(name.lower())
    return cmd


def all_commands() -> list[Command]:
    """Top-level commands (containers included), sorted by name."""
    return sorted((c for c in BY_NAME.values() if c.parent is None), key=lambda c: c.name)


# -- key position helpers for movable keys ---------------------------------------------------


def keys_after_numkeys(numkeys_pos: int, extra_first: int = 0):
    """Keys given as ``numkeys key ...`` at ``numkeys_pos`` (ZUNION, LMPOP, EVAL, ...).

    ``extra_first`` > 0 also counts a key at that position (the destination of ZUNIONSTORE).
    """

    def getkeys(argv: list) -> list[int]:
        out = [extra_first] if extra_first else []
        try:
            n = int(argv[numkeys_pos])
        except (ValueError, IndexError):
            return out
        if n <= 0:
            return out
        start = numkeys_pos + 1
        return out + list(range(start, min(start + n, len(argv))))

    return getkeys


def keys_after_token(token: bytes, half: bool = True):
    """Keys that follow ``token`` (XREAD ... STREAMS k1 k2 id1 id2: the first half)."""
    token = token.upper()

    def getkeys(argv: list) -> list[int]:
        for i in range(1, len(argv)):
            if argv[i].upper() == token:
                rest = len(argv) - i - 1
                n = rest // 2 if half else rest
                return list(range(i + 1, i + 1 + n))
        return []

    return getkeys

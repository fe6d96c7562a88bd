"""ACL users and selectors as plain data: applying rules (Redis's ACLSetUser/ACLSetSelector) and
describing them back (ACLDescribeUser), with Redis 7.0's error texts.

A selector holds the set of command names it may run (containers and ``container|sub`` entries
alike, as Redis's bitmap of command ids), whether ``+@all`` let it run future commands, first
arguments allowed for otherwise blocked commands (``+select|0``), key patterns with read/write
flags and channel patterns. A user has flags, SHA-256 password hashes, a root selector and any
number of extra selectors ``(...)``. Nothing here knows of clients or the server: the command
table is reached through :class:`CommandUniverse`.
"""

from __future__ import annotations

import hashlib

READ = 1
WRITE = 2
ALL_PERMS = READ | WRITE

# The order in which Redis lists categories (ACL CAT) and tries them when describing rules.
CATEGORIES = ("keyspace", "read", "write", "set", "sortedset", "list", "hash", "string",
              "bitmap", "hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow",
              "blocking", "dangerous", "connection", "transaction", "scripting")

# ACLSetUserStringError, by Redis's errno names.
ERR_ENOENT = "Unknown command or category name in ACL"
ERR_EINVAL = "Syntax error"
ERR_EEXIST = ("Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and "
              "does not have any effect. Try 'resetkeys' to start with an empty list of patterns")
ERR_EISDIR = ("Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid "
              "and does not have any effect. Try 'resetchannels' to start with an empty list "
              "of channels")
ERR_ENODEV = "The password you are trying to remove from the user does not exist"
ERR_EBADMSG = ("The password hash must be exactly 64 characters and contain only lowercase "
               "hexadecimal characters")
ERR_EALREADY = "Duplicate user found. A user can only be defined once in config files"
ERR_ECHILD = "Allowing first-arg of a subcommand is not supported"


class RuleError(Exception):
    """A rule that cannot be applied; ``str()`` is Redis's ACLSetUserStringError text."""

    def __init__(self, message: str, missing: bool = False):
        super().__init__(message)
        self.missing = missing  # ENOENT: an unknown command (a config may name it too early)


def hash_password(password: bytes) -> str:
    return hashlib.sha256(password).hexdigest()


def valid_hash(h: bytes) -> bool:
    return len(h) == 64 and all(c in b"0123456789abcdef" for c in h)


def has_spaces(s: bytes) -> bool:
    """ACLStringHasSpaces: C isspace() or NUL."""
    return any(c in b" \t\n\v\f\r\x00" for c in s)


class CommandUniverse:
    """The command table as ACL sees it: names, container/subcommand links, categories.

    ``commands`` maps each top-level name to its Command; ``subs(cmd)`` lists a container's
    subcommands; ``categories(cmd)`` gives category names without ``@``.
    """

    def __init__(self, top: dict, subs, categories, lookup):
        self.top = top  # name -> Command, top-level only, in a stable order
        self.subs = subs
        self._categories = categories
        self.lookup = lookup  # "name" or "container|sub" -> Command or None
        self._cat_cache: dict[str, frozenset] = {}

    def categories(self, cmd) -> frozenset:
        cats = self._cat_cache.get(cmd.name)
        if cats is None:
            cats = self._cat_cache[cmd.name] = frozenset(self._categories(cmd))
        return cats

    def walk(self):
        """Every command, each container followed by its subcommands."""
        for cmd in self.top.values():
            yield cmd
            yield from self.subs(cmd)

    def all_names(self) -> set:
        return {c.name for c in self.walk()}


class Selector:
    __slots__ = ("root", "allkeys", "allchannels", "allcommands", "future", "allowed",
                 "firstargs", "patterns", "channels")

    def __init__(self, root: bool = False, allchannels: bool = False):
        self.root = root
        self.allkeys = False
        self.allchannels = allchannels  # acl-pubsub-default
        self.allcommands = False
        self.future = False  # the reserved bit only +@all sets: future commands allowed
        self.allowed: set[str] = set()
        self.firstargs: dict[str, list[bytes]] = {}
        self.patterns: list[list] = []  # [pattern bytes, READ|WRITE]
        self.channels: list[bytes] = []

    def copy(self) -> Selector:
        s = Selector(self.root)
        s.allkeys = self.allkeys
        s.allchannels = self.allchannels
        s.allcommands = self.allcommands
        s.future = self.future
        s.allowed = set(self.allowed)
        s.firstargs = {k: list(v) for k, v in self.firstargs.items()}
        s.patterns = [list(p) for p in self.patterns]
        s.channels = list(self.channels)
        return s

    # -- command bits ---------------------------------------------------------------------

    def _set_bit(self, name: str, allow: bool) -> None:
        if allow:
            self.allowed.add(name)
        else:
            self.allowed.discard(name)
            self.allcommands = False

    def change_perm(self, u: CommandUniverse, cmd, allow: bool) -> None:
        """ACLChangeSelectorPerm: a container takes its subcommands along."""
        self._set_bit(cmd.name, allow)
        self.firstargs.pop(cmd.name, None)
        for sub in u.subs(cmd):
            self._set_bit(sub.name, allow)

    def set_category(self, u: CommandUniverse, cat: str, allow: bool) -> None:
        for cmd in u.walk():
            if cat in u.categories(cmd):
                self.change_perm(u, cmd, allow)

    def apply(self, u: CommandUniverse, op: bytes) -> None:
        """ACLSetSelector: one rule on this selector, or RuleError."""
        low = op.lower()
        if low in (b"allkeys", b"~*"):
            self.allkeys = True
            self.patterns = []
        elif low == b"resetkeys":
            self.allkeys = False
            self.patterns = []
        elif low in (b"allchannels", b"&*"):
            self.allchannels = True
            self.channels = []
        elif low == b"resetchannels":
            self.allchannels = False
            self.channels = []
        elif low in (b"allcommands", b"+@all"):
            self.allowed = u.all_names()
            self.future = True
            self.allcommands = True
            self.firstargs = {}
        elif low in (b"nocommands", b"-@all"):
            self.allowed = set()
            self.future = False
            self.allcommands = False
            self.firstargs = {}
        elif op[:1] in (b"~", b"%"):
            self._add_key_pattern(op)
        elif op[:1] == b"&":
            if self.allchannels:
                raise RuleError(ERR_EISDIR)
            pat = op[1:]
            if has_spaces(pat):
                raise RuleError(ERR_EINVAL)
            if pat not in self.channels:
                self.channels.append(pat)
            self.allchannels = False
        elif op[:1] in (b"+", b"-") and op[1:2] != b"@":
            self._command_rule(u, op)
        elif op[:1] in (b"+", b"-") and op[1:2] == b"@":
            cat = op[2:].decode("latin-1").lower()
            if cat not in CATEGORIES:
                raise RuleError(ERR_ENOENT, missing=True)
            self.set_category(u, cat, op[:1] == b"+")
        else:
            raise RuleError(ERR_EINVAL)

    def _add_key_pattern(self, op: bytes) -> None:
        if self.allkeys:
            raise RuleError(ERR_EEXIST)
        flags = 0
        offset = 1
        if op[:1] == b"%":
            while offset < len(op):
                ch = op[offset:offset + 1]
                if ch.upper() == b"R" and not flags & READ:
                    flags |= READ
                elif ch.upper() == b"W" and not flags & WRITE:
                    flags |= WRITE
                elif ch == b"~":
                    offset += 1
                    break
                else:
                    raise RuleError(ERR_EINVAL)
                offset += 1
        else:
            flags = ALL_PERMS
        pat = op[offset:]
        if has_spaces(pat):
            raise RuleError(ERR_EINVAL)
        for existing in self.patterns:
            if existing[0] == pat:
                existing[1] |= flags
                break
        else:
            self.patterns.append([pat, flags])
        self.allkeys = False

    def _command_rule(self, u: CommandUniverse, op: bytes) -> None:
        allow = op[:1] == b"+"
        name = op[1:].decode("utf-8", "surrogateescape")
        if not allow or "|" not in name:
            cmd = u.lookup(name)
            if cmd is None:
                raise RuleError(ERR_ENOENT, missing=True)
            self.change_perm(u, cmd, allow)
            return
        container, _, first = name.rpartition("|")
        cmd = u.lookup(container)
        if cmd is None:
            raise RuleError(ERR_ENOENT, missing=True)
        if cmd.parent is not None:
            raise RuleError(ERR_ECHILD)
        if not first:
            raise RuleError(ERR_EINVAL)
        if u.subs(cmd):
            sub = u.lookup(name)
            if sub is None:
                raise RuleError(ERR_ENOENT, missing=True)
            self.change_perm(u, sub, True)
        else:
            # +select|0: a first argument allowed for an otherwise blocked command.
            args = self.firstargs.setdefault(cmd.name, [])
            raw = first.encode("utf-8", "surrogateescape")
            if not any(a.lower() == raw.lower() for a in args):
                args.append(raw)

    # -- description ----------------------------------------------------------------------

    def describe_commands(self, u: CommandUniverse) -> str:
        """ACLDescribeSelectorCommandRules: +@all or -@all, the best-fitting categories, then
        single commands, replayed on a scratch selector so the result rebuilds the same set."""
        fake = Selector()
        additive = not self.future
        rules = ["-@all" if additive else "+@all"]
        fake.apply(u, rules[0].encode())
        temp = Selector()
        temp.allowed = set(self.allowed)
        applied = set()
        walk = list(u.walk())
        while True:
            best, mindiff, maxsame = None, None, 0
            for cat in CATEGORIES:
                if cat in applied:
                    continue
                on = off = 0
                for cmd in walk:
                    if cat in u.categories(cmd):
                        if cmd.name in temp.allowed:
                            on += 1
                        else:
                            off += 1
                diff, same = (off, on) if additive else (on, off)
                if same > diff and (mindiff is None or diff < mindiff
                                    or (diff == mindiff and same > maxsame)):
                    best, mindiff, maxsame = cat, diff, same
            if best is None:
                break
            fake.set_category(u, best, additive)
            temp.set_category(u, best, not additive)
            rules.append(("+@" if additive else "-@") + best)
            applied.add(best)
        for cmd in u.top.values():
            self._describe_single(u, fake, cmd, rules)
            for sub in u.subs(cmd):
                self._describe_single(u, fake, sub, rules)
        return " ".join(rules)

    def _describe_single(self, u, fake: Selector, cmd, rules: list) -> None:
        mine = cmd.name in self.allowed
        if mine != (cmd.name in fake.allowed):
            rules.append(("+" if mine else "-") + cmd.name)
            fake.change_perm(u, cmd, mine)
        if not mine:
            for arg in self.firstargs.get(cmd.name, ()):
                rules.append(f"+{cmd.name}|{arg.decode('utf-8', 'surrogateescape')}")

    def describe_keys(self) -> str:
        if self.allkeys:
            return "~*"
        return " ".join(_pattern_text(p, f) for p, f in self.patterns)

    def describe_channels(self) -> str:
        if self.allchannels:
            return "&*"
        return " ".join("&" + c.decode("utf-8", "surrogateescape") for c in self.channels)

    def describe(self, u: CommandUniverse) -> str:
        """ACLDescribeSelector: keys, channels, commands."""
        parts = []
        keys = self.describe_keys()
        if keys:
            parts.append(keys)
        if self.allchannels:
            parts.append("&*")
        else:
            parts.append("resetchannels")
            chans = self.describe_channels()
            if chans:
                parts.append(chans)
        parts.append(self.describe_commands(u))
        return " ".join(parts)


def _pattern_text(pattern: bytes, flags: int) -> str:
    prefix = {ALL_PERMS: "~", READ: "%R~", WRITE: "%W~"}[flags]
    return prefix + pattern.decode("utf-8", "surrogateescape")


class User:
    __slots__ = ("name", "enabled", "nopass", "sanitize", "passwords", "selectors")

    def __init__(self, name: bytes, allchannels: bool = False):
        self.name = name
        self.enabled = False
        self.nopass = False
        self.sanitize = None  # None, "sanitize-payload" or "skip-sanitize-payload"
        self.passwords: list[str] = []  # SHA-256 hex digests
        self.selectors = [Selector(root=True, allchannels=allchannels)]

    @property
    def root(self) -> Selector:
        return self.selectors[0]

    def copy(self, name: bytes | None = None) -> User:
        u = User(self.name if name is None else name)
        self.copy_into(u)
        return u

    def copy_into(self, dst: User) -> None:
        """ACLCopyUser: everything but the name."""
        dst.enabled = self.enabled
        dst.nopass = self.nopass
        dst.sanitize = self.sanitize
        dst.passwords = list(self.passwords)
        dst.selectors = [s.copy() for s in self.selectors]

    def apply(self, u: CommandUniverse, op: bytes, allchannels_default: bool) -> None:
        """ACLSetUser: one rule, or RuleError."""
        if not op:
            return
        low = op.lower()
        if low == b"on":
            self.enabled = True
        elif low == b"off":
            self.enabled = False
        elif low == b"skip-sanitize-payload":
            self.sanitize = "skip-sanitize-payload"
        elif low == b"sanitize-payload":
            self.sanitize = "sanitize-payload"
        elif low == b"nopass":
            self.nopass = True
            self.passwords = []
        elif low == b"resetpass":
            self.nopass = False
            self.passwords = []
        elif op[:1] in (b">", b"#"):
            if op[:1] == b">":
                h = hash_password(op[1:])
            else:
                if not valid_hash(op[1:]):
                    raise RuleError(ERR_EBADMSG)
                h = op[1:].decode()
            if h not in self.passwords:
                self.passwords.append(h)
            self.nopass = False
        elif op[:1] in (b"<", b"!"):
            if op[:1] == b"<":
                h = hash_password(op[1:])
            else:
                if not valid_hash(op[1:]):
                    raise RuleError(ERR_EBADMSG)
                h = op[1:].decode()
            if h not in self.passwords:
                raise RuleError(ERR_ENODEV)
            self.passwords.remove(h)
        elif op[:1] == b"(" and op[-1:] == b")":
            s = Selector(allchannels=allchannels_default)
            for part in split_args(op[1:-1]):
                s.apply(u, part)
            self.selectors.append(s)
        elif low == b"clearselectors":
            del self.selectors[1:]
        elif low == b"reset":
            for rule in (b"resetpass", b"resetkeys", b"resetchannels"):
                self.apply(u, rule, allchannels_default)
            if allchannels_default:
                self.apply(u, b"allchannels", allchannels_default)
            for rule in (b"off", b"sanitize-payload", b"clearselectors", b"-@all"):
                self.apply(u, rule, allchannels_default)
        else:
            self.root.apply(u, op)

    def check_password(self, password: bytes) -> bool:
        """Constant-time comparison of the password's hash with every stored hash."""
        if self.nopass:
            return True
        h = hash_password(password).encode()
        ok = False
        for stored in self.passwords:
            ok |= _ct_equal(h, stored.encode())
        return ok

    def flags(self) -> list[str]:
        out = ["on" if self.enabled else "off"]
        if self.nopass:
            out.append("nopass")
        if self.sanitize:
            out.append(self.sanitize)
        return out

    def describe(self, u: CommandUniverse) -> str:
        """ACLDescribeUser: flags, #hashes, the root selector, then (selectors)."""
        parts = self.flags() + ["#" + p for p in self.passwords]
        parts.append(self.root.describe(u))
        out = " ".join(parts)
        for s in self.selectors[1:]:
            out += f" ({s.describe(u)})"
        return out

    def unrestricted(self) -> bool:
        """True when this user may run every command on every key and channel (no check needed)."""
        r = self.root
        return r.allcommands and r.allkeys and r.allchannels


def _ct_equal(a: bytes, b: bytes) -> bool:
    import hmac

    return hmac.compare_digest(a, b)


def split_args(line: bytes) -> list[bytes]:
    """sdssplitargs for a selector body: whitespace separated, quotes honoured."""
    out = []
    i, n = 0, len(line)
    while True:
        while i < n and line[i] in b" \t\n\r\v\f":
            i += 1
        if i >= n:
            return out
        cur = bytearray()
        inq = insq = False
        while i < n:
            ch = line[i]
            if inq:
                if ch == 0x5C and i + 1 < n:  # backslash
                    i += 1
                    cur.append(line[i])
                elif ch == 0x22:
                    inq = False
                    i += 1
                    if i < n and line[i] not in b" \t\n\r\v\f":
                        raise RuleError(ERR_EINVAL)
                    break
                else:
                    cur.append(ch)
            elif insq:
                if ch == 0x27:
                    insq = False
                    i += 1
                    if i < n and line[i] not in b" \t\n\r\v\f":
                        raise RuleError(ERR_EINVAL)
                    break
                cur.append(ch)
            elif ch in b" \t\n\r\v\f":
                break
            elif ch == 0x22:
                inq = True
            elif ch == 0x27:
                insq = True
            else:
                cur.append(ch)
            i += 1
        if inq or insq:
            raise RuleError(ERR_EINVAL)
        out.append(bytes(cur))


def merge_selector_args(args: list[bytes]) -> tuple[list[bytes] | None, int]:
    """ACLMergeSelectorArguments: join a selector spread over several arguments
    (``(~key1`` ``+get)``). Returns (merged, -1), or (None, index of the unmatched ``(``)."""
    merged: list[bytes] = []
    start = -1
    selector = b""
    for j, op in enumerate(args):
        if op[:1] == b"(" and op[-1:] != b")":
            selector = op
            start = j
            continue
        if start != -1:
            selector += b" " + op
            if op[-1:] == b")":
                start = -1
                merged.append(selector)
            continue
        merged.append(op)
    if start != -1:
        return None, start
    return merged, -1

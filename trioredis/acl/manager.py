"""The server's users: authentication, the per-command check, the ACL LOG, and what a change
to a user does to the clients authenticated as it.

A client authenticated as a user who may run everything (``+@all ~* &*``, the default user
out of the box) carries ``acl_user = None`` and costs the call path nothing; any other user is
set on the client, which makes ``Client.guard`` true so ``Server._check`` asks
:meth:`Acl.check`. Every change to a user refreshes its clients.
"""

from __future__ import annotations

from ..commands import registry
from ..errors import StartupError
from . import check as C
from .log import DENIED_AUTH, REASONS, AclLog, LogEntry
from .rules import (
    ERR_EALREADY,
    CommandUniverse,
    RuleError,
    User,
    has_spaces,
    merge_selector_args,
)

NOPERM_CMD = "NOPERM this user has no permissions to run the '{}' command"
NOPERM_KEY = "NOPERM this user has no permissions to access one of the keys used as arguments"
NOPERM_CHANNEL = ("NOPERM this user has no permissions to access one of the channels used as "
                  "arguments")
EXEC_CHANGED = ("NOPERM ACLs rules changed between the moment the transaction was accumulated "
                "and the EXEC call. This command is no longer allowed for the following "
                "reason: {}")
EXEC_REASONS = {
    C.DENIED_CMD: "no permission to execute the command or subcommand",
    C.DENIED_KEY: "no permission to touch the specified keys",
    C.DENIED_CHANNEL: "no permission to access one of the channels used as arguments",
}
SCRIPT_REASONS = {
    C.DENIED_CMD: "The user executing the script can't run this command or subcommand",
    C.DENIED_KEY: ("The user executing the script can't access at least one of the keys "
                   "mentioned in the command arguments"),
    C.DENIED_CHANNEL: ("The user executing the script can't publish to the channel mentioned "
                       "in the command"),
}


def _universe(server) -> CommandUniverse:
    def top_commands():
        out = {}
        for name in sorted(registry.BY_NAME):
            cmd = registry.BY_NAME[name]
            if cmd.parent is not None:
                continue
            if cmd.available is not None and not cmd.available(server):
                continue
            out[name] = cmd
        return out

    def subs(cmd):
        if not cmd.subcommands:
            return []
        return sorted(set(cmd.subcommands.values()), key=lambda x: x.name)

    def categories(cmd):
        from ..commands.introspection import acl_categories

        return [c[1:] for c in acl_categories(cmd)]

    top = top_commands()

    def lookup(name: str):
        name = name.lower()
        head, sep, tail = name.partition("|")
        cmd = top.get(head)
        if cmd is None or not sep:
            return cmd
        if "|" in tail or not cmd.subcommands:
            return None
        return cmd.subcommands.get(tail.encode())

    return CommandUniverse(top, subs, categories, lookup)


class Acl:
    def __init__(self, server):
        self.server = server
        self._universe: CommandUniverse | None = None
        self.users: dict[bytes, User] = {}
        self.default = self._new_default()
        self.users[b"default"] = self.default
        self.log = AclLog()
        self.config_users: list[list[bytes]] = []  # `user` lines of the config, for startup

    @property
    def universe(self) -> CommandUniverse:
        if self._universe is None:  # the table is complete once a server exists
            self._universe = _universe(self.server)
        return self._universe

    def _new_default(self) -> User:
        u = User(b"default")
        for rule in (b"+@all", b"~*", b"&*", b"on", b"nopass"):
            u.apply(self.universe, rule, False)
        return u

    @property
    def allchannels_default(self) -> bool:
        return self.server.config["acl-pubsub-default"] == "allchannels"

    def new_user(self, name: bytes) -> User:
        return User(name, allchannels=self.allchannels_default)

    # -- clients ------------------------------------------------------------------------------

    def attach(self, c) -> None:
        """A new connection: the default user, authenticated if it needs no password."""
        d = self.default
        self._bind(c, d)
        c.authenticated = d.nopass and d.enabled
        c.update_guard()

    def _bind(self, c, user: User) -> None:
        c.user = user.name
        c.acl_user = None if user.unrestricted() else user

    def refresh_clients(self, user: User) -> None:
        """The user's permissions changed: its clients get the checks they now need."""
        for c in list(self.server.clients.values()):
            if c.user == user.name:
                self._bind(c, user)
                c.update_guard()

    def user_of(self, c) -> User:
        return self.users.get(c.user) or self.default

    # -- authentication -----------------------------------------------------------------------

    def credentials_ok(self, name: bytes, password: bytes) -> bool:
        """ACLCheckUserCredentials: an enabled user whose password (any, if nopass) matches."""
        u = self.users.get(name)
        return u is not None and u.enabled and u.check_password(password)

    def authenticate(self, c, name: bytes, password: bytes) -> bool:
        if self.credentials_ok(name, password):
            self._bind(c, self.users[name])
            c.authenticated = True
            c.update_guard()
            return True
        self.add_log(c, DENIED_AUTH, self._context(c), object=b"AUTH", username=name)
        return False

    # -- the checks ---------------------------------------------------------------------------

    def _context(self, c) -> str:
        return "multi" if c.in_multi or c.in_exec else "toplevel"

    def check(self, c, cmd, argv):
        """Server._check's hook: None, or the -NOPERM text (logged)."""
        user = c.acl_user
        if user is None:
            return None
        result, pos = C.check_command(user, cmd, argv, self.server)
        if result == C.OK:
            return None
        self.add_log(c, result, self._context(c), argv=argv, pos=pos, cmd=cmd)
        if result == C.DENIED_CMD:
            return NOPERM_CMD.format(cmd.name)
        if result == C.DENIED_KEY:
            return NOPERM_KEY
        return NOPERM_CHANNEL

    def recheck_queued(self, c, cmd, argv):
        """EXEC runs each queued command only if still allowed: None or an error reply."""
        user = c.acl_user
        if user is None:
            return None
        result, pos = C.check_command(user, cmd, argv, self.server)
        if result == C.OK:
            return None
        self.add_log(c, result, "multi", argv=argv, pos=pos, cmd=cmd)
        return self.server.error_reply(EXEC_CHANGED.format(EXEC_REASONS[result]))

    def script_check(self, caller, cmd, argv):
        """redis.call's scriptVerifyACL: None or the error text (logged with context lua)."""
        user = caller.acl_user
        if user is None:
            return None
        result, pos = C.check_command(user, cmd, argv, self.server)
        if result == C.OK:
            return None
        self.add_log(caller, result, "lua", argv=argv, pos=pos, cmd=cmd)
        return SCRIPT_REASONS[result]

    def script_may_run(self, caller, cmd, argv) -> bool:
        """redis.acl_check_cmd: no logging."""
        user = caller.acl_user
        if user is None:
            return True
        return C.check_command(user, cmd, argv, self.server)[0] == C.OK

    def dryrun(self, user: User, cmd, argv) -> str | None:
        result, pos = C.check_command(user, cmd, argv, self.server)
        if result == C.OK:
            return None
        if result == C.DENIED_CMD:
            return f"This user has no permissions to run the '{cmd.name}' command"
        what = "key" if result == C.DENIED_KEY else "channel"
        name = argv[pos].decode("utf-8", "surrogateescape")
        return f"This user has no permissions to access the '{name}' {what}"

    def full_key_access(self, c, cmd, argv) -> bool:
        """ACLUserCheckCmdWithUnrestrictedKeyAccess(CMD_KEY_ACCESS): SORT BY/GET patterns
        need a selector that runs the command and may read every key."""
        user = c.acl_user
        if user is None:
            return True
        for sel in user.selectors:
            cache = C._KeyCache()
            if C._selector_check(sel, cmd, argv, cache, self.server)[0] != C.OK:
                continue
            if sel.allkeys or any(p == b"*" and f & 1 for p, f in sel.patterns):
                return True
        return False

    # -- the log ------------------------------------------------------------------------------

    def add_log(self, c, reason: int, context: str, argv=None, pos: int = 0, cmd=None,
                object: bytes | None = None, username: bytes | None = None) -> None:
        from ..commands.client_cmd import client_info_line

        if object is None:
            if reason == C.DENIED_CMD:
                object = cmd.name.encode()
            else:
                object = argv[pos]
        srv = self.server
        try:
            cinfo = client_info_line(c).rstrip(b"\n")
        except Exception:  # a client without a transport (scripts, tests)
            cinfo = b""
        entry = LogEntry(1, REASONS[reason], context, object, username or c.user,
                         int(srv.clock.time() * 1000), cinfo)
        self.log.add(entry, srv.config["acllog-max-len"])

    # -- changing users -----------------------------------------------------------------------

    def parse_rules(self, args: list[bytes]) -> list[bytes]:
        merged, bad = merge_selector_args(args)
        if merged is None:
            raise RuleError(f"Unmatched parenthesis in acl selector starting at "
                            f"'{args[bad].decode('utf-8', 'surrogateescape')}'.")
        return merged

    def setuser(self, name: bytes, rules: list[bytes]) -> None:
        """ACL SETUSER after merging selectors: all rules apply or none (RuleError names the
        rule, as 'Error in ACL SETUSER modifier ...')."""
        existing = self.users.get(name)
        temp = existing.copy() if existing is not None else self.new_user(name)
        u = self.universe
        for rule in rules:
            try:
                temp.apply(u, rule, self.allchannels_default)
            except RuleError as e:
                raise RuleError(
                    f"Error in ACL SETUSER modifier "
                    f"'{rule.decode('utf-8', 'surrogateescape')}': {e}") from None
        if existing is not None:
            self.kill_pubsub_clients_if_needed(temp, existing)
            temp.copy_into(existing)
            self.refresh_clients(existing)
        else:
            self.users[name] = temp

    def deluser(self, names: list[bytes]) -> int:
        deleted = 0
        for name in names:
            u = self.users.pop(name, None)
            if u is not None:
                deleted += 1
                self.kill_clients_of(u)
        return deleted

    def kill_clients_of(self, user: User) -> None:
        """ACLFreeUserAndKillClients: the current client gets its reply, then is closed."""
        srv = self.server
        for c in list(srv.clients.values()):
            if c.user != user.name:
                continue
            c.user = b"default"
            c.acl_user = None
            c.authenticated = False
            c.update_guard()
            self._close(c)

    def _close(self, c) -> None:
        srv = self.server
        if c is srv.current_client:
            c.close_after_reply = True
        elif c.conn is not None:
            c.conn.kill()  # the connection task frees it; CLIENT LIST no longer shows it
            srv.clients.pop(c.id, None)
        else:
            c.killed = True
            srv.free_client(c)

    def kill_pubsub_clients_if_needed(self, new: User, original: User) -> None:
        """ACLKillPubsubClientsIfNeeded: subscribers whose channels the new rules no longer
        allow are disconnected."""
        if any(s.allchannels for s in new.selectors):
            return
        upcoming = [ch for s in new.selectors for ch in s.channels]
        if all(ch in upcoming for s in original.selectors for ch in s.channels) and not any(
            s.allchannels for s in original.selectors
        ):
            return
        for c in list(self.server.clients.values()):
            if c.user != original.name or not (c.channels or c.patterns or c.shard_channels):
                continue
            kill = any(not C.channel_allowed(upcoming, p, True) for p in c.patterns)
            kill = kill or any(not C.channel_allowed(upcoming, ch, False)
                               for ch in list(c.channels) + list(c.shard_channels))
            if kill:
                self._close(c)

    def set_default_password(self, password: str) -> None:
        """requirepass: the default user's only password, or nopass when empty."""
        d = self.default
        u = self.universe
        d.apply(u, b"resetpass", False)
        if password:
            d.apply(u, b">" + password.encode("utf-8", "surrogateescape"), False)
        else:
            d.apply(u, b"nopass", False)

    # -- users from the config and the ACL file -------------------------------------------------

    def load_config_users(self, lines: list[list[bytes]]) -> None:
        """The `user` lines of the config (ACLLoadConfiguredUsers); StartupError on a bad rule."""
        u = self.universe
        for words in lines:
            name, rules = words[0], words[1:]
            if has_spaces(name):
                raise StartupError("Spaces not allowed in ACL usernames")
            merged, _ = merge_selector_args(rules)
            if merged is None:
                raise StartupError("Unmatched parenthesis in selector definition.")
            user = self.users.get(name)
            if user is None:
                user = self.users[name] = self.new_user(name)
            else:
                user.apply(u, b"reset", self.allchannels_default)
            for rule in merged:
                try:
                    user.apply(u, rule, self.allchannels_default)
                except RuleError as e:
                    raise StartupError(
                        f"Error loading ACL rule '{rule.decode('utf-8', 'surrogateescape')}' "
                        f"for the user named '{name.decode('utf-8', 'surrogateescape')}': {e}"
                    ) from None
            if not user.enabled:
                self.server.log.notice(
                    f"The user '{name.decode('utf-8', 'surrogateescape')}' is disabled (there "
                    "is no 'on' modifier in the user description). Make sure this is not a "
                    "configuration error.")

    def describe_all(self) -> list[bytes]:
        u = self.universe
        return [b"user " + name + b" " + self.users[name].describe(u).encode(
            "utf-8", "surrogateescape") for name in sorted(self.users)]


DUPLICATE_USER = ERR_EALREADY


def load_acl_file(acl: Acl, filename: str) -> str | None:
    """ACL LOAD: replace every user with the file's (the default user keeps its identity);
    clients of the replaced users are disconnected. None, or the errors (nothing changed)."""
    from .aclfile import load_users

    users, errors = load_users(acl, filename)
    if errors is not None:
        return errors
    new_default = users.pop(b"default", None) or acl._new_default()
    old = acl.users
    new_default.copy_into(acl.default)
    users[b"default"] = acl.default
    acl.users = users
    for user in old.values():
        if user is not acl.default:
            acl.kill_clients_of(user)
    acl.refresh_clients(acl.default)
    return None

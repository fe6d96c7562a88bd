"""ACL and its subcommands: thin wrappers over :mod:`trioredis.acl` (users, rules, the log,
the ACL file)."""

from __future__ import annotations

import os

from ..acl import aclfile_path, load_acl_file
from ..acl.aclfile import save_users
from ..acl.rules import CATEGORIES, RuleError, has_spaces
from ..errors import CommandError
from ..protocol.replies import OK, SetReply
from .args import parse_int
from .connection import subcommand_syntax_error
from .registry import command, container
from .server import help_reply

container("acl", group="server", since="6.0.0",
          summary="A container for Access List Control commands").complexity = (
    "Depends on subcommand.")

_FLAGS = "admin noscript loading stale"
NO_ACL_FILE = (
    "ERR This Redis instance is not configured to use an ACL file. You may want to specify "
    "users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a "
    "Redis configuration file set) in order to store users in the Redis configuration."
)
SAVE_FAILED = ("ERR There was an error trying to save the ACLs. Please check the server logs "
               "for more information")
GENPASS_MAX_BITS = 4096


def _text(b: bytes) -> str:
    return b.decode("utf-8", "surrogateescape")


@command("acl|setuser", -3, _FLAGS, group="server", since="6.0.0",
         complexity="O(N). Where N is the number of rules provided.")
def acl_setuser(c, argv):
    """Modify or create the rules for a specific ACL user"""
    name = argv[2]
    if has_spaces(name):
        raise CommandError("ERR Usernames can't contain spaces or null characters")
    acl = c.server.acl
    try:
        acl.setuser(name, acl.parse_rules(argv[3:]))
    except RuleError as e:
        raise CommandError(f"ERR {e}") from None
    return OK


@command("acl|getuser", 3, _FLAGS, group="server", since="6.0.0",
         complexity="O(N). Where N is the number of password, command and pattern rules that "
                    "the user has.")
def acl_getuser(c, argv):
    """Get the rules for a specific ACL user"""
    acl = c.server.acl
    user = acl.users.get(argv[2])
    if user is None:
        return None
    u = acl.universe
    out = {
        b"flags": SetReply([f.encode() for f in user.flags()]),
        b"passwords": [p.encode() for p in user.passwords],
    }
    out.update(_selector_reply(user.root, u))
    out[b"selectors"] = [_selector_reply(s, u) for s in user.selectors[1:]]
    return out


def _selector_reply(sel, u) -> dict:
    return {
        b"commands": sel.describe_commands(u).encode(),
        b"keys": sel.describe_keys().encode("utf-8", "surrogateescape"),
        b"channels": sel.describe_channels().encode("utf-8", "surrogateescape"),
    }


@command("acl|deluser", -3, _FLAGS, group="server", since="6.0.0",
         complexity="O(1) amortized time considering the typical user.")
def acl_deluser(c, argv):
    """Remove the specified ACL users and the associated rules"""
    if b"default" in argv[2:]:
        raise CommandError("ERR The 'default' user cannot be removed")
    return c.server.acl.deluser(argv[2:])


@command("acl|list", 2, _FLAGS, group="server", since="6.0.0",
         complexity="O(N). Where N is the number of configured users.")
def acl_list(c, argv):
    """List the current ACL rules in ACL config file format"""
    return c.server.acl.describe_all()


@command("acl|users", 2, _FLAGS, group="server", since="6.0.0",
         complexity="O(N). Where N is the number of configured users.")
def acl_users(c, argv):
    """List the username of all the configured ACL rules"""
    return sorted(c.server.acl.users)


@command("acl|whoami", 2, "noscript loading stale", group="server", since="6.0.0",
         complexity="O(1)")
def acl_whoami(c, argv):
    """Return the name of the user associated to the current connection"""
    return c.user


@command("acl|cat", -2, "noscript loading stale", group="server", since="6.0.0",
         complexity="O(1) since the categories and commands are a fixed set.")
def acl_cat(c, argv):
    """List the ACL categories or the commands inside a category"""
    if len(argv) == 2:
        return [x.encode() for x in CATEGORIES]
    if len(argv) > 3:
        raise subcommand_syntax_error(argv)
    cat = _text(argv[2]).lower()
    if cat not in CATEGORIES:
        raise CommandError(f"ERR Unknown category '{_text(argv[2])[:128]}'")
    u = c.server.acl.universe
    return [cmd.name.encode() for cmd in u.walk() if cat in u.categories(cmd)]


@command("acl|genpass", -2, "noscript loading stale", group="server", since="6.0.0",
         complexity="O(N)")
def acl_genpass(c, argv):
    """Generate a pseudorandom secure password to use for ACL users"""
    if len(argv) > 3:
        raise subcommand_syntax_error(argv)
    bits = parse_int(argv[2]) if len(argv) == 3 else 256
    if bits <= 0 or bits > GENPASS_MAX_BITS:
        raise CommandError(
            "ERR ACL GENPASS argument must be the number of bits for the output password, a "
            f"positive number up to {GENPASS_MAX_BITS}")
    chars = (bits + 3) // 4
    return os.urandom((chars + 1) // 2).hex()[:chars].encode()


@command("acl|log", -2, _FLAGS, group="server", since="6.0.0",
         complexity="O(N) with N being the number of entries shown.")
def acl_log(c, argv):
    """List latest events denied because of ACLs in place"""
    if len(argv) > 3:
        raise subcommand_syntax_error(argv)
    acl = c.server.acl
    count = 10
    if len(argv) == 3:
        if argv[2].lower() == b"reset":
            acl.log.reset()
            return OK
        count = max(parse_int(argv[2]), 0)
    now = int(c.server.clock.time() * 1000)
    return [e.reply(now) for e in acl.log.entries[:count]]


@command("acl|dryrun", -4, _FLAGS, group="server", since="7.0.0",
         complexity="O(1).")
def acl_dryrun(c, argv):
    """Returns whether the user can execute the given command without executing the command."""
    from .introspection import lookup_argv

    acl = c.server.acl
    user = acl.users.get(argv[2])
    if user is None:
        raise CommandError(f"ERR User '{_text(argv[2])}' not found")
    full = argv[3:]
    cmd = lookup_argv(full, c.server)
    if cmd is None:
        raise CommandError(f"ERR Command '{_text(argv[3])}' not found")
    n = len(full)
    if (cmd.arity > 0 and cmd.arity != n) or n < -cmd.arity:
        raise CommandError(f"ERR wrong number of arguments for '{cmd.name}' command")
    denied = acl.dryrun(user, cmd, full)
    return OK if denied is None else denied.encode("utf-8", "surrogateescape")


def _aclfile(c) -> str:
    cfg = c.server.config
    if not cfg["aclfile"]:
        raise CommandError(NO_ACL_FILE)
    return aclfile_path(cfg)


@command("acl|load", 2, _FLAGS, group="server", since="6.0.0",
         complexity="O(N). Where N is the number of configured users.")
def acl_load(c, argv):
    """Reload the ACLs from the configured ACL file"""
    errors = load_acl_file(c.server.acl, _aclfile(c))
    if errors is not None:
        raise CommandError(f"ERR {errors}")
    return OK


@command("acl|save", 2, _FLAGS, group="server", since="6.0.0",
         complexity="O(N). Where N is the number of configured users.")
def acl_save(c, argv):
    """Save the current ACL rules in the configured ACL file"""
    if not save_users(c.server.acl, _aclfile(c)):
        raise CommandError(SAVE_FAILED)
    return OK


@command("acl|help", 2, "loading stale", group="server", since="6.0.0", complexity="O(1)")
def acl_help(c, argv):
    """Show helpful text about the different subcommands"""
    return help_reply("ACL", [
        "CAT [<category>]",
        "    List all commands that belong to <category>, or all command categories",
        "    when no category is specified.",
        "DELUSER <username> [<username> ...]",
        "    Delete a list of users.",
        "DRYRUN <username> <command> [<arg> ...]",
        "    Returns whether the user can execute the given command without executing the "
        "command.",
        "GETUSER <username>",
        "    Get the user's details.",
        "GENPASS [<bits>]",
        "    Generate a secure 256-bit user password. The optional `bits` argument can",
        "    be used to specify a different size.",
        "LIST",
        "    Show users details in config file format.",
        "LOAD",
        "    Reload users from the ACL file.",
        "LOG [<count> | RESET]",
        "    Show the ACL log entries.",
        "SAVE",
        "    Save the current config to the ACL file.",
        "SETUSER <username> <attribute> [<attribute> ...]",
        "    Create or modify a user with the specified attributes.",
        "USERS",
        "    List all the registered usernames.",
        "WHOAMI",
        "    Return the current connection username.",
    ])

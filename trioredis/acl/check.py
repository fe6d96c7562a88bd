"""Permission checks of one command against a user's selectors (Redis's ACLCheckAllUserCommandPerm).

A selector allows a command when its name is allowed (or the first argument is, for
``+select|0`` rules), every key the key specs find has a pattern with the read/write rights its
flags need, and every channel published or subscribed to matches a channel pattern (a
PSUBSCRIBE pattern must equal one literally). The user is allowed when any selector allows;
otherwise the error reported is the "largest" one (command < key < channel), at the latest
argument, as Redis picks it.
"""

from __future__ import annotations

from ..errors import CommandError
from ..glob import glob_match
from .rules import READ, WRITE

OK = 0
DENIED_CMD = 1
DENIED_KEY = 2
DENIED_CHANNEL = 3

# getChannelsFromCommand: (first, last or -1, pattern, checked: publish or subscribe)
_CHANNEL_COMMANDS = {
    "subscribe": (1, -1, False, True),
    "ssubscribe": (1, -1, False, True),
    "unsubscribe": (1, -1, False, False),
    "sunsubscribe": (1, -1, False, False),
    "psubscribe": (1, -1, True, True),
    "punsubscribe": (1, -1, True, False),
    "publish": (1, 1, False, True),
    "spublish": (1, 1, False, True),
}

_READ_FLAGS = frozenset({"access"})
_WRITE_FLAGS = frozenset({"insert", "delete", "update"})


def command_keys(cmd, argv: list, server=None) -> list[tuple[int, list]]:
    """(position, key-spec flags) of each key of ``argv`` (getKeysFromCommandWithSpecs); no keys
    when the arguments are malformed, as Redis finds none then."""
    from ..commands.introspection import (
        _getkeys,
        _only_not_keys,
        _spec_flags_at,
        key_specs,
    )
    from ..commands.key_specs import VARIABLE_FLAGS, keys_with_flags

    if cmd.getkeys is None and (cmd.first_key <= 0 or _only_not_keys(cmd)):
        return []
    try:
        _, idx = _getkeys(argv, server)
    except CommandError:
        return []
    specs = key_specs(cmd)
    variable = VARIABLE_FLAGS.get(cmd.name)
    try:
        found = variable(argv) if variable is not None else keys_with_flags(specs, argv)
    except (IndexError, ValueError):
        found = None
    flags_at: dict[int, list] = {}
    for pos, flags in found or ():
        flags_at.setdefault(pos, flags)
    return [(i, flags_at.get(i) or _spec_flags_at(specs, i, cmd)) for i in idx]


def _needs(flags) -> int:
    need = 0
    for f in flags:
        if f in _READ_FLAGS:
            need |= READ
        elif f in _WRITE_FLAGS:
            need |= WRITE
    return need


def key_allowed(sel, key: bytes, flags) -> bool:
    """ACLSelectorCheckKey."""
    if sel.allkeys:
        return True
    need = _needs(flags)
    for pattern, have in sel.patterns:
        if have & need != need:
            continue
        if pattern == b"*" or glob_match(pattern, key):
            return True
    return False


def channel_allowed(channels: list, channel: bytes, is_pattern: bool) -> bool:
    """ACLCheckChannelAgainstList: a PSUBSCRIBE pattern must be listed as is."""
    for pattern in channels:
        if is_pattern:
            if pattern == channel:
                return True
        elif pattern == b"*" or glob_match(pattern, channel):
            return True
    return False


def command_channels(cmd, argv: list) -> list[tuple[int, bool]]:
    """(position, is_pattern) of the channels a publish/subscribe command names."""
    spec = _CHANNEL_COMMANDS.get(cmd.name)
    if spec is None or not spec[3]:
        return []
    first, last, pattern, _ = spec
    end = len(argv) - 1 if last < 0 else min(last, len(argv) - 1)
    return [(i, pattern) for i in range(first, end + 1)]


class _KeyCache:
    __slots__ = ("keys",)

    def __init__(self):
        self.keys = None


def _selector_check(sel, cmd, argv, cache: _KeyCache, server) -> tuple[int, int]:
    """ACLSelectorCheckCmd: (result, argument position)."""
    if not sel.allcommands and not cmd.no_auth and cmd.name not in sel.allowed:
        args = sel.firstargs.get(cmd.name)
        idx = 2 if cmd.parent is not None else 1
        if not args or len(argv) <= idx:
            return DENIED_CMD, 0
        first = argv[idx].lower()
        if not any(a.lower() == first for a in args):
            return DENIED_CMD, 0
    if not sel.allkeys:
        if cache.keys is None:
            cache.keys = command_keys(cmd, argv, server)
        for pos, flags in cache.keys:
            if not key_allowed(sel, argv[pos], flags):
                return DENIED_KEY, pos
    if not sel.allchannels:
        for pos, is_pattern in command_channels(cmd, argv):
            if not channel_allowed(sel.channels, argv[pos], is_pattern):
                return DENIED_CHANNEL, pos
    return OK, 0


def check_command(user, cmd, argv: list, server=None) -> tuple[int, int]:
    """(OK, 0) or the most relevant denial and the position of the key or channel."""
    relevant, last = DENIED_CMD, 0
    cache = _KeyCache()
    for sel in user.selectors:
        result, pos = _selector_check(sel, cmd, argv, cache, server)
        if result == OK:
            return OK, 0
        if result > relevant or (result == relevant and pos > last):
            relevant, last = result, pos
    return relevant, last


def channel_permitted(user, channel: bytes, is_pattern: bool) -> bool:
    """ACLUserCheckChannelPerm."""
    for sel in user.selectors:
        if sel.allchannels or channel_allowed(sel.channels, channel, is_pattern):
            return True
    return False

"""``rename-command old new`` in the config file: the command answers to ``new`` (``""``: to
no name at all), as Redis renames it in its lookup table. ACL rules keep using the original
names (Redis's orig_commands), since they read ``registry.BY_NAME``.

The lookup table is the process's, so renames apply to every server of the process: they are
applied by ``serve()`` for a server started from a config (``trioredis server``), not by
``Server()`` itself.
"""

from __future__ import annotations

from .commands import registry
from .errors import StartupError


def apply_command_renames(config) -> None:
    for words in config.directives.get("rename-command", ()):
        old, new = words[0], words[1] if len(words) > 1 else ""
        key = old.lower().encode("utf-8", "surrogateescape")
        cmd = registry.TABLE.get(key)
        if cmd is None:
            raise StartupError(f"No such command in rename-command: '{old}'")
        registry.TABLE.pop(key, None)
        registry.TABLE.pop(old.upper().encode("utf-8", "surrogateescape"), None)
        if new:
            registry.TABLE[new.lower().encode("utf-8", "surrogateescape")] = cmd
            registry.TABLE[new.upper().encode("utf-8", "surrogateescape")] = cmd

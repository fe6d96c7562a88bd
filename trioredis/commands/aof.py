"""BGREWRITEAOF; the append-only file itself is ``persistence/aof.py``.

Importing this module attaches the AOF state to every new server (``core.SERVER_INIT``).
"""

from __future__ import annotations

from ..errors import CommandError
from ..persistence import aof
from .registry import command


@command("bgrewriteaof", 1, "admin noscript no_async_loading", group="server", since="1.0.0",
         complexity="O(1)")
def bgrewriteaof(c, argv):
    """Asynchronously rewrite the append-only file"""
    state = aof.aof_of(c.server)
    if state.child_pid:
        raise CommandError("ERR Background append only file rewriting already in progress")
    if state.other_child_active() or c.in_exec:
        state.rewrite_scheduled = True
        state.consecutive_failures = 0  # a manual request is not held back by past failures
        return "Background append only file rewriting scheduled"
    if state.rewrite_background():
        return "Background append only file rewriting started"
    raise CommandError("ERR Can't execute an AOF background rewriting. Please check the server "
                       "logs for more information.")

"""What a blocked client waits with: a :class:`Block` record and the STILL_BLOCKED marker.

Sans-I/O: the core registers and serves blocks, the connection (or the gateway) waits on them.
Kept apart from ``core`` so that command modules and the Trio layer can name a Block without
importing the server.
"""

from __future__ import annotations

from collections.abc import Callable


class Block:
    """A client blocked on keys (BLPOP, XREAD BLOCK, ...), waiting to be served in order."""

    __slots__ = ("client", "cmd", "argv", "keys", "db", "timeout", "timeout_reply", "reply",
                 "done", "wakeup", "usec", "orig_argv")

    def __init__(self, client, cmd, argv, keys, timeout, timeout_reply):
        self.client = client
        self.cmd = cmd
        self.argv = argv  # what to run when a key is ready ($ already resolved, ...)
        self.keys = keys
        self.db = client.db
        self.timeout = timeout  # seconds; 0 waits forever
        self.timeout_reply = timeout_reply
        self.reply = None
        self.done = False
        self.wakeup: Callable | None = None  # set by the connection: wakes its task
        self.usec = None  # a handler's block: its run time so far (latency.Timing)
        self.orig_argv = None  # the command as sent, for the slow log


class _StillBlocked:
    __slots__ = ()


STILL_BLOCKED = _StillBlocked()

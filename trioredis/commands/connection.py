"""Connection commands: PING, ECHO, QUIT, SELECT, HELLO, AUTH, RESET, CLIENT ..."""

from __future__ import annotations

from ..protocol.replies import OK, Push
from .args import parse_int
from .registry import command


@command("ping", -1, "fast stale", group="connection", since="1.0.0")
def ping(c, argv):
    """Ping the server."""
    if len(argv) > 2:
        from ..errors import CommandError, wrong_arity

        raise CommandError(wrong_arity("ping"))
    if c.resp == 2 and (c.channels or c.patterns or c.shard_channels):
        return Push([b"pong", argv[1] if len(argv) == 2 else b""])
    if len(argv) == 2:
        return argv[1]
    return "PONG"


@command("echo", 2, "fast stale", group="connection", since="1.0.0")
def echo(c, argv):
    """Echo the given string."""
    return argv[1]


@command("quit", -1, "allow_busy no_auth fast stale loading", group="connection", since="1.0.0")
def quit_(c, argv):
    """Close the connection."""
    c.close_after_reply = True
    return OK


@command("select", 2, "loading stale fast", group="connection", since="1.0.0")
def select(c, argv):
    """Change the selected database for the current connection."""
    from ..errors import INVALID_DB, CommandError

    index = parse_int(argv[1], "ERR value is not an integer or out of range")
    if not 0 <= index < len(c.server.dbs):
        raise CommandError(INVALID_DB)
    c.select(index)
    return OK

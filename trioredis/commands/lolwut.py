"""LOLWUT [VERSION v] [...]: Redis 7.0's computer art, chosen by version as Redis chooses it.

VERSION 5 (and 4.9) draws Georg Nees's "Schotter" in braille; VERSION 6 (and 5.9) draws a
landscape of Plaguemon-style blocks in ANSI colours; any other version, and the default (the
server's own 7.0.15), answers only the version line, as Redis 7.0's ``lolwutUnstableCommand``.
The drawings are in ``lolwut_art.py``.
"""

from __future__ import annotations

from ..protocol.replies import Verbatim
from .args import parse_int
from .connection import REDIS_VERSION
from .lolwut_art import lolwut5, lolwut6
from .registry import BY_NAME, command


@command("lolwut", -1, "readonly fast", group="server", since="5.0.0",
         summary="Display some computer art and the Redis version")
def lolwut(c, argv):
    """Display some computer art and the Redis version"""
    version = REDIS_VERSION.decode()
    args = argv[1:]
    if len(argv) >= 3 and argv[1].lower() == b"version":
        v = parse_int(argv[2])
        version = f"{v & 0xFFFFFFFF}.0.0"  # C's %u of the long
        args = argv[3:]
    if (version[:2] == "5." and version[2:3] != "9") or version[:3] == "4.9":
        return Verbatim(lolwut5(args))
    if (version[:2] == "6." and version[2:3] != "9") or version[:3] == "5.9":
        return Verbatim(lolwut6(args))
    return Verbatim(b"Redis ver. %s\n" % REDIS_VERSION)


BY_NAME["lolwut"].doc_args = [
    {"name": "version", "type": "integer", "token": "VERSION", "flags": ["optional"]}]

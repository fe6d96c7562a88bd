"""READONLY, READWRITE and ASKING on a server without Redis Cluster support: they exist (so ACL
rules and COMMAND can name them, as in Redis) and answer that cluster support is disabled."""

from __future__ import annotations

from ..errors import CommandError
from .registry import command

CLUSTER_DISABLED = "ERR This instance has cluster support disabled"


@command("readonly", 1, "loading stale fast", group="cluster", since="3.0.0",
         complexity="O(1)", summary="Enables read queries for a connection to a cluster replica node")
def readonly(c, argv):
    raise CommandError(CLUSTER_DISABLED)


@command("readwrite", 1, "loading stale fast", group="cluster", since="3.0.0",
         complexity="O(1)",
         summary="Disables read queries for a connection to a cluster replica node")
def readwrite(c, argv):
    raise CommandError(CLUSTER_DISABLED)


@command("asking", 1, "fast", group="cluster", since="3.0.0", complexity="O(1)",
         summary="Sent by cluster clients after an -ASK redirect")
def asking(c, argv):
    raise CommandError(CLUSTER_DISABLED)

"""Command families, one module each; importing this package fills the command table."""

from importlib import import_module

MODULES = (
    "connection",
    "server",
    "keys",
    "strings",
    "bitmaps",
    "lists",
    "hashes",
    "sets",
    "zsets",
    "geo",
    "streams",
    "sort",
    "hyperloglog",
    "transactions",
    "pubsub",
    "persistence",
    "aof",
    "replication",
    "cluster",
    "sentinel",
)

for _name in MODULES:
    import_module(f"{__name__}.{_name}")

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
    "transactions",
    "pubsub",
    "replication",
)

for _name in MODULES:
    import_module(f"{__name__}.{_name}")

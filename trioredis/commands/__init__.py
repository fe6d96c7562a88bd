"""Command families, one module each; importing this package fills the command table."""

# Explicit imports (not a loop over names) so that tools and tests/test_architecture.py see
# every edge of the import graph. Order is registration order.
from . import (  # noqa: F401, I001
    connection,
    client_cmd,
    server,
    config_cmd,
    introspection,
    debug,
    modules,
    lolwut,
    monitoring,
    keys,
    strings,
    bitmaps,
    lists,
    hashes,
    sets,
    zsets,
    geo,
    streams,
    sort,
    hyperloglog,
    transactions,
    pubsub,
    persistence,
    migrate,
    aof,
    replication,
    cluster,
    sentinel,
    scripting,
    functions,
    acl,
    cluster_client,
    rcluster,
)

MODULES = ("connection", "client_cmd", "server", "config_cmd", "introspection", "debug", "modules", "lolwut", "monitoring", "keys", "strings", "bitmaps", "lists", "hashes", "sets", "zsets", "geo", "streams", "sort", "hyperloglog", "transactions", "pubsub", "persistence", "migrate", "aof", "replication", "cluster", "sentinel", "scripting", "functions", "acl", "cluster_client", "rcluster")

"""Persistence: the RDB format (rdb.py and its blobs), snapshots (snapshot.py).

``rdb.dump_bytes(server)`` / ``rdb.load_bytes(server, data)`` serve replication full syncs;
``snapshot`` holds the per-server state behind SAVE, BGSAVE, save points, startup loading and
SHUTDOWN's final save.
"""

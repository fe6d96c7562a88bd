"""Redis Cluster, wire-compatible with Redis 7.0 (``cluster-enabled yes``).

Not to be confused with :mod:`trioredis.cluster`, the HA group of one dataset. Pieces:
:mod:`.bus` (the sans-I/O cluster bus codec), :mod:`.slots` (CRC16 key slots, slot bitmaps,
the per-slot key index). docs/redis-cluster.md describes the design.
"""

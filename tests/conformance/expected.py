"""What the external-mode conformance test expects (tests/conformance/test_redis_suite_external.py).

``REAL_EXTERNAL``: real Redis 7.0.15's ``[ok]`` count for each core unit, run by the same
``redis-suite external`` against Debian's redis-server on this machine (1157 in all).

``KNOWN_FAILURES``: tests that fail here for a reason that has its own issue, by unit and name,
with the reason. The list only shrinks: the test fails when one of them starts passing.
``SKIPPED_HERE``: tests the suite skips here by its own condition (not failures), and why.
``(unit stalled)`` means the unit stopped at a test that waited forever, losing the rest.
"""

REAL_EXTERNAL = {
    "unit/auth": 0,
    "unit/protocol": 19,
    "unit/keyspace": 52,
    "unit/info-command": 3,
    "unit/type/string": 77,
    "unit/type/incr": 23,
    "unit/type/list": 222,
    "unit/type/set": 95,
    "unit/type/zset": 310,
    "unit/type/hash": 72,
    "unit/type/stream": 63,
    "unit/type/stream-cgroups": 48,
    "unit/expire": 60,
    "unit/other": 17,
    "unit/multi": 53,
    "unit/latency-monitor": 13,
    "unit/pubsub": 30,
}

# Tests real Redis runs that the suite itself skips against trioredis, and why (not failures).
SKIPPED_HERE: dict[str, dict[str, str]] = {
    "unit/type/string": {
        "trim on SET with big value": "runs only when INFO's mem_allocator is jemalloc; trioredis "
        "reports libc, the allocator it runs on (CPython's), not Redis's jemalloc",
    },
}

KNOWN_FAILURES: dict[str, dict[str, str]] = {
}

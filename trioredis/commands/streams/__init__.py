"""Stream commands: XADD, XTRIM, XDEL, XLEN, XRANGE, XREVRANGE, XREAD, XREADGROUP, XACK,
XPENDING, XCLAIM, XAUTOCLAIM, XSETID, XGROUP and XINFO, as Redis 7.0.15 answers them.

One module per family:

- ``common``: error texts, stream-ID parsing, lookups, what group commands propagate
- ``entries``: XADD, XTRIM, XDEL, XLEN, XRANGE, XREVRANGE, XSETID
- ``read``: XREAD and XREADGROUP, blocking included
- ``groups``: XACK, XPENDING, XCLAIM, XAUTOCLAIM, XGROUP
- ``info``: XINFO
- ``docs``: COMMAND INFO / COMMAND DOCS data (key specs, arguments, history)

The value class is :class:`~trioredis.datatypes.stream.Stream`. What Redis keeps implicit is
explicit here:

- Only XADD, XDEL, XTRIM and XGROUP CREATE MKSTREAM touch WATCHed keys (signalModifiedKey);
  the other writes count as changes (dirty, keyspace event) without it, as in Redis.
- Blocked XREAD/XREADGROUP clients are re-run by the core when a key they wait on changes.
  Redis wakes them only on XADD, a new or deleted key, and XGROUP DESTROY; the retry argv
  (:class:`.read._Retry`) remembers the stream version per key so other changes (XDEL,
  XSETID...) wake nobody. ``$`` is resolved before blocking.
- XREADGROUP, XCLAIM and XAUTOCLAIM propagate as Redis does: an ``XCLAIM ... FORCE JUSTID
  LASTID`` per delivered entry, ``XGROUP SETID ... ENTRIESREAD`` and ``XGROUP CREATECONSUMER``
  where needed; XADD ``*``/``ms-*`` with the concrete ID and ``~`` trimming made exact.
"""

# Imported for their @command registrations, in registration order (explicit, not a loop, so
# tests/test_architecture.py sees every edge); ``docs`` comes last because it annotates the
# entries the others registered.
from . import entries, read, groups, info, docs  # noqa: F401, I001
from ...datatypes.stream import fmt_id
from .common import parse_id, parse_strict_id

__all__ = ["fmt_id", "parse_id", "parse_strict_id"]

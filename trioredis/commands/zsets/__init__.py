"""Sorted set commands (Redis 7.0 t_zset.c), one module per family; importing this package
registers them all.

- ``common``: score and range-bound parsing (Redis's strtod rules), error texts, and the
  reply/store/notify helpers every family uses (geo.py takes ``parse_score`` from here).
- ``basic``: ZADD, ZINCRBY, ZREM, ZSCORE, ZMSCORE, ZCARD, ZRANK, ZREVRANK, ZSCAN
  (``zadd_generic`` also serves GEOADD).
- ``ranges``: ZCOUNT, ZLEXCOUNT, ZRANGE and its BYSCORE/BYLEX/REV/STORE forms, ZREMRANGEBY*.
- ``pops``: ZPOPMIN/MAX, BZPOPMIN/MAX, ZMPOP, BZMPOP, ZRANDMEMBER.
- ``setops``: ZUNION, ZINTER, ZDIFF, their *STORE forms, ZINTERCARD.
"""

# Explicit imports, for their side effect: each module registers its commands.
from . import basic, ranges, pops, setops  # noqa: F401, I001

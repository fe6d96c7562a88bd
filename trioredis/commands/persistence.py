"""SAVE, BGSAVE and DUMP/RESTORE (LASTSAVE lives with the server commands).

The snapshot machinery is ``persistence/snapshot.py``; the value serialization, shared by the
RDB file and DUMP payloads, is ``persistence/rdb.py``: payloads move between trioredis and a
real Redis in both directions.
"""

from __future__ import annotations

from .. import extensions
from ..errors import SYNTAX, CommandError
from ..keyspace import NOTIFY_GENERIC
from ..persistence import rdb, snapshot
from ..protocol.replies import OK
from .args import parse_int
from .keys import lookup_read
from .registry import command

extensions.SERVER_INIT.append(snapshot.install)

BUSYKEY = "BUSYKEY Target key name already exists."


@command("save", 1, "admin noscript no_async_loading no_multi", group="server", since="1.0.0",
         complexity="O(N) where N is the total number of keys in all databases")
def save(c, argv):
    """Synchronously save the dataset to disk"""
    p = snapshot.state_of(c.server)
    if p.child_pid is not None:
        raise CommandError("ERR Background save already in progress")
    if p.save_now():
        return OK
    raise CommandError("ERR")


@command("bgsave", -1, "admin noscript no_async_loading", group="server", since="1.0.0",
         complexity="O(1)")
def bgsave(c, argv):
    """Asynchronously save the dataset to disk"""
    schedule = False
    if len(argv) > 1:
        if len(argv) == 2 and argv[1].lower() == b"schedule":
            schedule = True
        else:
            raise CommandError(SYNTAX)
    p = snapshot.state_of(c.server)
    if p.child_pid is not None:
        raise CommandError("ERR Background save already in progress")
    if p.child_active() or c.in_exec:
        if schedule or c.in_exec:
            p.scheduled = True
            return "Background saving scheduled"
        raise CommandError(
            "ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE "
            "SCHEDULE in order to schedule a BGSAVE whenever possible."
        )
    if p.bgsave():
        return "Background saving started"
    raise CommandError("ERR")


@command("dump", 2, "readonly", keys=(1, 1, 1), group="generic", since="2.6.0",
         complexity="O(1) to access the key and additional O(N*M) to serialize it, where N is "
         "the number of Redis objects composing the value and M their average size. For small "
         "string values the time complexity is thus O(1)+O(1*M) where M is small, so simply "
         "O(1).")
def dump(c, argv):
    """Return a serialized version of the value stored at the specified key."""
    v = lookup_read(c.db, argv[1])
    if v is None:
        return None
    return rdb.dump_payload(v, rdb.Limits(c.server.config))


def _deep_sanitize(c) -> bool:
    """sanitize-dump-payload: yes always, no never; clients for every client but the master
    link and AOF loading (as Redis; the ACL skip-sanitize-payload flag is not consulted)."""
    mode = c.server.config["sanitize-dump-payload"]
    if mode == "clients":
        return not (c.is_master or c.server.loading)
    return mode == "yes"


@command("restore", -4, "write denyoom", keys=(1, 1, 1), group="generic", since="2.6.0",
         complexity="O(1) to create the new key and additional O(N*M) to reconstruct the "
         "serialized value, where N is the number of Redis objects composing the value and M "
         "their average size. For small string values the time complexity is thus "
         "O(1)+O(1*M) where M is small, so simply O(1). However for sorted set values the "
         "complexity is O(N*M*log(N)) because inserting values into sorted sets is O(log(N)).")
def restore(c, argv):
    """Create a key using the provided serialized value, previously obtained using DUMP."""
    replace = absttl = False
    idle = freq = -1
    n = len(argv)
    j = 4
    while j < n:
        opt = argv[j].lower()
        more = n - j - 1
        if opt == b"replace":
            replace = True
        elif opt == b"absttl":
            absttl = True
        elif opt == b"idletime" and more >= 1 and freq == -1:
            idle = parse_int(argv[j + 1])
            if idle < 0:
                raise CommandError("ERR Invalid IDLETIME value, must be >= 0")
            j += 1
        elif opt == b"freq" and more >= 1 and idle == -1:
            freq = parse_int(argv[j + 1])
            if not 0 <= freq <= 255:
                raise CommandError("ERR Invalid FREQ value, must be >= 0 and <= 255")
            j += 1
        else:
            raise CommandError(SYNTAX)
        j += 1
    db = c.db
    key = argv[1]
    if not replace and db.lookup(key) is not None:
        raise CommandError(BUSYKEY)
    ttl = parse_int(argv[2])
    if ttl < 0:
        raise CommandError("ERR Invalid TTL value, must be >= 0")
    srv = c.server
    try:
        value = rdb.load_payload(argv[3], rdb.Limits(srv.config), srv.now_ms(),
                                 verify_checksum=not srv.skip_checksum_validation,
                                 deep=_deep_sanitize(c))
    except rdb.PayloadError:
        raise CommandError("ERR DUMP payload version or checksum are wrong")
    except rdb.RDBError as e:  # Redis's rdbReportCorruptRDB in a RESTORE: verbose, no exit
        srv.log.verbose(f"Internal error in RDB reading offset {e.offset or 0}, function at "
                        f"rdb_reader -> {e.reason}")
        raise CommandError("ERR Bad data format")
    except (ValueError, TypeError, IndexError, OverflowError):
        raise CommandError("ERR Bad data format")
    deleted = replace and db.delete(key)
    if ttl and not absttl:
        ttl += srv.now_ms()
    if ttl and ttl <= srv.now_ms() and not srv.loading and not srv.is_replica_of_master():
        # Already expired: the key is gone (the old one too, when replaced).
        if deleted:
            db.modified(key, b"del", NOTIFY_GENERIC)
            c.propagate_as = [[b"DEL", key]]
        return OK
    db.add(key, value)
    db.restore_access(key, freq, idle)
    if ttl:
        db.set_expire(key, ttl)
        if not absttl:
            c.propagate_as = [[*argv[:2], b"%d" % ttl, *argv[3:], b"ABSTTL"]]
    db.modified(key, b"restore", NOTIFY_GENERIC)
    return OK

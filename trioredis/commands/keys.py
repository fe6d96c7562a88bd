"""Keyspace commands: DEL, EXISTS, TYPE, KEYS, SCAN, RENAME, COPY, MOVE, EXPIRE & TTL, OBJECT,
DBSIZE, FLUSHDB/FLUSHALL, SWAPDB.

Also the small helpers every data-type module may use: :func:`lookup_read` (a read lookup that
counts keyspace hits/misses and fires ``keymiss`` as Redis's lookupKeyRead does),
:func:`notify` (an event without another dirty++), :func:`object_encoding`.

TTLs are absolute milliseconds (``db.expires``). Relative times are turned into absolute ones
and propagated as ``PEXPIREAT``; a deadline already in the past deletes the key on a master and
is propagated as ``DEL`` (``UNLINK`` with lazyfree-lazy-expire), as Redis does.
"""

from __future__ import annotations

import random
from collections import deque
from itertools import islice

from ..errors import (
    INVALID_DB,
    INVALID_EXPIRE,
    NO_SUCH_KEY,
    NOT_INTEGER,
    SYNTAX,
    CommandError,
)
from ..glob import compile_glob
from ..keyspace import ACCOUNTING, NOTIFY_GENERIC, NOTIFY_KEY_MISS, type_name
from ..lfu import idle_ms, lfu_decayed
from ..protocol.replies import OK
from .args import LLONG_MAX, parse_int, to_int
from .registry import command

SAME_OBJECT = "ERR source and destination objects are the same"
INVALID_CURSOR = "ERR invalid cursor"
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1
_SHARED_REFCOUNT = 2147483647  # Redis's OBJ_SHARED_REFCOUNT (shared integers 0..9999)
_LLONG_MIN_DIV_1000 = -(LLONG_MAX // 1000)  # C's LLONG_MIN / 1000 truncates toward zero


# -- helpers shared with the data-type modules -------------------------------------------------


def lookup_read(db, key: bytes, touch: bool = True):
    """Redis's lookupKeyRead: the live value or None, counting hits/misses and ``keymiss``.
    Records the access (LRU/LFU) unless ``touch`` is false (LOOKUP_NOTOUCH)."""
    v = db.data.get(key)
    if v is not None and db.expires and key in db.expires:
        v = db.peek(key)
    srv = db.server
    if v is None:
        srv.stat_keyspace_misses += 1
        if srv.notify_flags & NOTIFY_KEY_MISS:
            srv.notify(NOTIFY_KEY_MISS, b"keymiss", key, db.id)
    else:
        srv.stat_keyspace_hits += 1
        if touch:
            if srv.lfu_mode:
                db.touch_lfu(key)
            else:
                db.access[key] = srv.lru_clock
    return v


def notify(db, key: bytes, event: bytes, kind: int) -> None:
    """A keyspace event on its own (after :meth:`Database.modified` already counted the change)."""
    srv = db.server
    if kind & srv.notify_flags:
        srv.notify(kind, event, key, db.id)


def parse_db_index(b: bytes, error: str | None = None) -> int:
    """Redis's getIntFromObjectOrReply: a 32-bit integer (``error`` replaces both texts)."""
    v = parse_int(b, error or NOT_INTEGER)
    if not _INT_MIN <= v <= _INT_MAX:
        raise CommandError(
            error or f"ERR value is out of range, value must between {_INT_MIN} and {_INT_MAX}"
        )
    return v


def get_db(c, b: bytes):
    """The Database for a DB index argument (MOVE, COPY ... DB)."""
    idx = parse_db_index(b)
    dbs = c.server.dbs
    if not 0 <= idx < len(dbs):
        raise CommandError(INVALID_DB)
    return dbs[idx]


def copy_value(v):
    """A deep copy as COPY makes it: containers copied, other classes via their ``copy()``."""
    cls = v.__class__
    if cls is bytes:
        return v  # immutable
    if cls is bytearray or cls is deque or cls is dict or cls is set:
        return cls(v)
    return v.copy()


def _is_int_encoded(v: bytes) -> bool:
    return len(v) <= 20 and to_int(v) is not None


def object_encoding(v, config, db=None) -> bytes:
    """The encoding Redis 7.0 reports for ``v``, from its type and size.

    Strings: ``int``/``embstr`` as SET's tryObjectEncoding makes them; a bytearray (a value
    APPEND, SETRANGE or the bit commands changed in place) is ``raw``, as in Redis.
    """
    cls = v.__class__
    if cls is bytes:
        if _is_int_encoded(v):
            return b"int"
        return b"embstr" if len(v) <= 44 else b"raw"
    if cls is bytearray:
        return b"raw"
    if cls is deque:
        return b"quicklist"  # Redis 7.0 lists are always quicklists
    if cls is dict:
        maxlen = config["hash-max-listpack-value"]
        if len(v) <= config["hash-max-listpack-entries"] and all(
            len(f) <= maxlen and len(x) <= maxlen for f, x in v.items()
        ):
            return b"listpack"
        return b"hashtable"
    if cls is set:
        if db is not None and id(v) in db.ht_sets:
            return b"hashtable"
        if len(v) <= config["set-max-intset-entries"] and all(
            m.__class__ is int or to_int(m) is not None for m in v
        ):
            return b"intset"
        return b"hashtable"
    enc = v.object_encoding(config)
    return enc.encode() if isinstance(enc, str) else enc


def delete_now(c, db, key: bytes, lazy_option: str) -> None:
    """Delete an existing key as a command's effect; propagated as DEL or UNLINK."""
    db.delete(key)
    db.modified(key, b"del", NOTIFY_GENERIC)
    verb = b"UNLINK" if c.server.config[lazy_option] else b"DEL"
    c.propagate_as = [[verb, key]]


def already_expired(c, when_ms: int) -> bool:
    """Redis's checkAlreadyExpired: a past deadline deletes, except on replicas and loading."""
    srv = c.server
    return when_ms <= srv.now_ms() and not srv.loading and not srv.is_replica_of_master()


def expire_key_at(c, db, key: bytes, when_ms: int) -> None:
    """Give an existing key an absolute deadline (EXPIRE, GETEX): set it, or delete the key.

    Sets ``c.propagate_as`` to ``PEXPIREAT key ms`` or to ``DEL``/``UNLINK key``.
    """
    if already_expired(c, when_ms):
        delete_now(c, db, key, "lazyfree-lazy-expire")
        return
    db.set_expire(key, when_ms)
    db.modified(key, b"expire", NOTIFY_GENERIC)
    c.propagate_as = [[b"PEXPIREAT", key, b"%d" % when_ms]]


# -- DEL, UNLINK, EXISTS, TYPE, TOUCH ----------------------------------------------------------


def _delete_keys(c, argv, lazy: bool):
    """DEL/UNLINK; ``lazy``: big values go to lazyfree.py (released a slice at a time)."""
    db = c.db
    lazyfree = c.server.lazyfree if lazy else None
    n = 0
    for key in argv[1:]:
        value = db.data.get(key) if lazy else None
        if db.delete(key):
            if lazy:
                lazyfree.free(value)
            db.modified(key, b"del", NOTIFY_GENERIC)
            n += 1
    return n


@command("del", -2, "write", keys=(1, -1, 1), group="generic", since="1.0.0",
         summary="Delete a key")
def del_(c, argv):
    """Delete a key (lazily with lazyfree-lazy-user-del)."""
    return _delete_keys(c, argv, c.server.config["lazyfree-lazy-user-del"])


@command("unlink", -2, "write fast", keys=(1, -1, 1), group="generic", since="4.0.0",
         summary="Delete a key asynchronously in another thread. Otherwise it is just as DEL, "
         "but non blocking.")
def unlink(c, argv):
    """Delete keys; big values are released a slice at a time (lazyfree.py)."""
    return _delete_keys(c, argv, True)


@command("exists", -2, "readonly fast", keys=(1, -1, 1), group="generic", since="1.0.0",
         summary="Determine if a key exists")
def exists(c, argv):
    """Count how many of the keys exist (a key named twice counts twice); no access recorded."""
    db = c.db
    n = 0
    for key in argv[1:]:
        if lookup_read(db, key, False) is not None:
            n += 1
    return n


@command("touch", -2, "readonly fast", keys=(1, -1, 1), group="generic", since="3.2.1",
         summary="Alters the last access time of a key(s). Returns the number of existing keys "
         "specified.")
def touch(c, argv):
    """Record an access to each key (LRU clock / LFU counter); count the existing ones."""
    db = c.db
    n = 0
    for key in argv[1:]:
        if lookup_read(db, key) is not None:
            n += 1
    return n


_TYPE_STATUS: dict = {}


@command("type", 2, "readonly fast", keys=(1, 1, 1), group="generic", since="1.0.0",
         summary="Determine the type stored at key")
def type_(c, argv):
    """The type of the value at key, as a status reply (``none`` when missing)."""
    v = lookup_read(c.db, argv[1], False)
    if v is None:
        return "none"
    name = _TYPE_STATUS.get(v.__class__)
    if name is None:
        name = _TYPE_STATUS[v.__class__] = type_name(v).decode()
    return name


# -- KEYS, SCAN, RANDOMKEY, DBSIZE -------------------------------------------------------------


@command("keys", 2, "readonly", group="generic", since="1.0.0",
         summary="Find all keys matching the given pattern")
def keys_(c, argv):
    """All keys matching a glob pattern (logically expired keys are skipped, not deleted)."""
    db = c.db
    pattern = argv[1]
    if pattern == b"*":
        out = list(db.data)
    else:
        match = compile_glob(pattern)
        out = [k for k in db.data if match(k)]
    expires = db.expires
    if expires and out:
        now = c.server.now_ms()
        out = [k for k in out if (w := expires.get(k)) is None or w > now]
    return out


def parse_cursor(b: bytes) -> int:
    """Redis's parseScanCursorOrReply: C ``strtoul`` with its checks (``-1`` wraps around)."""
    n = len(b)
    end = b.find(b"\0")
    if end >= 0:
        b = b[:end]  # C strings stop at NUL
        n = end
    if n == 0:
        return 0
    i = 0
    neg = False
    if b[0] in b" \t\n\v\f\r":
        raise CommandError(INVALID_CURSOR)
    if b[0] in b"+-":
        neg = b[0] == 45
        i = 1
    digits = b[i:]
    if not digits.isdigit():
        raise CommandError(INVALID_CURSOR)
    v = int(digits)
    if v >= 1 << 64:
        raise CommandError(INVALID_CURSOR)
    return (-v) % (1 << 64) if neg else v


def parse_scan_options(argv: list, start: int, allow_type: bool):
    """MATCH/COUNT(/TYPE) of the SCAN family: (matcher or None, count, type name or None)."""
    match = None
    count = 10
    typ = None
    i = start
    n = len(argv)
    while i < n:
        opt = argv[i].lower()
        if opt == b"count" and i + 1 < n:
            count = parse_int(argv[i + 1])
            if count < 1:
                raise CommandError(SYNTAX)
        elif opt == b"match" and i + 1 < n:
            pat = argv[i + 1]
            match = None if pat == b"*" else compile_glob(pat)
        elif opt == b"type" and allow_type and i + 1 < n:
            typ = argv[i + 1].lower()
        else:
            raise CommandError(SYNTAX)
        i += 2
    return match, count, typ


@command("scan", -2, "readonly", group="generic", since="2.8.0",
         summary="Incrementally iterate the keys space")
def scan(c, argv):
    """One step of a keyspace iteration: [next cursor, keys]."""
    cursor = parse_cursor(argv[1])
    match, count, typ = parse_scan_options(argv, 2, True)
    db = c.db
    nxt, keys = db.scan(cursor, count)
    if match is not None:
        keys = [k for k in keys if match(k)]
    if typ is not None:
        data = db.data
        keys = [k for k in keys if (v := data.get(k)) is not None and type_name(v) == typ]
    return [b"%d" % nxt, keys]


@command("randomkey", 1, "readonly", group="generic", since="1.0.0",
         summary="Return a random key from the keyspace")
def randomkey(c, argv):
    """A random live key, or nil when the db is empty."""
    db = c.db
    data = db.data
    tries = 100
    while data:
        key = next(islice(data, random.randrange(len(data)), None))
        if key not in db.expires:
            return key
        all_volatile = len(data) == len(db.expires)
        if all_volatile and c.server.is_replica_of_master():
            tries -= 1
            if tries == 0:
                return key  # a replica cannot expire keys itself: give up, as Redis does
        if db.lookup(key) is not None:
            return key
    return None


@command("dbsize", 1, "readonly fast", group="server", since="1.0.0",
         summary="Return the number of keys in the selected database")
def dbsize(c, argv):
    """Number of keys in the selected db (keys expired but not yet reclaimed included)."""
    return len(c.db.data)


# -- RENAME, RENAMENX, MOVE, COPY --------------------------------------------------------------


def _rename(c, argv, nx: bool):
    db = c.db
    src, dst = argv[1], argv[2]
    v = db.lookup(src)
    if v is None:
        raise CommandError(NO_SUCH_KEY)
    if src == dst:
        return 0 if nx else OK
    when = db.ttl_ms(src)
    if db.lookup(dst) is not None:
        if nx:
            return 0
        db.delete(dst)
    db.add(dst, v)
    if when is not None:
        db.set_expire(dst, when)
    ht = db.ht_sets.get(id(v))  # deleting the old name forgets the set's encoding: keep it
    db.delete(src)
    if ht is not None:
        db.ht_sets[id(v)] = v
    db.modified(src, b"rename_from", NOTIFY_GENERIC)
    db.modified(dst, b"rename_to", NOTIFY_GENERIC, dirty=0)
    return 1 if nx else OK


@command("rename", 3, "write", keys=(1, 2, 1), group="generic", since="1.0.0",
         summary="Rename a key")
def rename(c, argv):
    """Rename a key (its TTL goes with it), replacing the destination."""
    return _rename(c, argv, False)


@command("renamenx", 3, "write fast", keys=(1, 2, 1), group="generic", since="1.0.0",
         summary="Rename a key, only if the new key does not exist")
def renamenx(c, argv):
    """Rename a key only if the new name is free."""
    return _rename(c, argv, True)


@command("move", 3, "write fast", keys=(1, 1, 1), group="generic", since="1.0.0",
         summary="Move a key to another database")
def move(c, argv):
    """Move a key (with its TTL) to another db, unless it exists there."""
    src = c.db
    dst = get_db(c, argv[2])
    if dst is src:
        raise CommandError(SAME_OBJECT)
    key = argv[1]
    v = src.lookup(key)
    if v is None:
        return 0
    when = src.ttl_ms(key)
    if dst.lookup(key) is not None:
        return 0
    dst.add(key, v)
    if when is not None:
        dst.set_expire(key, when)
    if id(v) in src.ht_sets:
        dst.ht_sets[id(v)] = v
    src.delete(key)
    src.modified(key, b"move_from", NOTIFY_GENERIC)
    dst.modified(key, b"move_to", NOTIFY_GENERIC, dirty=0)
    return 1


@command("copy", -3, "write denyoom", keys=(1, 2, 1), group="generic", since="6.2.0",
         summary="Copy a key")
def copy(c, argv):
    """Copy a value (and its TTL) to another key, maybe in another db."""
    src = dst = c.db
    replace = False
    i = 3
    n = len(argv)
    while i < n:
        opt = argv[i].lower()
        if opt == b"replace":
            replace = True
        elif opt == b"db" and i + 1 < n:
            dst = get_db(c, argv[i + 1])
            i += 1
        else:
            raise CommandError(SYNTAX)
        i += 1
    key, newkey = argv[1], argv[2]
    if src is dst and key == newkey:
        raise CommandError(SAME_OBJECT)
    v = lookup_read(src, key)
    if v is None:
        return 0
    when = src.ttl_ms(key)
    if dst.lookup(newkey) is not None:
        if not replace:
            return 0
        dst.delete(newkey)
    copied = copy_value(v)
    dst.add(newkey, copied)
    if id(v) in src.ht_sets:
        dst.ht_sets[id(copied)] = copied
    if when is not None:
        dst.set_expire(newkey, when)
    dst.modified(newkey, b"copy_to", NOTIFY_GENERIC)
    return 1


# -- EXPIRE family, TTL family, PERSIST --------------------------------------------------------

_EXPIRE_NX, _EXPIRE_XX, _EXPIRE_GT, _EXPIRE_LT = 1, 2, 4, 8
_EXPIRE_OPTS = {b"nx": _EXPIRE_NX, b"xx": _EXPIRE_XX, b"gt": _EXPIRE_GT, b"lt": _EXPIRE_LT}


def _expire_generic(c, argv, base_ms: int, seconds: bool, name: str):
    flags = 0
    for opt in argv[3:]:
        f = _EXPIRE_OPTS.get(opt.lower())
        if f is None:
            raise CommandError("ERR Unsupported option " + opt.decode("utf-8", "replace"))
        flags |= f
    if flags & _EXPIRE_NX and flags & (_EXPIRE_XX | _EXPIRE_GT | _EXPIRE_LT):
        raise CommandError("ERR NX and XX, GT or LT options at the same time are not compatible")
    if flags & _EXPIRE_GT and flags & _EXPIRE_LT:
        raise CommandError("ERR GT and LT options at the same time are not compatible")
    when = parse_int(argv[2])
    if seconds:
        if when > LLONG_MAX // 1000 or when < _LLONG_MIN_DIV_1000:
            raise CommandError(INVALID_EXPIRE.format(name))
        when *= 1000
    if when > LLONG_MAX - base_ms:
        raise CommandError(INVALID_EXPIRE.format(name))
    when += base_ms
    db = c.db
    key = argv[1]
    if db.lookup(key) is None:
        return 0
    if flags:
        current = db.ttl_ms(key)
        if flags & _EXPIRE_NX and current is not None:
            return 0
        if flags & _EXPIRE_XX and current is None:
            return 0
        if flags & _EXPIRE_GT and (current is None or when <= current):
            return 0
        if flags & _EXPIRE_LT and current is not None and when >= current:
            return 0
    expire_key_at(c, db, key, when)
    return 1


@command("expire", -3, "write fast", keys=(1, 1, 1), group="generic", since="1.0.0",
         summary="Set a key's time to live in seconds")
def expire(c, argv):
    """Set a key's time to live in seconds (NX|XX|GT|LT)."""
    return _expire_generic(c, argv, c.server.now_ms(), True, "expire")


@command("pexpire", -3, "write fast", keys=(1, 1, 1), group="generic", since="2.6.0",
         summary="Set a key's time to live in milliseconds")
def pexpire(c, argv):
    """Set a key's time to live in milliseconds (NX|XX|GT|LT)."""
    return _expire_generic(c, argv, c.server.now_ms(), False, "pexpire")


@command("expireat", -3, "write fast", keys=(1, 1, 1), group="generic", since="1.2.0",
         summary="Set the expiration for a key as a UNIX timestamp")
def expireat(c, argv):
    """Set the expiration for a key as a UNIX timestamp (NX|XX|GT|LT)."""
    return _expire_generic(c, argv, 0, True, "expireat")


@command("pexpireat", -3, "write fast", keys=(1, 1, 1), group="generic", since="2.6.0",
         summary="Set the expiration for a key as a UNIX timestamp specified in milliseconds")
def pexpireat(c, argv):
    """Set the expiration for a key as a UNIX timestamp in milliseconds (NX|XX|GT|LT)."""
    return _expire_generic(c, argv, 0, False, "pexpireat")


def _ttl(c, key: bytes, ms: bool, absolute: bool) -> int:
    db = c.db
    if lookup_read(db, key, False) is None:
        return -2
    when = db.ttl_ms(key)
    if when is None:
        return -1
    ttl = when if absolute else when - c.server.now_ms()
    if ttl < 0:
        ttl = 0
    return ttl if ms else (ttl + 500) // 1000


@command("ttl", 2, "readonly fast", keys=(1, 1, 1), group="generic", since="1.0.0",
         summary="Get the time to live for a key in seconds")
def ttl(c, argv):
    """Seconds to live (rounded), -1 without TTL, -2 when missing."""
    return _ttl(c, argv[1], False, False)


@command("pttl", 2, "readonly fast", keys=(1, 1, 1), group="generic", since="2.6.0",
         summary="Get the time to live for a key in milliseconds")
def pttl(c, argv):
    """Milliseconds to live, -1 without TTL, -2 when missing."""
    return _ttl(c, argv[1], True, False)


@command("expiretime", 2, "readonly fast", keys=(1, 1, 1), group="generic", since="7.0.0",
         summary="Get the expiration Unix timestamp for a key")
def expiretime(c, argv):
    """Absolute expiry in seconds, -1 without TTL, -2 when missing."""
    return _ttl(c, argv[1], False, True)


@command("pexpiretime", 2, "readonly fast", keys=(1, 1, 1), group="generic", since="7.0.0",
         summary="Get the expiration Unix timestamp for a key in milliseconds")
def pexpiretime(c, argv):
    """Absolute expiry in milliseconds, -1 without TTL, -2 when missing."""
    return _ttl(c, argv[1], True, True)


@command("persist", 2, "write fast", keys=(1, 1, 1), group="generic", since="2.2.0",
         summary="Remove the expiration from a key")
def persist(c, argv):
    """Remove the TTL of a key: 1 if there was one."""
    db = c.db
    key = argv[1]
    if db.lookup(key) is not None and db.persist(key):
        db.modified(key, b"persist", NOTIFY_GENERIC)
        return 1
    return 0


# -- OBJECT ------------------------------------------------------------------------------------

_OBJECT_HELP = [
    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
    "HELP",
    "    Prints this help.",
]
_POLICY_NOTE = (
    "Please note that when switching between policies at runtime LRU and LFU data will "
    "take some time to adjust."
)


def _lfu_policy(c) -> bool:
    return c.server.config["maxmemory-policy"].endswith("-lfu")


@command("object|help", 2, "loading stale", group="generic", since="6.2.0",
         summary="Show helpful text about the different subcommands")
def object_help(c, argv):
    """OBJECT HELP."""
    return list(_OBJECT_HELP)


@command("object|encoding", 3, "readonly", keys=(2, 2, 1), group="generic", since="2.2.3",
         summary="Inspect the internal encoding of a Redis object")
def object_encoding_cmd(c, argv):
    """The internal representation Redis 7.0 would use for the value."""
    v = lookup_read(c.db, argv[2], False)
    if v is None:
        return None
    return object_encoding(v, c.server.config, c.db)


@command("object|refcount", 3, "readonly", keys=(2, 2, 1), group="generic", since="2.2.3",
         summary="Get the number of references to the value of the key")
def object_refcount(c, argv):
    """1, or Redis's shared-object count for the small integers it shares (0..9999)."""
    v = lookup_read(c.db, argv[2], False)
    if v is None:
        return None
    if v.__class__ is bytes and _is_int_encoded(v) and 0 <= int(v) < 10000:
        cfg = c.server.config
        if not cfg["maxmemory"] or not cfg["maxmemory-policy"].endswith(("-lru", "-lfu")):
            return _SHARED_REFCOUNT
    return 1


@command("object|idletime", 3, "readonly", keys=(2, 2, 1), group="generic", since="2.2.3",
         summary="Get the time since a Redis object was last accessed")
def object_idletime(c, argv):
    """Seconds since the key's last access (its LRU clock); an error under an LFU policy."""
    db = c.db
    if lookup_read(db, argv[2], False) is None:
        return None
    if _lfu_policy(c):
        raise CommandError(
            "ERR An LFU maxmemory policy is selected, idle time not tracked. " + _POLICY_NOTE
        )
    srv = c.server
    return idle_ms(db.access.get(argv[2], srv.lru_clock), srv.lru_clock) // 1000


@command("object|freq", 3, "readonly", keys=(2, 2, 1), group="generic", since="4.0.0",
         summary="Get the logarithmic access frequency counter of a Redis object")
def object_freq(c, argv):
    """The key's LFU counter after decay; an error unless an LFU policy is set."""
    db = c.db
    if lookup_read(db, argv[2], False) is None:
        return None
    if not _lfu_policy(c):
        raise CommandError(
            "ERR An LFU maxmemory policy is not selected, access frequency not tracked. "
            + _POLICY_NOTE
        )
    srv = c.server
    return lfu_decayed(db.access.get(argv[2], 0), srv.lfu_minutes,
                       srv.config["lfu-decay-time"])


# -- FLUSHDB, FLUSHALL, SWAPDB -----------------------------------------------------------------


def _flush_async_arg(c, argv) -> bool:
    """Validate [ASYNC|SYNC]: whether to release lazily (no flag: lazyfree-lazy-user-flush)."""
    if len(argv) == 2 and argv[1].lower() in (b"sync", b"async"):
        return argv[1].lower() == b"async"
    if len(argv) != 1:
        raise CommandError(SYNTAX)
    return c.server.config["lazyfree-lazy-user-flush"]


@command("flushdb", -1, "write", group="server", since="1.0.0",
         summary="Remove all keys from the current database")
def flushdb(c, argv):
    """Remove every key of the selected db."""
    lazy = _flush_async_arg(c, argv)
    db = c.db
    db.touch_all_watched()
    old = (db.data, db.expires)
    n = db.clear()
    if lazy:
        c.server.lazyfree.free_db(*old)
    del old
    db.signal_all_blocking()  # blocked XREADGROUP clients learn their key is gone (7.0)
    c.server.dirty += n or 1  # propagated even when empty, as Redis forces it
    c.server.run_hooks("flushdb", c, db.id)
    return OK


@command("flushall", -1, "write", group="server", since="1.0.0",
         summary="Remove all keys from all databases")
def flushall(c, argv):
    """Remove every key of every db."""
    lazy = _flush_async_arg(c, argv)
    srv = c.server
    old = [(db.data, db.expires) for db in srv.dbs if db.data] if lazy else ()
    srv.dirty += srv.flush_all() + 1
    for data, expires in old:
        srv.lazyfree.free_db(data, expires)
    del old
    srv.run_hooks("flushall", c)
    return OK


@command("swapdb", 3, "write fast", group="server", since="4.0.0",
         summary="Swaps two Redis databases")
def swapdb(c, argv):
    """Swap the contents of two dbs; clients keep their db numbers (so see the other data)."""
    i1 = parse_db_index(argv[1], "ERR invalid first DB index")
    i2 = parse_db_index(argv[2], "ERR invalid second DB index")
    srv = c.server
    dbs = srv.dbs
    if not (0 <= i1 < len(dbs) and 0 <= i2 < len(dbs)):
        raise CommandError(INVALID_DB)
    if i1 != i2:
        a, b = dbs[i1], dbs[i2]
        a.touch_all_watched(b)
        b.touch_all_watched(a)
        for attr in ("data", "expires", "expire_heap", "scan_log", "scan_epoch", "avg_ttl",
                     "replica_expires", "ht_sets", *ACCOUNTING):
            va, vb = getattr(a, attr), getattr(b, attr)
            setattr(a, attr, vb)
            setattr(b, attr, va)
        a.signal_all_blocking()
        b.signal_all_blocking()
    srv.dirty += 1
    return OK

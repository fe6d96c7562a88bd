"""Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH (Redis 7.0 semantics).

Queueing happens in ``core.Server._check`` (every command but EXEC/DISCARD/MULTI/WATCH/QUIT/
RESET is answered +QUEUED; a command refused while queueing flags ``c.multi_error``). EXEC runs
the queue synchronously, so nothing else runs in between: that is the whole isolation story.

WATCH follows 7.0's multi.c: ``Database.modified`` flags watchers (``c.dirty_cas``); a key that
was already logically expired when watched is remembered in ``c.watched_expired``, so its
deletion by expiry is not a change, while a watched live key that expires before EXEC is one.
"""

from __future__ import annotations

from ..errors import EXECABORT, CommandError
from ..protocol.replies import NULL_ARRAY, OK
from .registry import command

_MULTI = [b"MULTI"]
_EXEC = [b"EXEC"]


@command("multi", 1, "noscript loading stale fast allow_busy", group="transactions",
         since="1.2.0", complexity="O(1)")
def multi(c, argv):
    """Mark the start of a transaction block"""
    if c.in_multi:
        raise CommandError("ERR MULTI calls can not be nested")
    c.in_multi = True
    c.update_guard()
    return OK


@command("discard", 1, "noscript loading stale fast allow_busy", group="transactions",
         since="2.0.0", complexity="O(N), when N is the number of queued commands")
def discard(c, argv):
    """Discard all commands issued after MULTI"""
    if not c.in_multi:
        raise CommandError("ERR DISCARD without MULTI")
    c.discard_multi()
    return OK


@command("watch", -2, "noscript loading stale fast allow_busy", keys=(1, -1, 1),
         group="transactions", since="2.2.0", complexity="O(1) for every key.")
def watch(c, argv):
    """Watch the given keys to determine execution of the MULTI/EXEC block"""
    if c.in_multi:
        raise CommandError("ERR WATCH inside MULTI is not allowed")
    if c.dirty_cas:  # already doomed: no point in watching more
        return OK
    db = c.db
    watched = db.watched
    now = None
    for key in argv[1:]:
        clients = watched.get(key)
        if clients is None:
            clients = watched[key] = []
        elif c in clients:
            continue
        clients.append(c)
        c.watched.append((db, key))
        when = db.expires.get(key) if db.expires else None
        if when is not None:
            if now is None:
                now = c.server.now_ms()
            if when <= now and key in db.data:
                if c.watched_expired is None:
                    c.watched_expired = set()
                c.watched_expired.add((db, key))
    return OK


@command("unwatch", 1, "noscript loading stale fast allow_busy", group="transactions",
         since="2.2.0", complexity="O(1)")
def unwatch(c, argv):
    """Forget about all watched keys"""
    c.unwatch_all()
    return OK


def watched_key_expired(c) -> bool:
    """isWatchedKeyExpired: a watched key (alive when watched) has expired since."""
    now = c.server.now_ms()
    skip = c.watched_expired
    for db, key in c.watched:
        if db.expires:
            when = db.expires.get(key)
            if when is not None and when <= now and key in db.data:
                if skip and (db, key) in skip:
                    continue
                return True
    return False


@command("exec", 1, "noscript loading stale skip_slowlog", group="transactions", since="1.2.0",
         complexity="Depends on commands in the transaction")
def exec_(c, argv):
    """Execute all commands issued after MULTI"""
    if not c.in_multi:
        raise CommandError("ERR EXEC without MULTI")
    srv = c.server
    if c.watched and not c.dirty_cas and watched_key_expired(c):
        c.dirty_cas = True
    if c.multi_error:
        c.discard_multi()
        return srv.error_reply(EXECABORT)
    if c.dirty_cas:
        c.discard_multi()
        return NULL_ARRAY
    queue = c.multi_queue
    c.unwatch_all()  # as Redis: unwatch before running, our own writes must not matter
    # Run the queue with time frozen, blocking commands acting non-blocking, and the writes
    # collected so replicas and the AOF get them as one MULTI/EXEC unit.
    saved_deny = c.deny_blocking
    saved_frozen = srv.frozen_ms
    outer_buffer = srv.prop_buffer
    c.deny_blocking = True
    c.in_exec = True
    if not saved_frozen:
        srv.frozen_ms = int(srv.clock.time() * 1000)
    if outer_buffer is None:
        srv.prop_buffer = []
    call = srv.call
    try:
        if c.acl_user is None:
            replies = [call(c, cmd, args) for cmd, args in queue]
        else:  # ACL rules may have changed since the commands were queued
            recheck = srv.acl.recheck_queued
            replies = [recheck(c, cmd, args) or call(c, cmd, args) for cmd, args in queue]
    finally:
        c.in_exec = False
        c.deny_blocking = saved_deny
        srv.frozen_ms = saved_frozen
        c.discard_multi()
        if outer_buffer is None:
            ops = srv.prop_buffer
            srv.prop_buffer = None
            if ops:
                propagate_unit(srv, ops)
                c.woff = srv.master_repl_offset  # WAIT after EXEC waits for the whole unit
    return replies


class ReplOnly(list):
    """An argv collected in ``server.prop_buffer`` that goes to replicas only (PUBLISH)."""

    __slots__ = ()


class AofOnly(list):
    """An argv collected in ``server.prop_buffer`` that goes to the AOF only (a script's
    ``redis.set_repl(redis.REPL_AOF)``): every target but the "propagate_repl" hooks'."""

    __slots__ = ()


def propagate_unit(srv, ops: list) -> None:
    """Send collected writes to the AOF and replicas, wrapped in MULTI/EXEC when several.

    Redis 7.0 (propagatePendingCommands) wraps only when there is more than one op; MULTI takes
    the db of the first op and EXEC the db of the last, so no SELECT lands between them.
    ``ReplOnly`` ops go to the "propagate_repl" hooks (replication) instead of every target.
    """
    targets = srv.propagate_targets
    wrap = len(ops) > 1
    if wrap:
        for target in targets:
            target(ops[0][0], _MULTI)
    for dbid, args in ops:
        if args.__class__ is ReplOnly:
            for fn in srv.hooks.get("propagate_repl", ()):
                fn(dbid, list(args))
            continue
        if args.__class__ is AofOnly:
            repl = srv.hooks.get("propagate_repl", ())
            for target in targets:
                if target not in repl:
                    target(dbid, list(args))
            continue
        for target in targets:
            target(dbid, args)
    if wrap:
        for target in targets:
            target(ops[-1][0], _EXEC)

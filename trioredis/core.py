"""The sans-I/O server: keyspace, clients, and the one ``call()`` path every command takes.

``execute()`` is Redis's ``processCommand``: lookup, arity, the state checks (auth, MULTI
queueing, pub/sub context, read-only replica, ...), then ``call()``. ``call()`` runs the handler
and, for writes that changed something, propagates the command (or the deterministic rewrite the
handler left in ``client.propagate_as``) to the AOF and replicas. Nothing bypasses it.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable

from . import errors
from . import limits as _limits
from .blocking import STILL_BLOCKED, Block
from .client import Client
from .commands import registry
from .config import Config
from .errors import CommandError
from .extensions import SERVER_INIT
from .keyspace import Database
from .latency import FAST_US as _FAST_US
from .latency import record as _record_latency
from .log import Logger
from .protocol.replies import NULL_ARRAY, QUEUED, ErrorReply


class Clock:
    """Wall-clock time for expiry and timestamps. Tests swap in :class:`ManualClock`."""

    def time(self) -> float:
        return time.time()


class ManualClock(Clock):
    def __init__(self, start: float = 1_700_000_000.0):
        self.now = start

    def time(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


_clock_ns = time.perf_counter_ns  # CLOCK_MONOTONIC: one read before and one after a command
_command_named = registry.TABLE.get  # the table is filled in place, never replaced
_EXEC_NAMES = frozenset({"exec", "discard", "multi", "watch", "quit", "reset"})
_PUBSUB_ALLOWED = frozenset(
    {"subscribe", "unsubscribe", "psubscribe", "punsubscribe", "ssubscribe", "sunsubscribe",
     "ping", "quit", "reset"}
)


class Server:
    """All server state that commands touch. Knows nothing of sockets."""

    def __init__(self, config: Config | None = None, clock: Clock | None = None):
        self.config = config or Config()
        self.clock = clock or Clock()
        self.dbs = [Database(self, i) for i in range(self.config["databases"])]
        self.clients: dict[int, Client] = {}
        self._next_id = 0
        self.dirty = 0
        self.frozen_ms = 0  # time frozen during EXEC, as Redis does
        self.cached_ms = int(self.clock.time() * 1000)
        self.ready_keys: list = []
        self.serving_key = None  # the ready key serve_ready_keys is retrying clients for
        self.notify_flags = 0
        self.propagate_targets: list[Callable] = []  # fn(dbid, argv) for AOF, replication
        self.prop_buffer: list | None = None  # inside EXEC: collected, wrapped in MULTI/EXEC
        # Run by a connection right before it sends replies (the AOF writes, and with
        # appendfsync always syncs, what they acknowledge); may return an awaitable.
        self.before_flush: Callable | None = None
        self.flusher = None  # connection.Flusher: batched out-of-band writes (set by serve())
        self.guard = False  # a server-wide state needs the checks (replica, loading, ...)
        self.loading = False
        self.role = "master"
        self.master_link = None  # set by replication when we follow a master
        self.replid = os.urandom(20).hex()
        self.replid2 = "0" * 40
        self.master_repl_offset = 0
        self.second_repl_offset = -1
        self.start_time = time.time()
        self.start_monotonic = time.monotonic()
        self.lastsave = int(time.time())
        self.run_id = os.urandom(20).hex()
        self.shutdown_requested: Callable | None = None
        self.hooks: dict[str, list[Callable]] = {}
        self.write_barrier: Callable | None = None  # fn(client, cmd) -> error text or None
        # CLIENT PAUSE: fn(client, cmd, argv) -> a Block that holds the client, or None.
        self.client_pause: Callable | None = None
        # A script past busy-reply-threshold: fn(client, cmd, argv) -> -BUSY text or None.
        self.busy_script: Callable | None = None
        self.monitors: list = []  # MONITOR clients, fed through the "monitor" hooks by call()
        self.current_client: Client | None = None  # whose command runs (set by the connection)
        self.tracking = None  # tracking.Tracking, made by the first CLIENT TRACKING ON
        self.expire_paused = False  # CLIENT PAUSE: keys expire logically, deleted afterwards
        self.acl = None  # acl.Acl (users, the permission check), set by SERVER_INIT
        # Redis Cluster (rcluster/): fn(client, cmd, argv) -> -MOVED/-ASK/... text or None;
        # set only when cluster-enabled, so the plain command path never calls it.
        self.cluster_route: Callable | None = None
        # statistics
        self.stat_numcommands = 0
        self.stat_numconnections = 0
        self.stat_rejected_conn = 0
        self.stat_expired_keys = 0
        self.stat_evicted_keys = 0
        self.stat_keyspace_hits = 0
        self.stat_keyspace_misses = 0
        self.stat_net_input_bytes = 0
        self.stat_net_output_bytes = 0
        self.stat_unexpected_error_replies = 0
        self.stat_total_error_replies = 0
        self.error_counts: dict[str, int] = {}
        self.log = Logger(self.config["loglevel"], self.config["logfile"])
        self.runner = None  # the Trio ServerRunner, set by serve()
        self.config.on_change("notify-keyspace-events", self._notify_changed)
        self._notify_changed(self.config["notify-keyspace-events"], None)
        self.config.on_change("min-replicas-to-write", lambda v, old: self.update_guard())
        for init in SERVER_INIT:
            init(self)
        self.update_guard()

    # -- time --------------------------------------------------------------------------------

    def update_cached_time(self) -> None:
        """Redis's server.mstime cache, refreshed by the cron: for timestamps that need no
        more than its resolution (client idle times)."""
        self.cached_ms = int(self.clock.time() * 1000)

    def now_ms(self) -> int:
        return self.frozen_ms or int(self.clock.time() * 1000)

    def next_client_id(self) -> int:
        self._next_id += 1
        return self._next_id

    # -- clients -----------------------------------------------------------------------------

    def new_client(self, addr: str = "", laddr: str = "", fd: int = -1) -> Client:
        c = Client(self, addr, laddr, fd)
        if self.acl is not None:
            self.acl.attach(c)  # the default user; authenticated if it needs no password
        self.clients[c.id] = c
        self.stat_numconnections += 1
        return c

    def free_client(self, c: Client) -> None:
        """Forget every trace of ``c``: blocking, watches, subscriptions, the client list."""
        if c.blocked is not None:
            self.unblock(c.blocked)
        c.unwatch_all()
        self.run_hooks("client_freed", c)
        self.clients.pop(c.id, None)

    def add_hook(self, name: str, fn: Callable) -> None:
        self.hooks.setdefault(name, []).append(fn)

    def run_hooks(self, name: str, *args) -> None:
        for fn in self.hooks.get(name, ()):
            fn(*args)

    def is_replica_of_master(self) -> bool:
        return self.role == "slave"

    def update_guard(self) -> None:
        self.guard = bool(
            self.loading
            or self.role == "slave"
            or self.write_barrier is not None
            or self.client_pause is not None
            or self.busy_script is not None
            or self.config["min-replicas-to-write"]
            or self.config["maxmemory"]
            or self.cluster_route is not None
            or self.config["maxmemory-clients"]
        )

    # -- the command path --------------------------------------------------------------------

    def execute(self, c: Client, argv: list):
        """Run one request from client ``c``: Redis's processCommand. Returns the reply."""
        self.stat_numcommands += 1
        cmd = _command_named(argv[0])
        if cmd is None:
            cmd = _command_named(argv[0].lower())
            if cmd is None:
                if argv[0].lower() in _limits.CROSS_PROTOCOL:  # an HTTP client: close it
                    return _limits.cross_protocol_request(self, c)
                return self._reject(c, errors.unknown_command(argv[0], argv[1:]))
        if cmd.subcommands is not None and (len(argv) > 1 or cmd.proc is None):
            # (A container with a handler of its own, like COMMAND, runs it without arguments.)
            if cmd.available is not None and not cmd.available(self):
                return self._reject(c, errors.unknown_command(argv[0], argv[1:]))
            if len(argv) < 2:
                return self._reject(c, errors.wrong_arity(cmd.name), cmd)
            sub = cmd.subcommands.get(argv[1]) or cmd.subcommands.get(argv[1].lower())
            if sub is None:
                return self._reject(c, errors.unknown_subcommand(argv[1], cmd.name), cmd)
            cmd = sub
        c.last_cmd = cmd
        arity = cmd.arity
        if (arity > 0 and len(argv) != arity) or len(argv) < -arity:
            return self._reject(c, errors.wrong_arity(cmd.name), cmd)
        if c.guard or self.guard:
            refused = self._check(c, cmd, argv)
            if refused is not None:
                return refused
        # call(), inlined: this runs for every request.
        dirty = self.dirty
        t = _clock_ns()
        try:
            reply = cmd.proc(c, argv)
        except Exception as e:
            reply = self._failed(cmd, argv, e)
        t = (_clock_ns() - t) // 1000  # microseconds, as Redis's call() measures
        if reply.__class__ is Block:
            self.timing.blocked(cmd, reply, argv, t)
        else:
            cmd.calls += 1
            cmd.usec += t
            if reply.__class__ is ErrorReply:
                cmd.failed_calls += 1
            if self.latency_tracking:
                h = cmd.latency_hist
                if h is not None and t < _FAST_US:
                    h[t] += 1
                else:
                    _record_latency(cmd, t)
            if t >= self.slow_usec:  # the slow log's or the latency monitor's threshold
                self.timing.slow(c, cmd, argv, t)
        if cmd.readonly and self.tracking is not None:  # CLIENT TRACKING: keys now cached
            self.tracking.after_read(c, cmd, argv)
        if self.monitors or (self.dirty != dirty and self.propagate_targets):
            self._after_call(c, cmd, argv, dirty)
        c.propagate_as = None
        if self.ready_keys:
            self.serve_ready_keys()
        return reply

    def _reject(self, c: Client, message: str, cmd=None):
        if c.in_multi:
            c.multi_error = True
        if cmd is not None:
            cmd.rejected_calls += 1
            if cmd.name == "exec":
                # Redis's execCommandAbort: a refused EXEC ends the transaction and says why.
                c.discard_multi()
                if message.startswith("ERR "):
                    message = message[4:]
                message = "EXECABORT Transaction discarded because of: " + message
        return self.error_reply(message)

    def error_reply(self, message: str) -> ErrorReply:
        self.stat_total_error_replies += 1
        code = message.split(" ", 1)[0]
        self.error_counts[code] = self.error_counts.get(code, 0) + 1
        return ErrorReply(message)

    def _check(self, c: Client, cmd, argv):
        """The state checks of processCommand, in Redis's order. Returns a reply to refuse."""
        name = cmd.name
        write = cmd.write
        may_replicate = cmd.may_replicate and name != "ping"
        deny_stale = not cmd.stale
        deny_loading = not cmd.loading
        if cmd.flags_of is not None:  # a script's declared flags decide (getCommandFlags)
            flags = cmd.flags_of(self, argv)
            write = "write" in flags
            may_replicate = "may_replicate" in flags
            deny_stale = "stale" not in flags
        if name == "exec" and c.multi_queue:
            # EXEC is checked with the flags of what it will run (a replica that became
            # read-only since MULTI refuses it, ...), as processCommand does in Redis 7.0.
            for queued, qargv in c.multi_queue:
                if queued.flags_of is not None:  # a script's flags (getCommandFlags)
                    qflags = queued.flags_of(self, qargv)
                    write = write or "write" in qflags
                    may_replicate = may_replicate or "may_replicate" in qflags
                    deny_stale = deny_stale or "stale" not in qflags
                    deny_loading = deny_loading or not queued.loading
                    continue
                write = write or queued.write
                may_replicate = may_replicate or queued.may_replicate
                deny_stale = deny_stale or not queued.stale
                deny_loading = deny_loading or not queued.loading
        if not c.authenticated and not cmd.no_auth:
            return self._reject(c, errors.NOAUTH, cmd)
        if c.in_multi and "no_multi" in cmd.flags:
            return self._reject(c, "ERR Command not allowed inside a transaction", cmd)
        if c.acl_user is not None:  # a user whose permissions need checking (acl/)
            denied = self.acl.check(c, cmd, argv)
            if denied is not None:
                return self._reject(c, denied, cmd)
        if self.cluster_route is not None:
            moved = self.cluster_route(c, cmd, argv)
            if moved is not None:
                if name == "exec":  # Redis discards the transaction and redirects plainly
                    c.discard_multi()
                    cmd.rejected_calls += 1
                    return self.error_reply(moved)
                return self._reject(c, moved, cmd)
        if self.config["maxmemory"] or self.config["maxmemory-clients"]:
            refused = self.oom_check(self, c, cmd)  # eviction.py: evictClients, performEvictions
            if refused:
                return self._reject(c, refused, cmd)
        if write or may_replicate:
            if self.write_barrier is not None and not c.is_master:
                refused = self.write_barrier(c, cmd)
                if refused:
                    return self._reject(c, refused, cmd)
            if (
                self.config["min-replicas-to-write"]
                and self.role == "master"
                and write
                and self.good_replicas() < self.config["min-replicas-to-write"]
            ):
                return self._reject(c, errors.NOREPLICAS, cmd)
            if (
                self.role == "slave"
                and write
                and not c.is_master
                and self.config["replica-read-only"]
            ):
                return self._reject(c, errors.READONLY, cmd)
        if (
            c.resp == 2
            and (c.channels or c.patterns or c.shard_channels)
            and name not in _PUBSUB_ALLOWED
        ):
            return self._reject(
                c,
                f"ERR Can't execute '{name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / "
                "QUIT / RESET are allowed in this context",
                cmd,
            )
        if (
            self.role == "slave"
            and not c.is_master
            and not self.config["replica-serve-stale-data"]
            and deny_stale
            and self.master_link is not None
            and not self.master_link.is_up()
        ):
            return self._reject(
                c,
                "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
                cmd,
            )
        if self.loading and deny_loading:
            return self._reject(c, "LOADING Redis is loading the dataset in memory", cmd)
        if self.busy_script is not None:
            busy = self.busy_script(c, cmd, argv)
            if busy is not None:
                return self._reject(c, busy, cmd)
        if self.client_pause is not None and not (c.is_replica or c.is_master):
            held = self.client_pause(c, cmd, argv)
            if held is not None:
                return held
        if c.in_multi and (cmd.parent or cmd).name not in _EXEC_NAMES:
            if not (c.multi_error or c.dirty_cas):  # a doomed transaction keeps nothing
                c.multi_queue.append((cmd, argv))
            return QUEUED
        return None

    def good_replicas(self) -> int:
        """Replicas with a fresh enough ACK (min-replicas-max-lag); replication overrides."""
        fn = self.hooks.get("good_replicas")
        return fn[0]() if fn else 0

    def call(self, c: Client, cmd, argv):
        """Run ``cmd`` for ``c`` and propagate it: Redis's call() (``execute`` inlines it)."""
        dirty = self.dirty
        t = _clock_ns()
        try:
            reply = cmd.proc(c, argv)
        except Exception as e:
            reply = self._failed(cmd, argv, e)
        t = (_clock_ns() - t) // 1000
        if c.retrying:  # a key is serving a blocked client: finish_block counts the call
            if reply is not STILL_BLOCKED and c.blocked is not None:
                self.timing.served(c.blocked, t)
        elif reply.__class__ is Block:
            self.timing.blocked(cmd, reply, argv, t)
        else:
            cmd.calls += 1
            cmd.usec += t
            if reply.__class__ is ErrorReply:
                cmd.failed_calls += 1
            if self.latency_tracking:
                _record_latency(cmd, t)
            if t >= self.slow_usec:
                self.timing.slow(c, cmd, argv, t)
        if cmd.readonly and self.tracking is not None:
            self.tracking.after_read(c, cmd, argv)
        if self.monitors or (self.dirty != dirty and self.propagate_targets):
            self._after_call(c, cmd, argv, dirty)
        c.propagate_as = None
        return reply

    def _failed(self, cmd, argv, e: Exception) -> ErrorReply:
        """The error reply of a handler that raised; a bug must not take the server down."""
        if isinstance(e, CommandError):
            return self.error_reply(e.message)
        self.stat_unexpected_error_replies += 1
        self.run_hooks("internal_error", cmd, argv, e)
        return self.error_reply(f"ERR internal error in '{cmd.name}': {type(e).__name__}")

    def _after_call(self, c: Client, cmd, argv, dirty: int) -> None:
        """MONITOR feeds, and propagation of a command that changed the dataset."""
        if self.monitors and not c.retrying:
            self.run_hooks("monitor", c, cmd, argv)
        if self.dirty != dirty and self.propagate_targets and (cmd.write or cmd.may_replicate):
            also = c.propagate_as
            if also is None:
                self.propagate(c.db.id, argv)
            else:
                for a in also:
                    self.propagate(c.db.id, a)
            c.woff = self.master_repl_offset  # what WAIT waits for

    # -- propagation -------------------------------------------------------------------------

    def propagate(self, dbid: int, argv: list) -> None:
        """Send a write to the AOF and replicas (collected while an EXEC runs)."""
        if self.prop_buffer is not None:
            self.prop_buffer.append((dbid, argv))
            return
        for target in self.propagate_targets:
            target(dbid, argv)

    def propagate_now(self, dbid: int, argv: list) -> None:
        """Propagate at once, even inside EXEC (expired-key DELs happen out of band)."""
        if self.prop_buffer is not None:
            self.prop_buffer.append((dbid, argv))
            return
        for target in self.propagate_targets:
            target(dbid, argv)

    # -- blocking ----------------------------------------------------------------------------

    def block(self, c: Client, keys: list, timeout: float, timeout_reply, argv=None):
        """Called by a blocking handler that found nothing: returns what to reply.

        Inside MULTI/EXEC (or Lua) the command acts non-blocking and gets ``timeout_reply``.
        When a ready key re-runs the handler, this returns STILL_BLOCKED instead.
        """
        if c.retrying:
            return STILL_BLOCKED
        if c.deny_blocking or c.in_exec or c.is_master:
            return timeout_reply
        cmd = registry.lookup(argv[0]) if argv is not None else None
        return Block(c, cmd, argv, keys, timeout, timeout_reply)

    def register_block(self, blk: Block, cmd, argv) -> None:
        """Start waiting: called by the connection with the Block the handler returned."""
        if blk.cmd is None:
            blk.cmd = cmd
        if blk.argv is None:
            blk.argv = argv
        c = blk.client
        c.blocked = blk
        for key in blk.keys:
            q = blk.db.blocking.get(key)
            if q is None:
                q = blk.db.blocking[key] = deque()
            q.append(blk)

    def unblock(self, blk: Block) -> None:
        """Stop waiting (served, timed out, or the client left)."""
        for key in blk.keys:
            q = blk.db.blocking.get(key)
            if q is not None:
                try:
                    q.remove(blk)
                except ValueError:
                    pass
                if not q:
                    del blk.db.blocking[key]
        if blk.client.blocked is blk:
            blk.client.blocked = None

    def serve_ready_keys(self) -> None:
        """Serve clients blocked on keys that changed, first come first served per key.

        Runs after each top-level command (after the whole EXEC for transactions), so a key
        pushed and popped within one EXEC wakes nobody.
        """
        while self.ready_keys:
            ready, self.ready_keys = self.ready_keys, []
            seen = set()
            for db, key in ready:
                if (db.id, key) in seen:
                    continue
                seen.add((db.id, key))
                q = db.blocking.get(key)
                if not q:
                    continue
                self.serving_key = key
                for blk in list(q):
                    if blk.done:
                        continue
                    reply = self._retry(blk)
                    if reply is STILL_BLOCKED:
                        continue
                    self.finish_block(blk, reply, served=True)
                self.serving_key = None

    def _retry(self, blk: Block):
        c = blk.client
        saved_db = c.db
        c.db = blk.db
        c.retrying = True
        current, self.current_client = self.current_client, c  # its writes are its own
        try:
            # One call per command, counted when it first ran and blocked, as Redis 7.0 does;
            # call() adds the retry's time and finish_block the rest (latency.Timing.unblocked).
            return self.call(c, blk.cmd, blk.argv)
        finally:
            c.retrying = False
            c.db = saved_db
            self.current_client = current

    def finish_block(self, blk: Block, reply, served: bool = False) -> None:
        """End a block with ``reply`` (``served``: a ready key's retry gave it)."""
        blk.done = True
        blk.reply = reply
        if blk.usec is not None:  # a handler's block (not a CLIENT PAUSE hold)
            self.timing.unblocked(blk, reply, served)
        self.unblock(blk)
        if blk.wakeup is not None:
            blk.wakeup()

    # -- keyspace notifications (pub/sub module fills in publishing) -------------------------

    def _notify_changed(self, value, old) -> None:
        from .notify import parse_notify_flags

        self.notify_flags = parse_notify_flags(value)

    def notify(self, kind: int, event: bytes, key: bytes, dbid: int) -> None:
        from .notify import notify_keyspace_event

        notify_keyspace_event(self, kind, event, key, dbid)

    def publish(self, channel: bytes, message: bytes) -> int:
        """Deliver to subscribers; replaced by the pub/sub hub (see pubsub.py)."""
        hub = self.hooks.get("publish")
        return hub[0](channel, message) if hub else 0

    # -- misc --------------------------------------------------------------------------------

    def flush_all(self) -> int:
        n = 0
        for db in self.dbs:
            db.touch_all_watched()
            n += db.clear()
            db.signal_all_blocking()  # blocked XREADGROUP clients learn their key is gone
        return n


NULL = NULL_ARRAY

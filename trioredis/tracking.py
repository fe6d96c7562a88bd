"""Client-side caching (CLIENT TRACKING): who may have cached which key, and the invalidations.

Redis 7.0's ``tracking.c``, sans-I/O. One :class:`Tracking` per server (``server.tracking``),
made when a client first enables tracking (until then ``Database.modified`` costs one ``is
None`` test). It keeps:

- the tracking table: key -> ids of the clients that read it in default mode (one table for
  every db, as Redis's). A change to a tracked key sends ``invalidate [key]`` to each of them
  once and forgets the key; ``tracking-table-max-keys`` bounds the table (the oldest keys are
  invalidated first, with Redis's growing effort per call);
- the prefix table of BCAST mode: prefix -> the clients listening and the keys changed since
  the last broadcast. Broadcasts go out once per turn of the event loop (Redis's beforeSleep),
  one message per prefix, the keys in lexicographic order; NOLOOP clients do not hear of keys
  they changed themselves.

A RESP3 client gets ``>2 invalidate [keys]``; with REDIRECT the message goes to the other
client, as a RESP3 push or, for a RESP2 client in Pub/Sub mode, as a ``message`` of the
``__redis__:invalidate`` channel. An invalidation aimed at the client whose command is running
waits in its ``pending`` list until that command's reply has been queued (the connection calls
:func:`after_command`), so it never lands inside a reply (EXEC, MGET).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .protocol.replies import Push, Raw

if TYPE_CHECKING:
    from .client import Client
    from .core import Server

INVALIDATE = b"invalidate"
CHANNEL = b"__redis__:invalidate"
REDIR_BROKEN = b"tracking-redir-broken"
_NULL_RAW = {2: Raw(b"$-1\r\n"), 3: Raw(b"_\r\n")}
_FLUSH = object()  # a pending "everything is invalid" (FLUSHDB/FLUSHALL)
_RO_SCRIPTS = frozenset({"eval_ro", "evalsha_ro", "fcall_ro"})
_SCRIPTS = frozenset({"eval", "evalsha", "fcall"}) | _RO_SCRIPTS
EFFORT = 100  # keys invalidated per over-limit call, times the calls still over the limit


class TrackingState:
    """One client's CLIENT TRACKING options (kept after OFF, reset by the next ON)."""

    __slots__ = ("redirect", "bcast", "optin", "optout", "noloop", "caching", "broken",
                 "prefixes", "pending")

    def __init__(self):
        self.redirect = 0
        self.bcast = self.optin = self.optout = self.noloop = False
        self.caching = False  # CLIENT CACHING yes (OPTIN) / no (OPTOUT) for the next command
        self.broken = False  # the REDIRECT client went away
        self.prefixes: set[bytes] = set()
        self.pending: list = []  # invalidations for this client held until its reply is out

    def flags(self, on: bool) -> list[bytes]:
        """CLIENT TRACKINGINFO's flags, in Redis's order."""
        out = [b"on" if on else b"off"]
        if self.bcast:
            out.append(b"bcast")
        if self.optin:
            out.append(b"optin")
            if self.caching:
                out.append(b"caching-yes")
        if self.optout:
            out.append(b"optout")
            if self.caching:
                out.append(b"caching-no")
        if self.noloop:
            out.append(b"noloop")
        if self.broken:
            out.append(b"broken_redirect")
        return out


class Bcast:
    """One BCAST prefix: its clients and the keys changed since the last broadcast (each with
    the client that changed it last, None for expiry and eviction)."""

    __slots__ = ("clients", "keys")

    def __init__(self):
        self.clients: dict = {}
        self.keys: dict[bytes, object] = {}


class Tracking:
    """The tracking and prefix tables of one server."""

    def __init__(self, server: Server):
        self.server = server
        self.table: dict[bytes, dict[int, None]] = {}
        self.items = 0  # client ids over all keys of the table (INFO tracking_total_items)
        self.prefixes: dict[bytes, Bcast] = {}
        self.clients = 0  # clients with tracking on
        self.over_limit_calls = 0
        self.broadcast_due = False  # BCAST keys wait to be sent
        self.timer_set = False

    # -- enabling -------------------------------------------------------------------------

    def enable(self, c: Client, redirect: int, bcast: bool, optin: bool, optout: bool,
               noloop: bool, prefixes: list[bytes]) -> None:
        st = c.tracking_state
        if st is None:
            st = c.tracking_state = TrackingState()
        if not c.tracking:
            self.clients += 1
            c.tracking = True
        st.broken = False
        st.redirect = redirect
        st.optin, st.optout, st.noloop = optin, optout, noloop
        st.bcast = bcast
        if bcast:
            for p in prefixes or [b""]:
                if p not in st.prefixes:
                    st.prefixes.add(p)
                    b = self.prefixes.get(p)
                    if b is None:
                        b = self.prefixes[p] = Bcast()
                    b.clients[c] = None

    def disable(self, c: Client) -> None:
        st = c.tracking_state
        if st is None:
            return
        if st.bcast:
            for p in st.prefixes:
                b = self.prefixes.get(p)
                if b is not None:
                    b.clients.pop(c, None)
                    if not b.clients:
                        del self.prefixes[p]
            st.prefixes = set()
        if c.tracking:
            self.clients -= 1
            c.tracking = False
            st.broken = st.bcast = st.optin = st.optout = st.caching = st.noloop = False

    # -- reads ----------------------------------------------------------------------------

    def after_read(self, c: Client, cmd, argv: list) -> None:
        """A read-only command ran (``Server.call``). A script's reads make its caller track
        the keys the script declared; a read-only script itself tracks nothing (only what it
        reads), as Redis 7.0's call() does."""
        if c.tracking:
            if cmd.name not in _RO_SCRIPTS:
                self.remember(c, cmd, argv)
            return
        caller = self.server.current_client
        if caller is not None and caller is not c and caller.tracking:
            caller_argv = getattr(caller.conn, "argv", None)
            last = caller.last_cmd
            if caller_argv and getattr(last, "name", None) in _SCRIPTS:
                self.remember(caller, last, caller_argv)

    def remember(self, c: Client, cmd, argv: list) -> None:
        """After a read-only command of ``c`` (default mode): it may cache those keys now."""
        st = c.tracking_state
        if st.bcast or (st.optin and not st.caching) or (st.optout and st.caching):
            return
        if "pubsub" in cmd.flags:  # shard channels are keys for COMMAND, not cached values
            return
        table = self.table
        cid = c.id
        for i in cmd.key_indexes(argv):
            if i >= len(argv):
                continue
            key = argv[i]
            ids = table.get(key)
            if ids is None:
                ids = table[key] = {}
            if cid not in ids:
                ids[cid] = None
                self.items += 1

    # -- writes ---------------------------------------------------------------------------

    def key_modified(self, key: bytes, event: bytes | None) -> None:
        """``Database.modified``: by the running client, or by nobody (expiry, eviction)."""
        if event == b"evicted":  # before the command runs (performEvictions): sent at once
            self.invalidate(None, key, True, hold=False)
            return
        by = None if event == b"expired" else self.server.current_client
        self.invalidate(by, key, True)

    def invalidate(self, by, key: bytes, bcast: bool, hold: bool = True) -> None:
        """Redis's trackingInvalidateKey: ``by`` is the client that changed the key; what is
        for the client whose command runs waits for its reply (unless ``hold`` is False)."""
        if bcast and self.prefixes:
            self._remember_for_broadcast(by, key)
        ids = self.table.pop(key, None)
        if ids is None:
            return
        self.items -= len(ids)
        srv = self.server
        clients = srv.clients
        current = srv.current_client  # (Redis compares with it, not with ``by``, here)
        for cid in ids:
            target = clients.get(cid)
            if target is None or not target.tracking:
                continue
            st = target.tracking_state
            if st.bcast:  # keys read before switching to BCAST are not reported
                continue
            if target is current:
                if st.noloop:
                    continue
                if hold:
                    st.pending.append(key)  # after the reply of the command that runs
                    continue
            self.send(target, [key])

    def flushed(self, c=None, *_args) -> None:
        """FLUSHDB/FLUSHALL: every tracking client hears "everything", the table is emptied."""
        by = self.server.current_client
        for target in list(self.server.clients.values()):
            if target.tracking:
                if target is by:
                    target.tracking_state.pending.append(_FLUSH)
                else:
                    self.send(target, None)
        self.table = {}
        self.items = 0

    # -- sending --------------------------------------------------------------------------

    def send(self, c: Client, keys) -> None:
        """Redis's sendTrackingMessage: ``keys`` (a list) or None ("flush everything")."""
        st = c.tracking_state
        target = c
        redirected = False
        if st.redirect:
            target = self.server.clients.get(st.redirect)
            if target is None:
                st.broken = True
                if c.resp == 3:
                    c.push(Push([REDIR_BROKEN, st.redirect]))
                return
            redirected = True
        if keys is None and target.resp != c.resp:
            keys = _NULL_RAW[c.resp]  # Redis writes the tracking client's null as it is
        if target.resp == 3:
            target.push(Push([INVALIDATE, keys]))
        elif redirected and (target.channels or target.patterns or target.shard_channels):
            target.push(Push([b"message", CHANNEL, keys]))

    def after_command(self, c: Client) -> None:
        """The connection, once a command's reply is queued: held invalidations go out, and
        CLIENT CACHING lasts for one command (or one transaction)."""
        st = c.tracking_state
        if st.pending:
            pending, st.pending = st.pending, []
            for key in pending:
                self.send(c, None if key is _FLUSH else [key])
        if st.caching and not c.in_multi:
            last = c.last_cmd
            if getattr(last, "parent", None) is None or last.parent.name != "client":
                st.caching = False

    # -- BCAST ----------------------------------------------------------------------------

    def _remember_for_broadcast(self, by, key: bytes) -> None:
        for prefix, b in self.prefixes.items():
            if key.startswith(prefix):
                b.keys[key] = by
                self.broadcast_due = True
        if self.broadcast_due and not self.timer_set:
            # The connection that ran the command broadcasts before sending its replies (as
            # Redis's beforeSleep); this timer covers changes made elsewhere (expiry, timers).
            runner = self.server.runner
            if runner is not None and runner.call_later(0, self._on_timer):
                self.timer_set = True
            else:  # no event loop (unit tests on the core): at once
                self.broadcast()

    def _on_timer(self) -> None:
        self.timer_set = False
        if self.broadcast_due:
            self.broadcast()

    def broadcast(self) -> None:
        """Redis's trackingBroadcastInvalidationMessages, run once per turn of the loop."""
        self.broadcast_due = False
        for b in list(self.prefixes.values()):
            if not b.keys:
                continue
            keys, b.keys = b.keys, {}
            ordered = sorted(keys)
            for c in list(b.clients):
                if c.tracking_state.noloop:
                    mine = [k for k in ordered if keys[k] is not c]
                    if mine:
                        self.send(c, mine)
                else:
                    self.send(c, ordered)

    # -- the table limit ------------------------------------------------------------------

    def limit(self) -> None:
        """tracking-table-max-keys: invalidate keys (oldest first) until under the limit, at
        most ``EFFORT`` times the consecutive calls that found the table still too big."""
        max_keys = self.server.config["tracking-table-max-keys"]
        table = self.table
        if not max_keys or len(table) <= max_keys:
            self.over_limit_calls = 0
            return
        effort = EFFORT * (self.over_limit_calls + 1)
        while effort > 0 and table:
            effort -= 1
            self.invalidate(None, next(iter(table)), False)
            if len(table) <= max_keys:
                self.over_limit_calls = 0
                return
        self.over_limit_calls += 1

    def info(self) -> tuple[int, int, int]:
        """(tracking_total_keys, tracking_total_items, tracking_total_prefixes)."""
        return len(self.table), self.items, len(self.prefixes)


def tracking_of(server: Server) -> Tracking:
    """The server's tracking tables, made by the first CLIENT TRACKING ON."""
    tr = server.tracking
    if tr is None:
        tr = server.tracking = Tracking(server)
    return tr


def _client_freed(c) -> None:
    tr = c.server.tracking
    if tr is not None and c.tracking:
        tr.disable(c)


def _cron(server: Server) -> None:
    tr = server.tracking
    if tr is not None:
        tr.limit()


def install(server: Server) -> None:
    server.add_hook("client_freed", _client_freed)
    server.add_hook("cron", lambda: _cron(server))
    server.add_hook("flushall", lambda *a: server.tracking and server.tracking.flushed())
    server.add_hook("flushdb", lambda *a: server.tracking and server.tracking.flushed())


from .extensions import SERVER_INIT  # noqa: E402

SERVER_INIT.append(install)

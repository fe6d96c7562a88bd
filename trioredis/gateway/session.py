"""One WebSocket: its subscriptions, its sans-I/O clients and its bounded send queue.

Every read is a real command run through ``Server.execute`` for one of the session's clients:
``XREAD COUNT n BLOCK 0 STREAMS ...`` for the subscriptions, ``XREADGROUP`` per consumer-group
subscription, ``XRANGE``/``XREVRANGE``/``XACK`` for requests. A ``core.Block`` is registered
and awaited as a blocked connection does (a Trio event as its ``wakeup``), so XADD wakes the
session through Redis's own ready-key path. Nothing else ever reaches the keyspace.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import trio
from trio.lowlevel import checkpoint
from trio_websocket import ConnectionClosed

from ..blocking import Block
from ..datatypes.stream import Stream, fmt_id
from ..errors import WRONGTYPE
from ..protocol.replies import NULL_ARRAY, ErrorReply
from . import info_view
from . import protocol as P
from .routes import count_drop, stats_of

if TYPE_CHECKING:
    from .server import Gateway
    from .sockstream import SockStream

AUTH_TIMEOUT = 10.0  # to send {"op": "auth"} when a token is required
CLOSE_TIMEOUT = 5.0  # for the closing handshake (then the TCP connection is dropped)


class _Link:
    """What a sans-I/O Client sees as its connection: CLIENT KILL closes the socket, CLIENT
    LIST shows the send queue."""

    __slots__ = ("session",)

    def __init__(self, session: Session):
        self.session = session

    def push(self, data: bytes) -> None:  # no pub/sub here: nothing is pushed
        pass

    def kill(self) -> None:
        self.session.close(P.POLICY, "killed by CLIENT KILL")

    @property
    def outq(self) -> list:
        return self.session.outq

    @property
    def out_bytes(self) -> int:
        return self.session.out_bytes


class _GroupSub:
    __slots__ = ("key", "name", "group", "consumer", "count", "noack", "pending", "client",
                 "scope")

    def __init__(self, key, group, consumer, count, noack, pending, client):
        self.key = key
        self.name = key.decode()
        self.group = group
        self.consumer = consumer
        self.count = count
        self.noack = noack
        self.pending = pending
        self.client = client
        self.scope = trio.CancelScope()


class Session:
    """One WebSocket: its subscriptions, its clients and its bounded send queue."""

    def __init__(self, gateway: Gateway, stream: SockStream, ws, peer: str, local: str,
                 authed: bool):
        self.gw = gateway
        self.server = gateway.server
        self.config = gateway.config
        self.stream = stream
        self.ws = ws
        self.peer = peer
        self.local = local
        self.authed = authed
        self.link = _Link(self)
        self.client = self._new_client()  # XREAD for the subscriptions
        self.sync = self._new_client()  # XRANGE, XACK, and reading the last ID for "$"
        self.subs: dict[bytes, bytes] = {}  # stream -> last ID sent (XREAD's ID)
        self.count = P.DEFAULT_COUNT
        self.gen = 0  # bumped by every subscription change
        self.groups: dict[tuple[bytes, bytes], _GroupSub] = {}
        self.outq: list[bytes] = []
        self.out_bytes = 0  # queued + being written
        self.sending = False  # the sender task holds output taken from outq
        self.closing: tuple | None = None  # (close code or None, reason) once closing
        self.flush_first = False
        self.wake: trio.Event | None = None  # the sender waits for output
        self.room: trio.Event | None = None  # readers wait for queue space
        self.subs_event: trio.Event | None = None
        self.read_scope: trio.CancelScope | None = None
        self.nursery: trio.Nursery | None = None
        self.info_sub: trio.CancelScope | None = None  # the read-only INFO subscription
        stats_of(gateway)["opened"] += 1

    def _new_client(self):
        c = self.server.new_client(self.peer, self.local, -1)
        c.name = b"ws-gateway"
        c.authenticated = True  # the gateway checked the token itself
        c.update_guard()
        c.conn = self.link
        return c

    # -- lifetime ------------------------------------------------------------------------------

    async def run(self, nursery: trio.Nursery) -> None:
        self.nursery = nursery
        try:
            nursery.start_soon(self._receive_loop)
            nursery.start_soon(self._xread_loop)
            if not self.authed:
                nursery.start_soon(self._auth_deadline)
            self.push(P.message({"op": "welcome", "server": "trioredis",
                                 "auth": "ok" if self.authed else "required"}))
            await self._send_loop()
        except trio.Cancelled:
            self._shutdown_close()
            raise
        finally:
            nursery.cancel_scope.cancel()
            srv = self.server
            for c in [self.client, self.sync, *(g.client for g in self.groups.values())]:
                srv.free_client(c)

    def _shutdown_close(self) -> None:
        """The server is stopping: a best-effort 1001 close frame, no handshake."""
        st = self.stream
        if self.ws.closed is not None or st.busy or st.broken or st.closed:
            return
        try:
            st.sock.send(P.close_frame(P.GOING_AWAY, "server shutting down"))
        except OSError:
            pass

    def close(self, code: int | None, reason: str = "", flush: bool = False) -> None:
        """Stop reading and close with ``code`` (None: the peer is gone, nothing to send).
        ``flush`` sends what is queued first (an error message explaining the close)."""
        if self.closing is not None:
            return
        self.closing = (code, reason)
        if code is not None:
            count_drop(self.gw, _DROP_REASONS.get(code, str(code)))
        self.flush_first = flush
        if not flush:
            self.outq.clear()
        self._kick()
        if self.room is not None:
            self.room.set()
            self.room = None
        if self.subs_event is not None:
            self.subs_event.set()

    async def _auth_deadline(self) -> None:
        await trio.sleep(AUTH_TIMEOUT)
        if not self.authed:
            self.close(P.POLICY, "authentication timeout")

    # -- output --------------------------------------------------------------------------------

    def push(self, frame: bytes) -> None:
        if self.closing is None:
            self.outq.append(frame)
            self.out_bytes += len(frame)

    def reply(self, frame: bytes) -> None:
        self.push(frame)
        self._flush_now()

    def _kick(self) -> None:
        if self.wake is not None:
            self.wake.set()
            self.wake = None

    def _flush_now(self) -> None:
        """Write the queue straight from the reader when the socket takes it (the common case:
        no task switch); whatever is left goes to the sender task."""
        q = self.outq
        if not q or self.sending or self.closing is not None or self.ws.closed is not None:
            self._kick()
            return
        data = q[0] if len(q) == 1 else b"".join(q)
        n = self.stream.write_nowait(data)
        if n:
            q.clear()  # anything not taken is now owed by the stream: the sender finishes it
            self._sent(n)
        if q or self.stream.owed:
            self._kick()

    def _sent(self, n: int) -> None:
        self.out_bytes -= n
        if self.room is not None and self.out_bytes < self.config["ws-send-queue"]:
            self.room.set()
            self.room = None

    async def _send_loop(self) -> None:
        q = self.outq
        st = self.stream
        while True:
            if st.owed or (q and (self.closing is None or self.flush_first)):
                if self.closing is None or self.flush_first:
                    data = b"" if not q else q[0] if len(q) == 1 else b"".join(q)
                else:
                    data = b""  # closing: only finish the frame already started
                q.clear()
                size = len(data) + len(st.owed)
                self.sending = True
                try:
                    await st.send_frames(data, self.ws)
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    self.close(None)
                    break
                finally:
                    self.sending = False
                self._sent(size)
                continue
            if self.closing is not None:
                break
            ev = self.wake = trio.Event()
            await ev.wait()
        code, reason = self.closing
        if code is not None and self.ws.closed is None:
            with trio.move_on_after(CLOSE_TIMEOUT):
                await self.ws.aclose(code, P.clip_reason(reason))

    async def _room(self) -> bool:
        """Wait while the send queue is full; close the socket when it stalls."""
        limit = self.config["ws-send-queue"]
        while self.out_bytes >= limit and self.closing is None:
            timeout = self.config["ws-send-timeout"] / 1000
            if self.room is None:
                self.room = trio.Event()
            ev = self.room
            with trio.move_on_after(timeout) as scope:
                await ev.wait()
            if scope.cancelled_caught and trio.current_time() - self.stream.progress >= timeout:
                self.close(P.TRY_AGAIN_LATER,
                           f"too slow: send queue full and nothing sent for {timeout:g}s; "
                           "reconnect and resume from the last ID received")
        return self.closing is None

    # -- requests ------------------------------------------------------------------------------

    async def _receive_loop(self) -> None:
        ws = self.ws
        while self.closing is None:
            try:
                msg = await ws.get_message()
            except ConnectionClosed:
                self.close(None)
                return
            if self.closing is not None:
                return
            if msg.__class__ is not str:
                self.close(P.UNSUPPORTED_DATA, "binary messages are not supported: send JSON text")
                return
            try:
                req = json.loads(msg)
            except (ValueError, RecursionError):
                self.close(P.INVALID_PAYLOAD, "malformed JSON")
                return
            ref = req.get("ref") if req.__class__ is dict else None
            try:
                await self._handle(req, ref)
            except P.RequestError as e:
                self.reply(P.error_message(e.code, e.text, ref, e.stream))

    async def _handle(self, req, ref) -> None:
        if req.__class__ is not dict:
            raise P.RequestError(P.BADREQUEST, "a request must be a JSON object")
        op = req.get("op")
        if not self.authed:
            if op == "auth" and P.token_ok(req.get("token"), P.expected_token(self.config)):
                self.authed = True
                self.reply(P.message(_with_ref({"op": "auth", "ok": True}, ref)))
                return
            if op == "auth":
                self.reply(P.error_message(P.NOAUTH, "invalid token", ref))
                self.close(P.POLICY, "invalid token", flush=True)
            else:
                self.reply(P.error_message(
                    P.NOAUTH, 'authentication required: send {"op": "auth", "token": ...} first',
                    ref))
                self.close(P.POLICY, "authentication required", flush=True)
            return
        handler = _OPS.get(op) if op.__class__ is str else None
        if handler is None:
            raise P.RequestError(P.BADREQUEST, f"unknown op {json.dumps(op)[:64]}")
        await handler(self, req, ref)

    async def _op_auth(self, req, ref) -> None:
        self.reply(P.message(_with_ref({"op": "auth", "ok": True}, ref)))

    async def _op_ping(self, req, ref) -> None:
        self.reply(P.message(_with_ref({"op": "pong"}, ref)))

    def _stream_id_check(self, key: bytes, name: str):
        """The stream at ``key`` (None if missing); WRONGTYPE for another type."""
        v = self.sync.db.lookup(key)
        if v is not None and v.__class__ is not Stream:
            raise P.RequestError("WRONGTYPE", WRONGTYPE.split(" ", 1)[1], name)
        return v

    async def _op_subscribe(self, req, ref) -> None:
        items, count = P.parse_subscribe(req)
        done = {}
        for name, start in items:
            key = name.encode()
            try:
                s = self._stream_id_check(key, name)
                if start == "$":
                    idb = fmt_id(s.last_id) if s is not None else b"0-0"
                else:
                    idb = P.check_id(start, name)
                if key not in self.subs and len(self.subs) >= P.MAX_STREAMS:
                    raise P.RequestError(P.LIMIT, f"at most {P.MAX_STREAMS} streams per socket",
                                         name)
            except P.RequestError as e:
                self.push(P.error_message(e.code, e.text, ref, e.stream))
                continue
            self.subs[key] = idb
            done[name] = idb.decode()
        self.count = count
        self._changed()
        self.reply(P.message(_with_ref({"op": "subscribed", "streams": done}, ref)))

    async def _op_unsubscribe(self, req, ref) -> None:
        names = P.parse_unsubscribe(req)
        gone = [n for n in names if self.subs.pop(n.encode(), None) is not None]
        self._changed()
        self.reply(P.message(_with_ref({"op": "unsubscribed", "streams": gone}, ref)))

    def _changed(self) -> None:
        """Subscriptions changed: the XREAD in flight is stale, re-issue it."""
        self.gen += 1
        if self.read_scope is not None:
            self.read_scope.cancel()
        if self.subs_event is not None:
            self.subs_event.set()

    async def _op_range(self, req, ref) -> None:
        key, start, end, count, reverse = P.parse_range(req)
        name = key.decode()
        if reverse:
            argv = [b"XREVRANGE", key, end, start, b"COUNT", b"%d" % count]
        else:
            argv = [b"XRANGE", key, start, end, b"COUNT", b"%d" % count]
        reply = await self._run_sync(argv, name)
        entries = [] if reply is NULL_ARRAY else [P.entry_obj(i, fv) for i, fv in reply]
        self.reply(P.message(_with_ref({"op": "range", "stream": name, "entries": entries},
                                       ref)))

    async def _op_subscribe_group(self, req, ref) -> None:
        key, group, consumer, count, noack, pending = P.parse_group(req)
        name = key.decode()
        self._stream_id_check(key, name)
        old = self.groups.get((key, group))
        if old is None and len(self.groups) >= P.MAX_GROUPS:
            raise P.RequestError(P.LIMIT, f"at most {P.MAX_GROUPS} group subscriptions per "
                                 "socket", name)
        if old is not None:
            old.scope.cancel()
            self.server.free_client(old.client)
        gs = _GroupSub(key, group, consumer, count, noack, pending, self._new_client())
        self.groups[(key, group)] = gs
        self.reply(P.message(_with_ref({"op": "subscribed-group", "stream": name,
                                        "group": group.decode(),
                                        "consumer": consumer.decode()}, ref)))
        self.nursery.start_soon(self._group_loop, gs)

    async def _op_unsubscribe_group(self, req, ref) -> None:
        key = P._name(req, "stream")
        group = P._name(req, "group")
        gs = self.groups.pop((key, group), None)
        if gs is not None:
            gs.scope.cancel()
            self.server.free_client(gs.client)
        self.reply(P.message(_with_ref({"op": "unsubscribed-group", "stream": key.decode(),
                                        "group": group.decode(), "ok": gs is not None}, ref)))

    async def _op_info(self, req, ref) -> None:
        """A read-only INFO snapshot now and every ``interval`` ms (the dashboard's server
        view). Asking again changes the interval."""
        interval = info_view.parse_interval(req)
        if self.info_sub is not None:
            self.info_sub.cancel()
        scope = self.info_sub = trio.CancelScope()
        self.nursery.start_soon(self._info_loop, scope, interval / 1000, ref)

    async def _op_unsubscribe_info(self, req, ref) -> None:
        was = self.info_sub is not None
        if was:
            self.info_sub.cancel()
            self.info_sub = None
        self.reply(P.message(_with_ref({"op": "unsubscribed-info", "ok": was}, ref)))

    async def _info_loop(self, scope: trio.CancelScope, interval: float, ref) -> None:
        with scope:
            while self.closing is None:
                # a full send queue skips snapshots (the next one is as good), never queues them
                if self.out_bytes < self.config["ws-send-queue"]:
                    self.reply(P.message(_with_ref(info_view.snapshot(self.server), ref)))
                await trio.sleep(interval)

    async def _op_ack(self, req, ref) -> None:
        key, group, ids = P.parse_ack(req)
        name = key.decode()
        if (key, group) not in self.groups:
            raise P.RequestError(P.NOPERM, "ack needs a subscribe-group to this stream and "
                                 "group on this socket", name)
        n = await self._run_sync([b"XACK", key, group, *ids], name)
        self.reply(P.message(_with_ref({"op": "acked", "stream": name, "group": group.decode(),
                                        "count": n}, ref)))

    async def _run_sync(self, argv: list, name: str):
        """Run a non-blocking read (or XACK) for a request; errors become RequestError."""
        c = self.sync
        reply = self.server.execute(c, argv)
        while reply.__class__ is Block:  # held by CLIENT PAUSE
            reply = await self._wait(c, reply, argv)
        if reply.__class__ is ErrorReply:
            text = reply.message
            raise P.RequestError(P.error_code(text), text.split(" ", 1)[-1], name)
        return reply

    # -- reading -------------------------------------------------------------------------------

    async def _wait(self, c, blk: Block, argv: list, interruptible: bool = False):
        """Wait like a blocked connection: until a write serves the Block (its ``wakeup``) or
        its timeout. ``interruptible``: a subscription change cancels it (returns None)."""
        srv = self.server
        srv.register_block(blk, None, argv)
        event = trio.Event()
        blk.wakeup = event.set
        try:
            with trio.CancelScope() as scope:
                if interruptible:
                    self.read_scope = scope
                if blk.timeout > 0:
                    scope.deadline = trio.current_time() + blk.timeout
                await event.wait()
        finally:
            if interruptible:
                self.read_scope = None
            if not blk.done:
                srv.unblock(blk)
        if blk.done:
            return blk.reply
        if blk.timeout > 0 and trio.current_time() >= scope.deadline:
            reply = blk.timeout_reply
            return reply() if callable(reply) else reply
        return None  # interrupted by a subscription change

    async def _xread_loop(self) -> None:
        """The subscriptions: ``XREAD COUNT n BLOCK 0 STREAMS k... id...``, forever."""
        srv = self.server
        c = self.client
        while self.closing is None:
            if not self.authed or not self.subs:
                ev = self.subs_event = trio.Event()
                await ev.wait()
                self.subs_event = None
                continue
            if not await self._room():
                return
            gen = self.gen
            keys = list(self.subs)
            argv = [b"XREAD", b"COUNT", b"%d" % self.count, b"BLOCK", b"0", b"STREAMS", *keys,
                    *[self.subs[k] for k in keys]]
            reply = srv.execute(c, argv)
            if reply.__class__ is Block:
                while reply.__class__ is Block:
                    reply = await self._wait(c, reply, argv, interruptible=True)
            else:
                await checkpoint()  # entries were there at once: let others run between reads
            if gen != self.gen or reply is None or reply is NULL_ARRAY:
                continue  # subscriptions changed meanwhile (XREAD only reads: nothing lost)
            if reply.__class__ is ErrorReply:
                await self._xread_error(reply, keys)
                continue
            self._deliver(reply)

    def _deliver(self, reply) -> None:
        """Queue the entries of an XREAD reply and move each stream's position past them.

        Stops at the send-queue limit: XREAD only reads, so what is left out of the reply
        (large entries, many streams) is simply read again next time. Memory stays bounded.
        """
        if self.closing is not None:
            return
        frames = self.gw.frames
        subs = self.subs
        q = self.outq
        limit = self.config["ws-send-queue"]
        n = self.out_bytes
        for key, entries in reply:
            if n >= limit:
                break
            if key not in subs or not entries:
                continue
            data, taken = frames(key, entries, limit - n)
            q.append(data)
            n += len(data)
            subs[key] = entries[taken - 1][0]
        self.out_bytes = n
        self._flush_now()

    async def _xread_error(self, reply: ErrorReply, keys: list) -> None:
        text = reply.message
        code = P.error_code(text)
        if code == "WRONGTYPE":
            db = self.client.db
            for key in keys:
                v = db.lookup(key)
                if v is not None and v.__class__ is not Stream:
                    self.subs.pop(key, None)
                    self.push(P.error_message(code, "the key holds another type now: "
                                              "unsubscribed", stream=key.decode()))
            self.gen += 1
            self._kick()
            return
        self.reply(P.error_message(code, text.split(" ", 1)[-1]))
        if code != "UNBLOCKED":
            await trio.sleep(1)  # LOADING, MASTERDOWN...: try again soon, not in a loop

    async def _group_loop(self, gs: _GroupSub) -> None:
        """A consumer-group subscription: this consumer's pending entries first (XREADGROUP
        ... 0), then new ones (``>``, BLOCK 0), until unsubscribed."""
        with gs.scope:
            srv = self.server
            c = gs.client
            head = [b"XREADGROUP", b"GROUP", gs.group, gs.consumer, b"COUNT", b"%d" % gs.count]
            if gs.noack:
                head.append(b"NOACK")
            start = b"0" if gs.pending else None
            while self.closing is None:
                if not await self._room():
                    return
                if start is not None:
                    argv = [*head, b"STREAMS", gs.key, start]
                else:
                    argv = [*head[:6], b"BLOCK", b"0", *head[6:], b"STREAMS", gs.key, b">"]
                reply = srv.execute(c, argv)
                while reply.__class__ is Block:
                    reply = await self._wait(c, reply, argv)
                if reply.__class__ is ErrorReply:
                    text = reply.message
                    self.reply(P.error_message(P.error_code(text), text.split(" ", 1)[-1],
                                               stream=gs.name))
                    if self.groups.get((gs.key, gs.group)) is gs:
                        del self.groups[(gs.key, gs.group)]
                        srv.free_client(c)
                    return
                if reply is None:
                    continue
                entries = [] if reply is NULL_ARRAY or not reply else reply[0][1]
                extra = {"group": gs.group.decode(), "consumer": gs.consumer.decode()}
                if start is not None:
                    extra["pending"] = True
                for idb, fv in entries:
                    self.push(P.entry_frame(gs.name, idb, fv, extra))
                self._flush_now()
                if start is not None:
                    if len(entries) < gs.count:
                        start = None  # history done: now the new entries
                    else:
                        start = entries[-1][0]
                await checkpoint()


_DROP_REASONS = {P.TRY_AGAIN_LATER: "slow", P.POLICY: "policy", P.UNSUPPORTED_DATA: "binary",
                 P.INVALID_PAYLOAD: "bad_json", P.PROTOCOL_ERROR: "protocol",
                 P.GOING_AWAY: "shutdown"}


def _with_ref(obj: dict, ref) -> dict:
    if ref is not None:
        obj["ref"] = ref
    return obj


_OPS = {
    "auth": Session._op_auth,
    "ping": Session._op_ping,
    "subscribe": Session._op_subscribe,
    "unsubscribe": Session._op_unsubscribe,
    "range": Session._op_range,
    "subscribe-group": Session._op_subscribe_group,
    "unsubscribe-group": Session._op_unsubscribe_group,
    "ack": Session._op_ack,
    "info": Session._op_info,
    "unsubscribe-info": Session._op_unsubscribe_info,
}

"""The gateway's Trio side: one listener for the dashboard (HTTP) and ``/ws`` (WebSocket).

Each accepted socket starts as HTTP: the request head is read here. A plain GET is answered
from ``static/`` and the socket closed; an upgrade to ``/ws`` passes the access checks (path,
Origin, token, maxclients) and is handed to trio-websocket with the bytes already read, then
served by a :class:`~trioredis.gateway.session.Session`.

The gateway also keeps what sessions share: entry frames encoded once per entry (and whole
batches joined once) for every socket that receives them.
"""

from __future__ import annotations

import socket
from importlib import resources

import trio
from trio_websocket import wrap_server_stream

from ..server import accept_one, fmt_addr, open_listener
from ..tls import gateway_context, serve_terminated
from . import protocol as P
from . import routes
from .session import Session
from .sockstream import SockStream

HANDSHAKE_TIMEOUT = 10.0  # to send a request head and finish the upgrade
CACHE_MAX = 16384  # shared entry frames and batches kept (fan-out: encode once) ...
CACHE_BYTES = 16 * 1024 * 1024  # ... and their total size

_STATIC = {
    "/": ("dashboard.html", "text/html; charset=utf-8"),
    "/index.html": ("dashboard.html", "text/html; charset=utf-8"),
    "/dashboard.js": ("dashboard.js", "text/javascript; charset=utf-8"),
    "/dashboard.css": ("dashboard.css", "text/css; charset=utf-8"),
}
_CSP = ("default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; "
        "style-src 'self'; script-src 'self'; frame-ancestors 'none'")


class Gateway:
    """The listener(s) and the live sessions of one server."""

    def __init__(self, server):
        self.server = server
        self.config = server.config
        self.listeners: list[socket.socket] = []
        self.port = 0
        self.sessions: set[Session] = set()
        self.cache: dict = {}  # key -> {id: (fields object, frame)}
        self.batches: dict = {}  # (key, first id, last id, n) -> (first fields, last, frames)
        self.cache_bytes = 0
        self.cache_count = 0
        self.static: dict[str, tuple[bytes, str]] = {}
        self.tls_ctx = None  # ws-tls: https:// and wss:// with the server's certificate

    # -- start-up ----------------------------------------------------------------------------

    def bind(self, runner=None) -> int:
        """Bind and listen synchronously (the server's start-up hook), so the port is known
        before ``serve`` reports that it started."""
        cfg = self.config
        if cfg["ws-tls"]:
            self.tls_ctx = gateway_context(self.server)  # StartupError with Redis's lines
        port = max(cfg["ws-port"], 0)  # -1: any free port
        for addr in cfg["ws-bind"] or ["127.0.0.1"]:
            try:
                sock = open_listener(addr, port, 128)
            except OSError:
                self.close_listeners()
                raise
            if port == 0:
                port = sock.getsockname()[1]
            self.listeners.append(sock)
        self.port = port
        self.server.gateway_port = port
        for name, (filename, ctype) in _STATIC.items():
            data = resources.files(__package__).joinpath("static", filename).read_bytes()
            self.static[name] = (data, ctype)
        scheme = "wss" if self.tls_ctx is not None else "ws"
        self.server.log.notice(
            "WebSocket gateway listening on "
            + ", ".join(f"{scheme}://{fmt_addr((a, port))}/ws"
                        for a in cfg["ws-bind"] or ["127.0.0.1"])
        )
        return port

    def close_listeners(self) -> None:
        for s in self.listeners:
            try:
                s.close()
            except OSError:
                pass
        self.listeners = []

    async def run(self) -> None:
        """Accept until cancelled (the server's ``tasks`` hook)."""
        try:
            async with trio.open_nursery() as nursery:
                for lsock in self.listeners:
                    nursery.start_soon(self._accept_loop, lsock, nursery)
        finally:
            self.close_listeners()

    async def _accept_loop(self, lsock: socket.socket, nursery: trio.Nursery) -> None:
        while True:
            sock, addr = await accept_one(lsock, self.server.log, "WebSocket connection")
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.tls_ctx is not None:  # TLS ends here; _handle gets the plain bytes
                nursery.start_soon(serve_terminated, sock, self.tls_ctx, self._handle, addr,
                                   self.server.log)
            else:
                nursery.start_soon(self._handle, sock, addr)

    # -- one connection: HTTP, then maybe a WebSocket ------------------------------------------

    async def _handle(self, sock: socket.socket, addr, local=None) -> None:
        stream = SockStream(sock)
        local = local if local is not None else sock.getsockname()
        try:
            req = None
            with trio.move_on_after(HANDSHAKE_TIMEOUT):
                req = await self._read_head(stream)
            if req is None:
                return
            if req.is_upgrade():
                await self._upgrade(stream, req, fmt_addr(addr), fmt_addr(local))
            else:
                await self._http(stream, req)
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
            pass
        except Exception as e:  # a bug or a library error ends this socket, not the server
            self.server.log.warning(f"WebSocket gateway: connection from {fmt_addr(addr)} "
                                    f"failed: {e!r}")
        finally:
            stream.close_now()

    async def _read_head(self, stream: SockStream):
        buf = b""
        while True:
            data = await stream.receive_some(8192)
            if not data:
                return None
            buf += data
            end = P.head_end(buf)
            if end >= 0:
                break
            if len(buf) > P.MAX_HEAD:
                await stream.send_all(P.http_response(431, b"request head too large\n"))
                return None
        try:
            req = P.parse_head(buf[:end])
        except P.HttpError as e:
            await stream.send_all(P.http_response(e.status, e.text.encode() + b"\n"))
            return None
        stream.prefix = buf  # the WebSocket handshake re-reads the whole head
        return req

    async def _http(self, stream: SockStream, req: P.HttpRequest) -> None:
        resp = routes.answer(self, req)  # /metrics
        if resp is not None:
            pass
        elif req.method not in ("GET", "HEAD"):
            resp = P.http_response(405, b"method not allowed\n", headers=[("Allow", "GET, HEAD")])
        elif req.path == "/ws":
            resp = P.http_response(426, b"this is a WebSocket endpoint\n",
                                   headers=[("Upgrade", "websocket")])
        elif req.path in self.static:
            body, ctype = self.static[req.path]
            headers = [("Content-Security-Policy", _CSP)] if ctype.startswith("text/html") else []
            resp = P.http_response(200, body, ctype, headers, head_only=req.method == "HEAD")
        else:
            resp = P.http_response(404, b"not found\n")
        await stream.send_all(resp)

    def _refuse(self, req: P.HttpRequest):
        """The HTTP status and text that refuse this upgrade, or None; and whether the token
        in the request (if any) authenticated the socket."""
        cfg = self.config
        if req.path != "/ws":
            return (404, "not found"), False
        if req.method != "GET":
            return (405, "method not allowed"), False
        if req.header("sec-websocket-version") != "13" or not req.header("sec-websocket-key"):
            return (426, "WebSocket version 13 required"), False
        if not P.origin_allowed(req.header("origin"), req.header("host"),
                                cfg["ws-allowed-origins"]):
            return (403, "origin not allowed (see ws-allowed-origins)"), False
        srv = self.server
        if len(srv.clients) + 2 > cfg["maxclients"]:
            srv.stat_rejected_conn += 1
            return (503, "max number of clients reached"), False
        expected = P.expected_token(cfg)
        given = P.request_token(req)
        if not expected:
            return None, True
        if given is None:
            return None, False
        if not P.token_ok(given, expected):
            return (401, "invalid token"), False
        return None, True

    async def _upgrade(self, stream: SockStream, req: P.HttpRequest, peer: str,
                       local: str) -> None:
        refused, authed = self._refuse(req)
        if refused is not None:
            status, text = refused
            routes.count_refused(self, status)
            await stream.send_all(P.http_response(status, text.encode() + b"\n"))
            return
        async with trio.open_nursery() as nursery:
            ws = None
            with trio.move_on_after(HANDSHAKE_TIMEOUT):
                request = await wrap_server_stream(
                    nursery, stream, message_queue_size=4, max_message_size=P.MAX_MESSAGE)
                ws = await request.accept()
            if ws is None:
                nursery.cancel_scope.cancel()
                return
            stream.ws = ws
            session = Session(self, stream, ws, peer, local, authed)
            self.sessions.add(session)
            try:
                await session.run(nursery)
            finally:
                self.sessions.discard(session)

    # -- shared entry frames -------------------------------------------------------------------

    def frames(self, key: bytes, entries: list, room: int) -> tuple[bytes, int]:
        """The frames for the entries of one XREAD reply, up to ``room`` bytes (at least one
        entry), and how many entries they hold.

        Fan-out: many sockets read the same entries, often in the same batches. Stream
        entries are immutable objects (the same object means the same content, and a range
        between two IDs cannot gain entries later), so frames are encoded once per entry and
        whole batches joined once, then shared by every socket that receives them.
        """
        first = entries[0]
        last = entries[-1]
        bkey = (key, first[0], last[0], len(entries))
        hit = self.batches.get(bkey)
        if hit is not None and hit[0] is first[1] and hit[1] is last[1] and len(hit[2]) <= room:
            return hit[2], len(entries)
        kc = self.cache.get(key)
        if kc is None:
            kc = self.cache[key] = {}
        name = key.decode()
        out = []
        size = 0
        for idb, fv in entries:
            if out and size >= room:
                break
            hit = kc.get(idb)
            if hit is not None and hit[0] is fv:
                f = hit[1]
            else:
                f = P.entry_frame(name, idb, fv)
                kc[idb] = (fv, f)
                self.cache_bytes += len(f)
                self.cache_count += 1
            out.append(f)
            size += len(f)
        data = out[0] if len(out) == 1 else b"".join(out)
        if len(out) == len(entries) and len(out) > 1:
            self.batches[bkey] = (first[1], last[1], data)
            self.cache_bytes += size
            self.cache_count += 1
        if self.cache_count > CACHE_MAX or self.cache_bytes > CACHE_BYTES:
            self.cache.clear()
            self.batches.clear()
            self.cache_bytes = self.cache_count = 0
        return data, len(out)

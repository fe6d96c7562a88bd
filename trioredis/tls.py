"""TLS, as Redis's tls.c: the ``tls-*`` parameters, the TLS listener, and TLS links out.

Connections on ``tls-port`` run the same request loop as plain ones
(:class:`~trioredis.connection.Connection`) over a :class:`trio.SSLStream`: the loop reads
through :class:`TLSSocket`, whose ``recv`` hands out decrypted bytes and whose wait fills them
from the stream, and :class:`TLSConnection` writes every reply through ``send_all``. The plain
TCP loop is unchanged (it only reads its wait function from the class once per connection).

Contexts are built as Redis builds them (``createSSLContext``/``tlsConfigure``), with its log
lines and errors; what Python's ``ssl`` module does not expose (TLS 1.3 ciphersuites, the
server's session cache mode, size and timeout) is set on the native ``SSL_CTX`` through
:mod:`trioredis.tls_native`, and skipped with a warning where that is not possible.
"""

from __future__ import annotations

import errno
import os
import socket
import ssl

import trio

from . import tls_native
from .config import param
from .connection import READ_SIZE, Connection
from .errors import ConfigError, StartupError
from .extensions import SERVER_INIT

TLS_CONFIGURE_FAILED = "Failed to configure TLS. Check logs for more info."
TLS_UPDATE_FAILED = "Unable to update TLS configuration. Check server logs."
TLS_PORT_FAILED = "Unable to listen on this port. Check server logs."

# Redis's parameters that rebuild the contexts when changed (applyTLSConfig).
CONTEXT_PARAMS = (
    "tls-cert-file", "tls-key-file", "tls-key-file-pass", "tls-client-cert-file",
    "tls-client-key-file", "tls-client-key-file-pass", "tls-dh-params-file", "tls-ca-cert-file",
    "tls-ca-cert-dir", "tls-protocols", "tls-ciphers", "tls-ciphersuites",
    "tls-prefer-server-ciphers", "tls-session-caching", "tls-session-cache-size",
    "tls-session-cache-timeout", "tls-auth-clients", "tls-replication", "tls-cluster",
)

# The gateway serves https:// and wss:// with the server's certificate when this is set.
param("ws-tls", "bool", False, mutable=False, hidden=True)

_VERSIONS = {
    "tlsv1": ssl.TLSVersion.TLSv1,
    "tlsv1.1": ssl.TLSVersion.TLSv1_1,
    "tlsv1.2": ssl.TLSVersion.TLSv1_2,
    "tlsv1.3": ssl.TLSVersion.TLSv1_3,
}
_NO_FLAGS = {
    ssl.TLSVersion.TLSv1: ssl.OP_NO_TLSv1,
    ssl.TLSVersion.TLSv1_1: ssl.OP_NO_TLSv1_1,
    ssl.TLSVersion.TLSv1_2: ssl.OP_NO_TLSv1_2,
    ssl.TLSVersion.TLSv1_3: ssl.OP_NO_TLSv1_3,
}
_LIBS = {20: "SSL routines", 11: "X509 certificate routines", 9: "PEM routines",
         2: "system library"}


class TLSSetupError(Exception):
    """A context could not be built; the message is Redis's log line."""


def openssl_error(e: BaseException) -> str:
    """Redis's ``ERR_error_string_n`` text (``error:0A000086:SSL routines::certificate
    verify failed``) for an ``ssl.SSLError`` (or the cause of trio's BrokenResourceError)."""
    if isinstance(e, trio.BrokenResourceError) and e.__cause__ is not None:
        e = e.__cause__
    if isinstance(e, ssl.SSLError):
        reason = getattr(e, "reason", None)
        library = getattr(e, "library", None)
        if reason:  # OpenSSL's reason strings are its reason names in lower case
            text = reason.lower().replace("_", " ")
        else:
            text = str(e.args[1]) if len(e.args) > 1 else str(e)
            text = text.partition("] ")[2] if text.startswith("[") else text
            text = text.rsplit(" (_ssl.c:", 1)[0]
        if isinstance(e, ssl.SSLEOFError) and not reason:
            return "error:0A000126:SSL routines::unexpected eof while reading"
        codes = getattr(ssl._ssl, "err_names_to_codes", {})  # noqa: SLF001
        lib, code = codes.get(reason, (None, None))
        if lib is None and library:
            lib = {"SSL": 20, "X509": 11, "PEM": 9}.get(library)
        if lib is not None and code is not None:
            return f"error:{(lib << 23) | code:08X}:{_LIBS.get(lib, library or '')}::{text}"
        return text
    if isinstance(e, OSError) and e.errno:
        return f"error:{0x80000000 | e.errno:08X}:system library::{os.strerror(e.errno)}"
    return str(e) or type(e).__name__


# -- contexts -------------------------------------------------------------------------------


def parse_protocols(text: str) -> list[ssl.TLSVersion]:
    """``tls-protocols``: a blank-separated subset of TLSv1 TLSv1.1 TLSv1.2 TLSv1.3 (case
    does not matter); empty means TLSv1.2 and TLSv1.3, as Redis's default."""
    if not text.strip():
        return [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3]
    out = []
    for word in text.split():
        v = _VERSIONS.get(word.lower())
        if v is None:
            raise TLSSetupError("Invalid tls-protocols specified. Use a combination of 'TLSv1', "
                                "'TLSv1.1', 'TLSv1.2' and 'TLSv1.3'.")
        out.append(v)
    return out


def _load_chain(ctx: ssl.SSLContext, cert: str, key: str, password: str) -> None:
    """SSL_CTX_use_certificate_chain_file then SSL_CTX_use_PrivateKey_file, with Redis's
    two log lines (Python loads both in one call, so the certificate is read alone first)."""
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cafile=cert)
    except (ssl.SSLError, OSError) as e:
        raise TLSSetupError(f"Failed to load certificate: {cert}: {openssl_error(e)}") from None
    try:
        ctx.load_cert_chain(cert, key, password=password or None)
    except (ssl.SSLError, OSError) as e:
        raise TLSSetupError(f"Failed to load private key: {key}: {openssl_error(e)}") from None


def _make_context(cfg, protocols: list, client: bool) -> ssl.SSLContext:
    """createSSLContext: the server side (``client`` False) or the explicit client side."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT if client else ssl.PROTOCOL_TLS_SERVER)
    if client:
        ctx.check_hostname = False  # Redis verifies the chain, never the name
    ctx.minimum_version = min(protocols)
    ctx.maximum_version = max(protocols)
    for version, flag in _NO_FLAGS.items():  # a set with a hole (TLSv1.1 TLSv1.3)
        if min(protocols) < version < max(protocols) and version not in protocols:
            ctx.options |= flag
    ctx.options |= ssl.OP_NO_COMPRESSION
    ctx.verify_mode = ssl.CERT_REQUIRED
    if client:
        cert, key, pw = (cfg["tls-client-cert-file"], cfg["tls-client-key-file"],
                         cfg["tls-client-key-file-pass"])
    else:
        cert, key, pw = cfg["tls-cert-file"], cfg["tls-key-file"], cfg["tls-key-file-pass"]
    _load_chain(ctx, cert, key, pw)
    ca_file, ca_dir = cfg["tls-ca-cert-file"], cfg["tls-ca-cert-dir"]
    if ca_file or ca_dir:
        try:
            ctx.load_verify_locations(cafile=ca_file or None, capath=ca_dir or None)
        except (ssl.SSLError, OSError) as e:
            raise TLSSetupError("Failed to configure CA certificate(s) file/directory: "
                                + openssl_error(e)) from None
    if cfg["tls-ciphers"]:
        try:
            ctx.set_ciphers(cfg["tls-ciphers"])
        except ssl.SSLError:
            raise TLSSetupError(f"Failed to configure ciphers: {cfg['tls-ciphers']}") from None
    if cfg["tls-ciphersuites"]:
        if not tls_native.set_ciphersuites(ctx, cfg["tls-ciphersuites"]):
            raise TLSSetupError(f"Failed to configure ciphersuites: {cfg['tls-ciphersuites']}")
    return ctx


def build_contexts(cfg) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """tlsConfigure: (server context, context for our outgoing links). TLSSetupError with
    Redis's log line when something is missing or cannot be loaded."""
    if not cfg["tls-cert-file"]:
        raise TLSSetupError("No tls-cert-file configured!")
    if not cfg["tls-key-file"]:
        raise TLSSetupError("No tls-key-file configured!")
    if ((cfg["tls-auth-clients"] != "no" or cfg["tls-cluster"] or cfg["tls-replication"])
            and not cfg["tls-ca-cert-file"] and not cfg["tls-ca-cert-dir"]):
        raise TLSSetupError("Either tls-ca-cert-file or tls-ca-cert-dir must be specified when "
                            "tls-cluster, tls-replication or tls-auth-clients are enabled!")
    protocols = parse_protocols(cfg["tls-protocols"])
    server_ctx = _make_context(cfg, protocols, client=False)
    server_ctx.verify_mode = {"no": ssl.CERT_NONE, "optional": ssl.CERT_OPTIONAL,
                              "yes": ssl.CERT_REQUIRED}[cfg["tls-auth-clients"]]
    if cfg["tls-session-caching"]:
        tls_native.session_cache(server_ctx, cfg["tls-session-cache-size"],
                                 cfg["tls-session-cache-timeout"])
    else:
        server_ctx.options |= ssl.OP_NO_TICKET
        server_ctx.num_tickets = 0
        tls_native.session_cache(server_ctx, None, None)
    server_ctx.options |= getattr(ssl, "OP_NO_RENEGOTIATION", 0)
    if cfg["tls-prefer-server-ciphers"]:
        server_ctx.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    else:  # Python's contexts start with it; Redis's (OpenSSL's) without
        server_ctx.options &= ~ssl.OP_CIPHER_SERVER_PREFERENCE
    server_ctx.options |= ssl.OP_SINGLE_DH_USE
    dh = cfg["tls-dh-params-file"]
    if dh:
        try:
            with open(dh, "rb"):
                pass
        except OSError as e:
            raise TLSSetupError(f"Failed to load {dh}: {e.strerror}") from None
        try:
            server_ctx.load_dh_params(dh)
        except ssl.SSLError:
            raise TLSSetupError(f"{dh}: failed to read DH params.") from None
    # Without a client certificate of its own, Redis's links present the server's.
    if cfg["tls-client-cert-file"] and cfg["tls-client-key-file"]:
        client_ctx = _make_context(cfg, protocols, client=True)
    else:
        client_ctx = _make_client_from_server(cfg, protocols)
    return server_ctx, client_ctx


def _make_client_from_server(cfg, protocols) -> ssl.SSLContext:
    saved = {k: cfg[k] for k in ("tls-client-cert-file", "tls-client-key-file",
                                 "tls-client-key-file-pass")}
    values = cfg.values
    try:
        values["tls-client-cert-file"] = cfg["tls-cert-file"]
        values["tls-client-key-file"] = cfg["tls-key-file"]
        values["tls-client-key-file-pass"] = cfg["tls-key-file-pass"]
        return _make_context(cfg, protocols, client=True)
    finally:
        values.update(saved)


def needed(cfg) -> bool:
    """The server's contexts are built (and must build) at start-up, as Redis's initServer
    (the gateway's ``ws-tls`` builds its own)."""
    return bool(cfg["tls-port"] or cfg["tls-replication"] or cfg["tls-cluster"])


class TLSState:
    """The server's contexts (``server.tls``) and its TLS listeners."""

    def __init__(self, server):
        self.server = server
        self.server_ctx: ssl.SSLContext | None = None
        self.client_ctx: ssl.SSLContext | None = None
        self.listeners: list[socket.socket] = []
        self.port = 0
        self.handshake_failures = 0

    def configure(self) -> None:
        """Build the contexts (atomic: the old ones stay when this fails). TLSSetupError."""
        self.server_ctx, self.client_ctx = build_contexts(self.server.config)

    def client_context(self) -> ssl.SSLContext:
        if self.client_ctx is None:
            self.configure()
        return self.client_ctx

    # -- start-up and CONFIG SET -------------------------------------------------------------

    def startup(self, runner) -> None:
        cfg = self.server.config
        log = self.server.log
        if not needed(cfg):
            return
        try:
            self.configure()
        except TLSSetupError as e:
            log.warning(str(e))
            log.warning(TLS_CONFIGURE_FAILED)
            raise StartupError(TLS_CONFIGURE_FAILED) from None
        if cfg["tls-port"]:
            try:
                self.listeners, self.port = runner.open_listeners(cfg["bind"], cfg["tls-port"])
            except OSError:  # open_listeners logged Redis's "Could not create server TCP
                # listening socket" line; this is listenToPort's next one
                raise StartupError(f"Failed listening on port {cfg['tls-port']} (tls), "
                                   f"aborting.") from None
        for name in CONTEXT_PARAMS:
            cfg.on_change(name, self._on_context_change)
        cfg.on_change("tls-port", lambda v, old: self._on_port_change(runner, v))

    def _on_context_change(self, value, old) -> None:
        if not needed(self.server.config):
            return
        try:
            self.configure()
        except TLSSetupError as e:
            self.server.log.warning(str(e))
            raise ConfigError(TLS_UPDATE_FAILED) from None

    def _on_port_change(self, runner, port: int) -> None:
        """CONFIG SET tls-port: changeListenPort for the TLS listeners (0 closes them)."""
        if port == self.port:
            return
        if port and self.server_ctx is None:
            try:
                self.configure()
            except TLSSetupError as e:
                self.server.log.warning(str(e))
                raise ConfigError(TLS_UPDATE_FAILED) from None
        new = []
        if port:
            try:
                new, port = runner.open_listeners(self.server.config["bind"], port)
            except OSError:
                raise ConfigError(TLS_PORT_FAILED) from None
        self.close_listeners()
        self.listeners, self.port = new, port
        self.start_accepting(runner)

    def start_accepting(self, runner) -> None:
        if runner.nursery is None or runner.conns is None:
            return
        for s in self.listeners:
            runner.nursery.start_soon(runner.accept_loop, s, runner.conns, self.wrap)

    def close_listeners(self) -> None:
        for s in self.listeners:
            try:
                trio.lowlevel.notify_closing(s)  # an accept loop waiting on it ends
            except (OSError, ValueError, RuntimeError):
                pass
            s.close()
        self.listeners = []

    def wrap(self, server, sock, client, log) -> TLSConnection:
        return TLSConnection(server, TLSSocket(sock, self.server_ctx), client, log)


# -- server-side connections ----------------------------------------------------------------


class RawStream(trio.abc.Stream):
    """The transport under a server-side SSLStream: ``recv``/``send`` on the non-blocking
    socket, waiting only when they would block (trio.SocketStream's locks and helpers cost a
    third of TLS's overhead per request). OSError becomes BrokenResourceError, as there."""

    __slots__ = ("sock",)

    def __init__(self, sock: socket.socket):
        self.sock = sock

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        sock = self.sock
        while True:
            try:
                return sock.recv(max_bytes or READ_SIZE)
            except BlockingIOError:
                await trio.lowlevel.wait_readable(sock)
            except OSError as e:
                raise trio.BrokenResourceError(e) from e

    async def send_all(self, data) -> None:
        sock = self.sock
        view = memoryview(data)
        while view:
            try:
                view = view[sock.send(view):]
            except BlockingIOError:
                await trio.lowlevel.wait_writable(sock)
            except OSError as e:
                raise trio.BrokenResourceError(e) from e

    async def wait_send_all_might_not_block(self) -> None:
        await trio.lowlevel.wait_writable(self.sock)

    async def aclose(self) -> None:
        self.sock.close()
        await trio.lowlevel.checkpoint()


class TLSSocket:
    """What the connection's request loop uses of a socket, over a server-side SSLStream:
    ``recv`` returns decrypted bytes already read (BlockingIOError when there are none, ``b""``
    at the end), :meth:`fill` waits for more. Writes go through :attr:`stream` only."""

    def __init__(self, sock: socket.socket, ctx: ssl.SSLContext):
        self.raw = sock
        self.stream = trio.SSLStream(RawStream(sock), ctx, server_side=True)
        self.buf = b""
        self.eof = False
        self.error: OSError | None = None

    def fileno(self) -> int:
        return self.raw.fileno()

    def getsockname(self):
        return self.raw.getsockname()

    @property
    def family(self):
        return self.raw.family

    def recv(self, n: int, flags: int = 0) -> bytes:
        buf = self.buf
        if buf:
            if flags & socket.MSG_PEEK:
                return buf[:n]
            if len(buf) <= n:
                self.buf = b""
                return buf
            self.buf = buf[n:]
            return buf[:n]
        if self.error is not None:
            raise self.error
        if self.eof:
            return b""
        raise BlockingIOError(errno.EAGAIN, "no decrypted data")

    def send(self, data) -> int:
        raise BlockingIOError(errno.EAGAIN, "TLS output goes through the stream")

    async def fill(self) -> None:
        """Wait for the next decrypted bytes (or the end, or an error, kept for ``recv``)."""
        if self.buf or self.eof or self.error is not None:
            await trio.lowlevel.checkpoint()
            return
        try:
            data = await self.stream.receive_some(READ_SIZE)
        except (trio.BrokenResourceError, trio.ClosedResourceError) as e:
            self.error = OSError(0, openssl_error(e))
            return
        if data:
            self.buf += data
        else:
            self.eof = True

    def close(self) -> None:
        try:
            self.raw.close()
        except OSError:
            pass


async def _fill(sock: TLSSocket) -> None:
    await sock.fill()


class TLSConnection(Connection):
    """A client on ``tls-port``: the handshake first (Redis's ``Error accepting a client
    connection`` line when it fails), then the plain loop, with all output sent by tasks."""

    wait_readable = staticmethod(_fill)

    async def _loop(self) -> None:
        tsock: TLSSocket = self.sock
        try:
            await tsock.stream.do_handshake()
        except (trio.BrokenResourceError, trio.ClosedResourceError) as e:
            self.server.tls.handshake_failures += 1
            self.log.warning(f"Error accepting a client connection: {openssl_error(e)}")
            self.client.killed = True
            return
        await super()._loop()

    def _send_queued(self) -> bool:
        return not self.outq  # nothing goes out synchronously: a task sends it

    async def _send_all(self) -> None:
        stream = self.sock.stream
        while self.outq:
            data = b"".join(self.outq) if len(self.outq) > 1 else self.outq[0]
            self.outq.clear()
            n = len(data)
            self.rbuf.wrote(n)
            self.out_bytes = n  # in flight, counted until sent; pushes meanwhile add to it
            _, soft, _ = self._limits()
            if soft:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._soft_limit_watch)
                    await stream.send_all(data)
                    nursery.cancel_scope.cancel()
            else:
                await stream.send_all(data)
            self.out_bytes = max(self.out_bytes - n, 0)
            self.server.stat_net_output_bytes += n
        self.soft_since = 0.0

    async def _soft_limit_watch(self) -> None:
        """While a send waits on a slow reader: the soft limit's time runs out with no new
        output too (Redis's clientsCron)."""
        while True:
            _, _, secs = self._limits()
            await trio.sleep(min(max(secs, 0.1), 1.0) if not self.soft_since else 0.1)
            if self._over_limit():
                return

    async def _watch_disconnect(self, scope: trio.CancelScope) -> None:
        """While blocked: a read that finds the end or an error frees the client; bytes read
        stay for the loop."""
        tsock: TLSSocket = self.sock
        await tsock.fill()
        if not tsock.buf:
            self.client.killed = True
            scope.cancel()
            return
        await trio.sleep_forever()


# -- outgoing links (replication, the HA group) --------------------------------------------


async def open_stream(server, host: str, port: int, tls: bool) -> trio.abc.Stream:
    """A connected stream to ``host:port``: TCP, or TLS with the server's client context
    (tls-replication, tls-cluster). A failed handshake raises OSError with OpenSSL's text."""
    stream = await trio.open_tcp_stream(host, port)
    if not tls:
        return stream
    state = server.tls
    try:
        ctx = state.client_context()
    except TLSSetupError as e:
        close_now(stream)
        raise OSError(str(e)) from None
    ssl_stream = trio.SSLStream(stream, ctx, server_hostname=host)
    try:
        await ssl_stream.do_handshake()
    except (trio.BrokenResourceError, trio.ClosedResourceError) as e:
        close_now(stream)
        raise OSError(openssl_error(e)) from None
    return ssl_stream


def close_now(stream) -> None:
    """Close a SocketStream or an SSLStream over one without awaiting."""
    while isinstance(stream, trio.SSLStream):
        stream = stream.transport_stream
    try:
        stream.socket.close()
    except (AttributeError, OSError):
        pass


# -- the gateway: https:// and wss:// ----------------------------------------------------------


def gateway_context(server) -> ssl.SSLContext:
    """``ws-tls``: a server context with the server's certificate and protocols; browsers send
    no client certificate, so none is asked for. StartupError (after Redis's log lines) when
    it cannot be built."""
    cfg = server.config
    try:
        if not cfg["tls-cert-file"]:
            raise TLSSetupError("No tls-cert-file configured!")
        if not cfg["tls-key-file"]:
            raise TLSSetupError("No tls-key-file configured!")
        ctx = _make_context(cfg, parse_protocols(cfg["tls-protocols"]), client=False)
    except TLSSetupError as e:
        server.log.warning(str(e))
        server.log.warning(TLS_CONFIGURE_FAILED)
        raise StartupError(TLS_CONFIGURE_FAILED) from None
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


async def serve_terminated(sock: socket.socket, ctx: ssl.SSLContext, handler, addr, log) -> None:
    """End TLS on ``sock`` and give ``handler(plain_socket, addr, local)`` the plain side of a
    socket pair, pumping bytes both ways: the gateway's HTTP and WebSocket code (which writes
    without awaiting on plain sockets) runs unchanged over TLS. A slow reader backs up into
    the pair, where the gateway's own send timeout sees it."""
    local = sock.getsockname()
    tls = trio.SSLStream(trio.SocketStream(trio.socket.from_stdlib_socket(sock)), ctx,
                         server_side=True, https_compatible=True)
    done = False
    try:
        with trio.move_on_after(10):
            await tls.do_handshake()
            done = True
        if not done:
            close_now(tls)
            return
    except (trio.BrokenResourceError, trio.ClosedResourceError) as e:
        log.verbose(f"WebSocket gateway: TLS handshake failed: {openssl_error(e)}")
        close_now(tls)
        return
    inner, outer = socket.socketpair()
    inner.setblocking(False)
    outer_stream = trio.SocketStream(trio.socket.from_stdlib_socket(outer))

    async def pump(src, dst, scope) -> None:
        try:
            while True:
                data = await src.receive_some(65536)
                if not data:
                    break
                await dst.send_all(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
            pass
        scope.cancel()

    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(pump, tls, outer_stream, nursery.cancel_scope)
            nursery.start_soon(pump, outer_stream, tls, nursery.cancel_scope)
            await handler(inner, addr, local)
            # the handler closed its side: what it wrote still drains to the client (the
            # pump ends the nursery at the pair's end), for at most a few seconds
            with trio.move_on_after(5):
                await trio.sleep_forever()
            nursery.cancel_scope.cancel()
    finally:
        outer.close()
        close_now(tls)


def _init(server) -> None:
    server.tls = TLSState(server)
    server.add_hook("startup", server.tls.startup)


SERVER_INIT.append(_init)

"""Connection commands: PING, ECHO, QUIT, SELECT, HELLO, AUTH and RESET.

Authentication asks the server's ACL users (trioredis/acl/; ``requirepass`` is the ``default``
user's password). An ``authenticate`` hook, if a module registers one, decides instead:
``fn(client, user, password) -> bool``.

CLIENT PAUSE holds clients rather than refusing them: ``Server.client_pause`` returns a
:class:`~trioredis.blocking.Block` with no keys for a command that must wait, the connection
waits on it like any blocked command, and when the pause ends each held command is run through
``Server.execute`` again, in arrival order, its reply (or new Block) completing the hold. The
rest of the CLIENT family is in :mod:`.client_cmd`.
"""

from __future__ import annotations

from ..blocking import Block
from ..errors import AUTH_NOT_CONFIGURED, INVALID_DB, SYNTAX, WRONGPASS, CommandError
from ..errors import wrong_arity as _wrong_arity
from ..protocol.replies import OK
from ..tracking import tracking_of
from . import registry
from .args import parse_int
from .registry import MAY_REPLICATE, command, container

NOPROTO = "NOPROTO unsupported protocol version"
BAD_NAME = "ERR Client names cannot contain spaces, newlines or special characters."
UNBLOCKED = "UNBLOCKED client unblocked via CLIENT UNBLOCK"
HELLO_NOAUTH = (
    "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO "
    "<proto> AUTH <user> <pass> option can be used to authenticate the client and select the "
    "RESP protocol version at the same time"
)
REDIS_VERSION = b"7.0.15"


# -- PING, ECHO, QUIT, SELECT ------------------------------------------------------------------


@command("ping", -1, "fast", group="connection", since="1.0.0", complexity="O(1)")
def ping(c, argv):
    """Ping the server"""
    if len(argv) > 2:
        raise CommandError(_wrong_arity("ping"))
    if c.resp == 2 and (c.channels or c.patterns or c.shard_channels):
        return [b"pong", argv[1] if len(argv) == 2 else b""]
    if len(argv) == 2:
        return argv[1]
    return "PONG"


@command("echo", 2, "loading stale fast", group="connection", since="1.0.0", complexity="O(1)")
def echo(c, argv):
    """Echo the given string"""
    return argv[1]


@command("quit", -1, "noscript loading stale fast no_auth allow_busy", group="connection",
         since="1.0.0", complexity="O(1)")
def quit_(c, argv):
    """Close the connection"""
    c.close_after_reply = True
    return OK


@command("select", 2, "loading stale fast", group="connection", since="1.0.0",
         complexity="O(1)")
def select(c, argv):
    """Change the selected database for the current connection"""
    index = parse_int(argv[1])
    if not 0 <= index < len(c.server.dbs):
        raise CommandError(INVALID_DB)
    c.select(index)
    return OK


# -- authentication --------------------------------------------------------------------------


def authenticate(c, user: bytes, password: bytes) -> bool:
    """Check ``user``/``password``; on success the client is authenticated as ``user``.
    The server's ACL decides (trioredis/acl/: users, SHA-256 passwords compared in constant
    time, failures in the ACL LOG); an ``authenticate`` hook, if a module registers one,
    decides instead."""
    srv = c.server
    hook = srv.hooks.get("authenticate")
    if hook:
        ok = hook[0](c, user, password)
        if ok:
            c.authenticated = True
            c.user = user
            c.update_guard()
        return ok
    return srv.acl.authenticate(c, user, password)


def _nopass(server) -> bool:
    """The default user needs no password (and is enabled): new connections start
    authenticated, and AUTH <password> has nothing to check."""
    if server.hooks.get("authenticate"):
        return False
    d = server.acl.default
    return d.nopass and d.enabled


@command("auth", -2, "noscript loading stale fast no_auth allow_busy", group="connection",
         since="1.0.0",
         complexity="O(N) where N is the number of passwords defined for the user")
def auth(c, argv):
    """Authenticate to the server"""
    if len(argv) > 3:
        raise CommandError(SYNTAX)
    if len(argv) == 2:
        if not c.server.hooks.get("authenticate") and c.server.acl.default.nopass:
            raise CommandError(AUTH_NOT_CONFIGURED)
        user, password = b"default", argv[1]
    else:
        user, password = argv[1], argv[2]
    if not authenticate(c, user, password):
        raise CommandError(WRONGPASS)
    return OK


def valid_name(name: bytes) -> bool:
    """Client names and lib attributes: printable ASCII without spaces ('!' to '~')."""
    return all(33 <= b <= 126 for b in name)


@command("hello", -1, "noscript loading stale fast no_auth allow_busy", group="connection",
         since="6.0.0", complexity="O(1)")
def hello(c, argv):
    """Handshake with Redis"""
    ver = 0
    i = 1
    if len(argv) >= 2:
        ver = parse_int(argv[1], "ERR Protocol version is not an integer or out of range")
        if ver < 2 or ver > 3:
            raise CommandError(NOPROTO)
        i = 2
    creds = name = None
    n = len(argv)
    while i < n:
        opt = argv[i].upper()
        more = n - 1 - i
        if opt == b"AUTH" and more >= 2:
            creds = (argv[i + 1], argv[i + 2])
            i += 3
        elif opt == b"SETNAME" and more >= 1:
            name = argv[i + 1]
            i += 2
        else:
            raise CommandError(
                f"ERR Syntax error in HELLO option '{argv[i].decode('utf-8', 'replace')}'"
            )
    if creds is not None and not authenticate(c, *creds):
        raise CommandError(WRONGPASS)
    if not c.authenticated:
        raise CommandError(HELLO_NOAUTH)
    if name is not None:
        _set_name(c, name)
    if ver:
        c.set_resp(ver)
        c.update_guard()
    srv = c.server
    return {
        b"server": b"redis",
        b"version": REDIS_VERSION,
        b"proto": c.resp,
        b"id": c.id,
        b"mode": b"standalone",
        b"role": b"replica" if srv.role == "slave" else b"master",
        b"modules": [],
    }


@command("reset", 1, "noscript loading stale fast no_auth allow_busy", group="connection",
         since="6.2.0", complexity="O(1)")
def reset(c, argv):
    """Reset the connection"""
    if c.is_replica or c.is_master:
        raise CommandError("ERR can only reset normal client connections")
    clear_connection_state(c)
    return "RESET"


def clear_connection_state(c) -> None:
    """Redis 7.0's clearClientConnectionState: MONITOR, tracking, db 0, RESP2, the default
    user, MULTI/WATCH, subscriptions, the name and CLIENT REPLY. (CLIENT NO-EVICT stays, as in
    7.0; NO-TOUCH, a 7.2 flag, goes as 7.2 clears it.)"""
    srv = c.server
    if c in srv.monitors:
        srv.monitors.remove(c)
    if c.tracking:
        tracking_of(srv).disable(c)
    c.select(0)
    c.set_resp(2)
    srv.acl.attach(c)  # the default user, authenticated if it needs no password
    c.discard_multi()
    srv.run_hooks("client_reset", c)  # pub/sub: unsubscribe everything, silently
    c.channels.clear()
    c.patterns.clear()
    c.shard_channels.clear()
    c.name = b""
    c.reply_mode = "on"
    c.no_touch = False
    c.update_guard()


def subcommand_syntax_error(argv) -> CommandError:
    """Redis's addReplySubcommandSyntaxError."""
    sub = argv[1].decode("utf-8", "replace")[:128]
    return CommandError(
        f"ERR unknown subcommand or wrong number of arguments for '{sub}'. "
        f"Try {argv[0].decode('utf-8', 'replace').upper()} HELP."
    )


def _set_name(c, name: bytes) -> None:
    if not valid_name(name):
        raise CommandError(BAD_NAME)
    c.name = name


# -- CLIENT PAUSE / UNPAUSE ------------------------------------------------------------------


# The CLIENT container, made before its first subcommand (PAUSE, below; the rest are in
# client_cmd.py).
container("client", group="connection", since="2.4.0",
          summary="A container for client connection commands").complexity = (
    "Depends on subcommand.")


class _Hold:
    """The ``timeout_reply`` that marks a Block as a CLIENT PAUSE hold (never replied)."""

    __slots__ = ()


HOLD = _Hold()


class ClientPause:
    """CLIENT PAUSE state of one server: until when, ALL or only WRITE, who is held."""

    def __init__(self, server):
        self.server = server
        self.end_ms = 0
        self.all = False
        self.held: list = []  # Blocks, in arrival order
        self.waiters: list = []  # on_unpause callbacks (the master link)
        self.timer_running = False
        server.add_hook("cron", self.expire)

    def pause(self, end_ms: int, all_: bool) -> None:
        # A second PAUSE can only extend and widen the pause in effect (Redis keeps the max).
        if self.server.client_pause is None:
            self.end_ms, self.all = end_ms, all_
        else:
            self.end_ms, self.all = max(self.end_ms, end_ms), self.all or all_
        self.server.client_pause = self.check
        self.server.expire_paused = True  # no key is deleted by expiry while paused
        self.server.update_guard()
        self._start_timer()

    def check(self, c, cmd, argv):
        """``Server.client_pause``: a Block holding ``c`` if ``cmd`` must wait, else None."""
        srv = self.server
        if srv.now_ms() >= self.end_ms:
            self.unpause()
            return None
        if not self.all and not _pausable_write(c, cmd, argv):
            return None
        blk = Block(c, cmd, argv, [], 0, HOLD)
        self.held.append(blk)
        return blk

    def holds(self, c, argv) -> bool:
        """Whether ``argv`` from ``c`` must wait now. The master link asks before applying each
        command of the stream: Redis 7.0 pauses its master client too (only replicas go on)."""
        srv = self.server
        if srv.client_pause is None:
            return False
        if srv.now_ms() >= self.end_ms:
            self.unpause()
            return False
        if self.all:
            return True
        cmd = registry.lookup(argv[0])
        if cmd is not None and cmd.subcommands is not None and len(argv) > 1:
            cmd = cmd.subcommands.get(argv[1].lower(), cmd)
        return cmd is not None and _pausable_write(c, cmd, argv)

    def on_unpause(self, fn) -> None:
        """Call ``fn()`` once, when the pause ends."""
        self.waiters.append(fn)

    def expire(self) -> None:
        """Cron and the wake-up task: end the pause once its time has come."""
        if self.server.client_pause is not None and self.server.now_ms() >= self.end_ms:
            self.unpause()

    def unpause(self) -> None:
        """End the pause and run the held commands in the order they arrived."""
        srv = self.server
        srv.client_pause = None
        srv.expire_paused = False
        srv.update_guard()
        waiters, self.waiters = self.waiters, []
        for fn in waiters:
            fn()
        while self.held:
            held, self.held = self.held, []
            for blk in held:
                c = blk.client
                if blk.done or c.killed or srv.clients.get(c.id) is not c:
                    continue
                current, srv.current_client = srv.current_client, c
                try:
                    reply = srv.execute(c, blk.argv)
                finally:
                    srv.current_client = current
                srv.finish_block(blk, reply)

    def _start_timer(self) -> None:
        """Wake up at the end of the pause through the server's runner (a task in its nursery);
        the cron is the fallback, and without a runner (unit tests drive core.Server) the only
        way."""
        runner = self.server.runner
        if self.timer_running or runner is None:
            return
        delay = max(0.0, (self.end_ms - self.server.now_ms()) / 1000)
        self.timer_running = runner.call_later(delay, self._on_timer)

    def _on_timer(self) -> None:
        self.timer_running = False
        if self.server.client_pause is None:
            return
        if self.server.now_ms() >= self.end_ms:
            self.expire()
        else:  # the pause was extended meanwhile
            self._start_timer()


_SCRIPTS = frozenset({"eval", "evalsha", "fcall"})


def _pausable_write(c, cmd, argv) -> bool:
    """What CLIENT PAUSE WRITE holds: writes, may-replicate commands (a script as its shebang
    or function flags say), EXEC of such (processCommand's getCommandFlags)."""
    if cmd.name == "exec":
        return any(_pausable_one(c, q, a) for q, a in c.multi_queue)
    return _pausable_one(c, cmd, argv)


def _pausable_one(c, cmd, argv) -> bool:
    if cmd.write or (cmd.may_replicate and cmd.name != "ping"):
        return True
    name = cmd.name
    if name not in MAY_REPLICATE:
        return False
    if name in _SCRIPTS:
        flags = _script_flags(c.server, name, argv)
        if flags is not None:  # declared flags: a write unless no-writes
            return "no-writes" not in flags
    return True


def _script_flags(srv, name: str, argv):
    """A script's declared flags (evalGetCommandFlags / fcallGetCommandFlags), or None when
    it declares none or is unknown (then it may replicate)."""
    eng = getattr(srv, "scripting", None)
    if eng is None or len(argv) < 2:
        return None
    try:
        if name == "fcall":
            libs = eng.functions
            fn = libs.functions.get(argv[1].decode("utf-8", "surrogateescape")) if libs else None
            return fn.flags if fn is not None else None
        if name == "evalsha":
            script = eng.scripts.get(argv[1].lower().decode("latin-1"))
            return script.flags if script is not None else None
        from ..scripting.engine import parse_shebang
        from ..scripting.runtime import sha1hex

        script = eng.scripts.get(sha1hex(argv[1]))
        if script is not None:
            return script.flags
        return parse_shebang(argv[1])[0]
    except Exception:  # a bad shebang: the script's own run reports it
        return None


def pause_state(server) -> ClientPause:
    """The server's pause state, made at the first CLIENT PAUSE (core is still loading when
    this module is imported, so not through ``core.SERVER_INIT``)."""
    st = getattr(server, "pause_state", None)
    if st is None:
        st = server.pause_state = ClientPause(server)
    return st


@command("client|pause", -3, "admin noscript loading stale", group="connection",
         since="2.9.50", complexity="O(1)")
def client_pause(c, argv):
    """Stop processing commands from clients for some time"""
    n = len(argv)
    if n > 4:
        raise subcommand_syntax_error(argv)
    all_ = True
    if n == 4:
        mode = argv[3].lower()
        if mode == b"write":
            all_ = False
        elif mode != b"all":
            raise CommandError("ERR CLIENT PAUSE mode must be WRITE or ALL")
    ms = parse_int(argv[2], "ERR timeout is not an integer or out of range")
    if ms < 0:
        raise CommandError("ERR timeout is negative")
    srv = c.server
    pause_state(srv).pause(srv.now_ms() + ms, all_)
    return OK


@command("client|unpause", 2, "admin noscript loading stale", group="connection",
         since="6.2.0", complexity="O(N) Where N is the number of paused clients")
def client_unpause(c, argv):
    """Resume processing of clients that were paused"""
    srv = c.server
    st = pause_state(srv)
    if srv.client_pause is not None:
        if c.in_exec or srv.prop_buffer is not None:
            st.end_ms = 0  # inside EXEC: the next command or the cron releases them
        else:
            st.unpause()
    return OK

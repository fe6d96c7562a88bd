"""Connection commands: PING, ECHO, QUIT, SELECT, HELLO, AUTH, RESET and CLIENT.

Authentication knows one user, ``default``, whose password is ``requirepass`` (none: any
password is accepted, as Redis's ``nopass``). An ``authenticate`` hook, if a module registers
one, decides instead: ``fn(client, user, password) -> bool``.

CLIENT PAUSE holds clients rather than refusing them: ``Server.client_pause`` returns a
:class:`~trioredis.core.Block` with no keys for a command that must wait, the connection waits
on it like any blocked command, and when the pause ends each held command is run through
``Server.execute`` again, in arrival order, its reply (or new Block) completing the hold.
"""

from __future__ import annotations

import hmac

from ..blocking import Block
from ..errors import AUTH_NOT_CONFIGURED, INVALID_DB, SYNTAX, WRONGPASS, CommandError
from ..errors import wrong_arity as _wrong_arity
from ..protocol.replies import OK, Verbatim
from .args import parse_int
from .registry import command, container

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
    """Check ``user``/``password``; on success the client is authenticated as ``user``."""
    srv = c.server
    hook = srv.hooks.get("authenticate")
    if hook:
        ok = hook[0](c, user, password)
    elif user != b"default":
        ok = False
    else:
        required = srv.config["requirepass"]
        ok = not required or hmac.compare_digest(
            password, required.encode("utf-8", "surrogateescape")
        )
    if ok:
        c.authenticated = True
        c.user = user
        c.update_guard()
    return ok


def _nopass(server) -> bool:
    return not server.config["requirepass"] and not server.hooks.get("authenticate")


@command("auth", -2, "noscript loading stale fast no_auth allow_busy", group="connection",
         since="1.0.0",
         complexity="O(N) where N is the number of passwords defined for the user")
def auth(c, argv):
    """Authenticate to the server"""
    if len(argv) > 3:
        raise CommandError(SYNTAX)
    if len(argv) == 2:
        if _nopass(c.server):
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
    srv = c.server
    if c in srv.monitors:
        srv.monitors.remove(c)
    if c.in_multi:
        c.discard_multi()
    c.unwatch_all()
    srv.run_hooks("client_reset", c)  # pub/sub: unsubscribe everything, silently
    c.channels.clear()
    c.patterns.clear()
    c.shard_channels.clear()
    c.tracking = False
    c.select(0)
    c.set_resp(2)
    c.name = b""
    c.reply_mode = "on"
    c.no_evict = False
    c.no_touch = False
    c.user = b"default"
    c.authenticated = _nopass(srv)
    c.update_guard()
    return "RESET"


# -- CLIENT ----------------------------------------------------------------------------------

container("client", group="connection", since="2.4.0",
          summary="A container for client connection commands").complexity = (
    "Depends on subcommand.")

CLIENT_HELP = [
    "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CACHING (YES|NO)",
    "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
    "GETREDIR",
    "    Return the client ID we are redirecting to when tracking is enabled.",
    "GETNAME",
    "    Return the name of the current connection.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "KILL <ip:port>",
    "    Kill connection made from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]",
    "    Kill connections. Options are:",
    "    * ADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made from the specified address",
    "    * LADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made to specified local address",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Kill connections by type.",
    "    * USER <username>",
    "      Kill connections authenticated by <username>.",
    "    * SKIPME (YES|NO)",
    "      Skip killing current connection (default: yes).",
    "    * ID <client-id>",
    "      Kill connections by client id.",
    "    * MAXAGE <maxage>",
    "      Kill connections older than the specified age.",
    "LIST [options ...]",
    "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Return clients of specified type.",
    "UNPAUSE",
    "    Stop the current client pause, resuming traffic.",
    "PAUSE <timeout> [WRITE|ALL]",
    "    Suspend all, or just write, clients for <timeout> milliseconds.",
    "REPLY (ON|OFF|SKIP)",
    "    Control the replies sent to the current connection.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "SETINFO <option> <value>",
    "    Set client meta attr. Options are:",
    "    * LIB-NAME: the client lib name.",
    "    * LIB-VER: the client lib version.",
    "UNBLOCK <clientid> [TIMEOUT|ERROR]",
    "    Unblock the specified blocked client.",
    "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
    "         [OPTIN] [OPTOUT] [NOLOOP]",
    "    Control server assisted client side caching.",
    "TRACKINGINFO",
    "    Report tracking status for the current connection.",
    "NO-EVICT (ON|OFF)",
    "    Protect current client connection from eviction.",
    "NO-TOUCH (ON|OFF)",
    "    Will not touch LRU/LFU stats when this mode is on.",
    "HELP",
    "    Prints this help.",
]


def subcommand_syntax_error(argv) -> CommandError:
    """Redis's addReplySubcommandSyntaxError."""
    sub = argv[1].decode("utf-8", "replace")[:128]
    return CommandError(
        f"ERR unknown subcommand or wrong number of arguments for '{sub}'. "
        f"Try {argv[0].decode('utf-8', 'replace').upper()} HELP."
    )


@command("client|help", 2, "loading stale", group="connection", since="5.0.0",
         complexity="O(1)")
def client_help(c, argv):
    """Show helpful text about the different subcommands"""
    return CLIENT_HELP


@command("client|id", 2, "noscript loading stale", group="connection", since="5.0.0",
         complexity="O(1)")
def client_id(c, argv):
    """Returns the client ID for the current connection"""
    return c.id


def _set_name(c, name: bytes) -> None:
    if not valid_name(name):
        raise CommandError(BAD_NAME)
    c.name = name


@command("client|setname", 3, "noscript loading stale", group="connection", since="2.6.9",
         complexity="O(1)")
def client_setname(c, argv):
    """Set the current connection name"""
    _set_name(c, argv[2])
    return OK


@command("client|getname", 2, "noscript loading stale", group="connection", since="2.6.9",
         complexity="O(1)")
def client_getname(c, argv):
    """Get the current connection name"""
    return c.name or None


@command("client|setinfo", 4, "noscript loading stale", group="connection", since="7.2.0",
         complexity="O(1)")
def client_setinfo(c, argv):
    """Set client or connection specific info"""
    attr = argv[2].lower()
    if attr not in (b"lib-name", b"lib-ver"):
        raise CommandError(f"ERR Unrecognized option '{argv[2].decode('utf-8', 'replace')}'")
    if not valid_name(argv[3]):
        raise CommandError(
            f"ERR {argv[2].decode('utf-8', 'replace')} cannot contain spaces, newlines or "
            "special characters."
        )
    if attr == b"lib-name":
        c.lib_name = argv[3]
    else:
        c.lib_ver = argv[3]
    return OK


def _flags(c) -> bytes:
    """The ``flags=`` letters of CLIENT LIST, in Redis's order."""
    f = ""
    if c in c.server.monitors:
        f += "O"
    if c.is_replica:
        f += "S"
    if c.is_master:
        f += "M"
    if c.channels or c.patterns or c.shard_channels:
        f += "P"
    if c.in_multi:
        f += "x"
    if c.blocked is not None:
        f += "b"
    if c.tracking:
        f += "t"
    if c.dirty_cas:
        f += "d"
    if c.close_after_reply:
        f += "c"
    if c.killed:
        f += "A"
    if c.no_evict:
        f += "e"
    if c.no_touch:
        f += "T"
    return (f or "N").encode()


def client_info_line(c, now_ms: int | None = None) -> bytes:
    """One line of CLIENT LIST / CLIENT INFO, in Redis 7.0's field order."""
    if now_ms is None:
        now_ms = c.server.now_ms()
    now_s = now_ms // 1000
    conn = c.conn
    oll = len(conn.outq) if conn is not None else 0
    omem = conn.out_bytes if conn is not None else 0
    last = c.last_cmd
    cmd = last.name.encode() if hasattr(last, "name") else b"NULL"
    return (
        b"id=%d addr=%s laddr=%s fd=%d name=%s age=%d idle=%d flags=%s db=%d sub=%d psub=%d "
        b"ssub=%d multi=%d qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=%d "
        b"omem=%d tot-mem=%d events=%s cmd=%s user=%s redir=-1 resp=%d"
        % (
            c.id, c.addr.encode(), c.laddr.encode(), c.fd, c.name,
            now_s - c.created_ms // 1000, now_s - c.last_ms // 1000, _flags(c), c.db.id,
            len(c.channels), len(c.patterns), len(c.shard_channels),
            len(c.multi_queue) if c.in_multi else -1, oll, omem, omem,
            b"rw" if oll else b"r", cmd, c.user, c.resp,
        )
    )


_TYPES = {b"normal": "normal", b"replica": "replica", b"slave": "replica", b"pubsub": "pubsub",
          b"master": "master"}


def _client_type(name: bytes) -> str:
    kind = _TYPES.get(name.lower())
    if kind is None:
        raise CommandError(f"ERR Unknown client type '{name.decode('utf-8', 'replace')}'")
    return kind


@command("client|list", -2, "admin noscript loading stale", group="connection", since="2.4.0",
         complexity="O(N) where N is the number of client connections")
def client_list(c, argv):
    """Get the list of client connections"""
    srv = c.server
    now = srv.now_ms()
    if len(argv) == 4 and argv[2].lower() == b"type":
        kind = _client_type(argv[3])
        clients = [x for x in srv.clients.values() if x.kind() == kind]
    elif len(argv) > 3 and argv[2].lower() == b"id":
        clients = []
        for a in argv[3:]:
            x = srv.clients.get(parse_int(a, "ERR Invalid client ID"))
            if x is not None:
                clients.append(x)
    elif len(argv) != 2:
        raise CommandError(SYNTAX)
    else:
        clients = list(srv.clients.values())
    return Verbatim(b"".join([client_info_line(x, now) + b"\n" for x in clients]))


@command("client|info", 2, "noscript loading stale", group="connection", since="6.2.0",
         complexity="O(1)")
def client_info(c, argv):
    """Returns information about the current client connection."""
    return Verbatim(client_info_line(c) + b"\n")


def _kill(killer, target) -> None:
    if target is killer:
        killer.close_after_reply = True
    elif target.conn is not None:
        target.conn.kill()
    else:  # a client without a transport (tests, scripts)
        target.killed = True
        target.server.free_client(target)


@command("client|kill", -3, "admin noscript loading stale", group="connection", since="2.4.0",
         complexity="O(N) where N is the number of client connections")
def client_kill(c, argv):
    """Kill the connection of a client"""
    srv = c.server
    n = len(argv)
    addr = laddr = kind = user = None
    cid = maxage = 0
    skipme = True
    if n == 3:
        addr = argv[2].decode("utf-8", "replace")
        skipme = False  # with the old form you can kill yourself
    elif n > 3 and n % 2 == 0:
        for i in range(2, n, 2):
            opt, val = argv[i].lower(), argv[i + 1]
            if opt == b"id":
                cid = parse_int(val, "ERR client-id should be greater than 0")
                if cid < 1:
                    raise CommandError("ERR client-id should be greater than 0")
            elif opt == b"type":
                kind = _client_type(val)
            elif opt == b"addr":
                addr = val.decode("utf-8", "replace")
            elif opt == b"laddr":
                laddr = val.decode("utf-8", "replace")
            elif opt == b"user":
                if val != b"default" and not srv.hooks.get("authenticate"):
                    raise CommandError(f"ERR No such user '{val.decode('utf-8', 'replace')}'")
                user = val
            elif opt == b"skipme":
                v = val.lower()
                if v not in (b"yes", b"no"):
                    raise CommandError(SYNTAX)
                skipme = v == b"yes"
            elif opt == b"maxage":
                maxage = parse_int(val)
            else:
                raise CommandError(SYNTAX)
    else:
        raise CommandError(SYNTAX)
    now_s = srv.now_ms() // 1000
    victims = []
    for x in srv.clients.values():
        if addr is not None and x.addr != addr:
            continue
        if laddr is not None and x.laddr != laddr:
            continue
        if kind is not None and x.kind() != kind:
            continue
        if cid and x.id != cid:
            continue
        if user is not None and x.user != user:
            continue
        if maxage and now_s - x.created_ms // 1000 < maxage:
            continue
        if x is c and skipme:
            continue
        victims.append(x)
    for x in victims:
        _kill(c, x)
    if n == 3:
        if not victims:
            raise CommandError("ERR No such client")
        return OK
    return len(victims)


@command("client|reply", 3, "noscript loading stale", group="connection", since="3.2.0",
         complexity="O(1)")
def client_reply(c, argv):
    """Instruct the server whether to reply to commands"""
    mode = argv[2].lower()
    if mode == b"on":
        c.reply_mode = "on"
        return OK
    if mode == b"off":
        c.reply_mode = "off"
    elif mode == b"skip":
        if c.reply_mode != "off":
            c.reply_mode = "skip_next"  # the connection skips the reply after this one
    else:
        raise CommandError(SYNTAX)
    return OK  # not sent: replies are off or skipped from here


def _on_off(argv) -> bool:
    v = argv[2].lower()
    if v == b"on":
        return True
    if v == b"off":
        return False
    raise CommandError(SYNTAX)


@command("client|no-evict", 3, "admin noscript loading stale", group="connection",
         since="7.0.0", complexity="O(1)")
def client_no_evict(c, argv):
    """Set client eviction mode for the current connection"""
    c.no_evict = _on_off(argv)
    return OK


@command("client|no-touch", 3, "noscript loading stale", group="connection", since="7.2.0",
         complexity="O(1)")
def client_no_touch(c, argv):
    """Controls whether commands sent by the client will alter the LRU/LFU of the keys they
    access."""
    c.no_touch = _on_off(argv)
    return OK


@command("client|unblock", -3, "admin noscript loading stale", group="connection",
         since="5.0.0",
         complexity="O(log N) where N is the number of client connections")
def client_unblock(c, argv):
    """Unblock a client blocked in a blocking command from a different connection"""
    if len(argv) > 4:
        raise subcommand_syntax_error(argv)
    error = False
    if len(argv) == 4:
        reason = argv[3].lower()
        if reason == b"error":
            error = True
        elif reason != b"timeout":
            raise CommandError("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
    srv = c.server
    target = srv.clients.get(parse_int(argv[2]))
    blk = target.blocked if target is not None else None
    if blk is None or blk.done or blk.timeout_reply is HOLD:  # paused clients stay paused
        return 0
    if error:
        reply = srv.error_reply(UNBLOCKED)
    else:
        reply = blk.timeout_reply
        if callable(reply):  # WAIT answers with the replicas acknowledged by now
            reply = reply()
    srv.finish_block(blk, reply)
    return 1


# -- CLIENT PAUSE / UNPAUSE ------------------------------------------------------------------


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
        self.timer_running = False
        server.add_hook("cron", self.expire)

    def pause(self, end_ms: int, all_: bool) -> None:
        # A second PAUSE can only extend and widen the pause in effect (Redis keeps the max).
        if self.server.client_pause is None:
            self.end_ms, self.all = end_ms, all_
        else:
            self.end_ms, self.all = max(self.end_ms, end_ms), self.all or all_
        self.server.client_pause = self.check
        self.server.update_guard()
        self._start_timer()

    def check(self, c, cmd, argv):
        """``Server.client_pause``: a Block holding ``c`` if ``cmd`` must wait, else None."""
        srv = self.server
        if srv.now_ms() >= self.end_ms:
            self.unpause()
            return None
        if not self.all and not _pausable_write(c, cmd):
            return None
        blk = Block(c, cmd, argv, [], 0, HOLD)
        self.held.append(blk)
        return blk

    def expire(self) -> None:
        """Cron and the wake-up task: end the pause once its time has come."""
        if self.server.client_pause is not None and self.server.now_ms() >= self.end_ms:
            self.unpause()

    def unpause(self) -> None:
        """End the pause and run the held commands in the order they arrived."""
        srv = self.server
        srv.client_pause = None
        srv.update_guard()
        while self.held:
            held, self.held = self.held, []
            for blk in held:
                c = blk.client
                if blk.done or c.killed or srv.clients.get(c.id) is not c:
                    continue
                srv.finish_block(blk, srv.execute(c, blk.argv))

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


def _pausable_write(c, cmd) -> bool:
    """What CLIENT PAUSE WRITE holds: writes, may-replicate commands, EXEC of such."""
    if cmd.write or (cmd.may_replicate and cmd.name != "ping"):
        return True
    if cmd.name == "exec":
        return any(q.write or q.may_replicate for q, _ in c.multi_queue)
    return False


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

"""The CLIENT family (but PAUSE/UNPAUSE, which live with their state in :mod:`.connection`).

CLIENT LIST / INFO read the connection's buffers through ``client.conn.buffer_stats()`` (the
Trio connection keeps Redis's query-buffer accounting), so this module stays sans-I/O.
CLIENT TRACKING and its companions drive :mod:`trioredis.tracking`.
"""

from __future__ import annotations

from ..client_memory import memory_parts, multi_mem  # noqa: F401  (re-exported)
from ..errors import SYNTAX, CommandError
from ..protocol.replies import OK, SetReply, Verbatim
from ..tracking import tracking_of
from .args import parse_int
from .connection import HOLD, UNBLOCKED, _set_name, subcommand_syntax_error, valid_name
from .registry import command

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
    st = c.tracking_state
    if c.tracking:
        f += "t"
        if st.broken:
            f += "R"
        if st.bcast:
            f += "B"
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
    srv = c.server
    if now_ms is None:
        now_ms = srv.now_ms()
    now_s = now_ms // 1000
    (qbuf, qfree, argv_mem, argc, obl, oll, omem, rbs, rbp), mmem, tot = memory_parts(c, now_ms)
    last = c.last_cmd
    cmd = last.name.encode() if hasattr(last, "name") else b"NULL"
    redir = c.tracking_state.redirect if c.tracking else -1
    return (
        b"id=%d addr=%s laddr=%s fd=%d name=%s age=%d idle=%d flags=%s db=%d sub=%d psub=%d "
        b"ssub=%d multi=%d qbuf=%d qbuf-free=%d argv-mem=%d multi-mem=%d rbs=%d rbp=%d obl=%d "
        b"oll=%d omem=%d tot-mem=%d events=%s cmd=%s user=%s redir=%d resp=%d"
        % (
            c.id, c.addr.encode(), c.laddr.encode(), c.fd, c.name,
            now_s - c.created_ms // 1000, now_s - c.last_ms // 1000, _flags(c), c.db.id,
            len(c.channels), len(c.patterns), len(c.shard_channels),
            len(c.multi_queue) if c.in_multi else -1, qbuf, qfree, argv_mem, mmem, rbs, rbp,
            obl, oll, omem, tot, b"rw" if obl or oll else b"r", cmd, c.user, redir, c.resp,
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
                if val not in srv.acl.users and not srv.hooks.get("authenticate"):
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


# -- client-side caching ---------------------------------------------------------------------

ERR_REDIRECT_TWICE = "ERR A client can only redirect to a single other client"
ERR_REDIRECT_MISSING = "ERR The client ID you want redirect to does not exist"
ERR_PREFIX_NO_BCAST = "ERR PREFIX option requires BCAST mode to be enabled"
ERR_BCAST_SWITCH = (
    "ERR You can't switch BCAST mode on/off before disabling tracking for this client, and "
    "then re-enabling it with a different mode."
)
ERR_BCAST_OPTS = "ERR OPTIN and OPTOUT are not compatible with BCAST"
ERR_OPTIN_OPTOUT = "ERR You can't specify both OPTIN mode and OPTOUT mode"
ERR_OPT_SWITCH = (
    "ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and "
    "then re-enabling it with a different mode."
)
ERR_CACHING_OFF = (
    "ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or "
    "OPTOUT mode enabled"
)
ERR_CACHING_YES = "ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode."
ERR_CACHING_NO = "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode."


def _overlap(a: bytes, b: bytes) -> bool:
    """Redis's stringCheckPrefix: one of the two is a prefix of the other."""
    n = min(len(a), len(b))
    return a[:n] == b[:n]


def _check_prefixes(c, prefixes: list[bytes]) -> None:
    """Redis's checkPrefixCollisionsOrReply: a client's prefixes must not overlap."""
    st = c.tracking_state
    mine = sorted(st.prefixes) if st is not None and c.tracking else []
    for i, p in enumerate(prefixes):
        for q in mine:
            if _overlap(q, p):
                raise CommandError(
                    f"ERR Prefix '{_text(p)}' overlaps with an existing prefix '{_text(q)}'. "
                    "Prefixes for a single client must not overlap.")
        for q in prefixes[i + 1:]:
            if _overlap(p, q):
                raise CommandError(
                    f"ERR Prefix '{_text(p)}' overlaps with another provided prefix "
                    f"'{_text(q)}'. Prefixes for a single client must not overlap.")


def _text(b: bytes) -> str:
    return b.decode("utf-8", "replace")


@command("client|tracking", -3, "noscript loading stale", group="connection", since="6.0.0",
         complexity="O(1). Some options may introduce additional complexity.")
def client_tracking(c, argv):
    """Enable or disable server assisted client side caching support"""
    redirect = 0
    bcast = optin = optout = noloop = False
    prefixes: list[bytes] = []
    n = len(argv)
    j = 3
    while j < n:
        opt = argv[j].lower()
        more = n - 1 - j
        if opt == b"redirect" and more:
            j += 1
            if redirect:
                raise CommandError(ERR_REDIRECT_TWICE)
            redirect = parse_int(argv[j])
            if redirect not in c.server.clients:
                raise CommandError(ERR_REDIRECT_MISSING)
        elif opt == b"bcast":
            bcast = True
        elif opt == b"optin":
            optin = True
        elif opt == b"optout":
            optout = True
        elif opt == b"noloop":
            noloop = True
        elif opt == b"prefix" and more:
            j += 1
            prefixes.append(argv[j])
        else:
            raise CommandError(SYNTAX)
        j += 1
    mode = argv[2].lower()
    tr = tracking_of(c.server)
    if mode == b"on":
        st = c.tracking_state
        if prefixes and not bcast:
            raise CommandError(ERR_PREFIX_NO_BCAST)
        if c.tracking and st.bcast != bcast:
            raise CommandError(ERR_BCAST_SWITCH)
        if bcast and (optin or optout):
            raise CommandError(ERR_BCAST_OPTS)
        if optin and optout:
            raise CommandError(ERR_OPTIN_OPTOUT)
        if c.tracking and ((optin and st.optout) or (optout and st.optin)):
            raise CommandError(ERR_OPT_SWITCH)
        if bcast:
            _check_prefixes(c, prefixes)
        tr.enable(c, redirect, bcast, optin, optout, noloop, prefixes)
    elif mode == b"off":
        tr.disable(c)
    else:
        raise CommandError(SYNTAX)
    return OK


@command("client|caching", 3, "noscript loading stale", group="connection", since="6.0.0",
         complexity="O(1)")
def client_caching(c, argv):
    """Instruct the server about tracking or not keys in the next request"""
    if not c.tracking:
        raise CommandError(ERR_CACHING_OFF)
    st = c.tracking_state
    opt = argv[2].lower()
    if opt == b"yes":
        if not st.optin:
            raise CommandError(ERR_CACHING_YES)
    elif opt == b"no":
        if not st.optout:
            raise CommandError(ERR_CACHING_NO)
    else:
        raise CommandError(SYNTAX)
    st.caching = True
    return OK


@command("client|getredir", 2, "noscript loading stale", group="connection", since="6.0.0",
         complexity="O(1)")
def client_getredir(c, argv):
    """Get tracking notifications redirection client ID if any"""
    return c.tracking_state.redirect if c.tracking else -1


@command("client|trackinginfo", 2, "noscript loading stale", group="connection",
         since="6.2.0", complexity="O(1)")
def client_trackinginfo(c, argv):
    """Return information about server assisted client side caching for the current
    connection"""
    st = c.tracking_state
    if st is None:
        return {b"flags": SetReply([b"off"]), b"redirect": -1, b"prefixes": []}
    return {
        b"flags": SetReply(st.flags(c.tracking)),
        b"redirect": st.redirect if c.tracking else -1,
        b"prefixes": sorted(st.prefixes),
    }

"""MIGRATE: move (or copy) keys to another Redis instance, as DUMP here + RESTORE there.

Redis's MIGRATE blocks the whole server while it talks to the target: it connects, writes and
reads with synchronous socket calls bounded by the command's timeout (``connSyncWrite``,
``connSyncReadLine``). A command handler in trioredis never awaits, so the faithful behaviour is
the same: a blocking socket with that timeout, used inside the handler. Nothing else runs
meanwhile, exactly as in Redis, which is what makes the move atomic for the source's clients.

Connections are cached per ``host:port`` as Redis's ``migrate_cached_sockets`` (at most 64;
one idle for more than 10 seconds is closed by the cron) and remember the target's selected db
so a later MIGRATE to the same db skips the SELECT. A failed socket is closed and, unless the
failure was a timeout or a reply was already read, the transfer is retried once on a new one.
Without COPY the keys the target acknowledged are deleted here and the command propagates as
``DEL key ...``.
"""

from __future__ import annotations

import errno
import random
import socket
import time

from .. import extensions
from ..errors import SYNTAX, CommandError
from ..keyspace import NOTIFY_GENERIC
from ..persistence import rdb
from ..protocol.encoder import encode2
from ..protocol.replies import OK
from .args import parse_int
from .key_specs import spec
from .keys import lookup_read
from .registry import BY_NAME, command

CACHE_ITEMS = 64  # MIGRATE_SOCKET_CACHE_ITEMS
CACHE_TTL = 10  # MIGRATE_SOCKET_CACHE_TTL, seconds
CHUNK = 64 * 1024  # the request goes out in 64 KB writes

IOERR_CONNECT = "IOERR error or timeout connecting to the client"
IOERR_TRANSFER = "IOERR error or timeout {} to target instance"
KEYS_NEEDS_EMPTY_KEY = (
    "ERR When using MIGRATE KEYS option, the key argument must be set to the empty string")
TARGET_ERROR = "ERR Target instance replied with error: {}"


class _Cached:
    """One cached connection to a target (Redis's migrateCachedSocket)."""

    __slots__ = ("sock", "last_dbid", "last_use", "buf")

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.last_dbid = -1
        self.last_use = time.time()
        self.buf = bytearray()

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


class _SocketError(Exception):
    """A write or read on the target's socket failed (``timed_out``: it ran out of time)."""

    def __init__(self, timed_out: bool):
        super().__init__("timeout" if timed_out else "socket error")
        self.timed_out = timed_out


class MigrateSockets:
    """The per-server cache of target connections."""

    def __init__(self, server):
        self.server = server
        self.cache: dict[bytes, _Cached] = {}
        server.add_hook("cron", self.close_idle)

    def get(self, host: bytes, port: bytes, timeout_ms: int) -> _Cached | None:
        """The cached connection to host:port, or a new one (None when it cannot connect).

        Redis connects without blocking and only waits for the socket to become writable,
        so a refused connection "succeeds" and fails at the first write ("IOERR error or
        timeout writing"); only a timeout or an address that cannot be used fails here. A
        refused connection gives a closed socket that fails the same way."""
        name = host + b":" + port
        cs = self.cache.get(name)
        if cs is not None:
            cs.last_use = time.time()
            return cs
        if len(self.cache) >= CACHE_ITEMS:
            victim = random.choice(list(self.cache))  # Redis drops one at random
            self.cache.pop(victim).close()
        try:
            port_no = int(port)
        except ValueError:
            port_no = 0  # Redis's atoi: the connection then fails
        try:
            sock = socket.create_connection(
                (host.decode(errors="replace"), port_no), timeout=timeout_ms / 1000)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except (ConnectionRefusedError, ConnectionResetError):
            sock = socket.socket()
            sock.close()  # fails at the first write, as Redis's refused socket does
        except (OSError, OverflowError, ValueError, UnicodeError):
            return None
        cs = _Cached(sock)
        self.cache[name] = cs
        return cs

    def close(self, host: bytes, port: bytes) -> None:
        cs = self.cache.pop(host + b":" + port, None)
        if cs is not None:
            cs.close()

    def close_idle(self) -> None:
        """Cron: close connections unused for more than CACHE_TTL seconds."""
        if not self.cache:
            return
        now = time.time()
        for name, cs in list(self.cache.items()):
            if now - cs.last_use > CACHE_TTL:
                del self.cache[name]
                cs.close()


def _install(server) -> None:
    server.migrate_sockets = MigrateSockets(server)


extensions.SERVER_INIT.append(_install)


def _write_all(cs: _Cached, data: bytes, timeout_ms: int) -> None:
    deadline = time.monotonic() + timeout_ms / 1000
    view = memoryview(data)
    try:
        for pos in range(0, len(data), CHUNK):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _SocketError(True)
            cs.sock.settimeout(remaining)
            cs.sock.sendall(view[pos:pos + CHUNK])
    except TimeoutError:
        raise _SocketError(True) from None
    except OSError as e:
        raise _SocketError(e.errno == errno.ETIMEDOUT) from None


def _read_line(cs: _Cached, timeout_ms: int) -> bytes:
    """One reply line without its CRLF (Redis's connSyncReadLine)."""
    deadline = time.monotonic() + timeout_ms / 1000
    buf = cs.buf
    while True:
        i = buf.find(b"\n")
        if i >= 0:
            line = bytes(buf[:i])
            del buf[:i + 1]
            return line[:-1] if line.endswith(b"\r") else line
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _SocketError(True)
        try:
            cs.sock.settimeout(remaining)
            data = cs.sock.recv(65536)
        except TimeoutError:
            raise _SocketError(True) from None
        except OSError as e:
            raise _SocketError(e.errno == errno.ETIMEDOUT) from None
        if not data:
            raise _SocketError(False)
        buf += data


def _parse(argv: list) -> tuple:
    """Options after the first six arguments: (copy, replace, username, password, keys)."""
    copy = replace = False
    username = password = None
    keys = [argv[3]]
    n = len(argv)
    j = 6
    while j < n:
        opt = argv[j].lower()
        more = n - 1 - j
        if opt == b"copy":
            copy = True
        elif opt == b"replace":
            replace = True
        elif opt == b"auth":
            if more < 1:
                raise CommandError(SYNTAX)
            j += 1
            password = argv[j]
        elif opt == b"auth2":
            if more < 2:
                raise CommandError(SYNTAX)
            username, password = argv[j + 1], argv[j + 2]
            j += 2
        elif opt == b"keys":
            if argv[3]:
                raise CommandError(KEYS_NEEDS_EMPTY_KEY)
            keys = argv[j + 1:]
            break
        else:
            raise CommandError(SYNTAX)
        j += 1
    return copy, replace, username, password, keys


def _migrate_keys(argv: list) -> list[int]:
    """Key positions: the key argument, or everything after KEYS (migrateGetKeys)."""
    n = len(argv)
    j = 6
    while j < n:
        opt = argv[j].lower()
        if opt == b"auth":
            j += 1
        elif opt == b"auth2":
            j += 2
        elif opt == b"keys":
            if argv[3]:
                return []
            return list(range(j + 1, n))
        j += 1
    return [3]


@command("migrate", -6, "write", keys=(3, 3, 1), group="generic", since="2.6.0",
         getkeys=_migrate_keys,
         complexity="This command actually executes a DUMP+DEL in the source instance, and a "
         "RESTORE in the target instance. See the pages of these commands for time "
         "complexity. Also an O(N) data transfer between the two instances is performed.")
def migrate(c, argv):
    """Atomically transfer a key from a Redis instance to another one."""
    copy, replace, username, password, keys = _parse(argv)
    timeout = parse_int(argv[5])
    dbid = parse_int(argv[4])
    if timeout <= 0:
        timeout = 1000
    db = c.db
    found = [(k, v) for k in keys if (v := lookup_read(db, k)) is not None]
    if not found:
        return "NOKEY"
    srv = c.server
    sockets: MigrateSockets = srv.migrate_sockets
    host, port = argv[1], argv[2]
    may_retry = True
    while True:
        cs = sockets.get(host, port, timeout)
        if cs is None:
            raise CommandError(IOERR_CONNECT)
        outcome = _transfer(c, cs, found, dbid, timeout, copy, replace, username, password,
                            may_retry)
        if outcome == "retry":
            sockets.close(host, port)
            may_retry = False
            continue
        if isinstance(outcome, _SocketError):
            sockets.close(host, port)
            raise CommandError(IOERR_TRANSFER.format(outcome.args[0]))
        return outcome


def _transfer(c, cs: _Cached, found: list, dbid: int, timeout: int, copy: bool,
              replace: bool, username, password, may_retry: bool):
    """One attempt: OK, an error reply, "retry", or a _SocketError carrying the failed stage
    ("writing" or "reading") in its args."""
    srv = c.server
    db = c.db
    parts = []
    if password is not None:
        parts.append(encode2([b"AUTH", username, password] if username is not None
                             else [b"AUTH", password]))
    select = cs.last_dbid != dbid
    if select:
        parts.append(encode2([b"SELECT", b"%d" % dbid]))
    limits = rdb.Limits(srv.config)
    now = srv.now_ms()
    sent = []
    for key, value in found:
        ttl = 0
        when = db.ttl_ms(key)
        if when is not None:
            ttl = when - now
            if ttl < 0:
                continue  # expired since the lookup: not moved
            ttl = max(ttl, 1)
        # A cluster node's target may be importing the slot: RESTORE-ASKING, as Redis sends.
        restore = b"RESTORE-ASKING" if srv.config["cluster-enabled"] else b"RESTORE"
        args = [restore, key, b"%d" % ttl, rdb.dump_payload(value, limits)]
        if replace:
            args.append(b"REPLACE")
        parts.append(encode2(args))
        sent.append(key)
    try:
        _write_all(cs, b"".join(parts), timeout)
    except _SocketError as e:
        return _failed(e, "writing", may_retry)
    try:
        auth_reply = _read_line(cs, timeout) if password is not None else b""
        select_reply = _read_line(cs, timeout) if select else b""
    except _SocketError as e:
        return _failed(e, "reading", may_retry)
    target_error = None
    deleted = []
    socket_error = None
    for j, key in enumerate(sent):
        try:
            reply = _read_line(cs, timeout)
        except _SocketError as e:
            socket_error = e
            if target_error is None and j == 0 and may_retry and not e.timed_out:
                return "retry"
            break
        if auth_reply[:1] == b"-" or select_reply[:1] == b"-" or reply[:1] == b"-":
            if target_error is None:
                cs.last_dbid = -1  # the target's db is unknown after an error
                if auth_reply[:1] == b"-":
                    bad = auth_reply
                elif select_reply[:1] == b"-":
                    bad = select_reply
                else:
                    bad = reply
                target_error = TARGET_ERROR.format(bad[1:].decode(errors="replace"))
        elif not copy:
            db.delete(key)
            db.modified(key, b"del", NOTIFY_GENERIC)
            deleted.append(key)
    if deleted:
        c.propagate_as = [[b"DEL", *deleted]]  # propagated even when the reply is an error
    if target_error is not None:
        raise CommandError(target_error)
    if socket_error is not None:
        return _stage_error("reading", socket_error)
    cs.last_dbid = dbid
    return OK


def _failed(e: _SocketError, stage: str, may_retry: bool):
    if may_retry and not e.timed_out:
        return "retry"
    return _stage_error(stage, e)


def _stage_error(stage: str, e: _SocketError) -> _SocketError:
    """The error to report, naming the stage that failed ("writing" or "reading")."""
    out = _SocketError(e.timed_out)
    out.args = (stage,)
    return out


BY_NAME["migrate"].key_specs = [
    spec("RW access delete", 3, 0),
    spec("RW access delete incomplete", ("KEYS", -2), -1),
]
BY_NAME["migrate"].history = [
    ["3.0.0", "Added the `COPY` and `REPLACE` options."],
    ["3.0.6", "Added the `KEYS` option."],
    ["4.0.7", "Added the `AUTH` option."],
    ["6.0.0", "Added the `AUTH2` option."],
]

# COMMAND DOCS arguments, fields in Redis's order.
BY_NAME["migrate"].doc_args = [
    {"name": "host", "type": "string"},
    {"name": "port", "type": "integer"},
    {"name": "key_or_empty_string", "type": "oneof", "arguments": [
        {"name": "key", "type": "key", "key_spec_index": 0},
        {"name": "empty_string", "type": "pure-token", "token": ""},
    ]},
    {"name": "destination-db", "type": "integer"},
    {"name": "timeout", "type": "integer"},
    {"name": "copy", "type": "pure-token", "token": "COPY", "since": "3.0.0",
     "flags": ["optional"]},
    {"name": "replace", "type": "pure-token", "token": "REPLACE", "since": "3.0.0",
     "flags": ["optional"]},
    {"name": "authentication", "type": "oneof", "flags": ["optional"], "arguments": [
        {"name": "password", "type": "string", "token": "AUTH", "since": "4.0.7",
         "flags": ["optional"]},
        {"name": "username_password", "type": "block", "token": "AUTH2", "since": "6.0.0",
         "flags": ["optional"], "arguments": [
             {"name": "username", "type": "string"},
             {"name": "password", "type": "string"},
         ]},
    ]},
    {"name": "key", "type": "key", "key_spec_index": 1, "token": "KEYS", "since": "3.0.6",
     "flags": ["optional", "multiple"]},
]

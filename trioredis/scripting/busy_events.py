"""Serving other clients while a script is busy: Redis's processEventsWhileBlocked.

A script runs synchronously inside its EVAL handler on the Trio loop, so no task runs until it
returns. Once it is past ``busy-reply-threshold``, the engine's count hook calls
:func:`process` every 100 000 Lua instructions: it polls the sockets of the other connections
(not the script's caller, nor connections in the middle of a batch, draining output, or
blocked), reads the requests that arrived complete, runs them through ``Server.execute`` (which
answers ``-BUSY`` to everything but ``allow_busy`` commands such as SCRIPT KILL and SHUTDOWN
NOSAVE) and writes the replies with a non-blocking send (any rest goes out through the
connection's usual flusher once the loop runs again).

A connection whose request loop runs is read into the loop's own parser (so a request that
began before the script, or arrives in pieces during it, is answered ``-BUSY`` once complete,
and what is incomplete stays for the loop). A connection accepted meanwhile, or a TLS one, is
read with MSG_PEEK first and only consumed when the bytes hold whole requests.
"""

from __future__ import annotations

import select
import socket

from ..blocking import Block
from ..protocol.parser import RequestParser

READ_SIZE = 64 * 1024


def install(runner) -> None:
    runner.server.process_events_while_busy = lambda: process(runner)


def _whole(parser: RequestParser) -> bool:
    """The parser holds no partial request (everything fed was complete requests)."""
    return (
        parser.error is None
        and not parser._q
        and parser._mb == 0
        and parser._bl == -1
        and not parser._have
    )


def _listeners(runner) -> list:
    socks = list(runner.listeners)
    if runner.unix_listener is not None:
        socks.append(runner.unix_listener)
    return [s for s in socks if s.fileno() >= 0]


def _accept(runner, lsock) -> None:
    """Accept the connections waiting on ``lsock`` as the accept loop would, so that clients
    that connect during a busy script are answered (``-BUSY``) instead of waiting in the
    backlog; their tasks start when the loop runs again."""
    from ..connection import Connection
    from ..server import fmt_addr

    srv = runner.server
    while True:
        try:
            sock, addr = lsock.accept()
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            return  # out of descriptors...: the accept loop logs and retries later
        sock.setblocking(False)
        if sock.family != socket.AF_UNIX:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if len(srv.clients) >= srv.config["maxclients"]:
            srv.stat_rejected_conn += 1
            try:
                sock.send(b"-ERR max number of clients reached\r\n")
            except OSError:
                pass
            sock.close()
            continue
        if sock.family == socket.AF_UNIX:
            peer = local = f"{lsock.getsockname()}:0"
        else:
            peer = fmt_addr(addr)
            local = fmt_addr(sock.getsockname())
        client = srv.new_client(peer, local, sock.fileno())
        conn = Connection(srv, sock, client, runner.log)
        runner.connections.add(conn)  # _run_connection adds it again when it starts
        runner.conns.start_soon(runner._run_connection, conn)


def process(runner) -> None:
    srv = runner.server
    if runner.conns is not None:
        listeners = _listeners(runner)
        if listeners:
            poller = select.poll()
            for s in listeners:
                poller.register(s.fileno(), select.POLLIN)
            ready = {fd for fd, _ in poller.poll(0)}
            for s in listeners:
                if s.fileno() in ready:
                    _accept(runner, s)
    from ..connection import Connection

    conns = {}
    watched = {}  # not served now (output pending, blocked): only a hang-up is looked for
    for conn in list(runner.connections):
        if conn.closed or conn.busy or conn.client.killed:
            continue  # (the script's caller is busy: it is never freed meanwhile)
        if conn.draining or conn.outq or conn.client.blocked is not None:
            if type(conn).wait_readable is Connection.wait_readable:  # (not TLS)
                watched[conn.sock.fileno()] = conn
        else:
            conns[conn.sock.fileno()] = conn
    if not conns and not watched:
        return
    poller = select.poll()
    for fd in conns:
        poller.register(fd, select.POLLIN)
    for fd in watched:
        poller.register(fd, select.POLLIN)
    for fd, _ in poller.poll(0):
        conn = conns.get(fd)
        if conn is not None:
            _serve(srv, conn)
            continue
        conn = watched.get(fd)
        if conn is not None and _hung_up(conn):
            _free(srv, conn)


def _hung_up(conn) -> bool:
    try:
        return conn.sock.recv(1, socket.MSG_PEEK) == b""
    except (BlockingIOError, InterruptedError):
        return False
    except OSError:
        return True


def _free(srv, conn) -> None:
    """A client that hung up is freed at once, as processEventsWhileBlocked does (its
    freeClientsInAsyncFreeQueue): a replica that left stops counting for INFO's
    connected_slaves and min-replicas while the script still runs. The connection's task
    frees it again when the loop runs (free_client is idempotent, as client eviction uses)."""
    conn.peer_closed = True
    conn.kill()
    srv.free_client(conn.client)


def _serve(srv, conn) -> None:
    from ..connection import Connection

    if conn.parser is not None and type(conn).wait_readable is Connection.wait_readable:
        _serve_into_parser(srv, conn)
    else:
        _serve_peeked(srv, conn)


def _serve_into_parser(srv, conn) -> None:
    """A plain connection whose request loop runs: what arrived goes into the loop's own
    parser, as Redis reads into the client's query buffer. A request that had begun to
    arrive before the script (held by the parser) is answered once its last bytes come;
    what is still incomplete stays in the parser for the loop."""
    c = conn.client
    try:
        data = conn.sock.recv(READ_SIZE)
    except (BlockingIOError, InterruptedError):
        return
    except OSError:
        return
    if not data:
        _free(srv, conn)
        return
    srv.stat_net_input_bytes += len(data)
    parser = conn.parser
    if parser.authenticated is not c.authenticated:
        parser.set_authenticated(c.authenticated)
    conn.qbuf.read(parser.held()[0], len(data))
    reqs = parser.feed(data)
    _run(srv, conn, reqs)
    conn.qbuf.processed(*parser.held())
    if parser.error is not None and not c.close_after_reply:
        from ..protocol.encoder import error_line

        conn.outq.append(error_line(parser.error))
        c.close_after_reply = True
    _send(srv, conn)


def _serve_peeked(srv, conn) -> None:
    """A connection whose loop has not started (accepted meanwhile) or a TLS one: whole
    requests only, read with MSG_PEEK first (the rest is left to the connection's task)."""
    c = conn.client
    sock = conn.sock
    try:
        data = sock.recv(READ_SIZE, socket.MSG_PEEK)
    except (BlockingIOError, InterruptedError):
        return
    except OSError:
        return
    if not data or data[:1] != b"*":
        return  # a hang-up, or inline/partial input: left to the connection's task
    parser = RequestParser(srv.config["proto-max-bulk-len"], c.authenticated)
    reqs = parser.feed(data)
    if not _whole(parser):
        return
    try:
        sock.recv(len(data))
    except OSError:
        return
    srv.stat_net_input_bytes += len(data)
    _run(srv, conn, reqs)
    _send(srv, conn)


def _run(srv, conn, reqs) -> None:
    """Run requests inside the busy script. Keys the script made ready are not served
    meanwhile (Redis skips handleClientsBlockedOnKeys inside a yielding long command): a
    blocked client is served after the script, with what the whole script left."""
    held, srv.ready_keys = srv.ready_keys, []
    try:
        _execute_all(srv, conn, reqs)
    finally:
        srv.ready_keys = held + srv.ready_keys


def _execute_all(srv, conn, reqs) -> None:
    c = conn.client
    out = conn.outq
    for argv in reqs:
        reply = srv.execute(c, argv)
        if reply.__class__ is Block:  # cannot wait here: act as a non-blocking command
            reply = reply.timeout_reply() if callable(reply.timeout_reply) else reply.timeout_reply
        if c.reply_mode == "on":
            out.append(c.encode(reply))
        elif c.reply_mode == "skip":
            c.reply_mode = "on"
        elif c.reply_mode == "skip_next":
            c.reply_mode = "skip"
        if c.close_after_reply or c.killed:
            break


def _send(srv, conn) -> None:
    c = conn.client
    out = conn.outq
    if out:
        conn.out_bytes += sum(map(len, out))
        conn.send_now()
        if conn.outq and conn.nursery is None and srv.flusher is not None:
            srv.flusher.add(conn)  # a connection accepted meanwhile: sent when the loop runs
    if c.close_after_reply:
        conn.kill()

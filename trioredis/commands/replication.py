"""Replication commands: REPLICAOF/SLAVEOF, PSYNC/SYNC, REPLCONF, WAIT."""

from __future__ import annotations

from ..errors import CommandError
from ..protocol.replies import OK, Raw
from ..replication import replication_of
from ..replication.master import REPLICA_ONLINE
from .args import parse_int
from .registry import command


def _replicaof(c, argv):
    srv = c.server
    repl = replication_of(srv)
    host, port = argv[1], argv[2]
    if host.lower() == b"no" and port.lower() == b"one":
        if srv.role == "slave":
            repl.promote()
            srv.log.notice("MASTER MODE enabled (user request from "
                           f"'id={c.id} addr={c.addr} laddr={c.laddr}')")
        return OK
    if c.is_replica:
        raise CommandError("ERR Command is not valid when client is a replica.")
    p = parse_int(port)
    if not 0 <= p <= 65535:
        raise CommandError("ERR Invalid master port")
    h = host.decode()
    if srv.role == "slave" and repl.master_host == h and repl.master_port == p:
        srv.log.notice("REPLICAOF would result into synchronization with the master we are "
                       "already connected with. No operation performed.")
        return Raw(b"+OK Already connected to specified master\r\n")
    repl.follow(h, p)
    srv.log.notice(f"REPLICAOF {h}:{p} enabled (user request from 'id={c.id} addr={c.addr} "
                   f"laddr={c.laddr}')")
    return OK


command("replicaof", 3, "admin noscript stale no_async_loading", group="server",
        since="5.0.0", summary="Configure a server as replica of another, or remove its replica status")(
    _replicaof)
command("slaveof", 3, "admin noscript stale no_async_loading", group="server",
        since="1.0.0", summary="Configure a server as replica of another, or remove its replica status")(
    _replicaof)


@command("psync", -3, "admin noscript no_async_loading no_multi", group="server", since="2.8.0")
def psync(c, argv):
    """An internal command used in replication"""
    srv = c.server
    repl = replication_of(srv)
    if c.is_replica:
        return Raw(b"")
    if srv.role == "slave" and (repl.link is None or not repl.link.is_up()):
        raise CommandError("NOMASTERLINK Can't SYNC while not connected with my master")
    replid = argv[1].decode(errors="replace")
    try:
        offset = parse_int(argv[2])
    except CommandError:
        info = repl.by_client.get(c.id)
        ip = c.addr.rsplit(":", 1)[0].strip("[]")
        name = f"{ip}:{info.port}" if info is not None and info.port else \
            f"{ip}:<unknown-replica-port>"
        srv.log.warning(f"Replica {name} asks for synchronization but with a wrong offset")
        raise
    return repl.psync(c, replid, offset)


@command("sync", 1, "admin noscript no_async_loading no_multi", group="server", since="1.0.0")
def sync(c, argv):
    """An internal command used in replication"""
    srv = c.server
    repl = replication_of(srv)
    if c.is_replica:
        return Raw(b"")
    if srv.role == "slave" and (repl.link is None or not repl.link.is_up()):
        raise CommandError("NOMASTERLINK Can't SYNC while not connected with my master")
    return repl.full_sync(c, with_header=False)


@command("replconf", -1, "admin noscript loading stale allow_busy", group="server",
         since="3.0.0")
def replconf(c, argv):
    """An internal command for configuring the replication stream"""
    srv = c.server
    repl = replication_of(srv)
    if len(argv) % 2 == 0:
        raise CommandError("ERR syntax error")
    info = repl.attach(c) if not c.is_master else None
    for i in range(1, len(argv), 2):
        opt, val = argv[i].lower(), argv[i + 1]
        if opt == b"listening-port":
            info.port = parse_int(val)
        elif opt == b"ip-address":
            info.ip = val.decode(errors="replace")
        elif opt == b"capa":
            info.capa.add(val.decode(errors="replace").lower())
        elif opt == b"ack":
            # Replicas send this once a second and after GETACK; it never gets a reply.
            if info is not None and info.state == REPLICA_ONLINE:
                offset = parse_int(val)
                repl.record_ack(c, offset)
            return Raw(b"")
        elif opt == b"getack":
            if c.is_master and repl.link is not None:
                return [b"REPLCONF", b"ACK", b"%d" % repl.link.offset]
            return Raw(b"")
        elif opt in (b"rdb-only", b"rdb-filter-only"):
            pass
        else:
            raise CommandError(f"ERR Unrecognized REPLCONF option: {argv[i].decode(errors='replace')}")
    return OK


@command("wait", 3, "noscript", group="generic", since="3.0.0",
         summary="Wait for the synchronous replication of all the write commands sent in the "
         "context of the current connection")
def wait(c, argv):
    """Wait for the synchronous replication of this connection's writes"""
    srv = c.server
    repl = replication_of(srv)
    if srv.role == "slave":
        raise CommandError(
            "ERR WAIT cannot be used with replica instances. Please also note that since Redis "
            "4.0 if a replica is configured to be writable (which is not the default) writes to "
            "replicas are just local and are not propagated."
        )
    numreplicas = parse_int(argv[1])
    timeout = parse_int(argv[2], "ERR timeout is not an integer or out of range")
    if timeout < 0:
        raise CommandError("ERR timeout is negative")
    offset = c.woff
    acked = repl.acked(offset)
    if acked >= numreplicas or c.in_exec:
        return acked
    blk = srv.block(c, [], timeout / 1000.0, lambda: repl.acked(offset), argv=[b"WAIT"])
    if blk.__class__ is int:
        return blk
    blk.argv = (numreplicas, offset)
    repl.waiting.append(blk)
    repl.request_acks()
    return blk

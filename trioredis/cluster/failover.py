"""FAILOVER (Redis 7.0): hand the master role to a replica without losing a write.

The core of Redis's coordinated failover: writes are paused (CLIENT PAUSE WRITE), the master
waits until the target replica (given with ``TO host port``, or any replica) has acknowledged
the whole replication stream, then the target is promoted and this server becomes its replica,
continuing the same history with a partial resync (PSYNC2: the target keeps our replication id
as its second id). Redis tells the target to promote itself with ``PSYNC ... FAILOVER`` on the
replication handshake; here the master sends it ``REPLICAOF NO ONE`` on a side connection
first, which works with a real Redis replica too. Paused writes are then refused with
``-READONLY`` as in Redis. ``TIMEOUT`` aborts (or with ``FORCE`` fails over anyway) when the
replica does not catch up in time; ``FAILOVER ABORT`` cancels.
"""

from __future__ import annotations

import trio

from ..errors import SYNTAX, CommandError
from ..protocol.replies import OK

NO_FAILOVER = "no-failover"
WAIT_FOR_SYNC = "waiting-for-sync"
IN_PROGRESS = "failover-in-progress"
POLL_S = 0.05


class FailoverState:
    def __init__(self, server):
        self.server = server
        self.state = NO_FAILOVER
        self.host: str | None = None
        self.port = 0
        self.end_ms = 0
        self.force = False
        self.scope: trio.CancelScope | None = None
        server.add_hook("info_replication", self._info)

    def _info(self, server, lines: list[str]) -> None:
        for i, line in enumerate(lines):
            if line.startswith("master_failover_state:"):
                lines[i] = f"master_failover_state:{self.state}"

    def _target_name(self) -> str:
        return f"{self.host}:{self.port}" if self.host else "any replica"

    def clear(self) -> None:
        from ..commands.connection import pause_state

        srv = self.server
        self.state = NO_FAILOVER
        self.host, self.port, self.end_ms, self.force = None, 0, 0, False
        if self.scope is not None:
            self.scope.cancel()
            self.scope = None
        if srv.client_pause is not None:
            pause_state(srv).unpause()

    def abort(self, reason: str) -> None:
        if self.state == NO_FAILOVER:
            return
        srv = self.server
        srv.log.notice(f"FAILOVER to {self._target_name()} aborted: {reason}")
        if self.state == IN_PROGRESS and srv.role == "slave":
            srv.replication.promote()
        self.clear()

    def _find(self, host: str, port: int):
        for r in self.server.replication.replicas:
            if r.ip.lower() == host.lower() and r.port == port:
                return r
        return None

    def _synced_target(self):
        srv = self.server
        if self.host is not None:
            r = self._find(self.host, self.port)
            return r if r is not None and r.ack_offset == srv.master_repl_offset else None
        for r in srv.replication.replicas:
            if r.ack_offset == srv.master_repl_offset:
                self.host, self.port = r.ip, r.port
                return r
        return None

    async def run(self) -> None:
        from .peer import PeerLink

        srv = self.server
        log = srv.log
        with self.scope:
            while True:
                if self.end_ms and srv.now_ms() >= self.end_ms:
                    if self.force:
                        log.notice(f"FAILOVER to {self.host}:{self.port} time out exceeded, "
                                   "failing over.")
                        break
                    self.abort("Replica never caught up before timeout")
                    return
                if self._synced_target() is not None:
                    log.notice(f"Failover target {self.host}:{self.port} is synced, failing "
                               "over.")
                    break
                await trio.sleep(POLL_S)
            self.state = IN_PROGRESS
            link = PeerLink(srv, self.host, self.port)
            try:
                reply = await link.call([b"REPLICAOF", b"NO", b"ONE"], 5.0)
            finally:
                link.close()
            if reply != b"OK":
                self.abort(f"the target did not take the master role ({reply!r})")
                return
            srv.replication.follow(self.host, self.port)
            with trio.move_on_after(10):
                while srv.replication.link is None or not srv.replication.link.is_up():
                    await trio.sleep(POLL_S)
        self.scope = None
        self.clear()


def state_of(server) -> FailoverState:
    st = getattr(server, "failover_state", None)
    if st is None:
        st = server.failover_state = FailoverState(server)
    return st


def failover_command(c, argv):
    """Start a coordinated failover between this server and one of its replicas."""
    from ..commands.args import parse_int
    from ..commands.connection import pause_state
    from . import cluster_of

    srv = c.server
    if cluster_of(srv) is not None:
        raise CommandError("ERR FAILOVER is not allowed on a member of a trioredis group: "
                           "the group elects its leader.")
    st = state_of(srv)
    if len(argv) == 2 and argv[1].lower() == b"abort":
        if st.state == NO_FAILOVER:
            raise CommandError("ERR No failover in progress.")
        st.abort("Failover manually aborted")
        return OK
    timeout = 0
    force = False
    host = None
    port = 0
    j = 1
    while j < len(argv):
        opt = argv[j].lower()
        if opt == b"timeout" and j + 1 < len(argv) and timeout == 0:
            timeout = parse_int(argv[j + 1])
            if timeout <= 0:
                raise CommandError("ERR FAILOVER timeout must be greater than 0")
            j += 2
        elif opt == b"to" and j + 2 < len(argv) and host is None:
            port = parse_int(argv[j + 2])
            host = argv[j + 1].decode("utf-8", "replace")
            j += 3
        elif opt == b"force" and not force:
            force = True
            j += 1
        else:
            raise CommandError(SYNTAX)
    if st.state != NO_FAILOVER:
        raise CommandError("ERR FAILOVER already in progress.")
    if srv.role == "slave":
        raise CommandError("ERR FAILOVER is not valid when server is a replica.")
    repl = srv.replication
    if not repl.replicas:
        raise CommandError("ERR FAILOVER requires connected replicas.")
    if force and (not timeout or host is None):
        raise CommandError("ERR FAILOVER with force option requires both a timeout and target "
                           "HOST and IP.")
    if host is not None:
        r = st._find(host, port)
        if r is None:
            raise CommandError("ERR FAILOVER target HOST and PORT is not a replica.")
        if r.state != "online":
            raise CommandError("ERR FAILOVER target replica is not online.")
        srv.log.notice(f"FAILOVER requested to {host}:{port}.")
    else:
        srv.log.notice("FAILOVER requested to any replica.")
    if srv.runner is None:
        raise CommandError("ERR FAILOVER needs a running server")
    st.host, st.port, st.force = host, port, force
    st.end_ms = srv.now_ms() + timeout if timeout else 0
    st.state = WAIT_FOR_SYNC
    st.scope = trio.CancelScope()
    pause_state(srv).pause(srv.now_ms() + 10**12, False)
    srv.runner.spawn(st.run)
    return OK

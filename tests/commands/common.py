"""Helpers shared by the command-family tests: raw differential scripts and an in-process
server that records keyspace events and propagated commands."""

from __future__ import annotations

from trioredis.core import ManualClock, Server
from trioredis.keyspace import NOTIFY_NEW


def same(pair, script, sort=False):
    """Run ``script`` on trioredis and real Redis; the raw replies must be equal."""
    ours, theirs = pair
    for cmd in script:
        args = cmd.split() if isinstance(cmd, str) else cmd
        a, b = ours.command(*args), theirs.command(*args)
        if sort:  # hash order differs: compare the lines of the reply as a multiset
            a, b = sorted(a.split(b"\r\n")), sorted(b.split(b"\r\n"))
        assert a == b, args


def lines(text: str) -> list[str]:
    return [ln.strip() for ln in text.strip().splitlines() if ln.strip()]


class Harness:
    """A bare core.Server with recorded keyspace events and propagation."""

    def __init__(self, **config):
        self.srv = Server(clock=ManualClock())
        for k, v in config.items():
            self.srv.config.set(k.replace("_", "-"), str(v))
        self.events: list = []
        self.props: list = []
        self.srv.notify_flags = ~NOTIFY_NEW  # every class but 'new' (key creation)
        self.srv.notify = lambda kind, event, key, dbid: self.events.append((event, key))
        self.srv.propagate_targets.append(lambda dbid, argv: self.props.append(argv))
        self.c = self.srv.new_client()

    def __call__(self, *args):
        argv = [a if isinstance(a, bytes) else str(a).encode() for a in args]
        return self.srv.execute(self.c, argv)

    def take(self):
        ev, pr = self.events, self.props
        self.events, self.props = [], []
        return ev, pr

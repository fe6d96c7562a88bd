"""Serve clients woken together in the order they became ready, as Redis does.

Redis handles the sockets that one ``epoll_wait`` reports ready in the order epoll lists them,
so when two clients' commands arrive together, the one that arrived first runs first. Clients
rely on that across connections: Redis's own test suite sends ``PUNSUBSCRIBE`` on one
connection and at once ``PUBLISH`` on another, and expects the publish to find no subscriber.

Trio, to shake out hidden ordering assumptions, runs each batch of woken tasks either in the
order they were woken or reversed, at random (``trio._core._run._r.random() < 0.5``). The
server process (``trioredis server``) therefore swaps that private random source for one that
always chooses the wake-up order. Only the CLI does this: a Trio program that embeds trioredis
through ``serve()`` keeps Trio's scheduler as it is. If a Trio release changes the internals,
nothing is patched and the order is Trio's again (correct, only less Redis-like).
"""

from __future__ import annotations

import random


class _WakeupOrder(random.Random):
    """``random()`` is always 0.0: Trio reverses every batch, and since it pops tasks from the
    end of the batch, that runs them first-woken first. (Trio also draws a clock offset from
    it: a constant offset is as good as a random one.)"""

    def random(self) -> float:
        return 0.0


def serve_in_wakeup_order() -> bool:
    """Make this process's Trio run woken tasks first-woken first; False if Trio's internals
    are not what this expects (then nothing is changed)."""
    try:
        from trio._core import _run
    except ImportError:
        return False
    current = getattr(_run, "_r", None)
    if isinstance(current, _WakeupOrder):
        return True
    if not isinstance(current, random.Random) or getattr(_run, "_ALLOW_DETERMINISTIC_SCHEDULING", True):
        return False
    _run._r = _WakeupOrder()
    return True

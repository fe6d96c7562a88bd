"""The server process serves tasks woken together in wake-up order (trioredis/scheduling.py)."""

from __future__ import annotations

import subprocess
import sys

PROGRAM = r"""
import sys
import trio
from trioredis.scheduling import serve_in_wakeup_order

if sys.argv[1] == "fifo":
    assert serve_in_wakeup_order()

async def main():
    orders = set()
    for _ in range(40):
        events = [trio.Event() for _ in range(8)]
        ran = []
        async with trio.open_nursery() as n:
            for i, ev in enumerate(events):
                async def wait(i=i, ev=ev):
                    await ev.wait()
                    ran.append(i)
                n.start_soon(wait)
            await trio.testing.wait_all_tasks_blocked()
            for ev in events:  # woken in this order, in one batch
                ev.set()
        orders.add(tuple(ran))
    print(sorted(orders))

import trio.testing
trio.run(main)
"""


def _orders(mode: str) -> list:
    out = subprocess.run([sys.executable, "-c", PROGRAM, mode], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    return eval(out)


def test_woken_tasks_run_in_wakeup_order():
    assert _orders("fifo") == [tuple(range(8))]


def test_trio_alone_runs_them_in_either_order():
    """What the patch is for: without it, Trio reverses some batches (40 tries: the chance of
    never seeing both orders is 2**-39)."""
    assert len(_orders("trio")) == 2

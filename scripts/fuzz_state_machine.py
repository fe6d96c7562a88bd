#!/usr/bin/env python3
"""The long run of tests/test_hostile_state_machine.py: random command sequences across every
type, errors included, sent to a trioredis and to a real redis-server (both started here on
loopback), every reply compared. Prints the failing sequence, shrunk, when one differs.

    python scripts/fuzz_state_machine.py                       # 2,000 sequences of 100 steps
    python scripts/fuzz_state_machine.py --examples 20000 --steps 200 --seed 7
"""

from __future__ import annotations

import argparse
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from hypothesis import HealthCheck, seed, settings  # noqa: E402
from hypothesis.stateful import run_state_machine_as_test  # noqa: E402

from tests.helpers import RealRedis, ThreadedServer  # noqa: E402
from tests.hostile_machine import make_machine  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--examples", type=int, default=2000)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--no-encoding", action="store_true",
                    help="leave OBJECT ENCODING out (it finds INCRBYFLOAT's known difference)")
    args = ap.parse_args()
    real = RealRedis()
    ours = ThreadedServer().start()
    machine = make_machine(ours.port, real.port, encodings=not args.no_encoding)
    counted = {"n": 0}
    base_init = machine.__init__

    def counting_init(self):
        counted["n"] += 1
        base_init(self)

    machine.__init__ = counting_init
    t0 = time.monotonic()
    try:
        test = lambda: run_state_machine_as_test(machine, settings=settings(  # noqa: E731
            max_examples=args.examples, stateful_step_count=args.steps, deadline=None,
            database=None, suppress_health_check=list(HealthCheck)))
        if args.seed is not None:
            test = seed(args.seed)(test)
        test()
    finally:
        ours.stop()
        real.stop()
    print(f"{counted['n']} sequences of up to {args.steps} steps: every reply equal "
          f"({time.monotonic() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""The AOF crash test, many times over, and what ``appendfsync everysec`` puts at risk.

1. ``appendfsync always``: N rounds of tests/persistence/test_aof_crash.py (20 writer clients,
   SIGKILL at a random moment, restart, every acknowledged write present as a prefix of each
   client's sequence, no half transaction).
2. ``appendfsync everysec``: the same rounds, counting acknowledged writes missing after the
   restart. A SIGKILL cannot lose them (the reply goes out after write(2): the data is in the
   OS page cache), so this shows 0; only an OS crash or power loss loses the writes not yet
   fsynced. To put a number on that, the last part samples, under the same 20-client load,
   how many logged bytes (and commands) are written but not yet fsynced at any moment.

    python benchmarks/aof_crash_soak.py            # 20 rounds of each
    python benchmarks/aof_crash_soak.py -n 5
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import redis  # noqa: E402

from tests.helpers import ThreadedServer  # noqa: E402


def load_crash_module():
    path = os.path.join(ROOT, "tests", "persistence", "test_aof_crash.py")
    spec = importlib.util.spec_from_file_location("aof_crash", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def rounds(mod, n: int, fsync: str) -> list[dict]:
    out = []
    for i in range(n):
        t0 = time.monotonic()
        try:
            res = mod.crash_once(1000 + i, fsync=fsync, kill_after=(0.3, 2.0))
        except AssertionError as e:  # a lost write or a half transaction: keep going, report
            res = {"acked": 0, "survived": 0, "lost": 0, "failed": str(e)}
            print(f"  {fsync} round {i + 1}/{n}: FAILED: {e}", flush=True)
        res["seconds"] = time.monotonic() - t0
        out.append(res)
        if "failed" not in res:
            print(f"  {fsync} round {i + 1}/{n}: acked {res['acked']}, survived "
                  f"{res['survived']}, lost {res['lost']} ({res['seconds']:.1f} s)", flush=True)
    return out


def unsynced_window(seconds: float = 5.0, clients: int = 20) -> dict:
    """everysec under load: bytes (and commands) logged, acknowledged, not yet fsynced."""
    with ThreadedServer(appendonly="yes", appendfsync="everysec") as s:
        stop = threading.Event()
        done = [0] * clients

        def work(t: int) -> None:
            r = redis.Redis(port=s.port, protocol=2)
            i = 0
            while not stop.is_set():
                r.set(f"k:{t}:{i}", "v" * 16)
                i += 1
            done[t] = i
            r.close()

        threads = [threading.Thread(target=work, args=(t,)) for t in range(clients)]
        for t in threads:
            t.start()
        samples = []
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            samples.append(s.call(lambda: s.server.aof.written - s.server.aof.synced))
            time.sleep(0.01)
        stop.set()
        for t in threads:
            t.join()
        written = s.call(lambda: s.server.aof.written)
    per_cmd = written / max(sum(done), 1)
    return {"commands": sum(done), "max_bytes": max(samples), "mean_bytes": statistics.mean(samples),
            "max_cmds": max(samples) / per_cmd, "mean_cmds": statistics.mean(samples) / per_cmd,
            "rate": sum(done) / seconds}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", "--rounds", type=int, default=20)
    args = ap.parse_args()
    mod = load_crash_module()
    print(f"appendfsync always: {args.rounds} SIGKILL rounds")
    always = rounds(mod, args.rounds, "always")
    print(f"appendfsync everysec: {args.rounds} SIGKILL rounds")
    everysec = rounds(mod, args.rounds, "everysec")
    print("appendfsync everysec: written but not yet fsynced, 20 clients, 5 s")
    w = unsynced_window()
    print()
    print("| appendfsync | rounds | acked writes (total) | lost after SIGKILL | failed rounds |")
    print("|---|---|---|---|---|")
    for name, res in (("always", always), ("everysec", everysec)):
        print(f"| {name} | {len(res)} | {sum(r['acked'] for r in res):,} | "
              f"{sum(r['lost'] for r in res)} | {sum('failed' in r for r in res)} |")
    print()
    print(f"everysec, {w['rate']:,.0f} SET/s from 20 clients: not yet fsynced at a random moment "
          f"(lost on power failure): mean {w['mean_bytes']:,.0f} bytes (~{w['mean_cmds']:,.0f} "
          f"writes), max {w['max_bytes']:,.0f} bytes (~{w['max_cmds']:,.0f} writes)")


if __name__ == "__main__":
    main()

"""Soak test of the built-in failover: leader kills and partitions, repeated.

    python benchmarks/cluster_soak.py [--kills 20] [--partitions 10]

Kill rounds (one 3-node group): a writer sends ``SET k v`` + ``WAIT 1 0`` to the leader, the
leader is SIGKILLed, the time until a single new leader is measured, every write WAIT confirmed
is looked up on the new leader, and the killed node is restarted with ``--cluster-join`` and
must catch up (DEBUG DIGEST equal everywhere) before the next round.

Partition rounds (one 3-node group behind fault-injecting proxies, tests/cluster/harness.py):
a writer sends ``SET`` + ``WAIT 1 100`` to the leader, the leader is cut off from both
followers, the time until the majority side has a new leader is measured, the isolated leader
must refuse writes, then the network heals and the old leader must step down and resync.

Prints the WAIT-confirmed writes lost (must be 0), time to a new leader (p50, max), writes
the isolated leader accepted before fencing itself (not confirmed, so allowed to be lost), and
full vs partial resyncs (from every node's sync counters).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import redis  # noqa: E402

from tests.cluster.harness import NODE_TIMEOUT_MS, Group, wait_until  # noqa: E402


class Writer(threading.Thread):
    def __init__(self, node, prefix: str, wait_timeout_ms: int):
        super().__init__(daemon=True)
        self.node = node
        self.prefix = prefix
        self.wait_timeout_ms = wait_timeout_ms
        self.confirmed: list[str] = []
        self.accepted = 0
        self.stopping = threading.Event()

    def run(self) -> None:
        c = self.node.client(timeout=10)
        i = 0
        try:
            while not self.stopping.is_set():
                key = f"{self.prefix}:{i}"
                i += 1
                try:
                    c.set(key, key)
                except redis.ResponseError:
                    time.sleep(0.01)  # fenced: refused, not accepted
                    continue
                self.accepted += 1
                if c.execute_command("WAIT", 1, self.wait_timeout_ms) >= 1:
                    self.confirmed.append(key)
        except (redis.RedisError, OSError):
            pass
        finally:
            c.close()

    def stop(self) -> None:
        self.stopping.set()
        self.join(20)


def lost(node, keys: list[str]) -> int:
    c = node.client(timeout=10)
    n = 0
    for start in range(0, len(keys), 1000):
        batch = keys[start:start + 1000]
        n += sum(1 for k, v in zip(batch, c.mget(batch), strict=True) if v != k.encode())
    c.close()
    return n


class SyncCounter:
    """Full and partial resyncs served, summed over nodes and their restarts."""

    def __init__(self):
        self.seen: dict[int, tuple[int, int]] = {}
        self.full = self.partial = 0

    def update(self, group: Group) -> None:
        for n in group.nodes:
            if not n.alive():
                continue
            info = n.info()
            now = (int(info["cluster_sync_full"]), int(info["cluster_sync_partial_ok"]))
            before = self.seen.get(n.pid, (0, 0))
            self.full += now[0] - before[0]
            self.partial += now[1] - before[1]
            self.seen[n.pid] = now


def kill_rounds(rounds: int) -> dict:
    times, confirmed_total, lost_total = [], 0, 0
    syncs = SyncCounter()
    with Group(3) as group:
        syncs.update(group)
        base_full, base_partial = syncs.full, syncs.partial  # the initial joins
        for r in range(rounds):
            leader = group.wait_healthy()
            w = Writer(leader, f"kill{r}", 0)
            w.start()
            wait_until(lambda w=w: len(w.confirmed) >= 200, 30, "confirmed writes")
            syncs.update(group)
            leader.kill()
            t0 = time.monotonic()
            new = group.wait_leader([n for n in group.nodes if n.alive()], 30)
            times.append(time.monotonic() - t0)
            w.stop()
            confirmed_total += len(w.confirmed)
            lost_total += lost(new, w.confirmed)
            group.restart(leader, "--cluster-join", f"127.0.0.1:{new.port}")
            group.wait_healthy()
            group.wait_same_data(30)
            syncs.update(group)
            print(f"  kill {r + 1}/{rounds}: new leader after {times[-1]:.2f}s, "
                  f"{len(w.confirmed)} confirmed, lost so far {lost_total}", flush=True)
        group.check_terms()
    return {"times": times, "confirmed": confirmed_total, "lost": lost_total,
            "full": syncs.full - base_full, "partial": syncs.partial - base_partial}


def partition_rounds(rounds: int) -> dict:
    times, fence_times, confirmed_total, lost_total, unconfirmed = [], [], 0, 0, 0
    syncs = SyncCounter()
    all_confirmed: list[str] = []
    with Group(3, with_net=True) as group:
        syncs.update(group)
        base_full, base_partial = syncs.full, syncs.partial
        for r in range(rounds):
            old = group.wait_healthy()
            others = [n for n in group.nodes if n is not old]
            w = Writer(old, f"part{r}", 100)
            w.start()
            wait_until(lambda w=w: len(w.confirmed) >= 200, 30, "confirmed writes")
            syncs.update(group)
            group.net.isolate(old, others)
            t0 = time.monotonic()
            new, fence_t = None, None

            def fenced(old=old):
                try:
                    old.client(timeout=2).set("probe", "1")
                except redis.ResponseError:
                    return True
                return False

            while new is None or fence_t is None:  # both, timed from the cut
                assert time.monotonic() - t0 < 30, "no new leader or no fencing"
                if new is None:
                    new = group.leader(others)
                    if new is not None:
                        times.append(time.monotonic() - t0)
                if fence_t is None and fenced():
                    fence_t = time.monotonic() - t0
                    fence_times.append(fence_t)
                time.sleep(0.01)
            w.stop()
            c = new.client()
            for i in range(50):
                c.set(f"part{r}:new{i}", f"part{r}:new{i}")
            assert c.wait(1, 5000) == 1
            w.confirmed += [f"part{r}:new{i}" for i in range(50)]
            group.net.heal()
            group.wait_healthy(60)
            group.wait_same_data(30)
            syncs.update(group)
            confirmed_total += len(w.confirmed)
            all_confirmed += w.confirmed
            lost_now = lost(new, w.confirmed)
            lost_total += lost_now
            unconfirmed += w.accepted - (len(w.confirmed) - 50)
            print(f"  partition {r + 1}/{rounds}: new leader after {times[-1]:.2f}s, fenced "
                  f"after {fence_times[-1]:.2f}s, {len(w.confirmed)} confirmed, lost {lost_now}",
                  flush=True)
        final = group.wait_healthy()
        lost_total = lost(final, all_confirmed)
        group.check_terms()
    return {"times": times, "fence": fence_times, "confirmed": confirmed_total,
            "lost": lost_total, "unconfirmed": unconfirmed,
            "full": syncs.full - base_full, "partial": syncs.partial - base_partial}


def summary(name: str, res: dict) -> None:
    t = res["times"]
    print(f"{name}: {len(t)} rounds, lost WAIT-confirmed writes: {res['lost']} of "
          f"{res['confirmed']}")
    print(f"  time to new leader: p50 {statistics.median(t):.2f}s, max {max(t):.2f}s "
          f"(cluster-node-timeout {NODE_TIMEOUT_MS} ms)")
    if "fence" in res:
        f = res["fence"]
        print(f"  isolated leader refusing writes after: p50 {statistics.median(f):.2f}s, "
              f"max {max(f):.2f}s; unconfirmed writes it accepted first: {res['unconfirmed']}")
    print(f"  resyncs: full {res['full']}, partial {res['partial']}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--partitions", type=int, default=10)
    args = ap.parse_args()
    results = []
    if args.kills:
        print(f"leader kills x{args.kills}", flush=True)
        results.append(("kill", kill_rounds(args.kills)))
    if args.partitions:
        print(f"leader partitions x{args.partitions}", flush=True)
        results.append(("partition", partition_rounds(args.partitions)))
    print()
    for name, res in results:
        summary(name, res)
    return 1 if any(res["lost"] for _, res in results) else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""RDB benchmarks against a real redis-server: loading 1,000,000 keys, and BGSAVE under load.

1. A real redis-server 7.0 builds a dataset of mixed types (strings, lists, hashes, sets,
   sorted sets, a few streams; ``--keys`` in total, fed through ``redis-cli --pipe``) and
   SAVEs it. trioredis and a fresh redis-server then start on copies of that file; we time
   each from process start to the first ``+PONG`` (a loading server answers ``-LOADING``),
   read the ``DB loaded from disk: N seconds`` log line, and compare DBSIZE.
2. On those loaded servers, ``redis-benchmark -t set`` / ``-t get`` (-c 50 -P 1) runs on
   CPU 1 while we sample its 250 ms progress lines. After a quiet window we send BGSAVE and
   poll ``rdb_bgsave_in_progress``; the table gives requests/s before and during the BGSAVE
   and their ratio (the target is >= 0.70).

Servers are pinned to CPU 0 and the fork child inherits that, so it shares CPU 0 with its
parent (as on a one-core box); redis-benchmark and redis-cli run on CPU 1.

    python benchmarks/rdb_bench.py              # 1,000,000 keys
    python benchmarks/rdb_bench.py --keys 100000 --window 2
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import cpu_seconds, free_port, pinned  # noqa: E402

SERVER_CPU, BENCH_CPU = (0, 1) if (os.cpu_count() or 1) >= 2 else (None, None)


# ---------------------------------------------------------------- the dataset

def resp(*args: str) -> str:
    out = [f"*{len(args)}\r\n"]
    for a in args:
        out.append(f"${len(a.encode())}\r\n{a}\r\n")
    return "".join(out)


def dataset(keys: int) -> tuple[bytes, dict[str, int]]:
    """RESP for ``keys`` keys: 50% strings, 15% lists, 15% hashes, 10% sets, the rest sorted
    sets, and 10 streams of 1,000 entries each (small collections: listpack encodings)."""
    streams = 10
    n_str, n_list, n_hash, n_set = keys // 2, keys * 15 // 100, keys * 15 // 100, keys // 10
    n_zset = keys - n_str - n_list - n_hash - n_set - streams
    parts: list[str] = []
    for i in range(n_str):
        parts.append(resp("SET", f"s:{i}", f"value-{i}"))
    for i in range(n_list):
        parts.append(resp("RPUSH", f"l:{i}", "a", "b", str(i), "d", "e"))
    for i in range(n_hash):
        parts.append(resp("HSET", f"h:{i}", "f1", "v1", "f2", str(i), "f3", "v3"))
    for i in range(n_set):
        parts.append(resp("SADD", f"t:{i}", "x", "y", str(i), "z"))
    for i in range(n_zset):
        parts.append(resp("ZADD", f"z:{i}", "1", "a", "2.5", "b", str(i), "c"))
    for i in range(streams):
        for j in range(1000):
            parts.append(resp("XADD", f"x:{i}", f"{j + 1}-0", "field", f"v{j}", "n", str(j)))
    counts = {"string": n_str, "list": n_list, "hash": n_hash, "set": n_set,
              "zset": n_zset, "stream": streams}
    return "".join(parts).encode(), counts


def cmd(port: int, *args: str) -> bytes:
    """One command over a fresh connection; the raw reply's first line."""
    with socket.create_connection(("127.0.0.1", port), timeout=600) as s:
        s.sendall(resp(*args).encode())
        buf = b""
        while b"\r\n" not in buf:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
        if buf.startswith(b"$"):  # a bulk string: read the body too
            n = int(buf[1:buf.index(b"\r\n")])
            while len(buf) < buf.index(b"\r\n") + 2 + n:
                buf += s.recv(65536)
            return buf[buf.index(b"\r\n") + 2:][:n]
        return buf.split(b"\r\n", 1)[0]


# ---------------------------------------------------------------- servers

class Server:
    def __init__(self, name: str, argv: list[str], port: int, log: str):
        self.name, self.port, self.log = name, port, log
        self.t0 = time.monotonic()
        with open(log, "wb") as f:
            self.proc = subprocess.Popen(argv, stdout=f, stderr=subprocess.STDOUT)

    def wait_pong(self, timeout: float = 600) -> float:
        """Seconds from process start to the first +PONG."""
        deadline = self.t0 + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {open(self.log).read()[-2000:]}")
            try:
                if cmd(self.port, "PING") == b"+PONG":
                    return time.monotonic() - self.t0
            except OSError:
                pass
            time.sleep(0.01)
        raise TimeoutError(self.name)

    def loaded_secs(self) -> str:
        m = re.findall(rb"DB loaded from disk: ([0-9.]+) seconds", open(self.log, "rb").read())
        return m[-1].decode() if m else "?"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def redis_server(port: int, d: str, name: str = "redis") -> Server:
    argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", d, "--dbfilename", "dump.rdb"]
    return Server(name, pinned(argv, SERVER_CPU), port, os.path.join(d, "server.log"))


def trioredis_server(port: int, d: str) -> Server:
    argv = [sys.executable, "-m", "trioredis", "server", "--port", str(port), "--dir", d,
            "--dbfilename", "dump.rdb", "--save", "", "--appendonly", "no"]
    return Server("trioredis", pinned(argv, SERVER_CPU), port, os.path.join(d, "server.log"))


def build_rdb(root: str, keys: int) -> tuple[str, dict[str, int], float]:
    d = os.path.join(root, "build")
    os.mkdir(d)
    payload, counts = dataset(keys)
    srv = redis_server(free_port(), d, "builder")
    try:
        srv.wait_pong()
        subprocess.run(pinned(["redis-cli", "-p", str(srv.port), "--pipe"], BENCH_CPU),
                       input=payload, capture_output=True, check=True, timeout=900)
        assert int(cmd(srv.port, "DBSIZE")[1:]) == keys
        t = time.monotonic()
        assert cmd(srv.port, "SAVE") == b"+OK"
        save_secs = time.monotonic() - t
    finally:
        srv.stop()
    return os.path.join(d, "dump.rdb"), counts, save_secs


# ---------------------------------------------------------------- BGSAVE under load

class Progress:
    """redis-benchmark's ``TITLE: rps=X (overall: Y)`` lines, timestamped as they arrive."""

    RPS = re.compile(rb"rps=([0-9.]+) \(overall")

    def __init__(self, port: int, test: str):
        argv = ["redis-benchmark", "-p", str(port), "-t", test, "-c", "50", "-P", "1",
                "-r", "1000000", "-n", "1000000000"]
        self.proc = subprocess.Popen(pinned(argv, BENCH_CPU), stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL)
        self.samples: list[tuple[float, float]] = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        buf = b""
        fd = self.proc.stdout.fileno()
        while True:
            chunk = os.read(fd, 4096)
            if not chunk:
                return
            now = time.monotonic()
            buf += chunk
            *lines, buf = buf.split(b"\r")
            for line in lines:
                m = self.RPS.search(line)
                if m:
                    self.samples.append((now, float(m.group(1))))

    def mean(self, start: float, end: float) -> float:
        """Mean of the 250 ms samples that cover only [start, end]; for a window shorter than
        that, the samples that overlap it."""
        xs = [r for t, r in self.samples if start + 0.25 <= t <= end]
        if not xs:
            xs = [r for t, r in self.samples if start < t <= end + 0.25]
        return sum(xs) / len(xs) if xs else float("nan")

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()
        self.thread.join(5)


def children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def bgsave_under_load(srv: Server, test: str, window: float,
                      child_cpu: int | None) -> tuple[float, float, float, float]:
    """(normal rps, rps during BGSAVE, BGSAVE seconds, the child's CPU seconds)"""
    p = Progress(srv.port, test)
    try:
        time.sleep(1.0)  # warm up: connections made, first sample out
        n0 = time.monotonic()
        time.sleep(window)
        n1 = time.monotonic()
        reply = cmd(srv.port, "BGSAVE")
        b0 = time.monotonic()
        assert reply.startswith(b"+Background saving started"), reply
        kids = children(srv.proc.pid)
        if child_cpu is not None:
            for kid in kids:
                subprocess.run(["taskset", "-p", "-c", str(child_cpu), str(kid)],
                               capture_output=True)
        child_cpu_secs = 0.0
        while b"rdb_bgsave_in_progress:1" in cmd(srv.port, "INFO", "persistence"):
            for kid in kids:
                try:
                    child_cpu_secs = max(child_cpu_secs, cpu_seconds(kid))
                except OSError:
                    pass
            time.sleep(0.05)
        b1 = time.monotonic()
        info = cmd(srv.port, "INFO", "persistence")
        assert b"rdb_last_bgsave_status:ok" in info, info
        time.sleep(0.5)
    finally:
        p.stop()
    return p.mean(n0, n1), p.mean(b0, b1), b1 - b0, child_cpu_secs


# ---------------------------------------------------------------- main

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--keys", type=int, default=1_000_000)
    ap.add_argument("--window", type=float, default=3.0, help="seconds of normal load")
    ap.add_argument("--tests", default="set,get", help="redis-benchmark -t names")
    ap.add_argument("--child-cpu", type=int, default=None,
                    help="move the BGSAVE child to this CPU (default: it stays with its parent)")
    args = ap.parse_args()
    for tool in ("redis-server", "redis-cli", "redis-benchmark"):
        if not shutil.which(tool):
            sys.exit(f"{tool} not found")
    root = tempfile.mkdtemp(prefix="trioredis-rdb-bench-")
    servers: list[Server] = []
    try:
        t = time.monotonic()
        rdb_path, counts, save_secs = build_rdb(root, args.keys)
        size = os.path.getsize(rdb_path)
        print(f"dataset: {args.keys:,} keys {counts}, built in {time.monotonic() - t:.1f} s; "
              f"redis SAVE {save_secs:.2f} s, {size / 2**20:.1f} MiB\n")

        load_rows = []
        for make in (trioredis_server, redis_server):
            d = tempfile.mkdtemp(dir=root)
            shutil.copy(rdb_path, os.path.join(d, "dump.rdb"))
            srv = make(free_port(), d)
            servers.append(srv)
            pong = srv.wait_pong()
            dbsize = int(cmd(srv.port, "DBSIZE")[1:])
            load_rows.append((srv.name, pong, srv.loaded_secs(), dbsize))
        print("| server | start to first PONG (s) | `DB loaded from disk` (s) | DBSIZE |")
        print("|---|---|---|---|")
        for name, pong, loaded, dbsize in load_rows:
            print(f"| {name} | {pong:.2f} | {loaded} | {dbsize:,} |")
        same = load_rows[0][3] == load_rows[1][3] == args.keys
        print(f"\nDBSIZE equal to the {args.keys:,} keys written: {same}\n")

        where = "CPU 0 with its parent" if args.child_cpu is None else f"CPU {args.child_cpu}"
        print(f"BGSAVE child on {where}\n")
        print("| server | test | normal rps | rps during BGSAVE | during/normal | "
              "BGSAVE (s) | child CPU (s) |")
        print("|---|---|---|---|---|---|---|")
        for srv in servers:
            for test in args.tests.split(","):
                normal, during, secs, child = bgsave_under_load(srv, test, args.window,
                                                                args.child_cpu)
                print(f"| {srv.name} | {test.upper()} -c 50 -P 1 | {normal:,.0f} | "
                      f"{during:,.0f} | {during / normal:.2f} | {secs:.2f} | {child:.2f} |",
                      flush=True)
    finally:
        for srv in servers:
            srv.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()

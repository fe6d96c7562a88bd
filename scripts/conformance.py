#!/usr/bin/env python3
"""Redis's own Tcl suite against trioredis, unit by unit, beside real Redis's count.

    python scripts/conformance.py                      # every spawn-mode unit, ours and real Redis's
    python scripts/conformance.py unit/dump unit/info  # some units
    python scripts/conformance.py --external           # the 17 core units in external mode
    python scripts/conformance.py --write-doc          # also refresh the table in docs/compatibility.md

Spawn mode lets the harness start ``trioredis server`` itself (so the units that need their own
servers run: replication, AOF, RDB, ACL, shutdown...); it takes 30-60 minutes for the default
list. Run it before resolving a conformance issue; ``.ci/run`` runs only the external core units
(tests/conformance). Needs ../shared/redis-suite, tclsh and redis-tools, and Debian's
redis-server for the reference counts.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conformance.redis_suite import CORE_UNITS, missing_reason, run_unit  # noqa: E402

DOC = ROOT / "docs" / "compatibility.md"
BEGIN, END = "<!-- conformance table: begin -->", "<!-- conformance table: end -->"


def spawn_units() -> list[str]:
    """The default list of redis-suite's spawn mode (its CORE and MORE lists)."""
    text = Path(os.environ.get("REDIS_SUITE", ROOT.parent / "shared" / "redis-suite")).read_text()
    units = []
    for name in ("CORE", "MORE"):
        m = re.search(rf'^{name}="([^"]*)"', text, re.M | re.S)
        units += m.group(1).split()
    return units


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_external(unit: str, real: bool, logdir: Path) -> tuple[int, list[str]]:
    port = free_port()
    work = Path(tempfile.mkdtemp(prefix="conformance-"))
    if real:
        cmd = ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no",
               "--dir", str(work)]
    else:
        cmd = [sys.executable, "-m", "trioredis", "server", "--port", str(port), "--save", "",
               "--dir", str(work), "--loglevel", "warning"]
    proc = subprocess.Popen(cmd, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        import socket

        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        res = run_unit(["external", str(port)], unit, logdir)
        return res.ok, res.failed
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


def run_spawn(unit: str, real: bool, logdir: Path, baseport: int) -> tuple[int, list[str]]:
    args = ["spawn", "--real"] if real else ["spawn"]
    env = {"BASEPORT": str(baseport)}
    beside = Path(sys.executable).parent / "trioredis"  # this venv's, even when not activated
    if beside.exists():
        env.setdefault("TRIOREDIS", os.environ.get("TRIOREDIS", str(beside)))
    res = run_unit(args, unit, logdir, timeout=1200, env=env)
    return res.ok, res.failed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("units", nargs="*")
    ap.add_argument("--external", action="store_true", help="external mode (the core units)")
    ap.add_argument("--no-real", action="store_true", help="skip real Redis's count")
    ap.add_argument("--write-doc", action="store_true", help="refresh docs/compatibility.md")
    ap.add_argument("--baseport", type=int, default=21111)
    opts = ap.parse_args()
    reason = missing_reason()
    if reason:
        print(reason)
        return 5
    units = opts.units or (CORE_UNITS if opts.external else spawn_units())
    logs = Path(tempfile.mkdtemp(prefix="conformance-logs-"))
    rows = []
    for unit in units:
        if opts.external:
            ours, failed = run_external(unit, False, logs / "ours")
            real = None if opts.no_real else run_external(unit, True, logs / "real")[0]
        else:
            ours, failed = run_spawn(unit, False, logs / "ours", opts.baseport)
            real = None if opts.no_real else run_spawn(unit, True, logs / "real", opts.baseport)[0]
        rows.append((unit, ours, real, failed))
        mark = "" if real is None else ("  ok" if ours >= real and not failed else "  BELOW")
        print(f"{unit}: ours {ours} [ok], {len(failed)} failed; real Redis {real}{mark}", flush=True)
    print(f"logs in {logs}")
    if opts.write_doc:
        write_doc(rows, "external" if opts.external else "spawn")
    return 0 if all(not f and (r is None or o >= r) for _, o, r, f in rows) else 1


def write_doc(rows, mode: str) -> None:
    lines = [f"| unit ({mode} mode) | trioredis [ok] | real Redis 7.0.15 [ok] | failed here |",
             "|---|---:|---:|---|"]
    for unit, ours, real, failed in rows:
        lines.append(f"| `{unit}` | {ours} | {'' if real is None else real} | "
                     f"{'; '.join(failed[:4]) + (' ...' if len(failed) > 4 else '')} |")
    table = "\n".join(lines)
    text = DOC.read_text()
    begin, end = f"{BEGIN} {mode}", f"{END} {mode}"
    if begin in text:
        text = re.sub(re.escape(begin) + ".*?" + re.escape(end), f"{begin}\n{table}\n{end}",
                      text, flags=re.S)
    else:
        text += f"\n{begin}\n{table}\n{end}\n"
    DOC.write_text(text)


if __name__ == "__main__":
    sys.exit(main())

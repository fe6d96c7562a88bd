"""Running Redis 7.0.15's own Tcl test suite (``../shared/redis-suite``) against trioredis.

The suite lives beside the checkout (``../shared/redis-tests``, BSD-3), not in it; ``REDIS_SUITE``
may point at the runner elsewhere. These helpers find it, run one unit, and read its counts.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
RUNNER = Path(os.environ.get("REDIS_SUITE", ROOT.parent / "shared" / "redis-suite"))

# The 17 units redis-suite runs in external mode by default (its CORE list).
CORE_UNITS = [
    "unit/auth", "unit/protocol", "unit/keyspace", "unit/info-command", "unit/type/string",
    "unit/type/incr", "unit/type/list", "unit/type/set", "unit/type/zset", "unit/type/hash",
    "unit/type/stream", "unit/type/stream-cgroups", "unit/expire", "unit/other", "unit/multi",
    "unit/latency-monitor", "unit/pubsub",
]


def missing_reason() -> str | None:
    """Why the suite cannot run here, or None."""
    if not RUNNER.exists():
        return (f"Redis's Tcl suite runner is not at {RUNNER}: it ships in the project's shared/ "
                "folder beside the checkout (or set REDIS_SUITE to its redis-suite script)")
    for tool, pkg in (("tclsh", "tcl"), ("redis-cli", "redis-tools")):
        if shutil.which(tool) is None:
            return f"{tool} is needed to run Redis's Tcl suite (apt-get install -y {pkg})"
    return None


@dataclass
class UnitResult:
    unit: str
    ok: int
    failed: list[str] = field(default_factory=list)
    finished: bool = True
    output: str = ""


_LINE = re.compile(r"^(?P<unit>\S+): (?P<ok>\d+) ok, (?P<err>\d+) failed, \d+s(?P<note>.*)$")


def run_unit(mode_args: list[str], unit: str, logdir: Path, timeout: float = 900,
             env: dict | None = None) -> UnitResult:
    """``redis-suite <mode_args> unit``: the unit's [ok] count and the names of failed tests."""
    e = dict(os.environ, LOGDIR=str(logdir), **(env or {}))
    proc = subprocess.run(
        ["bash", str(RUNNER), *mode_args, unit], capture_output=True, text=True,
        timeout=timeout, env=e, stdin=subprocess.DEVNULL,
    )
    out = proc.stdout + proc.stderr
    for line in out.splitlines():
        m = _LINE.match(line)
        if m and m["unit"] == unit:
            safe = unit.replace("/", "_")
            failed_file = logdir / f"{safe}.failed"
            failed = []
            if failed_file.exists():
                for fl in failed_file.read_text(errors="replace").splitlines():
                    name = re.sub(r"^\[(err|exception)\]: ", "", fl)
                    failed.append(re.sub(r" in tests/\S+\.tcl$", "", name).strip())
            note = m["note"].strip()
            if note:
                failed.append(f"(unit {note.strip('()')})")
            return UnitResult(unit, int(m["ok"]), failed, not note, out)
    return UnitResult(unit, 0, ["(no result line)"], False, out)

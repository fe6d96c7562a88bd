"""Redis 7.0.15's own core units, run against a fresh trioredis each (external mode).

Each unit must pass with real Redis's ``[ok]`` count (the same units against a redis-server on
this machine, in ``expected.py``). Tests still failing for a reason that has its own issue are
listed by name in ``expected.KNOWN_FAILURES``: a unit passes when nothing else fails and its
``[ok]`` count is at least real Redis's minus those. A known failure that starts passing must
be taken off the list (the test says so), so the list only shrinks.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from ..helpers import free_port, wait_port
from . import expected
from .redis_suite import CORE_UNITS, missing_reason, run_unit

pytestmark = pytest.mark.skipif(missing_reason() is not None, reason=missing_reason() or "")


@pytest.mark.parametrize("unit", CORE_UNITS)
def test_core_unit_external(unit, tmp_path):
    port = free_port()
    log = open(tmp_path / "server.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "trioredis", "server", "--port", str(port), "--save", "",
         "--dir", str(tmp_path), "--loglevel", "warning"],
        cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        wait_port(port, timeout=30)
        result = run_unit(["external", str(port)], unit, tmp_path / "logs")
        alive = server.poll() is None
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
    server_log = (tmp_path / "server.log").read_text(errors="replace")[-3000:]
    assert alive, f"trioredis died during {unit}:\n{server_log}"
    known = expected.KNOWN_FAILURES.get(unit, {})
    unexpected = [name for name in result.failed if name not in known]
    assert not unexpected, f"{unit}: unexpected failures {unexpected}\n{result.output[-3000:]}"
    fixed = sorted(set(known) - set(result.failed))
    assert not fixed, f"{unit}: now passing, take them off expected.KNOWN_FAILURES: {fixed}"
    want = expected.REAL_EXTERNAL[unit] - len(known) - len(expected.SKIPPED_HERE.get(unit, {}))
    assert result.ok >= want, f"{unit}: {result.ok} [ok], real Redis {expected.REAL_EXTERNAL[unit]}"

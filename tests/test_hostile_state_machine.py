"""Random command sequences across every type, errors included, against trioredis and a real
Redis: every reply compared (a bounded run; scripts/fuzz_state_machine.py runs long)."""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from .hostile_machine import make_machine


def test_random_command_sequences_match_real_redis(server, real_redis):
    machine = make_machine(server.port, real_redis.port)
    run_state_machine_as_test(machine, settings=settings(
        max_examples=25, stateful_step_count=40, deadline=None, database=None,
        suppress_health_check=list(HealthCheck)))

"""Chaos tests run schedules on their own event loops: keep the planted crashes' logs quiet."""

from __future__ import annotations

import dataclasses

import pytest

from chaos.run import quiet_logs, run
from chaos.schedule import Schedule, generate


@pytest.fixture(autouse=True, scope="session")
def _quiet() -> None:
    quiet_logs()


@pytest.fixture(scope="session")
def workload() -> Schedule:
    """A fault-free schedule whose orders are confirmed and some of them cancelled."""
    for seed in range(60):
        schedule = dataclasses.replace(generate(seed), faults=())
        result = run(schedule)
        statuses = {o["status"] for o in result.state.orders.values()}
        if "CANCELLED" in statuses and not result.violations:
            return schedule
    raise AssertionError("no seed below 60 gives a clean run with a cancelled order")

"""A charge that reaches the processor after its sender gave it up: nothing is taken for it."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from chaos.mutants import mutant
from chaos.run import RunResult, run
from chaos.schedule import FaultEvent, Schedule

# The first checkout a fault-free run confirms has its charge land 100 s late: after the
# saga's lease has lapsed and recovery has decided what happened to it, before the quiet
# time is up. (A longer window would open the payment breaker, so later charges go unsent.)
LATE_SECONDS = 100.0


def _answers(result: RunResult) -> list[dict[str, Any]]:
    lines = map(json.loads, result.history.lines)
    return [line for line in lines if line.get("event") == "answer"]


def _first_confirmed(workload: Schedule) -> int:
    """The operation index of the first checkout a fault-free run confirms."""
    for answer in _answers(run(workload)):
        if answer["order_status"] == "CONFIRMED":
            return int(answer["op"])
    raise AssertionError("the fault-free workload confirms no order")


def _late(workload: Schedule, plant: str | None = None) -> RunResult:
    at = workload.operations[_first_confirmed(workload)].at
    late = FaultEvent(
        at=round(at - 0.001, 3), duration=0.5, link="payment", kind="late", value=LATE_SECONDS
    )
    schedule = dataclasses.replace(workload, faults=(late,))
    return run(schedule, mutant(plant).plant if plant else None)


def test_late_charges_are_injected_and_refused_so_the_books_balance(workload: Schedule) -> None:
    result = _late(workload)

    assert result.injections.get("payment", {}).get("late", 0) > 0, result.injections
    assert result.violations == []
    op = _first_confirmed(workload)
    [order_id] = {a["order"] for a in _answers(result) if a["op"] == op}
    assert result.state.orders[order_id]["status"] == "FAILED", (
        "no answer to the late charge was heard, so recovery failed its order"
    )


def test_a_charge_key_only_looked_up_lets_the_late_charge_land_and_is_caught(
    workload: Schedule,
) -> None:
    quiet = run(workload, mutant("late_charge_unvoided").plant)
    exposed = _late(workload, "late_charge_unvoided")

    assert quiet.violations == [], "without a late charge the bug stays hidden"
    assert "charged_once_if_confirmed" in {v.invariant for v in exposed.violations}

"""Redis down or slow, and events duplicated, delayed or reordered: each is injected (and
counted), the system survives it, and an invariant sees the bug it would expose."""

from __future__ import annotations

import dataclasses

import pytest

from chaos.mutants import mutant
from chaos.redisfaults import RedisFaults
from chaos.run import RunResult, run
from chaos.schedule import GOOD_CARD, FaultEvent, Operation, Schedule
from estore.kit.faults import Faults

# One fault over the whole workload (which starts before 18 s, its cancellations by 26 s).
WHOLE = {"at": 0.0, "duration": 28.0, "rate": 1.0}
FAULTS = {
    "redis:outage": FaultEvent(link="redis", kind="outage", **WHOLE),
    "redis:latency": FaultEvent(link="redis", kind="latency", value=0.2, **WHOLE),
    "streams:duplicate": FaultEvent(link="streams", kind="duplicate", **WHOLE),
    "streams:delay": FaultEvent(link="streams", kind="delay", **WHOLE),
    "streams:reorder": FaultEvent(link="streams", kind="reorder", **WHOLE),
    # A wall-clock step past every TTL (reservations, leases) in the middle of the workload.
    "clock:jump": FaultEvent(at=6.0, duration=0.0, link="clock", kind="jump", value=3600.0),
}


def _with(workload: Schedule, label: str, plant: str | None = None) -> RunResult:
    schedule = dataclasses.replace(workload, faults=(FAULTS[label],))
    return run(schedule, mutant(plant).plant if plant else None)


@pytest.mark.parametrize("label", sorted(FAULTS))
def test_the_fault_is_injected_and_the_system_survives_it(workload: Schedule, label: str) -> None:
    link, kind = label.split(":")

    result = _with(workload, label)

    assert result.injections.get(link, {}).get(kind, 0) > 0, result.injections
    assert result.violations == []


@pytest.mark.parametrize(
    ("label", "plant"),
    [
        ("redis:outage", "relay_loses_failed_writes"),
        ("streams:duplicate", "exactly_once_assumed"),
        ("streams:reorder", "cancellation_before_sale_forgotten"),
    ],
)
def test_the_bug_the_fault_exposes_breaks_an_invariant(
    workload: Schedule, label: str, plant: str
) -> None:
    quiet = run(workload, mutant(plant).plant)
    exposed = _with(workload, label, plant)

    assert quiet.violations == [], "without the fault the bug stays hidden"
    assert "events_applied_once" in {v.invariant for v in exposed.violations}


@pytest.mark.parametrize(
    "fault",
    [
        FAULTS["redis:outage"],
        dataclasses.replace(FAULTS["redis:latency"], value=500.0),
        FAULTS["streams:delay"],
    ],
    ids=lambda f: f.label(),
)
def test_a_fault_never_healed_leaves_events_unapplied_and_is_caught(
    workload: Schedule, fault: FaultEvent, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The quiet phase normally turns every fault off; here the fault outlives it.
    monkeypatch.setattr(Faults, "clear", lambda self, dependency=None: None)
    monkeypatch.setattr(RedisFaults, "clear", lambda self: None)

    result = run(dataclasses.replace(workload, faults=(dataclasses.replace(fault, duration=999),)))

    assert "events_applied_once" in {v.invariant for v in result.violations}


def test_a_clock_jump_mid_checkout_exposes_a_hold_confirmed_after_its_time(
    workload: Schedule,
) -> None:
    """The run's one checkout starts at 4.2 s and its charge is slow (payment latency 1.5 s);
    the wall clock jumps past the hold's TTL right after the reservation, and the product
    sweeper (every 5 s) expires the hold while the charge waits: the saga then confirms a
    hold that is gone."""
    alone = Operation(at=4.2, kind="checkout", customer=1, items=((0, 1),), card=GOOD_CARD)
    moved = dataclasses.replace(workload, operations=(alone,))
    slow = FaultEvent(link="payment", kind="latency", value=1.5, **WHOLE)
    jump = dataclasses.replace(FAULTS["clock:jump"], at=4.25)
    plant = mutant("expired_hold_confirmed").plant

    healthy = run(dataclasses.replace(moved, faults=(slow, jump)))
    unjumped = run(dataclasses.replace(moved, faults=(slow,)), plant)
    exposed = run(dataclasses.replace(moved, faults=(slow, jump)), plant)

    assert healthy.violations == [] and unjumped.violations == []
    assert healthy.injections["clock"]["jump"] == 1
    assert {"stock_conserved", "no_oversell"} & {v.invariant for v in exposed.violations}

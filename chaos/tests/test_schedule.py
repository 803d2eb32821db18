"""Schedules: drawn from a seed, round-tripped through JSON, refused when malformed."""

from __future__ import annotations

import json

import pytest

from chaos.schedule import KINDS, Schedule, ScheduleError, generate


def test_the_same_seed_draws_the_same_schedule() -> None:
    assert generate(42) == generate(42)
    assert generate(42) != generate(43)


def test_a_schedule_round_trips_through_json() -> None:
    schedule = generate(7)

    assert Schedule.from_json(schedule.to_json()) == schedule


def test_taking_a_fault_away_keeps_the_workload() -> None:
    schedule = next(s for s in map(generate, range(100)) if len(s.faults) >= 2)
    smaller = schedule.without(0)

    assert smaller.operations == schedule.operations
    assert smaller.faults == schedule.faults[1:]


def test_many_seeds_cover_every_link_and_kind() -> None:
    drawn = {(f.link, f.kind) for seed in range(300) for f in generate(seed).faults}

    assert drawn == {(link, kind) for link, kinds in KINDS.items() for kind in kinds}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda raw: raw["faults"].append({**_fault(), "kind": "meteor"}), "unknown fault"),
        (lambda raw: raw["faults"].append({**_fault(), "rate": 2}), r"rate in \(0, 1\]"),
        (lambda raw: raw.pop("catalog"), "not a valid schedule"),
        (lambda raw: raw["operations"].append({"at": 1, "kind": "cancel", "ref": 99}), "refers"),
    ],
)
def test_a_malformed_schedule_is_refused_with_a_clear_error(change, message) -> None:  # type: ignore[no-untyped-def]
    raw = json.loads(generate(7).to_json())
    change(raw)

    with pytest.raises(ScheduleError, match=message):
        Schedule.from_json(json.dumps(raw))


def test_text_that_is_not_json_is_refused() -> None:
    with pytest.raises(ScheduleError, match="not a valid schedule"):
        Schedule.from_json("{nope")


def _fault() -> dict[str, object]:
    return {"at": 1.0, "duration": 1.0, "link": "payment", "kind": "error", "value": 503}

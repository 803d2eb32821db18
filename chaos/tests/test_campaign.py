"""Campaigns: a summary the report can read, failures shrunk and given a replay command."""

from __future__ import annotations

import json
import os

import pytest

from chaos.campaign import run_campaign, schedule_seeds, shrink_schedule
from chaos.mutants import MUTANTS
from chaos.run import run
from chaos.schedule import generate

CI_SCHEDULES = 300


def test_a_clean_campaign_reports_schedules_coverage_and_a_stable_hash() -> None:
    seeds = schedule_seeds(5, 4)
    first, again = run_campaign(seeds), run_campaign(seeds)
    summary = json.loads(first.to_json())

    assert first.passed
    assert summary["schedules"] == 4 and summary["violations"] == 0
    assert summary["history_hash"] == again.history_hash
    assert set(summary["coverage"]) >= {"product", "payment", "order", "processor"}
    assert summary["schedules_per_second"] > 0


def test_campaign_seeds_are_drawn_from_the_campaign_seed() -> None:
    assert schedule_seeds(9, 5) == schedule_seeds(9, 5)
    assert schedule_seeds(9, 5) != schedule_seeds(10, 5)
    assert schedule_seeds(9, 3) == schedule_seeds(9, 5)[:3]


def test_a_failure_names_the_invariant_and_its_replay_command() -> None:
    result = run_campaign(
        schedule_seeds(1, 20), mutant="double_charge", shrink=False, stop_at_first=True
    )
    failure = json.loads(result.to_json())["failures"][0]

    assert failure["invariants"] == ["charged_once_if_confirmed"]
    assert (
        failure["replay"] == f"estore chaos replay --seed {failure['seed']} --mutant double_charge"
    )
    assert failure["violations"][0]["lines"], "the history lines that show it"


def test_a_failing_schedule_shrinks_to_fewer_faults_that_still_fail() -> None:
    # A skipped refund shows whenever a paid order is cancelled, whatever the faults: the
    # shrink must take every fault away.
    plant = MUTANTS["refund_skipped"].plant
    schedule = next(
        s
        for s in map(generate, schedule_seeds(2, 200))
        if len(s.faults) >= 3 and run(s, plant).failed
    )

    shrunk = shrink_schedule(schedule, plant)

    assert len(shrunk.faults) < len(schedule.faults)
    assert run(shrunk, plant).failed
    assert shrunk.operations == schedule.operations


# Long by design (300 schedules); the limit is there to end a hang, not to time the run,
# which a busy machine stretches well past the suite's default.
@pytest.mark.timeout(900)
def test_a_ci_size_campaign_breaks_no_invariant() -> None:
    """The CI-size campaign of the issue: 300 seeded schedules (CHAOS_CI_SCHEDULES makes a
    quicker local run)."""
    count = int(os.environ.get("CHAOS_CI_SCHEDULES", str(CI_SCHEDULES)))
    result = run_campaign(schedule_seeds(20261202, count), jobs=2)

    assert result.passed, "\n".join(result.summary_lines())
    assert result.schedules == count
    if count >= CI_SCHEDULES:
        never = [
            f"{link}:{kind}"
            for link, kinds in result.coverage().items()
            for kind, n in kinds.items()
            if n == 0
        ]
        assert never == [], f"the CI campaign never injected {never}"

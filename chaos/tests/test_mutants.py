"""Every planted bug is caught by some invariant: the checker is not vacuous."""

from __future__ import annotations

import pytest

from chaos.campaign import run_campaign, schedule_seeds
from chaos.cli import MUTANT_LIMIT
from chaos.mutants import MUTANTS, UnknownMutant, mutant

# The budget, the CLI's: each mutant must be caught within 1,000 schedules. The
# campaign stops at the first catch, so a caught mutant costs only the schedules it took.
BUDGET = MUTANT_LIMIT


# The limit ends a hang; it does not time the search, which a busy machine stretches.
@pytest.mark.timeout(900)
@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_the_mutant_is_caught_by_an_invariant(name: str) -> None:
    result = run_campaign(
        schedule_seeds(1, BUDGET), mutant=name, shrink=False, stop_at_first=True, jobs=2
    )

    assert result.failures, f"{name} ({MUTANTS[name].bug}) survived {BUDGET} schedules"


def test_there_are_at_least_eight_mutants() -> None:
    assert len(MUTANTS) >= 8


def test_an_unknown_mutant_is_refused_with_the_known_ones() -> None:
    with pytest.raises(UnknownMutant, match="refund_skipped"):
        mutant("no_such_bug")

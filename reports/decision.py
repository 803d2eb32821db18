"""From rule verdicts to the release decision: go (0), no-go (1) or no decision (2)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from reports.rules import RuleResult

GO, NO_GO, NO_DECISION = 0, 1, 2
Word = Literal["go", "no-go", "no decision"]


@dataclass
class Decision:
    verdict: Word
    exit_code: int
    headline: str
    reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {
            "verdict": self.verdict,
            "exit_code": self.exit_code,
            "headline": self.headline,
            "reasons": self.reasons,
        }


def decide(results: list[RuleResult], optional: list[str]) -> Decision:
    """A failed rule is a no-go; a required rule that could not be judged leaves no decision.

    A rule of an optional part that did not run, and a diff rule without a baseline, are shown
    but do not block.
    """
    failed = [r for r in results if r.verdict == "fail"]
    if failed:
        return Decision(
            "no-go",
            NO_GO,
            f"Do not ship: {len(failed)} rule(s) failed ({', '.join(r.rule for r in failed)}).",
            [f"{r.rule}: {r.measured} (needs {r.threshold})" for r in failed],
        )
    blocking = [r for r in results if r.verdict == "not run" and r.part not in optional]
    if blocking:
        return Decision(
            "no decision",
            NO_DECISION,
            f"No decision: {len(blocking)} rule(s) could not be judged because their part "
            "did not run.",
            [f"{r.rule} ({r.part}): {r.measured}" for r in blocking],
        )
    judged = sum(r.verdict == "pass" for r in results)
    return Decision("go", GO, f"Ship it: all {judged} judged rule(s) passed.", [])

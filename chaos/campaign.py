"""Campaigns: many seeded schedules, their violations shrunk to the fewest faults, one summary.

`run_campaign(seeds, ...)` is the stable entry point: the CLI and the resilience report call
it, and `CampaignResult.to_json()` is what lands in `reports/chaos/<run>/summary.json`.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from chaos.forks import Forks
from chaos.invariants import Violation
from chaos.mutants import mutant as find_mutant
from chaos.run import Mutant, RunResult
from chaos.schedule import CELLS, KINDS, Schedule, generate

SCHEMA_VERSION = 1
# How many single-fault removals a shrink may try: each one is a full run.
SHRINK_BUDGET = 24

Progress = Callable[[int, int, RunResult], None]


def schedule_seeds(seed: int, count: int) -> list[int]:
    """The schedule seeds a campaign seed stands for.

    Seed i is i modulo the number of fault cells, so every run of that many schedules gives
    each cell (link and kind) its turn as a schedule's first fault.
    """
    rng = random.Random(f"campaign:{seed}")
    cells = len(CELLS)
    return [rng.randrange(2**31 // cells) * cells + i % cells for i in range(count)]


def replay_command(seed: int, mutant: str | None = None) -> str:
    return f"estore chaos replay --seed {seed}" + (f" --mutant {mutant}" if mutant else "")


@dataclass
class Failure:
    seed: int
    violations: list[Violation]
    history_hash: str
    faults: int
    shrunk: Schedule | None = None
    mutant: str | None = None
    history: str = field(default="", repr=False)

    @property
    def invariants(self) -> list[str]:
        return sorted({v.invariant for v in self.violations})

    def to_dict(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "invariants": self.invariants,
            "violations": [v.to_json() for v in self.violations],
            "history_hash": self.history_hash,
            "faults": self.faults,
            "shrunk_faults": None
            if self.shrunk is None
            else [f"{f.label()}@{f.at:g}s" for f in self.shrunk.faults],
            "replay": replay_command(self.seed, self.mutant),
        }


@dataclass
class CampaignResult:
    seeds: list[int]
    failures: list[Failure]
    injections: dict[str, dict[str, int]]
    history_hash: str
    seconds: float
    mutant: str | None = None
    digests: list[str] = field(default_factory=list)

    @property
    def schedules(self) -> int:
        return len(self.seeds)

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def schedules_per_second(self) -> float:
        return self.schedules / self.seconds if self.seconds > 0 else 0.0

    def coverage(self) -> dict[str, dict[str, int]]:
        """Link x fault kind: how often each fired, zeros included (what was never hit)."""
        return {
            link: {kind: self.injections.get(link, {}).get(kind, 0) for kind in _kinds(link)}
            for link in sorted(KINDS)
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "chaos-campaign",
            "version": SCHEMA_VERSION,
            "mutant": self.mutant,
            "schedules": self.schedules,
            "first_seed": self.seeds[0] if self.seeds else None,
            "violations": sum(len(f.violations) for f in self.failures),
            "failed_schedules": len(self.failures),
            "failures": [f.to_dict() for f in self.failures],
            "injections": self.injections,
            "coverage": self.coverage(),
            "history_hash": self.history_hash,
            "seconds": round(self.seconds, 3),
            "schedules_per_second": round(self.schedules_per_second, 3),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    def summary_lines(self) -> list[str]:
        lines = [
            f"{self.schedules} schedules in {self.seconds:.1f}s "
            f"({self.schedules_per_second:.2f}/s), history hash {self.history_hash[:16]}",
            f"violations: {len(self.failures)} failing schedule(s)",
        ]
        for failure in self.failures:
            lines.append(f"  seed {failure.seed}: {', '.join(failure.invariants)}")
            lines.extend(f"    {v}" for v in failure.violations[:5])
            if failure.shrunk is not None:
                faults = ", ".join(f"{f.label()}@{f.at:g}s" for f in failure.shrunk.faults)
                lines.append(f"    shrunk to {len(failure.shrunk.faults)} fault(s): {faults}")
            lines.append(f"    replay: {replay_command(failure.seed, failure.mutant)}")
        lines.append("coverage (link x kind, injections):")
        for link, kinds in self.coverage().items():
            cells = "  ".join(f"{kind}={n}" for kind, n in kinds.items())
            lines.append(f"  {link:<9} {cells}")
        return lines


def run_campaign(
    seeds: Iterable[int],
    *,
    mutant: str | None = None,
    shrink: bool = True,
    stop_at_first: bool = False,
    progress: Progress | None = None,
    jobs: int = 1,
) -> CampaignResult:
    """Run the schedule of every seed; shrink each failing one to its fewest faults.

    Schedules play on forks of one started cluster, `jobs` at a time; each one's history is
    the same as its replay's (`estore chaos replay --seed N`).
    """
    plant = find_mutant(mutant).plant if mutant else None
    seeds = list(seeds)
    started = time.perf_counter()
    failures: list[Failure] = []
    injections: Counter[tuple[str, str]] = Counter()
    digests: list[str] = []
    ran: list[int] = []
    forks = Forks(jobs)
    try:
        results = forks.play_all((generate(seed), plant) for seed in seeds)
        for n, result in enumerate(results, 1):
            seed = result.schedule.seed
            ran.append(seed)
            digests.append(result.digest)
            for link, kinds in result.injections.items():
                for kind, count in kinds.items():
                    injections[(link, kind)] += count
            if result.failed:
                shrunk = shrink_schedule(result.schedule, plant, forks) if shrink else None
                failures.append(
                    Failure(
                        seed,
                        result.violations,
                        result.digest,
                        len(result.schedule.faults),
                        shrunk,
                        mutant,
                        result.history.text(),
                    )
                )
            if progress is not None:
                progress(n, len(seeds), result)
            if failures and stop_at_first:
                break
    finally:
        forks.close()
    return CampaignResult(
        seeds=ran,
        failures=failures,
        injections=_nested(injections),
        history_hash=hashlib.sha256("\n".join(digests).encode()).hexdigest(),
        seconds=time.perf_counter() - started,
        mutant=mutant,
        digests=digests,
    )


def shrink_schedule(
    schedule: Schedule,
    plant: Mutant | None = None,
    forks: Forks | None = None,
    budget: int = SHRINK_BUDGET,
) -> Schedule:
    """The schedule with as few faults as still break an invariant (greedy, one at a time)."""
    if forks is None:
        own = Forks()
        try:
            return shrink_schedule(schedule, plant, own, budget)
        finally:
            own.close()
    current, tries = schedule, 0
    changed = True
    while changed and current.faults:
        changed = False
        for index in range(len(current.faults)):
            if tries >= budget:
                return current
            tries += 1
            smaller = current.without(index)
            if forks.play(smaller, plant).failed:
                current, changed = smaller, True
                break
    return current


def _kinds(link: str) -> tuple[str, ...]:
    # The seam counts both latency shapes as "latency"; the other kinds keep their names.
    kinds = tuple(dict.fromkeys("latency" if k == "jitter" else k for k in KINDS[link]))
    return kinds


def _nested(counts: Counter[tuple[str, str]]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for (link, kind), n in sorted(counts.items()):
        out.setdefault(link, {})[kind] = n
    return out

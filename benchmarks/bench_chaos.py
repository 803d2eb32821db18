"""Benchmark: chaos schedules per second, and where a schedule's time goes.

Run: .venv/bin/python benchmarks/bench_chaos.py [--schedules 12] [--stepped 3]

The same campaign seeds run under each way of driving time, interleaved so background load
hits them alike:

  stepped+fixed   a fake clock moved in 5 ms steps (FakeClock.drive's way) and a fixed quiet
                  period of 150 simulated seconds after the faults
  jump+fixed      simulated time that jumps to the next sleeper once the loop is idle
                  (chaos.simclock), the same fixed quiet period
  jump+quiet      the harness as it runs: jumps, and the quiet period ends as soon as the
                  system is quiet (every call answered, sagas final, events consumed)

Then one schedule's phases (cluster build, start-up and seeding, the workload, quiescing) for
the harness as it runs. Ratios are schedules per second relative to stepped+fixed.
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from chaos.campaign import schedule_seeds
from chaos.run import Driver, quiet_logs
from chaos.schedule import Schedule, generate
from chaos.simclock import SimClock
from estore.kit.ids import SeededIds, using

STEP = 0.005


class SteppedClock(SimClock):
    """Time moved in fixed small steps, whatever the tasks are doing."""

    async def run_until(self, moment: float) -> None:
        while self.monotonic() < moment:
            target = min(moment, self.monotonic() + STEP)
            while (due := self._next_due()) is not None and due <= target:
                _, _, wake = heapq.heappop(self._sleepers)
                self._elapsed = max(self._elapsed, due)
                wake.set_result(None)
                await asyncio.sleep(0)
            self._elapsed = target
            await asyncio.sleep(0)


class FixedQuiet(Driver):
    async def _quiet(self) -> bool:
        return False


@dataclass(frozen=True)
class Variant:
    name: str
    driver: Callable[[Schedule], Driver]


VARIANTS = (
    Variant("stepped+fixed", lambda s: FixedQuiet(s, clock=SteppedClock())),
    Variant("jump+fixed", lambda s: FixedQuiet(s)),
    Variant("jump+quiet", lambda s: Driver(s)),
)


def run_one(make: Callable[[Schedule], Driver], schedule: Schedule) -> float:
    async def main() -> None:
        with using(SeededIds(schedule.seed)):
            await asyncio.create_task(make(schedule).run())

    started = time.perf_counter()
    asyncio.run(main())
    return time.perf_counter() - started


def phases(schedule: Schedule) -> dict[str, float]:
    async def main() -> dict[str, float]:
        marks = [time.perf_counter()]
        driver = Driver(schedule)
        marks.append(time.perf_counter())
        await driver.cluster.start()
        await driver._seed()
        marks.append(time.perf_counter())
        await driver._play()
        marks.append(time.perf_counter())
        await driver._quiesce()
        marks.append(time.perf_counter())
        await driver.cluster.stop()
        names = ("build", "start+seed", "workload", "quiesce")
        return {n: marks[i + 1] - marks[i] for i, n in enumerate(names)}

    async def seeded() -> dict[str, float]:
        with using(SeededIds(schedule.seed)):
            return await asyncio.create_task(main())

    return asyncio.run(seeded())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--schedules", type=int, default=12)
    parser.add_argument("--stepped", type=int, default=3, help="schedules for stepped+fixed")
    args = parser.parse_args()
    quiet_logs()
    seeds = schedule_seeds(2026, args.schedules)
    run_one(Driver, generate(seeds[0]))  # imports and first-use caches
    spent: dict[str, list[float]] = {v.name: [] for v in VARIANTS}
    for n, seed in enumerate(seeds):
        for variant in VARIANTS:
            if variant.name.startswith("stepped") and n >= args.stepped:
                continue
            spent[variant.name].append(run_one(variant.driver, generate(seed)))
    base = len(spent[VARIANTS[0].name]) / sum(spent[VARIANTS[0].name])
    print(f"{'variant':<15} {'schedules':>9} {'s/schedule':>11} {'schedules/s':>12} {'x':>6}")
    for variant in VARIANTS:
        times = spent[variant.name]
        rate = len(times) / sum(times)
        print(
            f"{variant.name:<15} {len(times):>9} {statistics.mean(times):>11.3f} "
            f"{rate:>12.2f} {rate / base:>6.1f}"
        )
    split = [phases(generate(seed)) for seed in seeds[: min(6, len(seeds))]]
    total = sum(sum(p.values()) for p in split)
    print("phases of jump+quiet (share of a schedule's time):")
    for name in split[0]:
        share = sum(p[name] for p in split)
        print(f"  {name:<11} {share / len(split):.3f} s  {100 * share / total:5.1f}%")


if __name__ == "__main__":
    main()

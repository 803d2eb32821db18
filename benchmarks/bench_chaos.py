"""Benchmark: chaos schedules per second, and where a schedule's time goes.

Run: .venv/bin/python benchmarks/bench_chaos.py [--schedules 12] [--stepped 3]

The same campaign seeds run under each way of driving them, interleaved so background load
hits them alike:

  stepped+fixed   a fresh cluster per schedule, a fake clock moved in 5 ms steps
                  (FakeClock.drive's way) and a fixed quiet period of 150 simulated seconds
  jump+fixed      simulated time that jumps to the next sleeper once the loop is idle
                  (chaos.simclock), the same fixed quiet period
  jump+quiet      the quiet period ends as soon as the system is quiet (every call answered,
                  sagas final, events consumed)
  fork            the campaign's way: jump+quiet on a fork of one started, warmed cluster

Then one schedule's phases (cluster build and start, seeding, workload, quiescing) on a fresh
cluster. Ratios are schedules per second relative to stepped+fixed.
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
from chaos.forks import Forks
from chaos.run import Driver, Stage, quiet_logs
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


def fresh(driver: type[Driver], clock: Callable[[], SimClock]) -> Callable[[Schedule], None]:
    def play(schedule: Schedule) -> None:
        stage = Stage(clock())
        stage.faults.reseed(schedule.seed)
        with using(SeededIds(schedule.seed)):
            stage.loop.run_until_complete(driver(schedule, stage).run())
        stage.close()

    return play


@dataclass(frozen=True)
class Variant:
    name: str
    play: Callable[[Schedule], object]


def variants(forks: Forks) -> tuple[Variant, ...]:
    return (
        Variant("stepped+fixed", fresh(FixedQuiet, SteppedClock)),
        Variant("jump+fixed", fresh(FixedQuiet, SimClock)),
        Variant("jump+quiet", fresh(Driver, SimClock)),
        Variant("fork", forks.play),
    )


def timed(play: Callable[[Schedule], object], schedule: Schedule) -> float:
    started = time.perf_counter()
    play(schedule)
    return time.perf_counter() - started


def phases(schedule: Schedule) -> dict[str, float]:
    marks = [time.perf_counter()]
    stage = Stage()
    marks.append(time.perf_counter())
    driver = Driver(schedule, stage)

    async def main() -> None:
        await driver._seed()
        marks.append(time.perf_counter())
        await driver._play()
        marks.append(time.perf_counter())
        await driver._quiesce()
        marks.append(time.perf_counter())
        await driver.cluster.stop()

    with using(SeededIds(schedule.seed)):
        stage.loop.run_until_complete(main())
    stage.close()
    names = ("build+start", "seed", "workload", "quiesce")
    return {n: marks[i + 1] - marks[i] for i, n in enumerate(names)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--schedules", type=int, default=12)
    parser.add_argument("--stepped", type=int, default=3, help="schedules for stepped+fixed")
    args = parser.parse_args()
    quiet_logs()
    seeds = schedule_seeds(2026, args.schedules)
    forks = Forks()
    ways = variants(forks)
    for way in ways:
        way.play(generate(seeds[0]))  # imports and first-use caches
    spent: dict[str, list[float]] = {v.name: [] for v in ways}
    for n, seed in enumerate(seeds):
        for way in ways:
            if way.name.startswith("stepped") and n >= args.stepped:
                continue
            spent[way.name].append(timed(way.play, generate(seed)))
    forks.close()
    base = len(spent[ways[0].name]) / sum(spent[ways[0].name])
    print(f"{'variant':<15} {'schedules':>9} {'s/schedule':>11} {'schedules/s':>12} {'x':>6}")
    for way in ways:
        times = spent[way.name]
        rate = len(times) / sum(times)
        print(
            f"{way.name:<15} {len(times):>9} {statistics.mean(times):>11.3f} "
            f"{rate:>12.2f} {rate / base:>6.1f}"
        )
    split = [phases(generate(seed)) for seed in seeds[: min(6, len(seeds))]]
    total = sum(sum(p.values()) for p in split)
    print("phases of a schedule on a fresh cluster (jump+quiet):")
    for name in split[0]:
        share = sum(p[name] for p in split)
        print(f"  {name:<11} {share / len(split):.3f} s  {100 * share / total:5.1f}%")


if __name__ == "__main__":
    main()

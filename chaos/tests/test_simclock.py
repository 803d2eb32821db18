"""Simulated time: sleepers wake in time order, time jumps when the loop is idle, and a task
that waits on the real clock is refused rather than allowed to make the run machine-dependent."""

from __future__ import annotations

import asyncio

import pytest

from chaos.simclock import RealTimeWait, SimClock


def test_sleepers_wake_in_time_order_and_time_jumps_to_each() -> None:
    clock = SimClock()
    woke: list[tuple[str, float]] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append((name, clock.monotonic()))

    async def main() -> None:
        tasks = [asyncio.create_task(sleeper(n, s)) for n, s in (("b", 2.5), ("a", 1.0))]
        await clock.run_until(10.0)
        await asyncio.gather(*tasks)

    asyncio.run(main())

    assert woke == [("a", 1.0), ("b", 2.5)]


def test_run_until_stops_at_the_moment_and_leaves_later_sleepers_asleep() -> None:
    clock = SimClock()

    async def main() -> bool:
        task = asyncio.create_task(clock.sleep(5.0))
        await clock.run_until(4.0)
        asleep = not task.done()
        await clock.run_until(5.0)
        return asleep and task.done()

    assert asyncio.run(main())
    assert clock.monotonic() == 5.0


def test_a_jump_moves_wall_time_but_not_the_monotonic_clock() -> None:
    clock = SimClock()
    before = clock.now()

    clock.jump(3600)

    assert (clock.now() - before).total_seconds() == 3600
    assert clock.monotonic() == 0.0


def test_a_task_waiting_on_the_real_clock_is_refused() -> None:
    clock = SimClock()

    async def main() -> None:
        task = asyncio.create_task(asyncio.sleep(60))
        try:
            await clock.run_until(1.0)
        finally:
            task.cancel()

    with pytest.raises(RealTimeWait, match="real clock"):
        asyncio.run(main())

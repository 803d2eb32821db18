"""Simulated time for a seeded run: time jumps to the next sleeper only when the loop is idle.

This is the discrete-event discipline of deterministic simulators (FoundationDB,
TigerBeetle): every task runs until it waits on this clock, then time moves straight to the
earliest wake-up. Nothing depends on how fast the machine is, and no fake second is spent
idling in small steps, so a schedule replays the same way on any machine and runs as fast
as the code under test allows.
"""

from __future__ import annotations

import asyncio
import heapq
import math
from datetime import UTC, datetime, timedelta

from estore.kit.clock import FakeClock

START = datetime(2026, 1, 1, tzinfo=UTC)
# A loop that never goes idle is a bug in the run (a busy loop), not something to wait out.
MAX_SETTLE_ROUNDS = 100_000


class LoopNeverIdle(RuntimeError):
    """The tasks under test kept the loop busy without ever waiting on the clock."""


class RealTimeWait(RuntimeError):
    """A task waits on the real clock (an asyncio timer): simulated time cannot replay it."""


class SimClock(FakeClock):
    """The `estore.kit.clock.Clock` interface over simulated time, plus the driver's controls.

    Sleepers queue as on a FakeClock; what differs is who moves time: `run_until` jumps to the
    next wake-up only once the loop is idle.
    """

    def __init__(self, start: datetime = START) -> None:
        super().__init__(start)
        self._jumped = 0.0

    def now(self) -> datetime:
        return super().now() + timedelta(seconds=self._jumped)

    def jump(self, seconds: float) -> None:
        """Move wall time (`now`) forward without waking anyone: a clock step for TTLs."""
        self._jumped += seconds

    async def run_until(self, moment: float) -> None:
        """Let every task run, waking sleepers in time order, until `moment` is reached."""
        while True:
            await settle()
            _refuse_real_timers()
            due = self._next_due()
            if due is None or due > moment:
                break
            _, _, wake = heapq.heappop(self._sleepers)
            self._elapsed = max(self._elapsed, due)
            wake.set_result(None)
        self._elapsed = max(self._elapsed, moment)

    def _next_due(self) -> float | None:
        while self._sleepers and self._sleepers[0][2].done():
            heapq.heappop(self._sleepers)  # a sleeper cancelled while it waited
        return self._sleepers[0][0] if self._sleepers else None


async def settle() -> None:
    """Yield until no other task is ready to run: everything left waits on the clock.

    Reads the loop's ready queue and its due timers (CPython internals: asyncio has no public
    "is idle" question); deadlines rescheduled to "now" sit in the timers until the next turn.
    """
    loop = asyncio.get_running_loop()
    for _ in range(MAX_SETTLE_ROUNDS):
        await asyncio.sleep(0)
        if not loop._ready and not _timer_due(loop):  # type: ignore[attr-defined]
            return
    busy = ", ".join(repr(handle)[:160] for handle in list(loop._ready)[:3])  # type: ignore[attr-defined]
    raise LoopNeverIdle(f"the tasks under test never waited on the clock: {busy}")


def _refuse_real_timers() -> None:
    # Jumping simulated time while a task waits on a real timer would let the machine's speed
    # decide what happens next: the one thing a replayable run must not allow.
    loop = asyncio.get_running_loop()
    # A timer at infinity (a wait with no limit, as a pub/sub listener's) can never fire.
    waiting = [
        h
        for h in loop._scheduled  # type: ignore[attr-defined]
        if not h.cancelled() and h.when() != math.inf
    ]
    if waiting:
        raise RealTimeWait(
            f"a task waits on the real clock ({waiting[0]!r}); only the injected clock may wait"
        )


def _timer_due(loop: asyncio.AbstractEventLoop) -> bool:
    # The timers are a heap: only the earliest can be due. A cancelled one at its head costs
    # one more turn of the loop, which then drops it.
    timers = loop._scheduled  # type: ignore[attr-defined]
    return bool(timers) and timers[0].when() <= loop.time()

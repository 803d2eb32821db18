"""Injectable time: the system clock in production, a fake clock that tests move by hand."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Protocol, TypeVar

T = TypeVar("T")


class Clock(Protocol):
    def now(self) -> datetime:
        """Timezone-aware UTC wall time."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards (deadlines, breakers)."""

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class FakeClock:
    """A clock that only moves when `advance` is called; sleepers wake in time order."""

    def __init__(self, start: datetime | None = None) -> None:
        self._start = start or datetime(2026, 1, 1, tzinfo=UTC)
        self._elapsed = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self._elapsed)

    def monotonic(self) -> float:
        return self._elapsed

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        wake = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._elapsed + seconds, next(self._order), wake))
        await wake

    async def drive(self, call: Awaitable[T], step: float = 0.005, limit: float = 30.0) -> T:
        """Run `call` to its end, moving time in small steps while it waits on this clock."""
        task = asyncio.ensure_future(call)
        start = self._elapsed
        while not task.done():
            if self._elapsed - start >= limit:
                task.cancel()
                raise TimeoutError(f"the call did not finish within {limit} fake seconds")
            await self.advance(step)
        return task.result()

    async def advance(self, seconds: float) -> None:
        """Move time forward, waking every sleeper whose time has come, in order."""
        target = self._elapsed + seconds
        while self._sleepers and self._sleepers[0][0] <= target:
            due, _, wake = heapq.heappop(self._sleepers)
            self._elapsed = max(self._elapsed, due)
            if not wake.done():
                wake.set_result(None)
            await asyncio.sleep(0)
        self._elapsed = target
        await asyncio.sleep(0)


class TimeoutScope(Protocol):
    async def __aenter__(self) -> object: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None: ...

    def expired(self) -> bool: ...


def timeout_scope(clock: Clock, seconds: float) -> TimeoutScope:
    """`asyncio.timeout(seconds)` measured on `clock`.

    The event loop's timer runs on the system's monotonic clock, so a SystemClock gets the
    plain asyncio timeout; any other clock (a FakeClock) gets a watchdog sleeping on it.
    """
    if isinstance(clock, SystemClock):
        return asyncio.timeout(seconds)
    return _ClockTimeout(clock, seconds)


class _ClockTimeout:
    def __init__(self, clock: Clock, seconds: float) -> None:
        self._clock = clock
        self._seconds = seconds
        self._scope = asyncio.timeout(None)
        self._watchdog: asyncio.Task[None] | None = None

    async def __aenter__(self) -> _ClockTimeout:
        await self._scope.__aenter__()
        self._watchdog = asyncio.create_task(self._expire())
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
        await self._scope.__aexit__(exc_type, exc, tb)

    def expired(self) -> bool:
        return self._scope.expired()

    async def _expire(self) -> None:
        await self._clock.sleep(self._seconds)
        # Expire now, through asyncio's own machinery, so cancellation is counted and
        # turned into TimeoutError exactly as for a loop-timed deadline.
        self._scope.reschedule(asyncio.get_running_loop().time())

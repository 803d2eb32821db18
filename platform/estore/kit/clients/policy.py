"""Retry and breaker policies, and the tenacity pieces that apply them within a deadline."""

from __future__ import annotations

import random
from dataclasses import dataclass

from tenacity import RetryCallState
from tenacity.stop import stop_base
from tenacity.wait import wait_base

from estore.kit.clients.errors import DependencyError
from estore.kit.clock import Clock


@dataclass(frozen=True)
class RetryPolicy:
    """Retries for idempotent calls: full-jitter exponential backoff within the deadline.

    `attempts` counts the first try. `attempt_timeout` bounds one attempt, so that a hung
    attempt leaves deadline for another; None lets one attempt use the whole deadline.
    """

    attempts: int = 3
    backoff: float = 0.05
    max_backoff: float = 1.0
    attempt_timeout: float | None = None


@dataclass(frozen=True)
class BreakerPolicy:
    failure_threshold: int = 5
    reset_timeout: float = 30.0
    half_open_max_calls: int = 1


class FullJitter(wait_base):
    """Wait a uniform draw from [0, min(max, initial * 2**(n-1))], from a seeded RNG.

    tenacity's own jittered waits draw from the global `random`, which tests cannot seed
    per client.
    """

    def __init__(self, initial: float, maximum: float, rng: random.Random) -> None:
        self._initial = initial
        self._maximum = maximum
        self._rng = rng

    def __call__(self, retry_state: RetryCallState) -> float:
        ceiling = min(self._maximum, self._initial * 2 ** (retry_state.attempt_number - 1))
        return self._rng.uniform(0.0, ceiling)


class StopBeforeDeadline(stop_base):
    """Give up when the next backoff would end at or past the deadline: fail now, not later."""

    def __init__(self, clock: Clock, deadline_at: float) -> None:
        self._clock = clock
        self._deadline_at = deadline_at

    def __call__(self, retry_state: RetryCallState) -> bool:
        return self._clock.monotonic() + retry_state.upcoming_sleep >= self._deadline_at


def is_retryable(exc: BaseException) -> bool:
    return isinstance(exc, DependencyError) and exc.retryable

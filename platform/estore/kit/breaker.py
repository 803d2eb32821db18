"""Circuit breaker: stop calling a failing dependency, probe it again after a cool-down.

States: closed (calls pass, consecutive failures are counted), open (calls are refused at
once until `reset_timeout` has passed on the injected clock), half-open (up to
`half_open_max_calls` trial calls; all of them succeeding closes the breaker, any failure
opens it again).

A caller asks `before_call()` for admission and reports the outcome with the ticket it got
back, so a slow call admitted under one state cannot sway a later one (a success admitted
while closed must not count as a half-open trial). The breaker knows nothing of HTTP: the
caller decides what is a failure.
"""

from __future__ import annotations

import enum
from collections.abc import Callable

from estore.kit.clock import Clock


class BreakerState(enum.Enum):
    CLOSED = "closed"
    HALF_OPEN = "half_open"
    OPEN = "open"

    @property
    def gauge_value(self) -> int:
        """The number exported as `estore_circuit_breaker_state`: 0 closed, 1 half-open, 2 open."""
        return _GAUGE_VALUES[self]


_GAUGE_VALUES = {BreakerState.CLOSED: 0, BreakerState.HALF_OPEN: 1, BreakerState.OPEN: 2}

StateChangeHook = Callable[["CircuitBreaker", BreakerState, BreakerState], None]


class BreakerOpen(Exception):
    """Raised by `before_call` when the breaker refuses a call."""

    def __init__(self, name: str, retry_after: float) -> None:
        super().__init__(f"circuit {name!r} is open; retry in {retry_after:.3f}s")
        self.name = name
        self.retry_after = retry_after


class CircuitBreaker:
    """A consecutive-failure breaker for one dependency, timed by an injected clock."""

    def __init__(
        self,
        name: str,
        clock: Clock,
        failure_threshold: int = 5,
        reset_timeout: float = 30.0,
        half_open_max_calls: int = 1,
        on_state_change: StateChangeHook | None = None,
    ) -> None:
        if failure_threshold < 1 or half_open_max_calls < 1 or reset_timeout < 0:
            raise ValueError("breaker thresholds must be positive")
        self.name = name
        self.failure_threshold = failure_threshold
        self.reset_timeout = reset_timeout
        self.half_open_max_calls = half_open_max_calls
        self.on_state_change = on_state_change
        self._clock = clock
        self._state = BreakerState.CLOSED
        # Bumped on every transition; tickets from an older generation are ignored.
        self._generation = 0
        self._failures = 0
        self._opened_at = 0.0
        self._trials_in_flight = 0
        self._trial_successes = 0

    @property
    def state(self) -> BreakerState:
        """The state as of now: an open breaker whose cool-down has passed reads half-open.

        Reading has no side effects (metrics scrapes read it); the transition itself, and the
        hook, happen when the next call asks for admission.
        """
        if self._state is BreakerState.OPEN and self._cooled_down():
            return BreakerState.HALF_OPEN
        return self._state

    def gauge_value(self) -> int:
        return self.state.gauge_value

    def before_call(self) -> int:
        """Admit a call or raise `BreakerOpen`; returns the ticket to report the outcome with."""
        if self._state is BreakerState.CLOSED:
            return self._generation
        if self._state is BreakerState.OPEN:
            if not self._cooled_down():
                raise BreakerOpen(self.name, self._opened_at + self.reset_timeout - self._now())
            self._transition(BreakerState.HALF_OPEN)
        if self._trials_in_flight + self._trial_successes >= self.half_open_max_calls:
            raise BreakerOpen(self.name, 0.0)
        self._trials_in_flight += 1
        return self._generation

    def on_success(self, ticket: int) -> None:
        if ticket != self._generation:
            return
        if self._state is BreakerState.CLOSED:
            self._failures = 0
        elif self._state is BreakerState.HALF_OPEN:
            self._trials_in_flight -= 1
            self._trial_successes += 1
            if self._trial_successes >= self.half_open_max_calls:
                self._transition(BreakerState.CLOSED)

    def on_failure(self, ticket: int) -> None:
        if ticket != self._generation:
            return
        if self._state is BreakerState.CLOSED:
            self._failures += 1
            if self._failures >= self.failure_threshold:
                self._transition(BreakerState.OPEN)
        elif self._state is BreakerState.HALF_OPEN:
            self._transition(BreakerState.OPEN)

    def on_abandon(self, ticket: int) -> None:
        """The call ended without a verdict (the caller was cancelled): free its trial slot."""
        if ticket == self._generation and self._state is BreakerState.HALF_OPEN:
            self._trials_in_flight -= 1

    def _transition(self, new: BreakerState) -> None:
        old = self._state
        self._state = new
        self._generation += 1
        self._failures = 0
        self._trials_in_flight = 0
        self._trial_successes = 0
        if new is BreakerState.OPEN:
            self._opened_at = self._now()
        if self.on_state_change is not None:
            self.on_state_change(self, old, new)

    def _cooled_down(self) -> bool:
        return self._now() - self._opened_at >= self.reset_timeout

    def _now(self) -> float:
        return self._clock.monotonic()

    def __repr__(self) -> str:
        return f"CircuitBreaker({self.name!r}, state={self.state.value})"

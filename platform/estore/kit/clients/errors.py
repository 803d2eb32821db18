"""How a call to a dependency failed: unavailable, timed out, circuit open, or a 5xx."""

from __future__ import annotations

import httpx


class DependencyError(Exception):
    """A call to `dependency` failed; `status` is the HTTP status when the dependency answered.

    `retryable` says whether trying again later may help; `retry_after` (seconds) is set when
    the client knows how long to wait (an open circuit); `response` is the failing answer.
    `maybe_sent` is False only when no attempt of the call can have reached the dependency,
    which is what tells a caller that a non-repeatable effect (a charge) certainly did not
    happen.
    """

    outcome = "error"
    maybe_sent = True

    def __init__(
        self,
        dependency: str,
        reason: str,
        status: int | None = None,
        *,
        retryable: bool = False,
        retry_after: float | None = None,
        response: httpx.Response | None = None,
    ) -> None:
        super().__init__(f"{dependency}: {reason}")
        self.dependency = dependency
        self.reason = reason
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after
        self.response = response


class DependencyUnavailable(DependencyError):
    """Not reachable (connection refused, dropped) or answered 502/503/504."""

    outcome = "unavailable"


class DependencyTimeout(DependencyError):
    """No answer in time: the call's deadline or an attempt's timeout ran out."""

    outcome = "timeout"


class CircuitOpenError(DependencyUnavailable):
    """Refused without calling: the dependency's circuit breaker is open.

    Refused before the first attempt, nothing was sent; refused on a retry, the earlier
    attempts were (the client sets `maybe_sent` then).
    """

    outcome = "circuit_open"
    maybe_sent = False

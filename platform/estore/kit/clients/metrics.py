"""Dependency metrics: calls by outcome, call duration, breaker state."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from estore.kit.breaker import CircuitBreaker


class ClientMetrics:
    """The dependency metrics of one service, registered in that service's registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "estore_dependency_requests",
            "Calls to a dependency by final outcome (after retries).",
            ["dependency", "outcome"],
            registry=registry,
        )
        self.seconds = Histogram(
            "estore_dependency_request_seconds",
            "Duration of calls to a dependency, retries included.",
            ["dependency"],
            registry=registry,
        )
        self.breaker_state = Gauge(
            "estore_circuit_breaker_state",
            "Circuit breaker state per dependency: 0 closed, 1 half-open, 2 open.",
            ["dependency"],
            registry=registry,
        )

    def track(self, breaker: CircuitBreaker) -> None:
        """Export `breaker`'s state; read at scrape time, so it is never stale."""
        self.breaker_state.labels(dependency=breaker.name).set_function(breaker.gauge_value)

"""Service clients: one per dependency, with a deadline, retries, a circuit breaker and metrics."""

from estore.kit.clients.client import (
    DEFAULT_DEADLINE_SECONDS,
    IDEMPOTENT_METHODS,
    HeaderProvider,
    ServiceClient,
)
from estore.kit.clients.errors import (
    CircuitOpenError,
    DependencyError,
    DependencyTimeout,
    DependencyUnavailable,
)
from estore.kit.clients.metrics import ClientMetrics
from estore.kit.clients.policy import BreakerPolicy, RetryPolicy
from estore.kit.clients.registry import ClientRegistry

__all__ = [
    "DEFAULT_DEADLINE_SECONDS",
    "IDEMPOTENT_METHODS",
    "BreakerPolicy",
    "CircuitOpenError",
    "ClientMetrics",
    "ClientRegistry",
    "DependencyError",
    "DependencyTimeout",
    "DependencyUnavailable",
    "HeaderProvider",
    "RetryPolicy",
    "ServiceClient",
]

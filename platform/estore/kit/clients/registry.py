"""One service's clients by dependency name, sharing faults and metrics."""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterator, Mapping, Sequence

import httpx
from prometheus_client import CollectorRegistry

from estore.kit.breaker import BreakerState, CircuitBreaker, StateChangeHook
from estore.kit.clients.client import DEFAULT_DEADLINE_SECONDS, HeaderProvider, ServiceClient
from estore.kit.clients.metrics import ClientMetrics
from estore.kit.clients.policy import BreakerPolicy, RetryPolicy
from estore.kit.clock import Clock
from estore.kit.faults import Faults

logger = logging.getLogger(__name__)


class ClientRegistry(Mapping[str, ServiceClient]):
    """One service's clients by dependency name, sharing one `Faults` and one metrics set.

    Built from name -> (base_url, transport); the registry owns the transports. Breaker
    transitions are logged unless `on_breaker_change` is given. The dependencies named in
    `external` are systems outside ours (the card processor): their clients add only
    `external_header_providers`, so nothing meant for our own services (a signed caller)
    leaves the network.
    """

    def __init__(
        self,
        dependencies: Mapping[str, tuple[str, httpx.AsyncBaseTransport]],
        *,
        clock: Clock,
        registry: CollectorRegistry,
        faults: Faults | None = None,
        header_providers: Sequence[HeaderProvider] = (),
        external: Collection[str] = (),
        external_header_providers: Sequence[HeaderProvider] = (),
        deadline: float = DEFAULT_DEADLINE_SECONDS,
        retry: RetryPolicy | None = None,
        breaker: BreakerPolicy | None = None,
        on_breaker_change: StateChangeHook | None = None,
        seed: int = 0,
        metrics: ClientMetrics | None = None,
    ) -> None:
        self.faults = faults if faults is not None else Faults(seed=seed)
        # A second registry in one service shares the first one's metrics: a Prometheus
        # registry takes each metric name once.
        self.metrics = metrics or ClientMetrics(registry)
        policy = breaker or BreakerPolicy()
        self._clients = {
            name: ServiceClient(
                name,
                base_url,
                transport,
                clock=clock,
                breaker=CircuitBreaker(
                    name,
                    clock,
                    failure_threshold=policy.failure_threshold,
                    reset_timeout=policy.reset_timeout,
                    half_open_max_calls=policy.half_open_max_calls,
                    on_state_change=on_breaker_change or _log_transition,
                ),
                faults=self.faults,
                metrics=self.metrics,
                header_providers=(
                    external_header_providers if name in external else header_providers
                ),
                deadline=deadline,
                retry=retry,
                seed=seed,
            )
            for name, (base_url, transport) in dependencies.items()
        }

    def __getitem__(self, name: str) -> ServiceClient:
        return self._clients[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._clients)

    def __len__(self) -> int:
        return len(self._clients)

    async def aclose(self) -> None:
        """Close the transports the clients were built on."""
        for client in self._clients.values():
            await client.aclose()


def _log_transition(breaker: CircuitBreaker, old: BreakerState, new: BreakerState) -> None:
    log = logger.warning if new is BreakerState.OPEN else logger.info
    log("circuit %s: %s -> %s", breaker.name, old.value, new.value)

"""The clients' resilience numbers, read from the services' own settings and policies.

Nothing here is a copy: a changed default in `estore` changes the twin.
"""

from __future__ import annotations

from dataclasses import dataclass

from estore.gateway.settings import GatewaySettings
from estore.kit.clients.policy import BreakerPolicy, RetryPolicy
from estore.kit.settings import ServiceSettings
from estore.kit.stores import MAX_REDIS_CONNECTIONS
from estore.services.order.settings import OrderSettings


@dataclass(frozen=True)
class Resilience:
    request_deadline_s: float
    subgraph_deadline_s: float
    payment_deadline_s: float
    charge_attempts: int
    retry: RetryPolicy
    breaker: BreakerPolicy
    redis_pool: int

    @classmethod
    def from_settings(cls) -> Resilience:
        base = ServiceSettings()
        order = OrderSettings()
        return cls(
            request_deadline_s=base.request_deadline_seconds,
            subgraph_deadline_s=GatewaySettings().gateway_subgraph_deadline_seconds,
            payment_deadline_s=order.payment_deadline_seconds or order.request_deadline_seconds,
            charge_attempts=order.charge_attempts,
            retry=RetryPolicy(),
            breaker=BreakerPolicy(),
            redis_pool=MAX_REDIS_CONNECTIONS,
        )

    def deadline_for(self, caller: str, callee: str) -> float:
        if caller == "gateway":
            return self.subgraph_deadline_s
        if callee == "payment":
            return self.payment_deadline_s
        return self.request_deadline_s

    def attempts_for(self, callee: str, idempotent: bool) -> int:
        """The order saga tries a charge itself, with one idempotency key, `charge_attempts`
        times; the kit client retries only idempotent calls."""
        if callee == "payment":
            return self.charge_attempts
        return self.retry.attempts if idempotent else 1

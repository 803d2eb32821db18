"""Order service settings: the cancel window, reservation lifetime and saga timing."""

from __future__ import annotations

from typing import ClassVar

from pydantic import SecretStr

from estore.kit.settings import ServiceSettings


class OrderSettings(ServiceSettings):
    service: ClassVar[str] = "order"

    currency: str = "EUR"
    # A customer may cancel a confirmed order this long after it was confirmed; admins any time.
    cancel_window_seconds: int = 1800
    # How long a second cancel of the same order waits for the first to finish.
    cancel_settle_seconds: float = 5.0
    reservation_ttl_seconds: int = 900
    # How often a charge is tried (same idempotency key) when the processor's answer is lost.
    charge_attempts: int = 3
    # A deadline for payment calls alone; None uses request_deadline_seconds.
    payment_deadline_seconds: float | None = None
    # The merchant's secret key at the card processor (PAYMENT_SECRET_KEY): only order holds it.
    payment_secret_key: SecretStr | None = None
    # Who runs sagas: stable across restarts, so a restarted instance resumes its own sagas at
    # once; give each instance its own (INSTANCE_ID). Empty: the host name.
    instance_id: str = ""
    # A saga whose runner has not touched it for this long may be taken over by another.
    saga_lease_seconds: float = 30.0
    saga_sweep_interval_seconds: float = 15.0
    # How often a compensation is tried in line before it is left to the sweeper.
    compensation_attempts: int = 3
    compensation_backoff_seconds: float = 0.05

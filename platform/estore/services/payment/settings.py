"""Payment processor settings: the merchant's keys, and how long a dialled-in timeout hangs."""

from __future__ import annotations

from typing import ClassVar

from pydantic import SecretStr

from estore.kit.settings import ServiceSettings


class PaymentSettings(ServiceSettings):
    service: ClassVar[str] = "payment"

    # Well past any caller's deadline (the kit's default is 2 s), so the caller gives up first.
    timeout_hang_seconds: float = 30.0
    # The merchant's secret key (PAYMENT_SECRET_KEY); the order service holds the same one.
    payment_secret_key: SecretStr | None = None
    # Old keys still accepted while a rotation rolls out, comma-separated.
    payment_accepted_keys: SecretStr | None = None

    def accepted_keys(self) -> list[str]:
        if self.payment_accepted_keys is None:
            return []
        listed = self.payment_accepted_keys.get_secret_value().split(",")
        return [key.strip() for key in listed if key.strip()]

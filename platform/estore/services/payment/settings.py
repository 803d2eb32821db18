"""Payment processor settings: how long a dialled-in timeout hangs before it answers."""

from __future__ import annotations

from typing import ClassVar

from estore.kit.settings import ServiceSettings


class PaymentSettings(ServiceSettings):
    service: ClassVar[str] = "payment"

    # Well past any caller's deadline (the kit's default is 2 s), so the caller gives up first.
    timeout_hang_seconds: float = 30.0

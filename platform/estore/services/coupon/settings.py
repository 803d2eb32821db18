"""Coupon service settings: the welcome coupon every new customer receives."""

from __future__ import annotations

from typing import ClassVar

from estore.kit.settings import ServiceSettings


class CouponSettings(ServiceSettings):
    service: ClassVar[str] = "coupon"

    welcome_percent: int = 10
    welcome_valid_days: int = 30
    welcome_currency: str = "EUR"
    # How long a redeem waits for a duplicate of itself (same order) that is mid-way.
    redeem_settle_seconds: float = 1.0

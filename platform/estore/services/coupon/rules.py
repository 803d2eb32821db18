"""Coupon rules: whether a coupon applies to a cart, and the discount it gives."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from estore.kit.money import Money
from estore.services.coupon.models import CartItem, Coupon, DiscountKind

UNKNOWN = "unknown coupon code"
INACTIVE = "coupon is inactive"
NOT_YET_VALID = "coupon is not yet valid"
EXPIRED = "coupon has expired"
LIMIT_REACHED = "coupon redemption limit reached"
PER_CUSTOMER_LIMIT = "per-customer limit reached for this coupon"
NOT_ELIGIBLE = "not eligible for these categories"


@dataclass(frozen=True)
class Cart:
    customer_id: str | None
    currency: str
    items: list[CartItem]

    def subtotal(self) -> int:
        return sum(item.unit_price.amount * item.quantity for item in self.items)

    def eligible_subtotal(self, categories: list[str]) -> int:
        if not categories:
            return self.subtotal()
        wanted = set(categories)
        return sum(
            item.unit_price.amount * item.quantity
            for item in self.items
            if item.category_id in wanted
        )


@dataclass(frozen=True)
class Decision:
    discount: Money
    reason: str | None = None

    @property
    def valid(self) -> bool:
        return self.reason is None


def decide(coupon: Coupon | None, cart: Cart, now: datetime) -> Decision:
    """The discount `coupon` gives `cart` at `now`, or the first reason it does not apply."""
    zero = Money.zero(cart.currency)
    reason = _refusal(coupon, cart, now)
    if reason is not None or coupon is None:
        return Decision(zero, reason or UNKNOWN)
    eligible = cart.eligible_subtotal(coupon.eligible_categories)
    if eligible == 0:
        return Decision(zero, NOT_ELIGIBLE)
    if coupon.kind is DiscountKind.PERCENT:
        assert coupon.percent is not None
        amount = eligible * coupon.percent // 100
    else:
        assert coupon.amount is not None
        amount = min(coupon.amount, eligible)
    return Decision(Money(amount=amount, currency=cart.currency))


def _refusal(coupon: Coupon | None, cart: Cart, now: datetime) -> str | None:
    # A personal coupon is unknown to everyone but its owner: its code reveals nothing.
    if coupon is None or (coupon.customer_id and coupon.customer_id != cart.customer_id):
        return UNKNOWN
    if not coupon.active:
        return INACTIVE
    if coupon.valid_from and now < coupon.valid_from:
        return NOT_YET_VALID
    if coupon.valid_until and now >= coupon.valid_until:
        return EXPIRED
    if coupon.currency != cart.currency and (coupon.amount or coupon.min_subtotal):
        return f"coupon is only for {coupon.currency} carts"
    if cart.subtotal() < coupon.min_subtotal:
        minimum = Money(amount=coupon.min_subtotal, currency=coupon.currency).formatted()
        return f"minimum subtotal of {minimum} not met"
    return limit_reason(coupon, cart.customer_id)


def limit_reason(coupon: Coupon, customer_id: str | None) -> str | None:
    """Why `coupon` cannot be counted once more for `customer_id`, if it cannot."""
    if coupon.max_redemptions is not None and coupon.redeemed >= coupon.max_redemptions:
        return LIMIT_REACHED
    used = coupon.per_customer.get(customer_id, 0) if customer_id else 0
    if coupon.max_per_customer is not None and used >= coupon.max_per_customer:
        return PER_CUSTOMER_LIMIT
    return None

"""Coupon rules as pure functions: discounts, rounding, windows, limits, personal coupons."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from estore.kit.money import Money
from estore.services.coupon import rules
from estore.services.coupon.models import CartItem, Coupon, DiscountKind, normalise_code

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def coupon(**fields: Any) -> Coupon:
    base: dict[str, Any] = {
        "_id": "c1",
        "code": "SAVE",
        "kind": DiscountKind.PERCENT,
        "percent": 10,
        "currency": "EUR",
        "created_at": NOW,
        "updated_at": NOW,
    }
    return Coupon.model_validate({**base, **fields})


def cart(*prices: int, customer: str | None = "alice", category: str = "books") -> rules.Cart:
    items = [
        CartItem(
            product_id=f"p{i}",
            category_id=category,
            quantity=1,
            unit_price=Money(amount=p, currency="EUR"),
        )
        for i, p in enumerate(prices)
    ]
    return rules.Cart(customer, "EUR", items)


def test_codes_normalise_to_trimmed_upper_case() -> None:
    assert normalise_code("  Spring-Sale ") == "SPRING-SALE"


def test_a_percent_discount_rounds_down_to_a_whole_cent() -> None:
    decision = rules.decide(coupon(percent=15), cart(999), NOW)
    assert decision.discount == Money(amount=149, currency="EUR")


def test_a_hundred_percent_coupon_takes_off_the_whole_cart() -> None:
    assert rules.decide(coupon(percent=100), cart(999, 1), NOW).discount.amount == 1000


def test_the_window_opens_at_valid_from_and_closes_at_valid_until() -> None:
    windowed = coupon(valid_from=NOW, valid_until=NOW + timedelta(days=1))
    assert rules.decide(windowed, cart(100), NOW - timedelta(seconds=1)).reason == (
        rules.NOT_YET_VALID
    )
    assert rules.decide(windowed, cart(100), NOW).valid
    assert rules.decide(windowed, cart(100), NOW + timedelta(days=1)).reason == rules.EXPIRED


def test_the_minimum_subtotal_counts_the_whole_cart() -> None:
    assert rules.decide(coupon(min_subtotal=1000), cart(500, 500), NOW).valid
    assert not rules.decide(coupon(min_subtotal=1001), cart(500, 500), NOW).valid


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"max_redemptions": 3, "redeemed": 3}, rules.LIMIT_REACHED),
        ({"max_per_customer": 1, "per_customer": {"alice": 1}}, rules.PER_CUSTOMER_LIMIT),
        ({"active": False}, rules.INACTIVE),
        ({"customer_id": "bob"}, rules.UNKNOWN),
    ],
)
def test_a_coupon_that_cannot_be_used_says_why(fields: dict[str, Any], reason: str) -> None:
    decision = rules.decide(coupon(**fields), cart(100), NOW)
    assert (decision.valid, decision.reason, decision.discount.amount) == (False, reason, 0)


def test_another_customers_use_does_not_count_against_the_per_customer_limit() -> None:
    used = coupon(max_per_customer=1, per_customer={"bob": 1})
    assert rules.decide(used, cart(100), NOW).valid


def test_an_unknown_coupon_is_invalid() -> None:
    assert rules.decide(None, cart(100), NOW).reason == rules.UNKNOWN

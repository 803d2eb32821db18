"""Verify the coupon service against the order service's pact (redeem, release)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from contracts.harness.provider import (
    CUSTOMER_ID,
    assert_verified,
    today_http_sources,
    verify_as_customer,
)
from contracts.harness.served import ServedProvider
from contracts.harness.verify import Seed
from estore.kit.identity import Caller, Role
from estore.services.coupon.models import CouponInput, DiscountKind, RedeemRequest


async def no_coupons(served: ServedProvider, params: dict[str, Any]) -> None:
    """A fresh store has none."""


async def percent_coupon(served: ServedProvider, params: dict[str, Any]) -> None:
    form = CouponInput(code=params["code"], kind=DiscountKind.PERCENT, percent=10)
    await served.service().create(form)


async def redeemed_coupon(served: ServedProvider, params: dict[str, Any]) -> None:
    await percent_coupon(served, params)
    caller = Caller(user_id=CUSTOMER_ID, email="c@example.com", roles=frozenset({Role.CUSTOMER}))
    request = RedeemRequest(
        code=params["code"],
        customer_id=CUSTOMER_ID,
        currency="EUR",
        items=[
            {"product_id": "p", "quantity": 1, "unit_price": {"amount": 1000, "currency": "EUR"}}
        ],
        order_id=params["order_id"],
    )
    await served.service().redeem(request, caller)


SEEDS: dict[str, Seed] = {
    "no coupons exist": no_coupons,
    "a coupon of 10 percent off exists": percent_coupon,
    "a coupon was redeemed for an order": redeemed_coupon,
}


@pytest.fixture(scope="module")
def coupon() -> Iterator[ServedProvider]:
    with ServedProvider("coupon") as served:
        yield served


def test_coupon_honours_every_pact_its_consumers_wrote(coupon: ServedProvider) -> None:
    verdicts = verify_as_customer(coupon, SEEDS, today_http_sources("coupon"))
    assert_verified(verdicts, "coupon")

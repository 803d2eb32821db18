"""Consumer pact order -> coupon: redeem a coupon for an order, and release it on cancel."""

from __future__ import annotations

from typing import Any

from pact import match

from contracts.harness.consumer import expect, served_client
from contracts.harness.messages import ID, money
from contracts.harness.pacts import PactBook, book_fixture
from estore.services.order.peers import CouponPeer, Rejected

book = book_fixture("order", "coupon")

ORDER_ID = "0a1b2c3d4e5f40718293a4b5c6d7e8f9"
PRODUCT_ID = "9f8e7d6c5b4a40312f1e0d9c8b7a6f5e"


def redeem_body(code: str) -> dict[str, Any]:
    return {
        "code": code,
        "customer_id": "cust-1",
        "currency": "EUR",
        "items": [
            {
                "product_id": PRODUCT_ID,
                "category_id": None,
                "quantity": 2,
                "unit_price": {"amount": 2500, "currency": "EUR"},
            }
        ],
        "order_id": ORDER_ID,
    }


async def test_order_redeems_a_valid_coupon_and_keeps_its_discount(book: PactBook) -> None:
    pact = expect(
        book,
        "a request to redeem a valid coupon for an order",
        state="a coupon of 10 percent off exists",
        params={"code": "SAVE10"},
        method="POST",
        path="/api/v1/coupons/redeem",
        body=redeem_body("save10"),
        status=200,
        response={
            "redemption_id": match.regex("r-1", regex=ID),
            "code": match.regex("SAVE10", regex=r"^[A-Z0-9_-]+$"),
            "order_id": ORDER_ID,
            "discount": money(500),
        },
    )
    async with served_client(pact, "coupon") as client:
        redemption = await CouponPeer(client).redeem(redeem_body("save10"))
    assert redemption["code"] == "SAVE10"
    assert redemption["discount"]["amount"] == 500
    book.record(pact)


async def test_order_is_told_why_a_coupon_is_rejected(book: PactBook) -> None:
    pact = expect(
        book,
        "a request to redeem an unknown coupon",
        state="no coupons exist",
        method="POST",
        path="/api/v1/coupons/redeem",
        body=redeem_body("NOPE"),
        status=409,
        response={
            "error": {"code": "coupon_rejected", "message": match.str("unknown coupon code")}
        },
    )
    async with served_client(pact, "coupon") as client:
        try:
            await CouponPeer(client).redeem(redeem_body("NOPE"))
        except Rejected as rejected:
            assert rejected.code == "coupon_rejected"
            assert "unknown coupon code" in rejected.reason
        else:
            raise AssertionError("an unknown coupon was accepted")
    book.record(pact)


async def test_order_releases_the_coupon_of_a_cancelled_order(book: PactBook) -> None:
    pact = expect(
        book,
        "a request to release the coupon redeemed for an order",
        state="a coupon was redeemed for an order",
        params={"code": "SAVE10", "order_id": ORDER_ID},
        method="POST",
        path="/api/v1/coupons/release",
        body={"order_id": ORDER_ID},
        status=200,
        response={"order_id": ORDER_ID, "released": match.bool(True)},
    )
    async with served_client(pact, "coupon") as client:
        await CouponPeer(client).release(ORDER_ID)
    book.record(pact)

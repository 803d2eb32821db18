"""Consumer pact order -> payment: charge a card, find or void a charge by key, refund.

Every request carries the merchant's secret key (the pact holds only its shape; provider
verification replays it with the real key) and no signed caller: the processor is outside.
"""

from __future__ import annotations

from typing import Any

from pact import match

from contracts.harness.consumer import expect as expect_any
from contracts.harness.consumer import served_client
from contracts.harness.messages import CURRENCY, ID, at_least_one, timestamp
from contracts.harness.pacts import PactBook, book_fixture
from estore.services.order.peers import PaymentPeer, Rejected

book = book_fixture("order", "payment")

KEY = "order-0a1b2c3d4e5f40718293a4b5c6d7e8f9-charge"
# The consumer's own stand-in for PAYMENT_SECRET_KEY; the pact keeps only its shape.
MERCHANT_KEY = "contracts-consumer-merchant-key-00000001"
MERCHANT_AUTHORIZATION = {
    "Authorization": match.regex(f"Bearer {MERCHANT_KEY}", regex=r"^Bearer [A-Za-z0-9_-]{32,}$")
}
CHARGE_ID = "c0ffee00c0ffee00c0ffee00c0ffee00"


def expect(book: PactBook, description: str, **request: Any) -> Any:
    """An order -> payment interaction: the merchant's key, and no caller of ours."""
    return expect_any(
        book, description, headers=MERCHANT_AUTHORIZATION, forwards_caller=False, **request
    )


def merchant(client: Any) -> PaymentPeer:
    return PaymentPeer(client, None, MERCHANT_KEY)


def charge_body(card: str) -> dict[str, Any]:
    return {
        "idempotency_key": KEY,
        "amount": 4500,
        "currency": "EUR",
        "card_number": card,
        "customer_id": "cust-1",
        "description": "order 0a1b2c3d4e5f40718293a4b5c6d7e8f9",
    }


def charge(status: str = "SUCCEEDED") -> dict[str, Any]:
    return {
        "id": match.regex(CHARGE_ID, regex=ID),
        "idempotency_key": KEY,
        "status": status,
        "amount": match.int(4500),
        "currency": match.regex("EUR", regex=CURRENCY),
        "refunded": match.int(0),
        "created_at": timestamp(),
    }


async def test_order_charges_a_card_and_keeps_the_charge_id(book: PactBook) -> None:
    pact = expect(
        book,
        "a request to charge a card that succeeds",
        state="the processor accepts cards",
        method="POST",
        path="/api/v1/charges",
        body=charge_body("4242424242424242"),
        status=201,
        response=charge(),
    )
    async with served_client(pact, "payment", forwards_caller=False) as client:
        made = await merchant(client).charge(charge_body("4242424242424242"))
    assert made["id"] == CHARGE_ID
    book.record(pact)


async def test_order_tells_the_customer_why_a_card_was_declined(book: PactBook) -> None:
    pact = expect(
        book,
        "a request to charge a card without funds",
        state="the processor accepts cards",
        method="POST",
        path="/api/v1/charges",
        body=charge_body("4000000000009995"),
        status=402,
        response={
            "error": {
                "code": "card_declined",
                "message": match.str("card declined"),
                "details": at_least_one({"decline_code": "insufficient_funds"}),
            }
        },
    )
    async with served_client(pact, "payment", forwards_caller=False) as client:
        try:
            await merchant(client).charge(charge_body("4000000000009995"))
        except Rejected as rejected:
            assert rejected.reason == "your card was declined: insufficient funds"
        else:
            raise AssertionError("a declined card was taken as paid")
    book.record(pact)


async def test_order_finds_a_charge_by_its_idempotency_key(book: PactBook) -> None:
    pact = expect(
        book,
        "a request for the charge made under an idempotency key",
        state="a charge was made under a key",
        params={"idempotency_key": KEY},
        method="GET",
        path="/api/v1/charges",
        query={"idempotency_key": KEY},
        status=200,
        response=charge(),
    )
    async with served_client(pact, "payment", forwards_caller=False) as client:
        found = await merchant(client).find(KEY)
    assert found is not None and found["status"] == "SUCCEEDED"
    book.record(pact)


async def test_order_learns_that_no_charge_was_made_under_a_key(book: PactBook) -> None:
    pact = expect(
        book,
        "a request for a charge under a key never used",
        state="the processor accepts cards",
        method="GET",
        path="/api/v1/charges",
        query={"idempotency_key": KEY},
        status=404,
    )
    async with served_client(pact, "payment", forwards_caller=False) as client:
        assert await merchant(client).find(KEY) is None
    book.record(pact)


async def test_order_closes_an_unused_key_so_no_late_charge_lands(book: PactBook) -> None:
    pact = expect(
        book,
        "a request to void a key no charge was made under",
        state="the processor accepts cards",
        method="POST",
        path="/api/v1/charges/voids",
        body={"idempotency_key": KEY},
        status=200,
        response={
            "id": match.regex(CHARGE_ID, regex=ID),
            "idempotency_key": KEY,
            "status": "VOIDED",
            "amount": match.int(0),
        },
    )
    async with served_client(pact, "payment", forwards_caller=False) as client:
        voided = await merchant(client).void(KEY)
    assert voided["status"] == "VOIDED"
    book.record(pact)


async def test_order_voiding_a_used_key_learns_the_charge_made_under_it(book: PactBook) -> None:
    pact = expect(
        book,
        "a request to void a key a charge was made under",
        state="a charge was made under a key",
        params={"idempotency_key": KEY},
        method="POST",
        path="/api/v1/charges/voids",
        body={"idempotency_key": KEY},
        status=200,
        response=charge(),
    )
    async with served_client(pact, "payment", forwards_caller=False) as client:
        found = await merchant(client).void(KEY)
    assert found["status"] == "SUCCEEDED"
    book.record(pact)


async def test_order_refunds_the_rest_of_a_charge(book: PactBook) -> None:
    pact = expect(
        book,
        "a request to refund the rest of a charge",
        state="a charge was made under a key",
        params={"idempotency_key": KEY, "charge_id": CHARGE_ID},
        method="POST",
        path=f"/api/v1/charges/{CHARGE_ID}/refunds",
        body={"idempotency_key": f"{KEY}-refund", "amount": None},
        status=201,
        response={
            "id": match.regex("f00dfeed", regex=ID),
            "charge_id": CHARGE_ID,
            "amount": match.int(4500),
            "currency": match.regex("EUR", regex=CURRENCY),
            "created_at": timestamp(),
        },
    )
    async with served_client(pact, "payment", forwards_caller=False) as client:
        await merchant(client).refund(CHARGE_ID, f"{KEY}-refund")
    book.record(pact)

"""Consumer pact order -> product: reserve stock, read, confirm and release a reservation, and
price a refused cart."""

from __future__ import annotations

from typing import Any

from pact import match

from contracts.harness.consumer import expect, served_client
from contracts.harness.messages import ID, at_least_one, money, timestamp
from contracts.harness.pacts import PactBook, book_fixture
from estore.services.order.peers import ProductPeer, Rejected

book = book_fixture("order", "product")

ORDER_ID = "0a1b2c3d4e5f40718293a4b5c6d7e8f9"
PRODUCT_ID = "9f8e7d6c5b4a40312f1e0d9c8b7a6f5e"
RESERVATION_ID = "5e5e5e5e5e5e45e5a5e5e5e5e5e5e5e5"
LINES = [{"product_id": PRODUCT_ID, "quantity": 2}]
STATUS = r"^(HELD|CONFIRMED|RELEASED|EXPIRED|RESTOCKED)$"


def reservation(status: str) -> dict[str, Any]:
    """What the saga keeps from a reservation: its id, status and the price snapshot."""
    return {
        "id": match.regex(RESERVATION_ID, regex=ID),
        "reservation_key": ORDER_ID,
        "status": status,
        "items": at_least_one(
            {
                "product_id": PRODUCT_ID,
                "sku": match.str("KBD-0001"),
                "name": match.str("Keyboard"),
                "quantity": match.int(2),
                "unit_price": money(2500),
                "category_id": match.none(),
            }
        ),
        "expires_at": timestamp(),
    }


def on_reservation(
    book: PactBook, state: str, description: str, method: str, path: str, status: int, body: Any
) -> Any:
    """An interaction on the reservation the state names (held, released or confirmed)."""
    return expect(
        book,
        description,
        state=state,
        params={"reservation_id": RESERVATION_ID, "product_id": PRODUCT_ID, "key": ORDER_ID},
        method=method,
        path=path,
        status=status,
        response=body,
    )


async def test_order_reserves_stock_and_keeps_the_price_snapshot(book: PactBook) -> None:
    pact = expect(
        book,
        "a request to reserve stock for an order",
        state="a product is in stock",
        params={"product_id": PRODUCT_ID, "stock": 10},
        method="POST",
        path="/api/v1/reservations",
        body={"reservation_key": ORDER_ID, "items": LINES, "ttl_seconds": 900},
        status=201,
        response=reservation("HELD"),
    )
    async with served_client(pact, "product") as client:
        made = await ProductPeer(client).reserve(ORDER_ID, LINES, 900)
    assert made["items"][0]["unit_price"] == {"amount": 2500, "currency": "EUR"}
    book.record(pact)


async def test_order_learns_which_product_is_short_of_stock(book: PactBook) -> None:
    pact = expect(
        book,
        "a request to reserve more than is in stock",
        state="a product is in stock",
        params={"product_id": PRODUCT_ID, "stock": 1},
        method="POST",
        path="/api/v1/reservations",
        body={"reservation_key": ORDER_ID, "items": LINES, "ttl_seconds": 900},
        status=409,
        response={
            "error": {
                "code": "out_of_stock",
                "message": match.str("not enough stock"),
                "details": at_least_one(
                    {"product_id": PRODUCT_ID, "requested": 2, "available": match.int(1)}
                ),
            }
        },
    )
    async with served_client(pact, "product") as client:
        try:
            await ProductPeer(client).reserve(ORDER_ID, LINES, 900)
        except Rejected as rejected:
            assert rejected.code == "out_of_stock"
            assert PRODUCT_ID in rejected.reason
        else:
            raise AssertionError("a reservation beyond stock was accepted")
    book.record(pact)


async def test_order_prices_a_cart_refused_before_stock_was_held(book: PactBook) -> None:
    pact = expect(
        book,
        "a request for the products of a refused cart",
        state="a product is in stock",
        params={"product_id": PRODUCT_ID, "stock": 1},
        method="GET",
        path="/api/v1/products",
        query={"ids": PRODUCT_ID},
        status=200,
        response={
            "items": at_least_one(
                {
                    "id": PRODUCT_ID,
                    "sku": match.str("KBD-0001"),
                    "name": match.str("Keyboard"),
                    "price": money(2500),
                    "category_id": match.none(),
                }
            )
        },
    )
    async with served_client(pact, "product") as client:
        [line] = await ProductPeer(client).priced(LINES)
    assert (line["quantity"], line["unit_price"]) == (2, {"amount": 2500, "currency": "EUR"})
    book.record(pact)


async def test_order_reads_a_reservation_when_recovering_a_saga(book: PactBook) -> None:
    path = f"/api/v1/reservations/{RESERVATION_ID}"
    pact = on_reservation(
        book,
        "a reservation is held",
        "a request to read a reservation",
        "GET",
        path,
        200,
        reservation("HELD"),
    )
    async with served_client(pact, "product") as client:
        found = await ProductPeer(client).reservation(RESERVATION_ID)
    assert found is not None and found["status"] == "HELD"
    book.record(pact)


async def test_order_confirms_a_held_reservation(book: PactBook) -> None:
    path = f"/api/v1/reservations/{RESERVATION_ID}/confirm"
    pact = on_reservation(
        book,
        "a reservation is held",
        "a request to confirm a held reservation",
        "POST",
        path,
        200,
        reservation("CONFIRMED"),
    )
    async with served_client(pact, "product") as client:
        await ProductPeer(client).confirm(RESERVATION_ID)
    book.record(pact)


async def test_order_releases_a_held_reservation(book: PactBook) -> None:
    path = f"/api/v1/reservations/{RESERVATION_ID}/release"
    pact = on_reservation(
        book,
        "a reservation is held",
        "a request to release a held reservation",
        "POST",
        path,
        200,
        reservation("RELEASED"),
    )
    async with served_client(pact, "product") as client:
        assert await ProductPeer(client).release(RESERVATION_ID) == "released"
    book.record(pact)


async def test_order_is_told_a_released_hold_cannot_be_confirmed(book: PactBook) -> None:
    path = f"/api/v1/reservations/{RESERVATION_ID}/confirm"
    error = {"error": {"code": "reservation_not_held", "message": match.str("released")}}
    pact = on_reservation(
        book,
        "a reservation was released",
        "a request to confirm a released reservation",
        "POST",
        path,
        409,
        error,
    )
    async with served_client(pact, "product") as client:
        try:
            await ProductPeer(client).confirm(RESERVATION_ID)
        except Rejected as rejected:
            assert rejected.code == "reservation_not_held"
        else:
            raise AssertionError("a released reservation was confirmed")
    book.record(pact)


async def test_order_is_told_a_confirmed_hold_cannot_be_released(book: PactBook) -> None:
    path = f"/api/v1/reservations/{RESERVATION_ID}/release"
    error = {"error": {"code": "reservation_confirmed", "message": match.str("confirmed")}}
    pact = on_reservation(
        book,
        "a reservation was confirmed",
        "a request to release a confirmed reservation",
        "POST",
        path,
        409,
        error,
    )
    async with served_client(pact, "product") as client:
        assert await ProductPeer(client).release(RESERVATION_ID) == "confirmed"
    book.record(pact)

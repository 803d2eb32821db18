"""Consumer pact ticket -> order: opening a ticket about an order checks the order is yours."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from pact import Pact, match

from contracts.harness.clients import CALLER_HEADER_REGEX, CUSTOMER
from contracts.harness.pacts import PactBook, book_fixture
from estore.cluster import Cluster
from estore.kit.bootstrap import Wiring
from estore.kit.identity import CALLER_HEADER
from estore.kit.transport import InProcessTransport

book = book_fixture("ticket", "order")

ORDER_ID = "0a1b2c3d4e5f40718293a4b5c6d7e8f9"
ORDER_STATUS = r"^(PENDING|CONFIRMED|FAILED|CANCELLED)$"


def order_lookup(book: PactBook, description: str, state: str, status: int, body: Any) -> Pact:
    pact = book.new()
    (
        pact.upon_receiving(description)
        .given(state, {"order_id": ORDER_ID, "customer_id": CUSTOMER.user_id})
        .with_request("GET", f"/api/v1/orders/{ORDER_ID}")
        .with_header(CALLER_HEADER, match.regex("v1.e30.c2ln", regex=CALLER_HEADER_REGEX))
        .will_respond_with(status)
        .with_body(body, "application/json")
    )
    return pact


@asynccontextmanager
async def ticket_api(pact: Pact) -> AsyncIterator[httpx.AsyncClient]:
    """The real ticket app, its order client aimed at the pact's mock order service."""
    with pact.serve() as server:
        cluster = Cluster(
            Wiring(),
            services=["ticket"],
            served=True,
            overrides={"order_service_url": str(server.url)},
        )
        await cluster.start()
        signed = cluster.infras["ticket"].internal_identity.sign(CUSTOMER)
        transport = InProcessTransport(cluster.apps["ticket"])
        try:
            async with httpx.AsyncClient(
                transport=transport, base_url="http://ticket", headers={CALLER_HEADER: signed}
            ) as client:
                yield client
        finally:
            await cluster.stop()


def about_the_order() -> dict[str, str]:
    return {"subject": "Where is my parcel?", "body": "It has not arrived.", "order_id": ORDER_ID}


async def test_a_customer_opens_a_ticket_about_their_own_order(book: PactBook) -> None:
    # The ticket keeps the order id it asked about: it relies on getting that order back.
    body = {
        "id": ORDER_ID,
        "customer_id": CUSTOMER.user_id,
        "status": match.regex("CONFIRMED", regex=ORDER_STATUS),
    }
    pact = order_lookup(
        book, "a request for an order of the caller", "an order of the customer exists", 200, body
    )
    async with ticket_api(pact) as tickets:
        opened = await tickets.post("/api/v1/tickets", json=about_the_order())
    assert opened.status_code == 201, opened.text
    assert opened.json()["order_id"] == ORDER_ID
    book.record(pact)


async def assert_refused_and_nothing_stored(pact: Pact) -> None:
    async with ticket_api(pact) as tickets:
        opened = await tickets.post("/api/v1/tickets", json=about_the_order())
        listed = await tickets.get("/api/v1/tickets")
    assert opened.status_code == 422, opened.text
    assert opened.json()["error"]["code"] == "order_not_found"
    assert listed.json()["items"] == []


async def test_a_ticket_about_another_customers_order_is_refused(book: PactBook) -> None:
    body = {"error": {"code": "not_found", "message": match.str("order not found")}}
    pact = order_lookup(
        book,
        "a request for an order of another customer",
        "an order of another customer exists",
        404,
        body,
    )
    await assert_refused_and_nothing_stored(pact)
    book.record(pact)


async def test_a_ticket_about_an_unknown_order_is_refused(book: PactBook) -> None:
    body = {"error": {"code": "not_found", "message": match.str("order not found")}}
    pact = order_lookup(book, "a request for an unknown order", "no orders exist", 404, body)
    await assert_refused_and_nothing_stored(pact)
    book.record(pact)

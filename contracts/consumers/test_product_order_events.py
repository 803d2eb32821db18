"""Message pact product <- order: `order:confirmed` counts lines as sold, `order:cancelled` takes
them back; each once."""

from __future__ import annotations

from pact import match

from contracts.harness.messages import ID, as_event, at_least_one, deliver, envelope
from contracts.harness.pacts import PactBook, book_fixture
from contracts.harness.seeding import product
from contracts.harness.stores import rekey
from estore.cluster import Cluster
from estore.kit.bootstrap import Wiring
from estore.kit.events.catalog import OrderCancelled, OrderConfirmed
from estore.services.product.service import ProductService

book = book_fixture("product", "order")

ORDER_ID = "0a1b2c3d4e5f40718293a4b5c6d7e8f9"
PRODUCT_ID = "9f8e7d6c5b4a40312f1e0d9c8b7a6f5e"


async def test_product_counts_a_confirmed_orders_lines_as_sold_once(book: PactBook) -> None:
    pact = book.new()
    # Only what `record_sale` reads: the order id (once per order) and each line's quantity.
    data = {
        "order_id": match.regex(ORDER_ID, regex=ID),
        "items": at_least_one(
            {"product_id": match.regex(PRODUCT_ID, regex=ID), "quantity": match.int(2)}
        ),
    }
    (
        pact.upon_receiving("an order:confirmed event for a paid order", "Async")
        .given("a customer's checkout is confirmed")
        .with_body(envelope(OrderConfirmed.NAME, "order", data), "application/json")
    )
    bodies: list[str | bytes | None] = []
    pact.verify(lambda body, _metadata: bodies.append(body), "Async")

    cluster = Cluster(Wiring(), services=["product"])
    await cluster.start()
    try:
        infra = cluster.infras["product"]
        for body in bodies:
            event = as_event(body)
            [line] = event.data["items"]
            made = await product(cluster, stock=10)
            await rekey(infra.db["products"], made, line["product_id"])
            await deliver(infra.redis, infra.bus, event)
            await deliver(infra.redis, infra.bus, event)  # redelivered: counted once
            sold = await cluster.service("product", ProductService).product(line["product_id"])
            assert sold.sold == line["quantity"]
            assert sold.stock == 10, "a confirmed order's stock already left with its reservation"
    finally:
        await cluster.stop()
    assert len(bodies) == 1
    book.record(pact)


async def test_product_takes_a_cancelled_orders_lines_back_out_of_sold_once(
    book: PactBook,
) -> None:
    pact = book.new()
    # Only what `reverse_sale` reads: the order id; the lines come from the sale it counted.
    data = {"order_id": match.regex(ORDER_ID, regex=ID)}
    (
        pact.upon_receiving("an order:cancelled event for a confirmed order", "Async")
        .given("a customer's confirmed order is cancelled")
        .with_body(envelope(OrderCancelled.NAME, "order", data), "application/json")
    )
    bodies: list[str | bytes | None] = []
    pact.verify(lambda body, _metadata: bodies.append(body), "Async")

    cluster = Cluster(Wiring(), services=["product"])
    await cluster.start()
    try:
        infra = cluster.infras["product"]
        service = cluster.service("product", ProductService)
        for body in bodies:
            event = as_event(body)
            made = await product(cluster, stock=10)
            await service.record_sale(event.data["order_id"], [{"product_id": made, "quantity": 3}])
            await deliver(infra.redis, infra.bus, event)
            await deliver(infra.redis, infra.bus, event)  # redelivered: taken back once
            assert (await service.product(made)).sold == 0
    finally:
        await cluster.stop()
    assert len(bodies) == 1
    book.record(pact)

"""Verify the order service against its consumers: order reads (ticket), order events (product)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from contracts.harness.messages import last_published
from contracts.harness.provider import (
    CUSTOMER_ID,
    assert_verified,
    today_http_sources,
    today_message_sources,
    verify_as_customer,
)
from contracts.harness.seeding import CHECKOUT_PEERS, checkout, customer, order_with_id, product
from contracts.harness.served import ServedProvider
from contracts.harness.verify import Seed, verify_messages
from estore.kit.events.catalog import OrderCancelled, OrderConfirmed, OrderCreated
from estore.services.order.service import OrderService

ORDER_CREATED, ORDER_CONFIRMED, ORDER_CANCELLED = (
    OrderCreated.NAME,
    OrderConfirmed.NAME,
    OrderCancelled.NAME,
)

OTHER_CUSTOMER = "someone-else"


async def own_order(served: ServedProvider, params: dict[str, Any]) -> None:
    await order_with_id(served.cluster, params.get("customer_id", CUSTOMER_ID), params["order_id"])


async def others_order(served: ServedProvider, params: dict[str, Any]) -> None:
    await order_with_id(served.cluster, OTHER_CUSTOMER, params["order_id"])


async def no_orders(served: ServedProvider, params: dict[str, Any]) -> None:
    """A fresh store has none."""


SEEDS: dict[str, Seed] = {
    "an order of the customer exists": own_order,
    "an order of another customer exists": others_order,
    "no orders exist": no_orders,
}


@pytest.fixture(scope="module")
def order() -> Iterator[ServedProvider]:
    with ServedProvider("order", peers=CHECKOUT_PEERS) as served:
        yield served


def test_order_honours_every_http_pact_its_consumers_wrote(order: ServedProvider) -> None:
    verdicts = verify_as_customer(order, SEEDS, today_http_sources("order"))
    assert_verified(verdicts, "order")


def produce_with(served: ServedProvider) -> Any:
    """Message bodies for a pact's description, published by a real checkout or cancel."""

    async def confirmed() -> dict[str, Any]:
        await served.reset()
        await checkout(served.cluster, CUSTOMER_ID, await product(served.cluster))
        return await last_published(served.cluster.infras["order"].redis, ORDER_CONFIRMED)

    async def cancelled() -> dict[str, Any]:
        await served.reset()
        await _events_of_a_checkout_and_its_cancellation(served.cluster)
        return await last_published(served.cluster.infras["order"].redis, ORDER_CANCELLED)

    made = {
        "an order:confirmed event for a paid order": confirmed,
        "an order:cancelled event for a confirmed order": cancelled,
    }

    def produce(description: str) -> dict[str, Any]:
        if description not in made:
            raise KeyError(f"order publishes no message {description!r}")
        return served.run(made[description]())

    return produce


def test_order_publishes_its_events_as_their_consumers_expect(order: ServedProvider) -> None:
    verdicts = verify_messages("order", today_message_sources("order"), produce_with(order))
    assert_verified(verdicts, "order")


async def _events_of_a_checkout_and_its_cancellation(cluster: Any) -> dict[str, dict[str, Any]]:
    made = await checkout(cluster, CUSTOMER_ID, await product(cluster))
    await cluster.service("order", OrderService).cancel(
        customer(CUSTOMER_ID), made.id, "changed mind"
    )
    redis = cluster.infras["order"].redis
    return {
        name: (await last_published(redis, name))["data"]
        for name in (ORDER_CREATED, ORDER_CONFIRMED, ORDER_CANCELLED)
    }


def test_order_events_carry_the_agreed_fields_even_where_nobody_consumes_them_yet(
    order: ServedProvider,
) -> None:
    # order:created has no consumer, hence no pact: this holds it and the others to
    # the fields agreed for the checkout until a consumer writes its own expectations.
    order.run(order.reset())
    data = order.run(_events_of_a_checkout_and_its_cancellation(order.cluster))
    line = {"product_id", "quantity", "unit_price"}
    created = {"order_id", "customer_id", "items", "total", "coupon_code"}
    assert set(data[ORDER_CREATED]) == created
    assert set(data[ORDER_CONFIRMED]) == created | {"confirmed_at"}
    assert set(data[ORDER_CANCELLED]) == {"order_id", "customer_id", "reason", "items"}
    for name in (ORDER_CREATED, ORDER_CONFIRMED, ORDER_CANCELLED):
        assert [set(item) for item in data[name]["items"]] == [line], name
    assert data[ORDER_CREATED]["total"] == {"amount": 5000, "currency": "EUR"}
    assert data[ORDER_CANCELLED]["reason"] == "changed mind"

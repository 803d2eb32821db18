"""The order service in the in-process cluster, on the real product, coupon and payment."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from estore.cluster import Cluster
from tests.callers import ADMIN, SUPPORT, as_caller
from tests.integration.order.support import (
    DECLINES,
    GOOD_CARD,
    add_coupon,
    add_product,
    assert_invariants,
    coupon_view,
    customer,
    products,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

ALICE, BOB = customer("alice"), customer("bob")


@pytest.fixture
async def world(fresh: Cluster) -> AsyncIterator[tuple[Cluster, httpx.AsyncClient, str]]:
    product_id = await add_product(fresh, "MUG-1", price=1250, stock=5)
    await add_coupon(fresh, "TENOFF", percent=10, limit=1)
    async with fresh.client("order") as order:
        yield fresh, order, product_id


def body(product_id: str, quantity: int = 2, **changes: Any) -> dict[str, Any]:
    return {
        "items": [{"product_id": product_id, "quantity": quantity}],
        "card_number": GOOD_CARD,
        "idempotency_key": "checkout-0001",
        **changes,
    }


async def test_checkout_confirms_and_moves_stock_exactly_once(world: Any) -> None:
    cluster, order, product_id = world
    response = await order.post(
        "/api/v1/orders",
        json=body(product_id, coupon_code="tenoff"),
        headers=as_caller(cluster, ALICE),
    )
    assert response.status_code == 201, response.text
    placed = response.json()
    assert placed["status"] == "CONFIRMED"
    assert placed["items"][0]["name"] == "Product MUG-1"
    assert placed["items"][0]["unit_price"] == {"amount": 1250, "currency": "EUR"}
    assert (placed["subtotal"]["amount"], placed["discount"]["amount"]) == (2500, 250)
    assert placed["total"]["amount"] == 2250
    product = (await products(cluster, [product_id]))[product_id]
    assert (product["stock"], product["reserved"]) == (3, 0)
    # Both events are on their streams for the consumers (product counts the sale from them).
    await cluster.infras["order"].bus.drain()
    redis = cluster.infras["order"].redis
    assert len(await redis.xrange("order:created")) == len(await redis.xrange("order:confirmed"))
    assert len(await redis.xrange("order:confirmed")) == 1
    assert (await coupon_view(cluster, "TENOFF"))["redeemed"] == 1
    await assert_invariants(cluster, {product_id: 5}, {"TENOFF": 1})


async def test_a_retried_request_returns_the_same_order_and_charges_once(world: Any) -> None:
    cluster, order, product_id = world
    first = await order.post(
        "/api/v1/orders", json=body(product_id), headers=as_caller(cluster, ALICE)
    )
    again = await order.post(
        "/api/v1/orders", json=body(product_id), headers=as_caller(cluster, ALICE)
    )
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    other_cart = await order.post(
        "/api/v1/orders", json=body(product_id, 1), headers=as_caller(cluster, ALICE)
    )
    assert other_cart.status_code == 409
    assert "different order" in other_cart.json()["error"]["message"]
    await assert_invariants(cluster, {product_id: 5}, {})


async def test_a_declined_card_fails_the_order_and_gives_everything_back(world: Any) -> None:
    cluster, order, product_id = world
    response = await order.post(
        "/api/v1/orders",
        json=body(product_id, coupon_code="TENOFF", card_number=DECLINES[0]),
        headers=as_caller(cluster, ALICE),
    )
    assert response.status_code == 201
    failed = response.json()
    assert failed["status"] == "FAILED"
    assert failed["failure_reason"] == "your card was declined: insufficient funds"
    assert (await coupon_view(cluster, "TENOFF"))["redeemed"] == 0
    await assert_invariants(cluster, {product_id: 5}, {"TENOFF": 1})


async def test_out_of_stock_says_what_is_short(world: Any) -> None:
    cluster, order, product_id = world
    response = await order.post(
        "/api/v1/orders", json=body(product_id, 9), headers=as_caller(cluster, ALICE)
    )
    failed = response.json()
    assert failed["status"] == "FAILED"
    assert "9 requested, 5 available" in failed["failure_reason"]
    await assert_invariants(cluster, {product_id: 5}, {})


async def test_a_failed_order_keeps_what_was_asked_for_its_subtotal_and_why(world: Any) -> None:
    cluster, order, product_id = world
    response = await order.post(
        "/api/v1/orders", json=body(product_id, 9), headers=as_caller(cluster, ALICE)
    )
    failed = (
        await order.get(
            f"/api/v1/orders/{response.json()['id']}", headers=as_caller(cluster, ALICE)
        )
    ).json()
    assert failed["status"] == "FAILED"
    assert [(i["product_id"], i["quantity"], i["name"]) for i in failed["items"]] == [
        (product_id, 9, "Product MUG-1")
    ]
    assert failed["subtotal"] == {"amount": 9 * 1250, "currency": "EUR"}
    assert failed["payment_id"] is None
    assert "not enough stock" in failed["failure_reason"]
    await assert_invariants(cluster, {product_id: 5}, {})


async def test_a_lost_processor_answer_is_resolved_by_asking_for_the_charge(world: Any) -> None:
    cluster, order, product_id = world
    async with cluster.client("payment") as payment:
        dial = await payment.post(
            "/api/v1/admin/behaviour",
            json={"timeout_rate": 1.0, "seed": 1},
            headers=as_caller(cluster, ADMIN),
        )
        assert dial.status_code == 200, dial.text
    response = await order.post(
        "/api/v1/orders", json=body(product_id), headers=as_caller(cluster, ALICE)
    )
    assert response.json()["status"] == "CONFIRMED"
    await assert_invariants(cluster, {product_id: 5}, {})


async def test_customers_see_only_their_orders_and_staff_see_all(world: Any) -> None:
    cluster, order, product_id = world
    alices = (
        await order.post(
            "/api/v1/orders", json=body(product_id, 1), headers=as_caller(cluster, ALICE)
        )
    ).json()
    bobs = (
        await order.post(
            "/api/v1/orders", json=body(product_id, 1), headers=as_caller(cluster, BOB)
        )
    ).json()
    own = await order.get("/api/v1/orders", headers=as_caller(cluster, ALICE))
    assert [o["id"] for o in own.json()["items"]] == [alices["id"]]
    staff = await order.get("/api/v1/orders", headers=as_caller(cluster, SUPPORT))
    assert {o["id"] for o in staff.json()["items"]} == {alices["id"], bobs["id"]}
    hidden = await order.get(f"/api/v1/orders/{bobs['id']}", headers=as_caller(cluster, ALICE))
    assert hidden.status_code == 404
    assert (await order.get(f"/api/v1/orders/{bobs['id']}")).status_code == 401


async def test_cancel_refunds_restocks_and_announces(world: Any) -> None:
    cluster, order, product_id = world
    placed = (
        await order.post("/api/v1/orders", json=body(product_id), headers=as_caller(cluster, ALICE))
    ).json()
    response = await order.post(
        f"/api/v1/orders/{placed['id']}/cancel",
        json={"reason": "ordered by mistake"},
        headers=as_caller(cluster, ALICE),
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "CANCELLED"
    product = (await products(cluster, [product_id]))[product_id]
    assert (product["stock"], product["reserved"]) == (5, 0)
    stream = await cluster.infras["order"].redis.xrange("order:cancelled")
    assert len(stream) == 1
    await assert_invariants(cluster, {product_id: 5}, {})


async def test_a_double_clicked_cancel_answers_the_cancelled_order_twice(world: Any) -> None:
    cluster, order, product_id = world
    placed = (
        await order.post("/api/v1/orders", json=body(product_id), headers=as_caller(cluster, ALICE))
    ).json()
    path = f"/api/v1/orders/{placed['id']}/cancel"
    first, second = await asyncio.gather(
        order.post(path, headers=as_caller(cluster, ALICE)),
        order.post(path, headers=as_caller(cluster, ALICE)),
    )
    assert (first.status_code, second.status_code) == (200, 200), second.text
    assert first.json()["status"] == second.json()["status"] == "CANCELLED"
    assert len(await cluster.infras["order"].redis.xrange("order:cancelled")) == 1
    await assert_invariants(cluster, {product_id: 5}, {})


async def test_bad_input_says_which_field_is_wrong(world: Any) -> None:
    cluster, order, product_id = world
    response = await order.post(
        "/api/v1/orders",
        json=body(product_id, card_number="4242"),
        headers=as_caller(cluster, ALICE),
    )
    assert response.status_code == 422
    assert "card_number" in response.json()["error"]["message"]
    duplicate = body(product_id)
    duplicate["items"] = duplicate["items"] * 2
    response = await order.post("/api/v1/orders", json=duplicate, headers=as_caller(cluster, ALICE))
    assert response.status_code == 422
    assert "each product may appear once" in response.json()["error"]["message"]


CREATE = """mutation($input: CreateOrderInput!) {
  createOrder(input: $input) {
    id status failureReason total { amount } items { name quantity product { id } }
  }
}"""


async def graphql(
    cluster: Cluster, order: httpx.AsyncClient, query: str, variables: dict[str, Any], who: Any
) -> dict[str, Any]:
    response = await order.post(
        "/graphql", json={"query": query, "variables": variables}, headers=as_caller(cluster, who)
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_graphql_checkout_orders_and_the_user_entity(world: Any) -> None:
    cluster, order, product_id = world
    variables = {
        "input": {
            "items": [{"productId": product_id, "quantity": 1}],
            "cardNumber": GOOD_CARD,
            "idempotencyKey": "graphql-0001",
        }
    }
    created = (await graphql(cluster, order, CREATE, variables, ALICE))["data"]["createOrder"]
    assert created["status"] == "CONFIRMED"
    assert created["items"] == [
        {"name": "Product MUG-1", "quantity": 1, "product": {"id": product_id}}
    ]
    one = "query($id: ID!) { order(id: $id) { id } }"
    denied = await graphql(cluster, order, one, {"id": created["id"]}, BOB)
    assert denied["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    entities = """query($r: [_Any!]!) {
      _entities(representations: $r) { ... on User { id orders { id total { amount } } } }
    }"""
    reps = {"r": [{"__typename": "User", "id": ALICE.user_id}]}
    mine = await graphql(cluster, order, entities, reps, ALICE)
    assert mine["data"]["_entities"][0]["orders"] == [
        {"id": created["id"], "total": {"amount": 1250}}
    ]
    theirs = await graphql(cluster, order, entities, reps, BOB)
    assert theirs["data"]["_entities"][0]["orders"] == []
    cancel = "mutation($id: ID!) { cancelOrder(id: $id) { status } }"
    cancelled = await graphql(cluster, order, cancel, {"id": created["id"]}, ALICE)
    assert cancelled["data"]["cancelOrder"]["status"] == "CANCELLED"


async def test_ordering_and_cancelling_five_times_does_not_climb_popularity(world: Any) -> None:
    cluster, order, product_id = world
    kept = await add_product(cluster, "MUG-2", price=1250, stock=5)
    await order.post(
        "/api/v1/orders",
        json=body(kept, 1, idempotency_key="kept-0001"),
        headers=as_caller(cluster, BOB),
    )
    for round_ in range(5):
        placed = await order.post(
            "/api/v1/orders",
            json=body(product_id, 5, idempotency_key=f"gaming-{round_:04}"),
            headers=as_caller(cluster, ALICE),
        )
        assert placed.json()["status"] == "CONFIRMED", placed.text
        cancel = f"/api/v1/orders/{placed.json()['id']}/cancel"
        assert (await order.post(cancel, headers=as_caller(cluster, ALICE))).status_code == 200
    await cluster.infras["order"].bus.drain()
    await cluster.infras["product"].bus.drain()
    seen = await products(cluster, [product_id, kept])
    assert (seen[product_id]["sold"], seen[product_id]["stock"]) == (0, 5)
    assert seen[kept]["sold"] == 1
    async with cluster.client("product") as product:
        popular = await product.get("/api/v1/products", params={"sort": "POPULAR", "first": 1})
    assert [p["id"] for p in popular.json()["items"]] == [kept]

"""List inputs over their documented maxima are refused at once, over REST and GraphQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from estore.cluster import Cluster
from estore.kit.identity import Role
from estore.services.coupon.models import MAX_ELIGIBLE_CATEGORIES, MAX_QUOTE_ITEMS
from estore.services.order.models import MAX_CART_LINES
from estore.services.product.models import (
    MAX_ATTRIBUTES,
    MAX_IMAGES,
    MAX_PRODUCT_IDS,
    MAX_RESERVATION_LINES,
)
from tests.callers import ADMIN, ALICE, as_caller
from tests.integration.gateway.service_helpers import account, gateway_cluster, graphql

pytestmark = pytest.mark.asyncio(loop_scope="module")

PREVIEW = """query($items: [CartItemInput!]!) {
  previewCoupon(code: "SAVE10", items: $items) { valid }
}"""
CREATE_ORDER = "mutation($input: CreateOrderInput!) { createOrder(input: $input) { id } }"
CREATE_PRODUCT = "mutation($input: CreateProductInput!) { createProduct(input: $input) { id } }"
CREATE_COUPON = "mutation($input: CreateCouponInput!) { createCoupon(input: $input) { id } }"


@pytest.fixture(scope="module")
async def cluster() -> AsyncIterator[Cluster]:
    services = ["auth", "product", "category", "coupon", "payment", "order"]
    async with gateway_cluster(services, "auth,product,category,coupon,order") as built:
        yield built


@pytest.fixture
async def gateway(cluster: Cluster) -> AsyncIterator[httpx.AsyncClient]:
    async with cluster.client("gateway") as client:
        yield client


def cart(count: int) -> list[dict[str, Any]]:
    price = {"amount": 100, "currency": "EUR"}
    return [{"productId": f"p{n}", "quantity": 1, "unitPrice": price} for n in range(count)]


def user_input_error(answer: httpx.Response) -> str:
    [error] = answer.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    message: str = error["message"]
    return message


async def test_a_preview_of_a_cart_over_the_maximum_is_refused_naming_it(
    gateway: httpx.AsyncClient,
) -> None:
    answer = await graphql(gateway, PREVIEW, {"items": cart(MAX_QUOTE_ITEMS + 1)})
    assert user_input_error(answer) == f"items: at most {MAX_QUOTE_ITEMS} are taken, got 501"
    within = await graphql(gateway, PREVIEW, {"items": cart(MAX_QUOTE_ITEMS)})
    assert within.json() == {"data": {"previewCoupon": {"valid": False}}}


async def test_an_order_over_the_maximum_lines_is_refused_naming_it(
    cluster: Cluster, gateway: httpx.AsyncClient
) -> None:
    _, token = await account(cluster, "lines@example.com")
    lines = [{"productId": f"p{n}", "quantity": 1} for n in range(MAX_CART_LINES + 1)]
    order = {"items": lines, "cardNumber": "4242424242424242", "idempotencyKey": "lines-1234"}
    answer = await graphql(gateway, CREATE_ORDER, {"input": order}, token=token)
    assert user_input_error(answer) == f"items: at most {MAX_CART_LINES} are taken, got 51"


def subgraph_calls(cluster: Cluster) -> float:
    """Every call the gateway has made to a subgraph, whatever its outcome."""
    registry = cluster.infras["gateway"].telemetry.registry
    return sum(
        sample.value
        for metric in registry.collect()
        if metric.name == "estore_dependency_requests"
        for sample in metric.samples
        if sample.name == "estore_dependency_requests_total"
    )


async def test_lists_over_the_gateway_maximum_are_refused_at_the_edge(
    cluster: Cluster, gateway: httpx.AsyncClient
) -> None:
    _, token = await account(cluster, "edge@example.com")
    lines = [{"productId": f"p{n}", "quantity": 1} for n in range(10_000)]
    order = {"items": lines, "cardNumber": "4242424242424242", "idempotencyKey": "edge-1234"}
    before = subgraph_calls(cluster)
    answer = await graphql(gateway, CREATE_ORDER, {"input": order}, token=token)
    assert user_input_error(answer) == "items: at most 500 are taken, got 10000"
    answer = await graphql(gateway, PREVIEW, {"items": cart(10_000)})
    assert user_input_error(answer) == "items: at most 500 are taken, got 10000"
    assert subgraph_calls(cluster) == before
    await graphql(gateway, PREVIEW, {"items": cart(2)})
    assert subgraph_calls(cluster) > before, "the count counts"


async def test_product_images_and_attributes_over_their_maxima_are_refused(
    cluster: Cluster, gateway: httpx.AsyncClient
) -> None:
    _, token = await account(cluster, "catalog@example.com", Role.ADMIN)
    base = {"sku": "SKU-LIMIT", "name": "Limit", "price": {"amount": 100}}
    images = {**base, "images": [f"https://img/{n}" for n in range(MAX_IMAGES + 1)]}
    answer = await graphql(gateway, CREATE_PRODUCT, {"input": images}, token=token)
    assert user_input_error(answer).startswith(f"images: at most {MAX_IMAGES} are taken")
    # One name repeated: the list is counted before it folds into a mapping.
    repeated = [{"name": "colour", "value": "red"}] * (MAX_ATTRIBUTES + 1)
    answer = await graphql(
        gateway, CREATE_PRODUCT, {"input": {**base, "attributes": repeated}}, token=token
    )
    assert user_input_error(answer).startswith(f"attributes: at most {MAX_ATTRIBUTES}")


async def test_a_coupon_for_too_many_categories_is_refused(
    cluster: Cluster, gateway: httpx.AsyncClient
) -> None:
    _, token = await account(cluster, "coupons@example.com", Role.ADMIN)
    ids = [f"c{n}" for n in range(MAX_ELIGIBLE_CATEGORIES + 1)]
    coupon = {"code": "MANYCATS", "kind": "PERCENT", "percent": 10, "eligibleCategoryIds": ids}
    answer = await graphql(gateway, CREATE_COUPON, {"input": coupon}, token=token)
    assert user_input_error(answer).startswith(
        f"eligibleCategoryIds: at most {MAX_ELIGIBLE_CATEGORIES}"
    )


def too_many(answer: httpx.Response, limit: int) -> None:
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["code"] == "too_many_items"
    assert f"at most {limit} are taken" in error["message"]


async def test_rest_list_inputs_over_their_maxima_are_400s_naming_the_limit(
    cluster: Cluster,
) -> None:
    lines = [{"product_id": f"p{n}", "quantity": 1} for n in range(5000)]
    async with cluster.client("order") as order:
        checkout = {"items": lines, "card_number": "4242424242424242", "idempotency_key": "k" * 8}
        too_many(
            await order.post("/api/v1/orders", json=checkout, headers=as_caller(cluster, ALICE)),
            MAX_CART_LINES,
        )
    price = {"amount": 100, "currency": "EUR"}
    items = [{"product_id": f"p{n}", "quantity": 1, "unit_price": price} for n in range(5000)]
    quote = {"code": "SAVE10", "customer_id": ALICE.user_id, "currency": "EUR", "items": items}
    async with cluster.client("coupon") as coupon:
        too_many(
            await coupon.post(
                "/api/v1/coupons/quote", json=quote, headers=as_caller(cluster, ALICE)
            ),
            MAX_QUOTE_ITEMS,
        )
    reservation = {"reservation_key": "r-1", "items": lines}
    async with cluster.client("product") as product:
        too_many(
            await product.post(
                "/api/v1/reservations", json=reservation, headers=as_caller(cluster, ADMIN)
            ),
            MAX_RESERVATION_LINES,
        )
        ids = ",".join(f"p{n}" for n in range(MAX_PRODUCT_IDS + 1))
        too_many(await product.get("/api/v1/products", params={"ids": ids}), MAX_PRODUCT_IDS)
        within = ",".join(f"p{n}" for n in range(MAX_PRODUCT_IDS))
        assert (await product.get("/api/v1/products", params={"ids": within})).status_code == 200

"""Paging arguments out of range, on every paginated field and route: refused, never clamped."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from estore.cluster import Cluster
from estore.kit.identity import Role
from estore.kit.money import Money
from estore.services.category.models import CategoryInput
from estore.services.category.service import CategoryService
from estore.services.product.models import ProductInput
from estore.services.product.service import ProductService
from tests.callers import ALICE, SUPPORT, as_caller
from tests.integration.gateway.service_helpers import account, gateway_cluster, graphql

pytestmark = pytest.mark.asyncio(loop_scope="module")

SUBGRAPHS = ["auth", "product", "order", "category"]
BAD_SIZES = [-1, 0, 101, 10**9]
# The gateway's default cost limit (gateway/limits.py `Limits.max_cost`).
COST_BUDGET = 10_000
BAD_OFFSETS = [-5, -1, 10_001]


@pytest.fixture(scope="module")
async def cluster() -> AsyncIterator[Cluster]:
    async with gateway_cluster([*SUBGRAPHS, "ticket"], ",".join(SUBGRAPHS)) as built:
        yield built


@pytest.fixture(scope="module")
async def world(cluster: Cluster) -> dict[str, str]:
    _, token = await account(cluster, "pager@example.com", Role.ADMIN)
    category = await cluster.service("category", CategoryService).create(CategoryInput(name="Mugs"))
    product = await cluster.service("product", ProductService).create(
        ProductInput(
            sku="MUG-1",
            name="Mug",
            price=Money(amount=100, currency="EUR"),
            stock=1,
            category_id=category.id,
        )
    )
    return {"token": token, "category": category.id, "product": product.id}


def _paged_fields(world: dict[str, str]) -> list[tuple[str, str, dict[str, str]]]:
    """(query, kind, other variables) for every paginated field, the page argument as $n."""
    category, product = {"id": world["category"]}, {"id": world["product"]}
    return [
        ("query($n: Int!) { orders(limit: $n) { id } }", "size", {}),
        ("query($n: Int!) { orders(offset: $n) { id } }", "offset", {}),
        ("query($n: Int!) { products(first: $n) { totalCount } }", "size", {}),
        (
            "query($n: Int!, $id: ID!) { product(id: $id) { reviews(first: $n) { id } } }",
            "size",
            product,
        ),
        (
            "query($n: Int!, $id: ID!) "
            "{ category(id: $id) { products(first: $n) { totalCount } } }",
            "size",
            category,
        ),
    ]


async def test_every_paginated_field_refuses_a_page_out_of_range_as_bad_user_input(
    cluster: Cluster, world: dict[str, str]
) -> None:
    async with cluster.client("gateway") as gateway:
        for query, kind, variables in _paged_fields(world):
            for n in BAD_SIZES if kind == "size" else BAD_OFFSETS:
                sent = {"n": n, **variables}
                answer = (await graphql(gateway, query, sent, token=world["token"])).json()
                assert answer.get("errors"), (query, n, answer)
                error = answer["errors"][0]
                if (
                    kind == "size"
                    and n > COST_BUDGET
                    and error["extensions"]["code"] != "BAD_USER_INPUT"
                ):
                    # Where the page's items carry lists, so large a page is refused at the edge
                    # by the cost limit, before any subgraph is asked: a refusal all the same.
                    assert error["extensions"]["code"] == "MAX_COST_EXCEEDED", (query, n, error)
                    continue
                assert error["extensions"]["code"] == "BAD_USER_INPUT", (query, n, error)
                assert "must be between" in error["message"] or "or more" in error["message"]


async def test_the_orders_example_from_the_report_is_refused(
    cluster: Cluster, world: dict[str, str]
) -> None:
    async with cluster.client("gateway") as gateway:
        answer = await graphql(
            gateway, "{ orders(limit: -1, offset: -5) { id } }", token=world["token"]
        )
    assert answer.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def _paged_routes(world: dict[str, str]) -> list[tuple[str, str, str, list[int]]]:
    """(service, path, parameter, bad values) for every paginated REST route."""
    product = world["product"]
    return [
        ("order", "/api/v1/orders", "limit", BAD_SIZES),
        ("order", "/api/v1/orders", "offset", BAD_OFFSETS),
        ("product", "/api/v1/products", "first", BAD_SIZES),
        ("product", f"/api/v1/products/{product}/reviews", "limit", BAD_SIZES),
        ("ticket", "/api/v1/tickets", "limit", BAD_SIZES),
        ("ticket", "/api/v1/tickets/{ticket}/messages", "limit", BAD_SIZES),
        ("ticket", "/api/v1/tickets/{ticket}/messages", "after", [-1]),
    ]


async def test_every_paginated_route_answers_400_for_a_page_out_of_range(
    cluster: Cluster, world: dict[str, str]
) -> None:
    headers = as_caller(cluster, SUPPORT)
    ticket = await _a_ticket(cluster)
    for service, path, parameter, values in _paged_routes(world):
        async with cluster.client(service) as client:
            for value in values:
                response = await client.get(
                    path.format(ticket=ticket), params={parameter: value}, headers=headers
                )
                assert response.status_code == 400, (path, parameter, value, response.text)
                assert response.json()["error"]["code"] == "bad_user_input"


async def _a_ticket(cluster: Cluster) -> str:
    async with cluster.client("ticket") as ticket:
        response = await ticket.post(
            "/api/v1/tickets",
            json={"subject": "Where is my mug?", "body": "It has not come."},
            headers=as_caller(cluster, ALICE),
        )
    assert response.status_code == 201, response.text
    ticket_id: str = response.json()["id"]
    return ticket_id

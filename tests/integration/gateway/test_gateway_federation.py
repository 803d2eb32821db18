"""The gateway over several real subgraphs: entity hops, forwarded identity, outages, limits."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from estore.cluster import Cluster
from estore.kit.identity import Role
from tests.integration.gateway.service_helpers import account, gateway_cluster, graphql

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture(scope="module")
async def cluster() -> AsyncIterator[Cluster]:
    async with gateway_cluster(["auth", "category", "order"], "auth,category,order") as built:
        yield built


@pytest.fixture
async def gateway(cluster: Cluster) -> AsyncIterator[httpx.AsyncClient]:
    async with cluster.client("gateway") as client:
        yield client


async def category(cluster: Cluster, admin: str, name: str, parent: str | None = None) -> str:
    async with cluster.client("gateway") as client:
        answer = await graphql(
            client,
            "mutation ($input: CreateCategoryInput!) { createCategory(input: $input) { id } }",
            {"input": {"name": name, "parentId": parent}},
            token=admin,
        )
    assert "errors" not in answer.json(), answer.text
    category_id: str = answer.json()["data"]["createCategory"]["id"]
    return category_id


async def test_me_with_orders_joins_auth_and_order_for_the_signed_in_caller(
    cluster: Cluster, gateway: httpx.AsyncClient
) -> None:
    user_id, token = await account(cluster, "dana@example.com")
    answer = await graphql(gateway, "{ me { id name orders { id status } } }", token=token)
    # User.orders lives in the order subgraph and refuses anyone but the account itself
    # and staff: an answer without errors shows the caller reached the second hop.
    assert answer.json() == {"data": {"me": {"id": user_id, "name": "dana", "orders": []}}}


async def test_one_request_reads_from_two_subgraphs_at_the_root(
    cluster: Cluster, gateway: httpx.AsyncClient
) -> None:
    _, admin = await account(cluster, "cat-admin@example.com", Role.ADMIN)
    parent = await category(cluster, admin, "Furniture")
    await category(cluster, admin, "Chairs", parent)
    answer = await graphql(
        gateway,
        "{ me { email } categories { name children { name } } }",
        token=admin,
    )
    body = answer.json()
    assert body["data"]["me"] == {"email": "cat-admin@example.com"}
    assert {"name": "Furniture", "children": [{"name": "Chairs"}]} in body["data"]["categories"]


async def test_a_subgraph_down_nulls_only_its_fields_and_names_itself(
    cluster: Cluster, gateway: httpx.AsyncClient
) -> None:
    cluster.wiring.faults.inject_outage("auth")
    try:
        answer = await graphql(gateway, "{ me { id } categories { id } }")
    finally:
        cluster.wiring.faults.clear()
    body = answer.json()
    assert answer.status_code == 200
    assert body["data"]["me"] is None
    assert isinstance(body["data"]["categories"], list)
    [error] = body["errors"]
    assert error["path"] == ["me"]
    assert error["extensions"]["code"] == "DOWNSTREAM_SERVICE_ERROR"
    assert error["extensions"]["serviceName"] == "auth"


async def test_a_subgraph_error_keeps_its_code_and_is_located_at_the_client_path(
    gateway: httpx.AsyncClient,
) -> None:
    answer = await graphql(gateway, '{ order(id: "nope") { id } }')
    [error] = answer.json()["errors"]
    assert answer.json()["data"] is None
    assert error["path"] == ["order"]
    assert error["extensions"]["serviceName"] == "order"
    assert error["extensions"]["code"] == "UNAUTHORIZED"


async def test_a_query_deeper_than_the_limit_is_refused(gateway: httpx.AsyncClient) -> None:
    nested = "name"
    for _ in range(11):
        nested = f"parent {{ {nested} }}"
    answer = await graphql(gateway, f'{{ category(id: "c1") {{ {nested} }} }}')
    [error] = answer.json()["errors"]
    assert error["extensions"]["code"] == "MAX_DEPTH_EXCEEDED"
    assert error["message"] == "Query depth 13 exceeds the maximum of 12"


async def test_a_query_costlier_than_the_limit_is_refused(gateway: httpx.AsyncClient) -> None:
    answer = await graphql(
        gateway, "{ categories { children { children { children { children { name } } } } } }"
    )
    [error] = answer.json()["errors"]
    assert error["extensions"]["code"] == "MAX_COST_EXCEEDED"

"""The cost limit through the gateway service over the real product subgraph (issue 17, #2)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from estore.cluster import Cluster
from tests.integration.gateway.service_helpers import gateway_cluster, graphql

pytestmark = pytest.mark.asyncio(loop_scope="module")

ALIASES = 30


def attack(products: str, reviews: str, variables: str = "") -> str:
    """The hostile client's query: a page of products with their reviews, aliased 30 times."""
    fields = " ".join(
        f"p{n}: products(first: {products}) {{ nodes {{ id reviews(first: {reviews}) {{ id }} }} }}"
        for n in range(ALIASES)
    )
    return f"query Attack{variables} {{ {fields} }}"


@pytest.fixture(scope="module")
async def cluster() -> AsyncIterator[Cluster]:
    async with gateway_cluster(["product"], "product") as built:
        yield built


@pytest.fixture
async def gateway(cluster: Cluster) -> AsyncIterator[httpx.AsyncClient]:
    async with cluster.client("gateway") as client:
        yield client


def product_calls(cluster: Cluster) -> float:
    registry = cluster.infras["gateway"].telemetry.registry
    labels = {"dependency": "product", "outcome": "success"}
    return registry.get_sample_value("estore_dependency_requests_total", labels) or 0.0


async def test_page_sizes_sent_as_variables_are_refused_like_literals_before_any_fetch(
    cluster: Cluster, gateway: httpx.AsyncClient
) -> None:
    before = product_calls(cluster)
    literal = await graphql(gateway, attack("100", "100"))
    hidden = await graphql(
        gateway, attack("$n", "$m", "($n: Int!, $m: Int!)"), {"n": 100, "m": 100}
    )
    defaulted = await graphql(gateway, attack("$n", "$m", "($n: Int! = 100, $m: Int! = 100)"))
    [error] = literal.json()["errors"]
    assert error["extensions"]["code"] == "MAX_COST_EXCEEDED"
    assert hidden.json() == defaulted.json() == literal.json()
    assert product_calls(cluster) == before


async def test_the_same_query_with_small_pages_is_answered(gateway: httpx.AsyncClient) -> None:
    answer = await graphql(gateway, attack("$n", "$m", "($n: Int!, $m: Int!)"), {"n": 2, "m": 2})
    assert answer.json()["data"]["p0"] == {"nodes": []}

"""Composition parity: our API schema equals Apollo's composition of the same five subgraphs."""

from __future__ import annotations

import pytest

from estore.cluster import Cluster
from estore.gateway.compose import compose
from tests.parity.conftest import subgraph_urls
from tests.parity.reference import apollo_compose, fetch_sdls
from tests.parity.schema_shape import differences, normalised, shape

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]


async def test_apollo_composes_our_subgraphs_without_errors(served: Cluster) -> None:
    composed = apollo_compose(await fetch_sdls(subgraph_urls(served)))
    assert "errors" not in composed, composed["errors"]
    assert composed["hints"] == []


async def test_our_api_schema_equals_apollos_coordinate_by_coordinate(served: Cluster) -> None:
    sdls = await fetch_sdls(subgraph_urls(served))
    ours = shape(normalised(compose(sdls).api_schema))
    theirs = shape(normalised(apollo_compose(sdls)["apiSchema"]))
    assert differences(ours, theirs) == []
    assert len(ours) > 250  # the whole schema was compared, not an empty one


async def test_the_served_gateway_adds_only_its_own_subscriptions_to_apollos_schema(
    served: Cluster,
) -> None:
    runtime = served.apps["gateway"].state.runtime
    gateway = await runtime.current()
    apollo = apollo_compose(await fetch_sdls(subgraph_urls(served)))["apiSchema"]
    extra = differences(shape(normalised(gateway.schema)), shape(normalised(apollo)))
    # Subscriptions are the gateway's own (fed by order events), not any subgraph's.
    assert extra and all(
        line.startswith(("OrderStatusEvent", "Subscription", "schema.subscription"))
        and line.endswith("Apollo absent")
        for line in extra
    ), extra


async def test_no_subgraph_uses_requires_so_the_corpus_has_no_requires_case(
    served: Cluster,
) -> None:
    sdls = await fetch_sdls(subgraph_urls(served))
    # When a subgraph starts using @requires (or @provides), add a case to corpus.py.
    assert [n for n, sdl in sdls.items() if "@requires" in sdl or "@provides" in sdl] == []

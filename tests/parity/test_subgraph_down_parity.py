"""A subgraph down: both gateways, pointed at a dead port for category, serve the same data.

The errors differ on purpose. Apollo Gateway reports a failed fetch without a path or a
subgraph name (INTERNAL_SERVER_ERROR, the socket error as message); ours, as issue 6 asks,
locates it at the client path of the first field it could not serve and names the subgraph
(DOWNSTREAM_SERVICE_ERROR). The test pins both shapes, so a change on either side shows up.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from estore.cluster import Cluster
from estore.kit.bootstrap import Wiring
from estore.kit.testing import free_ports
from tests.parity.answers import ask, comparable
from tests.parity.conftest import SUBGRAPHS, graphql_url, subgraph_urls
from tests.parity.reference import apollo_compose, apollo_gateway, fetch_sdls, signing_key_of
from tests.served import serving

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

DOWN = "category"
# query -> where our gateway reports the failure
QUERIES: dict[str, tuple[str, tuple[str | int, ...]]] = {
    "an entity field of the down subgraph is nulled, the rest served": (
        "{ products(first: 3, sort: NAME) { totalCount nodes { name category { name } } } }",
        ("products", "nodes", 0, "category", "name"),
    ),
    "a non-null root field of the down subgraph nulls the whole answer": (
        "{ categories { name } products(first: 1) { totalCount } }",
        ("categories",),
    ),
    "a non-null root field alone": ('{ category(slug: "books") { name } }', ("category",)),
}
APOLLO_FAILED_FETCH = (None, "INTERNAL_SERVER_ERROR", None)


@pytest.fixture(scope="module")
async def pair(
    served: Cluster, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[str, str]]:
    """(our gateway, Apollo Gateway), both composed from the live SDLs, category on a dead port."""
    live = subgraph_urls(served)
    sdls = await fetch_sdls(live)
    ours_port, apollo_port, dead_port = free_ports(3)
    dead = f"http://127.0.0.1:{dead_port}"
    supergraph_file = Path(tmp_path_factory.mktemp("down")) / "sdls.json"
    supergraph_file.write_text(json.dumps(sdls), encoding="utf-8")
    auth = served.infras["auth"].settings
    assert auth.internal_signing_key is not None
    urls = {f"{n}_service_url": live[n].removesuffix("/graphql") for n in SUBGRAPHS}
    ours = Cluster(
        Wiring(),
        services=["gateway"],
        served=True,
        ports={"gateway": ours_port},
        overrides={
            **urls,
            f"{DOWN}_service_url": dead,
            "gateway_supergraph_file": str(supergraph_file),
            # Subgraphs trust only identities signed with the served cluster's key.
            "internal_signing_key": auth.internal_signing_key.get_secret_value(),
        },
    )
    composed = apollo_compose(sdls, {**live, DOWN: f"{dead}/graphql"})
    reference = apollo_gateway(composed["supergraphSdl"], apollo_port, signing_key_of(served))
    async with serving(ours), reference as apollo:
        yield graphql_url(ours, "gateway"), apollo


@pytest.mark.parametrize("name", list(QUERIES))
async def test_with_category_down_both_gateways_serve_the_same_data(
    name: str, pair: tuple[str, str]
) -> None:
    ours_url, apollo_url = pair
    query, path = QUERIES[name]
    ours = comparable(await ask(ours_url, query))
    theirs = comparable(await ask(apollo_url, query))
    assert ours["data"] == theirs["data"]
    assert theirs["errors"] == [APOLLO_FAILED_FETCH]
    assert ours["errors"] == [(path, "DOWNSTREAM_SERVICE_ERROR", DOWN)]

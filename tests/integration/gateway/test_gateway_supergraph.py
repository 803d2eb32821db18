"""`GATEWAY_SUPERGRAPH`: the gateway service serves an Apollo supergraph file, any graph.

The corpus graph's subgraphs listen on loopback at the URLs the file names; the gateway is
the real service (edge, limits, health, recompose) built by the cluster.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from estore.cluster import Cluster
from estore.gateway.join import UnsupportedSupergraph
from estore.kit.identity import Role
from estore.kit.testing import free_ports
from tests.integration.gateway.service_helpers import account, gateway_cluster, graphql
from tests.parity.graph_corpus import refused_graphs, served_graphs
from tests.parity.static_subgraphs import StaticSubgraph, serving_subgraphs

pytestmark = pytest.mark.asyncio(loop_scope="module")

GRAPH = served_graphs()["entities"]
RELOAD_GUARD_SECONDS = 10


@pytest.fixture(scope="module")
async def base_url() -> AsyncIterator[str]:
    port = free_ports(1)[0]
    subgraphs = {
        (GRAPH.name, name): StaticSubgraph(name, sdl, GRAPH.data[name])
        for name, sdl in GRAPH.sdls.items()
    }
    async with serving_subgraphs(subgraphs, port):
        yield f"http://127.0.0.1:{port}"


async def test_the_gateway_serves_a_supergraph_file_calling_the_urls_it_names(
    tmp_path: Path, base_url: str
) -> None:
    path = tmp_path / "supergraph.graphql"
    path.write_text(GRAPH.supergraph(base_url))
    async with (
        gateway_cluster(["auth"], "auth", gateway_supergraph=str(path)) as cluster,
        cluster.client("gateway") as gateway,
    ):
        answer = await graphql(gateway, '{ product(id: "p2") { name reviews { stars } } }')
        health = await gateway.get("/health")
    assert answer.json() == {"data": {"product": {"name": "Desk", "reviews": [{"stars": 2}]}}}
    assert health.json()["subgraphs"] == {
        "products": "up",
        "reviews": "up",
        "users": "up",
    }


async def test_a_changed_supergraph_file_is_served_after_recompose(
    tmp_path: Path, base_url: str
) -> None:
    path = tmp_path / "supergraph.graphql"
    path.write_text(GRAPH.supergraph(base_url))
    async with (
        gateway_cluster(["auth"], "auth", gateway_supergraph=str(path)) as cluster,
        cluster.client("gateway") as gateway,
    ):
        _, admin = await account(cluster, "admin@example.com", Role.ADMIN)
        before = await graphql(gateway, "{ me { username } }")
        path.write_text(GRAPH.supergraph(base_url).replace("  me: User", "  whoami: User"))
        recomposed = await gateway.post(
            "/admin/recompose", headers={"Authorization": f"Bearer {admin}"}
        )
        after = await graphql(gateway, "{ whoami { id } }")
    assert before.json() == {"data": {"me": {"username": "ada"}}}
    assert recomposed.json()["subgraphs"] == ["products", "reviews", "users"]
    assert "errors" in after.json()  # the users subgraph has no whoami: its error, passed on
    assert after.json()["errors"][0]["extensions"]["serviceName"] == "users"


async def test_a_changed_supergraph_file_is_served_without_being_asked(
    tmp_path: Path, base_url: str
) -> None:
    path = tmp_path / "supergraph.graphql"
    path.write_text(GRAPH.supergraph(base_url))
    async with (
        gateway_cluster(
            ["auth"],
            "auth",
            gateway_supergraph=str(path),
            gateway_supergraph_poll_seconds=0.01,
        ) as cluster,
        cluster.client("gateway") as gateway,
    ):
        runtime = cluster.apps["gateway"].state.runtime
        first = runtime.gateway
        path.write_text("not a supergraph {")
        await _until(lambda: runtime.last_error is not None)
        refused = (runtime.gateway, await graphql(gateway, "{ me { username } }"))
        path.write_text(GRAPH.supergraph(base_url).replace("  me: User", "  whoami: User"))
        await _until(lambda: runtime.gateway is not first)
        schema = await graphql(gateway, '{ __type(name: "Query") { fields { name } } }')
    assert refused[0] is first  # the refused file changed nothing
    assert refused[1].json() == {"data": {"me": {"username": "ada"}}}
    names = {f["name"] for f in schema.json()["data"]["__type"]["fields"]}
    assert "whoami" in names and "me" not in names


async def _until(condition: Callable[[], bool]) -> None:
    """Wait for the runtime's file watcher, which has no event to await."""
    async with asyncio.timeout(RELOAD_GUARD_SECONDS):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.01)


async def test_subgraph_urls_are_composed_from_their_own_sdls_and_served(base_url: str) -> None:
    urls = ",".join(f"{name}={url}" for name, url in GRAPH.urls(base_url).items())
    async with (
        gateway_cluster(["auth"], "auth", gateway_subgraph_urls=urls) as cluster,
        cluster.client("gateway") as gateway,
    ):
        answer = await graphql(gateway, "{ latestReviews { body author { username } } }")
    assert answer.json() == {
        "data": {
            "latestReviews": [
                {"body": "Bright", "author": {"username": "ada"}},
                {"body": "Wobbly", "author": {"username": "bob"}},
            ]
        }
    }


async def test_a_supergraph_using_an_unsupported_feature_stops_start_up(tmp_path: Path) -> None:
    refused = refused_graphs()["interface_object"]
    path = tmp_path / "supergraph.graphql"
    path.write_text(refused.supergraph())
    cluster = Cluster(services=["auth", "gateway"], overrides={"gateway_supergraph": str(path)})
    with pytest.raises(UnsupportedSupergraph, match=re.escape(refused.refusal)):
        await cluster.start()
    await cluster.stop()

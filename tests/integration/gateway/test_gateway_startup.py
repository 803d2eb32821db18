"""Gateway start-up and recomposition: composition errors, supergraph files, outages, settings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from estore.cluster import Cluster
from estore.gateway.errors import CompositionError
from estore.gateway.fetcher import SDL_QUERY
from estore.kit.identity import Role
from tests.integration.gateway.service_helpers import account, gateway_cluster, graphql

pytestmark = pytest.mark.asyncio(loop_scope="module")

LINK = (
    'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", '
    'import: ["@key", "@shareable"])\n'
)
CLASHING = {
    "auth": LINK + "type Query { hello: String }",
    "category": LINK + "type Query { hello: String }",
}


async def auth_sdl() -> str:
    async with gateway_cluster(["auth"], "auth") as cluster, cluster.client("auth") as auth:
        answer = await auth.post("/graphql", json={"query": SDL_QUERY})
    sdl: str = answer.json()["data"]["_service"]["sdl"]
    return sdl


async def test_a_composition_error_stops_start_up_naming_the_subgraphs_and_field(
    tmp_path: Path,
) -> None:
    supergraph = tmp_path / "supergraph.json"
    supergraph.write_text(json.dumps(CLASHING))
    cluster = Cluster(
        services=["auth", "gateway"],
        overrides={"gateway_subgraphs": "auth", "gateway_supergraph_file": str(supergraph)},
    )
    with pytest.raises(CompositionError) as refused:
        await cluster.start()
    await cluster.stop()
    assert "'Query.hello'" in str(refused.value)
    assert "'auth', 'category'" in str(refused.value)


async def test_an_unreadable_supergraph_file_stops_start_up_saying_why(tmp_path: Path) -> None:
    supergraph = tmp_path / "supergraph.json"
    supergraph.write_text('["not", "a", "map"]')
    cluster = Cluster(
        services=["auth", "gateway"], overrides={"gateway_supergraph_file": str(supergraph)}
    )
    with pytest.raises(CompositionError, match="must be a JSON object"):
        await cluster.start()
    await cluster.stop()


async def test_a_supergraph_file_is_served_and_a_bad_recompose_keeps_the_old_schema(
    tmp_path: Path,
) -> None:
    supergraph = tmp_path / "supergraph.json"
    supergraph.write_text(json.dumps({"auth": await auth_sdl()}))
    async with (
        gateway_cluster(["auth"], "auth", gateway_supergraph_file=str(supergraph)) as cluster,
        cluster.client("gateway") as gateway,
    ):
        user_id, admin = await account(cluster, "admin@example.com", Role.ADMIN)
        supergraph.write_text(json.dumps(CLASHING))
        refused = await gateway.post(
            "/admin/recompose", headers={"Authorization": f"Bearer {admin}"}
        )
        me = await graphql(gateway, "{ me { id } }", token=admin)
    assert refused.status_code == 409
    assert "'Query.hello'" in refused.json()["error"]["message"]
    assert me.json() == {"data": {"me": {"id": user_id}}}


async def test_an_unreachable_subgraph_leaves_the_gateway_live_but_unready() -> None:
    # "category" is not in this cluster, so its SDL cannot be fetched.
    async with (
        gateway_cluster(["auth"], "auth,category") as cluster,
        cluster.client("gateway") as gateway,
    ):
        ready = await gateway.get("/health/ready")
        live = await gateway.get("/health")
        query = await graphql(gateway, "{ me { id } }")
    assert ready.status_code == 503
    assert ready.json()["checks"]["composed"].startswith("down")
    assert live.status_code == 200
    assert live.json()["composed"] is False
    assert live.json()["subgraphs"]["category"].startswith("down")
    assert query.status_code == 503
    assert "no composed schema" in query.json()["error"]["message"]


async def test_introspection_switched_off_refuses_schema_queries_but_serves_the_rest() -> None:
    async with (
        gateway_cluster(["auth"], "auth", gateway_introspection=False) as cluster,
        cluster.client("gateway") as gateway,
    ):
        schema = await graphql(gateway, "{ __schema { types { name } } }")
        plain = await graphql(gateway, "{ __typename me { id } }")
    assert schema.status_code == 200
    error = schema.json()["errors"][0]
    assert "data" not in schema.json()
    assert "introspection" in error["message"].lower()
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert plain.json() == {"data": {"__typename": "Query", "me": None}}

"""Operation limits and the introspection switch, refused before any subgraph is called."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from estore.gateway.gateway import Gateway
from estore.gateway.limits import Limits

SDL = (
    'extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])\n'
    "type Query { node: Node nodes(first: Int): [Node!]! }\n"
    "type Node { id: ID! child: Node children(first: Int): [Node!]! }\n"
)


class CountingFetcher:
    def __init__(self) -> None:
        self.calls = 0

    async def fetch(
        self, subgraph: str, query: str, variables: dict[str, Any], headers: Mapping[str, str]
    ) -> dict[str, Any]:
        self.calls += 1
        return {"data": {"node": {"id": "1", "child": None}, "nodes": []}}


def _gateway(**limits: Any) -> tuple[Gateway, CountingFetcher]:
    fetcher = CountingFetcher()
    return Gateway.from_sdls({"graph": SDL}, fetcher, limits=Limits(**limits)), fetcher


async def test_too_deep_query_is_refused_with_a_clear_error() -> None:
    gateway, fetcher = _gateway(max_depth=3)
    assert (await gateway.execute("{ node { child { id } } }"))["data"] == {"node": {"child": None}}
    result = await gateway.execute("{ node { child { child { id } } } }")
    assert result == {
        "errors": [
            {
                "message": "Query depth 4 exceeds the maximum of 3",
                "extensions": {"code": "MAX_DEPTH_EXCEEDED"},
            }
        ]
    }
    assert fetcher.calls == 1


async def test_cost_multiplies_by_page_size_of_list_fields() -> None:
    gateway, _ = _gateway(max_cost=100)
    # 1 + 10 x (1 id + 1 + 5 x 1) = 71: within.
    ok = await gateway.execute("{ nodes(first: 10) { id children(first: 5) { id } } }")
    assert "errors" not in ok
    refused = await gateway.execute("{ nodes(first: 10) { id children(first: 50) { id } } }")
    assert refused["errors"][0]["extensions"]["code"] == "MAX_COST_EXCEEDED"
    assert "Query cost 521 exceeds the maximum of 100" == refused["errors"][0]["message"]


async def test_too_many_aliases_are_refused() -> None:
    gateway, fetcher = _gateway(max_aliases=2)
    result = await gateway.execute("{ a: node { id } b: node { id } c: node { id } }")
    assert result["errors"][0]["extensions"]["code"] == "MAX_ALIASES_EXCEEDED"
    assert fetcher.calls == 0


async def test_introspection_can_be_switched_off_but_typename_still_works() -> None:
    gateway, _ = _gateway(introspection=False)
    result = await gateway.execute("{ __schema { queryType { name } } }")
    assert "data" not in result and "introspection" in result["errors"][0]["message"]
    assert await gateway.execute("{ __typename }") == {"data": {"__typename": "Query"}}


async def test_introspection_does_not_count_towards_limits() -> None:
    gateway, _ = _gateway(max_depth=2)
    result = await gateway.execute("{ __schema { types { fields { type { ofType { name } } } } } }")
    assert "errors" not in result

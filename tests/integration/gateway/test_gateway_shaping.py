"""Gateway response shaping: fragments, aliases, abstract types, @skip/@include, introspection."""

from __future__ import annotations

from estore.gateway.gateway import Gateway
from tests.integration.gateway.gateway_subgraphs import RecordingFetcher


async def test_named_and_inline_fragments_with_aliases_shape_the_answer(gateway: Gateway) -> None:
    result = await gateway.execute(
        """
        query {
          item: product(upc: "p3") { ...Basics stock: inStock ... on Product { cost: price } }
        }
        fragment Basics on Product { title: name __typename }
        """
    )
    assert result == {
        "data": {"item": {"title": "Stool", "__typename": "Product", "stock": True, "cost": 150}}
    }


async def test_aliases_of_the_same_field_with_different_arguments_stay_apart(
    gateway: Gateway,
) -> None:
    result = await gateway.execute(
        '{ a: product(upc: "p1") { name inStock } b: product(upc: "p2") { name inStock } }'
    )
    assert result["data"] == {
        "a": {"name": "Table", "inStock": True},
        "b": {"name": "Chair", "inStock": False},
    }


async def test_client_alias_that_shadows_a_key_field_does_not_break_the_hop(
    gateway: Gateway,
) -> None:
    result = await gateway.execute('{ product(upc: "p2") { sku: name variant: upc inStock } }')
    assert result["data"] == {"product": {"sku": "Chair", "variant": "p2", "inStock": False}}


async def test_union_members_are_completed_from_their_own_subgraphs(gateway: Gateway) -> None:
    result = await gateway.execute(
        '{ search(term: "Ch") { __typename '
        "... on Product { name inStock } ... on Bundle { title } } }"
    )
    assert result["data"]["search"] == [
        {"__typename": "Product", "name": "Chair", "inStock": False},
        {"__typename": "Bundle", "title": "Ch set"},
    ]


async def test_interface_fields_and_type_conditions_apply_per_runtime_type(
    gateway: Gateway,
) -> None:
    result = await gateway.execute(
        "{ priced { price ... on Product { reviews { id } } ... on Bundle { title } } }"
    )
    assert result["data"]["priced"] == [
        {"price": 300, "reviews": [{"id": "r2"}, {"id": "r3"}]},
        {"price": 500, "title": "Duo"},
    ]


async def test_skip_and_include_follow_variables_and_avoid_needless_fetches(
    gateway: Gateway, fetcher: RecordingFetcher
) -> None:
    query = (
        "query ($stock: Boolean!, $noName: Boolean!) "
        '{ product(upc: "p1") { name @skip(if: $noName) inStock @include(if: $stock) } }'
    )
    without = await gateway.execute(query, {"stock": False, "noName": True})
    assert without["data"] == {"product": {}}
    assert [c.subgraph for c in fetcher.calls] == ["products"]
    with_stock = await gateway.execute(query, {"stock": True, "noName": False})
    assert with_stock["data"] == {"product": {"name": "Table", "inStock": True}}
    assert gateway.plan(query, {"stock": True, "noName": False}) is not gateway.plan(
        query, {"stock": False, "noName": True}
    )


async def test_variables_reach_the_subgraph_that_uses_them(
    gateway: Gateway, fetcher: RecordingFetcher
) -> None:
    result = await gateway.execute(
        "query ($upc: String!) { product(upc: $upc) { name inStock } }", {"upc": "p3"}
    )
    assert result["data"] == {"product": {"name": "Stool", "inStock": True}}
    assert fetcher.calls_to("products")[0].variables == {"upc": "p3"}
    assert "upc" not in fetcher.calls_to("inventory")[0].variables


async def test_introspection_is_answered_by_the_gateway_without_subgraphs(
    gateway: Gateway, fetcher: RecordingFetcher
) -> None:
    result = await gateway.execute(
        '{ __schema { queryType { name } } __type(name: "Product") { fields { name } } }'
    )
    assert result["data"]["__schema"] == {"queryType": {"name": "Query"}}
    names = {f["name"] for f in result["data"]["__type"]["fields"]}
    assert {"upc", "inStock", "shippingEstimate", "reviews"} <= names
    assert not names & {"_entities", "_service"}
    assert fetcher.calls == []


async def test_typename_at_the_root_needs_no_subgraph(
    gateway: Gateway, fetcher: RecordingFetcher
) -> None:
    assert await gateway.execute("{ __typename }") == {"data": {"__typename": "Query"}}
    assert fetcher.calls == []


async def test_invalid_operations_are_refused_with_validation_errors(gateway: Gateway) -> None:
    result = await gateway.execute("{ product(upc: 1) { nope } }")
    assert "data" not in result
    assert len(result["errors"]) >= 1
    assert any("nope" in e["message"] for e in result["errors"])
    bad_vars = await gateway.execute("query ($u: String!) { product(upc: $u) { name } }", {})
    assert "data" not in bad_vars and "$u" in bad_vars["errors"][0]["message"]

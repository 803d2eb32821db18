"""Query planning over hand-written subgraphs: grouping, ordering, keys and @requires inputs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from estore.gateway.gateway import Gateway

LINK = (
    'extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", '
    'import: ["@key", "@external", "@requires", "@shareable"])\n'
)
SUBGRAPHS = {
    "accounts": LINK
    + """
        type Query { me: User }
        type Mutation { rename(name: String!): User }
        type User @key(fields: "id") { id: ID! name: String! }
    """,
    "catalog": LINK
    + """
        type Query { item(id: ID!): Item items: [Item!]! }
        type Mutation { restock(id: ID!): Item }
        type Item @key(fields: "id") @key(fields: "sku region { code }") {
          id: ID! sku: String! region: Region! weight: Int! seller: User!
        }
        type Region @shareable { code: String! }
        type User @key(fields: "id", resolvable: false) { id: ID! }
    """,
    "shipping": LINK
    + """
        type Item @key(fields: "sku region { code }") {
          sku: String! region: Region! weight: Int! @external
          cost: Int! @requires(fields: "weight")
        }
        type Region @shareable { code: String! }
    """,
}


class NoFetcher:
    async def fetch(
        self, subgraph: str, query: str, variables: dict[str, Any], headers: Mapping[str, str]
    ) -> dict[str, Any]:
        raise AssertionError("planning tests do not fetch")


@pytest.fixture
def gateway() -> Gateway:
    return Gateway.from_sdls(SUBGRAPHS, NoFetcher())


def test_query_root_fields_are_grouped_per_subgraph_and_run_in_parallel(gateway: Gateway) -> None:
    plan = gateway.plan('{ a: item(id: "1") { sku } me { name } b: item(id: "2") { id } }')
    assert [(f.subgraph, f.depends_on) for f in plan.fetches] == [
        ("catalog", set()),
        ("accounts", set()),
    ]
    assert plan.fetches[0].query == 'query { a: item(id: "1") { sku } b: item(id: "2") { id } }'


def test_mutation_root_fields_run_in_document_order(gateway: Gateway) -> None:
    plan = gateway.plan(
        'mutation { x: rename(name: "a") { id } restock(id: "1") { id } '
        'y: rename(name: "b") { id } }'
    )
    assert [f.subgraph for f in plan.fetches] == ["accounts", "catalog", "accounts"]
    assert [sorted(f.depends_on) for f in plan.fetches] == [[], [0], [0, 1]]
    assert plan.operation_type == "mutation"


def test_entity_hop_adds_typename_and_compound_key_to_the_parent_fetch(gateway: Gateway) -> None:
    plan = gateway.plan("query Costs { items { cost } }")
    parent, shipping = plan.fetches
    assert parent.query == (
        "query Costs__catalog__0 { items { __typename sku region { code } weight } }"
    )
    assert shipping.subgraph == "shipping" and shipping.depends_on == {0}
    assert shipping.path == ("items", "@")
    assert shipping.query == (
        "query Costs__shipping__1($representations: [_Any!]!) "
        "{ _entities(representations: $representations) { ... on Item { cost } } }"
    )
    assert [r for r in shipping.representations["Item"]] == ["sku", "region", "weight"]


def test_fields_of_an_unresolvable_stub_hop_to_the_owner(gateway: Gateway) -> None:
    plan = gateway.plan("{ items { seller { name } } }")
    assert [(f.subgraph, f.path) for f in plan.fetches] == [
        ("catalog", ()),
        ("accounts", ("items", "@", "seller")),
    ]


def test_internal_key_fields_do_not_collide_with_client_aliases(gateway: Gateway) -> None:
    plan = gateway.plan('{ item(id: "1") { sku: id cost } }')
    assert plan.fetches[0].query == (
        'query { item(id: "1") { sku: id __typename _gw_sku: sku region { code } weight } }'
    )
    assert plan.fetches[1].representations["Item"]["sku"].response_key == "_gw_sku"


def test_plan_is_cached_per_text_and_operation_name(gateway: Gateway) -> None:
    query = "query A { me { id } } query B { items { id } }"
    assert gateway.plan(query, operation_name="A") is gateway.plan(query, operation_name="A")
    assert gateway.plan(query, operation_name="B").fetches[0].subgraph == "catalog"
    assert gateway.prepare(query, "A") is gateway.prepare(query, "A")


def test_only_the_variables_a_subgraph_uses_are_declared(gateway: Gateway) -> None:
    plan = gateway.plan(
        "query ($id: ID!, $show: Boolean!) "
        "{ item(id: $id) { cost } me @include(if: $show) { name } }",
        {"id": "1", "show": True},
    )
    catalog, accounts, shipping = plan.fetches
    assert catalog.query.startswith("query($id: ID!) {") and catalog.variables == ("id",)
    assert accounts.variables == () and shipping.variables == ()

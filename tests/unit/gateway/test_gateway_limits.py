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


CATALOG_SDL = (
    'extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])\n'
    "type Query { products(first: Int! = 20): Connection! }\n"
    "type Connection { nodes: [Product!]! totalCount: Int! }\n"
    "type Product { id: ID! reviews(first: Int! = 10): [Review!]! }\n"
    "type Review { id: ID! rating: Int! }\n"
)


def _catalog(**limits: Any) -> tuple[Gateway, CountingFetcher]:
    fetcher = CountingFetcher()
    return Gateway.from_sdls({"graph": CATALOG_SDL}, fetcher, limits=Limits(**limits)), fetcher


def _refused(result: dict[str, Any]) -> bool:
    """Refused by a limit (the fetcher's canned answer does not fit these queries)."""
    return "data" not in result


def _aliased(products: str, reviews: str, times: int = 30, variables: str = "") -> str:
    fields = " ".join(
        f"a{n}: products(first: {products}) {{ nodes {{ id reviews(first: {reviews}) "
        "{ id rating } } }"
        for n in range(times)
    )
    return f"query Attack{variables} {{ {fields} }}"


# 30 x (1 products + 1 nodes + 100 x (1 id + 1 reviews + 100 x 2)) = 606,060
ATTACK_COST = "Query cost 606060 exceeds the maximum of 10000"


async def test_page_sizes_passed_as_variables_are_counted_like_literals() -> None:
    gateway, fetcher = _catalog()
    literal = await gateway.execute(_aliased("100", "100"))
    through_variables = await gateway.execute(
        _aliased("$n", "$m", variables="($n: Int!, $m: Int!)"), {"n": 100, "m": 100}
    )
    assert literal["errors"][0]["message"] == ATTACK_COST
    assert through_variables == literal
    assert fetcher.calls == 0


async def test_variable_defaults_in_the_operation_are_counted() -> None:
    gateway, fetcher = _catalog()
    query = _aliased("$n", "$m", variables="($n: Int! = 100, $m: Int! = 100)")
    result = await gateway.execute(query)
    assert result["errors"][0]["message"] == ATTACK_COST
    assert fetcher.calls == 0


async def test_schema_defaults_of_page_size_arguments_are_counted() -> None:
    gateway, _ = _catalog(max_cost=1000)
    # 1 + 1 + 20 (products' default) x (1 + 1 + 10 (reviews' default) x 2) = 442
    page = "products { nodes { id reviews { id rating } } }"
    assert not _refused(await gateway.execute(f"{{ {page} }}"))
    refused = await gateway.execute(f"{{ a: {page} b: {page} c: {page} }}")
    assert refused["errors"][0]["message"] == "Query cost 1326 exceeds the maximum of 1000"


async def test_one_document_is_admitted_or_refused_by_the_values_it_is_sent_with() -> None:
    gateway, fetcher = _catalog()
    query = _aliased("$n", "$m", variables="($n: Int!, $m: Int!)")
    small = {"n": 2, "m": 2}  # 30 x (2 + 2 x (2 + 2 x 2)) = 420
    assert not _refused(await gateway.execute(query, small))
    large = await gateway.execute(query, {"n": 100, "m": 100})
    assert large["errors"][0]["message"] == ATTACK_COST
    assert not _refused(await gateway.execute(query, small))
    assert fetcher.calls == 2


CART_SDL = (
    'extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])\n'
    "type Query { quote(lines: [ID!]!): Int cart(input: CartInput!): Int }\n"
    "input CartInput { note: String lines: [ID!]! }\n"
)


def _cart(**limits: Any) -> tuple[Gateway, CountingFetcher]:
    fetcher = CountingFetcher()
    return Gateway.from_sdls({"graph": CART_SDL}, fetcher, limits=Limits(**limits)), fetcher


def _user_input_error(result: dict[str, Any]) -> str:
    [error] = result["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT"}
    message: str = error["message"]
    return message


def _ids(count: int) -> list[str]:
    return [f"p{n}" for n in range(count)]


async def test_a_list_variable_over_the_maximum_is_refused_before_any_fetch() -> None:
    gateway, fetcher = _cart(max_list_items=3)
    query = "query($lines: [ID!]!) { quote(lines: $lines) }"
    refused = await gateway.execute(query, {"lines": _ids(4)})
    assert _user_input_error(refused) == "lines: at most 3 are taken, got 4"
    assert fetcher.calls == 0
    assert "errors" not in await gateway.execute(query, {"lines": _ids(3)})
    assert fetcher.calls == 1


async def test_a_long_list_inside_an_input_object_variable_is_refused() -> None:
    gateway, fetcher = _cart(max_list_items=3)
    query = "query($input: CartInput!) { cart(input: $input) }"
    refused = await gateway.execute(query, {"input": {"note": "n", "lines": _ids(10_000)}})
    assert _user_input_error(refused) == "lines: at most 3 are taken, got 10000"
    assert fetcher.calls == 0


async def test_a_long_list_written_in_the_document_or_a_default_is_refused() -> None:
    gateway, fetcher = _cart(max_list_items=3)
    literal = await gateway.execute('{ cart(input: {lines: ["a", "b", "c", "d"]}) }')
    assert _user_input_error(literal) == "lines: at most 3 are taken, got 4"
    defaulted = await gateway.execute(
        'query($lines: [ID!]! = ["a", "b", "c", "d", "e"]) { quote(lines: $lines) }'
    )
    assert _user_input_error(defaulted) == "lines: at most 3 are taken, got 5"
    assert fetcher.calls == 0


async def test_variables_nested_deeper_than_recursion_allows_are_measured() -> None:
    gateway, fetcher = _cart(max_list_items=3)
    deep: Any = _ids(5)
    for _ in range(5000):
        deep = {"lines": [deep]}
    refused = await gateway.execute("query($x: CartInput!) { cart(input: $x) }", {"x": deep})
    assert _user_input_error(refused) == "lines: at most 3 are taken, got 5"
    assert fetcher.calls == 0

"""The product subgraph: listings with cursors, entities, admin mutations and reviews."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from estore.cluster import Cluster
from estore.services.category.models import CategoryInput
from estore.services.category.service import CategoryService
from tests.callers import BOB, as_caller, as_gateway
from tests.graphql_calls import code, gql

pytestmark = pytest.mark.asyncio(loop_scope="module")

CREATE = """
mutation($input: CreateProductInput!) {
  createProduct(input: $input) { id sku price { amount formatted } available inStock }
}"""
LIST = """
query($filter: ProductFilter, $sort: ProductSort!, $first: Int!, $after: String) {
  products(filter: $filter, sort: $sort, first: $first, after: $after) {
    totalCount
    edges { cursor node { sku } }
    pageInfo { hasNextPage endCursor }
  }
}"""


async def create(
    product: httpx.AsyncClient, admin: dict[str, str], sku: str, price: int, **extra: Any
) -> dict[str, Any]:
    data = {"sku": sku, "name": f"Thing {sku}", "price": {"amount": price}, "stock": 3, **extra}
    body = await gql(product, CREATE, {"input": data}, admin)
    assert "errors" not in body, body
    created: dict[str, Any] = body["data"]["createProduct"]
    return created


@pytest.fixture
async def catalog(
    fresh: Cluster, product: httpx.AsyncClient, admin: dict[str, str]
) -> dict[str, str]:
    categories = fresh.service("category", CategoryService)
    tech = (await categories.create(CategoryInput(name="Electronics"))).id
    phones = (await categories.create(CategoryInput(name="Phones", parent_id=tech))).id
    books = (await categories.create(CategoryInput(name="Books"))).id
    ids = {"tech": tech, "phones": phones, "books": books}
    for n, (price, where) in enumerate([(500, phones), (100, tech), (300, books), (200, phones)]):
        ids[f"P{n}"] = (await create(product, admin, f"P-{n}", price, categoryId=where))["id"]
    return ids


async def test_admins_create_products_with_money_in_minor_units(
    product: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    created = await create(product, admin, "p-1", 129900)
    assert created["sku"] == "P-1"
    assert created["price"] == {"amount": 129900, "formatted": "1299.00 EUR"}
    assert (created["available"], created["inStock"]) == (3, True)


async def test_customers_and_strangers_cannot_create_products(
    product: httpx.AsyncClient, alice: dict[str, str]
) -> None:
    data = {"input": {"sku": "P-1", "name": "x", "price": {"amount": 1}}}
    assert code(await gql(product, CREATE, data)) == "UNAUTHORIZED"
    assert code(await gql(product, CREATE, data, alice)) == "FORBIDDEN"


async def test_bad_product_input_says_what_is_wrong(
    product: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    data = {"input": {"sku": "P-1", "name": "x", "price": {"amount": -5}, "stock": -1}}
    body = await gql(product, CREATE, data, admin)
    assert code(body) == "BAD_REQUEST"
    assert "amount" in body["errors"][0]["message"] and "stock" in body["errors"][0]["message"]


async def test_pages_follow_cursors_to_the_end(
    product: httpx.AsyncClient, catalog: dict[str, str]
) -> None:
    skus: list[str] = []
    after = None
    while True:
        variables = {"sort": "PRICE_ASC", "first": 3, "after": after}
        page = (await gql(product, LIST, variables))["data"]["products"]
        assert page["totalCount"] == 4
        skus += [edge["node"]["sku"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert skus == ["P-1", "P-3", "P-2", "P-0"]


async def test_a_category_filter_covers_its_subcategories(
    product: httpx.AsyncClient, catalog: dict[str, str]
) -> None:
    variables = {
        "filter": {"categoryId": catalog["tech"], "maxPrice": 400},
        "sort": "NAME",
        "first": 10,
    }
    page = (await gql(product, LIST, variables))["data"]["products"]
    assert [e["node"]["sku"] for e in page["edges"]] == ["P-1", "P-3"]


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"first": 101}, "between 1 and 100"),
        ({"first": 0}, "between 1 and 100"),
        ({"first": 2, "after": "bm90IGpzb24"}, "cursor"),
        ({"first": 2, "filter": {"minPrice": -1}}, "min_price"),
    ],
)
async def test_bad_listing_arguments_are_clear_errors(
    product: httpx.AsyncClient, catalog: dict[str, str], variables: dict[str, Any], message: str
) -> None:
    body = await gql(product, LIST, {"sort": "NEWEST", **variables})
    assert code(body) in {"BAD_REQUEST", "BAD_USER_INPUT"}
    assert message in body["errors"][0]["message"]
    assert body["data"] is None


async def test_an_unknown_product_is_null(product: httpx.AsyncClient) -> None:
    body = await gql(product, '{ product(id: "nope") { id } }')
    assert body["data"]["product"] is None


async def test_products_point_at_their_category_entity(
    product: httpx.AsyncClient, catalog: dict[str, str], fresh: Cluster
) -> None:
    query = "query($id: ID!) { product(id: $id) { category { id } } }"
    stub = (await gql(product, query, {"id": catalog["P0"]}))["data"]["product"]["category"]
    assert stub == {"id": catalog["phones"]}
    entities = (
        """query($r: [_Any!]!) { _entities(representations: $r) { ... on Category { name } } }"""
    )
    async with fresh.client("category") as category:
        reps = {"r": [{"__typename": "Category", **stub}]}
        resolved = await gql(category, entities, reps, headers=as_gateway(fresh))
    assert resolved["data"]["_entities"] == [{"name": "Phones"}]


async def test_the_category_entity_lists_its_products(
    product: httpx.AsyncClient, catalog: dict[str, str], fresh: Cluster
) -> None:
    query = """query($r: [_Any!]!) { _entities(representations: $r) {
      ... on Category { products(sort: PRICE_DESC, first: 5) { nodes { sku } } } } }"""
    reps = {"r": [{"__typename": "Category", "id": catalog["tech"]}]}
    body = await gql(product, query, reps, headers=as_gateway(fresh))
    assert [n["sku"] for n in body["data"]["_entities"][0]["products"]["nodes"]] == [
        "P-0",
        "P-3",
        "P-1",
    ]


async def test_restocking_is_for_admins_and_refuses_negative_quantities(
    product: httpx.AsyncClient,
    catalog: dict[str, str],
    admin: dict[str, str],
    alice: dict[str, str],
) -> None:
    mutation = "mutation($id: ID!, $q: Int!) { restockProduct(id: $id, quantity: $q) { stock } }"
    ok = await gql(product, mutation, {"id": catalog["P0"], "q": 4}, admin)
    assert ok["data"]["restockProduct"]["stock"] == 7
    assert (
        code(await gql(product, mutation, {"id": catalog["P0"], "q": -4}, admin)) == "BAD_REQUEST"
    )
    assert code(await gql(product, mutation, {"id": catalog["P0"], "q": 4}, alice)) == "FORBIDDEN"
    assert code(await gql(product, mutation, {"id": "nope", "q": 4}, admin)) == "NOT_FOUND"
    read = await gql(
        product, "query($id: ID!) { product(id: $id) { stock } }", {"id": catalog["P0"]}
    )
    assert read["data"]["product"]["stock"] == 7


async def test_update_product_changes_only_what_is_given(
    product: httpx.AsyncClient, catalog: dict[str, str], admin: dict[str, str]
) -> None:
    mutation = """mutation($id: ID!, $input: UpdateProductInput!) {
      updateProduct(id: $id, input: $input) { name price { amount } attributes { name value } } }"""
    variables = {
        "id": catalog["P0"],
        "input": {"name": "Renamed", "attributes": [{"name": "colour", "value": "red"}]},
    }
    updated = (await gql(product, mutation, variables, admin))["data"]["updateProduct"]
    assert updated == {
        "name": "Renamed",
        "price": {"amount": 500},
        "attributes": [{"name": "colour", "value": "red"}],
    }


async def test_customers_review_once_and_the_rating_follows(
    product: httpx.AsyncClient, catalog: dict[str, str], alice: dict[str, str], fresh: Cluster
) -> None:
    mutation = """mutation($id: ID!, $input: AddReviewInput!) {
      addReview(productId: $id, input: $input) { rating author { id } } }"""
    review = {"rating": 5, "title": "Love it"}
    first = await gql(product, mutation, {"id": catalog["P0"], "input": review}, alice)
    assert first["data"]["addReview"] == {"rating": 5, "author": {"id": "alice"}}
    assert (
        code(await gql(product, mutation, {"id": catalog["P0"], "input": review}, alice))
        == "CONFLICT"
    )
    bad = {"rating": 6, "title": "Too good"}
    bob = as_caller(fresh, BOB)
    assert (
        code(await gql(product, mutation, {"id": catalog["P0"], "input": bad}, bob))
        == "BAD_REQUEST"
    )
    await gql(product, mutation, {"id": catalog["P0"], "input": {"rating": 2, "title": "Meh"}}, bob)
    query = "query($id: ID!) { product(id: $id) { rating reviewCount reviews { title } } }"
    read = (await gql(product, query, {"id": catalog["P0"]}))["data"]["product"]
    assert (read["rating"], read["reviewCount"], len(read["reviews"])) == (3.5, 2, 2)
    assert (
        code(await gql(product, mutation, {"id": catalog["P0"], "input": review})) == "UNAUTHORIZED"
    )

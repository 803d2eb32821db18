"""The category subgraph and REST reads in the cluster: tree, breadcrumbs, changes, the cache."""

from __future__ import annotations

import httpx
import pytest

from estore.cluster import Cluster
from estore.kit.money import Money
from estore.services.product.models import ProductInput
from estore.services.product.service import ProductService
from tests.graphql_calls import code, gql

pytestmark = pytest.mark.asyncio(loop_scope="module")

CREATE = """mutation($input: CreateCategoryInput!) {
  createCategory(input: $input) { id slug depth } }"""
TREE = "{ categories { name children { name children { name } } } }"


async def add(
    category: httpx.AsyncClient, admin: dict[str, str], name: str, parent: str | None = None
) -> str:
    body = await gql(category, CREATE, {"input": {"name": name, "parentId": parent}}, admin)
    assert "errors" not in body, body
    return str(body["data"]["createCategory"]["id"])


@pytest.fixture
async def tree(category: httpx.AsyncClient, admin: dict[str, str]) -> dict[str, str]:
    tech = await add(category, admin, "Electronics")
    phones = await add(category, admin, "Phones", tech)
    android = await add(category, admin, "Android Phones", phones)
    books = await add(category, admin, "Books")
    return {"tech": tech, "phones": phones, "android": android, "books": books}


async def test_the_tree_nests_children_under_parents(
    category: httpx.AsyncClient, tree: dict[str, str]
) -> None:
    body = await gql(category, TREE)
    assert body["data"]["categories"] == [
        {"name": "Books", "children": []},
        {
            "name": "Electronics",
            "children": [{"name": "Phones", "children": [{"name": "Android Phones"}]}],
        },
    ]


async def test_a_category_is_found_by_slug_or_id_with_breadcrumbs(
    category: httpx.AsyncClient, tree: dict[str, str]
) -> None:
    by_slug = await gql(
        category, '{ category(slug: "android-phones") { id depth breadcrumbs { slug } } }'
    )
    found = by_slug["data"]["category"]
    assert (found["id"], found["depth"]) == (tree["android"], 2)
    assert [c["slug"] for c in found["breadcrumbs"]] == ["electronics", "phones", "android-phones"]
    by_id = await gql(
        category,
        "query($id: ID!) { category(id: $id) { name parent { name } } }",
        {"id": tree["phones"]},
    )
    assert by_id["data"]["category"] == {"name": "Phones", "parent": {"name": "Electronics"}}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("{ category { id } }", "BAD_REQUEST"),
        ('{ category(id: "a", slug: "b") { id } }', "BAD_REQUEST"),
        ('{ category(slug: "nope") { id } }', "NOT_FOUND"),
        ('{ category(id: "nope") { id } }', "NOT_FOUND"),
    ],
)
async def test_a_lookup_needs_exactly_one_known_key(
    category: httpx.AsyncClient, query: str, expected: str
) -> None:
    assert code(await gql(category, query)) == expected


async def test_only_admins_change_categories(
    category: httpx.AsyncClient, alice: dict[str, str]
) -> None:
    data = {"input": {"name": "Toys"}}
    assert code(await gql(category, CREATE, data)) == "UNAUTHORIZED"
    assert code(await gql(category, CREATE, data, alice)) == "FORBIDDEN"
    assert (await gql(category, TREE))["data"]["categories"] == []


async def test_bad_category_input_says_what_is_wrong(
    category: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    body = await gql(category, CREATE, {"input": {"name": "", "slug": "Not A Slug!"}}, admin)
    assert code(body) == "BAD_REQUEST"
    assert "name" in body["errors"][0]["message"] and "slug" in body["errors"][0]["message"]
    missing_parent = await gql(
        category, CREATE, {"input": {"name": "X", "parentId": "nope"}}, admin
    )
    assert code(missing_parent) == "BAD_REQUEST"


async def test_moves_carry_the_subtree_and_refuse_cycles(
    category: httpx.AsyncClient, admin: dict[str, str], tree: dict[str, str]
) -> None:
    move = """mutation($id: ID!, $parent: ID) {
      moveCategory(id: $id, parentId: $parent) { breadcrumbs { name } } }"""
    cycle = await gql(category, move, {"id": tree["tech"], "parent": tree["android"]}, admin)
    assert code(cycle) == "BAD_REQUEST" and "cycle" in cycle["errors"][0]["message"]
    await gql(category, move, {"id": tree["phones"], "parent": tree["books"]}, admin)
    crumbs = await gql(
        category,
        "query($id: ID!) { category(id: $id) { breadcrumbs { name } } }",
        {"id": tree["android"]},
    )
    names = [c["name"] for c in crumbs["data"]["category"]["breadcrumbs"]]
    assert names == ["Books", "Phones", "Android Phones"]


async def test_delete_takes_only_an_empty_leaf(
    category: httpx.AsyncClient, admin: dict[str, str], tree: dict[str, str], fresh: Cluster
) -> None:
    delete = "mutation($id: ID!) { deleteCategory(id: $id) }"
    assert code(await gql(category, delete, {"id": tree["phones"]}, admin)) == "CONFLICT"
    products = fresh.service("product", ProductService)
    form = ProductInput(
        sku="AND-1",
        name="Android phone",
        price=Money(amount=19900, currency="EUR"),
        category_id=tree["android"],
    )
    await products.create(form)
    held = await gql(category, delete, {"id": tree["android"]}, admin)
    assert code(held) == "CONFLICT" and "1 products" in held["errors"][0]["message"]
    assert (await gql(category, delete, {"id": tree["books"]}, admin))["data"]["deleteCategory"]
    assert code(await gql(category, '{ category(slug: "books") { id } }')) == "NOT_FOUND"


async def test_a_read_after_a_rename_sees_the_new_name(
    category: httpx.AsyncClient, admin: dict[str, str], tree: dict[str, str], fresh: Cluster
) -> None:
    path = f"/api/v1/categories/{tree['phones']}"
    assert (await category.get(path)).json()["name"] == "Phones"
    # Proof the read was cached: a write that bypasses the service stays unseen.
    db = fresh.infras["category"].db
    await db["categories"].update_one({"_id": tree["phones"]}, {"$set": {"name": "Bypassed"}})
    assert (await category.get(path)).json()["name"] == "Phones"
    rename = """mutation($id: ID!) { renameCategory(id: $id, name: "Mobiles") { name slug } }"""
    renamed = await gql(category, rename, {"id": tree["phones"]}, admin)
    assert renamed["data"]["renameCategory"] == {"name": "Mobiles", "slug": "phones"}
    assert (await category.get(path)).json()["name"] == "Mobiles"


async def test_rest_reads_serve_the_subtree_and_say_404_for_unknown_ids(
    category: httpx.AsyncClient, tree: dict[str, str]
) -> None:
    subtree = (await category.get(f"/api/v1/categories/{tree['tech']}/subtree")).json()
    assert sorted(subtree["ids"]) == sorted([tree["tech"], tree["phones"], tree["android"]])
    listed = (await category.get("/api/v1/categories")).json()["items"]
    assert [c["depth"] for c in listed] == [0, 0, 1, 2]
    missing = await category.get("/api/v1/categories/nope/subtree")
    assert missing.status_code == 404
    assert missing.json()["error"]["message"] == "no such category: nope"
    assert (await category.get("/api/v1/categories/by-slug/phones")).json()["id"] == tree["phones"]

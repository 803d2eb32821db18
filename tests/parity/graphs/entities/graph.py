"""Entities across three subgraphs: hops, lists, a missing entity, field errors, variables."""

from typing import Any

from tests.parity.graph_corpus import Ask


def _fails(*_: Any, **__: Any) -> Any:
    raise RuntimeError("price service is down")


PRODUCTS = [
    {"id": "p1", "name": "Lamp", "price": 30, "brand": {"name": "Lumo", "country": "SE"}},
    {"id": "p2", "name": "Desk", "price": 250, "brand": {"name": "Oak & Co", "country": None}},
    {"id": "p3", "name": "Chair", "price": _fails, "brand": None},
]
REVIEWS = [
    {"id": "r1", "body": "Bright", "stars": 5, "product": {"id": "p1"}, "author": {"id": "u1"}},
    {"id": "r2", "body": "Wobbly", "stars": 2, "product": {"id": "p2"}, "author": {"id": "u2"}},
    {"id": "r3", "body": "Fine", "stars": 4, "product": {"id": "p1"}, "author": {"id": "u9"}},
    {"id": "r4", "body": "Gone", "stars": 1, "product": {"id": "p404"}, "author": None},
]


def _reviews_of(product_id: str) -> list[dict[str, Any]]:
    return [r for r in REVIEWS if r["product"]["id"] == product_id]


DATA = {
    "products": {
        "Query": {
            "products": PRODUCTS,
            "product": lambda _, id: next((p for p in PRODUCTS if p["id"] == id), None),
        },
        "entities": {"Product": PRODUCTS},
    },
    "reviews": {
        "Query": {"latestReviews": lambda _, limit: REVIEWS[:limit]},
        "entities": {
            "Review": REVIEWS,
            "Product": [
                {"id": p, "reviews": _reviews_of(p), "reviewCount": len(_reviews_of(p))}
                for p in ("p1", "p2", "p3")
            ],
        },
    },
    "users": {
        "Query": {"me": {"id": "u1", "username": "ada", "karma": 12}},
        "entities": {
            "User": [
                {"id": "u1", "username": "ada", "karma": 12},
                {"id": "u2", "username": "bob", "karma": None},
            ]
        },
    },
}

ASKS = [
    Ask("one subgraph", '{ product(id: "p1") { id name brand { name country } } }'),
    Ask(
        "a hop to reviews and on to users",
        '{ product(id: "p1") { name reviews { body author { username karma } } } }',
        clean=False,  # author u9 is unknown to users: its non-null username nulls it
    ),
    Ask(
        "reviews back to products, aliased",
        "{ latestReviews(limit: 4) { stars item: product { title: name price } } }",
        clean=False,  # review r4's product p404 is unknown: a null non-null name nulls all
    ),
    Ask(
        "reviews back to products, aliased, within what exists",
        "{ latestReviews(limit: 2) { stars item: product { title: name price } } }",
    ),
    Ask(
        "a representation no subgraph knows",
        "{ latestReviews(limit: 4) { id product { id name } } }",
        clean=False,
    ),
    Ask(
        "an author the users subgraph does not have",
        '{ product(id: "p1") { reviews { id author { id username } } } }',
        clean=False,
    ),
    Ask("a field error in a list", "{ products { id name price } }", clean=False),
    Ask(
        "a field error beside a hop",
        "{ products { name price reviewCount } }",
        clean=False,
    ),
    Ask(
        "variables, a fragment and __typename",
        """query Top($id: ID!, $n: Int) {
             product(id: $id) { ...Card }
             latestReviews(limit: $n) { __typename product { ...Card } }
           }
           fragment Card on Product { __typename id name reviewCount }""",
        {"id": "p2", "n": 2},
    ),
    Ask("an unknown product", '{ product(id: "nope") { id reviews { id } } }'),
    Ask("a field the graph lacks", '{ product(id: "p1") { id sku } }', clean=False),
    Ask("me across subgraphs", "{ me { username } products { id reviewCount } }"),
]

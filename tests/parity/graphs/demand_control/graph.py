"""@cost and @listSize: answered as Apollo answers under the limit (the limit itself is ours:
Apollo Gateway does not enforce demand control; tests/unit/gateway/test_gateway_demand_control
checks what each question costs)."""

from typing import Any

from tests.parity.graph_corpus import Ask

PRODUCTS = [{"id": f"p{i}", "name": f"Item {i}", "price": {"amount": i * 10}} for i in range(1, 6)]


def _page(_: Any, limit: int) -> dict[str, Any]:
    return {"items": PRODUCTS[:limit], "total": len(PRODUCTS)}


DATA = {
    "shop": {
        "Query": {
            "products": lambda _, first=None, last=None: PRODUCTS[: first or 5],
            "featured": PRODUCTS[:3],
            "search": _page,
        },
        "entities": {"Product": PRODUCTS},
    },
    "reviews": {
        "entities": {"Product": [{"id": p["id"], "reviewsText": f"on {p['id']}"} for p in PRODUCTS]}
    },
}

ASKS = [
    Ask("a sliced list", "{ products(first: 2) { name price { amount } } }"),
    Ask(
        "a sized list by variable",
        "query($n: Int) { products(first: $n) { id reviewsText } }",
        {"n": 3},
    ),
    Ask("an assumed size", "{ featured { id name } }"),
    Ask("a connection sized by its default", "{ search { total items { name } } }"),
    Ask("a connection sized by its argument", "{ search(limit: 1) { items { id reviewsText } } }"),
]

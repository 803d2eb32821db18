"""Mutations in document order across two subgraphs, each result followed into the other.

Every mutation sets a value (asking twice gives the same state), so both gateways, asked in
turn, see the same data.
"""

from typing import Any

from tests.parity.graph_corpus import Ask

CARTS: dict[str, dict[str, int]] = {"k1": {"A": 1}}
PRICES: dict[str, int] = {"A": 10, "B": 20}


def _cart(cart_id: str) -> dict[str, Any]:
    lines = CARTS.setdefault(cart_id, {})
    return {
        "id": cart_id,
        "lines": [{"sku": s, "quantity": q, "item": {"sku": s}} for s, q in sorted(lines.items())],
    }


def _set_quantity(_: Any, cart: str, sku: str, quantity: int) -> dict[str, Any]:
    CARTS.setdefault(cart, {})[sku] = quantity
    return _cart(cart)


def _clear(_: Any, cart: str) -> dict[str, Any]:
    CARTS[cart] = {}
    return _cart(cart)


def _set_price(_: Any, sku: str, price: int) -> dict[str, Any]:
    PRICES[sku] = price
    return {"sku": sku, "price": price}


DATA = {
    "carts": {
        "Query": {"cart": lambda _, id: _cart(id) if id in CARTS else None},
        "Mutation": {"setQuantity": _set_quantity, "clear": _clear},
        "entities": {"Cart": []},
    },
    "catalog": {
        "Mutation": {"setPrice": _set_price},
        "entities": {
            "Item": [
                {"sku": "A", "price": lambda *_, **__: PRICES["A"]},
                {"sku": "B", "price": lambda *_, **__: PRICES["B"]},
            ]
        },
    },
}

ASKS = [
    Ask(
        "one mutation, its result joined with the other subgraph",
        """mutation {
             setQuantity(cart: "k1", sku: "B", quantity: 2) { lines { sku item { price } } } }""",
    ),
    Ask(
        "mutations alternating between subgraphs run in order",
        """mutation {
             first: setPrice(sku: "A", price: 11) { price }
             cart: setQuantity(cart: "k2", sku: "A", quantity: 3) { lines { item { price } } }
             second: setPrice(sku: "A", price: 12) { price }
             again: setQuantity(cart: "k2", sku: "A", quantity: 4) {
               lines { quantity item { price } } }
           }""",
    ),
    Ask(
        "mutation variables",
        """mutation($c: ID!, $q: Int!) {
             setQuantity(cart: $c, sku: "A", quantity: $q) { id lines { quantity } } }""",
        {"c": "k3", "q": 5},
    ),
    Ask("a mutation then a clear", 'mutation { a: clear(cart: "k3") { lines { sku } } }'),
    Ask("a query after them", '{ cart(id: "k2") { lines { sku quantity item { price } } } }'),
    Ask(
        "a mutation with a wrong argument type",
        "mutation { clear(cart: 5, x: 1) { id } }",
        clean=False,
    ),
]

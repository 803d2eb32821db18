"""Subgraph errors: codes and extensions kept, partial data, nulls propagating to a parent."""

from typing import Any

from graphql import GraphQLError

from tests.parity.graph_corpus import Ask


def _forbidden(*_: Any, **__: Any) -> Any:
    raise GraphQLError("not yours", extensions={"code": "FORBIDDEN", "reason": "owner only"})


def _fails(*_: Any, **__: Any) -> Any:
    raise RuntimeError("disk on fire")


ORDERS = [
    {"id": "o1", "total": 30, "note": "fragile", "customer": {"id": "c1"}},
    {"id": "o2", "total": _fails, "note": _forbidden, "customer": {"id": "c2"}},
    {"id": "o3", "total": 5, "note": None, "customer": {"id": "c3"}},
]

DATA = {
    "orders": {
        "Query": {
            "orders": ORDERS,
            "order": lambda _, id: next((o for o in ORDERS if o["id"] == id), None),
            "broken": _forbidden,
        },
        "entities": {"Order": ORDERS},
    },
    "customers": {
        "entities": {
            "Customer": [
                {"id": "c1", "name": "Ada", "email": _forbidden},
                {"id": "c2", "name": _fails, "email": "bo@example.com"},
                {"id": "c3", "name": "Cy", "email": None},
            ]
        }
    },
}

ASKS = [
    Ask("an error with its own code", '{ order(id: "o2") { id note } }', clean=False),
    Ask(
        "a non-null field failing nulls its parent", '{ order(id: "o2") { id total } }', clean=False
    ),
    Ask("a failing list item nulls the list", "{ orders { id total } }", clean=False),
    Ask("an entity's error keeps its path", "{ orders { id customer { name } } }", clean=False),
    Ask("an entity's coded error", "{ orders { customer { id email } } }", clean=False),
    Ask("a root field error beside data", '{ broken order(id: "o1") { id } }', clean=False),
    Ask("what does not fail", '{ order(id: "o1") { total customer { name } } }'),
]

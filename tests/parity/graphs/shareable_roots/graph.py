"""Root fields and value types shared by two subgraphs, with fields only one of them has."""

from typing import Any

from tests.parity.graph_corpus import Ask

ACCOUNTS = {
    "u1": {"id": "u1", "name": "Ada", "address": {"city": "Oslo", "zip": "0150"}},
    "u2": {"id": "u2", "name": "Bo", "address": None},
}
PROFILES = {
    "u1": {"id": "u1", "bio": "math", "address": {"city": "Oslo", "zip": "0150"}},
    "u2": {"id": "u2", "bio": None, "address": None},
}


def _user(table: dict[str, Any]) -> Any:
    return lambda _, id: table.get(id)


DATA = {
    "accounts": {
        "Query": {
            "user": _user(ACCOUNTS),
            "team": {"name": "core", "size": 4},
            "version": "1",
        },
        "entities": {"User": list(ACCOUNTS.values())},
    },
    "profiles": {
        "Query": {
            "user": _user(PROFILES),
            "team": {"name": "core", "motto": "ship"},
            "version": "1",
            "featured": [{"id": "u2"}, {"id": "u1"}],
        },
        "entities": {"User": list(PROFILES.values())},
    },
}

ASKS = [
    Ask("a shared root field, fields of both", '{ user(id: "u1") { name bio address { city } } }'),
    Ask("a shared value type split across subgraphs", "{ team { name size motto } }"),
    Ask("a shared scalar root field", "{ version }"),
    Ask("one subgraph's root, the other's fields", "{ featured { id name bio } }"),
    Ask("a null from a shared root", '{ user(id: "nobody") { name bio } }'),
    Ask("shared roots beside each other", '{ version team { name } user(id: "u2") { bio } }'),
]

"""Federation 1 subgraphs (`extend type`, `@external` owners, no @link) as Apollo composes them."""

from tests.parity.graph_corpus import Ask

USERS = [{"id": "u1", "name": "Ada"}, {"id": "u2", "name": "Bo"}]
REVIEWS = [
    {"id": "r1", "body": "Good", "author": {"id": "u1", "name": "Ada (provided)"}},
    {"id": "r2", "body": "Bad", "author": {"id": "u2", "name": "Bo (provided)"}},
]

PRODUCTS = [{"upc": "1", "weight": 10}, {"upc": "2", "weight": 3}]

DATA = {
    "accounts": {"Query": {"me": USERS[0]}, "entities": {"User": USERS}},
    "reviews": {
        "Query": {"reviews": REVIEWS},
        "entities": {
            "Review": REVIEWS,
            "User": [{"id": "u1", "reviews": REVIEWS[:1]}, {"id": "u2", "reviews": REVIEWS[1:]}],
        },
    },
    "products": {
        "Query": {"topProducts": PRODUCTS},
        "entities": {"Product": PRODUCTS},
    },
    "inventory": {
        "entities": {
            "Review": [{"id": "r1", "product": {"upc": "1"}}, {"id": "r2", "product": None}],
            "Product": [
                {"upc": p["upc"], "shippingEstimate": lambda p, **_: p["weight"] * 5}
                for p in PRODUCTS
            ],
        },
    },
}

ASKS = [
    Ask("an extended type's own fields", "{ me { name reviews { body } } }"),
    Ask("@provides in a Fed 1 subgraph", "{ reviews { body author { name } } }"),
    Ask("an extension hop", "{ reviews { id product { upc weight } } }"),
    Ask("@requires on an extension", "{ topProducts { upc shippingEstimate } }"),
    Ask("a round trip through three subgraphs", "{ me { reviews { product { upc } } } }"),
]

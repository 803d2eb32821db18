"""@override: billing took Account.balance from legacy, which still defines (and answers) it."""

from tests.parity.graph_corpus import Ask

LEGACY = [
    {"id": "a1", "balance": -1, "owner": "ann"},
    {"id": "a2", "balance": -1, "owner": "bob"},
]

DATA = {
    "legacy": {"Query": {"accounts": LEGACY}, "entities": {"Account": LEGACY}},
    "billing": {
        "entities": {
            "Account": [
                {"id": "a1", "balance": 120, "currency": "EUR"},
                {"id": "a2", "balance": 0, "currency": "SEK"},
            ]
        }
    },
}

ASKS = [
    Ask("the overridden field comes from the overriding subgraph", "{ accounts { id balance } }"),
    Ask("beside the old owner's fields", "{ accounts { owner balance currency } }"),
    Ask("only the old owner's fields", "{ accounts { owner } }"),
    Ask("aliased twice", "{ accounts { a: balance b: balance } }"),
    Ask("with __typename", "{ accounts { __typename balance } }"),
]

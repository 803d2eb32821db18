"""A key made of a nested entity's key and a field; hops through a parent entity."""

from tests.parity.graph_corpus import Ask

ORGS = [{"id": "o1", "name": "Acme"}, {"id": "o2", "name": "Initech"}]
MEMBERS = [
    {"org": {"id": "o1"}, "login": "ann", "role": "admin"},
    {"org": {"id": "o2"}, "login": "ann", "role": "dev"},
]

DATA = {
    "orgs": {"Query": {"members": MEMBERS}, "entities": {"Org": ORGS, "Member": MEMBERS}},
    "activity": {
        "Query": {
            "recent": [
                {"sha": "abc", "author": {"org": {"id": "o2"}, "login": "ann"}},
                {"sha": "def", "author": {"org": {"id": "o1"}, "login": "ann"}},
            ]
        },
        "entities": {
            "Member": [
                {"org": {"id": "o1"}, "login": "ann", "commits": 3},
                {"org": {"id": "o2"}, "login": "ann", "commits": 9},
            ]
        },
    },
    "billing": {
        "entities": {
            "Org": [
                {"id": "o1", "plan": "pro", "owner": {"org": {"id": "o1"}, "login": "ann"}},
                {"id": "o2", "plan": "free", "owner": {"org": {"id": "o2"}, "login": "ann"}},
            ]
        }
    },
}

ASKS = [
    Ask("a nested key to another subgraph", "{ members { login role commits } }"),
    Ask("back through the nested key", "{ recent { sha author { role org { name } } } }"),
    Ask("a parent entity's hop", "{ recent { author { org { plan owner { role commits } } } } }"),
    Ask("the key's own fields", "{ members { org { id } login } }"),
    Ask("the nested entity's fields across three", "{ members { org { name plan } commits } }"),
]

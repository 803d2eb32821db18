"""Unions and interfaces: members split by type, entities inside them hopping to ratings."""

from typing import Any

from tests.parity.graph_corpus import Ask

MEDIA = [
    {"__typename": "Book", "id": "b1", "title": "Dune", "pages": 412},
    {"__typename": "Movie", "id": "m1", "title": "Alien", "minutes": 117},
]
RESULTS = [*MEDIA, {"__typename": "Author", "name": "Herbert"}]


def _search(_: Any, term: str) -> list[dict[str, Any]]:
    return [r for r in RESULTS if term.lower() in str(r.get("title", r.get("name"))).lower()]


DATA = {
    "search": {
        "Query": {"search": _search, "featured": MEDIA[1]},
        "entities": {"Book": MEDIA[:1], "Movie": MEDIA[1:]},
    },
    "ratings": {
        "Query": {
            "topRated": [
                {"__typename": "Movie", "id": "m1", "stars": 5},
                {"__typename": "Book", "id": "b1", "stars": 4},
            ]
        },
        "entities": {
            "Book": [{"id": "b1", "stars": 4}],
            "Movie": [{"id": "m1", "stars": 5}],
        },
    },
}

ASKS = [
    Ask(
        "a union with fragments per member",
        """{ search(term: "e") { __typename
             ... on Book { title pages stars } ... on Movie { title minutes }
             ... on Author { name } } }""",
    ),
    Ask(
        "an interface field and a member's own",
        "{ featured { id title ... on Movie { minutes stars } } }",
    ),
    Ask(
        "an interface in another subgraph, back to the owner",
        "{ topRated { stars ... on Book { title pages } ... on Movie { title } } }",
    ),
    Ask(
        "a fragment on an interface inside a union",
        '{ search(term: "u") { ... on Media { id title } ... on Author { name } } }',
    ),
    Ask("only __typename of members", '{ search(term: "") { __typename } }'),
    Ask(
        "named fragments on the members",
        """query { topRated { ...B ...M } }
           fragment B on Book { id pages }
           fragment M on Movie { id minutes }""",
    ),
]

"""Union members and interface implementations that differ per subgraph (the API has all)."""

from tests.parity.graph_corpus import Ask

POST = {"__typename": "Post", "id": "t1", "text": "hello"}
PHOTO = {"__typename": "Photo", "id": "f1", "url": "/f1.jpg"}
VIDEO = {"__typename": "Video", "id": "v1", "seconds": 30}

DATA = {
    "feed": {
        "Query": {"feed": [POST, PHOTO], "pinned": PHOTO},
        "entities": {"Post": [POST], "Photo": [PHOTO]},
    },
    "media": {
        "Query": {
            "gallery": [{"__typename": "Photo", "id": "f1", "width": 800}, VIDEO],
            "latest": VIDEO,
        },
        "entities": {"Photo": [{"id": "f1", "width": 800}], "Video": [VIDEO]},
    },
}

ASKS = [
    Ask(
        "every member asked of a subgraph knowing some",
        """{ feed { __typename ... on Post { text } ... on Photo { url width }
                    ... on Video { seconds } } }""",
    ),
    Ask(
        "the other subgraph's members",
        "{ gallery { ... on Photo { id url width } ... on Video { id seconds } } }",
    ),
    Ask(
        "an interface implemented differently per subgraph",
        "{ pinned { id ... on Photo { width } } latest { id ... on Video { seconds } } }",
    ),
    Ask(
        "fragments on members the subgraph lacks",
        "{ latest { __typename ... on Post { text } ... on Photo { url } } }",
    ),
    Ask("only __typename", "{ feed { __typename } gallery { __typename } }"),
]

"""One response name, types that differ between sibling fragments in a subgraph only.

In the API schema Circle.label is `String` (paint may return null), so a client may select
`label` on Circle and Square together; in shapes it is `String!` against Square's `String`,
which no subgraph operation may hold under one name: the gateway must alias one of them.
"""

from tests.parity.graph_corpus import Ask

SHAPES = [
    {"__typename": "Circle", "id": "c1", "label": "round", "size": 3, "tags": ["a"]},
    {"__typename": "Square", "id": "s1", "label": None, "size": 4, "tags": [None, "b"]},
]

DATA = {
    "shapes": {
        "Query": {"shapes": SHAPES},
        "entities": {"Circle": SHAPES[:1], "Square": SHAPES[1:]},
    },
    "paint": {
        "entities": {
            "Circle": [{"id": "c1", "label": "paint", "size": 3, "tags": [], "tone": 9}],
            "Square": [{"id": "s1", "tone": None}],
        }
    },
}

ASKS = [
    Ask(
        "a name whose nullability differs",
        "{ shapes { ... on Circle { label } ... on Square { label } } }",
    ),
    Ask(
        "two such names",
        "{ shapes { id ... on Circle { label size } ... on Square { size label } } }",
    ),
    Ask("lists that differ", "{ shapes { ... on Circle { tags } ... on Square { tags } } }"),
    Ask(
        "aliased by the client",
        "{ shapes { ... on Circle { x: size } ... on Square { x: size } } }",
    ),
    Ask(
        "in named fragments, beside a hop",
        """{ shapes { __typename ...C ...S } }
           fragment C on Circle { label tone }
           fragment S on Square { label }""",
    ),
    Ask(
        "beside the hop",
        "{ shapes { ... on Circle { tone label } ... on Square { label tone } } }",
        clean=False,  # the API's Square.tone and Circle.tone differ: refused by validation
    ),
    Ask(
        "beside the hop, valid",
        "{ shapes { ... on Circle { tone label } ... on Square { size } } }",
    ),
]

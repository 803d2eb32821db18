"""@inaccessible on a type, fields, an argument, an enum value and an input field.

Hidden from clients (asking for one is a validation error), still used inside: stock keys
items by their inaccessible internalCode, and one item's grade is the hidden LEGACY.
"""

from typing import Any

from tests.parity.graph_corpus import Ask

ITEMS = [
    {"id": "i1", "internalCode": "X-1", "name": "Bolt", "grade": "A"},
    {"id": "i2", "internalCode": "X-2", "name": "Nut", "grade": "B"},
    {"id": "i3", "internalCode": "X-3", "name": "Rivet", "grade": "LEGACY"},
]


def _items(_: Any, filter: dict[str, Any] | None = None, **__: Any) -> list[dict[str, Any]]:
    grade = (filter or {}).get("grade")
    return [item for item in ITEMS if grade is None or item["grade"] == grade]


DATA = {
    "catalog": {"Query": {"items": _items, "internalStats": {"count": 3}}},
    "stock": {
        "entities": {
            "Item": [
                {"internalCode": "X-1", "inStock": 4},
                {"internalCode": "X-2", "inStock": 0},
                {"internalCode": "X-3", "inStock": 9},
            ]
        }
    },
}

ASKS = [
    Ask("a hop keyed by an inaccessible field", "{ items(filter: {grade: A}) { name inStock } }"),
    Ask("a filter by a visible enum value", "{ items(filter: {grade: B}) { id grade } }"),
    Ask("an inaccessible enum value in an answer", "{ items { id grade } }", clean=False),
    Ask("an inaccessible field", "{ items { id internalCode } }", clean=False),
    Ask("an inaccessible argument", "{ items(debug: true) { id } }", clean=False),
    Ask(
        "an inaccessible input field",
        "{ items(filter: {includeHidden: true}) { id } }",
        clean=False,
    ),
    Ask("an inaccessible root field and type", "{ internalStats { count } }", clean=False),
    Ask(
        "an inaccessible enum value as input",
        "{ items(filter: {grade: LEGACY}) { id } }",
        clean=False,
    ),
    Ask(
        "an inaccessible enum value through a variable",
        "query($f: ItemFilter) { items(filter: $f) { id } }",
        {"f": {"grade": "LEGACY"}},
        clean=False,
    ),
    Ask("introspection hides them", '{ __type(name: "Grade") { enumValues { name } } }'),
]

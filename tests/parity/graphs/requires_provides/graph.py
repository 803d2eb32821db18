"""@requires (plain, nested, through an entity, on a field with arguments) and @provides."""

from typing import Any

from tests.parity.graph_corpus import Ask

CUSTOMERS = [
    {"id": "c1", "name": "Ada", "tier": "gold"},
    {"id": "c2", "name": "Bo", "tier": "basic"},
]
PARCELS = [
    {"id": "x1", "weight": 3, "size": {"width": 10, "height": 5}, "owner": {"id": "c1"}},
    {"id": "x2", "weight": 12, "size": {"width": 90, "height": 40}, "owner": {"id": "c2"}},
]


def _cost(parcel: dict[str, Any]) -> int:
    return parcel["weight"] * 2


def _oversized(parcel: dict[str, Any]) -> bool:
    return parcel["size"]["width"] * parcel["size"]["height"] > 1000


def _label(parcel: dict[str, Any], prefix: str) -> str:
    return f"{prefix}{parcel['id']}-{parcel['weight']}-{parcel['owner']['tier']}"


DATA = {
    "inventory": {
        "Query": {"parcels": PARCELS},
        "entities": {"Parcel": PARCELS, "Customer": CUSTOMERS},
    },
    "shipping": {
        "Query": {
            "recent": [
                {"id": "x2", "owner": {"id": "c2", "name": "Bo (provided)"}},
                {"id": "x1", "owner": {"id": "c1", "name": "Ada (provided)"}},
            ]
        },
        "entities": {
            "Parcel": [
                {"id": p["id"], "cost": _cost, "oversized": _oversized, "label": _label}
                for p in PARCELS
            ]
        },
    },
}

ASKS = [
    Ask("a plain @requires", "{ parcels { id cost } }"),
    Ask("a nested @requires", "{ parcels { id oversized } }"),
    Ask("@requires through an entity, with an argument", '{ parcels { label(prefix: "P") } }'),
    Ask("@requires with the default argument", "{ parcels { label } }"),
    Ask(
        "@requires fields also selected by the client",
        "{ parcels { weight cost size { width } } }",
    ),
    Ask("@provides keeps the name in shipping", "{ recent { id owner { name } } }"),
    Ask("@provides, and what it does not provide", "{ recent { owner { name tier } cost } }"),
    Ask("from shipping's root to a @requires field", "{ recent { id label oversized } }"),
]
